/*
 * bulk.c - the daemon's end of the bulk channel of files/ (see bulk.h and
 * common/bulk_proto.h): large reads and writes of a VM's files, framed
 * requests over a virtio-serial port (its host end the unix socket QEMU
 * listens on), the bytes through a shared memory window (bulk.shm, mapped
 * here once for the channel's life) in slots of 1 MiB, or after the answer
 * when no slot is free (reads only).
 *
 * Threads (the concurrency note). One channel thread per session, started
 * by the first read, owns the socket: it connects, greets (HELLO), sends
 * the requests callers queued, and reads the answers straight into the
 * buffer of the call they belong to. Callers never do I/O: under b->lock
 * they queue a call (its buffer allocated by them), wake the thread
 * (eventfd), and wait on the call's own condition, checking their
 * interrupt every 100 ms. The lock is never held across I/O; a call's
 * buffer is the thread's while the call is SENT, the caller's once DONE.
 * A caller who gives up (interrupt) marks the call abandoned and drops its
 * reference; the thread drops the other. At most BULK_INFLIGHT calls are
 * sent and unanswered, so a stuck guest holds bounded memory. A slot of the
 * window belongs to one call from its taking (under the lock) until the call
 * is freed; its bytes are copied without the lock by that call's caller
 * alone, before the request is queued (write) or after its answer (read).
 *
 * Failures: a socket that will not connect (no QEMU yet, a VMM without the
 * port), a HELLO not answered in time (an agent without the channel), an
 * answer that takes longer than BULK_CALL_MS, or the other end closing
 * (QEMU replaced by a restore, or stopped) end every call with -ENOTCONN:
 * the caller then asks by HTTP, as before. The next call after a lost
 * connection connects again (to the new QEMU: the path stays); after a
 * failed greeting the channel is left alone for a while (BULK_DOWN_MS,
 * doubling up to a minute).
 */
#include "core/bulk.h"
#include "common/bulk_proto.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define BULK_INFLIGHT 8
#define BULK_HELLO_MS 2000 /* the agent looks for a daemon every 800 ms at most */
#define BULK_CALL_MS 15000
#define BULK_DOWN_MS 2000
#define BULK_DOWN_MAX_MS 60000
#define BULK_SLOT (1u << 20) /* a write's room in the window */
#define BULK_SLOTS_MAX 32

enum { CALL_QUEUED, CALL_SENT, CALL_DONE };

struct bulk_call {
	int refs;  /* protected by b->lock: the caller's and the thread's */
	int state; /* protected by b->lock */
	int result;     /* protected by b->lock: 0 or -errno, once DONE */
	int abandoned;  /* protected by b->lock */
	uint64_t id;
	uint64_t sent_ms; /* the thread's */
	char *frame;      /* the request: header and path */
	size_t flen;
	char *data; /* want bytes: the thread's while SENT, the caller's when DONE */
	size_t want, got;
	int slot;         /* a write's part of the window, or -1 */
	uint64_t written; /* a write's answer */
	size_t wlen;      /* a read into the window: the bytes there */
	pthread_cond_t cond;
	struct bulk_call *next; /* protected by b->lock: queue or inflight */
};

struct bulk {
	pthread_mutex_t lock;
	pthread_t thread;
	int started; /* protected by lock */
	int stop;    /* protected by lock */
	int wakefd;  /* eventfd: work queued, or stop */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct bulk_call *queue, **qtail; /* protected by lock: to send, in order */
	struct bulk_call *inflight;       /* protected by lock: sent, not answered */
	int ninflight;                    /* protected by lock */
	uint64_t next_id;                 /* protected by lock */
	uint64_t down_until, down_ms;     /* protected by lock: HTTP only until then */
	pthread_cond_t state;             /* greeted, down, or a slot came free */
	int greeted, want_connect;        /* protected by lock */
	unsigned features;                /* protected by lock: the agent's BULK_F_* */
	char shm_path[PATH_MAX];
	char *shm;                        /* the window, mapped once (writes hold slots of it) */
	size_t shm_size;
	int nslots;                       /* protected by lock */
	unsigned slot_busy, slot_held;    /* protected by lock: in use; lost in a cut connection */
	/* the thread's own */
	int fd;
	struct bulk_ans ans; /* the answer being read */
	size_t ans_got;
	struct bulk_call *cur; /* the call it answers (NULL: its data is dropped) */
	size_t cur_left;       /* data bytes of the answer still to read */
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct bulk *bulk_new(const char *sock_path)
{
	struct bulk *b = calloc(1, sizeof *b);
	if (!b)
		return NULL;
	if (strlen(sock_path) >= sizeof b->path || (b->wakefd = eventfd(0, EFD_CLOEXEC)) < 0) {
		free(b);
		return NULL;
	}
	snprintf(b->path, sizeof b->path, "%s", sock_path);
	snprintf(b->shm_path, sizeof b->shm_path, "%s", sock_path);
	char *slash = strrchr(b->shm_path, '/');
	snprintf(slash ? slash + 1 : b->shm_path,
		 sizeof b->shm_path - (size_t)(slash ? slash + 1 - b->shm_path : 0), "%s",
		 BULK_SHM_NAME);
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->state, NULL);
	b->qtail = &b->queue;
	b->fd = -1;
	b->down_ms = BULK_DOWN_MS;
	return b;
}

static void wake(struct bulk *b)
{
	uint64_t one = 1;
	if (write(b->wakefd, &one, sizeof one) < 0)
		return; /* a full counter wakes it anyway */
}

/* Drop one reference; caller holds b->lock. The last one frees the call's
 * slot of the window (unless a cut connection holds it, call_done_locked). */
static void call_put_locked(struct bulk *b, struct bulk_call *c)
{
	if (--c->refs > 0)
		return;
	if (c->slot >= 0) {
		b->slot_busy &= ~(1u << c->slot);
		pthread_cond_broadcast(&b->state);
	}
	pthread_cond_destroy(&c->cond);
	free(c->frame);
	free(c->data);
	free(c);
}

/* The call is over; caller holds b->lock and has taken it off its list.
 * A slot sent on a connection now cut stays out of use even when the call is
 * freed: the agent may still use it, until it answers the next greeting. */
static void call_done_locked(struct bulk *b, struct bulk_call *c, int result)
{
	if (c->slot >= 0 && result == -ENOTCONN && c->state == CALL_SENT)
		b->slot_held |= 1u << c->slot;
	c->state = CALL_DONE;
	c->result = result;
	pthread_cond_signal(&c->cond);
	call_put_locked(b, c); /* the thread's */
}

/* The connection is gone (or never came): every call ends, the caller asks by HTTP. */
static void channel_down(struct bulk *b, int greeting_failed)
{
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
	b->ans_got = 0;
	b->cur_left = 0;
	pthread_mutex_lock(&b->lock);
	if (b->cur) /* off the lists, half read */
		call_done_locked(b, b->cur, -ENOTCONN);
	b->cur = NULL;
	for (struct bulk_call **l = &b->inflight; l; l = l == &b->inflight ? &b->queue : NULL)
		while (*l) {
			struct bulk_call *c = *l;
			*l = c->next;
			call_done_locked(b, c, -ENOTCONN);
		}
	b->qtail = &b->queue;
	b->ninflight = 0;
	b->greeted = 0;
	pthread_cond_broadcast(&b->state);
	if (greeting_failed) {
		b->down_until = now_ms() + b->down_ms;
		b->down_ms = b->down_ms * 2 > BULK_DOWN_MAX_MS ? BULK_DOWN_MAX_MS : b->down_ms * 2;
	}
	pthread_mutex_unlock(&b->lock);
}

/* Connect and greet: 0, or -errno (the channel is not there). */
static int channel_up(struct bulk *b)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", b->path);
	b->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (b->fd < 0 || connect(b->fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		return -errno;
	uint64_t nonce = now_ms() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)b;
	struct bulk_req hello = {BULK_MAGIC_REQ, BULK_HELLO, nonce, 0, 0, 0, 0};
	if (send(b->fd, &hello, sizeof hello, MSG_NOSIGNAL) != (ssize_t)sizeof hello)
		return -EIO;
	/* everything before the answer to this hello is old: skip it */
	struct bulk_ans a;
	size_t got = 0;
	uint64_t end = now_ms() + BULK_HELLO_MS;
	for (;;) {
		uint64_t now = now_ms();
		struct pollfd p = {b->fd, POLLIN, 0};
		if (now >= end || poll(&p, 1, (int)(end - now)) <= 0)
			return -ETIMEDOUT;
		ssize_t r = read(b->fd, (char *)&a + got, sizeof a - got);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			return -EPIPE;
		got += r > 0 ? (size_t)r : 0;
		while (got == sizeof a && !(a.magic == BULK_MAGIC_ANS && a.id == nonce)) {
			memmove(&a, (char *)&a + 1, sizeof a - 1);
			got--;
		}
		if (got == sizeof a)
			break;
	}
	pthread_mutex_lock(&b->lock);
	b->down_ms = BULK_DOWN_MS;
	b->greeted = 1;
	b->want_connect = 0;
	b->features = (unsigned)a.size;
	b->slot_held = 0; /* the agent answered: it is done with every older request */
	pthread_cond_broadcast(&b->state);
	pthread_mutex_unlock(&b->lock);
	return 0;
}

/* Send what is queued (bounded in flight): 0 or -errno. */
static int send_queued(struct bulk *b)
{
	uint64_t now = now_ms();
	pthread_mutex_lock(&b->lock);
	while (b->queue && b->ninflight < BULK_INFLIGHT) {
		struct bulk_call *c = b->queue;
		if (c->abandoned) { /* nobody waits for it any more */
			b->queue = c->next;
			if (!b->queue)
				b->qtail = &b->queue;
			call_done_locked(b, c, -EINTR);
			continue;
		}
		/* a frame is at most 4 KiB against a socket buffer of hundreds:
		 * it goes whole, or the other end is stuck (then: down) */
		ssize_t w = send(b->fd, c->frame, c->flen, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w != (ssize_t)c->flen) {
			pthread_mutex_unlock(&b->lock);
			return -EIO;
		}
		b->queue = c->next;
		if (!b->queue)
			b->qtail = &b->queue;
		c->state = CALL_SENT;
		c->sent_ms = now;
		c->next = b->inflight;
		b->inflight = c;
		b->ninflight++;
	}
	pthread_mutex_unlock(&b->lock);
	return 0;
}

/* Read what the socket has of answers: 0, or -errno (the stream is broken). */
static int read_answers(struct bulk *b)
{
	char scratch[65536];
	for (;;) {
		ssize_t r;
		if (b->ans_got < sizeof b->ans) {
			r = read(b->fd, (char *)&b->ans + b->ans_got, sizeof b->ans - b->ans_got);
		} else {
			/* the call's buffer is the thread's while SENT: no lock to fill it */
			size_t n = b->cur_left;
			char *dst = b->cur ? b->cur->data + b->cur->got : scratch;
			if (!b->cur && n > sizeof scratch)
				n = sizeof scratch;
			r = n ? read(b->fd, dst, n) : 0;
			if (n == 0)
				r = -2; /* nothing to read: the answer is complete */
		}
		if (r == 0)
			return -EPIPE;
		if (r == -1 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (r == -1)
			return -errno;
		if (r > 0 && b->ans_got < sizeof b->ans) {
			b->ans_got += (size_t)r;
			if (b->ans_got < sizeof b->ans)
				continue;
			if (b->ans.magic != BULK_MAGIC_ANS)
				return -EPROTO;
			/* whose answer? (NULL: a call given up, or from before) */
			pthread_mutex_lock(&b->lock);
			b->cur = NULL;
			for (struct bulk_call **l = &b->inflight; *l; l = &(*l)->next)
				if ((*l)->id == b->ans.id) {
					b->cur = *l;
					*l = b->cur->next;
					b->ninflight--;
					break;
				}
			pthread_mutex_unlock(&b->lock);
			if (b->cur && (b->ans.len > b->cur->want || b->ans.wlen > b->cur->want))
				return -EPROTO;
			b->cur_left = b->ans.len;
			continue;
		}
		if (r > 0) {
			if (b->cur)
				b->cur->got += (size_t)r;
			b->cur_left -= (size_t)r;
			if (b->cur_left)
				continue;
		}
		/* one whole answer */
		if (b->cur) {
			pthread_mutex_lock(&b->lock);
			b->cur->written = b->ans.size;
			b->cur->wlen = b->ans.wlen;
			call_done_locked(b, b->cur, b->ans.err ? -(int)b->ans.err : 0);
			pthread_mutex_unlock(&b->lock);
		}
		b->cur = NULL;
		b->ans_got = 0;
	}
}

/* Is a call in flight past its bound? (The caller holds no lock.) */
static int overdue(struct bulk *b)
{
	uint64_t now = now_ms();
	int late = 0;
	pthread_mutex_lock(&b->lock);
	for (struct bulk_call *c = b->inflight; c && !late; c = c->next)
		late = now - c->sent_ms > BULK_CALL_MS;
	if (b->cur && now - b->cur->sent_ms > BULK_CALL_MS)
		late = 1;
	pthread_mutex_unlock(&b->lock);
	return late;
}

static void *bulk_main(void *arg)
{
	struct bulk *b = arg;
	for (;;) {
		pthread_mutex_lock(&b->lock);
		int stop = b->stop, work = b->queue || b->inflight || b->want_connect;
		pthread_mutex_unlock(&b->lock);
		if (stop)
			break;
		if (b->fd < 0 && work) {
			int rc = channel_up(b);
			if (rc < 0) {
				channel_down(b, 1);
				continue;
			}
		}
		if (b->fd >= 0 && send_queued(b) < 0) {
			channel_down(b, 0);
			continue;
		}
		struct pollfd p[2] = {{b->wakefd, POLLIN, 0}, {b->fd, POLLIN, 0}};
		int n = poll(p, b->fd >= 0 ? 2 : 1, b->fd >= 0 && work ? 500 : -1);
		if (n > 0 && p[0].revents) {
			uint64_t v;
			if (read(b->wakefd, &v, sizeof v) < 0)
				v = 0;
		}
		if (b->fd >= 0 && ((n > 0 && p[1].revents && read_answers(b) < 0) || overdue(b)))
			channel_down(b, 0);
	}
	if (b->fd >= 0)
		channel_down(b, 0);
	return NULL;
}

/* Wait, with b->lock held, until deadline (ms) or a change of b->state; 1 if
 * the caller gave up (intr). */
static int wait_state_locked(struct bulk *b, pthread_cond_t *cond, int (*intr)(void *),
			     void *arg)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 100 * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(cond, &b->lock, &ts);
	return intr && intr(arg);
}

/* A new call for path (frame built, want bytes of answer room); NULL: no memory. */
static struct bulk_call *call_new(uint32_t op, const char *path, size_t plen, long long off,
				  size_t len, size_t want)
{
	struct bulk_call *c = calloc(1, sizeof *c);
	if (!c || !(c->frame = malloc(sizeof(struct bulk_req) + plen)) ||
	    !(c->data = malloc(want + 1))) {
		if (c)
			free(c->frame);
		free(c);
		return NULL;
	}
	pthread_cond_init(&c->cond, NULL);
	c->refs = 2;
	c->want = want;
	c->slot = -1;
	c->flen = sizeof(struct bulk_req) + plen;
	struct bulk_req rq = {BULK_MAGIC_REQ, op,           0, (uint64_t)off, (uint32_t)len,
			      (uint32_t)plen, BULK_NO_WINDOW};
	memcpy(c->frame, &rq, sizeof rq);
	memcpy(c->frame + sizeof rq, path, plen);
	return c;
}

/* Start the thread if it is not running; caller holds b->lock. 0 or -ENOTCONN. */
static int usable_locked(struct bulk *b)
{
	if (b->stop || now_ms() < b->down_until)
		return -ENOTCONN;
	if (!b->started) {
		if (pthread_create(&b->thread, NULL, bulk_main, b) != 0)
			return -ENOTCONN;
		b->started = 1;
	}
	return 0;
}

/* Queue c and wait for its answer; caller holds b->lock. The call's result,
 * or -EINTR (the caller gave up: the call goes on without it). */
static int submit_locked(struct bulk *b, struct bulk_call *c, int (*intr)(void *), void *arg)
{
	c->id = ++b->next_id;
	memcpy(c->frame + offsetof(struct bulk_req, id), &c->id, sizeof c->id);
	*b->qtail = c;
	b->qtail = &c->next;
	wake(b);
	while (c->state != CALL_DONE)
		if (wait_state_locked(b, &c->cond, intr, arg) && c->state != CALL_DONE) {
			c->abandoned = 1;
			return -EINTR;
		}
	return c->result;
}

/* The window, mapped once for the channel's life (slots of it are copied
 * into without the lock); caller holds b->lock. 0 or -ENOTCONN. */
static int window_locked(struct bulk *b)
{
	if (b->shm)
		return 0;
	int fd = open(b->shm_path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0)
		return -ENOTCONN;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= (off_t)BULK_SLOT) {
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (m != MAP_FAILED) {
			b->shm = m;
			b->shm_size = (size_t)st.st_size;
			b->nslots = (int)(st.st_size / BULK_SLOT);
			if (b->nslots > BULK_SLOTS_MAX)
				b->nslots = BULK_SLOTS_MAX;
		}
	}
	close(fd);
	return b->shm ? 0 : -ENOTCONN;
}

/* A free slot of the window, or -1 (none: wait says whether to wait for one,
 * -2 when the caller gave up); caller holds b->lock. */
static int slot_take_locked(struct bulk *b, int wait, int (*intr)(void *), void *arg)
{
	for (;;) {
		for (int i = 0; i < b->nslots; i++)
			if (!((b->slot_busy | b->slot_held) & (1u << i))) {
				b->slot_busy |= 1u << i;
				return i;
			}
		if (!wait || !b->greeted)
			return -1;
		if (wait_state_locked(b, &b->state, intr, arg))
			return -2;
	}
}

/* Does the agent have the window (and is it mapped here)? Caller holds b->lock. */
static int window_ok_locked(struct bulk *b)
{
	return b->greeted && (b->features & BULK_F_WRITE) && window_locked(b) == 0;
}

int bulk_read(struct bulk *b, const char *path, long long off, size_t len, struct buf *out,
	      int (*intr)(void *), void *arg)
{
	size_t plen = strlen(path);
	if (len > BULK_LEN_MAX)
		len = BULK_LEN_MAX;
	if (plen == 0 || plen > BULK_PATH_MAX || off < 0)
		return -ENOTCONN; /* not for this channel: HTTP says what is wrong */
	struct bulk_call *c = call_new(BULK_READ, path, plen, off, len, len);
	if (!c)
		return -ENOMEM;
	pthread_mutex_lock(&b->lock);
	int rc = usable_locked(b);
	/* into a free slot of the window if there is one (no waiting for it) */
	if (rc == 0 && len <= BULK_SLOT && window_ok_locked(b) &&
	    (c->slot = slot_take_locked(b, 0, NULL, NULL)) >= 0) {
		uint64_t shm_off = (uint64_t)c->slot * BULK_SLOT;
		memcpy(c->frame + offsetof(struct bulk_req, shm_off), &shm_off, sizeof shm_off);
	}
	if (rc == 0)
		rc = submit_locked(b, c, intr, arg);
	else
		c->refs = 1; /* never queued: the thread has no reference */
	if (rc == 0 && c->slot >= 0) { /* the slot is ours until the call is freed */
		pthread_mutex_unlock(&b->lock);
		memcpy(c->data, b->shm + (size_t)c->slot * BULK_SLOT, c->wlen);
		pthread_mutex_lock(&b->lock);
		c->got = c->wlen;
	}
	if (rc == 0) {
		buf_free(out);
		out->data = c->data;
		out->len = c->got;
		out->cap = c->want + 1;
		out->data[out->len] = 0;
		c->data = NULL;
	}
	call_put_locked(b, c);
	pthread_mutex_unlock(&b->lock);
	return rc;
}

int bulk_write(struct bulk *b, const char *path, long long off, const void *data, size_t len,
	       size_t *written, int (*intr)(void *), void *arg)
{
	size_t plen = strlen(path);
	*written = 0;
	if (len == 0 || len > BULK_SLOT || plen == 0 || plen > BULK_PATH_MAX || off < 0)
		return -ENOTCONN;
	struct bulk_call *c = call_new(BULK_WRITE, path, plen, off, len, 0);
	if (!c)
		return -ENOMEM;
	c->refs = 1; /* the caller's, until queued */
	pthread_mutex_lock(&b->lock);
	int rc = usable_locked(b);
	/* the agent says at its greeting whether it has the window */
	uint64_t end = now_ms() + BULK_HELLO_MS + 1000;
	while (rc == 0 && !b->greeted) {
		b->want_connect = 1;
		wake(b);
		if (wait_state_locked(b, &b->state, intr, arg))
			rc = -EINTR;
		else if (now_ms() > end || now_ms() < b->down_until || b->stop)
			rc = -ENOTCONN;
	}
	if (rc == 0 && !window_ok_locked(b))
		rc = -ENOTCONN;
	/* a free slot (writes in flight are few: FUSE's threads) */
	int slot = rc == 0 ? slot_take_locked(b, 1, intr, arg) : -1;
	if (rc == 0 && slot < 0)
		rc = slot == -2 ? -EINTR : -ENOTCONN;
	if (rc == 0) {
		c->slot = slot; /* freed with the call */
		pthread_mutex_unlock(&b->lock);
		memcpy(b->shm + (size_t)slot * BULK_SLOT, data, len); /* the slot is ours */
		pthread_mutex_lock(&b->lock);
		uint64_t shm_off = (uint64_t)slot * BULK_SLOT;
		memcpy(c->frame + offsetof(struct bulk_req, shm_off), &shm_off, sizeof shm_off);
		c->refs = 2;
		rc = submit_locked(b, c, intr, arg);
		if (rc == 0)
			*written = c->written > len ? len : (size_t)c->written;
	}
	call_put_locked(b, c);
	pthread_mutex_unlock(&b->lock);
	return rc;
}

void bulk_free(struct bulk *b)
{
	if (!b)
		return;
	pthread_mutex_lock(&b->lock);
	int started = b->started;
	b->stop = 1;
	pthread_mutex_unlock(&b->lock);
	wake(b);
	if (started)
		pthread_join(b->thread, NULL);
	if (b->shm)
		munmap(b->shm, b->shm_size);
	close(b->wakefd);
	pthread_cond_destroy(&b->state);
	pthread_mutex_destroy(&b->lock);
	free(b);
}
