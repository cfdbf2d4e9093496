/* SPDX-License-Identifier: MIT */
/* MC146818 CMOS RTC (devices/cmos_rtc.c): clock formats, setting the time,
 * status registers, NVRAM. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "dev_fixture.h"
#include "vmm/util.h"

extern const struct device_type cmos_rtc_type;

#define IDX  0x70
#define DATA 0x71

#define R_SEC  0x00
#define R_MIN  0x02
#define R_HOUR 0x04
#define R_WDAY 0x06
#define R_MDAY 0x07
#define R_MON  0x08
#define R_YEAR 0x09
#define REG_A  0x0a
#define REG_B  0x0b
#define REG_C  0x0c
#define REG_D  0x0d
#define R_CENT 0x32

#define B_SET	 0x80
#define B_UIE	 0x10
#define B_BINARY 0x04
#define B_24H	 0x02

static void create(const char *setting)
{
	vm = fake_vm_new();
	cfg = dev_cfg_new(&cmos_rtc_type, "rtc", setting, NULL);
	dev = dev_create(vm, cfg, NULL);
	cr_assert_not_null(dev);
}

static void setup(void)
{
	create(NULL);
}

TestSuite(cmos_rtc, .init = setup, .fini = dev_fixture_teardown);

static uint8_t rd(uint8_t reg)
{
	fake_vm_pio_write(vm, IDX, 1, reg);
	return (uint8_t)fake_vm_pio_read(vm, DATA, 1);
}

static void wr(uint8_t reg, uint8_t v)
{
	fake_vm_pio_write(vm, IDX, 1, reg);
	fake_vm_pio_write(vm, DATA, 1, v);
}

static int bcd(uint8_t v)
{
	return (v >> 4) * 10 + (v & 0xf);
}

/* The guest's clock as a time_t, read in the current format (24 h). */
static time_t read_clock(bool binary)
{
	struct tm tm = { 0 };
	uint8_t v[7];

	v[0] = rd(R_SEC);
	v[1] = rd(R_MIN);
	v[2] = rd(R_HOUR);
	v[3] = rd(R_MDAY);
	v[4] = rd(R_MON);
	v[5] = rd(R_YEAR);
	v[6] = rd(R_CENT);
	for (unsigned i = 0; i < 7 && !binary; i++)
		v[i] = (uint8_t)bcd(v[i]);
	tm.tm_sec = v[0];
	tm.tm_min = v[1];
	tm.tm_hour = v[2];
	tm.tm_mday = v[3];
	tm.tm_mon = v[4] - 1;
	tm.tm_year = v[6] * 100 + v[5] - 1900;
	return timegm(&tm);
}

static void assert_near_now(time_t t, time_t delta)
{
	time_t now = time(NULL) + delta;

	cr_assert(t >= now - 2 && t <= now + 2, "RTC %lld, expected about %lld",
		  (long long)t, (long long)now);
}

Test(cmos_rtc, defaults)
{
	struct dev_resource res[DEV_MAX_RESOURCES];

	cr_assert_eq(cmos_rtc_type.resources(cfg, res, DEV_MAX_RESOURCES), 1);
	cr_assert_eq(res[0].kind, DEV_RES_PIO);
	cr_assert_eq(res[0].base, 0x70);
	cr_assert_eq(res[0].size, 2);
	cr_assert_eq(rd(REG_A) & 0x7f, 0x26);
	cr_assert_eq(rd(REG_B), B_24H, "24 h, BCD");
	cr_assert_eq(rd(REG_D), 0x80, "VRT");
	cr_assert_eq(fake_vm_pio_read(vm, IDX, 1), 0xff, "index port");
}

Test(cmos_rtc, bcd_utc_host_time)
{
	uint8_t v;

	for (uint8_t r = R_SEC; r <= R_YEAR; r++) {
		if (r == 1 || r == 3 || r == 5)
			continue;
		v = rd(r);
		cr_assert((v & 0x0f) <= 9 && (v >> 4) <= 9,
			  "reg %u = %#x is not BCD", r, v);
	}
	assert_near_now(read_clock(false), 0);
}

Test(cmos_rtc, binary_mode)
{
	wr(REG_B, B_24H | B_BINARY);
	cr_assert_eq(rd(REG_B), B_24H | B_BINARY);
	assert_near_now(read_clock(true), 0);
	cr_assert_eq(rd(R_CENT), 20);
}

Test(cmos_rtc, day_of_week)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	cr_assert_eq(bcd(rd(R_WDAY)), tm.tm_wday + 1);
}

Test(cmos_rtc, set_time_with_set_bit)
{
	wr(REG_B, B_SET | B_24H);
	/* Frozen: writes edit the frozen time, reads return it. */
	wr(R_CENT, 0x20);
	wr(R_YEAR, 0x00);
	wr(R_MON, 0x01);
	wr(R_MDAY, 0x01);
	wr(R_HOUR, 0x23);
	wr(R_MIN, 0x59);
	wr(R_SEC, 0x50);
	cr_assert_eq(rd(R_SEC), 0x50);
	cr_assert_eq(rd(R_MIN), 0x59);
	cr_assert_eq(rd(R_HOUR), 0x23);
	cr_assert_eq(rd(R_YEAR), 0x00);
	cr_assert_eq(rd(REG_A) & 0x80, 0, "no UIP while SET");
	/* Clearing SET starts the clock from there. */
	wr(REG_B, B_24H);
	cr_assert_eq(rd(R_MDAY), 0x01);
	cr_assert_eq(rd(R_MON), 0x01);
	cr_assert_eq(rd(R_YEAR), 0x00);
	cr_assert_eq(rd(R_CENT), 0x20);
	cr_assert_eq(rd(R_HOUR), 0x23);
	cr_assert_eq(rd(R_MIN), 0x59);
	cr_assert(bcd(rd(R_SEC)) >= 50 && bcd(rd(R_SEC)) <= 52);
	/* 2000-01-01 was a Saturday: day 7 with Sunday = 1 */
	cr_assert_eq(rd(R_WDAY), 7);
	/* The offset holds: it is still about that time later. */
	{
		struct tm tm = { .tm_year = 100,
				 .tm_mday = 1,
				 .tm_hour = 23,
				 .tm_min = 59,
				 .tm_sec = 50 };
		time_t set = timegm(&tm);

		cr_assert(llabs((long long)(read_clock(false) - set)) <= 2);
	}
}

Test(cmos_rtc, set_field_without_set_bit_moves_clock)
{
	int ok = 0;

	wr(R_YEAR, 0x42);
	cr_assert_eq(rd(R_YEAR), 0x42);
	cr_assert_eq(rd(R_CENT), 0x20);
	/* Only the year moved: minutes still follow the host (retry once in
	 * case a minute boundary passes between the two reads). */
	for (unsigned i = 0; i < 2 && !ok; i++)
		ok = bcd(rd(R_MIN)) == (int)((time(NULL) / 60) % 60);
	cr_assert(ok);
}

Test(cmos_rtc, twelve_hour_mode)
{
	static const struct {
		uint8_t h24, h12;
	} cases[] = {
		{ 0x00, 0x12 }, { 0x01, 0x01 }, { 0x11, 0x11 },
		{ 0x12, 0x92 }, { 0x13, 0x81 }, { 0x23, 0x91 },
	};

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		wr(REG_B, B_SET | B_24H);
		wr(R_HOUR, cases[i].h24);
		wr(REG_B, B_SET);
		cr_assert_eq(rd(R_HOUR), cases[i].h12, "24h %#x -> 12h %#x",
			     cases[i].h24, rd(R_HOUR));
		/* and back: write in 12 h, read in 24 h */
		wr(R_HOUR, cases[i].h12);
		wr(REG_B, B_SET | B_24H);
		cr_assert_eq(rd(R_HOUR), cases[i].h24);
	}
	/* binary 12 h: 1 PM is 0x81 */
	wr(REG_B, B_SET | B_BINARY);
	wr(R_HOUR, 0x81);
	wr(REG_B, B_SET | B_BINARY | B_24H);
	cr_assert_eq(rd(R_HOUR), 13);
}

Test(cmos_rtc, century_and_binary_set)
{
	wr(REG_B, B_SET | B_24H | B_BINARY);
	wr(R_CENT, 21);
	wr(R_YEAR, 5);
	wr(R_MON, 12);
	wr(R_MDAY, 31);
	wr(R_HOUR, 10);
	wr(REG_B, B_24H | B_BINARY);
	cr_assert_eq(rd(R_CENT), 21);
	cr_assert_eq(rd(R_YEAR), 5);
	cr_assert_eq(rd(R_MON), 12);
	cr_assert_eq(rd(R_MDAY), 31);
	cr_assert_eq(rd(R_HOUR), 10);
}

Test(cmos_rtc, garbage_time_is_normalised)
{
	wr(R_SEC, 0xff);
	wr(R_MON, 0x00);
	wr(R_MDAY, 0xee);
	wr(R_HOUR, 0xfa);
	wr(REG_B, B_SET);
	wr(R_HOUR, 0x7f);
	wr(REG_B, 0);
	/* Still valid BCD afterwards. */
	for (uint8_t r = R_SEC; r <= R_YEAR; r += 2) {
		uint8_t v = rd(r);

		cr_assert((v & 0x0f) <= 9, "reg %u = %#x", r, v);
	}
}

Test(cmos_rtc, uip_is_short)
{
	uint64_t start = now_ns(), rise = 0, fall = 0;

	/* UIP rises once a second (or at the first read after a missed
	 * window) and stays up for at most ~244 us. */
	while (now_ns() - start < 1500000000ull) {
		if (rd(REG_A) & 0x80) {
			rise = now_ns();
			break;
		}
	}
	cr_assert(rise, "UIP never seen in 1.5 s");
	while (now_ns() - rise < 100000000ull) {
		if (!(rd(REG_A) & 0x80)) {
			fall = now_ns();
			break;
		}
	}
	cr_assert(fall, "UIP stuck for 100 ms");
	cr_assert_eq(rd(REG_A) & 0x7f, 0x26);
}

Test(cmos_rtc, uip_missed_window_reported_once)
{
	unsigned clear = 0;

	rd(REG_A);
	/* Sleep across a boundary: the next read reports the update. */
	usleep(1100000);
	cr_assert(rd(REG_A) & 0x80);
	for (unsigned i = 0; i < 3; i++)
		clear += !(rd(REG_A) & 0x80);
	cr_assert_geq(clear, 2, "UIP does not stay up");
}

Test(cmos_rtc, status_c_update_flag)
{
	uint8_t c;

	rd(REG_C);
	cr_assert_eq(rd(REG_C), 0, "read clears");
	usleep(1100000);
	c = rd(REG_C);
	cr_assert_eq(c, 0x10, "UF after a second boundary, got %#x", c);
	cr_assert_eq(rd(REG_C), 0);
	wr(REG_B, B_24H | B_UIE);
	usleep(1100000);
	cr_assert_eq(rd(REG_C), 0x90, "IRQF with UIE");
	/* SET clears UIE */
	wr(REG_B, B_SET | B_UIE | B_24H);
	cr_assert_eq(rd(REG_B), B_SET | B_24H);
}

Test(cmos_rtc, nvram_read_write)
{
	for (unsigned r = 0x0e; r < 0x80; r++) {
		if (r == R_CENT)
			continue;
		wr((uint8_t)r, (uint8_t)(r ^ 0x5a));
	}
	for (unsigned r = 0x0e; r < 0x80; r++) {
		if (r == R_CENT)
			continue;
		cr_assert_eq(rd((uint8_t)r), (uint8_t)(r ^ 0x5a), "reg %#x", r);
	}
	/* Kept over a guest reset (battery-backed). */
	cmos_rtc_type.reset(dev);
	cr_assert_eq(rd(0x40), 0x40 ^ 0x5a);
	/* Status registers are not NVRAM. */
	wr(REG_D, 0x00);
	cr_assert_eq(rd(REG_D), 0x80);
	wr(REG_A, 0xff);
	cr_assert_eq(rd(REG_A) & 0x7f, 0x7f);
}

Test(cmos_rtc, index_masking)
{
	wr(0x40, 0xa5);
	/* Bit 7 is the NMI mask: 0xc0 selects register 0x40. */
	fake_vm_pio_write(vm, IDX, 1, 0xc0);
	cr_assert_eq(fake_vm_pio_read(vm, DATA, 1), 0xa5);
	fake_vm_pio_write(vm, IDX, 1, 0xff);
	fake_vm_pio_write(vm, DATA, 1, 0x3c);
	cr_assert_eq(rd(0x7f), 0x3c);
	/* A 16-bit write: index then data */
	fake_vm_pio_write(vm, IDX, 2, 0x6650);
	cr_assert_eq(rd(0x50), 0x66);
}

Test(cmos_rtc, memory_size_bytes)
{
	unsigned sum = 0;

	dev_fixture_teardown();
	vm = fake_vm_new();
	cr_assert_eq(mem_add_region(&vm->mem, "ram", 0, 64 * MiB, NULL, false),
		     0);
	cfg = dev_cfg_new(&cmos_rtc_type, "rtc", NULL);
	dev = dev_create(vm, cfg, NULL);
	cr_assert_not_null(dev);
	cr_assert_eq(rd(0x15) | rd(0x16) << 8, 640);
	cr_assert_eq(rd(0x17) | rd(0x18) << 8, 63 * 1024);
	cr_assert_eq(rd(0x30) | rd(0x31) << 8, 63 * 1024);
	cr_assert_eq(rd(0x34) | rd(0x35) << 8, 48 * 16);
	cr_assert_eq(rd(0x5b) | rd(0x5c) << 8 | rd(0x5d) << 16, 0);
	for (uint8_t r = 0x10; r <= 0x2d; r++)
		sum += rd(r);
	cr_assert_eq((unsigned)(rd(0x2e) << 8 | rd(0x2f)), sum);
}

Test(cmos_rtc, memory_size_without_ram)
{
	cr_assert_eq(rd(0x15), 0);
	cr_assert_eq(rd(0x17), 0);
	cr_assert_eq(rd(0x34), 0);
}

Test(cmos_rtc, localtime)
{
	time_t now, rtc;
	struct tm lt;

	dev_fixture_teardown();
	setenv("TZ", "XST-5:30", 1); /* UTC+5:30 */
	tzset();
	create("time=localtime");
	rtc = read_clock(false);
	now = time(NULL);
	localtime_r(&now, &lt);
	cr_assert_eq(lt.tm_gmtoff, 5 * 3600 + 1800);
	assert_near_now(rtc, 5 * 3600 + 1800);
}

Test(cmos_rtc, reset_clears_interrupt_enables_only)
{
	wr(REG_B, B_24H | B_BINARY | 0x70);
	cmos_rtc_type.reset(dev);
	cr_assert_eq(rd(REG_B), B_24H | B_BINARY);
}
