/* SPDX-License-Identifier: MIT */
/*
 * The arm64 guest runtime: what every guest program in guest/arm64/ links
 * against (libguest_rt.a). guest/arm64/README.md describes the
 * contract; in short:
 *
 *   - The ELF image is linked and loaded at 0x40200000 (RAM base + 2 MiB:
 *     the first 2 MiB of RAM are left to the DTB, which QEMU `virt` and the
 *     VMM put at 0x40000000 for bare-metal images). `_start` (start.S) runs
 *     at EL1, or at EL2 and drops to EL1; x0 is not used.
 *   - start.S turns the MMU on with a static identity map (1 GiB blocks:
 *     0-1 GiB Device-nGnRnE, 1-4 GiB Normal write-back, so exclusives and
 *     atomics work), installs the vectors, takes a per-CPU 16 KiB stack,
 *     zeroes .bss and calls rt_main(): PL011 output (polled), the DTB, the
 *     GIC (v2 or v3, from the DTB), then the program's main().
 *   - main() returning 0 powers off (PSCI SYSTEM_OFF); any other value v
 *     prints "EXIT v" and requests PSCI SYSTEM_RESET (the VMM exits 8).
 *     An unhandled exception prints a report starting with "EXCEPTION" and
 *     also requests SYSTEM_RESET.
 */
#ifndef GUEST_ARM64_RT_H
#define GUEST_ARM64_RT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/abi/arm64_virt.h"
#include "rt_common.h"

#define RT_MAX_CPUS	8
#define RT_STACK_SIZE	0x4000
#define RT_LOAD_ADDRESS 0x40200000ull

/* The program's entry, called by rt_main() on CPU 0. */
int main(void);

/* ---- power (main.c, psci.c) ----------------------------------------------
 * PSCI calls go through HVC, or SMC when the runtime was entered at EL2
 * (QEMU virt with virtualization=on: its PSCI conduit is then SMC). */
#define PSCI_SUCCESS		0
#define PSCI_NOT_SUPPORTED	(-1)
#define PSCI_INVALID_PARAMETERS (-2)
#define PSCI_DENIED		(-3)
#define PSCI_ALREADY_ON		(-4)
#define PSCI_ON_PENDING		(-5)
#define PSCI_INTERNAL_FAILURE	(-6)
#define PSCI_NOT_PRESENT	(-7)
#define PSCI_DISABLED		(-8)
#define PSCI_INVALID_ADDRESS	(-9)

int64_t rt_psci_call(uint32_t fn, uint64_t a1, uint64_t a2, uint64_t a3);
/* PSCI_VERSION: major << 16 | minor. */
uint32_t rt_psci_version(void);
/* CPU_ON for the CPU with MPIDR affinity `mpidr`: it enters the runtime
 * (MMU, vectors, its own stack) and calls fn(index, arg) at EL1 with IRQs
 * masked. `index` (1..RT_MAX_CPUS-1) picks the stack and per-CPU data.
 * Returns the PSCI status. */
typedef void (*rt_cpu_fn)(unsigned index, void *arg);
int rt_cpu_on(uint64_t mpidr, unsigned index, rt_cpu_fn fn, void *arg);
/* PSCI CPU_OFF for the calling CPU (never returns). */
__attribute__((noreturn)) void rt_cpu_off(void);
const char *rt_psci_strerror(int64_t ret);
bool rt_psci_smc(void); /* true: the conduit is SMC */

/* SYSTEM_OFF (the VMM exits 0); wfi forever if it returns. */
__attribute__((noreturn)) void rt_poweroff(void);
/* SYSTEM_RESET (the VMM exits 8). */
__attribute__((noreturn)) void rt_reset(void);
/* Print "EXIT <code>" and rt_reset(); rt_exit(0) is rt_poweroff(). */
__attribute__((noreturn)) void rt_exit(unsigned code);
/* Print "PANIC: <message>" and rt_reset(). */
__attribute__((noreturn, format(printf, 1, 2))) void rt_panic(const char *fmt,
							      ...);

/* ---- console: PL011 (uart.c; printf.c and the console lock in
 * rt_common.h) -------------------------------------------------------------
 * Output polls UARTFR.TXFF before each byte (bounded). The base comes from
 * the DTB ("arm,pl011"), default 0x09000000. rt_cpu_on() shares the console
 * lock; its owner is the runtime CPU index. */
void rt_uart_init(uint64_t base);

/* ---- spinlocks (ticket-free: exclusive load/store pairs) ------------------ */
typedef struct {
	volatile uint32_t v;
} rt_spinlock_t;
void rt_spin_lock(rt_spinlock_t *l);
void rt_spin_unlock(rt_spinlock_t *l);

/* ---- CPU ------------------------------------------------------------------ */
#define sysreg_read(reg)                                      \
	({                                                    \
		uint64_t _v;                                  \
		__asm__ volatile("mrs %0, " #reg : "=r"(_v)); \
		_v;                                           \
	})
#define sysreg_write(reg, val) \
	__asm__ volatile("msr " #reg ", %0" : : "r"((uint64_t)(val)) : "memory")
#define isb()  __asm__ volatile("isb" : : : "memory")
#define dsb(o) __asm__ volatile("dsb " #o : : : "memory")

static inline void rt_irq_enable(void)
{
	__asm__ volatile("msr daifclr, #2" : : : "memory");
}
static inline void rt_irq_disable(void)
{
	__asm__ volatile("msr daifset, #2" : : : "memory");
}
static inline uint64_t rt_irq_save(void)
{
	uint64_t f = sysreg_read(daif);

	rt_irq_disable();
	return f;
}
static inline void rt_irq_restore(uint64_t f)
{
	sysreg_write(daif, f);
}
/* Wait for an interrupt and take it. Call with IRQs masked after checking
 * the condition: WFI wakes on a pending interrupt even while it is masked,
 * so nothing is lost; the handler runs here and IRQs are masked again on
 * return. */
static inline void rt_wait_irq(void)
{
	__asm__ volatile("wfi\n\tmsr daifclr, #2\n\tisb\n\tmsr daifset, #2"
			 :
			 :
			 : "memory");
}
static inline void rt_cpu_relax(void)
{
	__asm__ volatile("yield" : : : "memory");
}
/* MPIDR_EL1 affinity fields (Aff3 << 32 | Aff2 << 16 | Aff1 << 8 | Aff0). */
static inline uint64_t rt_mpidr(void)
{
	return sysreg_read(mpidr_el1) & 0xff00ffffffull;
}
/* This CPU's runtime index (0 for the boot CPU), kept in TPIDR_EL1. */
static inline unsigned rt_cpu_index(void)
{
	return (unsigned)sysreg_read(tpidr_el1);
}
/* The exception level the runtime was entered at (1 or 2). */
unsigned rt_entry_el(void);

/* ---- MMIO ------------------------------------------------------------------
 * One plain LDR/STR each (no pairs, no writeback addressing): a hypervisor
 * can only emulate accesses whose syndrome it can decode (ESR ISV = 1). */
static inline uint32_t rt_read32(uintptr_t a)
{
	uint32_t v;

	__asm__ volatile("ldr %w0, [%1]" : "=r"(v) : "r"(a) : "memory");
	return v;
}
static inline void rt_write32(uintptr_t a, uint32_t v)
{
	__asm__ volatile("str %w0, [%1]" : : "rZ"(v), "r"(a) : "memory");
}
static inline uint64_t rt_read64(uintptr_t a)
{
	uint64_t v;

	__asm__ volatile("ldr %0, [%1]" : "=r"(v) : "r"(a) : "memory");
	return v;
}
static inline void rt_write64(uintptr_t a, uint64_t v)
{
	__asm__ volatile("str %x0, [%1]" : : "rZ"(v), "r"(a) : "memory");
}
static inline uint16_t rt_read16(uintptr_t a)
{
	uint16_t v;

	__asm__ volatile("ldrh %w0, [%1]" : "=r"(v) : "r"(a) : "memory");
	return v;
}
static inline void rt_write16(uintptr_t a, uint16_t v)
{
	__asm__ volatile("strh %w0, [%1]" : : "rZ"(v), "r"(a) : "memory");
}
static inline uint8_t rt_read8(uintptr_t a)
{
	uint8_t v;

	__asm__ volatile("ldrb %w0, [%1]" : "=r"(v) : "r"(a) : "memory");
	return v;
}
static inline void rt_write8(uintptr_t a, uint8_t v)
{
	__asm__ volatile("strb %w0, [%1]" : : "rZ"(v), "r"(a) : "memory");
}

/* ---- device tree (fdt.c) --------------------------------------------------
 * The DTB the VMM (or QEMU) put at the start of RAM. */
struct rt_dt_info {
	bool valid;
	uint64_t addr;
	uint32_t size;
	char model[64];
	const char *bootargs; /* "" if none */
	uint64_t mem_base, mem_size;
	unsigned gic_version; /* 2 or 3, 0 if not found */
	uint64_t gicd, gicc, gicr;
	uint64_t uart; /* "arm,pl011" reg, 0 if none */
	bool psci_smc; /* /psci method = "smc" */
	bool psci_found;
	unsigned nr_cpus;
	uint64_t cpu_mpidr[RT_MAX_CPUS];
	uint32_t timer_freq; /* clock-frequency of the timer node, 0: none */
};
extern struct rt_dt_info rt_dt;
/* Parse the DTB at `addr` into rt_dt (rt_main() does, at ABI_RAM_BASE). */
int rt_dt_parse(uint64_t addr);

/* The command line, rt_boot_cmdline(), is /chosen/bootargs (fdt.c); its
 * options: rt_cmdline_opt() and the others (rt_common.h). */

/* ---- GIC (gic.c) -----------------------------------------------------------
 * v3 (distributor + redistributors + ICC system registers, affinity
 * routing, group 1) or v2 (distributor + memory-mapped CPU interface),
 * as the DTB says (default: v3 if ID_AA64PFR0_EL1.GIC, else v2). INTIDs:
 * 0-15 SGI, 16-31 PPI, 32+ SPI. Handlers run with IRQs masked; the runtime
 * ends the interrupt (EOI) after the handler returns. */
#define RT_INTID_VTIMER (16 + ABI_TIMER_PPI_VIRT) /* 27 */
typedef void (*rt_irq_fn)(unsigned intid, void *arg);
/* Distributor + this CPU's interface (CPU 0: rt_main() does). */
int rt_gic_init(void);
/* This CPU's redistributor / CPU interface (other CPUs). */
int rt_gic_init_cpu(void);
unsigned rt_gic_version(void);
/* Enable `intid` with handler `fn` (PPIs on the calling CPU; SPIs routed
 * to the calling CPU, level-triggered unless `edge`). */
int rt_irq_attach(unsigned intid, bool edge, rt_irq_fn fn, void *arg);
void rt_irq_mask(unsigned intid);
/* Called from the IRQ vector. */
void rt_irq_dispatch(void);
/* Counters: interrupts taken, spurious acknowledges. */
extern volatile uint64_t rt_irq_count, rt_irq_spurious;
/* v3: the calling CPU's redistributor (RD_base frame), 0 if none. */
uintptr_t rt_gic_redist(void);
/* v3: rt_irq_dispatch() hands every LPI (INTID 8192 and up) to `fn`
 * (its.c installs it) and ends it (EOIR) after `fn` returns. Without a
 * handler LPIs are only ended. */
void rt_gic_set_lpi_handler(void (*fn)(unsigned intid));

/* ---- GICv3 ITS and LPIs (its.c) --------------------------------------------
 * MSIs through the ITS (GIC architecture specification, IHI 0069): an MSI
 * is a write of an EventID to GITS_TRANSLATER by a device with a DeviceID
 * (on PCI: its requester ID); the ITS translates (DeviceID, EventID) into
 * an LPI for a collection, which names a redistributor. rt_its_init() sets
 * up, on the calling CPU (run it on CPU 0, once):
 *   - the LPI configuration table (one byte per LPI: priority 0xa0, group
 *     1, enable) and this redistributor's pending table
 *     (GICR_PROPBASER/PENDBASER, then GICR_CTLR.EnableLPIs);
 *   - the ITS: device and collection tables (GITS_BASERn, flat, 64 KiB
 *     each, in the page size the ITS accepts), the command queue
 *     (GITS_CBASER/CWRITER/CREADR, 4 KiB), GITS_CTLR.Enabled, then MAPC
 *     of collection 0 to this redistributor and SYNC.
 * The ITS is at ABI_GIC_ITS_BASE (the DTB reader does not look for it).
 * LPIs are INTIDs RT_LPI_BASE.. RT_LPI_BASE + RT_LPI_MAX - 1 here; every
 * one goes to collection 0 (this CPU). Tables are in .bss, so a program
 * that links its.c is about 200 KiB larger in RAM. */
#define RT_LPI_BASE	8192u
#define RT_LPI_MAX	64u
#define RT_ITS_NO_GICV3 (-1) /* a GICv2 (or no GIC): no ITS, no LPIs */
#define RT_ITS_NO_ITS	(-2) /* a GICv3 without ITS or LPI support */
#define RT_ITS_FAILED	(-3) /* set-up failed (why says what) */
/* 0, or one of the codes above with a one-line reason in why. */
int rt_its_init(char *why, size_t len);
/* The address devices write MSIs to: GITS_TRANSLATER. */
uint64_t rt_its_doorbell(void);
/* MAPD: give `devid` an ITT for EventIDs 0..nevents-1. 0 or -1 (why). */
int rt_its_map_device(uint32_t devid, unsigned nevents, char *why, size_t len);
/* MAPTI (devid, event) -> LPI `intid` in collection 0, the LPI enabled
 * (configuration byte, INV, SYNC); `fn(intid, arg)` runs for it. */
int rt_its_map_event(uint32_t devid, uint32_t event, unsigned intid,
		     rt_irq_fn fn, void *arg, char *why, size_t len);
/* What rt_its_init() found, for a console line. */
const char *rt_its_describe(char *buf, size_t len);
/* LPIs taken (all), and those with no handler. */
extern volatile uint64_t rt_lpi_count, rt_lpi_unhandled;

/* ---- virtual timer (timer.c) -----------------------------------------------
 * CNTV_* at EL1, PPI 11 (INTID 27), periodic ticks with CNTV_CVAL. */
typedef void (*rt_timer_fn)(uint64_t ticks, void *arg);
static inline uint64_t rt_counter(void)
{
	uint64_t v;

	__asm__ volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(v) : : "memory");
	return v;
}
uint64_t rt_counter_freq(void); /* CNTFRQ_EL0, Hz */
uint64_t rt_counter_us(uint64_t delta);
/* Periodic tick at `hz` (1..10000) on the virtual timer; IRQs enabled. */
int rt_timer_start(unsigned hz, rt_timer_fn fn, void *arg);
void rt_timer_stop(void);
unsigned rt_timer_hz(void);
uint64_t rt_ticks(void);
uint64_t rt_uptime_ms(void);
/* Sleep until the tick count reaches `ticks` (WFI). */
void rt_wait_ticks(uint64_t ticks);
/* Busy-wait on the counter. */
void rt_udelay(uint64_t us);
/* Lateness of the most recent tick, counter ticks after its deadline
 * (measured at the start of the handler), and the maximum so far. */
extern volatile uint64_t rt_timer_late_last, rt_timer_late_max;

/* ---- exceptions (main.c) --------------------------------------------------- */
struct rt_regs {
	uint64_t x[31];
	uint64_t sp;
	uint64_t elr, spsr, esr, far;
};
/* Name of an ESR_EL1 exception class. */
const char *rt_ec_name(unsigned ec);

#endif
