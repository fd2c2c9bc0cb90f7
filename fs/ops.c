/*
 * ops.c - the namespace operations: lookup, forget, getattr, setattr,
 * readdir, readlink, and the changes (mkdir, rmdir, unlink, rename,
 * create, mknod, symlink, link). They walk the inode table and ask each
 * directory's provider (fs/node*.c): at the root, mkdir and rmdir make and
 * destroy sessions; inside a session, a provider that has the handler
 * (files/, procs/) does the change, and one without it refuses with EPERM.
 * The file operations proper are in files.c; the table of both is at the
 * end.
 */
#include "fs/fs.h"
#include "core/sess_ops.h"
#include "fs/fh.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Outside files/ nothing is cached by the kernel: sessions come and go, sizes
 * grow. files/ rows say how long their attributes hold (node->cache). */
#define FS_UNKNOWN_INO 0xffffffffu /* readdir: a name the kernel has not looked up yet */
#define FS_MAX_WRITE (1u << 20)    /* FUSE reads and writes of up to a MiB */


/* in's attributes: known ones (a provider's lookup had them), or fs_stat's. */
static int attr_of(struct fs_inode *in, const struct stat *known, struct stat *st,
		   fuse_req_t req)
{
	if (!known || !known->st_mode)
		return fs_stat(in, st, req);
	*st = *known;
	st->st_ino = in->ino;
	if (in->node->kind == K_FILE)
		st->st_blksize = 1 << 20;
	return 0;
}

static void fill_entry(struct fs_inode *in, const struct stat *attr, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof *e);
	e->attr = *attr;
	e->ino = in->ino;
	e->attr_timeout = in->node->cache;
	e->entry_timeout = in->node->cache;
}

/* Reply with in's entry; the kernel now holds one more lookup of it. */
static void reply_entry(fuse_req_t req, struct fs_inode *in, const struct stat *known)
{
	struct fuse_entry_param e;
	struct stat st;
	int r = attr_of(in, known, &st, req);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	fill_entry(in, &st, &e);
	fs_inode_remember(in);
	if (fuse_reply_entry(req, &e) != 0)
		fs_inode_forget(in->ino, 1); /* the kernel never got it */
}

/* The child `name` of dir: asked of dir's provider, made an inode (a reference). */
static int child_of(struct fs_inode *dir, const char *name, struct fs_inode **out,
		    struct fs_entry *ent, fuse_req_t req)
{
	char darg[FS_ARG_MAX];
	int r;
	memset(ent, 0, sizeof *ent);
	ent->sid = dir->sid;
	if (dir->node->kind != K_DIR)
		return -ENOTDIR;
	if ((r = fs_inode_arg(dir, darg, sizeof darg)) < 0)
		return r;
	struct sess *s = fs_sess_of(dir, &r);
	if (r < 0)
		return r;
	r = dir->node->dir->lookup(s, darg, name, ent, req);
	sess_put(s);
	if (r < 0)
		return r;
	*out = fs_inode_child(dir, name, ent->sid, ent->node, ent->arg[0] ? ent->arg : NULL);
	return *out ? 0 : -ENOMEM;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs_entry *ent = malloc(sizeof *ent);
	struct fs_inode *dir = fs_inode_get(parent), *in = NULL;
	int r = !ent ? -ENOMEM : dir ? child_of(dir, name, &in, ent, req) : -ENOENT;
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		reply_entry(req, in, &ent->st);
	free(ent);
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
	int r = in ? fs_stat(in, &st, req) : -ENOENT;
	double cache = in ? in->node->cache : 0;
	fs_inode_put(in);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, cache);
}

/* files/ changes attributes where the files live; elsewhere only O_TRUNC on the
 * writable files arrives here, and there is nothing to cut. */
static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	char arg[FS_ARG_MAX];
	struct fs_inode *in = fs_inode_get(ino);
	int r = in ? 0 : -ENOENT;
	if (in && in->node->setattr) {
		struct sess *s = fs_sess_of(in, &r);
		if (r == 0 && (!s || !fs_may(req, s)))
			r = -EACCES;
		if (r == 0)
			r = fs_inode_arg(in, arg, sizeof arg);
		if (r == 0)
			r = in->node->setattr(s, arg, attr, to_set, req);
		sess_put(s);
		fs_inode_put(in);
		if (r < 0)
			fuse_reply_err(req, -r);
		else
			op_getattr(req, ino, fi);
		return;
	}
	int writable = in && (in->node->kind == K_CTL || in->node->kind == K_ACTIONS ||
			      in->node->kind == K_RAW);
	fs_inode_put(in);
	if (r < 0 || (to_set & ~(FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME |
				 FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW |
				 FUSE_SET_ATTR_CTIME))) {
		fuse_reply_err(req, r < 0 ? -r : EPERM);
		return;
	}
	if ((to_set & FUSE_SET_ATTR_SIZE) && !writable) {
		fuse_reply_err(req, EACCES);
		return;
	}
	op_getattr(req, ino, fi);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char arg[FS_ARG_MAX];
	struct buf out = BUF_INIT;
	struct fs_inode *in = fs_inode_get(ino);
	struct sess *s = NULL;
	int r = !in ? -ENOENT : !in->node->readlink ? -EINVAL : 0;
	if (r == 0)
		s = fs_sess_of(in, &r);
	if (r == 0 && (!s || !fs_may(req, s)))
		r = -EACCES;
	if (r == 0)
		r = fs_inode_arg(in, arg, sizeof arg);
	if (r == 0)
		r = in->node->readlink(s, arg, &out, req);
	if (r == 0 && buf_append(&out, "", 0) < 0)
		r = -ENOMEM;
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_readlink(req, out.data);
	buf_free(&out);
	sess_put(s);
	fs_inode_put(in);
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
	char *darg = malloc(FS_ARG_MAX);
	if (!darg || (r = fs_inode_arg(in, darg, FS_ARG_MAX)) < 0) {
		free(darg);
		r = r < 0 ? r : -ENOMEM;
		goto fail;
	}
	dh->self = ino;
	dir_add(dh, ".", S_IFDIR);
	dir_add(dh, "..", S_IFDIR);
	struct fs_dirlist l = {in, req, dir_add, dh};
	in->node->dir->list(s, darg, req, &l);
	free(darg);
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

/* ---- changes inside a session: the directory's provider decides ---- */

/* A namespace change in directory `parent`: its inode, session and argument. */
struct nsop {
	struct fs_inode *dir;
	struct sess *s;
	const struct fs_dir *d;
	char darg[FS_ARG_MAX];
};

static int nsop_begin(fuse_req_t req, fuse_ino_t parent, struct nsop *o)
{
	int r = 0;
	memset(o, 0, sizeof *o);
	if (!(o->dir = fs_inode_get(parent)))
		return -ENOENT;
	if (o->dir->node->kind != K_DIR)
		return -ENOTDIR;
	o->s = fs_sess_of(o->dir, &r);
	if (r < 0)
		return r;
	if (!o->s) /* the control plane is not changed by name */
		return -EPERM;
	if (!fs_may(req, o->s))
		return -EACCES;
	o->d = o->dir->node->dir;
	return fs_inode_arg(o->dir, o->darg, sizeof o->darg);
}

static void nsop_end(struct nsop *o)
{
	sess_put(o->s);
	fs_inode_put(o->dir);
}

/* The new child's inode, from what the provider made. A reference, or NULL. */
static struct fs_inode *made(struct nsop *o, const char *name, struct fs_entry *ent)
{
	fs_inode_unhash(o->dir->ino, name); /* whatever had that name before is gone */
	return fs_inode_child(o->dir, name, o->dir->sid, ent->node,
			      ent->arg[0] ? ent->arg : NULL);
}

enum mk { MK_DIR, MK_FILE, MK_LINK };

/* mkdir, mknod (regular files), symlink: made by the provider, replied as an entry. */
static void make_child(fuse_req_t req, fuse_ino_t parent, const char *name, enum mk what,
		       mode_t mode, const char *target)
{
	struct nsop o;
	struct fs_entry *ent = calloc(1, sizeof *ent);
	struct fs_inode *in = NULL;
	int r = ent ? nsop_begin(req, parent, &o) : -ENOMEM;
	if (r == 0) {
		ent->sid = o.dir->sid;
		if (what == MK_DIR)
			r = o.d->mkdir ? o.d->mkdir(o.s, o.darg, name, mode, ent, req) : -EPERM;
		else if (what == MK_FILE)
			r = o.d->create ? o.d->create(o.s, o.darg, name, mode, ent, req) : -EPERM;
		else
			r = o.d->symlink ? o.d->symlink(o.s, o.darg, name, target, ent, req) : -EPERM;
	}
	if (r == 0 && !(in = made(&o, name, ent)))
		r = -ENOMEM;
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		reply_entry(req, in, &ent->st);
	fs_inode_put(in);
	if (ent)
		nsop_end(&o);
	free(ent);
}

/* rmdir, unlink: removed by the provider; a new one of that name is a new inode. */
static void remove_child(fuse_req_t req, fuse_ino_t parent, const char *name, int dir)
{
	struct nsop o;
	int r = nsop_begin(req, parent, &o);
	if (r == 0) {
		int (*fn)(struct sess *, const char *, const char *, fuse_req_t) =
		    dir ? o.d->rmdir : o.d->unlink;
		r = fn ? fn(o.s, o.darg, name, req) : -EPERM;
	}
	if (r == 0)
		fs_inode_unhash(parent, name);
	nsop_end(&o);
	fuse_reply_err(req, r < 0 ? -r : 0);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct derr e = DERR_INIT;
	struct sess *s = NULL;
	struct fs_entry *ent;
	if (parent != FUSE_ROOT_ID) { /* files/ makes directories; most others refuse */
		make_child(req, parent, name, MK_DIR, mode, NULL);
		return;
	}
	struct fs_inode *root = fs_inode_get(FUSE_ROOT_ID), *in = NULL;
	if (!(ent = calloc(1, sizeof *ent))) {
		fs_inode_put(root);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	int control = root->node->dir->lookup(NULL, "", name, ent, req) == 0 &&
		      ent->node != &fs_session_node;
	free(ent);
	if (control) {
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
		reply_entry(req, in, NULL);
	else
		fuse_reply_err(req, ENOMEM);
	fs_inode_put(in);
	fs_inode_put(root);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	if (parent != FUSE_ROOT_ID) { /* procs/TAG, files/ directories; the rest refuse */
		remove_child(req, parent, name, 1);
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

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	if (parent == FUSE_ROOT_ID) {
		fuse_reply_err(req, EPERM);
		return;
	}
	remove_child(req, parent, name, 0);
}

/*
 * Within one provider's directories of one session (files/): done there, then
 * the inodes follow (open files and working directories keep working). Across
 * sessions or providers that could both rename: EXDEV, so mv copies.
 */
static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	struct nsop a, *b = malloc(sizeof *b);
	char *from = malloc(FS_ARG_MAX), *to = malloc(FS_ARG_MAX);
	int r = b && from && to ? 0 : -ENOMEM, ra = -EPERM, rb = -EPERM;
	memset(&a, 0, sizeof a);
	if (b)
		memset(b, 0, sizeof *b);
	if (r == 0 && parent != FUSE_ROOT_ID && newparent != FUSE_ROOT_ID) {
		ra = nsop_begin(req, parent, &a);
		rb = nsop_begin(req, newparent, b);
	}
	if (r == 0)
		r = ra < 0 ? ra : rb;
	if (r == 0 && !(a.d->rename && b->d->rename))
		r = -EPERM;
	else if (r == 0 && (a.d != b->d || a.dir->sid != b->dir->sid))
		r = -EXDEV;
	if (r == 0)
		r = a.d->rename(a.s, a.darg, name, b->darg, newname, flags, req);
	if (r == 0 && a.d->child_arg && a.d->child_arg(a.darg, name, from, FS_ARG_MAX) == 0 &&
	    a.d->child_arg(b->darg, newname, to, FS_ARG_MAX) == 0)
		fs_inode_rename(parent, name, newparent, newname, a.dir->sid, from, to,
				!!(flags & RENAME_EXCHANGE));
	else if (r == 0) {
		fs_inode_unhash(parent, name);
		fs_inode_unhash(newparent, newname);
	}
	nsop_end(&a);
	if (b)
		nsop_end(b);
	free(b);
	free(from);
	free(to);
	fuse_reply_err(req, r < 0 ? -r : 0);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	if (!S_ISREG(mode)) { /* no devices, fifos or sockets through deskfs */
		fuse_reply_err(req, EPERM);
		return;
	}
	make_child(req, parent, name, MK_FILE, mode, NULL);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	make_child(req, parent, name, MK_LINK, 0777, link);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct nsop o;
	struct fs_entry *ent = calloc(1, sizeof *ent);
	char *arg = malloc(FS_ARG_MAX);
	struct fs_inode *target = fs_inode_get(ino), *in = NULL;
	int r = !ent || !arg ? -ENOMEM : nsop_begin(req, newparent, &o);
	if (r == 0 && (!target || target->sid != o.dir->sid))
		r = target ? -EXDEV : -ENOENT;
	if (r == 0 && !o.d->link)
		r = -EPERM;
	if (r == 0)
		r = fs_inode_arg(target, arg, FS_ARG_MAX);
	if (r == 0) {
		ent->sid = o.dir->sid;
		r = o.d->link(o.s, arg, o.darg, newname, ent, req);
	}
	if (r == 0 && !(in = made(&o, newname, ent)))
		r = -ENOMEM;
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		reply_entry(req, in, &ent->st);
	fs_inode_put(in);
	fs_inode_put(target);
	if (ent && arg)
		nsop_end(&o);
	free(ent);
	free(arg);
}

/* O_CREAT of a new file: made by the provider, then opened as fs_open would. */
static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct nsop o;
	struct fs_entry *ent = calloc(1, sizeof *ent);
	struct fs_inode *in = NULL;
	struct fuse_entry_param e;
	struct stat st;
	int r = ent ? nsop_begin(req, parent, &o) : -ENOMEM;
	if (r == 0 && !o.d->create)
		r = -EPERM;
	if (r == 0) {
		ent->sid = o.dir->sid;
		r = o.d->create(o.s, o.darg, name, mode, ent, req);
		/* it appeared meanwhile: without O_EXCL, open what is there */
		if (r == -EEXIST && !(fi->flags & O_EXCL))
			r = o.d->lookup(o.s, o.darg, name, ent, req);
	}
	if (r == 0 && !(in = made(&o, name, ent)))
		r = -ENOMEM;
	if (r == 0)
		r = attr_of(in, &ent->st, &st, req);
	if (r < 0) {
		fuse_reply_err(req, -r);
	} else {
		fill_entry(in, &st, &e);
		fs_open_created(req, in, &e, fi); /* takes over our reference */
		in = NULL;
	}
	fs_inode_put(in);
	if (ent)
		nsop_end(&o);
	free(ent);
}


static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	/* files/: the guest changes files underneath; a changed size or time drops the cache */
	if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
		conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
	conn->want &= ~(unsigned)FUSE_CAP_EXPORT_SUPPORT;
	/* big copies in and out of files/ move a MiB per request (libfuse's buffer holds it) */
	conn->max_write = FS_MAX_WRITE;
	conn->max_readahead = FS_MAX_WRITE;
}

static void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0); /* files/ writes where the files live at once */
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
	.unlink = op_unlink,
	.rename = op_rename,
	.readlink = op_readlink,
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
	.fsync = fs_fsync,
	.fsyncdir = op_fsyncdir,
};
