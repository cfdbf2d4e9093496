/* SPDX-License-Identifier: MIT */
/* Guest memory: region rules and the one checked GPA -> host helper. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/mem.h"

static struct guest_mem m;

static void teardown(void)
{
	mem_free(&m);
}

TestSuite(mem, .fini = teardown);

Test(mem, add_region_rules)
{
	cr_assert_eq(mem_add_region(&m, "ram", 0, 16 << 20, NULL, false), 0);
	cr_assert_eq(mem_add_region(&m, "x", 0x1000, 0x1000, NULL, false),
		     -EEXIST);
	cr_assert_eq(mem_add_region(&m, "x", 16 << 20, 0, NULL, false),
		     -EINVAL);
	cr_assert_eq(mem_add_region(&m, "x", 16 << 20, 0x800, NULL, false),
		     -EINVAL);
	cr_assert_eq(
		mem_add_region(&m, "x", (16 << 20) + 1, 0x1000, NULL, false),
		-EINVAL);
	cr_assert_eq(mem_add_region(&m, "hi", 16 << 20, 0x1000, NULL, false),
		     0);
	cr_assert_eq(m.nr, 2);
	cr_assert_eq(mem_end(&m), (16 << 20) + 0x1000);
}

/* Anonymous RAM of 2 MiB or more starts on a 2 MiB boundary (transparent
 * hugepages need whole aligned blocks); all of it is usable, and freeing
 * it leaves nothing mapped. */
Test(mem, anon_ram_is_2m_aligned)
{
	static const uint64_t sizes[] = { 2 << 20, (6 << 20) + 0x1000, 64 << 20,
					  0x3000 };
	uint64_t gpa = 0;

	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		const struct mem_region *r;
		uint8_t *p;

		cr_assert_eq(
			mem_add_region(&m, "ram", gpa, sizes[i], NULL, false),
			0);
		r = &m.regions[m.nr - 1];
		if (sizes[i] >= (2 << 20))
			cr_assert_eq((uintptr_t)r->hva % (2 << 20), 0,
				     "size %#llx at %p",
				     (unsigned long long)sizes[i], r->hva);
		p = r->hva;
		p[0] = 1;
		p[sizes[i] - 1] = 2;
		cr_assert_eq(p[0] + p[sizes[i] - 1], 3);
		gpa += sizes[i];
	}
}

Test(mem, ptr_bounds)
{
	uint8_t *base;

	cr_assert_eq(mem_add_region(&m, "ram", 0x100000, 0x10000, NULL, false),
		     0);
	base = mem_ptr(&m, 0x100000, 0x10000);
	cr_assert_not_null(base);
	cr_assert_eq(mem_ptr(&m, 0x10ffff, 1), base + 0xffff);
	cr_assert_null(mem_ptr(&m, 0x10ffff, 2));
	cr_assert_null(mem_ptr(&m, 0xfffff, 1));
	cr_assert_null(mem_ptr(&m, 0x110000, 0));
	cr_assert_null(mem_ptr(&m, 0x100000, 0x10001));
	/* lengths that would wrap the address space */
	cr_assert_null(mem_ptr(&m, 0x100010, UINT64_MAX));
	cr_assert_null(mem_ptr(&m, UINT64_MAX, 2));
	cr_assert_null(mem_ptr(&m, 0x100000, UINT64_MAX - 0xffff));
}

Test(mem, no_access_across_regions)
{
	cr_assert_eq(mem_add_region(&m, "a", 0, 0x1000, NULL, false), 0);
	cr_assert_eq(mem_add_region(&m, "b", 0x1000, 0x1000, NULL, false), 0);
	/* adjacent but separate mappings: a straddling access is refused */
	cr_assert_null(mem_ptr(&m, 0xff0, 0x20));
	cr_assert_not_null(mem_ptr(&m, 0xff0, 0x10));
}

Test(mem, read_write)
{
	char buf[6] = { 0 };

	cr_assert_eq(mem_add_region(&m, "ram", 0, 0x2000, NULL, false), 0);
	cr_assert_eq(mem_write(&m, 0x1ffa, "hello", 6), 0);
	cr_assert_eq(mem_read(&m, 0x1ffa, buf, 6), 0);
	cr_assert_str_eq(buf, "hello");
	cr_assert_eq(mem_write(&m, 0x1ffb, "hello", 6), -EFAULT);
	cr_assert_eq(mem_read(&m, 0x2000, buf, 1), -EFAULT);
}

Test(mem, file_backed_is_shared)
{
	char path[] = "/tmp/vmm-test-mem-XXXXXX";
	int fd = mkstemp(path);
	struct stat st;
	char buf[8] = { 0 };

	cr_assert_geq(fd, 0);
	cr_assert_eq(mem_add_region(&m, "shm", 0x200000, 0x4000, path, false),
		     0);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_size, 0x4000, "file extended to the region size");
	cr_assert_eq(mem_write(&m, 0x200010, "shared", 7), 0);
	cr_assert_eq(pread(fd, buf, 7, 0x10), 7);
	cr_assert_str_eq(buf, "shared");
	close(fd);
	unlink(path);
}

Test(mem, readonly_file_too_small)
{
	char path[] = "/tmp/vmm-test-mem-XXXXXX";
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 0x1000), 0);
	cr_assert_eq(mem_add_region(&m, "rom", 0, 0x2000, path, true), -EINVAL);
	cr_assert_eq(mem_add_region(&m, "rom", 0, 0x1000, path, true), 0);
	cr_assert(m.regions[0].readonly);
	close(fd);
	unlink(path);
	cr_assert_eq(mem_add_region(&m, "gone", 0x10000, 0x1000,
				    "/nonexistent/dir/file", true),
		     -ENOENT);
}
