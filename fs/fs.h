/*
 * fs.h - the FUSE low-level layer: the tree, handles, blocking reads and
 * errno mapping. The only code that includes fuse_lowlevel.h. It knows
 * sessions through core/sess*.h and nothing of X11 or QEMU.
 *
 * Inode numbers are computed, never allocated: 1 is the root, 2..4 the
 * control files, and a session's nodes are (sid << 16) | node, with sids
 * never reused, so a stale inode can never reach a newer session. Nothing
 * is allocated per inode, so forget needs no bookkeeping.
 */
#ifndef DESKFS_FS_H
#define DESKFS_FS_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <stdint.h>
#include <sys/stat.h>

#include "core/sess.h"

enum fs_node {
	/* control plane, sid 0 */
	N_ROOT = 1,
	N_GCTL = 2,
	N_PROVIDERS = 3,
	N_GEVENTS = 4,
	/* inside a session */
	N_SDIR = 1,
	N_STATUS,
	N_RECORD,
	N_SCREENSHOT,
	N_ACTIONS,
	N_OBSERVATION,
	N_EVENTS,
	N_ERROR,
	N_SCTL,
	N_ARTDIR,
	N_XAUTH,
	N_ART_BASE = 256, /* + slot in s->artifacts */
};

enum fs_kind {
	K_DIR,
	K_SNAPSHOT, /* built at open, served from the handle */
	K_DESKTOP,  /* a snapshot that needs the desktop (waits, never on O_NONBLOCK) */
	K_STREAM,   /* blocking reads, poll */
	K_LOG,      /* a growing file on disk */
	K_CTL,      /* line writes; reads give help text */
	K_ACTIONS,  /* line writes; reads are the receipts log */
};

struct fs_file {
	const char *name;
	int node;
	enum fs_kind kind;
	mode_t mode;
};

#define FS_INO(sid, node) (((fuse_ino_t)(sid) << 16) | (fuse_ino_t)(node))
#define FS_SID(ino) ((uint64_t)(ino) >> 16)
#define FS_NODE(ino) ((int)((ino) & 0xffff))

extern const struct fs_file fs_session_files[]; /* NULL-name terminated */
extern const struct fs_file fs_control_files[];

const struct fs_file *fs_file_by_node(const struct fs_file *table, int node);
const struct fs_file *fs_file_by_name(const struct fs_file *table, const char *name);
/* Fill st for ino. Returns 0 or -ENOENT. Never captures or calls an agent. */
int fs_stat(fuse_ino_t ino, struct stat *st);
/* Artifacts: name <-> slot (slots are stable for the session's life). */
int fs_artifact_slot(struct sess *s, const char *name);
int fs_artifact_name(struct sess *s, int slot, char *out, size_t len);

extern const struct fuse_lowlevel_ops fs_ops;
/* 1 when mounted with allow_other: sessions are per-user. Set before the loop. */
extern int fs_shared;
/* The caller's uid may use session s (owner or root). */
int fs_may(fuse_req_t req, const struct sess *s);
/* An error with no session to hold it (mkdir, .ctl): a record on .events for uid. */
void fs_global_error(const char *op, const char *name, const struct derr *e, uid_t uid);

/* files.c: open/read/write/flush/release/poll */
void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi);
void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
	      struct fuse_file_info *fi);
void fs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct fuse_pollhandle *ph);

#endif
