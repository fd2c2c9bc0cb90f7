/*
 * handle.h - an open file of fs/ (fi->fh names it in fh.c's table), shared
 * by files.c (snapshots, streams, logs, line writes) and files_remote.c
 * (raw writes, results, remote logs, files/).
 *
 *	h = fs_fh_obj(fs_fh_hold(fi->fh));   every operation holds a reference
 *
 * Two locks, never held while calling into core except as noted:
 *   lock   the parked request (req, req_size, req_off), the poller (ph), the
 *          result once known (have, data for K_RESULT), the asynchronous
 *          request in flight (async: sess_async_cancel may be called under
 *          it), the drop notice of a remote log (mark_*), and evq_take.
 *   wlock  the unfinished line of a line write (pending, discarding).
 */
#ifndef DESKFS_FS_HANDLE_H
#define DESKFS_FS_HANDLE_H

#include "fs/fs.h"

struct fs_handle {
	enum fs_kind kind;
	const struct fs_node *row; /* what this file is and does */
	struct fs_inode *in;       /* a reference */
	char *arg;                 /* the inode's argument at open (files/ asks the inode anew) */
	int nonblock;
	int flags;          /* open(2)'s flags */
	struct sess *s;     /* a reference; NULL on the control plane */
	struct buf data;    /* K_SNAPSHOT / K_DESKTOP / K_CTL reads; K_RESULT's result (lock) */
	struct blob *png;   /* screenshot.png: shared with other opens, not copied */
	int fd;             /* K_LOG and the read side of K_ACTIONS, else -1 */
	pthread_mutex_t wlock; /* protects pending and discarding: WRITE and FLUSH race */
	struct buf pending;    /* writes: the unfinished last line */
	int discarding;        /* writes: inside a line that was too long; skip to its end */
	uint64_t id;        /* its id in fh.c's table (fi->fh) */

	struct evq_sub *sub;          /* K_STREAM */
	pthread_mutex_t lock;         /* protects what follows */
	fuse_req_t req;               /* a parked read (or K_RAW write) */
	size_t req_size;
	off_t req_off;
	struct fuse_pollhandle *ph;   /* a poller to notify */
	struct sess_async *async;     /* K_RESULT, K_RAW: in flight (a reference) */
	int have;                     /* K_RESULT: data holds the result */
	unsigned answers;             /* K_RESULT: how many answers came (see result_ask_locked) */
	long long mark_at, mark_len, delta; /* K_RLOG: where the drop notice is, and after it */
	char mark[160];
	struct fs_ra {                /* K_FILE read-only: MiB blocks read ahead (lock) */
		struct buf data;
		long long off; /* the block's offset, -1 when empty */
		int fetching;  /* a thread is asking the agent for it */
		unsigned used; /* for reuse: the least recently used goes */
	} ra[2];
	unsigned ra_clock;            /* lock */
	pthread_cond_t ra_cond;       /* a fetch ended (with lock) */
};

/* files_remote.c: the kinds whose bytes live with an agent. */
int fs_remote_open(struct fs_handle *h, fuse_req_t req, struct fuse_file_info *fi);
void fs_remote_read(fuse_req_t req, struct fs_handle *h, size_t size, off_t off);
void fs_remote_write(fuse_req_t req, struct fs_handle *h, const char *buf, size_t size,
		     off_t off);
/* poll on a result: readable once it is known */
unsigned fs_remote_poll(struct fs_handle *h, struct fuse_pollhandle *ph);
/* release: what is parked or in flight ends */
void fs_remote_release(struct fs_handle *h);
/* the handle goes: what it read ahead too */
void fs_remote_free(struct fs_handle *h);

/* files.c: the interrupt of any request parked in h->req (arg: the handle's id). */
void fs_parked_interrupt(fuse_req_t req, void *arg);

#endif
