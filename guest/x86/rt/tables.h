/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the firmware table parsers (acpi.c, mptable.c); not
 * part of the runtime's API.
 */
#ifndef GUEST_RT_TABLES_H
#define GUEST_RT_TABLES_H

#include "rt.h"

/* A pointer to physical (= virtual) address addr. The empty asm hides the
 * constant from the compiler, which otherwise warns about dereferencing
 * small constant addresses such as the BIOS data area's. */
static inline const void *tbl_phys(uint64_t addr)
{
	uintptr_t p = (uintptr_t)addr;

	__asm__("" : "+r"(p));
	return (const void *)p;
}

/* Byte sum: a table with a valid checksum sums to 0. */
static inline uint8_t tbl_sum8(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	for (size_t i = 0; i < len; i++)
		s += b[i];
	return s;
}

/* Record an enabled CPU; counts it as skipped if its APIC ID cannot be an
 * xAPIC destination, is a duplicate, or the table is full. */
static inline void tbl_add_cpu(struct rt_topology *t, uint32_t apic_id)
{
	if (apic_id > RT_MAX_APIC_ID || t->ncpus >= RT_MAX_CPUS) {
		t->skipped++;
		return;
	}
	for (unsigned i = 0; i < t->ncpus; i++) {
		if (t->apic_id[i] == apic_id) {
			t->skipped++;
			return;
		}
	}
	t->apic_id[t->ncpus++] = apic_id;
}

static inline void tbl_add_ioapic(struct rt_topology *t, uint32_t id,
				  uint32_t addr, uint32_t gsi_base)
{
	if (t->nioapics >= RT_MAX_IOAPICS)
		return;
	t->ioapic[t->nioapics].id = id;
	t->ioapic[t->nioapics].addr = addr;
	t->ioapic[t->nioapics].gsi_base = gsi_base;
	t->nioapics++;
}

#endif
