/*
 * svc_observe.c - GET /v1/observation: screen size, pointer, focused
 * window, the windows, and the last receipt (observe.c).
 *
 * X-Deskfs-Options: frame=WxH (the session's scale) adds the frame and
 * every rectangle in it (observe.c).
 *
 * Runs on the X worker (ctx is the struct desk).
 */
#include "agent/svc_all.h"

#include "agent/desk.h"
#include "agent/observe.h"
#include "common/act.h"

static void get_observation(void *ctx, const struct svc_req *rq, struct svc_reply *rep)
{
	struct desk *d = ctx;
	struct act_opts opts;
	char err[256];
	cJSON *o;

	act_opts_default(&opts);
	if (act_opts_parse(svc_header(rq, "X-Deskfs-Options"), &opts, err, sizeof err) < 0) {
		svc_reply_error(rep, 400, "invalid_options", err);
		return;
	}
	o = obs_snapshot(&d->x, d->last_receipt, opts.frame_w, opts.frame_h);

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
