/*
 * fuzz_ctl.c - libFuzzer target for sess_ctl_check() (core/sess_ops.c): the
 * lines written to a session's `ctl` file, parsed without a session.
 *
 * Besides "no crash, no leak, no UB" (ASan + UBSan) it checks the promise of
 * issue 5: the result is 0, -EINVAL or -E2BIG, an error comes with a
 * terminated message, and an accepted write holds only known commands whose
 * numbers really are in range - a number that overflows an int must be
 * refused, not wrapped into range. A broken promise calls abort().
 * With FUZZ_ORACLE=0 in the environment it checks crashes only.
 *
 * Built and run by `make fuzz` (see tests/fuzz/README).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sess_ops.h"

#define FUZZ_NAME "fuzz_ctl"
#include "tests/fuzz/oracle.h"

/* The WxH of "resize WxH" as sess_ctl accepts it, but with overflow detected. */
static int resize_ok(const char *arg)
{
	char *e;
	errno = 0;
	long long w = strtoll(arg, &e, 10);
	if (e == arg || *e != 'x' || errno)
		return 0;
	const char *h0 = e + 1;
	long long h = strtoll(h0, &e, 10);
	if (e == h0 || *e || errno)
		return 0;
	return w >= 64 && w <= 8192 && h >= 64 && h <= 8192;
}

/* "scale"'s argument: none, 0x0, or WxH with each side 16..8192. */
static int scale_ok(const char *arg)
{
	char *e;
	arg += strspn(arg, " \t");
	if (!strcmp(arg, "none"))
		return 1;
	errno = 0;
	long long w = strtoll(arg, &e, 10);
	if (e == arg || *e != 'x' || errno || *arg < '0' || *arg > '9')
		return 0;
	const char *h0 = e + 1;
	long long h = strtoll(h0, &e, 10);
	if (e == h0 || *e || errno || *h0 < '0' || *h0 > '9')
		return 0;
	return (w == 0 && h == 0) || (w >= 16 && w <= 8192 && h >= 16 && h <= 8192);
}

/* Every line of an accepted write: blank, a comment, or a valid command. */
static void check_accepted(const char *text, size_t len)
{
	char *copy = strndup(text, len);
	REQUIRE(copy);
	char *save = NULL;
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		size_t n = strlen(l);
		while (n && (l[n - 1] == '\r' || l[n - 1] == ' ' || l[n - 1] == '\t'))
			l[--n] = '\0';
		l += strspn(l, " \t");
		if (!*l || *l == '#')
			continue;
		if (!strcmp(l, "stop") || !strcmp(l, "start") || !strcmp(l, "restart") ||
		    !strcmp(l, "clear-error"))
			continue;
		if (!strncmp(l, "scale", 5) && (l[5] == ' ' || l[5] == '\t')) {
			if (!scale_ok(l + 5)) {
				fprintf(stderr, "fuzz_ctl: accepted a bad scale: '%.80s'\n", l);
				abort();
			}
			continue;
		}
		/* sscanf's "resize %dx%d": the blank matches any white space, or none */
		REQUIRE(!strncmp(l, "resize", 6));
		if (!resize_ok(l + 6)) {
			fprintf(stderr, "fuzz_ctl: accepted an out-of-range resize: '%.80s'\n", l);
			abort();
		}
	}
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[600];
	memset(err, 'x', sizeof err);
	int r = sess_ctl_check((const char *)data, size, err, sizeof err);
	REQUIRE(r == 0 || r == -EINVAL || r == -E2BIG);
	if (r < 0)
		REQUIRE(memchr(err, '\0', sizeof err) && err[0] && err[0] != 'x');
	else if (oracle)
		check_accepted((const char *)data, size);
	return 0;
}
