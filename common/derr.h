/*
 * derr.h - an error as a value: errno, a short machine code and words.
 * Filled where the failure is understood, carried up unchanged, and turned
 * into text only at the edges (the `error` file, events, stderr, an HTTP
 * body). Nobody splits "code: words" strings apart again.
 *
 *	struct derr e = DERR_INIT;
 *	return derr_set(&e, ENOENT, "xvfb_missing", "Xvfb not found in PATH (%s)", hint);
 *	...
 *	if (r < 0) fprintf(stderr, "%s: %s\n", e.code, e.msg);
 */
#ifndef DESKFS_DERR_H
#define DESKFS_DERR_H

#include <stddef.h>

struct derr {
	int err;       /* a positive errno; 0 until set */
	char code[40]; /* [a-z_]+, e.g. "agent_timeout" */
	char msg[900]; /* words for a person, one line */
};

#define DERR_INIT {0, "", ""}

/* Sets all three and returns -err, so `return derr_set(...)` reads well. */
int derr_set(struct derr *e, int err, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Words in front of what is already there: "while starting: <old words>". */
void derr_prefix(struct derr *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* e's errno, or fallback when it was never set. */
int derr_errno(const struct derr *e, int fallback);

#endif
