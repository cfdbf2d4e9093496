/* SPDX-License-Identifier: MIT */
/*
 * 8250/16550A UART on port I/O (a PC COM port) or MMIO.
 *
 * Types: `uart8250` sits on `port` (default COM1) or, with `address`, on
 * MMIO; `ns16550` is the same model with `address` required and no `port`
 * (the MMIO UART arm64 boards and device trees describe). `reg-shift` n
 * spaces the registers 1 << n bytes apart (0, 1 or 2; the device tree's
 * reg-shift): with n > 0 register r is at offset r << n and is accessed as
 * one byte or one (1 << n)-byte word whose low byte is the register (upper
 * bytes read 0, writes ignore them); other widths or unaligned offsets are
 * unhandled (the VM's unhandled-I/O policy applies), as are accesses past
 * the last register. With n = 0 a wider access is split into byte accesses
 * to consecutive registers, as the ISA bus does.
 *
 * Register model (register numbers; offsets from the base are r << n):
 *   0  RBR (read) / THR (write); DLL when LCR.DLAB
 *   1  IER; DLM when LCR.DLAB
 *   2  IIR (read) / FCR (write)
 *   3  LCR   4 MCR   5 LSR   6 MSR   7 SCR
 *
 * Transmit: a THR write goes straight to the console, so THRE and TEMT are
 * always set. Per 8250 semantics a THRE interrupt is pending after each THR
 * write (and when IER.ETBEI is switched on); reading IIR while THRE is the
 * reported source, or writing THR, clears it.
 *
 * Receive: the guest sees a 16-byte FIFO (1 byte with FIFOs disabled).
 * Host input is read on the main thread into a host-side backlog
 * (devices/uart_console.h, shared with the PL011); the receive FIFO the
 * guest sees is the first 16 (or 1) bytes of it. Why a backlog instead of
 * leaving unread bytes in the fd: the event loop is level-triggered and
 * the watch cannot be re-armed from a vCPU thread
 * (vmm/vm.h), so bytes left in the fd would make the main thread spin until
 * the guest reads. The backlog (4 KiB, like a terminal's input buffer) gives
 * flow control for pastes and scripted input; only when it is full are
 * further bytes dropped and LSR.OE set, as a real UART overruns.
 * FIFO resets (FCR) do not discard host input: to the guest it looks as if
 * the bytes arrived just after the reset, and input typed or scripted
 * before the guest initialised its UART is not lost. A regular input file
 * (also stdin redirected from a file, or /dev/null) cannot be watched by
 * epoll, so it is read at creation (up to UART_FILE_INPUT_MAX bytes) and
 * replayed through the same backlog.
 *
 * Interrupts: IIR reports the highest-priority source: line status (OE) >
 * received data / character timeout > THR empty > modem status. With FIFOs
 * on and fewer bytes than the trigger level, received data is reported as a
 * character timeout at once: there is no timer here, so the timeout is
 * treated as already elapsed. The IRQ line is (an interrupt pending &&
 * MCR.OUT2 && !MCR.LOOP): on a PC the OUT2 pin gates the UART's interrupt
 * onto the ISA bus, and loopback mode forces that pin inactive.
 *
 * Loopback (MCR.LOOP): THR bytes go to the receive FIFO instead of the
 * console; MSR reports CTS=RTS, DSR=DTR, RI=OUT1, DCD=OUT2; host input
 * waits in the backlog until loopback ends.
 *
 * Locking: bus accesses come from vCPU threads, input from the main thread.
 * `lock` protects the registers, FIFO and backlog; console output is
 * written after dropping it (under the console's `tx_lock`, which only
 * serialises output: devices/uart_console.h), so a blocked stdout never
 * blocks the main thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/abi/x86_pc.h"
#include "vmm/config.h"
#include "vmm/console.h"
#include "devices/dev_region_irq.h"
#include "devices/devices.h"
#include "devices/uart_console.h"
#include "vmm/device.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#define XSTR(x) STR(x)
#define STR(x)	#x

/* Register offsets */
#define UART_RBR     0 /* read, DLAB = 0 */
#define UART_THR     0 /* write, DLAB = 0 */
#define UART_DLL     0 /* DLAB = 1 */
#define UART_IER     1 /* DLAB = 0 */
#define UART_DLM     1 /* DLAB = 1 */
#define UART_IIR     2 /* read */
#define UART_FCR     2 /* write */
#define UART_LCR     3
#define UART_MCR     4
#define UART_LSR     5
#define UART_MSR     6
#define UART_SCR     7
#define UART_NR_REGS 8

#define IER_ERBFI 0x01 /* received data available */
#define IER_ETBEI 0x02 /* THR empty */
#define IER_ELSI  0x04 /* receiver line status */
#define IER_EDSSI 0x08 /* modem status */
#define IER_MASK  0x0f

#define IIR_NO_INT 0x01
#define IIR_MSI	   0x00
#define IIR_THRI   0x02
#define IIR_RDI	   0x04
#define IIR_RLSI   0x06
#define IIR_CTI	   0x0c
#define IIR_ID	   0x0f
#define IIR_FIFO   0xc0

#define FCR_ENABLE   0x01
#define FCR_CLEAR_RX 0x02
#define FCR_CLEAR_TX 0x04
#define FCR_STORED   0xc9 /* enable, DMA mode, trigger level */

#define LCR_DLAB 0x80

#define MCR_DTR	 0x01
#define MCR_RTS	 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR	     0x01
#define LSR_OE	     0x02
#define LSR_PE	     0x04
#define LSR_FE	     0x08
#define LSR_BI	     0x10
#define LSR_THRE     0x20
#define LSR_TEMT     0x40
#define LSR_ERR_MASK (LSR_OE | LSR_PE | LSR_FE | LSR_BI)

#define MSR_DCTS       0x01
#define MSR_DDSR       0x02
#define MSR_TERI       0x04
#define MSR_DDCD       0x08
#define MSR_CTS	       0x10
#define MSR_DSR	       0x20
#define MSR_RI	       0x40
#define MSR_DCD	       0x80
#define MSR_DELTA_MASK 0x0f

#define UART_FIFO_SIZE 16

#define UART_MAX_SHIFT 2
/* The highest MMIO base at reg-shift 0; check() applies the shift. */
#define UART_MAX_ADDRESS (UINT64_MAX - UART_NR_REGS + 1)

#define UART_ADDRESS_PARAM(req)                                               \
	{                                                                     \
		.key = "address", .kind = PARAM_U64, .required = (req),       \
		.min = 0, .max = UART_MAX_ADDRESS,                            \
		.help = "MMIO base (8 registers, 1 << reg-shift bytes apart)" \
	}
#define UART_REG_SHIFT_PARAM                                                 \
	{                                                                    \
		.key = "reg-shift", .kind = PARAM_U64, .def = "0", .min = 0, \
		.max = UART_MAX_SHIFT,                                       \
		.help = "registers are 1 << reg-shift bytes apart (0, 1, 2)" \
	}

static const struct dev_param uart_params[] = {
	{ .key = "port",
	  .kind = PARAM_U64,
	  .def = XSTR(ABI_COM1_PORT),
	  .min = 0,
	  .max = 0x10000 - UART_NR_REGS,
	  .help = "I/O port base (8 ports)",
	  .unused_with = "address" },
	{ .key = "irq",
	  .kind = PARAM_U64,
	  .def = XSTR(ABI_COM1_IRQ),
	  .min = 0,
	  .max = 255,
	  .help = "interrupt line (GSI; SPI number on arm64)" },
	UART_ADDRESS_PARAM(false),
	UART_REG_SHIFT_PARAM,
	CONSOLE_DEV_PARAMS,
	{ .key = NULL },
};

static const struct dev_param ns16550_params[] = {
	UART_ADDRESS_PARAM(true),
	{ .key = "irq",
	  .kind = PARAM_U64,
	  .required = true,
	  .min = 0,
	  .max = 255,
	  .help = "interrupt line (SPI number on arm64, GSI on x86)" },
	UART_REG_SHIFT_PARAM,
	CONSOLE_DEV_PARAMS,
	{ .key = NULL },
};

struct uart {
	pthread_mutex_t lock;
	struct vm *vm;
	const char *name;
	unsigned irq;
	unsigned shift; /* reg-shift */
	/* console and host input; the backlog's first uart_fifo_cap()
	 * bytes are the visible FIFO */
	struct uart_console uc;

	/* registers; LSR keeps only its error bits, the rest is derived */
	uint8_t ier, lcr, mcr, lsr, msr_delta, scr, dll, dlm, fcr;
	uint8_t rbr; /* last byte read: an empty RBR reads it again */
	bool thre_pending;
	int irq_level;

	/* bytes looped back (MCR.LOOP), received before host input */
	uint8_t lb[UART_FIFO_SIZE];
	unsigned lb_head, lb_count;

	struct log_ratelimit rl;
};

static const uint8_t uart_trigger_levels[4] = { 1, 4, 8, 14 };

static unsigned uart_fifo_cap(const struct uart *s)
{
	return (s->fcr & FCR_ENABLE) ? UART_FIFO_SIZE : 1;
}

static void uart_lb_clear(struct uart *s)
{
	s->lb_head = 0;
	s->lb_count = 0;
}

/* Bytes in the receive FIFO (RBR) as the guest sees them. */
static unsigned uart_rx_count(const struct uart *s)
{
	unsigned cap = uart_fifo_cap(s), n = s->lb_count;

	if (!(s->mcr & MCR_LOOP) && n < cap)
		n += (unsigned)MIN((size_t)(cap - n), s->uc.in.count);
	return n;
}

/* A byte arriving at the receiver in loopback mode. */
static void uart_loopback_rx(struct uart *s, uint8_t b)
{
	if (s->lb_count < uart_fifo_cap(s)) {
		s->lb[(s->lb_head + s->lb_count) % UART_FIFO_SIZE] = b;
		s->lb_count++;
		return;
	}
	s->lsr |= LSR_OE;
	/* 8250 mode: the new byte overwrites RBR; FIFO mode: it is lost. */
	if (!(s->fcr & FCR_ENABLE))
		s->lb[s->lb_head] = b;
}

static uint8_t uart_rx_pop(struct uart *s)
{
	if (s->lb_count) {
		s->rbr = s->lb[s->lb_head];
		s->lb_head = (s->lb_head + 1) % UART_FIFO_SIZE;
		s->lb_count--;
	} else if (!(s->mcr & MCR_LOOP) && s->uc.in.count) {
		s->rbr = uart_input_pop(&s->uc.in);
	}
	return s->rbr;
}

static uint8_t uart_iir(const struct uart *s)
{
	uint8_t fifo = (s->fcr & FCR_ENABLE) ? IIR_FIFO : 0;
	unsigned rx = uart_rx_count(s);

	if ((s->ier & IER_ELSI) && (s->lsr & LSR_ERR_MASK))
		return fifo | IIR_RLSI;
	if ((s->ier & IER_ERBFI) && rx) {
		if (fifo && rx < uart_trigger_levels[(s->fcr >> 6) & 3])
			return fifo | IIR_CTI;
		return fifo | IIR_RDI;
	}
	if ((s->ier & IER_ETBEI) && s->thre_pending)
		return fifo | IIR_THRI;
	if ((s->ier & IER_EDSSI) && (s->msr_delta & MSR_DELTA_MASK))
		return fifo | IIR_MSI;
	return fifo | IIR_NO_INT;
}

static void uart_update_irq(struct uart *s)
{
	int level = !(uart_iir(s) & IIR_NO_INT) && (s->mcr & MCR_OUT2) &&
		    !(s->mcr & MCR_LOOP);

	dev_irq_set_level(s->vm, s->name, s->irq, &s->irq_level, level, &s->rl);
}

/* The modem status inputs (MSR bits 4-7) as the guest sees them. */
static uint8_t uart_msr_lines(const struct uart *s)
{
	uint8_t m = 0;

	if (!(s->mcr & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS; /* a connected terminal */
	if (s->mcr & MCR_RTS)
		m |= MSR_CTS;
	if (s->mcr & MCR_DTR)
		m |= MSR_DSR;
	if (s->mcr & MCR_OUT1)
		m |= MSR_RI;
	if (s->mcr & MCR_OUT2)
		m |= MSR_DCD;
	return m;
}

static void uart_write_mcr(struct uart *s, uint8_t v)
{
	uint8_t before = uart_msr_lines(s), after, changed;

	s->mcr = v & MCR_MASK;
	after = uart_msr_lines(s);
	changed = before ^ after;
	if (changed & MSR_CTS)
		s->msr_delta |= MSR_DCTS;
	if (changed & MSR_DSR)
		s->msr_delta |= MSR_DDSR;
	if ((before & MSR_RI) && !(after & MSR_RI))
		s->msr_delta |= MSR_TERI;
	if (changed & MSR_DCD)
		s->msr_delta |= MSR_DDCD;
}

static void uart_write_fcr(struct uart *s, uint8_t v)
{
	/* Changing the enable bit resets both FIFOs (16550A). Resets drop
	 * looped-back bytes only; host input is kept (see the top). */
	if ((v ^ s->fcr) & FCR_ENABLE)
		uart_lb_clear(s);
	if (!(v & FCR_ENABLE)) {
		s->fcr = 0;
	} else {
		if (v & FCR_CLEAR_RX)
			uart_lb_clear(s);
		/* FCR_CLEAR_TX: the transmitter is always empty. */
		s->fcr = v & FCR_STORED;
	}
}

static uint8_t uart_read_reg(struct uart *s, unsigned reg)
{
	uint8_t v;

	switch (reg) {
	case UART_RBR:
		if (s->lcr & LCR_DLAB)
			return s->dll;
		return uart_rx_pop(s);
	case UART_IER:
		return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
	case UART_IIR:
		v = uart_iir(s);
		if ((v & IIR_ID) == IIR_THRI)
			s->thre_pending = false;
		return v;
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		v = s->lsr | LSR_THRE | LSR_TEMT;
		if (uart_rx_count(s))
			v |= LSR_DR;
		s->lsr &= (uint8_t)~LSR_ERR_MASK;
		return v;
	case UART_MSR:
		v = uart_msr_lines(s) | s->msr_delta;
		s->msr_delta = 0;
		return v;
	case UART_SCR:
		return s->scr;
	default:
		return 0xff;
	}
}

/* Returns true if v is to be sent to the console. */
static bool uart_write_reg(struct uart *s, unsigned reg, uint8_t v)
{
	uint8_t old;

	switch (reg) {
	case UART_THR:
		if (s->lcr & LCR_DLAB) {
			s->dll = v;
			return false;
		}
		/* The byte leaves at once: THR is empty again. */
		s->thre_pending = true;
		if (s->mcr & MCR_LOOP) {
			uart_loopback_rx(s, v);
			return false;
		}
		return true;
	case UART_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			return false;
		}
		old = s->ier;
		s->ier = v & IER_MASK;
		/* Enabling ETBEI with THR empty raises THRE at once. */
		if ((old ^ s->ier) & IER_ETBEI)
			s->thre_pending = s->ier & IER_ETBEI;
		return false;
	case UART_FCR:
		uart_write_fcr(s, v);
		return false;
	case UART_LCR:
		s->lcr = v;
		return false;
	case UART_MCR:
		uart_write_mcr(s, v);
		return false;
	case UART_SCR:
		s->scr = v;
		return false;
	default: /* LSR, MSR: read-only (factory test on real parts) */
		return false;
	}
}

static enum bus_status uart_io(void *opaque, uint64_t offset, uint8_t *data,
			       unsigned size, bool is_write)
{
	struct uart *s = opaque;
	uint8_t out[8];
	unsigned nout = 0, first = (unsigned)offset, count = size;

	if (s->shift) {
		/* One register per access: its byte, or a word of 1 << shift
		 * bytes at its (aligned) offset. */
		uint64_t stride = 1ull << s->shift;

		if (offset >= (uint64_t)UART_NR_REGS << s->shift ||
		    (offset & (stride - 1)) || (size != 1 && size != stride))
			return BUS_UNHANDLED;
		first = (unsigned)(offset >> s->shift);
		count = 1;
		if (!is_write)
			memset(data, 0, size);
	} else if (offset >= UART_NR_REGS || size > UART_NR_REGS - offset) {
		return BUS_UNHANDLED;
	}
	/* Registers are bytes: a wider access at reg-shift 0 is split into
	 * byte accesses to consecutive registers, as the ISA bus does. */
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < count; i++) {
		unsigned reg = first + i;

		if (!is_write)
			data[i] = uart_read_reg(s, reg);
		else if (uart_write_reg(s, reg, data[i]))
			out[nout++] = data[i];
	}
	uart_update_irq(s);
	pthread_mutex_unlock(&s->lock);

	if (nout)
		uart_console_write(&s->uc, out, nout);
	return BUS_OK;
}

/* Main thread, under lock: host input arrived, or was dropped. */
static void uart_received(void *opaque, bool overrun)
{
	struct uart *s = opaque;

	if (overrun)
		s->lsr |= LSR_OE;
	uart_update_irq(s);
}

static void uart_reset_regs(struct uart *s)
{
	s->ier = 0;
	s->lcr = 0;
	s->mcr = 0;
	s->lsr = 0;
	s->msr_delta = 0;
	s->scr = 0;
	s->dll = 0x01; /* 115200 baud, as firmware usually leaves it */
	s->dlm = 0;
	s->fcr = 0;
	s->rbr = 0;
	s->thre_pending = false;
	uart_lb_clear(s);
}

/* The UART is on MMIO: ns16550 always, uart8250 when `address` is set. */
static bool uart_cfg_mmio(const struct cfg_device *cfg)
{
	return cfg->type != &uart8250_type || cfg_dev_isset(cfg, "address");
}

static uint64_t uart_cfg_base(const struct cfg_device *cfg)
{
	return cfg_dev_num(cfg, uart_cfg_mmio(cfg) ? "address" : "port");
}

static uint64_t uart_cfg_size(const struct cfg_device *cfg)
{
	return (uint64_t)UART_NR_REGS << cfg_dev_num(cfg, "reg-shift");
}

static int uart_create(struct vm *vm, struct device *dev)
{
	const struct cfg_device *cfg = dev->cfg;
	bool mmio = uart_cfg_mmio(cfg);
	uint64_t base = uart_cfg_base(cfg);
	uint64_t shift = cfg_dev_num(cfg, "reg-shift");
	uint64_t size;
	struct uart *s;
	int ret;

	if (shift > UART_MAX_SHIFT)
		return -EINVAL;
	size = (uint64_t)UART_NR_REGS << shift;
	if (mmio ? base > UINT64_MAX - size + 1 : base > 0x10000 - size)
		return -EINVAL;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->vm = vm;
	s->name = dev->name;
	s->irq = (unsigned)cfg_dev_num(cfg, "irq");
	s->shift = (unsigned)shift;
	s->rl = (struct log_ratelimit){ .burst = 10, .interval_ms = 1000 };
	pthread_mutex_init(&s->lock, NULL);
	uart_reset_regs(s);

	ret = uart_console_open(&s->uc, cfg,
				&(struct uart_input){
					.vm = vm,
					.name = s->name,
					.lock = &s->lock,
					.rl = &s->rl,
					.received = uart_received,
					.opaque = s,
				});
	if (ret)
		goto err_free;
	ret = dev_bus_register(vm, mmio, base, size, uart_io, s, dev->name);
	if (ret)
		goto err_console;
	dev->priv = s;
	return 0;

err_console:
	uart_console_close(&s->uc);
err_free:
	pthread_mutex_destroy(&s->lock);
	free(s);
	return ret;
}

static void uart_reset(struct device *dev)
{
	struct uart *s = dev->priv;

	pthread_mutex_lock(&s->lock);
	uart_reset_regs(s);
	uart_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static void uart_destroy(struct device *dev)
{
	struct uart *s = dev->priv;

	if (!s)
		return;
	uart_console_close(&s->uc);
	pthread_mutex_destroy(&s->lock);
	free(s);
	dev->priv = NULL;
}

static unsigned uart_resources(const struct cfg_device *cfg,
			       struct dev_resource *res, unsigned max)
{
	bool mmio = uart_cfg_mmio(cfg);

	return dev_region_irq_resources(cfg, mmio ? DEV_RES_MMIO : DEV_RES_PIO,
					mmio ? "address" : "port",
					uart_cfg_size(cfg), res, max);
}

static int uart_check(const struct cfg_device *cfg, struct cfg_error *err)
{
	uint64_t size = uart_cfg_size(cfg), base;

	if (cfg->type == &uart8250_type && cfg_dev_isset(cfg, "address") &&
	    cfg_dev_isset(cfg, "port")) {
		cfg_dev_error(err, cfg, "address",
			      "not with port: the UART is on port I/O (port) "
			      "or MMIO (address), not both");
		return -EINVAL;
	}
	base = uart_cfg_base(cfg);
	if (uart_cfg_mmio(cfg) && base > UINT64_MAX - size + 1) {
		cfg_dev_error(
			err, cfg, "address",
			"0x%llx: 8 registers at reg-shift %llu end "
			"beyond the last address",
			(unsigned long long)base,
			(unsigned long long)cfg_dev_num(cfg, "reg-shift"));
		return -EINVAL;
	}
	if (!uart_cfg_mmio(cfg) && base > 0x10000 - size) {
		cfg_dev_error(
			err, cfg, "port",
			"0x%llx: 8 registers at reg-shift %llu end "
			"beyond the last port 0xffff",
			(unsigned long long)base,
			(unsigned long long)cfg_dev_num(cfg, "reg-shift"));
		return -EINVAL;
	}
	return console_cfg_check(cfg, err);
}

/* Listed in devices/registry.c. */

const struct device_type uart8250_type = {
	.name = "uart8250",
	.help = "8250/16550A UART (PC COM port; MMIO with address) with a "
		"console backend",
	.params = uart_params,
	.check = uart_check,
	.resources = uart_resources,
	.create = uart_create,
	.reset = uart_reset,
	.destroy = uart_destroy,
};

const struct device_type ns16550_type = {
	.name = "ns16550",
	.help = "16550A UART on MMIO (as on arm64 boards) with a console "
		"backend",
	.params = ns16550_params,
	.check = uart_check,
	.resources = uart_resources,
	.create = uart_create,
	.reset = uart_reset,
	.destroy = uart_destroy,
};
