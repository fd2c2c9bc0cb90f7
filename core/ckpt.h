/*
 * ckpt.h - checkpoints of a session, restores, forks and saved templates
 * (issue 10; DESIGN.md "Templates, checkpoints and warm pools").
 *
 *	$ mkdir M/vm1/checkpoints/c1                ckpt_capture (returns when complete)
 *	$ cat M/vm1/checkpoints/c1/info.json        ckpt_info_path
 *	$ echo 'restore c1' > M/vm1/ctl             ckpt_restore (returns once ready)
 *	$ echo 'create vm2 from=vm1/c1' > M/.ctl    ckpt_gctl_create (a fork; returns once ready)
 *	$ echo 'template save t1 from=vm1/c1' > M/.ctl        ckpt_gctl_template
 *	$ echo 'create vm3 template=t1' > M/.ctl    a fork of the saved template
 *	$ rmdir M/vm1/checkpoints/c1                ckpt_delete
 *
 * On disk (the state directory's, 0700):
 *	STATEDIR/NAME/checkpoints/C/   state (QEMU's migration stream), ram (guest RAM,
 *	                               "mapped" only), token (0600: the agent's token at
 *	                               capture, needed once to re-key), info.json
 *	STATEDIR/.templates/T/         the same files, hard-linked, info.json kind
 *	                               "checkpoint" (core/tmpl.c lists and resolves them)
 * A checkpoint is made in .C.tmp and renamed: C exists only complete. A
 * session's checkpoints go with it (its directory) at rmdir; saved templates
 * stay until `template delete`. Both survive a daemon restart: they are files.
 *
 * Who: a session's checkpoints are its owner's (fs checks); forking NAME/C or
 * saving it takes NAME's owner or root; a saved template is its saver's (or
 * root's) to fork and delete.
 *
 * After a fork's or restore's start, ckpt_rekey (the lifecycle thread) POSTs
 * /v1/identity with the checkpoint's token: the agent takes the session's new
 * token, reseeds the guest's RNG and sets its clock. Only then is the agent
 * attached (runtime_ready).
 */
#ifndef DESKFS_CKPT_H
#define DESKFS_CKPT_H

#include <stddef.h>
#include <sys/types.h>

#include "common/derr.h"
#include "core/settings.h"
#include "core/util.h"

struct sess;

/* mkdir NAME/checkpoints/C: capture; -ENOTSUP (with words in error) where the provider
 * cannot, -EEXIST, -EAGAIN while not ready. Bounded; counts as a waiter. */
int ckpt_capture(struct sess *s, const char *c, struct derr *e);
int ckpt_delete(struct sess *s, const char *c, struct derr *e);
/* Is C a complete checkpoint of s? */
int ckpt_exists(struct sess *s, const char *c);
/* Its info.json, for reading; -ENOENT if none. */
int ckpt_info_path(struct sess *s, const char *c, char *out, size_t len);
/* The names of s's checkpoints, each NUL-terminated, into names. */
void ckpt_names(struct sess *s, struct buf *names);

/* ctl `restore C`: stop, start from C (same name, new token, new id), wait for ready. */
int ckpt_restore(struct sess *s, const char *c, struct derr *e);

/*
 * .ctl `create NEW ...`: when the line has from=NAME/C or template=T of a saved
 * template, the fork is made here (dry: validated only) and 1 is returned; 0 when
 * the line is no fork (the caller creates as usual); -errno with words in e.
 */
int ckpt_gctl_create(const char *name, char **kv, int nkv, uid_t uid, gid_t gid, int dry,
                     struct derr *e);
/* .ctl `template save T from=NAME/C` | `template delete T` (args after "template"). */
int ckpt_gctl_template(char **args, int nargs, uid_t uid, int dry, struct derr *e);

/* A saved template's directory and settings: 1 if T is one (and uid may use it), 0 if
 * there is no saved template T, -errno. For core/tmpl.c to call from tmpl_find. */
int ckpt_template_find(const char *t, uid_t uid, char *dir, size_t len, struct sess_conf *conf,
                       struct derr *e);

/* The lifecycle thread, after a start from host_origin: hand the agent its new identity. */
int ckpt_rekey(struct sess *s, struct derr *e);

#endif
