/* SPDX-License-Identifier: MIT */
/*
 * The arch-neutral half of the latency guests (guest/x86/latency,
 * guest/arm64/latency): their options, the samples, the log2 histogram,
 * exact percentiles, the fixed deadline schedule and the report lines
 * both print. Each guest keeps its timer, its watchdog and its
 * `latency-info:` line.
 */
#ifndef GUEST_LATENCY_STATS_H
#define GUEST_LATENCY_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LAT_HIST_BUCKETS 40 /* log2: bucket b holds [2^(b-1), 2^b) ns */

/* The options both guests take; lat_opts_parse() checks them. */
struct lat_opts {
	uint64_t period_us; /* period_us= (default 1000, 10 to 1000000) */
	uint64_t samples;   /* samples= (default 10000, 1 to max_samples) */
	uint64_t lose;	    /* lose=K: leave the K-th period unarmed, once */
	unsigned warmup;    /* warmup= (default 10) */
};

struct lat_stats {
	uint32_t *ns;	   /* recorded samples, in ns */
	unsigned nsamples; /* recorded so far */
	unsigned nwarmup;  /* periods to ignore first */
	unsigned nseen;	   /* interrupts handled, warm-up included */
	unsigned early;	   /* handler ran before the deadline */
	uint64_t hist[LAT_HIST_BUCKETS];
	uint64_t sum_ns;
};

/* Read the options; print why and return 2 if one is out of range, else
 * 0. */
int lat_opts_parse(struct lat_opts *o, unsigned max_samples);

/* One interrupt that ran at `now` for `deadline` (both in timer ticks,
 * to_ns() converts a distance to ns): counted as early (0 ns) if it ran
 * before the deadline, clamped to 32 bits, not recorded during the
 * warm-up. The buffer must hold every sample asked for. */
void lat_record(struct lat_stats *s, uint64_t now, uint64_t deadline,
		uint64_t (*to_ns)(uint64_t ticks));

/* The deadline after `next` on the fixed schedule (deadline k = start + k
 * * period) that is still ahead of `now`; deadlines already passed are
 * skipped and added to *overruns. */
uint64_t lat_next_deadline(uint64_t next, uint64_t now, uint64_t period,
			   uint64_t *overruns);

/* Sort the samples and print the `latency-hist:` lines (the buckets that
 * are not empty). */
void lat_report_hist(struct lat_stats *s);
/* The `latency: samples=N min=A avg=B p99=C p999=D max=E (ns)` line
 * (after lat_report_hist(); at least one sample). */
void lat_report_summary(const struct lat_stats *s);

#endif
