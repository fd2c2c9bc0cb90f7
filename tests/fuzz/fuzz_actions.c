/*
 * fuzz_actions.c - libFuzzer target for act_parse() (common/act*.c,
 * agent/keys.c): the text form and every JSON dialect.
 *
 * The input is the body of one write to `actions`, as the agent receives
 * it. Besides "no crash, no leak, no UB" (ASan + UBSan), it checks what
 * act_parse() promises:
 *   - the result is 0, -EINVAL or -E2BIG (never anything else);
 *   - on error the list is empty and err is a terminated "line N: ..." text;
 *   - on success every action is well-formed: coordinates on the screen,
 *     buttons and counts in range, drags with >= 2 points, typed text
 *     non-empty valid UTF-8, waits and holds within ACT_MAX_MS;
 *   - act_bound_ms() (the daemon's lenient parse) is at least the sum of
 *     the waits, holds and settle bounds of what the agent accepts, and at
 *     least act_cost_ms() of each action (every pause the agent makes);
 *   - act_opts_parse() leaves a frame of 0x0 or 16..8192 on each side, and
 *     timing knobs within 0..ACT_TIMING_MAX_MS.
 * A broken promise calls abort(), which libFuzzer reports as a crash.
 *
 * Built and run by `make fuzz` (see tests/fuzz/README).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/keys.h"
#include "common/act.h"

#define FUZZ_NAME "fuzz_actions"
#include "tests/fuzz/oracle.h"

static int on_screen(const struct act_screen *s, int x, int y)
{
	return x >= 0 && y >= 0 && x < s->width && y < s->height;
}

static int utf8_ok(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	while (*u) {
		unsigned c = *u++, more;
		if (c < 0x80)
			continue;
		if (c >= 0xc2 && c <= 0xdf)
			more = 1;
		else if (c >= 0xe0 && c <= 0xef)
			more = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			more = 3;
		else
			return 0;
		while (more--)
			if ((*u++ & 0xc0) != 0x80)
				return 0;
	}
	return 1;
}

static void check_action(const struct act_screen *scr, const struct action *a)
{
	REQUIRE(a->line >= 1);
	REQUIRE(strcmp(act_kind_name(a->kind), "unknown") != 0);
	if (!a->at_cursor && a->kind != ACT_DRAG && a->kind != ACT_TYPE && a->kind != ACT_KEY &&
	    a->kind != ACT_KEYDOWN && a->kind != ACT_KEYUP && a->kind != ACT_HOLD &&
	    a->kind != ACT_WAIT && a->kind != ACT_SCREENSHOT && a->kind != ACT_SETTLE &&
	    a->kind != ACT_DONE && a->kind != ACT_FAIL)
		REQUIRE(on_screen(scr, a->x, a->y));
	switch (a->kind) {
	case ACT_CLICK:
		REQUIRE(a->count >= 1 && a->count <= 3);
		/* fall through */
	case ACT_DOWN:
	case ACT_UP:
	case ACT_DRAG:
		REQUIRE(a->button == 1 || a->button == 2 || a->button == 3 || a->button == 8 ||
			a->button == 9);
		break;
	case ACT_SCROLL:
		REQUIRE(a->dx >= -ACT_MAX_SCROLL && a->dx <= ACT_MAX_SCROLL);
		REQUIRE(a->dy >= -ACT_MAX_SCROLL && a->dy <= ACT_MAX_SCROLL);
		break;
	case ACT_TYPE:
		REQUIRE(a->text && a->text[0] && utf8_ok(a->text));
		break;
	case ACT_KEY:
		REQUIRE(a->nchords >= 1 && a->chords);
		break;
	case ACT_KEYDOWN:
	case ACT_KEYUP:
	case ACT_HOLD:
		REQUIRE(a->nchords >= 1 && a->chords);
		break;
	default:
		break;
	}
	if (a->kind == ACT_SETTLE)
		REQUIRE(a->ms >= 1 && a->ms <= ACT_MAX_MS && a->max_ms >= 0 && a->max_ms <= ACT_MAX_MS);
	if (a->kind == ACT_DRAG) {
		REQUIRE(a->npath >= (a->at_cursor ? 1 : 2) && a->path);
		for (int i = 0; i < a->npath; i++)
			REQUIRE(on_screen(scr, a->path[i].x, a->path[i].y));
	}
	if (a->kind == ACT_WAIT || a->kind == ACT_HOLD)
		REQUIRE(a->ms >= 0 && a->ms <= ACT_MAX_MS);
	for (int i = 0; i < a->nchords; i++)
		REQUIRE(a->chords[i].n >= 1 && a->chords[i].n <= ACT_MAX_CHORD);
	REQUIRE(a->mods.n >= 0 && a->mods.n <= ACT_MAX_CHORD);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct act_screen scr = {1280, 800, 0, 0};
	struct act_list l = {0};
	char err[256];

	act_set_key_resolver(key_lookup); /* as the agent does */
	memset(err, 'x', sizeof err);
	int r = act_parse((const char *)data, size, &scr, &l, err, sizeof err);
	REQUIRE(r == 0 || r == -EINVAL || r == -E2BIG);
	if (r < 0) {
		REQUIRE(l.n == 0 && l.v == NULL);
		REQUIRE(memchr(err, '\0', sizeof err) != NULL);
		REQUIRE(strncmp(err, "line ", 5) == 0);
	} else {
		long ms = 0;
		REQUIRE(l.n >= 0 && l.n <= ACT_MAX_ACTIONS);
		long cost = 0;
		for (int i = 0; i < l.n; i++) {
			check_action(&scr, &l.v[i]);
			ms += l.v[i].kind == ACT_SETTLE ? l.v[i].max_ms
			      : l.v[i].kind == ACT_WAIT || l.v[i].kind == ACT_HOLD ? l.v[i].ms
			                                                           : 0;
			cost += act_cost_ms(&l.v[i], NULL);
		}
		/* the daemon's bound (a lenient parse) covers every wait, hold and
		 * settle the agent will perform, and every pause it adds */
		long bound = act_bound_ms((const char *)data, size);
		REQUIRE(bound >= ms);
		REQUIRE(bound >= cost);
	}
	act_list_free(&l);

	/* The options header: whatever it holds, what is accepted is in range. */
	if (size < 512) {
		char text[512];
		struct act_opts o;
		memcpy(text, data, size);
		text[size] = '\0';
		act_opts_default(&o);
		if (act_opts_parse(text, &o, err, sizeof err) == 0) {
			REQUIRE((o.frame_w == 0 && o.frame_h == 0) ||
			        (o.frame_w >= 16 && o.frame_w <= 8192 && o.frame_h >= 16 &&
			         o.frame_h <= 8192));
			REQUIRE(o.t.click_gap >= 0 && o.t.click_gap <= ACT_TIMING_MAX_MS);
			REQUIRE(o.t.drag_step >= 0 && o.t.drag_step <= ACT_TIMING_MAX_MS);
			REQUIRE(o.t.keymap_delay >= 0 && o.t.keymap_delay <= ACT_TIMING_MAX_MS);
		} else {
			REQUIRE(memchr(err, '\0', sizeof err) != NULL);
		}
	}

	/* A tiny error buffer must come back terminated, never overrun (short
	 * inputs only, to keep the throughput up). */
	if (size < 64) {
		char small[8];
		r = act_parse((const char *)data, size, &scr, &l, small, sizeof small);
		if (r < 0)
			REQUIRE(memchr(small, '\0', sizeof small) != NULL);
		act_list_free(&l);
	}
	return 0;
}
