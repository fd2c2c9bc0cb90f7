/*
 * capture.h - screenshots of the root window as PNG: XShmGetImage into
 * two shared-memory images kept per display, used in turn (XGetImage when
 * MIT-SHM is missing), encoded by png.c, and served from a cache while
 * XDamage says nothing changed. A fresh capture re-encodes only the bands
 * of rows that differ from the previous capture; when none differ, the
 * previous PNG (same object, same etag) is served again.
 *
 *	struct cap *c;
 *	cap_new(&x, &c, err, sizeof err);
 *	struct cap_png *png; struct cap_stats st;
 *	if (cap_screenshot(c, 0, 0, &png, &st, err, sizeof err) == 0) {   (0 0: no frame)
 *		... png->data[0..png->len) ...
 *		cap_png_unref(png);          (every screenshot is one reference)
 *	}
 *	cap_free(c);
 *
 * Ownership: a cap_png is reference counted; the cache holds one reference
 * and each caller of cap_screenshot one more, dropped with cap_png_unref
 * (e.g. from libmicrohttpd's free callback once the response is sent).
 * Buffers of the pool are reused once nobody holds them.
 *
 * Threads: every call but cap_png_unref comes from the thread that owns
 * the X connection (the X worker). cap_png_unref may come from any thread
 * (the HTTP thread drops the reply's reference once it is sent): the count
 * is atomic, and the X worker reuses a pooled buffer only once it has seen
 * the count at 0, i.e. after the last reader let go of its bytes.
 */
#ifndef DESKFS_CAPTURE_H
#define DESKFS_CAPTURE_H

#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>
#include "agent/xconn.h"

struct cap_png {
	unsigned char *data;
	size_t len, cap;
	int width, height;
	atomic_int refs; /* dropped on any thread (the HTTP thread, once sent) */
	int pooled;      /* owned by the pool: kept for reuse at refs == 0; set
	                  * and cleared only while no reference is out */
	uint64_t serial; /* bumped for every PNG produced (1, 2, ...) */
	/* identifies these exact bytes within this agent process, quotes
	 * included: "<start time in ns, hex>-<serial, hex>" */
	char etag[48];
};

struct cap_stats {
	int fresh;         /* 1: the pixels were read now; 0: XDamage saw no change */
	double capture_ms; /* XShmGetImage */
	double encode_ms;  /* compare + conversion + filter + deflate + container */
	int bands_encoded; /* bands re-encoded now (0: the previous PNG is served) */
	int bands_total;   /* bands of the image (0 before the first capture) */
};

struct cap;

int cap_new(struct xconn *x, struct cap **out, char *err, size_t errlen);
void cap_free(struct cap *c);

/*
 * A PNG of the whole root window as it is now (a reference for the caller),
 * scaled to frame_w x frame_h when those are > 0 (the session's frame).
 * Returns 0, or -ENOTSUP (pixel format; err "unsupported_visual: ..."),
 * -EIO (X error; err "capture_failed: ..."), -ENOMEM.
 */
int cap_screenshot(struct cap *c, int frame_w, int frame_h, struct cap_png **out,
                   struct cap_stats *st, char *err, size_t errlen);

void cap_png_ref(struct cap_png *p);
void cap_png_unref(struct cap_png *p);

#endif
