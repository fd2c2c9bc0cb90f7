/*
 * prov_ops.h - the port through which the core drives a desktop's
 * lifecycle: one table of operations per provider. The core defines it and
 * calls it; providers/ implement it (and reach back only through
 * core/host.h), so every arrow between the two points one way: providers
 * depend on core's interfaces, never the core on a provider.
 *
 *	prov_register(prov_list());          once, by fs/main.c, before anything else
 *	const struct prov_ops *p = prov_lookup("xvfb");
 *	r = p->start(s, &e);
 */
#ifndef DESKFS_PROV_OPS_H
#define DESKFS_PROV_OPS_H

#include <stddef.h>

#include "common/derr.h"
#include "core/settings.h"

struct sess;
struct buf;
struct cJSON;

struct prov_ops {
	const char *name;
	const char *summary;
	/* 1: the desktop is on this host (xvfb, display): the session gets a home owned by
	 * its owner, which is its files/, and programs run there as the owner (the agent's
	 * --run-as). 0: a guest's (VM, remote): programs and files are the guest's. */
	int local;
	/* 1 if usable here, 0 if not; why says which in words. */
	int (*check)(char *why, size_t len);
	int (*start)(struct sess *s, struct derr *e);
	/* 0 while healthy; -errno with e naming the part that died. */
	int (*health)(struct sess *s, struct derr *e);
	/* Optional: adopt the recorded processes of an earlier daemon (s->procs, endpoint
	 * set from the record) up to bridge_listening; -errno if they cannot serve. */
	int (*reattach)(struct sess *s, struct derr *e);
	void (*stop)(struct sess *s);
	/* Optional: a screenshot before the agent is up (qemu: QMP screendump), PNG
	 * into out; -EAGAIN when there is nothing to capture yet. Any thread. */
	int (*capture)(struct sess *s, struct buf *out, struct derr *e);
	/* Optional: add the provider's own fields to session.json. Runs with the
	 * session's lock held: touch only conf, data (host_data's) and record. */
	void (*describe)(struct sess *s, const struct sess_conf *conf, void *data,
			 struct cJSON *record);
	/* Optional: a ctl verb the provider carries out (qemu: forward, unforward), on a
	 * FUSE thread, any state of the session; arg is the rest of the line (checked by
	 * the core's ctl row). NULL: the core answers ENOTSUP. */
	int (*ctl)(struct sess *s, const char *verb, const char *arg, struct derr *e);
	/* Optional (NULL: ENOTSUP): capture the running machine into dir (made by the core,
	 * 0700, empty) and let it run on; 0 once dir is complete. The core writes
	 * dir/info.json afterwards, with what the provider put in *kind ("mapped" |
	 * "stream"). Runs on a server thread under the session's op_lock (no start or
	 * stop meanwhile), bounded. A start with host_origin(s) set resumes from such a
	 * dir instead of booting. */
	int (*checkpoint)(struct sess *s, const char *dir, char *kind, size_t kindlen,
			  struct derr *e);
};

/* The providers this daemon has (NULL-terminated, static); set once at start. */
void prov_register(const struct prov_ops *const *list);
const struct prov_ops *prov_lookup(const char *name);
const struct prov_ops *const *prov_registered(void);

#endif
