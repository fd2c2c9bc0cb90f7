/*
 * sess.h - the registry and state machine of sessions.
 *
 *	sess_init(&opts);                       once, before the mount
 *	sess_create("s1", &conf, &s, err, n);   mkdir / .ctl create: registers, starts
 *	s = sess_get("s1"); ... sess_put(s);    lookups take a reference
 *	sess_wait_ready(s, intr, req);          desktop operations wait, bounded
 *	sess_destroy("s1");                     rmdir: unregisters, stops, frees
 *	sess_shutdown();                        unmount / SIGTERM: destroys all
 *
 * Each session has one lifecycle thread: it runs the provider's start, then
 * attaches the agent client and watches health every SESS_HEALTH_MS until
 * asked to stop. Lifecycle operations (stop/start/restart/destroy) are
 * serialised by s->op_lock; state fields by s->lock. Lock order:
 * registry lock -> s->op_lock -> s->lock. Never call out (HTTP, waitpid
 * loops, provider code) with s->lock held.
 *
 * Desktop operations (capture, observe, actions, ctl) are in sess_ops.c.
 */
#ifndef DESKFS_SESS_H
#define DESKFS_SESS_H

#include <pthread.h>
#include <stdint.h>
#include <limits.h>
#include <sys/types.h>

#include "core/evq.h"
#include "core/host.h"
#include "core/proc.h"
#include "core/settings.h"
#include "core/util.h"
#include "common/derr.h"

#define SESS_HEALTH_MS 100
#define SESS_PROBE_MS 1000        /* the agent's /health, from the lifecycle thread */
#define SESS_MAX_WAITERS 32       /* server threads waiting on one session */
#define SESS_MAX_USER_WAITERS 64  /* ... on the sessions of one user */
#define SESS_MAX_PROCS HOST_MAX_PROCS

enum sess_status { SESS_STARTING, SESS_READY, SESS_FAILED, SESS_STOPPING, SESS_STOPPED };


struct sess_opts {
	char statedir[PATH_MAX];  /* this mount's state directory */
	char mountpoint[PATH_MAX]; /* where the tree is mounted (absolute) */
	char agent_path[PATH_MAX];
	struct sess_conf defaults;
	int max_sessions;
	int max_user_sessions; /* per owner uid; root is bounded by max_sessions only */
	int keep; /* clean unmount leaves sessions running, for the next daemon */
};

struct prov_ops;
struct cJSON;
struct agentc;

/* A session: opaque outside core/ (see core/sess_int.h for its fields). */
struct sess;

/* Interrupt check for bounded waits: returns nonzero when the caller gave up. */
typedef int (*sess_intr_fn)(void *arg);

/* Makes/checks and locks the state directory; -errno with err in words. */
int sess_init(const struct sess_opts *opts, char *err, size_t errlen);
int sess_lockfd(void);
const struct sess_opts *sess_options(void);
void sess_shutdown(void);
struct evq_hub *sess_global_events(void);


int sess_create(const char *name, const struct sess_conf *conf, uid_t owner, gid_t group,
		struct sess **out, struct derr *e);
/* A fork: the session starts from the checkpoint directory origin (core/ckpt.c). */
int sess_create_from(const char *name, const struct sess_conf *conf, const char *origin,
		     uid_t owner, gid_t group, struct sess **out, struct derr *e);
/* What fs may know of a session (immutable after create). */
uint64_t sess_sid(const struct sess *s);
const char *sess_name(const struct sess *s);
uid_t sess_owner(const struct sess *s);
gid_t sess_group(const struct sess *s);
double sess_created_at(const struct sess *s);
const char *sess_artdir(const struct sess *s);
struct evq_hub *sess_events(struct sess *s);
/* May uid see and use s? (its owner, or root) */
int sess_may_access(const struct sess *s, uid_t uid);
int sess_destroy(const char *name);
struct sess *sess_get(const char *name);
struct sess *sess_get_sid(uint64_t sid);
void sess_put(struct sess *s);
/* Names of live sessions, in creation order; caller frees with sess_names_free. */
int sess_names(char ***names, uint64_t **sids, int *n);
void sess_names_free(char **names, uint64_t *sids, int n);

int sess_start(struct sess *s);
/* Start from a checkpoint directory (a restore: new id, new token); -EBUSY if it runs. */
int sess_start_origin(struct sess *s, const char *origin);
void sess_stop(struct sess *s);
int sess_should_stop(struct sess *s);
void sess_set_readiness(struct sess *s, enum sess_readiness r);
void sess_set_display(struct sess *s, const char *display);
/* Record an error: `error` file, events, and (fail=1) status failed. */
void sess_error(struct sess *s, int fail, int err, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* The same from an error value (agentc, providers, parsers). */
void sess_fail(struct sess *s, int fail, const struct derr *e);
int sess_wait_ready(struct sess *s, sess_intr_fn intr, void *arg);
/* A reference to the agent client while the session is ready, else NULL. */
struct agentc *sess_agent(struct sess *s);
/* Count a server thread that will wait on s: -EAGAIN past the bounds. */
int sess_waiter_enter(struct sess *s, struct derr *e);
void sess_waiter_leave(struct sess *s);

/* sess_store.c: the record in the state directory, and re-adoption. */
int sess_persist_locked(struct sess *s);
int sess_persist(struct sess *s);
/* Providers start every process through here (host_spawn): the child runs
 * only once the record names it (s->procs[slot]). */
int sess_spawn(struct sess *s, int slot, const char *role, const char *const argv[],
	       struct proc_opts *o, struct derr *e);
/* Re-adopt what an earlier daemon recorded: live sessions come back, dead ones failed. */
int sess_restore_all(void);
/* Register a session recorded by an earlier daemon (not started). */
struct sess *sess_adopt(const char *name, const struct sess_conf *conf, const char *id,
			double created_at);

const char *sess_status_name(enum sess_status st);
const char *sess_readiness_name(enum sess_readiness r);
/* Publish a JSON object (consumed) on the session's and the global stream. */
void sess_publish(struct sess *s, struct cJSON *ev, int global);

#endif
