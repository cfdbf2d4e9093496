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

#endif
