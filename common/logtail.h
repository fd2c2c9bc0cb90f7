/*
 * logtail.h - "X died, its log says": the last words of a process's log,
 * for the error that reports its death.
 *
 *	char err[512];
 *	logtail_died(err, sizeof err, "xvfb", "exited with status 1 while starting",
 *	             "/run/deskfs/.../artifacts/xvfb.log");
 *	-> "xvfb_died: the session's xvfb exited with status 1 while starting;
 *	    its log says: (EE) Server terminated with error"
 */
#ifndef DESKFS_LOGTAIL_H
#define DESKFS_LOGTAIL_H

#include <stddef.h>

/* How far back from the end of a log the last line is looked for. */
#define LOGTAIL_BYTES 300

/* The last non-empty line within the last LOGTAIL_BYTES of path, trailing
 * blanks dropped, as valid UTF-8 (bad bytes become U+FFFD); "" when the
 * file is missing, empty or not a regular file. */
void logtail_last_line(const char *path, char *out, size_t len);
/* "ROLE_died: the session's ROLE WHY; its log says: LINE" (without the
 * log part when log_path is NULL or says nothing) into err. */
void logtail_died(char *err, size_t errlen, const char *role, const char *why,
                  const char *log_path);

#endif
