/*
 * util.c - see util.h. No FUSE, no X11: linked by the daemon and by
 * the unit tests.
 */
#include "core/util.h"
#include "common/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int buf_reserve(struct buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	char *p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) < 0)
		return -ENOMEM;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if (buf_reserve(b, (size_t)n) < 0)
		return -ENOMEM;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *buf_steal(struct buf *b, size_t *len)
{
	char *p = b->data;
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

struct blob *blob_from_buf(struct buf *b, const char *tag)
{
	struct blob *o = malloc(sizeof *o + b->len + 1);
	if (!o)
		return NULL;
	o->refs = 1;
	o->len = b->len;
	snprintf(o->tag, sizeof o->tag, "%s", tag ? tag : "");
	if (b->len)
		memcpy(o->data, b->data, b->len);
	o->data[b->len] = '\0';
	buf_free(b);
	return o;
}

struct blob *blob_ref(struct blob *b)
{
	if (b)
		__atomic_add_fetch(&b->refs, 1, __ATOMIC_ACQ_REL);
	return b;
}

void blob_unref(struct blob *b)
{
	if (b && __atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(b);
}

/* The clocks are common/clock.h's; these wrappers go once every caller
 * calls clk_* directly. */
double util_now(void)
{
	return clk_wall();
}

uint64_t util_mono_ms(void)
{
	return clk_mono_ms();
}

void util_iso8601(double t, char *out, size_t len)
{
	clk_iso8601_at(t, out, len);
}

void util_sleep_ms(unsigned ms)
{
	clk_sleep_ms(ms);
}

int util_random_hex(char *out, size_t nbytes)
{
	unsigned char raw[64];
	if (nbytes > sizeof raw)
		return -EINVAL;
	size_t got = 0;
	while (got < nbytes) {
		ssize_t n = getrandom(raw + got, nbytes - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	for (size_t i = 0; i < nbytes; i++)
		sprintf(out + 2 * i, "%02x", raw[i]);
	out[2 * nbytes] = '\0';
	return 0;
}

void util_uuid4(char out[37])
{
	char hex[33];
	if (util_random_hex(hex, 16) < 0)
		snprintf(hex, sizeof hex, "%016llx%016llx", (unsigned long long)util_mono_ms(),
			 (unsigned long long)getpid());
	hex[12] = '4';
	static const char variant[] = "89ab";
	hex[16] = variant[(unsigned char)hex[16] % 4];
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

static int name_char(char c, int first)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return 1;
	return !first && (c == '.' || c == '_' || c == '-');
}

int util_name_valid(const char *name)
{
	size_t i;
	if (!name || !name_char(name[0], 1))
		return 0;
	for (i = 1; name[i]; i++)
		if (i >= 64 || !name_char(name[i], 0))
			return 0;
	return 1;
}

int util_mkdir_p(const char *path, int mode)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, (mode_t)mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, (mode_t)mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static __thread int rm_err; /* the first failure of this thread's util_rm_rf */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	int r = flag == FTW_DP || flag == FTW_D || flag == FTW_DNR ? rmdir(path) : unlink(path);
	if (r < 0 && errno != ENOENT && !rm_err)
		rm_err = errno;
	return 0; /* carry on: remove what can be removed */
}

/* Everything under path and path itself; -errno of the first failure. */
int util_rm_rf(const char *path)
{
	rm_err = 0;
	if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
		return -errno;
	return -rm_err;
}

/*
 * Atomic, and never through a path someone else could have named: the
 * temporary is a fresh random name created with O_EXCL|O_NOFOLLOW (an
 * existing file or link there is never opened), written, then renamed
 * over path (no fsync: state lives in /run, and a crash of ours cannot
 * leave a half-written record). On any failure the temporary is removed and path is
 * left as it was.
 */
int util_write_file(const char *path, const void *data, size_t len, int mode)
{
	char tmp[PATH_MAX], rnd[9];
	int ret = 0, fd = -1;
	for (int tries = 0; fd < 0 && tries < 8; tries++) {
		if ((ret = util_random_hex(rnd, 4)) < 0)
			return ret;
		if (snprintf(tmp, sizeof tmp, "%s.%s.tmp", path, rnd) >= (int)sizeof tmp)
			return -ENAMETOOLONG;
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd < 0 && errno != EEXIST)
			return -errno;
	}
	if (fd < 0)
		return -EEXIST;
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto out_close;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fchmod(fd, (mode_t)mode) < 0)
		ret = -errno;
out_close:
	if (close(fd) < 0 && ret == 0)
		ret = -errno;
	if (ret == 0 && rename(tmp, path) < 0)
		ret = -errno;
	if (ret < 0)
		unlink(tmp);
	return ret;
}

/*
 * open(2) with uid/gid's file-system credentials on this thread only (the
 * kernel keeps fsuid per thread; glibc does not broadcast setfsuid), so a
 * path a user named is opened with that user's rights, not ours.
 */
int util_open_as(uid_t uid, gid_t gid, const char *path, int flags)
{
	uid_t ou = (uid_t)setfsuid(uid);
	gid_t og = (gid_t)setfsgid(gid);
	int fd = open(path, flags);
	int e = errno;
	setfsgid(og);
	setfsuid(ou);
	return fd < 0 ? -e : fd;
}

int util_read_file(const char *path, char **out, size_t *len)
{
	struct buf b = BUF_INIT;
	char chunk[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (buf_append(&b, chunk, (size_t)n) < 0) {
			close(fd);
			buf_free(&b);
			return -ENOMEM;
		}
	}
	close(fd);
	if (buf_append(&b, "", 0) < 0)
		return -ENOMEM;
	*out = buf_steal(&b, len);
	return 0;
}

char *util_file_tail(const char *path, size_t max)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return strdup("");
	off_t end = lseek(fd, 0, SEEK_END);
	off_t start = end > (off_t)max ? end - (off_t)max : 0;
	char *s = calloc(1, max + 1);
	if (s) {
		ssize_t n = pread(fd, s, (size_t)(end - start), start);
		s[n > 0 ? n : 0] = '\0';
	}
	close(fd);
	return s;
}

int util_parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

int util_parse_size(const char *s, long lo, long hi, int *w, int *h)
{
	char tmp[32];
	long a, b;
	const char *x = s ? strchr(s, 'x') : NULL;
	if (!x || (size_t)(x - s) >= sizeof tmp)
		return -EINVAL;
	memcpy(tmp, s, (size_t)(x - s));
	tmp[x - s] = '\0';
	if (util_parse_int(tmp, lo, hi, &a) < 0 || util_parse_int(x + 1, lo, hi, &b) < 0)
		return -EINVAL;
	*w = (int)a;
	*h = (int)b;
	return 0;
}
