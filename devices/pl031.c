/* SPDX-License-Identifier: MIT */
/*
 * ARM PrimeCell real-time clock (PL031), per the TRM (ARM DDI 0224), on
 * MMIO: the RTC of arm64 boards (QEMU virt: 0x09010000, SPI 2).
 *
 * Registers (offsets in the 4 KiB window):
 *   0x000 RTCDR    read: the counter, seconds = host wall clock (UTC,
 *                  CLOCK_REALTIME) + offset, 32 bits wrapping
 *   0x004 RTCMR    match value
 *   0x008 RTCLR    write: load the counter (sets the offset; the counter
 *                  then ticks on the host's second boundaries); read: the
 *                  value last loaded
 *   0x00c RTCCR    bit 0 (start): reads 1; the counter always runs (on the
 *                  PL031 it cannot be stopped once started)
 *   0x010 RTCIMSC  bit 0: the match interrupt is enabled
 *   0x014 RTCRIS   bit 0: the counter has reached RTCMR (latched)
 *   0x018 RTCMIS   RTCRIS & RTCIMSC
 *   0x01c RTCICR   write 1 to bit 0: clear RTCRIS
 *   0xfe0-0xffc    PeriphID0-3 (0x31 0x10 0x04 0x00), PCellID0-3 (0x0d 0xf0
 *                  0x05 0xb1), for Linux's AMBA bus
 * Other offsets read 0 and ignore writes. Accesses are 8, 16 or 32 bits at a
 * word-aligned offset (narrow reads return the low bits; narrow writes store
 * the zero-extended value); unaligned or 64-bit accesses are unhandled (the
 * VM's unhandled-I/O policy applies), as for the other UART/RTC models.
 *
 * Match interrupt: RTCRIS is set when the counter becomes equal to RTCMR. A
 * CLOCK_REALTIME timerfd, watched by the main loop, is armed (absolute) for
 * the host instant the counter reaches RTCMR, whenever RTCMR or RTCLR is
 * written; absolute CLOCK_REALTIME timers follow host clock changes. Writing
 * RTCMR equal to the current count raises RTCRIS at once. The next match
 * after one fires is 2^32 seconds away and is not armed. The line (`irq`,
 * level-triggered, active high) is RTCMIS != 0.
 *
 * Reset (guest reboot): RTCMR, RTCLR, RTCIMSC and RTCRIS are cleared, as
 * the TRM's reset values; the counter keeps its time (an RTC keeps running
 * across a reboot).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "devices/abi/arm64_virt.h"
#include "vmm/config.h"
#include "devices/dev_region_irq.h"
#include "devices/devices.h"
#include "vmm/device.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#define RTC_DR	 0x000
#define RTC_MR	 0x004
#define RTC_LR	 0x008
#define RTC_CR	 0x00c
#define RTC_IMSC 0x010
#define RTC_RIS	 0x014
#define RTC_MIS	 0x018
#define RTC_ICR	 0x01c
#define RTC_ID	 0xfe0

#define RTC_INT 0x1

static const uint8_t pl031_id[8] = { 0x31, 0x10, 0x04, 0x00,
				     0x0d, 0xf0, 0x05, 0xb1 };

static const struct dev_param pl031_params[] = {
	{ .key = "address",
	  .kind = PARAM_U64,
	  .def = "0x09010000", /* ABI_PL031_BASE */
	  .min = 0,
	  .max = UINT64_MAX - ABI_PL031_SIZE + 1,
	  .help = "MMIO base (4 KiB)" },
	{ .key = "irq",
	  .kind = PARAM_U64,
	  .def = "2", /* ABI_PL031_IRQ */
	  .min = 0,
	  .max = 255,
	  .help = "interrupt line (SPI number on arm64, GSI on x86)" },
	{ .key = NULL },
};

struct pl031 {
	pthread_mutex_t lock;
	struct vm *vm;
	const char *name;
	unsigned irq;
	int timer_fd;
	bool watching;

	uint32_t offset; /* counter = host seconds + offset (mod 2^32) */
	uint32_t mr, lr;
	uint8_t imsc, ris;
	int irq_level;

	struct log_ratelimit rl;
};

static void pl031_now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

static uint32_t pl031_count_at(const struct pl031 *s, time_t sec)
{
	return (uint32_t)(uint64_t)sec + s->offset;
}

static void pl031_update_irq(struct pl031 *s)
{
	dev_irq_set_level(s->vm, s->name, s->irq, &s->irq_level,
			  (s->ris & s->imsc & RTC_INT) != 0, &s->rl);
}

/*
 * RTCMR or the offset changed: arm the timer for the instant the counter
 * next equals RTCMR, or match now if it already does. Under lock.
 */
static void pl031_arm(struct pl031 *s)
{
	struct itimerspec its = { 0 };
	struct timespec now;
	uint32_t delta;

	pl031_now(&now);
	delta = s->mr - pl031_count_at(s, now.tv_sec);
	if (!delta)
		s->ris |= RTC_INT;
	else
		its.it_value.tv_sec = now.tv_sec + (time_t)delta;
	/* delta 0 disarms: a pending expiry is discarded as well. */
	if (s->timer_fd >= 0 &&
	    timerfd_settime(s->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		log_ratelimited(&s->rl, LOG_WARN, "%s: timerfd: %s", s->name,
				strerror(errno));
}

/* Main thread: the match timer expired. */
static void pl031_timer(void *opaque)
{
	struct pl031 *s = opaque;
	uint64_t expirations;
	ssize_t n;

	pthread_mutex_lock(&s->lock);
	/* Re-arming under the lock resets the expiry count: a stale wake-up
	 * reads nothing (EAGAIN). */
	n = read(s->timer_fd, &expirations, sizeof(expirations));
	if (n == (ssize_t)sizeof(expirations) && expirations) {
		s->ris |= RTC_INT;
		pl031_update_irq(s);
	}
	pthread_mutex_unlock(&s->lock);
}

static uint32_t pl031_read_reg(struct pl031 *s, unsigned off)
{
	struct timespec now;

	switch (off) {
	case RTC_DR:
		pl031_now(&now);
		return pl031_count_at(s, now.tv_sec);
	case RTC_MR:
		return s->mr;
	case RTC_LR:
		return s->lr;
	case RTC_CR:
		return 1;
	case RTC_IMSC:
		return s->imsc;
	case RTC_RIS:
		return s->ris;
	case RTC_MIS:
		return s->ris & s->imsc;
	default:
		if (off >= RTC_ID)
			return pl031_id[(off - RTC_ID) / 4];
		return 0; /* ICR (write-only) and reserved offsets */
	}
}

static void pl031_write_reg(struct pl031 *s, unsigned off, uint32_t v)
{
	struct timespec now;

	switch (off) {
	case RTC_MR:
		s->mr = v;
		pl031_arm(s);
		break;
	case RTC_LR:
		pl031_now(&now);
		s->lr = v;
		s->offset = v - (uint32_t)(uint64_t)now.tv_sec;
		pl031_arm(s);
		break;
	case RTC_IMSC:
		s->imsc = v & RTC_INT;
		break;
	case RTC_ICR:
		s->ris &= (uint8_t) ~(v & RTC_INT);
		break;
	default: /* DR, CR (start is always set), RIS, MIS, IDs, reserved */
		break;
	}
}

static enum bus_status pl031_io(void *opaque, uint64_t offset, uint8_t *data,
				unsigned size, bool is_write)
{
	struct pl031 *s = opaque;

	if (offset >= ABI_PL031_SIZE || (offset & 3) || size > 4)
		return BUS_UNHANDLED;
	pthread_mutex_lock(&s->lock);
	if (is_write)
		pl031_write_reg(s, (unsigned)offset,
				(uint32_t)bus_get(data, size));
	else
		bus_put(data, size, pl031_read_reg(s, (unsigned)offset));
	pl031_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return BUS_OK;
}

static void pl031_reset_regs(struct pl031 *s)
{
	struct itimerspec its = { 0 };

	s->mr = 0;
	s->lr = 0;
	s->imsc = 0;
	s->ris = 0;
	if (s->timer_fd >= 0)
		timerfd_settime(s->timer_fd, 0, &its, NULL);
}

static void pl031_free(struct pl031 *s)
{
	if (s->watching)
		vm_unwatch_fd(s->vm, s->timer_fd);
	if (s->timer_fd >= 0)
		close(s->timer_fd);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static int pl031_create(struct vm *vm, struct device *dev)
{
	const struct cfg_device *cfg = dev->cfg;
	uint64_t base = cfg_dev_num(cfg, "address");
	struct pl031 *s;
	int ret;

	if (base > UINT64_MAX - ABI_PL031_SIZE + 1)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->vm = vm;
	s->name = dev->name;
	s->irq = (unsigned)cfg_dev_num(cfg, "irq");
	s->rl = (struct log_ratelimit){ .burst = 10, .interval_ms = 1000 };
	pthread_mutex_init(&s->lock, NULL);
	s->timer_fd =
		timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->timer_fd < 0) {
		ret = -errno;
		log_err("%s: timerfd: %s", dev->name, strerror(-ret));
		goto err;
	}
	pl031_reset_regs(s);
	ret = vm_watch_fd(vm, s->timer_fd, pl031_timer, s);
	if (ret < 0) {
		log_err("%s: cannot watch the match timer: %s", dev->name,
			strerror(-ret));
		goto err;
	}
	s->watching = true;
	ret = dev_bus_register(vm, true, base, ABI_PL031_SIZE, pl031_io, s,
			       dev->name);
	if (ret)
		goto err;
	dev->priv = s;
	return 0;

err:
	pl031_free(s);
	return ret;
}

static void pl031_reset(struct device *dev)
{
	struct pl031 *s = dev->priv;

	pthread_mutex_lock(&s->lock);
	pl031_reset_regs(s);
	pl031_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static void pl031_destroy(struct device *dev)
{
	struct pl031 *s = dev->priv;

	if (!s)
		return;
	pl031_free(s);
	dev->priv = NULL;
}

static unsigned pl031_resources(const struct cfg_device *cfg,
				struct dev_resource *res, unsigned max)
{
	return dev_region_irq_resources(cfg, DEV_RES_MMIO, "address",
					ABI_PL031_SIZE, res, max);
}

/* Listed in devices/registry.c. */

const struct device_type pl031_type = {
	.name = "pl031",
	.help = "ARM PL031 real-time clock on MMIO (the arm64 RTC), with a "
		"match interrupt",
	.params = pl031_params,
	.resources = pl031_resources,
	.create = pl031_create,
	.reset = pl031_reset,
	.destroy = pl031_destroy,
};
