/* SPDX-License-Identifier: MIT */
/*
 * The PCI host bridge and a PCI function (devices/pci.c) on the fake VM of
 * the unit tests: config space through ECAM and the type-1 ports, BAR
 * accesses inside the windows, MSI-X. The function has an I/O BAR (0), a
 * 32-bit BAR with the MSI-X table and PBA (1, 4 vectors), a 64-bit handler
 * BAR (2) and a 64-bit RAM BAR (4), and two vendor capabilities, one with
 * an access hook. The input is a program of operations:
 *
 *   op byte   bits 6-7 kind, then:
 *     0 ECAM    3 bytes offset (20 bits: bus 0's 1 MiB), size 1 << (bits
 *               0-1), write if bit 2 (then `size` value bytes)
 *     1 type-1  port 0xcf8 + (bits 0-2), size 1 << (bits 3-4), write if
 *               bit 5 (then `size` value bytes)
 *     2 BAR     BAR (bits 0-2, 0-5) at its current address (or the start
 *               of its window if it does not decode) + a 2-byte offset,
 *               size 1 << (bits 3-4), write if bit 5 (then value bytes)
 *     3 other   bits 0-1: 0 pci_msix_notify(bits 2-4), 1 a write to the
 *               irqfd of vector (bits 2-4) (made on first use), 2
 *               pci_dev_reset(), 3 a config write of the command register
 *               (next byte)
 *
 * At most FUZZ_MAX_OPS operations run. After each one: the read-only
 * header reads as created; each BAR's decode state agrees with what the
 * device was told through bar_map(); the RAM BAR is a memory slot exactly
 * while it decodes; an irqfd is attached only to its vector's route, which
 * is then set and unmasked.
 */
#include <sys/eventfd.h>

#include "devices/abi/x86_pc.h"
#include "devices/pci.h"
#include "fake_vm.h"
#include "fuzz_util.h"

#define FUZZ_MAX_OPS 4096
#define NVEC	     4

static void *ram;

struct pci_run {
	struct vm *vm;
	struct pci_dev *pd;
	bool told[PCI_NUM_BARS]; /* bar_map() state */
	uint64_t told_addr[PCI_NUM_BARS];
	int efd[NVEC];
};

static enum bus_status bar_io(void *opaque, uint64_t off, uint8_t *data,
			      unsigned size, bool is_write)
{
	(void)opaque;
	if (!is_write)
		bus_put(data, size, off);
	return BUS_OK;
}

static void bar_map(void *opaque, unsigned bar, uint64_t addr, bool mapped)
{
	struct pci_run *r = opaque;

	FUZZ_CHECK(bar < PCI_NUM_BARS, "bar_map of BAR%u", bar);
	FUZZ_CHECK(r->told[bar] != mapped,
		   "BAR%u: mapped twice or unmapped "
		   "twice",
		   bar);
	if (!mapped)
		FUZZ_CHECK(r->told_addr[bar] == addr,
			   "BAR%u unmapped at 0x%llx, was at 0x%llx", bar,
			   (unsigned long long)addr,
			   (unsigned long long)r->told_addr[bar]);
	r->told[bar] = mapped;
	r->told_addr[bar] = addr;
}

static void cap_hook(void *opaque, uint8_t *cap, unsigned off, uint8_t *data,
		     unsigned size, bool is_write)
{
	(void)opaque;
	FUZZ_CHECK(off + size <= 20, "hook access %u+%u past the cap", off,
		   size);
	if (!is_write)
		memcpy(data, cap + off, size);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_ERR);
	ram = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED)
		abort();
	return 0;
}

static void setup(struct pci_run *r)
{
	static const uint8_t vcap[16] = { PCI_CAP_ID_VNDR, 0, 16, 1 };
	static const uint8_t hcap[20] = { PCI_CAP_ID_VNDR, 0, 20, 5 };
	static const uint8_t hmask[20] = {
		[4] = 0xff,  [8] = 0xff,  [16] = 0xff,
		[17] = 0xff, [18] = 0xff, [19] = 0xff
	};
	struct device dev = { .name = "fuzz" };
	struct pci_dev_info info = { .vendor_id = 0x1af4,
				     .device_id = 0x1041,
				     .class_code = 0x020000,
				     .bar_map = bar_map,
				     .opaque = r };
	struct pci_bar_info io = { .kind = PCI_BAR_IO,
				   .size = 32,
				   .fn = bar_io };
	struct pci_bar_info m32 = { .kind = PCI_BAR_MEM32,
				    .size = 8192,
				    .fn = bar_io };
	struct pci_bar_info m64 = { .kind = PCI_BAR_MEM64,
				    .size = 16384,
				    .prefetchable = true,
				    .fn = bar_io };
	struct pci_bar_info rb = { .kind = PCI_BAR_MEM64,
				   .size = 4096,
				   .ram = ram };

	for (unsigned v = 0; v < NVEC; v++)
		r->efd[v] = -1;
	r->vm = fake_vm_new();
	if (pci_host_create(r->vm, &pci_layout_x86, NULL) ||
	    pci_dev_new(r->vm, &dev, &info, &r->pd) ||
	    pci_bar_add(r->pd, 0, &io) || pci_bar_add(r->pd, 1, &m32) ||
	    pci_bar_add(r->pd, 2, &m64) || pci_bar_add(r->pd, 4, &rb) ||
	    pci_cap_add(r->pd, vcap, sizeof(vcap), NULL, NULL, NULL) < 0 ||
	    pci_cap_add(r->pd, hcap, sizeof(hcap), hmask, cap_hook, NULL) < 0 ||
	    pci_msix_init(r->pd, NVEC, 1, 0x1000, 0x1800) ||
	    pci_dev_plug(r->pd))
		fuzz_fail("setup failed");
}

static void guest_access(struct pci_run *r, struct fuzz_in *in, bool pio,
			 uint64_t addr, unsigned size, bool is_write)
{
	uint8_t val[8];

	if (is_write)
		for (unsigned i = 0; i < size; i++)
			val[i] = fuzz_u8(in);
	bus_access(pio ? &r->vm->pio : &r->vm->mmio, addr, val, size, is_write);
}

static void run_op(struct pci_run *r, struct fuzz_in *in)
{
	uint8_t op = fuzz_u8(in);
	uint64_t v, addr;
	unsigned n;
	uint8_t val[2];

	switch (op >> 6) {
	case 0:
		v = fuzz_le(in, 3) & 0xfffff;
		guest_access(r, in, false, ABI_PCI_ECAM_BASE + v,
			     1u << (op & 3), op & 4);
		break;
	case 1:
		guest_access(r, in, true, ABI_PCI_CONFIG_ADDRESS + (op & 7),
			     1u << ((op >> 3) & 3), op & 0x20);
		break;
	case 2:
		n = (op & 7) % PCI_NUM_BARS;
		addr = pci_bar_addr(r->pd, n);
		if (!addr)
			addr = n == 0	? ABI_PCI_IO_BASE
			       : n == 1 ? ABI_PCI_MMIO32_BASE
					: ABI_PCI_MMIO64_BASE;
		addr += fuzz_le(in, 2);
		guest_access(r, in, n == 0, addr, 1u << ((op >> 3) & 3),
			     op & 0x20);
		break;
	default:
		n = ((op >> 2) & 7) % NVEC;
		switch (op & 3) {
		case 0:
			pci_msix_notify(r->pd, n);
			break;
		case 1: {
			uint64_t one = 1;

			if (r->efd[n] < 0)
				r->efd[n] = pci_msix_irqfd(r->pd, n);
			FUZZ_CHECK(r->efd[n] >= 0, "no irqfd: %d", r->efd[n]);
			if (write(r->efd[n], &one, sizeof(one)) < 0)
				abort();
			break;
		}
		case 2:
			pci_dev_reset(r->pd);
			break;
		default:
			val[0] = fuzz_u8(in);
			val[1] = 0;
			bus_access(&r->vm->mmio,
				   ABI_PCI_ECAM_BASE +
					   PCI_ECAM_OFFSET(0, 1, 0) +
					   PCI_COMMAND,
				   val, 2, true);
			break;
		}
		break;
	}
}

static void check(struct pci_run *r)
{
	uint64_t ecam = ABI_PCI_ECAM_BASE + PCI_ECAM_OFFSET(0, 1, 0);
	uint64_t ram_at = pci_bar_addr(r->pd, 4);
	const struct fake_mem_map *m;

	FUZZ_CHECK(fake_vm_mmio_read(r->vm, ecam, 4) ==
			   (0x1041u << 16 | 0x1af4),
		   "vendor/device changed");
	FUZZ_CHECK(fake_vm_mmio_read(r->vm, ABI_PCI_ECAM_BASE, 2) ==
			   PCI_HOST_VENDOR_ID,
		   "host bridge vendor changed");
	for (unsigned n = 0; n < PCI_NUM_BARS; n++) {
		uint64_t a = pci_bar_addr(r->pd, n);

		FUZZ_CHECK(r->told[n] == (a != 0),
			   "BAR%u decodes at 0x%llx, device told %d", n,
			   (unsigned long long)a, r->told[n]);
		FUZZ_CHECK(!a || a == r->told_addr[n],
			   "BAR%u at 0x%llx, device told 0x%llx", n,
			   (unsigned long long)a,
			   (unsigned long long)r->told_addr[n]);
	}
	m = ram_at ? fake_vm_map_at(r->vm, ram_at) : NULL;
	FUZZ_CHECK(!ram_at || (m && m->gpa == ram_at && m->hva == ram),
		   "RAM BAR decodes at 0x%llx without its slot",
		   (unsigned long long)ram_at);
	for (unsigned i = 0; i < FAKE_VM_MAPS; i++)
		FUZZ_CHECK(!r->vm->maps[i].used ||
				   (ram_at && r->vm->maps[i].gpa == ram_at),
			   "stale memory slot at 0x%llx",
			   (unsigned long long)r->vm->maps[i].gpa);
	for (unsigned i = 0; i < r->vm->nr_irqfds; i++) {
		unsigned gsi = r->vm->irqfds[i].gsi;
		const struct fake_msi_route *rt = fake_vm_msi_route(r->vm, gsi);
		bool ours = false;

		for (unsigned v = 0; v < NVEC; v++)
			ours |= r->efd[v] == r->vm->irqfds[i].efd &&
				gsi == FAKE_VM_MSI_BASE + v;
		FUZZ_CHECK(ours, "irqfd %d on GSI %u is not its vector's",
			   r->vm->irqfds[i].efd, gsi);
		FUZZ_CHECK(rt && rt->valid && !rt->masked,
			   "irqfd attached to a masked or unset route (GSI %u)",
			   gsi);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct pci_run r = { 0 };

	setup(&r);
	check(&r);
	for (unsigned i = 0; i < FUZZ_MAX_OPS && in.n; i++) {
		run_op(&r, &in);
		check(&r);
	}
	fuzz_log("pci: %u MSIs signalled, %u map calls\n", r.vm->nr_signaled,
		 r.vm->map_calls);
	pci_dev_free(r.pd);
	FUZZ_CHECK(r.vm->nr_irqfds == 0, "irqfds left after free");
	for (unsigned v = 0; v < NVEC; v++)
		FUZZ_CHECK(!fake_vm_msi_route(r.vm, FAKE_VM_MSI_BASE + v),
			   "route %u left after free", v);
	fake_vm_free(r.vm);
	return 0;
}
