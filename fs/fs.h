/*
 * fs.h - the FUSE low-level layer: the tree, handles, blocking reads and
 * errno mapping. The only code that includes fuse_lowlevel.h. It knows
 * sessions through core/sess*.h and nothing of X11 or QEMU.
 *
 * The tree is rows (struct fs_node, fs/node.c): each row is one kind of
 * file and carries its handlers (how to build its bytes, its size, its
 * stream, its log, what a written line does). Directories are rows with a
 * directory provider (struct fs_dir): lookup and list of their children.
 * Today's providers: the root, a session, artifacts/. procs/, files/ and
 * checkpoints/ plug in the same way: a row in the session's table and an
 * fs_dir of their own. Every inode the kernel sees lives in the inode
 * table (fs/inode.c) with its lookup count; files.c serves the open files.
 *
 * State kept by fs, and only fs: the inode table (sizes of the last
 * snapshot built included) and the handle table (fs/fh.c).
 */
#ifndef DESKFS_FS_H
#define DESKFS_FS_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <stdint.h>
#include <sys/stat.h>

#include "common/derr.h"
#include "core/sess.h"
#include "fs/inode.h"

enum fs_kind {
	K_DIR,
	K_SNAPSHOT, /* built at open, served from the handle */
	K_DESKTOP,  /* a snapshot that needs the desktop (waits, never on O_NONBLOCK) */
	K_STREAM,   /* blocking reads, poll */
	K_LOG,      /* a growing file on disk */
	K_CTL,      /* line writes; reads give help text */
	K_ACTIONS,  /* line writes; reads are the receipts log */
};

/* What a directory provider adds its children to (fs_dirlist_add). */
struct fs_dirlist {
	struct fs_inode *dir;
	fuse_req_t req;
	void (*add)(void *ctx, const char *name, mode_t mode);
	void *ctx;
};

/* A directory's children. s is NULL on the control plane (the root). */
struct fs_dir {
	/* name -> its row (and the row's argument, e.g. an artifact's file name);
	 * *sid starts as the directory's session and may name another (root) */
	int (*lookup)(struct sess *s, const char *name, const struct fs_node **node, char *arg,
		      size_t arglen, uint64_t *sid);
	/* every child, by fs_dirlist_add */
	void (*list)(struct sess *s, fuse_req_t req, struct fs_dirlist *l);
};

/* One kind of file or directory, and what it does. Unused handlers are NULL. */
struct fs_node {
	const char *name; /* its name in a fixed table; NULL for rows made per name */
	enum fs_kind kind;
	mode_t mode;
	/* K_SNAPSHOT, K_CTL's read side: the bytes (also their size for getattr) */
	void (*text)(struct sess *s, struct buf *out);
	/* K_DESKTOP: capture (waits for ready, interruptible through req) */
	int (*desktop)(struct sess *s, struct buf *data, struct blob **png, fuse_req_t req);
	/* K_STREAM */
	struct evq_hub *(*hub)(struct sess *s);
	/* K_LOG, K_ACTIONS' read side: the file, arg being the inode's argument */
	int (*log)(struct sess *s, const char *arg, char *path, size_t len);
	/* K_CTL, K_ACTIONS: run complete lines; -errno, words in error/.events */
	int (*lines)(struct sess *s, fuse_req_t req, const char *text, size_t len);
	/* K_DIR */
	const struct fs_dir *dir;
};

extern const struct fs_node fs_root_node;
extern const struct fs_node fs_session_node;

void fs_dirlist_add(struct fs_dirlist *l, const char *name, mode_t mode);
/* Fill st for an inode. Never captures or calls an agent. */
int fs_stat(struct fs_inode *in, struct stat *st);
/* The session an inode belongs to (a reference), or NULL on the control plane;
 * -ENOENT (in *r) when that session is gone. */
struct sess *fs_sess_of(struct fs_inode *in, int *r);

extern const struct fuse_lowlevel_ops fs_ops;
/* 1 when mounted with allow_other: sessions are per-user. Set before the loop. */
extern int fs_shared;
/* The caller's uid may use session s (owner or root). */
int fs_may(fuse_req_t req, const struct sess *s);
/* An error with no session to hold it (mkdir, .ctl): a record on .events for uid. */
void fs_global_error(const char *op, const char *name, const struct derr *e, uid_t uid);

/* shutdown.c: signals end sessions first, then the loop */
int fs_shutdown_arm(struct fuse_session *se);
void fs_shutdown_join(void);

/* files.c: open/read/write/flush/release/poll */
void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi);
void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
	      struct fuse_file_info *fi);
void fs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct fuse_pollhandle *ph);

#endif
