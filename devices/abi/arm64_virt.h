/* SPDX-License-Identifier: MIT */
/*
 * Guest-visible ABI of the arm64 platform: the memory map and interrupt
 * numbers of the QEMU `virt` board, which the VMM (arch/arm64, devices/) and
 * the arm64 guests (guest/arm64) share. Images built for QEMU `virt`
 * (U-Boot's qemu_arm64, bare-metal RTOS ports, Linux) find their devices
 * where they expect them. Fixed-width constants only: included by
 * freestanding guest code.
 *
 * Guest-physical map (default; the config may move devices):
 *
 *   0x0000_0000 +-----------------------------+
 *               | (flash on QEMU: unmapped)   |
 *   0x0800_0000 +-----------------------------+ GIC distributor   64 KiB
 *   0x0801_0000 |  GICv2 CPU interface        |                   64 KiB
 *   0x0808_0000 |  GICv3 ITS                  |                  128 KiB
 *   0x080a_0000 |  GICv3 redistributors       | 128 KiB per vCPU (<= 123)
 *   0x0900_0000 +-----------------------------+ PL011 UART        SPI 1
 *   0x0901_0000 |  PL031 RTC                  |                   SPI 2
 *   0x0a00_0000 +-----------------------------+ virtio-mmio slot 0 SPI 16
 *               |  32 slots of 0x200 bytes    | slot n: SPI 16 + n
 *   0x0a00_4000 +-----------------------------+
 *   0x1000_0000 +-----------------------------+ PCI MMIO window (32-bit)
 *   0x3eff_0000 |  PCI I/O window (unused)    |
 *   0x3f00_0000 |  PCI ECAM (bus 0, 1 MiB)    |
 *   0x4000_0000 +-----------------------------+ RAM (the DTB at its start
 *               |  guest RAM                  |  for bare-metal images)
 *               ~                             ~
 *  0x80_0000_0000 PCI MMIO window (64-bit), 512 GiB
 *
 * Interrupts: vm_set_irq() and irqfd GSIs number SPIs from 0 (INTID 32 + n),
 * as the device tree's `interrupts = <GIC_SPI n ...>` does. The architected
 * timer uses PPIs (INTID 16 + n).
 */
#ifndef DEVICES_ABI_ARM64_VIRT_H
#define DEVICES_ABI_ARM64_VIRT_H

/* GIC */
#define ABI_GIC_DIST_BASE	0x08000000ull
#define ABI_GIC_DIST_SIZE	0x10000ull
#define ABI_GIC_CPU_BASE	0x08010000ull /* GICv2 only */
#define ABI_GIC_CPU_SIZE	0x10000ull
#define ABI_GIC_ITS_BASE	0x08080000ull /* GICv3 ITS */
#define ABI_GIC_ITS_SIZE	0x20000ull
#define ABI_GIC_REDIST_BASE	0x080a0000ull
#define ABI_GIC_REDIST_SIZE	0x00f60000ull
#define ABI_GIC_REDIST_STRIDE	0x20000ull /* RD_base + SGI_base frames */
#define ABI_GIC_REDIST_MAX_CPUS 123u
#define ABI_GIC_SPI_BASE	32u  /* INTID of SPI 0 */
#define ABI_GIC_NR_SPIS		256u /* SPIs the VMM configures */

/* Architected timer PPIs (INTID = 16 + PPI), as QEMU virt and Linux use */
#define ABI_TIMER_PPI_SEC_PHYS 13u /* INTID 29 */
#define ABI_TIMER_PPI_PHYS     14u /* INTID 30: EL1 physical timer */
#define ABI_TIMER_PPI_VIRT     11u /* INTID 27: EL1 virtual timer */
#define ABI_TIMER_PPI_HYP      10u /* INTID 26 */

/* UARTs and RTC */
#define ABI_PL011_BASE 0x09000000ull
#define ABI_PL011_SIZE 0x1000ull
#define ABI_PL011_IRQ  1u /* SPI */
#define ABI_PL031_BASE 0x09010000ull
#define ABI_PL031_SIZE 0x1000ull
#define ABI_PL031_IRQ  2u /* SPI */

/* virtio-mmio: slot n at ABI_VIRTIO_MMIO_BASE + n * ABI_VIRTIO_MMIO_SLOT_SIZE,
 * SPI ABI_VIRTIO_MMIO_IRQ0 + n (edge, active high) */
#define ABI_VIRTIO_MMIO_BASE	  0x0a000000ull
#define ABI_VIRTIO_MMIO_SLOT_SIZE 0x200u
#define ABI_VIRTIO_MMIO_SLOTS	  32u
#define ABI_VIRTIO_MMIO_IRQ0	  16u
#define ABI_VIRTIO_MMIO_IRQS                                                \
	{                                                                   \
		16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, \
			31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, \
			44, 45, 46, 47                                      \
	}
#define ABI_VIRTIO_MMIO_NR_IRQS 32

/* PCI host bridge (generic ECAM, "pci-host-ecam-generic"). MSIs go through
 * the GICv3 ITS; there are no INTx lines (QEMU's SPIs 3-6 stay unused). */
#define ABI_PCI_MMIO32_BASE 0x10000000ull
#define ABI_PCI_MMIO32_SIZE 0x2eff0000ull
#define ABI_PCI_IO_BASE	    0x3eff0000ull /* not offered: size 0 */
#define ABI_PCI_ECAM_BASE   0x3f000000ull
#define ABI_PCI_ECAM_SIZE   0x100000ull	    /* bus 0 only */
#define ABI_PCI_MMIO64_BASE 0x8000000000ull /* 512 GiB */
#define ABI_PCI_MMIO64_SIZE 0x8000000000ull

/* RAM */
#define ABI_RAM_BASE 0x40000000ull
/* Linux arm64 Image: loaded at RAM base + 2 MiB-aligned offset + text_offset;
 * the DTB goes at the start of RAM (where QEMU's bare-metal boot puts it) */
#define ABI_DTB_MAX_SIZE 0x200000ull /* 2 MiB, the Linux limit */

/* PSCI 0.2+ function IDs (SMCCC, HVC conduit), ARM DEN 0022 */
#define ABI_PSCI_VERSION      0x84000000u
#define ABI_PSCI_CPU_OFF      0x84000002u
#define ABI_PSCI_CPU_ON_64    0xc4000003u
#define ABI_PSCI_SYSTEM_OFF   0x84000008u
#define ABI_PSCI_SYSTEM_RESET 0x84000009u

#endif
