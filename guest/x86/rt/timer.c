/* SPDX-License-Identifier: MIT */
/*
 * LAPIC timer (Intel SDM Vol. 3A, 11.5.4) calibrated against PIT channel 2
 * (8254 datasheet; the channel 2 gate and output are bits 0 and 5 of port
 * 0x61 on PCs).
 *
 * Calibration: the LAPIC timer counts down from its maximum (masked) while
 * PIT channel 2 runs a 10 ms one-shot (mode 0, 11932 input clocks at
 * 1.193182 MHz); port 0x61 is polled until OUT2 rises. Both ends are
 * bracketed by LAPIC count reads: the PIT start lies between the reads
 * around the count write, the expiry between the read before the last "low"
 * poll and the read after the first "high" one. So each attempt yields an
 * interval that surely holds the true 10 ms count; a vCPU descheduled at
 * the wrong moment (a loaded host, instruction emulation) widens the
 * interval instead of skewing the result. Attempts are repeated, up to
 * CALIB_TRIES, intersecting the intervals, until the intersection is
 * narrower than 0.5%; the result is its midpoint.
 * This is the runtime's only busy loop, ~10 ms per attempt, once.
 *
 * If the PIT does not answer (OUT2 already high right after programming
 * mode 0, which sets it low, or no expiry in a sane time) the runtime
 * assumes KVM's 1 GHz APIC bus clock.
 */
#include "rt.h"
#include "cpu.h"
#include "devices/abi/x86_pc.h"

#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_ICR 0x380
#define LAPIC_TIMER_CCR 0x390
#define LAPIC_TIMER_DCR 0x3e0
#define LVT_MASKED	(1u << 16)
#define LVT_PERIODIC	(1u << 17)
#define DCR_DIV16	0x3

#define PIT_CH2	      0x42
#define PIT_CMD	      0x43
#define PIT_PORTB     0x61
#define PORTB_GATE2   0x01
#define PORTB_SPEAKER 0x02
#define PORTB_OUT2    0x20
#define PIT_HZ	      1193182u
#define PIT_LATCH     11932u /* 10.000 ms */

#define FALLBACK_PER_MS 62500u	    /* 1 GHz bus / 16 */
#define CALIB_MAX_COUNT 0x08000000u /* no expiry after this many: give up */
#define CALIB_TRIES	10

static uint32_t lapic_per_ms; /* LAPIC counts per ms at divide-by-16 */
static uint32_t tsc_khz;
static volatile uint64_t ticks;
static unsigned timer_hz; /* 0 when stopped */
static unsigned tick_hz;  /* rate of the last start: uptime after a stop */
static rt_timer_fn timer_cb;
static void *timer_cb_arg;
static volatile bool oneshot_fired; /* rt_udelay(): the one-shot expired */

static inline uint32_t lapic_read(uint32_t reg)
{
	return mmio_read32(ABI_LAPIC_BASE + reg);
}

static inline void lapic_write(uint32_t reg, uint32_t val)
{
	mmio_write32(ABI_LAPIC_BASE + reg, val);
}

struct calib {
	uint32_t min, max; /* LAPIC counts in 10 ms: bounds */
	uint64_t tsc;	   /* TSC ticks over `lapic` LAPIC counts */
	uint32_t lapic;
};

/* One attempt; false if the PIT does not behave like one. */
static bool calib_once(struct calib *c)
{
	uint32_t c0, c1, lo, hi, now;
	uint64_t tsc0, tsc1;

	pio_out8(PIT_CMD, 0xb0); /* channel 2, lobyte/hibyte, mode 0 */
	pio_out8(PIT_CH2, PIT_LATCH & 0xff);
	lapic_write(LAPIC_TIMER_ICR, 0xffffffffu);
	tsc0 = cpu_rdtsc();
	c0 = lapic_read(LAPIC_TIMER_CCR);
	pio_out8(PIT_CH2, PIT_LATCH >> 8); /* the count starts */
	c1 = lapic_read(LAPIC_TIMER_CCR);
	lo = c1;
	for (;;) {
		now = lapic_read(LAPIC_TIMER_CCR);
		if (pio_in8(PIT_PORTB) & PORTB_OUT2)
			break;
		lo = now;
		if (c0 - now > CALIB_MAX_COUNT)
			return false;
	}
	hi = lapic_read(LAPIC_TIMER_CCR);
	tsc1 = cpu_rdtsc();
	if (lo == c1)
		return false; /* OUT2 was high at once: no working PIT */
	c->min = c1 - lo;     /* started last, expired first */
	c->max = c0 - hi;
	c->tsc = tsc1 - tsc0;
	c->lapic = 0xffffffffu - hi;
	return true;
}

uint32_t rt_timer_calibrate(void)
{
	uint32_t min = 0, max = 0xffffffffu, counts = 0;
	struct calib c = { 0 };
	uint8_t portb;

	if (lapic_per_ms)
		return lapic_per_ms;

	portb = pio_in8(PIT_PORTB);
	pio_out8(PIT_PORTB, (portb & ~PORTB_SPEAKER) | PORTB_GATE2);
	lapic_write(LAPIC_TIMER_DCR, DCR_DIV16);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | RT_VEC_TIMER);
	for (unsigned i = 0; i < CALIB_TRIES; i++) {
		if (!calib_once(&c))
			break;
		if (c.min > min)
			min = c.min;
		if (c.max < max)
			max = c.max;
		if (min > max) /* inconsistent clocks: trust the last one */
			min = max = (c.min + c.max) / 2;
		counts = min + (max - min) / 2;
		if ((uint64_t)(max - min) * 200 <= counts)
			break;
	}
	lapic_write(LAPIC_TIMER_ICR, 0);
	pio_out8(PIT_PORTB, portb & ~PORTB_SPEAKER);

	/* counts per ms = counts / (PIT_LATCH / PIT_HZ s) / 1000 */
	lapic_per_ms =
		(uint32_t)((uint64_t)counts * PIT_HZ / (PIT_LATCH * 1000ull));
	if (lapic_per_ms < 100) {
		rt_printf("rt: PIT calibration failed, assuming a 1 GHz APIC "
			  "bus\n");
		lapic_per_ms = FALLBACK_PER_MS;
		return lapic_per_ms;
	}
	if (c.lapic)
		tsc_khz = (uint32_t)(c.tsc * lapic_per_ms / c.lapic);
	return lapic_per_ms;
}

uint32_t rt_tsc_khz(void)
{
	rt_timer_calibrate();
	return tsc_khz;
}

static void timer_isr(void *arg)
{
	uint64_t t = ticks + 1;

	if (!timer_hz) {
		/* rt_udelay()'s one-shot, which has counted down to 0 when
		 * it fires (a stale periodic tick after a stop has not). */
		if (lapic_read(LAPIC_TIMER_CCR) == 0)
			oneshot_fired = true;
		return;
	}

	ticks = t;
	if (timer_cb)
		timer_cb(t, timer_cb_arg);
}

int rt_timer_start(unsigned hz, rt_timer_fn fn, void *arg)
{
	uint32_t per_ms;

	if (hz == 0 || hz > 10000)
		return -1;
	per_ms = rt_timer_calibrate();
	rt_irq_init();
	rt_irq_disable();
	ticks = 0;
	timer_hz = hz;
	tick_hz = hz;
	timer_cb = fn;
	timer_cb_arg = arg;
	rt_vector_attach(RT_VEC_TIMER, timer_isr, NULL);
	lapic_write(LAPIC_TIMER_DCR, DCR_DIV16);
	lapic_write(LAPIC_LVT_TIMER, LVT_PERIODIC | RT_VEC_TIMER);
	lapic_write(LAPIC_TIMER_ICR, (uint32_t)((uint64_t)per_ms * 1000 / hz));
	rt_irq_enable();
	return 0;
}

void rt_timer_stop(void)
{
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | RT_VEC_TIMER);
	lapic_write(LAPIC_TIMER_ICR, 0);
	timer_hz = 0;
}

unsigned rt_timer_hz(void)
{
	return timer_hz;
}

uint64_t rt_ticks(void)
{
	return ticks;
}

uint64_t rt_uptime_ms(void)
{
	return tick_hz ? ticks * 1000 / tick_hz : 0;
}

void rt_wait_ticks(uint64_t target)
{
	for (;;) {
		rt_irq_disable();
		if (ticks >= target || !timer_hz)
			break;
		rt_wait_irq();
	}
	rt_irq_enable();
}

void rt_sleep_ms(unsigned ms)
{
	uint64_t n;

	if (!timer_hz)
		rt_timer_start(100, NULL, NULL);
	n = ((uint64_t)ms * timer_hz + 999) / 1000;
	rt_wait_ticks(ticks + n);
}

/* One-shot LAPIC timer: the vector is the periodic timer's, timer_isr()
 * tells them apart by timer_hz (0 while no periodic timer runs). */
void rt_udelay(unsigned us)
{
	uint64_t count;

	if (timer_hz) {
		rt_wait_ticks(ticks + 1 +
			      ((uint64_t)us * timer_hz + 999999) / 1000000);
		return;
	}
	count = (uint64_t)rt_timer_calibrate() * us / 1000;
	if (count == 0)
		count = 1;
	if (count > 0xffffffffu)
		count = 0xffffffffu;
	rt_irq_init();
	rt_irq_disable();
	rt_vector_attach(RT_VEC_TIMER, timer_isr, NULL);
	oneshot_fired = false;
	lapic_write(LAPIC_TIMER_DCR, DCR_DIV16);
	lapic_write(LAPIC_LVT_TIMER, RT_VEC_TIMER); /* one-shot, unmasked */
	lapic_write(LAPIC_TIMER_ICR, (uint32_t)count);
	for (;;) {
		rt_irq_disable();
		if (oneshot_fired)
			break;
		rt_wait_irq();
	}
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | RT_VEC_TIMER);
	rt_irq_enable();
}

unsigned rt_wait_count(const volatile unsigned *count, unsigned want,
		       unsigned timeout_ms)
{
	uint64_t end;

	if (!timer_hz)
		rt_timer_start(100, NULL, NULL);
	end = ticks + ((uint64_t)timer_hz * timeout_ms + 999) / 1000;
	for (;;) {
		rt_irq_disable();
		if (*count >= want || ticks >= end || !timer_hz)
			break;
		rt_wait_irq();
	}
	rt_irq_enable();
	return *count;
}
