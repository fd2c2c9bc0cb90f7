/*
 * ident.h - who the agent's programs run as and whose files it serves:
 * --run-as UID:GID (with the user's supplementary groups when the passwd
 * database knows the uid), --home DIR (the files tree's root, and the
 * programs' HOME and default working directory), and --xauthority FILE
 * (copied to HOME/.Xauthority for the programs' XAUTHORITY).
 *
 *	struct ident id;
 *	if (ident_init(&id, "1000:1000", "/home/s1", err, sizeof err) < 0) exit 2;
 *	ident_set_display(&id, ":5");
 *	if (ident_install_xauthority(&id, "/state/s1/xauth", err, sizeof err) < 0) ...
 *	... on a files worker thread, before each job:  ident_enter(&id, 1);
 *	... in a forked child, before execve:          ident_child_become(&id);
 *	ident_free(&id);
 *
 * Without --run-as everything runs with the agent's own credentials (root
 * in a VM). With it, a thread that serves files takes the user's
 * file-system credentials for good (ident_enter: setgroups, setfsgid,
 * setfsuid as raw system calls, which Linux keeps per thread), so the
 * kernel checks every access as it would the user's own; and every path
 * is opened beneath root_fd (files.c). A program is the user, fully
 * (ident_child_become, after fork).
 *
 * Home "/" (a VM's whole tree): programs get the user's own home from the
 * passwd database as HOME and working directory, when it exists (root:
 * /root); any other home is theirs as it is.
 *
 * Threads: filled by one thread at start, read-only afterwards.
 */
#ifndef DESKFS_IDENT_H
#define DESKFS_IDENT_H

#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

struct ident {
	int run_as; /* --run-as given: switch to uid/gid */
	uid_t uid;
	gid_t gid;
	gid_t *groups; /* supplementary groups (run_as, agent is root) */
	int ngroups;
	char *user;      /* from passwd, or NULL */
	char *shell;     /* from passwd, or NULL */
	char *root;      /* --home, as a canonical absolute path */
	int root_fd;     /* O_PATH|O_DIRECTORY of root */
	int whole_tree;  /* root is "/" */
	char *prog_home; /* HOME of programs (a host path, inside root) */
	char *prog_cwd;  /* the same as a path of the files tree ("/" or "/root") */
	char *display;   /* DISPLAY of programs, or NULL */
	char *xauthority; /* XAUTHORITY of programs, or NULL */
	struct rlimit nofile; /* RLIMIT_NOFILE as the agent got it: programs get it back */
};

/* run_as "UID:GID" or NULL (the agent's own uid:gid is allowed, and then
 * changes nothing but the groups of root); home NULL: "/". -errno with err
 * "bad_args: ..." */
int ident_init(struct ident *id, const char *run_as, const char *home, char *err, size_t errlen);
int ident_set_display(struct ident *id, const char *display);
/* Copies src (read with the agent's credentials, at most 1 MiB) into
 * prog_home/.Xauthority, 0600, as the user: a new file (O_EXCL|O_NOFOLLOW)
 * renamed over whatever was there; nothing when src is that very file.
 * Programs then get XAUTHORITY=prog_home/.Xauthority. */
int ident_install_xauthority(struct ident *id, const char *src, char *err, size_t errlen);
void ident_free(struct ident *id);

/* This thread takes the user's file-system credentials (with run_as;
 * once per thread: later calls cost nothing). own_umask: the thread also
 * gets a umask of its own, 0, so modes asked for are applied as given.
 * 0 or -errno (the thread must not serve files then). */
int ident_enter(const struct ident *id, int own_umask);
/* In a forked child: groups, gid, uid (with run_as), by raw system calls
 * only (async-signal-safe). 0 or -errno. */
int ident_child_become(const struct ident *id);

#endif
