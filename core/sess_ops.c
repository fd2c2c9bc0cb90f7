/*
 * sess_ops.c - see sess_ops.h.
 */
#include "core/sess_ops.h"
#include "core/agentc.h"
#include "common/act.h"
#include "providers/prov.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_CTL_LINES 64

void sess_status_text(struct sess *s, struct buf *out)
{
	pthread_mutex_lock(&s->lock);
	buf_printf(out, "%s\n", sess_status_name(s->status));
	pthread_mutex_unlock(&s->lock);
}

void sess_error_json(struct sess *s, struct buf *out)
{
	pthread_mutex_lock(&s->lock);
	buf_append(out, s->error.data, s->error.len);
	pthread_mutex_unlock(&s->lock);
}

void sess_actions_log_path(struct sess *s, char *out, size_t len)
{
	snprintf(out, len, "%s/actions.log", s->dir);
}

void sess_record_json(struct sess *s, struct buf *out)
{
	char ts[40];
	cJSON *j = cJSON_CreateObject();
	util_iso8601(s->created_at, ts, sizeof ts);
	pthread_mutex_lock(&s->lock);
	cJSON_AddStringToObject(j, "name", s->name);
	cJSON_AddStringToObject(j, "id", s->id);
	cJSON_AddStringToObject(j, "provider", s->conf.provider);
	cJSON_AddNumberToObject(j, "width", s->conf.width);
	cJSON_AddNumberToObject(j, "height", s->conf.height);
	if (s->display[0])
		cJSON_AddStringToObject(j, "display", s->display);
	else
		cJSON_AddNullToObject(j, "display");
	if (s->xauth[0])
		cJSON_AddStringToObject(j, "xauthority", s->xauth);
	else
		cJSON_AddNullToObject(j, "xauthority");
	cJSON_AddStringToObject(j, "status", sess_status_name(s->status));
	cJSON_AddStringToObject(j, "readiness", sess_readiness_name(s->readiness));
	cJSON_AddStringToObject(j, "created_at", ts);
	cJSON_AddNumberToObject(j, "owner_uid", s->owner);
	cJSON *caps = cJSON_AddArrayToObject(j, "capabilities");
	static const char *const cap_names[] = {"screenshot", "actions", "observation", "events"};
	for (size_t i = 0; i < sizeof cap_names / sizeof *cap_names; i++)
		cJSON_AddItemToArray(caps, cJSON_CreateString(cap_names[i]));
	cJSON_AddStringToObject(j, "artifacts_dir", s->artdir);
	cJSON_AddStringToObject(j, "state_dir", s->dir);
	cJSON *err = s->error.len ? cJSON_ParseWithLength(s->error.data, s->error.len) : NULL;
	if (err)
		cJSON_AddItemToObject(j, "error", err);
	else
		cJSON_AddNullToObject(j, "error");
	cJSON *agent = cJSON_AddObjectToObject(j, "agent");
	if (s->agent_sock[0]) {
		char ep[PATH_MAX + 8];
		snprintf(ep, sizeof ep, "unix:%s", s->agent_sock);
		cJSON_AddStringToObject(agent, "endpoint", ep);
	} else if (s->agent_url[0]) {
		cJSON_AddStringToObject(agent, "endpoint", s->agent_url);
	} else {
		cJSON_AddNullToObject(agent, "endpoint");
	}
	cJSON_AddBoolToObject(agent, "attached", s->agent != NULL);
	cJSON *procs = cJSON_AddObjectToObject(j, "pids");
	for (int i = 0; i < SESS_MAX_PROCS; i++)
		if (s->procs[i].pid > 0)
			cJSON_AddNumberToObject(procs, s->procs[i].role, s->procs[i].pid);
	cJSON_AddStringToObject(j, "screenshot_source", s->screenshot_source);
	cJSON_AddBoolToObject(j, "glx", s->conf.glx);
	cJSON_AddNumberToObject(j, "actions_performed", (double)s->actions_done);
	if (s->prov->describe)
		s->prov->describe(s, j); /* e.g. qemu's "vm": accel, QMP socket, ports */
	pthread_mutex_unlock(&s->lock);
	char *txt = cJSON_Print(j);
	if (txt) {
		buf_printf(out, "%s\n", txt);
		free(txt);
	}
	cJSON_Delete(j);
}

/*
 * The bound of one request: agent_timeout, plus for actions the time the
 * actions parsed from the body may take (their waits and holds: see
 * common/act.h's act_bound_ms). A hung agent costs this bound and an
 * ETIMEDOUT, never a stuck thread.
 */
static long request_bound_ms(struct sess *s, const char *body, size_t len)
{
	long ms = s->conf.agent_timeout_ms > 0 ? s->conf.agent_timeout_ms : 10000;
	return body && len ? ms + act_bound_ms(body, len) : ms;
}

/*
 * Wait for ready, then make one request to the agent (conditional when
 * cond is given: a screenshot the daemon already holds). Records failures.
 */
struct cond_get {
	const char *if_none_match;
	int not_modified;
	char etag[80];
};

static int agent_call_cond(struct sess *s, const char *method, const char *path,
			   const char *body, size_t len, struct buf *out, struct cond_get *cond,
			   sess_intr_fn intr, void *arg)
{
	char err[1024];
	int r = sess_wait_ready(s, intr, arg);
	if (r < 0)
		return r;
	pthread_mutex_lock(&s->op_lock);
	pthread_mutex_lock(&s->lock);
	struct agentc *c = s->status == SESS_READY ? s->agent : NULL;
	pthread_mutex_unlock(&s->lock);
	if (!c) {
		pthread_mutex_unlock(&s->op_lock);
		sess_error(s, 0, EAGAIN, "not_ready", "session '%s' is not ready", s->name);
		return -EAGAIN;
	}
	long bound = request_bound_ms(s, body, len);
	if (cond)
		r = agentc_request_cond(c, path, bound, cond->if_none_match, &cond->not_modified,
					cond->etag, sizeof cond->etag, out, err, sizeof err);
	else
		r = agentc_request(c, method, path, body, len, bound, out, err, sizeof err);
	pthread_mutex_unlock(&s->op_lock);
	if (r < 0)
		sess_error_text(s, 0, -r, err);
	return r;
}

static int agent_call(struct sess *s, const char *method, const char *path, const char *body,
		      size_t len, struct buf *out, sess_intr_fn intr, void *arg)
{
	return agent_call_cond(s, method, path, body, len, out, NULL, intr, arg);
}

static void set_screenshot_source(struct sess *s, const char *src)
{
	pthread_mutex_lock(&s->lock);
	snprintf(s->screenshot_source, sizeof s->screenshot_source, "%s", src);
	pthread_mutex_unlock(&s->lock);
}

/*
 * While a session starts, a provider with its own view (qemu: QMP
 * screendump of the VM's framebuffer) answers at once; session.json's
 * screenshot_source then says "qmp". Otherwise wait for the agent.
 */
int sess_capture(struct sess *s, struct blob **out, sess_intr_fn intr, void *arg)
{
	char err[512];
	struct buf png = BUF_INIT;
	int r;
	*out = NULL;
	pthread_mutex_lock(&s->lock);
	int early = s->prov->capture && s->status == SESS_STARTING;
	pthread_mutex_unlock(&s->lock);
	if (early && s->prov->capture(s, &png, err, sizeof err) == 0) {
		set_screenshot_source(s, "qmp");
		*out = blob_from_buf(&png, NULL);
		return *out ? 0 : -ENOMEM;
	}
	buf_reset(&png);

	/* Ask with the ETag of the PNG we hold: an unchanged screen costs a 304. */
	struct cond_get cond = {0};
	pthread_mutex_lock(&s->lock);
	struct blob *held = blob_ref(s->last_png);
	pthread_mutex_unlock(&s->lock);
	cond.if_none_match = held && held->tag[0] ? held->tag : NULL;
	r = agent_call_cond(s, "GET", "/screenshot.png", NULL, 0, &png, &cond, intr, arg);
	if (r == 0 && cond.not_modified && held) {
		*out = held;
		held = NULL;
	} else if (r == 0) {
		struct blob *fresh = blob_from_buf(&png, cond.etag);
		if (!fresh) {
			r = -ENOMEM;
			goto out;
		}
		pthread_mutex_lock(&s->lock);
		struct blob *old = s->last_png;
		s->last_png = cond.etag[0] ? blob_ref(fresh) : NULL;
		pthread_mutex_unlock(&s->lock);
		blob_unref(old);
		*out = fresh;
	}
	if (r == 0)
		set_screenshot_source(s, "agent");
out:
	blob_unref(held);
	buf_free(&png);
	return r;
}

int sess_observe(struct sess *s, struct buf *out, sess_intr_fn intr, void *arg)
{
	return agent_call(s, "GET", "/observation", NULL, 0, out, intr, arg);
}

static void log_receipts(struct sess *s, const struct buf *resp)
{
	char path[PATH_MAX + 16];
	cJSON *j = cJSON_ParseWithLength(resp->data, resp->len);
	cJSON *arr = cJSON_GetObjectItem(j, "receipts");
	struct buf lines = BUF_INIT;
	int n = 0;
	cJSON *r;
	cJSON_ArrayForEach(r, arr)
	{
		cJSON_AddStringToObject(r, "session", s->name);
		char *line = cJSON_PrintUnformatted(r);
		if (line) {
			buf_printf(&lines, "%s\n", line);
			evq_publish_as(&s->events, line, s->owner);
			free(line);
		}
		n++;
	}
	sess_actions_log_path(s, path, sizeof path);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd >= 0) {
		struct stat st;
		/* bounded: past the cap the log starts over, the last one kept as .1
		 * (a `tail -f` reader sees the truncation and carries on) */
		if (fstat(fd, &st) == 0 && st.st_size + (off_t)lines.len > SESS_ACTIONS_LOG_MAX) {
			char old[PATH_MAX + 32];
			snprintf(old, sizeof old, "%s.1", path);
			close(fd);
			rename(path, old);
			fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		}
	}
	if (fd >= 0) {
		if (write(fd, lines.data ? lines.data : "", lines.len) < 0)
			(void)0; /* a lost log line must not fail the action */
		close(fd);
	}
	pthread_mutex_lock(&s->lock);
	s->actions_done += (uint64_t)n;
	pthread_mutex_unlock(&s->lock);
	buf_free(&lines);
	cJSON_Delete(j);
}

int sess_actions(struct sess *s, const char *text, size_t len, sess_intr_fn intr, void *arg)
{
	struct buf resp = BUF_INIT;
	int r = agent_call(s, "POST", "/actions", text, len, &resp, intr, arg);
	if (r == 0 || r == -EIO)
		log_receipts(s, &resp); /* on EIO the agent lists what it did perform */
	buf_free(&resp);
	return r;
}

/* ---- ctl ---- */

enum ctl_verb { CTL_STOP, CTL_START, CTL_RESTART, CTL_RESIZE, CTL_CLEAR_ERROR };

struct ctl_cmd {
	enum ctl_verb verb;
	int w, h;
};

void sess_ctl_help(struct buf *out)
{
	buf_printf(out, "# write one command per line:\n"
			"#   stop | start | restart | resize WxH | clear-error\n");
}

/* Split text into lines; calls fn(line, ctx) for each non-blank one. */
static int for_each_line(const char *text, size_t len, int (*fn)(char *, int, void *), void *ctx)
{
	int lineno = 0, r = 0;
	if (memchr(text, '\0', len))
		return -EINVAL;
	char *copy = strndup(text, len);
	if (!copy)
		return -ENOMEM;
	char *save = NULL;
	for (char *l = strtok_r(copy, "\n", &save); l && r == 0; l = strtok_r(NULL, "\n", &save)) {
		lineno++;
		size_t n = strlen(l);
		while (n && (l[n - 1] == '\r' || l[n - 1] == ' ' || l[n - 1] == '\t'))
			l[--n] = '\0';
		while (*l == ' ' || *l == '\t')
			l++;
		if (*l && *l != '#')
			r = fn(l, lineno, ctx);
	}
	free(copy);
	return r;
}

struct ctl_parse {
	struct ctl_cmd cmds[MAX_CTL_LINES];
	int n;
	char err[512];
};

static int ctl_parse_line(char *l, int lineno, void *ctx)
{
	struct ctl_parse *p = ctx;
	struct ctl_cmd c = {0};
	if (p->n >= MAX_CTL_LINES) {
		snprintf(p->err, sizeof p->err, "too_many_commands: at most %d lines per write",
			 MAX_CTL_LINES);
		return -E2BIG;
	}
	if (strcmp(l, "stop") == 0)
		c.verb = CTL_STOP;
	else if (strcmp(l, "start") == 0)
		c.verb = CTL_START;
	else if (strcmp(l, "restart") == 0)
		c.verb = CTL_RESTART;
	else if (strcmp(l, "clear-error") == 0)
		c.verb = CTL_CLEAR_ERROR;
	else if (strncmp(l, "resize ", 7) == 0 && util_parse_size(l + 7, 64, 8192, &c.w, &c.h) == 0)
		c.verb = CTL_RESIZE;
	else {
		snprintf(p->err, sizeof p->err,
			 "invalid_command: line %d: '%.60s' is not a command (stop, start, restart, "
			 "resize WxH with 64..8192, clear-error)",
			 lineno, l);
		return -EINVAL;
	}
	p->cmds[p->n++] = c;
	return 0;
}

int sess_ctl_check(const char *text, size_t len, char *err, size_t errlen)
{
	struct ctl_parse *p = calloc(1, sizeof *p);
	if (!p)
		return -ENOMEM;
	int r = for_each_line(text, len, ctl_parse_line, p);
	if (r < 0)
		snprintf(err, errlen, "%s", p->err[0] ? p->err : "invalid_command: bad bytes in ctl");
	free(p);
	return r;
}

int sess_ctl(struct sess *s, const char *text, size_t len)
{
	struct ctl_parse *p = calloc(1, sizeof *p);
	if (!p)
		return -ENOMEM;
	int r = for_each_line(text, len, ctl_parse_line, p);
	if (r < 0) {
		sess_error_text(s, 0, -r, p->err[0] ? p->err : "invalid_command: bad bytes in ctl");
		goto out;
	}
	for (int i = 0; i < p->n && r == 0; i++) {
		struct ctl_cmd *c = &p->cmds[i];
		switch (c->verb) {
		case CTL_STOP:
			sess_stop(s);
			break;
		case CTL_RESIZE:
			sess_stop(s);
			pthread_mutex_lock(&s->lock);
			s->conf.width = c->w;
			s->conf.height = c->h;
			pthread_mutex_unlock(&s->lock);
			/* a resize is a restart at the new size */
			/* fall through */
		case CTL_RESTART:
			sess_stop(s);
			/* fall through */
		case CTL_START:
			r = sess_start(s);
			if (r == 0)
				r = sess_wait_ready(s, NULL, NULL);
			break;
		case CTL_CLEAR_ERROR:
			pthread_mutex_lock(&s->lock);
			buf_reset(&s->error);
			pthread_mutex_unlock(&s->lock);
			break;
		}
	}
out:
	free(p);
	return r;
}

/* ---- control plane ---- */

struct gctl {
	char err[512];
	int dry;   /* 1: only validate */
	uid_t uid; /* the writer: owns what it creates, destroys only its own */
	gid_t gid;
};

static int gctl_line(char *l, int lineno, void *ctx)
{
	struct gctl *g = ctx;
	char *save = NULL;
	char *verb = strtok_r(l, " \t", &save);
	char *name = strtok_r(NULL, " \t", &save);
	if (!verb || !name || (strcmp(verb, "create") != 0 && strcmp(verb, "destroy") != 0)) {
		snprintf(g->err, sizeof g->err,
			 "invalid_command: line %d: expected 'create NAME [key=value ...]' or "
			 "'destroy NAME'",
			 lineno);
		return -EINVAL;
	}
	if (!util_name_valid(name)) {
		snprintf(g->err, sizeof g->err,
			 "invalid_name: line %d: '%.80s' is not a session name "
			 "([A-Za-z0-9][A-Za-z0-9._-]{0,63})",
			 lineno, name);
		return -EINVAL;
	}
	if (strcmp(verb, "destroy") == 0) {
		if (strtok_r(NULL, " \t", &save)) {
			snprintf(g->err, sizeof g->err, "invalid_command: line %d: destroy takes a name only",
				 lineno);
			return -EINVAL;
		}
		if (g->dry)
			return 0;
		struct sess *s = sess_get(name);
		int may = s && sess_may_access(s, g->uid);
		sess_put(s);
		if (!s || !may) {
			snprintf(g->err, sizeof g->err, "%s: line %d: session '%s' %s", s ? "not_yours" : "no_such_session",
				 lineno, name, s ? "belongs to another user" : "does not exist");
			return s ? -EACCES : -ENOENT;
		}
		return sess_destroy(name);
	}
	struct sess_conf conf = sess_options()->defaults;
	char kverr[300];
	for (char *kv = strtok_r(NULL, " \t", &save); kv; kv = strtok_r(NULL, " \t", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq || eq == kv) {
			snprintf(g->err, sizeof g->err,
				 "invalid_command: line %d: '%.60s' is not key=value", lineno, kv);
			return -EINVAL;
		}
		*eq = '\0';
		if (sess_conf_set(&conf, kv, eq + 1, kverr, sizeof kverr) < 0) {
			snprintf(g->err, sizeof g->err, "invalid_setting: line %d: %s", lineno, kverr);
			return -EINVAL;
		}
	}
	if (g->dry)
		return 0;
	return sess_create(name, &conf, g->uid, g->gid, NULL, g->err, sizeof g->err);
}

int sess_global_ctl_check(const char *text, size_t len, char *err, size_t errlen)
{
	struct gctl g = {.dry = 1};
	int r = memchr(text, '\0', len) ? -EINVAL : for_each_line(text, len, gctl_line, &g);
	if (r < 0)
		snprintf(err, errlen, "%s", g.err[0] ? g.err : "invalid_command: NUL byte");
	return r;
}

int sess_global_ctl(const char *text, size_t len, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	struct gctl g = {.dry = 1, .uid = uid, .gid = gid};
	if (memchr(text, '\0', len)) {
		snprintf(err, errlen, "invalid_command: NUL byte in .ctl write");
		return -EINVAL;
	}
	/* Validate every line first: malformed input performs nothing. */
	int r = for_each_line(text, len, gctl_line, &g);
	if (r == 0) {
		g.dry = 0;
		r = for_each_line(text, len, gctl_line, &g);
	}
	if (r < 0)
		snprintf(err, errlen, "%s", g.err[0] ? g.err : "invalid_command: cannot parse");
	return r;
}

void sess_global_info(struct buf *out)
{
	const struct sess_opts *o = sess_options();
	const struct sess_conf *d = &o->defaults;
	buf_printf(out,
		   "deskfs %s\n"
		   "# defaults for mkdir; write 'create NAME key=value ...' or 'destroy NAME'\n"
		   "provider=%s\nwidth=%d\nheight=%d\nglx=%d\nready_timeout=%d\nagent_timeout=%d\n",
		   DESKFS_VERSION, d->provider, d->width, d->height, d->glx,
		   d->ready_timeout_ms / 1000, d->agent_timeout_ms / 1000);
	if (d->display[0])
		buf_printf(out, "display=%s\n", d->display);
	buf_printf(out, "state_dir=%s\nmax_sessions=%d\n", o->statedir, o->max_sessions);
}

void sess_providers_json(struct buf *out)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "default", sess_options()->defaults.provider);
	cJSON *arr = cJSON_AddArrayToObject(j, "providers");
	for (const struct prov_ops *const *p = prov_list(); *p; p++) {
		char why[512];
		int ok = (*p)->check(why, sizeof why);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", (*p)->name);
		cJSON_AddBoolToObject(o, "available", ok);
		cJSON_AddStringToObject(o, "why", why);
		cJSON_AddStringToObject(o, "summary", (*p)->summary);
		cJSON_AddItemToArray(arr, o);
	}
	char *txt = cJSON_Print(j);
	if (txt) {
		buf_printf(out, "%s\n", txt);
		free(txt);
	}
	cJSON_Delete(j);
}
