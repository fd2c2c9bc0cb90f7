/*
 * prov.h - the provider interface: lifecycle only. One designated-initializer
 * table per provider, one file each, registered in prov.c:
 *
 *	xvfb.c      a private Xvfb (-displayfd) plus a local agent
 *	display.c   a local agent on an X display that already exists
 *	qemu.c      a QEMU VM per session, the agent inside (qemu_cmd.c, qmp.c)
 *	remote.c    an agent that is already running somewhere (url=, token_file=)
 *
 * A provider reaches its session only through core/host.h. start() runs
 * on the session's lifecycle thread: it brings the desktop up to
 * bridge_listening (host_readiness on the way) and leaves the agent's
 * endpoint with host_set_endpoint; the core attaches the client. Errors
 * come back as a struct derr (errno, code, words), returned as -errno.
 * It polls host_should_stop() in every wait and honours its bounds.
 * stop() ends everything start() or reattach() began, also after a partial
 * start; the core calls it for a dead session found at restore too.
 * checkpoint/restore will be optional ops beside capture.
 */
#ifndef DESKFS_PROV_H
#define DESKFS_PROV_H

#include <stddef.h>
#include <stdio.h>

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
};

extern const struct prov_ops prov_xvfb;
extern const struct prov_ops prov_display;
extern const struct prov_ops prov_qemu;
extern const struct prov_ops prov_remote;

const struct prov_ops *prov_find(const char *name);
/* NULL-terminated list of every provider, for .providers.json */
const struct prov_ops *const *prov_list(void);

/* Shared by the local providers (prov_local.c). */
/* xauth: the display's cookie file for the agent (XAUTHORITY), or NULL. */
/* as_owner: run it as the session's owner with their X credentials (display). */
int prov_start_local_agent(struct sess *s, const char *display, const char *xauth, int slot,
			   int as_owner, struct derr *e);
/* Read one line (without its newline) from fd, bounded, while the process lives. */
int prov_read_line(struct sess *s, int fd, int slot, unsigned timeout_ms, char *out,
		   size_t len, struct derr *e);
int prov_check_procs(struct sess *s, struct derr *e);
int prov_reattach_local(struct sess *s, struct derr *e);
void prov_stop_procs(struct sess *s);

struct sess_conf;
/* deskfs --dry-run: print the VM's command line, kernel command line and
 * accelerator for conf, start nothing. 0, or -ENOENT if something is missing. */
int prov_qemu_dry_run(const struct sess_conf *conf, const char *statedir, FILE *out);

#endif
