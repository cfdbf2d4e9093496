/* SPDX-License-Identifier: MIT */
/*
 * fault-<mode>.elf: one deliberate fault, `fault=` on the command line or
 * the mode built in (FAULT_DEFAULT):
 *
 *   ud    an undefined instruction (UDF #0): EC 0x00
 *   data  a load from 0x100000000, outside the runtime's 4 GiB map: data
 *         abort, translation fault level 0, FAR = 0x100000000
 *   brk   BRK #0x42: EC 0x3c
 *   mmio  a 32-bit store of 0x42 to 0x0b000000, where nothing is mapped on
 *         the virt board: the VMM's unhandled-io policy decides (fault:
 *         exit 6; ignore/log: "mmio survived" and power-off)
 *
 * For the first three the runtime prints "EXCEPTION ..." with ESR, FAR,
 * ELR and the registers and requests SYSTEM_RESET (the VMM exits 8).
 */
#include "rt.h"

#ifndef FAULT_DEFAULT
#define FAULT_DEFAULT "ud"
#endif

#define UNMAPPED_MMIO 0x0b000000ul

int main(void)
{
	const char *mode = FAULT_DEFAULT, *v;
	size_t len = strlen(mode);

	if (rt_cmdline_opt("fault", &v, &len))
		mode = v;
	rt_printf("fault: %.*s\n", (int)len, mode);
	if (len == 2 && !strncmp(mode, "ud", 2)) {
		__asm__ volatile("udf #0");
	} else if (len == 4 && !strncmp(mode, "data", 4)) {
		volatile uint32_t *p = (volatile uint32_t *)0x100000000ul;

		rt_printf("read 0x%x\n", *p);
	} else if (len == 3 && !strncmp(mode, "brk", 3)) {
		__asm__ volatile("brk #0x42");
	} else if (len == 4 && !strncmp(mode, "mmio", 4)) {
		/* One plain STR (ISV = 1: the hypervisor can decode it). */
		__asm__ volatile("str %w0, [%1]"
				 :
				 : "r"(0x42), "r"(UNMAPPED_MMIO)
				 : "memory");
		rt_puts("mmio survived\n");
		return 0;
	} else {
		rt_puts("fault: unknown mode\n");
		return 3;
	}
	rt_puts("fault: survived\n");
	return 1;
}
