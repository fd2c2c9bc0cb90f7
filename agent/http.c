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
 * Answering later (svc_later, svc.h): every request, parked or not, runs
 * as a job, whose reply a handler may take away to answer from another
 * thread. The job's later_state settles who sends it, without a lock:
 * RUNNING while the handler runs; the handler's thread then moves it to
 * PARKED (an HTTP-thread handler suspends the connection first), unless
 * svc_later_done() got there first and moved it to DONE, in which case
 * the handler's thread finishes the job itself. svc_later_done() on a
 * PARKED job finishes it (resumes the connection). So the connection is
 * always suspended before anyone resumes it, and resumed exactly once.
 *
 * Bodies in pieces (SVC_STREAM): the upload callbacks copy the body into
 * a buffer of SVC_PIECE bytes; a full buffer is parked on the route's
 * runner as a job of its own (the connection suspended, what libmicrohttpd
 * handed over and did not fit left unconsumed for after the resume), and
 * so is the rest, as the last call, once the body is complete. So a
 * gigabyte upload holds one piece of memory, and the HTTP thread never
 * writes a file.
 *
 * Ownership of a parked job: the request (struct req, libmicrohttpd's
 * con_cls) owns it and frees it in on_completed; the job owns its body
 * and reply, and borrows the request's headers and arguments. From the moment it is
 * queued until it resumes the connection, only the runner thread touches
 * it; it never touches it after MHD_resume_connection, and the HTTP thread
 * reads it only after that (a suspended connection gets no callbacks). A
 * client that hangs up while its job runs is noticed only after the
 * resume: the response fails to send, on_completed frees the job, and the
 * result is dropped. A suspended connection cannot time out.
 *
 * Stopping: the runners are stopped first (runner_stop answers every job
 * still queued with 503 stopping and waits for the running ones, each of
 * which resumes its connection), and every service that holds requests
 * answered later answers them (and refuses to park new ones), then
 * http_stop() stops libmicrohttpd, which must have no suspended
 * connection left. A request that arrives in
 * between is dropped by its stopped runner at once (503).
 */
#include "agent/http.h"

#include <pthread.h>
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

#define MAX_BODY (16u << 20) /* bytes in one request body (SVC_STREAM: no bound) */
#define CONN_MEMORY (64u << 10) /* libmicrohttpd's buffer per connection */
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
	pthread_mutex_t token_lock; /* the token may change (http_set_token: a resumed VM) */
	char *token;                /* protected by token_lock */
	size_t token_len;           /* protected by token_lock */
	struct route *routes;
	size_t nroutes;
};

enum { LATER_RUNNING, LATER_PARKED, LATER_DONE };

/* A request being handled: on the HTTP thread, parked on a runner, or
 * answered later. */
struct job {
	struct runner_job rj; /* first: the runner hands back &rj */
	struct MHD_Connection *conn;
	const struct route *route;
	struct svc_req req;     /* read by the handler */
	struct svc_reply rep;   /* filled by the handler (or drop) */
	atomic_int done;        /* set before conn is resumed (or the reply sent) */
	atomic_int later_state; /* LATER_*: who finishes a job answered later */
	int later;              /* the handler called svc_later (its thread only) */
	int piece;              /* an SVC_STREAM piece with more to come */
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
	struct svc_hdr *arg; /* copied query arguments */
	int narg;
	int hdr_failed;     /* out of memory while copying them */
	struct job *job;    /* the request's job (parked, or answered later) */
	void *stream_state; /* SVC_STREAM: the handler's */
	struct job *failed; /* SVC_STREAM: a piece that answered early */
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

static int token_ok(struct http_server *s, const char *hdr)
{
	volatile unsigned char diff = 0;
	size_t n;

	if (!hdr || strncmp(hdr, "Bearer ", 7) != 0)
		return 0;
	hdr += 7;
	n = strlen(hdr);
	pthread_mutex_lock(&s->token_lock);
	diff |= n != s->token_len;
	for (size_t i = 0; i < s->token_len; i++)
		diff |= (unsigned char)(hdr[i < n ? i : n] ^ s->token[i]);
	pthread_mutex_unlock(&s->token_lock);
	return diff == 0;
}

int http_set_token(struct http_server *s, const char *token, size_t len)
{
	char *copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, token, len);
	copy[len] = '\0';
	pthread_mutex_lock(&s->token_lock);
	char *old = s->token;
	size_t oldlen = s->token_len;
	s->token = copy;
	s->token_len = len;
	pthread_mutex_unlock(&s->token_lock);
	if (old) /* the first token has none before it */
		explicit_bzero(old, oldlen);
	free(old);
	return 0;
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
		size_t n = strlen(r->path);
		if ((r->flags & SVC_PREFIX) ? strncmp(url, r->path, n) != 0 || !url[n]
		                            : strcmp(url, r->path) != 0)
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

/* Copies one request header (a repeated name gets ", value" appended), or
 * one query argument (the first of a name counts; no value reads ""). */
static enum MHD_Result copy_value(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
	struct req *rq = cls;
	int is_arg = kind == MHD_GET_ARGUMENT_KIND;
	struct svc_hdr **list = is_arg ? &rq->arg : &rq->hdr, *h;
	int *n = is_arg ? &rq->narg : &rq->nhdr;
	char *v;

	if (is_arg && key && !value)
		value = "";
	if (!key || !value || (!is_arg && strcasecmp(key, "Authorization") == 0))
		return MHD_YES;
	for (int i = 0; i < *n; i++) {
		h = &(*list)[i];
		if (is_arg ? strcmp(h->name, key) != 0 : strcasecmp(h->name, key) != 0)
			continue;
		if (is_arg)
			return MHD_YES;
		if (asprintf(&v, "%s, %s", h->value, value) < 0) {
			rq->hdr_failed = 1;
			return MHD_NO;
		}
		free(h->value);
		h->value = v;
		return MHD_YES;
	}
	h = realloc(*list, (size_t)(*n + 1) * sizeof *h);
	if (!h) {
		rq->hdr_failed = 1;
		return MHD_NO;
	}
	*list = h;
	h += *n;
	h->name = strdup(key);
	h->value = strdup(value);
	if (!h->name || !h->value) {
		free(h->name);
		free(h->value);
		rq->hdr_failed = 1;
		return MHD_NO;
	}
	(*n)++;
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

/* ---- jobs: parked, inline, answered later, pieces ---- */

static void job_free(struct job *j)
{
	if (!j)
		return;
	svc_reply_clear(&j->rep);
	free((char *)j->req.body);
	free(j);
}

/* A job for rq, taking its body (rq->body, rq->len) and borrowing its
 * headers and arguments (rq outlives every job of it). */
static struct job *job_new(struct MHD_Connection *c, struct req *rq, const char *method,
                           const char *url, int more)
{
	struct job *j = calloc(1, sizeof *j);
	char *body = rq->body;

	if (!j)
		return NULL;
	if (!body && !(body = strdup(""))) {
		free(j);
		return NULL;
	}
	j->rj.flags = rq->route->flags; /* SVC_READONLY: may pass a paused job */
	j->conn = c;
	j->route = rq->route;
	/* libmicrohttpd keeps method and url while the request lives */
	j->req = (struct svc_req){method, url, body, rq->len, rq->nhdr, rq->hdr,
	                          rq->narg, rq->arg, more, &rq->stream_state};
	j->rep.later_ = j;
	j->piece = more;
	rq->body = NULL;
	rq->len = rq->cap = 0;
	return j;
}

/* Resumes a suspended connection whose job is answered. j is not touched
 * after the resume (the HTTP thread owns it again). */
static void job_finish(struct job *j)
{
	struct MHD_Connection *c = j->conn;

	atomic_store(&j->done, 1);
	MHD_resume_connection(c);
}

/* On the runner's thread. */
static void job_run(struct runner_job *rj)
{
	struct job *j = (struct job *)rj;
	int expect = LATER_RUNNING;

	j->route->fn(j->route->ctx, &j->req, &j->rep);
	if (j->later && atomic_compare_exchange_strong(&j->later_state, &expect, LATER_PARKED))
		return; /* svc_later_done() will finish it */
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

struct svc_later *svc_later(struct svc_reply *rep)
{
	struct job *j = rep->later_;

	j->later = 1;
	return (struct svc_later *)j;
}

struct svc_reply *svc_later_reply(struct svc_later *l)
{
	return &((struct job *)l)->rep;
}

void svc_later_done(struct svc_later *l)
{
	struct job *j = (struct job *)l;
	int expect = LATER_RUNNING;

	if (atomic_compare_exchange_strong(&j->later_state, &expect, LATER_DONE))
		return; /* its handler is still running: its thread finishes it */
	atomic_store(&j->later_state, LATER_DONE);
	job_finish(j); /* it was PARKED: the connection is suspended */
}

/* Suspends the connection and queues a job of rq (with its body) on the
 * route's runner; more: an SVC_STREAM piece with more to come. */
static enum MHD_Result park(struct MHD_Connection *c, struct req *rq, const char *method,
                            const char *url, int more)
{
	struct job *j = job_new(c, rq, method, url, more);

	if (!j)
		return MHD_NO;
	j->rj.run = job_run;
	j->rj.drop = job_drop;
	rq->job = j;
	MHD_suspend_connection(c);
	runner_submit(rq->route->runner, &j->rj); /* or dropped: 503, resumed */
	return MHD_YES;
}

/* Runs the handler here, on the HTTP thread; a reply it takes away
 * (svc_later) is waited for with the connection suspended. */
static enum MHD_Result run_inline(struct MHD_Connection *c, struct req *rq, const char *method,
                                  const char *url)
{
	struct job *j = job_new(c, rq, method, url, 0);
	int expect = LATER_RUNNING;

	if (!j)
		return MHD_NO;
	rq->job = j;
	j->route->fn(j->route->ctx, &j->req, &j->rep);
	if (j->later && atomic_load(&j->later_state) != LATER_DONE) {
		MHD_suspend_connection(c); /* before anyone may resume it */
		if (atomic_compare_exchange_strong(&j->later_state, &expect, LATER_PARKED))
			return MHD_YES;
		job_finish(j); /* answered meanwhile: on_request sends it */
		return MHD_YES;
	}
	atomic_store(&j->done, 1);
	return send_reply(c, &j->rep);
}

/* Body bytes of an SVC_STREAM route: into the piece; a full piece is parked. */
static enum MHD_Result stream_data(struct MHD_Connection *c, struct req *rq, const char *method,
                                   const char *url, const char *data, size_t *size)
{
	size_t take;

	if (rq->failed) { /* answered early: the rest is dropped */
		*size = 0;
		return MHD_YES;
	}
	if (!rq->body) {
		rq->body = malloc(SVC_PIECE + 1);
		if (!rq->body)
			return MHD_NO;
		rq->cap = SVC_PIECE + 1;
		rq->len = 0;
	}
	take = *size < SVC_PIECE - rq->len ? *size : SVC_PIECE - rq->len;
	memcpy(rq->body + rq->len, data, take);
	rq->len += take;
	rq->body[rq->len] = 0;
	*size -= take; /* what did not fit comes again after the resume */
	if (rq->len == SVC_PIECE)
		return park(c, rq, method, url, 1);
	return MHD_YES;
}

/* A piece's job is over (the connection was resumed): an answer ends the
 * pieces, else it is forgotten. */
static void piece_collect(struct req *rq)
{
	struct job *j = rq->job;

	rq->job = NULL;
	if (j->rep.status && !rq->failed)
		rq->failed = j;
	else
		job_free(j);
}

/* ---- libmicrohttpd's callbacks ---- */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	struct http_server *s = cls;
	struct req *rq = *con_cls;
	const char *clen;

	if (!rq) {
		rq = calloc(1, sizeof *rq);
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		atomic_fetch_add(&s->inflight, 1);
		classify(s, c, url, method, rq);
		clen = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
		if (clen && strtoull(clen, NULL, 10) > MAX_BODY && /* not worth reading: close */
		    !(rq->route && (rq->route->flags & SVC_STREAM)))
			return send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "too_large",
			                  "the request body is over 16 MiB", NULL);
		if (rq->route) {
			MHD_get_connection_values(c, MHD_HEADER_KIND, copy_value, rq);
			MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, copy_value, rq);
			if (rq->hdr_failed)
				return MHD_NO;
		}
		return MHD_YES;
	}
	if (rq->job && rq->job->piece) { /* resumed after a piece */
		if (!atomic_load(&rq->job->done))
			return MHD_NO; /* cannot happen: only job_finish resumes */
		piece_collect(rq);
	}
	if (*upload_data_size) {
		if (rq->route && (rq->route->flags & SVC_STREAM))
			return stream_data(c, rq, method, url, upload_data, upload_data_size);
		if (rq->route && (rq->route->flags & SVC_BODY) &&
		    body_append(rq, upload_data, *upload_data_size) < 0)
			return MHD_NO;
		*upload_data_size = 0; /* anything else: read and dropped */
		return MHD_YES;
	}
	if (rq->job) { /* resumed: its handler is done with it */
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
	if (rq->failed)
		return send_reply(c, &rq->failed->rep);
	if (rq->route->runner && !(rq->route->flags & SVC_INLINE))
		return park(c, rq, method, url, 0);
	return run_inline(c, rq, method, url);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *con_cls;
	struct http_server *s = cls;

	if (!rq)
		return;
	atomic_fetch_sub(&s->inflight, 1);
	if (rq->stream_state && rq->route) { /* ended before its last call: let it free */
		struct svc_reply rep = {0};
		struct svc_req sr = {.method = "", .path = "", .body = "", .more = -1,
		                     .state = &rq->stream_state};
		rq->route->fn(rq->route->ctx, &sr, &rep);
		svc_reply_clear(&rep);
	}
	job_free(rq->job);
	job_free(rq->failed);
	free(rq->body);
	headers_free(rq->hdr, rq->nhdr);
	headers_free(rq->arg, rq->narg);
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
	if ((sr->flags & SVC_STREAM) && !m->runner) {
		snprintf(err, errlen, "internal: %s %s takes its body in pieces: it needs a runner",
		         sr->method, r->path);
		return -EINVAL;
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
	pthread_mutex_init(&s->token_lock, NULL);
	rc = http_set_token(s, token, token_len);
	if (rc == 0)
		rc = build_routes(s, mounts, nmounts, err, errlen);
	if (rc < 0)
		goto out_free;
	s->daemon = MHD_start_daemon(
	    MHD_USE_AUTO_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL,
	    NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)listen_fd, MHD_OPTION_NOTIFY_COMPLETED,
	    on_completed, s, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)600,
	    /* room for large reads of a body: fewer calls per upload (pages are
	     * only touched as used, so a parked request costs little) */
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY, MHD_OPTION_END);
	if (!s->daemon) {
		snprintf(err, errlen, "listen_failed: libmicrohttpd would not start");
		rc = -EIO;
		goto out_free;
	}
	*out = s;
	return 0;

out_free:
	free(s->routes);
	free(s->token);
	pthread_mutex_destroy(&s->token_lock);
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
	free(s->token);
	pthread_mutex_destroy(&s->token_lock);
	free(s);
}
