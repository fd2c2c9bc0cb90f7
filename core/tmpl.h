/*
 * tmpl.h - templates: what a provider=qemu session boots from.
 *
 * Two kinds. A recipe template (TMPL_RECIPE) is a guest directory that
 * contrib/build-guest.sh made: vmlinux, initramfs.cpio, template.json
 * {name, kind, memory_mb, description}, manifest.txt and, for a template
 * with a root filesystem, base.img (ext4, attached read-only). A saved
 * template (TMPL_CHECKPOINT) is a checkpoint directory kept in
 * STATEDIR/.templates/T/ with its info.json; it boots by restore.
 *
 * Recipe T is looked for in $DESKFS_TEMPLATES/T, BINDIR/../build/template-T
 * (a work tree, where make links it), BINDIR/../share/deskfs/templates/T,
 * /usr/local/share/deskfs/templates/T and /usr/share/deskfs/templates/T.
 * "minimal" (and "", the default) is today's guest: $DESKFS_GUEST, then
 * BINDIR/../build/guest, BINDIR/../share/deskfs/guest, /usr/local/share/
 * deskfs/guest, /usr/share/deskfs/guest. A saved template shadows nothing:
 * a recipe of the same name wins.
 *
 *	struct tmpl t;
 *	struct derr e = DERR_INIT;
 *	if (tmpl_find("desktop", &t, &e) < 0) ... e says why (ENOENT, EINVAL)
 *	t.dir, t.memory_mb, t.has_base ...
 *	tmpl_list(&all, &n); ... free(all);
 */
#ifndef DESKFS_TMPL_H
#define DESKFS_TMPL_H

#include <limits.h>

#include "common/derr.h"

struct cJSON;
struct sess_conf;

#define TMPL_NAME_MAX 64
#define TMPL_DEFAULT "minimal"

enum tmpl_kind {
	TMPL_RECIPE,     /* a guest directory: boots cold */
	TMPL_CHECKPOINT, /* a saved checkpoint: boots by restore */
};

struct tmpl {
	char name[TMPL_NAME_MAX];
	enum tmpl_kind kind;
	char dir[PATH_MAX];   /* the guest directory (resolved), or the checkpoint directory */
	char description[256];
	int memory_mb;        /* its default memory */
	int has_base;         /* recipe: base.img is there (a root disk, read-only) */
	long long size;       /* bytes its files take on disk */
	double created_at;    /* unix seconds: the build, or the checkpoint */
};

/* "" means minimal. 0, or -ENOENT / -EINVAL with e saying why (and what exists). */
int tmpl_find(const char *name, struct tmpl *out, struct derr *e);
/* Every template, recipes first, each name once; *out is malloc'd (free it). */
int tmpl_list(struct tmpl **out, int *n);
/* T.json of .templates/: name, kind, description, size, created_at (ISO 8601),
 * boots ("cold" | "restore"), memory_mb. */
void tmpl_to_json(const struct tmpl *t, struct cJSON *obj);
/* The create-time rule for conf's template: a template needs provider=qemu
 * (else -EINVAL), must exist (else -ENOENT), and its memory_mb is the memory
 * when conf says 0 ("the template's"). Nothing to do for other providers
 * without a template. */
int tmpl_conf_check(struct sess_conf *c, struct derr *e);

#endif
