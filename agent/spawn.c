/*
 * spawn.c - fork, set up, execve (spawn.h).
 *
 * vfork, as posix_spawn does (which cannot change the uid): the child
 * shares our memory until execve, so it reports a failure there as its
 * errno in a variable of the waiting thread; if vfork returns with none,
 * execve succeeded.
 */
#include "agent/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/ident.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static pthread_mutex_t spawn_lock = PTHREAD_MUTEX_INITIALIZER;

int spawn_find(const char *name, const char *pathenv, char *out, size_t len)
{
	const char *p = pathenv, *end;
	int found_other = 0;
	struct stat st;

	if (!name || !*name)
		return -ENOENT;
	if (strchr(name, '/')) {
		if (strlen(name) >= len)
			return -ENAMETOOLONG;
		strcpy(out, name);
		return 0;
	}
	for (; p && *p; p = *end ? end + 1 : end) {
		end = strchrnul(p, ':');
		if (*p != '/' || (size_t)(end - p) + strlen(name) + 2 > len)
			continue;
		snprintf(out, len, "%.*s/%s", (int)(end - p), p, name);
		if (stat(out, &st) < 0 || S_ISDIR(st.st_mode))
			continue;
		/* AT_EACCESS: checked with this thread's (the user's) credentials */
		if (S_ISREG(st.st_mode) && faccessat(AT_FDCWD, out, X_OK, AT_EACCESS) == 0)
			return 0;
		found_other = 1;
	}
	return found_other ? -EACCES : -ENOENT;
}

/* Every descriptor from 3 on closes at execve. */
static void cloexec_from_3(void)
{
	struct rlimit rl;

	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur > (1 << 20))
		rl.rlim_cur = 1 << 20;
	for (int fd = 3; fd < (int)rl.rlim_cur; fd++)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/*
 * The child, between vfork and execve: it shares the agent's memory (and
 * runs on its parent thread's stack, that thread waiting) while the
 * agent's other threads run on, so it makes system calls only, takes no
 * lock and writes nothing of the agent's but *err, on failure.
 */
__attribute__((noreturn)) static void child(const struct ident *id, const struct spawn_req *rq,
                                            const int io[3], volatile int *err)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigset_t none;
	int e;

	if (setsid() < 0)
		goto fail;
	if (rq->pty && ioctl(io[0], TIOCSCTTY, 0) < 0) /* the slave: our terminal */
		goto fail;
	if (dup2(io[0], 0) < 0 || dup2(io[1], 1) < 0 || dup2(io[2], 2) < 0)
		goto fail;
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaction(s, &dfl, NULL); /* glibc's own signals refuse: fine */
	sigemptyset(&none);
	setrlimit(RLIMIT_NOFILE, &id->nofile);
	e = ident_child_become(id);
	if (e < 0) {
		errno = -e;
		goto fail;
	}
	if (fchdir(rq->cwd_fd) < 0)
		goto fail;
	umask(022);
	cloexec_from_3();
	sigprocmask(SIG_SETMASK, &none, NULL); /* last: nothing may run a handler here */
	execve(rq->path, rq->argv, rq->envp);
fail:
	*err = errno ? errno : EIO;
	_exit(127);
}

/* Apart, so that nothing of spawn_start's lives across vfork's two returns. */
__attribute__((noinline)) static pid_t start_child(const struct ident *id,
                                                   const struct spawn_req *rq, const int io[3],
                                                   volatile int *err)
{
	pid_t pid = vfork();

	if (pid == 0)
		child(id, rq, io, err);
	return pid;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ? -errno : 0;
}

int spawn_start(const struct ident *id, const struct spawn_req *rq, struct spawn_out *out)
{
	int in[2] = {-1, -1}, o[2] = {-1, -1}, e[2] = {-1, -1}, master = -1, slave = -1;
	struct winsize ws = {.ws_row = rq->rows, .ws_col = rq->cols};
	volatile int child_err = 0;
	sigset_t all, old;
	int rc = 0, io[3];
	pid_t pid = -1;

	memset(out, 0, sizeof *out);
	out->in_fd = out->out_fd = out->err_fd = out->pidfd = -1;
	pthread_mutex_lock(&spawn_lock);
	if (rq->pty) {
		/* openpty's descriptors are not O_CLOEXEC: only a spawn forks, and
		 * spawns hold spawn_lock, so none can leak meanwhile */
		if (openpty(&master, &slave, NULL, NULL, &ws) < 0) {
			rc = -errno;
			goto out_unlock;
		}
		fcntl(master, F_SETFD, FD_CLOEXEC);
		fcntl(slave, F_SETFD, FD_CLOEXEC);
		io[0] = io[1] = io[2] = slave;
	} else {
		if (pipe2(in, O_CLOEXEC) < 0 || pipe2(o, O_CLOEXEC) < 0 || pipe2(e, O_CLOEXEC) < 0) {
			rc = -errno;
			goto out_unlock;
		}
		io[0] = in[0];
		io[1] = o[1];
		io[2] = e[1];
	}
	/* vfork: no copy of the agent's page tables, nor their teardown at
	 * execve; this thread waits until the child has exec'd or died. No
	 * signal handler may run in the child: all blocked until then. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = start_child(id, rq, io, &child_err);
	if (pid < 0)
		rc = -errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
out_unlock:
	pthread_mutex_unlock(&spawn_lock);
	if (rc < 0)
		goto out_close;
	if (child_err) { /* it did not get to run: reap it */
		rc = -child_err;
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		goto out_close;
	}
	out->pid = pid;
	out->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (out->pidfd < 0) { /* Linux < 5.3: this agent cannot follow it */
		rc = -errno;
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		goto out_close;
	}
	if (rq->pty) {
		nonblocking(master);
		out->in_fd = out->out_fd = master;
		master = -1;
	} else {
		nonblocking(in[1]);
		nonblocking(o[0]);
		nonblocking(e[0]);
		/* fewer, larger reads for a program that writes a lot (best effort) */
		fcntl(o[0], F_SETPIPE_SZ, 1 << 20);
		out->in_fd = in[1];
		out->out_fd = o[0];
		out->err_fd = e[0];
		in[1] = o[0] = e[0] = -1;
	}
out_close:
	close_fd(&master);
	close_fd(&slave);
	for (int i = 0; i < 2; i++) {
		close_fd(&in[i]);
		close_fd(&o[i]);
		close_fd(&e[i]);
	}
	return rc;
}
