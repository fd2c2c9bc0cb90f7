/*
 * bulk.h - the bulk channel of files/ in a VM (bulk.c; the frames are
 * common/bulk_proto.h): large reads over a virtio-serial port whose host
 * end is the unix socket BULK_SOCK_NAME in the session's state directory.
 *
 *	struct bulk *b = bulk_new("/var/lib/deskfs/v/bulk.sock");  nothing connects yet
 *	r = bulk_read(b, "/tmp/big", 0, 1 << 20, &out, intr, req);
 *	    0 (out: the bytes, short at EOF), a guest's -errno (-ENOENT, ...),
 *	    -EINTR (intr said so), or -ENOTCONN: no channel now, ask by HTTP
 *	r = bulk_write(b, "/tmp/big", 0, data, 1 << 20, &written, intr, req);
 *	    the same, the bytes crossing by a shared window (bulk.shm), where QEMU
 *	    has one; today it has none (providers/qemu_cmd.c says why: it broke
 *	    checkpoints on QEMU 7.2), so this answers -ENOTCONN and writes take HTTP
 *	bulk_free(b);                                              at the session's end
 *
 * bulk_read may be called from any thread, many at once; it holds no lock
 * across I/O (a channel thread does the I/O; see bulk.c).
 */
#ifndef DESKFS_BULK_H
#define DESKFS_BULK_H

#include <stddef.h>

#include "core/util.h"

#define BULK_SOCK_NAME "bulk.sock" /* QEMU listens there (providers/qemu_cmd.c) */
#define BULK_SHM_NAME "bulk.shm"   /* the window QEMU shares (ivshmem-plain) */

struct bulk;

struct bulk *bulk_new(const char *sock_path);
int bulk_read(struct bulk *b, const char *path, long long off, size_t len, struct buf *out,
	      int (*intr)(void *), void *arg);
/* len bytes (at most 1 MiB) at off, through the shared window: 0 with *written,
 * a guest's -errno, -EINTR, or -ENOTCONN (ask by HTTP). */
int bulk_write(struct bulk *b, const char *path, long long off, const void *data, size_t len,
	       size_t *written, int (*intr)(void *), void *arg);
void bulk_free(struct bulk *b);

#endif
