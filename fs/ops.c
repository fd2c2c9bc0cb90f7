/*
 * ops.c - the namespace operations: lookup, getattr, readdir, mkdir,
 * rmdir, and the refusals (unlink, rename, create -> EPERM). The file
 * operations proper are in files.c; the table of both is at the end.
 */
#include "fs/fs.h"
#include "core/sess_ops.h"
#include "fs/fh.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Nothing is cached by the kernel: sessions come and go, sizes grow. */
#define ENTRY_TIMEOUT 0.0
#define ATTR_TIMEOUT 0.0

int fs_may(fuse_req_t req, const struct sess *s)
{
	return sess_may_access(s, fuse_req_ctx(req)->uid);
}

static void reply_entry(fuse_req_t req, fuse_ino_t ino)
{
	struct fuse_entry_param e;
	memset(&e, 0, sizeof e);
	int r = fs_stat(ino, &e.attr);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	e.ino = ino;
	e.attr_timeout = ATTR_TIMEOUT;
	e.entry_timeout = ENTRY_TIMEOUT;
	fuse_reply_entry(req, &e);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	uint64_t sid = FS_SID(parent);
	int node = FS_NODE(parent);
	if (parent == FUSE_ROOT_ID) {
		const struct fs_file *f = fs_file_by_name(fs_control_files, name);
		if (f) {
			reply_entry(req, FS_INO(0, f->node));
			return;
		}
		/* another user's session exists (mode 0700): the kernel answers EACCES */
		struct sess *s = sess_get(name);
		if (!s) {
			fuse_reply_err(req, ENOENT);
			return;
		}
		fuse_ino_t ino = FS_INO(s->sid, N_SDIR);
		sess_put(s);
		reply_entry(req, ino);
		return;
	}
	struct sess *s = sid ? sess_get_sid(sid) : NULL;
	if (!s) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fuse_ino_t ino = 0;
	if (node == N_SDIR) {
		const struct fs_file *f = fs_file_by_name(fs_session_files, name);
		if (f)
			ino = FS_INO(sid, f->node);
	} else if (node == N_ARTDIR) {
		int slot = fs_artifact_slot(s, name);
		if (slot >= 0)
			ino = FS_INO(sid, N_ART_BASE + slot);
	}
	sess_put(s);
	if (ino)
		reply_entry(req, ino);
	else
		fuse_reply_err(req, ENOENT);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;
	int r = fs_stat(ino, &st);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, ATTR_TIMEOUT);
}

/* Only O_TRUNC on the writable files arrives here; there is nothing to cut. */
static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	int node = FS_NODE(ino);
	int writable = FS_SID(ino) ? (node == N_ACTIONS || node == N_SCTL) : node == N_GCTL;
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
};

static void add_dirent(fuse_req_t req, struct dir_handle *dh, const char *name, fuse_ino_t ino,
		       mode_t mode)
{
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

static void list_artifacts(fuse_req_t req, struct sess *s, struct dir_handle *b)
{
	DIR *d = opendir(s->artdir);
	struct dirent *de;
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		int slot = fs_artifact_slot(s, de->d_name);
		if (slot >= 0)
			add_dirent(req, b, de->d_name, FS_INO(s->sid, N_ART_BASE + slot), S_IFREG);
	}
	closedir(d);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dir_handle *dh = calloc(1, sizeof *dh);
	struct sess *s = NULL;
	int node = FS_NODE(ino);
	if (!dh) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	add_dirent(req, dh, ".", ino, S_IFDIR);
	add_dirent(req, dh, "..", FUSE_ROOT_ID, S_IFDIR);
	if (ino == FUSE_ROOT_ID) {
		for (const struct fs_file *f = fs_control_files; f->name; f++)
			add_dirent(req, dh, f->name, FS_INO(0, f->node), f->mode);
		char **names;
		uint64_t *sids;
		int n = 0;
		if (sess_names(&names, &sids, &n) == 0) {
			for (int i = 0; i < n; i++) {
				struct sess *o = sess_get_sid(sids[i]);
				if (o && fs_may(req, o))
					add_dirent(req, dh, names[i], FS_INO(sids[i], N_SDIR), S_IFDIR);
				sess_put(o);
			}
			sess_names_free(names, sids, n);
		}
	} else if ((s = sess_get_sid(FS_SID(ino))) && !fs_may(req, s)) {
		sess_put(s);
		dir_free(dh);
		fuse_reply_err(req, EACCES);
		return;
	} else if (s && node == N_SDIR) {
		for (const struct fs_file *f = fs_session_files; f->name; f++)
			add_dirent(req, dh, f->name, FS_INO(s->sid, f->node), f->mode);
	} else if (s && node == N_ARTDIR) {
		list_artifacts(req, s, dh);
	} else {
		sess_put(s);
		dir_free(dh);
		fuse_reply_err(req, s ? ENOTDIR : ENOENT);
		return;
	}
	sess_put(s);
	fi->fh = fs_fh_add(dh, dir_free_cb); /* see fh.h: releasedir may race readdir */
	if (!fi->fh) {
		dir_free(dh);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (fuse_reply_open(req, fi) == -ENOENT)
		fs_fh_close(fi->fh);
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
	if (parent != FUSE_ROOT_ID) {
		fuse_reply_err(req, EPERM);
		return;
	}
	if (fs_file_by_name(fs_control_files, name)) {
		fuse_reply_err(req, EEXIST);
		return;
	}
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	int r = sess_create(name, &sess_options()->defaults, ctx->uid, ctx->gid, &s, &e);
	if (r < 0) {
		/* no session holds this error: say it on .events, to the one who asked */
		fs_global_error("mkdir", util_name_valid(name) ? name : NULL, &e, ctx->uid);
		fuse_reply_err(req, -r);
		return;
	}
	fuse_ino_t ino = FS_INO(s->sid, N_SDIR);
	sess_put(s);
	reply_entry(req, ino);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	if (parent != FUSE_ROOT_ID) { /* a session's own files and directories */
		fuse_reply_err(req, EPERM);
		return;
	}
	if (fs_file_by_name(fs_control_files, name)) {
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

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, EPERM);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	fuse_reply_err(req, EPERM);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	fuse_reply_err(req, EPERM);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	fuse_reply_err(req, EPERM);
}

void fs_global_error(const char *op, const char *name, const struct derr *e, uid_t uid)
{
	int err = derr_errno(e, EIO);
	cJSON *j = cJSON_CreateObject();
	char ts[40];
	util_iso8601(util_now(), ts, sizeof ts);
	cJSON_AddStringToObject(j, "type", "error");
	cJSON_AddStringToObject(j, "op", op);
	if (name)
		cJSON_AddStringToObject(j, "session", name);
	cJSON_AddStringToObject(j, "errno", strerrorname_np(err) ? strerrorname_np(err) : "EIO");
	cJSON_AddStringToObject(j, "code", e->code[0] ? e->code : "error");
	cJSON_AddStringToObject(j, "message", e->msg);
	cJSON_AddStringToObject(j, "ts", ts);
	char *line = cJSON_PrintUnformatted(j);
	if (line)
		evq_publish_as(sess_global_events(), line, uid);
	free(line);
	cJSON_Delete(j);
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
