/* SPDX-License-Identifier: MIT */
/*
 * virtio-pci transport, modern only (virtio 1.2, 4.1): a PCI function with
 * vendor 0x1af4, device 0x1040 + the virtio device ID, revision 1, whose
 * registers all live in one 32-bit memory BAR (BAR 0, 32 KiB):
 *
 *   0x0000  common configuration (struct virtio_pci_common_cfg)
 *   0x1000  ISR status (1 byte; a read returns and clears it)
 *   0x2000  device-specific configuration
 *   0x3000  notifications: queue q at 0x3000 + 4 * q (multiplier 4)
 *   0x4000  MSI-X table (one vector per queue + one for config changes)
 *   0x5000  MSI-X PBA
 *
 * and the capabilities pointing there (COMMON, ISR, DEVICE, NOTIFY, and
 * the PCI_CFG access window the spec requires). A 32-bit BAR keeps
 * bare-metal guests simple. There is no INTx (devices/pci.h): a driver
 * needs MSI-X to get interrupts.
 *
 * Accesses to the common configuration must cover exactly one field (the
 * spec's widths; 64-bit addresses as two 32-bit halves); others are logged
 * (rate-limited) and read 0 / are ignored.
 *
 * Fast paths: each queue's notify address is a KVM ioeventfd (any access
 * length, no datamatch) registered while the BAR decodes (bar_map());
 * interrupts are the MSI-X vectors' irqfds (pci_msix_irqfd()), which vhost
 * can use directly as its call eventfd.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci.h"
#include "virtio/virtio.h"
#include "vmm/bus.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#define VPCI_BAR	 0
#define VPCI_BAR_SIZE	 0x8000
#define VPCI_COMMON_OFF	 0x0000
#define VPCI_ISR_OFF	 0x1000
#define VPCI_DEVICE_OFF	 0x2000
#define VPCI_NOTIFY_OFF	 0x3000
#define VPCI_NOTIFY_MULT 4
#define VPCI_MSIX_TABLE	 0x4000
#define VPCI_MSIX_PBA	 0x5000
#define VPCI_REGION	 0x1000

/* PCI_CFG capability: virtio_pci_cap + 4 bytes of data window */
#define VPCI_CFG_CAP_LEN  20
#define VPCI_CFG_CAP_DATA 16

struct vpci {
	struct virtio_dev *vdev;
	struct pci_dev *pd;
	unsigned nvec;
	int *vec_fd;	     /* per vector: its irqfd, or -1 */
	uint16_t *queue_vec; /* per queue (atomic access) */
	uint16_t config_vec; /* atomic access */
	uint16_t queue_sel;

	pthread_mutex_t map_lock; /* the ioeventfd registrations */
	uint64_t notify_base;	  /* 0: not registered */
	bool *ioeventfd;
};

static uint16_t vpci_load16(const uint16_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void vpci_store16(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

/* ---- interrupts ---- */

static void vpci_fire(struct vpci *v, uint16_t vec)
{
	if (vec == VIRTIO_MSI_NO_VECTOR || vec >= v->nvec)
		return; /* no INTx: nothing to do */
	if (v->vec_fd[vec] >= 0)
		virtio_efd_signal(v->vec_fd[vec]);
	else
		pci_msix_notify(v->pd, vec);
}

static void vpci_notify_queue(struct virtio_dev *vdev, unsigned q)
{
	struct vpci *v = vdev->tr_priv;

	if (q < vdev->nr_queues)
		vpci_fire(v, vpci_load16(&v->queue_vec[q]));
}

static void vpci_notify_config(struct virtio_dev *vdev)
{
	struct vpci *v = vdev->tr_priv;

	vpci_fire(v, vpci_load16(&v->config_vec));
}

static int vpci_queue_irqfd(struct virtio_dev *vdev, unsigned q)
{
	struct vpci *v = vdev->tr_priv;
	uint16_t vec;

	if (q >= vdev->nr_queues)
		return -1;
	vec = vpci_load16(&v->queue_vec[q]);
	if (vec == VIRTIO_MSI_NO_VECTOR || vec >= v->nvec)
		return -1;
	return v->vec_fd[vec];
}

static void vpci_reset(struct virtio_dev *vdev)
{
	struct vpci *v = vdev->tr_priv;

	for (unsigned i = 0; i < vdev->nr_queues; i++)
		vpci_store16(&v->queue_vec[i], VIRTIO_MSI_NO_VECTOR);
	vpci_store16(&v->config_vec, VIRTIO_MSI_NO_VECTOR);
	v->queue_sel = 0;
}

static void vpci_hard_reset(struct virtio_dev *vdev)
{
	struct vpci *v = vdev->tr_priv;

	pci_dev_reset(v->pd);
}

/* ---- common configuration ---- */

struct vpci_field {
	uint8_t off, size;
};

/* Fields of struct virtio_pci_common_cfg, in order. */
static const struct vpci_field vpci_fields[] = {
	{ VIRTIO_PCI_COMMON_DFSELECT, 4 },
	{ VIRTIO_PCI_COMMON_DF, 4 },
	{ VIRTIO_PCI_COMMON_GFSELECT, 4 },
	{ VIRTIO_PCI_COMMON_GF, 4 },
	{ VIRTIO_PCI_COMMON_MSIX, 2 },
	{ VIRTIO_PCI_COMMON_NUMQ, 2 },
	{ VIRTIO_PCI_COMMON_STATUS, 1 },
	{ VIRTIO_PCI_COMMON_CFGGENERATION, 1 },
	{ VIRTIO_PCI_COMMON_Q_SELECT, 2 },
	{ VIRTIO_PCI_COMMON_Q_SIZE, 2 },
	{ VIRTIO_PCI_COMMON_Q_MSIX, 2 },
	{ VIRTIO_PCI_COMMON_Q_ENABLE, 2 },
	{ VIRTIO_PCI_COMMON_Q_NOFF, 2 },
	{ VIRTIO_PCI_COMMON_Q_DESCLO, 4 },
	{ VIRTIO_PCI_COMMON_Q_DESCHI, 4 },
	{ VIRTIO_PCI_COMMON_Q_AVAILLO, 4 },
	{ VIRTIO_PCI_COMMON_Q_AVAILHI, 4 },
	{ VIRTIO_PCI_COMMON_Q_USEDLO, 4 },
	{ VIRTIO_PCI_COMMON_Q_USEDHI, 4 },
	{ VIRTIO_PCI_COMMON_Q_NDATA, 2 },
	{ VIRTIO_PCI_COMMON_Q_RESET, 2 },
};

static const struct vpci_field *vpci_field(uint64_t off, unsigned size)
{
	for (unsigned i = 0; i < ARRAY_SIZE(vpci_fields); i++)
		if (vpci_fields[i].off == off && vpci_fields[i].size == size)
			return &vpci_fields[i];
	return NULL;
}

static uint32_t vpci_common_read(struct vpci *v, unsigned off)
{
	struct virtio_dev *vdev = v->vdev;
	struct virtio_queue *q = virtio_dev_queue(vdev, v->queue_sel);

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		return vdev->dfeat_sel;
	case VIRTIO_PCI_COMMON_DF:
		return virtio_dev_host_features(vdev, vdev->dfeat_sel);
	case VIRTIO_PCI_COMMON_GFSELECT:
		return vdev->gfeat_sel;
	case VIRTIO_PCI_COMMON_GF:
		return vdev->gfeat_sel > 1 ? 0
					   : (uint32_t)(vdev->driver_features >>
							(32 * vdev->gfeat_sel));
	case VIRTIO_PCI_COMMON_MSIX:
		return vpci_load16(&v->config_vec);
	case VIRTIO_PCI_COMMON_NUMQ:
		return vdev->nr_queues;
	case VIRTIO_PCI_COMMON_STATUS:
		return virtio_dev_status(vdev) & 0xff;
	case VIRTIO_PCI_COMMON_CFGGENERATION:
		return atomic_load(&vdev->config_gen) & 0xff;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		return v->queue_sel;
	case VIRTIO_PCI_COMMON_Q_SIZE:
		return q ? q->num : 0;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		return q ? vpci_load16(&v->queue_vec[v->queue_sel])
			 : VIRTIO_MSI_NO_VECTOR;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		return q && q->enabled;
	case VIRTIO_PCI_COMMON_Q_NOFF:
		return q ? v->queue_sel : 0;
	case VIRTIO_PCI_COMMON_Q_DESCLO:
		return q ? (uint32_t)q->desc : 0;
	case VIRTIO_PCI_COMMON_Q_DESCHI:
		return q ? (uint32_t)(q->desc >> 32) : 0;
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
		return q ? (uint32_t)q->driver : 0;
	case VIRTIO_PCI_COMMON_Q_AVAILHI:
		return q ? (uint32_t)(q->driver >> 32) : 0;
	case VIRTIO_PCI_COMMON_Q_USEDLO:
		return q ? (uint32_t)q->device : 0;
	case VIRTIO_PCI_COMMON_Q_USEDHI:
		return q ? (uint32_t)(q->device >> 32) : 0;
	default: /* queue_notify_data, queue_reset: features not offered */
		return 0;
	}
}

static uint16_t vpci_check_vec(struct vpci *v, uint32_t val)
{
	return val < v->nvec ? (uint16_t)val : VIRTIO_MSI_NO_VECTOR;
}

static void vpci_set_half(struct vpci *v, struct virtio_queue *q,
			  uint64_t *addr, bool high, uint32_t val)
{
	if (!q || q->enabled) {
		log_ratelimited(&v->vdev->rl, LOG_WARN,
				"%s: queue %u address written while %s "
				"(ignored)",
				v->vdev->name, v->queue_sel,
				q ? "enabled" : "absent");
		return;
	}
	if (high)
		*addr = (*addr & 0xffffffffULL) | (uint64_t)val << 32;
	else
		*addr = (*addr & ~0xffffffffULL) | val;
}

static void vpci_common_write(struct vpci *v, unsigned off, uint32_t val)
{
	struct virtio_dev *vdev = v->vdev;
	struct virtio_queue *q = virtio_dev_queue(vdev, v->queue_sel);

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		vdev->dfeat_sel = val;
		break;
	case VIRTIO_PCI_COMMON_GFSELECT:
		vdev->gfeat_sel = val;
		break;
	case VIRTIO_PCI_COMMON_GF:
		virtio_dev_set_driver_features(vdev, vdev->gfeat_sel, val);
		break;
	case VIRTIO_PCI_COMMON_MSIX:
		vpci_store16(&v->config_vec, vpci_check_vec(v, val));
		break;
	case VIRTIO_PCI_COMMON_STATUS:
		virtio_dev_set_status(vdev, val);
		break;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		v->queue_sel = (uint16_t)val;
		break;
	case VIRTIO_PCI_COMMON_Q_SIZE:
		if (!q || q->enabled) {
			log_ratelimited(&vdev->rl, LOG_WARN,
					"%s: queue_size of %s queue %u "
					"(ignored)",
					vdev->name, q ? "enabled" : "absent",
					v->queue_sel);
			break;
		}
		q->num = val > q->num_max ? 0 : (uint16_t)val;
		break;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		if (q)
			vpci_store16(&v->queue_vec[v->queue_sel],
				     vpci_check_vec(v, val));
		break;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		if (!q)
			break;
		if (val != 1) {
			log_ratelimited(&vdev->rl, LOG_WARN,
					"%s: queue_enable = %u (only 1 is "
					"allowed; ignored)",
					vdev->name, val);
			break;
		}
		virtio_dev_queue_enable(vdev, v->queue_sel, true);
		break;
	case VIRTIO_PCI_COMMON_Q_DESCLO:
	case VIRTIO_PCI_COMMON_Q_DESCHI:
		vpci_set_half(v, q, q ? &q->desc : NULL,
			      off == VIRTIO_PCI_COMMON_Q_DESCHI, val);
		break;
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
	case VIRTIO_PCI_COMMON_Q_AVAILHI:
		vpci_set_half(v, q, q ? &q->driver : NULL,
			      off == VIRTIO_PCI_COMMON_Q_AVAILHI, val);
		break;
	case VIRTIO_PCI_COMMON_Q_USEDLO:
	case VIRTIO_PCI_COMMON_Q_USEDHI:
		vpci_set_half(v, q, q ? &q->device : NULL,
			      off == VIRTIO_PCI_COMMON_Q_USEDHI, val);
		break;
	default:
		log_ratelimited(&vdev->rl, LOG_WARN,
				"%s: write 0x%x to read-only common config "
				"field 0x%02x (ignored)",
				vdev->name, val, off);
		break;
	}
}

/* ---- the BAR ---- */

static enum bus_status vpci_bar_access(void *opaque, uint64_t off,
				       uint8_t *data, unsigned size,
				       bool is_write)
{
	struct vpci *v = opaque;
	struct virtio_dev *vdev = v->vdev;

	if (off >= VPCI_NOTIFY_OFF && off < VPCI_NOTIFY_OFF + VPCI_REGION) {
		uint64_t qi = (off - VPCI_NOTIFY_OFF) / VPCI_NOTIFY_MULT;

		if (!is_write) {
			memset(data, 0, size);
		} else if (virtio_dev_queue(vdev, (unsigned)qi)) {
			virtio_efd_signal(vdev->queues[qi].kick_fd);
		} else {
			log_ratelimited(&vdev->rl, LOG_WARN,
					"%s: notify of absent queue %llu",
					vdev->name, (unsigned long long)qi);
		}
		return BUS_OK;
	}
	if (!is_write)
		memset(data, 0, size);
	pthread_mutex_lock(&vdev->lock);
	if (off < VPCI_COMMON_OFF + VPCI_REGION) {
		const struct vpci_field *f = vpci_field(off, size);

		if (f && is_write)
			vpci_common_write(v, f->off,
					  (uint32_t)bus_get(data, size));
		else if (f)
			bus_put(data, size, vpci_common_read(v, f->off));
		else
			log_ratelimited(&vdev->rl, LOG_WARN,
					"%s: %u-byte %s at common config "
					"0x%03llx (not a field; %s)",
					vdev->name, size,
					is_write ? "write" : "read",
					(unsigned long long)off,
					is_write ? "ignored" : "reads 0");
	} else if (off < VPCI_ISR_OFF + VPCI_REGION) {
		if (!is_write)
			bus_put(data, size, virtio_dev_isr_read_clear(vdev));
	} else if (off < VPCI_DEVICE_OFF + VPCI_REGION) {
		unsigned o = (unsigned)(off - VPCI_DEVICE_OFF);

		if (is_write)
			virtio_dev_config_write(vdev, o, data, size);
		else
			virtio_dev_config_read(vdev, o, data, size);
	}
	/* beyond: the MSI-X table and PBA, which the PCI layer serves */
	pthread_mutex_unlock(&vdev->lock);
	return BUS_OK;
}

/* The BAR moved or decode toggled: follow with the notify ioeventfds. */
static void vpci_bar_map(void *opaque, unsigned bar, uint64_t addr, bool mapped)
{
	struct vpci *v = opaque;
	struct virtio_dev *vdev = v->vdev;

	if (bar != VPCI_BAR)
		return;
	pthread_mutex_lock(&v->map_lock);
	for (unsigned i = 0; v->notify_base && i < vdev->nr_queues; i++) {
		if (!v->ioeventfd[i])
			continue;
		vm_ioeventfd_del(vdev->vm, VM_BUS_MMIO,
				 v->notify_base + i * VPCI_NOTIFY_MULT, 0,
				 false, 0, vdev->queues[i].kick_fd);
		v->ioeventfd[i] = false;
	}
	v->notify_base = 0;
	if (mapped && addr) {
		v->notify_base = addr + VPCI_NOTIFY_OFF;
		for (unsigned i = 0; i < vdev->nr_queues; i++) {
			if (!vdev->queues[i].num_max)
				continue;
			v->ioeventfd[i] =
				vm_ioeventfd_add(vdev->vm, VM_BUS_MMIO,
						 v->notify_base +
							 i * VPCI_NOTIFY_MULT,
						 0, false, 0,
						 vdev->queues[i].kick_fd) == 0;
		}
	}
	pthread_mutex_unlock(&v->map_lock);
}

/* The PCI_CFG capability's data window: an access to BAR bytes through
 * config space (spec 4.1.4.9). */
static void vpci_cfg_window(void *opaque, uint8_t *cap, unsigned off,
			    uint8_t *data, unsigned size, bool is_write)
{
	struct vpci *v = opaque;
	uint32_t boff, blen;
	uint8_t buf[4] = { 0 };

	if (off + size <= VPCI_CFG_CAP_DATA || off >= VPCI_CFG_CAP_LEN)
		return;
	boff = cap[8] | cap[9] << 8 | cap[10] << 16 | (uint32_t)cap[11] << 24;
	blen = cap[12] | cap[13] << 8 | cap[14] << 16 | (uint32_t)cap[15] << 24;
	if (cap[4] != VPCI_BAR || (blen != 1 && blen != 2 && blen != 4) ||
	    boff % blen || boff >= VPCI_MSIX_TABLE ||
	    blen > VPCI_MSIX_TABLE - boff)
		return;
	if (is_write) {
		vpci_bar_access(v, boff, cap + VPCI_CFG_CAP_DATA, blen, true);
		return;
	}
	vpci_bar_access(v, boff, buf, blen, false);
	memcpy(cap + VPCI_CFG_CAP_DATA, buf, 4);
	for (unsigned i = 0; i < size; i++)
		data[i] = cap[off + i];
}

static void vpci_destroy(struct virtio_dev *vdev)
{
	struct vpci *v = vdev->tr_priv;

	if (!v)
		return;
	pci_dev_free(v->pd); /* decode off: bar_map() drops ioeventfds */
	pthread_mutex_destroy(&v->map_lock);
	free(v->vec_fd);
	free(v->queue_vec);
	free(v->ioeventfd);
	free(v);
}

static const struct virtio_transport vpci_transport = {
	.name = "pci",
	.notify_queue = vpci_notify_queue,
	.notify_config = vpci_notify_config,
	.queue_irqfd = vpci_queue_irqfd,
	.reset = vpci_reset,
	.hard_reset = vpci_hard_reset,
	.destroy = vpci_destroy,
};

static uint32_t vpci_class(uint32_t device_id)
{
	switch (device_id) {
	case VIRTIO_ID_NET:
		return 0x020000; /* network controller, ethernet */
	case VIRTIO_ID_CONSOLE:
		return 0x078000; /* communication controller, other */
	default:
		return 0xff0000; /* unassigned class */
	}
}

static int vpci_add_cap(struct vpci *v, uint8_t type, uint32_t off,
			uint32_t len)
{
	struct virtio_pci_cap cap = {
		.cap_vndr = PCI_CAP_ID_VNDR,
		.cap_len = sizeof(cap),
		.cfg_type = type,
		.bar = VPCI_BAR,
		.offset = off,
		.length = len,
	};

	return pci_cap_add(v->pd, &cap, sizeof(cap), NULL, NULL, NULL);
}

static int vpci_add_caps(struct vpci *v)
{
	struct virtio_dev *vdev = v->vdev;
	struct virtio_pci_notify_cap ncap = {
		.cap = {
			.cap_vndr = PCI_CAP_ID_VNDR,
			.cap_len = sizeof(ncap),
			.cfg_type = VIRTIO_PCI_CAP_NOTIFY_CFG,
			.bar = VPCI_BAR,
			.offset = VPCI_NOTIFY_OFF,
			.length = vdev->nr_queues * VPCI_NOTIFY_MULT,
		},
		.notify_off_multiplier = VPCI_NOTIFY_MULT,
	};
	uint8_t cfgcap[VPCI_CFG_CAP_LEN] = { 0 },
		wmask[VPCI_CFG_CAP_LEN] = { 0 };
	struct virtio_pci_cap *cc = (struct virtio_pci_cap *)cfgcap;
	int ret;

	ret = vpci_add_cap(v, VIRTIO_PCI_CAP_COMMON_CFG, VPCI_COMMON_OFF,
			   VIRTIO_PCI_COMMON_CFG_SIZE);
	if (ret >= 0)
		ret = vpci_add_cap(v, VIRTIO_PCI_CAP_ISR_CFG, VPCI_ISR_OFF, 1);
	if (ret >= 0 && vdev->config_size)
		ret = vpci_add_cap(v, VIRTIO_PCI_CAP_DEVICE_CFG,
				   VPCI_DEVICE_OFF, vdev->config_size);
	if (ret >= 0)
		ret = pci_cap_add(v->pd, &ncap, sizeof(ncap), NULL, NULL, NULL);
	if (ret < 0)
		return ret;
	cc->cap_vndr = PCI_CAP_ID_VNDR;
	cc->cap_len = VPCI_CFG_CAP_LEN;
	cc->cfg_type = VIRTIO_PCI_CAP_PCI_CFG;
	/* bar, offset, length and the data window are the driver's */
	wmask[4] = 0xff;
	memset(wmask + 8, 0xff, 12);
	ret = pci_cap_add(v->pd, cfgcap, sizeof(cfgcap), wmask, vpci_cfg_window,
			  v);
	return ret < 0 ? ret : 0;
}

int virtio_pci_attach(struct virtio_dev *vdev, const struct device *dev)
{
	struct pci_dev_info info = {
		.vendor_id = VIRTIO_PCI_VENDOR_ID,
		.device_id =
			(uint16_t)(VIRTIO_PCI_DEVICE_ID_BASE + vdev->device_id),
		.subsys_vendor_id = VIRTIO_PCI_SUBSYS_VENDOR,
		.subsys_id =
			(uint16_t)(VIRTIO_PCI_DEVICE_ID_BASE + vdev->device_id),
		.revision = VIRTIO_PCI_REVISION,
		.class_code = vpci_class(vdev->device_id),
		.bar_map = vpci_bar_map,
	};
	struct pci_bar_info bar = {
		.kind = PCI_BAR_MEM32,
		.size = VPCI_BAR_SIZE,
		.fn = vpci_bar_access,
	};
	struct vpci *v;
	int ret;

	if (vdev->config_size > VPCI_REGION)
		return -EINVAL;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->vdev = vdev;
	v->nvec = vdev->nr_queues + 1;
	v->vec_fd = calloc(v->nvec, sizeof(*v->vec_fd));
	v->queue_vec = calloc(vdev->nr_queues, sizeof(*v->queue_vec));
	v->ioeventfd = calloc(vdev->nr_queues, sizeof(*v->ioeventfd));
	pthread_mutex_init(&v->map_lock, NULL);
	if (!v->vec_fd || !v->queue_vec || !v->ioeventfd) {
		ret = -ENOMEM;
		goto err;
	}
	for (unsigned i = 0; i < v->nvec; i++)
		v->vec_fd[i] = -1;
	info.opaque = v;
	bar.opaque = v;
	vdev->tr = &vpci_transport;
	vdev->tr_priv = v;
	vpci_reset(vdev);

	ret = pci_dev_new(vdev->vm, dev, &info, &v->pd);
	if (ret)
		goto err;
	ret = pci_bar_add(v->pd, VPCI_BAR, &bar);
	if (!ret)
		ret = vpci_add_caps(v);
	if (!ret)
		ret = pci_msix_init(v->pd, v->nvec, VPCI_BAR, VPCI_MSIX_TABLE,
				    VPCI_MSIX_PBA);
	if (ret) {
		log_err("%s: cannot set up its PCI function: %s", vdev->name,
			strerror(-ret));
		goto err;
	}
	for (unsigned i = 0; i < v->nvec; i++) {
		ret = pci_msix_irqfd(v->pd, i);
		v->vec_fd[i] = ret >= 0 ? ret : -1;
	}
	ret = pci_dev_plug(v->pd);
	if (ret)
		goto err;
	log_info("%s: virtio-pci 00:%02x.0, %u MSI-X vectors (%s)", vdev->name,
		 (pci_dev_bdf(v->pd) >> 3) & 0x1f, v->nvec,
		 v->vec_fd[0] >= 0 ? "irqfd" : "no irqfd");
	return 0;

err:
	vdev->tr = NULL;
	vdev->tr_priv = NULL;
	if (v->pd)
		pci_dev_free(v->pd);
	pthread_mutex_destroy(&v->map_lock);
	free(v->vec_fd);
	free(v->queue_vec);
	free(v->ioeventfd);
	free(v);
	return ret;
}
