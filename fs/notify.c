/*
 * notify.c - tell systemd (Type=notify units) when the mount is up and when
 * it goes away, with libsystemd's sd_notify(3).
 *
 *	fs_notify_ready(mountpoint);   after fuse_session_mount and fuse_daemonize
 *	fs_notify_stopping();          when the FUSE loop has ended
 *
 * Without $NOTIFY_SOCKET (not under systemd) both do nothing. READY=1 also
 * carries MAINPID, so a daemonized deskfs (no -f, NotifyAccess=all) is known
 * by the pid that serves the mount, and STATUS names the mountpoint.
 */
#include "fs/cli.h"
#include "fs/log.h"

#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

void fs_notify_ready(const char *mountpoint)
{
	int r = sd_notifyf(0, "READY=1\nMAINPID=%lu\nSTATUS=serving %s", (unsigned long)getpid(),
	                   mountpoint ? mountpoint : "");
	if (r < 0)
		fs_log(LOG_WARNING, "deskfs: sd_notify READY=1: %s", strerror(-r));
}

void fs_notify_stopping(void)
{
	int r = sd_notify(0, "STOPPING=1\nSTATUS=unmounting, ending sessions");
	if (r < 0)
		fs_log(LOG_WARNING, "deskfs: sd_notify STOPPING=1: %s", strerror(-r));
}
