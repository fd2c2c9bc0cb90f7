/*
 * test_qmp.c - the QMP client against a scripted fake QEMU on a real unix
 * socket: the greeting and capabilities, replies matched by id across
 * events and late replies, error replies, a silent monitor, a closed one.
 *
 *	build/tests/test_qmp
 */
#include "tests/unit/check.h"
#include "providers/qmp.h"
#include "core/util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>


struct fake {
	char path[108];
	int script; /* which conversation to play */
};

static void send_line(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) < 0 || write(fd, "\n", 1) < 0)
		perror("fake qemu: write");
}

/* Read one line; return the "id" of the command in it (static buffer). */
static const char *read_cmd(int fd, char *cmd, size_t len)
{
	static char id[64];
	char line[4096];
	size_t n = 0;
	while (n < sizeof line - 1 && read(fd, line + n, 1) == 1 && line[n] != '\n')
		n++;
	line[n] = '\0';
	cJSON *j = cJSON_Parse(line);
	snprintf(cmd, len, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(j, "execute")) ?: "");
	snprintf(id, sizeof id, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(j, "id")) ?: "");
	cJSON_Delete(j);
	return id;
}

static void reply(int fd, const char *id, const char *ret)
{
	char buf[512];
	snprintf(buf, sizeof buf, "{\"return\": %s, \"id\": \"%s\"}", ret, id);
	send_line(fd, buf);
}

static void *fake_qemu(void *arg)
{
	struct fake *f = arg;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char cmd[64];
	const char *id;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", f->path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	usleep(50000); /* connect a little later, as QEMU does */
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		perror("fake qemu: connect");
		close(fd);
		return NULL;
	}
	send_line(fd, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, "
	              "\"major\": 7}, \"package\": \"\"}, \"capabilities\": [\"oob\"]}}");
	id = read_cmd(fd, cmd, sizeof cmd);
	if (strcmp(cmd, "qmp_capabilities") == 0)
		reply(fd, id, "{}");
	if (f->script == 1) {
		/* query-status: an event first, a stale reply, then ours */
		id = read_cmd(fd, cmd, sizeof cmd);
		send_line(fd, "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, "
		              "\"event\": \"POWERDOWN\"}");
		reply(fd, "someone-else", "{\"status\": \"paused\"}");
		reply(fd, id, "{\"status\": \"running\", \"running\": true}");
		/* an error reply */
		id = read_cmd(fd, cmd, sizeof cmd);
		char buf[256];
		snprintf(buf, sizeof buf,
		         "{\"error\": {\"class\": \"GenericError\", \"desc\": \"no such thing\"}, "
		         "\"id\": \"%s\"}",
		         id);
		send_line(fd, buf);
		/* silence: the client must time out */
		read_cmd(fd, cmd, sizeof cmd);
		usleep(400000);
		/* then a close: the client must see it */
	}
	close(fd);
	return NULL;
}

int main(void)
{
	struct fake f = {.script = 1};
	struct derr err = DERR_INIT;
	struct qmp *q = NULL;
	cJSON *ret = NULL;
	pthread_t t;

	snprintf(f.path, sizeof f.path, "/tmp/deskfs-test-qmp.%d.sock", (int)getpid());
	int lfd = qmp_listen(f.path, &err);
	CHECK("qmp_listen makes a listening socket", lfd >= 0);
	pthread_create(&t, NULL, fake_qemu, &f);
	int r = qmp_accept(lfd, 3000, NULL, NULL, &q, &err);
	CHECK("qmp_accept: greeting read, capabilities negotiated", r == 0 && q);
	CHECK("the version comes from the greeting", q && strcmp(qmp_version(q), "7.2.22") == 0);
	if (!q)
		goto out;

	r = qmp_execute(q, "query-status", NULL, 2000, &ret, &err);
	const char *st = cJSON_GetStringValue(cJSON_GetObjectItem(ret, "status"));
	CHECK("the reply with our id is ours (events and stale replies skipped)",
	      r == 0 && st && strcmp(st, "running") == 0);
	CHECK("the event in between was remembered", qmp_saw_event(q, "POWERDOWN"));
	CHECK("an event that did not come was not", !qmp_saw_event(q, "SHUTDOWN"));
	cJSON_Delete(ret);
	ret = NULL;

	r = qmp_execute(q, "nonsense", NULL, 2000, &ret, &err);
	CHECK("an error reply is -EIO", r == -EIO);
	CHECK("  with QEMU's words",
	      strstr(err.msg, "no such thing") && strcmp(err.code, "qmp_error") == 0);

	uint64_t t0 = util_mono_ms();
	r = qmp_execute(q, "query-status", NULL, 200, NULL, &err);
	CHECK("a silent monitor times out, bounded", r == -ETIMEDOUT && util_mono_ms() - t0 < 1000);

	usleep(500000); /* the fake closes */
	r = qmp_execute(q, "query-status", NULL, 2000, NULL, &err);
	CHECK("a closed monitor is -ECONNRESET", r == -ECONNRESET || r == -EPIPE);
	CHECK("  and says QEMU exited", strcmp(err.code, "qmp_closed") == 0);
out:
	pthread_join(t, NULL);
	qmp_free(q);

	/* nobody connects: bounded */
	t0 = util_mono_ms();
	r = qmp_accept(lfd, 150, NULL, NULL, &q, &err);
	CHECK("nobody connects: -ETIMEDOUT within the bound",
	      r == -ETIMEDOUT && util_mono_ms() - t0 < 1000);
	close(lfd);
	unlink(f.path);

	char longpath[300];
	memset(longpath, 'x', sizeof longpath - 1);
	longpath[0] = '/';
	longpath[sizeof longpath - 1] = '\0';
	CHECK("a socket path too long is refused",
	      qmp_listen(longpath, &err) == -ENAMETOOLONG);

	return check_done();
}
