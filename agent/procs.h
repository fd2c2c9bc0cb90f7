/*
 * procs.h - the programs an agent runs for its session (procs/ in the
 * mount): started by tag, followed by an I/O thread of their own, kept
 * (status, exit, the last 8 MiB of each output stream) until forgotten.
 *
 *	struct procs *p;
 *	procs_new(&p, &id, err, sizeof err);        (starts the I/O thread)
 *	... svc_procs.c calls, each filling rep (or taking it: svc_later):
 *	procs_start(p, &args, rep);                  (a runner thread: it forks)
 *	procs_read(p, "t1", 0, offset, wait_ms, rep);   (the HTTP thread: never blocks)
 *	procs_exit(p, "t1", wait_ms, rep);  procs_stdin(p, "t1", data, len, rep);
 *	procs_ctl(p, "t1", "signal TERM", rep);  procs_forget(p, "t1", rep);
 *	...
 *	procs_stop(p);     (SIGTERM to every program's group, 2 s, SIGKILL; every
 *	                    parked request answered; no new one parked)
 *	procs_free(p);
 *
 * Threads (the concurrency note):
 *   I/O thread  owns the epoll set: every program's pidfd, its output pipes
 *               (or pty master) and its stdin while writes are queued; reads
 *               output into the rings, writes queued stdin, notes exits
 *               (waitid WNOWAIT: the leader stays a zombie, so its process
 *               group id cannot be reused while we may signal it), and
 *               answers parked requests (svc_later) as data, exits or their
 *               deadlines come. Nothing it does blocks (O_NONBLOCK fds).
 *   HTTP thread status, list, reads of output already there, stdin that
 *               fits the pipe, ctl, forget; and it parks what must wait
 *               (a waiter on the program, a deadline in the timed list),
 *               waking the I/O thread through an eventfd.
 *   runner      procs_start (fork, exec, wait for exec's verdict).
 * One lock (p->lock) protects the table, every program and every waiter;
 * it is held only across non-blocking system calls, never across a wait.
 * Parked requests are answered (svc_later_done) after the lock is dropped.
 */
#ifndef DESKFS_PROCS_H
#define DESKFS_PROCS_H

#include <stddef.h>
#include <stdint.h>

struct ident;
struct procs;
struct svc_reply;

#define PROCS_MAX 256              /* programs kept at once (503 EAGAIN past it) */
#define PROCS_KEEP (8u << 20)      /* bytes kept of each output stream */
#define PROCS_READ_MAX (1u << 20)  /* bytes in one answer to an output read */
#define PROCS_WAIT_MAX_MS 60000    /* a longer wait_ms is cut to this */
#define PROCS_WAITERS_MAX 1024     /* requests parked at once (503 EAGAIN past it) */
#define PROCS_ARGS_MAX (1u << 20)  /* bytes of argv and env together (413 E2BIG) */

struct procs_env {
	const char *key, *value;
};

struct procs_start_args {
	const char *tag;
	const char *const *argv; /* argc entries */
	int argc;
	const struct procs_env *env; /* nenv entries, added to (or replacing) the base */
	int nenv;
	const char *cwd; /* a path of the files tree, or NULL: the programs' home */
	int pty;
	unsigned rows, cols;
};

int procs_new(struct procs **out, const struct ident *id, char *err, size_t errlen);
void procs_stop(struct procs *p);
void procs_free(struct procs *p);

/* Is tag a valid tag ([A-Za-z0-9][A-Za-z0-9._-]{0,63})? */
int procs_tag_ok(const char *tag);

void procs_start(struct procs *p, const struct procs_start_args *a, struct svc_reply *rep);
void procs_list(struct procs *p, struct svc_reply *rep);
void procs_status(struct procs *p, const char *tag, struct svc_reply *rep);
/* stream 0: stdout, 1: stderr; at most len bytes (1..PROCS_READ_MAX). */
void procs_read(struct procs *p, const char *tag, int stream, uint64_t offset, size_t len,
                int wait_ms, struct svc_reply *rep);
void procs_exit(struct procs *p, const char *tag, int wait_ms, struct svc_reply *rep);
/* data must stay valid until the reply is sent (it is the request's body). */
void procs_stdin(struct procs *p, const char *tag, const char *data, size_t len,
                 struct svc_reply *rep);
void procs_ctl(struct procs *p, const char *tag, const char *line, size_t len,
               struct svc_reply *rep);
void procs_forget(struct procs *p, const char *tag, struct svc_reply *rep);

#endif
