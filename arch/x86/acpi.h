/* SPDX-License-Identifier: MIT */
/*
 * ACPI tables for x86 guests (ACPI 6.3): RSDP, RSDT, XSDT, FADT, FACS, MADT,
 * MCFG (with PCI) and a small DSDT, generated from a struct x86_tables_cfg and written to
 * guest RAM through the boot reservation table. arch/x86/mptable.h builds
 * the Intel MP tables from the same config. docs/x86-platform.md shows
 * what the guest sees.
 *
 * Layout (fixed, so a guest and a reader of a memory dump can find them):
 *
 *   0xe0000  RSDP (36 bytes), 16-byte aligned where the legacy search
 *            (0xe0000-0xfffff, 16-byte steps) looks: Linux, RTOSes and
 *            boot loaders find it without being told
 *   0xe0040  FACS (64 bytes, 64-byte aligned as the spec requires)
 *   0xe0080  RSDT, XSDT, FADT, MADT, [MCFG,] DSDT, each 16-byte aligned
 *            one reservation "ACPI tables" covers 0xe0000 to the DSDT end
 *   0xf0000  MP floating pointer + configuration table (arch/x86/mptable.c)
 *
 * x86_memmap() already reports 0x9fc00-0x100000 as reserved, so no guest
 * uses this memory as RAM.
 */
#ifndef ARCH_X86_ACPI_H
#define ARCH_X86_ACPI_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/boot.h"

/* The BIOS area the legacy RSDP and MP floating pointer searches scan. */
#define X86_BIOS_AREA_START 0xe0000ULL
#define X86_BIOS_AREA_END   0x100000ULL
#define X86_ACPI_BASE	    0xe0000ULL /* RSDP, then the tables */
#define X86_ACPI_LIMIT	    0xf0000ULL /* the ACPI tables end below this */

/* nr_cpus bound: APIC IDs 0..nr_cpus-1 and the IOAPIC ID nr_cpus must fit
 * in 8 bits without using the xAPIC broadcast ID 0xff. */
#define X86_TABLES_MAX_CPUS	   254
#define X86_TABLES_MAX_UARTS	   4
#define X86_TABLES_MAX_VIRTIO_MMIO 32

/* The ISA IRQ the ACPI SCI uses (FADT SCI_INT, level/high override). */
#define X86_ACPI_SCI_IRQ 9

/* A virtio-mmio device the DSDT describes (LNRO0005): registers at base
 * (size bytes, below 4 GiB), an edge-triggered, active-high interrupt. */
struct x86_tables_virtio_mmio {
	uint64_t base;
	uint32_t size;
	uint8_t irq; /* a GSI, 0-23 */
};

/* A 16550 UART the DSDT describes (PNP0501, 8 ports). */
struct x86_tables_uart {
	uint16_t port;
	uint8_t irq; /* 0-15: ISA IRQ; 16-23: a GSI (Extended Interrupt) */
};

struct x86_tables_cfg {
	/* vCPUs, 1..X86_TABLES_MAX_CPUS. vCPU i has APIC ID i (as the CPUID
	 * the VMM gives it says); vCPU 0 is the BSP. The IOAPIC gets ID
	 * nr_cpus. */
	unsigned nr_cpus;
	/* IOAPIC pin the PIT's ISA IRQ 0 arrives on: 2 (PC wiring, QEMU's
	 * GSI routing: MADT override IRQ0 -> GSI 2, MP IRQ0 -> pin 2) or 0
	 * (KVM's default routing, which maps GSI n to IOAPIC pin n: no
	 * override). Must match the GSI routing the VM really has. */
	unsigned irq0_pin;
	/* Every ISA IRQ (bit n = IRQ n, 0-15) a device raises, UARTs
	 * included. Only checked: IRQ 2 (cascade) and the SCI (IRQ 9) must
	 * not be used by a device. */
	uint16_t isa_irqs;
	/* PM1a_EVT_BLK I/O port (PM1a_CNT_BLK at +4): the acpi-pm device's
	 * `port`. 0 means ABI_ACPI_PM_BASE (0x600). */
	uint16_t pm_port;
	/* UARTs described in the DSDT as COM1, COM2, ... (_UID 1, 2, ...). */
	struct x86_tables_uart uarts[X86_TABLES_MAX_UARTS];
	unsigned nr_uarts;
	/* virtio-mmio devices, described as \_SB.VR00, VR01, ... (_UID 0,
	 * 1, ...). Their ISA IRQs (< 16) must be in isa_irqs too. */
	struct x86_tables_virtio_mmio vmmio[X86_TABLES_MAX_VIRTIO_MMIO];
	unsigned nr_vmmio;
	/* A PCI host bridge (devices/pci.h) with the x86 layout of
	 * devices/abi/x86_pc.h: \_SB.PCI0 (PNP0A08, bus 0, the type-1
	 * ports, the I/O, 32-bit and 64-bit windows in _CRS), an MCFG table
	 * for its ECAM and \_SB.RES0 (PNP0C02) reserving the ECAM area. */
	bool pci;
	/* CPUID leaf 1 EAX (signature) and EDX (features) for the MP
	 * processor entries; 0 if unknown. */
	uint32_t cpu_signature;
	uint32_t cpu_features;
	/* RAM does not cover the tables' place in the BIOS area:
	 *   required: -ERANGE with b->err saying so;
	 *   otherwise: nothing is written, 0 is returned (*rsdp_gpa = 0). */
	bool required;
};

/*
 * Build the ACPI tables at X86_ACPI_BASE, reserved as "ACPI tables". On
 * success *rsdp_gpa is the RSDP's address (for the Linux zero page's
 * acpi_rsdp_addr or PVH start_info.rsdp_paddr), or 0 when the tables were
 * skipped (see `required`). Errors (b->err set, nothing written):
 *   -EINVAL  bad config (nr_cpus, irq0_pin, pm_port, UARTs, virtio-mmio)
 *   -EBUSY   a device uses IRQ 9 (the SCI), or the tables overlap an
 *            earlier reservation (the message names both)
 *   -ERANGE  required and no writable RAM there
 */
int x86_acpi_build(struct boot_ctx *b, const struct x86_tables_cfg *c,
		   uint64_t *rsdp_gpa);

#endif
