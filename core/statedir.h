/*
 * statedir.h - the daemon's own state directory: safe to create, checked,
 * locked (one daemon each); session directories carry a marker so that
 * nothing the daemon did not make is ever adopted or removed. See statedir.c.
 */
#ifndef DESKFS_STATEDIR_H
#define DESKFS_STATEDIR_H

#include <stddef.h>

/* Make or check path, lock it; returns the lock's fd (keep it open) or -errno
 * with err saying why in words. */
int statedir_open(const char *path, char *err, size_t errlen);
/* Record the holder's pid in the lock file (after fuse_daemonize). */
void statedir_note_pid(int lockfd);
/* A session directory: mark it ours / is it ours? */
int statedir_mark(const char *sessdir);
int statedir_is_marked(const char *sessdir);

#endif
