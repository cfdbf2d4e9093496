/* SPDX-License-Identifier: MIT */
/*
 * CPUs and I/O APICs from the ACPI MADT (ACPI Specification 6.5: 5.2.5 Root
 * System Description Pointer, 5.2.6 System Description Table Header, 5.2.7
 * RSDT, 5.2.8 XSDT, 5.2.12 Multiple APIC Description Table).
 *
 * Nothing here trusts the tables: every structure is checked against the
 * boot memory map before it is read (rt_phys_readable()), every length is
 * bounded, every checksum is verified, and a table that fails is reported
 * (why) and not used. The scans are the expensive part when the host
 * emulates instructions: 16-byte steps over 128 KiB are 8192 compares of
 * one 8-byte load each.
 */
#include "rt.h"
#include "tables.h"

#define BDA_EBDA_SEG	0x40e /* BIOS data area: EBDA segment (word) */
#define EBDA_SCAN_LEN	1024
#define BIOS_AREA	0xe0000
#define BIOS_AREA_END	0x100000
#define SCAN_CHUNK	4096
#define RSDP_V1_LEN	20
#define RSDP_V2_LEN	36
#define SDT_MAX_LEN	0x10000 /* sane bound for the RSDT/XSDT/MADT */
#define SDT_MAX_ENTRIES 256

/* "RSD PTR " as a little-endian 64-bit load: one compare per 16 bytes */
#define RSDP_SIG64 0x2052545020445352ull

#define MADT_LAPIC	    0
#define MADT_IOAPIC	    1
#define MADT_LAPIC_OVERRIDE 5
#define MADT_X2APIC	    9
#define MADT_ENABLED	    (1u << 0)

struct acpi_rsdp {
	char signature[8]; /* "RSD PTR " */
	uint8_t checksum;  /* bytes 0-19 */
	char oem_id[6];
	uint8_t revision; /* 0: ACPI 1.0 (20 bytes), 2: 2.0+ (36 bytes) */
	uint32_t rsdt;
	uint32_t length; /* revision >= 2 */
	uint64_t xsdt;
	uint8_t ext_checksum; /* all `length` bytes */
	uint8_t reserved[3];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_rsdp) == RSDP_V2_LEN, "RSDP layout");

struct acpi_sdt {
	char signature[4];
	uint32_t length; /* header included */
	uint8_t revision;
	uint8_t checksum; /* all `length` bytes */
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	uint32_t creator_id;
	uint32_t creator_revision;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_sdt) == 36, "SDT header layout");

struct acpi_madt {
	struct acpi_sdt h; /* "APIC" */
	uint32_t lapic_addr;
	uint32_t flags; /* bit 0: PC-AT 8259s present */
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT layout");

struct madt_entry {
	uint8_t type;
	uint8_t length;
} __attribute__((packed));

struct madt_lapic { /* type 0 */
	struct madt_entry e;
	uint8_t uid;
	uint8_t apic_id;
	uint32_t flags;
} __attribute__((packed));
_Static_assert(sizeof(struct madt_lapic) == 8, "MADT LAPIC layout");

struct madt_ioapic { /* type 1 */
	struct madt_entry e;
	uint8_t id;
	uint8_t reserved;
	uint32_t addr;
	uint32_t gsi_base;
} __attribute__((packed));
_Static_assert(sizeof(struct madt_ioapic) == 12, "MADT IOAPIC layout");

struct madt_lapic_override { /* type 5 */
	struct madt_entry e;
	uint16_t reserved;
	uint64_t addr;
} __attribute__((packed));
_Static_assert(sizeof(struct madt_lapic_override) == 12,
	       "MADT LAPIC override layout");

struct madt_x2apic { /* type 9 */
	struct madt_entry e;
	uint16_t reserved;
	uint32_t x2apic_id;
	uint32_t flags;
	uint32_t uid;
} __attribute__((packed));
_Static_assert(sizeof(struct madt_x2apic) == 16, "MADT x2APIC layout");

/* A valid RSDP at addr: signature, ACPI 1.0 checksum, and for revision 2+
 * a sane length and the extended checksum. */
static bool rsdp_valid(uint64_t addr)
{
	const struct acpi_rsdp *r = tbl_phys(addr);

	if (memcmp(r->signature, "RSD PTR ", 8) ||
	    tbl_sum8(r, RSDP_V1_LEN) != 0)
		return false;
	if (r->revision < 2)
		return true;
	return r->length >= RSDP_V2_LEN && r->length <= SCAN_CHUNK &&
	       rt_phys_readable(addr, r->length) && tbl_sum8(r, r->length) == 0;
}

/* The first valid RSDP in [start, end), 16-byte steps; 0 if none. Only
 * 4 KiB chunks the memory map covers are read. *bad counts signatures with
 * a wrong checksum. */
static uint64_t rsdp_scan(uint64_t start, uint64_t end, unsigned *bad)
{
	for (uint64_t chunk = start; chunk < end; chunk += SCAN_CHUNK) {
		uint64_t stop =
			chunk + SCAN_CHUNK < end ? chunk + SCAN_CHUNK : end;

		if (!rt_phys_readable(chunk, stop - chunk))
			continue;
		for (uint64_t a = chunk; a + RSDP_V2_LEN <= stop; a += 16) {
			if (*(const uint64_t *)tbl_phys(a) != RSDP_SIG64)
				continue;
			if (rsdp_valid(a))
				return a;
			(*bad)++;
		}
	}
	return 0;
}

/* A system description table at addr with signature sig (NULL: any), of at
 * least min_len bytes, readable and with a valid checksum; else NULL and a
 * reason. */
static const struct acpi_sdt *sdt_map(uint64_t addr, const char *sig,
				      uint32_t min_len, const char *what,
				      char *why, size_t len)
{
	const struct acpi_sdt *h = tbl_phys(addr);

	if (!addr || !rt_phys_readable(addr, sizeof(*h))) {
		rt_snprintf(why, len, "%s at 0x%llx is not in memory", what,
			    (unsigned long long)addr);
		return NULL;
	}
	if (sig && memcmp(h->signature, sig, 4)) {
		rt_snprintf(why, len, "%s at 0x%llx: bad signature", what,
			    (unsigned long long)addr);
		return NULL;
	}
	if (h->length < min_len || h->length > SDT_MAX_LEN ||
	    !rt_phys_readable(addr, h->length)) {
		rt_snprintf(why, len, "%s at 0x%llx: bad length %u", what,
			    (unsigned long long)addr, h->length);
		return NULL;
	}
	if (tbl_sum8(h, h->length) != 0) {
		rt_snprintf(why, len, "%s at 0x%llx: bad checksum", what,
			    (unsigned long long)addr);
		return NULL;
	}
	return h;
}

/* The MADT listed in the RSDT (entry_size 4) or XSDT (8); 0 if none. */
static uint64_t find_madt(const struct acpi_sdt *root, unsigned entry_size,
			  char *why, size_t len)
{
	const uint8_t *p = (const uint8_t *)(root + 1);
	unsigned n = (root->length - sizeof(*root)) / entry_size;

	if (n > SDT_MAX_ENTRIES)
		n = SDT_MAX_ENTRIES;
	for (unsigned i = 0; i < n; i++) {
		uint64_t a = 0;
		const struct acpi_sdt *h;

		memcpy(&a, p + (size_t)i * entry_size, entry_size);
		if (!a || !rt_phys_readable(a, sizeof(*h)))
			continue;
		h = tbl_phys(a);
		if (!memcmp(h->signature, "APIC", 4))
			return a;
	}
	rt_snprintf(why, len, "no MADT in the %.4s", root->signature);
	return 0;
}

static void parse_madt(struct rt_topology *t, const struct acpi_madt *m)
{
	const uint8_t *p = (const uint8_t *)(m + 1);
	const uint8_t *end = (const uint8_t *)m + m->h.length;

	t->lapic_addr = m->lapic_addr;
	/* Each entry is at least 2 bytes long, so the walk ends. */
	while (end - p >= (long)sizeof(struct madt_entry)) {
		const struct madt_entry *e = (const void *)p;

		if (e->length < sizeof(*e) || e->length > end - p)
			break; /* malformed: stop, keep what we have */
		switch (e->type) {
		case MADT_LAPIC:
			if (e->length >= sizeof(struct madt_lapic)) {
				const struct madt_lapic *l = (const void *)e;

				if (l->flags & MADT_ENABLED)
					tbl_add_cpu(t, l->apic_id);
				else
					t->skipped++;
			}
			break;
		case MADT_X2APIC:
			if (e->length >= sizeof(struct madt_x2apic)) {
				const struct madt_x2apic *x = (const void *)e;

				if (x->flags & MADT_ENABLED)
					tbl_add_cpu(t, x->x2apic_id);
				else
					t->skipped++;
			}
			break;
		case MADT_IOAPIC:
			if (e->length >= sizeof(struct madt_ioapic)) {
				const struct madt_ioapic *io = (const void *)e;

				tbl_add_ioapic(t, io->id, io->addr,
					       io->gsi_base);
			}
			break;
		case MADT_LAPIC_OVERRIDE:
			if (e->length >= sizeof(struct madt_lapic_override)) {
				const struct madt_lapic_override *o =
					(const void *)e;

				t->lapic_addr = o->addr;
			}
			break;
		}
		p += e->length;
	}
}

int rt_acpi_madt(struct rt_topology *t, char *why, size_t len)
{
	const struct acpi_rsdp *rsdp;
	const struct acpi_sdt *root = NULL;
	const struct acpi_sdt *madt;
	uint64_t addr = 0, madt_addr = 0;
	unsigned bad = 0;

	memset(t, 0, sizeof(*t));
	t->bsp = -1;
	/* The EBDA's first KiB, then the BIOS read-only area (5.2.5.1). */
	if (rt_phys_readable(BDA_EBDA_SEG, 2)) {
		uint64_t ebda =
			(uint64_t) * (const uint16_t *)tbl_phys(BDA_EBDA_SEG)
			<< 4;

		if (ebda)
			addr = rsdp_scan(ebda, ebda + EBDA_SCAN_LEN, &bad);
	}
	if (!addr)
		addr = rsdp_scan(BIOS_AREA, BIOS_AREA_END, &bad);
	if (!addr) {
		if (bad)
			rt_snprintf(why, len,
				    "RSDP signature found, bad checksum");
		else
			rt_snprintf(why, len, "no RSDP");
		return -1;
	}
	rsdp = tbl_phys(addr);
	t->root_addr = addr;
	t->revision = rsdp->revision;
	memcpy(t->oem, rsdp->oem_id, 6);
	t->oem[6] = '\0';

	/* ACPI 2.0+: the XSDT supersedes the RSDT; fall back to the RSDT if
	 * the XSDT is unusable (or above 4 GiB). */
	if (rsdp->revision >= 2 && rsdp->xsdt) {
		root = sdt_map(rsdp->xsdt, "XSDT", sizeof(*root), "XSDT", why,
			       len);
		if (root)
			madt_addr = find_madt(root, 8, why, len);
	}
	if (!madt_addr && rsdp->rsdt) {
		root = sdt_map(rsdp->rsdt, "RSDT", sizeof(*root), "RSDT", why,
			       len);
		if (root)
			madt_addr = find_madt(root, 4, why, len);
	}
	if (!madt_addr) {
		if (!root && !rsdp->rsdt && !rsdp->xsdt)
			rt_snprintf(why, len, "RSDP at 0x%llx has no RSDT/XSDT",
				    (unsigned long long)addr);
		return -1;
	}
	madt = sdt_map(madt_addr, "APIC", sizeof(struct acpi_madt), "MADT", why,
		       len);
	if (!madt)
		return -1;
	t->table_addr = madt_addr;
	parse_madt(t, (const struct acpi_madt *)madt);
	if (t->ncpus == 0) {
		rt_snprintf(why, len, "MADT at 0x%llx lists no enabled CPU",
			    (unsigned long long)madt_addr);
		return -1;
	}
	t->source = RT_TOPO_MADT;
	return 0;
}
