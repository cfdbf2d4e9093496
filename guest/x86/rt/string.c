/* SPDX-License-Identifier: MIT */
/*
 * The x86 runtime's memset, memcpy and memmove (the compiler may call them
 * on its own for struct copies and initialisers; memcmp and the string
 * helpers are in guest/common/string.c). memset/memcpy are single
 * rep-string instructions: small code, and the compiler cannot turn them
 * back into calls to themselves.
 */
#include "rt.h"

void *memset(void *s, int c, size_t n)
{
	void *d = s;

	__asm__ volatile("rep stosb"
			 : "+D"(d), "+c"(n)
			 : "a"((unsigned char)c)
			 : "memory");
	return s;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	void *d = dst;

	__asm__ volatile("rep movsb"
			 : "+D"(d), "+S"(src), "+c"(n)
			 :
			 : "memory");
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d <= s || d >= s + n)
		return memcpy(dst, src, n);
	/* Overlapping with dst above src: copy backwards. */
	d += n - 1;
	s += n - 1;
	__asm__ volatile("std; rep movsb; cld"
			 : "+D"(d), "+S"(s), "+c"(n)
			 :
			 : "memory");
	return dst;
}
