/*
 * runner.h - worker threads fed by a job queue: where the agent's
 * services do work that may take long (X: a capture, a "wait 60000"),
 * so that the HTTP thread never does.
 *
 *	struct runner *r;
 *	runner_new(&r, "x", 1, 256);      (one thread: jobs run one at a time, in order)
 *	struct my_job { struct runner_job rj; ... } *j = ...;
 *	j->rj.run = my_run;               (on the runner's thread)
 *	j->rj.drop = my_drop;             (instead of run: stopping, or the queue is full)
 *	runner_submit(r, &j->rj);
 *	...
 *	runner_stop(r);                   (drops the queued jobs, waits for the running ones)
 *	runner_free(r);
 *
 * A job belongs to its submitter: the runner only links it (next) while
 * it is queued, and calls exactly one of run or drop, once, after which it
 * never touches the job again. run and drop may free it.
 *
 * A job that pauses (input's "wait 60000") may let others run meanwhile,
 * on its own thread: runner_serve() runs the queued jobs whose flags
 * match, as they arrive, for up to a given time (desk.c lets reads of the
 * screen pass a wait this way).
 *
 * Each service that may block gets a runner of its own (X work has one
 * thread, since one Display serves it; an exec or file service would have
 * its own threads), so a slow job of one never holds up another.
 *
 * Threads: the queue and the counters are guarded by the runner's lock;
 * run and drop are called without it held.
 */
#ifndef DESKFS_RUNNER_H
#define DESKFS_RUNNER_H

struct runner_job {
	unsigned flags; /* the submitter's; runner_serve() picks jobs by them */
	void (*run)(struct runner_job *j);
	/* why: -ESHUTDOWN (the runner is stopping) or -EBUSY (max_queued jobs wait) */
	void (*drop)(struct runner_job *j, int why);
	struct runner_job *next; /* the runner's, while queued */
};

struct runner;

/* threads >= 1; max_queued 0: no bound. 0 or -errno. */
int runner_new(struct runner **out, const char *name, int threads, int max_queued);
/* Queues j: 0; or -ESHUTDOWN / -EBUSY after j->drop has been called (on this thread). */
int runner_submit(struct runner *r, struct runner_job *j);
/* From any thread but the runner's own: no new jobs; queued ones are dropped
 * (-ESHUTDOWN); returns once the running ones have finished and the threads
 * are joined. Idempotent. */
void runner_stop(struct runner *r);
/* From inside a job's run, on a runner thread: runs the queued jobs with
 * (flags & mask) != 0, in order, as they come, until ms milliseconds have
 * passed or the runner stops; other jobs stay queued in their order.
 * before() is called (if not NULL) before the first job it runs, after()
 * after the last. Returns how many it ran. */
int runner_serve(struct runner *r, unsigned mask, int ms, void (*before)(void *),
                 void (*after)(void *), void *cls);
/* Stops it if needed, then frees it. */
void runner_free(struct runner *r);

struct runner_load {
	int queued;         /* jobs waiting */
	int running;        /* jobs being run */
	double busy_ms;     /* how long the oldest running job has run (0 when idle) */
	unsigned long done; /* jobs run so far */
};
void runner_load(struct runner *r, struct runner_load *out);

#endif
