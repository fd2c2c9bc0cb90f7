/*
 * procs.c - the program table and what the routes ask of it (procs.h):
 * status, output reads, stdin, ctl, exit, forget, and the end of every
 * program when the agent stops. Starting one is procs_start.c, the I/O
 * side procs_io.c.
 */
#include "agent/procs_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "agent/files.h"
#include "agent/ident.h"
#include "agent/spawn.h"
#include "agent/svc.h"
#include "common/clock.h"

#define TERM_GRACE_MS 2000
#define KILL_GRACE_MS 1000

/* ---- the table ---- */

int procs_tag_ok(const char *tag)
{
	size_t n = tag ? strlen(tag) : 0;

	if (n < 1 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = tag[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return 0;
	}
	return 1;
}

/* Any program with tag, even one being started. */
struct prog *procs_find_any(struct procs *p, const char *tag)
{
	for (struct prog *g = p->progs; g; g = g->next)
		if (!strcmp(g->tag, tag))
			return g;
	return NULL;
}

static struct prog *find(struct procs *p, const char *tag)
{
	struct prog *g = procs_find_any(p, tag);

	return g && g->state != P_STARTING ? g : NULL;
}

void procs_unlink(struct procs *p, struct prog *g)
{
	for (struct prog **pp = &p->progs; *pp; pp = &(*pp)->next)
		if (*pp == g) {
			*pp = g->next;
			p->nprogs--;
			return;
		}
}

void procs_prog_free(struct prog *g)
{
	if (!g)
		return;
	if (g->pidfd >= 0)
		close(g->pidfd);
	if (g->in_fd >= 0 && g->in_fd != g->out_fd[0])
		close(g->in_fd);
	for (int s = 0; s < 2; s++) {
		if (g->out_fd[s] >= 0)
			close(g->out_fd[s]);
		ring_free(&g->out[s]);
	}
	for (int i = 0; g->argv && i < g->argc; i++)
		free(g->argv[i]);
	free(g->argv);
	free(g->cwd);
	free(g);
}

static int no_such_tag(struct svc_reply *rep, const char *tag)
{
	svc_reply_errno(rep, ENOENT, "no_such_tag", "no program is tagged %.64s", tag);
	return -ENOENT;
}

static const char *state_name(const struct prog *g)
{
	switch (g->state) {
	case P_EXITED:
		return "exited";
	case P_SIGNALED:
		return "signaled";
	default:
		return "running";
	}
}

cJSON *procs_prog_json(const struct prog *g)
{
	cJSON *o = cJSON_CreateObject(), *a;
	char ts[40];

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "tag", g->tag);
	cJSON_AddNumberToObject(o, "pid", g->pid);
	a = cJSON_AddArrayToObject(o, "argv");
	for (int i = 0; a && i < g->argc; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(g->argv[i]));
	cJSON_AddStringToObject(o, "cwd", g->cwd);
	if (g->pty) {
		snprintf(ts, sizeof ts, "%ux%u", g->rows, g->cols);
		cJSON_AddStringToObject(o, "pty", ts);
	} else {
		cJSON_AddNullToObject(o, "pty");
	}
	cJSON_AddStringToObject(o, "state", state_name(g));
	if (g->finished && !g->sig)
		cJSON_AddNumberToObject(o, "exit_code", g->code);
	else
		cJSON_AddNullToObject(o, "exit_code");
	if (g->finished && g->sig)
		cJSON_AddNumberToObject(o, "signal", g->sig);
	else
		cJSON_AddNullToObject(o, "signal");
	clk_iso8601_at(g->started, ts, sizeof ts);
	cJSON_AddStringToObject(o, "started_at", ts);
	if (g->finished) {
		clk_iso8601_at(g->ended, ts, sizeof ts);
		cJSON_AddStringToObject(o, "ended_at", ts);
	} else {
		cJSON_AddNullToObject(o, "ended_at");
	}
	cJSON_AddNumberToObject(o, "stdout_size", (double)g->out[0].size);
	cJSON_AddNumberToObject(o, "stderr_size", (double)g->out[1].size);
	cJSON_AddNumberToObject(o, "stdout_start", (double)ring_start(&g->out[0]));
	cJSON_AddNumberToObject(o, "stderr_start", (double)ring_start(&g->out[1]));
	cJSON_AddBoolToObject(o, "stdin_open", !g->in_closed && !g->eof_asked && !g->leader_gone);
	return o;
}

/* ---- life ---- */

int procs_new(struct procs **out, const struct ident *id, char *err, size_t errlen)
{
	struct procs *p = calloc(1, sizeof *p);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	pthread_condattr_t ca;
	int rc;

	if (!p)
		return -ENOMEM;
	p->id = id;
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->changed, &ca);
	pthread_condattr_destroy(&ca);
	p->ep = epoll_create1(EPOLL_CLOEXEC);
	p->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->ep < 0 || p->wake < 0 || epoll_ctl(p->ep, EPOLL_CTL_ADD, p->wake, &ev) < 0) {
		rc = -errno;
		snprintf(err, errlen, "internal: procs: epoll: %s", strerror(errno));
		goto out_free;
	}
	rc = -pthread_create(&p->io, NULL, pio_main, p);
	if (rc < 0) {
		snprintf(err, errlen, "internal: procs: cannot start the I/O thread: %s",
		         strerror(-rc));
		goto out_free;
	}
	pthread_setname_np(p->io, "deskfs-procs");
	p->io_started = 1;
	*out = p;
	return 0;

out_free:
	procs_free(p);
	return rc;
}

/* Waits (procs_stop only) until no program's leader runs, or ms pass. */
static void wait_leaders(struct procs *p, int ms)
{
	struct timespec until;
	int running;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&p->lock);
	for (;;) {
		running = 0;
		for (struct prog *g = p->progs; g; g = g->next)
			running |= g->pid > 0 && !g->leader_gone;
		if (!running || pthread_cond_timedwait(&p->changed, &p->lock, &until) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&p->lock);
}

static void signal_all(struct procs *p, int sig)
{
	pthread_mutex_lock(&p->lock);
	for (struct prog *g = p->progs; g; g = g->next)
		if (g->pid > 0) { /* its leader is alive or an unreaped zombie: the group is ours */
			kill(-g->pid, sig);
			if (sig == SIGTERM)
				kill(-g->pid, SIGCONT); /* a stopped program must see it */
		}
	pthread_mutex_unlock(&p->lock);
}

void procs_stop(struct procs *p)
{
	struct waiter *done = NULL;

	if (!p || p->stopped)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	pthread_mutex_unlock(&p->lock);
	signal_all(p, SIGTERM);
	wait_leaders(p, TERM_GRACE_MS);
	signal_all(p, SIGKILL); /* the leaders that would not go, and what they left */
	wait_leaders(p, KILL_GRACE_MS);
	if (p->io_started) {
		atomic_store(&p->io_stop, 1);
		pio_wake(p);
		pthread_join(p->io, NULL);
		p->io_started = 0;
	}
	pthread_mutex_lock(&p->lock);
	pio_answer_all(p, &done);
	for (struct prog *g = p->progs; g; g = g->next)
		if (g->pid > 0 && waitpid(g->pid, NULL, WNOHANG) == g->pid)
			g->pid = 0;
	pthread_mutex_unlock(&p->lock);
	pio_flush(done);
	p->stopped = 1;
}

void procs_free(struct procs *p)
{
	struct prog *g, *next;

	if (!p)
		return;
	procs_stop(p);
	for (g = p->progs; g; g = next) {
		next = g->next;
		procs_prog_free(g);
	}
	if (p->ep >= 0)
		close(p->ep);
	if (p->wake >= 0)
		close(p->wake);
	pthread_cond_destroy(&p->changed);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* ---- the others: on the HTTP thread, never waiting ---- */

void procs_list(struct procs *p, struct svc_reply *rep)
{
	cJSON *o = cJSON_CreateObject(), *a = o ? cJSON_AddArrayToObject(o, "procs") : NULL;

	pthread_mutex_lock(&p->lock);
	for (struct prog *g = p->progs; a && g; g = g->next)
		if (g->state != P_STARTING)
			cJSON_AddItemToArray(a, procs_prog_json(g));
	pthread_mutex_unlock(&p->lock);
	svc_reply_json(rep, 200, o);
}

void procs_status(struct procs *p, const char *tag, struct svc_reply *rep)
{
	struct prog *g;
	cJSON *o = NULL;

	pthread_mutex_lock(&p->lock);
	g = find(p, tag);
	if (g)
		o = procs_prog_json(g);
	pthread_mutex_unlock(&p->lock);
	if (!g)
		no_such_tag(rep, tag);
	else
		svc_reply_json(rep, 200, o);
}

/* A parked request on g, or -EAGAIN when too many are parked. Locked. */
static int park(struct procs *p, struct prog *g, int kind, int wait_ms, struct svc_reply *rep,
                struct waiter **out)
{
	struct waiter *w;

	if (p->nwaiters >= PROCS_WAITERS_MAX || !(w = calloc(1, sizeof *w))) {
		svc_reply_errno(rep, EAGAIN, "busy", "too many requests wait on programs");
		return -EAGAIN;
	}
	w->prog = g;
	w->kind = kind;
	if (wait_ms > 0)
		w->deadline =
		    clk_mono_ms() + (uint64_t)(wait_ms < PROCS_WAIT_MAX_MS ? wait_ms : PROCS_WAIT_MAX_MS);
	*out = w;
	return 0;
}

void procs_read(struct procs *p, const char *tag, int stream, uint64_t offset, size_t len,
                int wait_ms, struct svc_reply *rep)
{
	struct waiter *w;
	struct prog *g;

	pthread_mutex_lock(&p->lock);
	g = find(p, tag);
	if (!g) {
		no_such_tag(rep, tag);
	} else if (offset > g->out[stream].size) {
		svc_reply_errno(rep, EINVAL, "bad_offset", "offset %llu is past the end (%llu)",
		                (unsigned long long)offset, (unsigned long long)g->out[stream].size);
	} else if (offset < g->out[stream].size || g->finished || wait_ms <= 0 || p->stopping) {
		pio_out_reply(g, stream, offset, len, rep);
	} else if (park(p, g, W_OUT, wait_ms, rep, &w) == 0) {
		w->stream = stream;
		w->offset = offset;
		w->max = len;
		w->later = svc_later(rep);
		pio_park(p, w);
	}
	pthread_mutex_unlock(&p->lock);
}

void procs_exit(struct procs *p, const char *tag, int wait_ms, struct svc_reply *rep)
{
	struct waiter *w;
	struct prog *g;

	pthread_mutex_lock(&p->lock);
	g = find(p, tag);
	if (!g) {
		no_such_tag(rep, tag);
	} else if (g->finished || wait_ms <= 0 || p->stopping) {
		pio_exit_reply(g, rep);
	} else if (park(p, g, W_EXIT, wait_ms, rep, &w) == 0) {
		w->later = svc_later(rep);
		pio_park(p, w);
	}
	pthread_mutex_unlock(&p->lock);
}

static int stdin_closed(struct svc_reply *rep, const struct prog *g)
{
	svc_reply_errno(rep, EPIPE, "stdin_closed", "%s: %s", g->tag,
	                g->leader_gone ? "the program has ended" : "its input is closed");
	return -EPIPE;
}

void procs_stdin(struct procs *p, const char *tag, const char *data, size_t len,
                 struct svc_reply *rep)
{
	struct waiter *w = NULL;
	struct prog *g;
	size_t done = 0;
	ssize_t r;

	pthread_mutex_lock(&p->lock);
	g = find(p, tag);
	if (!g) {
		no_such_tag(rep, tag);
		goto out;
	}
	if (g->leader_gone || g->in_closed || g->eof_asked || g->in_fd < 0) {
		stdin_closed(rep, g);
		goto out;
	}
	if (p->stopping) { /* nothing may be parked any more */
		svc_reply_errno(rep, EAGAIN, "stopping", "the agent is shutting down");
		goto out;
	}
	if (park(p, g, W_IN, 0, rep, &w) < 0)
		goto out;
	while (!g->inq && done < len) { /* what fits now goes now */
		r = write(g->in_fd, data + done, len - done);
		if (r > 0)
			done += (size_t)r;
		else if (r < 0 && errno == EINTR)
			continue;
		else if (r < 0 && errno == EAGAIN)
			break;
		else { /* EPIPE: nobody reads it any more; EIO: a pty's slave is gone */
			if (!g->pty)
				pio_close_stdin(p, g);
			g->in_closed = 1;
			stdin_closed(rep, g);
			free(w);
			goto out;
		}
	}
	if (done == len && !g->inq) {
		pio_written_reply(rep, len);
		free(w);
		goto out;
	}
	w->data = data;
	w->len = len;
	w->done = done;
	w->later = svc_later(rep);
	pio_park(p, w);
	pio_arm_stdin(p, g);
out:
	pthread_mutex_unlock(&p->lock);
}

static int parse_signal(const char *s)
{
	char *end;
	long v;

	if (*s >= '0' && *s <= '9') {
		v = strtol(s, &end, 10);
		return *end || v < 0 || v >= NSIG ? -1 : (int)v;
	}
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (int sig = 1; sig < NSIG; sig++) {
		const char *name = sigabbrev_np(sig);
		if (name && !strcasecmp(s, name))
			return sig;
	}
	return -1;
}

static void ctl_ok(struct svc_reply *rep)
{
	static const char ok[] = "{\"ok\":true}";

	svc_reply_bytes(rep, 200, "application/json", ok, sizeof ok - 1, NULL, NULL);
}

static void ctl_eof(struct procs *p, struct prog *g, struct svc_reply *rep)
{
	struct waiter *w;
	ssize_t r;

	if (g->leader_gone || g->in_fd < 0) {
		stdin_closed(rep, g);
		return;
	}
	if (!g->pty) {
		if (g->eof_asked) {
			ctl_ok(rep);
			return;
		}
		g->eof_asked = 1;
		if (!g->inq) {
			pio_close_stdin(p, g);
			ctl_ok(rep);
			return;
		}
	} else if (!g->inq) {
		do
			r = write(g->in_fd, &g->veof, 1);
		while (r < 0 && errno == EINTR);
		if (r == 1) {
			ctl_ok(rep);
			return;
		}
	}
	/* after the input queued before it */
	w = calloc(1, sizeof *w);
	if (!w) {
		svc_reply_errno(rep, ENOMEM, "internal", "out of memory");
		return;
	}
	w->prog = g;
	w->kind = W_IN;
	w->eof = 1;
	pio_park(p, w);
	pio_arm_stdin(p, g);
	ctl_ok(rep);
}

void procs_ctl(struct procs *p, const char *tag, const char *body, size_t len,
               struct svc_reply *rep)
{
	char line[128], arg[64];
	unsigned rows, cols;
	struct winsize ws;
	struct prog *g;
	int sig, n = -1;

	while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == '\r' || body[len - 1] == ' '))
		len--;
	if (len >= sizeof line || memchr(body, 0, len) || memchr(body, '\n', len)) {
		svc_reply_errno(rep, EINVAL, "bad_ctl", "one line: signal NAME|N, eof, resize RxC");
		return;
	}
	memcpy(line, body, len);
	line[len] = 0;
	pthread_mutex_lock(&p->lock);
	g = find(p, tag);
	if (!g) {
		no_such_tag(rep, tag);
	} else if (sscanf(line, "signal %63s%n", arg, &n) == 1 && n == (int)len) {
		sig = parse_signal(arg);
		if (sig < 0)
			svc_reply_errno(rep, EINVAL, "bad_signal", "no such signal: %s", arg);
		else if (kill(-g->pid, sig) < 0) /* the group is ours: its leader is unreaped */
			svc_reply_errno(rep, errno == ESRCH ? EPIPE : errno, "signal_failed",
			                "%s: %s", g->tag, strerror(errno));
		else
			ctl_ok(rep);
	} else if (!strcmp(line, "eof")) {
		ctl_eof(p, g, rep);
	} else if (sscanf(line, "resize %ux%u%n", &rows, &cols, &n) == 2 && n == (int)len) {
		if (!g->pty)
			svc_reply_errno(rep, ENOTTY, "not_a_pty", "%s has no pty", g->tag);
		else if (rows < 1 || rows > 4096 || cols < 1 || cols > 4096)
			svc_reply_errno(rep, EINVAL, "bad_size", "ROWSxCOLS, each 1..4096");
		else if (g->out_fd[0] < 0)
			svc_reply_errno(rep, EPIPE, "ended", "%s has ended", g->tag);
		else {
			ws = (struct winsize){.ws_row = (unsigned short)rows,
			                      .ws_col = (unsigned short)cols};
			if (ioctl(g->out_fd[0], TIOCSWINSZ, &ws) < 0) {
				svc_reply_errno(rep, errno, NULL, "resize: %s", strerror(errno));
			} else {
				g->rows = rows;
				g->cols = cols;
				kill(-g->pid, SIGWINCH);
				ctl_ok(rep);
			}
		}
	} else {
		svc_reply_errno(rep, EINVAL, "bad_ctl",
		                "not a ctl line (signal NAME|N, eof, resize RxC): %.80s", line);
	}
	pthread_mutex_unlock(&p->lock);
}

void procs_forget(struct procs *p, const char *tag, struct svc_reply *rep)
{
	static const char ok[] = "{}";
	struct prog *g;

	pthread_mutex_lock(&p->lock);
	g = find(p, tag);
	if (!g) {
		no_such_tag(rep, tag);
	} else if (!g->finished) {
		svc_reply_errno(rep, EBUSY, "running", "%s is still running", g->tag);
		g = NULL;
	} else {
		procs_unlink(p, g);
		kill(-g->pid, SIGKILL); /* what it left running goes with it */
		waitpid(g->pid, NULL, WNOHANG); /* the zombie leader */
		svc_reply_bytes(rep, 200, "application/json", ok, sizeof ok - 1, NULL, NULL);
	}
	pthread_mutex_unlock(&p->lock);
	procs_prog_free(g);
}
