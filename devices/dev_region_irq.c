/* SPDX-License-Identifier: MIT */
/* The region and interrupt line of a device: see dev_region_irq.h. */
#include <string.h>

#include "devices/dev_region_irq.h"
#include "vmm/config.h"
#include "vmm/vm.h"

int dev_bus_register(struct vm *vm, bool mmio, uint64_t base, uint64_t size,
		     bus_fn fn, void *opaque, const char *name)
{
	int ret;

	ret = bus_register(vm_bus(vm, mmio ? VM_BUS_MMIO : VM_BUS_PIO), base,
			   size, fn, opaque, name);
	if (ret)
		log_err("%s: cannot register %s 0x%llx-0x%llx: %s", name,
			mmio ? "MMIO" : "ports", (unsigned long long)base,
			(unsigned long long)(base + size - 1), strerror(-ret));
	return ret;
}

void dev_irq_set_level(struct vm *vm, const char *name, unsigned irq, int *cur,
		       int level, struct log_ratelimit *rl)
{
	int ret;

	if (level == *cur)
		return;
	*cur = level;
	ret = vm_set_irq(vm, irq, level);
	if (ret < 0)
		log_ratelimited(rl, LOG_WARN, "%s: cannot set irq %u: %s", name,
				irq, strerror(-ret));
}

unsigned dev_region_irq_resources(const struct cfg_device *cfg,
				  enum dev_res_kind kind, const char *key,
				  uint64_t size, struct dev_resource *res,
				  unsigned max)
{
	unsigned n = 0;

	if (n < max)
		res[n++] = (struct dev_resource){
			.kind = kind,
			.base = cfg_dev_num(cfg, key),
			.size = size,
			.key = key,
		};
	if (n < max)
		res[n++] = (struct dev_resource){
			.kind = DEV_RES_IRQ,
			.base = cfg_dev_num(cfg, "irq"),
			.size = 1,
			.key = "irq",
		};
	return n;
}
