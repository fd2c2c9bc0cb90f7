/*
 * test_ring.c - unit tests for agent/ring.c, the bounded output stream of
 * a program: absolute offsets, growth, wrapping, what is dropped, appends
 * larger than the bound, against a plain copy of everything written.
 *
 *	make build/tests/test_ring && build/tests/test_ring
 *
 * Prints "not ok - NAME (file:line)" per failure and ends with
 * "N passed, N failed"; exits non-zero if anything failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/ring.h"

static int passed, failed;

#define CHECK(cond, name)                                                                          \
	do {                                                                                       \
		if (cond) {                                                                        \
			passed++;                                                                  \
		} else {                                                                           \
			failed++;                                                                  \
			printf("not ok - %s (%s:%d)\n", name, __FILE__, __LINE__);                 \
		}                                                                                  \
	} while (0)

/* Does r hold exactly the last min(size, max) bytes of all[0..size)? */
static int matches(const struct ring *r, const unsigned char *all)
{
	size_t keep = r->size < r->max ? (size_t)r->size : r->max;
	unsigned char *buf = malloc(keep + 1);
	uint64_t start = ring_start(r);
	size_t got = 0;
	int ok;

	if (start != r->size - keep)
		return free(buf), 0;
	/* in pieces of odd sizes, as readers ask */
	while (got < keep) {
		size_t n = ring_copy(r, start + got, buf + got, 777);
		if (!n)
			break;
		got += n;
	}
	ok = got == keep && !memcmp(buf, all + (r->size - keep), keep);
	free(buf);
	return ok;
}

int main(void)
{
	enum { MAX = 10000, TOTAL = 200000 };
	unsigned char *all = malloc(TOTAL), tmp[16];
	struct ring r;
	size_t off = 0;
	unsigned seed = 7;

	for (size_t i = 0; i < TOTAL; i++)
		all[i] = (unsigned char)(rand_r(&seed) & 0xff);

	ring_init(&r, MAX);
	CHECK(r.size == 0 && ring_start(&r) == 0 && ring_copy(&r, 0, tmp, 16) == 0, "empty");
	CHECK(ring_append(&r, all, 0) == 0 && r.size == 0, "an empty append");
	CHECK(ring_append(&r, all, 100) == 0 && matches(&r, all), "a small append");
	CHECK(r.cap < MAX, "  costs little");
	CHECK(ring_copy(&r, 100, tmp, 16) == 0, "  nothing past the end");
	CHECK(ring_copy(&r, 98, tmp, 16) == 2 && !memcmp(tmp, all + 98, 2), "  a copy near the end");
	off = 100;
	/* appends of every size up to past the bound: always the last MAX bytes */
	for (size_t n = 1; off + n < TOTAL - 3 * MAX; n = n * 3 + 1) {
		ring_append(&r, all + off, n);
		off += n;
		CHECK(r.size == off && matches(&r, all), "growing and wrapping");
	}
	CHECK(r.cap == MAX && r.kept == MAX, "  full: it keeps max");
	CHECK(ring_start(&r) == off - MAX, "  the first kept offset");
	CHECK(ring_copy(&r, off - MAX - 1, tmp, 16) == 0, "  a dropped offset copies nothing");
	ring_append(&r, all + off, 2 * MAX + 5); /* more than the bound at once */
	off += 2 * MAX + 5;
	CHECK(r.size == off && matches(&r, all), "an append past the bound keeps its tail");
	ring_free(&r);

	/* a huge first append: nothing before it, its tail kept */
	ring_init(&r, MAX);
	ring_append(&r, all, 3 * MAX + 1);
	CHECK(r.size == 3 * MAX + 1 && matches(&r, all), "a first append past the bound");
	ring_append(&r, all + 3 * MAX + 1, 10);
	CHECK(matches(&r, all), "  and one more");
	ring_free(&r);

	/* byte by byte across the wrap */
	ring_init(&r, 64);
	for (off = 0; off < 1000; off++)
		ring_append(&r, all + off, 1);
	CHECK(matches(&r, all), "byte by byte");
	ring_free(&r);

	free(all);
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
