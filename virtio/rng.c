/* SPDX-License-Identifier: MIT */
/*
 * virtio-rng (virtio 1.2, 5.4): one request queue; the device fills each
 * device-writable buffer with bytes from the host's getrandom(2).
 *
 * Data path: one I/O thread (virtio_io_thread_create()) waits on the
 * queue's kick eventfd (a KVM ioeventfd) and a wake eventfd, and serves at
 * most RNG_BUDGET chains per round under the device's lock. A chain gets
 * at most RNG_MAX_CHAIN bytes (the driver asks again for more); `rate`
 * bounds the bytes per second a guest can draw, so a guest cannot keep a
 * host CPU busy producing randomness.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>

#include "virtio/virtio.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#define RNG_QSIZE     64
#define RNG_BUDGET    64
#define RNG_MAX_CHAIN 4096
#define RNG_MAX_IOV   64

static const struct dev_param rng_params[] = {
	VIRTIO_TRANSPORT_PARAMS,
	{ .key = "rate",
	  .kind = PARAM_SIZE,
	  .def = "1M",
	  .min = 64,
	  .help = "bytes per second the guest may draw at most" },
	{ .key = NULL },
};

struct vrng {
	struct virtio_dev vdev;
	const char *name;
	uint64_t rate;
	int epfd, wake_fd;
	pthread_t thread;
	bool thread_ok;

	pthread_mutex_t lock; /* below and the queue */
	bool active, quit;
	uint64_t window_start_ms, window_bytes;
	bool throttled; /* waiting for the next 100 ms window */
	struct iovec out[RNG_MAX_IOV], in[RNG_MAX_IOV];
	uint64_t bytes;
};

static size_t rng_fill(const struct iovec *iov, unsigned n, size_t max)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < max; i++) {
		size_t want = MIN(iov[i].iov_len, max - done), got = 0;

		while (got < want) {
			ssize_t r = getrandom((uint8_t *)iov[i].iov_base + got,
					      want - got, 0);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return done + got;
			got += (size_t)r;
		}
		done += got;
	}
	return done;
}

/* Bytes the rate limit allows now (100 ms windows). */
static uint64_t rng_allowance(struct vrng *r)
{
	uint64_t now = now_ms(), per = MAX(r->rate / 10, 1);

	if (now - r->window_start_ms >= 100) {
		r->window_start_ms = now;
		r->window_bytes = 0;
	}
	return r->window_bytes < per ? per - r->window_bytes : 0;
}

static void rng_process(struct vrng *r)
{
	struct virtq *vq = &r->vdev.queues[0].vq;
	struct vq_chain c = { .out = r->out,
			      .max_out = RNG_MAX_IOV,
			      .in = r->in,
			      .max_in = RNG_MAX_IOV };
	unsigned done = 0;
	int ret;

	r->throttled = false;
	for (unsigned budget = RNG_BUDGET; budget; budget--) {
		uint64_t allow = rng_allowance(r);
		size_t n;

		if (!allow) {
			r->throttled = true;
			break;
		}
		ret = vq_pop(vq, &c);
		if (ret == 0)
			break;
		if (ret < 0) {
			virtio_dev_needs_reset(&r->vdev, "queue 0: %s",
					       ret == -ENOBUFS
						       ? "chain too long"
						       : vq->broken_why);
			return;
		}
		n = rng_fill(c.in, c.nin, MIN(allow, RNG_MAX_CHAIN));
		r->window_bytes += n;
		r->bytes += n;
		vq_push(vq, c.head, (uint32_t)n);
		done++;
	}
	if (done && vq_should_notify(vq))
		virtio_dev_notify_queue(&r->vdev, 0);
}

static void *rng_thread(void *arg)
{
	struct vrng *r = arg;
	struct epoll_event ev[2];
	int timeout = -1;

	for (;;) {
		/* throttled: look again when the next window opens */
		int n = epoll_wait(r->epfd, ev, 2, timeout);

		if (n < 0 && errno != EINTR)
			break;
		virtio_efd_drain(r->wake_fd);
		virtio_efd_drain(r->vdev.queues[0].kick_fd);
		pthread_mutex_lock(&r->lock);
		if (r->quit) {
			pthread_mutex_unlock(&r->lock);
			break;
		}
		if (r->active && virtio_dev_running(&r->vdev))
			rng_process(r);
		timeout = r->active && r->throttled ? 100 : -1;
		pthread_mutex_unlock(&r->lock);
	}
	return NULL;
}

static struct vrng *rng_of(struct virtio_dev *vdev)
{
	return container_of(vdev, struct vrng, vdev);
}

static int rng_start(struct virtio_dev *vdev)
{
	struct vrng *r = rng_of(vdev);

	pthread_mutex_lock(&r->lock);
	r->active = true;
	pthread_mutex_unlock(&r->lock);
	virtio_efd_signal(r->wake_fd);
	return 0;
}

static void rng_stop(struct virtio_dev *vdev)
{
	struct vrng *r = rng_of(vdev);

	pthread_mutex_lock(&r->lock);
	r->active = false;
	r->throttled = false;
	pthread_mutex_unlock(&r->lock);
}

static const struct virtio_dev_ops rng_ops = {
	.start = rng_start,
	.stop = rng_stop,
};

static void rng_free(struct vrng *r)
{
	if (r->thread_ok) {
		pthread_mutex_lock(&r->lock);
		r->quit = true;
		pthread_mutex_unlock(&r->lock);
		virtio_efd_signal(r->wake_fd);
		pthread_join(r->thread, NULL);
	}
	virtio_dev_detach(&r->vdev);
	virtio_dev_cleanup(&r->vdev);
	if (r->epfd >= 0)
		close(r->epfd);
	if (r->wake_fd >= 0)
		close(r->wake_fd);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static int rng_create(struct vm *vm, struct device *dev)
{
	struct epoll_event ev = { .events = EPOLLIN };
	char tname[32];
	struct vrng *r;
	int ret;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->name = dev->name;
	r->rate = cfg_dev_num(dev->cfg, "rate");
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	r->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	pthread_mutex_init(&r->lock, NULL);
	if (r->epfd < 0 || r->wake_fd < 0) {
		ret = -errno;
		goto err;
	}
	ret = virtio_dev_init(&r->vdev, vm, dev->name, VIRTIO_ID_RNG, &rng_ops,
			      VIRTIO_F(VIRTIO_F_EVENT_IDX) |
				      VIRTIO_F(VIRTIO_F_INDIRECT_DESC),
			      1, RNG_QSIZE, NULL, 0);
	if (ret)
		goto err;
	ret = virtio_dev_attach(&r->vdev, dev);
	if (ret)
		goto err;
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->wake_fd, &ev) < 0 ||
	    epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->vdev.queues[0].kick_fd, &ev) <
		    0) {
		ret = -errno;
		goto err;
	}
	snprintf(tname, sizeof(tname), "%.12s-q0", dev->name);
	ret = virtio_io_thread_create(&r->thread, tname, rng_thread, r);
	if (ret) {
		log_err("%s: cannot start its I/O thread: %s", dev->name,
			strerror(-ret));
		goto err;
	}
	r->thread_ok = true;
	dev->priv = r;
	return 0;

err:
	rng_free(r);
	return ret;
}

static void rng_reset(struct device *dev)
{
	struct vrng *r = dev->priv;

	if (r)
		virtio_dev_hard_reset(&r->vdev);
}

static void rng_destroy(struct device *dev)
{
	struct vrng *r = dev->priv;

	if (!r)
		return;
	virtio_dev_reset(&r->vdev);
	log_info("%s: %llu random bytes given to the guest", r->name,
		 (unsigned long long)r->bytes);
	rng_free(r);
	dev->priv = NULL;
}

/* Listed in devices/registry.c. */
const struct device_type virtio_rng_type = {
	.name = "virtio-rng",
	.help = "virtio entropy source (virtio 1.x, mmio or pci) fed by the "
		"host's getrandom()",
	.params = rng_params,
	.check = virtio_cfg_check,
	.resources = virtio_cfg_resources,
	.create = rng_create,
	.reset = rng_reset,
	.destroy = rng_destroy,
};
