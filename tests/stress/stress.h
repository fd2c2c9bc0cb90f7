/*
 * stress.h - what the two halves of the FUSE stress tool share: stress.c
 * (the worker processes and their random operations on the mount) and
 * watch.c (main: the watcher, the desktop killer, the end, the report).
 *
 *	stress_init(mnt, qemu, NULL);                   before any fork
 *	if (fork() == 0) stress_worker_process(uid, n, seed);
 *	... stress_sh->stop = 1; the counters are in stress_sh ...
 */
#ifndef DESKFS_STRESS_H
#define DESKFS_STRESS_H

#include <stdatomic.h>

enum stress_op {
	OP_MKDIR, OP_RMDIR, OP_READ, OP_READ_NB, OP_EVENTS_NB, OP_EVENTS_BLOCK, OP_POLL,
	OP_ACT_GOOD, OP_ACT_BAD, OP_SPLIT, OP_HUGE, OP_GCTL, OP_SCTL, OP_DUPRACE,
	OP_READDIR, OP_STAT, OP_PROCS_START, OP_PROCS_READ, OP_PROCS_EXIT, OP_PROCS_CTL,
	OP_PROCS_STDIN, OP_PROCS_RMDIR, OP_FILES_RW, OP_FILES_NS, OP_CKPT, OP_CLOSE, OP_N
};
extern const char *const stress_op_name[OP_N];

#define STRESS_NERR 134 /* errno counters; [0] holds any larger errno */

/* Shared by every process (MAP_SHARED, mapped before the forks). */
struct stress_shared {
	atomic_int stop;
	atomic_ulong ok[OP_N];
	atomic_ulong err[OP_N][STRESS_NERR];
	atomic_ulong by_user[2]; /* operations done as root, as the other uid */
};
extern struct stress_shared *stress_sh;

/* 0, or -1 with errno. only: NULL, or a list of operation names
 * (stress_op_name, comma-separated) to do nothing but those. */
int stress_init(const char *mnt, int qemu, const char *only);
/* Becomes uid (unless 0), runs nthreads random workers until stop, _exits. */
void stress_worker_process(int uid, int nthreads, unsigned seed) __attribute__((noreturn));

#endif
