/* SPDX-License-Identifier: MIT */
/*
 * MC146818 CMOS RTC and NVRAM at ports `port` (index) and `port + 1` (data),
 * 0x70/0x71 by default.
 *
 * Index: bits 0-6 select one of 128 registers; bit 7 is the PC's NMI mask,
 * ignored. Reading the index port returns 0xff (it is write-only).
 *
 * Clock: the date and time registers (0x00 seconds ... 0x09 year, 0x32
 * century) are computed from the host's clock at each read, plus an offset
 * the guest sets by writing them: guest time = host time + offset, in UTC
 * (time = utc) or in the host's local time zone (time = localtime). Status
 * B selects BCD or binary (DM) and 24- or 12-hour mode (bit 7 of the hour is
 * PM); both directions honour it. Setting B.SET freezes the clock: writes
 * then edit the frozen time, reads return it, and clearing SET starts the
 * clock from it (the usual way an OS sets the RTC). A time register written
 * with SET clear moves the clock at once. Day of week is derived from the
 * date; writes to it are ignored. Out-of-range values are normalised
 * (timegm()), not kept verbatim as a real chip would.
 *
 * Status A: UIP (bit 7) is set during the last 244 us of each second, as
 * on the real part (an update follows within 244 us of UIP rising), and
 * never while B.SET is set. A vCPU that is descheduled or slow to exit can
 * miss so short a window, and a guest waiting for UIP to rise (to catch a
 * second boundary) would then wait another second or run out its loop.
 * So if a second boundary passed since the previous read of A and no read
 * saw UIP for it, this read reports UIP once, as if it had fallen in the
 * window. Either way UIP is never seen for long: at most one read or
 * 244 us. The divider and rate bits are stored but do not change the clock.
 * Status C: UF (update ended) reads as 1 once per second boundary since the
 * previous read of C; IRQF follows UF && B.UIE. No periodic, alarm or
 * update interrupts are generated (IRQ 8 is never raised); alarm registers
 * are plain storage.
 * Status D: VRT is always set (the battery is fine).
 *
 * NVRAM: all other registers are 128 bytes of plain storage, kept across
 * guest resets. The memory-size bytes a PC BIOS fills in are filled from
 * guest RAM (contiguous RAM from 0, 1 MiB, 16 MiB and 4 GiB): 0x15/0x16
 * base memory in KiB, 0x17/0x18 and 0x30/0x31 memory above 1 MiB in KiB,
 * 0x34/0x35 above 16 MiB in 64 KiB units, 0x5b-0x5d above 4 GiB in 64 KiB
 * units (as QEMU/SeaBIOS), with the checksum over 0x10-0x2d at 0x2e/0x2f.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devices/abi/x86_pc.h"
#include "vmm/config.h"
#include "devices/dev_region_irq.h"
#include "devices/devices.h"
#include "vmm/device.h"
#include "vmm/log.h"
#include "vmm/mem.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#define XSTR(x) STR(x)
#define STR(x)	#x

#define RTC_SECONDS	  0x00
#define RTC_SECONDS_ALARM 0x01
#define RTC_MINUTES	  0x02
#define RTC_MINUTES_ALARM 0x03
#define RTC_HOURS	  0x04
#define RTC_HOURS_ALARM	  0x05
#define RTC_DAY_OF_WEEK	  0x06
#define RTC_DAY_OF_MONTH  0x07
#define RTC_MONTH	  0x08
#define RTC_YEAR	  0x09
#define RTC_REG_A	  0x0a
#define RTC_REG_B	  0x0b
#define RTC_REG_C	  0x0c
#define RTC_REG_D	  0x0d
#define RTC_CENTURY	  0x32
#define CMOS_NR_REGS	  128
#define CMOS_INDEX_MASK	  0x7f

#define REG_A_UIP	0x80
#define REG_A_DEFAULT	0x26 /* 32.768 kHz time base, 1024 Hz rate */
#define REG_B_SET	0x80
#define REG_B_PIE	0x40
#define REG_B_AIE	0x20
#define REG_B_UIE	0x10
#define REG_B_SQWE	0x08
#define REG_B_DM_BINARY 0x04
#define REG_B_24H	0x02
#define REG_B_DEFAULT	REG_B_24H
#define REG_C_IRQF	0x80
#define REG_C_UF	0x10
#define REG_D_VRT	0x80

#define RTC_UIP_NS 244000L /* UIP lead time before an update */

/* NVRAM bytes a PC BIOS fills from the memory size */
#define CMOS_BASE_MEM_LO 0x15
#define CMOS_BASE_MEM_HI 0x16
#define CMOS_EXT_MEM_LO	 0x17
#define CMOS_EXT_MEM_HI	 0x18
#define CMOS_CSUM_FIRST	 0x10
#define CMOS_CSUM_LAST	 0x2d
#define CMOS_CSUM_HI	 0x2e
#define CMOS_CSUM_LO	 0x2f
#define CMOS_EXT_MEM2_LO 0x30
#define CMOS_EXT_MEM2_HI 0x31
#define CMOS_MEM_16M_LO	 0x34
#define CMOS_MEM_16M_HI	 0x35
#define CMOS_MEM_4G_LO	 0x5b
#define CMOS_MEM_4G_MID	 0x5c
#define CMOS_MEM_4G_HI	 0x5d

enum { RTC_TIME_UTC, RTC_TIME_LOCAL };

static const char *const rtc_time_choices[] = { "utc", "localtime", NULL };

static const struct dev_param cmos_params[] = {
	{ .key = "port",
	  .kind = PARAM_U64,
	  .def = XSTR(ABI_CMOS_INDEX_PORT),
	  .min = 0,
	  .max = 0xfffe,
	  .help = "index port; the data port follows it" },
	{ .key = "time",
	  .kind = PARAM_ENUM,
	  .def = "utc",
	  .choices = rtc_time_choices,
	  .help = "what the clock shows at start: utc or localtime" },
	{ .key = NULL },
};

struct cmos {
	pthread_mutex_t lock;
	struct vm *vm;
	const char *name;
	bool localtime;
	uint8_t index;
	uint8_t ram[CMOS_NR_REGS];
	int64_t offset;	    /* guest seconds - host seconds */
	struct tm set_tm;   /* the frozen time while B.SET */
	int64_t last_c_sec; /* guest second of the last read of C */
	int64_t last_a_sec; /* guest second of the last read of A */
	int64_t uip_sec;    /* last second whose ending UIP was reported */
	bool mem_filled;    /* memory-size bytes filled since reset */
	struct log_ratelimit rl;
};

/* ---- clock ---- */

static void host_now(int64_t *sec, long *nsec)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	*sec = ts.tv_sec;
	*nsec = ts.tv_nsec;
}

static void cmos_to_tm(const struct cmos *s, int64_t t, struct tm *tm)
{
	time_t tt = (time_t)t;
	struct tm *r;

	r = s->localtime ? localtime_r(&tt, tm) : gmtime_r(&tt, tm);
	if (!r) {
		memset(tm, 0, sizeof(*tm));
		tm->tm_mday = 1;
		tm->tm_year = 70;
	}
}

/* The running clock, ignoring B.SET. */
static void cmos_running_tm(const struct cmos *s, struct tm *tm, int64_t *gsec,
			    long *nsec)
{
	int64_t hsec;

	host_now(&hsec, nsec);
	*gsec = hsec + s->offset;
	cmos_to_tm(s, *gsec, tm);
}

/* Start the clock at tm: offset = tm - host time. */
static void cmos_commit(struct cmos *s, const struct tm *tm)
{
	struct tm t = *tm;
	int64_t hsec;
	long nsec;
	time_t v;

	t.tm_isdst = s->localtime ? -1 : 0;
	v = s->localtime ? mktime(&t) : timegm(&t);
	if (v == (time_t)-1) {
		log_ratelimited(&s->rl, LOG_WARN,
				"%s: guest set an invalid time; ignored",
				s->name);
		return;
	}
	host_now(&hsec, &nsec);
	s->offset = (int64_t)v - hsec;
	s->last_c_sec = (int64_t)v;
	s->last_a_sec = (int64_t)v;
	s->uip_sec = (int64_t)v - 1;
}

static bool cmos_binary(const struct cmos *s)
{
	return s->ram[RTC_REG_B] & REG_B_DM_BINARY;
}

static uint8_t cmos_enc(const struct cmos *s, int v)
{
	if (v < 0)
		v = 0;
	v %= 100;
	if (cmos_binary(s))
		return (uint8_t)v;
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static int cmos_dec(const struct cmos *s, uint8_t v)
{
	if (cmos_binary(s))
		return v;
	return (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t cmos_enc_hour(const struct cmos *s, int h)
{
	int h12;

	if (s->ram[RTC_REG_B] & REG_B_24H)
		return cmos_enc(s, h);
	h12 = h % 12;
	if (!h12)
		h12 = 12;
	return cmos_enc(s, h12) | (h >= 12 ? 0x80 : 0);
}

static int cmos_dec_hour(const struct cmos *s, uint8_t v)
{
	if (s->ram[RTC_REG_B] & REG_B_24H)
		return cmos_dec(s, v);
	return cmos_dec(s, v & 0x7f) % 12 + ((v & 0x80) ? 12 : 0);
}

static uint8_t cmos_read_time(struct cmos *s, unsigned idx)
{
	struct tm tm;
	int64_t gsec;
	long nsec;
	int year;

	if (s->ram[RTC_REG_B] & REG_B_SET)
		tm = s->set_tm;
	else
		cmos_running_tm(s, &tm, &gsec, &nsec);
	year = tm.tm_year + 1900;
	switch (idx) {
	case RTC_SECONDS:
		return cmos_enc(s, tm.tm_sec);
	case RTC_MINUTES:
		return cmos_enc(s, tm.tm_min);
	case RTC_HOURS:
		return cmos_enc_hour(s, tm.tm_hour);
	case RTC_DAY_OF_WEEK:
		return cmos_enc(s, tm.tm_wday + 1);
	case RTC_DAY_OF_MONTH:
		return cmos_enc(s, tm.tm_mday);
	case RTC_MONTH:
		return cmos_enc(s, tm.tm_mon + 1);
	case RTC_YEAR:
		return cmos_enc(s, year % 100);
	case RTC_CENTURY:
		return cmos_enc(s, year / 100);
	default:
		return 0xff;
	}
}

static void cmos_write_time(struct cmos *s, unsigned idx, uint8_t v)
{
	bool frozen = s->ram[RTC_REG_B] & REG_B_SET;
	struct tm tm;
	int64_t gsec;
	long nsec;
	int year;

	if (frozen)
		tm = s->set_tm;
	else
		cmos_running_tm(s, &tm, &gsec, &nsec);
	year = tm.tm_year + 1900;
	if (year < 0)
		year = 0;
	switch (idx) {
	case RTC_SECONDS:
		tm.tm_sec = cmos_dec(s, v);
		break;
	case RTC_MINUTES:
		tm.tm_min = cmos_dec(s, v);
		break;
	case RTC_HOURS:
		tm.tm_hour = cmos_dec_hour(s, v);
		break;
	case RTC_DAY_OF_MONTH:
		tm.tm_mday = cmos_dec(s, v);
		break;
	case RTC_MONTH:
		tm.tm_mon = cmos_dec(s, v) - 1;
		break;
	case RTC_YEAR:
		tm.tm_year = year - year % 100 + cmos_dec(s, v) - 1900;
		break;
	case RTC_CENTURY:
		tm.tm_year = cmos_dec(s, v) * 100 + year % 100 - 1900;
		break;
	default:
		return;
	}
	if (frozen)
		s->set_tm = tm;
	else
		cmos_commit(s, &tm);
}

static uint8_t cmos_read_a(struct cmos *s)
{
	uint8_t v = s->ram[RTC_REG_A] & (uint8_t)~REG_A_UIP;
	struct tm tm;
	int64_t gsec;
	long nsec;

	if (s->ram[RTC_REG_B] & REG_B_SET)
		return v;
	cmos_running_tm(s, &tm, &gsec, &nsec);
	if (nsec >= 1000000000L - RTC_UIP_NS) {
		v |= REG_A_UIP; /* the update ending second gsec is near */
		s->uip_sec = gsec;
	} else if (s->last_a_sec < gsec && s->uip_sec < gsec - 1) {
		v |= REG_A_UIP; /* the one that ended gsec - 1 went unseen */
		s->uip_sec = gsec - 1;
	}
	s->last_a_sec = gsec;
	return v;
}

static void cmos_write_b(struct cmos *s, uint8_t v)
{
	uint8_t old = s->ram[RTC_REG_B];
	struct tm tm;
	int64_t gsec;
	long nsec;

	if (v & REG_B_SET)
		v &= (uint8_t)~REG_B_UIE; /* SET clears UIE (datasheet) */
	if (!(old & REG_B_SET) && (v & REG_B_SET)) {
		cmos_running_tm(s, &tm, &gsec, &nsec);
		s->set_tm = tm;
	}
	s->ram[RTC_REG_B] = v;
	if ((old & REG_B_SET) && !(v & REG_B_SET))
		cmos_commit(s, &s->set_tm);
}

static uint8_t cmos_read_c(struct cmos *s)
{
	uint8_t v = 0;
	struct tm tm;
	int64_t gsec;
	long nsec;

	if (s->ram[RTC_REG_B] & REG_B_SET)
		return 0;
	cmos_running_tm(s, &tm, &gsec, &nsec);
	if (gsec != s->last_c_sec)
		v |= REG_C_UF;
	s->last_c_sec = gsec;
	if ((v & REG_C_UF) && (s->ram[RTC_REG_B] & REG_B_UIE))
		v |= REG_C_IRQF;
	return v;
}

/* ---- NVRAM memory-size bytes ---- */

/* End of the RAM contiguous from start (start if none), at most limit. */
static uint64_t ram_end_from(const struct guest_mem *m, uint64_t start,
			     uint64_t limit)
{
	uint64_t end = start;

	for (unsigned i = 0; i < MEM_MAX_REGIONS && end < limit; i++) {
		const struct mem_region *r = mem_find(m, end);

		if (!r || r->readonly)
			break;
		end = r->gpa + r->size;
	}
	return MIN(end, limit);
}

static void cmos_put16(struct cmos *s, unsigned lo, uint64_t v)
{
	s->ram[lo] = (uint8_t)v;
	s->ram[lo + 1] = (uint8_t)(v >> 8);
}

static void cmos_fill_memory(struct cmos *s)
{
	const struct guest_mem *m = vm_mem(s->vm);
	uint64_t base, ext, high;
	unsigned sum = 0;

	base = ram_end_from(m, 0, 640 * KiB);
	ext = ram_end_from(m, 1 * MiB, 4 * GiB);
	high = ram_end_from(m, 4 * GiB, UINT64_MAX);

	cmos_put16(s, CMOS_BASE_MEM_LO, base / KiB);
	cmos_put16(s, CMOS_EXT_MEM_LO, MIN((ext - 1 * MiB) / KiB, 0xffff));
	cmos_put16(s, CMOS_EXT_MEM2_LO, MIN((ext - 1 * MiB) / KiB, 0xffff));
	cmos_put16(s, CMOS_MEM_16M_LO,
		   ext > 16 * MiB ? MIN((ext - 16 * MiB) / (64 * KiB), 0xffff)
				  : 0);
	high = MIN((high - 4 * GiB) / (64 * KiB), 0xffffff);
	s->ram[CMOS_MEM_4G_LO] = (uint8_t)high;
	s->ram[CMOS_MEM_4G_MID] = (uint8_t)(high >> 8);
	s->ram[CMOS_MEM_4G_HI] = (uint8_t)(high >> 16);

	for (unsigned i = CMOS_CSUM_FIRST; i <= CMOS_CSUM_LAST; i++)
		sum += s->ram[i];
	s->ram[CMOS_CSUM_HI] = (uint8_t)(sum >> 8);
	s->ram[CMOS_CSUM_LO] = (uint8_t)sum;
	s->mem_filled = true;
}

/* ---- port I/O ---- */

static uint8_t cmos_read_reg(struct cmos *s, unsigned idx)
{
	switch (idx) {
	case RTC_SECONDS:
	case RTC_MINUTES:
	case RTC_HOURS:
	case RTC_DAY_OF_WEEK:
	case RTC_DAY_OF_MONTH:
	case RTC_MONTH:
	case RTC_YEAR:
	case RTC_CENTURY:
		return cmos_read_time(s, idx);
	case RTC_REG_A:
		return cmos_read_a(s);
	case RTC_REG_C:
		return cmos_read_c(s);
	case RTC_REG_D:
		return REG_D_VRT;
	default:
		return s->ram[idx & CMOS_INDEX_MASK];
	}
}

static void cmos_write_reg(struct cmos *s, unsigned idx, uint8_t v)
{
	switch (idx) {
	case RTC_SECONDS:
	case RTC_MINUTES:
	case RTC_HOURS:
	case RTC_DAY_OF_MONTH:
	case RTC_MONTH:
	case RTC_YEAR:
	case RTC_CENTURY:
		cmos_write_time(s, idx, v);
		return;
	case RTC_DAY_OF_WEEK: /* derived from the date */
	case RTC_REG_C:	      /* read-only */
	case RTC_REG_D:
		return;
	case RTC_REG_A:
		s->ram[RTC_REG_A] = v & (uint8_t)~REG_A_UIP;
		return;
	case RTC_REG_B:
		cmos_write_b(s, v);
		return;
	default:
		s->ram[idx & CMOS_INDEX_MASK] = v;
		return;
	}
}

static enum bus_status cmos_io(void *opaque, uint64_t offset, uint8_t *data,
			       unsigned size, bool is_write)
{
	struct cmos *s = opaque;

	if (offset >= 2 || size > 2 - offset)
		return BUS_UNHANDLED;
	pthread_mutex_lock(&s->lock);
	if (!s->mem_filled)
		cmos_fill_memory(s);
	/* A 16-bit access reaches the index and then the data port. */
	for (unsigned i = 0; i < size; i++) {
		bool is_index = offset + i == 0;

		if (is_index && is_write)
			s->index = data[i] & CMOS_INDEX_MASK;
		else if (is_index)
			data[i] = 0xff;
		else if (is_write)
			cmos_write_reg(s, s->index, data[i]);
		else
			data[i] = cmos_read_reg(s, s->index);
	}
	pthread_mutex_unlock(&s->lock);
	return BUS_OK;
}

/* ---- device ---- */

/* What the chip's RESET pin does: interrupt enables and flags cleared;
 * the clock, its format, SET and the NVRAM are battery-backed and kept. */
static void cmos_reset_regs(struct cmos *s)
{
	int64_t hsec;
	long nsec;

	s->index = 0;
	s->ram[RTC_REG_B] &=
		(uint8_t) ~(REG_B_PIE | REG_B_AIE | REG_B_UIE | REG_B_SQWE);
	host_now(&hsec, &nsec);
	s->last_c_sec = hsec + s->offset;
	s->last_a_sec = hsec + s->offset;
	s->uip_sec = hsec + s->offset - 1;
	s->mem_filled = false; /* the BIOS would size memory again */
}

static int cmos_create(struct vm *vm, struct device *dev)
{
	uint64_t port = cfg_dev_num(dev->cfg, "port");
	struct cmos *s;
	int ret;

	if (port > 0xfffe)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->vm = vm;
	s->name = dev->name;
	s->localtime = cfg_dev_num(dev->cfg, "time") == RTC_TIME_LOCAL;
	s->rl = (struct log_ratelimit){ .burst = 5, .interval_ms = 1000 };
	if (s->localtime)
		tzset();
	pthread_mutex_init(&s->lock, NULL);
	s->ram[RTC_REG_A] = REG_A_DEFAULT;
	s->ram[RTC_REG_B] = REG_B_DEFAULT;
	cmos_reset_regs(s);

	ret = dev_bus_register(vm, false, port, 2, cmos_io, s, dev->name);
	if (ret) {
		pthread_mutex_destroy(&s->lock);
		free(s);
		return ret;
	}
	dev->priv = s;
	return 0;
}

static void cmos_reset(struct device *dev)
{
	struct cmos *s = dev->priv;

	pthread_mutex_lock(&s->lock);
	cmos_reset_regs(s);
	pthread_mutex_unlock(&s->lock);
}

static void cmos_destroy(struct device *dev)
{
	struct cmos *s = dev->priv;

	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
	dev->priv = NULL;
}

static unsigned cmos_resources(const struct cfg_device *cfg,
			       struct dev_resource *res, unsigned max)
{
	return dev_port_resource(cfg, 2, res, max);
}

/* Listed in devices/registry.c. */

const struct device_type cmos_rtc_type = {
	.name = "cmos-rtc",
	.help = "MC146818 CMOS real-time clock and NVRAM (no IRQ 8)",
	.params = cmos_params,
	.resources = cmos_resources,
	.create = cmos_create,
	.reset = cmos_reset,
	.destroy = cmos_destroy,
};
