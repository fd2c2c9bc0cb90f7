/*
 * benchtool.c - timing helper for tests/bench.sh.
 *
 * Every mode prints one result line per measured thing:
 *	LABEL median=MS p10=MS p90=MS n=N [more=...]
 * Times are wall-clock milliseconds (CLOCK_MONOTONIC).
 *
 *	benchtool spawn [-n N] [-w W] [-t :DPY] -- LABEL CMD ARGS... [--- LABEL CMD ARGS...]
 *	    fork+exec each command (posix_spawnp, stdout and stdin on /dev/null)
 *	    and wait for it, round-robin, N timed rounds after W warm-up rounds.
 *	    With -t, the screen of :DPY is changed (a small window is redrawn,
 *	    XSync) before every command, outside the timed part, so no capture
 *	    can be served from a cache.
 *	benchtool read [-n N] [-w W] [-t :DPY] FILE
 *	    open+read to EOF+close in-process; also reports how many distinct
 *	    images were read (distinct=) and the median size (bytes=).
 *	benchtool write [-n N] [-w W] FILE TEXT
 *	    open(O_WRONLY|O_TRUNC)+write(TEXT "\n")+close in-process.
 *	benchtool stale [-n N] :DPY X Y FILE
 *	    draw a new colour at X,Y, XSync, read FILE: the PNG must show that
 *	    colour (fresh=), and a second read with no change in between must
 *	    return the same bytes (same=). Also times both reads.
 *	benchtool pngcmp A.png B.png
 *	    decode both; print sizes and how many pixels differ.
 *	benchtool ready [-n N] MNT PREFIX
 *	    mkdir MNT/PREFIXi, read MNT/PREFIXi/status until "ready" (polling
 *	    every 0.2 ms), then rmdir (timed separately).
 *	benchtool xvfb [-n N] WxH
 *	    Xvfb started with the xvfb provider's flags, until -displayfd
 *	    reports the display; then SIGTERM.
 *	benchtool par [-n N] [-w W] MNT BG.png NAME=:DPY...
 *	    one thread per session: show BG.png full screen on its display,
 *	    then each thread loops { change its screen; fork+exec
 *	    `cat MNT/NAME/screenshot.png >/dev/null` (timed) }, all at once.
 *	benchtool freepoint :DPY
 *	    "X Y": a point of the root window that no mapped window covers.
 */
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *fmt, const char *arg)
{
	int e = errno;
	fprintf(stderr, "benchtool: ");
	fprintf(stderr, fmt, arg);
	if (e)
		fprintf(stderr, " (%s)", strerror(e));
	fputc('\n', stderr);
	exit(1);
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
	if (n <= 0)
		return 0;
	qsort(v, (size_t)n, sizeof *v, cmp_dbl);
	int i = (int)(p * (n - 1) + 0.5);
	return v[i];
}

static void report(const char *label, double *v, int n, const char *extra)
{
	double med = pct(v, n, 0.5), p10 = pct(v, n, 0.1), p90 = pct(v, n, 0.9);
	printf("%s median=%.3f p10=%.3f p90=%.3f n=%d%s%s\n", label, med, p10, p90, n,
	       extra ? " " : "", extra ? extra : "");
	fflush(stdout);
}

/* ---- a ticker: a small window whose content changes on every tick ---- */

struct ticker {
	Display *d;
	Window w;
	GC gc;
	unsigned long n;
};

static int ticker_open(struct ticker *t, const char *dpy, int x, int y)
{
	memset(t, 0, sizeof *t);
	t->d = XOpenDisplay(dpy);
	if (!t->d)
		return -1;
	int scr = DefaultScreen(t->d);
	if (x < 0)
		x += DisplayWidth(t->d, scr);
	if (y < 0)
		y += DisplayHeight(t->d, scr);
	XSetWindowAttributes a = {.override_redirect = True, .background_pixel = 0};
	t->w = XCreateWindow(t->d, RootWindow(t->d, scr), x, y, 120, 18, 0, CopyFromParent,
	                     InputOutput, CopyFromParent, CWOverrideRedirect | CWBackPixel, &a);
	t->gc = XCreateGC(t->d, t->w, 0, NULL);
	XMapRaised(t->d, t->w);
	XSync(t->d, False);
	return 0;
}

static void ticker_tick(struct ticker *t)
{
	char txt[48];
	if (!t->d)
		return;
	t->n++;
	unsigned long c = (t->n * 2654435761u) & 0xffffff;
	XSetForeground(t->d, t->gc, c);
	XFillRectangle(t->d, t->w, t->gc, 0, 0, 120, 18);
	XSetForeground(t->d, t->gc, c ^ 0xffffff);
	int len = snprintf(txt, sizeof txt, "tick %lu", t->n);
	XDrawString(t->d, t->w, t->gc, 4, 14, txt, len);
	XSync(t->d, False);
}

static void ticker_close(struct ticker *t)
{
	if (t->d)
		XCloseDisplay(t->d);
	t->d = NULL;
}

/* ---- common option parsing: -n N -w W -t :DPY ---- */

struct opts {
	int n, w;
	const char *tick;
};

static int parse_opts(int argc, char **argv, struct opts *o)
{
	int i = 0;
	while (i < argc && argv[i][0] == '-' && argv[i][1] && strcmp(argv[i], "--") != 0) {
		if (i + 1 >= argc)
			die("option %s needs a value", argv[i]);
		if (strcmp(argv[i], "-n") == 0)
			o->n = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "-w") == 0)
			o->w = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "-t") == 0)
			o->tick = argv[i + 1];
		else
			die("unknown option %s", argv[i]);
		i += 2;
	}
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (o->n < 1)
		o->n = 1;
	return i;
}

/* ---- spawn ---- */

static double run_cmd(char **argv)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	double t0 = now_ms();
	int r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	if (r != 0) {
		posix_spawn_file_actions_destroy(&fa);
		errno = r;
		die("cannot run %s", argv[0]);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	double t1 = now_ms();
	posix_spawn_file_actions_destroy(&fa);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "benchtool: %s failed (status %d)\n", argv[0], st);
		return -1;
	}
	return t1 - t0;
}

static int mode_spawn(int argc, char **argv)
{
	struct opts o = {.n = 30, .w = 3};
	int i = parse_opts(argc, argv, &o);
	char **cmds[32];
	const char *labels[32];
	int nc = 0;
	while (i < argc && nc < 32) {
		labels[nc] = argv[i++];
		cmds[nc] = &argv[i];
		while (i < argc && strcmp(argv[i], "---") != 0)
			i++;
		if (i < argc)
			argv[i++] = NULL; /* terminate this command's argv */
		nc++;
	}
	if (nc == 0)
		die("%s", "spawn: no command");
	struct ticker t = {0};
	if (o.tick && ticker_open(&t, o.tick, -130, -24) < 0)
		die("cannot open display %s", o.tick);
	double *v[32];
	int fails = 0;
	for (int c = 0; c < nc; c++)
		v[c] = calloc((size_t)o.n, sizeof(double));
	for (int r = 0; r < o.w + o.n; r++) {
		for (int c = 0; c < nc; c++) {
			ticker_tick(&t);
			double ms = run_cmd(cmds[c]);
			if (ms < 0) {
				fails++;
				ms = 0;
			}
			if (r >= o.w)
				v[c][r - o.w] = ms;
		}
	}
	ticker_close(&t);
	for (int c = 0; c < nc; c++)
		report(labels[c], v[c], o.n, NULL);
	return fails ? 1 : 0;
}

/* ---- in-process read / write ---- */

static uint64_t fnv(const unsigned char *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

/* Read a whole file into *buf (grown as needed); returns its length or -1. */
static ssize_t slurp(const char *path, unsigned char **buf, size_t *cap)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	size_t len = 0;
	for (;;) {
		if (*cap - len < 65536) {
			*cap = *cap ? *cap * 2 : 1 << 20;
			*buf = realloc(*buf, *cap);
		}
		ssize_t r = read(fd, *buf + len, *cap - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	return (ssize_t)len;
}

static int mode_read(int argc, char **argv)
{
	struct opts o = {.n = 30, .w = 3};
	int i = parse_opts(argc, argv, &o);
	if (i >= argc)
		die("%s", "read: no file");
	const char *path = argv[i];
	struct ticker t = {0};
	if (o.tick && ticker_open(&t, o.tick, -130, -24) < 0)
		die("cannot open display %s", o.tick);
	double *v = calloc((size_t)o.n, sizeof *v), *sz = calloc((size_t)o.n, sizeof *sz);
	uint64_t *h = calloc((size_t)o.n, sizeof *h);
	unsigned char *buf = NULL;
	size_t cap = 0;
	for (int r = 0; r < o.w + o.n; r++) {
		ticker_tick(&t);
		double t0 = now_ms();
		ssize_t len = slurp(path, &buf, &cap);
		double t1 = now_ms();
		if (len < 0)
			die("cannot read %s", path);
		if (r >= o.w) {
			v[r - o.w] = t1 - t0;
			sz[r - o.w] = (double)len;
			h[r - o.w] = fnv(buf, (size_t)len);
		}
	}
	ticker_close(&t);
	int distinct = 0;
	for (int a = 0; a < o.n; a++) {
		int seen = 0;
		for (int b = 0; b < a && !seen; b++)
			seen = h[a] == h[b];
		distinct += !seen;
	}
	char extra[96];
	snprintf(extra, sizeof extra, "distinct=%d bytes=%.0f", distinct, pct(sz, o.n, 0.5));
	report("read", v, o.n, extra);
	return 0;
}

static int mode_write(int argc, char **argv)
{
	struct opts o = {.n = 100, .w = 5};
	int i = parse_opts(argc, argv, &o);
	if (i + 1 >= argc)
		die("%s", "write: FILE TEXT");
	const char *path = argv[i];
	size_t len = strlen(argv[i + 1]);
	char *line = malloc(len + 2);
	memcpy(line, argv[i + 1], len);
	line[len++] = '\n';
	double *v = calloc((size_t)o.n, sizeof *v);
	for (int r = 0; r < o.w + o.n; r++) {
		double t0 = now_ms();
		int fd = open(path, O_WRONLY | O_TRUNC);
		if (fd < 0)
			die("cannot open %s", path);
		ssize_t w = write(fd, line, len);
		int e = errno;
		int c = close(fd);
		double t1 = now_ms();
		if (w != (ssize_t)len || c < 0) {
			errno = w < 0 ? e : errno;
			die("write to %s failed", path);
		}
		if (r >= o.w)
			v[r - o.w] = t1 - t0;
	}
	report("write", v, o.n, NULL);
	return 0;
}

/* ---- PNG decoding ---- */

struct img {
	int w, h;
	unsigned char *rgb;
};

static int decode(const unsigned char *data, size_t len, const char *path, struct img *im)
{
	png_image p;
	memset(&p, 0, sizeof p);
	p.version = PNG_IMAGE_VERSION;
	int ok = path ? png_image_begin_read_from_file(&p, path)
	              : png_image_begin_read_from_memory(&p, data, len);
	if (!ok)
		return -1;
	p.format = PNG_FORMAT_RGB;
	im->w = (int)p.width;
	im->h = (int)p.height;
	im->rgb = malloc(PNG_IMAGE_SIZE(p));
	if (!im->rgb || !png_image_finish_read(&p, NULL, im->rgb, 0, NULL)) {
		free(im->rgb);
		return -1;
	}
	return 0;
}

static int mode_pngcmp(int argc, char **argv)
{
	struct img a, b;
	struct stat sa, sb;
	if (argc < 2)
		die("%s", "pngcmp A B");
	if (decode(NULL, 0, argv[0], &a) < 0 || stat(argv[0], &sa) < 0)
		die("cannot decode %s", argv[0]);
	if (decode(NULL, 0, argv[1], &b) < 0 || stat(argv[1], &sb) < 0)
		die("cannot decode %s", argv[1]);
	long diff = -1;
	int maxd = 0;
	if (a.w == b.w && a.h == b.h) {
		diff = 0;
		for (long p = 0; p < (long)a.w * a.h; p++) {
			int d = 0;
			for (int c = 0; c < 3; c++) {
				int x = abs(a.rgb[p * 3 + c] - b.rgb[p * 3 + c]);
				d = x > d ? x : d;
			}
			diff += d > 0;
			maxd = d > maxd ? d : maxd;
		}
	}
	printf("pngcmp a_bytes=%lld b_bytes=%lld a=%dx%d b=%dx%d diff_pixels=%ld max_diff=%d\n",
	       (long long)sa.st_size, (long long)sb.st_size, a.w, a.h, b.w, b.h, diff, maxd);
	return 0;
}

/* ---- stale: does a change always show up, and does no change give the same bytes? ---- */

static int mode_stale(int argc, char **argv)
{
	struct opts o = {.n = 30, .w = 0};
	int i = parse_opts(argc, argv, &o);
	if (i + 3 >= argc)
		die("%s", "stale :DPY X Y FILE");
	const char *dpy = argv[i];
	int x = atoi(argv[i + 1]), y = atoi(argv[i + 2]);
	const char *path = argv[i + 3];
	Display *d = XOpenDisplay(dpy);
	if (!d)
		die("cannot open display %s", dpy);
	int scr = DefaultScreen(d);
	Visual *vis = DefaultVisual(d, scr);
	if (DefaultDepth(d, scr) != 24 || vis->red_mask != 0xff0000 || vis->blue_mask != 0xff)
		die("%s", "stale: needs a 24-bit RGB888 visual");
	XSetWindowAttributes a = {.override_redirect = True, .background_pixel = 0};
	Window w = XCreateWindow(d, RootWindow(d, scr), x, y, 24, 24, 0, CopyFromParent,
	                         InputOutput, CopyFromParent, CWOverrideRedirect | CWBackPixel, &a);
	GC gc = XCreateGC(d, w, 0, NULL);
	XMapRaised(d, w);
	XSync(d, False);
	usleep(100000);
	double *tf = calloc((size_t)o.n, sizeof *tf), *ts = calloc((size_t)o.n, sizeof *ts);
	unsigned char *buf = NULL, *buf2 = NULL;
	size_t cap = 0, cap2 = 0;
	int fresh = 0, same = 0;
	for (int r = 0; r < o.n; r++) {
		unsigned long c = ((unsigned long)(r + 1) * 0x3a7c15u) & 0xffffff;
		XSetForeground(d, gc, c);
		XFillRectangle(d, w, gc, 0, 0, 24, 24);
		XSync(d, False);
		double t0 = now_ms();
		ssize_t l1 = slurp(path, &buf, &cap);
		double t1 = now_ms();
		ssize_t l2 = slurp(path, &buf2, &cap2);
		double t2 = now_ms();
		if (l1 < 0 || l2 < 0)
			die("cannot read %s", path);
		tf[r] = t1 - t0;
		ts[r] = t2 - t1;
		same += l1 == l2 && memcmp(buf, buf2, (size_t)l1) == 0;
		struct img im;
		if (decode(buf, (size_t)l1, NULL, &im) == 0) {
			const unsigned char *px = im.rgb + ((size_t)(y + 12) * im.w + (x + 12)) * 3;
			unsigned long got = (unsigned long)px[0] << 16 | px[1] << 8 | px[2];
			fresh += got == c;
			free(im.rgb);
		}
	}
	XCloseDisplay(d);
	char extra[64];
	snprintf(extra, sizeof extra, "fresh=%d/%d", fresh, o.n);
	report("after_change", tf, o.n, extra);
	snprintf(extra, sizeof extra, "same=%d/%d", same, o.n);
	report("no_change", ts, o.n, extra);
	return 0;
}

/* ---- ready: mkdir until status says ready ---- */

static int read_small(const char *path, char *out, size_t len)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t r = read(fd, out, len - 1);
	close(fd);
	if (r < 0)
		return -1;
	out[r] = 0;
	return 0;
}

static int mode_ready(int argc, char **argv)
{
	struct opts o = {.n = 10, .w = 1};
	int i = parse_opts(argc, argv, &o);
	if (i + 1 >= argc)
		die("%s", "ready MNT PREFIX");
	const char *mnt = argv[i], *prefix = argv[i + 1];
	double *v = calloc((size_t)o.n, sizeof *v), *vr = calloc((size_t)o.n, sizeof *vr);
	char dir[4096], st[4096], s[64];
	for (int r = 0; r < o.w + o.n; r++) {
		snprintf(dir, sizeof dir, "%s/%s%d", mnt, prefix, r);
		snprintf(st, sizeof st, "%s/status", dir);
		double t0 = now_ms();
		if (mkdir(dir, 0755) < 0)
			die("mkdir %s failed", dir);
		for (;;) {
			if (read_small(st, s, sizeof s) < 0)
				die("cannot read %s", st);
			if (strncmp(s, "ready", 5) == 0)
				break;
			if (strncmp(s, "failed", 6) == 0 || now_ms() - t0 > 20000)
				die("session %s did not become ready", dir);
			usleep(200);
		}
		double t1 = now_ms();
		if (rmdir(dir) < 0)
			die("rmdir %s failed", dir);
		double t2 = now_ms();
		if (r >= o.w) {
			v[r - o.w] = t1 - t0;
			vr[r - o.w] = t2 - t1;
		}
	}
	report("ready", v, o.n, NULL);
	report("rmdir", vr, o.n, NULL);
	return 0;
}

/* ---- Xvfb alone ---- */

static int mode_xvfb(int argc, char **argv)
{
	struct opts o = {.n = 10, .w = 1};
	int i = parse_opts(argc, argv, &o);
	if (i >= argc)
		die("%s", "xvfb WxH");
	char screen[64];
	snprintf(screen, sizeof screen, "%sx24", argv[i]);
	double *v = calloc((size_t)o.n, sizeof *v);
	for (int r = 0; r < o.w + o.n; r++) {
		int p[2];
		if (pipe(p) < 0)
			die("%s", "pipe");
		char xa[][16] = {"Xvfb", "-displayfd", "3", "-screen", "0", "", "-nolisten",
		                 "tcp", "-noreset", "-dpi", "96", "-extension", "GLX"};
		char *xargv[14];
		for (int k = 0; k < 13; k++)
			xargv[k] = k == 5 ? screen : xa[k];
		xargv[13] = NULL;
		posix_spawn_file_actions_t fa;
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, p[1], 3);
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
		posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
		pid_t pid;
		double t0 = now_ms();
		if (posix_spawnp(&pid, "Xvfb", &fa, NULL, xargv, environ) != 0)
			die("%s", "cannot start Xvfb");
		close(p[1]);
		char line[32];
		ssize_t n = 0, k;
		while (n < (ssize_t)sizeof line - 1 &&
		       (k = read(p[0], line + n, sizeof line - 1 - (size_t)n)) > 0) {
			n += k;
			if (memchr(line, '\n', (size_t)n))
				break;
		}
		double t1 = now_ms();
		close(p[0]);
		posix_spawn_file_actions_destroy(&fa);
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		if (n <= 0)
			die("%s", "Xvfb reported no display");
		if (r >= o.w)
			v[r - o.w] = t1 - t0;
	}
	report("xvfb", v, o.n, NULL);
	return 0;
}

/* ---- par: many sessions at once ---- */

static struct img bg;
static pthread_barrier_t par_bar;

struct par_job {
	const char *mnt, *name, *dpy;
	int n, w;
	double *v;
	Display *bgd; /* keeps the background window alive */
	double t_start, t_end;
	int fails;
};

static int show_background(struct par_job *j)
{
	Display *d = XOpenDisplay(j->dpy);
	if (!d)
		return -1;
	int scr = DefaultScreen(d);
	int W = DisplayWidth(d, scr), H = DisplayHeight(d, scr);
	Window root = RootWindow(d, scr);
	uint32_t *px = malloc((size_t)W * H * 4);
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++) {
			const unsigned char *s = bg.rgb + ((size_t)(y % bg.h) * bg.w + (x % bg.w)) * 3;
			px[(size_t)y * W + x] = (uint32_t)s[0] << 16 | (uint32_t)s[1] << 8 | s[2];
		}
	XImage *xi = XCreateImage(d, DefaultVisual(d, scr), 24, ZPixmap, 0, (char *)px,
	                          (unsigned)W, (unsigned)H, 32, 0);
	Pixmap pm = XCreatePixmap(d, root, (unsigned)W, (unsigned)H, 24);
	GC gc = XCreateGC(d, pm, 0, NULL);
	XPutImage(d, pm, gc, xi, 0, 0, 0, 0, (unsigned)W, (unsigned)H);
	XSetWindowAttributes a = {.override_redirect = True, .background_pixmap = pm};
	Window w = XCreateWindow(d, root, 0, 0, (unsigned)W, (unsigned)H, 0, CopyFromParent,
	                         InputOutput, CopyFromParent, CWOverrideRedirect | CWBackPixmap,
	                         &a);
	XMapWindow(d, w);
	XSync(d, False);
	XDestroyImage(xi); /* frees px */
	j->bgd = d;
	return 0;
}

static void *par_thread(void *arg)
{
	struct par_job *j = arg;
	char path[4096];
	snprintf(path, sizeof path, "%s/%s/screenshot.png", j->mnt, j->name);
	char cat[] = "cat";
	char *argv[] = {cat, path, NULL};
	struct ticker t;
	if (ticker_open(&t, j->dpy, 200, 200) < 0) {
		fprintf(stderr, "benchtool: cannot open %s\n", j->dpy);
		j->fails = j->n;
		pthread_barrier_wait(&par_bar);
		return NULL;
	}
	for (int r = 0; r < j->w; r++) {
		ticker_tick(&t);
		run_cmd(argv);
	}
	pthread_barrier_wait(&par_bar);
	j->t_start = now_ms();
	for (int r = 0; r < j->n; r++) {
		ticker_tick(&t);
		double ms = run_cmd(argv);
		j->fails += ms < 0;
		j->v[r] = ms < 0 ? 0 : ms;
	}
	j->t_end = now_ms();
	ticker_close(&t);
	return NULL;
}

static int mode_par(int argc, char **argv)
{
	struct opts o = {.n = 20, .w = 2};
	int i = parse_opts(argc, argv, &o);
	if (i + 2 >= argc)
		die("%s", "par MNT BG.png NAME=:DPY...");
	const char *mnt = argv[i], *bgpng = argv[i + 1];
	i += 2;
	if (decode(NULL, 0, bgpng, &bg) < 0)
		die("cannot decode %s", bgpng);
	int nj = argc - i;
	struct par_job *jobs = calloc((size_t)nj, sizeof *jobs);
	pthread_t *th = calloc((size_t)nj, sizeof *th);
	for (int k = 0; k < nj; k++) {
		char *eq = strchr(argv[i + k], '=');
		if (!eq)
			die("bad session %s (want NAME=:DPY)", argv[i + k]);
		*eq = 0;
		jobs[k] = (struct par_job){.mnt = mnt, .name = argv[i + k], .dpy = eq + 1,
		                           .n = o.n, .w = o.w};
		jobs[k].v = calloc((size_t)o.n, sizeof(double));
		if (show_background(&jobs[k]) < 0)
			die("cannot open display %s", jobs[k].dpy);
	}
	usleep(200000);
	pthread_barrier_init(&par_bar, NULL, (unsigned)nj);
	for (int k = 0; k < nj; k++)
		pthread_create(&th[k], NULL, par_thread, &jobs[k]);
	for (int k = 0; k < nj; k++)
		pthread_join(th[k], NULL);
	double *all = calloc((size_t)nj * o.n, sizeof *all), lo = 1e18, hi = 0, t0 = 1e18, t1 = 0;
	int fails = 0;
	for (int k = 0; k < nj; k++) {
		fails += jobs[k].fails;
		memcpy(all + (size_t)k * o.n, jobs[k].v, sizeof(double) * o.n);
		double m = pct(jobs[k].v, o.n, 0.5);
		lo = m < lo ? m : lo;
		hi = m > hi ? m : hi;
		t0 = jobs[k].t_start < t0 ? jobs[k].t_start : t0;
		t1 = jobs[k].t_end > t1 ? jobs[k].t_end : t1;
		XCloseDisplay(jobs[k].bgd);
	}
	char extra[128];
	snprintf(extra, sizeof extra, "sessions=%d psmin=%.3f psmax=%.3f shots_per_s=%.1f fails=%d",
	         nj, lo, hi, (double)nj * o.n / ((t1 - t0) / 1000.0), fails);
	report("par", all, nj * o.n, extra);
	return fails ? 1 : 0;
}

/* ---- freepoint ---- */

static int mode_freepoint(int argc, char **argv)
{
	Display *d = XOpenDisplay(argc > 0 ? argv[0] : NULL);
	if (!d)
		die("%s", "cannot open display");
	int scr = DefaultScreen(d);
	int W = DisplayWidth(d, scr), H = DisplayHeight(d, scr);
	Window root = RootWindow(d, scr), rr, pr, *kids = NULL;
	unsigned nk = 0;
	XQueryTree(d, root, &rr, &pr, &kids, &nk);
	struct box {
		int x0, y0, x1, y1;
	} box[512];
	int nb = 0;
	for (unsigned k = 0; k < nk && nb < 510; k++) {
		XWindowAttributes a;
		if (!XGetWindowAttributes(d, kids[k], &a) || a.map_state != IsViewable)
			continue;
		box[nb].x0 = a.x - 8;
		box[nb].y0 = a.y - 8;
		box[nb].x1 = a.x + a.width + 2 * a.border_width + 8;
		box[nb].y1 = a.y + a.height + 2 * a.border_width + 8;
		nb++;
	}
	/* keep clear of the tickers, which sit at the bottom right and at 200,200 */
	box[nb++] = (struct box){W - 150, H - 40, W, H};
	box[nb++] = (struct box){190, 190, 330, 230};
	for (int y = H - 4; y >= 4; y -= 4)
		for (int x = W - 4; x >= 4; x -= 4) {
			int hit = 0;
			for (int b = 0; b < nb && !hit; b++)
				hit = x >= box[b].x0 && x < box[b].x1 && y >= box[b].y0 && y < box[b].y1;
			if (!hit) {
				printf("%d %d\n", x, y);
				return 0;
			}
		}
	fprintf(stderr, "benchtool: no free point on the screen\n");
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: benchtool spawn|read|write|stale|pngcmp|ready|xvfb|par|freepoint ...\n");
		return 2;
	}
	XInitThreads();
	signal(SIGPIPE, SIG_IGN);
	const char *m = argv[1];
	argc -= 2;
	argv += 2;
	if (strcmp(m, "spawn") == 0)
		return mode_spawn(argc, argv);
	if (strcmp(m, "read") == 0)
		return mode_read(argc, argv);
	if (strcmp(m, "write") == 0)
		return mode_write(argc, argv);
	if (strcmp(m, "stale") == 0)
		return mode_stale(argc, argv);
	if (strcmp(m, "pngcmp") == 0)
		return mode_pngcmp(argc, argv);
	if (strcmp(m, "ready") == 0)
		return mode_ready(argc, argv);
	if (strcmp(m, "xvfb") == 0)
		return mode_xvfb(argc, argv);
	if (strcmp(m, "par") == 0)
		return mode_par(argc, argv);
	if (strcmp(m, "freepoint") == 0)
		return mode_freepoint(argc, argv);
	fprintf(stderr, "benchtool: unknown mode %s\n", m);
	return 2;
}
