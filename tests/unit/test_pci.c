/* SPDX-License-Identifier: MIT */
/*
 * The PCI host bridge and PCI functions (devices/pci.c) on the fake VM:
 * config space through ECAM and the type-1 ports, BAR sizing, moves and
 * decode, RAM BARs, capabilities, MSI-X, guest-controlled offsets.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dev_cfg.h"
#include "devices/abi/pci.h"
#include "devices/abi/x86_pc.h"
#include "devices/pci.h"
#include "fake_vm.h"

/* ---- a test device: BAR0 I/O 32, BAR1 MEM32 4K (MSI-X), BAR2 MEM64 16K
 * prefetchable, BAR4 MEM64 RAM 64K ---- */

struct access {
	unsigned bar;
	uint64_t off;
	unsigned size;
	bool is_write;
	uint64_t val;
};

struct mapev {
	unsigned bar;
	uint64_t addr;
	bool mapped;
};

struct tdev {
	struct pci_dev *pd;
	struct access last;
	unsigned accesses;
	struct mapev maps[64];
	unsigned nr_maps;
	void *ram;
};

struct bar_ctx {
	struct tdev *t;
	unsigned bar;
};

static struct vm *vm;
static struct tdev td;
static struct bar_ctx ctx[PCI_NUM_BARS];

static enum bus_status tbar_io(void *opaque, uint64_t off, uint8_t *data,
			       unsigned size, bool is_write)
{
	struct bar_ctx *c = opaque;

	c->t->accesses++;
	c->t->last = (struct access){ c->bar, off, size, is_write,
				      is_write ? bus_get(data, size) : 0 };
	if (!is_write)
		bus_put(data, size, 0x1000 * c->bar + off);
	return BUS_OK;
}

static void tmap(void *opaque, unsigned bar, uint64_t addr, bool mapped)
{
	struct tdev *t = opaque;

	cr_assert_lt(t->nr_maps, 64);
	t->maps[t->nr_maps++] = (struct mapev){ bar, addr, mapped };
}

#define SLOT	  1
#define IO_SIZE	  32
#define M32_SIZE  4096
#define M64_SIZE  16384
#define RAM_SIZE  65536
#define NVEC	  4
#define TABLE_OFF 0x800
#define PBA_OFF	  0xc00

static uint8_t vcap1[] = { PCI_CAP_ID_VNDR,
			   0,
			   16,
			   1,
			   0,
			   0,
			   0,
			   0,
			   0xaa,
			   0xbb,
			   0xcc,
			   0xdd,
			   1,
			   2,
			   3,
			   4 };
static uint8_t vcap2[] = { PCI_CAP_ID_VNDR,
			   0,
			   20,
			   5,
			   0,
			   0,
			   0,
			   0,
			   0,
			   0,
			   0,
			   0,
			   0,
			   0,
			   0,
			   0,
			   0,
			   0,
			   0,
			   0 };
static uint8_t vcap2_wmask[20] = {
	[4] = 0xff, [16] = 0xff, [17] = 0xff, [18] = 0xff, [19] = 0xff
};
static int vcap2_off;
static unsigned hook_calls;
static unsigned hook_last_off, hook_last_size;
static bool hook_last_write;

/* Like virtio's pci_cfg capability: bytes 16-19 read back 0x55 << byte. */
static void vcap2_hook(void *opaque, uint8_t *cap, unsigned off, uint8_t *data,
		       unsigned size, bool is_write)
{
	(void)opaque;
	hook_calls++;
	hook_last_off = off;
	hook_last_size = size;
	hook_last_write = is_write;
	cr_assert_eq(cap[0], PCI_CAP_ID_VNDR);
	if (!is_write && off >= 16)
		for (unsigned i = 0; i < size; i++)
			data[i] = (uint8_t)(0x50 + off + i);
}

static void add_bars(struct tdev *t)
{
	struct pci_bar_info io = { .kind = PCI_BAR_IO,
				   .size = IO_SIZE,
				   .fn = tbar_io,
				   .opaque = &ctx[0] };
	struct pci_bar_info m32 = { .kind = PCI_BAR_MEM32,
				    .size = M32_SIZE,
				    .fn = tbar_io,
				    .opaque = &ctx[1] };
	struct pci_bar_info m64 = { .kind = PCI_BAR_MEM64,
				    .size = M64_SIZE,
				    .prefetchable = true,
				    .fn = tbar_io,
				    .opaque = &ctx[2] };
	struct pci_bar_info ram = { .kind = PCI_BAR_MEM64,
				    .size = RAM_SIZE,
				    .prefetchable = true };

	t->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(t->ram, MAP_FAILED);
	ram.ram = t->ram;
	for (unsigned i = 0; i < PCI_NUM_BARS; i++)
		ctx[i] = (struct bar_ctx){ t, i };
	cr_assert_eq(pci_bar_add(t->pd, 0, &io), 0);
	cr_assert_eq(pci_bar_add(t->pd, 1, &m32), 0);
	cr_assert_eq(pci_bar_add(t->pd, 2, &m64), 0);
	cr_assert_eq(pci_bar_add(t->pd, 4, &ram), 0);
}

static void create_tdev(bool plug)
{
	struct device dev = { .name = "tdev" };
	struct pci_dev_info info = {
		.vendor_id = 0x1af4,
		.device_id = 0x1041,
		.subsys_vendor_id = 0x1af4,
		.subsys_id = 0x0001,
		.revision = 1,
		.class_code = 0x020000,
		.bar_map = tmap,
		.opaque = &td,
	};

	memset(&td, 0, sizeof(td));
	cr_assert_eq(pci_dev_new(vm, &dev, &info, &td.pd), 0);
	add_bars(&td);
	cr_assert_geq(
		pci_cap_add(td.pd, vcap1, sizeof(vcap1), NULL, NULL, NULL),
		PCI_CAP_START);
	vcap2_off = pci_cap_add(td.pd, vcap2, sizeof(vcap2), vcap2_wmask,
				vcap2_hook, NULL);
	cr_assert_gt(vcap2_off, PCI_CAP_START);
	cr_assert_eq(pci_msix_init(td.pd, NVEC, 1, TABLE_OFF, PBA_OFF), 0);
	if (plug)
		cr_assert_eq(pci_dev_plug(td.pd), 0);
}

static void setup(void)
{
	vm = fake_vm_new();
	cr_assert_eq(pci_host_create(vm, &pci_layout_x86, NULL), 0);
	hook_calls = 0;
	create_tdev(true);
}

static void teardown(void)
{
	pci_dev_free(td.pd);
	munmap(td.ram, RAM_SIZE);
	fake_vm_free(vm);
	vm = NULL;
}

/* ---- config access helpers ---- */

static uint32_t ecam_rd(unsigned dev, unsigned fn, unsigned reg, unsigned size)
{
	return (uint32_t)fake_vm_mmio_read(
		vm, ABI_PCI_ECAM_BASE + PCI_ECAM_OFFSET(0, dev, fn) + reg,
		size);
}

static void ecam_wr(unsigned dev, unsigned fn, unsigned reg, unsigned size,
		    uint32_t v)
{
	fake_vm_mmio_write(
		vm, ABI_PCI_ECAM_BASE + PCI_ECAM_OFFSET(0, dev, fn) + reg, size,
		v);
}

static uint32_t t1_rd(unsigned bus, unsigned dev, unsigned reg, unsigned size)
{
	fake_vm_pio_write(vm, ABI_PCI_CONFIG_ADDRESS, 4,
			  PCI_CONFIG_ADDR(bus, dev, 0u, reg));
	return (uint32_t)fake_vm_pio_read(vm, ABI_PCI_CONFIG_DATA + (reg & 3),
					  size);
}

static void t1_wr(unsigned dev, unsigned reg, unsigned size, uint32_t v)
{
	fake_vm_pio_write(vm, ABI_PCI_CONFIG_ADDRESS, 4,
			  PCI_CONFIG_ADDR(0u, dev, 0u, reg));
	fake_vm_pio_write(vm, ABI_PCI_CONFIG_DATA + (reg & 3), size, v);
}

static uint32_t cfg_rd(unsigned reg, unsigned size)
{
	return ecam_rd(SLOT, 0, reg, size);
}

static void cfg_wr(unsigned reg, unsigned size, uint32_t v)
{
	ecam_wr(SLOT, 0, reg, size, v);
}

static uint64_t bar_reg_addr(unsigned n)
{
	uint32_t lo = cfg_rd(PCI_BAR0 + 4 * n, 4);

	if (lo & PCI_BAR_SPACE_IO)
		return lo & PCI_BAR_IO_MASK;
	if (lo & PCI_BAR_MEM_TYPE_64)
		return (lo & PCI_BAR_MEM_MASK) |
		       (uint64_t)cfg_rd(PCI_BAR0 + 4 * (n + 1), 4) << 32;
	return lo & PCI_BAR_MEM_MASK;
}

TestSuite(pci, .init = setup, .fini = teardown);

/* ---- the host bridge and config mechanisms ---- */

Test(pci, host_bridge_at_00_0)
{
	cr_assert_eq(ecam_rd(0, 0, PCI_VENDOR_ID, 2), PCI_HOST_VENDOR_ID);
	cr_assert_eq(ecam_rd(0, 0, PCI_DEVICE_ID, 2), PCI_HOST_DEVICE_ID);
	cr_assert_eq(ecam_rd(0, 0, 0x08, 4) >> 8, PCI_CLASS_BRIDGE_HOST);
	cr_assert_eq(ecam_rd(0, 0, PCI_HEADER_TYPE, 1), 0);
	cr_assert_eq(t1_rd(0, 0, PCI_VENDOR_ID, 4),
		     PCI_HOST_VENDOR_ID | PCI_HOST_DEVICE_ID << 16);
	/* No BARs: they read 0 and ignore sizing. */
	ecam_wr(0, 0, PCI_BAR0, 4, 0xffffffff);
	cr_assert_eq(ecam_rd(0, 0, PCI_BAR0, 4), 0);
}

Test(pci, both_mechanisms_see_the_device)
{
	cr_assert_eq(cfg_rd(PCI_VENDOR_ID, 4), 0x1af4 | 0x1041u << 16);
	cr_assert_eq(t1_rd(0, SLOT, PCI_VENDOR_ID, 4), 0x1af4 | 0x1041u << 16);
	cr_assert_eq(t1_rd(0, SLOT, PCI_DEVICE_ID, 2), 0x1041);
	cr_assert_eq(t1_rd(0, SLOT, PCI_DEVICE_ID + 1, 1), 0x10);
	cr_assert_eq(t1_rd(0, SLOT, PCI_SUBSYS_ID, 2), 0x0001);
	cr_assert_eq(t1_rd(0, SLOT, PCI_REVISION_ID, 1), 1);
	cr_assert_eq(cfg_rd(PCI_CLASS_DEVICE, 2), 0x0200);
	/* A write through one is seen through the other. */
	t1_wr(SLOT, PCI_INTERRUPT_LINE, 1, 0x0b);
	cr_assert_eq(cfg_rd(PCI_INTERRUPT_LINE, 1), 0x0b);
	cfg_wr(PCI_INTERRUPT_LINE, 1, 0x0a);
	cr_assert_eq(t1_rd(0, SLOT, PCI_INTERRUPT_LINE, 1), 0x0a);
	/* No INTx: the pin reads 0 and is read-only. */
	cfg_wr(PCI_INTERRUPT_PIN, 1, 1);
	cr_assert_eq(cfg_rd(PCI_INTERRUPT_PIN, 1), 0);
}

Test(pci, absent_functions_read_all_ones)
{
	cr_assert_eq(ecam_rd(2, 0, PCI_VENDOR_ID, 4), 0xffffffff);
	cr_assert_eq(ecam_rd(31, 0, PCI_VENDOR_ID, 2), 0xffff);
	cr_assert_eq(ecam_rd(SLOT, 1, PCI_VENDOR_ID, 4), 0xffffffff);
	cr_assert_eq(ecam_rd(0, 7, PCI_VENDOR_ID, 4), 0xffffffff);
	cr_assert_eq(t1_rd(1, SLOT, PCI_VENDOR_ID, 4), 0xffffffff);
	cr_assert_eq(t1_rd(255, 0, PCI_VENDOR_ID, 4), 0xffffffff);
	/* Writes there go nowhere (and do not crash). */
	ecam_wr(2, 0, PCI_COMMAND, 2, 0xffff);
	t1_wr(2, PCI_COMMAND, 2, 0xffff);
}

Test(pci, type1_address_latch)
{
	fake_vm_pio_write(vm, ABI_PCI_CONFIG_ADDRESS, 4, 0xffffffff);
	/* Reserved bits 30:24 and 1:0 read 0. */
	cr_assert_eq(fake_vm_pio_read(vm, ABI_PCI_CONFIG_ADDRESS, 4),
		     0x80fffffc);
	/* Enable bit clear: CONFIG_DATA reads all-ones. */
	fake_vm_pio_write(vm, ABI_PCI_CONFIG_ADDRESS, 4,
			  PCI_CONFIG_ADDR(0u, 0u, 0u, 0u) & ~PCI_CONFIG_ENABLE);
	cr_assert_eq(fake_vm_pio_read(vm, ABI_PCI_CONFIG_DATA, 4), 0xffffffff);
	/* Byte and word accesses to CONFIG_ADDRESS are not the latch. */
	fake_vm_pio_write(vm, ABI_PCI_CONFIG_ADDRESS, 4, 0x80000000);
	fake_vm_pio_write(vm, ABI_PCI_CONFIG_ADDRESS, 1, 0x12);
	fake_vm_pio_write(vm, ABI_PCI_CONFIG_ADDRESS + 2, 2, 0x3456);
	cr_assert_eq(fake_vm_pio_read(vm, ABI_PCI_CONFIG_ADDRESS, 4),
		     0x80000000);
	cr_assert_eq(fake_vm_pio_read(vm, ABI_PCI_CONFIG_ADDRESS, 1), 0xff);
	/* Linux's type-1 probe: byte to 0xcfb, then the dword latch. */
	fake_vm_pio_write(vm, 0xcfb, 1, 0x01);
	fake_vm_pio_write(vm, ABI_PCI_CONFIG_ADDRESS, 4, 0x80000000);
	cr_assert_eq(fake_vm_pio_read(vm, ABI_PCI_CONFIG_ADDRESS, 4),
		     0x80000000);
}

Test(pci, type1_data_byte_lanes)
{
	fake_vm_pio_write(vm, ABI_PCI_CONFIG_ADDRESS, 4,
			  PCI_CONFIG_ADDR(0u, SLOT, 0u, 0u));
	cr_assert_eq(fake_vm_pio_read(vm, 0xcfc, 1), 0xf4);
	cr_assert_eq(fake_vm_pio_read(vm, 0xcfd, 1), 0x1a);
	cr_assert_eq(fake_vm_pio_read(vm, 0xcfe, 2), 0x1041);
	cr_assert_eq(fake_vm_pio_read(vm, 0xcff, 1), 0x10);
	/* Misaligned: word at 0xcfd, dword at 0xcfe (past CONFIG_DATA, the
	 * bus refuses it anyway). */
	cr_assert_eq(fake_vm_pio_read(vm, 0xcfd, 2), 0xffff);
	cr_assert_eq(fake_vm_pio_read(vm, 0xcfe, 4), 0xffffffff);
}

Test(pci, reset_port_unclaimed_is_unhandled)
{
	uint8_t b = 0;

	cr_assert_eq(bus_access(&vm->pio, ABI_PC_RESET_PORT, &b, 1, false),
		     BUS_UNHANDLED);
	/* A dword at 0xcf8 is still the latch. */
	fake_vm_pio_write(vm, ABI_PCI_CONFIG_ADDRESS, 4, 0x80000800);
	cr_assert_eq(fake_vm_pio_read(vm, ABI_PCI_CONFIG_ADDRESS, 4),
		     0x80000800);
}

static unsigned reset_io_calls;
static enum bus_status reset_io(void *opaque, uint64_t off, uint8_t *data,
				unsigned size, bool is_write)
{
	reset_io_calls++;
	cr_assert_eq(off, 0);
	cr_assert_eq(size, 1);
	if (!is_write)
		data[0] = 0x42;
	return BUS_OK;
}

Test(pci, reset_port_claimed)
{
	cr_assert_eq(pci_host_claim_port(vm, 0xcf8, 1, reset_io, NULL),
		     -EINVAL);
	cr_assert_eq(pci_host_claim_port(vm, 0xcf9, 2, reset_io, NULL),
		     -EINVAL);
	cr_assert_eq(pci_host_claim_port(vm, 0xcf9, 1, reset_io, NULL), 0);
	cr_assert_eq(pci_host_claim_port(vm, 0xcf9, 1, reset_io, NULL),
		     -EINVAL);
	cr_assert_eq(fake_vm_pio_read(vm, 0xcf9, 1), 0x42);
	fake_vm_pio_write(vm, 0xcf9, 1, 0x06);
	cr_assert_eq(reset_io_calls, 2);
	/* The latch is untouched by the byte. */
	fake_vm_pio_write(vm, ABI_PCI_CONFIG_ADDRESS, 4, 0x80000800);
	fake_vm_pio_write(vm, 0xcf9, 1, 0x00);
	cr_assert_eq(fake_vm_pio_read(vm, ABI_PCI_CONFIG_ADDRESS, 4),
		     0x80000800);
}

Test(pci, no_host_no_claim)
{
	struct vm *v2 = fake_vm_new();
	struct pci_dev *pd;
	struct device dev = { .name = "x" };
	struct pci_dev_info info = { 0 };

	cr_assert_eq(pci_host_claim_port(v2, 0xcf9, 1, reset_io, NULL),
		     -ENODEV);
	cr_assert_eq(pci_dev_new(v2, &dev, &info, &pd), -ENODEV);
	cr_assert_null(pci_host_get(v2));
	fake_vm_free(v2);
	cr_assert_eq(pci_host_create(vm, &pci_layout_x86, NULL), -EEXIST);
}

/* pc-reset with a PCI host: its 0xcf9 comes through the host's block. */
extern const struct device_type pc_reset_type;

Test(pci, pc_reset_through_the_host)
{
	struct cfg_device *cfg = dev_cfg_new(&pc_reset_type, "reset", NULL);
	struct device *dev = dev_create(vm, cfg, NULL);

	cr_assert_not_null(dev);
	/* Not registered on its own: the host owns 0xcf8-0xcff. */
	cr_assert_str_eq(bus_find(&vm->pio, 0xcf9, 1)->owner,
			 "pci-host (0xcf8)");
	fake_vm_pio_write(vm, 0xcf9, 1, 0x02);
	cr_assert_eq(fake_vm_pio_read(vm, 0xcf9, 1), 0x02);
	cr_assert_eq(vm->stop_requests, 0);
	/* The type-1 mechanism still works around it. */
	cr_assert_eq(t1_rd(0, 0, PCI_VENDOR_ID, 2), PCI_HOST_VENDOR_ID);
	fake_vm_pio_write(vm, 0xcf9, 1, 0x06);
	cr_assert_eq(vm->stop_reason, VM_STOP_REBOOT);
	/* Word accesses at 0xcf8 are not the reset register. */
	cr_assert_eq(vm->stop_requests, 1);
	dev_destroy(dev);
	dev_cfg_free(cfg);
}

Test(pci, pc_reset_without_host)
{
	struct vm *v = fake_vm_new();
	struct cfg_device *cfg = dev_cfg_new(&pc_reset_type, "reset", NULL);
	struct device *dev = dev_create(v, cfg, NULL);

	cr_assert_not_null(dev);
	cr_assert_str_eq(bus_find(&v->pio, 0xcf9, 1)->owner, "reset");
	cr_assert_null(bus_find(&v->pio, 0xcf8, 4));
	fake_vm_pio_write(v, 0xcf9, 1, 0x06);
	cr_assert_eq(v->stop_reason, VM_STOP_REBOOT);
	dev_destroy(dev);
	dev_cfg_free(cfg);
	fake_vm_free(v);
}

/* ---- config space bounds ---- */

Test(pci, config_space_bounds)
{
	/* Past the 256 bytes: extended space reads 0, writes ignored. */
	cr_assert_eq(cfg_rd(0x100, 4), 0);
	cr_assert_eq(cfg_rd(0xffc, 4), 0);
	cfg_wr(0x100, 4, 0x12345678);
	cr_assert_eq(cfg_rd(0x100, 4), 0);
	/* Misaligned and odd sizes read all-ones, writes do nothing. */
	cr_assert_eq(cfg_rd(PCI_VENDOR_ID + 1, 2), 0xffff);
	cr_assert_eq(cfg_rd(PCI_VENDOR_ID + 2, 4), 0xffffffff);
	cr_assert_eq(cfg_rd(PCI_VENDOR_ID, 8), 0xffffffff);
	cr_assert_eq(cfg_rd(0xfff, 1), 0);
	cr_assert_eq(cfg_rd(0xffe, 2), 0);
	cfg_wr(PCI_COMMAND + 1, 2, 0);
	cr_assert_eq(cfg_rd(PCI_COMMAND, 2),
		     PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	/* An access crossing the end of the ECAM area: not ours. */
	cr_assert_eq(fake_vm_mmio_read(
			     vm, ABI_PCI_ECAM_BASE + PCI_ECAM_BUS_SIZE - 2, 4),
		     0xffffffff);
	/* Read-only registers stay. */
	cfg_wr(PCI_VENDOR_ID, 4, 0);
	cfg_wr(PCI_CLASS_PROG, 4, 0);
	cfg_wr(PCI_HEADER_TYPE, 1, 0x80);
	cfg_wr(PCI_CAP_PTR, 1, 0x80);
	cfg_wr(PCI_STATUS, 2, 0xffff);
	cr_assert_eq(cfg_rd(PCI_VENDOR_ID, 4), 0x1af4 | 0x1041u << 16);
	cr_assert_eq(cfg_rd(PCI_CLASS_DEVICE, 2), 0x0200);
	cr_assert_eq(cfg_rd(PCI_HEADER_TYPE, 1), 0);
	cr_assert_eq(cfg_rd(PCI_CAP_PTR, 1), PCI_CAP_START);
	cr_assert_eq(cfg_rd(PCI_STATUS, 2), PCI_STATUS_CAP_LIST);
	/* Command: only I/O, memory, bus master and INTx disable stick. */
	cfg_wr(PCI_COMMAND, 2, 0xffff);
	cr_assert_eq(cfg_rd(PCI_COMMAND, 2),
		     PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
			     PCI_COMMAND_INTX_DISABLE);
	/* No expansion ROM. */
	cfg_wr(PCI_ROM_ADDRESS, 4, 0xffffffff);
	cr_assert_eq(cfg_rd(PCI_ROM_ADDRESS, 4), 0);
}

Test(pci, every_offset_and_size)
{
	/* Every access the guest can make to the function's 4 KiB: no
	 * crash, only the sane ones do anything. */
	for (unsigned reg = 0; reg < 4096; reg++)
		for (unsigned size = 1; size <= 8; size *= 2)
			(void)cfg_rd(reg, size);
	for (unsigned reg = 0x40; reg < 4096; reg++)
		for (unsigned size = 1; size <= 8; size *= 2)
			cfg_wr(reg, size, 0xffffffff);
	cr_assert_eq(cfg_rd(PCI_VENDOR_ID, 4), 0x1af4 | 0x1041u << 16);
}

/* ---- BARs ---- */

Test(pci, bars_preassigned_in_windows)
{
	uint64_t io = bar_reg_addr(0), m32 = bar_reg_addr(1);
	uint64_t m64 = bar_reg_addr(2), ram = bar_reg_addr(4);

	cr_assert_eq(cfg_rd(PCI_COMMAND, 2),
		     PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	cr_assert(io >= ABI_PCI_IO_BASE &&
		  io + IO_SIZE <= ABI_PCI_IO_BASE + ABI_PCI_IO_SIZE);
	cr_assert_eq(io % IO_SIZE, 0);
	cr_assert(m32 >= ABI_PCI_MMIO32_BASE &&
		  m32 + M32_SIZE <= ABI_PCI_MMIO32_BASE + ABI_PCI_MMIO32_SIZE);
	cr_assert(m64 >= ABI_PCI_MMIO64_BASE);
	cr_assert_eq(m64 % M64_SIZE, 0);
	cr_assert(ram >= ABI_PCI_MMIO64_BASE);
	cr_assert_eq(ram % RAM_SIZE, 0);
	cr_assert(ram >= m64 + M64_SIZE || ram + RAM_SIZE <= m64);
	cr_assert_eq(cfg_rd(PCI_BAR0, 4) & 3, PCI_BAR_SPACE_IO);
	cr_assert_eq(cfg_rd(PCI_BAR0 + 4, 4) & 0xf, 0);
	cr_assert_eq(cfg_rd(PCI_BAR0 + 8, 4) & 0xf,
		     PCI_BAR_MEM_TYPE_64 | PCI_BAR_MEM_PREFETCH);
	/* Upper halves of the 64-bit BARs */
	cr_assert_eq(cfg_rd(PCI_BAR0 + 12, 4), m64 >> 32);
	cr_assert_eq(cfg_rd(PCI_BAR0 + 20, 4), ram >> 32);
	cr_assert_eq(pci_bar_addr(td.pd, 0), io);
	cr_assert_eq(pci_bar_addr(td.pd, 2), m64);
	cr_assert_eq(pci_bar_addr(td.pd, 3), 0);
	/* bar_map told the device about each at plug. */
	cr_assert_eq(td.nr_maps, 4);
	cr_assert_eq(td.maps[0].bar, 0);
	cr_assert_eq(td.maps[0].addr, io);
	cr_assert(td.maps[0].mapped);
	cr_assert_eq(td.maps[3].bar, 4);
	/* The RAM BAR is a memory slot. */
	const struct fake_mem_map *mm = fake_vm_map_at(vm, ram);
	cr_assert_not_null(mm);
	cr_assert_eq(mm->gpa, ram);
	cr_assert_eq(mm->size, RAM_SIZE);
	cr_assert_eq(mm->hva, td.ram);
	cr_assert(!mm->readonly);
	cr_assert_eq(pci_dev_bdf(td.pd), SLOT << 3);
}

Test(pci, bar_dispatch)
{
	uint64_t io = bar_reg_addr(0), m32 = bar_reg_addr(1);
	uint64_t m64 = bar_reg_addr(2);

	cr_assert_eq(fake_vm_pio_read(vm, io + 6, 2), 0x0006);
	cr_assert_eq(td.last.bar, 0);
	cr_assert_eq(td.last.off, 6);
	fake_vm_mmio_write(vm, m32 + 0x10, 4, 0xdeadbeef);
	cr_assert_eq(td.last.bar, 1);
	cr_assert_eq(td.last.off, 0x10);
	cr_assert(td.last.is_write);
	cr_assert_eq(td.last.val, 0xdeadbeef);
	cr_assert_eq(fake_vm_mmio_read(vm, m64 + M64_SIZE - 8, 8),
		     0x2000 + M64_SIZE - 8);
	/* Crossing the end of a BAR, or just past it: nobody. */
	td.accesses = 0;
	uint8_t d[8];
	cr_assert_eq(bus_access(&vm->mmio, m64 + M64_SIZE - 4, d, 8, false),
		     BUS_UNHANDLED);
	cr_assert_eq(bus_access(&vm->pio, io + IO_SIZE, d, 1, false),
		     BUS_UNHANDLED);
	cr_assert_eq(bus_access(&vm->mmio,
				ABI_PCI_MMIO32_BASE + ABI_PCI_MMIO32_SIZE - 4,
				d, 4, false),
		     BUS_UNHANDLED);
	cr_assert_eq(td.accesses, 0);
}

Test(pci, bar_sizing)
{
	uint32_t saved;

	cfg_wr(PCI_COMMAND, 2, 0);
	saved = cfg_rd(PCI_BAR0, 4);
	cfg_wr(PCI_BAR0, 4, 0xffffffff);
	cr_assert_eq(cfg_rd(PCI_BAR0, 4), (0xffffu & ~(IO_SIZE - 1)) | 1);
	cfg_wr(PCI_BAR0, 4, saved);
	cr_assert_eq(cfg_rd(PCI_BAR0, 4), saved);

	cfg_wr(PCI_BAR0 + 4, 4, 0xffffffff);
	cr_assert_eq(cfg_rd(PCI_BAR0 + 4, 4), ~(uint32_t)(M32_SIZE - 1));
	/* 64-bit: both halves. */
	cfg_wr(PCI_BAR0 + 8, 4, 0xffffffff);
	cfg_wr(PCI_BAR0 + 12, 4, 0xffffffff);
	cr_assert_eq(cfg_rd(PCI_BAR0 + 8, 4), (~(uint32_t)(M64_SIZE - 1)) |
						      PCI_BAR_MEM_TYPE_64 |
						      PCI_BAR_MEM_PREFETCH);
	cr_assert_eq(cfg_rd(PCI_BAR0 + 12, 4), 0xffffffff);
	/* Byte writes merge into the register. */
	cfg_wr(PCI_BAR0 + 4, 1, 0x00);
	cfg_wr(PCI_BAR0 + 7, 1, 0xc1);
	cr_assert_eq(cfg_rd(PCI_BAR0 + 4, 4), 0xc1fff000);
	/* Decode was off: nothing was mapped at the sizing addresses. */
	for (unsigned i = 4; i < td.nr_maps; i++)
		cr_assert(!td.maps[i].mapped, "event %u", i);
}

Test(pci, bar_move_and_decode)
{
	uint64_t m32 = bar_reg_addr(1), nm32 = ABI_PCI_MMIO32_BASE + 0x100000;
	uint64_t ram = bar_reg_addr(4), nram = ABI_PCI_MMIO32_BASE + 0x200000;
	unsigned n0 = td.nr_maps;

	/* Moving with decode on: unmap old, map new. */
	cfg_wr(PCI_BAR0 + 4, 4, (uint32_t)nm32);
	cr_assert_eq(td.nr_maps, n0 + 2);
	cr_assert_eq(td.maps[n0].bar, 1);
	cr_assert(!td.maps[n0].mapped);
	cr_assert_eq(td.maps[n0].addr, m32);
	cr_assert(td.maps[n0 + 1].mapped);
	cr_assert_eq(td.maps[n0 + 1].addr, nm32);
	cr_assert_eq(pci_bar_addr(td.pd, 1), nm32);
	cr_assert_eq(fake_vm_mmio_read(vm, nm32 + 4, 4), 0x1004);
	td.accesses = 0;
	cr_assert_eq(fake_vm_mmio_read(vm, m32 + 4, 4), 0xffffffff);
	cr_assert_eq(td.accesses, 0);

	/* A 64-bit RAM BAR moved below 4 GiB: the slot follows. */
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_IO);
	cr_assert_null(fake_vm_map_at(vm, ram));
	cr_assert_eq(pci_bar_addr(td.pd, 4), 0);
	cr_assert_eq(pci_bar_addr(td.pd, 1), 0);
	cr_assert_neq(pci_bar_addr(td.pd, 0), 0);
	cfg_wr(PCI_BAR0 + 16, 4, (uint32_t)nram);
	cfg_wr(PCI_BAR0 + 20, 4, 0);
	cr_assert_null(fake_vm_map_at(vm, nram));
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	const struct fake_mem_map *mm = fake_vm_map_at(vm, nram);
	cr_assert_not_null(mm);
	cr_assert_eq(mm->gpa, nram);
	cr_assert_null(fake_vm_map_at(vm, ram));
	cr_assert_eq(pci_bar_addr(td.pd, 4), nram);

	/* I/O decode off: the I/O BAR stops answering. */
	uint64_t io = bar_reg_addr(0);
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	cr_assert_eq(fake_vm_pio_read(vm, io, 1), 0xff);
	cr_assert_eq(pci_bar_addr(td.pd, 0), 0);
}

Test(pci, bar_outside_windows_does_not_decode)
{
	/* Over guest RAM or the ECAM: the BAR is programmed, not decoded. */
	cfg_wr(PCI_BAR0 + 4, 4, 0x100000);
	cr_assert_eq(cfg_rd(PCI_BAR0 + 4, 4), 0x100000);
	cr_assert_eq(pci_bar_addr(td.pd, 1), 0);
	cfg_wr(PCI_BAR0 + 4, 4, ABI_PCI_ECAM_BASE);
	cr_assert_eq(pci_bar_addr(td.pd, 1), 0);
	cr_assert_eq(ecam_rd(SLOT, 0, PCI_VENDOR_ID, 2), 0x1af4);
	/* Straddling the end of the window. */
	cfg_wr(PCI_BAR0 + 4, 4,
	       ABI_PCI_MMIO32_BASE + ABI_PCI_MMIO32_SIZE - M32_SIZE);
	cr_assert_neq(pci_bar_addr(td.pd, 1), 0);
	cfg_wr(PCI_BAR0, 4, 0x3f8); /* I/O BAR outside the I/O window */
	cr_assert_eq(pci_bar_addr(td.pd, 0), 0);
	cfg_wr(PCI_BAR0, 4, 0xffe0); /* the window's last 32 ports */
	cr_assert_eq(pci_bar_addr(td.pd, 0), 0xffe0);
	/* RAM BAR over another: the map fails (logged), no crash. */
	cfg_wr(PCI_BAR0 + 20, 4, 0);
	cfg_wr(PCI_BAR0 + 16, 4, ABI_PCI_MMIO32_BASE);
	cr_assert_eq(pci_bar_addr(td.pd, 4), ABI_PCI_MMIO32_BASE);
}

Test(pci, bar_add_rules)
{
	struct pci_bar_info b = { .kind = PCI_BAR_MEM32,
				  .size = 4096,
				  .fn = tbar_io };
	struct pci_dev *pd;
	struct device dev = { .name = "x" };
	struct pci_dev_info info = { 0 };
	void *ram = td.ram;

	/* After plug: no more BARs or capabilities. */
	cr_assert_eq(pci_bar_add(td.pd, 5, &b), -EINVAL);
	cr_assert_eq(pci_cap_add(td.pd, vcap1, sizeof(vcap1), NULL, NULL, NULL),
		     -EINVAL);
	cr_assert_eq(pci_dev_new(vm, &dev, &info, &pd), 0);
	cr_assert_eq(pci_dev_bdf(pd), 2 << 3);
	b.size = 3000;
	cr_assert_eq(pci_bar_add(pd, 0, &b), -EINVAL);
	b.size = 8;
	cr_assert_eq(pci_bar_add(pd, 0, &b), -EINVAL);
	b.size = 4096;
	cr_assert_eq(pci_bar_add(pd, 6, &b), -EINVAL);
	b.ram = ram; /* both handler and RAM */
	cr_assert_eq(pci_bar_add(pd, 0, &b), -EINVAL);
	b.ram = NULL;
	b.kind = PCI_BAR_MEM64;
	cr_assert_eq(pci_bar_add(pd, 5, &b), -EINVAL);
	cr_assert_eq(pci_bar_add(pd, 0, &b), 0);
	cr_assert_eq(pci_bar_add(pd, 1, &b), -EEXIST);
	b.kind = PCI_BAR_IO;
	b.size = 512;
	cr_assert_eq(pci_bar_add(pd, 2, &b), -EINVAL);
	b.size = 4;
	cr_assert_eq(pci_bar_add(pd, 2, &b), 0);
	b.kind = PCI_BAR_MEM32;
	b.fn = NULL;
	b.ram = (uint8_t *)ram + 1; /* not page aligned */
	cr_assert_eq(pci_bar_add(pd, 3, &b), -EINVAL);
	/* MSI-X in an I/O BAR or outside its BAR: refused. */
	cr_assert_eq(pci_msix_init(pd, 2, 2, 0, 8), -EINVAL);
	cr_assert_eq(pci_msix_init(pd, 2, 0, 4096 - 16, 4096 - 8), -EINVAL);
	cr_assert_eq(pci_msix_init(pd, 2, 0, 0, 8), -EINVAL); /* overlap */
	cr_assert_eq(pci_msix_init(pd, 0, 0, 0, 64), -EINVAL);
	cr_assert_eq(pci_msix_init(pd, 2, 0, 0, 64), 0);
	cr_assert_eq(pci_msix_init(pd, 2, 0, 0, 64), -EINVAL);
	cr_assert_eq(pci_dev_plug(pd), 0);
	cr_assert_eq(pci_dev_plug(pd), -EINVAL);
	pci_dev_free(pd);
	cr_assert_eq(ecam_rd(2, 0, PCI_VENDOR_ID, 4), 0xffffffff);
}

Test(pci, slots)
{
	struct pci_dev *pd[40];
	struct device dev = { .name = "x" };
	struct pci_dev_info info = { 0 };
	unsigned n = 0;
	int r;

	while ((r = pci_dev_new(vm, &dev, &info, &pd[n])) == 0 && n < 39)
		n++;
	cr_assert_eq(r, -ENOSPC);
	cr_assert_eq(n, 30); /* 2..31 */
	for (unsigned i = 0; i < n; i++)
		pci_dev_free(pd[i]);
}

/* ---- capabilities ---- */

Test(pci, capability_list_walk)
{
	unsigned ids[8], offs[8], n = 0;
	unsigned p = cfg_rd(PCI_CAP_PTR, 1);

	cr_assert(cfg_rd(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	while (p && n < 8) {
		cr_assert_geq(p, PCI_CAP_START);
		cr_assert_eq(p % 4, 0);
		offs[n] = p;
		ids[n++] = cfg_rd(p, 1);
		p = cfg_rd(p + 1, 1);
	}
	cr_assert_eq(n, 3);
	cr_assert_eq(ids[0], PCI_CAP_ID_VNDR);
	cr_assert_eq(ids[1], PCI_CAP_ID_VNDR);
	cr_assert_eq(ids[2], PCI_CAP_ID_MSIX);
	cr_assert_eq(offs[1], (unsigned)vcap2_off);
	/* Body bytes as given, cap_len included. */
	cr_assert_eq(cfg_rd(offs[0] + 2, 1), 16);
	cr_assert_eq(cfg_rd(offs[0] + 8, 4), 0xddccbbaa);
	cr_assert_eq(cfg_rd(offs[1] + 2, 1), 20);
	/* MSI-X: table size, table and PBA BIR/offset. */
	cr_assert_eq(cfg_rd(offs[2] + PCI_MSIX_FLAGS, 2), NVEC - 1);
	cr_assert_eq(cfg_rd(offs[2] + PCI_MSIX_TABLE, 4), TABLE_OFF | 1);
	cr_assert_eq(cfg_rd(offs[2] + PCI_MSIX_PBA, 4), PBA_OFF | 1);
	/* The list is read-only. */
	cfg_wr(offs[0] + 1, 1, 0);
	cfg_wr(offs[0], 1, 0x11);
	cr_assert_eq(cfg_rd(offs[0] + 1, 1), offs[1]);
	cr_assert_eq(cfg_rd(offs[0], 1), PCI_CAP_ID_VNDR);
	cfg_wr(offs[0] + 8, 4, 0);
	cr_assert_eq(cfg_rd(offs[0] + 8, 4), 0xddccbbaa);
}

Test(pci, capability_wmask_and_hook)
{
	unsigned off = (unsigned)vcap2_off;

	hook_calls = 0;
	cfg_wr(off + 4, 4, 0xffffffff); /* only byte 4 is writable */
	cr_assert_eq(cfg_rd(off + 4, 4), 0xff);
	cr_assert_eq(hook_calls, 2); /* the write and the read */
	cfg_wr(off + 3, 1, 0x77);    /* read-only */
	cr_assert_eq(cfg_rd(off + 3, 1), 5);
	/* The hook answers reads of its window... */
	cr_assert_eq(cfg_rd(off + 16, 4), 0x53525150 + 0x10101010);
	cr_assert_eq(hook_last_off, 16);
	cr_assert_eq(hook_last_size, 4);
	cr_assert(!hook_last_write);
	cr_assert_eq(cfg_rd(off + 18, 2), 0x6362);
	/* ...sees writes there... */
	cfg_wr(off + 16, 4, 0x01020304);
	cr_assert(hook_last_write);
	/* ...and not accesses elsewhere. */
	hook_calls = 0;
	(void)cfg_rd(PCI_VENDOR_ID, 4);
	(void)cfg_rd(off - 4, 4);
	cr_assert_eq(hook_calls, 0);
}

Test(pci, capability_space_runs_out)
{
	struct pci_dev *pd;
	struct device dev = { .name = "x" };
	struct pci_dev_info info = { 0 };
	uint8_t big[192] = { PCI_CAP_ID_VNDR };
	int r;

	cr_assert_eq(pci_dev_new(vm, &dev, &info, &pd), 0);
	cr_assert_eq(pci_cap_add(pd, big, 1, NULL, NULL, NULL), -EINVAL);
	cr_assert_eq(pci_cap_add(pd, big, 193, NULL, NULL, NULL), -EINVAL);
	cr_assert_eq(pci_cap_add(pd, big, 175, NULL, NULL, NULL), 0x40);
	cr_assert_eq(pci_cap_add(pd, big, 20, NULL, NULL, NULL), -ENOSPC);
	r = pci_cap_add(pd, big, 16, NULL, NULL, NULL);
	cr_assert_eq(r, 0xf0);
	cr_assert_eq(ecam_rd(2, 0, 0x40, 1), 0xff); /* not plugged yet */
	cr_assert_eq(pci_cap_add(pd, big, 2, NULL, NULL, NULL), -ENOSPC);
	pci_dev_free(pd);
}

/* ---- MSI-X ---- */

static unsigned msix_cap(void)
{
	unsigned p = cfg_rd(PCI_CAP_PTR, 1);

	for (unsigned i = 0; p && i < 48; i++) {
		if (cfg_rd(p, 1) == PCI_CAP_ID_MSIX)
			return p;
		p = cfg_rd(p + 1, 1);
	}
	cr_assert_fail("no MSI-X capability");
	return 0;
}

static uint64_t table(unsigned vec, unsigned field)
{
	return bar_reg_addr(1) + TABLE_OFF + vec * PCI_MSIX_ENTRY_SIZE + field;
}

static uint64_t pba_read(void)
{
	return fake_vm_mmio_read(vm, bar_reg_addr(1) + PBA_OFF, 8);
}

static void msix_ctl(uint16_t v)
{
	cfg_wr(msix_cap() + PCI_MSIX_FLAGS, 2, v);
}

static void program(unsigned vec, uint32_t data, bool masked)
{
	fake_vm_mmio_write(vm, table(vec, PCI_MSIX_ENTRY_ADDR_LO), 4,
			   0xfee00000 + vec * 0x1000);
	fake_vm_mmio_write(vm, table(vec, PCI_MSIX_ENTRY_ADDR_HI), 4, 0);
	fake_vm_mmio_write(vm, table(vec, PCI_MSIX_ENTRY_DATA), 4, data);
	fake_vm_mmio_write(vm, table(vec, PCI_MSIX_ENTRY_CTRL), 4, masked);
}

static int vec_gsi(unsigned vec)
{
	/* Routes are allocated in vector order from the fake's base. */
	return FAKE_VM_MSI_BASE + (int)vec;
}

Test(pci, msix_initial_state)
{
	for (unsigned v = 0; v < NVEC; v++) {
		cr_assert_eq(fake_vm_mmio_read(vm, table(v, 0), 8), 0);
		cr_assert_eq(fake_vm_mmio_read(vm, table(v, 8), 4), 0);
		cr_assert_eq(fake_vm_mmio_read(vm, table(v, 12), 4), 1);
		const struct fake_msi_route *r =
			fake_vm_msi_route(vm, vec_gsi(v));
		cr_assert_not_null(r);
		cr_assert(!r->valid || r->masked);
	}
	cr_assert_eq(pba_read(), 0);
	cr_assert(!pci_msix_enabled(td.pd));
	/* Not enabled: a notify goes nowhere. */
	cr_assert_eq(pci_msix_notify(td.pd, 0), 0);
	cr_assert_eq(vm->nr_signaled, 0);
	cr_assert_eq(pba_read(), 0);
	cr_assert_eq(pci_msix_notify(td.pd, NVEC), -EINVAL);
	/* The device's own BAR handler never sees the table. */
	td.accesses = 0;
	(void)fake_vm_mmio_read(vm, table(0, 0), 4);
	(void)pba_read();
	cr_assert_eq(td.accesses, 0);
	(void)fake_vm_mmio_read(vm, bar_reg_addr(1) + TABLE_OFF - 4, 4);
	cr_assert_eq(td.accesses, 1);
}

Test(pci, msix_program_enable_notify)
{
	program(0, 0x4041, false);
	program(1, 0x4042, false);
	/* Not yet enabled: routes stay masked. */
	cr_assert(fake_vm_msi_route(vm, vec_gsi(0))->masked);
	msix_ctl(PCI_MSIX_FLAGS_ENABLE);
	cr_assert(pci_msix_enabled(td.pd));
	const struct fake_msi_route *r = fake_vm_msi_route(vm, vec_gsi(0));
	cr_assert(r->valid && !r->masked);
	cr_assert_eq(r->msg.addr, 0xfee00000);
	cr_assert_eq(r->msg.data, 0x4041);
	cr_assert_eq(r->msg.devid, SLOT << 3);
	cr_assert(fake_vm_msi_route(vm, vec_gsi(2))->masked);

	cr_assert_eq(pci_msix_notify(td.pd, 1), 0);
	cr_assert_eq(vm->nr_signaled, 1);
	cr_assert_eq(vm->signaled[0].addr, 0xfee01000);
	cr_assert_eq(vm->signaled[0].data, 0x4042);
	/* Vector 2 is masked: pending, delivered on unmask. */
	program(2, 0x4043, true);
	cr_assert_eq(pci_msix_notify(td.pd, 2), 0);
	cr_assert_eq(vm->nr_signaled, 1);
	cr_assert_eq(pba_read(), 1u << 2);
	fake_vm_mmio_write(vm, table(2, PCI_MSIX_ENTRY_CTRL), 4, 0);
	cr_assert_eq(vm->nr_signaled, 2);
	cr_assert_eq(vm->signaled[1].data, 0x4043);
	cr_assert_eq(pba_read(), 0);
	/* Changing the message re-routes. */
	unsigned sets = fake_vm_msi_route(vm, vec_gsi(0))->sets;
	fake_vm_mmio_write(vm, table(0, PCI_MSIX_ENTRY_DATA), 4, 0x4050);
	cr_assert_gt(fake_vm_msi_route(vm, vec_gsi(0))->sets, sets);
	cr_assert_eq(fake_vm_msi_route(vm, vec_gsi(0))->msg.data, 0x4050);
	/* Disable: routes masked, notifies dropped. */
	msix_ctl(0);
	cr_assert(fake_vm_msi_route(vm, vec_gsi(0))->masked);
	cr_assert_eq(pci_msix_notify(td.pd, 0), 0);
	cr_assert_eq(vm->nr_signaled, 2);
	cr_assert_eq(pba_read(), 0);
}

Test(pci, msix_function_mask)
{
	program(0, 0x30, false);
	msix_ctl(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	cr_assert(!pci_msix_enabled(td.pd));
	cr_assert(fake_vm_msi_route(vm, vec_gsi(0))->masked);
	cr_assert_eq(pci_msix_notify(td.pd, 0), 0);
	cr_assert_eq(vm->nr_signaled, 0);
	cr_assert_eq(pba_read(), 1);
	cr_assert_eq(cfg_rd(msix_cap() + PCI_MSIX_FLAGS, 2),
		     (NVEC - 1) | PCI_MSIX_FLAGS_ENABLE |
			     PCI_MSIX_FLAGS_MASKALL);
	msix_ctl(PCI_MSIX_FLAGS_ENABLE);
	cr_assert_eq(vm->nr_signaled, 1);
	cr_assert_eq(vm->signaled[0].data, 0x30);
	cr_assert(!fake_vm_msi_route(vm, vec_gsi(0))->masked);
	/* Table size is read-only. */
	msix_ctl(PCI_MSIX_FLAGS_ENABLE | 0x7ff);
	cr_assert_eq(cfg_rd(msix_cap() + PCI_MSIX_FLAGS, 2),
		     (NVEC - 1) | PCI_MSIX_FLAGS_ENABLE);
}

Test(pci, msix_irqfd)
{
	int fd = pci_msix_irqfd(td.pd, 0);
	uint64_t one = 1;

	cr_assert_geq(fd, 0);
	cr_assert_eq(pci_msix_irqfd(td.pd, 0), fd); /* same one again */
	cr_assert_eq(pci_msix_irqfd(td.pd, NVEC), -EINVAL);
	/* Masked: not attached. */
	cr_assert_eq(fake_vm_irqfd_gsi(vm, fd), -1);
	program(0, 0x55, false);
	msix_ctl(PCI_MSIX_FLAGS_ENABLE);
	cr_assert_eq(fake_vm_irqfd_gsi(vm, fd), vec_gsi(0));
	/* Masking detaches; a signal while masked shows in the PBA and is
	 * delivered on unmask. */
	fake_vm_mmio_write(vm, table(0, PCI_MSIX_ENTRY_CTRL), 4, 1);
	cr_assert_eq(fake_vm_irqfd_gsi(vm, fd), -1);
	cr_assert_eq(write(fd, &one, sizeof(one)), sizeof(one));
	cr_assert_eq(pba_read(), 1);
	cr_assert_eq(vm->nr_signaled, 0);
	fake_vm_mmio_write(vm, table(0, PCI_MSIX_ENTRY_CTRL), 4, 0);
	cr_assert_eq(vm->nr_signaled, 1);
	cr_assert_eq(vm->signaled[0].data, 0x55);
	cr_assert_eq(fake_vm_irqfd_gsi(vm, fd), vec_gsi(0));
	cr_assert_eq(pba_read(), 0);
	/* Without a PBA read in between, the count is found on unmask. */
	fake_vm_mmio_write(vm, table(0, PCI_MSIX_ENTRY_CTRL), 4, 1);
	cr_assert_eq(write(fd, &one, sizeof(one)), sizeof(one));
	fake_vm_mmio_write(vm, table(0, PCI_MSIX_ENTRY_CTRL), 4, 0);
	cr_assert_eq(vm->nr_signaled, 2);
	/* Disabling drops what was signalled. */
	msix_ctl(0);
	cr_assert_eq(fake_vm_irqfd_gsi(vm, fd), -1);
	cr_assert_eq(write(fd, &one, sizeof(one)), sizeof(one));
	msix_ctl(PCI_MSIX_FLAGS_ENABLE);
	cr_assert_eq(fake_vm_irqfd_gsi(vm, fd), vec_gsi(0));
}

Test(pci, msix_table_access_rules)
{
	/* Word, byte and misaligned accesses: ignored, read all-ones. */
	fake_vm_mmio_write(vm, table(0, PCI_MSIX_ENTRY_DATA), 2, 0x1234);
	fake_vm_mmio_write(vm, table(0, PCI_MSIX_ENTRY_DATA), 1, 0x12);
	fake_vm_mmio_write(vm, table(0, PCI_MSIX_ENTRY_DATA) + 2, 4, 0x12);
	cr_assert_eq(fake_vm_mmio_read(vm, table(0, PCI_MSIX_ENTRY_DATA), 4),
		     0);
	cr_assert_eq(fake_vm_mmio_read(vm, table(0, PCI_MSIX_ENTRY_DATA), 2),
		     0xffff);
	cr_assert_eq(fake_vm_mmio_read(vm, table(0, PCI_MSIX_ENTRY_ADDR_HI), 8),
		     0xffffffffffffffffULL);
	/* Qword writes of address; reserved control bits stay 0. */
	fake_vm_mmio_write(vm, table(3, 0), 8, 0x00000001fee00000ULL);
	cr_assert_eq(fake_vm_mmio_read(vm, table(3, 0), 8),
		     0x00000001fee00000ULL);
	fake_vm_mmio_write(vm, table(3, PCI_MSIX_ENTRY_DATA), 8,
			   0xffffffff00000099ULL);
	cr_assert_eq(fake_vm_mmio_read(vm, table(3, PCI_MSIX_ENTRY_CTRL), 4),
		     1);
	/* Past the last entry (the BAR has room): the device handler. */
	td.accesses = 0;
	(void)fake_vm_mmio_read(vm, table(NVEC, 0), 4);
	cr_assert_eq(td.accesses, 1);
	/* PBA is read-only; its second dword is zero. */
	fake_vm_mmio_write(vm, bar_reg_addr(1) + PBA_OFF, 8, ~0ULL);
	cr_assert_eq(pba_read(), 0);
	cr_assert_eq(fake_vm_mmio_read(vm, bar_reg_addr(1) + PBA_OFF + 4, 4),
		     0);
	cr_assert_eq(fake_vm_mmio_read(vm, bar_reg_addr(1) + PBA_OFF + 2, 2),
		     0xffff);
}

Test(pci, reset_restores_plug_state)
{
	uint64_t io = bar_reg_addr(0);

	program(0, 0x77, false);
	msix_ctl(PCI_MSIX_FLAGS_ENABLE);
	cfg_wr(PCI_BAR0, 4, 0xd000);
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MASTER | PCI_COMMAND_IO);
	pci_dev_reset(td.pd);
	cr_assert_eq(bar_reg_addr(0), io);
	cr_assert_eq(pci_bar_addr(td.pd, 0), io);
	cr_assert_eq(cfg_rd(PCI_COMMAND, 2),
		     PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	cr_assert(!pci_msix_enabled(td.pd));
	cr_assert_eq(fake_vm_mmio_read(vm, table(0, PCI_MSIX_ENTRY_CTRL), 4),
		     1);
	cr_assert(fake_vm_msi_route(vm, vec_gsi(0))->masked);
}

Test(pci, free_releases_everything)
{
	int fd;
	uint64_t ram = bar_reg_addr(4);

	program(0, 1, false);
	msix_ctl(PCI_MSIX_FLAGS_ENABLE);
	fd = pci_msix_irqfd(td.pd, 0);
	cr_assert_eq(fake_vm_irqfd_gsi(vm, fd), vec_gsi(0));
	pci_dev_free(td.pd);
	td.pd = NULL;
	cr_assert_eq(fake_vm_irqfd_gsi(vm, fd), -1);
	cr_assert_null(fake_vm_msi_route(vm, vec_gsi(0)));
	cr_assert_null(fake_vm_map_at(vm, ram));
	cr_assert_eq(cfg_rd(PCI_VENDOR_ID, 4), 0xffffffff);
	/* The device heard about the unmaps (its ioeventfds go). */
	cr_assert(!td.maps[td.nr_maps - 1].mapped);
}

/* ---- without fast paths (a host without irqfd/routing) ---- */

Test(pci_nofast, msix_userspace_only)
{
	struct vm *v = fake_vm_new();
	struct pci_dev *pd;
	struct device dev = { .name = "x" };
	struct pci_dev_info info = { 0 };
	struct pci_bar_info b = { .kind = PCI_BAR_MEM32,
				  .size = 4096,
				  .fn = tbar_io,
				  .opaque = &ctx[0] };

	v->no_fast = true;
	cr_assert_eq(pci_host_create(v, &pci_layout_x86, NULL), 0);
	cr_assert_eq(pci_dev_new(v, &dev, &info, &pd), 0);
	cr_assert_eq(pci_bar_add(pd, 0, &b), 0);
	cr_assert_eq(pci_msix_init(pd, 2, 0, 0, 0x800), 0);
	cr_assert_eq(pci_dev_plug(pd), 0);
	cr_assert_eq(pci_msix_irqfd(pd, 0), -ENOTSUP);
	pci_dev_free(pd);
	fake_vm_free(v);
}

/* ---- config-level rules ---- */

static const char *const transports[] = { "mmio", "pci", NULL };
static const struct dev_param tpci_params[] = {
	PCI_DEV_PARAM_SLOT,
	{ .key = "transport",
	  .kind = PARAM_ENUM,
	  .def = "pci",
	  .choices = transports },
	{ .key = NULL },
};
static const struct dev_param plain_params[] = { { .key = NULL } };
static int tpci_create(struct vm *v, struct device *d)
{
	return 0;
}
static const struct device_type tpci_type = { .name = "virtio-test",
					      .params = tpci_params,
					      .create = tpci_create };
static const struct device_type plain_type = { .name = "plain",
					       .params = plain_params,
					       .create = tpci_create };

Test(pci_cfg, which_devices_are_pci)
{
	struct cfg_device *a = dev_cfg_new(&tpci_type, "a", NULL);
	struct cfg_device *b =
		dev_cfg_new(&tpci_type, "b", "transport=mmio", NULL);
	struct cfg_device *c = dev_cfg_new(&plain_type, "c", NULL);
	struct cfg_device devs[3] = { *b, *c, *a };
	struct vm_config cfg = { .devices = devs, .nr_devices = 2 };

	cr_assert(pci_cfg_is_pci(a));
	cr_assert(!pci_cfg_is_pci(b));
	cr_assert(!pci_cfg_is_pci(c));
	cr_assert(!pci_cfg_wanted(&cfg));
	cfg.nr_devices = 3;
	cr_assert(pci_cfg_wanted(&cfg));
	dev_cfg_free(a);
	dev_cfg_free(b);
	dev_cfg_free(c);
}

Test(pci_cfg, slot_rules)
{
	struct cfg_device *a = dev_cfg_new(&tpci_type, "a", "pci-slot=3", NULL);
	struct cfg_device *b = dev_cfg_new(&tpci_type, "b", "pci-slot=3", NULL);
	struct cfg_device *c = dev_cfg_new(&tpci_type, "c", NULL);
	struct cfg_device devs[2] = { *c, *a };
	struct vm_config cfg = { .devices = devs, .nr_devices = 2 };
	struct cfg_error err = { 0 };
	struct device da = { .name = "a", .cfg = a };
	struct device dc = { .name = "c", .cfg = c };
	struct pci_dev_info info = { 0 };
	struct pci_dev *pa, *pc;
	struct vm *v = fake_vm_new();

	cr_assert_eq(pci_cfg_check(&cfg, &err), 0);
	/* c comes first but skips 1? no: takes 1; a gets its 3. With 1 and
	 * 2 taken, c would still not take 3: reserved for a. */
	cr_assert_eq(pci_host_create(v, &pci_layout_x86, &cfg), 0);
	cr_assert_eq(pci_dev_new(v, &dc, &info, &pc), 0);
	cr_assert_eq(pci_dev_bdf(pc), 1 << 3);
	cr_assert_eq(pci_dev_new(v, &da, &info, &pa), 0);
	cr_assert_eq(pci_dev_bdf(pa), 3 << 3);
	cr_assert_eq(pci_dev_new(v, &da, &info, &pa), -EBUSY);
	pci_dev_free(pc);
	pci_dev_free(pa);
	fake_vm_free(v);

	devs[0] = *b;
	cr_assert_eq(pci_cfg_check(&cfg, &err), -EINVAL);
	cr_assert(strstr(err.msg, "taken"), "%s", err.msg);
	dev_cfg_free(a);
	dev_cfg_free(b);
	dev_cfg_free(c);
}

Test(pci_cfg, too_many)
{
	struct cfg_device *c = dev_cfg_new(&tpci_type, "c", NULL);
	struct cfg_device devs[32];
	struct vm_config cfg = { .devices = devs, .nr_devices = 32 };
	struct cfg_error err = { 0 };

	for (unsigned i = 0; i < 32; i++)
		devs[i] = *c;
	cr_assert_eq(pci_cfg_check(&cfg, &err), -EINVAL);
	cfg.nr_devices = 31;
	cr_assert_eq(pci_cfg_check(&cfg, &err), 0);
	dev_cfg_free(c);
}
