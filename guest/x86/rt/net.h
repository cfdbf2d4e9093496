/* SPDX-License-Identifier: MIT */
/*
 * A tiny IPv4 stack for test guests, on one virtio-net NIC: Ethernet II,
 * ARP (RFC 826: answers requests for our address, learns senders), IPv4
 * (RFC 791: no options sent, fragments dropped, header checksum checked),
 * ICMP echo reply (RFC 792), UDP (RFC 768: checksums checked when present
 * and always sent) with a few bound ports.
 *
 * It only answers: the peer's MAC address comes from the ARP cache, which
 * learns from every ARP packet and IPv4 frame addressed to us. Sending to
 * an address not in the cache sends an ARP request and drops the datagram.
 *
 * Addresses are in host byte order (10.0.2.15 = 0x0a00020f).
 */
#ifndef GUEST_RT_NET_H
#define GUEST_RT_NET_H

#include "virtio_net.h"

#define RT_NET_ARP_CACHE 8
#define RT_NET_UDP_PORTS 4

struct rt_net;

/* A datagram for a bound port: payload data[0..len). */
typedef void (*rt_udp_fn)(struct rt_net *net, uint32_t src_ip,
			  uint16_t src_port, uint16_t dst_port,
			  const uint8_t *data, size_t len, void *arg);

struct rt_net_stats {
	uint64_t frames_in, frames_out;
	uint64_t arp_replies, arp_requests, icmp_echoes, udp_in, udp_out;
	uint64_t dropped; /* not for us, malformed, bad checksum, unbound */
};

struct rt_net {
	struct rt_vnet *nic;
	uint8_t mac[6];
	uint32_t ip;
	bool verbose; /* one console line per ARP reply, echo, datagram */
	struct {
		uint32_t ip;
		uint8_t mac[6];
	} arp[RT_NET_ARP_CACHE];
	unsigned arp_next;
	struct {
		uint16_t port;
		rt_udp_fn fn;
		void *arg;
	} udp[RT_NET_UDP_PORTS];
	uint16_t ip_id;
	struct rt_net_stats stats;
	uint8_t in[RT_VNET_FRAME_MAX + 2] __attribute__((aligned(8)));
	uint8_t out[RT_VNET_FRAME_MAX + 2] __attribute__((aligned(8)));
};

/* Attach the stack to an open NIC with our address. */
void rt_net_init(struct rt_net *net, struct rt_vnet *nic, uint32_t ip);
/* Deliver datagrams to `port` to fn. 0, or -1 (table full, port 0). */
int rt_net_udp_bind(struct rt_net *net, uint16_t port, rt_udp_fn fn, void *arg);
/* Send a datagram (at most 1472 bytes). 0, or -1 (too long, peer MAC not
 * known yet: an ARP request went out instead, or the NIC is full). */
int rt_net_udp_send(struct rt_net *net, uint32_t dst_ip, uint16_t src_port,
		    uint16_t dst_port, const void *data, size_t len);
/* Handle every frame the NIC has received; returns how many. */
unsigned rt_net_poll(struct rt_net *net);

/* "a.b.c.d" -> address. 0 or -1. */
int rt_net_parse_ip(const char *s, size_t len, uint32_t *ip);
/* Formatters: buf >= 16 bytes for an address, 18 for a MAC. */
const char *rt_net_ip_str(uint32_t ip, char *buf);
const char *rt_net_mac_str(const uint8_t *mac, char *buf);

#endif
