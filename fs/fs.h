/*
 * fs.h - the FUSE low-level layer: the tree, handles, blocking reads and
 * errno mapping. The only code that includes fuse_lowlevel.h. It knows
 * sessions through core/sess*.h and nothing of X11 or QEMU.
 *
 * The tree is rows (struct fs_node, fs/node.c): each row is one kind of
 * file and carries its handlers (how to build its bytes, its size, its
 * stream, its log, what a written line does). Directories are rows with a
 * directory provider (struct fs_dir): lookup and list of their children,
 * and, where the directory allows them, mkdir, rmdir, unlink, rename,
 * create, symlink and link (a provider without one answers EPERM). The
 * providers: the root and a session (node.c), artifacts/ and .templates/ (node.c),
 * procs/ and procs/TAG/ (node_procs.c), files/ (node_files.c), checkpoints/ and
 * checkpoints/C/ (node_ckpt.c). Each inode carries an argument its rows use: an
 * artifact's name, a program's tag, a path in files/. Every inode the
 * kernel sees lives in the inode table (fs/inode.c) with its lookup count;
 * files.c and files_remote.c serve the open files.
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
	K_RAW,      /* raw writes (procs/TAG/stdin): bytes in order, parked while they wait */
	K_RESULT,   /* a read parks until the result exists, then a snapshot (procs/TAG/exit) */
	K_RLOG,     /* a log that lives elsewhere (procs/TAG/stdout): reads at offsets, its size */
	K_FILE,     /* a file of files/: reads and writes at offsets, real attributes */
	K_LINK,     /* a symbolic link of files/ */
};

#define FS_ARG_MAX 4096 /* an inode's argument: a path in files/ at most */

/* What a lookup (or a mkdir, create, symlink, link) found. */
struct fs_entry {
	const struct fs_node *node;
	char arg[FS_ARG_MAX]; /* the row's argument, "" for none */
	uint64_t sid;         /* starts as the directory's session; the root names another */
	struct stat st;       /* its attributes when the provider has them (st_mode != 0) */
};

/* What a directory provider adds its children to (fs_dirlist_add). */
struct fs_dirlist {
	struct fs_inode *dir;
	fuse_req_t req;
	void (*add)(void *ctx, const char *name, mode_t mode);
	void *ctx;
};

/*
 * A directory's children. s is NULL on the control plane (the root); darg is
 * the directory's own argument ("" for none). Handlers after list are
 * optional: without one the operation is refused with EPERM. They return
 * 0 or -errno, and say what failed in the session's error where that helps.
 */
struct fs_dir {
	/* name -> its row, argument and attributes, in *out */
	int (*lookup)(struct sess *s, const char *darg, const char *name, struct fs_entry *out,
		      fuse_req_t req);
	/* every child, by fs_dirlist_add */
	void (*list)(struct sess *s, const char *darg, fuse_req_t req, struct fs_dirlist *l);
	int (*mkdir)(struct sess *s, const char *darg, const char *name, mode_t mode,
		     struct fs_entry *out, fuse_req_t req);
	int (*rmdir)(struct sess *s, const char *darg, const char *name, fuse_req_t req);
	int (*unlink)(struct sess *s, const char *darg, const char *name, fuse_req_t req);
	/* within directories of this provider and session; flags: RENAME_NOREPLACE, _EXCHANGE */
	int (*rename)(struct sess *s, const char *darg, const char *name, const char *newdarg,
		      const char *newname, unsigned flags, fuse_req_t req);
	int (*create)(struct sess *s, const char *darg, const char *name, mode_t mode,
		      struct fs_entry *out, fuse_req_t req);
	int (*symlink)(struct sess *s, const char *darg, const char *name, const char *target,
		       struct fs_entry *out, fuse_req_t req);
	/* a new name for the file whose argument is arg */
	int (*link)(struct sess *s, const char *arg, const char *darg, const char *name,
		    struct fs_entry *out, fuse_req_t req);
	/* the argument of child name, for a rename's bookkeeping (fs_inode_rename) */
	int (*child_arg)(const char *darg, const char *name, char *out, size_t len);
};

struct sess_async;
struct sess_output;
typedef void (*fs_async_fn)(void *arg, int r, struct buf *data);

/* One kind of file or directory, and what it does. Unused handlers are NULL;
 * arg is always the inode's argument. */
struct fs_node {
	const char *name; /* its name in a fixed table; NULL for rows made per name */
	enum fs_kind kind;
	mode_t mode;
	/* K_SNAPSHOT, K_CTL's read side: the bytes (also their size for getattr) */
	void (*text)(struct sess *s, struct buf *out);
	/* K_SNAPSHOT rows made per name (.templates/T.json): the bytes, by the argument */
	void (*text_arg)(struct sess *s, const char *arg, struct buf *out);
	/* K_DESKTOP: capture (waits for ready, interruptible through req) */
	int (*desktop)(struct sess *s, const char *arg, struct buf *data, struct blob **png,
		       fuse_req_t req);
	/* K_STREAM */
	struct evq_hub *(*hub)(struct sess *s);
	/* K_LOG, K_ACTIONS' read side: the file */
	int (*log)(struct sess *s, const char *arg, char *path, size_t len);
	/* K_CTL, K_ACTIONS: run complete lines; -errno, words in error/.events */
	int (*lines)(struct sess *s, const char *arg, fuse_req_t req, const char *text, size_t len);
	/* K_DIR */
	const struct fs_dir *dir;
	/* K_RLOG: a read at off (info: the log's size, what was dropped), its size (no waiting) */
	int (*output)(struct sess *s, const char *arg, long long off, size_t len, struct buf *out,
		      struct sess_output *info, fuse_req_t req);
	int (*size)(struct sess *s, const char *arg, long long *size);
	/* K_RESULT: park until the result exists (fn: 0 and the bytes, -EAGAIN to ask again) */
	struct sess_async *(*result)(struct sess *s, const char *arg, long wait_ms, fs_async_fn fn,
				     void *fnarg, int *r);
	/* K_RAW: bytes to where they go, parked (fn: the count taken, or -errno) */
	struct sess_async *(*raw)(struct sess *s, const char *arg, const void *data, size_t len,
				  fs_async_fn fn, void *fnarg, int *r);
	/* files/: attributes from where the file lives, and changes to them */
	int (*getattr)(struct sess *s, const char *arg, struct stat *st, fuse_req_t req);
	int (*setattr)(struct sess *s, const char *arg, const struct stat *attr, int to_set,
		       fuse_req_t req);
	int (*readlink)(struct sess *s, const char *arg, struct buf *out, fuse_req_t req);
	/* K_FILE: data at offsets */
	int (*pread)(struct sess *s, const char *arg, long long off, size_t len, struct buf *out,
		     fuse_req_t req);
	int (*pwrite)(struct sess *s, const char *arg, long long off, const char *data,
		      size_t len, size_t *done, fuse_req_t req);
	/* how long the kernel may keep its attributes and name (seconds; files/: 1) */
	double cache;
};

extern const struct fs_node fs_root_node;
extern const struct fs_node fs_session_node;
extern const struct fs_dir fs_procs_dir;       /* node_procs.c: procs/ */
extern const struct fs_dir fs_ckpt_dir;        /* node_ckpt.c: checkpoints/ */
extern const struct fs_node fs_files_dir_node; /* node_files.c: files/ and its directories */

void fs_dirlist_add(struct fs_dirlist *l, const char *name, mode_t mode);
/* Fill st for an inode. Never captures; calls an agent only for procs/ and
 * files/ (their sizes and attributes live there), never waiting on one that
 * is not ready (files/: one that is starting). */
int fs_stat(struct fs_inode *in, struct stat *st, fuse_req_t req);
/* fuse_req_interrupted as core's sess_intr_fn */
int fs_req_intr(void *req);
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
void fs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);
/* create: the new file's inode in, opened as fs_open would, replied with its entry e */
void fs_open_created(fuse_req_t req, struct fs_inode *in, const struct fuse_entry_param *e,
		     struct fuse_file_info *fi);

#endif
