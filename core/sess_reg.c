/*
 * sess_reg.c - the registry of sessions: create (and a warm pool's claim), adopt,
 * look up, list, destroy, detach, shut down; the state directory's lock. See
 * sess_int.h for the locking rules.
 */
#include "core/bulk.h"
#include "core/pool.h"
#include "core/tmpl.h"
#include "core/sess.h"
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

static struct sess *get_ref(const char *name, uint64_t sid, int members)
{
	pthread_mutex_lock(&reg.lock);
	struct sess *s = find_locked(name, sid);
	if (s && name && s->pool[0] && !members) /* a pool's member has no name yet */
		s = NULL;
	if (s)
		__atomic_add_fetch(&s->refs, 1, __ATOMIC_ACQ_REL);
	pthread_mutex_unlock(&reg.lock);
	return s;
}

struct sess *sess_get(const char *name)
{
	return get_ref(name, 0, 0);
}

struct sess *sess_get_sid(uint64_t sid)
{
	return get_ref(NULL, sid, 0);
}

static int names_of(char ***names, uint64_t **sids, int *n, int members)
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
	for (struct reg_node *p = reg.head; p; p = p->next) {
		if (p->s->pool[0] && !members)
			continue;
		(*names)[i] = strdup(p->s->name);
		(*sids)[i++] = p->s->sid;
	}
	pthread_mutex_unlock(&reg.lock);
	*n = i;
	return 0;
}

int sess_names(char ***names, uint64_t **sids, int *n)
{
	return names_of(names, sids, n, 0);
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

static int create_named(const char *name, const struct sess_conf *conf, uid_t owner,
			gid_t group, const char *pool, const char *origin, struct sess **out,
			struct derr *e);

int sess_create(const char *name, const struct sess_conf *conf, uid_t owner, gid_t group,
		struct sess **out, struct derr *e)
{
	return sess_create_from(name, conf, NULL, owner, group, out, e);
}

int sess_create_from(const char *name, const struct sess_conf *conf, const char *origin,
		     uid_t owner, gid_t group, struct sess **out, struct derr *e)
{
	if (!util_name_valid(name)) {
		derr_set(e, 0, "invalid_name",
			 "'%.80s' is not a session name ([A-Za-z0-9][A-Za-z0-9._-]{0,63})",
			 name);
		return -EINVAL;
	}
	struct sess_conf tc = *conf; /* the template's: it exists, its memory (core/tmpl.h) */
	int r = tmpl_conf_check(&tc, e);
	if (r < 0)
		return r;
	/* a warm pool of this (recipe) template hands over a ready member, renamed;
	 * a saved template's pool is ckpt.c's to ask */
	if (!origin && tc.template[0]) {
		r = pool_claim(tc.template, name, &tc, owner, group, out, e);
		if (r != -ENOENT)
			return r;
	}
	return create_named(name, &tc, owner, group, NULL, origin, out, e);
}
int sess_create_member(const char *tmpl, const struct sess_conf *conf, const char *origin,
		       uid_t owner, gid_t group, struct derr *e)
{
	char name[32], rnd[9];
	int r = util_random_hex(rnd, 4);
	if (r < 0)
		return derr_set(e, -r, "internal", "no randomness for a member's name");
	snprintf(name, sizeof name, SESS_MEMBER_PREFIX "%s", rnd);
	return create_named(name, conf, owner, group, tmpl, origin, NULL, e);
}

int sess_member_name(const char *name)
{
	size_t n = strlen(SESS_MEMBER_PREFIX);
	return strncmp(name, SESS_MEMBER_PREFIX, n) == 0 && strlen(name) == n + 8 &&
	       strspn(name + n, "0123456789abcdef") == 8;
}

/* Register and start a session; pool: the template of a warm pool it waits in, or
 * NULL; origin: the checkpoint it resumes from, or NULL. */
static int create_named(const char *name, const struct sess_conf *conf, uid_t owner,
			gid_t group, const char *pool, const char *origin, struct sess **out,
			struct derr *e)
{
	if (!prov_lookup(conf->provider)) {
		derr_set(e, 0, "invalid_provider", "unknown provider '%s'", conf->provider);
		return -EINVAL;
	}
	struct sess_conf tc = *conf; /* the template's: it exists, its memory (core/tmpl.h) */
	int tr = tmpl_conf_check(&tc, e);
	if (tr < 0)
		return tr;
	conf = &tc;
	struct reg_node *node = calloc(1, sizeof *node);
	struct sess *s = sess_alloc(name, conf);
	int r = 0;
	if (!node || !s) {
		r = -ENOMEM;
		goto out_free;
	}
	s->owner = owner;
	s->group = group;
	if (pool)
		snprintf(s->pool, sizeof s->pool, "%s", pool);
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
	if (origin)
		cJSON_AddStringToObject(ev, "from", origin);
	sess_publish(s, ev, 1);
	sess_start_origin(s, origin);
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
	if (sess_member_name(name)) /* hidden from the start; its record names the pool */
		snprintf(s->pool, sizeof s->pool, "?");
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

/* The members of warm pools (of tmpl, or all), each with a reference. */
int sess_members(const char *tmpl, struct sess ***out, int *n)
{
	pthread_mutex_lock(&reg.lock);
	*out = calloc((size_t)reg.count + 1, sizeof **out);
	*n = 0;
	if (!*out) {
		pthread_mutex_unlock(&reg.lock);
		return -ENOMEM;
	}
	for (struct reg_node *p = reg.head; p; p = p->next)
		if (p->s->pool[0] && (!tmpl || strcmp(p->s->pool, tmpl) == 0)) {
			__atomic_add_fetch(&p->s->refs, 1, __ATOMIC_ACQ_REL);
			(*out)[(*n)++] = p->s;
		}
	pthread_mutex_unlock(&reg.lock);
	return 0;
}


/*
 * A claim: a ready member of a warm pool becomes session NAME of owner. Its state
 * directory is renamed (the record follows), and the provider learns its new paths
 * (prov->renamed) while the lifecycle waits. -EAGAIN: the member is not ready to be
 * handed over (the caller creates a session the usual way).
 */
int sess_claim(struct sess *s, const char *name, uid_t owner, gid_t group, struct derr *e)
{
	char dir[PATH_MAX], artdir[PATH_MAX], old[sizeof s->name];
	int r = sess_lc_hold(s, 2000);
	if (r < 0)
		return derr_set(e, EAGAIN, "pool_busy", "the pool's member was not idle");
	pthread_mutex_lock(&reg.lock);
	int mine = 0;
	for (struct reg_node *n = reg.head; n; n = n->next)
		mine += n->s->owner == owner && n->s != s;
	if (find_locked(name, 0)) {
		r = derr_set(e, EEXIST, "exists", "session '%s' already exists", name);
	} else if (owner != 0 && reg.opts.max_user_sessions > 0 &&
		   mine >= reg.opts.max_user_sessions) {
		r = derr_set(e, EAGAIN, "too_many_sessions",
			     "uid %u has %d sessions, the most one user may have "
			     "(max_user_sessions); rmdir one first",
			     (unsigned)owner, mine);
	} else {
		snprintf(dir, sizeof dir, "%s/%s", reg.opts.statedir, name);
		snprintf(artdir, sizeof artdir, "%s/artifacts", dir);
		struct stat st;
		if (lstat(dir, &st) == 0 && (!S_ISDIR(st.st_mode) || !statedir_is_marked(dir) ||
					     util_rm_rf(dir) < 0))
			r = derr_set(e, EEXIST, "state_dir",
				     "%s exists and cannot be replaced", dir);
		else if (rename(s->dir, dir) < 0)
			r = derr_set(e, errno, "state_dir", "cannot rename %s: %s", s->dir,
				     strerror(errno));
	}
	if (r == 0) {
		pthread_mutex_lock(&s->lock);
		memcpy(old, s->name, sizeof old);
		snprintf(s->name, sizeof s->name, "%s", name);
		memcpy(s->dir, dir, sizeof s->dir);
		memcpy(s->artdir, artdir, sizeof s->artdir);
		s->owner = owner;
		s->group = group;
		s->pool[0] = '\0';
		sess_persist_locked(s);
		pthread_mutex_unlock(&s->lock);
	}
	pthread_mutex_unlock(&reg.lock);
	if (r == 0 && s->prov->renamed)
		s->prov->renamed(s, old);
	sess_lc_release(s);
	if (r == 0) {
		cJSON *ev = cJSON_CreateObject();
		cJSON_AddStringToObject(ev, "type", "created");
		cJSON_AddStringToObject(ev, "provider", s->conf.provider);
		cJSON_AddStringToObject(ev, "id", s->id);
		cJSON_AddBoolToObject(ev, "from_pool", 1);
		sess_publish(s, ev, 1);
		sess_lc_state_event(s);
	}
	return r;
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
	struct sess *s = get_ref(name, 0, 1); /* a pool's members too */
	if (!s)
		return -ENOENT;
	pthread_mutex_lock(&s->op_lock);
	s->destroyed = 1; /* no start from now on: no thread outlives the session */
	sess_lc_stop(s, SESS_STOPPED);
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
	sess_lc_request_stop(s);
	sess_lc_join(s); /* its processes keep running: no prov->stop */
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
	pool_stop(); /* no member starts from now on */
	if (names_of(&names, &sids, &n, 1) < 0)
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
