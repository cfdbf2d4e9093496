/* SPDX-License-Identifier: MIT */
/*
 * virtio 1.x device-common layer: see virtio/virtio.h for the contract.
 *
 * The status state machine (spec 2.1, 3.1.1): the driver only ever adds
 * bits, in the order ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK, until it
 * writes 0 (reset). We keep bits once set (a driver clearing one is a bug:
 * logged, ignored), check the features at FEATURES_OK (the driver reads the
 * status back and gives up if FEATURES_OK did not stick), and start the
 * data path at DRIVER_OK. DEVICE_NEEDS_RESET is ours: set from any thread
 * with an atomic OR, so the read-modify-write of a status write preserves
 * it (compare-and-swap loop).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/abi/platform.h"
#include "devices/pci.h"
#include "virtio/virtio.h"
#include "vmm/rt.h"
#include "vmm/util.h"
#include "vmm/vm.h"

const char *const virtio_transport_choices[] = { "mmio", "pci", NULL };

/* ---- life cycle ---- */

int virtio_dev_init(struct virtio_dev *vdev, struct vm *vm, const char *name,
		    uint32_t device_id, const struct virtio_dev_ops *ops,
		    uint64_t features, unsigned nr_queues, uint16_t queue_max,
		    uint8_t *config, unsigned config_size)
{
	int ret;

	memset(vdev, 0, sizeof(*vdev));
	if (!nr_queues || nr_queues > VIRTIO_MAX_QUEUES ||
	    !IS_POW2(queue_max) || queue_max > VQ_MAX_SIZE) {
		log_err("%s: bad virtio queue layout (%u queues of %u)", name,
			nr_queues, queue_max);
		return -EINVAL;
	}
	vdev->vm = vm;
	vdev->name = name;
	vdev->device_id = device_id;
	vdev->ops = ops;
	vdev->host_features = features | VIRTIO_F(VIRTIO_F_VERSION_1);
	vdev->config = config;
	vdev->config_size = config_size;
	vdev->rl = (struct log_ratelimit){ .burst = 10, .interval_ms = 5000 };
	atomic_init(&vdev->status, 0);
	atomic_init(&vdev->isr, 0);
	atomic_init(&vdev->config_gen, 0);
	atomic_init(&vdev->started, false);
	atomic_init(&vdev->reset_reported, false);
	pthread_mutex_init(&vdev->lock, NULL);

	vdev->queues = calloc(nr_queues, sizeof(*vdev->queues));
	if (!vdev->queues) {
		ret = -ENOMEM;
		goto err_lock;
	}
	vdev->nr_queues = nr_queues;
	for (unsigned i = 0; i < nr_queues; i++)
		vdev->queues[i].kick_fd = -1;
	for (unsigned i = 0; i < nr_queues; i++) {
		struct virtio_queue *q = &vdev->queues[i];

		vq_init(&q->vq, vm_mem(vm));
		q->num_max = queue_max;
		q->num = queue_max;
		q->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (q->kick_fd < 0) {
			ret = -errno;
			log_err("%s: eventfd: %s", name, strerror(errno));
			goto err_queues;
		}
	}
	return 0;

err_queues:
	for (unsigned i = 0; i < nr_queues; i++)
		if (vdev->queues[i].kick_fd >= 0)
			close(vdev->queues[i].kick_fd);
	free(vdev->queues);
	vdev->queues = NULL;
	vdev->nr_queues = 0;
err_lock:
	pthread_mutex_destroy(&vdev->lock);
	return ret;
}

void virtio_dev_cleanup(struct virtio_dev *vdev)
{
	if (!vdev->queues)
		return;
	for (unsigned i = 0; i < vdev->nr_queues; i++)
		if (vdev->queues[i].kick_fd >= 0)
			close(vdev->queues[i].kick_fd);
	free(vdev->queues);
	vdev->queues = NULL;
	vdev->nr_queues = 0;
	pthread_mutex_destroy(&vdev->lock);
}

void virtio_dev_reset_locked(struct virtio_dev *vdev)
{
	if (vdev->ops->stop)
		vdev->ops->stop(vdev);
	atomic_store(&vdev->started, false);
	for (unsigned i = 0; i < vdev->nr_queues; i++) {
		struct virtio_queue *q = &vdev->queues[i];

		vq_reset(&q->vq);
		q->num = q->num_max;
		q->desc = q->driver = q->device = 0;
		q->enabled = false;
		/* a kick that raced with the reset means nothing now */
		virtio_efd_drain(q->kick_fd);
	}
	vdev->driver_features = 0;
	vdev->features = 0;
	vdev->dfeat_sel = vdev->gfeat_sel = 0;
	atomic_store(&vdev->isr, 0);
	atomic_store(&vdev->status, 0);
	atomic_store(&vdev->reset_reported, false);
	if (vdev->tr && vdev->tr->reset)
		vdev->tr->reset(vdev);
}

void virtio_dev_reset(struct virtio_dev *vdev)
{
	pthread_mutex_lock(&vdev->lock);
	virtio_dev_reset_locked(vdev);
	pthread_mutex_unlock(&vdev->lock);
}

void virtio_dev_hard_reset(struct virtio_dev *vdev)
{
	virtio_dev_reset(vdev);
	if (vdev->tr && vdev->tr->hard_reset)
		vdev->tr->hard_reset(vdev);
}

/* ---- features and status ---- */

uint32_t virtio_dev_host_features(const struct virtio_dev *vdev, uint32_t sel)
{
	if (sel > 1)
		return 0;
	return (uint32_t)(vdev->host_features >> (32 * sel));
}

void virtio_dev_set_driver_features(struct virtio_dev *vdev, uint32_t sel,
				    uint32_t val)
{
	unsigned st = virtio_dev_status(vdev);

	if (!(st & VIRTIO_STATUS_DRIVER) || (st & VIRTIO_STATUS_FEATURES_OK)) {
		log_ratelimited(&vdev->rl, LOG_WARN,
				"%s: driver features written in status 0x%x "
				"(ignored)",
				vdev->name, st);
		return;
	}
	if (sel > 1) {
		if (val)
			log_ratelimited(&vdev->rl, LOG_WARN,
					"%s: driver features word %u = 0x%x "
					"(no such features; ignored)",
					vdev->name, sel, val);
		return;
	}
	vdev->driver_features &= ~(0xffffffffULL << (32 * sel));
	vdev->driver_features |= (uint64_t)val << (32 * sel);
}

unsigned virtio_dev_status(const struct virtio_dev *vdev)
{
	return atomic_load(&vdev->status);
}

bool virtio_dev_running(const struct virtio_dev *vdev)
{
	unsigned st = virtio_dev_status(vdev);

	return (st & VIRTIO_STATUS_DRIVER_OK) &&
	       !(st & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

bool virtio_dev_has_feature(const struct virtio_dev *vdev, unsigned bit)
{
	return bit < 64 && (vdev->features & VIRTIO_F(bit));
}

/* Status bits the driver may set (the others are the device's). */
#define VIRTIO_STATUS_DRIVER_BITS                              \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |    \
	 VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK | \
	 VIRTIO_STATUS_FAILED)

/* OR bits into the status, keeping a concurrently set NEEDS_RESET. */
static void virtio_status_or(struct virtio_dev *vdev, unsigned bits)
{
	atomic_fetch_or(&vdev->status, bits);
}

static bool virtio_features_acceptable(struct virtio_dev *vdev)
{
	uint64_t f = vdev->driver_features;

	if (f & ~vdev->host_features) {
		log_ratelimited(&vdev->rl, LOG_WARN,
				"%s: driver accepted features 0x%llx that were "
				"not offered (0x%llx): FEATURES_OK refused",
				vdev->name, (unsigned long long)f,
				(unsigned long long)vdev->host_features);
		return false;
	}
	if (!(f & VIRTIO_F(VIRTIO_F_VERSION_1))) {
		log_ratelimited(&vdev->rl, LOG_WARN,
				"%s: driver did not accept VIRTIO_F_VERSION_1 "
				"(legacy drivers are not supported): "
				"FEATURES_OK refused",
				vdev->name);
		return false;
	}
	if (vdev->ops->features_ok && vdev->ops->features_ok(vdev, f)) {
		log_ratelimited(&vdev->rl, LOG_WARN,
				"%s: feature set 0x%llx refused (a feature "
				"without its dependency)",
				vdev->name, (unsigned long long)f);
		return false;
	}
	return true;
}

static void virtio_driver_ok(struct virtio_dev *vdev)
{
	int ret;

	if (!(virtio_dev_status(vdev) & VIRTIO_STATUS_FEATURES_OK)) {
		virtio_dev_needs_reset(vdev,
				       "DRIVER_OK set without FEATURES_OK");
		return;
	}
	if (virtio_dev_status(vdev) & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
		return;
	ret = vdev->ops->start ? vdev->ops->start(vdev) : 0;
	if (ret) {
		virtio_dev_needs_reset(vdev, "cannot start: %s",
				       strerror(-ret));
		return;
	}
	atomic_store(&vdev->started, true);
}

void virtio_dev_set_status(struct virtio_dev *vdev, unsigned val)
{
	unsigned old = virtio_dev_status(vdev), add;

	val &= 0xff;
	if (val == 0) {
		virtio_dev_reset_locked(vdev);
		return;
	}
	if ((old & VIRTIO_STATUS_DRIVER_BITS) & ~val)
		log_ratelimited(&vdev->rl, LOG_WARN,
				"%s: driver cleared status bits 0x%x without a "
				"reset (ignored)",
				vdev->name,
				(old & VIRTIO_STATUS_DRIVER_BITS) & ~val);
	if (val & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
		log_ratelimited(&vdev->rl, LOG_WARN,
				"%s: driver wrote DEVICE_NEEDS_RESET "
				"(ignored)",
				vdev->name);
	add = val & VIRTIO_STATUS_DRIVER_BITS & ~old;
	if (!add)
		return;

	/* Each new bit in the spec's order, so that one write setting
	 * several (a simple driver) behaves like the sequence. */
	if (add & VIRTIO_STATUS_FEATURES_OK) {
		if (virtio_features_acceptable(vdev)) {
			vdev->features = vdev->driver_features;
			virtio_status_or(vdev, add & ~VIRTIO_STATUS_DRIVER_OK);
		} else {
			virtio_status_or(vdev,
					 add & ~(VIRTIO_STATUS_DRIVER_OK |
						 VIRTIO_STATUS_FEATURES_OK));
			/* DRIVER_OK in the same write: nothing to start */
			if (add & VIRTIO_STATUS_DRIVER_OK)
				virtio_dev_needs_reset(
					vdev,
					"DRIVER_OK with refused features");
			return;
		}
	} else {
		virtio_status_or(vdev, add & ~VIRTIO_STATUS_DRIVER_OK);
	}
	if (add & VIRTIO_STATUS_DRIVER_OK) {
		virtio_status_or(vdev, VIRTIO_STATUS_DRIVER_OK);
		virtio_driver_ok(vdev);
	}
	if (add & VIRTIO_STATUS_FAILED)
		log_ratelimited(&vdev->rl, LOG_WARN,
				"%s: the guest driver gave up (status FAILED)",
				vdev->name);
}

/* ---- queues ---- */

struct virtio_queue *virtio_dev_queue(struct virtio_dev *vdev, unsigned q)
{
	if (q >= vdev->nr_queues || !vdev->queues[q].num_max)
		return NULL;
	return &vdev->queues[q];
}

int virtio_dev_queue_enable(struct virtio_dev *vdev, unsigned qi, bool enable)
{
	struct virtio_queue *q = virtio_dev_queue(vdev, qi);
	unsigned st = virtio_dev_status(vdev);
	int ret;

	if (!q)
		return -EINVAL;
	if (enable == q->enabled)
		return 0;
	if (st & VIRTIO_STATUS_DRIVER_OK) {
		log_ratelimited(&vdev->rl, LOG_WARN,
				"%s: queue %u %s after DRIVER_OK (ignored)",
				vdev->name, qi,
				enable ? "enabled" : "disabled");
		return -EINVAL;
	}
	if (!enable) {
		vq_reset(&q->vq);
		q->enabled = false;
		return 0;
	}
	if (!(st & VIRTIO_STATUS_FEATURES_OK)) {
		log_ratelimited(&vdev->rl, LOG_WARN,
				"%s: queue %u enabled before FEATURES_OK "
				"(ignored)",
				vdev->name, qi);
		return -EINVAL;
	}
	if (!q->num || q->num > q->num_max) {
		virtio_dev_needs_reset(vdev, "queue %u: size %u (max %u)", qi,
				       q->num, q->num_max);
		return -EINVAL;
	}
	ret = vq_configure(&q->vq, q->num, q->desc, q->driver, q->device,
			   vdev->features);
	if (ret) {
		virtio_dev_needs_reset(vdev, "queue %u: %s", qi,
				       q->vq.broken_why);
		return ret;
	}
	q->enabled = true;
	return 0;
}

/* ---- config space ---- */

void virtio_dev_config_read(struct virtio_dev *vdev, unsigned off,
			    uint8_t *data, unsigned len)
{
	memset(data, 0, len);
	if (off >= vdev->config_size || len > vdev->config_size - off) {
		log_ratelimited(&vdev->rl, LOG_DEBUG,
				"%s: config read of %u bytes at 0x%x beyond "
				"%u bytes (reads 0)",
				vdev->name, len, off, vdev->config_size);
		if (off < vdev->config_size)
			memcpy(data, vdev->config + off,
			       vdev->config_size - off);
		return;
	}
	memcpy(data, vdev->config + off, len);
}

void virtio_dev_config_write(struct virtio_dev *vdev, unsigned off,
			     const uint8_t *data, unsigned len)
{
	if (off >= vdev->config_size || len > vdev->config_size - off ||
	    !vdev->ops->config_write) {
		log_ratelimited(&vdev->rl, LOG_WARN,
				"%s: config write of %u bytes at 0x%x "
				"(read-only or beyond %u bytes; ignored)",
				vdev->name, len, off, vdev->config_size);
		return;
	}
	vdev->ops->config_write(vdev, off, data, len);
}

/* ---- interrupts ---- */

unsigned virtio_dev_isr(struct virtio_dev *vdev)
{
	return atomic_load(&vdev->isr);
}

unsigned virtio_dev_isr_read_clear(struct virtio_dev *vdev)
{
	return atomic_exchange(&vdev->isr, 0);
}

void virtio_dev_isr_ack(struct virtio_dev *vdev, unsigned bits)
{
	atomic_fetch_and(&vdev->isr, ~bits);
}

void virtio_dev_notify_queue(struct virtio_dev *vdev, unsigned q)
{
	atomic_fetch_or(&vdev->isr, VIRTIO_INT_VRING);
	if (vdev->tr)
		vdev->tr->notify_queue(vdev, q);
}

static void virtio_notify_config(struct virtio_dev *vdev)
{
	atomic_fetch_or(&vdev->isr, VIRTIO_INT_CONFIG);
	if (vdev->tr)
		vdev->tr->notify_config(vdev);
}

void virtio_dev_config_changed(struct virtio_dev *vdev)
{
	atomic_fetch_add(&vdev->config_gen, 1);
	if (virtio_dev_status(vdev) & VIRTIO_STATUS_DRIVER_OK)
		virtio_notify_config(vdev);
}

void virtio_dev_needs_reset(struct virtio_dev *vdev, const char *fmt, ...)
{
	unsigned old;
	char why[160];
	va_list ap;

	old = atomic_fetch_or(&vdev->status, VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	if (old & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
		return;
	if (!atomic_exchange(&vdev->reset_reported, true)) {
		va_start(ap, fmt);
		vsnprintf(why, sizeof(why), fmt, ap);
		va_end(ap);
		log_ratelimited(&vdev->rl, LOG_ERR,
				"%s: device needs reset: %s (the guest driver "
				"must reset it; the VM keeps running)",
				vdev->name, why);
	}
	if (old & VIRTIO_STATUS_DRIVER_OK)
		virtio_notify_config(vdev);
}

/* ---- transport selection ---- */

/* Default interrupt lines of virtio-mmio slots 0-7: ISA lines none of our
 * platform devices use (COM1 4, RTC 8, SCI 9 and the PIT are taken), so
 * they also work through the 8259 PIC of legacy guests. Edge-triggered,
 * active high, as ISA lines are by default. */
static const uint8_t virtio_mmio_slot_irqs[] = ABI_VIRTIO_MMIO_IRQS;

enum virtio_transport_kind virtio_cfg_transport(const struct cfg_device *cfg)
{
	return cfg_dev_num(cfg, "transport") == VIRTIO_TRANSPORT_PCI
		       ? VIRTIO_TRANSPORT_PCI
		       : VIRTIO_TRANSPORT_MMIO;
}

uint64_t virtio_cfg_mmio_address(const struct cfg_device *cfg)
{
	if (cfg_dev_isset(cfg, "address"))
		return cfg_dev_num(cfg, "address");
	return ABI_VIRTIO_MMIO_BASE +
	       cfg_dev_num(cfg, "slot") * ABI_VIRTIO_MMIO_SLOT_SIZE;
}

int virtio_cfg_mmio_irq(const struct cfg_device *cfg)
{
	uint64_t slot = cfg_dev_num(cfg, "slot");

	if (cfg_dev_isset(cfg, "irq"))
		return (int)cfg_dev_num(cfg, "irq");
	if (slot < ARRAY_SIZE(virtio_mmio_slot_irqs))
		return virtio_mmio_slot_irqs[slot];
	return -1;
}

int virtio_cfg_check(const struct cfg_device *cfg, struct cfg_error *err)
{
	static const char *const mmio_keys[] = { "slot", "address", "irq" };

	if (virtio_cfg_transport(cfg) == VIRTIO_TRANSPORT_PCI) {
		for (unsigned i = 0; i < ARRAY_SIZE(mmio_keys); i++) {
			if (!cfg_dev_isset(cfg, mmio_keys[i]))
				continue;
			cfg_dev_error(err, cfg, mmio_keys[i],
				      "only used with transport = mmio");
			return -EINVAL;
		}
		return 0;
	}
	if (cfg_dev_isset(cfg, "pci-slot")) {
		cfg_dev_error(err, cfg, "pci-slot",
			      "only used with transport = pci");
		return -EINVAL;
	}
	if (cfg_dev_isset(cfg, "address") &&
	    (cfg_dev_num(cfg, "address") % ABI_VIRTIO_MMIO_SLOT_SIZE ||
	     cfg_dev_num(cfg, "address") >
		     UINT64_MAX - ABI_VIRTIO_MMIO_SLOT_SIZE)) {
		cfg_dev_error(err, cfg, "address", "must be a multiple of 0x%x",
			      ABI_VIRTIO_MMIO_SLOT_SIZE);
		return -EINVAL;
	}
	if (virtio_cfg_mmio_irq(cfg) < 0) {
		cfg_dev_error(err, cfg, "slot",
			      "slot %llu has no default irq (slots 0-%zu "
			      "do): set irq",
			      (unsigned long long)cfg_dev_num(cfg, "slot"),
			      ARRAY_SIZE(virtio_mmio_slot_irqs) - 1);
		return -EINVAL;
	}
	return 0;
}

unsigned virtio_cfg_resources(const struct cfg_device *cfg,
			      struct dev_resource *res, unsigned max)
{
	unsigned n = 0;
	int irq;

	if (virtio_cfg_transport(cfg) != VIRTIO_TRANSPORT_MMIO)
		return 0; /* BARs come from the PCI host's windows */
	if (n < max)
		res[n++] = (struct dev_resource){
			.kind = DEV_RES_MMIO,
			.base = virtio_cfg_mmio_address(cfg),
			.size = ABI_VIRTIO_MMIO_SLOT_SIZE,
			.key = cfg_dev_isset(cfg, "address") ? "address"
							     : "slot",
		};
	irq = virtio_cfg_mmio_irq(cfg);
	if (irq >= 0 && n < max)
		res[n++] = (struct dev_resource){
			.kind = DEV_RES_IRQ,
			.base = (uint64_t)irq,
			.size = 1,
			.key = cfg_dev_isset(cfg, "irq") ? "irq" : "slot",
		};
	return n;
}

int virtio_dev_attach(struct virtio_dev *vdev, const struct device *dev)
{
	if (virtio_cfg_transport(dev->cfg) == VIRTIO_TRANSPORT_PCI)
		return virtio_pci_attach(vdev, dev);
	return virtio_mmio_attach(vdev, virtio_cfg_mmio_address(dev->cfg),
				  virtio_cfg_mmio_irq(dev->cfg));
}

void virtio_dev_detach(struct virtio_dev *vdev)
{
	if (vdev->tr && vdev->tr->destroy)
		vdev->tr->destroy(vdev);
	vdev->tr = NULL;
	vdev->tr_priv = NULL;
}

/* ---- threads and eventfds ---- */

int virtio_io_thread_create(pthread_t *t, const char *name, void *(*fn)(void *),
			    void *arg)
{
	pthread_attr_t attr;
	sigset_t all, old;
	char comm[16];
	int ret;

	/* On the I/O CPUs with normal scheduling, even when a (pinned,
	 * SCHED_FIFO) vCPU thread starts the device ([vm] io-cpus). */
	ret = -pthread_attr_init(&attr);
	if (ret)
		return ret;
	ret = rt_io_thread_attr(&attr);
	if (ret) {
		pthread_attr_destroy(&attr);
		return ret;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = -pthread_create(t, &attr, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (ret)
		return ret;
	snprintf(comm, sizeof(comm), "%s", name);
	pthread_setname_np(*t, comm);
	return 0;
}

void virtio_efd_signal(int fd)
{
	uint64_t one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug("eventfd write: %s", strerror(errno));
}

void virtio_efd_drain(int fd)
{
	uint64_t v;

	if (fd >= 0 && read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_debug("eventfd read: %s", strerror(errno));
}
