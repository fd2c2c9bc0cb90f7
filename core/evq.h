/*
 * evq.h - event streams: a hub publishes JSON lines, each subscriber (one
 * per open of an `events` file) keeps its own bounded queue of unread
 * bytes. Delivery starts at subscribe. A closed hub ends its subscribers
 * with EOF once they have drained.
 *
 *	struct evq_sub *sub = evq_subscribe(&s->events, wake_fn, handle);
 *	evq_publish_as(&s->events, "{\"type\":\"state\"}", owner);   -> wake_fn(handle)
 *	n = evq_take(sub, dst, size);   >0 bytes, 0 EOF, -EAGAIN nothing yet
 *	evq_unsubscribe(sub);
 *
 * Locking: one global mutex guards hub membership; each subscriber has its
 * own lock for its queue. wake() is called with the global lock held and
 * no subscriber lock; it may call evq_take() but not evq_publish_as().
 * A subscriber whose queue is full drops new records and later reads a
 * {"type":"overflow","dropped":N} record in their place.
 */
#ifndef DESKFS_EVQ_H
#define DESKFS_EVQ_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

#define EVQ_MAX_QUEUED (1u << 20)       /* bytes of unread records per subscriber */
#define EVQ_MAX_USER_QUEUED (16u << 20) /* ... per viewing uid, all its subscribers */

typedef void (*evq_wake_fn)(void *arg);

struct evq_sub;

struct evq_hub {
	struct evq_sub *subs; /* protected by the global evq lock */
	int closed;           /* protected by the global evq lock */
};

void evq_hub_init(struct evq_hub *h);
/* Ends every subscriber (EOF after drain) and detaches them. */
void evq_hub_close(struct evq_hub *h);
/* line without its newline; one is added. Only subscribers whose viewer is
 * root or owner see it (EVQ_PUBLIC: all). */
#define EVQ_PUBLIC ((uid_t)-1)
void evq_publish_as(struct evq_hub *h, const char *line, uid_t owner);

/* viewer: the uid reading (root sees everything). */
struct evq_sub *evq_subscribe(struct evq_hub *h, evq_wake_fn wake, void *arg, uid_t viewer);
void evq_unsubscribe(struct evq_sub *sub);
ssize_t evq_take(struct evq_sub *sub, char *dst, size_t max);
int evq_readable(struct evq_sub *sub); /* 1 when a read would not block */
size_t evq_user_queued(uid_t uid);     /* bytes held for uid's readers (tests) */

#endif
