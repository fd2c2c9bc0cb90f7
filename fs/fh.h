/*
 * fh.h - FUSE file handles that survive a racing release.
 *
 * When a process is killed in the middle of a read, the kernel stops
 * waiting and closes the file: RELEASE can then arrive, on another FUSE
 * thread, while that READ is still being served. So fi->fh is never a raw
 * pointer: it is an id into this table, and every operation holds a
 * reference for as long as it runs.
 *
 *	fi->fh = fs_fh_add(h, handle_free);       open: the table holds one reference
 *	struct fs_fh *r = fs_fh_hold(fi->fh);     any op: NULL once released (EBADF)
 *	... use fs_fh_obj(r) ...
 *	fs_fh_drop(r);
 *	fs_fh_close(fi->fh);                      release: the object is freed with its
 *	                                          last reference, wherever that is
 */
#ifndef DESKFS_FH_H
#define DESKFS_FH_H

#include <stdint.h>

struct fs_fh;

/* 0 on ENOMEM. */
uint64_t fs_fh_add(void *obj, void (*free_fn)(void *));
struct fs_fh *fs_fh_hold(uint64_t id);
void *fs_fh_obj(struct fs_fh *r);
void fs_fh_drop(struct fs_fh *r);
void fs_fh_close(uint64_t id);

#endif
