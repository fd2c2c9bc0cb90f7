/*
 * host.h - the one door from a provider to its session. A provider sees
 * its session only through these calls, never its fields: what it may
 * read (name, paths, owner, a copy of the settings), what it may report
 * (readiness, the display, the agent's endpoint), the process table it
 * starts into (recorded before anything runs), its own data, and the stop
 * flag it must poll in every wait.
 *
 *	struct sess_conf c;
 *	host_conf(s, &c);                                 a copy, taken under the lock
 *	r = host_spawn(s, SLOT_XVFB, "xvfb", argv, &po, e);  recorded, then runs
 *	host_readiness(s, RD_DESKTOP_READY);
 *	while (!host_should_stop(s)) ...
 *
 * Threads: start, reattach, health and stop run on the session's lifecycle
 * thread (or, for stop, under its op_lock after the thread ended); the
 * process table (host_proc) is theirs alone. capture and describe may run
 * on any thread and must reach provider data through host_data_get.
 */
#ifndef DESKFS_HOST_H
#define DESKFS_HOST_H

#include <stddef.h>
#include <sys/types.h>

#include "common/derr.h"
#include "core/proc.h"
#include "core/settings.h"

struct sess;
struct buf;

enum sess_readiness {
	RD_BOOTING,
	RD_DESKTOP_READY,
	RD_BRIDGE_LISTENING,
	RD_BRIDGE_ATTACHED,
	RD_RUNTIME_READY,
	RD_FAILED,
};

#define HOST_MAX_PROCS 4

int host_should_stop(struct sess *s);
/* Readiness only moves forward within one start. */
void host_readiness(struct sess *s, enum sess_readiness r);

const char *host_name(const struct sess *s);
const char *host_dir(const struct sess *s);    /* the session's state directory (0700, ours) */
const char *host_artdir(const struct sess *s); /* its artifacts/ */
/* A local session's home (its files/, programs' HOME and cwd), owned by its owner; "" if none. */
const char *host_home(const struct sess *s);
uid_t host_owner(const struct sess *s);
gid_t host_group(const struct sess *s);
void host_conf(struct sess *s, struct sess_conf *out);
/* Change one setting (set_parse's rules) and write the record: 0, or -EINVAL with e
 * saying why. For settings a provider changes live (qemu: forward). */
int host_conf_set(struct sess *s, const char *key, const char *val, struct derr *e);
const char *host_agent_path(void);   /* the deskfs-agent binary */
const char *host_statedir(void);

/* The checkpoint directory this start resumes from (a fork or a restore), or "" for a
 * cold start. Set by the core before start; the lifecycle thread reads it. */
const char *host_origin(const struct sess *s);

/* 1 when the stop under way throws the machine away (a restore): no clean shutdown. */
int host_discard(struct sess *s);

/* The agent's token (this start's); a remote provider may set the one it was given. */
void host_token(struct sess *s, char *out, size_t len);
void host_set_token(struct sess *s, const char *tok);
/* The display and the file of its X cookie (NULL: none), for session.json. */
void host_set_display(struct sess *s, const char *display, const char *xauth);
/* Where the agent listens: a unix socket path or an http:// URL (the other NULL). */
void host_set_endpoint(struct sess *s, const char *sock, const char *url);
void host_endpoint(struct sess *s, char *sock, size_t socklen, char *url, size_t urllen);

/* The process table, HOST_MAX_PROCS slots; the lifecycle's own. */
struct proc *host_proc(struct sess *s, int slot);
/* Start argv in slot: the child runs only once the record names it. */
int host_spawn(struct sess *s, int slot, const char *role, const char *const argv[],
	       struct proc_opts *o, struct derr *e);
/* The last non-empty line of artifacts/ROLE.log (words for an error). */
void host_log_tail(struct sess *s, const char *role, char *out, size_t len);

/* The provider's own data. set: lifecycle only; get: any thread, with
 * ref(data) called under the session's lock (NULL data: not called). */
void host_set_data(struct sess *s, void *data);
void *host_data(struct sess *s); /* lifecycle thread only */
void *host_data_get(struct sess *s, void *(*ref)(void *data));

/* Did the session end failed (stop: keep diagnostics)? */
int host_failed(struct sess *s);
/* The session's `error` JSON (empty when none). */
void host_error_json(struct sess *s, struct buf *out);

#endif
