/*
 * node_ckpt.c - checkpoints/: a session's checkpoints as a directory
 * provider, and the rows of checkpoints/C/. Thin adapters to core/ckpt.h;
 * the checkpoints are files in the state directory, so they outlive a
 * daemon crash with nothing kept here.
 *
 *	$ mkdir M/vm1/checkpoints/c1       captures; returns when complete (ENOTSUP off qemu)
 *	$ ls M/vm1/checkpoints              c1
 *	$ cat M/vm1/checkpoints/c1/info.json
 *	$ rmdir M/vm1/checkpoints/c1        deletes it (forks running on it keep running)
 *
 * mkdir runs on the server thread that asked, bounded like ctl's `start`
 * (the capture of a 256 MB guest takes well under a second), and counts as
 * a waiter on the session (sess_waiter_enter), so a pile of them is refused
 * with EAGAIN rather than taking the threads.
 */
#include "fs/fs.h"
#include "core/ckpt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* checkpoints/C/info.json: arg is C */
static int log_info(struct sess *s, const char *c, char *path, size_t len)
{
	return ckpt_info_path(s, c, path, len);
}

static const struct fs_node ckpt_rows[] = {
	{"info.json", K_LOG, S_IFREG | 0400, .log = log_info},
	{NULL},
};

static int ckpt_lookup(struct sess *s, const char *c, const char *name, struct fs_entry *out,
		       fuse_req_t req)
{
	for (const struct fs_node *r = ckpt_rows; r->name; r++)
		if (strcmp(r->name, name) == 0) {
			out->node = r;
			snprintf(out->arg, sizeof out->arg, "%s", c);
			return 0;
		}
	return -ENOENT;
}

static void ckpt_list(struct sess *s, const char *c, fuse_req_t req, struct fs_dirlist *l)
{
	for (const struct fs_node *r = ckpt_rows; r->name; r++)
		fs_dirlist_add(l, r->name, r->mode);
}

static const struct fs_dir ckpt_dir = {.lookup = ckpt_lookup, .list = ckpt_list};
static const struct fs_node ckpt_node = {NULL, K_DIR, S_IFDIR | 0500, .dir = &ckpt_dir};

/* ---- checkpoints/ ---- */

static int ckpts_lookup(struct sess *s, const char *darg, const char *name, struct fs_entry *out,
			fuse_req_t req)
{
	if (!ckpt_exists(s, name))
		return -ENOENT;
	out->node = &ckpt_node;
	snprintf(out->arg, sizeof out->arg, "%s", name);
	return 0;
}

static void ckpts_list(struct sess *s, const char *darg, fuse_req_t req, struct fs_dirlist *l)
{
	struct buf names = BUF_INIT;
	ckpt_names(s, &names);
	for (size_t i = 0; i < names.len; i += strlen(names.data + i) + 1)
		fs_dirlist_add(l, names.data + i, ckpt_node.mode);
	buf_free(&names);
}

static int ckpts_mkdir(struct sess *s, const char *darg, const char *name, mode_t mode,
		       struct fs_entry *out, fuse_req_t req)
{
	struct derr e = DERR_INIT;
	int r = ckpt_capture(s, name, &e);
	if (r < 0)
		return r;
	out->node = &ckpt_node;
	snprintf(out->arg, sizeof out->arg, "%s", name);
	return 0;
}

static int ckpts_rmdir(struct sess *s, const char *darg, const char *name, fuse_req_t req)
{
	struct derr e = DERR_INIT;
	int r = ckpt_delete(s, name, &e);
	if (r < 0 && r != -ENOENT)
		sess_fail(s, 0, &e);
	return r;
}

const struct fs_dir fs_ckpt_dir = {
	.lookup = ckpts_lookup,
	.list = ckpts_list,
	.mkdir = ckpts_mkdir,
	.rmdir = ckpts_rmdir,
};
