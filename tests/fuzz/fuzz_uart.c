/* SPDX-License-Identifier: MIT */
/*
 * The UART models on the fake VM of the unit tests: the 8250/16550A
 * (devices/uart8250.c: uart8250 on ports or MMIO, ns16550) and the PL011
 * (devices/pl011.c). The input is a setup byte, then a program of
 * operations:
 *
 *   setup     bit 0: console = none (else output to /dev/null and input
 *             from a FIFO); bit 1: irq 70, beyond the fake VM's lines (else
 *             the model's default); bit 2: the region at the top of its
 *             address space (port 0x10000 - size, or 2^64 - size) (else
 *             0x3f8, MMIO 0x10000000, PL011 0x09000000); bit 3 (with bit 0
 *             clear): input from a regular file instead, replayed from
 *             creation: 100 bytes, or 5000 (more than the usual 4 KiB
 *             backlog) with bit 4; bits 5-6 the model: 0 uart8250 on
 *             ports, 1 uart8250 with `address` (MMIO), 2 ns16550 (MMIO,
 *             reg-shift 1), 3 pl011; bit 7: reg-shift 2 (models 0-2)
 *   op byte   bits 6-7 kind, then:
 *     0 read    model 0 at reg-shift 0: port = base - 4 + (bits 0-3);
 *               otherwise a 16-bit little-endian n follows and the address
 *               is base - 8 + n % (region size + 16);
 *               size = 1 << (bits 4-5)
 *     1 write   same, followed by `size` value bytes
 *     2 input   (bits 0-5) + 1 bytes follow: written to the FIFO, then the
 *               event loop's callback runs (fake_vm_fire)
 *     3 other   bits 0-1: 0 device reset, 1 close the FIFO's write end
 *               (EOF), 2 run the callback with nothing written, 3 a
 *               512-byte burst of input (fills the backlog)
 *
 * At most FUZZ_MAX_OPS operations run. After each one the line the device
 * raised must be its own, and it must agree with the registers: for the
 * 16550, MCR (OUT2 gates it, loopback forces it low); for the PL011,
 * MIS != 0 exactly when it is high.
 */
#include <sys/stat.h>

#include "dev_cfg.h"
#include "devices/devices.h"
#include "fake_vm.h"
#include "fuzz_util.h"

#define FUZZ_MAX_OPS 4096
#define MCR	     4
#define MCR_OUT2     0x08
#define MCR_LOOP     0x10
#define PL011_MIS    0x40

enum model { M_PORT, M_MMIO, M_NS16550, M_PL011 };

static const char *fifo, *small, *big;
static uint8_t text[5000];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_ERR);
	fifo = fuzz_path("in.fifo");
	if (mkfifo(fifo, 0600))
		abort();
	for (unsigned i = 0; i < sizeof(text); i++)
		text[i] = (uint8_t)(i % 64 == 63 ? '\n' : ' ' + i % 95);
	small = fuzz_write_file("in-small.txt", text, 100);
	big = fuzz_write_file("in-big.txt", text, sizeof(text));
	return 0;
}

struct uart_run {
	struct vm *vm;
	struct cfg_device *cfg;
	struct device *dev;
	int wr; /* the FIFO's write end, -1: none / closed */
	enum model model;
	struct bus *bus;
	uint64_t base, size;
	unsigned irq, shift;
};

static void host_input(struct uart_run *u, const uint8_t *buf, size_t len)
{
	if (u->wr >= 0 && len && write(u->wr, buf, len) < 0 && errno != EAGAIN)
		abort();
	if (u->vm->nr_watches)
		fake_vm_fire(u->vm, u->vm->watches[0].fd);
}

static void check_irq(struct uart_run *u)
{
	uint8_t data[4] = { 0xff, 0xff, 0xff, 0xff };
	uint64_t mis;
	uint8_t mcr;

	for (unsigned i = 0; i < FAKE_VM_IRQS; i++)
		FUZZ_CHECK(i == u->irq || !u->vm->irq_level[i],
			   "irq %u raised, the UART has irq %u", i, u->irq);
	if (u->irq >= FAKE_VM_IRQS)
		return;
	if (u->model == M_PL011) {
		FUZZ_CHECK(bus_access(u->bus, u->base + PL011_MIS, data, 4,
				      false) == BUS_OK,
			   "MIS not readable");
		mis = bus_get(data, 4);
		FUZZ_CHECK(!!mis == !!u->vm->irq_level[u->irq],
			   "irq level %d with MIS %#llx",
			   u->vm->irq_level[u->irq], (unsigned long long)mis);
		return;
	}
	if (!u->vm->irq_level[u->irq])
		return;
	FUZZ_CHECK(bus_access(u->bus, u->base + (MCR << u->shift), data, 1,
			      false) == BUS_OK,
		   "MCR not readable");
	mcr = data[0];
	FUZZ_CHECK((mcr & MCR_OUT2) && !(mcr & MCR_LOOP),
		   "irq raised with MCR %#x", mcr);
}

static void run_op(struct uart_run *u, struct fuzz_in *in)
{
	uint8_t op = fuzz_u8(in), buf[512], val[8];
	unsigned size = 1u << ((op >> 4) & 3);
	uint64_t addr = 0;
	size_t n;

	if (op >> 6 <= 1) {
		if (u->model == M_PORT && !u->shift)
			addr = u->base - 4 + (op & 0x0f);
		else
			addr = u->base - 8 + fuzz_le(in, 2) % (u->size + 16);
	}
	switch (op >> 6) {
	case 0:
		bus_access(u->bus, addr, val, size, false);
		break;
	case 1:
		for (unsigned i = 0; i < size; i++)
			val[i] = fuzz_u8(in);
		bus_access(u->bus, addr, val, size, true);
		break;
	case 2:
		n = fuzz_take(in, buf, (op & 0x3f) + 1u);
		host_input(u, buf, n);
		break;
	default:
		switch (op & 3) {
		case 0:
			u->dev->type->reset(u->dev);
			break;
		case 1:
			if (u->wr >= 0)
				close(u->wr);
			u->wr = -1;
			host_input(u, NULL, 0);
			break;
		case 2:
			host_input(u, NULL, 0);
			break;
		default:
			for (unsigned i = 0; i < sizeof(buf); i++)
				buf[i] = (uint8_t)('a' + i % 26);
			host_input(u, buf, sizeof(buf));
			break;
		}
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t setup = fuzz_u8(&in);
	struct uart_run u = { .wr = -1 };
	const struct device_type *type = &uart8250_type;
	char base[48], irq[32], shift[32], input[320];
	const char *base_key = "address", *shift_kv = shift;
	int err;

	u.model = (enum model)((setup >> 5) & 3);
	u.shift = (setup & 0x80) ? 2 : u.model == M_NS16550 ? 1 : 0;
	u.size = 8u << u.shift;
	u.irq = 4;
	u.base = 0x10000000;
	switch (u.model) {
	case M_PORT:
		base_key = "port";
		u.base = 0x3f8;
		break;
	case M_MMIO:
		break;
	case M_NS16550:
		type = &ns16550_type;
		break;
	case M_PL011:
		type = &pl011_type;
		u.shift = 0;
		u.size = 0x1000;
		u.irq = 1;
		u.base = 0x09000000;
		shift_kv = irq; /* no reg-shift: irq again, same value */
		break;
	}
	if (setup & 4)
		u.base = (u.model == M_PORT ? 0x10000 : 0) - u.size;
	if (setup & 2)
		u.irq = 70;
	snprintf(base, sizeof(base), "%s=%llu", base_key,
		 (unsigned long long)u.base);
	snprintf(irq, sizeof(irq), "irq=%u", u.irq);
	snprintf(shift, sizeof(shift), "reg-shift=%u", u.shift);
	snprintf(input, sizeof(input), "input=%s",
		 !(setup & 8)	? fifo
		 : (setup & 16) ? big
				: small);

	u.vm = fake_vm_new();
	u.bus = u.model == M_PORT ? &u.vm->pio : &u.vm->mmio;
	if (setup & 1)
		u.cfg = dev_cfg_new(type, "com1", base, irq, shift_kv,
				    "console=none", NULL);
	else
		u.cfg = dev_cfg_new(type, "com1", base, irq, shift_kv,
				    "console=file", "path=/dev/null", input,
				    NULL);
	u.dev = dev_create(u.vm, u.cfg, &err);
	FUZZ_CHECK(u.dev, "uart create failed: %d", err);
	if ((setup & 9) == 8)
		FUZZ_CHECK(u.vm->nr_watches == 0, "a regular file is watched");
	if (!(setup & 9)) {
		FUZZ_CHECK(u.vm->nr_watches == 1, "input not watched");
		u.wr = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (u.wr < 0)
			abort();
	}

	for (unsigned i = 0; i < FUZZ_MAX_OPS && in.n; i++) {
		run_op(&u, &in);
		check_irq(&u);
	}

	fuzz_log("uart: irq raises %u, stop requests %u\n",
		 u.irq < FAKE_VM_IRQS ? u.vm->irq_raises[u.irq] : 0,
		 u.vm->stop_requests);
	dev_destroy(u.dev);
	dev_cfg_free(u.cfg);
	fake_vm_free(u.vm);
	if (u.wr >= 0)
		close(u.wr);
	return 0;
}
