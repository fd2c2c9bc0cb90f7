/*
 * test_sess.c - the session core against a fake provider: the state
 * machine (starting -> ready -> failed/stopped, readiness only forward,
 * restart with a fresh token), the settings table and the record, the
 * waiter bounds, the per-user session limit, the state directory's lock
 * and marker, and destroy; the start lines of procs/ctl (split as a shell
 * splits them, checked before anything runs). The fake provider is registered
 * with the core's port (prov_register): the test links core/ and common/, no
 * providers/. Its "agent"
 * is a thread answering 200 {} to anything on a unix socket.
 */
#include "tests/unit/check.h"
#include "core/sess.h"
#include "core/sess_ops.h"
#include "core/sess_procs.h"
#include "core/statedir.h"
#include "core/agentc.h"
#include "core/prov_ops.h"
#include "core/host.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>


/* ---- a fake agent: 200 {} to every request ---- */

static void *agent_main(void *arg)
{
	int lfd = (int)(intptr_t)arg;
	for (;;) {
		int c = accept(lfd, NULL, NULL);
		if (c < 0)
			return NULL;
		char buf[4096];
		size_t got = 0;
		ssize_t n;
		/* one request per connection is enough for the client: it reconnects */
		while ((n = read(c, buf + got, sizeof buf - 1 - got)) > 0) {
			got += (size_t)n;
			buf[got] = '\0';
			if (strstr(buf, "\r\n\r\n"))
				break;
		}
		static const char ok[] =
			"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
		if (write(c, ok, sizeof ok - 1) < 0)
			(void)0;
		close(c);
	}
}

static char agent_sock[256];

static void start_fake_agent(const char *dir)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(agent_sock, sizeof agent_sock, "%s/fake-agent.sock", dir);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", agent_sock);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 64) < 0) {
		perror("fake agent");
		exit(1);
	}
	pthread_t t;
	pthread_create(&t, NULL, agent_main, (void *)(intptr_t)fd);
	pthread_detach(t);
}

/* ---- the fake provider ---- */

static int fail_start, fail_health, backwards, failed_seen_in_stop, stops; /* the fake's knobs */

static int fake_check(char *why, size_t len)
{
	snprintf(why, len, "always");
	return 1;
}

static int fake_start(struct sess *s, struct derr *e)
{
	if (fail_start)
		return derr_set(e, EIO, "fake_failed", "the fake provider was told to fail");
	host_readiness(s, RD_DESKTOP_READY);
	if (backwards)
		host_readiness(s, RD_BOOTING); /* must not move readiness back */
	host_set_endpoint(s, agent_sock, NULL);
	host_readiness(s, RD_BRIDGE_LISTENING);
	return 0;
}

static int fake_health(struct sess *s, struct derr *e)
{
	return fail_health ? derr_set(e, EIO, "fake_died", "the fake desktop died") : 0;
}

static void fake_stop(struct sess *s)
{
	stops++;
	failed_seen_in_stop |= host_failed(s);
}

static const struct prov_ops fake = {
	.name = "fake",
	.summary = "a provider made of nothing",
	.check = fake_check,
	.start = fake_start,
	.health = fake_health,
	.stop = fake_stop,
};

static const struct prov_ops *const list[] = {&fake, NULL};

/* ---- helpers ---- */

static char *text_of(struct sess *s, void (*fn)(struct sess *, struct buf *))
{
	struct buf b = BUF_INIT;
	fn(s, &b);
	buf_append(&b, "", 0);
	return b.data ? b.data : strdup("");
}

static int status_is(struct sess *s, const char *want, int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		char *t = text_of(s, sess_status_text);
		int ok = strncmp(t, want, strlen(want)) == 0;
		free(t);
		if (ok)
			return 1;
		util_sleep_ms(10);
	}
	return 0;
}

static cJSON *record_of(struct sess *s)
{
	char *t = text_of(s, sess_record_json);
	cJSON *j = cJSON_Parse(t);
	free(t);
	return j;
}

/* The agent body of one start line, or the error's code. */
static char *start_body(const char *line)
{
	static char out[1024];
	char err[512];
	struct buf b = BUF_INIT;
	if (sess_procs_ctl_check(line, strlen(line), &b, err, sizeof err) < 0)
		snprintf(out, sizeof out, "ERR %.*s", (int)strcspn(err, ":"), err);
	else
		snprintf(out, sizeof out, "%.*s", (int)strcspn(b.data ? b.data : "", "\n"),
			 b.data ? b.data : "");
	buf_free(&b);
	return out;
}

static void test_start_lines(void)
{
	CHECK("start: argv after --, words split as a shell does",
	      !strcmp(start_body("start t1 -- make -j2"), "{\"tag\":\"t1\",\"argv\":[\"make\",\"-j2\"]}"));
	CHECK("  single quotes group, literally",
	      !strcmp(start_body("start t -- sh -c 'echo $HOME \\n'"),
		      "{\"tag\":\"t\",\"argv\":[\"sh\",\"-c\",\"echo $HOME \\\\n\"]}"));
	CHECK("  double quotes with their escapes, backslash outside",
	      !strcmp(start_body("start t -- a\\ b \"c\\\"d\" \"\""),
		      "{\"tag\":\"t\",\"argv\":[\"a b\",\"c\\\"d\",\"\"]}"));
	CHECK("  cwd, env and pty before --",
	      !strcmp(start_body("start t cwd=/w env.A=1 env.B=x=y pty=24x80 -- true"),
		      "{\"tag\":\"t\",\"cwd\":\"/w\",\"env\":{\"A\":\"1\",\"B\":\"x=y\"},"
		      "\"pty\":\"24x80\",\"argv\":[\"true\"]}"));
	CHECK("  the JSON form", !strcmp(start_body("{\"start\":\"j\",\"argv\":[\"a b\"]}"),
					 "{\"tag\":\"j\",\"argv\":[\"a b\"]}"));
	static const char *const bad[] = {
	    "start t true", "start t --", "start ../t -- x", "start t -- 'open", "start t -- \"open",
	    "start t -- x\\", "start t pty=0x9 -- x", "start t pty=24 -- x", "start t env.1A=2 -- x",
	    "start t colour=red -- x", "start t cwd=/a cwd=/b -- x", "stop t", "start",
	    "{\"start\":\"t\",\"argv\":[]}", "{\"start\":\"t\",\"argv\":[1]}",
	    "{\"start\":\"t\",\"argv\":[\"x\"],\"colour\":1}", "{\"argv\":[\"x\"]}", "{nope",
	    "start t -- ok\nstart u oops"};
	int all = 1;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		const char *r = start_body(bad[i]);
		if (strncmp(r, "ERR invalid_", 12) != 0) {
			printf("# '%s' gave '%s'\n", bad[i], r);
			all = 0;
		}
	}
	CHECK("malformed lines are refused (EINVAL, invalid_*), all of a write", all);
}

int main(void)
{
	char dir[] = "/tmp/deskfs-unit.XXXXXX", err[512];
	if (!mkdtemp(dir))
		return 1;
	test_start_lines();
	start_fake_agent(dir);
	agentc_global_init();
	prov_register(list);

	struct sess_opts o = {0};
	snprintf(o.statedir, sizeof o.statedir, "%s/state", dir);
	snprintf(o.mountpoint, sizeof o.mountpoint, "/mnt/x");
	set_defaults(&o.defaults);
	CHECK("the settings table parses a provider", set_parse(&o.defaults, "provider", "fake", err, sizeof err) == 0);
	CHECK("and refuses an unknown one, saying so",
	      set_parse(&o.defaults, "provider", "nope", err, sizeof err) == -EINVAL && strstr(err, "nope"));
	CHECK("seconds are kept as milliseconds",
	      set_parse(&o.defaults, "agent_timeout", "2", err, sizeof err) == 0 && o.defaults.agent_timeout_ms == 2000);
	CHECK("out of range is refused with the range",
	      set_parse(&o.defaults, "width", "9000", err, sizeof err) == -EINVAL && strstr(err, "64..8192"));
	CHECK("size sets both sides", set_parse(&o.defaults, "size", "640x480", err, sizeof err) == 0 &&
					      o.defaults.width == 640 && o.defaults.height == 480);
	CHECK("an unknown key lists the known ones",
	      set_parse(&o.defaults, "colour", "red", err, sizeof err) == -EINVAL && strstr(err, "ready_timeout"));
	CHECK("net is none by default", strcmp(o.defaults.net, "none") == 0);
	CHECK("net is none or user", set_parse(&o.defaults, "net", "user", err, sizeof err) == 0 &&
					     set_parse(&o.defaults, "net", "tap", err, sizeof err) == -EINVAL);
	CHECK("forward takes a comma list of guest ports",
	      set_parse(&o.defaults, "forward", "8080,3000", err, sizeof err) == 0 &&
		  strcmp(o.defaults.forward, "8080,3000") == 0);
	CHECK("  not a port twice, 0, the agent's 7070, a stray comma, or 17 ports",
	      set_parse(&o.defaults, "forward", "1,1", err, sizeof err) == -EINVAL && strstr(err, "twice") &&
		  set_parse(&o.defaults, "forward", "0", err, sizeof err) == -EINVAL &&
		  set_parse(&o.defaults, "forward", "7070", err, sizeof err) == -EINVAL &&
		  set_parse(&o.defaults, "forward", "80,", err, sizeof err) == -EINVAL &&
		  set_parse(&o.defaults, "forward", ",80", err, sizeof err) == -EINVAL &&
		  set_parse(&o.defaults, "forward", "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", err,
			    sizeof err) == -EINVAL &&
		  strcmp(o.defaults.forward, "8080,3000") == 0);
	CHECK("  16 is fine", set_parse(&o.defaults, "forward", "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,65535",
					err, sizeof err) == 0);
	CHECK("ctl forward/unforward take one guest port",
	      sess_ctl_check("forward 8080\nunforward 1\n", 25, err, sizeof err) == 0 &&
		  sess_ctl_check("forward 0\n", 10, err, sizeof err) == -EINVAL &&
		  sess_ctl_check("forward\n", 8, err, sizeof err) == -EINVAL &&
		  sess_ctl_check("unforward 7070\n", 15, err, sizeof err) == -EINVAL);
	cJSON *sj = cJSON_CreateObject();
	set_to_json(&o.defaults, sj);
	struct sess_conf back;
	set_defaults(&back);
	CHECK("settings survive the record", set_from_json(&back, sj) == 0 && back.width == 640 &&
						     back.agent_timeout_ms == 2000 &&
						     strcmp(back.net, "user") == 0 &&
						     strcmp(back.forward, o.defaults.forward) == 0 &&
						     strcmp(back.provider, "fake") == 0);
	cJSON_Delete(sj);
	o.max_sessions = 8;
	o.max_user_sessions = 2;

	CHECK("sess_init makes and locks the state directory", sess_init(&o, err, sizeof err) == 0);
	struct stat st;
	CHECK("  mode 0700", stat(o.statedir, &st) == 0 && (st.st_mode & 0777) == 0700);
	CHECK("a second daemon on it is refused (locked)",
	      statedir_open(o.statedir, err, sizeof err) == -EBUSY && strstr(err, "in use"));

	/* the state machine */
	struct derr e = DERR_INIT;
	struct sess *s = NULL;
	backwards = 1;
	CHECK("create registers a session", sess_create("a", &o.defaults, 1000, 1000, &s, &e) == 0);
	CHECK("  it becomes ready", status_is(s, "ready", 3000));
	cJSON *j = record_of(s);
	CHECK("  readiness went forward only, to runtime_ready",
	      strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "readiness")), "runtime_ready") == 0);
	CHECK("  session.json carries the settings",
	      cJSON_GetObjectItem(cJSON_GetObjectItem(j, "settings"), "agent_timeout") != NULL);
	cJSON_Delete(j);
	backwards = 0;
	char path[600];
	snprintf(path, sizeof path, "%s/a/record.json", o.statedir);
	CHECK("  its record is on disk", access(path, F_OK) == 0);
	snprintf(path, sizeof path, "%s/a", o.statedir);
	CHECK("  its directory is marked ours", statedir_is_marked(path));
	char *tok1 = NULL, *tok2 = NULL;
	size_t tl;
	snprintf(path, sizeof path, "%s/a/token", o.statedir);
	util_read_file(path, &tok1, &tl);
	CHECK("restart brings it back ready", sess_ctl(s, "restart\n", 8) == 0 && status_is(s, "ready", 3000));
	util_read_file(path, &tok2, &tl);
	CHECK("  with a fresh token", tok1 && tok2 && strcmp(tok1, tok2) != 0);
	free(tok1);
	free(tok2);
	CHECK("a malformed ctl line performs nothing (EINVAL)",
	      sess_ctl(s, "stop\njump\n", 10) == -EINVAL && status_is(s, "ready", 100));
	CHECK("forward on a provider without a ctl op is ENOTSUP", sess_ctl(s, "forward 8080\n", 13) == -ENOTSUP);

	/* waiters are bounded per session */
	int entered = 0, r = 0;
	while ((r = sess_waiter_enter(s, &e)) == 0 && entered < 1000)
		entered++;
	CHECK("server threads waiting on one session are bounded", r == -EAGAIN && entered == SESS_MAX_WAITERS);
	CHECK("  and the refusal says why", strcmp(e.code, "busy") == 0);
	while (entered--)
		sess_waiter_leave(s);

	/* a desktop that dies fails the session, after its stop ran */
	stops = 0;
	fail_health = 1;
	CHECK("a health failure fails the session", status_is(s, "failed", 3000));
	CHECK("  the provider's stop saw it failing (diagnostics before 'failed')", failed_seen_in_stop);
	char *errj = text_of(s, sess_error_json);
	CHECK("  error carries the provider's code", strstr(errj, "\"fake_died\"") != NULL);
	free(errj);
	fail_health = 0;
	CHECK("  a desktop operation then says EIO", sess_wait_ready(s, NULL, NULL) == -EIO);

	/* stop and start */
	sess_stop(s);
	CHECK("stop: stopped", status_is(s, "stopped", 100));
	CHECK("  a desktop operation says EAGAIN", sess_wait_ready(s, NULL, NULL) == -EAGAIN);
	fail_start = 1;
	CHECK("a start that fails", sess_start(s) == 0 && status_is(s, "failed", 3000));
	errj = text_of(s, sess_error_json);
	CHECK("  says why", strstr(errj, "fake_failed") != NULL);
	free(errj);
	fail_start = 0;

	/* per-user limit */
	struct sess *b = NULL, *c = NULL;
	CHECK("the same user's second session", sess_create("b", &o.defaults, 1000, 1000, &b, &e) == 0);
	CHECK("  a third is refused (max_user_sessions=2)",
	      sess_create("c", &o.defaults, 1000, 1000, &c, &e) == -EAGAIN && strcmp(e.code, "too_many_sessions") == 0);
	CHECK("  another user's is not", sess_create("c", &o.defaults, 1001, 1001, &c, &e) == 0);
	CHECK("a duplicate name is EEXIST", sess_create("c", &o.defaults, 1001, 1001, NULL, &e) == -EEXIST);
	CHECK("a bad name is EINVAL", sess_create("../x", &o.defaults, 0, 0, NULL, &e) == -EINVAL);

	/* a directory that is not ours is never touched */
	snprintf(path, sizeof path, "%s/notes", o.statedir);
	mkdir(path, 0700);
	CHECK("a foreign directory of the same name refuses the create",
	      sess_create("notes", &o.defaults, 0, 0, NULL, &e) == -EEXIST && access(path, F_OK) == 0);

	/* destroy */
	sess_put(b);
	sess_put(c);
	sess_put(s);
	CHECK("destroy", sess_destroy("a") == 0 && !sess_get("a"));
	snprintf(path, sizeof path, "%s/a", o.statedir);
	CHECK("  removes its directory", access(path, F_OK) < 0);
	sess_shutdown();
	CHECK("shutdown destroys the rest", !sess_get("b") && !sess_get("c"));
	snprintf(path, sizeof path, "rm -rf '%s'", dir);
	if (system(path) != 0)
		(void)0;
	return check_done();
}
