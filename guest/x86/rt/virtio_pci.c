/* SPDX-License-Identifier: MIT */
/*
 * virtio over PCI, modern devices only (virtio 1.2, 4.1): bus 0 through
 * configuration mechanism #1 (PCI Local Bus 3.0, 3.2.2.3.2), the virtio
 * vendor capabilities (4.1.4) locating the common, notify, ISR and device
 * structures in the memory BARs the VMM assigned, and MSI-X (PCI Local Bus
 * 3.0, 6.8.2) with one table entry for every queue.
 *
 * BARs above 4 GiB (the VMM's 64-bit window at 64 GiB) are outside the
 * runtime's identity map; rt_virtio_map() adds 2 MiB uncached pages for
 * them.
 */
#include "virtio.h"
#include "cpu.h"
#include "virtio_hw.h"

#define MAX_CAPS    48 /* a capability list longer than this is a loop */
#define PT_PRESENT  0x001ull
#define PT_WRITE    0x002ull
#define PT_PWT	    0x008ull
#define PT_PCD	    0x010ull
#define PT_ACCESSED 0x020ull
#define PT_DIRTY    0x040ull
#define PT_LARGE    0x080ull
#define PT_ADDR	    0x000ffffffffff000ull
#define PDE_2M_UC                                                           \
	(PT_PRESENT | PT_WRITE | PT_PWT | PT_PCD | PT_ACCESSED | PT_DIRTY | \
	 PT_LARGE)
#define PDE_TABLE    (PT_PRESENT | PT_WRITE | PT_ACCESSED)
#define GIB	     (1ull << 30)
#define MAPPED_LIMIT (4 * GIB)	 /* the runtime's own identity map */
#define MAP_LIMIT    (512 * GIB) /* what PML4[0] covers */
#define EXTRA_PDS    4

extern uint64_t rt_pml4[512]; /* start.S */

static uint64_t extra_pd[EXTRA_PDS][512] __attribute__((aligned(4096)));
static unsigned extra_pds_used;

uint32_t vio_pci_read32(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t reg)
{
	vio_out32(ABI_PCI_CONFIG_ADDRESS, PCI_CONFIG_ADDR(bus, dev, fn, reg));
	return vio_in32(ABI_PCI_CONFIG_DATA);
}

void vio_pci_write32(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t reg,
		     uint32_t v)
{
	vio_out32(ABI_PCI_CONFIG_ADDRESS, PCI_CONFIG_ADDR(bus, dev, fn, reg));
	vio_out32(ABI_PCI_CONFIG_DATA, v);
}

static uint32_t cfg_read(struct rt_virtio_dev *d, unsigned reg, unsigned size)
{
	uint32_t v = vio_pci_read32(d->bus, d->dev, d->fn, (uint8_t)reg);

	v >>= 8 * (reg & 3);
	if (size == 1)
		return v & 0xff;
	if (size == 2)
		return v & 0xffff;
	return v;
}

int rt_virtio_map(uint64_t addr, uint64_t len)
{
	uint64_t *pdpt, end;

	if (len == 0 || addr + len < addr || addr + len > MAP_LIMIT)
		return -1;
	if (addr + len <= MAPPED_LIMIT)
		return 0;
	pdpt = (uint64_t *)(uintptr_t)(rt_pml4[0] & PT_ADDR);
	end = addr + len;
	for (uint64_t g = addr / GIB; g <= (end - 1) / GIB; g++) {
		uint64_t *pd;

		if (g < MAPPED_LIMIT / GIB || (pdpt[g] & PT_PRESENT))
			continue;
		if (extra_pds_used == EXTRA_PDS)
			return -1;
		pd = extra_pd[extra_pds_used++];
		for (unsigned i = 0; i < 512; i++)
			pd[i] = (g * GIB + (uint64_t)i * (2ull << 20)) |
				PDE_2M_UC;
		pdpt[g] = (uintptr_t)pd | PDE_TABLE;
	}
	/* Only not-present entries changed: nothing stale to flush, but a
	 * CR3 reload is cheap and makes no assumption. */
	__asm__ volatile("mov %%cr3, %%rax; mov %%rax, %%cr3"
			 :
			 :
			 : "rax", "memory");
	return 0;
}

/* The address of memory BAR `bar`, 0 if it is not a usable memory BAR. */
static uint64_t bar_address(struct rt_virtio_dev *d, unsigned bar)
{
	uint32_t lo, hi = 0;

	if (bar >= PCI_NUM_BARS)
		return 0;
	lo = cfg_read(d, PCI_BAR0 + 4 * bar, 4);
	if (lo & PCI_BAR_SPACE_IO)
		return 0;
	if (lo & PCI_BAR_MEM_TYPE_64) {
		if (bar + 1 >= PCI_NUM_BARS)
			return 0;
		hi = cfg_read(d, PCI_BAR0 + 4 * (bar + 1), 4);
	}
	return ((uint64_t)hi << 32) | (lo & PCI_BAR_MEM_MASK);
}

/* The address of a structure a capability points at, mapped; 0 on error. */
static uint64_t cap_region(struct rt_virtio_dev *d, unsigned bar,
			   uint32_t offset, uint32_t length, char *why,
			   size_t len)
{
	uint64_t base = bar_address(d, bar);

	if (!base) {
		rt_snprintf(why, len,
			    "%s: BAR %u is not an assigned memory BAR", d->name,
			    bar);
		return 0;
	}
	if (rt_virtio_map(base + offset, length ? length : 1)) {
		rt_snprintf(why, len, "%s: cannot map 0x%llx (+0x%x)", d->name,
			    (unsigned long long)(base + offset), length);
		return 0;
	}
	return base + offset;
}

/* Walk the capability list: the first virtio structure of each type
 * (4.1.4: "the driver SHOULD use the first one it can"), MSI-X. */
static int read_caps(struct rt_virtio_dev *d, char *why, size_t len)
{
	uint32_t common_len = 0;
	unsigned ptr;

	if (!(cfg_read(d, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST)) {
		rt_snprintf(why, len, "%s: no capability list", d->name);
		return -1;
	}
	ptr = cfg_read(d, PCI_CAP_PTR, 1) & 0xfc;
	for (unsigned n = 0; ptr && n < MAX_CAPS; n++) {
		unsigned id, next, clen, type, bar;
		uint32_t off, length;

		if (ptr < PCI_CAP_START || ptr > PCI_CFG_SIZE - 4) {
			rt_snprintf(why, len, "%s: capability at 0x%x", d->name,
				    ptr);
			return -1;
		}
		id = cfg_read(d, ptr, 1);
		next = cfg_read(d, ptr + 1, 1) & 0xfc;
		if (id == PCI_CAP_ID_MSIX && !d->msix_cap) {
			uint32_t tbl = cfg_read(d, ptr + PCI_MSIX_TABLE, 4);

			d->msix_cap = (uint8_t)ptr;
			d->msix_entries =
				(cfg_read(d, ptr + PCI_MSIX_FLAGS, 2) &
				 PCI_MSIX_FLAGS_QSIZE) +
				1;
			d->msix_table = cap_region(d, tbl & PCI_MSIX_BIR_MASK,
						   tbl & ~PCI_MSIX_BIR_MASK,
						   d->msix_entries *
							   PCI_MSIX_ENTRY_SIZE,
						   why, len);
			if (!d->msix_table)
				return -1;
		}
		if (id != PCI_CAP_ID_VNDR)
			goto next;
		clen = cfg_read(d, ptr + 2, 1);
		type = cfg_read(d, ptr + 3, 1);
		bar = cfg_read(d, ptr + 4, 1);
		if (clen < sizeof(struct virtio_pci_cap) ||
		    ptr + clen > PCI_CFG_SIZE)
			goto next;
		off = cfg_read(d, ptr + 8, 4);
		length = cfg_read(d, ptr + 12, 4);
		switch (type) {
		case VIRTIO_PCI_CAP_COMMON_CFG:
			if (d->common)
				break;
			d->common = cap_region(d, bar, off, length, why, len);
			if (!d->common)
				return -1;
			common_len = length;
			break;
		case VIRTIO_PCI_CAP_NOTIFY_CFG:
			if (d->notify_base ||
			    clen < sizeof(struct virtio_pci_notify_cap))
				break;
			d->notify_base =
				cap_region(d, bar, off, length, why, len);
			if (!d->notify_base)
				return -1;
			d->notify_len = length;
			d->notify_mult = cfg_read(d, ptr + 16, 4);
			break;
		case VIRTIO_PCI_CAP_ISR_CFG:
			if (d->isr)
				break;
			d->isr = cap_region(d, bar, off, length, why, len);
			if (!d->isr)
				return -1;
			break;
		case VIRTIO_PCI_CAP_DEVICE_CFG:
			if (d->devcfg)
				break;
			d->devcfg = cap_region(d, bar, off, length, why, len);
			if (!d->devcfg)
				return -1;
			d->devcfg_len = length;
			break;
		}
	next:
		ptr = next;
	}
	if (!d->common || common_len < VIRTIO_PCI_COMMON_Q_NDATA) {
		rt_snprintf(why, len, "%s: no usable common configuration",
			    d->name);
		return -1;
	}
	if (!d->notify_base || !d->isr) {
		rt_snprintf(why, len, "%s: no notify or ISR structure",
			    d->name);
		return -1;
	}
	return 0;
}

/* MSI-X: entry 0 -> this CPU, RT_VIRTIO_MSIX_VECTOR (fixed, edge; Intel
 * SDM Vol. 3A 11.11 message address/data), then enable the function. */
static void msix_setup(struct rt_virtio_dev *d)
{
	uint64_t e = d->msix_table;
	uint32_t ctrl;

	if (!d->msix_cap || !d->msix_table)
		return;
	vio_write32(e + PCI_MSIX_ENTRY_CTRL, PCI_MSIX_ENTRY_CTRL_MASK);
	vio_write32(e + PCI_MSIX_ENTRY_ADDR_LO,
		    ABI_LAPIC_BASE | (rt_lapic_id() << 12));
	vio_write32(e + PCI_MSIX_ENTRY_ADDR_HI, 0);
	vio_write32(e + PCI_MSIX_ENTRY_DATA, RT_VIRTIO_MSIX_VECTOR);
	ctrl = vio_pci_read32(d->bus, d->dev, d->fn, d->msix_cap);
	ctrl &= ~((uint32_t)PCI_MSIX_FLAGS_MASKALL << 16);
	ctrl |= (uint32_t)PCI_MSIX_FLAGS_ENABLE << 16;
	vio_pci_write32(d->bus, d->dev, d->fn, d->msix_cap, ctrl);
	vio_write32(e + PCI_MSIX_ENTRY_CTRL, 0);
	d->msix = true;
}

static int pci_open(struct rt_virtio_dev *d, uint8_t dev, uint8_t fn,
		    uint32_t device_id, char *why, size_t len)
{
	uint32_t cmd;

	memset(d, 0, sizeof(*d));
	d->transport = RT_VIRTIO_PCI;
	d->device_id = device_id;
	d->dev = dev;
	d->fn = fn;
	rt_snprintf(d->name, sizeof(d->name), "pci 00:%02x.%u", dev, fn);
	cmd = cfg_read(d, PCI_COMMAND, 4);
	cmd &= 0xffff; /* don't write 1s back into the status bits */
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
	       PCI_COMMAND_INTX_DISABLE;
	vio_pci_write32(0, dev, fn, PCI_COMMAND, cmd);
	if (read_caps(d, why, len))
		return -1;
	msix_setup(d);
	return 0;
}

int rt_virtio_pci_find(struct rt_virtio_dev *d, uint32_t device_id, int slot,
		       char *why, size_t len)
{
	uint32_t want = VIRTIO_PCI_VENDOR_ID |
			(VIRTIO_PCI_DEVICE_ID_BASE + device_id) << 16;
	unsigned functions = 0;

	for (unsigned dev = 0; dev < PCI_SLOTS; dev++) {
		unsigned nfn = 1;

		if (slot >= 0 && dev != (unsigned)slot)
			continue;
		for (unsigned fn = 0; fn < nfn; fn++) {
			uint32_t id = vio_pci_read32(
				0, (uint8_t)dev, (uint8_t)fn, PCI_VENDOR_ID);

			if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0)
				continue;
			functions++;
			if (fn == 0 &&
			    (vio_pci_read32(0, (uint8_t)dev, 0, 0x0c) >> 16) &
				    PCI_HEADER_MULTI_FUNCTION)
				nfn = 8;
			if (id == want)
				return pci_open(d, (uint8_t)dev, (uint8_t)fn,
						device_id, why, len);
		}
	}
	rt_snprintf(why, len,
		    "no virtio-pci device 0x%x:0x%x on bus 0 (%u functions "
		    "seen)",
		    VIRTIO_PCI_VENDOR_ID, VIRTIO_PCI_DEVICE_ID_BASE + device_id,
		    functions);
	return -1;
}
