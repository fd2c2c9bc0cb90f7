/*
 * qemu_snap.c - provider "qemu": guest RAM as a file, checkpoints, and
 * resuming from one (forks and restores). See issue10-design.md, decision 3.
 *
 *	$ mkdir /mnt/desk/vm1/checkpoints/c1         prov_qemu_snap_checkpoint
 *	$ echo 'create vm2 from=vm1/c1' > /mnt/desk/.ctl
 *	                                            prov_qemu_snap_plan + _incoming
 *
 * Memory. A cold-booted VM runs on RAMFILE, RAMDIR/NAME.ram, with
 * memory-backend-file share=on; RAMDIR is /dev/shm/deskfs-<hash of the
 * state directory>, made 0700 by the daemon and checked like the state
 * directory (ours, 0700, not a link). Its stale files (no session directory
 * of that name) go the first time it is used; a session's goes when it stops.
 *
 * Checkpoint (QEMU 7.2: no file: URI, no mapped-ram): QMP stop; capability
 * x-ignore-shared on; getfd (the daemon opens C/state O_EXCL|O_NOFOLLOW and
 * hands it over with SCM_RIGHTS: exec: is denied by -sandbox); migrate
 * fd:; wait for completed; copy RAMFILE sparsely (SEEK_DATA/SEEK_HOLE, all-
 * zero blocks skipped) to C/ram; cont. Only device state crosses the
 * migration stream (~0.3 MB). That is "mapped".
 *
 * A fork's RAM is a checkpoint's ram with share=off (MAP_PRIVATE, so its
 * unwritten pages are the page cache's, shared by every fork; C/ram is never
 * written). Its own checkpoints cannot copy a file, so RAM goes into the
 * stream: x-ignore-shared off, "stream", no C/ram.
 *
 * Resume: QEMU starts with -incoming defer; then x-ignore-shared as the state
 * was written (it changes the stream's format: both ends must agree),
 * getfd, migrate-incoming fd:, wait for completed, cont. A mapped
 * checkpoint resumes over C/ram (share=off, x-ignore-shared on); a stream
 * one into a fresh RAMFILE (share=on, x-ignore-shared off), so that its
 * next checkpoint is mapped again. Verified on QEMU 7.2: cold->mapped,
 * fork->stream, restore and fork of each; a stream written with
 * x-ignore-shared on does not load into a share=on block ("should not be
 * migrated"), which is why streams are written with it off.
 */
#include "providers/qemu.h"
#include "providers/qmp.h"
#include "core/host.h"
#include "core/util.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RAMDIR_BASE "/dev/shm"
#define MIGRATE_MS 60000
#define COPY_CHUNK (1 << 20)

/* FNV-1a of the state directory: one RAMDIR per state directory. */
static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* RAMFILEs whose session directory is gone (an earlier daemon's). */
static void ramdir_clean(const char *ramdir)
{
	DIR *d = opendir(ramdir);
	struct dirent *de;
	if (!d)
		return;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		char name[256], path[PATH_MAX + 300];
		struct stat st;
		if (n < 5 || strcmp(de->d_name + n - 4, ".ram") != 0 || n - 4 >= sizeof name)
			continue;
		snprintf(name, sizeof name, "%.*s", (int)(n - 4), de->d_name);
		snprintf(path, sizeof path, "%s/%s", host_statedir(), name);
		if (!util_name_valid(name) || lstat(path, &st) == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", ramdir, de->d_name);
		unlink(path);
	}
	closedir(d);
}

/* Make (or check) RAMDIR once per daemon. */
static int ramdir(char *out, size_t len, struct derr *e)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static char dir[PATH_MAX]; /* protected by lock: "" until made and checked */
	int r = 0;
	pthread_mutex_lock(&lock);
	if (!dir[0]) {
		char path[PATH_MAX];
		struct stat st;
		snprintf(path, sizeof path, "%s/deskfs-%016llx", RAMDIR_BASE,
		         (unsigned long long)fnv1a(host_statedir()));
		if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			r = -errno;
		} else {
			int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0)
				r = -errno;
			else if (fstat(fd, &st) < 0)
				r = -errno;
			else if (st.st_uid != geteuid() || (st.st_mode & 07777) != 0700)
				r = -EPERM;
			if (fd >= 0)
				close(fd);
		}
		if (r < 0) {
			derr_set(e, -r, "ram_dir",
			         "%s cannot be the VMs' memory directory (%s): it must be "
			         "ours, 0700 and not a link",
			         path, strerror(-r));
		} else {
			snprintf(dir, sizeof dir, "%s", path);
			ramdir_clean(dir);
		}
	}
	if (r == 0)
		snprintf(out, len, "%s", dir);
	pthread_mutex_unlock(&lock);
	return r;
}

int prov_qemu_ram_path(const char *name, char *out, size_t len, struct derr *e)
{
	char dir[PATH_MAX];
	int r = ramdir(dir, sizeof dir, e);
	if (r == 0)
		snprintf(out, len, "%s/%s.ram", dir, name);
	return r;
}

int prov_qemu_snap_plan(const char *name, const char *origin, struct prov_qemu_paths *p,
                        int *ignore_shared, struct derr *e)
{
	char ram[PATH_MAX + 8];
	int r = 0;
	*ignore_shared = 0;
	p->incoming = origin && *origin;
	snprintf(ram, sizeof ram, "%s/ram", p->incoming ? origin : "");
	if (p->incoming && access(ram, R_OK) == 0) { /* mapped: share its pages */
		snprintf(p->ram, sizeof p->ram, "%s", ram);
		p->ram_shared = 0;
		*ignore_shared = 1;
		return 0;
	}
	/* a boot, or a stream: the session's own RAMFILE, fresh */
	r = prov_qemu_ram_path(name, p->ram, sizeof p->ram, e);
	if (r == 0) {
		unlink(p->ram);
		p->ram_shared = 1;
	}
	return r;
}

static int set_ignore_shared(struct qmp *q, int on, struct derr *e)
{
	cJSON *args = cJSON_CreateObject();
	cJSON *caps = cJSON_AddArrayToObject(args, "capabilities");
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "capability", "x-ignore-shared");
	cJSON_AddBoolToObject(c, "state", on);
	cJSON_AddItemToArray(caps, c);
	int r = qmp_execute(q, "migrate-set-capabilities", args, 2000, NULL, e);
	cJSON_Delete(args);
	return r;
}

/* Hand fd to QEMU as "name" (getfd with SCM_RIGHTS). */
static int pass_fd(struct qmp *q, const char *name, int fd, struct derr *e)
{
	cJSON *args = cJSON_CreateObject();
	cJSON_AddStringToObject(args, "fdname", name);
	int r = qmp_execute_fd(q, "getfd", args, fd, 2000, NULL, e);
	cJSON_Delete(args);
	return r;
}

static int migrate_uri(struct qmp *q, const char *cmd, const char *uri, struct derr *e)
{
	cJSON *args = cJSON_CreateObject();
	cJSON_AddStringToObject(args, "uri", uri);
	int r = qmp_execute(q, cmd, args, 5000, NULL, e);
	cJSON_Delete(args);
	return r;
}

/* Poll query-migrate until completed (0) or failed, bounded. */
static int wait_migration(struct qmp *q, unsigned ms, const char *what, struct derr *e)
{
	uint64_t end = util_mono_ms() + ms;
	unsigned nap = 1;
	for (;;) {
		cJSON *ret = NULL;
		int r = qmp_execute(q, "query-migrate", NULL, 2000, &ret, e);
		if (r < 0)
			return r;
		const char *st = cJSON_GetStringValue(cJSON_GetObjectItem(ret, "status"));
		char why[300];
		snprintf(why, sizeof why, "%s",
		         cJSON_GetStringValue(cJSON_GetObjectItem(ret, "error-desc")) ?: "");
		int done = st && strcmp(st, "completed") == 0;
		int failed = st && (strcmp(st, "failed") == 0 || strcmp(st, "cancelled") == 0);
		cJSON_Delete(ret);
		if (done)
			return 0;
		if (failed)
			return derr_set(e, EIO, "migration_failed", "%s failed: %s", what,
			                why[0] ? why : "QEMU gives no reason (see artifacts/qemu.log)");
		if (util_mono_ms() >= end)
			return derr_set(e, ETIMEDOUT, "migration_timeout",
			                "%s did not complete within %u ms", what, ms);
		util_sleep_ms(nap);
		if (nap < 20)
			nap *= 2;
	}
}

int prov_qemu_snap_incoming(struct qmp *q, const char *origin, int ignore_shared,
                            unsigned timeout_ms, struct derr *e)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof path, "%s/state", origin);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return derr_set(e, errno, "checkpoint_missing", "cannot open %s: %s", path,
		                strerror(errno));
	int r = set_ignore_shared(q, ignore_shared, e);
	if (r == 0)
		r = pass_fd(q, "deskfs-in", fd, e);
	close(fd);
	if (r == 0)
		r = migrate_uri(q, "migrate-incoming", "fd:deskfs-in", e);
	if (r == 0)
		r = wait_migration(q, timeout_ms, "loading the checkpoint", e);
	if (r == 0)
		r = qmp_execute(q, "cont", NULL, 5000, NULL, e);
	return r;
}

/* src's data extents into dst (made here, 0600), skipping all-zero blocks: a sparse copy. */
static int copy_sparse(const char *src, const char *dst, struct derr *e)
{
	int in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), out = -1, r = 0;
	char *buf = malloc(COPY_CHUNK), *zero = calloc(1, 65536);
	struct stat st;
	if (in < 0 || !buf || !zero || fstat(in, &st) < 0) {
		r = in < 0 ? -errno : -ENOMEM;
		goto out;
	}
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0 || ftruncate(out, st.st_size) < 0) {
		r = -errno;
		goto out;
	}
	off_t pos = 0;
	while (pos < st.st_size) {
		off_t data = lseek(in, pos, SEEK_DATA);
		if (data < 0)
			break; /* ENXIO: no more data */
		off_t hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0)
			hole = st.st_size;
		for (off_t o = data; o < hole;) {
			size_t n = (size_t)(hole - o < COPY_CHUNK ? hole - o : COPY_CHUNK);
			ssize_t got = pread(in, buf, n, o);
			if (got <= 0) {
				r = got < 0 ? -errno : -EIO;
				goto out;
			}
			for (ssize_t b = 0; b < got; b += 65536) {
				size_t bl = (size_t)(got - b < 65536 ? got - b : 65536);
				if (memcmp(buf + b, zero, bl) == 0)
					continue;
				if (pwrite(out, buf + b, bl, o + b) != (ssize_t)bl) {
					r = -errno ?: -EIO;
					goto out;
				}
			}
			o += got;
		}
		pos = hole;
	}
out:
	if (r < 0)
		derr_set(e, -r, "checkpoint_copy", "copying %s to %s: %s", src, dst, strerror(-r));
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) < 0 && r == 0)
		r = derr_set(e, errno, "checkpoint_copy", "writing %s: %s", dst, strerror(errno));
	free(buf);
	free(zero);
	return r;
}

/* qom-get of /objects/ram's property (the backend's share and mem-path). */
static cJSON *ram_prop(struct qmp *q, const char *prop, struct derr *e)
{
	cJSON *args = cJSON_CreateObject(), *ret = NULL;
	cJSON_AddStringToObject(args, "path", "/objects/ram");
	cJSON_AddStringToObject(args, "property", prop);
	qmp_execute(q, "qom-get", args, 2000, &ret, e);
	cJSON_Delete(args);
	return ret;
}

int prov_qemu_snap_checkpoint(struct qmp *q, const char *dir, char *kind, size_t kindlen,
                              struct derr *e)
{
	char state[PATH_MAX + 16], ram[PATH_MAX + 16], ramfile[PATH_MAX] = "";
	struct derr ig = DERR_INIT;
	cJSON *share = ram_prop(q, "share", &ig), *mp = ram_prop(q, "mem-path", &ig);
	int mapped = cJSON_IsTrue(share) && cJSON_GetStringValue(mp);
	if (mapped)
		snprintf(ramfile, sizeof ramfile, "%s", cJSON_GetStringValue(mp));
	cJSON_Delete(share);
	cJSON_Delete(mp);
	snprintf(kind, kindlen, "%s", mapped ? "mapped" : "stream");
	snprintf(state, sizeof state, "%s/state", dir);
	snprintf(ram, sizeof ram, "%s/ram", dir);

	int fd = open(state, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return derr_set(e, errno, "checkpoint_io", "cannot create %s: %s", state,
		                strerror(errno));
	int r = qmp_execute(q, "stop", NULL, 5000, NULL, e);
	int stopped = r == 0;
	if (r == 0)
		r = set_ignore_shared(q, mapped, e);
	if (r == 0)
		r = pass_fd(q, "deskfs-out", fd, e);
	close(fd);
	if (r == 0)
		r = migrate_uri(q, "migrate", "fd:deskfs-out", e);
	if (r == 0)
		r = wait_migration(q, MIGRATE_MS, "the checkpoint's migration", e);
	if (r == 0 && mapped)
		r = copy_sparse(ramfile, ram, e);
	if (stopped) { /* the machine runs on whatever happened */
		struct derr ce = DERR_INIT;
		int rc = qmp_execute(q, "cont", NULL, 5000, NULL, &ce);
		if (r == 0 && rc < 0) {
			*e = ce;
			r = rc;
		}
	}
	return r;
}
