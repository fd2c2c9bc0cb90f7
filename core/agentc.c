/*
 * agentc.c - see agentc.h.
 */
#include "core/agentc.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define AGENTC_IDLE 8 /* keep-alive connections kept for reuse */

struct agentc {
	int refs;                   /* atomic */
	int cancelled;              /* atomic: every request in flight ends, new ones fail */
	pthread_mutex_t lock;
	CURL *idle[AGENTC_IDLE];    /* protected by lock: handles not in use */
	int nidle;                  /* protected by lock */
	struct curl_slist *headers; /* Authorization; immutable after new */
	char *unix_path;            /* immutable after new */
	char base[256];             /* immutable after new */
};

void agentc_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct agentc *agentc_new(const char *unix_path, const char *base_url, const char *token)
{
	struct agentc *c = calloc(1, sizeof *c);
	char auth[256];
	if (!c)
		return NULL;
	c->refs = 1;
	pthread_mutex_init(&c->lock, NULL);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
	c->headers = curl_slist_append(NULL, auth);
	c->headers = curl_slist_append(c->headers, "Expect:");
	if (unix_path) {
		c->unix_path = strdup(unix_path);
		snprintf(c->base, sizeof c->base, "http://agent");
	} else {
		snprintf(c->base, sizeof c->base, "%s", base_url);
		size_t n = strlen(c->base);
		if (n && c->base[n - 1] == '/')
			c->base[n - 1] = '\0';
	}
	explicit_bzero(auth, sizeof auth);
	return c;
}

struct agentc *agentc_ref(struct agentc *c)
{
	if (c)
		__atomic_add_fetch(&c->refs, 1, __ATOMIC_ACQ_REL);
	return c;
}

void agentc_unref(struct agentc *c)
{
	if (!c || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	for (int i = 0; i < c->nidle; i++)
		curl_easy_cleanup(c->idle[i]);
	curl_slist_free_all(c->headers);
	free(c->unix_path);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void agentc_cancel(struct agentc *c)
{
	if (c)
		__atomic_store_n(&c->cancelled, 1, __ATOMIC_RELEASE);
}

static CURL *handle_get(struct agentc *c)
{
	CURL *h = NULL;
	pthread_mutex_lock(&c->lock);
	if (c->nidle)
		h = c->idle[--c->nidle];
	pthread_mutex_unlock(&c->lock);
	return h ? h : curl_easy_init();
}

static void handle_put(struct agentc *c, CURL *h)
{
	pthread_mutex_lock(&c->lock);
	if (c->nidle < AGENTC_IDLE) {
		c->idle[c->nidle++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	if (h)
		curl_easy_cleanup(h);
}

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct buf *b = arg;
	return buf_append(b, p, sz * n) < 0 ? 0 : sz * n;
}

/* The one table from transport failures to errno. */
static int curl_to_errno(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		return -ENOTCONN;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

static int http_to_errno(long status)
{
	switch (status) {
	case 400:
		return -EINVAL;
	case 401:
	case 403:
		return -EACCES;
	case 404:
		return -ENOENT;
	case 413:
		return -E2BIG;
	case 503:
		return -EAGAIN;
	default:
		return -EIO;
	}
}

/* The agent's error body is {"code":..,"message":..}: its words, as they are. */
static void http_error(const struct buf *out, long status, int err, struct derr *e)
{
	cJSON *j = out->len ? cJSON_ParseWithLength(out->data, out->len) : NULL;
	const char *code = cJSON_GetStringValue(cJSON_GetObjectItem(j, "code"));
	const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(j, "message"));
	if (code && msg)
		derr_set(e, err, code, "%s", msg);
	else
		derr_set(e, err, "agent_error", "agent answered HTTP %ld", status);
	cJSON_Delete(j);
}

struct hdr_ctx {
	char *etag;
	size_t len;
};

/* Keep the ETag response header. */
static size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
	struct hdr_ctx *hc = arg;
	size_t len = sz * n;
	if (hc->etag && len > 5 && strncasecmp(p, "ETag:", 5) == 0) {
		size_t i = 5, j = len;
		while (i < j && (p[i] == ' ' || p[i] == '\t'))
			i++;
		while (j > i && (p[j - 1] == '\r' || p[j - 1] == '\n' || p[j - 1] == ' '))
			j--;
		if (j - i < hc->len)
			snprintf(hc->etag, hc->len, "%.*s", (int)(j - i), p + i);
	}
	return len;
}

struct prog {
	struct agentc *c;
	const struct agentc_call *call;
	int why; /* what ended it: ECANCELED (stop) or EINTR (the caller gave up) */
};

/* Called often while a transfer runs: a stop or an interrupted caller ends it. */
static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct prog *pg = arg;
	if (__atomic_load_n(&pg->c->cancelled, __ATOMIC_ACQUIRE)) {
		pg->why = ECANCELED;
		return 1;
	}
	if (pg->call && pg->call->intr && pg->call->intr(pg->call->arg)) {
		pg->why = EINTR;
		return 1;
	}
	return 0;
}

static int request(struct agentc *c, const char *method, const char *path, const void *body,
		   size_t len, const struct agentc_call *call, const char *if_none_match,
		   int *not_modified, char *etag, size_t etaglen, struct buf *out, struct derr *e)
{
	char url[512], inm[160], opt[256];
	long status = 0, timeout_ms = call->timeout_ms;
	int ret = 0;
	struct hdr_ctx hc = {etag, etaglen};
	struct curl_slist *extra = NULL;
	struct prog pg = {c, call, 0};
	snprintf(url, sizeof url, "%s%s", c->base, path);
	buf_reset(out);
	if (etag && etaglen)
		etag[0] = '\0';
	if (not_modified)
		*not_modified = 0;
	if (__atomic_load_n(&c->cancelled, __ATOMIC_ACQUIRE))
		return derr_set(e, ECANCELED, "stopped", "the session is stopping");
	if ((if_none_match && if_none_match[0]) || (call->options && call->options[0])) {
		for (struct curl_slist *l = c->headers; l; l = l->next)
			extra = curl_slist_append(extra, l->data);
	}
	if (if_none_match && if_none_match[0]) {
		snprintf(inm, sizeof inm, "If-None-Match: %s", if_none_match);
		extra = curl_slist_append(extra, inm);
	}
	if (call->options && call->options[0]) {
		snprintf(opt, sizeof opt, "X-Deskfs-Options: %s", call->options);
		extra = curl_slist_append(extra, opt);
	}

	/* one handle per request in flight: callers never wait on each other */
	CURL *h = handle_get(c);
	if (!h) {
		curl_slist_free_all(extra);
		return derr_set(e, ENOMEM, "internal", "out of memory");
	}
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	if (c->unix_path)
		curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->unix_path);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, extra ? extra : c->headers);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &hc);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 2000 ? timeout_ms : 2000L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, &pg);
	if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	CURLcode rc = curl_easy_perform(h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	/* a handle whose transfer was cut may hold a half-read response: drop it */
	if (rc == CURLE_OK)
		handle_put(c, h);
	else
		curl_easy_cleanup(h);
	curl_slist_free_all(extra);

	if (rc == CURLE_OK && status == 304 && not_modified) {
		*not_modified = 1;
	} else if (rc == CURLE_ABORTED_BY_CALLBACK && pg.why) {
		ret = derr_set(e, pg.why, pg.why == EINTR ? "interrupted" : "stopped", "%s %s: %s",
			       method, path,
			       pg.why == EINTR ? "the caller gave up" : "the session is stopping");
	} else if (rc != CURLE_OK) {
		ret = curl_to_errno(rc);
		derr_set(e, -ret, ret == -ETIMEDOUT ? "agent_timeout" : "agent_unreachable",
			 "%s %s: %s", method, path, curl_easy_strerror(rc));
	} else if (status < 200 || status > 299) {
		ret = http_to_errno(status);
		http_error(out, status, -ret, e);
	}
	return ret;
}

int agentc_request(struct agentc *c, const char *method, const char *path, const void *body,
		   size_t len, const struct agentc_call *call, struct buf *out, struct derr *e)
{
	return request(c, method, path, body, len, call, NULL, NULL, NULL, 0, out, e);
}

int agentc_request_cond(struct agentc *c, const char *path, const struct agentc_call *call,
			const char *if_none_match, int *not_modified, char *etag, size_t etaglen,
			struct buf *out, struct derr *e)
{
	return request(c, "GET", path, NULL, 0, call, if_none_match, not_modified, etag, etaglen,
		       out, e);
}
