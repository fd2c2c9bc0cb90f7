/*
 * ident.c - the programs' and the files' identity (ident.h).
 *
 * Credentials are changed with raw system calls: glibc's setgroups() and
 * setuid() change every thread of the process (its "setxid" broadcast),
 * which is exactly what a files thread must not do to the HTTP thread,
 * and what a forked child cannot safely do in libc.
 */
#include "agent/ident.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/files.h"

#define XAUTH_MAX (1 << 20)

static int parse_id(const char *s, char **end, unsigned long *out)
{
	errno = 0;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	*out = strtoul(s, end, 10);
	if (errno || *out > 0xfffffffeUL)
		return -EINVAL;
	return 0;
}

/* The passwd entry of uid, into id (user, shell, groups); 0 if unknown. */
static int lookup_user(struct ident *id, const char **home)
{
	struct passwd pw, *res = NULL;
	char buf[16384];
	int n = 64;
	gid_t *g = NULL;

	*home = NULL;
	if (getpwuid_r(id->uid, &pw, buf, sizeof buf, &res) != 0 || !res)
		return 0;
	id->user = strdup(pw.pw_name);
	id->shell = pw.pw_shell && *pw.pw_shell ? strdup(pw.pw_shell) : NULL;
	if (!id->user)
		return -ENOMEM;
	*home = pw.pw_dir && *pw.pw_dir == '/' ? strdup(pw.pw_dir) : NULL;
	for (int tries = 0; tries < 4; tries++) {
		gid_t *ng = realloc(g, (size_t)n * sizeof *g);
		if (!ng) {
			free(g);
			return -ENOMEM;
		}
		g = ng;
		if (getgrouplist(pw.pw_name, id->gid, g, &n) >= 0) {
			id->groups = g;
			id->ngroups = n;
			return 0;
		}
	}
	free(g);
	return 0;
}

int ident_init(struct ident *id, const char *run_as, const char *home, char *err, size_t errlen)
{
	const char *pw_home = NULL;
	char real[PATH_MAX], *end;
	unsigned long u, g;
	struct stat st;
	int rc;

	memset(id, 0, sizeof *id);
	id->root_fd = -1;
	getrlimit(RLIMIT_NOFILE, &id->nofile);
	id->uid = geteuid();
	id->gid = getegid();
	if (run_as) {
		if (parse_id(run_as, &end, &u) < 0 || *end != ':' ||
		    parse_id(end + 1, &end, &g) < 0 || *end) {
			snprintf(err, errlen, "bad_args: --run-as wants UID:GID, not %s", run_as);
			return -EINVAL;
		}
		id->run_as = 1;
		id->uid = (uid_t)u;
		id->gid = (gid_t)g;
		if (geteuid() != 0 && (id->uid != geteuid() || id->gid != getegid())) {
			snprintf(err, errlen, "bad_args: --run-as %s needs the agent to run as root",
			         run_as);
			return -EPERM;
		}
	}
	rc = lookup_user(id, &pw_home);
	if (rc < 0)
		goto out_oom;
	if (!home)
		home = "/"; /* the whole tree, as in a VM */
	if (!realpath(home, real)) {
		rc = -errno;
		snprintf(err, errlen, "bad_args: --home %s: %s", home, strerror(errno));
		goto out;
	}
	id->root = strdup(real);
	id->root_fd = open(real, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (!id->root || id->root_fd < 0) {
		rc = id->root ? -errno : -ENOMEM;
		snprintf(err, errlen, "bad_args: --home %s: %s", real, strerror(-rc));
		goto out;
	}
	id->whole_tree = strcmp(real, "/") == 0;
	if (id->whole_tree) { /* the user's own home, inside the tree */
		const char *h = pw_home ? pw_home : id->uid == 0 ? "/root" : NULL;
		if (h && stat(h, &st) == 0 && S_ISDIR(st.st_mode))
			id->prog_home = strdup(h);
		else
			id->prog_home = strdup("/");
		id->prog_cwd = id->prog_home ? strdup(id->prog_home) : NULL;
	} else {
		id->prog_home = strdup(real);
		id->prog_cwd = strdup("/");
	}
	if (!id->prog_home || !id->prog_cwd)
		goto out_oom;
	free((char *)pw_home);
	return 0;

out_oom:
	rc = -ENOMEM;
	snprintf(err, errlen, "internal: out of memory");
out:
	free((char *)pw_home);
	ident_free(id);
	return rc;
}

int ident_set_display(struct ident *id, const char *display)
{
	free(id->display);
	id->display = display ? strdup(display) : NULL;
	return !display || id->display ? 0 : -ENOMEM;
}

void ident_free(struct ident *id)
{
	free(id->groups);
	free(id->user);
	free(id->shell);
	free(id->root);
	free(id->prog_home);
	free(id->prog_cwd);
	free(id->display);
	free(id->xauthority);
	if (id->root_fd >= 0)
		close(id->root_fd);
	memset(id, 0, sizeof *id);
	id->root_fd = -1;
}

static __thread int entered; /* this thread: 1 once ident_enter succeeded */

int ident_enter(const struct ident *id, int own_umask)
{
	if (entered)
		return 0;
	if (own_umask) {
		/* a file-system context (cwd, umask) of this thread's own */
		if (unshare(CLONE_FS) == 0)
			umask(0);
	}
	if (id->run_as) {
		if (geteuid() == 0 && id->groups &&
		    syscall(SYS_setgroups, (size_t)id->ngroups, id->groups) < 0)
			return -errno;
		if (geteuid() == 0 && !id->groups && syscall(SYS_setgroups, (size_t)1, &id->gid) < 0)
			return -errno;
		/* setfsgid/setfsuid return the previous id; check the result */
		syscall(SYS_setfsgid, id->gid);
		if ((gid_t)syscall(SYS_setfsgid, -1) != id->gid)
			return -EPERM;
		syscall(SYS_setfsuid, id->uid);
		if ((uid_t)syscall(SYS_setfsuid, -1) != id->uid)
			return -EPERM;
	}
	entered = 1;
	return 0;
}

int ident_child_become(const struct ident *id)
{
	if (!id->run_as)
		return 0;
	if (syscall(SYS_geteuid) == 0) {
		if (id->groups ? syscall(SYS_setgroups, (size_t)id->ngroups, id->groups) < 0
		               : syscall(SYS_setgroups, (size_t)1, &id->gid) < 0)
			return -errno;
	}
	if (syscall(SYS_setresgid, id->gid, id->gid, id->gid) < 0 ||
	    syscall(SYS_setresuid, id->uid, id->uid, id->uid) < 0)
		return -errno;
	return 0;
}

/* ---- the X cookie ---- */

struct xauth_job {
	struct ident *id;
	const char *data;
	size_t len;
	const struct stat *src;
	int rc;
	char *err;
	size_t errlen;
};

/* On a thread of its own, which takes the user's credentials and ends. */
static void *xauth_thread(void *p)
{
	struct xauth_job *j = p;
	char dir[PATH_MAX], tmp[64];
	struct stat st;
	int dfd = -1, fd = -1, rc;
	size_t off = 0;

	rc = ident_enter(j->id, 0);
	if (rc < 0)
		goto out;
	snprintf(dir, sizeof dir, "%s", j->id->prog_cwd);
	rc = files_open(j->id, dir, O_PATH | O_DIRECTORY, &dfd);
	if (rc < 0)
		goto out;
	if (fstatat(dfd, ".Xauthority", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_dev == j->src->st_dev && st.st_ino == j->src->st_ino)
		goto out; /* the programs' cookie is the one given */
	for (int i = 0; i < 100 && fd < 0; i++) {
		snprintf(tmp, sizeof tmp, ".Xauthority.deskfs-%d-%d", (int)getpid(), i);
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST) {
			rc = -errno;
			goto out;
		}
	}
	if (fd < 0) {
		rc = -EEXIST;
		goto out;
	}
	while (off < j->len) {
		ssize_t w = write(fd, j->data + off, j->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			rc = -errno;
			goto out_unlink;
		}
		off += (size_t)w;
	}
	if (fchmod(fd, 0600) < 0 || close(fd) < 0) {
		fd = -1;
		rc = -errno;
		goto out_unlink;
	}
	fd = -1;
	if (renameat(dfd, tmp, dfd, ".Xauthority") < 0) {
		rc = -errno;
		goto out_unlink;
	}
	goto out;

out_unlink:
	unlinkat(dfd, tmp, 0);
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	if (rc < 0)
		snprintf(j->err, j->errlen, "bad_xauthority: cannot write %s/.Xauthority as uid %u: %s",
		         j->id->prog_home, (unsigned)j->id->uid, strerror(-rc));
	j->rc = rc;
	return NULL;
}

int ident_install_xauthority(struct ident *id, const char *src, char *err, size_t errlen)
{
	struct xauth_job j = {.id = id, .err = err, .errlen = errlen};
	char *data = NULL, path[PATH_MAX];
	size_t len = 0;
	struct stat st;
	pthread_t t;
	int fd, rc;

	fd = open(src, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	rc = fd < 0 || fstat(fd, &st) < 0 ? -errno : !S_ISREG(st.st_mode) ? -EINVAL
	                                     : st.st_size > XAUTH_MAX   ? -EFBIG
	                                                                : 0;
	if (rc < 0) {
		snprintf(err, errlen, "bad_xauthority: %s: %s", src,
		         rc == -EINVAL ? "not a regular file" : strerror(-rc));
		goto out;
	}
	data = malloc((size_t)st.st_size + 1);
	if (!data) {
		rc = -ENOMEM;
		goto out;
	}
	while (len < (size_t)st.st_size) {
		ssize_t r = read(fd, data + len, (size_t)st.st_size - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	j.data = data;
	j.len = len;
	j.src = &st;
	rc = -pthread_create(&t, NULL, xauth_thread, &j);
	if (rc == 0) {
		pthread_join(t, NULL);
		rc = j.rc;
	}
	if (rc == 0) {
		snprintf(path, sizeof path, "%s/.Xauthority",
		         strcmp(id->prog_home, "/") ? id->prog_home : "");
		free(id->xauthority);
		id->xauthority = strdup(path);
		rc = id->xauthority ? 0 : -ENOMEM;
	}
out:
	free(data);
	if (fd >= 0)
		close(fd);
	return rc;
}
