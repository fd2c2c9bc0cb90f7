/*
 * prov_local.c - what the local providers share: starting a deskfs-agent
 * beside an X display on a unix socket in the session's state directory,
 * bounded reads of a child's ready line, and health/stop over the
 * session's process table. Everything goes through core/host.h.
 */
#include "providers/prov.h"
#include "core/host.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int prov_read_line(struct sess *s, int fd, int slot, unsigned timeout_ms, char *out, size_t len,
		   struct derr *e)
{
	struct proc *p = host_proc(s, slot);
	char code[40];
	size_t got = 0;
	uint64_t end = util_mono_ms() + timeout_ms;
	for (;;) {
		if (host_should_stop(s))
			return derr_set(e, ECANCELED, "stopped", "the session was stopped while starting");
		int64_t left = (int64_t)(end - util_mono_ms());
		if (left <= 0) {
			snprintf(code, sizeof code, "%s_timeout", p->role);
			return derr_set(e, ETIMEDOUT, code, "%s did not report ready within %u ms",
					p->role, timeout_ms);
		}
		struct pollfd pfd = {fd, POLLIN, 0};
		int n = poll(&pfd, 1, left < 50 ? (int)left : 50);
		if (n < 0 && errno != EINTR)
			return derr_set(e, errno, "internal", "poll: %s", strerror(errno));
		if (n <= 0)
			continue;
		/* A writer may split the line (Xvfb writes the number, then the newline). */
		ssize_t r = read(fd, out + got, len - 1 - got);
		if (r > 0) {
			got += (size_t)r;
			out[got] = '\0';
			char *nl = strchr(out, '\n');
			if (nl) {
				*nl = '\0';
				return 0;
			}
			if (got >= len - 1)
				return derr_set(e, E2BIG, "internal", "%s's ready line is too long",
						p->role);
			continue;
		}
		/* EOF: the child closed its end, most likely by dying. */
		char why[200], words[300];
		util_sleep_ms(20);
		proc_alive(p);
		proc_describe(p, why, sizeof why);
		host_log_tail(s, p->role, words, sizeof words);
		snprintf(code, sizeof code, "%s_failed", p->role);
		return derr_set(e, EIO, code, "%s %s before it was ready%s%s", p->role, why,
				words[0] ? "; its log says: " : "", words);
	}
}

/* The agent's socket, bound and listening by us (the daemon), 0600. */
static int bind_agent_socket(const char *path, struct derr *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	unlink(path); /* ours: the session's directory is the daemon's alone */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return derr_set(e, errno, "agent_failed", "socket: %s", strerror(errno));
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 64) < 0 ? -errno : 0;
	umask(old);
	if (r < 0) {
		close(fd);
		return derr_set(e, -r, "agent_failed", "cannot listen on %s: %s", path, strerror(-r));
	}
	return fd;
}

/*
 * The agent beside a local display. With as_owner (provider=display for
 * anyone but root) it runs as the session's owner, never as us: it gets
 * the socket already listening (fd 4) and the token through a pipe (fd 5),
 * since it cannot read the state directory, and it reaches the display
 * only with the owner's own X credentials (their XAUTHORITY), so deskfs
 * lends nobody a display they could not open themselves.
 *
 * Programs and files: the agent runs programs as the owner (--run-as
 * UID:GID, with their groups) and serves files/ with the owner's
 * credentials, rooted at the session's home (--home), which is also
 * programs' HOME and working directory. xauth, when given (xvfb), is the
 * cookie the agent hands programs as HOME/.Xauthority (--xauthority).
 */
int prov_start_local_agent(struct sess *s, const char *display, const char *xauth, int slot,
			   int as_owner, struct derr *e)
{
	char sock[PATH_MAX + 16], listen[PATH_MAX + 32], tokfile[PATH_MAX + 16], log[PATH_MAX + 16];
	char line[64], xenv[PATH_MAX + 16], henv[PATH_MAX + 16], tok[80];
	int fds[2] = {-1, -1}, tfd[2] = {-1, -1}, lfd = -1, r;

	snprintf(sock, sizeof sock, "%s/agent.sock", host_dir(s));
	if (strlen(sock) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return derr_set(e, ENAMETOOLONG, "state_dir",
				"socket path %s is too long for a unix socket", sock);
	snprintf(listen, sizeof listen, "unix:%s", sock);
	snprintf(tokfile, sizeof tokfile, "%s/token", host_dir(s));
	snprintf(log, sizeof log, "%s/agent.log", host_artdir(s));
	char runas[48];
	const char *home = host_home(s);
	if (!home[0])
		return derr_set(e, ENOENT, "home",
				"session '%s' has no home directory, so its programs have nowhere "
				"to run (see the daemon's log)",
				host_name(s));
	if (pipe2(fds, O_CLOEXEC) < 0)
		return derr_set(e, errno, "agent_failed", "pipe: %s", strerror(errno));
	snprintf(runas, sizeof runas, "%u:%u", (unsigned)host_owner(s), (unsigned)host_group(s));
	const char *argv[] = {host_agent_path(), "--display", display, "--listen", listen,
			      "--token-file", tokfile, "--ready-fd", "3", "--run-as", runas,
			      "--home", home, xauth ? "--xauthority" : NULL, xauth, NULL};
	const char *env[3] = {NULL, NULL, NULL};
	struct proc_opts po = {.logpath = log, .fds = {fds[1]}, .nfds = 1};
	if (xauth) {
		snprintf(xenv, sizeof xenv, "XAUTHORITY=%s", xauth);
		env[0] = xenv;
	}
	if (as_owner) {
		struct passwd pw, *pwp = NULL;
		char pwbuf[4096];
		if (!xauth && getpwuid_r(host_owner(s), &pw, pwbuf, sizeof pwbuf, &pwp) == 0 && pwp) {
			snprintf(xenv, sizeof xenv, "XAUTHORITY=%s/.Xauthority", pw.pw_dir);
			snprintf(henv, sizeof henv, "HOME=%s", pw.pw_dir);
			env[0] = xenv;
			env[1] = henv;
		} else if (!xauth) {
			env[0] = "XAUTHORITY=/nonexistent"; /* never the daemon's own */
		}
		if ((lfd = bind_agent_socket(sock, e)) < 0) {
			r = lfd;
			goto out_close;
		}
		host_token(s, tok, sizeof tok);
		size_t tl = strlen(tok);
		if (pipe2(tfd, O_CLOEXEC) < 0 || write(tfd[1], tok, tl) != (ssize_t)tl) {
			r = derr_set(e, errno, "agent_failed", "token pipe: %s", strerror(errno));
			goto out_close;
		}
		close(tfd[1]);
		tfd[1] = -1;
		explicit_bzero(tok, sizeof tok);
		argv[4] = "fd:4";
		argv[5] = "--token-fd";
		argv[6] = "5";
		po.fds[1] = lfd;
		po.fds[2] = tfd[0];
		po.nfds = 3;
		po.as_user = 1;
		po.uid = host_owner(s);
		po.gid = host_group(s);
	}
	po.env = env[0] ? env : NULL;
	r = host_spawn(s, slot, "agent", argv, &po, e);
	close(fds[1]);
	fds[1] = -1;
	if (r < 0)
		goto out_close;
	r = prov_read_line(s, fds[0], slot, 10000, line, sizeof line, e);
	if (r < 0)
		goto out_close;
	host_set_endpoint(s, sock, NULL);
	host_readiness(s, RD_BRIDGE_LISTENING);
out_close:;
	int mine[] = {fds[0], fds[1], tfd[0], tfd[1], lfd};
	for (size_t i = 0; i < sizeof mine / sizeof *mine; i++)
		if (mine[i] >= 0)
			close(mine[i]);
	return r;
}

int prov_check_procs(struct sess *s, struct derr *e)
{
	for (int i = 0; i < HOST_MAX_PROCS; i++) {
		struct proc *p = host_proc(s, i);
		if (p->pid <= 0 || proc_alive(p))
			continue;
		char why[100], words[300], code[40];
		proc_describe(p, why, sizeof why);
		host_log_tail(s, p->role, words, sizeof words);
		snprintf(code, sizeof code, "%s_died", p->role);
		return derr_set(e, EIO, code, "the session's %s %s%s%s", p->role, why,
				words[0] ? "; its log says: " : "", words);
	}
	return 0;
}

/* Local sessions: alive is enough; the core then checks the agent answers. */
int prov_reattach_local(struct sess *s, struct derr *e)
{
	char sock[PATH_MAX];
	int r = prov_check_procs(s, e);
	if (r < 0)
		return r;
	host_endpoint(s, sock, sizeof sock, NULL, 0);
	if (!sock[0])
		return derr_set(e, ENOENT, "reattach_failed", "the record names no agent socket");
	host_readiness(s, RD_DESKTOP_READY);
	host_readiness(s, RD_BRIDGE_LISTENING);
	return 0;
}

void prov_stop_procs(struct sess *s)
{
	/* the agent (started last) first, so it never sees its display vanish */
	for (int i = HOST_MAX_PROCS - 1; i >= 0; i--)
		proc_stop(host_proc(s, i), 2000);
}
