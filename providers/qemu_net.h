/*
 * qemu_net.h - provider "qemu"'s network: net=none|user, and the forwards of
 * guest TCP ports to ephemeral ports on host 127.0.0.1 (the setting forward=,
 * ctl `forward PORT` / `unforward PORT`, session.json "ports").
 *
 *	char nd[256];
 *	qemu_net_netdev(conf, QEMU_GUEST_PORT, nd, sizeof nd);  -netdev's value (qemu_cmd.c)
 *	qemu_net_kernel_word(conf)                ""  or  " deskfs.net=user" (the guest's init)
 *
 *	struct qemu_net net;  qemu_net_init(&net);     one per running QEMU (struct vm)
 *	r = qemu_net_apply(s, q, &net, e);    after QMP connects (start, re-attach, restore,
 *	                                      fork): make QEMU's forwards those of conf
 *	r = qemu_net_ctl(s, q, &net, "forward", "8080", e);   live, then conf + record
 *	qemu_net_describe(&net, conf, record);                session.json "ports"
 *	qemu_net_destroy(&net);
 *
 * Forwards are slirp hostfwds added and removed over QMP's human-monitor-command
 * (hostfwd_add / hostfwd_remove on netdev net0, host side tcp:127.0.0.1:0, so the
 * kernel picks a free port), read back with `info usernet`. They work with
 * net=none too: restrict=on stops connections the guest opens, not those
 * forwarded to it.
 *
 * Threads: apply runs on the session's lifecycle thread, ctl on a FUSE thread,
 * describe on any thread with the session's lock held. net->op serialises
 * apply and ctl of one VM (it is held across their QMP calls, each bounded, and
 * nothing else takes it); net->lock guards the port table, is a leaf below the
 * session's lock, and is never held across QMP.
 */
#ifndef DESKFS_QEMU_NET_H
#define DESKFS_QEMU_NET_H

#include <pthread.h>
#include <stddef.h>

#include "common/derr.h"
#include "core/settings.h"

struct sess;
struct qmp;
struct cJSON;

struct qemu_net {
	pthread_mutex_t op;   /* apply, forward, unforward: one at a time */
	pthread_mutex_t lock; /* guards applied, n, ports */
	int applied;          /* conf's forwards are live in this QEMU */
	int n;
	struct qemu_port {
		int guest, host;
	} ports[SET_MAX_FORWARDS];
};

/* -netdev user,...: the agent's hostfwd, restrict=on unless net=user. */
void qemu_net_netdev(const struct sess_conf *conf, int agent_port, char *out, size_t len);
/* Words for the kernel command line ("" for net=none). */
const char *qemu_net_kernel_word(const struct sess_conf *conf);

void qemu_net_init(struct qemu_net *net);
void qemu_net_destroy(struct qemu_net *net);

/*
 * Make the forwards of QEMU (q) those the session's conf records: add the missing,
 * remove the ones it does not name (a daemon that died between the two), read
 * the host ports back. 0, or -errno with e saying which port failed.
 */
int qemu_net_apply(struct sess *s, struct qmp *q, struct qemu_net *net, struct derr *e);

/*
 * verb "forward" or "unforward" a guest port (text): live when q and net are a
 * QEMU whose forwards are applied, then conf and the record. q or net NULL (the
 * session is not running): conf and the record only, the next start applies them.
 * -EINVAL bad port, -EEXIST already forwarded, -ENOENT unforward of none,
 * -ENOSPC past SET_MAX_FORWARDS, -EIO QEMU refused; e says which in words.
 */
int qemu_net_ctl(struct sess *s, struct qmp *q, struct qemu_net *net, const char *verb,
                 const char *arg, struct derr *e);

/* session.json "ports": every forward of conf, its host port (null while not live). */
void qemu_net_describe(struct qemu_net *net, const struct sess_conf *conf, struct cJSON *record);

#endif
