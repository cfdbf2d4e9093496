/* SPDX-License-Identifier: MIT */
/*
 * Command-line options: space-separated words, each "key" or "key=value".
 * The command line is the runtime's rt_boot_cmdline(): x86, the Multiboot
 * command line; arm64, the DTB's /chosen bootargs. Words that are not
 * options the program knows (such as the image name Multiboot loaders put
 * first) are simply never asked for.
 */
#include "rt.h"

bool rt_cmdline_opt(const char *key, const char **val, size_t *len)
{
	const char *s = rt_boot_cmdline();
	size_t klen = strlen(key);

	while (*s) {
		const char *w;
		size_t wlen = 0;

		while (*s == ' ' || *s == '\t')
			s++;
		w = s;
		while (w[wlen] && w[wlen] != ' ' && w[wlen] != '\t')
			wlen++;
		s = w + wlen;
		if (wlen < klen || strncmp(w, key, klen))
			continue;
		if (wlen == klen) {
			*val = w + wlen;
			*len = 0;
			return true;
		}
		if (w[klen] == '=') {
			*val = w + klen + 1;
			*len = wlen - klen - 1;
			return true;
		}
	}
	return false;
}

bool rt_cmdline_has(const char *key)
{
	const char *v;
	size_t n;

	return rt_cmdline_opt(key, &v, &n);
}

bool rt_cmdline_is(const char *key, const char *value)
{
	const char *v;
	size_t n;

	return rt_cmdline_opt(key, &v, &n) && n == strlen(value) &&
	       !strncmp(v, value, n);
}

uint64_t rt_cmdline_uint(const char *key, uint64_t def)
{
	const char *v;
	size_t n, i = 0;
	unsigned base = 10;
	uint64_t r = 0;

	if (!rt_cmdline_opt(key, &v, &n) || n == 0)
		return def;
	if (n > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
		base = 16;
		i = 2;
	}
	for (; i < n; i++) {
		char c = v[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return def;
		r = r * base + d;
	}
	return r;
}
