/*
 * act_opts.c - a session's frame and input timing as text, the way the
 * daemon hands them to the agent with every request (the X-Deskfs-Options
 * header) and the way both check them:
 *
 *	frame=1024x768 click_gap=25 drag_step=20 keymap_delay=40
 *
 * Pairs are separated by blanks (or commas), in any order, each at most
 * once in effect (the last wins); "frame=none" (or 0x0) is no frame.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/act.h"

void act_opts_default(struct act_opts *o)
{
	o->frame_w = o->frame_h = 0;
	o->t.click_gap = ACT_CLICK_GAP_MS;
	o->t.drag_step = ACT_DRAG_STEP_MS;
	o->t.keymap_delay = ACT_KEYMAP_DELAY_MS;
}

/* A whole number in [lo, hi], all of s[0..n). */
static int number(const char *s, size_t n, long lo, long hi, long *out)
{
	char buf[16], *end;
	long v;

	if (n == 0 || n >= sizeof buf)
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (buf[0] < '0' || buf[0] > '9')
		return -EINVAL;
	v = strtol(buf, &end, 10);
	if (*end || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

static int frame(const char *v, size_t n, struct act_opts *o)
{
	const char *x = memchr(v, 'x', n);
	long w, h;

	if (n == 4 && !memcmp(v, "none", 4)) {
		o->frame_w = o->frame_h = 0;
		return 0;
	}
	if (!x || number(v, (size_t)(x - v), 0, 8192, &w) ||
	    number(x + 1, n - (size_t)(x + 1 - v), 0, 8192, &h) || (!w != !h) ||
	    (w && (w < 16 || h < 16)))
		return -EINVAL;
	o->frame_w = (int)w;
	o->frame_h = (int)h;
	return 0;
}

int act_opts_parse(const char *text, struct act_opts *o, char *err, size_t errlen)
{
	static const struct {
		const char *name;
		size_t off;
	} knobs[] = {
	    {"click_gap", offsetof(struct act_opts, t.click_gap)},
	    {"drag_step", offsetof(struct act_opts, t.drag_step)},
	    {"keymap_delay", offsetof(struct act_opts, t.keymap_delay)},
	};
	const char *p = text ? text : "";

	for (;;) {
		size_t n, k;
		const char *eq;
		long v;
		int ok = 0;

		p += strspn(p, " \t,");
		if (!*p)
			return 0;
		n = strcspn(p, " \t,");
		eq = memchr(p, '=', n);
		if (eq) {
			k = (size_t)(eq - p);
			if (k == 5 && !memcmp(p, "frame", 5))
				ok = frame(eq + 1, n - k - 1, o) == 0;
			for (size_t i = 0; !ok && i < sizeof knobs / sizeof knobs[0]; i++)
				if (strlen(knobs[i].name) == k && !memcmp(p, knobs[i].name, k) &&
				    number(eq + 1, n - k - 1, 0, ACT_TIMING_MAX_MS, &v) == 0) {
					*(int *)((char *)o + knobs[i].off) = (int)v;
					ok = 1;
				}
		}
		if (!ok) {
			if (err && errlen)
				snprintf(err, errlen,
				         "bad option '%.*s' (frame=WxH|none, click_gap, drag_step, "
				         "keymap_delay=0..%d ms)",
				         (int)(n > 60 ? 60 : n), p, ACT_TIMING_MAX_MS);
			return -EINVAL;
		}
		p += n;
	}
}

void act_opts_format(const struct act_opts *o, char *out, size_t len)
{
	int n = 0;

	if (o->frame_w > 0)
		n = snprintf(out, len, "frame=%dx%d ", o->frame_w, o->frame_h);
	if (n < 0 || (size_t)n >= len)
		n = 0;
	snprintf(out + n, len - (size_t)n, "click_gap=%d drag_step=%d keymap_delay=%d",
	         o->t.click_gap, o->t.drag_step, o->t.keymap_delay);
}
