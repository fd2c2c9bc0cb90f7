/*
 * test_keys.c - unit tests for keys.c: aliases, X keysym names in any
 * case, single characters, chords, and code points. No display needed.
 *
 *	make build/tests/test_keys && build/tests/test_keys
 *
 * Prints "not ok - NAME (file:line)" per failure and ends with
 * "N passed, N failed"; exits non-zero if anything failed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <X11/XF86keysym.h>
#include <X11/keysym.h>

#include "agent/keys.h"

static int passed, failed;

#define CHECK(cond, name)                                                                          \
	do {                                                                                       \
		if (cond) {                                                                        \
			passed++;                                                                  \
		} else {                                                                           \
			failed++;                                                                  \
			printf("not ok - %s (%s:%d)\n", name, __FILE__, __LINE__);                 \
		}                                                                                  \
	} while (0)

#define KEY(name, sym) CHECK(key_lookup(name) == (sym), "key_lookup " name)

static void test_aliases(void)
{
	KEY("enter", XK_Return);
	KEY("return", XK_Return);
	KEY("RETURN", XK_Return);
	KEY("Enter", XK_Return);
	KEY("esc", XK_Escape);
	KEY("Escape", XK_Escape);
	KEY("ctrl", XK_Control_L);
	KEY("Ctrl", XK_Control_L);
	KEY("CTRL", XK_Control_L);
	KEY("control", XK_Control_L);
	KEY("ctl", XK_Control_L);
	KEY("lctrl", XK_Control_L);
	KEY("rctrl", XK_Control_R);
	KEY("shift", XK_Shift_L);
	KEY("SHIFT", XK_Shift_L);
	KEY("alt", XK_Alt_L);
	KEY("option", XK_Alt_L);
	KEY("opt", XK_Alt_L);
	KEY("altgr", XK_ISO_Level3_Shift);
	KEY("meta", XK_Meta_L);
	KEY("cmd", XK_Super_L);
	KEY("command", XK_Super_L);
	KEY("super", XK_Super_L);
	KEY("win", XK_Super_L);
	KEY("windows", XK_Super_L);
	KEY("tab", XK_Tab);
	KEY("space", XK_space);
	KEY("SPACE", XK_space);
	KEY("backspace", XK_BackSpace);
	KEY("bksp", XK_BackSpace);
	KEY("delete", XK_Delete);
	KEY("del", XK_Delete);
	KEY("insert", XK_Insert);
	KEY("ins", XK_Insert);
	KEY("home", XK_Home);
	KEY("end", XK_End);
	KEY("pageup", XK_Prior);
	KEY("pgup", XK_Prior);
	KEY("page_up", XK_Prior);
	KEY("PageUp", XK_Prior);
	KEY("pagedown", XK_Next);
	KEY("pgdn", XK_Next);
	KEY("Page_Down", XK_Next);
	KEY("up", XK_Up);
	KEY("down", XK_Down);
	KEY("left", XK_Left);
	KEY("right", XK_Right);
	KEY("arrowup", XK_Up);
	KEY("ArrowDown", XK_Down);
	KEY("ARROWLEFT", XK_Left);
	KEY("arrowright", XK_Right);
	KEY("capslock", XK_Caps_Lock);
	KEY("CapsLock", XK_Caps_Lock);
	KEY("numlock", XK_Num_Lock);
	KEY("scrolllock", XK_Scroll_Lock);
	KEY("printscreen", XK_Print);
	KEY("print", XK_Print);
	KEY("pause", XK_Pause);
	KEY("menu", XK_Menu);
	KEY("minus", XK_minus);
	KEY("plus", XK_plus);
	KEY("equal", XK_equal);
	KEY("equals", XK_equal);
	KEY("comma", XK_comma);
	KEY("period", XK_period);
	KEY("slash", XK_slash);
	KEY("backslash", XK_backslash);
	KEY("semicolon", XK_semicolon);
	KEY("quote", XK_apostrophe);
	KEY("apostrophe", XK_apostrophe);
	KEY("grave", XK_grave);
	KEY("backtick", XK_grave);
	KEY("bracketleft", XK_bracketleft);
	KEY("BracketRight", XK_bracketright);
	KEY("volumeup", XF86XK_AudioRaiseVolume);
	KEY("VolumeDown", XF86XK_AudioLowerVolume);
	KEY("mute", XF86XK_AudioMute);
}

static void test_x_names(void)
{
	char name[16];
	int i, ok = 1;

	KEY("BackSpace", XK_BackSpace);
	KEY("backspace", XK_BackSpace);
	KEY("KP_Enter", XK_KP_Enter);
	KEY("kp_enter", XK_KP_Enter);
	KEY("KP_ADD", XK_KP_Add);
	KEY("kp_0", XK_KP_0);
	KEY("XF86AudioMute", XF86XK_AudioMute);
	KEY("xf86audioraisevolume", XF86XK_AudioRaiseVolume);
	KEY("XF86Back", XF86XK_Back);
	KEY("Prior", XK_Prior);
	KEY("Page_Up", XK_Prior);
	KEY("Super_R", XK_Super_R);
	KEY("control_r", XK_Control_R);
	KEY("ISO_Left_Tab", XK_ISO_Left_Tab);
	KEY("Agrave", XK_Agrave);
	KEY("agrave", XK_agrave);
	KEY("AGRAVE", XK_agrave); /* any case: the unshifted one */
	KEY("EuroSign", XK_EuroSign);
	KEY("0xff0d", XK_Return);
	KEY("U20AC", 0x010020ac);
	for (i = 1; i <= 24; i++) {
		snprintf(name, sizeof name, "f%d", i);
		ok &= key_lookup(name) == (unsigned long)(XK_F1 + i - 1);
		snprintf(name, sizeof name, "F%d", i);
		ok &= key_lookup(name) == (unsigned long)(XK_F1 + i - 1);
	}
	CHECK(ok, "f1..f24 and F1..F24");
}

static void test_chars(void)
{
	KEY("a", XK_a);
	KEY("A", XK_a); /* the A key: shift only if asked */
	KEY("z", XK_z);
	KEY("Z", XK_z);
	KEY("1", XK_1);
	KEY("+", XK_plus);
	KEY("-", XK_minus);
	KEY(" ", XK_space);
	KEY("/", XK_slash);
	KEY("é", XK_eacute);
	KEY("ß", XK_ssharp);
	KEY("€", 0x010020ac);
	KEY("😀", 0x0101f600);
	CHECK(key_lookup("\xc3") == 0, "truncated UTF-8 char is unknown");
	CHECK(key_from_codepoint('a') == XK_a, "cp a");
	CHECK(key_from_codepoint('~') == XK_asciitilde, "cp ~");
	CHECK(key_from_codepoint(0xa0) == XK_nobreakspace, "cp nbsp");
	CHECK(key_from_codepoint(0xff) == XK_ydiaeresis, "cp ydiaeresis");
	CHECK(key_from_codepoint('\n') == XK_Return, "cp newline");
	CHECK(key_from_codepoint('\t') == XK_Tab, "cp tab");
	CHECK(key_from_codepoint('\b') == XK_BackSpace, "cp backspace");
	CHECK(key_from_codepoint(0x100) == 0x01000100, "cp U+0100");
	CHECK(key_from_codepoint(0x4e2d) == 0x01004e2d, "cp CJK");
	CHECK(key_from_codepoint(0x110000) == 0, "cp beyond Unicode");
}

static void test_unknown(void)
{
	CHECK(key_lookup("frobnicate") == 0, "unknown name");
	CHECK(key_lookup("") == 0, "empty name");
	CHECK(key_lookup(NULL) == 0, "NULL name");
	CHECK(key_lookup("ctrl+s") == 0, "a chord is not a key name");
	CHECK(key_lookup("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	                 "aaaaaaa") == 0,
	      "very long name");
}

static void test_chords(void)
{
	struct act_chord c;
	char err[200];

	CHECK(key_parse_chord("ctrl+shift+t", &c, err, sizeof err) == 0 && c.n == 3 &&
	          c.sym[0] == XK_Control_L && c.sym[1] == XK_Shift_L && c.sym[2] == XK_t,
	      "ctrl+shift+t");
	CHECK(key_parse_chord("Return", &c, err, sizeof err) == 0 && c.n == 1 &&
	          c.sym[0] == XK_Return,
	      "single key chord");
	CHECK(key_parse_chord("+", &c, err, sizeof err) == 0 && c.n == 1 && c.sym[0] == XK_plus,
	      "lone + is the plus key");
	CHECK(key_parse_chord("ctrl++", &c, err, sizeof err) == 0 && c.n == 2 &&
	          c.sym[0] == XK_Control_L && c.sym[1] == XK_plus,
	      "ctrl++");
	CHECK(key_parse_chord("ctrl+++shift", &c, err, sizeof err) == 0 && c.n == 3 &&
	          c.sym[1] == XK_plus,
	      "ctrl+++shift");
	CHECK(key_parse_chord("CTRL+Alt+Delete", &c, err, sizeof err) == 0 && c.n == 3 &&
	          c.sym[2] == XK_Delete,
	      "mixed case chord");
	CHECK(key_parse_chord("a+b+c+d+e+f+g+h", &c, err, sizeof err) == 0 && c.n == 8,
	      "8 keys is the limit");
	CHECK(key_parse_chord("a+b+c+d+e+f+g+h+i", &c, err, sizeof err) == -EINVAL &&
	          strstr(err, "too many keys in chord"),
	      "9 keys is too many");
	CHECK(key_parse_chord("ctrl+foo", &c, err, sizeof err) == -EINVAL &&
	          !strcmp(err, "unknown key 'foo'"),
	      "unknown key message");
	CHECK(key_parse_chord("ctrl-c", &c, err, sizeof err) == -EINVAL &&
	          strstr(err, "unknown key 'ctrl-c'") && strstr(err, "'+'"),
	      "ctrl-c is not a chord");
	CHECK(key_parse_chord("ctrl+", &c, err, sizeof err) == -EINVAL, "trailing +");
	CHECK(key_parse_chord("", &c, err, sizeof err) == -EINVAL, "empty chord");
	CHECK(key_parse_chord("ctrl+s", &c, NULL, 0) == 0 && c.n == 2, "NULL err buffer");
	CHECK(key_parse_chord("nope", &c, NULL, 0) == -EINVAL, "NULL err buffer on error");
}

/* key_lookup from many threads at once: the table is built exactly once. */
static void *lookup_thread(void *arg)
{
	int i, *ok = arg;

	for (i = 0; i < 200; i++)
		*ok &= key_lookup("kp_enter") == XK_KP_Enter && key_lookup("Nope") == 0 &&
		       key_lookup("xf86audiomute") == XF86XK_AudioMute;
	return NULL;
}

static void test_threads(void)
{
	pthread_t t[8];
	int ok[8], i, all = 1;

	for (i = 0; i < 8; i++) {
		ok[i] = 1;
		pthread_create(&t[i], NULL, lookup_thread, &ok[i]);
	}
	for (i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		all &= ok[i];
	}
	CHECK(all, "concurrent lookups");
}

int main(void)
{
	test_threads(); /* first, so the table is built under contention */
	test_aliases();
	test_x_names();
	test_chars();
	test_unknown();
	test_chords();
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
