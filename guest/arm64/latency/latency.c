/* SPDX-License-Identifier: MIT */
/*
 * latency.elf: timer interrupt latency on arm64, the guest side of
 * cyclictest (the arm64 twin of guest/x86/latency).
 *
 * The EL1 virtual timer (CNTV, PPI 11 = INTID 27) is armed with an
 * absolute deadline in CNTV_CVAL_EL0, `period_us=` (default 1000)
 * microseconds after the previous one; the CPU waits in WFI; the handler
 * reads CNTVCT_EL0 first thing and records how late it runs after the
 * deadline (counter ticks, converted to ns with CNTFRQ_EL0). That is the
 * whole path a real-time guest depends on: the host timer firing, the
 * vCPU thread being woken and scheduled on its CPU, KVM injecting the
 * interrupt through the vGIC, the guest's vector and GIC acknowledge.
 * After `warmup=` (default 10) unrecorded periods it takes `samples=`
 * (default 10000, at most MAX_SAMPLES) and prints
 *
 *   latency: samples=N min=A avg=B p99=C p999=D max=E (ns)
 *
 * plus a log2 histogram (`latency-hist: lo_ns=L hi_ns=H count=N`, the
 * buckets that are not empty) and a `latency-info:` line (timer, counter
 * rate, periods skipped because the previous interrupt came too late,
 * interrupts lost), the same lines as the x86 guest, then powers off
 * (PSCI SYSTEM_OFF, exit status 0). Percentiles are exact: every sample
 * is kept and sorted at the end (pN is the smallest sample that at least
 * N% of the samples do not exceed). Resolution: one counter tick (16 ns
 * at QEMU's 62.5 MHz; KVM guests see the host's rate).
 *
 * Deadlines follow a fixed schedule (deadline k = start + k * period), as
 * cyclictest's absolute mode does; when an interrupt arrives so late that
 * the next deadline has already passed, the missed ones are skipped and
 * counted (`overruns=`), and the schedule goes on from the next future
 * deadline.
 *
 * Watchdog: the EL1 physical timer (CNTP, PPI 14 = INTID 30) of the same
 * CPU is armed WATCHDOG_MS after each deadline (in physical counts: under
 * KVM CNTVCT = CNTPCT - CNTVOFF, and CNTVOFF is not 0). If the virtual
 * timer's interrupt has not come by then, the wait ends, the period is
 * counted as `lost=` and not sampled, and the schedule restarts one
 * period later. `watchdog=0` turns it off. For tests, `lose=K` leaves the
 * virtual timer unarmed for the K-th period (from 1, warm-up included),
 * once.
 */
#include "rt.h"
#include "latency_stats.h"

#define MAX_SAMPLES (1u << 20)
#define WATCHDOG_MS 1000

#define CNT_CTL_ENABLE	(1u << 0)
#define CNT_CTL_IMASK	(1u << 1)
#define CNT_CTL_ISTATUS (1u << 2)
#define INTID_PTIMER	(16 + ABI_TIMER_PPI_PHYS) /* 30 */

/* Recorded samples, in ns; written before read, so not zeroed at boot. */
static uint32_t lat_ns[MAX_SAMPLES] __attribute__((section(".noinit")));
static struct lat_stats st = { .ns = lat_ns };

static uint64_t freq;		/* CNTFRQ_EL0, Hz */
static volatile uint64_t armed; /* CNTV_CVAL of the armed interrupt */
static volatile bool fired;
static volatile bool kicked; /* the watchdog ended the wait */

static uint64_t ticks_to_ns(uint64_t t)
{
	return t / freq * 1000000000ull + t % freq * 1000000000ull / freq;
}

/* From rt_irq_dispatch(), right after the GIC acknowledge: the counter
 * read is the first thing it does. */
static void vtimer_irq(unsigned intid, void *arg)
{
	uint64_t now = rt_counter();
	uint64_t ctl = sysreg_read(cntv_ctl_el0);

	/* Stale (the line dropped already, or this period was handled and
	 * masked): ISTATUS says the deadline passed even while masked. */
	if (!(ctl & CNT_CTL_ISTATUS) || (ctl & CNT_CTL_IMASK))
		return;
	/* Mask it: the level-triggered line drops until the next arm. */
	sysreg_write(cntv_ctl_el0, CNT_CTL_ENABLE | CNT_CTL_IMASK);
	isb();
	lat_record(&st, now, armed, ticks_to_ns);
	fired = true;
}

static inline uint64_t phys_counter(void)
{
	uint64_t v;

	__asm__ volatile("isb\n\tmrs %0, cntpct_el0" : "=r"(v) : : "memory");
	return v;
}

static void ptimer_irq(unsigned intid, void *arg)
{
	sysreg_write(cntp_ctl_el0, CNT_CTL_IMASK);
	isb();
	kicked = true;
}

int main(void)
{
	uint64_t period, next, overruns = 0, lost = 0, wd_ticks;
	struct lat_opts o;
	bool watchdog;

	if (lat_opts_parse(&o, MAX_SAMPLES))
		return 2;
	st.nwarmup = o.warmup;
	watchdog = rt_cmdline_uint("watchdog", 1) != 0;
	freq = rt_counter_freq();
	if (freq < 1000) {
		rt_printf("latency: CNTFRQ_EL0 is %lu Hz: no usable counter\n",
			  (unsigned long)freq);
		return 3;
	}
	period = o.period_us / 1000000 * freq +
		 o.period_us % 1000000 * freq / 1000000;
	wd_ticks = WATCHDOG_MS * (freq / 1000);

	sysreg_write(cntv_ctl_el0, CNT_CTL_IMASK);
	sysreg_write(cntp_ctl_el0, CNT_CTL_IMASK);
	isb();
	rt_irq_disable();
	if (rt_irq_attach(RT_INTID_VTIMER, false, vtimer_irq, NULL))
		rt_panic("latency: cannot attach the virtual timer's PPI");
	if (watchdog && rt_irq_attach(INTID_PTIMER, false, ptimer_irq, NULL))
		rt_panic("latency: cannot attach the physical timer's PPI");
	rt_printf("latency: start timer=cntv period_us=%lu samples=%lu "
		  "warmup=%u cntfrq_hz=%lu gic=v%u watchdog=%s\n",
		  (unsigned long)o.period_us, (unsigned long)o.samples,
		  st.nwarmup, (unsigned long)freq, rt_gic_version(),
		  watchdog ? "on" : "off");

	next = rt_counter() + period;
	while (st.nsamples < o.samples) {
		uint64_t now;

		fired = false;
		kicked = false;
		armed = next;
		sysreg_write(cntv_cval_el0, next);
		if (o.lose && st.nseen + lost + 1 == o.lose)
			sysreg_write(cntv_ctl_el0, CNT_CTL_IMASK); /* once */
		else
			sysreg_write(cntv_ctl_el0, CNT_CTL_ENABLE);
		if (watchdog) {
			uint64_t p = phys_counter(), v = rt_counter();

			sysreg_write(cntp_cval_el0, p + (next - v) + wd_ticks);
			sysreg_write(cntp_ctl_el0, CNT_CTL_ENABLE);
		}
		isb();
		while (!fired && !kicked)
			rt_wait_irq(); /* wfi; the handler runs here */
		if (watchdog) {
			sysreg_write(cntp_ctl_el0, CNT_CTL_IMASK);
			isb();
		}
		now = rt_counter();
		if (!fired) {
			/* No interrupt WATCHDOG_MS after the deadline. Start
			 * over one period from now. */
			sysreg_write(cntv_ctl_el0, CNT_CTL_IMASK);
			isb();
			lost++;
			next = now + period;
			continue;
		}
		next = lat_next_deadline(next, now, period, &overruns);
	}
	sysreg_write(cntv_ctl_el0, 0);
	sysreg_write(cntp_ctl_el0, 0);
	isb();
	rt_irq_mask(RT_INTID_VTIMER);
	if (watchdog)
		rt_irq_mask(INTID_PTIMER);

	lat_report_hist(&st);
	rt_printf("latency-info: timer=cntv period_us=%lu cntfrq_hz=%lu "
		  "warmup=%u overruns=%lu early=%u lost=%lu\n",
		  (unsigned long)o.period_us, (unsigned long)freq, st.nwarmup,
		  (unsigned long)overruns, st.early, (unsigned long)lost);
	lat_report_summary(&st);
	return 0;
}
