/*
 * pngtool.c - test helper: decode a PNG with libpng and check it.
 *
 *	pngtool size FILE               -> "W H"
 *	pngtool pixel FILE X Y          -> "rrggbb"
 *	pngtool solid FILE rrggbb       exit 0 if every pixel is that colour
 *	pngtool match FILE :DISPLAY     exit 0 if every pixel equals the root
 *	                                window read back with plain XGetImage
 *	pngtool scalematch FILE :DISPLAY   the same for a PNG scaled to another size:
 *	                                every pixel within 2 of the exact area average
 *	                                (in doubles) of the root window under it
 *
 * The comparison uses XGetImage (no MIT-SHM), a path independent of the
 * agent's capture, so a fast path that returns wrong pixels fails.
 */
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct img {
	int w, h;
	unsigned char *rgb; /* w*h*3 */
};

static int load(const char *path, struct img *im)
{
	png_image p;
	memset(&p, 0, sizeof p);
	p.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_file(&p, path)) {
		fprintf(stderr, "pngtool: %s: %s\n", path, p.message);
		return -1;
	}
	p.format = PNG_FORMAT_RGB;
	im->w = (int)p.width;
	im->h = (int)p.height;
	im->rgb = malloc(PNG_IMAGE_SIZE(p));
	if (!im->rgb || !png_image_finish_read(&p, NULL, im->rgb, 0, NULL)) {
		fprintf(stderr, "pngtool: %s: %s\n", path, p.message);
		return -1;
	}
	return 0;
}

static int channel(unsigned long px, unsigned long mask)
{
	if (!mask)
		return 0;
	int shift = 0;
	while (!(mask & 1)) {
		mask >>= 1;
		shift++;
	}
	unsigned long v = (px >> shift) & mask;
	return (int)(v * 255 / mask);
}

static int match_display(const struct img *im, const char *dpy_name)
{
	Display *d = XOpenDisplay(dpy_name);
	if (!d) {
		fprintf(stderr, "pngtool: cannot open display %s\n", dpy_name);
		return 2;
	}
	Window root = DefaultRootWindow(d);
	XWindowAttributes wa;
	XGetWindowAttributes(d, root, &wa);
	if (wa.width != im->w || wa.height != im->h) {
		fprintf(stderr, "pngtool: png is %dx%d, display is %dx%d\n", im->w, im->h, wa.width,
			wa.height);
		return 1;
	}
	XImage *x = XGetImage(d, root, 0, 0, (unsigned)wa.width, (unsigned)wa.height, AllPlanes,
			      ZPixmap);
	long bad = 0;
	int fx = -1, fy = -1;
	unsigned char *first = NULL;
	int want[3] = {0, 0, 0};
	for (int y = 0; y < im->h; y++)
		for (int xx = 0; xx < im->w; xx++) {
			unsigned long px = XGetPixel(x, xx, y);
			int r = channel(px, x->red_mask), g = channel(px, x->green_mask),
			    b = channel(px, x->blue_mask);
			unsigned char *p = im->rgb + ((size_t)y * (size_t)im->w + (size_t)xx) * 3;
			if (p[0] != r || p[1] != g || p[2] != b) {
				if (!bad++) {
					fx = xx;
					fy = y;
					first = p;
					want[0] = r;
					want[1] = g;
					want[2] = b;
				}
			}
		}
	if (bad)
		fprintf(stderr,
			"pngtool: %ld pixels differ; first at (%d,%d): png %02x%02x%02x, display "
			"%02x%02x%02x\n",
			bad, fx, fy, first[0], first[1], first[2], want[0], want[1], want[2]);
	XDestroyImage(x);
	XCloseDisplay(d);
	return bad ? 1 : 0;
}

/* A scaled PNG against the exact area average of the root window. */
static int scalematch_display(const struct img *im, const char *dpy_name)
{
	Display *d = XOpenDisplay(dpy_name);
	if (!d) {
		fprintf(stderr, "pngtool: cannot open display %s\n", dpy_name);
		return 2;
	}
	Window root = DefaultRootWindow(d);
	XWindowAttributes wa;
	XGetWindowAttributes(d, root, &wa);
	XImage *x = XGetImage(d, root, 0, 0, (unsigned)wa.width, (unsigned)wa.height, AllPlanes,
			      ZPixmap);
	int sw = wa.width, sh = wa.height, worst = 0, wx = 0, wy = 0;
	double fx = (double)sw / im->w, fy = (double)sh / im->h;
	for (int oy = 0; oy < im->h; oy++)
		for (int ox = 0; ox < im->w; ox++) {
			double y0 = oy * fy, y1 = y0 + fy, x0 = ox * fx, x1 = x0 + fx, acc[3] = {0};
			for (int yy = (int)y0; yy < sh && yy < y1; yy++) {
				double hy = (yy + 1 < y1 ? yy + 1 : y1) - (yy > y0 ? yy : y0);
				for (int xx = (int)x0; xx < sw && xx < x1; xx++) {
					double hx = (xx + 1 < x1 ? xx + 1 : x1) - (xx > x0 ? xx : x0);
					unsigned long px = XGetPixel(x, xx, yy);
					acc[0] += hx * hy * channel(px, x->red_mask);
					acc[1] += hx * hy * channel(px, x->green_mask);
					acc[2] += hx * hy * channel(px, x->blue_mask);
				}
			}
			unsigned char *p = im->rgb + ((size_t)oy * (size_t)im->w + (size_t)ox) * 3;
			for (int c = 0; c < 3; c++) {
				int diff = abs((int)(acc[c] / (fx * fy) + 0.5) - p[c]);
				if (diff > worst) {
					worst = diff;
					wx = ox;
					wy = oy;
				}
			}
		}
	XDestroyImage(x);
	XCloseDisplay(d);
	printf("worst %d at (%d,%d), %dx%d from %dx%d\n", worst, wx, wy, im->w, im->h, sw, sh);
	return worst > 2 ? 1 : 0;
}

static int run(int argc, char **argv, struct img *imp);

int main(int argc, char **argv)
{
	struct img im = {0, 0, NULL};
	int r = run(argc, argv, &im);
	free(im.rgb);
	return r;
}

static int run(int argc, char **argv, struct img *imp)
{
	struct img im;
	if (argc < 3) {
		fprintf(stderr, "usage: pngtool size|pixel|solid|match|scalematch FILE ...\n");
		return 2;
	}
	if (load(argv[2], imp) < 0)
		return 2;
	im = *imp;
	if (strcmp(argv[1], "size") == 0) {
		printf("%d %d\n", im.w, im.h);
		return 0;
	}
	if (strcmp(argv[1], "pixel") == 0 && argc == 5) {
		int x = atoi(argv[3]), y = atoi(argv[4]);
		if (x < 0 || y < 0 || x >= im.w || y >= im.h)
			return 2;
		unsigned char *p = im.rgb + ((size_t)y * (size_t)im.w + (size_t)x) * 3;
		printf("%02x%02x%02x\n", p[0], p[1], p[2]);
		return 0;
	}
	if (strcmp(argv[1], "solid") == 0 && argc == 4) {
		unsigned v = (unsigned)strtoul(argv[3], NULL, 16);
		unsigned char c[3] = {(unsigned char)(v >> 16), (unsigned char)(v >> 8), (unsigned char)v};
		long bad = 0;
		for (long i = 0; i < (long)im.w * im.h; i++)
			if (memcmp(im.rgb + i * 3, c, 3) != 0)
				bad++;
		if (bad)
			fprintf(stderr, "pngtool: %ld of %ld pixels are not %s\n", bad, (long)im.w * im.h,
				argv[3]);
		return bad ? 1 : 0;
	}
	if (strcmp(argv[1], "match") == 0 && argc == 4)
		return match_display(&im, argv[3]);
	if (strcmp(argv[1], "scalematch") == 0 && argc == 4)
		return scalematch_display(&im, argv[3]);
	fprintf(stderr, "pngtool: bad arguments\n");
	return 2;
}
