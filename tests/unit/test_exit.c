/* SPDX-License-Identifier: MIT */
/*
 * Exit decoding on hand-made struct kvm_run pages, including the malformed
 * ones a buggy or hostile setup could produce.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "vmm/exit.h"

/* As KVM lays it out: struct kvm_run, then the PIO data page. */
#define RUN_SIZE 8192
#define PIO_OFF	 4096

static union {
	struct kvm_run run;
	uint8_t bytes[RUN_SIZE];
} page;

static struct bus pio, mmio;
static unsigned writes, unhandled, faults;
static uint8_t last_byte;
static char fault_msg[256];
static bool unhandled_goes_on;

static enum bus_status dev(void *opaque, uint64_t off, uint8_t *data,
			   unsigned size, bool is_write)
{
	if (is_write) {
		writes++;
		last_byte = data[0];
	} else {
		bus_put(data, size, 0x5a + off);
	}
	return BUS_OK;
}

static enum bus_status bad_dev(void *opaque, uint64_t off, uint8_t *data,
			       unsigned size, bool is_write)
{
	return BUS_FAULT;
}

static bool on_unhandled(void *opaque, const char *kind, uint64_t addr,
			 unsigned size, bool is_write, const uint8_t *data)
{
	unhandled++;
	return unhandled_goes_on;
}

static void on_fault(void *opaque, const char *msg)
{
	faults++;
	snprintf(fault_msg, sizeof(fault_msg), "%s", msg);
}

static struct exit_ctx ctx = {
	.pio = &pio,
	.mmio = &mmio,
	.run = &page.run,
	.run_size = RUN_SIZE,
	.unhandled = on_unhandled,
	.fault = on_fault,
};

static void setup(void)
{
	memset(&page, 0, sizeof(page));
	writes = unhandled = faults = 0;
	fault_msg[0] = 0;
	unhandled_goes_on = true;
	bus_init(&pio, "pio");
	bus_init(&mmio, "mmio");
	cr_assert_eq(bus_register(&pio, 0x3f8, 8, dev, NULL, "uart"), 0);
	cr_assert_eq(bus_register(&pio, 0x500, 1, bad_dev, NULL, "bad"), 0);
	cr_assert_eq(bus_register(&mmio, 0xd0000000, 0x1000, dev, NULL, "m"),
		     0);
}

static void teardown(void)
{
	bus_free(&pio);
	bus_free(&mmio);
}

TestSuite(exit, .init = setup, .fini = teardown);

static void set_pio(uint8_t dir, uint8_t size, uint16_t port, uint32_t count,
		    uint64_t off)
{
	page.run.exit_reason = KVM_EXIT_IO;
	page.run.io.direction = dir;
	page.run.io.size = size;
	page.run.io.port = port;
	page.run.io.count = count;
	page.run.io.data_offset = off;
}

Test(exit, pio_write_and_read)
{
	set_pio(KVM_EXIT_IO_OUT, 1, 0x3f8, 1, PIO_OFF);
	page.bytes[PIO_OFF] = 'A';
	cr_assert_eq(exit_decode_pio(&ctx), 0);
	cr_assert_eq(writes, 1);
	cr_assert_eq(last_byte, 'A');

	set_pio(KVM_EXIT_IO_IN, 1, 0x3fd, 1, PIO_OFF);
	cr_assert_eq(exit_decode_pio(&ctx), 0);
	cr_assert_eq(page.bytes[PIO_OFF], 0x5a + 5);
}

Test(exit, string_pio_repeats)
{
	set_pio(KVM_EXIT_IO_OUT, 1, 0x3f8, 5, PIO_OFF + 100);
	memcpy(&page.bytes[PIO_OFF + 100], "hello", 5);
	cr_assert_eq(exit_decode_pio(&ctx), 0);
	cr_assert_eq(writes, 5);
	cr_assert_eq(last_byte, 'o');
}

Test(exit, pio_buffer_outside_run_page)
{
	set_pio(KVM_EXIT_IO_OUT, 1, 0x3f8, 1, RUN_SIZE);
	cr_assert_eq(exit_decode_pio(&ctx), 1);
	cr_assert_eq(faults, 1);
	cr_assert(strstr(fault_msg, "malformed PIO exit"));

	/* count * size overflows past the page */
	faults = 0;
	set_pio(KVM_EXIT_IO_OUT, 4, 0x3f8, 0x40000000, PIO_OFF);
	cr_assert_eq(exit_decode_pio(&ctx), 1);
	cr_assert_eq(faults, 1);
	cr_assert_eq(writes, 0);

	faults = 0;
	set_pio(KVM_EXIT_IO_OUT, 1, 0x3f8, 1, UINT64_MAX);
	cr_assert_eq(exit_decode_pio(&ctx), 1);
	cr_assert_eq(faults, 1);
}

/* Found by fuzz_exit: an IN whose buffer overlapped struct kvm_run could
 * overwrite io.count while the loop was reading it. */
Test(exit, pio_buffer_inside_run_header_refused)
{
	set_pio(KVM_EXIT_IO_IN, 4, 0x600, 244, 0);
	cr_assert_eq(exit_decode_pio(&ctx), 1);
	cr_assert(strstr(fault_msg, "malformed PIO exit"));
	set_pio(KVM_EXIT_IO_IN, 1, 0x3f8, 1, sizeof(struct kvm_run) - 1);
	cr_assert_eq(exit_decode_pio(&ctx), 1);
	set_pio(KVM_EXIT_IO_IN, 1, 0x3f8, 1, sizeof(struct kvm_run));
	cr_assert_eq(exit_decode_pio(&ctx), 0);
}

/* The loop uses the values checked before it, even if a handler changes
 * the run page while it runs. */
static enum bus_status clobber(void *opaque, uint64_t off, uint8_t *data,
			       unsigned size, bool is_write)
{
	page.run.io.count = 0x7fffffff;
	page.run.io.port = 0x3f8;
	writes++;
	return BUS_OK;
}

Test(exit, pio_fields_read_once)
{
	cr_assert_eq(bus_register(&pio, 0x700, 1, clobber, NULL, "clob"), 0);
	set_pio(KVM_EXIT_IO_OUT, 1, 0x700, 3, PIO_OFF);
	cr_assert_eq(exit_decode_pio(&ctx), 0);
	cr_assert_eq(writes, 3);
}

Test(exit, pio_bad_size_and_zero_count)
{
	set_pio(KVM_EXIT_IO_OUT, 3, 0x3f8, 1, PIO_OFF);
	cr_assert_eq(exit_decode_pio(&ctx), 1);
	set_pio(KVM_EXIT_IO_OUT, 8, 0x3f8, 1, PIO_OFF);
	cr_assert_eq(exit_decode_pio(&ctx), 1);
	set_pio(KVM_EXIT_IO_OUT, 1, 0x3f8, 0, PIO_OFF);
	cr_assert_eq(exit_decode_pio(&ctx), 1);
	cr_assert_eq(faults, 3);
	cr_assert_eq(writes, 0);
}

Test(exit, pio_unhandled_policy_decides)
{
	set_pio(KVM_EXIT_IO_OUT, 1, 0x80, 3, PIO_OFF);
	cr_assert_eq(exit_decode_pio(&ctx), 0);
	cr_assert_eq(unhandled, 3, "each repetition is reported");
	unhandled = 0;
	unhandled_goes_on = false;
	cr_assert_eq(exit_decode_pio(&ctx), 1);
	cr_assert_eq(unhandled, 1, "stops at the first refusal");
}

Test(exit, pio_device_fault)
{
	set_pio(KVM_EXIT_IO_OUT, 1, 0x500, 1, PIO_OFF);
	cr_assert_eq(exit_decode_pio(&ctx), 1);
	cr_assert(strstr(fault_msg, "illegal PIO write at port 0x500"));
}

Test(exit, mmio)
{
	page.run.exit_reason = KVM_EXIT_MMIO;
	page.run.mmio.phys_addr = 0xd0000010;
	page.run.mmio.len = 4;
	page.run.mmio.is_write = 0;
	cr_assert_eq(exit_decode_mmio(&ctx), 0);
	cr_assert_eq(bus_get(page.run.mmio.data, 4), 0x5a + 0x10);

	page.run.mmio.len = 16;
	cr_assert_eq(exit_decode_mmio(&ctx), 1);
	cr_assert(strstr(fault_msg, "malformed MMIO exit"));

	page.run.mmio.len = 8;
	page.run.mmio.phys_addr = 0xd0000ffc; /* runs past the region */
	cr_assert_eq(exit_decode_mmio(&ctx), 0);
	cr_assert_eq(unhandled, 1);
	cr_assert_eq(bus_get(page.run.mmio.data, 8), UINT64_MAX);
}
