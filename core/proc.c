/*
 * proc.c - see proc.h.
 */
#include "core/proc.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

extern char **environ;

/* Start time of a live process (0 if gone or a zombie): pid reuse cannot fool it. */
unsigned long long proc_starttime(pid_t pid)
{
	char path[64], line[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	size_t n = fread(line, 1, sizeof line - 1, f);
	fclose(f);
	line[n] = '\0';
	char *p = strrchr(line, ')'); /* comm may hold spaces */
	if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
		return 0;
	unsigned long long v = 0;
	/* field 22 = starttime; after ") " we are at field 3 */
	int field = 2;
	for (p++; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	if (field == 22)
		v = strtoull(p, NULL, 10);
	return v;
}

/*
 * In the child: wait at the gate until the parent has recorded us (EOF
 * there means the parent died first: we never start), then become what we
 * were asked to be and exec. Only async-signal-safe calls.
 */
static void child_exec(const char *const argv[], char *const envp[], int logfd,
		       const struct proc_opts *o, int gate, const gid_t *groups, int ngroups)
{
	char go;
	if (gate >= 0 && read(gate, &go, 1) != 1)
		_exit(125);
	setsid();
	if (o && o->as_user) {
		if (setgroups((size_t)ngroups, groups) < 0 ||
		    setresgid(o->gid, o->gid, o->gid) < 0 || setresuid(o->uid, o->uid, o->uid) < 0)
			_exit(126);
	}
	if (chdir(o && o->cwd ? o->cwd : "/") < 0)
		_exit(126);
	int null = open("/dev/null", O_RDONLY);
	if (null >= 0 && null != 0) {
		dup2(null, 0);
		close(null);
	}
	if (logfd >= 0) {
		dup2(logfd, 1);
		dup2(logfd, 2);
	}
	/* the passed descriptors become 3, 4, ... (moved high first: no clashes) */
	int n = o ? o->nfds : 0, high[PROC_MAX_FDS];
	for (int i = 0; i < n; i++)
		high[i] = fcntl(o->fds[i], F_DUPFD_CLOEXEC, 64);
	for (int i = 0; i < n; i++) {
		if (high[i] < 0 || dup2(high[i], 3 + i) < 0)
			_exit(126);
		fcntl(3 + i, F_SETFD, 0);
	}
	int first = 3 + n;
	if (syscall(SYS_close_range, first, ~0U, 0) < 0)
		for (int fd = first; fd < 1024; fd++)
			close(fd);
	signal(SIGPIPE, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(argv[0], (char *const *)argv, envp);
	/* only async-signal-safe calls here: the log says why */
	static const char msg[] = "deskfs: cannot execute ";
	if (write(2, msg, sizeof msg - 1) < 0 || write(2, argv[0], strlen(argv[0])) < 0 ||
	    write(2, "\n", 1) < 0)
		_exit(127);
	_exit(127);
}

/* Built before fork: the child of a threaded process must not allocate. */
static char **build_env(const char *const env[])
{
	size_t nenv = 0, nextra = 0;
	while (environ[nenv])
		nenv++;
	while (env && env[nextra])
		nextra++;
	char **envp = calloc(nenv + nextra + 1, sizeof *envp);
	if (!envp)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < nextra; i++)
		envp[k++] = (char *)env[i];
	for (size_t i = 0; i < nenv; i++) {
		const char *eq = strchr(environ[i], '=');
		int shadowed = 0;
		for (size_t j = 0; eq && j < nextra; j++)
			if (strncmp(env[j], environ[i], (size_t)(eq - environ[i]) + 1) == 0)
				shadowed = 1;
		if (!shadowed)
			envp[k++] = environ[i];
	}
	return envp;
}

int proc_start(struct proc *p, const char *role, const char *const argv[],
	       const struct proc_opts *o)
{
	memset(p, 0, sizeof *p);
	snprintf(p->role, sizeof p->role, "%s", role);
	int logfd = -1, gate[2] = {-1, -1}, r = 0, ngroups = 0;
	gid_t groups[64];
	char **envp = NULL;
	if (o && o->nfds > PROC_MAX_FDS)
		return -EINVAL;
	if (o && o->as_user) {
		struct passwd pw, *pwp = NULL;
		char pwbuf[4096];
		ngroups = 1;
		groups[0] = o->gid;
		/* the owner's supplementary groups, if the system knows them */
		if (getpwuid_r(o->uid, &pw, pwbuf, sizeof pwbuf, &pwp) == 0 && pwp) {
			ngroups = (int)(sizeof groups / sizeof *groups);
			if (getgrouplist(pw.pw_name, o->gid, groups, &ngroups) < 0)
				ngroups = (int)(sizeof groups / sizeof *groups);
		}
	}
	if (o && o->logpath) {
		logfd = open(o->logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW,
			     0600);
		if (logfd < 0)
			return -errno;
	}
	if (!(envp = build_env(o ? o->env : NULL))) {
		r = -ENOMEM;
		goto out;
	}
	if (o && o->record && pipe2(gate, O_CLOEXEC) < 0) {
		r = -errno;
		goto out;
	}
	/* The child must never run the daemon's handlers: one that wrote the
	 * shutdown pipe (fs/shutdown.c) ended the daemon when a session was
	 * destroyed while its child waited at the gate (make stress, pools).
	 * Signals stay blocked across fork, and the child takes the defaults. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid_t pid = fork();
	if (pid == 0) {
		struct sigaction dfl = {.sa_handler = SIG_DFL};
		for (int sig = 1; sig < NSIG; sig++)
			if (sig != SIGKILL && sig != SIGSTOP)
				sigaction(sig, &dfl, NULL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (gate[1] >= 0)
			close(gate[1]);
		child_exec(argv, envp, logfd, o, gate[0], groups, ngroups);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		r = -errno;
		goto out;
	}
	p->pid = pid;
	p->owned = 1;
	p->start = proc_starttime(pid);
	if (o && o->record) {
		/* recorded before it may run: a crash from here on leaves a record,
		 * and one before this point leaves a child that never execs */
		r = o->record(p, o->record_arg);
		if (r == 0 && write(gate[1], "g", 1) != 1)
			r = -EPIPE;
		if (r < 0) {
			close(gate[1]);
			gate[1] = -1;
			proc_stop(p, 1000);
		}
	}
out:
	if (gate[0] >= 0)
		close(gate[0]);
	if (gate[1] >= 0)
		close(gate[1]);
	free(envp);
	if (logfd >= 0)
		close(logfd);
	return r;
}

int proc_spawn(struct proc *p, const char *role, const char *const argv[],
	       const char *const env[], const char *logpath, int pass_fd)
{
	struct proc_opts o = {.env = env, .logpath = logpath};
	if (pass_fd >= 0)
		o.fds[o.nfds++] = pass_fd;
	return proc_start(p, role, argv, &o);
}

/* Is pid a thread of this process (a pid reused for one of our threads)? */
static int ours(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/self/task/%d", (int)pid);
	return pid == getpid() || access(path, F_OK) == 0;
}

int proc_alive(struct proc *p)
{
	if (p->pid <= 0)
		return 0;
	int st;
	pid_t r = waitpid(p->pid, &st, WNOHANG);
	if (r == p->pid) {
		p->exited = 1;
		p->status = st;
		p->pid = 0;
		return 0;
	}
	if (r < 0 && errno == ECHILD) {
		/* not our child (re-attached): trust /proc and the start time; a pid that
		 * is one of our own threads now was reused, and is never signalled */
		if (ours(p->pid))
			fprintf(stderr, "deskfs: %s: pid %d was reused for one of the daemon's "
				"threads: never signalled\n", p->role, (int)p->pid);
		if (kill(p->pid, 0) < 0 || proc_starttime(p->pid) != p->start || ours(p->pid)) {
			p->exited = 1;
			p->pid = 0;
			return 0;
		}
	}
	return 1;
}

void proc_stop(struct proc *p, unsigned grace_ms)
{
	if (p->pid <= 0 || !p->owned)
		return;
	if (!proc_alive(p))
		return;
	kill(p->pid, SIGTERM);
	uint64_t end = util_mono_ms() + grace_ms;
	while (util_mono_ms() < end) {
		if (!proc_alive(p))
			return;
		util_sleep_ms(2);
	}
	kill(p->pid, SIGKILL);
	end = util_mono_ms() + 2000;
	while (proc_alive(p) && util_mono_ms() < end)
		util_sleep_ms(2);
}

void proc_describe(const struct proc *p, char *out, size_t len)
{
	if (!p->exited)
		snprintf(out, len, "is running");
	else if (WIFEXITED(p->status))
		snprintf(out, len, "exited with status %d", WEXITSTATUS(p->status));
	else if (WIFSIGNALED(p->status))
		snprintf(out, len, "was killed by signal %d", WTERMSIG(p->status));
	else
		snprintf(out, len, "is gone");
}

