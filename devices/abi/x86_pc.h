/* SPDX-License-Identifier: MIT */
/*
 * Guest-visible ABI of the x86 platform devices: the defaults both the VMM
 * (devices/) and the guests (guest/) use. Fixed-width types only; included by
 * freestanding guest code, so no libc headers.
 */
#ifndef DEVICES_ABI_X86_PC_H
#define DEVICES_ABI_X86_PC_H

/* 8250/16550 UART (COM1) */
#define ABI_COM1_PORT 0x3f8
#define ABI_COM1_IRQ  4

/* Debug-exit (QEMU isa-debug-exit semantics): writing v to the port makes
 * the VMM exit with status (v << 1) | 1. */
#define ABI_DEBUG_EXIT_PORT 0xf4

/* ACPI PM1a register block (fixed hardware, ACPI 6.x 4.8.3): PM1a_EVT_BLK at
 * base (status 2 bytes, enable 2 bytes), PM1a_CNT_BLK at base + 4 (2 bytes).
 * Writing SLP_EN with SLP_TYP = ABI_ACPI_SLP_TYP_S5 powers the VM off; the
 * FADT/DSDT (_S5) the VMM generates advertise the same values. */
#define ABI_ACPI_PM_BASE       0x600
#define ABI_ACPI_PM1_CNT       (ABI_ACPI_PM_BASE + 4)
#define ABI_ACPI_SLP_EN	       (1u << 13)
#define ABI_ACPI_SLP_TYP_SHIFT 10
#define ABI_ACPI_SLP_TYP_S5    5u
#define ABI_ACPI_POWEROFF \
	((ABI_ACPI_SLP_TYP_S5 << ABI_ACPI_SLP_TYP_SHIFT) | ABI_ACPI_SLP_EN)

/* CMOS RTC index/data ports, IRQ 8 */
#define ABI_CMOS_INDEX_PORT 0x70
#define ABI_CMOS_DATA_PORT  0x71
#define ABI_RTC_IRQ	    8

/* Local APIC and IOAPIC default bases (in-kernel irqchip) */
#define ABI_LAPIC_BASE	0xfee00000u
#define ABI_IOAPIC_BASE 0xfec00000u

#endif
