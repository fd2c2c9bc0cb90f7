/*
 * sock.c - the agent's listening socket, from a --listen spec: a unix
 * socket it creates (mode 0600 from birth), a TCP port it binds, or a
 * socket its parent bound and handed down (fd:N).
 *
 * See sock.h for usage.
 */
#include "agent/sock.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <unistd.h>

static int listen_unix(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	mode_t old;
	int fd, rc;

	if (strlen(path) >= sizeof sa.sun_path) {
		snprintf(err, errlen, "listen_failed: socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "listen_failed: %s exists and is not a socket", path);
			return -EEXIST;
		}
		unlink(path); /* stale socket of an earlier agent */
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "listen_failed: socket: %s", strerror(errno));
		return rc;
	}
	old = umask(0177); /* born 0600: no window where others could connect */
	rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (rc < 0 || chmod(path, 0600) < 0 || listen(fd, 64) < 0) {
		rc = -errno;
		snprintf(err, errlen, "listen_failed: %s: %s", path, strerror(errno));
		goto out_close_fd;
	}
	return fd;

out_close_fd:
	close(fd);
	return rc;
}

/* The port a TCP socket is bound to; 0 for other families. */
static int bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return 0;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

static int listen_tcp(const char *spec, int *port, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
	                         .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res, *ai;
	char host[256];
	const char *colon = strrchr(spec, ':'), *orig = spec;
	int fd = -1, one = 1, rc, saved = EADDRNOTAVAIL;
	size_t hl;

	if (!colon || !colon[1]) {
		snprintf(err, errlen, "listen_failed: want tcp:HOST:PORT, got tcp:%s", spec);
		return -EINVAL;
	}
	hl = (size_t)(colon - spec);
	if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']') {
		spec++;
		hl -= 2;
	}
	if (hl >= sizeof host)
		hl = sizeof host - 1;
	memcpy(host, spec, hl);
	host[hl] = 0;
	rc = getaddrinfo(hl ? host : NULL, colon + 1, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "listen_failed: %s: %s", host, gai_strerror(rc));
		return -EINVAL;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 64) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "listen_failed: tcp:%s: %s", orig, strerror(saved));
		return -saved;
	}
	*port = bound_port(fd);
	return fd;
}

/* fd:N - an inherited socket that must be a listening stream socket. */
static int listen_inherited(const char *spec, int *port, char *err, size_t errlen)
{
	char *end;
	long n;
	int type = 0, listening = 0, flags;
	socklen_t sl = sizeof type;

	errno = 0;
	n = strtol(spec, &end, 10);
	if (errno || end == spec || *end || n < 0 || n > 1 << 20) {
		snprintf(err, errlen, "listen_failed: want fd:N, got fd:%s", spec);
		return -EINVAL;
	}
	if (getsockopt((int)n, SOL_SOCKET, SO_TYPE, &type, &sl) < 0) {
		snprintf(err, errlen, "listen_failed: fd %ld is not a socket: %s", n,
		         strerror(errno));
		return -ENOTSOCK;
	}
	sl = sizeof listening;
	if (type != SOCK_STREAM ||
	    getsockopt((int)n, SOL_SOCKET, SO_ACCEPTCONN, &listening, &sl) < 0 || !listening) {
		snprintf(err, errlen, "listen_failed: fd %ld is not a listening stream socket", n);
		return -EINVAL;
	}
	flags = fcntl((int)n, F_GETFL);
	if (flags < 0 || fcntl((int)n, F_SETFL, flags | O_NONBLOCK) < 0 ||
	    fcntl((int)n, F_SETFD, FD_CLOEXEC) < 0) {
		snprintf(err, errlen, "listen_failed: fd %ld: %s", n, strerror(errno));
		return -errno;
	}
	*port = bound_port((int)n);
	return (int)n;
}

int sock_listen(const char *spec, int *port, const char **path, char *err, size_t errlen)
{
	*port = 0;
	*path = NULL;
	if (strncmp(spec, "unix:", 5) == 0) {
		int fd = listen_unix(spec + 5, err, errlen);
		if (fd >= 0)
			*path = spec + 5;
		return fd;
	}
	if (strncmp(spec, "tcp:", 4) == 0)
		return listen_tcp(spec + 4, port, err, errlen);
	if (strncmp(spec, "fd:", 3) == 0)
		return listen_inherited(spec + 3, port, err, errlen);
	snprintf(err, errlen, "listen_failed: --listen wants unix:PATH, tcp:HOST:PORT or fd:N");
	return -EINVAL;
}
