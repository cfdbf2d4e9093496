/* SPDX-License-Identifier: MIT */
/*
 * The 8250/16550A UART model (devices/uart8250.c) on the fake VM of the
 * unit tests. The input is a setup byte, then a program of operations:
 *
 *   setup     bit 0: console = none (else output to /dev/null and input
 *             from a FIFO); bit 1: irq 70, beyond the fake VM's lines (else
 *             4); bit 2: port 0xfff8, the top of the port space (else
 *             0x3f8); bit 3 (with bit 0 clear): input from a regular file
 *             instead, replayed from creation: 100 bytes, or 5000 (more
 *             than the usual 4 KiB backlog) with bit 4
 *   op byte   bits 6-7 kind, then:
 *     0 read    port = base - 4 + (bits 0-3), size = 1 << (bits 4-5)
 *     1 write   same, followed by `size` value bytes
 *     2 input   (bits 0-5) + 1 bytes follow: written to the FIFO, then the
 *               event loop's callback runs (fake_vm_fire)
 *     3 other   bits 0-1: 0 device reset, 1 close the FIFO's write end
 *               (EOF), 2 run the callback with nothing written, 3 a
 *               512-byte burst of input (fills the backlog)
 *
 * At most FUZZ_MAX_OPS operations run. After each one the interrupt line
 * must agree with MCR (OUT2 gates it, loopback forces it low), and the
 * line the device raised must be its own.
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
	uint64_t base;
	unsigned irq;
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
	uint8_t mcr;

	for (unsigned i = 0; i < FAKE_VM_IRQS; i++)
		FUZZ_CHECK(i == u->irq || !u->vm->irq_level[i],
			   "irq %u raised, the UART has irq %u", i, u->irq);
	if (u->irq >= FAKE_VM_IRQS || !u->vm->irq_level[u->irq])
		return;
	mcr = (uint8_t)fake_vm_pio_read(u->vm, u->base + MCR, 1);
	FUZZ_CHECK((mcr & MCR_OUT2) && !(mcr & MCR_LOOP),
		   "irq raised with MCR %#x", mcr);
}

static void run_op(struct uart_run *u, struct fuzz_in *in)
{
	uint8_t op = fuzz_u8(in), buf[512], val[8];
	unsigned size = 1u << ((op >> 4) & 3);
	uint64_t port = u->base - 4 + (op & 0x0f);
	size_t n;

	switch (op >> 6) {
	case 0:
		bus_access(&u->vm->pio, port, val, size, false);
		break;
	case 1:
		for (unsigned i = 0; i < size; i++)
			val[i] = fuzz_u8(in);
		bus_access(&u->vm->pio, port, val, size, true);
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
	char port[32], irq[32], input[320];
	int err;

	u.base = (setup & 4) ? 0xfff8 : 0x3f8;
	u.irq = (setup & 2) ? 70 : 4;
	snprintf(port, sizeof(port), "port=%llu", (unsigned long long)u.base);
	snprintf(irq, sizeof(irq), "irq=%u", u.irq);
	snprintf(input, sizeof(input), "input=%s",
		 !(setup & 8)	? fifo
		 : (setup & 16) ? big
				: small);

	u.vm = fake_vm_new();
	if (setup & 1)
		u.cfg = dev_cfg_new(&uart8250_type, "com1", port, irq,
				    "console=none", NULL);
	else
		u.cfg = dev_cfg_new(&uart8250_type, "com1", port, irq,
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
