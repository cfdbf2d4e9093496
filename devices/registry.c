/* SPDX-License-Identifier: MIT */
/*
 * Every device type, in one place. The order is the order `vmm help devices` and
 * docs/devices.md list them in: the consoles first (the PC's, then the MMIO
 * UARTs of arm64 boards), the clocks, the other platform devices a PC has,
 * then test devices. It does not decide creation order
 * (that is the order of the [device] sections in guest.cfg).
 */
#include <string.h>

#include "devices/devices.h"
#include "virtio/virtio.h"

const struct device_type *const device_types[] = {
	&uart8250_type,
	&ns16550_type,
	&pl011_type,
	&cmos_rtc_type,
	&pl031_type,
	&acpi_pm_type,
	&pc_reset_type,
	&debug_exit_type,
	&virtio_net_type,
	&virtio_console_type,
	&virtio_rng_type,
	&ivshmem_type,
	NULL,
};

const struct device_type *device_type_find(const char *name)
{
	if (!name)
		return NULL;
	for (unsigned i = 0; device_types[i]; i++) {
		if (!strcmp(device_types[i]->name, name))
			return device_types[i];
	}
	return NULL;
}
