/*
 * svc_all.h - the agent's services (see svc.h for what a service is).
 * Each is a table of routes; main.c mounts them with their context and
 * the runner they work on.
 *
 *	health       GET  /v1/health          (struct desk; the HTTP thread, never waits)
 *	capture      GET  /v1/screenshot.png  (struct desk; X)
 *	input        POST /v1/actions         (struct desk; X)
 *	observe      GET  /v1/observation     (struct desk; X)
 *	procs        /v1/procs...             (struct procs; starts on the procs runner,
 *	                                       the rest on the HTTP thread, parked)
 *	files        /v1/files/...            (struct ident; the files runner)
 *	identity     POST /v1/identity        (struct svc_ident; the HTTP thread): a
 *	                                       resumed VM's new token, seed and clock
 */
#ifndef DESKFS_SVC_ALL_H
#define DESKFS_SVC_ALL_H

#include "agent/svc.h"

extern const struct svc_def svc_health;
extern const struct svc_def svc_capture;
extern const struct svc_def svc_input;
extern const struct svc_def svc_observe;
extern const struct svc_def svc_procs;
extern const struct svc_def svc_files;
extern const struct svc_def svc_ident;

struct http_server;
/* svc_ident's context: the server whose token it swaps (set once it runs). */
struct svc_ident {
	struct http_server *srv;
	int guest; /* --guest: a VM's agent, which may set the clock */
};

#endif
