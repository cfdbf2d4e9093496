/* SPDX-License-Identifier: MIT */
/* 8250/16550A UART register model (devices/uart8250.c) on a fake VM. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dev_fixture.h"

#define COM1 0x3f8
#define IRQ  4

#define RBR 0
#define THR 0
#define DLL 0
#define IER 1
#define DLM 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

extern const struct device_type uart8250_type;

static void setup(void)
{
	console_fixture_setup("test_uart");
}

TestSuite(uart, .init = setup, .fini = console_fixture_teardown);

static uint8_t rd(unsigned reg)
{
	return (uint8_t)fake_vm_pio_read(vm, COM1 + reg, 1);
}

static void wr(unsigned reg, uint8_t v)
{
	fake_vm_pio_write(vm, COM1 + reg, 1, v);
}

Test(uart, reset_values)
{
	console_dev_create_quiet(&uart8250_type, "com1");
	cr_assert_eq(rd(IER), 0);
	cr_assert_eq(rd(IIR), 0x01);
	cr_assert_eq(rd(LCR), 0);
	cr_assert_eq(rd(MCR), 0);
	cr_assert_eq(rd(LSR), 0x60, "THRE|TEMT, got %#x", rd(LSR));
	cr_assert_eq(rd(MSR), 0xb0, "DCD|DSR|CTS");
	cr_assert_eq(rd(SCR), 0);
	cr_assert_eq(vm->irq_level[IRQ], 0);
}

Test(uart, resources_and_defaults)
{
	struct dev_resource res[DEV_MAX_RESOURCES];
	unsigned n;

	cfg = dev_cfg_new(&uart8250_type, "com1", NULL);
	n = uart8250_type.resources(cfg, res, DEV_MAX_RESOURCES);
	cr_assert_eq(n, 2);
	cr_assert_eq(res[0].kind, DEV_RES_PIO);
	cr_assert_eq(res[0].base, 0x3f8);
	cr_assert_eq(res[0].size, 8);
	cr_assert_eq(res[1].kind, DEV_RES_IRQ);
	cr_assert_eq(res[1].base, 4);
	cr_assert_eq(uart8250_type.resources(cfg, res, 1), 1);
}

Test(uart, dlab_divisor_latch)
{
	console_dev_create_quiet(&uart8250_type, "com1");
	wr(IER, 0x05);
	wr(LCR, 0x83);
	cr_assert_eq(rd(LCR), 0x83);
	wr(DLL, 0x0c);
	wr(DLM, 0x01);
	cr_assert_eq(rd(DLL), 0x0c);
	cr_assert_eq(rd(DLM), 0x01);
	wr(LCR, 0x03);
	cr_assert_eq(rd(IER), 0x05, "IER kept behind the latch");
	cr_assert_eq(rd(RBR), 0, "nothing received");
	wr(LCR, 0x80);
	cr_assert_eq(rd(DLL), 0x0c);
	cr_assert_eq(rd(DLM), 0x01);
}

Test(uart, dlab_write_does_not_transmit)
{
	char buf[64];

	console_dev_create(&uart8250_type, "com1");
	wr(LCR, 0x80);
	wr(THR, 'x');
	wr(LCR, 0x03);
	wr(THR, 'y');
	read_file(out_path, buf, sizeof(buf));
	cr_assert_str_eq(buf, "y");
}

Test(uart, scratch_register)
{
	console_dev_create_quiet(&uart8250_type, "com1");
	for (unsigned v = 0; v < 256; v += 37) {
		wr(SCR, (uint8_t)v);
		cr_assert_eq(rd(SCR), v);
	}
}

Test(uart, ier_upper_bits_masked)
{
	console_dev_create_quiet(&uart8250_type, "com1");
	wr(IER, 0xff);
	cr_assert_eq(rd(IER), 0x0f);
}

Test(uart, console_file_output)
{
	const char *msg = "Hello, serial!\r\nsecond line\n";
	char buf[128];

	console_dev_create(&uart8250_type, "com1");
	for (const char *p = msg; *p; p++) {
		cr_assert(rd(LSR) & 0x20, "THRE before each byte");
		wr(THR, (uint8_t)*p);
		cr_assert_eq(rd(LSR) & 0x60, 0x60, "THRE|TEMT after");
	}
	read_file(out_path, buf, sizeof(buf));
	cr_assert_str_eq(buf, msg);
}

Test(uart, console_file_truncated_at_start)
{
	char buf[64];
	FILE *f = fopen(out_path, "w");

	fputs("old contents", f);
	fclose(f);
	console_dev_create(&uart8250_type, "com1");
	wr(THR, 'n');
	read_file(out_path, buf, sizeof(buf));
	cr_assert_str_eq(buf, "n");
}

Test(uart, wide_access_is_split_into_bytes)
{
	console_dev_create_quiet(&uart8250_type, "com1");
	/* 16-bit write at LCR: LCR = low byte, MCR = high byte */
	fake_vm_pio_write(vm, COM1 + LCR, 2, 0x0b03);
	cr_assert_eq(rd(LCR), 0x03);
	cr_assert_eq(rd(MCR), 0x0b);
	cr_assert_eq(fake_vm_pio_read(vm, COM1 + LCR, 2), 0x0b03);
	wr(SCR, 0x5a);
	cr_assert_eq(fake_vm_pio_read(vm, COM1 + 4, 4), 0x5ab0600b,
		     "MCR LSR MSR SCR, got %#llx",
		     (unsigned long long)fake_vm_pio_read(vm, COM1 + 4, 4));
}

Test(uart, thre_interrupt)
{
	console_dev_create_quiet(&uart8250_type, "com1");
	wr(MCR, 0x08); /* OUT2 */
	cr_assert_eq(rd(IIR), 0x01);
	wr(IER, 0x02); /* ETBEI: THR is empty, so THRE is pending at once */
	cr_assert_eq(vm->irq_level[IRQ], 1);
	cr_assert_eq(rd(IIR), 0x02);
	/* Reading IIR with THRE as the source cleared it. */
	cr_assert_eq(vm->irq_level[IRQ], 0);
	cr_assert_eq(rd(IIR), 0x01);
	/* Each byte written sets it again. */
	wr(THR, 'a');
	cr_assert_eq(vm->irq_level[IRQ], 1);
	cr_assert_eq(vm->irq_raises[IRQ], 2);
	wr(THR, 'b');
	cr_assert_eq(rd(IIR), 0x02);
	cr_assert_eq(rd(IIR), 0x01);
	/* Disabling ETBEI drops it; without ETBEI a write raises nothing. */
	wr(IER, 0x00);
	wr(THR, 'c');
	cr_assert_eq(rd(IIR), 0x01);
	cr_assert_eq(vm->irq_level[IRQ], 0);
}

Test(uart, irq_gated_by_out2)
{
	console_dev_create(&uart8250_type, "com1");
	wr(IER, 0x01);
	host_input("a", 1);
	cr_assert_eq(rd(IIR) & 0x0f, 0x04, "interrupt pending");
	cr_assert_eq(vm->irq_level[IRQ], 0, "but OUT2 is off");
	cr_assert_eq(vm->irq_raises[IRQ], 0);
	wr(MCR, 0x0b); /* DTR RTS OUT2 */
	cr_assert_eq(vm->irq_level[IRQ], 1);
	wr(MCR, 0x03);
	cr_assert_eq(vm->irq_level[IRQ], 0);
	wr(MCR, 0x08);
	cr_assert_eq(vm->irq_level[IRQ], 1);
	cr_assert_eq(rd(RBR), 'a');
	cr_assert_eq(vm->irq_level[IRQ], 0, "cleared by reading RBR");
	cr_assert_eq(rd(IIR), 0x01);
	cr_assert_eq(vm->irq_raises[IRQ], 2);
}

Test(uart, rx_without_fifo)
{
	console_dev_create(&uart8250_type, "com1");
	wr(IER, 0x01);
	wr(MCR, 0x08);
	cr_assert_eq(rd(LSR) & 0x01, 0);
	host_input("xy", 2);
	cr_assert_eq(rd(LSR) & 0x03, 0x01, "DR, no overrun: 'y' waits");
	cr_assert_eq(rd(IIR), 0x04, "non-FIFO: data available");
	cr_assert_eq(vm->irq_level[IRQ], 1);
	cr_assert_eq(rd(RBR), 'x');
	cr_assert_eq(rd(LSR) & 0x01, 0x01);
	cr_assert_eq(rd(RBR), 'y');
	cr_assert_eq(rd(LSR) & 0x01, 0);
	cr_assert_eq(vm->irq_level[IRQ], 0);
	cr_assert_eq(rd(RBR), 'y', "empty RBR reads the last byte again");
}

Test(uart, fifo_trigger_levels_and_timeout)
{
	console_dev_create(&uart8250_type, "com1");
	wr(IER, 0x01);
	wr(FCR, 0x01); /* FIFO on, trigger 1 */
	cr_assert_eq(rd(IIR), 0xc1, "FIFO bits, no interrupt");
	host_input("abc", 3);
	cr_assert_eq(rd(IIR), 0xc4);
	wr(FCR, 0x41); /* trigger 4: 3 bytes -> character timeout */
	cr_assert_eq(rd(IIR), 0xcc);
	host_input("d", 1);
	cr_assert_eq(rd(IIR), 0xc4);
	wr(FCR, 0xc1); /* trigger 14 */
	cr_assert_eq(rd(IIR), 0xcc);
	cr_assert_eq(rd(RBR), 'a');
	cr_assert_eq(rd(RBR), 'b');
	cr_assert_eq(rd(RBR), 'c');
	cr_assert_eq(rd(RBR), 'd');
	cr_assert_eq(rd(IIR), 0xc1);
	cr_assert_eq(rd(LSR) & 0x01, 0);
}

Test(uart, fifo_reset_drops_loopback_bytes_only)
{
	console_dev_create(&uart8250_type, "com1");
	wr(FCR, 0x01);
	wr(MCR, 0x10);
	wr(THR, 'l');
	wr(THR, 'm');
	host_input("h", 1);
	wr(FCR, 0x03); /* clear RX: the looped-back bytes are gone */
	cr_assert_eq(rd(LSR) & 0x01, 0);
	wr(THR, 'n');
	wr(FCR, 0x00); /* disabling resets the FIFO too */
	cr_assert_eq(rd(LSR) & 0x01, 0);
	cr_assert_eq(rd(IIR), 0x01, "no FIFO bits");
	/* Host input survives resets: the guest may reset its FIFO after
	 * input was queued (scripted input, type-ahead). */
	wr(MCR, 0x00);
	wr(FCR, 0x07);
	cr_assert_eq(rd(LSR) & 0x01, 1);
	cr_assert_eq(rd(RBR), 'h');
}

Test(uart, fifo_holds_16_and_backlog_keeps_order)
{
	char in[40], got[40];

	console_dev_create(&uart8250_type, "com1");
	wr(FCR, 0x07);
	for (unsigned i = 0; i < sizeof(in); i++)
		in[i] = (char)('A' + i);
	host_input(in, sizeof(in));
	for (unsigned i = 0; i < sizeof(in); i++) {
		uint8_t lsr = rd(LSR);

		cr_assert_eq(lsr & 0x03, 0x01, "byte %u: DR, no OE (%#x)", i,
			     lsr);
		got[i] = (char)rd(RBR);
	}
	cr_assert_arr_eq(got, in, sizeof(in));
	cr_assert_eq(rd(LSR) & 0x01, 0);
}

Test(uart, host_overrun_sets_oe_and_drops)
{
	static char in[8192];
	unsigned got = 0;

	console_dev_create(&uart8250_type, "com1");
	wr(FCR, 0x01);
	wr(IER, 0x05); /* ERBFI | ELSI */
	for (unsigned i = 0; i < sizeof(in); i++)
		in[i] = (char)(i * 7);
	cr_assert_eq(write(fifo_wr, in, sizeof(in)), (ssize_t)sizeof(in));
	/* Run the watch until the pipe is drained (bounded). */
	for (unsigned i = 0; i < 64; i++)
		fake_vm_fire(vm, vm->watches[0].fd);
	cr_assert_eq(rd(IIR), 0xc6, "line status first");
	cr_assert_eq(rd(LSR) & 0x03, 0x03, "DR | OE");
	cr_assert_eq(rd(LSR) & 0x02, 0, "OE cleared by reading LSR");
	cr_assert_eq(rd(IIR), 0xc4);
	/* What was kept is the start of the stream, in order. */
	while ((rd(LSR) & 0x01) && got < sizeof(in)) {
		uint8_t c = rd(RBR);

		cr_assert_eq(c, (uint8_t)in[got], "byte %u", got);
		got++;
	}
	cr_assert_eq(got, 4096, "the 4 KiB backlog (FIFO included), got %u",
		     got);
}

Test(uart, loopback)
{
	char buf[16];

	console_dev_create(&uart8250_type, "com1");
	wr(IER, 0x01);
	wr(MCR, 0x1b); /* LOOP OUT2 RTS DTR */
	wr(THR, 'L');
	cr_assert_eq(rd(LSR) & 0x61, 0x61);
	cr_assert_eq(rd(IIR), 0x04);
	cr_assert_eq(vm->irq_level[IRQ], 0,
		     "loopback forces OUT2 inactive: no IRQ");
	cr_assert_eq(rd(RBR), 'L');
	/* Modem lines follow MCR: CTS=RTS, DSR=DTR, RI=OUT1, DCD=OUT2 */
	cr_assert_eq(rd(MSR) & 0xf0, 0xb0);
	wr(MCR, 0x14); /* LOOP OUT1 */
	cr_assert_eq(rd(MSR), 0x4b, "RI; deltas CTS DSR DCD");
	cr_assert_eq(rd(MSR), 0x40, "deltas cleared by reading");
	wr(MCR, 0x10);
	cr_assert_eq(rd(MSR), 0x04, "TERI on RI falling");
	/* Host input waits while in loopback. */
	host_input("h", 1);
	cr_assert_eq(rd(LSR) & 0x01, 0);
	wr(MCR, 0x00);
	cr_assert_eq(rd(LSR) & 0x01, 1);
	cr_assert_eq(rd(RBR), 'h');
	cr_assert_eq(read_file(out_path, buf, sizeof(buf)), 0,
		     "loopback bytes never reach the console");
}

Test(uart, loopback_overrun)
{
	console_dev_create_quiet(&uart8250_type, "com1");
	wr(MCR, 0x10);
	/* 8250 mode: the second byte overwrites RBR and sets OE */
	wr(THR, '1');
	wr(THR, '2');
	cr_assert_eq(rd(LSR) & 0x03, 0x03);
	cr_assert_eq(rd(RBR), '2');
	/* FIFO mode: 16 fit, the 17th is lost */
	wr(FCR, 0x01);
	for (unsigned i = 0; i < 17; i++)
		wr(THR, (uint8_t)('a' + i));
	cr_assert_eq(rd(LSR) & 0x03, 0x03);
	for (unsigned i = 0; i < 16; i++)
		cr_assert_eq(rd(RBR), 'a' + i);
	cr_assert_eq(rd(LSR) & 0x03, 0);
}

Test(uart, iir_priorities)
{
	console_dev_create_quiet(&uart8250_type, "com1");
	wr(FCR, 0x01);
	wr(MCR, 0x10); /* loopback: we can make every source fire */
	wr(MCR, 0x13); /* DTR RTS: modem status deltas */
	for (unsigned i = 0; i < 17; i++)
		wr(THR, 'x'); /* data + overrun, and THRE pending */
	wr(IER, 0x0f);
	cr_assert_eq(rd(IIR), 0xc6, "1: line status");
	rd(LSR);
	cr_assert_eq(rd(IIR), 0xc4, "2: received data");
	for (unsigned i = 0; i < 16; i++)
		rd(RBR);
	cr_assert_eq(rd(IIR), 0xc2, "3: THR empty");
	cr_assert_eq(rd(IIR), 0xc0, "4: modem status (THRE cleared)");
	rd(MSR);
	cr_assert_eq(rd(IIR), 0xc1, "none");
}

Test(uart, iir_read_does_not_clear_thre_when_not_the_source)
{
	console_dev_create(&uart8250_type, "com1");
	wr(IER, 0x03);
	host_input("z", 1);
	cr_assert_eq(rd(IIR), 0x04);
	cr_assert_eq(rd(IIR), 0x04);
	rd(RBR);
	cr_assert_eq(rd(IIR), 0x02, "THRE still pending");
	cr_assert_eq(rd(IIR), 0x01);
}

Test(uart, input_eof_stops_watching)
{
	console_dev_create(&uart8250_type, "com1");
	host_input("q", 1);
	host_input_eof();
	cr_assert_eq(rd(RBR), 'q');
}

Test(uart, regular_input_file_is_replayed)
{
	const char *msg = "scripted input\nquit\n";
	char got[64];
	size_t n = 0;

	console_dev_create_from_file(&uart8250_type, "com1", msg);
	wr(FCR, 0x01);
	while ((rd(LSR) & 0x01) && n < sizeof(got) - 1)
		got[n++] = (char)rd(RBR);
	got[n] = '\0';
	cr_assert_str_eq(got, msg);
}

Test(uart, reset_restores_registers)
{
	console_dev_create(&uart8250_type, "com1");
	wr(IER, 0x0f);
	wr(LCR, 0x1b);
	wr(MCR, 0x0b);
	wr(SCR, 0x42);
	wr(FCR, 0x01);
	host_input("r", 1);
	cr_assert_eq(vm->irq_level[IRQ], 1);
	uart8250_type.reset(dev);
	cr_assert_eq(vm->irq_level[IRQ], 0);
	cr_assert_eq(rd(IER), 0);
	cr_assert_eq(rd(LCR), 0);
	cr_assert_eq(rd(MCR), 0);
	cr_assert_eq(rd(SCR), 0);
	cr_assert_eq(rd(IIR), 0x01);
}

Test(uart, irq_number_from_config)
{
	cfg = dev_cfg_new(&uart8250_type, "com2", "console=none", "port=0x2f8",
			  "irq=3", NULL);
	dev = dev_create(vm, cfg, NULL);
	cr_assert_not_null(dev);
	fake_vm_pio_write(vm, 0x2f8 + MCR, 1, 0x08);
	fake_vm_pio_write(vm, 0x2f8 + IER, 1, 0x02);
	cr_assert_eq(vm->irq_level[3], 1);
	cr_assert_eq(vm->irq_level[IRQ], 0);
	cr_assert_null(bus_find(&vm->pio, COM1, 1));
}

Test(uart, port_conflict_fails_cleanly)
{
	struct cfg_device *c2;
	int err = 0;

	console_dev_create_quiet(&uart8250_type, "com1");
	c2 = dev_cfg_new(&uart8250_type, "dup", "console=none", "port=0x3fc",
			 NULL);
	cr_assert_null(dev_create(vm, c2, &err));
	cr_assert_eq(err, -EEXIST);
	dev_cfg_free(c2);
}

Test(uart, missing_output_dir_fails)
{
	struct cfg_device *c;
	int err = 0;

	c = dev_cfg_new(&uart8250_type, "bad", "console=file",
			"path=/nonexistent/dir/out.txt", NULL);
	cr_assert_null(dev_create(vm, c, &err));
	cr_assert_eq(err, -ENOENT);
	cr_assert_null(bus_find(&vm->pio, COM1, 1));
	dev_cfg_free(c);
}

Test(uart, check_rules)
{
	struct cfg_error err = { "" };

	cfg = dev_cfg_new(&uart8250_type, "com1", "console=file", NULL);
	cr_assert_eq(uart8250_type.check(cfg, &err), -EINVAL);
	cr_assert(strstr(err.msg, "path"), "%s", err.msg);
	cr_assert(strstr(err.msg, "com1"), "%s", err.msg);
	dev_cfg_free(cfg);

	cfg = dev_cfg_new(&uart8250_type, "com1", "path=x.log", NULL);
	cr_assert_eq(uart8250_type.check(cfg, &err), -EINVAL);
	cr_assert(strstr(err.msg, "test.cfg:2"), "%s", err.msg);
	dev_cfg_free(cfg);

	cfg = dev_cfg_new(&uart8250_type, "com1", "console=none", "input=in",
			  NULL);
	cr_assert_eq(uart8250_type.check(cfg, &err), -EINVAL);
	dev_cfg_free(cfg);

	cfg = dev_cfg_new(&uart8250_type, "com1", "console=file", "path=o",
			  "input=i", NULL);
	cr_assert_eq(uart8250_type.check(cfg, &err), 0);
	dev_cfg_free(cfg);

	cfg = dev_cfg_new(&uart8250_type, "com1", NULL);
	cr_assert_eq(uart8250_type.check(cfg, &err), 0);
}

/* ---- MMIO: uart8250 with `address`, reg-shift, ns16550 ---- */

extern const struct device_type ns16550_type;

#define MMIO_BASE 0x10000000ull

static uint64_t mrd(uint64_t off, unsigned size)
{
	return fake_vm_mmio_read(vm, MMIO_BASE + off, size);
}

static void mwr(uint64_t off, unsigned size, uint64_t v)
{
	fake_vm_mmio_write(vm, MMIO_BASE + off, size, v);
}

Test(uart, mmio_address_instead_of_port)
{
	struct dev_resource res[DEV_MAX_RESOURCES];
	char p[300], buf[64];

	snprintf(p, sizeof(p), "path=%s", out_path);
	cfg = dev_cfg_new(&uart8250_type, "com1", "console=file", p,
			  "address=0x10000000", NULL);
	cr_assert_eq(uart8250_type.check(cfg, &(struct cfg_error){ "" }), 0);
	cr_assert_eq(uart8250_type.resources(cfg, res, DEV_MAX_RESOURCES), 2);
	cr_assert_eq(res[0].kind, DEV_RES_MMIO);
	cr_assert_eq(res[0].base, MMIO_BASE);
	cr_assert_eq(res[0].size, 8);
	cr_assert_str_eq(res[0].key, "address");
	cr_assert_eq(res[1].kind, DEV_RES_IRQ);
	cr_assert_eq(res[1].base, 4);

	dev = dev_create(vm, cfg, NULL);
	cr_assert_not_null(dev);
	cr_assert_null(bus_find(&vm->pio, COM1, 1), "no ports with address");
	cr_assert_not_null(bus_find(&vm->mmio, MMIO_BASE, 1));
	cr_assert_null(bus_find(&vm->mmio, MMIO_BASE + 8, 1));
	cr_assert_eq(mrd(LSR, 1), 0x60);
	mwr(THR, 1, 'm');
	/* reg-shift 0: a wide access is split into bytes, as on ports */
	mwr(SCR, 1, 0x5a);
	cr_assert_eq(mrd(MCR, 4), 0x5ab06000u, "MCR, LSR, MSR, SCR: %#llx",
		     (unsigned long long)mrd(MCR, 4));
	cr_assert_eq(mrd(LSR, 4), ~0u, "past the last register: unhandled");
	mwr(MCR, 1, 0x08);
	mwr(IER, 1, 0x02);
	cr_assert_eq(vm->irq_level[IRQ], 1);
	read_file(out_path, buf, sizeof(buf));
	cr_assert_str_eq(buf, "m");
}

Test(uart, reg_shift_2_word_registers)
{
	char p[300], buf[64];

	snprintf(p, sizeof(p), "path=%s", out_path);
	cfg = dev_cfg_new(&ns16550_type, "uart0", "console=file", p,
			  "address=0x10000000", "irq=33", "reg-shift=2", NULL);
	dev = dev_create(vm, cfg, NULL);
	cr_assert_not_null(dev);
	cr_assert_not_null(bus_find(&vm->mmio, MMIO_BASE + 31, 1));
	cr_assert_null(bus_find(&vm->mmio, MMIO_BASE + 32, 1));

	/* 32-bit accesses: the low byte is the register */
	mwr(THR << 2, 4, 0xffffff00u | 'w');
	mwr(THR << 2, 1, 'b');
	mwr(SCR << 2, 4, 0x12345678u);
	cr_assert_eq(mrd(SCR << 2, 4), 0x78, "upper bytes read 0");
	cr_assert_eq(mrd(SCR << 2, 1), 0x78);
	cr_assert_eq(mrd(LSR << 2, 4), 0x60);
	cr_assert_eq(mrd(IIR << 2, 4), 0x01);
	mwr(LCR << 2, 4, 0x83);
	mwr(DLL << 2, 4, 0x0c);
	cr_assert_eq(mrd(DLL << 2, 4), 0x0c);
	mwr(LCR << 2, 4, 0x03);

	/* other widths and offsets inside a register are unhandled */
	cr_assert_eq(mrd(SCR << 2, 2), 0xffff);
	cr_assert_eq(mrd((SCR << 2) + 1, 1), 0xff);
	cr_assert_eq(mrd(SCR << 2, 8), ~0ull);
	mwr((SCR << 2) + 2, 1, 0);
	mwr(SCR << 2, 2, 0);
	cr_assert_eq(mrd(SCR << 2, 1), 0x78, "ignored writes");

	/* the interrupt goes to the configured line */
	mwr(MCR << 2, 4, 0x08);
	mwr(IER << 2, 4, 0x02);
	cr_assert_eq(vm->irq_level[33], 1);
	cr_assert_eq(mrd(IIR << 2, 4), 0x02);
	cr_assert_eq(vm->irq_level[33], 0);

	read_file(out_path, buf, sizeof(buf));
	cr_assert_str_eq(buf, "wb");
}

Test(uart, reg_shift_1_halfword_registers)
{
	cfg = dev_cfg_new(&ns16550_type, "uart0", "console=none",
			  "address=0x10000000", "irq=5", "reg-shift=1", NULL);
	dev = dev_create(vm, cfg, NULL);
	cr_assert_not_null(dev);
	mwr(SCR << 1, 2, 0xaa55);
	cr_assert_eq(mrd(SCR << 1, 2), 0x55);
	cr_assert_eq(mrd(SCR << 1, 1), 0x55);
	cr_assert_eq(mrd(SCR << 1, 4), 0xffffffffu, "4 bytes: unhandled");
	cr_assert_eq(mrd(LSR << 1, 2), 0x60);
}

Test(uart, reg_shift_on_ports)
{
	struct dev_resource res[DEV_MAX_RESOURCES];

	cfg = dev_cfg_new(&uart8250_type, "com1", "console=none", "reg-shift=2",
			  NULL);
	cr_assert_eq(uart8250_type.resources(cfg, res, DEV_MAX_RESOURCES), 2);
	cr_assert_eq(res[0].kind, DEV_RES_PIO);
	cr_assert_eq(res[0].size, 32);
	dev = dev_create(vm, cfg, NULL);
	cr_assert_not_null(dev);
	fake_vm_pio_write(vm, COM1 + (SCR << 2), 4, 0x99);
	cr_assert_eq(fake_vm_pio_read(vm, COM1 + (SCR << 2), 1), 0x99);
}

Test(uart, ns16550_resources)
{
	cfg = dev_cfg_new(&ns16550_type, "uart0", "address=0x9000000", "irq=40",
			  "reg-shift=2", NULL);
	cr_assert_eq(ns16550_type.check(cfg, &(struct cfg_error){ "" }), 0);
	assert_region_irq(&ns16550_type, DEV_RES_MMIO, 0x9000000, 32, "address",
			  40);
}

Test(uart, mmio_check_rules)
{
	struct cfg_error err = { "" };

	/* both port and address: an error at address, naming both */
	cfg = dev_cfg_new(&uart8250_type, "com1", "port=0x2f8",
			  "address=0x10000000", NULL);
	cr_assert_eq(uart8250_type.check(cfg, &err), -EINVAL);
	cr_assert(strstr(err.msg, "test.cfg:3: [device \"com1\"] address: "),
		  "%s", err.msg);
	cr_assert(strstr(err.msg, "port"), "%s", err.msg);
	dev_cfg_free(cfg);

	/* port at its default with address: fine */
	cfg = dev_cfg_new(&uart8250_type, "com1", "address=0x10000000", NULL);
	cr_assert_eq(uart8250_type.check(cfg, &err), 0, "%s", err.msg);
	dev_cfg_free(cfg);

	/* reg-shift makes 8 ports 32: must end below 0x10000 */
	cfg = dev_cfg_new(&uart8250_type, "com1", "port=0xfff0", "reg-shift=2",
			  NULL);
	cr_assert_eq(uart8250_type.check(cfg, &err), -EINVAL);
	cr_assert(strstr(err.msg, "[device \"com1\"] port: "), "%s", err.msg);
	dev_cfg_free(cfg);

	/* the region must not wrap at the top of the address space */
	cfg = dev_cfg_new(&ns16550_type, "u", "address=0xfffffffffffffff8",
			  "irq=1", "reg-shift=2", NULL);
	cr_assert_eq(ns16550_type.check(cfg, &err), -EINVAL);
	cr_assert(strstr(err.msg, "[device \"u\"] address: "), "%s", err.msg);
	dev_cfg_free(cfg);
	cfg = dev_cfg_new(&ns16550_type, "u", "address=0xffffffffffffffe0",
			  "irq=1", "reg-shift=2", NULL);
	cr_assert_eq(ns16550_type.check(cfg, &err), 0, "%s", err.msg);
	dev_cfg_free(cfg);

	/* the console rules still apply */
	cfg = dev_cfg_new(&ns16550_type, "u", "address=0x1000", "irq=1",
			  "console=file", NULL);
	cr_assert_eq(ns16550_type.check(cfg, &err), -EINVAL);
	cr_assert(strstr(err.msg, "path"), "%s", err.msg);
}

/* Whole-config errors, as `vmm check` reports them. */
static int load_cfg(const char *devices, struct cfg_error *err)
{
	char img[300], text[1024];
	struct vm_config vc;
	FILE *f;
	int ret;

	snprintf(img, sizeof(img), "%s/img.bin", tmpdir);
	f = fopen(img, "w");
	cr_assert_not_null(f);
	fputs("raw", f);
	fclose(f);
	snprintf(text, sizeof(text),
		 "[memory \"ram\"]\nbase = 0\nsize = 16M\n"
		 "[boot]\nformat = raw\nimage = img.bin\n"
		 "load-address = 0x1000\n%s",
		 devices);
	ret = config_load_string(&vc, "t.cfg", tmpdir, text, NULL, 0, err);
	unlink(img);
	if (!ret)
		config_free(&vc);
	return ret;
}

Test(uart, config_errors)
{
	struct cfg_error err = { "" };

	cr_assert_eq(
		load_cfg("[device \"u\"]\ntype = ns16550\nirq = 5\n", &err),
		-EINVAL);
	cr_assert(strstr(err.msg, "t.cfg:8: [device \"u\"] address: "), "%s",
		  err.msg);

	cr_assert_eq(load_cfg("[device \"u\"]\ntype = ns16550\nirq = 5\n"
			      "port = 0x3f8\naddress = 0x10000000\n",
			      &err),
		     -EINVAL);
	cr_assert(strstr(err.msg, "[device \"u\"] port: "), "%s", err.msg);

	cr_assert_eq(load_cfg("[device \"u\"]\ntype = uart8250\n"
			      "port = 0x2f8\naddress = 0x10000000\n",
			      &err),
		     -EINVAL);
	cr_assert(strstr(err.msg, "t.cfg:11: [device \"u\"] address: "), "%s",
		  err.msg);

	cr_assert_eq(load_cfg("[device \"u\"]\ntype = ns16550\nirq = 5\n"
			      "address = 0x10000000\nreg-shift = 3\n",
			      &err),
		     -EINVAL);
	cr_assert(strstr(err.msg, "reg-shift"), "%s", err.msg);

	cr_assert_eq(load_cfg("[device \"u\"]\ntype = ns16550\nirq = 5\n"
			      "address = 0x10000000\nreg-shift = 2\n"
			      "[device \"v\"]\ntype = uart8250\n"
			      "address = 0x1000001c\n",
			      &err),
		     -EINVAL);
	cr_assert(strstr(err.msg, "overlaps"), "%s", err.msg);

	cr_assert_eq(load_cfg("[device \"u\"]\ntype = ns16550\nirq = 5\n"
			      "address = 0x10000000\nreg-shift = 2\n"
			      "[device \"v\"]\ntype = uart8250\n"
			      "address = 0x10000020\n",
			      &err),
		     0, "%s", err.msg);
}
