/*
 * evq.c - see evq.h.
 */
#include "core/evq.h"
#include "core/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct evq_sub {
	struct evq_hub *hub;  /* protected by evq_lock; NULL once the hub closed */
	struct evq_sub *next; /* protected by evq_lock */
	evq_wake_fn wake;
	void *arg;
	uid_t viewer;
	pthread_mutex_t lock;
	struct buf q;    /* protected by lock: unread bytes are q.data[off..len) */
	size_t off;      /* protected by lock */
	size_t dropped;  /* protected by lock */
	int eof;         /* protected by lock */
	int slot;        /* the viewer's budget slot, fixed at subscribe */
	size_t held;     /* protected by lock: bytes charged to the budget */
};

static pthread_mutex_t evq_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * Unread bytes are charged to the viewer's uid: one user's idle readers
 * hold at most EVQ_MAX_USER_QUEUED in all, whatever their number; past it
 * their records are dropped (each reader later learns how many). Lock
 * order: a subscriber's lock, then budget.lock.
 */
#define BUDGET_SLOTS 64
static struct {
	pthread_mutex_t lock;
	struct {
		uid_t uid;
		size_t bytes;
		int subs;
	} v[BUDGET_SLOTS]; /* protected by lock; subs == 0: free (the last slot is shared) */
} budget = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int budget_slot_locked(uid_t uid)
{
	int free_slot = -1;
	for (int i = 0; i < BUDGET_SLOTS - 1; i++) {
		if (budget.v[i].subs && budget.v[i].uid == uid)
			return i;
		if (!budget.v[i].subs && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0)
		return BUDGET_SLOTS - 1; /* many users at once: they share one budget */
	budget.v[free_slot].uid = uid;
	budget.v[free_slot].bytes = 0;
	return free_slot;
}

/* Charge n more bytes (or release, n < 0) to uid; 0, or -ENOSPC past its budget. */
static int budget_charge(int slot, long n)
{
	int r = 0;
	pthread_mutex_lock(&budget.lock);
	if (n > 0 && budget.v[slot].bytes + (size_t)n > EVQ_MAX_USER_QUEUED)
		r = -ENOSPC;
	else
		budget.v[slot].bytes = (size_t)((long)budget.v[slot].bytes + n);
	pthread_mutex_unlock(&budget.lock);
	return r;
}

size_t evq_user_queued(uid_t uid)
{
	size_t n = 0;
	pthread_mutex_lock(&budget.lock);
	for (int i = 0; i < BUDGET_SLOTS; i++)
		if (budget.v[i].subs && budget.v[i].uid == uid)
			n = budget.v[i].bytes;
	pthread_mutex_unlock(&budget.lock);
	return n;
}

void evq_hub_init(struct evq_hub *h)
{
	h->subs = NULL;
	h->closed = 0;
}

static void sub_compact(struct evq_sub *s)
{
	if (s->off == 0)
		return;
	memmove(s->q.data, s->q.data + s->off, s->q.len - s->off);
	s->q.len -= s->off;
	s->off = 0;
}

static void sub_push(struct evq_sub *s, const char *line, size_t n)
{
	pthread_mutex_lock(&s->lock);
	if (s->q.len - s->off + n + 1 > EVQ_MAX_QUEUED || budget_charge(s->slot, (long)n + 1) < 0) {
		s->dropped++;
	} else {
		if (s->off > s->q.len / 2)
			sub_compact(s);
		buf_append(&s->q, line, n);
		buf_append(&s->q, "\n", 1);
		s->held += n + 1;
	}
	pthread_mutex_unlock(&s->lock);
}

void evq_publish_as(struct evq_hub *h, const char *line, uid_t owner)
{
	size_t n = strlen(line);
	pthread_mutex_lock(&evq_lock);
	for (struct evq_sub *s = h->subs; s; s = s->next) {
		if (owner != EVQ_PUBLIC && s->viewer != 0 && s->viewer != owner)
			continue;
		sub_push(s, line, n);
		if (s->wake)
			s->wake(s->arg);
	}
	pthread_mutex_unlock(&evq_lock);
}

void evq_hub_close(struct evq_hub *h)
{
	pthread_mutex_lock(&evq_lock);
	h->closed = 1;
	struct evq_sub *s = h->subs;
	h->subs = NULL;
	while (s) {
		struct evq_sub *next = s->next;
		pthread_mutex_lock(&s->lock);
		s->eof = 1;
		pthread_mutex_unlock(&s->lock);
		s->hub = NULL;
		s->next = NULL;
		if (s->wake)
			s->wake(s->arg);
		s = next;
	}
	pthread_mutex_unlock(&evq_lock);
}

struct evq_sub *evq_subscribe(struct evq_hub *h, evq_wake_fn wake, void *arg, uid_t viewer)
{
	struct evq_sub *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	s->wake = wake;
	s->arg = arg;
	s->viewer = viewer;
	pthread_mutex_lock(&budget.lock);
	s->slot = budget_slot_locked(viewer);
	budget.v[s->slot].subs++;
	pthread_mutex_unlock(&budget.lock);
	pthread_mutex_lock(&evq_lock);
	if (h->closed) {
		s->eof = 1;
	} else {
		s->hub = h;
		s->next = h->subs;
		h->subs = s;
	}
	pthread_mutex_unlock(&evq_lock);
	return s;
}

void evq_unsubscribe(struct evq_sub *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&evq_lock);
	if (s->hub) {
		struct evq_sub **pp = &s->hub->subs;
		while (*pp && *pp != s)
			pp = &(*pp)->next;
		if (*pp)
			*pp = s->next;
		s->hub = NULL;
	}
	pthread_mutex_unlock(&evq_lock);
	pthread_mutex_lock(&budget.lock);
	budget.v[s->slot].bytes -= s->held;
	budget.v[s->slot].subs--;
	pthread_mutex_unlock(&budget.lock);
	pthread_mutex_destroy(&s->lock);
	buf_free(&s->q);
	free(s);
}

ssize_t evq_take(struct evq_sub *s, char *dst, size_t max)
{
	ssize_t ret;
	pthread_mutex_lock(&s->lock);
	if (s->dropped && s->q.len == s->off) {
		char rec[80];
		int n = snprintf(rec, sizeof rec, "{\"type\":\"overflow\",\"dropped\":%zu}\n", s->dropped);
		buf_append(&s->q, rec, (size_t)n);
		s->dropped = 0;
	}
	size_t avail = s->q.len - s->off;
	if (avail == 0) {
		ret = s->eof ? 0 : -EAGAIN;
		goto out_unlock;
	}
	if (avail > max)
		avail = max;
	memcpy(dst, s->q.data + s->off, avail);
	s->off += avail;
	size_t back = avail < s->held ? avail : s->held; /* overflow records were free */
	s->held -= back;
	budget_charge(s->slot, -(long)back);
	if (s->off == s->q.len)
		s->off = s->q.len = 0;
	ret = (ssize_t)avail;
out_unlock:
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int evq_readable(struct evq_sub *s)
{
	pthread_mutex_lock(&s->lock);
	int r = s->eof || s->dropped || s->q.len > s->off;
	pthread_mutex_unlock(&s->lock);
	return r;
}
