/* SPDX-License-Identifier: MIT */
/*
 * The architecture contract. Common code (vmm/) calls only these; each of
 * arch/x86 and arch/arm64 implements all of them. CMake picks the folder;
 * common code has no #ifdef on the architecture.
 *
 * Call order, all on the main thread unless noted:
 *   arch_check_config()              after config_load(), before any VM
 *   arch_vm_init()                   after KVM_CREATE_VM, before memory
 *   arch_irq_routes()                right after arch_vm_init()
 *   arch_vm_setup_memory()           after guest RAM slots are registered
 *   arch_load_boot()                 loads the image, prepares entry state
 *   arch_pci_layout()                before the devices, if one is PCI
 *   arch_vcpu_init()  (per vCPU)     after KVM_CREATE_VCPU
 *   arch_vcpu_reset() (per vCPU)     before the first KVM_RUN, and on reboot
 *   arch_vm_ready()                  once every vCPU exists
 *   arch_handle_exit()               vCPU thread: exits common code leaves
 *   arch_dump_regs()                 vCPU thread: on a guest fault
 *   arch_vcpu_destroy(), arch_vm_destroy()
 */
#ifndef ARCH_ARCH_H
#define ARCH_ARCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vmm/config.h"

struct vm;
struct vcpu;
struct kvm_irq_routing_entry;
struct pci_layout;

/* Architecture name ("x86_64", "arm64"). */
extern const char arch_name[];

/* Arch rules on the config: memory clear of the arch's fixed regions (x86:
 * IOAPIC/LAPIC/TSS below 4 GiB), supported boot formats and modes, device
 * ports and IRQs the in-kernel irqchip leaves usable (x86: IRQ 0-23, no
 * PIC/PIT ports). Prints nothing; 0 or -EINVAL with err filled. */
int arch_check_config(const struct vm_config *cfg, struct cfg_error *err);

/* Print the arch's fixed regions for `vmm check`. */
void arch_print_layout(const struct vm_config *cfg, FILE *out);

/* In-kernel irqchip, timers, arch VM state (vm->arch). 0 or -errno
 * (logged). */
int arch_vm_init(struct vm *vm);

/* Load the boot image per cfg->boot into guest memory and record the entry
 * state. On error returns -errno and writes a message into err. */
int arch_load_boot(struct vm *vm, char *err, size_t errlen);

/* Per-vCPU one-time setup (CPUID, MSRs, vcpu->arch). 0 or -errno. */
int arch_vcpu_init(struct vm *vm, struct vcpu *vcpu);

/* Register state for (re)start: the boot entry on vCPU 0, the arch's
 * wait-for-startup state on the others. 0 or -errno. */
int arch_vcpu_reset(struct vcpu *vcpu);

/* All vCPUs exist: finish what needs all of them (x86: the in-kernel
 * APIC-ID map). 0 or -errno (logged). */
int arch_vm_ready(struct vm *vm);

/*
 * An exit common code does not handle (kvm_run->exit_reason). Returns
 * 0 to continue running, or stops the VM with vm_request_stop() and
 * returns 1. Negative errno is a host error.
 */
int arch_handle_exit(struct vcpu *vcpu);

/* Registers, segments and control state, for fault reports. */
void arch_dump_regs(struct vcpu *vcpu, FILE *out);

/*
 * The GSI routes of the in-kernel irqchip (the lines vm_set_irq() drives),
 * which KVM_SET_GSI_ROUTING must keep when MSI routes are added: at most max
 * entries into e, returns how many (x86: KVM's default routing, GSI n to
 * IOAPIC pin n for 0-23 and to the PICs for 0-15). MSI routes take the GSIs
 * above the highest one used here.
 */
unsigned arch_irq_routes(struct vm *vm, struct kvm_irq_routing_entry *e,
			 unsigned max);

/* Drive interrupt line irq (vm_set_irq()'s numbering: x86 a GSI, arm64 an
 * SPI number from 0) to level through the in-kernel irqchip. 0 or -errno. */
int arch_set_irq(struct vm *vm, unsigned irq, int level);

/*
 * `vmm dumpdtb`: write the device tree the VM described by cfg would get to
 * path (arm64). -ENOTSUP with err filled on architectures whose guests get
 * no device tree (x86: ACPI and MP tables); other -errno with err filled.
 */
int arch_dump_dtb(const struct vm_config *cfg, const char *path, char *err,
		  size_t errlen);

/* Where the PCI host bridge lives (devices/pci.h). false: this VM cannot
 * have PCI devices (arm64 without a GICv3 ITS); the arch has logged why. */
bool arch_pci_layout(struct pci_layout *l);

void arch_vcpu_destroy(struct vcpu *vcpu);
void arch_vm_destroy(struct vm *vm);

#endif
