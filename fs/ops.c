/*
 * ops.c - the namespace operations: lookup, forget, getattr, readdir,
 * mkdir, rmdir, and the refusals (unlink, rename, create, symlink, link ->
 * EPERM). They walk the inode table and ask each directory's provider
 * (fs/node.c); the file operations proper are in files.c; the table of
 * both is at the end.
 */
#include "fs/fs.h"
#include "core/sess_ops.h"
#include "fs/fh.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Nothing is cached by the kernel: sessions come and go, sizes grow. */
#define ENTRY_TIMEOUT 0.0
#define ATTR_TIMEOUT 0.0
#define FS_UNKNOWN_INO 0xffffffffu /* readdir: a name the kernel has not looked up yet */


/* Reply with in's entry; the kernel now holds one more lookup of it. */
static void reply_entry(fuse_req_t req, struct fs_inode *in)
{
	struct fuse_entry_param e;
	memset(&e, 0, sizeof e);
	int r = fs_stat(in, &e.attr);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	e.ino = in->ino;
	e.attr_timeout = ATTR_TIMEOUT;
	e.entry_timeout = ENTRY_TIMEOUT;
	fs_inode_remember(in);
	if (fuse_reply_entry(req, &e) != 0)
		fs_inode_forget(in->ino, 1); /* the kernel never got it */
}

/* The child `name` of dir: asked of dir's provider, made an inode (a reference). */
static int child_of(struct fs_inode *dir, const char *name, struct fs_inode **out)
{
	char arg[256] = "";
	const struct fs_node *node = NULL;
	uint64_t sid = dir->sid;
	int r;
	if (dir->node->kind != K_DIR)
		return -ENOTDIR;
	struct sess *s = fs_sess_of(dir, &r);
	if (r < 0)
		return r;
	r = dir->node->dir->lookup(s, name, &node, arg, sizeof arg, &sid);
	sess_put(s);
	if (r < 0)
		return r;
	*out = fs_inode_child(dir, name, sid, node, arg[0] ? arg : NULL);
	return *out ? 0 : -ENOMEM;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs_inode *dir = fs_inode_get(parent), *in = NULL;
	int r = dir ? child_of(dir, name, &in) : -ENOENT;
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		reply_entry(req, in);
	fs_inode_put(in);
	fs_inode_put(dir);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	fs_inode_forget(ino, nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *v)
{
	for (size_t i = 0; i < count; i++)
		fs_inode_forget(v[i].ino, v[i].nlookup);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;
	struct fs_inode *in = fs_inode_get(ino);
	int r = in ? fs_stat(in, &st) : -ENOENT;
	fs_inode_put(in);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, ATTR_TIMEOUT);
}

/* Only O_TRUNC on the writable files arrives here; there is nothing to cut. */
static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct fs_inode *in = fs_inode_get(ino);
	int writable = in && (in->node->kind == K_CTL || in->node->kind == K_ACTIONS);
	fs_inode_put(in);
	if (to_set & ~(FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME |
		       FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW | FUSE_SET_ATTR_CTIME)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	if ((to_set & FUSE_SET_ATTR_SIZE) && !writable) {
		fuse_reply_err(req, EACCES);
		return;
	}
	op_getattr(req, ino, fi);
}

/* A directory listing is taken whole at opendir; readdir offsets are indexes. */
struct dir_ent {
	char *name;
	fuse_ino_t ino;
	mode_t mode;
};

struct dir_handle {
	struct dir_ent *v;
	int n, cap;
	fuse_ino_t self;
};

static void dir_add(void *ctx, const char *name, mode_t mode)
{
	struct dir_handle *dh = ctx;
	if (dh->n == dh->cap) {
		int cap = dh->cap ? dh->cap * 2 : 16;
		struct dir_ent *v = realloc(dh->v, (size_t)cap * sizeof *v);
		if (!v)
			return;
		dh->v = v;
		dh->cap = cap;
	}
	char *dup = strdup(name);
	if (!dup)
		return;
	/* the number the kernel knows it by, if any: ls -i and find agree with stat */
	struct fs_inode *known = fs_inode_find(dh->self, name);
	fuse_ino_t ino = known ? known->ino : FS_UNKNOWN_INO;
	fs_inode_put(known);
	dh->v[dh->n++] = (struct dir_ent){dup, ino, mode};
}

static void dir_free(struct dir_handle *dh)
{
	for (int i = 0; i < dh->n; i++)
		free(dh->v[i].name);
	free(dh->v);
	free(dh);
}

static void dir_free_cb(void *dh)
{
	dir_free(dh);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_inode *in = fs_inode_get(ino);
	struct dir_handle *dh = calloc(1, sizeof *dh);
	struct sess *s = NULL;
	int r = !in ? -ENOENT : !dh ? -ENOMEM : in->node->kind != K_DIR ? -ENOTDIR : 0;
	if (r == 0)
		s = fs_sess_of(in, &r);
	if (r == 0 && s && !fs_may(req, s))
		r = -EACCES;
	if (r < 0)
		goto fail;
	dh->self = ino;
	dir_add(dh, ".", S_IFDIR);
	dir_add(dh, "..", S_IFDIR);
	struct fs_dirlist l = {in, req, dir_add, dh};
	in->node->dir->list(s, req, &l);
	sess_put(s);
	fs_inode_put(in);
	fi->fh = fs_fh_add(dh, dir_free_cb); /* see fh.h: releasedir may race readdir */
	if (!fi->fh) {
		dir_free(dh);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (fuse_reply_open(req, fi) == -ENOENT)
		fs_fh_close(fi->fh);
	return;
fail:
	sess_put(s);
	fs_inode_put(in);
	if (dh)
		dir_free(dh);
	fuse_reply_err(req, -r);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct fs_fh *ref = fs_fh_hold(fi->fh);
	if (!ref) {
		fuse_reply_err(req, EBADF);
		return;
	}
	struct dir_handle *dh = fs_fh_obj(ref);
	char *out = malloc(size);
	size_t used = 0;
	if (!out) {
		fs_fh_drop(ref);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (off_t i = off < 0 ? 0 : off; i < dh->n; i++) {
		struct stat st = {.st_ino = dh->v[i].ino, .st_mode = dh->v[i].mode};
		size_t n = fuse_add_direntry(req, out + used, size - used, dh->v[i].name, &st, i + 1);
		if (n > size - used)
			break;
		used += n;
	}
	fuse_reply_buf(req, out, used);
	free(out);
	fs_fh_drop(ref);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fs_fh_close(fi->fh);
	fuse_reply_err(req, 0);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct derr e = DERR_INIT;
	struct sess *s = NULL;
	const struct fs_node *row = NULL;
	if (parent != FUSE_ROOT_ID) { /* procs/ and checkpoints/ will say yes here */
		fuse_reply_err(req, EPERM);
		return;
	}
	struct fs_inode *root = fs_inode_get(FUSE_ROOT_ID), *in = NULL;
	char arg[8];
	uint64_t sid = 0;
	if (root->node->dir->lookup(NULL, name, &row, arg, sizeof arg, &sid) == 0 &&
	    row != &fs_session_node) {
		fs_inode_put(root);
		fuse_reply_err(req, EEXIST); /* a control file */
		return;
	}
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	int r = sess_create(name, &sess_options()->defaults, ctx->uid, ctx->gid, &s, &e);
	if (r < 0) {
		/* no session holds this error: say it on .events, to the one who asked */
		fs_global_error("mkdir", util_name_valid(name) ? name : NULL, &e, ctx->uid);
		fs_inode_put(root);
		fuse_reply_err(req, -r);
		return;
	}
	in = fs_inode_child(root, name, sess_sid(s), &fs_session_node, NULL);
	sess_put(s);
	if (in)
		reply_entry(req, in);
	else
		fuse_reply_err(req, ENOMEM);
	fs_inode_put(in);
	fs_inode_put(root);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	if (parent != FUSE_ROOT_ID) { /* a session's own files and directories */
		fuse_reply_err(req, EPERM);
		return;
	}
	if (name[0] == '.') { /* the control plane */
		fuse_reply_err(req, EPERM);
		return;
	}
	struct sess *s = sess_get(name);
	int may = s && fs_may(req, s);
	sess_put(s);
	int r = !s ? -ENOENT : !may ? -EACCES : sess_destroy(name);
	fuse_reply_err(req, r < 0 ? -r : 0);
}

static void op_refuse(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, EPERM);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	fuse_reply_err(req, EPERM);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	fuse_reply_err(req, EPERM);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, EPERM);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	fuse_reply_err(req, EPERM);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	fuse_reply_err(req, EPERM);
}


static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	conn->want &= ~(unsigned)FUSE_CAP_EXPORT_SUPPORT;
}

static void op_destroy(void *userdata)
{
	sess_shutdown();
}

const struct fuse_lowlevel_ops fs_ops = {
	.init = op_init,
	.destroy = op_destroy,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.releasedir = op_releasedir,
	.mkdir = op_mkdir,
	.rmdir = op_rmdir,
	.unlink = op_refuse,
	.rename = op_rename,
	.mknod = op_mknod,
	.symlink = op_symlink,
	.link = op_link,
	.create = op_create,
	.open = fs_open,
	.read = fs_read,
	.write = fs_write,
	.flush = fs_flush,
	.release = fs_release,
	.poll = fs_poll,
};
