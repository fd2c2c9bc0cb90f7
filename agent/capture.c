/*
 * capture.c - root window -> PNG, as fast as the display allows.
 *
 * One XShm image (and its SysV segment) lives as long as the screen keeps
 * its size; pixels are encoded by png.c into pooled, reference-counted
 * buffers. Before every capture we do a round trip and drain events, so a
 * DamageNotify for anything drawn before the request has arrived; with no
 * damage since the last capture the previous PNG is served again. The
 * damage region is cleared *before* the image is read, so drawing that
 * races with the read marks the next request dirty (a spare recapture,
 * never a stale image).
 *
 * See capture.h for usage.
 */
#include "agent/capture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <X11/Xutil.h>
#include <X11/extensions/XShm.h>

#include "agent/png.h"

#define POOL 3

struct cap {
	struct xconn *x;
	XImage *img; /* XShm image, or a client image for XGetSubImage */
	XShmSegmentInfo shm;
	int use_shm;    /* MIT-SHM present and attach worked */
	int shm_broken; /* attach failed once: stay on XGetImage */
	int img_w, img_h;
	struct png_fmt fmt;
	struct png_enc *enc;
	struct cap_png *pool[POOL];
	struct cap_png *cached; /* one reference held by the cache */
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void cap_png_ref(struct cap_png *p)
{
	p->refs++;
}

void cap_png_unref(struct cap_png *p)
{
	if (--p->refs > 0 || p->pooled)
		return;
	free(p->data);
	free(p);
}

static void image_destroy(struct cap *c)
{
	if (!c->img)
		return;
	if (c->use_shm) {
		XShmDetach(c->x->dpy, &c->shm);
		XSync(c->x->dpy, False);
		shmdt(c->shm.shmaddr);
		c->img->data = NULL;
	}
	XDestroyImage(c->img); /* frees data for the client image */
	c->img = NULL;
	c->use_shm = 0;
}

static int image_create_shm(struct cap *c, int w, int h)
{
	struct xconn *x = c->x;
	struct xconn_error xe;
	unsigned long mark;

	memset(&c->shm, 0, sizeof c->shm);
	c->img = XShmCreateImage(x->dpy, x->visual, (unsigned)x->depth, ZPixmap, NULL, &c->shm,
	                         (unsigned)w, (unsigned)h);
	if (!c->img)
		return -ENOMEM;
	c->shm.shmid = shmget(IPC_PRIVATE, (size_t)c->img->bytes_per_line * h, IPC_CREAT | 0600);
	if (c->shm.shmid < 0)
		goto out_destroy_image;
	c->shm.shmaddr = c->img->data = shmat(c->shm.shmid, NULL, 0);
	if (c->shm.shmaddr == (char *)-1)
		goto out_remove_segment;
	c->shm.readOnly = False;
	xconn_set_quiet(1);
	mark = xconn_error_mark(x);
	XShmAttach(x->dpy, &c->shm);
	XSync(x->dpy, False);
	xconn_set_quiet(0);
	if (xconn_error_since(mark, &xe)) {
		fprintf(stderr, "deskfs-agent: MIT-SHM attach failed (%s), using XGetImage\n",
		        xe.text);
		c->shm_broken = 1;
		goto out_detach_segment;
	}
	shmctl(c->shm.shmid, IPC_RMID, NULL); /* gone with the last detach */
	c->use_shm = 1;
	return 0;

out_detach_segment:
	shmdt(c->shm.shmaddr);
out_remove_segment:
	shmctl(c->shm.shmid, IPC_RMID, NULL);
out_destroy_image:
	c->img->data = NULL;
	XDestroyImage(c->img);
	c->img = NULL;
	return -EIO;
}

static int image_create_plain(struct cap *c, int w, int h)
{
	struct xconn *x = c->x;
	int pad = BitmapPad(x->dpy);
	char *data;

	c->img = XCreateImage(x->dpy, x->visual, (unsigned)x->depth, ZPixmap, 0, NULL, (unsigned)w,
	                      (unsigned)h, pad, 0);
	if (!c->img)
		return -ENOMEM;
	data = malloc((size_t)c->img->bytes_per_line * h);
	if (!data) {
		XDestroyImage(c->img);
		c->img = NULL;
		return -ENOMEM;
	}
	c->img->data = data;
	return 0;
}

static int image_ensure(struct cap *c, char *err, size_t errlen)
{
	struct xconn *x = c->x;
	int rc = 0;

	if (c->img && c->img_w == x->width && c->img_h == x->height)
		return 0;
	image_destroy(c);
	if (!c->shm_broken && XShmQueryExtension(x->dpy))
		rc = image_create_shm(c, x->width, x->height);
	if (!c->img)
		rc = image_create_plain(c, x->width, x->height);
	if (rc < 0) {
		snprintf(err, errlen, "capture_failed: cannot create a %dx%d image", x->width,
		         x->height);
		return rc;
	}
	c->img_w = x->width;
	c->img_h = x->height;
	c->fmt.bits_per_pixel = c->img->bits_per_pixel;
	c->fmt.msb_first = c->img->byte_order == MSBFirst;
	c->fmt.red_mask = x->visual->red_mask;
	c->fmt.green_mask = x->visual->green_mask;
	c->fmt.blue_mask = x->visual->blue_mask;
	return 0;
}

int cap_new(struct xconn *x, struct cap **out, char *err, size_t errlen)
{
	struct cap *c = calloc(1, sizeof *c);
	int rc;

	if (!c)
		return -ENOMEM;
	c->x = x;
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
		if (p->refs == 0) {
			free(p->data);
			free(p);
		}
	}
	image_destroy(c);
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
		if (c->pool[i]->refs == 0)
			return c->pool[i];
	}
	return calloc(1, sizeof(struct cap_png)); /* all in flight: a one-off */
}

static int read_pixels(struct cap *c, char *err, size_t errlen)
{
	struct xconn *x = c->x;
	struct xconn_error xe;
	unsigned long mark = xconn_error_mark(x);
	int ok;

	if (c->use_shm)
		ok = XShmGetImage(x->dpy, x->root, c->img, 0, 0, AllPlanes);
	else
		ok = XGetSubImage(x->dpy, x->root, 0, 0, (unsigned)c->img_w, (unsigned)c->img_h,
		                  AllPlanes, ZPixmap, c->img, 0, 0) != NULL;
	if (ok && !xconn_error_since(mark, &xe))
		return 0;
	if (!xconn_error_since(mark, &xe))
		snprintf(xe.text, sizeof xe.text, "no image returned");
	snprintf(err, errlen, "capture_failed: %s", xe.text);
	return -EIO;
}

int cap_screenshot(struct cap *c, struct cap_png **out, struct cap_stats *st, char *err,
                   size_t errlen)
{
	struct xconn *x = c->x;
	struct cap_png *p;
	double t0, t1, t2;
	int rc;

	memset(st, 0, sizeof *st);
	xconn_sync_drain(x);
	if (c->cached && x->have_damage && !x->damaged && c->cached->width == x->width &&
	    c->cached->height == x->height) {
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
		t0 = now_ms();
		rc = read_pixels(c, err, errlen);
		if (rc == 0)
			break;
		/* the root may have been resized under us: look once more */
		xconn_sync_drain(x);
		x->damaged = 1;
		if (attempt > 0 || (x->width == c->img_w && x->height == c->img_h))
			return rc;
	}
	t1 = now_ms();

	p = buffer_get(c);
	if (!p)
		return -ENOMEM;
	rc = png_encode(c->enc, (const unsigned char *)c->img->data, c->img_w, c->img_h,
	                (size_t)c->img->bytes_per_line, &c->fmt, &p->data, &p->cap, &p->len);
	if (rc < 0) {
		x->damaged = 1;
		if (!p->pooled) {
			free(p->data);
			free(p);
		}
		snprintf(err, errlen, "capture_failed: PNG encoding failed (%s)", strerror(-rc));
		return rc;
	}
	t2 = now_ms();
	p->width = c->img_w;
	p->height = c->img_h;
	p->refs = 1; /* the cache */
	if (c->cached)
		cap_png_unref(c->cached);
	c->cached = p;
	cap_png_ref(p);
	*out = p;
	st->fresh = 1;
	st->capture_ms = t1 - t0;
	st->encode_ms = t2 - t1;
	return 0;
}
