/*
 * act_json.c - JSON action lines for act_parse(): the shapes that
 * computer-use models, SDKs and benchmarks already emit, told apart by
 * their fields.
 *
 *	{"action": "left_click", "coordinate": [640, 400]}       Anthropic computer tool input
 *	{"type": "tool_use", "name": "computer", "input": {...}}  (also {"input": {...}})
 *	{"type": "click", "x": 640, "y": 400, "button": "left"}   OpenAI computer-use action
 *	{"type": "computer_call", "action": {...}}                (also {"action": {...}})
 *	{"method": "left_click", "x": 640, "y": 400}             E2B desktop SDK call
 *	{"method": "press", "args": [["ctrl", "s"]]}              (positional args)
        {"action_type": "CLICK", "parameters": {"x": 5, "y": 9}}  OSWorld computer_13
        "DONE"  (in an array: OSWorld's bare WAIT, FAIL, DONE)
 *	[{...}, {...}]                                            several actions on one line
 *
 * Units as each dialect defines them: Anthropic durations are seconds
 * (fractions allowed), OpenAI scrolls are pixels (120 px = one wheel
 * click, any non-zero amount is at least one), E2B waits are milliseconds,
 * OSWorld scrolls are wheel clicks with dy > 0 up (as pyautogui's) and its
 * WAIT is OSWorld's own 2 s unless "seconds" is given.
 * Numbers may be JSON floats only if their value is whole (640.0).
 *
 * Every dialect with a wait also takes "settle" (OSWorld: SETTLE), with
 * optional "quiet_ms" and "max_ms" (E2B: args [quiet_ms, max_ms]).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/act_impl.h"

#define WRAP_DEPTH 4 /* tool_use -> input -> ... */

/* Where fields come from, and what to call the action in errors. */
struct jctx {
	struct act_parser *p;
	const char *dialect, *verb;
	const cJSON *obj;
	const cJSON *args; /* E2B positional arguments, or NULL */
};

static const cJSON *field(const struct jctx *c, const char *name, int idx)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->obj, name);

	if (!v && c->args && idx >= 0)
		v = cJSON_GetArrayItem(c->args, idx);
	if (cJSON_IsNull(v))
		return NULL;
	return v;
}

static int need(const struct jctx *c, const char *name, const char *shape)
{
	return act_fail(c->p, -EINVAL, "%s %s needs %s %s", c->dialect, c->verb, name, shape);
}

/* A JSON number with a whole value within +-2^53. */
static int whole(const cJSON *v, long long *out)
{
	double d;

	if (!cJSON_IsNumber(v))
		return -EINVAL;
	d = v->valuedouble;
	if (!(d >= -9007199254740992.0 && d <= 9007199254740992.0) || d != (double)(long long)d)
		return -EINVAL;
	*out = (long long)d;
	return 0;
}

/* 1 present, 0 absent (only if !required), < 0 error. */
static int get_int(const struct jctx *c, const char *name, int idx, int required, long long lo,
                   long long hi, long long *out)
{
	const cJSON *v = field(c, name, idx);

	if (!v)
		return required ? need(c, name, "as a whole number") : 0;
	if (whole(v, out))
		return need(c, name, "as a whole number");
	if (*out < lo || *out > hi)
		return act_fail(c->p, -EINVAL, "%s %s %s %lld is out of range (%lld..%lld)",
		                c->dialect, c->verb, name, *out, lo, hi);
	return 1;
}

static int get_str(const struct jctx *c, const char *name, int idx, int required, const char **out)
{
	const cJSON *v = field(c, name, idx);

	if (!v)
		return required ? need(c, name, "as a string") : 0;
	if (!cJSON_IsString(v) || !v->valuestring)
		return need(c, name, "as a string");
	*out = v->valuestring;
	return 1;
}

/* [x, y] */
static int get_pair(const struct jctx *c, const char *name, int idx, int required, long long *x,
                    long long *y)
{
	const cJSON *v = field(c, name, idx);

	if (!v)
		return required ? need(c, name, "[x, y]") : 0;
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2 ||
	    !cJSON_IsNumber(cJSON_GetArrayItem(v, 0)) || !cJSON_IsNumber(cJSON_GetArrayItem(v, 1)))
		return need(c, name, "[x, y]");
	if (whole(cJSON_GetArrayItem(v, 0), x) || whole(cJSON_GetArrayItem(v, 1), y))
		return act_fail(c->p, -EINVAL, "%s %s %s must be whole pixels", c->dialect, c->verb,
		                name);
	return 1;
}

static int get_xy_pair(const struct jctx *c, struct action *a, const char *name, int required)
{
	long long x = 0, y = 0;
	int rc = get_pair(c, name, -1, required, &x, &y);

	return rc > 0 ? act_set_xy(c->p, a, x, y) : rc;
}

/* x and y as two fields (or E2B positions 0 and 1): both, or neither unless required. */
static int get_xy(const struct jctx *c, struct action *a, int required)
{
	long long x = 0, y = 0;
	int rx, ry;

	rx = get_int(c, "x", 0, required, -(1LL << 53), 1LL << 53, &x);
	if (rx < 0)
		return rx;
	ry = get_int(c, "y", 1, required || rx, -(1LL << 53), 1LL << 53, &y);
	if (ry < 0)
		return ry;
	if (rx != ry)
		return need(c, "x", "with y");
	return rx ? act_set_xy(c->p, a, x, y) : 0;
}

/* Seconds (a float is fine) into milliseconds. */
static int get_seconds(const struct jctx *c, const char *name, struct action *a)
{
	const cJSON *v = field(c, name, -1);
	double ms;

	if (!cJSON_IsNumber(v))
		return need(c, name, "in seconds");
	ms = v->valuedouble * 1000.0;
	if (!(ms >= 0 && ms <= ACT_MAX_MS))
		return act_fail(c->p, -EINVAL, "%s %s %s must be 0 to %d seconds", c->dialect,
		                c->verb, name, ACT_MAX_MS / 1000);
	a->ms = (int)(ms + 0.5);
	return 0;
}

static int get_text(const struct jctx *c, struct action *a, const char *name, int idx)
{
	const char *s = NULL;
	int rc = get_str(c, name, idx, 1, &s);

	if (rc < 0)
		return rc;
	if (!*s)
		return need(c, name, "(not empty)");
	return act_set_text(c->p, a, s, strlen(s));
}

/* "ctrl+s", or ["CTRL", "S"] (each element a key, or itself a chord), into one chord. */
static int get_chord(const struct jctx *c, const char *name, int idx, struct act_chord *out)
{
	static const char shape[] = "as \"ctrl+s\" or [\"ctrl\", \"s\"]";
	const cJSON *v = field(c, name, idx), *k;
	struct act_chord one;
	char kerr[160];
	int rc, i;

	if (cJSON_IsString(v) && v->valuestring) {
		rc = act_parse_chord(v->valuestring, c->p->key, out, kerr, sizeof kerr);
		return rc ? act_fail(c->p, rc, "%s", kerr) : 0;
	}
	if (!cJSON_IsArray(v) || !cJSON_GetArraySize(v))
		return need(c, name, shape);
	out->n = 0;
	cJSON_ArrayForEach(k, v)
	{
		if (!cJSON_IsString(k) || !k->valuestring)
			return need(c, name, shape);
		rc = act_parse_chord(k->valuestring, c->p->key, &one, kerr, sizeof kerr);
		if (rc)
			return act_fail(c->p, rc, "%s", kerr);
		if (out->n + one.n > ACT_MAX_CHORD)
			return act_fail(c->p, -EINVAL, "too many keys in chord (at most %d)",
			                ACT_MAX_CHORD);
		for (i = 0; i < one.n; i++)
			out->sym[out->n++] = one.sym[i];
	}
	return 0;
}

static int get_key_chord(const struct jctx *c, struct action *a, const char *name, int idx)
{
	struct act_chord ch;
	int rc = get_chord(c, name, idx, &ch);

	return rc ? rc : act_push_chord(c->p, a, &ch);
}

static int get_scroll(const struct jctx *c, struct action *a, const char *dname, int didx,
                      const char *dflt, const char *nname, int nidx)
{
	const char *dir = dflt;
	long long n = 1;
	int rc;

	if ((rc = get_str(c, dname, didx, !dflt, &dir)) < 0 ||
	    (rc = get_int(c, nname, nidx, 0, 0, ACT_MAX_SCROLL, &n)) < 0)
		return rc;
	if (act_scroll_dir(a, dir, (int)n))
		return need(c, dname, "as up, down, left or right");
	return 0;
}

/* settle's optional quiet_ms and max_ms (E2B positions 0 and 1) */
static int get_settle(const struct jctx *c, struct action *a, int qidx, int midx)
{
	long long q = ACT_SETTLE_QUIET_MS, m = ACT_SETTLE_MAX_MS;
	int rc;

	if ((rc = get_int(c, "quiet_ms", qidx, 0, 1, ACT_MAX_MS, &q)) < 0 ||
	    (rc = get_int(c, "max_ms", midx, 0, 0, ACT_MAX_MS, &m)) < 0)
		return rc;
	return act_set_settle(c->p, a, q, m);
}

/* ---- Anthropic computer tool ---- */

static const struct json_verb {
	const char *name;
	enum act_kind kind;
	int button, count;
} json_verbs[] = {
    {"key", ACT_KEY, 1, 1},
    {"type", ACT_TYPE, 1, 1},
    {"mouse_move", ACT_MOVE, 1, 1},
    {"left_click", ACT_CLICK, 1, 1},
    {"right_click", ACT_CLICK, 3, 1},
    {"middle_click", ACT_CLICK, 2, 1},
    {"double_click", ACT_CLICK, 1, 2},
    {"triple_click", ACT_CLICK, 1, 3},
    {"left_click_drag", ACT_DRAG, 1, 1},
    {"left_mouse_down", ACT_DOWN, 1, 1},
    {"left_mouse_up", ACT_UP, 1, 1},
    {"scroll", ACT_SCROLL, 1, 1},
    {"hold_key", ACT_HOLD, 1, 1},
    {"wait", ACT_WAIT, 1, 1},
    {"screenshot", ACT_SCREENSHOT, 1, 1},
    {"zoom", ACT_SCREENSHOT, 1, 1},
    {"cursor_position", ACT_CURSOR, 1, 1},
    {"settle", ACT_SETTLE, 1, 1},
};

/* "text" on a click or scroll: modifier keys held meanwhile. */
static int anthropic_mods(const struct jctx *c, struct action *a)
{
	const char *s = NULL;
	int rc = get_str(c, "text", -1, 0, &s);

	if (rc <= 0 || !*s)
		return rc;
	return act_set_mods(c->p, a, s);
}

static int anthropic_fill(const struct jctx *c, struct action *a)
{
	const char *text = NULL;
	long long x = 0, y = 0;
	int rc;

	switch (a->kind) {
	case ACT_KEY:
		if ((rc = get_str(c, "text", -1, 1, &text)) < 0)
			return rc;
		return act_add_key_seq(c->p, a, text);
	case ACT_TYPE:
		return get_text(c, a, "text", -1);
	case ACT_MOVE:
		return get_xy_pair(c, a, "coordinate", 1);
	case ACT_CLICK:
		if ((rc = get_xy_pair(c, a, "coordinate", 0)) < 0)
			return rc;
		return anthropic_mods(c, a);
	case ACT_DRAG:
		if ((rc = get_pair(c, "start_coordinate", -1, 1, &x, &y)) < 0 ||
		    (rc = act_add_point(c->p, a, x, y)) < 0 ||
		    (rc = get_pair(c, "coordinate", -1, 1, &x, &y)) < 0)
			return rc;
		return act_add_point(c->p, a, x, y);
	case ACT_DOWN:
	case ACT_UP:
		rc = get_xy_pair(c, a, "coordinate", 0);
		return rc < 0 ? rc : 0;
	case ACT_SCROLL:
		if ((rc = get_xy_pair(c, a, "coordinate", 0)) < 0 ||
		    (rc = get_scroll(c, a, "scroll_direction", -1, NULL, "scroll_amount", -1)))
			return rc;
		return anthropic_mods(c, a);
	case ACT_HOLD:
		if ((rc = get_key_chord(c, a, "text", -1)))
			return rc;
		return get_seconds(c, "duration", a);
	case ACT_WAIT:
		return get_seconds(c, "duration", a);
	case ACT_SETTLE:
		return get_settle(c, a, -1, -1);
	default:
		return 0;
	}
}

/* ---- OpenAI computer use ---- */

static int openai_button(const struct jctx *c, struct action *a)
{
	const char *s = "left";
	int rc = get_str(c, "button", -1, 0, &s);

	if (rc < 0)
		return rc;
	a->button = act_button(s);
	if (!a->button)
		return need(c, "button", "as left, right, wheel, back or forward");
	return 0;
}

/* Optional "keys" held during a click or scroll. */
static int openai_mods(const struct jctx *c, struct action *a)
{
	return field(c, "keys", -1) ? get_chord(c, "keys", -1, &a->mods) : 0;
}

/* Pixels to wheel clicks: 120 px each, rounded away from zero. */
static int px_to_clicks(long long px)
{
	return (int)(px > 0 ? (px + 119) / 120 : -((-px + 119) / 120));
}

static int openai_fill(const struct jctx *c, struct action *a)
{
	const cJSON *path, *pt;
	long long v = 0;
	int rc;

	switch (a->kind) {
	case ACT_CLICK:
		if ((rc = get_xy(c, a, 1)) || (a->count == 1 && (rc = openai_button(c, a))))
			return rc;
		return openai_mods(c, a);
	case ACT_MOVE:
		return get_xy(c, a, 1);
	case ACT_DRAG:
		path = field(c, "path", -1);
		if (!cJSON_IsArray(path) || cJSON_GetArraySize(path) < 2)
			return need(c, "path", "[{\"x\": X, \"y\": Y}, ...] of at least 2 points");
		cJSON_ArrayForEach(pt, path)
		{
			long long x = 0, y = 0;
			if (whole(cJSON_GetObjectItemCaseSensitive(pt, "x"), &x) ||
			    whole(cJSON_GetObjectItemCaseSensitive(pt, "y"), &y))
				return need(c, "path",
				            "points {\"x\": X, \"y\": Y} of whole pixels");
			if ((rc = act_add_point(c->p, a, x, y)))
				return rc;
		}
		return 0;
	case ACT_KEY:
		return get_key_chord(c, a, "keys", -1);
	case ACT_SCROLL:
		if ((rc = get_xy(c, a, 1)) < 0)
			return rc;
		if ((rc = get_int(c, "scroll_x", -1, 1, -120LL * ACT_MAX_SCROLL,
		                  120LL * ACT_MAX_SCROLL, &v)) < 0)
			return rc;
		a->dx = px_to_clicks(v);
		if ((rc = get_int(c, "scroll_y", -1, 1, -120LL * ACT_MAX_SCROLL,
		                  120LL * ACT_MAX_SCROLL, &v)) < 0)
			return rc;
		a->dy = px_to_clicks(v);
		return openai_mods(c, a);
	case ACT_TYPE:
		return get_text(c, a, "text", -1);
	case ACT_WAIT:
		v = 1000;
		if ((rc = get_int(c, "ms", -1, 0, 0, ACT_MAX_MS, &v)) < 0)
			return rc;
		a->ms = (int)v;
		return 0;
	case ACT_SETTLE:
		return get_settle(c, a, -1, -1);
	default:
		return 0;
	}
}

static const struct json_verb openai_verbs[] = {
    {"click", ACT_CLICK, 1, 1},   {"double_click", ACT_CLICK, 1, 2},
    {"drag", ACT_DRAG, 1, 1},     {"keypress", ACT_KEY, 1, 1},
    {"move", ACT_MOVE, 1, 1},     {"screenshot", ACT_SCREENSHOT, 1, 1},
    {"scroll", ACT_SCROLL, 1, 1}, {"type", ACT_TYPE, 1, 1},
    {"wait", ACT_WAIT, 1, 1},     {"settle", ACT_SETTLE, 1, 1},
};

/* ---- E2B desktop SDK ---- */

static const struct json_verb e2b_verbs[] = {
    {"left_click", ACT_CLICK, 1, 1},
    {"right_click", ACT_CLICK, 3, 1},
    {"middle_click", ACT_CLICK, 2, 1},
    {"double_click", ACT_CLICK, 1, 2},
    {"move_mouse", ACT_MOVE, 1, 1},
    {"mouse_press", ACT_DOWN, 1, 1},
    {"mouse_release", ACT_UP, 1, 1},
    {"scroll", ACT_SCROLL, 1, 1},
    {"write", ACT_TYPE, 1, 1},
    {"press", ACT_KEY, 1, 1},
    {"drag", ACT_DRAG, 1, 1},
    {"wait", ACT_WAIT, 1, 1},
    {"screenshot", ACT_SCREENSHOT, 1, 1},
    {"get_cursor_position", ACT_CURSOR, 1, 1},
    {"settle", ACT_SETTLE, 1, 1},
};

static int e2b_fill(const struct jctx *c, struct action *a)
{
	const char *s = "left";
	long long x = 0, y = 0, v = 0;
	int rc;

	switch (a->kind) {
	case ACT_CLICK:
		return get_xy(c, a, 0);
	case ACT_MOVE:
		return get_xy(c, a, 1);
	case ACT_DOWN:
	case ACT_UP:
		if ((rc = get_str(c, "button", 0, 0, &s)) < 0)
			return rc;
		a->button = act_button(s);
		if (!a->button || a->button > 3)
			return need(c, "button", "as left, right or middle");
		return 0;
	case ACT_SCROLL:
		return get_scroll(c, a, "direction", 0, "down", "amount", 1);
	case ACT_TYPE:
		return get_text(c, a, "text", 0);
	case ACT_KEY:
		return get_key_chord(c, a, "key", 0);
	case ACT_DRAG:
		if ((rc = get_pair(c, "fr", 0, 1, &x, &y)) < 0 ||
		    (rc = act_add_point(c->p, a, x, y)) < 0 ||
		    (rc = get_pair(c, "to", 1, 1, &x, &y)) < 0)
			return rc;
		return act_add_point(c->p, a, x, y);
	case ACT_WAIT:
		if ((rc = get_int(c, "ms", 0, 1, 0, ACT_MAX_MS, &v)) < 0)
			return rc;
		a->ms = (int)v;
		return 0;
	case ACT_SETTLE:
		return get_settle(c, a, 0, 1);
	default:
		return 0;
	}
}

/* ---- OSWorld computer_13 ---- */

static const struct json_verb osworld_verbs[] = {
    {"CLICK", ACT_CLICK, 1, 1},       {"MOVE_TO", ACT_MOVE, 1, 1},
    {"MOUSE_DOWN", ACT_DOWN, 1, 1},   {"MOUSE_UP", ACT_UP, 1, 1},
    {"RIGHT_CLICK", ACT_CLICK, 3, 1}, {"DOUBLE_CLICK", ACT_CLICK, 1, 2},
    {"DRAG_TO", ACT_DRAG, 1, 1},      {"SCROLL", ACT_SCROLL, 1, 1},
    {"TYPING", ACT_TYPE, 1, 1},       {"PRESS", ACT_KEY, 1, 1},
    {"KEY_DOWN", ACT_KEYDOWN, 1, 1},  {"KEY_UP", ACT_KEYUP, 1, 1},
    {"HOTKEY", ACT_KEY, 1, 1},        {"WAIT", ACT_WAIT, 1, 1},
    {"FAIL", ACT_FAIL, 1, 1},         {"DONE", ACT_DONE, 1, 1},
    {"SETTLE", ACT_SETTLE, 1, 1},
};

/* "button": left, right or middle (optional; left) */
static int osworld_button(const struct jctx *c, struct action *a)
{
	const char *s = NULL;
	int rc = get_str(c, "button", -1, 0, &s);

	if (rc <= 0)
		return rc;
	a->button = act_button(s);
	if (a->button < 1 || a->button > 3)
		return need(c, "button", "as left, right or middle");
	return 0;
}

static int osworld_fill(const struct jctx *c, struct action *a, const char *verb)
{
	const cJSON *v;
	long long n = 0, x = 0, y = 0;
	int rc;

	switch (a->kind) {
	case ACT_CLICK:
		if ((rc = get_xy(c, a, 0)) < 0)
			return rc;
		if (strcmp(verb, "CLICK") != 0)
			return 0;
		if ((rc = osworld_button(c, a)) < 0 ||
		    (rc = get_int(c, "num_clicks", -1, 0, 1, 3, &n)) < 0)
			return rc;
		if (rc > 0)
			a->count = (int)n;
		return 0;
	case ACT_MOVE:
		return get_xy(c, a, 1);
	case ACT_DOWN:
	case ACT_UP:
		return osworld_button(c, a);
	case ACT_DRAG: /* from the pointer, with the left button */
		if ((rc = get_int(c, "x", -1, 1, -(1LL << 53), 1LL << 53, &x)) < 0 ||
		    (rc = get_int(c, "y", -1, 1, -(1LL << 53), 1LL << 53, &y)) < 0)
			return rc;
		a->at_cursor = 1;
		return act_add_point(c->p, a, x, y);
	case ACT_SCROLL: /* pyautogui: dy > 0 scrolls up, dx > 0 right */
		if ((rc = get_xy(c, a, 0)) < 0 ||
		    (rc = get_int(c, "dx", -1, 1, -ACT_MAX_SCROLL, ACT_MAX_SCROLL, &x)) < 0 ||
		    (rc = get_int(c, "dy", -1, 1, -ACT_MAX_SCROLL, ACT_MAX_SCROLL, &y)) < 0)
			return rc;
		a->dx = (int)x;
		a->dy = (int)-y;
		return 0;
	case ACT_TYPE:
		return get_text(c, a, "text", -1);
	case ACT_KEY:
		return get_key_chord(c, a, strcmp(verb, "HOTKEY") ? "key" : "keys", -1);
	case ACT_KEYDOWN:
	case ACT_KEYUP:
		return get_key_chord(c, a, "key", -1);
	case ACT_WAIT:
		v = field(c, "seconds", -1);
		if (!v) {
			a->ms = 2000; /* OSWorld's own pause */
			return 0;
		}
		return get_seconds(c, "seconds", a);
	case ACT_SETTLE:
		return get_settle(c, a, -1, -1);
	default:
		return 0;
	}
}

/* ---- dispatch ---- */

enum dialect { ANTHROPIC, OPENAI, E2B, OSWORLD };

static int dialect_action(struct act_parser *p, const cJSON *obj, enum dialect d, const char *name)
{
	static const char *const dnames[] = {"anthropic", "openai", "e2b", "osworld"};
	static const struct {
		const struct json_verb *v;
		size_t n;
	} tables[] = {
	    {json_verbs, sizeof json_verbs / sizeof json_verbs[0]},
	    {openai_verbs, sizeof openai_verbs / sizeof openai_verbs[0]},
	    {e2b_verbs, sizeof e2b_verbs / sizeof e2b_verbs[0]},
	    {osworld_verbs, sizeof osworld_verbs / sizeof osworld_verbs[0]},
	};
	struct jctx c = {p, dnames[d], name, obj, NULL};
	const struct json_verb *vb = NULL;
	struct action a;
	size_t i;
	int rc;

	for (i = 0; i < tables[d].n; i++)
		if (!strcmp(name, tables[d].v[i].name)) {
			vb = &tables[d].v[i];
			break;
		}
	if (!vb)
		return act_fail(p, -EINVAL, "unknown %s action '%.40s'", dnames[d], name);
	if (d == E2B) {
		c.args = cJSON_GetObjectItemCaseSensitive(obj, "args");
		if (c.args && !cJSON_IsArray(c.args))
			return act_fail(p, -EINVAL, "e2b %s needs args as a list", name);
	}
	if (d == OSWORLD && obj) {
		const cJSON *par = cJSON_GetObjectItemCaseSensitive(obj, "parameters");
		if (par && !cJSON_IsObject(par) && !cJSON_IsNull(par))
			return act_fail(p, -EINVAL, "osworld %s needs parameters as an object",
			                name);
		c.obj = cJSON_IsObject(par) ? par : NULL;
	}
	act_init(p, &a, vb->kind);
	a.button = vb->button;
	a.count = vb->count;
	rc = d == ANTHROPIC ? anthropic_fill(&c, &a)
	     : d == OPENAI  ? openai_fill(&c, &a)
	     : d == E2B     ? e2b_fill(&c, &a)
	                    : osworld_fill(&c, &a, name);
	if (rc < 0) {
		act_clear(&a);
		return rc;
	}
	return act_append(p, &a);
}

static int json_action(struct act_parser *p, const cJSON *obj, int depth)
{
	const cJSON *action, *type, *method, *input, *actions, *el;
	int rc;

	if (cJSON_IsString(obj) && obj->valuestring &&
	    (!strcmp(obj->valuestring, "WAIT") || !strcmp(obj->valuestring, "FAIL") ||
	     !strcmp(obj->valuestring, "DONE"))) /* OSWorld's bare special actions */
		return dialect_action(p, NULL, OSWORLD, obj->valuestring);
	if (!cJSON_IsObject(obj))
		return act_fail(p, -EINVAL, "an action must be a JSON object");
	if (depth > WRAP_DEPTH)
		return act_fail(p, -EINVAL, "actions wrapped too deep");
	action = cJSON_GetObjectItemCaseSensitive(obj, "action");
	if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(obj, "action_type")))
		return dialect_action(
		    p, obj, OSWORLD,
		    cJSON_GetObjectItemCaseSensitive(obj, "action_type")->valuestring);
	type = cJSON_GetObjectItemCaseSensitive(obj, "type");
	method = cJSON_GetObjectItemCaseSensitive(obj, "method");
	input = cJSON_GetObjectItemCaseSensitive(obj, "input");
	actions = cJSON_GetObjectItemCaseSensitive(obj, "actions");

	if (cJSON_IsString(action))
		return dialect_action(p, obj, ANTHROPIC, action->valuestring);
	if (cJSON_IsObject(action)) /* {"type": "computer_call", "action": {...}} */
		return json_action(p, action, depth + 1);
	if (cJSON_IsObject(input)) /* {"type": "tool_use", "input": {...}} */
		return json_action(p, input, depth + 1);
	if (cJSON_IsArray(actions)) { /* a computer_call carrying a batch */
		cJSON_ArrayForEach(el, actions)
		{
			if ((rc = json_action(p, el, depth + 1)))
				return rc;
		}
		return 0;
	}
	if (cJSON_IsString(method))
		return dialect_action(p, obj, E2B, method->valuestring);
	if (cJSON_IsString(type)) {
		if (!strcmp(type->valuestring, "tool_use") ||
		    !strcmp(type->valuestring, "computer_call"))
			return act_fail(p, -EINVAL, "%s has no %s object", type->valuestring,
			                type->valuestring[0] == 't' ? "input" : "action");
		return dialect_action(p, obj, OPENAI, type->valuestring);
	}
	return act_fail(p, -EINVAL,
	                "a JSON action needs an \"action\" (Anthropic), \"type\" (OpenAI), "
	                "\"method\" (E2B) or \"action_type\" (OSWorld) field");
}

/* cJSON turns "\u0000" into a NUL that would silently cut a string short. */
static int has_escaped_nul(const char *s)
{
	for (; *s; s++)
		if (*s == '\\' && *++s == 'u' && !strncmp(s + 1, "0000", 4))
			return 1;
		else if (!*s)
			break;
	return 0;
}

int act_parse_json(struct act_parser *p, const char *line)
{
	const char *end = NULL;
	const cJSON *el;
	cJSON *j;
	int rc = 0;

	if (has_escaped_nul(line))
		return act_fail(p, -EINVAL, "JSON strings must not hold \\u0000");
	j = cJSON_ParseWithOpts(line, &end, 1);
	if (!j)
		return act_fail(p, -EINVAL, "invalid JSON at column %d (or nested too deep)",
		                end ? (int)(end - line) + 1 : 1);
	if (cJSON_IsArray(j)) {
		cJSON_ArrayForEach(el, j)
		{
			p->item++;
			if ((rc = json_action(p, el, 0)))
				break;
		}
		p->item = 0;
	} else {
		rc = json_action(p, j, 0);
	}
	cJSON_Delete(j);
	return rc;
}
