/*
 * procs_io.c - the procs I/O thread and what it shares with procs.c:
 * reading output into the rings, writing queued stdin, noting exits, and
 * answering parked requests (procs.h has the threads, procs_int.h the
 * types). Every descriptor here is non-blocking: the lock is held across
 * system calls that never wait.
 */
#include "agent/procs_int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/svc.h"
#include "common/clock.h"

#define READ_CHUNK 65536
#define READS_PER_EVENT 16 /* then the other programs get their turn */

/* ---- answers ---- */

void pio_out_reply(struct prog *g, int stream, uint64_t offset, size_t max, struct svc_reply *rep)
{
	struct ring *r = &g->out[stream];
	uint64_t start = ring_start(r), from = offset < start ? start : offset;
	size_t n = from < r->size ? (size_t)(r->size - from) : 0;
	char *buf;

	if (n > max)
		n = max;
	buf = malloc(n ? n : 1);
	if (!buf) {
		svc_reply_errno(rep, ENOMEM, "internal", "out of memory");
		return;
	}
	ring_copy(r, from, buf, n);
	svc_reply_bytes(rep, 200, "application/octet-stream", buf, n, free, buf);
	svc_reply_header(rep, "X-Deskfs-Size", "%llu", (unsigned long long)r->size);
	svc_reply_header(rep, "X-Deskfs-Start", "%llu", (unsigned long long)start);
	svc_reply_header(rep, "X-Deskfs-Dropped", "%llu", (unsigned long long)(from - offset));
	svc_reply_header(rep, "X-Deskfs-Offset", "%llu", (unsigned long long)from);
	if (g->finished && from + n == r->size)
		svc_reply_header(rep, "X-Deskfs-Ended", "1");
}

void pio_exit_reply(struct prog *g, struct svc_reply *rep)
{
	char line[32];
	char *s;

	if (!g->finished) {
		svc_reply_bytes(rep, 202, NULL, NULL, 0, NULL, NULL);
		return;
	}
	if (g->sig)
		snprintf(line, sizeof line, "signal %d\n", g->sig);
	else
		snprintf(line, sizeof line, "%d\n", g->code);
	s = strdup(line);
	if (!s) {
		svc_reply_errno(rep, ENOMEM, "internal", "out of memory");
		return;
	}
	svc_reply_bytes(rep, 200, "text/plain", s, strlen(s), free, s);
}

void pio_written_reply(struct svc_reply *rep, size_t n)
{
	cJSON *o = cJSON_CreateObject();

	if (o)
		cJSON_AddNumberToObject(o, "written", (double)n);
	svc_reply_json(rep, 200, o);
}

/* ---- parked requests ---- */

void pio_wake(struct procs *p)
{
	uint64_t one = 1;

	if (write(p->wake, &one, sizeof one) < 0) {
		/* a full counter still wakes it */
	}
}

static void timed_insert(struct procs *p, struct waiter *w)
{
	struct waiter *at = p->timed_end;

	while (at && at->deadline > w->deadline) /* deadlines mostly come in order */
		at = at->tprev;
	w->tprev = at;
	w->tnext = at ? at->tnext : p->timed;
	if (w->tnext)
		w->tnext->tprev = w;
	else
		p->timed_end = w;
	if (at)
		at->tnext = w;
	else
		p->timed = w;
}

static void timed_remove(struct procs *p, struct waiter *w)
{
	if (w->tprev)
		w->tprev->tnext = w->tnext;
	else
		p->timed = w->tnext;
	if (w->tnext)
		w->tnext->tprev = w->tprev;
	else
		p->timed_end = w->tprev;
	w->tprev = w->tnext = NULL;
}

void pio_park(struct procs *p, struct waiter *w)
{
	struct prog *g = w->prog;

	if (w->kind == W_IN) {
		w->prev = g->inq_end;
		w->next = NULL;
		if (g->inq_end)
			g->inq_end->next = w;
		else
			g->inq = w;
		g->inq_end = w;
	} else {
		w->prev = NULL;
		w->next = g->waiters;
		if (g->waiters)
			g->waiters->prev = w;
		g->waiters = w;
	}
	if (w->later)
		p->nwaiters++;
	if (w->deadline) {
		timed_insert(p, w);
		if (p->timed == w)
			pio_wake(p); /* the I/O thread's timeout is now shorter */
	}
}

void pio_complete(struct procs *p, struct waiter *w, struct waiter **done)
{
	struct prog *g = w->prog;

	if (w->kind == W_IN) {
		if (w->prev)
			w->prev->next = w->next;
		else
			g->inq = w->next;
		if (w->next)
			w->next->prev = w->prev;
		else
			g->inq_end = w->prev;
	} else {
		if (w->prev)
			w->prev->next = w->next;
		else
			g->waiters = w->next;
		if (w->next)
			w->next->prev = w->prev;
	}
	if (w->deadline)
		timed_remove(p, w);
	if (w->later)
		p->nwaiters--;
	w->prev = NULL;
	w->next = *done;
	*done = w;
}

void pio_flush(struct waiter *done)
{
	struct waiter *next;

	for (; done; done = next) {
		next = done->next;
		if (done->later)
			svc_later_done(done->later);
		free(done);
	}
}

/* Every queued stdin write fails with err (EPIPE: the program ended). */
static void fail_stdin(struct procs *p, struct prog *g, int err, struct waiter **done)
{
	while (g->inq) {
		struct waiter *w = g->inq;
		if (w->later)
			svc_reply_errno(svc_later_reply(w->later), err, "stdin_closed",
			                "%s: the program's input is closed (%d of %zu bytes written)",
			                g->tag, (int)w->done, w->len);
		pio_complete(p, w, done);
	}
	pio_arm_stdin(p, g);
}

/* ---- the program's state ---- */

static void finish(struct procs *p, struct prog *g, struct waiter **done)
{
	g->finished = 1;
	g->state = g->sig ? P_SIGNALED : P_EXITED;
	if (g->in_grace) {
		g->in_grace = 0;
		p->ngrace--;
	}
	while (g->waiters) {
		struct waiter *w = g->waiters;
		if (w->kind == W_OUT)
			pio_out_reply(g, w->stream, w->offset, w->max, svc_later_reply(w->later));
		else
			pio_exit_reply(g, svc_later_reply(w->later));
		pio_complete(p, w, done);
	}
	fail_stdin(p, g, EPIPE, done);
}

static void check_finished(struct procs *p, struct prog *g, struct waiter **done)
{
	if (!g->finished && g->leader_gone && g->out_fd[0] < 0 && g->out_fd[1] < 0)
		finish(p, g, done);
}

void pio_close_stdin(struct procs *p, struct prog *g)
{
	struct epoll_event ev = {.events = EPOLLIN};

	if (!g->pty && g->in_fd >= 0) {
		if (g->in_armed)
			epoll_ctl(p->ep, EPOLL_CTL_DEL, g->in_fd, NULL);
		close(g->in_fd);
	} else if (g->pty && g->in_armed && g->out_fd[0] >= 0) { /* the master reads on */
		ev.data.ptr = &g->s_out[0];
		epoll_ctl(p->ep, EPOLL_CTL_MOD, g->out_fd[0], &ev);
	}
	g->in_fd = -1;
	g->in_armed = 0;
	g->in_closed = 1;
}

static void stream_close(struct procs *p, struct prog *g, int s, struct waiter **done)
{
	if (g->out_fd[s] < 0)
		return;
	epoll_ctl(p->ep, EPOLL_CTL_DEL, g->out_fd[s], NULL);
	close(g->out_fd[s]);
	g->out_fd[s] = -1;
	if (g->pty) { /* the master was its stdin too */
		g->in_fd = -1;
		g->in_armed = 0;
		g->in_closed = 1;
		fail_stdin(p, g, EPIPE, done);
	}
	check_finished(p, g, done);
}

static void wake_readers(struct procs *p, struct prog *g, int s, struct waiter **done)
{
	struct waiter *w, *next;

	for (w = g->waiters; w; w = next) {
		next = w->next;
		if (w->kind != W_OUT || w->stream != s || g->out[s].size <= w->offset)
			continue;
		pio_out_reply(g, s, w->offset, w->max, svc_later_reply(w->later));
		pio_complete(p, w, done);
	}
}

/* Reads what is there (a bounded amount: level-triggered epoll comes back). */
static void stream_read(struct procs *p, struct prog *g, int s, int rounds, struct waiter **done)
{
	static __thread char buf[READ_CHUNK];
	uint64_t before = g->out[s].size;
	ssize_t n;

	for (int i = 0; i < rounds && g->out_fd[s] >= 0; i++) {
		n = read(g->out_fd[s], buf, sizeof buf);
		if (n > 0) {
			ring_append(&g->out[s], buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		stream_close(p, g, s, done); /* end of file; EIO: a pty whose slave closed */
	}
	if (g->out[s].size != before)
		wake_readers(p, g, s, done);
}

static void leader_exited(struct procs *p, struct prog *g, struct waiter **done)
{
	siginfo_t si;

	memset(&si, 0, sizeof si);
	/* WNOWAIT: it stays a zombie, so its pid (our process group id) stays ours */
	if (waitid(P_PID, (id_t)g->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid != g->pid)
		return;
	g->leader_gone = 1;
	g->ended = clk_wall();
	g->gone_ms = clk_mono_ms();
	if (si.si_code == CLD_EXITED) {
		g->code = si.si_status;
		g->sig = 0;
	} else {
		g->code = -1;
		g->sig = si.si_status;
	}
	epoll_ctl(p->ep, EPOLL_CTL_DEL, g->pidfd, NULL);
	close(g->pidfd);
	g->pidfd = -1;
	fail_stdin(p, g, EPIPE, done);
	pio_close_stdin(p, g);
	for (int s = 0; s < 2; s++)
		stream_read(p, g, s, 1 << 20, done); /* all it wrote is in the pipe by now */
	check_finished(p, g, done);             /* (they may have closed before) */
	if (!g->finished) {
		g->in_grace = 1;
		p->ngrace++;
	}
	pthread_cond_broadcast(&p->changed);
}

/* ---- stdin ---- */

void pio_arm_stdin(struct procs *p, struct prog *g)
{
	int want = g->inq && g->in_fd >= 0;
	struct epoll_event ev = {0};

	if (want == g->in_armed)
		return;
	if (g->pty) {
		if (g->out_fd[0] < 0)
			return;
		ev.events = EPOLLIN | (want ? EPOLLOUT : 0);
		ev.data.ptr = &g->s_out[0];
		epoll_ctl(p->ep, EPOLL_CTL_MOD, g->out_fd[0], &ev);
	} else {
		ev.events = EPOLLOUT;
		ev.data.ptr = &g->s_in;
		epoll_ctl(p->ep, want ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, g->in_fd, &ev);
	}
	g->in_armed = want;
}

void pio_write_stdin(struct procs *p, struct prog *g, struct waiter **done)
{
	struct waiter *w;
	const char *d;
	size_t n;
	ssize_t r;

	while ((w = g->inq)) {
		if (g->in_fd < 0 || g->in_closed) {
			fail_stdin(p, g, EPIPE, done);
			return;
		}
		if (w->eof && !g->pty) { /* close it, after everything before */
			pio_complete(p, w, done);
			pio_close_stdin(p, g);
			fail_stdin(p, g, EPIPE, done);
			return;
		}
		d = w->eof ? &g->veof : w->data + w->done;
		n = w->eof ? 1 : w->len - w->done;
		r = n ? write(g->in_fd, d, n) : 0;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			break;
		if (r < 0) {
			int err = errno;
			if (!g->pty)
				pio_close_stdin(p, g);
			g->in_closed = 1;
			fail_stdin(p, g, err == EIO ? EPIPE : err, done);
			return;
		}
		if (w->eof) {
			pio_complete(p, w, done);
			continue;
		}
		w->done += (size_t)r;
		if (w->done < w->len)
			continue;
		pio_written_reply(svc_later_reply(w->later), w->len);
		pio_complete(p, w, done);
	}
	pio_arm_stdin(p, g);
}

/* ---- registration and the thread ---- */

int pio_register(struct procs *p, struct prog *g)
{
	struct epoll_event ev = {.events = EPOLLIN};

	g->s_pid = (struct src){g, SRC_PID};
	g->s_out[0] = (struct src){g, g->pty ? SRC_PTY : SRC_OUT};
	g->s_out[1] = (struct src){g, SRC_ERR};
	g->s_in = (struct src){g, SRC_IN};
	ev.data.ptr = &g->s_pid;
	if (epoll_ctl(p->ep, EPOLL_CTL_ADD, g->pidfd, &ev) < 0)
		return -errno;
	for (int s = 0; s < 2; s++) {
		if (g->out_fd[s] < 0)
			continue;
		ev.data.ptr = &g->s_out[s];
		if (epoll_ctl(p->ep, EPOLL_CTL_ADD, g->out_fd[s], &ev) < 0)
			return -errno;
	}
	return 0;
}

static void handle(struct procs *p, struct src *src, unsigned events, struct waiter **done)
{
	struct prog *g = src->g;

	switch (src->what) {
	case SRC_PID:
		if (g->pidfd >= 0)
			leader_exited(p, g, done);
		break;
	case SRC_OUT:
	case SRC_ERR:
		stream_read(p, g, src->what == SRC_ERR, READS_PER_EVENT, done);
		break;
	case SRC_PTY:
		if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			stream_read(p, g, 0, READS_PER_EVENT, done);
		if ((events & EPOLLOUT) && g->in_fd >= 0)
			pio_write_stdin(p, g, done);
		break;
	case SRC_IN:
		pio_write_stdin(p, g, done);
		break;
	}
}

/* Deadlines that have come, and programs whose grace is over. */
static int expire(struct procs *p, struct waiter **done)
{
	uint64_t now = clk_mono_ms(), next = 0;
	struct waiter *w;

	while ((w = p->timed) && w->deadline <= now) {
		if (w->kind == W_OUT)
			pio_out_reply(w->prog, w->stream, w->offset, w->max, svc_later_reply(w->later));
		else
			pio_exit_reply(w->prog, svc_later_reply(w->later));
		pio_complete(p, w, done);
	}
	if (p->timed)
		next = p->timed->deadline;
	if (p->ngrace)
		for (struct prog *g = p->progs; g; g = g->next) {
			if (!g->in_grace)
				continue;
			if (now >= g->gone_ms + PROCS_GRACE_MS) {
				/* what is left belongs to processes the program left behind */
				for (int s = 0; s < 2; s++) {
					stream_read(p, g, s, 1 << 20, done);
					stream_close(p, g, s, done);
				}
				check_finished(p, g, done);
			} else if (!next || g->gone_ms + PROCS_GRACE_MS < next) {
				next = g->gone_ms + PROCS_GRACE_MS;
			}
		}
	return !next ? -1 : next <= now ? 0 : (int)(next - now);
}

void pio_answer_all(struct procs *p, struct waiter **done)
{
	for (struct prog *g = p->progs; g; g = g->next) {
		while (g->waiters) {
			struct waiter *w = g->waiters;
			if (w->kind == W_OUT)
				pio_out_reply(g, w->stream, w->offset, w->max, svc_later_reply(w->later));
			else if (g->finished)
				pio_exit_reply(g, svc_later_reply(w->later));
			else
				svc_reply_errno(svc_later_reply(w->later), EAGAIN, "stopping",
				                "the agent is shutting down");
			pio_complete(p, w, done);
		}
		fail_stdin(p, g, EPIPE, done);
	}
}

void *pio_main(void *arg)
{
	struct procs *p = arg;
	struct epoll_event ev[64];
	struct waiter *done;
	uint64_t drain;
	int n, timeout;

	pthread_mutex_lock(&p->lock);
	done = NULL;
	timeout = expire(p, &done);
	pthread_mutex_unlock(&p->lock);
	while (!atomic_load(&p->io_stop)) {
		n = epoll_wait(p->ep, ev, 64, timeout);
		if (n < 0 && errno != EINTR)
			break;
		done = NULL;
		pthread_mutex_lock(&p->lock);
		for (int i = 0; i < n; i++) {
			if (!ev[i].data.ptr) {
				if (read(p->wake, &drain, sizeof drain) < 0)
					drain = 0;
				continue;
			}
			handle(p, ev[i].data.ptr, ev[i].events, &done);
		}
		timeout = expire(p, &done);
		pthread_mutex_unlock(&p->lock);
		pio_flush(done);
	}
	return NULL;
}
