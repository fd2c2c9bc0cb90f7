/*
 * derr.c - see derr.h.
 */
#include "common/derr.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int derr_set(struct derr *e, int err, const char *code, const char *fmt, ...)
{
	va_list ap;
	e->err = err;
	snprintf(e->code, sizeof e->code, "%s", code && *code ? code : "error");
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return -err;
}

void derr_prefix(struct derr *e, const char *fmt, ...)
{
	char head[300], old[sizeof e->msg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(head, sizeof head, fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof old);
	snprintf(e->msg, sizeof e->msg, "%s%s", head, old);
}

int derr_errno(const struct derr *e, int fallback)
{
	return e->err > 0 ? e->err : fallback;
}
