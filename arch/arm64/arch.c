/* SPDX-License-Identifier: MIT */
/*
 * arch/arch.h for arm64: a QEMU-virt-like board (devices/abi/arm64_virt.h)
 * on KVM with an in-kernel vGIC (gic.c), PSCI 0.2+ and the architected
 * timer in the kernel, vCPU state in cpu.c, boot images and the device tree
 * in boot.c (fdt.c builds the tree). docs/arm64.md describes the platform.
 */
#include <errno.h>
#include <libfdt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/arch.h"
#include "arch/arm64/arm64.h"
#include "arch/arm64/internal.h"
#include "devices/abi/arm64_virt.h"
#include "devices/pci.h"
#include "vmm/device.h"
#include "vmm/platform.h"
#include "vmm/util.h"
#include "vmm/vm_impl.h"

const char arch_name[] = "arm64";

_Static_assert(VMM_MAX_VCPUS <= ABI_GIC_REDIST_MAX_CPUS,
	       "the redistributor region must fit every vCPU");
_Static_assert(VM_MAX_CHIP_ROUTES >= ABI_GIC_NR_SPIS,
	       "every SPI must keep its GSI route next to the MSI routes");

/* The GIC's frames: RAM and devices must stay clear of them. */
static const struct platform_region gic_regions[] = {
	{ ABI_GIC_DIST_BASE, ABI_GIC_DIST_SIZE, "GIC distributor" },
	{ ABI_GIC_CPU_BASE, ABI_GIC_CPU_SIZE, "GICv2 CPU interface" },
	{ ABI_GIC_ITS_BASE, ABI_GIC_ITS_SIZE, "GICv3 ITS" },
	{ ABI_GIC_REDIST_BASE, ABI_GIC_REDIST_SIZE, "GICv3 redistributors" },
};

/* The PCI host bridge's regions, there when a PCI device is configured. */
static const struct platform_region pci_regions[] = {
	{ ABI_PCI_MMIO32_BASE, ABI_PCI_MMIO32_SIZE,
	  "PCI 32-bit memory window" },
	{ ABI_PCI_ECAM_BASE, ABI_PCI_ECAM_SIZE, "PCI ECAM" },
	{ ABI_PCI_MMIO64_BASE, ABI_PCI_MMIO64_SIZE,
	  "PCI 64-bit memory window" },
};

static const struct pci_layout pci_layout_arm64 = {
	.ecam_base = ABI_PCI_ECAM_BASE,
	.io_base = ABI_PCI_IO_BASE,
	.io_size = 0, /* no port I/O on arm64 */
	.mmio32_base = ABI_PCI_MMIO32_BASE,
	.mmio32_size = ABI_PCI_MMIO32_SIZE,
	.mmio64_base = ABI_PCI_MMIO64_BASE,
	.mmio64_size = ABI_PCI_MMIO64_SIZE,
	.type1_ports = false,
};

/*
 * Whether the VM being built has an ITS (arch_vm_init()): arch_pci_layout()
 * has no VM to ask, and a process builds one VM at a time.
 */
static bool vm_has_its;

static int check_memory(const struct vm_config *cfg, struct cfg_error *err)
{
	bool pci = pci_cfg_wanted(cfg), ram = false;
	int ret = 0;

	for (unsigned i = 0; !ret && i < cfg->nr_mem; i++) {
		const struct cfg_memory *m = &cfg->mem[i];

		ram |= !m->readonly;
		ret = platform_check_mem(m, gic_regions,
					 ARRAY_SIZE(gic_regions), "", err);
		if (!ret && pci)
			ret = platform_check_mem(
				m, pci_regions, ARRAY_SIZE(pci_regions),
				" (there is a PCI device)", err);
	}
	if (ret)
		return ret;
	if (!ram) {
		cfg_error_at(err, &cfg->boot.image_loc, "boot", "image",
			     "no writable [memory] region to load the image "
			     "into (arm64 RAM usually starts at 0x%llx)",
			     (unsigned long long)ABI_RAM_BASE);
		return -EINVAL;
	}
	return 0;
}

static int check_resource(const struct vm_config *cfg,
			  const struct cfg_device *d,
			  const struct dev_resource *rr, struct cfg_error *err)
{
	int ret;

	switch (rr->kind) {
	case DEV_RES_PIO:
		cfg_dev_error(err, d, rr->key,
			      "arm64 has no port I/O: device type %s needs "
			      "port 0x%llx (use an MMIO device: pl011, or "
			      "uart8250/ns16550 with `address`)",
			      d->type->name, (unsigned long long)rr->base);
		return -EINVAL;
	case DEV_RES_IRQ:
		if (rr->base >= ABI_GIC_NR_SPIS) {
			cfg_dev_error(err, d, rr->key,
				      "SPI %llu does not exist: the GIC has "
				      "SPIs 0 to %u (INTID 32 + n)",
				      (unsigned long long)rr->base,
				      ABI_GIC_NR_SPIS - 1);
			return -EINVAL;
		}
		return 0;
	case DEV_RES_MMIO:
		ret = platform_check_res(d, rr, gic_regions,
					 ARRAY_SIZE(gic_regions), err);
		if (!ret && pci_cfg_wanted(cfg))
			ret = platform_check_res(d, rr, pci_regions,
						 ARRAY_SIZE(pci_regions), err);
		return ret;
	}
	return 0;
}

static int check_devices(const struct vm_config *cfg, struct cfg_error *err)
{
	int ret = platform_check_devices(cfg, check_resource, err);

	return ret ? ret : pci_cfg_check(cfg, err);
}

/* [boot] dtb: a flattened device tree Linux would take. */
static int check_dtb(const struct cfg_boot *b, struct cfg_error *err)
{
	uint8_t hdr[sizeof(struct fdt_header)];
	struct stat st;
	FILE *f;
	int ret;

	if (!b->dtb)
		return 0;
	f = fopen(b->dtb, "rb");
	if (!f || fstat(fileno(f), &st) < 0) {
		cfg_error_at(err, &b->dtb_loc, "boot", "dtb", "'%s': %s",
			     b->dtb, strerror(errno));
		if (f)
			fclose(f);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size > ABI_DTB_MAX_SIZE) {
		cfg_error_at(err, &b->dtb_loc, "boot", "dtb",
			     "'%s' is %llu bytes; a device tree may have at "
			     "most %llu (2 MiB)",
			     b->dtb, (unsigned long long)st.st_size,
			     (unsigned long long)ABI_DTB_MAX_SIZE);
		fclose(f);
		return -EINVAL;
	}
	memset(hdr, 0, sizeof(hdr));
	if (fread(hdr, 1, sizeof(hdr), f) != sizeof(hdr))
		ret = -FDT_ERR_TRUNCATED;
	else
		ret = fdt_check_header(hdr);
	fclose(f);
	if (!ret && fdt_totalsize(hdr) > (uint64_t)st.st_size)
		ret = -FDT_ERR_TRUNCATED;
	if (ret) {
		cfg_error_at(err, &b->dtb_loc, "boot", "dtb",
			     "'%s' is not a flattened device tree (.dtb): %s",
			     b->dtb, fdt_strerror(ret));
		return -EINVAL;
	}
	return 0;
}

static int check_boot(const struct vm_config *cfg, struct cfg_error *err)
{
	const struct cfg_boot *b = &cfg->boot;

	switch (b->format) {
	case BOOT_FORMAT_MULTIBOOT:
	case BOOT_FORMAT_MULTIBOOT2:
	case BOOT_FORMAT_PVH:
		cfg_error_at(err, &b->format_loc, "boot", "format",
			     "%s is an x86 boot protocol; arm64 boots auto, "
			     "elf, raw or linux (an arm64 Image)",
			     boot_format_name(b->format));
		return -EINVAL;
	default:
		break;
	}
	if (b->mode != CPU_MODE_DEFAULT) {
		cfg_error_at(err, &b->mode_loc, "boot", "mode",
			     "arm64 has no x86 CPU modes: every image starts "
			     "at EL1 with the MMU off (remove the key)");
		return -EINVAL;
	}
	return check_dtb(b, err);
}

int arch_check_config(const struct vm_config *cfg, struct cfg_error *err)
{
	int ret = check_boot(cfg, err);

	if (!ret)
		ret = check_memory(cfg, err);
	if (!ret)
		ret = check_devices(cfg, err);
	return ret;
}

void arch_print_layout(const struct vm_config *cfg, FILE *out)
{
	fprintf(out, "\narm64 platform (in-kernel GICv3, or GICv2 on hosts "
		     "without v3):\n");
	platform_print_regions(out, gic_regions, ARRAY_SIZE(gic_regions));
	fprintf(out, "  PSCI 0.2+ (hvc), architected timer (PPIs %u, %u)\n",
		ABI_TIMER_PPI_VIRT, ABI_TIMER_PPI_PHYS);
	if (!pci_cfg_wanted(cfg))
		return;
	fprintf(out, "\nPCI host bridge (00:00.0, bus 0; MSIs through the "
		     "GICv3 ITS, no INTx):\n");
	platform_print_regions(out, pci_regions, ARRAY_SIZE(pci_regions));
}

const struct pci_layout *arm64_pci(const struct vm_config *cfg, bool its)
{
	return its && pci_cfg_wanted(cfg) ? &pci_layout_arm64 : NULL;
}

int arch_vm_init(struct vm *vm)
{
	struct arm64_vm *av;
	int ret;

	av = calloc(1, sizeof(*av));
	if (!av) {
		log_err("out of memory for the arm64 VM state");
		return -ENOMEM;
	}
	av->gic.fd = av->gic.its_fd = -1;
	vm->arch = av;
	vm_has_its = false;
	if (ioctl(vm->vm_fd, KVM_ARM_PREFERRED_TARGET, &av->preferred) < 0) {
		ret = -errno;
		log_err("KVM_ARM_PREFERRED_TARGET: %s", strerror(errno));
		return ret;
	}
	ret = arm64_gic_create(vm->vm_fd, vm->cfg->vcpus, &av->gic);
	if (ret)
		return ret;
	vm_has_its = av->gic.its_fd >= 0;
	/* An MMIO access KVM cannot decode (no syndrome: a load/store pair,
	 * writeback addressing) comes to us as KVM_EXIT_ARM_NISV instead of
	 * failing KVM_RUN with ENOSYS. */
	if (ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_ARM_NISV_TO_USER) >
	    0) {
		struct kvm_enable_cap cap = { .cap = KVM_CAP_ARM_NISV_TO_USER };

		if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) < 0)
			log_debug("KVM_CAP_ARM_NISV_TO_USER: %s",
				  strerror(errno));
		else
			av->nisv = true;
	}
	log_debug("vGICv%u%s at 0x%llx", av->gic.version,
		  av->gic.its_fd >= 0 ? " with an ITS" : "",
		  (unsigned long long)ABI_GIC_DIST_BASE);
	return 0;
}

int arch_load_boot(struct vm *vm, char *err, size_t errlen)
{
	struct arm64_vm *av = vm->arch;

	return arm64_boot_prepare(&vm->mem, vm->cfg, av->gic.version,
				  av->gic.its_fd >= 0, &av->entry, err, errlen);
}

int arch_vm_ready(struct vm *vm)
{
	struct arm64_vm *av = vm->arch;

	return arm64_gic_init(&av->gic);
}

/* GSI n drives SPI n (KVM's default arm64 routing, irqchip 0 pin n), so
 * an irqfd's GSI is the SPI number; MSI GSIs come after the routed ones. */
unsigned arch_irq_routes(struct vm *vm, struct kvm_irq_routing_entry *e,
			 unsigned max)
{
	unsigned n = 0;

	(void)vm;
	for (unsigned spi = 0; spi < ABI_GIC_NR_SPIS && n < max; spi++)
		e[n++] = (struct kvm_irq_routing_entry){
			.gsi = spi,
			.type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip.irqchip = 0,
			.u.irqchip.pin = spi,
		};
	return n;
}

int arch_set_irq(struct vm *vm, unsigned irq, int level)
{
	struct kvm_irq_level l = {
		.irq = (KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT) |
		       (ABI_GIC_SPI_BASE + irq),
		.level = level ? 1 : 0,
	};

	if (irq >= ABI_GIC_NR_SPIS)
		return -EINVAL;
	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0)
		return -errno;
	return 0;
}

static int write_blob(const char *path, const void *buf, size_t size, char *err,
		      size_t errlen)
{
	bool out = !strcmp(path, "-");
	FILE *f = out ? stdout : fopen(path, "wb");

	if (!f) {
		snprintf(err, errlen, "cannot create %s: %s", path,
			 strerror(errno));
		return -EIO;
	}
	if (fwrite(buf, 1, size, f) != size || fflush(f) ||
	    (!out && fclose(f))) {
		snprintf(err, errlen, "cannot write %s: %s",
			 out ? "standard output" : path, strerror(errno));
		if (!out)
			fclose(f);
		return -EIO;
	}
	return 0;
}

/* The tree as arch_load_boot() would place it: the same loader on
 * anonymous memory of the config's layout (file-backed regions are not
 * touched). */
int arch_dump_dtb(const struct vm_config *cfg, const char *path, char *err,
		  size_t errlen)
{
	struct guest_mem mem = { 0 };
	struct arm64_entry e;
	unsigned version;
	bool its;
	void *blob;
	int ret;

	ret = arm64_gic_probe(&version, &its);
	if (ret) {
		log_info("cannot ask KVM for its GIC (%s): describing a GICv3 "
			 "with an ITS",
			 strerror(-ret));
		version = 3;
		its = true;
	}
	for (unsigned i = 0; i < cfg->nr_mem; i++) {
		const struct cfg_memory *m = &cfg->mem[i];

		ret = mem_add_region(&mem, m->name, m->base, m->size, NULL,
				     m->readonly);
		if (ret) {
			snprintf(err, errlen, "memory \"%s\": %s", m->name,
				 strerror(-ret));
			goto out;
		}
	}
	ret = arm64_boot_prepare(&mem, cfg, version, its, &e, err, errlen);
	if (ret)
		goto out;
	blob = mem_ptr(&mem, e.dtb_gpa, e.dtb_size);
	ret = blob ? write_blob(path, blob, e.dtb_size, err, errlen) : -EFAULT;
out:
	mem_free(&mem);
	return ret;
}

bool arch_pci_layout(struct pci_layout *l)
{
	if (!vm_has_its) {
		log_err("PCI devices need a GICv3 ITS for their MSIs (PCI on "
			"arm64 has no INTx lines), and this host's KVM offers "
			"none: use transport = mmio for virtio devices");
		return false;
	}
	*l = pci_layout_arm64;
	return true;
}

void arch_vcpu_destroy(struct vcpu *vcpu)
{
	(void)vcpu;
}

void arch_vm_destroy(struct vm *vm)
{
	struct arm64_vm *av = vm->arch;

	if (!av)
		return;
	arm64_gic_destroy(&av->gic);
	free(av);
	vm->arch = NULL;
	vm_has_its = false;
}
