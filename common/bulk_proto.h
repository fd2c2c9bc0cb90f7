/*
 * bulk_proto.h - the frames of the bulk channel of files/ in a VM: a
 * virtio-serial port (QEMU: virtserialport name=deskfs.bulk, its host end
 * the unix socket STATEDIR/NAME/bulk.sock) between the daemon (core/bulk.c)
 * and the agent (agent/bulk.c). It carries large reads of files/, the one
 * transfer that the guest's TCP stack makes slow under TCG (no checksum
 * offload with QEMU's user network: ~16 MB/s out of the guest, against
 * ~200 MB/s through the port). Everything else stays HTTP.
 *
 *	daemon -> agent   struct bulk_req, then pathlen bytes of path (no NUL)
 *	agent -> daemon   struct bulk_ans, then len bytes of data
 *
 * Both ends are little-endian x86-64 here; the fields are fixed-width.
 * HELLO (id: a nonce) is answered at once with the same id: after a
 * (re)connect the daemon ignores every byte before that answer (a guest's
 * answer cut by a disconnect, or one from before a restore), and the agent,
 * meeting a frame without its magic, scans forward for the next one. A
 * READ answers err (an errno, 0: ok), len bytes (short at end of file) and
 * the file's size.
 */
#ifndef DESKFS_BULK_PROTO_H
#define DESKFS_BULK_PROTO_H

#include <stdint.h>

#define BULK_MAGIC_REQ 0x31514244u /* "DBQ1" */
#define BULK_MAGIC_ANS 0x31414244u /* "DBA1" */
#define BULK_LEN_MAX (4u << 20)    /* bytes of one READ */
#define BULK_PATH_MAX 4096

enum { BULK_HELLO = 1, BULK_READ = 2, BULK_WRITE = 3 };
#define BULK_F_WRITE 1u /* HELLO's answer, in size: the agent has the window */
#define BULK_NO_WINDOW UINT64_MAX

struct bulk_req {
	uint32_t magic; /* BULK_MAGIC_REQ */
	uint32_t op;    /* BULK_HELLO, BULK_READ */
	uint64_t id;    /* echoed in the answer */
	uint64_t off;
	uint32_t len;     /* at most BULK_LEN_MAX */
	uint32_t pathlen; /* at most BULK_PATH_MAX */
	uint64_t shm_off; /* WRITE: where its len bytes are in the window; READ: where
			     to put them, or BULK_NO_WINDOW (they follow the answer) */
};

struct bulk_ans {
	uint32_t magic; /* BULK_MAGIC_ANS */
	uint32_t err;   /* 0, or an errno of the guest */
	uint64_t id;
	uint32_t len;  /* data bytes that follow */
	uint32_t wlen; /* READ into the window: bytes put there */
	uint64_t size; /* READ: the file's size; WRITE: bytes written; HELLO: BULK_F_* */
};

_Static_assert(sizeof(struct bulk_req) == 40, "bulk_req is 40 bytes");
_Static_assert(sizeof(struct bulk_ans) == 32, "bulk_ans is 32 bytes");

#endif
