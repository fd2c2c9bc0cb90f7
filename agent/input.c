/*
 * input.c - the performing side of struct action: XTest key, button and
 * motion events, and one XSync at the end of a batch. X errors are
 * asynchronous: each action records the serial of its first request, so an
 * error found at the final XSync is charged to the action that caused it.
 *
 * Timing (struct act_timing, per request; README "Input timing"): events
 * go out back to back except where an application needs time to tell them
 * apart - between the clicks of a double or triple click (click_gap), in
 * a drag (press, steps of motion, release, drag_step apart) and around a
 * keycode bound to a new keysym (keymap_delay, keymap.c). Every such pause,
 * like a wait or a hold, goes through pause_ms(), which runs the idle hook
 * (reads of the screen are served meanwhile) and ends at input_cancel();
 * common/act_bound.c counts each of them in the daemon's bound.
 *
 * settle waits for the screen to be still: XDamage on the root reports
 * each change (xconn.c), and the action ends once none has come for its
 * quiet time, or at its bound.
 *
 * Frames: with a frame (scale=WxH), action coordinates are frame pixels;
 * each is performed at the screen pixel under the centre of its frame
 * pixel, and receipts give both.
 *
 * See input.h for usage.
 */
#include "agent/input.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <X11/keysym.h>
#include <X11/extensions/XTest.h>

#include "agent/barrier.h"
#include "agent/keymap.h"
#include "agent/keys.h"
#include "agent/observe.h"
#include "common/clock.h"
#include "common/utf8.h"

#define SETTLE_POLL_MS 2 /* how often settle looks for damage: its precision */

struct input {
	struct xconn *x;
	int have_xtest;
	struct keymap *km;
	atomic_int cancel;               /* set from another thread: cut waits short */
	void (*idle)(void *cls, int ms); /* see input_set_idle */
	void *idle_cls;
};

/* One request's setting: its timing and its frame. */
struct run {
	const struct act_timing *t;
	int fw, fh; /* the frame, or 0 */
	int sw, sh; /* the screen */
};

/* What one performed action leaves for its receipt. */
struct done {
	unsigned long mark; /* serial of its first request */
	double elapsed_ms;
	struct timespec ts;
	int px, py; /* pointer (screen pixels), for at_cursor actions and ACT_CURSOR */
	int chars;  /* ACT_TYPE: code points */
	unsigned long answered, unanswered; /* keymap waits a ping ended / that ran out */
	/* ACT_SETTLE */
	int settled;
	unsigned long changes;
	double last_change_ms; /* since the start; < 0: none */
};

static void pause_ms(struct input *in, int ms);

static void pause_cb(void *cls, int ms)
{
	pause_ms(cls, ms);
}

int input_new(struct xconn *x, struct input **out)
{
	struct input *in = calloc(1, sizeof *in);
	int ev, er, maj, min;

	if (!in)
		return -ENOMEM;
	in->x = x;
	if (keymap_new(x, &in->km) < 0) {
		free(in);
		return -ENOMEM;
	}
	keymap_set_pause(in->km, pause_cb, in);
	in->have_xtest = XTestQueryExtension(x->dpy, &ev, &er, &maj, &min);
	if (!in->have_xtest)
		fprintf(stderr, "deskfs-agent: XTEST missing: actions will fail\n");
	else
		XTestGrabControl(x->dpy, True); /* fake input works through server grabs */
	*out = in;
	return 0;
}

void input_free(struct input *in)
{
	if (!in)
		return;
	keymap_free(in->km);
	free(in);
}

/* Pauses in slices so input_cancel() ends them promptly; the idle hook
 * may use the slices (to serve reads of the screen). What came before is
 * sent first. */
static void pause_ms(struct input *in, int ms)
{
	double end = clk_mono_msf() + ms, left;

	XFlush(in->x->dpy);
	while (!atomic_load(&in->cancel) && (left = end - clk_mono_msf()) > 0) {
		int slice = left > 50 ? 50 : (int)left + 1;
		if (in->idle)
			in->idle(in->idle_cls, slice);
		else
			clk_sleep_ms((unsigned)slice);
	}
}

void input_set_idle(struct input *in, void (*fn)(void *cls, int ms), void *cls)
{
	in->idle = fn;
	in->idle_cls = cls;
}

void input_cancel(struct input *in)
{
	atomic_store(&in->cancel, 1);
}

/* ---- coordinates ---- */

/* A frame pixel to the screen pixel under its centre. */
static int to_screen(int v, int frame, int screen)
{
	if (frame <= 0)
		return v;
	long long s = ((2LL * v + 1) * screen) / (2LL * frame);
	return (int)(s < 0 ? 0 : s >= screen ? screen - 1 : s);
}

/* A screen pixel to the frame pixel that covers it. */
static int to_frame(int v, int frame, int screen)
{
	if (frame <= 0 || screen <= 0)
		return v;
	return (int)((long long)v * frame / screen);
}

static int sx(const struct run *r, int x)
{
	return to_screen(x, r->fw, r->sw);
}

static int sy(const struct run *r, int y)
{
	return to_screen(y, r->fh, r->sh);
}

/* ---- keys ---- */

static void key_event(struct input *in, KeyCode kc, int press)
{
	XTestFakeKeyEvent(in->x->dpy, kc, press ? True : False, CurrentTime);
	if (press)
		keymap_pressed(in->km, kc);
}

static KeyCode shift_keycode(struct input *in)
{
	KeyCode kc;
	int shift;

	if (keymap_key(in->km, XK_Shift_L, &kc, &shift) == 0 && !shift)
		return kc;
	return XKeysymToKeycode(in->x->dpy, XK_Shift_L);
}

/* Press (or release, in reverse) every keysym of a chord, adding Shift where needed. */
static int chord_event(struct input *in, const struct act_chord *c, int press, const struct run *r)
{
	KeyCode kcs[ACT_MAX_CHORD];
	int shifts[ACT_MAX_CHORD], rc;
	KeySym syms[ACT_MAX_CHORD];

	for (int i = 0; i < c->n; i++)
		syms[i] = c->sym[i];
	if (press && c->n > 0) {
		rc = keymap_prepare(in->km, syms, c->n, r->t);
		if (rc < 0)
			return rc;
		if (rc < c->n)
			return -ENOSPC;
	}
	for (int i = 0; i < c->n; i++) {
		rc = keymap_key(in->km, syms[i], &kcs[i], &shifts[i]);
		if (rc < 0) /* a release whose binding is gone: nothing to release */
			return press ? -ENOSPC : 0;
	}
	if (press) {
		for (int i = 0; i < c->n; i++) {
			if (shifts[i])
				key_event(in, shift_keycode(in), 1);
			key_event(in, kcs[i], 1);
		}
	} else {
		for (int i = c->n - 1; i >= 0; i--) {
			key_event(in, kcs[i], 0);
			if (shifts[i])
				key_event(in, shift_keycode(in), 0);
		}
	}
	return 0;
}

static int type_text(struct input *in, const char *text, int *chars, const struct run *r)
{
	const char *p = text, *end = text + strlen(text);
	size_t cap = strlen(text) + 1;
	KeySym *syms = malloc(cap * sizeof *syms);
	int n = 0, rc = 0;

	*chars = 0;
	if (!syms)
		return -ENOMEM;
	while (p < end) {
		unsigned cp;
		int k = utf8_decode(p, (size_t)(end - p), &cp); /* the parser checked it */
		p += k > 0 ? k : 1;
		(*chars)++;
		if (cp == '\n')
			syms[n++] = XK_Return;
		else if (cp == '\t')
			syms[n++] = XK_Tab;
		else if (cp >= 0x20 && cp != 0x7f)
			syms[n++] = key_from_codepoint(cp);
		/* other control characters type nothing */
	}
	for (int i = 0; i < n && rc == 0;) {
		int k = keymap_prepare(in->km, syms + i, n - i, r->t);
		if (k < 0) {
			rc = k;
			break;
		}
		for (int j = i; j < i + k; j++) {
			KeyCode kc;
			int shift;
			if (keymap_key(in->km, syms[j], &kc, &shift) < 0) {
				rc = -ENOSPC;
				break;
			}
			if (shift)
				key_event(in, shift_keycode(in), 1);
			key_event(in, kc, 1);
			key_event(in, kc, 0);
			if (shift)
				key_event(in, shift_keycode(in), 0);
		}
		i += k;
	}
	free(syms);
	return rc;
}

/* ---- pointer ---- */

static void move_to(struct input *in, int x, int y)
{
	XTestFakeMotionEvent(in->x->dpy, in->x->screen, x, y, CurrentTime);
}

static void button(struct input *in, int b, int press)
{
	XTestFakeButtonEvent(in->x->dpy, (unsigned)b, press ? True : False, CurrentTime);
}

/* A press the X server time-stamps at least 1 ms after what came before
 * (XTest's delay), however late it gets to both: the clicks of a double
 * click must not carry one time stamp. */
static void press_later(struct input *in, int b)
{
	XTestFakeButtonEvent(in->x->dpy, (unsigned)b, True, 1);
}

static void wheel(struct input *in, int b, int clicks)
{
	for (int i = 0; i < clicks; i++) {
		button(in, b, 1);
		button(in, b, 0);
	}
}

/* press, then the path in ACT_DRAG_STEPS steps per segment, then release,
 * drag_step apart (so that window managers and XDND see a drag, not a
 * jump). Before the release the window under the pointer must catch up: a
 * browser that has not answered the drop target's XDND position cancels
 * the drop. One that answers pings (barrier.c) is waited for, then given
 * three times its answer's latency (its renderer is as loaded as it is);
 * one that does not gets ACT_DRAG_DWELL steps and one more. */
static void drag(struct input *in, const struct action *a, const struct run *r)
{
	int x0, y0, first = 0;

	if (a->at_cursor) {
		obs_pointer(in->x, &x0, &y0);
	} else {
		x0 = sx(r, a->path[0].x);
		y0 = sy(r, a->path[0].y);
		first = 1;
	}
	move_to(in, x0, y0);
	button(in, a->button, 1);
	pause_ms(in, r->t->drag_step);
	for (int i = first; i < a->npath; i++) {
		int x1 = sx(r, a->path[i].x), y1 = sy(r, a->path[i].y);
		for (int s = 1; s <= ACT_DRAG_STEPS; s++) {
			move_to(in, x0 + (x1 - x0) * s / ACT_DRAG_STEPS,
			        y0 + (y1 - y0) * s / ACT_DRAG_STEPS);
			pause_ms(in, r->t->drag_step);
		}
		x0 = x1;
		y0 = y1;
	}
	/* a target that answers pings shows how loaded it is: its renderer
	 * gets three times that answer's latency more (at least a step) */
	Window w = barrier_pointer_window(in->x);
	double t0 = clk_mono_msf(), lat;
	barrier_wait(in->x, w,
	             t0 + (w != None ? ACT_PING_MAX_MS : (double)ACT_DRAG_DWELL * r->t->drag_step),
	             pause_cb, in);
	lat = w != None ? clk_mono_msf() - t0 : 0;
	lat = 3 * lat < ACT_PING_MAX_MS ? 3 * lat : ACT_PING_MAX_MS;
	pause_ms(in, lat > r->t->drag_step ? (int)lat : r->t->drag_step);
	button(in, a->button, 0);
}

/* ---- settle ---- */

static void settle(struct input *in, const struct action *a, struct done *d)
{
	struct xconn *x = in->x;
	double t0, quiet_from, now;
	unsigned long seen;

	d->last_change_ms = -1;
	xconn_sync_drain(x); /* what came before has been processed */
	t0 = quiet_from = clk_mono_msf();
	if (!x->have_damage) {
		pause_ms(in, a->ms);
		d->settled = 0;
		return;
	}
	xconn_damage_rearm(x);
	seen = x->damage_events;
	for (;;) {
		double left;
		xconn_drain(x);
		if (x->damage_events != seen) {
			d->changes += x->damage_events - seen;
			seen = x->damage_events;
			quiet_from = x->damage_ms;
			d->last_change_ms = quiet_from - t0;
			xconn_damage_rearm(x);
		}
		now = clk_mono_msf();
		if (now - quiet_from >= a->ms) {
			d->settled = 1;
			return;
		}
		if (now - t0 >= a->max_ms || atomic_load(&in->cancel)) {
			d->settled = 0;
			return;
		}
		left = quiet_from + a->ms - now;
		if (t0 + a->max_ms - now < left)
			left = t0 + a->max_ms - now;
		pause_ms(in, left < SETTLE_POLL_MS ? (int)left + 1 : SETTLE_POLL_MS);
	}
}

static int perform(struct input *in, const struct action *a, struct done *d, const struct run *r)
{
	int rc = 0;

	switch (a->kind) {
	case ACT_CLICK:
		if (!a->at_cursor)
			move_to(in, sx(r, a->x), sy(r, a->y));
		rc = chord_event(in, &a->mods, 1, r);
		if (rc < 0)
			break;
		for (int i = 0; i < a->count; i++) {
			if (i > 0) { /* one gesture, but presses an application tells apart */
				pause_ms(in, r->t->click_gap);
				press_later(in, a->button);
			} else {
				button(in, a->button, 1);
			}
			button(in, a->button, 0);
		}
		rc = chord_event(in, &a->mods, 0, r);
		break;
	case ACT_MOVE:
		move_to(in, sx(r, a->x), sy(r, a->y));
		break;
	case ACT_DRAG:
		drag(in, a, r);
		break;
	case ACT_DOWN:
	case ACT_UP:
		if (!a->at_cursor)
			move_to(in, sx(r, a->x), sy(r, a->y));
		button(in, a->button, a->kind == ACT_DOWN);
		break;
	case ACT_SCROLL:
		if (!a->at_cursor)
			move_to(in, sx(r, a->x), sy(r, a->y));
		rc = chord_event(in, &a->mods, 1, r);
		if (rc < 0)
			break;
		wheel(in, a->dy > 0 ? 5 : 4, abs(a->dy));
		wheel(in, a->dx > 0 ? 7 : 6, abs(a->dx));
		rc = chord_event(in, &a->mods, 0, r);
		break;
	case ACT_TYPE:
		rc = type_text(in, a->text, &d->chars, r);
		break;
	case ACT_KEY:
		for (int i = 0; i < a->nchords && rc == 0; i++) {
			rc = chord_event(in, &a->chords[i], 1, r);
			if (rc == 0)
				rc = chord_event(in, &a->chords[i], 0, r);
		}
		break;
	case ACT_KEYDOWN:
	case ACT_KEYUP:
		if (a->nchords > 0)
			rc = chord_event(in, &a->chords[0], a->kind == ACT_KEYDOWN, r);
		for (int i = 0; rc == 0 && a->nchords > 0 && i < a->chords[0].n; i++) {
			KeyCode kc;
			int shift;
			if (keymap_key(in->km, a->chords[0].sym[i], &kc, &shift) == 0)
				keymap_hold(in->km, kc, a->kind == ACT_KEYDOWN);
		}
		break;
	case ACT_HOLD:
		if (a->nchords == 0)
			break;
		rc = chord_event(in, &a->chords[0], 1, r);
		if (rc < 0)
			break;
		pause_ms(in, a->ms);
		rc = chord_event(in, &a->chords[0], 0, r);
		break;
	case ACT_WAIT:
		pause_ms(in, a->ms); /* what came before happens before the wait */
		break;
	case ACT_SETTLE:
		settle(in, a, d);
		break;
	case ACT_SCREENSHOT:
	case ACT_CURSOR:
	case ACT_DONE:
	case ACT_FAIL:
		break;
	}
	return rc;
}

static double round3(double v)
{
	return (double)(long long)(v * 1000.0 + 0.5) / 1000.0;
}

static void add_keys(cJSON *r, const struct action *a)
{
	char buf[512];
	size_t off = 0;

	buf[0] = 0;
	for (int c = 0; c < a->nchords; c++) {
		for (int i = 0; i < a->chords[c].n; i++) {
			const char *name = XKeysymToString(a->chords[c].sym[i]);
			off +=
			    (size_t)snprintf(buf + off, off < sizeof buf ? sizeof buf - off : 0,
			                     "%s%s", i ? "+" : (c ? " " : ""), name ? name : "?");
			if (off >= sizeof buf)
				off = sizeof buf - 1;
		}
	}
	cJSON_AddStringToObject(r, "keys", buf);
}

/* "x", "y" in the request's coordinates; with a frame, "screen": [x, y] too */
static void add_xy(cJSON *r, int fx, int fy, int x, int y, const struct run *run)
{
	cJSON_AddNumberToObject(r, "x", fx);
	cJSON_AddNumberToObject(r, "y", fy);
	if (run->fw > 0) {
		int xy[2] = {x, y};
		cJSON_AddItemToObject(r, "screen", cJSON_CreateIntArray(xy, 2));
	}
}

static cJSON *receipt_new(const struct action *a, const struct done *d, unsigned long seq,
                          const struct run *run)
{
	cJSON *r = cJSON_CreateObject();
	char ts[40];

	if (!r)
		return NULL;
	cJSON_AddStringToObject(r, "type", "receipt");
	cJSON_AddNumberToObject(r, "seq", (double)seq);
	cJSON_AddNumberToObject(r, "line", a->line);
	cJSON_AddStringToObject(r, "action", act_kind_name(a->kind));
	switch (a->kind) {
	case ACT_CLICK:
	case ACT_DOWN:
	case ACT_UP:
	case ACT_SCROLL:
	case ACT_MOVE:
	case ACT_CURSOR:
		if (a->at_cursor || a->kind == ACT_CURSOR)
			add_xy(r, to_frame(d->px, run->fw, run->sw),
			       to_frame(d->py, run->fh, run->sh), d->px, d->py, run);
		else
			add_xy(r, a->x, a->y, sx(run, a->x), sy(run, a->y), run);
		if (a->at_cursor && a->kind != ACT_CURSOR)
			cJSON_AddTrueToObject(r, "at_cursor");
		break;
	default:
		break;
	}
	if (a->kind == ACT_CLICK || a->kind == ACT_DOWN || a->kind == ACT_UP || a->kind == ACT_DRAG)
		cJSON_AddNumberToObject(r, "button", a->button);
	if (a->kind == ACT_CLICK)
		cJSON_AddNumberToObject(r, "count", a->count);
	if ((a->kind == ACT_CLICK || a->kind == ACT_SCROLL) && a->mods.n > 0) {
		struct action m = {.nchords = 1, .chords = (struct act_chord *)&a->mods};
		add_keys(r, &m);
	}
	if (a->kind == ACT_DRAG) {
		cJSON *path = cJSON_AddArrayToObject(r, "path");
		for (int i = 0; path && i < a->npath; i++) {
			int xy[2] = {a->path[i].x, a->path[i].y};
			cJSON_AddItemToArray(path, cJSON_CreateIntArray(xy, 2));
		}
		if (a->at_cursor)
			cJSON_AddTrueToObject(r, "at_cursor"); /* from the pointer */
	}
	if (a->kind == ACT_SCROLL) {
		cJSON_AddNumberToObject(r, "dx", a->dx);
		cJSON_AddNumberToObject(r, "dy", a->dy);
	}
	if (a->kind == ACT_TYPE)
		cJSON_AddNumberToObject(r, "chars", d->chars);
	if (d->answered || d->unanswered) { /* waits around spare keycodes */
		cJSON *k = cJSON_AddObjectToObject(r, "keymap_waits");
		cJSON_AddNumberToObject(k, "answered", (double)d->answered);
		cJSON_AddNumberToObject(k, "timed_out", (double)d->unanswered);
	}
	if (a->kind == ACT_KEY || a->kind == ACT_KEYDOWN || a->kind == ACT_KEYUP ||
	    a->kind == ACT_HOLD)
		add_keys(r, a);
	if (a->kind == ACT_WAIT || a->kind == ACT_HOLD)
		cJSON_AddNumberToObject(r, "ms", a->ms);
	if (a->kind == ACT_SETTLE) {
		cJSON_AddBoolToObject(r, "settled", d->settled);
		cJSON_AddNumberToObject(r, "quiet_ms", a->ms);
		cJSON_AddNumberToObject(r, "max_ms", a->max_ms);
		cJSON_AddNumberToObject(r, "changes", (double)d->changes);
		if (d->last_change_ms >= 0)
			cJSON_AddNumberToObject(r, "last_change_ms", round3(d->last_change_ms));
		else
			cJSON_AddNullToObject(r, "last_change_ms");
	}
	cJSON_AddTrueToObject(r, "ok");
	cJSON_AddNumberToObject(r, "elapsed_ms", round3(d->elapsed_ms));
	clk_iso8601(&d->ts, ts, sizeof ts);
	cJSON_AddStringToObject(r, "ts", ts);
	return r;
}

int input_run(struct input *in, const struct act_list *l, const struct act_opts *o, cJSON *receipts,
              unsigned long *seq, char *err, size_t errlen)
{
	struct xconn *x = in->x;
	struct done *done;
	struct xconn_error xe;
	struct act_opts dflt;
	struct run run;
	int ndone = 0, rc = 0;

	if (!in->have_xtest) {
		snprintf(err, errlen, "input_unavailable: the X server has no XTEST extension");
		return -ENOTSUP;
	}
	if (l->n == 0)
		return 0;
	if (!o) {
		act_opts_default(&dflt);
		o = &dflt;
	}
	done = calloc((size_t)l->n, sizeof *done);
	if (!done)
		return -ENOMEM;
	rc = keymap_sync(in->km); /* a layout changed since the last write is seen now */
	if (rc < 0) {
		snprintf(err, errlen, "x_error: cannot read the keyboard mapping");
		goto out_free_done;
	}
	run = (struct run){&o->t, o->frame_w, o->frame_h, x->width, x->height};
	for (int i = 0; i < l->n; i++) {
		const struct action *a = &l->v[i];
		struct done *d = &done[i];
		struct timespec t0;
		unsigned long ans0, un0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		d->mark = xconn_error_mark(x);
		keymap_stats(in->km, &ans0, &un0);
		rc = perform(in, a, d, &run);
		keymap_stats(in->km, &d->answered, &d->unanswered);
		d->answered -= ans0;
		d->unanswered -= un0;
		if (rc == -ENOSPC) {
			snprintf(err, errlen,
			         "x_error: line %d: no spare keycode to bind a key to (%d spare)",
			         a->line, keymap_spare(in->km));
			break;
		}
		if (rc < 0) {
			snprintf(err, errlen, "internal: line %d: %s", a->line, strerror(-rc));
			break;
		}
		if (a->at_cursor || a->kind == ACT_CURSOR)
			obs_pointer(x, &d->px, &d->py);
		clock_gettime(CLOCK_MONOTONIC, &d->ts);
		d->elapsed_ms = clk_ms_between(&t0, &d->ts);
		clock_gettime(CLOCK_REALTIME, &d->ts);
		ndone++;
	}
	XSync(x->dpy, False);
	if (xconn_error_since(done[0].mark, &xe)) {
		int bad = 0;
		while (bad + 1 < ndone && done[bad + 1].mark <= xe.serial)
			bad++;
		snprintf(err, errlen, "x_error: line %d (%s): %s", l->v[bad].line,
		         act_kind_name(l->v[bad].kind), xe.text);
		ndone = bad;
		rc = -EIO;
	}
	for (int i = 0; i < ndone; i++)
		cJSON_AddItemToArray(receipts, receipt_new(&l->v[i], &done[i], ++*seq, &run));

out_free_done:
	free(done);
	return rc;
}
