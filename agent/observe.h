/*
 * observe.h - the observation: screen size, the session's frame, pointer,
 * focused window and the viewable top-level windows (client windows under a
 * reparenting window manager: their content rectangle, and the window
 * manager's frame as "outer"). Time stamps are common/clock.h's.
 *
 *	cJSON *o = obs_snapshot(&x, last_receipt, 0, 0);  (caller frees with cJSON_Delete;
 *	                                                   0 0: no frame, else its W H)
 */
#ifndef DESKFS_OBSERVE_H
#define DESKFS_OBSERVE_H

#include <stddef.h>
#include <time.h>
#include <cjson/cJSON.h>
#include "agent/xconn.h"

/* NULL on allocation failure. last_receipt (may be NULL) is copied. */
cJSON *obs_snapshot(struct xconn *x, const cJSON *last_receipt, int frame_w, int frame_h);
/* Pointer position in root coordinates; 0 or -EIO. */
int obs_pointer(struct xconn *x, int *px, int *py);

#endif
