/* SPDX-License-Identifier: MIT */
/*
 * latency.elf: timer interrupt latency, the guest side of cyclictest.
 *
 * The LAPIC timer is armed for a deadline `period_us=` (default 1000)
 * microseconds after the previous one; the CPU HLTs; the handler reads the
 * TSC first thing and records how late it runs after the deadline. That
 * is the whole path a real-time guest depends on: the host timer firing,
 * the vCPU thread being woken and scheduled on its CPU, KVM injecting the
 * interrupt, the guest's entry stub. After `warmup=` (default 10)
 * unrecorded periods it takes `samples=` (default 10000, at most
 * MAX_SAMPLES) and prints
 *
 *   latency: samples=N min=A avg=B p99=C p999=D max=E (ns)
 *
 * plus a log2 histogram (`latency-hist: lo_ns=L hi_ns=H count=N`, the
 * buckets that are not empty) and a `latency-info:` line (timer mode,
 * TSC rate, periods skipped because the previous interrupt came too late),
 * then powers off (exit status 0). Percentiles are exact: every sample is
 * kept and sorted at the end (pN is the smallest sample that at least N%
 * of the samples do not exceed).
 *
 * Timer (`timer=`): `deadline` is the LAPIC's TSC-deadline mode (IA32_
 * TSC_DEADLINE, Intel SDM Vol. 3A 11.5.4.1), the deadline exact in TSC
 * ticks; `oneshot` counts LAPIC timer ticks (divide by 16), converted from
 * the TSC distance with the PIT-calibrated rates, so the deadline is known
 * only to a LAPIC tick; `auto` (default) takes `deadline` when CPUID
 * offers it (leaf 1 ECX bit 24). The TSC rate comes from the runtime's
 * calibration against PIT channel 2 (rt_tsc_khz()).
 *
 * Deadlines follow a fixed schedule (deadline k = start + k * period), as
 * cyclictest's absolute mode does; when an interrupt arrives so late that
 * the next deadline has already passed, the missed ones are skipped and
 * counted (`overruns=`), and the schedule goes on from the next future
 * deadline.
 *
 * Watchdog: an interrupt that never comes (twice in some 50000 under
 * nested emulation, L1 on QEMU TCG) would leave the HLT loop waiting
 * forever. With a second CPU in the firmware tables (`vcpus = 2`), that
 * CPU runs its own LAPIC timer at 10 Hz and, once the timer CPU has
 * waited WATCHDOG_MS past its deadline, sends it an IPI: the wait ends,
 * the period is counted as `lost=` and not sampled, and the schedule
 * restarts one period later. `watchdog=0` turns it off; with one CPU
 * there is none (the VMM's `[vm] timeout` is the limit then). For tests,
 * `lose=K` leaves the timer unarmed for the K-th period (from 1, warm-up
 * included), once.
 */
#include "rt.h"
#include "cpu.h"
#include "devices/abi/x86_pc.h"
#include "latency_stats.h"

#define MAX_SAMPLES (1u << 20)

#define LAPIC_LVT_TIMER	 0x320
#define LAPIC_TIMER_ICR	 0x380
#define LAPIC_TIMER_DCR	 0x3e0
#define LVT_MASKED	 (1u << 16)
#define LVT_TSC_DEADLINE (2u << 17)
#define DCR_DIV16	 0x3
#define MSR_TSC_DEADLINE 0x6e0u
#define CPUID1_ECX_TSCDL (1u << 24)
#define LVT_PERIODIC	 (1u << 17)
#define VEC_WATCHDOG	 (RT_VEC_TIMER + 1) /* the watchdog CPU's timer */
#define VEC_KICK	 (RT_VEC_TIMER + 2) /* watchdog -> timer CPU */
#define WATCHDOG_MS	 1000

enum timer_mode { TIMER_DEADLINE, TIMER_ONESHOT };

static uint32_t lat_ns[MAX_SAMPLES]; /* recorded samples, in ns */
/* Samples and counters (st.early, the handler ran before the deadline:
 * oneshot mode only). */
static struct lat_stats st = { .ns = lat_ns };

static enum timer_mode mode;
static uint64_t tsc_khz;
static uint32_t lapic_per_ms;
static volatile uint64_t armed; /* TSC deadline of the armed interrupt */
static volatile bool fired;
static volatile bool waiting; /* the timer CPU is in its HLT loop */
static volatile bool kicked;  /* the watchdog woke it */
static uint32_t bsp_apic_id;

static inline void lapic_write(uint32_t reg, uint32_t val)
{
	mmio_write32(ABI_LAPIC_BASE + reg, val);
}

static uint64_t tsc_to_ns(uint64_t t)
{
	return t * 1000000 / tsc_khz;
}

/* Runs from the runtime's entry stub; the TSC read is its first action. */
static void timer_irq(void *arg)
{
	uint64_t now = cpu_rdtsc();

	lat_record(&st, now, armed, tsc_to_ns);
	fired = true;
}

/* Arm the timer for TSC value `deadline`; returns the deadline armed (in
 * oneshot mode, rounded to LAPIC ticks). */
static uint64_t arm(uint64_t deadline)
{
	uint64_t now, ticks;

	if (mode == TIMER_DEADLINE) {
		cpu_wrmsr(MSR_TSC_DEADLINE, deadline);
		return deadline;
	}
	now = cpu_rdtsc();
	ticks = deadline > now ? (deadline - now) * lapic_per_ms / tsc_khz : 0;
	if (ticks == 0)
		ticks = 1;
	if (ticks > 0xffffffffu)
		ticks = 0xffffffffu;
	lapic_write(LAPIC_TIMER_ICR, (uint32_t)ticks);
	return now + ticks * tsc_khz / lapic_per_ms;
}

static void kick_irq(void *arg)
{
	kicked = true;
}

/* On the watchdog CPU, 10 times a second. */
static void watchdog_irq(void *arg)
{
	uint64_t late = tsc_khz * WATCHDOG_MS;

	if (waiting && !fired && !kicked && cpu_rdtsc() > armed + late)
		rt_lapic_ipi(bsp_apic_id, RT_ICR_FIXED | VEC_KICK);
}

static void watchdog_main(struct rt_cpu *cpu)
{
	rt_irq_disable();
	lapic_write(LAPIC_TIMER_DCR, DCR_DIV16);
	lapic_write(LAPIC_LVT_TIMER, LVT_PERIODIC | VEC_WATCHDOG);
	lapic_write(LAPIC_TIMER_ICR, lapic_per_ms * 100);
	for (;;)
		rt_wait_irq();
}

/* Start the watchdog on the second CPU, if there is one; true if so. */
static bool watchdog_start(void)
{
	struct rt_topology t;
	char why[80];

	rt_topology_discover(&t, RT_TOPO_ALLOW_ALL, NULL);
	if (t.ncpus < 2)
		return false;
	bsp_apic_id = rt_lapic_id();
	rt_vector_attach(VEC_WATCHDOG, watchdog_irq, NULL);
	rt_vector_attach(VEC_KICK, kick_irq, NULL);
	if (rt_smp_start(&t, watchdog_main, 0, why, sizeof(why)) < 1) {
		rt_printf("latency: no watchdog CPU: %s\n", why);
		return false;
	}
	for (unsigned i = 0; i < 1000 && rt_smp_running() < 2; i++)
		rt_udelay(1000);
	if (rt_smp_running() < 2) {
		rt_printf("latency: the watchdog CPU did not start\n");
		return false;
	}
	return true;
}

static bool has_tsc_deadline(void)
{
	uint32_t a, b, c, d;

	cpu_cpuid(1, 0, &a, &b, &c, &d);
	return c & CPUID1_ECX_TSCDL;
}

int main(void)
{
	uint64_t period, next, overruns = 0, lost = 0;
	bool watchdog = false;
	struct lat_opts o;
	const char *val;
	size_t len;

	if (lat_opts_parse(&o, MAX_SAMPLES))
		return 2;
	st.nwarmup = o.warmup;

	mode = has_tsc_deadline() ? TIMER_DEADLINE : TIMER_ONESHOT;
	if (rt_cmdline_opt("timer", &val, &len)) {
		if (len == 7 && !memcmp(val, "oneshot", 7)) {
			mode = TIMER_ONESHOT;
		} else if (len == 8 && !memcmp(val, "deadline", 8)) {
			if (!has_tsc_deadline()) {
				rt_printf("latency: timer=deadline, but CPUID "
					  "has no TSC-deadline timer\n");
				return 2;
			}
			mode = TIMER_DEADLINE;
		} else if (!(len == 4 && !memcmp(val, "auto", 4))) {
			rt_printf("latency: bad timer '%.*s' (auto, deadline "
				  "or oneshot)\n",
				  (int)len, val);
			return 2;
		}
	}

	lapic_per_ms = rt_timer_calibrate();
	tsc_khz = rt_tsc_khz();
	if (!tsc_khz) {
		rt_printf("latency: could not measure the TSC rate\n");
		return 3;
	}
	period = o.period_us * tsc_khz / 1000;
	if (rt_cmdline_uint("watchdog", 1))
		watchdog = watchdog_start();
	rt_printf("latency: start timer=%s period_us=%lu samples=%lu "
		  "warmup=%u tsc_khz=%lu watchdog=%s\n",
		  mode == TIMER_DEADLINE ? "deadline" : "oneshot",
		  (unsigned long)o.period_us, (unsigned long)o.samples,
		  st.nwarmup, (unsigned long)tsc_khz, watchdog ? "on" : "off");

	rt_irq_init();
	rt_irq_disable();
	rt_vector_attach(RT_VEC_TIMER, timer_irq, NULL);
	if (mode == TIMER_DEADLINE) {
		lapic_write(LAPIC_LVT_TIMER, LVT_TSC_DEADLINE | RT_VEC_TIMER);
	} else {
		lapic_write(LAPIC_TIMER_DCR, DCR_DIV16);
		lapic_write(LAPIC_LVT_TIMER, RT_VEC_TIMER); /* one-shot */
	}

	next = cpu_rdtsc() + period;
	while (st.nsamples < o.samples) {
		uint64_t now;

		fired = false;
		kicked = false;
		if (o.lose && st.nseen + lost + 1 == o.lose)
			armed = next; /* lose=K: not armed, once */
		else
			armed = arm(next);
		waiting = true;
		while (!fired && !kicked) {
			rt_wait_irq(); /* sti; hlt: the handler runs here */
			rt_irq_disable();
		}
		waiting = false;
		now = cpu_rdtsc();
		if (!fired) {
			/* The watchdog: no interrupt WATCHDOG_MS after the
			 * deadline. Start over one period from now. */
			lost++;
			next = now + period;
			continue;
		}
		next = lat_next_deadline(next, now, period, &overruns);
	}
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | RT_VEC_TIMER);
	if (mode == TIMER_DEADLINE)
		cpu_wrmsr(MSR_TSC_DEADLINE, 0);
	else
		lapic_write(LAPIC_TIMER_ICR, 0);
	rt_irq_enable();

	lat_report_hist(&st);
	rt_printf("latency-info: timer=%s period_us=%lu tsc_khz=%lu "
		  "warmup=%u overruns=%lu early=%u lost=%lu\n",
		  mode == TIMER_DEADLINE ? "deadline" : "oneshot",
		  (unsigned long)o.period_us, (unsigned long)tsc_khz,
		  st.nwarmup, (unsigned long)overruns, st.early,
		  (unsigned long)lost);
	lat_report_summary(&st);
	return 0;
}
