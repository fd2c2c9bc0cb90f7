/*
 * watch.c - one watcher thread per session someone is looking at.
 *
 *	struct view_watch *w = view_watch_get("s1");
 *	view_watch_state(w, gen, 20000, &json);     blocks until the screen or state changes
 *
 * How a change is noticed, without blind polling of full captures: the
 * thread follows NAME/events with poll(2). A receipt or a state change
 * wakes it at once, and for a second after anything happened it looks at
 * the screen every VIEW_FAST_MS; otherwise every VIEW_SLOW_MS, for changes
 * nobody announced (a clock, a program's output). Each look opens
 * NAME/screenshot.png, which deskfs answers from its unchanged-screen path
 * (the agent's XDamage says nothing changed, the daemon's If-None-Match
 * gets a 304, the same PNG is served): no capture, no encoding. Only bytes
 * that differ from the last frame make a new generation.
 *
 * Threads and locks: w->lock guards every field marked so; the watcher
 * thread is the only writer of the frame and the state, request threads
 * (libmicrohttpd, one per connection) read copies under the lock and wait
 * on w->changed. No lock is held across a read of the mount. watches_lock
 * guards the list of watchers and their refcounts.
 */
#include "view/view.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define VIEW_FAST_MS 15
#define VIEW_SLOW_MS 250
#define VIEW_KEEP_EVENTS 30
#define VIEW_MAX_LINE 65536
#define VIEW_FIRST_FRAME_MS 5000

struct view_watch {
	char name[65];
	int refs;                /* protected by watches_lock */
	int listed;              /* protected by watches_lock: still findable */
	struct view_watch *next; /* protected by watches_lock */
	pthread_t thread;
	uint64_t last_asked; /* atomic: monotonic ms of the last request */
	pthread_mutex_t lock;
	pthread_cond_t changed;
	uint64_t gen;   /* protected by lock */
	int gone;       /* protected by lock: destroyed, or the watcher ended */
	char *png;      /* protected by lock */
	size_t png_len; /* protected by lock */
	char *state;    /* protected by lock: the JSON view_watch_state returns */
	/* the watcher thread's own */
	char status[32];
	char *events[VIEW_KEEP_EVENTS];
	int nevents;
	char *obs;
	char line[VIEW_MAX_LINE];
	size_t line_len;
};

static char mount_dir[4096];
static pthread_mutex_t watches_lock = PTHREAD_MUTEX_INITIALIZER;
static struct view_watch *watches;
static int stopping; /* atomic */

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void deadline_in(struct timespec *until, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, until);
	until->tv_sec += ms / 1000;
	until->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until->tv_nsec >= 1000000000L) {
		until->tv_sec++;
		until->tv_nsec -= 1000000000L;
	}
}

static int valid_name(const char *n)
{
	size_t len = strlen(n);
	if (len == 0 || len > 64)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = n[i];
		int alnum =
		    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return 0;
	}
	return 1;
}

static void path_of(char *out, size_t len, const char *name, const char *file)
{
	snprintf(out, len, "%s/%s/%s", mount_dir, name, file);
}

/* Read a whole file of the mount: 0 and a malloc'ed, NUL-terminated copy, or -errno. */
static int read_all(const char *path, char **out, size_t *outlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	size_t cap = fstat(fd, &st) == 0 && st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
	size_t len = 0;
	char *b = malloc(cap + 1);
	int r = 0;
	if (!b) {
		r = -ENOMEM;
		goto out_close;
	}
	for (;;) {
		if (len == cap) {
			char *nb = realloc(b, cap * 2 + 1);
			if (!nb) {
				r = -ENOMEM;
				goto out_close;
			}
			b = nb;
			cap *= 2;
		}
		ssize_t n = read(fd, b + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out_close;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	b[len] = '\0';
	*out = b;
	*outlen = len;
	b = NULL;
out_close:
	free(b);
	close(fd);
	return r;
}

/* ---- a growing string ---- */
struct sb {
	char *s;
	size_t len, cap;
	int oom;
};

static void sb_add(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		size_t room = b->cap - b->len;
		va_start(ap, fmt);
		int n = b->s ? vsnprintf(b->s + b->len, room, fmt, ap) : -1;
		va_end(ap);
		if (n >= 0 && (size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t want = b->cap * 2 + (n > 0 ? (size_t)n : 0) + 256;
		char *ns = realloc(b->s, want);
		if (!ns) {
			b->oom = 1;
			return;
		}
		b->s = ns;
		b->cap = want;
	}
}

/* ---- the watcher thread ---- */

static void keep_event(struct view_watch *w, const char *line)
{
	if (line[0] != '{')
		return;
	char *copy = strdup(line);
	if (!copy)
		return;
	if (w->nevents == VIEW_KEEP_EVENTS) {
		free(w->events[0]);
		memmove(w->events, w->events + 1, sizeof *w->events * (VIEW_KEEP_EVENTS - 1));
		w->nevents--;
	}
	w->events[w->nevents++] = copy;
}

/* Bytes from NAME/events: complete lines are kept, a partial one waits. */
static void feed_events(struct view_watch *w, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			w->line[w->line_len] = '\0';
			keep_event(w, w->line);
			w->line_len = 0;
		} else if (w->line_len < sizeof w->line - 1) {
			w->line[w->line_len++] = buf[i];
		}
	}
}

/* Rebuild the state JSON from the thread's own fields, publish it, wake waiters. */
static void publish(struct view_watch *w, char *new_png, size_t png_len, int gone)
{
	struct sb b = {0};
	uint64_t gen;
	pthread_mutex_lock(&w->lock);
	gen = w->gen + 1;
	pthread_mutex_unlock(&w->lock);
	sb_add(&b,
	       "{\"session\":\"%s\",\"gen\":%llu,\"status\":\"%s\",\"gone\":%s,\"observation\":%s,"
	       "\"events\":[",
	       w->name, (unsigned long long)gen, w->status, gone ? "true" : "false",
	       w->obs && w->obs[0] == '{' ? w->obs : "null");
	for (int i = 0; i < w->nevents; i++)
		sb_add(&b, "%s%s", i ? "," : "", w->events[i]);
	sb_add(&b, "]}\n");
	pthread_mutex_lock(&w->lock);
	if (!b.oom) {
		free(w->state);
		w->state = b.s;
		b.s = NULL;
	}
	if (new_png) {
		free(w->png);
		w->png = new_png;
		w->png_len = png_len;
	}
	w->gen = gen;
	w->gone |= gone;
	pthread_cond_broadcast(&w->changed);
	pthread_mutex_unlock(&w->lock);
	free(b.s);
}

/* A look at the screen: the new PNG if its bytes differ from the last one. */
static char *look(struct view_watch *w, size_t *len)
{
	char path[4200], *png = NULL;
	path_of(path, sizeof path, w->name, "screenshot.png");
	if (read_all(path, &png, len) < 0)
		return NULL;
	pthread_mutex_lock(&w->lock);
	int same = w->png && w->png_len == *len && memcmp(w->png, png, *len) == 0;
	pthread_mutex_unlock(&w->lock);
	if (same) {
		free(png);
		return NULL;
	}
	return png;
}

static int read_status(struct view_watch *w)
{
	char path[4200], *txt = NULL;
	size_t len;
	path_of(path, sizeof path, w->name, "status");
	int r = read_all(path, &txt, &len);
	if (r < 0)
		return r;
	txt[strcspn(txt, "\n")] = '\0';
	int changed = strcmp(txt, w->status) != 0;
	snprintf(w->status, sizeof w->status, "%s", txt);
	free(txt);
	return changed;
}

static void read_observation(struct view_watch *w)
{
	char path[4200], *obs = NULL;
	size_t len;
	path_of(path, sizeof path, w->name, "observation.json");
	if (read_all(path, &obs, &len) < 0)
		return;
	while (len && (obs[len - 1] == '\n' || obs[len - 1] == ' '))
		obs[--len] = '\0';
	free(w->obs);
	w->obs = obs;
}

static void *watch_main(void *arg)
{
	struct view_watch *w = arg;
	char path[4200], buf[16384];
	path_of(path, sizeof path, w->name, "events");
	int efd = open(path, O_RDONLY | O_CLOEXEC);
	int gone = efd < 0;
	uint64_t fast_until = now_ms() + 1000;
	int first = 1;
	while (!gone && !__atomic_load_n(&stopping, __ATOMIC_ACQUIRE)) {
		uint64_t t = now_ms();
		if (t - __atomic_load_n(&w->last_asked, __ATOMIC_ACQUIRE) > VIEW_IDLE_MS)
			break;
		int changed = first;
		struct pollfd p = {.fd = efd, .events = POLLIN};
		int n = poll(&p, 1, t < fast_until ? VIEW_FAST_MS : VIEW_SLOW_MS);
		if (n > 0) {
			ssize_t got = read(efd, buf, sizeof buf);
			if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN))
				gone = 1; /* the stream ends when the session is destroyed */
			else if (got > 0) {
				feed_events(w, buf, (size_t)got);
				changed = 1;
				fast_until = now_ms() + 1000;
			}
		}
		int st = read_status(w);
		if (st < 0)
			gone = 1;
		changed |= st > 0;
		size_t len = 0;
		/* only a ready desktop is looked at: anything else would wait for it */
		char *png = !gone && strcmp(w->status, "ready") == 0 ? look(w, &len) : NULL;
		if (png) {
			changed = 1;
			fast_until = now_ms() + 1000;
		}
		if (changed && !gone && strcmp(w->status, "ready") == 0)
			read_observation(w);
		if (changed || gone)
			publish(w, png, len, gone);
		first = 0;
	}
	if (efd >= 0)
		close(efd);
	publish(w, NULL, 0, 1); /* waiters wake, and a new request starts a new watcher */
	pthread_mutex_lock(&watches_lock);
	for (struct view_watch **pp = &watches; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	w->listed = 0;
	pthread_mutex_unlock(&watches_lock);
	view_watch_put(w); /* the thread's reference */
	return NULL;
}

/* ---- the API ---- */

int view_watch_init(const char *mount)
{
	if (!realpath(mount, mount_dir))
		return -errno;
	return 0;
}

static void watch_free(struct view_watch *w)
{
	for (int i = 0; i < w->nevents; i++)
		free(w->events[i]);
	free(w->obs);
	free(w->png);
	free(w->state);
	pthread_cond_destroy(&w->changed);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

struct view_watch *view_watch_get(const char *name)
{
	char path[4200];
	struct view_watch *w;
	if (!valid_name(name)) {
		errno = EINVAL;
		return NULL;
	}
	/* the mount decides who may read what: a session we cannot read is not served */
	path_of(path, sizeof path, name, "status");
	if (access(path, R_OK) < 0)
		return NULL;
	pthread_mutex_lock(&watches_lock);
	for (w = watches; w; w = w->next)
		if (w->listed && strcmp(w->name, name) == 0)
			break;
	if (w) {
		w->refs++;
		__atomic_store_n(&w->last_asked, now_ms(), __ATOMIC_RELEASE);
		pthread_mutex_unlock(&watches_lock);
		return w;
	}
	w = calloc(1, sizeof *w);
	if (!w) {
		pthread_mutex_unlock(&watches_lock);
		errno = ENOMEM;
		return NULL;
	}
	snprintf(w->name, sizeof w->name, "%s", name);
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->changed, &ca);
	pthread_condattr_destroy(&ca);
	w->last_asked = now_ms();
	w->refs = 2; /* the caller's and the thread's */
	w->listed = 1;
	if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
		pthread_mutex_unlock(&watches_lock);
		watch_free(w);
		errno = EAGAIN;
		return NULL;
	}
	pthread_detach(w->thread);
	w->next = watches;
	watches = w;
	pthread_mutex_unlock(&watches_lock);
	return w;
}

void view_watch_put(struct view_watch *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&watches_lock);
	int last = --w->refs == 0;
	pthread_mutex_unlock(&watches_lock);
	if (last)
		watch_free(w);
}

int view_watch_state(struct view_watch *w, uint64_t after, int timeout_ms, char **json)
{
	struct timespec until;
	deadline_in(&until, timeout_ms);
	__atomic_store_n(&w->last_asked, now_ms(), __ATOMIC_RELEASE);
	pthread_mutex_lock(&w->lock);
	while ((w->gen <= after || !w->state) && !w->gone &&
	       !__atomic_load_n(&stopping, __ATOMIC_ACQUIRE))
		if (pthread_cond_timedwait(&w->changed, &w->lock, &until) == ETIMEDOUT)
			break;
	*json = w->state ? strdup(w->state)
	                 : strdup("{\"gen\":0,\"status\":\"unknown\",\"gone\":false,"
	                          "\"observation\":null,\"events\":[]}\n");
	pthread_mutex_unlock(&w->lock);
	__atomic_store_n(&w->last_asked, now_ms(), __ATOMIC_RELEASE);
	return *json ? 0 : -ENOMEM;
}

int view_watch_frame(struct view_watch *w, char **png, size_t *len, uint64_t *gen)
{
	int r = 0;
	struct timespec until;
	deadline_in(&until, VIEW_FIRST_FRAME_MS);
	__atomic_store_n(&w->last_asked, now_ms(), __ATOMIC_RELEASE);
	pthread_mutex_lock(&w->lock);
	/* a watcher that has just started: its first look is on its way */
	while (!w->png && !w->gone && w->gen == 0)
		if (pthread_cond_timedwait(&w->changed, &w->lock, &until) == ETIMEDOUT)
			break;
	if (!w->png) {
		r = -EAGAIN;
	} else if (!(*png = malloc(w->png_len))) {
		r = -ENOMEM;
	} else {
		memcpy(*png, w->png, w->png_len);
		*len = w->png_len;
		*gen = w->gen;
	}
	pthread_mutex_unlock(&w->lock);
	return r;
}

void view_watch_shutdown(void)
{
	__atomic_store_n(&stopping, 1, __ATOMIC_RELEASE);
	/* every watcher notices within VIEW_SLOW_MS and takes itself off the list */
	for (int i = 0; i < 200; i++) {
		pthread_mutex_lock(&watches_lock);
		int left = watches != NULL;
		for (struct view_watch *w = watches; w; w = w->next) {
			pthread_mutex_lock(&w->lock);
			pthread_cond_broadcast(&w->changed);
			pthread_mutex_unlock(&w->lock);
		}
		pthread_mutex_unlock(&watches_lock);
		if (!left)
			return;
		usleep(10000);
	}
}
