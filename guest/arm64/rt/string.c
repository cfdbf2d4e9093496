/* SPDX-License-Identifier: MIT */
/*
 * The arm64 runtime's memset, memcpy and memmove (the compiler may call them
 * on its own for struct copies and initialisers; memcmp and the string
 * helpers are in guest/common/string.c). Plain loops: the guests are built
 * with
 * -fno-tree-loop-distribute-patterns, so GCC does not turn them back into
 * calls to themselves.
 */
#include "rt.h"

void *memset(void *s, int c, size_t n)
{
	unsigned char *d = s;

	while (n--)
		*d++ = (unsigned char)c;
	return s;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d <= s || d >= s + n)
		return memcpy(dst, src, n);
	while (n--)
		d[n] = s[n];
	return dst;
}
