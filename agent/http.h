/*
 * http.h - the agent's HTTP API on libmicrohttpd: bearer-token auth and
 * the routes /health, /screenshot.png, /actions and /observation.
 *
 *	struct http_app app = { .x = &x, .cap = cap, .in = in, .token = tok };
 *	struct http_server *s;
 *	if (http_start(&s, listen_fd, &app, err, sizeof err) < 0) ...
 *	... (requests are served on MHD's single internal thread) ...
 *	http_stop(s);            (joins that thread; closes listen_fd)
 *
 * Threads: every handler runs on the one MHD polling thread, so the X
 * connection, the capture cache and app->last_receipt are only touched
 * there while the server runs, and by the caller before start / after stop.
 */
#ifndef DESKFS_HTTP_H
#define DESKFS_HTTP_H

#include <stddef.h>
#include <cjson/cJSON.h>

struct xconn;
struct cap;
struct input;

struct http_app {
	struct xconn *x;
	struct cap *cap;
	struct input *in;
	const char *token;
	size_t token_len;
	unsigned long seq;   /* receipts so far (the MHD thread) */
	cJSON *last_receipt; /* owned; freed by http_stop */
};

struct http_server;

int http_start(struct http_server **out, int listen_fd, struct http_app *app, char *err,
               size_t errlen);
void http_stop(struct http_server *s);

#endif
