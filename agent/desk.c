/*
 * desk.c - opens and closes the desktop the X services share, and its X
 * worker (desk.h). While an actions job pauses (wait, hold), the worker
 * serves reads of the screen (SVC_READONLY: screenshot, observation)
 * from inside the pause, so they do not wait for it; other actions do.
 */
#include "agent/desk.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent/capture.h"
#include "agent/input.h"
#include "agent/runner.h"
#include "agent/svc.h"

/* Around reads run inside a pause: the input's own errors arrive before,
 * the reads' own are marked foreign after (see xconn_foreign_begin). */
static void reads_before(void *cls)
{
	struct desk *d = cls;

	XSync(d->x.dpy, False);
	xconn_foreign_begin(&d->x);
}

static void reads_after(void *cls)
{
	struct desk *d = cls;

	XSync(d->x.dpy, False);
	xconn_foreign_end(&d->x);
}

/* input's pause hook: serve reads of the screen (SVC_READONLY jobs) for
 * up to ms, on this same thread, so that a screenshot or an observation
 * asked for during a "wait 60000" is answered at once. */
static void desk_idle(void *cls, int ms)
{
	struct desk *d = cls;

	runner_serve(d->worker, SVC_READONLY, ms, reads_before, reads_after, d);
}

int desk_open(struct desk *d, const char *display, char *err, size_t errlen)
{
	int rc;

	memset(d, 0, sizeof *d);
	rc = xconn_open(&d->x, display, err, errlen);
	if (rc < 0)
		return rc;
	rc = cap_new(&d->x, &d->cap, err, errlen);
	if (rc < 0)
		goto out_close_x;
	rc = input_new(&d->x, &d->in);
	if (rc < 0) {
		snprintf(err, errlen, "internal: out of memory");
		goto out_free_cap;
	}
	input_set_idle(d->in, desk_idle, d);
	desk_publish(d);
	/* from here on, only the worker's jobs touch the X state */
	rc = runner_new(&d->worker, "x", 1, DESK_MAX_QUEUED);
	if (rc < 0) {
		snprintf(err, errlen, "internal: cannot start the X worker: %s", strerror(-rc));
		goto out_free_input;
	}
	return 0;

out_free_input:
	input_free(d->in);
out_free_cap:
	cap_free(d->cap);
out_close_x:
	xconn_close(&d->x);
	return rc;
}

void desk_stop(struct desk *d)
{
	if (d->in)
		input_cancel(d->in);
	runner_stop(d->worker);
}

void desk_close(struct desk *d)
{
	desk_stop(d);
	runner_free(d->worker);
	input_free(d->in);
	cap_free(d->cap);
	cJSON_Delete(d->last_receipt);
	xconn_close(&d->x);
	memset(d, 0, sizeof *d);
}

void desk_publish(struct desk *d)
{
	atomic_store(&d->width, d->x.width);
	atomic_store(&d->height, d->x.height);
}
