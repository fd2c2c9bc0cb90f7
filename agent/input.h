/*
 * input.h - performs parsed actions (common/act.h) with XTest and writes their
 * receipts.
 *
 *	struct input *in;
 *	input_new(&x, &in);
 *	cJSON *receipts = cJSON_CreateArray();
 *	rc = input_run(in, &list, &opts, receipts, &seq, err, sizeof err);
 *	    0: every action done, one receipt each, the server has processed them;
 *	    <0: err says why; receipts holds the actions done before the failure.
 *	input_free(in);       (gives the scratch keycodes their empty mapping back)
 *
 * opts (NULL: the defaults) is the request's frame and input timing: the
 * list was parsed against the frame, and is performed on the screen.
 * Characters that are not on the keymap are bound to spare keycodes
 * (keymap.c), kept in an LRU pool (reverting at once would race with
 * clients that re-read the keymap after the key event arrives).
 */
#ifndef DESKFS_INPUT_H
#define DESKFS_INPUT_H

#include <stddef.h>
#include <cjson/cJSON.h>
#include "common/act.h"
#include "agent/xconn.h"

struct input;

int input_new(struct xconn *x, struct input **out);
void input_free(struct input *in);
/* From any thread: end a running wait/hold early (used at shutdown). */
void input_cancel(struct input *in);
/* While a wait or hold pauses, call fn(cls, ms) instead of sleeping: it
 * must return within about ms milliseconds, and may make X requests of its
 * own (bracketed with xconn_foreign_begin/end, so that input does not take
 * their errors for its own). desk.c serves reads of the screen there. */
void input_set_idle(struct input *in, void (*fn)(void *cls, int ms), void *cls);

/*
 * Perform l->v[0..n) in order, then XSync once. Appends a receipt object
 * per action done to receipts; *seq is the agent-wide receipt counter.
 * Returns 0, -EIO (X error; err "x_error: ..."), -ENOTSUP (no XTEST),
 * -ENOSPC (no spare keycode for a character) or -ENOMEM.
 */
int input_run(struct input *in, const struct act_list *l, const struct act_opts *opts,
              cJSON *receipts, unsigned long *seq, char *err, size_t errlen);

#endif
