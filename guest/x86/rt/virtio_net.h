/* SPDX-License-Identifier: MIT */
/*
 * Guest virtio-net driver (virtio 1.2, 5.1) on top of virtio.h: one receive
 * and one transmit queue, no offloads (the driver computes every checksum
 * and never sends GSO packets), MAC from the device configuration
 * (VIRTIO_NET_F_MAC), link status (VIRTIO_NET_F_STATUS), mergeable receive
 * buffers (VIRTIO_NET_F_MRG_RXBUF) when the device offers them.
 *
 * Buffers are static in virtio_net.c: one NIC per program.
 *
 * Receive buffers are 2 KiB each, the 12-byte header included, so a frame
 * of up to 1514 bytes (no FCS) always fits in one; with MRG_RXBUF the
 * driver still honours num_buffers > 1 (the frame is gathered from the
 * following used buffers).
 */
#ifndef GUEST_RT_VIRTIO_NET_H
#define GUEST_RT_VIRTIO_NET_H

#include "virtio.h"

#define RT_VNET_FRAME_MAX 1514 /* Ethernet header + 1500 bytes, no FCS */

/* Where to look for the device. */
struct rt_vnet_opts {
	enum {
		RT_VNET_AUTO, /* PCI bus 0, then the virtio-mmio slots */
		RT_VNET_MMIO,
		RT_VNET_PCI,
	} transport;
	uint64_t mmio_addr; /* 0: scan the slots */
	int mmio_irq;	    /* -1: the default for the slot; 0: poll */
	int pci_slot;	    /* -1: any */
	bool poll;	    /* never use interrupts */
	bool no_mrg_rxbuf;  /* don't negotiate VIRTIO_NET_F_MRG_RXBUF */
};

struct rt_vnet {
	struct rt_virtio_dev dev;
	struct rt_virtq rx, tx;
	uint8_t mac[6];
	bool mac_from_device;
	uint16_t link; /* config status (VIRTIO_NET_S_*), if negotiated */
	unsigned rx_bufs, tx_bufs; /* posted receive buffers, tx buffers */
	unsigned tx_free;	   /* tx buffers not in flight */
	uint64_t rx_packets, rx_bytes, rx_dropped;
	uint64_t tx_packets, tx_bytes, tx_dropped;
};

/*
 * Parse a `net=` command-line value: "auto" (or empty), "mmio",
 * "mmio:ADDR", "mmio:ADDR:IRQ" (IRQ 0 = poll), "pci", "pci:SLOT"; numbers
 * decimal or 0x hex. 0, or -1 for anything else.
 */
int rt_vnet_parse(const char *s, size_t len, struct rt_vnet_opts *o);

/*
 * Find the device, negotiate features, set up both queues, fill the
 * receive queue and set DRIVER_OK. The mmio default IRQ of slot n is the
 * VMM's default for that slot (5, 6, 7, 10, 11, 12, 14, 15 for slots 0-7;
 * later slots are polled unless an IRQ is given). 0, or -1 with why.
 */
int rt_vnet_open(struct rt_vnet *n, const struct rt_vnet_opts *o, char *why,
		 size_t len);

/*
 * Copy the next received frame (without the virtio header) into buf:
 * returns its length, 0 if nothing was received, -1 if a frame was dropped
 * (malformed, or larger than size; counted in rx_dropped; call again).
 * Returns the buffers to the device.
 */
int rt_vnet_recv(struct rt_vnet *n, void *buf, size_t size);

/*
 * Queue one frame (at most RT_VNET_FRAME_MAX bytes) for transmission and
 * notify the device. 0, or -1 if every transmit buffer is in flight (the
 * frame is dropped and counted) or the frame is too long.
 */
int rt_vnet_send(struct rt_vnet *n, const void *frame, size_t len);

/* Reclaim completed transmissions; returns how many are still in flight. */
unsigned rt_vnet_tx_pending(struct rt_vnet *n);

/* Reread the link status (VIRTIO_NET_F_STATUS), true if up or unknown. */
bool rt_vnet_link_up(struct rt_vnet *n);

/* Reset the device: it stops using the buffers. */
void rt_vnet_close(struct rt_vnet *n);

#endif
