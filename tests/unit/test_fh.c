/*
 * test_fh.c - the file-handle table of fs/fh.c, linked as it is: add, hold,
 * drop and close; ids that go stale when their slot is reused; the object
 * freed exactly once, by its last reference, wherever that is; and threads
 * holding, using and closing handles at once (run it under SANITIZE=1 to
 * have ASan watch the races too).
 *
 *	build/tests/test_fh
 */
#include "tests/unit/check.h"
#include "fs/fh.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>


#define ALIVE 0x600dcafeu
#define DEAD 0xdeadbeefu

struct obj {
	atomic_uint magic;
	atomic_int n;
};

static atomic_int frees, bad_frees;

static struct obj *obj_new(int n)
{
	struct obj *o = malloc(sizeof *o);
	atomic_init(&o->magic, ALIVE);
	atomic_init(&o->n, n);
	return o;
}

static void obj_free(void *p)
{
	struct obj *o = p;
	if (atomic_exchange(&o->magic, DEAD) != ALIVE)
		atomic_fetch_add(&bad_frees, 1); /* freed twice */
	atomic_fetch_add(&frees, 1);
	free(o);
}

static void test_basics(void)
{
	int f0 = frees;
	struct obj *o = obj_new(1);
	uint64_t id = fs_fh_add(o, obj_free);
	CHECK("add gives a non-zero id", id != 0);
	struct fs_fh *r = fs_fh_hold(id);
	CHECK("hold finds it", r != NULL);
	CHECK("and gives the object back", r && fs_fh_obj(r) == o);
	fs_fh_drop(r);
	CHECK("drop of a hold does not free it", frees == f0);
	fs_fh_close(id);
	CHECK("close frees it (the table's reference was the last)", frees == f0 + 1);
	CHECK("a closed id is not found", fs_fh_hold(id) == NULL);
	fs_fh_close(id);
	CHECK("a second close of the same id frees nothing", frees == f0 + 1 && bad_frees == 0);
	CHECK("id 0 is never found", fs_fh_hold(0) == NULL);
	CHECK("a made-up id is not found", fs_fh_hold(((uint64_t)7 << 32) | 99999) == NULL);
	fs_fh_drop(NULL);
	CHECK("drop(NULL) is harmless", 1);
}

static void test_last_reference(void)
{
	int f0 = frees;
	struct obj *o = obj_new(2);
	uint64_t id = fs_fh_add(o, obj_free);
	struct fs_fh *r1 = fs_fh_hold(id), *r2 = fs_fh_hold(id);
	fs_fh_close(id); /* RELEASE while two operations still run */
	CHECK("close while held: the object lives on", frees == f0 && atomic_load(&o->magic) == ALIVE);
	CHECK("but the id is gone for new operations", fs_fh_hold(id) == NULL);
	fs_fh_drop(r1);
	CHECK("it lives until the last hold is dropped", frees == f0 && r2 && fs_fh_obj(r2) == o);
	fs_fh_drop(r2);
	CHECK("the last drop frees it, once", frees == f0 + 1 && bad_frees == 0);
}

static void test_reuse(void)
{
	struct obj *a = obj_new(3), *b = obj_new(4);
	uint64_t ia = fs_fh_add(a, obj_free);
	fs_fh_close(ia);
	uint64_t ib = fs_fh_add(b, obj_free);
	CHECK("a freed slot is reused (same slot, new id)",
	      (ib & 0xffffffffu) == (ia & 0xffffffffu) && ib != ia);
	CHECK("the old id does not reach the new object", fs_fh_hold(ia) == NULL);
	fs_fh_close(ia);
	struct fs_fh *r = fs_fh_hold(ib);
	CHECK("a close with the old id leaves the new one alone", r && fs_fh_obj(r) == b);
	fs_fh_drop(r);
	fs_fh_close(ib);

	/* growth: many at once, all still found after the table grows */
	enum { N = 1000 };
	static uint64_t ids[N];
	static struct obj *objs[N];
	int f0 = frees, found = 0;
	for (int i = 0; i < N; i++) {
		objs[i] = obj_new(i);
		ids[i] = fs_fh_add(objs[i], obj_free);
	}
	for (int i = 0; i < N; i++) {
		struct fs_fh *h = fs_fh_hold(ids[i]);
		found += h && fs_fh_obj(h) == objs[i];
		fs_fh_drop(h);
	}
	CHECK("1000 handles at once: each id finds its own object", found == N);
	for (int i = 0; i < N; i += 2)
		fs_fh_close(ids[i]);
	found = 0;
	for (int i = 0; i < N; i++) {
		struct fs_fh *h = fs_fh_hold(ids[i]);
		found += (i % 2 == 0) ? h == NULL : (h && fs_fh_obj(h) == objs[i]);
		fs_fh_drop(h);
	}
	CHECK("closing every other one leaves the rest reachable", found == N);
	for (int i = 1; i < N; i += 2)
		fs_fh_close(ids[i]);
	CHECK("and every object was freed once", frees == f0 + N && bad_frees == 0);
}

/* Threads: holders use whatever id is in a shared slot while closers close
 * it and put a new handle there; the object must be alive whenever held. */
enum { SLOTS = 8, HOLDERS = 4, CLOSERS = 2, ROUNDS = 200000 };
static _Atomic uint64_t shared[SLOTS];
static atomic_int adds, stale, held_dead, running_closers;

static void *holder(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	while (atomic_load(&running_closers) > 0) {
		uint64_t id = atomic_load(&shared[rand_r(&seed) % SLOTS]);
		struct fs_fh *r = fs_fh_hold(id);
		if (!r) {
			atomic_fetch_add(&stale, 1);
			continue;
		}
		struct obj *o = fs_fh_obj(r);
		if (atomic_load(&o->magic) != ALIVE)
			atomic_fetch_add(&held_dead, 1);
		atomic_fetch_add(&o->n, 1); /* a write: ASan sees a use after free */
		fs_fh_drop(r);
	}
	return NULL;
}

static void *closer(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	for (int i = 0; i < ROUNDS / CLOSERS; i++) {
		int k = rand_r(&seed) % SLOTS;
		uint64_t nid = fs_fh_add(obj_new(i), obj_free);
		atomic_fetch_add(&adds, 1);
		uint64_t old = atomic_exchange(&shared[k], nid);
		fs_fh_close(old);
	}
	atomic_fetch_sub(&running_closers, 1);
	return NULL;
}

static void test_threads(void)
{
	int f0 = frees;
	for (int k = 0; k < SLOTS; k++) {
		shared[k] = fs_fh_add(obj_new(-1), obj_free);
		atomic_fetch_add(&adds, 1);
	}
	pthread_t h[HOLDERS], c[CLOSERS];
	atomic_store(&running_closers, CLOSERS);
	for (long i = 0; i < HOLDERS; i++)
		pthread_create(&h[i], NULL, holder, (void *)(i + 1));
	for (long i = 0; i < CLOSERS; i++)
		pthread_create(&c[i], NULL, closer, (void *)(i + 100));
	for (int i = 0; i < CLOSERS; i++)
		pthread_join(c[i], NULL);
	for (int i = 0; i < HOLDERS; i++)
		pthread_join(h[i], NULL);
	for (int k = 0; k < SLOTS; k++)
		fs_fh_close(shared[k]);
	printf("# %d handles added and closed under %d holder threads; %d holds found a stale id\n",
	       adds, HOLDERS, stale);
	CHECK("holders racing closers never see a freed object", held_dead == 0);
	CHECK("every object is freed exactly once", frees - f0 == adds && bad_frees == 0);
}

int main(void)
{
	test_basics();
	test_last_reference();
	test_reuse();
	test_threads();
	return check_done();
}
