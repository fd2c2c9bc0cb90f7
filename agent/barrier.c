/*
 * barrier.c - _NET_WM_PING as a barrier for input (see barrier.h).
 *
 * The ping is the window manager protocol's (EWMH): a ClientMessage of
 * type WM_PROTOCOLS, data [_NET_WM_PING, stamp, window], sent to the
 * client's top-level window; the client sends it back to the root window
 * with SubstructureNotify|SubstructureRedirect, which xconn.c selects
 * (SubstructureNotify) and reads into x->pong. Only windows that list
 * _NET_WM_PING in WM_PROTOCOLS are pinged (Chromium, GTK, Qt do).
 */
#include "agent/barrier.h"

#include <string.h>
#include <X11/Xutil.h>

#include "common/clock.h"

static unsigned long stamp; /* the last ping's; the X worker's */

static int answers_ping(struct xconn *x, Window w)
{
	Atom *protos = NULL;
	int n = 0, yes = 0;

	if (!XGetWMProtocols(x->dpy, w, &protos, &n))
		return 0;
	for (int i = 0; i < n; i++)
		yes |= protos[i] == x->net_wm_ping;
	XFree(protos);
	return yes;
}

/* w or its nearest ancestor below the root that answers pings. */
static Window pingable(struct xconn *x, Window w)
{
	Window r, parent, *kids;
	unsigned n;

	for (int depth = 0; w != None && w != x->root && depth < 32; depth++) {
		if (answers_ping(x, w))
			return w;
		if (!XQueryTree(x->dpy, w, &r, &parent, &kids, &n))
			return None;
		if (kids)
			XFree(kids);
		w = parent;
	}
	return None;
}

static Window under_pointer(struct xconn *x)
{
	Window w = x->root, r, child;
	int rx, ry, wx, wy;
	unsigned mask;

	while (XQueryPointer(x->dpy, w, &r, &child, &rx, &ry, &wx, &wy, &mask) && child)
		w = child;
	return w;
}

Window barrier_pointer_window(struct xconn *x)
{
	Window w;

	xconn_set_quiet(1); /* windows may vanish while we look */
	w = pingable(x, under_pointer(x));
	xconn_set_quiet(0);
	return w;
}

Window barrier_key_window(struct xconn *x)
{
	Window w;
	int revert;

	xconn_set_quiet(1);
	XGetInputFocus(x->dpy, &w, &revert);
	if (w == PointerRoot)
		w = under_pointer(x);
	w = pingable(x, w);
	xconn_set_quiet(0);
	return w;
}

int barrier_wait(struct xconn *x, Window w, double until, void (*pause)(void *cls, int ms),
                 void *cls)
{
	XEvent ev;

	if (w != None) {
		memset(&ev, 0, sizeof ev);
		ev.xclient.type = ClientMessage;
		ev.xclient.window = w;
		ev.xclient.message_type = x->wm_protocols;
		ev.xclient.format = 32;
		ev.xclient.data.l[0] = (long)x->net_wm_ping;
		ev.xclient.data.l[1] = (long)++stamp;
		ev.xclient.data.l[2] = (long)w;
		XSendEvent(x->dpy, w, False, NoEventMask, &ev);
	}
	for (;;) {
		double left;
		xconn_drain(x); /* flushes; reads the answer if it came */
		if (w != None && x->pong == stamp)
			return 1;
		left = until - clk_mono_msf();
		if (left <= 0)
			return 0;
		XFlush(x->dpy);
		int ms = w == None ? (int)left + 1 : 1;
		if (pause)
			pause(cls, ms);
		else
			clk_sleep_ms((unsigned)ms);
	}
}
