/*
 * proc.h - child processes of the daemon: start with an argv array (never
 * sh -c), log to a file, stop with bounded escalation.
 *
 *	struct proc p;
 *	const char *argv[] = { "/usr/bin/Xvfb", "-displayfd", "3", NULL };
 *	proc_spawn(&p, "xvfb", argv, NULL, "/run/deskfs/.../artifacts/xvfb.log", pipefd[1]);
 *	...
 *	proc_stop(&p, 2000);      SIGTERM, wait up to 2 s, SIGKILL, reap
 *
 * Children get a session of their own (setsid) so a Ctrl-C on the daemon's
 * terminal does not reach them, chdir("/"), stdin from /dev/null, a clean
 * signal mask, and no inherited descriptors except those passed as 3, 4, ...
 * With opts.record, the child waits at a gate until the parent has recorded
 * its pid: nothing runs that is not recorded first.
 */
#ifndef DESKFS_PROC_H
#define DESKFS_PROC_H

#include <sys/types.h>

struct proc {
	char role[16];               /* "xvfb", "agent", "qemu" */
	pid_t pid;                   /* 0 when not running */
	unsigned long long start;    /* start time from /proc/PID/stat, to spot pid reuse */
	int exited;                  /* reaped: status below is valid */
	int status;                  /* wait status */
	int owned;                   /* 1: we may kill it (a `display` X server is not ours) */
};

#define PROC_MAX_FDS 4

struct proc_opts {
	const char *const *env; /* extra "K=V" entries, or NULL */
	const char *logpath;    /* stdout and stderr (appended), or NULL */
	int fds[PROC_MAX_FDS];  /* become 3, 4, ... in the child */
	int nfds;
	int as_user;            /* 1: run as uid/gid with uid's groups, never as us */
	uid_t uid;
	gid_t gid;
	const char *cwd;        /* default "/" */
	/* Called between fork and exec with the pid known: 0 lets the child run;
	 * an error kills it before it ever executes (and is returned). */
	int (*record)(struct proc *p, void *arg);
	void *record_arg;
};

int proc_start(struct proc *p, const char *role, const char *const argv[],
	       const struct proc_opts *o);
/* The short form: pass_fd (>= 0) becomes fd 3 in the child. */
int proc_spawn(struct proc *p, const char *role, const char *const argv[],
	       const char *const env[], const char *logpath, int pass_fd);
/* 1 if alive; 0 if it exited (reaped, p->status set). Never blocks. */
int proc_alive(struct proc *p);
/* SIGTERM, wait up to grace_ms, SIGKILL, reap. Safe on a dead or empty proc. */
void proc_stop(struct proc *p, unsigned grace_ms);
/* "exited with status 1" / "killed by signal 9" */
void proc_describe(const struct proc *p, char *out, size_t len);
unsigned long long proc_starttime(pid_t pid);

#endif
