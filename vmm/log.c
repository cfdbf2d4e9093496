/* SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#include "vmm/log.h"
#include "vmm/util.h"

static enum log_level log_level = LOG_WARN;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {
	[LOG_ERR] = "error: ",
	[LOG_WARN] = "warning: ",
	[LOG_INFO] = "",
	[LOG_DEBUG] = "debug: ",
};

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
}

static void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	/* One fprintf per line so lines from vCPU threads never interleave. */
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "vmm: %s%s\n", level_names[level], line);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void log_ratelimited(struct log_ratelimit *rl, enum log_level level,
		     const char *fmt, ...)
{
	uint32_t suppressed = 0;
	bool print = false;
	uint64_t now;
	va_list ap;

	if (level > log_level)
		return;
	now = now_ms();
	pthread_mutex_lock(&log_lock);
	if (!rl->init) {
		if (!rl->burst)
			rl->burst = 10;
		if (!rl->interval_ms)
			rl->interval_ms = 1000;
		rl->tokens = rl->burst;
		rl->last_ms = now;
		rl->init = true;
	}
	if (now - rl->last_ms >= rl->interval_ms) {
		uint64_t refill = (now - rl->last_ms) / rl->interval_ms;

		rl->tokens =
			(uint32_t)MIN((uint64_t)rl->burst, rl->tokens + refill);
		rl->last_ms = now;
	}
	if (rl->tokens) {
		rl->tokens--;
		print = true;
		suppressed = rl->suppressed;
		rl->suppressed = 0;
	} else {
		rl->suppressed++;
	}
	pthread_mutex_unlock(&log_lock);
	if (!print)
		return;
	if (suppressed)
		log_msg(level, "(%u similar messages suppressed)", suppressed);
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
