/* SPDX-License-Identifier: MIT */
/*
 * The virtio device-common layer (virtio/virtio.c) through the virtio-mmio
 * transport (virtio/mmio.c) on the fake VM, with a dummy device: register
 * semantics, feature negotiation, the status state machine, queue set-up,
 * interrupts, DEVICE_NEEDS_RESET; and the transport config keys.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dev_cfg.h"
#include "devices/abi/platform.h"
#include "devices/devices.h"
#include "fake_vm.h"
#include "test_virtio_drv.h"
#include "virtio/virtio.h"
#include "vmm/util.h"

#define BASE	  0xd0000000ULL
#define IRQ	  5
#define DUMMY_ID  42
#define DUMMY_F0  3 /* a device feature bit we offer */
#define DUMMY_BAD 7 /* a bit the device refuses without DUMMY_F0 */

struct dummy {
	struct virtio_dev vdev;
	uint8_t config[8];
	unsigned starts, stops, config_writes;
	int start_ret;
};

static int dummy_features_ok(struct virtio_dev *vdev, uint64_t f)
{
	if ((f & VIRTIO_F(DUMMY_BAD)) && !(f & VIRTIO_F(DUMMY_F0)))
		return -EINVAL;
	return 0;
}

static int dummy_start(struct virtio_dev *vdev)
{
	struct dummy *d = container_of(vdev, struct dummy, vdev);

	d->starts++;
	return d->start_ret;
}

static void dummy_stop(struct virtio_dev *vdev)
{
	container_of(vdev, struct dummy, vdev)->stops++;
}

static void dummy_config_write(struct virtio_dev *vdev, unsigned off,
			       const uint8_t *data, unsigned len)
{
	struct dummy *d = container_of(vdev, struct dummy, vdev);

	memcpy(d->config + off, data, len);
	d->config_writes++;
}

static const struct virtio_dev_ops dummy_ops = {
	.features_ok = dummy_features_ok,
	.start = dummy_start,
	.stop = dummy_stop,
	.config_write = dummy_config_write,
};

static struct vm *vm;
static struct dummy dm;
static struct drv d;

static void setup_common(bool fast)
{
	vm = fake_vm_new();
	vm->no_fast = !fast;
	drv_add_ram(vm);
	memset(&dm, 0, sizeof(dm));
	memcpy(dm.config, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	cr_assert_eq(virtio_dev_init(&dm.vdev, vm, "vd0", DUMMY_ID, &dummy_ops,
				     VIRTIO_F(DUMMY_F0) | VIRTIO_F(DUMMY_BAD) |
					     VIRTIO_F(VIRTIO_F_EVENT_IDX),
				     2, 16, dm.config, sizeof(dm.config)),
		     0);
	/* queue 1 does not exist for this device */
	dm.vdev.queues[1].num_max = 0;
	cr_assert_eq(virtio_mmio_attach(&dm.vdev, BASE, IRQ), 0);
	memset(&d, 0, sizeof(d));
	d.vm = vm;
	d.base = BASE;
}

static void setup(void)
{
	setup_common(true);
}

static void setup_slow(void)
{
	setup_common(false);
}

static void teardown(void)
{
	virtio_dev_detach(&dm.vdev);
	virtio_dev_cleanup(&dm.vdev);
	fake_vm_free(vm);
}

/* eventfd counter (reads and clears it); 0 if nothing */
static uint64_t efd_count(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

static int irqfd_of(unsigned gsi)
{
	for (unsigned i = 0; i < vm->nr_irqfds; i++)
		if (vm->irqfds[i].gsi == gsi)
			return vm->irqfds[i].efd;
	return -1;
}

static const uint64_t ALL = ~0ULL;

TestSuite(virtio_mmio, .init = setup, .fini = teardown);
TestSuite(virtio_mmio_slow, .init = setup_slow, .fini = teardown);

Test(virtio_mmio, identity)
{
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_VERSION), 2);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_DEVICE_ID), DUMMY_ID);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_VENDOR_ID), ABI_VIRTIO_VENDOR_ID);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_STATUS), 0);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffff);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_SHM_LEN_HIGH), 0xffffffff);
}

Test(virtio_mmio, bad_accesses_are_harmless)
{
	/* wrong sizes and misaligned registers read 0, writes dropped */
	cr_assert_eq(fake_vm_mmio_read(vm, BASE, 1), 0);
	cr_assert_eq(fake_vm_mmio_read(vm, BASE, 2), 0);
	cr_assert_eq(fake_vm_mmio_read(vm, BASE, 8), 0);
	cr_assert_eq(fake_vm_mmio_read(vm, BASE + 1, 4), 0);
	fake_vm_mmio_write(vm, BASE + VIRTIO_MMIO_STATUS, 1,
			   VIRTIO_STATUS_ACKNOWLEDGE);
	fake_vm_mmio_write(vm, BASE + VIRTIO_MMIO_STATUS, 8, 0xff);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_STATUS), 0);
	/* read-only registers ignore writes; write-only ones read 0 */
	drv_w(&d, VIRTIO_MMIO_MAGIC_VALUE, 0);
	drv_w(&d, VIRTIO_MMIO_DEVICE_ID, 7);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_DEVICE_ID), DUMMY_ID);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_QUEUE_NOTIFY), 0);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_INTERRUPT_ACK), 0);
	/* every offset and size of the block: nothing breaks */
	for (uint64_t off = 0; off < ABI_VIRTIO_MMIO_SLOT_SIZE; off++)
		for (unsigned s = 1; s <= 8; s <<= 1) {
			if (off + s > ABI_VIRTIO_MMIO_SLOT_SIZE)
				continue;
			fake_vm_mmio_read(vm, BASE + off, s);
		}
	cr_assert_eq(vm->stop_requests, 0);
	/* notifying an absent queue is ignored */
	drv_w(&d, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	drv_w(&d, VIRTIO_MMIO_QUEUE_NOTIFY, 1000);
	cr_assert_eq(vm->stop_requests, 0);
}

Test(virtio_mmio, config_space)
{
	cr_assert_eq(fake_vm_mmio_read(vm, BASE + 0x100, 1), 0x01);
	cr_assert_eq(fake_vm_mmio_read(vm, BASE + 0x102, 2), 0x0403);
	cr_assert_eq(fake_vm_mmio_read(vm, BASE + 0x104, 4), 0x08070605);
	cr_assert_eq(fake_vm_mmio_read(vm, BASE + 0x100, 8),
		     0x0807060504030201ULL);
	/* partly and wholly beyond the 8 bytes */
	cr_assert_eq(fake_vm_mmio_read(vm, BASE + 0x106, 4), 0x0807);
	cr_assert_eq(fake_vm_mmio_read(vm, BASE + 0x1f0, 4), 0);
	cr_assert_eq(
		fake_vm_mmio_read(vm, BASE + ABI_VIRTIO_MMIO_SLOT_SIZE - 4, 4),
		0);
	fake_vm_mmio_write(vm, BASE + 0x101, 1, 0xaa);
	cr_assert_eq(dm.config[1], 0xaa);
	fake_vm_mmio_write(vm, BASE + 0x106, 4, 0xffffffff);
	fake_vm_mmio_write(vm, BASE + 0x800, 4, 0xffffffff);
	cr_assert_eq(dm.config_writes, 1);
}

Test(virtio_mmio, features_offered)
{
	uint64_t f = drv_device_features(&d);

	cr_assert_eq(f, VIRTIO_F(VIRTIO_F_VERSION_1) | VIRTIO_F(DUMMY_F0) |
				VIRTIO_F(DUMMY_BAD) |
				VIRTIO_F(VIRTIO_F_EVENT_IDX));
	drv_w(&d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_DEVICE_FEATURES), 0);
	drv_w(&d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0xffffffff);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_DEVICE_FEATURES), 0);
}

Test(virtio_mmio, negotiation)
{
	/* legacy (no VERSION_1): refused */
	cr_assert_not(drv_negotiate(&d, VIRTIO_F(DUMMY_F0)));
	/* a feature without its dependency: refused by the device */
	cr_assert_not(drv_negotiate(&d, VIRTIO_F(VIRTIO_F_VERSION_1) |
						VIRTIO_F(DUMMY_BAD)));
	/* accepted */
	cr_assert(drv_negotiate(&d, ALL));
	cr_assert_eq(dm.vdev.features, drv_device_features(&d));
	/* features frozen after FEATURES_OK */
	drv_w(&d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	drv_w(&d, VIRTIO_MMIO_DRIVER_FEATURES, 0);
	cr_assert_eq(dm.vdev.features, drv_device_features(&d));
	drv_driver_ok(&d);
	cr_assert_eq(dm.starts, 1);
	cr_assert(virtio_dev_running(&dm.vdev));
}

Test(virtio_mmio, not_offered_feature_refused)
{
	drv_w(&d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	drv_w(&d, VIRTIO_MMIO_STATUS,
	      VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	drv_w(&d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	drv_w(&d, VIRTIO_MMIO_DRIVER_FEATURES, 1u << 20);
	drv_w(&d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	drv_w(&d, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	drv_w(&d, VIRTIO_MMIO_STATUS, 0xb);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_STATUS), 0x3);
}

Test(virtio_mmio, features_before_driver_ignored)
{
	drv_w(&d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	drv_w(&d, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	cr_assert_eq(dm.vdev.driver_features, 0);
}

Test(virtio_mmio, status_machine)
{
	unsigned stops;

	cr_assert(drv_negotiate(&d, ALL));
	/* clearing bits without a reset is ignored */
	drv_w(&d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_STATUS), 0xb);
	/* the driver cannot set NEEDS_RESET */
	drv_w(&d, VIRTIO_MMIO_STATUS, 0xb | VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_STATUS), 0xb);
	cr_assert(drv_queue(&d, 0, 16));
	drv_driver_ok(&d);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_STATUS), 0xf);
	cr_assert_eq(dm.starts, 1);
	/* writing DRIVER_OK again does not restart */
	drv_driver_ok(&d);
	cr_assert_eq(dm.starts, 1);
	/* reset: stop, queues and status cleared */
	stops = dm.stops;
	drv_w(&d, VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(dm.stops, stops + 1);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_STATUS), 0);
	drv_w(&d, VIRTIO_MMIO_QUEUE_SEL, 0);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_QUEUE_READY), 0);
	cr_assert_eq(dm.vdev.features, 0);
	/* and it works again */
	cr_assert(drv_negotiate(&d, ALL));
	cr_assert(drv_queue(&d, 0, 16));
	drv_driver_ok(&d);
	cr_assert_eq(dm.starts, 2);
}

Test(virtio_mmio, all_bits_in_one_write)
{
	drv_w(&d, VIRTIO_MMIO_STATUS, 0x3);
	drv_w(&d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	drv_w(&d, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	drv_w(&d, VIRTIO_MMIO_STATUS, 0xf);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_STATUS), 0xf);
	cr_assert_eq(dm.starts, 1);
}

Test(virtio_mmio, driver_ok_without_features_ok)
{
	int efd = irqfd_of(IRQ);

	cr_assert_geq(efd, 0);
	drv_w(&d, VIRTIO_MMIO_STATUS, 0x3);
	drv_w(&d, VIRTIO_MMIO_STATUS, 0x7);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_STATUS),
		     0x7 | VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	cr_assert_eq(dm.starts, 0);
	/* a config change interrupt tells the driver */
	cr_assert(drv_r(&d, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_INT_CONFIG);
	cr_assert_eq(efd_count(efd), 1);
	drv_w(&d, VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_STATUS), 0);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
}

Test(virtio_mmio, failing_start_needs_reset)
{
	dm.start_ret = -EIO;
	cr_assert(drv_negotiate(&d, ALL));
	drv_driver_ok(&d);
	cr_assert(drv_r(&d, VIRTIO_MMIO_STATUS) &
		  VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	cr_assert_not(virtio_dev_running(&dm.vdev));
	cr_assert_eq(vm->stop_requests, 0);
}

Test(virtio_mmio, queue_registers)
{
	drv_w(&d, VIRTIO_MMIO_QUEUE_SEL, 0);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_QUEUE_NUM_MAX), 16);
	drv_w(&d, VIRTIO_MMIO_QUEUE_SEL, 1);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	drv_w(&d, VIRTIO_MMIO_QUEUE_SEL, 99);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	drv_w(&d, VIRTIO_MMIO_QUEUE_READY, 1);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_QUEUE_READY), 0);

	/* ready before FEATURES_OK: ignored */
	cr_assert(drv_queue(&d, 0, 16) == false);
	cr_assert(drv_negotiate(&d, ALL));
	cr_assert(drv_queue(&d, 0, 8));
	cr_assert_eq(dm.vdev.queues[0].vq.size, 8);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_QUEUE_DESC_LOW),
		     (uint32_t)d.q[0].desc);
	/* addresses of a live queue cannot change */
	drv_w(&d, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1234000);
	drv_w(&d, VIRTIO_MMIO_QUEUE_NUM, 4);
	cr_assert_eq(dm.vdev.queues[0].desc, d.q[0].desc);
	cr_assert_eq(dm.vdev.queues[0].num, 8);
	cr_assert(dm.vdev.queues[0].vq.event_idx);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_STATUS) &
			     VIRTIO_STATUS_DEVICE_NEEDS_RESET,
		     0);
}

Test(virtio_mmio, bad_queue_size_needs_reset)
{
	cr_assert(drv_negotiate(&d, ALL));
	cr_assert_not(drv_queue(&d, 0, 32)); /* > max 16 */
	cr_assert(drv_r(&d, VIRTIO_MMIO_STATUS) &
		  VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	cr_assert(drv_negotiate(&d, ALL));
	cr_assert_not(drv_queue(&d, 0, 12)); /* not a power of two */
	cr_assert(drv_r(&d, VIRTIO_MMIO_STATUS) &
		  VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

Test(virtio_mmio, rings_outside_ram_need_reset)
{
	cr_assert(drv_negotiate(&d, ALL));
	drv_w(&d, VIRTIO_MMIO_QUEUE_SEL, 0);
	drv_w(&d, VIRTIO_MMIO_QUEUE_NUM, 16);
	drv_w(&d, VIRTIO_MMIO_QUEUE_DESC_LOW, 0);
	drv_w(&d, VIRTIO_MMIO_QUEUE_DESC_HIGH, 1); /* 4 GiB: no RAM */
	drv_w(&d, VIRTIO_MMIO_QUEUE_DRIVER_LOW, 0x2000);
	drv_w(&d, VIRTIO_MMIO_QUEUE_DEVICE_LOW, 0x3000);
	drv_w(&d, VIRTIO_MMIO_QUEUE_READY, 1);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_QUEUE_READY), 0);
	cr_assert(drv_r(&d, VIRTIO_MMIO_STATUS) &
		  VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	cr_assert_eq(vm->stop_requests, 0);
}

Test(virtio_mmio, queue_disable_only_before_driver_ok)
{
	cr_assert(drv_negotiate(&d, ALL));
	cr_assert(drv_queue(&d, 0, 16));
	drv_w(&d, VIRTIO_MMIO_QUEUE_READY, 0);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_QUEUE_READY), 0);
	cr_assert(drv_queue(&d, 0, 16));
	drv_driver_ok(&d);
	drv_w(&d, VIRTIO_MMIO_QUEUE_READY, 0);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_QUEUE_READY), 1);
}

Test(virtio_mmio, fast_paths_registered)
{
	int i = fake_vm_ioeventfd_find(vm, VM_BUS_MMIO,
				       BASE + VIRTIO_MMIO_QUEUE_NOTIFY,
				       dm.vdev.queues[0].kick_fd);

	cr_assert_geq(i, 0);
	cr_assert_eq(vm->ioeventfds[i].len, 4);
	cr_assert(vm->ioeventfds[i].has_match);
	cr_assert_eq(vm->ioeventfds[i].match, 0);
	/* the absent queue 1 has none */
	cr_assert_lt(fake_vm_ioeventfd_find(vm, VM_BUS_MMIO,
					    BASE + VIRTIO_MMIO_QUEUE_NOTIFY,
					    dm.vdev.queues[1].kick_fd),
		     0);
	cr_assert_geq(irqfd_of(IRQ), 0);
	/* a notify that exits anyway reaches the same eventfd */
	drv_kick(&d, 0);
	cr_assert_eq(efd_count(dm.vdev.queues[0].kick_fd), 1);
}

Test(virtio_mmio, interrupts_and_ack)
{
	int efd = irqfd_of(IRQ);

	cr_assert(drv_negotiate(&d, ALL));
	drv_driver_ok(&d);
	virtio_dev_notify_queue(&dm.vdev, 0);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INT_VRING);
	cr_assert_eq(efd_count(efd), 1);
	virtio_dev_config_changed(&dm.vdev);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_INTERRUPT_STATUS),
		     VIRTIO_INT_VRING | VIRTIO_INT_CONFIG);
	drv_w(&d, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_INT_VRING);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_INTERRUPT_STATUS),
		     VIRTIO_INT_CONFIG);
	drv_w(&d, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_INT_CONFIG);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
}

Test(virtio_mmio, config_generation)
{
	uint32_t g = drv_r(&d, VIRTIO_MMIO_CONFIG_GENERATION);
	int efd = irqfd_of(IRQ);

	/* before DRIVER_OK: generation moves, no interrupt */
	virtio_dev_config_changed(&dm.vdev);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_CONFIG_GENERATION), g + 1);
	cr_assert_eq(efd_count(efd), 0);
	cr_assert(drv_negotiate(&d, ALL));
	drv_driver_ok(&d);
	virtio_dev_config_changed(&dm.vdev);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_CONFIG_GENERATION), g + 2);
	cr_assert_eq(efd_count(efd), 1);
}

Test(virtio_mmio, needs_reset_once)
{
	int efd = irqfd_of(IRQ);

	cr_assert(drv_negotiate(&d, ALL));
	drv_driver_ok(&d);
	virtio_dev_needs_reset(&dm.vdev, "test %d", 1);
	virtio_dev_needs_reset(&dm.vdev, "test %d", 2);
	cr_assert(drv_r(&d, VIRTIO_MMIO_STATUS) &
		  VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	cr_assert_not(virtio_dev_running(&dm.vdev));
	cr_assert_eq(efd_count(efd), 1); /* one config interrupt */
	/* a status write does not lose it */
	drv_driver_ok(&d);
	cr_assert(drv_r(&d, VIRTIO_MMIO_STATUS) &
		  VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	drv_w(&d, VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_STATUS), 0);
	cr_assert_eq(vm->stop_requests, 0);
}

Test(virtio_mmio, hard_reset)
{
	unsigned stops;

	cr_assert(drv_negotiate(&d, ALL));
	cr_assert(drv_queue(&d, 0, 16));
	drv_driver_ok(&d);
	drv_w(&d, VIRTIO_MMIO_QUEUE_SEL, 1);
	stops = dm.stops;
	virtio_dev_hard_reset(&dm.vdev);
	cr_assert_eq(dm.stops, stops + 1);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_STATUS), 0);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_QUEUE_NUM_MAX), 16); /* sel 0 */
}

Test(virtio_mmio_slow, no_fast_paths)
{
	cr_assert_eq(vm->nr_ioeventfds, 0);
	cr_assert_eq(vm->nr_irqfds, 0);
	cr_assert(drv_negotiate(&d, ALL));
	drv_driver_ok(&d);
	/* notify exits and still reaches the kick eventfd */
	drv_kick(&d, 0);
	cr_assert_eq(efd_count(dm.vdev.queues[0].kick_fd), 1);
	/* interrupts pulse the line from userspace */
	virtio_dev_notify_queue(&dm.vdev, 0);
	cr_assert_eq(vm->irq_raises[IRQ], 1);
	cr_assert_eq(vm->irq_level[IRQ], 0);
	virtio_dev_notify_queue(&dm.vdev, 0);
	cr_assert_eq(vm->irq_raises[IRQ], 2);
}

/* ---- the transport keys (shared by all virtio device types) ---- */

static int check(struct cfg_device *c, char *msg, size_t len)
{
	struct cfg_error err = { { 0 } };
	int ret = c->type->check(c, &err);

	snprintf(msg, len, "%s", err.msg);
	return ret;
}

Test(virtio_cfg, mmio_defaults_from_slot)
{
	struct cfg_device *c =
		dev_cfg_new(&virtio_net_type, "net0", "transport=mmio", NULL);
	struct dev_resource r[DEV_MAX_RESOURCES];
	unsigned n = virtio_net_type.resources(c, r, DEV_MAX_RESOURCES);
	/* the host arch's platform (x86: ISA lines 5, 6, 7, ...; arm64: SPI
	 * 16 + slot) */
	static const unsigned irqs[] = ABI_VIRTIO_MMIO_IRQS;

	cr_assert_eq(n, 2);
	cr_assert_eq(r[0].kind, DEV_RES_MMIO);
	cr_assert_eq(r[0].base, ABI_VIRTIO_MMIO_BASE);
	cr_assert_eq(r[0].size, ABI_VIRTIO_MMIO_SLOT_SIZE);
	cr_assert_eq(r[1].kind, DEV_RES_IRQ);
	cr_assert_eq(r[1].base, irqs[0]);
	dev_cfg_free(c);

	c = dev_cfg_new(&virtio_net_type, "net1", "transport=mmio", "slot=7",
			NULL);
	n = virtio_net_type.resources(c, r, DEV_MAX_RESOURCES);
	cr_assert_eq(r[0].base,
		     ABI_VIRTIO_MMIO_BASE + 7 * ABI_VIRTIO_MMIO_SLOT_SIZE);
	cr_assert_eq(r[1].base, irqs[7]);
	dev_cfg_free(c);

	c = dev_cfg_new(&virtio_net_type, "net2", "transport=mmio",
			"address=0xd0010000", "irq=20", NULL);
	n = virtio_net_type.resources(c, r, DEV_MAX_RESOURCES);
	cr_assert_eq(n, 2);
	cr_assert_eq(r[0].base, 0xd0010000);
	cr_assert_str_eq(r[0].key, "address");
	cr_assert_eq(r[1].base, 20);
	cr_assert_str_eq(r[1].key, "irq");
	dev_cfg_free(c);

	c = dev_cfg_new(&virtio_net_type, "net3", "transport=pci", NULL);
	cr_assert_eq(virtio_net_type.resources(c, r, DEV_MAX_RESOURCES), 0);
	dev_cfg_free(c);
}

Test(virtio_cfg, transport_rules)
{
	char msg[512], slot[32], addr[48];
	struct cfg_device *c;

	/* the first slot without a default line */
	snprintf(slot, sizeof(slot), "slot=%u", ABI_VIRTIO_MMIO_NR_IRQS);
	snprintf(addr, sizeof(addr), "address=0x%llx",
		 (unsigned long long)(ABI_VIRTIO_MMIO_BASE +
				      ABI_VIRTIO_MMIO_SLOT_SIZE / 2));
	c = dev_cfg_new(&virtio_net_type, "net0", "transport=mmio", slot, NULL);
	cr_assert_eq(check(c, msg, sizeof(msg)), -EINVAL);
	cr_assert(strstr(msg, "set irq"), "%s", msg);
	dev_cfg_free(c);
	c = dev_cfg_new(&virtio_net_type, "net0", "transport=mmio", slot,
			"irq=16", NULL);
	cr_assert_eq(check(c, msg, sizeof(msg)), 0, "%s", msg);
	dev_cfg_free(c);
	c = dev_cfg_new(&virtio_net_type, "net0", "transport=mmio", addr, NULL);
	cr_assert_eq(check(c, msg, sizeof(msg)), -EINVAL);
	cr_assert(strstr(msg, "address"), "%s", msg);
	dev_cfg_free(c);
	c = dev_cfg_new(&virtio_net_type, "net0", "transport=mmio",
			"pci-slot=3", NULL);
	cr_assert_eq(check(c, msg, sizeof(msg)), -EINVAL);
	cr_assert(strstr(msg, "transport = pci"), "%s", msg);
	dev_cfg_free(c);
	c = dev_cfg_new(&virtio_net_type, "net0", "transport=pci", "irq=5",
			NULL);
	cr_assert_eq(check(c, msg, sizeof(msg)), -EINVAL);
	cr_assert(strstr(msg, "transport = mmio"), "%s", msg);
	dev_cfg_free(c);
	c = dev_cfg_new(&virtio_net_type, "net0", "transport=pci", "pci-slot=3",
			NULL);
	cr_assert_eq(check(c, msg, sizeof(msg)), 0, "%s", msg);
	cr_assert(pci_cfg_is_pci(c));
	dev_cfg_free(c);
	/* the default transport is pci */
	c = dev_cfg_new(&virtio_net_type, "net0", NULL);
	cr_assert(pci_cfg_is_pci(c));
	cr_assert_eq(virtio_net_type.resources(c, NULL, 0), 0);
	dev_cfg_free(c);
	c = dev_cfg_new(&virtio_net_type, "net0", "transport=mmio", NULL);
	cr_assert_not(pci_cfg_is_pci(c));
	dev_cfg_free(c);
	c = dev_cfg_new(&virtio_net_type, "net0", "slot=1", NULL);
	cr_assert_eq(check(c, msg, sizeof(msg)), -EINVAL);
	cr_assert(strstr(msg, "transport = mmio"), "%s", msg);
	dev_cfg_free(c);
}
