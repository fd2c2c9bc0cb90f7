/*
 * desk.c - opens and closes the desktop the X services share, and its X
 * worker (desk.h).
 */
#include "agent/desk.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent/capture.h"
#include "agent/input.h"
#include "agent/runner.h"

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
