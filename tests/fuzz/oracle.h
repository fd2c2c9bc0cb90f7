/*
 * oracle.h - shared by the fuzz targets: beyond crashes, each checks the
 * promises its parser makes (REQUIRE). FUZZ_ORACLE=0 turns the promise
 * checks off, leaving crashes and sanitizer reports only.
 *
 *	#define FUZZ_NAME "fuzz_ctl"
 *	#include "tests/fuzz/oracle.h"
 *	... if (oracle) REQUIRE(r == 0 || r == -EINVAL);
 */
#ifndef DESKFS_FUZZ_ORACLE_H
#define DESKFS_FUZZ_ORACLE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int oracle = 1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *e = getenv("FUZZ_ORACLE");
	oracle = !(e && !strcmp(e, "0"));
	return 0;
}

#define REQUIRE(c)                                                                          \
	do {                                                                                \
		if (!(c)) {                                                                 \
			fprintf(stderr, FUZZ_NAME ": broken promise: %s (%s:%d)\n", #c,     \
				__FILE__, __LINE__);                                        \
			abort();                                                            \
		}                                                                           \
	} while (0)

#endif
