/* SPDX-License-Identifier: MIT */
/*
 * virtio-mmio transport, version 2 (virtio 1.2, 4.2.2): one 4 KiB register
 * block (control registers 0x000-0x0ff, device config from 0x100) and one
 * edge-triggered interrupt line.
 *
 * Accesses: the spec requires 32-bit aligned accesses to the control
 * registers; anything else is logged (rate-limited) and reads 0 / is
 * dropped. The config space takes any size (fields are 8/16/32 bits wide,
 * 64-bit fields are read as two 32-bit halves). Reads of write-only
 * registers read 0; writes to read-only ones are dropped. Nothing the guest
 * writes here stops the VM.
 *
 * Fast paths: QueueNotify is a KVM ioeventfd per queue (datamatch = queue
 * index) signalling the queue's kick_fd; if KVM refuses, the write exits
 * and the bus handler signals the same eventfd. The interrupt is an irqfd
 * on the line (a write pulses it: edge); without irqfd, vm_set_irq() 1, 0.
 * The ISR (InterruptStatus) is set before every pulse, and the guest acks
 * it through InterruptACK.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/abi/platform.h"
#include "virtio/virtio.h"
#include "vmm/bus.h"
#include "vmm/util.h"
#include "vmm/vm.h"

struct vmmio {
	struct virtio_dev *vdev;
	uint64_t base;
	unsigned irq;
	int irq_efd;	 /* irqfd on irq, or -1 (vm_set_irq() pulses) */
	bool *ioeventfd; /* per queue: QueueNotify ioeventfd registered */
	uint32_t queue_sel;
	uint32_t shm_sel;
};

static void vmmio_pulse(struct vmmio *m)
{
	if (m->irq_efd >= 0) {
		virtio_efd_signal(m->irq_efd);
		return;
	}
	vm_set_irq(m->vdev->vm, m->irq, 1);
	vm_set_irq(m->vdev->vm, m->irq, 0);
}

static void vmmio_notify_queue(struct virtio_dev *vdev, unsigned q)
{
	vmmio_pulse(vdev->tr_priv);
}

static void vmmio_notify_config(struct virtio_dev *vdev)
{
	vmmio_pulse(vdev->tr_priv);
}

static void vmmio_reset(struct virtio_dev *vdev)
{
	struct vmmio *m = vdev->tr_priv;

	m->queue_sel = 0;
	m->shm_sel = 0;
}

static uint32_t vmmio_read_reg(struct vmmio *m, uint64_t off)
{
	struct virtio_dev *vdev = m->vdev;
	struct virtio_queue *q = virtio_dev_queue(vdev, m->queue_sel);

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return VIRTIO_MMIO_VERSION_2;
	case VIRTIO_MMIO_DEVICE_ID:
		return vdev->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return ABI_VIRTIO_VENDOR_ID;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return virtio_dev_host_features(vdev, vdev->dfeat_sel);
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return q ? q->num_max : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return q && q->enabled;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return virtio_dev_isr(vdev);
	case VIRTIO_MMIO_STATUS:
		return virtio_dev_status(vdev);
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
		return q ? (uint32_t)q->desc : 0;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		return q ? (uint32_t)(q->desc >> 32) : 0;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
		return q ? (uint32_t)q->driver : 0;
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
		return q ? (uint32_t)(q->driver >> 32) : 0;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
		return q ? (uint32_t)q->device : 0;
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		return q ? (uint32_t)(q->device >> 32) : 0;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		return 0xffffffffu; /* no shared memory regions: length -1 */
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return atomic_load(&vdev->config_gen);
	default:
		return 0; /* write-only or reserved */
	}
}

/* A queue address half: only while the queue is not live. */
static void vmmio_set_half(struct vmmio *m, struct virtio_queue *q,
			   uint64_t *addr, bool high, uint32_t val)
{
	if (!q || q->enabled) {
		log_ratelimited(&m->vdev->rl, LOG_WARN,
				"%s: queue %u address written while %s "
				"(ignored)",
				m->vdev->name, m->queue_sel,
				q ? "ready" : "absent");
		return;
	}
	if (high)
		*addr = (*addr & 0xffffffffULL) | (uint64_t)val << 32;
	else
		*addr = (*addr & ~0xffffffffULL) | val;
}

static void vmmio_write_reg(struct vmmio *m, uint64_t off, uint32_t val)
{
	struct virtio_dev *vdev = m->vdev;
	struct virtio_queue *q = virtio_dev_queue(vdev, m->queue_sel);

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		vdev->dfeat_sel = val;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		virtio_dev_set_driver_features(vdev, vdev->gfeat_sel, val);
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		vdev->gfeat_sel = val;
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		m->queue_sel = val;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
		if (!q || q->enabled) {
			log_ratelimited(&vdev->rl, LOG_WARN,
					"%s: QueueNum of %s queue %u "
					"(ignored)",
					vdev->name, q ? "ready" : "absent",
					m->queue_sel);
			break;
		}
		/* checked when the queue is made ready */
		q->num = val > q->num_max ? 0 : (uint16_t)val;
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		if (!q) {
			log_ratelimited(&vdev->rl, LOG_WARN,
					"%s: QueueReady of absent queue %u "
					"(ignored)",
					vdev->name, m->queue_sel);
			break;
		}
		virtio_dev_queue_enable(vdev, m->queue_sel, val & 1);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		virtio_dev_isr_ack(vdev, val);
		break;
	case VIRTIO_MMIO_STATUS:
		virtio_dev_set_status(vdev, val);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		vmmio_set_half(m, q, q ? &q->desc : NULL,
			       off == VIRTIO_MMIO_QUEUE_DESC_HIGH, val);
		break;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
		vmmio_set_half(m, q, q ? &q->driver : NULL,
			       off == VIRTIO_MMIO_QUEUE_DRIVER_HIGH, val);
		break;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		vmmio_set_half(m, q, q ? &q->device : NULL,
			       off == VIRTIO_MMIO_QUEUE_DEVICE_HIGH, val);
		break;
	case VIRTIO_MMIO_SHM_SEL:
		m->shm_sel = val;
		break;
	default:
		log_ratelimited(&vdev->rl, LOG_WARN,
				"%s: write 0x%x to read-only or reserved "
				"register 0x%03llx (ignored)",
				vdev->name, val, (unsigned long long)off);
		break;
	}
}

static enum bus_status vmmio_access(void *opaque, uint64_t off, uint8_t *data,
				    unsigned size, bool is_write)
{
	struct vmmio *m = opaque;
	struct virtio_dev *vdev = m->vdev;

	if (off >= VIRTIO_MMIO_CONFIG) {
		pthread_mutex_lock(&vdev->lock);
		if (is_write)
			virtio_dev_config_write(
				vdev, (unsigned)(off - VIRTIO_MMIO_CONFIG),
				data, size);
		else
			virtio_dev_config_read(
				vdev, (unsigned)(off - VIRTIO_MMIO_CONFIG),
				data, size);
		pthread_mutex_unlock(&vdev->lock);
		return BUS_OK;
	}
	if (size != 4 || (off & 3)) {
		log_ratelimited(&vdev->rl, LOG_WARN,
				"%s: %u-byte %s at register 0x%03llx (must be "
				"32-bit aligned; %s)",
				vdev->name, size, is_write ? "write" : "read",
				(unsigned long long)off,
				is_write ? "ignored" : "reads 0");
		if (!is_write)
			memset(data, 0, size);
		return BUS_OK;
	}
	if (is_write && off == VIRTIO_MMIO_QUEUE_NOTIFY) {
		/* the slow path of the ioeventfd: no lock needed */
		uint32_t qi = (uint32_t)bus_get(data, 4);

		if (virtio_dev_queue(vdev, qi))
			virtio_efd_signal(vdev->queues[qi].kick_fd);
		else
			log_ratelimited(&vdev->rl, LOG_WARN,
					"%s: notify of absent queue %u",
					vdev->name, qi);
		return BUS_OK;
	}
	pthread_mutex_lock(&vdev->lock);
	if (is_write)
		vmmio_write_reg(m, off, (uint32_t)bus_get(data, 4));
	else
		bus_put(data, 4, vmmio_read_reg(m, off));
	pthread_mutex_unlock(&vdev->lock);
	return BUS_OK;
}

static void vmmio_destroy(struct virtio_dev *vdev)
{
	struct vmmio *m = vdev->tr_priv;

	if (!m)
		return;
	for (unsigned i = 0; m->ioeventfd && i < vdev->nr_queues; i++) {
		if (!m->ioeventfd[i])
			continue;
		vm_ioeventfd_del(vdev->vm, VM_BUS_MMIO,
				 m->base + VIRTIO_MMIO_QUEUE_NOTIFY, 4, true, i,
				 vdev->queues[i].kick_fd);
	}
	if (m->irq_efd >= 0) {
		vm_irqfd_del(vdev->vm, m->irq_efd, m->irq);
		close(m->irq_efd);
	}
	free(m->ioeventfd);
	free(m);
}

static const struct virtio_transport vmmio_transport = {
	.name = "mmio",
	.notify_queue = vmmio_notify_queue,
	.notify_config = vmmio_notify_config,
	.reset = vmmio_reset,
	.destroy = vmmio_destroy,
};

int virtio_mmio_attach(struct virtio_dev *vdev, uint64_t addr, int irq)
{
	struct vm *vm = vdev->vm;
	struct vmmio *m;
	unsigned nfast = 0;
	int ret;

	if (irq < 0) {
		log_err("%s: virtio-mmio needs an interrupt line", vdev->name);
		return -EINVAL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->vdev = vdev;
	m->base = addr;
	m->irq = (unsigned)irq;
	m->irq_efd = -1;
	m->ioeventfd = calloc(vdev->nr_queues, sizeof(*m->ioeventfd));
	if (!m->ioeventfd) {
		free(m);
		return -ENOMEM;
	}
	ret = bus_register(vm_bus(vm, VM_BUS_MMIO), addr,
			   ABI_VIRTIO_MMIO_SLOT_SIZE, vmmio_access, m,
			   vdev->name);
	if (ret) {
		log_err("%s: cannot register virtio-mmio registers at "
			"0x%llx: %s",
			vdev->name, (unsigned long long)addr, strerror(-ret));
		free(m->ioeventfd);
		free(m);
		return ret;
	}
	vdev->tr = &vmmio_transport;
	vdev->tr_priv = m;

	for (unsigned i = 0; i < vdev->nr_queues; i++) {
		if (!vdev->queues[i].num_max)
			continue;
		ret = vm_ioeventfd_add(vm, VM_BUS_MMIO,
				       addr + VIRTIO_MMIO_QUEUE_NOTIFY, 4, true,
				       i, vdev->queues[i].kick_fd);
		if (ret) {
			log_debug("%s: queue %u: no ioeventfd (%s): notify "
				  "exits to the VMM",
				  vdev->name, i, strerror(-ret));
			continue;
		}
		m->ioeventfd[i] = true;
		nfast++;
	}
	m->irq_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (m->irq_efd >= 0) {
		ret = vm_irqfd_add(vm, m->irq_efd, m->irq);
		if (ret) {
			log_debug("%s: no irqfd for irq %u (%s): interrupts "
				  "from userspace",
				  vdev->name, m->irq, strerror(-ret));
			close(m->irq_efd);
			m->irq_efd = -1;
		}
	}
	log_info("%s: virtio-mmio at 0x%llx irq %u (%u/%u queues with "
		 "ioeventfd, %s)",
		 vdev->name, (unsigned long long)addr, m->irq, nfast,
		 vdev->nr_queues, m->irq_efd >= 0 ? "irqfd" : "no irqfd");
	return 0;
}
