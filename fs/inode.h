/*
 * inode.h - the inode table: every inode the kernel knows, with its lookup
 * count, found by number or by (parent, name).
 *
 *	in = fs_inode_child(parent, "status", sid, &row, NULL);  find or make; a reference
 *	fs_inode_remember(in);             the kernel got it in a reply: nlookup + 1
 *	...
 *	fs_inode_put(in);
 *	fs_inode_forget(ino, n);           FORGET: nlookup - n; gone at 0 (and no refs)
 *
 * Numbers are never reused (a 64-bit counter), so a stale inode can never
 * reach a newer object. An entry whose (parent, name) now means something
 * else (a session destroyed and made again) is unhashed: it stays findable
 * by number until the kernel forgets it, and then it is freed. The root is
 * pinned. Nothing here knows what a row does; see fs/node.c.
 *
 * Locking: one table lock guards the hashes, nlookup, refs and size_hint.
 * An inode's ino, sid and node are immutable. Its parent, name and arg
 * are too, except for the inodes of files/ (whose arg is a path, "/..."):
 * a rename there moves them (fs_inode_rename), so they are read with
 * fs_inode_arg under the lock, never directly.
 */
#ifndef DESKFS_INODE_H
#define DESKFS_INODE_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <stddef.h>
#include <stdint.h>

struct fs_node;

struct fs_inode {
	fuse_ino_t ino;             /* immutable */
	fuse_ino_t parent;          /* table lock (files/: a rename moves it) */
	uint64_t sid;               /* immutable: its session, 0 for the control plane */
	const struct fs_node *node; /* immutable: its row in fs/node.c */
	char *name;                 /* table lock (as parent) */
	char *arg;                  /* table lock: the row's argument (an artifact's name, a tag,
				     * a path in files/), or NULL; read it with fs_inode_arg */
	uint64_t nlookup;           /* table lock */
	int refs;                   /* table lock */
	int hashed;                 /* table lock: still found by (parent, name) */
	size_t size_hint;           /* table lock: the size of the last snapshot built */
	struct fs_inode *next_ino, *next_name; /* table lock: hash chains */
};

int fs_inode_init(const struct fs_node *root);
struct fs_inode *fs_inode_get(fuse_ino_t ino);
void fs_inode_put(struct fs_inode *in);
/* Find (parent, name) or make it; NULL on ENOMEM. A reference either way. */
struct fs_inode *fs_inode_child(struct fs_inode *parent, const char *name, uint64_t sid,
				const struct fs_node *node, const char *arg);
/* (parent, name) was removed: a new one of that name gets a new number. */
void fs_inode_unhash(fuse_ino_t parent, const char *name);
/* Only find (parent, name); NULL if unknown. */
struct fs_inode *fs_inode_find(fuse_ino_t parent, const char *name);
void fs_inode_remember(struct fs_inode *in);
void fs_inode_forget(fuse_ino_t ino, uint64_t n);
/* A copy of in's argument ("" if none); -ENAMETOOLONG if it does not fit. */
int fs_inode_arg(struct fs_inode *in, char *out, size_t len);
/*
 * A rename in files/ of session sid happened: the inode at (parent, name)
 * is now (newparent, newname) with path `to`, and every inode under path
 * `from` is under `to` (with exchange, and the other way round). Whatever
 * was at the new name is no longer found by it.
 */
void fs_inode_rename(fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		     const char *newname, uint64_t sid, const char *from, const char *to,
		     int exchange);
size_t fs_inode_size_hint(struct fs_inode *in);
void fs_inode_set_size_hint(struct fs_inode *in, size_t n);
/* How many inodes the table holds (tests, soak). */
size_t fs_inode_count(void);

#endif
