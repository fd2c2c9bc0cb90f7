/*
 * ring.h - a program's output stream: everything it ever wrote, counted
 * by absolute byte offsets, of which the last `max` bytes are kept.
 *
 *	struct ring r;
 *	ring_init(&r, 8 << 20);
 *	ring_append(&r, buf, n);                 (drops the oldest past max)
 *	uint64_t from = want < ring_start(&r) ? ring_start(&r) : want;  (want - start: dropped)
 *	size_t got = ring_copy(&r, from, out, 65536);
 *	ring_free(&r);
 *
 * Memory grows with what is kept (doubling, up to max), so a program that
 * writes little costs little. Not thread-safe: its owner locks.
 */
#ifndef DESKFS_RING_H
#define DESKFS_RING_H

#include <stddef.h>
#include <stdint.h>

struct ring {
	char *buf;
	size_t cap, max; /* allocated, and the most ever kept */
	uint64_t size;   /* bytes ever appended: the offset one past the last */
	size_t kept;     /* bytes kept: [size - kept, size) */
};

void ring_init(struct ring *r, size_t max);
/* 0, or -ENOMEM (then nothing is appended, but size counts the bytes:
 * they are dropped, as if overwritten). */
int ring_append(struct ring *r, const void *data, size_t n);
/* The first offset still kept. */
uint64_t ring_start(const struct ring *r);
/* Copies up to n bytes from offset from (start <= from <= size): how many. */
size_t ring_copy(const struct ring *r, uint64_t from, void *out, size_t n);
void ring_free(struct ring *r);

#endif
