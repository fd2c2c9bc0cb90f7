/*
 * exe.c - the running program's directory, and programs beside it or on
 * $PATH (exe.h).
 */
#include "common/exe.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int exe_self_dir(char *out, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	char *slash;

	if (n < 0)
		return -errno;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return -ENOENT;
	*slash = '\0';
	if ((size_t)snprintf(out, len, "%s", slash == self ? "/" : self) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* dir/name, if that is an executable file. */
static int try_dir(const char *dir, const char *name, char *out, size_t len)
{
	if ((size_t)snprintf(out, len, "%s/%s", dir, name) >= len)
		return -ENAMETOOLONG;
	return access(out, X_OK) == 0 ? 0 : -ENOENT;
}

int exe_find(const char *name, char *out, size_t len)
{
	char dir[PATH_MAX], *copy, *d, *save = NULL;
	const char *path = getenv("PATH");
	int rc = -ENOENT;

	if (strchr(name, '/')) {
		if ((size_t)snprintf(out, len, "%s", name) >= len)
			return -ENAMETOOLONG;
		return access(out, X_OK) == 0 ? 0 : -ENOENT;
	}
	if (exe_self_dir(dir, sizeof dir) == 0 && try_dir(dir, name, out, len) == 0)
		return 0;
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	for (d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save))
		if (*d && (rc = try_dir(d, name, out, len)) == 0)
			break;
	free(copy);
	return rc == 0 ? 0 : -ENOENT;
}
