/*
 * log.h - the daemon's one way to say something: fs_log(LOG_ERR, ...).
 *
 *	fs_log_init();                     first thing in main(): libfuse's messages go
 *	                                   through here too
 *	fs_log(LOG_WARNING, "deskfs: %s: %s", path, strerror(e));
 *
 * One line per call, to stderr. When stderr is the journal (systemd sets
 * JOURNAL_STREAM to its device:inode), each line starts with its syslog
 * priority, "<3>" for LOG_ERR, "<4>" LOG_WARNING, "<6>" LOG_INFO, so
 * journalctl -p keeps the levels. On a terminal or in a file, no prefix.
 */
#ifndef DESKFS_FS_LOG_H
#define DESKFS_FS_LOG_H

#include <syslog.h>

void fs_log_init(void);
/* 1: drop libfuse's messages (a trial parse), 0: log them again */
void fs_log_fuse_quiet(int quiet);
void fs_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
