/*
 * agentc.h - the daemon's HTTP client for a deskfs-agent (libcurl), the
 * same code path whether the agent is beside a local Xvfb (unix socket),
 * inside a VM (TCP through hostfwd) or remote.
 *
 *	struct agentc *c = agentc_new("/run/deskfs/x/s1/agent.sock", NULL, token);
 *	struct agentc_call call = { .timeout_ms = 5000, .intr = req_intr, .arg = req };
 *	struct buf out = BUF_INIT; struct derr e = DERR_INIT;
 *	int r = agentc_request(c, "GET", "/screenshot.png", NULL, 0, &call, &out, &e);
 *	agentc_unref(c);
 *
 *	struct agentc_req rq = { "PUT", "/v1/files/write?path=/a&offset=0", data, len };
 *	struct agentc_resp resp;
 *	r = agentc_do(c, &rq, &call, &out, &resp, &e);   resp: status and X-Deskfs-* headers
 *
 *	j = agentc_submit(c, &rq, 30000, done, arg);      parked: no thread waits for it
 *	... done(j, arg, r, &body, &resp, &e) runs once, on the client's loop thread
 *	agentc_job_cancel(j);                             (done then gets -EINTR)
 *	agentc_job_unref(j);
 *
 * Reference-counted: whoever calls holds a reference for the call (taken
 * under the session's lock, then the lock is let go: no lock is ever held
 * across a request). Requests run concurrently, each on its own easy
 * handle; idle handles keep their connection for the next request.
 * agentc_cancel() ends every request in flight at once (ECANCELED) and
 * fails new ones: a stop never waits behind a slow or hung agent. A call's
 * intr(arg) returning nonzero (the FUSE request was interrupted) ends that
 * request with EINTR.
 *
 * Asynchronous requests (agentc_submit) are for what may wait long (a
 * program's exit, input into a full pipe): they run on one loop thread of
 * the daemon (a curl multi handle), so a parked read holds no FUSE thread.
 * done() is called exactly once per job, on that thread, and must not
 * block (it may submit again). A job holds a reference on its client.
 *
 * Errors map to errno in exactly one table (agentc.c): the agent's own
 * X-Deskfs-Errno header when it sends one (every errno survives the trip),
 * else connect failure -> ENOTCONN, timeout -> ETIMEDOUT, HTTP 400 ->
 * EINVAL, 401/403 -> EACCES, 404 -> ENOENT, 409 -> EEXIST, 410 -> EPIPE,
 * 413 -> E2BIG, 503 -> EAGAIN, 507 -> ENOSPC, other failures -> EIO.
 * e gets the code ("agent_unreachable", or the agent's own) and words.
 */
#ifndef DESKFS_AGENTC_H
#define DESKFS_AGENTC_H

#include <stddef.h>
#include "common/derr.h"
#include "core/util.h"

struct agentc;
struct agentc_job;

struct agentc_call {
	long timeout_ms;        /* the whole request's bound */
	int (*intr)(void *arg); /* optional: nonzero when the caller gave up */
	void *arg;
	const char *options;    /* optional: the X-Deskfs-Options header's value (the
	                         * session's frame and input timing, common/act.h) */
};

/* One request. body is sent for POST and PUT (len bytes, may hold NULs). */
struct agentc_req {
	const char *method; /* GET, POST, PUT, DELETE */
	const char *path;   /* "/v1/..." with its query, already escaped */
	const void *body;
	size_t len;
	const char *if_none_match; /* optional: a 304 then sets not_modified */
};

/* What came back besides the body. */
struct agentc_resp {
	long status;        /* HTTP status, 0 if none */
	int agent_errno;    /* X-Deskfs-Errno, 0 if absent */
	long long size;     /* X-Deskfs-Size, -1 if absent */
	long long start;    /* X-Deskfs-Start, -1 if absent */
	long long dropped;  /* X-Deskfs-Dropped, 0 if absent */
	int ended;          /* X-Deskfs-Ended: 1 */
	int not_modified;   /* 304 to an if_none_match */
	char etag[80];
};

/* unix_path or base_url ("http://127.0.0.1:4567"); token is copied. One reference. */
struct agentc *agentc_new(const char *unix_path, const char *base_url, const char *token);
struct agentc *agentc_ref(struct agentc *c);
void agentc_unref(struct agentc *c);
/* End every request in flight (ECANCELED) and refuse new ones. Any thread. */
void agentc_cancel(struct agentc *c);

/*
 * Returns 0 on HTTP 2xx with the body in out, else -errno. On an HTTP
 * error the body (the agent's JSON error) is left in out as well. resp may
 * be NULL.
 */
int agentc_do(struct agentc *c, const struct agentc_req *rq, const struct agentc_call *call,
	      struct buf *out, struct agentc_resp *resp, struct derr *e);
int agentc_request(struct agentc *c, const char *method, const char *path, const void *body,
		   size_t len, const struct agentc_call *call, struct buf *out, struct derr *e);

/*
 * The same, conditional: with if_none_match set, an unchanged resource
 * answers 304 and *not_modified is set (out stays empty). The response's
 * ETag, if any, goes to etag (size etaglen).
 */
int agentc_request_cond(struct agentc *c, const char *path, const struct agentc_call *call,
			const char *if_none_match, int *not_modified, char *etag, size_t etaglen,
			struct buf *out, struct derr *e);

/* r as agentc_do's; body and resp valid only during the call (body may be taken). */
typedef void (*agentc_done_fn)(struct agentc_job *j, void *arg, int r, struct buf *body,
			       const struct agentc_resp *resp, const struct derr *e);
/*
 * Queue rq (its body is copied) with a bound of timeout_ms (0: none, for
 * what only the program decides, such as input into a full pipe; a hung
 * agent is still caught by the session's health probe, whose stop cancels
 * it). Returns the job with one reference for the caller, or NULL (ENOMEM,
 * or the client was cancelled: then done is never called).
 */
struct agentc_job *agentc_submit(struct agentc *c, const struct agentc_req *rq, long timeout_ms,
				 agentc_done_fn done, void *arg);
/* The caller gave up: done runs with -EINTR unless it ran already. Any thread. */
void agentc_job_cancel(struct agentc_job *j);
struct agentc_job *agentc_job_ref(struct agentc_job *j);
void agentc_job_unref(struct agentc_job *j);

/* Percent-encode a path for a query string ('/' kept). -ENAMETOOLONG if it does not fit. */
int agentc_escape(const char *in, char *out, size_t len);

void agentc_global_init(void);

#endif
