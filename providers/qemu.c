/*
 * qemu.c - provider "qemu": one QEMU virtual machine per session, with the
 * deskfs-agent inside, its lifecycle driven over QMP.
 *
 *	$ echo 'create vm1 provider=qemu width=1024 height=768 memory=512' > /mnt/desk/.ctl
 *	$ cat /mnt/desk/vm1/screenshot.png > boot.png    (QMP screendump while booting)
 *	$ echo 'click 10 10' > /mnt/desk/vm1/actions      (waits for the agent)
 *	$ rmdir /mnt/desk/vm1                             (powerdown, quit, TERM, KILL)
 *
 * start: listen on STATEDIR/.qmp-ID.sock (by the session's id: a pool's claim
 * renames its directory), spawn QEMU (qemu_cmd.c builds the
 * command line), accept its monitor connection, negotiate, read back the
 * host port that hostfwd picked, then follow the guest's steps on the serial
 * console (contrib/guest/init prints "deskfs: desktop_ready", then
 * "deskfs: agent_ready PORT") until the agent listens, or the boot bound
 * (boot_timeout; 60 s under TCG) passes. The core then attaches to
 * http://127.0.0.1:PORT with the session token, which reached the guest by
 * fw_cfg. health: the QEMU process, QMP query-status, and the console (an
 * agent that exits). stop: system_powerdown (only once the guest handles the
 * power button), then quit, SIGTERM and SIGKILL, each bounded.
 *
 * Before the agent is up, screenshot.png is QMP's screendump of the VGA
 * surface (session.json: screenshot_source "qmp"). Actions and
 * observation.json wait for the agent instead (bounded by ready_timeout, then
 * EAGAIN or ETIMEDOUT): input-send-event is never used, so that every action
 * gets its receipt from inside the guest.
 *
 * A failed session leaves artifacts/diagnostics.json: the boot timeline,
 * attempts, the last error, QEMU's state and the console's tail.
 * A restarted daemon re-attaches (reattach): QEMU reconnects to the QMP
 * socket by itself (reconnect=1), and the endpoint comes from the record.
 *
 * Threads: start, health, stop and reattach run in the session's lifecycle
 * (its thread, or under op_lock once it has ended); capture runs in FUSE
 * threads. Both reach struct vm through host_data_get with a reference
 * (vm_get/vm_put), so stop can never free it under a screendump.
 */
#include "common/logtail.h"
#include "providers/prov.h"
#include "providers/qemu.h"
#include "providers/qemu_net.h"
#include "providers/qmp.h"
#include "core/host.h"
#include "core/util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { SLOT_QEMU };

#define QMP_CONNECT_MS 10000
#define POWERDOWN_MS 2000
#define QUIT_MS 1500
#define TERM_MS 1000

struct vm {
	int refs; /* atomic */
	pthread_mutex_t lock;
	struct qmp *qmp; /* protected by lock; set once, freed with the vm */
	int guest_up;    /* atomic: the guest handles the power button */
	unsigned shots;  /* atomic: screendump file names */
	struct qemu_net net; /* its own locks (qemu_net.h) */

	/* the lifecycle's own (thread, or op_lock after it) */
	int lfd;
	int host_port;
	int kvm;
	int boot_ms;
	int attempts;
	char step[32]; /* the last step the guest reported */
	char qmp_path[PATH_MAX];
	char console[PATH_MAX];
	off_t con_off;
	char con_line[512];
	size_t con_len;
	uint64_t t0;
	cJSON *timeline;
	cJSON *status; /* the last query-status answer */
	int timeouts;  /* query-status timeouts in a row */
	char origin[PATH_MAX]; /* the checkpoint this VM resumed from, "" if it booted */
};

/*
 * Alive, and not a zombie: a qemu adopted after a daemon crash is init's
 * child, and its zombie lingers until init reaps it.
 */
/* Alive, or reaped with its real status (never a zombie left behind). */
static int qemu_running(struct proc *p)
{
	return proc_alive(p);
}

static void *vm_ref(void *data)
{
	struct vm *vm = data;
	__atomic_add_fetch(&vm->refs, 1, __ATOMIC_ACQ_REL);
	return vm;
}

static struct vm *vm_get(struct sess *s)
{
	return host_data_get(s, vm_ref);
}

static void vm_put(struct vm *vm)
{
	if (!vm || __atomic_sub_fetch(&vm->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	if (vm->lfd >= 0)
		close(vm->lfd);
	qmp_free(vm->qmp);
	cJSON_Delete(vm->timeline);
	cJSON_Delete(vm->status);
	qemu_net_destroy(&vm->net);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

static struct vm *vm_new(struct sess *s)
{
	struct vm *vm = calloc(1, sizeof *vm);
	if (!vm)
		return NULL;
	vm->refs = 1; /* the session's (host_set_data) */
	vm->lfd = -1;
	pthread_mutex_init(&vm->lock, NULL);
	qemu_net_init(&vm->net);
	vm->timeline = cJSON_CreateArray();
	snprintf(vm->step, sizeof vm->step, "booting");
	/* by id, not by name: a pool's claim renames the session's directory, and QEMU
	 * reconnects (after a daemon restart) to the path it was started with */
	snprintf(vm->qmp_path, sizeof vm->qmp_path, "%s/.qmp-%s.sock", host_statedir(),
		 host_id(s));
	snprintf(vm->console, sizeof vm->console, "%s/console.log", host_artdir(s));
	struct stat st;
	vm->con_off = stat(vm->console, &st) == 0 ? st.st_size : 0; /* append=on: skip old boots */
	vm->t0 = util_mono_ms();
	host_set_data(s, vm);
	return vm;
}

static struct qmp *vm_qmp(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	struct qmp *q = vm->qmp;
	pthread_mutex_unlock(&vm->lock);
	return q;
}

static void timeline_add(struct vm *vm, const char *step, const char *detail)
{
	cJSON *e = cJSON_CreateObject();
	cJSON_AddNumberToObject(e, "t_ms", (double)(util_mono_ms() - vm->t0));
	cJSON_AddStringToObject(e, "step", step);
	if (detail && *detail)
		cJSON_AddStringToObject(e, "detail", detail);
	cJSON_AddItemToArray(vm->timeline, e);
}

/*
 * console.log is bounded: past QEMU_CONSOLE_MAX bytes (all of them read by
 * console_next) its content moves to console.log.1, one generation kept,
 * and the file starts over. QEMU opened it with append=on, so its next
 * write lands at the new end.
 */
#define QEMU_CONSOLE_MAX (4 << 20)
static void console_bound(struct vm *vm)
{
	struct stat st;
	char old[PATH_MAX + 8];
	if (stat(vm->console, &st) < 0 || st.st_size < QEMU_CONSOLE_MAX ||
	    vm->con_off < st.st_size)
		return;
	snprintf(old, sizeof old, "%s.1", vm->console);
	int in = open(vm->console, O_RDONLY | O_CLOEXEC);
	int out = open(old, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	char chunk[65536];
	ssize_t n;
	while (in >= 0 && out >= 0 && (n = read(in, chunk, sizeof chunk)) > 0)
		if (write(out, chunk, (size_t)n) != n)
			break;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (truncate(vm->console, 0) == 0)
		vm->con_off = 0;
}

/* The next "deskfs: ..." line the guest wrote on its console, prefix cut. */
static int console_next(struct vm *vm, char *out, size_t len)
{
	char chunk[4096];
	int fd = open(vm->console, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	int found = 0;
	while (!found) {
		ssize_t n = pread(fd, chunk, sizeof chunk, vm->con_off);
		if (n <= 0)
			break;
		ssize_t i;
		for (i = 0; i < n && !found; i++) {
			char c = chunk[i];
			if (c != '\n' && c != '\r') {
				if (vm->con_len < sizeof vm->con_line - 1)
					vm->con_line[vm->con_len++] = c;
				continue;
			}
			vm->con_line[vm->con_len] = '\0';
			char *tag = strstr(vm->con_line, "deskfs: ");
			if (tag) {
				snprintf(out, len, "%s", tag + 8);
				found = 1;
			}
			vm->con_len = 0;
		}
		vm->con_off += i;
	}
	close(fd);
	return found;
}

static int qemu_alive(void *arg)
{
	struct sess *s = arg;
	return qemu_running(host_proc(s, SLOT_QEMU)) && !host_should_stop(s);
}

/* "qemu_died: ... was killed by signal 9; its log says: ..." */
static int qemu_death(struct sess *s, const char *when, struct derr *e)
{
	struct proc *p = host_proc(s, SLOT_QEMU);
	char why[100], path[PATH_MAX + 16];
	for (int i = 0; i < 50 && qemu_running(p); i++) /* the monitor closes just before */
		util_sleep_ms(10);
	proc_describe(p, why, sizeof why);
	snprintf(path, sizeof path, "%s/qemu.log", host_artdir(s));
	char last[300];
	logtail_last_line(path, last, sizeof last);
	derr_set(e, EIO, "qemu_died", "the session's qemu %s %s%s%s", why, when,
	         *last ? "; its log says: " : "", last);
	return -EIO;
}

/* hostfwd was given port 0: ask QEMU which one the kernel chose. */
static int read_host_port(struct vm *vm, struct derr *e)
{
	cJSON *args = cJSON_CreateObject(), *ret = NULL;
	cJSON_AddStringToObject(args, "command-line", "info usernet");
	int r = qmp_execute(vm->qmp, "human-monitor-command", args, 2000, &ret, e);
	cJSON_Delete(args);
	const char *txt = cJSON_GetStringValue(ret);
	const char *fwd = txt ? strstr(txt, "HOST_FORWARD]") : NULL;
	int fd, port = 0;
	char addr[64];
	if (r == 0 &&
	    (!fwd || sscanf(fwd + 13, "%d %63s %d", &fd, addr, &port) != 3 || port <= 0)) {
		derr_set(e, 0, "qemu_hostfwd", "QEMU reports no forwarded port for the agent");
		r = -EIO;
	}
	cJSON_Delete(ret);
	vm->host_port = port;
	return r;
}

static void set_endpoint(struct sess *s, int port)
{
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
	host_set_endpoint(s, NULL, url);
}

/* Follow the guest's console until its agent listens, bounded. */
static int wait_for_agent(struct sess *s, struct vm *vm, struct derr *e)
{
	char line[512];
	uint64_t deadline = vm->t0 + (uint64_t)vm->boot_ms;
	for (;;) {
		if (host_should_stop(s)) {
			derr_set(e, 0, "stopped",
			         "the session was stopped while the VM booted");
			return -ECANCELED;
		}
		while (console_next(vm, line, sizeof line)) {
			char word[32] = "";
			sscanf(line, "%31s", word);
			timeline_add(vm, word, line + strlen(word));
			if (strcmp(word, "error") == 0 || strcmp(word, "agent_exited") == 0) {
				derr_set(e, 0, "guest_failed", "the guest says: %s", line);
				return -EIO;
			}
			if (strcmp(word, "init") == 0 || strcmp(word, "desktop_ready") == 0 ||
			    strcmp(word, "agent_ready") == 0)
				snprintf(vm->step, sizeof vm->step, "%s", word);
			if (strcmp(word, "desktop_ready") == 0)
				host_readiness(s, RD_DESKTOP_READY);
			if (strcmp(word, "agent_ready") == 0) {
				host_readiness(s, RD_DESKTOP_READY);
				set_endpoint(s, vm->host_port);
				__atomic_store_n(&vm->guest_up, 1, __ATOMIC_RELEASE);
				host_readiness(s, RD_BRIDGE_LISTENING);
				return 0;
			}
		}
		if (!qemu_running(host_proc(s, SLOT_QEMU)))
			return qemu_death(s, "while the guest booted", e);
		if (util_mono_ms() >= deadline) {
			derr_set(
			    e, ETIMEDOUT, "boot_timeout",
			    "the agent in the VM did not come up within %d s (the "
			    "guest got as far as: %s); see artifacts/diagnostics.json and "
			    "artifacts/console.log",
			    vm->boot_ms / 1000, vm->step);
			return -ETIMEDOUT;
		}
		vm->attempts++;
		util_sleep_ms(10);
	}
}

/* A resumed guest printed agent_ready long ago: its agent is there already. */
static int resumed_agent(struct sess *s, struct vm *vm)
{
	snprintf(vm->step, sizeof vm->step, "agent_ready");
	host_readiness(s, RD_DESKTOP_READY);
	set_endpoint(s, vm->host_port);
	__atomic_store_n(&vm->guest_up, 1, __ATOMIC_RELEASE);
	host_readiness(s, RD_BRIDGE_LISTENING);
	return 0;
}

static void write_cmdline(struct sess *s, const struct prov_qemu_cmd *c)
{
	struct buf b = BUF_INIT;
	char path[PATH_MAX + 32];
	for (int i = 0; i < c->argc; i++)
		buf_printf(&b, "%s\n", c->argv[i]); /* one argument a line: spaces stay readable */
	snprintf(path, sizeof path, "%s/qemu-cmdline.txt", host_artdir(s));
	util_write_file(path, b.data ? b.data : "", b.len, 0600);
	buf_free(&b);
}

static int wait_exit(struct proc *p, unsigned ms);

static int qemu_start(struct sess *s, struct derr *e)
{
	struct prov_qemu_assets a;
	struct prov_qemu_accel acc;
	struct prov_qemu_paths p;
	struct prov_qemu_cmd *cmd = NULL;
	char log[PATH_MAX + 16], why[400];
	struct sess_conf conf;
	struct qmp *q = NULL;
	int r;

	if (prov_qemu_sess_assets(s, &a, why, sizeof why) < 0) {
		derr_set(e, 0, "qemu_unavailable", "%s", why);
		return -ENOENT;
	}
	prov_qemu_accel(&acc);
	struct vm *vm = vm_new(s);
	cmd = calloc(1, sizeof *cmd);
	if (!vm || !cmd) {
		r = -ENOMEM;
		goto out;
	}
	host_conf(s, &conf);
	vm->kvm = acc.kvm;
	vm->boot_ms = prov_qemu_boot_timeout_ms(&conf, &acc);
	snprintf(p.name, sizeof p.name, "%s", host_name(s));
	snprintf(p.qmp, sizeof p.qmp, "%s", vm->qmp_path);
	snprintf(p.console, sizeof p.console, "%s", vm->console);
	snprintf(p.token, sizeof p.token, "%s/token", host_dir(s));
	snprintf(vm->origin, sizeof vm->origin, "%s", host_origin(s));
	int ignore_shared = 0;
	r = prov_qemu_snap_plan(host_name(s), vm->origin, &p, &ignore_shared, e);
	if (r < 0)
		goto out;
	r = vm->lfd = qmp_listen(vm->qmp_path, e);
	if (r < 0)
		goto out;
	prov_qemu_build_cmd(cmd, &a, &acc, &conf, &p);
	write_cmdline(s, cmd);
	snprintf(log, sizeof log, "%s/qemu.log", host_artdir(s));
	struct proc_opts po = {.logpath = log};
	/* recorded before it runs: a crash now must not orphan it */
	r = host_spawn(s, SLOT_QEMU, "qemu", (const char *const *)cmd->argv, &po, e);
	if (r < 0)
		goto out;
	vm->t0 = util_mono_ms();
	timeline_add(vm, "qemu_spawned", acc.kvm ? "kvm" : "tcg");

	r = qmp_accept(vm->lfd, QMP_CONNECT_MS, qemu_alive, s, &q, e);
	if (r < 0) {
		if (!qemu_running(host_proc(s, SLOT_QEMU)))
			r = qemu_death(s, "before its monitor was up", e);
		goto out;
	}
	pthread_mutex_lock(&vm->lock);
	vm->qmp = q;
	pthread_mutex_unlock(&vm->lock);
	timeline_add(vm, "qmp_connected", qmp_version(q));
	if (vm->origin[0]) { /* a fork or restore: its state, then it runs on */
		r = prov_qemu_snap_incoming(q, vm->origin, ignore_shared, (unsigned)vm->boot_ms, e);
		if (r < 0)
			goto out;
		timeline_add(vm, "resumed", vm->origin);
	}
	r = read_host_port(vm, e);
	if (r == 0)
		r = qemu_net_apply(s, q, &vm->net, e); /* the recorded forwards */
	if (r < 0) { /* a monitor that closed: QEMU died, and how it died is the error */
		if (!qemu_running(host_proc(s, SLOT_QEMU)) || wait_exit(host_proc(s, SLOT_QEMU), 500))
			r = qemu_death(s, "while the guest booted", e);
		goto out;
	}
	if (vm->origin[0]) /* its agent listened before the checkpoint: it listens now */
		r = resumed_agent(s, vm);
	else
		r = wait_for_agent(s, vm, e);
out:
	free(cmd);
	if (vm && r < 0)
		timeline_add(vm, "failed", e->msg);
	return r;
}

/* Adopt the VM of an earlier daemon: QEMU reconnects to a new monitor socket. */
static int qemu_reattach(struct sess *s, struct derr *e)
{
	struct qmp *q = NULL;
	int r, port = 0;
	if (!qemu_running(host_proc(s, SLOT_QEMU)))
		return qemu_death(s, "while the daemon was down", e);
	char url[256];
	host_endpoint(s, NULL, 0, url, sizeof url);
	if (sscanf(url, "http://127.0.0.1:%d", &port) != 1 || port <= 0) {
		derr_set(e, 0, "reattach_failed", "the record names no agent endpoint");
		return -ENOENT;
	}
	struct vm *vm = vm_new(s);
	if (!vm)
		return -ENOMEM;
	vm->host_port = port;
	r = vm->lfd = qmp_listen(vm->qmp_path, e);
	if (r < 0)
		return r;
	r = qmp_accept(vm->lfd, 3000, qemu_alive, s, &q, e);
	if (r < 0)
		return r;
	pthread_mutex_lock(&vm->lock);
	vm->qmp = q;
	pthread_mutex_unlock(&vm->lock);
	timeline_add(vm, "reattached", qmp_version(q));
	if ((r = qemu_net_apply(s, q, &vm->net, e)) < 0) /* the forwards QEMU kept */
		return r;
	snprintf(vm->step, sizeof vm->step, "agent_ready");
	__atomic_store_n(&vm->guest_up, 1, __ATOMIC_RELEASE);
	host_readiness(s, RD_DESKTOP_READY);
	host_readiness(s, RD_BRIDGE_LISTENING);
	return 0;
}

static int wait_exit(struct proc *p, unsigned ms)
{
	uint64_t end = util_mono_ms() + ms;
	while (qemu_running(p)) {
		if (util_mono_ms() >= end)
			return 0;
		util_sleep_ms(5);
	}
	return 1;
}

static int qemu_health(struct sess *s, struct derr *e)
{
	struct vm *vm = host_data(s); /* the lifecycle's own: stable here */
	char line[512];
	cJSON *ret = NULL;
	if (!qemu_running(host_proc(s, SLOT_QEMU)))
		return qemu_death(s, "", e);
	if (!vm || !vm->qmp)
		return 0;
	console_bound(vm);
	while (console_next(vm, line, sizeof line)) {
		timeline_add(vm, "console", line);
		if (strncmp(line, "agent_exited", 12) == 0) {
			derr_set(e, 0, "agent_exited",
			         "the agent in the VM exited (%s); see "
			         "artifacts/console.log",
			         line);
			return -EIO;
		}
	}
	int r = qmp_execute(vm->qmp, "query-status", NULL, 5000, &ret, e);
	if (r == -ETIMEDOUT && ++vm->timeouts < 3)
		return 0; /* a busy host: patience, within a bound */
	if (r < 0) {      /* a closed monitor is QEMU exiting: say how it ended */
		wait_exit(host_proc(s, SLOT_QEMU), 500);
		return qemu_running(host_proc(s, SLOT_QEMU)) ? r : qemu_death(s, "", e);
	}
	vm->timeouts = 0;
	const char *st = cJSON_GetStringValue(cJSON_GetObjectItem(ret, "status"));
	cJSON_Delete(vm->status);
	vm->status = ret;
	if (st && (strcmp(st, "shutdown") == 0 || strcmp(st, "guest-panicked") == 0 ||
	           strcmp(st, "internal-error") == 0 || strcmp(st, "io-error") == 0)) {
		derr_set(e, 0, "vm_stopped",
		         "the VM is in state '%s'; see artifacts/console.log", st);
		return -EIO;
	}
	return 0;
}

static void write_diagnostics(struct sess *s, struct vm *vm)
{
	char path[PATH_MAX + 32], ts[40];
	struct proc *p = host_proc(s, SLOT_QEMU);
	cJSON *j = cJSON_CreateObject();
	util_iso8601(util_now(), ts, sizeof ts);
	cJSON_AddStringToObject(j, "session", host_name(s));
	cJSON_AddStringToObject(j, "provider", "qemu");
	cJSON_AddStringToObject(j, "ts", ts);
	struct buf ej = BUF_INIT;
	char url[256];
	host_error_json(s, &ej);
	host_endpoint(s, NULL, 0, url, sizeof url);
	cJSON *e = ej.len ? cJSON_ParseWithLength(ej.data, ej.len) : NULL;
	buf_free(&ej);
	cJSON_AddStringToObject(j, "agent_endpoint", url);
	const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(e, "message"));
	const char *code = cJSON_GetStringValue(cJSON_GetObjectItem(e, "code"));
	char last[1200];
	snprintf(last, sizeof last, "%s: %s", code ? code : "error", msg ? msg : "unknown");
	cJSON_AddStringToObject(j, "last_error", last);
	cJSON_AddStringToObject(j, "reached", vm->step);
	cJSON_AddNumberToObject(j, "attempts", vm->attempts);
	cJSON_AddNumberToObject(j, "elapsed_ms", (double)(util_mono_ms() - vm->t0));
	cJSON_AddNumberToObject(j, "boot_timeout_ms", vm->boot_ms);
	cJSON_AddStringToObject(j, "accel", vm->kvm ? "kvm" : "tcg");
	cJSON *qj = cJSON_AddObjectToObject(j, "qemu");
	char why[100];
	int alive = qemu_running(p);
	proc_describe(p, why, sizeof why);
	cJSON_AddBoolToObject(qj, "running", alive);
	cJSON_AddStringToObject(qj, "process", why);
	cJSON_AddNumberToObject(qj, "host_port", vm->host_port);
	if (vm->status)
		cJSON_AddItemToObject(qj, "last_status", cJSON_Duplicate(vm->status, 1));
	cJSON_AddItemToObject(j, "timeline", cJSON_Duplicate(vm->timeline, 1));
	char *tail = util_file_tail(vm->console, 3000);
	cJSON_AddStringToObject(j, "console_tail", tail ? tail : "");
	free(tail);
	cJSON_Delete(e);
	char *txt = cJSON_Print(j);
	if (txt) {
		snprintf(path, sizeof path, "%s/diagnostics.json", host_artdir(s));
		util_write_file(path, txt, strlen(txt), 0600);
		free(txt);
	}
	cJSON_Delete(j);
}

static void qemu_stop(struct sess *s)
{
	struct proc *p = host_proc(s, SLOT_QEMU);
	struct derr err = DERR_INIT;
	struct vm *vm = host_data(s);
	host_set_data(s, NULL);
	int failed = host_failed(s);
	if (vm && failed)
		write_diagnostics(s, vm);
	struct qmp *q = vm ? vm_qmp(vm) : NULL;
	if (q && p->owned && qemu_running(p)) {
		/* a guest that handles the power button goes down cleanly */
		if (__atomic_load_n(&vm->guest_up, __ATOMIC_ACQUIRE) && !host_discard(s) &&
		    qmp_execute(q, "system_powerdown", NULL, 1000, NULL, &err) == 0)
			wait_exit(p, POWERDOWN_MS);
		if (qemu_running(p) &&
		    qmp_execute(q, "quit", NULL, 1000, NULL, &err) == 0)
			wait_exit(p, QUIT_MS);
	}
	proc_stop(p, TERM_MS); /* SIGTERM, then SIGKILL */
	char ram[PATH_MAX];
	if (!qemu_running(p) && prov_qemu_ram_path(host_name(s), ram, sizeof ram, &err) == 0)
		unlink(ram); /* its memory goes with it */
	if (vm) {
		unlink(vm->qmp_path);
		vm_put(vm);
	}
}

/* A pool's claim renamed the session (the lifecycle waits meanwhile): the
 * console QEMU appends to is the same file, under the new directory, and its
 * memory file (mapped by QEMU, copied by checkpoints) takes the new name. */
static void qemu_renamed(struct sess *s, const char *old)
{
	struct vm *vm = host_data(s);
	struct derr e = DERR_INIT;
	char from[PATH_MAX], to[PATH_MAX];
	if (vm)
		snprintf(vm->console, sizeof vm->console, "%s/console.log", host_artdir(s));
	if (prov_qemu_ram_path(old, from, sizeof from, &e) == 0 &&
	    prov_qemu_ram_path(host_name(s), to, sizeof to, &e) == 0)
		rename(from, to); /* none (a fork runs on its checkpoint's): nothing to do */
}

static int qemu_capture(struct sess *s, struct buf *out, struct derr *e)
{
	char path[PATH_MAX + 32], *data = NULL;
	size_t len;
	struct vm *vm = vm_get(s);
	struct qmp *q = vm ? vm_qmp(vm) : NULL;
	int r = -EAGAIN;
	if (!q) {
		derr_set(e, 0, "not_ready", "the VM's monitor is not up yet");
		goto out;
	}
	unsigned n = __atomic_add_fetch(&vm->shots, 1, __ATOMIC_RELAXED);
	snprintf(path, sizeof path, "%s/screendump-%u.png", host_dir(s), n);
	cJSON *args = cJSON_CreateObject();
	cJSON_AddStringToObject(args, "filename", path);
	cJSON_AddStringToObject(args, "format", "png");
	r = qmp_execute(q, "screendump", args, 5000, NULL, e);
	cJSON_Delete(args);
	if (r == 0 && (r = util_read_file(path, &data, &len)) == 0)
		r = buf_append(out, data, len);
	else if (r == 0)
		derr_set(e, 0, "screendump", "cannot read %s: %s", path, strerror(-r));
	unlink(path);
	free(data);
out:
	vm_put(vm);
	return r;
}

static void qemu_describe(struct sess *s, const struct sess_conf *conf, void *data, cJSON *j)
{
	struct vm *vm = data;
	qemu_net_describe(vm ? &vm->net : NULL, conf, j);
	cJSON *o = cJSON_AddObjectToObject(j, "vm");
	cJSON_AddNumberToObject(o, "memory_mb", conf->memory);
	cJSON_AddNumberToObject(o, "cpus", conf->cpus);
	if (!vm)
		return;
	cJSON_AddStringToObject(o, "accel", vm->kvm ? "kvm" : "tcg");
	cJSON_AddStringToObject(o, "qmp_socket", vm->qmp_path);
	cJSON_AddStringToObject(o, "console", "artifacts/console.log");
	cJSON_AddNumberToObject(o, "guest_port", QEMU_GUEST_PORT);
	if (vm->host_port)
		cJSON_AddNumberToObject(o, "host_port", vm->host_port);
	if (vm->origin[0])
		cJSON_AddStringToObject(o, "resumed_from", vm->origin);
}

static int qemu_checkpoint(struct sess *s, const char *dir, char *kind, size_t kindlen,
                           struct derr *e)
{
	struct vm *vm = vm_get(s);
	struct qmp *q = vm ? vm_qmp(vm) : NULL;
	int r;
	if (!q || !qemu_running(host_proc(s, SLOT_QEMU))) {
		r = derr_set(e, EAGAIN, "not_ready", "the VM is not running");
	} else {
		r = prov_qemu_snap_checkpoint(q, dir, kind, kindlen, e);
	}
	vm_put(vm);
	return r;
}

/* forward / unforward: live while QEMU's monitor is up, else the record only */
static int qemu_ctl(struct sess *s, const char *verb, const char *arg, struct derr *e)
{
	struct vm *vm = vm_get(s);
	int r = qemu_net_ctl(s, vm ? vm_qmp(vm) : NULL, vm ? &vm->net : NULL, verb, arg, e);
	vm_put(vm);
	return r;
}

static int qemu_check(char *why, size_t len)
{
	struct prov_qemu_assets a;
	struct prov_qemu_accel acc;
	char miss[400];
	int r = prov_qemu_find_assets(&a, miss, sizeof miss);
	prov_qemu_accel(&acc);
	if (r < 0) {
		snprintf(why, len, "%s; accel would be %s", miss, acc.why);
		return 0;
	}
	snprintf(why, len, "%s; guest %s; accel %s", a.qemu, a.guest, acc.why);
	return 1;
}

const struct prov_ops prov_qemu = {
    .name = "qemu",
    .summary = "a QEMU virtual machine per session (KVM or TCG), the agent inside, QMP control",
    .check = qemu_check,
    .start = qemu_start,
    .health = qemu_health,
    .reattach = qemu_reattach,
    .stop = qemu_stop,
    .capture = qemu_capture,
    .renamed = qemu_renamed,
    .describe = qemu_describe,
    .ctl = qemu_ctl,
    .checkpoint = qemu_checkpoint,
};
