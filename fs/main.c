/*
 * main.c - the deskfs daemon: options, mount, the FUSE loop, shutdown.
 *
 *	$ deskfs -o provider=xvfb,width=1280,height=800 /mnt/desk
 *	$ mkdir /mnt/desk/s1 && cat /mnt/desk/s1/screenshot.png > now.png
 *	$ fusermount3 -u /mnt/desk        (or SIGTERM: every session is destroyed)
 */
#include "fs/fs.h"
#include "fs/cli.h"
#include "fs/log.h"
#include "core/agentc.h"
#include "core/sess_ops.h"
#include "providers/prov.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { KEY_ALLOW_OTHER };

/* allow_other goes on to FUSE; we note it to make sessions per-user. */
static int cli_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	if (key == KEY_ALLOW_OTHER)
		fs_shared = 1;
	return fs_cli_other(arg, key, outargs); /* SOURCE MOUNTPOINT, fstab words, unknowns */
}

struct cli {
	char *provider, *display, *statedir, *agent;
	int width, height, glx, ready_timeout, agent_timeout, max_sessions, keep;
	int help, version, dry_run;
};

#define OPT(t, f) {t, offsetof(struct cli, f), 1}
static const struct fuse_opt cli_spec[] = {
	OPT("provider=%s", provider),
	OPT("display=%s", display),
	OPT("statedir=%s", statedir),
	OPT("agent=%s", agent),
	OPT("width=%d", width),
	OPT("height=%d", height),
	OPT("glx=%d", glx),
	OPT("ready_timeout=%d", ready_timeout),
	OPT("agent_timeout=%d", agent_timeout),
	OPT("max_sessions=%d", max_sessions),
	OPT("keep", keep),
	FUSE_OPT_KEY("allow_other", KEY_ALLOW_OTHER),
	OPT("-h", help),
	OPT("--help", help),
	OPT("-V", version),
	OPT("--version", version),
	OPT("--dry-run", dry_run),
	FUSE_OPT_END,
};

static void usage(const char *prog)
{
	printf("usage: %s [-f] [-d] [-o option[,option...]] [SOURCE] MOUNTPOINT\n"
	       "\n"
	       "Computer-use desktops as files: mkdir MOUNTPOINT/NAME makes a session,\n"
	       "NAME/screenshot.png shows it, NAME/actions drives it, rmdir ends it.\n"
	       "\n"
	       "deskfs options:\n"
	       "    -o provider=NAME       default provider for mkdir: xvfb (default) | display |\n"
	       "                           qemu (a VM per session) | remote (see .providers.json)\n"
	       "    -o width=W,height=H    default screen size (1280x800)\n"
	       "    -o display=:N          the X display of provider=display (default $DISPLAY)\n"
	       "    -o glx=0|1             keep Xvfb's GLX extension (default 0: faster, smaller)\n"
	       "    -o ready_timeout=S     how long reads and writes wait for a session (30 s)\n"
	       "    -o agent_timeout=S     bound on one agent request; a hung agent costs this (10 s)\n"
	       "    -o max_sessions=N      refuse mkdir past N sessions with EAGAIN (default 64)\n"
	       "    -o keep                unmount/SIGTERM leave sessions running; the next\n"
	       "                           deskfs on this mountpoint re-attaches them\n"
	       "    -o statedir=DIR        where session state lives (default /run/deskfs/...)\n"
	       "    -o agent=PATH          the deskfs-agent binary (default: next to deskfs)\n"
	       "    -f                     stay in the foreground\n"
	       "    -d                     debug: foreground, print every FUSE request\n"
	       "    -h, --help             this text, then libfuse's options\n"
	       "    -V, --version          print the version\n"
	       "    --dry-run              with -o provider=qemu: print the VM's QEMU and kernel\n"
	       "                           command lines and KVM or TCG (and why); start nothing\n"
	       "\n"
	       "See README.md for the tree, the action language and examples.\n\n",
	       prog);
}

/* /run/deskfs/<hash of the mountpoint> for root, else per-user runtime dir. */
static void default_statedir(const char *mnt, char *out, size_t len)
{
	char real[PATH_MAX];
	if (!realpath(mnt, real))
		snprintf(real, sizeof real, "%s", mnt);
	unsigned long h = 5381;
	for (const char *p = real; *p; p++)
		h = h * 33 + (unsigned char)*p;
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (getuid() == 0)
		snprintf(out, len, "/run/deskfs/%08lx", h & 0xffffffffUL);
	else if (xdg && *xdg)
		snprintf(out, len, "%s/deskfs/%08lx", xdg, h & 0xffffffffUL);
	else
		snprintf(out, len, "/tmp/deskfs-%u/%08lx", (unsigned)getuid(), h & 0xffffffffUL);
}

static int build_opts(const struct cli *c, const char *mnt, struct sess_opts *o)
{
	char err[300];
	memset(o, 0, sizeof *o);
	struct sess_conf *d = &o->defaults;
	snprintf(d->provider, sizeof d->provider, "xvfb");
	d->width = 1280;
	d->height = 800;
	d->ready_timeout_ms = 30000;
	d->agent_timeout_ms = 10000;
	d->memory = 256;
	d->cpus = 1;
	o->max_sessions = c->max_sessions > 0 ? c->max_sessions : 64;
	o->keep = c->keep;
	struct {
		const char *key;
		char val[64];
		int set;
	} kv[] = {
		{"provider", "", c->provider != NULL}, {"display", "", c->display != NULL},
		{"width", "", c->width != 0},          {"height", "", c->height != 0},
		{"glx", "", c->glx != -1},             {"ready_timeout", "", c->ready_timeout != 0},
		{"agent_timeout", "", c->agent_timeout != 0},
	};
	snprintf(kv[0].val, sizeof kv[0].val, "%s", c->provider ? c->provider : "");
	snprintf(kv[1].val, sizeof kv[1].val, "%s", c->display ? c->display : "");
	snprintf(kv[2].val, sizeof kv[2].val, "%d", c->width);
	snprintf(kv[3].val, sizeof kv[3].val, "%d", c->height);
	snprintf(kv[4].val, sizeof kv[4].val, "%d", c->glx);
	snprintf(kv[5].val, sizeof kv[5].val, "%d", c->ready_timeout);
	snprintf(kv[6].val, sizeof kv[6].val, "%d", c->agent_timeout);
	for (size_t i = 0; i < sizeof kv / sizeof *kv; i++) {
		if (kv[i].set && sess_conf_set(d, kv[i].key, kv[i].val, err, sizeof err) < 0) {
			fs_log(LOG_ERR, "deskfs: -o %s=%s: %s", kv[i].key, kv[i].val, err);
			return -EINVAL;
		}
	}
	if (c->statedir)
		snprintf(o->statedir, sizeof o->statedir, "%s", c->statedir);
	else
		default_statedir(mnt, o->statedir, sizeof o->statedir);
	if (c->agent)
		snprintf(o->agent_path, sizeof o->agent_path, "%s", c->agent);
	else if (proc_find_exe("deskfs-agent", o->agent_path, sizeof o->agent_path) < 0)
		snprintf(o->agent_path, sizeof o->agent_path, "deskfs-agent");
	return 0;
}

/* --dry-run: what a VM session would run, with the mount's settings; nothing starts. */
static int dry_run(const struct cli *c, const char *mnt)
{
	struct sess_opts o;
	if (build_opts(c, mnt ? mnt : ".", &o) < 0)
		return 2;
	if (strcmp(o.defaults.provider, "qemu") != 0) {
		fs_log(LOG_ERR, "deskfs: --dry-run shows a VM's command line: add -o provider=qemu");
		return 2;
	}
	return prov_qemu_dry_run(&o.defaults, c->statedir || mnt ? o.statedir : "STATEDIR",
				 stdout) < 0;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts fo;
	struct cli cli = {.glx = -1};
	struct sess_opts so;
	struct fuse_session *se = NULL;
	struct fuse_loop_config *cfg = NULL;
	int ret = 1;

	fs_log_init(); /* "<3>" prefixes for the journal, libfuse's lines too */
	if (fuse_opt_parse(&args, &cli, cli_spec, cli_proc) < 0 || fs_cli_finish(&args) < 0) {
		ret = 2;
		goto out_args;
	}
	/* the kernel checks modes: a session is its owner's (0700) */
	fuse_opt_add_arg(&args, "-odefault_permissions");
	if (cli.version) {
		printf("deskfs %s\n", DESKFS_VERSION);
		printf("FUSE library version %s\n", fuse_pkgversion());
		ret = 0;
		goto out_args;
	}
	if (fuse_parse_cmdline(&args, &fo) != 0) {
		ret = 2;
		goto out_args;
	}
	if (cli.help || fo.show_help) {
		usage(argv[0]);
		fuse_cmdline_help();
		fuse_lowlevel_help();
		ret = 0;
		goto out_mnt;
	}
	if (cli.dry_run) {
		ret = dry_run(&cli, fo.mountpoint);
		goto out_mnt;
	}
	if (fs_cli_check_mountpoint(argv[0], fo.mountpoint) < 0) {
		ret = 2;
		goto out_mnt;
	}
	if (build_opts(&cli, fo.mountpoint, &so) < 0) {
		ret = 2;
		goto out_mnt;
	}
	agentc_global_init();
	int r = sess_init(&so);
	if (r < 0) {
		fs_log(LOG_ERR, "deskfs: state directory %s: %s", so.statedir, strerror(-r));
		goto out_mnt;
	}
	/* sessions an earlier daemon left: a crash, or -o keep */
	r = sess_restore_all();
	if (r > 0)
		fs_log(LOG_INFO, "deskfs: %d recorded session(s) found in %s", r, so.statedir);
	se = fuse_session_new(&args, &fs_ops, sizeof fs_ops, NULL);
	if (!se)
		goto out_mnt;
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (fuse_session_mount(se, fo.mountpoint) != 0)
		goto out_signals;
	/* children must never hold the FUSE device open */
	fcntl(fuse_session_fd(se), F_SETFD, FD_CLOEXEC);
	fuse_daemonize(fo.foreground);
	fs_notify_ready(fo.mountpoint); /* systemd Type=notify: READY=1 */

	cfg = fuse_loop_cfg_create();
	fuse_loop_cfg_set_clone_fd(cfg, (unsigned)fo.clone_fd);
	if (fo.max_idle_threads != UINT_MAX)
		fuse_loop_cfg_set_idle_threads(cfg, fo.max_idle_threads);
	/* each session's desktop reads may wait on it: allow many at once */
	fuse_loop_cfg_set_max_threads(cfg, 256);
	/* > 0 is the signal that ended the loop (SIGTERM, SIGINT): a clean exit */
	ret = fuse_session_loop_mt(se, cfg) < 0;
	fuse_loop_cfg_destroy(cfg);

	fs_notify_stopping();
	sess_shutdown(); /* SIGTERM or unmount: nothing of ours keeps running (but -o keep) */
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out_mnt:
	free(fo.mountpoint);
out_args:
	fuse_opt_free_args(&args);
	free(cli.provider);
	free(cli.display);
	free(cli.statedir);
	free(cli.agent);
	return ret;
}
