/* SPDX-License-Identifier: MIT */
/*
 * The region and interrupt line of a device model with one region (MMIO
 * or ports) and an `irq` key (devices/pl011.c, pl031.c, uart8250.c;
 * cmos_rtc.c registers its ports): registering the region, driving the
 * level-triggered line, and the resources() answer that claims both.
 */
#ifndef DEVICES_DEV_REGION_IRQ_H
#define DEVICES_DEV_REGION_IRQ_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/device.h"
#include "vmm/log.h"

struct vm;

/*
 * bus_register() the `size` bytes (mmio) or ports at base on the VM's bus,
 * handled by fn(opaque), under the device's name; a failure is logged. 0
 * or -errno.
 */
int dev_bus_register(struct vm *vm, bool mmio, uint64_t base, uint64_t size,
		     bus_fn fn, void *opaque, const char *name);

/*
 * Set the level of line `irq` of device `name`, when it differs from *cur
 * (the level last set, 0 at creation), which it then records. A failure is
 * a warning, rate-limited by rl.
 */
void dev_irq_set_level(struct vm *vm, const char *name, unsigned irq, int *cur,
		       int level, struct log_ratelimit *rl);

/*
 * The resources() answer of a device with one region and a line: `size`
 * bytes (kind DEV_RES_MMIO) or ports (DEV_RES_PIO) at the value of key,
 * then the line of the "irq" key.
 */
unsigned dev_region_irq_resources(const struct cfg_device *cfg,
				  enum dev_res_kind kind, const char *key,
				  uint64_t size, struct dev_resource *res,
				  unsigned max);

#endif
