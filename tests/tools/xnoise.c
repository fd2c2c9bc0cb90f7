/*
 * xnoise.c - test helper: a window full of photo-like content (random
 * noise over gradients), the hardest case for the PNG fast path.
 *
 *	xnoise :DISPLAY WxH+X+Y [seed]     maps the window, prints "ready",
 *	                                   then sleeps until killed
 */
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	unsigned w, h;
	int x, y;
	if (argc < 3 || sscanf(argv[2], "%ux%u+%d+%d", &w, &h, &x, &y) != 4) {
		fprintf(stderr, "usage: xnoise :DISPLAY WxH+X+Y [seed]\n");
		return 2;
	}
	srand(argc > 3 ? (unsigned)atoi(argv[3]) : 1);
	Display *d = XOpenDisplay(argv[1]);
	if (!d)
		return 2;
	int scr = DefaultScreen(d);
	XSetWindowAttributes a = {.override_redirect = True, .background_pixel = 0};
	Window win = XCreateWindow(d, RootWindow(d, scr), x, y, w, h, 0, CopyFromParent,
				   InputOutput, CopyFromParent, CWOverrideRedirect | CWBackPixel, &a);
	XSelectInput(d, win, ExposureMask);
	XMapWindow(d, win);
	XEvent ev;
	do
		XNextEvent(d, &ev);
	while (ev.type != Expose);
	XImage *img = XCreateImage(d, DefaultVisual(d, scr), (unsigned)DefaultDepth(d, scr), ZPixmap,
				   0, NULL, w, h, 32, 0);
	img->data = malloc((size_t)img->bytes_per_line * h);
	for (unsigned j = 0; j < h; j++)
		for (unsigned i = 0; i < w; i++) {
			unsigned r = (i * 255 / w + (unsigned)(rand() % 40)) & 255;
			unsigned g = (j * 255 / h + (unsigned)(rand() % 40)) & 255;
			unsigned b = (unsigned)rand() & 255;
			XPutPixel(img, (int)i, (int)j, (r << 16) | (g << 8) | b);
		}
	XPutImage(d, win, DefaultGC(d, scr), img, 0, 0, 0, 0, w, h);
	XSync(d, False);
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
