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
 * Programs are single-CPU unless they call rt_smp_start(), which starts the
 * application processors listed by the firmware tables (ACPI MADT or MP
 * table, see rt_topology_discover()) on the same GDT, page tables and IDT;
 * from then on console output is serialised by the console lock.
 */
#ifndef GUEST_RT_H
#define GUEST_RT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rt_common.h"
#include "smp_defs.h"

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

/* ---- serial console, COM1 (serial.c; printf.c and the console lock in
 * rt_common.h) -------------------------------------------------------------
 * Output is polled: one LSR read per byte, then the THR write. Input is
 * interrupt driven (IRQ 4 through the IOAPIC) into a 256-byte ring; the
 * first rt_getc() enables it. The console lock is shared once
 * rt_smp_start() runs; its owner is the LAPIC ID. */
void rt_serial_init(void);

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

/* Build and load the IDT (called by rt_main()). */
void rt_idt_init(void);
/* Load the already built IDT on this CPU (application processors). */
void rt_idt_load(void);
/* Idempotent: remap and mask both 8259 PICs, enable the LAPIC (software
 * enable, TPR 0), then sti. */
void rt_irq_init(void);
/* Route ISA IRQ `irq` (IOAPIC pin irq, 1-15; edge, active high, fixed
 * delivery to this CPU) to `fn`. Calls rt_irq_init(). 0 or -1. */
int rt_irq_attach(unsigned irq, rt_irq_fn fn, void *arg);
/* Handler for a raw vector (0x20..0x3e) without IOAPIC routing. */
int rt_vector_attach(unsigned vector, rt_irq_fn fn, void *arg);

/* ---- local APIC (irq.c) ----------------------------------------------------
 * xAPIC MMIO at ABI_LAPIC_BASE; every CPU sees its own LAPIC there. */
/* This CPU's local APIC ID (ID register bits 31:24). */
uint32_t rt_lapic_id(void);
/* Software-enable this CPU's LAPIC (spurious vector, TPR 0). rt_irq_init()
 * does it on the BSP; rt_smp_start()'s AP entry on each AP. */
void rt_lapic_enable(void);
/* Interrupt command register (Intel SDM Vol. 3A, "Interrupt Command
 * Register (ICR)"), low dword. */
#define RT_ICR_FIXED   0x00000000u /* delivery mode: fixed (| vector) */
#define RT_ICR_INIT    0x00000500u
#define RT_ICR_STARTUP 0x00000600u /* | vector = page number */
#define RT_ICR_ASSERT  0x00004000u /* level: assert */
#define RT_ICR_LEVEL   0x00008000u /* trigger mode: level */
#define RT_ICR_BUSY    0x00001000u /* delivery status: send pending */
/* Send an IPI to physical destination `apic_id` (0..254): writes ICR high,
 * then ICR low = `icr_low` (which sends), then polls the delivery status a
 * bounded number of times. 0, or -1 if the ICR stayed busy. Interrupts are
 * off during the two writes. */
int rt_lapic_ipi(uint32_t apic_id, uint32_t icr_low);

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
/* Wait at least `us` microseconds, HLTing: a one-shot LAPIC timer
 * interrupt ends the wait when the periodic timer is stopped; while it
 * runs, whole ticks (rounded up, plus one for the partial first tick).
 * Calibrates on first use; returns with interrupts enabled. BSP only (like
 * the rest of the timer). */
void rt_udelay(unsigned us);
/* HLT until *count >= want or `timeout_ms` of LAPIC timer ticks have
 * passed; starts the periodic timer at 100 Hz if it is not running. Other
 * CPUs update *count; the timer tick bounds each HLT. Returns *count. */
unsigned rt_wait_count(const volatile unsigned *count, unsigned want,
		       unsigned timeout_ms);

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

/* The command line, rt_boot_cmdline() (bootinfo.c), and its options,
 * rt_cmdline_opt() and the others: rt_common.h. */

/* ---- CPU topology from firmware tables (acpi.c, mptable.c, smp.c) ---------
 * Which CPUs exist, by local APIC ID, as the platform firmware (here: the
 * VMM) describes them:
 *   ACPI   RSDP (first KiB of the EBDA, then 0xe0000-0xfffff, 16-byte
 *          steps), XSDT (RSDP revision >= 2) or RSDT, MADT: Processor Local
 *          APIC (type 0) and x2APIC (type 9) entries with the Enabled flag,
 *          I/O APIC entries (type 1), LAPIC address override (type 5).
 *          ACPI 6.x, 5.2.5-5.2.8 and 5.2.12.
 *   MP     floating pointer "_MP_" (first KiB of the EBDA, last KiB of
 *          base memory, 0xf0000-0xfffff), configuration table "PCMP":
 *          processor entries with CPU_EN, I/O APIC entries; default
 *          configurations (feature byte 1 != 0) as 2 CPUs, APIC IDs 0, 1.
 *          Intel MultiProcessor Specification 1.4, chapter 4.
 *   cmdline cpus=N: N CPUs with APIC IDs 0..N-1.
 * Every checksum is verified; a table that fails one is not used. Only
 * memory the boot memory map lists (any type) is read when there is a map,
 * so scanning never touches unmapped addresses. All walks are bounded. */
enum rt_topo_source {
	RT_TOPO_NONE,
	RT_TOPO_MADT,
	RT_TOPO_MPTABLE,
	RT_TOPO_CMDLINE,
};
/* `allow` masks: bit (1 << source); all three table sources: */
#define RT_TOPO_ALLOW_ALL 0xe
#define RT_MAX_IOAPICS	  8

struct rt_ioapic {
	uint32_t id;
	uint32_t addr;
	uint32_t gsi_base; /* MADT; 0 from the MP table */
};

/* `bsp`: the index the table marks as the boot processor (MP table BP
 * flag), else -1. `skipped`: processor entries not used (disabled, APIC ID
 * above 254, duplicate, more than RT_MAX_CPUS). */
struct rt_topology {
	enum rt_topo_source source;
	unsigned ncpus;		       /* usable CPUs, at most RT_MAX_CPUS */
	uint32_t apic_id[RT_MAX_CPUS]; /* table order */
	int bsp;
	unsigned skipped;
	uint64_t lapic_addr; /* as the table says */
	unsigned nioapics;
	struct rt_ioapic ioapic[RT_MAX_IOAPICS];
	uint64_t root_addr;  /* RSDP or MP floating pointer */
	uint64_t table_addr; /* MADT or MP configuration table */
	unsigned revision;   /* RSDP revision, MP spec revision */
	char oem[13];	     /* RSDP OEM ID, MP table OEM ID, NUL-terminated */
};

/* Each fills *t (zeroing it first) and returns 0, or returns -1 and writes
 * why into why[len] ("no RSDP", "MADT checksum ..."). */
int rt_acpi_madt(struct rt_topology *t, char *why, size_t len);
int rt_mptable(struct rt_topology *t, char *why, size_t len);
int rt_topology_cmdline(struct rt_topology *t, char *why, size_t len);
/* Try the sources in `allow` (bit 1 << RT_TOPO_x) in the order MADT, MP
 * table, cmdline; the first that works fills *t. Without any, *t is one
 * CPU (this one), source RT_TOPO_NONE. If report is not NULL it is called
 * with each source that was tried and failed, and why. */
void rt_topology_discover(struct rt_topology *t, unsigned allow,
			  void (*report)(enum rt_topo_source src,
					 const char *why));
const char *rt_topo_source_name(enum rt_topo_source src); /* "madt", ... */

/* Physical ranges [addr, addr + len), checked against the boot memory map
 * (bootinfo.c). Both are false for a range that is empty, wraps or reaches
 * above 4 GiB (the runtime maps only the first 4 GiB), and true for any
 * other range when the boot information has no memory map.
 * rt_phys_readable: covered by map entries of any type (RAM, reserved,
 * ACPI, ...). rt_phys_ram: covered by available RAM (type 1) entries. */
bool rt_phys_readable(uint64_t addr, uint64_t len);
bool rt_phys_ram(uint64_t addr, uint64_t len);
/* True if [addr, addr + len) overlaps anything the boot information refers
 * to: the Multiboot information itself, the command line, the loader name,
 * the memory map, the module list, module strings and module contents. */
bool rt_boot_info_overlaps(uint64_t addr, uint64_t len);

/* ---- SMP start-up (smp.c, smp_tramp.S) ------------------------------------
 * rt_smp_start() gives each CPU of a topology a struct rt_cpu (index 0 is
 * the BSP, the CPU calling it; then the others in table order), copies the
 * real-mode trampoline to a free 4 KiB page below 1 MiB (the highest one
 * the memory map says is RAM, at most 0x9e000, that holds no boot
 * information) and sends each AP INIT, waits 10 ms, then STARTUP twice
 * 200 us apart (Intel SDM Vol. 3A, "MP Initialization Example" in the
 * multiple-processor management chapter).
 * An AP goes 16-bit real mode -> 32-bit protected mode -> long mode on the
 * runtime's GDT and page tables, finds its struct rt_cpu by its LAPIC ID,
 * switches to its own 8 KiB stack, loads the IDT, software-enables its
 * LAPIC, marks itself running and calls the entry hook. If the hook
 * returns (or there is none) the AP halts with interrupts off.
 *
 * APs may print (console lock), take spinlocks, read their rt_cpu and call
 * rt_exit()/rt_poweroff(); the timer functions are for the BSP only. */
enum rt_cpu_state {
	RT_CPU_OFF,	 /* not started (yet) */
	RT_CPU_STARTING, /* INIT/SIPI sent */
	RT_CPU_RUNNING,	 /* reached its entry hook (the BSP: always) */
	RT_CPU_HALTED,	 /* the hook returned */
};

struct rt_cpu {
	unsigned index; /* 0 = BSP */
	uint32_t apic_id;
	volatile enum rt_cpu_state state;
	void *data; /* for the program */
};

typedef void (*rt_ap_fn)(struct rt_cpu *cpu);

/* Start every CPU of t other than this one (see above); does not wait for
 * them (rt_smp_running(), rt_wait_count()). This CPU is always cpu 0, even
 * if t does not list it. Software-enables this CPU's LAPIC (rt_irq_init())
 * before the first IPI, calibrates the LAPIC timer and uses it for the
 * delays (the periodic timer must be stopped). Returns the number of APs
 * sent INIT/SIPI, or -1 (called twice, no free trampoline page: see why).
 * flags: 0, or RT_SMP_INIT_FIRST: send the INITs before enabling this
 * CPU's LAPIC, an order some older OSes use; for testing VMMs. */
#define RT_SMP_INIT_FIRST 0x1u
int rt_smp_start(const struct rt_topology *t, rt_ap_fn fn, unsigned flags,
		 char *why, size_t len);
unsigned rt_smp_ncpus(void);   /* CPUs known to rt_smp_start(); 1 before */
unsigned rt_smp_running(void); /* of those, RUNNING or HALTED (BSP too) */
struct rt_cpu *rt_smp_cpu(unsigned index);	 /* NULL if out of range */
struct rt_cpu *rt_cpu_by_apic(uint32_t apic_id); /* NULL if not ours */
struct rt_cpu *rt_cpu_self(void); /* this CPU's, by LAPIC ID; BSP before */
uint32_t rt_smp_trampoline(void); /* trampoline page address, 0 before */

/* A spinlock (test-and-test-and-set). Does not touch interrupts. */
typedef struct {
	volatile uint32_t locked;
} rt_spinlock_t;

static inline void rt_spin_lock(rt_spinlock_t *l)
{
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
			__asm__ volatile("pause" : : : "memory");
}

static inline void rt_spin_unlock(rt_spinlock_t *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

/* ---- CPU identification ----------------------------------------------------- */
/* The 12-character CPUID vendor string, NUL-terminated (buf >= 13). */
void rt_cpu_vendor(char *buf);
/* The brand string (CPUID 0x80000002-4) with leading spaces removed, or ""
 * (buf >= 49). */
void rt_cpu_brand(char *buf);
/* True if EFER.LMA is set (we are in long mode). */
bool rt_cpu_long_mode(void);

#endif
