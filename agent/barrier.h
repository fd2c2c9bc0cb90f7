/*
 * barrier.h - waiting for an X client to catch up with the input sent to
 * it: a _NET_WM_PING is answered (on the root window) only after the
 * client has dispatched every event that reached it before the ping, so
 * its answer proves the keys and motions before it were handled. Bounded:
 * a client that does not answer pings (xterm, xev) gets the whole bound.
 *
 *	Window w = barrier_key_window(&x);        (the client that gets the keys)
 *	barrier_wait(&x, w, clk_mono_msf() + 40, pause, cls);   -> 1 answered, 0 ran out
 *
 * The wait goes through pause(cls, ms) in 1 ms slices (input.c's pause,
 * which serves reads of the screen). xconn.c reads the answers
 * (x->pong). Threads: the X worker only.
 */
#ifndef DESKFS_BARRIER_H
#define DESKFS_BARRIER_H

#include <X11/Xlib.h>

#include "agent/xconn.h"

/* The focus window, or with PointerRoot focus the window under the
 * pointer, or its nearest ancestor that answers pings; None if none. */
Window barrier_key_window(struct xconn *x);
/* The window under the pointer, or its nearest ancestor that answers pings. */
Window barrier_pointer_window(struct xconn *x);
/* Pings w (None: nobody) and waits for its answer until `until`
 * (CLOCK_MONOTONIC ms): 1 when it answered, 0 when the time ran out. */
int barrier_wait(struct xconn *x, Window w, double until, void (*pause)(void *cls, int ms),
                 void *cls);

#endif
