/*
 * act.c - act_parse(): the actions file, one action per line, into a
 * list of struct action. This file splits the lines, parses the text form
 * and owns the helpers both forms share; JSON lines go to act_json.c, key
 * chords to act_keys.c.
 *
 *	click 640 400 right       type Hello, wörld       key ctrl+a Delete
 *	{"action": "left_click", "coordinate": [640, 400]}
 *
 * Text form choices: verbs and button names are case-insensitive; a line
 * whose first non-blank character is '#' is a comment; "scroll down" with
 * no amount scrolls 1 wheel click; "type" keeps everything after the one
 * space that follows it, byte for byte, with no escapes.
 *
 * All or nothing: the first bad line makes act_parse() free what it built
 * and report "line N: ..." in err.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/act_impl.h"
#include "common/utf8.h"

#define ACT_MAX_CHORDS 1000  /* chords in one key action */
#define ACT_MAX_POINTS 10000 /* points in one drag */

/* ---- helpers shared with act_json.c ---- */

int act_fail(struct act_parser *p, int rc, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!p->err || !p->errlen)
		return rc;
	if (p->item)
		n = snprintf(p->err, p->errlen, "line %d: item %d: ", p->line, p->item);
	else
		n = snprintf(p->err, p->errlen, "line %d: ", p->line);
	if (n < 0 || (size_t)n >= p->errlen)
		return rc;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return rc;
}

void act_init(const struct act_parser *p, struct action *a, enum act_kind kind)
{
	memset(a, 0, sizeof *a);
	a->kind = kind;
	a->line = p->line;
	a->button = 1;
	a->count = 1;
	a->at_cursor = kind == ACT_CLICK || kind == ACT_DOWN || kind == ACT_UP ||
	               kind == ACT_SCROLL || kind == ACT_CURSOR;
	if (kind == ACT_SETTLE) {
		a->ms = ACT_SETTLE_QUIET_MS;
		a->max_ms = ACT_SETTLE_MAX_MS;
	}
}

void act_clear(struct action *a)
{
	free(a->path);
	free(a->text);
	free(a->chords);
	a->path = NULL;
	a->text = NULL;
	a->chords = NULL;
	a->npath = a->nchords = 0;
}

int act_append(struct act_parser *p, struct action *a)
{
	struct act_list *l = p->out;

	if (l->n >= ACT_MAX_ACTIONS) {
		act_clear(a);
		return act_fail(p, -E2BIG, "more than %d actions in one write", ACT_MAX_ACTIONS);
	}
	if (l->n == l->cap) {
		int cap = l->cap ? l->cap * 2 : 16;
		struct action *v = realloc(l->v, (size_t)cap * sizeof *v);
		if (!v) {
			act_clear(a);
			return act_fail(p, -ENOMEM, "out of memory");
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *a;
	return 0;
}

int act_check_xy(struct act_parser *p, long long x, long long y)
{
	const struct act_screen *s = p->scr;

	if (x >= 0 && y >= 0 && x < s->width && y < s->height)
		return 0;
	if (s->native_w > 0)
		return act_fail(p, -EINVAL,
		                "coordinate (%lld,%lld) is off the %dx%d frame (scale=%dx%d; the "
		                "screen is %dx%d)",
		                x, y, s->width, s->height, s->width, s->height, s->native_w,
		                s->native_h);
	return act_fail(p, -EINVAL, "coordinate (%lld,%lld) is off the %dx%d screen", x, y,
	                s->width, s->height);
}

int act_set_xy(struct act_parser *p, struct action *a, long long x, long long y)
{
	int rc = act_check_xy(p, x, y);

	if (rc)
		return rc;
	a->x = (int)x;
	a->y = (int)y;
	a->at_cursor = 0;
	return 0;
}

/* Arrays grow to the next power of two when n reaches one. */
static int grow(void **v, int n, size_t size)
{
	void *nv;

	if (n & (n - 1))
		return 0;
	nv = realloc(*v, (size_t)(n ? n * 2 : 1) * size);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	return 0;
}

int act_add_point(struct act_parser *p, struct action *a, long long x, long long y)
{
	int rc = act_check_xy(p, x, y);

	if (rc)
		return rc;
	if (a->npath >= ACT_MAX_POINTS)
		return act_fail(p, -EINVAL, "more than %d points in one drag", ACT_MAX_POINTS);
	if (grow((void **)&a->path, a->npath, sizeof *a->path))
		return act_fail(p, -ENOMEM, "out of memory");
	a->path[a->npath].x = (int)x;
	a->path[a->npath].y = (int)y;
	a->npath++;
	return 0;
}

int act_set_settle(struct act_parser *p, struct action *a, long long quiet, long long max)
{
	if (quiet < 1 || quiet > ACT_MAX_MS || max < 0 || max > ACT_MAX_MS)
		return act_fail(p, -EINVAL,
		                "settle needs a quiet time of 1..%d ms and a bound of "
		                "0..%d ms",
		                ACT_MAX_MS, ACT_MAX_MS);
	a->ms = (int)quiet;
	a->max_ms = (int)max;
	return 0;
}

int act_set_text(struct act_parser *p, struct action *a, const char *s, size_t n)
{
	if (!n)
		return act_fail(p, -EINVAL, "nothing to type");
	if (memchr(s, '\0', n) || !utf8_valid(s, n))
		return act_fail(p, -EINVAL, "text to type is not valid UTF-8");
	free(a->text);
	a->text = malloc(n + 1);
	if (!a->text)
		return act_fail(p, -ENOMEM, "out of memory");
	memcpy(a->text, s, n);
	a->text[n] = '\0';
	return 0;
}

static int parse_chord(struct act_parser *p, const char *combo, struct act_chord *c)
{
	char kerr[160];
	int rc = act_parse_chord(combo, p->key, c, kerr, sizeof kerr);

	return rc ? act_fail(p, rc, "%s", kerr) : 0;
}

int act_add_chord(struct act_parser *p, struct action *a, const char *combo)
{
	struct act_chord c;
	int rc = parse_chord(p, combo, &c);

	return rc ? rc : act_push_chord(p, a, &c);
}

int act_push_chord(struct act_parser *p, struct action *a, const struct act_chord *c)
{
	if (a->nchords >= ACT_MAX_CHORDS)
		return act_fail(p, -EINVAL, "more than %d key combinations in one action",
		                ACT_MAX_CHORDS);
	if (grow((void **)&a->chords, a->nchords, sizeof *a->chords))
		return act_fail(p, -ENOMEM, "out of memory");
	a->chords[a->nchords++] = *c;
	return 0;
}

int act_add_key_seq(struct act_parser *p, struct action *a, const char *seq)
{
	const char *s = seq;
	int rc;

	for (;;) {
		char combo[256];
		size_t len;

		s += strspn(s, " \t");
		len = strcspn(s, " \t");
		if (!len)
			break;
		if (len >= sizeof combo)
			return act_fail(p, -EINVAL, "key combination '%.40s...' is too long", s);
		memcpy(combo, s, len);
		combo[len] = '\0';
		rc = act_add_chord(p, a, combo);
		if (rc)
			return rc;
		s += len;
	}
	if (!a->nchords)
		return act_fail(p, -EINVAL, "no keys given");
	return 0;
}

int act_set_mods(struct act_parser *p, struct action *a, const char *combo)
{
	return parse_chord(p, combo, &a->mods);
}

int act_word_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a >= 'A' && *a <= 'Z' ? (char)(*a + 32) : *a;
		char y = *b >= 'A' && *b <= 'Z' ? (char)(*b + 32) : *b;
		if (x != y)
			return 0;
	}
	return *a == *b;
}

int act_button(const char *word)
{
	static const struct {
		const char *name;
		int button;
	} names[] = {{"left", 1},  {"middle", 2}, {"wheel", 2},
	             {"right", 3}, {"back", 8},   {"forward", 9}};
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (act_word_eq(word, names[i].name))
			return names[i].button;
	return 0;
}

int act_scroll_dir(struct action *a, const char *word, int n)
{
	if (act_word_eq(word, "up"))
		a->dy = -n;
	else if (act_word_eq(word, "down"))
		a->dy = n;
	else if (act_word_eq(word, "left"))
		a->dx = -n;
	else if (act_word_eq(word, "right"))
		a->dx = n;
	else
		return -EINVAL;
	return 0;
}

/* ---- the text form ---- */

struct args {
	int n;
	char **v;
	const char *rest; /* after the verb and the one blank that follows it */
	const char *verb;
};

static int is_int(const char *s)
{
	if (*s == '-' || *s == '+')
		s++;
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* Meant as a number, even if malformed ("12abc", "1.5", "-3"). */
static int looks_numeric(const char *s)
{
	if (*s == '-' || *s == '+' || *s == '.')
		s++;
	return *s >= '0' && *s <= '9';
}

/* A whole decimal number in [lo, hi]; what names it in the error. */
static int num(struct act_parser *p, const char *s, const char *what, long long lo, long long hi,
               long long *out)
{
	long long v = 0;
	char *end;

	if (!is_int(s))
		return act_fail(p, -EINVAL, "%s '%.40s' is not a whole number", what, s);
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE)
		return act_fail(p, -EINVAL, "%s %.40s is too large", what, s);
	if (v < lo || v > hi)
		return act_fail(p, -EINVAL, "%s %.40s is out of range (%lld..%lld)", what, s, lo,
		                hi);
	*out = v;
	return 0;
}

/* An X or Y: range-checked against the screen by act_set_xy. */
static int coord_pair(struct act_parser *p, char **v, long long *x, long long *y)
{
	int rc = num(p, v[0], "x", LLONG_MIN, LLONG_MAX, x);

	return rc ? rc : num(p, v[1], "y", LLONG_MIN, LLONG_MAX, y);
}

static int xy(struct act_parser *p, struct action *a, char **v)
{
	long long x = 0, y = 0;
	int rc = coord_pair(p, v, &x, &y);

	return rc ? rc : act_set_xy(p, a, x, y);
}

static int text_button(struct act_parser *p, const char *word, int *button)
{
	static const char digits[] = {0, 1, 2, 3, 0, 0, 0, 0, 8, 9};

	*button = act_button(word);
	if (!*button && word[0] >= '0' && word[0] <= '9' && !word[1])
		*button = digits[word[0] - '0'];
	if (!*button)
		return act_fail(
		    p, -EINVAL,
		    "unknown button '%.40s' (left, right, middle, back, forward or 1, 2, 3)", word);
	return 0;
}

static int text_count(struct act_parser *p, const char *word, int *count)
{
	long long c = 1;
	int rc = num(p, word, "click count", 1, 3, &c);

	*count = (int)c;
	return rc;
}

/* click X Y [button] [count] | click [button] [count] */
static int text_click(struct act_parser *p, struct action *a, const struct args *g)
{
	int i = 0, rc;

	if (g->n >= 2 && looks_numeric(g->v[0])) {
		rc = xy(p, a, g->v);
		if (rc)
			return rc;
		i = 2;
	}
	if (g->n - i > 2)
		return act_fail(p, -EINVAL,
		                "click takes X Y [button] [count], or [button] [count]");
	if (i < g->n && (rc = text_button(p, g->v[i++], &a->button)))
		return rc;
	if (i < g->n && (rc = text_count(p, g->v[i++], &a->count)))
		return rc;
	return 0;
}

/* double_click [X Y], right_click [X Y], ... */
static int text_click_at(struct act_parser *p, struct action *a, const struct args *g)
{
	if (g->n == 2)
		return xy(p, a, g->v);
	if (g->n)
		return act_fail(p, -EINVAL, "%s takes X Y, or nothing to click at the pointer",
		                g->verb);
	return 0;
}

static int text_move(struct act_parser *p, struct action *a, const struct args *g)
{
	if (g->n != 2)
		return act_fail(p, -EINVAL, "%s takes X Y", g->verb);
	return xy(p, a, g->v);
}

static int text_drag(struct act_parser *p, struct action *a, const struct args *g)
{
	int i, rc;

	if (g->n < 4 || g->n % 2)
		return act_fail(p, -EINVAL, "drag takes X1 Y1 X2 Y2 [X3 Y3 ...]");
	for (i = 0; i < g->n; i += 2) {
		long long x = 0, y = 0;
		if ((rc = coord_pair(p, g->v + i, &x, &y)) || (rc = act_add_point(p, a, x, y)))
			return rc;
	}
	return 0;
}

/* drag_to X Y [X Y ...]: from the pointer, with the left button */
static int text_drag_to(struct act_parser *p, struct action *a, const struct args *g)
{
	int i, rc;

	if (g->n < 2 || g->n % 2)
		return act_fail(p, -EINVAL, "drag_to takes X Y [X Y ...] (from the pointer)");
	a->at_cursor = 1;
	for (i = 0; i < g->n; i += 2) {
		long long x = 0, y = 0;
		if ((rc = coord_pair(p, g->v + i, &x, &y)) || (rc = act_add_point(p, a, x, y)))
			return rc;
	}
	return 0;
}

/* down | down BUTTON | down X Y | down BUTTON X Y */
static int text_updown(struct act_parser *p, struct action *a, const struct args *g)
{
	int rc;

	switch (g->n) {
	case 0:
		return 0;
	case 1:
		return text_button(p, g->v[0], &a->button);
	case 2:
		return xy(p, a, g->v);
	case 3:
		rc = text_button(p, g->v[0], &a->button);
		return rc ? rc : xy(p, a, g->v + 1);
	}
	return act_fail(p, -EINVAL, "%s takes [button] [X Y]", g->verb);
}

/* scroll X Y DX DY | scroll up|down|left|right [N] [X Y] */
static int text_scroll(struct act_parser *p, struct action *a, const struct args *g)
{
	static const char usage[] = "scroll takes X Y DX DY, or up|down|left|right [N] [X Y]";
	long long n = 1, d = 0;
	int rc;

	if (g->n == 4 && looks_numeric(g->v[0])) {
		if ((rc = xy(p, a, g->v)) ||
		    (rc = num(p, g->v[2], "dx", -ACT_MAX_SCROLL, ACT_MAX_SCROLL, &d)))
			return rc;
		a->dx = (int)d;
		rc = num(p, g->v[3], "dy", -ACT_MAX_SCROLL, ACT_MAX_SCROLL, &d);
		a->dy = (int)d;
		return rc;
	}
	if (g->n < 1 || g->n > 4)
		return act_fail(p, -EINVAL, "%s", usage);
	if ((g->n == 2 || g->n == 4) &&
	    (rc = num(p, g->v[1], "scroll amount", 1, ACT_MAX_SCROLL, &n)))
		return rc;
	if (act_scroll_dir(a, g->v[0], (int)n))
		return act_fail(p, -EINVAL, "unknown scroll direction '%.40s'; %s", g->v[0], usage);
	if (g->n >= 3)
		return xy(p, a, g->v + g->n - 2);
	return 0;
}

static int text_type(struct act_parser *p, struct action *a, const struct args *g)
{
	return act_set_text(p, a, g->rest, strlen(g->rest));
}

static int text_key(struct act_parser *p, struct action *a, const struct args *g)
{
	if (!g->rest[strspn(g->rest, " \t")])
		return act_fail(p, -EINVAL, "%s takes key combinations, e.g. %s ctrl+s", g->verb,
		                g->verb);
	return act_add_key_seq(p, a, g->rest);
}

static int text_keyone(struct act_parser *p, struct action *a, const struct args *g)
{
	if (g->n != 1)
		return act_fail(p, -EINVAL, "%s takes one key combination, e.g. %s shift", g->verb,
		                g->verb);
	return act_add_chord(p, a, g->v[0]);
}

static int text_hold(struct act_parser *p, struct action *a, const struct args *g)
{
	long long ms = 0;
	int rc;

	if (g->n != 2)
		return act_fail(p, -EINVAL, "hold takes KEY MS, e.g. hold shift 500");
	if ((rc = act_add_chord(p, a, g->v[0])) ||
	    (rc = num(p, g->v[1], "milliseconds", 0, ACT_MAX_MS, &ms)))
		return rc;
	a->ms = (int)ms;
	return 0;
}

static int text_wait(struct act_parser *p, struct action *a, const struct args *g)
{
	long long ms = 0;
	int rc;

	if (g->n != 1)
		return act_fail(p, -EINVAL, "wait takes MS, e.g. wait 500");
	rc = num(p, g->v[0], "milliseconds", 0, ACT_MAX_MS, &ms);
	a->ms = (int)ms;
	return rc;
}

/* settle [QUIET_MS [MAX_MS]] */
static int text_settle(struct act_parser *p, struct action *a, const struct args *g)
{
	long long q = ACT_SETTLE_QUIET_MS, m = ACT_SETTLE_MAX_MS;
	int rc;

	if (g->n > 2)
		return act_fail(p, -EINVAL,
		                "settle takes [QUIET_MS [MAX_MS]], e.g. settle 300 5000");
	if (g->n >= 1 && (rc = num(p, g->v[0], "quiet milliseconds", 1, ACT_MAX_MS, &q)))
		return rc;
	if (g->n >= 2 && (rc = num(p, g->v[1], "milliseconds", 0, ACT_MAX_MS, &m)))
		return rc;
	return act_set_settle(p, a, q, m);
}

static int text_none(struct act_parser *p, struct action *a, const struct args *g)
{
	(void)a;
	if (g->n)
		return act_fail(p, -EINVAL, "%s takes no arguments", g->verb);
	return 0;
}

static const struct verb {
	const char *name;
	enum act_kind kind;
	int button, count;
	int (*parse)(struct act_parser *, struct action *, const struct args *);
} verbs[] = {
    {"click", ACT_CLICK, 1, 1, text_click},
    {"left_click", ACT_CLICK, 1, 1, text_click_at},
    {"leftclick", ACT_CLICK, 1, 1, text_click_at},
    {"double_click", ACT_CLICK, 1, 2, text_click_at},
    {"doubleclick", ACT_CLICK, 1, 2, text_click_at},
    {"triple_click", ACT_CLICK, 1, 3, text_click_at},
    {"tripleclick", ACT_CLICK, 1, 3, text_click_at},
    {"right_click", ACT_CLICK, 3, 1, text_click_at},
    {"rightclick", ACT_CLICK, 3, 1, text_click_at},
    {"middle_click", ACT_CLICK, 2, 1, text_click_at},
    {"middleclick", ACT_CLICK, 2, 1, text_click_at},
    {"move", ACT_MOVE, 1, 1, text_move},
    {"mousemove", ACT_MOVE, 1, 1, text_move},
    {"mouse_move", ACT_MOVE, 1, 1, text_move},
    {"drag", ACT_DRAG, 1, 1, text_drag},
    {"drag_to", ACT_DRAG, 1, 1, text_drag_to},
    {"down", ACT_DOWN, 1, 1, text_updown},
    {"mousedown", ACT_DOWN, 1, 1, text_updown},
    {"mouse_down", ACT_DOWN, 1, 1, text_updown},
    {"up", ACT_UP, 1, 1, text_updown},
    {"mouseup", ACT_UP, 1, 1, text_updown},
    {"mouse_up", ACT_UP, 1, 1, text_updown},
    {"scroll", ACT_SCROLL, 1, 1, text_scroll},
    {"type", ACT_TYPE, 1, 1, text_type},
    {"key", ACT_KEY, 1, 1, text_key},
    {"press", ACT_KEY, 1, 1, text_key},
    {"keydown", ACT_KEYDOWN, 1, 1, text_keyone},
    {"key_down", ACT_KEYDOWN, 1, 1, text_keyone},
    {"keyup", ACT_KEYUP, 1, 1, text_keyone},
    {"key_up", ACT_KEYUP, 1, 1, text_keyone},
    {"hold", ACT_HOLD, 1, 1, text_hold},
    {"hold_key", ACT_HOLD, 1, 1, text_hold},
    {"wait", ACT_WAIT, 1, 1, text_wait},
    {"sleep", ACT_WAIT, 1, 1, text_wait},
    {"screenshot", ACT_SCREENSHOT, 1, 1, text_none},
    {"cursor_position", ACT_CURSOR, 1, 1, text_none},
    {"settle", ACT_SETTLE, 1, 1, text_settle},
    {"done", ACT_DONE, 1, 1, text_none},
    {"fail", ACT_FAIL, 1, 1, text_none},
};

/* line: NUL-terminated, writable, leading blanks skipped. */
static int parse_text(struct act_parser *p, char *line)
{
	const struct verb *vb = NULL;
	struct args g = {0};
	struct action a;
	size_t i, vlen = strcspn(line, " \t");
	char *s, *rest;
	int rc;

	rest = line[vlen] ? line + vlen + 1 : line + vlen;
	line[vlen] = '\0';
	g.rest = rest;
	g.verb = line;
	for (i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (act_word_eq(line, verbs[i].name)) {
			vb = &verbs[i];
			break;
		}
	if (!vb)
		return act_fail(
		    p, -EINVAL,
		    "unknown action '%.40s' (try: click, double_click, move, drag, drag_to, "
		    "down, up, scroll, type, key, keydown, keyup, hold, wait, settle, "
		    "screenshot, cursor_position)",
		    line);
	act_init(p, &a, vb->kind);
	a.button = vb->button;
	a.count = vb->count;
	if (vb->kind != ACT_TYPE && vb->kind != ACT_KEY) { /* split the arguments in place */
		for (i = 0, s = rest; *(s += strspn(s, " \t")); i++)
			s += strcspn(s, " \t");
		g.v = malloc((i + 1) * sizeof *g.v);
		if (!g.v)
			return act_fail(p, -ENOMEM, "out of memory");
		for (s = rest; *(s += strspn(s, " \t"));) {
			g.v[g.n++] = s;
			s += strcspn(s, " \t");
			if (*s)
				*s++ = '\0';
		}
	}
	rc = vb->parse(p, &a, &g);
	free(g.v);
	if (rc) {
		act_clear(&a);
		return rc;
	}
	return act_append(p, &a);
}

/* ---- the driver ---- */

static int line_of(const char *buf, size_t off)
{
	int line = 1;
	const char *s = buf, *end = buf + off, *nl;

	while ((nl = memchr(s, '\n', (size_t)(end - s)))) {
		line++;
		s = nl + 1;
	}
	return line;
}

int act_parse(const char *buf, size_t len, const struct act_screen *scr, struct act_list *out,
              char *err, size_t errlen)
{
	return act_parse_with(buf, len, scr, NULL, out, err, errlen);
}

int act_parse_with(const char *buf, size_t len, const struct act_screen *scr, act_key_fn *key,
                   struct act_list *out, char *err, size_t errlen)
{
	struct act_parser p = {scr, key, out, 0, 0, err, errlen};
	char *copy, *s, *end;
	int rc = 0;

	*out = (struct act_list){0};
	if (err && errlen)
		err[0] = '\0';
	if (!buf && len)
		return act_fail(&p, -EINVAL, "no buffer");
	if (len > ACT_MAX_BYTES) {
		p.line = line_of(buf, ACT_MAX_BYTES);
		return act_fail(&p, -E2BIG, "the write is over %u MiB", ACT_MAX_BYTES >> 20);
	}
	if (!scr || scr->width <= 0 || scr->height <= 0)
		return act_fail(&p, -EINVAL, "no screen size");
	copy = malloc(len + 1);
	if (!copy)
		return act_fail(&p, -ENOMEM, "out of memory");
	if (len)
		memcpy(copy, buf, len);
	copy[len] = '\0';
	s = copy;
	end = copy + len;
	if (len >= 3 && !memcmp(s, "\xef\xbb\xbf", 3)) /* a byte order mark */
		s += 3;
	while (s < end && !rc) {
		char *nl = memchr(s, '\n', (size_t)(end - s));
		char *e = nl ? nl : end;

		p.line++;
		if (memchr(s, '\0', (size_t)(e - s))) {
			rc = act_fail(&p, -EINVAL, "NUL byte in the line");
			break;
		}
		if (e > s && e[-1] == '\r')
			e--;
		*e = '\0';
		if (!utf8_valid(s, (size_t)(e - s))) {
			rc = act_fail(&p, -EINVAL, "not valid UTF-8");
			break;
		}
		s += strspn(s, " \t");
		if (*s == '{' || *s == '[')
			rc = act_parse_json(&p, s);
		else if (*s && *s != '#')
			rc = parse_text(&p, s);
		s = nl ? nl + 1 : end;
	}
	free(copy);
	if (rc)
		act_list_free(out);
	return rc;
}

void act_list_free(struct act_list *l)
{
	int i;

	for (i = 0; i < l->n; i++)
		act_clear(&l->v[i]);
	free(l->v);
	*l = (struct act_list){0};
}

const char *act_kind_name(enum act_kind k)
{
	static const char *const names[] = {
	    [ACT_CLICK] = "click",
	    [ACT_MOVE] = "move",
	    [ACT_DRAG] = "drag",
	    [ACT_DOWN] = "down",
	    [ACT_UP] = "up",
	    [ACT_SCROLL] = "scroll",
	    [ACT_TYPE] = "type",
	    [ACT_KEY] = "key",
	    [ACT_KEYDOWN] = "keydown",
	    [ACT_KEYUP] = "keyup",
	    [ACT_HOLD] = "hold",
	    [ACT_WAIT] = "wait",
	    [ACT_SCREENSHOT] = "screenshot",
	    [ACT_CURSOR] = "cursor_position",
	    [ACT_SETTLE] = "settle",
	    [ACT_DONE] = "done",
	    [ACT_FAIL] = "fail",
	};

	if ((unsigned)k < sizeof names / sizeof names[0] && names[k])
		return names[k];
	return "unknown";
}
