/*
 * host.c - the provider's door to its session; see host.h. Every call
 * takes the session's lock for what it touches and lets go before it
 * returns: nothing here blocks.
 */
#include "common/logtail.h"
#include "core/host.h"
#include "core/sess.h"
#include "core/sess_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int host_should_stop(struct sess *s)
{
	return sess_should_stop(s);
}

void host_readiness(struct sess *s, enum sess_readiness r)
{
	sess_set_readiness(s, r);
}

const char *host_name(const struct sess *s)
{
	return s->name;
}

const char *host_dir(const struct sess *s)
{
	return s->dir;
}

const char *host_origin(const struct sess *s)
{
	return s->origin;
}

int host_discard(struct sess *s)
{
	return __atomic_load_n(&s->discard, __ATOMIC_ACQUIRE);
}

const char *host_artdir(const struct sess *s)
{
	return s->artdir;
}

const char *host_home(const struct sess *s)
{
	return s->home;
}

uid_t host_owner(const struct sess *s)
{
	return s->owner;
}

gid_t host_group(const struct sess *s)
{
	return s->group;
}

void host_conf(struct sess *s, struct sess_conf *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->conf;
	pthread_mutex_unlock(&s->lock);
}

int host_conf_set(struct sess *s, const char *key, const char *val, struct derr *e)
{
	char err[300];
	pthread_mutex_lock(&s->lock);
	int r = set_parse(&s->conf, key, val, err, sizeof err);
	if (r == 0)
		sess_persist_locked(s);
	pthread_mutex_unlock(&s->lock);
	return r < 0 ? derr_set(e, EINVAL, "invalid_setting", "%s", err) : 0;
}

const char *host_agent_path(void)
{
	return sess_options()->agent_path;
}

const char *host_statedir(void)
{
	return sess_options()->statedir;
}

void host_token(struct sess *s, char *out, size_t len)
{
	pthread_mutex_lock(&s->lock);
	snprintf(out, len, "%s", s->token);
	pthread_mutex_unlock(&s->lock);
}

void host_set_token(struct sess *s, const char *tok)
{
	pthread_mutex_lock(&s->lock);
	snprintf(s->token, sizeof s->token, "%s", tok);
	pthread_mutex_unlock(&s->lock);
}

void host_set_display(struct sess *s, const char *display, const char *xauth)
{
	pthread_mutex_lock(&s->lock);
	snprintf(s->display, sizeof s->display, "%s", display ? display : "");
	snprintf(s->xauth, sizeof s->xauth, "%s", xauth ? xauth : "");
	pthread_mutex_unlock(&s->lock);
}

void host_set_endpoint(struct sess *s, const char *sock, const char *url)
{
	pthread_mutex_lock(&s->lock);
	snprintf(s->agent_sock, sizeof s->agent_sock, "%s", sock ? sock : "");
	snprintf(s->agent_url, sizeof s->agent_url, "%s", url ? url : "");
	pthread_mutex_unlock(&s->lock);
}

void host_endpoint(struct sess *s, char *sock, size_t socklen, char *url, size_t urllen)
{
	pthread_mutex_lock(&s->lock);
	if (sock)
		snprintf(sock, socklen, "%s", s->agent_sock);
	if (url)
		snprintf(url, urllen, "%s", s->agent_url);
	pthread_mutex_unlock(&s->lock);
}

struct proc *host_proc(struct sess *s, int slot)
{
	return slot >= 0 && slot < HOST_MAX_PROCS ? &s->procs[slot] : NULL;
}

int host_spawn(struct sess *s, int slot, const char *role, const char *const argv[],
	       struct proc_opts *o, struct derr *e)
{
	return sess_spawn(s, slot, role, argv, o, e);
}

void host_log_tail(struct sess *s, const char *role, char *out, size_t len)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/%s.log", s->artdir, role);
	logtail_last_line(path, out, len);
}

void host_set_data(struct sess *s, void *data)
{
	pthread_mutex_lock(&s->lock);
	s->prov_data = data;
	pthread_mutex_unlock(&s->lock);
}

void *host_data(struct sess *s)
{
	return s->prov_data;
}

void *host_data_get(struct sess *s, void *(*ref)(void *data))
{
	pthread_mutex_lock(&s->lock);
	void *d = s->prov_data && ref ? ref(s->prov_data) : s->prov_data;
	pthread_mutex_unlock(&s->lock);
	return d;
}

int host_failed(struct sess *s)
{
	pthread_mutex_lock(&s->lock);
	int f = s->status == SESS_FAILED || s->failing;
	pthread_mutex_unlock(&s->lock);
	return f;
}

void host_error_json(struct sess *s, struct buf *out)
{
	pthread_mutex_lock(&s->lock);
	buf_append(out, s->error.data, s->error.len);
	pthread_mutex_unlock(&s->lock);
}
