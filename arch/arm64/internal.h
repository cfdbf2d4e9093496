/* SPDX-License-Identifier: MIT */
/*
 * arch/arm64 internals that involve KVM or the VM (arch.c, cpu.c, boot.c,
 * gic.c). The KVM-free pieces (device tree, Image header) are in arm64.h.
 */
#ifndef ARCH_ARM64_INTERNAL_H
#define ARCH_ARM64_INTERNAL_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/config.h"
#include "vmm/mem.h"

struct vm;

/* The boot vCPU's entry state (booting.rst: x0 = DTB, x1-x3 = 0). */
struct arm64_entry {
	uint64_t pc;
	uint64_t dtb_gpa, dtb_size;	  /* x0 = dtb_gpa */
	uint64_t kernel_gpa, kernel_size; /* the image as placed, for logs */
};

/* The in-kernel GIC of a VM (gic.c). */
struct arm64_gic {
	unsigned version; /* 3 or 2 */
	int fd;		  /* the vGIC device, -1 if none */
	int its_fd;	  /* v3 only: the ITS, -1 if none */
};

struct arm64_vm {
	struct arm64_gic gic;
	struct kvm_vcpu_init preferred; /* KVM_ARM_PREFERRED_TARGET */
	bool nisv;			/* KVM_CAP_ARM_NISV_TO_USER on */
	struct arm64_entry entry;
};

/* ---- gic.c ---- */

/* Create the vGIC (v3 with an ITS if possible, else v2) and place it per
 * devices/abi/arm64_virt.h. 0 or -errno (logged). */
int arm64_gic_create(int vm_fd, unsigned nr_vcpus, struct arm64_gic *gic);
/* After every vCPU exists: number of IRQs, then initialise (vGIC, ITS).
 * 0 or -errno (logged). */
int arm64_gic_init(struct arm64_gic *gic);
void arm64_gic_destroy(struct arm64_gic *gic);
/* What arm64_gic_create() would make on this host, without making it
 * (KVM_CREATE_DEVICE_TEST on a scratch VM): -errno if /dev/kvm or a VM
 * is not available. */
int arm64_gic_probe(unsigned *version, bool *its);

/* ---- arch.c ---- */

/* The PCI host bridge the VM gets (NULL: none; PCI needs a GICv3 ITS for
 * its MSIs since there are no INTx lines). */
const struct pci_layout *arm64_pci(const struct vm_config *cfg, bool its);

/* ---- boot.c ---- */

/*
 * Load cfg's image into mem and place the device tree (generated for a
 * GIC of gic_version, with an ITS if its; or cfg->boot.dtb). The entry
 * state goes to e. 0 or -errno with err filled (naming the file).
 */
int arm64_boot_prepare(struct guest_mem *mem, const struct vm_config *cfg,
		       unsigned gic_version, bool its, struct arm64_entry *e,
		       char *err, size_t errlen);

#endif
