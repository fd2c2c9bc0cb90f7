/*
 * xconn.h - the agent's one X connection: open/close, error handlers,
 * the event drain (damage, root resize, keymap changes) and an error log
 * that maps asynchronous X errors back to the request that caused them.
 *
 *	struct xconn x;
 *	if (xconn_open(&x, ":5", err, sizeof err) < 0) exit 2;
 *	unsigned long mark = xconn_error_mark(&x);
 *	... requests ...; XSync(x.dpy, False);
 *	if (xconn_error_since(mark, &e)) ... e.serial, e.text ...
 *	xconn_close(&x);
 *
 * Threads: the Display is used by one thread at a time (the X worker of
 * desk.h while serving, the main thread before it starts and after it is
 * joined), so no XLockDisplay anywhere. The error log is process-global
 * and touched only from the thread that owns the Display (the main
 * thread's second, idle "watch" Display only ever reads events: an error
 * there cannot happen, and an IO error ends the process either way).
 */
#ifndef DESKFS_XCONN_H
#define DESKFS_XCONN_H

#include <stddef.h>
#include <X11/Xlib.h>
#include <X11/extensions/Xdamage.h>

struct xconn {
	Display *dpy;
	char name[128]; /* display name as opened, e.g. ":5" */
	int screen;
	Window root;
	Visual *visual;
	int depth;
	int width, height; /* root size, kept current from ConfigureNotify */

	int have_damage;             /* XDamage present and a damage object on root */
	int damage_event;            /* event base of XDamage */
	Damage damage;               /* XDamageReportNonEmpty on the root window */
	int damaged;                 /* a DamageNotify (or resize) arrived since the last reset */
	unsigned long damage_events; /* DamageNotify events read so far */
	double damage_ms;            /* CLOCK_MONOTONIC ms when the last one was read */
	int xkb_event;               /* event base of XKB, or -1 */
	Atom wm_protocols, net_wm_ping;
	unsigned long pong; /* data.l[1] of the last _NET_WM_PING answer seen on the root */
	int keymap_gen;     /* bumped on MappingNotify, XkbMapNotify, XkbNewKeyboardNotify */
};

struct xconn_error {
	unsigned long serial;
	int error_code, request_code, minor_code;
	int foreign; /* caused inside an xconn_foreign_begin/end bracket */
	char text[160];
};

/* Installs the process-wide error and IO error handlers (idempotent). */
void xconn_install_handlers(void);
/* The IO error handler removes path (the agent's unix socket) before _exit(3). */
void xconn_unlink_on_loss(const char *path);
/* Opens name (NULL: $DISPLAY); on failure -ENOTCONN with err "display_unreachable: ...". */
int xconn_open(struct xconn *x, const char *name, char *err, size_t errlen);
void xconn_close(struct xconn *x);
/* Read and handle every queued event without blocking. */
void xconn_drain(struct xconn *x);
/* Round trip, then drain: afterwards every event the server generated
 * before our request (e.g. damage from another client's drawing) is seen. */
void xconn_sync_drain(struct xconn *x);
/* Clear the damage region and the damaged flag (call right before capture). */
void xconn_damage_reset(struct xconn *x);
/* Clear the damage region only, so the next change is reported again (a
 * DamageNotify comes only when the region turns non-empty); the damaged
 * flag stays for capture. For watchers of change (settle). */
void xconn_damage_rearm(struct xconn *x);
/* Serial of the next request; errors at or after it are "since" the mark. */
unsigned long xconn_error_mark(struct xconn *x);
/* The earliest logged error with serial >= mark: 1 and *out filled, or 0. */
int xconn_error_since(unsigned long mark, struct xconn_error *out);
/* While quiet, X errors are still logged for xconn_error_since but not printed. */
void xconn_set_quiet(int quiet);
/* Bracket requests made on behalf of someone else in the middle of a batch
 * that charges errors by serial (input.c, while it pauses and reads of the
 * screen run): at the end (after an XSync) the errors of the bracket are
 * marked foreign, and xconn_error_since() skips them from then on. Inside
 * the bracket they are still seen, by their own callers. Not nested. */
void xconn_foreign_begin(struct xconn *x);
void xconn_foreign_end(struct xconn *x);

#endif
