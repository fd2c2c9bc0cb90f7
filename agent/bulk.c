/*
 * bulk.c - the agent's end of the bulk channel of files/ (common/bulk_proto.h):
 * in a VM with a virtio-serial port named deskfs.bulk, one thread of its own
 * serves large reads of files/ on it, and writes whose bytes the daemon put
 * in the shared window (an ivshmem-plain's BAR 2), with the files'
 * credentials (ident).
 *
 *	struct bulk *b;
 *	bulk_start(&b, &id);   no port (not a VM, an old VMM): nothing runs, 0
 *	...
 *	bulk_stop(b);
 *
 * The thread never touches the HTTP server, the runners or X: the other
 * services never wait behind it (under TCG they share the one vCPU, no more).
 * One request at a time, in order: a read of at most BULK_LEN_MAX into one
 * buffer, kept for the next (bounded memory). While the host end is not
 * connected the port reads EOF and polls POLLHUP: the thread looks again
 * after 100 ms, then less often up to 800 ms (a stop answers at once), and whatever frame it was in the
 * middle of is dropped.
 */
#include "agent/bulk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "agent/files.h"
#include "agent/ident.h"
#include "common/bulk_proto.h"

#define BULK_PORT_NAME "deskfs.bulk"
#define IDLE_MS 100
#define IDLE_MAX_MS 800

struct bulk {
	pthread_t thread;
	int port;   /* the virtio-serial port; the thread's */
	int stopfd; /* eventfd: bulk_stop */
	const struct ident *id;
	char *buf; /* BULK_LEN_MAX, the thread's */
	char *shm; /* the window of writes (ivshmem BAR 2), or NULL */
	size_t shm_size;
};

/* /dev/vportNpM of the port named name, from sysfs; 0 or -ENOENT. */
static int find_port(const char *name, char *dev, size_t len)
{
	DIR *d = opendir("/sys/class/virtio-ports");
	struct dirent *e;
	char p[512], got[64];
	int rc = -ENOENT;

	if (!d)
		return -ENOENT;
	while (rc < 0 && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "/sys/class/virtio-ports/%s/name", e->d_name);
		FILE *f = fopen(p, "re");
		if (!f)
			continue;
		if (fgets(got, sizeof got, f)) {
			got[strcspn(got, "\n")] = 0;
			if (!strcmp(got, name)) {
				snprintf(dev, len, "/dev/%s", e->d_name);
				rc = 0;
			}
		}
		fclose(f);
	}
	closedir(d);
	return rc;
}

/* Map the window of writes: the ivshmem-plain device's BAR 2 (1af4:1110),
 * through sysfs (no driver needed). Without it, writes go by HTTP. */
static void map_window(struct bulk *b)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *e;
	char p[512], v[32], dv[32];

	while (d && !b->shm && (e = readdir(d))) {
		FILE *f;
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "/sys/bus/pci/devices/%s/vendor", e->d_name);
		v[0] = dv[0] = 0;
		if ((f = fopen(p, "re"))) {
			if (!fgets(v, sizeof v, f))
				v[0] = 0;
			fclose(f);
		}
		snprintf(p, sizeof p, "/sys/bus/pci/devices/%s/device", e->d_name);
		if ((f = fopen(p, "re"))) {
			if (!fgets(dv, sizeof dv, f))
				dv[0] = 0;
			fclose(f);
		}
		if (strncmp(v, "0x1af4", 6) || strncmp(dv, "0x1110", 6))
			continue;
		snprintf(p, sizeof p, "/sys/bus/pci/devices/%s/enable", e->d_name);
		int fd = open(p, O_WRONLY | O_CLOEXEC); /* memory decoding on */
		if (fd >= 0) {
			if (write(fd, "1", 1) < 0)
				perror("deskfs-agent: bulk: enable the window");
			close(fd);
		}
		snprintf(p, sizeof p, "/sys/bus/pci/devices/%s/resource2", e->d_name);
		struct stat st;
		fd = open(p, O_RDWR | O_CLOEXEC);
		if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0) {
			void *m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
			if (m != MAP_FAILED) {
				b->shm = m;
				b->shm_size = (size_t)st.st_size;
			}
		}
		if (fd >= 0)
			close(fd);
	}
	if (d)
		closedir(d);
}

/* 1: stop asked; waits up to ms for it. */
static int stop_wait(struct bulk *b, int ms)
{
	struct pollfd p = {b->stopfd, POLLIN, 0};
	return poll(&p, 1, ms) > 0;
}

/* Exactly n bytes: 0, -EPIPE (the host end went: EOF), -ECANCELED (stop), -errno. */
static int read_full(struct bulk *b, void *dst, size_t n)
{
	char *p = dst;
	while (n) {
		struct pollfd pf[2] = {{b->port, POLLIN, 0}, {b->stopfd, POLLIN, 0}};
		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			return -errno;
		if (pf[1].revents)
			return -ECANCELED;
		ssize_t r = read(b->port, p, n);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EPIPE;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* All of iov to the port: 0 or -errno (a write while the host end is gone is
 * dropped by QEMU: nothing to do about it, the daemon asks again). */
static int write_full(struct bulk *b, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t w = writev(b->port, iov, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) { /* the queue to the host is full */
			struct pollfd pf[2] = {{b->port, POLLOUT, 0}, {b->stopfd, POLLIN, 0}};
			if (poll(pf, 2, -1) < 0 && errno != EINTR)
				return -errno;
			if (pf[1].revents)
				return -ECANCELED;
			if (pf[0].revents & (POLLHUP | POLLERR))
				return -EPIPE; /* the host end went: the answer is lost */
			continue;
		}
		if (w < 0)
			return -errno;
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/* The next request's header: scans for the magic (a frame cut by a
 * disconnect, or old bytes, are skipped). */
static int read_header(struct bulk *b, struct bulk_req *rq)
{
	int rc = read_full(b, rq, sizeof *rq);
	while (rc == 0 && rq->magic != BULK_MAGIC_REQ) {
		memmove(rq, (char *)rq + 1, sizeof *rq - 1);
		rc = read_full(b, (char *)rq + sizeof *rq - 1, 1);
	}
	return rc;
}

static int answer_w(struct bulk *b, uint64_t id, int err, const void *data, size_t len,
                    size_t wlen, uint64_t size)
{
	struct bulk_ans a = {BULK_MAGIC_ANS, (uint32_t)err, id, (uint32_t)len, (uint32_t)wlen, size};
	struct iovec iov[2] = {{&a, sizeof a}, {(void *)data, len}};
	return write_full(b, iov, len ? 2 : 1);
}

static int answer(struct bulk *b, uint64_t id, int err, const void *data, size_t len,
                  uint64_t size)
{
	return answer_w(b, id, err, data, len, 0, size);
}

static int serve_read(struct bulk *b, const struct bulk_req *rq, const char *path)
{
	struct stat st;
	size_t got = 0;
	int window = rq->shm_off != BULK_NO_WINDOW;
	char *dst = b->buf;
	int fd, rc;

	if (window && (!b->shm || rq->shm_off > b->shm_size || rq->len > b->shm_size - rq->shm_off))
		return answer(b, rq->id, EINVAL, NULL, 0, 0);
	if (window)
		dst = b->shm + rq->shm_off;
	rc = files_open_regular(b->id, path, O_RDONLY, &fd, &st);
	if (rc < 0)
		return answer(b, rq->id, -rc, NULL, 0, 0);
	while (got < rq->len) {
		ssize_t n = pread(fd, dst + got, rq->len - got, (off_t)(rq->off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (rc < 0)
		return answer(b, rq->id, -rc, NULL, 0, 0);
	if (window)
		return answer_w(b, rq->id, 0, NULL, 0, got, (uint64_t)st.st_size);
	return answer(b, rq->id, 0, b->buf, got, (uint64_t)st.st_size);
}

static int serve_write(struct bulk *b, const struct bulk_req *rq, const char *path)
{
	struct stat st;
	size_t done = 0;
	int fd, rc;

	if (!b->shm || rq->shm_off > b->shm_size || rq->len > b->shm_size - rq->shm_off)
		return answer(b, rq->id, EINVAL, NULL, 0, 0);
	rc = files_open_regular(b->id, path, O_WRONLY, &fd, &st);
	if (rc < 0)
		return answer(b, rq->id, -rc, NULL, 0, 0);
	while (done < rq->len) {
		ssize_t n = pwrite(fd, b->shm + rq->shm_off + done, rq->len - done,
		                   (off_t)(rq->off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			break;
		}
		done += (size_t)n;
	}
	close(fd);
	if (rc < 0 && done == 0)
		return answer(b, rq->id, -rc, NULL, 0, 0);
	return answer(b, rq->id, 0, NULL, 0, done);
}

/* One request: 0, or what read_full says. */
static int serve_one(struct bulk *b)
{
	struct bulk_req rq;
	char path[BULK_PATH_MAX + 1];
	int rc = read_header(b, &rq);

	if (rc < 0)
		return rc;
	if (rq.op == BULK_HELLO && rq.pathlen == 0)
		return answer(b, rq.id, 0, NULL, 0, b->shm ? BULK_F_WRITE : 0) == -ECANCELED
		           ? -ECANCELED
		           : 0;
	/* (an answer that could not go: the daemon's wait for it ends in a timeout) */
	if ((rq.op != BULK_READ && rq.op != BULK_WRITE) || rq.pathlen == 0 || rq.pathlen > BULK_PATH_MAX ||
	    rq.len > BULK_LEN_MAX)
		return 0; /* not a frame after all: the scan goes on from the next one */
	if ((rc = read_full(b, path, rq.pathlen)) < 0)
		return rc;
	path[rq.pathlen] = 0;
	if (path[0] != '/' || memchr(path, 0, rq.pathlen))
		rc = answer(b, rq.id, EINVAL, NULL, 0, 0);
	else if (rq.op == BULK_WRITE)
		rc = serve_write(b, &rq, path);
	else
		rc = serve_read(b, &rq, path);
	return rc == -ECANCELED ? rc : 0; /* a failed answer: the daemon times out, asks again */
}

static void *bulk_main(void *arg)
{
	struct bulk *b = arg;

	if (ident_enter(b->id, 1) < 0) {
		fprintf(stderr, "deskfs-agent: bulk: cannot take the files' credentials\n");
		return NULL;
	}
	int idle = IDLE_MS;
	for (;;) {
		int rc = serve_one(b);
		if (rc == -ECANCELED)
			break;
		if (rc == 0) {
			idle = IDLE_MS;
			continue;
		}
		/* the host end is away (no daemon yet): look again soon, less often
		 * the longer it stays away (the daemon's greeting waits 2 s) */
		if (stop_wait(b, idle))
			break;
		idle = idle * 2 > IDLE_MAX_MS ? IDLE_MAX_MS : idle * 2;
	}
	return NULL;
}

int bulk_start(struct bulk **out, const struct ident *id)
{
	char dev[300];
	struct bulk *b;

	*out = NULL;
	if (find_port(BULK_PORT_NAME, dev, sizeof dev) < 0)
		return 0;
	b = calloc(1, sizeof *b);
	if (!b)
		return -ENOMEM;
	b->id = id;
	b->buf = malloc(BULK_LEN_MAX);
	b->port = open(dev, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	b->stopfd = eventfd(0, EFD_CLOEXEC);
	if (b->buf && b->port >= 0)
		map_window(b);
	if (!b->buf || b->port < 0 || b->stopfd < 0 ||
	    pthread_create(&b->thread, NULL, bulk_main, b) != 0) {
		int rc = b->port < 0 ? -errno : -ENOMEM;
		if (b->port >= 0)
			close(b->port);
		if (b->stopfd >= 0)
			close(b->stopfd);
		free(b->buf);
		free(b);
		return rc;
	}
	fprintf(stderr, "deskfs-agent: bulk: serving reads of files on %s, writes %s\n", dev,
	        b->shm ? "through the shared window" : "by HTTP (no window)");
	*out = b;
	return 0;
}

void bulk_stop(struct bulk *b)
{
	if (!b)
		return;
	uint64_t one = 1;
	if (write(b->stopfd, &one, sizeof one) < 0)
		perror("deskfs-agent: bulk: stop");
	pthread_join(b->thread, NULL);
	close(b->port);
	close(b->stopfd);
	if (b->shm)
		munmap(b->shm, b->shm_size);
	free(b->buf);
	free(b);
}
