/*
 * ckpt.c - checkpoints, restores, forks and saved templates; see ckpt.h.
 *
 * Threads: capture, delete, restore and the .ctl lines run on the FUSE
 * server thread that asked, bounded like every other long operation here
 * (a ctl `start` waits for ready the same way), counted as a waiter on the
 * session. Capture holds the session's op_lock (no start, stop or restore
 * meanwhile) but never its lock across the provider's QMP work. ckpt_rekey
 * runs on the session's lifecycle thread.
 */
#include "core/ckpt.h"
#include "core/agentc.h"
#include "core/prov_ops.h"
#include "core/sess.h"
#include "core/sess_int.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define REKEY_MS 20000
#define TEMPLATES_DIR ".templates"

static void ckpt_root(const struct sess *s, char *out, size_t len)
{
	snprintf(out, len, "%s/checkpoints", s->dir);
}

static void ckpt_path(const struct sess *s, const char *c, char *out, size_t len)
{
	snprintf(out, len, "%s/checkpoints/%s", s->dir, c);
}

static int complete(const char *dir)
{
	char path[PATH_MAX + 16];
	struct stat st;
	snprintf(path, sizeof path, "%s/info.json", dir);
	return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int ckpt_exists(struct sess *s, const char *c)
{
	char dir[PATH_MAX];
	if (!util_name_valid(c))
		return 0;
	ckpt_path(s, c, dir, sizeof dir);
	return complete(dir);
}

int ckpt_info_path(struct sess *s, const char *c, char *out, size_t len)
{
	char dir[PATH_MAX];
	if (!ckpt_exists(s, c))
		return -ENOENT;
	ckpt_path(s, c, dir, sizeof dir);
	snprintf(out, len, "%s/info.json", dir);
	return 0;
}

void ckpt_names(struct sess *s, struct buf *names)
{
	char root[PATH_MAX], dir[PATH_MAX + 300];
	ckpt_root(s, root, sizeof root);
	DIR *d = opendir(root);
	struct dirent *de;
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!util_name_valid(de->d_name)) /* .C.tmp: one being made */
			continue;
		snprintf(dir, sizeof dir, "%s/%s", root, de->d_name);
		if (complete(dir))
			buf_append(names, de->d_name, strlen(de->d_name) + 1);
	}
	closedir(d);
}

/* Bytes a file really holds (a sparse ram counts what it has). */
static double file_bytes(const char *dir, const char *name)
{
	char path[PATH_MAX + 16];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return stat(path, &st) == 0 ? (double)st.st_blocks * 512 : 0;
}

static int write_info(struct sess *s, const char *dir, const char *c, const char *kind,
		      double took_ms)
{
	char path[PATH_MAX + 16], ts[40];
	cJSON *j = cJSON_CreateObject();
	util_iso8601(util_now(), ts, sizeof ts);
	pthread_mutex_lock(&s->lock);
	cJSON_AddStringToObject(j, "name", c);
	cJSON_AddStringToObject(j, "session", s->name);
	cJSON_AddStringToObject(j, "session_id", s->id);
	cJSON_AddNumberToObject(j, "owner", s->owner);
	cJSON_AddStringToObject(j, "created_at", ts);
	cJSON_AddStringToObject(j, "kind", kind);
	cJSON_AddStringToObject(j, "template", ""); /* the templates helper's setting */
	cJSON_AddNumberToObject(j, "memory_mb", s->conf.memory);
	set_to_json(&s->conf, cJSON_AddObjectToObject(j, "conf"));
	pthread_mutex_unlock(&s->lock);
	cJSON *sz = cJSON_AddObjectToObject(j, "sizes");
	cJSON_AddNumberToObject(sz, "ram", file_bytes(dir, "ram"));
	cJSON_AddNumberToObject(sz, "state", file_bytes(dir, "state"));
	cJSON_AddNumberToObject(j, "capture_ms", took_ms);
	char *txt = cJSON_Print(j);
	cJSON_Delete(j);
	if (!txt)
		return -ENOMEM;
	snprintf(path, sizeof path, "%s/info.json", dir);
	int r = util_write_file(path, txt, strlen(txt), 0600);
	free(txt);
	return r;
}

static int write_token(struct sess *s, const char *dir)
{
	char path[PATH_MAX + 16], tok[sizeof s->token + 1];
	pthread_mutex_lock(&s->lock);
	int n = snprintf(tok, sizeof tok, "%s\n", s->token);
	pthread_mutex_unlock(&s->lock);
	snprintf(path, sizeof path, "%s/token", dir);
	return util_write_file(path, tok, (size_t)n, 0600);
}

static int unsupported(struct sess *s, struct derr *e)
{
	return derr_set(e, ENOTSUP, "checkpoint_unsupported",
			"session '%s' (provider %s) cannot checkpoint: only provider=qemu VMs "
			"can (their memory and devices are QEMU's to save)",
			s->name, s->conf.provider);
}

int ckpt_capture(struct sess *s, const char *c, struct derr *e)
{
	char root[PATH_MAX], dir[PATH_MAX + 300], tmp[PATH_MAX + 300], kind[16] = "";
	double took = 0;
	int r;
	if (!util_name_valid(c))
		return derr_set(e, EINVAL, "invalid_name",
				"'%.80s' is not a checkpoint name ([A-Za-z0-9][A-Za-z0-9._-]{0,63})",
				c);
	if (!s->prov->checkpoint) {
		r = unsupported(s, e);
		sess_fail(s, 0, e);
		return r;
	}
	if ((r = sess_waiter_enter(s, e)) < 0)
		return r;
	pthread_mutex_lock(&s->op_lock);
	pthread_mutex_lock(&s->lock);
	int ready = s->status == SESS_READY;
	pthread_mutex_unlock(&s->lock);
	ckpt_root(s, root, sizeof root);
	snprintf(dir, sizeof dir, "%s/%s", root, c);
	snprintf(tmp, sizeof tmp, "%s/.%s.tmp", root, c);
	if (!ready) {
		r = derr_set(e, EAGAIN, "not_ready",
			     "session '%s' is not ready; a checkpoint needs a running machine",
			     s->name);
		goto out_unlock;
	}
	if (mkdir(root, 0700) < 0 && errno != EEXIST) {
		r = derr_set(e, errno, "state_dir", "cannot make %s: %s", root, strerror(errno));
		goto out_unlock;
	}
	struct stat st;
	if (lstat(dir, &st) == 0) {
		r = derr_set(e, EEXIST, "exists", "checkpoint '%s' of '%s' exists", c, s->name);
		goto out_unlock;
	}
	util_rm_rf(tmp); /* a capture a crash cut short */
	if (mkdir(tmp, 0700) < 0) {
		r = derr_set(e, errno, "state_dir", "cannot make %s: %s", tmp, strerror(errno));
		goto out_unlock;
	}
	uint64_t t0 = util_mono_ms();
	r = s->prov->checkpoint(s, tmp, kind, sizeof kind, e);
	took = (double)(util_mono_ms() - t0);
	if (r == 0 && (r = write_token(s, tmp)) == 0 && (r = write_info(s, tmp, c, kind, took)) == 0 &&
	    rename(tmp, dir) < 0)
		r = -errno;
	if (r < 0 && !e->code[0])
		derr_set(e, -r, "checkpoint_io", "cannot write checkpoint '%s': %s", c,
			 strerror(-r));
	if (r < 0)
		util_rm_rf(tmp);
out_unlock:
	pthread_mutex_unlock(&s->op_lock);
	sess_waiter_leave(s);
	if (r < 0) {
		if (!e->err)
			e->err = -r;
		sess_fail(s, 0, e);
	} else {
		cJSON *ev = cJSON_CreateObject();
		cJSON_AddStringToObject(ev, "type", "checkpoint");
		cJSON_AddStringToObject(ev, "checkpoint", c);
		cJSON_AddStringToObject(ev, "kind", kind);
		cJSON_AddNumberToObject(ev, "ms", took);
		sess_publish(s, ev, 0);
	}
	return r;
}

int ckpt_delete(struct sess *s, const char *c, struct derr *e)
{
	char dir[PATH_MAX];
	if (!ckpt_exists(s, c))
		return -ENOENT;
	ckpt_path(s, c, dir, sizeof dir);
	/* forks running on its ram keep their mapping: the pages live while they do */
	int r = util_rm_rf(dir);
	if (r < 0)
		derr_set(e, -r, "state_dir", "cannot remove %s: %s", dir, strerror(-r));
	return r;
}

/* info.json of a checkpoint directory, parsed (caller frees), or NULL. */
static cJSON *read_info(const char *dir)
{
	char path[PATH_MAX + 16], *txt = NULL;
	size_t len;
	snprintf(path, sizeof path, "%s/info.json", dir);
	if (util_read_file(path, &txt, &len) < 0)
		return NULL;
	cJSON *j = cJSON_ParseWithLength(txt, len);
	free(txt);
	return j;
}

/* The settings a checkpoint was taken with (over the mount's defaults). */
static int info_conf(const cJSON *info, struct sess_conf *conf, struct derr *e)
{
	*conf = sess_options()->defaults;
	if (set_from_json(conf, cJSON_GetObjectItem(info, "conf")) > 0 ||
	    strcmp(conf->provider, "qemu") != 0)
		return derr_set(e, EINVAL, "checkpoint_unreadable",
				"the checkpoint's settings cannot be read back");
	return 0;
}

int ckpt_restore(struct sess *s, const char *c, struct derr *e)
{
	char dir[PATH_MAX];
	struct sess_conf cc;
	if (!s->prov->checkpoint)
		return unsupported(s, e);
	if (!ckpt_exists(s, c))
		return derr_set(e, ENOENT, "no_such_checkpoint",
				"session '%s' has no checkpoint '%.80s' (ls checkpoints/)", s->name, c);
	ckpt_path(s, c, dir, sizeof dir);
	cJSON *info = read_info(dir);
	int r = info_conf(info, &cc, e);
	cJSON_Delete(info);
	if (r < 0)
		return r;
	__atomic_store_n(&s->discard, 1, __ATOMIC_RELEASE); /* its state goes: no powerdown */
	sess_stop(s);
	__atomic_store_n(&s->discard, 0, __ATOMIC_RELEASE);
	/* the machine is C's: its size and memory are, whatever a resize said since */
	pthread_mutex_lock(&s->lock);
	s->conf.memory = cc.memory;
	s->conf.cpus = cc.cpus;
	s->conf.width = cc.width;
	s->conf.height = cc.height;
	pthread_mutex_unlock(&s->lock);
	r = sess_start_origin(s, dir);
	if (r < 0)
		return derr_set(e, -r, "restore_failed", "session '%s' could not start from '%s'",
				s->name, c);
	cJSON *ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "type", "restore");
	cJSON_AddStringToObject(ev, "checkpoint", c);
	sess_publish(s, ev, 1);
	return sess_wait_ready(s, NULL, NULL);
}

/* ---- forks ---- */

/* "NAME/C" -> the checkpoint's directory, if uid may fork it. */
static int resolve_ref(const char *ref, uid_t uid, char *dir, size_t len, struct derr *e)
{
	char name[80], c[80];
	const char *slash = strchr(ref, '/');
	if (!slash || (size_t)(slash - ref) >= sizeof name || strlen(slash + 1) >= sizeof c)
		return derr_set(e, EINVAL, "invalid_from", "from=%.80s is not NAME/CHECKPOINT",
				ref);
	snprintf(name, sizeof name, "%.*s", (int)(slash - ref), ref);
	snprintf(c, sizeof c, "%s", slash + 1);
	struct sess *s = sess_get(name);
	int r = 0;
	if (!s || !sess_may_access(s, uid))
		r = derr_set(e, s ? EACCES : ENOENT, s ? "not_yours" : "no_such_session",
			     "session '%.64s' %s", name,
			     s ? "belongs to another user" : "does not exist");
	else if (!ckpt_exists(s, c))
		r = derr_set(e, ENOENT, "no_such_checkpoint", "session '%s' has no checkpoint '%.64s'",
			     name, c);
	else
		ckpt_path(s, c, dir, len);
	sess_put(s);
	return r;
}

int ckpt_template_find(const char *t, uid_t uid, char *dir, size_t len, struct sess_conf *conf,
		       struct derr *e)
{
	if (!util_name_valid(t))
		return 0;
	snprintf(dir, len, "%s/%s/%s", sess_options()->statedir, TEMPLATES_DIR, t);
	cJSON *info = read_info(dir);
	if (!info)
		return 0;
	int r = 1;
	const cJSON *owner = cJSON_GetObjectItem(info, "owner");
	if (uid != 0 && (!cJSON_IsNumber(owner) || (uid_t)owner->valuedouble != uid))
		r = derr_set(e, EACCES, "not_yours", "template '%s' belongs to another user", t);
	else if (conf && info_conf(info, conf, e) < 0)
		r = -EINVAL;
	cJSON_Delete(info);
	return r;
}

/* Keys a fork may not change: they must be the checkpoint's (its machine). */
static int fork_conf_check(const struct sess_conf *c0, const struct sess_conf *c, struct derr *e)
{
	if (strcmp(c->provider, "qemu") != 0)
		return derr_set(e, EINVAL, "invalid_setting",
				"a fork is provider=qemu (from= implies it), not %s", c->provider);
	if (c->memory != c0->memory || c->cpus != c0->cpus || c->width != c0->width ||
	    c->height != c0->height)
		return derr_set(e, EINVAL, "invalid_setting",
				"memory, cpus and size are the checkpoint's (memory=%d cpus=%d "
				"size=%dx%d): a fork cannot change them",
				c0->memory, c0->cpus, c0->width, c0->height);
	return 0;
}

int ckpt_gctl_create(const char *name, char **kv, int nkv, uid_t uid, gid_t gid, int dry,
		     struct derr *e)
{
	char dir[PATH_MAX], kverr[300];
	struct sess_conf c0, conf;
	int from = -1, r = 0;
	for (int i = 0; i < nkv && from < 0; i++)
		if (strncmp(kv[i], "from=", 5) == 0)
			from = i;
	if (from >= 0) {
		if ((r = resolve_ref(kv[from] + 5, uid, dir, sizeof dir, e)) < 0)
			return r;
		cJSON *info = read_info(dir);
		r = info_conf(info, &c0, e);
		cJSON_Delete(info);
		if (r < 0)
			return r;
	} else {
		for (int i = 0; i < nkv && from < 0; i++)
			if (strncmp(kv[i], "template=", 9) == 0) {
				r = ckpt_template_find(kv[i] + 9, uid, dir, sizeof dir, &c0, e);
				if (r < 0)
					return r;
				if (r == 1)
					from = i;
			}
		if (from < 0)
			return 0; /* no fork: an ordinary create */
	}
	conf = c0;
	for (int i = 0; i < nkv; i++) {
		char *eq = strchr(kv[i], '=');
		if (i == from)
			continue;
		if (!eq || eq == kv[i])
			return derr_set(e, EINVAL, "invalid_command", "'%.60s' is not key=value",
					kv[i]);
		*eq = '\0';
		r = set_parse(&conf, kv[i], eq + 1, kverr, sizeof kverr);
		*eq = '=';
		if (r < 0)
			return derr_set(e, EINVAL, "invalid_setting", "%s", kverr);
	}
	if ((r = fork_conf_check(&c0, &conf, e)) < 0 || dry)
		return r < 0 ? r : 1;
	struct sess *s = NULL;
	r = sess_create_from(name, &conf, dir, uid, gid, &s, e);
	if (r < 0)
		return r;
	r = sess_wait_ready(s, NULL, NULL); /* create from= returns once it runs */
	if (r < 0)
		derr_set(e, -r, "fork_failed", "the fork '%s' did not become ready (see its error)",
			 name);
	sess_put(s);
	return r < 0 ? r : 1;
}

/* ---- saved templates ---- */

static int link_or_copy(const char *from, const char *to)
{
	if (link(from, to) == 0)
		return 0;
	if (errno == ENOENT)
		return 0; /* a stream checkpoint has no ram */
	char *data = NULL;
	size_t len;
	int r = util_read_file(from, &data, &len);
	if (r == 0)
		r = util_write_file(to, data, len, 0600);
	free(data);
	return r;
}

static int template_save(const char *t, const char *ref, uid_t uid, int dry, struct derr *e)
{
	char src[PATH_MAX], root[PATH_MAX], dst[PATH_MAX + 80], tmp[PATH_MAX + 80];
	char a[PATH_MAX + 16], b[PATH_MAX + 100];
	int r = resolve_ref(ref, uid, src, sizeof src, e);
	if (r < 0 || dry)
		return r;
	snprintf(root, sizeof root, "%s/%s", sess_options()->statedir, TEMPLATES_DIR);
	snprintf(dst, sizeof dst, "%s/%s", root, t);
	snprintf(tmp, sizeof tmp, "%s/.%s.tmp", root, t);
	struct stat st;
	if (mkdir(root, 0700) < 0 && errno != EEXIST)
		return derr_set(e, errno, "state_dir", "cannot make %s: %s", root, strerror(errno));
	if (lstat(dst, &st) == 0)
		return derr_set(e, EEXIST, "exists", "template '%s' exists (template delete %s)", t,
				t);
	util_rm_rf(tmp);
	if (mkdir(tmp, 0700) < 0)
		return derr_set(e, errno, "state_dir", "cannot make %s: %s", tmp, strerror(errno));
	static const char *const files[] = {"ram", "state", "token"};
	for (size_t i = 0; r == 0 && i < 3; i++) {
		snprintf(a, sizeof a, "%s/%s", src, files[i]);
		snprintf(b, sizeof b, "%s/%s", tmp, files[i]);
		r = link_or_copy(a, b); /* same inodes: C's ram is never written by anyone */
	}
	cJSON *info = read_info(src);
	if (r == 0 && !info)
		r = -EIO;
	if (r == 0) {
		char ts[40];
		util_iso8601(util_now(), ts, sizeof ts);
		cJSON *k = cJSON_GetObjectItem(info, "kind");
		cJSON_AddStringToObject(info, "checkpoint_kind", cJSON_GetStringValue(k) ?: "stream");
		cJSON_ReplaceItemInObject(info, "kind", cJSON_CreateString("checkpoint"));
		cJSON_AddStringToObject(info, "source", ref);
		cJSON_ReplaceItemInObject(info, "name", cJSON_CreateString(t));
		cJSON_ReplaceItemInObject(info, "owner", cJSON_CreateNumber(uid));
		cJSON_AddStringToObject(info, "saved_at", ts);
		cJSON_AddStringToObject(info, "description", "a saved checkpoint: forks restore it");
		char *txt = cJSON_Print(info);
		snprintf(b, sizeof b, "%s/info.json", tmp);
		r = txt ? util_write_file(b, txt, strlen(txt), 0600) : -ENOMEM;
		free(txt);
	}
	cJSON_Delete(info);
	if (r == 0 && rename(tmp, dst) < 0)
		r = -errno;
	if (r < 0) {
		util_rm_rf(tmp);
		derr_set(e, -r, "template_save", "cannot save template '%s': %s", t, strerror(-r));
	}
	return r;
}

static int template_delete(const char *t, uid_t uid, int dry, struct derr *e)
{
	char dir[PATH_MAX];
	int r = ckpt_template_find(t, uid, dir, sizeof dir, NULL, e);
	if (r == 0)
		return derr_set(e, ENOENT, "no_such_template", "there is no saved template '%.64s'",
				t);
	if (r < 0 || dry)
		return r < 0 ? r : 0;
	r = util_rm_rf(dir);
	if (r < 0)
		derr_set(e, -r, "state_dir", "cannot remove %s: %s", dir, strerror(-r));
	return r;
}

int ckpt_gctl_template(char **args, int nargs, uid_t uid, int dry, struct derr *e)
{
	const char *op = nargs > 0 ? args[0] : "", *t = nargs > 1 ? args[1] : "";
	if (nargs > 1 && !util_name_valid(t))
		return derr_set(e, EINVAL, "invalid_name",
				"'%.80s' is not a template name ([A-Za-z0-9][A-Za-z0-9._-]{0,63})", t);
	if (strcmp(op, "save") == 0 && nargs == 3 && strncmp(args[2], "from=", 5) == 0)
		return template_save(t, args[2] + 5, uid, dry, e);
	if (strcmp(op, "delete") == 0 && nargs == 2)
		return template_delete(t, uid, dry, e);
	return derr_set(e, EINVAL, "invalid_command",
			"expected 'template save T from=NAME/CHECKPOINT' or 'template delete T'");
}

/* ---- re-key ---- */

static void base64(const unsigned char *in, size_t n, char *out)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) |
			     (i + 2 < n ? in[i + 2] : 0);
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	out[o] = '\0';
}

static int random_bytes(unsigned char *out, size_t n)
{
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	ssize_t got = fd < 0 ? -1 : read(fd, out, n);
	if (fd >= 0)
		close(fd);
	return got == (ssize_t)n ? 0 : -EIO;
}

int ckpt_rekey(struct sess *s, struct derr *e)
{
	char path[PATH_MAX + 16], url[256], newtok[sizeof s->token], *old = NULL, seed64[100];
	unsigned char seed[64];
	size_t len;
	struct timespec now;
	snprintf(path, sizeof path, "%s/token", s->origin);
	if (util_read_file(path, &old, &len) < 0 || random_bytes(seed, sizeof seed) < 0) {
		free(old);
		return derr_set(e, EIO, "checkpoint_token", "cannot read %s", path);
	}
	old[strcspn(old, "\n")] = '\0';
	pthread_mutex_lock(&s->lock);
	snprintf(url, sizeof url, "%s", s->agent_url);
	snprintf(newtok, sizeof newtok, "%s", s->token);
	pthread_mutex_unlock(&s->lock);
	struct agentc *c = agentc_new(NULL, url, old);
	free(old);
	if (!c)
		return -ENOMEM;
	base64(seed, sizeof seed, seed64);
	struct buf out = BUF_INIT;
	uint64_t end = util_mono_ms() + REKEY_MS;
	int r;
	do {
		char body[512], tm[48];
		clock_gettime(CLOCK_REALTIME, &now); /* at each try: the clock is set to now */
		snprintf(tm, sizeof tm, "%lld.%09ld", (long long)now.tv_sec, now.tv_nsec);
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "token", newtok);
		cJSON_AddStringToObject(j, "seed", seed64);
		cJSON_AddStringToObject(j, "time", tm);
		char *txt = cJSON_PrintUnformatted(j);
		cJSON_Delete(j);
		snprintf(body, sizeof body, "%s", txt ? txt : "{}");
		free(txt);
		struct agentc_call call = {.timeout_ms = 3000};
		buf_reset(&out);
		r = agentc_request(c, "POST", "/v1/identity", body, strlen(body), &call, &out, e);
		if (r == 0 || r == -EACCES || r == -ENOENT || sess_should_stop(s))
			break;
		util_sleep_ms(20);
	} while (util_mono_ms() < end);
	agentc_unref(c);
	buf_free(&out);
	explicit_bzero(seed, sizeof seed);
	if (r < 0) {
		char why[sizeof e->msg];
		snprintf(why, sizeof why, "%s", e->msg);
		derr_set(e, -r, "rekey_failed",
			 "the resumed agent did not take its new identity (%s): %s",
			 r == -EACCES ? "the checkpoint's token was refused" :
			 r == -ENOENT ? "its agent has no /v1/identity" : "no answer",
			 why);
	}
	return r;
}
