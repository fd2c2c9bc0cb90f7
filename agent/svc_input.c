/*
 * svc_input.c - POST /v1/actions: the body is parsed as actions (all or
 * nothing: a bad line is a 400 and nothing is performed), then performed
 * in order (input.c). The reply lists one receipt per action performed:
 *
 *	curl ... --data-binary 'click 10 10' http://x/v1/actions
 *	{"receipts":[{"type":"receipt","seq":1,"line":1,"action":"click",...}]}
 *
 * A failure part way is a 500 {"code","message","receipts":[...done...]}.
 *
 * The X-Deskfs-Options header (common/act.h, struct act_opts) carries the
 * session's frame and input timing: "frame=1024x768 click_gap=25 ...".
 * With a frame, coordinates are checked against it and performed on the
 * screen (input.c). Absent: no frame, the default timing.
 * Runs on the X worker (ctx is the struct desk): a "wait 60000" keeps the
 * worker for a minute, never the HTTP thread.
 */
#include "agent/svc_all.h"

#include <errno.h>

#include "common/act.h"
#include "agent/desk.h"
#include "agent/input.h"

static void post_actions(void *ctx, const struct svc_req *rq, struct svc_reply *rep)
{
	struct desk *d = ctx;
	struct act_screen scr = {0};
	struct act_list list = {0};
	struct act_opts opts;
	cJSON *receipts, *o;
	char err[512];
	int rc, n;

	act_opts_default(&opts);
	if (act_opts_parse(svc_header(rq, "X-Deskfs-Options"), &opts, err, sizeof err) < 0) {
		svc_reply_error(rep, 400, "invalid_options", err);
		return;
	}
	xconn_drain(&d->x);
	desk_publish(d);
	scr.width = d->x.width;
	scr.height = d->x.height;
	if (opts.frame_w > 0) {
		scr = (struct act_screen){opts.frame_w, opts.frame_h, d->x.width, d->x.height};
	}
	rc = act_parse(rq->body, rq->len, &scr, &list, err, sizeof err);
	if (rc == -E2BIG) {
		svc_reply_error(rep, 413, "too_large", err);
		return;
	}
	if (rc < 0) {
		svc_reply_error(rep, 400, "invalid_action", err);
		return;
	}
	receipts = cJSON_CreateArray();
	rc = input_run(d->in, &list, &opts, receipts, &d->seq, err, sizeof err);
	act_list_free(&list);
	n = cJSON_GetArraySize(receipts);
	if (n > 0) {
		cJSON_Delete(d->last_receipt);
		d->last_receipt = cJSON_Duplicate(cJSON_GetArrayItem(receipts, n - 1), 1);
	}
	if (rc < 0) {
		o = svc_error_obj(NULL, err);
		cJSON_AddItemToObject(o, "receipts", receipts);
		svc_reply_json(rep, 500, o);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "receipts", receipts);
	svc_reply_json(rep, 200, o);
}

static const struct svc_route routes[] = {
    {"POST", "/actions", post_actions, SVC_BODY | SVC_LEGACY},
};

const struct svc_def svc_input = {"input", routes, sizeof routes / sizeof routes[0]};
