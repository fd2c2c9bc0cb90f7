/*
 * pool.c - warm pools: N sessions of a template kept ready; a create of that
 * template takes one, renamed, and the pool refills in the background.
 *
 *	$ echo 'pool desktop size=2' > M/.ctl          two ready VMs of template desktop
 *	$ cat M/.pools.json                            ready, warming, claimed, last error
 *	$ echo 'create s1 template=desktop' > M/.ctl   ready at once: a member, renamed s1
 *	$ echo 'pool desktop size=0' > M/.ctl          drains: its members are destroyed
 *
 * Members are sessions like any other (they count against the limits, they are
 * recorded, and a restarted daemon re-adopts them), hidden under names of the
 * form .pool-XXXXXXXX until a claim renames them (sess_claim). The pools
 * themselves (template, size, owner) are kept in STATEDIR/.pools.json.
 *
 * One thread, the keeper, makes the members match the pools: every
 * POOL_TICK_MS, or at once when a pool changes or a member is claimed, it
 * starts what is missing, destroys what is too many (warming ones first),
 * and replaces members that failed (their error becomes the pool's
 * last_error; after a failure it waits POOL_BACKOFF_MS before the next start).
 *
 * Who may: a pool belongs to the uid that set it; only that uid (or root)
 * changes it. Its members are the owner's sessions; a claim makes them the
 * claimer's. A pool of root's may be claimed by anyone, another's only by
 * its owner (or root).
 *
 * Locks: P.lock is taken before the registry's (sess.c) and never held across
 * a session's start, stop or claim: a member being claimed is marked in its
 * pool (claiming) so the keeper leaves it alone.
 */
#include "core/pool.h"
#include "core/ckpt.h"
#include "core/sess.h"
#include "core/sess_int.h"
#include "core/util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POOL_TICK_MS 250
#define POOL_BACKOFF_MS 2000
#define POOL_MAX_SIZE 64
#define POOL_MAX_CLAIMING 8

struct pool {
	char tmpl[65];
	int size;
	uid_t owner;
	gid_t group;
	unsigned long claimed;
	char last_error[300];
	uint64_t retry_at; /* no new member before this (after a failure) */
	uint64_t claiming[POOL_MAX_CLAIMING]; /* sids being handed over */
	struct pool *next;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct pool *head; /* protected by lock */
	int kick, stop;    /* protected by lock */
	pthread_t thread;
	int running;
} P = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

/* Settings a claim may change on a member (timing only); every other one must match. */
static const char *const claim_may_differ[] = {
    "ready_timeout", "agent_timeout", "boot_timeout", "scale",
    "click_gap",     "drag_step",     "keymap_delay", NULL,
};

static int may_differ(const char *name)
{
	for (const char *const *p = claim_may_differ; *p; p++)
		if (strcmp(*p, name) == 0)
			return 1;
	return 0;
}

/* Do the settings of a member fit those a create asked for? */
static int conf_fits(const struct sess_conf *member, const struct sess_conf *want)
{
	char a[300], b[300];
	for (const struct setting *st = settings; st->name; st++) {
		if (!st->persist || may_differ(st->name))
			continue;
		set_format(member, st, a, sizeof a);
		set_format(want, st, b, sizeof b);
		if (strcmp(a, b) != 0)
			return 0;
	}
	return 1;
}

static struct pool *find_locked(const char *tmpl)
{
	for (struct pool *p = P.head; p; p = p->next)
		if (strcmp(p->tmpl, tmpl) == 0)
			return p;
	return NULL;
}

static void kick_locked(void)
{
	P.kick = 1;
	pthread_cond_broadcast(&P.cond);
}

/* ---- the record: STATEDIR/.pools.json ---- */

static void path_of(char *out, size_t len)
{
	snprintf(out, len, "%s/.pools.json", sess_options()->statedir);
}

static int save_locked(void)
{
	char path[PATH_MAX + 16];
	cJSON *j = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(j, "pools");
	for (struct pool *p = P.head; p; p = p->next) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "template", p->tmpl);
		cJSON_AddNumberToObject(o, "size", p->size);
		cJSON_AddNumberToObject(o, "owner", p->owner);
		cJSON_AddNumberToObject(o, "group", p->group);
		cJSON_AddNumberToObject(o, "claimed", (double)p->claimed);
		cJSON_AddItemToArray(arr, o);
	}
	char *txt = cJSON_Print(j);
	cJSON_Delete(j);
	if (!txt)
		return -ENOMEM;
	path_of(path, sizeof path);
	int r = util_write_file(path, txt, strlen(txt), 0600);
	free(txt);
	return r;
}

static void load(void)
{
	char path[PATH_MAX + 16], *txt = NULL;
	size_t len;
	path_of(path, sizeof path);
	if (util_read_file(path, &txt, &len) < 0)
		return;
	cJSON *j = cJSON_ParseWithLength(txt, len), *o;
	free(txt);
	pthread_mutex_lock(&P.lock);
	cJSON_ArrayForEach(o, cJSON_GetObjectItem(j, "pools"))
	{
		const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(o, "template"));
		const cJSON *sz = cJSON_GetObjectItem(o, "size");
		if (!t || strlen(t) >= sizeof P.head->tmpl || !cJSON_IsNumber(sz) ||
		    sz->valueint < 0 || sz->valueint > POOL_MAX_SIZE || find_locked(t))
			continue;
		struct pool *p = calloc(1, sizeof *p);
		if (!p)
			break;
		snprintf(p->tmpl, sizeof p->tmpl, "%s", t);
		p->size = sz->valueint;
		p->owner = (uid_t)cJSON_GetNumberValue(cJSON_GetObjectItem(o, "owner"));
		p->group = (gid_t)cJSON_GetNumberValue(cJSON_GetObjectItem(o, "group"));
		double c = cJSON_GetNumberValue(cJSON_GetObjectItem(o, "claimed"));
		p->claimed = c > 0 ? (unsigned long)c : 0;
		p->next = P.head;
		P.head = p;
	}
	pthread_mutex_unlock(&P.lock);
	cJSON_Delete(j);
}

/* ---- a member's state ---- */

enum mstate { M_WARMING, M_READY, M_FAILED };

static enum mstate member_state(struct sess *s, char *err, size_t len)
{
	pthread_mutex_lock(&s->lock);
	enum mstate m = M_WARMING;
	if (s->status == SESS_READY && s->readiness == RD_RUNTIME_READY)
		m = M_READY;
	else if (s->status == SESS_FAILED || s->status == SESS_STOPPED)
		m = M_FAILED;
	if (m == M_FAILED && err) {
		cJSON *j = s->error.len ? cJSON_ParseWithLength(s->error.data, s->error.len) : NULL;
		const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(j, "message"));
		snprintf(err, len, "%s", msg ? msg : "a member stopped");
		cJSON_Delete(j);
	}
	pthread_mutex_unlock(&s->lock);
	return m;
}

static int is_claiming(const struct pool *p, uint64_t sid)
{
	for (int i = 0; i < POOL_MAX_CLAIMING; i++)
		if (p->claiming[i] == sid)
			return 1;
	return 0;
}

/* The template of the pool a member waits in (claims change it, under its lock). */
static int member_of(struct sess *s, const char *tmpl)
{
	pthread_mutex_lock(&s->lock);
	int r = strcmp(s->pool, tmpl) == 0;
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* ---- the keeper ---- */

struct plan {
	char tmpl[65];
	int size;
	uid_t owner;
	gid_t group;
	int retry_ok;
};

static void destroy_member(struct sess *s)
{
	char name[65];
	pthread_mutex_lock(&s->lock);
	snprintf(name, sizeof name, "%s", s->name);
	pthread_mutex_unlock(&s->lock);
	sess_destroy(name);
}

/* Make the members of one pool match it. */
static void keep_one(const struct plan *pl, struct sess **mem, int n)
{
	int ready = 0, warming = 0;
	char err[300] = "";
	for (int i = 0; i < n; i++) {
		if (!mem[i])
			continue;
		pthread_mutex_lock(&P.lock);
		struct pool *p = find_locked(pl->tmpl);
		int busy = p && is_claiming(p, mem[i]->sid);
		pthread_mutex_unlock(&P.lock);
		if (busy)
			continue;
		enum mstate m = member_state(mem[i], err, sizeof err);
		if (m == M_FAILED) {
			pthread_mutex_lock(&P.lock);
			if ((p = find_locked(pl->tmpl))) {
				snprintf(p->last_error, sizeof p->last_error, "%s", err);
				p->retry_at = util_mono_ms() + POOL_BACKOFF_MS;
			}
			pthread_mutex_unlock(&P.lock);
			destroy_member(mem[i]);
			mem[i] = NULL;
			continue;
		}
		if (ready + warming >= pl->size) { /* too many (a smaller pool) */
			destroy_member(mem[i]);
			mem[i] = NULL;
			continue;
		}
		ready += m == M_READY;
		warming += m == M_WARMING;
	}
	for (int want = pl->size - ready - warming; want > 0 && pl->retry_ok; want--) {
		struct sess_conf conf = sess_options()->defaults;
		struct derr e = DERR_INIT;
		char why[300], dir[PATH_MAX];
		/* a saved template's members are forks of its checkpoint */
		int r = ckpt_template_find(pl->tmpl, pl->owner, dir, sizeof dir, &conf, &e);
		if (r == 1) {
			r = sess_create_member(pl->tmpl, &conf, dir, pl->owner, pl->group, &e);
		} else if (r == 0) {
			conf = sess_options()->defaults;
			r = set_parse(&conf, "provider", "qemu", why, sizeof why);
			if (r == 0)
				r = set_parse(&conf, "template", pl->tmpl, why, sizeof why);
			if (r < 0)
				derr_set(&e, -r, "invalid_template", "%s", why);
			else
				r = sess_create_member(pl->tmpl, &conf, NULL, pl->owner, pl->group,
						       &e);
		}
		if (r < 0) {
			pthread_mutex_lock(&P.lock);
			struct pool *p = find_locked(pl->tmpl);
			if (p) {
				snprintf(p->last_error, sizeof p->last_error, "%s", e.msg);
				p->retry_at = util_mono_ms() + POOL_BACKOFF_MS;
			}
			pthread_mutex_unlock(&P.lock);
			break;
		}
	}
}

static void keep_all(void)
{
	struct plan plans[POOL_MAX_SIZE];
	int np = 0;
	uint64_t now = util_mono_ms();
	pthread_mutex_lock(&P.lock);
	for (struct pool *p = P.head; p && np < POOL_MAX_SIZE; p = p->next, np++) {
		snprintf(plans[np].tmpl, sizeof plans[np].tmpl, "%s", p->tmpl);
		plans[np].size = p->size;
		plans[np].owner = p->owner;
		plans[np].group = p->group;
		plans[np].retry_ok = now >= p->retry_at;
	}
	pthread_mutex_unlock(&P.lock);

	struct sess **all = NULL;
	int n = 0;
	if (sess_members(NULL, &all, &n) < 0)
		return;
	/* members of no pool (drained, or an unreadable record's): destroyed */
	for (int i = 0; i < n; i++) {
		int known = 0;
		for (int k = 0; k < np && !known; k++)
			known = member_of(all[i], plans[k].tmpl);
		if (!known) {
			destroy_member(all[i]);
			sess_put(all[i]);
			all[i] = NULL;
		}
	}
	for (int k = 0; k < np; k++) {
		struct sess **mine = calloc((size_t)n + 1, sizeof *mine);
		int m = 0;
		if (!mine)
			break;
		for (int i = 0; i < n; i++)
			if (all[i] && member_of(all[i], plans[k].tmpl))
				mine[m++] = all[i];
		keep_one(&plans[k], mine, m);
		free(mine);
	}
	for (int i = 0; i < n; i++)
		sess_put(all[i]);
	free(all);
}

static void *keeper_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&P.lock);
	while (!P.stop) {
		P.kick = 0;
		pthread_mutex_unlock(&P.lock);
		keep_all();
		pthread_mutex_lock(&P.lock);
		if (P.kick || P.stop)
			continue;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += POOL_TICK_MS * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&P.cond, &P.lock, &ts);
	}
	pthread_mutex_unlock(&P.lock);
	return NULL;
}

int pool_start(void)
{
	load();
	if (pthread_create(&P.thread, NULL, keeper_main, NULL) != 0)
		return -EAGAIN;
	P.running = 1;
	return 0;
}

void pool_stop(void)
{
	pthread_mutex_lock(&P.lock);
	P.stop = 1;
	kick_locked();
	pthread_mutex_unlock(&P.lock);
	if (P.running)
		pthread_join(P.thread, NULL);
	P.running = 0;
	pthread_mutex_lock(&P.lock);
	while (P.head) {
		struct pool *p = P.head;
		P.head = p->next;
		free(p);
	}
	pthread_mutex_unlock(&P.lock);
}

/* ---- what users do ---- */

int pool_set(const char *tmpl, int size, uid_t uid, gid_t gid, struct derr *e)
{
	if (size < 0 || size > POOL_MAX_SIZE)
		return derr_set(e, EINVAL, "invalid_size", "a pool's size is 0..%d", POOL_MAX_SIZE);
	pthread_mutex_lock(&P.lock);
	struct pool *p = find_locked(tmpl);
	int r = 0;
	if (p && uid != 0 && p->owner != uid) {
		r = derr_set(e, EACCES, "not_yours", "the pool of template '%s' belongs to uid %u",
			     tmpl, (unsigned)p->owner);
	} else if (!p && size > 0) {
		p = calloc(1, sizeof *p);
		if (!p) {
			r = derr_set(e, ENOMEM, "internal", "out of memory");
		} else {
			snprintf(p->tmpl, sizeof p->tmpl, "%s", tmpl);
			p->owner = uid;
			p->group = gid;
			p->next = P.head;
			P.head = p;
		}
	}
	if (r == 0 && p) {
		p->size = size;
		p->last_error[0] = '\0';
		p->retry_at = 0;
		if (size == 0) { /* drained: its members go (the keeper destroys orphans) */
			struct pool **pp = &P.head;
			while (*pp != p)
				pp = &(*pp)->next;
			*pp = p->next;
			free(p);
		}
		int w = save_locked();
		if (w < 0)
			r = derr_set(e, -w, "state_dir", "cannot record the pools: %s", strerror(-w));
		kick_locked();
	}
	pthread_mutex_unlock(&P.lock);
	return r;
}

int pool_claim(const char *tmpl, const char *name, const struct sess_conf *conf, uid_t owner,
	       gid_t group, struct sess **out, struct derr *e)
{
	struct sess **mem = NULL, *s = NULL;
	int n = 0, slot = -1;
	if (sess_members(tmpl, &mem, &n) < 0)
		return -ENOENT;
	pthread_mutex_lock(&P.lock);
	struct pool *p = find_locked(tmpl);
	if (p && (p->owner == 0 || owner == 0 || p->owner == owner)) {
		for (int i = 0; i < POOL_MAX_CLAIMING && slot < 0; i++)
			if (!p->claiming[i])
				slot = i;
		for (int i = 0; i < n && slot >= 0 && !s; i++) {
			pthread_mutex_lock(&mem[i]->lock);
			int fits = conf_fits(&mem[i]->conf, conf);
			pthread_mutex_unlock(&mem[i]->lock);
			if (fits && !is_claiming(p, mem[i]->sid) &&
			    member_state(mem[i], NULL, 0) == M_READY)
				s = mem[i];
		}
		if (s)
			p->claiming[slot] = s->sid;
	}
	pthread_mutex_unlock(&P.lock);
	int r = -ENOENT;
	if (s) {
		r = sess_claim(s, name, owner, group, e);
		if (r == 0) { /* the timing settings the create asked for */
			pthread_mutex_lock(&s->lock);
			for (const char *const *k = claim_may_differ; *k; k++) {
				const struct setting *st = set_find(*k);
				char v[300], why[200];
				if (!st)
					continue;
				set_format(conf, st, v, sizeof v);
				set_parse(&s->conf, *k, v, why, sizeof why);
			}
			sess_persist_locked(s);
			pthread_mutex_unlock(&s->lock);
		}
		pthread_mutex_lock(&P.lock);
		if ((p = find_locked(tmpl))) {
			p->claiming[slot] = 0;
			if (r == 0) {
				p->claimed++;
				save_locked();
			}
		}
		kick_locked();
		pthread_mutex_unlock(&P.lock);
		if (r == -EAGAIN && strcmp(e->code, "pool_busy") == 0) {
			*e = (struct derr)DERR_INIT; /* a busy member: a session the usual way */
			r = -ENOENT;
		}
	}
	struct sess *keep = r == 0 && out ? s : NULL;
	if (keep)
		*out = keep;
	for (int i = 0; i < n; i++)
		if (mem[i] != keep)
			sess_put(mem[i]);
	free(mem);
	return r;
}

void pool_json(struct buf *out)
{
	cJSON *j = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(j, "pools");
	struct sess **mem = NULL;
	int n = 0;
	sess_members(NULL, &mem, &n);
	pthread_mutex_lock(&P.lock);
	for (struct pool *p = P.head; p; p = p->next) {
		int ready = 0, warming = 0;
		for (int i = 0; i < n; i++) {
			if (!member_of(mem[i], p->tmpl) || is_claiming(p, mem[i]->sid))
				continue;
			enum mstate m = member_state(mem[i], NULL, 0);
			ready += m == M_READY;
			warming += m == M_WARMING;
		}
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "template", p->tmpl);
		cJSON_AddNumberToObject(o, "size", p->size);
		cJSON_AddNumberToObject(o, "ready", ready);
		cJSON_AddNumberToObject(o, "warming", warming);
		cJSON_AddNumberToObject(o, "claimed", (double)p->claimed);
		cJSON_AddNumberToObject(o, "owner", p->owner);
		if (p->last_error[0])
			cJSON_AddStringToObject(o, "last_error", p->last_error);
		else
			cJSON_AddNullToObject(o, "last_error");
		cJSON_AddItemToArray(arr, o);
	}
	pthread_mutex_unlock(&P.lock);
	for (int i = 0; i < n; i++)
		sess_put(mem[i]);
	free(mem);
	char *txt = cJSON_Print(j);
	if (txt) {
		buf_printf(out, "%s\n", txt);
		free(txt);
	}
	cJSON_Delete(j);
}
