/*
 * node.c - the tree: which names exist, their inode numbers and attributes.
 * getattr and readdir come through here and never capture or call a guest.
 */
#include "fs/fs.h"
#include "core/sess_ops.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const struct fs_file fs_session_files[] = {
	/* a session is its owner's alone: with allow_other, others get EACCES */
	{"status", N_STATUS, K_SNAPSHOT, S_IFREG | 0400},
	{"session.json", N_RECORD, K_SNAPSHOT, S_IFREG | 0400},
	{"screenshot.png", N_SCREENSHOT, K_DESKTOP, S_IFREG | 0400},
	{"actions", N_ACTIONS, K_ACTIONS, S_IFREG | 0600},
	{"observation.json", N_OBSERVATION, K_DESKTOP, S_IFREG | 0400},
	{"events", N_EVENTS, K_STREAM, S_IFREG | 0400},
	{"error", N_ERROR, K_SNAPSHOT, S_IFREG | 0400},
	{"ctl", N_SCTL, K_CTL, S_IFREG | 0600},
	{"artifacts", N_ARTDIR, K_DIR, S_IFDIR | 0500},
	{"xauthority", N_XAUTH, K_SNAPSHOT, S_IFREG | 0400}, /* the display's X cookie */
	{NULL, 0, 0, 0},
};

const struct fs_file fs_control_files[] = {
	{".ctl", N_GCTL, K_CTL, S_IFREG | 0666}, /* anyone may create; destroy checks the owner */
	{".providers.json", N_PROVIDERS, K_SNAPSHOT, S_IFREG | 0444},
	{".events", N_GEVENTS, K_STREAM, S_IFREG | 0444},
	{NULL, 0, 0, 0},
};

const struct fs_file *fs_file_by_node(const struct fs_file *t, int node)
{
	for (; t->name; t++)
		if (t->node == node)
			return t;
	return NULL;
}

const struct fs_file *fs_file_by_name(const struct fs_file *t, const char *name)
{
	for (; t->name; t++)
		if (strcmp(t->name, name) == 0)
			return t;
	return NULL;
}

int fs_artifact_slot(struct sess *s, const char *name)
{
	char path[PATH_MAX + 300];
	struct stat st;
	if (strchr(name, '/') || name[0] == '.')
		return -ENOENT;
	snprintf(path, sizeof path, "%s/%s", s->artdir, name);
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return -ENOENT;
	int slot = -ENOSPC;
	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < s->nartifacts; i++)
		if (strcmp(s->artifacts[i], name) == 0) {
			slot = i;
			goto out_unlock;
		}
	if (s->nartifacts < SESS_MAX_ARTIFACTS) {
		s->artifacts[s->nartifacts] = strdup(name);
		if (s->artifacts[s->nartifacts])
			slot = s->nartifacts++;
	}
out_unlock:
	pthread_mutex_unlock(&s->lock);
	return slot;
}

int fs_artifact_name(struct sess *s, int slot, char *out, size_t len)
{
	int r = -ENOENT;
	pthread_mutex_lock(&s->lock);
	if (slot >= 0 && slot < s->nartifacts) {
		snprintf(out, len, "%s", s->artifacts[slot]);
		r = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

static off_t text_size(struct sess *s, void (*fn)(struct sess *, struct buf *))
{
	struct buf b = BUF_INIT;
	fn(s, &b);
	off_t n = (off_t)b.len;
	buf_free(&b);
	return n;
}

static off_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_size : 0;
}

static int stat_control(int node, struct stat *st)
{
	struct buf b = BUF_INIT;
	if (node == N_ROOT) {
		/* shared mounts: anyone may mkdir, only owners rmdir (sticky, like /tmp) */
		st->st_mode = S_IFDIR | (fs_shared ? 01777 : 0755);
		st->st_nlink = 2;
		return 0;
	}
	const struct fs_file *f = fs_file_by_node(fs_control_files, node);
	if (!f)
		return -ENOENT;
	st->st_mode = f->mode;
	if (node == N_GCTL)
		sess_global_info(&b);
	else if (node == N_PROVIDERS)
		sess_providers_json(&b);
	st->st_size = (off_t)b.len;
	buf_free(&b);
	return 0;
}

static int stat_session(struct sess *s, int node, struct stat *st)
{
	char path[PATH_MAX + 300], name[256];
	st->st_mtime = (time_t)s->created_at;
	st->st_uid = s->owner;
	st->st_gid = s->group;
	if (node == N_SDIR || node == N_ARTDIR) {
		st->st_mode = node == N_SDIR ? S_IFDIR | 0700 : S_IFDIR | 0500;
		st->st_nlink = node == N_SDIR ? 3 : 2;
		return 0;
	}
	if (node >= N_ART_BASE) {
		if (fs_artifact_name(s, node - N_ART_BASE, name, sizeof name) < 0)
			return -ENOENT;
		snprintf(path, sizeof path, "%s/%s", s->artdir, name);
		struct stat real;
		if (stat(path, &real) < 0)
			return -ENOENT;
		st->st_mode = S_IFREG | 0400;
		st->st_size = real.st_size;
		st->st_mtime = real.st_mtime;
		return 0;
	}
	const struct fs_file *f = fs_file_by_node(fs_session_files, node);
	if (!f)
		return -ENOENT;
	st->st_mode = f->mode;
	st->st_mtime = time(NULL);
	switch (node) {
	case N_STATUS:
		st->st_size = text_size(s, sess_status_text);
		break;
	case N_RECORD:
		st->st_size = text_size(s, sess_record_json);
		break;
	case N_ERROR:
		st->st_size = text_size(s, sess_error_json);
		break;
	case N_XAUTH:
		st->st_size = text_size(s, sess_xauth_bytes);
		break;
	case N_ACTIONS:
		sess_actions_log_path(s, path, sizeof path);
		st->st_size = file_size(path);
		break;
	case N_SCREENSHOT:
	case N_OBSERVATION:
		/* the size of the last capture: fstat after open sees its own */
		pthread_mutex_lock(&s->lock);
		st->st_size = (off_t)s->snap_size[node];
		pthread_mutex_unlock(&s->lock);
		break;
	default:
		st->st_size = 0;
	}
	return 0;
}

int fs_shared;

int fs_stat(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof *st);
	st->st_ino = ino;
	st->st_nlink = 1;
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_mtime = time(NULL);
	uint64_t sid = FS_SID(ino);
	if (sid == 0)
		return stat_control(FS_NODE(ino), st);
	struct sess *s = sess_get_sid(sid);
	if (!s)
		return -ENOENT;
	int r = stat_session(s, FS_NODE(ino), st);
	st->st_atime = st->st_ctime = st->st_mtime;
	sess_put(s);
	return r;
}
