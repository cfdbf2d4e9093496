/* SPDX-License-Identifier: MIT */
/* Small helpers shared by all of vmm: parsing numbers and sizes, macros. */
#ifndef VMM_UTIL_H
#define VMM_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a)	 (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)	 ((a) < (b) ? (a) : (b))
#define MAX(a, b)	 ((a) > (b) ? (a) : (b))
#define ALIGN_UP(x, a)	 (((x) + ((a)-1)) & ~((__typeof__(x))(a)-1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a)-1))
#define IS_POW2(x)	 ((x) != 0 && ((x) & ((x)-1)) == 0)
#define KiB		 (1024ULL)
#define MiB		 (1024ULL * KiB)
#define GiB		 (1024ULL * MiB)

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr)-offsetof(type, member)))

/*
 * Parse an unsigned number: decimal, 0x hex, 0o/0 octal not accepted
 * (a leading 0 is decimal, so "010" is ten), "_" separators allowed.
 * The whole string must be consumed. Returns 0 or -EINVAL / -ERANGE.
 */
int parse_u64(const char *s, uint64_t *out);

/*
 * Parse a size: a number as parse_u64() followed by an optional suffix
 * K, M, G, T (binary: 1K = 1024), also KiB/MiB/GiB/TiB and KB/MB/GB (still
 * binary). Case-insensitive. Returns 0, -EINVAL, or -ERANGE on overflow.
 */
int parse_size(const char *s, uint64_t *out);

/* "yes/no/true/false/on/off/1/0", case-insensitive. 0 or -EINVAL. */
int parse_bool(const char *s, bool *out);

/*
 * Parse a duration: a number with optional unit ms, s (default), m.
 * Result in milliseconds. 0, -EINVAL or -ERANGE.
 */
int parse_duration_ms(const char *s, uint64_t *out_ms);

/* True if [a, a+alen) and [b, b+blen) intersect. Lengths may be 0. */
bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen);

/* a + b without wrap-around: 0 and *sum set, or -ERANGE. */
int add_overflows(uint64_t a, uint64_t b, uint64_t *sum);

/* Monotonic clock in ms and ns. */
uint64_t now_ms(void);
uint64_t now_ns(void);

/* Format a size as "64 MiB" / "4 KiB" / "1234 B" into buf. */
const char *fmt_size(uint64_t size, char *buf, size_t len);

#endif
