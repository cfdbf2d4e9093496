/* SPDX-License-Identifier: MIT */
/*
 * A minimal virtio driver for unit tests of the virtio devices: plays the
 * guest on a fake VM (fake_vm.h), through the virtio-mmio registers, with
 * split rings in fake guest RAM. Header-only: each test_virtio_*.c that
 * includes it gets its own copy.
 *
 * Guest RAM: DRV_RAM_SIZE at 0. Queue q's rings at DRV_RING_BASE + q * 64K
 * (descriptors, avail at +0x4000, used at +0x8000); buffers from
 * DRV_BUF_BASE up (drv_alloc(), never freed).
 */
#ifndef TESTS_TEST_VIRTIO_DRV_H
#define TESTS_TEST_VIRTIO_DRV_H

#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "devices/abi/virtio.h"
#include "fake_vm.h"

#define DRV_RAM_SIZE  0x800000ULL
#define DRV_RING_BASE 0x100000ULL
#define DRV_BUF_BASE  0x400000ULL
#define DRV_MAX_Q     8

struct drv_q {
	uint16_t size;
	uint64_t desc, avail, used;
	uint16_t avail_idx;
	uint16_t next_desc;
};

struct drv {
	struct vm *vm;
	uint64_t base; /* mmio registers */
	struct drv_q q[DRV_MAX_Q];
	uint64_t features; /* accepted */
	uint64_t buf_next;
};

static inline void drv_add_ram(struct vm *vm)
{
	cr_assert_eq(
		mem_add_region(&vm->mem, "ram", 0, DRV_RAM_SIZE, NULL, false),
		0);
}

static inline void *drv_ptr(struct drv *d, uint64_t gpa, uint64_t len)
{
	void *p = mem_ptr(&d->vm->mem, gpa, len);

	cr_assert_not_null(p, "gpa 0x%llx", (unsigned long long)gpa);
	return p;
}

static inline uint32_t drv_r(struct drv *d, uint64_t off)
{
	return (uint32_t)fake_vm_mmio_read(d->vm, d->base + off, 4);
}

static inline void drv_w(struct drv *d, uint64_t off, uint32_t v)
{
	fake_vm_mmio_write(d->vm, d->base + off, 4, v);
}

static inline uint64_t drv_alloc(struct drv *d, uint64_t len)
{
	uint64_t a = d->buf_next ? d->buf_next : DRV_BUF_BASE;

	d->buf_next = (a + len + 15) & ~15ULL;
	cr_assert_leq(d->buf_next, DRV_RAM_SIZE);
	return a;
}

static inline uint64_t drv_device_features(struct drv *d)
{
	uint64_t f;

	drv_w(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	f = drv_r(d, VIRTIO_MMIO_DEVICE_FEATURES);
	drv_w(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	f |= (uint64_t)drv_r(d, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	return f;
}

/* Reset, negotiate `want` & offered: false if FEATURES_OK did not stick. */
static inline bool drv_negotiate(struct drv *d, uint64_t want)
{
	uint64_t f;

	drv_w(d, VIRTIO_MMIO_STATUS, 0);
	drv_w(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	drv_w(d, VIRTIO_MMIO_STATUS,
	      VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	f = drv_device_features(d) & want;
	drv_w(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	drv_w(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	drv_w(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	drv_w(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
	drv_w(d, VIRTIO_MMIO_STATUS,
	      VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		      VIRTIO_STATUS_FEATURES_OK);
	d->features = f;
	return drv_r(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK;
}

/* Set up queue q with `size` entries (rings zeroed); true if ready. */
static inline bool drv_queue(struct drv *d, unsigned q, uint16_t size)
{
	struct drv_q *dq = &d->q[q];

	cr_assert_lt(q, DRV_MAX_Q);
	dq->size = size;
	dq->desc = DRV_RING_BASE + q * 0x10000ULL;
	dq->avail = dq->desc + 0x4000;
	dq->used = dq->desc + 0x8000;
	dq->avail_idx = 0;
	dq->next_desc = 0;
	memset(drv_ptr(d, dq->desc, 0x10000), 0, 0x10000);
	drv_w(d, VIRTIO_MMIO_QUEUE_SEL, q);
	drv_w(d, VIRTIO_MMIO_QUEUE_NUM, size);
	drv_w(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)dq->desc);
	drv_w(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(dq->desc >> 32));
	drv_w(d, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)dq->avail);
	drv_w(d, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(dq->avail >> 32));
	drv_w(d, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)dq->used);
	drv_w(d, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(dq->used >> 32));
	drv_w(d, VIRTIO_MMIO_QUEUE_READY, 1);
	return drv_r(d, VIRTIO_MMIO_QUEUE_READY) == 1;
}

static inline void drv_driver_ok(struct drv *d)
{
	drv_w(d, VIRTIO_MMIO_STATUS,
	      VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
		      VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

struct drv_buf {
	uint64_t gpa;
	uint32_t len;
	bool write; /* device-writable */
};

/* Make a chain of n buffers available (not kicked). Returns its head. */
static inline uint16_t drv_add(struct drv *d, unsigned q,
			       const struct drv_buf *b, unsigned n)
{
	struct drv_q *dq = &d->q[q];
	struct virtq_desc *desc = drv_ptr(d, dq->desc, 16ULL * dq->size);
	struct virtq_avail *av = drv_ptr(d, dq->avail, 4 + 2ULL * dq->size);
	uint16_t head = dq->next_desc;

	for (unsigned i = 0; i < n; i++) {
		uint16_t id = (uint16_t)((head + i) % dq->size);

		desc[id].addr = b[i].gpa;
		desc[id].len = b[i].len;
		desc[id].flags =
			(uint16_t)((b[i].write ? VIRTQ_DESC_F_WRITE : 0) |
				   (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
		desc[id].next = (uint16_t)((id + 1) % dq->size);
	}
	dq->next_desc = (uint16_t)((head + n) % dq->size);
	av->ring[dq->avail_idx % dq->size] = head;
	__atomic_store_n(&av->idx, (uint16_t)(dq->avail_idx + 1),
			 __ATOMIC_RELEASE);
	dq->avail_idx++;
	return head;
}

static inline void drv_kick(struct drv *d, unsigned q)
{
	drv_w(d, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

static inline uint16_t drv_used_idx(struct drv *d, unsigned q)
{
	struct virtq_used *u = drv_ptr(d, d->q[q].used, 4);

	return __atomic_load_n(&u->idx, __ATOMIC_ACQUIRE);
}

static inline struct virtq_used_elem drv_used(struct drv *d, unsigned q,
					      uint16_t i)
{
	struct drv_q *dq = &d->q[q];
	struct virtq_used *u = drv_ptr(d, dq->used, 4 + 8ULL * dq->size);

	return u->ring[i % dq->size];
}

static inline void drv_sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Wait (up to 3 s) until the used index of q reaches idx. */
static inline bool drv_wait_used(struct drv *d, unsigned q, uint16_t idx)
{
	for (unsigned i = 0; i < 3000; i++) {
		if ((uint16_t)(drv_used_idx(d, q) - idx) < 0x8000)
			return true;
		drv_sleep_ms(1);
	}
	return false;
}

/* Wait (up to 3 s) until the status has `bits`. */
static inline bool drv_wait_status(struct drv *d, uint32_t bits)
{
	for (unsigned i = 0; i < 3000; i++) {
		if ((drv_r(d, VIRTIO_MMIO_STATUS) & bits) == bits)
			return true;
		drv_sleep_ms(1);
	}
	return false;
}

#endif
