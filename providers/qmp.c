/*
 * qmp.c - see qmp.h. QMP is one JSON object per line in each direction;
 * replies carry back the "id" we sent, events carry "event".
 */
#include "providers/qmp.h"
#include "core/util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define QMP_LINE_MAX (256 * 1024)
#define QMP_MAX_EVENTS 16

struct qmp {
	pthread_mutex_t lock;
	int fd;                          /* protected by lock */
	char *rbuf;                      /* protected by lock: unread bytes */
	size_t rlen;                     /* protected by lock */
	unsigned next_id;                /* protected by lock */
	char events[QMP_MAX_EVENTS][32]; /* protected by lock: names seen */
	int nevents;                     /* protected by lock */
	char version[32];                /* immutable after accept */
};

int qmp_listen(const char *path, struct derr *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, r;
	if (strlen(path) >= sizeof sa.sun_path) {
		derr_set(e, 0, "qmp_socket", "%s is too long for a unix socket", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	unlink(path); /* a leftover of an earlier start of this session */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		derr_set(e, 0, "qmp_socket", "socket: %s", strerror(errno));
		return r;
	}
	mode_t old = umask(0177); /* born 0600: only the daemon's user may connect */
	r = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (r < 0 || listen(fd, 1) < 0) {
		r = -errno;
		derr_set(e, 0, "qmp_socket", "%s: %s", path, strerror(errno));
		close(fd);
		return r;
	}
	return fd;
}

static void note_event_locked(struct qmp *q, const char *name)
{
	for (int i = 0; i < q->nevents; i++)
		if (strcmp(q->events[i], name) == 0)
			return;
	if (q->nevents < QMP_MAX_EVENTS)
		snprintf(q->events[q->nevents++], sizeof q->events[0], "%s", name);
}

/* Next line as parsed JSON, waiting until deadline (monotonic ms). */
static int read_msg_locked(struct qmp *q, uint64_t deadline, cJSON **msg, struct derr *e)
{
	for (;;) {
		char *nl = q->rlen ? memchr(q->rbuf, '\n', q->rlen) : NULL;
		if (nl) {
			size_t n = (size_t)(nl - q->rbuf) + 1;
			*msg = cJSON_ParseWithLength(q->rbuf, n - 1);
			memmove(q->rbuf, q->rbuf + n, q->rlen - n);
			q->rlen -= n;
			if (!*msg) {
				derr_set(e, 0, "qmp_protocol",
				         "QEMU sent a line that is not JSON");
				return -EPROTO;
			}
			return 0;
		}
		if (q->rlen >= QMP_LINE_MAX) {
			derr_set(e, 0, "qmp_protocol", "a QMP line longer than %d bytes",
			         QMP_LINE_MAX);
			return -E2BIG;
		}
		int64_t left = (int64_t)(deadline - util_mono_ms());
		if (left <= 0) {
			derr_set(e, 0, "qmp_timeout",
			         "QEMU did not answer on its monitor in time");
			return -ETIMEDOUT;
		}
		struct pollfd p = {q->fd, POLLIN, 0};
		int n = poll(&p, 1, (int)left);
		if (n < 0 && errno != EINTR) {
			derr_set(e, 0, "qmp_io", "poll: %s", strerror(errno));
			return -errno;
		}
		if (n <= 0)
			continue;
		ssize_t got = read(q->fd, q->rbuf + q->rlen, QMP_LINE_MAX - q->rlen);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got <= 0) {
			derr_set(e, 0, "qmp_closed", "QEMU closed its monitor (it exited)");
			return -ECONNRESET;
		}
		q->rlen += (size_t)got;
	}
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The first byte of the line carries fd (SCM_RIGHTS); the rest as send_all. */
static int send_with_fd(int sock, const char *p, size_t n, int fd)
{
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {(void *)p, 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
	                    .msg_controllen = sizeof ctl};
	memset(ctl, 0, sizeof ctl);
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	ssize_t w;
	do
		w = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -errno;
	return send_all(sock, p + 1, n - 1);
}

int qmp_execute(struct qmp *q, const char *cmd, const cJSON *args, unsigned timeout_ms, cJSON **ret,
                struct derr *e)
{
	return qmp_execute_fd(q, cmd, args, -1, timeout_ms, ret, e);
}

int qmp_execute_fd(struct qmp *q, const char *cmd, const cJSON *args, int fd,
                   unsigned timeout_ms, cJSON **ret, struct derr *e)
{
	char id[24];
	int r;
	cJSON *req = cJSON_CreateObject();
	if (ret)
		*ret = NULL;
	pthread_mutex_lock(&q->lock);
	snprintf(id, sizeof id, "deskfs-%u", q->next_id++);
	cJSON_AddStringToObject(req, "execute", cmd);
	if (args)
		cJSON_AddItemToObject(req, "arguments", cJSON_Duplicate(args, 1));
	cJSON_AddStringToObject(req, "id", id);
	char *line = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	if (!line) {
		r = -ENOMEM;
		goto out_unlock;
	}
	size_t n = strlen(line);
	line[n] = '\n'; /* replaces the NUL: sent as a line */
	r = q->fd < 0  ? -ECONNRESET
	    : fd >= 0 ? send_with_fd(q->fd, line, n + 1, fd)
	              : send_all(q->fd, line, n + 1);
	free(line);
	if (r < 0) {
		derr_set(e, 0, "qmp_closed", "cannot send %s to QEMU: %s", cmd, strerror(-r));
		goto out_unlock;
	}
	uint64_t deadline = util_mono_ms() + timeout_ms;
	for (;;) {
		cJSON *msg;
		r = read_msg_locked(q, deadline, &msg, e);
		if (r < 0)
			break;
		const char *ev = cJSON_GetStringValue(cJSON_GetObjectItem(msg, "event"));
		const char *mid = cJSON_GetStringValue(cJSON_GetObjectItem(msg, "id"));
		if (ev) {
			note_event_locked(q, ev);
		} else if (mid && strcmp(mid, id) == 0) {
			cJSON *je = cJSON_GetObjectItem(msg, "error");
			if (je) {
				const char *desc =
				    cJSON_GetStringValue(cJSON_GetObjectItem(je, "desc"));
				derr_set(e, 0, "qmp_error", "%s: %s", cmd,
				         desc ? desc : "failed");
				r = -EIO;
			} else if (ret) {
				*ret = cJSON_DetachItemFromObject(msg, "return");
			}
			cJSON_Delete(msg);
			break;
		}
		/* else: the late reply of a command that timed out earlier */
		cJSON_Delete(msg);
	}
out_unlock:
	pthread_mutex_unlock(&q->lock);
	return r;
}

int qmp_accept(int lfd, unsigned timeout_ms, int (*alive)(void *), void *arg, struct qmp **out,
               struct derr *e)
{
	uint64_t end = util_mono_ms() + timeout_ms;
	struct qmp *q = NULL;
	cJSON *greet = NULL;
	int fd = -1, r;

	*out = NULL;
	while (fd < 0) {
		if (alive && !alive(arg)) {
			derr_set(e, 0, "qmp_cancelled",
			         "QEMU exited or the session stopped "
			         "before QEMU connected to its monitor");
			return -ECANCELED;
		}
		if (util_mono_ms() >= end) {
			derr_set(e, 0, "qmp_timeout",
			         "QEMU did not connect to its monitor "
			         "within %u ms",
			         timeout_ms);
			return -ETIMEDOUT;
		}
		struct pollfd p = {lfd, POLLIN, 0};
		if (poll(&p, 1, 20) > 0)
			fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	}
	q = calloc(1, sizeof *q);
	if (!q || !(q->rbuf = malloc(QMP_LINE_MAX))) {
		r = -ENOMEM;
		goto out_free;
	}
	pthread_mutex_init(&q->lock, NULL);
	q->fd = fd;
	fd = -1;
	pthread_mutex_lock(&q->lock);
	r = read_msg_locked(q, end + 2000, &greet, e);
	pthread_mutex_unlock(&q->lock);
	if (r < 0)
		goto out_free;
	cJSON *v = cJSON_GetObjectItem(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(greet, "QMP"), "version"), "qemu");
	if (!v) {
		derr_set(e, 0, "qmp_protocol", "QEMU's monitor did not greet with QMP");
		r = -EPROTO;
		goto out_free;
	}
	snprintf(q->version, sizeof q->version, "%d.%d.%d",
	         (int)cJSON_GetNumberValue(cJSON_GetObjectItem(v, "major")),
	         (int)cJSON_GetNumberValue(cJSON_GetObjectItem(v, "minor")),
	         (int)cJSON_GetNumberValue(cJSON_GetObjectItem(v, "micro")));
	r = qmp_execute(q, "qmp_capabilities", NULL, 2000, NULL, e);
	if (r < 0)
		goto out_free;
	*out = q;
	q = NULL;
out_free:
	cJSON_Delete(greet);
	if (fd >= 0)
		close(fd);
	qmp_free(q);
	return r;
}

int qmp_saw_event(struct qmp *q, const char *name)
{
	int seen = 0;
	pthread_mutex_lock(&q->lock);
	for (int i = 0; i < q->nevents && !seen; i++)
		seen = strcmp(q->events[i], name) == 0;
	pthread_mutex_unlock(&q->lock);
	return seen;
}

const char *qmp_version(const struct qmp *q)
{
	return q->version;
}

void qmp_free(struct qmp *q)
{
	if (!q)
		return;
	if (q->rbuf) { /* fully initialised */
		if (q->fd >= 0)
			close(q->fd);
		pthread_mutex_destroy(&q->lock);
	}
	free(q->rbuf);
	free(q);
}
