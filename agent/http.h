/*
 * http.h - the agent's transport: libmicrohttpd on one internal polling
 * thread, a bearer token on every request, and one route table built from
 * the services mounted (svc.h): /v1/... for every route, plus the bare
 * paths of SVC_LEGACY routes.
 *
 *	const struct http_mount mounts[] = {
 *		{&svc_health, &desk, NULL},          (on the HTTP thread: must not block)
 *		{&svc_capture, &desk, xrunner},      (parked; runs on the X worker)
 *	};
 *	struct http_server *s;
 *	if (http_start(&s, listen_fd, tok, toklen, mounts, 2, err, sizeof err) < 0) ...
 *	...
 *	runner_stop(xrunner);   (first: every parked request is answered,
 *	                         and every one a service answers later: svc.h)
 *	http_stop(s);           (joins the HTTP thread; closes listen_fd)
 *
 * The server keeps its own copy of the token; the mounts' contexts must outlive it. http_stop()
 * must not be called while a runner may still take a parked request's job:
 * stop the runners first (libmicrohttpd cannot stop with suspended
 * connections). See http.c for the threads.
 */
#ifndef DESKFS_HTTP_H
#define DESKFS_HTTP_H

#include <stddef.h>

struct svc_def;
struct runner;

struct http_mount {
	const struct svc_def *def;
	void *ctx;             /* handed to each of def's handlers */
	struct runner *runner; /* where they run; NULL: on the HTTP thread */
};

struct http_server;

int http_start(struct http_server **out, int listen_fd, const char *token, size_t token_len,
               const struct http_mount *mounts, size_t nmounts, char *err, size_t errlen);
void http_stop(struct http_server *s);
/* Every request from now on must carry this token instead (a copy is kept):
 * POST /v1/identity of a resumed VM (svc_ident.c). Any thread. */
int http_set_token(struct http_server *s, const char *token, size_t len);

#endif
