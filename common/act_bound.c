/*
 * act_bound.c - how long a list of actions may take: what the daemon adds
 * to its agent_timeout for one actions request, from the actions parsed,
 * not from what the text happens to contain ("type waiting" waits for
 * nothing).
 *
 *	long bound = agent_timeout_ms + act_bound_ms_t(body, len, &session_timing);
 *
 * The parse is lenient (any key name, any coordinate: the daemon knows
 * neither keysyms nor the screen), so a list the agent will accept is
 * never bounded short. act_cost_ms() must grow with every deliberate delay
 * the performer (agent/input.c) adds: see struct act_timing in act.h.
 */
#include <limits.h>

#include "common/act_impl.h"

/* Characters of s that may need a spare keycode: beyond ASCII. (Under a
 * layout without Latin letters ASCII needs them too; the agent_timeout the
 * bound is added to covers a few batches of those, not a long text.) */
static long text_rebinds(const char *s)
{
	long n = 0;

	for (; *s; s++)
		n += (unsigned char)*s >= 0xc0; /* a lead byte: one code point past U+007F */
	return n;
}

/* Keys of a's chords: any may be missing from the keymap (the lenient
 * parse cannot tell). */
static long key_rebinds(const struct action *a)
{
	long n = 0;

	for (int i = 0; i < a->nchords; i++)
		n += a->chords[i].n;
	return n + a->mods.n;
}

/* Two waits per ACT_REBIND_POOL_MIN rebinds, rounded up: each the keymap
 * delay, or a ping's answer. */
static long rebind_ms(long n, const struct act_timing *t)
{
	long wait = t->keymap_delay > ACT_PING_MAX_MS ? t->keymap_delay : ACT_PING_MAX_MS;
	return (n + ACT_REBIND_POOL_MIN - 1) / ACT_REBIND_POOL_MIN * 2L * wait;
}

long act_cost_ms(const struct action *a, const struct act_timing *t)
{
	static const struct act_timing dflt = {ACT_CLICK_GAP_MS, ACT_DRAG_STEP_MS,
	                                       ACT_KEYMAP_DELAY_MS};
	long segs;

	if (!t)
		t = &dflt;
	switch (a->kind) {
	case ACT_WAIT:
		return a->ms;
	case ACT_SETTLE:
		return a->max_ms;
	case ACT_HOLD:
		return a->ms + rebind_ms(key_rebinds(a), t);
	case ACT_TYPE:
		return rebind_ms(text_rebinds(a->text), t);
	case ACT_CLICK:
		return (long)(a->count > 1 ? a->count - 1 : 0) * t->click_gap +
		       rebind_ms(key_rebinds(a), t);
	case ACT_DRAG:
		segs = a->at_cursor ? a->npath : a->npath - 1;
		return (2 + ACT_DRAG_DWELL + ACT_DRAG_STEPS * segs) * (long)t->drag_step +
		       2L * ACT_PING_MAX_MS;
	default:
		return rebind_ms(key_rebinds(a), t);
	}
}

long act_bound_ms_t(const char *text, size_t len, const struct act_timing *t)
{
	static const struct act_screen anywhere = {INT_MAX, INT_MAX, 0, 0};
	struct act_list l;
	long ms = 0;

	if (!text || !len)
		return 0;
	if (act_parse_with(text, len, &anywhere, act_key_lenient, &l, NULL, 0) < 0)
		return 0;
	for (int i = 0; i < l.n; i++)
		ms += act_cost_ms(&l.v[i], t);
	act_list_free(&l);
	return ms;
}

long act_bound_ms(const char *text, size_t len)
{
	return act_bound_ms_t(text, len, NULL);
}
