/* SPDX-License-Identifier: MIT */
/*
 * virtio-console (virtio 1.2, 5.3): one port (no MULTIPORT), receiveq 0
 * (host to guest) and transmitq 1 (guest to host), on the same console
 * backends as the UART (vmm/console.h: stdio, file, none). Offers
 * VIRTIO_CONSOLE_F_EMERG_WRITE: a write to emerg_wr (config offset 8)
 * prints one character at once, before the driver is even set up.
 *
 * Data path: one I/O thread (virtio_io_thread_create()) waits on both kick
 * eventfds, a wake eventfd and the console's input fd; the input fd is
 * watched only while the guest has receive buffers, so unread input stays
 * in the terminal/pipe (back-pressure). An input that epoll cannot watch (a
 * regular file) is read whenever there are buffers, until its end.
 *
 * Output never blocks the thread for long: each chunk (at most PIPE_BUF
 * bytes) is written only after poll() says the fd can take it, waiting in
 * 100 ms steps that give up when the device is reset or destroyed, so a
 * reader that never reads cannot keep the VMM from exiting.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "virtio/virtio.h"
#include "vmm/console.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#define VCON_QSIZE  128
#define VCON_BUDGET 64
#define VCON_IOV    64

static const struct dev_param vcon_params[] = {
	VIRTIO_TRANSPORT_PARAMS,
	CONSOLE_DEV_PARAMS,
	{ .key = NULL },
};

enum { VCON_EV_WAKE, VCON_EV_RXKICK, VCON_EV_TXKICK, VCON_EV_INPUT };

struct vcon {
	struct virtio_dev vdev;
	const char *name;
	struct virtio_console_config config;
	struct console con;
	int epfd, wake_fd;
	bool in_watchable; /* in_fd is in epoll (else: a regular file) */
	pthread_t thread;
	bool thread_ok;

	pthread_mutex_t lock;	  /* below and the queues */
	atomic_bool active, quit; /* also read by a waiting output */
	bool in_polled, in_eof;
	struct iovec out[VCON_IOV], in[VCON_IOV];
	uint64_t rx_bytes, tx_bytes;
	pthread_mutex_t out_lock; /* serialises output (thread, emerg_wr) */
};

static struct vcon *vcon_of(struct virtio_dev *vdev)
{
	return container_of(vdev, struct vcon, vdev);
}

/* Write len bytes, waiting for room in 100 ms steps while the device is
 * active; false if it gave up. Called with c->lock held. */
static bool vcon_output(struct vcon *c, const uint8_t *p, size_t len)
{
	while (len) {
		struct pollfd pfd = { .fd = c->con.out_fd, .events = POLLOUT };
		size_t n = MIN(len, (size_t)PIPE_BUF);
		int r;

		if (c->con.out_fd < 0)
			return true; /* output dropped */
		r = poll(&pfd, 1, 100);
		if (r < 0 && errno != EINTR)
			return false;
		if (r <= 0) {
			if (c->quit || !c->active)
				return false;
			continue;
		}
		pthread_mutex_lock(&c->out_lock);
		console_write(&c->con, p, n);
		pthread_mutex_unlock(&c->out_lock);
		p += n;
		len -= n;
	}
	return true;
}

static void vcon_tx(struct vcon *c)
{
	struct virtq *vq = &c->vdev.queues[1].vq;
	struct vq_chain ch = { .out = c->out,
			       .max_out = VCON_IOV,
			       .in = c->in,
			       .max_in = VCON_IOV };
	unsigned done = 0;
	int ret;

	for (unsigned budget = VCON_BUDGET; budget; budget--) {
		ret = vq_pop(vq, &ch);
		if (ret == 0)
			break;
		if (ret < 0) {
			virtio_dev_needs_reset(&c->vdev, "queue 1: %s",
					       ret == -ENOBUFS
						       ? "chain too long"
						       : vq->broken_why);
			return;
		}
		for (unsigned i = 0; i < ch.nout; i++)
			if (!vcon_output(c, ch.out[i].iov_base,
					 ch.out[i].iov_len))
				break;
		c->tx_bytes += ch.out_len;
		vq_push(vq, ch.head, 0);
		done++;
	}
	if (done == VCON_BUDGET)
		virtio_efd_signal(c->wake_fd);
	if (done && vq_should_notify(vq))
		virtio_dev_notify_queue(&c->vdev, 1);
}

/* Input into receive buffers. Returns true if it should be polled again
 * (buffers are there, input may come). */
static bool vcon_rx(struct vcon *c)
{
	struct virtq *vq = &c->vdev.queues[0].vq;
	struct vq_chain ch = { .out = c->out,
			       .max_out = VCON_IOV,
			       .in = c->in,
			       .max_in = VCON_IOV };
	unsigned done = 0;
	bool more = true;
	int ret;

	if (c->con.in_fd < 0 || c->in_eof)
		return false;
	for (unsigned budget = VCON_BUDGET; budget; budget--) {
		ssize_t n;

		ret = vq_pop(vq, &ch);
		if (ret == 0) {
			more = false; /* no buffers: stop polling input */
			break;
		}
		if (ret < 0) {
			virtio_dev_needs_reset(&c->vdev, "queue 0: %s",
					       ret == -ENOBUFS
						       ? "chain too long"
						       : vq->broken_why);
			return false;
		}
		if (!ch.nin) {
			vq_push(vq, ch.head, 0);
			done++;
			continue;
		}
		/* into the first writable buffer; the rest stays unused */
		n = console_read(&c->con, ch.in[0].iov_base, ch.in[0].iov_len);
		if (n <= 0) {
			vq_unpop(vq, 1);
			if (n == 0)
				c->in_eof = true;
			break;
		}
		c->rx_bytes += (size_t)n;
		vq_push(vq, ch.head, (uint32_t)n);
		done++;
	}
	if (done == VCON_BUDGET)
		virtio_efd_signal(c->wake_fd);
	if (done && vq_should_notify(vq))
		virtio_dev_notify_queue(&c->vdev, 0);
	return more && !c->in_eof;
}

static void vcon_poll_input(struct vcon *c, bool on)
{
	struct epoll_event ev = { .events = on ? EPOLLIN : 0,
				  .data.u32 = VCON_EV_INPUT };

	if (!c->in_watchable || on == c->in_polled)
		return;
	if (epoll_ctl(c->epfd, EPOLL_CTL_MOD, c->con.in_fd, &ev) == 0)
		c->in_polled = on;
}

static void *vcon_thread(void *arg)
{
	struct vcon *c = arg;
	struct epoll_event ev[4];

	for (;;) {
		int n = epoll_wait(c->epfd, ev, ARRAY_SIZE(ev), -1);
		bool want;

		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			if (ev[i].data.u32 == VCON_EV_WAKE)
				virtio_efd_drain(c->wake_fd);
			else if (ev[i].data.u32 == VCON_EV_RXKICK)
				virtio_efd_drain(c->vdev.queues[0].kick_fd);
			else if (ev[i].data.u32 == VCON_EV_TXKICK)
				virtio_efd_drain(c->vdev.queues[1].kick_fd);
		}
		pthread_mutex_lock(&c->lock);
		if (c->quit) {
			pthread_mutex_unlock(&c->lock);
			break;
		}
		want = false;
		if (c->active && virtio_dev_running(&c->vdev)) {
			vcon_tx(c);
			want = vcon_rx(c);
			/* a file is always readable: come back for more */
			if (want && !c->in_watchable)
				virtio_efd_signal(c->wake_fd);
		}
		vcon_poll_input(c, want);
		pthread_mutex_unlock(&c->lock);
	}
	return NULL;
}

static int vcon_start(struct virtio_dev *vdev)
{
	struct vcon *c = vcon_of(vdev);

	pthread_mutex_lock(&c->lock);
	c->active = true;
	pthread_mutex_unlock(&c->lock);
	virtio_efd_signal(c->wake_fd);
	return 0;
}

static void vcon_stop(struct virtio_dev *vdev)
{
	struct vcon *c = vcon_of(vdev);

	/* a write waiting for room (lock held) gives up within 100 ms */
	atomic_store(&c->active, false);
	pthread_mutex_lock(&c->lock);
	vcon_poll_input(c, false);
	pthread_mutex_unlock(&c->lock);
}

static void vcon_config_write(struct virtio_dev *vdev, unsigned off,
			      const uint8_t *data, unsigned len)
{
	struct vcon *c = vcon_of(vdev);
	uint8_t ch = data[0];

	/* emerg_wr: the low byte of a write at offset 8 is one character */
	if (off != offsetof(struct virtio_console_config, emerg_wr) ||
	    !(vdev->host_features & VIRTIO_F(VIRTIO_CONSOLE_F_EMERG_WRITE)))
		return;
	(void)len;
	pthread_mutex_lock(&c->out_lock);
	console_write(&c->con, &ch, 1);
	pthread_mutex_unlock(&c->out_lock);
}

static const struct virtio_dev_ops vcon_ops = {
	.start = vcon_start,
	.stop = vcon_stop,
	.config_write = vcon_config_write,
};

static int vcon_check(const struct cfg_device *cfg, struct cfg_error *err)
{
	int ret = virtio_cfg_check(cfg, err);

	return ret ? ret : console_cfg_check(cfg, err);
}

static void vcon_free(struct vcon *c)
{
	if (c->thread_ok) {
		atomic_store(&c->quit, true);
		pthread_mutex_lock(&c->lock);
		pthread_mutex_unlock(&c->lock);
		virtio_efd_signal(c->wake_fd);
		pthread_join(c->thread, NULL);
	}
	virtio_dev_detach(&c->vdev);
	virtio_dev_cleanup(&c->vdev);
	console_close(&c->con);
	if (c->epfd >= 0)
		close(c->epfd);
	if (c->wake_fd >= 0)
		close(c->wake_fd);
	pthread_mutex_destroy(&c->out_lock);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static int vcon_watch(struct vcon *c)
{
	struct epoll_event ev = { .events = EPOLLIN };

	ev.data.u32 = VCON_EV_WAKE;
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->wake_fd, &ev) < 0)
		return -errno;
	ev.data.u32 = VCON_EV_RXKICK;
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->vdev.queues[0].kick_fd, &ev) <
	    0)
		return -errno;
	ev.data.u32 = VCON_EV_TXKICK;
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->vdev.queues[1].kick_fd, &ev) <
	    0)
		return -errno;
	if (c->con.in_fd < 0)
		return 0;
	ev = (struct epoll_event){ .events = 0, .data.u32 = VCON_EV_INPUT };
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->con.in_fd, &ev) == 0)
		c->in_watchable = true;
	else if (errno != EPERM) /* EPERM: a regular file */
		return -errno;
	return 0;
}

static int vcon_create(struct vm *vm, struct device *dev)
{
	char tname[32];
	struct vcon *c;
	int ret;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->name = dev->name;
	c->con.out_fd = c->con.in_fd = -1;
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->out_lock, NULL);
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	c->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->epfd < 0 || c->wake_fd < 0) {
		ret = -errno;
		goto err;
	}
	ret = console_open_cfg(&c->con, dev->cfg);
	if (ret) {
		log_err("%s: cannot open console: %s", dev->name,
			strerror(-ret));
		goto err;
	}
	ret = virtio_dev_init(
		&c->vdev, vm, dev->name, VIRTIO_ID_CONSOLE, &vcon_ops,
		VIRTIO_F(VIRTIO_CONSOLE_F_EMERG_WRITE) |
			VIRTIO_F(VIRTIO_F_EVENT_IDX) |
			VIRTIO_F(VIRTIO_F_INDIRECT_DESC),
		2, VCON_QSIZE, (uint8_t *)&c->config, sizeof(c->config));
	if (ret)
		goto err;
	ret = virtio_dev_attach(&c->vdev, dev);
	if (!ret)
		ret = vcon_watch(c);
	if (ret)
		goto err;
	snprintf(tname, sizeof(tname), "%.12s-q0", dev->name);
	ret = virtio_io_thread_create(&c->thread, tname, vcon_thread, c);
	if (ret) {
		log_err("%s: cannot start its I/O thread: %s", dev->name,
			strerror(-ret));
		goto err;
	}
	c->thread_ok = true;
	dev->priv = c;
	return 0;

err:
	vcon_free(c);
	return ret;
}

static void vcon_reset(struct device *dev)
{
	struct vcon *c = dev->priv;

	if (c)
		virtio_dev_hard_reset(&c->vdev);
}

static void vcon_destroy(struct device *dev)
{
	struct vcon *c = dev->priv;

	if (!c)
		return;
	virtio_dev_reset(&c->vdev);
	log_info("%s: %llu bytes in, %llu bytes out", c->name,
		 (unsigned long long)c->rx_bytes,
		 (unsigned long long)c->tx_bytes);
	vcon_free(c);
	dev->priv = NULL;
}

/* Listed in devices/registry.c. */
const struct device_type virtio_console_type = {
	.name = "virtio-console",
	.help = "virtio console, one port (virtio 1.x, mmio or pci) with a "
		"console backend",
	.params = vcon_params,
	.check = vcon_check,
	.resources = virtio_cfg_resources,
	.create = vcon_create,
	.reset = vcon_reset,
	.destroy = vcon_destroy,
};
