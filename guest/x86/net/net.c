/* SPDX-License-Identifier: MIT */
/*
 * net.elf: the virtio-net test guest. Brings up the first virtio-net device
 * (virtio-mmio or virtio-pci), answers ARP and ICMP echo for its address
 * and echoes UDP datagrams on one port, until a datagram "quit" arrives on
 * that port (echoed, then the guest powers off: exit status 0) or the
 * timeout passes. A datagram "reset" (echoed) makes the guest reset the
 * device and bring it up again, as a driver reloading would.
 *
 * Command line:
 *   net=auto|mmio[:ADDR[:IRQ]]|pci[:SLOT]   where the NIC is (default auto)
 *   ip=A.B.C.D         our address (default 10.0.2.15)
 *   port=N             UDP echo port (default 7)
 *   timeout=MS         stop after MS ms of guest time (default: never)
 *   poll               no device interrupts: poll at every timer tick
 *   nomrg              do not negotiate VIRTIO_NET_F_MRG_RXBUF
 *   quiet              no line per packet
 *   misbehave=rx-oob|tx-loop   (device tests) after start-up, post a
 *                      receive buffer outside guest RAM, or a transmit chain
 *                      whose descriptor links to itself; a correct device
 *                      sets DEVICE_NEEDS_RESET (exit status 103) and does
 *                      not touch anything else
 *
 * Exit status (debug-exit code): 0 after "quit" (ACPI power-off), 97 (0x30)
 * no device or bad options, 99 (0x31) device initialisation failed, 101
 * (0x32) timeout, 103 (0x33) the device set DEVICE_NEEDS_RESET.
 */
#include "rt.h"
#include "net.h"

#define EXIT_NODEV   0x30
#define EXIT_INIT    0x31
#define EXIT_TIMEOUT 0x32
#define EXIT_RESET   0x33

#define DEFAULT_IP   0x0a00020fu /* 10.0.2.15 */
#define DEFAULT_PORT 7
#define TICK_HZ	     100
#define DRAIN_MS     200

static struct rt_vnet nic;
static struct rt_net net;
static struct rt_vnet_opts opts;
static bool quit, reset;

static void echo(struct rt_net *n, uint32_t src, uint16_t sport, uint16_t dport,
		 const uint8_t *data, size_t len, void *arg)
{
	size_t l = len;
	char ip[16];

	while (l && (data[l - 1] == '\n' || data[l - 1] == '\r'))
		l--;
	if (n->verbose)
		rt_printf("net: udp %u bytes from %s:%u\n", (unsigned)len,
			  rt_net_ip_str(src, ip), sport);
	if (rt_net_udp_send(n, src, dport, sport, data, len))
		rt_printf("net: udp echo to %s:%u failed\n",
			  rt_net_ip_str(src, ip), sport);
	if (l == 4 && !memcmp(data, "quit", 4)) {
		rt_printf("net: quit from %s:%u\n", rt_net_ip_str(src, ip),
			  sport);
		quit = true;
	}
	if (l == 5 && !memcmp(data, "reset", 5)) {
		rt_printf("net: reset from %s:%u\n", rt_net_ip_str(src, ip),
			  sport);
		reset = true;
	}
}

static void print_features(uint64_t f)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{ VIRTIO_F_VERSION_1, "VERSION_1" },
		{ VIRTIO_NET_F_MAC, "MAC" },
		{ VIRTIO_NET_F_STATUS, "STATUS" },
		{ VIRTIO_NET_F_MRG_RXBUF, "MRG_RXBUF" },
	};

	rt_printf("net: features 0x%llx:", (unsigned long long)f);
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((f >> names[i].bit) & 1)
			rt_printf(" %s", names[i].name);
	rt_putc('\n');
}

static void stats(void)
{
	const struct rt_net_stats *s = &net.stats;

	rt_printf("net: stats frames in=%llu out=%llu arp=%llu icmp=%llu "
		  "udp in=%llu out=%llu dropped=%llu (nic dropped rx=%llu "
		  "tx=%llu) interrupts=%u\n",
		  (unsigned long long)s->frames_in,
		  (unsigned long long)s->frames_out,
		  (unsigned long long)s->arp_replies,
		  (unsigned long long)s->icmp_echoes,
		  (unsigned long long)s->udp_in, (unsigned long long)s->udp_out,
		  (unsigned long long)s->dropped,
		  (unsigned long long)nic.rx_dropped,
		  (unsigned long long)nic.tx_dropped, nic.dev.interrupts);
}

/* Break the driver side of the rules on purpose (misbehave=). */
static void misbehave(void)
{
	static uint8_t pad[64];
	struct rt_virtq_buf b[2];
	uint16_t head;

	if (rt_cmdline_is("misbehave", "rx-oob")) {
		/* Every descriptor is posted: redirect the one the device
		 * will use next (nothing is in flight while the guest is
		 * idle) to 1 TiB, far beyond the RAM of any test. */
		head = nic.rx.avail.ring[nic.rx.used.idx & (nic.rx.size - 1)];
		nic.rx.desc[head].addr = 0x10000000000ull;
		rt_printf("net: misbehaving: receive descriptor %u at "
			  "0x10000000000\n",
			  head);
	} else if (rt_cmdline_is("misbehave", "tx-loop")) {
		b[0].addr = pad;
		b[0].len = sizeof(pad);
		b[0].write = false;
		b[1] = b[0];
		head = nic.tx.free_head;
		rt_virtq_add(&nic.tx, b, 2, pad);
		nic.tx.desc[head].next = head;
		rt_virtq_kick(&nic.dev, &nic.tx);
		rt_printf(
			"net: misbehaving: transmit chain %u links to itself\n",
			head);
	}
}

/* Let queued frames leave (at most DRAIN_MS) before a reset drops them. */
static void drain(void)
{
	uint64_t end = rt_ticks() + DRAIN_MS * TICK_HZ / 1000;

	while (rt_vnet_tx_pending(&nic) && rt_ticks() < end)
		rt_virtio_wait(&nic.dev);
}

/* Reset the device and initialise it again; the stack keeps its state. */
static int reopen(void)
{
	char why[160];

	drain();
	rt_vnet_close(&nic);
	if (rt_vnet_open(&nic, &opts, why, sizeof(why))) {
		rt_printf("net: after reset: %s\n", why);
		return -1;
	}
	rt_printf("net: reset done, up again (rx %u tx %u)\n", nic.rx.size,
		  nic.tx.size);
	return 0;
}

int main(void)
{
	const char *v = "";
	size_t vlen = 0;
	uint32_t ip = DEFAULT_IP;
	uint64_t port, timeout, end, next_check = 0;
	char why[160], a[18], b[16], irq[32];

	rt_puts("vmm net test guest\n");
	rt_cmdline_opt("net", &v, &vlen);
	if (rt_vnet_parse(v, vlen, &opts)) {
		rt_printf("net: bad option net=%.*s\n", (int)vlen, v);
		return EXIT_NODEV;
	}
	if (rt_cmdline_opt("ip", &v, &vlen) && rt_net_parse_ip(v, vlen, &ip)) {
		rt_printf("net: bad option ip=%.*s\n", (int)vlen, v);
		return EXIT_NODEV;
	}
	port = rt_cmdline_uint("port", DEFAULT_PORT);
	if (port == 0 || port > 0xffff) {
		rt_puts("net: bad option port=\n");
		return EXIT_NODEV;
	}
	timeout = rt_cmdline_uint("timeout", 0);
	opts.poll = rt_cmdline_has("poll");
	opts.no_mrg_rxbuf = rt_cmdline_has("nomrg");

	/* Calibrate and start the timer first: "net: up" must mean that
	 * frames are being served. */
	rt_timer_start(TICK_HZ, NULL, NULL);
	if (rt_vnet_open(&nic, &opts, why, sizeof(why))) {
		rt_printf("net: %s\n", why);
		return nic.dev.name[0] ? EXIT_INIT : EXIT_NODEV;
	}
	rt_printf("net: virtio-net %s, %s, queues rx %u tx %u\n", nic.dev.name,
		  rt_virtio_irq_mode(&nic.dev, irq, sizeof(irq)), nic.rx.size,
		  nic.tx.size);
	if (nic.dev.transport == RT_VIRTIO_PCI)
		rt_printf("net: common cfg 0x%llx, notify 0x%llx, isr 0x%llx, "
			  "device cfg 0x%llx, msi-x table 0x%llx\n",
			  (unsigned long long)nic.dev.common,
			  (unsigned long long)nic.dev.notify_base,
			  (unsigned long long)nic.dev.isr,
			  (unsigned long long)nic.dev.devcfg,
			  (unsigned long long)nic.dev.msix_table);
	print_features(nic.dev.features);
	rt_net_init(&net, &nic, ip);
	net.verbose = !rt_cmdline_has("quiet");
	rt_net_udp_bind(&net, (uint16_t)port, echo, NULL);
	rt_printf("net: up mac=%s ip=%s link=%s\n", rt_net_mac_str(nic.mac, a),
		  rt_net_ip_str(ip, b), rt_vnet_link_up(&nic) ? "up" : "down");
	rt_printf("net: udp echo on port %u; send \"quit\" to stop\n",
		  (unsigned)port);
	misbehave();

	end = timeout ? rt_ticks() + (timeout * TICK_HZ + 999) / 1000 : 0;
	while (!quit) {
		uint64_t t = rt_ticks();

		rt_net_poll(&net);
		if (quit)
			break;
		if (reset) {
			reset = false;
			if (reopen())
				return EXIT_INIT;
			continue;
		}
		if (end && t >= end) {
			rt_printf("net: timeout after %llu ms\n",
				  (unsigned long long)timeout);
			stats();
			rt_vnet_close(&nic);
			return EXIT_TIMEOUT;
		}
		if (t >= next_check) { /* once a second: one VM exit */
			next_check = t + TICK_HZ;
			if (rt_virtio_needs_reset(&nic.dev)) {
				rt_printf("net: %s: device needs reset\n",
					  nic.dev.name);
				stats();
				return EXIT_RESET;
			}
		}
		rt_virtio_wait(&nic.dev);
	}
	drain(); /* the echo of "quit" */
	stats();
	rt_vnet_close(&nic);
	rt_timer_stop();
	rt_puts("net: down\n");
	return 0;
}
