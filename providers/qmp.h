/*
 * qmp.h - a small QMP client for the daemon's side of a QEMU monitor.
 *
 * The daemon listens first and QEMU connects to it (-chardev socket,
 * reconnect=1,path=SOCK -mon chardev=..,mode=control), so there is never a
 * window in which someone else could take the monitor:
 *
 *	int lfd = qmp_listen("/run/deskfs/x/vm1/qmp.sock", &e);   (struct derr e)
 *	... start qemu ...
 *	struct qmp *q;
 *	qmp_accept(lfd, 5000, alive_fn, arg, &q, &e);  greeting + qmp_capabilities
 *	cJSON *ret;
 *	qmp_execute(q, "query-status", NULL, 1000, &ret, &e);
 *	cJSON_Delete(ret);
 *	qmp_execute_fd(q, "getfd", args, fd, 1000, NULL, &e);   {"fdname":"mig"} + the fd
 *	qmp_free(q);
 *
 * One command at a time per connection, serialised by the qmp's own lock, so
 * the lifecycle thread (health) and readers (screendump) may share it.
 * Events that arrive between replies are remembered by name (qmp_saw_event).
 * Errors: -ETIMEDOUT when QEMU does not answer in time, -ECONNRESET when the
 * monitor closed (QEMU exited), -EIO for an error reply (its desc in e),
 * with e->code "qmp_..." and words.
 */
#ifndef DESKFS_QMP_H
#define DESKFS_QMP_H

#include <stddef.h>
#include "common/derr.h"

struct qmp;
struct cJSON;

/* A unix socket at path, mode 0600, listening; returns the fd or -errno. */
int qmp_listen(const char *path, struct derr *e);

/*
 * Wait up to timeout_ms for QEMU to connect to lfd, read its greeting and
 * negotiate capabilities. alive(arg) is polled: returning 0 stops the wait
 * (QEMU died, or the session is stopping) with -ECANCELED.
 */
int qmp_accept(int lfd, unsigned timeout_ms, int (*alive)(void *), void *arg, struct qmp **out,
               struct derr *e);

/*
 * Run one command. args (may be NULL) is borrowed. On success *ret (if
 * ret is not NULL) holds the "return" value, which the caller frees.
 */
int qmp_execute(struct qmp *q, const char *cmd, const struct cJSON *args, unsigned timeout_ms,
                struct cJSON **ret, struct derr *e);

/*
 * The same, handing QEMU a file descriptor with the command (SCM_RIGHTS):
 * for "getfd" {"fdname": N}, after which "fd:N" names it (migrate,
 * migrate-incoming). fd stays the caller's; QEMU gets its own copy.
 */
int qmp_execute_fd(struct qmp *q, const char *cmd, const struct cJSON *args, int fd,
                   unsigned timeout_ms, struct cJSON **ret, struct derr *e);

/* 1 if an event of that name (e.g. "SHUTDOWN") has arrived since the connection began. */
int qmp_saw_event(struct qmp *q, const char *name);

/* The QEMU version from the greeting, e.g. "7.2.22". */
const char *qmp_version(const struct qmp *q);

void qmp_free(struct qmp *q);

#endif
