/* SPDX-License-Identifier: MIT */
/*
 * The arch-neutral part of the demo guests (guest/x86/demo,
 * guest/arm64/demo), "a small RTOS": the tick-driven, rate-monotonic,
 * run-to-completion scheduler, its three tasks driving a toy heating loop
 * (the simulated room, the sensor, the controller, the heartbeat line)
 * and the per-task summary. Each demo keeps its banner, its idle loop
 * (HLT or WFI, and whatever it serves on wake-up) and its extra report
 * lines, and provides the hooks below.
 */
#ifndef GUEST_DEMO_RTOS_H
#define GUEST_DEMO_RTOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct demo_task {
	const char *name;
	uint32_t period_ms;
	void (*job)(struct demo_task *t, uint64_t now_ms);
	uint64_t release_ms; /* next release */
	uint32_t runs, missed;
	uint64_t max_latency_ms;
};

/* Highest priority first (rate-monotonic: shortest period first). */
#define DEMO_NR_TASKS 3
extern struct demo_task demo_tasks[DEMO_NR_TASKS];

extern struct demo_plant {
	int32_t temp_mc;    /* the simulated room */
	int32_t heater_pct; /* actuator, set by control */
	int64_t sum_mc;	    /* readings since the last control run */
	uint32_t nr_readings;
	uint32_t rng;
} demo_plant;

/* run= ms, or earlier (a demo may lower it, e.g. on a "quit" message). */
extern uint64_t demo_stop_ms;
/* Cycles (demo_cycles() units) spent idle, kept by demo_idle_until(). */
extern uint64_t demo_idle_cycles;

/* ---- provided by each demo ---- */
/* A free-running counter for the idle share (TSC, CNTVCT_EL0). */
uint64_t demo_cycles(void);
/* Sleep until `ms` of guest time (or demo_stop_ms), adding the time spent
 * idle to demo_idle_cycles. */
void demo_idle_until(uint64_t ms);
/* Print the rest of the heartbeat line (", ..."; the newline follows). */
void demo_heartbeat_more(void);

/* ---- the shared part (demo_rtos.c) ---- */
/* run= (ms, default 3000) and hz= (default 100); sets demo_stop_ms. */
void demo_options(uint64_t *run_ms, unsigned *hz);
/* Milli-degrees as "dd.dd". */
void demo_fmt_temp(char *buf, size_t size, int32_t mc);
/* The banner's "sched:" line (and the blank line after it). */
void demo_sched_line(uint64_t run_ms);
/* Release every task and schedule until demo_stop_ms (the tick must run). */
void demo_run(void);
/* The summary table and the "summary:" line. */
void demo_report(uint64_t run_ms, unsigned hz);

#endif
