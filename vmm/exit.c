/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>

#include "vmm/exit.h"

static int fault(const struct exit_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fault(const struct exit_ctx *c, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->fault(c->opaque, msg);
	return 1;
}

int exit_decode_pio(const struct exit_ctx *c)
{
	/*
	 * Snapshot the exit once: the run page is shared memory, and the data
	 * an IN writes must never be able to change the loop's own bounds,
	 * so every field is validated and then used only from these copies.
	 */
	const struct kvm_run *run = c->run;
	const bool is_write = run->io.direction == KVM_EXIT_IO_OUT;
	const unsigned size = run->io.size;
	const uint16_t port = run->io.port;
	const uint32_t count = run->io.count;
	const uint64_t offset = run->io.data_offset;
	const uint64_t bytes = (uint64_t)size * count;
	uint8_t *data;

	/* The data buffer lies after struct kvm_run (KVM puts it on the page
	 * after it) and inside the mapping. */
	if ((size != 1 && size != 2 && size != 4) || !count ||
	    offset < sizeof(struct kvm_run) || offset > c->run_size ||
	    bytes > c->run_size - offset)
		return fault(c,
			     "malformed PIO exit (port 0x%x size %u count %u "
			     "offset 0x%llx)",
			     port, size, count, (unsigned long long)offset);
	data = (uint8_t *)c->run + offset;
	for (uint32_t i = 0; i < count; i++, data += size) {
		enum bus_status st =
			bus_access(c->pio, port, data, size, is_write);

		if (st == BUS_OK)
			continue;
		if (st == BUS_FAULT)
			return fault(c, "illegal PIO %s at port 0x%x",
				     is_write ? "write" : "read", port);
		if (!c->unhandled(c->opaque, "PIO", port, size, is_write, data))
			return 1;
	}
	return 0;
}

int exit_decode_mmio(const struct exit_ctx *c)
{
	struct kvm_run *run = c->run;
	unsigned size = run->mmio.len;
	enum bus_status st;

	if (size != 1 && size != 2 && size != 4 && size != 8)
		return fault(c, "malformed MMIO exit (0x%llx size %u)",
			     (unsigned long long)run->mmio.phys_addr, size);
	st = bus_access(c->mmio, run->mmio.phys_addr, run->mmio.data, size,
			run->mmio.is_write);
	if (st == BUS_OK)
		return 0;
	if (st == BUS_FAULT)
		return fault(c, "illegal MMIO %s at 0x%llx",
			     run->mmio.is_write ? "write" : "read",
			     (unsigned long long)run->mmio.phys_addr);
	return c->unhandled(c->opaque, "MMIO", run->mmio.phys_addr, size,
			    run->mmio.is_write, run->mmio.data)
		       ? 0
		       : 1;
}
