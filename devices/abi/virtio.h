/* SPDX-License-Identifier: MIT */
/*
 * Guest-visible ABI of the virtio devices (virtio 1.2): the constants and
 * structures both the VMM (virtio/) and the guests (guest/) use. Fixed-width
 * types only; included by freestanding guest code, so only <stdint.h>.
 *
 * Names follow the specification. The few that also appear in the Linux
 * uapi headers (VIRTIO_F_*) have the same values there, so a file may
 * include both.
 *
 * Sections: device status, common feature bits, device IDs, split-ring
 * layout, virtio-mmio v2 registers (4.2.2), virtio-pci modern capabilities
 * (4.1.4), virtio-net (5.1), virtio-console (5.3).
 */
#ifndef DEVICES_ABI_VIRTIO_H
#define DEVICES_ABI_VIRTIO_H

#include <stdint.h>

/* ---- Device status field (2.1) ---- */
#define VIRTIO_STATUS_ACKNOWLEDGE	 1u
#define VIRTIO_STATUS_DRIVER		 2u
#define VIRTIO_STATUS_DRIVER_OK		 4u
#define VIRTIO_STATUS_FEATURES_OK	 8u
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64u
#define VIRTIO_STATUS_FAILED		 128u

/* ---- Reserved (device-independent) feature bits (6) ---- */
#ifndef VIRTIO_F_INDIRECT_DESC
#define VIRTIO_F_INDIRECT_DESC 28
#endif
#ifndef VIRTIO_F_EVENT_IDX
#define VIRTIO_F_EVENT_IDX 29
#endif
#ifndef VIRTIO_F_VERSION_1
#define VIRTIO_F_VERSION_1 32
#endif
#define VIRTIO_F_ACCESS_PLATFORM 33
#define VIRTIO_F_RING_PACKED	 34
#define VIRTIO_F_IN_ORDER	 35

/* ---- Device IDs (5) ---- */
#define VIRTIO_ID_NET	  1
#define VIRTIO_ID_BLOCK	  2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG	  4

/* Vendor ID the VMM reports in virtio-mmio VendorID ("VMM\0", LE). */
#define ABI_VIRTIO_VENDOR_ID 0x004d4d56u

/* ---- Split virtqueue layout (2.7) ---- */
#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4

#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY	   1

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[]; /* queue size entries, then used_event */
};

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};

struct virtq_used {
	uint16_t flags;
	uint16_t idx;
	struct virtq_used_elem
		ring[]; /* queue size entries, then avail_event */
};

/* Alignment the driver must respect (2.7, table 2.7.2) */
#define VIRTQ_DESC_ALIGN  16
#define VIRTQ_AVAIL_ALIGN 2
#define VIRTQ_USED_ALIGN  4

/* ---- virtio-mmio, version 2 (4.2.2): register offsets ---- */
#define VIRTIO_MMIO_MAGIC_VALUE		0x000 /* R  "virt" */
#define VIRTIO_MMIO_VERSION		0x004 /* R  2 */
#define VIRTIO_MMIO_DEVICE_ID		0x008 /* R */
#define VIRTIO_MMIO_VENDOR_ID		0x00c /* R */
#define VIRTIO_MMIO_DEVICE_FEATURES	0x010 /* R  32 bits at ..._SEL */
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014 /* W */
#define VIRTIO_MMIO_DRIVER_FEATURES	0x020 /* W */
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024 /* W */
#define VIRTIO_MMIO_QUEUE_SEL		0x030 /* W */
#define VIRTIO_MMIO_QUEUE_NUM_MAX	0x034 /* R  0: queue absent */
#define VIRTIO_MMIO_QUEUE_NUM		0x038 /* W */
#define VIRTIO_MMIO_QUEUE_READY		0x044 /* RW */
#define VIRTIO_MMIO_QUEUE_NOTIFY	0x050 /* W  queue index */
#define VIRTIO_MMIO_INTERRUPT_STATUS	0x060 /* R */
#define VIRTIO_MMIO_INTERRUPT_ACK	0x064 /* W */
#define VIRTIO_MMIO_STATUS		0x070 /* RW */
#define VIRTIO_MMIO_QUEUE_DESC_LOW	0x080 /* W */
#define VIRTIO_MMIO_QUEUE_DESC_HIGH	0x084 /* W */
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW	0x090 /* W  avail ring */
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH	0x094 /* W */
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW	0x0a0 /* W  used ring */
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH	0x0a4 /* W */
#define VIRTIO_MMIO_SHM_SEL		0x0ac /* W */
#define VIRTIO_MMIO_SHM_LEN_LOW		0x0b0 /* R  all-ones: no region */
#define VIRTIO_MMIO_SHM_LEN_HIGH	0x0b4 /* R */
#define VIRTIO_MMIO_SHM_BASE_LOW	0x0b8 /* R */
#define VIRTIO_MMIO_SHM_BASE_HIGH	0x0bc /* R */
#define VIRTIO_MMIO_QUEUE_RESET		0x0c0 /* RW (VIRTIO_F_RING_RESET) */
#define VIRTIO_MMIO_CONFIG_GENERATION	0x0fc /* R */
#define VIRTIO_MMIO_CONFIG		0x100 /* device-specific config */

#define VIRTIO_MMIO_MAGIC     0x74726976u /* "virt", little-endian */
#define VIRTIO_MMIO_VERSION_2 2u

/* InterruptStatus / InterruptACK bits (also the PCI ISR status) */
#define VIRTIO_INT_VRING  1u /* a used buffer notification */
#define VIRTIO_INT_CONFIG 2u /* a configuration change notification */

/* ACPI _HID of a virtio-mmio device (Linux: drivers/virtio/virtio_mmio.c) */
#define ABI_VIRTIO_MMIO_ACPI_HID "LNRO0005"

/* ---- virtio-pci, modern (4.1) ---- */
#define VIRTIO_PCI_VENDOR_ID	  0x1af4u
#define VIRTIO_PCI_DEVICE_ID_BASE 0x1040u /* + virtio device ID */
#define VIRTIO_PCI_REVISION	  1u	  /* modern-only device */
#define VIRTIO_PCI_SUBSYS_VENDOR  0x1af4u

/* Vendor-specific capability (cap_vndr 0x09) cfg_type values */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG	  3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG	  5

struct virtio_pci_cap {
	uint8_t cap_vndr; /* 0x09 */
	uint8_t cap_next;
	uint8_t cap_len;
	uint8_t cfg_type;
	uint8_t bar;
	uint8_t id;
	uint8_t padding[2];
	uint32_t offset; /* within the BAR */
	uint32_t length;
};

struct virtio_pci_notify_cap {
	struct virtio_pci_cap cap;
	uint32_t notify_off_multiplier;
};

/* struct virtio_pci_common_cfg: offsets of its fields */
#define VIRTIO_PCI_COMMON_DFSELECT	0x00 /* le32 RW */
#define VIRTIO_PCI_COMMON_DF		0x04 /* le32 R */
#define VIRTIO_PCI_COMMON_GFSELECT	0x08 /* le32 RW */
#define VIRTIO_PCI_COMMON_GF		0x0c /* le32 RW */
#define VIRTIO_PCI_COMMON_MSIX		0x10 /* le16 RW config vector */
#define VIRTIO_PCI_COMMON_NUMQ		0x12 /* le16 R */
#define VIRTIO_PCI_COMMON_STATUS	0x14 /* u8 RW */
#define VIRTIO_PCI_COMMON_CFGGENERATION 0x15 /* u8 R */
#define VIRTIO_PCI_COMMON_Q_SELECT	0x16 /* le16 RW */
#define VIRTIO_PCI_COMMON_Q_SIZE	0x18 /* le16 RW */
#define VIRTIO_PCI_COMMON_Q_MSIX	0x1a /* le16 RW */
#define VIRTIO_PCI_COMMON_Q_ENABLE	0x1c /* le16 RW */
#define VIRTIO_PCI_COMMON_Q_NOFF	0x1e /* le16 R */
#define VIRTIO_PCI_COMMON_Q_DESCLO	0x20 /* le32 RW */
#define VIRTIO_PCI_COMMON_Q_DESCHI	0x24
#define VIRTIO_PCI_COMMON_Q_AVAILLO	0x28
#define VIRTIO_PCI_COMMON_Q_AVAILHI	0x2c
#define VIRTIO_PCI_COMMON_Q_USEDLO	0x30
#define VIRTIO_PCI_COMMON_Q_USEDHI	0x34
#define VIRTIO_PCI_COMMON_Q_NDATA	0x38 /* le16 R */
#define VIRTIO_PCI_COMMON_Q_RESET	0x3a /* le16 RW */
#define VIRTIO_PCI_COMMON_CFG_SIZE	0x3c

#define VIRTIO_MSI_NO_VECTOR 0xffffu

/* ---- virtio-net (5.1) ---- */
#define VIRTIO_NET_F_CSUM		 0 /* device handles partial csum */
#define VIRTIO_NET_F_GUEST_CSUM		 1 /* driver handles partial csum */
#define VIRTIO_NET_F_CTRL_GUEST_OFFLOADS 2
#define VIRTIO_NET_F_MTU		 3
#define VIRTIO_NET_F_MAC		 5
#define VIRTIO_NET_F_GUEST_TSO4		 7
#define VIRTIO_NET_F_GUEST_TSO6		 8
#define VIRTIO_NET_F_GUEST_ECN		 9
#define VIRTIO_NET_F_GUEST_UFO		 10
#define VIRTIO_NET_F_HOST_TSO4		 11
#define VIRTIO_NET_F_HOST_TSO6		 12
#define VIRTIO_NET_F_HOST_ECN		 13
#define VIRTIO_NET_F_HOST_UFO		 14
#define VIRTIO_NET_F_MRG_RXBUF		 15
#define VIRTIO_NET_F_STATUS		 16
#define VIRTIO_NET_F_CTRL_VQ		 17
#define VIRTIO_NET_F_CTRL_RX		 18
#define VIRTIO_NET_F_CTRL_VLAN		 19
#define VIRTIO_NET_F_GUEST_ANNOUNCE	 21
#define VIRTIO_NET_F_MQ			 22
#define VIRTIO_NET_F_CTRL_MAC_ADDR	 23

#define VIRTIO_NET_S_LINK_UP  1u
#define VIRTIO_NET_S_ANNOUNCE 2u

/* Device configuration layout (fields valid per the feature noted) */
struct virtio_net_config {
	uint8_t mac[6];		      /* VIRTIO_NET_F_MAC */
	uint16_t status;	      /* VIRTIO_NET_F_STATUS */
	uint16_t max_virtqueue_pairs; /* VIRTIO_NET_F_MQ */
	uint16_t mtu;		      /* VIRTIO_NET_F_MTU */
} __attribute__((packed));

#define VIRTIO_NET_CONFIG_MAC	    0
#define VIRTIO_NET_CONFIG_STATUS    6
#define VIRTIO_NET_CONFIG_MAX_PAIRS 8
#define VIRTIO_NET_CONFIG_MTU	    10
#define VIRTIO_NET_CONFIG_SIZE	    12

/* Header in front of every packet, both directions. With VERSION_1 it is
 * always this 12-byte form (num_buffers present even without MRG_RXBUF,
 * where the device writes 1). */
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1u
#define VIRTIO_NET_HDR_F_DATA_VALID 2u

#define VIRTIO_NET_HDR_GSO_NONE	 0u
#define VIRTIO_NET_HDR_GSO_TCPV4 1u
#define VIRTIO_NET_HDR_GSO_UDP	 3u
#define VIRTIO_NET_HDR_GSO_TCPV6 4u
#define VIRTIO_NET_HDR_GSO_ECN	 0x80u

struct virtio_net_hdr_v1 {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
};

/* Queues: receiveq N = 2N, transmitq N = 2N + 1, controlq = 2 * pairs
 * (only with VIRTIO_NET_F_CTRL_VQ). */
#define VIRTIO_NET_RXQ(pair) (2u * (pair))
#define VIRTIO_NET_TXQ(pair) (2u * (pair) + 1u)

/* Control virtqueue: struct { u8 class; u8 command; } data...; u8 ack */
#define VIRTIO_NET_OK  0
#define VIRTIO_NET_ERR 1

#define VIRTIO_NET_CTRL_MQ		4
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET 0 /* le16 virtqueue_pairs */
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN 1
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX 0x8000

/* ---- virtio-console (5.3) ---- */
#define VIRTIO_CONSOLE_F_SIZE	     0
#define VIRTIO_CONSOLE_F_MULTIPORT   1
#define VIRTIO_CONSOLE_F_EMERG_WRITE 2

struct virtio_console_config {
	uint16_t cols;
	uint16_t rows;
	uint32_t max_nr_ports;
	uint32_t emerg_wr;
} __attribute__((packed));

#ifdef __cplusplus
#define VIRTIO_ABI_ASSERT(c, m) static_assert(c, m)
#else
#define VIRTIO_ABI_ASSERT(c, m) _Static_assert(c, m)
#endif
VIRTIO_ABI_ASSERT(sizeof(struct virtq_desc) == 16, "virtq_desc");
VIRTIO_ABI_ASSERT(sizeof(struct virtq_used_elem) == 8, "virtq_used_elem");
VIRTIO_ABI_ASSERT(sizeof(struct virtio_pci_cap) == 16, "virtio_pci_cap");
VIRTIO_ABI_ASSERT(sizeof(struct virtio_pci_notify_cap) == 20,
		  "virtio_pci_notify_cap");
VIRTIO_ABI_ASSERT(sizeof(struct virtio_net_config) == VIRTIO_NET_CONFIG_SIZE,
		  "virtio_net_config");
VIRTIO_ABI_ASSERT(sizeof(struct virtio_net_hdr_v1) == 12, "virtio_net_hdr_v1");
VIRTIO_ABI_ASSERT(sizeof(struct virtio_console_config) == 12,
		  "virtio_console_config");

#endif
