/* SPDX-License-Identifier: MIT */
/*
 * The e820-style memory map every x86 boot protocol reports. Built from the
 * guest's regions only, so the Multiboot map, an e820 table and `vmm check`
 * all agree by construction.
 *
 * Read-only regions (ROM/flash images) are reported reserved: the guest can
 * read them but must not allocate from them. Where RAM covers the legacy
 * EBDA/VGA/BIOS hole (0x9fc00-0x100000), that part is reported reserved too,
 * as PC firmware does; guests written for PCs never use it as RAM.
 */
#include "arch/x86/boot.h"
#include "vmm/util.h"

static unsigned add(struct x86_mmap_entry *e, unsigned n, uint64_t addr,
		    uint64_t len, uint32_t type)
{
	if (!len)
		return n;
	e[n].addr = addr;
	e[n].len = len;
	e[n].type = type;
	return n + 1;
}

unsigned x86_memmap(const struct guest_mem *mem, struct x86_mmap_entry *out,
		    unsigned max)
{
	/* Each region splits into at most 3 pieces around the hole. */
	struct x86_mmap_entry e[3 * MEM_MAX_REGIONS];
	unsigned n = 0, m = 0;

	for (unsigned i = 0; i < mem->nr && i < MEM_MAX_REGIONS; i++) {
		const struct mem_region *r = &mem->regions[i];
		uint32_t type = r->readonly ? X86_MMAP_RESERVED : X86_MMAP_RAM;
		uint64_t start = r->gpa, last = r->gpa + (r->size - 1);
		uint64_t hs, hl;

		if (!r->size)
			continue;
		if (last < X86_HOLE_START || start >= X86_HOLE_END) {
			n = add(e, n, start, r->size, type);
			continue;
		}
		/* Below the hole, inside it, above it. */
		hs = MAX(start, X86_HOLE_START);
		hl = MIN(last, X86_HOLE_END - 1);
		n = add(e, n, start, hs - start, type);
		n = add(e, n, hs, hl - hs + 1, X86_MMAP_RESERVED);
		if (last > hl)
			n = add(e, n, hl + 1, last - hl, type);
	}

	/* Insertion sort: at most 48 entries. */
	for (unsigned i = 1; i < n; i++) {
		struct x86_mmap_entry t = e[i];
		unsigned j = i;

		while (j > 0 && e[j - 1].addr > t.addr) {
			e[j] = e[j - 1];
			j--;
		}
		e[j] = t;
	}

	for (unsigned i = 0; i < n; i++) {
		/* Sorted and non-overlapping, so a sum that wraps (a region
		 * ending at 2^64) can never equal a later address. */
		if (m > 0 && out[m - 1].type == e[i].type &&
		    out[m - 1].addr + out[m - 1].len == e[i].addr) {
			out[m - 1].len += e[i].len;
			continue;
		}
		if (m >= max)
			break;
		out[m++] = e[i];
	}
	return m;
}

void x86_mb_meminfo(const struct guest_mem *mem, uint32_t *lower,
		    uint32_t *upper)
{
	struct x86_mmap_entry e[X86_MMAP_MAX];
	unsigned n = x86_memmap(mem, e, X86_MMAP_MAX);

	*lower = 0;
	*upper = 0;
	for (unsigned i = 0; i < n; i++) {
		if (e[i].type != X86_MMAP_RAM)
			continue;
		if (e[i].addr == 0)
			*lower = (uint32_t)(MIN(e[i].len, 640 * KiB) / KiB);
		if (e[i].addr <= X86_HOLE_END &&
		    e[i].len > X86_HOLE_END - e[i].addr) {
			uint64_t kib =
				(e[i].addr + e[i].len - X86_HOLE_END) / KiB;

			*upper = (uint32_t)MIN(kib, (uint64_t)UINT32_MAX);
		}
	}
}
