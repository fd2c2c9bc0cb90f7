/*
 * keys.h - key names to X KeySyms: X keysym names matched
 * case-insensitively, plus the aliases people and models use
 * ("enter", "esc", "ctrl", "cmd", "super", "win", "pageup", "ArrowLeft"...).
 *
 *	unsigned long ks = key_lookup("ctrl");       -> XK_Control_L
 *	struct act_chord c;
 *	if (key_parse_chord("ctrl+shift+t", &c, err, sizeof err) < 0) ...
 *
 * No display is needed; the tables come from libX11. key_lookup is the
 * resolver the agent registers for common/act.h's parser.
 */
#ifndef DESKFS_KEYS_H
#define DESKFS_KEYS_H

#include <stddef.h>
#include "common/act.h"

/* 0 (NoSymbol) when the name is unknown. A single character is its own keysym. */
unsigned long key_lookup(const char *name);
/* "ctrl+shift+t" -> chord; -EINVAL with err on an unknown name or empty part. */
int key_parse_chord(const char *combo, struct act_chord *out, char *err, size_t errlen);
/* The KeySym that types Unicode code point cp (Latin-1 direct, else 0x01000000|cp). */
unsigned long key_from_codepoint(unsigned cp);

#endif
