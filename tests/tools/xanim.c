/*
 * xanim.c - test helper: an animation that stops at a known time, for
 * settle's tests.
 *
 *	xanim :DISPLAY WxH+X+Y FRAME_MS DURATION_MS
 *
 * Maps an override-redirect window, prints "ready", then redraws it in
 * another colour every FRAME_MS for DURATION_MS (XSync after each frame),
 * prints "end T" with T the CLOCK_MONOTONIC milliseconds of the last
 * frame's XSync (the same clock as Python's time.monotonic()), and sleeps
 * until killed. DURATION_MS 0: no frames; -1: animate until killed.
 */
#include <X11/Xlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	unsigned w, h;
	int x, y;
	if (argc < 5 || sscanf(argv[2], "%ux%u+%d+%d", &w, &h, &x, &y) != 4) {
		fprintf(stderr, "usage: xanim :DISPLAY WxH+X+Y FRAME_MS DURATION_MS\n");
		return 2;
	}
	int frame = atoi(argv[3]), dur = atoi(argv[4]);
	Display *d = XOpenDisplay(argv[1]);
	if (!d)
		return 2;
	int scr = DefaultScreen(d);
	XSetWindowAttributes a = {.override_redirect = True, .background_pixel = 0};
	Window win =
	    XCreateWindow(d, RootWindow(d, scr), x, y, w, h, 0, CopyFromParent, InputOutput,
	                  CopyFromParent, CWOverrideRedirect | CWBackPixel, &a);
	XSelectInput(d, win, ExposureMask);
	XMapWindow(d, win);
	XEvent ev;
	do
		XNextEvent(d, &ev);
	while (ev.type != Expose);
	GC gc = XCreateGC(d, win, 0, NULL);
	XSync(d, False);
	printf("ready\n");
	fflush(stdout);
	double start = now_ms(), last = start;
	for (unsigned long i = 1; dur < 0 || now_ms() - start < dur; i++) {
		XSetForeground(d, gc, (i * 0x3f5a17ul) & 0xffffff);
		XFillRectangle(d, win, gc, 0, 0, w, h);
		XSync(d, False);
		last = now_ms();
		usleep((useconds_t)frame * 1000);
	}
	printf("end %.3f\n", last);
	fflush(stdout);
	for (;;)
		pause();
}
