/* SPDX-License-Identifier: MIT */
/*
 * virtio-net (virtio 1.2, 5.1) with a TAP backend.
 *
 * Queues: receiveq/transmitq per pair (2N, 2N + 1), and with queues > 1 a
 * control queue (2 * pairs) for VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET. Pair n
 * uses TAP queue n (IFF_MULTI_QUEUE); pairs the driver has not enabled are
 * detached from the TAP, so the kernel steers nothing to them.
 *
 * Data path, userspace: one I/O thread per pair (virtio_io_thread_create())
 * waits in epoll on the pair's kick eventfds (KVM ioeventfds), the TAP fd
 * and a wake eventfd, and processes both queues under the pair's lock:
 *   TX  each chain (header + frame) is written to the TAP as it is, with
 *       one writev (the TAP takes the same 12-byte header), and returned.
 *   RX  a frame is read from the TAP into a bounce buffer, then copied into
 *       one chain, or with VIRTIO_NET_F_MRG_RXBUF into as many as needed
 *       (num_buffers), all published with one used-index update. A frame
 *       that does not fit the buffers available now stays pending; the TAP
 *       is not polled again until the driver adds buffers (rx kick), so an
 *       idle guest costs nothing and the TAP's queue applies back-pressure.
 *   Each round is bounded (VNET_BUDGET chains per queue); more work
 *   re-signals the wake eventfd, so reset and the other queue never wait
 *   long.
 * Data path, vhost-net (vhost = on, or auto with /dev/vhost-net): the
 * kernel processes the pairs; the thread only relays interrupts when the
 * transport cannot take an irqfd directly (virtio-mmio must set its ISR),
 * and serves the control queue.
 *
 * Offloads: the guest's TX offloads (CSUM, HOST_TSO4/6, HOST_ECN) need
 * nothing from us: the header goes to the TAP, which does the work. The RX
 * ones (GUEST_CSUM, GUEST_TSO4/6, GUEST_ECN) are switched on in the TAP
 * (TUNSETOFFLOAD) at DRIVER_OK, only those the driver accepted, so the
 * kernel never hands us a frame the driver cannot take. UFO is not
 * offered. A backend without a header (a socket) gets no offloads.
 *
 * Malformed rings: the queue breaks (virtio/virtqueue.c), the device sets
 * DEVICE_NEEDS_RESET (reported once), and the threads leave the queues
 * alone until the driver resets the device.
 *
 * Locks: vdev->lock (register state; start/stop run under it) before pair
 * locks in index order. The pair-0 thread, holding pair 0's lock, takes the
 * other pairs' locks for VQ_PAIRS_SET.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "devices/devices.h"
#include "virtio/tap.h"
#include "virtio/vhost.h"
#include "virtio/virtio.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#define VNET_HDR_LEN	   12		 /* struct virtio_net_hdr_v1 */
#define VNET_MAX_FRAME	   (65536 + 256) /* a 64 KiB GSO frame + L2 */
#define VNET_RXBUF_SIZE	   (VNET_HDR_LEN + VNET_MAX_FRAME)
#define VNET_MIN_FRAME	   14	/* an Ethernet header */
#define VNET_BUDGET	   256	/* chains per queue per round */
#define VNET_MAX_IOV	   1024 /* UIO_MAXIOV: one writev */
#define VNET_DEFAULT_QSIZE "256"
#define VNET_CTRL_MAX	   64 /* bytes of a control command we read */
#define VNET_MIN_MTU	   68
#define VNET_MAX_MTU	   65535

enum { VNET_VHOST_AUTO, VNET_VHOST_ON, VNET_VHOST_OFF };
static const char *const vnet_vhost_choices[] = { "auto", "on", "off", NULL };

static const struct dev_param vnet_params[] = {
	VIRTIO_TRANSPORT_PARAMS,
	{ .key = "tap",
	  .kind = PARAM_STR,
	  .help = "TAP interface: attached if it exists, else created "
		  "(default: a new one the kernel names tapN)" },
	{ .key = "fd",
	  .kind = PARAM_U64,
	  .max = INT_MAX,
	  .help = "inherited fd instead of tap: a TAP queue, or a datagram/"
		  "seqpacket socket carrying plain Ethernet frames" },
	{ .key = "bridge",
	  .kind = PARAM_STR,
	  .help = "Linux bridge to add the TAP to" },
	{ .key = "mac",
	  .kind = PARAM_STR,
	  .help = "guest MAC address xx:xx:xx:xx:xx:xx (default: locally "
		  "administered, derived from the config file and device "
		  "name)" },
	{ .key = "vhost",
	  .kind = PARAM_ENUM,
	  .def = "auto",
	  .choices = vnet_vhost_choices,
	  .help = "kernel data path (/dev/vhost-net): auto uses it when "
		  "available, on requires it, off never" },
	{ .key = "queues",
	  .kind = PARAM_U64,
	  .def = "1",
	  .min = 1,
	  .max = TAP_MAX_QUEUES,
	  .help = "queue pairs (multiqueue TAP; > 1 adds a control queue)" },
	{ .key = "queue-size",
	  .kind = PARAM_U64,
	  .def = VNET_DEFAULT_QSIZE,
	  .min = 16,
	  .max = 4096,
	  .help = "entries per virtqueue (power of two)" },
	{ .key = "mtu",
	  .kind = PARAM_U64,
	  .min = VNET_MIN_MTU,
	  .max = VNET_MAX_MTU,
	  .help = "MTU: set on the TAP and offered to the guest "
		  "(VIRTIO_NET_F_MTU)" },
	{ .key = "offload",
	  .kind = PARAM_BOOL,
	  .def = "on",
	  .help = "offer checksum and segmentation offloads" },
	{ .key = NULL },
};

struct vnet;

/* epoll tags */
enum {
	VNET_EV_WAKE,
	VNET_EV_RXKICK,
	VNET_EV_TXKICK,
	VNET_EV_TAP,
	VNET_EV_CTRLKICK,
	VNET_EV_CALL_RX,
	VNET_EV_CALL_TX,
};

struct vnet_pair {
	struct vnet *n;
	unsigned idx;
	unsigned rxq, txq;
	int tap_fd;
	int epfd;
	int wake_fd;
	int call_fd[2]; /* vhost relay: eventfds vhost signals (rx, tx) */
	pthread_t thread;
	bool thread_ok;

	pthread_mutex_t lock; /* everything below, and the pair's queues */
	bool quit;
	bool active;	 /* userspace data path running for this pair */
	bool tap_polled; /* the TAP fd is in epoll with EPOLLIN */
	bool rx_wait;	 /* waiting for rx buffers (an rx kick) */
	bool tap_eof;	 /* the backend socket's peer went away */
	uint8_t *rxbuf;
	size_t rx_len; /* pending frame in rxbuf (header included), 0: none */
	struct iovec *iov_out, *iov_in;
	uint16_t *heads;
	uint32_t *lens;

	struct vhost_net vhost;

	/* statistics */
	uint64_t rx_packets, rx_bytes, rx_dropped;
	uint64_t tx_packets, tx_bytes, tx_errors;
	struct log_ratelimit rl;
};

struct vnet {
	struct virtio_dev vdev;
	const char *name;
	struct tap tap;
	uint8_t config[VIRTIO_NET_CONFIG_SIZE];
	unsigned nr_pairs;
	unsigned curr_pairs; /* pairs in use (VQ_PAIRS_SET); pair 0 lock */
	bool has_ctrl;
	unsigned ctrl_q;
	bool use_vhost;
	bool vhost_required;
	bool started; /* between start() and stop() */
	struct vnet_pair *pairs;
};

static struct vnet *vnet_of(struct virtio_dev *vdev)
{
	return container_of(vdev, struct vnet, vdev);
}

/* ---- epoll helpers ---- */

static int vnet_ep_add(struct vnet_pair *p, int fd, uint32_t tag,
		       uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u32 = tag };

	if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	return 0;
}

static void vnet_tap_poll(struct vnet_pair *p, bool on)
{
	struct epoll_event ev = { .events = on ? EPOLLIN : 0,
				  .data.u32 = VNET_EV_TAP };

	if (on == p->tap_polled || p->tap_fd < 0)
		return;
	if (epoll_ctl(p->epfd, EPOLL_CTL_MOD, p->tap_fd, &ev) == 0)
		p->tap_polled = on;
}

/* ---- transmit ---- */

static void vnet_broken(struct vnet_pair *p, unsigned q)
{
	struct virtio_dev *vdev = &p->n->vdev;

	virtio_dev_needs_reset(vdev, "queue %u: %s", q,
			       vdev->queues[q].vq.broken_why);
}

/* One chain to the backend. Its length errors are the guest's: counted. */
static void vnet_tx_one(struct vnet_pair *p, struct vq_chain *c)
{
	struct vnet *n = p->n;
	struct iovec *iov = c->out;
	unsigned niov = c->nout;
	size_t skip = n->tap.vnet_hdr ? 0 : VNET_HDR_LEN;
	ssize_t w;

	if (c->out_len < VNET_HDR_LEN + VNET_MIN_FRAME) {
		p->tx_errors++;
		log_ratelimited(&p->rl, LOG_WARN,
				"%s: tx: %u-byte buffer is shorter than a "
				"header and an Ethernet header (dropped)",
				n->name, c->out_len);
		return;
	}
	/* without a header the backend gets the frame only */
	while (skip && niov) {
		if (iov->iov_len > skip) {
			iov->iov_base = (uint8_t *)iov->iov_base + skip;
			iov->iov_len -= skip;
			break;
		}
		skip -= iov->iov_len;
		iov++;
		niov--;
	}
	w = writev(p->tap_fd, iov, (int)niov);
	if (w < 0) {
		p->tx_errors++;
		log_ratelimited(&p->rl, errno == EAGAIN ? LOG_DEBUG : LOG_WARN,
				"%s: tx: %s (frame of %u bytes dropped)",
				n->name, strerror(errno),
				c->out_len - VNET_HDR_LEN);
		return;
	}
	p->tx_packets++;
	p->tx_bytes += c->out_len - VNET_HDR_LEN;
}

/* false: the queue broke. */
static bool vnet_tx(struct vnet_pair *p)
{
	struct virtio_dev *vdev = &p->n->vdev;
	struct virtq *vq = &vdev->queues[p->txq].vq;
	struct vq_chain c = { .out = p->iov_out,
			      .max_out = VNET_MAX_IOV,
			      .in = p->iov_in,
			      .max_in = VNET_MAX_IOV };
	unsigned done = 0, budget = VNET_BUDGET;
	int ret;

	if (!vq->ready)
		return true;
	vq_set_notify(vq, false);
	while (budget) {
		ret = vq_pop(vq, &c);
		if (ret == 0) {
			vq_set_notify(vq, true);
			if (!vq_has_work(vq))
				break;
			vq_set_notify(vq, false);
			continue;
		}
		if (ret == -ENOBUFS) {
			virtio_dev_needs_reset(vdev,
					       "queue %u: a chain of more "
					       "than %u buffers",
					       p->txq, VNET_MAX_IOV);
			return false;
		}
		if (ret < 0) {
			vnet_broken(p, p->txq);
			return false;
		}
		vnet_tx_one(p, &c);
		vq_push(vq, c.head, 0);
		done++;
		budget--;
	}
	if (!budget)
		virtio_efd_signal(p->wake_fd); /* more next round */
	if (done && vq_should_notify(vq))
		virtio_dev_notify_queue(vdev, p->txq);
	return true;
}

/* ---- receive ---- */

/* Read one frame from the backend into rxbuf. 1, 0 (nothing), -1 error. */
static int vnet_rx_read(struct vnet_pair *p)
{
	struct vnet *n = p->n;
	size_t off = n->tap.vnet_hdr ? 0 : VNET_HDR_LEN;
	ssize_t r;

	r = read(p->tap_fd, p->rxbuf + off, VNET_RXBUF_SIZE - off);
	if (r < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		log_ratelimited(&p->rl, LOG_WARN, "%s: rx: %s", n->name,
				strerror(errno));
		return -1;
	}
	if (r == 0 && !n->tap.is_tap) {
		log_warn("%s: rx: the backend socket was closed", n->name);
		p->tap_eof = true;
		return -1;
	}
	if (off)
		memset(p->rxbuf, 0, VNET_HDR_LEN);
	if ((size_t)r + off < VNET_HDR_LEN + VNET_MIN_FRAME) {
		p->rx_dropped++;
		return 0;
	}
	p->rx_len = (size_t)r + off;
	return 1;
}

/*
 * Put the pending frame into the rx queue. 1: delivered (or dropped: it
 * can never fit); 0: not enough buffers now (nothing consumed); -1: broken.
 */
static int vnet_rx_deliver(struct vnet_pair *p)
{
	struct virtio_dev *vdev = &p->n->vdev;
	struct virtq *vq = &vdev->queues[p->rxq].vq;
	bool mrg = virtio_dev_has_feature(vdev, VIRTIO_NET_F_MRG_RXBUF);
	struct vq_chain c = { .out = p->iov_out,
			      .max_out = VNET_MAX_IOV,
			      .in = p->iov_in,
			      .max_in = VNET_MAX_IOV };
	uint8_t *nb[2] = { NULL, NULL }; /* num_buffers' bytes, in chain 0 */
	size_t copied = 0;
	unsigned nbufs = 0;
	int ret;

	while (copied < p->rx_len) {
		size_t m;

		if (nbufs >= vq->size) /* cannot happen: bounded anyway */
			break;
		ret = vq_pop(vq, &c);
		if (ret == 0) {
			vq_unpop(vq, nbufs);
			return 0;
		}
		if (ret < 0) {
			vq_unpop(vq, nbufs);
			if (ret == -ENOBUFS)
				virtio_dev_needs_reset(vdev,
						       "queue %u: a chain of "
						       "more than %u buffers",
						       p->rxq, VNET_MAX_IOV);
			else
				vnet_broken(p, p->rxq);
			return -1;
		}
		if (!nbufs && (c.in_len < VNET_HDR_LEN ||
			       (!mrg && c.in_len < p->rx_len))) {
			/* this buffer can never take it: drop the frame and
			 * give the buffer back for the next one */
			vq_unpop(vq, 1);
			p->rx_dropped++;
			log_ratelimited(&p->rl, LOG_WARN,
					"%s: rx: %zu-byte frame does not fit "
					"a %u-byte buffer (dropped)",
					p->n->name, p->rx_len - VNET_HDR_LEN,
					c.in_len);
			p->rx_len = 0;
			return 1;
		}
		if (!c.in_len) {
			vq_unpop(vq, nbufs + 1);
			virtio_dev_needs_reset(vdev,
					       "queue %u: receive buffer with "
					       "no writable part",
					       p->rxq);
			return -1;
		}
		if (!nbufs) {
			/* where num_buffers (header bytes 10, 11) lands */
			size_t pos = 0;
			unsigned k = 0;

			for (unsigned i = 0; i < c.nin && k < 2; i++) {
				size_t l = c.in[i].iov_len;

				while (k < 2 && 10 + k < pos + l) {
					nb[k] = (uint8_t *)c.in[i].iov_base +
						(10 + k - pos);
					k++;
				}
				pos += l;
			}
		}
		m = vq_buf_to_iov(c.in, c.nin, 0, p->rxbuf + copied,
				  p->rx_len - copied);
		p->heads[nbufs] = c.head;
		p->lens[nbufs] = (uint32_t)m;
		nbufs++;
		copied += m;
	}
	if (copied < p->rx_len) {
		vq_unpop(vq, nbufs);
		return 0;
	}
	if (nb[0] && nb[1]) {
		*nb[0] = (uint8_t)nbufs;
		*nb[1] = (uint8_t)(nbufs >> 8);
	}
	vq_push_many(vq, p->heads, p->lens, nbufs);
	p->rx_packets++;
	p->rx_bytes += p->rx_len - VNET_HDR_LEN;
	p->rx_len = 0;
	return 1;
}

static bool vnet_rx(struct vnet_pair *p)
{
	struct virtio_dev *vdev = &p->n->vdev;
	struct virtq *vq = &vdev->queues[p->rxq].vq;
	unsigned done = 0, budget = VNET_BUDGET;
	bool retried = false;
	int ret;

	if (!vq->ready || p->tap_eof)
		return true;
	/* no rx kicks while we have buffers: we poll the TAP instead */
	if (!p->rx_wait)
		vq_set_notify(vq, false);
	while (budget) {
		if (!p->rx_len) {
			ret = vnet_rx_read(p);
			if (ret <= 0)
				break;
		}
		ret = vnet_rx_deliver(p);
		if (ret < 0)
			return false;
		if (ret > 0) {
			done++;
			budget--;
			retried = false;
			continue;
		}
		/* No room: ask for a kick, then look once more (buffers the
		 * driver added before it saw our request would not kick). */
		if (retried) {
			p->rx_wait = true;
			break;
		}
		vq_set_notify(vq, true);
		retried = true;
	}
	if (!budget)
		virtio_efd_signal(p->wake_fd);
	if (done && vq_should_notify(vq))
		virtio_dev_notify_queue(vdev, p->rxq);
	return true;
}

/* ---- control queue ---- */

static void vnet_set_pairs(struct vnet *n, unsigned k)
{
	for (unsigned i = 1; i < n->nr_pairs; i++) {
		struct vnet_pair *p = &n->pairs[i];
		bool on = i < k;

		tap_queue_enable(&n->tap, n->name, i, on);
		pthread_mutex_lock(&p->lock);
		p->active = on && n->started && !n->use_vhost;
		if (!on)
			p->rx_len = 0;
		pthread_mutex_unlock(&p->lock);
		virtio_efd_signal(p->wake_fd);
	}
	n->curr_pairs = k;
}

static uint8_t vnet_ctrl_cmd(struct vnet *n, const uint8_t *cmd, size_t len)
{
	unsigned pairs;

	if (len < 2)
		return VIRTIO_NET_ERR;
	if (cmd[0] == VIRTIO_NET_CTRL_MQ &&
	    cmd[1] == VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET &&
	    virtio_dev_has_feature(&n->vdev, VIRTIO_NET_F_MQ) && len >= 4) {
		pairs = cmd[2] | (unsigned)cmd[3] << 8;
		if (pairs < 1 || pairs > n->nr_pairs)
			return VIRTIO_NET_ERR;
		vnet_set_pairs(n, pairs);
		return VIRTIO_NET_OK;
	}
	log_ratelimited(&n->pairs[0].rl, LOG_DEBUG,
			"%s: control command class %u cmd %u not supported",
			n->name, cmd[0], cmd[1]);
	return VIRTIO_NET_ERR;
}

/* On the pair-0 thread, its lock held. false: the queue broke. */
static bool vnet_ctrl(struct vnet *n)
{
	struct vnet_pair *p = &n->pairs[0];
	struct virtq *vq = &n->vdev.queues[n->ctrl_q].vq;
	struct vq_chain c = { .out = p->iov_out,
			      .max_out = VNET_MAX_IOV,
			      .in = p->iov_in,
			      .max_in = VNET_MAX_IOV };
	uint8_t cmd[VNET_CTRL_MAX], ack;
	unsigned done = 0;
	size_t len;
	int ret;

	if (!vq->ready)
		return true;
	for (unsigned budget = VNET_BUDGET; budget; budget--) {
		ret = vq_pop(vq, &c);
		if (ret == 0)
			break;
		if (ret < 0) {
			vnet_broken(p, n->ctrl_q);
			return false;
		}
		if (c.in_len < 1) {
			virtio_dev_needs_reset(&n->vdev,
					       "queue %u: control command "
					       "without room for the ack",
					       n->ctrl_q);
			return false;
		}
		len = vq_iov_to_buf(c.out, c.nout, 0, cmd, sizeof(cmd));
		ack = vnet_ctrl_cmd(n, cmd, len);
		vq_buf_to_iov(c.in, c.nin, c.in_len - 1, &ack, 1);
		vq_push(vq, c.head, c.in_len);
		done++;
	}
	if (done && vq_should_notify(vq))
		virtio_dev_notify_queue(&n->vdev, n->ctrl_q);
	return true;
}

/* ---- the pair thread ---- */

static void vnet_pair_round(struct vnet_pair *p)
{
	struct vnet *n = p->n;
	bool running = virtio_dev_running(&n->vdev);

	if (running && p->idx == 0 && n->has_ctrl && n->started)
		vnet_ctrl(n);
	if (running && p->active) {
		if (vnet_tx(p))
			vnet_rx(p);
	}
	vnet_tap_poll(p, virtio_dev_running(&n->vdev) && p->active &&
				 !p->rx_wait && !p->tap_eof);
}

static void *vnet_pair_thread(void *arg)
{
	struct vnet_pair *p = arg;
	struct vnet *n = p->n;
	struct epoll_event ev[8];

	for (;;) {
		int nev = epoll_wait(p->epfd, ev, ARRAY_SIZE(ev), -1);
		bool rx_kick = false;

		if (nev < 0) {
			if (errno == EINTR)
				continue;
			log_err("%s: epoll_wait: %s", n->name, strerror(errno));
			break;
		}
		for (int i = 0; i < nev; i++) {
			switch (ev[i].data.u32) {
			case VNET_EV_WAKE:
				virtio_efd_drain(p->wake_fd);
				break;
			case VNET_EV_RXKICK:
				virtio_efd_drain(
					n->vdev.queues[p->rxq].kick_fd);
				rx_kick = true;
				break;
			case VNET_EV_TXKICK:
				virtio_efd_drain(
					n->vdev.queues[p->txq].kick_fd);
				break;
			case VNET_EV_CTRLKICK:
				virtio_efd_drain(
					n->vdev.queues[n->ctrl_q].kick_fd);
				break;
			case VNET_EV_CALL_RX: /* vhost, relayed */
				virtio_efd_drain(p->call_fd[0]);
				if (virtio_dev_running(&n->vdev))
					virtio_dev_notify_queue(&n->vdev,
								p->rxq);
				break;
			case VNET_EV_CALL_TX:
				virtio_efd_drain(p->call_fd[1]);
				if (virtio_dev_running(&n->vdev))
					virtio_dev_notify_queue(&n->vdev,
								p->txq);
				break;
			default:
				break;
			}
		}
		pthread_mutex_lock(&p->lock);
		if (p->quit) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		if (rx_kick && p->rx_wait) {
			p->rx_wait = false;
			vq_set_notify(&n->vdev.queues[p->rxq].vq, false);
		}
		vnet_pair_round(p);
		pthread_mutex_unlock(&p->lock);
	}
	return NULL;
}

/* ---- virtio_dev_ops ---- */

static int vnet_features_ok(struct virtio_dev *vdev, uint64_t f)
{
#define HAS(b) (f & VIRTIO_F(VIRTIO_NET_F_##b))
	if ((HAS(GUEST_TSO4) || HAS(GUEST_TSO6) || HAS(GUEST_UFO)) &&
	    !HAS(GUEST_CSUM))
		return -EINVAL;
	if (HAS(GUEST_ECN) && !HAS(GUEST_TSO4) && !HAS(GUEST_TSO6))
		return -EINVAL;
	if ((HAS(HOST_TSO4) || HAS(HOST_TSO6) || HAS(HOST_UFO)) && !HAS(CSUM))
		return -EINVAL;
	if (HAS(HOST_ECN) && !HAS(HOST_TSO4) && !HAS(HOST_TSO6))
		return -EINVAL;
	if ((HAS(MQ) || HAS(CTRL_RX) || HAS(CTRL_VLAN) || HAS(GUEST_ANNOUNCE) ||
	     HAS(CTRL_MAC_ADDR)) &&
	    !HAS(CTRL_VQ))
		return -EINVAL;
#undef HAS
	return 0;
}

static unsigned vnet_tap_offloads(const struct virtio_dev *vdev)
{
	unsigned fl = 0;

	if (virtio_dev_has_feature(vdev, VIRTIO_NET_F_GUEST_CSUM))
		fl |= TAP_OFFLOAD_CSUM;
	if (virtio_dev_has_feature(vdev, VIRTIO_NET_F_GUEST_TSO4))
		fl |= TAP_OFFLOAD_TSO4;
	if (virtio_dev_has_feature(vdev, VIRTIO_NET_F_GUEST_TSO6))
		fl |= TAP_OFFLOAD_TSO6;
	if (virtio_dev_has_feature(vdev, VIRTIO_NET_F_GUEST_ECN))
		fl |= TAP_OFFLOAD_TSO_ECN;
	return fl;
}

/* The userspace data path's fds in the pair's epoll: the kicks, and the
 * TAP (armed when there is room). Not with vhost, whose kernel thread
 * waits on the kicks itself. */
static int vnet_pair_watch(struct vnet_pair *p)
{
	struct vnet *n = p->n;
	int ret;

	ret = vnet_ep_add(p, n->vdev.queues[p->rxq].kick_fd, VNET_EV_RXKICK,
			  EPOLLIN);
	if (!ret)
		ret = vnet_ep_add(p, n->vdev.queues[p->txq].kick_fd,
				  VNET_EV_TXKICK, EPOLLIN);
	if (!ret)
		ret = vnet_ep_add(p, p->tap_fd, VNET_EV_TAP, 0);
	return ret;
}

static int vnet_vhost_start(struct vnet *n)
{
	struct virtio_dev *vdev = &n->vdev;
	int ret;

	for (unsigned i = 0; i < n->nr_pairs; i++) {
		struct vnet_pair *p = &n->pairs[i];
		int kick[2] = { vdev->queues[p->rxq].kick_fd,
				vdev->queues[p->txq].kick_fd };
		int call[2] = { p->call_fd[0], p->call_fd[1] };

		/* an irqfd the transport owns skips the relay */
		for (unsigned k = 0; k < 2 && vdev->tr->queue_irqfd; k++) {
			int fd = vdev->tr->queue_irqfd(vdev,
						       k ? p->txq : p->rxq);

			if (fd >= 0)
				call[k] = fd;
		}
		ret = vhost_net_start(&p->vhost, n->name, vm_mem(vdev->vm),
				      vdev->features, &vdev->queues[p->rxq].vq,
				      &vdev->queues[p->txq].vq, kick, call,
				      n->tap.fds[i]);
		if (ret) {
			for (unsigned j = 0; j < i; j++)
				vhost_net_stop(&n->pairs[j].vhost, n->name);
			return ret;
		}
	}
	return 0;
}

static int vnet_start(struct virtio_dev *vdev)
{
	struct vnet *n = vnet_of(vdev);
	int ret;

	ret = tap_set_offload(&n->tap, n->name, vnet_tap_offloads(vdev));
	if (ret)
		return ret;
	n->curr_pairs = 1;
	for (unsigned i = 1; i < n->nr_pairs; i++)
		tap_queue_enable(&n->tap, n->name, i, false);
	tap_queue_enable(&n->tap, n->name, 0, true);
	if (n->use_vhost) {
		ret = vnet_vhost_start(n);
		if (ret && n->vhost_required)
			return ret;
		if (ret) {
			log_warn("%s: vhost-net failed: falling back to the "
				 "userspace data path",
				 n->name);
			n->use_vhost = false;
			for (unsigned i = 0; i < n->nr_pairs; i++) {
				ret = vnet_pair_watch(&n->pairs[i]);
				if (ret)
					return ret;
			}
		}
	}
	for (unsigned i = 0; i < n->nr_pairs; i++) {
		struct vnet_pair *p = &n->pairs[i];

		pthread_mutex_lock(&p->lock);
		if (i == 0)
			n->started = true;
		p->active = i < n->curr_pairs && !n->use_vhost;
		p->rx_wait = false;
		p->rx_len = 0;
		pthread_mutex_unlock(&p->lock);
		virtio_efd_signal(p->wake_fd);
	}
	return 0;
}

static void vnet_stop(struct virtio_dev *vdev)
{
	struct vnet *n = vnet_of(vdev);

	for (unsigned i = 0; i < n->nr_pairs; i++) {
		struct vnet_pair *p = &n->pairs[i];

		pthread_mutex_lock(&p->lock);
		if (i == 0)
			n->started = false;
		p->active = false;
		p->rx_len = 0;
		p->rx_wait = false;
		vnet_tap_poll(p, false);
		pthread_mutex_unlock(&p->lock);
		vhost_net_stop(&p->vhost, n->name);
	}
	/* a new driver may not want what this one accepted */
	if (n->tap.vnet_hdr && n->tap.is_tap)
		tap_set_offload(&n->tap, n->name, 0);
}

static const struct virtio_dev_ops vnet_ops = {
	.features_ok = vnet_features_ok,
	.start = vnet_start,
	.stop = vnet_stop,
};

/* ---- configuration ---- */

static int vnet_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char end;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &end) != 6 ||
	    strlen(s) != 17)
		return -EINVAL;
	for (unsigned i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

/* A stable, locally administered unicast MAC for this device of this
 * config file (FNV-1a of the file's absolute path and the device name). */
static void vnet_default_mac(const struct cfg_device *cfg, uint8_t mac[6])
{
	uint64_t h = 0xcbf29ce484222325ULL;
	char *abs = cfg->loc.file ? realpath(cfg->loc.file, NULL) : NULL;
	const char *parts[2] = { abs ? abs : cfg->loc.file, cfg->name };

	for (unsigned k = 0; k < 2; k++) {
		for (const char *c = parts[k] ? parts[k] : ""; *c; c++) {
			h ^= (uint8_t)*c;
			h *= 0x100000001b3ULL;
		}
		h ^= 0xff; /* separator */
		h *= 0x100000001b3ULL;
	}
	free(abs);
	mac[0] = 0x52; /* locally administered, unicast */
	for (unsigned i = 1; i < 6; i++)
		mac[i] = (uint8_t)(h >> (8 * (i - 1)));
}

static bool vnet_ifname_ok(const char *s)
{
	size_t len = strlen(s);

	if (!len || len >= IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || *s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

static int vnet_check(const struct cfg_device *cfg, struct cfg_error *err)
{
	static const char *const names[] = { "tap", "bridge" };
	uint64_t qs = cfg_dev_num(cfg, "queue-size");
	uint8_t mac[6];
	char why[160];
	int ret;

	ret = virtio_cfg_check(cfg, err);
	if (ret)
		return ret;
	for (unsigned i = 0; i < ARRAY_SIZE(names); i++) {
		if (cfg_dev_isset(cfg, names[i]) &&
		    !vnet_ifname_ok(cfg_dev_str(cfg, names[i]))) {
			cfg_dev_error(err, cfg, names[i],
				      "\"%s\" is not a valid interface name "
				      "(1-%u characters, no '/', ':' or "
				      "spaces)",
				      cfg_dev_str(cfg, names[i]), IFNAMSIZ - 1);
			return -EINVAL;
		}
	}
	/* A bridge that does not exist is a mistake in the config: say so
	 * at load time (exit status 2), not only when the VM is created. */
	if (cfg_dev_isset(cfg, "bridge") &&
	    tap_bridge_check(cfg_dev_str(cfg, "bridge"), why, sizeof(why))) {
		cfg_dev_error(err, cfg, "bridge", "\"%s\": %s",
			      cfg_dev_str(cfg, "bridge"), why);
		return -EINVAL;
	}
	if (cfg_dev_isset(cfg, "fd") && cfg_dev_isset(cfg, "tap")) {
		cfg_dev_error(err, cfg, "fd", "tap and fd are exclusive");
		return -EINVAL;
	}
	if (cfg_dev_isset(cfg, "fd") && cfg_dev_num(cfg, "queues") > 1) {
		cfg_dev_error(err, cfg, "queues",
			      "an inherited fd has one queue");
		return -EINVAL;
	}
	if (!IS_POW2(qs)) {
		cfg_dev_error(err, cfg, "queue-size",
			      "%llu is not a power of two",
			      (unsigned long long)qs);
		return -EINVAL;
	}
	if (cfg_dev_isset(cfg, "mac")) {
		if (vnet_parse_mac(cfg_dev_str(cfg, "mac"), mac)) {
			cfg_dev_error(err, cfg, "mac",
				      "\"%s\" is not a MAC address "
				      "(xx:xx:xx:xx:xx:xx)",
				      cfg_dev_str(cfg, "mac"));
			return -EINVAL;
		}
		if (mac[0] & 1) {
			cfg_dev_error(err, cfg, "mac",
				      "%s is a multicast address",
				      cfg_dev_str(cfg, "mac"));
			return -EINVAL;
		}
		if (!(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5])) {
			cfg_dev_error(err, cfg, "mac", "all-zero address");
			return -EINVAL;
		}
	}
	return 0;
}

/* ---- creation ---- */

static int vnet_pair_init(struct vnet *n, unsigned i, uint16_t qsize)
{
	struct vnet_pair *p = &n->pairs[i];
	int ret;

	p->tap_fd = n->tap.fds[i];
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	p->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->epfd < 0 || p->wake_fd < 0)
		return -errno;
	p->rxbuf = malloc(VNET_RXBUF_SIZE);
	p->iov_out = calloc(VNET_MAX_IOV, sizeof(*p->iov_out));
	p->iov_in = calloc(VNET_MAX_IOV, sizeof(*p->iov_in));
	p->heads = calloc(qsize, sizeof(*p->heads));
	p->lens = calloc(qsize, sizeof(*p->lens));
	if (!p->rxbuf || !p->iov_out || !p->iov_in || !p->heads || !p->lens)
		return -ENOMEM;

	ret = vnet_ep_add(p, p->wake_fd, VNET_EV_WAKE, EPOLLIN);
	if (!ret && i == 0 && n->has_ctrl)
		ret = vnet_ep_add(p, n->vdev.queues[n->ctrl_q].kick_fd,
				  VNET_EV_CTRLKICK, EPOLLIN);
	if (ret)
		return ret;
	if (n->use_vhost) {
		/* vhost signals these when the transport needs a relay */
		for (unsigned k = 0; k < 2; k++) {
			p->call_fd[k] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
			if (p->call_fd[k] < 0)
				return -errno;
			ret = vnet_ep_add(p, p->call_fd[k],
					  k ? VNET_EV_CALL_TX : VNET_EV_CALL_RX,
					  EPOLLIN);
			if (ret)
				return ret;
		}
		return 0;
	}
	return vnet_pair_watch(p);
}

static void vnet_pair_free(struct vnet_pair *p)
{
	if (p->thread_ok) {
		pthread_mutex_lock(&p->lock);
		p->quit = true;
		pthread_mutex_unlock(&p->lock);
		virtio_efd_signal(p->wake_fd);
		pthread_join(p->thread, NULL);
	}
	vhost_net_close(&p->vhost);
	for (unsigned k = 0; k < 2; k++)
		if (p->call_fd[k] >= 0)
			close(p->call_fd[k]);
	if (p->epfd >= 0)
		close(p->epfd);
	if (p->wake_fd >= 0)
		close(p->wake_fd);
	free(p->rxbuf);
	free(p->iov_out);
	free(p->iov_in);
	free(p->heads);
	free(p->lens);
	pthread_mutex_destroy(&p->lock);
}

/* Open the backend and apply mtu/bridge/up. */
static int vnet_open_backend(struct vnet *n, const struct cfg_device *cfg)
{
	unsigned nq = (unsigned)cfg_dev_num(cfg, "queues");
	int ret;

	if (cfg_dev_isset(cfg, "fd"))
		ret = tap_from_fd(&n->tap, n->name,
				  (int)cfg_dev_num(cfg, "fd"));
	else
		ret = tap_open(&n->tap, n->name,
			       cfg_dev_isset(cfg, "tap")
				       ? cfg_dev_str(cfg, "tap")
				       : NULL,
			       nq);
	if (ret)
		return ret;
	if (!n->tap.is_tap &&
	    (cfg_dev_isset(cfg, "bridge") || cfg_dev_isset(cfg, "mtu"))) {
		log_err("%s: bridge and mtu need a TAP, fd %d is a socket",
			n->name, n->tap.fds[0]);
		return -EINVAL;
	}
	if (cfg_dev_isset(cfg, "mtu")) {
		ret = tap_set_mtu(&n->tap, n->name,
				  (unsigned)cfg_dev_num(cfg, "mtu"));
		if (ret)
			return ret;
	}
	if (cfg_dev_isset(cfg, "bridge")) {
		ret = tap_add_to_bridge(&n->tap, n->name,
					cfg_dev_str(cfg, "bridge"));
		if (ret)
			return ret;
	}
	if (n->tap.is_tap && !n->tap.inherited)
		return tap_up(&n->tap, n->name);
	return 0;
}

static uint64_t vnet_features(struct vnet *n, const struct cfg_device *cfg)
{
	uint64_t f =
		VIRTIO_F(VIRTIO_NET_F_MAC) | VIRTIO_F(VIRTIO_NET_F_STATUS) |
		VIRTIO_F(VIRTIO_NET_F_MRG_RXBUF) |
		VIRTIO_F(VIRTIO_F_EVENT_IDX) |
		VIRTIO_F(VIRTIO_F_INDIRECT_DESC) | VIRTIO_F(VIRTIO_F_VERSION_1);

	if (cfg_dev_isset(cfg, "mtu"))
		f |= VIRTIO_F(VIRTIO_NET_F_MTU);
	if (n->nr_pairs > 1)
		f |= VIRTIO_F(VIRTIO_NET_F_MQ) | VIRTIO_F(VIRTIO_NET_F_CTRL_VQ);
	if (cfg_dev_num(cfg, "offload") && n->tap.is_tap && n->tap.vnet_hdr)
		f |= VIRTIO_F(VIRTIO_NET_F_CSUM) |
		     VIRTIO_F(VIRTIO_NET_F_GUEST_CSUM) |
		     VIRTIO_F(VIRTIO_NET_F_HOST_TSO4) |
		     VIRTIO_F(VIRTIO_NET_F_HOST_TSO6) |
		     VIRTIO_F(VIRTIO_NET_F_HOST_ECN) |
		     VIRTIO_F(VIRTIO_NET_F_GUEST_TSO4) |
		     VIRTIO_F(VIRTIO_NET_F_GUEST_TSO6) |
		     VIRTIO_F(VIRTIO_NET_F_GUEST_ECN);
	if (n->use_vhost) {
		/* the ring features are the kernel's to honour */
		uint64_t ring = VIRTIO_F(VIRTIO_F_EVENT_IDX) |
				VIRTIO_F(VIRTIO_F_INDIRECT_DESC) |
				VIRTIO_F(VIRTIO_NET_F_MRG_RXBUF);

		f &= ~ring | n->pairs[0].vhost.features;
	}
	return f;
}

static int vnet_open_vhost(struct vnet *n, const struct cfg_device *cfg)
{
	uint64_t mode = cfg_dev_num(cfg, "vhost");
	int ret;

	if (mode == VNET_VHOST_OFF)
		return 0;
	if (!n->tap.is_tap || !n->tap.vnet_hdr) {
		if (mode == VNET_VHOST_ON) {
			log_err("%s: vhost = on needs a TAP with a virtio-net "
				"header (fd %d is not one)",
				n->name, n->tap.fds[0]);
			return -EINVAL;
		}
		return 0;
	}
	for (unsigned i = 0; i < n->nr_pairs; i++)
		n->pairs[i].vhost.fd = -1;
	for (unsigned i = 0; i < n->nr_pairs; i++) {
		ret = vhost_net_open(&n->pairs[i].vhost, n->name,
				     mode == VNET_VHOST_AUTO);
		if (!ret)
			continue;
		for (unsigned j = 0; j < i; j++)
			vhost_net_close(&n->pairs[j].vhost);
		return mode == VNET_VHOST_ON ? ret : 0;
	}
	if (!(n->pairs[0].vhost.features & VIRTIO_F(VIRTIO_F_VERSION_1))) {
		for (unsigned i = 0; i < n->nr_pairs; i++)
			vhost_net_close(&n->pairs[i].vhost);
		if (mode == VNET_VHOST_ON) {
			log_err("%s: vhost = on but the kernel's vhost-net "
				"lacks VIRTIO_F_VERSION_1",
				n->name);
			return -ENOTSUP;
		}
		return 0;
	}
	n->use_vhost = true;
	n->vhost_required = mode == VNET_VHOST_ON;
	return 0;
}

static void vnet_free(struct vnet *n)
{
	for (unsigned i = 0; n->pairs && i < n->nr_pairs; i++)
		vnet_pair_free(&n->pairs[i]);
	virtio_dev_detach(&n->vdev);
	virtio_dev_cleanup(&n->vdev);
	tap_close(&n->tap);
	free(n->pairs);
	free(n);
}

static int vnet_create(struct vm *vm, struct device *dev)
{
	const struct cfg_device *cfg = dev->cfg;
	struct virtio_net_config *nc;
	uint16_t qsize = (uint16_t)cfg_dev_num(cfg, "queue-size");
	unsigned nq;
	struct vnet *n;
	char tname[32];
	int ret;

	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->name = dev->name;
	n->nr_pairs = (unsigned)cfg_dev_num(cfg, "queues");
	n->has_ctrl = n->nr_pairs > 1;
	n->ctrl_q = 2 * n->nr_pairs;
	n->pairs = calloc(n->nr_pairs, sizeof(*n->pairs));
	if (!n->pairs) {
		free(n);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n->nr_pairs; i++) {
		struct vnet_pair *p = &n->pairs[i];

		p->n = n;
		p->idx = i;
		p->rxq = VIRTIO_NET_RXQ(i);
		p->txq = VIRTIO_NET_TXQ(i);
		p->tap_fd = -1;
		p->vhost.fd = -1;
		p->epfd = p->wake_fd = -1;
		p->call_fd[0] = p->call_fd[1] = -1;
		p->rl = (struct log_ratelimit){ .burst = 10,
						.interval_ms = 5000 };
		pthread_mutex_init(&p->lock, NULL);
	}

	ret = vnet_open_backend(n, cfg);
	if (ret)
		goto err;
	ret = vnet_open_vhost(n, cfg);
	if (ret)
		goto err;

	nc = (struct virtio_net_config *)n->config;
	if (cfg_dev_isset(cfg, "mac"))
		vnet_parse_mac(cfg_dev_str(cfg, "mac"), nc->mac);
	else
		vnet_default_mac(cfg, nc->mac);
	nc->status = VIRTIO_NET_S_LINK_UP;
	nc->max_virtqueue_pairs = (uint16_t)n->nr_pairs;
	if (cfg_dev_isset(cfg, "mtu"))
		nc->mtu = (uint16_t)cfg_dev_num(cfg, "mtu");

	nq = 2 * n->nr_pairs + (n->has_ctrl ? 1 : 0);
	ret = virtio_dev_init(&n->vdev, vm, dev->name, VIRTIO_ID_NET, &vnet_ops,
			      vnet_features(n, cfg), nq, qsize, n->config,
			      sizeof(n->config));
	if (ret)
		goto err;
	if (n->has_ctrl)
		n->vdev.queues[n->ctrl_q].num_max = 64;
	ret = virtio_dev_attach(&n->vdev, dev);
	if (ret)
		goto err;
	for (unsigned i = 0; i < n->nr_pairs; i++) {
		ret = vnet_pair_init(n, i, qsize);
		if (ret) {
			log_err("%s: cannot set up queue pair %u: %s", n->name,
				i, strerror(-ret));
			goto err;
		}
		snprintf(tname, sizeof(tname), "%.10s-q%u", n->name, i);
		ret = virtio_io_thread_create(&n->pairs[i].thread, tname,
					      vnet_pair_thread, &n->pairs[i]);
		if (ret) {
			log_err("%s: cannot start its I/O thread: %s", n->name,
				strerror(-ret));
			goto err;
		}
		n->pairs[i].thread_ok = true;
	}
	log_info("%s: virtio-net %02x:%02x:%02x:%02x:%02x:%02x on %s \"%s\", "
		 "%u queue pair%s, %s data path",
		 n->name, nc->mac[0], nc->mac[1], nc->mac[2], nc->mac[3],
		 nc->mac[4], nc->mac[5], n->tap.is_tap ? "tap" : "socket",
		 n->tap.ifname, n->nr_pairs, n->nr_pairs > 1 ? "s" : "",
		 n->use_vhost ? "vhost" : "userspace");
	dev->priv = n;
	return 0;

err:
	vnet_free(n);
	return ret;
}

static void vnet_reset(struct device *dev)
{
	struct vnet *n = dev->priv;

	if (n)
		virtio_dev_hard_reset(&n->vdev);
}

static void vnet_destroy(struct device *dev)
{
	struct vnet *n = dev->priv;

	if (!n)
		return;
	virtio_dev_reset(&n->vdev);
	for (unsigned i = 0; i < n->nr_pairs && n->use_vhost; i++)
		log_info("%s: queue pair %u: vhost data path (the kernel "
			 "keeps no per-device counters)",
			 n->name, i);
	for (unsigned i = 0; i < n->nr_pairs && !n->use_vhost; i++) {
		struct vnet_pair *p = &n->pairs[i];

		log_info("%s: queue pair %u: rx %llu packets %llu bytes "
			 "(%llu dropped), tx %llu packets %llu bytes (%llu "
			 "errors)",
			 n->name, i, (unsigned long long)p->rx_packets,
			 (unsigned long long)p->rx_bytes,
			 (unsigned long long)p->rx_dropped,
			 (unsigned long long)p->tx_packets,
			 (unsigned long long)p->tx_bytes,
			 (unsigned long long)p->tx_errors);
	}
	vnet_free(n);
	dev->priv = NULL;
}

/* Listed in devices/registry.c. */
const struct device_type virtio_net_type = {
	.name = "virtio-net",
	.help = "virtio-net NIC (virtio 1.x, mmio or pci) on a TAP "
		"interface, optionally vhost-net",
	.params = vnet_params,
	.check = vnet_check,
	.resources = virtio_cfg_resources,
	.create = vnet_create,
	.reset = vnet_reset,
	.destroy = vnet_destroy,
};
