/*
 * test_common.c - unit tests for common/: act_bound_ms() (what the daemon
 * adds to a request's bound), the parser with no key resolver registered
 * (as the daemon runs it), UTF-8, clocks, finding programs, log tails.
 *
 *	make build/tests/test_common && build/tests/test_common
 *
 * Prints "not ok - NAME (file:line)" per failure and ends with
 * "N passed, N failed"; exits non-zero if anything failed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <limits.h>
#include <unistd.h>

#include "common/act.h"
#include "common/clock.h"
#include "common/exe.h"
#include "common/logtail.h"
#include "common/utf8.h"

static int passed, failed;

#define CHECK(cond, name)                                                                          \
	do {                                                                                       \
		if (cond) {                                                                        \
			passed++;                                                                  \
		} else {                                                                           \
			failed++;                                                                  \
			printf("not ok - %s (%s:%d)\n", name, __FILE__, __LINE__);                 \
		}                                                                                  \
	} while (0)

static long bound(const char *s)
{
	return act_bound_ms(s, strlen(s));
}

#define BOUND(text, ms) CHECK(bound(text) == (ms), "act_bound_ms " #text " == " #ms)

static void test_bound(void)
{
	BOUND("type waiting", 0);
	BOUND("type hold the duration", 0);
	BOUND("wait 15000", 15000);
	BOUND("sleep 20", 20);
	BOUND("click 10 10\nwait 100\n\n# wait 9999\nwait 200\n", 300);
	BOUND("hold shift 500", 500 + 2 * ACT_PING_MAX_MS); /* + one possible rebind batch */
	BOUND("wait 60000\nwait 60000\nwait 60000", 180000);
	BOUND("click 100000 100000\nwait 7", 7);     /* no screen known: any coordinate */
	BOUND("key XF86Frobnicate\nwait 5", 5 + 2 * ACT_PING_MAX_MS); /* any plausible key name */
	BOUND("type ascii only, 0 pauses", 0);
	BOUND("type \xce\xb1\xce\xb2\xce\xb3\xce\xb4\xce\xb5\xce\xb6\xce\xb7\xce\xb8\xce\xb9", /* 9: two batches */
	      4 * ACT_PING_MAX_MS);
	/* JSON dialects */
	BOUND("{\"action\":\"wait\",\"duration\":1.5}", 1500);
	BOUND("{\"type\":\"tool_use\",\"name\":\"computer\",\"input\":{\"action\":\"wait\","
	      "\"duration\":2}}",
	      2000);
	BOUND("{\"action\":\"hold_key\",\"text\":\"shift\",\"duration\":0.25}",
	      250 + 2 * ACT_PING_MAX_MS);
	BOUND("{\"type\":\"wait\"}", 1000); /* OpenAI's wait: one second */
	BOUND("{\"type\":\"wait\",\"ms\":250}", 250);
	BOUND("{\"type\":\"computer_call\",\"action\":{\"type\":\"wait\",\"ms\":30}}", 30);
	BOUND("{\"method\":\"wait\",\"ms\":700}", 700);
	BOUND("{\"method\":\"wait\",\"args\":[800]}", 800);
	BOUND("[{\"action\":\"wait\",\"duration\":1},{\"method\":\"wait\",\"ms\":5}]", 1005);
	BOUND("{\"action\":\"type\",\"text\":\"wait 5000\"}", 0);
	/* what the agent refuses costs nothing more */
	BOUND("wait 60001", 0);
	BOUND("wait soon", 0);
	BOUND("wait 100\nfrobnicate", 0);
	BOUND("{\"action\":\"wait\"}", 0);
	BOUND("", 0);
	CHECK(act_bound_ms(NULL, 0) == 0, "act_bound_ms NULL");
	CHECK(act_bound_ms("wait 100\nwait 200", 8) == 100, "act_bound_ms reads only len bytes");
}

static void test_lenient_keys(void)
{
	struct act_screen scr = {1280, 800, 0, 0};
	struct act_list l = {0};
	struct act_chord c;
	char err[256];

	/* no resolver registered: the daemon's case */
	CHECK(act_parse("key ctrl+s", 10, &scr, &l, err, sizeof err) == 0 && l.n == 1 &&
	          l.v[0].chords[0].n == 2 && l.v[0].chords[0].sym[0] == ACT_KEY_ANY,
	      "lenient resolver: any key name");
	act_list_free(&l);
	CHECK(act_parse_chord("ctrl++", NULL, &c, err, sizeof err) == 0 && c.n == 2,
	      "lenient chord ctrl++");
	CHECK(act_parse_chord("ctrl+", NULL, &c, err, sizeof err) == -EINVAL,
	      "lenient chord: missing key");
	CHECK(act_key_lenient("") == 0 && act_key_lenient(NULL) == 0 &&
	          act_key_lenient(
	              "0123456789012345678901234567890123456789012345678901234567890123") == 0,
	      "lenient: empty or too long");
	CHECK(act_key_lenient(" ") == ACT_KEY_ANY, "lenient: space is a key");
	CHECK(act_key_lenient("\xce\xb1") == ACT_KEY_ANY, "lenient: a UTF-8 character");
}

static void test_utf8(void)
{
	unsigned cp;
	char *s;

	CHECK(utf8_decode("A", 1, &cp) == 1 && cp == 'A', "decode ASCII");
	CHECK(utf8_decode("\xc3\xa9", 2, &cp) == 2 && cp == 0xe9, "decode 2 bytes");
	CHECK(utf8_decode("\xe2\x82\xac", 3, &cp) == 3 && cp == 0x20ac, "decode 3 bytes");
	CHECK(utf8_decode("\xf0\x9f\x98\x80", 4, &cp) == 4 && cp == 0x1f600, "decode 4 bytes");
	CHECK(utf8_decode("\xc3\xa9", 1, &cp) == -1 && cp == 0xfffd, "decode truncated");
	CHECK(utf8_decode("\xc0\xaf", 2, &cp) == -1, "decode overlong 2");
	CHECK(utf8_decode("\xe0\x80\xaf", 3, &cp) == -1, "decode overlong 3");
	CHECK(utf8_decode("\xed\xa0\x80", 3, &cp) == -1, "decode surrogate");
	CHECK(utf8_decode("\xf4\x90\x80\x80", 4, &cp) == -1, "decode past U+10FFFF");
	CHECK(utf8_decode("\x80", 1, &cp) == -1, "decode stray continuation");
	CHECK(utf8_decode("", 0, &cp) == -1, "decode nothing");
	CHECK(utf8_valid("h\xc3\xa9llo \xe2\x82\xac", 10), "valid text");
	CHECK(!utf8_valid("h\xc3llo", 5), "invalid text");
	CHECK(utf8_valid("", 0), "empty is valid");
	s = utf8_sanitize("a\xffz\xc3\xa9", 5);
	CHECK(s && !strcmp(s, "a\xef\xbf\xbdz\xc3\xa9"), "sanitize replaces a bad byte");
	free(s);
	s = utf8_sanitize("ab\0cd", 5);
	CHECK(s && !strcmp(s, "ab"), "sanitize stops at NUL");
	free(s);
}

static void test_clock(void)
{
	char ts[40];
	uint64_t a = clk_mono_ms();

	clk_iso8601_at(0, ts, sizeof ts);
	CHECK(!strcmp(ts, "1970-01-01T00:00:00.000Z"), "iso8601 epoch");
	clk_iso8601_at(1795397385.611, ts, sizeof ts);
	CHECK(!strcmp(ts, "2026-11-23T01:29:45.611Z"), "iso8601 with ms");
	clk_iso8601(NULL, ts, sizeof ts);
	CHECK(strlen(ts) == 24 && ts[23] == 'Z', "iso8601 now");
	clk_sleep_ms(20);
	CHECK(clk_mono_ms() - a >= 20, "sleep and the monotonic clock");
	CHECK(clk_wall() > 1.7e9, "wall clock");
}

static void test_exe(void)
{
	char dir[PATH_MAX], path[PATH_MAX];
	size_t n = 0;

	CHECK(exe_self_dir(dir, sizeof dir) == 0 && (n = strlen(dir)) >= 11 &&
	          !strcmp(dir + n - 11, "build/tests"),
	      "exe_self_dir is where this test is");
	CHECK(exe_find("test_common", path, sizeof path) == 0 && !strncmp(path, dir, n),
	      "exe_find: beside me first");
	CHECK(exe_find("sh", path, sizeof path) == 0 && access(path, X_OK) == 0,
	      "exe_find: on $PATH");
	CHECK(exe_find("no-such-program-here", path, sizeof path) == -ENOENT, "exe_find: missing");
	CHECK(exe_find("/bin/sh", path, sizeof path) == 0 && !strcmp(path, "/bin/sh"),
	      "exe_find: a path");
	CHECK(exe_self_dir(dir, 3) == -ENAMETOOLONG, "exe_self_dir: too small");
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void test_logtail(void)
{
	char path[] = "/tmp/deskfs-test-logtail.XXXXXX", line[1024], err[2048];
	char big[1000];
	int fd = mkstemp(path);

	if (fd >= 0)
		close(fd);
	write_file(path, "first\nsecond line\n\n  \n");
	logtail_last_line(path, line, sizeof line);
	CHECK(!strcmp(line, "second line"), "last non-empty line");
	memset(big, 'x', sizeof big);
	memcpy(big + sizeof big - 12, "\nlast words", 11);
	big[sizeof big - 1] = '\0';
	write_file(path, big);
	logtail_last_line(path, line, sizeof line);
	CHECK(!strcmp(line, "last words"), "last line of a long log");
	write_file(path, "bad \xff byte\n");
	logtail_last_line(path, line, sizeof line);
	CHECK(!strcmp(line, "bad \xef\xbf\xbd byte"), "a log line is cleaned to UTF-8");
	logtail_died(err, sizeof err, "xvfb", "exited with status 1", path);
	CHECK(!strcmp(err, "xvfb_died: the session's xvfb exited with status 1; its log says: "
	                   "bad \xef\xbf\xbd byte"),
	      "logtail_died with words");
	unlink(path);
	logtail_last_line(path, line, sizeof line);
	CHECK(line[0] == '\0', "a missing log says nothing");
	logtail_died(err, sizeof err, "qemu", "was killed by signal 9", path);
	CHECK(!strcmp(err, "qemu_died: the session's qemu was killed by signal 9"),
	      "logtail_died without words");
	logtail_last_line("/tmp", line, sizeof line);
	CHECK(line[0] == '\0', "a directory is no log");
}

int main(void)
{
	test_bound();
	test_lenient_keys();
	test_utf8();
	test_clock();
	test_exe();
	test_logtail();
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
