/*
 * tmpl.c - templates: find a recipe's guest directory or a saved
 * checkpoint by name, list them all, describe one as JSON, and the
 * create-time rule for the `template` setting. See tmpl.h.
 *
 * Nothing here is cached: a template built (make template-desktop) or
 * saved while the daemon runs is seen at the next look-up.
 */
#include "core/tmpl.h"
#include "common/exe.h"
#include "core/sess.h"
#include "core/settings.h"
#include "core/util.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TMPL_MINIMAL_MB 256 /* the setting's old default: a guest without template.json */
#define TMPL_MAX 256        /* listed at most */

/* Bytes a directory's regular files take on disk (sparse files count what they hold). */
static long long dir_bytes(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	long long n = 0;
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char p[PATH_MAX + 300];
		struct stat st;
		snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
		if (de->d_name[0] != '.' && stat(p, &st) == 0 && S_ISREG(st.st_mode))
			n += (long long)st.st_blocks * 512;
	}
	closedir(d);
	return n;
}

static cJSON *read_json(const char *path)
{
	char *txt = NULL;
	size_t len;
	if (util_read_file(path, &txt, &len) < 0)
		return NULL;
	cJSON *j = cJSON_ParseWithLength(txt, len);
	free(txt);
	return j;
}

static const char *jstr(const cJSON *j, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(j, key);
	return cJSON_IsString(it) ? it->valuestring : NULL;
}

static double jnum(const cJSON *j, const char *key, double def)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(j, key);
	return cJSON_IsNumber(it) ? it->valuedouble : def;
}

/* A recipe's guest directory: 1 and *t filled if vmlinux + initramfs.cpio are there. */
static int recipe_at(const char *dir, const char *name, struct tmpl *t)
{
	char p[PATH_MAX + 64];
	struct stat st;
	snprintf(p, sizeof p, "%s/vmlinux", dir);
	if (access(p, R_OK) < 0)
		return 0;
	snprintf(p, sizeof p, "%s/initramfs.cpio", dir);
	if (access(p, R_OK) < 0)
		return 0;
	memset(t, 0, sizeof *t);
	char *real = realpath(dir, NULL);
	snprintf(t->dir, sizeof t->dir, "%s", real ? real : dir);
	free(real);
	snprintf(t->name, sizeof t->name, "%s", name);
	t->kind = TMPL_RECIPE;
	t->memory_mb = TMPL_MINIMAL_MB;
	snprintf(p, sizeof p, "%s/base.img", t->dir);
	t->has_base = access(p, R_OK) == 0;
	snprintf(p, sizeof p, "%s/manifest.txt", t->dir);
	if (stat(p, &st) == 0)
		t->created_at = (double)st.st_mtime;
	snprintf(p, sizeof p, "%s/template.json", t->dir);
	cJSON *j = read_json(p);
	const char *desc = jstr(j, "description");
	snprintf(t->description, sizeof t->description, "%s",
		 desc ? desc : "busybox, Xvfb and the agent, all in the initramfs");
	double mb = jnum(j, "memory_mb", TMPL_MINIMAL_MB);
	if (mb >= 128 && mb <= 65536)
		t->memory_mb = (int)mb;
	cJSON_Delete(j);
	t->size = dir_bytes(t->dir);
	return 1;
}

/* The places a recipe named name may be, in order; fn(dir) until it says 1. */
static int recipe_find(const char *name, struct tmpl *t)
{
	char self[PATH_MAX], dir[PATH_MAX + 128];
	const char *env = getenv("DESKFS_TEMPLATES");
	int minimal = strcmp(name, TMPL_DEFAULT) == 0;
	int have_self = exe_self_dir(self, sizeof self) == 0;
	if (minimal) {
		const char *g = getenv("DESKFS_GUEST");
		if (g && *g)
			return recipe_at(g, name, t);
	}
	if (env && *env) {
		snprintf(dir, sizeof dir, "%s/%s", env, name);
		if (recipe_at(dir, name, t))
			return 1;
	}
	if (minimal) {
		if (have_self) {
			snprintf(dir, sizeof dir, "%s/../build/guest", self);
			if (recipe_at(dir, name, t))
				return 1;
			snprintf(dir, sizeof dir, "%s/../share/deskfs/guest", self);
			if (recipe_at(dir, name, t))
				return 1;
		}
		return recipe_at("/usr/local/share/deskfs/guest", name, t) ||
		       recipe_at("/usr/share/deskfs/guest", name, t);
	}
	if (have_self) {
		snprintf(dir, sizeof dir, "%s/../build/template-%s", self, name);
		if (recipe_at(dir, name, t))
			return 1;
		snprintf(dir, sizeof dir, "%s/../share/deskfs/templates/%s", self, name);
		if (recipe_at(dir, name, t))
			return 1;
	}
	snprintf(dir, sizeof dir, "/usr/local/share/deskfs/templates/%s", name);
	if (recipe_at(dir, name, t))
		return 1;
	snprintf(dir, sizeof dir, "/usr/share/deskfs/templates/%s", name);
	return recipe_at(dir, name, t);
}

/* STATEDIR/.templates/name/info.json, written by `template save` (the checkpoints side). */
static int saved_find(const char *name, struct tmpl *t)
{
	const struct sess_opts *o = sess_options();
	char dir[PATH_MAX + 128], p[PATH_MAX + 160];
	if (!o || !o->statedir[0])
		return 0;
	snprintf(dir, sizeof dir, "%s/.templates/%s", o->statedir, name);
	snprintf(p, sizeof p, "%s/info.json", dir);
	cJSON *j = read_json(p);
	if (!j)
		return 0;
	memset(t, 0, sizeof *t);
	snprintf(t->name, sizeof t->name, "%s", name);
	snprintf(t->dir, sizeof t->dir, "%s", dir);
	t->kind = TMPL_CHECKPOINT;
	const char *desc = jstr(j, "description");
	const char *sess = jstr(j, "session"), *cname = jstr(j, "name");
	if (desc)
		snprintf(t->description, sizeof t->description, "%s", desc);
	else
		snprintf(t->description, sizeof t->description, "saved from %s/%s",
			 sess ? sess : "?", cname ? cname : "?");
	double mb = jnum(j, "memory_mb", 0);
	t->memory_mb = mb >= 128 && mb <= 65536 ? (int)mb : TMPL_MINIMAL_MB;
	t->created_at = jnum(j, "created_at", 0);
	const char *iso = jstr(j, "created_at");
	if (iso && !t->created_at) {
		struct stat st;
		if (stat(p, &st) == 0)
			t->created_at = (double)st.st_mtime;
	}
	cJSON_Delete(j);
	t->size = dir_bytes(dir);
	return 1;
}

int tmpl_find(const char *name, struct tmpl *out, struct derr *e)
{
	if (!name || !*name)
		name = TMPL_DEFAULT;
	if (!util_name_valid(name) || strlen(name) >= TMPL_NAME_MAX)
		return derr_set(e, EINVAL, "invalid_template",
				"'%.80s' is not a template name ([A-Za-z0-9][A-Za-z0-9._-]{0,62})",
				name);
	if (recipe_find(name, out) || saved_find(name, out))
		return 0;
	struct tmpl *all = NULL;
	int n = 0;
	struct buf names = BUF_INIT;
	if (tmpl_list(&all, &n) == 0)
		for (int i = 0; i < n; i++)
			buf_printf(&names, "%s%s", i ? " " : "", all[i].name);
	free(all);
	if (strcmp(name, TMPL_DEFAULT) == 0)
		derr_set(e, ENOENT, "no_such_template",
			 "the minimal guest (vmlinux + initramfs.cpio) is missing: run `make guest` "
			 "(contrib/build-guest.sh), or set DESKFS_GUEST=DIR");
	else
		derr_set(e, ENOENT, "no_such_template",
			 "no template '%s' (there are: %s; see .templates/; recipes are built by "
			 "`make template-%s` or contrib/build-guest.sh --recipe %s)",
			 name, names.len ? names.data : "none", name, name);
	buf_free(&names);
	return -ENOENT;
}

static int listed(const struct tmpl *all, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(all[i].name, name) == 0)
			return 1;
	return 0;
}

/* Add every template named in dir (entries prefix*, the rest of the name is T). */
static void list_dir(const char *dir, const char *prefix, int saved, struct tmpl *all, int *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t pl = strlen(prefix);
	if (!d)
		return;
	while ((de = readdir(d)) && *n < TMPL_MAX) {
		const char *name = de->d_name + pl;
		if (strncmp(de->d_name, prefix, pl) != 0 || !util_name_valid(name) ||
		    strlen(name) >= TMPL_NAME_MAX || listed(all, *n, name))
			continue;
		/* find it again by name: what a create would boot, not just this dir */
		if (saved ? saved_find(name, &all[*n]) : recipe_find(name, &all[*n]))
			(*n)++;
	}
	closedir(d);
}

static int tmpl_cmp(const void *a, const void *b)
{
	const struct tmpl *x = a, *y = b;
	if (x->kind != y->kind)
		return (int)x->kind - (int)y->kind;
	return strcmp(x->name, y->name);
}

int tmpl_list(struct tmpl **out, int *n)
{
	char self[PATH_MAX], dir[PATH_MAX + 128];
	const char *env = getenv("DESKFS_TEMPLATES");
	const struct sess_opts *o = sess_options();
	struct tmpl *all = calloc(TMPL_MAX, sizeof *all);
	*out = NULL;
	*n = 0;
	if (!all)
		return -ENOMEM;
	if (recipe_find(TMPL_DEFAULT, &all[0]))
		(*n)++;
	if (env && *env)
		list_dir(env, "", 0, all, n);
	if (exe_self_dir(self, sizeof self) == 0) {
		snprintf(dir, sizeof dir, "%s/../build", self);
		list_dir(dir, "template-", 0, all, n);
		snprintf(dir, sizeof dir, "%s/../share/deskfs/templates", self);
		list_dir(dir, "", 0, all, n);
	}
	list_dir("/usr/local/share/deskfs/templates", "", 0, all, n);
	list_dir("/usr/share/deskfs/templates", "", 0, all, n);
	if (o && o->statedir[0]) {
		snprintf(dir, sizeof dir, "%s/.templates", o->statedir);
		list_dir(dir, "", 1, all, n);
	}
	qsort(all, (size_t)*n, sizeof *all, tmpl_cmp);
	*out = all;
	return 0;
}

void tmpl_to_json(const struct tmpl *t, cJSON *obj)
{
	char ts[40];
	util_iso8601(t->created_at, ts, sizeof ts);
	cJSON_AddStringToObject(obj, "name", t->name);
	cJSON_AddStringToObject(obj, "kind", t->kind == TMPL_RECIPE ? "recipe" : "checkpoint");
	cJSON_AddStringToObject(obj, "description", t->description);
	cJSON_AddNumberToObject(obj, "size", (double)t->size);
	cJSON_AddStringToObject(obj, "created_at", ts);
	cJSON_AddStringToObject(obj, "boots", t->kind == TMPL_RECIPE ? "cold" : "restore");
	cJSON_AddNumberToObject(obj, "memory_mb", t->memory_mb);
	if (t->kind == TMPL_RECIPE)
		cJSON_AddBoolToObject(obj, "base_image", t->has_base);
}

int tmpl_conf_check(struct sess_conf *c, struct derr *e)
{
	struct tmpl t;
	int qemu = strcmp(c->provider, "qemu") == 0;
	if (!c->template[0] && !qemu)
		return 0;
	if (!qemu)
		return derr_set(e, EINVAL, "invalid_setting",
				"template=%s applies to provider=qemu only, not provider=%s "
				"(leave provider out: a template implies qemu)",
				c->template, c->provider);
	int r = tmpl_find(c->template, &t, e);
	if (r < 0 && !c->template[0]) { /* no guest built: the start says so, as before */
		if (c->memory == 0)
			c->memory = TMPL_MINIMAL_MB;
		return 0;
	}
	if (r < 0)
		return r;
	if (c->memory == 0)
		c->memory = t.memory_mb;
	return 0;
}
