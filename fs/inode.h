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
 * An inode's identity (ino, parent, sid, node, name, arg) is immutable.
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
	fuse_ino_t parent;          /* immutable */
	uint64_t sid;               /* immutable: its session, 0 for the control plane */
	const struct fs_node *node; /* immutable: its row in fs/node.c */
	char *name;                 /* immutable */
	char *arg;                  /* immutable: the row's argument (an artifact's name), or NULL */
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
/* Only find (parent, name); NULL if unknown. */
struct fs_inode *fs_inode_find(fuse_ino_t parent, const char *name);
void fs_inode_remember(struct fs_inode *in);
void fs_inode_forget(fuse_ino_t ino, uint64_t n);
size_t fs_inode_size_hint(struct fs_inode *in);
void fs_inode_set_size_hint(struct fs_inode *in, size_t n);
/* How many inodes the table holds (tests, soak). */
size_t fs_inode_count(void);

#endif
