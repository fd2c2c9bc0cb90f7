/*
 * exe.h - finding programs: the directory the running binary sits in, and
 * a program "next to me" first, else on $PATH. So a build tree's
 * bin/deskfs finds bin/deskfs-agent beside it, and an installed one finds
 * /usr/bin/deskfs-agent.
 *
 *	char path[PATH_MAX];
 *	if (exe_find("deskfs-agent", path, sizeof path) < 0) ... not found ...
 *	char dir[PATH_MAX];
 *	if (exe_self_dir(dir, sizeof dir) == 0) ... dir/../share/deskfs ...
 */
#ifndef DESKFS_EXE_H
#define DESKFS_EXE_H

#include <stddef.h>

/* The directory of the running program (/proc/self/exe, links resolved):
 * 0, or -errno (-ENAMETOOLONG when it does not fit in len). */
int exe_self_dir(char *out, size_t len);
/* An executable name beside the running program, else the first one in
 * $PATH (/usr/local/bin:/usr/bin:/bin when unset): 0 and its path in out,
 * or -ENOENT, -ENOMEM. A name with a '/' is taken as it is. */
int exe_find(const char *name, char *out, size_t len);

#endif
