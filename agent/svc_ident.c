/*
 * svc_ident.c - POST /v1/identity: a resumed VM's agent takes its new
 * identity (a fork's or a restore's; core/ckpt.c sends it right after the
 * VM runs again, with the token the checkpoint was taken with):
 *
 *	curl -H "Authorization: Bearer $OLD" -d '{"token":"NEW","seed":"BASE64",
 *	     "time":"1767225600.123456789"}' http://x/v1/identity
 *	{"ok":true,"seeded":64,"clock_set":true}
 *
 * token: every request from now on must carry it (http_set_token), so no two
 * forks of one checkpoint share one. seed: bytes mixed into the kernel's
 * pool and credited (RNDADDENTROPY), so two forks draw different random
 * numbers from then on. time: CLOCK_REALTIME is set to it, only by an agent
 * started with --guest (a VM's, whose clock stood still in the checkpoint);
 * an agent beside a local X server never touches the host's clock.
 *
 * On the HTTP thread: each step is one quick system call.
 */
#include "agent/svc_all.h"
#include "agent/http.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define SEED_MAX 512

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Standard base64 (padding optional); the byte count or -EINVAL. */
static int b64decode(const char *in, unsigned char *out, size_t max)
{
	size_t n = 0;
	unsigned acc = 0;
	int bits = 0;
	for (; *in && *in != '='; in++) {
		int v = b64val((unsigned char)*in);
		if (v < 0)
			return -EINVAL;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= max)
				return -EINVAL;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	return (int)n;
}

static int add_entropy(const unsigned char *seed, int n)
{
	struct {
		struct rand_pool_info info;
		unsigned char buf[SEED_MAX];
	} e;
	int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC), r = 0;
	if (fd < 0)
		return -errno;
	e.info.entropy_count = n * 8;
	e.info.buf_size = n;
	memcpy(e.buf, seed, (size_t)n);
	if (ioctl(fd, RNDADDENTROPY, &e) < 0) {
		/* without CAP_SYS_ADMIN: mixed in, not credited */
		if (write(fd, seed, (size_t)n) != n)
			r = -errno;
	}
	explicit_bzero(&e, sizeof e);
	close(fd);
	return r;
}

static int set_clock(const char *t)
{
	char *end;
	long long sec = strtoll(t, &end, 10);
	long nsec = 0;
	if (end == t || sec <= 0)
		return -EINVAL;
	if (*end == '.') {
		char digits[10] = "000000000";
		size_t k = strspn(end + 1, "0123456789");
		memcpy(digits, end + 1, k > 9 ? 9 : k);
		nsec = strtol(digits, NULL, 10);
	}
	struct timespec ts = {.tv_sec = (time_t)sec, .tv_nsec = nsec};
	return clock_settime(CLOCK_REALTIME, &ts) < 0 ? -errno : 0;
}

static void post_identity(void *ctx, const struct svc_req *rq, struct svc_reply *rep)
{
	struct svc_ident *id = ctx;
	struct http_server *srv = __atomic_load_n(&id->srv, __ATOMIC_ACQUIRE);
	cJSON *j = cJSON_ParseWithLength(rq->body, rq->len);
	const char *tok = cJSON_GetStringValue(cJSON_GetObjectItem(j, "token"));
	const char *seed = cJSON_GetStringValue(cJSON_GetObjectItem(j, "seed"));
	const cJSON *tm = cJSON_GetObjectItem(j, "time");
	unsigned char bytes[SEED_MAX];
	int n = 0, r = 0, clock = 0;

	if (!tok || !*tok || strlen(tok) > 4096) {
		svc_reply_errno(rep, EINVAL, "bad_identity", "a non-empty token is required");
		goto out;
	}
	if (seed && (n = b64decode(seed, bytes, sizeof bytes)) < 0) {
		svc_reply_errno(rep, EINVAL, "bad_identity", "seed is not base64 (at most %d bytes)",
		                SEED_MAX);
		goto out;
	}
	if (n > 0 && (r = add_entropy(bytes, n)) < 0) {
		svc_reply_errno(rep, -r, "reseed_failed", "cannot reseed: %s", strerror(-r));
		goto out;
	}
	if (tm && id->guest) {
		char num[64];
		if (cJSON_IsString(tm))
			snprintf(num, sizeof num, "%s", tm->valuestring);
		else
			snprintf(num, sizeof num, "%.6f", cJSON_GetNumberValue(tm));
		if ((r = set_clock(num)) < 0) {
			svc_reply_errno(rep, -r, "clock_failed", "cannot set the clock to %s: %s",
			                num, strerror(-r));
			goto out;
		}
		clock = 1;
	}
	if (!srv || (r = http_set_token(srv, tok, strlen(tok))) < 0) {
		svc_reply_errno(rep, srv ? -r : EAGAIN, "internal", "cannot keep the token");
		goto out;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddTrueToObject(o, "ok");
	cJSON_AddNumberToObject(o, "seeded", n);
	cJSON_AddBoolToObject(o, "clock_set", clock);
	svc_reply_json(rep, 200, o);
out:
	explicit_bzero(bytes, sizeof bytes);
	cJSON_Delete(j);
}

static const struct svc_route routes[] = {
    {"POST", "/identity", post_identity, SVC_BODY},
};

const struct svc_def svc_ident = {"identity", routes, sizeof routes / sizeof routes[0]};
