/* SPDX-License-Identifier: MIT */
/*
 * demo.elf (arm64): the x86 demo's "small RTOS" (guest/x86/demo/demo.c) on
 * the arm64 runtime.
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

#define RUN_MS_DEFAULT 3000
#define RUN_MS_MAX     (24ull * 3600 * 1000)
#define HZ_DEFAULT     100

#define ROOM_MC	    18000 /* ambient temperature, milli-degrees C */
#define SETPOINT_MC 22000
#define HEAT_MC	    600 /* rise per sensor period at 100% heater */
#define LOSS_PERMIL 20	/* heat lost per sensor period, per mille of dT */
#define KP_PCT	    25	/* heater % per degree of error */

struct task {
	const char *name;
	uint32_t period_ms;
	void (*job)(struct task *t, uint64_t now_ms);
	uint64_t release_ms; /* next release */
	uint32_t runs, missed;
	uint64_t max_latency_ms;
};

static struct {
	int32_t temp_mc;    /* the simulated room */
	int32_t heater_pct; /* actuator, set by control */
	int64_t sum_mc;	    /* readings since the last control run */
	uint32_t nr_readings;
	uint32_t rng;
} plant = { ROOM_MC, 0, 0, 0, 12345 };

static uint64_t idle_cnt, last_beat_cnt, last_beat_idle; /* counter ticks */
static uint64_t stop_ms; /* run= ms, or earlier after a "quit" datagram */

static uint64_t now_ms(void)
{
	return rt_uptime_ms();
}

/* Milli-degrees as "dd.dd". */
static void fmt_temp(char *buf, size_t size, int32_t mc)
{
	const char *sign = mc < 0 ? "-" : "";
	uint32_t a = (uint32_t)(mc < 0 ? -mc : mc);

	rt_snprintf(buf, size, "%s%u.%02u", sign, a / 1000, a % 1000 / 10);
}

static void log_prefix(const struct task *t, uint64_t now)
{
	rt_printf("[%6llu ms] %-9s #%-3u ", (unsigned long long)now, t->name,
		  t->runs + 1);
}

static void sensor_job(struct task *t, uint64_t now)
{
	int32_t noise, reading;
	char buf[16];

	/* Advance the room by one sensor period. */
	plant.temp_mc += plant.heater_pct * HEAT_MC / 100 -
			 (plant.temp_mc - ROOM_MC) * LOSS_PERMIL / 1000;
	plant.rng = plant.rng * 1103515245u + 12345u;
	noise = (int32_t)((plant.rng >> 16) % 101) - 50;
	reading = plant.temp_mc + noise;
	plant.sum_mc += reading;
	plant.nr_readings++;
	fmt_temp(buf, sizeof(buf), reading);
	log_prefix(t, now);
	rt_printf("temperature %s C\n", buf);
}

static void control_job(struct task *t, uint64_t now)
{
	int32_t avg, err, out;
	char a[16], sp[16];

	if (!plant.nr_readings)
		return;
	avg = (int32_t)(plant.sum_mc / plant.nr_readings);
	plant.sum_mc = 0;
	plant.nr_readings = 0;
	err = SETPOINT_MC - avg;
	out = err * KP_PCT / 1000;
	plant.heater_pct = out < 0 ? 0 : out > 100 ? 100 : out;
	fmt_temp(a, sizeof(a), avg);
	fmt_temp(sp, sizeof(sp), SETPOINT_MC);
	log_prefix(t, now);
	rt_printf("average %s C, setpoint %s C -> heater %d%%\n", a, sp,
		  plant.heater_pct);
}

static void heartbeat_job(struct task *t, uint64_t now)
{
	uint64_t c = rt_counter(), span = c - last_beat_cnt;
	uint64_t idle = idle_cnt - last_beat_idle;
	unsigned pct = span ? (unsigned)(idle * 100 / span) : 0;

	last_beat_cnt = c;
	last_beat_idle = idle_cnt;
	log_prefix(t, now);
	rt_printf("uptime %llu s, %llu ticks, cpu idle %u%%\n",
		  (unsigned long long)(now / 1000),
		  (unsigned long long)rt_ticks(), pct);
}

/* Highest priority first (rate-monotonic: shortest period first). */
static struct task tasks[] = {
	{ .name = "sensor", .period_ms = 200, .job = sensor_job },
	{ .name = "control", .period_ms = 500, .job = control_job },
	{ .name = "heartbeat", .period_ms = 1000, .job = heartbeat_job },
};
#define NR_TASKS (sizeof(tasks) / sizeof(tasks[0]))

/* Run the highest-priority released job; false if none is ready. */
static bool schedule_one(uint64_t end_ms)
{
	uint64_t now = now_ms();

	for (unsigned i = 0; i < NR_TASKS; i++) {
		struct task *t = &tasks[i];
		uint64_t rel;

		if (t->release_ms > end_ms || now < t->release_ms)
			continue;
		/* Releases whose whole period went by unserved. */
		while (now >= t->release_ms + t->period_ms &&
		       t->release_ms <= end_ms) {
			t->missed++;
			t->release_ms += t->period_ms;
		}
		if (t->release_ms > end_ms)
			continue;
		rel = t->release_ms;
		if (now - rel > t->max_latency_ms)
			t->max_latency_ms = now - rel;
		t->job(t, now);
		t->runs++;
		if (now_ms() > rel + t->period_ms)
			t->missed++;
		t->release_ms = rel + t->period_ms;
		return true;
	}
	return false;
}

/* WFI until `ms` (guest time), accounting the time spent idle. */
static void idle_until(uint64_t ms)
{
	uint64_t flags = rt_irq_save();

	while (now_ms() < ms && now_ms() < stop_ms) {
		uint64_t t0 = rt_counter();

		rt_wait_irq();
		idle_cnt += rt_counter() - t0;
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
	rt_printf("sched:  rate-monotonic, run to completion, %u tasks:",
		  (unsigned)NR_TASKS);
	for (unsigned i = 0; i < NR_TASKS; i++)
		rt_printf(" %s/%ums", tasks[i].name, tasks[i].period_ms);
	rt_printf("; running %llu ms\n\n", (unsigned long long)run_ms);
}

static void summary(uint64_t run_ms, unsigned hz)
{
	unsigned runs = 0, expected = 0, missed = 0;

	rt_printf("\n--- %llu ms elapsed (%llu ticks at %u Hz) ---\n",
		  (unsigned long long)now_ms(), (unsigned long long)rt_ticks(),
		  hz);
	rt_puts("task       period   ran      missed  max latency\n");
	for (unsigned i = 0; i < NR_TASKS; i++) {
		const struct task *t = &tasks[i];
		unsigned exp = (unsigned)(run_ms / t->period_ms);

		rt_printf("%-10s %4u ms  %3u/%-4u %-7u %llu ms\n", t->name,
			  t->period_ms, t->runs, exp, t->missed,
			  (unsigned long long)t->max_latency_ms);
		runs += t->runs;
		expected += exp;
		missed += t->missed;
	}
	rt_printf("summary: %u/%u jobs ran, %u deadlines missed\n", runs,
		  expected, missed);
	rt_printf("timer:  max tick lateness %llu us\n",
		  (unsigned long long)rt_counter_us(rt_timer_late_max));
	rt_puts("system halted: powering off\n");
}

int main(void)
{
	uint64_t run_ms = rt_cmdline_uint("run", RUN_MS_DEFAULT);
	unsigned hz = (unsigned)rt_cmdline_uint("hz", HZ_DEFAULT);

	if (run_ms == 0 || run_ms > RUN_MS_MAX)
		run_ms = RUN_MS_DEFAULT;
	if (hz == 0 || hz > 1000)
		hz = HZ_DEFAULT;
	stop_ms = run_ms;
	banner(hz, run_ms);

	for (unsigned i = 0; i < NR_TASKS; i++)
		tasks[i].release_ms = tasks[i].period_ms;
	if (rt_timer_start(hz, NULL, NULL))
		rt_panic("the virtual timer did not start");
	last_beat_cnt = rt_counter();
	for (;;) {
		uint64_t next = UINT64_MAX;

		if (schedule_one(stop_ms))
			continue;
		for (unsigned i = 0; i < NR_TASKS; i++)
			if (tasks[i].release_ms <= stop_ms &&
			    tasks[i].release_ms < next)
				next = tasks[i].release_ms;
		if (next == UINT64_MAX)
			break;
		idle_until(next);
	}
	rt_timer_stop();
	summary(stop_ms, hz);
	rt_poweroff();
}
