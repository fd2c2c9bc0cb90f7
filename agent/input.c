/*
 * input.c - the performing side of struct action: XTest key, button and
 * motion events, sent back to back with no artificial delay and one XSync
 * at the end of a batch. X errors are asynchronous: each action records
 * the serial of its first request, so an error found at the final XSync is
 * charged to the action that caused it.
 *
 * Keymap: a copy of the core keyboard mapping, reloaded when a
 * MappingNotify was seen (xconn bumps keymap_gen). A keysym at column 0 of
 * a keycode is typed as is, one at column 1 with Shift. Anything else is
 * bound to a spare keycode (one with no keysyms) with the keysym on every
 * level, as xdotool does; the spare keycodes form an LRU pool and get
 * their empty mapping back in input_free().
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

#include "agent/keys.h"
#include "agent/observe.h"
#include "common/clock.h"
#include "common/utf8.h"

#define MAX_SCRATCH 32
/* A client looks a key event up in the keymap it re-reads when it gets to
 * that event; a scratch keycode rebound before then types the new keysym.
 * So a binding used in the last SCRATCH_SETTLE_MS is only replaced after
 * an XSync and that long a pause (once per pool's worth of rebinds). */
#define SCRATCH_SETTLE_MS ACT_REBIND_PAUSE_MS /* act_bound_ms() counts these pauses */

struct scratch {
	KeyCode kc;
	KeySym sym;         /* bound now, or NoSymbol */
	unsigned long used; /* LRU tick */
	double used_ms;     /* CLOCK_MONOTONIC of the last use */
};

struct input {
	struct xconn *x;
	int have_xtest;
	int loaded, gen; /* keymap copy valid for x->keymap_gen == gen */
	int min_kc, max_kc, per;
	KeySym *map; /* (max_kc - min_kc + 1) * per */
	struct scratch scratch[MAX_SCRATCH];
	int nscratch;
	unsigned long tick;
	unsigned long settled;           /* ticks up to this one were delivered long enough ago */
	atomic_int cancel;               /* set from another thread: cut waits short */
	void (*idle)(void *cls, int ms); /* see input_set_idle */
	void *idle_cls;
};

/* What one performed action leaves for its receipt. */
struct done {
	unsigned long mark; /* serial of its first request */
	double elapsed_ms;
	struct timespec ts;
	int px, py; /* pointer, for at_cursor actions and ACT_CURSOR */
	int chars;  /* ACT_TYPE: code points */
};

int input_new(struct xconn *x, struct input **out)
{
	struct input *in = calloc(1, sizeof *in);
	int ev, er, maj, min;

	if (!in)
		return -ENOMEM;
	in->x = x;
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
	for (int i = 0; i < in->nscratch; i++) {
		KeySym none[8] = {NoSymbol};
		int per = in->per < 8 ? in->per : 8;
		if (in->scratch[i].sym == NoSymbol)
			continue;
		XChangeKeyboardMapping(in->x->dpy, in->scratch[i].kc, per, none, 1);
	}
	if (in->nscratch)
		XSync(in->x->dpy, False);
	free(in->map);
	free(in);
}

static KeySym *map_row(struct input *in, int kc)
{
	return in->map + (size_t)(kc - in->min_kc) * in->per;
}

static int keymap_load(struct input *in)
{
	Display *dpy = in->x->dpy;
	KeySym *m;
	int n;

	XDisplayKeycodes(dpy, &in->min_kc, &in->max_kc);
	n = in->max_kc - in->min_kc + 1;
	m = XGetKeyboardMapping(dpy, (KeyCode)in->min_kc, n, &in->per);
	if (!m)
		return -EIO;
	free(in->map);
	in->map = malloc(sizeof *m * (size_t)n * in->per);
	if (!in->map) {
		XFree(m);
		return -ENOMEM;
	}
	memcpy(in->map, m, sizeof *m * (size_t)n * in->per);
	XFree(m);

	if (!in->loaded) {
		/* spare keycodes: no keysym at all; the highest ones first, as xdotool */
		for (int kc = in->max_kc; kc >= in->min_kc && in->nscratch < MAX_SCRATCH; kc--) {
			KeySym *row = map_row(in, kc);
			int empty = 1;
			for (int i = 0; i < in->per; i++)
				empty &= row[i] == NoSymbol;
			if (empty)
				in->scratch[in->nscratch++] =
				    (struct scratch){(KeyCode)kc, NoSymbol, 0, 0};
		}
	} else {
		/* someone else may have remapped a scratch keycode */
		for (int i = 0; i < in->nscratch; i++)
			if (map_row(in, in->scratch[i].kc)[0] != in->scratch[i].sym)
				in->scratch[i].sym = NoSymbol;
	}
	in->loaded = 1;
	in->gen = in->x->keymap_gen;
	return 0;
}

/* Keycode typing ks; *shift = 1 when it sits at the shifted level. */
static int keymap_find(struct input *in, KeySym ks, KeyCode *kc, int *shift)
{
	for (int k = in->min_kc; k <= in->max_kc; k++)
		if (map_row(in, k)[0] == ks) {
			*kc = (KeyCode)k;
			*shift = 0;
			return 0;
		}
	for (int k = in->min_kc; k <= in->max_kc; k++) {
		KeySym *row = map_row(in, k);
		KeySym s1 = in->per > 1 ? row[1] : NoSymbol;
		if (s1 == NoSymbol && row[0] != NoSymbol) {
			KeySym lo,
			    up; /* core rule: a lone lowercase letter implies its upper case */
			XConvertCase(row[0], &lo, &up);
			if (lo != up && row[0] == lo)
				s1 = up;
		}
		if (s1 == ks) {
			*kc = (KeyCode)k;
			*shift = 1;
			return 0;
		}
	}
	return -ENOENT;
}

/* wait/hold: pauses in slices so input_cancel() ends them promptly; the
 * idle hook may use the slices (to serve reads of the screen) */
static void pause_ms(struct input *in, int ms)
{
	double end = clk_mono_msf() + ms, left;

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

static int scratch_bind(struct input *in, KeySym ks, KeyCode *kc)
{
	KeySym syms[16];
	struct scratch *s = NULL;
	int per = in->per < 16 ? in->per : 16;

	for (int i = 0; i < in->nscratch; i++)
		if (!s || in->scratch[i].used < s->used)
			s = &in->scratch[i];
	if (!s)
		return -ENOSPC;
	if (s->sym != NoSymbol && s->used > in->settled &&
	    clk_mono_msf() - s->used_ms < SCRATCH_SETTLE_MS) {
		XSync(in->x->dpy, False);
		clk_sleep_ms(SCRATCH_SETTLE_MS);
		in->settled = in->tick;
	}
	for (int i = 0; i < per; i++)
		syms[i] = ks;
	XChangeKeyboardMapping(in->x->dpy, s->kc, per, syms, 1);
	for (int i = 0; i < in->per; i++)
		map_row(in, s->kc)[i] = i < per ? ks : NoSymbol;
	s->sym = ks;
	s->used = ++in->tick;
	s->used_ms = clk_mono_msf();
	*kc = s->kc;
	return 0;
}

static int sym_to_key(struct input *in, KeySym ks, KeyCode *kc, int *shift)
{
	if (keymap_find(in, ks, kc, shift) == 0) {
		for (int i = 0; i < in->nscratch; i++)
			if (in->scratch[i].kc == *kc) {
				in->scratch[i].used = ++in->tick;
				in->scratch[i].used_ms = clk_mono_msf();
			}
		return 0;
	}
	*shift = 0;
	return scratch_bind(in, ks, kc);
}

static KeyCode shift_keycode(struct input *in)
{
	return XKeysymToKeycode(in->x->dpy, XK_Shift_L);
}

static void key_event(struct input *in, KeyCode kc, int press)
{
	XTestFakeKeyEvent(in->x->dpy, kc, press ? True : False, CurrentTime);
}

/* Press (or release, in reverse) every keysym of a chord, adding Shift where needed. */
static int chord_event(struct input *in, const struct act_chord *c, int press)
{
	KeyCode kcs[ACT_MAX_CHORD];
	int shifts[ACT_MAX_CHORD], rc;

	for (int i = 0; i < c->n; i++) {
		rc = sym_to_key(in, c->sym[i], &kcs[i], &shifts[i]);
		if (rc < 0)
			return rc;
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

static int type_text(struct input *in, const char *text, int *chars)
{
	const char *p = text, *end = text + strlen(text);
	KeyCode kc;
	int shift, rc, n;

	*chars = 0;
	while (p < end) {
		unsigned cp;
		KeySym ks;
		n = utf8_decode(p, (size_t)(end - p), &cp); /* the parser checked it: never -1 */
		p += n > 0 ? n : 1;
		(*chars)++;
		if (cp == '\n')
			ks = XK_Return;
		else if (cp == '\t')
			ks = XK_Tab;
		else if (cp < 0x20 || cp == 0x7f)
			continue; /* other control characters type nothing */
		else
			ks = key_from_codepoint(cp);
		rc = sym_to_key(in, ks, &kc, &shift);
		if (rc < 0)
			return rc;
		if (shift)
			key_event(in, shift_keycode(in), 1);
		key_event(in, kc, 1);
		key_event(in, kc, 0);
		if (shift)
			key_event(in, shift_keycode(in), 0);
	}
	return 0;
}

static void move_to(struct input *in, int x, int y)
{
	XTestFakeMotionEvent(in->x->dpy, in->x->screen, x, y, CurrentTime);
}

static void button(struct input *in, int b, int press)
{
	XTestFakeButtonEvent(in->x->dpy, (unsigned)b, press ? True : False, CurrentTime);
}

static void wheel(struct input *in, int b, int clicks)
{
	for (int i = 0; i < clicks; i++) {
		button(in, b, 1);
		button(in, b, 0);
	}
}

static int perform(struct input *in, const struct action *a, struct done *d)
{
	int rc = 0;

	switch (a->kind) {
	case ACT_CLICK:
		if (!a->at_cursor)
			move_to(in, a->x, a->y);
		rc = chord_event(in, &a->mods, 1);
		if (rc < 0)
			break;
		for (int i = 0; i < a->count; i++) {
			button(in, a->button, 1);
			button(in, a->button, 0);
		}
		rc = chord_event(in, &a->mods, 0);
		break;
	case ACT_MOVE:
		move_to(in, a->x, a->y);
		break;
	case ACT_DRAG:
		move_to(in, a->path[0].x, a->path[0].y);
		button(in, a->button, 1);
		for (int i = 1; i < a->npath; i++)
			move_to(in, a->path[i].x, a->path[i].y);
		button(in, a->button, 0);
		break;
	case ACT_DOWN:
	case ACT_UP:
		if (!a->at_cursor)
			move_to(in, a->x, a->y);
		button(in, a->button, a->kind == ACT_DOWN);
		break;
	case ACT_SCROLL:
		if (!a->at_cursor)
			move_to(in, a->x, a->y);
		rc = chord_event(in, &a->mods, 1);
		if (rc < 0)
			break;
		wheel(in, a->dy > 0 ? 5 : 4, abs(a->dy));
		wheel(in, a->dx > 0 ? 7 : 6, abs(a->dx));
		rc = chord_event(in, &a->mods, 0);
		break;
	case ACT_TYPE:
		rc = type_text(in, a->text, &d->chars);
		break;
	case ACT_KEY:
		for (int i = 0; i < a->nchords && rc == 0; i++) {
			rc = chord_event(in, &a->chords[i], 1);
			if (rc == 0)
				rc = chord_event(in, &a->chords[i], 0);
		}
		break;
	case ACT_KEYDOWN:
	case ACT_KEYUP:
		if (a->nchords > 0)
			rc = chord_event(in, &a->chords[0], a->kind == ACT_KEYDOWN);
		break;
	case ACT_HOLD:
		if (a->nchords == 0)
			break;
		rc = chord_event(in, &a->chords[0], 1);
		if (rc < 0)
			break;
		XFlush(in->x->dpy);
		pause_ms(in, a->ms);
		rc = chord_event(in, &a->chords[0], 0);
		break;
	case ACT_WAIT:
		XFlush(in->x->dpy); /* what came before happens before the wait */
		pause_ms(in, a->ms);
		break;
	case ACT_SCREENSHOT:
	case ACT_CURSOR:
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

static cJSON *receipt_new(const struct action *a, const struct done *d, unsigned long seq)
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
		cJSON_AddNumberToObject(r, "x",
		                        a->at_cursor || a->kind == ACT_CURSOR ? d->px : a->x);
		cJSON_AddNumberToObject(r, "y",
		                        a->at_cursor || a->kind == ACT_CURSOR ? d->py : a->y);
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
	}
	if (a->kind == ACT_SCROLL) {
		cJSON_AddNumberToObject(r, "dx", a->dx);
		cJSON_AddNumberToObject(r, "dy", a->dy);
	}
	if (a->kind == ACT_TYPE)
		cJSON_AddNumberToObject(r, "chars", d->chars);
	if (a->kind == ACT_KEY || a->kind == ACT_KEYDOWN || a->kind == ACT_KEYUP ||
	    a->kind == ACT_HOLD)
		add_keys(r, a);
	if (a->kind == ACT_WAIT || a->kind == ACT_HOLD)
		cJSON_AddNumberToObject(r, "ms", a->ms);
	cJSON_AddTrueToObject(r, "ok");
	cJSON_AddNumberToObject(r, "elapsed_ms", round3(d->elapsed_ms));
	clk_iso8601(&d->ts, ts, sizeof ts);
	cJSON_AddStringToObject(r, "ts", ts);
	return r;
}

int input_run(struct input *in, const struct act_list *l, cJSON *receipts, unsigned long *seq,
              char *err, size_t errlen)
{
	struct xconn *x = in->x;
	struct done *done;
	struct xconn_error xe;
	int ndone = 0, rc = 0;

	if (!in->have_xtest) {
		snprintf(err, errlen, "input_unavailable: the X server has no XTEST extension");
		return -ENOTSUP;
	}
	if (l->n == 0)
		return 0;
	done = calloc((size_t)l->n, sizeof *done);
	if (!done)
		return -ENOMEM;
	xconn_drain(x);
	if (!in->loaded || in->gen != x->keymap_gen) {
		rc = keymap_load(in);
		if (rc < 0) {
			snprintf(err, errlen, "x_error: cannot read the keyboard mapping");
			goto out_free_done;
		}
	}
	for (int i = 0; i < l->n; i++) {
		const struct action *a = &l->v[i];
		struct done *d = &done[i];
		struct timespec t0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		d->mark = xconn_error_mark(x);
		rc = perform(in, a, d);
		if (rc == -ENOSPC) {
			snprintf(err, errlen, "x_error: line %d: no spare keycode to bind a key to",
			         a->line);
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
		cJSON_AddItemToArray(receipts, receipt_new(&l->v[i], &done[i], ++*seq));

out_free_done:
	free(done);
	return rc;
}
