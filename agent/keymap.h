/*
 * keymap.h - which keycode types a keysym, for input.c: a copy of the
 * core keyboard mapping, re-read whenever it changes, and a pool of every
 * spare keycode (one with no keysym at all) for the keysyms the layout
 * lacks, bound a batch at a time.
 *
 *	struct keymap *km;
 *	keymap_new(&x, &km);
 *	keymap_sync(km);                           (at the start of each write)
 *	n = keymap_prepare(km, syms, count, &t);   (binds what syms[0..n) need,
 *	                                            waiting as timing t says)
 *	for (i = 0; i < n; i++) {
 *		keymap_key(km, syms[i], &kc, &shift);   ... press kc ...
 *		keymap_pressed(km, kc);
 *	}
 *	keymap_free(km);      (gives the spare keycodes their empty mapping back)
 *
 * Timing (struct act_timing's keymap_delay, "d"; a client that answers
 * _NET_WM_PING is waited for until it answers instead, barrier.c, at most
 * ACT_PING_MAX_MS): a client re-reads the
 * mapping when it learns of a change and then looks up key events it has
 * not handled yet, so a keycode bound to a new keysym is pressed only d
 * after the binding (the client must have the new mapping), and a keycode
 * pressed is bound to another keysym only d after that press (the client
 * must have handled it with the old one). A batch binds as many keysyms
 * as there are spare keycodes not needed by the batch itself, so a text
 * pays at most two delays per pool of distinct missing keysyms
 * (common/act_bound.c counts them). Waits go through the pause function,
 * which serves reads of the screen meanwhile.
 *
 * Threads: the X worker only.
 */
#ifndef DESKFS_KEYMAP_H
#define DESKFS_KEYMAP_H

#include <X11/Xlib.h>

#include "agent/xconn.h"
#include "common/act.h"

struct keymap;

int keymap_new(struct xconn *x, struct keymap **out);
void keymap_free(struct keymap *km);
/* Waits go through pause(cls, ms) (input.c's pause_ms). */
void keymap_set_pause(struct keymap *km, void (*pause)(void *cls, int ms), void *cls);
/* Re-reads the mapping if it changed (MappingNotify, XKB map or keyboard
 * change) since the last read. 0 or -EIO. */
int keymap_sync(struct keymap *km);
/* Makes syms[0..k) typeable for the largest k <= n that one batch of
 * spare keycodes allows, binding and waiting as needed: returns k (>= 1
 * when n >= 1), or -ENOSPC when not even syms[0] can be bound. */
int keymap_prepare(struct keymap *km, const KeySym *syms, int n, const struct act_timing *t);
/* The keycode of ks (after keymap_prepare), *shift = 1 when it sits at the
 * shifted level; -ENOENT if it is not typeable. */
int keymap_key(struct keymap *km, KeySym ks, KeyCode *kc, int *shift);
/* Records a press of kc (its binding is in use until the delay has passed). */
void keymap_pressed(struct keymap *km, KeyCode kc);
/* kc is held down (a keydown) or let go: a held keycode is never rebound. */
void keymap_hold(struct keymap *km, KeyCode kc, int down);
/* Spare keycodes in the pool. */
int keymap_spare(const struct keymap *km);
/* Waits so far that a client's ping answer ended, and that ran their time. */
void keymap_stats(const struct keymap *km, unsigned long *answered, unsigned long *unanswered);

#endif
