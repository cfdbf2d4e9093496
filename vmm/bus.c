/* SPDX-License-Identifier: MIT */
/*
 * Sorted array of regions, binary search on lookup. Registration happens
 * once at VM creation, lookups on every PIO/MMIO exit, so the array (not a
 * tree) is the right trade: cache friendly, no allocation on the hot path.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/bus.h"
#include "vmm/log.h"
#include "vmm/util.h"

void bus_init(struct bus *b, const char *name)
{
	memset(b, 0, sizeof(*b));
	b->name = name;
}

void bus_free(struct bus *b)
{
	free(b->regions);
	b->regions = NULL;
	b->nr = b->cap = 0;
}

int bus_register(struct bus *b, uint64_t base, uint64_t size, bus_fn fn,
		 void *opaque, const char *owner)
{
	unsigned pos;

	if (b->sealed)
		return -EBUSY;
	if (!size || !fn || base + (size - 1) < base)
		return -EINVAL;
	/* First region that starts above base: insert before it. */
	for (pos = 0; pos < b->nr && b->regions[pos].base <= base; pos++)
		;
	for (unsigned i = (pos ? pos - 1 : 0); i < b->nr && i <= pos; i++) {
		const struct bus_region *r = &b->regions[i];

		if (ranges_overlap(base, size, r->base, r->size)) {
			log_err("%s: %s at 0x%llx-0x%llx overlaps %s at "
				"0x%llx-0x%llx",
				b->name, owner ? owner : "?",
				(unsigned long long)base,
				(unsigned long long)(base + size - 1),
				r->owner ? r->owner : "?",
				(unsigned long long)r->base,
				(unsigned long long)(r->base + r->size - 1));
			return -EEXIST;
		}
	}
	if (b->nr == b->cap) {
		unsigned cap = b->cap ? b->cap * 2 : 8;
		struct bus_region *n = realloc(b->regions, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		b->regions = n;
		b->cap = cap;
	}
	memmove(&b->regions[pos + 1], &b->regions[pos],
		(b->nr - pos) * sizeof(*b->regions));
	b->regions[pos] = (struct bus_region){
		.base = base,
		.size = size,
		.fn = fn,
		.opaque = opaque,
		.owner = owner,
	};
	b->nr++;
	return 0;
}

void bus_seal(struct bus *b)
{
	b->sealed = true;
}

const struct bus_region *bus_find(const struct bus *b, uint64_t addr,
				  unsigned size)
{
	unsigned lo = 0, hi = b->nr;

	if (!size)
		return NULL;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct bus_region *r = &b->regions[mid];

		if (addr < r->base) {
			hi = mid;
		} else if (addr - r->base >= r->size) {
			lo = mid + 1;
		} else {
			/* addr is inside r: the whole access must be too. */
			if (size - 1 > r->size - 1 - (addr - r->base))
				return NULL;
			return r;
		}
	}
	return NULL;
}

enum bus_status bus_access(const struct bus *b, uint64_t addr, uint8_t *data,
			   unsigned size, bool is_write)
{
	const struct bus_region *r;

	if (size != 1 && size != 2 && size != 4 && size != 8)
		return BUS_UNHANDLED;
	if (!is_write)
		memset(data, 0xff, size);
	r = bus_find(b, addr, size);
	if (!r)
		return BUS_UNHANDLED;
	return r->fn(r->opaque, addr - r->base, data, size, is_write);
}
