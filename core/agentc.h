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
 * Reference-counted: whoever calls holds a reference for the call (taken
 * under the session's lock, then the lock is let go: no lock is ever held
 * across a request). Requests run concurrently, each on its own easy
 * handle; idle handles keep their connection for the next request.
 * agentc_cancel() ends every request in flight at once (ECANCELED) and
 * fails new ones: a stop never waits behind a slow or hung agent. A call's
 * intr(arg) returning nonzero (the FUSE request was interrupted) ends that
 * request with EINTR.
 *
 * Errors map to errno in exactly one table (agentc.c): connect failure ->
 * ENOTCONN, timeout -> ETIMEDOUT, HTTP 400 -> EINVAL, 401 -> EACCES,
 * 404 -> ENOENT, 413 -> E2BIG, 503 -> EAGAIN, other failures -> EIO.
 * e gets the code ("agent_unreachable", or the agent's own) and words.
 */
#ifndef DESKFS_AGENTC_H
#define DESKFS_AGENTC_H

#include <stddef.h>
#include "common/derr.h"
#include "core/util.h"

struct agentc;

struct agentc_call {
	long timeout_ms;        /* the whole request's bound */
	int (*intr)(void *arg); /* optional: nonzero when the caller gave up */
	void *arg;
	const char *options;    /* optional: the X-Deskfs-Options header's value (the
	                         * session's frame and input timing, common/act.h) */
};

/* unix_path or base_url ("http://127.0.0.1:4567"); token is copied. One reference. */
struct agentc *agentc_new(const char *unix_path, const char *base_url, const char *token);
struct agentc *agentc_ref(struct agentc *c);
void agentc_unref(struct agentc *c);
/* End every request in flight (ECANCELED) and refuse new ones. Any thread. */
void agentc_cancel(struct agentc *c);

/*
 * Returns 0 on HTTP 2xx with the body in out, else -errno. On an HTTP
 * error the body (the agent's JSON error) is left in out as well.
 */
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

void agentc_global_init(void);

#endif
