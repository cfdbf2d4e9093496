/* SPDX-License-Identifier: MIT */
/* Platform region checks shared by the architectures (vmm/platform.h). */
#include <errno.h>

#include "vmm/platform.h"
#include "vmm/util.h"

const struct platform_region *platform_region_hit(
	const struct platform_region *regions, unsigned n, bool pio,
	uint64_t base, uint64_t size)
{
	for (unsigned i = 0; i < n; i++)
		if (regions[i].pio == pio &&
		    ranges_overlap(base, size, regions[i].base,
				   regions[i].size))
			return &regions[i];
	return NULL;
}

int platform_check_mem(const struct cfg_memory *m,
		       const struct platform_region *regions, unsigned n,
		       const char *note, struct cfg_error *err)
{
	const struct platform_region *r;
	char sec[64];

	r = platform_region_hit(regions, n, false, m->base, m->size);
	if (!r)
		return 0;
	snprintf(sec, sizeof(sec), "memory \"%s\"", m->name);
	cfg_error_at(err, &m->loc, sec, NULL,
		     "0x%llx-0x%llx overlaps the %s at 0x%llx-0x%llx%s",
		     (unsigned long long)m->base,
		     (unsigned long long)(m->base + m->size - 1), r->what,
		     (unsigned long long)r->base,
		     (unsigned long long)(r->base + r->size - 1), note);
	return -EINVAL;
}

int platform_check_res(const struct cfg_device *d,
		       const struct dev_resource *rr,
		       const struct platform_region *regions, unsigned n,
		       struct cfg_error *err)
{
	const struct platform_region *r;

	if (rr->kind == DEV_RES_IRQ)
		return 0;
	r = platform_region_hit(regions, n, rr->kind == DEV_RES_PIO, rr->base,
				rr->size);
	if (!r)
		return 0;
	cfg_dev_error(err, d, rr->key,
		      "0x%llx-0x%llx overlaps the %s (0x%llx-0x%llx)",
		      (unsigned long long)rr->base,
		      (unsigned long long)(rr->base + rr->size - 1), r->what,
		      (unsigned long long)r->base,
		      (unsigned long long)(r->base + r->size - 1));
	return -EINVAL;
}

int platform_check_devices(const struct vm_config *cfg,
			   int (*check)(const struct vm_config *cfg,
					const struct cfg_device *d,
					const struct dev_resource *rr,
					struct cfg_error *err),
			   struct cfg_error *err)
{
	for (unsigned i = 0; i < cfg->nr_devices; i++) {
		const struct cfg_device *d = &cfg->devices[i];
		struct dev_resource res[DEV_MAX_RESOURCES];
		unsigned n = 0;
		int ret;

		if (d->type->resources)
			n = d->type->resources(d, res, DEV_MAX_RESOURCES);
		for (unsigned r = 0; r < MIN(n, DEV_MAX_RESOURCES); r++) {
			ret = check(cfg, d, &res[r], err);
			if (ret)
				return ret;
		}
	}
	return 0;
}

void platform_print_regions(FILE *out, const struct platform_region *regions,
			    unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		fprintf(out, "  %s0x%08llx-0x%08llx  %s\n",
			regions[i].pio ? "port " : "",
			(unsigned long long)regions[i].base,
			(unsigned long long)(regions[i].base + regions[i].size -
					     1),
			regions[i].what);
}
