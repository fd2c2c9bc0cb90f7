/*
 * check.h - the unit tests' one way to say what held: a line per check,
 * "ok - WHAT" or "not ok - WHAT (line N)", and the closing summary line
 * tests/run.sh counts.
 *
 *	CHECK("the table grows", n == 5000);
 *	...
 *	return check_done();        prints "N passed, N failed"; 0 when none failed
 */
#ifndef DESKFS_TEST_CHECK_H
#define DESKFS_TEST_CHECK_H

#include <stdio.h>

static int passed, failed;

#define CHECK(desc, cond)                                                                  \
	do {                                                                               \
		if (cond) {                                                                \
			passed++;                                                          \
			printf("ok - %s\n", desc);                                         \
		} else {                                                                   \
			failed++;                                                          \
			printf("not ok - %s (line %d)\n", desc, __LINE__);                 \
		}                                                                          \
	} while (0)

static inline int check_done(void)
{
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}

#endif
