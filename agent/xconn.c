/*
 * xconn.c - the agent's X connection: opening it, the error handlers that
 * keep the process alive (XSetErrorHandler) or end it with a clear line
 * (XSetIOErrorHandler -> exit 3), and the event drain that feeds capture
 * (damage), the screen size and the keymap generation.
 *
 * See xconn.h for usage. Only the thread that owns the Display calls in.
 */
#include "agent/xconn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <X11/Xutil.h>
#include <X11/XKBlib.h>

#include "common/clock.h"

#define ERROR_RING 32

/* Process-global: Xlib's handlers take no user pointer. */
static struct xconn_error error_ring[ERROR_RING];
static unsigned error_count; /* total errors seen; ring index = count % ERROR_RING */
static int error_quiet;
static unsigned long foreign_from; /* serial opening the current foreign bracket */
static char lost_msg[256] = "deskfs-agent: display_lost: connection to X display broken\n";
static char lost_unlink[256]; /* a path to remove before exiting on display loss */

static int on_x_error(Display *dpy, XErrorEvent *ev)
{
	struct xconn_error *e = &error_ring[error_count % ERROR_RING];
	char what[120];

	XGetErrorText(dpy, ev->error_code, what, sizeof what);
	e->serial = ev->serial;
	e->error_code = ev->error_code;
	e->request_code = ev->request_code;
	e->minor_code = ev->minor_code;
	e->foreign = 0;
	snprintf(e->text, sizeof e->text, "%s (request %d.%d, resource 0x%lx)", what,
	         ev->request_code, ev->minor_code, ev->resourceid);
	error_count++;
	if (!error_quiet)
		fprintf(stderr, "deskfs-agent: x_error: %s serial %lu\n", e->text, ev->serial);
	return 0;
}

static int on_x_io_error(Display *dpy)
{
	ssize_t r = write(2, lost_msg, strlen(lost_msg));
	(void)r;
	if (lost_unlink[0])
		unlink(lost_unlink);
	_exit(3);
	return 0;
}

void xconn_install_handlers(void)
{
	XSetErrorHandler(on_x_error);
	XSetIOErrorHandler(on_x_io_error);
}

void xconn_unlink_on_loss(const char *path)
{
	snprintf(lost_unlink, sizeof lost_unlink, "%s", path ? path : "");
}

void xconn_set_quiet(int quiet)
{
	error_quiet = quiet;
}

unsigned long xconn_error_mark(struct xconn *x)
{
	return NextRequest(x->dpy);
}

int xconn_error_since(unsigned long mark, struct xconn_error *out)
{
	unsigned n = error_count < ERROR_RING ? error_count : ERROR_RING;
	int found = 0;

	for (unsigned i = 0; i < n; i++) {
		const struct xconn_error *e = &error_ring[(error_count - 1 - i) % ERROR_RING];
		if (e->serial < mark || e->foreign)
			continue;
		if (!found || e->serial <= out->serial) {
			*out = *e;
			found = 1;
		}
	}
	return found;
}

void xconn_foreign_begin(struct xconn *x)
{
	foreign_from = NextRequest(x->dpy);
}

void xconn_foreign_end(struct xconn *x)
{
	unsigned long to = NextRequest(x->dpy);
	unsigned n = error_count < ERROR_RING ? error_count : ERROR_RING;

	for (unsigned i = 0; i < n; i++) {
		struct xconn_error *e = &error_ring[i];
		if (e->serial >= foreign_from && e->serial < to)
			e->foreign = 1;
	}
}

int xconn_open(struct xconn *x, const char *name, char *err, size_t errlen)
{
	int ev_base, err_base, major, minor;

	memset(x, 0, sizeof *x);
	if (!name)
		name = getenv("DISPLAY");
	if (!name || !*name) {
		snprintf(err, errlen, "display_unreachable: no --display and DISPLAY is unset");
		return -EINVAL;
	}
	snprintf(x->name, sizeof x->name, "%s", name);
	snprintf(lost_msg, sizeof lost_msg, "deskfs-agent: display_lost: connection to %s broken\n",
	         x->name);
	xconn_install_handlers();
	x->dpy = XOpenDisplay(x->name);
	if (!x->dpy) {
		snprintf(err, errlen, "display_unreachable: cannot open display %s", x->name);
		return -ENOTCONN;
	}
	x->screen = DefaultScreen(x->dpy);
	x->root = RootWindow(x->dpy, x->screen);
	x->visual = DefaultVisual(x->dpy, x->screen);
	x->depth = DefaultDepth(x->dpy, x->screen);
	x->width = DisplayWidth(x->dpy, x->screen);
	x->height = DisplayHeight(x->dpy, x->screen);

	/* Root resizes (RandR) arrive as ConfigureNotify on the root; clients
	 * answer a _NET_WM_PING on the root, seen with SubstructureNotify
	 * (keymap.c uses the answer as a barrier). */
	XSelectInput(x->dpy, x->root, StructureNotifyMask | SubstructureNotifyMask);
	x->wm_protocols = XInternAtom(x->dpy, "WM_PROTOCOLS", False);
	x->net_wm_ping = XInternAtom(x->dpy, "_NET_WM_PING", False);

	if (XDamageQueryExtension(x->dpy, &ev_base, &err_base) &&
	    XDamageQueryVersion(x->dpy, &major, &minor)) {
		x->damage_event = ev_base;
		x->damage = XDamageCreate(x->dpy, x->root, XDamageReportNonEmpty);
		x->have_damage = x->damage != 0;
	}
	x->damaged = 1;
	/* A layout change (setxkbmap) arrives as XKB events to an XKB client */
	x->xkb_event = -1;
	{
		int op, xev, xerr, xmaj = XkbMajorVersion, xmin = XkbMinorVersion;
		if (XkbQueryExtension(x->dpy, &op, &xev, &xerr, &xmaj, &xmin) &&
		    XkbSelectEvents(x->dpy, XkbUseCoreKbd,
		                    XkbNewKeyboardNotifyMask | XkbMapNotifyMask,
		                    XkbNewKeyboardNotifyMask | XkbMapNotifyMask))
			x->xkb_event = xev;
	}
	XSync(x->dpy, False);
	return 0;
}

void xconn_close(struct xconn *x)
{
	if (!x->dpy)
		return;
	if (x->have_damage)
		XDamageDestroy(x->dpy, x->damage);
	XCloseDisplay(x->dpy);
	x->dpy = NULL;
}

static void handle_event(struct xconn *x, XEvent *ev)
{
	if (x->have_damage && ev->type == x->damage_event + XDamageNotify) {
		x->damaged = 1;
		x->damage_events++;
		x->damage_ms = clk_mono_msf();
		return;
	}
	if (x->xkb_event >= 0 && ev->type == x->xkb_event) {
		int t = ((XkbAnyEvent *)ev)->xkb_type;
		if (t == XkbMapNotify || t == XkbNewKeyboardNotify)
			x->keymap_gen++;
		return;
	}
	switch (ev->type) {
	case ConfigureNotify:
		if (ev->xconfigure.window == x->root &&
		    (ev->xconfigure.width != x->width || ev->xconfigure.height != x->height)) {
			x->width = ev->xconfigure.width;
			x->height = ev->xconfigure.height;
			x->damaged = 1;
		}
		break;
	case MappingNotify:
		XRefreshKeyboardMapping(&ev->xmapping);
		x->keymap_gen++;
		break;
	case ClientMessage:
		if (ev->xclient.message_type == x->wm_protocols && ev->xclient.format == 32 &&
		    (Atom)ev->xclient.data.l[0] == x->net_wm_ping)
			x->pong = (unsigned long)ev->xclient.data.l[1];
		break;
	default:
		break;
	}
}

void xconn_drain(struct xconn *x)
{
	XEvent ev;

	while (XPending(x->dpy)) {
		XNextEvent(x->dpy, &ev);
		handle_event(x, &ev);
	}
}

void xconn_sync_drain(struct xconn *x)
{
	XSync(x->dpy, False);
	xconn_drain(x);
}

void xconn_damage_rearm(struct xconn *x)
{
	if (x->have_damage)
		XDamageSubtract(x->dpy, x->damage, None, None);
}

void xconn_damage_reset(struct xconn *x)
{
	if (x->have_damage)
		XDamageSubtract(x->dpy, x->damage, None, None);
	x->damaged = 0;
}
