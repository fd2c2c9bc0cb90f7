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
 * be a regular file owned by the session's owner, so that nobody can make
 * the daemon read, and send away, a file they could not read themselves.
 * health: GET /health every 2 s on a client of its own; three failures in a
 * row fail the session.
 */
#include "providers/prov.h"
#include "core/agentc.h"
#include "core/sess.h"

#include <errno.h>
#include <fcntl.h>
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
};

static int read_token(struct sess *s, const char *path, char *tok, size_t len, char *err,
                      size_t errlen)
{
	char buf[256];
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "bad_token: cannot open token_file %s: %s", path,
		         strerror(e));
		return -e;
	}
	int r = -EACCES;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "bad_token: token_file %s is not a regular file", path);
		goto out_close;
	}
	if (s->owner != 0 && st.st_uid != s->owner) {
		snprintf(err, errlen,
		         "bad_token: token_file %s must belong to the session's owner "
		         "(uid %u)",
		         path, (unsigned)s->owner);
		goto out_close;
	}
	ssize_t n = read(fd, buf, sizeof buf - 1);
	r = -EINVAL;
	if (n <= 0) {
		snprintf(err, errlen, "bad_token: token_file %s is empty", path);
		goto out_close;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	size_t tl = strlen(buf);
	if (tl == 0 || tl >= len || buf[strcspn(buf, " \t")] != '\0') {
		snprintf(err, errlen,
		         "bad_token: the token in %s must be 1..%zu characters on "
		         "one line, without spaces",
		         path, len - 1);
		goto out_close;
	}
	memcpy(tok, buf, tl + 1);
	r = 0;
out_close:
	close(fd);
	return r;
}

/* The endpoint and token are known: hold them, up to bridge_listening. */
static int remote_attach(struct sess *s, const char *url, const char *tok)
{
	struct remote *rm = calloc(1, sizeof *rm);
	if (!rm || !(rm->probe = agentc_new(NULL, url, tok))) {
		free(rm);
		return -ENOMEM;
	}
	pthread_mutex_lock(&s->lock);
	if (tok != s->token)
		snprintf(s->token, sizeof s->token, "%s", tok); /* before the core attaches */
	if (url != s->agent_url)
		snprintf(s->agent_url, sizeof s->agent_url, "%s", url);
	s->agent_sock[0] = '\0';
	s->prov_data = rm;
	pthread_mutex_unlock(&s->lock);
	rm->next_probe = util_mono_ms() + REMOTE_HEALTH_MS;
	/* the desktop is the remote agent's: listening is all we can know */
	sess_set_readiness(s, RD_DESKTOP_READY);
	sess_set_readiness(s, RD_BRIDGE_LISTENING);
	return 0;
}

static int remote_start(struct sess *s, char *err, size_t errlen)
{
	char url[256], tfile[256], tok[sizeof s->token], path[PATH_MAX + 16], line[80];
	pthread_mutex_lock(&s->lock);
	snprintf(url, sizeof url, "%s", s->conf.url);
	snprintf(tfile, sizeof tfile, "%s", s->conf.token_file);
	pthread_mutex_unlock(&s->lock);
	if (!url[0] || !tfile[0]) {
		snprintf(err, errlen,
		         "remote_settings: provider=remote needs url=http://HOST:PORT "
		         "and token_file=/path");
		return -EINVAL;
	}
	int r = read_token(s, tfile, tok, sizeof tok, err, errlen);
	if (r < 0)
		return r;
	snprintf(path, sizeof path, "%s/token", s->dir);
	int n = snprintf(line, sizeof line, "%s\n", tok);
	r = util_write_file(path, line, (size_t)n, 0600);
	if (r < 0) {
		snprintf(err, errlen, "state_dir: cannot write %s: %s", path, strerror(-r));
		return r;
	}
	return remote_attach(s, url, tok);
}

/* After a daemon restart: the record keeps the endpoint, the state directory the token. */
static int remote_reattach(struct sess *s, char *err, size_t errlen)
{
	if (s->conf.url[0] && s->conf.token_file[0])
		return remote_start(s, err, errlen);
	if (!s->agent_url[0] || !s->token[0]) {
		snprintf(err, errlen, "reattach_failed: the record names no remote agent endpoint");
		return -ENOENT;
	}
	return remote_attach(s, s->agent_url, s->token);
}

static int remote_health(struct sess *s, char *err, size_t errlen)
{
	struct remote *rm = s->prov_data;
	struct buf out = BUF_INIT;
	if (!rm || !rm->probe || util_mono_ms() < rm->next_probe)
		return 0;
	struct agentc_call call = {1500, NULL, NULL};
	int r = agentc_request(rm->probe, "GET", "/health", NULL, 0, &call, &out, err, errlen);
	buf_free(&out);
	rm->next_probe = util_mono_ms() + REMOTE_HEALTH_MS;
	if (r == 0 || r == -EAGAIN) {
		rm->misses = 0;
		return 0;
	}
	if (++rm->misses < REMOTE_MAX_MISSES && r != -EACCES)
		return 0;
	char why[512];
	snprintf(why, sizeof why, "%s", err);
	snprintf(err, errlen, "remote_unreachable: the agent at %s stopped answering (%s)",
	         s->agent_url, why);
	return r;
}

static void remote_stop(struct sess *s)
{
	pthread_mutex_lock(&s->lock);
	struct remote *rm = s->prov_data;
	s->prov_data = NULL;
	pthread_mutex_unlock(&s->lock);
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
