/*
 * svc_capture.c - GET /v1/screenshot.png: the root window as PNG
 * (capture.c), handed to the transport by reference (the reply's release
 * drops it once sent).
 *
 *	curl ... http://x/v1/screenshot.png > s.png
 *	curl ... -H 'If-None-Match: "ETAG"' http://x/v1/screenshot.png   (304 if unchanged)
 *
 * The response carries ETag: "<agent start, ns, hex>-<serial, hex>",
 * naming those exact PNG bytes within this agent process. A request whose
 * If-None-Match lists the current PNG's tag (or is "*") is answered 304,
 * with the ETag and no body, after the capture: i.e. exactly when the
 * screen's pixels still equal that PNG's. X-Deskfs-Bands: K/N tells how
 * many of the N bands were re-encoded; X-Deskfs-Capture says fresh or
 * cached; X-Deskfs-Capture-Ms and X-Deskfs-Encode-Ms time the two halves.
 *
 * With X-Deskfs-Options: frame=WxH (the session's scale), the PNG is that
 * size (capture.c); the etag names the frame's bytes.
 *
 * Runs on the X worker (ctx is the struct desk).
 */
#include "agent/svc_all.h"

#include <string.h>

#include "agent/capture.h"
#include "agent/desk.h"
#include "common/act.h"

/* Does an If-None-Match value (a list of entity tags, or "*") name etag?
 * Weak comparison: a W/ prefix is ignored. */
static int etag_listed(const char *list, const char *etag)
{
	size_t n = strlen(etag);
	const char *p = list, *q;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			return 0;
		if (*p == '*')
			return 1;
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		if (*p != '"') { /* not a tag: skip to the next comma */
			while (*p && *p != ',')
				p++;
			continue;
		}
		q = strchr(p + 1, '"');
		if (!q)
			return 0;
		if ((size_t)(q + 1 - p) == n && memcmp(p, etag, n) == 0)
			return 1;
		p = q + 1;
	}
}

static void png_release(void *cls)
{
	cap_png_unref(cls);
}

static void get_screenshot(void *ctx, const struct svc_req *rq, struct svc_reply *rep)
{
	struct desk *d = ctx;
	const char *inm = svc_header(rq, "If-None-Match");
	struct cap_png *png;
	struct cap_stats st;
	struct act_opts opts;
	char err[256];

	act_opts_default(&opts);
	if (act_opts_parse(svc_header(rq, "X-Deskfs-Options"), &opts, err, sizeof err) < 0) {
		svc_reply_error(rep, 400, "invalid_options", err);
		return;
	}
	if (cap_screenshot(d->cap, opts.frame_w, opts.frame_h, &png, &st, err, sizeof err) < 0) {
		desk_publish(d);
		svc_reply_error(rep, 500, NULL, err);
		return;
	}
	desk_publish(d);
	if (inm && etag_listed(inm, png->etag)) {
		svc_reply_bytes(rep, 304, NULL, NULL, 0, NULL, NULL);
		svc_reply_header(rep, "ETag", "%s", png->etag);
		cap_png_unref(png);
	} else {
		svc_reply_bytes(rep, 200, "image/png", png->data, png->len, png_release, png);
		svc_reply_header(rep, "ETag", "%s", png->etag);
	}
	svc_reply_header(rep, "X-Deskfs-Capture", "%s", st.fresh ? "fresh" : "cached");
	svc_reply_header(rep, "X-Deskfs-Bands", "%d/%d", st.bands_encoded, st.bands_total);
	svc_reply_header(rep, "X-Deskfs-Encode-Ms", "%.2f", st.encode_ms);
	svc_reply_header(rep, "X-Deskfs-Capture-Ms", "%.2f", st.capture_ms);
}

static const struct svc_route routes[] = {
    {"GET", "/screenshot.png", get_screenshot, SVC_LEGACY | SVC_READONLY},
};

const struct svc_def svc_capture = {"capture", routes, sizeof routes / sizeof routes[0]};
