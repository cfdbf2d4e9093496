/* SPDX-License-Identifier: MIT */
/*
 * The virtio-pci transport (virtio/pci.c) on the fake VM's PCI host
 * (devices/pci.c), with virtio-net on a socketpair: identity and
 * capabilities, the common configuration, notify ioeventfds following the
 * BAR, MSI-X interrupts, the ISR, the PCI_CFG access window, and a frame
 * transmitted end to end.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dev_cfg.h"
#include "devices/abi/pci.h"
#include "devices/abi/x86_pc.h"
#include "devices/pci.h"
#include "fake_vm.h"
#include "test_virtio_drv.h"
#include "virtio/virtio.h"

#define SLOT 3
#define HDR  12

static struct vm *vm;
static struct cfg_device *cfg;
static struct device *dev;
static struct drv d; /* rings and buffers only (drv_add/drv_used) */
static int peer = -1;

/* capability offsets by virtio cfg_type, and MSI-X */
static unsigned vcap[6], msix_cap;

static uint32_t cfg_rd(unsigned reg, unsigned size)
{
	return (uint32_t)fake_vm_mmio_read(
		vm, ABI_PCI_ECAM_BASE + PCI_ECAM_OFFSET(0, SLOT, 0) + reg,
		size);
}

static void cfg_wr(unsigned reg, unsigned size, uint32_t v)
{
	fake_vm_mmio_write(
		vm, ABI_PCI_ECAM_BASE + PCI_ECAM_OFFSET(0, SLOT, 0) + reg, size,
		v);
}

static uint64_t bar0(void)
{
	return cfg_rd(PCI_BAR0, 4) & PCI_BAR_MEM_MASK;
}

static uint64_t rd(uint64_t off, unsigned size)
{
	return fake_vm_mmio_read(vm, bar0() + off, size);
}

static void wr(uint64_t off, unsigned size, uint64_t v)
{
	fake_vm_mmio_write(vm, bar0() + off, size, v);
}

/* common configuration field */
#define C(f) (0x0000 + VIRTIO_PCI_COMMON_##f)

static void find_caps(void)
{
	unsigned p = cfg_rd(PCI_CAP_PTR, 1);

	memset(vcap, 0, sizeof(vcap));
	msix_cap = 0;
	for (unsigned n = 0; p && n < 48; n++) {
		unsigned id = cfg_rd(p, 1);

		if (id == PCI_CAP_ID_VNDR && cfg_rd(p + 3, 1) < 6)
			vcap[cfg_rd(p + 3, 1)] = p;
		if (id == PCI_CAP_ID_MSIX)
			msix_cap = p;
		p = cfg_rd(p + 1, 1);
	}
}

static void setup(void)
{
	int sv[2], err = 0;
	char kv[32], slot[32];

	vm = fake_vm_new();
	drv_add_ram(vm);
	cr_assert_eq(pci_host_create(vm, &pci_layout_x86, NULL), 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	peer = sv[1];
	snprintf(kv, sizeof(kv), "fd=%d", sv[0]);
	snprintf(slot, sizeof(slot), "pci-slot=%d", SLOT);
	cfg = dev_cfg_new(&virtio_net_type, "net0", "transport=pci", slot, kv,
			  NULL);
	dev = dev_create(vm, cfg, &err);
	cr_assert_not_null(dev, "%s", strerror(-err));
	memset(&d, 0, sizeof(d));
	d.vm = vm;
	find_caps();
}

static void teardown(void)
{
	dev_destroy(dev);
	dev_cfg_free(cfg);
	close(peer);
	pci_host_free(*vm_pci_host_slot(vm));
	*vm_pci_host_slot(vm) = NULL;
	fake_vm_free(vm);
}

TestSuite(virtio_pci, .init = setup, .fini = teardown, .timeout = 30);

static bool negotiate(uint64_t want)
{
	uint64_t f;

	wr(C(STATUS), 1, 0);
	wr(C(STATUS), 1, 3);
	wr(C(DFSELECT), 4, 0);
	f = rd(C(DF), 4);
	wr(C(DFSELECT), 4, 1);
	f |= rd(C(DF), 4) << 32;
	f &= want;
	wr(C(GFSELECT), 4, 0);
	wr(C(GF), 4, (uint32_t)f);
	wr(C(GFSELECT), 4, 1);
	wr(C(GF), 4, (uint32_t)(f >> 32));
	wr(C(STATUS), 1, 0xb);
	return rd(C(STATUS), 1) & VIRTIO_STATUS_FEATURES_OK;
}

static void queue(unsigned q, uint16_t size, uint16_t vec)
{
	struct drv_q *dq = &d.q[q];

	dq->size = size;
	dq->desc = DRV_RING_BASE + q * 0x10000ULL;
	dq->avail = dq->desc + 0x4000;
	dq->used = dq->desc + 0x8000;
	memset(drv_ptr(&d, dq->desc, 0x10000), 0, 0x10000);
	wr(C(Q_SELECT), 2, q);
	wr(C(Q_SIZE), 2, size);
	wr(C(Q_MSIX), 2, vec);
	wr(C(Q_DESCLO), 4, (uint32_t)dq->desc);
	wr(C(Q_DESCHI), 4, 0);
	wr(C(Q_AVAILLO), 4, (uint32_t)dq->avail);
	wr(C(Q_AVAILHI), 4, 0);
	wr(C(Q_USEDLO), 4, (uint32_t)dq->used);
	wr(C(Q_USEDHI), 4, 0);
	wr(C(Q_ENABLE), 2, 1);
}

static uint64_t notify_addr(unsigned q)
{
	uint32_t off = cfg_rd(vcap[VIRTIO_PCI_CAP_NOTIFY_CFG] + 8, 4);
	uint32_t mult = cfg_rd(vcap[VIRTIO_PCI_CAP_NOTIFY_CFG] + 16, 4);

	wr(C(Q_SELECT), 2, q);
	return bar0() + off + mult * rd(C(Q_NOFF), 2);
}

/* program MSI-X vector vec and enable MSI-X */
static void msix_on(unsigned vec, uint32_t data)
{
	uint32_t table = cfg_rd(msix_cap + PCI_MSIX_TABLE, 4) & ~7u;
	uint64_t e = bar0() + table + vec * PCI_MSIX_ENTRY_SIZE;

	fake_vm_mmio_write(vm, e + PCI_MSIX_ENTRY_ADDR_LO, 4, 0xfee00000);
	fake_vm_mmio_write(vm, e + PCI_MSIX_ENTRY_ADDR_HI, 4, 0);
	fake_vm_mmio_write(vm, e + PCI_MSIX_ENTRY_DATA, 4, data);
	fake_vm_mmio_write(vm, e + PCI_MSIX_ENTRY_CTRL, 4, 0);
	cfg_wr(msix_cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
}

static uint64_t efd_count(int fd)
{
	uint64_t v = 0;

	if (fd < 0 || read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

/* the eventfd behind MSI-X vector vec (its irqfd on the vector's GSI) */
static int vec_efd(unsigned vec)
{
	/* routes are allocated in vector order from the fake's base */
	for (unsigned i = 0; i < vm->nr_irqfds; i++)
		if (vm->irqfds[i].gsi == FAKE_VM_MSI_BASE + vec)
			return vm->irqfds[i].efd;
	return -1;
}

Test(virtio_pci, identity_and_caps)
{
	cr_assert_eq(cfg_rd(PCI_VENDOR_ID, 2), 0x1af4);
	cr_assert_eq(cfg_rd(PCI_DEVICE_ID, 2), 0x1041);
	cr_assert_eq(cfg_rd(PCI_REVISION_ID, 1), 1);
	cr_assert_eq(cfg_rd(PCI_CLASS_DEVICE, 2), 0x0200);
	cr_assert_eq(cfg_rd(PCI_SUBSYS_VENDOR_ID, 2), 0x1af4);
	cr_assert_geq(cfg_rd(PCI_SUBSYS_ID, 2), 0x40);
	cr_assert(cfg_rd(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	for (unsigned t = 1; t <= 5; t++) {
		cr_assert_neq(vcap[t], 0, "cfg_type %u", t);
		cr_assert_eq(cfg_rd(vcap[t] + 4, 1), 0, "bar of %u", t);
	}
	cr_assert_neq(msix_cap, 0);
	cr_assert_eq(
		(cfg_rd(msix_cap + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_QSIZE) +
			1,
		3); /* two queues + config */
	cr_assert_eq(cfg_rd(vcap[VIRTIO_PCI_CAP_COMMON_CFG] + 12, 4),
		     VIRTIO_PCI_COMMON_CFG_SIZE);
	cr_assert_eq(cfg_rd(vcap[VIRTIO_PCI_CAP_DEVICE_CFG] + 12, 4),
		     VIRTIO_NET_CONFIG_SIZE);
	cr_assert_eq(cfg_rd(vcap[VIRTIO_PCI_CAP_NOTIFY_CFG] + 2, 1), 20);
	cr_assert_neq(bar0(), 0);
	cr_assert_geq(bar0(), ABI_PCI_MMIO32_BASE);
	/* device config: the MAC through the device cfg region */
	cr_assert_eq(rd(cfg_rd(vcap[VIRTIO_PCI_CAP_DEVICE_CFG] + 8, 4) + 6, 2),
		     VIRTIO_NET_S_LINK_UP);
}

Test(virtio_pci, common_config)
{
	cr_assert_eq(rd(C(NUMQ), 2), 2);
	cr_assert(negotiate(~0ULL));
	wr(C(Q_SELECT), 2, 0);
	cr_assert_eq(rd(C(Q_SIZE), 2), 256);
	wr(C(Q_SELECT), 2, 5);
	cr_assert_eq(rd(C(Q_SIZE), 2), 0);
	/* vectors beyond the table read back as NO_VECTOR */
	wr(C(Q_SELECT), 2, 0);
	wr(C(Q_MSIX), 2, 7);
	cr_assert_eq(rd(C(Q_MSIX), 2), VIRTIO_MSI_NO_VECTOR);
	wr(C(Q_MSIX), 2, 1);
	cr_assert_eq(rd(C(Q_MSIX), 2), 1);
	wr(C(MSIX), 2, 2);
	cr_assert_eq(rd(C(MSIX), 2), 2);
	/* wrong-size and misaligned accesses are ignored */
	wr(C(Q_SELECT) + 1, 1, 1);
	wr(C(Q_MSIX), 4, 0);
	cr_assert_eq(rd(C(Q_MSIX), 2), 1);
	cr_assert_eq(rd(C(NUMQ), 4), 0);
	cr_assert_eq(rd(0xfff, 1), 0);
	/* driver features read back */
	wr(C(GFSELECT), 4, 1);
	cr_assert_eq(rd(C(GF), 4), 1); /* VERSION_1 */
	cr_assert_eq(vm->stop_requests, 0);
}

Test(virtio_pci, notify_follows_the_bar)
{
	struct virtio_queue *q;
	uint64_t old = bar0(), moved = ABI_PCI_MMIO32_BASE + 0x100000;
	int i;

	/* queue 1's kick fd is registered at its notify address */
	cr_assert(negotiate(~0ULL));
	q = &((struct virtio_dev *)dev->priv)->queues[1];
	i = fake_vm_ioeventfd_find(vm, VM_BUS_MMIO, notify_addr(1), q->kick_fd);
	cr_assert_geq(i, 0);
	cr_assert_eq(vm->ioeventfds[i].len, 0);
	cr_assert_not(vm->ioeventfds[i].has_match);
	/* move the BAR: the ioeventfd moves with it */
	cfg_wr(PCI_COMMAND, 2, 0);
	cr_assert_lt(fake_vm_ioeventfd_find(vm, VM_BUS_MMIO, old + 0x3000 + 4,
					    q->kick_fd),
		     0);
	cfg_wr(PCI_BAR0, 4, (uint32_t)moved);
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	cr_assert_eq(bar0(), moved);
	cr_assert_geq(fake_vm_ioeventfd_find(vm, VM_BUS_MMIO, notify_addr(1),
					     q->kick_fd),
		      0);
	/* (a notify that exits anyway reaches the kick eventfd too: the
	 * fake VM has no ioeventfds, so transmit_with_msix goes that way) */
}

Test(virtio_pci, transmit_with_msix)
{
	uint8_t frame[60], buf[128];
	struct drv_buf b;
	uint64_t a;
	ssize_t n = -1;

	msix_on(0, 0x4041);
	cr_assert(negotiate(~0ULL));
	wr(C(MSIX), 2, VIRTIO_MSI_NO_VECTOR);
	queue(0, 256, 0);
	queue(1, 256, 0);
	wr(C(STATUS), 1, 0xf);
	cr_assert_eq(rd(C(STATUS), 1), 0xf);

	memset(frame, 0x5a, sizeof(frame));
	a = drv_alloc(&d, HDR + sizeof(frame));
	memset(drv_ptr(&d, a, HDR), 0, HDR);
	memcpy(drv_ptr(&d, a + HDR, sizeof(frame)), frame, sizeof(frame));
	b = (struct drv_buf){ a, HDR + sizeof(frame), false };
	drv_add(&d, 1, &b, 1);
	fake_vm_mmio_write(vm, notify_addr(1), 2, 1);
	for (unsigned i = 0; i < 3000 && n < 0; i++) {
		n = recv(peer, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0)
			drv_sleep_ms(1);
	}
	cr_assert_eq(n, sizeof(frame));
	cr_assert(drv_wait_used(&d, 1, 1));
	/* the interrupt went to vector 0's irqfd */
	drv_sleep_ms(10);
	cr_assert_geq(efd_count(vec_efd(0)), 1);
	/* ISR: read clears */
	cr_assert_eq(rd(cfg_rd(vcap[VIRTIO_PCI_CAP_ISR_CFG] + 8, 4), 1),
		     VIRTIO_INT_VRING);
	cr_assert_eq(rd(cfg_rd(vcap[VIRTIO_PCI_CAP_ISR_CFG] + 8, 4), 1), 0);
	/* reset through the status byte */
	wr(C(STATUS), 1, 0);
	cr_assert_eq(rd(C(STATUS), 1), 0);
	wr(C(Q_SELECT), 2, 1);
	cr_assert_eq(rd(C(Q_ENABLE), 2), 0);
	cr_assert_eq(rd(C(Q_MSIX), 2), VIRTIO_MSI_NO_VECTOR);
}

Test(virtio_pci, pci_cfg_window)
{
	unsigned c = vcap[VIRTIO_PCI_CAP_PCI_CFG];

	cr_assert_eq(cfg_rd(c + 2, 1), 20);
	/* read num_queues (2 bytes at common + 0x12) through the window */
	cfg_wr(c + 4, 1, 0);
	cfg_wr(c + 8, 4, VIRTIO_PCI_COMMON_NUMQ);
	cfg_wr(c + 12, 4, 2);
	cr_assert_eq(cfg_rd(c + 16, 2), 2);
	/* write the status byte through it */
	cfg_wr(c + 8, 4, VIRTIO_PCI_COMMON_STATUS);
	cfg_wr(c + 12, 4, 1);
	cfg_wr(c + 16, 1, VIRTIO_STATUS_ACKNOWLEDGE);
	cr_assert_eq(rd(C(STATUS), 1), VIRTIO_STATUS_ACKNOWLEDGE);
	/* nonsense lengths and offsets do nothing */
	cfg_wr(c + 12, 4, 3);
	cfg_wr(c + 16, 1, 0xff);
	cfg_wr(c + 8, 4, 0xfffffffc);
	cfg_wr(c + 12, 4, 4);
	cfg_wr(c + 16, 4, 0xffffffff);
	(void)cfg_rd(c + 16, 4);
	cr_assert_eq(rd(C(STATUS), 1), VIRTIO_STATUS_ACKNOWLEDGE);
	cr_assert_eq(vm->stop_requests, 0);
}

Test(virtio_pci, guest_reset_restores_bar)
{
	uint64_t orig = bar0();

	cfg_wr(PCI_COMMAND, 2, 0);
	cfg_wr(PCI_BAR0, 4, ABI_PCI_MMIO32_BASE + 0x200000);
	dev->type->reset(dev);
	cr_assert_eq(bar0(), orig);
	cr_assert(cfg_rd(PCI_COMMAND, 2) & PCI_COMMAND_MEMORY);
}
