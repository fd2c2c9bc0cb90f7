/*
 * qemu_net.c - provider "qemu"'s network and port forwards; see qemu_net.h.
 *
 *	$ echo 'create web provider=qemu net=user forward=8080' > /mnt/desk/.ctl
 *	$ echo 'forward 3000' > /mnt/desk/web/ctl
 *	$ jq .ports /mnt/desk/web/session.json
 *	[{"guest": 8080, "host": 41234, "proto": "tcp", "address": "127.0.0.1"}, ...]
 *	$ echo 'unforward 3000' > /mnt/desk/web/ctl
 *
 * QEMU 7.2's slirp reports a forward in `info usernet` as
 *	TCP[HOST_FORWARD]  13   127.0.0.1 41234   10.0.2.15  8080     0     0
 * (fd, host address and port, guest address and port, queues); hostfwd_add and
 * hostfwd_remove print nothing when they succeed and their reason otherwise.
 */
#include "providers/qemu_net.h"
#include "providers/qemu.h"
#include "providers/qmp.h"
#include "core/host.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HMP_MS 5000
#define NET_ID "net0" /* qemu_net_netdev's id */

/* One forward QEMU has. */
struct live {
	int guest, host;
};

void qemu_net_netdev(const struct sess_conf *conf, int agent_port, char *out, size_t len)
{
	/* host port 0: the kernel picks a free one, read back over QMP */
	snprintf(out, len, "user,id=" NET_ID "%s,hostfwd=tcp:127.0.0.1:0-:%d",
	         strcmp(conf->net, "user") == 0 ? "" : ",restrict=on", agent_port);
}

const char *qemu_net_kernel_word(const struct sess_conf *conf)
{
	return strcmp(conf->net, "user") == 0 ? " deskfs.net=user" : "";
}

void qemu_net_init(struct qemu_net *net)
{
	memset(net, 0, sizeof *net);
	pthread_mutex_init(&net->op, NULL);
	pthread_mutex_init(&net->lock, NULL);
}

void qemu_net_destroy(struct qemu_net *net)
{
	pthread_mutex_destroy(&net->op);
	pthread_mutex_destroy(&net->lock);
}

/* One HMP command; its output (empty on success for hostfwd_*) into *out, freed by the caller. */
static int hmp(struct qmp *q, const char *line, char **out, struct derr *e)
{
	cJSON *args = cJSON_CreateObject(), *ret = NULL;
	cJSON_AddStringToObject(args, "command-line", line);
	int r = qmp_execute(q, "human-monitor-command", args, HMP_MS, &ret, e);
	cJSON_Delete(args);
	const char *txt = cJSON_GetStringValue(ret);
	*out = r == 0 ? strdup(txt ? txt : "") : NULL;
	cJSON_Delete(ret);
	if (r == 0 && !*out)
		r = -ENOMEM;
	return r;
}

/* The TCP forwards QEMU has, the agent's excepted: how many, or -errno. */
static int live_read(struct qmp *q, struct live *out, int max, struct derr *e)
{
	char *txt = NULL;
	int r = hmp(q, "info usernet", &txt, e), n = 0;
	if (r < 0)
		return r;
	for (char *l = txt; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		int fd, host, guest;
		char haddr[64], gaddr[64];
		if (strncmp(l + strspn(l, " \t"), "TCP[HOST_FORWARD]", 17) != 0)
			continue;
		if (sscanf(l + strspn(l, " \t") + 17, "%d %63s %d %63s %d", &fd, haddr, &host,
		           gaddr, &guest) != 5 ||
		    guest == QEMU_GUEST_PORT)
			continue;
		if (n < max)
			out[n++] = (struct live){guest, host};
	}
	free(txt);
	return n;
}

static int hostfwd(struct qmp *q, int add, int port, struct derr *e)
{
	char line[96], *txt = NULL;
	if (add)
		snprintf(line, sizeof line, "hostfwd_add " NET_ID " tcp:127.0.0.1:0-:%d", port);
	else
		snprintf(line, sizeof line, "hostfwd_remove " NET_ID " tcp:127.0.0.1:%d", port);
	int r = hmp(q, line, &txt, e);
	/* hostfwd_add says nothing when it succeeds; hostfwd_remove says
	 * "host forwarding rule for ... removed" (or "not found") */
	if (r == 0 && (add ? txt[strspn(txt, " \r\n")] != '\0' : !strstr(txt, " removed"))) {
		txt[strcspn(txt, "\r\n")] = '\0';
		r = derr_set(e, EIO, "qemu_hostfwd", "QEMU refused '%s': %s", line, txt);
	}
	free(txt);
	return r;
}

static int find_live(const struct live *lv, int n, int guest)
{
	for (int i = 0; i < n; i++)
		if (lv[i].guest == guest)
			return i;
	return -1;
}

static int find_port(const int *ports, int n, int port)
{
	for (int i = 0; i < n; i++)
		if (ports[i] == port)
			return i;
	return -1;
}

/* The session's forwards, from conf (checked when set). */
static int conf_ports(struct sess *s, int ports[SET_MAX_FORWARDS], struct derr *e)
{
	struct sess_conf conf;
	char err[200];
	host_conf(s, &conf);
	int n = set_forward_ports(conf.forward, ports, err, sizeof err);
	return n < 0 ? derr_set(e, EINVAL, "invalid_setting", "%s", err) : n;
}

/* The table describe shows: conf's order, host ports from lv. */
static void table_set(struct qemu_net *net, const int *ports, int n, const struct live *lv,
                      int nlv)
{
	pthread_mutex_lock(&net->lock);
	net->n = 0;
	for (int i = 0; i < n; i++) {
		int k = find_live(lv, nlv, ports[i]);
		net->ports[net->n++] = (struct qemu_port){ports[i], k >= 0 ? lv[k].host : 0};
	}
	net->applied = 1;
	pthread_mutex_unlock(&net->lock);
}

int qemu_net_apply(struct sess *s, struct qmp *q, struct qemu_net *net, struct derr *e)
{
	int ports[SET_MAX_FORWARDS];
	struct live lv[2 * SET_MAX_FORWARDS];
	int r, n, nlv, added = 0;
	pthread_mutex_lock(&net->op);
	if ((r = n = conf_ports(s, ports, e)) < 0 || (r = nlv = live_read(q, lv, 32, e)) < 0)
		goto out;
	for (int i = 0; i < nlv; i++) /* a forward the record no longer names */
		if (find_port(ports, n, lv[i].guest) < 0 && (r = hostfwd(q, 0, lv[i].host, e)) < 0)
			goto out;
	for (int i = 0; i < n; i++)
		if (find_live(lv, nlv, ports[i]) < 0) {
			if ((r = hostfwd(q, 1, ports[i], e)) < 0)
				goto out;
			added++;
		}
	if (added && (r = nlv = live_read(q, lv, 32, e)) < 0)
		goto out;
	for (int i = 0; i < n; i++)
		if (find_live(lv, nlv, ports[i]) < 0) {
			r = derr_set(e, EIO, "qemu_hostfwd",
			             "QEMU reports no forward for guest port %d", ports[i]);
			goto out;
		}
	table_set(net, ports, n, lv, nlv);
	r = 0;
out:
	pthread_mutex_unlock(&net->op);
	return r;
}

/* conf's list with port added (add) or taken out, written to conf and the record. */
static int conf_write(struct sess *s, const int *ports, int n, int port, int add,
                      struct derr *e)
{
	char list[sizeof ((struct sess_conf *)0)->forward] = "";
	size_t len = 0;
	for (int i = 0; i < n; i++)
		if (add || ports[i] != port)
			len += (size_t)snprintf(list + len, sizeof list - len, "%s%d", len ? "," : "",
			                        ports[i]);
	if (add)
		snprintf(list + len, sizeof list - len, "%s%d", len ? "," : "", port);
	return host_conf_set(s, "forward", list, e);
}

static int net_ctl(struct sess *s, struct qmp *q, struct qemu_net *net, int add, int port,
                   struct derr *e)
{
	int ports[SET_MAX_FORWARDS];
	struct live lv[2 * SET_MAX_FORWARDS];
	int n = conf_ports(s, ports, e), nlv, r;
	if (n < 0)
		return n;
	int at = find_port(ports, n, port);
	if (add && at >= 0)
		return derr_set(e, EEXIST, "already_forwarded",
		                "guest port %d is already forwarded (session.json ports)", port);
	if (!add && at < 0)
		return derr_set(e, ENOENT, "not_forwarded", "guest port %d is not forwarded", port);
	if (add && n == SET_MAX_FORWARDS)
		return derr_set(e, ENOSPC, "too_many_forwards",
		                "a session forwards at most %d ports", SET_MAX_FORWARDS);
	int live = 0;
	if (q && net) {
		pthread_mutex_lock(&net->lock);
		live = net->applied;
		pthread_mutex_unlock(&net->lock);
	}
	if (live) {
		if ((r = nlv = live_read(q, lv, 32, e)) < 0)
			return r;
		int k = find_live(lv, nlv, port);
		if (add && k < 0 && (r = hostfwd(q, 1, port, e)) < 0)
			return r;
		if (!add && k >= 0 && (r = hostfwd(q, 0, lv[k].host, e)) < 0)
			return r;
	}
	if ((r = conf_write(s, ports, n, port, add, e)) < 0)
		return r;
	if (live) { /* the table from what QEMU now has */
		if ((n = conf_ports(s, ports, e)) < 0 || (nlv = live_read(q, lv, 32, e)) < 0)
			return n < 0 ? n : nlv;
		table_set(net, ports, n, lv, nlv);
		if (add && find_live(lv, nlv, port) < 0)
			return derr_set(e, EIO, "qemu_hostfwd",
			                "QEMU reports no forward for guest port %d", port);
	}
	return 0;
}

int qemu_net_ctl(struct sess *s, struct qmp *q, struct qemu_net *net, const char *verb,
                 const char *arg, struct derr *e)
{
	static pthread_mutex_t stopped = PTHREAD_MUTEX_INITIALIZER; /* no QEMU: conf only */
	char err[200];
	int port, add = strcmp(verb, "forward") == 0, r;
	if (!add && strcmp(verb, "unforward") != 0)
		return derr_set(e, EINVAL, "invalid_command", "qemu has no ctl verb '%.40s'", verb);
	if (set_check_forward_port(arg, &port, err, sizeof err) < 0)
		return derr_set(e, EINVAL, "invalid_port", "%s", err);
	if (!net) {
		pthread_mutex_lock(&stopped);
		r = net_ctl(s, NULL, NULL, add, port, e);
		pthread_mutex_unlock(&stopped);
		return r;
	}
	pthread_mutex_lock(&net->op);
	r = net_ctl(s, q, net, add, port, e);
	pthread_mutex_unlock(&net->op);
	return r;
}

void qemu_net_describe(struct qemu_net *net, const struct sess_conf *conf, cJSON *record)
{
	int ports[SET_MAX_FORWARDS];
	char err[200];
	int n = set_forward_ports(conf->forward, ports, err, sizeof err);
	cJSON *arr = cJSON_AddArrayToObject(record, "ports");
	if (net)
		pthread_mutex_lock(&net->lock);
	for (int i = 0; i < n; i++) {
		int host = 0;
		for (int k = 0; net && net->applied && k < net->n; k++)
			if (net->ports[k].guest == ports[i])
				host = net->ports[k].host;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "guest", ports[i]);
		if (host)
			cJSON_AddNumberToObject(o, "host", host);
		else
			cJSON_AddNullToObject(o, "host"); /* not running: applied at the next start */
		cJSON_AddStringToObject(o, "proto", "tcp");
		cJSON_AddStringToObject(o, "address", "127.0.0.1");
		cJSON_AddItemToArray(arr, o);
	}
	if (net)
		pthread_mutex_unlock(&net->lock);
}
