/* SPDX-License-Identifier: MIT */
/*
 * Logging to stderr, prefixed "vmm: ". Messages a guest can trigger must go
 * through log_ratelimited() so a hostile guest cannot flood the host.
 */
#ifndef VMM_LOG_H
#define VMM_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Messages above this level are dropped. Default LOG_WARN. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...)   log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/*
 * Token bucket: at most `burst` messages, then one per `interval_ms`.
 * Suppressed messages are counted and reported with the next one printed.
 * Thread-safe; a zero-initialised struct uses burst 10, interval 1000 ms.
 */
struct log_ratelimit {
	uint32_t burst;
	uint32_t interval_ms;
	/* private */
	uint64_t last_ms;
	uint32_t tokens;
	uint32_t suppressed;
	bool init;
};

void log_ratelimited(struct log_ratelimit *rl, enum log_level level,
		     const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
