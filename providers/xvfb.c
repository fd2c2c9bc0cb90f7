/*
 * xvfb.c - provider "xvfb": a private Xvfb per session, plus its agent.
 *
 *	deskfs -o provider=xvfb,width=1280,height=800 /mnt/desk
 *
 * Xvfb picks a free display itself (-displayfd), so two sessions never
 * share one: the X server's lock file decides. GLX is off unless glx=1:
 * without it Xvfb starts in about half the time and uses ~50 MB less, and
 * desktops driven by models rarely need OpenGL.
 *
 * Each Xvfb requires its own MIT-MAGIC-COOKIE-1 (-auth), so nobody can
 * reach a session's display around deskfs. The cookie is written, fresh for
 * every start, into the session's directory (the daemon's alone); its owner
 * reads it as MOUNT/NAME/xauthority, which session.json names:
 * XAUTHORITY=MOUNT/NAME/xauthority DISPLAY=... xterm runs a client in your
 * own session.
 */
#include "common/exe.h"
#include "providers/prov.h"
#include "core/host.h"
#include "core/util.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { SLOT_XVFB, SLOT_AGENT };

static void put16(struct buf *b, unsigned v)
{
	unsigned char two[2] = {(unsigned char)(v >> 8), (unsigned char)v};
	buf_append(b, two, 2);
}

/*
 * An Xauthority file (libXau's format) with one cookie for any host: for
 * display number `number`, or any display when it is "". It lives in the
 * session's own directory (0700, the daemon's); its owner reads it through
 * the mount (NAME/xauthority), never from the state directory.
 */
static int write_xauth(const char *path, const unsigned char cookie[16], const char *number)
{
	static const char name[] = "MIT-MAGIC-COOKIE-1";
	struct buf b = BUF_INIT;
	put16(&b, 0xffff); /* FamilyWild */
	put16(&b, 0);      /* no address */
	put16(&b, (unsigned)strlen(number));
	buf_append(&b, number, strlen(number));
	put16(&b, sizeof name - 1);
	buf_append(&b, name, sizeof name - 1);
	put16(&b, 16);
	buf_append(&b, cookie, 16);
	int r = b.data ? util_write_file(path, b.data, b.len, 0600) : -ENOMEM;
	buf_free(&b);
	return r;
}

static int make_cookie(struct sess *s, unsigned char cookie[16], char *path, size_t len)
{
	char hex[33];
	int r = util_random_hex(hex, 16);
	if (r < 0)
		return r;
	for (int i = 0; i < 16; i++)
		sscanf(hex + 2 * i, "%2hhx", &cookie[i]);
	snprintf(path, len, "%s/xauth", host_dir(s));
	return write_xauth(path, cookie, "");
}

static int xvfb_check(char *why, size_t len)
{
	char exe[PATH_MAX], agent[PATH_MAX];
	if (exe_find("Xvfb", exe, sizeof exe) < 0) {
		snprintf(why, len, "Xvfb not found in PATH (apt-get install xvfb)");
		return 0;
	}
	if (access(host_agent_path(), X_OK) < 0 &&
	    exe_find("deskfs-agent", agent, sizeof agent) < 0) {
		snprintf(why, len, "deskfs-agent not found next to deskfs or in PATH");
		return 0;
	}
	snprintf(why, len, "Xvfb at %s", exe);
	return 1;
}

static int xvfb_start(struct sess *s, struct derr *e)
{
	char exe[PATH_MAX], screen[64], log[PATH_MAX + 16], line[32], display[40];
	char xauth[PATH_MAX];
	unsigned char cookie[16];
	int fds[2], r;

	struct sess_conf conf;
	if (exe_find("Xvfb", exe, sizeof exe) < 0)
		return derr_set(e, ENOENT, "xvfb_missing", "Xvfb not found in PATH (apt-get install xvfb)");
	host_conf(s, &conf);
	snprintf(screen, sizeof screen, "%dx%dx24", conf.width, conf.height);
	snprintf(log, sizeof log, "%s/xvfb.log", host_artdir(s));
	if ((r = make_cookie(s, cookie, xauth, sizeof xauth)) < 0)
		return derr_set(e, -r, "state_dir", "cannot write the X cookie: %s", strerror(-r));
	if (pipe2(fds, O_CLOEXEC) < 0)
		return derr_set(e, errno, "xvfb_failed", "pipe: %s", strerror(errno));
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
	argv[n++] = "-auth";
	argv[n++] = xauth;
	if (!conf.glx) {
		argv[n++] = "-extension";
		argv[n++] = "GLX";
	}
	argv[n] = NULL;
	struct proc_opts po = {.logpath = log, .fds = {fds[1]}, .nfds = 1};
	r = host_spawn(s, SLOT_XVFB, "xvfb", argv, &po, e);
	close(fds[1]);
	if (r < 0) {
		close(fds[0]);
		return r;
	}
	r = prov_read_line(s, fds[0], SLOT_XVFB, 10000, line, sizeof line, e);
	close(fds[0]);
	if (r < 0)
		return r;
	snprintf(display, sizeof display, ":%s", line);
	/* Xvfb has read its cookie; now name the display in the file, so one
	 * XAUTHORITY can hold the cookies of several sessions (xauth merge) */
	write_xauth(xauth, cookie, line);
	host_set_display(s, display, xauth);
	host_readiness(s, RD_DESKTOP_READY);
	return prov_start_local_agent(s, display, xauth, SLOT_AGENT, 0, e);
}

static void xvfb_stop(struct sess *s)
{
	char path[PATH_MAX + 16];
	prov_stop_procs(s);
	snprintf(path, sizeof path, "%s/xauth", host_dir(s));
	unlink(path); /* the cookie goes with its display */
	host_set_display(s, NULL, NULL);
}

const struct prov_ops prov_xvfb = {
	.name = "xvfb",
	.local = 1,
	.summary = "a private Xvfb per session, driven by a local agent",
	.check = xvfb_check,
	.start = xvfb_start,
	.reattach = prov_reattach_local,
	.health = prov_check_procs,
	.stop = xvfb_stop,
};
