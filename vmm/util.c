/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "vmm/util.h"

int parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	unsigned base = 10, digits = 0;

	if (!s || !*s)
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (; *s; s++) {
		unsigned d;

		if (*s == '_' && digits)
			continue;
		if (isdigit((unsigned char)*s))
			d = (unsigned)(*s - '0');
		else if (base == 16 && isxdigit((unsigned char)*s))
			d = (unsigned)(tolower((unsigned char)*s) - 'a' + 10);
		else
			return -EINVAL;
		if (d >= base)
			return -EINVAL;
		if (v > (UINT64_MAX - d) / base)
			return -ERANGE;
		v = v * base + d;
		digits++;
	}
	if (!digits)
		return -EINVAL;
	*out = v;
	return 0;
}

static const struct {
	const char *suffix;
	unsigned shift;
} size_suffixes[] = {
	{ "", 0 },     { "b", 0 },    { "k", 10 },   { "kb", 10 },
	{ "kib", 10 }, { "m", 20 },   { "mb", 20 },  { "mib", 20 },
	{ "g", 30 },   { "gb", 30 },  { "gib", 30 }, { "t", 40 },
	{ "tb", 40 },  { "tib", 40 },
};

int parse_size(const char *s, uint64_t *out)
{
	char num[64];
	size_t n = 0;
	uint64_t v;
	int ret;

	if (!s)
		return -EINVAL;
	/* The number part: hex needs care because b/B is a hex digit. */
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		n = 2;
		while (isxdigit((unsigned char)s[n]) || s[n] == '_')
			n++;
	} else {
		while (isdigit((unsigned char)s[n]) || s[n] == '_')
			n++;
	}
	if (n == 0 || n >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, n);
	num[n] = '\0';
	ret = parse_u64(num, &v);
	if (ret)
		return ret;
	for (size_t i = 0; i < ARRAY_SIZE(size_suffixes); i++) {
		unsigned shift = size_suffixes[i].shift;

		if (strcasecmp(s + n, size_suffixes[i].suffix))
			continue;
		if (shift && v > (UINT64_MAX >> shift))
			return -ERANGE;
		*out = v << shift;
		return 0;
	}
	return -EINVAL;
}

int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

int parse_duration_ms(const char *s, uint64_t *out_ms)
{
	char num[32];
	size_t n = 0;
	uint64_t v, mul;
	int ret;

	if (!s)
		return -EINVAL;
	while (isdigit((unsigned char)s[n]) || s[n] == '_')
		n++;
	if (n == 0 || n >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, n);
	num[n] = '\0';
	ret = parse_u64(num, &v);
	if (ret)
		return ret;
	if (!strcmp(s + n, "ms"))
		mul = 1;
	else if (!strcmp(s + n, "") || !strcmp(s + n, "s"))
		mul = 1000;
	else if (!strcmp(s + n, "m") || !strcmp(s + n, "min"))
		mul = 60000;
	else
		return -EINVAL;
	if (v > UINT64_MAX / mul)
		return -ERANGE;
	*out_ms = v * mul;
	return 0;
}

bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	if (!alen || !blen)
		return false;
	/* Compare with inclusive ends so ranges touching 2^64 work. */
	return a <= b + (blen - 1) && b <= a + (alen - 1);
}

int add_overflows(uint64_t a, uint64_t b, uint64_t *sum)
{
	if (__builtin_add_overflow(a, b, sum))
		return -ERANGE;
	return 0;
}

static uint64_t clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t now_ns(void)
{
	return clock_ns();
}

uint64_t now_ms(void)
{
	return clock_ns() / 1000000ULL;
}

const char *fmt_size(uint64_t size, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned u = 0;

	while (u + 1 < ARRAY_SIZE(units) && size >= 1024 && !(size % 1024)) {
		size /= 1024;
		u++;
	}
	snprintf(buf, len, "%llu %s", (unsigned long long)size, units[u]);
	return buf;
}
