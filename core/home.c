/*
 * home.c - see home.h.
 */
#include "core/home.h"
#include "core/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define HOMES_ROOT "/run/deskfs-homes"
#define HOME_MAX_DEPTH 256

static struct {
	char base[PATH_MAX]; /* immutable after home_init; "" when there is none */
} H;

/* Made 0711/0700 if missing; an existing one must be a real directory, ours,
 * writable by nobody else (and, for a base others reach, traversable). */
static int make_checked(const char *path, mode_t mode, char *err, size_t errlen)
{
	struct stat st;
	if (mkdir(path, mode) == 0) {
		if (chmod(path, mode) < 0) { /* umask */
			snprintf(err, errlen, "homes: cannot chmod %s: %s", path, strerror(errno));
			return -errno;
		}
	} else if (errno != EEXIST) {
		int e = errno;
		snprintf(err, errlen, "homes: cannot create %s: %s", path, strerror(e));
		return -e;
	}
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		snprintf(err, errlen, "homes: %s is not a directory of ours (%s); refusing it", path,
			 strerror(e));
		return -e;
	}
	close(fd);
	if (st.st_uid != geteuid() || (st.st_mode & 022) ||
	    ((mode & 01) && !(st.st_mode & 01))) {
		snprintf(err, errlen,
			 "homes: %s is owned by uid %u with mode %03o; it must be this daemon's "
			 "(uid %u), writable by nobody else%s",
			 path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 0777), (unsigned)geteuid(),
			 mode & 01 ? " and traversable by the session owners" : "");
		return -EPERM;
	}
	return 0;
}

int home_init(const char *statedir, char *err, size_t errlen)
{
	char base[PATH_MAX];
	int r;
	H.base[0] = '\0';
	if (geteuid() == 0) {
		uint32_t h = 2166136261u; /* FNV-1a of the state directory: one base per mount */
		for (const unsigned char *p = (const unsigned char *)statedir; *p; p++)
			h = (h ^ *p) * 16777619u;
		if ((r = make_checked(HOMES_ROOT, 0711, err, errlen)) < 0)
			return r;
		snprintf(base, sizeof base, "%s/%08x", HOMES_ROOT, (unsigned)h);
		r = make_checked(base, 0711, err, errlen);
	} else {
		if (snprintf(base, sizeof base, "%s.homes", statedir) >= (int)sizeof base) {
			snprintf(err, errlen, "homes: the state directory's path is too long");
			return -ENAMETOOLONG;
		}
		r = make_checked(base, 0700, err, errlen);
	}
	if (r == 0)
		snprintf(H.base, sizeof H.base, "%s", base);
	return r;
}

void home_fini(void)
{
	/* ours (this state directory's, which we hold locked); gone only if empty:
	 * with -o keep, or a home that could not be removed, it stays */
	if (H.base[0])
		rmdir(H.base);
}

int home_ready(void)
{
	return H.base[0] != '\0';
}

int home_path(const char *name, char *out, size_t len)
{
	if (!H.base[0] || !util_name_valid(name))
		return -ENOENT;
	return snprintf(out, len, "%s/%s", H.base, name) < (int)len ? 0 : -ENAMETOOLONG;
}

/*
 * In the child, as the owner: empty the directory dfd without following a
 * link. Only system calls and the stack (async-signal-safe after fork). A
 * pass that removes nothing ends it; returns the first errno or 0.
 */
static int empty_dir(int dfd, int depth)
{
	char buf[2048];
	int first = 0;
	if (depth > HOME_MAX_DEPTH)
		return ELOOP;
	for (int progress = 1; progress;) {
		progress = 0;
		if (lseek(dfd, 0, SEEK_SET) < 0)
			return errno;
		for (;;) {
			ssize_t n = getdents64(dfd, buf, sizeof buf);
			if (n <= 0)
				break;
			for (ssize_t off = 0; off < n;) {
				struct dirent64 *de = (struct dirent64 *)(buf + off);
				off += de->d_reclen;
				const char *nm = de->d_name;
				if (nm[0] == '.' && (!nm[1] || (nm[1] == '.' && !nm[2])))
					continue;
				if (de->d_type != DT_DIR && unlinkat(dfd, nm, 0) == 0) {
					progress = 1;
					continue;
				}
				int sub = openat(dfd, nm, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (sub < 0) {
					if (!first && errno != ENOENT)
						first = errno;
					continue;
				}
				fchmod(sub, S_IRWXU); /* the owner's own directory: let it be emptied */
				int e = empty_dir(sub, depth + 1);
				close(sub);
				if (unlinkat(dfd, nm, AT_REMOVEDIR) == 0)
					progress = 1;
				else if (!first)
					first = e ? e : errno;
			}
		}
	}
	return first;
}

/* Empty path's directory as its owner (fork, drop to uid/gid, walk). */
static int empty_as_owner(const char *path, uid_t uid, gid_t gid)
{
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (geteuid() == 0 && uid != 0 &&
		    (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
		     setresuid(uid, uid, uid) < 0))
			_exit(EPERM);
		int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			_exit(errno == ENOENT ? 0 : errno);
		_exit(empty_dir(fd, 0));
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(st))
		return -WEXITSTATUS(st);
	return -EIO;
}

int home_remove(const char *name, struct derr *e)
{
	char path[PATH_MAX];
	struct stat st;
	int r = home_path(name, path, sizeof path);
	if (r < 0)
		return 0; /* no homes here: nothing of ours to remove */
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : derr_set(e, errno, "home", "home %s: %s", path,
						      strerror(errno));
	if (!S_ISDIR(st.st_mode)) /* only we write in the base: this is not one of ours */
		return derr_set(e, EEXIST, "home", "%s is not a directory; not touching it", path);
	r = empty_as_owner(path, st.st_uid, st.st_gid);
	if (rmdir(path) < 0 && errno != ENOENT) {
		int err = errno;
		return derr_set(e, err, "home", "cannot remove the session's home %s: %s%s%s", path,
				strerror(err), r < 0 ? "; emptying it failed: " : "",
				r < 0 ? strerror(-r) : "");
	}
	return 0;
}

int home_make(const char *name, uid_t uid, gid_t gid, char *out, size_t len, struct derr *e)
{
	int r = home_path(name, out, len);
	if (r < 0)
		return derr_set(e, -r, "home", "no base directory for session homes (see the "
					       "daemon's log)");
	if ((r = home_remove(name, e)) < 0) /* a leftover of an earlier session */
		return r;
	if (mkdir(out, 0700) < 0)
		return derr_set(e, errno, "home", "cannot create the session's home %s: %s", out,
				strerror(errno));
	/* ours, in a base nobody else may write: then it becomes the owner's */
	if (lchown(out, uid, gid) < 0 || chmod(out, 0700) < 0) {
		int err = errno;
		rmdir(out);
		return derr_set(e, err, "home",
				"cannot give the session's home %s to uid %u: %s%s", out,
				(unsigned)uid, strerror(err),
				geteuid() ? " (a deskfs not running as root serves its own user only)"
					  : "");
	}
	return 0;
}

int home_check(const char *name, uid_t uid)
{
	char path[PATH_MAX];
	struct stat st;
	if (home_path(name, path, sizeof path) < 0 || lstat(path, &st) < 0)
		return -ENOENT;
	return S_ISDIR(st.st_mode) && st.st_uid == uid ? 0 : -EPERM;
}
