/* SPDX-License-Identifier: MIT */
/*
 * The demo guests' scheduler, tasks and summary (demo_rtos.h).
 *
 * At every scheduling point the highest-priority released job runs
 * (shorter period = higher priority); when nothing is ready the demo
 * sleeps until the next release. A job's deadline is its next release. A
 * job that finishes late counts as a missed deadline; a release that comes
 * due while the previous one never got to run is skipped and counted as
 * missed.
 */
#include "rt.h"
#include "demo_rtos.h"

#define RUN_MS_DEFAULT 3000
#define RUN_MS_MAX     (24ull * 3600 * 1000)
#define HZ_DEFAULT     100

#define ROOM_MC	    18000 /* ambient temperature, milli-degrees C */
#define SETPOINT_MC 22000
#define HEAT_MC	    600 /* rise per sensor period at 100% heater */
#define LOSS_PERMIL 20	/* heat lost per sensor period, per mille of dT */
#define KP_PCT	    25	/* heater % per degree of error */

struct demo_plant demo_plant = { ROOM_MC, 0, 0, 0, 12345 };
uint64_t demo_stop_ms;
uint64_t demo_idle_cycles;
static uint64_t last_beat_cycles, last_beat_idle;

static uint64_t now_ms(void)
{
	return rt_uptime_ms();
}

/* Milli-degrees as "dd.dd". */
void demo_fmt_temp(char *buf, size_t size, int32_t mc)
{
	const char *sign = mc < 0 ? "-" : "";
	uint32_t a = (uint32_t)(mc < 0 ? -mc : mc);

	rt_snprintf(buf, size, "%s%u.%02u", sign, a / 1000, a % 1000 / 10);
}

static void log_prefix(const struct demo_task *t, uint64_t now)
{
	rt_printf("[%6llu ms] %-9s #%-3u ", (unsigned long long)now, t->name,
		  t->runs + 1);
}

static void sensor_job(struct demo_task *t, uint64_t now)
{
	int32_t noise, reading;
	char buf[16];

	/* Advance the room by one sensor period. */
	demo_plant.temp_mc +=
		demo_plant.heater_pct * HEAT_MC / 100 -
		(demo_plant.temp_mc - ROOM_MC) * LOSS_PERMIL / 1000;
	demo_plant.rng = demo_plant.rng * 1103515245u + 12345u;
	noise = (int32_t)((demo_plant.rng >> 16) % 101) - 50;
	reading = demo_plant.temp_mc + noise;
	demo_plant.sum_mc += reading;
	demo_plant.nr_readings++;
	demo_fmt_temp(buf, sizeof(buf), reading);
	log_prefix(t, now);
	rt_printf("temperature %s C\n", buf);
}

static void control_job(struct demo_task *t, uint64_t now)
{
	int32_t avg, err, out;
	char a[16], sp[16];

	if (!demo_plant.nr_readings)
		return;
	avg = (int32_t)(demo_plant.sum_mc / demo_plant.nr_readings);
	demo_plant.sum_mc = 0;
	demo_plant.nr_readings = 0;
	err = SETPOINT_MC - avg;
	out = err * KP_PCT / 1000;
	demo_plant.heater_pct = out < 0 ? 0 : out > 100 ? 100 : out;
	demo_fmt_temp(a, sizeof(a), avg);
	demo_fmt_temp(sp, sizeof(sp), SETPOINT_MC);
	log_prefix(t, now);
	rt_printf("average %s C, setpoint %s C -> heater %d%%\n", a, sp,
		  demo_plant.heater_pct);
}

static void heartbeat_job(struct demo_task *t, uint64_t now)
{
	uint64_t c = demo_cycles(), span = c - last_beat_cycles;
	uint64_t idle = demo_idle_cycles - last_beat_idle;
	unsigned pct = span ? (unsigned)(idle * 100 / span) : 0;

	last_beat_cycles = c;
	last_beat_idle = demo_idle_cycles;
	log_prefix(t, now);
	rt_printf("uptime %llu s, %llu ticks, cpu idle %u%%",
		  (unsigned long long)(now / 1000),
		  (unsigned long long)rt_ticks(), pct);
	demo_heartbeat_more();
	rt_putc('\n');
}

struct demo_task demo_tasks[DEMO_NR_TASKS] = {
	{ .name = "sensor", .period_ms = 200, .job = sensor_job },
	{ .name = "control", .period_ms = 500, .job = control_job },
	{ .name = "heartbeat", .period_ms = 1000, .job = heartbeat_job },
};

/* Run the highest-priority released job; false if none is ready. */
static bool schedule_one(uint64_t end_ms)
{
	uint64_t now = now_ms();

	for (unsigned i = 0; i < DEMO_NR_TASKS; i++) {
		struct demo_task *t = &demo_tasks[i];
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

void demo_options(uint64_t *run_ms, unsigned *hz)
{
	*run_ms = rt_cmdline_uint("run", RUN_MS_DEFAULT);
	*hz = (unsigned)rt_cmdline_uint("hz", HZ_DEFAULT);
	if (*run_ms == 0 || *run_ms > RUN_MS_MAX)
		*run_ms = RUN_MS_DEFAULT;
	if (*hz == 0 || *hz > 1000)
		*hz = HZ_DEFAULT;
	demo_stop_ms = *run_ms;
}

void demo_sched_line(uint64_t run_ms)
{
	rt_printf("sched:  rate-monotonic, run to completion, %u tasks:",
		  (unsigned)DEMO_NR_TASKS);
	for (unsigned i = 0; i < DEMO_NR_TASKS; i++)
		rt_printf(" %s/%ums", demo_tasks[i].name,
			  demo_tasks[i].period_ms);
	rt_printf("; running %llu ms\n\n", (unsigned long long)run_ms);
}

void demo_run(void)
{
	for (unsigned i = 0; i < DEMO_NR_TASKS; i++)
		demo_tasks[i].release_ms = demo_tasks[i].period_ms;
	last_beat_cycles = demo_cycles();
	for (;;) {
		uint64_t next = UINT64_MAX;

		if (schedule_one(demo_stop_ms))
			continue;
		for (unsigned i = 0; i < DEMO_NR_TASKS; i++)
			if (demo_tasks[i].release_ms <= demo_stop_ms &&
			    demo_tasks[i].release_ms < next)
				next = demo_tasks[i].release_ms;
		if (next == UINT64_MAX)
			break;
		demo_idle_until(next);
	}
}

void demo_report(uint64_t run_ms, unsigned hz)
{
	unsigned runs = 0, expected = 0, missed = 0;

	rt_printf("\n--- %llu ms elapsed (%llu ticks at %u Hz) ---\n",
		  (unsigned long long)now_ms(), (unsigned long long)rt_ticks(),
		  hz);
	rt_puts("task       period   ran      missed  max latency\n");
	for (unsigned i = 0; i < DEMO_NR_TASKS; i++) {
		const struct demo_task *t = &demo_tasks[i];
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
}
