/*
 * display.c - provider "display": drive an X display that already exists.
 *
 *	deskfs -o provider=display,display=:0 /mnt/desk     (or $DISPLAY)
 *
 * Only the agent is ours; the display is never stopped or killed. For any
 * owner but root the agent runs as that owner with their own XAUTHORITY
 * (~/.Xauthority), so a display reaches only those it would reach anyway.
 */
#include "providers/prov.h"
#include "core/host.h"
#include "core/util.h"
#include "core/sess.h" /* sess_options: the mount's defaults */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { SLOT_AGENT = 1 };

static int display_socket_exists(const char *display)
{
	char path[128];
	long n;
	if (display[0] != ':' || util_parse_int(display + 1, 0, 65535, &n) < 0)
		return 0;
	snprintf(path, sizeof path, "/tmp/.X11-unix/X%ld", n);
	return access(path, F_OK) == 0;
}

static const char *pick_display(const struct sess_conf *c)
{
	if (c->display[0])
		return c->display;
	const char *env = getenv("DISPLAY");
	return env && env[0] ? env : NULL;
}

static int display_check(char *why, size_t len)
{
	const char *d = pick_display(&sess_options()->defaults);
	if (!d) {
		snprintf(why, len, "no display given: use display=:N (create or -o) or set $DISPLAY");
		return 0;
	}
	if (d[0] == ':' && !display_socket_exists(d)) {
		snprintf(why, len, "display %s has no X socket in /tmp/.X11-unix", d);
		return 0;
	}
	snprintf(why, len, "display %s", d);
	return 1;
}

static int display_start(struct sess *s, struct derr *e)
{
	char display[64];
	struct sess_conf conf;
	host_conf(s, &conf);
	const char *d = pick_display(&conf);
	snprintf(display, sizeof display, "%s", d ? d : "");
	if (!display[0])
		return derr_set(e, EINVAL, "no_display",
				"provider=display needs display=:N or $DISPLAY in the daemon");
	host_set_display(s, display, NULL);
	host_readiness(s, RD_DESKTOP_READY);
	/* root's own session uses the daemon's $XAUTHORITY; anyone else's agent
	 * runs as them, with their credentials: the X server decides */
	return prov_start_local_agent(s, display, NULL, SLOT_AGENT, host_owner(s) != 0, e);
}

const struct prov_ops prov_display = {
	.name = "display",
	.local = 1,
	.summary = "an agent on an existing X display (never stopped by deskfs)",
	.check = display_check,
	.start = display_start,
	.reattach = prov_reattach_local,
	.health = prov_check_procs,
	.stop = prov_stop_procs, /* only our processes: never the display */
};
