/* SPDX-License-Identifier: MIT */
/*
 * Intel MultiProcessor Specification 1.4 tables for x86 guests: the MP
 * floating pointer structure and the MP configuration table (processors,
 * the ISA bus, the IOAPIC, ISA interrupt assignments, local interrupts),
 * for SMP RTOSes and kernels that predate ACPI or boot with it disabled.
 * The same struct x86_tables_cfg as the ACPI tables (arch/x86/acpi.h), so
 * both describe the same machine.
 *
 * Layout: the floating pointer at X86_MPTABLE_BASE (0xf0000: the spec and
 * Linux search only 0xf0000-0xfffff of the BIOS area, on 16-byte
 * boundaries), the configuration table right after it at +16; one
 * reservation "MP table" covers both.
 */
#ifndef ARCH_X86_MPTABLE_H
#define ARCH_X86_MPTABLE_H

#include "arch/x86/acpi.h"
#include "vmm/boot.h"

#define X86_MPTABLE_BASE 0xf0000ULL

/*
 * Build the MP tables at X86_MPTABLE_BASE from c (nr_cpus, irq0_pin,
 * cpu_signature, cpu_features, required; the other fields are ACPI-only).
 * Returns 0 (also when RAM does not cover the place and !c->required:
 * nothing is written), or with b->err set and nothing written:
 *   -EINVAL  nr_cpus or irq0_pin out of range
 *   -EBUSY   the tables overlap an earlier reservation (names both)
 *   -ERANGE  required and no writable RAM there
 */
int x86_mptable_build(struct boot_ctx *b, const struct x86_tables_cfg *c);

#endif
