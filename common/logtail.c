/*
 * logtail.c - the last line of a log, and the death notice built on it
 * (logtail.h). The file is opened without following a link and without
 * blocking (a FIFO planted in its place reads as empty).
 */
#include "common/logtail.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/utf8.h"

void logtail_last_line(const char *path, char *out, size_t len)
{
	char buf[LOGTAIL_BYTES + 1], *end, *line, *clean;
	struct stat st;
	ssize_t n = 0;
	off_t start;
	int fd;

	if (len)
		out[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		start = st.st_size > LOGTAIL_BYTES ? st.st_size - LOGTAIL_BYTES : 0;
		n = pread(fd, buf, LOGTAIL_BYTES, start);
	}
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	end = buf + strlen(buf); /* a NUL in the log ends what we look at */
	while (end > buf &&
	       (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	line = strrchr(buf, '\n');
	line = line ? line + 1 : buf;
	clean = utf8_sanitize(line, strlen(line));
	if (clean && len)
		snprintf(out, len, "%s", clean);
	free(clean);
}

void logtail_died(char *err, size_t errlen, const char *role, const char *why, const char *log_path)
{
	char last[LOGTAIL_BYTES * 3 + 1] = "";

	if (log_path)
		logtail_last_line(log_path, last, sizeof last);
	snprintf(err, errlen, "%s_died: the session's %s %s%s%s", role, role, why,
	         last[0] ? "; its log says: " : "", last);
}
