/* SPDX-License-Identifier: MIT */
/*
 * GICv3 ITS and LPIs, from the GIC architecture specification (IHI 0069):
 * chapter 5 (LPIs, the ITS, its commands), chapter 12 (GITS_* and the
 * LPI registers of GICR_*). The smallest set-up that gets an MSI to an
 * interrupt handler:
 *
 *   device --MSI: write EventID to GITS_TRANSLATER, with its DeviceID-->
 *   ITS: device table[DeviceID] -> ITT; ITT[EventID] -> (LPI, collection)
 *   collection -> redistributor (MAPC) -> LPI pending -> CPU interface
 *
 * The LPI configuration table (one byte per LPI) is shared by all
 * redistributors, the pending table is per redistributor; both are given
 * once, before GICR_CTLR.EnableLPIs (which cannot be undone portably).
 * The ITS's own tables (devices, collections: GITS_BASERn) are memory
 * only the ITS reads and writes; software talks to it through a command
 * queue in memory (GITS_CBASER) whose write pointer it advances
 * (GITS_CWRITER) and whose read pointer (GITS_CREADR) shows progress.
 * Every command here is waited for before the next.
 *
 * All tables live in .bss: zeroed at boot, normal write-back memory.
 * They are given to the GIC as inner-shareable write-back; an
 * implementation that reads back non-shareable (it does not snoop the
 * caches) gets every table and command cleaned to the point of coherency
 * after the CPU writes it.
 */
#include "rt.h"

/* ITS control frame (64 KiB), then the translation frame */
#define GITS_CTLR	0x0000
#define GITS_TYPER	0x0008
#define GITS_CBASER	0x0080
#define GITS_CWRITER	0x0088
#define GITS_CREADR	0x0090
#define GITS_BASER(n)	(0x0100 + 8 * (n))
#define GITS_PIDR2	0xffe8
#define GITS_TRANSLATER 0x10040

#define GITS_CTLR_ENABLED   (1u << 0)
#define GITS_CTLR_QUIESCENT (1u << 31)
#define GITS_CREADR_STALLED (1u << 0)
#define GITS_OFFSET_MASK    0xfffe0ull /* CWRITER/CREADR bits [19:5] */

/* GITS_BASERn */
#define BASER_VALID	(1ull << 63)
#define BASER_INDIRECT	(1ull << 62)
#define BASER_TYPE(b)	((unsigned)((b) >> 56) & 7)
#define BASER_ESZ(b)	((unsigned)((b) >> 48 & 0x1f) + 1)
#define BASER_PS(b)	((unsigned)((b) >> 8) & 3)
#define BASER_TYPE_DEV	1
#define BASER_TYPE_COLL 4
#define BASER_KEEP	(7ull << 56 | 0x1full << 48) /* RO: type, size */
#define BASER_INNER_SH	(1ull << 10)
#define BASER_SH_MASK	(3ull << 10)
#define BASER_CACHE_WB	(7ull << 59) /* inner RaWaWb */
#define CBASER_INNER_SH BASER_INNER_SH
#define CBASER_CACHE_WB BASER_CACHE_WB
#define CBASER_VALID	BASER_VALID
#define ADDR_MASK_52	0x000ffffffffff000ull

/* Redistributor RD_base frame: the LPI registers */
#define GICR_CTLR	    0x0000
#define GICR_TYPER	    0x0008
#define GICR_PROPBASER	    0x0070
#define GICR_PENDBASER	    0x0078
#define GICR_CTLR_ENABLE    (1u << 0)
#define GICR_CTLR_RWP	    (1u << 3)
#define GICR_TYPER_PLPIS    (1u << 0)
#define GICR_BASER_INNER_SH (1ull << 10)
#define GICR_BASER_SH_MASK  (3ull << 10)
#define GICR_BASER_CACHE_WB (7ull << 7) /* inner RaWaWb */
#define GICR_PENDBASER_PTZ  (1ull << 62)

/* ITS commands (32 bytes: four little-endian doublewords) */
#define CMD_SYNC   0x05
#define CMD_MAPD   0x08
#define CMD_MAPC   0x09
#define CMD_MAPTI  0x0a
#define CMD_INV	   0x0c
#define CMD_INVALL 0x0d
#define CMD_VALID  (1ull << 63)

/* LPI configuration byte: priority [7:2], bit 1 RES1, bit 0 enable */
#define LPI_PRIO   0xa0
#define LPI_RES1   0x02
#define LPI_ENABLE 0x01

/* 14 INTID bits: LPIs 8192-16383, an 8 KiB configuration table and a
 * 2 KiB pending table (one bit per INTID, the first 1 KiB unused). */
#define PROP_ID_BITS 14u
#define PROP_SIZE    ((1u << PROP_ID_BITS) - RT_LPI_BASE)
#define PEND_SIZE    0x1000u
#define TABLE_SIZE   0x10000u /* devices, collections: one 64 KiB page */
#define CMDQ_SIZE    0x1000u  /* 128 commands */
#define ITT_POOL     0x4000u
#define ITT_ALIGN    256u
#define COLLECTION   0 /* the one collection: the CPU that ran init */
#define WAIT_US	     2000000

/* The command queue needs only 4 KiB alignment (GITS_CBASER), but KVM's
 * ITS drops address bits [15:12] (it takes 64 KiB aligned queues only),
 * so it gets 64 KiB like the tables. */
static struct its_mem {
	uint8_t devices[TABLE_SIZE];	 /* 64 KiB aligned */
	uint8_t collections[TABLE_SIZE]; /* 64 KiB aligned */
	uint8_t pending[PEND_SIZE];	 /* 64 KiB aligned (PENDBASER) */
	uint8_t prop[PROP_SIZE];	 /* 4 KiB aligned */
	uint8_t itt[ITT_POOL];		 /* ITTs: 256-byte aligned each */
	uint8_t pad[0x10000 - PEND_SIZE - PROP_SIZE - ITT_POOL];
	uint8_t cmdq[CMDQ_SIZE]; /* 64 KiB aligned */
} mem __attribute__((aligned(0x10000)));

_Static_assert(sizeof(struct its_mem) == 3 * 0x10000 + CMDQ_SIZE,
	       "its_mem layout");

volatile uint64_t rt_lpi_count, rt_lpi_unhandled;

static struct {
	bool ready;
	uintptr_t its, rd;
	uint64_t typer;
	unsigned itt_esz, id_bits, dev_bits, hcc, arch;
	bool pta;
	uint64_t target;      /* MAPC/SYNC RDbase field, already shifted */
	uint32_t dev_entries; /* DeviceIDs the flat device table holds */
	unsigned dev_page, coll_page; /* page sizes the ITS took (bytes) */
	bool have_coll_table;
	bool flush; /* the GIC does not snoop: clean what we write */
	uint32_t cwriter;
	uint32_t itt_used;
	char err[96];
} its;

static struct {
	rt_irq_fn fn;
	void *arg;
} lpi_handlers[RT_LPI_MAX];

#define rd32 rt_read32
#define wr32 rt_write32
#define rd64 rt_read64
#define wr64 rt_write64

/* Clean [p, p + len) to the point of coherency (a GIC that does not
 * snoop reads memory, not the caches). */
static void clean(const void *p, size_t len)
{
	uint64_t line, a, end = (uintptr_t)p + len;

	if (!its.flush)
		return;
	line = 4ull << (sysreg_read(ctr_el0) >> 16 & 0xf);
	for (a = (uintptr_t)p & ~(line - 1); a < end; a += line)
		__asm__ volatile("dc cvac, %0" : : "r"(a) : "memory");
	dsb(sy);
}

/* Counter ticks in `us` microseconds from now. */
static uint64_t deadline_us(uint64_t us)
{
	uint64_t f = rt_counter_freq();

	return rt_counter() + us / 1000000 * f + us % 1000000 * f / 1000000;
}

static int fail(char *why, size_t len, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *why, size_t len, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (why && len)
		rt_vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return code;
}

/* Queue one command and wait until the ITS has consumed it. */
static int its_cmd(const uint64_t c[4], const char *name, char *why, size_t len)
{
	uint32_t next = (its.cwriter + 32) % CMDQ_SIZE;
	volatile uint64_t *slot =
		(volatile uint64_t *)(uintptr_t)(mem.cmdq + its.cwriter);
	uint64_t end, r = 0;

	for (unsigned i = 0; i < 4; i++)
		slot[i] = c[i];
	clean((const void *)slot, 32);
	dsb(sy); /* the command in memory before the CWRITER write */
	its.cwriter = next;
	wr64(its.its + GITS_CWRITER, next);
	end = deadline_us(WAIT_US);
	do {
		r = rd64(its.its + GITS_CREADR);
		if (r & GITS_CREADR_STALLED)
			return fail(why, len, RT_ITS_FAILED,
				    "ITS command %s stalled (GITS_CREADR "
				    "0x%llx): the command was rejected",
				    name, (unsigned long long)r);
		if ((r & GITS_OFFSET_MASK) == next)
			return 0;
	} while (rt_counter() < end);
	return fail(why, len, RT_ITS_FAILED,
		    "ITS command %s not consumed in %u ms (GITS_CREADR 0x%llx, "
		    "GITS_CWRITER 0x%x)",
		    name, WAIT_US / 1000, (unsigned long long)r, next);
}

static int cmd_sync(char *why, size_t len)
{
	uint64_t c[4] = { CMD_SYNC, 0, its.target, 0 };

	return its_cmd(c, "SYNC", why, len);
}

static void lpi_dispatch(unsigned intid)
{
	unsigned n = intid - RT_LPI_BASE;

	rt_lpi_count++;
	if (n < RT_LPI_MAX && lpi_handlers[n].fn)
		lpi_handlers[n].fn(intid, lpi_handlers[n].arg);
	else
		rt_lpi_unhandled++;
}

/* Program GITS_BASER<n> with a flat 64 KiB table at `table`: offer 4 KiB
 * pages, and take the page size the ITS reads back if it wants another
 * (KVM's ITS has only 64 KiB). Returns the page size, 0 on failure. */
static unsigned setup_baser(unsigned n, void *table, char *why, size_t len)
{
	uintptr_t reg = its.its + GITS_BASER(n);
	uint64_t b = rd64(reg), v, got = 0;
	unsigned ps = 0; /* 0: 4 KiB, 1: 16 KiB, 2: 64 KiB */

	for (unsigned attempt = 0; attempt < 2; attempt++) {
		unsigned bytes = 0x1000u << (2 * ps);

		v = (b & BASER_KEEP) | BASER_VALID | BASER_CACHE_WB |
		    ((uintptr_t)table & ADDR_MASK_52) | BASER_INNER_SH |
		    (uint64_t)ps << 8 | (TABLE_SIZE / bytes - 1);
		wr64(reg, v);
		got = rd64(reg);
		if (BASER_PS(got) == ps)
			break;
		ps = BASER_PS(got);
		if (ps > 2)
			break;
	}
	if (!(got & BASER_VALID) || BASER_PS(got) != ps || ps > 2 ||
	    (got & BASER_INDIRECT)) {
		fail(why, len, RT_ITS_FAILED,
		     "GITS_BASER%u: wrote 0x%llx, reads 0x%llx (not a valid "
		     "flat table)",
		     n, (unsigned long long)v, (unsigned long long)got);
		return 0;
	}
	if (!(got & BASER_SH_MASK))
		its.flush = true;
	return 0x1000u << (2 * ps);
}

static int setup_tables(char *why, size_t len)
{
	bool have_dev = false;

	for (unsigned n = 0; n < 8; n++) {
		uint64_t b = rd64(its.its + GITS_BASER(n));
		unsigned type = BASER_TYPE(b), esz = BASER_ESZ(b);

		if (type == BASER_TYPE_DEV) {
			its.dev_page = setup_baser(n, mem.devices, why, len);
			if (!its.dev_page)
				return RT_ITS_FAILED;
			its.dev_entries = TABLE_SIZE / esz;
			have_dev = true;
		} else if (type == BASER_TYPE_COLL) {
			its.coll_page =
				setup_baser(n, mem.collections, why, len);
			if (!its.coll_page)
				return RT_ITS_FAILED;
			its.have_coll_table = true;
		}
		/* Others (vPEs of a GICv4) stay invalid: no virtual LPIs. */
	}
	if (!have_dev)
		return fail(why, len, RT_ITS_FAILED,
			    "the ITS offers no device table (GITS_BASERn)");
	if (!its.have_coll_table && !its.hcc)
		return fail(why, len, RT_ITS_FAILED,
			    "the ITS has neither a collection table nor "
			    "collections of its own");
	return 0;
}

/* The LPI tables of the calling CPU's redistributor, then EnableLPIs. */
static int setup_redist(char *why, size_t len)
{
	uintptr_t rd = its.rd;
	uint64_t v, got, end;

	if (rd32(rd + GICR_CTLR) & GICR_CTLR_ENABLE)
		return fail(why, len, RT_ITS_FAILED,
			    "LPIs are already enabled on this redistributor "
			    "(its tables cannot be changed any more)");
	for (unsigned i = 0; i < PROP_SIZE; i++)
		mem.prop[i] = LPI_PRIO | LPI_RES1; /* all disabled */

	v = ((uintptr_t)mem.prop & ADDR_MASK_52) | GICR_BASER_INNER_SH |
	    GICR_BASER_CACHE_WB | (PROP_ID_BITS - 1);
	wr64(rd + GICR_PROPBASER, v);
	got = rd64(rd + GICR_PROPBASER);
	if ((got & ADDR_MASK_52) != ((uintptr_t)mem.prop & ADDR_MASK_52))
		return fail(why, len, RT_ITS_FAILED,
			    "GICR_PROPBASER: wrote 0x%llx, reads 0x%llx",
			    (unsigned long long)v, (unsigned long long)got);
	if (!(got & GICR_BASER_SH_MASK))
		its.flush = true;

	/* The pending table is all zeros (.bss): PTZ says so. */
	v = ((uintptr_t)mem.pending & ADDR_MASK_52) | GICR_BASER_INNER_SH |
	    GICR_BASER_CACHE_WB | GICR_PENDBASER_PTZ;
	wr64(rd + GICR_PENDBASER, v);
	got = rd64(rd + GICR_PENDBASER);
	if (!(got & GICR_BASER_SH_MASK))
		its.flush = true;
	clean(mem.prop, sizeof(mem.prop));
	clean(mem.pending, sizeof(mem.pending));
	dsb(sy);

	wr32(rd + GICR_CTLR, rd32(rd + GICR_CTLR) | GICR_CTLR_ENABLE);
	end = deadline_us(WAIT_US);
	while ((rd32(rd + GICR_CTLR) & GICR_CTLR_RWP) && rt_counter() < end)
		;
	if (!(rd32(rd + GICR_CTLR) & GICR_CTLR_ENABLE))
		return fail(why, len, RT_ITS_FAILED,
			    "GICR_CTLR.EnableLPIs does not stay set");
	return 0;
}

int rt_its_init(char *why, size_t len)
{
	uint64_t v, got, rtyper, end;
	uint32_t pidr2;
	int ret;

	if (its.ready)
		return 0;
	if (rt_gic_version() != 3)
		return fail(why, len, RT_ITS_NO_GICV3,
			    "the GIC is a GICv%u: no ITS, so no LPIs and no "
			    "MSIs (they need a GICv3 ITS)",
			    rt_gic_version());
	its.rd = rt_gic_redist();
	if (!its.rd)
		return fail(why, len, RT_ITS_FAILED,
			    "no redistributor for this CPU");
	rtyper = rd64(its.rd + GICR_TYPER);
	if (!(rtyper & GICR_TYPER_PLPIS))
		return fail(why, len, RT_ITS_NO_ITS,
			    "the redistributor has no LPIs (GICR_TYPER 0x%llx)",
			    (unsigned long long)rtyper);

	its.its = ABI_GIC_ITS_BASE;
	pidr2 = rd32(its.its + GITS_PIDR2);
	its.arch = pidr2 >> 4 & 0xf;
	if (its.arch != 3 && its.arch != 4)
		return fail(why, len, RT_ITS_NO_ITS,
			    "no ITS at 0x%llx (GITS_PIDR2 0x%x)",
			    (unsigned long long)its.its, pidr2);
	its.typer = rd64(its.its + GITS_TYPER);
	if (!(its.typer & 1))
		return fail(why, len, RT_ITS_NO_ITS,
			    "the ITS has no physical LPIs (GITS_TYPER 0x%llx)",
			    (unsigned long long)its.typer);
	its.itt_esz = (unsigned)(its.typer >> 4 & 0xf) + 1;
	its.id_bits = (unsigned)(its.typer >> 8 & 0x1f) + 1;
	its.dev_bits = (unsigned)(its.typer >> 13 & 0x1f) + 1;
	its.pta = its.typer >> 19 & 1;
	its.hcc = (unsigned)(its.typer >> 24 & 0xff);
	/* MAPC/SYNC name a redistributor by its physical address (PTA = 1)
	 * or by its GICR_TYPER.Processor_Number (PTA = 0), bits [51:16]. */
	if (its.pta)
		its.target = its.rd & 0x000fffffffff0000ull;
	else
		its.target = (rtyper >> 8 & 0xffff) << 16;

	ret = setup_redist(why, len);
	if (ret)
		return ret;

	/* The ITS must be disabled and quiescent to take new tables. */
	if (rd32(its.its + GITS_CTLR) & GITS_CTLR_ENABLED)
		wr32(its.its + GITS_CTLR, 0);
	end = deadline_us(WAIT_US);
	while (!(rd32(its.its + GITS_CTLR) & GITS_CTLR_QUIESCENT))
		if (rt_counter() >= end)
			return fail(why, len, RT_ITS_FAILED,
				    "the ITS does not become quiescent");

	v = CBASER_VALID | CBASER_CACHE_WB |
	    ((uintptr_t)mem.cmdq & ADDR_MASK_52) | CBASER_INNER_SH |
	    (CMDQ_SIZE / 0x1000 - 1);
	wr64(its.its + GITS_CBASER, v);
	got = rd64(its.its + GITS_CBASER);
	if (!(got & CBASER_VALID) ||
	    (got & ADDR_MASK_52) != ((uintptr_t)mem.cmdq & ADDR_MASK_52))
		return fail(why, len, RT_ITS_FAILED,
			    "GITS_CBASER: wrote 0x%llx, reads 0x%llx",
			    (unsigned long long)v, (unsigned long long)got);
	if (!(got & BASER_SH_MASK))
		its.flush = true;
	its.cwriter = 0;
	wr64(its.its + GITS_CWRITER, 0);

	ret = setup_tables(why, len);
	if (ret)
		return ret;
	clean(&mem, sizeof(mem));
	dsb(sy);
	wr32(its.its + GITS_CTLR, GITS_CTLR_ENABLED);
	if (!(rd32(its.its + GITS_CTLR) & GITS_CTLR_ENABLED))
		return fail(why, len, RT_ITS_FAILED,
			    "GITS_CTLR.Enabled does not stay set");

	{
		uint64_t c[4] = { CMD_MAPC, 0,
				  CMD_VALID | its.target | COLLECTION, 0 };
		/* INVALL: the collection's LPIs re-read their (all
		 * disabled) configuration. */
		uint64_t inv[4] = { CMD_INVALL, 0, COLLECTION, 0 };

		ret = its_cmd(c, "MAPC", why, len);
		if (!ret)
			ret = its_cmd(inv, "INVALL", why, len);
		if (!ret)
			ret = cmd_sync(why, len);
		if (ret)
			return ret;
	}
	rt_gic_set_lpi_handler(lpi_dispatch);
	its.ready = true;
	return 0;
}

uint64_t rt_its_doorbell(void)
{
	return ABI_GIC_ITS_BASE + GITS_TRANSLATER;
}

int rt_its_map_device(uint32_t devid, unsigned nevents, char *why, size_t len)
{
	unsigned bits = 1, size;
	uintptr_t itt;

	if (!its.ready)
		return fail(why, len, -1, "the ITS is not set up");
	if ((its.dev_bits < 32 && devid >> its.dev_bits) ||
	    devid >= its.dev_entries)
		return fail(why, len, -1,
			    "DeviceID 0x%x beyond the device table (%u bits, "
			    "%u entries)",
			    devid, its.dev_bits, its.dev_entries);
	while (bits < 32 && (1u << bits) < nevents)
		bits++;
	if (!nevents || bits > its.id_bits)
		return fail(why, len, -1,
			    "%u events need %u EventID bits, the ITS has %u",
			    nevents, bits, its.id_bits);
	size = its.itt_esz << bits;
	size = (size + ITT_ALIGN - 1) & ~(ITT_ALIGN - 1);
	if (its.itt_used + size > ITT_POOL)
		return fail(why, len, -1, "out of ITT memory (%u of %u bytes)",
			    its.itt_used, ITT_POOL);
	itt = (uintptr_t)mem.itt + its.itt_used;
	its.itt_used += size;
	clean((const void *)itt, size);
	{
		/* DW1 Size: EventID bits - 1; DW2: ITT address [51:8]. */
		uint64_t c[4] = { CMD_MAPD | (uint64_t)devid << 32, bits - 1,
				  CMD_VALID | (itt & 0x000fffffffffff00ull),
				  0 };

		if (its_cmd(c, "MAPD", why, len))
			return -1;
	}
	return 0;
}

int rt_its_map_event(uint32_t devid, uint32_t event, unsigned intid,
		     rt_irq_fn fn, void *arg, char *why, size_t len)
{
	unsigned n = intid - RT_LPI_BASE;

	if (!its.ready)
		return fail(why, len, -1, "the ITS is not set up");
	if (intid < RT_LPI_BASE || n >= RT_LPI_MAX)
		return fail(why, len, -1, "LPI %u outside %u-%u", intid,
			    RT_LPI_BASE, RT_LPI_BASE + RT_LPI_MAX - 1);
	lpi_handlers[n].fn = fn;
	lpi_handlers[n].arg = arg;
	mem.prop[n] = LPI_PRIO | LPI_RES1 | LPI_ENABLE;
	clean(&mem.prop[n], 1);
	dsb(sy);
	{
		uint64_t mapti[4] = { CMD_MAPTI | (uint64_t)devid << 32,
				      event | (uint64_t)intid << 32, COLLECTION,
				      0 };
		/* INV: the LPI's configuration byte changed. */
		uint64_t inv[4] = { CMD_INV | (uint64_t)devid << 32, event, 0,
				    0 };

		if (its_cmd(mapti, "MAPTI", why, len) ||
		    its_cmd(inv, "INV", why, len) || cmd_sync(why, len))
			return -1;
	}
	return 0;
}

const char *rt_its_describe(char *buf, size_t len)
{
	if (!its.ready) {
		rt_snprintf(buf, len, "not set up");
		return buf;
	}
	rt_snprintf(buf, len,
		    "GICv%u ITS at 0x%llx: DeviceID %u bits, EventID %u bits, "
		    "ITT entry %u B, tables in %u KiB pages, collections %s, "
		    "targets by %s; LPIs %u-%u, collection %u -> "
		    "redistributor 0x%llx",
		    its.arch, (unsigned long long)its.its, its.dev_bits,
		    its.id_bits, its.itt_esz, its.dev_page >> 10,
		    its.have_coll_table ? "in memory" : "held in the ITS",
		    its.pta ? "address" : "processor number", RT_LPI_BASE,
		    (1u << PROP_ID_BITS) - 1, COLLECTION,
		    (unsigned long long)its.rd);
	return buf;
}
