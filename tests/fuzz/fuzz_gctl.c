/*
 * fuzz_gctl.c - libFuzzer target for sess_global_ctl_check() (core/sess_ops.c):
 * the lines written to the mount's `.ctl` file ("create NAME key=value ...",
 * "destroy NAME"), validated in a dry run that creates and destroys nothing.
 *
 * Besides "no crash, no leak, no UB" (ASan + UBSan) it checks the promise of
 * issue 5: the result is 0, -EINVAL or -E2BIG, an error comes with a
 * terminated message, and an accepted write holds only valid names and
 * settings whose numbers really are in range - a number that overflows an
 * int must be refused, not wrapped into range. A broken promise calls
 * abort(). With FUZZ_ORACLE=0 in the environment it checks crashes only.
 *
 * Built and run by `make fuzz` (see tests/fuzz/README).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sess_ops.h"
#include "providers/prov.h"

#define FUZZ_NAME "fuzz_gctl"
#include "tests/fuzz/oracle.h"

static int name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return 0;
	}
	return 1;
}

/* A number in [lo, hi] with nothing after it, overflow detected. */
static int int_in(const char *s, long long lo, long long hi, const char **end)
{
	char *e;
	errno = 0;
	long long v = strtoll(s, &e, 10);
	if (e == s || errno || v < lo || v > hi)
		return 0;
	*end = e;
	return 1;
}

static void check_setting(const char *kv)
{
	const char *eq = strchr(kv, '='), *v, *e = NULL;
	REQUIRE(eq && eq != kv);
	v = eq + 1;
	if (!strncmp(kv, "size=", 5)) {
		int ok = int_in(v, 64, 8192, &e) && *e == 'x' && int_in(e + 1, 64, 8192, &e) && !*e;
		if (!ok) {
			fprintf(stderr, "fuzz_gctl: accepted an out-of-range size: '%.80s'\n", kv);
			abort();
		}
	} else if (!strncmp(kv, "width=", 6) || !strncmp(kv, "height=", 7)) {
		REQUIRE(int_in(v, 64, 8192, &e) && !*e);
	}
}

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
		char *s2 = NULL;
		char *verb = strtok_r(l, " \t", &s2), *name = strtok_r(NULL, " \t", &s2);
		REQUIRE(verb && name && name_ok(name));
		REQUIRE(!strcmp(verb, "create") || !strcmp(verb, "destroy"));
		for (char *kv = strtok_r(NULL, " \t", &s2); kv; kv = strtok_r(NULL, " \t", &s2)) {
			REQUIRE(!strcmp(verb, "create"));
			check_setting(kv);
		}
	}
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[600];
	static int registered;
	if (!registered++)
		prov_register(prov_list()); /* as fs/main.c does */
	memset(err, 'x', sizeof err);
	int r = sess_global_ctl_check((const char *)data, size, err, sizeof err);
	REQUIRE(r == 0 || r == -EINVAL || r == -E2BIG);
	if (r < 0)
		REQUIRE(memchr(err, '\0', sizeof err) && err[0] && err[0] != 'x');
	else if (oracle)
		check_accepted((const char *)data, size);
	return 0;
}
