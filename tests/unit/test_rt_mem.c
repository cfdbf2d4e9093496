/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM for real-time guests (vmm/mem.c): prefaulted regions are
 * resident before anyone touches them; hugepage regions come from a
 * MFD_HUGETLB memfd and fail cleanly when the pool is short.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "vmm/mem.h"
#include "vmm/util.h"

static struct guest_mem m;

static void teardown(void)
{
	mem_free(&m);
}

TestSuite(rt_mem, .fini = teardown);

/* Pages of [p, p + size) that are resident. */
static size_t resident(const void *p, size_t size)
{
	size_t pages = size / 4096, n = 0;
	unsigned char *vec = calloc(pages, 1);

	cr_assert(vec);
	cr_assert_eq(mincore((void *)p, size, vec), 0);
	for (size_t i = 0; i < pages; i++)
		n += vec[i] & 1;
	free(vec);
	return n;
}

Test(rt_mem, anonymous_prefault)
{
	const struct mem_opts o = { .prefault = true };

	cr_assert_eq(mem_add_region(&m, "lazy", 0, 4 * MiB, NULL, false), 0);
	cr_assert_eq(mem_add_region_opts(&m, "ram", 16 * MiB, 4 * MiB, NULL,
					 false, &o),
		     0);
	cr_assert_eq(m.nr, 2);
	cr_assert_eq(resident(m.regions[1].hva, 4 * MiB), 1024);
	cr_assert_lt(resident(m.regions[0].hva, 4 * MiB), 1024);
	/* still zeroed memory */
	for (size_t i = 0; i < 4 * MiB; i += 4096)
		cr_assert_eq(m.regions[1].hva[i], 0);
}

Test(rt_mem, file_prefault_readonly)
{
	char path[] = "/tmp/vmm-test-rt-mem-XXXXXX";
	const struct mem_opts o = { .prefault = true };
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 64 * 1024), 0);
	close(fd);
	cr_assert_eq(
		mem_add_region_opts(&m, "rom", 0, 64 * 1024, path, true, &o),
		0);
	cr_assert_eq(resident(m.regions[0].hva, 64 * 1024), 16);
	unlink(path);
}

Test(rt_mem, hugepage_rules)
{
	const struct mem_opts two = { .hugepage_size = 2 * MiB };
	const struct mem_opts odd = { .hugepage_size = 3 * MiB };
	const struct mem_opts def = { .hugepage_size = MEM_HUGEPAGE_DEFAULT };

	/* not with a file, not read-only, a power of two dividing size */
	cr_assert_eq(mem_add_region_opts(&m, "r", 0, 2 * MiB, "/dev/null",
					 false, &two),
		     -EINVAL);
	cr_assert_eq(mem_add_region_opts(&m, "r", 0, 2 * MiB, NULL, true, &two),
		     -EINVAL);
	cr_assert_eq(
		mem_add_region_opts(&m, "r", 0, 3 * MiB, NULL, false, &two),
		-EINVAL);
	cr_assert_eq(
		mem_add_region_opts(&m, "r", 0, 6 * MiB, NULL, false, &odd),
		-EINVAL);
	/* the default size: 4 KiB is never a multiple of it */
	cr_assert_neq(mem_add_region_opts(&m, "r", 0, 4096, NULL, false, &def),
		      0);
	cr_assert_eq(m.nr, 0);
}

/* Whatever this host's pool holds: either the region is there, backed by
 * a memfd and resident, or it is -ENOMEM (pool short) / -EINVAL (no 2 MiB
 * hugepages) and nothing is left behind. */
Test(rt_mem, hugepage_region_or_clean_failure)
{
	const struct mem_opts o = { .hugepage_size = 2 * MiB,
				    .prefault = true };
	int ret = mem_add_region_opts(&m, "huge", 0, 4 * MiB, NULL, false, &o);

	if (ret) {
		cr_assert(ret == -ENOMEM || ret == -EINVAL, "%s",
			  strerror(-ret));
		cr_assert_eq(m.nr, 0);
		return;
	}
	cr_assert_eq(m.nr, 1);
	cr_assert_geq(m.regions[0].fd, 0);
	cr_assert_eq((uintptr_t)m.regions[0].hva % (2 * MiB), 0);
	cr_assert_eq(resident(m.regions[0].hva, 4 * MiB), 1024);
	m.regions[0].hva[4 * MiB - 1] = 0x5a;
	cr_assert_eq(m.regions[0].hva[4 * MiB - 1], 0x5a);
}
