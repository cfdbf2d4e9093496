/* SPDX-License-Identifier: MIT */
/*
 * vhost-net: the kernel runs a virtio-net queue pair (receiveq, transmitq)
 * itself, between the guest's rings and a TAP queue, so packets never pass
 * through the VMM (linux/vhost.h, Documentation/virt/.../vhost).
 *
 * One struct vhost_net per queue pair (one open of /dev/vhost-net each).
 * The guest's kick eventfds become VHOST_SET_VRING_KICK, an interrupt
 * eventfd per queue VHOST_SET_VRING_CALL (an irqfd the transport gives, or
 * an eventfd the VMM relays), the TAP queue VHOST_NET_SET_BACKEND. The TAP
 * keeps the 12-byte virtio-net header (VHOST_NET_F_VIRTIO_NET_HDR is not
 * used), so offloads stay the TAP's business (TUNSETOFFLOAD).
 *
 * All calls from the thread that owns the device state (main thread at
 * creation, a vCPU thread at DRIVER_OK / reset). Errors are logged naming
 * the device and return a negative errno.
 */
#ifndef VIRTIO_VHOST_H
#define VIRTIO_VHOST_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/mem.h"

#define VHOST_NET_DEV_PATH "/dev/vhost-net"

struct virtq;

struct vhost_net {
	int fd;		   /* -1: closed */
	uint64_t features; /* what the kernel supports (VHOST_GET_FEATURES) */
	bool running;
};

/*
 * Open /dev/vhost-net and become its owner. quiet: a missing or
 * inaccessible device is not logged as an error (vhost = auto).
 */
int vhost_net_open(struct vhost_net *v, const char *dev, bool quiet);

/*
 * Start the pair: features (negotiated, masked with v->features), the
 * guest memory table, rings rx/tx (configured virtqs: host addresses of
 * the rings, size, start index 0), kick/call eventfds per ring, and the
 * TAP fd as backend of both.
 */
int vhost_net_start(struct vhost_net *v, const char *dev,
		    const struct guest_mem *mem, uint64_t features,
		    const struct virtq *rx, const struct virtq *tx,
		    const int kick[2], const int call[2], int tap_fd);

/* Detach the backend and stop the rings (VHOST_GET_VRING_BASE). Nothing
 * of the guest's rings is touched by the kernel afterwards. */
void vhost_net_stop(struct vhost_net *v, const char *dev);

void vhost_net_close(struct vhost_net *v);

#endif
