/* SPDX-License-Identifier: MIT */
/*
 * Transport-independent virtio driver core: the initialisation sequence
 * (virtio 1.2, 3.1.1), feature negotiation (2.2), split virtqueues (2.7),
 * device configuration space reads with the generation counter (2.5.1),
 * and interrupt handling. The per-transport register accesses are the small
 * switch statements at the top; discovery is in virtio_mmio.c and
 * virtio_pci.c.
 */
#include "virtio.h"
#include "cpu.h"
#include "virtio_hw.h"

#define CONFIG_RETRIES 16

/* ---- register access per transport ---- */

static uint8_t get_status(struct rt_virtio_dev *d)
{
	if (d->transport == RT_VIRTIO_MMIO)
		return (uint8_t)vio_read32(d->base + VIRTIO_MMIO_STATUS);
	return vio_read8(d->common + VIRTIO_PCI_COMMON_STATUS);
}

static void set_status(struct rt_virtio_dev *d, uint8_t s)
{
	if (d->transport == RT_VIRTIO_MMIO)
		vio_write32(d->base + VIRTIO_MMIO_STATUS, s);
	else
		vio_write8(d->common + VIRTIO_PCI_COMMON_STATUS, s);
}

static uint32_t get_features(struct rt_virtio_dev *d, uint32_t sel)
{
	if (d->transport == RT_VIRTIO_MMIO) {
		vio_write32(d->base + VIRTIO_MMIO_DEVICE_FEATURES_SEL, sel);
		return vio_read32(d->base + VIRTIO_MMIO_DEVICE_FEATURES);
	}
	vio_write32(d->common + VIRTIO_PCI_COMMON_DFSELECT, sel);
	return vio_read32(d->common + VIRTIO_PCI_COMMON_DF);
}

static void set_features(struct rt_virtio_dev *d, uint32_t sel, uint32_t v)
{
	if (d->transport == RT_VIRTIO_MMIO) {
		vio_write32(d->base + VIRTIO_MMIO_DRIVER_FEATURES_SEL, sel);
		vio_write32(d->base + VIRTIO_MMIO_DRIVER_FEATURES, v);
		return;
	}
	vio_write32(d->common + VIRTIO_PCI_COMMON_GFSELECT, sel);
	vio_write32(d->common + VIRTIO_PCI_COMMON_GF, v);
}

static uint32_t config_generation(struct rt_virtio_dev *d)
{
	if (d->transport == RT_VIRTIO_MMIO)
		return vio_read32(d->base + VIRTIO_MMIO_CONFIG_GENERATION);
	return vio_read8(d->common + VIRTIO_PCI_COMMON_CFGGENERATION);
}

static void write64(uint64_t addr_lo, uint64_t addr_hi, uint64_t v)
{
	vio_write32(addr_lo, (uint32_t)v);
	vio_write32(addr_hi, (uint32_t)(v >> 32));
}

static uint16_t pow2_floor(uint32_t v)
{
	uint32_t p = 1;

	while (p * 2 <= v)
		p *= 2;
	return (uint16_t)p;
}

static int mmio_queue(struct rt_virtio_dev *d, struct rt_virtq *vq,
		      unsigned max_size, char *why, size_t len)
{
	uint64_t b = d->base;
	uint32_t max;

	vio_write32(b + VIRTIO_MMIO_QUEUE_SEL, vq->index);
	if (vio_read32(b + VIRTIO_MMIO_QUEUE_READY)) {
		rt_snprintf(why, len, "queue %u is already live", vq->index);
		return -1;
	}
	max = vio_read32(b + VIRTIO_MMIO_QUEUE_NUM_MAX);
	if (max == 0) {
		rt_snprintf(why, len, "queue %u does not exist", vq->index);
		return -1;
	}
	if (max > max_size)
		max = max_size;
	vq->size = pow2_floor(max);
	vio_write32(b + VIRTIO_MMIO_QUEUE_NUM, vq->size);
	write64(b + VIRTIO_MMIO_QUEUE_DESC_LOW, b + VIRTIO_MMIO_QUEUE_DESC_HIGH,
		(uintptr_t)vq->desc);
	write64(b + VIRTIO_MMIO_QUEUE_DRIVER_LOW,
		b + VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uintptr_t)&vq->avail);
	write64(b + VIRTIO_MMIO_QUEUE_DEVICE_LOW,
		b + VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uintptr_t)&vq->used);
	vio_write32(b + VIRTIO_MMIO_QUEUE_READY, 1);
	if (vio_read32(b + VIRTIO_MMIO_QUEUE_READY) != 1) {
		rt_snprintf(why, len, "queue %u did not become ready",
			    vq->index);
		return -1;
	}
	return 0;
}

static int pci_queue(struct rt_virtio_dev *d, struct rt_virtq *vq,
		     unsigned max_size, char *why, size_t len)
{
	uint64_t c = d->common;
	uint32_t max, off;

	vio_write16(c + VIRTIO_PCI_COMMON_Q_SELECT, vq->index);
	if (vio_read16(c + VIRTIO_PCI_COMMON_Q_ENABLE)) {
		rt_snprintf(why, len, "queue %u is already live", vq->index);
		return -1;
	}
	max = vio_read16(c + VIRTIO_PCI_COMMON_Q_SIZE);
	if (max == 0) {
		rt_snprintf(why, len, "queue %u does not exist", vq->index);
		return -1;
	}
	if (max > max_size)
		max = max_size;
	vq->size = pow2_floor(max);
	vio_write16(c + VIRTIO_PCI_COMMON_Q_SIZE, vq->size);
	write64(c + VIRTIO_PCI_COMMON_Q_DESCLO, c + VIRTIO_PCI_COMMON_Q_DESCHI,
		(uintptr_t)vq->desc);
	write64(c + VIRTIO_PCI_COMMON_Q_AVAILLO,
		c + VIRTIO_PCI_COMMON_Q_AVAILHI, (uintptr_t)&vq->avail);
	write64(c + VIRTIO_PCI_COMMON_Q_USEDLO, c + VIRTIO_PCI_COMMON_Q_USEDHI,
		(uintptr_t)&vq->used);
	if (d->msix) {
		vio_write16(c + VIRTIO_PCI_COMMON_Q_MSIX, 0);
		if (vio_read16(c + VIRTIO_PCI_COMMON_Q_MSIX) != 0) {
			rt_printf("virtio: %s: queue %u refused MSI-X vector "
				  "0, polling\n",
				  d->name, vq->index);
			d->msix = false;
		}
	}
	/* The notification address; the spec lets the multiplier be 0 (one
	 * shared address). It must lie inside the notify structure. */
	off = (uint32_t)vio_read16(c + VIRTIO_PCI_COMMON_Q_NOFF) *
	      d->notify_mult;
	vq->notify = d->notify_base + off;
	if (off > d->notify_len || d->notify_len - off < 2) {
		rt_snprintf(why, len,
			    "queue %u notify offset 0x%x is outside the "
			    "notify structure (0x%x bytes)",
			    vq->index, off, d->notify_len);
		return -1;
	}
	vio_write16(c + VIRTIO_PCI_COMMON_Q_ENABLE, 1);
	return 0;
}

/* Interrupt handler: note the event; for INTx-style interrupts (mmio) read
 * and acknowledge the status first, so the line drops before the program
 * looks at the rings. */
static void virtio_isr(void *arg)
{
	struct rt_virtio_dev *d = arg;

	if (d->transport == RT_VIRTIO_MMIO) {
		uint32_t s = vio_read32(d->base + VIRTIO_MMIO_INTERRUPT_STATUS);

		if (s)
			vio_write32(d->base + VIRTIO_MMIO_INTERRUPT_ACK, s);
	} else if (!d->msix) {
		(void)vio_read8(d->isr); /* reading clears it */
	}
	d->interrupts++;
	d->pending = true;
}

/* ---- initialisation ---- */

uint8_t rt_virtio_status(struct rt_virtio_dev *d)
{
	return get_status(d);
}

bool rt_virtio_needs_reset(struct rt_virtio_dev *d)
{
	return (get_status(d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET) != 0;
}

void rt_virtio_reset(struct rt_virtio_dev *d)
{
	set_status(d, 0);
	/* A reset completes when the status reads back 0 (4.1.4.3.2, 4.2.2.2);
	 * ours complete at once, so the bound is just a guard. */
	for (unsigned i = 0; i < 1000 && get_status(d); i++)
		cpu_pause();
}

int rt_virtio_init(struct rt_virtio_dev *d, uint64_t wanted, uint64_t required,
		   char *why, size_t len)
{
	uint64_t offered, accept;
	uint8_t s;

	rt_virtio_reset(d);
	s = VIRTIO_STATUS_ACKNOWLEDGE;
	set_status(d, s);
	s |= VIRTIO_STATUS_DRIVER;
	set_status(d, s);

	offered = get_features(d, 0) | (uint64_t)get_features(d, 1) << 32;
	required |= 1ull << VIRTIO_F_VERSION_1;
	if ((offered & required) != required) {
		rt_snprintf(why, len,
			    "device lacks required features 0x%llx (offers "
			    "0x%llx)%s",
			    (unsigned long long)(required & ~offered),
			    (unsigned long long)offered,
			    (offered >> VIRTIO_F_VERSION_1) & 1
				    ? ""
				    : ": a legacy-only device");
		goto failed;
	}
	accept = offered & (wanted | required);
	set_features(d, 0, (uint32_t)accept);
	set_features(d, 1, (uint32_t)(accept >> 32));
	s |= VIRTIO_STATUS_FEATURES_OK;
	set_status(d, s);
	if (!(get_status(d) & VIRTIO_STATUS_FEATURES_OK)) {
		rt_snprintf(why, len, "device rejected features 0x%llx",
			    (unsigned long long)accept);
		goto failed;
	}
	d->features = accept;
	if (d->transport == RT_VIRTIO_PCI && d->msix)
		vio_write16(d->common + VIRTIO_PCI_COMMON_MSIX,
			    VIRTIO_MSI_NO_VECTOR);
	return 0;

failed:
	set_status(d, s | VIRTIO_STATUS_FAILED);
	return -1;
}

int rt_virtio_queue(struct rt_virtio_dev *d, struct rt_virtq *vq,
		    unsigned index, unsigned max_size, char *why, size_t len)
{
	int rc;

	memset(vq->desc, 0, sizeof(vq->desc));
	memset(&vq->avail, 0, sizeof(vq->avail));
	memset(&vq->used, 0, sizeof(vq->used));
	vq->index = (uint16_t)index;
	vq->notify = 0;
	if (max_size == 0 || max_size > RT_VIRTQ_MAX)
		max_size = RT_VIRTQ_MAX;
	if (d->transport == RT_VIRTIO_MMIO)
		rc = mmio_queue(d, vq, max_size, why, len);
	else
		rc = pci_queue(d, vq, max_size, why, len);
	if (rc) {
		set_status(d, get_status(d) | VIRTIO_STATUS_FAILED);
		return rc;
	}
	for (unsigned i = 0; i < vq->size; i++) {
		vq->desc[i].next = (uint16_t)(i + 1);
		vq->token[i] = NULL;
		vq->chain_len[i] = 0;
	}
	vq->free_head = 0;
	vq->nfree = vq->size;
	vq->avail_idx = 0;
	vq->last_used = 0;
	vq->published = 0;
	return 0;
}

int rt_virtio_ready(struct rt_virtio_dev *d, char *why, size_t len)
{
	if (d->transport == RT_VIRTIO_MMIO && d->irq) {
		if (rt_irq_attach(d->irq, virtio_isr, d)) {
			rt_snprintf(why, len, "cannot route irq %u", d->irq);
			set_status(d, get_status(d) | VIRTIO_STATUS_FAILED);
			return -1;
		}
	} else if (d->transport == RT_VIRTIO_PCI && d->msix) {
		rt_irq_init();
		rt_vector_attach(RT_VIRTIO_MSIX_VECTOR, virtio_isr, d);
	}
	set_status(d, get_status(d) | VIRTIO_STATUS_DRIVER_OK);
	if (rt_virtio_needs_reset(d)) {
		rt_snprintf(why, len, "device needs reset after DRIVER_OK");
		return -1;
	}
	return 0;
}

int rt_virtio_config(struct rt_virtio_dev *d, unsigned off, void *buf,
		     unsigned size)
{
	uint8_t *out = buf;
	uint64_t base;

	if (d->transport == RT_VIRTIO_MMIO) {
		if (off + size > 0x1000 - VIRTIO_MMIO_CONFIG)
			return -1;
		base = d->base + VIRTIO_MMIO_CONFIG + off;
	} else {
		if (!d->devcfg || off + size > d->devcfg_len)
			return -1;
		base = d->devcfg + off;
	}
	for (unsigned tries = 0; tries < CONFIG_RETRIES; tries++) {
		uint32_t gen = config_generation(d);
		unsigned i = 0;

		while (i < size) {
			if (size - i >= 4 && !((off + i) & 3)) {
				uint32_t v = vio_read32(base + i);

				memcpy(out + i, &v, 4);
				i += 4;
			} else if (size - i >= 2 && !((off + i) & 1)) {
				uint16_t v = vio_read16(base + i);

				memcpy(out + i, &v, 2);
				i += 2;
			} else {
				out[i] = vio_read8(base + i);
				i++;
			}
		}
		if (config_generation(d) == gen)
			return 0;
	}
	return -1;
}

/* ---- virtqueues ---- */

int rt_virtq_add(struct rt_virtq *vq, const struct rt_virtq_buf *bufs,
		 unsigned n, void *token)
{
	uint16_t head = vq->free_head, i = head, last = head;

	if (n == 0 || !token || n > vq->nfree)
		return -1;
	/* The free list is linked through desc[].next, so a chain taken
	 * from its front is already linked: set NEXT on all but the last. */
	for (unsigned k = 0; k < n; k++) {
		struct virtq_desc *dsc = &vq->desc[i];

		dsc->addr = (uintptr_t)bufs[k].addr;
		dsc->len = bufs[k].len;
		dsc->flags =
			(uint16_t)((bufs[k].write ? VIRTQ_DESC_F_WRITE : 0) |
				   (k + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
		last = i;
		i = dsc->next;
	}
	vq->free_head = vq->desc[last].next;
	vq->nfree = (uint16_t)(vq->nfree - n);
	vq->token[head] = token;
	vq->chain_len[head] = (uint16_t)n;
	vq->avail.ring[vq->avail_idx & (vq->size - 1)] = head;
	vq->avail_idx++;
	return 0;
}

void rt_virtq_kick(struct rt_virtio_dev *d, struct rt_virtq *vq)
{
	if (vq->published == vq->avail_idx)
		return;
	/* Ring entries before the index (2.7.13.3.1), the index before the
	 * NO_NOTIFY check (2.7.13.4: a full barrier, store then load). */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	vq->avail.idx = vq->avail_idx;
	vq->published = vq->avail_idx;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vq->used.flags & VIRTQ_USED_F_NO_NOTIFY)
		return;
	if (d->transport == RT_VIRTIO_MMIO)
		vio_write32(d->base + VIRTIO_MMIO_QUEUE_NOTIFY, vq->index);
	else
		vio_write16(vq->notify, vq->index);
}

void *rt_virtq_get(struct rt_virtq *vq, uint32_t *len)
{
	/* Bounded: at most one pass over the ring per call. */
	for (unsigned spin = 0; spin <= vq->size; spin++) {
		struct virtq_used_elem e;
		uint16_t i, n;
		void *token;

		if (vq->last_used == vq->used.idx)
			return NULL;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		e = vq->used.ring[vq->last_used & (vq->size - 1)];
		vq->last_used++;
		if (e.id >= vq->size || !vq->token[e.id]) {
			rt_printf("virtio: queue %u: used id %u is not an "
				  "outstanding chain, ignored\n",
				  vq->index, e.id);
			continue;
		}
		token = vq->token[e.id];
		n = vq->chain_len[e.id];
		vq->token[e.id] = NULL;
		i = (uint16_t)e.id;
		for (uint16_t k = 1; k < n; k++)
			i = vq->desc[i].next;
		vq->desc[i].next = vq->free_head;
		vq->free_head = (uint16_t)e.id;
		vq->nfree = (uint16_t)(vq->nfree + n);
		*len = e.len;
		return token;
	}
	return NULL;
}

/* ---- waiting ---- */

void rt_virtio_wait(struct rt_virtio_dev *d)
{
	rt_irq_disable();
	if (d->pending)
		rt_irq_enable();
	else
		rt_wait_irq();
	d->pending = false;
}

const char *rt_virtio_irq_mode(const struct rt_virtio_dev *d, char *buf,
			       size_t len)
{
	if (d->transport == RT_VIRTIO_MMIO && d->irq)
		rt_snprintf(buf, len, "irq %u", d->irq);
	else if (d->transport == RT_VIRTIO_PCI && d->msix)
		rt_snprintf(buf, len, "msi-x vector 0x%x",
			    RT_VIRTIO_MSIX_VECTOR);
	else
		rt_snprintf(buf, len, "polling");
	return buf;
}
