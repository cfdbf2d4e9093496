/* SPDX-License-Identifier: MIT */
/*
 * MP tables, Intel MultiProcessor Specification 1.4 (chapter 4), written
 * from the spec's field tables.
 *
 * What the tables say, and why:
 * - One processor entry per vCPU, local APIC ID = vCPU index (the CPUID the
 *   VMM gives each vCPU agrees), version 0x14 (KVM's integrated xAPIC),
 *   enabled; vCPU 0 is the bootstrap processor. Signature and features are
 *   CPUID leaf 1 EAX/EDX as the caller passes them (PC BIOSes store EAX
 *   whole, extended family/model included).
 * - One ISA bus (ID 0) and the IOAPIC (ID nr_cpus, version 0x11 as KVM's
 *   in-kernel IOAPIC reports, 24 pins, at 0xfec00000).
 * - I/O interrupt entries for ISA IRQs 0, 1, 3-15 with conforming
 *   polarity/trigger (ISA: edge, active high): IRQ n on pin n, except IRQ
 *   0 on pin c->irq0_pin (2 on a PC). IRQ 2 is the 8259 cascade and has
 *   no entry, as on PCs.
 * - Local interrupts: the 8259 (ExtINT) on LINT0 and NMI on LINT1 of every
 *   local APIC (destination 0xff), which is how KVM wires them.
 * - Floating pointer feature byte 2 IMCRP clear: virtual wire mode (there
 *   is no IMCR at ports 0x22/0x23).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/mptable.h"
#include "devices/abi/x86_pc.h"
#include "vmm/util.h"

#define MP_SPEC_REV	  4 /* 1.4 */
#define MP_LAPIC_VERSION  0x14
#define MP_IOAPIC_VERSION 0x11
#define MP_ALL_LAPICS	  0xff
#define MP_ISA_IRQS	  16

struct mp_floating {
	char signature[4]; /* "_MP_" */
	uint32_t config_table;
	uint8_t length; /* in 16-byte units: 1 */
	uint8_t spec_rev;
	uint8_t checksum;
	uint8_t feature[5]; /* [0] 0: a config table exists; [1] bit 7 IMCRP */
} __attribute__((packed));
_Static_assert(sizeof(struct mp_floating) == 16, "MP floating pointer");

struct mp_config {
	char signature[4]; /* "PCMP" */
	uint16_t base_length;
	uint8_t spec_rev;
	uint8_t checksum;
	char oem_id[8];
	char product_id[12];
	uint32_t oem_table;
	uint16_t oem_table_size;
	uint16_t entry_count;
	uint32_t lapic_address;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct mp_config) == 44, "MP config table header");

enum {
	MP_PROCESSOR = 0,
	MP_BUS = 1,
	MP_IOAPIC = 2,
	MP_IO_INTERRUPT = 3,
	MP_LOCAL_INTERRUPT = 4,
};

struct mp_processor {
	uint8_t type;
	uint8_t lapic_id;
	uint8_t lapic_version;
	uint8_t cpu_flags; /* bit 0 EN, bit 1 BP */
	uint32_t signature;
	uint32_t features;
	uint32_t reserved[2];
} __attribute__((packed));
_Static_assert(sizeof(struct mp_processor) == 20, "MP processor entry");
#define MP_CPU_EN 0x01
#define MP_CPU_BP 0x02

struct mp_bus {
	uint8_t type;
	uint8_t bus_id;
	char bus_type[6];
} __attribute__((packed));
_Static_assert(sizeof(struct mp_bus) == 8, "MP bus entry");

struct mp_ioapic {
	uint8_t type;
	uint8_t id;
	uint8_t version;
	uint8_t flags; /* bit 0 EN */
	uint32_t address;
} __attribute__((packed));
_Static_assert(sizeof(struct mp_ioapic) == 8, "MP IOAPIC entry");

/* I/O and local interrupt assignment entries share a layout. */
struct mp_interrupt {
	uint8_t type;
	uint8_t irq_type; /* 0 INT, 1 NMI, 2 SMI, 3 ExtINT */
	uint16_t flags;	  /* 0: conforming polarity and trigger */
	uint8_t src_bus;
	uint8_t src_irq;
	uint8_t dst_id;	 /* IOAPIC ID, or local APIC ID (0xff: all) */
	uint8_t dst_pin; /* IOAPIC INTIN#, or LINTIN# */
} __attribute__((packed));
_Static_assert(sizeof(struct mp_interrupt) == 8, "MP interrupt entry");
#define MP_INT_INT    0
#define MP_INT_NMI    1
#define MP_INT_EXTINT 3

#define MP_ISA_BUS_ID 0

static uint8_t mp_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + b[i]);
	return (uint8_t)(0x100 - sum);
}

static bool is_ram(const struct guest_mem *mem, uint64_t gpa, uint64_t size)
{
	const struct mem_region *r = mem_find(mem, gpa);

	return r && !r->readonly && size <= r->size - (gpa - r->gpa);
}

/* Fill the configuration table at p (its base table length bytes). */
static uint16_t fill_config(uint8_t *p, const struct x86_tables_cfg *c)
{
	struct mp_config *h = (struct mp_config *)p;
	uint8_t ioapic_id = (uint8_t)c->nr_cpus;
	size_t off = sizeof(*h);
	uint16_t count = 0;

	for (unsigned i = 0; i < c->nr_cpus; i++) {
		*(struct mp_processor *)(p + off) = (struct mp_processor){
			.type = MP_PROCESSOR,
			.lapic_id = (uint8_t)i,
			.lapic_version = MP_LAPIC_VERSION,
			.cpu_flags = MP_CPU_EN | (i == 0 ? MP_CPU_BP : 0),
			.signature = c->cpu_signature,
			.features = c->cpu_features,
		};
		off += sizeof(struct mp_processor);
		count++;
	}

	*(struct mp_bus *)(p + off) = (struct mp_bus){
		.type = MP_BUS,
		.bus_id = MP_ISA_BUS_ID,
		.bus_type = { 'I', 'S', 'A', ' ', ' ', ' ' },
	};
	off += sizeof(struct mp_bus);
	count++;

	*(struct mp_ioapic *)(p + off) = (struct mp_ioapic){
		.type = MP_IOAPIC,
		.id = ioapic_id,
		.version = MP_IOAPIC_VERSION,
		.flags = 1,
		.address = ABI_IOAPIC_BASE,
	};
	off += sizeof(struct mp_ioapic);
	count++;

	for (unsigned irq = 0; irq < MP_ISA_IRQS; irq++) {
		if (irq == 2)
			continue;
		*(struct mp_interrupt *)(p + off) = (struct mp_interrupt){
			.type = MP_IO_INTERRUPT,
			.irq_type = MP_INT_INT,
			.flags = 0,
			.src_bus = MP_ISA_BUS_ID,
			.src_irq = (uint8_t)irq,
			.dst_id = ioapic_id,
			.dst_pin = (uint8_t)(irq == 0 ? c->irq0_pin : irq),
		};
		off += sizeof(struct mp_interrupt);
		count++;
	}

	for (unsigned lint = 0; lint < 2; lint++) {
		*(struct mp_interrupt *)(p + off) = (struct mp_interrupt){
			.type = MP_LOCAL_INTERRUPT,
			.irq_type = lint ? MP_INT_NMI : MP_INT_EXTINT,
			.flags = 0,
			.src_bus = MP_ISA_BUS_ID,
			.src_irq = 0,
			.dst_id = MP_ALL_LAPICS,
			.dst_pin = (uint8_t)lint,
		};
		off += sizeof(struct mp_interrupt);
		count++;
	}

	memcpy(h->signature, "PCMP", 4);
	h->base_length = (uint16_t)off;
	h->spec_rev = MP_SPEC_REV;
	memcpy(h->oem_id, "VMM     ", 8);
	memcpy(h->product_id, "VMMTABLE    ", 12);
	h->entry_count = count;
	h->lapic_address = ABI_LAPIC_BASE;
	h->checksum = mp_checksum(p, off);
	return (uint16_t)off;
}

static size_t config_len(const struct x86_tables_cfg *c)
{
	return sizeof(struct mp_config) +
	       c->nr_cpus * sizeof(struct mp_processor) +
	       sizeof(struct mp_bus) + sizeof(struct mp_ioapic) +
	       (MP_ISA_IRQS - 1 + 2) * sizeof(struct mp_interrupt);
}

int x86_mptable_build(struct boot_ctx *b, const struct x86_tables_cfg *c)
{
	const uint64_t base = X86_MPTABLE_BASE;
	const uint64_t cfg_gpa = base + sizeof(struct mp_floating);
	struct mp_floating *fp;
	size_t total;
	uint8_t *buf;
	int ret;

	if (c->nr_cpus < 1 || c->nr_cpus > X86_TABLES_MAX_CPUS)
		return boot_fail(b, -EINVAL,
				 "MP table: %u vCPUs; 1 to %u can be described",
				 c->nr_cpus, X86_TABLES_MAX_CPUS);
	if (c->irq0_pin != 0 && c->irq0_pin != 2)
		return boot_fail(b, -EINVAL,
				 "MP table: IRQ 0 on IOAPIC pin %u; only 0 or "
				 "2 are supported",
				 c->irq0_pin);
	total = ALIGN_UP(sizeof(*fp) + config_len(c), 16);
	if (!is_ram(b->mem, base, total)) {
		char ram[256];

		if (!c->required)
			return 0;
		return boot_fail(b, -ERANGE,
				 "MP table [%#llx-%#llx) needs guest RAM in "
				 "0xf0000-0xfffff, where guests search for "
				 "the MP floating pointer (RAM: %s)",
				 (unsigned long long)base,
				 (unsigned long long)(base + total),
				 boot_fmt_ram(b->mem, ram, sizeof(ram)));
	}
	buf = calloc(1, total);
	if (!buf)
		return boot_fail(b, -ENOMEM, "MP table: out of memory");

	fill_config(buf + sizeof(*fp), c);
	fp = (struct mp_floating *)buf;
	memcpy(fp->signature, "_MP_", 4);
	fp->config_table = (uint32_t)cfg_gpa;
	fp->length = 1;
	fp->spec_rev = MP_SPEC_REV;
	fp->checksum = mp_checksum(fp, sizeof(*fp));

	ret = boot_load(b, base, buf, total, total, "MP table");
	free(buf);
	return ret;
}
