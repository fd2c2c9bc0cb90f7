/*
 * sess_ops.c - see sess_ops.h.
 */
#include "core/sess_ops.h"
#include "core/tmpl.h"
#include "core/sess_int.h"
#include "core/agentc.h"
#include "core/ckpt.h"
#include "common/act.h"
#include "core/prov_ops.h"

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

/* xauthority: the X cookie of the session's display (empty if none). */
void sess_xauth_bytes(struct sess *s, struct buf *out)
{
	char path[PATH_MAX], *data = NULL;
	size_t len = 0;
	pthread_mutex_lock(&s->lock);
	snprintf(path, sizeof path, "%s", s->xauth);
	pthread_mutex_unlock(&s->lock);
	if (path[0] && util_read_file(path, &data, &len) == 0)
		buf_append(out, data, len);
	free(data);
}

void sess_actions_log_path(struct sess *s, char *out, size_t len)
{
	snprintf(out, len, "%s/actions.log", s->dir);
}

/*
 * What the session can do: what its agent said (health's "capabilities"),
 * and, beside each of ours, firkin's names for the same thing, so clients
 * written against that vocabulary find theirs. Caller holds s->lock.
 */
static void add_capabilities(struct sess *s, cJSON *arr)
{
	static const char *const desktop[] = {"screenshot", "actions", "observation", "events"};
	static const struct {
		const char *ours;
		const char *firkin[5];
	} alias[] = {
	    {"procs",
	     {"run_process", "start_process_stream", "signal_process", "send_process_input", NULL}},
	    {"pty", {"resize_process_pty", NULL}},
	    {"files", {"read_file", "write_file", "list_files", "copy_in", "copy_out"}},
	};
	const cJSON *c;
	if (!s->caps) /* an agent that does not say (or not attached yet): the desktop */
		for (size_t i = 0; i < sizeof desktop / sizeof *desktop; i++)
			cJSON_AddItemToArray(arr, cJSON_CreateString(desktop[i]));
	cJSON_ArrayForEach(c, s->caps)
	{
		if (cJSON_IsString(c))
			cJSON_AddItemToArray(arr, cJSON_CreateString(c->valuestring));
	}
	if (s->prov->checkpoint) /* mkdir checkpoints/C, restore, from= */
		cJSON_AddItemToArray(arr, cJSON_CreateString("checkpoints"));
	for (size_t i = 0; i < sizeof alias / sizeof *alias; i++) {
		int has = 0;
		cJSON_ArrayForEach(c, s->caps)
		{
			has |= cJSON_IsString(c) && strcmp(c->valuestring, alias[i].ours) == 0;
		}
		for (int k = 0; has && k < 5 && alias[i].firkin[k]; k++)
			cJSON_AddItemToArray(arr, cJSON_CreateString(alias[i].firkin[k]));
	}
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
	if (s->xauth[0]) {
		/* the owner's way to the cookie: through the mount, owner-only */
		char xa[PATH_MAX * 2];
		snprintf(xa, sizeof xa, "%s/%s/xauthority", sess_options()->mountpoint, s->name);
		cJSON_AddStringToObject(j, "xauthority", xa);
	}
	else
		cJSON_AddNullToObject(j, "xauthority");
	cJSON_AddStringToObject(j, "status", sess_status_name(s->status));
	cJSON_AddStringToObject(j, "readiness", sess_readiness_name(s->readiness));
	cJSON_AddStringToObject(j, "created_at", ts);
	cJSON_AddNumberToObject(j, "owner_uid", s->owner);
	add_capabilities(s, cJSON_AddArrayToObject(j, "capabilities"));
	if (s->home[0])
		cJSON_AddStringToObject(j, "home", s->home);
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
	set_to_json(&s->conf, cJSON_AddObjectToObject(j, "settings"));
	cJSON_AddNumberToObject(j, "actions_performed", (double)s->actions_done);
	if (s->prov->describe)
		s->prov->describe(s, &s->conf, s->prov_data, j); /* e.g. qemu's "vm" */
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
long sess_agent_timeout(struct sess *s)
{
	pthread_mutex_lock(&s->lock);
	long ms = s->conf.agent_timeout_ms > 0 ? s->conf.agent_timeout_ms : 10000;
	pthread_mutex_unlock(&s->lock);
	return ms;
}

static long request_bound_ms(struct sess *s, const char *body, size_t len)
{
	pthread_mutex_lock(&s->lock);
	long ms = s->conf.agent_timeout_ms > 0 ? s->conf.agent_timeout_ms : 10000;
	struct act_timing t = {s->conf.click_gap, s->conf.drag_step, s->conf.keymap_delay};
	pthread_mutex_unlock(&s->lock);
	return body && len ? ms + act_bound_ms_t(body, len, &t) : ms;
}

/*
 * What every request tells the agent besides itself (the X-Deskfs-Options
 * header, common/act.h): the session's frame (scale=WxH: screenshots at
 * that size, action coordinates in it) and its input timing. The agent
 * keeps no such state, so a restarted agent gets it with the next request.
 */
static void agent_options(struct sess *s, char *out, size_t len)
{
	struct act_opts o;
	char frame[40];
	act_opts_default(&o);
	pthread_mutex_lock(&s->lock);
	o.t.click_gap = s->conf.click_gap;
	o.t.drag_step = s->conf.drag_step;
	o.t.keymap_delay = s->conf.keymap_delay;
	snprintf(frame, sizeof frame, "frame=%s", s->conf.scale);
	pthread_mutex_unlock(&s->lock);
	if (frame[6])
		act_opts_parse(frame, &o, NULL, 0); /* checked when it was set */
	act_opts_format(&o, out, len);
}

int sess_agent_can(struct sess *s, const char *cap)
{
	pthread_mutex_lock(&s->lock);
	int can = !s->caps; /* an agent that does not say: try, its errors will tell */
	const cJSON *c;
	cJSON_ArrayForEach(c, s->caps)
	{
		if (cJSON_IsString(c) && strcmp(c->valuestring, cap) == 0)
			can = 1;
	}
	pthread_mutex_unlock(&s->lock);
	return can;
}

/*
 * Wait for ready, then make one request to the agent (conditional when
 * rq->if_none_match is given: a screenshot the daemon already holds).
 * Records failures.
 */
int sess_agent_call(struct sess *s, const struct agentc_req *rq, long bound_ms, struct buf *out,
		    struct agentc_resp *resp, unsigned flags, sess_intr_fn intr, void *arg)
{
	struct derr e = DERR_INIT;
	struct agentc_resp local;
	if (!resp)
		resp = &local;
	resp->agent_errno = 0;
	if (flags & (SESS_CALL_NOWAIT | SESS_CALL_WAIT_STARTING)) {
		pthread_mutex_lock(&s->lock);
		enum sess_status st = s->status;
		pthread_mutex_unlock(&s->lock);
		if (st != SESS_READY && !(st == SESS_STARTING && (flags & SESS_CALL_WAIT_STARTING)))
			return -EAGAIN;
	}
	/* bounded: one session cannot hold every server thread */
	int r = sess_waiter_enter(s, &e);
	if (r < 0) {
		if (!(flags & SESS_CALL_SILENT))
			sess_fail(s, 0, &e);
		return r;
	}
	if ((r = sess_wait_ready(s, intr, arg)) < 0)
		goto out;
	/* a reference, then no lock at all across the request */
	struct agentc *c = sess_agent(s);
	if (!c) {
		sess_error(s, 0, EAGAIN, "not_ready", "session '%s' is not ready", s->name);
		r = -EAGAIN;
		goto out;
	}
	char opts[160];
	agent_options(s, opts, sizeof opts);
	struct agentc_call call = {bound_ms > 0 ? bound_ms : sess_agent_timeout(s), intr, arg, opts};
	r = agentc_do(c, rq, &call, out, resp, &e);
	agentc_unref(c);
	if (r < 0 && r != -EINTR && !(flags & SESS_CALL_SILENT) &&
	    !((flags & SESS_CALL_QUIET) && resp->agent_errno))
		sess_fail(s, 0, &e);
out:
	sess_waiter_leave(s);
	return r;
}

static int agent_call(struct sess *s, const char *method, const char *path, const char *body,
		      size_t len, struct buf *out, sess_intr_fn intr, void *arg)
{
	struct agentc_req rq = {method, path, body, len, NULL};
	return sess_agent_call(s, &rq, request_bound_ms(s, body, len), out, NULL, 0, intr, arg);
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
	struct derr e = DERR_INIT;
	struct buf png = BUF_INIT;
	int r;
	*out = NULL;
	pthread_mutex_lock(&s->lock);
	int early = s->prov->capture && s->status == SESS_STARTING;
	pthread_mutex_unlock(&s->lock);
	if (early && s->prov->capture(s, &png, &e) == 0) {
		set_screenshot_source(s, "qmp");
		*out = blob_from_buf(&png, NULL);
		return *out ? 0 : -ENOMEM;
	}
	buf_reset(&png);

	/* Ask with the ETag of the PNG we hold: an unchanged screen costs a 304. */
	struct agentc_resp resp;
	pthread_mutex_lock(&s->lock);
	struct blob *held = blob_ref(s->last_png);
	pthread_mutex_unlock(&s->lock);
	struct agentc_req rq = {"GET", "/v1/screenshot.png", NULL, 0,
				held && held->tag[0] ? held->tag : NULL};
	r = sess_agent_call(s, &rq, 0, &png, &resp, 0, intr, arg);
	if (r == 0 && resp.not_modified && held) {
		*out = held;
		held = NULL;
	} else if (r == 0) {
		struct blob *fresh = blob_from_buf(&png, resp.etag);
		if (!fresh) {
			r = -ENOMEM;
			goto out;
		}
		pthread_mutex_lock(&s->lock);
		struct blob *old = s->last_png;
		s->last_png = resp.etag[0] ? blob_ref(fresh) : NULL;
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
	return agent_call(s, "GET", "/v1/observation", NULL, 0, out, intr, arg);
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
	int r = agent_call(s, "POST", "/v1/actions", text, len, &resp, intr, arg);
	if (r == 0 || r == -EIO)
		log_receipts(s, &resp); /* on EIO the agent lists what it did perform */
	buf_free(&resp);
	return r;
}

/* ---- ctl ---- */

/* What one ctl line asks for: its verb's row and an argument. */
struct ctl_cmd {
	const struct ctl_verb *verb;
	int w, h;
	char arg[72]; /* scale's WxH, restore's checkpoint name */
};

/* ctl verbs: one row each (name, argument parser, what it does). */
struct ctl_verb {
	const char *name;
	int (*parse)(const char *arg, struct ctl_cmd *c); /* NULL: takes no argument */
	int (*run)(struct sess *s, const struct ctl_cmd *c);
};

static int run_stop(struct sess *s, const struct ctl_cmd *c)
{
	sess_stop(s);
	return 0;
}

static int run_start(struct sess *s, const struct ctl_cmd *c)
{
	int r = sess_start(s);
	return r < 0 ? r : sess_wait_ready(s, NULL, NULL);
}

static int run_restart(struct sess *s, const struct ctl_cmd *c)
{
	sess_stop(s);
	return run_start(s, c);
}

/* A resize is a restart at the new size. */
static int run_resize(struct sess *s, const struct ctl_cmd *c)
{
	sess_stop(s);
	pthread_mutex_lock(&s->lock);
	s->conf.width = c->w;
	s->conf.height = c->h;
	pthread_mutex_unlock(&s->lock);
	return run_start(s, c);
}

static int run_clear_error(struct sess *s, const struct ctl_cmd *c)
{
	pthread_mutex_lock(&s->lock);
	buf_reset(&s->error);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static int parse_size(const char *arg, struct ctl_cmd *c)
{
	return util_parse_size(arg, 64, 8192, &c->w, &c->h);
}

/* scale WxH | scale none: the session's frame, at once (no restart) */
static int parse_scale(const char *arg, struct ctl_cmd *c)
{
	char err[160];
	if (strlen(arg) >= sizeof c->arg || !*arg || set_check_scale(arg, err, sizeof err) < 0)
		return -EINVAL;
	snprintf(c->arg, sizeof c->arg, "%s", arg);
	return 0;
}

static int run_scale(struct sess *s, const struct ctl_cmd *c)
{
	pthread_mutex_lock(&s->lock);
	snprintf(s->conf.scale, sizeof s->conf.scale, "%s", c->arg);
	sess_persist_locked(s);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/* forward PORT | unforward PORT: a guest port (checked here), carried out by the provider */
static int parse_port(const char *arg, struct ctl_cmd *c)
{
	char err[160];
	int port;
	if (strlen(arg) >= sizeof c->arg || set_check_forward_port(arg, &port, err, sizeof err) < 0)
		return -EINVAL;
	snprintf(c->arg, sizeof c->arg, "%d", port);
	return 0;
}

static int run_prov_ctl(struct sess *s, const struct ctl_cmd *c)
{
	struct derr e = DERR_INIT;
	int r = s->prov->ctl ? s->prov->ctl(s, c->verb->name, c->arg, &e)
			     : derr_set(&e, ENOTSUP, "not_supported",
					"provider %s has no ports to forward (only qemu sessions do)",
					s->prov->name);
	if (r < 0)
		sess_fail(s, 0, &e);
	return r;
}

/* restore C: the session rolls back to its checkpoint C (core/ckpt.c) */
static int parse_restore(const char *arg, struct ctl_cmd *c)
{
	if (!util_name_valid(arg))
		return -EINVAL;
	snprintf(c->arg, sizeof c->arg, "%s", arg);
	return 0;
}

static int run_restore(struct sess *s, const struct ctl_cmd *c)
{
	struct derr e = DERR_INIT;
	int r = ckpt_restore(s, c->arg, &e);
	if (r < 0 && e.code[0])
		sess_fail(s, 0, &e);
	return r;
}

static const struct ctl_verb ctl_verbs[] = {
	{"stop", NULL, run_stop},
	{"start", NULL, run_start},
	{"restart", NULL, run_restart},
	{"resize", parse_size, run_resize},
	{"scale", parse_scale, run_scale},
	{"clear-error", NULL, run_clear_error},
	{"forward", parse_port, run_prov_ctl},
	{"unforward", parse_port, run_prov_ctl},
	{"restore", parse_restore, run_restore},
	{NULL, NULL, NULL},
};

void sess_ctl_help(struct buf *out)
{
	buf_printf(out, "# write one command per line:\n"
			"#   stop | start | restart | resize WxH | scale WxH|none | clear-error\n"
			"#   forward PORT | unforward PORT   (qemu: a guest TCP port <-> 127.0.0.1)\n"
			"#   restore CHECKPOINT   (VM sessions: back to checkpoints/CHECKPOINT)\n");
}

/* Split text into lines; calls fn(line, lineno, ctx) for each non-blank,
 * non-comment one, trimmed; stops at the first error. -EINVAL on a NUL. */
int sess_for_each_line(const char *text, size_t len, int (*fn)(char *, int, void *), void *ctx)
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
	struct derr e;
};

static int ctl_parse_line(char *l, int lineno, void *ctx)
{
	struct ctl_parse *p = ctx;
	struct ctl_cmd c = {0};
	if (p->n >= MAX_CTL_LINES)
		return derr_set(&p->e, E2BIG, "too_many_commands", "at most %d lines per write",
				MAX_CTL_LINES);
	size_t wl = strcspn(l, " \t");
	const char *arg = l + wl + strspn(l + wl, " \t");
	for (const struct ctl_verb *v = ctl_verbs; v->name; v++) {
		if (strlen(v->name) != wl || strncmp(l, v->name, wl) != 0)
			continue;
		if (v->parse ? v->parse(arg, &c) < 0 : *arg != '\0')
			break;
		c.verb = v;
		p->cmds[p->n++] = c;
		return 0;
	}
	return derr_set(&p->e, EINVAL, "invalid_command",
			"line %d: '%.60s' is not a command (stop, start, restart, resize WxH with "
			"64..8192, scale WxH with 16..8192 or none, clear-error, forward PORT, "
			"unforward PORT with a guest TCP port 1..65535 but the agent's 7070, "
			"restore CHECKPOINT)",
			lineno, l);
}

static int ctl_parse(const char *text, size_t len, struct ctl_parse *p)
{
	int r = sess_for_each_line(text, len, ctl_parse_line, p);
	if (r < 0 && !p->e.code[0])
		derr_set(&p->e, -r, "invalid_command", "bad bytes in a ctl write");
	return r;
}

int sess_ctl_check(const char *text, size_t len, char *err, size_t errlen)
{
	struct ctl_parse *p = calloc(1, sizeof *p);
	if (!p)
		return -ENOMEM;
	int r = ctl_parse(text, len, p);
	if (r < 0)
		snprintf(err, errlen, "%s: %s", p->e.code, p->e.msg);
	free(p);
	return r;
}

int sess_ctl(struct sess *s, const char *text, size_t len)
{
	struct ctl_parse *p = calloc(1, sizeof *p);
	if (!p)
		return -ENOMEM;
	int r = ctl_parse(text, len, p);
	if (r < 0)
		sess_fail(s, 0, &p->e); /* malformed: nothing of it runs */
	for (int i = 0; r == 0 && i < p->n; i++)
		r = p->cmds[i].verb->run(s, &p->cmds[i]);
	free(p);
	return r;
}

/* ---- control plane ---- */

struct gctl {
	struct derr e;
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
	char *kv[64];
	int nkv = 0, r;
	if (verb && name && strcmp(verb, "template") == 0) { /* save T from=N/C | delete T */
		kv[nkv++] = name;
		for (char *w; nkv < 64 && (w = strtok_r(NULL, " \t", &save));)
			kv[nkv++] = w;
		r = ckpt_gctl_template(kv, nkv, g->uid, g->dry, &g->e);
		if (r < 0 && g->e.code[0]) {
			char msg[sizeof g->e.msg];
			snprintf(msg, sizeof msg, "%s", g->e.msg);
			snprintf(g->e.msg, sizeof g->e.msg, "line %d: %s", lineno, msg);
		}
		return r;
	}
	if (!verb || !name || (strcmp(verb, "create") != 0 && strcmp(verb, "destroy") != 0)) {
		derr_set(&g->e, 0, "invalid_command",
			 "line %d: expected 'create NAME [key=value ...]', "
			 "'destroy NAME' or 'template save|delete ...'",
			 lineno);
		return -EINVAL;
	}
	if (!util_name_valid(name)) {
		derr_set(&g->e, 0, "invalid_name",
			 "line %d: '%.80s' is not a session name "
			 "([A-Za-z0-9][A-Za-z0-9._-]{0,63})",
			 lineno, name);
		return -EINVAL;
	}
	if (strcmp(verb, "destroy") == 0) {
		if (strtok_r(NULL, " \t", &save)) {
			return derr_set(&g->e, EINVAL, "invalid_command",
					"line %d: destroy takes a name only", lineno);
		}
		if (g->dry)
			return 0;
		struct sess *s = sess_get(name);
		int may = s && sess_may_access(s, g->uid);
		sess_put(s);
		if (!s || !may) {
			return derr_set(&g->e, s ? EACCES : ENOENT, s ? "not_yours" : "no_such_session",
					"line %d: session '%s' %s", lineno, name,
					s ? "belongs to another user" : "does not exist");
		}
		int r = sess_destroy(name);
		if (r < 0)
			derr_set(&g->e, -r, "destroy_failed", "line %d: session '%s' could not be destroyed: %s (see its error file)",
				 lineno, name, strerror(-r));
		return r;
	}
	/* a fork (from=NAME/C, or template=T of a saved template) is made by ckpt.c */
	char *rest = save ? save : (char *)"";
	char *copy = strdup(rest), *s2 = NULL;
	if (!copy)
		return -ENOMEM;
	for (char *w = strtok_r(copy, " \t", &s2); w && nkv < 64; w = strtok_r(NULL, " \t", &s2))
		kv[nkv++] = w;
	r = ckpt_gctl_create(name, kv, nkv, g->uid, g->gid, g->dry, &g->e);
	free(copy);
	if (r != 0)
		return r < 0 ? r : 0;
	struct sess_conf conf = sess_options()->defaults;
	char kverr[300];
	int prov_given = 0, tmpl_given = 0;
	for (char *kv = strtok_r(NULL, " \t", &save); kv; kv = strtok_r(NULL, " \t", &save)) {
		char *eq = strchr(kv, '=');
		if (!eq || eq == kv) {
			derr_set(&g->e, 0, "invalid_command",
				 "line %d: '%.60s' is not key=value", lineno, kv);
			return -EINVAL;
		}
		*eq = '\0';
		if (set_parse(&conf, kv, eq + 1, kverr, sizeof kverr) < 0) {
			derr_set(&g->e, 0, "invalid_setting", "line %d: %s", lineno, kverr);
			return -EINVAL;
		}
		prov_given |= strcmp(kv, "provider") == 0;
		tmpl_given |= strcmp(kv, "template") == 0;
	}
	/* template= implies provider=qemu; a mount's default template= stays
	 * with qemu sessions (core/tmpl.h) */
	if (tmpl_given && conf.template[0] && !prov_given)
		snprintf(conf.provider, sizeof conf.provider, "qemu");
	if (prov_given && !tmpl_given && strcmp(conf.provider, "qemu") != 0)
		conf.template[0] = '\0';
	if (g->dry) {
		struct sess_conf tc = conf;
		int r = tmpl_conf_check(&tc, &g->e);
		if (r < 0)
			derr_prefix(&g->e, "line %d: ", lineno);
		return r;
	}
	return sess_create(name, &conf, g->uid, g->gid, NULL, &g->e);
}

int sess_global_ctl_check(const char *text, size_t len, char *err, size_t errlen)
{
	struct gctl g = {.dry = 1};
	int r = memchr(text, '\0', len) ? -EINVAL : sess_for_each_line(text, len, gctl_line, &g);
	if (r < 0)
		snprintf(err, errlen, "%s: %s", g.e.code[0] ? g.e.code : "invalid_command",
			 g.e.code[0] ? g.e.msg : "NUL byte");
	return r;
}

int sess_global_ctl(const char *text, size_t len, uid_t uid, gid_t gid, struct derr *e)
{
	struct gctl g = {.dry = 1, .uid = uid, .gid = gid};
	if (memchr(text, '\0', len))
		return derr_set(e, EINVAL, "invalid_command", "NUL byte in a .ctl write");
	/* Validate every line first: malformed input performs nothing. */
	int r = sess_for_each_line(text, len, gctl_line, &g);
	if (r == 0) {
		g.dry = 0;
		r = sess_for_each_line(text, len, gctl_line, &g);
	}
	if (r < 0) {
		*e = g.e;
		if (!e->code[0])
			derr_set(e, -r, "invalid_command", "cannot parse the .ctl write");
		if (!e->err)
			e->err = -r;
	}
	return r;
}

void sess_global_info(struct buf *out)
{
	const struct sess_opts *o = sess_options();
	buf_printf(out,
		   "deskfs %s\n"
		   "# defaults for mkdir; write 'create NAME key=value ...' or 'destroy NAME'\n",
		   DESKFS_VERSION);
	set_describe(&o->defaults, out);
	buf_printf(out, "state_dir=%s\nmax_sessions=%d\nmax_user_sessions=%d\n", o->statedir,
		   o->max_sessions, o->max_user_sessions);
}

void sess_providers_json(struct buf *out)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "default", sess_options()->defaults.provider);
	cJSON *arr = cJSON_AddArrayToObject(j, "providers");
	for (const struct prov_ops *const *p = prov_registered(); *p; p++) {
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
