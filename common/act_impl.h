/*
 * act_impl.h - private to the action parser (act.c, act_json.c,
 * act_keys.c, act_bound.c).
 *
 * act_parse() walks the lines; each line goes to the text parser in
 * act.c or to act_parse_json() in act_json.c. Both build one
 * struct action at a time on the stack:
 *
 *	struct action a;
 *	act_init(p, &a, ACT_CLICK);
 *	... fill a; on error: act_clear(&a); return act_fail(p, -EINVAL, "...");
 *	return act_append(p, &a);          (takes a's allocations, even on error)
 */
#ifndef DESKFS_ACT_IMPL_H
#define DESKFS_ACT_IMPL_H

#include "common/act.h"

struct act_parser {
	const struct act_screen *scr;
	act_key_fn *key; /* key names to KeySyms */
	struct act_list *out;
	int line; /* 1-based line being parsed */
	int item; /* 1-based element of a JSON array on that line, 0 if none */
	char *err;
	size_t errlen;
};

/* Fills p->err with "line N: " and the message; returns rc. */
int act_fail(struct act_parser *p, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* a = defaults for kind on p's line: button 1, count 1, at_cursor 0. */
void act_init(const struct act_parser *p, struct action *a, enum act_kind kind);
/* Frees what a owns (path, text, chords). */
void act_clear(struct action *a);
/* Moves a onto p->out; -E2BIG past ACT_MAX_ACTIONS, -ENOMEM. Frees a on error. */
int act_append(struct act_parser *p, struct action *a);

/* -EINVAL "coordinate (X,Y) is off the WxH screen" unless inside the screen. */
int act_check_xy(struct act_parser *p, long long x, long long y);
/* a->x, a->y = x, y once checked; at_cursor = 0. */
int act_set_xy(struct act_parser *p, struct action *a, long long x, long long y);
/* Appends a point to a->path. */
int act_add_point(struct act_parser *p, struct action *a, long long x, long long y);
/* a->ms, a->max_ms of a settle, checked. */
int act_set_settle(struct act_parser *p, struct action *a, long long quiet, long long max);
/* Copies s[0..n) to a->text; it must be non-empty, valid UTF-8. */
int act_set_text(struct act_parser *p, struct action *a, const char *s, size_t n);
/* Appends the chord "ctrl+s" to a->chords. */
int act_add_chord(struct act_parser *p, struct action *a, const char *combo);
/* Appends a parsed chord to a->chords. */
int act_push_chord(struct act_parser *p, struct action *a, const struct act_chord *c);
/* Appends each whitespace-separated chord of seq ("ctrl+a Delete"); at least one. */
int act_add_key_seq(struct act_parser *p, struct action *a, const char *seq);
/* Sets a->mods from the chord "shift" / "ctrl+shift". */
int act_set_mods(struct act_parser *p, struct action *a, const char *combo);

/* Case-insensitive (ASCII) word equality. */
int act_word_eq(const char *a, const char *b);
/* "left" 1, "middle"/"wheel" 2, "right" 3, "back" 8, "forward" 9; else 0. */
int act_button(const char *word);
/* up/down/left/right by n wheel clicks into a->dx, a->dy; -EINVAL otherwise. */
int act_scroll_dir(struct action *a, const char *word, int n);

/* Parses one JSON line (NUL-terminated) into p->out. */
int act_parse_json(struct act_parser *p, const char *line);
/* act_parse() with the key resolver given (NULL: the registered one). */
int act_parse_with(const char *buf, size_t len, const struct act_screen *scr, act_key_fn *key,
                   struct act_list *out, char *err, size_t errlen);

#endif
