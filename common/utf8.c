/*
 * utf8.c - strict UTF-8 decoding, validation and cleaning (utf8.h).
 * Well-formed means Unicode's table 3-7: C0, C1 and F5..FF never appear,
 * E0 needs A0..BF next (no overlongs), ED needs 80..9F (no surrogates),
 * F0 needs 90..BF and F4 80..8F (U+10000..U+10FFFF).
 */
#include "common/utf8.h"

#include <stdlib.h>
#include <string.h>

int utf8_decode(const char *s, size_t n, unsigned *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned c, lo = 0x80, hi = 0xbf, v;
	size_t len, i;

	*cp = 0xfffd;
	if (n == 0)
		return -1;
	c = u[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		v = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		v = c & 0x07;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return -1;
	}
	if (n < len)
		return -1;
	for (i = 1; i < len; i++) {
		unsigned b = u[i];
		if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xbf))
			return -1;
		v = v << 6 | (b & 0x3f);
	}
	*cp = v;
	return (int)len;
}

int utf8_valid(const char *s, size_t n)
{
	size_t i = 0;
	unsigned cp;

	while (i < n) {
		if ((unsigned char)s[i] < 0x80) { /* the common case, quickly */
			i++;
			continue;
		}
		int k = utf8_decode(s + i, n - i, &cp);
		if (k < 0)
			return 0;
		i += (size_t)k;
	}
	return 1;
}

char *utf8_sanitize(const char *s, size_t n)
{
	char *out, *o;
	size_t i = 0;
	unsigned cp;

	if (n > ((size_t)-1 - 1) / 3)
		return NULL;
	out = malloc(n * 3 + 1);
	if (!out)
		return NULL;
	o = out;
	while (i < n && s[i]) {
		int k = utf8_decode(s + i, n - i, &cp);
		if (k > 0) {
			memcpy(o, s + i, (size_t)k);
			o += k;
			i += (size_t)k;
		} else {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	*o = 0;
	return out;
}
