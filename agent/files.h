/*
 * files.h - the files tree the agent serves (files/ in the mount): paths
 * of the tree, "/" being --home (ident.h), opened beneath it and never
 * out of it, with the credentials of the calling thread (ident_enter).
 *
 *	ident_enter(&id, 1);                       (once per serving thread)
 *	struct stat st;
 *	int rc = files_stat(&id, "/docs/a.txt", &st);        (0 or -errno)
 *	int fd; rc = files_open_regular(&id, "/docs/a.txt", O_RDONLY, &fd, &st);
 *	rc = files_rename(&id, "/a", "/b", RENAME_NOREPLACE);
 *
 * Resolution: openat2(2) from root_fd with RESOLVE_NO_MAGICLINKS, and
 * RESOLVE_BENEATH (a home): ".." that leaves it, and any symbolic link
 * that does, or that is absolute, fail with EXDEV; /proc's magic links
 * with ELOOP. For the whole tree (--home /, a VM) RESOLVE_IN_ROOT, which
 * there is ordinary resolution (absolute links resolve from /). Without
 * openat2 (Linux < 5.6, or DESKFS_NO_OPENAT2=1 in the environment) the
 * path is walked one component at a time with O_NOFOLLOW: no symbolic
 * link is followed (ELOOP) and ".." is refused (EXDEV).
 *
 * Operations on a name (create, mkdir, rmdir, unlink, rename, symlink,
 * link) open its parent that way and act on the last component, which
 * must be a plain name (not "." or "..": EINVAL; the root itself: EBUSY).
 * The others follow a last symbolic link (within the tree), except stat,
 * readlink and list's entries, which never follow it.
 *
 * Reads and writes open only regular files: a directory gives EISDIR,
 * anything else (a FIFO, a device, a socket) EINVAL, and it is never
 * opened at all (O_PATH first, then reopened through /proc/self/fd), so
 * a FIFO cannot block a thread and a device cannot be touched.
 *
 * Modes are applied as given: the serving thread's umask is 0 (ident_enter).
 * All functions return 0 (or a count) or -errno, from the kernel as is.
 */
#ifndef DESKFS_FILES_H
#define DESKFS_FILES_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

struct ident;

/* Opens path with oflags (O_PATH, O_DIRECTORY, O_NOFOLLOW...: openat2's rules). */
int files_open(const struct ident *id, const char *path, int oflags, int *fd);
/* A regular file, opened with oflags (O_RDONLY or O_WRONLY); *st its stat. */
int files_open_regular(const struct ident *id, const char *path, int oflags, int *fd,
                       struct stat *st);
int files_stat(const struct ident *id, const char *path, struct stat *st);
/* buf gets the target, NUL-terminated; ENAMETOOLONG if it does not fit. */
int files_readlink(const struct ident *id, const char *path, char *buf, size_t len);
/* Calls each(cls, name, lstat) for every entry but . and .. (entries that
 * vanish meanwhile are skipped); each returns 0 or -errno (which stops). */
int files_list(const struct ident *id, const char *path,
               int (*each)(void *cls, const char *name, const struct stat *st), void *cls);
int files_create(const struct ident *id, const char *path, mode_t mode);
int files_mkdir(const struct ident *id, const char *path, mode_t mode);
int files_rmdir(const struct ident *id, const char *path);
int files_unlink(const struct ident *id, const char *path);
/* flags: 0, RENAME_NOREPLACE (1) or RENAME_EXCHANGE (2). */
int files_rename(const struct ident *id, const char *path, const char *to, unsigned flags);
int files_chmod(const struct ident *id, const char *path, mode_t mode);
int files_truncate(const struct ident *id, const char *path, off_t size);
/* ts as utimensat(2): UTIME_NOW, UTIME_OMIT allowed. */
int files_utimens(const struct ident *id, const char *path, const struct timespec ts[2]);
int files_symlink(const struct ident *id, const char *path, const char *target);
int files_link(const struct ident *id, const char *path, const char *to);

#endif
