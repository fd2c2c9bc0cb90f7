/*
 * main.c - deskfs-agent: serves one X display over HTTP (see http.c).
 *
 *	deskfs-agent [--display :N] --listen unix:PATH|tcp:HOST:PORT|fd:N \
 *		--token-file FILE|--token-fd N [--ready-fd N] \
 *		[--run-as UID:GID] [--home DIR] [--xauthority FILE]
 *
 *	$ deskfs-agent --display :5 --listen unix:/tmp/a.sock --token-file tok --ready-fd 3 3>ready
 *	$ cat ready                         -> "ready 0" (unix) or "ready PORT" (tcp)
 *	$ curl --unix-socket /tmp/a.sock -H "Authorization: Bearer $(cat tok)" http://x/v1/health
 *
 * --listen fd:N serves a socket the parent already bound and made
 * listening (unix or TCP), inherited as fd N; --token-fd N reads the token
 * from fd N until EOF (a pipe), then closes it. With both, the daemon can
 * start the agent as an unprivileged user that cannot read (or create
 * anything in) the state directory; the agent waits for that EOF before it
 * does anything else. Either way the token is what was read less trailing
 * newlines: 1..4096 bytes, no NUL.
 *
 * --run-as, --home and --xauthority say who the session's programs run as
 * and whose files it serves (ident.h): procs/ and files/ of the mount.
 *
 * Exit status: 0 after SIGTERM/SIGINT, 2 for bad arguments, an unreadable
 * token or an unreachable display at start, 3 when the display goes away
 * later (the X IO error handler). stderr is the log, one line per event.
 *
 * Threads (the concurrency note; each file says more about its own part):
 *   main       sets everything up, then only waits for a signal or for the
 *              display to go away (on a second, idle X connection of its
 *              own, "watch"); at the end it stops the X worker, then the
 *              HTTP thread, then frees the desk.
 *   HTTP       libmicrohttpd's one polling thread (http.c): the token,
 *              routing, bodies, /v1/health; it never waits for X work.
 *              Requests for X are parked (MHD_suspend_connection) and
 *              resumed by the worker once answered.
 *   X worker   one runner thread (runner.c, desk.h) that owns the X
 *              connection, the capture cache, the input state and the
 *              receipts: jobs run one at a time, in arrival order, except
 *              that while an actions job pauses (wait, hold) the worker
 *              runs the reads queued meanwhile (screenshot, observation)
 *              from inside the pause; other actions wait their turn.
 *   encoder    png.c's band workers, driven by the X worker only.
 *   procs      a runner of two threads that start programs (fork, exec),
 *              and the procs I/O thread (procs.h) that follows them and
 *              answers the requests parked on them (output, exit, stdin).
 *   files      a runner of four threads with the --run-as user's
 *              file-system credentials (svc_files.c).
 * Locks: the runner's queue lock (runner.c), the procs lock (procs.h);
 * nothing else is shared but atomics (the PNG reference counts, the
 * health snapshot, input_cancel's flag). Programs and files never wait
 * for X, and X never waits for them.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <X11/Xlib.h>

#include "agent/desk.h"
#include "agent/http.h"
#include "agent/bulk.h"
#include "agent/ident.h"
#include "agent/keys.h"
#include "agent/procs.h"
#include "agent/runner.h"
#include "agent/sock.h"
#include "agent/svc_all.h"

#define LOG_PREFIX "deskfs-agent: "

#define TOKEN_MAX 4096
#define PROCS_THREADS 2   /* starting programs (fork and exec) */
#define FILES_THREADS 4   /* file requests at once */
#define FILES_QUEUED 1024 /* file requests waiting, past which 503 busy */

struct opts {
	const char *display;
	const char *listen;
	const char *token_file;
	int token_fd;
	int ready_fd;
	const char *run_as;
	const char *home;
	const char *xauthority;
	int guest; /* --guest: this agent is a VM's (POST /v1/identity may set the clock) */
};

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: deskfs-agent [--display :N] --listen unix:PATH|tcp:HOST:PORT|fd:N\n"
	    "                    (--token-file FILE | --token-fd N) [--ready-fd N]\n"
	    "  --display :N         the X display to serve (default $DISPLAY)\n"
	    "  --listen unix:PATH   create a unix socket (mode 0600) at PATH\n"
	    "  --listen tcp:HOST:PORT  listen on TCP (PORT 0: any; --ready-fd tells which)\n"
	    "  --listen fd:N        serve the bound, listening socket inherited as fd N\n"
	    "  --token-file FILE    the bearer token every request must carry\n"
	    "  --token-fd N         read the token from fd N until EOF, then close it\n"
	    "  --ready-fd N         write \"ready PORT\" to fd N once serving, then close it\n"
	    "  --run-as UID:GID     programs run as, and files are served as, this user\n"
	    "  --home DIR           the files tree (files/), and the programs' HOME and cwd\n"
	    "  --xauthority FILE    copied to HOME/.Xauthority, the programs' XAUTHORITY\n"
	    "  --guest              a VM's agent: /v1/identity may set the clock\n");
}

/* A whole non-negative decimal fd number. */
static int parse_fd(const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > 1 << 20)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
	    {"display", required_argument, NULL, 'd'},
	    {"listen", required_argument, NULL, 'l'},
	    {"token-file", required_argument, NULL, 't'},
	    {"token-fd", required_argument, NULL, 'T'},
	    {"ready-fd", required_argument, NULL, 'r'},
	    {"run-as", required_argument, NULL, 'u'},
	    {"home", required_argument, NULL, 'H'},
	    {"xauthority", required_argument, NULL, 'x'},
	    {"guest", no_argument, NULL, 'g'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	memset(o, 0, sizeof *o);
	o->ready_fd = -1;
	o->token_fd = -1;
	while ((c = getopt_long(argc, argv, "d:l:t:T:r:u:H:x:gh", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o->display = optarg;
			break;
		case 'l':
			o->listen = optarg;
			break;
		case 't':
			o->token_file = optarg;
			break;
		case 'T':
			if (parse_fd(optarg, &o->token_fd) < 0)
				return -EINVAL;
			break;
		case 'r':
			if (parse_fd(optarg, &o->ready_fd) < 0)
				return -EINVAL;
			break;
		case 'u':
			o->run_as = optarg;
			break;
		case 'H':
			o->home = optarg;
			break;
		case 'x':
			o->xauthority = optarg;
			break;
		case 'g':
			o->guest = 1;
			break;
		default:
			return -EINVAL;
		}
	}
	/* exactly one source of the token */
	if (optind != argc || !o->listen || !o->token_file == (o->token_fd < 0))
		return -EINVAL;
	return 0;
}

/* What fd holds until EOF, less trailing newlines: the token, malloc'd.
 * Closes fd. what names it in errors ("tok.txt", "fd 3"). */
static int read_token_fd(int fd, const char *what, char **out, size_t *len, char *err,
                         size_t errlen)
{
	char buf[TOKEN_MAX + 2];
	size_t n = 0;
	ssize_t r;
	int rc = 0;

	for (;;) {
		r = read(fd, buf + n, n < sizeof buf - 1 ? sizeof buf - 1 - n : 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "bad_token: cannot read %s: %s", what,
			         strerror(errno));
			rc = -EIO;
			goto out_close;
		}
		if (r == 0)
			break;
		if (n < sizeof buf - 1)
			n += (size_t)r;
		/* else: past the limit, read on to EOF so the writer never blocks */
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = 0;
	if (n == 0 || n > TOKEN_MAX || strlen(buf) != n) {
		snprintf(err, errlen, "bad_token: %s is empty, not text or over %d bytes", what,
		         TOKEN_MAX);
		rc = -EINVAL;
		goto out_close;
	}
	*out = strdup(buf);
	*len = n;
	rc = *out ? 0 : -ENOMEM;
out_close:
	close(fd);
	return rc;
}

static int read_token(const struct opts *o, char **out, size_t *len, char *err, size_t errlen)
{
	char what[32];
	int fd;

	if (o->token_fd >= 0) {
		snprintf(what, sizeof what, "fd %d", o->token_fd);
		return read_token_fd(o->token_fd, what, out, len, err, errlen);
	}
	fd = open(o->token_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "bad_token: cannot read %s: %s", o->token_file,
		         strerror(errno));
		return -errno;
	}
	return read_token_fd(fd, o->token_file, out, len, err, errlen);
}

static void say_ready(int fd, int port)
{
	char line[32];
	int n = snprintf(line, sizeof line, "ready %d\n", port);

	if (fd < 0)
		return;
	if (write(fd, line, (size_t)n) != n)
		fprintf(stderr, LOG_PREFIX "cannot write to --ready-fd %d: %s\n", fd,
		        strerror(errno));
	close(fd);
}

/* Waits for SIGTERM/SIGINT; exits 3 (IO error handler) if the display dies first. */
static void wait_for_end(int sfd, Display *watch)
{
	struct pollfd p[2] = {{.fd = sfd, .events = POLLIN},
	                      {.fd = watch ? ConnectionNumber(watch) : -1, .events = POLLIN}};
	struct signalfd_siginfo si;

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (p[0].revents) {
			if (read(sfd, &si, sizeof si) == sizeof si)
				fprintf(stderr, LOG_PREFIX "signal %u: stopping\n", si.ssi_signo);
			return;
		}
		if (p[1].revents) {
			XEvent ev;
			while (XPending(watch)) /* on EOF the IO error handler exits */
				XNextEvent(watch, &ev);
		}
	}
}

/* 0, 1 and 2 open (on /dev/null if need be): programs' pipes land on them. */
static void std_fds(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0) {
			int n = open("/dev/null", O_RDWR);
			if (n >= 0 && n != fd) {
				dup2(n, fd);
				close(n);
			}
		}
}

/* As many descriptors as we may have: programs' pipes, parked requests.
 * Programs get the limit back as it was (ident.h). */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max > (1 << 16) ? (1 << 16) : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	struct opts o;
	struct desk desk;
	struct ident id;
	struct procs *procs = NULL;
	struct runner *procs_runner = NULL, *files_runner = NULL;
	struct http_server *srv = NULL;
	struct svc_ident ident_svc = {0};
	struct bulk *bulk = NULL;
	Display *watch;
	char err[512], *token = NULL;
	const char *sock_path = NULL;
	size_t token_len = 0;
	sigset_t sigs;
	int fd, sfd, rc, port = 0, status = 2;

	if (parse_args(argc, argv, &o) < 0) {
		usage();
		return 2;
	}
	std_fds();
	/* file reads (up to 4 MiB) and output rings reuse freed memory instead of
	 * each mapping, faulting in and unmapping its own: ~2x faster reads */
	mallopt(M_MMAP_THRESHOLD, 16 << 20);
	mallopt(M_TRIM_THRESHOLD, 32 << 20);
	if (ident_init(&id, o.run_as, o.home, err, sizeof err) < 0) {
		fprintf(stderr, LOG_PREFIX "%s\n", err);
		return 2;
	}
	raise_nofile();
	act_set_key_resolver(key_lookup); /* the action parser knows X's keysyms */
	if (read_token(&o, &token, &token_len, err, sizeof err) < 0) {
		fprintf(stderr, LOG_PREFIX "%s\n", err);
		return 2;
	}

	/* Threads started from here on (MHD, the encoder) inherit the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN); /* a write past RLIMIT_FSIZE fails with EFBIG instead */
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);

	XInitThreads(); /* two Displays on two threads (libX11 >= 1.8 does it anyway) */
	if (desk_open(&desk, o.display, err, sizeof err) < 0) {
		fprintf(stderr, LOG_PREFIX "%s\n", err);
		goto out_free_token;
	}
	watch = XOpenDisplay(desk.x.name);
	if (ident_set_display(&id, desk.x.name) < 0 ||
	    (o.xauthority && ident_install_xauthority(&id, o.xauthority, err, sizeof err) < 0)) {
		fprintf(stderr, LOG_PREFIX "%s\n", o.xauthority ? err : "internal: out of memory");
		goto out_close_desk;
	}
	rc = runner_new(&procs_runner, "start", PROCS_THREADS, PROCS_MAX);
	if (rc == 0)
		rc = runner_new(&files_runner, "files", FILES_THREADS, FILES_QUEUED);
	if (rc == 0)
		rc = procs_new(&procs, &id, err, sizeof err);
	else
		snprintf(err, sizeof err, "internal: cannot start a runner: %s", strerror(-rc));
	if (rc < 0) {
		fprintf(stderr, LOG_PREFIX "%s\n", err);
		goto out_close_desk;
	}

	fd = sock_listen(o.listen, &port, &sock_path, err, sizeof err);
	if (fd < 0) {
		fprintf(stderr, LOG_PREFIX "%s\n", err);
		goto out_close_desk;
	}
	if (sock_path)
		xconn_unlink_on_loss(sock_path);

	const struct http_mount mounts[] = {
	    {&svc_health, &desk, NULL}, /* on the HTTP thread: never waits */
	    {&svc_capture, &desk, desk.worker},
	    {&svc_input, &desk, desk.worker},
	    {&svc_observe, &desk, desk.worker},
	    {&svc_procs, procs, procs_runner}, /* beside X: never behind it */
	    {&svc_files, &id, files_runner},
	    {&svc_ident, &ident_svc, NULL}, /* quick: on the HTTP thread */
	};
	ident_svc.guest = o.guest;
	if (http_start(&srv, fd, token, token_len, mounts, sizeof mounts / sizeof mounts[0], err,
	               sizeof err) < 0) {
		fprintf(stderr, LOG_PREFIX "%s\n", err);
		close(fd);
		goto out_unlink_socket;
	}
	__atomic_store_n(&ident_svc.srv, srv, __ATOMIC_RELEASE); /* before the first request is read */
	fprintf(stderr, LOG_PREFIX "serving %s (%dx%d) on %s; files %s, programs as uid %u\n",
	        desk.x.name, desk.x.width, desk.x.height, o.listen, id.root, (unsigned)id.uid);
	/* a VM's port for large reads of files/ (none elsewhere: nothing runs) */
	if ((rc = bulk_start(&bulk, &id)) < 0)
		fprintf(stderr, LOG_PREFIX "bulk channel: %s (files go by HTTP)\n", strerror(-rc));
	say_ready(o.ready_fd, port);

	wait_for_end(sfd, watch);
	desk_stop(&desk); /* cuts a long "wait" short; every parked request is answered */
	runner_stop(procs_runner); /* no program starts from here on */
	procs_stop(procs);         /* every program's group ends (TERM, 2 s, KILL) */
	runner_stop(files_runner);
	bulk_stop(bulk);
	http_stop(srv); /* so libmicrohttpd has no suspended connection left */
	status = 0;

out_unlink_socket:
	if (sock_path)
		unlink(sock_path);
out_close_desk:
	procs_free(procs); /* (stops them first, if the server never ran) */
	runner_free(procs_runner);
	runner_free(files_runner);
	if (watch)
		XCloseDisplay(watch);
	desk_close(&desk);
out_free_token:
	free(token);
	ident_free(&id);
	if (sfd >= 0)
		close(sfd);
	return status;
}
