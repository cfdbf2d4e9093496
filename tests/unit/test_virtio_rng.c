/* SPDX-License-Identifier: MIT */
/*
 * virtio-rng (virtio/rng.c) over virtio-mmio on the fake VM: buffers are
 * filled with random bytes, the used length is what was written, the rate
 * limit holds, a malformed ring sets NEEDS_RESET.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "dev_cfg.h"
#include "devices/abi/platform.h"
#include "fake_vm.h"
#include "test_virtio_drv.h"
#include "virtio/virtio.h"
#include "vmm/util.h"

static struct vm *vm;
static struct drv d;
static struct cfg_device *cfg;
static struct device *dev;

static void create(const char *kv)
{
	int err = 0;

	cfg = dev_cfg_new(&virtio_rng_type, "rng0", "transport=mmio", kv, NULL);
	dev = dev_create(vm, cfg, &err);
	cr_assert_not_null(dev, "%d", err);
}

static void setup(void)
{
	vm = fake_vm_new();
	drv_add_ram(vm);
	memset(&d, 0, sizeof(d));
	d.vm = vm;
	d.base = ABI_VIRTIO_MMIO_BASE;
	dev = NULL;
	cfg = NULL;
}

static void teardown(void)
{
	if (dev)
		dev_destroy(dev);
	if (cfg)
		dev_cfg_free(cfg);
	fake_vm_free(vm);
}

TestSuite(virtio_rng, .init = setup, .fini = teardown, .timeout = 30);

Test(virtio_rng, fills_buffers)
{
	static const uint8_t zero[256];
	struct drv_buf b[2];

	create(NULL);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_RNG);
	cr_assert(drv_negotiate(&d, ~0ULL));
	cr_assert(drv_queue(&d, 0, 64));
	drv_driver_ok(&d);
	b[0] = (struct drv_buf){ drv_alloc(&d, 256), 256, true };
	b[1] = (struct drv_buf){ drv_alloc(&d, 100), 100, true };
	memset(drv_ptr(&d, b[0].gpa, 256), 0, 256);
	drv_add(&d, 0, &b[0], 1);
	drv_add(&d, 0, &b[1], 1);
	drv_kick(&d, 0);
	cr_assert(drv_wait_used(&d, 0, 2));
	cr_assert_eq(drv_used(&d, 0, 0).len, 256);
	cr_assert_eq(drv_used(&d, 0, 1).len, 100);
	cr_assert(memcmp(drv_ptr(&d, b[0].gpa, 256), zero, 256) != 0);
	cr_assert(drv_r(&d, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_INT_VRING);
}

Test(virtio_rng, rate_limited)
{
	struct drv_buf b = { 0, 4096, true };
	uint64_t t0;

	create("rate=10K"); /* 1 KiB per 100 ms */
	cr_assert(drv_negotiate(&d, ~0ULL));
	cr_assert(drv_queue(&d, 0, 64));
	drv_driver_ok(&d);
	b.gpa = drv_alloc(&d, 4096);
	t0 = now_ms();
	for (unsigned i = 0; i < 4; i++)
		drv_add(&d, 0, &b, 1);
	drv_kick(&d, 0);
	cr_assert(drv_wait_used(&d, 0, 4));
	/* 4 chains of at most 1 KiB each, one per window */
	cr_assert_leq(drv_used(&d, 0, 0).len, 1024);
	cr_assert_geq(now_ms() - t0, 250);
}

Test(virtio_rng, malformed_ring)
{
	struct drv_buf b = { 0x7ff00000000ULL, 64, true };

	create(NULL);
	cr_assert(drv_negotiate(&d, ~0ULL));
	cr_assert(drv_queue(&d, 0, 64));
	drv_driver_ok(&d);
	drv_add(&d, 0, &b, 1);
	drv_kick(&d, 0);
	cr_assert(drv_wait_status(&d, VIRTIO_STATUS_DEVICE_NEEDS_RESET));
	cr_assert_eq(vm->stop_requests, 0);
	/* reset and it works again */
	cr_assert(drv_negotiate(&d, ~0ULL));
	cr_assert(drv_queue(&d, 0, 64));
	drv_driver_ok(&d);
	b.gpa = drv_alloc(&d, 64);
	drv_add(&d, 0, &b, 1);
	drv_kick(&d, 0);
	cr_assert(drv_wait_used(&d, 0, 1));
}
