/* SPDX-License-Identifier: MIT */
/*
 * The two ways a PC guest asks for a reset, as one device:
 *
 *   port 0xcf9  Reset Control Register (Intel PCH/ICH): a write with
 *               RST_CPU (bit 2) set resets the machine. This is the
 *               RESET_REG the VMM's FADT advertises, the ACPI way Linux
 *               reboots. Reads return the last value written without bit 2.
 *   port 0x64   i8042 keyboard-controller command port (optional, `kbc`):
 *               command 0xfe ("pulse output line 0", wired to the CPU's
 *               reset on a PC) resets; how legacy RTOSes and DOS reboot.
 *               Status reads return 0 (both buffers empty) so a guest that
 *               waits for the input buffer before the command goes on; no
 *               keyboard is emulated. The FADT says there is no 8042, so
 *               Linux does not probe it.
 *
 * With a PCI host bridge (any PCI device configured) 0xcf9 lies inside the
 * bridge's type-1 port block 0xcf8-0xcff: the bridge owns the block and
 * hands byte accesses at 0xcf9 to this device (pci_host_claim_port()), as an
 * Intel chipset decodes them. Without one, 0xcf9 is registered here alone.
 *
 * A reset stops the VM with VM_STOP_REBOOT; [vm] on-reboot (or
 * --on-reboot) decides whether vmm exits (status 8) or boots the guest
 * again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/abi/x86_pc.h"
#include "devices/devices.h"
#include "devices/pci.h"
#include "vmm/device.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define RST_CNT_PORT	ABI_PC_RESET_PORT
#define RST_CNT_RST_CPU (1u << 2)
#define KBC_CMD_PORT	0x64
#define KBC_CMD_RESET	0xfe

static const struct dev_param pc_reset_params[] = {
	{ .key = "kbc",
	  .kind = PARAM_BOOL,
	  .def = "yes",
	  .help = "also decode the i8042 reset command (0xfe to port 0x64)" },
	{ .key = NULL },
};

struct pc_reset {
	struct vm *vm;
	const char *name;
	uint8_t rst_cnt;
};

static void pc_reset_fire(struct pc_reset *r, const char *how)
{
	log_info("%s: guest reset through %s", r->name, how);
	vm_request_stop(r->vm, VM_STOP_REBOOT, 0);
}

static enum bus_status rst_cnt_io(void *opaque, uint64_t offset, uint8_t *data,
				  unsigned size, bool is_write)
{
	struct pc_reset *r = opaque;

	if (size != 1)
		return BUS_UNHANDLED;
	if (!is_write) {
		data[0] = r->rst_cnt;
		return BUS_OK;
	}
	r->rst_cnt = data[0] & (uint8_t)~RST_CNT_RST_CPU;
	if (data[0] & RST_CNT_RST_CPU)
		pc_reset_fire(r, "the reset control register (0xcf9)");
	return BUS_OK;
}

static enum bus_status kbc_io(void *opaque, uint64_t offset, uint8_t *data,
			      unsigned size, bool is_write)
{
	struct pc_reset *r = opaque;

	if (size != 1)
		return BUS_UNHANDLED;
	if (!is_write) {
		data[0] = 0; /* status: output and input buffers empty */
		return BUS_OK;
	}
	if (data[0] == KBC_CMD_RESET)
		pc_reset_fire(r, "the keyboard controller (0x64 <- 0xfe)");
	return BUS_OK;
}

static unsigned pc_reset_resources(const struct cfg_device *cfg,
				   struct dev_resource *res, unsigned max)
{
	unsigned n = 0;

	if (n < max)
		res[n++] = (struct dev_resource){ .kind = DEV_RES_PIO,
						  .base = RST_CNT_PORT,
						  .size = 1,
						  .key = NULL };
	if (cfg_dev_num(cfg, "kbc") && n < max)
		res[n++] = (struct dev_resource){ .kind = DEV_RES_PIO,
						  .base = KBC_CMD_PORT,
						  .size = 1,
						  .key = "kbc" };
	return n;
}

static int pc_reset_create(struct vm *vm, struct device *dev)
{
	struct bus *pio = vm_bus(vm, VM_BUS_PIO);
	struct pc_reset *r;
	int ret;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->vm = vm;
	r->name = dev->name;
	/* The PCI host, if any, exists before every device (vmm/vm.c). */
	ret = pci_host_claim_port(vm, RST_CNT_PORT, 1, rst_cnt_io, r);
	if (ret == -ENODEV)
		ret = bus_register(pio, RST_CNT_PORT, 1, rst_cnt_io, r,
				   dev->name);
	if (!ret && cfg_dev_num(dev->cfg, "kbc"))
		ret = bus_register(pio, KBC_CMD_PORT, 1, kbc_io, r, dev->name);
	if (ret) {
		free(r);
		return ret;
	}
	dev->priv = r;
	return 0;
}

static void pc_reset_destroy(struct device *dev)
{
	free(dev->priv);
	dev->priv = NULL;
}

const struct device_type pc_reset_type = {
	.name = "pc-reset",
	.help = "PC reset: 0xcf9 reset control (ACPI RESET_REG) and the "
		"i8042 reset command",
	.params = pc_reset_params,
	.resources = pc_reset_resources,
	.create = pc_reset_create,
	.destroy = pc_reset_destroy,
};
