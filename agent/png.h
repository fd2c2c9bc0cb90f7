/*
 * png.h - a fast, incremental PNG writer for screen captures: 8-bit RGB,
 * the SUB filter on every row, ISA-L igzip level 1, and the pixel
 * conversion fused with the filter.
 *
 * The image is cut into bands of 32 rows, each compressed on its own (in
 * parallel: the caller plus one worker thread per extra core, at most 3)
 * and joined into one zlib stream, the way pigz does. The encoder keeps
 * every band's compressed bytes and the caller double-buffers the frames,
 * so a new frame costs what changed: png_update() compares each band with
 * the previous frame (memcmp) and re-encodes only the bands that differ;
 * png_write() assembles the PNG from all bands.
 *
 *	struct png_enc *e;
 *	png_enc_new(&e);
 *	struct png_fmt f = { 32, 0, 0xff0000, 0xff00, 0xff };
 *	unsigned char *buf = NULL; size_t cap = 0, len;
 *	... capture into frame[cur ^ 1] ...
 *	int total, n = png_update(e, frame[cur ^ 1], frame[cur], w, h, stride, &f, &total);
 *	if (n >= 0) cur ^= 1;
 *	if (n > 0)          ... n of total bands changed: build the new PNG
 *		png_write(e, &buf, &cap, &len);   buf[0..len) is the PNG
 *	else if (n == 0)    ... the pixels equal the previous frame's: the PNG
 *	                        png_write() made of it is still exact
 *	free(buf); png_enc_free(e);
 *
 * png_update_scaled() does the same for a frame of another size (the
 * session's scale=WxH): each band is scaled from the source rows under it.
 *
 * png_encode() does both, for callers that keep no previous PNG. After a
 * png_write() failure, call png_reset() so that the next png_update() does
 * not report "unchanged" against a PNG that was never produced.
 *
 * An encoder is used by one thread at a time; it owns its band buffers
 * and workers, freed by png_enc_free(). It reads the caller's frames only
 * inside png_update().
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
 * Take width x height pixels (rows stride bytes apart) as the new frame.
 * prev is the buffer the previous png_update() was given as pixels, and
 * the caller promises it still holds exactly those pixels (it captures
 * into another buffer); or NULL. Bands whose rows differ from prev's are
 * re-encoded; all of them when prev is NULL or not that buffer, on the
 * first call, after png_reset() or when the size, stride or format
 * changed. Returns how many bands were re-encoded (0: the frame is
 * identical to the previous one) and sets *total to the number of bands;
 * or -ENOTSUP (pixel format), -EINVAL (size), -ENOMEM or -EIO (compressor),
 * after which the encoder has forgotten the previous frame.
 */
int png_update(struct png_enc *e, const unsigned char *pixels, const unsigned char *prev, int width,
               int height, size_t stride, const struct png_fmt *fmt, int *total);

/*
 * png_update(), with the frame scaled to out_w x out_h (area averaging;
 * README "scale"): the PNG is that size. Bands are compared by the source
 * rows under them. out_w, out_h equal to width, height is png_update().
 * Also -EINVAL for an output size outside 1..8192.
 */
int png_update_scaled(struct png_enc *e, const unsigned char *pixels, const unsigned char *prev,
                      int width, int height, size_t stride, const struct png_fmt *fmt, int out_w,
                      int out_h, int *total);

/*
 * The PNG of the last png_update()'s frame into *buf, grown with realloc
 * when *cap is too small; *len gets its size. Returns 0, -ENOMEM, or
 * -EINVAL when there is no frame.
 */
int png_write(struct png_enc *e, unsigned char **buf, size_t *cap, size_t *len);

/* Forget the previous frame: the next png_update() encodes every band.
 * Call it when the previous frame's buffer may have changed (freed,
 * reallocated, written). */
void png_reset(struct png_enc *e);

/* png_update() then png_write(), whatever changed. */
int png_encode(struct png_enc *e, const unsigned char *pixels, int width, int height, size_t stride,
               const struct png_fmt *fmt, unsigned char **buf, size_t *cap, size_t *len);

#endif
