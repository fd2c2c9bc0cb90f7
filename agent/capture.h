/*
 * capture.h - screenshots of the root window as PNG: XShmGetImage into
 * one shared-memory image kept per display (XGetImage when MIT-SHM is
 * missing), encoded by png.c, and served from a cache while XDamage says
 * nothing changed.
 *
 *	struct cap *c;
 *	cap_new(&x, &c, err, sizeof err);
 *	struct cap_png *png; struct cap_stats st;
 *	if (cap_screenshot(c, &png, &st, err, sizeof err) == 0) {
 *		... png->data[0..png->len) ...
 *		cap_png_unref(png);          (every screenshot is one reference)
 *	}
 *	cap_free(c);
 *
 * Ownership: a cap_png is reference counted; the cache holds one reference
 * and each caller of cap_screenshot one more, dropped with cap_png_unref
 * (e.g. from libmicrohttpd's free callback once the response is sent).
 * Buffers of the pool are reused once nobody holds them. All calls come
 * from the thread that owns the X connection; counts are not atomic.
 */
#ifndef DESKFS_CAPTURE_H
#define DESKFS_CAPTURE_H

#include <stddef.h>
#include "agent/xconn.h"

struct cap_png {
	unsigned char *data;
	size_t len, cap;
	int width, height;
	int refs;
	int pooled; /* owned by the pool: kept for reuse at refs == 0 */
};

struct cap_stats {
	int fresh;         /* 1: captured and encoded now; 0: the cached image */
	double capture_ms; /* XShmGetImage */
	double encode_ms;  /* conversion + filter + deflate + container */
};

struct cap;

int cap_new(struct xconn *x, struct cap **out, char *err, size_t errlen);
void cap_free(struct cap *c);

/*
 * A PNG of the whole root window as it is now (a reference for the caller).
 * Returns 0, or -ENOTSUP (pixel format; err "unsupported_visual: ..."),
 * -EIO (X error; err "capture_failed: ..."), -ENOMEM.
 */
int cap_screenshot(struct cap *c, struct cap_png **out, struct cap_stats *st, char *err,
                   size_t errlen);

void cap_png_ref(struct cap_png *p);
void cap_png_unref(struct cap_png *p);

#endif
