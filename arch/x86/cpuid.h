/* SPDX-License-Identifier: MIT */
#ifndef ARCH_X86_CPUID_H
#define ARCH_X86_CPUID_H

#include <linux/kvm.h>

/*
 * Patch a copy of KVM_GET_SUPPORTED_CPUID for vCPU `id` of `nr` (nr >= 1):
 * APIC IDs in leaves 1, 0xb, 0x1f, 0x8000001e; package topology (one
 * package of nr single-thread cores) in leaves 1, 4, 0xb, 0x1f, 0x80000008;
 * the hypervisor bit. Leaves KVM did not report are not added.
 */
void x86_cpuid_patch(struct kvm_cpuid2 *c, unsigned id, unsigned nr);

/*
 * Withdraw KVM's paravirtual EOI (KVM_FEATURE_PV_EOI, bit 6 of EAX in the
 * KVM features leaf, 0x40000001 or where KVM's signature leaf says): the
 * guest then acknowledges every interrupt with an APIC write, an exit.
 * [vm] pv-eoi = no; docs/nested.md says why nested tests need it.
 */
void x86_cpuid_clear_pv_eoi(struct kvm_cpuid2 *c);

#endif
