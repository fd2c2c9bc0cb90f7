/*
 * png_scale.c - area-averaging scaler for png.c (see png_scale.h).
 *
 * Output pixel (x, y) covers the source area [x*sw/dw, (x+1)*sw/dw) by
 * [y*sh/dh, (y+1)*sh/dh); each source pixel weighs the part of it that lies
 * inside, as an 8-bit fraction (the weights of an output pixel sum to 256
 * in each direction; cell_weights). The vertical pass sums whole source
 * rows of bytes, four channels per pixel, into 16-bit sums, 16 at a time
 * (GCC/clang vector extensions: SSE2, or AVX2 where the target has it),
 * exactly (255 * 256 fits), and rounds them back to 8 bits; the horizontal
 * pass weighs two source pixels' four channels per multiply and rounds
 * again. Results are within 1 of the exact mean (tests/e2e/54-scale.sh,
 * pngtool scalematch). Upscaling works the same way (a frame larger than
 * the screen), each output pixel then covering one or two source pixels.
 */
#include "agent/png_scale.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct png_scale {
	int sw, sh, dw, dh;
	/* horizontal: output pixel x weighs taps source pixels from x0[x] on,
	 * with weights w[(x * taps + k) * 4 + 0..3] (four copies, one per
	 * channel; taps is a multiple of 4, the unused ones weigh 0) */
	int *x0, taps;
	uint16_t *w;
	int vtaps; /* the most source rows under one output row */
};

typedef uint8_t v16u8 __attribute__((vector_size(16)));
typedef uint16_t v16u16 __attribute__((vector_size(32)));
typedef uint16_t v8u16 __attribute__((vector_size(16)));

/* The weights of the source cells [i*d, (i+1)*d) under the output cell
 * [o*s, (o+1)*s), as 8-bit fractions summing to 256; returns the count. */
static int cell_weights(int o, int s, int d, int n, int *first, uint16_t *w, int maxw)
{
	long long lo = (long long)o * s, hi = lo + s;
	int i0 = (int)(lo / d), k = 0, sum = 0, big = 0;

	for (int i = i0; i < n && (long long)i * d < hi && k < maxw; i++, k++) {
		long long a = (long long)i * d > lo ? (long long)i * d : lo;
		long long b = (long long)(i + 1) * d < hi ? (long long)(i + 1) * d : hi;
		w[k] = (uint16_t)(((b - a) * 256 + s / 2) / s);
		sum += w[k];
		if (w[k] > w[big])
			big = k;
	}
	if (k)
		w[big] = (uint16_t)(w[big] + 256 - sum); /* exactly 256 */
	*first = i0;
	return k;
}

void png_scale_free(struct png_scale *sc)
{
	if (!sc)
		return;
	free(sc->x0);
	free(sc->w);
	free(sc);
}

int png_scale_new(struct png_scale **out, int sw, int sh, int dw, int dh)
{
	struct png_scale *sc;
	int taps = (sw + dw - 1) / dw + 2, most = 1, rc = -ENOMEM;
	uint16_t *w = NULL;
	int *n = NULL;

	*out = NULL;
	if (sw <= 0 || sh <= 0 || sw > (1 << 24) || dw <= 0 || dh <= 0 || dw > 8192 || dh > 8192)
		return -EINVAL;
	sc = calloc(1, sizeof *sc);
	w = calloc((size_t)dw * (size_t)taps, sizeof *w);
	n = malloc(sizeof *n * (size_t)dw);
	if (!sc || !w || !n)
		goto out_free;
	*sc = (struct png_scale){
	    sw, sh, dw, dh, malloc(sizeof(int) * (size_t)dw), 0, NULL, (sh + dh - 1) / dh + 2};
	if (!sc->x0)
		goto out_free;
	for (int x = 0; x < dw; x++) {
		n[x] = cell_weights(x, sw, dw, sw, &sc->x0[x], w + (size_t)x * taps, taps);
		most = n[x] > most ? n[x] : most;
	}
	sc->taps = (most + 3) / 4 * 4;
	sc->w = calloc((size_t)dw * (size_t)sc->taps * 4, sizeof *sc->w);
	if (!sc->w)
		goto out_free;
	for (int x = 0; x < dw; x++)
		for (int k = 0; k < n[x]; k++)
			for (int c = 0; c < 4; c++)
				sc->w[((size_t)x * sc->taps + k) * 4 + c] = w[(size_t)x * taps + k];
	*out = sc;
	sc = NULL;
	rc = 0;
out_free:
	png_scale_free(sc);
	free(w);
	free(n);
	return rc;
}

void png_scale_source(const struct png_scale *sc, int y0, int rows, int *s0, int *s1)
{
	*s0 = (int)((long long)y0 * sc->sh / sc->dh);
	*s1 = (int)(((long long)(y0 + rows) * sc->sh + sc->dh - 1) / sc->dh);
	if (*s1 > sc->sh)
		*s1 = sc->sh;
}

/* acc = (first ? 0 : acc) + src * w */
static void acc_row(uint16_t *restrict acc, const unsigned char *restrict src, size_t n, uint16_t w,
                    int first)
{
	size_t j = 0;

	for (; j + 16 <= n; j += 16) {
		v16u8 s;
		v16u16 a = {0};
		memcpy(&s, src + j, sizeof s);
		if (!first)
			memcpy(&a, acc + j, sizeof a);
		a += __builtin_convertvector(s, v16u16) * w;
		memcpy(acc + j, &a, sizeof a);
	}
	for (; j < n; j++)
		acc[j] = (uint16_t)((first ? 0 : acc[j]) + src[j] * w);
}

/* acc = round(acc / 256): 8-bit values again, in 16-bit lanes */
static void round_row(uint16_t *restrict acc, size_t n)
{
	size_t j = 0;

	for (; j + 16 <= n; j += 16) {
		v16u16 a;
		memcpy(&a, acc + j, sizeof a);
		a = (a + 128) >> 8;
		memcpy(acc + j, &a, sizeof a);
	}
	for (; j < n; j++)
		acc[j] = (uint16_t)((acc[j] + 128) >> 8);
}

static int buf_ready(struct png_scale_buf *b, const struct png_scale *sc)
{
	if (b->nwy < sc->vtaps) {
		free(b->wy);
		b->wy = malloc(sizeof *b->wy * (size_t)sc->vtaps);
		b->nwy = b->wy ? sc->vtaps : 0;
		if (!b->wy)
			return -ENOMEM;
	}
	if (b->w >= sc->sw + sc->taps)
		return 0;
	free(b->acc);
	free(b->conv);
	/* room past the last column for the zero-weight taps */
	b->acc = calloc(4 * ((size_t)sc->sw + (size_t)sc->taps), sizeof *b->acc);
	b->conv = malloc(4 * (size_t)sc->sw);
	b->w = b->acc && b->conv ? sc->sw + sc->taps : 0;
	return b->w ? 0 : -ENOMEM;
}

void png_scale_buf_free(struct png_scale_buf *b)
{
	free(b->acc);
	free(b->conv);
	free(b->wy);
	memset(b, 0, sizeof *b);
}

int png_scale_rows(const struct png_scale *sc, struct png_scale_buf *b, const unsigned char *pixels,
                   size_t stride, png_scale_conv_fn *conv, const struct png_fmt *fmt, int y0,
                   int rows, unsigned char *out)
{
	size_t rowlen = 1 + 3 * (size_t)sc->dw, n4 = 4 * (size_t)sc->sw;

	if (buf_ready(b, sc) < 0)
		return -ENOMEM;
	for (int y = y0; y < y0 + rows; y++) {
		int ys0, n = cell_weights(y, sc->sh, sc->dh, sc->sh, &ys0, b->wy, sc->vtaps);
		unsigned char *d = out + rowlen * (size_t)(y - y0);
		const uint16_t *wx = sc->w;
		unsigned pr = 0, pg = 0, pb = 0;

		for (int k = 0; k < n; k++) {
			const unsigned char *src = pixels + stride * (size_t)(ys0 + k);
			if (conv) {
				conv(src, b->conv, sc->sw, fmt);
				src = b->conv;
			}
			acc_row(b->acc, src, n4, b->wy[k], k == 0);
		}
		round_row(b->acc, n4);
		*d++ = 1; /* filter type SUB */
		for (int x = 0; x < sc->dw; x++, wx += 4 * sc->taps) {
			const uint16_t *a = b->acc + 4 * sc->x0[x];
			v8u16 px, wk, sum; /* B G R X of the even taps, then of the odd ones */
			memcpy(&px, a, sizeof px);
			memcpy(&wk, wx, sizeof wk);
			sum = px * wk;
			for (int k = 2; k < sc->taps; k += 2) { /* past 4 taps: scaled down > 2x */
				memcpy(&px, a + 4 * k, sizeof px);
				memcpy(&wk, wx + 4 * k, sizeof wk);
				sum += px * wk;
			}
			unsigned b8 = (sum[0] + sum[4] + 128u) >> 8,
			         g = (sum[1] + sum[5] + 128u) >> 8;
			unsigned r = (sum[2] + sum[6] + 128u) >> 8;
			d[0] = (unsigned char)(r - pr);
			d[1] = (unsigned char)(g - pg);
			d[2] = (unsigned char)(b8 - pb);
			d += 3;
			pr = r;
			pg = g;
			pb = b8;
		}
	}
	return 0;
}
