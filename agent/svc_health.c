/*
 * svc_health.c - GET /v1/health: is the agent there, which display, how
 * big. Answered on the HTTP thread from a snapshot (desk_publish), so it
 * never waits for X work.
 *
 *	curl ... http://x/v1/health
 *	{"ok":true,"display":":5","width":1280,"height":800,"version":"0.1.0",
 *	 "capabilities":["screenshot","actions","observation","events","procs","files","pty"]}
 */
#include "agent/svc_all.h"

#include "agent/desk.h"
#include "agent/runner.h"

#ifndef DESKFS_VERSION
#define DESKFS_VERSION "0.0.0"
#endif

static void get_health(void *ctx, const struct svc_req *rq, struct svc_reply *rep)
{
	struct desk *d = ctx;
	struct runner_load ld;
	static const char *const caps[] = {"screenshot", "actions", "observation", "events",
	                                   "procs", "files", "pty"};
	cJSON *o = cJSON_CreateObject(), *x;

	cJSON_AddTrueToObject(o, "ok");
	cJSON_AddStringToObject(o, "display", d->x.name);
	cJSON_AddNumberToObject(o, "width", atomic_load(&d->width));
	cJSON_AddNumberToObject(o, "height", atomic_load(&d->height));
	cJSON_AddStringToObject(o, "version", DESKFS_VERSION);
	cJSON_AddItemToObject(o, "capabilities",
	                      cJSON_CreateStringArray(caps, sizeof caps / sizeof caps[0]));
	if (d->worker) {
		runner_load(d->worker, &ld);
		x = cJSON_AddObjectToObject(o, "x");
		cJSON_AddNumberToObject(x, "queued", ld.queued);
		cJSON_AddNumberToObject(x, "running", ld.running);
		cJSON_AddNumberToObject(x, "busy_ms", (double)(long long)(ld.busy_ms * 10) / 10);
		cJSON_AddNumberToObject(x, "done", (double)ld.done);
	}
	svc_reply_json(rep, 200, o);
}

static const struct svc_route routes[] = {
    {"GET", "/health", get_health, SVC_LEGACY},
};

const struct svc_def svc_health = {"health", routes, sizeof routes / sizeof routes[0]};
