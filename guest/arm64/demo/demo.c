/* SPDX-License-Identifier: MIT */
/*
 * demo.elf (arm64): the x86 demo's "small RTOS" (guest/x86/demo/demo.c) on
 * the arm64 runtime. The scheduler, the tasks and the summary table are
 * shared with it (guest/common/demo_rtos.c); here: the banner, the idle
 * loop and the timer's lateness line.
 *
 * A tick-driven, rate-monotonic, run-to-completion scheduler: the EL1
 * virtual timer ticks at `hz=` (default 100 Hz) through the GIC; each task
 * is released every period; at every scheduling point the highest-priority
 * released job runs (shorter period = higher priority); when nothing is
 * ready the CPU waits in WFI until the next tick. A job's deadline is its
 * next release. A job that finishes late counts as a missed deadline; a
 * release that comes due while the previous one never got to run is
 * skipped and counted as missed.
 *
 * The tasks drive a toy heating loop: "sensor" samples a simulated room
 * (first-order thermal model plus noise), "control" runs a proportional
 * controller on the average reading, "heartbeat" reports uptime and CPU
 * idle time (counter ticks spent in WFI). After `run=` ms of guest time
 * (default 3000) it prints a per-task summary and powers off (PSCI
 * SYSTEM_OFF, exit status 0).
 */
#include "rt.h"
#include "demo_rtos.h"

uint64_t demo_cycles(void)
{
	return rt_counter();
}

/* Nothing to add to the heartbeat line (no network here). */
void demo_heartbeat_more(void)
{
}

/* WFI until `ms` (guest time), accounting the time spent idle. */
void demo_idle_until(uint64_t ms)
{
	uint64_t flags = rt_irq_save();

	while (rt_uptime_ms() < ms && rt_uptime_ms() < demo_stop_ms) {
		uint64_t t0 = rt_counter();

		rt_wait_irq();
		demo_idle_cycles += rt_counter() - t0;
	}
	rt_irq_restore(flags);
}

static void banner(unsigned hz, uint64_t run_ms)
{
	uint64_t midr = sysreg_read(midr_el1);
	uint32_t v = rt_psci_version();

	rt_puts("vmm-rtos 1.0: a tiny rate-monotonic RTOS (vmm demo guest, "
		"arm64)\n");
	rt_printf("cpu:    midr 0x%08llx (implementer 0x%02llx part 0x%03llx),"
		  " EL%u (entered at EL%u), %u cpu(s) in the DTB\n",
		  (unsigned long long)midr,
		  (unsigned long long)(midr >> 24 & 0xff),
		  (unsigned long long)(midr >> 4 & 0xfff),
		  (unsigned)(sysreg_read(CurrentEL) >> 2 & 3), rt_entry_el(),
		  rt_dt.nr_cpus);
	if (rt_dt.mem_size)
		rt_printf("memory: %llu MiB RAM at 0x%llx (device tree at "
			  "0x%llx, \"%s\")\n",
			  (unsigned long long)(rt_dt.mem_size >> 20),
			  (unsigned long long)rt_dt.mem_base,
			  (unsigned long long)rt_dt.addr, rt_dt.model);
	else
		rt_puts("memory: unknown (no device tree)\n");
	rt_printf("boot:   psci %u.%u (%s), gic v%u, cmdline \"%s\"\n", v >> 16,
		  v & 0xffff, rt_psci_smc() ? "smc" : "hvc", rt_gic_version(),
		  rt_boot_cmdline());
	rt_printf("timer:  generic timer, EL1 virtual timer (INTID %u), "
		  "counter %llu kHz, %u Hz tick\n",
		  RT_INTID_VTIMER,
		  (unsigned long long)(rt_counter_freq() / 1000), hz);
	demo_sched_line(run_ms);
}

static void summary(uint64_t run_ms, unsigned hz)
{
	demo_report(run_ms, hz);
	rt_printf("timer:  max tick lateness %llu us\n",
		  (unsigned long long)rt_counter_us(rt_timer_late_max));
	rt_puts("system halted: powering off\n");
}

int main(void)
{
	uint64_t run_ms;
	unsigned hz;

	demo_options(&run_ms, &hz);
	banner(hz, run_ms);
	if (rt_timer_start(hz, NULL, NULL))
		rt_panic("the virtual timer did not start");
	demo_run();
	rt_timer_stop();
	summary(demo_stop_ms, hz);
	rt_poweroff();
}
