/*
 * http.c - the agent's transport: libmicrohttpd, the token, the route
 * table, request bodies, and parking. It knows no X: what a route does is
 * its service's business (svc.h); where it runs is its mount's runner.
 *
 *	curl --unix-socket S -H "Authorization: Bearer $T" http://x/v1/health
 *	curl ... --data-binary 'click 10 10' http://x/v1/actions
 *
 * Errors are {"code":"...","message":"..."}: 401 unauthorized, 404
 * not_found, 405 method_not_allowed (with Allow), 413 too_large (a body
 * over 16 MiB), 503 stopping / busy (the service's worker is shutting down,
 * or too many requests wait for it).
 *
 * Threads. libmicrohttpd runs one internal polling thread, "the HTTP
 * thread", with MHD_ALLOW_SUSPEND_RESUME. Every callback below runs there:
 * it checks the token, routes, reads the body, and either
 *   - answers at once, for routes mounted with no runner (health): their
 *     handlers must not block; or
 *   - parks the request: it copies the request into a job, suspends the
 *     connection (MHD_suspend_connection) and queues the job on the route's
 *     runner. The runner's thread calls the handler, which fills the job's
 *     reply, marks the job done and resumes the connection
 *     (MHD_resume_connection); libmicrohttpd then calls on_request once
 *     more, on the HTTP thread, which turns the reply into the response.
 * So the HTTP thread never waits for a service, and /v1/health answers
 * while the X worker runs a "wait 60000" (which, in turn, lets routes
 * flagged SVC_READONLY run inside its pause: desk.c).
 *
 * Ownership of a parked job: the request (struct req, libmicrohttpd's
 * con_cls) owns it and frees it in on_completed. From the moment it is
 * queued until it resumes the connection, only the runner thread touches
 * it; it never touches it after MHD_resume_connection, and the HTTP thread
 * reads it only after that (a suspended connection gets no callbacks). A
 * client that hangs up while its job runs is noticed only after the
 * resume: the response fails to send, on_completed frees the job, and the
 * result is dropped. A suspended connection cannot time out.
 *
 * Stopping: the runners are stopped first (runner_stop answers every job
 * still queued with 503 stopping and waits for the running ones, each of
 * which resumes its connection), then http_stop() stops libmicrohttpd,
 * which must have no suspended connection left. A request that arrives in
 * between is dropped by its stopped runner at once (503).
 */
#include "agent/http.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>
#include <microhttpd.h>

#include "agent/runner.h"
#include "agent/svc.h"

#define MAX_BODY (16u << 20) /* bytes in one request body */
#define V1 "/v1"

struct route {
	const char *method;
	char path[96]; /* "/v1/health", or a legacy "/health" */
	svc_handler_fn *fn;
	unsigned flags;
	void *ctx;
	struct runner *runner;
};

struct http_server {
	struct MHD_Daemon *daemon;
	atomic_int inflight; /* requests begun and not yet completed (answered or dropped) */
	const char *token;
	size_t token_len;
	struct route *routes;
	size_t nroutes;
};

/* A request parked on a runner. */
struct job {
	struct runner_job rj; /* first: the runner hands back &rj */
	struct MHD_Connection *conn;
	const struct route *route;
	struct svc_req req;   /* read by the handler */
	struct svc_reply rep; /* filled by the handler (or drop) */
	atomic_int done;      /* set by the runner thread before it resumes conn */
};

/* Per request, behind libmicrohttpd's con_cls; freed in on_completed. */
struct req {
	const struct route *route; /* NULL: refused with status/code/msg */
	unsigned status;
	const char *code;
	char allow[32]; /* the Allow header of a 405 */
	char msg[256];
	char *body; /* SVC_BODY routes */
	size_t len, cap;
	int too_large;
	struct svc_hdr *hdr; /* copied request headers */
	int nhdr;
	int hdr_failed;  /* out of memory while copying them */
	struct job *job; /* parked on the route's runner */
};

/* ---- replies ---- */

/* Sends rep (its body is handed to libmicrohttpd, or released). */
static enum MHD_Result send_reply(struct MHD_Connection *c, struct svc_reply *rep)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (!rep->status)
		svc_reply_error(rep, 500, "internal", "the service gave no answer");
	if (rep->release)
		r = MHD_create_response_from_buffer_with_free_callback_cls(
		    rep->len, (void *)rep->data, rep->release, rep->release_cls);
	else /* static bytes, or none */
		r = MHD_create_response_from_buffer(rep->len, (void *)rep->data,
		                                    MHD_RESPMEM_PERSISTENT);
	if (!r) {
		svc_reply_clear(rep);
		return MHD_NO;
	}
	rep->release = NULL; /* the response owns the body now */
	for (int i = 0; i < rep->nhdr; i++)
		MHD_add_response_header(r, rep->hdr[i].name, rep->hdr[i].value);
	if (rep->ctype)
		MHD_add_response_header(r, "Content-Type", rep->ctype);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	ret = MHD_queue_response(c, rep->status, r);
	MHD_destroy_response(r);
	svc_reply_clear(rep);
	return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *code,
                                  const char *text, const char *allow)
{
	struct svc_reply rep = {0};

	svc_reply_error(&rep, status, code, text);
	if (allow)
		svc_reply_header(&rep, "Allow", "%s", allow);
	return send_reply(c, &rep);
}

/* ---- the request: auth, routing, headers, body ---- */

static int token_ok(const struct http_server *s, const char *hdr)
{
	volatile unsigned char diff = 0;
	size_t n;

	if (!hdr || strncmp(hdr, "Bearer ", 7) != 0)
		return 0;
	hdr += 7;
	n = strlen(hdr);
	diff |= n != s->token_len;
	for (size_t i = 0; i < s->token_len; i++)
		diff |= (unsigned char)(hdr[i < n ? i : n] ^ s->token[i]);
	return diff == 0;
}

/* The first call: auth and routing. A refusal is answered on the last
 * call, after the request has been read, so keep-alive survives. */
static void classify(struct http_server *s, struct MHD_Connection *c, const char *url,
                     const char *method, struct req *rq)
{
	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	int path_known = 0;

	if (!token_ok(s, auth)) {
		rq->status = MHD_HTTP_UNAUTHORIZED;
		rq->code = "unauthorized";
		snprintf(rq->msg, sizeof rq->msg, "missing or wrong token");
		return;
	}
	for (size_t i = 0; i < s->nroutes; i++) {
		const struct route *r = &s->routes[i];
		if (strcmp(url, r->path) != 0)
			continue;
		if (strcmp(method, r->method) == 0 ||
		    (strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0)) {
			rq->route = r;
			return;
		}
		if (!path_known++)
			snprintf(rq->allow, sizeof rq->allow, "%s", r->method);
		else /* another method on the same path */
			snprintf(rq->allow + strlen(rq->allow),
			         sizeof rq->allow - strlen(rq->allow), ", %s", r->method);
	}
	if (path_known) {
		rq->status = MHD_HTTP_METHOD_NOT_ALLOWED;
		rq->code = "method_not_allowed";
		snprintf(rq->msg, sizeof rq->msg, "%.80s takes %s", url, rq->allow);
		return;
	}
	rq->status = MHD_HTTP_NOT_FOUND;
	rq->code = "not_found";
	snprintf(rq->msg, sizeof rq->msg, "no such endpoint: %.200s", url);
}

/* Copies one request header; a repeated name gets ", value" appended. */
static enum MHD_Result copy_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
	struct req *rq = cls;
	struct svc_hdr *h;
	char *v;

	if (!key || !value || strcasecmp(key, "Authorization") == 0)
		return MHD_YES;
	for (int i = 0; i < rq->nhdr; i++) {
		h = &rq->hdr[i];
		if (strcasecmp(h->name, key) != 0)
			continue;
		if (asprintf(&v, "%s, %s", h->value, value) < 0) {
			rq->hdr_failed = 1;
			return MHD_NO;
		}
		free(h->value);
		h->value = v;
		return MHD_YES;
	}
	h = realloc(rq->hdr, (size_t)(rq->nhdr + 1) * sizeof *h);
	if (!h) {
		rq->hdr_failed = 1;
		return MHD_NO;
	}
	rq->hdr = h;
	h += rq->nhdr;
	h->name = strdup(key);
	h->value = strdup(value);
	if (!h->name || !h->value) {
		free(h->name);
		free(h->value);
		rq->hdr_failed = 1;
		return MHD_NO;
	}
	rq->nhdr++;
	return MHD_YES;
}

static void headers_free(struct svc_hdr *hdr, int n)
{
	for (int i = 0; i < n; i++) {
		free(hdr[i].name);
		free(hdr[i].value);
	}
	free(hdr);
}

static int body_append(struct req *rq, const char *data, size_t n)
{
	size_t want;
	char *nb;

	if (rq->too_large)
		return 0;
	if (n > MAX_BODY - rq->len) {
		rq->too_large = 1;
		free(rq->body);
		rq->body = NULL;
		rq->len = rq->cap = 0;
		return 0;
	}
	if (rq->len + n + 1 > rq->cap) {
		want = rq->cap ? rq->cap : 4096;
		while (want < rq->len + n + 1)
			want *= 2;
		nb = realloc(rq->body, want);
		if (!nb)
			return -ENOMEM;
		rq->body = nb;
		rq->cap = want;
	}
	memcpy(rq->body + rq->len, data, n);
	rq->len += n;
	rq->body[rq->len] = 0;
	return 0;
}

/* ---- parking ---- */

static void job_free(struct job *j)
{
	if (!j)
		return;
	svc_reply_clear(&j->rep);
	free((char *)j->req.body);
	headers_free(j->req.hdr, j->req.nhdr);
	free(j);
}

/* On the runner's thread; j is not touched after the resume. */
static void job_finish(struct job *j)
{
	struct MHD_Connection *c = j->conn;

	atomic_store(&j->done, 1);
	MHD_resume_connection(c);
}

static void job_run(struct runner_job *rj)
{
	struct job *j = (struct job *)rj;

	j->route->fn(j->route->ctx, &j->req, &j->rep);
	job_finish(j);
}

static void job_drop(struct runner_job *rj, int why)
{
	struct job *j = (struct job *)rj;

	if (why == -EBUSY)
		svc_reply_error(&j->rep, MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
		                "too many requests wait for this service; try again");
	else
		svc_reply_error(&j->rep, MHD_HTTP_SERVICE_UNAVAILABLE, "stopping",
		                "the agent is shutting down");
	job_finish(j);
}

/* Moves the request into a job, suspends the connection, queues the job. */
static enum MHD_Result park(struct MHD_Connection *c, struct req *rq, const char *method,
                            const char *url)
{
	struct job *j = calloc(1, sizeof *j);

	if (!j)
		return MHD_NO;
	j->rj.flags = rq->route->flags; /* SVC_READONLY: may pass a paused job */
	j->rj.run = job_run;
	j->rj.drop = job_drop;
	j->conn = c;
	j->route = rq->route;
	j->req.method = method; /* libmicrohttpd keeps these while the request lives */
	j->req.path = url;
	j->req.body = rq->body ? rq->body : strdup("");
	j->req.len = rq->len;
	j->req.hdr = rq->hdr;
	j->req.nhdr = rq->nhdr;
	rq->body = NULL;
	rq->hdr = NULL;
	rq->nhdr = 0;
	rq->job = j;
	if (!j->req.body)
		return MHD_NO; /* on_completed frees j */
	MHD_suspend_connection(c);
	runner_submit(rq->route->runner, &j->rj); /* or dropped: 503, resumed */
	return MHD_YES;
}

/* ---- libmicrohttpd's callbacks ---- */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	struct http_server *s = cls;
	struct req *rq = *con_cls;
	const char *clen;
	struct svc_req sr;
	struct svc_reply rep = {0};

	if (!rq) {
		rq = calloc(1, sizeof *rq);
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		atomic_fetch_add(&s->inflight, 1);
		classify(s, c, url, method, rq);
		clen = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
		if (clen && strtoull(clen, NULL, 10) > MAX_BODY) /* not worth reading: close */
			return send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "too_large",
			                  "the request body is over 16 MiB", NULL);
		if (rq->route) {
			MHD_get_connection_values(c, MHD_HEADER_KIND, copy_header, rq);
			if (rq->hdr_failed)
				return MHD_NO;
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (rq->route && (rq->route->flags & SVC_BODY) &&
		    body_append(rq, upload_data, *upload_data_size) < 0)
			return MHD_NO;
		*upload_data_size = 0; /* anything else: read and dropped */
		return MHD_YES;
	}
	if (rq->job) { /* resumed: the runner is done with it */
		if (!atomic_load(&rq->job->done))
			return MHD_NO; /* cannot happen: only job_finish resumes */
		return send_reply(c, &rq->job->rep);
	}
	if (!rq->route)
		return send_error(c, rq->status, rq->code, rq->msg,
		                  rq->allow[0] ? rq->allow : NULL);
	if (rq->too_large)
		return send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "too_large",
		                  "the request body is over 16 MiB", NULL);
	if (rq->route->runner)
		return park(c, rq, method, url);
	sr = (struct svc_req){method, url, rq->body ? rq->body : "", rq->len, rq->nhdr, rq->hdr};
	rq->route->fn(rq->route->ctx, &sr, &rep);
	return send_reply(c, &rep);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *con_cls;
	struct http_server *s = cls;

	if (!rq)
		return;
	atomic_fetch_sub(&s->inflight, 1);
	job_free(rq->job);
	free(rq->body);
	headers_free(rq->hdr, rq->nhdr);
	free(rq);
	*con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	vsnprintf(line, sizeof line, fmt, ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = 0;
	fprintf(stderr, "deskfs-agent: http: %s\n", line);
}

/* ---- the route table ---- */

static int add_route(struct http_server *s, const struct http_mount *m, const struct svc_route *sr,
                     const char *prefix, char *err, size_t errlen)
{
	struct route *r = &s->routes[s->nroutes];

	if ((size_t)snprintf(r->path, sizeof r->path, "%s%s", prefix, sr->path) >= sizeof r->path ||
	    sr->path[0] != '/') {
		snprintf(err, errlen, "internal: bad route path %s", sr->path);
		return -EINVAL;
	}
	for (size_t i = 0; i < s->nroutes; i++)
		if (!strcmp(s->routes[i].path, r->path) &&
		    !strcmp(s->routes[i].method, sr->method)) {
			snprintf(err, errlen, "internal: two routes for %s %s", sr->method,
			         r->path);
			return -EEXIST;
		}
	r->method = sr->method;
	r->fn = sr->fn;
	r->flags = sr->flags;
	r->ctx = m->ctx;
	r->runner = m->runner;
	s->nroutes++;
	return 0;
}

static int build_routes(struct http_server *s, const struct http_mount *mounts, size_t nmounts,
                        char *err, size_t errlen)
{
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < nmounts; i++)
		for (size_t k = 0; k < mounts[i].def->nroutes; k++)
			n += mounts[i].def->routes[k].flags & SVC_LEGACY ? 2 : 1;
	s->routes = calloc(n ? n : 1, sizeof *s->routes);
	if (!s->routes)
		return -ENOMEM;
	for (size_t i = 0; i < nmounts; i++)
		for (size_t k = 0; k < mounts[i].def->nroutes; k++) {
			const struct svc_route *sr = &mounts[i].def->routes[k];
			if ((rc = add_route(s, &mounts[i], sr, V1, err, errlen)) < 0 ||
			    ((sr->flags & SVC_LEGACY) &&
			     (rc = add_route(s, &mounts[i], sr, "", err, errlen)) < 0))
				return rc;
		}
	return 0;
}

int http_start(struct http_server **out, int listen_fd, const char *token, size_t token_len,
               const struct http_mount *mounts, size_t nmounts, char *err, size_t errlen)
{
	struct http_server *s = calloc(1, sizeof *s);
	int rc;

	if (!s)
		return -ENOMEM;
	s->token = token;
	s->token_len = token_len;
	rc = build_routes(s, mounts, nmounts, err, errlen);
	if (rc < 0)
		goto out_free;
	s->daemon = MHD_start_daemon(
	    MHD_USE_AUTO_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL,
	    NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)listen_fd, MHD_OPTION_NOTIFY_COMPLETED,
	    on_completed, s, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)600, MHD_OPTION_END);
	if (!s->daemon) {
		snprintf(err, errlen, "listen_failed: libmicrohttpd would not start");
		rc = -EIO;
		goto out_free;
	}
	*out = s;
	return 0;

out_free:
	free(s->routes);
	free(s);
	return rc;
}

void http_stop(struct http_server *s)
{
	if (!s)
		return;
	/* Answers the runners queued (a cut-short wait, 503 stopping) are still
	 * on their way out: let them go, a bounded while, before the stop
	 * closes every connection. No new connection is taken meanwhile. */
	MHD_socket lfd = MHD_quiesce_daemon(s->daemon); /* now ours to close */
	for (int i = 0; i < 200 && atomic_load(&s->inflight) > 0; i++)
		usleep(5000);
	MHD_stop_daemon(s->daemon);
	if (lfd != MHD_INVALID_SOCKET)
		close(lfd);
	free(s->routes);
	free(s);
}
