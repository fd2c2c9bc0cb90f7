/*
 * test_actions.c - unit tests for act_parse(): the text form, the four
 * JSON dialects (OSWorld's computer_13 too), settle, frames, the options
 * a session sends (act_opts), what bounds count, and every way a write can
 * be wrong.
 *
 *	make build/tests/test_actions && build/tests/test_actions
 *
 * Prints "not ok - NAME (file:line)" per failure and ends with
 * "N passed, N failed"; exits non-zero if anything failed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <X11/keysym.h>

#include "agent/keys.h"
#include "common/act.h"

#define STR(v) XSTR(v)
#define XSTR(v) #v

static int passed, failed;

#define CHECK(cond, name)                                                                          \
	do {                                                                                       \
		if (cond) {                                                                        \
			passed++;                                                                  \
		} else {                                                                           \
			failed++;                                                                  \
			printf("not ok - %s (%s:%d)\n", name, __FILE__, __LINE__);                 \
			if (err[0])                                                                \
				printf("#   err: %s\n", err);                                      \
		}                                                                                  \
	} while (0)

static const struct act_screen scr = {1280, 800, 0, 0};
static struct act_list L;
static char err[512];
static int rc;

static int parse_n(const char *s, size_t n)
{
	act_list_free(&L);
	memset(err, 0, sizeof err);
	rc = act_parse(s, n, &scr, &L, err, sizeof err);
	return rc;
}

static int parse(const char *s)
{
	return parse_n(s, strlen(s));
}

/* s parses to exactly one action of kind k. */
static int one(const char *s, enum act_kind k)
{
	return parse(s) == 0 && L.n == 1 && L.v[0].kind == k && L.v[0].line == 1;
}

/* s is rejected with -EINVAL, nothing is left in the list, err holds want. */
static int bad(const char *s, const char *want)
{
	return parse(s) == -EINVAL && L.n == 0 && L.v == NULL && strstr(err, want) != NULL;
}

static int at(const struct action *a, int x, int y)
{
	return !a->at_cursor && a->x == x && a->y == y;
}

static int chord_is(const struct act_chord *c, int n, unsigned long s0, unsigned long s1)
{
	return c->n == n && c->sym[0] == s0 && (n < 2 || c->sym[1] == s1);
}

static void test_click(void)
{
	CHECK(one("click 640 400", ACT_CLICK) && at(&L.v[0], 640, 400) && L.v[0].button == 1 &&
	          L.v[0].count == 1,
	      "click X Y");
	CHECK(one("click 0 0", ACT_CLICK) && at(&L.v[0], 0, 0), "click 0 0 is at 0,0");
	CHECK(one("click 1279 799", ACT_CLICK) && at(&L.v[0], 1279, 799),
	      "click at the last pixel");
	CHECK(one("click 640 400 right", ACT_CLICK) && L.v[0].button == 3, "click X Y right");
	CHECK(one("CLICK 1 2 Middle 2", ACT_CLICK) && L.v[0].button == 2 && L.v[0].count == 2,
	      "click keyword and button are case-insensitive, count");
	CHECK(one("click 1 2 3", ACT_CLICK) && L.v[0].button == 3, "click X Y 3 = right button");
	CHECK(one("click", ACT_CLICK) && L.v[0].at_cursor && L.v[0].button == 1, "click at cursor");
	CHECK(one("click right", ACT_CLICK) && L.v[0].at_cursor && L.v[0].button == 3,
	      "click right at cursor");
	CHECK(one("click left 3", ACT_CLICK) && L.v[0].at_cursor && L.v[0].count == 3,
	      "click button count at cursor");
	CHECK(one("  click\t5   6  ", ACT_CLICK) && at(&L.v[0], 5, 6), "blanks around args");
	CHECK(bad("click 1280 10", "coordinate (1280,10) is off the 1280x800 screen"),
	      "x = width is off screen");
	CHECK(bad("click 10 800", "off the 1280x800 screen"), "y = height is off screen");
	CHECK(bad("click -1 10", "coordinate (-1,10)"), "negative x");
	CHECK(bad("click 99999999999 5", "off the"), "huge x");
	CHECK(bad("click 99999999999999999999999 5", "too large"), "overflowing x");
	CHECK(bad("click 12abc 5", "'12abc' is not a whole number"), "12abc");
	CHECK(bad("click 1.5 5", "not a whole number"), "float pixel");
	CHECK(bad("click 640", "unknown button"), "click with one number that is not a button");
	CHECK(bad("click 1 2 left 4", "click count"), "click count 4");
	CHECK(bad("click 1 2 left 0", "click count"), "click count 0");
	CHECK(bad("click 1 2 up", "unknown button 'up'"), "bad button name");
	CHECK(bad("click 1 2 left 1 9", "click takes"), "too many click args");

	CHECK(one("double_click 10 20", ACT_CLICK) && L.v[0].count == 2 && at(&L.v[0], 10, 20),
	      "double_click");
	CHECK(one("doubleclick 10 20", ACT_CLICK) && L.v[0].count == 2, "doubleclick");
	CHECK(one("triple_click 10 20", ACT_CLICK) && L.v[0].count == 3, "triple_click");
	CHECK(one("TripleClick", ACT_CLICK) && L.v[0].count == 3 && L.v[0].at_cursor,
	      "tripleclick at cursor");
	CHECK(one("right_click 3 4", ACT_CLICK) && L.v[0].button == 3, "right_click");
	CHECK(one("middle_click 3 4", ACT_CLICK) && L.v[0].button == 2, "middle_click");
	CHECK(bad("double_click 10", "double_click takes X Y"), "double_click one arg");
}

static void test_move_drag(void)
{
	CHECK(one("move 100 200", ACT_MOVE) && at(&L.v[0], 100, 200), "move");
	CHECK(one("mousemove 1 2", ACT_MOVE) && one("mouse_move 1 2", ACT_MOVE), "move aliases");
	CHECK(bad("move 100", "move takes X Y"), "move one arg");
	CHECK(bad("move", "move takes X Y"), "move no args");
	CHECK(bad("move 1 2 3", "move takes X Y"), "move three args");
	CHECK(one("drag 10 10 300 300", ACT_DRAG) && L.v[0].npath == 2 && L.v[0].path[0].x == 10 &&
	          L.v[0].path[1].y == 300 && L.v[0].button == 1,
	      "drag");
	CHECK(one("drag 1 2 3 4 5 6", ACT_DRAG) && L.v[0].npath == 3 && L.v[0].path[2].x == 5,
	      "drag three points");
	CHECK(bad("drag 1 2 3", "drag takes"), "drag odd args");
	CHECK(bad("drag 1 2", "drag takes"), "drag one point");
	CHECK(bad("drag 1 2 3 900", "off the"), "drag off screen");
}

static void test_down_up(void)
{
	CHECK(one("down", ACT_DOWN) && L.v[0].at_cursor && L.v[0].button == 1, "down");
	CHECK(one("down left", ACT_DOWN) && L.v[0].at_cursor && L.v[0].button == 1, "down left");
	CHECK(one("up right", ACT_UP) && L.v[0].button == 3, "up right");
	CHECK(one("mousedown 5 6", ACT_DOWN) && at(&L.v[0], 5, 6), "mousedown X Y");
	CHECK(one("mouseup middle 5 6", ACT_UP) && L.v[0].button == 2 && at(&L.v[0], 5, 6),
	      "mouseup button X Y");
	CHECK(bad("down a b c d", "takes [button] [X Y]"), "down too many");
	CHECK(bad("up sideways", "unknown button"), "up bad button");
}

static void test_scroll(void)
{
	CHECK(one("scroll 640 400 0 5", ACT_SCROLL) && at(&L.v[0], 640, 400) && L.v[0].dx == 0 &&
	          L.v[0].dy == 5,
	      "scroll X Y DX DY");
	CHECK(one("scroll 1 1 -2 -3", ACT_SCROLL) && L.v[0].dx == -2 && L.v[0].dy == -3,
	      "scroll negative");
	CHECK(one("scroll down", ACT_SCROLL) && L.v[0].at_cursor && L.v[0].dy == 1,
	      "scroll down defaults to 1");
	CHECK(one("scroll down 3", ACT_SCROLL) && L.v[0].at_cursor && L.v[0].dy == 3,
	      "scroll down 3");
	CHECK(one("scroll UP 2", ACT_SCROLL) && L.v[0].dy == -2, "scroll up 2");
	CHECK(one("scroll left 4 10 20", ACT_SCROLL) && L.v[0].dx == -4 && at(&L.v[0], 10, 20),
	      "scroll left N X Y");
	CHECK(one("scroll right 10 20", ACT_SCROLL) && L.v[0].dx == 1 && at(&L.v[0], 10, 20),
	      "scroll right X Y");
	CHECK(bad("scroll sideways", "unknown scroll direction"), "scroll bad direction");
	CHECK(bad("scroll", "scroll takes"), "scroll no args");
	CHECK(bad("scroll down 0", "scroll amount"), "scroll amount 0");
	CHECK(bad("scroll down 3 2000 1", "off the"), "scroll off screen");
	CHECK(bad("scroll 1 1 0 100000", "dy"), "scroll too far");
}

static void test_type(void)
{
	CHECK(one("type Hello, wörld", ACT_TYPE) && !strcmp(L.v[0].text, "Hello, wörld"),
	      "type keeps UTF-8");
	CHECK(one("type  two  spaces ", ACT_TYPE) && !strcmp(L.v[0].text, " two  spaces "),
	      "type keeps spaces after the first");
	CHECK(one("type a\\nb", ACT_TYPE) && !strcmp(L.v[0].text, "a\\nb"), "type has no escapes");
	CHECK(one("TYPE x\r", ACT_TYPE) && !strcmp(L.v[0].text, "x"), "type strips a CR");
	CHECK(one("type 日本語 🎉", ACT_TYPE) && !strcmp(L.v[0].text, "日本語 🎉"),
	      "type CJK, emoji");
	CHECK(one("type #not a comment", ACT_TYPE) && !strcmp(L.v[0].text, "#not a comment"),
	      "type #");
	CHECK(bad("type", "nothing to type"), "type with nothing");
	CHECK(bad("type ", "nothing to type"), "type with one space");
	CHECK(bad("type \xff\xfe", "UTF-8"), "type invalid UTF-8");
	CHECK(bad("type \xc0\xaf", "UTF-8"), "type overlong UTF-8");
	CHECK(bad("type \xed\xa0\x80", "UTF-8"), "type UTF-16 surrogate");
	CHECK(bad("type \xe2\x82", "UTF-8"), "type truncated UTF-8");
}

static void test_keys(void)
{
	CHECK(one("key ctrl+s", ACT_KEY) && L.v[0].nchords == 1 &&
	          chord_is(&L.v[0].chords[0], 2, XK_Control_L, XK_s),
	      "key ctrl+s");
	CHECK(one("key ctrl+a Delete", ACT_KEY) && L.v[0].nchords == 2 &&
	          chord_is(&L.v[0].chords[0], 2, XK_Control_L, XK_a) &&
	          chord_is(&L.v[0].chords[1], 1, XK_Delete, 0),
	      "key sequence = 2 chords");
	CHECK(one("key   Return\t tab  ", ACT_KEY) && L.v[0].nchords == 2, "key sequence blanks");
	CHECK(one("key ctrl++", ACT_KEY) && chord_is(&L.v[0].chords[0], 2, XK_Control_L, XK_plus),
	      "key ctrl++");
	CHECK(one("key ctrl+shift+t", ACT_KEY) && L.v[0].chords[0].n == 3 &&
	          L.v[0].chords[0].sym[2] == XK_t,
	      "key three-key chord");
	CHECK(bad("key", "key takes"), "key with nothing");
	CHECK(bad("key ctrl+frob", "unknown key 'frob'"), "key unknown");
	CHECK(bad("key ctrl-c", "join the keys"), "key ctrl-c hints at +");
	CHECK(bad("key a+b+c+d+e+f+g+h+i", "too many keys in chord"), "key chord > 8");
	CHECK(bad("key ctrl+", "missing key"), "key trailing +");
	CHECK(one("keydown shift", ACT_KEYDOWN) && chord_is(&L.v[0].chords[0], 1, XK_Shift_L, 0),
	      "keydown");
	CHECK(one("keyup Shift", ACT_KEYUP) && L.v[0].nchords == 1, "keyup");
	CHECK(bad("keydown a b", "one key combination"), "keydown two");
	CHECK(bad("keyup", "one key combination"), "keyup none");
	CHECK(one("hold shift 500", ACT_HOLD) && L.v[0].ms == 500 && L.v[0].nchords == 1, "hold");
	CHECK(bad("hold shift", "hold takes"), "hold no ms");
	CHECK(bad("hold shift 60001", "out of range"), "hold too long");
}

static void test_misc_verbs(void)
{
	CHECK(one("wait 500", ACT_WAIT) && L.v[0].ms == 500, "wait");
	CHECK(one("wait 0", ACT_WAIT) && L.v[0].ms == 0, "wait 0");
	CHECK(one("wait 60000", ACT_WAIT) && L.v[0].ms == 60000, "wait max");
	CHECK(bad("wait 60001", "out of range"), "wait too long");
	CHECK(bad("wait -1", "out of range"), "wait negative");
	CHECK(bad("wait 1.5", "not a whole number"), "wait float");
	CHECK(bad("wait", "wait takes"), "wait no args");
	CHECK(one("screenshot", ACT_SCREENSHOT), "screenshot");
	CHECK(one("cursor_position", ACT_CURSOR), "cursor_position");
	CHECK(bad("screenshot now", "takes no arguments"), "screenshot with args");
	CHECK(bad("frobnicate 1 2", "unknown action 'frobnicate' (try: click"), "unknown verb");
	CHECK(!strcmp(act_kind_name(ACT_CLICK), "click") &&
	          !strcmp(act_kind_name(ACT_CURSOR), "cursor_position") &&
	          !strcmp(act_kind_name((enum act_kind)99), "unknown"),
	      "act_kind_name");
}

static void test_lines(void)
{
	CHECK(parse("click 1 1\n\n  \nmove 2 2\r\n# a comment\nkey a\n") == 0 && L.n == 3 &&
	          L.v[0].line == 1 && L.v[1].line == 4 && L.v[2].line == 6,
	      "blank lines, CRLF, comments; .line set");
	CHECK(parse("") == 0 && L.n == 0, "empty write is no actions");
	CHECK(parse("click 1 1\nmove 5 5\nclick 1 1 left 7\nmove 1 1") == -EINVAL && L.n == 0 &&
	          L.v == NULL && !strncmp(err, "line 3: ", 8),
	      "one bad line: EINVAL, empty list, names the line");
	CHECK(parse("click 1 1\n{\"action\": \"nope\"}") == -EINVAL && L.n == 0 &&
	          !strncmp(err, "line 2: ", 8),
	      "bad JSON line after a good one");
	CHECK(parse_n("click 1 1\nmove 1\0 1", 20) == -EINVAL && L.n == 0 &&
	          strstr(err, "line 2") && strstr(err, "NUL"),
	      "NUL byte");
	CHECK(parse("\xef\xbb\xbfmove 1 1") == 0 && L.n == 1, "byte order mark skipped");
	CHECK(bad("move 1 1\nmove 2 \x80", "line 2: not valid UTF-8"), "invalid UTF-8 anywhere");
	CHECK(one("click 1 1", ACT_CLICK) && L.v[0].button == 1 && L.v[0].count == 1, "defaults");
}

static void test_limits(void)
{
	size_t big = (17u << 20), i;
	char *s = malloc(big + 1);

	if (!s)
		abort();
	memset(s, 'a', big);
	memcpy(s, "type ", 5);
	s[big] = '\0';
	CHECK(parse_n(s, big) == -E2BIG && L.n == 0 && strstr(err, "line 1"), "17 MiB line: E2BIG");
	/* 10001 actions */
	for (i = 0; i < 10001; i++)
		memcpy(s + i * 7, "wait 0\n", 7);
	CHECK(parse_n(s, 10000 * 7) == 0 && L.n == 10000, "10000 actions");
	CHECK(parse_n(s, 10001 * 7) == -E2BIG && L.n == 0 && L.v == NULL, "10001 actions: E2BIG");
	free(s);
}

static void test_anthropic(void)
{
	CHECK(one("{\"action\": \"left_click\", \"coordinate\": [640, 400]}", ACT_CLICK) &&
	          at(&L.v[0], 640, 400) && L.v[0].button == 1,
	      "anthropic left_click");
	CHECK(one("{\"action\": \"left_click\", \"coordinate\": [640.0, 400]}", ACT_CLICK) &&
	          at(&L.v[0], 640, 400),
	      "anthropic 640.0 is whole");
	CHECK(bad("{\"action\": \"left_click\", \"coordinate\": [640.5, 400]}", "whole pixels"),
	      "anthropic 640.5");
	CHECK(one("{\"action\": \"left_click\"}", ACT_CLICK) && L.v[0].at_cursor,
	      "anthropic left_click at cursor");
	CHECK(one("{\"action\": \"left_click\", \"coordinate\": [1, 2], \"text\": \"shift\"}",
	          ACT_CLICK) &&
	          chord_is(&L.v[0].mods, 1, XK_Shift_L, 0),
	      "anthropic click with modifier");
	CHECK(one("{\"action\": \"right_click\", \"coordinate\": [1, 2]}", ACT_CLICK) &&
	          L.v[0].button == 3,
	      "anthropic right_click");
	CHECK(one("{\"action\": \"middle_click\"}", ACT_CLICK) && L.v[0].button == 2,
	      "anthropic middle_click");
	CHECK(one("{\"action\": \"double_click\", \"coordinate\": [1, 2]}", ACT_CLICK) &&
	          L.v[0].count == 2,
	      "anthropic double_click");
	CHECK(one("{\"action\": \"triple_click\", \"coordinate\": [1, 2]}", ACT_CLICK) &&
	          L.v[0].count == 3,
	      "anthropic triple_click");
	CHECK(one("{\"action\": \"mouse_move\", \"coordinate\": [5, 6]}", ACT_MOVE) &&
	          at(&L.v[0], 5, 6),
	      "anthropic mouse_move");
	CHECK(bad("{\"action\": \"mouse_move\"}",
	          "line 1: anthropic mouse_move needs coordinate [x, y]"),
	      "anthropic mouse_move without coordinate");
	CHECK(bad("{\"action\": \"mouse_move\", \"coordinate\": [1280, 0]}", "off the 1280x800"),
	      "anthropic off screen");
	CHECK(bad("{\"action\": \"mouse_move\", \"coordinate\": \"5,6\"}", "coordinate [x, y]"),
	      "anthropic coordinate wrong type");
	CHECK(bad("{\"action\": \"mouse_move\", \"coordinate\": [5]}", "coordinate [x, y]"),
	      "anthropic coordinate short");
	CHECK(one("{\"action\": \"left_click_drag\", \"start_coordinate\": [1, 2], "
	          "\"coordinate\": [3, 4]}",
	          ACT_DRAG) &&
	          L.v[0].npath == 2 && L.v[0].path[1].x == 3,
	      "anthropic left_click_drag");
	CHECK(bad("{\"action\": \"left_click_drag\", \"coordinate\": [3, 4]}",
	          "line 1: anthropic left_click_drag needs start_coordinate [x, y]"),
	      "anthropic drag without start");
	CHECK(one("{\"action\": \"left_mouse_down\"}", ACT_DOWN) && L.v[0].at_cursor,
	      "anthropic left_mouse_down");
	CHECK(one("{\"action\": \"left_mouse_up\", \"coordinate\": [7, 8]}", ACT_UP) &&
	          at(&L.v[0], 7, 8),
	      "anthropic left_mouse_up");
	CHECK(one("{\"action\": \"key\", \"text\": \"ctrl+s\"}", ACT_KEY) &&
	          chord_is(&L.v[0].chords[0], 2, XK_Control_L, XK_s),
	      "anthropic key");
	CHECK(one("{\"action\": \"key\", \"text\": \"ctrl+a Delete\"}", ACT_KEY) &&
	          L.v[0].nchords == 2,
	      "anthropic key sequence");
	CHECK(bad("{\"action\": \"key\", \"text\": 5}", "anthropic key needs text as a string"),
	      "anthropic key text number");
	CHECK(one("{\"action\": \"type\", \"text\": \"Hello, w\\u00f6rld \\ud83c\\udf89\"}",
	          ACT_TYPE) &&
	          !strcmp(L.v[0].text, "Hello, wörld 🎉"),
	      "anthropic type with escapes");
	CHECK(bad("{\"action\": \"type\", \"text\": \"a\\u0000b\"}", "\\u0000"), "escaped NUL");
	CHECK(bad("{\"action\": \"type\"}", "anthropic type needs text"), "anthropic type no text");
	CHECK(one("{\"action\": \"scroll\", \"coordinate\": [10, 20], \"scroll_direction\": "
	          "\"down\", \"scroll_amount\": 3}",
	          ACT_SCROLL) &&
	          L.v[0].dy == 3 && at(&L.v[0], 10, 20),
	      "anthropic scroll");
	CHECK(one("{\"action\": \"scroll\", \"scroll_direction\": \"left\", \"text\": \"ctrl\"}",
	          ACT_SCROLL) &&
	          L.v[0].dx == -1 && L.v[0].at_cursor && L.v[0].mods.n == 1,
	      "anthropic scroll at cursor with mods");
	CHECK(
	    bad("{\"action\": \"scroll\", \"scroll_direction\": \"diagonal\"}", "scroll_direction"),
	    "anthropic scroll bad direction");
	CHECK(bad("{\"action\": \"scroll\", \"scroll_direction\": \"up\", \"scroll_amount\": "
	          "\"3\"}",
	          "scroll_amount as a whole number"),
	      "anthropic scroll_amount string");
	CHECK(one("{\"action\": \"hold_key\", \"text\": \"shift\", \"duration\": 1.5}", ACT_HOLD) &&
	          L.v[0].ms == 1500 && chord_is(&L.v[0].chords[0], 1, XK_Shift_L, 0),
	      "anthropic hold_key");
	CHECK(bad("{\"action\": \"hold_key\", \"text\": \"shift\", \"duration\": 61}", "seconds"),
	      "anthropic hold too long");
	CHECK(one("{\"action\": \"wait\", \"duration\": 0.25}", ACT_WAIT) && L.v[0].ms == 250,
	      "anthropic wait");
	CHECK(bad("{\"action\": \"wait\"}", "wait needs duration"), "anthropic wait no duration");
	CHECK(one("{\"action\": \"screenshot\"}", ACT_SCREENSHOT), "anthropic screenshot");
	CHECK(one("{\"action\": \"cursor_position\"}", ACT_CURSOR), "anthropic cursor_position");
	CHECK(bad("{\"action\": \"dance\"}", "unknown anthropic action 'dance'"),
	      "anthropic unknown");
	CHECK(one("{\"type\": \"tool_use\", \"id\": \"toolu_1\", \"name\": \"computer\", "
	          "\"input\": {\"action\": \"left_click\", \"coordinate\": [3, 4]}}",
	          ACT_CLICK) &&
	          at(&L.v[0], 3, 4),
	      "anthropic tool_use block");
	CHECK(one("{\"input\": {\"action\": \"mouse_move\", \"coordinate\": [3, 4]}}", ACT_MOVE),
	      "anthropic input wrapper");
	CHECK(bad("{\"type\": \"tool_use\", \"name\": \"computer\"}", "no input"),
	      "tool_use without input");
}

static void test_openai(void)
{
	CHECK(one("{\"type\": \"click\", \"x\": 10, \"y\": 20, \"button\": \"left\"}", ACT_CLICK) &&
	          at(&L.v[0], 10, 20) && L.v[0].button == 1,
	      "openai click");
	CHECK(
	    one("{\"type\": \"click\", \"x\": 10, \"y\": 20, \"button\": \"right\"}", ACT_CLICK) &&
	        L.v[0].button == 3,
	    "openai right");
	CHECK(
	    one("{\"type\": \"click\", \"x\": 10, \"y\": 20, \"button\": \"wheel\"}", ACT_CLICK) &&
	        L.v[0].button == 2,
	    "openai wheel");
	CHECK(one("{\"type\": \"click\", \"x\": 10, \"y\": 20, \"button\": \"back\"}", ACT_CLICK) &&
	          L.v[0].button == 8,
	      "openai back");
	CHECK(one("{\"type\": \"click\", \"x\": 10, \"y\": 20, \"button\": \"forward\"}",
	          ACT_CLICK) &&
	          L.v[0].button == 9,
	      "openai forward");
	CHECK(one("{\"type\": \"click\", \"x\": 10, \"y\": 20}", ACT_CLICK) && L.v[0].button == 1,
	      "openai click default button");
	CHECK(bad("{\"type\": \"click\", \"x\": 10}", "openai click needs y"), "openai click no y");
	CHECK(bad("{\"type\": \"click\", \"x\": \"10\", \"y\": 1}", "openai click needs x"),
	      "openai x string");
	CHECK(bad("{\"type\": \"click\", \"x\": 10, \"y\": 20, \"button\": \"thumb\"}", "button"),
	      "openai bad button");
	CHECK(one("{\"type\": \"double_click\", \"x\": 1, \"y\": 2}", ACT_CLICK) &&
	          L.v[0].count == 2,
	      "openai double_click");
	CHECK(one("{\"type\": \"move\", \"x\": 1, \"y\": 2}", ACT_MOVE), "openai move");
	CHECK(one("{\"type\": \"drag\", \"path\": [{\"x\": 1, \"y\": 2}, {\"x\": 3, \"y\": 4}, "
	          "{\"x\": 5, \"y\": 6}]}",
	          ACT_DRAG) &&
	          L.v[0].npath == 3 && L.v[0].path[2].y == 6,
	      "openai drag");
	CHECK(bad("{\"type\": \"drag\", \"path\": [{\"x\": 1, \"y\": 2}]}", "at least 2 points"),
	      "openai drag one point");
	CHECK(bad("{\"type\": \"drag\", \"path\": [{\"x\": 1}, {\"x\": 3, \"y\": 4}]}", "path"),
	      "openai drag missing y");
	CHECK(one("{\"type\": \"keypress\", \"keys\": [\"CTRL\", \"A\"]}", ACT_KEY) &&
	          L.v[0].nchords == 1 && chord_is(&L.v[0].chords[0], 2, XK_Control_L, XK_a),
	      "openai keypress is one chord");
	CHECK(one("{\"type\": \"keypress\", \"keys\": [\"ENTER\"]}", ACT_KEY) &&
	          chord_is(&L.v[0].chords[0], 1, XK_Return, 0),
	      "openai ENTER");
	CHECK(bad("{\"type\": \"keypress\", \"keys\": []}", "openai keypress needs keys"),
	      "openai keypress empty");
	CHECK(
	    bad("{\"type\": \"keypress\", \"keys\": [\"CTRL\", \"BOGUS\"]}", "unknown key 'BOGUS'"),
	    "openai keypress unknown");
	CHECK(one("{\"type\": \"scroll\", \"x\": 5, \"y\": 6, \"scroll_x\": 0, \"scroll_y\": 240}",
	          ACT_SCROLL) &&
	          L.v[0].dy == 2 && L.v[0].dx == 0 && at(&L.v[0], 5, 6),
	      "openai scroll 240 px = 2 clicks");
	CHECK(one("{\"type\": \"scroll\", \"x\": 5, \"y\": 6, \"scroll_x\": -30, \"scroll_y\": 1}",
	          ACT_SCROLL) &&
	          L.v[0].dx == -1 && L.v[0].dy == 1,
	      "openai small scrolls are one click");
	CHECK(one("{\"type\": \"scroll\", \"x\": 5, \"y\": 6, \"scroll_x\": 0, \"scroll_y\": -121}",
	          ACT_SCROLL) &&
	          L.v[0].dy == -2,
	      "openai scroll rounds away from zero");
	CHECK(bad("{\"type\": \"scroll\", \"x\": 5, \"y\": 6, \"scroll_x\": 0}", "scroll_y"),
	      "openai scroll no scroll_y");
	CHECK(one("{\"type\": \"type\", \"text\": \"hi there\"}", ACT_TYPE) &&
	          !strcmp(L.v[0].text, "hi there"),
	      "openai type");
	CHECK(one("{\"type\": \"wait\"}", ACT_WAIT) && L.v[0].ms == 1000, "openai wait default");
	CHECK(one("{\"type\": \"wait\", \"ms\": 200}", ACT_WAIT) && L.v[0].ms == 200,
	      "openai wait ms");
	CHECK(one("{\"type\": \"screenshot\"}", ACT_SCREENSHOT), "openai screenshot");
	CHECK(one("{\"type\": \"computer_call\", \"call_id\": \"c1\", \"action\": {\"type\": "
	          "\"click\", \"x\": 1, \"y\": 2, \"button\": \"left\"}}",
	          ACT_CLICK),
	      "openai computer_call wrapper");
	CHECK(one("{\"action\": {\"type\": \"move\", \"x\": 1, \"y\": 2}}", ACT_MOVE),
	      "openai action wrapper");
	CHECK(bad("{\"type\": \"computer_call\"}", "no action"), "computer_call without action");
	CHECK(bad("{\"type\": \"teleport\"}", "unknown openai action 'teleport'"),
	      "openai unknown");
}

static void test_e2b(void)
{
	CHECK(one("{\"method\": \"left_click\", \"x\": 1, \"y\": 2}", ACT_CLICK) &&
	          at(&L.v[0], 1, 2),
	      "e2b left_click named");
	CHECK(one("{\"method\": \"left_click\", \"args\": [3, 4]}", ACT_CLICK) && at(&L.v[0], 3, 4),
	      "e2b left_click positional");
	CHECK(one("{\"method\": \"left_click\"}", ACT_CLICK) && L.v[0].at_cursor,
	      "e2b left_click at cursor");
	CHECK(bad("{\"method\": \"left_click\", \"x\": 1}", "e2b left_click needs y"),
	      "e2b x without y");
	CHECK(one("{\"method\": \"right_click\"}", ACT_CLICK) && L.v[0].button == 3,
	      "e2b right_click");
	CHECK(one("{\"method\": \"middle_click\", \"args\": [1, 1]}", ACT_CLICK) &&
	          L.v[0].button == 2,
	      "e2b middle_click");
	CHECK(one("{\"method\": \"double_click\", \"x\": 1, \"y\": 1}", ACT_CLICK) &&
	          L.v[0].count == 2,
	      "e2b double_click");
	CHECK(one("{\"method\": \"move_mouse\", \"args\": [9, 8]}", ACT_MOVE) && at(&L.v[0], 9, 8),
	      "e2b move_mouse");
	CHECK(bad("{\"method\": \"move_mouse\"}", "e2b move_mouse needs x"), "e2b move no x");
	CHECK(one("{\"method\": \"mouse_press\"}", ACT_DOWN) && L.v[0].button == 1,
	      "e2b mouse_press default left");
	CHECK(one("{\"method\": \"mouse_release\", \"button\": \"right\"}", ACT_UP) &&
	          L.v[0].button == 3,
	      "e2b mouse_release right");
	CHECK(one("{\"method\": \"mouse_press\", \"args\": [\"middle\"]}", ACT_DOWN) &&
	          L.v[0].button == 2,
	      "e2b mouse_press positional");
	CHECK(one("{\"method\": \"scroll\"}", ACT_SCROLL) && L.v[0].dy == 1,
	      "e2b scroll defaults down 1");
	CHECK(one("{\"method\": \"scroll\", \"direction\": \"up\", \"amount\": 5}", ACT_SCROLL) &&
	          L.v[0].dy == -5,
	      "e2b scroll up 5");
	CHECK(one("{\"method\": \"scroll\", \"args\": [\"up\", 2]}", ACT_SCROLL) && L.v[0].dy == -2,
	      "e2b scroll positional");
	CHECK(one("{\"method\": \"write\", \"text\": \"hello\"}", ACT_TYPE) &&
	          !strcmp(L.v[0].text, "hello"),
	      "e2b write");
	CHECK(one("{\"method\": \"write\", \"args\": [\"hi\"]}", ACT_TYPE), "e2b write positional");
	CHECK(bad("{\"method\": \"write\", \"args\": \"hi\"}", "args as a list"),
	      "e2b args string");
	CHECK(one("{\"method\": \"press\", \"key\": \"ctrl+s\"}", ACT_KEY) &&
	          chord_is(&L.v[0].chords[0], 2, XK_Control_L, XK_s),
	      "e2b press string");
	CHECK(one("{\"method\": \"press\", \"args\": [[\"ctrl\", \"s\"]]}", ACT_KEY) &&
	          L.v[0].nchords == 1 && chord_is(&L.v[0].chords[0], 2, XK_Control_L, XK_s),
	      "e2b press list");
	CHECK(bad("{\"method\": \"press\", \"key\": 7}", "e2b press needs key"),
	      "e2b press number");
	CHECK(one("{\"method\": \"drag\", \"fr\": [1, 2], \"to\": [3, 4]}", ACT_DRAG) &&
	          L.v[0].npath == 2 && L.v[0].path[1].y == 4,
	      "e2b drag");
	CHECK(one("{\"method\": \"drag\", \"args\": [[1, 2], [3, 4]]}", ACT_DRAG), "e2b drag args");
	CHECK(bad("{\"method\": \"drag\", \"fr\": [1, 2]}", "e2b drag needs to [x, y]"),
	      "e2b drag no to");
	CHECK(one("{\"method\": \"wait\", \"ms\": 300}", ACT_WAIT) && L.v[0].ms == 300, "e2b wait");
	CHECK(one("{\"method\": \"wait\", \"args\": [0]}", ACT_WAIT) && L.v[0].ms == 0,
	      "e2b wait positional");
	CHECK(one("{\"method\": \"screenshot\"}", ACT_SCREENSHOT), "e2b screenshot");
	CHECK(one("{\"method\": \"get_cursor_position\"}", ACT_CURSOR), "e2b get_cursor_position");
	CHECK(bad("{\"method\": \"launch\"}", "unknown e2b action 'launch'"), "e2b unknown");
}

static void test_osworld(void)
{
#define OS(t, p) "{\"action_type\": \"" t "\", \"parameters\": {" p "}}"
	CHECK(one(OS("CLICK", "\"x\": 5, \"y\": 6"), ACT_CLICK) && at(&L.v[0], 5, 6) &&
	          L.v[0].button == 1 && L.v[0].count == 1,
	      "osworld CLICK");
	CHECK(one(OS("CLICK", "\"button\": \"right\", \"num_clicks\": 3"), ACT_CLICK) &&
	          L.v[0].at_cursor && L.v[0].button == 3 && L.v[0].count == 3,
	      "osworld CLICK at the cursor, button and num_clicks");
	CHECK(one("{\"action_type\": \"CLICK\"}", ACT_CLICK) && L.v[0].at_cursor,
	      "osworld CLICK without parameters");
	CHECK(bad(OS("CLICK", "\"num_clicks\": 4"), "num_clicks 4 is out of range"),
	      "osworld num_clicks 4");
	CHECK(bad(OS("CLICK", "\"button\": \"back\""), "osworld CLICK needs button"),
	      "osworld CLICK button back");
	CHECK(bad(OS("CLICK", "\"x\": 5"), "osworld CLICK needs y"), "osworld x alone");
	CHECK(one(OS("MOVE_TO", "\"x\": 7, \"y\": 8"), ACT_MOVE) && at(&L.v[0], 7, 8),
	      "osworld MOVE_TO");
	CHECK(bad(OS("MOVE_TO", ""), "osworld MOVE_TO needs x"), "osworld MOVE_TO no x");
	CHECK(one(OS("MOUSE_DOWN", "\"button\": \"middle\""), ACT_DOWN) && L.v[0].button == 2 &&
	          L.v[0].at_cursor,
	      "osworld MOUSE_DOWN");
	CHECK(one(OS("MOUSE_UP", ""), ACT_UP) && L.v[0].button == 1, "osworld MOUSE_UP");
	CHECK(one(OS("RIGHT_CLICK", "\"x\": 1, \"y\": 1"), ACT_CLICK) && L.v[0].button == 3,
	      "osworld RIGHT_CLICK");
	CHECK(one(OS("DOUBLE_CLICK", ""), ACT_CLICK) && L.v[0].count == 2 && L.v[0].at_cursor,
	      "osworld DOUBLE_CLICK");
	CHECK(one(OS("DRAG_TO", "\"x\": 30, \"y\": 40"), ACT_DRAG) && L.v[0].at_cursor &&
	          L.v[0].npath == 1 && L.v[0].path[0].x == 30,
	      "osworld DRAG_TO: from the pointer");
	CHECK(bad(OS("DRAG_TO", "\"x\": 3000, \"y\": 4"), "off the 1280x800 screen"),
	      "osworld DRAG_TO off screen");
	CHECK(one(OS("SCROLL", "\"dx\": 2, \"dy\": 3"), ACT_SCROLL) && L.v[0].dx == 2 &&
	          L.v[0].dy == -3,
	      "osworld SCROLL: dy > 0 is up (pyautogui)");
	CHECK(bad(OS("SCROLL", "\"dy\": 3"), "osworld SCROLL needs dx"), "osworld SCROLL no dx");
	CHECK(one(OS("TYPING", "\"text\": \"h\u00e9\""), ACT_TYPE) &&
	          !strcmp(L.v[0].text, "h\xc3\xa9"),
	      "osworld TYPING");
	CHECK(bad(OS("TYPING", "\"text\": \"\""), "needs text (not empty)"),
	      "osworld TYPING empty");
	CHECK(one(OS("PRESS", "\"key\": \"enter\""), ACT_KEY) &&
	          chord_is(&L.v[0].chords[0], 1, XK_Return, 0),
	      "osworld PRESS enter");
	CHECK(one(OS("PRESS", "\"key\": \"ctrlleft\""), ACT_KEY) &&
	          chord_is(&L.v[0].chords[0], 1, XK_Control_L, 0),
	      "osworld PRESS ctrlleft (pyautogui's name)");
	CHECK(one(OS("KEY_DOWN", "\"key\": \"shiftleft\""), ACT_KEYDOWN) &&
	          chord_is(&L.v[0].chords[0], 1, XK_Shift_L, 0),
	      "osworld KEY_DOWN");
	CHECK(one(OS("KEY_UP", "\"key\": \"num5\""), ACT_KEYUP) &&
	          chord_is(&L.v[0].chords[0], 1, XK_KP_5, 0),
	      "osworld KEY_UP num5");
	CHECK(one(OS("HOTKEY", "\"keys\": [\"ctrl\", \"shift\", \"t\"]"), ACT_KEY) &&
	          L.v[0].nchords == 1 && L.v[0].chords[0].n == 3 && L.v[0].chords[0].sym[2] == XK_t,
	      "osworld HOTKEY is one chord");
	CHECK(bad(OS("HOTKEY", "\"keys\": \"\""), "empty key combination"), "osworld HOTKEY empty");
	CHECK(one("{\"action_type\": \"WAIT\"}", ACT_WAIT) && L.v[0].ms == 2000,
	      "osworld WAIT: OSWorld's 2 s");
	CHECK(one(OS("WAIT", "\"seconds\": 0.25"), ACT_WAIT) && L.v[0].ms == 250,
	      "osworld WAIT seconds");
	CHECK(one("{\"action_type\": \"DONE\"}", ACT_DONE), "osworld DONE");
	CHECK(one("{\"action_type\": \"FAIL\"}", ACT_FAIL), "osworld FAIL");
	CHECK(parse("[\"WAIT\", \"DONE\"]") == 0 && L.n == 2 && L.v[0].kind == ACT_WAIT &&
	          L.v[1].kind == ACT_DONE,
	      "osworld bare WAIT and DONE in an array");
	CHECK(bad("[\"NOPE\"]", "must be a JSON object"), "a bare string that is no action");
	CHECK(bad("{\"action_type\": \"JUMP\"}", "unknown osworld action 'JUMP'"),
	      "osworld unknown");
	CHECK(bad("{\"action_type\": \"CLICK\", \"parameters\": [1]}", "parameters as an object"),
	      "osworld parameters not an object");
	CHECK(bad("[" OS("CLICK", "") ", " OS("MOVE_TO", "\"x\": 1") "]", "item 2"),
	      "osworld all or nothing, the item named");
#undef OS
}

static void test_settle_frame(void)
{
	static const struct act_screen frame = {1024, 768, 1920, 1080};
	struct act_opts o;
	char buf[160];

	CHECK(one("settle", ACT_SETTLE) && L.v[0].ms == ACT_SETTLE_QUIET_MS &&
	          L.v[0].max_ms == ACT_SETTLE_MAX_MS,
	      "settle: defaults");
	CHECK(one("settle 300", ACT_SETTLE) && L.v[0].ms == 300 &&
	          L.v[0].max_ms == ACT_SETTLE_MAX_MS,
	      "settle QUIET");
	CHECK(one("settle 300 900", ACT_SETTLE) && L.v[0].max_ms == 900, "settle QUIET MAX");
	CHECK(bad("settle 0", "quiet milliseconds 0 is out of range"), "settle 0");
	CHECK(bad("settle 1 2 3", "settle takes"), "settle 3 numbers");
	CHECK(bad("settle 100 60001", "out of range"), "settle max too long");
	CHECK(one("{\"action\": \"settle\", \"quiet_ms\": 50}", ACT_SETTLE) && L.v[0].ms == 50,
	      "anthropic settle");
	CHECK(one("{\"type\": \"settle\", \"max_ms\": 70}", ACT_SETTLE) && L.v[0].max_ms == 70,
	      "openai settle");
	CHECK(one("{\"method\": \"settle\", \"args\": [20, 30]}", ACT_SETTLE) && L.v[0].ms == 20 &&
	          L.v[0].max_ms == 30,
	      "e2b settle positional");
	CHECK(bad("{\"method\": \"settle\", \"args\": [0]}", "out of range"), "e2b settle 0");
	CHECK(one("drag_to 5 6 7 8", ACT_DRAG) && L.v[0].at_cursor && L.v[0].npath == 2,
	      "drag_to: from the pointer");
	CHECK(bad("drag_to 5", "drag_to takes"), "drag_to one number");
	CHECK(one("done", ACT_DONE) && one("FAIL", ACT_FAIL), "done and fail");

	act_list_free(&L);
	rc = act_parse("click 1023 767", 14, &frame, &L, err, sizeof err);
	CHECK(rc == 0 && at(&L.v[0], 1023, 767), "a frame takes its own last pixel");
	act_list_free(&L);
	rc = act_parse("click 1024 10", 13, &frame, &L, err, sizeof err);
	CHECK(rc == -EINVAL && strstr(err, "off the 1024x768 frame") &&
	          strstr(err, "screen is 1920x1080"),
	      "an off-frame coordinate names the frame and the screen");

	act_opts_default(&o);
	CHECK(act_opts_parse("frame=1024x768 click_gap=3,keymap_delay=7", &o, err, sizeof err) ==
	              0 &&
	          o.frame_w == 1024 && o.frame_h == 768 && o.t.click_gap == 3 &&
	          o.t.drag_step == ACT_DRAG_STEP_MS && o.t.keymap_delay == 7,
	      "act_opts_parse");
	act_opts_format(&o, buf, sizeof buf);
	CHECK(!strcmp(buf, "frame=1024x768 click_gap=3 drag_step=" STR(
	                       ACT_DRAG_STEP_MS) " keymap_delay=7"),
	      "act_opts_format");
	CHECK(act_opts_parse("frame=none", &o, err, sizeof err) == 0 && o.frame_w == 0,
	      "frame=none");
	CHECK(act_opts_parse("frame=10x10", &o, err, sizeof err) < 0, "a 10x10 frame is refused");
	CHECK(act_opts_parse("click_gap=1001", &o, err, sizeof err) < 0 && strstr(err, "click_gap"),
	      "a knob over a second is refused");
	CHECK(act_opts_parse("colour=red", &o, err, sizeof err) < 0, "an unknown option");
	CHECK(act_opts_parse(NULL, &o, err, sizeof err) == 0, "no options");

	struct act_timing t = {10, 20, 30};
	CHECK(act_bound_ms_t("double_click 1 1", 16, &t) == 10, "bound: a double click, one gap");
	CHECK(act_bound_ms_t("triple_click 1 1", 16, &t) == 20, "bound: a triple click, two gaps");
	CHECK(act_bound_ms_t("drag 1 1 2 2 3 3", 16, &t) ==
	          (2 + ACT_DRAG_DWELL + 2 * ACT_DRAG_STEPS) * 20 + 2 * ACT_PING_MAX_MS,
	      "bound: a drag of two segments");
	CHECK(act_bound_ms_t("settle 100 700", 14, &t) == 700, "bound: settle, its bound");
	CHECK(act_bound_ms_t("type \xce\xb1", 7, &t) == 2 * ACT_PING_MAX_MS,
	      "bound: a spare keycode, two waits");
}

static void test_json_shapes(void)
{
	size_t i, n = 10000;
	char *deep = malloc(2 * n + 1);

	CHECK(parse("[{\"action\": \"left_click\", \"coordinate\": [1, 2]}, {\"type\": \"move\", "
	            "\"x\": 3, \"y\": 4}, {\"method\": \"write\", \"text\": \"x\"}]") == 0 &&
	          L.n == 3 && L.v[0].kind == ACT_CLICK && L.v[1].kind == ACT_MOVE &&
	          L.v[2].kind == ACT_TYPE && L.v[2].line == 1,
	      "array of mixed dialects");
	CHECK(parse("[]") == 0 && L.n == 0, "empty array");
	CHECK(bad("[{\"type\": \"move\", \"x\": 3, \"y\": 4}, {\"type\": \"move\"}]",
	          "line 1: item 2: openai move needs x"),
	      "array error names the item");
	CHECK(bad("[[{\"type\": \"move\", \"x\": 3, \"y\": 4}]]", "must be a JSON object"),
	      "nested array");
	CHECK(bad("{\"action\": \"left_click\", \"coordinate\": [1, 2]", "invalid JSON"),
	      "truncated JSON");
	CHECK(bad("{\"action\": \"left_click\"} trailing", "invalid JSON"), "trailing junk");
	CHECK(bad("{\"foo\": 1}", "needs an \"action\""), "unrecognised object");
	CHECK(bad("{\"action\": 5}", "needs an \"action\""), "action is a number");
	CHECK(bad("{\"type\": \"move\", \"x\": 1e300, \"y\": 1}", "needs x"), "huge JSON number");
	CHECK(bad("{\"type\": \"move\", \"x\": -0.5, \"y\": 1}", "needs x"), "fractional JSON x");
	CHECK(bad("{\"type\": \"move\", \"x\": 5000000000, \"y\": 1}", "off the"),
	      "JSON x beyond int");
	CHECK(bad("{\"type\": \"type\", \"text\": \"\xc3\"}", "UTF-8"), "invalid UTF-8 in JSON");
	CHECK(bad("{\"type\": \"type\", \"text\": \"\\udc00\"}", "invalid JSON"),
	      "lone surrogate escape");
	CHECK(bad("{\"input\": {\"input\": {\"input\": {\"input\": {\"input\": {\"input\": "
	          "{}}}}}}}",
	          "too deep"),
	      "wrappers too deep");
	if (!deep)
		abort();
	for (i = 0; i < n; i++)
		deep[i] = '[', deep[n + i] = ']';
	deep[2 * n] = '\0';
	CHECK(bad(deep, "invalid JSON"), "10000 [ deep");
	for (i = 0; i + 6 < 2 * n; i += 6)
		memcpy(deep + i, "{\"a\":", 5), deep[i + 5] = ' ';
	deep[i] = '\0';
	CHECK(bad(deep, "invalid JSON"), "3333 objects deep, unterminated");
	free(deep);
	CHECK(parse_n("{\"type\": \"move\", \"x\": 1, \"y\": 1}\0", 34) == -EINVAL && L.n == 0,
	      "NUL after JSON");
	CHECK(one("   {\"type\": \"screenshot\"}   ", ACT_SCREENSHOT), "blanks around JSON");
}

int main(void)
{
	act_set_key_resolver(key_lookup); /* as the agent does */
	test_click();
	test_move_drag();
	test_down_up();
	test_scroll();
	test_type();
	test_keys();
	test_misc_verbs();
	test_lines();
	test_limits();
	test_anthropic();
	test_openai();
	test_e2b();
	test_osworld();
	test_settle_frame();
	test_json_shapes();
	act_list_free(&L);
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
