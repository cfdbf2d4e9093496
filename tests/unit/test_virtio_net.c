/* SPDX-License-Identifier: MIT */
/*
 * virtio-net (virtio/net.c) on the fake VM, over virtio-mmio, with a
 * SOCK_SEQPACKET socketpair as backend (`fd = N`: plain Ethernet frames,
 * one per message), so no root or TAP is needed: transmit, receive (one
 * buffer, mergeable buffers, waiting for buffers, frames too big), the
 * control of MAC/features, NEEDS_RESET on a malformed ring and recovery,
 * and the config checks. The TAP tests run only as root, inside a new
 * network namespace (nothing touches the host's interfaces).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dev_cfg.h"
#include "devices/abi/platform.h"
#include "devices/devices.h"
#include "fake_vm.h"
#include "test_virtio_drv.h"
#include "virtio/virtio.h"

#define RXQ 0
#define TXQ 1
#define HDR 12

static struct vm *vm;
static struct drv d;
static struct cfg_device *cfg;
static struct device *dev;
static int peer = -1; /* the test's end of the socketpair */

static const uint64_t ALL = ~0ULL;

/* Create net0 on a socketpair with extra settings (NULL-terminated). */
static void net_create(const char *s1, const char *s2)
{
	int sv[2], err = 0;
	char fdkv[32];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	peer = sv[1];
	snprintf(fdkv, sizeof(fdkv), "fd=%d", sv[0]);
	cfg = dev_cfg_new(&virtio_net_type, "net0", fdkv, "transport=mmio",
			  "mac=52:54:00:12:34:56", s1, s2, NULL);
	dev = dev_create(vm, cfg, &err);
	cr_assert_not_null(dev, "create: %s", strerror(-err));
}

static void setup(void)
{
	vm = fake_vm_new();
	drv_add_ram(vm);
	memset(&d, 0, sizeof(d));
	d.vm = vm;
	d.base = ABI_VIRTIO_MMIO_BASE;
	cfg = NULL;
	dev = NULL;
	peer = -1;
}

static void teardown(void)
{
	if (dev)
		dev_destroy(dev);
	if (cfg)
		dev_cfg_free(cfg);
	if (peer >= 0)
		close(peer);
	fake_vm_free(vm);
}

TestSuite(virtio_net, .init = setup, .fini = teardown, .timeout = 30);

static void drv_up(uint64_t want, uint16_t qsize)
{
	cr_assert(drv_negotiate(&d, want));
	cr_assert(drv_queue(&d, RXQ, qsize));
	cr_assert(drv_queue(&d, TXQ, qsize));
	drv_driver_ok(&d);
}

/* Post one rx buffer of len bytes; returns its gpa. */
static uint64_t post_rx(unsigned len)
{
	struct drv_buf b = { drv_alloc(&d, len), len, true };

	drv_add(&d, RXQ, &b, 1);
	return b.gpa;
}

static void fill(uint8_t *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

/* Receive one message from the peer within 3 s; its length or -1. */
static ssize_t peer_recv(void *buf, size_t len)
{
	for (unsigned i = 0; i < 3000; i++) {
		ssize_t n = recv(peer, buf, len, MSG_DONTWAIT);

		if (n >= 0)
			return n;
		drv_sleep_ms(1);
	}
	return -1;
}

/* the irqfd of slot 0's default line (the host arch's platform) */
static int irq_efd(void)
{
	static const unsigned irqs[] = ABI_VIRTIO_MMIO_IRQS;

	for (unsigned i = 0; i < vm->nr_irqfds; i++)
		if (vm->irqfds[i].gsi == irqs[0])
			return vm->irqfds[i].efd;
	return -1;
}

static uint64_t efd_count(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

Test(virtio_net, features_and_config)
{
	uint64_t f;
	uint8_t mac[6];

	net_create(NULL, NULL);
	f = drv_device_features(&d);
	cr_assert(f & VIRTIO_F(VIRTIO_F_VERSION_1));
	cr_assert(f & VIRTIO_F(VIRTIO_NET_F_MAC));
	cr_assert(f & VIRTIO_F(VIRTIO_NET_F_STATUS));
	cr_assert(f & VIRTIO_F(VIRTIO_NET_F_MRG_RXBUF));
	cr_assert(f & VIRTIO_F(VIRTIO_F_EVENT_IDX));
	cr_assert(f & VIRTIO_F(VIRTIO_F_INDIRECT_DESC));
	/* a socket backend has no header: no offloads, no MQ, no MTU */
	cr_assert_not(f & VIRTIO_F(VIRTIO_NET_F_CSUM));
	cr_assert_not(f & VIRTIO_F(VIRTIO_NET_F_GUEST_CSUM));
	cr_assert_not(f & VIRTIO_F(VIRTIO_NET_F_GUEST_TSO4));
	cr_assert_not(f & VIRTIO_F(VIRTIO_NET_F_HOST_UFO));
	cr_assert_not(f & VIRTIO_F(VIRTIO_NET_F_MQ));
	cr_assert_not(f & VIRTIO_F(VIRTIO_NET_F_MTU));
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_NET);
	for (unsigned i = 0; i < 6; i++)
		mac[i] = (uint8_t)fake_vm_mmio_read(vm, d.base + 0x100 + i, 1);
	cr_assert_arr_eq(mac, "\x52\x54\x00\x12\x34\x56", 6);
	cr_assert_eq(fake_vm_mmio_read(vm, d.base + 0x106, 2),
		     VIRTIO_NET_S_LINK_UP);
	cr_assert_eq(fake_vm_mmio_read(vm, d.base + 0x108, 2), 1);
	/* queue sizes */
	drv_w(&d, VIRTIO_MMIO_QUEUE_SEL, 1);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_QUEUE_NUM_MAX), 256);
	drv_w(&d, VIRTIO_MMIO_QUEUE_SEL, 2);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
}

Test(virtio_net, transmit)
{
	uint8_t frame[60], buf[2048];
	uint64_t a, b;
	struct drv_buf one, three[3];

	net_create(NULL, NULL);
	drv_up(ALL, 256);
	fill(frame, sizeof(frame), 1);

	/* header and frame in one buffer */
	a = drv_alloc(&d, HDR + sizeof(frame));
	memset(drv_ptr(&d, a, HDR), 0, HDR);
	memcpy(drv_ptr(&d, a + HDR, sizeof(frame)), frame, sizeof(frame));
	one = (struct drv_buf){ a, HDR + sizeof(frame), false };
	drv_add(&d, TXQ, &one, 1);
	/* header alone, then the frame in two pieces */
	b = drv_alloc(&d, HDR + sizeof(frame));
	memset(drv_ptr(&d, b, HDR), 0, HDR);
	memcpy(drv_ptr(&d, b + HDR, sizeof(frame)), frame, sizeof(frame));
	three[0] = (struct drv_buf){ b, HDR, false };
	three[1] = (struct drv_buf){ b + HDR, 20, false };
	three[2] = (struct drv_buf){ b + HDR + 20, sizeof(frame) - 20, false };
	drv_add(&d, TXQ, three, 3);
	drv_kick(&d, TXQ);

	cr_assert_eq(peer_recv(buf, sizeof(buf)), sizeof(frame));
	cr_assert_arr_eq(buf, frame, sizeof(frame));
	cr_assert_eq(peer_recv(buf, sizeof(buf)), sizeof(frame));
	cr_assert_arr_eq(buf, frame, sizeof(frame));
	cr_assert(drv_wait_used(&d, TXQ, 2));
	cr_assert_eq(drv_used(&d, TXQ, 0).len, 0);
	cr_assert(drv_r(&d, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_INT_VRING);
	cr_assert_geq(efd_count(irq_efd()), 1);
	cr_assert_eq(vm->stop_requests, 0);
}

Test(virtio_net, transmit_runt_dropped)
{
	struct drv_buf b;
	uint8_t buf[64];

	net_create(NULL, NULL);
	drv_up(ALL, 256);
	b = (struct drv_buf){ drv_alloc(&d, 20), 20, false };
	drv_add(&d, TXQ, &b, 1);
	drv_kick(&d, TXQ);
	cr_assert(drv_wait_used(&d, TXQ, 1));
	cr_assert_lt(recv(peer, buf, sizeof(buf), MSG_DONTWAIT), 0);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_STATUS) &
			     VIRTIO_STATUS_DEVICE_NEEDS_RESET,
		     0);
}

Test(virtio_net, receive)
{
	uint8_t frame[100];
	uint64_t a;
	struct virtq_used_elem e;
	const struct virtio_net_hdr_v1 *h;

	net_create(NULL, NULL);
	drv_up(ALL, 256);
	a = post_rx(2048);
	post_rx(2048);
	drv_kick(&d, RXQ);
	fill(frame, sizeof(frame), 3);
	cr_assert_eq(send(peer, frame, sizeof(frame), 0), sizeof(frame));
	cr_assert(drv_wait_used(&d, RXQ, 1));
	e = drv_used(&d, RXQ, 0);
	cr_assert_eq(e.id, 0);
	cr_assert_eq(e.len, HDR + sizeof(frame));
	h = drv_ptr(&d, a, HDR);
	cr_assert_eq(h->num_buffers, 1);
	cr_assert_eq(h->flags, 0);
	cr_assert_eq(h->gso_type, VIRTIO_NET_HDR_GSO_NONE);
	cr_assert_arr_eq(drv_ptr(&d, a + HDR, sizeof(frame)), frame,
			 sizeof(frame));
	cr_assert(drv_r(&d, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_INT_VRING);
}

Test(virtio_net, receive_mergeable)
{
	uint8_t frame[1400], got[1400 + HDR];
	uint64_t a[4];
	size_t off = 0;
	const struct virtio_net_hdr_v1 *h;

	net_create(NULL, NULL);
	drv_up(ALL, 256);
	for (unsigned i = 0; i < 4; i++)
		a[i] = post_rx(512);
	drv_kick(&d, RXQ);
	fill(frame, sizeof(frame), 9);
	cr_assert_eq(send(peer, frame, sizeof(frame), 0), sizeof(frame));
	cr_assert(drv_wait_used(&d, RXQ, 3));
	/* all three were published together */
	cr_assert_eq(drv_used_idx(&d, RXQ), 3);
	h = drv_ptr(&d, a[0], HDR);
	cr_assert_eq(h->num_buffers, 3);
	for (unsigned i = 0; i < 3; i++) {
		struct virtq_used_elem e = drv_used(&d, RXQ, (uint16_t)i);

		cr_assert_eq(e.id, i);
		memcpy(got + off, drv_ptr(&d, a[i], e.len), e.len);
		off += e.len;
	}
	cr_assert_eq(off, HDR + sizeof(frame));
	cr_assert_arr_eq(got + HDR, frame, sizeof(frame));
}

Test(virtio_net, receive_waits_for_buffers)
{
	uint8_t frame[200];
	uint64_t a;

	net_create(NULL, NULL);
	drv_up(ALL, 256);
	fill(frame, sizeof(frame), 5);
	cr_assert_eq(send(peer, frame, sizeof(frame), 0), sizeof(frame));
	drv_sleep_ms(50);
	cr_assert_eq(drv_used_idx(&d, RXQ), 0);
	/* mergeable: two small buffers are not enough, nothing consumed */
	post_rx(64);
	post_rx(64);
	drv_kick(&d, RXQ);
	drv_sleep_ms(50);
	cr_assert_eq(drv_used_idx(&d, RXQ), 0);
	/* a third and fourth make room */
	a = post_rx(64);
	post_rx(64);
	drv_kick(&d, RXQ);
	cr_assert(drv_wait_used(&d, RXQ, 4));
	(void)a;
	cr_assert_eq(
		((struct virtio_net_hdr_v1 *)drv_ptr(&d, DRV_BUF_BASE, HDR))
			->num_buffers,
		4);
}

Test(virtio_net, receive_too_big_without_mrg)
{
	uint8_t big[300], small[50];
	uint64_t a;

	net_create(NULL, NULL);
	drv_up(ALL & ~VIRTIO_F(VIRTIO_NET_F_MRG_RXBUF), 256);
	a = post_rx(100);
	drv_kick(&d, RXQ);
	fill(big, sizeof(big), 1);
	fill(small, sizeof(small), 2);
	cr_assert_eq(send(peer, big, sizeof(big), 0), sizeof(big));
	cr_assert_eq(send(peer, small, sizeof(small), 0), sizeof(small));
	cr_assert(drv_wait_used(&d, RXQ, 1));
	cr_assert_eq(drv_used(&d, RXQ, 0).len, HDR + sizeof(small));
	cr_assert_arr_eq(drv_ptr(&d, a + HDR, sizeof(small)), small,
			 sizeof(small));
	cr_assert_eq(
		((struct virtio_net_hdr_v1 *)drv_ptr(&d, a, HDR))->num_buffers,
		1);
}

Test(virtio_net, malformed_ring_needs_reset_and_recovers)
{
	struct drv_buf bad = { 0x7fff0000000ULL, 100, false };
	uint8_t frame[60], buf[128];
	uint64_t a;
	struct drv_buf good;

	net_create(NULL, NULL);
	drv_up(ALL, 256);
	drv_add(&d, TXQ, &bad, 1);
	drv_kick(&d, TXQ);
	cr_assert(drv_wait_status(&d, VIRTIO_STATUS_DEVICE_NEEDS_RESET));
	/* The I/O thread publishes the status, then raises the config
	 * interrupt: on a slow host (qemu-user) the test can see the first
	 * before the second. */
	for (unsigned ms = 0;
	     ms < 5000 &&
	     !(drv_r(&d, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_INT_CONFIG);
	     ms++)
		drv_sleep_ms(1);
	cr_assert(drv_r(&d, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_INT_CONFIG);
	cr_assert_eq(vm->stop_requests, 0);
	/* more kicks do nothing */
	drv_kick(&d, TXQ);
	drv_sleep_ms(20);
	cr_assert_eq(drv_used_idx(&d, TXQ), 0);

	/* the driver resets and starts over: works again */
	drv_up(ALL, 256);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_STATUS) &
			     VIRTIO_STATUS_DEVICE_NEEDS_RESET,
		     0);
	fill(frame, sizeof(frame), 4);
	a = drv_alloc(&d, HDR + sizeof(frame));
	memset(drv_ptr(&d, a, HDR), 0, HDR);
	memcpy(drv_ptr(&d, a + HDR, sizeof(frame)), frame, sizeof(frame));
	good = (struct drv_buf){ a, HDR + sizeof(frame), false };
	drv_add(&d, TXQ, &good, 1);
	drv_kick(&d, TXQ);
	cr_assert_eq(peer_recv(buf, sizeof(buf)), sizeof(frame));
	cr_assert(drv_wait_used(&d, TXQ, 1));
}

Test(virtio_net, avail_index_garbage_needs_reset)
{
	struct virtq_avail *av;

	net_create(NULL, NULL);
	drv_up(ALL, 256);
	av = drv_ptr(&d, d.q[RXQ].avail, 4);
	av->idx = 1000; /* far more than the queue size */
	drv_kick(&d, RXQ);
	cr_assert_eq(send(peer, "0123456789abcdef", 16, 0), 16);
	cr_assert(drv_wait_status(&d, VIRTIO_STATUS_DEVICE_NEEDS_RESET));
	cr_assert_eq(vm->stop_requests, 0);
}

Test(virtio_net, device_reset_while_busy)
{
	uint8_t frame[60];

	net_create(NULL, NULL);
	for (unsigned round = 0; round < 20; round++) {
		drv_up(ALL, 256);
		post_rx(2048);
		drv_kick(&d, RXQ);
		fill(frame, sizeof(frame), round);
		send(peer, frame, sizeof(frame), MSG_DONTWAIT);
		/* reset at any moment: the thread must let go */
		drv_w(&d, VIRTIO_MMIO_STATUS, 0);
		cr_assert_eq(drv_r(&d, VIRTIO_MMIO_STATUS), 0);
	}
	dev->type->reset(dev);
	cr_assert_eq(vm->stop_requests, 0);
}

/* ---- configuration ---- */

static int check(struct cfg_device *c, char *msg, size_t len)
{
	struct cfg_error err = { { 0 } };
	int ret = virtio_net_type.check(c, &err);

	snprintf(msg, len, "%s", err.msg);
	return ret;
}

Test(virtio_net_cfg, checks)
{
	static const struct {
		const char *kv1, *kv2, *key;
	} bad[] = {
		{ "mac=52:54:00:12:34", NULL, "mac" },
		{ "mac=52:54:00:12:34:5g", NULL, "mac" },
		{ "mac=53:54:00:12:34:56", NULL, "multicast" },
		{ "mac=00:00:00:00:00:00", NULL, "all-zero" },
		{ "tap=bad/name", NULL, "tap" },
		{ "tap=a:b", NULL, "tap" },
		{ "tap=0123456789abcdef", NULL, "tap" },
		{ "bridge=br 0", NULL, "bridge" },
		{ "fd=3", "tap=tap0", "exclusive" },
		{ "fd=3", "queues=2", "one queue" },
		{ "queue-size=100", NULL, "power of two" },
	};
	char msg[512];

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cfg_device *c = dev_cfg_new(
			&virtio_net_type, "net0", bad[i].kv1, bad[i].kv2, NULL);

		cr_assert_eq(check(c, msg, sizeof(msg)), -EINVAL, "%s",
			     bad[i].kv1);
		cr_assert(strstr(msg, bad[i].key), "%s: %s", bad[i].kv1, msg);
		cr_assert(strstr(msg, "net0"), "%s", msg);
		dev_cfg_free(c);
	}
	{
		struct cfg_device *c = dev_cfg_new(
			&virtio_net_type, "net0", "tap=vmtap0",
			"mac=02:00:00:00:00:01", "queues=4", "mtu=9000", NULL);

		cr_assert_eq(check(c, msg, sizeof(msg)), 0, "%s", msg);
		dev_cfg_free(c);
	}
}

static void mac_of(struct vm *v, uint8_t mac[6])
{
	for (unsigned i = 0; i < 6; i++)
		mac[i] = (uint8_t)fake_vm_mmio_read(
			v, ABI_VIRTIO_MMIO_BASE + 0x100 + i, 1);
}

Test(virtio_net_cfg, default_mac)
{
	struct vm *v = fake_vm_new();
	int sv[2], err;
	char kv[32];
	uint8_t m1[6], m2[6], m3[6];
	struct cfg_device *c;
	struct device *dv;
	const char *names[3] = { "net0", "net0", "net1" };
	uint8_t *out[3] = { m1, m2, m3 };

	for (unsigned i = 0; i < 3; i++) {
		cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
		snprintf(kv, sizeof(kv), "fd=%d", sv[0]);
		c = dev_cfg_new(&virtio_net_type, names[i], kv,
				"transport=mmio", NULL);
		dv = dev_create(v, c, &err);
		cr_assert_not_null(dv);
		mac_of(v, out[i]);
		dev_destroy(dv);
		dev_cfg_free(c);
		close(sv[1]);
		fake_vm_free(v);
		v = fake_vm_new();
	}
	fake_vm_free(v);
	cr_assert_arr_eq(m1, m2, 6);
	cr_assert(memcmp(m1, m3, 6) != 0);
	cr_assert_eq(m1[0] & 3, 2); /* locally administered, unicast */
	cr_assert_eq(m3[0] & 3, 2);
}

Test(virtio_net_cfg, bad_fd)
{
	struct vm *v = fake_vm_new();
	struct cfg_device *c;
	int err = 0, p[2];
	char kv[32];

	c = dev_cfg_new(&virtio_net_type, "net0", "fd=987", NULL);
	cr_assert_null(dev_create(v, c, &err));
	cr_assert_neq(err, 0);
	dev_cfg_free(c);
	/* a stream socket is not one frame per message */
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, p), 0);
	snprintf(kv, sizeof(kv), "fd=%d", p[0]);
	c = dev_cfg_new(&virtio_net_type, "net0", kv, NULL);
	cr_assert_null(dev_create(v, c, &err));
	dev_cfg_free(c);
	/* vhost = on needs a TAP */
	snprintf(kv, sizeof(kv), "fd=%d", p[1]);
	close(p[0]);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, p), 0);
	snprintf(kv, sizeof(kv), "fd=%d", p[0]);
	c = dev_cfg_new(&virtio_net_type, "net0", kv, "vhost=on", NULL);
	cr_assert_null(dev_create(v, c, &err));
	dev_cfg_free(c);
	close(p[1]);
	fake_vm_free(v);
}

/* ---- a real TAP, as root, in a private network namespace ---- */

/* A new network namespace, with a sysfs of its own (/sys/class/net of
 * the namespace) in a new mount namespace. */
static bool private_netns(void)
{
	if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0)
		return false;
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) != 0)
		return false;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mount("sysfs", "/sys", "sysfs", 0, NULL) != 0)
		return false;
	return true;
}

/* Run create with stderr captured into msg. */
static struct device *create_capture(struct cfg_device *c, char *msg,
				     size_t len, int *err)
{
	FILE *f = tmpfile();
	int saved = dup(2);
	struct device *dv;
	size_t n;

	fflush(stderr);
	dup2(fileno(f), 2);
	dv = dev_create(vm, c, err);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	n = fread(msg, 1, len - 1, f);
	msg[n] = '\0';
	fclose(f);
	return dv;
}

TestSuite(virtio_net_tap, .init = setup, .fini = teardown, .timeout = 30);

static int ifindex_up(const char *name)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_UNIX, SOCK_DGRAM, 0), ret;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ret = ioctl(s, SIOCGIFFLAGS, &ifr);
	close(s);
	return ret < 0 ? -1 : !!(ifr.ifr_flags & IFF_UP);
}

Test(virtio_net_tap, tap_bridge_and_errors)
{
	char msg[2048];
	int err = 0, s;

	if (!private_netns())
		cr_skip_test("needs root and /dev/net/tun");

	/* missing bridge: a clear error naming device and bridge */
	cfg = dev_cfg_new(&virtio_net_type, "net0", "transport=mmio", "tap=vt0",
			  "bridge=nosuchbr0", NULL);
	dev = create_capture(cfg, msg, sizeof(msg), &err);
	cr_assert_null(dev);
	cr_assert(strstr(msg, "net0: bridge \"nosuchbr0\": no such interface"),
		  "%s", msg);
	/* and already at config time */
	cr_assert_eq(check(cfg, msg, sizeof(msg)), -EINVAL);
	cr_assert(strstr(msg, "[device \"net0\"] bridge: \"nosuchbr0\": no "
			      "such interface"),
		  "%s", msg);
	dev_cfg_free(cfg);

	/* an interface that is not a bridge */
	cfg = dev_cfg_new(&virtio_net_type, "net0", "transport=mmio", "tap=vt0",
			  "bridge=lo", NULL);
	dev = create_capture(cfg, msg, sizeof(msg), &err);
	cr_assert_null(dev);
	cr_assert(strstr(msg, "not a Linux bridge"), "%s", msg);
	cr_assert_eq(check(cfg, msg, sizeof(msg)), -EINVAL);
	cr_assert(strstr(msg, "not a Linux bridge"), "%s", msg);
	dev_cfg_free(cfg);

	/* a real bridge */
	s = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (ioctl(s, SIOCBRADDBR, "vbr0") != 0 &&
	    (errno == ENOTTY || errno == ENOSYS || errno == EINVAL)) {
		/* qemu-user (the arm64 unit tests) does not translate the
		 * bridge ioctls: the rest needs a real bridge. */
		close(s);
		cr_skip_test("bridge ioctls unavailable here (%s)",
			     strerror(errno));
	}
	close(s);
	cr_assert_eq(access("/sys/class/net/vbr0/bridge", F_OK), 0,
		     "SIOCBRADDBR did not create bridge vbr0");
	cfg = dev_cfg_new(&virtio_net_type, "net0", "transport=mmio", "tap=vt0",
			  "bridge=vbr0", "mtu=9000", "queues=2", NULL);
	dev = create_capture(cfg, msg, sizeof(msg), &err);
	cr_assert_not_null(dev, "%s", msg);
	cr_assert_eq(ifindex_up("vt0"), 1);
	cr_assert_eq(access("/sys/class/net/vt0/master", F_OK), 0);
	{
		uint64_t f = drv_device_features(&d);

		cr_assert(f & VIRTIO_F(VIRTIO_NET_F_MQ));
		cr_assert(f & VIRTIO_F(VIRTIO_NET_F_CTRL_VQ));
		cr_assert(f & VIRTIO_F(VIRTIO_NET_F_MTU));
		cr_assert(f & VIRTIO_F(VIRTIO_NET_F_GUEST_TSO4));
		cr_assert(f & VIRTIO_F(VIRTIO_NET_F_CSUM));
		cr_assert_not(f & VIRTIO_F(VIRTIO_NET_F_GUEST_UFO));
		cr_assert_eq(fake_vm_mmio_read(vm, d.base + 0x10a, 2), 9000);
		cr_assert_eq(fake_vm_mmio_read(vm, d.base + 0x108, 2), 2);
	}
	dev_destroy(dev);
	dev = NULL;

	/* a TUN where a TAP is expected */
	{
		struct ifreq ifr = { 0 };
		int fd = open("/dev/net/tun", O_RDWR);

		ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "vtun0");
		cr_assert_eq(ioctl(fd, TUNSETIFF, &ifr), 0);
		cr_assert_eq(ioctl(fd, TUNSETPERSIST, 1), 0);
		close(fd);
	}
	dev_cfg_free(cfg);
	cfg = dev_cfg_new(&virtio_net_type, "net0", "tap=vtun0", NULL);
	dev = create_capture(cfg, msg, sizeof(msg), &err);
	cr_assert_null(dev);
	cr_assert(strstr(msg, "net0: tap \"vtun0\"") &&
			  strstr(msg, "TUN device"),
		  "%s", msg);

	/* vhost = on without /dev/vhost-net */
	if (access("/dev/vhost-net", F_OK) != 0) {
		dev_cfg_free(cfg);
		cfg = dev_cfg_new(&virtio_net_type, "net0", "tap=vt1",
				  "vhost=on", NULL);
		dev = create_capture(cfg, msg, sizeof(msg), &err);
		cr_assert_null(dev);
		cr_assert(strstr(msg, "net0: vhost = on but /dev/vhost-net"),
			  "%s", msg);
	}
}

Test(virtio_net_tap, frames_through_a_tap)
{
	struct sockaddr_ll sll = { 0 };
	uint8_t frame[64], buf[2048];
	struct drv_buf b;
	uint64_t a, rx[16];
	bool found = false;
	int err = 0, ps;
	ssize_t n;

	if (!private_netns())
		cr_skip_test("needs root and /dev/net/tun");
	cfg = dev_cfg_new(&virtio_net_type, "net0", "transport=mmio", "tap=vt0",
			  NULL);
	dev = dev_create(vm, cfg, &err);
	cr_assert_not_null(dev, "%s", strerror(-err));
	/* offload dependencies (5.1.3.1) are enforced */
	cr_assert_not(
		drv_negotiate(&d, VIRTIO_F(VIRTIO_F_VERSION_1) |
					  VIRTIO_F(VIRTIO_NET_F_GUEST_TSO4)));
	cr_assert_not(
		drv_negotiate(&d, VIRTIO_F(VIRTIO_F_VERSION_1) |
					  VIRTIO_F(VIRTIO_NET_F_HOST_TSO6)));
	cr_assert(drv_negotiate(&d, VIRTIO_F(VIRTIO_F_VERSION_1) |
					    VIRTIO_F(VIRTIO_NET_F_GUEST_CSUM) |
					    VIRTIO_F(VIRTIO_NET_F_GUEST_TSO4)));
	drv_up(ALL, 256);

	/* a packet socket on the host side of the TAP */
	ps = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	cr_assert_geq(ps, 0);
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = (int)if_nametoindex("vt0");
	cr_assert_eq(bind(ps, (struct sockaddr *)&sll, sizeof(sll)), 0);

	/* guest -> host: an Ethernet frame with an unknown ethertype */
	memset(frame, 0, sizeof(frame));
	memcpy(frame, "\xff\xff\xff\xff\xff\xff\x52\x54\x00\x12\x34\x56", 12);
	frame[12] = 0x88;
	frame[13] = 0xb5; /* local experimental ethertype */
	fill(frame + 14, sizeof(frame) - 14, 11);
	a = drv_alloc(&d, HDR + sizeof(frame));
	memset(drv_ptr(&d, a, HDR), 0, HDR);
	memcpy(drv_ptr(&d, a + HDR, sizeof(frame)), frame, sizeof(frame));
	b = (struct drv_buf){ a, HDR + sizeof(frame), false };
	drv_add(&d, TXQ, &b, 1);
	drv_kick(&d, TXQ);
	cr_assert(drv_wait_used(&d, TXQ, 1));
	for (unsigned i = 0; i < 3000; i++) {
		n = recv(ps, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == sizeof(frame) && !memcmp(buf, frame, sizeof(frame)))
			break;
		drv_sleep_ms(1);
	}
	cr_assert_eq(n, sizeof(frame));
	cr_assert_arr_eq(buf, frame, sizeof(frame));

	/* host -> guest (the kernel may send its own IPv6 chatter too) */
	for (unsigned i = 0; i < 16; i++)
		rx[i] = post_rx(2048);
	drv_kick(&d, RXQ);
	memcpy(frame, "\x52\x54\x00\x12\x34\x56\x02\x00\x00\x00\x00\x01", 12);
	cr_assert_eq(send(ps, frame, sizeof(frame), 0), sizeof(frame));
	for (unsigned t = 0; t < 3000 && !found; t++) {
		uint16_t used = drv_used_idx(&d, RXQ);

		for (uint16_t i = 0; i < used && !found; i++) {
			struct virtq_used_elem e = drv_used(&d, RXQ, i);

			found = e.len == HDR + sizeof(frame) &&
				!memcmp(drv_ptr(&d, rx[e.id] + HDR,
						sizeof(frame)),
					frame, sizeof(frame));
		}
		drv_sleep_ms(1);
	}
	cr_assert(found);
	close(ps);
}

/* Send one control command; returns the ack byte the device wrote. */
static uint8_t ctrl_cmd(unsigned cq, uint8_t cls, uint8_t cmd, uint16_t arg)
{
	uint64_t a = drv_alloc(&d, 8);
	uint8_t *p = drv_ptr(&d, a, 8);
	struct drv_buf b[2] = { { a, 4, false }, { a + 4, 1, true } };
	uint16_t used = drv_used_idx(&d, cq);

	p[0] = cls;
	p[1] = cmd;
	p[2] = (uint8_t)arg;
	p[3] = (uint8_t)(arg >> 8);
	p[4] = 0xee;
	drv_add(&d, cq, b, 2);
	drv_kick(&d, cq);
	cr_assert(drv_wait_used(&d, cq, (uint16_t)(used + 1)));
	return p[4];
}

Test(virtio_net_tap, multiqueue_and_control_queue)
{
	uint8_t frame[64];
	struct drv_buf b;
	uint64_t a;
	int err = 0;

	if (!private_netns())
		cr_skip_test("needs root and /dev/net/tun");
	/* vhost = off: the pairs-in-use rule is the userspace data path's
	 * (where /dev/vhost-net exists, e.g. in the nested L1, the kernel
	 * would serve every enabled queue) */
	cfg = dev_cfg_new(&virtio_net_type, "net0", "transport=mmio", "tap=vt0",
			  "queues=2", "vhost=off", NULL);
	dev = dev_create(vm, cfg, &err);
	cr_assert_not_null(dev, "%s", strerror(-err));
	/* MQ without CTRL_VQ is refused */
	cr_assert_not(drv_negotiate(&d, ALL & ~VIRTIO_F(VIRTIO_NET_F_CTRL_VQ)));
	cr_assert(drv_negotiate(&d, ALL));
	for (unsigned q = 0; q < 4; q++)
		cr_assert(drv_queue(&d, q, 256));
	drv_w(&d, VIRTIO_MMIO_QUEUE_SEL, 4);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_QUEUE_NUM_MAX), 64);
	cr_assert(drv_queue(&d, 4, 64));
	drv_driver_ok(&d);

	/* transmit on pair 1: not in use yet, nothing happens */
	memset(frame, 0, sizeof(frame));
	memcpy(frame,
	       "\xff\xff\xff\xff\xff\xff\x52\x54\x00\x12\x34\x56\x88\xb5", 14);
	a = drv_alloc(&d, HDR + sizeof(frame));
	memset(drv_ptr(&d, a, HDR), 0, HDR);
	memcpy(drv_ptr(&d, a + HDR, sizeof(frame)), frame, sizeof(frame));
	b = (struct drv_buf){ a, HDR + sizeof(frame), false };
	drv_add(&d, VIRTIO_NET_TXQ(1), &b, 1);
	drv_kick(&d, VIRTIO_NET_TXQ(1));
	drv_sleep_ms(50);
	cr_assert_eq(drv_used_idx(&d, VIRTIO_NET_TXQ(1)), 0);

	/* bad commands */
	cr_assert_eq(ctrl_cmd(4, VIRTIO_NET_CTRL_MQ,
			      VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 3),
		     VIRTIO_NET_ERR);
	cr_assert_eq(ctrl_cmd(4, VIRTIO_NET_CTRL_MQ,
			      VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 0),
		     VIRTIO_NET_ERR);
	cr_assert_eq(ctrl_cmd(4, 0, 0, 0), VIRTIO_NET_ERR); /* CTRL_RX */
	/* two pairs: pair 1 starts and sends its frame */
	cr_assert_eq(ctrl_cmd(4, VIRTIO_NET_CTRL_MQ,
			      VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 2),
		     VIRTIO_NET_OK);
	cr_assert(drv_wait_used(&d, VIRTIO_NET_TXQ(1), 1));
	/* back to one */
	cr_assert_eq(ctrl_cmd(4, VIRTIO_NET_CTRL_MQ,
			      VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 1),
		     VIRTIO_NET_OK);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_STATUS) &
			     VIRTIO_STATUS_DEVICE_NEEDS_RESET,
		     0);
}

Test(virtio_net_tap, persistent_tap_of_another_user)
{
	struct ifreq ifr = { 0 };
	char msg[2048];
	int fd, err = 0;

	if (!private_netns())
		cr_skip_test("needs root and /dev/net/tun");
	/* a persistent TAP owned by uid 4242 */
	fd = open("/dev/net/tun", O_RDWR);
	cr_assert_geq(fd, 0);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "vown0");
	cr_assert_eq(ioctl(fd, TUNSETIFF, &ifr), 0);
	cr_assert_eq(ioctl(fd, TUNSETOWNER, 4242), 0);
	cr_assert_eq(ioctl(fd, TUNSETPERSIST, 1), 0);
	close(fd);
	/* /dev/net/tun usable by everyone (a private node over it: the mount
	 * namespace is ours) */
	{
		char node[] = "/tmp/vmm-tun-XXXXXX";
		int tfd = mkstemp(node);

		cr_assert_geq(tfd, 0);
		close(tfd);
		unlink(node);
		cr_assert_eq(mknod(node, S_IFCHR | 0666, makedev(10, 200)), 0);
		chmod(node, 0666);
		cr_assert_eq(mount(node, "/dev/net/tun", NULL, MS_BIND, NULL),
			     0);
		unlink(node);
	}
	/* we become another unprivileged user */
	cr_assert_eq(setresgid(65534, 65534, 65534), 0);
	cr_assert_eq(setresuid(65534, 65534, 65534), 0);
	cfg = dev_cfg_new(&virtio_net_type, "net0", "transport=mmio",
			  "tap=vown0", NULL);
	dev = create_capture(cfg, msg, sizeof(msg), &err);
	cr_assert_null(dev);
	cr_assert(strstr(msg, "net0: tap \"vown0\": Operation not permitted "
			      "(persistent TAP with owner uid 4242"),
		  "%s", msg);
	/* creating one is not allowed either */
	dev_cfg_free(cfg);
	cfg = dev_cfg_new(&virtio_net_type, "net0", "transport=mmio",
			  "tap=vnew0", NULL);
	dev = create_capture(cfg, msg, sizeof(msg), &err);
	cr_assert_null(dev);
	cr_assert(strstr(msg, "net0: tap \"vnew0\": Operation not permitted "
			      "(needs CAP_NET_ADMIN)"),
		  "%s", msg);
}
