/*
 * desk.h - the desktop the agent serves: its X connection, the capture
 * cache, the input state and the last receipt, together, for the services
 * that work on X (svc_capture.c, svc_input.c, svc_observe.c), and a
 * snapshot of what health tells (display, size).
 *
 *	struct desk d;
 *	if (desk_open(&d, ":5", err, sizeof err) < 0) exit 2;
 *	... mount svc_capture, svc_input, svc_observe with ctx &d ...
 *	desk_close(&d);
 */
#ifndef DESKFS_DESK_H
#define DESKFS_DESK_H

#include <stdatomic.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#include "agent/xconn.h"

struct cap;
struct input;

struct desk {
	struct xconn x;
	struct cap *cap;
	struct input *in;
	unsigned long seq;   /* receipts so far */
	cJSON *last_receipt; /* owned */
	/* for health, from any thread: set by desk_publish() */
	atomic_int width, height;
};

/* Opens the display (NULL: $DISPLAY), the capture and the input state.
 * -errno with err "display_unreachable: ..." or "capture_failed: ...". */
int desk_open(struct desk *d, const char *display, char *err, size_t errlen);
void desk_close(struct desk *d);
/* Copies what health reports (the screen size) from d->x. */
void desk_publish(struct desk *d);

#endif
