/*
 * ring.c - a bounded output stream with absolute offsets (ring.h).
 *
 * Byte at offset o lives at buf[o % cap] once cap == max; before that
 * nothing has wrapped (kept == size), so it lives at buf[o], which is the
 * same formula: growing never moves a byte.
 */
#include "agent/ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void ring_init(struct ring *r, size_t max)
{
	memset(r, 0, sizeof *r);
	r->max = max;
}

void ring_free(struct ring *r)
{
	free(r->buf);
	memset(r, 0, sizeof *r);
}

uint64_t ring_start(const struct ring *r)
{
	return r->size - r->kept;
}

/* Room for want bytes kept in all, while nothing has wrapped yet. */
static int grow(struct ring *r, size_t want)
{
	size_t cap = r->cap ? r->cap : 4096;
	char *nb;

	while (cap < want)
		cap *= 2;
	if (cap > r->max)
		cap = r->max;
	nb = realloc(r->buf, cap);
	if (!nb)
		return -ENOMEM;
	r->buf = nb;
	r->cap = cap;
	return 0;
}

int ring_append(struct ring *r, const void *data, size_t n)
{
	const char *p = data;
	size_t at, first, want;

	if (n > r->max) { /* only the last max bytes can be kept */
		r->size += n - r->max;
		r->kept = 0; /* every byte kept so far is older than those */
		p += n - r->max;
		n = r->max;
	}
	if (r->cap < r->max) {
		/* Short of max, either nothing was ever dropped (kept == size, byte
		 * o at buf[o]) or nothing is kept: then go to max at once, so
		 * that o % cap stays where each byte lives. */
		want = r->kept == r->size ? r->kept + n : r->max;
		if (want > r->cap && grow(r, want) < 0) {
			r->size += n;
			r->kept = 0;
			return -ENOMEM;
		}
	}
	if (!n)
		return 0;
	at = (size_t)(r->size % r->cap);
	first = r->cap - at < n ? r->cap - at : n;
	memcpy(r->buf + at, p, first);
	memcpy(r->buf, p + first, n - first);
	r->size += n;
	r->kept = r->kept + n > r->cap ? r->cap : r->kept + n;
	return 0;
}

size_t ring_copy(const struct ring *r, uint64_t from, void *out, size_t n)
{
	uint64_t start = ring_start(r);
	size_t at, first;

	if (from < start || from >= r->size)
		return 0;
	if (n > r->size - from)
		n = (size_t)(r->size - from);
	at = (size_t)(from % r->cap);
	first = r->cap - at < n ? r->cap - at : n;
	memcpy(out, r->buf + at, first);
	memcpy((char *)out + first, r->buf, n - first);
	return n;
}
