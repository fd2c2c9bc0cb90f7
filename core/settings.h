/*
 * settings.h - every per-session setting in one table: its name, type,
 * range, field in struct sess_conf, the providers it applies to, its
 * default and its words. The table drives parsing (`create NAME k=v`,
 * `-o k=v`), the record in the state directory and its restore,
 * session.json, .ctl's defaults and --help. Adding a setting is one row.
 *
 *	struct sess_conf c;
 *	set_defaults(&c);
 *	if (set_parse(&c, "width", "1920", err, sizeof err) < 0) ... err says why
 *	set_to_json(&c, obj);          every setting, by name
 *	set_from_json(&c, obj);        those present and valid (a record)
 *	set_help(stdout, 1);           the -o lines of --help
 */
#ifndef DESKFS_SETTINGS_H
#define DESKFS_SETTINGS_H

#include <stddef.h>
#include <stdio.h>

struct cJSON;
struct buf;

/* Settings of one session: mount defaults, overridden by `create` key=value. */
struct sess_conf {
	char provider[16];
	int width, height;
	char display[64];     /* provider=display: the X display to attach to */
	int glx;              /* provider=xvfb: keep Xvfb's GLX extension */
	int ready_timeout_ms; /* how long a desktop operation waits for ready */
	int agent_timeout_ms; /* how long one agent request may take (a hung agent costs this) */
	int memory, cpus;     /* VM providers; memory 0: the template's (set at create) */
	int boot_timeout_ms;  /* provider=qemu: bound for the guest agent to come up; 0: default */
	char template[64];    /* provider=qemu: the template booted (core/tmpl.h); "": minimal */
	char url[256];        /* provider=remote */
	char token_file[256]; /* provider=remote */
	char scale[16];       /* the frame, "WxH", or "" for none (screen pixels) */
	int click_gap, drag_step, keymap_delay; /* input timing, ms (common/act.h) */
	char net[8];          /* provider=qemu: "none" (no network: restrict=on) | "user" (slirp's) */
	char forward[96];     /* provider=qemu: guest TCP ports forwarded to host 127.0.0.1, "8080,3000" */
};

#define SET_MAX_FORWARDS 16 /* ports in forward= */
#define SET_AGENT_GUEST_PORT 7070 /* the VM agent's own port (providers/qemu.h): not a user's */

enum set_type {
	SET_STR,   /* a string, checked by the row's check function */
	SET_INT,   /* an integer in [lo, hi] */
	SET_SECS,  /* seconds in [lo, hi], kept as milliseconds */
	SET_SIZE,  /* WxH, both in [lo, hi]: sets width and height */
};

struct setting {
	const char *name;
	enum set_type type;
	long lo, hi;
	size_t off, len;         /* the field in struct sess_conf (len: strings) */
	const char *providers;   /* "xvfb display" ...; NULL: all */
	const char *def;         /* the default, as text; NULL: empty/0 */
	const char *help;        /* one line of words for --help and errors */
	/* SET_STR: NULL, or 0 if val is fine, else -EINVAL with words in err */
	int (*check)(const char *val, char *err, size_t errlen);
	int persist;             /* 1: kept in the record (everything but aliases) */
};

extern const struct setting settings[]; /* NULL-name terminated */

const struct setting *set_find(const char *name);
void set_defaults(struct sess_conf *c);
/* 0, or -EINVAL with err naming the setting, the value and what is allowed. */
int set_parse(struct sess_conf *c, const char *key, const char *val, char *err, size_t errlen);
/* The value of one setting as text (SET_SECS in seconds). */
void set_format(const struct sess_conf *c, const struct setting *st, char *out, size_t len);
void set_to_json(const struct sess_conf *c, struct cJSON *obj);
/* Applies the recorded values that parse; returns how many were refused. */
int set_from_json(struct sess_conf *c, const struct cJSON *obj);
/* "key=value" lines of every setting (for .ctl). */
void set_describe(const struct sess_conf *c, struct buf *out);
/* The -o lines of --help. */
void set_help(FILE *out);
/* forward's list ("" or "P,P,...", distinct guest TCP ports 1..65535 but the agent's, at
 * most SET_MAX_FORWARDS) into ports: how many, or -EINVAL with err saying why. */
int set_forward_ports(const char *list, int ports[SET_MAX_FORWARDS], char *err, size_t errlen);
/* One guest port of a forward: 0, or -EINVAL with err saying why. */
int set_check_forward_port(const char *val, int *port, char *err, size_t errlen);
/* scale's check: "WxH" (16..8192 each), "none" or "": 0, else -EINVAL with err. */
int set_check_scale(const char *val, char *err, size_t errlen);

#endif
