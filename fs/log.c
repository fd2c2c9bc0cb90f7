/*
 * log.c - log lines with syslog priority prefixes when stderr is the journal.
 *
 *	fs_log_init();
 *	fs_log(LOG_ERR, "deskfs: state directory %s: %s", dir, strerror(e));
 *
 * systemd's journal reads "<N>" at the start of a line as the line's
 * priority (sd-daemon(3)); it tells a service that its stderr is the
 * journal by JOURNAL_STREAM=DEV:INODE, which we compare with fstat(2), so
 * a child that inherited the variable but writes to a file or a terminal
 * prints plain lines. libfuse's own messages (fuse_log) come here too: its
 * levels are syslog's.
 */
#include "fs/log.h"
#include "fs/fs.h"

#include <fuse_log.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int log_prefix = -1; /* -1 not yet known, 0 plain, 1 "<N>" prefixes */

static int stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

static void log_line(int prio, const char *fmt, va_list ap)
{
	char line[2048];
	if (log_prefix < 0)
		log_prefix = stderr_is_journal();
	vsnprintf(line, sizeof line, fmt, ap);
	size_t n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	/* one write per line, so lines of several threads never interleave */
	if (log_prefix)
		dprintf(STDERR_FILENO, "<%d>%s\n", prio & LOG_PRIMASK, line);
	else
		dprintf(STDERR_FILENO, "%s\n", line);
}

void fs_log(int prio, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_line(prio, fmt, ap);
	va_end(ap);
}

/* libfuse writes a line in pieces ("unknown option(s): `" ... "'\n"): join them. */
static void fuse_log_to_ours(enum fuse_log_level level, const char *fmt, va_list ap)
{
	static __thread char pend[1024];
	static __thread size_t plen;
	char piece[1024];
	vsnprintf(piece, sizeof piece, fmt, ap);
	size_t n = strlen(piece);
	if (plen + n >= sizeof pend)
		n = sizeof pend - 1 - plen;
	memcpy(pend + plen, piece, n);
	plen += n;
	pend[plen] = '\0';
	if (plen && (pend[plen - 1] == '\n' || plen == sizeof pend - 1)) {
		fs_log((int)level, "%s", pend);
		plen = 0;
		pend[0] = '\0';
	}
}

static void fuse_log_nowhere(enum fuse_log_level level, const char *fmt, va_list ap)
{
}

void fs_log_init(void)
{
	log_prefix = stderr_is_journal();
	fuse_set_log_func(fuse_log_to_ours);
}

void fs_log_fuse_quiet(int quiet)
{
	fuse_set_log_func(quiet ? fuse_log_nowhere : fuse_log_to_ours);
}
