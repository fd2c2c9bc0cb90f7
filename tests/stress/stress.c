/*
 * stress.c - the FUSE-surface fuzzer behind `make stress`: the worker side,
 * random operations on every file of a live deskfs mount. The main process
 * (watch.c) runs one worker process per user and kills desktops meanwhile.
 *
 *	build/tests/stress -m MNT -d DAEMON_PID [-s SECONDS] [-t THREADS] ...
 *	(tests/stress/run.sh mounts an ASan build with allow_other and runs it)
 *
 * Each user gets a process of its own: setresuid changes one thread's
 * credentials in the kernel, but glibc syncs all threads, so one process
 * cannot hold two users. Each thread picks at random: mkdir and rmdir of a
 * few session names (and invalid ones); open, read and close of every file
 * of the tree (snapshots, logs, the artifacts, O_NONBLOCK snapshots, streams
 * with O_NONBLOCK, and blocking ones ended by a timer signal); poll;
 * readdir; stat; writes of valid and invalid lines to actions, ctl and .ctl,
 * lines split over writes, last lines without a newline (their error comes
 * at close), lines over the 4 MiB bound, NUL bytes, JSON nested without
 * end; and dup()+close() of one fd racing a writer of long unterminated
 * lines (each close is a FLUSH: issue 8, defect 2). Programs (procs/):
 * valid and malformed start lines on a few tags, reads of their status and
 * output, exit read blocking (ended by the timer signal) or O_NONBLOCK,
 * signals, eof and resize, stdin writes (a parked write ended by the timer
 * or by the program's end), rmdir of tags running or not. files/: writes,
 * reads and truncates at random offsets, create, mkdir, rename (over files,
 * into directories, across sessions), unlink, rmdir, symlink, chmod, in a
 * directory per user. Every result is counted per operation and per errno
 * in shared memory.
 */
#include "tests/stress/stress.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

const char *const stress_op_name[OP_N] = {
	"mkdir", "rmdir", "read", "read O_NONBLOCK", "events O_NONBLOCK", "events blocking",
	"poll", "actions valid", "actions invalid", "split lines", "huge line", ".ctl write",
	"ctl write", "dup+close race", "readdir", "stat", "procs start", "procs read",
	"procs exit", "procs ctl", "procs stdin", "procs rmdir", "files rw", "files ns", "checkpoints", "close",
};

#define HUGE (5u << 20) /* over the 4 MiB line bound */

struct stress_shared *stress_sh;
#define sh stress_sh

/* set once by stress_init, read-only after */
static const char *mnt;
static int qemu, user_idx;
static char *big;  /* HUGE bytes of 'a' */
static char *deep; /* 100000 '[' and a newline */
static const char *const sessions[] = {"s0", "s1", "s2", "s3", "q0"};

struct worker {
	unsigned long long rng;
	timer_t timer;
	int has_timer;
	char buf[65536];
	char line[512];
};

static unsigned rnd(struct worker *w, unsigned n)
{
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return (unsigned)((w->rng * 2685821657736338717ULL) >> 33) % n;
}

static void note(enum stress_op op, int e)
{
	if (e == 0)
		atomic_fetch_add(&sh->ok[op], 1);
	else
		atomic_fetch_add(&sh->err[op][e > 0 && e < STRESS_NERR ? e : 0], 1);
	atomic_fetch_add(&sh->by_user[user_idx], 1);
}

static int close_noted(int fd)
{
	int e = close(fd) < 0 ? errno : 0;
	note(OP_CLOSE, e);
	return e;
}

static const char *pick_session(struct worker *w)
{
	return sessions[rnd(w, qemu ? 5 : 4)];
}

static void path_of(char *out, size_t n, const char *sess, const char *file)
{
	if (sess)
		snprintf(out, n, "%s/%s%s%s", mnt, sess, file ? "/" : "", file ? file : "");
	else
		snprintf(out, n, "%s/%s", mnt, file ? file : "");
}

/* ---- reads ---- */

static int read_fd(struct worker *w, int fd)
{
	size_t total = 0;
	ssize_t r;
	while ((r = read(fd, w->buf, sizeof w->buf)) > 0)
		if ((total += (size_t)r) > (64u << 20))
			break;
	return r < 0 ? errno : 0;
}

static void op_read_path(struct worker *w, const char *p, int nonblock)
{
	enum stress_op op = nonblock ? OP_READ_NB : OP_READ;
	int fd = open(p, O_RDONLY | (nonblock ? O_NONBLOCK : 0));
	if (fd < 0) {
		note(op, errno);
		return;
	}
	int e = read_fd(w, fd);
	int ce = close_noted(fd);
	note(op, e ? e : ce);
}

/* Signal this thread after ms, and every 50 ms after that until disarmed
 * (ms 0): a signal that lands between two reads is followed by another. */
static void arm(struct worker *w, unsigned ms)
{
	struct itimerspec it = {.it_value = {ms / 1000, (long)(ms % 1000) * 1000000L}};
	if (ms)
		it.it_interval.tv_nsec = 50 * 1000000L;
	if (w->has_timer)
		timer_settime(w->timer, 0, &it, NULL);
}

static void op_events(struct worker *w, const char *p, int block)
{
	enum stress_op op = block ? OP_EVENTS_BLOCK : OP_EVENTS_NB;
	int fd = open(p, O_RDONLY | (block ? 0 : O_NONBLOCK));
	if (fd < 0) {
		note(op, errno);
		return;
	}
	int e = 0;
	if (block && w->has_timer) {
		/* read until a timer signal interrupts the wait (EINTR is the
		 * expected end: a blocked reader that is signalled returns) */
		arm(w, 20 + rnd(w, 300));
		ssize_t r;
		for (int i = 0; i < 64 && (r = read(fd, w->buf, 1 + rnd(w, 4096))) > 0; i++)
			;
		e = r < 0 ? errno : 0;
		arm(w, 0);
	} else {
		ssize_t r = read(fd, w->buf, 1 + rnd(w, sizeof w->buf - 1));
		e = r < 0 ? errno : 0;
	}
	int ce = close_noted(fd);
	note(op, e ? e : ce);
}

static void op_poll(struct worker *w, const char *p)
{
	int fd = open(p, O_RDONLY | O_NONBLOCK);
	if (fd < 0) {
		note(OP_POLL, errno);
		return;
	}
	struct pollfd pf = {.fd = fd, .events = POLLIN};
	int r = poll(&pf, 1, (int)rnd(w, 200)), e = 0;
	if (r < 0)
		e = errno;
	else if (r > 0 && (pf.revents & POLLIN) && read(fd, w->buf, sizeof w->buf) < 0)
		e = errno;
	int ce = close_noted(fd);
	note(OP_POLL, e ? e : ce);
}

static void op_readdir(struct worker *w, const char *p, int read_files)
{
	DIR *d = opendir(p);
	if (!d) {
		note(OP_READDIR, errno);
		return;
	}
	char names[16][64];
	int n = 0;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && n < 16)
			snprintf(names[n++], sizeof names[0], "%s", de->d_name);
	int e = errno;
	closedir(d);
	note(OP_READDIR, e);
	char fp[600];
	for (int i = 0; read_files && i < n; i++) {
		snprintf(fp, sizeof fp, "%s/%s", p, names[i]);
		op_read_path(w, fp, 0);
	}
}

/* ---- writes ---- */

/* Write buf in pieces of at most chunk bytes, then close: the first error. */
static int write_pieces(const char *p, const char *buf, size_t len, size_t chunk)
{
	int fd = open(p, O_WRONLY), e = 0;
	if (fd < 0)
		return errno;
	for (size_t off = 0; off < len && !e;) {
		size_t n = len - off < chunk ? len - off : chunk;
		ssize_t r = write(fd, buf + off, n);
		if (r < 0)
			e = errno;
		else
			off += (size_t)r;
	}
	int ce = close_noted(fd);
	return e ? e : ce;
}

static const char *valid_action(struct worker *w)
{
	unsigned x = rnd(w, 320), y = rnd(w, 200);
	switch (rnd(w, 12)) {
	case 0: snprintf(w->line, sizeof w->line, "click %u %u\n", x, y); break;
	case 1: snprintf(w->line, sizeof w->line, "move %u %u\n", x, y); break;
	case 2: snprintf(w->line, sizeof w->line, "type hello w\xc3\xb6rld\n"); break;
	case 3: snprintf(w->line, sizeof w->line, "key ctrl+a\n"); break;
	case 4: snprintf(w->line, sizeof w->line, "scroll %u %u 0 1\n", x, y); break;
	case 5: snprintf(w->line, sizeof w->line, "double_click %u %u\n", x, y); break;
	case 6: snprintf(w->line, sizeof w->line, "wait %u\n", rnd(w, 100)); break;
	case 7: snprintf(w->line, sizeof w->line, "drag 1 1 %u %u\n", x, y); break;
	case 8: snprintf(w->line, sizeof w->line, "{\"action\":\"left_click\",\"coordinate\":[%u,%u]}\n", x, y); break;
	case 9: snprintf(w->line, sizeof w->line, "{\"type\":\"click\",\"x\":%u,\"y\":%u}\n", x, y); break;
	case 10: snprintf(w->line, sizeof w->line, "keydown shift\nkeyup shift\n"); break;
	default: snprintf(w->line, sizeof w->line, "click 1 1\nmove %u %u\nscroll down 1\n", x, y); break;
	}
	return w->line;
}

static const char *const bad_actions[] = {
	"jump 1 2\n", "click 999 999\n", "click -1 5\n", "click 1x 2\n", "type \xff\xfe\n",
	"{\"action\":\n", "click 99999999999999999999 1\n", "key ctrl+nosuchkey\n",
	"click 10 10\nclick 10\n", "wait -5\n", "{\"method\":\"fly\"}\n",
};

static void op_actions(struct worker *w, const char *sess, int good)
{
	char p[512];
	path_of(p, sizeof p, sess, "actions");
	if (good) {
		const char *l = valid_action(w);
		note(OP_ACT_GOOD, write_pieces(p, l, strlen(l), 1 << 20));
		return;
	}
	unsigned k = rnd(w, 14);
	if (k == 11) /* a NUL byte */
		note(OP_ACT_BAD, write_pieces(p, "click 1 1\0\n", 11, 1 << 20));
	else if (k == 12) /* JSON nested without end */
		note(OP_ACT_BAD, write_pieces(p, deep, strlen(deep), 1 << 20));
	else if (k == 13) /* a last line without a newline: its error comes at close */
		note(OP_ACT_BAD, write_pieces(p, "jump 3", 6, 1 << 20));
	else
		note(OP_ACT_BAD, write_pieces(p, bad_actions[k], strlen(bad_actions[k]), 1 << 20));
}

/* A line split over several writes, sometimes with no final newline. */
static void op_split(struct worker *w, const char *sess)
{
	char p[512];
	path_of(p, sizeof p, sess, "actions");
	const char *l = valid_action(w);
	size_t len = strlen(l);
	if (rnd(w, 2))
		len--; /* the last line runs at close */
	note(OP_SPLIT, write_pieces(p, l, len, 1 + rnd(w, 6)));
}

static void op_huge(struct worker *w, const char *sess)
{
	char p[512];
	unsigned k = rnd(w, 3);
	path_of(p, sizeof p, k == 2 ? NULL : sess, k == 0 ? "actions" : k == 1 ? "ctl" : ".ctl");
	memcpy(w->buf, "type ", 5); /* the first chunk starts like an action */
	int fd = open(p, O_WRONLY), e = 0;
	if (fd < 0) {
		note(OP_HUGE, errno);
		return;
	}
	if (write(fd, "type ", 5) < 0)
		e = errno;
	for (size_t off = 0; off < HUGE && !e; off += 1u << 20)
		if (write(fd, big, 1u << 20) < 0)
			e = errno;
	if (!e && write(fd, "\n", 1) < 0)
		e = errno;
	int ce = close_noted(fd);
	note(OP_HUGE, e ? e : ce);
}

static void op_gctl(struct worker *w)
{
	char p[512];
	const char *s = pick_session(w);
	path_of(p, sizeof p, NULL, ".ctl");
	switch (rnd(w, 12)) {
	case 0: case 1:
		if (qemu && strcmp(s, "q0") == 0)
			snprintf(w->line, sizeof w->line, "create q0 provider=qemu memory=256 width=320 height=200\n");
		else
			snprintf(w->line, sizeof w->line, "create %s\n", s);
		break;
	case 2: snprintf(w->line, sizeof w->line, "create %s width=320 height=240\n", s); break;
	case 3: case 4: snprintf(w->line, sizeof w->line, "destroy %s\n", s); break;
	case 5: snprintf(w->line, sizeof w->line, "create\n"); break;
	case 6: snprintf(w->line, sizeof w->line, "create bad name\n"); break;
	case 7: snprintf(w->line, sizeof w->line, "create %s width=abc\n", s); break;
	case 8: snprintf(w->line, sizeof w->line, "fly away\n"); break;
	case 9: snprintf(w->line, sizeof w->line, "create %s nosuch=1\n", s); break;
	case 10: snprintf(w->line, sizeof w->line, "destroy nosuch\n"); break;
	default: snprintf(w->line, sizeof w->line, "create %s provider=nosuch", s); break;
	}
	note(OP_GCTL, write_pieces(p, w->line, strlen(w->line), 1 + rnd(w, 64)));
}

static void op_sctl(struct worker *w, const char *sess)
{
	static const char *const lines[] = {
		"clear-error\n", "resize 320x240\n", "resize 320x200\n", "stop\n", "start\n",
		"restart\n", "fly\n", "resize 0x0\n", "start\nclear-error\n",
	};
	char p[512];
	path_of(p, sizeof p, sess, "ctl");
	const char *l = lines[rnd(w, sizeof lines / sizeof *lines)];
	note(OP_SCTL, write_pieces(p, l, strlen(l), 1 << 20));
}

/* One fd; two threads close(dup(fd)) in a loop (each close is a FLUSH)
 * while this one writes 200 KB pieces without a newline. */
struct race {
	int fd;
	atomic_int stop;
};

static void *dup_closer(void *arg)
{
	struct race *r = arg;
	while (!atomic_load(&r->stop)) {
		int d = dup(r->fd);
		if (d >= 0)
			close(d);
	}
	return NULL;
}

static void op_duprace(struct worker *w, const char *sess)
{
	char p[512];
	unsigned k = rnd(w, 3);
	path_of(p, sizeof p, k == 2 ? NULL : sess, k == 0 ? "actions" : k == 1 ? "ctl" : ".ctl");
	struct race r = {.fd = open(p, O_WRONLY)};
	if (r.fd < 0) {
		note(OP_DUPRACE, errno);
		return;
	}
	pthread_t t[2];
	int nt = 0, e = 0;
	for (int i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, dup_closer, &r) == 0)
			nt++;
	for (int i = 0; i < 5 && !e; i++)
		if (write(r.fd, big, 200 * 1024) < 0)
			e = errno;
	atomic_store(&r.stop, 1);
	for (int i = 0; i < nt; i++)
		pthread_join(t[i], NULL);
	int ce = close_noted(r.fd);
	note(OP_DUPRACE, e ? e : ce);
}

/* ---- programs (procs/) ---- */

static void tag_path(struct worker *w, char *out, size_t n, const char *s, const char *file)
{
	char f[96];
	snprintf(f, sizeof f, "procs/t%u%s%s", rnd(w, 6), file ? "/" : "", file ? file : "");
	path_of(out, n, s, f);
}

static void op_procs_start(struct worker *w, const char *sess)
{
	static const char *const progs[] = {
		"true", "sleep 0.%u", "sh -c 'echo out%u; echo err >&2; exit 3'", "cat",
		"sleep 30", "sh -c 'head -c %u000 /dev/zero'", "/no/such/prog%u",
		"sh -c 'trap \"\" TERM; sleep 5'",
	};
	static const char *const bad[] = {
		"start t1 true\n", "start ../t -- true\n", "start t2 -- 'open\n", "start\n",
		"start t3 pty=0x0 -- true\n", "{\"start\":\"t4\",\"argv\":[]}\n", "stop t1\n",
	};
	char p[512], prog[96];
	path_of(p, sizeof p, sess, "procs/ctl");
	if (rnd(w, 5) == 0) {
		const char *l = bad[rnd(w, sizeof bad / sizeof *bad)];
		note(OP_PROCS_START, write_pieces(p, l, strlen(l), 4096));
		return;
	}
	snprintf(prog, sizeof prog, progs[rnd(w, sizeof progs / sizeof *progs)], rnd(w, 10));
	snprintf(w->line, sizeof w->line, "start t%u%s -- %s\n", rnd(w, 6),
		 rnd(w, 4) == 0 ? " pty=24x80" : "", prog);
	note(OP_PROCS_START, write_pieces(p, w->line, strlen(w->line), 4096));
}

static void op_procs_read(struct worker *w, const char *sess)
{
	static const char *const f[] = {"status", "stdout", "stderr", NULL};
	char p[512];
	const char *which = f[rnd(w, 4)];
	if (!which) {
		path_of(p, sizeof p, sess, "procs");
		op_readdir(w, p, 0);
		return;
	}
	tag_path(w, p, sizeof p, sess, which);
	int fd = open(p, O_RDONLY);
	if (fd < 0) {
		note(OP_PROCS_READ, errno);
		return;
	}
	off_t off = rnd(w, 3) == 0 ? (off_t)rnd(w, 1 << 20) : 0;
	ssize_t r = pread(fd, w->buf, 1 + rnd(w, sizeof w->buf - 1), off);
	int e = r < 0 ? errno : 0, ce = close_noted(fd);
	note(OP_PROCS_READ, e ? e : ce);
}

/* exit: blocking until the timer signals (EINTR) or it ends, or O_NONBLOCK, or poll. */
static void op_procs_exit(struct worker *w, const char *sess)
{
	char p[512];
	unsigned how = rnd(w, 3);
	tag_path(w, p, sizeof p, sess, "exit");
	int fd = open(p, O_RDONLY | (how == 1 ? O_NONBLOCK : 0));
	if (fd < 0) {
		note(OP_PROCS_EXIT, errno);
		return;
	}
	int e = 0;
	if (how == 2) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		if (poll(&pf, 1, (int)rnd(w, 300)) < 0)
			e = errno;
	} else {
		if (how == 0)
			arm(w, 20 + rnd(w, 400));
		if (read(fd, w->buf, 64) < 0)
			e = errno;
		arm(w, 0);
	}
	int ce = close_noted(fd);
	note(OP_PROCS_EXIT, e ? e : ce);
}

static void op_procs_ctl(struct worker *w, const char *sess)
{
	static const char *const l[] = {"signal TERM\n", "signal KILL\n", "signal INT\n",
					"eof\n", "resize 30x100\n", "signal 99\n", "bogus\n"};
	char p[512];
	const char *line = l[rnd(w, sizeof l / sizeof *l)];
	tag_path(w, p, sizeof p, sess, "ctl");
	note(OP_PROCS_CTL, write_pieces(p, line, strlen(line), 4096));
}

/* stdin: a write that may park (a full pipe); the timer ends what waits too long */
static void op_procs_stdin(struct worker *w, const char *sess)
{
	char p[512];
	tag_path(w, p, sizeof p, sess, "stdin");
	int fd = open(p, O_WRONLY), e = 0;
	if (fd < 0) {
		note(OP_PROCS_STDIN, errno);
		return;
	}
	size_t n = rnd(w, 4) == 0 ? (size_t)rnd(w, HUGE) : 1 + rnd(w, 4096);
	arm(w, 50 + rnd(w, 500));
	if (write(fd, big, n) < 0)
		e = errno;
	arm(w, 0);
	int ce = close_noted(fd);
	note(OP_PROCS_STDIN, e ? e : ce);
}

static void op_procs_rmdir(struct worker *w, const char *sess)
{
	char p[512];
	tag_path(w, p, sizeof p, sess, NULL);
	note(OP_PROCS_RMDIR, rmdir(p) < 0 ? errno : 0);
}

/* ---- files/: a directory per user ---- */

static void file_path(struct worker *w, char *out, size_t n, const char *sess)
{
	char f[96];
	static const char *const names[] = {"a", "b", "d/a", "d/b", "d", "e/x"};
	snprintf(f, sizeof f, "files/stress%d/%s", user_idx, names[rnd(w, 6)]);
	path_of(out, n, sess, f);
}

static void op_files_rw(struct worker *w, const char *sess)
{
	char p[512];
	file_path(w, p, sizeof p, sess);
	unsigned k = rnd(w, 4);
	int fd = open(p, k == 0 ? O_RDONLY : O_RDWR | O_CREAT | (rnd(w, 8) ? 0 : O_TRUNC), 0644);
	if (fd < 0) {
		note(OP_FILES_RW, errno);
		return;
	}
	off_t off = (off_t)rnd(w, 3 << 20);
	size_t n = 1 + rnd(w, rnd(w, 4) ? 8192 : (2u << 20));
	ssize_t r = 0;
	if (k == 0)
		r = pread(fd, w->buf, n < sizeof w->buf ? n : sizeof w->buf, off);
	else if (k == 1)
		r = pwrite(fd, big, n, off);
	else if (k == 2)
		r = ftruncate(fd, off);
	else
		r = fsync(fd);
	int e = r < 0 ? errno : 0, ce = close_noted(fd);
	note(OP_FILES_RW, e ? e : ce);
}

static void op_files_ns(struct worker *w, const char *sess)
{
	char p[512], q[512], base[128];
	int r;
	snprintf(base, sizeof base, "files/stress%d", user_idx);
	path_of(p, sizeof p, sess, base);
	if (rnd(w, 8) == 0) { /* the user's directory itself comes and goes rarely */
		note(OP_FILES_NS, mkdir(p, 0755) < 0 ? errno : 0);
		return;
	}
	file_path(w, p, sizeof p, sess);
	file_path(w, q, sizeof q, rnd(w, 6) ? sess : pick_session(w));
	switch (rnd(w, 7)) {
	case 0: r = mkdir(p, 0755); break;
	case 1: r = rmdir(p); break;
	case 2: r = unlink(p); break;
	case 3: r = rename(p, q); break;
	case 4: r = symlink("a", p); break;
	case 5: r = chmod(p, 0600 | rnd(w, 0100)); break;
	default: {
		DIR *d = opendir(p);
		r = d ? 0 : -1;
		while (d && readdir(d))
			;
		if (d)
			closedir(d);
	}
	}
	note(OP_FILES_NS, r < 0 ? errno : 0);
}

/* ---- the worker ---- */

static const char *const files[] = {
	"status", "session.json", "observation.json", "screenshot.png", "error", "actions",
	"ctl", "artifacts/xvfb.log", "artifacts/agent.log", "nonexistent", "files", "procs",
};

/* ---- the table of operations: each row one kind, its weight, its function ---- */

static void do_read(struct worker *w, const char *s)
{
	char p[512];
	if (rnd(w, 8) == 0)
		path_of(p, sizeof p, NULL, rnd(w, 2) ? ".ctl" : ".providers.json");
	else
		path_of(p, sizeof p, s, files[rnd(w, sizeof files / sizeof *files)]);
	op_read_path(w, p, 0);
}

static void do_read_nb(struct worker *w, const char *s)
{
	char p[512];
	path_of(p, sizeof p, s, rnd(w, 2) ? "screenshot.png" : "observation.json");
	op_read_path(w, p, 1);
}

static void stream_path(struct worker *w, const char *s, char *p, size_t n)
{
	if (rnd(w, 3))
		path_of(p, n, s, "events");
	else
		path_of(p, n, NULL, ".events");
}

static void do_events_nb(struct worker *w, const char *s)
{
	char p[512];
	stream_path(w, s, p, sizeof p);
	op_events(w, p, 0);
}

static void do_events_block(struct worker *w, const char *s)
{
	char p[512];
	stream_path(w, s, p, sizeof p);
	op_events(w, p, 1);
}

static void do_poll(struct worker *w, const char *s)
{
	char p[512];
	stream_path(w, s, p, sizeof p);
	op_poll(w, p);
}

/* checkpoints/: capture, list, read, delete, restore, and a fork made and destroyed
 * (xvfb sessions answer ENOTSUP: that is exercised too). */
static void op_ckpt(struct worker *w, const char *sess)
{
	char p[512], c[16], line[128];
	struct stat st;
	snprintf(c, sizeof c, "c%u", rnd(w, 3));
	snprintf(line, sizeof line, "checkpoints/%s", c);
	switch (rnd(w, 7)) {
	case 0: case 1:
		path_of(p, sizeof p, sess, line);
		note(OP_CKPT, mkdir(p, 0700) < 0 ? errno : 0);
		break;
	case 2:
		path_of(p, sizeof p, sess, line);
		note(OP_CKPT, rmdir(p) < 0 ? errno : 0);
		break;
	case 3:
		path_of(p, sizeof p, sess, "checkpoints");
		op_readdir(w, p, 0);
		snprintf(line, sizeof line, "checkpoints/%s/info.json", c);
		path_of(p, sizeof p, sess, line);
		note(OP_CKPT, stat(p, &st) < 0 ? errno : 0);
		break;
	case 4:
		snprintf(line, sizeof line, "restore %s\n", c);
		path_of(p, sizeof p, sess, "ctl");
		note(OP_CKPT, write_pieces(p, line, strlen(line), 1 << 20));
		break;
	default:
		if (!qemu)
			break;
		path_of(p, sizeof p, NULL, ".ctl");
		snprintf(line, sizeof line, "create k%d from=%s/%s\n", user_idx, sess, c);
		note(OP_CKPT, write_pieces(p, line, strlen(line), 1 << 20));
		snprintf(line, sizeof line, "destroy k%d\n", user_idx);
		note(OP_CKPT, write_pieces(p, line, strlen(line), 1 << 20));
		break;
	}
}

static void do_act_good(struct worker *w, const char *s) { op_actions(w, s, 1); }
static void do_act_bad(struct worker *w, const char *s) { op_actions(w, s, 0); }
static void do_gctl(struct worker *w, const char *s) { op_gctl(w); }

static void do_mkdir(struct worker *w, const char *s)
{
	static const char *const bad[] = {
		".hidden", "bad name",
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"};
	char p[512];
	path_of(p, sizeof p, rnd(w, 20) ? s : bad[rnd(w, 3)], NULL);
	note(OP_MKDIR, mkdir(p, 0755) < 0 ? errno : 0);
}

static void do_rmdir(struct worker *w, const char *s)
{
	char p[512];
	path_of(p, sizeof p, s, NULL);
	note(OP_RMDIR, rmdir(p) < 0 ? errno : 0);
}

static void do_readdir(struct worker *w, const char *s)
{
	char p[512];
	unsigned k = rnd(w, 4);
	if (k == 0)
		snprintf(p, sizeof p, "%s", mnt);
	else
		path_of(p, sizeof p, s, k == 1 ? NULL : k == 2 ? "artifacts" : "procs");
	op_readdir(w, p, k == 2);
}

static void do_stat(struct worker *w, const char *s)
{
	char p[512];
	struct stat st;
	if (rnd(w, 5) == 0)
		path_of(p, sizeof p, NULL, rnd(w, 2) ? ".events" : ".ctl");
	else
		path_of(p, sizeof p, s, files[rnd(w, sizeof files / sizeof *files)]);
	note(OP_STAT, stat(p, &st) < 0 ? errno : 0);
}

static struct op_row {
	enum stress_op kind;
	unsigned weight; /* 0 when excluded by stress_init's filter */
	void (*fn)(struct worker *w, const char *sess);
} ops[] = {
	{OP_READ, 22, do_read},
	{OP_READ_NB, 4, do_read_nb},
	{OP_EVENTS_NB, 6, do_events_nb},
	{OP_EVENTS_BLOCK, 4, do_events_block},
	{OP_POLL, 4, do_poll},
	{OP_ACT_GOOD, 12, do_act_good},
	{OP_ACT_BAD, 5, do_act_bad},
	{OP_SPLIT, 4, op_split},
	{OP_HUGE, 1, op_huge},
	{OP_GCTL, 6, do_gctl},
	{OP_SCTL, 2, op_sctl},
	{OP_DUPRACE, 4, op_duprace},
	{OP_MKDIR, 6, do_mkdir},
	{OP_RMDIR, 4, do_rmdir},
	{OP_READDIR, 8, do_readdir},
	{OP_STAT, 8, do_stat},
	{OP_PROCS_START, 5, op_procs_start},
	{OP_PROCS_READ, 5, op_procs_read},
	{OP_PROCS_EXIT, 4, op_procs_exit},
	{OP_PROCS_CTL, 3, op_procs_ctl},
	{OP_PROCS_STDIN, 2, op_procs_stdin},
	{OP_PROCS_RMDIR, 2, op_procs_rmdir},
	{OP_FILES_RW, 6, op_files_rw},
	{OP_FILES_NS, 6, op_files_ns},
	{OP_CKPT, 3, op_ckpt},
};
#define NOPS (sizeof ops / sizeof *ops)
static unsigned weight_sum;

static void one_op(struct worker *w)
{
	unsigned r = rnd(w, weight_sum);
	for (size_t i = 0; i < NOPS; i++) {
		if (r < ops[i].weight) {
			ops[i].fn(w, pick_session(w));
			return;
		}
		r -= ops[i].weight;
	}
}

static void *worker_thread(void *arg)
{
	struct worker *w = arg;
	struct sigevent sev = {.sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGUSR1};
	sev.sigev_notify_thread_id = gettid();
	w->has_timer = timer_create(CLOCK_MONOTONIC, &sev, &w->timer) == 0;
	while (!atomic_load(&sh->stop))
		one_op(w);
	if (w->has_timer)
		timer_delete(w->timer);
	return NULL;
}

static void on_signal(int sig)
{
	(void)sig;
}

void stress_worker_process(int uid, int nthreads, unsigned seed)
{
	user_idx = uid != 0;
	if (uid != 0 && (setgroups(0, NULL) < 0 || setresgid((gid_t)uid, (gid_t)uid, (gid_t)uid) < 0 ||
			 setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) < 0)) {
		perror("stress: becoming the other user");
		_exit(2);
	}
	struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: EINTR */
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	pthread_t t[64];
	struct worker *w = calloc((size_t)nthreads, sizeof *w);
	int n = 0;
	for (int i = 0; i < nthreads && i < 64; i++) {
		w[i].rng = ((unsigned long long)seed << 20) ^ (unsigned long long)(i + 1) * 0x9e3779b97f4a7c15ULL;
		if (pthread_create(&t[i], NULL, worker_thread, &w[i]) == 0)
			n++;
	}
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	_exit(0); /* no exit handlers: the counters live in shared memory */
}

/* Is name one of the comma-separated words of list? */
static int in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return 1;
	return 0;
}

int stress_init(const char *mount, int with_qemu, const char *only)
{
	mnt = mount;
	qemu = with_qemu;
	for (size_t i = 0; i < NOPS; i++) {
		if (only && !in_list(only, stress_op_name[ops[i].kind]))
			ops[i].weight = 0;
		weight_sum += ops[i].weight;
	}
	if (weight_sum == 0) {
		errno = EINVAL;
		return -1;
	}
	sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return -1;
	big = malloc(HUGE);
	deep = malloc(100002);
	if (!big || !deep)
		return -1;
	memset(big, 'a', HUGE);
	memset(deep, '[', 100000);
	deep[100000] = '\n';
	deep[100001] = '\0';
	return 0;
}
