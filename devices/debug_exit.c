/* SPDX-License-Identifier: MIT */
/*
 * Debug-exit port, with QEMU's isa-debug-exit semantics: a write of value v
 * (1, 2 or 4 bytes wide, anywhere in the region) stops the VM and the VMM
 * exits with status (v << 1) | 1. The status is always odd, so it never
 * collides with the VMM's own (even) exit codes (vmm/exitcode.h). As with
 * QEMU, the process exit status the shell sees is that value modulo 256.
 *
 * QEMU's device has `iobase` (default 0x501) and `iosize` (the number of
 * ports it covers, default 2), and accepts 1- to 4-byte accesses. Here the
 * port defaults to 0xf4 (ABI_DEBUG_EXIT_PORT) and `size` to 4: the bus only
 * dispatches accesses that lie entirely inside one region, and the common
 * usage (`-device isa-debug-exit,iobase=0xf4,iosize=0x04` with a 32-bit
 * `out`) needs 4 ports. Reads return 0, as in QEMU.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/abi/x86_pc.h"
#include "vmm/config.h"
#include "devices/devices.h"
#include "vmm/device.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#define XSTR(x) STR(x)
#define STR(x)	#x

#define DEBUG_EXIT_MAX_SIZE 4

static const struct dev_param debug_exit_params[] = {
	{ .key = "port",
	  .kind = PARAM_U64,
	  .def = XSTR(ABI_DEBUG_EXIT_PORT),
	  .min = 0,
	  .max = 0xffff,
	  .help = "I/O port base" },
	{ .key = "size",
	  .kind = PARAM_U64,
	  .def = "4",
	  .min = 1,
	  .max = DEBUG_EXIT_MAX_SIZE,
	  .help = "number of ports covered (QEMU iosize), 1-4" },
	{ .key = NULL },
};

struct debug_exit {
	struct vm *vm;
	const char *name;
	struct log_ratelimit rl;
};

/* The exit code for a written value: (v << 1) | 1 of the 32-bit value,
 * kept non-negative as an int (the low 8 bits, which become the process
 * exit status, are unchanged). */
static int debug_exit_code(uint32_t v)
{
	uint32_t code = (v << 1) | 1u;

	return (int)(code & INT_MAX);
}

static enum bus_status debug_exit_io(void *opaque, uint64_t offset,
				     uint8_t *data, unsigned size,
				     bool is_write)
{
	struct debug_exit *d = opaque;
	uint32_t v;
	int code;

	if (size > DEBUG_EXIT_MAX_SIZE)
		return BUS_UNHANDLED;
	if (!is_write) {
		memset(data, 0, size);
		return BUS_OK;
	}
	v = (uint32_t)bus_get(data, size);
	code = debug_exit_code(v);
	log_ratelimited(&d->rl, LOG_INFO,
			"%s: guest wrote 0x%x (%u bytes): exit status %d",
			d->name, v, size, code);
	vm_request_stop(d->vm, VM_STOP_DEBUG_EXIT, code);
	return BUS_OK;
}

static int debug_exit_check(const struct cfg_device *cfg, struct cfg_error *err)
{
	uint64_t port = cfg_dev_num(cfg, "port");
	uint64_t size = cfg_dev_num(cfg, "size");

	if (port + size > 0x10000) {
		cfg_dev_error(
			err, cfg, "port",
			"0x%llx + size %llu goes past the last port 0xffff",
			(unsigned long long)port, (unsigned long long)size);
		return -EINVAL;
	}
	return 0;
}

static unsigned debug_exit_resources(const struct cfg_device *cfg,
				     struct dev_resource *res, unsigned max)
{
	return dev_port_resource(cfg, cfg_dev_num(cfg, "size"), res, max);
}

static int debug_exit_create(struct vm *vm, struct device *dev)
{
	uint64_t port = cfg_dev_num(dev->cfg, "port");
	uint64_t size = cfg_dev_num(dev->cfg, "size");
	struct debug_exit *d;
	int ret;

	if (size < 1 || size > DEBUG_EXIT_MAX_SIZE || port + size > 0x10000)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->vm = vm;
	d->name = dev->name;
	d->rl = (struct log_ratelimit){ .burst = 4, .interval_ms = 1000 };
	ret = bus_register(vm_bus(vm, VM_BUS_PIO), port, size, debug_exit_io, d,
			   dev->name);
	if (ret) {
		log_err("%s: cannot register port 0x%llx: %s", dev->name,
			(unsigned long long)port, strerror(-ret));
		free(d);
		return ret;
	}
	dev->priv = d;
	return 0;
}

static void debug_exit_destroy(struct device *dev)
{
	free(dev->priv);
	dev->priv = NULL;
}

/* Listed in devices/registry.c. */

const struct device_type debug_exit_type = {
	.name = "debug-exit",
	.help = "test device: a write of v exits the VMM with (v << 1) | 1",
	.params = debug_exit_params,
	.check = debug_exit_check,
	.resources = debug_exit_resources,
	.create = debug_exit_create,
	.destroy = debug_exit_destroy,
};
