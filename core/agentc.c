/*
 * agentc.c - see agentc.h.
 *
 * The loop thread (asynchronous jobs): one per daemon, started with the
 * first job. It owns a curl multi handle and the list of jobs it runs;
 * other threads reach it only through loop.lock (the queue of new jobs)
 * and two atomics per job/client (cancel, cancelled), then wake it with
 * curl_multi_wakeup. A job's done() runs on the loop thread, with no lock
 * held.
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

#define AGENTC_IDLE 8               /* keep-alive connections kept for reuse */
#define AGENTC_MAX_BODY (64u << 20) /* no answer of an agent is bigger */

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

static void loop_wake(void);

void agentc_cancel(struct agentc *c)
{
	if (!c)
		return;
	__atomic_store_n(&c->cancelled, 1, __ATOMIC_RELEASE);
	loop_wake(); /* its parked jobs end now too */
}

static int is_cancelled(struct agentc *c)
{
	return __atomic_load_n(&c->cancelled, __ATOMIC_ACQUIRE);
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
	if (b->len + sz * n > AGENTC_MAX_BODY)
		return 0; /* the transfer fails: never an unbounded answer */
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

/* ... and from HTTP answers: the agent's own errno first (X-Deskfs-Errno). */
static int http_to_errno(long status, int agent_errno)
{
	if (agent_errno > 0 && agent_errno < 4096)
		return -agent_errno;
	switch (status) {
	case 400:
		return -EINVAL;
	case 401:
	case 403:
		return -EACCES;
	case 404:
		return -ENOENT;
	case 409:
		return -EEXIST;
	case 410:
		return -EPIPE;
	case 413:
		return -E2BIG;
	case 503:
		return -EAGAIN;
	case 507:
		return -ENOSPC;
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

static int header_is(const char *p, size_t len, const char *name, const char **val, size_t *vlen)
{
	size_t n = strlen(name);
	if (len <= n || strncasecmp(p, name, n) != 0 || p[n] != ':')
		return 0;
	size_t i = n + 1, j = len;
	while (i < j && (p[i] == ' ' || p[i] == '\t'))
		i++;
	while (j > i && (p[j - 1] == '\r' || p[j - 1] == '\n' || p[j - 1] == ' '))
		j--;
	*val = p + i;
	*vlen = j - i;
	return 1;
}

static long long header_num(const char *v, size_t n)
{
	char tmp[32];
	snprintf(tmp, sizeof tmp, "%.*s", (int)(n < sizeof tmp ? n : sizeof tmp - 1), v);
	return strtoll(tmp, NULL, 10);
}

/* Keep the response headers we know. */
static size_t on_header(char *p, size_t sz, size_t n, void *arg)
{
	struct agentc_resp *rs = arg;
	size_t len = sz * n, vl;
	const char *v;
	if (header_is(p, len, "ETag", &v, &vl)) {
		if (vl < sizeof rs->etag)
			snprintf(rs->etag, sizeof rs->etag, "%.*s", (int)vl, v);
	} else if (header_is(p, len, "X-Deskfs-Errno", &v, &vl)) {
		rs->agent_errno = (int)header_num(v, vl);
	} else if (header_is(p, len, "X-Deskfs-Size", &v, &vl)) {
		rs->size = header_num(v, vl);
	} else if (header_is(p, len, "X-Deskfs-Start", &v, &vl)) {
		rs->start = header_num(v, vl);
	} else if (header_is(p, len, "X-Deskfs-Dropped", &v, &vl)) {
		rs->dropped = header_num(v, vl);
	} else if (header_is(p, len, "X-Deskfs-Ended", &v, &vl)) {
		rs->ended = vl > 0 && v[0] == '1';
	}
	return len;
}

static void resp_init(struct agentc_resp *rs)
{
	memset(rs, 0, sizeof *rs);
	rs->size = rs->start = -1;
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
	if (is_cancelled(pg->c)) {
		pg->why = ECANCELED;
		return 1;
	}
	if (pg->call && pg->call->intr && pg->call->intr(pg->call->arg)) {
		pg->why = EINTR;
		return 1;
	}
	return 0;
}

/* The headers of one request: ours, plus If-None-Match, a body type, or the
 * session's options (X-Deskfs-Options: its frame and input timing). NULL: ours. */
static struct curl_slist *extra_headers(struct agentc *c, const struct agentc_req *rq,
					const char *options)
{
	struct curl_slist *extra = NULL;
	char inm[160], opt[256];
	int put = strcmp(rq->method, "PUT") == 0;
	int has_opt = options && options[0];
	if (!(rq->if_none_match && rq->if_none_match[0]) && !put && !has_opt)
		return NULL;
	for (struct curl_slist *l = c->headers; l; l = l->next)
		extra = curl_slist_append(extra, l->data);
	if (rq->if_none_match && rq->if_none_match[0]) {
		snprintf(inm, sizeof inm, "If-None-Match: %s", rq->if_none_match);
		extra = curl_slist_append(extra, inm);
	}
	if (put)
		extra = curl_slist_append(extra, "Content-Type: application/octet-stream");
	if (has_opt) {
		snprintf(opt, sizeof opt, "X-Deskfs-Options: %s", options);
		extra = curl_slist_append(extra, opt);
	}
	return extra;
}

/* Everything a request sets on its easy handle, sync or async. */
static void setup(struct agentc *c, CURL *h, const struct agentc_req *rq, const char *url,
		  struct curl_slist *extra, long timeout_ms, struct buf *out,
		  struct agentc_resp *rs)
{
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	if (c->unix_path)
		curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->unix_path);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, extra ? extra : c->headers);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, rs);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			 timeout_ms > 0 && timeout_ms < 2000 ? timeout_ms : 2000L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	if (strcmp(rq->method, "POST") == 0 || strcmp(rq->method, "PUT") == 0) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->len);
	}
	if (strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "POST") != 0)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
}

/* The outcome of a finished transfer as 0 or -errno, with words. */
static int outcome(CURLcode rc, int why, const struct agentc_req *rq, struct buf *out,
		   struct agentc_resp *rs, struct derr *e)
{
	if (rc == CURLE_OK && rs->status == 304 && rq->if_none_match) {
		rs->not_modified = 1;
		return 0;
	}
	if (rc == CURLE_ABORTED_BY_CALLBACK && why)
		return derr_set(e, why, why == EINTR ? "interrupted" : "stopped", "%s %s: %s",
				rq->method, rq->path,
				why == EINTR ? "the caller gave up" : "the session is stopping");
	if (rc != CURLE_OK) {
		int ret = curl_to_errno(rc);
		return derr_set(e, -ret, ret == -ETIMEDOUT ? "agent_timeout" : "agent_unreachable",
				"%s %s: %s", rq->method, rq->path, curl_easy_strerror(rc));
	}
	if (rs->status < 200 || rs->status > 299) {
		int ret = http_to_errno(rs->status, rs->agent_errno);
		http_error(out, rs->status, -ret, e);
		return ret;
	}
	return 0;
}

int agentc_do(struct agentc *c, const struct agentc_req *rq, const struct agentc_call *call,
	      struct buf *out, struct agentc_resp *resp, struct derr *e)
{
	char url[8192];
	struct agentc_resp local;
	struct agentc_resp *rs = resp ? resp : &local;
	struct prog pg = {c, call, 0};
	resp_init(rs);
	buf_reset(out);
	if (snprintf(url, sizeof url, "%s%s", c->base, rq->path) >= (int)sizeof url)
		return derr_set(e, ENAMETOOLONG, "path_too_long", "%s: the path is too long",
				rq->method);
	if (is_cancelled(c))
		return derr_set(e, ECANCELED, "stopped", "the session is stopping");

	/* one handle per request in flight: callers never wait on each other */
	CURL *h = handle_get(c);
	struct curl_slist *extra = extra_headers(c, rq, call ? call->options : NULL);
	if (!h) {
		curl_slist_free_all(extra);
		return derr_set(e, ENOMEM, "internal", "out of memory");
	}
	setup(c, h, rq, url, extra, call->timeout_ms, out, rs);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, &pg);
	CURLcode rc = curl_easy_perform(h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &rs->status);
	/* a handle whose transfer was cut may hold a half-read response: drop it */
	if (rc == CURLE_OK)
		handle_put(c, h);
	else
		curl_easy_cleanup(h);
	curl_slist_free_all(extra);
	return outcome(rc, pg.why, rq, out, rs, e);
}

int agentc_request(struct agentc *c, const char *method, const char *path, const void *body,
		   size_t len, const struct agentc_call *call, struct buf *out, struct derr *e)
{
	struct agentc_req rq = {method, path, body, len, NULL};
	return agentc_do(c, &rq, call, out, NULL, e);
}

int agentc_request_cond(struct agentc *c, const char *path, const struct agentc_call *call,
			const char *if_none_match, int *not_modified, char *etag, size_t etaglen,
			struct buf *out, struct derr *e)
{
	struct agentc_req rq = {"GET", path, NULL, 0, if_none_match};
	struct agentc_resp rs;
	int r = agentc_do(c, &rq, call, out, &rs, e);
	if (not_modified)
		*not_modified = rs.not_modified;
	if (etag && etaglen)
		snprintf(etag, etaglen, "%s", rs.etag);
	return r;
}

int agentc_escape(const char *in, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		int keep = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			   (*p >= '0' && *p <= '9') || strchr("-._~/", *p);
		if (o + (keep ? 1 : 3) >= len)
			return -ENAMETOOLONG;
		if (keep) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = '\0';
	return 0;
}

/* ---- asynchronous jobs: the loop thread ---- */

struct agentc_job {
	int refs;   /* atomic: the caller's and the loop's */
	int cancel; /* atomic: the caller gave up */
	struct agentc *c; /* a reference */
	CURL *h;          /* loop thread only */
	struct curl_slist *extra;
	struct agentc_req rq;  /* rq.method, rq.body and rq.path are the job's own copies */
	char method[8];
	char *url;
	long timeout_ms;
	struct buf out;
	struct agentc_resp resp;
	agentc_done_fn done;
	void *arg;
	struct agentc_job *next; /* loop.lock while queued, then the loop thread's */
};

static struct {
	pthread_once_t once;
	pthread_mutex_t lock;
	CURLM *multi;              /* immutable once started */
	struct agentc_job *queued; /* lock: submitted, not yet running */
	struct agentc_job *active; /* the loop thread's */
	int ok;                    /* the loop runs */
} loop = {.once = PTHREAD_ONCE_INIT, .lock = PTHREAD_MUTEX_INITIALIZER};

struct agentc_job *agentc_job_ref(struct agentc_job *j)
{
	if (j)
		__atomic_add_fetch(&j->refs, 1, __ATOMIC_ACQ_REL);
	return j;
}

void agentc_job_unref(struct agentc_job *j)
{
	if (!j || __atomic_sub_fetch(&j->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	curl_slist_free_all(j->extra);
	agentc_unref(j->c);
	free((void *)j->rq.body);
	free((void *)j->rq.path);
	free(j->url);
	buf_free(&j->out);
	free(j);
}

static void loop_wake(void)
{
	if (__atomic_load_n(&loop.ok, __ATOMIC_ACQUIRE))
		curl_multi_wakeup(loop.multi);
}

void agentc_job_cancel(struct agentc_job *j)
{
	if (!j)
		return;
	__atomic_store_n(&j->cancel, 1, __ATOMIC_RELEASE);
	loop_wake();
}

/* Done: tell the caller, once, then let go of the loop's reference. */
static void finish(struct agentc_job *j, CURLcode rc, int why)
{
	struct derr e = DERR_INIT;
	if (j->h) {
		if (rc == CURLE_OK)
			curl_easy_getinfo(j->h, CURLINFO_RESPONSE_CODE, &j->resp.status);
		curl_multi_remove_handle(loop.multi, j->h);
		curl_easy_cleanup(j->h);
		j->h = NULL;
	}
	int r = why ? derr_set(&e, why, why == EINTR ? "interrupted" : "stopped", "%s %s: %s",
			       j->rq.method, j->rq.path,
			       why == EINTR ? "the caller gave up" : "the session is stopping")
		    : outcome(rc, 0, &j->rq, &j->out, &j->resp, &e);
	j->done(j, j->arg, r, &j->out, &j->resp, &e);
	agentc_job_unref(j);
}

static int start_one(struct agentc_job *j)
{
	if (!(j->h = curl_easy_init()))
		return -ENOMEM;
	setup(j->c, j->h, &j->rq, j->url, j->extra, j->timeout_ms, &j->out, &j->resp);
	curl_easy_setopt(j->h, CURLOPT_PRIVATE, j);
	/* long polls are few and far between: no connection of a gone agent is kept */
	curl_easy_setopt(j->h, CURLOPT_FORBID_REUSE, 1L);
	if (curl_multi_add_handle(loop.multi, j->h) != CURLM_OK) {
		curl_easy_cleanup(j->h);
		j->h = NULL;
		return -ENOMEM;
	}
	return 0;
}

static void *loop_main(void *unused)
{
	for (;;) {
		pthread_mutex_lock(&loop.lock);
		struct agentc_job *fresh = NULL, *q = loop.queued;
		loop.queued = NULL;
		pthread_mutex_unlock(&loop.lock);
		while (q) { /* queued newest first: run them in the order they came */
			struct agentc_job *next = q->next;
			q->next = fresh;
			fresh = q;
			q = next;
		}
		while (fresh) {
			struct agentc_job *j = fresh;
			fresh = j->next;
			if (start_one(j) < 0) {
				finish(j, CURLE_OUT_OF_MEMORY, 0);
				continue;
			}
			j->next = loop.active;
			loop.active = j;
		}
		/* those whose caller gave up, or whose session stops, end now */
		for (struct agentc_job **pp = &loop.active; *pp;) {
			struct agentc_job *j = *pp;
			int why = is_cancelled(j->c) ? ECANCELED
				  : __atomic_load_n(&j->cancel, __ATOMIC_ACQUIRE) ? EINTR
										 : 0;
			if (!why) {
				pp = &j->next;
				continue;
			}
			*pp = j->next;
			finish(j, CURLE_ABORTED_BY_CALLBACK, why);
		}
		int running = 0, left = 0;
		curl_multi_perform(loop.multi, &running);
		CURLMsg *m;
		while ((m = curl_multi_info_read(loop.multi, &left))) {
			if (m->msg != CURLMSG_DONE)
				continue;
			struct agentc_job *j = NULL;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&j);
			CURLcode rc = m->data.result;
			for (struct agentc_job **pp = &loop.active; *pp; pp = &(*pp)->next)
				if (*pp == j) {
					*pp = j->next;
					break;
				}
			if (j)
				finish(j, rc, 0);
		}
		curl_multi_poll(loop.multi, NULL, 0, 1000, NULL);
	}
	return NULL;
}

static void loop_start(void)
{
	pthread_t t;
	pthread_attr_t a;
	if (!(loop.multi = curl_multi_init()))
		return;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &a, loop_main, NULL) == 0)
		__atomic_store_n(&loop.ok, 1, __ATOMIC_RELEASE);
	pthread_attr_destroy(&a);
}

struct agentc_job *agentc_submit(struct agentc *c, const struct agentc_req *rq, long timeout_ms,
				 agentc_done_fn done, void *arg)
{
	pthread_once(&loop.once, loop_start);
	if (!__atomic_load_n(&loop.ok, __ATOMIC_ACQUIRE) || is_cancelled(c))
		return NULL;
	struct agentc_job *j = calloc(1, sizeof *j);
	if (!j)
		return NULL;
	j->refs = 2; /* the caller's, the loop's */
	j->c = agentc_ref(c);
	j->rq = *rq;
	j->rq.body = NULL;
	snprintf(j->method, sizeof j->method, "%s", rq->method);
	j->rq.method = j->method;
	j->rq.if_none_match = rq->if_none_match ? "(sent)" : NULL; /* the header is built below */
	j->rq.path = strdup(rq->path);
	j->timeout_ms = timeout_ms;
	j->done = done;
	j->arg = arg;
	resp_init(&j->resp);
	if (rq->len && (j->rq.body = malloc(rq->len)))
		memcpy((void *)j->rq.body, rq->body, rq->len);
	if (asprintf(&j->url, "%s%s", c->base, rq->path) < 0)
		j->url = NULL;
	j->extra = extra_headers(c, rq, NULL); /* long polls: no frame to tell */
	if (!j->rq.path || !j->url || (rq->len && !j->rq.body)) {
		j->refs = 1;
		agentc_job_unref(j);
		return NULL;
	}
	pthread_mutex_lock(&loop.lock);
	j->next = loop.queued;
	loop.queued = j;
	pthread_mutex_unlock(&loop.lock);
	loop_wake();
	return j;
}
