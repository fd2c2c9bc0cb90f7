/*
 * sess_ops.h - what the files of a session do, independent of FUSE:
 * build a snapshot (status, session.json, error, screenshot, observation),
 * carry out written lines (actions, ctl, .ctl). Every function returns 0 or
 * -errno; a failure is also recorded in the session's `error` and `events`.
 *
 *	struct blob *png;
 *	r = sess_capture(s, &png, intr, req);     waits for ready, bounded
 *	r = sess_actions(s, "click 10 10\n", 12, intr, req);
 */
#ifndef DESKFS_SESS_OPS_H
#define DESKFS_SESS_OPS_H

#include "core/sess.h"

#include <sys/types.h>


#define SESS_ACTIONS_LOG_MAX (8 << 20) /* bytes of receipts in `actions` before it starts over */

void sess_status_text(struct sess *s, struct buf *out);
void sess_record_json(struct sess *s, struct buf *out);
void sess_error_json(struct sess *s, struct buf *out);
void sess_xauth_bytes(struct sess *s, struct buf *out);
void sess_ctl_help(struct buf *out);

/* *out: a shared PNG (blob_unref it); the same bytes while the screen is unchanged. */
int sess_capture(struct sess *s, struct blob **out, sess_intr_fn intr, void *arg);
int sess_observe(struct sess *s, struct buf *out, sess_intr_fn intr, void *arg);
int sess_actions(struct sess *s, const char *text, size_t len, sess_intr_fn intr, void *arg);
int sess_ctl(struct sess *s, const char *text, size_t len);
/* Parse only (no session, no effect): for tests and fuzzing. */
int sess_ctl_check(const char *text, size_t len, char *err, size_t errlen);
int sess_global_ctl_check(const char *text, size_t len, char *err, size_t errlen);
void sess_actions_log_path(struct sess *s, char *out, size_t len);

/* The control plane. */
int sess_global_ctl(const char *text, size_t len, uid_t uid, gid_t gid, struct derr *e);
void sess_global_info(struct buf *out);
void sess_providers_json(struct buf *out);

#endif
