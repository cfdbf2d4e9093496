/* SPDX-License-Identifier: MIT */
/* The device types of devices/, listed in order by devices/registry.c. */
#ifndef DEVICES_DEVICES_H
#define DEVICES_DEVICES_H

#include "vmm/device.h"

extern const struct device_type uart8250_type;
extern const struct device_type ns16550_type;
extern const struct device_type pl011_type;
extern const struct device_type pl031_type;
extern const struct device_type cmos_rtc_type;
extern const struct device_type acpi_pm_type;
extern const struct device_type pc_reset_type;
extern const struct device_type debug_exit_type;
extern const struct device_type ivshmem_type;

#endif
