/*
 * cli.h - the parts of deskfs's command line that make it a mount helper
 * like any FUSE filesystem, and its systemd readiness. main() calls:
 *
 *	fuse_opt_parse(&args, &cli, spec, proc);  proc ends with
 *	        return fs_cli_other(arg, key, outargs);
 *	if (fs_cli_finish(&args) < 0) exit 2;      before fuse_parse_cmdline
 *	fuse_parse_cmdline(&args, &fo);
 *	if (fs_cli_check_mountpoint(argv[0], fo.mountpoint) < 0) exit 2;
 *	...mount, daemonize...  fs_notify_ready(fo.mountpoint);
 *	...loop ends...         fs_notify_stopping();
 *
 * So "deskfs SOURCE MOUNTPOINT -o OPTS" (how mount.fuse3 runs us, for
 * `mount -t fuse.deskfs` and /etc/fstab) works, fstab's own words (noauto,
 * _netdev, nofail, x-systemd.*, ...) are accepted and ignored, and an option
 * neither deskfs nor libfuse knows is refused by name before anything starts.
 */
#ifndef DESKFS_FS_CLI_H
#define DESKFS_FS_CLI_H

#include "fs/fs.h"

/* fuse_opt_parse's catch-all for what deskfs's own table did not match. */
int fs_cli_other(const char *arg, int key, struct fuse_args *outargs);
/* Positional words and unknown options: 0, or -EINVAL with a message logged. */
int fs_cli_finish(struct fuse_args *args);
/* A usable mountpoint, checked before anything starts: 0, or -errno with a message. */
int fs_cli_check_mountpoint(const char *prog, const char *mountpoint);

/* sd_notify(3): READY=1 once mounted (and daemonized), STOPPING=1 at the end. */
void fs_notify_ready(const char *mountpoint);
void fs_notify_stopping(void);

#endif
