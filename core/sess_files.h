/*
 * sess_files.h - the session's files (files/), as a port method over the
 * agent's /v1/files routes: a local session's home, a VM's whole tree.
 * Paths are absolute within that tree ("/" is its root). No FUSE here.
 *
 *	struct stat st;
 *	r = sess_files_stat(s, "/notes.txt", &st, intr, req);    -ENOENT, -EACCES, ... as they are
 *	r = sess_files_read(s, "/notes.txt", 0, 65536, &out, intr, req);
 *	struct sess_file_op op = {.op = "rename", .path = "/a", .to = "/b"};
 *	r = sess_files_op(s, &op, &st, intr, req);
 *
 * Errnos are the agent's (X-Deskfs-Errno): what the files' own system said.
 * They are not recorded in `error` (an ENOENT is an answer, not a failure);
 * a transport failure (timeout, agent gone) is. In a guest's tree (VM,
 * remote) every file appears as the session owner's: the agent serves it
 * as the guest's root, and on this side only the owner may enter anyway.
 * Its absolute symbolic links are shown relative to the tree (as sshfs's
 * transform_symlinks does), so following one stays inside files/.
 */
#ifndef DESKFS_SESS_FILES_H
#define DESKFS_SESS_FILES_H

#include <sys/stat.h>
#include <sys/types.h>

#include "core/sess.h"

#define SESS_FILES_IO_MAX (4u << 20) /* the most one read or write moves */

int sess_files_stat(struct sess *s, const char *path, struct stat *st, sess_intr_fn intr,
		    void *arg);
typedef void (*sess_files_each_fn)(void *ctx, const char *name, const struct stat *st);
int sess_files_list(struct sess *s, const char *path, sess_files_each_fn each, void *ctx,
		    sess_intr_fn intr, void *arg);
int sess_files_read(struct sess *s, const char *path, long long off, size_t len,
		    struct buf *out, sess_intr_fn intr, void *arg);
/* *written: what the agent took (all of it, unless ENOSPC or the like). */
int sess_files_write(struct sess *s, const char *path, long long off, const void *data,
		     size_t len, size_t *written, sess_intr_fn intr, void *arg);
int sess_files_readlink(struct sess *s, const char *path, struct buf *out, sess_intr_fn intr,
			void *arg);

/* One change: create mkdir rmdir unlink rename chmod truncate utimens symlink link. */
struct sess_file_op {
	const char *op;
	const char *path;
	const char *to;     /* rename, link */
	const char *target; /* symlink */
	mode_t mode;        /* create, mkdir, chmod */
	long long size;     /* truncate */
	long long atime_ns, mtime_ns; /* utimens: -1 now, -2 leave */
	unsigned flags;     /* rename: 1 no replace, 2 exchange */
};
/* st (may be NULL): the result's attributes (of `to` for rename and link). */
int sess_files_op(struct sess *s, const struct sess_file_op *op, struct stat *st,
		  sess_intr_fn intr, void *arg);

#endif
