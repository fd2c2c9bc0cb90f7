/*
 * settings.c - the table of per-session settings; see settings.h.
 */
#include "core/settings.h"
#include "core/util.h"
#include "common/act.h"
#include "core/prov_ops.h"
#include "core/tmpl.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_provider(const char *val, char *err, size_t errlen)
{
	if (prov_lookup(val))
		return 0;
	snprintf(err, errlen, "unknown provider '%.40s' (see .providers.json)", val);
	return -EINVAL;
}

/* the name's form only: whether it exists is asked at create (tmpl_conf_check) */
static int check_template(const char *val, char *err, size_t errlen)
{
	if (!*val || (util_name_valid(val) && strlen(val) < TMPL_NAME_MAX))
		return 0;
	snprintf(err, errlen, "template must be a name ([A-Za-z0-9][A-Za-z0-9._-]{0,62}), not '%.40s'",
		 val);
	return -EINVAL;
}

static int check_display(const char *val, char *err, size_t errlen)
{
	long v;
	if (val[0] == ':' && util_parse_int(val + 1, 0, 65535, &v) == 0)
		return 0;
	snprintf(err, errlen, "display must look like :N, not '%.40s'", val);
	return -EINVAL;
}

static int check_url(const char *val, char *err, size_t errlen)
{
	if (strncmp(val, "http://", 7) == 0 && strlen(val) < 256 && !strpbrk(val, " \t\r\n"))
		return 0;
	snprintf(err, errlen, "url must start with http:// and be shorter than 256 bytes");
	return -EINVAL;
}

static int check_abs_path(const char *val, char *err, size_t errlen)
{
	if (val[0] == '/' && strlen(val) < 256)
		return 0;
	snprintf(err, errlen, "token_file must be an absolute path shorter than 256 bytes");
	return -EINVAL;
}

/* scale: WxH (each 16..8192) or none; stored as "WxH" or "" */
int set_check_scale(const char *val, char *err, size_t errlen)
{
	struct act_opts o;
	char opt[64];

	act_opts_default(&o);
	snprintf(opt, sizeof opt, "frame=%.40s", val);
	if (!*val || (!strpbrk(val, " \t,") && act_opts_parse(opt, &o, NULL, 0) == 0))
		return 0;
	snprintf(err, errlen, "scale must be WxH (each side 16..8192) or none, not '%.40s'", val);
	return -EINVAL;
}

static int check_net(const char *val, char *err, size_t errlen)
{
	if (strcmp(val, "none") == 0 || strcmp(val, "user") == 0)
		return 0;
	snprintf(err, errlen, "net must be none or user, not '%.40s'", val);
	return -EINVAL;
}

int set_check_forward_port(const char *val, int *port, char *err, size_t errlen)
{
	long v;
	if (util_parse_int(val, 1, 65535, &v) < 0) {
		snprintf(err, errlen, "a forwarded port is a guest TCP port 1..65535, not '%.40s'",
			 val);
		return -EINVAL;
	}
	if (v == SET_AGENT_GUEST_PORT) {
		snprintf(err, errlen, "guest port %d is the agent's own (already forwarded: "
			 "session.json agent.endpoint)", SET_AGENT_GUEST_PORT);
		return -EINVAL;
	}
	*port = (int)v;
	return 0;
}

int set_forward_ports(const char *list, int ports[SET_MAX_FORWARDS], char *err, size_t errlen)
{
	char word[16];
	int n = 0;
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ",");
		if (len == 0 || len >= sizeof word) {
			snprintf(err, errlen, "forward is a comma list of guest ports, like 8080,3000");
			return -EINVAL;
		}
		memcpy(word, p, len);
		word[len] = '\0';
		if (n == SET_MAX_FORWARDS) {
			snprintf(err, errlen, "forward takes at most %d ports", SET_MAX_FORWARDS);
			return -EINVAL;
		}
		if (set_check_forward_port(word, &ports[n], err, errlen) < 0)
			return -EINVAL;
		for (int i = 0; i < n; i++)
			if (ports[i] == ports[n]) {
				snprintf(err, errlen, "forward names port %d twice", ports[n]);
				return -EINVAL;
			}
		n++;
		p += len;
		if (*p == ',' && !*++p) {
			snprintf(err, errlen, "forward ends with a comma");
			return -EINVAL;
		}
	}
	return n;
}

static int check_forward(const char *val, char *err, size_t errlen)
{
	int ports[SET_MAX_FORWARDS];
	return set_forward_ports(val, ports, err, errlen) < 0 ? -EINVAL : 0;
}

#define XSTR(v) STR(v)
#define STR(v) #v
#define F(field) offsetof(struct sess_conf, field), sizeof(((struct sess_conf *)0)->field)

const struct setting settings[] = {
	{"provider", SET_STR, 0, 0, F(provider), NULL, "xvfb",
	 "xvfb | display | qemu | remote (see .providers.json)", check_provider, 1},
	{"width", SET_INT, 64, 8192, F(width), NULL, "1280", "screen width in pixels", NULL, 1},
	{"height", SET_INT, 64, 8192, F(height), NULL, "800", "screen height in pixels", NULL, 1},
	{"size", SET_SIZE, 64, 8192, 0, 0, NULL, NULL, "WxH: width and height at once", NULL, 0},
	{"display", SET_STR, 0, 0, F(display), "display", NULL,
	 "the X display to drive, :N (default $DISPLAY)", check_display, 1},
	{"glx", SET_INT, 0, 1, F(glx), "xvfb", "0",
	 "1 keeps Xvfb's GLX extension (0: faster start, 50 MB less)", NULL, 1},
	{"ready_timeout", SET_SECS, 1, 600, F(ready_timeout_ms), NULL, "30",
	 "seconds a read or write waits for the session to be ready", NULL, 1},
	{"agent_timeout", SET_SECS, 1, 600, F(agent_timeout_ms), NULL, "10",
	 "seconds one agent request may take; a hung agent costs this", NULL, 1},
	{"memory", SET_INT, 128, 65536, F(memory), "qemu", NULL,
	 "the VM's memory in MiB (default: the template's memory_mb, 256 for minimal)", NULL, 1},
	{"template", SET_STR, 0, 0, F(template), "qemu", NULL,
	 "what the VM boots (see .templates/; default minimal); implies provider=qemu",
	 check_template, 1},
	{"cpus", SET_INT, 1, 64, F(cpus), "qemu", "1", "the VM's virtual CPUs", NULL, 1},
	{"boot_timeout", SET_SECS, 1, 600, F(boot_timeout_ms), "qemu", NULL,
	 "seconds the VM's agent may take to come up (default: 30, 90 under TCG)", NULL, 1},
	{"url", SET_STR, 0, 0, F(url), "remote", NULL, "the remote agent, http://HOST:PORT",
	 check_url, 1},
	{"token_file", SET_STR, 0, 0, F(token_file), "remote", NULL,
	 "the remote agent's token, a file of yours", check_abs_path, 1},
	{"scale", SET_STR, 0, 0, F(scale), NULL, NULL,
	 "WxH: screenshots at that size, action coordinates in it (e.g. 1024x768); none",
	 set_check_scale, 1},
	{"click_gap", SET_INT, 0, ACT_TIMING_MAX_MS, F(click_gap), NULL, XSTR(ACT_CLICK_GAP_MS),
	 "ms between the clicks of a double or triple click", NULL, 1},
	{"drag_step", SET_INT, 0, ACT_TIMING_MAX_MS, F(drag_step), NULL, XSTR(ACT_DRAG_STEP_MS),
	 "ms between the steps of a drag (press, motion, release)", NULL, 1},
	{"keymap_delay", SET_INT, 0, ACT_TIMING_MAX_MS, F(keymap_delay), NULL,
	 XSTR(ACT_KEYMAP_DELAY_MS), "ms around a key bound for a character the layout lacks (clients answering pings: until they answer)",
	 NULL, 1},
	{"net", SET_STR, 0, 0, F(net), "qemu", "none",
	 "none: no network but the agent's port; user: the guest reaches the host (10.0.2.2) "
	 "and beyond through QEMU's user network", check_net, 1},
	{"forward", SET_STR, 0, 0, F(forward), "qemu", NULL,
	 "guest TCP ports to forward to 127.0.0.1 (a comma list, at most 16; ctl forward/unforward)",
	 check_forward, 1},
	{NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, 0},
};

const struct setting *set_find(const char *name)
{
	for (const struct setting *st = settings; st->name; st++)
		if (strcmp(st->name, name) == 0)
			return st;
	return NULL;
}

static int *int_field(struct sess_conf *c, const struct setting *st)
{
	return (int *)((char *)c + st->off);
}

static int store(struct sess_conf *c, const struct setting *st, const char *val, char *err,
		 size_t errlen)
{
	long v;
	int w, h;
	switch (st->type) {
	case SET_STR:
		if (st->check && st->check(val, err, errlen) < 0)
			return -EINVAL;
		if (strlen(val) >= st->len) {
			snprintf(err, errlen, "%s is too long (at most %zu bytes)", st->name,
				 st->len - 1);
			return -EINVAL;
		}
		memcpy((char *)c + st->off, val, strlen(val) + 1);
		return 0;
	case SET_INT:
	case SET_SECS:
		if (util_parse_int(val, st->lo, st->hi, &v) < 0) {
			snprintf(err, errlen, "%s must be %s%ld..%ld, not '%.40s' (%s)", st->name,
				 st->type == SET_SECS ? "seconds " : "", st->lo, st->hi, val,
				 st->help);
			return -EINVAL;
		}
		*int_field(c, st) = (int)(st->type == SET_SECS ? v * 1000 : v);
		return 0;
	case SET_SIZE:
		if (util_parse_size(val, st->lo, st->hi, &w, &h) < 0) {
			snprintf(err, errlen, "%s must be WxH with each side %ld..%ld, not '%.40s'",
				 st->name, st->lo, st->hi, val);
			return -EINVAL;
		}
		c->width = w;
		c->height = h;
		return 0;
	}
	return -EINVAL;
}

void set_defaults(struct sess_conf *c)
{
	char err[256];
	memset(c, 0, sizeof *c);
	for (const struct setting *st = settings; st->name; st++)
		if (st->def)
			store(c, st, st->def, err, sizeof err);
}

int set_parse(struct sess_conf *c, const char *key, const char *val, char *err, size_t errlen)
{
	const struct setting *st = set_find(key);
	if (!st) {
		struct buf names = BUF_INIT;
		for (st = settings; st->name; st++)
			buf_printf(&names, "%s%s", names.len ? " " : "", st->name);
		snprintf(err, errlen, "unknown setting '%.40s' (known: %s)", key,
			 names.data ? names.data : "");
		buf_free(&names);
		return -EINVAL;
	}
	return store(c, st, val, err, errlen);
}

void set_format(const struct sess_conf *c, const struct setting *st, char *out, size_t len)
{
	const struct sess_conf *cc = c;
	switch (st->type) {
	case SET_STR:
		snprintf(out, len, "%s", (const char *)cc + st->off);
		break;
	case SET_INT:
		snprintf(out, len, "%d", *(const int *)((const char *)cc + st->off));
		break;
	case SET_SECS:
		snprintf(out, len, "%d", *(const int *)((const char *)cc + st->off) / 1000);
		break;
	case SET_SIZE:
		snprintf(out, len, "%dx%d", c->width, c->height);
		break;
	}
}

void set_to_json(const struct sess_conf *c, cJSON *obj)
{
	char v[300];
	for (const struct setting *st = settings; st->name; st++) {
		if (!st->persist)
			continue;
		set_format(c, st, v, sizeof v);
		if (st->type == SET_STR)
			cJSON_AddStringToObject(obj, st->name, v);
		else
			cJSON_AddNumberToObject(obj, st->name, atof(v));
	}
}

int set_from_json(struct sess_conf *c, const cJSON *obj)
{
	char v[300], err[256];
	int refused = 0;
	for (const struct setting *st = settings; st->name; st++) {
		const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, st->name);
		if (!st->persist || !it)
			continue;
		if (cJSON_IsString(it))
			snprintf(v, sizeof v, "%s", it->valuestring);
		else if (cJSON_IsNumber(it))
			snprintf(v, sizeof v, "%.0f", it->valuedouble);
		else
			continue;
		if (st->type == SET_STR && !v[0]) {
			memset((char *)c + st->off, 0, st->len);
			continue;
		}
		if ((st->type == SET_SECS || st->type == SET_INT) && strcmp(v, "0") == 0 &&
		    st->lo > 0) {
			*int_field(c, st) = 0; /* 0: "the default" for optional bounds */
			continue;
		}
		if (store(c, st, v, err, sizeof err) < 0)
			refused++;
	}
	return refused;
}

void set_describe(const struct sess_conf *c, struct buf *out)
{
	char v[300];
	for (const struct setting *st = settings; st->name; st++) {
		if (!st->persist)
			continue;
		set_format(c, st, v, sizeof v);
		buf_printf(out, "%s=%s\n", st->name, v);
	}
}

void set_help(FILE *out)
{
	char left[64];
	for (const struct setting *st = settings; st->name; st++) {
		const char *arg = st->type == SET_STR ? "S" : st->type == SET_SIZE ? "WxH" : "N";
		snprintf(left, sizeof left, "-o %s=%s", st->name, arg);
		fprintf(out, "    %-22s %s", left, st->help);
		if (st->def)
			fprintf(out, " (default %s)", st->def);
		if (st->providers)
			fprintf(out, " [%s]", st->providers);
		fputc('\n', out);
	}
}
