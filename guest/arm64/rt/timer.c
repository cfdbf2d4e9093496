/* SPDX-License-Identifier: MIT */
/*
 * The EL1 virtual timer (Arm ARM, "The Generic Timer in AArch64 state"):
 * a periodic tick programmed through CNTV_CVAL_EL0 (absolute deadlines,
 * so ticks do not drift), PPI 11 = INTID 27, level-triggered through the
 * GIC. Writing the next deadline deasserts the line.
 */
#include "rt.h"

#define CNTV_CTL_ENABLE	 (1u << 0)
#define CNTV_CTL_IMASK	 (1u << 1)
#define CNTV_CTL_ISTATUS (1u << 2)

volatile uint64_t rt_timer_late_last, rt_timer_late_max;

static volatile uint64_t ticks;
static uint64_t period, deadline;
static unsigned hz, running_hz; /* hz: of the last start */
static rt_timer_fn tick_fn;
static void *tick_arg;

uint64_t rt_counter_freq(void)
{
	return sysreg_read(cntfrq_el0);
}

uint64_t rt_counter_us(uint64_t delta)
{
	uint64_t f = rt_counter_freq();

	if (!f)
		return 0;
	return delta / f * 1000000 + delta % f * 1000000 / f;
}

static void timer_irq(unsigned intid, void *arg)
{
	uint64_t now = rt_counter();

	if (!(sysreg_read(cntv_ctl_el0) & CNTV_CTL_ISTATUS))
		return; /* stale: the line dropped already */
	rt_timer_late_last = now - deadline;
	if (rt_timer_late_last > rt_timer_late_max)
		rt_timer_late_max = rt_timer_late_last;
	/* Count every period that has passed (a late tick catches up). */
	do {
		ticks++;
		deadline += period;
	} while (deadline <= now);
	sysreg_write(cntv_cval_el0, deadline);
	isb();
	if (tick_fn)
		tick_fn(ticks, tick_arg);
}

int rt_timer_start(unsigned rate, rt_timer_fn fn, void *arg)
{
	uint64_t f = rt_counter_freq();

	if (!rate || rate > 10000 || !f)
		return -1;
	sysreg_write(cntv_ctl_el0, CNTV_CTL_IMASK);
	hz = running_hz = rate;
	period = f / rate;
	tick_fn = fn;
	tick_arg = arg;
	ticks = 0;
	rt_timer_late_last = rt_timer_late_max = 0;
	if (rt_irq_attach(RT_INTID_VTIMER, false, timer_irq, NULL))
		return -1;
	deadline = rt_counter() + period;
	sysreg_write(cntv_cval_el0, deadline);
	sysreg_write(cntv_ctl_el0, CNTV_CTL_ENABLE);
	isb();
	rt_irq_enable();
	return 0;
}

void rt_timer_stop(void)
{
	sysreg_write(cntv_ctl_el0, CNTV_CTL_IMASK);
	isb();
	rt_irq_mask(RT_INTID_VTIMER);
	running_hz = 0;
}

unsigned rt_timer_hz(void)
{
	return running_hz;
}

uint64_t rt_ticks(void)
{
	return ticks;
}

uint64_t rt_uptime_ms(void)
{
	return hz ? ticks * 1000 / hz : 0;
}

void rt_wait_ticks(uint64_t t)
{
	uint64_t f = rt_irq_save();

	while (ticks < t)
		rt_wait_irq();
	rt_irq_restore(f);
}

void rt_udelay(uint64_t us)
{
	uint64_t f = rt_counter_freq(), t0 = rt_counter();
	uint64_t d = us / 1000000 * f + us % 1000000 * f / 1000000;

	while (rt_counter() - t0 < d)
		rt_cpu_relax();
}
