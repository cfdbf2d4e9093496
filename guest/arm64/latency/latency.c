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

#define MAX_SAMPLES  (1u << 20)
#define HIST_BUCKETS 40 /* log2: bucket b holds [2^(b-1), 2^b) ns */
#define WATCHDOG_MS  1000

#define CNT_CTL_ENABLE	(1u << 0)
#define CNT_CTL_IMASK	(1u << 1)
#define CNT_CTL_ISTATUS (1u << 2)
#define INTID_PTIMER	(16 + ABI_TIMER_PPI_PHYS) /* 30 */

/* Recorded samples, in ns; written before read, so not zeroed at boot. */
static uint32_t lat_ns[MAX_SAMPLES] __attribute__((section(".noinit")));
static unsigned nsamples; /* recorded so far */
static unsigned nwarmup;  /* periods to ignore first */
static unsigned nseen;	  /* interrupts handled, warm-up included */
static uint64_t hist[HIST_BUCKETS];
static uint64_t sum_ns;
static unsigned early; /* handler ran before the deadline */

static uint64_t freq;		/* CNTFRQ_EL0, Hz */
static volatile uint64_t armed; /* CNTV_CVAL of the armed interrupt */
static volatile bool fired;
static volatile bool kicked; /* the watchdog ended the wait */

static uint64_t ticks_to_ns(uint64_t t)
{
	return t / freq * 1000000000ull + t % freq * 1000000000ull / freq;
}

static unsigned bucket_of(uint32_t ns)
{
	unsigned b = 0;

	while (ns && b < HIST_BUCKETS - 1) {
		ns >>= 1;
		b++;
	}
	return b;
}

static void record(uint64_t now)
{
	uint64_t ns;

	if (now < armed) {
		early++;
		ns = 0;
	} else {
		ns = ticks_to_ns(now - armed);
	}
	if (ns > 0xffffffffu)
		ns = 0xffffffffu;
	if (nseen++ < nwarmup)
		return;
	lat_ns[nsamples++] = (uint32_t)ns;
	hist[bucket_of((uint32_t)ns)]++;
	sum_ns += ns;
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
	record(now);
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

static void sift_down(uint32_t *a, size_t root, size_t n)
{
	for (;;) {
		size_t c = 2 * root + 1;
		uint32_t t;

		if (c >= n)
			return;
		if (c + 1 < n && a[c + 1] > a[c])
			c++;
		if (a[root] >= a[c])
			return;
		t = a[root];
		a[root] = a[c];
		a[c] = t;
		root = c;
	}
}

static void heap_sort(uint32_t *a, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(a, i, n);
	for (size_t end = n; end-- > 1;) {
		uint32_t t = a[0];

		a[0] = a[end];
		a[end] = t;
		sift_down(a, 0, end);
	}
}

/* The smallest sample that at least permille/1000 of them do not exceed. */
static uint32_t percentile(const uint32_t *sorted, size_t n, unsigned permille)
{
	size_t rank = ((uint64_t)n * permille + 999) / 1000;

	if (rank == 0)
		rank = 1;
	return sorted[rank - 1];
}

int main(void)
{
	uint64_t period_us, want, period, next, overruns = 0, lost = 0;
	uint64_t lose, wd_ticks;
	bool watchdog;

	period_us = rt_cmdline_uint("period_us", 1000);
	want = rt_cmdline_uint("samples", 10000);
	nwarmup = (unsigned)rt_cmdline_uint("warmup", 10);
	lose = rt_cmdline_uint("lose", 0);
	watchdog = rt_cmdline_uint("watchdog", 1) != 0;
	if (period_us < 10 || period_us > 1000000) {
		rt_printf("latency: period_us=%lu is out of range (10 to "
			  "1000000)\n",
			  (unsigned long)period_us);
		return 2;
	}
	if (want < 1 || want > MAX_SAMPLES) {
		rt_printf("latency: samples=%lu is out of range (1 to %u)\n",
			  (unsigned long)want, MAX_SAMPLES);
		return 2;
	}
	freq = rt_counter_freq();
	if (freq < 1000) {
		rt_printf("latency: CNTFRQ_EL0 is %lu Hz: no usable counter\n",
			  (unsigned long)freq);
		return 3;
	}
	period = period_us / 1000000 * freq +
		 period_us % 1000000 * freq / 1000000;
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
		  (unsigned long)period_us, (unsigned long)want, nwarmup,
		  (unsigned long)freq, rt_gic_version(),
		  watchdog ? "on" : "off");

	next = rt_counter() + period;
	while (nsamples < want) {
		uint64_t now;

		fired = false;
		kicked = false;
		armed = next;
		sysreg_write(cntv_cval_el0, next);
		if (lose && nseen + lost + 1 == lose)
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
		next += period;
		if (next <= now) {
			uint64_t skip = (now - next) / period + 1;

			overruns += skip;
			next += skip * period;
		}
	}
	sysreg_write(cntv_ctl_el0, 0);
	sysreg_write(cntp_ctl_el0, 0);
	isb();
	rt_irq_mask(RT_INTID_VTIMER);
	if (watchdog)
		rt_irq_mask(INTID_PTIMER);

	heap_sort(lat_ns, nsamples);
	for (unsigned b = 0; b < HIST_BUCKETS; b++) {
		if (!hist[b])
			continue;
		rt_printf("latency-hist: lo_ns=%lu hi_ns=%lu count=%lu\n",
			  b ? 1ul << (b - 1) : 0ul, (1ul << b) - 1,
			  (unsigned long)hist[b]);
	}
	rt_printf("latency-info: timer=cntv period_us=%lu cntfrq_hz=%lu "
		  "warmup=%u overruns=%lu early=%u lost=%lu\n",
		  (unsigned long)period_us, (unsigned long)freq, nwarmup,
		  (unsigned long)overruns, early, (unsigned long)lost);
	rt_printf("latency: samples=%u min=%u avg=%lu p99=%u p999=%u max=%u "
		  "(ns)\n",
		  nsamples, lat_ns[0], (unsigned long)(sum_ns / nsamples),
		  percentile(lat_ns, nsamples, 990),
		  percentile(lat_ns, nsamples, 999), lat_ns[nsamples - 1]);
	return 0;
}
