/* SPDX-License-Identifier: MIT */
/*
 * A small printf, shared by the x86 and arm64 runtimes: enough for boot
 * logs, no floating point (the guests are built with -mgeneral-regs-only).
 * Output goes straight to the UART (the runtime's rt_putc()), one byte at a
 * time, without buffering: every instruction counts when the host emulates
 * the guest, and a crash must not lose a half-printed line.
 */
#include "rt.h"

struct spec {
	bool left;  /* '-' */
	bool zero;  /* '0' */
	int width;  /* minimum field width */
	int prec;   /* %s: maximum length; -1: none */
	int length; /* 0: int, 1: long, 2: long long / size_t */
};

static int emit_pad(void (*put)(char, void *), void *ctx, char c, int n)
{
	for (int i = 0; i < n; i++)
		put(c, ctx);
	return n > 0 ? n : 0;
}

static int emit_field(void (*put)(char, void *), void *ctx,
		      const struct spec *sp, const char *prefix,
		      const char *body, int len, bool numeric)
{
	int plen = (int)strlen(prefix), pad = sp->width - plen - len, n = 0;

	if (!sp->left && !(sp->zero && numeric))
		n += emit_pad(put, ctx, ' ', pad);
	for (int i = 0; i < plen; i++)
		put(prefix[i], ctx);
	if (!sp->left && sp->zero && numeric)
		n += emit_pad(put, ctx, '0', pad);
	for (int i = 0; i < len; i++)
		put(body[i], ctx);
	if (sp->left)
		n += emit_pad(put, ctx, ' ', pad);
	return n + plen + len;
}

static int emit_number(void (*put)(char, void *), void *ctx,
		       const struct spec *sp, uint64_t v, unsigned base,
		       bool neg, bool upper, const char *prefix)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char buf[24];
	int i = (int)sizeof(buf);

	do {
		buf[--i] = digits[v % base];
		v /= base;
	} while (v);
	return emit_field(put, ctx, sp, neg ? "-" : prefix, buf + i,
			  (int)sizeof(buf) - i, true);
}

int rt_vformat(void (*put)(char c, void *ctx), void *ctx, const char *fmt,
	       va_list ap)
{
	int n = 0;

	for (; *fmt; fmt++) {
		struct spec sp = { .prec = -1 };
		uint64_t u;
		int64_t d;
		char c;
		const char *s;

		if (*fmt != '%') {
			put(*fmt, ctx);
			n++;
			continue;
		}
		fmt++;
		for (;; fmt++) {
			if (*fmt == '-')
				sp.left = true;
			else if (*fmt == '0')
				sp.zero = true;
			else
				break;
		}
		if (*fmt == '*') {
			sp.width = va_arg(ap, int);
			if (sp.width < 0) {
				sp.left = true;
				sp.width = -sp.width;
			}
			fmt++;
		} else {
			while (*fmt >= '0' && *fmt <= '9')
				sp.width = sp.width * 10 + (*fmt++ - '0');
		}
		if (*fmt == '.') {
			fmt++;
			sp.prec = 0;
			if (*fmt == '*') {
				sp.prec = va_arg(ap, int);
				fmt++;
			} else {
				while (*fmt >= '0' && *fmt <= '9')
					sp.prec = sp.prec * 10 + (*fmt++ - '0');
			}
		}
		while (*fmt == 'l') {
			sp.length++;
			fmt++;
		}
		if (*fmt == 'z') {
			sp.length = 2;
			fmt++;
		}

		switch (*fmt) {
		case 'd':
		case 'i':
			if (sp.length)
				d = va_arg(ap, long);
			else
				d = va_arg(ap, int);
			u = d < 0 ? -(uint64_t)d : (uint64_t)d;
			n += emit_number(put, ctx, &sp, u, 10, d < 0, false,
					 "");
			break;
		case 'u':
		case 'x':
		case 'X':
			if (sp.length)
				u = va_arg(ap, unsigned long);
			else
				u = va_arg(ap, unsigned int);
			n += emit_number(put, ctx, &sp, u,
					 *fmt == 'u' ? 10 : 16, false,
					 *fmt == 'X', "");
			break;
		case 'p':
			u = (uintptr_t)va_arg(ap, void *);
			n += emit_number(put, ctx, &sp, u, 16, false, false,
					 "0x");
			break;
		case 'c':
			c = (char)va_arg(ap, int);
			n += emit_field(put, ctx, &sp, "", &c, 1, false);
			break;
		case 's':
			s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			n += emit_field(put, ctx, &sp, "", s,
					sp.prec >= 0 ? (int)strnlen(s, sp.prec)
						     : (int)strlen(s),
					false);
			break;
		case '%':
			put('%', ctx);
			n++;
			break;
		case '\0':
			return n;
		default: /* unknown: print it as written */
			put('%', ctx);
			put(*fmt, ctx);
			n += 2;
			break;
		}
	}
	return n;
}

/*
 * The console lock. Off until rt_console_share(): single-CPU programs pay
 * one load per call. The owner is identified by rt_console_cpu() (x86: the
 * LAPIC ID, one MMIO read per call once shared; arm64: the runtime CPU
 * index in TPIDR_EL1): recursion on the owner, say an exception report in
 * the middle of a line, proceeds instead of deadlocking. Interrupts stay
 * masked while the lock is held, so a handler that prints on the owner
 * cannot find the lock taken but the owner not yet recorded.
 */
#define NO_OWNER 0xffffffffu

static bool console_shared;
static rt_spinlock_t console;
static volatile uint32_t console_owner = NO_OWNER;
static unsigned console_depth; /* owner only */
static uint64_t console_flags; /* owner only: IRQ state at the outer lock */

void rt_console_share(void)
{
	__atomic_store_n(&console_shared, true, __ATOMIC_SEQ_CST);
}

void rt_console_lock(void)
{
	uint64_t flags;
	uint32_t me;

	if (!__atomic_load_n(&console_shared, __ATOMIC_ACQUIRE))
		return;
	flags = rt_console_irq_save();
	me = rt_console_cpu();
	if (console_owner == me) {
		console_depth++;
		return;
	}
	rt_spin_lock(&console);
	console_owner = me;
	console_depth = 1;
	console_flags = flags;
}

void rt_console_unlock(void)
{
	uint64_t flags;

	if (!__atomic_load_n(&console_shared, __ATOMIC_ACQUIRE))
		return;
	if (--console_depth)
		return;
	flags = console_flags;
	console_owner = NO_OWNER;
	rt_spin_unlock(&console);
	rt_console_irq_restore(flags);
}

void rt_write(const char *s, size_t len)
{
	rt_console_lock();
	for (size_t i = 0; i < len; i++)
		rt_putc(s[i]);
	rt_console_unlock();
}

void rt_puts(const char *s)
{
	rt_write(s, strlen(s));
}

static void put_serial(char c, void *ctx)
{
	rt_putc(c);
}

int rt_vprintf(const char *fmt, va_list ap)
{
	int n;

	rt_console_lock();
	n = rt_vformat(put_serial, NULL, fmt, ap);
	rt_console_unlock();
	return n;
}

int rt_printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = rt_vprintf(fmt, ap);
	va_end(ap);
	return n;
}

struct buf_ctx {
	char *buf;
	size_t size;
	size_t len;
};

static void put_buf(char c, void *ctx)
{
	struct buf_ctx *b = ctx;

	if (b->len + 1 < b->size)
		b->buf[b->len] = c;
	b->len++;
}

int rt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct buf_ctx b = { buf, size, 0 };
	int n = rt_vformat(put_buf, &b, fmt, ap);

	if (size)
		buf[b.len < size ? b.len : size - 1] = '\0';
	return n;
}

int rt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = rt_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
