/*
 * shutdown.c - SIGTERM, SIGINT and SIGHUP end the daemon in order, while
 * the mount still answers:
 *
 *	fs_shutdown_arm(se);     after fuse_set_signal_handlers: ours replace its
 *	fuse_session_loop_mt(...)
 *	fs_shutdown_join();      the loop has ended: wait for the shutdown thread
 *
 * The signal handler only writes a byte to a pipe. A thread of ours reads
 * it and runs sess_shutdown() with the FUSE loop still serving: every
 * stream reader gets its EOF and its close (FLUSH, RELEASE) is answered,
 * every session is destroyed (or let go with -o keep). Only then does it
 * end the loop: fuse_session_exit(), and a signal to the loop's thread to
 * cut its wait short. libfuse's own handler would end the loop first, and
 * a reader's close would then fail with ECONNABORTED.
 */
#include "fs/fs.h"
#include "fs/cli.h"
#include "fs/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static struct {
	int pipe[2];
	pthread_t thread, loop;
	int armed;
	struct fuse_session *se;
} sd = {.pipe = {-1, -1}};

struct sigmsg {
	int sig, code;
	pid_t pid; /* who sent it: the log says so */
};

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	int saved = errno;
	struct sigmsg m = {.sig = sig, .pid = si ? si->si_pid : 0, .code = si ? si->si_code : 0};
	if (write(sd.pipe[1], &m, sizeof m) < 0) /* atomic: under PIPE_BUF */
		(void)0; /* the pipe is full: a shutdown is already under way */
	errno = saved;
}

static void on_wake(int sig)
{
	(void)sig; /* only interrupts the loop's wait */
}

static void *shutdown_main(void *arg)
{
	struct sigmsg m;
	ssize_t n;
	while ((n = read(sd.pipe[0], &m, sizeof m)) < 0 && errno == EINTR)
		;
	if (n == (ssize_t)sizeof m) { /* a signal, not the end of the loop */
		fs_log(LOG_NOTICE,
		       "deskfs: %s from pid %d (si_code %d): ending every session, then the mount",
		       strsignal(m.sig), (int)m.pid, m.code);
		fs_notify_stopping();
		sess_shutdown();
	}
	fuse_session_exit(sd.se);
	pthread_kill(sd.loop, SIGUSR1);
	return NULL;
}

int fs_shutdown_arm(struct fuse_session *se)
{
	struct sigaction sa;
	if (pipe2(sd.pipe, O_CLOEXEC) < 0)
		return -errno;
	sd.se = se;
	sd.loop = pthread_self();
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_wake; /* no SA_RESTART: the loop's sem_wait returns */
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (pthread_create(&sd.thread, NULL, shutdown_main, NULL) != 0)
		return -EAGAIN;
	sd.armed = 1;
	return 0;
}

void fs_shutdown_join(void)
{
	if (!sd.armed)
		return;
	close(sd.pipe[1]); /* the loop ended by itself (unmount): the thread just ends */
	pthread_join(sd.thread, NULL);
	close(sd.pipe[0]);
	sd.armed = 0;
}
