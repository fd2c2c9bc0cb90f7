/*
 * sess_files.c - see sess_files.h.
 */
#include "core/sess_files.h"
#include "core/agentc.h"
#include "core/bulk.h"
#include "core/sess_int.h"
#include "core/prov_ops.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FILES_FLAGS SESS_CALL_QUIET
#define SESS_FILES_BULK_MIN (64u << 10) /* smaller reads go by HTTP */

static int files_ok(struct sess *s)
{
	if (sess_agent_can(s, "files"))
		return 0;
	sess_error(s, 0, ENOTSUP, "not_supported", "the agent of session '%s' serves no files",
		   s->name);
	return -ENOTSUP;
}

/* "/v1/files/ROUTE?path=P" plus extra, escaped. */
static int files_path(char *out, size_t len, const char *route, const char *path,
		      const char *extra)
{
	char esc[PATH_MAX * 3 + 1];
	if (path[0] != '/' || agentc_escape(path, esc, sizeof esc) < 0)
		return -ENAMETOOLONG;
	int n = snprintf(out, len, "/v1/files/%s?path=%s%s", route, esc, extra ? extra : "");
	return n < (int)len ? 0 : -ENAMETOOLONG;
}

static long long jll(const cJSON *j, const char *k, long long dflt)
{
	const cJSON *v = cJSON_GetObjectItem(j, k);
	return cJSON_IsNumber(v) ? (long long)v->valuedouble : dflt;
}

/* A time of the stat object: KEY_sec + KEY_nsec (exact), else KEY_ns (a double). */
static void time_of(const cJSON *j, const char *key, struct timespec *ts)
{
	char k[32];
	snprintf(k, sizeof k, "%s_sec", key);
	if (cJSON_IsNumber(cJSON_GetObjectItem(j, k))) {
		ts->tv_sec = (time_t)jll(j, k, 0);
		snprintf(k, sizeof k, "%s_nsec", key);
		ts->tv_nsec = (long)jll(j, k, 0);
		return;
	}
	snprintf(k, sizeof k, "%s_ns", key);
	long long ns = jll(j, k, 0);
	ts->tv_sec = (time_t)(ns / 1000000000LL);
	ts->tv_nsec = (long)(ns % 1000000000LL);
}

/* The agent's stat object as a struct stat, seen from this side. */
static void stat_from_json(struct sess *s, const cJSON *j, struct stat *st)
{
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(j, "type"));
	memset(st, 0, sizeof *st);
	mode_t fmt = S_IFREG;
	if (type && strcmp(type, "dir") == 0)
		fmt = S_IFDIR;
	else if (type && strcmp(type, "symlink") == 0)
		fmt = S_IFLNK;
	st->st_mode = fmt | ((mode_t)jll(j, "mode", 0) & 07777);
	st->st_size = (off_t)jll(j, "size", 0);
	st->st_nlink = (nlink_t)jll(j, "nlink", fmt == S_IFDIR ? 2 : 1);
	st->st_uid = (uid_t)jll(j, "uid", 0);
	st->st_gid = (gid_t)jll(j, "gid", 0);
	if (!s->prov->local) { /* a guest's tree is its owner's (see sess_files.h) */
		st->st_uid = s->owner;
		st->st_gid = s->group;
	}
	st->st_blocks = (blkcnt_t)((st->st_size + 511) / 512);
	time_of(j, "atime", &st->st_atim);
	time_of(j, "mtime", &st->st_mtim);
	time_of(j, "ctime", &st->st_ctim);
	if (cJSON_IsNumber(cJSON_GetObjectItem(j, "blocks")))
		st->st_blocks = (blkcnt_t)jll(j, "blocks", 0);
}

static int get_json(struct sess *s, const char *path, cJSON **out, sess_intr_fn intr, void *arg)
{
	struct buf b = BUF_INIT;
	struct agentc_req rq = {"GET", path, NULL, 0, NULL};
	int r = sess_agent_call(s, &rq, 0, &b, NULL, FILES_FLAGS, intr, arg);
	*out = NULL;
	if (r == 0 && !(*out = cJSON_ParseWithLength(b.data, b.len)))
		r = -EIO;
	buf_free(&b);
	return r;
}

int sess_files_stat(struct sess *s, const char *path, struct stat *st, sess_intr_fn intr,
		    void *arg)
{
	char url[PATH_MAX * 3 + 64];
	cJSON *j;
	int r = files_ok(s);
	if (r == 0)
		r = files_path(url, sizeof url, "stat", path, NULL);
	if (r == 0 && (r = get_json(s, url, &j, intr, arg)) == 0)
		stat_from_json(s, j, st);
	if (r == 0)
		cJSON_Delete(j);
	return r;
}

int sess_files_list(struct sess *s, const char *path, sess_files_each_fn each, void *ctx,
		    sess_intr_fn intr, void *arg)
{
	char url[PATH_MAX * 3 + 96], extra[48] = "";
	cJSON *j, *en;
	struct stat st;
	int r = files_ok(s);
	/* the agent answers in pages ("next": where the next one starts, or null) */
	for (int page = 0; r == 0 && page < 1000; page++) {
		if ((r = files_path(url, sizeof url, "list", path, extra)) < 0 ||
		    (r = get_json(s, url, &j, intr, arg)) < 0)
			break;
		cJSON_ArrayForEach(en, cJSON_GetObjectItem(j, "entries"))
		{
			const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(en, "name"));
			if (!name || !name[0] || strchr(name, '/') || strcmp(name, ".") == 0 ||
			    strcmp(name, "..") == 0)
				continue;
			stat_from_json(s, en, &st);
			each(ctx, name, &st);
		}
		cJSON *next = cJSON_GetObjectItem(j, "next");
		long long k = cJSON_IsNumber(next) ? (long long)next->valuedouble : -1;
		cJSON_Delete(j);
		if (k <= 0)
			break;
		snprintf(extra, sizeof extra, "&offset=%lld", k);
	}
	return r;
}

/* A ready VM's bulk channel (core/bulk.c), if its provider made one. */
static struct bulk *files_bulk(struct sess *s)
{
	struct bulk *b = NULL;
	char p[PATH_MAX];
	struct stat st;
	if (s->prov->local)
		return NULL;
	pthread_mutex_lock(&s->lock);
	if (!s->bulk && s->status == SESS_READY) {
		snprintf(p, sizeof p, "%s/%s", s->dir, BULK_SOCK_NAME);
		if (stat(p, &st) == 0 && S_ISSOCK(st.st_mode))
			s->bulk = bulk_new(p);
	}
	if (s->status == SESS_READY)
		b = s->bulk;
	pthread_mutex_unlock(&s->lock);
	return b;
}

int sess_files_read(struct sess *s, const char *path, long long off, size_t len,
		    struct buf *out, sess_intr_fn intr, void *arg)
{
	char url[PATH_MAX * 3 + 96], extra[64];
	if (len > SESS_FILES_IO_MAX)
		len = SESS_FILES_IO_MAX;
	int r = files_ok(s);
	struct bulk *b = r == 0 && len >= SESS_FILES_BULK_MIN ? files_bulk(s) : NULL;
	if (b && (r = bulk_read(b, path, off, len, out, intr, arg)) != -ENOTCONN)
		return r; /* the bytes, or the guest's errno */
	if (b)
		r = 0; /* no channel now: by HTTP */
	snprintf(extra, sizeof extra, "&offset=%lld&len=%zu", off, len);
	if (r == 0)
		r = files_path(url, sizeof url, "read", path, extra);
	if (r < 0)
		return r;
	struct agentc_req rq = {"GET", url, NULL, 0, NULL};
	r = sess_agent_call(s, &rq, 0, out, NULL, FILES_FLAGS, intr, arg);
	if (r == 0 && out->len > len)
		out->len = len;
	return r;
}

int sess_files_write(struct sess *s, const char *path, long long off, const void *data,
		     size_t len, size_t *written, sess_intr_fn intr, void *arg)
{
	char url[PATH_MAX * 3 + 96], extra[48];
	struct buf b = BUF_INIT;
	snprintf(extra, sizeof extra, "&offset=%lld", off);
	*written = 0;
	int r = files_ok(s);
	struct bulk *bk = r == 0 && len >= SESS_FILES_BULK_MIN ? files_bulk(s) : NULL;
	if (bk && (r = bulk_write(bk, path, off, data, len, written, intr, arg)) != -ENOTCONN)
		return r; /* written, or the guest's errno */
	if (bk)
		r = 0; /* no channel now: by HTTP */
	if (r == 0)
		r = files_path(url, sizeof url, "write", path, extra);
	if (r < 0)
		return r;
	struct agentc_req rq = {"PUT", url, data, len, NULL};
	r = sess_agent_call(s, &rq, 0, &b, NULL, FILES_FLAGS, intr, arg);
	if (r == 0) {
		cJSON *j = cJSON_ParseWithLength(b.data, b.len);
		long long n = jll(j, "written", -1);
		if (n < 0 || (size_t)n > len)
			r = -EIO;
		else
			*written = (size_t)n;
		cJSON_Delete(j);
	}
	buf_free(&b);
	return r;
}

/* "/a/b/link" -> "/x/y" becomes "../../x/y": the same place, relative to the link's directory. */
static void relative_target(const char *link, const char *target, struct buf *out)
{
	int depth = -1;
	for (const char *p = link; *p; p++)
		depth += *p == '/';
	while (*target == '/')
		target++;
	for (int i = 0; i < depth; i++)
		buf_printf(out, i + 1 < depth || *target ? "../" : "..");
	if (*target || depth <= 0)
		buf_printf(out, "%s", *target ? target : ".");
}

int sess_files_readlink(struct sess *s, const char *path, struct buf *out, sess_intr_fn intr,
			void *arg)
{
	char url[PATH_MAX * 3 + 64];
	cJSON *j;
	int r = files_ok(s);
	if (r == 0)
		r = files_path(url, sizeof url, "readlink", path, NULL);
	if (r < 0 || (r = get_json(s, url, &j, intr, arg)) < 0)
		return r;
	const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(j, "target"));
	if (!t)
		r = -EIO;
	else if (t[0] == '/' && !s->prov->local)
		relative_target(path, t, out);
	else
		buf_printf(out, "%s", t);
	cJSON_Delete(j);
	return r;
}

int sess_files_op(struct sess *s, const struct sess_file_op *op, struct stat *st,
		  sess_intr_fn intr, void *arg)
{
	struct buf b = BUF_INIT;
	int r = files_ok(s);
	if (r < 0)
		return r;
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "op", op->op);
	cJSON_AddStringToObject(j, "path", op->path);
	if (op->to)
		cJSON_AddStringToObject(j, "to", op->to);
	if (op->target)
		cJSON_AddStringToObject(j, "target", op->target);
	if (!strcmp(op->op, "create") || !strcmp(op->op, "mkdir") || !strcmp(op->op, "chmod"))
		cJSON_AddNumberToObject(j, "mode", op->mode & 07777);
	if (!strcmp(op->op, "truncate"))
		cJSON_AddNumberToObject(j, "size", (double)op->size);
	if (!strcmp(op->op, "utimens")) { /* exact: seconds and nanoseconds apart */
		static const char *const k[2][3] = {{"atime_ns", "atime_sec", "atime_nsec"},
						    {"mtime_ns", "mtime_sec", "mtime_nsec"}};
		long long v[2] = {op->atime_ns, op->mtime_ns};
		for (int i = 0; i < 2; i++) {
			if (v[i] < 0) { /* -1 now, -2 leave */
				cJSON_AddNumberToObject(j, k[i][0], (double)v[i]);
			} else {
				cJSON_AddNumberToObject(j, k[i][1], (double)(v[i] / 1000000000LL));
				cJSON_AddNumberToObject(j, k[i][2], (double)(v[i] % 1000000000LL));
			}
		}
	}
	if (!strcmp(op->op, "rename"))
		cJSON_AddNumberToObject(j, "flags", op->flags);
	char *body = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (!body)
		return -ENOMEM;
	struct agentc_req rq = {"POST", "/v1/files/op", body, strlen(body), NULL};
	r = sess_agent_call(s, &rq, 0, &b, NULL, FILES_FLAGS, intr, arg);
	free(body);
	if (r == 0 && st) {
		cJSON *res = cJSON_ParseWithLength(b.data, b.len);
		if (res && cJSON_GetObjectItem(res, "type"))
			stat_from_json(s, res, st);
		else
			memset(st, 0, sizeof *st); /* the caller asks for it if it needs it */
		cJSON_Delete(res);
	}
	buf_free(&b);
	return r;
}
