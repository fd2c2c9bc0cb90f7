/*
 * sess_procs.h - programs in a session (procs/), as a port method over the
 * agent's /v1/procs routes (../helpers/issue9-api.md). No FUSE here: fs/
 * calls these, and whatever they fail with is recorded in the session's
 * `error` and `events` in words (a lookup or a listing records nothing).
 *
 *	sess_procs_ctl(s, "start t -- make -j2\n", n, intr, req);   starts; -ENOENT/-EEXIST/-EINVAL
 *	sess_proc_output(s, "t", 0, off, 65536, &out, &info, intr, req);   stdout from off
 *	a = sess_proc_exit_async(s, "t", 25000, done, arg, &r);   parked: done(arg, 0, "0\n")
 *	sess_async_cancel(a); sess_async_put(a);
 *
 * Programs belong to the agent: nothing about them is kept here, so after a
 * daemon crash and restart every call works as before.
 */
#ifndef DESKFS_SESS_PROCS_H
#define DESKFS_SESS_PROCS_H

#include <sys/types.h>

#include "core/sess.h"

struct sess_async;

#define SESS_MAX_PARKED 256 /* asynchronous requests (exit reads, stdin writes) per session */
#define SESS_MAX_PARKED_BYTES (8u << 20) /* bytes those stdin writes hold, per session */

/* procs/ctl: "start TAG [cwd=DIR] [env.K=V ...] [pty=RxC] -- PROG ARG..." or JSON lines.
 * Every line is checked before any runs. */
int sess_procs_ctl(struct sess *s, const char *text, size_t len, sess_intr_fn intr, void *arg);
void sess_procs_ctl_help(struct buf *out);
/* Parse only (tests, fuzzing): the agent request bodies, one JSON object per line. */
int sess_procs_ctl_check(const char *text, size_t len, struct buf *bodies, char *err,
			 size_t errlen);
/* procs/TAG/ctl: "signal TERM|KILL|INT|HUP|STOP|CONT|N", "eof", "resize RxC". */
int sess_proc_ctl(struct sess *s, const char *tag, const char *text, size_t len,
		  sess_intr_fn intr, void *arg);
void sess_proc_ctl_help(struct buf *out);

/* The tags the agent holds, NUL-separated in names; nothing (0) unless ready. */
int sess_procs_list(struct sess *s, struct buf *names);
/* 0 if TAG exists (waits for a starting session), -ENOENT if not. */
int sess_proc_exists(struct sess *s, const char *tag, sess_intr_fn intr, void *arg);
/* The status as JSON (a snapshot). */
int sess_proc_status(struct sess *s, const char *tag, struct buf *out, sess_intr_fn intr,
		     void *arg);
/* What was written to stdout (err 0) or stderr (1) so far; no waiting (getattr). */
int sess_proc_size(struct sess *s, const char *tag, int err, long long *size);

/* One read of a program's output. */
struct sess_output {
	long long size;    /* written so far */
	long long start;   /* the first offset still kept */
	long long dropped; /* bytes the reader asked for that are gone */
	int ended;
};
int sess_proc_output(struct sess *s, const char *tag, int err, long long off, size_t len,
		     struct buf *out, struct sess_output *info, sess_intr_fn intr, void *arg);
/* rmdir procs/TAG: -EBUSY while it runs. */
int sess_proc_forget(struct sess *s, const char *tag);

/*
 * Parked requests: fn(arg, r, data) runs once, on the agent client's loop
 * thread (never block there). exit: r 0 with data "0\n" or "signal 9\n"
 * once the program has ended (the agent is asked again every wait_ms
 * meanwhile); with wait_ms 0, -EAGAIN at once if it still runs. stdin: r
 * the bytes taken, or -EPIPE once the program's input is closed. Either:
 * -EINTR after sess_async_cancel, -EIO if the session stops meanwhile.
 * Returns the request (a reference: sess_async_put it), or NULL with *r
 * set (-EAGAIN past SESS_MAX_PARKED or a session not ready). A starting
 * session is waited for first (bounded), on the caller's thread.
 */
typedef void (*sess_async_fn)(void *arg, int r, struct buf *data);
struct sess_async *sess_proc_exit_async(struct sess *s, const char *tag, long wait_ms,
					sess_async_fn fn, void *arg, int *r);
struct sess_async *sess_proc_stdin_async(struct sess *s, const char *tag, const void *data,
					 size_t len, sess_async_fn fn, void *arg, int *r);
/* fn then runs with -EINTR, unless it ran already. Any thread, any lock. */
void sess_async_cancel(struct sess_async *a);
void sess_async_put(struct sess_async *a);

#endif
