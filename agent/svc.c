/*
 * svc.c - what services share: reading the copied request headers and
 * query arguments, and filling a reply (bytes, JSON, the error shape
 * {"code","message"}, and errors that carry their errno).
 *
 * See svc.h for usage.
 */
#include "agent/svc.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *svc_header(const struct svc_req *rq, const char *name)
{
	for (int i = 0; i < rq->nhdr; i++)
		if (strcasecmp(rq->hdr[i].name, name) == 0)
			return rq->hdr[i].value;
	return NULL;
}

const char *svc_arg(const struct svc_req *rq, const char *name)
{
	for (int i = 0; i < rq->narg; i++)
		if (strcmp(rq->arg[i].name, name) == 0)
			return rq->arg[i].value;
	return NULL;
}

void svc_reply_clear(struct svc_reply *rep)
{
	void *later = rep->later_;

	if (rep->release)
		rep->release(rep->release_cls);
	memset(rep, 0, sizeof *rep);
	rep->later_ = later;
}

void svc_reply_bytes(struct svc_reply *rep, unsigned status, const char *ctype, const void *data,
                     size_t len, void (*release)(void *), void *cls)
{
	if (rep->release)
		rep->release(rep->release_cls);
	rep->status = status;
	rep->ctype = ctype;
	rep->data = data;
	rep->len = len;
	rep->release = release;
	rep->release_cls = cls;
}

void svc_reply_json(struct svc_reply *rep, unsigned status, cJSON *o)
{
	static const char oom[] = "{\"code\":\"internal\",\"message\":\"out of memory\"}";
	char *s = o ? cJSON_PrintUnformatted(o) : NULL;

	cJSON_Delete(o);
	if (!s) {
		svc_reply_bytes(rep, 500, "application/json", oom, sizeof oom - 1, NULL, NULL);
		return;
	}
	svc_reply_bytes(rep, status, "application/json", s, strlen(s), free, s);
}

cJSON *svc_error_obj(const char *code, const char *text)
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

void svc_reply_error(struct svc_reply *rep, unsigned status, const char *code, const char *text)
{
	svc_reply_json(rep, status, svc_error_obj(code, text));
}

void svc_reply_header(struct svc_reply *rep, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (rep->nhdr >= SVC_MAX_HDR)
		return;
	snprintf(rep->hdr[rep->nhdr].name, sizeof rep->hdr[0].name, "%s", name);
	va_start(ap, fmt);
	vsnprintf(rep->hdr[rep->nhdr].value, sizeof rep->hdr[0].value, fmt, ap);
	va_end(ap);
	rep->nhdr++;
}

unsigned svc_errno_status(int err)
{
	switch (err) {
	case EINVAL:
		return 400;
	case EACCES:
	case EPERM:
		return 403;
	case ENOENT:
		return 404;
	case EEXIST:
	case EBUSY:
	case ENOTEMPTY:
		return 409;
	case EPIPE:
		return 410;
	case E2BIG:
	case EFBIG:
		return 413;
	case EAGAIN:
		return 503;
	case ENOSPC:
	case EDQUOT:
		return 507;
	default:
		return 422;
	}
}

void svc_reply_errno(struct svc_reply *rep, int err, const char *code, const char *fmt, ...)
{
	const char *name = strerrorname_np(err);
	char text[512], lower[32];
	va_list ap;
	cJSON *o;

	if (!name)
		name = "EIO";
	if (!code) {
		size_t i;
		for (i = 0; name[i] && i < sizeof lower - 1; i++)
			lower[i] = (char)tolower((unsigned char)name[i]);
		lower[i] = 0;
		code = lower;
	}
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	o = svc_error_obj(code, text);
	cJSON_AddStringToObject(o, "errno", name);
	svc_reply_json(rep, svc_errno_status(err), o);
	svc_reply_header(rep, "X-Deskfs-Errno", "%d", err);
}
