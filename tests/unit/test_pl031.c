/* SPDX-License-Identifier: MIT */
/* PL031 RTC register model (devices/pl031.c) on a fake VM. */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <time.h>

#include "devices/abi/arm64_virt.h"
#include "devices/devices.h"

#define BASE ABI_PL031_BASE
#define IRQ  ABI_PL031_IRQ

#define DEV_FIXTURE_MMIO32 BASE
#include "dev_fixture.h"

#define DR   0x000
#define MR   0x004
#define LR   0x008
#define CR   0x00c
#define IMSC 0x010
#define RIS  0x014
#define MIS  0x018
#define ICR  0x01c

static void setup(void)
{
	vm = fake_vm_new();
}

TestSuite(pl031, .init = setup, .fini = dev_fixture_teardown);

static void create(void)
{
	cfg = dev_cfg_new(&pl031_type, "rtc", NULL);
	dev = dev_create(vm, cfg, NULL);
	cr_assert_not_null(dev);
	cr_assert_eq(vm->nr_watches, 1, "the match timer");
}

static uint32_t host_now(void)
{
	return (uint32_t)time(NULL);
}

/* Wait up to ms for the match timer, then run its watch as the loop would.
 * true if it was readable. */
static bool wait_timer(int ms)
{
	struct pollfd p = { .fd = vm->watches[0].fd, .events = POLLIN };
	bool ready = poll(&p, 1, ms) == 1;

	if (ready)
		cr_assert(fake_vm_fire(vm, p.fd));
	return ready;
}

Test(pl031, resources_and_defaults)
{
	cfg = dev_cfg_new(&pl031_type, "rtc", NULL);
	cr_assert_null(pl031_type.check);
	assert_region_irq(&pl031_type, DEV_RES_MMIO, ABI_PL031_BASE,
			  ABI_PL031_SIZE, "address", ABI_PL031_IRQ);
}

Test(pl031, id_registers)
{
	static const uint8_t id[8] = { 0x31, 0x10, 0x04, 0x00,
				       0x0d, 0xf0, 0x05, 0xb1 };

	create();
	for (unsigned i = 0; i < 8; i++)
		cr_assert_eq(rd(0xfe0 + 4 * i), id[i], "ID %u", i);
}

Test(pl031, reset_values_and_host_time)
{
	uint32_t before, dr, after;

	create();
	before = host_now();
	dr = rd(DR);
	after = host_now();
	cr_assert(dr >= before && dr <= after, "DR %u is host UTC %u", dr,
		  before);
	cr_assert_eq(rd(MR), 0);
	cr_assert_eq(rd(LR), 0);
	cr_assert_eq(rd(CR), 1, "started");
	cr_assert_eq(rd(IMSC), 0);
	cr_assert_eq(rd(RIS), 0);
	cr_assert_eq(rd(MIS), 0);
	cr_assert_eq(rd(ICR), 0);
	cr_assert_eq(rd(0x020), 0, "reserved");
	cr_assert_eq(vm->irq_level[IRQ], 0);
}

Test(pl031, load_sets_the_counter)
{
	uint32_t dr;

	create();
	wr(LR, 1000);
	cr_assert_eq(rd(LR), 1000);
	dr = rd(DR);
	cr_assert(dr == 1000 || dr == 1001, "DR %u", dr);
	/* the counter wraps at 32 bits */
	wr(LR, 0xffffffffu);
	dr = rd(DR);
	cr_assert(dr == 0xffffffffu || dr == 0, "DR %#x", dr);
	/* DR, CR, RIS, MIS are not written */
	wr(DR, 5);
	wr(CR, 0);
	wr(RIS, 1);
	cr_assert_eq(rd(CR), 1, "cannot be stopped");
	cr_assert_eq(rd(RIS), 0);
	dr = rd(DR);
	cr_assert(dr == 0xffffffffu || dr <= 1, "DR %#x", dr);
}

Test(pl031, match_now_is_immediate)
{
	create();
	wr(LR, 5000);
	wr(IMSC, 1);
	wr(MR, rd(DR));
	cr_assert_eq(rd(RIS), 1);
	cr_assert_eq(rd(MIS), 1);
	cr_assert_eq(vm->irq_level[IRQ], 1);
	wr(ICR, 1);
	cr_assert_eq(rd(RIS), 0);
	cr_assert_eq(vm->irq_level[IRQ], 0);
}

Test(pl031, match_interrupt_fires_from_the_timer)
{
	uint32_t dr;

	create();
	wr(IMSC, 1);
	wr(LR, 100);
	wr(MR, 102);
	cr_assert_eq(rd(RIS), 0);
	cr_assert_not(wait_timer(0), "not yet");
	/* at most 2 s, at least 1 s from now */
	cr_assert(wait_timer(3000), "the match timer fired");
	dr = rd(DR);
	cr_assert(dr == 102 || dr == 103, "fired when DR reached MR: DR %u",
		  dr);
	cr_assert_eq(rd(RIS), 1);
	cr_assert_eq(vm->irq_level[IRQ], 1);
	cr_assert_eq(vm->irq_raises[IRQ], 1);
	wr(ICR, 1);
	cr_assert_eq(vm->irq_level[IRQ], 0);
}

Test(pl031, masked_match_latches_ris)
{
	create();
	wr(LR, 7);
	wr(MR, 8);
	cr_assert(wait_timer(3000));
	cr_assert_eq(rd(RIS), 1);
	cr_assert_eq(rd(MIS), 0);
	cr_assert_eq(vm->irq_level[IRQ], 0);
	wr(IMSC, 1);
	cr_assert_eq(vm->irq_level[IRQ], 1);
	wr(IMSC, 0);
	cr_assert_eq(vm->irq_level[IRQ], 0);
}

Test(pl031, rewriting_match_rearms)
{
	create();
	wr(LR, 50);
	wr(MR, 51);
	wr(MR, 50000); /* far away: the earlier match never fires */
	cr_assert_not(wait_timer(1500));
	cr_assert_eq(rd(RIS), 0);
	/* a load moves the counter: the match is re-armed against it */
	wr(LR, 49999);
	cr_assert(wait_timer(3000));
	cr_assert_eq(rd(RIS), 1);
}

Test(pl031, access_widths)
{
	create();
	fake_vm_mmio_write(vm, BASE + MR, 2, 0xbeef);
	cr_assert_eq(rd(MR), 0xbeef);
	cr_assert_eq(fake_vm_mmio_read(vm, BASE + MR, 1), 0xef);
	cr_assert_eq(fake_vm_mmio_read(vm, BASE + MR + 1, 1), 0xff,
		     "unaligned: unhandled");
	cr_assert_eq(fake_vm_mmio_read(vm, BASE + MR, 8), ~0ull);
	fake_vm_mmio_write(vm, BASE + MR, 8, 1);
	fake_vm_mmio_write(vm, BASE + MR + 2, 2, 1);
	cr_assert_eq(rd(MR), 0xbeef);
	cr_assert_null(bus_find(&vm->mmio, BASE + ABI_PL031_SIZE, 1));
}

Test(pl031, reset_clears_registers_keeps_time)
{
	uint32_t dr;

	create();
	wr(LR, 123456);
	wr(IMSC, 1);
	wr(MR, rd(DR));
	cr_assert_eq(vm->irq_level[IRQ], 1);
	wr(MR, 999999);
	pl031_type.reset(dev);
	cr_assert_eq(vm->irq_level[IRQ], 0);
	cr_assert_eq(rd(MR), 0);
	cr_assert_eq(rd(LR), 0);
	cr_assert_eq(rd(IMSC), 0);
	cr_assert_eq(rd(RIS), 0);
	dr = rd(DR);
	cr_assert(dr >= 123456 && dr <= 123458, "DR %u", dr);
	cr_assert_not(wait_timer(0), "timer disarmed");
}

Test(pl031, address_and_irq_from_config)
{
	cfg = dev_cfg_new(&pl031_type, "rtc", "address=0x10002000", "irq=41",
			  NULL);
	dev = dev_create(vm, cfg, NULL);
	cr_assert_not_null(dev);
	cr_assert_null(bus_find(&vm->mmio, BASE, 1));
	fake_vm_mmio_write(vm, 0x10002000 + IMSC, 4, 1);
	fake_vm_mmio_write(vm, 0x10002000 + MR, 4,
			   (uint32_t)fake_vm_mmio_read(vm, 0x10002000, 4));
	cr_assert_eq(vm->irq_level[41], 1);
}

Test(pl031, conflict_fails_cleanly)
{
	struct cfg_device *c2;
	int err = 0;

	create();
	c2 = dev_cfg_new(&pl031_type, "dup", "address=0x09010ffc", NULL);
	cr_assert_null(dev_create(vm, c2, &err));
	cr_assert_eq(err, -EEXIST);
	cr_assert_eq(vm->nr_watches, 1, "the failed one unwatched its timer");
	dev_cfg_free(c2);
}
