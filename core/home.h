/*
 * home.h - the homes of local sessions (xvfb, display): a real directory
 * owned by the session's owner, which is also its files/ and its programs'
 * HOME and working directory.
 *
 *	home_init("/run/deskfs/1a2b3c4d", err, sizeof err);   once: the base
 *	home_make("s1", 1000, 1000, path, sizeof path, &e);   mkdir: a fresh, empty home
 *	home_path("s1", path, sizeof path);                   restore: where it is
 *	home_remove("s1", &e);                                 rmdir: gone, links never followed
 *	home_fini();                                           exit: the base, if empty
 *
 * The state directory is 0700 and the daemon's, so homes live apart in a
 * base the daemon makes and checks as it does its state directory (no
 * symbolic link, its own, writable by nobody else): for a root daemon
 * /run/deskfs-homes/<hash of the state directory> (0711, so an owner can
 * reach their own home and list nothing else), for any other daemon
 * STATEDIR.homes (0700: its sessions are all its user's). A home is made
 * by the daemon inside that base (mkdir, then chown to the owner, 0700):
 * nobody else can plant anything there. It is removed by a child running
 * as the home's owner (its contents, with openat/unlinkat and O_NOFOLLOW
 * directory descriptors: never following a link, never with more rights
 * than the owner has), then its now empty directory by the daemon.
 */
#ifndef DESKFS_HOME_H
#define DESKFS_HOME_H

#include <stddef.h>
#include <sys/types.h>

#include "common/derr.h"

/* 0, or -errno with words in err (the base could not be made or is not ours). */
int home_init(const char *statedir, char *err, size_t errlen);
void home_fini(void);
/* Is there a base (home_init succeeded)? */
int home_ready(void);
/* Where session `name`'s home is (whether or not it exists). */
int home_path(const char *name, char *out, size_t len);
/* A fresh home: a leftover of the same name is removed first. */
int home_make(const char *name, uid_t uid, gid_t gid, char *out, size_t len, struct derr *e);
/* It exists, is a real directory and belongs to uid (restore). */
int home_check(const char *name, uid_t uid);
/* Remove it (absent: 0). */
int home_remove(const char *name, struct derr *e);

#endif
