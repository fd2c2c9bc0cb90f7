/*
 * png_scale.h - png.c's scaler: rows of a frame averaged down (or up) to
 * another size, by area (each output pixel is the mean of the source area
 * it covers), produced as PNG rows with the SUB filter, band by band.
 * Private to png.c.
 *
 *	struct png_scale *sc;
 *	png_scale_new(&sc, 1920, 1080, 1024, 768);
 *	png_scale_source(sc, y0, rows, &s0, &s1);       (the source rows a band reads)
 *	struct png_scale_buf b = {0};                    (one per thread)
 *	png_scale_rows(sc, &b, pixels, stride, NULL, &fmt, y0, rows, filtered);
 *	png_scale_buf_free(&b);
 *	png_scale_free(sc);
 *
 * Pixels are BGRX bytes (the X server's usual 32-bit layout); other
 * layouts pass a converter, which png_scale_rows() calls per source row.
 * A scaler is read-only once made: threads share it, each with its own
 * png_scale_buf.
 */
#ifndef DESKFS_PNG_SCALE_H
#define DESKFS_PNG_SCALE_H

#include <stddef.h>
#include <stdint.h>

struct png_fmt;
struct png_scale;

struct png_scale_buf {
	uint16_t *acc;       /* source rows summed for one output row (BGRX) */
	unsigned char *conv; /* a source row converted to BGRX */
	uint16_t *wy;        /* the weights of the source rows of an output row */
	int w, nwy;          /* what those were made for */
};

typedef void png_scale_conv_fn(const unsigned char *src, unsigned char *bgrx, int w,
                               const struct png_fmt *fmt);

/* 0, -EINVAL (a size outside 1..8192 or 1..2^24 for the source), -ENOMEM. */
int png_scale_new(struct png_scale **out, int src_w, int src_h, int dst_w, int dst_h);
void png_scale_free(struct png_scale *sc);
/* The source rows [*s0, *s1) that output rows [y0, y0 + rows) are made of. */
void png_scale_source(const struct png_scale *sc, int y0, int rows, int *s0, int *s1);
/* Output rows [y0, y0 + rows) as filtered PNG rows (1 + 3 * dst_w bytes
 * each: SUB, then RGB) at out. conv: NULL for BGRX pixels. 0 or -ENOMEM. */
int png_scale_rows(const struct png_scale *sc, struct png_scale_buf *b, const unsigned char *pixels,
                   size_t stride, png_scale_conv_fn *conv, const struct png_fmt *fmt, int y0,
                   int rows, unsigned char *out);
void png_scale_buf_free(struct png_scale_buf *b);

#endif
