/*
 * png.c - the screenshot encoder: X pixels -> 8-bit RGB rows with the PNG
 * SUB filter (one fused pass), compressed with ISA-L igzip level 1 into a
 * single zlib stream, wrapped in a minimal PNG container (IHDR, IDAT, IEND).
 *
 * Parallelism: the image is cut into up to PNG_MAX_PARTS horizontal bands.
 * Each band is converted, checksummed (adler32) and deflated on its own
 * core; every band but the last ends with a FULL_FLUSH so the raw deflate
 * pieces concatenate into one valid stream, and the adler32s are combined.
 * The caller's thread does band 0; workers do the rest. Workers sleep on
 * e->lock/e->start and report through e->done; job fields are written by
 * the caller before the start broadcast and read by workers after it.
 *
 * See png.h for usage.
 */
#include "agent/png.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <isa-l.h>

#define PNG_MAX_PARTS 4
#define MIN_ROWS_PER_PART 64

struct part {
	struct png_enc *e;
	int index;
	int y0, y1;         /* rows of this band */
	unsigned char *out; /* deflate output (band 0: the caller's buffer) */
	size_t out_cap, out_len;
	uint32_t adler;
	int rc;
	unsigned char *level_buf;
	pthread_t thread;
};

struct png_enc {
	int nparts; /* 1 + number of workers */
	struct part parts[PNG_MAX_PARTS];
	unsigned char *filt; /* filtered rows, (1 + 3w) * h, reused */
	size_t filt_cap;

	/* the current job, set by png_encode before the start broadcast */
	const unsigned char *pixels;
	int width, height;
	size_t stride;
	const struct png_fmt *fmt;

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

static void run_part(struct part *p)
{
	struct png_enc *e = p->e;
	size_t rowlen = 1 + 3 * (size_t)e->width;
	unsigned char *in = e->filt + rowlen * p->y0;
	size_t n = rowlen * (size_t)(p->y1 - p->y0);
	struct isal_zstream zs;
	int last = p->index == e->nparts - 1 || p->y1 == e->height;

	for (int y = p->y0; y < p->y1; y++) {
		const unsigned char *srow = e->pixels + e->stride * y;
		unsigned char *drow = e->filt + rowlen * y;
		if (is_fast_bgrx(e->fmt))
			row_bgrx_sub(srow, drow, e->width);
		else
			row_generic_sub(srow, drow, e->width, e->fmt);
	}
	p->adler = isal_adler32(1, in, n);

	isal_deflate_stateless_init(&zs);
	zs.level = 1;
	zs.level_buf = p->level_buf;
	zs.level_buf_size = ISAL_DEF_LVL1_DEFAULT;
	zs.gzip_flag = IGZIP_DEFLATE;
	zs.end_of_stream = last;
	zs.flush = last ? NO_FLUSH : FULL_FLUSH;
	zs.next_in = in;
	zs.avail_in = (uint32_t)n;
	zs.next_out = p->out;
	zs.avail_out = (uint32_t)p->out_cap;
	p->rc = isal_deflate_stateless(&zs) == COMP_OK && zs.avail_in == 0 ? 0 : -EIO;
	p->out_len = zs.total_out;
}

static void *worker_main(void *arg)
{
	struct part *p = arg;
	struct png_enc *e = p->e;
	unsigned seen = 0;

	pthread_mutex_lock(&e->lock);
	for (;;) {
		while (!e->quit && e->gen == seen)
			pthread_cond_wait(&e->start, &e->lock);
		if (e->quit)
			break;
		seen = e->gen;
		pthread_mutex_unlock(&e->lock);
		run_part(p);
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
	int rc = 0;

	if (!e)
		return -ENOMEM;
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->start, NULL);
	pthread_cond_init(&e->done, NULL);
	e->nparts = ncpu < 1 ? 1 : ncpu > PNG_MAX_PARTS ? PNG_MAX_PARTS : (int)ncpu;
	for (int i = 0; i < e->nparts; i++) {
		e->parts[i].e = e;
		e->parts[i].index = i;
		e->parts[i].level_buf = malloc(ISAL_DEF_LVL1_DEFAULT);
		if (!e->parts[i].level_buf) {
			rc = -ENOMEM;
			goto out_free_enc;
		}
	}
	for (int i = 1; i < e->nparts; i++) {
		if (pthread_create(&e->parts[i].thread, NULL, worker_main, &e->parts[i]) != 0) {
			e->nparts = i; /* run with the workers we have */
			break;
		}
	}
	*out = e;
	return 0;

out_free_enc:
	for (int i = 0; i < e->nparts; i++)
		free(e->parts[i].level_buf);
	free(e);
	return rc;
}

void png_enc_free(struct png_enc *e)
{
	if (!e)
		return;
	pthread_mutex_lock(&e->lock);
	e->quit = 1;
	pthread_cond_broadcast(&e->start);
	pthread_mutex_unlock(&e->lock);
	for (int i = 1; i < e->nparts; i++)
		pthread_join(e->parts[i].thread, NULL);
	for (int i = 0; i < e->nparts; i++) {
		free(e->parts[i].level_buf);
		if (i > 0)
			free(e->parts[i].out);
	}
	pthread_mutex_destroy(&e->lock);
	pthread_cond_destroy(&e->start);
	pthread_cond_destroy(&e->done);
	free(e->filt);
	free(e);
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

/* Bytes before the deflate data: signature, IHDR, IDAT header, zlib header. */
#define PNG_HEAD (8 + 25 + 8 + 2)
/* Bytes after it: adler32, IDAT crc, IEND. */
#define PNG_TAIL (4 + 4 + 12)

int png_encode(struct png_enc *e, const unsigned char *pixels, int width, int height, size_t stride,
               const struct png_fmt *fmt, unsigned char **buf, size_t *cap, size_t *len)
{
	static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	size_t rowlen = 1 + 3 * (size_t)width;
	size_t filt_need = rowlen * (size_t)height;
	int nparts = e->nparts, rc = 0;
	unsigned char *p, *idat;
	uint32_t adler;
	size_t zlen;

	if (png_fmt_check(fmt) < 0)
		return -ENOTSUP;
	if (width <= 0 || height <= 0)
		return -EINVAL;
	if (grow(&e->filt, &e->filt_cap, filt_need) < 0)
		return -ENOMEM;
	if (height < nparts * MIN_ROWS_PER_PART)
		nparts = 1;

	e->pixels = pixels;
	e->width = width;
	e->height = height;
	e->stride = stride;
	e->fmt = fmt;
	for (int i = 0; i < nparts; i++) {
		struct part *pt = &e->parts[i];
		pt->y0 = (int)((long)height * i / nparts);
		pt->y1 = (int)((long)height * (i + 1) / nparts);
		if (i == nparts - 1)
			pt->y1 = height;
	}
	/* band 0 deflates straight into the output; the others into their own buffers */
	size_t b0 = deflate_bound(rowlen * (size_t)(e->parts[0].y1 - e->parts[0].y0));
	if (grow(buf, cap, PNG_HEAD + b0 + PNG_TAIL) < 0)
		return -ENOMEM;
	e->parts[0].out = *buf + PNG_HEAD;
	e->parts[0].out_cap = b0;
	for (int i = 1; i < nparts; i++) {
		struct part *pt = &e->parts[i];
		size_t need = deflate_bound(rowlen * (size_t)(pt->y1 - pt->y0));
		if (grow(&pt->out, &pt->out_cap, need) < 0)
			return -ENOMEM;
	}

	if (nparts > 1) {
		pthread_mutex_lock(&e->lock);
		e->pending = nparts - 1;
		e->gen++;
		pthread_cond_broadcast(&e->start);
		pthread_mutex_unlock(&e->lock);
	}
	run_part(&e->parts[0]);
	if (nparts > 1) {
		pthread_mutex_lock(&e->lock);
		while (e->pending > 0)
			pthread_cond_wait(&e->done, &e->lock);
		pthread_mutex_unlock(&e->lock);
	}

	zlen = e->parts[0].out_len;
	adler = e->parts[0].adler;
	rc = e->parts[0].rc;
	for (int i = 1; i < nparts; i++)
		zlen += e->parts[i].out_len;
	if (grow(buf, cap, PNG_HEAD + zlen + PNG_TAIL) < 0)
		return -ENOMEM;
	p = *buf + PNG_HEAD + e->parts[0].out_len;
	for (int i = 1; i < nparts; i++) {
		struct part *pt = &e->parts[i];
		if (pt->rc < 0)
			rc = pt->rc;
		memcpy(p, pt->out, pt->out_len);
		p += pt->out_len;
		adler = adler32_combine(adler, pt->adler, rowlen * (size_t)(pt->y1 - pt->y0));
	}
	if (rc < 0)
		return rc;
	p = put32(p, adler);

	/* the container around it */
	unsigned char *q = *buf;
	memcpy(q, sig, 8);
	q = put32(q + 8, 13);
	memcpy(q, "IHDR", 4);
	q = put32(q + 4, (uint32_t)width);
	q = put32(q, (uint32_t)height);
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
