/*
 * svc.h - the seam between the agent's transport (http.c) and its
 * services. A service is a table of routes, each a handler pointer; it
 * owns what it serves and never sees libmicrohttpd. The transport owns the
 * sockets, the token, request bodies, and which thread a handler runs on.
 *
 *	static void get_thing(void *ctx, const struct svc_req *rq, struct svc_reply *rep)
 *	{
 *		svc_reply_json(rep, 200, thing_json(ctx));
 *	}
 *	static const struct svc_route thing_routes[] = {
 *		{"GET", "/thing", get_thing, 0},
 *	};
 *	const struct svc_def svc_thing = {"thing", thing_routes, 1};
 *
 *	... and one row where main.c mounts the services:
 *	{&svc_thing, ctx, runner}     (runner NULL: on the HTTP thread itself)
 *
 * Every route is served under /v1 (GET /v1/thing); a row with SVC_LEGACY is
 * also served at its bare path (/thing), as the first daemons asked for it.
 *
 * Threads: a handler runs on its service's runner (runner.h) while the
 * connection is parked, or, with no runner, on the HTTP thread, where it
 * must not block (health). The request (body and headers) is copied out of
 * libmicrohttpd first, so a handler may read it from any thread; the reply
 * is filled by the handler and turned into a response by the transport.
 *
 * Routes flagged SVC_INLINE run on the HTTP thread even when their mount
 * has a runner (procs: a status, a read of output already there); they
 * must not block either.
 *
 * Answering later: a handler that has nothing to say yet (a long poll for
 * a program's output, stdin into a full pipe) parks its request instead of
 * waiting, on any thread:
 *
 *	struct svc_later *l = svc_later(rep);    (inside the handler; then return)
 *	... later, from any thread, exactly once:
 *	svc_reply_json(svc_later_reply(l), 200, o);
 *	svc_later_done(l);                       (l is gone: the reply is sent)
 *
 * No thread waits meanwhile (the connection is suspended). Whoever holds l
 * must call svc_later_done() before the HTTP server stops (http.h).
 *
 * Bodies in pieces (SVC_STREAM, for uploads of any size): the handler is
 * called once per piece of at most SVC_PIECE bytes, in order, never two at
 * once, with rq->more = 1, and a last time with rq->more = 0 (and what is
 * left, possibly nothing), when it must answer. *rq->state is one pointer
 * of its own, kept across the calls; a piece call that sets a status ends
 * the pieces (the rest of the body is read and dropped, that reply is
 * sent). If the request ends before the last call (a hang-up) while
 * *state is not NULL, the handler is called once more with rq->more = -1,
 * on the HTTP thread, to free it (no reply: it must not block).
 *
 * Ownership: a reply's body (data, len) is released with release(cls) once
 * it has been sent or dropped; svc_reply_json() and svc_reply_error() use
 * malloc'd text released with free(). Setting a reply twice releases the
 * first body.
 */
#ifndef DESKFS_SVC_H
#define DESKFS_SVC_H

#include <stddef.h>
#include <cjson/cJSON.h>

enum svc_flags {
	SVC_BODY = 1,     /* the handler reads the request body (else it is read and dropped) */
	SVC_LEGACY = 2,   /* also served without the /v1 prefix */
	SVC_READONLY = 4, /* it only looks: it may run while a job of its runner pauses
	                   * (a screenshot during an actions "wait"; see desk.c) */
	SVC_PREFIX = 8,   /* path is a prefix ("/procs/"): it serves every longer path */
	SVC_INLINE = 16,  /* on the HTTP thread whatever the mount's runner (must not block) */
	SVC_STREAM = 32,  /* the body comes in pieces (above), never whole */
};

/* The largest piece of an SVC_STREAM body handed to a handler at once. */
#define SVC_PIECE (1u << 20)

struct svc_hdr {
	char *name, *value;
};

struct svc_req {
	const char *method; /* "GET", "HEAD", "POST" */
	const char *path;   /* as asked for, e.g. "/v1/health" */
	const char *body;   /* SVC_BODY routes: NUL-terminated; else "" */
	size_t len;
	int nhdr; /* request headers, one entry per name (repeats joined with ", ") */
	struct svc_hdr *hdr;
	int narg; /* query arguments, percent-decoded (the first of a repeated name) */
	struct svc_hdr *arg;
	int more;     /* SVC_STREAM: 1 while more pieces follow, 0 the last, -1 ended early */
	void **state; /* SVC_STREAM: the handler's own pointer across the pieces */
};

#define SVC_MAX_HDR 8

struct svc_reply {
	unsigned status;   /* HTTP status; a handler that sets none answers 500 */
	const char *ctype; /* a static string, or NULL for no Content-Type */
	const void *data;  /* the body, len bytes, released with release(release_cls) */
	size_t len;
	void (*release)(void *cls);
	void *release_cls;
	void *later_; /* the transport's (svc_later), kept by svc_reply_clear */
	int nhdr;
	struct {
		char name[32];
		char value[96];
	} hdr[SVC_MAX_HDR];
};

typedef void svc_handler_fn(void *ctx, const struct svc_req *rq, struct svc_reply *rep);

struct svc_route {
	const char *method; /* GET routes also answer HEAD */
	const char *path;   /* below /v1, e.g. "/health" */
	svc_handler_fn *fn;
	unsigned flags; /* enum svc_flags */
};

struct svc_def {
	const char *name;
	const struct svc_route *routes;
	size_t nroutes;
};

/* The request header name (case-insensitive), or NULL. */
const char *svc_header(const struct svc_req *rq, const char *name);
/* The query argument name (case-sensitive), or NULL. */
const char *svc_arg(const struct svc_req *rq, const char *name);

/* Parks the request (above); defined by the transport (http.c). */
struct svc_later;
struct svc_later *svc_later(struct svc_reply *rep);
struct svc_reply *svc_later_reply(struct svc_later *l);
void svc_later_done(struct svc_later *l);

/* The body: data[0..len), released with release(cls) (which may be NULL). */
void svc_reply_bytes(struct svc_reply *rep, unsigned status, const char *ctype, const void *data,
                     size_t len, void (*release)(void *), void *cls);
/* o (consumed) as the JSON body; o == NULL (an allocation failed) answers 500. */
void svc_reply_json(struct svc_reply *rep, unsigned status, cJSON *o);
/* {"code": code, "message": text}; with code NULL, text "code: words" is split. */
void svc_reply_error(struct svc_reply *rep, unsigned status, const char *code, const char *text);
cJSON *svc_error_obj(const char *code, const char *text);
/* An error from a positive errno: the HTTP status of errno's row in the
 * table (svc_errno_status), {"code","message","errno":"ENOENT"}, and the
 * header X-Deskfs-Errno: N, so that the caller gets the very errno back.
 * code NULL: the errno's name in lower case ("enoent"). */
void svc_reply_errno(struct svc_reply *rep, int err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* EINVAL 400, EACCES/EPERM 403, ENOENT 404, EEXIST/EBUSY/ENOTEMPTY 409, EPIPE 410,
 * E2BIG/EFBIG 413, EAGAIN 503, ENOSPC/EDQUOT 507, any other 422. */
unsigned svc_errno_status(int err);
/* Adds a response header (silently dropped past SVC_MAX_HDR). */
void svc_reply_header(struct svc_reply *rep, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Releases the body (if any) and empties rep. */
void svc_reply_clear(struct svc_reply *rep);

#endif
