/*
 * capture.c - root window -> PNG, as fast as the display allows.
 *
 * Two XShm images (and their SysV segments) live as long as the screen
 * keeps its size: captures alternate between them, so the previous
 * capture's pixels stay intact for png.c to compare with. Pixels are
 * encoded by png.c into pooled, reference-counted buffers. Before every
 * capture we do a round trip and drain events, so a DamageNotify for
 * anything drawn before the request has arrived; with no damage since the
 * last capture the previous PNG is served again. The damage region is
 * cleared *before* the image is read, so drawing that races with the read
 * marks the next request dirty (a spare recapture, never a stale image).
 *
 * A fresh capture goes through png_update(), which compares every band of
 * rows with the previous capture's pixels and re-encodes only those that
 * differ. If none differ, the cached PNG is served again: the very same
 * object, so its etag says "unchanged" to a conditional request. Any new
 * PNG gets the next serial, and so a new etag. The cached PNG is always
 * the one png_write() made of the encoder's current frame; when that cannot
 * hold (a failure after png_update()), png_reset() makes the next capture
 * encode everything.
 *
 * With a frame (the session's scale=WxH), the PNG is made at the frame's
 * size by png_update_scaled(), on the same paths: the cache holds the
 * frame-sized PNG, and unchanged bands (by their source rows) are kept.
 * A new frame size encodes everything once.
 *
 * See capture.h for usage.
 */
#include "agent/capture.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <X11/Xutil.h>
#include <X11/extensions/XShm.h>

#include "agent/png.h"
#include "common/clock.h"

#define POOL 3

struct frame {
	XImage *img; /* XShm image, or a client image for XGetSubImage */
	XShmSegmentInfo shm;
	int use_shm; /* MIT-SHM present and attach worked */
};

struct cap {
	struct xconn *x;
	/* double buffer: fr[cur] holds the pixels of the last png_update(), the
	 * next capture goes to fr[cur ^ 1]; both exist or neither */
	struct frame fr[2];
	int cur;
	int shm_broken; /* attach failed once: stay on XGetImage */
	int img_w, img_h;
	struct png_fmt fmt;
	struct png_enc *enc;
	struct cap_png *pool[POOL];
	struct cap_png *cached; /* one reference held by the cache */
	uint64_t start_ns;      /* CLOCK_REALTIME at cap_new: the etag's prefix */
	uint64_t serial;        /* of the last PNG produced */
	int bands_total;
};

void cap_png_ref(struct cap_png *p)
{
	atomic_fetch_add(&p->refs, 1);
}

void cap_png_unref(struct cap_png *p)
{
	if (atomic_fetch_sub(&p->refs, 1) > 1 || p->pooled)
		return;
	free(p->data);
	free(p);
}

static void frame_destroy(struct cap *c, struct frame *f)
{
	if (!f->img)
		return;
	if (f->use_shm) {
		XShmDetach(c->x->dpy, &f->shm);
		XSync(c->x->dpy, False);
		shmdt(f->shm.shmaddr);
		f->img->data = NULL;
	}
	XDestroyImage(f->img); /* frees data for the client image */
	f->img = NULL;
	f->use_shm = 0;
}

static void frames_destroy(struct cap *c)
{
	frame_destroy(c, &c->fr[0]);
	frame_destroy(c, &c->fr[1]);
}

static int frame_create_shm(struct cap *c, struct frame *f, int w, int h)
{
	struct xconn *x = c->x;
	struct xconn_error xe;
	unsigned long mark;

	memset(&f->shm, 0, sizeof f->shm);
	f->img = XShmCreateImage(x->dpy, x->visual, (unsigned)x->depth, ZPixmap, NULL, &f->shm,
	                         (unsigned)w, (unsigned)h);
	if (!f->img)
		return -ENOMEM;
	f->shm.shmid = shmget(IPC_PRIVATE, (size_t)f->img->bytes_per_line * h, IPC_CREAT | 0600);
	if (f->shm.shmid < 0)
		goto out_destroy_image;
	f->shm.shmaddr = f->img->data = shmat(f->shm.shmid, NULL, 0);
	if (f->shm.shmaddr == (char *)-1)
		goto out_remove_segment;
	f->shm.readOnly = False;
	xconn_set_quiet(1);
	mark = xconn_error_mark(x);
	XShmAttach(x->dpy, &f->shm);
	XSync(x->dpy, False);
	xconn_set_quiet(0);
	if (xconn_error_since(mark, &xe)) {
		fprintf(stderr, "deskfs-agent: MIT-SHM attach failed (%s), using XGetImage\n",
		        xe.text);
		c->shm_broken = 1;
		goto out_detach_segment;
	}
	shmctl(f->shm.shmid, IPC_RMID, NULL); /* gone with the last detach */
	f->use_shm = 1;
	return 0;

out_detach_segment:
	shmdt(f->shm.shmaddr);
out_remove_segment:
	shmctl(f->shm.shmid, IPC_RMID, NULL);
out_destroy_image:
	f->img->data = NULL;
	XDestroyImage(f->img);
	f->img = NULL;
	return -EIO;
}

static int frame_create_plain(struct cap *c, struct frame *f, int w, int h)
{
	struct xconn *x = c->x;
	int pad = BitmapPad(x->dpy);
	char *data;

	f->img = XCreateImage(x->dpy, x->visual, (unsigned)x->depth, ZPixmap, 0, NULL, (unsigned)w,
	                      (unsigned)h, pad, 0);
	if (!f->img)
		return -ENOMEM;
	data = malloc((size_t)f->img->bytes_per_line * h);
	if (!data) {
		XDestroyImage(f->img);
		f->img = NULL;
		return -ENOMEM;
	}
	f->img->data = data;
	return 0;
}

/* Both frames in shared memory if possible, else both client images (one
 * kind for both, so that they share one stride). */
static int frames_create(struct cap *c, int w, int h)
{
	int rc = 0;

	if (!c->shm_broken && XShmQueryExtension(c->x->dpy))
		for (int i = 0; i < 2 && rc == 0; i++)
			rc = frame_create_shm(c, &c->fr[i], w, h);
	if (c->fr[0].img && c->fr[1].img)
		return 0;
	frames_destroy(c);
	for (int i = 0; i < 2; i++) {
		rc = frame_create_plain(c, &c->fr[i], w, h);
		if (rc < 0) {
			frames_destroy(c);
			return rc;
		}
	}
	return 0;
}

static int image_ensure(struct cap *c, char *err, size_t errlen)
{
	struct xconn *x = c->x;
	XImage *img;
	int rc;

	if (c->fr[0].img && c->img_w == x->width && c->img_h == x->height)
		return 0;
	frames_destroy(c);
	png_reset(c->enc); /* the previous frame's buffer is gone */
	rc = frames_create(c, x->width, x->height);
	if (rc < 0) {
		snprintf(err, errlen, "capture_failed: cannot create a %dx%d image", x->width,
		         x->height);
		return rc;
	}
	img = c->fr[0].img;
	c->img_w = x->width;
	c->img_h = x->height;
	c->fmt.bits_per_pixel = img->bits_per_pixel;
	c->fmt.msb_first = img->byte_order == MSBFirst;
	c->fmt.red_mask = x->visual->red_mask;
	c->fmt.green_mask = x->visual->green_mask;
	c->fmt.blue_mask = x->visual->blue_mask;
	return 0;
}

int cap_new(struct xconn *x, struct cap **out, char *err, size_t errlen)
{
	struct cap *c = calloc(1, sizeof *c);
	struct timespec ts;
	int rc;

	if (!c)
		return -ENOMEM;
	c->x = x;
	clock_gettime(CLOCK_REALTIME, &ts);
	c->start_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	rc = png_enc_new(&c->enc);
	if (rc < 0) {
		snprintf(err, errlen, "capture_failed: cannot start the encoder");
		goto out_free_cap;
	}
	rc = image_ensure(c, err, errlen);
	if (rc < 0)
		goto out_free_encoder;
	*out = c;
	return 0;

out_free_encoder:
	png_enc_free(c->enc);
out_free_cap:
	free(c);
	return rc;
}

void cap_free(struct cap *c)
{
	if (!c)
		return;
	if (c->cached)
		cap_png_unref(c->cached);
	for (int i = 0; i < POOL; i++) {
		struct cap_png *p = c->pool[i];
		if (!p)
			continue;
		p->pooled = 0;
		if (atomic_load(&p->refs) == 0) {
			free(p->data);
			free(p);
		}
	}
	frames_destroy(c);
	png_enc_free(c->enc);
	free(c);
}

/* A buffer nobody holds, from the pool if possible. */
static struct cap_png *buffer_get(struct cap *c)
{
	for (int i = 0; i < POOL; i++) {
		if (!c->pool[i]) {
			c->pool[i] = calloc(1, sizeof *c->pool[i]);
			if (c->pool[i])
				c->pool[i]->pooled = 1;
			return c->pool[i];
		}
		if (atomic_load(&c->pool[i]->refs) == 0)
			return c->pool[i];
	}
	return calloc(1, sizeof(struct cap_png)); /* all in flight: a one-off */
}

static int read_pixels(struct cap *c, struct frame *f, char *err, size_t errlen)
{
	struct xconn *x = c->x;
	struct xconn_error xe;
	unsigned long mark = xconn_error_mark(x);
	int ok;

	if (f->use_shm)
		ok = XShmGetImage(x->dpy, x->root, f->img, 0, 0, AllPlanes);
	else
		ok = XGetSubImage(x->dpy, x->root, 0, 0, (unsigned)c->img_w, (unsigned)c->img_h,
		                  AllPlanes, ZPixmap, f->img, 0, 0) != NULL;
	if (ok && !xconn_error_since(mark, &xe))
		return 0;
	if (!xconn_error_since(mark, &xe))
		snprintf(xe.text, sizeof xe.text, "no image returned");
	snprintf(err, errlen, "capture_failed: %s", xe.text);
	return -EIO;
}

int cap_screenshot(struct cap *c, int frame_w, int frame_h, struct cap_png **out,
                   struct cap_stats *st, char *err, size_t errlen)
{
	struct xconn *x = c->x;
	struct frame *f, *prev;
	struct cap_png *p;
	double t0, t1, t2;
	int rc, total, out_w, out_h;

	memset(st, 0, sizeof *st);
	st->bands_total = c->bands_total;
	xconn_sync_drain(x);
	out_w = frame_w > 0 ? frame_w : x->width;
	out_h = frame_h > 0 ? frame_h : x->height;
	if (c->cached && x->have_damage && !x->damaged && c->cached->width == out_w &&
	    c->cached->height == out_h && c->img_w == x->width && c->img_h == x->height) {
		cap_png_ref(c->cached);
		*out = c->cached;
		return 0;
	}
	for (int attempt = 0;; attempt++) {
		rc = image_ensure(c, err, errlen);
		if (rc < 0)
			return rc;
		if (c->x->visual->class != TrueColor && c->x->visual->class != DirectColor) {
			snprintf(err, errlen,
			         "unsupported_visual: visual class %d is not TrueColor",
			         c->x->visual->class);
			return -ENOTSUP;
		}
		if (png_fmt_check(&c->fmt) < 0) {
			snprintf(err, errlen, "unsupported_visual: %d bits per pixel, depth %d",
			         c->fmt.bits_per_pixel, x->depth);
			return -ENOTSUP;
		}
		xconn_damage_reset(x);
		t0 = clk_mono_msf();
		f = &c->fr[c->cur ^ 1];
		rc = read_pixels(c, f, err, errlen);
		if (rc == 0)
			break;
		/* the root may have been resized under us: look once more */
		xconn_sync_drain(x);
		x->damaged = 1;
		if (attempt > 0 || (x->width == c->img_w && x->height == c->img_h))
			return rc;
	}
	t1 = clk_mono_msf();
	st->fresh = 1;
	st->capture_ms = t1 - t0;

	prev = &c->fr[c->cur];
	out_w = frame_w > 0 ? frame_w : c->img_w;
	out_h = frame_h > 0 ? frame_h : c->img_h;
	rc = png_update_scaled(c->enc, (const unsigned char *)f->img->data,
	                       (const unsigned char *)prev->img->data, c->img_w, c->img_h,
	                       (size_t)f->img->bytes_per_line, &c->fmt, out_w, out_h, &total);
	if (rc < 0) {
		x->damaged = 1;
		snprintf(err, errlen, "capture_failed: PNG encoding failed (%s)", strerror(-rc));
		return rc;
	}
	c->cur ^= 1; /* f holds the frame the encoder knows */
	c->bands_total = total;
	st->bands_encoded = rc;
	st->bands_total = total;
	if (rc == 0 && c->cached && c->cached->width == out_w && c->cached->height == out_h) {
		/* not one band differs from the pixels the cached PNG was made of */
		cap_png_ref(c->cached);
		*out = c->cached;
		st->encode_ms = clk_mono_msf() - t1;
		return 0;
	}

	p = buffer_get(c);
	rc = p ? png_write(c->enc, &p->data, &p->cap, &p->len) : -ENOMEM;
	if (rc < 0) {
		png_reset(c->enc); /* the cache no longer matches the encoder's frame */
		x->damaged = 1;
		if (p && !p->pooled) {
			free(p->data);
			free(p);
		}
		snprintf(err, errlen, "capture_failed: PNG encoding failed (%s)", strerror(-rc));
		return rc;
	}
	t2 = clk_mono_msf();
	p->width = out_w;
	p->height = out_h;
	p->serial = ++c->serial;
	snprintf(p->etag, sizeof p->etag, "\"%" PRIx64 "-%" PRIx64 "\"", c->start_ns, p->serial);
	atomic_store(&p->refs, 1); /* the cache */
	if (c->cached)
		cap_png_unref(c->cached);
	c->cached = p;
	cap_png_ref(p);
	*out = p;
	st->encode_ms = t2 - t1;
	return 0;
}
