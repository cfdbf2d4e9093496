/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues (virtio 1.x, 2.7), device side, independent of the
 * transport and of KVM.
 *
 * Trust: everything in the rings is guest-controlled. Every descriptor
 * address and length goes through mem_ptr() (vmm/mem.h), every chain walk is
 * bounded by the queue size (and an indirect table by its own length), an
 * indirect table inside an indirect table, a loop, an index outside the
 * ring, a chain whose total length overflows 32 bits, or a readable
 * descriptor after a writable one make the queue *broken*: vq_pop() returns
 * -EIO, the queue stays broken until vq_reset(), and the device is expected
 * to set DEVICE_NEEDS_RESET (virtio_dev_needs_reset()) and report it.
 *
 * Concurrency: one thread at a time per queue (the device's own lock or its
 * single worker). The ring memory is shared with the guest: indices are read
 * once, with acquire/release ordering where the spec requires a barrier.
 */
#ifndef VIRTIO_VIRTQUEUE_H
#define VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm/mem.h"

#define VQ_MAX_SIZE 32768u /* spec maximum for split rings */

/* Feature bits the library understands (virtio 1.x, 6). */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1     32

struct virtq {
	const struct guest_mem *mem;

	/* Set by vq_configure() */
	uint16_t size; /* power of two, 1..VQ_MAX_SIZE (0: not set up) */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	struct vq_desc *desc; /* host pointers, checked once at configure */
	struct vq_avail *avail;
	struct vq_used *used;
	bool event_idx; /* VIRTIO_F_EVENT_IDX negotiated */
	bool indirect;	/* VIRTIO_F_INDIRECT_DESC negotiated */
	bool ready;

	/* Device-side state */
	uint16_t last_avail; /* next avail ring slot to consume */
	uint16_t used_idx;   /* next used ring slot to fill (shadow) */
	uint16_t signalled_used;
	bool signalled_used_valid;
	bool notify_off; /* vq_set_notify(vq, false) in effect */
	bool broken;
	char broken_why[96]; /* what was wrong, for the device's report */
};

/* One popped descriptor chain as host iovecs: the device-readable part
 * first (out[0..nout)), then the device-writable part (in[0..nin)). The
 * arrays belong to the caller; vq_pop() fails with -ENOBUFS (without
 * consuming the chain and without breaking the queue) if they are too
 * small for a valid chain, and then nout/nin say how many entries the chain
 * needs. Zero-length descriptors give no iovec; a buffer spanning adjacent
 * RAM regions gives one iovec per region. Every iovec is non-empty and lies
 * inside one region; the writable ones are never in read-only memory. */
struct vq_chain {
	uint16_t head; /* pass to vq_push() */
	struct iovec *out;
	unsigned nout, max_out;
	struct iovec *in;
	unsigned nin, max_in;
	uint32_t out_len, in_len; /* total bytes of each part */
};

/* Zero the queue and bind it to guest memory. */
void vq_init(struct virtq *vq, const struct guest_mem *mem);

/*
 * Make the queue live with the addresses the driver wrote. features: the
 * negotiated feature bits (for EVENT_IDX and INDIRECT_DESC). Checks that
 * size is a power of two <= VQ_MAX_SIZE, that the three areas are aligned
 * as the spec requires (16/2/4) and each lie entirely inside one RAM
 * region (the used ring in a writable one). Starts from the state after
 * vq_reset() (indices 0, not broken, notifications enabled).
 * 0 or -EINVAL (queue left not ready, reason in broken_why).
 */
int vq_configure(struct virtq *vq, uint16_t size, uint64_t desc_gpa,
		 uint64_t avail_gpa, uint64_t used_gpa, uint64_t features);

/* Back to the state after vq_init() (device reset, queue reset). */
void vq_reset(struct virtq *vq);

/* true if the driver has made chains available that we have not popped. */
bool vq_has_work(const struct virtq *vq);

/*
 * Take the next available chain. 1: *c filled; 0: nothing available (or the
 * queue is not ready); -ENOBUFS: c's arrays too small (chain not consumed);
 * -EIO: the ring is malformed, the queue is now broken.
 */
int vq_pop(struct virtq *vq, struct vq_chain *c);

/* Give back the last `n` chains popped and not pushed (e.g. no room to
 * receive): the next vq_pop() returns them again. n must not exceed them.
 * To be kicked when the driver adds more, call vq_set_notify(vq, true). */
void vq_unpop(struct virtq *vq, unsigned n);

/*
 * Return a chain to the driver with `len` bytes written into its writable
 * part (publishes the used element and the used index, release order).
 * Ignored if the queue is not ready or broken, or head >= size.
 */
void vq_push(struct virtq *vq, uint16_t head, uint32_t len);

/*
 * Return n chains at once: used elements for heads[i]/lens[i] in order,
 * then one release store of the used index, so the driver never sees part
 * of them (virtio-net mergeable receive buffers). Ignored entirely if the
 * queue is not ready or broken, n > size, or any head >= size.
 */
void vq_push_many(struct virtq *vq, const uint16_t *heads, const uint32_t *lens,
		  unsigned n);

/*
 * After one or more vq_push(): should the driver be interrupted? Honours
 * VIRTQ_AVAIL_F_NO_INTERRUPT, or used_event with EVENT_IDX. false if nothing
 * was pushed since the last call. Call it after each batch of pushes (it
 * records what was signalled).
 */
bool vq_should_notify(struct virtq *vq);

/*
 * Ask the driver not to (enable = false) or again to (true) notify us of
 * new buffers: VIRTQ_USED_F_NO_NOTIFY, or avail_event with EVENT_IDX. After
 * enabling, re-check vq_has_work() to close the race with the driver.
 * Enabled after vq_init()/vq_configure(). With EVENT_IDX and notifications
 * enabled, vq_pop() keeps avail_event at the next slot to consume, and a
 * vq_pop() that finds the ring empty publishes it and looks again, so a
 * device that just pops until 0 on each kick never misses one.
 */
void vq_set_notify(struct virtq *vq, bool enable);

/* Copy helpers over a chain's iovecs: bytes copied. */
size_t vq_iov_to_buf(const struct iovec *iov, unsigned n, size_t skip,
		     void *buf, size_t len);
size_t vq_buf_to_iov(const struct iovec *iov, unsigned n, size_t skip,
		     const void *buf, size_t len);

#endif
