/*
 * cli.c - deskfs as a mount helper: positional SOURCE MOUNTPOINT, fstab's
 * options, and unknown options refused by name before anything starts.
 *
 *	$ deskfs -o provider=xvfb /mnt/desk                  # the usual form
 *	$ deskfs deskfs /mnt/desk -o provider=xvfb,noauto    # as mount.fuse3 runs it
 *	$ mount -t fuse.deskfs deskfs /mnt/desk -o provider=xvfb,width=1280
 *	$ deskfs -o colour=red /mnt/desk
 *	deskfs: unknown option 'colour=red' (deskfs --help lists the options)
 *
 * How it stays right when either option list changes: deskfs's own table
 * (fs/main.c) matches first; what it leaves comes to fs_cli_other(). The
 * words mount(8) and fstab use for everyone (noauto, nofail, _netdev, user,
 * x-*, comment=, ...) are dropped here, as mount.fuse3 and sshfs drop them.
 * Everything else is left for libfuse, and fs_cli_finish() asks libfuse
 * itself, one option at a time, whether it knows it: a trial
 * fuse_parse_cmdline + fuse_session_new on just that option, which parses
 * and allocates but opens and mounts nothing. So no list of libfuse's
 * options is kept here.
 *
 * The source ("deskfs" in an fstab line) becomes the mount's fsname, as
 * with sshfs, and the mount's type is fuse.deskfs (subtype), unless the
 * user set either.
 */
#include "fs/cli.h"
#include "fs/log.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CLI_MAX_UNSURE 64

/* Set by fuse_opt_parse's callback, read by fs_cli_finish, on main's thread only. */
static struct {
	char *pos[3]; /* positional words, the third is an error */
	int npos;
	char *unsure[CLI_MAX_UNSURE]; /* options left for libfuse to judge */
	int nunsure;
	int has_fsname, has_subtype;
} cli;

/* fstab words that concern mount(8) or systemd, not the filesystem. */
static const char *const cli_ignored[] = {
    "noauto",      "auto",     "nofail",     "_netdev",  "user",     "users",
    "nouser",      "owner",    "group",      "defaults", "relatime", "norelatime",
    "strictatime", "lazytime", "nolazytime", "diratime", "iversion", "noiversion",
    "loud",        "silent",   "comment=*",  "x-*",
};

static int cli_is_ignored(const char *opt)
{
	for (size_t i = 0; i < sizeof cli_ignored / sizeof *cli_ignored; i++)
		if (fnmatch(cli_ignored[i], opt, 0) == 0)
			return 1;
	return 0;
}

int fs_cli_other(const char *arg, int key, struct fuse_args *outargs)
{
	if (key == FUSE_OPT_KEY_NONOPT) {
		if (cli.npos < 3)
			cli.pos[cli.npos++] = strdup(arg);
		return 0; /* fs_cli_finish puts the mountpoint back */
	}
	if (key != FUSE_OPT_KEY_OPT)
		return 1;
	if (arg[0] != '-' && cli_is_ignored(arg))
		return 0;
	if (strncmp(arg, "fsname=", 7) == 0)
		cli.has_fsname = 1;
	if (strncmp(arg, "subtype=", 8) == 0)
		cli.has_subtype = 1;
	if (cli.nunsure < CLI_MAX_UNSURE)
		cli.unsure[cli.nunsure++] = strdup(arg);
	return 1;
}

/* Does libfuse take this one option (a -o word, or a command-line flag)? */
static int cli_libfuse_knows(const char *opt)
{
	static const struct fuse_lowlevel_ops no_ops;
	struct fuse_cmdline_opts fo = {0};
	char *argv[] = {(char *)"deskfs", (char *)"-o", (char *)opt, NULL};
	struct fuse_args a = FUSE_ARGS_INIT(0, NULL);
	int known = 0;
	if (opt[0] == '-') {
		argv[1] = (char *)opt;
		argv[2] = NULL;
	}
	for (int i = 0; argv[i]; i++)
		if (fuse_opt_add_arg(&a, argv[i]) < 0)
			goto out;
	fs_log_fuse_quiet(1);
	if (fuse_parse_cmdline(&a, &fo) == 0) {
		struct fuse_session *se = fuse_session_new(&a, &no_ops, sizeof no_ops, NULL);
		if (se) {
			known = 1;
			fuse_session_destroy(se);
		}
	}
	fs_log_fuse_quiet(0);
	free(fo.mountpoint);
out:
	fuse_opt_free_args(&a);
	return known;
}

static int cli_add_opt(struct fuse_args *args, const char *name, const char *value)
{
	char *opts = NULL, *kv = NULL;
	int r = -ENOMEM;
	if (asprintf(&kv, "%s=%s", name, value) < 0)
		return -ENOMEM;
	if (fuse_opt_add_opt_escaped(&opts, kv) < 0)
		goto out;
	if (fuse_opt_add_arg(args, "-o") < 0 || fuse_opt_add_arg(args, opts) < 0)
		goto out;
	r = 0;
out:
	free(opts);
	free(kv);
	return r;
}

int fs_cli_finish(struct fuse_args *args)
{
	int r = 0;
	for (int i = 0; i < cli.nunsure; i++) {
		if (!cli.unsure[i] || cli_libfuse_knows(cli.unsure[i]))
			continue;
		fs_log(LOG_ERR, "deskfs: unknown option '%s' (deskfs --help lists the options)",
		       cli.unsure[i]);
		r = -EINVAL;
	}
	if (cli.npos > 2) {
		fs_log(LOG_ERR,
		       "deskfs: too many arguments at '%s' (usage: deskfs [-o options] "
		       "[SOURCE] MOUNTPOINT)",
		       cli.pos[2]);
		r = -EINVAL;
	}
	if (r == 0 && cli.npos > 0) {
		const char *mnt = cli.pos[cli.npos - 1];
		const char *source = cli.npos == 2 ? cli.pos[0] : "deskfs";
		if (!cli.has_fsname)
			r = cli_add_opt(args, "fsname", source);
		if (r == 0 && !cli.has_subtype)
			r = cli_add_opt(args, "subtype", "deskfs");
		if (r == 0 && fuse_opt_add_arg(args, mnt) < 0)
			r = -ENOMEM;
	}
	for (int i = 0; i < cli.npos; i++)
		free(cli.pos[i]);
	for (int i = 0; i < cli.nunsure; i++)
		free(cli.unsure[i]);
	memset(&cli, 0, sizeof cli);
	return r;
}

int fs_cli_check_mountpoint(const char *prog, const char *mountpoint)
{
	struct stat st;
	if (!mountpoint) {
		fs_log(LOG_ERR,
		       "usage: %s [-f] [-d] [-o options] [SOURCE] MOUNTPOINT  (try --help)", prog);
		return -EINVAL;
	}
	if (stat(mountpoint, &st) < 0) {
		int e = errno;
		fs_log(LOG_ERR, "deskfs: mountpoint %s: %s%s", mountpoint, strerror(e),
		       e == ENOTCONN ? " (a dead mount: fusermount3 -u it first, or use -o "
		                       "auto_unmount)"
		                     : "");
		return -e;
	}
	if (!S_ISDIR(st.st_mode)) {
		fs_log(LOG_ERR, "deskfs: mountpoint %s: not a directory", mountpoint);
		return -ENOTDIR;
	}
	return 0;
}
