/*
 * utf8.h - the one UTF-8 decoder both binaries use: strict (no overlong
 * forms, no surrogates, nothing past U+10FFFF), for checking text, walking
 * it code point by code point, and cleaning text that comes from elsewhere
 * (window titles) into valid UTF-8.
 *
 *	unsigned cp;
 *	int n = utf8_decode(s, len, &cp);        1..4 bytes, or -1 if malformed
 *	if (!utf8_valid(s, len)) ... refuse ...
 *	char *clean = utf8_sanitize(title, len);  (caller frees)
 */
#ifndef DESKFS_UTF8_H
#define DESKFS_UTF8_H

#include <stddef.h>

/* The code point at s[0..n): its length in bytes (1..4) and *cp; or -1
 * (malformed, or truncated by n; *cp is then U+FFFD). n == 0 gives -1. */
int utf8_decode(const char *s, size_t n, unsigned *cp);
/* 1 if s[0..n) is well-formed UTF-8 (NUL bytes are well-formed). */
int utf8_valid(const char *s, size_t n);
/* A NUL-terminated copy of s[0..n), cut at the first NUL, with every byte
 * that does not start a well-formed character replaced by U+FFFD;
 * malloc'd, NULL on ENOMEM. */
char *utf8_sanitize(const char *s, size_t n);

#endif
