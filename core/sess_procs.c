/*
 * sess_procs.c - see sess_procs.h.
 *
 * The start line: words are split as a shell splits them (single quotes
 * literal, double quotes with \" \\ \$ \` escapes, a backslash outside
 * quotes escapes the next character), with no expansion; the JSON form
 * takes argv as given. Both become the agent's request body.
 */
#include "core/sess_procs.h"
#include "core/agentc.h"
#include "core/sess_int.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PROC_LINES 64
#define MAX_ARGS 4096

/* ---- splitting a line as a shell would (no expansion) ---- */

struct words {
	char **v;
	int n, cap;
};

static void words_free(struct words *w)
{
	for (int i = 0; i < w->n; i++)
		free(w->v[i]);
	free(w->v);
	memset(w, 0, sizeof *w);
}

static int words_add(struct words *w, struct buf *cur)
{
	if (w->n >= MAX_ARGS)
		return -E2BIG;
	if (w->n == w->cap) {
		int cap = w->cap ? w->cap * 2 : 16;
		char **v = realloc(w->v, (size_t)cap * sizeof *v);
		if (!v)
			return -ENOMEM;
		w->v = v;
		w->cap = cap;
	}
	if (buf_append(cur, "", 0) < 0)
		return -ENOMEM;
	w->v[w->n++] = buf_steal(cur, NULL);
	return 0;
}

static int split_words(const char *l, struct words *w, struct derr *e)
{
	struct buf cur = BUF_INIT;
	int in_word = 0, r = 0;
	for (const char *p = l;; p++) {
		char c = *p;
		if (c == '\0' || c == ' ' || c == '\t') {
			if (in_word && (r = words_add(w, &cur)) < 0)
				break;
			in_word = 0;
			if (c == '\0')
				break;
			continue;
		}
		in_word = 1;
		if (c == '\\') {
			if (!p[1]) {
				r = derr_set(e, EINVAL, "invalid_command", "a backslash ends the line");
				break;
			}
			r = buf_append(&cur, ++p, 1);
		} else if (c == '\'') {
			const char *q = strchr(p + 1, '\'');
			if (!q) {
				r = derr_set(e, EINVAL, "invalid_command", "a single quote is not closed");
				break;
			}
			r = buf_append(&cur, p + 1, (size_t)(q - p - 1));
			p = q;
		} else if (c == '"') {
			for (p++; *p && *p != '"' && r == 0; p++) {
				if (*p == '\\' && p[1] && strchr("\"\\$`", p[1]))
					p++;
				r = buf_append(&cur, p, 1);
			}
			if (!*p) {
				r = derr_set(e, EINVAL, "invalid_command", "a double quote is not closed");
				break;
			}
		} else {
			r = buf_append(&cur, p, 1);
		}
		if (r < 0)
			break;
	}
	if (r < 0 && !e->code[0])
		derr_set(e, -r, "invalid_command", "%s", r == -E2BIG ? "too many words" : strerror(-r));
	buf_free(&cur);
	return r;
}

/* ---- checks shared by both forms ---- */

static int env_name_ok(const char *k)
{
	if (!k[0] || (k[0] >= '0' && k[0] <= '9'))
		return 0;
	for (const char *p = k; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return 0;
	return 1;
}

static int pty_ok(const char *v)
{
	int rows, cols;
	return util_parse_size(v, 1, 4096, &rows, &cols) == 0;
}

static int tag_check(const char *tag, struct derr *e)
{
	if (util_name_valid(tag))
		return 0;
	return derr_set(e, EINVAL, "invalid_tag",
			"'%.80s' is not a tag ([A-Za-z0-9][A-Za-z0-9._-]{0,63})", tag ? tag : "");
}

/* start TAG [cwd=DIR] [env.K=V ...] [pty=RxC] -- PROG ARG... */
static cJSON *parse_text_start(const char *l, struct derr *e)
{
	struct words w = {0};
	cJSON *body = NULL;
	int i;
	if (split_words(l, &w, e) < 0)
		goto out;
	if (w.n < 2 || strcmp(w.v[0], "start") != 0) {
		derr_set(e, EINVAL, "invalid_command",
			 "expected 'start TAG [cwd=DIR] [env.K=V ...] [pty=ROWSxCOLS] -- PROGRAM "
			 "ARG...'");
		goto out;
	}
	if (tag_check(w.v[1], e) < 0)
		goto out;
	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "tag", w.v[1]);
	cJSON *env = NULL;
	for (i = 2; i < w.n && strcmp(w.v[i], "--") != 0; i++) {
		const char *o = w.v[i];
		if (strncmp(o, "cwd=", 4) == 0 && o[4] && !cJSON_GetObjectItem(body, "cwd")) {
			cJSON_AddStringToObject(body, "cwd", o + 4);
		} else if (strncmp(o, "pty=", 4) == 0 && pty_ok(o + 4) &&
			   !cJSON_GetObjectItem(body, "pty")) {
			cJSON_AddStringToObject(body, "pty", o + 4);
		} else if (strncmp(o, "env.", 4) == 0 && strchr(o, '=')) {
			char *eq = strchr(o, '=');
			*eq = '\0';
			if (!env_name_ok(o + 4)) {
				derr_set(e, EINVAL, "invalid_command", "'%.60s' is not a variable name",
					 o + 4);
				goto fail;
			}
			if (!env)
				env = cJSON_AddObjectToObject(body, "env");
			cJSON_DeleteItemFromObjectCaseSensitive(env, o + 4);
			cJSON_AddStringToObject(env, o + 4, eq + 1);
		} else {
			derr_set(e, EINVAL, "invalid_command",
				 "'%.60s' is not an option of start (cwd=DIR, env.NAME=VALUE, "
				 "pty=ROWSxCOLS, each at most once), or '--' is missing before the "
				 "program",
				 o);
			goto fail;
		}
	}
	if (i >= w.n || i + 1 >= w.n) {
		derr_set(e, EINVAL, "invalid_command",
			 i >= w.n ? "'--' and the program are missing: start TAG -- PROGRAM ARG..."
				  : "no program after '--'");
		goto fail;
	}
	cJSON *argv = cJSON_AddArrayToObject(body, "argv");
	for (i++; i < w.n; i++)
		cJSON_AddItemToArray(argv, cJSON_CreateString(w.v[i]));
	goto out;
fail:
	cJSON_Delete(body);
	body = NULL;
out:
	words_free(&w);
	return body;
}

/* {"start":"t1","argv":[...],"cwd":"/w","env":{"K":"V"},"pty":"24x80"} */
static cJSON *parse_json_start(const char *l, struct derr *e)
{
	cJSON *j = cJSON_Parse(l), *body = NULL, *it;
	if (!cJSON_IsObject(j)) {
		derr_set(e, EINVAL, "invalid_command", "not a JSON object");
		goto out;
	}
	const char *tag = cJSON_GetStringValue(cJSON_GetObjectItem(j, "start"));
	cJSON *argv = cJSON_GetObjectItem(j, "argv"), *env = cJSON_GetObjectItem(j, "env");
	cJSON *cwd = cJSON_GetObjectItem(j, "cwd"), *pty = cJSON_GetObjectItem(j, "pty");
	if (!tag) {
		derr_set(e, EINVAL, "invalid_command", "the JSON form needs \"start\": TAG");
		goto out;
	}
	if (tag_check(tag, e) < 0)
		goto out;
	int n = cJSON_GetArraySize(argv);
	if (!cJSON_IsArray(argv) || n < 1 || n > MAX_ARGS) {
		derr_set(e, EINVAL, "invalid_command", "\"argv\" must be an array of 1 to %d strings",
			 MAX_ARGS);
		goto out;
	}
	cJSON_ArrayForEach(it, argv)
	{
		if (!cJSON_IsString(it)) {
			derr_set(e, EINVAL, "invalid_command", "\"argv\" holds something not a string");
			goto out;
		}
	}
	if ((cwd && (!cJSON_IsString(cwd) || !cwd->valuestring[0])) ||
	    (pty && (!cJSON_IsString(pty) || !pty_ok(pty->valuestring))) ||
	    (env && !cJSON_IsObject(env))) {
		derr_set(e, EINVAL, "invalid_command",
			 "\"cwd\" is a path, \"pty\" \"ROWSxCOLS\", \"env\" an object of strings");
		goto out;
	}
	cJSON_ArrayForEach(it, env)
	{
		if (!cJSON_IsString(it) || !env_name_ok(it->string)) {
			derr_set(e, EINVAL, "invalid_command", "\"env\": '%.60s' is not NAME: \"VALUE\"",
				 it->string);
			goto out;
		}
	}
	static const char *const keys[] = {"start", "argv", "cwd", "env", "pty", NULL};
	for (it = j->child; it; it = it->next) {
		int known = 0;
		for (int k = 0; keys[k]; k++)
			known |= strcmp(it->string, keys[k]) == 0;
		if (!known) {
			derr_set(e, EINVAL, "invalid_command", "unknown key \"%.40s\"", it->string);
			goto out;
		}
	}
	body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "tag", tag);
	cJSON_AddItemToObject(body, "argv", cJSON_Duplicate(argv, 1));
	if (cwd)
		cJSON_AddItemToObject(body, "cwd", cJSON_Duplicate(cwd, 1));
	if (env)
		cJSON_AddItemToObject(body, "env", cJSON_Duplicate(env, 1));
	if (pty)
		cJSON_AddItemToObject(body, "pty", cJSON_Duplicate(pty, 1));
out:
	cJSON_Delete(j);
	return body;
}

/* Each non-blank, non-comment line of text, trimmed, to fn; stops at the first error. */
static int each_line(const char *text, size_t len, int (*fn)(char *, int, void *), void *ctx,
		     struct derr *e)
{
	if (memchr(text, '\0', len))
		return derr_set(e, EINVAL, "invalid_command", "a NUL byte in the write");
	int r = sess_for_each_line(text, len, fn, ctx);
	if (r == -ENOMEM && !e->code[0])
		derr_set(e, ENOMEM, "internal", "out of memory");
	return r;
}

struct start_parse {
	cJSON *bodies[MAX_PROC_LINES];
	int n;
	struct derr e;
};

static int start_line(char *l, int lineno, void *ctx)
{
	struct start_parse *p = ctx;
	if (p->n >= MAX_PROC_LINES)
		return derr_set(&p->e, E2BIG, "too_many_commands", "at most %d lines per write",
				MAX_PROC_LINES);
	cJSON *b = l[0] == '{' ? parse_json_start(l, &p->e) : parse_text_start(l, &p->e);
	if (!b) {
		derr_prefix(&p->e, "line %d: ", lineno);
		return -derr_errno(&p->e, EINVAL);
	}
	p->bodies[p->n++] = b;
	return 0;
}

static int start_parse(const char *text, size_t len, struct start_parse *p)
{
	int r = each_line(text, len, start_line, p, &p->e);
	if (r < 0 && !p->e.err)
		p->e.err = -r;
	return r;
}

static void start_parse_free(struct start_parse *p)
{
	for (int i = 0; i < p->n; i++)
		cJSON_Delete(p->bodies[i]);
}

int sess_procs_ctl_check(const char *text, size_t len, struct buf *bodies, char *err,
			 size_t errlen)
{
	struct start_parse p = {.e = DERR_INIT};
	int r = start_parse(text, len, &p);
	for (int i = 0; r == 0 && bodies && i < p.n; i++) {
		char *t = cJSON_PrintUnformatted(p.bodies[i]);
		if (t)
			buf_printf(bodies, "%s\n", t);
		free(t);
	}
	if (r < 0)
		snprintf(err, errlen, "%s: %s", p.e.code, p.e.msg);
	start_parse_free(&p);
	return r;
}

int sess_procs_ctl(struct sess *s, const char *text, size_t len, sess_intr_fn intr, void *arg)
{
	struct start_parse *p = calloc(1, sizeof *p);
	struct buf out = BUF_INIT;
	if (!p)
		return -ENOMEM;
	int r = start_parse(text, len, p);
	if (r < 0) { /* malformed: nothing of it runs */
		sess_fail(s, 0, &p->e);
	} else if (!sess_agent_can(s, "procs")) {
		sess_error(s, 0, ENOTSUP, "not_supported",
			   "the agent of session '%s' does not run programs", s->name);
		r = -ENOTSUP;
	}
	for (int i = 0; r == 0 && i < p->n; i++) {
		char *body = cJSON_PrintUnformatted(p->bodies[i]);
		struct agentc_req rq = {"POST", "/v1/procs", body, body ? strlen(body) : 0, NULL};
		r = body ? sess_agent_call(s, &rq, 0, &out, NULL, 0, intr, arg) : -ENOMEM;
		free(body);
	}
	buf_free(&out);
	start_parse_free(p);
	free(p);
	return r;
}

void sess_procs_ctl_help(struct buf *out)
{
	buf_printf(out, "# write one line per program:\n"
			"#   start TAG [cwd=DIR] [env.NAME=VALUE ...] [pty=ROWSxCOLS] -- PROGRAM ARG...\n"
			"#   {\"start\":\"TAG\",\"argv\":[\"PROGRAM\",\"ARG\"],\"cwd\":\"DIR\",\"env\":{},"
			"\"pty\":\"24x80\"}\n"
			"# then procs/TAG/: status stdout stderr stdin ctl exit\n");
}

/* ---- one program ---- */

static int ctl_line_ok(char *l, int lineno, void *ctx)
{
	struct derr *e = ctx;
	static const char *const sigs[] = {"TERM", "KILL", "INT", "HUP", "STOP", "CONT", NULL};
	long n;
	int rows, cols;
	if (strcmp(l, "eof") == 0)
		return 0;
	if (strncmp(l, "resize ", 7) == 0 && util_parse_size(l + 7, 1, 4096, &rows, &cols) == 0)
		return 0;
	if (strncmp(l, "signal ", 7) == 0) {
		const char *v = l + 7;
		for (int i = 0; sigs[i]; i++)
			if (strcmp(v, sigs[i]) == 0)
				return 0;
		if (util_parse_int(v, 1, 64, &n) == 0)
			return 0;
	}
	return derr_set(e, EINVAL, "invalid_command",
			"line %d: '%.60s' is not a command (signal TERM|KILL|INT|HUP|STOP|CONT|N, "
			"eof, resize ROWSxCOLS)",
			lineno, l);
}

struct ctl_send {
	struct sess *s;
	const char *tag;
	sess_intr_fn intr;
	void *arg;
};

static int ctl_line_send(char *l, int lineno, void *ctx)
{
	struct ctl_send *c = ctx;
	char path[128];
	struct buf out = BUF_INIT;
	snprintf(path, sizeof path, "/v1/procs/%s/ctl", c->tag);
	struct agentc_req rq = {"POST", path, l, strlen(l), NULL};
	int r = sess_agent_call(c->s, &rq, 0, &out, NULL, 0, c->intr, c->arg);
	buf_free(&out);
	return r;
}

int sess_proc_ctl(struct sess *s, const char *tag, const char *text, size_t len,
		  sess_intr_fn intr, void *arg)
{
	struct derr e = DERR_INIT;
	struct ctl_send c = {s, tag, intr, arg};
	int r = tag_check(tag, &e) < 0 ? -EINVAL : each_line(text, len, ctl_line_ok, &e, &e);
	if (r < 0) {
		sess_fail(s, 0, &e);
		return r;
	}
	return each_line(text, len, ctl_line_send, &c, &e);
}

void sess_proc_ctl_help(struct buf *out)
{
	buf_printf(out, "# write one command per line:\n"
			"#   signal TERM|KILL|INT|HUP|STOP|CONT|N   eof   resize ROWSxCOLS\n");
}

int sess_procs_list(struct sess *s, struct buf *names)
{
	struct buf out = BUF_INIT;
	struct agentc_req rq = {"GET", "/v1/procs", NULL, 0, NULL};
	int r = sess_agent_call(s, &rq, 0, &out, NULL, SESS_CALL_NOWAIT | SESS_CALL_SILENT, NULL,
				NULL);
	if (r == 0) {
		cJSON *j = cJSON_ParseWithLength(out.data, out.len), *p;
		cJSON_ArrayForEach(p, cJSON_GetObjectItem(j, "procs"))
		{
			const char *tag = cJSON_GetStringValue(cJSON_GetObjectItem(p, "tag"));
			if (tag && util_name_valid(tag))
				buf_append(names, tag, strlen(tag) + 1);
		}
		cJSON_Delete(j);
	}
	buf_free(&out);
	return r == -EAGAIN ? 0 : r;
}

static int status_of(struct sess *s, const char *tag, unsigned flags, struct buf *out,
		     sess_intr_fn intr, void *arg)
{
	char path[128];
	struct derr e = DERR_INIT;
	if (tag_check(tag, &e) < 0)
		return -ENOENT;
	snprintf(path, sizeof path, "/v1/procs/%s", tag);
	struct agentc_req rq = {"GET", path, NULL, 0, NULL};
	return sess_agent_call(s, &rq, 0, out, NULL, flags, intr, arg);
}

int sess_proc_exists(struct sess *s, const char *tag, sess_intr_fn intr, void *arg)
{
	struct buf out = BUF_INIT;
	int r = status_of(s, tag, SESS_CALL_WAIT_STARTING | SESS_CALL_SILENT, &out, intr, arg);
	buf_free(&out);
	return r == -EAGAIN ? -ENOENT : r;
}

int sess_proc_status(struct sess *s, const char *tag, struct buf *out, sess_intr_fn intr,
		     void *arg)
{
	struct buf raw = BUF_INIT;
	int r = status_of(s, tag, SESS_CALL_QUIET, &raw, intr, arg);
	if (r == 0) { /* as the agent says it, one field a line */
		cJSON *j = cJSON_ParseWithLength(raw.data, raw.len);
		char *txt = j ? cJSON_Print(j) : NULL;
		if (txt)
			buf_printf(out, "%s\n", txt);
		else
			r = -EIO;
		free(txt);
		cJSON_Delete(j);
	}
	buf_free(&raw);
	return r;
}

int sess_proc_size(struct sess *s, const char *tag, int err, long long *size)
{
	struct buf out = BUF_INIT;
	int r = status_of(s, tag, SESS_CALL_NOWAIT | SESS_CALL_SILENT, &out, NULL, NULL);
	if (r == 0) {
		cJSON *j = cJSON_ParseWithLength(out.data, out.len);
		cJSON *n = cJSON_GetObjectItem(j, err ? "stderr_size" : "stdout_size");
		if (cJSON_IsNumber(n))
			*size = (long long)n->valuedouble;
		else
			r = -EIO;
		cJSON_Delete(j);
	}
	buf_free(&out);
	return r;
}

int sess_proc_output(struct sess *s, const char *tag, int err, long long off, size_t len,
		     struct buf *out, struct sess_output *info, sess_intr_fn intr, void *arg)
{
	char path[192];
	struct agentc_resp resp;
	struct derr e = DERR_INIT;
	if (tag_check(tag, &e) < 0)
		return -ENOENT;
	snprintf(path, sizeof path, "/v1/procs/%s/%s?offset=%lld&len=%zu", tag,
		 err ? "stderr" : "stdout", off, len);
	struct agentc_req rq = {"GET", path, NULL, 0, NULL};
	int r = sess_agent_call(s, &rq, 0, out, &resp, SESS_CALL_QUIET, intr, arg);
	if (r == -EINVAL) { /* past what it has written: as a file past its end, nothing */
		buf_reset(out);
		resp.size = off;
		resp.start = off;
		resp.dropped = 0;
		resp.ended = 0;
		r = 0;
	}
	if (r == 0) {
		info->size = resp.size;
		info->start = resp.start >= 0 ? resp.start : off;
		info->dropped = resp.dropped;
		info->ended = resp.ended;
		if (out->len > len) /* an agent that ignores len */
			out->len = len;
	}
	return r;
}

int sess_proc_forget(struct sess *s, const char *tag)
{
	char path[128];
	struct buf out = BUF_INIT;
	struct derr e = DERR_INIT;
	if (tag_check(tag, &e) < 0)
		return -ENOENT;
	snprintf(path, sizeof path, "/v1/procs/%s", tag);
	struct agentc_req rq = {"DELETE", path, NULL, 0, NULL};
	int r = sess_agent_call(s, &rq, 0, &out, NULL, 0, NULL, NULL);
	buf_free(&out);
	return r;
}

/* ---- parked requests ---- */

enum async_kind { ASYNC_EXIT, ASYNC_STDIN };

/*
 * One parked request, across the agent requests it takes (an exit is asked
 * again every wait_ms). Its lock is taken by the caller's cancel and by the
 * loop thread's done, and held across agentc_submit (which only queues), so
 * a done never finds a job not yet recorded. fn runs with no lock held.
 */
struct sess_async {
	int refs;               /* atomic: the caller's, and one while in flight */
	pthread_mutex_t lock;
	struct agentc_job *job; /* lock: the agent request in flight (a reference) */
	int cancelled;          /* lock */
	struct agentc *c;       /* a reference: to ask again */
	struct sess *s;         /* a reference */
	enum async_kind kind;
	char tag[65];
	char path[160];
	long wait_ms, bound;
	size_t bytes; /* counted in s->parked_bytes until done */
	sess_async_fn fn;
	void *arg;
};

void sess_async_put(struct sess_async *a)
{
	if (!a || __atomic_sub_fetch(&a->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	agentc_job_unref(a->job);
	agentc_unref(a->c);
	sess_put(a->s);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

void sess_async_cancel(struct sess_async *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->cancelled = 1;
	struct agentc_job *j = agentc_job_ref(a->job);
	pthread_mutex_unlock(&a->lock);
	agentc_job_cancel(j);
	agentc_job_unref(j);
}

static void async_done(struct agentc_job *j, void *arg, int r, struct buf *body,
		       const struct agentc_resp *resp, const struct derr *e);

/* Queue the next agent request of a; caller holds a->lock. */
static int async_send_locked(struct sess_async *a, const void *data, size_t len)
{
	struct agentc_req rq = {a->kind == ASYNC_STDIN ? "POST" : "GET", a->path, data, len, NULL};
	agentc_job_unref(a->job);
	a->job = agentc_submit(a->c, &rq, a->bound, async_done, a);
	return a->job ? 0 : -EIO;
}

/* On the loop thread: the agent's answer in the port's terms, errors in words. */
static void async_done(struct agentc_job *j, void *arg, int r, struct buf *body,
		       const struct agentc_resp *resp, const struct derr *e)
{
	struct sess_async *a = arg;
	struct sess *s = a->s;
	pthread_mutex_lock(&a->lock);
	if (r == 0 && a->kind == ASYNC_EXIT && resp->status == 202) {
		/* still running after wait_ms: ask again, unless the caller gave up */
		if (a->wait_ms > 0 && !a->cancelled && async_send_locked(a, NULL, 0) == 0) {
			pthread_mutex_unlock(&a->lock);
			return;
		}
		r = a->cancelled ? -EINTR : a->wait_ms > 0 ? -ECANCELED : -EAGAIN;
	}
	pthread_mutex_unlock(&a->lock);
	if (r == 0 && a->kind == ASYNC_STDIN) {
		cJSON *jn = cJSON_ParseWithLength(body->data, body->len);
		cJSON *n = cJSON_GetObjectItem(jn, "written");
		r = cJSON_IsNumber(n) ? (int)n->valuedouble : -EIO;
		cJSON_Delete(jn);
	} else if (r == -ECANCELED) {
		sess_error(s, 0, EIO, "stopped",
			   "session '%s' stopped while program '%s' was waited on", s->name, a->tag);
		r = -EIO;
	} else if (r < 0 && r != -EINTR && r != -EPIPE && r != -EAGAIN) {
		sess_fail(s, 0, e);
	}
	a->fn(a->arg, r, r == 0 ? body : NULL);
	__atomic_sub_fetch(&s->parked_bytes, a->bytes, __ATOMIC_ACQ_REL);
	__atomic_sub_fetch(&s->parked, 1, __ATOMIC_ACQ_REL);
	sess_async_put(a); /* the in-flight reference */
}

static struct sess_async *submit(struct sess *s, enum async_kind kind, const char *tag,
				 const char *path, const void *data, size_t len, long wait_ms,
				 long bound, sess_async_fn fn, void *arg, int *r)
{
	struct derr e = DERR_INIT;
	if (tag_check(tag, &e) < 0) {
		*r = -ENOENT;
		return NULL;
	}
	/* a starting session is waited for, as any other call, bounded */
	if ((*r = sess_waiter_enter(s, &e)) < 0) {
		sess_fail(s, 0, &e);
		return NULL;
	}
	*r = sess_wait_ready(s, NULL, NULL);
	sess_waiter_leave(s);
	if (*r < 0)
		return NULL;
	/* bounded: what waits on programs holds no thread, but memory and connections */
	int over = __atomic_add_fetch(&s->parked, 1, __ATOMIC_ACQ_REL) > SESS_MAX_PARKED;
	over |= __atomic_add_fetch(&s->parked_bytes, len, __ATOMIC_ACQ_REL) > SESS_MAX_PARKED_BYTES;
	if (over) {
		size_t held = __atomic_sub_fetch(&s->parked_bytes, len, __ATOMIC_ACQ_REL);
		__atomic_sub_fetch(&s->parked, 1, __ATOMIC_ACQ_REL);
		sess_error(s, 0, EAGAIN, "busy",
			   "requests waiting on programs of session '%s' are at their bounds (%d "
			   "requests, %u bytes of input; %zu held now); retry when some have ended",
			   s->name, SESS_MAX_PARKED, SESS_MAX_PARKED_BYTES, held);
		*r = -EAGAIN;
		return NULL;
	}
	struct sess_async *a = calloc(1, sizeof *a);
	if (!a || !(a->c = sess_agent(s))) {
		free(a);
		__atomic_sub_fetch(&s->parked_bytes, len, __ATOMIC_ACQ_REL);
		__atomic_sub_fetch(&s->parked, 1, __ATOMIC_ACQ_REL);
		*r = a ? -EAGAIN : -ENOMEM;
		return NULL;
	}
	a->bytes = len;
	a->refs = 2; /* the caller's, the one in flight */
	pthread_mutex_init(&a->lock, NULL);
	a->s = s;
	__atomic_add_fetch(&s->refs, 1, __ATOMIC_ACQ_REL);
	a->kind = kind;
	snprintf(a->tag, sizeof a->tag, "%s", tag);
	snprintf(a->path, sizeof a->path, "%s", path);
	a->wait_ms = wait_ms;
	a->bound = bound;
	a->fn = fn;
	a->arg = arg;
	pthread_mutex_lock(&a->lock);
	*r = async_send_locked(a, data, len);
	pthread_mutex_unlock(&a->lock);
	if (*r < 0) { /* never in flight: both references go */
		__atomic_sub_fetch(&s->parked_bytes, len, __ATOMIC_ACQ_REL);
		__atomic_sub_fetch(&s->parked, 1, __ATOMIC_ACQ_REL);
		sess_async_put(a);
		sess_async_put(a);
		return NULL;
	}
	return a;
}

struct sess_async *sess_proc_exit_async(struct sess *s, const char *tag, long wait_ms,
					sess_async_fn fn, void *arg, int *r)
{
	char path[160];
	snprintf(path, sizeof path, "/v1/procs/%s/exit?wait_ms=%ld", tag, wait_ms);
	return submit(s, ASYNC_EXIT, tag, path, NULL, 0, wait_ms, wait_ms + sess_agent_timeout(s),
		      fn, arg, r);
}

struct sess_async *sess_proc_stdin_async(struct sess *s, const char *tag, const void *data,
					 size_t len, sess_async_fn fn, void *arg, int *r)
{
	char path[160];
	snprintf(path, sizeof path, "/v1/procs/%s/stdin", tag);
	/* no bound: a program that does not read its input keeps the writer waiting, as a
	 * pipe does; a signal ends the wait, and a hung agent fails its health probe */
	return submit(s, ASYNC_STDIN, tag, path, data ? data : "", len, 0, 0, fn, arg, r);
}
