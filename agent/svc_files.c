/*
 * svc_files.c - the files routes (files.h does the path work), on the
 * files runner: a few threads of their own, each with the --run-as
 * user's file-system credentials (ident_enter), beside the X worker.
 *
 *	GET  /v1/files/stat?path=P                lstat as JSON (below)
 *	GET  /v1/files/list?path=P[&offset=K]     {"entries":[{"name",...stat}],
 *	                                           "next":null|K'} (100000 a time)
 *	GET  /v1/files/read?path=P&offset=O&len=L  bytes (L <= 4 MiB; shorter at EOF),
 *	                                           X-Deskfs-Size: the file's size
 *	GET  /v1/files/readlink?path=P            {"target":"..."}
 *	PUT  /v1/files/write?path=P&offset=O      body -> {"written":n}, written as it
 *	                                           arrives (SVC_STREAM), never whole
 *	POST /v1/files/op  {"op":"create|mkdir|rmdir|unlink|rename|chmod|truncate|
 *	                    utimens|symlink|link", "path", ...} -> the stat of path
 *	                    (of "to" for rename and link; {} for rmdir and unlink)
 *
 *	curl --unix-socket S -H "Authorization: Bearer $T" 'http://x/v1/files/stat?path=/etc'
 *	curl ... -T big.iso 'http://x/v1/files/write?path=/big.iso&offset=0'
 *
 * A stat: {"type":"file|dir|symlink|other","mode":N (st_mode & 07777),
 * "size","uid","gid","nlink","ino","blocks","atime_ns","mtime_ns",
 * "ctime_ns"} plus each time as *_sec and *_nsec: the *_ns numbers are
 * exact integers in the text, which a parser that reads numbers as
 * doubles (cJSON) rounds; *_sec and *_nsec are exact as doubles. utimens
 * takes atime_ns/mtime_ns (-1 now, -2 leave as is) or atime_sec with
 * atime_nsec (and mtime_...). ctx is the struct ident.
 */
#include "agent/svc_all.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/files.h"
#include "agent/ident.h"

#define READ_MAX (4u << 20)
#define LIST_MAX 100000

static const char *type_name(mode_t m)
{
	return S_ISREG(m) ? "file" : S_ISDIR(m) ? "dir" : S_ISLNK(m) ? "symlink" : "other";
}

/* An exact integer (cJSON's numbers are doubles). */
static void add_u64(cJSON *o, const char *name, unsigned long long v)
{
	char buf[24];

	snprintf(buf, sizeof buf, "%llu", v);
	cJSON_AddRawToObject(o, name, buf);
}

static void add_time(cJSON *o, const char *name, const struct timespec *ts)
{
	char key[16], buf[32];

	snprintf(buf, sizeof buf, "%lld", (long long)ts->tv_sec * 1000000000LL + ts->tv_nsec);
	snprintf(key, sizeof key, "%s_ns", name);
	cJSON_AddRawToObject(o, key, buf);
	snprintf(key, sizeof key, "%s_sec", name);
	cJSON_AddNumberToObject(o, key, (double)ts->tv_sec);
	snprintf(key, sizeof key, "%s_nsec", name);
	cJSON_AddNumberToObject(o, key, (double)ts->tv_nsec);
}

static cJSON *stat_json(const char *name, const struct stat *st)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	if (name)
		cJSON_AddStringToObject(o, "name", name);
	cJSON_AddStringToObject(o, "type", type_name(st->st_mode));
	cJSON_AddNumberToObject(o, "mode", st->st_mode & 07777);
	add_u64(o, "size", (unsigned long long)st->st_size);
	cJSON_AddNumberToObject(o, "uid", st->st_uid);
	cJSON_AddNumberToObject(o, "gid", st->st_gid);
	cJSON_AddNumberToObject(o, "nlink", (double)st->st_nlink);
	add_u64(o, "ino", (unsigned long long)st->st_ino);
	add_u64(o, "blocks", (unsigned long long)st->st_blocks);
	add_time(o, "atime", &st->st_atim);
	add_time(o, "mtime", &st->st_mtim);
	add_time(o, "ctime", &st->st_ctim);
	return o;
}

static int parse_u64(const char *s, unsigned long long *out)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || *end || *out > INT64_MAX ? -EINVAL : 0;
}

/* The serving thread takes the user's credentials (once). */
static int enter(const struct ident *id, struct svc_reply *rep)
{
	int rc = ident_enter(id, 1);

	if (rc < 0)
		svc_reply_errno(rep, -rc, "identity", "cannot take uid %u's credentials: %s",
		                (unsigned)id->uid, strerror(-rc));
	return rc;
}

/* The path argument, or an EINVAL answer. */
static const char *path_arg(const struct svc_req *rq, const char *name, struct svc_reply *rep)
{
	const char *p = svc_arg(rq, name);

	if (!p || p[0] != '/')
		svc_reply_errno(rep, EINVAL, "bad_path", "%s= is an absolute path of the tree", name);
	return p && p[0] == '/' ? p : NULL;
}

static void reply_fail(struct svc_reply *rep, int rc, const char *what, const char *path)
{
	svc_reply_errno(rep, -rc, NULL, "%s %.300s: %s", what, path, strerror(-rc));
}

static void reply_stat(struct svc_reply *rep, const struct ident *id, const char *path)
{
	struct stat st;
	int rc = files_stat(id, path, &st);

	if (rc < 0)
		reply_fail(rep, rc, "stat", path);
	else
		svc_reply_json(rep, 200, stat_json(NULL, &st));
}

static void get_stat(void *ctx, const struct svc_req *rq, struct svc_reply *rep)
{
	const char *path;

	if (enter(ctx, rep) < 0 || !(path = path_arg(rq, "path", rep)))
		return;
	reply_stat(rep, ctx, path);
}

static void get_readlink(void *ctx, const struct svc_req *rq, struct svc_reply *rep)
{
	char target[PATH_MAX + 1];
	const char *path;
	cJSON *o;
	int rc;

	if (enter(ctx, rep) < 0 || !(path = path_arg(rq, "path", rep)))
		return;
	rc = files_readlink(ctx, path, target, sizeof target);
	if (rc < 0) {
		reply_fail(rep, rc, "readlink", path);
		return;
	}
	o = cJSON_CreateObject();
	if (o)
		cJSON_AddStringToObject(o, "target", target);
	svc_reply_json(rep, 200, o);
}

/* ---- list: entries printed one by one into one buffer ---- */

struct listing {
	char *buf;
	size_t len, cap;
	unsigned long long skip, count;
	int full;
};

static int put(struct listing *l, const char *s, size_t n)
{
	if (l->len + n + 1 > l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 65536;
		char *nb;
		while (cap < l->len + n + 1)
			cap *= 2;
		nb = realloc(l->buf, cap);
		if (!nb)
			return -ENOMEM;
		l->buf = nb;
		l->cap = cap;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
	l->buf[l->len] = 0;
	return 0;
}

static int list_one(void *cls, const char *name, const struct stat *st)
{
	struct listing *l = cls;
	cJSON *o;
	char *s;
	int rc;

	if (l->skip) {
		l->skip--;
		return 0;
	}
	if (l->count == LIST_MAX) {
		l->full = 1;
		return -ECANCELED; /* enough for one answer */
	}
	o = stat_json(name, st);
	s = o ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	if (!s)
		return -ENOMEM;
	rc = (l->count ? put(l, ",", 1) : 0) || put(l, s, strlen(s)) ? -ENOMEM : 0;
	free(s);
	l->count++;
	return rc;
}

static void get_list(void *ctx, const struct svc_req *rq, struct svc_reply *rep)
{
	struct listing l = {0};
	unsigned long long from = 0;
	const char *path, *off;
	char tail[64];
	int rc;

	if (enter(ctx, rep) < 0 || !(path = path_arg(rq, "path", rep)))
		return;
	off = svc_arg(rq, "offset");
	if (off && parse_u64(off, &from) < 0) {
		svc_reply_errno(rep, EINVAL, "bad_offset", "offset is a count of entries");
		return;
	}
	l.skip = from;
	rc = put(&l, "{\"entries\":[", 12);
	if (rc == 0)
		rc = files_list(ctx, path, list_one, &l);
	if (rc == -ECANCELED && l.full)
		rc = 0;
	if (rc < 0) {
		free(l.buf);
		reply_fail(rep, rc, "list", path);
		return;
	}
	if (l.full)
		snprintf(tail, sizeof tail, "],\"next\":%llu}", from + l.count);
	else
		snprintf(tail, sizeof tail, "],\"next\":null}");
	if (put(&l, tail, strlen(tail)) < 0) {
		free(l.buf);
		svc_reply_errno(rep, ENOMEM, "internal", "out of memory");
		return;
	}
	svc_reply_bytes(rep, 200, "application/json", l.buf, l.len, free, l.buf);
}

/* ---- read and write ---- */

static void get_read(void *ctx, const struct svc_req *rq, struct svc_reply *rep)
{
	unsigned long long off, len;
	const char *path;
	struct stat st;
	size_t got = 0;
	ssize_t n;
	char *buf;
	int fd, rc;

	if (enter(ctx, rep) < 0 || !(path = path_arg(rq, "path", rep)))
		return;
	if (parse_u64(svc_arg(rq, "offset"), &off) < 0 || parse_u64(svc_arg(rq, "len"), &len) < 0 ||
	    len > READ_MAX) {
		svc_reply_errno(rep, EINVAL, "bad_range", "offset=O&len=L, L at most %u", READ_MAX);
		return;
	}
	rc = files_open_regular(ctx, path, O_RDONLY, &fd, &st);
	if (rc < 0) {
		reply_fail(rep, rc, "read", path);
		return;
	}
	buf = malloc(len ? len : 1);
	if (!buf) {
		close(fd);
		svc_reply_errno(rep, ENOMEM, "internal", "out of memory");
		return;
	}
	while (got < len) {
		n = pread(fd, buf + got, len - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (rc < 0) {
		free(buf);
		reply_fail(rep, rc, "read", path);
		return;
	}
	svc_reply_bytes(rep, 200, "application/octet-stream", buf, got, free, buf);
	svc_reply_header(rep, "X-Deskfs-Size", "%lld", (long long)st.st_size);
}

struct upload {
	int fd;
	unsigned long long off, written;
};

static void upload_end(struct upload *u)
{
	if (u->fd >= 0)
		close(u->fd);
	free(u);
}

/* Called per piece of the body (svc.h, SVC_STREAM). */
static void put_write(void *ctx, const struct svc_req *rq, struct svc_reply *rep)
{
	struct upload *u = *rq->state;
	const char *path = NULL;
	size_t done = 0;
	struct stat st;
	ssize_t n;
	cJSON *o;
	int rc;

	if (rq->more < 0) { /* the client went away */
		upload_end(u);
		*rq->state = NULL;
		return;
	}
	if (!u) {
		unsigned long long off;
		if (enter(ctx, rep) < 0 || !(path = path_arg(rq, "path", rep)))
			return;
		if (parse_u64(svc_arg(rq, "offset"), &off) < 0) {
			svc_reply_errno(rep, EINVAL, "bad_offset", "offset=O is a byte offset");
			return;
		}
		u = calloc(1, sizeof *u);
		if (!u) {
			svc_reply_errno(rep, ENOMEM, "internal", "out of memory");
			return;
		}
		rc = files_open_regular(ctx, path, O_WRONLY, &u->fd, &st);
		if (rc < 0) {
			free(u);
			reply_fail(rep, rc, "write", path);
			return;
		}
		u->off = off;
		*rq->state = u;
	}
	while (done < rq->len) {
		n = pwrite(u->fd, rq->body + done, rq->len - done, (off_t)(u->off + u->written));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			svc_reply_errno(rep, -rc, NULL, "write %.300s at %llu: %s",
			                svc_arg(rq, "path"), u->off + u->written, strerror(-rc));
			upload_end(u);
			*rq->state = NULL;
			return;
		}
		done += (size_t)n;
		u->written += (unsigned long long)n;
	}
	if (rq->more)
		return;
	o = cJSON_CreateObject();
	if (o)
		cJSON_AddNumberToObject(o, "written", (double)u->written);
	svc_reply_json(rep, 200, o);
	upload_end(u);
	*rq->state = NULL;
}

/* ---- the other operations ---- */

static int num(const cJSON *j, const char *name, double lo, double hi, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);

	if (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi ||
	    v->valuedouble != floor(v->valuedouble))
		return -EINVAL;
	*out = v->valuedouble;
	return 0;
}

static const char *str(const cJSON *j, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* One time of utimens: name_sec (+ name_nsec), or name_ns (-1 now, -2 omit). */
static int time_arg(const cJSON *j, const char *name, struct timespec *ts)
{
	char key[16];
	double v, ns = 0;

	snprintf(key, sizeof key, "%s_sec", name);
	if (cJSON_GetObjectItemCaseSensitive(j, key)) {
		if (num(j, key, -9.2e18, 9.2e18, &v) < 0)
			return -EINVAL;
		snprintf(key, sizeof key, "%s_nsec", name);
		if (cJSON_GetObjectItemCaseSensitive(j, key) && num(j, key, 0, 999999999, &ns) < 0)
			return -EINVAL;
		*ts = (struct timespec){.tv_sec = (time_t)v, .tv_nsec = (long)ns};
		return 0;
	}
	snprintf(key, sizeof key, "%s_ns", name);
	if (!cJSON_GetObjectItemCaseSensitive(j, key)) {
		ts->tv_nsec = UTIME_OMIT;
		return 0;
	}
	if (num(j, key, -2, 9.2e18, &v) < 0)
		return -EINVAL;
	if (v == -1)
		ts->tv_nsec = UTIME_NOW;
	else if (v == -2)
		ts->tv_nsec = UTIME_OMIT;
	else if (v < 0)
		return -EINVAL;
	else
		*ts = (struct timespec){.tv_sec = (time_t)(v / 1e9),
		                        .tv_nsec = (long)fmod(v, 1e9)};
	return 0;
}

static void post_op(void *ctx, const struct svc_req *rq, struct svc_reply *rep)
{
	static const char empty[] = "{}";
	const struct ident *id = ctx;
	cJSON *j = cJSON_ParseWithLength(rq->body, rq->len);
	const char *op = str(j, "op"), *path = str(j, "path"), *to = str(j, "to");
	const char *stat_of;
	struct timespec ts[2];
	double v = 0;
	int rc = -EINVAL;

	if (enter(id, rep) < 0)
		goto out;
	if (!op || !path || path[0] != '/') {
		svc_reply_errno(rep, EINVAL, "bad_request", "{\"op\":\"...\",\"path\":\"/...\",...}");
		goto out;
	}
	stat_of = path;
	if (!strcmp(op, "create") || !strcmp(op, "mkdir") || !strcmp(op, "chmod")) {
		if (num(j, "mode", 0, 07777, &v) == 0)
			rc = !strcmp(op, "create") ? files_create(id, path, (mode_t)v)
			     : !strcmp(op, "mkdir") ? files_mkdir(id, path, (mode_t)v)
			                            : files_chmod(id, path, (mode_t)v);
	} else if (!strcmp(op, "rmdir") || !strcmp(op, "unlink")) {
		rc = !strcmp(op, "rmdir") ? files_rmdir(id, path) : files_unlink(id, path);
		stat_of = NULL;
	} else if (!strcmp(op, "rename") || !strcmp(op, "link")) {
		if (to && to[0] == '/') {
			if (!strcmp(op, "link"))
				rc = files_link(id, path, to);
			else if (!cJSON_GetObjectItemCaseSensitive(j, "flags") ||
			         num(j, "flags", 0, 2, &v) == 0)
				rc = files_rename(id, path, to, (unsigned)v);
			stat_of = to;
		}
	} else if (!strcmp(op, "truncate")) {
		if (num(j, "size", 0, 9.2e18, &v) == 0)
			rc = files_truncate(id, path, (off_t)v);
	} else if (!strcmp(op, "utimens")) {
		if (time_arg(j, "atime", &ts[0]) == 0 && time_arg(j, "mtime", &ts[1]) == 0)
			rc = files_utimens(id, path, ts);
	} else if (!strcmp(op, "symlink")) {
		if (str(j, "target"))
			rc = files_symlink(id, path, str(j, "target"));
	} else {
		svc_reply_errno(rep, EINVAL, "bad_op", "no such op: %.40s", op);
		goto out;
	}
	if (rc < 0)
		reply_fail(rep, rc, op, rc == -EINVAL && stat_of == to ? to : path);
	else if (stat_of)
		reply_stat(rep, id, stat_of);
	else
		svc_reply_bytes(rep, 200, "application/json", empty, sizeof empty - 1, NULL, NULL);
out:
	cJSON_Delete(j);
}

static const struct svc_route routes[] = {
    {"GET", "/files/stat", get_stat, 0},
    {"GET", "/files/list", get_list, 0},
    {"GET", "/files/read", get_read, 0},
    {"GET", "/files/readlink", get_readlink, 0},
    {"PUT", "/files/write", put_write, SVC_STREAM},
    {"POST", "/files/op", post_op, SVC_BODY},
};

const struct svc_def svc_files = {"files", routes, sizeof routes / sizeof routes[0]};
