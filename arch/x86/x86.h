/* SPDX-License-Identifier: MIT */
/*
 * x86-64 arch internals shared by the files of arch/x86.
 *
 * Fixed guest-physical regions of the x86 platform (RAM must stay clear):
 *
 *   0xfec00000 +4 KiB  IOAPIC (in-kernel)
 *   0xfee00000 +4 KiB  local APICs (in-kernel)
 *   0xfeffc000 +4 KiB  KVM identity-map page (real mode on Intel w/o
 *                      unrestricted guest)
 *   0xfeffd000 +12 KiB KVM TSS
 *
 * 0xff000000-0xffffffff stays free for a boot ROM region (reset vector).
 */
#ifndef ARCH_X86_X86_H
#define ARCH_X86_X86_H

#include <linux/kvm.h>
#include <stdint.h>

#include "arch/x86/boot.h"

#define X86_IOAPIC_BASE	     0xfec00000ULL
#define X86_IOAPIC_SIZE	     0x1000ULL
#define X86_LAPIC_BASE	     0xfee00000ULL
#define X86_LAPIC_SIZE	     0x1000ULL
#define X86_KVM_IDENT_MAP    0xfeffc000ULL
#define X86_KVM_TSS	     0xfeffd000ULL
#define X86_KVM_PRIVATE_SIZE 0x4000ULL /* ident map page + 3 TSS pages */

/* GDT the VMM builds for protected and long mode entry. */
#define X86_SEL_CODE32 0x08
#define X86_SEL_DATA   0x10
#define X86_SEL_CODE64 0x18

struct x86_vm {
	struct x86_entry entry;
	uint64_t gdt_gpa;  /* 0 if the entry mode needs none (real mode) */
	uint64_t pml4_gpa; /* 0 unless long mode */
	struct kvm_cpuid2 *cpuid; /* KVM_GET_SUPPORTED_CPUID, unpatched */
};

/* cpu.c: build GDT / page tables for e->mode in guest memory. */
int x86_cpu_prepare(struct boot_ctx *b, struct x86_vm *xv);
/* cpu.c: load the entry state into a vCPU (fd). */
int x86_cpu_set_entry(int vcpu_fd, const struct x86_vm *xv);

#endif
