/*
 * test_evq.c - the event queues of core/evq.c, linked as they are: publish
 * and take, delivery from subscribe on, records kept across short reads,
 * the per-subscriber bound and its overflow record, EOF after the hub is
 * closed (once drained), per-viewer filtering, wake-ups, and publishers
 * racing a reader and an unsubscribe.
 *
 *	build/tests/test_evq
 */
#include "tests/unit/check.h"
#include "core/evq.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static atomic_int wakes;
static void count_wake(void *arg)
{
	atomic_fetch_add(&wakes, 1);
	if (arg)
		atomic_fetch_add((atomic_int *)arg, 1);
}

/* Everything a subscriber has now, as one string (static buffer). */
static const char *drain(struct evq_sub *s, ssize_t *last)
{
	static char out[1 << 21];
	size_t n = 0;
	ssize_t r;
	while ((r = evq_take(s, out + n, sizeof out - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	if (last)
		*last = r;
	return out;
}

static void test_basics(void)
{
	struct evq_hub h;
	evq_hub_init(&h);
	evq_publish_as(&h, "{\"before\":1}", EVQ_PUBLIC);
	atomic_int mine = 0;
	struct evq_sub *s = evq_subscribe(&h, count_wake, &mine, 0);
	CHECK("subscribe", s != NULL);
	char buf[64];
	CHECK("nothing yet: -EAGAIN (delivery starts at subscribe)", evq_take(s, buf, sizeof buf) == -EAGAIN);
	CHECK("nothing yet: not readable", !evq_readable(s));
	evq_publish_as(&h, "{\"a\":1}", EVQ_PUBLIC);
	CHECK("publish wakes the subscriber with its argument", mine == 1);
	CHECK("and it is readable", evq_readable(s));
	ssize_t last;
	CHECK("take gives the record with its newline", strcmp(drain(s, &last), "{\"a\":1}\n") == 0);
	CHECK("then -EAGAIN again", last == -EAGAIN);

	/* a record read in small pieces keeps its rest */
	evq_publish_as(&h, "hello world", EVQ_PUBLIC);
	evq_publish_as(&h, "second", EVQ_PUBLIC);
	char got[64] = "";
	size_t n = 0;
	ssize_t r;
	while ((r = evq_take(s, got + n, 1)) > 0)
		n += (size_t)r;
	got[n] = '\0';
	CHECK("one byte at a time gives every byte, in order", strcmp(got, "hello world\nsecond\n") == 0);
	CHECK("  (a 1-byte read never gives more)", n == 19);

	/* two subscribers each get their own copy */
	struct evq_sub *t = evq_subscribe(&h, NULL, NULL, 0);
	evq_publish_as(&h, "both", EVQ_PUBLIC);
	CHECK("a second subscriber gets the record", strcmp(drain(t, NULL), "both\n") == 0);
	CHECK("and so does the first", strcmp(drain(s, NULL), "both\n") == 0);
	evq_unsubscribe(t);
	evq_publish_as(&h, "after", EVQ_PUBLIC);
	CHECK("an unsubscribed one is gone, the other carries on", strcmp(drain(s, NULL), "after\n") == 0);
	evq_unsubscribe(s);
	evq_unsubscribe(NULL);
	CHECK("unsubscribe(NULL) is harmless", 1);
	evq_hub_close(&h);
}

static void test_bound(void)
{
	struct evq_hub h;
	evq_hub_init(&h);
	struct evq_sub *slow = evq_subscribe(&h, NULL, NULL, 0);
	struct evq_sub *fast = evq_subscribe(&h, NULL, NULL, 0);
	char line[1024];
	memset(line, 'x', sizeof line - 1);
	line[sizeof line - 1] = '\0';
	size_t per = sizeof line; /* with its newline */
	size_t fits = EVQ_MAX_QUEUED / per, total = fits + 100, fast_got = 0;
	char buf[4096];
	ssize_t r;
	for (size_t i = 0; i < total; i++) {
		evq_publish_as(&h, line, EVQ_PUBLIC);
		while ((r = evq_take(fast, buf, sizeof buf)) > 0)
			fast_got += (size_t)r;
	}
	CHECK("a reader that keeps up loses nothing", fast_got == total * per);
	ssize_t last;
	const char *all = drain(slow, &last);
	size_t len = strlen(all), records = 0;
	const char *ovf = strstr(all, "{\"type\":\"overflow\"");
	for (const char *p = all; p < all + len; p++)
		records += *p == '\n';
	CHECK("a slow reader holds at most EVQ_MAX_QUEUED bytes of records", len - (ovf ? strlen(ovf) : 0) <= EVQ_MAX_QUEUED);
	CHECK("then reads an overflow record", ovf != NULL);
	unsigned long dropped = 0;
	if (ovf)
		sscanf(ovf, "{\"type\":\"overflow\",\"dropped\":%lu}", &dropped);
	CHECK("which is the last thing it reads", ovf && strchr(ovf, '\n') == all + len - 1);
	CHECK("and counts exactly what was dropped", dropped > 0 && (records - 1) + dropped == total);
	CHECK("then nothing (-EAGAIN)", last == -EAGAIN);
	evq_publish_as(&h, "again", EVQ_PUBLIC);
	CHECK("and later records arrive again, with no second overflow", strcmp(drain(slow, NULL), "again\n") == 0);
	evq_unsubscribe(slow);
	evq_unsubscribe(fast);
	evq_hub_close(&h);
}

static void test_close(void)
{
	struct evq_hub h;
	evq_hub_init(&h);
	atomic_int w = 0;
	struct evq_sub *s = evq_subscribe(&h, count_wake, &w, 0);
	struct evq_sub *u = evq_subscribe(&h, count_wake, &w, 0);
	evq_publish_as(&h, "one", EVQ_PUBLIC);
	evq_publish_as(&h, "two", EVQ_PUBLIC);
	w = 0;
	evq_hub_close(&h);
	CHECK("closing the hub wakes every subscriber", w == 2);
	CHECK("a closed stream with unread records is readable", evq_readable(s));
	char buf[8];
	CHECK("records published before the close are still delivered",
	      evq_take(s, buf, 4) == 4 && memcmp(buf, "one\n", 4) == 0);
	ssize_t last;
	CHECK("all of them", strcmp(drain(s, &last), "two\n") == 0);
	CHECK("then EOF (0), not -EAGAIN", last == 0);
	CHECK("and EOF again", evq_take(s, buf, sizeof buf) == 0);
	CHECK("EOF is readable (poll says so)", evq_readable(s));
	evq_publish_as(&h, "late", EVQ_PUBLIC);
	CHECK("a publish after the close reaches nobody", strcmp(drain(u, &last), "one\ntwo\n") == 0 && last == 0);
	struct evq_sub *v = evq_subscribe(&h, NULL, NULL, 0);
	CHECK("subscribing to a closed hub gives EOF at once", v && evq_take(v, buf, sizeof buf) == 0);
	evq_unsubscribe(s);
	evq_unsubscribe(u);
	evq_unsubscribe(v);
	CHECK("unsubscribe after the close is harmless", 1);
}

static void test_viewers(void)
{
	struct evq_hub h;
	evq_hub_init(&h);
	struct evq_sub *root = evq_subscribe(&h, count_wake, NULL, 0);
	struct evq_sub *a = evq_subscribe(&h, count_wake, NULL, 1000);
	struct evq_sub *b = evq_subscribe(&h, count_wake, NULL, 2000);
	int before = atomic_load(&wakes);
	evq_publish_as(&h, "of-a", 1000);
	CHECK("a record of uid 1000 wakes only those who may see it", wakes - before == 2);
	evq_publish_as(&h, "of-b", 2000);
	evq_publish_as(&h, "public", EVQ_PUBLIC);
	evq_publish_as(&h, "of-root", 0);
	CHECK("root sees everything", strcmp(drain(root, NULL), "of-a\nof-b\npublic\nof-root\n") == 0);
	CHECK("uid 1000 sees its own and public records only", strcmp(drain(a, NULL), "of-a\npublic\n") == 0);
	CHECK("uid 2000 sees its own and public records only", strcmp(drain(b, NULL), "of-b\npublic\n") == 0);
	evq_unsubscribe(root);
	evq_unsubscribe(a);
	evq_unsubscribe(b);
	evq_hub_close(&h);
}

/* Publishers racing a reader, a subscriber coming and going, and a close. */
enum { PUBLISHERS = 4, PER_PUBLISHER = 20000 };
static struct evq_hub race_hub;
static atomic_int publishing;

static void *publisher(void *arg)
{
	long id = (long)arg;
	char line[64];
	for (int i = 0; i < PER_PUBLISHER; i++) {
		snprintf(line, sizeof line, "p%ld-%d", id, i);
		evq_publish_as(&race_hub, line, (uid_t)(1000 + id % 2));
	}
	atomic_fetch_sub(&publishing, 1);
	return NULL;
}

static void *churner(void *arg)
{
	(void)arg;
	char buf[256];
	while (atomic_load(&publishing) > 0) {
		struct evq_sub *s = evq_subscribe(&race_hub, NULL, NULL, 0);
		for (int i = 0; i < 10; i++)
			evq_take(s, buf, sizeof buf);
		evq_unsubscribe(s);
	}
	return NULL;
}

static void test_race(void)
{
	evq_hub_init(&race_hub);
	struct evq_sub *s = evq_subscribe(&race_hub, NULL, NULL, 0);
	pthread_t p[PUBLISHERS], c;
	atomic_store(&publishing, PUBLISHERS);
	pthread_create(&c, NULL, churner, NULL);
	for (long i = 0; i < PUBLISHERS; i++)
		pthread_create(&p[i], NULL, publisher, (void *)i);
	int next[PUBLISHERS] = {0}, in_order = 1, lines = 0;
	unsigned long dropped = 0;
	char buf[4096], rec[128];
	size_t rn = 0;
	for (;;) {
		int done = atomic_load(&publishing) == 0;
		ssize_t r = evq_take(s, buf, sizeof buf);
		if (r == -EAGAIN && done)
			break;
		for (ssize_t i = 0; i < r; i++) {
			if (buf[i] != '\n') {
				if (rn < sizeof rec - 1)
					rec[rn++] = buf[i];
				continue;
			}
			rec[rn] = '\0';
			rn = 0;
			long id;
			int n;
			unsigned long d;
			if (sscanf(rec, "p%ld-%d", &id, &n) == 2 && id >= 0 && id < PUBLISHERS) {
				if (n < next[id])
					in_order = 0;
				next[id] = n + 1;
				lines++;
			} else if (sscanf(rec, "{\"type\":\"overflow\",\"dropped\":%lu}", &d) == 1) {
				dropped += d;
			} else {
				in_order = 0;
			}
		}
	}
	for (int i = 0; i < PUBLISHERS; i++)
		pthread_join(p[i], NULL);
	pthread_join(c, NULL);
	CHECK("4 racing publishers: each one's records arrive whole and in order", in_order);
	CHECK("every record is delivered or counted as dropped",
	      (unsigned long)lines + dropped == (unsigned long)PUBLISHERS * PER_PUBLISHER);
	evq_hub_close(&race_hub);
	CHECK("a closed hub ends the reader with EOF", evq_take(s, buf, sizeof buf) == 0);
	evq_unsubscribe(s);
}

int main(void)
{
	test_basics();
	test_bound();
	test_close();
	test_viewers();
	test_race();
	return check_done();
}
