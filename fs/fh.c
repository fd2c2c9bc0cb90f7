/*
 * fh.c - see fh.h. Ids are (generation << 32) | (slot + 1): a reused slot
 * never answers to an old id.
 */
#include "fs/fh.h"

#include <pthread.h>
#include <stdlib.h>

struct fs_fh {
	int refs; /* protected by table.lock */
	void *obj;
	void (*free_fn)(void *);
};

struct slot {
	struct fs_fh *r; /* NULL when free */
	uint32_t gen;
	uint32_t next_free; /* index + 1 of the next free slot, 0 for none */
};

static struct {
	pthread_mutex_t lock;
	struct slot *v; /* protected by lock */
	uint32_t n, cap, free_head;
} table = {.lock = PTHREAD_MUTEX_INITIALIZER};

uint64_t fs_fh_add(void *obj, void (*free_fn)(void *))
{
	struct fs_fh *r = malloc(sizeof *r);
	uint64_t id = 0;
	if (!r)
		return 0;
	r->refs = 1;
	r->obj = obj;
	r->free_fn = free_fn;
	pthread_mutex_lock(&table.lock);
	uint32_t i;
	if (table.free_head) {
		i = table.free_head - 1;
		table.free_head = table.v[i].next_free;
	} else {
		if (table.n == table.cap) {
			uint32_t cap = table.cap ? table.cap * 2 : 64;
			struct slot *v = realloc(table.v, cap * sizeof *v);
			if (!v)
				goto out_unlock;
			table.v = v;
			table.cap = cap;
		}
		i = table.n++;
		table.v[i].gen = 0;
	}
	table.v[i].r = r;
	table.v[i].gen++;
	id = ((uint64_t)table.v[i].gen << 32) | (uint64_t)(i + 1);
	r = NULL;
out_unlock:
	pthread_mutex_unlock(&table.lock);
	free(r);
	return id;
}

static struct slot *slot_of(uint64_t id)
{
	uint32_t i = (uint32_t)(id & 0xffffffffu);
	if (i == 0 || i > table.n || table.v[i - 1].gen != (uint32_t)(id >> 32) || !table.v[i - 1].r)
		return NULL;
	return &table.v[i - 1];
}

struct fs_fh *fs_fh_hold(uint64_t id)
{
	struct fs_fh *r = NULL;
	pthread_mutex_lock(&table.lock);
	struct slot *s = slot_of(id);
	if (s) {
		r = s->r;
		r->refs++;
	}
	pthread_mutex_unlock(&table.lock);
	return r;
}

void *fs_fh_obj(struct fs_fh *r)
{
	return r->obj;
}

void fs_fh_drop(struct fs_fh *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&table.lock);
	int last = --r->refs == 0;
	pthread_mutex_unlock(&table.lock);
	if (last) {
		r->free_fn(r->obj);
		free(r);
	}
}

void fs_fh_close(uint64_t id)
{
	struct fs_fh *r = NULL;
	pthread_mutex_lock(&table.lock);
	struct slot *s = slot_of(id);
	if (s) {
		r = s->r;
		s->r = NULL;
		s->next_free = table.free_head;
		table.free_head = (uint32_t)(s - table.v) + 1;
	}
	pthread_mutex_unlock(&table.lock);
	fs_fh_drop(r); /* the table's reference */
}
