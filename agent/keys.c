/*
 * keys.c - key names to X KeySyms, without a display.
 *
 *	key_lookup("Ctrl")          -> XK_Control_L   (alias)
 *	key_lookup("KP_Enter")      -> XK_KP_Enter    (X name, exact)
 *	key_lookup("kp_enter")      -> XK_KP_Enter    (X name, any case)
 *	key_lookup("A")             -> XK_a           (one character: that key, unshifted)
 *	key_parse_chord("ctrl++", &c, err, sizeof err)   -> Control_L, plus
 *	act_set_key_resolver(key_lookup);   (main.c: the action parser uses it)
 *
 * The aliases include pyautogui's key names, which OSWorld's actions use
 * (ctrlleft, winright, prntscrn, num0, add, browserback, playpause, ...).
 *
 * A name is tried, in order, as: one UTF-8 character; an alias (table
 * below); an exact X keysym name (XStringToKeysym, which also takes
 * "0xff0d" and "U20AC"); an X keysym name in any case. The last uses a
 * table of lower-cased names built once (pthread_once) by running every
 * keysym in 0x20..0xffff and 0x1008ff00..0x1008ffff (XF86) through
 * XKeysymToString, then sorted for binary search.
 *
 * Threads: libX11 loads its optional XKeysymDB file lazily with no lock,
 * so every entry point builds the table (which triggers that load) under
 * pthread_once before it calls into libX11. After that, the calls only read.
 *
 * Chords are split by common/act_keys.c (act_parse_chord), which asks
 * key_lookup for each key.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <X11/XF86keysym.h>
#include <X11/keysym.h>

#include "agent/keys.h"
#include "common/utf8.h"

#define KEY_NAME_MAX 64 /* longer than any X keysym name */

struct key_alias {
	const char *name; /* lower case */
	unsigned long sym;
};

static const struct key_alias aliases[] = {
    {"enter", XK_Return},
    {"return", XK_Return},
    {"esc", XK_Escape},
    {"escape", XK_Escape},
    {"ctrl", XK_Control_L},
    {"control", XK_Control_L},
    {"ctl", XK_Control_L},
    {"lctrl", XK_Control_L},
    {"lcontrol", XK_Control_L},
    {"rctrl", XK_Control_R},
    {"rcontrol", XK_Control_R},
    {"shift", XK_Shift_L},
    {"lshift", XK_Shift_L},
    {"rshift", XK_Shift_R},
    {"alt", XK_Alt_L},
    {"option", XK_Alt_L},
    {"opt", XK_Alt_L},
    {"lalt", XK_Alt_L},
    {"ralt", XK_Alt_R},
    {"altgr", XK_ISO_Level3_Shift},
    {"meta", XK_Meta_L},
    {"cmd", XK_Super_L},
    {"command", XK_Super_L},
    {"super", XK_Super_L},
    {"win", XK_Super_L},
    {"windows", XK_Super_L},
    {"lsuper", XK_Super_L},
    {"lwin", XK_Super_L},
    {"rsuper", XK_Super_R},
    {"rwin", XK_Super_R},
    {"tab", XK_Tab},
    {"space", XK_space},
    {"spacebar", XK_space},
    {"backspace", XK_BackSpace},
    {"bksp", XK_BackSpace},
    {"delete", XK_Delete},
    {"del", XK_Delete},
    {"insert", XK_Insert},
    {"ins", XK_Insert},
    {"home", XK_Home},
    {"end", XK_End},
    {"pageup", XK_Prior},
    {"pgup", XK_Prior},
    {"page_up", XK_Prior},
    {"pagedown", XK_Next},
    {"pgdn", XK_Next},
    {"page_down", XK_Next},
    {"up", XK_Up},
    {"down", XK_Down},
    {"left", XK_Left},
    {"right", XK_Right},
    {"arrowup", XK_Up},
    {"arrowdown", XK_Down},
    {"arrowleft", XK_Left},
    {"arrowright", XK_Right},
    {"capslock", XK_Caps_Lock},
    {"numlock", XK_Num_Lock},
    {"scrolllock", XK_Scroll_Lock},
    {"printscreen", XK_Print},
    {"print", XK_Print},
    {"prtsc", XK_Print},
    {"pause", XK_Pause},
    {"menu", XK_Menu},
    {"contextmenu", XK_Menu},
    {"apps", XK_Menu},
    {"minus", XK_minus},
    {"plus", XK_plus},
    {"equal", XK_equal},
    {"equals", XK_equal},
    {"comma", XK_comma},
    {"period", XK_period},
    {"dot", XK_period},
    {"slash", XK_slash},
    {"backslash", XK_backslash},
    {"semicolon", XK_semicolon},
    {"quote", XK_apostrophe},
    {"apostrophe", XK_apostrophe},
    {"grave", XK_grave},
    {"backtick", XK_grave},
    {"bracketleft", XK_bracketleft},
    {"bracketright", XK_bracketright},
    {"volumeup", XF86XK_AudioRaiseVolume},
    {"volume_up", XF86XK_AudioRaiseVolume},
    {"volumedown", XF86XK_AudioLowerVolume},
    {"volume_down", XF86XK_AudioLowerVolume},
    {"mute", XF86XK_AudioMute},
    {"volumemute", XF86XK_AudioMute},
    {"volume_mute", XF86XK_AudioMute},
    /* pyautogui's names (OSWorld) */
    {"ctrlleft", XK_Control_L},
    {"ctrlright", XK_Control_R},
    {"shiftleft", XK_Shift_L},
    {"shiftright", XK_Shift_R},
    {"altleft", XK_Alt_L},
    {"altright", XK_Alt_R},
    {"winleft", XK_Super_L},
    {"winright", XK_Super_R},
    {"optionleft", XK_Alt_L},
    {"optionright", XK_Alt_R},
    {"prntscrn", XK_Print},
    {"prtscr", XK_Print},
    {"num0", XK_KP_0},
    {"num1", XK_KP_1},
    {"num2", XK_KP_2},
    {"num3", XK_KP_3},
    {"num4", XK_KP_4},
    {"num5", XK_KP_5},
    {"num6", XK_KP_6},
    {"num7", XK_KP_7},
    {"num8", XK_KP_8},
    {"num9", XK_KP_9},
    {"add", XK_KP_Add},
    {"subtract", XK_KP_Subtract},
    {"multiply", XK_KP_Multiply},
    {"divide", XK_KP_Divide},
    {"decimal", XK_KP_Decimal},
    {"separator", XK_KP_Separator},
    {"browserback", XF86XK_Back},
    {"browserforward", XF86XK_Forward},
    {"browserrefresh", XF86XK_Reload},
    {"browserhome", XF86XK_HomePage},
    {"browsersearch", XF86XK_Search},
    {"browserstop", XF86XK_Stop},
    {"browserfavorites", XF86XK_Favorites},
    {"playpause", XF86XK_AudioPlay},
    {"nexttrack", XF86XK_AudioNext},
    {"prevtrack", XF86XK_AudioPrev},
    {"stop", XF86XK_AudioStop},
    {"launchmail", XF86XK_Mail},
    {"launchmediaselect", XF86XK_AudioMedia},
    {"launchapp1", XF86XK_Launch0},
    {"launchapp2", XF86XK_Launch1},
    {"sleep", XF86XK_Sleep},
    {"hanguel", XK_Hangul},
    {"hangul", XK_Hangul},
    {"hanja", XK_Hangul_Hanja},
    {"kana", XK_Katakana},
    {"kanji", XK_Kanji},
    {"convert", XK_Henkan},
    {"nonconvert", XK_Muhenkan},
    {"modechange", XK_Mode_switch},
    {"yen", XK_yen},
};

/* Every X keysym name, lower-cased, sorted; built once. */
struct key_entry {
	const char *lname;
	unsigned long sym;
	int upper; /* 1: the keysym is the shifted one of a case pair */
};

static struct key_entry *table;
static size_t table_n;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct key_entry *x = a, *y = b;
	int c = strcmp(x->lname, y->lname);

	if (c)
		return c;
	/* "Agrave" and "agrave" both read "agrave": prefer the unshifted one. */
	if (x->upper != y->upper)
		return x->upper - y->upper;
	return x->sym < y->sym ? -1 : x->sym > y->sym;
}

static void table_add(struct key_entry *v, size_t *n, char **arena, unsigned long ks)
{
	const char *name = XKeysymToString(ks);
	KeySym lower, upper;
	size_t i, len;

	if (!name)
		return;
	len = strlen(name);
	for (i = 0; i < len; i++)
		(*arena)[i] = ascii_lower(name[i]);
	(*arena)[len] = '\0';
	XConvertCase(ks, &lower, &upper);
	v[*n].lname = *arena;
	v[*n].sym = ks;
	v[*n].upper = ks != lower;
	*arena += len + 1;
	(*n)++;
}

/* Two passes: size the arena, then fill it. On ENOMEM the table stays empty. */
static void table_build(void)
{
	static const unsigned long ranges[][2] = {{0x20, 0xffff}, {0x1008ff00, 0x1008ffff}};
	size_t count = 0, bytes = 0, n = 0, r, i;
	unsigned long ks;
	struct key_entry *v;
	char *p;

	for (r = 0; r < 2; r++)
		for (ks = ranges[r][0]; ks <= ranges[r][1]; ks++) {
			const char *name = XKeysymToString(ks);
			if (name) {
				count++;
				bytes += strlen(name) + 1;
			}
		}
	v = malloc(count * sizeof *v + bytes);
	if (!v)
		return;
	p = (char *)(v + count);
	for (r = 0; r < 2; r++)
		for (ks = ranges[r][0]; ks <= ranges[r][1] && n < count; ks++)
			table_add(v, &n, &p, ks);
	qsort(v, n, sizeof *v, entry_cmp);
	/* Keep the first of each run of equal names. */
	count = 0;
	for (i = 0; i < n; i++)
		if (!count || strcmp(v[count - 1].lname, v[i].lname))
			v[count++] = v[i];
	table = v;
	table_n = count;
}

static unsigned long table_find(const char *lname)
{
	size_t lo = 0, hi = table_n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(lname, table[mid].lname);
		if (!c)
			return table[mid].sym;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NoSymbol;
}

/* The code point of s if s is exactly one well-formed UTF-8 character, else -1. */
static long one_codepoint(const char *s)
{
	size_t n = strlen(s);
	unsigned cp;
	int k = utf8_decode(s, n, &cp);

	return k > 0 && (size_t)k == n ? (long)cp : -1;
}

unsigned long key_from_codepoint(unsigned cp)
{
	if ((cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xff))
		return cp;
	switch (cp) {
	case '\n':
	case '\r':
		return XK_Return;
	case '\t':
		return XK_Tab;
	case '\b':
		return XK_BackSpace;
	}
	if (cp > 0x10ffff)
		return NoSymbol;
	return 0x01000000UL | cp;
}

unsigned long key_lookup(const char *name)
{
	char lname[KEY_NAME_MAX];
	unsigned long ks;
	size_t i, len;
	long cp;

	if (!name || !*name)
		return NoSymbol;
	cp = one_codepoint(name);
	if (cp >= 0) {
		if (cp >= 'A' && cp <= 'Z')
			cp += 'a' - 'A';
		return key_from_codepoint((unsigned)cp);
	}
	len = strlen(name);
	if (len >= sizeof lname)
		return NoSymbol;
	for (i = 0; i <= len; i++)
		lname[i] = ascii_lower(name[i]);
	for (i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
		if (!strcmp(lname, aliases[i].name))
			return aliases[i].sym;
	pthread_once(&table_once, table_build);
	ks = XStringToKeysym(name);
	if (ks != NoSymbol)
		return ks;
	return table_find(lname);
}

int key_parse_chord(const char *combo, struct act_chord *out, char *err, size_t errlen)
{
	return act_parse_chord(combo, key_lookup, out, err, errlen);
}
