/*
 * http.c - the agent's HTTP server: libmicrohttpd with one internal
 * polling thread (so every X call is serialized there), a bearer token on
 * every request, JSON bodies, and the screenshot PNG handed to MHD by
 * reference (its free callback drops the reference).
 *
 *	curl --unix-socket S -H "Authorization: Bearer $T" http://x/health
 *	curl ... http://x/screenshot.png > s.png
 *	curl ... -H 'If-None-Match: "ETAG"' http://x/screenshot.png   (304 if unchanged)
 *	curl ... --data-binary 'click 10 10' http://x/actions
 *	curl ... http://x/observation
 *
 * Errors are {"code":"...","message":"..."}; texts of the form
 * "code: message" from the other modules are split at the first ": ".
 *
 * /screenshot.png carries ETag: "<agent start, ns, hex>-<serial, hex>",
 * naming those exact PNG bytes within this agent process. A request whose
 * If-None-Match lists the current PNG's tag (or is "*") is answered 304,
 * with the ETag and no body, after the capture: i.e. exactly when the
 * screen's pixels still equal that PNG's. X-Deskfs-Bands: K/N tells how
 * many of the N bands were re-encoded.
 *
 * See http.h for usage.
 */
#include "agent/http.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <microhttpd.h>

#include "agent/action.h"
#include "agent/capture.h"
#include "agent/input.h"
#include "agent/observe.h"
#include "agent/xconn.h"

#ifndef DESKFS_VERSION
#define DESKFS_VERSION "0.0.0"
#endif

#define MAX_BODY ACT_MAX_BYTES /* 16 MiB */

enum route { R_NONE, R_HEALTH, R_SCREENSHOT, R_ACTIONS, R_OBSERVATION };

static const struct {
	const char *path;
	const char *method;
	enum route route;
} routes[] = {
    {"/health", "GET", R_HEALTH},
    {"/screenshot.png", "GET", R_SCREENSHOT},
    {"/actions", "POST", R_ACTIONS},
    {"/observation", "GET", R_OBSERVATION},
};

struct http_server {
	struct MHD_Daemon *daemon;
	struct http_app *app;
};

/* Per request, behind MHD's con_cls; freed in on_completed. */
struct req {
	enum route route; /* R_NONE: refused with status/code/msg */
	unsigned status;
	const char *code;
	const char *allow; /* the Allow header of a 405 */
	char msg[256];
	char *body;
	size_t len, cap;
	int too_large;
};

static enum MHD_Result queue(struct MHD_Connection *c, unsigned status, struct MHD_Response *r)
{
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Cache-Control", "no-store");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* A JSON body (o is consumed); NULL on ENOMEM. */
static struct MHD_Response *json_response(cJSON *o)
{
	char *s = o ? cJSON_PrintUnformatted(o) : NULL;
	struct MHD_Response *r;

	cJSON_Delete(o);
	if (!s)
		return NULL;
	r = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(s);
		return NULL;
	}
	MHD_add_response_header(r, "Content-Type", "application/json");
	return r;
}

/* Sends o (consumed) as JSON. */
static enum MHD_Result reply_json(struct MHD_Connection *c, unsigned status, cJSON *o)
{
	struct MHD_Response *r = json_response(o);
	return r ? queue(c, status, r) : MHD_NO;
}

/* An error object from "code: message" (or a bare code/message pair). */
static cJSON *error_obj(const char *code, const char *text)
{
	cJSON *o = cJSON_CreateObject();
	const char *sep = text ? strstr(text, ": ") : NULL;
	char buf[64];

	if (!code && sep && (size_t)(sep - text) < sizeof buf) {
		memcpy(buf, text, (size_t)(sep - text));
		buf[sep - text] = 0;
		code = buf;
		text = sep + 2;
	}
	cJSON_AddStringToObject(o, "code", code ? code : "internal");
	cJSON_AddStringToObject(o, "message", text ? text : "");
	return o;
}

static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *code,
                                   const char *text)
{
	return reply_json(c, status, error_obj(code, text));
}

static int token_ok(const struct http_app *app, const char *hdr)
{
	volatile unsigned char diff = 0;
	size_t n;

	if (!hdr || strncmp(hdr, "Bearer ", 7) != 0)
		return 0;
	hdr += 7;
	n = strlen(hdr);
	diff |= n != app->token_len;
	for (size_t i = 0; i < app->token_len; i++)
		diff |= (unsigned char)(hdr[i < n ? i : n] ^ app->token[i]);
	return diff == 0;
}

static enum MHD_Result do_health(struct MHD_Connection *c, struct http_app *app)
{
	cJSON *o = cJSON_CreateObject();

	xconn_drain(app->x);
	cJSON_AddTrueToObject(o, "ok");
	cJSON_AddStringToObject(o, "display", app->x->name);
	cJSON_AddNumberToObject(o, "width", app->x->width);
	cJSON_AddNumberToObject(o, "height", app->x->height);
	cJSON_AddStringToObject(o, "version", DESKFS_VERSION);
	return reply_json(c, MHD_HTTP_OK, o);
}

static void png_release(void *cls)
{
	cap_png_unref(cls);
}

/* Does an If-None-Match value (a list of entity tags, or "*") name etag?
 * Weak comparison: a W/ prefix is ignored. */
static int etag_listed(const char *list, const char *etag)
{
	size_t n = strlen(etag);
	const char *p = list, *q;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			return 0;
		if (*p == '*')
			return 1;
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		if (*p != '"') { /* not a tag: skip to the next comma */
			while (*p && *p != ',')
				p++;
			continue;
		}
		q = strchr(p + 1, '"');
		if (!q)
			return 0;
		if ((size_t)(q + 1 - p) == n && memcmp(p, etag, n) == 0)
			return 1;
		p = q + 1;
	}
}

static enum MHD_Result match_inm(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
	const char **etag = cls;

	if (value && strcasecmp(key, "If-None-Match") == 0 && etag_listed(value, *etag)) {
		*etag = NULL; /* found */
		return MHD_NO;
	}
	return MHD_YES;
}

/* Is etag in any of the request's If-None-Match headers? */
static int not_modified(struct MHD_Connection *c, const char *etag)
{
	const char *e = etag;

	MHD_get_connection_values(c, MHD_HEADER_KIND, match_inm, &e);
	return e == NULL;
}

static enum MHD_Result do_screenshot(struct MHD_Connection *c, struct http_app *app)
{
	struct cap_png *png;
	struct cap_stats st;
	struct MHD_Response *r;
	char err[256], num[32];
	unsigned status = MHD_HTTP_OK;
	int rc;

	rc = cap_screenshot(app->cap, &png, &st, err, sizeof err);
	if (rc < 0)
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, err);
	if (not_modified(c, png->etag)) {
		status = MHD_HTTP_NOT_MODIFIED;
		r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
		if (r)
			MHD_add_response_header(r, "ETag", png->etag);
		cap_png_unref(png);
	} else {
		r = MHD_create_response_from_buffer_with_free_callback_cls(png->len, png->data,
		                                                           png_release, png);
		if (!r) {
			cap_png_unref(png);
			return MHD_NO;
		}
		MHD_add_response_header(r, "Content-Type", "image/png");
		MHD_add_response_header(r, "ETag", png->etag);
	}
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "X-Deskfs-Capture", st.fresh ? "fresh" : "cached");
	snprintf(num, sizeof num, "%d/%d", st.bands_encoded, st.bands_total);
	MHD_add_response_header(r, "X-Deskfs-Bands", num);
	snprintf(num, sizeof num, "%.2f", st.encode_ms);
	MHD_add_response_header(r, "X-Deskfs-Encode-Ms", num);
	snprintf(num, sizeof num, "%.2f", st.capture_ms);
	MHD_add_response_header(r, "X-Deskfs-Capture-Ms", num);
	return queue(c, status, r);
}

static enum MHD_Result do_observation(struct MHD_Connection *c, struct http_app *app)
{
	cJSON *o = obs_snapshot(app->x, app->last_receipt);

	if (!o)
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
	return reply_json(c, MHD_HTTP_OK, o);
}

static enum MHD_Result do_actions(struct MHD_Connection *c, struct http_app *app, struct req *rq)
{
	struct act_screen scr;
	struct act_list list = {0};
	cJSON *receipts, *o;
	char err[512];
	int rc, n;

	xconn_drain(app->x);
	scr.width = app->x->width;
	scr.height = app->x->height;
	rc = act_parse(rq->body ? rq->body : "", rq->len, &scr, &list, err, sizeof err);
	if (rc == -E2BIG)
		return reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", err);
	if (rc < 0)
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "invalid_action", err);

	receipts = cJSON_CreateArray();
	rc = input_run(app->in, &list, receipts, &app->seq, err, sizeof err);
	act_list_free(&list);
	n = cJSON_GetArraySize(receipts);
	if (n > 0) {
		cJSON_Delete(app->last_receipt);
		app->last_receipt = cJSON_Duplicate(cJSON_GetArrayItem(receipts, n - 1), 1);
	}
	if (rc < 0) {
		o = error_obj(NULL, err);
		cJSON_AddItemToObject(o, "receipts", receipts);
		return reply_json(c, MHD_HTTP_INTERNAL_SERVER_ERROR, o);
	}
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "receipts", receipts);
	return reply_json(c, MHD_HTTP_OK, o);
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

/* First call for a request: auth and routing. A refusal is answered on
 * the last call, after MHD has read the request, so keep-alive survives. */
static void classify(struct MHD_Connection *c, struct http_app *app, const char *url,
                     const char *method, struct req *rq)
{
	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	size_t i;

	if (!token_ok(app, auth)) {
		rq->status = MHD_HTTP_UNAUTHORIZED;
		rq->code = "unauthorized";
		snprintf(rq->msg, sizeof rq->msg, "missing or wrong token");
		return;
	}
	for (i = 0; i < sizeof routes / sizeof routes[0]; i++)
		if (strcmp(url, routes[i].path) == 0)
			break;
	if (i == sizeof routes / sizeof routes[0]) {
		rq->status = MHD_HTTP_NOT_FOUND;
		rq->code = "not_found";
		snprintf(rq->msg, sizeof rq->msg, "no such endpoint: %.200s", url);
		return;
	}
	if (strcmp(method, routes[i].method) != 0 &&
	    !(strcmp(method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0)) {
		rq->status = MHD_HTTP_METHOD_NOT_ALLOWED;
		rq->code = "method_not_allowed";
		rq->allow = routes[i].method;
		snprintf(rq->msg, sizeof rq->msg, "%s takes %s", routes[i].path, routes[i].method);
		return;
	}
	rq->route = routes[i].route;
}

static enum MHD_Result reply_refusal(struct MHD_Connection *c, struct req *rq)
{
	struct MHD_Response *r = json_response(error_obj(rq->code, rq->msg));
	if (!r)
		return MHD_NO;
	if (rq->allow)
		MHD_add_response_header(r, "Allow", rq->allow);
	return queue(c, rq->status, r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	struct http_server *s = cls;
	struct http_app *app = s->app;
	struct req *rq = *con_cls;
	const char *clen;

	if (!rq) {
		rq = calloc(1, sizeof *rq);
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		classify(c, app, url, method, rq);
		clen = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
		if (clen && strtoull(clen, NULL, 10) > MAX_BODY) /* not worth reading: close */
			return reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "too_large",
			                   "the request body is over 16 MiB");
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (rq->route == R_ACTIONS && body_append(rq, upload_data, *upload_data_size) < 0)
			return MHD_NO;
		*upload_data_size = 0; /* anything else: read and dropped */
		return MHD_YES;
	}
	if (rq->route == R_NONE)
		return reply_refusal(c, rq);
	switch (rq->route) {
	case R_HEALTH:
		return do_health(c, app);
	case R_SCREENSHOT:
		return do_screenshot(c, app);
	case R_OBSERVATION:
		return do_observation(c, app);
	case R_ACTIONS:
		if (rq->too_large)
			return reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "too_large",
			                   "the request body is over 16 MiB");
		return do_actions(c, app, rq);
	default:
		return MHD_NO;
	}
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *con_cls;

	if (!rq)
		return;
	free(rq->body);
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

int http_start(struct http_server **out, int listen_fd, struct http_app *app, char *err,
               size_t errlen)
{
	struct http_server *s = calloc(1, sizeof *s);

	if (!s)
		return -ENOMEM;
	s->app = app;
	s->daemon = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
	                             NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log,
	                             NULL, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)listen_fd,
	                             MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
	                             MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)600, MHD_OPTION_END);
	if (!s->daemon) {
		snprintf(err, errlen, "listen_failed: libmicrohttpd would not start");
		free(s);
		return -EIO;
	}
	*out = s;
	return 0;
}

void http_stop(struct http_server *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->daemon);
	cJSON_Delete(s->app->last_receipt);
	s->app->last_receipt = NULL;
	free(s);
}
