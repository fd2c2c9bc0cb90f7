/*
 * act.h - input actions: the parsed form, the parser for every dialect the
 * actions file accepts (text lines, Anthropic's computer tool, OpenAI
 * computer-use, E2B method calls, OSWorld's computer_13), the input timing
 * and frame a session asks for (struct act_opts), and the time a list may
 * take.
 *
 *	struct act_screen scr = { 1280, 800, 0, 0 };   (native: 0 0, no frame)
 *	struct act_list l = { 0 };
 *	char err[256];
 *	if (act_parse(body, len, &scr, &l, err, sizeof err) < 0)
 *		reply 400 with err;          (nothing is performed)
 *	... perform l.v[0 .. l.n-1] ...
 *	act_list_free(&l);
 *
 *	long extra = act_bound_ms(body, len);   (the daemon: how long may this take?)

        struct act_opts o;                       (a session's frame and input timing,
        act_opts_default(&o);                     as the daemon sends them to the agent
        act_opts_parse("frame=1024x768 click_gap=20", &o, err, sizeof err);
        act_opts_format(&o, buf, sizeof buf);     in the X-Deskfs-Options header)
 *
 * The parser is pure: no X, no display, no FUSE; both binaries link it.
 * Key names become KeySyms through a resolver: the agent registers the
 * real one (agent/keys.c, on libX11's keysym tables) with
 * act_set_key_resolver(key_lookup) at start; with none registered (the
 * daemon), any plausible key name is accepted as ACT_KEY_ANY.
 * act_list_free() frees everything act_parse() allocated.
 */
#ifndef DESKFS_ACT_H
#define DESKFS_ACT_H

#include <stddef.h>

enum act_kind {
	ACT_CLICK,      /* x,y (or at_cursor), button, count 1..3, mods */
	ACT_MOVE,       /* x,y */
	ACT_DRAG,       /* path[0..npath-1], button (default 1) */
	ACT_DOWN,       /* button, at x,y or at_cursor */
	ACT_UP,         /* button, at x,y or at_cursor */
	ACT_SCROLL,     /* dx,dy wheel clicks (+ = right/down) at x,y or at_cursor */
	ACT_TYPE,       /* text (UTF-8) */
	ACT_KEY,        /* chords[0..nchords-1], each pressed then released */
	ACT_KEYDOWN,    /* chords[0] pressed */
	ACT_KEYUP,      /* chords[0] released */
	ACT_HOLD,       /* chords[0] held for ms */
	ACT_WAIT,       /* ms */
	ACT_SCREENSHOT, /* no input; accepted so model transcripts replay */
	ACT_CURSOR,     /* no input; receipt carries the cursor position */
	ACT_SETTLE,     /* ms: quiet time; max_ms: the bound */
	ACT_DONE,       /* no input: the model says the task is done (OSWorld DONE) */
	ACT_FAIL,       /* no input: the model gives up (OSWorld FAIL) */
};

#define ACT_MAX_CHORD 8
#define ACT_MAX_MS 60000          /* a wait or hold longer than a minute is an error */
#define ACT_MAX_SCROLL 1000       /* wheel clicks per axis in one scroll */
#define ACT_MAX_ACTIONS 10000     /* actions in one act_parse(), else -E2BIG */
#define ACT_MAX_BYTES (16u << 20) /* bytes in one act_parse(), else -E2BIG */
#define ACT_SETTLE_QUIET_MS 100   /* settle's quiet time when none is given */
#define ACT_SETTLE_MAX_MS 5000    /* settle's bound when none is given */

struct act_chord {
	int n;
	unsigned long sym[ACT_MAX_CHORD]; /* KeySyms: pressed in order, released in reverse */
};

struct act_point {
	int x, y;
};

struct action {
	enum act_kind kind;
	int line;      /* 1-based line of the request it came from */
	int at_cursor; /* 1: no coordinate given, act where the pointer is */
	int x, y;      /* screen pixels, checked against act_screen */
	int button;    /* X button: 1 left, 2 middle, 3 right, 8 back, 9 forward */
	int count;     /* ACT_CLICK: 1..3 */
	int dx, dy;    /* ACT_SCROLL: wheel clicks */
	int npath;     /* ACT_DRAG: >= 2, or >= 1 with at_cursor (from the pointer) */
	struct act_point *path;
	char *text; /* ACT_TYPE: valid UTF-8, NUL-terminated */
	int nchords;
	struct act_chord *chords;
	struct act_chord mods; /* held around a click or scroll (Anthropic's "text") */
	int ms;                /* ACT_WAIT, ACT_HOLD; ACT_SETTLE: quiet time */
	int max_ms;            /* ACT_SETTLE: the bound */
};

struct act_list {
	int n, cap;
	struct action *v;
};

/* What coordinates are checked against: the screen, or the session's
 * frame (scale=WxH) when native_w > 0; errors then name the frame. */
struct act_screen {
	int width, height;
	int native_w, native_h; /* 0: no frame; else the screen the frame maps to */
};

/* A key name (no '+') to a KeySym; 0 (NoSymbol) when unknown. */
typedef unsigned long act_key_fn(const char *name);

/* The KeySym the lenient resolver gives every key name it accepts. */
#define ACT_KEY_ANY 0xffffffUL

/* The resolver act_parse() uses from now on; NULL: act_key_lenient.
 * Call it once, before any thread parses. */
void act_set_key_resolver(act_key_fn *fn);
/* Accepts any name a real resolver might (1..63 bytes) as ACT_KEY_ANY. */
unsigned long act_key_lenient(const char *name);
/* "ctrl+shift+t" -> a chord, each key through fn (NULL: the registered
 * resolver). A '+' where a key is expected is the plus key ("ctrl++").
 * -EINVAL with err on an unknown key, an empty part or too many keys. */
int act_parse_chord(const char *combo, act_key_fn *fn, struct act_chord *out, char *err,
                    size_t errlen);

/*
 * Parse buf[0..len) - one action per line; blank lines are skipped; a line
 * starting with '{' or '[' is JSON (an array holds several actions) - into
 * out. On error returns -EINVAL (or -E2BIG for absurd sizes), fills err with
 * "line N: what is wrong", and leaves out empty.
 */
int act_parse(const char *buf, size_t len, const struct act_screen *scr, struct act_list *out,
              char *err, size_t errlen);
void act_list_free(struct act_list *l);
const char *act_kind_name(enum act_kind k);

/*
 * Input timing: the deliberate pauses of the performer (agent/input.c),
 * each as short as the applications measured allow (README, "Input
 * timing"), tunable per session. All in milliseconds.
 *   click_gap     between the clicks of one double or triple click
 *   drag_step     after the press, between the steps of a drag's motion,
 *                 and before its release (ACT_DRAG_STEPS steps per segment)
 *   keymap_delay  after a spare keycode is bound to a new keysym, before
 *                 its key is pressed; and after a key was last pressed,
 *                 before its keycode may be bound to another keysym
 * A client that answers _NET_WM_PING (Chromium, GTK, Qt) is waited for
 * instead, until it answers (at most ACT_PING_MAX_MS), which proves it
 * handled what came before (agent/barrier.c): a keymap delay ends then,
 * and a drag's release waits three times the answer's latency more (the
 * time a browser's renderer takes to accept the drop, scaled by load).
 * Bounds count them: a multi-click costs (count - 1) gaps, a drag
 * 2 + ACT_DRAG_DWELL + ACT_DRAG_STEPS * segments steps and two ping waits,
 * and every ACT_REBIND_POOL_MIN keysyms that may need a spare keycode two
 * waits of the longer of keymap_delay and ACT_PING_MAX_MS (one pool of
 * spare keycodes is bound at once; Xvfb has 19, any X server at least
 * ACT_REBIND_POOL_MIN is assumed).
 */
struct act_timing {
	int click_gap, drag_step, keymap_delay;
};

#define ACT_CLICK_GAP_MS 0
#define ACT_DRAG_STEP_MS 20
#define ACT_KEYMAP_DELAY_MS 100
#define ACT_TIMING_MAX_MS 1000 /* each knob is 0..this */
#define ACT_DRAG_STEPS 8       /* motion steps per segment of a drag */
#define ACT_DRAG_DWELL 4       /* steps the target may take to catch up before the release */
#define ACT_PING_MAX_MS 1000   /* the longest wait for a client's _NET_WM_PING answer */
#define ACT_REBIND_POOL_MIN 8

/* What a session asks of the agent, besides the actions themselves: its
 * frame (0x0: none, coordinates are screen pixels) and its input timing.
 * Travels as text, "frame=WxH click_gap=N drag_step=N keymap_delay=N"
 * (any subset, any order). */
struct act_opts {
	int frame_w, frame_h;
	struct act_timing t;
};

void act_opts_default(struct act_opts *o);
/* Applies the pairs of text to o; -EINVAL with err on anything else. */
int act_opts_parse(const char *text, struct act_opts *o, char *err, size_t errlen);
/* The pairs that differ from the defaults ("" when none). */
void act_opts_format(const struct act_opts *o, char *out, size_t len);

/* The time, in milliseconds, that performing a may legitimately take on
 * top of the round trips: its wait, hold or settle, and the performer's
 * pauses under timing t (NULL: the defaults). */
long act_cost_ms(const struct action *a, const struct act_timing *t);
/*
 * The time, in milliseconds, that performing the actions in
 * text[0..len) may legitimately take beyond one request's round trips:
 * the sum of act_cost_ms() over the list. The text is parsed leniently
 * (any key name, any coordinate); 0 when it does not parse at all (the
 * agent refuses it at once). "type waiting" is 0, "wait 15000" 15000.
 * act_bound_ms_t() uses timing t (NULL: the defaults).
 */
long act_bound_ms(const char *text, size_t len);
long act_bound_ms_t(const char *text, size_t len, const struct act_timing *t);

#endif
