/*
 * xvfb.c - provider "xvfb": a private Xvfb per session, plus its agent.
 *
 *	deskfs -o provider=xvfb,width=1280,height=800 /mnt/desk
 *
 * Xvfb picks a free display itself (-displayfd), so two sessions never
 * share one: the X server's lock file decides. GLX is off unless glx=1:
 * without it Xvfb starts in about half the time and uses ~50 MB less, and
 * desktops driven by models rarely need OpenGL.
 */
#include "providers/prov.h"
#include "core/sess.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum { SLOT_XVFB, SLOT_AGENT };

static int xvfb_check(char *why, size_t len)
{
	char exe[PATH_MAX], agent[PATH_MAX];
	if (proc_find_exe("Xvfb", exe, sizeof exe) < 0) {
		snprintf(why, len, "Xvfb not found in PATH (apt-get install xvfb)");
		return 0;
	}
	if (access(sess_options()->agent_path, X_OK) < 0 &&
	    proc_find_exe("deskfs-agent", agent, sizeof agent) < 0) {
		snprintf(why, len, "deskfs-agent not found next to deskfs or in PATH");
		return 0;
	}
	snprintf(why, len, "Xvfb at %s", exe);
	return 1;
}

static int xvfb_start(struct sess *s, char *err, size_t errlen)
{
	char exe[PATH_MAX], screen[64], log[PATH_MAX + 16], line[32], display[40];
	int fds[2], r;

	if (proc_find_exe("Xvfb", exe, sizeof exe) < 0) {
		snprintf(err, errlen, "xvfb_missing: Xvfb not found in PATH (apt-get install xvfb)");
		return -ENOENT;
	}
	pthread_mutex_lock(&s->lock);
	snprintf(screen, sizeof screen, "%dx%dx24", s->conf.width, s->conf.height);
	int glx = s->conf.glx;
	pthread_mutex_unlock(&s->lock);
	snprintf(log, sizeof log, "%s/xvfb.log", s->artdir);
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	const char *argv[16];
	int n = 0;
	argv[n++] = exe;
	argv[n++] = "-displayfd";
	argv[n++] = "3";
	argv[n++] = "-screen";
	argv[n++] = "0";
	argv[n++] = screen;
	argv[n++] = "-nolisten";
	argv[n++] = "tcp";
	argv[n++] = "-noreset";
	argv[n++] = "-dpi";
	argv[n++] = "96";
	if (!glx) {
		argv[n++] = "-extension";
		argv[n++] = "GLX";
	}
	argv[n] = NULL;
	r = proc_spawn(&s->procs[SLOT_XVFB], "xvfb", argv, NULL, log, fds[1]);
	close(fds[1]);
	if (r < 0) {
		snprintf(err, errlen, "xvfb_failed: cannot start %s: %s", exe, strerror(-r));
		close(fds[0]);
		return r;
	}
	r = prov_read_line(s, fds[0], SLOT_XVFB, 10000, line, sizeof line, err, errlen);
	close(fds[0]);
	if (r < 0)
		return r;
	snprintf(display, sizeof display, ":%s", line);
	sess_set_display(s, display);
	sess_set_readiness(s, RD_DESKTOP_READY);
	return prov_start_local_agent(s, display, SLOT_AGENT, err, errlen);
}

const struct prov_ops prov_xvfb = {
	.name = "xvfb",
	.summary = "a private Xvfb per session, driven by a local agent",
	.check = xvfb_check,
	.start = xvfb_start,
	.reattach = prov_reattach_local,
	.health = prov_check_procs,
	.stop = prov_stop_procs,
};
