/* SPDX-License-Identifier: MIT */
/* PL011 UART register model (devices/pl011.c) on a fake VM. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/abi/arm64_virt.h"
#include "devices/devices.h"

#define BASE ABI_PL011_BASE
#define IRQ  ABI_PL011_IRQ

#define DEV_FIXTURE_MMIO32 BASE
#include "dev_fixture.h"

#define DR    0x000
#define RSR   0x004
#define ECR   0x004
#define FR    0x018
#define ILPR  0x020
#define IBRD  0x024
#define FBRD  0x028
#define LCR_H 0x02c
#define CR    0x030
#define IFLS  0x034
#define IMSC  0x038
#define RIS   0x03c
#define MIS   0x040
#define ICR   0x044
#define DMACR 0x048

#define FR_RXFE 0x10
#define FR_TXFF 0x20
#define FR_RXFF 0x40
#define FR_TXFE 0x80
#define FR_BUSY 0x08

#define INT_RX 0x10
#define INT_TX 0x20
#define INT_RT 0x40
#define INT_OE 0x400

#define FEN 0x10

static void setup(void)
{
	console_fixture_setup("test_pl011");
}

TestSuite(pl011, .init = setup, .fini = console_fixture_teardown);

Test(pl011, resources_and_defaults)
{
	cfg = dev_cfg_new(&pl011_type, "uart0", NULL);
	cr_assert_eq(pl011_type.check(cfg, &(struct cfg_error){ "" }), 0);
	assert_region_irq(&pl011_type, DEV_RES_MMIO, ABI_PL011_BASE,
			  ABI_PL011_SIZE, "address", ABI_PL011_IRQ);
	cr_assert_str_eq(cfg_dev_str(cfg, "console"), "stdio");
}

Test(pl011, id_registers)
{
	static const uint8_t id[8] = { 0x11, 0x10, 0x14, 0x00,
				       0x0d, 0xf0, 0x05, 0xb1 };

	console_dev_create_quiet(&pl011_type, "uart0");
	for (unsigned i = 0; i < 8; i++) {
		cr_assert_eq(rd(0xfe0 + 4 * i), id[i], "ID %u", i);
		cr_assert_eq(fake_vm_mmio_read(vm, BASE + 0xfe0 + 4 * i, 1),
			     id[i]);
	}
}

Test(pl011, reset_values)
{
	console_dev_create_quiet(&pl011_type, "uart0");
	cr_assert_eq(rd(FR), 0x97, "TXFE RXFE DCD DSR CTS, got %#x", rd(FR));
	cr_assert_eq(rd(CR), 0x300);
	cr_assert_eq(rd(IFLS), 0x12);
	cr_assert_eq(rd(IMSC), 0);
	cr_assert_eq(rd(RIS), 0, "no TX interrupt before a write");
	cr_assert_eq(rd(MIS), 0);
	cr_assert_eq(rd(LCR_H), 0);
	cr_assert_eq(rd(IBRD), 0);
	cr_assert_eq(rd(FBRD), 0);
	cr_assert_eq(rd(RSR), 0);
	cr_assert_eq(rd(DMACR), 0);
	cr_assert_eq(vm->irq_level[IRQ], 0);
}

Test(pl011, registers_store_and_mask)
{
	console_dev_create_quiet(&pl011_type, "uart0");
	wr(IBRD, 0x12345);
	cr_assert_eq(rd(IBRD), 0x2345);
	wr(FBRD, 0xff);
	cr_assert_eq(rd(FBRD), 0x3f);
	wr(LCR_H, 0x1f0);
	cr_assert_eq(rd(LCR_H), 0xf0);
	wr(CR, 0xffffffff);
	cr_assert_eq(rd(CR), 0xff87, "reserved bits 6:3");
	wr(IFLS, 0xff);
	cr_assert_eq(rd(IFLS), 0x3f);
	wr(IMSC, 0xffff);
	cr_assert_eq(rd(IMSC), 0x7ff);
	wr(DMACR, 0xff);
	cr_assert_eq(rd(DMACR), 0x07);
	wr(ILPR, 0x1ab);
	cr_assert_eq(rd(ILPR), 0xab);
	/* read-only registers ignore writes */
	wr(FR, 0);
	wr(RIS, 0xffff);
	wr(MIS, 0xffff);
	wr(0xfe0, 0);
	cr_assert_eq(rd(FR), 0x97);
	cr_assert_eq(rd(RIS), 0);
	cr_assert_eq(rd(0xfe0), 0x11);
	/* reserved offsets read 0 */
	wr(0x04c, 0x1234);
	cr_assert_eq(rd(0x04c), 0);
	cr_assert_eq(rd(0x800), 0);
	cr_assert_eq(rd(ICR), 0, "ICR is write-only");
}

Test(pl011, access_widths)
{
	console_dev_create_quiet(&pl011_type, "uart0");
	/* 8 and 16 bits at a word-aligned offset: the low bits */
	fake_vm_mmio_write(vm, BASE + IBRD, 2, 0xbeef);
	cr_assert_eq(fake_vm_mmio_read(vm, BASE + IBRD, 2), 0xbeef);
	cr_assert_eq(fake_vm_mmio_read(vm, BASE + IBRD, 1), 0xef);
	fake_vm_mmio_write(vm, BASE + IBRD, 1, 0x42);
	cr_assert_eq(rd(IBRD), 0x42, "a narrow write zero-extends");
	/* unaligned or 64-bit: unhandled (all-ones, writes dropped) */
	cr_assert_eq(fake_vm_mmio_read(vm, BASE + IBRD + 1, 1), 0xff);
	cr_assert_eq(fake_vm_mmio_read(vm, BASE + IBRD + 2, 2), 0xffff);
	cr_assert_eq(fake_vm_mmio_read(vm, BASE + IBRD, 8), ~0ull);
	fake_vm_mmio_write(vm, BASE + IBRD + 1, 1, 0x77);
	fake_vm_mmio_write(vm, BASE + IBRD, 8, 0x77);
	cr_assert_eq(rd(IBRD), 0x42);
	/* nothing past the 4 KiB window */
	cr_assert_null(bus_find(&vm->mmio, BASE + ABI_PL011_SIZE, 1));
	cr_assert_not_null(bus_find(&vm->mmio, BASE + 0xffc, 4));
}

Test(pl011, transmit_without_enable)
{
	const char *msg = "Hello, PL011!\r\n";
	char buf[64];

	console_dev_create(&pl011_type, "uart0");
	wr(CR, 0); /* UARTEN and TXE clear: bare-metal guests do this */
	for (const char *p = msg; *p; p++) {
		cr_assert_eq(rd(FR) & (FR_TXFF | FR_BUSY), 0);
		cr_assert(rd(FR) & FR_TXFE);
		fake_vm_mmio_write(vm, BASE + DR, (p - msg) % 2 ? 1 : 4,
				   (uint8_t)*p);
	}
	fake_vm_mmio_write(vm, BASE + DR, 2, 0x0f00 | '!');
	read_file(out_path, buf, sizeof(buf));
	cr_assert_str_eq(buf, "Hello, PL011!\r\n!");
}

Test(pl011, tx_interrupt)
{
	console_dev_create_quiet(&pl011_type, "uart0");
	wr(IMSC, INT_TX);
	cr_assert_eq(vm->irq_level[IRQ], 0, "not raised before a write");
	wr(DR, 'x');
	cr_assert_eq(rd(RIS), INT_TX);
	cr_assert_eq(rd(MIS), INT_TX);
	cr_assert_eq(vm->irq_level[IRQ], 1);
	wr(ICR, INT_TX);
	cr_assert_eq(rd(RIS), 0);
	cr_assert_eq(vm->irq_level[IRQ], 0);
	/* latched while masked; the line follows the mask */
	wr(IMSC, 0);
	wr(DR, 'y');
	cr_assert_eq(rd(RIS), INT_TX);
	cr_assert_eq(rd(MIS), 0);
	cr_assert_eq(vm->irq_level[IRQ], 0);
	wr(IMSC, INT_TX);
	cr_assert_eq(vm->irq_level[IRQ], 1);
	wr(IMSC, 0);
	cr_assert_eq(vm->irq_level[IRQ], 0);
}

Test(pl011, rx_interrupt_and_timeout)
{
	console_dev_create(&pl011_type, "uart0");
	wr(LCR_H, FEN | 0x60);
	wr(IMSC, INT_RX | INT_RT);
	cr_assert_eq(rd(FR) & FR_RXFE, FR_RXFE);
	host_input("ab", 2);
	cr_assert_eq(rd(FR) & (FR_RXFE | FR_RXFF), 0);
	cr_assert_eq(rd(RIS), INT_RX | INT_RT);
	cr_assert_eq(vm->irq_level[IRQ], 1);
	/* ICR cannot clear RX/RT while data waits */
	wr(ICR, 0x7ff);
	cr_assert_eq(rd(MIS), INT_RX | INT_RT);
	cr_assert_eq(rd(DR), 'a');
	cr_assert_eq(vm->irq_level[IRQ], 1);
	cr_assert_eq(rd(DR), 'b');
	cr_assert_eq(vm->irq_level[IRQ], 0);
	cr_assert_eq(rd(RIS), 0);
	cr_assert_eq(rd(FR) & FR_RXFE, FR_RXFE);
	cr_assert_eq(rd(DR), 'b', "an empty FIFO reads the last byte again");
	/* only RTIM enabled: the timeout alone raises the line */
	wr(IMSC, INT_RT);
	host_input("c", 1);
	cr_assert_eq(vm->irq_level[IRQ], 1);
	cr_assert_eq(vm->irq_raises[IRQ], 2);
}

Test(pl011, fifo_32_and_backlog_keeps_order)
{
	char in[100], got[100];

	console_dev_create(&pl011_type, "uart0");
	wr(LCR_H, FEN);
	for (unsigned i = 0; i < sizeof(in); i++)
		in[i] = (char)('!' + i);
	host_input(in, sizeof(in));
	for (unsigned i = 0; i < sizeof(in); i++) {
		uint32_t fr = rd(FR);
		uint32_t v;

		cr_assert_eq(fr & FR_RXFE, 0, "byte %u", i);
		/* 32 visible while at least 32 are waiting */
		cr_assert_eq(!!(fr & FR_RXFF), sizeof(in) - i >= 32,
			     "byte %u: FR %#x", i, fr);
		v = rd(DR);
		cr_assert_eq(v & 0xf00, 0, "no error bits");
		got[i] = (char)v;
	}
	cr_assert_arr_eq(got, in, sizeof(in));
	cr_assert(rd(FR) & FR_RXFE);
	cr_assert_eq(rd(RSR), 0);
}

Test(pl011, fifo_disabled_holds_one)
{
	console_dev_create(&pl011_type, "uart0");
	host_input("xy", 2);
	cr_assert_eq(rd(FR) & (FR_RXFF | FR_RXFE), FR_RXFF,
		     "one character: full");
	cr_assert_eq(rd(DR), 'x');
	cr_assert_eq(rd(FR) & (FR_RXFF | FR_RXFE), FR_RXFF);
	cr_assert_eq(rd(DR), 'y');
	cr_assert_eq(rd(FR) & (FR_RXFF | FR_RXFE), FR_RXFE);
}

Test(pl011, host_overrun_sets_oe_and_drops)
{
	static char in[8192];
	unsigned got = 0;

	console_dev_create(&pl011_type, "uart0");
	wr(LCR_H, FEN);
	wr(IMSC, INT_OE);
	for (unsigned i = 0; i < sizeof(in); i++)
		in[i] = (char)(i * 7);
	cr_assert_eq(write(fifo_wr, in, sizeof(in)), (ssize_t)sizeof(in));
	for (unsigned i = 0; i < 64; i++)
		fake_vm_fire(vm, vm->watches[0].fd);
	cr_assert_eq(rd(RSR), 0x08, "OE");
	cr_assert_eq(rd(MIS), INT_OE);
	cr_assert_eq(vm->irq_level[IRQ], 1);
	wr(ECR, 0);
	cr_assert_eq(rd(RSR), 0, "ECR clears");
	wr(ICR, INT_OE);
	cr_assert_eq(vm->irq_level[IRQ], 0);
	while (!(rd(FR) & FR_RXFE) && got < sizeof(in)) {
		uint32_t v = rd(DR);

		cr_assert_eq(v & 0xff, (uint8_t)in[got], "byte %u", got);
		cr_assert_eq(v & 0x800, got ? 0 : 0x800, "OE on byte %u", got);
		got++;
	}
	cr_assert_eq(got, 4096, "the 4 KiB backlog, got %u", got);
}

Test(pl011, loopback)
{
	char buf[16];

	console_dev_create(&pl011_type, "uart0");
	wr(LCR_H, FEN);
	wr(CR, 0x381); /* RXE TXE LBE UARTEN */
	wr(DR, 'L');
	wr(DR, 'M');
	host_input("h", 1);
	cr_assert_eq(rd(DR), 'L');
	cr_assert_eq(rd(DR), 'M');
	cr_assert(rd(FR) & FR_RXFE, "host input waits during loopback");
	for (unsigned i = 0; i < 33; i++)
		wr(DR, 'a');
	cr_assert(rd(FR) & FR_RXFF);
	cr_assert_eq(rd(RSR), 0x08, "the 33rd byte overran");
	wr(CR, 0x301);
	cr_assert_eq(rd(DR) & 0xff, 'h', "looped bytes dropped, host input");
	cr_assert_eq(read_file(out_path, buf, sizeof(buf)), 0,
		     "loopback bytes never reach the console");
}

Test(pl011, input_eof_stops_watching)
{
	console_dev_create(&pl011_type, "uart0");
	host_input("q", 1);
	host_input_eof();
	cr_assert_eq(rd(DR), 'q');
}

Test(pl011, regular_input_file_is_replayed)
{
	const char *msg = "scripted input\nquit\n";
	char got[64];
	size_t n = 0;

	console_dev_create_from_file(&pl011_type, "uart0", msg);
	while (!(rd(FR) & FR_RXFE) && n < sizeof(got) - 1)
		got[n++] = (char)rd(DR);
	got[n] = '\0';
	cr_assert_str_eq(got, msg);
}

Test(pl011, reset_restores_registers_keeps_input)
{
	console_dev_create(&pl011_type, "uart0");
	wr(IBRD, 13);
	wr(LCR_H, 0x70);
	wr(CR, 0x301);
	wr(IMSC, INT_RX | INT_TX);
	wr(DR, 'x');
	host_input("r", 1);
	cr_assert_eq(vm->irq_level[IRQ], 1);
	pl011_type.reset(dev);
	cr_assert_eq(vm->irq_level[IRQ], 0);
	cr_assert_eq(rd(IBRD), 0);
	cr_assert_eq(rd(LCR_H), 0);
	cr_assert_eq(rd(CR), 0x300);
	cr_assert_eq(rd(IMSC), 0);
	cr_assert_eq(rd(RIS), INT_RX | INT_RT, "host input kept, TX cleared");
	cr_assert_eq(rd(DR), 'r');
}

Test(pl011, address_and_irq_from_config)
{
	cfg = dev_cfg_new(&pl011_type, "uart1", "console=none",
			  "address=0x10001000", "irq=40", NULL);
	dev = dev_create(vm, cfg, NULL);
	cr_assert_not_null(dev);
	cr_assert_null(bus_find(&vm->mmio, BASE, 1));
	fake_vm_mmio_write(vm, 0x10001000 + IMSC, 4, INT_TX);
	fake_vm_mmio_write(vm, 0x10001000 + DR, 4, 'z');
	cr_assert_eq(vm->irq_level[40], 1);
	cr_assert_eq(vm->irq_level[IRQ], 0);
}

Test(pl011, conflict_fails_cleanly)
{
	struct cfg_device *c2;
	int err = 0;

	console_dev_create_quiet(&pl011_type, "uart0");
	c2 = dev_cfg_new(&pl011_type, "dup", "console=none",
			 "address=0x09000800", NULL);
	cr_assert_null(dev_create(vm, c2, &err));
	cr_assert_eq(err, -EEXIST);
	dev_cfg_free(c2);
}

Test(pl011, missing_output_dir_fails)
{
	struct cfg_device *c;
	int err = 0;

	c = dev_cfg_new(&pl011_type, "bad", "console=file",
			"path=/nonexistent/dir/out.txt", NULL);
	cr_assert_null(dev_create(vm, c, &err));
	cr_assert_eq(err, -ENOENT);
	cr_assert_null(bus_find(&vm->mmio, BASE, 1));
	dev_cfg_free(c);
}

Test(pl011, check_rules)
{
	struct cfg_error err = { "" };

	cfg = dev_cfg_new(&pl011_type, "uart0", "console=file", NULL);
	cr_assert_eq(pl011_type.check(cfg, &err), -EINVAL);
	cr_assert(strstr(err.msg, "path"), "%s", err.msg);
	cr_assert(strstr(err.msg, "uart0"), "%s", err.msg);
	dev_cfg_free(cfg);

	cfg = dev_cfg_new(&pl011_type, "uart0", "console=none", "input=in",
			  NULL);
	cr_assert_eq(pl011_type.check(cfg, &err), -EINVAL);
}
