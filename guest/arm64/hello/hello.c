/* SPDX-License-Identifier: MIT */
/*
 * hello.elf: prints what it found (exception level, DTB, GIC, PSCI,
 * CPUs, memory, command line) and powers off with PSCI SYSTEM_OFF.
 *
 * Options (/chosen bootargs): timer=N (N virtual-timer ticks at 100 Hz,
 * then "timer: N ticks"), exit=N (after "bye": "EXIT N" and SYSTEM_RESET),
 * reset (SYSTEM_RESET instead of SYSTEM_OFF).
 */
#include "rt.h"

int main(void)
{
	uint32_t v;
	uint64_t n;

	rt_puts("Hello from the vmm arm64 test guest\n");
	rt_printf("el: entered at EL%u, running at EL%u\n", rt_entry_el(),
		  (unsigned)(sysreg_read(CurrentEL) >> 2 & 3));
	rt_printf("cpu: midr 0x%08llx mpidr 0x%llx\n",
		  (unsigned long long)sysreg_read(midr_el1),
		  (unsigned long long)rt_mpidr());
	if (rt_dt.valid)
		rt_printf("dtb: at 0x%llx, %u bytes, model \"%s\"\n",
			  (unsigned long long)rt_dt.addr, rt_dt.size,
			  rt_dt.model);
	else
		rt_puts("dtb: none\n");
	rt_printf("cmdline: %s\n", rt_boot_cmdline());
	rt_printf("memory: base=0x%llx size=0x%llx\n",
		  (unsigned long long)rt_dt.mem_base,
		  (unsigned long long)rt_dt.mem_size);
	rt_printf("cpus: %u\n", rt_dt.nr_cpus);
	rt_printf(
		"uart: pl011 at 0x%llx\n",
		(unsigned long long)(rt_dt.uart ? rt_dt.uart : ABI_PL011_BASE));
	rt_printf("gic: v%u (%s)\n", rt_gic_version(),
		  rt_dt.gic_version ? "from the DTB" : "guessed");
	v = rt_psci_version();
	rt_printf("psci: version %u.%u via %s\n", v >> 16, v & 0xffff,
		  rt_psci_smc() ? "smc" : "hvc");
	rt_printf("counter: %llu Hz\n", (unsigned long long)rt_counter_freq());

	n = rt_cmdline_uint("timer", 0);
	if (n) {
		if (rt_timer_start(100, NULL, NULL))
			rt_panic("timer did not start");
		rt_wait_ticks(n);
		rt_timer_stop();
		rt_printf("timer: %llu ticks\n", (unsigned long long)n);
	}
	rt_puts("bye\n");
	n = rt_cmdline_uint("exit", 0);
	if (n)
		rt_exit((unsigned)n);
	if (rt_cmdline_has("reset"))
		rt_reset();
	return 0;
}
