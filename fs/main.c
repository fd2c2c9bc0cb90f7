/*
 * main.c - the deskfs daemon: options, mount, the FUSE loop, shutdown.
 *
 *	$ deskfs -o provider=xvfb,width=1280,height=800 /mnt/desk
 *	$ mkdir /mnt/desk/s1 && cat /mnt/desk/s1/screenshot.png > now.png
 *	$ fusermount3 -u /mnt/desk        (or SIGTERM: every session is destroyed)
 */
#include "common/exe.h"
#include "fs/fs.h"
#include "fs/cli.h"
#include "fs/log.h"
#include "core/agentc.h"
#include "core/pool.h"
#include "core/sess_ops.h"
#include "core/settings.h"
#include "core/statedir.h"
#include "providers/prov.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { KEY_ALLOW_OTHER, KEY_SETTING };

struct cli {
	char *statedir, *agent;
	int max_sessions, max_user_sessions, keep;
	int help, version, dry_run;
	struct sess_conf defaults; /* -o SETTING=VALUE, one row of core/settings.c each */
	int bad;                   /* a setting was refused (said on stderr) */
	int provider_given;        /* -o provider=: -o template= does not imply qemu then */
};

/* allow_other goes on to FUSE; we note it to make sessions per-user. A
 * session setting (-o width=1920) goes through the settings table. */
static int cli_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct cli *c = data;
	char err[400], kv[600];
	if (key == KEY_ALLOW_OTHER)
		fs_shared = 1;
	if (key != KEY_SETTING) /* SOURCE MOUNTPOINT, fstab words, unknowns */
		return fs_cli_other(arg, key, outargs);
	snprintf(kv, sizeof kv, "%s", arg);
	char *eq = strchr(kv, '=');
	*eq = '\0';
	if (set_parse(&c->defaults, kv, eq + 1, err, sizeof err) < 0) {
		fs_log(LOG_ERR, "deskfs: -o %s: %s", arg, err);
		c->bad = 1;
	}
	c->provider_given |= strcmp(kv, "provider") == 0;
	return 0;
}

#define OPT(t, f) {t, offsetof(struct cli, f), 1}
static const struct fuse_opt cli_fixed[] = {
	OPT("statedir=%s", statedir),
	OPT("agent=%s", agent),
	OPT("max_sessions=%d", max_sessions),
	OPT("max_user_sessions=%d", max_user_sessions),
	OPT("keep", keep),
	FUSE_OPT_KEY("allow_other", KEY_ALLOW_OTHER),
	OPT("-h", help),
	OPT("--help", help),
	OPT("-V", version),
	OPT("--version", version),
	OPT("--dry-run", dry_run),
};

/* The fixed options, then "NAME=" for every session setting. */
#define MAX_SETTINGS 32
static struct fuse_opt *cli_spec(void)
{
	static struct fuse_opt spec[sizeof cli_fixed / sizeof *cli_fixed + MAX_SETTINGS + 1];
	static char names[MAX_SETTINGS][40];
	size_t n = 0, k = 0;
	for (size_t i = 0; i < sizeof cli_fixed / sizeof *cli_fixed; i++)
		spec[n++] = cli_fixed[i];
	for (const struct setting *st = settings; st->name && k < MAX_SETTINGS; st++, k++) {
		snprintf(names[k], sizeof names[k], "%s=", st->name);
		spec[n++] = (struct fuse_opt)FUSE_OPT_KEY(names[k], KEY_SETTING);
	}
	spec[n] = (struct fuse_opt)FUSE_OPT_END;
	return spec;
}

static void usage(const char *prog)
{
	printf("usage: %s [-f] [-d] [-o option[,option...]] [SOURCE] MOUNTPOINT\n"
	       "\n"
	       "Computer-use desktops as files: mkdir MOUNTPOINT/NAME makes a session,\n"
	       "NAME/screenshot.png shows it, NAME/actions drives it, rmdir ends it.\n"
	       "Session settings are the defaults of mkdir; `create NAME KEY=VALUE` in\n"
	       "MOUNTPOINT/.ctl sets them per session.\n"
	       "\n"
	       "deskfs options:\n",
	       prog);
	set_help(stdout);
	printf("    -o max_sessions=N      refuse mkdir past N sessions with EAGAIN (default 64)\n"
	       "    -o max_user_sessions=N refuse a user's mkdir past N sessions of theirs, so\n"
	       "                           one user cannot lock the others out (default 16)\n"
	       "    -o keep                unmount/SIGTERM leave sessions running; the next\n"
	       "                           deskfs on this mountpoint re-attaches them\n"
	       "    -o statedir=DIR        where session state lives (default /run/deskfs/...);\n"
	       "                           made 0700, or refused if another user could write it\n"
	       "    -o agent=PATH          the deskfs-agent binary (default: next to deskfs)\n"
	       "    -o allow_other         other users may use the mount, each their own sessions\n"
	       "    -f                     stay in the foreground\n"
	       "    -d                     debug: foreground, print every FUSE request\n"
	       "    -h, --help             this text, then libfuse's options\n"
	       "    -V, --version          print the version\n"
	       "    --dry-run              with -o provider=qemu: print the VM's QEMU and kernel\n"
	       "                           command lines and KVM or TCG (and why); start nothing\n"
	       "\n"
	       "See deskfs(1) and README.md for the tree, the action language and examples.\n\n");
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
	memset(o, 0, sizeof *o);
	if (c->bad)
		return -EINVAL;
	o->defaults = c->defaults;
	/* -o template=T implies provider=qemu, as template= does on a create line */
	if (o->defaults.template[0] && !c->provider_given)
		snprintf(o->defaults.provider, sizeof o->defaults.provider, "qemu");
	o->max_sessions = c->max_sessions > 0 ? c->max_sessions : 64;
	o->max_user_sessions = c->max_user_sessions > 0 ? c->max_user_sessions : 16;
	o->keep = c->keep;
	if (!realpath(mnt, o->mountpoint))
		snprintf(o->mountpoint, sizeof o->mountpoint, "%s", mnt);
	if (c->statedir)
		snprintf(o->statedir, sizeof o->statedir, "%s", c->statedir);
	else
		default_statedir(mnt, o->statedir, sizeof o->statedir);
	if (c->agent)
		snprintf(o->agent_path, sizeof o->agent_path, "%s", c->agent);
	else if (exe_find("deskfs-agent", o->agent_path, sizeof o->agent_path) < 0)
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
		fs_log(LOG_ERR, "deskfs: --dry-run shows a VM's command line: add -o provider=qemu "
		       "(or -o template=T)");
		return 2;
	}
	return prov_qemu_dry_run(&o.defaults, c->statedir || mnt ? o.statedir : "STATEDIR",
				 stdout) < 0;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts fo;
	struct cli cli = {0};
	struct sess_opts so;
	struct fuse_session *se = NULL;
	struct fuse_loop_config *cfg = NULL;
	int ret = 1;

	fs_log_init(); /* "<3>" prefixes for the journal, libfuse's lines too */
	prov_register(prov_list()); /* the core drives providers through its port */
	set_defaults(&cli.defaults);
	if (fuse_opt_parse(&args, &cli, cli_spec(), cli_proc) < 0 || fs_cli_finish(&args) < 0) {
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
	char err[600];
	/* before the mount: a second daemon on the same state refuses here */
	int r = sess_init(&so, err, sizeof err);
	if (r < 0) {
		fs_log(LOG_ERR, "deskfs: %s", err);
		goto out_mnt;
	}
	if (fs_inode_init(&fs_root_node) < 0)
		goto out_mnt;
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
	/* After the fork: threads made before it would not exist in the child.
	 * Sessions an earlier daemon left (a crash, or -o keep) come back now. */
	statedir_note_pid(sess_lockfd());
	/* SIGTERM/SIGINT/SIGHUP: sessions end while the mount still answers */
	if (fs_shutdown_arm(se) < 0)
		fs_log(LOG_WARNING, "deskfs: cannot arm the shutdown thread; signals end the loop at once");
	r = sess_restore_all();
	if (r > 0)
		fs_log(LOG_INFO, "deskfs: %d recorded session(s) found in %s", r, so.statedir);
	if (pool_start() < 0) /* warm pools refill from here on */
		fs_log(LOG_WARNING, "deskfs: cannot start the warm pools' keeper");
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
	fs_shutdown_join();

	fs_notify_stopping();
	sess_shutdown(); /* unmount (a signal did it already): nothing of ours keeps running (but -o keep) */
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out_mnt:
	free(fo.mountpoint);
out_args:
	fuse_opt_free_args(&args);
	free(cli.statedir);
	free(cli.agent);
	return ret;
}
