/* SPDX-License-Identifier: MIT */
/*
 * ivshmem.elf (arm64): ivshmem doorbells both ways on arm64, the interrupt
 * side through the GICv3 ITS: MSI-X -> ITS -> LPI. The doorbell half of
 * guest/x86/ivshmem (no message queue: the runtime's identity map ends at
 * 4 GiB and BAR2 sits in the 64-bit window at 512 GiB, so the shared
 * memory is found and sized but not touched).
 *
 * It finds every ivshmem function (1af4:1110) on PCI bus 0 through the
 * ECAM (ABI_PCI_ECAM_BASE: the runtime's DTB reader does not look for the
 * host bridge) and uses the BARs the VMM assigned, as firmware left them;
 * turns on memory decoding and bus mastering; reads IVPosition; gives the
 * function an ITT (MAPD, DeviceID = its requester ID, which is what the
 * VMM's msi-map says) and maps each MSI-X vector v to EventID v and LPI
 * 8192 + 8 * n + v (MAPTI); writes each MSI-X entry with GITS_TRANSLATER
 * and the EventID, then enables MSI-X. A doorbell from a peer is an LPI,
 * counted by its handler; the main loop reports it.
 *
 * Command line:
 *   ivshmem=N       use at most N devices (default: all found, up to 4)
 *   ring=PEER[:VEC] ring PEER's vector VEC (default 0) through device 0
 *                   once a second (guest -> host doorbells)
 *   count=N         power off once N doorbells have arrived (all devices
 *                   and vectors; default 0: run until timeout)
 *   timeout=MS      stop after MS ms of guest time (default: never)
 *   hz=N            timer tick (default 100): the clock of ring= and
 *                   timeout=
 *
 * Console (the x86 guest's lines where they apply): "its: ..." (what the
 * ITS offers), one line per device ("ivshmem0: pci 00:01.0 rev 1, id 1,
 * ..."), "ivshmem: N devices, doorbell service running ...",
 * "ivshmem0: ringing peer P vector V every second", "ivshmem0: doorbell
 * on vector V (#n)" for the first 4 doorbells per vector, and at the end
 * per device "ivshmem0: doorbells in v0=A v1=B, R rung, LPIs ..." .
 *
 * Exit (rt_exit: "EXIT n", then `vmm run` exits 8): 0 after count= doorbells
 * (PSCI SYSTEM_OFF: `vmm run` exits 0), 48 (0x30) no device or bad
 * options, 49 (0x31) device or ITS set-up failed, 50 (0x32) timeout, 51
 * (0x33) no ITS: a GICv2 (or a GICv3 without LPIs), so no MSIs.
 */
#include "rt.h"
#include "devices/abi/ivshmem.h"

#define EXIT_NODEV   0x30
#define EXIT_INIT    0x31
#define EXIT_TIMEOUT 0x32
#define EXIT_NO_ITS  0x33

#define MAX_DEVS     4
#define MAX_VECTORS  8 /* LPIs per device: RT_LPI_MAX / MAX_DEVS at most */
#define DOORBELL_LOG 4
#define HZ_DEFAULT   100

_Static_assert(MAX_DEVS *MAX_VECTORS <= RT_LPI_MAX, "LPIs per device");

/* PCI configuration space (type 0 header) */
#define PCI_SLOTS		  32
#define PCI_VENDOR_ID		  0x00
#define PCI_COMMAND		  0x04
#define PCI_STATUS		  0x06
#define PCI_REVISION_ID		  0x08
#define PCI_HEADER_TYPE		  0x0e
#define PCI_BAR0		  0x10
#define PCI_CAP_PTR		  0x34
#define PCI_COMMAND_MEMORY	  0x0002
#define PCI_COMMAND_MASTER	  0x0004
#define PCI_COMMAND_INTX_DISABLE  0x0400
#define PCI_STATUS_CAP_LIST	  0x0010
#define PCI_HEADER_MULTI_FUNCTION 0x80
#define PCI_CAP_ID_MSIX		  0x11
#define PCI_MSIX_FLAGS		  2 /* in the capability */
#define PCI_MSIX_TABLE		  4
#define PCI_MSIX_FLAGS_ENABLE	  0x8000
#define PCI_MSIX_FLAGS_MASKALL	  0x4000
#define PCI_MSIX_FLAGS_QSIZE	  0x07ff
#define PCI_MSIX_BIR_MASK	  7u
#define PCI_MSIX_ENTRY_SIZE	  16
#define PCI_MSIX_ENTRY_ADDR_LO	  0
#define PCI_MSIX_ENTRY_ADDR_HI	  4
#define PCI_MSIX_ENTRY_DATA	  8
#define PCI_MSIX_ENTRY_CTRL	  12
#define PCI_MSIX_ENTRY_CTRL_MASK  1u
#define MAX_CAPS		  48

/* What the runtime maps as Device memory (start.S: the first 1 GiB). */
#define DEVICE_MAP_END 0x40000000ull

struct dev {
	char name[16];
	uint8_t slot, fn, revision;
	uint32_t devid; /* requester ID = the ITS DeviceID */
	uintptr_t cfg;	/* the function's 4 KiB of ECAM */
	uint64_t regs, shm, shm_size;
	bool msix;
	uint64_t msix_table;
	unsigned table_size, nvectors, lpi0;
	volatile uint32_t count[MAX_VECTORS];
	uint32_t seen[MAX_VECTORS];
	uint64_t rung;
};

static struct dev devs[MAX_DEVS];
static volatile bool doorbell_pending;
static volatile uint32_t doorbells_total;

/* ---- PCI through the ECAM (aligned single accesses) ---- */

static uintptr_t ecam_fn(unsigned slot, unsigned fn)
{
	return (uintptr_t)(ABI_PCI_ECAM_BASE + ((uint64_t)slot << 15) +
			   ((uint64_t)fn << 12));
}

/* Probe BAR i (decoding off while it reads all-ones); its address, and
 * its size in *size (0 if none). A 64-bit BAR uses i and i + 1. */
static uint64_t bar_probe(const struct dev *d, unsigned i, uint64_t *size)
{
	uintptr_t r = d->cfg + PCI_BAR0 + 4 * i;
	uint16_t cmd = rt_read16(d->cfg + PCI_COMMAND);
	uint32_t lo = rt_read32(r), hi = 0, mlo, mhi = 0xffffffffu;
	bool is64 = (lo & 7) == 4;
	uint64_t mask;

	*size = 0;
	if (lo & 1 || i > 5 || (is64 && i > 4))
		return 0; /* an I/O BAR (none here), or no room */
	if (is64)
		hi = rt_read32(r + 4);
	rt_write16(d->cfg + PCI_COMMAND, cmd & ~PCI_COMMAND_MEMORY);
	rt_write32(r, 0xffffffffu);
	mlo = rt_read32(r);
	rt_write32(r, lo);
	if (is64) {
		rt_write32(r + 4, 0xffffffffu);
		mhi = rt_read32(r + 4);
		rt_write32(r + 4, hi);
	}
	rt_write16(d->cfg + PCI_COMMAND, cmd);
	mask = (uint64_t)mhi << 32 | (mlo & ~0xfu);
	if (!(mlo & ~0xfu))
		return 0;
	*size = ~mask + 1;
	return ((uint64_t)hi << 32 | lo) & ~0xfull;
}

static unsigned find_msix(const struct dev *d)
{
	unsigned ptr;

	if (!(rt_read16(d->cfg + PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	ptr = rt_read8(d->cfg + PCI_CAP_PTR) & 0xfc;
	for (unsigned n = 0; ptr && n < MAX_CAPS; n++) {
		if (ptr < 0x40 || ptr > 0xfc)
			return 0;
		if (rt_read8(d->cfg + ptr) == PCI_CAP_ID_MSIX)
			return ptr;
		ptr = rt_read8(d->cfg + ptr + 1) & 0xfc;
	}
	return 0;
}

static bool is_ivshmem(uint32_t id)
{
	return id == (IVSHMEM_VENDOR_ID | (uint32_t)IVSHMEM_DEVICE_ID << 16);
}

/* Bus 0's ivshmem functions into devs[] (at most `max`); the number. */
static unsigned scan(unsigned max)
{
	unsigned n = 0;

	for (unsigned slot = 0; slot < PCI_SLOTS; slot++) {
		unsigned nfn = 1;

		for (unsigned fn = 0; fn < nfn; fn++) {
			uintptr_t cfg = ecam_fn(slot, fn);
			uint32_t id = rt_read32(cfg + PCI_VENDOR_ID);

			if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0)
				continue;
			if (fn == 0 && rt_read8(cfg + PCI_HEADER_TYPE) &
					       PCI_HEADER_MULTI_FUNCTION)
				nfn = 8;
			if (!is_ivshmem(id) || n >= max)
				continue;
			devs[n].slot = (uint8_t)slot;
			devs[n].fn = (uint8_t)fn;
			devs[n].cfg = cfg;
			n++;
		}
	}
	return n;
}

/* ---- interrupts ---- */

static void doorbell_irq(unsigned intid, void *arg)
{
	unsigned code = (unsigned)(uintptr_t)arg;
	struct dev *d = &devs[code / MAX_VECTORS];

	d->count[code % MAX_VECTORS]++;
	doorbells_total++;
	doorbell_pending = true;
}

static int msix_setup(struct dev *d, unsigned index, unsigned cap, char *why,
		      size_t len)
{
	uint32_t tbl = rt_read32(d->cfg + cap + PCI_MSIX_TABLE);
	unsigned bir = tbl & PCI_MSIX_BIR_MASK;
	uint64_t base, bsize, doorbell = rt_its_doorbell();
	uint16_t ctrl;

	d->table_size = (rt_read16(d->cfg + cap + PCI_MSIX_FLAGS) &
			 PCI_MSIX_FLAGS_QSIZE) +
			1;
	base = bar_probe(d, bir, &bsize);
	if (!base || !bsize ||
	    (uint64_t)(tbl & ~PCI_MSIX_BIR_MASK) +
			    (uint64_t)d->table_size * PCI_MSIX_ENTRY_SIZE >
		    bsize ||
	    base + bsize > DEVICE_MAP_END) {
		rt_snprintf(why, len,
			    "%s: MSI-X table not inside BAR %u (0x%llx, %llu "
			    "bytes) below 1 GiB",
			    d->name, bir, (unsigned long long)base,
			    (unsigned long long)bsize);
		return -1;
	}
	d->msix_table = base + (tbl & ~PCI_MSIX_BIR_MASK);
	d->nvectors = d->table_size < MAX_VECTORS ? d->table_size : MAX_VECTORS;
	d->lpi0 = RT_LPI_BASE + index * MAX_VECTORS;

	/* The ITS side first, so the first MSI finds its translation. */
	if (rt_its_map_device(d->devid, d->nvectors, why, len))
		return -1;
	for (unsigned v = 0; v < d->nvectors; v++)
		if (rt_its_map_event(
			    d->devid, v, d->lpi0 + v, doorbell_irq,
			    (void *)(uintptr_t)(index * MAX_VECTORS + v), why,
			    len))
			return -1;

	for (unsigned v = 0; v < d->nvectors; v++) {
		uintptr_t e = d->msix_table + v * PCI_MSIX_ENTRY_SIZE;

		rt_write32(e + PCI_MSIX_ENTRY_CTRL, PCI_MSIX_ENTRY_CTRL_MASK);
		rt_write32(e + PCI_MSIX_ENTRY_ADDR_LO, (uint32_t)doorbell);
		rt_write32(e + PCI_MSIX_ENTRY_ADDR_HI,
			   (uint32_t)(doorbell >> 32));
		rt_write32(e + PCI_MSIX_ENTRY_DATA, v); /* the EventID */
	}
	ctrl = rt_read16(d->cfg + cap + PCI_MSIX_FLAGS);
	ctrl &= (uint16_t)~PCI_MSIX_FLAGS_MASKALL;
	ctrl |= PCI_MSIX_FLAGS_ENABLE;
	rt_write16(d->cfg + cap + PCI_MSIX_FLAGS, ctrl);
	for (unsigned v = 0; v < d->nvectors; v++)
		rt_write32(d->msix_table + v * PCI_MSIX_ENTRY_SIZE +
				   PCI_MSIX_ENTRY_CTRL,
			   0);
	d->msix = true;
	return 0;
}

static int dev_setup(struct dev *d, unsigned index, char *why, size_t len)
{
	uint64_t size;
	uint16_t cmd;
	unsigned cap;

	rt_snprintf(d->name, sizeof(d->name), "pci 00:%02x.%u", d->slot, d->fn);
	d->devid = (uint32_t)d->slot << 3 | d->fn; /* bus 0 */
	d->revision = rt_read8(d->cfg + PCI_REVISION_ID);
	d->regs = bar_probe(d, IVSHMEM_BAR_REGS, &size);
	if (!d->regs || size < 16 || d->regs + size > DEVICE_MAP_END) {
		rt_snprintf(why, len,
			    "%s: BAR0 (registers) unusable: 0x%llx, %llu "
			    "bytes (an assigned BAR below 1 GiB needed)",
			    d->name, (unsigned long long)d->regs,
			    (unsigned long long)size);
		return -1;
	}
	d->shm = bar_probe(d, IVSHMEM_BAR_SHM, &d->shm_size);
	if (!d->shm || !d->shm_size) {
		rt_snprintf(why, len,
			    "%s: BAR2 (shared memory) is not an assigned "
			    "memory BAR",
			    d->name);
		return -1;
	}
	cmd = rt_read16(d->cfg + PCI_COMMAND);
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
	       PCI_COMMAND_INTX_DISABLE;
	rt_write16(d->cfg + PCI_COMMAND, cmd);
	cap = find_msix(d);
	if (!cap)
		return 0; /* plain mode: no doorbells */
	return msix_setup(d, index, cap, why, len);
}

static uint32_t ivposition(const struct dev *d)
{
	return rt_read32((uintptr_t)d->regs + IVSHMEM_REG_IV_POSITION);
}

static void ring(struct dev *d, uint32_t peer, uint32_t vec)
{
	rt_write32((uintptr_t)d->regs + IVSHMEM_REG_DOORBELL,
		   IVSHMEM_DOORBELL(peer, vec));
	d->rung++;
}

/* ring=PEER[:VEC] */
static bool parse_ring(uint32_t *peer, uint32_t *vec)
{
	const char *v;
	size_t len;
	uint32_t n[2] = { 0, 0 };
	unsigned k = 0;

	if (!rt_cmdline_opt("ring", &v, &len) || !len)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (v[i] == ':') {
			if (++k > 1 || i == 0 || i + 1 == len)
				return false;
			continue;
		}
		if (v[i] < '0' || v[i] > '9' || n[k] > 0xffff)
			return false;
		n[k] = n[k] * 10 + (uint32_t)(v[i] - '0');
	}
	if (n[0] > 0xffff || n[1] > 0xffff)
		return false;
	*peer = n[0];
	*vec = n[1];
	return true;
}

static void report_doorbells(unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct dev *d = &devs[i];

		for (unsigned v = 0; v < d->nvectors; v++) {
			uint32_t c = d->count[v];

			for (uint32_t k = d->seen[v] + 1;
			     k <= c && k <= DOORBELL_LOG; k++)
				rt_printf("ivshmem%u: doorbell on vector %u "
					  "(#%u)\n",
					  i, v, k);
			d->seen[v] = c;
		}
	}
}

static void summary(unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct dev *d = &devs[i];

		rt_printf("ivshmem%u: doorbells in", i);
		for (unsigned v = 0; v < d->nvectors; v++)
			rt_printf(" v%u=%u", v, d->count[v]);
		if (!d->nvectors)
			rt_printf(" none (plain mode)");
		rt_printf(", %llu rung\n", (unsigned long long)d->rung);
	}
	rt_printf(
		"ivshmem: LPIs taken %llu (no handler %llu), interrupts %llu, "
		"spurious %llu\n",
		(unsigned long long)rt_lpi_count,
		(unsigned long long)rt_lpi_unhandled,
		(unsigned long long)rt_irq_count,
		(unsigned long long)rt_irq_spurious);
}

int main(void)
{
	uint64_t max = rt_cmdline_uint("ivshmem", MAX_DEVS);
	uint64_t count = rt_cmdline_uint("count", 0);
	uint64_t timeout = rt_cmdline_uint("timeout", 0);
	uint64_t hz = rt_cmdline_uint("hz", HZ_DEFAULT), next_ring = 0;
	uint32_t ring_peer = 0, ring_vec = 0;
	bool do_ring;
	unsigned n;
	int ret;
	char why[256];

	rt_puts("vmm ivshmem test guest (arm64)\n");
	if (max == 0 || max > MAX_DEVS || hz == 0 || hz > 10000) {
		rt_puts("ivshmem: bad option ivshmem= or hz=\n");
		return EXIT_NODEV;
	}
	do_ring = rt_cmdline_has("ring");
	if (do_ring && !parse_ring(&ring_peer, &ring_vec)) {
		rt_puts("ivshmem: bad option ring= (PEER[:VECTOR])\n");
		return EXIT_NODEV;
	}

	/* The ITS first: it needs no PCI, and a GICv2 VM has no ECAM. */
	ret = rt_its_init(why, sizeof(why));
	if (ret == RT_ITS_NO_GICV3 || ret == RT_ITS_NO_ITS) {
		rt_printf("ivshmem: no ITS: %s\n", why);
		return EXIT_NO_ITS;
	}
	if (ret) {
		rt_printf("ivshmem: ITS set-up failed: %s\n", why);
		return EXIT_INIT;
	}
	rt_printf("its: %s\n", rt_its_describe(why, sizeof(why)));

	n = scan((unsigned)max);
	if (!n) {
		rt_puts("ivshmem: no ivshmem device (1af4:1110) on PCI bus "
			"0\n");
		return EXIT_NODEV;
	}
	for (unsigned i = 0; i < n; i++) {
		struct dev *d = &devs[i];

		if (dev_setup(d, i, why, sizeof(why))) {
			rt_printf("ivshmem%u: %s\n", i, why);
			return EXIT_INIT;
		}
		if (d->msix)
			rt_snprintf(why, sizeof(why),
				    "msi-x %u vector%s -> ITS DeviceID 0x%x, "
				    "LPIs %u-%u",
				    d->nvectors, d->nvectors == 1 ? "" : "s",
				    d->devid, d->lpi0,
				    d->lpi0 + d->nvectors - 1);
		else
			rt_snprintf(why, sizeof(why), "no interrupts");
		rt_printf("ivshmem%u: %s rev %u, id %d, shm %llu KiB at "
			  "0x%llx (not mapped), %s mode, %s\n",
			  i, d->name, d->revision,
			  d->msix ? (int)ivposition(d) : 0,
			  (unsigned long long)(d->shm_size >> 10),
			  (unsigned long long)d->shm,
			  d->msix ? "doorbell" : "plain", why);
	}
	if (do_ring && !devs[0].msix) {
		rt_puts("ivshmem: ring= needs a device in doorbell mode\n");
		return EXIT_NODEV;
	}
	if (rt_timer_start((unsigned)hz, NULL, NULL)) {
		rt_puts("ivshmem: the timer did not start\n");
		return EXIT_INIT;
	}
	rt_printf("ivshmem: %u device%s, doorbell service running (MSI-X -> "
		  "ITS -> LPI, %llu Hz tick)\n",
		  n, n == 1 ? "" : "s", (unsigned long long)hz);

	for (;;) {
		doorbell_pending = false;
		report_doorbells(n);
		if (count && doorbells_total >= count) {
			rt_printf("ivshmem: %u doorbells arrived, done\n",
				  doorbells_total);
			summary(n);
			rt_poweroff();
		}
		if (timeout && rt_uptime_ms() >= timeout) {
			rt_printf("ivshmem: timeout after %llu ms\n",
				  (unsigned long long)timeout);
			summary(n);
			return EXIT_TIMEOUT;
		}
		if (do_ring && rt_uptime_ms() >= next_ring) {
			if (!next_ring)
				rt_printf("ivshmem0: ringing peer %u vector %u "
					  "every second\n",
					  ring_peer, ring_vec);
			ring(&devs[0], ring_peer, ring_vec);
			next_ring = rt_uptime_ms() + 1000;
		}
		/* Sleep until a doorbell or the next tick. */
		rt_irq_disable();
		if (doorbell_pending)
			rt_irq_enable();
		else
			rt_wait_irq();
	}
}
