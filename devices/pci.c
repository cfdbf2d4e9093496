/* SPDX-License-Identifier: MIT */
/*
 * The PCI host bridge and PCI functions (devices/pci.h): config space through
 * ECAM and the type-1 ports, BARs dispatched inside the bridge's windows,
 * RAM BARs as runtime memory slots, MSI-X.
 *
 * Locks, in the order they nest:
 *   host->cfg_lock   config space of every function, the type-1 address
 *                    latch, BAR decode transitions; device callbacks
 *                    (bar_map, capability hooks) run under it
 *   host->bar_lock   (rwlock) the slot table and the decoded BAR
 *                    addresses the window dispatch reads; never held
 *                    while calling a device
 *   msix->lock       one function's MSI-X table, PBA, enable/mask state
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/abi/x86_pc.h"
#include "devices/pci.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#define PCI_MAX_CAPS	16
#define PCI_CAP_MAX_LEN 192
#define PCI_PAGE	4096ULL
#define CF8_PORT	0xcf8
#define CF8_BLOCK_SIZE	8
#define RESET_PORT	0xcf9

struct pci_bar {
	struct pci_bar_info info; /* info.kind 0: no BAR here */
	bool upper;		  /* upper dword of the 64-bit BAR before */
	uint64_t assigned;	  /* address pci_dev_plug() gave it */
	/* Decode state, written under cfg_lock + bar_lock (write), read
	 * under either. */
	bool active;
	uint64_t active_addr;
	int map; /* RAM BAR: vm_mem_map() handle, or -1 */
};

struct pci_cap_hook {
	uint8_t off;
	uint8_t len;
	pci_cap_fn fn;
	void *opaque;
};

struct pci_msix {
	pthread_mutex_t lock;
	unsigned nvec;
	unsigned bar;
	uint64_t table_off, pba_off;
	uint8_t cap;	/* capability offset in config space */
	bool enabled;	/* message control: MSI-X Enable */
	bool fmask;	/* message control: Function Mask */
	uint8_t *table; /* nvec * 16 bytes, guest-visible */
	uint64_t *pba;	/* nvec bits */
	int *gsi;	/* MSI route per vector, -1: none */
	int *efd;	/* irqfd eventfd per vector, -1: none yet */
	bool *irqfd_on; /* efd attached to the route in KVM */
};

struct pci_dev {
	struct pci_host *host;
	struct vm *vm;
	const char *name;
	unsigned slot;
	bool plugged;
	struct pci_dev_info info;
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];	   /* guest-writable bits (not BARs) */
	uint8_t cfg_plugged[PCI_CFG_SIZE]; /* state at plug, for reset */
	unsigned cap_end;		   /* next free capability offset */
	unsigned cap_last;		   /* last capability, 0: none */
	struct pci_bar bars[PCI_NUM_BARS];
	struct pci_cap_hook caps[PCI_MAX_CAPS];
	unsigned nr_caps;
	struct pci_msix *msix;
};

struct pci_window {
	struct pci_host *host;
	bool io;
	uint64_t base;
};

struct pci_host {
	struct vm *vm;
	struct pci_layout layout;
	pthread_mutex_t cfg_lock;
	pthread_rwlock_t bar_lock;
	uint32_t cf8; /* type-1 CONFIG_ADDRESS latch */
	struct pci_dev *devs[PCI_SLOTS];
	uint32_t reserved; /* slots asked for by pci-slot keys */
	struct pci_dev bridge;
	struct pci_window win_io, win_mem32, win_mem64;
	uint64_t next_io, next_mem32, next_mem64; /* BAR assignment */
	bus_fn reset_fn;
	void *reset_opaque;
};

/* ---- config (devices/pci.h) ---- */

static bool type_has_key(const struct device_type *t, const char *key)
{
	for (const struct dev_param *p = t->params; p && p->key; p++)
		if (!strcmp(p->key, key))
			return true;
	return false;
}

bool pci_cfg_is_pci(const struct cfg_device *d)
{
	if (!d->type || !type_has_key(d->type, "pci-slot"))
		return false;
	if (!type_has_key(d->type, "transport"))
		return true;
	return !strcmp(cfg_dev_str(d, "transport"), "pci");
}

bool pci_cfg_wanted(const struct vm_config *cfg)
{
	for (unsigned i = 0; i < cfg->nr_devices; i++)
		if (pci_cfg_is_pci(&cfg->devices[i]))
			return true;
	return false;
}

int pci_cfg_check(const struct vm_config *cfg, struct cfg_error *err)
{
	const struct cfg_device *by_slot[PCI_SLOTS] = { 0 };
	unsigned n = 0;

	for (unsigned i = 0; i < cfg->nr_devices; i++) {
		const struct cfg_device *d = &cfg->devices[i];
		unsigned slot;

		if (!pci_cfg_is_pci(d))
			continue;
		if (++n > PCI_SLOTS - 1) {
			cfg_dev_error(err, d, NULL,
				      "too many PCI devices: bus 0 has room "
				      "for %u besides the host bridge",
				      PCI_SLOTS - 1);
			return -EINVAL;
		}
		if (!cfg_dev_isset(d, "pci-slot"))
			continue;
		slot = (unsigned)cfg_dev_num(d, "pci-slot");
		if (slot == 0 || slot >= PCI_SLOTS) {
			cfg_dev_error(err, d, "pci-slot",
				      "%u is not a slot: 1 to %u (0 is the "
				      "host bridge)",
				      slot, PCI_SLOTS - 1);
			return -EINVAL;
		}
		if (by_slot[slot]) {
			cfg_dev_error(err, d, "pci-slot",
				      "slot %u is taken by device \"%s\"", slot,
				      by_slot[slot]->name);
			return -EINVAL;
		}
		by_slot[slot] = d;
	}
	return 0;
}

/* ---- config space helpers ---- */

static uint32_t cfg_get(const struct pci_dev *d, unsigned off, unsigned size)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)d->cfg[off + i] << (8 * i);
	return v;
}

static void cfg_put(struct pci_dev *d, unsigned off, unsigned size, uint32_t v)
{
	for (unsigned i = 0; i < size; i++)
		d->cfg[off + i] = (uint8_t)(v >> (8 * i));
}

static void wmask_put(struct pci_dev *d, unsigned off, unsigned size,
		      uint32_t v)
{
	for (unsigned i = 0; i < size; i++)
		d->wmask[off + i] = (uint8_t)(v >> (8 * i));
}

static bool ranges_touch(unsigned a, unsigned alen, unsigned b, unsigned blen)
{
	return a < b + blen && b < a + alen;
}

static void dev_init_header(struct pci_dev *d, const struct pci_dev_info *in)
{
	memset(d->cfg, 0, sizeof(d->cfg));
	memset(d->wmask, 0, sizeof(d->wmask));
	cfg_put(d, PCI_VENDOR_ID, 2, in->vendor_id);
	cfg_put(d, PCI_DEVICE_ID, 2, in->device_id);
	cfg_put(d, PCI_REVISION_ID, 1, in->revision);
	cfg_put(d, PCI_CLASS_PROG, 1, in->class_code & 0xff);
	cfg_put(d, PCI_CLASS_DEVICE, 2, (in->class_code >> 8) & 0xffff);
	cfg_put(d, PCI_HEADER_TYPE, 1, PCI_HEADER_TYPE_NORMAL);
	cfg_put(d, PCI_SUBSYS_VENDOR_ID, 2, in->subsys_vendor_id);
	cfg_put(d, PCI_SUBSYS_ID, 2, in->subsys_id);
	wmask_put(d, PCI_COMMAND, 2,
		  PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
			  PCI_COMMAND_INTX_DISABLE);
	wmask_put(d, PCI_INTERRUPT_LINE, 1, 0xff);
	d->cap_end = PCI_CAP_START;
	for (unsigned i = 0; i < PCI_NUM_BARS; i++)
		d->bars[i].map = -1;
}

/* ---- BARs ---- */

static uint64_t bar_reg_addr(const struct pci_dev *d, unsigned n)
{
	const struct pci_bar *b = &d->bars[n];
	uint32_t lo = cfg_get(d, PCI_BAR0 + 4 * n, 4);

	switch (b->info.kind) {
	case PCI_BAR_IO:
		return lo & PCI_BAR_IO_MASK;
	case PCI_BAR_MEM32:
		return lo & PCI_BAR_MEM_MASK;
	case PCI_BAR_MEM64:
		return (lo & PCI_BAR_MEM_MASK) |
		       (uint64_t)cfg_get(d, PCI_BAR0 + 4 * (n + 1), 4) << 32;
	}
	return 0;
}

static uint32_t bar_flags(const struct pci_bar *b)
{
	switch (b->info.kind) {
	case PCI_BAR_IO:
		return PCI_BAR_SPACE_IO;
	case PCI_BAR_MEM32:
		return b->info.prefetchable ? PCI_BAR_MEM_PREFETCH : 0;
	case PCI_BAR_MEM64:
		return PCI_BAR_MEM_TYPE_64 |
		       (b->info.prefetchable ? PCI_BAR_MEM_PREFETCH : 0);
	}
	return 0;
}

/* The register value BAR n holds after the guest writes v to it: address
 * bits below the size read as zero (that is how sizing works), type bits
 * are fixed. */
static uint32_t bar_reg_value(const struct pci_dev *d, unsigned n, uint32_t v)
{
	const struct pci_bar *b = &d->bars[n];
	uint64_t mask;

	if (b->upper) {
		mask = ~(d->bars[n - 1].info.size - 1);
		return v & (uint32_t)(mask >> 32);
	}
	mask = ~(b->info.size - 1);
	switch (b->info.kind) {
	case PCI_BAR_IO:
		/* x86 I/O space is 64 KiB: the upper 16 bits are 0. */
		return (v & (uint32_t)mask & 0xfffcu) | bar_flags(b);
	case PCI_BAR_MEM32:
	case PCI_BAR_MEM64:
		return (v & (uint32_t)mask & PCI_BAR_MEM_MASK) | bar_flags(b);
	}
	return 0;
}

static bool in_window(uint64_t base, uint64_t size, uint64_t addr, uint64_t len)
{
	return size && addr >= base && addr - base < size &&
	       len <= size - (addr - base);
}

/* May BAR b decode at addr? Only inside the bridge's windows of its kind
 * (a memory BAR may sit in either memory window). */
static bool bar_decodable(const struct pci_host *h, const struct pci_bar *b,
			  uint64_t addr)
{
	const struct pci_layout *l = &h->layout;

	if (!addr)
		return false;
	if (b->info.kind == PCI_BAR_IO)
		return in_window(l->io_base, l->io_size, addr, b->info.size);
	return in_window(l->mmio32_base, l->mmio32_size, addr, b->info.size) ||
	       in_window(l->mmio64_base, l->mmio64_size, addr, b->info.size);
}

/*
 * Bring BAR n's decode in line with the command register and its address:
 * unmap at the old address, map at the new one, tell the device. cfg_lock
 * held.
 */
static void bar_update(struct pci_dev *d, unsigned n)
{
	struct pci_host *h = d->host;
	struct pci_bar *b = &d->bars[n];
	uint16_t cmd = (uint16_t)cfg_get(d, PCI_COMMAND, 2);
	bool on, old_on = b->active;
	uint64_t addr, old_addr = b->active_addr;

	if (!b->info.kind || b->upper)
		return;
	addr = bar_reg_addr(d, n);
	on = d->plugged &&
	     (cmd & (b->info.kind == PCI_BAR_IO ? PCI_COMMAND_IO
						: PCI_COMMAND_MEMORY)) &&
	     bar_decodable(h, b, addr);
	if (on == old_on && (!on || addr == old_addr))
		return;

	pthread_rwlock_wrlock(&h->bar_lock);
	b->active = on;
	b->active_addr = on ? addr : 0;
	pthread_rwlock_unlock(&h->bar_lock);

	if (old_on) {
		if (b->map >= 0) {
			vm_mem_unmap(d->vm, b->map);
			b->map = -1;
		}
		if (d->info.bar_map)
			d->info.bar_map(d->info.opaque, n, old_addr, false);
	}
	if (on) {
		if (b->info.ram) {
			int r = vm_mem_map(d->vm, addr, b->info.size,
					   b->info.ram, b->info.ram_readonly);

			if (r < 0)
				log_warn("%s: BAR%u at 0x%llx: cannot map its "
					 "memory: %s",
					 d->name, n, (unsigned long long)addr,
					 strerror(-r));
			b->map = r < 0 ? -1 : r;
		}
		if (d->info.bar_map)
			d->info.bar_map(d->info.opaque, n, addr, true);
	}
	log_debug("%s: BAR%u %s 0x%llx", d->name, n,
		  on ? "decodes at" : "off, was at",
		  (unsigned long long)(on ? addr : old_addr));
}

static void bars_update(struct pci_dev *d)
{
	for (unsigned n = 0; n < PCI_NUM_BARS; n++)
		bar_update(d, n);
}

/* ---- MSI-X ---- */

static uint32_t le32_at(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static bool pba_test(const struct pci_msix *m, unsigned v)
{
	return m->pba[v / 64] >> (v % 64) & 1;
}

static void pba_set(struct pci_msix *m, unsigned v, bool on)
{
	if (on)
		m->pba[v / 64] |= 1ULL << (v % 64);
	else
		m->pba[v / 64] &= ~(1ULL << (v % 64));
}

static bool vec_masked(const struct pci_msix *m, unsigned v)
{
	return m->fmask ||
	       (m->table[v * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_CTRL] &
		PCI_MSIX_ENTRY_CTRL_MASK);
}

static uint64_t vec_addr(const struct pci_msix *m, unsigned v)
{
	const uint8_t *e = &m->table[v * PCI_MSIX_ENTRY_SIZE];

	return le32_at(e + PCI_MSIX_ENTRY_ADDR_LO) |
	       (uint64_t)le32_at(e + PCI_MSIX_ENTRY_ADDR_HI) << 32;
}

static uint32_t vec_data(const struct pci_msix *m, unsigned v)
{
	return le32_at(
		&m->table[v * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_DATA]);
}

/* Read what the device signalled on the irqfd while it was detached. */
static uint64_t efd_drain(int fd)
{
	uint64_t n = 0;

	if (fd < 0 || read(fd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

static void vec_deliver(struct pci_dev *d, unsigned v)
{
	struct pci_msix *m = d->msix;
	int r = vm_signal_msi(d->vm, vec_addr(m, v), vec_data(m, v),
			      pci_dev_bdf(d));

	if (r)
		log_debug("%s: MSI-X vector %u: %s", d->name, v, strerror(-r));
}

/*
 * Make the route, the irqfd and pending state of vector v follow the table
 * and the enable/mask bits. msix->lock held.
 *
 * KVM drops an irqfd signal whose GSI has no route, and a masked route has
 * none (vmm/vm.c), so a masked vector's irqfd is detached first: its
 * signals then stay in the eventfd, where a PBA read or the unmask finds
 * them. Unmasking routes first, then delivers what is pending, then
 * attaches the irqfd again.
 */
static void vec_update(struct pci_dev *d, unsigned v)
{
	struct pci_msix *m = d->msix;
	bool off = !m->enabled || vec_masked(m, v);
	int r;

	if (off && m->irqfd_on[v]) {
		vm_irqfd_del(d->vm, m->efd[v], (unsigned)m->gsi[v]);
		m->irqfd_on[v] = false;
	}
	if (m->gsi[v] >= 0) {
		r = vm_msi_route_set(d->vm, (unsigned)m->gsi[v], vec_addr(m, v),
				     vec_data(m, v), pci_dev_bdf(d), off);
		if (r)
			log_warn("%s: MSI-X vector %u: cannot set its route: "
				 "%s",
				 d->name, v, strerror(-r));
	}
	if (off) {
		if (!m->enabled) {
			/* Disabled: no pending state, signals are lost. */
			pba_set(m, v, false);
			efd_drain(m->efd[v]);
		}
		return;
	}
	/* Unmasked: what came in while masked is delivered now. */
	if (efd_drain(m->efd[v]))
		pba_set(m, v, true);
	if (pba_test(m, v)) {
		pba_set(m, v, false);
		vec_deliver(d, v);
	}
	if (m->efd[v] >= 0 && !m->irqfd_on[v] && m->gsi[v] >= 0) {
		r = vm_irqfd_add(d->vm, m->efd[v], (unsigned)m->gsi[v]);
		if (r)
			log_warn("%s: MSI-X vector %u: irqfd: %s", d->name, v,
				 strerror(-r));
		else
			m->irqfd_on[v] = true;
	}
}

/* Message control written (cfg_lock held). */
static void msix_ctrl_update(struct pci_dev *d)
{
	struct pci_msix *m = d->msix;
	uint16_t ctl = (uint16_t)cfg_get(d, m->cap + PCI_MSIX_FLAGS, 2);
	bool en = ctl & PCI_MSIX_FLAGS_ENABLE;
	bool fm = ctl & PCI_MSIX_FLAGS_MASKALL;

	pthread_mutex_lock(&m->lock);
	if (en != m->enabled || fm != m->fmask) {
		m->enabled = en;
		m->fmask = fm;
		for (unsigned v = 0; v < m->nvec; v++)
			vec_update(d, v);
	}
	pthread_mutex_unlock(&m->lock);
}

static void msix_reset(struct pci_dev *d)
{
	struct pci_msix *m = d->msix;

	pthread_mutex_lock(&m->lock);
	m->enabled = false;
	m->fmask = false;
	memset(m->table, 0, (size_t)m->nvec * PCI_MSIX_ENTRY_SIZE);
	memset(m->pba, 0, ((m->nvec + 63) / 64) * sizeof(*m->pba));
	for (unsigned v = 0; v < m->nvec; v++) {
		m->table[v * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_CTRL] =
			PCI_MSIX_ENTRY_CTRL_MASK;
		vec_update(d, v);
	}
	pthread_mutex_unlock(&m->lock);
}

/*
 * A guest access to the table (entries of 16 bytes) or the PBA. Accesses
 * must be naturally aligned dwords or qwords (PCI 3.0 6.8.2): others read
 * all-ones and are ignored.
 */
static enum bus_status msix_table_io(struct pci_dev *d, uint64_t off,
				     uint8_t *data, unsigned size,
				     bool is_write)
{
	struct pci_msix *m = d->msix;
	unsigned v;

	if ((size != 4 && size != 8) || off % size)
		return BUS_OK;
	v = (unsigned)(off / PCI_MSIX_ENTRY_SIZE);
	if (v >= m->nvec)
		return BUS_OK;
	pthread_mutex_lock(&m->lock);
	if (!is_write) {
		memcpy(data, &m->table[off], size);
	} else {
		uint8_t *e = &m->table[v * PCI_MSIX_ENTRY_SIZE];
		uint8_t old[PCI_MSIX_ENTRY_SIZE];

		memcpy(old, e, sizeof(old));
		memcpy(&m->table[off], data, size);
		/* Vector control: only the mask bit exists. */
		e[PCI_MSIX_ENTRY_CTRL] &= PCI_MSIX_ENTRY_CTRL_MASK;
		memset(&e[PCI_MSIX_ENTRY_CTRL + 1], 0, 3);
		if (memcmp(old, e, sizeof(old)))
			vec_update(d, v);
	}
	pthread_mutex_unlock(&m->lock);
	return BUS_OK;
}

static enum bus_status msix_pba_io(struct pci_dev *d, uint64_t off,
				   uint8_t *data, unsigned size, bool is_write)
{
	struct pci_msix *m = d->msix;
	unsigned words = (m->nvec + 63) / 64;
	uint64_t w;

	if (is_write || (size != 4 && size != 8) || off % size ||
	    off / 8 >= words)
		return BUS_OK; /* the PBA is read-only */
	pthread_mutex_lock(&m->lock);
	/* A masked vector's irqfd signals are pending bits now. */
	for (unsigned v = (unsigned)(off / 8) * 64;
	     v < m->nvec && v < (unsigned)(off / 8) * 64 + 64; v++)
		if (m->enabled && !m->irqfd_on[v] && efd_drain(m->efd[v]))
			pba_set(m, v, true);
	w = m->pba[off / 8];
	pthread_mutex_unlock(&m->lock);
	if (size == 4 && off % 8)
		w >>= 32;
	bus_put(data, size, w);
	return BUS_OK;
}

/* Free an MSI-X state: its vectors' irqfds, eventfds and routes (m->nvec
 * of them: 0 until pci_msix_init() has set the arrays up), then m. */
static void msix_release(struct pci_dev *d, struct pci_msix *m)
{
	for (unsigned v = 0; v < m->nvec; v++) {
		if (m->irqfd_on[v])
			vm_irqfd_del(d->vm, m->efd[v], (unsigned)m->gsi[v]);
		if (m->efd[v] >= 0)
			close(m->efd[v]);
		if (m->gsi[v] >= 0)
			vm_msi_route_free(d->vm, (unsigned)m->gsi[v]);
	}
	free(m->table);
	free(m->pba);
	free(m->gsi);
	free(m->efd);
	free(m->irqfd_on);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

int pci_msix_init(struct pci_dev *d, unsigned nvec, unsigned bar,
		  uint64_t table_off, uint64_t pba_off)
{
	uint8_t cap[PCI_MSIX_CAP_SIZE] = { PCI_CAP_ID_MSIX };
	uint8_t wmask[PCI_MSIX_CAP_SIZE] = { 0 };
	uint64_t tsize = (uint64_t)nvec * PCI_MSIX_ENTRY_SIZE;
	uint64_t psize = ((nvec + 63) / 64) * 8;
	struct pci_msix *m;
	int off, ret = -ENOMEM;

	if (d->msix || d->plugged || !nvec || nvec > PCI_MSIX_MAX_VECTORS ||
	    bar >= PCI_NUM_BARS || d->bars[bar].upper ||
	    (d->bars[bar].info.kind != PCI_BAR_MEM32 &&
	     d->bars[bar].info.kind != PCI_BAR_MEM64) ||
	    !d->bars[bar].info.fn || table_off % 8 || pba_off % 8 ||
	    table_off > d->bars[bar].info.size ||
	    tsize > d->bars[bar].info.size - table_off ||
	    pba_off > d->bars[bar].info.size ||
	    psize > d->bars[bar].info.size - pba_off ||
	    ranges_overlap(table_off, tsize, pba_off, psize))
		return -EINVAL;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	m->bar = bar;
	m->table_off = table_off;
	m->pba_off = pba_off;
	m->table = calloc(nvec, PCI_MSIX_ENTRY_SIZE);
	m->pba = calloc((nvec + 63) / 64, sizeof(*m->pba));
	m->gsi = calloc(nvec, sizeof(*m->gsi));
	m->efd = calloc(nvec, sizeof(*m->efd));
	m->irqfd_on = calloc(nvec, sizeof(*m->irqfd_on));
	if (!m->table || !m->pba || !m->gsi || !m->efd || !m->irqfd_on)
		goto fail;
	for (unsigned v = 0; v < nvec; v++) {
		m->gsi[v] = m->efd[v] = -1;
		m->table[v * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_CTRL] =
			PCI_MSIX_ENTRY_CTRL_MASK;
	}
	m->nvec = nvec; /* vectors msix_release() looks at */
	d->msix = m;
	for (unsigned v = 0; v < nvec; v++) {
		int gsi = vm_msi_route_alloc(d->vm);

		if (gsi == -ENOTSUP)
			break; /* no routing: userspace delivery only */
		if (gsi < 0) {
			ret = gsi;
			log_err("%s: no MSI route for vector %u: %s", d->name,
				v, strerror(-gsi));
			goto fail;
		}
		m->gsi[v] = gsi;
	}

	cap[PCI_MSIX_FLAGS] = (uint8_t)((nvec - 1) & 0xff);
	cap[PCI_MSIX_FLAGS + 1] = (uint8_t)((nvec - 1) >> 8);
	for (unsigned i = 0; i < 4; i++) {
		cap[PCI_MSIX_TABLE + i] =
			(uint8_t)(((uint32_t)table_off | bar) >> (8 * i));
		cap[PCI_MSIX_PBA + i] =
			(uint8_t)(((uint32_t)pba_off | bar) >> (8 * i));
	}
	wmask[PCI_MSIX_FLAGS + 1] =
		(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL) >> 8;
	off = pci_cap_add(d, cap, sizeof(cap), wmask, NULL, NULL);
	if (off < 0) {
		ret = off;
		goto fail;
	}
	m->cap = (uint8_t)off;
	return 0;

fail:
	d->msix = NULL;
	msix_release(d, m);
	return ret;
}

int pci_msix_notify(struct pci_dev *d, unsigned vec)
{
	struct pci_msix *m = d->msix;
	int r = 0;

	if (!m || vec >= m->nvec)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	if (!m->enabled) {
		/* No MSI-X and no INTx: nothing to deliver to. */
	} else if (vec_masked(m, vec)) {
		pba_set(m, vec, true);
	} else {
		r = vm_signal_msi(d->vm, vec_addr(m, vec), vec_data(m, vec),
				  pci_dev_bdf(d));
	}
	pthread_mutex_unlock(&m->lock);
	return r;
}

int pci_msix_irqfd(struct pci_dev *d, unsigned vec)
{
	struct pci_msix *m = d->msix;
	int fd;

	if (!m || vec >= m->nvec)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	if (m->gsi[vec] < 0) {
		pthread_mutex_unlock(&m->lock);
		return -ENOTSUP;
	}
	if (m->efd[vec] < 0) {
		fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fd < 0) {
			fd = -errno;
			pthread_mutex_unlock(&m->lock);
			return fd;
		}
		m->efd[vec] = fd;
		vec_update(d, vec);
	}
	fd = m->efd[vec];
	pthread_mutex_unlock(&m->lock);
	return fd;
}

int pci_msix_set_irqfd(struct pci_dev *d, unsigned vec, int fd)
{
	struct pci_msix *m = d->msix;
	int nfd = -1, fl;

	if (!m || vec >= m->nvec || fd < -1)
		return -EINVAL;
	if (m->gsi[vec] < 0)
		return -ENOTSUP;
	if (fd >= 0) {
		/* Our own reference; non-blocking because masked vectors and
		 * PBA reads drain it with read(). */
		nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (nfd < 0)
			return -errno;
		fl = fcntl(nfd, F_GETFL);
		if (fl < 0 || fcntl(nfd, F_SETFL, fl | O_NONBLOCK) < 0) {
			fl = -errno;
			close(nfd);
			return fl;
		}
	}
	pthread_mutex_lock(&m->lock);
	if (m->irqfd_on[vec]) {
		vm_irqfd_del(d->vm, m->efd[vec], (unsigned)m->gsi[vec]);
		m->irqfd_on[vec] = false;
	}
	/* A signal still in the old eventfd stays pending. */
	if (efd_drain(m->efd[vec]) && m->enabled)
		pba_set(m, vec, true);
	if (m->efd[vec] >= 0)
		close(m->efd[vec]);
	m->efd[vec] = nfd;
	vec_update(d, vec);
	pthread_mutex_unlock(&m->lock);
	return 0;
}

bool pci_msix_enabled(struct pci_dev *d)
{
	struct pci_msix *m = d->msix;
	bool on;

	if (!m)
		return false;
	pthread_mutex_lock(&m->lock);
	on = m->enabled && !m->fmask;
	pthread_mutex_unlock(&m->lock);
	return on;
}

static void msix_free(struct pci_dev *d)
{
	if (d->msix)
		msix_release(d, d->msix);
	d->msix = NULL;
}

/* ---- config space access (cfg_lock held) ---- */

static void cap_hooks(struct pci_dev *d, unsigned reg, uint8_t *data,
		      unsigned size, bool is_write)
{
	for (unsigned i = 0; i < d->nr_caps; i++) {
		const struct pci_cap_hook *c = &d->caps[i];
		unsigned off;

		if (!c->fn || !ranges_touch(reg, size, c->off, c->len))
			continue;
		/* Capabilities start dword aligned and accesses lie in one
		 * dword, so the access starts inside this one. */
		off = reg - c->off;
		c->fn(c->opaque, &d->cfg[c->off], off, data,
		      MIN(size, c->len - off), is_write);
	}
}

static void cfg_read(struct pci_dev *d, unsigned reg, uint8_t *data,
		     unsigned size)
{
	memcpy(data, &d->cfg[reg], size);
	cap_hooks(d, reg, data, size, false);
}

static void cfg_write(struct pci_dev *d, unsigned reg, uint8_t *data,
		      unsigned size)
{
	unsigned dw = reg & ~3u;
	uint16_t old_cmd = (uint16_t)cfg_get(d, PCI_COMMAND, 2);

	if (dw >= PCI_BAR0 && dw < PCI_BAR0 + 4 * PCI_NUM_BARS) {
		unsigned n = (dw - PCI_BAR0) / 4;
		uint8_t v[4];

		if (!d->bars[n].info.kind && !d->bars[n].upper)
			return;
		memcpy(v, &d->cfg[dw], 4);
		memcpy(&v[reg - dw], data, size);
		cfg_put(d, dw, 4, bar_reg_value(d, n, le32_at(v)));
		bar_update(d, d->bars[n].upper ? n - 1 : n);
		return;
	}
	for (unsigned i = 0; i < size; i++) {
		uint8_t m = d->wmask[reg + i];

		d->cfg[reg + i] =
			(uint8_t)((d->cfg[reg + i] & ~m) | (data[i] & m));
	}
	if (ranges_touch(reg, size, PCI_COMMAND, 2) &&
	    ((old_cmd ^ cfg_get(d, PCI_COMMAND, 2)) &
	     (PCI_COMMAND_IO | PCI_COMMAND_MEMORY)))
		bars_update(d);
	if (d->msix &&
	    ranges_touch(reg, size, d->msix->cap + PCI_MSIX_FLAGS, 2))
		msix_ctrl_update(d);
	cap_hooks(d, reg, data, size, true);
}

/*
 * One config access to (dev, fn) at reg. Sizes 1, 2 and 4, naturally
 * aligned, inside the 4 KiB ECAM page; anything else reads all-ones and
 * writes nothing. Registers past the 256 bytes of conventional space read
 * 0 (no extended capabilities).
 */
static void cfg_access(struct pci_host *h, unsigned dev, unsigned fn,
		       unsigned reg, uint8_t *data, unsigned size,
		       bool is_write)
{
	struct pci_dev *d;

	if (!is_write)
		memset(data, 0xff, size);
	if ((size != 1 && size != 2 && size != 4) || reg % size ||
	    dev >= PCI_SLOTS || fn != 0 || reg >= 4096)
		return;
	pthread_mutex_lock(&h->cfg_lock);
	d = h->devs[dev];
	if (!d || !d->plugged) {
		pthread_mutex_unlock(&h->cfg_lock);
		return;
	}
	if (reg >= PCI_CFG_SIZE) {
		if (!is_write)
			memset(data, 0, size);
	} else if (is_write) {
		cfg_write(d, reg, data, size);
	} else {
		cfg_read(d, reg, data, size);
	}
	pthread_mutex_unlock(&h->cfg_lock);
}

static enum bus_status ecam_io(void *opaque, uint64_t offset, uint8_t *data,
			       unsigned size, bool is_write)
{
	struct pci_host *h = opaque;

	/* Bus 0 only: the region is 1 MiB, so offset < 1 << 20. */
	cfg_access(h, (unsigned)(offset >> 15) & 31,
		   (unsigned)(offset >> 12) & 7, (unsigned)(offset & 0xfff),
		   data, size, is_write);
	return BUS_OK;
}

/* Ports 0xcf8-0xcff: CONFIG_ADDRESS (dword at 0xcf8), CONFIG_DATA
 * (0xcfc-0xcff) and the reset control byte at 0xcf9. */
static enum bus_status cf8_io(void *opaque, uint64_t offset, uint8_t *data,
			      unsigned size, bool is_write)
{
	struct pci_host *h = opaque;
	uint32_t addr;

	if (offset == RESET_PORT - CF8_PORT && size == 1) {
		if (!h->reset_fn)
			return BUS_UNHANDLED;
		return h->reset_fn(h->reset_opaque, 0, data, size, is_write);
	}
	if (offset < 4) {
		/* CONFIG_ADDRESS is dword-only; other accesses there are
		 * ignored (reads all-ones). */
		if (offset != 0 || size != 4)
			return BUS_OK;
		pthread_mutex_lock(&h->cfg_lock);
		if (is_write)
			h->cf8 = (uint32_t)bus_get(data, 4) & 0x80fffffcu;
		else
			bus_put(data, 4, h->cf8);
		pthread_mutex_unlock(&h->cfg_lock);
		return BUS_OK;
	}
	if (!is_write)
		memset(data, 0xff, size);
	if (offset - 4 + size > 4) /* not inside CONFIG_DATA */
		return BUS_OK;
	pthread_mutex_lock(&h->cfg_lock);
	addr = h->cf8;
	pthread_mutex_unlock(&h->cfg_lock);
	/* Disabled, or a bus other than 0: nobody answers. (Another vCPU
	 * may rewrite the latch meanwhile; guests serialize the pair.) */
	if (!(addr & PCI_CONFIG_ENABLE) || (addr >> 16) & 0xff)
		return BUS_OK;
	cfg_access(h, (addr >> 11) & 31, (addr >> 8) & 7,
		   (addr & 0xfc) + (unsigned)(offset - 4), data, size,
		   is_write);
	return BUS_OK;
}

/* ---- BAR dispatch ---- */

struct bar_hit {
	struct pci_dev *d;
	unsigned n;
	uint64_t off;
};

static bool bar_lookup(struct pci_host *h, bool io, uint64_t addr,
		       unsigned size, struct bar_hit *hit)
{
	bool found = false;

	pthread_rwlock_rdlock(&h->bar_lock);
	for (unsigned s = 0; s < PCI_SLOTS && !found; s++) {
		struct pci_dev *d = h->devs[s];

		if (!d)
			continue;
		for (unsigned n = 0; n < PCI_NUM_BARS; n++) {
			const struct pci_bar *b = &d->bars[n];

			if (!b->active || (b->info.kind == PCI_BAR_IO) != io ||
			    addr < b->active_addr ||
			    addr - b->active_addr >= b->info.size)
				continue;
			hit->d = d;
			hit->n = n;
			hit->off = addr - b->active_addr;
			/* The whole access must be inside the BAR. */
			found = size <= b->info.size - hit->off;
			break;
		}
	}
	pthread_rwlock_unlock(&h->bar_lock);
	return found;
}

static enum bus_status window_io(void *opaque, uint64_t offset, uint8_t *data,
				 unsigned size, bool is_write)
{
	struct pci_window *w = opaque;
	struct bar_hit hit = { 0 };
	const struct pci_bar *b;
	struct pci_msix *m;

	if (!bar_lookup(w->host, w->io, w->base + offset, size, &hit))
		return BUS_UNHANDLED;
	b = &hit.d->bars[hit.n];
	m = hit.d->msix;
	if (m && m->bar == hit.n) {
		uint64_t tsize = (uint64_t)m->nvec * PCI_MSIX_ENTRY_SIZE;
		uint64_t psize = ((m->nvec + 63) / 64) * 8;

		if (hit.off >= m->table_off && hit.off - m->table_off < tsize) {
			if (size > tsize - (hit.off - m->table_off))
				return BUS_OK;
			return msix_table_io(hit.d, hit.off - m->table_off,
					     data, size, is_write);
		}
		if (hit.off >= m->pba_off && hit.off - m->pba_off < psize) {
			if (size > psize - (hit.off - m->pba_off))
				return BUS_OK;
			return msix_pba_io(hit.d, hit.off - m->pba_off, data,
					   size, is_write);
		}
	}
	if (!b->info.fn)
		return BUS_UNHANDLED; /* a RAM BAR that could not be mapped */
	return b->info.fn(b->info.opaque, hit.off, data, size, is_write);
}

/* ---- the host ---- */

const struct pci_layout pci_layout_x86 = {
	.ecam_base = ABI_PCI_ECAM_BASE,
	.io_base = ABI_PCI_IO_BASE,
	.io_size = ABI_PCI_IO_SIZE,
	.mmio32_base = ABI_PCI_MMIO32_BASE,
	.mmio32_size = ABI_PCI_MMIO32_SIZE,
	.mmio64_base = ABI_PCI_MMIO64_BASE,
	.mmio64_size = ABI_PCI_MMIO64_SIZE,
	.type1_ports = true,
};

struct pci_host *pci_host_get(struct vm *vm)
{
	return *vm_pci_host_slot(vm);
}

static int host_register(struct pci_host *h)
{
	struct bus *pio = vm_bus(h->vm, VM_BUS_PIO);
	struct bus *mmio = vm_bus(h->vm, VM_BUS_MMIO);
	const struct pci_layout *l = &h->layout;
	int ret;

	ret = bus_register(mmio, l->ecam_base, PCI_ECAM_BUS_SIZE, ecam_io, h,
			   "pci-host (ECAM)");
	if (!ret && l->type1_ports)
		ret = bus_register(pio, CF8_PORT, CF8_BLOCK_SIZE, cf8_io, h,
				   "pci-host (0xcf8)");
	h->win_io = (struct pci_window){ h, true, l->io_base };
	h->win_mem32 = (struct pci_window){ h, false, l->mmio32_base };
	h->win_mem64 = (struct pci_window){ h, false, l->mmio64_base };
	if (!ret && l->io_size)
		ret = bus_register(pio, l->io_base, l->io_size, window_io,
				   &h->win_io, "pci-host (I/O window)");
	if (!ret && l->mmio32_size)
		ret = bus_register(mmio, l->mmio32_base, l->mmio32_size,
				   window_io, &h->win_mem32,
				   "pci-host (32-bit window)");
	if (!ret && l->mmio64_size)
		ret = bus_register(mmio, l->mmio64_base, l->mmio64_size,
				   window_io, &h->win_mem64,
				   "pci-host (64-bit window)");
	return ret;
}

int pci_host_create(struct vm *vm, const struct pci_layout *layout,
		    const struct vm_config *cfg)
{
	struct pci_host **slot = vm_pci_host_slot(vm);
	struct pci_host *h;
	int ret;

	if (*slot)
		return -EEXIST;
	h = calloc(1, sizeof(*h));
	if (!h) {
		log_err("pci-host: out of memory");
		return -ENOMEM;
	}
	h->vm = vm;
	h->layout = *layout;
	pthread_mutex_init(&h->cfg_lock, NULL);
	pthread_rwlock_init(&h->bar_lock, NULL);
	h->next_io = layout->io_base;
	h->next_mem32 = layout->mmio32_base;
	h->next_mem64 = layout->mmio64_base;
	for (unsigned i = 0; cfg && i < cfg->nr_devices; i++) {
		const struct cfg_device *d = &cfg->devices[i];

		if (pci_cfg_is_pci(d) && cfg_dev_isset(d, "pci-slot") &&
		    cfg_dev_num(d, "pci-slot") < PCI_SLOTS)
			h->reserved |= 1u << cfg_dev_num(d, "pci-slot");
	}

	/* 00:00.0: the host bridge itself, no BARs. */
	h->bridge.host = h;
	h->bridge.vm = vm;
	h->bridge.name = "pci-host";
	h->bridge.info = (struct pci_dev_info){
		.vendor_id = PCI_HOST_VENDOR_ID,
		.device_id = PCI_HOST_DEVICE_ID,
		.subsys_vendor_id = PCI_HOST_VENDOR_ID,
		.subsys_id = PCI_HOST_DEVICE_ID,
		.class_code = PCI_CLASS_BRIDGE_HOST,
	};
	dev_init_header(&h->bridge, &h->bridge.info);
	h->bridge.plugged = true;
	h->devs[0] = &h->bridge;

	ret = host_register(h);
	if (ret) {
		log_err("pci-host: cannot register its regions: %s",
			strerror(-ret));
		pci_host_free(h);
		return ret;
	}
	*slot = h;
	return 0;
}

void pci_host_free(struct pci_host *h)
{
	if (!h)
		return;
	for (unsigned s = 1; s < PCI_SLOTS; s++)
		if (h->devs[s])
			log_warn("pci-host: %s still on slot %u at exit",
				 h->devs[s]->name, s);
	pthread_rwlock_destroy(&h->bar_lock);
	pthread_mutex_destroy(&h->cfg_lock);
	free(h);
}

int pci_host_claim_port(struct vm *vm, uint16_t port, unsigned size, bus_fn fn,
			void *opaque)
{
	struct pci_host *h = pci_host_get(vm);

	if (!h || !h->layout.type1_ports)
		return -ENODEV;
	if (port != RESET_PORT || size != 1 || !fn || h->reset_fn)
		return -EINVAL;
	h->reset_fn = fn;
	h->reset_opaque = opaque;
	return 0;
}

/* ---- functions ---- */

uint16_t pci_dev_bdf(const struct pci_dev *d)
{
	return (uint16_t)(d->slot << 3);
}

int pci_dev_new(struct vm *vm, const struct device *dev,
		const struct pci_dev_info *info, struct pci_dev **out)
{
	struct pci_host *h = pci_host_get(vm);
	const char *name = dev && dev->name ? dev->name : "pci-device";
	unsigned slot = 0;
	struct pci_dev *d;

	if (!h) {
		log_err("%s: no PCI host bridge", name);
		return -ENODEV;
	}
	if (dev && dev->cfg && type_has_key(dev->cfg->type, "pci-slot") &&
	    cfg_dev_isset(dev->cfg, "pci-slot")) {
		uint64_t s = cfg_dev_num(dev->cfg, "pci-slot");

		if (s == 0 || s >= PCI_SLOTS || h->devs[s]) {
			log_err("%s: PCI slot %llu is %s", name,
				(unsigned long long)s,
				s == 0 || s >= PCI_SLOTS ? "not a slot"
							 : "taken");
			return -EBUSY;
		}
		slot = (unsigned)s;
	} else {
		for (unsigned s = 1; s < PCI_SLOTS && !slot; s++)
			if (!h->devs[s] && !(h->reserved & (1u << s)))
				slot = s;
		if (!slot) {
			log_err("%s: no free PCI slot on bus 0", name);
			return -ENOSPC;
		}
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->host = h;
	d->vm = vm;
	d->name = name;
	d->slot = slot;
	d->info = *info;
	dev_init_header(d, info);
	pthread_mutex_lock(&h->cfg_lock);
	pthread_rwlock_wrlock(&h->bar_lock);
	h->devs[slot] = d;
	pthread_rwlock_unlock(&h->bar_lock);
	pthread_mutex_unlock(&h->cfg_lock);
	*out = d;
	return 0;
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

int pci_bar_add(struct pci_dev *d, unsigned n, const struct pci_bar_info *bar)
{
	const struct pci_bar_info *b = bar;

	if (d->plugged || n >= PCI_NUM_BARS || !is_pow2(b->size))
		return -EINVAL;
	if (d->bars[n].info.kind || d->bars[n].upper)
		return -EEXIST;
	switch (b->kind) {
	case PCI_BAR_IO:
		if (b->size < 4 || b->size > 256 || b->ram || !b->fn)
			return -EINVAL;
		break;
	case PCI_BAR_MEM32:
		if (b->size < 16 || b->size > (1ULL << 31))
			return -EINVAL;
		break;
	case PCI_BAR_MEM64:
		if (n + 1 >= PCI_NUM_BARS || b->size < 16 ||
		    b->size > (1ULL << 40))
			return -EINVAL;
		if (d->bars[n + 1].info.kind || d->bars[n + 1].upper)
			return -EEXIST;
		break;
	default:
		return -EINVAL;
	}
	if (b->kind != PCI_BAR_IO && !b->fn == !b->ram)
		return -EINVAL; /* exactly one of handler and RAM */
	if (b->ram && (b->size % PCI_PAGE || (uintptr_t)b->ram % PCI_PAGE))
		return -EINVAL;
	d->bars[n].info = *b;
	if (b->kind == PCI_BAR_MEM64)
		d->bars[n + 1].upper = true;
	cfg_put(d, PCI_BAR0 + 4 * n, 4, bar_flags(&d->bars[n]));
	return 0;
}

uint64_t pci_bar_addr(struct pci_dev *d, unsigned n)
{
	uint64_t a = 0;

	if (n >= PCI_NUM_BARS)
		return 0;
	pthread_rwlock_rdlock(&d->host->bar_lock);
	if (d->bars[n].active)
		a = d->bars[n].active_addr;
	pthread_rwlock_unlock(&d->host->bar_lock);
	return a;
}

int pci_cap_add(struct pci_dev *d, const void *cap, unsigned len,
		const uint8_t *wmask, pci_cap_fn fn, void *opaque)
{
	unsigned off = d->cap_end;

	if (d->plugged || len < 2 || len > PCI_CAP_MAX_LEN)
		return -EINVAL;
	if (d->nr_caps >= PCI_MAX_CAPS || off + len > PCI_CFG_SIZE)
		return -ENOSPC;
	memcpy(&d->cfg[off], cap, len);
	d->cfg[off + 1] = 0; /* next: end of list */
	if (wmask) {
		memcpy(&d->wmask[off], wmask, len);
		d->wmask[off] = d->wmask[off + 1] = 0;
	}
	if (d->cap_last)
		d->cfg[d->cap_last + 1] = (uint8_t)off;
	else
		d->cfg[PCI_CAP_PTR] = (uint8_t)off;
	cfg_put(d, PCI_STATUS, 2,
		cfg_get(d, PCI_STATUS, 2) | PCI_STATUS_CAP_LIST);
	d->caps[d->nr_caps++] = (struct pci_cap_hook){
		.off = (uint8_t)off,
		.len = (uint8_t)len,
		.fn = fn,
		.opaque = opaque,
	};
	d->cap_last = off;
	d->cap_end = (off + len + 3) & ~3u; /* dword aligned, <= 256 */
	return (int)off;
}

/* Bump allocation from a window, aligned to the BAR size (memory: at least
 * a page, so a RAM BAR or an ioeventfd page never shares one). */
static int bar_assign(struct pci_host *h, struct pci_bar *b, uint64_t *addr)
{
	const struct pci_layout *l = &h->layout;
	uint64_t align = b->info.size, *next, base, size;

	if (b->info.kind == PCI_BAR_IO) {
		next = &h->next_io;
		base = l->io_base;
		size = l->io_size;
	} else {
		align = MAX(align, PCI_PAGE);
		if (b->info.kind == PCI_BAR_MEM64 && l->mmio64_size) {
			next = &h->next_mem64;
			base = l->mmio64_base;
			size = l->mmio64_size;
		} else {
			next = &h->next_mem32;
			base = l->mmio32_base;
			size = l->mmio32_size;
		}
	}
	*addr = (*next + align - 1) & ~(align - 1);
	if (*addr < *next || !in_window(base, size, *addr, b->info.size))
		return -ENOSPC;
	*next = *addr + b->info.size;
	return 0;
}

int pci_dev_plug(struct pci_dev *d)
{
	struct pci_host *h = d->host;
	uint16_t cmd = 0;

	if (d->plugged)
		return -EINVAL;
	for (unsigned n = 0; n < PCI_NUM_BARS; n++) {
		struct pci_bar *b = &d->bars[n];
		uint64_t addr;

		if (!b->info.kind || b->upper)
			continue;
		if (bar_assign(h, b, &addr)) {
			log_err("%s: no room for BAR%u (%llu bytes) in the PCI "
				"window",
				d->name, n, (unsigned long long)b->info.size);
			return -ENOSPC;
		}
		b->assigned = addr;
		cfg_put(d, PCI_BAR0 + 4 * n, 4,
			bar_reg_value(d, n, (uint32_t)addr));
		if (b->info.kind == PCI_BAR_MEM64)
			cfg_put(d, PCI_BAR0 + 4 * (n + 1), 4,
				(uint32_t)(addr >> 32));
		cmd |= b->info.kind == PCI_BAR_IO ? PCI_COMMAND_IO
						  : PCI_COMMAND_MEMORY;
		log_debug("%s: 00:%02x.0 BAR%u at 0x%llx (%llu bytes)", d->name,
			  d->slot, n, (unsigned long long)addr,
			  (unsigned long long)b->info.size);
	}
	cfg_put(d, PCI_COMMAND, 2, cmd);
	memcpy(d->cfg_plugged, d->cfg, sizeof(d->cfg));
	pthread_mutex_lock(&h->cfg_lock);
	d->plugged = true;
	bars_update(d);
	pthread_mutex_unlock(&h->cfg_lock);
	return 0;
}

void pci_dev_reset(struct pci_dev *d)
{
	struct pci_host *h = d->host;

	if (!d->plugged)
		return;
	pthread_mutex_lock(&h->cfg_lock);
	memcpy(d->cfg, d->cfg_plugged, sizeof(d->cfg));
	bars_update(d);
	if (d->msix)
		msix_reset(d);
	pthread_mutex_unlock(&h->cfg_lock);
}

void pci_dev_free(struct pci_dev *d)
{
	struct pci_host *h;

	if (!d)
		return;
	h = d->host;
	pthread_mutex_lock(&h->cfg_lock);
	/* Decode off: RAM BARs unmapped, the device told. */
	cfg_put(d, PCI_COMMAND, 2, 0);
	bars_update(d);
	d->plugged = false;
	pthread_rwlock_wrlock(&h->bar_lock);
	if (h->devs[d->slot] == d)
		h->devs[d->slot] = NULL;
	pthread_rwlock_unlock(&h->bar_lock);
	pthread_mutex_unlock(&h->cfg_lock);
	msix_free(d);
	free(d);
}
