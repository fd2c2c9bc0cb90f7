/*
 * files.c - open/read/write/flush/release/poll: the behaviours of
 * DESIGN.md ("Files that behave like files"). Snapshots, streams, logs and
 * line writes are served here; raw writes, results, remote logs and the
 * files of files/ in files_remote.c. struct fs_handle is in handle.h.
 *
 * Per-open state is a struct fs_handle, reached through fi->fh as an id of
 * fh.c's table: each operation holds a reference while it runs, so a
 * RELEASE that races an in-flight READ (its reader was killed) cannot free
 * the handle under it; the last reference frees it.
 *
 * Streams never hold a FUSE thread. A read that finds nothing parks its
 * request in the handle (h->req); whoever makes data available (the
 * publisher's wake callback), an interrupt, or the end of the stream
 * takes it from there under h->lock and replies. The interrupt callback
 * is registered before the request is parked, so a signal that arrives
 * in between is seen by fuse_req_interrupted() under the same lock; it
 * knows the handle by id (see fs_parked_interrupt), never by address.
 */
#include "fs/fs.h"
#include "core/sess_ops.h"
#include "fs/fh.h"
#include "fs/handle.h"
#include "core/sess_procs.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PENDING_LINE (4u << 20) /* one line of a write, split over calls */

/* ---- streams ---- */

static void stream_reply_locked(struct fs_handle *h)
{
	if (!h->req)
		return;
	char *tmp = malloc(h->req_size);
	if (!tmp)
		return;
	ssize_t n = evq_take(h->sub, tmp, h->req_size);
	if (n == -EAGAIN) {
		free(tmp);
		return;
	}
	fuse_req_t req = h->req;
	h->req = NULL;
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_buf(req, tmp, (size_t)n);
	free(tmp);
}

/* evq wake callback: data arrived or the stream ended. */
static void stream_wake(void *arg)
{
	struct fs_handle *h = arg;
	pthread_mutex_lock(&h->lock);
	stream_reply_locked(h);
	if (h->ph) {
		fuse_lowlevel_notify_poll(h->ph);
		fuse_pollhandle_destroy(h->ph);
		h->ph = NULL;
	}
	pthread_mutex_unlock(&h->lock);
}

/*
 * The interrupt of a parked request (a stream read, a result read, a raw
 * write: all park in h->req). It gets the handle's id, not its address: a
 * release may be freeing the handle at this very moment, so it takes its
 * own reference, or finds the handle gone (and its parked request answered).
 */
void fs_parked_interrupt(fuse_req_t req, void *arg)
{
	struct fs_fh *ref = fs_fh_hold((uint64_t)(uintptr_t)arg);
	if (!ref)
		return;
	struct fs_handle *h = fs_fh_obj(ref);
	pthread_mutex_lock(&h->lock);
	if (h->req == req) {
		h->req = NULL;
		if (h->kind == K_RAW) /* the bytes may still go in; the writer gave up on them */
			sess_async_cancel(h->async);
		fuse_reply_err(req, EINTR);
	}
	pthread_mutex_unlock(&h->lock);
	fs_fh_drop(ref);
}

static void stream_read(fuse_req_t req, struct fs_handle *h, size_t size)
{
	fuse_req_interrupt_func(req, fs_parked_interrupt, (void *)(uintptr_t)h->id);
	pthread_mutex_lock(&h->lock);
	if (h->req) { /* one parked read per open; a second reader waits its turn */
		pthread_mutex_unlock(&h->lock);
		fuse_reply_err(req, EBUSY);
		return;
	}
	h->req = req;
	h->req_size = size;
	stream_reply_locked(h);
	if (h->req == req) {
		if (h->nonblock) {
			h->req = NULL;
			fuse_reply_err(req, EAGAIN);
		} else if (fuse_req_interrupted(req)) {
			h->req = NULL;
			fuse_reply_err(req, EINTR);
		}
	}
	pthread_mutex_unlock(&h->lock);
}

/* ---- open ---- */

/* The file behind a log row (an artifact, the actions receipts). */
static int open_log(struct fs_handle *h)
{
	char path[PATH_MAX + 300];
	int r = h->row->log(h->s, h->arg, path, sizeof path);
	if (r < 0)
		return r;
	/* the receipts log exists once there are receipts; an empty one before */
	int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | (h->row->kind == K_ACTIONS ? O_CREAT : 0);
	h->fd = open(path, flags, 0600);
	return h->fd < 0 ? -errno : 0;
}

/* Build a snapshot's bytes at open; desktop rows wait for the desktop. */
static int build_snapshot(struct fs_handle *h, fuse_req_t req)
{
	if (h->row->kind == K_SNAPSHOT && h->row->text_arg) {
		h->row->text_arg(h->s, h->arg, &h->data);
		return 0;
	}
	if (h->row->kind == K_SNAPSHOT || h->row->kind == K_CTL) {
		h->row->text(h->s, &h->data);
		return 0;
	}
	int r = h->row->desktop(h->s, h->arg, &h->data, &h->png, req);
	if (r == 0) /* getattr shows the last size; fstat on this open shows its own */
		fs_inode_set_size_hint(h->in, h->png ? h->png->len : h->data.len);
	return r;
}

static void handle_free(struct fs_handle *h);

static void handle_free_cb(void *h)
{
	handle_free(h);
}

static void handle_free(struct fs_handle *h)
{
	sess_async_cancel(h->async); /* nobody waits for it any more */
	sess_async_put(h->async);
	fs_remote_free(h);
	free(h->arg);
	if (h->sub)
		evq_unsubscribe(h->sub); /* after this no wake can arrive */
	if (h->ph)
		fuse_pollhandle_destroy(h->ph);
	if (h->fd >= 0)
		close(h->fd);
	buf_free(&h->data);
	blob_unref(h->png);
	buf_free(&h->pending);
	sess_put(h->s);
	fs_inode_put(h->in);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->ra_cond);
	pthread_mutex_destroy(&h->wlock);
	free(h);
}

/*
 * Open in (whose reference it takes) for fi: 0 with fi->fh set, or -errno
 * (the reference then gone too). The reply is the caller's.
 */
static int open_inode(fuse_req_t req, struct fs_inode *in, struct fuse_file_info *fi)
{
	int acc = fi->flags & O_ACCMODE, r = 0;
	if (in->node->kind == K_DIR) {
		fs_inode_put(in);
		return -EISDIR;
	}
	const struct fs_node *row = in->node;
	int writes = row->kind == K_CTL || row->kind == K_ACTIONS || row->kind == K_RAW ||
		     row->kind == K_FILE;
	if ((acc != O_RDONLY && !writes) || (acc == O_RDONLY && row->kind == K_RAW)) {
		fs_inode_put(in);
		return -EACCES;
	}
	struct fs_handle *h = calloc(1, sizeof *h);
	if (!h) {
		fs_inode_put(in);
		return -ENOMEM;
	}
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->ra_cond, NULL);
	pthread_mutex_init(&h->wlock, NULL);
	h->in = in;
	h->row = row;
	h->kind = row->kind;
	h->fd = -1;
	h->nonblock = !!(fi->flags & O_NONBLOCK);
	h->flags = fi->flags;
	h->s = fs_sess_of(in, &r);
	if (r < 0)
		goto out_free;
	if (!(h->arg = malloc(FS_ARG_MAX))) {
		r = -ENOMEM;
		goto out_free;
	}
	if ((r = fs_inode_arg(in, h->arg, FS_ARG_MAX)) < 0)
		goto out_free;
	if (h->s && !fs_may(req, h->s)) {
		r = -EACCES;
		goto out_free;
	}
	fi->direct_io = 1; /* sizes are not known ahead; reads always come to us */
	fi->keep_cache = 0;
	switch (h->kind) {
	case K_STREAM:
		fi->nonseekable = 1;
		h->sub = evq_subscribe(row->hub(h->s), stream_wake, h, fuse_req_ctx(req)->uid);
		r = h->sub ? 0 : -ENOMEM;
		break;
	case K_DESKTOP:
		/* grep -r and indexers open with O_NONBLOCK: never capture for them */
		if (h->nonblock) {
			r = -EAGAIN;
			break;
		}
		/* fall through */
	case K_SNAPSHOT:
		r = build_snapshot(h, req);
		break;
	case K_LOG:
		r = open_log(h);
		break;
	case K_ACTIONS:
		if (acc != O_WRONLY)
			r = open_log(h);
		break;
	case K_CTL:
		if (acc != O_WRONLY)
			r = build_snapshot(h, req); /* reads give the help text */
		break;
	case K_RAW:
	case K_RESULT:
	case K_RLOG:
	case K_FILE:
	case K_LINK:
		r = fs_remote_open(h, req, fi);
		break;
	case K_DIR:
		break;
	}
	if (r < 0)
		goto out_free;
	fi->fh = h->id = fs_fh_add(h, handle_free_cb);
	if (!fi->fh) {
		r = -ENOMEM;
		goto out_free;
	}
	return 0;
out_free:
	handle_free(h);
	return r;
}

void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_inode *in = fs_inode_get(ino);
	int r = in ? open_inode(req, in, fi) : -ENOENT;
	if (r < 0)
		fuse_reply_err(req, -r);
	else if (fuse_reply_open(req, fi) == -ENOENT) /* the opener was interrupted meanwhile */
		fs_fh_close(fi->fh);
}

void fs_open_created(fuse_req_t req, struct fs_inode *in, const struct fuse_entry_param *e,
		     struct fuse_file_info *fi)
{
	fuse_ino_t ino = in->ino;
	fs_inode_remember(in); /* the reply is a lookup too */
	int r = open_inode(req, in, fi);
	if (r < 0) {
		fs_inode_forget(ino, 1);
		fuse_reply_err(req, -r);
	} else if (fuse_reply_create(req, e, fi) == -ENOENT) {
		fs_fh_close(fi->fh);
		fs_inode_forget(ino, 1);
	}
}

void fs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0); /* every write is where the file lives when it returns */
}


static void handle_read(fuse_req_t req, struct fs_handle *h, size_t size, off_t off)
{
	if (h->kind == K_STREAM) {
		stream_read(req, h, size);
		return;
	}
	if (h->kind == K_RESULT || h->kind == K_RLOG || h->kind == K_FILE) {
		fs_remote_read(req, h, size, off);
		return;
	}
	if (h->fd >= 0) {
		char *tmp = malloc(size ? size : 1);
		if (!tmp) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
		ssize_t n = pread(h->fd, tmp, size, off);
		if (n < 0)
			fuse_reply_err(req, errno);
		else
			fuse_reply_buf(req, tmp, (size_t)n);
		free(tmp);
		return;
	}
	const char *data = h->png ? h->png->data : h->data.data;
	size_t len = h->png ? h->png->len : h->data.len;
	if (off < 0 || (size_t)off >= len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	size_t n = len - (size_t)off;
	fuse_reply_buf(req, data + off, n < size ? n : size);
}

/* ---- writes: one command per line ---- */

static int run_lines(struct fs_handle *h, fuse_req_t req, const char *text, size_t len)
{
	return h->row->lines(h->s, h->arg, req, text, len);
}

/*
 * The kernel does not order FLUSH (every close of every dup) against WRITE,
 * so the unfinished line is per-open state two requests touch: it is only
 * read or changed under h->wlock. The lines to run are taken out of it under
 * the lock and run without it (running may wait on the desktop).
 */
static void handle_write(fuse_req_t req, struct fs_handle *h, const char *buf, size_t size,
			 off_t off)
{
	struct buf run = BUF_INIT;
	int r = 0;
	if (h->kind == K_RAW || h->kind == K_FILE) {
		fs_remote_write(req, h, buf, size, off);
		return;
	}
	if (h->kind != K_CTL && h->kind != K_ACTIONS) {
		fuse_reply_err(req, EBADF);
		return;
	}
	pthread_mutex_lock(&h->wlock);
	if (h->discarding) {
		/* the rest of a refused line is refused too, up to and with the write that
		 * ends it; nothing of such a write is performed */
		if (memchr(buf, '\n', size))
			h->discarding = 0;
		pthread_mutex_unlock(&h->wlock);
		fuse_reply_err(req, E2BIG);
		return;
	}
	const char *nl = memrchr(buf, '\n', size);
	if (!nl) { /* no line ends yet: keep it for the next write or close */
		int too_long = h->pending.len + size > MAX_PENDING_LINE;
		if (too_long) {
			buf_reset(&h->pending);
			h->discarding = 1;
		} else if (buf_append(&h->pending, buf, size) < 0) {
			r = -ENOMEM;
		}
		pthread_mutex_unlock(&h->wlock);
		if (too_long) {
			if (h->s)
				sess_error(h->s, 0, E2BIG, "too_large",
					   "a line longer than %u bytes was written", MAX_PENDING_LINE);
			r = -E2BIG;
		}
		if (r < 0)
			fuse_reply_err(req, -r);
		else
			fuse_reply_write(req, size);
		return;
	}
	size_t head = (size_t)(nl - buf) + 1;
	run = h->pending; /* what came before, plus this write up to its last newline */
	h->pending = (struct buf)BUF_INIT;
	if (buf_append(&run, buf, head) < 0 ||
	    (head < size && buf_append(&h->pending, buf + head, size - head) < 0))
		r = -ENOMEM;
	pthread_mutex_unlock(&h->wlock);
	if (r == 0)
		r = run_lines(h, req, run.data, run.len);
	buf_free(&run);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_write(req, size);
}

/* close(2): a last line without its newline runs now; its error is close's. */
static void handle_flush(fuse_req_t req, struct fs_handle *h)
{
	int r = 0;
	struct buf run = BUF_INIT;
	if (h->kind == K_CTL || h->kind == K_ACTIONS) {
		pthread_mutex_lock(&h->wlock);
		run = h->pending;
		h->pending = (struct buf)BUF_INIT;
		pthread_mutex_unlock(&h->wlock);
	}
	if (run.len)
		r = run_lines(h, req, run.data, run.len);
	buf_free(&run);
	fuse_reply_err(req, r < 0 ? -r : 0);
}

void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_fh *ref = fs_fh_hold(fi->fh);
	if (ref) {
		struct fs_handle *h = fs_fh_obj(ref);
		pthread_mutex_lock(&h->lock);
		fuse_req_t parked = h->kind == K_STREAM ? h->req : NULL;
		if (parked)
			h->req = NULL;
		pthread_mutex_unlock(&h->lock);
		if (parked)
			fuse_reply_buf(parked, NULL, 0);
		fs_remote_release(h); /* a parked result or raw write ends, and its request */
		fs_fh_drop(ref);
	}
	fs_fh_close(fi->fh); /* freed now, or when the last racing op ends */
	fuse_reply_err(req, 0);
}

static void handle_poll(fuse_req_t req, struct fs_handle *h, struct fuse_pollhandle *ph)
{
	if (h->kind == K_RESULT) {
		fuse_reply_poll(req, fs_remote_poll(h, ph));
		return;
	}
	if (h->kind != K_STREAM) {
		if (ph)
			fuse_pollhandle_destroy(ph);
		fuse_reply_poll(req, POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM);
		return;
	}
	pthread_mutex_lock(&h->lock);
	if (ph) {
		if (h->ph)
			fuse_pollhandle_destroy(h->ph);
		h->ph = ph;
	}
	unsigned ev = evq_readable(h->sub) ? POLLIN | POLLRDNORM : 0;
	pthread_mutex_unlock(&h->lock);
	fuse_reply_poll(req, ev);
}

/* ---- the entry points: each holds the handle while it runs ---- */

#define WITH_HANDLE(fi, call)                                                               \
	do {                                                                                \
		struct fs_fh *ref_ = fs_fh_hold((fi)->fh);                                  \
		if (!ref_) {                                                                \
			fuse_reply_err(req, EBADF);                                         \
			break;                                                              \
		}                                                                           \
		struct fs_handle *h = fs_fh_obj(ref_);                                      \
		call;                                                                       \
		fs_fh_drop(ref_);                                                           \
	} while (0)

void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	WITH_HANDLE(fi, handle_read(req, h, size, off));
}

void fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
	      struct fuse_file_info *fi)
{
	WITH_HANDLE(fi, handle_write(req, h, buf, size, off));
}

void fs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	WITH_HANDLE(fi, handle_flush(req, h));
}

void fs_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct fuse_pollhandle *ph)
{
	struct fs_fh *ref = fs_fh_hold(fi->fh);
	if (!ref) {
		if (ph)
			fuse_pollhandle_destroy(ph);
		fuse_reply_err(req, EBADF);
		return;
	}
	handle_poll(req, fs_fh_obj(ref), ph);
	fs_fh_drop(ref);
}
