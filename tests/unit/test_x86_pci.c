/* SPDX-License-Identifier: MIT */
/*
 * The x86 side of PCI (arch/x86/arch.c): the GSI routes KVM_SET_GSI_ROUTING
 * must keep, the host bridge layout, and the config rules that apply when a
 * PCI device is configured.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>

#define CFG_HELPERS_ARCH_STUBS
#include "arch/arch.h"
#include "cfg_helpers.h"
#include "dev_cfg.h"
#include "devices/abi/x86_pc.h"
#include "devices/devices.h"
#include "devices/pci.h"
#include "vmm/vm_impl.h"

Test(x86_pci, irq_routes_are_kvm_default)
{
	struct kvm_irq_routing_entry e[64];
	unsigned n = arch_irq_routes(NULL, e, 64), ioapic = 0, pic = 0;

	cr_assert_eq(n, 24 + 16);
	for (unsigned i = 0; i < n; i++) {
		cr_assert_eq(e[i].type, KVM_IRQ_ROUTING_IRQCHIP);
		cr_assert_lt(e[i].gsi, 24);
		if (e[i].u.irqchip.irqchip == KVM_IRQCHIP_IOAPIC) {
			cr_assert_eq(e[i].u.irqchip.pin, e[i].gsi);
			ioapic |= 1u << e[i].gsi;
		} else {
			cr_assert_lt(e[i].gsi, 16);
			cr_assert_eq(e[i].u.irqchip.irqchip,
				     e[i].gsi < 8 ? KVM_IRQCHIP_PIC_MASTER
						  : KVM_IRQCHIP_PIC_SLAVE);
			cr_assert_eq(e[i].u.irqchip.pin, e[i].gsi % 8);
			pic |= 1u << e[i].gsi;
		}
	}
	cr_assert_eq(ioapic, 0xffffff);
	cr_assert_eq(pic, 0xffff);
	/* Truncated to max, never past it. */
	cr_assert_eq(arch_irq_routes(NULL, e, 5), 5);
	cr_assert_eq(arch_irq_routes(NULL, e, 0), 0);
}

Test(x86_pci, layout_is_the_abi)
{
	struct pci_layout l;

	cr_assert(arch_pci_layout(&l));
	cr_assert_eq(l.ecam_base, ABI_PCI_ECAM_BASE);
	cr_assert_eq(l.io_base, ABI_PCI_IO_BASE);
	cr_assert_eq(l.io_size, ABI_PCI_IO_SIZE);
	cr_assert_eq(l.mmio32_base, ABI_PCI_MMIO32_BASE);
	cr_assert_eq(l.mmio32_size, ABI_PCI_MMIO32_SIZE);
	cr_assert_eq(l.mmio64_base, ABI_PCI_MMIO64_BASE);
	cr_assert_eq(l.mmio64_size, ABI_PCI_MMIO64_SIZE);
	cr_assert(l.type1_ports);
	/* The regions do not overlap each other, virtio-mmio or the APICs. */
	cr_assert_leq(ABI_PCI_MMIO32_BASE + ABI_PCI_MMIO32_SIZE,
		      ABI_VIRTIO_MMIO_BASE);
	cr_assert_leq(ABI_VIRTIO_MMIO_BASE +
			      ABI_VIRTIO_MMIO_SLOTS * ABI_VIRTIO_MMIO_SLOT_SIZE,
		      ABI_PCI_ECAM_BASE);
	cr_assert_leq(ABI_PCI_ECAM_BASE + ABI_PCI_ECAM_SIZE, ABI_IOAPIC_BASE);
	cr_assert_geq(ABI_PCI_MMIO64_BASE, 0x100000000ULL);
}

/* ---- config rules with a PCI device ---- */

static const struct dev_param tpci_params[] = {
	PCI_DEV_PARAM_SLOT,
	{ .key = NULL },
};
static int tpci_create(struct vm *v, struct device *d)
{
	return 0;
}
static const struct device_type tpci_type = { .name = "test-pci",
					      .params = tpci_params,
					      .create = tpci_create };

static struct cfg_memory ram(uint64_t base, uint64_t size)
{
	return (struct cfg_memory){
		.name = "ram", .base = base, .size = size, .loc = { "t.cfg", 1 }
	};
}

static int check(struct cfg_memory *mem, unsigned nr_mem,
		 struct cfg_device *devs, unsigned nr_devs,
		 struct cfg_error *err)
{
	struct vm_config cfg = { .vcpus = 1,
				 .mem = mem,
				 .nr_mem = nr_mem,
				 .devices = devs,
				 .nr_devices = nr_devs,
				 .boot = { .format = BOOT_FORMAT_ELF } };

	memset(err, 0, sizeof(*err));
	return arch_check_config(&cfg, err);
}

Test(x86_pci, memory_clear_of_the_windows)
{
	struct cfg_device *p = dev_cfg_new(&tpci_type, "p", NULL);
	struct cfg_memory mem[2] = { ram(0, 0xc0000000) };
	struct cfg_error err;

	cr_assert_eq(check(mem, 1, p, 1, &err), 0, "%s", err.msg);
	mem[0] = ram(0, 0xc0001000);
	cr_assert_eq(check(mem, 1, p, 1, &err), -EINVAL);
	cr_assert(strstr(err.msg, "PCI 32-bit memory window"), "%s", err.msg);
	mem[0] = ram(0, 0x80000000);
	mem[1] = ram(0xe0000000, 0x1000);
	cr_assert_eq(check(mem, 2, p, 1, &err), -EINVAL);
	cr_assert(strstr(err.msg, "PCI ECAM"), "%s", err.msg);
	mem[1] = ram(0x1000000000ULL, 0x1000);
	cr_assert_eq(check(mem, 2, p, 1, &err), -EINVAL);
	cr_assert(strstr(err.msg, "64-bit"), "%s", err.msg);
	/* Without a PCI device the windows are free. */
	cr_assert_eq(check(mem, 2, NULL, 0, &err), 0, "%s", err.msg);
	dev_cfg_free(p);
}

Test(x86_pci, devices_clear_of_the_host_ports)
{
	struct cfg_device *p = dev_cfg_new(&tpci_type, "p", NULL);
	struct cfg_device *r = dev_cfg_new(&pc_reset_type, "reset", NULL);
	struct cfg_device *u =
		dev_cfg_new(&uart8250_type, "com", "port=0xcf8", NULL);
	struct cfg_device *u2 =
		dev_cfg_new(&uart8250_type, "com2", "port=0xc000", NULL);
	struct cfg_memory mem[1] = { ram(0, 0x1000000) };
	struct cfg_device devs[2];
	struct cfg_error err;

	/* pc-reset's 0xcf9 is forwarded by the host: allowed. */
	devs[0] = *p;
	devs[1] = *r;
	cr_assert_eq(check(mem, 1, devs, 2, &err), 0, "%s", err.msg);
	devs[1] = *u;
	cr_assert_eq(check(mem, 1, devs, 2, &err), -EINVAL);
	cr_assert(strstr(err.msg, "PCI configuration ports"), "%s", err.msg);
	cr_assert(strstr(err.msg, "com"), "%s", err.msg);
	devs[1] = *u2;
	cr_assert_eq(check(mem, 1, devs, 2, &err), -EINVAL);
	cr_assert(strstr(err.msg, "PCI I/O window"), "%s", err.msg);
	/* Without PCI, 0xcf8 is an ordinary port. */
	cr_assert_eq(check(mem, 1, u, 1, &err), 0, "%s", err.msg);
	dev_cfg_free(p);
	dev_cfg_free(r);
	dev_cfg_free(u);
	dev_cfg_free(u2);
}

Test(x86_pci, slot_conflicts)
{
	struct cfg_device *a = dev_cfg_new(&tpci_type, "a", "pci-slot=4", NULL);
	struct cfg_device *b = dev_cfg_new(&tpci_type, "b", "pci-slot=4", NULL);
	struct cfg_memory mem[1] = { ram(0, 0x1000000) };
	struct cfg_device devs[2] = { *a, *b };
	struct cfg_error err;

	cr_assert_eq(check(mem, 1, devs, 2, &err), -EINVAL);
	cr_assert(strstr(err.msg, "slot 4 is taken by device \"a\""), "%s",
		  err.msg);
	dev_cfg_free(a);
	dev_cfg_free(b);
}
