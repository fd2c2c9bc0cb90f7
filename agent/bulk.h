/*
 * bulk.h - the agent's end of the bulk channel of files/ (bulk.c,
 * common/bulk_proto.h): large reads on a virtio-serial port, in a VM.
 *
 *	struct bulk *b;
 *	bulk_start(&b, &id);   0 (b NULL when there is no port), or -errno
 *	bulk_stop(b);          NULL: nothing
 */
#ifndef DESKFS_AGENT_BULK_H
#define DESKFS_AGENT_BULK_H

struct ident;
struct bulk;

int bulk_start(struct bulk **out, const struct ident *id);
void bulk_stop(struct bulk *b);

#endif
