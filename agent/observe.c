/*
 * observe.c - builds the observation JSON from the X server: screen size,
 * the session's frame, pointer, focused window and the viewable top-level
 * windows in stacking order (bottom to top). Under a reparenting window
 * manager each entry is the client window (the descendant with WM_STATE):
 * "x", "y", "width", "height" are its content rectangle in screen pixels
 * (what `xwininfo -id` says: inside its border, without the decorations),
 * and "outer" is the window manager's frame around it (decorations and
 * border included), the rectangle that stacks and that a title-bar drag
 * moves. Without a window manager both are the window itself (outer with
 * its border). Windows wholly off the screen (a window manager's helper
 * windows, such as openbox's 1x1 at -100,-100) are left out. With a frame
 * (scale=WxH), "frame" gives its size, and the cursor and every window
 * carry "in_frame", the same in frame pixels.
 *
 * Windows may vanish while we look; the BadWindow errors that causes are
 * expected and kept out of the log.
 *
 * See observe.h for usage.
 */
#include "agent/observe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <X11/Xatom.h>
#include <X11/Xlib.h>
#include <X11/Xutil.h>

#include "common/clock.h"
#include "common/utf8.h"

enum { A_NET_WM_NAME, A_UTF8_STRING, A_NET_WM_PID, A_WM_STATE, A_NET_ACTIVE_WINDOW, A_COUNT };

static const char *atom_names[A_COUNT] = {"_NET_WM_NAME", "UTF8_STRING", "_NET_WM_PID", "WM_STATE",
                                          "_NET_ACTIVE_WINDOW"};

struct win {
	Window frame;            /* child of the root */
	Window client;           /* window carrying the properties */
	int x, y, width, height; /* the client's content, screen pixels */
	int ox, oy, ow, oh;      /* the frame's outer rectangle */
};

/* The session's frame, to express screen rectangles in it. */
struct scale {
	int fw, fh, sw, sh; /* fw == 0: none */
};

/* {"x","y","width","height"} of a screen rectangle in frame pixels: the
 * frame pixels it covers, at least one. */
static cJSON *in_frame(const struct scale *f, int x, int y, int w, int h)
{
	cJSON *o = cJSON_CreateObject();
	long long x0 = (long long)x * f->fw / f->sw, y0 = (long long)y * f->fh / f->sh;
	long long x1 = ((long long)(x + w) * f->fw + f->sw - 1) / f->sw;
	long long y1 = ((long long)(y + h) * f->fh + f->sh - 1) / f->sh;

	cJSON_AddNumberToObject(o, "x", (double)x0);
	cJSON_AddNumberToObject(o, "y", (double)y0);
	cJSON_AddNumberToObject(o, "width", (double)(x1 - x0 > 0 ? x1 - x0 : 1));
	cJSON_AddNumberToObject(o, "height", (double)(y1 - y0 > 0 ? y1 - y0 : 1));
	return o;
}

static cJSON *rect(int x, int y, int w, int h)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "x", x);
	cJSON_AddNumberToObject(o, "y", y);
	cJSON_AddNumberToObject(o, "width", w);
	cJSON_AddNumberToObject(o, "height", h);
	return o;
}

int obs_pointer(struct xconn *x, int *px, int *py)
{
	Window root, child;
	int wx, wy;
	unsigned mask;

	if (!XQueryPointer(x->dpy, x->root, &root, &child, px, py, &wx, &wy, &mask))
		return -EIO;
	return 0;
}

/* s[0..len) as valid UTF-8 (bad bytes become U+FFFD); malloc'd. */
static char *utf8_clean(const unsigned char *s, size_t len)
{
	return utf8_sanitize((const char *)s, len);
}

static int get_property(Display *dpy, Window w, Atom prop, Atom type, unsigned char **data,
                        unsigned long *nitems, int *format)
{
	Atom actual;
	unsigned long after;

	*data = NULL;
	if (XGetWindowProperty(dpy, w, prop, 0, 1 << 16, False, type, &actual, format, nitems,
	                       &after, data) != Success ||
	    actual == None || !*data) {
		if (*data)
			XFree(*data);
		*data = NULL;
		return -ENOENT;
	}
	return 0;
}

static char *window_title(Display *dpy, Window w, const Atom *atoms)
{
	unsigned char *data;
	unsigned long n;
	int format;
	char *title = NULL;
	XTextProperty tp;

	if (get_property(dpy, w, atoms[A_NET_WM_NAME], atoms[A_UTF8_STRING], &data, &n, &format) ==
	    0) {
		if (format == 8)
			title = utf8_clean(data, n);
		XFree(data);
		if (title)
			return title;
	}
	if (XGetWMName(dpy, w, &tp) && tp.value) {
		char **list = NULL;
		int count = 0;
		if (Xutf8TextPropertyToTextList(dpy, &tp, &list, &count) >= Success && count > 0 &&
		    list) {
			title = utf8_clean((const unsigned char *)list[0], strlen(list[0]));
			XFreeStringList(list);
		} else {
			title = utf8_clean(tp.value, tp.nitems);
		}
		XFree(tp.value);
	}
	return title;
}

static int has_wm_state(Display *dpy, Window w, const Atom *atoms)
{
	unsigned char *data;
	unsigned long n;
	int format;

	if (get_property(dpy, w, atoms[A_WM_STATE], AnyPropertyType, &data, &n, &format) < 0)
		return 0;
	XFree(data);
	return 1;
}

/* The descendant of w that a window manager marked with WM_STATE, or None. */
static Window find_client(Display *dpy, Window w, const Atom *atoms, int depth)
{
	Window root, parent, *kids = NULL, found = None;
	unsigned nkids = 0;

	if (has_wm_state(dpy, w, atoms))
		return w;
	if (depth >= 4 || !XQueryTree(dpy, w, &root, &parent, &kids, &nkids))
		return None;
	for (unsigned i = nkids; i-- > 0 && found == None;)
		found = find_client(dpy, kids[i], atoms, depth + 1);
	if (kids)
		XFree(kids);
	return found;
}

/* The child of the root that contains w (w itself if it is one), or None. */
static Window toplevel_of(Display *dpy, Window w, Window rootwin)
{
	for (int depth = 0; w != None && w != rootwin && depth < 64; depth++) {
		Window root, parent, *kids = NULL;
		unsigned nkids;
		if (!XQueryTree(dpy, w, &root, &parent, &kids, &nkids))
			return None;
		if (kids)
			XFree(kids);
		if (parent == rootwin)
			return w;
		w = parent;
	}
	return None;
}

static Window focused_toplevel(struct xconn *x, const Atom *atoms)
{
	unsigned char *data;
	unsigned long n;
	int format, revert;
	Window w = None, child, r;
	int rx, ry, wx, wy;
	unsigned mask;

	if (get_property(x->dpy, x->root, atoms[A_NET_ACTIVE_WINDOW], XA_WINDOW, &data, &n,
	                 &format) == 0) {
		if (n > 0 && format == 32)
			w = (Window)((unsigned long *)data)[0];
		XFree(data);
		if (w != None)
			return toplevel_of(x->dpy, w, x->root);
	}
	XGetInputFocus(x->dpy, &w, &revert);
	if (w == PointerRoot) {
		if (!XQueryPointer(x->dpy, x->root, &r, &child, &rx, &ry, &wx, &wy, &mask))
			return None;
		return child;
	}
	if (w == None || w == x->root)
		return None;
	return toplevel_of(x->dpy, w, x->root);
}

static cJSON *window_json(Display *dpy, const struct win *w, int focused, const Atom *atoms,
                          const struct scale *f)
{
	cJSON *o = cJSON_CreateObject();
	XClassHint hint = {NULL, NULL};
	unsigned char *data;
	unsigned long n;
	int format;
	char *title = window_title(dpy, w->client, atoms);

	cJSON_AddNumberToObject(o, "id", (double)w->client);
	cJSON_AddStringToObject(o, "title", title ? title : "");
	free(title);
	if (XGetClassHint(dpy, w->client, &hint)) {
		char *cls = utf8_clean((unsigned char *)(hint.res_class ? hint.res_class : ""),
		                       hint.res_class ? strlen(hint.res_class) : 0);
		char *ins = utf8_clean((unsigned char *)(hint.res_name ? hint.res_name : ""),
		                       hint.res_name ? strlen(hint.res_name) : 0);
		cJSON_AddStringToObject(o, "class", cls ? cls : "");
		cJSON_AddStringToObject(o, "instance", ins ? ins : "");
		free(cls);
		free(ins);
		XFree(hint.res_class);
		XFree(hint.res_name);
	} else {
		cJSON_AddStringToObject(o, "class", "");
		cJSON_AddStringToObject(o, "instance", "");
	}
	if (get_property(dpy, w->client, atoms[A_NET_WM_PID], XA_CARDINAL, &data, &n, &format) ==
	        0 &&
	    n > 0 && format == 32)
		cJSON_AddNumberToObject(o, "pid", (double)((unsigned long *)data)[0]);
	else
		cJSON_AddNullToObject(o, "pid");
	if (data)
		XFree(data);
	cJSON_AddNumberToObject(o, "x", w->x);
	cJSON_AddNumberToObject(o, "y", w->y);
	cJSON_AddNumberToObject(o, "width", w->width);
	cJSON_AddNumberToObject(o, "height", w->height);
	cJSON_AddItemToObject(o, "outer", rect(w->ox, w->oy, w->ow, w->oh));
	if (f->fw > 0)
		cJSON_AddItemToObject(o, "in_frame", in_frame(f, w->x, w->y, w->width, w->height));
	cJSON_AddBoolToObject(o, "focused", focused);
	return o;
}

/* The client's content rectangle in screen pixels (its frame's attributes
 * when it is the frame); 0, or -1 when it went away. */
static int content_rect(Display *dpy, Window rootwin, struct win *w, const XWindowAttributes *fa)
{
	XWindowAttributes ca;
	Window child;

	if (w->client == w->frame) {
		w->x = fa->x + fa->border_width;
		w->y = fa->y + fa->border_width;
		w->width = fa->width;
		w->height = fa->height;
		return 0;
	}
	if (!XGetWindowAttributes(dpy, w->client, &ca) ||
	    !XTranslateCoordinates(dpy, w->client, rootwin, 0, 0, &w->x, &w->y, &child))
		return -1;
	w->width = ca.width;
	w->height = ca.height;
	return 0;
}

cJSON *obs_snapshot(struct xconn *x, const cJSON *last_receipt, int frame_w, int frame_h)
{
	Display *dpy = x->dpy;
	Atom atoms[A_COUNT];
	Window root, parent, *kids = NULL, focus;
	unsigned nkids = 0;
	struct timespec now;
	char ts[40];
	int px = 0, py = 0;
	cJSON *o, *scr, *cur, *wins, *focused = NULL;
	struct scale f = {frame_w, frame_h, x->width, x->height};

	xconn_drain(x);
	f.sw = x->width;
	f.sh = x->height;
	o = cJSON_CreateObject();
	if (!o)
		return NULL;
	xconn_set_quiet(1);
	XInternAtoms(dpy, (char **)atom_names, A_COUNT, False, atoms);
	clock_gettime(CLOCK_REALTIME, &now);
	clk_iso8601(&now, ts, sizeof ts);
	cJSON_AddStringToObject(o, "timestamp", ts);
	cJSON_AddNumberToObject(o, "ts_ms", (double)now.tv_sec * 1000 + now.tv_nsec / 1000000);
	scr = cJSON_AddObjectToObject(o, "screen");
	cJSON_AddNumberToObject(scr, "width", x->width);
	cJSON_AddNumberToObject(scr, "height", x->height);
	if (f.fw > 0) {
		cJSON *fr = cJSON_AddObjectToObject(o, "frame");
		cJSON_AddNumberToObject(fr, "width", f.fw);
		cJSON_AddNumberToObject(fr, "height", f.fh);
	} else {
		cJSON_AddNullToObject(o, "frame");
	}
	obs_pointer(x, &px, &py);
	cur = cJSON_AddObjectToObject(o, "cursor");
	cJSON_AddNumberToObject(cur, "x", px);
	cJSON_AddNumberToObject(cur, "y", py);
	if (f.fw > 0) {
		cJSON *c = cJSON_AddObjectToObject(cur, "in_frame");
		cJSON_AddNumberToObject(c, "x", (double)((long long)px * f.fw / f.sw));
		cJSON_AddNumberToObject(c, "y", (double)((long long)py * f.fh / f.sh));
	}

	focus = focused_toplevel(x, atoms);
	wins = cJSON_CreateArray();
	if (XQueryTree(dpy, x->root, &root, &parent, &kids, &nkids)) {
		for (unsigned i = 0; i < nkids; i++) {
			XWindowAttributes wa;
			struct win w;
			if (!XGetWindowAttributes(dpy, kids[i], &wa) ||
			    wa.map_state != IsViewable || wa.class == InputOnly)
				continue;
			w.ox = wa.x;
			w.oy = wa.y;
			w.ow = wa.width + 2 * wa.border_width;
			w.oh = wa.height + 2 * wa.border_width;
			if (w.ox + w.ow <= 0 || w.oy + w.oh <= 0 || w.ox >= x->width ||
			    w.oy >= x->height)
				continue; /* wholly off the screen: nobody sees it */
			w.frame = kids[i];
			w.client = find_client(dpy, kids[i], atoms, 0);
			if (w.client == None)
				w.client = kids[i];
			if (content_rect(dpy, x->root, &w, &wa) < 0)
				continue; /* gone while we looked */
			cJSON *wj = window_json(dpy, &w, w.frame == focus, atoms, &f);
			cJSON_AddItemToArray(wins, wj);
			if (w.frame == focus) {
				cJSON_Delete(focused);
				focused = cJSON_Duplicate(wj, 1);
			}
		}
		if (kids)
			XFree(kids);
	}
	if (focused)
		cJSON_AddItemToObject(o, "focused", focused);
	else
		cJSON_AddNullToObject(o, "focused");
	cJSON_AddItemToObject(o, "windows", wins);
	if (last_receipt)
		cJSON_AddItemToObject(o, "last_receipt", cJSON_Duplicate(last_receipt, 1));
	else
		cJSON_AddNullToObject(o, "last_receipt");
	XSync(dpy, False); /* collect the BadWindow errors while still quiet */
	xconn_set_quiet(0);
	return o;
}
