/*
 * sess_int.h - the session's fields, for the files of core/ only. fs/ sees sessions
 * through core/sess.h's functions, providers through core/host.h.
 *
 * Concurrency: who owns what, what guards what, what may block
 * ============================================================
 *
 * Threads. libfuse runs up to 256 server threads; each session has one
 * lifecycle thread (start, then health every SESS_HEALTH_MS and an agent
 * probe every SESS_PROBE_MS, until stop_req); the shutdown thread (fs/
 * shutdown.c) runs sess_shutdown on a signal. Providers run on their
 * session's lifecycle thread, except capture/describe (any thread).
 *
 * Locks, in the only order they may be taken:
 *
 *   P.lock (pool.c)        the warm pools; never held across a start, stop
 *                          or claim (a member being claimed is marked instead)
 *   reg.lock (sess_reg.c)  the registry: list, count, next sid, lock fd
 *     -> s->op_lock        start/stop/restart/destroy of one session;
 *                          guards thread, thread_live. Held across joining
 *                          the lifecycle thread and prov->stop (bounded:
 *                          every wait there polls stop_req and has a bound),
 *                          never across an agent request.
 *       -> s->lock         everything else that changes: conf, status,
 *                          readiness, stop_req, failing, display, xauth,
 *                          endpoint, agent, token, error, last_png,
 *                          actions_done, screenshot_source, prov_data, the
 *                          record on disk (written under it). Never held
 *                          across I/O to an agent, a guest, QMP or a child.
 *         -> evq locks     the event hubs (evq.c), then a subscriber's
 *                          lock, then the per-uid budget lock.
 *   waiters.lock (sess.c)   the per-session and per-uid counts of server
 *                          threads waiting on desktops; a leaf.
 *   agentc's lock          its idle handles only; a leaf.
 *   fs: the inode table lock and the handle table lock are leaves; a
 *       handle's lock (parked read, poller) and wlock (the unfinished line)
 *       are never held while calling into core, except evq_take under lock.
 *
 * Ownership.
 *   - A session is reference-counted (refs, atomic): the registry holds one,
 *     every lookup (sess_get) another; the last sess_put frees it.
 *   - The agent client (s->agent) is reference-counted too: a caller takes a
 *     reference under s->lock (sess_agent), lets go of the lock, makes its
 *     request, drops the reference. Stop cancels it (agentc_cancel) so every
 *     request in flight ends at once, then drops the session's reference.
 *   - The process table (procs) belongs to the lifecycle: written by
 *     host_spawn before the child may exec (under s->lock, then recorded),
 *     reaped by prov->stop; readers (session.json, the record) take s->lock.
 *   - prov_data is the provider's; set and cleared on the lifecycle thread
 *     under s->lock; other threads reach it only through host_data_get.
 *
 * What may block, and for how long.
 *   - A server thread waiting on a desktop (sess_wait_ready, an agent
 *     request) counts against SESS_MAX_WAITERS and SESS_MAX_USER_WAITERS
 *     and waits at most ready_timeout + the request's bound (agent_timeout
 *     plus what its own actions ask for); an interrupt or a stop ends it.
 *   - Stream reads never hold a server thread: they are parked in the
 *     handle and answered by the publisher, an interrupt or the end.
 *   - getattr, readdir, status, error, session.json never wait on anything
 *     but a lock from the list above.
 */
#ifndef DESKFS_SESS_INT_H
#define DESKFS_SESS_INT_H

#include "core/sess.h"

struct prov_ops;
struct agentc;
struct agentc_req;
struct agentc_resp;
struct cJSON;

struct sess {
	/* immutable after sess_create */
	uint64_t sid; /* never reused: names inode numbers */
	char name[65];
	char id[37];            /* a new one for every fork and restore: under lock then */
	double created_at;
	char dir[PATH_MAX];     /* state directory of this session */
	char artdir[PATH_MAX];  /* its artifacts/ */
	char token[65];
	const struct prov_ops *prov;
	uid_t owner; /* who made it: with allow_other only they (and root) may use it */
	gid_t group;
	char home[PATH_MAX]; /* local providers: the owner's home (files/), "" otherwise */

	int refs; /* atomic */
	int waiters; /* protected by sess.c's waiters lock */

	pthread_mutex_t op_lock; /* serialises start/stop/restart/destroy */
	pthread_t thread;        /* protected by op_lock */
	int thread_live;         /* protected by op_lock */
	int destroyed;           /* protected by op_lock: no start once set */

	pthread_mutex_t lock;
	pthread_cond_t cond;          /* signalled on every status change */
	struct sess_conf conf;        /* protected by lock */
	enum sess_status status;      /* protected by lock */
	enum sess_readiness readiness;/* protected by lock */
	int stop_req;                 /* protected by lock: lifecycle thread must end */
	int failing;                  /* protected by lock: an error ended this start */
	char display[64];             /* protected by lock */
	char xauth[PATH_MAX];         /* protected by lock: the display's cookie file, if any */
	char agent_sock[PATH_MAX];    /* set by the provider before bridge_listening */
	char agent_url[256];          /* set by the provider before bridge_listening */
	struct agentc *agent;         /* protected by lock; valid while READY */
	struct bulk *bulk;            /* protected by lock: files/'s bulk channel (a VM's
					 bulk.sock), made at first use, freed with s */
	struct buf error;             /* protected by lock: last error JSON, one line */
	uint64_t actions_done;        /* protected by lock */
	char screenshot_source[32];   /* protected by lock: "agent" or "qmp" */
	struct blob *last_png;        /* protected by lock: the agent's last PNG, with its ETag */
	struct cJSON *caps;           /* protected by lock: the agent's capabilities (health) */
	int parked;                   /* atomic: asynchronous agent requests in flight */
	size_t parked_bytes;          /* atomic: bytes of stdin writes they hold */

	struct proc procs[SESS_MAX_PROCS]; /* owned by the lifecycle (op_lock / thread) */
	void *prov_data;                   /* provider's own, freed by its stop */
	int restored; /* adopted from an earlier daemon: the next start re-attaches */
	/* a checkpoint dir the next start resumes from ("" : boot); written under op_lock
	 * while no lifecycle thread runs, read by that thread, cleared when it has started */
	char origin[PATH_MAX];
	int discard; /* atomic: the running machine is thrown away next (a restore): stop fast */

	/* Warm pools (core/pool.c). A member waits hidden (no lookup, no listing) under a
	 * name of the form .pool-XXXXXXXX; a claim renames it (sess_claim), which is the
	 * only time name, dir, artdir, owner and group change: under reg.lock and s->lock,
	 * with the lifecycle paused between two health checks (hold/held). */
	char pool[65]; /* protected by reg.lock and lock (either to read): its template */
	int hold;      /* protected by lock: the lifecycle must pause */
	int held;      /* protected by lock: it has paused */

	struct evq_hub events; /* this session's `events` stream */
};

/* sess_ops.c: one request to the agent, for every port method (desktop, procs, files).
 * Waits for ready (bounded), counts as a waiter, holds no lock across the request;
 * bound_ms 0 is agent_timeout. A failure is recorded in `error` and `events`, except
 * as flags say. */
enum {
	SESS_CALL_NOWAIT = 1,        /* not ready: -EAGAIN at once, nothing recorded */
	SESS_CALL_WAIT_STARTING = 2, /* wait only for a session that is starting; else as NOWAIT */
	SESS_CALL_QUIET = 4,         /* do not record what the agent answered (a file's ENOENT) */
	SESS_CALL_SILENT = 8,        /* record nothing (getattr, readdir) */
};
int sess_agent_call(struct sess *s, const struct agentc_req *rq, long bound_ms, struct buf *out,
		    struct agentc_resp *resp, unsigned flags, sess_intr_fn intr, void *arg);
/* agent_timeout of s, in ms. */
long sess_agent_timeout(struct sess *s);
/* Does the session's agent say it can (health's capabilities)? Unknown: yes. */
int sess_agent_can(struct sess *s, const char *cap);

/* sess.c: the lifecycle, for the registry (sess_reg.c). Callers hold op_lock. */
void sess_lc_state_event(struct sess *s);     /* persist, and publish the state */
enum sess_status sess_lc_request_stop(struct sess *s);
void sess_lc_join(struct sess *s);            /* the thread, then the agent client */
void sess_lc_stop(struct sess *s, enum sess_status final);
/* Pause the lifecycle between two health checks (a claim), bounded; 0 once it waits. */
int sess_lc_hold(struct sess *s, unsigned ms);
void sess_lc_release(struct sess *s);

/* sess_ops.c: the line splitter of every line-command file (ctl, .ctl, procs/ctl). */
int sess_for_each_line(const char *text, size_t len, int (*fn)(char *, int, void *), void *ctx);

#endif
