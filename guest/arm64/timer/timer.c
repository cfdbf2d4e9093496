/* SPDX-License-Identifier: MIT */
/*
 * timer.elf: `count=` (default 50) virtual-timer interrupts at `hz=`
 * (default 100) through the GIC, then prints the count and the measured
 * period, and powers off; "EXIT 2" and SYSTEM_RESET if a tick came early
 * or the interrupts did not arrive within `timeout=` ms (default 10000;
 * checked whenever the CPU wakes up, so a timer that never fires hangs
 * until the VMM's own timeout).
 *
 * Output:
 *   timer: gic v<n>, counter <f> Hz, <count> ticks at <hz> Hz
 *   timer: <count> interrupts, period <us> us expected, <us> us measured,
 *          max late <us> us            (one line)
 *   timer: ok
 */
#include "rt.h"

static volatile uint64_t calls, last_tick_time, last_ticks;

/* One call per timer interrupt; `ticks` also counts periods a late
 * interrupt caught up on. */
static void tick(uint64_t ticks, void *arg)
{
	calls++;
	last_ticks = ticks;
	last_tick_time = rt_counter();
}

int main(void)
{
	uint64_t count = rt_cmdline_uint("count", 50);
	uint64_t hz = rt_cmdline_uint("hz", 100);
	uint64_t timeout_ms = rt_cmdline_uint("timeout", 10000);
	uint64_t f = rt_counter_freq(), t0, deadline, flags, got, span;

	if (!count || !hz || hz > 10000)
		rt_panic("bad count= or hz=");
	rt_printf("timer: gic v%u, counter %llu Hz, %llu ticks at %llu Hz\n",
		  rt_gic_version(), (unsigned long long)f,
		  (unsigned long long)count, (unsigned long long)hz);
	t0 = rt_counter();
	if (rt_timer_start((unsigned)hz, tick, NULL))
		rt_panic("timer did not start");
	deadline = t0 + timeout_ms * (f / 1000);
	flags = rt_irq_save();
	while (calls < count && rt_counter() < deadline)
		rt_wait_irq();
	rt_irq_restore(flags);
	rt_timer_stop();
	got = last_ticks;
	span = last_tick_time - t0;
	rt_printf("timer: %llu interrupts, period %llu us expected, %llu us "
		  "measured, max late %llu us\n",
		  (unsigned long long)calls, (unsigned long long)(1000000 / hz),
		  (unsigned long long)(got ? rt_counter_us(span) / got : 0),
		  (unsigned long long)rt_counter_us(rt_timer_late_max));
	if (calls < count) {
		rt_printf("timer: FAIL: %llu of %llu interrupts in %llu ms\n",
			  (unsigned long long)calls, (unsigned long long)count,
			  (unsigned long long)timeout_ms);
		return 2;
	}
	/* The tick for period n cannot run before t0 + n * period. */
	if (span < got * (f / hz)) {
		rt_printf("timer: FAIL: tick %llu after %llu us, early\n",
			  (unsigned long long)got,
			  (unsigned long long)rt_counter_us(span));
		return 2;
	}
	rt_puts("timer: ok\n");
	return 0;
}
