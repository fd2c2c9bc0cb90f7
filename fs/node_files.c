/*
 * node_files.c - files/: the session's files as a directory provider, with
 * POSIX namespace operations, and the rows of its directories, files and
 * links. An inode's argument is its path in that tree ("/" is files/
 * itself); every answer, errnos included, comes from where the files live
 * (core/sess_files.h). The kernel may keep attributes and names for a
 * second (.cache): the guest changes its files underneath.
 *
 *	$ cp big.iso M/s/files/          create + writes at offsets (1 MiB each)
 *	$ mv M/s/files/a M/s/files/b     rename: open files and cwds follow (fs_inode_rename)
 *	$ ls M/s                         no files/ here; ls M/s/files lists it
 */
#include "fs/fs.h"
#include "core/sess_files.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define FILES_CACHE 1.0

static int join(const char *dir, const char *name, char *out, size_t len)
{
	if (!name[0] || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	int n = snprintf(out, len, "%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", name);
	return n < (int)len ? 0 : -ENAMETOOLONG;
}

/* ---- the rows ---- */

static int f_getattr(struct sess *s, const char *path, struct stat *st, fuse_req_t req)
{
	return sess_files_stat(s, path, st, fs_req_intr, req);
}

static int f_setattr(struct sess *s, const char *path, const struct stat *a, int to_set,
		     fuse_req_t req)
{
	int r = 0;
	if (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID))
		return -EPERM; /* nobody gives their files away through deskfs */
	if (to_set & FUSE_SET_ATTR_MODE) {
		struct sess_file_op op = {.op = "chmod", .path = path, .mode = a->st_mode};
		r = sess_files_op(s, &op, NULL, fs_req_intr, req);
	}
	if (r == 0 && (to_set & FUSE_SET_ATTR_SIZE)) {
		struct sess_file_op op = {.op = "truncate", .path = path, .size = a->st_size};
		r = sess_files_op(s, &op, NULL, fs_req_intr, req);
	}
	if (r == 0 && (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME))) {
		struct sess_file_op op = {.op = "utimens", .path = path, .atime_ns = -2,
					  .mtime_ns = -2};
		if (to_set & FUSE_SET_ATTR_ATIME_NOW)
			op.atime_ns = -1;
		else if (to_set & FUSE_SET_ATTR_ATIME)
			op.atime_ns = a->st_atim.tv_sec * 1000000000LL + a->st_atim.tv_nsec;
		if (to_set & FUSE_SET_ATTR_MTIME_NOW)
			op.mtime_ns = -1;
		else if (to_set & FUSE_SET_ATTR_MTIME)
			op.mtime_ns = a->st_mtim.tv_sec * 1000000000LL + a->st_mtim.tv_nsec;
		r = sess_files_op(s, &op, NULL, fs_req_intr, req);
	}
	return r;
}

static int f_readlink(struct sess *s, const char *path, struct buf *out, fuse_req_t req)
{
	return sess_files_readlink(s, path, out, fs_req_intr, req);
}

static int f_pread(struct sess *s, const char *path, long long off, size_t len, struct buf *out,
		   fuse_req_t req)
{
	return sess_files_read(s, path, off, len, out, fs_req_intr, req);
}

static int f_pwrite(struct sess *s, const char *path, long long off, const char *data,
		    size_t len, size_t *done, fuse_req_t req)
{
	return sess_files_write(s, path, off, data, len, done, fs_req_intr, req);
}

static const struct fs_dir files_dir;

const struct fs_node fs_files_dir_node = {NULL, K_DIR, S_IFDIR | 0700, .dir = &files_dir,
					  .getattr = f_getattr, .setattr = f_setattr,
					  .cache = FILES_CACHE};
static const struct fs_node file_node = {NULL, K_FILE, S_IFREG | 0600, .getattr = f_getattr,
					 .setattr = f_setattr, .pread = f_pread,
					 .pwrite = f_pwrite, .cache = FILES_CACHE};
static const struct fs_node link_node = {NULL, K_LINK, S_IFLNK | 0777, .getattr = f_getattr,
					 .setattr = f_setattr, .readlink = f_readlink,
					 .cache = FILES_CACHE};

/* The entry for path with attributes st: the row follows the file's type. */
static int entry_of(const char *path, const struct stat *st, struct fs_entry *out)
{
	out->node = S_ISDIR(st->st_mode) ? &fs_files_dir_node
		    : S_ISLNK(st->st_mode) ? &link_node
					   : &file_node;
	out->st = *st;
	return snprintf(out->arg, sizeof out->arg, "%s", path) < (int)sizeof out->arg
		       ? 0
		       : -ENAMETOOLONG;
}

/* After a change, the entry of path: the agent's answer, or a stat when it gave none. */
static int entry_after(struct sess *s, const char *path, const struct stat *st,
		       struct fs_entry *out, fuse_req_t req)
{
	struct stat now;
	if (!st->st_mode) {
		int r = sess_files_stat(s, path, &now, fs_req_intr, req);
		if (r < 0)
			return r;
		st = &now;
	}
	return entry_of(path, st, out);
}

/* ---- the directory provider ---- */

static int files_lookup(struct sess *s, const char *dir, const char *name, struct fs_entry *out,
			fuse_req_t req)
{
	char path[FS_ARG_MAX];
	struct stat st;
	int r = join(dir, name, path, sizeof path);
	if (r == 0)
		r = sess_files_stat(s, path, &st, fs_req_intr, req);
	return r < 0 ? r : entry_of(path, &st, out);
}

static void add_entry(void *ctx, const char *name, const struct stat *st)
{
	fs_dirlist_add(ctx, name, st->st_mode);
}

static void files_list(struct sess *s, const char *dir, fuse_req_t req, struct fs_dirlist *l)
{
	sess_files_list(s, dir, add_entry, l, fs_req_intr, req);
}

/* mkdir, create, symlink: one op on the new path, then its entry. */
static int make_one(struct sess *s, const char *dir, const char *name, struct sess_file_op *op,
		    struct fs_entry *out, fuse_req_t req)
{
	char path[FS_ARG_MAX];
	struct stat st;
	int r = join(dir, name, path, sizeof path);
	if (r < 0)
		return r;
	op->path = path;
	if ((r = sess_files_op(s, op, &st, fs_req_intr, req)) < 0)
		return r;
	return entry_after(s, path, &st, out, req);
}

static int files_mkdir(struct sess *s, const char *dir, const char *name, mode_t mode,
		       struct fs_entry *out, fuse_req_t req)
{
	struct sess_file_op op = {.op = "mkdir", .mode = mode};
	return make_one(s, dir, name, &op, out, req);
}

static int files_create(struct sess *s, const char *dir, const char *name, mode_t mode,
			struct fs_entry *out, fuse_req_t req)
{
	struct sess_file_op op = {.op = "create", .mode = mode};
	return make_one(s, dir, name, &op, out, req);
}

static int files_symlink(struct sess *s, const char *dir, const char *name, const char *target,
			 struct fs_entry *out, fuse_req_t req)
{
	struct sess_file_op op = {.op = "symlink", .target = target};
	return make_one(s, dir, name, &op, out, req);
}

static int remove_one(struct sess *s, const char *dir, const char *name, const char *what,
		      fuse_req_t req)
{
	char path[FS_ARG_MAX];
	int r = join(dir, name, path, sizeof path);
	struct sess_file_op op = {.op = what, .path = path};
	return r < 0 ? r : sess_files_op(s, &op, NULL, fs_req_intr, req);
}

static int files_rmdir(struct sess *s, const char *dir, const char *name, fuse_req_t req)
{
	return remove_one(s, dir, name, "rmdir", req);
}

static int files_unlink(struct sess *s, const char *dir, const char *name, fuse_req_t req)
{
	return remove_one(s, dir, name, "unlink", req);
}

static int files_rename(struct sess *s, const char *dir, const char *name, const char *ndir,
			const char *nname, unsigned flags, fuse_req_t req)
{
	char from[FS_ARG_MAX], to[FS_ARG_MAX];
	int r = join(dir, name, from, sizeof from);
	if (r == 0)
		r = join(ndir, nname, to, sizeof to);
	if (r < 0)
		return r;
	if (flags & ~3u) /* RENAME_NOREPLACE 1, RENAME_EXCHANGE 2; RENAME_WHITEOUT is not ours */
		return -EINVAL;
	struct sess_file_op op = {.op = "rename", .path = from, .to = to, .flags = flags};
	return sess_files_op(s, &op, NULL, fs_req_intr, req);
}

static int files_link(struct sess *s, const char *target, const char *dir, const char *name,
		      struct fs_entry *out, fuse_req_t req)
{
	char path[FS_ARG_MAX];
	struct stat st;
	int r = join(dir, name, path, sizeof path);
	if (r < 0)
		return r;
	struct sess_file_op op = {.op = "link", .path = target, .to = path};
	if ((r = sess_files_op(s, &op, &st, fs_req_intr, req)) < 0)
		return r;
	return entry_after(s, path, &st, out, req);
}

static const struct fs_dir files_dir = {
	.lookup = files_lookup,
	.list = files_list,
	.mkdir = files_mkdir,
	.rmdir = files_rmdir,
	.unlink = files_unlink,
	.rename = files_rename,
	.create = files_create,
	.symlink = files_symlink,
	.link = files_link,
	.child_arg = join,
};
