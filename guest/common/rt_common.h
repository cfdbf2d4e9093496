/* SPDX-License-Identifier: MIT */
/*
 * The part of the guest runtime API that is the same on every architecture
 * (the sources in guest/common, built into both libguest_rt.a): console
 * output and printf, the console lock, command-line options and the
 * freestanding string functions. Each runtime's rt.h includes this
 * header; programs include rt.h only.
 *
 * What each runtime provides for it: rt_putc() (one byte to its UART),
 * rt_boot_cmdline(), rt_spinlock_t with rt_spin_lock()/rt_spin_unlock(),
 * memset()/memcpy()/memmove() (string.c: the arch's own, see there) and the
 * console lock hooks below.
 */
#ifndef GUEST_RT_COMMON_H
#define GUEST_RT_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- console (the runtime's UART driver, common/printf.c) ----------------
 * rt_putc() writes one byte, polled; "\n" goes out as is (no CR added). */
void rt_putc(char c);
void rt_puts(const char *s); /* no newline added */
void rt_write(const char *s, size_t len);
/* printf subset: %d %i %u %x %X %p %c %s %%, flags '-' '0', width (number
 * or '*'), precision for %s (".N" or ".*"), length l, ll, z. */
__attribute__((format(printf, 1, 2))) int rt_printf(const char *fmt, ...);
int rt_vprintf(const char *fmt, va_list ap);
__attribute__((format(printf, 3, 4))) int rt_snprintf(char *buf, size_t size,
						      const char *fmt, ...);
int rt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
/* Generic formatter: calls put(c, ctx) per output byte; returns the count. */
int rt_vformat(void (*put)(char c, void *ctx), void *ctx, const char *fmt,
	       va_list ap);

/* Console lock: once rt_console_share() was called (the runtime's SMP
 * start does, before the first other CPU runs), each rt_printf(),
 * rt_vprintf(), rt_puts() and rt_write() call holds it for its whole
 * output, so what one call prints is never interleaved with another CPU's
 * output (print a whole line per call). Take it around several calls to
 * keep them together. It is recursive on one CPU (an exception report in
 * the middle of a line still prints) and masks interrupts while held.
 * Until rt_console_share() it costs nothing. rt_putc() alone never takes
 * it. */
void rt_console_lock(void);
void rt_console_unlock(void);
void rt_console_share(void);

/* The console lock's arch part (the runtime's UART driver): mask
 * interrupts and return the previous state; restore it; an ID unique to
 * the calling CPU (never 0xffffffff). */
uint64_t rt_console_irq_save(void);
void rt_console_irq_restore(uint64_t flags);
uint32_t rt_console_cpu(void);

/* ---- command line (common/cmdline.c) ---------------------------------------
 * The runtime's rt_boot_cmdline() ("" if none). Options are space-separated
 * words "key" or "key=value". rt_cmdline_opt() finds the first word whose
 * key is `key`: returns true and sets *val and *len to the value ("" / 0
 * for a bare key). */
const char *rt_boot_cmdline(void);
bool rt_cmdline_opt(const char *key, const char **val, size_t *len);
bool rt_cmdline_has(const char *key);
/* Numeric value (decimal or 0x hex) of key=value; `def` if absent or bad. */
uint64_t rt_cmdline_uint(const char *key, uint64_t def);
/* True if key=value is present and value equals `value`. */
bool rt_cmdline_is(const char *key, const char *value);

/* ---- freestanding string functions (string.c, common/string.c) ---------- */
void *memset(void *s, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

#endif
