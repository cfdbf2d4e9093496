/* SPDX-License-Identifier: MIT */
/*
 * CPUs and I/O APICs from the MP table (Intel MultiProcessor Specification
 * 1.4, chapter 4: 4.1 MP Floating Pointer Structure, 4.2 MP Configuration
 * Table Header, 4.3 Base MP Configuration Table Entries; chapter 5 for the
 * default configurations).
 *
 * As in acpi.c: memory is read only where the boot memory map says there
 * is some, lengths are bounded, checksums verified.
 */
#include "rt.h"
#include "tables.h"

#define BDA_EBDA_SEG	 0x40e /* BIOS data area: EBDA segment (word) */
#define BDA_BASE_MEM_KIB 0x413 /* BIOS data area: base memory in KiB */
#define DEFAULT_BASE_KIB 640
#define SCAN_LEN_1K	 1024
#define BIOS_ROM	 0xf0000
#define BIOS_ROM_END	 0x100000
#define SCAN_CHUNK	 4096
#define MPC_MAX_LEN	 0x10000 /* base table length is a 16-bit field */

#define MPF_SIG32 0x5f504d5fu /* "_MP_" as a little-endian 32-bit load */

#define MPC_PROCESSOR 0
#define MPC_BUS	      1
#define MPC_IOAPIC    2
#define MPC_IOINT     3
#define MPC_LINT      4
#define MPC_CPU_EN    (1u << 0)
#define MPC_CPU_BP    (1u << 1)
#define MPC_IOAPIC_EN (1u << 0)

#define DEFAULT_IOAPIC_ID   2
#define DEFAULT_IOAPIC_ADDR 0xfec00000u
#define DEFAULT_LAPIC_ADDR  0xfee00000u

struct mpf {		    /* floating pointer, 16 bytes */
	uint32_t signature; /* "_MP_" */
	uint32_t config;    /* MP configuration table, 0 if none */
	uint8_t length;	    /* in 16-byte paragraphs: 1 */
	uint8_t spec_rev;   /* 1 (MP 1.1) or 4 (MP 1.4) */
	uint8_t checksum;   /* all length * 16 bytes */
	uint8_t feature[5]; /* [0] != 0: default configuration type */
} __attribute__((packed));
_Static_assert(sizeof(struct mpf) == 16, "MP floating pointer layout");

struct mpc {		   /* configuration table header */
	char signature[4]; /* "PCMP" */
	uint16_t length;   /* base table, header included */
	uint8_t spec_rev;
	uint8_t checksum; /* base table */
	char oem_id[8];
	char product_id[12];
	uint32_t oem_table;
	uint16_t oem_table_size;
	uint16_t entry_count;
	uint32_t lapic_addr;
	uint16_t ext_length;  /* extended entries, after the base table */
	uint8_t ext_checksum; /* extended entries sum to 0 with it */
	uint8_t reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct mpc) == 44, "MP configuration header layout");

struct mpc_processor { /* type 0, 20 bytes */
	uint8_t type;
	uint8_t apic_id;
	uint8_t apic_version;
	uint8_t flags; /* EN, BP */
	uint32_t signature;
	uint32_t features;
	uint32_t reserved[2];
} __attribute__((packed));
_Static_assert(sizeof(struct mpc_processor) == 20, "MP processor layout");

struct mpc_ioapic { /* type 2, 8 bytes */
	uint8_t type;
	uint8_t id;
	uint8_t version;
	uint8_t flags; /* EN */
	uint32_t addr;
} __attribute__((packed));
_Static_assert(sizeof(struct mpc_ioapic) == 8, "MP I/O APIC layout");

/* Entry length by type; 0: unknown (the walk stops there). */
static unsigned entry_len(uint8_t type)
{
	switch (type) {
	case MPC_PROCESSOR:
		return sizeof(struct mpc_processor);
	case MPC_BUS:
	case MPC_IOAPIC:
	case MPC_IOINT:
	case MPC_LINT:
		return 8;
	default:
		return 0;
	}
}

static bool mpf_valid(uint64_t addr)
{
	const struct mpf *f = tbl_phys(addr);
	uint64_t len = (uint64_t)f->length * 16;

	return len >= sizeof(*f) && rt_phys_readable(addr, len) &&
	       tbl_sum8(f, len) == 0;
}

/* The first valid floating pointer in [start, end), 16-byte steps; 0 if
 * none. *bad counts signatures with a wrong length or checksum. */
static uint64_t mpf_scan(uint64_t start, uint64_t end, unsigned *bad)
{
	for (uint64_t chunk = start; chunk < end; chunk += SCAN_CHUNK) {
		uint64_t stop =
			chunk + SCAN_CHUNK < end ? chunk + SCAN_CHUNK : end;

		if (!rt_phys_readable(chunk, stop - chunk))
			continue;
		for (uint64_t a = chunk; a + sizeof(struct mpf) <= stop;
		     a += 16) {
			if (*(const uint32_t *)tbl_phys(a) != MPF_SIG32)
				continue;
			if (mpf_valid(a))
				return a;
			(*bad)++;
		}
	}
	return 0;
}

static uint64_t mpf_find(unsigned *bad)
{
	uint64_t ebda = 0, base_kib = DEFAULT_BASE_KIB, a = 0;

	if (rt_phys_readable(BDA_EBDA_SEG, 2))
		ebda = (uint64_t) * (const uint16_t *)tbl_phys(BDA_EBDA_SEG)
		       << 4;
	if (rt_phys_readable(BDA_BASE_MEM_KIB, 2)) {
		uint16_t kib = *(const uint16_t *)tbl_phys(BDA_BASE_MEM_KIB);

		if (kib >= 1 && kib <= DEFAULT_BASE_KIB)
			base_kib = kib;
	}
	if (ebda)
		a = mpf_scan(ebda, ebda + SCAN_LEN_1K, bad);
	if (!a)
		a = mpf_scan(base_kib * 1024 - SCAN_LEN_1K, base_kib * 1024,
			     bad);
	if (!a)
		a = mpf_scan(BIOS_ROM, BIOS_ROM_END, bad);
	return a;
}

/* Chapter 5: two processors (APIC IDs 0 and 1), one I/O APIC. */
static void default_config(struct rt_topology *t)
{
	t->lapic_addr = DEFAULT_LAPIC_ADDR;
	tbl_add_cpu(t, 0);
	tbl_add_cpu(t, 1);
	tbl_add_ioapic(t, DEFAULT_IOAPIC_ID, DEFAULT_IOAPIC_ADDR, 0);
}

static int parse_config(struct rt_topology *t, uint64_t addr, char *why,
			size_t len)
{
	const struct mpc *c = tbl_phys(addr);
	const uint8_t *p, *end;

	if (!rt_phys_readable(addr, sizeof(*c))) {
		rt_snprintf(why, len,
			    "MP configuration table at 0x%llx is "
			    "not in memory",
			    (unsigned long long)addr);
		return -1;
	}
	if (memcmp(c->signature, "PCMP", 4)) {
		rt_snprintf(why, len,
			    "MP configuration table at 0x%llx: bad "
			    "signature",
			    (unsigned long long)addr);
		return -1;
	}
	if (c->length < sizeof(*c) || !rt_phys_readable(addr, c->length)) {
		rt_snprintf(why, len,
			    "MP configuration table at 0x%llx: bad "
			    "length %u",
			    (unsigned long long)addr, c->length);
		return -1;
	}
	if (tbl_sum8(c, c->length) != 0) {
		rt_snprintf(why, len,
			    "MP configuration table at 0x%llx: bad "
			    "checksum",
			    (unsigned long long)addr);
		return -1;
	}
	if (c->ext_length &&
	    (!rt_phys_readable(addr + c->length, c->ext_length) ||
	     (uint8_t)(tbl_sum8((const uint8_t *)c + c->length, c->ext_length) +
		       c->ext_checksum) != 0)) {
		rt_snprintf(why, len,
			    "MP configuration table at 0x%llx: bad "
			    "extended table checksum",
			    (unsigned long long)addr);
		return -1;
	}
	t->table_addr = addr;
	t->lapic_addr = c->lapic_addr;
	memcpy(t->oem, c->oem_id, 8);
	t->oem[8] = '\0';

	p = (const uint8_t *)(c + 1);
	end = (const uint8_t *)c + c->length;
	/* Bounded by the entry count and by the table length. */
	for (unsigned i = 0; i < c->entry_count && p < end; i++) {
		unsigned n = entry_len(*p);

		if (n == 0 || n > (size_t)(end - p))
			break; /* unknown or truncated: keep what we have */
		if (*p == MPC_PROCESSOR) {
			const struct mpc_processor *e = (const void *)p;

			if (e->flags & MPC_CPU_EN) {
				unsigned before = t->ncpus;

				tbl_add_cpu(t, e->apic_id);
				if ((e->flags & MPC_CPU_BP) &&
				    t->ncpus > before)
					t->bsp = (int)before;
			} else {
				t->skipped++;
			}
		} else if (*p == MPC_IOAPIC) {
			const struct mpc_ioapic *e = (const void *)p;

			if (e->flags & MPC_IOAPIC_EN)
				tbl_add_ioapic(t, e->id, e->addr, 0);
		}
		p += n;
	}
	return 0;
}

int rt_mptable(struct rt_topology *t, char *why, size_t len)
{
	const struct mpf *f;
	unsigned bad = 0;
	uint64_t addr;

	memset(t, 0, sizeof(*t));
	t->bsp = -1;
	addr = mpf_find(&bad);
	if (!addr) {
		rt_snprintf(why, len,
			    bad ? "MP floating pointer signature found, bad "
				  "checksum or length"
				: "no MP floating pointer");
		return -1;
	}
	f = tbl_phys(addr);
	t->root_addr = addr;
	t->revision = f->spec_rev;
	if (f->feature[0]) {
		default_config(t);
		rt_snprintf(t->oem, sizeof(t->oem), "default%u", f->feature[0]);
	} else if (!f->config) {
		rt_snprintf(why, len,
			    "MP floating pointer at 0x%llx: no "
			    "configuration table",
			    (unsigned long long)addr);
		return -1;
	} else if (parse_config(t, f->config, why, len)) {
		return -1;
	}
	if (t->ncpus == 0) {
		rt_snprintf(why, len, "MP table lists no enabled CPU");
		return -1;
	}
	t->source = RT_TOPO_MPTABLE;
	return 0;
}
