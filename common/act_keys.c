/*
 * act_keys.c - key chords for the action parser: "ctrl+shift+t" split at
 * '+', each key name turned into a KeySym by a resolver, and the resolver
 * hook itself.
 *
 *	act_set_key_resolver(key_lookup);          (the agent, at start)
 *	act_parse_chord("ctrl++", NULL, &c, err, sizeof err)   -> ctrl, plus
 *	act_key_lenient("Return") -> ACT_KEY_ANY   (the daemon: no keysym tables)
 *
 * The lenient resolver accepts every name a real one could (1..63 bytes),
 * so a lenient parse accepts all that the agent's accepts.
 *
 * Chords join keys with '+' only. A '+' where a key name is expected is the
 * plus key, so "+" and "ctrl++" work; "ctrl-c" is not a chord (it is an
 * unknown key, and the error says to use '+'), because '-' is itself a key.
 *
 * Threads: the resolver is an atomic pointer, set once at start; resolvers
 * must be callable from any thread.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "common/act_impl.h"

#define KEY_NAME_MAX 64 /* longer than any X keysym name */

static _Atomic(act_key_fn *) registered;

void act_set_key_resolver(act_key_fn *fn)
{
	atomic_store(&registered, fn);
}

unsigned long act_key_lenient(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	/* whatever a real resolver might take: " " and "\t" are keys too */
	return n > 0 && n < KEY_NAME_MAX ? ACT_KEY_ANY : 0;
}

/* "ctrl-c" reads like a chord; say how to write one. */
static int unknown_key(const char *name, size_t len, char *err, size_t errlen)
{
	int dash = len > 1 && memchr(name, '-', len);

	if (err && errlen)
		snprintf(err, errlen, "unknown key '%.*s'%s", (int)(len > 40 ? 40 : len), name,
		         dash ? " (join the keys of a chord with '+', e.g. ctrl+c)" : "");
	return -EINVAL;
}

int act_parse_chord(const char *combo, act_key_fn *fn, struct act_chord *out, char *err,
                    size_t errlen)
{
	const char *p = combo;
	struct act_chord c = {0};

	if (!fn)
		fn = atomic_load(&registered);
	if (!fn)
		fn = act_key_lenient;
	if (!combo || !*combo) {
		if (err && errlen)
			snprintf(err, errlen, "empty key combination");
		return -EINVAL;
	}
	for (;;) {
		char name[KEY_NAME_MAX];
		size_t len = *p == '+' ? 1 : strcspn(p, "+");
		unsigned long ks = 0;

		if (len == 0) { /* "ctrl+" */
			if (err && errlen)
				snprintf(err, errlen, "missing key after '+' in '%.40s'", combo);
			return -EINVAL;
		}
		if (len < sizeof name) {
			memcpy(name, p, len);
			name[len] = '\0';
			ks = fn(name);
		}
		if (ks == 0)
			return unknown_key(p, len, err, errlen);
		if (c.n == ACT_MAX_CHORD) {
			if (err && errlen)
				snprintf(err, errlen, "too many keys in chord '%.40s' (at most %d)",
				         combo, ACT_MAX_CHORD);
			return -EINVAL;
		}
		c.sym[c.n++] = ks;
		p += len;
		if (!*p)
			break;
		p++; /* the '+' between keys */
	}
	*out = c;
	return 0;
}
