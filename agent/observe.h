/*
 * observe.h - the observation: screen size, pointer, focused window and the
 * viewable top-level windows (client windows under a reparenting window
 * manager, with their frame's geometry). Time stamps are common/clock.h's.
 *
 *	cJSON *o = obs_snapshot(&x, last_receipt);   (caller frees with cJSON_Delete)
 */
#ifndef DESKFS_OBSERVE_H
#define DESKFS_OBSERVE_H

#include <stddef.h>
#include <time.h>
#include <cjson/cJSON.h>
#include "agent/xconn.h"

/* NULL on allocation failure. last_receipt (may be NULL) is copied. */
cJSON *obs_snapshot(struct xconn *x, const cJSON *last_receipt);
/* Pointer position in root coordinates; 0 or -EIO. */
int obs_pointer(struct xconn *x, int *px, int *py);

#endif
