/* SPDX-License-Identifier: MIT */
/*
 * ivshmem PCI driver and queue echo service (ivshmem.h). Written from
 * QEMU's docs/specs/ivshmem-spec.txt, the PCI Local Bus 3.0 specification
 * (configuration mechanism #1, BAR sizing 6.2.5.1, MSI-X 6.8.2) and the
 * Intel SDM Vol. 3A (MSI address/data 11.11, page-table entries 4.5).
 */
#include "ivshmem.h"
#include "cpu.h"
#include "virtio.h"
#include "virtio_hw.h"

#define MAX_CAPS   48 /* a capability list longer than this is a loop */
#define PT_PRESENT 0x001ull
#define PT_PWT	   0x008ull
#define PT_PCD	   0x010ull
#define PT_LARGE   0x080ull
#define PT_ADDR	   0x000ffffffffff000ull
#define PAGE_2M	   0x200000ull
#define GIB	   (1ull << 30)
#define MAP_LIMIT  (512 * GIB) /* what rt_pml4[0] covers */
#define ECHO_BATCH 256	       /* messages per rt_ivq_echo_poll() */

extern uint64_t rt_pml4[512]; /* start.S */

/* Interrupt routing: IDT vector -> (device, vector). */
static struct rt_ivshmem *vec_dev[RT_IVSHMEM_MAX_DEVS];

static uint32_t cfg_read(const struct rt_ivshmem *d, unsigned reg,
			 unsigned size)
{
	uint32_t v = vio_pci_read32(d->bus, d->dev, d->fn, (uint8_t)reg);

	v >>= 8 * (reg & 3);
	if (size == 1)
		return v & 0xff;
	if (size == 2)
		return v & 0xffff;
	return v;
}

static void cfg_write32(const struct rt_ivshmem *d, unsigned reg, uint32_t v)
{
	vio_pci_write32(d->bus, d->dev, d->fn, (uint8_t)reg, v);
}

/* Base address and size of memory BAR `bar` (64-bit BARs: both halves).
 * Sizing writes all-ones with memory decoding off, then restores. 0 if the
 * BAR is not a memory BAR or is unassigned. */
static uint64_t bar_probe(const struct rt_ivshmem *d, unsigned bar,
			  uint64_t *size)
{
	unsigned reg = PCI_BAR0 + 4 * bar;
	uint32_t lo, hi = 0, slo, shi = 0xffffffffu, cmd;
	bool is64;
	uint64_t mask;

	*size = 0;
	lo = cfg_read(d, reg, 4);
	if (lo & PCI_BAR_SPACE_IO)
		return 0;
	is64 = (lo & 0x6) == PCI_BAR_MEM_TYPE_64;
	if (is64 && bar + 1 >= PCI_NUM_BARS)
		return 0;
	if (is64)
		hi = cfg_read(d, reg + 4, 4);

	cmd = cfg_read(d, PCI_COMMAND, 2);
	cfg_write32(d, PCI_COMMAND, cmd & ~PCI_COMMAND_MEMORY);
	cfg_write32(d, reg, 0xffffffffu);
	slo = cfg_read(d, reg, 4);
	cfg_write32(d, reg, lo);
	if (is64) {
		cfg_write32(d, reg + 4, 0xffffffffu);
		shi = cfg_read(d, reg + 4, 4);
		cfg_write32(d, reg + 4, hi);
	} else {
		shi = 0xffffffffu; /* 32-bit: the size fits the low half */
	}
	cfg_write32(d, PCI_COMMAND, cmd);

	mask = ((uint64_t)shi << 32) | (slo & PCI_BAR_MEM_MASK);
	if (!is64)
		mask |= 0xffffffff00000000ull;
	*size = ~mask + 1;
	if (!(slo & PCI_BAR_MEM_MASK) || (*size & (*size - 1)))
		*size = 0; /* no BAR, or a nonsense size */
	return ((uint64_t)hi << 32) | (lo & PCI_BAR_MEM_MASK);
}

/* Write-back caching for the 2 MiB pages wholly inside [addr, addr+len):
 * they are RAM on the host side. Other pages keep the runtime's caching.
 * Returns the bytes switched. */
static uint64_t map_wb(uint64_t addr, uint64_t len)
{
	uint64_t *pdpt = (uint64_t *)(uintptr_t)(rt_pml4[0] & PT_ADDR);
	uint64_t start = (addr + PAGE_2M - 1) & ~(PAGE_2M - 1);
	uint64_t end = (addr + len) & ~(PAGE_2M - 1), done = 0;

	for (uint64_t p = start; p < end && p < MAP_LIMIT; p += PAGE_2M) {
		uint64_t pdpte = pdpt[p / GIB], *pd, *pde;

		if (!(pdpte & PT_PRESENT) || (pdpte & PT_LARGE))
			continue;
		pd = (uint64_t *)(uintptr_t)(pdpte & PT_ADDR);
		pde = &pd[(p % GIB) / PAGE_2M];
		if (!(*pde & PT_PRESENT) || !(*pde & PT_LARGE))
			continue;
		*pde &= ~(PT_PWT | PT_PCD);
		__asm__ volatile("invlpg (%0)"
				 :
				 : "r"((uintptr_t)p)
				 : "memory");
		done += PAGE_2M;
	}
	return done;
}

static void ivshmem_isr(void *arg)
{
	uintptr_t code = (uintptr_t)arg;
	unsigned slot = code / RT_IVSHMEM_MAX_VECTORS;
	unsigned v = code % RT_IVSHMEM_MAX_VECTORS;
	struct rt_ivshmem *d = vec_dev[slot];

	if (!d || v >= d->nvectors)
		return;
	d->count[v]++;
	__atomic_or_fetch(&d->pending, 1u << v, __ATOMIC_SEQ_CST);
	if (d->cb[v])
		d->cb[v](d->cb_arg[v]);
}

/* Find the MSI-X capability; 0 if none (plain mode). */
static unsigned find_msix(const struct rt_ivshmem *d)
{
	unsigned ptr;

	if (!(cfg_read(d, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST))
		return 0;
	ptr = cfg_read(d, PCI_CAP_PTR, 1) & 0xfc;
	for (unsigned n = 0; ptr && n < MAX_CAPS; n++) {
		if (ptr < PCI_CAP_START || ptr > PCI_CFG_SIZE - 4)
			return 0;
		if (cfg_read(d, ptr, 1) == PCI_CAP_ID_MSIX)
			return ptr;
		ptr = cfg_read(d, ptr + 1, 1) & 0xfc;
	}
	return 0;
}

static int msix_setup(struct rt_ivshmem *d, char *why, size_t len)
{
	uint32_t tbl, ctrl;
	uint64_t base, bsize;
	unsigned bir;

	d->msix_cap = (uint8_t)find_msix(d);
	if (!d->msix_cap)
		return 0;
	d->table_size = (cfg_read(d, d->msix_cap + PCI_MSIX_FLAGS, 2) &
			 PCI_MSIX_FLAGS_QSIZE) +
			1;
	tbl = cfg_read(d, d->msix_cap + PCI_MSIX_TABLE, 4);
	bir = tbl & PCI_MSIX_BIR_MASK;
	if (bir >= PCI_NUM_BARS) {
		rt_snprintf(why, len, "%s: MSI-X table in BAR %u", d->name,
			    bir);
		return -1;
	}
	base = bar_probe(d, bir, &bsize);
	if (!base || !bsize ||
	    (uint64_t)(tbl & ~PCI_MSIX_BIR_MASK) +
			    (uint64_t)d->table_size * PCI_MSIX_ENTRY_SIZE >
		    bsize) {
		rt_snprintf(why, len, "%s: MSI-X table outside BAR %u", d->name,
			    bir);
		return -1;
	}
	d->msix_table = base + (tbl & ~PCI_MSIX_BIR_MASK);
	if (rt_virtio_map(d->msix_table, d->table_size * PCI_MSIX_ENTRY_SIZE)) {
		rt_snprintf(why, len, "%s: cannot map the MSI-X table",
			    d->name);
		return -1;
	}
	d->nvectors = d->table_size < RT_IVSHMEM_MAX_VECTORS
			      ? d->table_size
			      : RT_IVSHMEM_MAX_VECTORS;

	vec_dev[d->slot] = d;
	rt_irq_init();
	for (unsigned v = 0; v < d->nvectors; v++) {
		unsigned code = d->slot * RT_IVSHMEM_MAX_VECTORS + v;
		uint64_t e = d->msix_table + v * PCI_MSIX_ENTRY_SIZE;

		rt_vector_attach(RT_IVSHMEM_VEC_BASE + code, ivshmem_isr,
				 (void *)(uintptr_t)code);
		vio_write32(e + PCI_MSIX_ENTRY_CTRL, PCI_MSIX_ENTRY_CTRL_MASK);
		vio_write32(e + PCI_MSIX_ENTRY_ADDR_LO,
			    ABI_LAPIC_BASE | (rt_lapic_id() << 12));
		vio_write32(e + PCI_MSIX_ENTRY_ADDR_HI, 0);
		vio_write32(e + PCI_MSIX_ENTRY_DATA,
			    RT_IVSHMEM_VEC_BASE + code);
	}
	ctrl = vio_pci_read32(d->bus, d->dev, d->fn, d->msix_cap);
	ctrl &= ~((uint32_t)PCI_MSIX_FLAGS_MASKALL << 16);
	ctrl |= (uint32_t)PCI_MSIX_FLAGS_ENABLE << 16;
	cfg_write32(d, d->msix_cap, ctrl);
	for (unsigned v = 0; v < d->nvectors; v++)
		vio_write32(d->msix_table + v * PCI_MSIX_ENTRY_SIZE +
				    PCI_MSIX_ENTRY_CTRL,
			    0);
	d->msix = true;
	return 0;
}

static bool is_ivshmem(uint32_t id)
{
	return id == (IVSHMEM_VENDOR_ID | (uint32_t)IVSHMEM_DEVICE_ID << 16);
}

/* Call fn for each ivshmem function on bus 0 until it returns true; the
 * number of functions seen. */
static unsigned scan(bool (*fn)(uint8_t dev, uint8_t f, unsigned n, void *arg),
		     void *arg)
{
	unsigned n = 0;

	for (unsigned dev = 0; dev < PCI_SLOTS; dev++) {
		unsigned nfn = 1;

		for (unsigned f = 0; f < nfn; f++) {
			uint32_t id = vio_pci_read32(0, (uint8_t)dev,
						     (uint8_t)f, PCI_VENDOR_ID);

			if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0)
				continue;
			if (f == 0 &&
			    (vio_pci_read32(0, (uint8_t)dev, 0, 0x0c) >> 16) &
				    PCI_HEADER_MULTI_FUNCTION)
				nfn = 8;
			if (!is_ivshmem(id))
				continue;
			if (fn && fn((uint8_t)dev, (uint8_t)f, n, arg))
				return n + 1;
			n++;
		}
	}
	return n;
}

unsigned rt_ivshmem_count(void)
{
	return scan(NULL, NULL);
}

struct pick {
	unsigned nth;
	uint8_t dev, fn;
	bool found;
};

static bool pick_nth(uint8_t dev, uint8_t f, unsigned n, void *arg)
{
	struct pick *p = arg;

	if (n != p->nth)
		return false;
	p->dev = dev;
	p->fn = f;
	p->found = true;
	return true;
}

int rt_ivshmem_find(struct rt_ivshmem *d, unsigned nth, char *why, size_t len)
{
	struct pick p = { .nth = nth };
	uint64_t size;
	uint32_t cmd;
	unsigned n;

	memset(d, 0, sizeof(*d));
	if (nth >= RT_IVSHMEM_MAX_DEVS) {
		rt_snprintf(why, len, "at most %u ivshmem devices",
			    RT_IVSHMEM_MAX_DEVS);
		return -1;
	}
	n = scan(pick_nth, &p);
	if (!p.found) {
		rt_snprintf(why, len,
			    "no ivshmem device %u on PCI bus 0 (%u found)", nth,
			    n);
		return -1;
	}
	d->dev = p.dev;
	d->fn = p.fn;
	d->slot = nth;
	rt_snprintf(d->name, sizeof(d->name), "pci 00:%02x.%u", p.dev, p.fn);
	d->revision = (uint8_t)cfg_read(d, PCI_REVISION_ID, 1);

	d->regs = bar_probe(d, IVSHMEM_BAR_REGS, &size);
	if (!d->regs || size < 16 || rt_virtio_map(d->regs, 16)) {
		rt_snprintf(why, len, "%s: BAR0 (registers) unusable", d->name);
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
	if (rt_virtio_map(d->shm, d->shm_size)) {
		rt_snprintf(why, len,
			    "%s: cannot map BAR2 at 0x%llx (%llu bytes)",
			    d->name, (unsigned long long)d->shm,
			    (unsigned long long)d->shm_size);
		return -1;
	}
	d->shm_wb = map_wb(d->shm, d->shm_size);

	cmd = cfg_read(d, PCI_COMMAND, 2);
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
	       PCI_COMMAND_INTX_DISABLE;
	cfg_write32(d, PCI_COMMAND, cmd);
	return msix_setup(d, why, len);
}

int32_t rt_ivshmem_id(const struct rt_ivshmem *d)
{
	return (int32_t)vio_read32(d->regs + IVSHMEM_REG_IV_POSITION);
}

void rt_ivshmem_ring(const struct rt_ivshmem *d, uint16_t peer, uint16_t vector)
{
	vio_write32(d->regs + IVSHMEM_REG_DOORBELL,
		    IVSHMEM_DOORBELL(peer, vector));
}

uint32_t rt_ivshmem_take(struct rt_ivshmem *d)
{
	return __atomic_exchange_n(&d->pending, 0, __ATOMIC_SEQ_CST);
}

void rt_ivshmem_on_vector(struct rt_ivshmem *d, unsigned v, rt_ivshmem_fn fn,
			  void *arg)
{
	uint64_t flags;

	if (v >= RT_IVSHMEM_MAX_VECTORS)
		return;
	flags = cpu_irq_save();
	d->cb[v] = fn;
	d->cb_arg[v] = arg;
	cpu_irq_restore(flags);
}

const char *rt_ivshmem_irq_mode(const struct rt_ivshmem *d, char *buf,
				size_t len)
{
	unsigned first = RT_IVSHMEM_VEC_BASE + d->slot * RT_IVSHMEM_MAX_VECTORS;

	if (!d->msix)
		rt_snprintf(buf, len, "polling");
	else if (d->nvectors == 1)
		rt_snprintf(buf, len, "msi-x vector 0x%x", first);
	else
		rt_snprintf(buf, len, "msi-x vectors 0x%x-0x%x", first,
			    first + d->nvectors - 1);
	return buf;
}

/* ---- echo service ---- */

static struct ivq_header *echo_hdr(const struct rt_ivq_echo *e)
{
	return (struct ivq_header *)(uintptr_t)(e->dev->shm + e->offset);
}

/* Pong: ring side A back on the vector that rang (interrupt context). The
 * header is read directly, so it works before we attach. */
static void echo_pong(void *arg)
{
	struct rt_ivq_echo *e = arg;
	const struct ivq_header *h = echo_hdr(e);
	uint32_t peer;

	if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != IVQ_MAGIC)
		return;
	peer = __atomic_load_n(&h->peer[IVQ_SIDE_A], __ATOMIC_RELAXED);
	if (peer > IVQ_MAX_PEER)
		return;
	rt_ivshmem_ring(e->dev, (uint16_t)peer, RT_IVSHMEM_PONG_VECTOR);
	e->pongs++;
}

void rt_ivq_echo_init(struct rt_ivq_echo *e, struct rt_ivshmem *d,
		      unsigned index, uint64_t offset, unsigned log_max)
{
	memset(e, 0, sizeof(*e));
	e->dev = d;
	e->index = index;
	e->offset = offset;
	e->log_max = log_max;
	e->id = d->msix ? rt_ivshmem_id(d) : -1;
	if (d->msix && d->nvectors > RT_IVSHMEM_PONG_VECTOR &&
	    offset + IVQ_HEADER_SIZE <= d->shm_size)
		rt_ivshmem_on_vector(d, RT_IVSHMEM_PONG_VECTOR, echo_pong, e);
}

static void echo_ring(struct rt_ivq_echo *e)
{
	uint16_t vec;
	uint32_t peer = ivq_other_peer(&e->q, &vec);

	if (peer == IVQ_NO_PEER || !e->dev->msix)
		return;
	rt_ivshmem_ring(e->dev, (uint16_t)peer, vec);
	e->rings++;
}

static void echo_attach(struct rt_ivq_echo *e)
{
	struct rt_ivshmem *d = e->dev;
	char peer[24];
	uint32_t me = e->id >= 0 && (uint32_t)e->id <= IVQ_MAX_PEER
			      ? (uint32_t)e->id
			      : IVQ_NO_PEER;
	int err;

	if (e->offset >= d->shm_size)
		return;
	if (e->broken && ivq_load(&echo_hdr(e)->generation) == e->broken_gen)
		return; /* reported; wait for a new generation */
	err = ivq_attach(&e->q, echo_hdr(e), d->shm_size - e->offset,
			 IVQ_SIDE_B, me, RT_IVSHMEM_QUEUE_VECTOR);
	if (err == IVQ_EAGAIN)
		return;
	if (err) {
		if (!e->broken)
			rt_printf("ivshmem%u: queue header at offset 0x%llx "
				  "is invalid (%d): waiting for a new one\n",
				  e->index, (unsigned long long)e->offset, err);
		e->broken = true;
		e->broken_gen = ivq_load(&echo_hdr(e)->generation);
		return;
	}
	e->broken = false;
	e->attached = true;
	e->seq = 0;
	if (me == IVQ_NO_PEER)
		rt_snprintf(peer, sizeof(peer), "none (polling)");
	else
		rt_snprintf(peer, sizeof(peer), "%u", me);
	rt_printf("ivshmem%u: queue attached: generation %u, rings %u/%u "
		  "bytes, our peer ID %s\n",
		  e->index, e->q.generation, e->q.rx.size, e->q.tx.size, peer);
}

static void print_msg(struct rt_ivq_echo *e, uint32_t tag, uint32_t len)
{
	uint32_t show = len < 48 ? len : 48;

	rt_printf("ivshmem%u: message tag %u len %u \"", e->index, tag, len);
	for (uint32_t i = 0; i < show; i++) {
		uint8_t c = e->buf[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			rt_putc((char)c);
		else
			rt_printf("\\x%02x", c);
	}
	rt_printf("%s\" -> echo seq %u\n", show < len ? "..." : "", e->seq);
}

static void echo_broken(struct rt_ivq_echo *e, int err)
{
	if (err == IVQ_ESTALE) { /* re-initialised: attach again */
		e->attached = false;
		return;
	}
	ivq_release(&e->q);
	rt_printf("ivshmem%u: queue %s (%d) after %u echoes: waiting for a "
		  "new generation\n",
		  e->index,
		  err == IVQ_EPROTO ? "corrupted by the other side" : "error",
		  err, e->seq);
	e->attached = false;
	e->broken = true;
	e->broken_gen = e->q.generation;
}

unsigned rt_ivq_echo_poll(struct rt_ivq_echo *e)
{
	unsigned flags = 0;
	int32_t id;
	int err;

	/* IVPosition is a register read (a VM exit): once per tick. */
	if (e->dev->msix && rt_ticks() != e->id_tick) {
		e->id_tick = rt_ticks();
		id = rt_ivshmem_id(e->dev);
		if (id != e->id) {
			rt_printf("ivshmem%u: peer ID now %d (was %d)\n",
				  e->index, id, e->id);
			e->id = id;
			e->attached = false; /* re-attach: header gets it */
		}
	}
	if (!e->attached)
		echo_attach(e);
	/* Bounded per call; the caller comes back at once (arm says busy). */
	for (unsigned n = 0; e->attached && n < ECHO_BATCH; n++) {
		uint32_t len, tag, need;
		bool wake;

		err = ivq_peek(&e->q, &len, &tag);
		if (err == IVQ_EAGAIN)
			break;
		if (err == IVQ_ESTALE) {
			e->attached = false;
			echo_attach(e);
			continue;
		}
		if (err) {
			echo_broken(e, err);
			break;
		}
		if (len > sizeof(e->buf)) {
			ivq_discard(&e->q, &wake);
			if (wake)
				echo_ring(e);
			e->dropped++;
			rt_printf("ivshmem%u: message of %u bytes dropped "
				  "(longer than %u)\n",
				  e->index, len, (unsigned)sizeof(e->buf));
			continue;
		}
		/* Room for the answer first, so nothing is lost. */
		need = ivq_align8(IVQ_REC_HDR + len);
		if (ivq_tx_free(&e->q) < need)
			break;
		err = ivq_recv(&e->q, &tag, e->buf, sizeof(e->buf), &len,
			       &wake);
		if (err) {
			echo_broken(e, err);
			break;
		}
		if (wake)
			echo_ring(e);
		e->seq++;
		e->echoed++;
		if (e->seq <= e->log_max)
			print_msg(e, tag, len);
		err = ivq_send(&e->q, e->seq, e->buf, len, &wake);
		if (err) {
			echo_broken(e, err);
			break;
		}
		if (wake)
			echo_ring(e);
		if (len == 4 && !memcmp(e->buf, "quit", 4)) {
			rt_printf("ivshmem%u: quit after %u echoes\n", e->index,
				  e->seq);
			flags |= RT_IVQ_ECHO_QUIT;
			break;
		}
	}
	return flags;
}

bool rt_ivq_echo_arm(struct rt_ivq_echo *e)
{
	uint32_t len, tag;

	if (!e->attached)
		return false;
	/* Waiting for room for an answer? Then ask for that doorbell. */
	if (ivq_peek(&e->q, &len, &tag) == 0 && len <= sizeof(e->buf))
		return ivq_arm_tx(&e->q, len);
	return ivq_arm_rx(&e->q);
}

bool rt_ivq_echo_needs_tick(const struct rt_ivq_echo *e)
{
	return !e->attached || !e->dev->msix;
}

void rt_ivq_echo_describe(struct rt_ivq_echo *e, char *buf, size_t len)
{
	struct ivq *q = &e->q;
	uint32_t rlen = 0, tag = 0;
	int peek;

	if (!e->attached) {
		rt_snprintf(buf, len, "not attached%s",
			    e->broken ? " (waiting for a new generation)" : "");
		return;
	}
	peek = ivq_peek(q, &rlen, &tag);
	rt_snprintf(buf, len,
		    "generation %u, rx pos %u head %u, tx pos %u tail %u "
		    "free %u, next: %d (len %u)%s%s",
		    q->generation, q->rx.pos, ivq_load(&q->rx.ctl->head),
		    q->tx.pos, ivq_load(&q->tx.ctl->tail), ivq_tx_free(q), peek,
		    rlen, q->rx.broken ? ", rx broken" : "",
		    q->tx.broken ? ", tx broken" : "");
}
