/* SPDX-License-Identifier: MIT */
/*
 * PCI configuration space layout (PCI Local Bus 3.0, PCI Express Base 4.0
 * chapter 7) as the VMM's PCI host and the guests in guest/ use it.
 * Fixed-width types only; included by freestanding guest code.
 */
#ifndef DEVICES_ABI_PCI_H
#define DEVICES_ABI_PCI_H

#define PCI_CFG_SIZE 256u /* conventional config space per function */
#define PCI_SLOTS    32u  /* device numbers on a bus */

/* Type 0 header */
#define PCI_VENDOR_ID	     0x00 /* 16 bits */
#define PCI_DEVICE_ID	     0x02 /* 16 bits */
#define PCI_COMMAND	     0x04 /* 16 bits */
#define PCI_STATUS	     0x06 /* 16 bits */
#define PCI_REVISION_ID	     0x08
#define PCI_CLASS_PROG	     0x09
#define PCI_CLASS_DEVICE     0x0a /* 16 bits: base class << 8 | subclass */
#define PCI_HEADER_TYPE	     0x0e
#define PCI_BAR0	     0x10 /* six dwords, 0x10-0x27 */
#define PCI_SUBSYS_VENDOR_ID 0x2c
#define PCI_SUBSYS_ID	     0x2e
#define PCI_ROM_ADDRESS	     0x30
#define PCI_CAP_PTR	     0x34
#define PCI_INTERRUPT_LINE   0x3c
#define PCI_INTERRUPT_PIN    0x3d
#define PCI_CAP_START	     0x40 /* first byte after the header */
#define PCI_NUM_BARS	     6

#define PCI_COMMAND_IO		  (1u << 0)
#define PCI_COMMAND_MEMORY	  (1u << 1)
#define PCI_COMMAND_MASTER	  (1u << 2)
#define PCI_COMMAND_INTX_DISABLE  (1u << 10)
#define PCI_STATUS_INTERRUPT	  (1u << 3)
#define PCI_STATUS_CAP_LIST	  (1u << 4)
#define PCI_HEADER_TYPE_NORMAL	  0x00
#define PCI_HEADER_MULTI_FUNCTION 0x80

/* BAR low bits */
#define PCI_BAR_SPACE_IO     0x1u
#define PCI_BAR_MEM_TYPE_64  0x4u
#define PCI_BAR_MEM_PREFETCH 0x8u
#define PCI_BAR_IO_MASK	     0xfffffffcu
#define PCI_BAR_MEM_MASK     0xfffffff0u

/* Capability IDs */
#define PCI_CAP_ID_MSI	0x05
#define PCI_CAP_ID_VNDR 0x09 /* vendor specific (virtio-pci uses it) */
#define PCI_CAP_ID_MSIX 0x11

/* MSI-X capability (12 bytes) */
#define PCI_MSIX_FLAGS		 2	 /* 16 bits: message control */
#define PCI_MSIX_FLAGS_QSIZE	 0x07ffu /* table size - 1 */
#define PCI_MSIX_FLAGS_MASKALL	 (1u << 14)
#define PCI_MSIX_FLAGS_ENABLE	 (1u << 15)
#define PCI_MSIX_TABLE		 4 /* 32 bits: offset | BIR */
#define PCI_MSIX_PBA		 8 /* 32 bits: offset | BIR */
#define PCI_MSIX_BIR_MASK	 0x7u
#define PCI_MSIX_CAP_SIZE	 12
#define PCI_MSIX_MAX_VECTORS	 2048u
#define PCI_MSIX_ENTRY_SIZE	 16
#define PCI_MSIX_ENTRY_ADDR_LO	 0
#define PCI_MSIX_ENTRY_ADDR_HI	 4
#define PCI_MSIX_ENTRY_DATA	 8
#define PCI_MSIX_ENTRY_CTRL	 12
#define PCI_MSIX_ENTRY_CTRL_MASK 0x1u

/* Class codes (base << 16 | sub << 8 | prog-if) */
#define PCI_CLASS_BRIDGE_HOST 0x060000u

/* The host bridge at 00:00.0. We have no PCI-SIG vendor ID: this is the ID
 * of QEMU's generic PCIe host bridge, which OSes know as a virtual bridge
 * with no chipset quirks. */
#define PCI_HOST_VENDOR_ID 0x1b36u
#define PCI_HOST_DEVICE_ID 0x0008u

/* ECAM: 4 KiB per function, 1 MiB per bus; function (bus, dev, fn) at
 * base + (bus << 20 | dev << 15 | fn << 12) */
#define PCI_ECAM_BUS_SIZE 0x100000u
#define PCI_ECAM_OFFSET(bus, dev, fn) \
	(((bus) << 20) | ((dev) << 15) | ((fn) << 12))

/* Type-1 CONFIG_ADDRESS: enable, bus, device, function, register */
#define PCI_CONFIG_ENABLE (1u << 31)
#define PCI_CONFIG_ADDR(bus, dev, fn, reg)                                 \
	(PCI_CONFIG_ENABLE | ((bus) << 16) | ((dev) << 11) | ((fn) << 8) | \
	 ((reg)&0xfc))

#endif
