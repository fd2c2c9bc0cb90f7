/*
 * main.c - deskfs-agent: serves one X display over HTTP (see http.c).
 *
 *	deskfs-agent [--display :N] --listen unix:/path/agent.sock|tcp:HOST:PORT \
 *		--token-file FILE [--ready-fd N]
 *
 *	$ deskfs-agent --display :5 --listen unix:/tmp/a.sock --token-file tok --ready-fd 3 3>ready
 *	$ cat ready                         -> "ready 0" (unix) or "ready PORT" (tcp)
 *	$ curl --unix-socket /tmp/a.sock -H "Authorization: Bearer $(cat tok)" http://x/v1/health
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
 *              receipts: jobs run one at a time, in arrival order.
 *   encoder    png.c's band workers, driven by the X worker only.
 * Locks: the runner's queue lock (runner.c); nothing else is shared but
 * atomics (the PNG reference counts, the health snapshot, input_cancel's
 * flag). Exec and file services would mount on runners of their own,
 * beside the X worker.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <unistd.h>
#include <X11/Xlib.h>

#include "agent/desk.h"
#include "agent/http.h"
#include "agent/keys.h"
#include "agent/svc_all.h"

#define LOG_PREFIX "deskfs-agent: "

struct opts {
	const char *display;
	const char *listen;
	const char *token_file;
	int ready_fd;
};

static void usage(void)
{
	fprintf(stderr, "usage: deskfs-agent [--display :N] --listen unix:PATH|tcp:HOST:PORT "
	                "--token-file FILE [--ready-fd N]\n");
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
	    {"display", required_argument, NULL, 'd'},
	    {"listen", required_argument, NULL, 'l'},
	    {"token-file", required_argument, NULL, 't'},
	    {"ready-fd", required_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;
	char *end;

	memset(o, 0, sizeof *o);
	o->ready_fd = -1;
	while ((c = getopt_long(argc, argv, "d:l:t:r:h", longopts, NULL)) != -1) {
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
		case 'r':
			errno = 0;
			o->ready_fd = (int)strtol(optarg, &end, 10);
			if (errno || *end || o->ready_fd < 0)
				return -EINVAL;
			break;
		default:
			return -EINVAL;
		}
	}
	if (optind != argc || !o->listen || !o->token_file)
		return -EINVAL;
	return 0;
}

/* The token file's content less trailing newlines; malloc'd. */
static int read_token(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
	char buf[4097];
	size_t n = 0;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "bad_token: cannot read %s: %s", path, strerror(errno));
		return -errno;
	}
	while (n < sizeof buf - 1 && (r = read(fd, buf + n, sizeof buf - 1 - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "bad_token: cannot read %s: %s", path,
			         strerror(errno));
			close(fd);
			return -EIO;
		}
		n += (size_t)r;
	}
	close(fd);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = 0;
	if (n == 0 || strlen(buf) != n) {
		snprintf(err, errlen, "bad_token: %s is empty or not text", path);
		return -EINVAL;
	}
	*out = strdup(buf);
	*len = n;
	return *out ? 0 : -ENOMEM;
}

static int listen_unix(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	mode_t old;
	int fd, rc;

	if (strlen(path) >= sizeof sa.sun_path) {
		snprintf(err, errlen, "listen_failed: socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "listen_failed: %s exists and is not a socket", path);
			return -EEXIST;
		}
		unlink(path); /* stale socket of an earlier agent */
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "listen_failed: socket: %s", strerror(errno));
		return rc;
	}
	old = umask(0177); /* born 0600: no window where others could connect */
	rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (rc < 0 || chmod(path, 0600) < 0 || listen(fd, 64) < 0) {
		rc = -errno;
		snprintf(err, errlen, "listen_failed: %s: %s", path, strerror(errno));
		goto out_close_fd;
	}
	return fd;

out_close_fd:
	close(fd);
	return rc;
}

static int listen_tcp(const char *spec, int *port, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
	                         .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res, *ai;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	char host[256];
	const char *colon = strrchr(spec, ':'), *orig = spec;
	int fd = -1, one = 1, rc, saved = EADDRNOTAVAIL;
	size_t hl;

	if (!colon || !colon[1]) {
		snprintf(err, errlen, "listen_failed: want tcp:HOST:PORT, got tcp:%s", spec);
		return -EINVAL;
	}
	hl = (size_t)(colon - spec);
	if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']') {
		spec++;
		hl -= 2;
	}
	if (hl >= sizeof host)
		hl = sizeof host - 1;
	memcpy(host, spec, hl);
	host[hl] = 0;
	rc = getaddrinfo(hl ? host : NULL, colon + 1, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "listen_failed: %s: %s", host, gai_strerror(rc));
		return -EINVAL;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 64) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "listen_failed: tcp:%s: %s", orig, strerror(saved));
		return -saved;
	}
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	*port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
	                                 : ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return fd;
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

int main(int argc, char **argv)
{
	struct opts o;
	struct desk desk;
	struct http_server *srv = NULL;
	Display *watch;
	char err[512], *token = NULL;
	const char *sock_path = NULL;
	size_t token_len = 0;
	sigset_t sigs;
	int fd, sfd, port = 0, status = 2;

	if (parse_args(argc, argv, &o) < 0) {
		usage();
		return 2;
	}
	act_set_key_resolver(key_lookup); /* the action parser knows X's keysyms */
	if (read_token(o.token_file, &token, &token_len, err, sizeof err) < 0) {
		fprintf(stderr, LOG_PREFIX "%s\n", err);
		return 2;
	}

	/* Threads started from here on (MHD, the encoder) inherit the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);

	XInitThreads(); /* two Displays on two threads (libX11 >= 1.8 does it anyway) */
	if (desk_open(&desk, o.display, err, sizeof err) < 0) {
		fprintf(stderr, LOG_PREFIX "%s\n", err);
		goto out_free_token;
	}
	watch = XOpenDisplay(desk.x.name);

	if (strncmp(o.listen, "unix:", 5) == 0) {
		sock_path = o.listen + 5;
		fd = listen_unix(sock_path, err, sizeof err);
	} else if (strncmp(o.listen, "tcp:", 4) == 0) {
		fd = listen_tcp(o.listen + 4, &port, err, sizeof err);
	} else {
		snprintf(err, sizeof err,
		         "listen_failed: --listen wants unix:PATH or tcp:HOST:PORT");
		fd = -EINVAL;
	}
	if (fd < 0) {
		fprintf(stderr, LOG_PREFIX "%s\n", err);
		sock_path = NULL;
		goto out_close_desk;
	}
	if (sock_path)
		xconn_unlink_on_loss(sock_path);

	const struct http_mount mounts[] = {
	    {&svc_health, &desk, NULL}, /* on the HTTP thread: never waits */
	    {&svc_capture, &desk, desk.worker},
	    {&svc_input, &desk, desk.worker},
	    {&svc_observe, &desk, desk.worker},
	};
	if (http_start(&srv, fd, token, token_len, mounts, sizeof mounts / sizeof mounts[0], err,
	               sizeof err) < 0) {
		fprintf(stderr, LOG_PREFIX "%s\n", err);
		close(fd);
		goto out_unlink_socket;
	}
	fprintf(stderr, LOG_PREFIX "serving %s (%dx%d) on %s\n", desk.x.name, desk.x.width,
	        desk.x.height, o.listen);
	say_ready(o.ready_fd, port);

	wait_for_end(sfd, watch);
	desk_stop(&desk); /* cuts a long "wait" short; every parked request is answered */
	http_stop(srv);   /* so libmicrohttpd has no suspended connection left */
	status = 0;

out_unlink_socket:
	if (sock_path)
		unlink(sock_path);
out_close_desk:
	if (watch)
		XCloseDisplay(watch);
	desk_close(&desk);
out_free_token:
	free(token);
	if (sfd >= 0)
		close(sfd);
	return status;
}
