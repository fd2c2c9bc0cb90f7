/*
 * png.h - a fast PNG writer for screen captures: 8-bit RGB, the SUB filter
 * on every row, ISA-L igzip level 1, and the pixel conversion fused with
 * the filter. Large images are split in horizontal bands compressed in
 * parallel (one worker thread per extra core, at most 3) and joined into
 * one zlib stream, the way pigz does.
 *
 *	struct png_enc *e;
 *	png_enc_new(&e);
 *	struct png_fmt f = { 32, 0, 0xff0000, 0xff00, 0xff };
 *	unsigned char *buf = NULL; size_t cap = 0, len;
 *	png_encode(e, img->data, w, h, img->bytes_per_line, &f, &buf, &cap, &len);
 *	... buf[0..len) is the PNG; buf is reused (realloc'd) by the next call ...
 *	free(buf); png_enc_free(e);
 *
 * An encoder is used by one thread at a time; it owns its scratch buffers
 * and workers, freed by png_enc_free().
 */
#ifndef DESKFS_PNG_H
#define DESKFS_PNG_H

#include <stddef.h>
#include <stdint.h>

struct png_fmt {
	int bits_per_pixel; /* 16, 24 or 32 */
	int msb_first;      /* image byte order: 1 = MSBFirst */
	unsigned long red_mask, green_mask, blue_mask;
};

struct png_enc;

int png_enc_new(struct png_enc **out);
void png_enc_free(struct png_enc *e);

/* 0 if fmt can be encoded, else -ENOTSUP. */
int png_fmt_check(const struct png_fmt *fmt);

/*
 * Encode width x height pixels (rows stride bytes apart) into *buf, which
 * is grown with realloc when *cap is too small. *len gets the PNG size.
 * Returns 0, -ENOTSUP (pixel format), -ENOMEM or -EIO (compressor).
 */
int png_encode(struct png_enc *e, const unsigned char *pixels, int width, int height, size_t stride,
               const struct png_fmt *fmt, unsigned char **buf, size_t *cap, size_t *len);

#endif
