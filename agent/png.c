/*
 * png.c - the screenshot encoder: X pixels -> 8-bit RGB rows with the PNG
 * SUB filter (one fused pass), compressed with ISA-L igzip level 1 into a
 * single zlib stream, wrapped in a minimal PNG container (IHDR, IDAT, IEND).
 *
 * Bands: the image is cut into bands of e->band_rows rows. Each band is
 * converted, checksummed (adler32) and deflated on its own, with no
 * history from the band above; every band but the last ends with a
 * FULL_FLUSH (byte-aligned, empty stored block), the last one is final, so
 * the bands' raw deflate pieces concatenate into one valid stream and
 * their adler32s combine into the stream's. A band's bytes therefore
 * depend only on its own rows (and on whether it is the last band), which
 * is what lets png_update() keep the bytes of every band whose rows are
 * unchanged.
 *
 * Incremental: the caller double-buffers. png_update() gets the new
 * pixels and the previous frame's buffer, compares each band's rows with
 * it (memcmp) and re-encodes only the bands that differ. A comparison
 * trusts nothing but the pixels themselves, so an unchanged band is really
 * unchanged; and it is made only when prev is the very buffer the last
 * png_update() was given (e->last): after png_reset() or an error, on the
 * first frame or when size, stride or format change (e->valid == 0) every
 * band is encoded. Nothing is copied: a frame costs one read of the new
 * pixels, plus a read of the old ones where they are equal.
 *
 * Parallelism: bands are handed out through the atomic counter e->next to
 * the caller's thread and the workers alike, so the work spreads evenly
 * whether one band changed or all of them. Workers sleep on
 * e->lock/e->start and report through e->done; job fields are written by
 * the caller before the start broadcast and read by workers after it, and
 * band results are read by the caller after the workers' report.
 *
 * Scaling (a session's frame, png_update_scaled): each band of output rows
 * is made from the source rows under it (png_scale.c, area averaging), in
 * the same band job as the filter and deflate, so it runs on every encoder
 * thread, and an unchanged band (its source rows compared) costs nothing.
 *
 * See png.h for usage.
 */
#include "agent/png.h"
#include "agent/png_scale.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <isa-l.h>

#define PNG_MAX_THREADS 4
/*
 * Rows per band. Measured at 1280x800 and 1920x1080 (text, photo-like
 * noise): 32 rows give the same PNG size as 4 big bands (within 0.2%) and
 * encode a full frame no slower; 16 rows cost ~1% in size, 8 rows ~3%,
 * for little gain on small changes (the compare of the whole frame and
 * the assembly dominate there).
 */
#ifndef PNG_BAND_ROWS
#define PNG_BAND_ROWS 32
#endif

struct band {
	unsigned char *out; /* this band's deflate bytes */
	size_t out_cap, out_len;
	size_t raw_len; /* filtered bytes it compresses: rows * (1 + 3 * width) */
	uint32_t adler; /* adler32 of those filtered bytes */
};

struct worker {
	struct png_enc *e;
	unsigned char *filt; /* one band of filtered rows */
	size_t filt_cap;
	struct png_scale_buf sb; /* scaling: this thread's rows (png_scale.c) */
	unsigned char *level_buf;
	int encoded; /* bands this thread re-encoded in the current job */
	int rc;
	pthread_t thread;
};

struct png_enc {
	int nthreads; /* the caller + workers */
	struct worker w[PNG_MAX_THREADS];

	/* the frame the bands describe (valid), and its geometry */
	int valid;
	int width, height; /* of the PNG */
	int src_w, src_h;  /* of the pixels (== width, height unless scaled) */
	int scaled;
	size_t stride;
	struct png_scale *sc; /* the scaler, when scaled */
	struct png_fmt fmt;
	int band_rows, nbands;
	struct band *bands;
	int bands_cap;
	const unsigned char *last; /* the pixels the bands were made of */

	/* the current job, set by png_update before the start broadcast */
	const unsigned char *pixels, *prev;
	int full; /* encode every band without comparing */
	atomic_int next;

	pthread_mutex_t lock;
	pthread_cond_t start, done;
	unsigned gen; /* protected by lock: bumped per job */
	int pending;  /* protected by lock: workers still running */
	int quit;     /* protected by lock */
};

static int mask_shift(unsigned long m)
{
	return m ? __builtin_ctzl(m) : 0;
}

static int mask_bits(unsigned long m)
{
	return __builtin_popcountl(m);
}

int png_fmt_check(const struct png_fmt *f)
{
	int bpp = f->bits_per_pixel;

	if (bpp != 16 && bpp != 24 && bpp != 32)
		return -ENOTSUP;
	if (!f->red_mask || !f->green_mask || !f->blue_mask)
		return -ENOTSUP;
	return 0;
}

static int is_fast_bgrx(const struct png_fmt *f)
{
	return f->bits_per_pixel == 32 && !f->msb_first && f->red_mask == 0xff0000 &&
	       f->green_mask == 0xff00 && f->blue_mask == 0xff;
}

/*
 * The common case (depth 24/32, little-endian BGRX): per-byte differences
 * in one 32-bit SWAR subtraction, then one 4-byte store of R,G,B (the 4th
 * byte is overwritten by the next pixel; the last pixel is stored bytewise
 * so no row writes past its end).
 */
static void row_bgrx_sub(const unsigned char *srow, unsigned char *dst, int w)
{
	const uint32_t H = 0x80808080u;
	uint32_t prev = 0, v, d;
	int x;

	*dst++ = 1; /* filter type SUB */
	for (x = 0; x < w - 1; x++) {
		memcpy(&v, srow + 4 * (size_t)x, 4);
		d = ((v | H) - (prev & ~H)) ^ ((v ^ ~prev) & H);
		d = __builtin_bswap32(d) >> 8; /* bytes in memory: R G B 0 */
		memcpy(dst, &d, 4);
		dst += 3;
		prev = v;
	}
	if (w > 0) {
		memcpy(&v, srow + 4 * (size_t)x, 4);
		dst[0] = (unsigned char)((v >> 16) - (prev >> 16));
		dst[1] = (unsigned char)((v >> 8) - (prev >> 8));
		dst[2] = (unsigned char)(v - prev);
	}
}

static unsigned scale_to_8(unsigned v, int bits)
{
	if (bits >= 8)
		return v >> (bits - 8);
	/* replicate the high bits into the low ones: 5 bits abcde -> abcdeabc */
	unsigned out = 0;
	int have = 0;
	while (have < 8) {
		out = (out << bits) | v;
		have += bits;
	}
	return out >> (have - 8);
}

static uint32_t read_pixel(const unsigned char *p, int bpp, int msb)
{
	switch (bpp) {
	case 32:
		return msb ? (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]
		           : (uint32_t)p[3] << 24 | p[2] << 16 | p[1] << 8 | p[0];
	case 24:
		return msb ? (uint32_t)p[0] << 16 | p[1] << 8 | p[2]
		           : (uint32_t)p[2] << 16 | p[1] << 8 | p[0];
	default:
		return msb ? (uint32_t)(p[0] << 8 | p[1]) : (uint32_t)(p[1] << 8 | p[0]);
	}
}

/* Any TrueColor layout: masks and bytes per pixel read per pixel. */
static void row_generic_sub(const unsigned char *srow, unsigned char *dst, int w,
                            const struct png_fmt *f)
{
	int bypp = f->bits_per_pixel / 8;
	int rs = mask_shift(f->red_mask), gs = mask_shift(f->green_mask);
	int bs = mask_shift(f->blue_mask);
	int rb = mask_bits(f->red_mask), gb = mask_bits(f->green_mask);
	int bb = mask_bits(f->blue_mask);
	unsigned pr = 0, pg = 0, pb = 0;

	*dst++ = 1;
	for (int x = 0; x < w; x++) {
		uint32_t v = read_pixel(srow + (size_t)x * bypp, f->bits_per_pixel, f->msb_first);
		unsigned r = scale_to_8((v & f->red_mask) >> rs, rb);
		unsigned g = scale_to_8((v & f->green_mask) >> gs, gb);
		unsigned b = scale_to_8((v & f->blue_mask) >> bs, bb);
		dst[0] = (unsigned char)(r - pr);
		dst[1] = (unsigned char)(g - pg);
		dst[2] = (unsigned char)(b - pb);
		dst += 3;
		pr = r;
		pg = g;
		pb = b;
	}
}

/* zlib's adler32_combine: the adler32 of A||B from those of A and B. */
static uint32_t adler32_combine(uint32_t a1, uint32_t a2, size_t len2)
{
	const uint32_t BASE = 65521;
	uint32_t rem = (uint32_t)(len2 % BASE);
	uint32_t sum1 = a1 & 0xffff;
	uint32_t sum2 = (uint32_t)(((uint64_t)rem * sum1) % BASE);

	sum1 += (a2 & 0xffff) + BASE - 1;
	sum2 += ((a1 >> 16) & 0xffff) + ((a2 >> 16) & 0xffff) + BASE - rem;
	if (sum1 >= BASE)
		sum1 -= BASE;
	if (sum1 >= BASE)
		sum1 -= BASE;
	if (sum2 >= (BASE << 1))
		sum2 -= (BASE << 1);
	if (sum2 >= BASE)
		sum2 -= BASE;
	return sum1 | (sum2 << 16);
}

static size_t deflate_bound(size_t n)
{
	/* stored blocks cost 5 bytes per 64 KiB; add room for headers */
	return n + n / 64 + 1024;
}

static int grow(unsigned char **buf, size_t *cap, size_t need)
{
	unsigned char *nb;

	if (*cap >= need)
		return 0;
	nb = realloc(*buf, need);
	if (!nb)
		return -ENOMEM;
	*buf = nb;
	*cap = need;
	return 0;
}

/* Are rows [0, n) of a and b equal (row bytes compared, padding not)? */
static int rows_equal(const unsigned char *a, const unsigned char *b, size_t stride,
                      size_t rowbytes, int n)
{
	if (stride == rowbytes)
		return memcmp(a, b, rowbytes * (size_t)n) == 0;
	for (int y = 0; y < n; y++)
		if (memcmp(a + stride * y, b + stride * y, rowbytes) != 0)
			return 0;
	return 1;
}

/* A source row of another format as BGRX bytes. */
static void row_to_bgrx(const unsigned char *src, unsigned char *dst, int w,
                        const struct png_fmt *f)
{
	int bypp = f->bits_per_pixel / 8;
	int rs = mask_shift(f->red_mask), gs = mask_shift(f->green_mask);
	int bs = mask_shift(f->blue_mask);
	int rb = mask_bits(f->red_mask), gb = mask_bits(f->green_mask);
	int bb = mask_bits(f->blue_mask);

	for (int x = 0; x < w; x++, dst += 4) {
		uint32_t v = read_pixel(src + (size_t)x * bypp, f->bits_per_pixel, f->msb_first);
		dst[0] = (unsigned char)scale_to_8((v & f->blue_mask) >> bs, bb);
		dst[1] = (unsigned char)scale_to_8((v & f->green_mask) >> gs, gb);
		dst[2] = (unsigned char)scale_to_8((v & f->red_mask) >> rs, rb);
		dst[3] = 0;
	}
}

/* Compare band i with the previous frame; if it differs, re-encode it. */
static int do_band(struct worker *w, int i)
{
	struct png_enc *e = w->e;
	struct band *b = &e->bands[i];
	int y0 = i * e->band_rows;
	int rows = e->height - y0 < e->band_rows ? e->height - y0 : e->band_rows;
	int last = i == e->nbands - 1;
	size_t rowlen = 1 + 3 * (size_t)e->width;
	size_t rowbytes = (size_t)e->src_w * (size_t)(e->fmt.bits_per_pixel / 8);
	struct isal_zstream zs;
	int fast = is_fast_bgrx(&e->fmt), s0, s1;

	if (e->scaled) {
		png_scale_source(e->sc, y0, rows, &s0, &s1);
	} else {
		s0 = y0;
		s1 = y0 + rows;
	}
	if (!e->full && rows_equal(e->pixels + e->stride * (size_t)s0,
	                           e->prev + e->stride * (size_t)s0, e->stride, rowbytes, s1 - s0))
		return 0;

	b->raw_len = rowlen * (size_t)rows;
	if (grow(&w->filt, &w->filt_cap, b->raw_len) < 0 ||
	    grow(&b->out, &b->out_cap, deflate_bound(b->raw_len)) < 0)
		return -ENOMEM;
	if (e->scaled) {
		if (png_scale_rows(e->sc, &w->sb, e->pixels, e->stride, fast ? NULL : row_to_bgrx,
		                   &e->fmt, y0, rows, w->filt) < 0)
			return -ENOMEM;
	} else {
		const unsigned char *src = e->pixels + e->stride * (size_t)y0;
		for (int y = 0; y < rows; y++) {
			const unsigned char *srow = src + e->stride * (size_t)y;
			unsigned char *drow = w->filt + rowlen * (size_t)y;
			if (fast)
				row_bgrx_sub(srow, drow, e->width);
			else
				row_generic_sub(srow, drow, e->width, &e->fmt);
		}
	}
	b->adler = isal_adler32(1, w->filt, b->raw_len);

	isal_deflate_stateless_init(&zs);
	zs.level = 1;
	zs.level_buf = w->level_buf;
	zs.level_buf_size = ISAL_DEF_LVL1_DEFAULT;
	zs.gzip_flag = IGZIP_DEFLATE;
	zs.end_of_stream = last;
	zs.flush = last ? NO_FLUSH : FULL_FLUSH;
	zs.next_in = w->filt;
	zs.avail_in = (uint32_t)b->raw_len;
	zs.next_out = b->out;
	zs.avail_out = (uint32_t)b->out_cap;
	if (isal_deflate_stateless(&zs) != COMP_OK || zs.avail_in != 0)
		return -EIO;
	b->out_len = zs.total_out;
	w->encoded++;
	return 1;
}

static void run_job(struct worker *w)
{
	struct png_enc *e = w->e;
	int i, rc;

	w->encoded = 0;
	w->rc = 0;
	while ((i = atomic_fetch_add_explicit(&e->next, 1, memory_order_relaxed)) < e->nbands) {
		rc = do_band(w, i);
		if (rc < 0 && w->rc == 0)
			w->rc = rc;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct png_enc *e = w->e;
	unsigned seen = 0;

	pthread_mutex_lock(&e->lock);
	for (;;) {
		while (!e->quit && e->gen == seen)
			pthread_cond_wait(&e->start, &e->lock);
		if (e->quit)
			break;
		seen = e->gen;
		pthread_mutex_unlock(&e->lock);
		run_job(w);
		pthread_mutex_lock(&e->lock);
		if (--e->pending == 0)
			pthread_cond_signal(&e->done);
	}
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

int png_enc_new(struct png_enc **out)
{
	struct png_enc *e = calloc(1, sizeof *e);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	if (!e)
		return -ENOMEM;
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->start, NULL);
	pthread_cond_init(&e->done, NULL);
	atomic_init(&e->next, 0);
	e->nthreads = ncpu < 1 ? 1 : ncpu > PNG_MAX_THREADS ? PNG_MAX_THREADS : (int)ncpu;
	for (int i = 0; i < e->nthreads; i++) {
		e->w[i].e = e;
		e->w[i].level_buf = malloc(ISAL_DEF_LVL1_DEFAULT);
		if (!e->w[i].level_buf) {
			for (int j = 0; j < i; j++)
				free(e->w[j].level_buf);
			free(e);
			return -ENOMEM;
		}
	}
	for (int i = 1; i < e->nthreads; i++) {
		if (pthread_create(&e->w[i].thread, NULL, worker_main, &e->w[i]) != 0) {
			for (int j = i; j < e->nthreads; j++)
				free(e->w[j].level_buf);
			e->nthreads = i; /* run with the workers we have */
			break;
		}
	}
	*out = e;
	return 0;
}

void png_enc_free(struct png_enc *e)
{
	if (!e)
		return;
	pthread_mutex_lock(&e->lock);
	e->quit = 1;
	pthread_cond_broadcast(&e->start);
	pthread_mutex_unlock(&e->lock);
	for (int i = 1; i < e->nthreads; i++)
		pthread_join(e->w[i].thread, NULL);
	for (int i = 0; i < e->nthreads; i++) {
		free(e->w[i].level_buf);
		free(e->w[i].filt);
		png_scale_buf_free(&e->w[i].sb);
	}
	png_scale_free(e->sc);
	for (int i = 0; i < e->bands_cap; i++)
		free(e->bands[i].out);
	free(e->bands);
	pthread_mutex_destroy(&e->lock);
	pthread_cond_destroy(&e->start);
	pthread_cond_destroy(&e->done);
	free(e);
}

void png_reset(struct png_enc *e)
{
	e->valid = 0;
	e->last = NULL;
}

/* Lay the bands out for a new geometry; the band bytes are then stale
 * (e->valid = 0 until every band is encoded). */
static int relayout(struct png_enc *e, int width, int height, int src_w, int src_h, size_t stride,
                    const struct png_fmt *fmt)
{
	int nbands;

	e->valid = 0;
	e->band_rows = PNG_BAND_ROWS;
	nbands = (height + e->band_rows - 1) / e->band_rows;
	if (nbands > e->bands_cap) {
		struct band *nb = realloc(e->bands, (size_t)nbands * sizeof *nb);
		if (!nb)
			return -ENOMEM;
		memset(nb + e->bands_cap, 0, (size_t)(nbands - e->bands_cap) * sizeof *nb);
		e->bands = nb;
		e->bands_cap = nbands;
	}
	e->nbands = nbands;
	e->width = width;
	e->height = height;
	e->src_w = src_w;
	e->src_h = src_h;
	e->scaled = width != src_w || height != src_h;
	e->stride = stride;
	e->fmt = *fmt;
	png_scale_free(e->sc);
	e->sc = NULL;
	return e->scaled ? png_scale_new(&e->sc, src_w, src_h, width, height) : 0;
}

static int same_fmt(const struct png_fmt *a, const struct png_fmt *b)
{
	return a->bits_per_pixel == b->bits_per_pixel && a->msb_first == b->msb_first &&
	       a->red_mask == b->red_mask && a->green_mask == b->green_mask &&
	       a->blue_mask == b->blue_mask;
}

int png_update(struct png_enc *e, const unsigned char *pixels, const unsigned char *prev, int width,
               int height, size_t stride, const struct png_fmt *fmt, int *total)
{
	return png_update_scaled(e, pixels, prev, width, height, stride, fmt, width, height, total);
}

int png_update_scaled(struct png_enc *e, const unsigned char *pixels, const unsigned char *prev,
                      int width, int height, size_t stride, const struct png_fmt *fmt, int out_w,
                      int out_h, int *total)
{
	int encoded = 0, rc = 0;

	if (png_fmt_check(fmt) < 0)
		return -ENOTSUP;
	if (width <= 0 || height <= 0 || width > (1 << 24) ||
	    stride < (size_t)width * (size_t)(fmt->bits_per_pixel / 8))
		return -EINVAL;
	if (out_w <= 0 || out_h <= 0 || out_w > 8192 || out_h > 8192)
		return -EINVAL;
	if (!e->valid || e->width != out_w || e->height != out_h || e->src_w != width ||
	    e->src_h != height || e->stride != stride || !same_fmt(&e->fmt, fmt)) {
		rc = relayout(e, out_w, out_h, width, height, stride, fmt);
		if (rc < 0) {
			png_reset(e);
			return rc;
		}
	}

	e->pixels = pixels;
	e->prev = prev;
	e->full = !e->valid || !prev || prev != e->last || prev == pixels;
	atomic_store_explicit(&e->next, 0, memory_order_relaxed);
	int wake = e->nthreads > 1 && e->nbands > 1; /* else the caller does it all */
	if (wake) {
		pthread_mutex_lock(&e->lock);
		e->pending = e->nthreads - 1;
		e->gen++;
		pthread_cond_broadcast(&e->start);
		pthread_mutex_unlock(&e->lock);
	}
	run_job(&e->w[0]);
	if (wake) {
		pthread_mutex_lock(&e->lock);
		while (e->pending > 0)
			pthread_cond_wait(&e->done, &e->lock);
		pthread_mutex_unlock(&e->lock);
	}
	e->pixels = e->prev = NULL;
	for (int i = 0; i < (wake ? e->nthreads : 1); i++) {
		encoded += e->w[i].encoded;
		if (e->w[i].rc < 0)
			rc = e->w[i].rc;
	}
	if (rc < 0) {
		png_reset(e); /* some bands may hold neither the old frame nor the new one */
		return rc;
	}
	e->valid = 1;
	e->last = pixels;
	*total = e->nbands;
	return encoded;
}

static unsigned char *put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
	return p + 4;
}

/* CRC-32 (ISO-HDLC, as PNG and zlib use) of a chunk's type and data. */
static uint32_t chunk_crc(const unsigned char *type_and_data, size_t n)
{
	return crc32_gzip_refl(0, type_and_data, n);
}

/* Bytes before the deflate data: signature, IHDR, IDAT header, zlib header. */
#define PNG_HEAD (8 + 25 + 8 + 2)
/* Bytes after it: adler32, IDAT crc, IEND. */
#define PNG_TAIL (4 + 4 + 12)

int png_write(struct png_enc *e, unsigned char **buf, size_t *cap, size_t *len)
{
	static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	unsigned char *p, *q, *idat;
	uint32_t adler = 1;
	size_t zlen = 0;

	if (!e->valid)
		return -EINVAL;
	for (int i = 0; i < e->nbands; i++)
		zlen += e->bands[i].out_len;
	if (zlen > 0x7fffffff - 6) /* a chunk's length is at most 2^31 - 1 */
		return -ENOMEM;
	if (grow(buf, cap, PNG_HEAD + zlen + PNG_TAIL) < 0)
		return -ENOMEM;

	p = *buf + PNG_HEAD;
	for (int i = 0; i < e->nbands; i++) {
		const struct band *b = &e->bands[i];
		memcpy(p, b->out, b->out_len);
		p += b->out_len;
		adler = i == 0 ? b->adler : adler32_combine(adler, b->adler, b->raw_len);
	}
	p = put32(p, adler);

	/* the container around it */
	q = *buf;
	memcpy(q, sig, 8);
	q = put32(q + 8, 13);
	memcpy(q, "IHDR", 4);
	q = put32(q + 4, (uint32_t)e->width);
	q = put32(q, (uint32_t)e->height);
	q[0] = 8; /* bit depth */
	q[1] = 2; /* colour type RGB */
	q[2] = 0; /* deflate */
	q[3] = 0; /* adaptive filtering (we use SUB) */
	q[4] = 0; /* no interlace */
	q = put32(q + 5, chunk_crc(*buf + 12, 17));
	q = put32(q, (uint32_t)(2 + zlen + 4));
	idat = q;
	memcpy(q, "IDAT", 4);
	q[4] = 0x78; /* zlib: deflate, 32K window */
	q[5] = 0x01; /* fastest, no dictionary; 0x7801 % 31 == 0 */
	p = put32(p, chunk_crc(idat, (size_t)(p - idat)));
	p = put32(p, 0);
	memcpy(p, "IEND", 4);
	p = put32(p + 4, chunk_crc(p, 4));
	*len = (size_t)(p - *buf);
	return 0;
}

int png_encode(struct png_enc *e, const unsigned char *pixels, int width, int height, size_t stride,
               const struct png_fmt *fmt, unsigned char **buf, size_t *cap, size_t *len)
{
	int total, rc = png_update(e, pixels, NULL, width, height, stride, fmt, &total);

	if (rc < 0)
		return rc;
	rc = png_write(e, buf, cap, len);
	if (rc < 0)
		png_reset(e);
	return rc;
}
