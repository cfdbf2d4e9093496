/* SPDX-License-Identifier: MIT */
/*
 * Per-vCPU CPUID: what KVM supports, with this vCPU's identity and the VM's
 * topology patched in so that CPUID, the LAPIC IDs and the MADT/MP tables
 * all tell a guest the same story: one package, `nr` cores, one thread per
 * core, APIC ID = vCPU index.
 */
#include <stddef.h>

#include "arch/x86/cpuid.h"

/* Bits needed to number n items (0 for n <= 1). */
static unsigned order(unsigned n)
{
	unsigned b = 0;

	while ((1u << b) < n)
		b++;
	return b;
}

void x86_cpuid_patch(struct kvm_cpuid2 *c, unsigned id, unsigned nr)
{
	unsigned core_bits = order(nr);

	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 1:
			/* APIC ID, logical processors per package, CLFLUSH
			 * line size in 8-byte units; hypervisor present. */
			e->ebx = (id << 24) | ((nr > 255 ? 255 : nr) << 16) |
				 (8 << 8);
			e->ecx |= 1u << 31;
			if (nr > 1)
				e->edx |= 1u << 28; /* HTT: count valid */
			else
				e->edx &= ~(1u << 28);
			break;
		case 4: {
			/* Deterministic cache parameters: cores per package,
			 * and who shares each cache (L3: everyone). */
			unsigned level = (e->eax >> 5) & 7;
			unsigned sharing = level >= 3 ? nr - 1 : 0;

			if (!(e->eax & 0x1f))
				break; /* no cache at this index */
			e->eax &= 0x3fff;
			e->eax |= ((nr - 1 > 63 ? 63 : nr - 1) << 26) |
				  ((sharing > 4095 ? 4095 : sharing) << 14);
			break;
		}
		case 0xb:
		case 0x1f:
			/* Extended topology: level 0 SMT (1 thread), level 1
			 * core (nr cores), then invalid. */
			e->edx = id;
			if (e->index == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = (1u << 8) | 0;
			} else if (e->index == 1) {
				e->eax = core_bits;
				e->ebx = nr;
				e->ecx = (2u << 8) | 1;
			} else {
				e->eax = 0;
				e->ebx = 0;
				e->ecx = e->index & 0xff;
			}
			break;
		case 0x80000008:
			/* AMD: cores per package - 1, APIC ID bits for the
			 * core number. */
			e->ecx = (e->ecx & ~0xf0ffu) | (core_bits << 12) |
				 ((nr - 1) & 0xff);
			break;
		case 0x8000001e:
			/* AMD topology extensions: extended APIC ID, core
			 * (compute unit) ID, one thread per core, node 0. */
			e->eax = id;
			e->ebx = id & 0xff;
			e->ecx = 0;
			break;
		}
	}
}

void x86_cpuid_clear_pv_eoi(struct kvm_cpuid2 *c)
{
	/* KVM puts its leaves at 0x40000000 (signature "KVMKVMKVM") and the
	 * features at the next leaf; with Hyper-V enlightenments they may
	 * move by 0x100, so look for the signature. */
	for (unsigned base = 0x40000000u; base < 0x40010000u; base += 0x100) {
		struct kvm_cpuid_entry2 *sig = NULL, *feat = NULL;

		for (unsigned i = 0; i < c->nent; i++) {
			if (c->entries[i].function == base)
				sig = &c->entries[i];
			else if (c->entries[i].function == base + 1)
				feat = &c->entries[i];
		}
		if (!sig)
			return;
		/* "KVMKVMKVM\0\0\0" in EBX, ECX, EDX */
		if (sig->ebx == 0x4b4d564bu && sig->ecx == 0x564b4d56u &&
		    sig->edx == 0x4du) {
			if (feat)
				feat->eax &= ~(1u << 6);
			return;
		}
	}
}
