/*
 * runner.c - a job queue (FIFO) and the threads that run it.
 *
 * Each thread takes the oldest job, runs it without the lock, and goes
 * back for the next (a job may also run others from inside itself:
 * runner_serve); stopping takes the whole queue away at once (its
 * jobs are dropped), wakes the idle threads and joins them all once their
 * current job is over. Threads are named "deskfs-NAME" (see top -H).
 *
 * See runner.h for usage.
 */
#include "agent/runner.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"

struct runner {
	char name[16];
	pthread_mutex_t lock;
	pthread_cond_t wake;
	/* protected by lock: */
	struct runner_job *head, *tail;
	int queued, running, stopping;
	unsigned long done;
	double *started; /* per thread: CLOCK_MONOTONIC ms its job began, 0 idle */
	/* set up by runner_new, joined by runner_stop (the owner's thread): */
	int nthreads, max_queued, joined;
	pthread_t *threads;
};

struct worker_arg {
	struct runner *r;
	int index;
};

static void *worker(void *p)
{
	struct worker_arg *a = p;
	struct runner *r = a->r;
	int i = a->index;
	struct runner_job *j;

	free(a);
	pthread_mutex_lock(&r->lock);
	for (;;) {
		while (!r->head && !r->stopping)
			pthread_cond_wait(&r->wake, &r->lock);
		j = r->head;
		if (!j)
			break; /* stopping, and runner_stop took the queue */
		r->head = j->next;
		if (!r->head)
			r->tail = NULL;
		r->queued--;
		r->running++;
		r->started[i] = clk_mono_msf();
		pthread_mutex_unlock(&r->lock);
		j->next = NULL;
		j->run(j); /* may free j */
		pthread_mutex_lock(&r->lock);
		r->started[i] = 0;
		r->running--;
		r->done++;
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

int runner_new(struct runner **out, const char *name, int threads, int max_queued)
{
	struct runner *r;
	pthread_condattr_t ca;
	char tname[16];
	int rc = 0;

	if (threads < 1)
		return -EINVAL;
	r = calloc(1, sizeof *r);
	if (!r)
		return -ENOMEM;
	snprintf(r->name, sizeof r->name, "%s", name);
	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* runner_serve's timed waits */
	pthread_cond_init(&r->wake, &ca);
	pthread_condattr_destroy(&ca);
	r->max_queued = max_queued;
	r->threads = calloc((size_t)threads, sizeof *r->threads);
	r->started = calloc((size_t)threads, sizeof *r->started);
	if (!r->threads || !r->started) {
		rc = -ENOMEM;
		goto out_free;
	}
	snprintf(tname, sizeof tname, "deskfs-%.8s", name);
	for (; r->nthreads < threads; r->nthreads++) {
		struct worker_arg *a = malloc(sizeof *a);
		if (!a) {
			rc = -ENOMEM;
			break;
		}
		*a = (struct worker_arg){r, r->nthreads};
		rc = -pthread_create(&r->threads[r->nthreads], NULL, worker, a);
		if (rc) {
			free(a);
			break;
		}
		pthread_setname_np(r->threads[r->nthreads], tname);
	}
	if (rc) {
		runner_stop(r); /* joins the threads started so far */
		goto out_free;
	}
	*out = r;
	return 0;

out_free:
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	free(r->threads);
	free(r->started);
	free(r);
	return rc;
}

int runner_submit(struct runner *r, struct runner_job *j)
{
	int why = 0;

	j->next = NULL;
	pthread_mutex_lock(&r->lock);
	if (r->stopping)
		why = -ESHUTDOWN;
	else if (r->max_queued > 0 && r->queued >= r->max_queued)
		why = -EBUSY;
	if (!why) {
		if (r->tail)
			r->tail->next = j;
		else
			r->head = j;
		r->tail = j;
		r->queued++;
		/* all: an idle worker, and a job waiting in runner_serve for this kind */
		pthread_cond_broadcast(&r->wake);
	}
	pthread_mutex_unlock(&r->lock);
	if (why)
		j->drop(j, why);
	return why;
}

void runner_stop(struct runner *r)
{
	struct runner_job *j, *next;

	if (!r || r->joined)
		return;
	pthread_mutex_lock(&r->lock);
	r->stopping = 1;
	j = r->head;
	r->head = r->tail = NULL;
	r->queued = 0;
	pthread_cond_broadcast(&r->wake);
	pthread_mutex_unlock(&r->lock);
	for (; j; j = next) {
		next = j->next;
		j->next = NULL;
		j->drop(j, -ESHUTDOWN);
	}
	for (int i = 0; i < r->nthreads; i++)
		pthread_join(r->threads[i], NULL);
	r->joined = 1;
}

void runner_free(struct runner *r)
{
	if (!r)
		return;
	runner_stop(r);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	free(r->threads);
	free(r->started);
	free(r);
}

/* Unlinks and returns the first queued job matching mask, or NULL. Locked. */
static struct runner_job *take_matching(struct runner *r, unsigned mask)
{
	struct runner_job **pp, *prev = NULL;

	for (pp = &r->head; *pp; prev = *pp, pp = &(*pp)->next) {
		struct runner_job *j = *pp;
		if (!(j->flags & mask))
			continue;
		*pp = j->next;
		if (r->tail == j)
			r->tail = prev;
		r->queued--;
		j->next = NULL;
		return j;
	}
	return NULL;
}

int runner_serve(struct runner *r, unsigned mask, int ms, void (*before)(void *),
                 void (*after)(void *), void *cls)
{
	struct timespec until, now;
	struct runner_job *j;
	int n = 0;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&r->lock);
	while (!r->stopping) {
		clock_gettime(CLOCK_MONOTONIC, &now); /* a stream of jobs must not stretch ms */
		if (now.tv_sec > until.tv_sec ||
		    (now.tv_sec == until.tv_sec && now.tv_nsec >= until.tv_nsec))
			break;
		j = take_matching(r, mask);
		if (!j) {
			if (pthread_cond_timedwait(&r->wake, &r->lock, &until) == ETIMEDOUT)
				break;
			continue;
		}
		pthread_mutex_unlock(&r->lock);
		if (n++ == 0 && before)
			before(cls);
		j->run(j); /* may free j */
		pthread_mutex_lock(&r->lock);
		r->done++;
	}
	pthread_mutex_unlock(&r->lock);
	if (n && after)
		after(cls);
	return n;
}

void runner_load(struct runner *r, struct runner_load *out)
{
	double now = clk_mono_msf(), oldest = 0;

	pthread_mutex_lock(&r->lock);
	out->queued = r->queued;
	out->running = r->running;
	out->done = r->done;
	for (int i = 0; i < r->nthreads; i++)
		if (r->started[i] > 0 && (oldest == 0 || r->started[i] < oldest))
			oldest = r->started[i];
	pthread_mutex_unlock(&r->lock);
	out->busy_ms = oldest > 0 ? now - oldest : 0;
}
