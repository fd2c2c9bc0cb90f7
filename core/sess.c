/*
 * sess.c - each session's lifecycle: its state, errors and events, its thread
 * (start, agent attach, health), start/stop, and the waits on it. The registry
 * is sess_reg.c. See sess_int.h for the locking rules.
 */
#include "core/sess.h"
#include "core/bulk.h"
#include "core/sess_int.h"
#include "core/agentc.h"
#include "core/ckpt.h"
#include "core/home.h"
#include "core/pool.h"
#include "core/statedir.h"
#include "common/derr.h"
#include "core/prov_ops.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const status_names[] = {"starting", "ready", "failed", "stopping", "stopped"};
static const char *const readiness_names[] = {"booting",         "desktop_ready",
					      "bridge_listening", "bridge_attached",
					      "runtime_ready",   "failed"};

const char *sess_status_name(enum sess_status st)
{
	return status_names[st];
}

const char *sess_readiness_name(enum sess_readiness r)
{
	return readiness_names[r];
}

/* ---- events ---- */

void sess_publish(struct sess *s, cJSON *ev, int global)
{
	char ts[40];
	util_iso8601(util_now(), ts, sizeof ts);
	if (!cJSON_GetObjectItem(ev, "session"))
		cJSON_AddStringToObject(ev, "session", s->name);
	cJSON_AddStringToObject(ev, "ts", ts);
	char *line = cJSON_PrintUnformatted(ev);
	if (line) {
		evq_publish_as(&s->events, line, s->owner);
		if (global)
			evq_publish_as(sess_global_events(), line, s->owner);
		free(line);
	}
	cJSON_Delete(ev);
}

void sess_lc_state_event(struct sess *s)
{
	cJSON *ev = cJSON_CreateObject();
	pthread_mutex_lock(&s->lock);
	cJSON_AddStringToObject(ev, "type", "state");
	cJSON_AddStringToObject(ev, "status", status_names[s->status]);
	cJSON_AddStringToObject(ev, "readiness", readiness_names[s->readiness]);
	sess_persist_locked(s);
	pthread_mutex_unlock(&s->lock);
	sess_publish(s, ev, 1);
}

static void set_status(struct sess *s, enum sess_status st)
{
	pthread_mutex_lock(&s->lock);
	int changed = s->status != st;
	s->status = st;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	if (changed)
		sess_lc_state_event(s);
}

void sess_set_readiness(struct sess *s, enum sess_readiness r)
{
	pthread_mutex_lock(&s->lock);
	/* readiness only moves forward within one start */
	int changed = r > s->readiness && s->readiness != RD_FAILED;
	if (changed)
		s->readiness = r;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	if (changed)
		sess_lc_state_event(s);
}

void sess_set_display(struct sess *s, const char *display)
{
	pthread_mutex_lock(&s->lock);
	snprintf(s->display, sizeof s->display, "%s", display);
	pthread_mutex_unlock(&s->lock);
}

static const char *errno_category(int err, int *retryable)
{
	*retryable = 0;
	switch (err) {
	case EINVAL:
	case E2BIG:
		return "input";
	case EAGAIN:
	case EBUSY:
		*retryable = 1;
		return "not_ready";
	case ETIMEDOUT:
		*retryable = 1;
		return "timeout";
	case ENOTCONN:
	case EACCES:
		return "agent";
	default:
		return "provider";
	}
}

static void mark_failed(struct sess *s)
{
	pthread_mutex_lock(&s->lock);
	s->readiness = RD_FAILED;
	pthread_mutex_unlock(&s->lock);
	set_status(s, SESS_FAILED);
}

/*
 * The edge where an error becomes words on disk and on the streams. With
 * fail, the session is failing from now on (host_failed says so), and
 * failed once mark_failed() runs: the lifecycle stops the provider in
 * between, so diagnostics are on disk before anyone reads `failed`.
 */
static void record_error(struct sess *s, int fail, const struct derr *e)
{
	int err = derr_errno(e, EIO);
	int retryable;
	const char *category = errno_category(err, &retryable);
	char ts[40];
	util_iso8601(util_now(), ts, sizeof ts);

	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "code", e->code[0] ? e->code : "error");
	cJSON_AddStringToObject(j, "message", e->msg);
	cJSON_AddBoolToObject(j, "retryable", retryable);
	cJSON_AddStringToObject(j, "category", category);
	cJSON *d = cJSON_AddObjectToObject(j, "details");
	cJSON_AddStringToObject(d, "errno", strerrorname_np(err) ? strerrorname_np(err) : "EIO");
	cJSON_AddStringToObject(j, "ts", ts);

	pthread_mutex_lock(&s->lock);
	if (fail)
		s->failing = 1;
	cJSON_AddStringToObject(d, "status", status_names[fail ? SESS_FAILED : s->status]);
	char *line = cJSON_PrintUnformatted(j);
	buf_reset(&s->error);
	if (line) {
		buf_append(&s->error, line, strlen(line));
		buf_append(&s->error, "\n", 1);
	}
	free(line);
	pthread_mutex_unlock(&s->lock);

	cJSON *ev = cJSON_Duplicate(j, 1);
	cJSON_AddStringToObject(ev, "type", "error");
	cJSON_Delete(j);
	sess_publish(s, ev, 0);
}

void sess_fail(struct sess *s, int fail, const struct derr *e)
{
	record_error(s, fail, e);
	if (fail)
		mark_failed(s);
}

void sess_error(struct sess *s, int fail, int err, const char *code, const char *fmt, ...)
{
	struct derr e = DERR_INIT;
	va_list ap;
	e.err = err;
	snprintf(e.code, sizeof e.code, "%s", code);
	va_start(ap, fmt);
	vsnprintf(e.msg, sizeof e.msg, fmt, ap);
	va_end(ap);
	sess_fail(s, fail, &e);
}

/* ---- lifecycle ---- */

int sess_should_stop(struct sess *s)
{
	pthread_mutex_lock(&s->lock);
	int r = s->stop_req;
	pthread_mutex_unlock(&s->lock);
	return r;
}

struct agentc *sess_agent(struct sess *s)
{
	pthread_mutex_lock(&s->lock);
	struct agentc *c = s->status == SESS_READY ? agentc_ref(s->agent) : NULL;
	pthread_mutex_unlock(&s->lock);
	return c;
}

/*
 * Server threads waiting on desktops, counted per session and per user:
 * past either bound a caller gets EAGAIN at once, so one user's pile of
 * readers on a slow session never takes the threads everyone else needs.
 */
#define USER_SLOTS 64
static struct {
	pthread_mutex_t lock;
	struct {
		uid_t uid;
		int n;
	} v[USER_SLOTS]; /* protected by lock; n == 0: free */
} waiters = {.lock = PTHREAD_MUTEX_INITIALIZER};

int sess_waiter_enter(struct sess *s, struct derr *e)
{
	int r = 0, slot = -1;
	pthread_mutex_lock(&waiters.lock);
	for (int i = 0; i < USER_SLOTS; i++) {
		if (waiters.v[i].n && waiters.v[i].uid == s->owner) {
			slot = i;
			break;
		}
		if (!waiters.v[i].n && slot < 0)
			slot = i;
	}
	if (slot < 0 || waiters.v[slot].n >= SESS_MAX_USER_WAITERS) {
		r = derr_set(e, EAGAIN, "busy",
			     "%d requests of uid %u already wait on desktops (limit %d); retry when "
			     "some have ended",
			     slot < 0 ? 0 : waiters.v[slot].n, (unsigned)s->owner,
			     SESS_MAX_USER_WAITERS);
	} else if (s->waiters >= SESS_MAX_WAITERS) {
		r = derr_set(e, EAGAIN, "busy",
			     "%d requests already wait on session '%s' (limit %d); retry when some "
			     "have ended",
			     s->waiters, s->name, SESS_MAX_WAITERS);
	} else {
		waiters.v[slot].uid = s->owner;
		waiters.v[slot].n++;
		s->waiters++;
	}
	pthread_mutex_unlock(&waiters.lock);
	return r;
}

void sess_waiter_leave(struct sess *s)
{
	pthread_mutex_lock(&waiters.lock);
	for (int i = 0; i < USER_SLOTS; i++)
		if (waiters.v[i].n && waiters.v[i].uid == s->owner) {
			waiters.v[i].n--;
			break;
		}
	s->waiters--;
	pthread_mutex_unlock(&waiters.lock);
}

/* bridge_listening -> bridge_attached -> runtime_ready: the daemon's side. */
static int attach_agent(struct sess *s, struct derr *e)
{
	struct agentc *c = agentc_new(s->agent_sock[0] ? s->agent_sock : NULL, s->agent_url, s->token);
	struct buf out = BUF_INIT;
	int r = -ENOMEM;
	if (!c)
		goto out;
	uint64_t end = util_mono_ms() + 10000;
	do {
		struct agentc_call call = {.timeout_ms = 1000};
		r = agentc_request(c, "GET", "/v1/health", NULL, 0, &call, &out, e);
		if (r == 0 || r == -EACCES || sess_should_stop(s))
			break;
		/* an agent (or desktop) that died meanwhile is not waited for: the
		 * provider's health says so now, and reaps it */
		struct derr he = DERR_INIT;
		if (s->prov->health(s, &he) < 0) {
			*e = he;
			r = -derr_errno(&he, EIO);
			break;
		}
		util_sleep_ms(20);
	} while (util_mono_ms() < end);
	if (r < 0)
		goto out;
	sess_set_readiness(s, RD_BRIDGE_ATTACHED);
	/* what this agent can do (procs, files, pty, ...): session.json says it */
	cJSON *health = cJSON_ParseWithLength(out.data, out.len);
	cJSON *caps = cJSON_DetachItemFromObject(health, "capabilities");
	cJSON_Delete(health);
	if (caps && !cJSON_IsArray(caps)) {
		cJSON_Delete(caps);
		caps = NULL;
	}
	pthread_mutex_lock(&s->lock);
	s->agent = c;
	c = NULL;
	cJSON_Delete(s->caps);
	s->caps = caps;
	pthread_mutex_unlock(&s->lock);
	sess_set_readiness(s, RD_RUNTIME_READY);
out:
	agentc_unref(c);
	buf_free(&out);
	return r;
}

static int wait_stop_req(struct sess *s, unsigned ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	ts.tv_sec += ms / 1000 + ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&s->lock);
	if (!s->stop_req)
		pthread_cond_timedwait(&s->cond, &s->lock, &ts);
	/* a claim renames the session: it waits here, between two health checks */
	while (s->hold && !s->stop_req) {
		s->held = 1;
		pthread_cond_broadcast(&s->cond);
		pthread_cond_wait(&s->cond, &s->lock);
	}
	s->held = 0;
	int r = s->stop_req;
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* Take the agent client away from the session (cancelled: nothing waits on it). */
static void sess_agent_detach(struct sess *s)
{
	pthread_mutex_lock(&s->lock);
	struct agentc *c = s->agent;
	struct blob *png = s->last_png;
	s->agent = NULL;
	s->last_png = NULL;
	pthread_mutex_unlock(&s->lock);
	agentc_cancel(c);
	agentc_unref(c);
	blob_unref(png);
}

/*
 * The agent answers /health at once whatever else it does (its HTTP side
 * never waits on the desktop), so one that does not answer within
 * agent_timeout is hung: the session fails, and its callers learn at once.
 */
static int probe_agent(struct sess *s, struct derr *e)
{
	struct agentc *c = sess_agent(s);
	if (!c)
		return 0;
	pthread_mutex_lock(&s->lock);
	long bound = s->conf.agent_timeout_ms > 0 ? s->conf.agent_timeout_ms : 10000;
	pthread_mutex_unlock(&s->lock);
	struct buf out = BUF_INIT;
	struct agentc_call call = {.timeout_ms = bound};
	int r = agentc_request(c, "GET", "/v1/health", NULL, 0, &call, &out, e);
	agentc_unref(c);
	buf_free(&out);
	if (r != -ETIMEDOUT)
		return 0; /* a stop under way, or a dead agent: the provider's health says how */
	char why[sizeof e->msg];
	snprintf(why, sizeof why, "%s", e->msg);
	return derr_set(e, ETIMEDOUT, "agent_hung",
			"the agent did not answer its health check within %ld ms (%s)", bound, why);
}

static void *lifecycle_main(void *arg)
{
	struct sess *s = arg;
	struct derr e = DERR_INIT;
	int r;
	if (s->restored) /* processes of an earlier daemon: adopt, do not start */
		r = s->prov->reattach ? s->prov->reattach(s, &e) : -ENOTSUP;
	else
		r = s->prov->start(s, &e);
	s->restored = 0;
	if (r == 0 && s->origin[0] && !sess_should_stop(s)) /* a fork or restore */
		r = ckpt_rekey(s, &e);
	if (r == 0 && !sess_should_stop(s))
		r = attach_agent(s, &e);
	if (sess_should_stop(s))
		return NULL;
	if (r < 0) {
		if (!e.code[0])
			derr_set(&e, -r, "start_failed", "the provider could not start: %s",
				 strerror(-r));
		if (!e.err)
			e.err = -r;
		record_error(s, 1, &e);
		s->prov->stop(s);
		mark_failed(s);
		return NULL;
	}
	set_status(s, SESS_READY);
	uint64_t next_probe = util_mono_ms() + SESS_PROBE_MS;
	while (!wait_stop_req(s, SESS_HEALTH_MS)) {
		r = s->prov->health(s, &e);
		if (r == 0 && util_mono_ms() >= next_probe) {
			r = probe_agent(s, &e);
			next_probe = util_mono_ms() + SESS_PROBE_MS;
		}
		if (r < 0 && !sess_should_stop(s)) {
			if (!e.err)
				e.err = -r;
			record_error(s, 1, &e);
			sess_agent_detach(s);
			s->prov->stop(s);
			mark_failed(s);
			break;
		}
	}
	return NULL;
}


static int sess_new_token(struct sess *s);

/* Caller holds op_lock. */
static int start_locked(struct sess *s)
{
	pthread_mutex_lock(&s->lock);
	s->stop_req = 0;
	s->failing = 0;
	s->readiness = RD_BOOTING;
	if (!s->restored) {
		s->display[0] = '\0';
		s->xauth[0] = '\0';
		s->agent_sock[0] = s->agent_url[0] = '\0';
	}
	pthread_mutex_unlock(&s->lock);
	if (!s->restored) {
		int r = sess_new_token(s);
		if (r < 0) {
			sess_error(s, 1, -r, "state_dir", "cannot write the session's token: %s",
				   strerror(-r));
			return r;
		}
	}
	set_status(s, SESS_STARTING);
	if (pthread_create(&s->thread, NULL, lifecycle_main, s) != 0) {
		sess_error(s, 1, EAGAIN, "start_failed", "cannot create the session thread");
		return -EAGAIN;
	}
	s->thread_live = 1;
	return 0;
}

/* Caller holds op_lock. */
/* Ask the lifecycle thread to end; returns the status the session had. */
enum sess_status sess_lc_request_stop(struct sess *s)
{
	pthread_mutex_lock(&s->lock);
	s->stop_req = 1;
	enum sess_status was = s->status;
	pthread_cond_broadcast(&s->cond);
	/* every request in flight ends now: a stop never waits behind the desktop */
	agentc_cancel(s->agent);
	pthread_mutex_unlock(&s->lock);
	return was;
}

/* Wait for the lifecycle thread, then let go of the agent client. Caller holds op_lock. */
void sess_lc_join(struct sess *s)
{
	if (s->thread_live) {
		pthread_join(s->thread, NULL);
		s->thread_live = 0;
	}
	sess_agent_detach(s);
}

/* Caller holds op_lock. */
void sess_lc_stop(struct sess *s, enum sess_status final)
{
	enum sess_status was = sess_lc_request_stop(s);
	if (was != SESS_FAILED)
		set_status(s, SESS_STOPPING);
	sess_lc_join(s);
	s->prov->stop(s);
	if (was != SESS_FAILED || final == SESS_STOPPED)
		set_status(s, final);
}

int sess_start(struct sess *s)
{
	return sess_start_origin(s, NULL);
}

int sess_start_origin(struct sess *s, const char *origin)
{
	pthread_mutex_lock(&s->op_lock);
	int r = 0;
	if (s->destroyed) { /* a thread must never outlive the registry's reference */
		pthread_mutex_unlock(&s->op_lock);
		sess_error(s, 0, ENOENT, "destroyed", "session '%s' is being destroyed", s->name);
		return -ENOENT;
	}
	pthread_mutex_lock(&s->lock);
	int running = s->status == SESS_STARTING || s->status == SESS_READY;
	pthread_mutex_unlock(&s->lock);
	if (!running) {
		if (s->thread_live)
			sess_lc_stop(s, SESS_STOPPED);
		/* no lifecycle thread runs now: origin is ours to set */
		snprintf(s->origin, sizeof s->origin, "%s", origin ? origin : "");
		if (origin && *origin) { /* a restore is a new machine: a new id */
			pthread_mutex_lock(&s->lock);
			util_uuid4(s->id);
			pthread_mutex_unlock(&s->lock);
		}
		r = start_locked(s);
	} else if (origin && *origin) {
		r = -EBUSY; /* started meanwhile by someone else */
	}
	pthread_mutex_unlock(&s->op_lock);
	return r;
}

void sess_stop(struct sess *s)
{
	pthread_mutex_lock(&s->op_lock);
	sess_lc_stop(s, SESS_STOPPED);
	pthread_mutex_unlock(&s->op_lock);
}

int sess_wait_ready(struct sess *s, sess_intr_fn intr, void *arg)
{
	uint64_t end;
	int r = 0;
	pthread_mutex_lock(&s->lock);
	end = util_mono_ms() + (uint64_t)s->conf.ready_timeout_ms;
	while (s->status == SESS_STARTING) {
		if (util_mono_ms() >= end) {
			r = -ETIMEDOUT;
			break;
		}
		if (intr && intr(arg)) {
			r = -EINTR;
			break;
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->cond, &s->lock, &ts);
	}
	enum sess_status st = s->status;
	int secs = s->conf.ready_timeout_ms / 1000;
	pthread_mutex_unlock(&s->lock);
	if (r == -EINTR)
		return r;
	if (r == -ETIMEDOUT) {
		sess_error(s, 0, ETIMEDOUT, "not_ready",
			   "session '%s' did not become ready within %d s (readiness: see session.json)",
			   s->name, secs);
		return r;
	}
	switch (st) {
	case SESS_READY:
		return 0;
	case SESS_FAILED:
		/* the error file already says why it failed; keep that record */
		return -EIO;
	default:
		sess_error(s, 0, EAGAIN, "session_stopped",
			   "session '%s' is %s; write 'start' to its ctl file", s->name,
			   status_names[st]);
		return -EAGAIN;
	}
}

/* A fresh token for each start: a restart never reuses the last one. */
static int sess_new_token(struct sess *s)
{
	char path[PATH_MAX + 16], tok[sizeof s->token], line[80];
	int r = util_random_hex(tok, 32);
	if (r < 0)
		return r;
	snprintf(path, sizeof path, "%s/token", s->dir);
	int n = snprintf(line, sizeof line, "%s\n", tok);
	if ((r = util_write_file(path, line, (size_t)n, 0600)) < 0)
		return r;
	pthread_mutex_lock(&s->lock);
	memcpy(s->token, tok, sizeof s->token);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/* Pause the lifecycle between two health checks, bounded; 0 once it waits. */
int sess_lc_hold(struct sess *s, unsigned ms)
{
	uint64_t end = util_mono_ms() + ms;
	pthread_mutex_lock(&s->lock);
	s->hold = 1;
	pthread_cond_broadcast(&s->cond);
	while (!s->held && s->status == SESS_READY && util_mono_ms() < end) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10 * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&s->cond, &s->lock, &ts);
	}
	int r = s->held ? 0 : -EAGAIN;
	pthread_mutex_unlock(&s->lock);
	return r;
}

void sess_lc_release(struct sess *s)
{
	pthread_mutex_lock(&s->lock);
	s->hold = 0;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}
