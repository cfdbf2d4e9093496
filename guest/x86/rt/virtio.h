/* SPDX-License-Identifier: MIT */
/*
 * Guest-side virtio 1.x (modern only) for the x86 runtime: device discovery
 * on two transports, device initialisation (3.1), split virtqueues (2.7)
 * and interrupts. Written from the virtio 1.2 specification.
 *
 * Transports:
 *   mmio  virtio-mmio version 2 (4.2): a device is a 4 KiB register window;
 *         the VMM puts them at ABI_VIRTIO_MMIO_BASE + n * 0x1000. Its
 *         interrupt is an edge-triggered ISA-style IOAPIC pin (d->irq, set
 *         by the caller: virtio_net.c uses the VMM's default for the slot
 *         or the command line); without one the driver polls.
 *   pci   virtio over PCI, modern devices (4.1, vendor 0x1af4, device
 *         0x1040 + type) on bus 0, found through configuration mechanism #1
 *         (ports 0xcf8/0xcfc). The BARs are the ones the VMM assigned (the
 *         driver only turns on memory decoding and bus mastering); a BAR
 *         above 4 GiB is mapped on demand (rt_virtio_map()). Interrupts:
 *         MSI-X when the device has it (one vector for every queue), else
 *         polling.
 *
 * Trust: this is a test driver for our own VMM, but what the device reports
 * is still checked: queue sizes, capability offsets and lengths, BAR
 * addresses, used-ring ids and lengths. A device that misbehaves gets a
 * printed reason, not a wild access.
 *
 * Memory: the driver has no allocator; every queue is a struct rt_virtq the
 * caller owns (static), buffers are the caller's. Addresses are physical =
 * virtual (the runtime's identity map).
 *
 * Concurrency: one CPU, no locks. The interrupt handler only reads and
 * acknowledges the interrupt status and sets a flag; rings are processed
 * in the program's loop (rt_virtio_wait()).
 */
#ifndef GUEST_RT_VIRTIO_H
#define GUEST_RT_VIRTIO_H

#include "rt.h"
#include "devices/abi/virtio.h"

/* Queue size this driver allocates for (rings are embedded in rt_virtq) */
#define RT_VIRTQ_MAX 128

/* MSI-X interrupt vector used by virtio-pci devices (free in the runtime's
 * IDT: 0x20-0x2f ISA IRQs, 0x30 timer) */
#define RT_VIRTIO_MSIX_VECTOR 0x31

/* One split virtqueue with its rings (desc 16-byte aligned, avail 2, used
 * 4; the whole thing is page aligned) and the driver's bookkeeping. */
struct rt_virtq {
	struct virtq_desc desc[RT_VIRTQ_MAX] __attribute__((aligned(4096)));
	struct {
		uint16_t flags;
		volatile uint16_t idx;
		uint16_t ring[RT_VIRTQ_MAX];
		uint16_t used_event;
	} avail __attribute__((aligned(16)));
	struct {
		volatile uint16_t flags;
		volatile uint16_t idx;
		struct virtq_used_elem ring[RT_VIRTQ_MAX];
		uint16_t avail_event;
	} used __attribute__((aligned(16)));

	uint16_t index;	    /* queue number on the device */
	uint16_t size;	    /* negotiated, power of two <= RT_VIRTQ_MAX */
	uint16_t free_head; /* free descriptor list */
	uint16_t nfree;
	uint16_t avail_idx;	   /* shadow of avail.idx (next slot to fill) */
	uint16_t last_used;	   /* next used slot to read */
	uint16_t published;	   /* avail_idx at the last kick */
	uint64_t notify;	   /* pci: notification address */
	void *token[RT_VIRTQ_MAX]; /* per chain head, given back by get */
	uint16_t chain_len[RT_VIRTQ_MAX];
};

enum rt_virtio_transport {
	RT_VIRTIO_MMIO,
	RT_VIRTIO_PCI,
};

struct rt_virtio_dev {
	enum rt_virtio_transport transport;
	uint32_t device_id; /* virtio device type */
	char name[32];	    /* "mmio@0xd0000000", "pci 00:03.0" */
	uint64_t features;  /* negotiated */

	/* mmio: the register window */
	uint64_t base;

	/* pci: location and the structures the capabilities point at */
	uint8_t bus, dev, fn;
	uint64_t common, isr, devcfg, notify_base;
	uint32_t notify_mult, notify_len, devcfg_len;
	uint64_t msix_table; /* 0: no MSI-X */
	unsigned msix_entries;
	uint8_t msix_cap;

	/* Interrupts: irq is the IOAPIC pin (mmio; 0 = none), msix true when
	 * MSI-X vector RT_VIRTIO_MSIX_VECTOR is set up; neither: polling. */
	unsigned irq;
	bool msix;
	volatile bool pending; /* set by the interrupt handler */
	unsigned interrupts;   /* handler runs */
};

/* A buffer of a descriptor chain: device-readable (write = false) ones
 * must come before device-writable ones. */
struct rt_virtq_buf {
	const void *addr;
	uint32_t len;
	bool write;
};

/* ---- discovery ----
 * Each returns 0 and fills *d (reset, not yet initialised), or -1 with a
 * reason in why[len]. */
/* The virtio-mmio device at `base`, which must be version 2 (modern) and
 * not the placeholder device ID 0. `device_id` 0 accepts any type. */
int rt_virtio_mmio_probe(struct rt_virtio_dev *d, uint64_t base,
			 uint32_t device_id, char *why, size_t len);
/* The first slot of `nslots` at ABI_VIRTIO_MMIO_BASE (4 KiB apart) holding
 * a device of type device_id. Every slot read is a 32-bit load of the magic
 * value; an empty slot costs the VMM one unhandled access. */
int rt_virtio_mmio_find(struct rt_virtio_dev *d, uint32_t device_id,
			unsigned nslots, char *why, size_t len);
/* The first modern virtio-pci function of type device_id on bus 0 (device
 * `slot` only if slot >= 0). Reads its capabilities, maps its BARs, enables
 * memory decoding and bus mastering, and sets up MSI-X if present. */
int rt_virtio_pci_find(struct rt_virtio_dev *d, uint32_t device_id, int slot,
		       char *why, size_t len);

/* Make [addr, addr + len) accessible: below 4 GiB the runtime's map already
 * covers it (3-4 GiB uncached); above, up to 512 GiB, each 1 GiB region
 * touched gets a page directory of 2 MiB uncached pages (4 regions at
 * most). 0 or -1. */
int rt_virtio_map(uint64_t addr, uint64_t len);

/* ---- initialisation (3.1.1) ----
 * Reset, ACKNOWLEDGE, DRIVER, read the device features, accept
 * (offered & wanted) | VERSION_1, FEATURES_OK and check it stuck. Fails if
 * the device does not offer VERSION_1 or a feature in `required` (which
 * must be a subset of `wanted`); then status FAILED is set. */
int rt_virtio_init(struct rt_virtio_dev *d, uint64_t wanted, uint64_t required,
		   char *why, size_t len);
/* Set up queue `index` with up to `max_size` entries (clamped to the
 * device's maximum and RT_VIRTQ_MAX, rounded down to a power of two) and
 * enable it. Call between rt_virtio_init() and rt_virtio_ready(). */
int rt_virtio_queue(struct rt_virtio_dev *d, struct rt_virtq *vq,
		    unsigned index, unsigned max_size, char *why, size_t len);
/* Route the interrupt (IOAPIC pin d->irq, or MSI-X), then DRIVER_OK. */
int rt_virtio_ready(struct rt_virtio_dev *d, char *why, size_t len);
/* Device status register; its DEVICE_NEEDS_RESET bit means the device gave
 * up (print and stop). */
uint8_t rt_virtio_status(struct rt_virtio_dev *d);
bool rt_virtio_needs_reset(struct rt_virtio_dev *d);
/* Write 0 to the status: the device stops using every queue. */
void rt_virtio_reset(struct rt_virtio_dev *d);
/* Read device config space: `size` bytes (1, 2 or 4 per access) at `off`,
 * retried until the config generation is stable (at most 16 times). */
int rt_virtio_config(struct rt_virtio_dev *d, unsigned off, void *buf,
		     unsigned size);
/* Is feature bit `bit` negotiated? */
static inline bool rt_virtio_has(const struct rt_virtio_dev *d, unsigned bit)
{
	return (d->features >> bit) & 1;
}

/* ---- virtqueues ---- */
/* Add a chain of n buffers (device-readable ones first) with `token` (not
 * NULL) to hand back from rt_virtq_get(). Not visible to the device until
 * rt_virtq_kick(). 0, or -1 if there are not enough free descriptors. */
int rt_virtq_add(struct rt_virtq *vq, const struct rt_virtq_buf *bufs,
		 unsigned n, void *token);
/* Publish the added chains and notify the device unless it asked not to. */
void rt_virtq_kick(struct rt_virtio_dev *d, struct rt_virtq *vq);
/* The next used chain: its token and *len (bytes the device wrote; the
 * caller checks it against the buffer), or NULL if none. A used element
 * whose id is not an outstanding chain head is reported on the console and
 * skipped. */
void *rt_virtq_get(struct rt_virtq *vq, uint32_t *len);
static inline unsigned rt_virtq_free(const struct rt_virtq *vq)
{
	return vq->nfree;
}

/* ---- waiting ----
 * HLT until the device interrupts (d->pending), the periodic timer ticks
 * (the runtime's timer must run in polling mode), or something else
 * interrupts; then clears d->pending. Returns with interrupts enabled. For
 * the mmio transport the handler reads and acknowledges InterruptStatus
 * before the program looks at the rings, so no completion is lost. */
void rt_virtio_wait(struct rt_virtio_dev *d);
/* "irq 5", "msi-x vector 0x31" or "polling" */
const char *rt_virtio_irq_mode(const struct rt_virtio_dev *d, char *buf,
			       size_t len);

#endif
