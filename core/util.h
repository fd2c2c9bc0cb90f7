/*
 * util.h - small helpers shared by the daemon (and its unit tests):
 * a growable byte buffer, time stamps, random tokens and UUIDs, session
 * name validation and whole-file I/O.
 *
 *	struct buf b = BUF_INIT;
 *	buf_printf(&b, "%d\n", 42);
 *	... b.data, b.len ...
 *	buf_free(&b);
 */
#ifndef DESKFS_UTIL_H
#define DESKFS_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <sys/types.h>

struct buf {
	char *data; /* NUL-terminated when len < cap; owned, freed by buf_free */
	size_t len, cap;
};
#define BUF_INIT {NULL, 0, 0}

int buf_append(struct buf *b, const void *p, size_t n);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);
void buf_free(struct buf *b);
/* Hand the bytes over: the caller frees the returned pointer. */
char *buf_steal(struct buf *b, size_t *len);

/* An immutable, shared byte string: many readers, no copies. */
struct blob {
	int refs; /* atomic */
	size_t len;
	char tag[80]; /* where it came from (an ETag), may be empty */
	char data[];
};
/* Takes b's bytes (b is left empty). NULL on ENOMEM. */
struct blob *blob_from_buf(struct buf *b, const char *tag);
struct blob *blob_ref(struct blob *b);
void blob_unref(struct blob *b);

double util_now(void);        /* wall clock, seconds since the epoch */
uint64_t util_mono_ms(void);  /* monotonic milliseconds */
void util_iso8601(double t, char *out, size_t len); /* 2026-11-23T01:02:03.123Z */
void util_sleep_ms(unsigned ms);

int util_random_hex(char *out, size_t nbytes); /* out holds 2*nbytes+1 */
void util_uuid4(char out[37]);

/* [A-Za-z0-9][A-Za-z0-9._-]{0,63} */
int util_name_valid(const char *name);

int util_mkdir_p(const char *path, int mode);
int util_rm_rf(const char *path);
/* Write len bytes to path atomically (tmp + rename), with mode. */
int util_write_file(const char *path, const void *data, size_t len, int mode);
/* open(2) with uid/gid's file-system credentials; fd or -errno. */
int util_open_as(uid_t uid, gid_t gid, const char *path, int flags);
/* Read a whole (small) file; caller frees *out. */
int util_read_file(const char *path, char **out, size_t *len);
/* The last at most max bytes of a file, as a NUL-terminated string (caller frees). */
char *util_file_tail(const char *path, size_t max);
/* Parse a decimal int in [lo,hi]; -EINVAL on junk or out of range. */
int util_parse_int(const char *s, long lo, long hi, long *out);
/* "WxH" with both sides in [lo,hi]; -EINVAL on junk, overflow or range. */
int util_parse_size(const char *s, long lo, long hi, int *w, int *h);

#endif
