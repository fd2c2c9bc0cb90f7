/*
 * sess.c - the session registry and each session's lifecycle thread.
 * See sess.h for the locking rules.
 */
#include "core/sess.h"
#include "core/bulk.h"
#include "core/sess_int.h"
#include "core/agentc.h"
#include "core/home.h"
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

struct reg_node {
	struct sess *s;
	struct reg_node *next;
};

static struct {
	pthread_mutex_t lock;
	struct reg_node *head, *tail; /* protected by lock, creation order */
	int count;                    /* protected by lock */
	uint64_t next_sid;            /* protected by lock */
	struct sess_opts opts;        /* immutable after sess_init */
	struct evq_hub events;        /* .events */
	int lockfd;                   /* the state directory's lock, held for life */
} reg = {.lock = PTHREAD_MUTEX_INITIALIZER, .next_sid = 1, .lockfd = -1};

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

const struct sess_opts *sess_options(void)
{
	return &reg.opts;
}

struct evq_hub *sess_global_events(void)
{
	return &reg.events;
}

int sess_init(const struct sess_opts *opts, char *err, size_t errlen)
{
	reg.opts = *opts;
	evq_hub_init(&reg.events);
	/* the daemon's alone: made 0700 or refused, locked, never chmodded */
	int fd = statedir_open(reg.opts.statedir, err, errlen);
	if (fd < 0)
		return fd;
	reg.lockfd = fd;
	/* where local sessions' homes live; without it they cannot be made (said per mkdir) */
	char herr[600];
	if (home_init(reg.opts.statedir, herr, sizeof herr) < 0)
		fprintf(stderr, "deskfs: %s; local sessions cannot be created\n", herr);
	return 0;
}

int sess_lockfd(void)
{
	return reg.lockfd;
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
			evq_publish_as(&reg.events, line, s->owner);
		free(line);
	}
	cJSON_Delete(ev);
}

static void state_event(struct sess *s)
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
		state_event(s);
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
		state_event(s);
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
static enum sess_status request_stop(struct sess *s)
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
static void join_and_detach_agent(struct sess *s)
{
	if (s->thread_live) {
		pthread_join(s->thread, NULL);
		s->thread_live = 0;
	}
	sess_agent_detach(s);
}

/* Caller holds op_lock. */
static void stop_locked(struct sess *s, enum sess_status final)
{
	enum sess_status was = request_stop(s);
	if (was != SESS_FAILED)
		set_status(s, SESS_STOPPING);
	join_and_detach_agent(s);
	s->prov->stop(s);
	if (was != SESS_FAILED || final == SESS_STOPPED)
		set_status(s, final);
}

int sess_start(struct sess *s)
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
			stop_locked(s, SESS_STOPPED);
		r = start_locked(s);
	}
	pthread_mutex_unlock(&s->op_lock);
	return r;
}

void sess_stop(struct sess *s)
{
	pthread_mutex_lock(&s->op_lock);
	stop_locked(s, SESS_STOPPED);
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

/* ---- registry ---- */

static void sess_free(struct sess *s)
{
	bulk_free(s->bulk);
	blob_unref(s->last_png);
	cJSON_Delete(s->caps);
	evq_hub_close(&s->events);
	buf_free(&s->error);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->op_lock);
	pthread_cond_destroy(&s->cond);
	free(s);
}

void sess_put(struct sess *s)
{
	if (s && __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0)
		sess_free(s);
}

static struct sess *find_locked(const char *name, uint64_t sid)
{
	for (struct reg_node *n = reg.head; n; n = n->next)
		if (name ? strcmp(n->s->name, name) == 0 : n->s->sid == sid)
			return n->s;
	return NULL;
}

static struct sess *get_ref(const char *name, uint64_t sid)
{
	pthread_mutex_lock(&reg.lock);
	struct sess *s = find_locked(name, sid);
	if (s)
		__atomic_add_fetch(&s->refs, 1, __ATOMIC_ACQ_REL);
	pthread_mutex_unlock(&reg.lock);
	return s;
}

struct sess *sess_get(const char *name)
{
	return get_ref(name, 0);
}

struct sess *sess_get_sid(uint64_t sid)
{
	return get_ref(NULL, sid);
}

int sess_names(char ***names, uint64_t **sids, int *n)
{
	pthread_mutex_lock(&reg.lock);
	int cnt = reg.count, i = 0;
	*names = calloc((size_t)cnt + 1, sizeof **names);
	*sids = calloc((size_t)cnt + 1, sizeof **sids);
	if (!*names || !*sids) {
		pthread_mutex_unlock(&reg.lock);
		free(*names);
		free(*sids);
		return -ENOMEM;
	}
	for (struct reg_node *p = reg.head; p; p = p->next, i++) {
		(*names)[i] = strdup(p->s->name);
		(*sids)[i] = p->s->sid;
	}
	pthread_mutex_unlock(&reg.lock);
	*n = cnt;
	return 0;
}

void sess_names_free(char **names, uint64_t *sids, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(sids);
}

/* Append s to the registry, name it an sid, take the caller's reference. */
static void register_locked(struct sess *s, struct reg_node *node)
{
	s->sid = reg.next_sid++;
	node->s = s;
	if (reg.tail)
		reg.tail->next = node;
	else
		reg.head = node;
	reg.tail = node;
	reg.count++;
	__atomic_add_fetch(&s->refs, 1, __ATOMIC_ACQ_REL);
}

static struct sess *sess_alloc(const char *name, const struct sess_conf *conf)
{
	struct sess *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	snprintf(s->name, sizeof s->name, "%s", name);
	util_uuid4(s->id);
	s->created_at = util_now();
	s->conf = *conf;
	s->prov = prov_lookup(conf->provider);
	s->refs = 1; /* the registry's */
	s->status = SESS_STOPPED; /* sess_start moves it to starting */
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->op_lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	evq_hub_init(&s->events);
	snprintf(s->screenshot_source, sizeof s->screenshot_source, "agent");
	snprintf(s->dir, sizeof s->dir, "%s/%s", reg.opts.statedir, name);
	snprintf(s->artdir, sizeof s->artdir, "%s/artifacts", s->dir);
	return s;
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

/*
 * The session's directory in the state directory. A leftover of an earlier
 * session of the same name (it carries our marker) is replaced; anything
 * else there was not made by us and is left alone: the create fails.
 */
static int sess_prepare_dir(struct sess *s, struct derr *e)
{
	struct stat st;
	int r = 0;
	if (lstat(s->dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode) || !statedir_is_marked(s->dir)) {
			derr_set(e, 0, "state_dir",
				 "%s exists and was not made by deskfs; not touching it",
				 s->dir);
			return -EEXIST;
		}
		if ((r = util_rm_rf(s->dir)) < 0) {
			derr_set(e, 0, "state_dir", "cannot remove the leftover %s: %s", s->dir,
				 strerror(-r));
			return r;
		}
	}
	if (mkdir(s->dir, 0700) < 0 || mkdir(s->artdir, 0700) < 0)
		r = -errno;
	if (r == 0)
		r = statedir_mark(s->dir);
	if (r < 0) {
		derr_set(e, 0, "state_dir", "cannot prepare %s: %s", s->dir, strerror(-r));
		util_rm_rf(s->dir);
	}
	return r;
}

uint64_t sess_sid(const struct sess *s)
{
	return s->sid;
}

const char *sess_name(const struct sess *s)
{
	return s->name;
}

uid_t sess_owner(const struct sess *s)
{
	return s->owner;
}

gid_t sess_group(const struct sess *s)
{
	return s->group;
}

double sess_created_at(const struct sess *s)
{
	return s->created_at;
}

const char *sess_artdir(const struct sess *s)
{
	return s->artdir;
}

struct evq_hub *sess_events(struct sess *s)
{
	return &s->events;
}

int sess_may_access(const struct sess *s, uid_t uid)
{
	return uid == 0 || uid == s->owner;
}

int sess_create(const char *name, const struct sess_conf *conf, uid_t owner, gid_t group,
		struct sess **out, struct derr *e)
{
	if (!util_name_valid(name)) {
		derr_set(e, 0, "invalid_name",
			 "'%.80s' is not a session name ([A-Za-z0-9][A-Za-z0-9._-]{0,63})",
			 name);
		return -EINVAL;
	}
	if (!prov_lookup(conf->provider)) {
		derr_set(e, 0, "invalid_provider", "unknown provider '%s'", conf->provider);
		return -EINVAL;
	}
	struct reg_node *node = calloc(1, sizeof *node);
	struct sess *s = sess_alloc(name, conf);
	int r = 0;
	if (!node || !s) {
		r = -ENOMEM;
		goto out_free;
	}
	s->owner = owner;
	s->group = group;
	pthread_mutex_lock(&reg.lock);
	if (find_locked(name, 0)) {
		pthread_mutex_unlock(&reg.lock);
		derr_set(e, 0, "exists", "session '%s' already exists", name);
		r = -EEXIST;
		goto out_free;
	}
	int mine = 0;
	for (struct reg_node *n = reg.head; n; n = n->next)
		mine += n->s->owner == owner;
	if (owner != 0 && reg.opts.max_user_sessions > 0 && mine >= reg.opts.max_user_sessions) {
		pthread_mutex_unlock(&reg.lock);
		derr_set(e, 0, "too_many_sessions",
			 "uid %u has %d sessions, the most one user may have "
			 "(max_user_sessions); rmdir one first",
			 (unsigned)owner, mine);
		r = -EAGAIN;
		goto out_free;
	}
	if (reg.opts.max_sessions > 0 && reg.count >= reg.opts.max_sessions) {
		pthread_mutex_unlock(&reg.lock);
		derr_set(e, 0, "too_many_sessions", "the mount allows %d sessions (max_sessions)",
			 reg.opts.max_sessions);
		r = -EAGAIN;
		goto out_free;
	}
	r = sess_prepare_dir(s, e);
	if (r == 0 && s->prov->local &&
	    (r = home_make(name, owner, group, s->home, sizeof s->home, e)) < 0)
		util_rm_rf(s->dir);
	if (r == 0 && (r = sess_persist(s)) < 0) {
		derr_set(e, 0, "state_dir", "cannot record session '%s' in %s: %s", name,
			 reg.opts.statedir, strerror(-r));
		util_rm_rf(s->dir);
		if (s->home[0])
			home_remove(name, e);
	}
	if (r < 0) {
		pthread_mutex_unlock(&reg.lock);
		goto out_free;
	}
	register_locked(s, node);
	pthread_mutex_unlock(&reg.lock);

	cJSON *ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "type", "created");
	cJSON_AddStringToObject(ev, "provider", conf->provider);
	cJSON_AddStringToObject(ev, "id", s->id);
	sess_publish(s, ev, 1);
	sess_start(s);
	if (out)
		*out = s;
	else
		sess_put(s);
	return 0;
out_free:
	if (!e->code[0])
		derr_set(e, -r, "internal", "%s", strerror(-r));
	else if (!e->err)
		e->err = -r;
	free(node);
	if (s)
		sess_free(s);
	return r;
}

struct sess *sess_adopt(const char *name, const struct sess_conf *conf, const char *id,
			double created_at)
{
	struct reg_node *node = calloc(1, sizeof *node);
	struct sess *s = node && prov_lookup(conf->provider) ? sess_alloc(name, conf) : NULL;
	if (!s) {
		free(node);
		return NULL;
	}
	snprintf(s->id, sizeof s->id, "%s", id);
	s->created_at = created_at;
	s->restored = 1;
	pthread_mutex_lock(&reg.lock);
	if (find_locked(name, 0)) {
		pthread_mutex_unlock(&reg.lock);
		free(node);
		sess_free(s);
		return NULL;
	}
	register_locked(s, node);
	pthread_mutex_unlock(&reg.lock);
	return s;
}

/* Take name (and only the session `only`, when given) out of the registry. */
static struct sess *unregister(const char *name, struct sess *only)
{
	struct sess *s = NULL;
	pthread_mutex_lock(&reg.lock);
	struct reg_node **pp = &reg.head, *prev = NULL;
	while (*pp && (only ? (*pp)->s != only : strcmp((*pp)->s->name, name) != 0)) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (*pp) {
		struct reg_node *n = *pp;
		s = n->s;
		*pp = n->next;
		if (reg.tail == n)
			reg.tail = prev;
		reg.count--;
		free(n);
	}
	pthread_mutex_unlock(&reg.lock);
	return s;
}

/*
 * rmdir: stop everything, then remove the session's directory, then forget
 * it. A directory that cannot be removed keeps the session registered
 * (stopped, with the reason in `error`) and fails the rmdir: nothing is
 * forgotten that is still on disk.
 */
int sess_destroy(const char *name)
{
	struct sess *s = sess_get(name);
	if (!s)
		return -ENOENT;
	pthread_mutex_lock(&s->op_lock);
	s->destroyed = 1; /* no start from now on: no thread outlives the session */
	stop_locked(s, SESS_STOPPED);
	pthread_mutex_unlock(&s->op_lock);
	/* its programs ended with its agent: now its home (the owner's files) goes */
	struct derr he = DERR_INIT;
	if (s->home[0] && home_remove(s->name, &he) < 0) {
		sess_fail(s, 0, &he);
		sess_put(s);
		return -EBUSY;
	}
	int r = util_rm_rf(s->dir);
	if (r < 0) {
		sess_error(s, 0, -r, "state_dir",
			   "cannot remove %s: %s; the session stays until it can be removed", s->dir,
			   strerror(-r));
		sess_put(s);
		return r == -EBUSY || r == -ENOTEMPTY ? -EBUSY : -EIO;
	}
	struct sess *gone = unregister(name, s);
	sess_put(s);
	if (!gone) /* someone else destroyed it meanwhile */
		return 0;
	cJSON *ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "type", "destroyed");
	cJSON_AddStringToObject(ev, "id", s->id);
	sess_publish(s, ev, 1);
	evq_hub_close(&s->events);
	sess_put(s); /* the registry's reference */
	return 0;
}

/* -o keep: let go of a session but leave its processes and record. */
static void sess_detach(const char *name)
{
	struct sess *s = unregister(name, NULL);
	if (!s)
		return;
	pthread_mutex_lock(&s->op_lock);
	request_stop(s);
	join_and_detach_agent(s); /* its processes keep running: no prov->stop */
	pthread_mutex_lock(&s->lock);
	sess_persist_locked(s);
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_unlock(&s->op_lock);
	evq_hub_close(&s->events);
	sess_put(s);
}

void sess_shutdown(void)
{
	char **names;
	uint64_t *sids;
	int n;
	if (sess_names(&names, &sids, &n) < 0)
		return;
	/* every stream reader gets its EOF first, while the mount still answers */
	for (int i = 0; i < n; i++) {
		struct sess *s = sess_get_sid(sids[i]);
		if (s)
			evq_hub_close(&s->events);
		sess_put(s);
	}
	evq_hub_close(&reg.events);
	for (int i = 0; i < n; i++) {
		if (reg.opts.keep)
			sess_detach(names[i]);
		else
			sess_destroy(names[i]);
	}
	sess_names_free(names, sids, n);
	evq_hub_close(&reg.events);
	home_fini();
}
