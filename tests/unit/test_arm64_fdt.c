/* SPDX-License-Identifier: MIT */
/*
 * The arm64 device tree (arch/arm64/fdt.c), built from configs loaded with
 * config_load_string() and read back with libfdt the way a guest reads it:
 * by path, property and cell, against the memory map of
 * devices/abi/arm64_virt.h and the binding documents, not against the
 * generator's helpers. Runs on every host (fdt.c needs no KVM).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/arm64/arm64.h"
#include "cfg_helpers.h"
#include "devices/abi/arm64_virt.h"
#include "devices/pci.h"
#include "virtio/virtio.h"

#define BUF_SIZE (64 * 1024)

static char tmpdir[64];
static struct vm_config cfg;
static bool cfg_loaded;
static uint8_t *fdt;

#define RAM   "[memory \"ram\"]\nbase = 0x40000000\nsize = 128M\n"
#define BOOT  "[boot]\nimage = Image\ncmdline = console=ttyAMA0 root=/dev/vda\n"
#define PL011 "[device \"uart0\"]\ntype = pl011\nconsole = none\n"
#define PL031 "[device \"rtc\"]\ntype = pl031\n"

static void setup(void)
{
	char path[128];
	FILE *f;

	cfg_test_mkdtemp(tmpdir, sizeof(tmpdir), "fdt");
	snprintf(path, sizeof(path), "%s/Image", tmpdir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	/* not really a kernel; 4 KiB, so it can back a flash region */
	for (unsigned i = 0; i < 4096; i++)
		fputc(i & 0xff, f);
	fclose(f);
	fdt = calloc(1, BUF_SIZE);
	cr_assert_not_null(fdt);
	cfg_loaded = false;
}

static void teardown(void)
{
	if (cfg_loaded)
		config_free(&cfg);
	free(fdt);
	cfg_test_rm_tree(tmpdir);
}

TestSuite(arm64_fdt, .init = setup, .fini = teardown);

static void load(const char *text)
{
	if (cfg_loaded)
		config_free(&cfg);
	cfg_test_load(&cfg, tmpdir, text);
	cfg_loaded = true;
}

static void build_p(const char *text, const struct arm64_fdt_params *p)
{
	char err[256] = "";
	int ret;

	load(text);
	memset(fdt, 0, BUF_SIZE);
	ret = arm64_fdt_build(&cfg, p, fdt, BUF_SIZE, err, sizeof(err));
	cr_assert_eq(ret, 0, "arm64_fdt_build: %d %s", ret, err);
	cr_assert_eq(fdt_check_header(fdt), 0);
	cr_assert_leq(fdt_totalsize(fdt), BUF_SIZE);
	cr_assert_eq(fdt_check_full(fdt, fdt_totalsize(fdt)), 0,
		     "fdt_check_full");
}

static void build(const char *text, unsigned gic)
{
	struct arm64_fdt_params p = { .gic_version = gic };

	build_p(text, &p);
}

static int node(const char *path)
{
	int off = fdt_path_offset(fdt, path);

	cr_assert_geq(off, 0, "no node %s: %s", path, fdt_strerror(off));
	return off;
}

static const void *prop(const char *path, const char *name, int *len)
{
	const void *v = fdt_getprop(fdt, node(path), name, len);

	cr_assert_not_null(v, "%s has no %s", path, name);
	return v;
}

static bool has_prop(const char *path, const char *name)
{
	return fdt_getprop(fdt, node(path), name, NULL) != NULL;
}

/* The property as 32-bit cells: count checked, values returned in out. */
static void cells(const char *path, const char *name, unsigned n, uint32_t *out)
{
	int len;
	const fdt32_t *c = prop(path, name, &len);

	cr_assert_eq(len, (int)(n * 4), "%s %s: %d bytes, expected %u", path,
		     name, len, n * 4);
	for (unsigned i = 0; i < n; i++)
		out[i] = fdt32_to_cpu(c[i]);
}

static uint32_t u32(const char *path, const char *name)
{
	uint32_t v;

	cells(path, name, 1, &v);
	return v;
}

static uint64_t u64_at(const uint32_t *c)
{
	return (uint64_t)c[0] << 32 | c[1];
}

static void expect_str(const char *path, const char *name, const char *want)
{
	int len;
	const char *s = prop(path, name, &len);

	cr_expect_eq(len, (int)strlen(want) + 1, "%s %s length", path, name);
	cr_expect_str_eq(s, want, "%s %s", path, name);
}

static void expect_compat(const char *path, const char *want)
{
	int len;
	const char *s = prop(path, "compatible", &len);

	cr_expect_eq(fdt_stringlist_contains(s, len, want), 1,
		     "%s is not compatible with %s", path, want);
}

/* reg = <base size> in the root's 2 + 2 cells */
static void expect_reg(const char *path, uint64_t base, uint64_t size)
{
	uint32_t c[4];

	cells(path, "reg", 4, c);
	cr_expect_eq(u64_at(c), base, "%s base %#llx", path,
		     (unsigned long long)u64_at(c));
	cr_expect_eq(u64_at(c + 2), size, "%s size %#llx", path,
		     (unsigned long long)u64_at(c + 2));
}

static unsigned count_subnodes(const char *path, const char *prefix)
{
	unsigned n = 0;
	int sub;

	fdt_for_each_subnode(sub, fdt, node(path))
	{
		const char *name = fdt_get_name(fdt, sub, NULL);

		n += !strncmp(name, prefix, strlen(prefix));
	}
	return n;
}

Test(arm64_fdt, root_and_memory)
{
	uint32_t c[1];

	build("[memory \"ram\"]\nbase = 0x40000000\nsize = 256M\n"
	      "[memory \"hi\"]\nbase = 0x100000000\nsize = 16M\n"
	      "[memory \"flash\"]\nbase = 0\nsize = 4K\nfile = Image\n"
	      "readonly = yes\n" BOOT,
	      3);
	expect_str("/", "compatible", "linux,dummy-virt");
	expect_str("/", "model", "vmm,virt");
	cr_expect_eq(u32("/", "#address-cells"), 2);
	cr_expect_eq(u32("/", "#size-cells"), 2);

	expect_str("/memory@40000000", "device_type", "memory");
	expect_reg("/memory@40000000", 0x40000000, 256 << 20);
	expect_str("/memory@100000000", "device_type", "memory");
	expect_reg("/memory@100000000", 0x100000000ull, 16 << 20);
	/* the read-only region is not RAM */
	cr_expect_lt(fdt_path_offset(fdt, "/memory@0"), 0);
	cr_expect_eq(count_subnodes("/", "memory@"), 2);

	/* interrupt-parent names the GIC */
	cells("/", "interrupt-parent", 1, c);
	cr_expect_eq(fdt_node_offset_by_phandle(fdt, c[0]),
		     node("/interrupt-controller@8000000"));
}

static void check_cpus(unsigned n)
{
	char path[32];

	cr_expect_eq(u32("/cpus", "#address-cells"), 1);
	cr_expect_eq(u32("/cpus", "#size-cells"), 0);
	cr_expect_eq(count_subnodes("/cpus", "cpu@"), n);
	for (unsigned i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/cpus/cpu@%x", i);
		expect_str(path, "device_type", "cpu");
		expect_compat(path, "arm,armv8");
		expect_str(path, "enable-method", "psci");
		cr_expect_eq(u32(path, "reg"), i, "%s reg", path);
	}
}

Test(arm64_fdt, one_cpu)
{
	build(RAM BOOT, 3);
	check_cpus(1);
}

Test(arm64_fdt, four_cpus)
{
	build("[vm]\nvcpus = 4\n" RAM BOOT, 3);
	check_cpus(4);
}

Test(arm64_fdt, cpu_reg_is_mpidr_affinity)
{
	/* given MPIDRs: RES1 bit 31 and MT bit 24 are not affinity; Aff3
	 * makes the addresses two cells */
	static const uint64_t mpidr[2] = { 0x81000000ull,
					   0x8000000000ull | 1u << 31 };
	struct arm64_fdt_params p = { .gic_version = 3, .mpidr = mpidr };
	uint32_t c[2];

	/* KVM's default for vCPU 17: Aff1 1, Aff0 1 */
	build("[vm]\nvcpus = 18\n" RAM BOOT, 3);
	cr_expect_eq(u32("/cpus/cpu@101", "reg"), 0x101);
	cr_expect_eq(u32("/cpus/cpu@f", "reg"), 0xf);
	cr_expect_eq(count_subnodes("/cpus", "cpu@"), 18);

	build_p("[vm]\nvcpus = 2\n" RAM BOOT, &p);
	cr_expect_eq(u32("/cpus", "#address-cells"), 2);
	cells("/cpus/cpu@0", "reg", 2, c);
	cr_expect_eq(u64_at(c), 0);
	cells("/cpus/cpu@8000000000", "reg", 2, c);
	cr_expect_eq(u64_at(c), 0x8000000000ull);
}

Test(arm64_fdt, psci)
{
	int len;
	const char *s;

	build(RAM BOOT, 3);
	expect_str("/psci", "method", "hvc");
	s = prop("/psci", "compatible", &len);
	cr_expect_str_eq(s, "arm,psci-1.0"); /* the most specific first */
	expect_compat("/psci", "arm,psci-0.2");
	expect_compat("/psci", "arm,psci");
}

Test(arm64_fdt, gicv3)
{
	const char *gic = "/interrupt-controller@8000000";
	uint32_t c[8];

	build("[vm]\nvcpus = 4\n" RAM BOOT, 3);
	expect_str(gic, "compatible", "arm,gic-v3");
	cr_expect(has_prop(gic, "interrupt-controller"));
	cr_expect_eq(u32(gic, "#interrupt-cells"), 3);
	cells(gic, "reg", 8, c);
	cr_expect_eq(u64_at(c), ABI_GIC_DIST_BASE);
	cr_expect_eq(u64_at(c + 2), ABI_GIC_DIST_SIZE);
	cr_expect_eq(u64_at(c + 4), ABI_GIC_REDIST_BASE);
	cr_expect_eq(u64_at(c + 6), 4 * ABI_GIC_REDIST_STRIDE);
	/* maintenance interrupt: PPI 9, level high */
	cells(gic, "interrupts", 3, c);
	cr_expect_eq(c[0], 1);
	cr_expect_eq(c[1], 9);
	cr_expect_eq(c[2], 4);
	/* no ITS unless asked for */
	cr_expect_eq(count_subnodes(gic, "msi-controller"), 0);
	cr_expect_lt(fdt_node_offset_by_compatible(fdt, -1, "arm,gic-v3-its"),
		     0);
}

Test(arm64_fdt, gicv3_its)
{
	const char *its =
		"/interrupt-controller@8000000/msi-controller@8080000";
	const char *gic = "/interrupt-controller@8000000";
	struct arm64_fdt_params p = { .gic_version = 3, .gic_its = true };
	int len;

	build_p(RAM BOOT, &p);
	expect_str(its, "compatible", "arm,gic-v3-its");
	cr_expect(has_prop(its, "msi-controller"));
	cr_expect_eq(u32(its, "#msi-cells"), 1);
	expect_reg(its, ABI_GIC_ITS_BASE, ABI_GIC_ITS_SIZE);
	cr_expect_gt(fdt_get_phandle(fdt, node(its)), 0);
	/* the parent translates the child's 2+2-cell reg 1:1 */
	cr_expect_eq(u32(gic, "#address-cells"), 2);
	cr_expect_eq(u32(gic, "#size-cells"), 2);
	prop(gic, "ranges", &len);
	cr_expect_eq(len, 0);
}

Test(arm64_fdt, gicv2)
{
	const char *gic = "/interrupt-controller@8000000";
	uint32_t c[12];

	build("[vm]\nvcpus = 4\n" RAM BOOT, 2);
	expect_str(gic, "compatible", "arm,cortex-a15-gic");
	cr_expect(has_prop(gic, "interrupt-controller"));
	cr_expect_eq(u32(gic, "#interrupt-cells"), 3);
	cells(gic, "reg", 8, c);
	cr_expect_eq(u64_at(c), ABI_GIC_DIST_BASE);
	cr_expect_eq(u64_at(c + 2), ABI_GIC_DIST_SIZE);
	cr_expect_eq(u64_at(c + 4), ABI_GIC_CPU_BASE);
	cr_expect_eq(u64_at(c + 6), ABI_GIC_CPU_SIZE);
	cr_expect_eq(count_subnodes(gic, "msi-controller"), 0);
	/* timer PPIs carry the CPU mask of 4 CPUs in bits 8-15 */
	cells("/timer", "interrupts", 12, c);
	for (unsigned i = 0; i < 4; i++)
		cr_expect_eq(c[3 * i + 2], 0xf04, "PPI %u flags %#x",
			     c[3 * i + 1], c[3 * i + 2]);
}

Test(arm64_fdt, timer)
{
	static const uint32_t want[12] = { 1, 13, 4, 1, 14, 4,
					   1, 11, 4, 1, 10, 4 };
	uint32_t c[12];

	build("[vm]\nvcpus = 2\n" RAM BOOT, 3);
	expect_compat("/timer", "arm,armv8-timer");
	cr_expect(has_prop("/timer", "always-on"));
	cells("/timer", "interrupts", 12, c);
	for (unsigned i = 0; i < 12; i++)
		cr_expect_eq(c[i], want[i], "cell %u: %u", i, c[i]);
}

Test(arm64_fdt, chosen)
{
	struct arm64_fdt_params p = { .gic_version = 3,
				      .initrd_gpa = 0x48000000,
				      .initrd_size = 0x123456 };
	uint32_t c[2];
	const char *out;
	int len;

	build_p(RAM BOOT PL011 PL031, &p);
	expect_str("/chosen", "bootargs", "console=ttyAMA0 root=/dev/vda");
	out = prop("/chosen", "stdout-path", &len);
	cr_expect_str_eq(out, "/serial@9000000");
	expect_compat(out, "arm,pl011");
	expect_str("/aliases", "serial0", "/serial@9000000");
	cells("/chosen", "linux,initrd-start", 2, c);
	cr_expect_eq(u64_at(c), 0x48000000);
	cells("/chosen", "linux,initrd-end", 2, c);
	cr_expect_eq(u64_at(c), 0x48000000 + 0x123456);

	/* no initrd, no UART */
	build(RAM BOOT, 3);
	cr_expect(!has_prop("/chosen", "linux,initrd-start"));
	cr_expect(!has_prop("/chosen", "linux,initrd-end"));
	cr_expect(!has_prop("/chosen", "stdout-path"));
}

/* The random seeds of /chosen, zeroed (sizes unchanged) so that two builds
 * compare equal byte for byte. */
static void zero_seeds(void *blob)
{
	static const uint8_t zero[32];
	int off = fdt_path_offset(blob, "/chosen");

	cr_assert_geq(off, 0);
	cr_assert_eq(fdt_setprop_inplace(blob, off, "kaslr-seed", zero, 8), 0);
	cr_assert_eq(fdt_setprop_inplace(blob, off, "rng-seed", zero, 32), 0);
}

Test(arm64_fdt, seeds)
{
	uint8_t first[8 + 32], second[8 + 32];
	const void *v;
	int len;

	build(RAM BOOT, 3);
	v = prop("/chosen", "kaslr-seed", &len);
	cr_assert_eq(len, 8);
	memcpy(first, v, 8);
	v = prop("/chosen", "rng-seed", &len);
	cr_assert_eq(len, 32);
	memcpy(first + 8, v, 32);

	/* fresh ones every build */
	build(RAM BOOT, 3);
	memcpy(second, prop("/chosen", "kaslr-seed", &len), 8);
	memcpy(second + 8, prop("/chosen", "rng-seed", &len), 32);
	cr_expect_neq(memcmp(first, second, sizeof(first)), 0);
}

Test(arm64_fdt, amba_devices)
{
	const char *uart = "/serial@9000000", *rtc = "/rtc@9010000";
	uint32_t c[3];
	int clk;

	build(RAM BOOT PL011 PL031, 3);
	expect_compat(uart, "arm,pl011");
	expect_compat(uart, "arm,primecell");
	expect_reg(uart, ABI_PL011_BASE, ABI_PL011_SIZE);
	cells(uart, "interrupts", 3, c);
	cr_expect_eq(c[0], 0);
	cr_expect_eq(c[1], ABI_PL011_IRQ);
	cr_expect_eq(c[2], 4);
	expect_compat(rtc, "arm,pl031");
	expect_compat(rtc, "arm,primecell");
	expect_reg(rtc, ABI_PL031_BASE, ABI_PL031_SIZE);
	cells(rtc, "interrupts", 3, c);
	cr_expect_eq(c[1], ABI_PL031_IRQ);

	/* both clocks of the UART and the RTC's one: the 24 MHz clock */
	cells(uart, "clocks", 2, c);
	cr_expect_eq(c[0], c[1]);
	clk = fdt_node_offset_by_phandle(fdt, c[0]);
	cr_assert_geq(clk, 0);
	cr_expect_eq(fdt_node_check_compatible(fdt, clk, "fixed-clock"), 0);
	cr_expect_eq(fdt32_to_cpu(*(const fdt32_t *)fdt_getprop(
			     fdt, clk, "clock-frequency", NULL)),
		     24000000);
	cr_expect_eq(fdt32_to_cpu(*(const fdt32_t *)fdt_getprop(
			     fdt, clk, "#clock-cells", NULL)),
		     0);
	cr_expect_eq(fdt_stringlist_count(fdt, node(uart), "clock-names"), 2);
	cr_expect_str_eq(
		fdt_stringlist_get(fdt, node(uart), "clock-names", 0, NULL),
		"uartclk");
	cr_expect_str_eq(
		fdt_stringlist_get(fdt, node(uart), "clock-names", 1, NULL),
		"apb_pclk");
	cells(rtc, "clocks", 1, c);
	cr_expect_eq(fdt_node_offset_by_phandle(fdt, c[0]), clk);
	expect_str(rtc, "clock-names", "apb_pclk");
}

Test(arm64_fdt, moved_pl011)
{
	uint32_t c[3];

	build(RAM BOOT "[device \"uart0\"]\ntype = pl011\nconsole = none\n"
		       "address = 0x9100000\nirq = 7\n",
	      3);
	expect_reg("/serial@9100000", 0x9100000, ABI_PL011_SIZE);
	cells("/serial@9100000", "interrupts", 3, c);
	cr_expect_eq(c[1], 7);
	expect_str("/chosen", "stdout-path", "/serial@9100000");
}

Test(arm64_fdt, ns16550)
{
	const char *u = "/serial@9040000";
	uint32_t c[3];

	/* a 16550 first, then the pl011: the pl011 is still the console */
	build(RAM BOOT "[device \"com\"]\ntype = ns16550\naddress = 0x9040000\n"
		       "irq = 5\nreg-shift = 2\nconsole = none\n" PL011
		       "[device \"com1\"]\ntype = uart8250\nconsole = none\n",
	      3);
	expect_str(u, "compatible", "ns16550a");
	expect_reg(u, 0x9040000, 32);
	cr_expect_eq(u32(u, "clock-frequency"), 1843200);
	cr_expect_eq(u32(u, "reg-shift"), 2);
	cr_expect_eq(u32(u, "reg-io-width"), 4);
	cells(u, "interrupts", 3, c);
	cr_expect_eq(c[0], 0);
	cr_expect_eq(c[1], 5);
	cr_expect_eq(c[2], 4);
	expect_str("/chosen", "stdout-path", "/serial@9000000");
	expect_str("/aliases", "serial0", "/serial@9000000");
	expect_str("/aliases", "serial1", u);
	/* the port-I/O uart8250 has no node */
	cr_expect_eq(count_subnodes("/", "serial@"), 2);

	/* only a uart8250 with an address: it is the console */
	build(RAM BOOT
	      "[device \"com\"]\ntype = uart8250\naddress = 0x9050000\n"
	      "irq = 6\nconsole = none\n",
	      3);
	expect_str("/chosen", "stdout-path", "/serial@9050000");
	expect_reg("/serial@9050000", 0x9050000, 8);
	cr_expect(!has_prop("/serial@9050000", "reg-shift"));
}

Test(arm64_fdt, virtio_mmio)
{
	char path[64];
	uint32_t c[3];
	unsigned seen = 0;

	build(RAM BOOT
	      "[device \"rng0\"]\ntype = virtio-rng\ntransport = mmio\n"
	      "[device \"rng1\"]\ntype = virtio-rng\ntransport = mmio\n"
	      "slot = 3\n"
	      "[device \"rng2\"]\ntype = virtio-rng\ntransport = mmio\n"
	      "slot = 9\nirq = 40\n"
	      "[device \"rng3\"]\ntype = virtio-rng\ntransport = pci\n",
	      3);
	for (unsigned i = 0; i < cfg.nr_devices; i++) {
		const struct cfg_device *d = &cfg.devices[i];
		uint64_t addr;

		if (virtio_cfg_transport(d) != VIRTIO_TRANSPORT_MMIO)
			continue;
		addr = virtio_cfg_mmio_address(d);
		snprintf(path, sizeof(path), "/virtio@%llx",
			 (unsigned long long)addr);
		expect_str(path, "compatible", "virtio,mmio");
		expect_reg(path, addr, ABI_VIRTIO_MMIO_SLOT_SIZE);
		cells(path, "interrupts", 3, c);
		cr_expect_eq(c[0], 0, "%s: SPI", path);
		cr_expect_eq(c[1], (uint32_t)virtio_cfg_mmio_irq(d), "%s irq",
			     path);
		cr_expect_eq(c[2], 1, "%s: edge rising", path);
		cr_expect(has_prop(path, "dma-coherent"));
		seen++;
	}
	cr_expect_eq(seen, 3);
	cr_expect_eq(count_subnodes("/", "virtio@"), 3);
}

static const struct pci_layout arm64_pci = {
	.ecam_base = ABI_PCI_ECAM_BASE,
	.mmio32_base = ABI_PCI_MMIO32_BASE,
	.mmio32_size = ABI_PCI_MMIO32_SIZE,
	.mmio64_base = ABI_PCI_MMIO64_BASE,
	.mmio64_size = ABI_PCI_MMIO64_SIZE,
};

Test(arm64_fdt, pci_host)
{
	const char *pci = "/pcie@3f000000";
	struct arm64_fdt_params p = { .gic_version = 3,
				      .gic_its = true,
				      .pci = &arm64_pci };
	uint32_t c[14];
	int its;

	build_p(RAM BOOT, &p);
	expect_str(pci, "compatible", "pci-host-ecam-generic");
	expect_str(pci, "device_type", "pci");
	cr_expect_eq(u32(pci, "#address-cells"), 3);
	cr_expect_eq(u32(pci, "#size-cells"), 2);
	cr_expect_eq(u32(pci, "#interrupt-cells"), 1);
	cr_expect(has_prop(pci, "dma-coherent"));
	expect_reg(pci, ABI_PCI_ECAM_BASE, ABI_PCI_ECAM_SIZE);
	cells(pci, "bus-range", 2, c);
	cr_expect_eq(c[0], 0);
	cr_expect_eq(c[1], 0);

	/* no I/O window: 32-bit MMIO then 64-bit MMIO, PCI = CPU address */
	cells(pci, "ranges", 14, c);
	cr_expect_eq(c[0], 0x02000000);
	cr_expect_eq(u64_at(c + 1), ABI_PCI_MMIO32_BASE);
	cr_expect_eq(u64_at(c + 3), ABI_PCI_MMIO32_BASE);
	cr_expect_eq(u64_at(c + 5), ABI_PCI_MMIO32_SIZE);
	cr_expect_eq(c[7], 0x43000000); /* 64-bit, prefetchable */
	cr_expect_eq(u64_at(c + 8), ABI_PCI_MMIO64_BASE);
	cr_expect_eq(u64_at(c + 10), ABI_PCI_MMIO64_BASE);
	cr_expect_eq(u64_at(c + 12), ABI_PCI_MMIO64_SIZE);

	/* every requester ID to the ITS, device ID = RID */
	cells(pci, "msi-map", 4, c);
	its = node("/interrupt-controller@8000000/msi-controller@8080000");
	cr_expect_eq(c[0], 0);
	cr_expect_eq(fdt_node_offset_by_phandle(fdt, c[1]), its);
	cr_expect_eq(c[2], 0);
	cr_expect_eq(c[3], 0x10000);
}

Test(arm64_fdt, pci_io_window_no_its)
{
	const char *pci = "/pcie@3f000000";
	struct pci_layout l = arm64_pci;
	struct arm64_fdt_params p = { .gic_version = 3, .pci = &l };
	uint32_t c[21];

	l.io_base = ABI_PCI_IO_BASE;
	l.io_size = 0x10000;
	build_p(RAM BOOT, &p);
	cells(pci, "ranges", 21, c);
	cr_expect_eq(c[0], 0x01000000);
	cr_expect_eq(u64_at(c + 1), 0); /* port 0 */
	cr_expect_eq(u64_at(c + 3), ABI_PCI_IO_BASE);
	cr_expect_eq(u64_at(c + 5), 0x10000);
	cr_expect(!has_prop(pci, "msi-map"));

	/* no PCI: no node */
	build(RAM BOOT, 3);
	cr_expect_lt(fdt_path_offset(fdt, pci), 0);
}

Test(arm64_fdt, no_space)
{
	struct arm64_fdt_params p = { .gic_version = 3 };
	char err[256] = "";
	uint32_t size;
	uint8_t *exact;

	build_p("[vm]\nvcpus = 4\n" RAM BOOT PL011 PL031, &p);
	size = fdt_totalsize(fdt);

	cr_expect_eq(arm64_fdt_build(&cfg, &p, fdt, 256, err, sizeof(err)),
		     -ENOSPC);
	cr_expect(strstr(err, "does not fit in 256 bytes"), "%s", err);

	/* building needs the packed size + 8 bytes (the sequential-write
	 * API puts the reserve map 16-byte aligned, fdt_pack() 8-byte) */
	exact = malloc(size + 8);
	cr_assert_not_null(exact);
	cr_expect_eq(
		arm64_fdt_build(&cfg, &p, exact, size + 8, err, sizeof(err)), 0,
		"%s", err);
	cr_expect_eq(fdt_totalsize(exact), size);
	cr_expect_eq(arm64_fdt_build(&cfg, &p, fdt, BUF_SIZE, err, sizeof(err)),
		     0, "%s", err);
	zero_seeds(exact);
	zero_seeds(fdt);
	cr_expect_eq(memcmp(exact, fdt, size), 0);
	cr_expect_eq(
		arm64_fdt_build(&cfg, &p, exact, size - 1, err, sizeof(err)),
		-ENOSPC);
	free(exact);
}

Test(arm64_fdt, bad_params)
{
	struct arm64_fdt_params p = { .gic_version = 4 };
	char err[256] = "";

	load("[vm]\nvcpus = 9\n" RAM BOOT);
	cr_expect_eq(arm64_fdt_build(&cfg, &p, fdt, BUF_SIZE, err, sizeof(err)),
		     -EINVAL);
	cr_expect(strstr(err, "GIC version 4"), "%s", err);

	p.gic_version = 2;
	cr_expect_eq(arm64_fdt_build(&cfg, &p, fdt, BUF_SIZE, err, sizeof(err)),
		     -EINVAL);
	cr_expect(strstr(err, "9 vCPUs"), "%s", err);

	p.gic_its = true;
	cr_expect_eq(arm64_fdt_build(&cfg, &p, fdt, BUF_SIZE, err, sizeof(err)),
		     -EINVAL);
	cr_expect(strstr(err, "ITS"), "%s", err);
}
