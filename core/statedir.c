/*
 * statedir.c - the daemon's state directory: made or checked, then locked.
 *
 *	char err[512];
 *	int lockfd = statedir_open("/run/deskfs/1a2b3c4d", err, sizeof err);
 *	if (lockfd < 0) { fprintf(stderr, "deskfs: %s\n", err); exit(1); }
 *	...
 *	statedir_note_pid(lockfd);   after fuse_daemonize: the pid that holds it
 *
 * The state directory is the daemon's alone. Every missing component of the
 * path is created 0700. An existing final directory is used only if it is a
 * real directory (not a symlink), owned by the daemon's uid, and writable by
 * nobody else; otherwise the daemon refuses to start, saying why. Its mode is
 * never changed and nothing in it that the daemon did not make is ever
 * touched: a session's directory carries a marker (statedir_mark) and only
 * marked directories are adopted or removed.
 *
 * One daemon per state directory: STATEDIR/.lock is held with flock(2) for
 * the daemon's life (the lock follows the descriptor through fuse_daemonize's
 * fork). A second daemon gets "in use by pid N" and exits.
 */
#include "core/statedir.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define MARKER ".deskfs-session"

/* Is st a directory we may keep state in? 0, or -errno with words. */
static int check_dir(const char *path, const struct stat *st, char *err, size_t errlen)
{
	if (S_ISLNK(st->st_mode)) {
		snprintf(err, errlen, "state directory %s is a symbolic link; refusing it", path);
		return -ELOOP;
	}
	if (!S_ISDIR(st->st_mode)) {
		snprintf(err, errlen, "state directory %s is not a directory", path);
		return -ENOTDIR;
	}
	if (st->st_uid != geteuid()) {
		snprintf(err, errlen,
			 "state directory %s is owned by uid %u, not by this daemon (uid %u); "
			 "refusing it",
			 path, (unsigned)st->st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	if (st->st_mode & 022) {
		snprintf(err, errlen,
			 "state directory %s is writable by others (mode %03o); refusing it",
			 path, (unsigned)(st->st_mode & 0777));
		return -EPERM;
	}
	return 0;
}

/* mkdir -p, 0700, for the components that are missing; existing ones are
 * checked only for the last one (the directories above may be /run or /tmp). */
static int make_path(const char *path, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp || path[0] != '/') {
		snprintf(err, errlen, "state directory %s: not an absolute path of a sane length",
			 path);
		return -EINVAL;
	}
	for (char *p = tmp + 1;; p++) {
		if (*p && *p != '/')
			continue;
		char c = *p;
		*p = '\0';
		struct stat st;
		if (mkdir(tmp, 0700) == 0) {
			/* ours, new */
		} else if (errno != EEXIST) {
			int e = errno;
			snprintf(err, errlen, "state directory %s: cannot create %s: %s", path, tmp,
				 strerror(e));
			return -e;
		} else if (lstat(tmp, &st) == 0 && st.st_uid != 0 && st.st_uid != geteuid() &&
			   !(S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX))) {
			/* a directory on the way that another user controls could be
			 * swapped for a link: refuse (sticky /tmp itself is fine) */
			snprintf(err, errlen,
				 "state directory %s: %s is owned by uid %u; refusing a path "
				 "another user controls",
				 path, tmp, (unsigned)st.st_uid);
			return -EPERM;
		}
		if (!c)
			break;
		*p = c;
	}
	return 0;
}

int statedir_open(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int r = make_path(path, err, errlen);
	if (r < 0)
		return r;
	if (lstat(path, &st) < 0) {
		r = -errno;
		snprintf(err, errlen, "state directory %s: %s", path, strerror(-r));
		return r;
	}
	if ((r = check_dir(path, &st, err, errlen)) < 0)
		return r;
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		r = -errno;
		snprintf(err, errlen, "state directory %s: %s", path, strerror(-r));
		return r;
	}
	/* the same directory we checked (not swapped meanwhile) */
	struct stat st2;
	if (fstat(dfd, &st2) < 0 || st2.st_ino != st.st_ino || st2.st_dev != st.st_dev) {
		close(dfd);
		snprintf(err, errlen, "state directory %s changed while being opened", path);
		return -EAGAIN;
	}
	int fd = openat(dfd, ".lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	close(dfd);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "state directory %s: cannot open its .lock: %s", path,
			 strerror(-r));
		return r;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = -errno;
		char pid[32] = "";
		ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		close(fd);
		if (r == -EWOULDBLOCK) {
			snprintf(err, errlen,
				 "state directory %s is in use by another deskfs (pid %s); one "
				 "daemon per state directory",
				 path, pid[0] ? pid : "?");
			return -EBUSY;
		}
		snprintf(err, errlen, "state directory %s: cannot lock it: %s", path, strerror(-r));
		return r;
	}
	statedir_note_pid(fd);
	return fd;
}

void statedir_note_pid(int lockfd)
{
	char line[32];
	int n = snprintf(line, sizeof line, "%d\n", (int)getpid());
	if (ftruncate(lockfd, 0) == 0 && pwrite(lockfd, line, (size_t)n, 0) != n)
		(void)0; /* the pid is a courtesy for the error message only */
}

int statedir_mark(const char *sessdir)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/" MARKER, sessdir);
	return util_write_file(path, "deskfs session directory\n", 25, 0600);
}

int statedir_is_marked(const char *sessdir)
{
	char path[PATH_MAX + 32];
	struct stat st;
	snprintf(path, sizeof path, "%s/" MARKER, sessdir);
	return lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid();
}
