/*
 * prov_local.c - what the local providers share: the provider table,
 * starting a deskfs-agent beside an X display on a unix socket in the
 * session's state directory, bounded reads of a child's ready line, and
 * health/stop over s->procs.
 */
#include "providers/prov.h"
#include "core/sess.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static const struct prov_ops *const providers[] = {&prov_xvfb, &prov_display, &prov_qemu,
						    &prov_remote, NULL};

const struct prov_ops *prov_find(const char *name)
{
	for (int i = 0; providers[i]; i++)
		if (strcmp(providers[i]->name, name) == 0)
			return providers[i];
	return NULL;
}

const struct prov_ops *const *prov_list(void)
{
	return providers;
}

static void log_tail_words(struct sess *s, const char *role, char *out, size_t len)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/%s.log", s->artdir, role);
	char *tail = util_file_tail(path, 300);
	/* keep the last non-empty line */
	char *end = tail + strlen(tail);
	while (end > tail && (end[-1] == '\n' || end[-1] == ' '))
		*--end = '\0';
	char *nl = strrchr(tail, '\n');
	snprintf(out, len, "%s", nl ? nl + 1 : tail);
	free(tail);
}

int prov_read_line(struct sess *s, int fd, int slot, unsigned timeout_ms, char *out, size_t len,
		   char *err, size_t errlen)
{
	struct proc *p = &s->procs[slot];
	size_t got = 0;
	uint64_t end = util_mono_ms() + timeout_ms;
	for (;;) {
		if (sess_should_stop(s)) {
			snprintf(err, errlen, "stopped: the session was stopped while starting");
			return -ECANCELED;
		}
		int left = (int)(end - util_mono_ms());
		if ((int64_t)(end - util_mono_ms()) <= 0) {
			snprintf(err, errlen, "%s_timeout: %s did not report ready within %u ms",
				 p->role, p->role, timeout_ms);
			return -ETIMEDOUT;
		}
		struct pollfd pfd = {fd, POLLIN, 0};
		int n = poll(&pfd, 1, left < 50 ? left : 50);
		if (n < 0 && errno != EINTR)
			return -errno;
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
				return -E2BIG;
			continue;
		}
		/* EOF: the child closed its end, most likely by dying. */
		char why[200], words[300];
		util_sleep_ms(20);
		proc_alive(p);
		proc_describe(p, why, sizeof why);
		log_tail_words(s, p->role, words, sizeof words);
		snprintf(err, errlen, "%s_failed: %s %s before it was ready%s%s", p->role, p->role, why,
			 words[0] ? "; its log says: " : "", words);
		return -EIO;
	}
}

/* The agent's socket, bound and listening by us (the daemon), 0600. */
static int bind_agent_socket(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
	unlink(path); /* ours: the session's directory is the daemon's alone */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 64) < 0 ? -errno : 0;
	umask(old);
	if (r < 0) {
		snprintf(err, errlen, "agent_failed: cannot listen on %s: %s", path, strerror(-r));
		close(fd);
		return r;
	}
	return fd;
}

/*
 * The agent beside a local display. With owner set (provider=display for
 * anyone but root) it runs as the session's owner, never as us: it gets
 * the socket already listening (fd 4) and the token through a pipe (fd 5),
 * since it cannot read the state directory, and it reaches the display
 * only with the owner's own X credentials (their XAUTHORITY), so deskfs
 * lends nobody a display they could not open themselves.
 */
int prov_start_local_agent(struct sess *s, const char *display, const char *xauth, int slot,
			   int as_owner, char *err, size_t errlen)
{
	const struct sess_opts *o = sess_options();
	char sock[PATH_MAX + 16], listen[PATH_MAX + 32], tokfile[PATH_MAX + 16], log[PATH_MAX + 16];
	char line[64], xenv[PATH_MAX + 16], henv[PATH_MAX + 16], tok[sizeof s->token];
	int fds[2], tfd[2] = {-1, -1}, lfd = -1, r;

	snprintf(sock, sizeof sock, "%s/agent.sock", s->dir);
	if (strlen(sock) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		snprintf(err, errlen, "state_dir: socket path %s is too long for a unix socket", sock);
		return -ENAMETOOLONG;
	}
	snprintf(listen, sizeof listen, "unix:%s", sock);
	snprintf(tokfile, sizeof tokfile, "%s/token", s->dir);
	snprintf(log, sizeof log, "%s/agent.log", s->artdir);
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	const char *argv[] = {o->agent_path, "--display", display, "--listen", listen,
			      "--token-file", tokfile, "--ready-fd", "3", NULL};
	const char *env[3] = {NULL, NULL, NULL};
	struct proc_opts po = {.logpath = log, .fds = {fds[1]}, .nfds = 1};
	if (xauth) {
		snprintf(xenv, sizeof xenv, "XAUTHORITY=%s", xauth);
		env[0] = xenv;
	}
	if (as_owner) {
		struct passwd pw, *pwp = NULL;
		char pwbuf[4096];
		if (!xauth && getpwuid_r(s->owner, &pw, pwbuf, sizeof pwbuf, &pwp) == 0 && pwp) {
			snprintf(xenv, sizeof xenv, "XAUTHORITY=%s/.Xauthority", pw.pw_dir);
			snprintf(henv, sizeof henv, "HOME=%s", pw.pw_dir);
			env[0] = xenv;
			env[1] = henv;
		} else if (!xauth) {
			env[0] = "XAUTHORITY=/nonexistent"; /* never the daemon's own */
		}
		if ((lfd = bind_agent_socket(sock, err, errlen)) < 0) {
			r = lfd;
			goto out_close;
		}
		pthread_mutex_lock(&s->lock);
		memcpy(tok, s->token, sizeof tok);
		pthread_mutex_unlock(&s->lock);
		size_t tl = strlen(tok);
		if (pipe2(tfd, O_CLOEXEC) < 0 || write(tfd[1], tok, tl) != (ssize_t)tl) {
			r = -errno;
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
		po.uid = s->owner;
		po.gid = s->group;
	}
	po.env = env[0] ? env : NULL;
	r = sess_spawn(s, slot, "agent", argv, &po, err, errlen);
	close(fds[1]);
	fds[1] = -1;
	if (r < 0)
		goto out_close;
	r = prov_read_line(s, fds[0], slot, 10000, line, sizeof line, err, errlen);
	if (r < 0)
		goto out_close;
	pthread_mutex_lock(&s->lock);
	snprintf(s->agent_sock, sizeof s->agent_sock, "%s", sock);
	pthread_mutex_unlock(&s->lock);
	sess_set_readiness(s, RD_BRIDGE_LISTENING);
out_close:;
	int mine[] = {fds[0], fds[1], tfd[0], tfd[1], lfd};
	for (size_t i = 0; i < sizeof mine / sizeof *mine; i++)
		if (mine[i] >= 0)
			close(mine[i]);
	return r;
}

int prov_check_procs(struct sess *s, char *err, size_t errlen)
{
	for (int i = 0; i < SESS_MAX_PROCS; i++) {
		struct proc *p = &s->procs[i];
		if (p->pid <= 0 || proc_alive(p))
			continue;
		char why[100], words[300];
		proc_describe(p, why, sizeof why);
		log_tail_words(s, p->role, words, sizeof words);
		snprintf(err, errlen, "%s_died: the session's %s %s%s%s", p->role, p->role, why,
			 words[0] ? "; its log says: " : "", words);
		return -EIO;
	}
	return 0;
}

/* Local sessions: alive is enough; the core then checks the agent answers. */
int prov_reattach_local(struct sess *s, char *err, size_t errlen)
{
	int r = prov_check_procs(s, err, errlen);
	if (r < 0)
		return r;
	if (!s->agent_sock[0]) {
		snprintf(err, errlen, "reattach_failed: the record names no agent socket");
		return -ENOENT;
	}
	sess_set_readiness(s, RD_DESKTOP_READY);
	sess_set_readiness(s, RD_BRIDGE_LISTENING);
	return 0;
}

void prov_stop_procs(struct sess *s)
{
	/* the agent (started last) first, so it never sees its display vanish */
	for (int i = SESS_MAX_PROCS - 1; i >= 0; i--)
		proc_stop(&s->procs[i], 2000);
}
