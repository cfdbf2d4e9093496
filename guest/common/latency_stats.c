/* SPDX-License-Identifier: MIT */
/*
 * The latency guests' statistics and report (latency_stats.h).
 * Percentiles are exact: every sample is kept and sorted at the end (pN is
 * the smallest sample that at least N% of the samples do not exceed).
 */
#include "rt.h"
#include "latency_stats.h"

int lat_opts_parse(struct lat_opts *o, unsigned max_samples)
{
	o->period_us = rt_cmdline_uint("period_us", 1000);
	o->samples = rt_cmdline_uint("samples", 10000);
	o->warmup = (unsigned)rt_cmdline_uint("warmup", 10);
	o->lose = rt_cmdline_uint("lose", 0);
	if (o->period_us < 10 || o->period_us > 1000000) {
		rt_printf("latency: period_us=%lu is out of range (10 to "
			  "1000000)\n",
			  (unsigned long)o->period_us);
		return 2;
	}
	if (o->samples < 1 || o->samples > max_samples) {
		rt_printf("latency: samples=%lu is out of range (1 to %u)\n",
			  (unsigned long)o->samples, max_samples);
		return 2;
	}
	return 0;
}

static unsigned bucket_of(uint32_t ns)
{
	unsigned b = 0;

	while (ns && b < LAT_HIST_BUCKETS - 1) {
		ns >>= 1;
		b++;
	}
	return b;
}

void lat_record(struct lat_stats *s, uint64_t now, uint64_t deadline,
		uint64_t (*to_ns)(uint64_t ticks))
{
	uint64_t ns;

	if (now < deadline) {
		s->early++;
		ns = 0;
	} else {
		ns = to_ns(now - deadline);
	}
	if (ns > 0xffffffffu)
		ns = 0xffffffffu;
	if (s->nseen++ < s->nwarmup)
		return;
	s->ns[s->nsamples++] = (uint32_t)ns;
	s->hist[bucket_of((uint32_t)ns)]++;
	s->sum_ns += ns;
}

uint64_t lat_next_deadline(uint64_t next, uint64_t now, uint64_t period,
			   uint64_t *overruns)
{
	next += period;
	if (next <= now) {
		uint64_t skip = (now - next) / period + 1;

		*overruns += skip;
		next += skip * period;
	}
	return next;
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

void lat_report_hist(struct lat_stats *s)
{
	heap_sort(s->ns, s->nsamples);
	for (unsigned b = 0; b < LAT_HIST_BUCKETS; b++) {
		if (!s->hist[b])
			continue;
		rt_printf("latency-hist: lo_ns=%lu hi_ns=%lu count=%lu\n",
			  b ? 1ul << (b - 1) : 0ul, (1ul << b) - 1,
			  (unsigned long)s->hist[b]);
	}
}

void lat_report_summary(const struct lat_stats *s)
{
	unsigned n = s->nsamples;

	rt_printf("latency: samples=%u min=%u avg=%lu p99=%u p999=%u max=%u "
		  "(ns)\n",
		  n, s->ns[0], (unsigned long)(s->sum_ns / n),
		  percentile(s->ns, n, 990), percentile(s->ns, n, 999),
		  s->ns[n - 1]);
}
