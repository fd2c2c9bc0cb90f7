/*
 * svc_procs.c - the procs routes (procs.h does the work):
 *
 *	POST   /v1/procs              {"tag":"t1","argv":["make","-j2"],"cwd":"/w",
 *	                               "env":{"K":"V"},"pty":"24x80"}  -> 201 status
 *	GET    /v1/procs              {"procs":[status, ...]}
 *	GET    /v1/procs/TAG          status
 *	GET    /v1/procs/TAG/stdout?offset=N&len=L&wait_ms=M   (and /stderr): bytes from N,
 *	                              X-Deskfs-Size, -Start, -Dropped, -Offset, -Ended
 *	GET    /v1/procs/TAG/exit?wait_ms=M   "0\n", "signal 9\n"; 202 while it runs
 *	POST   /v1/procs/TAG/stdin    raw bytes -> {"written":n}; 410 once closed
 *	POST   /v1/procs/TAG/ctl      signal TERM|KILL|...|N, eof, resize ROWSxCOLS
 *	DELETE /v1/procs/TAG          forgets an ended program (409 while it runs)
 *
 *	curl --unix-socket S -H "Authorization: Bearer $T" \
 *	     -d '{"tag":"t","argv":["sh","-c","echo hi"]}' http://x/v1/procs
 *	curl ... 'http://x/v1/procs/t/exit?wait_ms=5000'
 *
 * A start runs on the procs runner (it forks and waits for exec's word);
 * everything else runs on the HTTP thread and never waits: a read with
 * nothing new yet, an exit that has not come and stdin into a full pipe
 * are parked (svc_later) and answered by the procs I/O thread. ctx is the
 * struct procs. Errors carry their errno (svc_reply_errno).
 */
#include "agent/svc_all.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/procs.h"

/* "/v1/procs/TAG/what" -> tag and what ("" for none); -EINVAL past that. */
static int split(const char *path, char *tag, size_t taglen, const char **what)
{
	const char *p = strstr(path, "/procs/"), *slash;
	size_t n;

	if (!p)
		return -EINVAL;
	p += strlen("/procs/");
	slash = strchr(p, '/');
	n = slash ? (size_t)(slash - p) : strlen(p);
	if (n == 0 || n >= taglen)
		return -EINVAL;
	memcpy(tag, p, n);
	tag[n] = 0;
	*what = slash ? slash + 1 : "";
	return strchr(*what, '/') ? -EINVAL : 0;
}

static int parse_u64(const char *s, unsigned long long *out)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || *end ? -EINVAL : 0;
}

/* wait_ms (absent: 0), cut to the most a request may be parked. */
static int wait_arg(const struct svc_req *rq, int *ms)
{
	const char *s = svc_arg(rq, "wait_ms");
	unsigned long long v = 0;

	if (s && parse_u64(s, &v) < 0)
		return -EINVAL;
	*ms = v > PROCS_WAIT_MAX_MS ? PROCS_WAIT_MAX_MS : (int)v;
	return 0;
}

static void not_found(struct svc_reply *rep, const struct svc_req *rq)
{
	svc_reply_error(rep, 404, "not_found", "no such endpoint");
	(void)rq;
}

static void post_start(void *ctx, const struct svc_req *rq, struct svc_reply *rep)
{
	struct procs_start_args a = {0};
	cJSON *j = cJSON_ParseWithLength(rq->body, rq->len), *it, *v;
	const char **argv = NULL;
	struct procs_env *env = NULL;
	int n, i, k = -1;

	if (!cJSON_IsObject(j)) {
		svc_reply_errno(rep, EINVAL, "bad_json", "the body is a JSON object: "
		                "{\"tag\":\"t\",\"argv\":[\"prog\",\"arg\"],...}");
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "tag");
	if (!v)
		v = cJSON_GetObjectItemCaseSensitive(j, "start");
	a.tag = cJSON_IsString(v) ? v->valuestring : NULL;
	v = cJSON_GetObjectItemCaseSensitive(j, "argv");
	n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : -1;
	if (n < 0 || !(argv = calloc((size_t)n + 1, sizeof *argv)))
		goto bad;
	i = 0;
	cJSON_ArrayForEach(it, v)
	{
		if (!cJSON_IsString(it))
			goto bad;
		argv[i++] = it->valuestring;
	}
	a.argv = argv;
	a.argc = n;
	v = cJSON_GetObjectItemCaseSensitive(j, "cwd");
	if (v && !cJSON_IsNull(v) && !cJSON_IsString(v))
		goto bad;
	a.cwd = cJSON_IsString(v) ? v->valuestring : NULL;
	v = cJSON_GetObjectItemCaseSensitive(j, "env");
	if (v && !cJSON_IsNull(v)) {
		if (!cJSON_IsObject(v))
			goto bad;
		n = cJSON_GetArraySize(v);
		env = calloc((size_t)n + 1, sizeof *env);
		if (!env)
			goto bad;
		i = 0;
		cJSON_ArrayForEach(it, v)
		{
			if (!cJSON_IsString(it) || !it->string)
				goto bad;
			env[i].key = it->string;
			env[i++].value = it->valuestring;
		}
		a.env = env;
		a.nenv = n;
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "pty");
	if (cJSON_IsString(v)) {
		if (sscanf(v->valuestring, "%ux%u%n", &a.rows, &a.cols, &k) != 2 ||
		    k != (int)strlen(v->valuestring))
			goto bad;
		a.pty = 1;
	} else if (v && !cJSON_IsNull(v) && !cJSON_IsFalse(v)) {
		goto bad;
	}
	procs_start(ctx, &a, rep);
	goto out;

bad:
	svc_reply_errno(rep, EINVAL, "bad_request",
	                "tag: a string; argv: an array of strings; cwd: a string; env: an "
	                "object of strings; pty: \"ROWSxCOLS\"");
out:
	free(argv);
	free(env);
	cJSON_Delete(j);
}

static void get_list(void *ctx, const struct svc_req *rq, struct svc_reply *rep)
{
	procs_list(ctx, rep);
}

static void get_sub(void *ctx, const struct svc_req *rq, struct svc_reply *rep)
{
	unsigned long long off = 0, len = PROCS_READ_MAX;
	const char *what, *s;
	char tag[80];
	int ms;

	if (split(rq->path, tag, sizeof tag, &what) < 0) {
		not_found(rep, rq);
		return;
	}
	if (!*what) {
		procs_status(ctx, tag, rep);
		return;
	}
	if (wait_arg(rq, &ms) < 0) {
		svc_reply_errno(rep, EINVAL, "bad_wait", "wait_ms is a number of milliseconds");
		return;
	}
	if (!strcmp(what, "exit")) {
		procs_exit(ctx, tag, ms, rep);
		return;
	}
	if (strcmp(what, "stdout") && strcmp(what, "stderr")) {
		not_found(rep, rq);
		return;
	}
	s = svc_arg(rq, "offset");
	if (s && parse_u64(s, &off) < 0) {
		svc_reply_errno(rep, EINVAL, "bad_offset", "offset is a byte offset");
		return;
	}
	s = svc_arg(rq, "len");
	if (s && (parse_u64(s, &len) < 0 || len == 0)) {
		svc_reply_errno(rep, EINVAL, "bad_len", "len is a count of bytes, 1 or more");
		return;
	}
	procs_read(ctx, tag, !strcmp(what, "stderr"), off, len > PROCS_READ_MAX ? PROCS_READ_MAX : len,
	           ms, rep);
}

static void post_sub(void *ctx, const struct svc_req *rq, struct svc_reply *rep)
{
	const char *what;
	char tag[80];

	if (split(rq->path, tag, sizeof tag, &what) < 0) {
		not_found(rep, rq);
		return;
	}
	if (!strcmp(what, "stdin")) {
		procs_stdin(ctx, tag, rq->body, rq->len, rep);
		return;
	}
	if (!strcmp(what, "ctl")) {
		procs_ctl(ctx, tag, rq->body, rq->len, rep);
		return;
	}
	not_found(rep, rq);
}

static void delete_tag(void *ctx, const struct svc_req *rq, struct svc_reply *rep)
{
	const char *what;
	char tag[80];

	if (split(rq->path, tag, sizeof tag, &what) < 0 || *what) {
		not_found(rep, rq);
		return;
	}
	procs_forget(ctx, tag, rep);
}

static const struct svc_route routes[] = {
    {"POST", "/procs", post_start, SVC_BODY},
    {"GET", "/procs", get_list, SVC_INLINE},
    {"GET", "/procs/", get_sub, SVC_PREFIX | SVC_INLINE},
    {"POST", "/procs/", post_sub, SVC_PREFIX | SVC_INLINE | SVC_BODY},
    {"DELETE", "/procs/", delete_tag, SVC_PREFIX | SVC_INLINE},
};

const struct svc_def svc_procs = {"procs", routes, sizeof routes / sizeof routes[0]};
