/*
 * desk.h - the desktop the agent serves, and the X worker that owns it:
 * the X connection, the capture cache, the input state and the receipts,
 * for the services that work on X (svc_capture.c, svc_input.c,
 * svc_observe.c), and a snapshot of what health tells (the screen size).
 *
 *	struct desk d;
 *	if (desk_open(&d, ":5", err, sizeof err) < 0) exit 2;
 *	... mount svc_capture, svc_input, svc_observe with ctx &d, runner d.worker ...
 *	desk_stop(&d);      (from any thread but the worker: cuts a running wait
 *	                     short, answers what is queued, joins the worker)
 *	desk_close(&d);     (after the HTTP server is stopped)
 *
 * Threads: everything below "X worker's" is touched only by jobs on
 * d->worker, one at a time (a runner with one thread; a read that runs
 * inside an actions job's pause runs on that same thread, between two of
 * its X calls, never during one), and by the thread
 * that calls desk_open / desk_close before the worker runs jobs and after
 * it is joined. Thread creation and pthread_join order those accesses.
 * width and height are atomics, written by the worker (desk_publish) and
 * read by health on the HTTP thread. x.name is written once, at open.
 * input_cancel (inside desk_stop) is the one call into input that may come
 * from another thread.
 */
#ifndef DESKFS_DESK_H
#define DESKFS_DESK_H

#include <stdatomic.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#include "agent/xconn.h"

struct cap;
struct input;
struct runner;

/* Requests that may wait for the X worker; past this, 503 busy. */
#define DESK_MAX_QUEUED 1024

struct desk {
	struct runner *worker; /* the X worker: one thread */
	/* the X worker's: */
	struct xconn x;
	struct cap *cap;
	struct input *in;
	unsigned long seq;   /* receipts so far */
	cJSON *last_receipt; /* owned */
	/* any thread: set by desk_publish() */
	atomic_int width, height;
};

/* Opens the display (NULL: $DISPLAY), the capture and the input state,
 * then starts the worker. -errno with err "display_unreachable: ...",
 * "capture_failed: ..." or "internal: ...". */
int desk_open(struct desk *d, const char *display, char *err, size_t errlen);
/* Ends a running wait or hold at once, drops queued jobs, joins the worker. */
void desk_stop(struct desk *d);
/* desk_stop, then frees everything (X calls: the caller now owns the display). */
void desk_close(struct desk *d);
/* On the worker: copies what health reports (the screen size) from d->x. */
void desk_publish(struct desk *d);

#endif
