/*
 * agentc.h - the daemon's HTTP client for a deskfs-agent (libcurl), the
 * same code path whether the agent is beside a local Xvfb (unix socket),
 * inside a VM (TCP through hostfwd) or remote.
 *
 *	struct agentc *c = agentc_new("/run/deskfs/x/s1/agent.sock", NULL, token);
 *	struct buf out = BUF_INIT; char err[256];
 *	int r = agentc_request(c, "GET", "/screenshot.png", NULL, 0, 5000, &out, err, sizeof err);
 *	agentc_free(c);
 *
 * One easy handle per agent, serialised by its own lock (the agent serves
 * one request at a time anyway); the connection is kept alive.
 * Errors map to errno in exactly one table (agentc.c): connect failure ->
 * ENOTCONN, timeout -> ETIMEDOUT, HTTP 400 -> EINVAL, 401 -> EACCES,
 * 404 -> ENOENT, 413 -> E2BIG, 503 -> EAGAIN, other failures -> EIO.
 * err starts with a code token ("agent_unreachable: ...").
 */
#ifndef DESKFS_AGENTC_H
#define DESKFS_AGENTC_H

#include <stddef.h>
#include "core/util.h"

struct agentc;

/* unix_path or base_url ("http://127.0.0.1:4567"); token is copied. */
struct agentc *agentc_new(const char *unix_path, const char *base_url, const char *token);
void agentc_free(struct agentc *c);

/*
 * Returns 0 on HTTP 2xx with the body in out, else -errno. On an HTTP
 * error the body (the agent's JSON error) is left in out as well.
 */
int agentc_request(struct agentc *c, const char *method, const char *path, const void *body,
		   size_t len, long timeout_ms, struct buf *out, char *err, size_t errlen);

/*
 * The same, conditional: with if_none_match set, an unchanged resource
 * answers 304 and *not_modified is set (out stays empty). The response's
 * ETag, if any, goes to etag (size etaglen).
 */
int agentc_request_cond(struct agentc *c, const char *path, long timeout_ms,
			const char *if_none_match, int *not_modified, char *etag, size_t etaglen,
			struct buf *out, char *err, size_t errlen);

void agentc_global_init(void);

#endif
