/*
 * files.c - paths of the files tree, resolved beneath the agent's --home
 * (files.h), and the operations on them.
 *
 * Everything here runs on a serving thread that carries the user's
 * file-system credentials (ident_enter), so permission checks are the
 * kernel's own; what this file adds is that no path leaves the tree.
 */
#include "agent/files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/ident.h"

/* -1 unknown, 0 use openat2, 1 walk (no openat2, or DESKFS_NO_OPENAT2=1) */
static atomic_int walk_mode = -1;

/* path ("/a/b/") as a path relative to the root ("a/b"; "/" is "."). */
static int rel_path(const char *path, char *out, size_t n)
{
	size_t len;

	if (!path || path[0] != '/')
		return -EINVAL;
	while (*path == '/')
		path++;
	len = strlen(path);
	while (len > 0 && path[len - 1] == '/')
		len--;
	if (len >= n || len >= PATH_MAX)
		return -ENAMETOOLONG;
	if (!len) {
		snprintf(out, n, ".");
		return 0;
	}
	memcpy(out, path, len);
	out[len] = 0;
	return 0;
}

/* The fallback: one component at a time, never following a link. */
static int open_walk(const struct ident *id, char *rel, int oflags, int *out)
{
	char *comp = rel, *slash;
	int cur, next, rc = 0;
	struct stat st;

	cur = fcntl(id->root_fd, F_DUPFD_CLOEXEC, 3);
	if (cur < 0)
		return -errno;
	for (;;) {
		slash = strchr(comp, '/');
		if (slash)
			*slash = 0;
		if (!strcmp(comp, "..")) {
			rc = -EXDEV;
			break;
		}
		if (!slash) {
			next = openat(cur, comp, oflags | O_NOFOLLOW | O_CLOEXEC);
			rc = next < 0 ? -errno : 0;
			/* O_PATH|O_NOFOLLOW opens a link itself: only if that was asked */
			if (rc == 0 && !(oflags & O_NOFOLLOW) && fstat(next, &st) == 0 &&
			    S_ISLNK(st.st_mode)) {
				close(next);
				rc = -ELOOP;
			}
			if (rc == 0)
				*out = next;
			break;
		}
		if (*comp && strcmp(comp, ".")) {
			next = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (next < 0) {
				rc = -errno;
				if (rc == -ENOTDIR && fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
				    S_ISLNK(st.st_mode))
					rc = -ELOOP;
				break;
			}
			close(cur);
			cur = next;
		}
		comp = slash + 1;
	}
	close(cur);
	return rc;
}

static int open_rel(const struct ident *id, char *rel, int oflags, int *out)
{
	struct open_how how = {
	    .flags = (unsigned long long)(oflags | O_CLOEXEC),
	    .resolve = RESOLVE_NO_MAGICLINKS | (id->whole_tree ? RESOLVE_IN_ROOT : RESOLVE_BENEATH),
	};
	int fd = -1;

	if (walk_mode < 0) {
		const char *e = getenv("DESKFS_NO_OPENAT2");
		walk_mode = e && *e == '1';
	}
	if (walk_mode == 0) {
		/* EAGAIN: a rename or mount raced the walk; it is safe to retry */
		for (int tries = 0; tries < 16; tries++) {
			fd = (int)syscall(SYS_openat2, id->root_fd, rel, &how, sizeof how);
			if (fd >= 0 || errno != EAGAIN)
				break;
		}
		if (fd >= 0) {
			*out = fd;
			return 0;
		}
		if (errno != ENOSYS)
			return -errno;
		walk_mode = 1;
	}
	return open_walk(id, rel, oflags, out);
}

int files_open(const struct ident *id, const char *path, int oflags, int *fd)
{
	char rel[PATH_MAX];
	int rc = rel_path(path, rel, sizeof rel);

	return rc < 0 ? rc : open_rel(id, rel, oflags, fd);
}

/* The parent directory of path (O_PATH) and the last component. */
static int open_parent(const struct ident *id, const char *path, int *dfd, char *name)
{
	char rel[PATH_MAX], *slash, *last;
	int rc = rel_path(path, rel, sizeof rel);

	if (rc < 0)
		return rc;
	if (!strcmp(rel, "."))
		return -EBUSY; /* the root itself */
	slash = strrchr(rel, '/');
	last = slash ? slash + 1 : rel;
	if (!strcmp(last, ".") || !strcmp(last, ".."))
		return -EINVAL;
	if (strlen(last) > NAME_MAX)
		return -ENAMETOOLONG;
	strcpy(name, last);
	if (slash)
		*slash = 0;
	else
		strcpy(rel, ".");
	return open_rel(id, rel, O_PATH | O_DIRECTORY, dfd);
}

/* "/proc/self/fd/N": what acts on an O_PATH descriptor's file by path. */
static void fd_path(int fd, char *buf, size_t n)
{
	snprintf(buf, n, "/proc/self/fd/%d", fd);
}

int files_open_regular(const struct ident *id, const char *path, int oflags, int *fd,
                       struct stat *st)
{
	char proc[40];
	int pfd, rc;

	rc = files_open(id, path, O_PATH, &pfd);
	if (rc < 0)
		return rc;
	if (fstat(pfd, st) < 0)
		rc = -errno;
	else if (S_ISDIR(st->st_mode))
		rc = -EISDIR;
	else if (!S_ISREG(st->st_mode))
		rc = -EINVAL;
	if (rc == 0) {
		fd_path(pfd, proc, sizeof proc);
		*fd = open(proc, oflags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		rc = *fd < 0 ? -errno : 0;
	}
	close(pfd);
	return rc;
}

int files_stat(const struct ident *id, const char *path, struct stat *st)
{
	int fd, rc = files_open(id, path, O_PATH | O_NOFOLLOW, &fd);

	if (rc < 0)
		return rc;
	rc = fstat(fd, st) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

int files_readlink(const struct ident *id, const char *path, char *buf, size_t len)
{
	int fd, rc = files_open(id, path, O_PATH | O_NOFOLLOW, &fd);
	ssize_t n;

	if (rc < 0)
		return rc;
	n = readlinkat(fd, "", buf, len);
	rc = n < 0 ? -errno : (size_t)n >= len ? -ENAMETOOLONG : 0;
	if (rc == 0)
		buf[n] = 0;
	close(fd);
	return rc;
}

int files_list(const struct ident *id, const char *path,
               int (*each)(void *cls, const char *name, const struct stat *st), void *cls)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd, rc = files_open(id, path, O_RDONLY | O_DIRECTORY, &fd);

	if (rc < 0)
		return rc;
	d = fdopendir(fd);
	if (!d) {
		rc = -errno;
		close(fd);
		return rc;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			rc = errno ? -errno : 0;
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* gone meanwhile */
		rc = each(cls, de->d_name, &st);
		if (rc < 0)
			break;
	}
	closedir(d);
	return rc;
}

int files_create(const struct ident *id, const char *path, mode_t mode)
{
	char name[NAME_MAX + 1];
	int dfd, fd, rc = open_parent(id, path, &dfd, name);

	if (rc < 0)
		return rc == -EBUSY ? -EEXIST : rc;
	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK,
	            mode & 07777);
	rc = fd < 0 ? -errno : 0;
	if (fd >= 0)
		close(fd);
	close(dfd);
	return rc;
}

int files_mkdir(const struct ident *id, const char *path, mode_t mode)
{
	char name[NAME_MAX + 1];
	int dfd, rc = open_parent(id, path, &dfd, name);

	if (rc < 0)
		return rc == -EBUSY ? -EEXIST : rc;
	rc = mkdirat(dfd, name, mode & 07777) < 0 ? -errno : 0;
	close(dfd);
	return rc;
}

static int unlink_flags(const struct ident *id, const char *path, int flags)
{
	char name[NAME_MAX + 1];
	int dfd, rc = open_parent(id, path, &dfd, name);

	if (rc < 0)
		return rc;
	rc = unlinkat(dfd, name, flags) < 0 ? -errno : 0;
	close(dfd);
	return rc;
}

int files_rmdir(const struct ident *id, const char *path)
{
	return unlink_flags(id, path, AT_REMOVEDIR);
}

int files_unlink(const struct ident *id, const char *path)
{
	int rc = unlink_flags(id, path, 0);

	return rc == -EBUSY ? -EISDIR : rc;
}

int files_rename(const struct ident *id, const char *path, const char *to, unsigned flags)
{
	char name[NAME_MAX + 1], name2[NAME_MAX + 1];
	int dfd, dfd2, rc;

	if (flags > 2)
		return -EINVAL;
	rc = open_parent(id, path, &dfd, name);
	if (rc < 0)
		return rc;
	rc = open_parent(id, to, &dfd2, name2);
	if (rc == 0) {
		rc = renameat2(dfd, name, dfd2, name2, flags) < 0 ? -errno : 0;
		close(dfd2);
	}
	close(dfd);
	return rc;
}

int files_chmod(const struct ident *id, const char *path, mode_t mode)
{
	char proc[40];
	int fd, rc = files_open(id, path, O_PATH, &fd);

	if (rc < 0)
		return rc;
	fd_path(fd, proc, sizeof proc);
	rc = chmod(proc, mode & 07777) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

int files_truncate(const struct ident *id, const char *path, off_t size)
{
	struct stat st;
	int fd, rc;

	if (size < 0)
		return -EINVAL;
	rc = files_open_regular(id, path, O_WRONLY, &fd, &st);
	if (rc < 0)
		return rc;
	rc = ftruncate(fd, size) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

int files_utimens(const struct ident *id, const char *path, const struct timespec ts[2])
{
	char proc[40];
	int fd, rc = files_open(id, path, O_PATH, &fd);

	if (rc < 0)
		return rc;
	fd_path(fd, proc, sizeof proc);
	rc = utimensat(AT_FDCWD, proc, ts, 0) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

int files_symlink(const struct ident *id, const char *path, const char *target)
{
	char name[NAME_MAX + 1];
	int dfd, rc;

	if (!target || !*target)
		return -ENOENT;
	if (strlen(target) >= PATH_MAX)
		return -ENAMETOOLONG;
	rc = open_parent(id, path, &dfd, name);
	if (rc < 0)
		return rc == -EBUSY ? -EEXIST : rc;
	rc = symlinkat(target, dfd, name) < 0 ? -errno : 0;
	close(dfd);
	return rc;
}

int files_link(const struct ident *id, const char *path, const char *to)
{
	char name[NAME_MAX + 1], name2[NAME_MAX + 1];
	int dfd, dfd2, rc;

	rc = open_parent(id, path, &dfd, name);
	if (rc < 0)
		return rc == -EBUSY ? -EPERM : rc;
	rc = open_parent(id, to, &dfd2, name2);
	if (rc == 0) {
		rc = linkat(dfd, name, dfd2, name2, 0) < 0 ? -errno : 0;
		close(dfd2);
	} else if (rc == -EBUSY) {
		rc = -EEXIST;
	}
	close(dfd);
	return rc;
}
