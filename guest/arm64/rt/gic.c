/* SPDX-License-Identifier: MIT */
/*
 * GIC driver: GICv3 (distributor, redistributors, ICC system registers;
 * affinity routing, everything in group 1) or GICv2 (distributor and the
 * memory-mapped CPU interface; everything in group 0, signalled as IRQ),
 * per the GICv3/v4 and GICv2 architecture specifications. The version and
 * the frame addresses come from the DTB; without one, v3 when
 * ID_AA64PFR0_EL1.GIC says the CPU has the system register interface,
 * else v2, at the QEMU virt addresses. LPIs (v3, INTID 8192 and up) go to
 * the handler its.c installs.
 */
#include "rt.h"

#define PRIO_DEFAULT 0xa0
#define PMR_ALL	     0xf0

/* Distributor (both versions) */
#define GICD_CTLR	0x0000
#define GICD_TYPER	0x0004
#define GICD_IGROUPR	0x0080
#define GICD_ISENABLER	0x0100
#define GICD_ICENABLER	0x0180
#define GICD_ICPENDR	0x0280
#define GICD_IPRIORITYR 0x0400
#define GICD_ITARGETSR	0x0800 /* v2 */
#define GICD_ICFGR	0x0c00
#define GICD_IROUTER	0x6000 /* v3, 64-bit per INTID */
#define GICD_CTLR_RWP	(1u << 31)

/* Redistributor (v3): RD_base frame, then SGI_base 64 KiB above */
#define GICR_CTLR	 0x0000
#define GICR_TYPER	 0x0008
#define GICR_WAKER	 0x0014
#define GICR_SGI	 0x10000
#define GICR_TYPER_VLPIS (1u << 1)
#define GICR_TYPER_LAST	 (1u << 4)
#define WAKER_SLEEP	 (1u << 1)
#define WAKER_ASLEEP	 (1u << 2)

/* CPU interface (v2) */
#define GICC_CTLR 0x0000
#define GICC_PMR  0x0004
#define GICC_BPR  0x0008
#define GICC_IAR  0x000c
#define GICC_EOIR 0x0010

/* ICC system registers (v3) */
#define ICC_PMR_EL1	S3_0_C4_C6_0
#define ICC_IAR1_EL1	S3_0_C12_C12_0
#define ICC_EOIR1_EL1	S3_0_C12_C12_1
#define ICC_BPR1_EL1	S3_0_C12_C12_3
#define ICC_CTLR_EL1	S3_0_C12_C12_4
#define ICC_SRE_EL1	S3_0_C12_C12_5
#define ICC_IGRPEN1_EL1 S3_0_C12_C12_7
#define XSTR(x)		#x
#define MRS(r)                                                   \
	({                                                       \
		uint64_t _v;                                     \
		__asm__ volatile("mrs %0, " XSTR(r) : "=r"(_v)); \
		_v;                                              \
	})
#define MSR(r, v)                              \
	__asm__ volatile("msr " XSTR(r) ", %0" \
			 :                     \
			 : "r"((uint64_t)(v))  \
			 : "memory")

#define MAX_INTID 1020
#define LPI_BASE  8192 /* INTIDs 1020-1023 special, 1024-8191 reserved */

volatile uint64_t rt_irq_count, rt_irq_spurious;

static unsigned version;
static uintptr_t gicd, gicc, gicr;
static unsigned nr_intids; /* 32 * (ITLinesNumber + 1) */
static uintptr_t my_rd[RT_MAX_CPUS];
static void (*lpi_handler)(unsigned intid);

static struct {
	rt_irq_fn fn;
	void *arg;
} handlers[MAX_INTID];

#define rd32 rt_read32
#define wr32 rt_write32
#define rd64 rt_read64
#define wr64 rt_write64
#define wr8  rt_write8

unsigned rt_gic_version(void)
{
	return version;
}

uintptr_t rt_gic_redist(void)
{
	return version == 3 ? my_rd[rt_cpu_index()] : 0;
}

void rt_gic_set_lpi_handler(void (*fn)(unsigned intid))
{
	lpi_handler = fn;
}

static void dist_wait_rwp(void)
{
	for (unsigned n = 0; n < 1000000; n++)
		if (!(rd32(gicd + GICD_CTLR) & GICD_CTLR_RWP))
			return;
}

/* This CPU's redistributor: the frame whose GICR_TYPER affinity is ours. */
static uintptr_t find_rd(void)
{
	uint64_t m = rt_mpidr();
	uint32_t aff = (uint32_t)((m >> 32 & 0xff) << 24 | (m & 0xffffff));
	uintptr_t rd = gicr;

	for (unsigned i = 0; i < 1024; i++) {
		uint64_t typer = rd64(rd + GICR_TYPER);

		if ((uint32_t)(typer >> 32) == aff)
			return rd;
		if (typer & GICR_TYPER_LAST)
			break;
		rd += typer & GICR_TYPER_VLPIS ? 0x40000 : 0x20000;
	}
	return 0;
}

static int v3_init_cpu(void)
{
	uintptr_t rd = find_rd(), sgi;
	unsigned me = rt_cpu_index();

	if (!rd)
		return -1;
	my_rd[me] = rd;
	sgi = rd + GICR_SGI;
	wr32(rd + GICR_WAKER, rd32(rd + GICR_WAKER) & ~WAKER_SLEEP);
	for (unsigned n = 0; n < 1000000; n++)
		if (!(rd32(rd + GICR_WAKER) & WAKER_ASLEEP))
			break;
	wr32(sgi + GICD_ICENABLER, 0xffffffffu);
	wr32(sgi + GICD_ICPENDR, 0xffffffffu);
	wr32(sgi + GICD_IGROUPR, 0xffffffffu);
	for (unsigned i = 0; i < 32; i++)
		wr8(sgi + GICD_IPRIORITYR + i, PRIO_DEFAULT);

	MSR(ICC_SRE_EL1, MRS(ICC_SRE_EL1) | 1);
	isb();
	if (!(MRS(ICC_SRE_EL1) & 1))
		return -1;
	MSR(ICC_PMR_EL1, PMR_ALL);
	MSR(ICC_BPR1_EL1, 0);
	MSR(ICC_CTLR_EL1, 0); /* EOImode 0: EOIR also deactivates */
	MSR(ICC_IGRPEN1_EL1, 1);
	isb();
	return 0;
}

static int v2_init_cpu(void)
{
	wr32(gicd + GICD_ICENABLER, 0xffffffffu);
	for (unsigned i = 0; i < 32; i++)
		wr8(gicd + GICD_IPRIORITYR + i, PRIO_DEFAULT);
	wr32(gicc + GICC_PMR, PMR_ALL);
	wr32(gicc + GICC_BPR, 0);
	wr32(gicc + GICC_CTLR, 1);
	return 0;
}

int rt_gic_init_cpu(void)
{
	if (version == 3)
		return v3_init_cpu();
	if (version == 2)
		return v2_init_cpu();
	return -1;
}

int rt_gic_init(void)
{
	uint32_t typer;

	if (rt_dt.gic_version) {
		version = rt_dt.gic_version;
		gicd = rt_dt.gicd;
		gicc = rt_dt.gicc;
		gicr = rt_dt.gicr;
	} else {
		version = (sysreg_read(id_aa64pfr0_el1) >> 24 & 0xf) ? 3 : 2;
		gicd = ABI_GIC_DIST_BASE;
		gicc = ABI_GIC_CPU_BASE;
		gicr = ABI_GIC_REDIST_BASE;
	}

	wr32(gicd + GICD_CTLR, 0);
	if (version == 3)
		dist_wait_rwp();
	typer = rd32(gicd + GICD_TYPER);
	nr_intids = 32 * ((typer & 0x1f) + 1);
	if (nr_intids > MAX_INTID)
		nr_intids = MAX_INTID;
	for (unsigned i = 32; i < nr_intids; i += 32) {
		wr32(gicd + GICD_ICENABLER + i / 8, 0xffffffffu);
		wr32(gicd + GICD_ICPENDR + i / 8, 0xffffffffu);
		/* v3: group 1 (non-secure); v2: group 0 (IRQ) */
		wr32(gicd + GICD_IGROUPR + i / 8,
		     version == 3 ? 0xffffffffu : 0);
	}
	for (unsigned i = 32; i < nr_intids; i++)
		wr8(gicd + GICD_IPRIORITYR + i, PRIO_DEFAULT);
	if (version == 3) {
		/* ARE + group enables: with one security state (DS = 1)
		 * bits 4, 1, 0 are ARE, EnableGrp1, EnableGrp0; in the
		 * non-secure view of a two-state GIC they are ARE_NS,
		 * EnableGrp1A, EnableGrp1. */
		wr32(gicd + GICD_CTLR, 0x13);
		dist_wait_rwp();
	} else {
		wr32(gicd + GICD_CTLR, 1);
	}
	return rt_gic_init_cpu();
}

static void set_enable(unsigned intid, bool on)
{
	unsigned me = rt_cpu_index();
	uintptr_t base = gicd;

	if (intid < 32 && version == 3)
		base = my_rd[me] + GICR_SGI;
	wr32(base + (on ? GICD_ISENABLER : GICD_ICENABLER) + intid / 32 * 4,
	     1u << (intid % 32));
	if (version == 3 && !on && intid >= 32)
		dist_wait_rwp();
}

int rt_irq_attach(unsigned intid, bool edge, rt_irq_fn fn, void *arg)
{
	unsigned me = rt_cpu_index();
	uintptr_t cfg_base = gicd;
	uint32_t cfg;

	if (!version || intid >= MAX_INTID ||
	    (intid >= 32 && intid >= nr_intids) ||
	    (version == 3 && intid < 32 && !my_rd[me]))
		return -1;
	handlers[intid].fn = fn;
	handlers[intid].arg = arg;
	if (intid < 32 && version == 3)
		cfg_base = my_rd[me] + GICR_SGI;
	if (intid >= 16) { /* SGIs are always edge */
		uintptr_t a = cfg_base + GICD_ICFGR + intid / 16 * 4;

		cfg = rd32(a);
		cfg &= ~(2u << (intid % 16 * 2));
		if (edge)
			cfg |= 2u << (intid % 16 * 2);
		wr32(a, cfg);
	}
	if (intid >= 32) {
		if (version == 3) {
			uint64_t m = rt_mpidr();

			wr64(gicd + GICD_IROUTER + 8 * intid,
			     (m & 0xff00000000ull) | (m & 0xffffff));
		} else {
			/* ITARGETSR0-7 read as this CPU's own bit */
			uint8_t self =
				*(volatile uint8_t *)(gicd + GICD_ITARGETSR);

			wr8(gicd + GICD_ITARGETSR + intid, self);
		}
	}
	set_enable(intid, true);
	return 0;
}

void rt_irq_mask(unsigned intid)
{
	if (intid < MAX_INTID && version)
		set_enable(intid, false);
}

void rt_irq_dispatch(void)
{
	for (bool handled = false;; handled = true) {
		uint32_t iar, intid;

		if (version == 3)
			iar = (uint32_t)MRS(ICC_IAR1_EL1);
		else
			iar = rd32(gicc + GICC_IAR);
		intid = iar & (version == 3 ? 0xffffff : 0x3ff);
		if (version == 3 && intid >= LPI_BASE) {
			/* LPIs: edge, no active state; EOI drops the
			 * running priority. */
			rt_irq_count++;
			if (lpi_handler)
				lpi_handler(intid);
			MSR(ICC_EOIR1_EL1, iar);
			continue;
		}
		if (intid >= 1020) {
			if (!handled)
				rt_irq_spurious++;
			return;
		}
		rt_irq_count++;
		if (intid < MAX_INTID && handlers[intid].fn)
			handlers[intid].fn(intid, handlers[intid].arg);
		if (version == 3)
			MSR(ICC_EOIR1_EL1, iar);
		else
			wr32(gicc + GICC_EOIR, iar);
	}
}
