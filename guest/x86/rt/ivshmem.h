/* SPDX-License-Identifier: MIT */
/*
 * Guest-side ivshmem for the x86 runtime: the PCI device of QEMU's
 * docs/specs/ivshmem-spec.txt (revision 1; the register layout is in
 * devices/abi/ivshmem.h) and an echo service on the message queue of
 * devices/abi/ivshmem_queue.h.
 *
 * Discovery: functions 1af4:1110 on PCI bus 0, configuration mechanism #1
 * (ports 0xcf8/0xcfc; only call this when the platform has PCI: reading
 * those ports on a VM without a PCI host is an unhandled access). BAR0 are
 * the registers, BAR2 the shared memory: both are used where the VMM (or
 * the firmware) put them; BAR2 is sized by the usual write-ones probe with
 * memory decoding off. A BAR above 4 GiB (our VMM puts BAR2 in the 64-bit
 * window at 64 GiB) is mapped on demand with rt_virtio_map(); every 2 MiB
 * page that lies wholly inside BAR2 is then switched to write-back (the
 * shared memory is RAM on the host side), the rest stays uncached.
 *
 * Interrupts: a device with an MSI-X capability (doorbell mode) gets up to
 * RT_IVSHMEM_MAX_VECTORS table entries, vector v of device slot k (the
 * `nth` given to rt_ivshmem_find()) on IDT vector RT_IVSHMEM_VEC_BASE +
 * k * RT_IVSHMEM_MAX_VECTORS + v, fixed delivery to this CPU. The handler
 * counts the ring, sets bit v in d->pending and calls the vector's
 * callback, if any (interrupt context). A device without MSI-X (plain
 * mode) is polled: its doorbells do nothing.
 *
 * Concurrency: one CPU. d->pending is updated atomically (the handler may
 * run at any time interrupts are on); everything else belongs to the
 * program's main loop.
 */
#ifndef GUEST_RT_IVSHMEM_H
#define GUEST_RT_IVSHMEM_H

#include "rt.h"
#include "devices/abi/ivshmem.h"
#include "devices/abi/ivshmem_queue.h"

#define RT_IVSHMEM_MAX_DEVS    4
#define RT_IVSHMEM_MAX_VECTORS 2
/* IDT vectors 0x34-0x3b (0x31 is virtio's, 0x30 the timer) */
#define RT_IVSHMEM_VEC_BASE 0x34

typedef void (*rt_ivshmem_fn)(void *arg);

struct rt_ivshmem {
	char name[24]; /* "pci 00:03.0" */
	uint8_t bus, dev, fn;
	unsigned slot; /* 0..RT_IVSHMEM_MAX_DEVS-1: the nth device */
	uint8_t revision;
	uint64_t regs;	   /* BAR0 */
	uint64_t shm;	   /* BAR2 address (identity mapped) */
	uint64_t shm_size; /* BAR2 size */
	uint64_t shm_wb;   /* bytes of BAR2 mapped write-back */

	/* MSI-X (doorbell mode); msix false: polling */
	bool msix;
	uint8_t msix_cap;
	uint64_t msix_table;
	unsigned table_size; /* entries the device has */
	unsigned nvectors;   /* entries set up: min(table_size, MAX) */

	volatile uint32_t pending; /* bit v: vector v rang */
	volatile uint32_t count[RT_IVSHMEM_MAX_VECTORS];
	rt_ivshmem_fn cb[RT_IVSHMEM_MAX_VECTORS];
	void *cb_arg[RT_IVSHMEM_MAX_VECTORS];
};

/* How many ivshmem functions bus 0 has. */
unsigned rt_ivshmem_count(void);
/* Set up the nth (0-based, < RT_IVSHMEM_MAX_DEVS) ivshmem function of bus
 * 0: memory decoding and bus mastering on, INTx off, BARs found and BAR2
 * mapped, MSI-X programmed and enabled if the device has it. Returns 0, or
 * -1 with the reason in why[len]. */
int rt_ivshmem_find(struct rt_ivshmem *d, unsigned nth, char *why, size_t len);
/* IVPosition: this VM's peer ID (doorbell mode; 0 in plain mode, and -1
 * on revision-0 devices that are not connected yet). Reads the register
 * (a VM exit). */
int32_t rt_ivshmem_id(const struct rt_ivshmem *d);
/* Ring vector `vector` of peer `peer` (one Doorbell write; the device
 * ignores it in plain mode or for unknown peers). */
void rt_ivshmem_ring(const struct rt_ivshmem *d, uint16_t peer,
		     uint16_t vector);
/* Take and clear the pending bits (atomically). */
uint32_t rt_ivshmem_take(struct rt_ivshmem *d);
/* Call fn(arg) in interrupt context whenever vector v rings (NULL: none). */
void rt_ivshmem_on_vector(struct rt_ivshmem *d, unsigned v, rt_ivshmem_fn fn,
			  void *arg);
/* "msi-x vectors 0x34-0x35" or "polling" */
const char *rt_ivshmem_irq_mode(const struct rt_ivshmem *d, char *buf,
				size_t len);

/* ---- echo service on the message queue ----
 * Side B of the queue at `offset` in BAR2: attaches when side A has
 * initialised it (and again after every new generation), answers every
 * record with the same payload and tag = sequence number (1, 2, ... from
 * each attach), rings side A when it asked for a doorbell, and, on vector
 * RT_IVSHMEM_PONG_VECTOR, rings peer[A] back on the same vector from the
 * interrupt handler (doorbell round trips). A message "quit" is echoed,
 * then reported (RT_IVQ_ECHO_QUIT). */
#define RT_IVSHMEM_QUEUE_VECTOR 0
#define RT_IVSHMEM_PONG_VECTOR	1
#define RT_IVQ_ECHO_BUF		4096 /* longer messages are dropped */

struct rt_ivq_echo {
	struct rt_ivshmem *dev;
	unsigned index;	  /* for messages: "ivshmem<index>" */
	uint64_t offset;  /* queue base in BAR2 */
	unsigned log_max; /* print the first log_max messages per attach */
	struct ivq q;
	bool attached;
	bool broken; /* reported; waiting for a new generation */
	uint32_t broken_gen;
	int32_t id;	  /* our peer ID as last read */
	uint64_t id_tick; /* rt_ticks() when it was read */
	uint32_t seq;	  /* echoes sent since the last attach */
	uint64_t echoed;  /* since start */
	uint64_t dropped; /* too long for RT_IVQ_ECHO_BUF */
	uint64_t rings;	  /* doorbells rung for the queue */
	volatile uint64_t pongs;
	uint8_t buf[RT_IVQ_ECHO_BUF];
};

#define RT_IVQ_ECHO_QUIT 0x1u /* a "quit" message was echoed */

/* Start the service on d (pong handler installed). */
void rt_ivq_echo_init(struct rt_ivq_echo *e, struct rt_ivshmem *d,
		      unsigned index, uint64_t offset, unsigned log_max);
/* Do all the work there is now: notice a new peer ID (checked once per
 * timer tick; re-attach so the header has it), attach / re-attach, echo every queued message that fits
 * the reply ring. Returns RT_IVQ_ECHO_* flags. */
unsigned rt_ivq_echo_poll(struct rt_ivq_echo *e);
/* Before sleeping (interrupts off): ask side A for a doorbell. True if
 * there is work already (do not sleep). */
bool rt_ivq_echo_arm(struct rt_ivq_echo *e);
/* Whether the service would like to be polled at every tick even with a
 * doorbell (not attached yet, plain mode). */
bool rt_ivq_echo_needs_tick(const struct rt_ivq_echo *e);
/* The queue as this side sees it, for diagnostics. */
void rt_ivq_echo_describe(struct rt_ivq_echo *e, char *buf, size_t len);

#endif
