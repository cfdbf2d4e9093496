/* SPDX-License-Identifier: MIT */
/*
 * Leaving the VM. rt_poweroff() uses ACPI fixed hardware (PM1a_CNT, SLP_TYP
 * = S5 with SLP_EN, at the address the VMM's FADT advertises, see
 * devices/abi/x86_pc.h); rt_exit() uses the debug-exit port (QEMU
 * isa-debug-exit semantics: status = (value << 1) | 1).
 */
#include "rt.h"
#include "cpu.h"
#include "devices/abi/x86_pc.h"

void rt_exit(unsigned code)
{
	pio_out8(ABI_DEBUG_EXIT_PORT, (uint8_t)code);
	cpu_halt_forever();
}

void rt_poweroff(void)
{
	pio_out16(ABI_ACPI_PM1_CNT, ABI_ACPI_POWEROFF);
	/* Still here: no ACPI PM device (e.g. QEMU -M pc without a matching
	 * PM base). */
	rt_exit(RT_EXIT_POWEROFF_FALLBACK);
}
