/*
 * keymap.c - keysyms to keycodes for input.c: the core keyboard mapping
 * (re-read when xconn saw it change: MappingNotify, XkbMapNotify,
 * XkbNewKeyboardNotify, e.g. after `setxkbmap -layout de`), and a pool of
 * every spare keycode for keysyms the layout does not have.
 *
 * A keysym at column 0 of a keycode is typed as is, one at column 1 with
 * Shift (a lone lowercase letter implies its upper case, the core rule).
 * Anything else is bound to a spare keycode with the keysym on every
 * level, as xdotool does; bindings stay (LRU) so that a character typed
 * again costs nothing, and go back to empty in keymap_free(). When the
 * layout changes, the pool is made again from the keycodes that are then
 * empty (or still hold our binding).
 *
 * See keymap.h for usage and for the timing rule.
 */
#include "agent/keymap.h"
#include "agent/barrier.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <X11/Xutil.h>

#include "common/clock.h"

#define MAX_SLOTS 256
#define MAX_PER 64 /* keysyms per keycode we write */

struct slot {
	KeyCode kc;
	KeySym sym;      /* bound now, or NoSymbol */
	double bound_ms; /* CLOCK_MONOTONIC of the binding */
	double used_ms;  /* of the last press of this binding (0: none) */
	unsigned long lru;
	int pin;  /* needed by the batch being prepared */
	int held; /* pressed by a keydown and not released yet: never rebound */
};

struct keymap {
	struct xconn *x;
	int loaded, gen; /* the copy is valid for x->keymap_gen == gen */
	int min_kc, max_kc, per;
	KeySym *map; /* (max_kc - min_kc + 1) * per */
	struct slot slot[MAX_SLOTS];
	int nslots;
	unsigned long tick;
	void (*pause)(void *cls, int ms);
	void *pause_cls;
	unsigned long pongs, waits; /* barriers answered, barriers that ran out */
};

int keymap_new(struct xconn *x, struct keymap **out)
{
	struct keymap *km = calloc(1, sizeof *km);

	if (!km)
		return -ENOMEM;
	km->x = x;
	*out = km;
	return 0;
}

void keymap_free(struct keymap *km)
{
	int bound = 0;

	if (!km)
		return;
	for (int i = 0; i < km->nslots; i++) {
		KeySym none[MAX_PER] = {NoSymbol};
		int per = km->per < MAX_PER ? km->per : MAX_PER;
		if (km->slot[i].sym == NoSymbol)
			continue;
		XChangeKeyboardMapping(km->x->dpy, km->slot[i].kc, per, none, 1);
		bound++;
	}
	if (bound)
		XSync(km->x->dpy, False);
	free(km->map);
	free(km);
}

void keymap_set_pause(struct keymap *km, void (*pause)(void *cls, int ms), void *cls)
{
	km->pause = pause;
	km->pause_cls = cls;
}

int keymap_spare(const struct keymap *km)
{
	return km->nslots;
}

static KeySym *row(struct keymap *km, int kc)
{
	return km->map + (size_t)(kc - km->min_kc) * km->per;
}

static struct slot *slot_of(struct keymap *km, int kc)
{
	for (int i = 0; i < km->nslots; i++)
		if (km->slot[i].kc == kc)
			return &km->slot[i];
	return NULL;
}

/* The pool: every keycode with no keysym, or still holding our binding;
 * the highest first, as xdotool. A slot that survives keeps its state. */
static void pool_rebuild(struct keymap *km)
{
	struct slot old[MAX_SLOTS];
	int nold = km->nslots;

	memcpy(old, km->slot, sizeof old[0] * (size_t)nold);
	km->nslots = 0;
	for (int kc = km->max_kc; kc >= km->min_kc && km->nslots < MAX_SLOTS; kc--) {
		KeySym *r = row(km, kc);
		struct slot s = {.kc = (KeyCode)kc, .sym = NoSymbol};
		int empty = 1;

		for (int i = 0; i < km->per; i++)
			empty &= r[i] == NoSymbol;
		for (int i = 0; i < nold; i++)
			if (old[i].kc == kc) {
				s = old[i];
				if (!empty && (s.sym == NoSymbol || r[0] != s.sym))
					goto next; /* the layout took it */
				if (empty)
					s.sym = NoSymbol;
			}
		if (!empty && s.sym == NoSymbol)
			continue;
		s.pin = 0;
		km->slot[km->nslots++] = s;
	next:;
	}
}

int keymap_sync(struct keymap *km)
{
	Display *dpy = km->x->dpy;
	KeySym *m, *copy;
	int n, per;

	xconn_drain(km->x);
	if (km->loaded && km->gen == km->x->keymap_gen)
		return 0;
	km->gen = km->x->keymap_gen;
	XDisplayKeycodes(dpy, &km->min_kc, &km->max_kc);
	n = km->max_kc - km->min_kc + 1;
	m = XGetKeyboardMapping(dpy, (KeyCode)km->min_kc, n, &per);
	if (!m)
		return -EIO;
	copy = malloc(sizeof *m * (size_t)n * (size_t)per);
	if (!copy) {
		XFree(m);
		return -ENOMEM;
	}
	memcpy(copy, m, sizeof *m * (size_t)n * (size_t)per);
	XFree(m);
	free(km->map);
	km->map = copy;
	km->per = per;
	pool_rebuild(km);
	km->loaded = 1;
	return 0;
}

/* ks on the layout (not in our pool): keycode and level. */
static int layout_find(struct keymap *km, KeySym ks, KeyCode *kc, int *shift)
{
	for (int k = km->min_kc; k <= km->max_kc; k++)
		if (row(km, k)[0] == ks && !slot_of(km, k)) {
			*kc = (KeyCode)k;
			*shift = 0;
			return 0;
		}
	for (int k = km->min_kc; k <= km->max_kc; k++) {
		KeySym *r = row(km, k);
		KeySym s1 = km->per > 1 ? r[1] : NoSymbol;
		if (s1 == NoSymbol && r[0] != NoSymbol) {
			KeySym lo,
			    up; /* core rule: a lone lowercase letter implies its upper case */
			XConvertCase(r[0], &lo, &up);
			if (lo != up && r[0] == lo)
				s1 = up;
		}
		if (s1 == ks && !slot_of(km, k)) {
			*kc = (KeyCode)k;
			*shift = 1;
			return 0;
		}
	}
	return -ENOENT;
}

static struct slot *slot_bound(struct keymap *km, KeySym ks)
{
	for (int i = 0; i < km->nslots; i++)
		if (km->slot[i].sym == ks)
			return &km->slot[i];
	return NULL;
}

int keymap_key(struct keymap *km, KeySym ks, KeyCode *kc, int *shift)
{
	struct slot *s = slot_bound(km, ks);

	if (s) {
		*kc = s->kc;
		*shift = 0;
		return 0;
	}
	return layout_find(km, ks, kc, shift);
}

void keymap_hold(struct keymap *km, KeyCode kc, int down)
{
	struct slot *s = slot_of(km, kc);

	if (s)
		s->held = down;
}

void keymap_pressed(struct keymap *km, KeyCode kc)
{
	struct slot *s = slot_of(km, kc);

	if (s) {
		s->used_ms = clk_mono_msf();
		s->lru = ++km->tick;
	}
}

/*
 * Wait until the client that gets the keys has handled every event sent
 * before now (barrier.c: a ping's answer), or until `when`.
 */
static void barrier(struct keymap *km, double when)
{
	double now = clk_mono_msf();
	Window w;

	if (when <= now)
		return;
	w = barrier_key_window(km->x);
	/* a client that answers is waited for until it does (it proves more
	 * than any time), one that does not for the keymap delay */
	if (barrier_wait(km->x, w, w != None ? now + ACT_PING_MAX_MS : when, km->pause,
	                 km->pause_cls))
		km->pongs++;
	else
		km->waits++;
}

void keymap_stats(const struct keymap *km, unsigned long *answered, unsigned long *unanswered)
{
	*answered = km->pongs;
	*unanswered = km->waits;
}

int keymap_prepare(struct keymap *km, const KeySym *syms, int n, const struct act_timing *t)
{
	struct slot *victim[MAX_SLOTS];
	double ready = 0, freed = 0; /* when the batch's keys may be pressed / rebound */
	int nv = 0, k;

	for (int i = 0; i < km->nslots; i++)
		km->slot[i].pin = km->slot[i].held;
	for (k = 0; k < n; k++) {
		KeySym ks = syms[k];
		struct slot *s = slot_bound(km, ks), *lru = NULL;
		KeyCode kc;
		int shift;

		if (s) { /* bound already, or planned in this batch */
			s->pin = 1;
			if (s->bound_ms + t->keymap_delay > ready)
				ready = s->bound_ms + t->keymap_delay;
			continue;
		}
		if (layout_find(km, ks, &kc, &shift) == 0)
			continue;
		for (int i = 0; i < km->nslots; i++)
			if (!km->slot[i].pin && (!lru || km->slot[i].lru < lru->lru))
				lru = &km->slot[i];
		if (!lru)
			break; /* the pool is spent: the batch ends here */
		/* a key pressed with the old binding must have been handled */
		if (lru->used_ms + t->keymap_delay > freed)
			freed = lru->used_ms + t->keymap_delay;
		lru->pin = 1;
		lru->sym = ks; /* planned: later keys of the batch find it */
		victim[nv++] = lru;
	}
	if (k == 0 && n > 0)
		return -ENOSPC;
	if (nv) {
		KeySym syms_row[MAX_PER];
		int per = km->per < MAX_PER ? km->per : MAX_PER;

		barrier(km, freed);
		for (int i = 0; i < nv; i++) {
			struct slot *s = victim[i];
			for (int j = 0; j < per; j++)
				syms_row[j] = s->sym;
			XChangeKeyboardMapping(km->x->dpy, s->kc, per, syms_row, 1);
			for (int j = 0; j < km->per; j++)
				row(km, s->kc)[j] = j < per ? s->sym : NoSymbol;
			s->bound_ms = clk_mono_msf();
			s->used_ms = 0;
			s->lru = ++km->tick;
		}
		ready = clk_mono_msf() + t->keymap_delay;
	}
	barrier(km, ready);
	return k;
}
