/*
 * sock.h - the agent's listening socket, from its --listen spec:
 *
 *	unix:PATH        created here, mode 0600 (a stale socket there is replaced)
 *	tcp:HOST:PORT    bound here (PORT 0: the kernel picks one; *port says which)
 *	fd:N             inherited: already bound and listening, unix or TCP (the
 *	                 daemon binds it, then starts the agent as a user that
 *	                 could not have bound it)
 *
 *	int port; const char *path;
 *	int fd = sock_listen("unix:/run/x/agent.sock", &port, &path, err, sizeof err);
 *	... serve fd ...; if (path) unlink(path);   (only what sock_listen created)
 */
#ifndef DESKFS_SOCK_H
#define DESKFS_SOCK_H

#include <stddef.h>

/* The listening fd (non-blocking, close-on-exec); *port: the TCP port or 0;
 * *path: the unix socket created (to unlink at exit), or NULL. -errno with
 * err "listen_failed: ..." on failure. */
int sock_listen(const char *spec, int *port, const char **path, char *err, size_t errlen);

#endif
