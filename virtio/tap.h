/* SPDX-License-Identifier: MIT */
/*
 * The host side of virtio-net: a Linux TAP interface (one fd per queue
 * pair, IFF_MULTI_QUEUE for more than one), or an inherited file
 * descriptor.
 *
 * A TAP opened here always carries the 12-byte struct virtio_net_hdr_v1 in
 * front of each frame (IFF_VNET_HDR + TUNSETVNETHDRSZ), so guest headers
 * pass through unchanged and offloads work; its fds are non-blocking.
 *
 * An inherited fd (`fd = N`) is either a TAP queue (its flags are read with
 * TUNGETIFF; a header is used if it was opened with IFF_VNET_HDR) or a
 * datagram/seqpacket socket carrying plain Ethernet frames, one per
 * message (no header, no offloads), e.g. one end of a socketpair.
 *
 * Every function that can fail logs why, starting with the device's name,
 * and returns 0 or a negative errno. Needs CAP_NET_ADMIN to create a TAP,
 * to change its MTU, bring it up or add it to a bridge; attaching to an
 * existing persistent TAP owned by the caller's uid/gid does not.
 */
#ifndef VIRTIO_TAP_H
#define VIRTIO_TAP_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

#define TAP_MAX_QUEUES 16

/* TUNSETOFFLOAD bits (linux/if_tun.h), repeated so callers need not
 * include it. */
#define TAP_OFFLOAD_CSUM    0x01
#define TAP_OFFLOAD_TSO4    0x02
#define TAP_OFFLOAD_TSO6    0x04
#define TAP_OFFLOAD_TSO_ECN 0x08

struct tap {
	char ifname[IFNAMSIZ]; /* "" for a socket */
	int fds[TAP_MAX_QUEUES];
	unsigned nr_fds;
	bool is_tap;   /* false: a socket carrying plain frames */
	bool vnet_hdr; /* frames carry struct virtio_net_hdr_v1 */
	bool inherited;
};

/*
 * Open TAP `name` with nq queues (1..TAP_MAX_QUEUES), creating it if it
 * does not exist (NULL or "": the kernel picks "tapN"; a TAP we create is
 * not persistent and disappears with the VMM). `dev` names the device in
 * messages.
 */
int tap_open(struct tap *t, const char *dev, const char *name, unsigned nq);

/* Use an inherited fd (see above). The fd is made non-blocking and closed
 * by tap_close(). */
int tap_from_fd(struct tap *t, const char *dev, int fd);

/* Apply TAP_OFFLOAD_* (what the guest accepted to receive) to every queue.
 * A socket or a TAP without a header accepts only 0. */
int tap_set_offload(struct tap *t, const char *dev, unsigned flags);

/* Attach (enable) or detach queue q of a multiqueue TAP (TUNSETQUEUE). */
int tap_queue_enable(struct tap *t, const char *dev, unsigned q, bool enable);

/* The TAP's MTU: set it / read it. */
int tap_set_mtu(struct tap *t, const char *dev, unsigned mtu);
int tap_get_mtu(struct tap *t, const char *dev, unsigned *mtu);

/* Bring the interface up (nothing if it is up already). */
int tap_up(struct tap *t, const char *dev);

/* Add the TAP to Linux bridge `bridge` (nothing if it is already a port
 * of it). A missing bridge or one that is not a bridge is -ENODEV. */
int tap_add_to_bridge(struct tap *t, const char *dev, const char *bridge);

/* Is `bridge` an existing Linux bridge (in our network namespace)? 0, or
 * -ENODEV with why filled ("no such interface (...)" / "the interface is
 * not a Linux bridge"). For config checks; logs nothing. */
int tap_bridge_check(const char *bridge, char *why, size_t len);

/* Close every fd. Safe on a zeroed or partially opened struct with
 * nr_fds == 0. */
void tap_close(struct tap *t);

#endif
