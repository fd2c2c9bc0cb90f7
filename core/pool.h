/*
 * pool.h - warm pools: sessions of a template kept ready, handed over by a create.
 *
 *	pool_start();                              after sess_restore_all: the keeper runs
 *	pool_set("desktop", 2, uid, gid, &e);      .ctl 'pool desktop size=2' (0 drains)
 *	r = pool_claim("desktop", "s1", &conf, uid, gid, &s, &e);  -ENOENT: none fits
 *	pool_json(&buf);                           .pools.json
 *	pool_stop();                               before sess_shutdown
 */
#ifndef DESKFS_POOL_H
#define DESKFS_POOL_H

#include <sys/types.h>

#include "common/derr.h"
#include "core/settings.h"

struct sess;
struct buf;

int pool_start(void);
void pool_stop(void);
/* Keep size ready sessions of template tmpl (0: none); the caller's pool. */
int pool_set(const char *tmpl, int size, uid_t uid, gid_t gid, struct derr *e);
/* A ready member of the pool of tmpl whose settings fit conf, renamed to name and
 * owner's: 0 (with *out referenced if out), -ENOENT if there is none to take. */
int pool_claim(const char *tmpl, const char *name, const struct sess_conf *conf, uid_t owner,
	       gid_t group, struct sess **out, struct derr *e);
void pool_json(struct buf *out);

#endif
