/* SPDX-License-Identifier: MIT */
/*
 * PSCI (ARM DEN 0022) through the SMC Calling Convention: HVC, or SMC when
 * the DTB's /psci says method = "smc" or (without a /psci node) when the
 * runtime was entered at EL2, where an HVC would trap to ourselves.
 */
#include "rt.h"

struct rt_cpu_start {
	rt_cpu_fn fn;
	void *arg;
};
struct rt_cpu_start rt_cpu_start[RT_MAX_CPUS];

extern char rt_secondary_entry[]; /* start.S */

bool rt_psci_smc(void)
{
	if (rt_dt.psci_found)
		return rt_dt.psci_smc;
	return rt_entry_el() == 2;
}

int64_t rt_psci_call(uint32_t fn, uint64_t a1, uint64_t a2, uint64_t a3)
{
	register uint64_t x0 __asm__("x0") = fn;
	register uint64_t x1 __asm__("x1") = a1;
	register uint64_t x2 __asm__("x2") = a2;
	register uint64_t x3 __asm__("x3") = a3;

	/* SMCCC before v1.2 may corrupt x4-x17. */
	if (rt_psci_smc())
		__asm__ volatile("smc #0"
				 : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
				 :
				 : "x4", "x5", "x6", "x7", "x8", "x9", "x10",
				   "x11", "x12", "x13", "x14", "x15", "x16",
				   "x17", "memory");
	else
		__asm__ volatile("hvc #0"
				 : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
				 :
				 : "x4", "x5", "x6", "x7", "x8", "x9", "x10",
				   "x11", "x12", "x13", "x14", "x15", "x16",
				   "x17", "memory");
	return (int64_t)x0;
}

uint32_t rt_psci_version(void)
{
	return (uint32_t)rt_psci_call(ABI_PSCI_VERSION, 0, 0, 0);
}

int rt_cpu_on(uint64_t mpidr, unsigned index, rt_cpu_fn fn, void *arg)
{
	if (index == 0 || index >= RT_MAX_CPUS)
		return PSCI_INVALID_PARAMETERS;
	rt_cpu_start[index].fn = fn;
	rt_cpu_start[index].arg = arg;
	rt_console_share();
	/* The new CPU starts with its MMU off: make the start block and the
	 * console state visible in memory first. */
	__asm__ volatile("dc cvac, %0"
			 :
			 : "r"(&rt_cpu_start[index])
			 : "memory");
	dsb(sy);
	return (int)rt_psci_call(ABI_PSCI_CPU_ON_64, mpidr,
				 (uint64_t)(uintptr_t)rt_secondary_entry,
				 index);
}

void rt_cpu_off(void)
{
	rt_psci_call(ABI_PSCI_CPU_OFF, 0, 0, 0);
	for (;;)
		__asm__ volatile("wfi");
}

const char *rt_psci_strerror(int64_t ret)
{
	static const char *const names[] = {
		"SUCCESS",	    "NOT_SUPPORTED", "INVALID_PARAMETERS",
		"DENIED",	    "ALREADY_ON",    "ON_PENDING",
		"INTERNAL_FAILURE", "NOT_PRESENT",   "DISABLED",
		"INVALID_ADDRESS",
	};

	if (ret <= 0 && ret >= -9)
		return names[-ret];
	return "?";
}
