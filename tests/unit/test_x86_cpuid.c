/* SPDX-License-Identifier: MIT */
/* CPUID topology patching: every leaf that names an APIC ID or a core count
 * must agree with the MADT/MP tables (APIC ID = vCPU index, one package). */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "arch/x86/cpuid.h"

#define NENT 12

/* type/level bits of leaf 4 EAX: L1d, L1i, L2, L3, end */
static const uint32_t cache_eax[] = { 0x121, 0x122, 0x143, 0x163, 0 };

static struct kvm_cpuid2 *table(void)
{
	struct kvm_cpuid2 *c =
		calloc(1, sizeof(*c) + NENT * sizeof(c->entries[0]));
	unsigned n = 0;

	cr_assert_not_null(c);
	/* leaf 1 as a host would report it: APIC ID 7, 16 logical CPUs */
	c->entries[n++] = (struct kvm_cpuid_entry2){ .function = 1,
						     .eax = 0x00a20f10,
						     .ebx = 0x07100800,
						     .ecx = 0x7ed8320b,
						     .edx = 0x178bfbff };
	/* leaf 4: L1d, L1i, L2, L3, end */
	for (unsigned lvl = 0; lvl < 5; lvl++) {
		c->entries[n++] = (struct kvm_cpuid_entry2){
			.function = 4,
			.index = lvl,
			.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
			.eax = cache_eax[lvl] ? cache_eax[lvl] | (15u << 26) |
							(1u << 14)
					      : 0
		};
	}
	for (unsigned idx = 0; idx < 3; idx++)
		c->entries[n++] = (struct kvm_cpuid_entry2){
			.function = 0xb,
			.index = idx,
			.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
			.eax = 4,
			.ebx = 16,
			.ecx = 0x201,
			.edx = 7
		};
	c->entries[n++] = (struct kvm_cpuid_entry2){ .function = 0x80000008,
						     .eax = 0x3030,
						     .ecx = 0x400f };
	c->entries[n++] = (struct kvm_cpuid_entry2){ .function = 0x8000001e,
						     .eax = 7,
						     .ebx = 0x103 };
	c->nent = n;
	return c;
}

static const struct kvm_cpuid_entry2 *leaf(const struct kvm_cpuid2 *c,
					   uint32_t fn, uint32_t idx)
{
	for (unsigned i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	cr_assert_fail("leaf 0x%x.%u missing", fn, idx);
	return NULL;
}

Test(cpuid, four_vcpus_vcpu3)
{
	struct kvm_cpuid2 *c = table();

	x86_cpuid_patch(c, 3, 4);
	cr_assert_eq(leaf(c, 1, 0)->ebx >> 24, 3, "initial APIC ID");
	cr_assert_eq((leaf(c, 1, 0)->ebx >> 16) & 0xff, 4, "logical count");
	cr_assert_eq((leaf(c, 1, 0)->ebx >> 8) & 0xff, 8, "CLFLUSH size");
	cr_assert(leaf(c, 1, 0)->ecx & (1u << 31), "hypervisor bit");
	cr_assert(leaf(c, 1, 0)->edx & (1u << 28), "HTT");
	cr_assert_eq(leaf(c, 1, 0)->eax, 0x00a20f10, "signature untouched");

	for (unsigned lvl = 0; lvl < 4; lvl++) {
		uint32_t eax = leaf(c, 4, lvl)->eax;

		cr_assert_eq(eax >> 26, 3, "cores per package - 1");
		cr_assert_eq((eax >> 14) & 0xfff, lvl == 3 ? 3 : 0,
			     "sharing of cache index %u", lvl);
		cr_assert_eq(eax & 0x3fff, cache_eax[lvl],
			     "cache type/level kept");
	}
	cr_assert_eq(leaf(c, 4, 4)->eax, 0, "terminator stays empty");

	cr_assert_eq(leaf(c, 0xb, 0)->ebx, 1);
	cr_assert_eq(leaf(c, 0xb, 0)->ecx, 0x100, "SMT level");
	cr_assert_eq(leaf(c, 0xb, 1)->eax, 2, "2 bits of core id");
	cr_assert_eq(leaf(c, 0xb, 1)->ebx, 4);
	cr_assert_eq(leaf(c, 0xb, 1)->ecx, 0x201, "core level");
	cr_assert_eq(leaf(c, 0xb, 2)->ebx, 0);
	cr_assert_eq(leaf(c, 0xb, 2)->ecx, 2, "invalid level");
	for (unsigned idx = 0; idx < 3; idx++)
		cr_assert_eq(leaf(c, 0xb, idx)->edx, 3, "x2APIC ID");

	cr_assert_eq(leaf(c, 0x80000008, 0)->ecx & 0xff, 3, "NC");
	cr_assert_eq((leaf(c, 0x80000008, 0)->ecx >> 12) & 0xf, 2,
		     "ApicIdCoreIdSize");
	cr_assert_eq(leaf(c, 0x80000008, 0)->eax, 0x3030);
	cr_assert_eq(leaf(c, 0x8000001e, 0)->eax, 3);
	cr_assert_eq(leaf(c, 0x8000001e, 0)->ebx, 3, "1 thread per core");
	free(c);
}

Test(cpuid, single_vcpu_has_no_htt)
{
	struct kvm_cpuid2 *c = table();

	x86_cpuid_patch(c, 0, 1);
	cr_assert_eq(leaf(c, 1, 0)->ebx >> 24, 0);
	cr_assert_eq((leaf(c, 1, 0)->ebx >> 16) & 0xff, 1);
	cr_assert_not(leaf(c, 1, 0)->edx & (1u << 28));
	cr_assert_eq(leaf(c, 4, 3)->eax >> 26, 0);
	cr_assert_eq(leaf(c, 0xb, 1)->eax, 0);
	cr_assert_eq(leaf(c, 0xb, 1)->ebx, 1);
	free(c);
}

Test(cpuid, sixty_four_vcpus)
{
	struct kvm_cpuid2 *c = table();

	x86_cpuid_patch(c, 63, 64);
	cr_assert_eq(leaf(c, 1, 0)->ebx >> 24, 63);
	cr_assert_eq((leaf(c, 1, 0)->ebx >> 16) & 0xff, 64);
	cr_assert_eq(leaf(c, 4, 0)->eax >> 26, 63);
	cr_assert_eq(leaf(c, 0xb, 1)->eax, 6);
	cr_assert_eq(leaf(c, 0x80000008, 0)->ecx & 0xff, 63);
	free(c);
}

/* A table with KVM's leaves at base: signature, then features (PV EOI and
 * kvmclock among them). */
static struct kvm_cpuid2 *kvm_leaves(uint32_t base, bool kvm_signature)
{
	struct kvm_cpuid2 *c =
		calloc(1, sizeof(*c) + 4 * sizeof(c->entries[0]));

	cr_assert_not_null(c);
	c->entries[0] = (struct kvm_cpuid_entry2){ .function = 1, .eax = 1 };
	c->entries[1] = (struct kvm_cpuid_entry2){
		.function = base,
		.eax = base + 1,
		.ebx = kvm_signature ? 0x4b4d564bu : 0x7263694du,
		.ecx = kvm_signature ? 0x564b4d56u : 0x666f736fu,
		.edx = kvm_signature ? 0x4du : 0x76482074u,
	};
	c->entries[2] = (struct kvm_cpuid_entry2){ .function = base + 1,
						   .eax = 0x01007afb };
	c->nent = 3;
	return c;
}

Test(cpuid, clear_pv_eoi_clears_only_bit_6)
{
	struct kvm_cpuid2 *c = kvm_leaves(0x40000000, true);

	x86_cpuid_clear_pv_eoi(c);
	cr_assert_eq(leaf(c, 0x40000001, 0)->eax, 0x01007afbu & ~(1u << 6));
	cr_assert_eq(leaf(c, 1, 0)->eax, 1);
	free(c);
}

Test(cpuid, clear_pv_eoi_finds_kvm_after_another_hypervisor)
{
	struct kvm_cpuid2 *c = kvm_leaves(0x40000100, true);
	struct kvm_cpuid2 *other = kvm_leaves(0x40000000, false);

	/* Hyper-V style leaves at 0x40000000, KVM's at 0x40000100 */
	c = realloc(c, sizeof(*c) + 6 * sizeof(c->entries[0]));
	cr_assert_not_null(c);
	c->entries[3] = other->entries[1];
	c->entries[4] = other->entries[2];
	c->nent = 5;
	x86_cpuid_clear_pv_eoi(c);
	cr_assert_eq(leaf(c, 0x40000101, 0)->eax, 0x01007afbu & ~(1u << 6));
	cr_assert_eq(leaf(c, 0x40000001, 0)->eax, 0x01007afbu,
		     "another hypervisor's leaf must stay as it is");
	free(other);
	free(c);
}

Test(cpuid, clear_pv_eoi_without_kvm_leaves_changes_nothing)
{
	struct kvm_cpuid2 *c = kvm_leaves(0x40000000, false);

	x86_cpuid_clear_pv_eoi(c);
	cr_assert_eq(leaf(c, 0x40000001, 0)->eax, 0x01007afbu);
	free(c);
}
