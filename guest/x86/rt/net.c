/* SPDX-License-Identifier: MIT */
/*
 * The tiny IPv4 stack (net.h). Frames are parsed with explicit big-endian
 * loads at byte offsets, never by casting packet memory to structures, so
 * alignment and padding never matter. Every length is checked against the
 * received frame before a field is read.
 */
#include "net.h"

#define ETH_HLEN      14
#define ETH_MIN_FRAME 60 /* without FCS: shorter frames are padded */
#define ETHERTYPE_IP  0x0800
#define ETHERTYPE_ARP 0x0806

#define ARP_LEN	     28
#define ARP_HW_ETHER 1
#define ARP_REQUEST  1
#define ARP_REPLY    2

#define IP_HLEN	      20
#define IP_PROTO_ICMP 1
#define IP_PROTO_UDP  17
#define IP_MF	      0x2000
#define IP_OFFSET     0x1fff
#define IP_TTL	      64

#define ICMP_HLEN	  8
#define ICMP_ECHO_REPLY	  0
#define ICMP_ECHO_REQUEST 8

#define UDP_HLEN     8
#define UDP_MAX_DATA (RT_VNET_FRAME_MAX - ETH_HLEN - IP_HLEN - UDP_HLEN)

static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* RFC 1071 sum of big-endian 16-bit words, not yet folded or inverted */
static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* UDP pseudo-header (RFC 768) plus the datagram */
static uint16_t udp_csum(uint32_t src, uint32_t dst, const uint8_t *udp,
			 size_t len)
{
	uint32_t sum = 0;

	sum += src >> 16;
	sum += src & 0xffff;
	sum += dst >> 16;
	sum += dst & 0xffff;
	sum += IP_PROTO_UDP;
	sum += (uint32_t)len;
	return fold(sum16(udp, len, sum));
}

const char *rt_net_ip_str(uint32_t ip, char *buf)
{
	rt_snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff,
		    (ip >> 8) & 0xff, ip & 0xff);
	return buf;
}

const char *rt_net_mac_str(const uint8_t *m, char *buf)
{
	rt_snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
		    m[3], m[4], m[5]);
	return buf;
}

int rt_net_parse_ip(const char *s, size_t len, uint32_t *ip)
{
	uint32_t v = 0, part = 0;
	unsigned dots = 0, digits = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			if (digits == 0 || part > 255)
				return -1;
			v = v << 8 | part;
			if (i < len && ++dots > 3)
				return -1;
			part = 0;
			digits = 0;
		} else if (s[i] >= '0' && s[i] <= '9' && digits < 3) {
			part = part * 10 + (uint32_t)(s[i] - '0');
			digits++;
		} else {
			return -1;
		}
	}
	if (dots != 3)
		return -1;
	*ip = v;
	return 0;
}

void rt_net_init(struct rt_net *net, struct rt_vnet *nic, uint32_t ip)
{
	memset(net, 0, sizeof(*net));
	net->nic = nic;
	memcpy(net->mac, nic->mac, 6);
	net->ip = ip;
	net->ip_id = 1;
}

int rt_net_udp_bind(struct rt_net *net, uint16_t port, rt_udp_fn fn, void *arg)
{
	if (port == 0 || !fn)
		return -1;
	for (unsigned i = 0; i < RT_NET_UDP_PORTS; i++) {
		if (net->udp[i].port && net->udp[i].port != port)
			continue;
		net->udp[i].port = port;
		net->udp[i].fn = fn;
		net->udp[i].arg = arg;
		return 0;
	}
	return -1;
}

static void arp_learn(struct rt_net *net, uint32_t ip, const uint8_t *mac)
{
	unsigned i;

	if (ip == 0 || (mac[0] & 1)) /* unspecified, or multicast MAC */
		return;
	for (i = 0; i < RT_NET_ARP_CACHE; i++) {
		if (net->arp[i].ip == ip) {
			memcpy(net->arp[i].mac, mac, 6);
			return;
		}
	}
	i = net->arp_next++ % RT_NET_ARP_CACHE;
	net->arp[i].ip = ip;
	memcpy(net->arp[i].mac, mac, 6);
}

static const uint8_t *arp_lookup(struct rt_net *net, uint32_t ip)
{
	for (unsigned i = 0; i < RT_NET_ARP_CACHE; i++)
		if (net->arp[i].ip == ip)
			return net->arp[i].mac;
	return NULL;
}

/* Send net->out[0..len) with an Ethernet header to dst. */
static int eth_send(struct rt_net *net, const uint8_t *dst, uint16_t type,
		    size_t len)
{
	memcpy(net->out, dst, 6);
	memcpy(net->out + 6, net->mac, 6);
	put16(net->out + 12, type);
	if (len < ETH_MIN_FRAME) {
		memset(net->out + len, 0, ETH_MIN_FRAME - len);
		len = ETH_MIN_FRAME;
	}
	if (rt_vnet_send(net->nic, net->out, len))
		return -1;
	net->stats.frames_out++;
	return 0;
}

static int arp_send(struct rt_net *net, uint16_t op, const uint8_t *eth_dst,
		    const uint8_t *tha, uint32_t tpa)
{
	uint8_t *a = net->out + ETH_HLEN;

	put16(a + 0, ARP_HW_ETHER);
	put16(a + 2, ETHERTYPE_IP);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, net->mac, 6);
	put32(a + 14, net->ip);
	memcpy(a + 18, tha, 6);
	put32(a + 24, tpa);
	return eth_send(net, eth_dst, ETHERTYPE_ARP, ETH_HLEN + ARP_LEN);
}

static void arp_input(struct rt_net *net, const uint8_t *a, size_t len)
{
	uint32_t spa, tpa;
	uint16_t op;
	char ip[16];

	if (len < ARP_LEN || get16(a) != ARP_HW_ETHER ||
	    get16(a + 2) != ETHERTYPE_IP || a[4] != 6 || a[5] != 4) {
		net->stats.dropped++;
		return;
	}
	op = get16(a + 6);
	spa = get32(a + 14);
	tpa = get32(a + 24);
	if (tpa != net->ip) {
		net->stats.dropped++;
		return;
	}
	arp_learn(net, spa, a + 8);
	if (op != ARP_REQUEST)
		return;
	if (arp_send(net, ARP_REPLY, a + 8, a + 8, spa) == 0)
		net->stats.arp_replies++;
	if (net->verbose)
		rt_printf("net: arp reply to %s\n", rt_net_ip_str(spa, ip));
}

/* Build an IPv4 header at out + ETH_HLEN for `payload` bytes and send. */
static int ip_send(struct rt_net *net, uint32_t dst, uint8_t proto,
		   size_t payload)
{
	uint8_t *h = net->out + ETH_HLEN;
	const uint8_t *mac = arp_lookup(net, dst);

	if (!mac) {
		arp_send(net, ARP_REQUEST, broadcast, broadcast, dst);
		net->stats.arp_requests++;
		return -1;
	}
	h[0] = 0x45;
	h[1] = 0;
	put16(h + 2, (uint16_t)(IP_HLEN + payload));
	put16(h + 4, net->ip_id++);
	put16(h + 6, 0);
	h[8] = IP_TTL;
	h[9] = proto;
	put16(h + 10, 0);
	put32(h + 12, net->ip);
	put32(h + 16, dst);
	put16(h + 10, fold(sum16(h, IP_HLEN, 0)));
	return eth_send(net, mac, ETHERTYPE_IP, ETH_HLEN + IP_HLEN + payload);
}

static void icmp_input(struct rt_net *net, uint32_t src, const uint8_t *p,
		       size_t len)
{
	uint8_t *r = net->out + ETH_HLEN + IP_HLEN;
	char ip[16];

	if (len < ICMP_HLEN || fold(sum16(p, len, 0)) != 0) {
		net->stats.dropped++;
		return;
	}
	if (p[0] != ICMP_ECHO_REQUEST || p[1] != 0) {
		net->stats.dropped++;
		return;
	}
	if (len > RT_VNET_FRAME_MAX - ETH_HLEN - IP_HLEN) {
		net->stats.dropped++;
		return;
	}
	memcpy(r, p, len);
	r[0] = ICMP_ECHO_REPLY;
	put16(r + 2, 0);
	put16(r + 2, fold(sum16(r, len, 0)));
	if (ip_send(net, src, IP_PROTO_ICMP, len) == 0)
		net->stats.icmp_echoes++;
	if (net->verbose)
		rt_printf("net: icmp echo from %s id=%u seq=%u len=%u\n",
			  rt_net_ip_str(src, ip), get16(p + 4), get16(p + 6),
			  (unsigned)(len - ICMP_HLEN));
}

static void udp_input(struct rt_net *net, uint32_t src, uint32_t dst,
		      const uint8_t *u, size_t len)
{
	uint16_t sport, dport, ulen, csum;

	if (len < UDP_HLEN) {
		net->stats.dropped++;
		return;
	}
	sport = get16(u);
	dport = get16(u + 2);
	ulen = get16(u + 4);
	csum = get16(u + 6);
	if (ulen < UDP_HLEN || ulen > len ||
	    (csum && udp_csum(src, dst, u, ulen) != 0)) {
		net->stats.dropped++;
		return;
	}
	for (unsigned i = 0; i < RT_NET_UDP_PORTS; i++) {
		if (net->udp[i].port != dport || !net->udp[i].fn)
			continue;
		net->stats.udp_in++;
		net->udp[i].fn(net, src, sport, dport, u + UDP_HLEN,
			       ulen - UDP_HLEN, net->udp[i].arg);
		return;
	}
	net->stats.dropped++;
}

static void ip_input(struct rt_net *net, const uint8_t *eth_src,
		     const uint8_t *h, size_t len)
{
	size_t ihl, total;
	uint32_t src, dst;

	if (len < IP_HLEN || (h[0] >> 4) != 4) {
		net->stats.dropped++;
		return;
	}
	ihl = (size_t)(h[0] & 0xf) * 4;
	total = get16(h + 2);
	if (ihl < IP_HLEN || total < ihl || total > len ||
	    fold(sum16(h, ihl, 0)) != 0) {
		net->stats.dropped++;
		return;
	}
	src = get32(h + 12);
	dst = get32(h + 16);
	if (dst != net->ip || (get16(h + 6) & (IP_MF | IP_OFFSET))) {
		net->stats.dropped++;
		return;
	}
	arp_learn(net, src, eth_src);
	switch (h[9]) {
	case IP_PROTO_ICMP:
		icmp_input(net, src, h + ihl, total - ihl);
		break;
	case IP_PROTO_UDP:
		udp_input(net, src, dst, h + ihl, total - ihl);
		break;
	default:
		net->stats.dropped++;
	}
}

unsigned rt_net_poll(struct rt_net *net)
{
	unsigned n = 0;

	/* Bounded: one pass over what the receive ring can hold. */
	for (unsigned i = 0; i < 2 * RT_VIRTQ_MAX; i++) {
		int len = rt_vnet_recv(net->nic, net->in, sizeof(net->in));
		const uint8_t *f = net->in;

		if (len == 0)
			break;
		n++;
		if (len < 0)
			continue;
		net->stats.frames_in++;
		if (len < ETH_HLEN ||
		    (memcmp(f, net->mac, 6) && memcmp(f, broadcast, 6))) {
			net->stats.dropped++;
			continue;
		}
		switch (get16(f + 12)) {
		case ETHERTYPE_ARP:
			arp_input(net, f + ETH_HLEN, (size_t)len - ETH_HLEN);
			break;
		case ETHERTYPE_IP:
			ip_input(net, f + 6, f + ETH_HLEN,
				 (size_t)len - ETH_HLEN);
			break;
		default:
			net->stats.dropped++;
		}
	}
	rt_vnet_tx_pending(net->nic);
	return n;
}

int rt_net_udp_send(struct rt_net *net, uint32_t dst_ip, uint16_t src_port,
		    uint16_t dst_port, const void *data, size_t len)
{
	uint8_t *u = net->out + ETH_HLEN + IP_HLEN;
	uint16_t csum;

	if (len > UDP_MAX_DATA)
		return -1;
	put16(u, src_port);
	put16(u + 2, dst_port);
	put16(u + 4, (uint16_t)(UDP_HLEN + len));
	put16(u + 6, 0);
	memmove(u + UDP_HLEN, data, len);
	csum = udp_csum(net->ip, dst_ip, u, UDP_HLEN + len);
	put16(u + 6, csum ? csum : 0xffff); /* 0 means "no checksum" */
	if (ip_send(net, dst_ip, IP_PROTO_UDP, UDP_HLEN + len))
		return -1;
	net->stats.udp_out++;
	return 0;
}
