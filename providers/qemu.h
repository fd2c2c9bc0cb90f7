/*
 * qemu.h - what the two halves of provider "qemu" share: qemu_cmd.c finds
 * the binary and the guest, decides the accelerator and builds the command
 * line (also for --dry-run); qemu.c runs the VM's lifecycle over QMP.
 */
#ifndef DESKFS_QEMU_H
#define DESKFS_QEMU_H

#include <limits.h>
#include <stddef.h>

#define QEMU_GUEST_PORT 7070 /* the agent's port inside the guest */
#define QEMU_MAX_ARGS 96
/* files/'s bulk channel (core/bulk.h names its files in the state directory) */
#define QEMU_BULK_PORT "deskfs.bulk"  /* the virtserialport's name in the guest */
#define QEMU_BULK_SHM_SIZE (4u << 20) /* the window: four slots of 1 MiB */

struct sess_conf;

struct prov_qemu_assets {
	char qemu[PATH_MAX];   /* qemu-system-x86_64 */
	char bios[PATH_MAX];   /* qboot.rom, or "" for QEMU's default firmware */
	char guest[PATH_MAX];  /* the directory contrib/build-guest.sh made */
	char kernel[PATH_MAX]; /* guest/vmlinux */
	char initrd[PATH_MAX]; /* guest/initramfs.cpio */
	char base[PATH_MAX];   /* guest/base.img (read-only root disk), or "" for none */
	char tmpl[64];         /* the template's name (core/tmpl.h) */
	int memory_mb;         /* the template's memory: when conf->memory is 0 */
};

struct prov_qemu_accel {
	int kvm;       /* 1: -accel kvm -cpu host; 0: TCG */
	char why[400]; /* which, and why, in words */
};

/* Where the VM's files go; for --dry-run these are placeholders. */
struct prov_qemu_paths {
	char name[80];          /* the session's name, for -name */
	char qmp[PATH_MAX];     /* the daemon's listening QMP socket */
	char console[PATH_MAX]; /* serial console log */
	char token[PATH_MAX];   /* the session token, passed by fw_cfg */
	/* guest RAM (qemu_snap.c): a file, shared (share=on: the session's RAMFILE) or
	 * mapped privately (share=off: a checkpoint's ram, never written); "" for anonymous */
	char ram[PATH_MAX];
	int ram_shared;
	int incoming; /* 1: -incoming defer (a fork or restore loads its state over QMP) */
};

struct prov_qemu_cmd {
	const char *argv[QEMU_MAX_ARGS]; /* NULL-terminated; points into strs */
	char strs[QEMU_MAX_ARGS][PATH_MAX + 64];
	char append[512]; /* the kernel command line */
	int argc;
};

/* 0 if the binary and the guest are all there; else -ENOENT, why says what is missing.
 * The guest is template tmpl's ("" or "minimal": build/guest; core/tmpl.h);
 * a saved template boots its source template's kernel, initramfs and base. */
int prov_qemu_find_template(struct prov_qemu_assets *a, const char *tmpl, char *why, size_t len);
/* The same for the minimal guest. */
int prov_qemu_find_assets(struct prov_qemu_assets *a, char *why, size_t len);
/* The same for session s's template (its conf). */
struct sess;
int prov_qemu_sess_assets(struct sess *s, struct prov_qemu_assets *a, char *why, size_t len);
/* The VM's memory in MiB: the session's, or its template's default, or 256. */
int prov_qemu_memory(const struct sess_conf *conf, const struct prov_qemu_assets *a);
/* KVM if the CPU has vmx/svm and a vCPU really runs (probed once, bounded); else TCG. */
void prov_qemu_accel(struct prov_qemu_accel *out);
void prov_qemu_build_cmd(struct prov_qemu_cmd *c, const struct prov_qemu_assets *a,
                         const struct prov_qemu_accel *acc, const struct sess_conf *conf,
                         const struct prov_qemu_paths *p);
/* How long the guest may take to have its agent up: conf's boot_timeout, else a default. */
int prov_qemu_boot_timeout_ms(const struct sess_conf *conf, const struct prov_qemu_accel *acc);

/* qemu_snap.c: memory files, checkpoints, resuming from one. */
struct qmp;
struct sess;
struct derr;
/* The daemon's RAM directory on tmpfs (made 0700 and checked once; stale files gone)
 * and the RAMFILE of session name in it. */
int prov_qemu_ram_path(const char *name, char *out, size_t len, struct derr *e);
/* How a start lays out guest RAM: origin "" (boot) or a checkpoint dir; fills p->ram,
 * p->ram_shared, p->incoming; *ignore_shared: the migration capability the origin's
 * state was written with. */
int prov_qemu_snap_plan(const char *name, const char *origin, struct prov_qemu_paths *p,
                        int *ignore_shared, struct derr *e);
/* After QMP connects with -incoming defer: load origin/state, then run. */
int prov_qemu_snap_incoming(struct qmp *q, const char *origin, int ignore_shared,
                            unsigned timeout_ms, struct derr *e);
/* Capture the running VM into dir (state, and ram when its RAM is a shared file). */
int prov_qemu_snap_checkpoint(struct qmp *q, const char *dir, char *kind, size_t kindlen,
                              struct derr *e);

#endif
