/* SPDX-License-Identifier: MIT */
/*
 * ARM PrimeCell UART (PL011), per the TRM (ARM DDI 0183), on MMIO: the
 * console UART of arm64 boards (QEMU virt: 0x09000000, SPI 1). Arch-neutral:
 * an x86 guest can drive one too.
 *
 * Registers (offsets in the 4 KiB window):
 *   0x000 DR     write: transmit; read: next RX byte | error bits (11:8)
 *   0x004 RSR    read: receive status (OE, ...); write (ECR): clear it
 *   0x018 FR     flags: TXFE, RXFF, RXFE; BUSY and TXFF never set
 *   0x020 ILPR   0x024 IBRD   0x028 FBRD   0x02c LCR_H   0x030 CR
 *   0x034 IFLS   0x038 IMSC   0x048 DMACR  stored, read back
 *   0x03c RIS    0x040 MIS    0x044 ICR (write 1 to clear)
 *   0xfe0-0xffc  PeriphID0-3 (0x11 0x10 0x14 0x00), PCellID0-3 (0x0d 0xf0
 *                0x05 0xb1): what Linux's AMBA bus reads to find the driver
 * Other offsets read 0 and ignore writes. Accesses are 8, 16 or 32 bits at
 * a word-aligned offset (a narrow read returns the low bits; a narrow write
 * sets the register to the zero-extended value). Unaligned or 64-bit
 * accesses are unhandled: the VM's unhandled-I/O policy applies, as it
 * does for the 8250.
 *
 * Transmit: a DR write goes straight to the console, so the TX FIFO is
 * always empty (TXFE set, TXFF and BUSY clear). CR.UARTEN and CR.TXE are
 * stored but not required: many bare-metal guests never set them, so bytes
 * are sent regardless. TXRIS is raised by each DR write (the FIFO drains
 * past the trigger level at once) and cleared by ICR; it is not raised at
 * reset, as on the real part, so a driver primes transmission by writing.
 *
 * Receive: host input is read on the main thread into a 4 KiB host-side
 * backlog (devices/uart_console.h, shared with the 8250: the event loop is
 * level-triggered and cannot be re-armed from a vCPU thread); the RX FIFO
 * the guest sees is its first 32 bytes (1 byte with LCR_H.FEN clear).
 * Input waits in the backlog while the FIFO is full; only when the
 * backlog is full are further bytes dropped, setting RSR.OE, OE on the
 * next byte read from DR and OERIS. CR.RXE is not required either. A
 * regular input file is read at creation (up to 1 MiB) and replayed
 * through the backlog.
 *
 * Interrupts: RXRIS and RTRIS (receive timeout) are both set while the RX
 * FIFO holds data: there is no character timer, the timeout is treated as
 * already elapsed, and the FIFO trigger level (IFLS) is not used. They
 * clear when the FIFO is read empty (ICR cannot clear them while data is
 * waiting). TXRIS and OERIS are latched until ICR. No modem, framing,
 * parity or break interrupts. The line (`irq`, level-triggered, active
 * high) is MIS != 0, MIS = RIS & IMSC.
 *
 * Loopback (CR.LBE): DR writes go to the RX FIFO instead of the console;
 * host input waits in the backlog until loopback ends.
 *
 * Reset: registers take their TRM reset values (CR = 0x300, IFLS = 0x12,
 * the rest 0); host input already received is kept.
 *
 * Locking: as the 8250: `lock` for registers and FIFOs; console output is
 * written after dropping it (devices/uart_console.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/abi/arm64_virt.h"
#include "vmm/config.h"
#include "vmm/console.h"
#include "devices/dev_region_irq.h"
#include "devices/devices.h"
#include "devices/uart_console.h"
#include "vmm/device.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#define PL011_DR    0x000
#define PL011_RSR   0x004 /* read; write: ECR */
#define PL011_FR    0x018
#define PL011_ILPR  0x020
#define PL011_IBRD  0x024
#define PL011_FBRD  0x028
#define PL011_LCR_H 0x02c
#define PL011_CR    0x030
#define PL011_IFLS  0x034
#define PL011_IMSC  0x038
#define PL011_RIS   0x03c
#define PL011_MIS   0x040
#define PL011_ICR   0x044
#define PL011_DMACR 0x048
#define PL011_ID    0xfe0 /* PeriphID0-3, PCellID0-3: one byte per word */

#define DR_OE (1u << 11)

#define RSR_OE 0x08

#define FR_CTS	0x001
#define FR_DSR	0x002
#define FR_DCD	0x004
#define FR_BUSY 0x008
#define FR_RXFE 0x010
#define FR_TXFF 0x020
#define FR_RXFF 0x040
#define FR_TXFE 0x080

#define LCR_H_FEN 0x10

#define CR_LBE	 0x0080
#define CR_RESET 0x0300 /* TXE | RXE */

#define INT_RX	 (1u << 4)
#define INT_TX	 (1u << 5)
#define INT_RT	 (1u << 6)
#define INT_OE	 (1u << 10)
#define INT_MASK 0x7ffu

#define IFLS_RESET 0x12

#define PL011_FIFO_SIZE 32

static const uint8_t pl011_id[8] = { 0x11, 0x10, 0x14, 0x00,
				     0x0d, 0xf0, 0x05, 0xb1 };

static const struct dev_param pl011_params[] = {
	{ .key = "address",
	  .kind = PARAM_U64,
	  .def = "0x09000000", /* ABI_PL011_BASE */
	  .min = 0,
	  .max = UINT64_MAX - ABI_PL011_SIZE + 1,
	  .help = "MMIO base (4 KiB)" },
	{ .key = "irq",
	  .kind = PARAM_U64,
	  .def = "1", /* ABI_PL011_IRQ */
	  .min = 0,
	  .max = 255,
	  .help = "interrupt line (SPI number on arm64, GSI on x86)" },
	CONSOLE_DEV_PARAMS,
	{ .key = NULL },
};

struct pl011 {
	pthread_mutex_t lock;
	struct vm *vm;
	const char *name;
	unsigned irq;
	/* console and host input; the backlog's first pl011_fifo_cap()
	 * bytes are the RX FIFO */
	struct uart_console uc;

	uint16_t ibrd, cr, imsc, ris; /* ris: the latched bits (TX, OE) */
	uint8_t fbrd, lcr_h, ifls, dmacr, ilpr, rsr;
	uint16_t dr; /* last value read: an empty FIFO reads it again */
	bool dr_oe;  /* the next byte read carries OE */
	int irq_level;

	/* bytes looped back (CR.LBE), received before host input */
	uint8_t lb[PL011_FIFO_SIZE];
	unsigned lb_head, lb_count;

	struct log_ratelimit rl;
};

static unsigned pl011_fifo_cap(const struct pl011 *s)
{
	return (s->lcr_h & LCR_H_FEN) ? PL011_FIFO_SIZE : 1;
}

/* Bytes in the RX FIFO as the guest sees them. */
static unsigned pl011_rx_count(const struct pl011 *s)
{
	unsigned cap = pl011_fifo_cap(s), n = MIN(s->lb_count, cap);

	if (!(s->cr & CR_LBE) && n < cap)
		n += (unsigned)MIN((size_t)(cap - n), s->uc.in.count);
	return n;
}

static uint16_t pl011_ris(const struct pl011 *s)
{
	uint16_t ris = s->ris;

	if (pl011_rx_count(s))
		ris |= INT_RX | INT_RT;
	return ris;
}

static void pl011_update_irq(struct pl011 *s)
{
	dev_irq_set_level(s->vm, s->name, s->irq, &s->irq_level,
			  (pl011_ris(s) & s->imsc) != 0, &s->rl);
}

static void pl011_overrun(struct pl011 *s)
{
	s->rsr |= RSR_OE;
	s->ris |= INT_OE;
	s->dr_oe = true;
}

/* A byte transmitted in loopback mode arrives at the receiver. */
static void pl011_loopback_rx(struct pl011 *s, uint8_t b)
{
	if (s->lb_count < pl011_fifo_cap(s)) {
		s->lb[(s->lb_head + s->lb_count) % PL011_FIFO_SIZE] = b;
		s->lb_count++;
	} else {
		pl011_overrun(s);
	}
}

static uint16_t pl011_read_dr(struct pl011 *s)
{
	uint16_t v;

	if (s->lb_count) {
		v = s->lb[s->lb_head];
		s->lb_head = (s->lb_head + 1) % PL011_FIFO_SIZE;
		s->lb_count--;
	} else if (!(s->cr & CR_LBE) && s->uc.in.count) {
		v = uart_input_pop(&s->uc.in);
	} else {
		return s->dr;
	}
	if (s->dr_oe)
		v |= DR_OE;
	s->dr_oe = false;
	s->dr = v;
	return v;
}

static uint32_t pl011_read_reg(struct pl011 *s, unsigned off)
{
	uint32_t v;
	unsigned n;

	switch (off) {
	case PL011_DR:
		return pl011_read_dr(s);
	case PL011_RSR:
		return s->rsr;
	case PL011_FR:
		n = pl011_rx_count(s);
		v = FR_TXFE | FR_CTS | FR_DSR | FR_DCD;
		if (!n)
			v |= FR_RXFE;
		if (n >= pl011_fifo_cap(s))
			v |= FR_RXFF;
		return v;
	case PL011_ILPR:
		return s->ilpr;
	case PL011_IBRD:
		return s->ibrd;
	case PL011_FBRD:
		return s->fbrd;
	case PL011_LCR_H:
		return s->lcr_h;
	case PL011_CR:
		return s->cr;
	case PL011_IFLS:
		return s->ifls;
	case PL011_IMSC:
		return s->imsc;
	case PL011_RIS:
		return pl011_ris(s);
	case PL011_MIS:
		return pl011_ris(s) & s->imsc;
	case PL011_DMACR:
		return s->dmacr;
	default:
		if (off >= PL011_ID)
			return pl011_id[(off - PL011_ID) / 4];
		return 0; /* ICR (write-only) and reserved offsets */
	}
}

/* Returns true if the low byte of v is to be sent to the console. */
static bool pl011_write_reg(struct pl011 *s, unsigned off, uint32_t v)
{
	switch (off) {
	case PL011_DR:
		s->ris |= INT_TX; /* the byte leaves at once */
		if (s->cr & CR_LBE) {
			pl011_loopback_rx(s, (uint8_t)v);
			return false;
		}
		return true;
	case PL011_RSR: /* ECR: any write clears the error bits */
		s->rsr = 0;
		return false;
	case PL011_ILPR:
		s->ilpr = (uint8_t)v;
		return false;
	case PL011_IBRD:
		s->ibrd = (uint16_t)v;
		return false;
	case PL011_FBRD:
		s->fbrd = v & 0x3f;
		return false;
	case PL011_LCR_H:
		s->lcr_h = (uint8_t)v;
		return false;
	case PL011_CR:
		/* Leaving loopback drops looped-back bytes not read. */
		if ((s->cr & CR_LBE) && !(v & CR_LBE)) {
			s->lb_head = 0;
			s->lb_count = 0;
		}
		s->cr = v & 0xff87; /* bits 6:3 are reserved */
		return false;
	case PL011_IFLS:
		s->ifls = v & 0x3f;
		return false;
	case PL011_IMSC:
		s->imsc = v & INT_MASK;
		return false;
	case PL011_ICR:
		s->ris &= (uint16_t)~v;
		return false;
	case PL011_DMACR:
		s->dmacr = v & 0x07;
		return false;
	default: /* FR, RIS, MIS, IDs: read-only; reserved offsets */
		return false;
	}
}

static enum bus_status pl011_io(void *opaque, uint64_t offset, uint8_t *data,
				unsigned size, bool is_write)
{
	struct pl011 *s = opaque;
	bool send = false;
	uint8_t out = 0;

	if (offset >= ABI_PL011_SIZE || (offset & 3) || size > 4)
		return BUS_UNHANDLED;
	pthread_mutex_lock(&s->lock);
	if (is_write) {
		uint32_t v = (uint32_t)bus_get(data, size);

		send = pl011_write_reg(s, (unsigned)offset, v);
		out = (uint8_t)v;
	} else {
		bus_put(data, size, pl011_read_reg(s, (unsigned)offset));
	}
	pl011_update_irq(s);
	pthread_mutex_unlock(&s->lock);

	if (send)
		uart_console_write(&s->uc, &out, 1);
	return BUS_OK;
}

/* Main thread, under lock: host input arrived, or was dropped. */
static void pl011_received(void *opaque, bool overrun)
{
	struct pl011 *s = opaque;

	if (overrun)
		pl011_overrun(s);
	pl011_update_irq(s);
}

static void pl011_reset_regs(struct pl011 *s)
{
	s->ibrd = 0;
	s->fbrd = 0;
	s->lcr_h = 0;
	s->cr = CR_RESET;
	s->ifls = IFLS_RESET;
	s->imsc = 0;
	s->ris = 0;
	s->dmacr = 0;
	s->ilpr = 0;
	s->rsr = 0;
	s->dr = 0;
	s->dr_oe = false;
	s->lb_head = 0;
	s->lb_count = 0;
}

static void pl011_free(struct pl011 *s)
{
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static int pl011_create(struct vm *vm, struct device *dev)
{
	const struct cfg_device *cfg = dev->cfg;
	uint64_t base = cfg_dev_num(cfg, "address");
	struct pl011 *s;
	int ret;

	if (base > UINT64_MAX - ABI_PL011_SIZE + 1)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->vm = vm;
	s->name = dev->name;
	s->irq = (unsigned)cfg_dev_num(cfg, "irq");
	s->rl = (struct log_ratelimit){ .burst = 10, .interval_ms = 1000 };
	pthread_mutex_init(&s->lock, NULL);
	pl011_reset_regs(s);

	ret = uart_console_open(&s->uc, cfg,
				&(struct uart_input){
					.vm = vm,
					.name = s->name,
					.lock = &s->lock,
					.rl = &s->rl,
					.received = pl011_received,
					.opaque = s,
				});
	if (ret) {
		pl011_free(s);
		return ret;
	}
	ret = dev_bus_register(vm, true, base, ABI_PL011_SIZE, pl011_io, s,
			       dev->name);
	if (ret) {
		uart_console_close(&s->uc);
		pl011_free(s);
		return ret;
	}
	dev->priv = s;
	return 0;
}

static void pl011_reset(struct device *dev)
{
	struct pl011 *s = dev->priv;

	pthread_mutex_lock(&s->lock);
	pl011_reset_regs(s);
	pl011_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static void pl011_destroy(struct device *dev)
{
	struct pl011 *s = dev->priv;

	if (!s)
		return;
	uart_console_close(&s->uc);
	pl011_free(s);
	dev->priv = NULL;
}

static unsigned pl011_resources(const struct cfg_device *cfg,
				struct dev_resource *res, unsigned max)
{
	return dev_region_irq_resources(cfg, DEV_RES_MMIO, "address",
					ABI_PL011_SIZE, res, max);
}

/* Listed in devices/registry.c. */

const struct device_type pl011_type = {
	.name = "pl011",
	.help = "ARM PL011 UART on MMIO (the arm64 console) with a console "
		"backend",
	.params = pl011_params,
	.check = console_cfg_check,
	.resources = pl011_resources,
	.create = pl011_create,
	.reset = pl011_reset,
	.destroy = pl011_destroy,
};
