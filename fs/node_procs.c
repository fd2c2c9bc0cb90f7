/*
 * node_procs.c - procs/: the programs of a session, as a directory provider
 * and the rows of procs/TAG/. Every row is a thin adapter to the port
 * (core/sess_procs.h); the tags come from the agent, so nothing here
 * outlives a daemon crash and nothing needs to.
 *
 *	$ echo 'start t -- make -j2' > M/s/procs/ctl      procs/ctl (K_CTL)
 *	$ ls M/s/procs/t                                    ctl exit status stderr stdin stdout
 *	$ tail -f M/s/procs/t/stdout                        K_RLOG: the agent's output, growing
 *	$ echo hello > M/s/procs/t/stdin                    K_RAW: bytes, parked while the pipe is full
 *	$ cat M/s/procs/t/exit                              K_RESULT: parked until it ends: "0"
 *	$ rmdir M/s/procs/t                                 forgets it (EBUSY while it runs)
 */
#include "fs/fs.h"
#include "core/sess_procs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ---- procs/ctl ---- */

static int lines_start(struct sess *s, const char *arg, fuse_req_t req, const char *text,
		       size_t len)
{
	return sess_procs_ctl(s, text, len, fs_req_intr, req);
}

static void text_start_help(struct sess *s, struct buf *out)
{
	sess_procs_ctl_help(out);
}

/* ---- procs/TAG/: arg is the tag ---- */

static int desk_status(struct sess *s, const char *tag, struct buf *data, struct blob **png,
		       fuse_req_t req)
{
	return sess_proc_status(s, tag, data, fs_req_intr, req);
}

static int out_read(struct sess *s, const char *tag, int err, long long off, size_t len,
		    struct buf *out, struct sess_output *info, fuse_req_t req)
{
	return sess_proc_output(s, tag, err, off, len, out, info, fs_req_intr, req);
}

static int stdout_read(struct sess *s, const char *tag, long long off, size_t len,
		       struct buf *out, struct sess_output *info, fuse_req_t req)
{
	return out_read(s, tag, 0, off, len, out, info, req);
}

static int stderr_read(struct sess *s, const char *tag, long long off, size_t len,
		       struct buf *out, struct sess_output *info, fuse_req_t req)
{
	return out_read(s, tag, 1, off, len, out, info, req);
}

static int stdout_size(struct sess *s, const char *tag, long long *size)
{
	return sess_proc_size(s, tag, 0, size);
}

static int stderr_size(struct sess *s, const char *tag, long long *size)
{
	return sess_proc_size(s, tag, 1, size);
}

static int lines_proc_ctl(struct sess *s, const char *tag, fuse_req_t req, const char *text,
			  size_t len)
{
	return sess_proc_ctl(s, tag, text, len, fs_req_intr, req);
}

static void text_proc_help(struct sess *s, struct buf *out)
{
	sess_proc_ctl_help(out);
}

static const struct fs_node proc_rows[] = {
	{"status", K_DESKTOP, S_IFREG | 0400, .desktop = desk_status},
	{"stdout", K_RLOG, S_IFREG | 0400, .output = stdout_read, .size = stdout_size},
	{"stderr", K_RLOG, S_IFREG | 0400, .output = stderr_read, .size = stderr_size},
	{"stdin", K_RAW, S_IFREG | 0200, .raw = sess_proc_stdin_async},
	{"ctl", K_CTL, S_IFREG | 0600, .text = text_proc_help, .lines = lines_proc_ctl},
	{"exit", K_RESULT, S_IFREG | 0400, .result = sess_proc_exit_async},
	{NULL},
};

static int proc_lookup(struct sess *s, const char *tag, const char *name, struct fs_entry *out,
		       fuse_req_t req)
{
	for (const struct fs_node *r = proc_rows; r->name; r++)
		if (strcmp(r->name, name) == 0) {
			out->node = r;
			snprintf(out->arg, sizeof out->arg, "%s", tag);
			return 0;
		}
	return -ENOENT;
}

static void proc_list(struct sess *s, const char *tag, fuse_req_t req, struct fs_dirlist *l)
{
	for (const struct fs_node *r = proc_rows; r->name; r++)
		fs_dirlist_add(l, r->name, r->mode);
}

static const struct fs_dir proc_dir = {.lookup = proc_lookup, .list = proc_list};
static const struct fs_node proc_node = {NULL, K_DIR, S_IFDIR | 0500, .dir = &proc_dir};

/* ---- procs/ ---- */

static const struct fs_node procs_ctl_row = {"ctl", K_CTL, S_IFREG | 0600,
					     .text = text_start_help, .lines = lines_start};

static int procs_lookup(struct sess *s, const char *darg, const char *name, struct fs_entry *out,
			fuse_req_t req)
{
	if (strcmp(name, "ctl") == 0) {
		out->node = &procs_ctl_row;
		return 0;
	}
	/* a tag the agent knows (asked every time: programs are the agent's) */
	int r = sess_proc_exists(s, name, fs_req_intr, req);
	if (r < 0)
		return r == -ENOENT || r == -EINVAL ? -ENOENT : r;
	out->node = &proc_node;
	snprintf(out->arg, sizeof out->arg, "%s", name);
	return 0;
}

static void procs_list(struct sess *s, const char *darg, fuse_req_t req, struct fs_dirlist *l)
{
	struct buf names = BUF_INIT;
	fs_dirlist_add(l, "ctl", procs_ctl_row.mode);
	sess_procs_list(s, &names); /* a session not ready lists no programs, at once */
	for (size_t i = 0; i < names.len; i += strlen(names.data + i) + 1)
		fs_dirlist_add(l, names.data + i, proc_node.mode);
	buf_free(&names);
}

static int procs_rmdir(struct sess *s, const char *darg, const char *name, fuse_req_t req)
{
	return strcmp(name, "ctl") == 0 ? -ENOTDIR : sess_proc_forget(s, name);
}

const struct fs_dir fs_procs_dir = {
	.lookup = procs_lookup,
	.list = procs_list,
	.rmdir = procs_rmdir,
};
