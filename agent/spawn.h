/*
 * spawn.h - starts one program as procs.c asks: in a session and process
 * group of its own, with a clean signal mask and dispositions, as the
 * --run-as user (ident.h), in a working directory opened beforehand, its
 * standard input, output and error on pipes, or all three on a pty
 * (openpty, and the child takes it as its controlling terminal, as
 * forkpty's child does). Returns once the program runs (execve succeeded),
 * or with execve's own errno.
 *
 *	struct spawn_req rq = {.argv = argv, .envp = envp, .cwd_fd = dfd};
 *	char path[PATH_MAX];
 *	if (spawn_find(argv[0], "/usr/bin:/bin", path, sizeof path) < 0) ... ENOENT/EACCES
 *	rq.path = path;
 *	struct spawn_out o;
 *	if (spawn_start(&id, &rq, &o) < 0) ...        (-ENOENT, -EACCES, -ENOEXEC, ...)
 *	... o.pid, o.pidfd; o.in_fd, o.out_fd, o.err_fd (pty: in == out == master, err -1)
 *
 * The parent's descriptors are O_CLOEXEC|O_NONBLOCK; the child closes
 * every descriptor but 0, 1 and 2 at exec, whatever its flags. The
 * child (vfork: it borrows the agent's memory until execve) does nothing
 * but system calls; spawns are serialised (one at a time), so a pty's
 * descriptors, briefly open without O_CLOEXEC, reach no other child. Call spawn_find and spawn_start on a thread that holds the
 * user's file-system credentials (ident_enter), so that the search and
 * the working directory are checked as the user.
 */
#ifndef DESKFS_SPAWN_H
#define DESKFS_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

struct ident;

struct spawn_req {
	char *const *argv; /* NULL-terminated, at least argv[0] */
	char *const *envp; /* NULL-terminated: the whole environment */
	const char *path;  /* what to execve (spawn_find's answer) */
	int cwd_fd;        /* the working directory (O_PATH is enough) */
	int pty;           /* all three on a new pty of rows x cols */
	unsigned short rows, cols;
};

struct spawn_out {
	pid_t pid;
	int pidfd; /* pidfd_open(pid): readable once it has exited */
	int in_fd, out_fd, err_fd;
};

/* What execvp would run for name along the PATH list pathenv: name itself
 * if it holds a '/', else the first executable regular file dir/name,
 * skipping relative directories. -ENOENT, or -EACCES if only files that
 * cannot be run were found. */
int spawn_find(const char *name, const char *pathenv, char *out, size_t len);
int spawn_start(const struct ident *id, const struct spawn_req *rq, struct spawn_out *out);

#endif
