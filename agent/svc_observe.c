/*
 * svc_observe.c - GET /v1/observation: screen size, pointer, focused
 * window, the windows, and the last receipt (observe.c).
 *
 * Runs on the X worker (ctx is the struct desk).
 */
#include "agent/svc_all.h"

#include "agent/desk.h"
#include "agent/observe.h"

static void get_observation(void *ctx, const struct svc_req *rq, struct svc_reply *rep)
{
	struct desk *d = ctx;
	cJSON *o = obs_snapshot(&d->x, d->last_receipt);

	desk_publish(d);
	if (!o) {
		svc_reply_error(rep, 500, "internal", "out of memory");
		return;
	}
	svc_reply_json(rep, 200, o);
}

static const struct svc_route routes[] = {
    {"GET", "/observation", get_observation, SVC_LEGACY | SVC_READONLY},
};

const struct svc_def svc_observe = {"observe", routes, sizeof routes / sizeof routes[0]};
