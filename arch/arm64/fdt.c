/* SPDX-License-Identifier: MIT */
/*
 * The guest's device tree, built from its config with libfdt's sequential
 * write API. Written from the Devicetree Specification and the Linux DT
 * binding documents of each node:
 *
 *   /                  linux,dummy-virt (model vmm,virt), #address-cells =
 *                      #size-cells = 2, interrupt-parent = the GIC
 *   /memory@B          one per writable [memory] region
 *   /cpus/cpu@A        reg = the MPIDR affinity fields, enable-method psci
 *   /psci              PSCI 1.0/0.2 over HVC (KVM implements it)
 *   /interrupt-controller@B   arm,gic-v3 (+ msi-controller@B, the ITS) or
 *                      arm,cortex-a15-gic (GICv2)
 *   /timer             arm,armv8-timer, the four PPIs
 *   /apb-pclk          24 MHz fixed clock the AMBA (PrimeCell) devices name
 *   /serial@B, /rtc@B  pl011, ns16550a (uart8250 with an address), pl031
 *   /virtio@B          one per virtio device with transport = mmio
 *   /pcie@B            pci-host-ecam-generic when there is a PCI host
 *   /chosen, /aliases  bootargs, stdout-path, initrd, kaslr-seed and
 *                      rng-seed (fresh from getrandom(2) on every build,
 *                      left out if it has none); serialN
 *
 * Interrupt specifiers are <type number flags>: type 0 SPI (number from 0,
 * the same n as vm_set_irq()), 1 PPI; flags 1 edge rising, 4 level high,
 * plus for GICv2 PPIs the target CPU mask in bits 8-15. The virtual timer
 * KVM gives the guest is level high, so the timer PPIs say so on both GICs.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <libfdt.h>

#include "arch/arm64/arm64.h"
#include "devices/abi/arm64_virt.h"
#include "devices/pci.h"
#include "virtio/virtio.h"
#include "vmm/device.h"
#include "vmm/util.h"

#define PHANDLE_GIC 1
#define PHANDLE_ITS 2
#define PHANDLE_CLK 3

#define GIC_SPI		0
#define GIC_PPI		1
#define IRQ_EDGE_RISING 1
#define IRQ_LEVEL_HIGH	4
#define GICV2_MAX_CPUS	8
#define GIC_MAINT_PPI	9

#define RNG_SEED_SIZE	32 /* bytes of /chosen/rng-seed */
#define APB_PCLK_HZ	24000000u
#define NS16550_CLK_HZ	1843200u
#define NS16550_NR_REGS 8u

/* MPIDR_EL1 Aff0-2 (bits 0-23) and Aff3 (bits 32-39): what cpu reg holds */
#define MPIDR_AFF_MASK	0xff00ffffffull
#define MPIDR_AFF3_MASK 0xff00000000ull

/* PCI ranges: phys.hi space code (Open Firmware PCI bus binding) */
#define PCI_SPACE_IO	0x01000000u
#define PCI_SPACE_MEM32 0x02000000u
/* The 64-bit window is prefetchable (bit 30), as a PCI bridge's 64-bit
 * window is: Linux warns ("Memory resource size exceeds max for 32 bits")
 * about a non-prefetchable window above 4 GiB in size and places only
 * prefetchable BARs (ivshmem's shared memory) there; the VMM decodes any
 * memory BAR in either window. */
#define PCI_SPACE_MEM64 0x43000000u
#define PCI_MSI_RIDS	0x10000u /* every requester ID of segment 0 */

/* The builder: libfdt calls with the first error kept, so a node is a run
 * of calls and the result is checked once at the end. */
struct fdtb {
	void *fdt;
	int err; /* 0 or the first negative FDT_ERR_* */
};

static void fb_check(struct fdtb *b, int ret)
{
	if (ret < 0 && !b->err)
		b->err = ret;
}

static void fb_begin(struct fdtb *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void fb_begin(struct fdtb *b, const char *fmt, ...)
{
	char name[64];
	va_list ap;

	if (b->err)
		return;
	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	fb_check(b, fdt_begin_node(b->fdt, name));
}

static void fb_end(struct fdtb *b)
{
	if (!b->err)
		fb_check(b, fdt_end_node(b->fdt));
}

static void fb_empty(struct fdtb *b, const char *name)
{
	if (!b->err)
		fb_check(b, fdt_property(b->fdt, name, NULL, 0));
}

static void fb_str(struct fdtb *b, const char *name, const char *s)
{
	if (!b->err)
		fb_check(b, fdt_property_string(b->fdt, name, s));
}

/* A string list: n strings, each stored with its NUL. */
static void fb_strs(struct fdtb *b, const char *name, unsigned n,
		    const char *const *s)
{
	char buf[128];
	size_t len = 0;

	for (unsigned i = 0; i < n; i++) {
		size_t l = strlen(s[i]) + 1;

		if (len + l > sizeof(buf)) {
			fb_check(b, -FDT_ERR_INTERNAL);
			return;
		}
		memcpy(buf + len, s[i], l);
		len += l;
	}
	if (!b->err)
		fb_check(b, fdt_property(b->fdt, name, buf, (int)len));
}

static void fb_u32(struct fdtb *b, const char *name, uint32_t v)
{
	if (!b->err)
		fb_check(b, fdt_property_u32(b->fdt, name, v));
}

/* A property of n 32-bit cells. */
static void fb_cells(struct fdtb *b, const char *name, unsigned n,
		     const uint32_t *cells)
{
	void *val;
	fdt32_t *out;

	if (b->err)
		return;
	fb_check(b, fdt_property_placeholder(b->fdt, name,
					     (int)(n * sizeof(fdt32_t)), &val));
	if (b->err)
		return;
	out = val;
	for (unsigned i = 0; i < n; i++)
		out[i] = cpu_to_fdt32(cells[i]);
}

static void put64(uint32_t *cells, uint64_t v)
{
	cells[0] = (uint32_t)(v >> 32);
	cells[1] = (uint32_t)v;
}

/* reg = <base size> with 2 address and 2 size cells (the root's). */
static void fb_reg(struct fdtb *b, uint64_t base, uint64_t size)
{
	uint32_t c[4];

	put64(c, base);
	put64(c + 2, size);
	fb_cells(b, "reg", 4, c);
}

static void fb_u64(struct fdtb *b, const char *name, uint64_t v)
{
	uint32_t c[2];

	put64(c, v);
	fb_cells(b, name, 2, c);
}

static void fb_spi(struct fdtb *b, uint32_t spi, uint32_t flags)
{
	const uint32_t c[3] = { GIC_SPI, spi, flags };

	fb_cells(b, "interrupts", 3, c);
}

/* ---- the config's devices ---- */

/* A device's key, or NULL if its type has none (a key another device
 * model adds later must not abort here, as cfg_dev_value() would). */
static const struct cfg_value *dev_val(const struct cfg_device *d,
				       const char *key)
{
	for (unsigned i = 0; i < d->nr_values; i++)
		if (!strcmp(d->values[i].key, key))
			return &d->values[i];
	return NULL;
}

static uint64_t dev_num(const struct cfg_device *d, const char *key,
			uint64_t def)
{
	const struct cfg_value *v = dev_val(d, key);

	return v ? v->num : def;
}

static bool dev_is(const struct cfg_device *d, const char *type)
{
	return d->type && !strcmp(d->type->name, type);
}

enum uart_kind { UART_NONE, UART_PL011, UART_16550 };

static enum uart_kind uart_kind(const struct cfg_device *d)
{
	const struct cfg_value *addr;

	if (dev_is(d, "pl011"))
		return UART_PL011;
	if (!dev_is(d, "ns16550") && !dev_is(d, "uart8250"))
		return UART_NONE;
	/* uart8250 is at an I/O port unless it has an address */
	addr = dev_val(d, "address");
	if (!addr || (dev_is(d, "uart8250") && !addr->set))
		return UART_NONE;
	return UART_16550;
}

static uint64_t uart_base(const struct cfg_device *d)
{
	if (uart_kind(d) == UART_PL011)
		return dev_num(d, "address", ABI_PL011_BASE);
	return dev_num(d, "address", 0);
}

static bool virtio_mmio(const struct cfg_device *d)
{
	return d->type && !strncmp(d->type->name, "virtio-", 7) &&
	       virtio_cfg_transport(d) == VIRTIO_TRANSPORT_MMIO;
}

/* The UART /chosen/stdout-path names: the first pl011, else the first
 * 16550 with an address; NULL if none. */
static const struct cfg_device *stdout_uart(const struct vm_config *cfg)
{
	const struct cfg_device *first = NULL;

	for (unsigned i = 0; i < cfg->nr_devices; i++) {
		enum uart_kind k = uart_kind(&cfg->devices[i]);

		if (k == UART_PL011)
			return &cfg->devices[i];
		if (k == UART_16550 && !first)
			first = &cfg->devices[i];
	}
	return first;
}

/*
 * A PrimeCell device (the arm,primecell binding): NAME@BASE, compatible
 * COMPAT and "arm,primecell", SPI spi level-high, and the clocks: a UART's
 * uartclk and apb_pclk, any other device's apb_pclk.
 */
static void node_amba(struct fdtb *b, const char *name, const char *compat,
		      uint64_t base, uint64_t size, uint32_t spi, bool uart)
{
	static const char *const uart_names[] = { "uartclk", "apb_pclk" };
	const uint32_t clk[2] = { PHANDLE_CLK, PHANDLE_CLK };
	const char *const compats[] = { compat, "arm,primecell" };

	fb_begin(b, "%s@%" PRIx64, name, base);
	fb_strs(b, "compatible", 2, compats);
	fb_reg(b, base, size);
	fb_spi(b, spi, IRQ_LEVEL_HIGH);
	if (uart) {
		fb_cells(b, "clocks", 2, clk);
		fb_strs(b, "clock-names", 2, uart_names);
	} else {
		fb_cells(b, "clocks", 1, clk);
		fb_str(b, "clock-names", "apb_pclk");
	}
	fb_end(b);
}

static void node_pl011(struct fdtb *b, const struct cfg_device *d)
{
	node_amba(b, "serial", "arm,pl011", uart_base(d), ABI_PL011_SIZE,
		  (uint32_t)dev_num(d, "irq", ABI_PL011_IRQ), true);
}

static void node_pl031(struct fdtb *b, const struct cfg_device *d)
{
	node_amba(b, "rtc", "arm,pl031", dev_num(d, "address", ABI_PL031_BASE),
		  ABI_PL031_SIZE, (uint32_t)dev_num(d, "irq", ABI_PL031_IRQ),
		  false);
}

static void node_16550(struct fdtb *b, const struct cfg_device *d)
{
	uint64_t base = uart_base(d);
	uint32_t shift = (uint32_t)dev_num(d, "reg-shift", 0);
	const struct cfg_value *irq = dev_val(d, "irq");

	fb_begin(b, "serial@%" PRIx64, base);
	fb_str(b, "compatible", "ns16550a");
	fb_reg(b, base, (uint64_t)NS16550_NR_REGS << shift);
	if (irq)
		fb_spi(b, (uint32_t)irq->num, IRQ_LEVEL_HIGH);
	fb_u32(b, "clock-frequency", NS16550_CLK_HZ);
	if (shift) {
		fb_u32(b, "reg-shift", shift);
		/* 4 bytes apart: 32-bit accesses (the "reg-shift" doc) */
		fb_u32(b, "reg-io-width", shift == 2 ? 4 : 1);
	}
	fb_end(b);
}

static void node_virtio(struct fdtb *b, const struct cfg_device *d)
{
	uint64_t base = virtio_cfg_mmio_address(d);
	int irq = virtio_cfg_mmio_irq(d);

	fb_begin(b, "virtio@%" PRIx64, base);
	fb_str(b, "compatible", "virtio,mmio");
	fb_reg(b, base, ABI_VIRTIO_MMIO_SLOT_SIZE);
	if (irq >= 0)
		fb_spi(b, (uint32_t)irq, IRQ_EDGE_RISING);
	fb_empty(b, "dma-coherent");
	fb_end(b);
}

static void nodes_devices(struct fdtb *b, const struct vm_config *cfg)
{
	for (unsigned i = 0; i < cfg->nr_devices; i++) {
		const struct cfg_device *d = &cfg->devices[i];

		switch (uart_kind(d)) {
		case UART_PL011:
			node_pl011(b, d);
			continue;
		case UART_16550:
			node_16550(b, d);
			continue;
		case UART_NONE:
			break;
		}
		if (dev_is(d, "pl031"))
			node_pl031(b, d);
		else if (virtio_mmio(d))
			node_virtio(b, d);
	}
}

/* ---- the platform ---- */

static void nodes_memory(struct fdtb *b, const struct vm_config *cfg)
{
	for (unsigned i = 0; i < cfg->nr_mem; i++) {
		const struct cfg_memory *m = &cfg->mem[i];

		if (m->readonly || !m->size)
			continue;
		fb_begin(b, "memory@%" PRIx64, m->base);
		fb_str(b, "device_type", "memory");
		fb_reg(b, m->base, m->size);
		fb_end(b);
	}
}

static uint64_t vcpu_mpidr(const struct arm64_fdt_params *p, unsigned i)
{
	if (p->mpidr)
		return p->mpidr[i] & MPIDR_AFF_MASK;
	return ((uint64_t)(i / 16) << 8) | (i % 16);
}

static void node_cpus(struct fdtb *b, const struct vm_config *cfg,
		      const struct arm64_fdt_params *p)
{
	unsigned cells = 1;

	for (unsigned i = 0; i < cfg->vcpus; i++)
		if (vcpu_mpidr(p, i) & MPIDR_AFF3_MASK)
			cells = 2;

	fb_begin(b, "cpus");
	fb_u32(b, "#address-cells", cells);
	fb_u32(b, "#size-cells", 0);
	for (unsigned i = 0; i < cfg->vcpus; i++) {
		uint64_t mpidr = vcpu_mpidr(p, i);

		fb_begin(b, "cpu@%" PRIx64, mpidr);
		fb_str(b, "device_type", "cpu");
		fb_str(b, "compatible", "arm,armv8");
		fb_str(b, "enable-method", "psci");
		if (cells == 2)
			fb_u64(b, "reg", mpidr);
		else
			fb_u32(b, "reg", (uint32_t)mpidr);
		fb_end(b);
	}
	fb_end(b);
}

static void node_psci(struct fdtb *b)
{
	static const char *const compat[] = { "arm,psci-1.0", "arm,psci-0.2",
					      "arm,psci" };

	fb_begin(b, "psci");
	fb_strs(b, "compatible", ARRAY_SIZE(compat), compat);
	fb_str(b, "method", "hvc");
	fb_end(b);
}

static void node_gic(struct fdtb *b, const struct vm_config *cfg,
		     const struct arm64_fdt_params *p)
{
	const uint32_t maint[3] = { GIC_PPI, GIC_MAINT_PPI, IRQ_LEVEL_HIGH };
	uint32_t reg[8];

	fb_begin(b, "interrupt-controller@%" PRIx64,
		 (uint64_t)ABI_GIC_DIST_BASE);
	fb_u32(b, "#interrupt-cells", 3);
	fb_empty(b, "interrupt-controller");
	fb_u32(b, "phandle", PHANDLE_GIC);
	if (!p->gic_its) /* no children; dtc wants it of a provider */
		fb_u32(b, "#address-cells", 0);
	put64(reg, ABI_GIC_DIST_BASE);
	put64(reg + 2, ABI_GIC_DIST_SIZE);
	if (p->gic_version == 2) {
		fb_str(b, "compatible", "arm,cortex-a15-gic");
		put64(reg + 4, ABI_GIC_CPU_BASE);
		put64(reg + 6, ABI_GIC_CPU_SIZE);
		fb_cells(b, "reg", 8, reg);
		fb_end(b);
		return;
	}

	fb_str(b, "compatible", "arm,gic-v3");
	put64(reg + 4, ABI_GIC_REDIST_BASE);
	put64(reg + 6, cfg->vcpus * ABI_GIC_REDIST_STRIDE);
	fb_cells(b, "reg", 8, reg);
	fb_cells(b, "interrupts", 3, maint);
	if (p->gic_its) {
		/* the ITS is a child: addresses pass through unchanged */
		fb_u32(b, "#address-cells", 2);
		fb_u32(b, "#size-cells", 2);
		fb_empty(b, "ranges");
		fb_begin(b, "msi-controller@%" PRIx64,
			 (uint64_t)ABI_GIC_ITS_BASE);
		fb_str(b, "compatible", "arm,gic-v3-its");
		fb_empty(b, "msi-controller");
		fb_u32(b, "#msi-cells", 1);
		fb_u32(b, "phandle", PHANDLE_ITS);
		fb_reg(b, ABI_GIC_ITS_BASE, ABI_GIC_ITS_SIZE);
		fb_end(b);
	}
	fb_end(b);
}

static void node_timer(struct fdtb *b, const struct vm_config *cfg,
		       const struct arm64_fdt_params *p)
{
	static const uint32_t ppis[4] = { ABI_TIMER_PPI_SEC_PHYS,
					  ABI_TIMER_PPI_PHYS,
					  ABI_TIMER_PPI_VIRT,
					  ABI_TIMER_PPI_HYP };
	uint32_t flags = IRQ_LEVEL_HIGH, irqs[12];

	if (p->gic_version == 2)
		flags |= ((1u << MIN(cfg->vcpus, GICV2_MAX_CPUS)) - 1) << 8;
	for (unsigned i = 0; i < 4; i++) {
		irqs[3 * i] = GIC_PPI;
		irqs[3 * i + 1] = ppis[i];
		irqs[3 * i + 2] = flags;
	}
	fb_begin(b, "timer");
	fb_str(b, "compatible", "arm,armv8-timer");
	fb_cells(b, "interrupts", 12, irqs);
	fb_empty(b, "always-on");
	fb_end(b);
}

static void node_clock(struct fdtb *b)
{
	fb_begin(b, "apb-pclk");
	fb_str(b, "compatible", "fixed-clock");
	fb_u32(b, "#clock-cells", 0);
	fb_u32(b, "clock-frequency", APB_PCLK_HZ);
	fb_str(b, "clock-output-names", "clk24mhz");
	fb_u32(b, "phandle", PHANDLE_CLK);
	fb_end(b);
}

/* One ranges entry: PCI address (3 cells) = CPU address (2), size (2). */
static unsigned pci_range(uint32_t *c, uint32_t space, uint64_t pci,
			  uint64_t cpu, uint64_t size)
{
	c[0] = space;
	put64(c + 1, pci);
	put64(c + 3, cpu);
	put64(c + 5, size);
	return 7;
}

static void node_pci(struct fdtb *b, const struct arm64_fdt_params *p)
{
	const struct pci_layout *l = p->pci;
	const uint32_t bus_range[2] = { 0, 0 };
	const uint32_t msi_map[4] = { 0, PHANDLE_ITS, 0, PCI_MSI_RIDS };
	uint32_t ranges[21];
	unsigned n = 0;

	if (l->io_size)
		n += pci_range(ranges + n, PCI_SPACE_IO, 0, l->io_base,
			       l->io_size);
	if (l->mmio32_size)
		n += pci_range(ranges + n, PCI_SPACE_MEM32, l->mmio32_base,
			       l->mmio32_base, l->mmio32_size);
	if (l->mmio64_size)
		n += pci_range(ranges + n, PCI_SPACE_MEM64, l->mmio64_base,
			       l->mmio64_base, l->mmio64_size);

	fb_begin(b, "pcie@%" PRIx64, l->ecam_base);
	fb_str(b, "compatible", "pci-host-ecam-generic");
	fb_str(b, "device_type", "pci");
	fb_u32(b, "#address-cells", 3);
	fb_u32(b, "#size-cells", 2);
	fb_u32(b, "#interrupt-cells", 1);
	fb_cells(b, "bus-range", 2, bus_range);
	fb_u32(b, "linux,pci-domain", 0);
	/* ECAM for bus 0 only: 32 devices x 8 functions x 4 KiB */
	fb_reg(b, l->ecam_base, ABI_PCI_ECAM_SIZE);
	fb_cells(b, "ranges", n, ranges);
	fb_empty(b, "dma-coherent");
	if (p->gic_its)
		fb_cells(b, "msi-map", 4, msi_map);
	fb_end(b);
}

/* n random bytes without blocking (early in a host's boot the pool may not
 * be ready: then the kernel's best effort). False if there are none. */
static bool random_bytes(void *buf, size_t n)
{
	ssize_t got = getrandom(buf, n, GRND_NONBLOCK);

	if (got < 0 && errno == EAGAIN)
		got = getrandom(buf, n, GRND_INSECURE);
	return got == (ssize_t)n;
}

/* Seeds for the guest kernel's KASLR and its entropy pool, as the Linux
 * /chosen binding describes them. */
static void chosen_seeds(struct fdtb *b)
{
	uint8_t seed[RNG_SEED_SIZE];
	uint64_t kaslr;

	if (random_bytes(&kaslr, sizeof(kaslr)))
		fb_u64(b, "kaslr-seed", kaslr);
	if (!b->err && random_bytes(seed, sizeof(seed)))
		fb_check(b,
			 fdt_property(b->fdt, "rng-seed", seed, sizeof(seed)));
}

static void nodes_chosen(struct fdtb *b, const struct vm_config *cfg,
			 const struct arm64_fdt_params *p)
{
	const struct cfg_device *out = stdout_uart(cfg);
	char path[64];
	unsigned n = 0;

	if (out)
		snprintf(path, sizeof(path), "/serial@%" PRIx64,
			 uart_base(out));

	fb_begin(b, "chosen");
	fb_str(b, "bootargs", cfg->boot.cmdline ? cfg->boot.cmdline : "");
	if (out)
		fb_str(b, "stdout-path", path);
	if (p->initrd_size) {
		fb_u64(b, "linux,initrd-start", p->initrd_gpa);
		fb_u64(b, "linux,initrd-end", p->initrd_gpa + p->initrd_size);
	}
	chosen_seeds(b);
	fb_end(b);

	if (!out)
		return;
	/* serial0 is the console, then the other UARTs in config order */
	fb_begin(b, "aliases");
	fb_str(b, "serial0", path);
	for (unsigned i = 0; i < cfg->nr_devices; i++) {
		const struct cfg_device *d = &cfg->devices[i];
		char name[16], other[64];

		if (d == out || uart_kind(d) == UART_NONE)
			continue;
		snprintf(name, sizeof(name), "serial%u", ++n);
		snprintf(other, sizeof(other), "/serial@%" PRIx64,
			 uart_base(d));
		fb_str(b, name, other);
	}
	fb_end(b);
}

static int check_params(const struct vm_config *cfg,
			const struct arm64_fdt_params *p, char *err,
			size_t errlen)
{
	if (p->gic_version != 2 && p->gic_version != 3) {
		snprintf(err, errlen, "device tree: no GIC version %u",
			 p->gic_version);
		return -EINVAL;
	}
	if (p->gic_version == 2 && p->gic_its) {
		snprintf(err, errlen, "device tree: GICv2 has no ITS");
		return -EINVAL;
	}
	if (!cfg->vcpus ||
	    cfg->vcpus > (p->gic_version == 2 ? GICV2_MAX_CPUS
					      : ABI_GIC_REDIST_MAX_CPUS)) {
		snprintf(err, errlen,
			 "device tree: GICv%u cannot have %u vCPUs",
			 p->gic_version, cfg->vcpus);
		return -EINVAL;
	}
	return 0;
}

int arm64_fdt_build(const struct vm_config *cfg,
		    const struct arm64_fdt_params *p, void *buf, size_t size,
		    char *err, size_t errlen)
{
	struct fdtb b = { .fdt = buf };
	int ret = check_params(cfg, p, err, errlen);

	if (ret)
		return ret;

	fb_check(&b, fdt_create(buf, (int)MIN(size, (size_t)INT32_MAX)));
	if (!b.err)
		fb_check(&b, fdt_finish_reservemap(buf));
	fb_begin(&b, "%s", "");
	fb_str(&b, "model", "vmm,virt");
	fb_str(&b, "compatible", "linux,dummy-virt");
	fb_u32(&b, "#address-cells", 2);
	fb_u32(&b, "#size-cells", 2);
	fb_u32(&b, "interrupt-parent", PHANDLE_GIC);

	nodes_memory(&b, cfg);
	node_cpus(&b, cfg, p);
	node_psci(&b);
	node_gic(&b, cfg, p);
	node_timer(&b, cfg, p);
	node_clock(&b);
	nodes_devices(&b, cfg);
	if (p->pci)
		node_pci(&b, p);
	nodes_chosen(&b, cfg, p);
	fb_end(&b);

	if (!b.err)
		fb_check(&b, fdt_finish(buf));
	if (!b.err)
		fb_check(&b, fdt_pack(buf));
	if (b.err == -FDT_ERR_NOSPACE) {
		snprintf(err, errlen, "device tree: does not fit in %zu bytes",
			 size);
		return -ENOSPC;
	}
	if (b.err) {
		snprintf(err, errlen, "device tree: libfdt: %s",
			 fdt_strerror(b.err));
		return -EINVAL;
	}
	return 0;
}
