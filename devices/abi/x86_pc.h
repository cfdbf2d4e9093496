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

/*
 * PCI and virtio-mmio layout (guest-physical). The PCI host bridge's windows
 * (the ACPI _CRS of the root bridge) and the ECAM area for bus 0; BARs the
 * VMM pre-assigns lie inside the windows. virtio-mmio slot n is at
 * ABI_VIRTIO_MMIO_BASE + n * ABI_VIRTIO_MMIO_SLOT_SIZE.
 */
#define ABI_PCI_IO_BASE		  0xc000u
#define ABI_PCI_IO_SIZE		  0x4000u
#define ABI_PCI_MMIO32_BASE	  0xc0000000u
#define ABI_PCI_MMIO32_SIZE	  0x10000000u
#define ABI_VIRTIO_MMIO_BASE	  0xd0000000u
#define ABI_VIRTIO_MMIO_SLOT_SIZE 0x1000u
#define ABI_VIRTIO_MMIO_SLOTS	  32u
/* Default interrupt lines of virtio-mmio slots 0..ABI_VIRTIO_MMIO_NR_IRQS-1
 * (edge, active high; ISA lines no platform device uses, so they also work
 * through the 8259). PCI has no INTx, so nothing else uses them. */
#define ABI_VIRTIO_MMIO_IRQS                \
	{                                   \
		5, 6, 7, 10, 11, 12, 14, 15 \
	}
#define ABI_VIRTIO_MMIO_NR_IRQS 8
#define ABI_PCI_ECAM_BASE	0xe0000000u
#define ABI_PCI_ECAM_SIZE	0x100000u	/* bus 0 only */
#define ABI_PCI_MMIO64_BASE	0x1000000000ull /* 64 GiB */
#define ABI_PCI_MMIO64_SIZE	0x1000000000ull

/* PCI configuration mechanism #1 (type-1): CONFIG_ADDRESS is a dword at
 * 0xcf8, CONFIG_DATA 0xcfc-0xcff. A byte access to 0xcf9 is the reset control
 * register instead (pc-reset), as on Intel chipsets. */
#define ABI_PCI_CONFIG_ADDRESS 0xcf8u
#define ABI_PCI_CONFIG_DATA    0xcfcu
#define ABI_PC_RESET_PORT      0xcf9u

#endif
