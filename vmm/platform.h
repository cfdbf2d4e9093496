/* SPDX-License-Identifier: MIT */
/*
 * The fixed regions of a platform's memory and port map, for the checks of
 * arch_check_config() and the listing of arch_print_layout(): each
 * architecture names its regions, the matching and the messages are here.
 */
#ifndef VMM_PLATFORM_H
#define VMM_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vmm/config.h"
#include "vmm/device.h"

struct platform_region {
	uint64_t base, size;
	const char *what;
	bool pio; /* ports rather than memory */
};

/* The first of regions[0..n) in the space pio names that [base, base +
 * size) overlaps; NULL if none. */
const struct platform_region *platform_region_hit(
	const struct platform_region *regions, unsigned n, bool pio,
	uint64_t base, uint64_t size);

/* Memory m against the memory regions of regions[0..n): 0, or the error
 * "... overlaps the WHAT at A-B" followed by note ("" for none) and
 * -EINVAL. */
int platform_check_mem(const struct cfg_memory *m,
		       const struct platform_region *regions, unsigned n,
		       const char *note, struct cfg_error *err);

/* Device d's port or MMIO resource rr against the regions of its space in
 * regions[0..n): 0, or the error "A-B overlaps the WHAT (A-B)" and
 * -EINVAL. */
int platform_check_res(const struct cfg_device *d,
		       const struct dev_resource *rr,
		       const struct platform_region *regions, unsigned n,
		       struct cfg_error *err);

/* check(cfg, d, rr, err) on every resource of every device, in order: the
 * first non-zero return, or 0. */
int platform_check_devices(const struct vm_config *cfg,
			   int (*check)(const struct vm_config *cfg,
					const struct cfg_device *d,
					const struct dev_resource *rr,
					struct cfg_error *err),
			   struct cfg_error *err);

/* regions[0..n), a line each: "  [port ]0x%08llx-0x%08llx  WHAT". */
void platform_print_regions(FILE *out, const struct platform_region *regions,
			    unsigned n);

#endif
