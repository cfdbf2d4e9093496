/* SPDX-License-Identifier: MIT */
/*
 * The x86 guest runtime: what every guest program in guest/x86/ links
 * against (libguest_rt.a). guest/README.md describes the contract; in short:
 *
 *   - The image starts with an entry table (start.S): offset 0 jumps to the
 *     32-bit protected-mode entry, offset 8 to the 64-bit entry. Either path
 *     ends in 64-bit long mode on the runtime's own GDT, identity page
 *     tables (first 4 GiB, 2 MiB pages) and 16 KiB stack, with .bss zeroed.
 *   - rt_main() then initialises COM1 (polled output), installs the IDT
 *     (exceptions print a line and exit with RT_EXIT_EXCEPTION), parses the
 *     boot information and calls the program's main(). Interrupts stay off
 *     until something needs them (timer, serial receive).
 *   - main() returning 0 powers the VM off (rt_poweroff()); any other value
 *     v exits through the debug-exit port with rt_exit(v).
 *
 * Everything is single-CPU: the runtime never starts application processors.
 */
#ifndef GUEST_RT_H
#define GUEST_RT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The program's entry, called by rt_main() in long mode. */
int main(void);

/* ---- power and exits (power.c) ------------------------------------------
 * Debug-exit codes the runtime itself uses. A write of v to the debug-exit
 * port makes the VMM (and QEMU's isa-debug-exit) exit with (v << 1) | 1. */
#define RT_EXIT_POWEROFF_FALLBACK 0x00 /* status 1: no ACPI PM1 device */
#define RT_EXIT_PANIC		  0x7e /* status 253: rt_panic() */
#define RT_EXIT_EXCEPTION	  0x7f /* status 255: unhandled CPU exception */

/* Power off: ACPI PM1a_CNT S5 (the VMM exits 0); if the VM is still running,
 * debug-exit 0 (status 1); if that did not stop it either, cli; hlt forever. */
__attribute__((noreturn)) void rt_poweroff(void);
/* Write `code` (low 8 bits) to the debug-exit port; cli; hlt if it returns. */
__attribute__((noreturn)) void rt_exit(unsigned code);
/* Print "PANIC: <message>" and rt_exit(RT_EXIT_PANIC). */
__attribute__((noreturn, format(printf, 1, 2))) void rt_panic(const char *fmt,
							      ...);

/* ---- serial console, COM1 (serial.c, printf.c) ---------------------------
 * Output is polled: one LSR read per byte, then the THR write. "\n" is sent
 * as is (no CR is added). Input is interrupt driven (IRQ 4 through the
 * IOAPIC) into a 256-byte ring; the first rt_getc() enables it. */
void rt_serial_init(void);
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

/* Blocking receive: HLTs until a byte arrives. */
int rt_getc(void);
/* Non-blocking: a byte, or -1 if none is buffered. */
int rt_trygetc(void);
/* Read one line (terminated by CR, LF or CR LF; the terminator is not
 * stored; backspace/DEL edit). Stores at most size - 1 bytes plus a NUL,
 * drops the excess. Returns the stored length. */
size_t rt_getline(char *buf, size_t size);

/* ---- interrupts (irq.c) ---------------------------------------------------
 * Vector map: 0x00-0x1f exceptions, 0x20 + n ISA IRQ n (IOAPIC pin n),
 * 0x30 LAPIC timer, 0x3f LAPIC spurious. The IDT has 64 entries; any other
 * vector raises #GP. Handlers run with interrupts off; the runtime sends
 * the LAPIC EOI after the handler returns. */
#define RT_VEC_IRQ_BASE 0x20
#define RT_VEC_TIMER	0x30
#define RT_VEC_SPURIOUS 0x3f
#define RT_NR_VECTORS	0x40

typedef void (*rt_irq_fn)(void *arg);

/* Install the IDT (called by rt_main()). */
void rt_idt_init(void);
/* Idempotent: remap and mask both 8259 PICs, enable the LAPIC (software
 * enable, TPR 0), then sti. */
void rt_irq_init(void);
/* Route ISA IRQ `irq` (IOAPIC pin irq, 1-15; edge, active high, fixed
 * delivery to this CPU) to `fn`. Calls rt_irq_init(). 0 or -1. */
int rt_irq_attach(unsigned irq, rt_irq_fn fn, void *arg);
/* Handler for a raw vector (0x20..0x3e) without IOAPIC routing. */
int rt_vector_attach(unsigned vector, rt_irq_fn fn, void *arg);

/* Wait for an interrupt: "sti; hlt" (the STI shadow makes the pair atomic).
 * Pattern: cli; check the condition; rt_wait_irq(); repeat. Returns with
 * interrupts enabled. */
static inline void rt_wait_irq(void)
{
	__asm__ volatile("sti; hlt" : : : "memory");
}
static inline void rt_irq_disable(void)
{
	__asm__ volatile("cli" : : : "memory");
}
static inline void rt_irq_enable(void)
{
	__asm__ volatile("sti" : : : "memory");
}

/* ---- LAPIC timer (timer.c) -------------------------------------------------
 * Calibrated once against PIT channel 2 (10 ms, mode 0, polled through port
 * 0x61), then run periodically. The callback runs in interrupt context. */
typedef void (*rt_timer_fn)(uint64_t ticks, void *arg);

/* LAPIC timer counts per millisecond at divide-by-16 (calibrates on first
 * use). Also measures the TSC rate (rt_tsc_khz()). */
uint32_t rt_timer_calibrate(void);
uint32_t rt_tsc_khz(void);
/* Start the periodic timer at `hz` (1..10000); resets the tick counter. */
int rt_timer_start(unsigned hz, rt_timer_fn fn, void *arg);
void rt_timer_stop(void);
unsigned rt_timer_hz(void); /* 0 when stopped */
/* Ticks since rt_timer_start() (monotonic, 64-bit). */
uint64_t rt_ticks(void);
/* Milliseconds since rt_timer_start(), at tick resolution (frozen by
 * rt_timer_stop()). */
uint64_t rt_uptime_ms(void);
/* HLT until `ticks` is reached. */
void rt_wait_ticks(uint64_t ticks);
/* HLT for at least `ms` (rounded up to whole ticks); starts the timer at
 * 100 Hz if it is not running. */
void rt_sleep_ms(unsigned ms);

/* ---- boot information (bootinfo.c, cmdline.c) ----------------------------- */
enum rt_boot_proto {
	RT_BOOT_NONE,
	RT_BOOT_MULTIBOOT1,
	RT_BOOT_MULTIBOOT2,
};

struct rt_mmap_entry {
	uint64_t base;
	uint64_t len;
	uint32_t type; /* 1 = RAM, 2 = reserved, 3 = ACPI, ... */
};

struct rt_module {
	uint64_t start; /* physical address of the first byte */
	uint64_t end;	/* one past the last byte */
	const char *string;
};

/* Recorded by rt_main() from the entry registers (EAX magic, EBX info). */
void rt_boot_init(uint32_t magic, uint32_t info);
enum rt_boot_proto rt_boot_proto(void);
const char *rt_boot_proto_name(void);  /* "multiboot1", "multiboot2", "none" */
const char *rt_boot_cmdline(void);     /* "" if none */
const char *rt_boot_loader_name(void); /* "" if none */
/* Basic memory info in KiB; false (and 0s) if the loader gave none. */
bool rt_boot_meminfo(uint32_t *lower_kib, uint32_t *upper_kib);
/* Call fn for each memory map entry (fn may be NULL); returns the count. */
unsigned rt_boot_mmap(void (*fn)(const struct rt_mmap_entry *e, void *arg),
		      void *arg);
/* Call fn for each boot module (fn may be NULL); returns the count. */
unsigned rt_boot_modules(void (*fn)(const struct rt_module *m, unsigned idx,
				    void *arg),
			 void *arg);

/* Command-line options are space-separated words "key" or "key=value".
 * rt_cmdline_opt() finds the first word whose key is `key`: returns true and
 * sets *val and *len to the value ("" / 0 for a bare key). */
bool rt_cmdline_opt(const char *key, const char **val, size_t *len);
bool rt_cmdline_has(const char *key);
/* Numeric value (decimal or 0x hex) of key=value; `def` if absent or bad. */
uint64_t rt_cmdline_uint(const char *key, uint64_t def);
/* True if key=value is present and value equals `value`. */
bool rt_cmdline_is(const char *key, const char *value);

/* ---- CPU identification ----------------------------------------------------- */
/* The 12-character CPUID vendor string, NUL-terminated (buf >= 13). */
void rt_cpu_vendor(char *buf);
/* The brand string (CPUID 0x80000002-4) with leading spaces removed, or ""
 * (buf >= 49). */
void rt_cpu_brand(char *buf);
/* True if EFER.LMA is set (we are in long mode). */
bool rt_cpu_long_mode(void);

/* ---- freestanding string functions (string.c) ------------------------------- */
void *memset(void *s, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

#endif
