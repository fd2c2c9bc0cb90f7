/*
 * svc_all.h - the agent's services (see svc.h for what a service is).
 * Each is a table of routes; main.c mounts them with their context (a
 * struct desk for all of these) and the runner they work on.
 *
 *	health       GET  /v1/health          (the HTTP thread, never waits)
 *	capture      GET  /v1/screenshot.png  (X)
 *	input        POST /v1/actions         (X)
 *	observe      GET  /v1/observation     (X)
 */
#ifndef DESKFS_SVC_ALL_H
#define DESKFS_SVC_ALL_H

#include "agent/svc.h"

extern const struct svc_def svc_health;
extern const struct svc_def svc_capture;
extern const struct svc_def svc_input;
extern const struct svc_def svc_observe;

#endif
