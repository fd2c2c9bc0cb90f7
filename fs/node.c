/*
 * node.c - the tree's rows and directory providers: which names exist,
 * what each one does, and their attributes. getattr and readdir come
 * through here and never capture or call a guest.
 *
 * A new kind of file is a row; a new directory is a row whose .dir is an
 * fs_dir (lookup + list). The session's table is the one place its
 * children are named.
 */
#include "fs/fs.h"
#include "core/sess_ops.h"
#include "core/tmpl.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int fs_shared;

int fs_may(fuse_req_t req, const struct sess *s)
{
	return sess_may_access(s, fuse_req_ctx(req)->uid);
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

int fs_req_intr(void *arg)
{
	return arg && fuse_req_interrupted((fuse_req_t)arg);
}

/* ---- handlers: thin adapters from a row to the core ---- */

static int desk_screenshot(struct sess *s, const char *arg, struct buf *data, struct blob **png,
			   fuse_req_t req)
{
	return sess_capture(s, png, fs_req_intr, req);
}

static int desk_observe(struct sess *s, const char *arg, struct buf *data, struct blob **png,
			fuse_req_t req)
{
	return sess_observe(s, data, fs_req_intr, req);
}

static int lines_actions(struct sess *s, const char *arg, fuse_req_t req, const char *text,
			 size_t len)
{
	return sess_actions(s, text, len, fs_req_intr, req);
}

static int lines_ctl(struct sess *s, const char *arg, fuse_req_t req, const char *text,
		     size_t len)
{
	return sess_ctl(s, text, len);
}

static int lines_gctl(struct sess *s, const char *arg, fuse_req_t req, const char *text,
		      size_t len)
{
	struct derr e = DERR_INIT;
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	int r = sess_global_ctl(text, len, ctx->uid, ctx->gid, &e);
	if (r < 0)
		fs_global_error(".ctl", NULL, &e, ctx->uid);
	return r;
}

static void text_ctl_help(struct sess *s, struct buf *out)
{
	sess_ctl_help(out);
}

static void text_global(struct sess *s, struct buf *out)
{
	sess_global_info(out);
}

static void text_providers(struct sess *s, struct buf *out)
{
	sess_providers_json(out);
}

static struct evq_hub *hub_global(struct sess *s)
{
	return sess_global_events();
}

static int log_actions(struct sess *s, const char *arg, char *path, size_t len)
{
	sess_actions_log_path(s, path, len);
	return 0;
}

/* An artifact: a plain file of artifacts/, by name (no dot files, no paths). */
static int log_artifact(struct sess *s, const char *arg, char *path, size_t len)
{
	struct stat st;
	if (!arg || !util_name_valid(arg))
		return -ENOENT;
	snprintf(path, len, "%s/%s", sess_artdir(s), arg);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) ? 0 : -ENOENT;
}

/* ---- directories ---- */

void fs_dirlist_add(struct fs_dirlist *l, const char *name, mode_t mode)
{
	l->add(l->ctx, name, mode);
}

static const struct fs_node artifact_node = {NULL, K_LOG, S_IFREG | 0400, .log = log_artifact};

static int artifacts_lookup(struct sess *s, const char *darg, const char *name,
			    struct fs_entry *out, fuse_req_t req)
{
	char path[PATH_MAX + 300];
	if (log_artifact(s, name, path, sizeof path) < 0)
		return -ENOENT;
	out->node = &artifact_node;
	snprintf(out->arg, sizeof out->arg, "%s", name);
	return 0;
}

static void artifacts_list(struct sess *s, const char *darg, fuse_req_t req,
			   struct fs_dirlist *l)
{
	DIR *d = opendir(sess_artdir(s));
	struct dirent *de;
	if (!d)
		return;
	while ((de = readdir(d)))
		if (de->d_type == DT_REG && util_name_valid(de->d_name))
			fs_dirlist_add(l, de->d_name, S_IFREG | 0400);
	closedir(d);
}

static const struct fs_dir artifacts_dir = {.lookup = artifacts_lookup, .list = artifacts_list};

/*
 * A session is its owner's alone: with allow_other, others get EACCES (0700),
 * procs/ and files/ included. files/ is not in this table: it is found by
 * name (session_lookup) but never listed, so ls -lR, find and grep -r never
 * walk a guest's files (as a NetApp .snapshot directory).
 */
static const struct fs_node session_rows[] = {
	{"status", K_SNAPSHOT, S_IFREG | 0400, .text = sess_status_text},
	{"session.json", K_SNAPSHOT, S_IFREG | 0400, .text = sess_record_json},
	{"screenshot.png", K_DESKTOP, S_IFREG | 0400, .desktop = desk_screenshot},
	{"actions", K_ACTIONS, S_IFREG | 0600, .log = log_actions, .lines = lines_actions},
	{"observation.json", K_DESKTOP, S_IFREG | 0400, .desktop = desk_observe},
	{"events", K_STREAM, S_IFREG | 0400, .hub = sess_events},
	{"error", K_SNAPSHOT, S_IFREG | 0400, .text = sess_error_json},
	{"ctl", K_CTL, S_IFREG | 0600, .text = text_ctl_help, .lines = lines_ctl},
	{"artifacts", K_DIR, S_IFDIR | 0500, .dir = &artifacts_dir},
	{"procs", K_DIR, S_IFDIR | 0700, .dir = &fs_procs_dir},
	{"checkpoints", K_DIR, S_IFDIR | 0700, .dir = &fs_ckpt_dir},
	{"xauthority", K_SNAPSHOT, S_IFREG | 0400, .text = sess_xauth_bytes}, /* X cookie */
	{NULL},
};

static int table_lookup(const struct fs_node *rows, const char *name,
			const struct fs_node **node)
{
	for (const struct fs_node *r = rows; r->name; r++)
		if (strcmp(r->name, name) == 0) {
			*node = r;
			return 0;
		}
	return -ENOENT;
}

static void table_list(const struct fs_node *rows, struct fs_dirlist *l)
{
	for (const struct fs_node *r = rows; r->name; r++)
		fs_dirlist_add(l, r->name, r->mode);
}

static int session_lookup(struct sess *s, const char *darg, const char *name,
			  struct fs_entry *out, fuse_req_t req)
{
	if (strcmp(name, "files") == 0) { /* reachable by name, never listed */
		out->node = &fs_files_dir_node;
		snprintf(out->arg, sizeof out->arg, "/");
		return 0;
	}
	return table_lookup(session_rows, name, &out->node);
}

static void session_list(struct sess *s, const char *darg, fuse_req_t req, struct fs_dirlist *l)
{
	table_list(session_rows, l);
}

static const struct fs_dir session_dir = {.lookup = session_lookup, .list = session_list};
const struct fs_node fs_session_node = {NULL, K_DIR, S_IFDIR | 0700, .dir = &session_dir};

/* .templates/: T.json for every template (core/tmpl.h), read-only; the
 * checkpoints side saves and deletes them through .ctl, never here. */
static void text_template(struct sess *s, const char *arg, struct buf *out)
{
	struct tmpl t;
	struct derr e = DERR_INIT;
	if (tmpl_find(arg, &t, &e) < 0)
		return;
	cJSON *j = cJSON_CreateObject();
	tmpl_to_json(&t, j);
	char *txt = cJSON_Print(j);
	if (txt)
		buf_printf(out, "%s\n", txt);
	free(txt);
	cJSON_Delete(j);
}

static const struct fs_node template_node = {NULL, K_SNAPSHOT, S_IFREG | 0444,
					     .text_arg = text_template};

static int templates_lookup(struct sess *none, const char *darg, const char *name,
			    struct fs_entry *out, fuse_req_t req)
{
	struct tmpl t;
	struct derr e = DERR_INIT;
	size_t n = strlen(name);
	char tname[TMPL_NAME_MAX];
	if (n <= 5 || n - 5 >= sizeof tname || strcmp(name + n - 5, ".json") != 0)
		return -ENOENT;
	snprintf(tname, sizeof tname, "%.*s", (int)(n - 5), name);
	if (tmpl_find(tname, &t, &e) < 0 || strcmp(t.name, tname) != 0)
		return -ENOENT;
	out->node = &template_node;
	snprintf(out->arg, sizeof out->arg, "%s", tname);
	return 0;
}

static void templates_list(struct sess *none, const char *darg, fuse_req_t req,
			   struct fs_dirlist *l)
{
	struct tmpl *all;
	char name[TMPL_NAME_MAX + 8];
	int n;
	if (tmpl_list(&all, &n) < 0)
		return;
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof name, "%s.json", all[i].name);
		fs_dirlist_add(l, name, S_IFREG | 0444);
	}
	free(all);
}

/* Read-only: the control plane is not changed by name (fs/ops.c answers
 * EPERM); `template save` / `template delete` in .ctl make and remove them. */
static const struct fs_dir templates_dir = {.lookup = templates_lookup, .list = templates_list};

/* The control plane: names starting with '.'; everything else is a session. */
static const struct fs_node control_rows[] = {
	/* anyone may create; destroy checks the owner */
	{".ctl", K_CTL, S_IFREG | 0666, .text = text_global, .lines = lines_gctl},
	{".providers.json", K_SNAPSHOT, S_IFREG | 0444, .text = text_providers},
	{".events", K_STREAM, S_IFREG | 0444, .hub = hub_global},
	{".templates", K_DIR, S_IFDIR | 0555, .dir = &templates_dir},
	{NULL},
};

static int root_lookup(struct sess *none, const char *darg, const char *name,
		       struct fs_entry *out, fuse_req_t req)
{
	if (table_lookup(control_rows, name, &out->node) == 0)
		return 0;
	/* another user's session exists (mode 0700): the kernel answers EACCES */
	struct sess *s = sess_get(name);
	if (!s)
		return -ENOENT;
	out->sid = sess_sid(s);
	out->node = &fs_session_node;
	sess_put(s);
	return 0;
}

static void root_list(struct sess *none, const char *darg, fuse_req_t req, struct fs_dirlist *l)
{
	char **names;
	uint64_t *sids;
	int n = 0;
	table_list(control_rows, l);
	if (sess_names(&names, &sids, &n) < 0)
		return;
	for (int i = 0; i < n; i++) {
		struct sess *o = sess_get_sid(sids[i]);
		if (o && fs_may(req, o)) /* ls shows each user their own */
			fs_dirlist_add(l, names[i], S_IFDIR | 0700);
		sess_put(o);
	}
	sess_names_free(names, sids, n);
}

static const struct fs_dir root_dir = {.lookup = root_lookup, .list = root_list};
const struct fs_node fs_root_node = {NULL, K_DIR, S_IFDIR | 0755, .dir = &root_dir};

/* ---- attributes ---- */

struct sess *fs_sess_of(struct fs_inode *in, int *r)
{
	*r = 0;
	if (!in->sid)
		return NULL;
	struct sess *s = sess_get_sid(in->sid);
	if (!s)
		*r = -ENOENT;
	return s;
}

static off_t text_size(struct sess *s, void (*fn)(struct sess *, struct buf *))
{
	struct buf b = BUF_INIT;
	fn(s, &b);
	off_t n = (off_t)b.len;
	buf_free(&b);
	return n;
}

int fs_stat(struct fs_inode *in, struct stat *st, fuse_req_t req)
{
	const struct fs_node *n = in->node;
	char path[PATH_MAX + 300], arg[FS_ARG_MAX];
	int r;
	if (fs_inode_arg(in, arg, sizeof arg) < 0)
		return -ENAMETOOLONG;
	memset(st, 0, sizeof *st);
	st->st_ino = in->ino;
	st->st_nlink = n->kind == K_DIR ? 2 : 1;
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_mode = n->mode;
	st->st_mtime = time(NULL);
	if (in->ino == FUSE_ROOT_ID) /* shared mounts: anyone may mkdir, only owners rmdir */
		st->st_mode = S_IFDIR | (fs_shared ? 01777 : 0755);
	struct sess *s = fs_sess_of(in, &r);
	if (r < 0)
		return r;
	if (s) {
		st->st_uid = sess_owner(s);
		st->st_gid = sess_group(s);
		if (n == &fs_session_node)
			st->st_mtime = (time_t)sess_created_at(s);
	}
	if (n->getattr && s) { /* files/: as they are where they live */
		r = n->getattr(s, arg, st, req);
		st->st_ino = in->ino;
		if (n->kind == K_FILE)
			st->st_blksize = 1 << 20; /* cp and friends move a MiB at a time */
		sess_put(s);
		return r;
	}
	if (n->kind == K_SNAPSHOT && n->text_arg) {
		struct buf b = BUF_INIT;
		n->text_arg(s, arg, &b);
		st->st_size = (off_t)b.len;
		buf_free(&b);
	} else if (n->kind == K_SNAPSHOT || (n->kind == K_CTL && !s)) {
		st->st_size = text_size(s, n->text);
	}
	else if (n->kind == K_DESKTOP || n->kind == K_RESULT) /* the last one built */
		st->st_size = (off_t)fs_inode_size_hint(in);
	if (n->kind == K_RLOG && s) { /* a growing log elsewhere: tail -f asks its size */
		long long size;
		if (n->size(s, arg, &size) == 0 && size >= 0)
			fs_inode_set_size_hint(in, (size_t)size);
		st->st_size = (off_t)fs_inode_size_hint(in);
	}
	if ((n->kind == K_LOG || n->kind == K_ACTIONS) && n->log) {
		struct stat real;
		r = n->log(s, arg, path, sizeof path);
		if (r == 0 && stat(path, &real) == 0) {
			st->st_size = real.st_size;
			st->st_mtime = real.st_mtime;
		} else if (n->kind == K_LOG) {
			r = -ENOENT;
		} else {
			r = 0; /* no receipts yet: empty */
		}
	}
	st->st_atime = st->st_ctime = st->st_mtime;
	sess_put(s);
	return r;
}
