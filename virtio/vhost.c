/* SPDX-License-Identifier: MIT */
/*
 * vhost-net setup (see virtio/vhost.h). Call order the kernel expects
 * (drivers/vhost/vhost.c, net.c): SET_OWNER once; then for a start
 * SET_FEATURES, SET_MEM_TABLE, per ring SET_VRING_NUM, SET_VRING_BASE,
 * SET_VRING_ADDR, SET_VRING_KICK, SET_VRING_CALL, and finally
 * NET_SET_BACKEND per ring, which starts the worker. Stopping: backend -1,
 * then GET_VRING_BASE (stops the ring and returns its last index).
 *
 * Ring indices inside one vhost-net device: 0 is the receiveq, 1 the
 * transmitq, whatever their virtio queue numbers.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vhost.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "devices/abi/virtio.h"
#include "virtio/vhost.h"
#include "virtio/virtqueue.h"
#include "vmm/log.h"

int vhost_net_open(struct vhost_net *v, const char *dev, bool quiet)
{
	int err;

	memset(v, 0, sizeof(*v));
	v->fd = open(VHOST_NET_DEV_PATH, O_RDWR | O_CLOEXEC);
	if (v->fd < 0) {
		err = errno;
		if (quiet)
			log_info("%s: %s: %s: using the userspace data path",
				 dev, VHOST_NET_DEV_PATH, strerror(err));
		else
			log_err("%s: vhost = on but %s is not usable: %s%s",
				dev, VHOST_NET_DEV_PATH, strerror(err),
				err == ENOENT ? " (modprobe vhost_net)"
				: err == EACCES
					? " (needs read/write access to it)"
					: "");
		return -err;
	}
	if (ioctl(v->fd, VHOST_SET_OWNER) < 0 ||
	    ioctl(v->fd, VHOST_GET_FEATURES, &v->features) < 0) {
		err = errno;
		log_err("%s: %s: %s", dev, VHOST_NET_DEV_PATH, strerror(err));
		close(v->fd);
		v->fd = -1;
		return -err;
	}
	return 0;
}

static int vhost_ioctl(struct vhost_net *v, const char *dev, const char *what,
		       unsigned long req, void *arg)
{
	if (ioctl(v->fd, req, arg) == 0)
		return 0;
	log_err("%s: vhost %s: %s", dev, what, strerror(errno));
	return -errno;
}

static int vhost_set_mem(struct vhost_net *v, const char *dev,
			 const struct guest_mem *mem)
{
	struct vhost_memory *t;
	int ret;

	t = calloc(1, sizeof(*t) + mem->nr * sizeof(t->regions[0]));
	if (!t)
		return -ENOMEM;
	t->nregions = mem->nr;
	for (unsigned i = 0; i < mem->nr; i++) {
		t->regions[i].guest_phys_addr = mem->regions[i].gpa;
		t->regions[i].memory_size = mem->regions[i].size;
		t->regions[i].userspace_addr =
			(uint64_t)(uintptr_t)mem->regions[i].hva;
	}
	ret = vhost_ioctl(v, dev, "SET_MEM_TABLE", VHOST_SET_MEM_TABLE, t);
	free(t);
	return ret;
}

static int vhost_set_ring(struct vhost_net *v, const char *dev, unsigned idx,
			  const struct virtq *vq, int kick, int call)
{
	struct vhost_vring_state num = { .index = idx, .num = vq->size };
	struct vhost_vring_state base = { .index = idx, .num = vq->last_avail };
	struct vhost_vring_addr addr = {
		.index = idx,
		.desc_user_addr = (uint64_t)(uintptr_t)vq->desc,
		.avail_user_addr = (uint64_t)(uintptr_t)vq->avail,
		.used_user_addr = (uint64_t)(uintptr_t)vq->used,
	};
	struct vhost_vring_file k = { .index = idx, .fd = kick };
	struct vhost_vring_file c = { .index = idx, .fd = call };
	int ret;

	if (!vq->ready) {
		log_err("%s: vhost: ring %u is not set up by the driver", dev,
			idx);
		return -EINVAL;
	}
	ret = vhost_ioctl(v, dev, "SET_VRING_NUM", VHOST_SET_VRING_NUM, &num);
	if (!ret)
		ret = vhost_ioctl(v, dev, "SET_VRING_BASE",
				  VHOST_SET_VRING_BASE, &base);
	if (!ret)
		ret = vhost_ioctl(v, dev, "SET_VRING_ADDR",
				  VHOST_SET_VRING_ADDR, &addr);
	if (!ret)
		ret = vhost_ioctl(v, dev, "SET_VRING_KICK",
				  VHOST_SET_VRING_KICK, &k);
	if (!ret)
		ret = vhost_ioctl(v, dev, "SET_VRING_CALL",
				  VHOST_SET_VRING_CALL, &c);
	return ret;
}

static void vhost_set_backend(struct vhost_net *v, unsigned idx, int fd)
{
	struct vhost_vring_file b = { .index = idx, .fd = fd };

	ioctl(v->fd, VHOST_NET_SET_BACKEND, &b);
}

int vhost_net_start(struct vhost_net *v, const char *dev,
		    const struct guest_mem *mem, uint64_t features,
		    const struct virtq *rx, const struct virtq *tx,
		    const int kick[2], const int call[2], int tap_fd)
{
	uint64_t f = features & v->features;
	const struct virtq *rings[2] = { rx, tx };
	int ret;

	if (v->fd < 0)
		return -EBADF;
	if (v->running)
		vhost_net_stop(v, dev);
	ret = vhost_ioctl(v, dev, "SET_FEATURES", VHOST_SET_FEATURES, &f);
	if (!ret)
		ret = vhost_set_mem(v, dev, mem);
	for (unsigned i = 0; !ret && i < 2; i++)
		ret = vhost_set_ring(v, dev, i, rings[i], kick[i], call[i]);
	for (unsigned i = 0; !ret && i < 2; i++) {
		struct vhost_vring_file b = { .index = i, .fd = tap_fd };

		ret = vhost_ioctl(v, dev, "NET_SET_BACKEND",
				  VHOST_NET_SET_BACKEND, &b);
	}
	if (ret) {
		for (unsigned i = 0; i < 2; i++)
			vhost_set_backend(v, i, -1);
		return ret;
	}
	v->running = true;
	return 0;
}

void vhost_net_stop(struct vhost_net *v, const char *dev)
{
	if (v->fd < 0 || !v->running)
		return;
	for (unsigned i = 0; i < 2; i++) {
		struct vhost_vring_state s = { .index = i };

		vhost_set_backend(v, i, -1);
		if (ioctl(v->fd, VHOST_GET_VRING_BASE, &s) < 0)
			log_debug("%s: vhost GET_VRING_BASE %u: %s", dev, i,
				  strerror(errno));
	}
	v->running = false;
}

void vhost_net_close(struct vhost_net *v)
{
	if (v->fd >= 0)
		close(v->fd);
	v->fd = -1;
	v->running = false;
}
