/*
 * files_remote.c - open files whose bytes live with an agent (DESIGN.md:
 * "Raw writes", "Results", logs of programs, "The guest's tree").
 *
 *   K_RESULT (procs/TAG/exit)  a read parks its request in the handle and
 *            asks the port (sess_async); the answer, an interrupt or the
 *            release takes it from there under h->lock, as streams do in
 *            files.c. No FUSE thread waits. Once known, the result is a
 *            snapshot of this open. O_NONBLOCK: EAGAIN while it runs.
 *   K_RAW    (procs/TAG/stdin)  a write parks the same way until the agent
 *            has put the bytes in the program's input (or it ended: EPIPE).
 *   K_RLOG   (procs/TAG/stdout) reads at offsets, a bounded agent call each.
 *            The agent keeps the last 8 MiB; a reader who fell behind gets,
 *            where the gap is, one line saying how many bytes were dropped,
 *            and the rest of this open's offsets follow it.
 *   K_FILE   (files/...) reads and writes at offsets, through the page cache
 *            (mmap works), dropped at every open (keep_cache 0) and whenever
 *            the file's size or time changes (auto_inval_data). The kernel
 *            reads ahead 256 KiB at a time; an open for reading asks the
 *            agent for whole MiB blocks, two at a time, and serves the reads
 *            from them (a VM's network pays per request), within
 *            FILES_RA_TOTAL for all opens together.
 *
 * Interrupts know the handle by id (see files.c's fs_parked_interrupt): a
 * release may be freeing it at that moment.
 */
#include "fs/fs.h"
#include "core/sess_procs.h"
#include "fs/fh.h"
#include "fs/handle.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESULT_WAIT_MS 25000 /* each long poll for an exit; asked again until it comes */
#define FILES_RA (1u << 20)         /* read ahead per open for reading */
#define FILES_RA_TOTAL (64u << 20)  /* ... for all of them together */

static size_t ra_held; /* atomic: bytes read ahead, all opens */

/* ---- results ---- */

/* Caller holds h->lock and h->have: the result from off. */
static void result_reply_locked(struct fs_handle *h, fuse_req_t req, size_t size, off_t off)
{
	if (off < 0 || (size_t)off >= h->data.len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	size_t n = h->data.len - (size_t)off;
	fuse_reply_buf(req, h->data.data + off, n < size ? n : size);
}

/* The port's answer, on the agent client's loop thread. */
static void result_done(void *arg, int r, struct buf *data)
{
	struct fs_fh *ref = fs_fh_hold((uint64_t)(uintptr_t)arg);
	if (!ref)
		return; /* released: its parked read was answered then */
	struct fs_handle *h = fs_fh_obj(ref);
	pthread_mutex_lock(&h->lock);
	struct sess_async *a = h->async;
	h->async = NULL;
	h->answers++;
	if (r == 0 && !h->have) {
		buf_reset(&h->data);
		if (buf_append(&h->data, data->data, data->len) == 0) {
			h->have = 1;
			fs_inode_set_size_hint(h->in, h->data.len);
		} else {
			r = -ENOMEM;
		}
	}
	if (h->req) {
		fuse_req_t req = h->req;
		h->req = NULL;
		if (h->have)
			result_reply_locked(h, req, h->req_size, h->req_off);
		else
			fuse_reply_err(req, -r);
	}
	if (h->ph && (h->have || r < 0)) {
		fuse_lowlevel_notify_poll(h->ph);
		fuse_pollhandle_destroy(h->ph);
		h->ph = NULL;
	}
	pthread_mutex_unlock(&h->lock);
	sess_async_put(a);
	fs_fh_drop(ref);
}

/* Ask for the result unless a request is already out; caller holds h->lock. */
static int result_ask_locked(struct fs_handle *h)
{
	int r = 0;
	if (h->async)
		return 0;
	/* submitting may wait (bounded) for a starting session: not under the lock */
	unsigned answers = h->answers;
	pthread_mutex_unlock(&h->lock);
	struct sess_async *a = h->row->result(h->s, h->arg, h->nonblock ? 0 : RESULT_WAIT_MS,
					       result_done, (void *)(uintptr_t)h->id, &r);
	pthread_mutex_lock(&h->lock);
	if (a && h->async) { /* another asked meanwhile: one is enough */
		sess_async_cancel(a);
		sess_async_put(a);
	} else if (a && h->answers != answers) { /* answered already: nothing to cancel later */
		sess_async_put(a);
	} else if (a) {
		h->async = a;
	}
	return a ? 0 : r;
}


static void result_read(fuse_req_t req, struct fs_handle *h, size_t size, off_t off)
{
	fuse_req_interrupt_func(req, fs_parked_interrupt, (void *)(uintptr_t)h->id);
	pthread_mutex_lock(&h->lock);
	if (h->have) {
		result_reply_locked(h, req, size, off);
	} else if (h->req) { /* one parked read per open */
		fuse_reply_err(req, EBUSY);
	} else if (fuse_req_interrupted(req)) {
		fuse_reply_err(req, EINTR);
	} else {
		h->req = req;
		h->req_size = size;
		h->req_off = off;
		int r = result_ask_locked(h);
		if (r < 0 && h->req == req) {
			h->req = NULL;
			fuse_reply_err(req, -r);
		}
	}
	pthread_mutex_unlock(&h->lock);
}

unsigned fs_remote_poll(struct fs_handle *h, struct fuse_pollhandle *ph)
{
	unsigned ev = 0;
	pthread_mutex_lock(&h->lock);
	if (h->have) {
		ev = POLLIN | POLLRDNORM;
		if (ph)
			fuse_pollhandle_destroy(ph);
	} else if (ph) {
		if (h->ph)
			fuse_pollhandle_destroy(h->ph);
		h->ph = ph;
		if (!h->nonblock && result_ask_locked(h) < 0)
			ev = POLLERR;
	}
	pthread_mutex_unlock(&h->lock);
	return ev;
}

/* ---- raw writes ---- */

static void raw_done(void *arg, int r, struct buf *data)
{
	struct fs_fh *ref = fs_fh_hold((uint64_t)(uintptr_t)arg);
	if (!ref)
		return;
	struct fs_handle *h = fs_fh_obj(ref);
	pthread_mutex_lock(&h->lock);
	struct sess_async *a = h->async;
	h->async = NULL;
	if (h->req) {
		fuse_req_t req = h->req;
		h->req = NULL;
		if (r >= 0)
			fuse_reply_write(req, (size_t)r);
		else
			fuse_reply_err(req, -r);
	}
	pthread_mutex_unlock(&h->lock);
	sess_async_put(a);
	fs_fh_drop(ref);
}

static void raw_write(fuse_req_t req, struct fs_handle *h, const char *buf, size_t size)
{
	int r = 0;
	fuse_req_interrupt_func(req, fs_parked_interrupt, (void *)(uintptr_t)h->id);
	pthread_mutex_lock(&h->lock);
	if (h->req || h->async) { /* one write in flight per open keeps the bytes in order */
		pthread_mutex_unlock(&h->lock);
		fuse_reply_err(req, EBUSY);
		return;
	}
	h->req = req;
	pthread_mutex_unlock(&h->lock);
	/* the bytes are copied: buf is the kernel's only while this call runs */
	struct sess_async *a =
	    h->row->raw(h->s, h->arg, buf, size, raw_done, (void *)(uintptr_t)h->id, &r);
	pthread_mutex_lock(&h->lock);
	if (!a) {
		if (h->req == req) {
			h->req = NULL;
			fuse_reply_err(req, -r);
		}
	} else if (h->req == req) { /* still parked: ours to cancel from now on */
		h->async = a;
	} else { /* answered (raw_done ran) or interrupted meanwhile */
		sess_async_cancel(a);
		sess_async_put(a);
	}
	pthread_mutex_unlock(&h->lock);
}

/* ---- remote logs ---- */

static void rlog_read(fuse_req_t req, struct fs_handle *h, size_t size, off_t off)
{
	struct buf out = BUF_INIT, reply = BUF_INIT;
	struct sess_output info = {0};
	pthread_mutex_lock(&h->lock);
	long long at = h->mark_at, len = h->mark_len, delta = h->delta;
	if (len && off >= at && off < at + len) { /* inside the notice: its bytes */
		size_t n = (size_t)(at + len - off);
		buf_append(&reply, h->mark + (off - at), n < size ? n : size);
		pthread_mutex_unlock(&h->lock);
		fuse_reply_buf(req, reply.data, reply.len);
		buf_free(&reply);
		return;
	}
	pthread_mutex_unlock(&h->lock);
	long long from = len && off >= at + len ? off + delta : off;
	int r = h->row->output(h->s, h->arg, from, size, &out, &info, req);
	if (r == 0 && info.dropped > 0 && info.start > from) {
		/* fell behind: say so here, and the agent's bytes follow the notice */
		char mark[sizeof h->mark];
		int n = snprintf(mark, sizeof mark,
				 "\n[deskfs: %lld bytes of output were dropped here: the program "
				 "wrote more than the agent keeps before they were read]\n",
				 info.start - from);
		pthread_mutex_lock(&h->lock);
		memcpy(h->mark, mark, (size_t)n);
		h->mark_at = off;
		h->mark_len = n;
		h->delta = info.start - (off + n);
		pthread_mutex_unlock(&h->lock);
		buf_append(&reply, mark, (size_t)n < size ? (size_t)n : size);
		if (reply.len < size)
			buf_append(&reply, out.data, out.len < size - reply.len ? out.len
								  : size - reply.len);
	} else if (r == 0) {
		reply = out;
		out = (struct buf)BUF_INIT;
	}
	if (r == 0 && info.size >= 0)
		fs_inode_set_size_hint(h->in, (size_t)info.size);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_buf(req, reply.data, reply.len);
	buf_free(&out);
	buf_free(&reply);
}

/* ---- files/ ---- */

static void ra_drop_locked(struct fs_handle *h)
{
	for (int i = 0; i < 2; i++) {
		__atomic_sub_fetch(&ra_held, h->ra[i].data.cap, __ATOMIC_ACQ_REL);
		buf_free(&h->ra[i].data);
		h->ra[i].off = -1;
	}
}

/*
 * A read of [off, off+size) from the blocks read ahead: 1 served, 0 not
 * (the caller asks the agent for exactly that). The kernel reads ahead in
 * pieces of 256 KiB, two at once, out of order: each piece's MiB-aligned
 * block is asked for once; a piece of a block being asked for waits for it
 * (bounded by that request's own bound), and the next block goes in
 * parallel. Caller holds h->lock.
 */
static int ra_read_locked(struct fs_handle *h, fuse_req_t req, const char *path, size_t size,
			  off_t off)
{
	long long blk = off & ~(long long)(FILES_RA - 1);
	if (off + (long long)size > blk + FILES_RA)
		return 0; /* across two blocks: rare, read it plainly */
	for (;;) {
		struct fs_ra *hit = NULL, *victim = NULL;
		for (int i = 0; i < 2; i++) {
			struct fs_ra *b = &h->ra[i];
			if (b->off == blk)
				hit = b;
			else if (!b->fetching && (!victim || b->used < victim->used))
				victim = b;
		}
		if (hit && hit->fetching) {
			pthread_cond_wait(&h->ra_cond, &h->lock);
			continue;
		}
		if (hit) {
			hit->used = ++h->ra_clock;
			long long end = blk + (long long)hit->data.len;
			size_t n = off < end ? (size_t)(end - off) : 0;
			fuse_reply_buf(req, n ? hit->data.data + (off - blk) : NULL, n < size ? n : size);
			return 1;
		}
		if (!victim ||
		    __atomic_load_n(&ra_held, __ATOMIC_ACQUIRE) + FILES_RA > FILES_RA_TOTAL)
			return 0;
		/* ask for the block, without the lock; others wait for it or go on */
		__atomic_sub_fetch(&ra_held, victim->data.cap, __ATOMIC_ACQ_REL);
		buf_free(&victim->data);
		victim->off = blk;
		victim->fetching = 1;
		pthread_mutex_unlock(&h->lock);
		struct buf out = BUF_INIT;
		int r = h->row->pread(h->s, path, blk, FILES_RA, &out, req);
		pthread_mutex_lock(&h->lock);
		victim->fetching = 0;
		pthread_cond_broadcast(&h->ra_cond);
		if (r < 0) {
			victim->off = -1;
			buf_free(&out);
			fuse_reply_err(req, -r);
			return 1;
		}
		victim->data = out;
		__atomic_add_fetch(&ra_held, out.cap, __ATOMIC_ACQ_REL);
	}
}

static void file_read(fuse_req_t req, struct fs_handle *h, size_t size, off_t off)
{
	char *path = malloc(FS_ARG_MAX);
	struct buf out = BUF_INIT;
	int r = path ? fs_inode_arg(h->in, path, FS_ARG_MAX) : -ENOMEM; /* renamed: followed */
	if (r == 0 && (h->flags & O_ACCMODE) == O_RDONLY && size < FILES_RA) {
		pthread_mutex_lock(&h->lock);
		int done = ra_read_locked(h, req, path, size, off);
		pthread_mutex_unlock(&h->lock);
		if (done) {
			free(path);
			return;
		}
	}
	if (r == 0)
		r = h->row->pread(h->s, path, off, size, &out, req);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_buf(req, out.data, out.len);
	buf_free(&out);
	free(path);
}

static void file_write(fuse_req_t req, struct fs_handle *h, const char *buf, size_t size,
		       off_t off)
{
	char *path = malloc(FS_ARG_MAX);
	size_t done = 0;
	int r = path ? fs_inode_arg(h->in, path, FS_ARG_MAX) : -ENOMEM;
	if (r == 0)
		r = h->row->pwrite(h->s, path, off, buf, size, &done, req);
	if (r < 0 && done == 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_write(req, done);
	free(path);
}

/* ---- the entry points ---- */

int fs_remote_open(struct fs_handle *h, fuse_req_t req, struct fuse_file_info *fi)
{
	switch (h->kind) {
	case K_FILE:
		fi->direct_io = 0; /* the page cache: mmap, exec, and reads ahead */
		fi->keep_cache = 0;
		h->ra[0].off = h->ra[1].off = -1;
		if (fi->flags & O_TRUNC) { /* atomic O_TRUNC: the open cuts it */
			struct stat st = {.st_size = 0};
			return h->row->setattr(h->s, h->arg, &st, FUSE_SET_ATTR_SIZE, req);
		}
		return 0;
	case K_RESULT:
		fi->nonseekable = 0;
		return 0;
	case K_RAW:
		fi->nonseekable = 1;
		return 0;
	case K_RLOG:
		return 0;
	default:
		return -EINVAL; /* a link is never opened: the kernel follows it */
	}
}

void fs_remote_read(fuse_req_t req, struct fs_handle *h, size_t size, off_t off)
{
	if (h->kind == K_RESULT)
		result_read(req, h, size, off);
	else if (h->kind == K_RLOG)
		rlog_read(req, h, size, off);
	else
		file_read(req, h, size, off);
}

void fs_remote_write(fuse_req_t req, struct fs_handle *h, const char *buf, size_t size,
		     off_t off)
{
	if (h->kind == K_RAW)
		raw_write(req, h, buf, size);
	else
		file_write(req, h, buf, size, off);
}

void fs_remote_free(struct fs_handle *h)
{
	ra_drop_locked(h); /* the last reference: nobody else holds the lock */
}

void fs_remote_release(struct fs_handle *h)
{
	if (h->kind == K_FILE) {
		pthread_mutex_lock(&h->lock);
		ra_drop_locked(h);
		pthread_mutex_unlock(&h->lock);
	}
	if (h->kind != K_RESULT && h->kind != K_RAW)
		return;
	pthread_mutex_lock(&h->lock);
	fuse_req_t parked = h->req;
	struct sess_async *a = h->async;
	h->req = NULL;
	h->async = NULL;
	pthread_mutex_unlock(&h->lock);
	if (parked) /* its reader was killed: the kernel no longer waits for this */
		fuse_reply_err(parked, EINTR);
	sess_async_cancel(a);
	sess_async_put(a);
}
