/*
 * remote.c - provider "remote": a session on a deskfs-agent that is already
 * running somewhere, through the same HTTP client as a VM's agent.
 *
 *	$ deskfs-agent --display :5 --listen tcp:127.0.0.1:7070 --token-file ~/tok &
 *	$ echo "create r1 provider=remote url=http://127.0.0.1:7070 token_file=$HOME/tok" \
 *		> /mnt/desk/.ctl
 *
 * deskfs starts nothing and stops nothing here: rmdir only lets go. The
 * token is read from token_file at each start and becomes the session's
 * token (STATEDIR/NAME/token, 0600; never in session.json). The file must
 * be a regular file owned by the session's owner, and it is opened with the
 * owner's file-system credentials (setfsuid), so that nobody can make the
 * daemon read, and send away, a file they could not read themselves.
 * health: GET /health every 2 s on a client of its own; three failures in a
 * row fail the session.
 */
#include "providers/prov.h"
#include "core/agentc.h"
#include "core/host.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REMOTE_HEALTH_MS 2000
#define REMOTE_MAX_MISSES 3

struct remote {
	struct agentc *probe; /* the lifecycle's own client for health */
	uint64_t next_probe;
	int misses;
	char url[256];
};

static int read_token(struct sess *s, const char *path, char *tok, size_t len, struct derr *e)
{
	char buf[256];
	struct stat st;
	uid_t owner = host_owner(s);
	int fd = util_open_as(owner, host_group(s), path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return derr_set(e, -fd, "bad_token", "cannot open token_file %s: %s", path,
				strerror(-fd));
	int r;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = derr_set(e, EACCES, "bad_token", "token_file %s is not a regular file", path);
		goto out_close;
	}
	if (owner != 0 && st.st_uid != owner) {
		r = derr_set(e, EACCES, "bad_token",
			     "token_file %s must belong to the session's owner (uid %u)", path,
			     (unsigned)owner);
		goto out_close;
	}
	ssize_t n = read(fd, buf, sizeof buf - 1);
	if (n <= 0) {
		r = derr_set(e, EINVAL, "bad_token", "token_file %s is empty", path);
		goto out_close;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	size_t tl = strlen(buf);
	if (tl == 0 || tl >= len || buf[strcspn(buf, " \t")] != '\0') {
		r = derr_set(e, EINVAL, "bad_token",
			     "the token in %s must be 1..%zu characters on one line, without spaces",
			     path, len - 1);
		goto out_close;
	}
	memcpy(tok, buf, tl + 1);
	r = 0;
out_close:
	explicit_bzero(buf, sizeof buf);
	close(fd);
	return r;
}

/* The endpoint and token are known: hold them, up to bridge_listening. */
static int remote_attach(struct sess *s, const char *url, const char *tok, struct derr *e)
{
	struct remote *rm = calloc(1, sizeof *rm);
	if (!rm || !(rm->probe = agentc_new(NULL, url, tok))) {
		free(rm);
		return derr_set(e, ENOMEM, "internal", "out of memory");
	}
	snprintf(rm->url, sizeof rm->url, "%s", url);
	host_set_token(s, tok); /* before the core attaches */
	host_set_endpoint(s, NULL, url);
	host_set_data(s, rm);
	rm->next_probe = util_mono_ms() + REMOTE_HEALTH_MS;
	/* the desktop is the remote agent's: listening is all we can know */
	host_readiness(s, RD_DESKTOP_READY);
	host_readiness(s, RD_BRIDGE_LISTENING);
	return 0;
}

static int remote_start(struct sess *s, struct derr *e)
{
	char tok[80], path[PATH_MAX + 16], line[96];
	struct sess_conf conf;
	host_conf(s, &conf);
	if (!conf.url[0] || !conf.token_file[0])
		return derr_set(e, EINVAL, "remote_settings",
				"provider=remote needs url=http://HOST:PORT and token_file=/path");
	int r = read_token(s, conf.token_file, tok, sizeof tok, e);
	if (r < 0)
		return r;
	snprintf(path, sizeof path, "%s/token", host_dir(s));
	int n = snprintf(line, sizeof line, "%s\n", tok);
	r = util_write_file(path, line, (size_t)n, 0600);
	explicit_bzero(line, sizeof line);
	if (r < 0)
		return derr_set(e, -r, "state_dir", "cannot write %s: %s", path, strerror(-r));
	r = remote_attach(s, conf.url, tok, e);
	explicit_bzero(tok, sizeof tok);
	return r;
}

/* After a daemon restart: the record keeps the endpoint, the state directory the token. */
static int remote_reattach(struct sess *s, struct derr *e)
{
	char url[256], tok[80];
	struct sess_conf conf;
	host_conf(s, &conf);
	if (conf.url[0] && conf.token_file[0])
		return remote_start(s, e);
	host_endpoint(s, NULL, 0, url, sizeof url);
	host_token(s, tok, sizeof tok);
	if (!url[0] || !tok[0])
		return derr_set(e, ENOENT, "reattach_failed",
				"the record names no remote agent endpoint");
	return remote_attach(s, url, tok, e);
}

static int remote_health(struct sess *s, struct derr *e)
{
	struct remote *rm = host_data(s);
	struct buf out = BUF_INIT;
	if (!rm || !rm->probe || util_mono_ms() < rm->next_probe)
		return 0;
	struct agentc_call call = {.timeout_ms = 1500};
	int r = agentc_request(rm->probe, "GET", "/v1/health", NULL, 0, &call, &out, e);
	buf_free(&out);
	rm->next_probe = util_mono_ms() + REMOTE_HEALTH_MS;
	if (r == 0 || r == -EAGAIN) {
		rm->misses = 0;
		return 0;
	}
	if (++rm->misses < REMOTE_MAX_MISSES && r != -EACCES)
		return 0;
	derr_prefix(e, "the agent at %s stopped answering: ", rm->url);
	snprintf(e->code, sizeof e->code, "remote_unreachable");
	return r;
}

static void remote_stop(struct sess *s)
{
	struct remote *rm = host_data(s);
	host_set_data(s, NULL);
	if (rm)
		agentc_unref(rm->probe);
	free(rm);
}

static int remote_check(char *why, size_t len)
{
	snprintf(why, len,
		 "attaches to a running deskfs-agent: create NAME provider=remote "
		 "url=http://HOST:PORT token_file=/path");
	return 1;
}

const struct prov_ops prov_remote = {
	.name = "remote",
	.summary = "a deskfs-agent that already runs elsewhere (url=, token_file=); never started "
		   "or stopped by deskfs",
	.check = remote_check,
	.start = remote_start,
	.health = remote_health,
	.reattach = remote_reattach,
	.stop = remote_stop,
};
