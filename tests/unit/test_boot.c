/* SPDX-License-Identifier: MIT */
/* boot_ctx: reservations, loads, allocations, file reading, raw images. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imgbuild.h"
#include "vmm/boot.h"
#include "vmm/mem.h"

#define MiB_ (1024ULL * 1024)

static struct guest_mem mem;
static struct boot_ctx b;

static void setup(void)
{
	memset(&mem, 0, sizeof(mem));
	cr_assert_eq(mem_add_region(&mem, "ram", 0, 16 * MiB_, NULL, false), 0);
	boot_ctx_init(&b, &mem);
}

static void teardown(void)
{
	mem_free(&mem);
}

TestSuite(boot_reserve, .init = setup, .fini = teardown);

Test(boot_reserve, basic_and_zero_size)
{
	cr_assert_eq(boot_reserve(&b, 0x1000, 0x1000, "a"), 0);
	cr_assert_eq(boot_reserve(&b, 0x2000, 0x1000, "b"), 0); /* touching */
	cr_assert_eq(boot_reserve(&b, 0x1800, 0, "empty"), 0);	/* no-op */
	cr_assert_eq(b.nr_res, 2);
	cr_assert_eq(boot_reserved_end(&b), 0x3000);
	cr_assert_str_eq(b.res[1].what, "b");
}

Test(boot_reserve, overlap_names_both)
{
	cr_assert_eq(boot_reserve(&b, 0x100000, 0x2000, "kernel"), 0);
	cr_assert_eq(boot_reserve(&b, 0x101000, 0x10, "module 0"), -EBUSY);
	cr_assert(strstr(b.err, "module 0 [0x101000-0x101010)"), "%s", b.err);
	cr_assert(strstr(b.err, "overlaps kernel [0x100000-0x102000)"), "%s",
		  b.err);
	cr_assert_eq(b.nr_res, 1);
}

Test(boot_reserve, outside_ram)
{
	cr_assert_eq(boot_reserve(&b, 16 * MiB_ - 0x10, 0x20, "tail"), -ERANGE);
	cr_assert(strstr(b.err, "tail [0xfffff0-0x1000010) is not inside "
				"guest RAM"),
		  "%s", b.err);
	cr_assert(strstr(b.err, "RAM: [0-0x1000000) ram"), "%s", b.err);
	cr_assert_eq(boot_reserve(&b, 32 * MiB_, 1, "far"), -ERANGE);
}

Test(boot_reserve, wraps)
{
	cr_assert_eq(boot_reserve(&b, ~0ULL - 0xf, 0x20, "wrap"), -ERANGE);
	cr_assert(strstr(b.err, "wrap"), "%s", b.err);
	cr_assert_eq(boot_reserve(&b, 0x1000, ~0ULL, "huge"), -ERANGE);
}

Test(boot_reserve, spanning_two_regions)
{
	/* Adjacent regions are still two regions: one range must lie in
	 * one of them (one host mapping). */
	cr_assert_eq(
		mem_add_region(&mem, "hi", 16 * MiB_, 16 * MiB_, NULL, false),
		0);
	cr_assert_eq(boot_reserve(&b, 16 * MiB_ - 0x1000, 0x2000, "x"),
		     -ERANGE);
	cr_assert(strstr(b.err, "hi"), "%s", b.err);
}

Test(boot_reserve, readonly_region_is_not_ram)
{
	char path[256];
	uint64_t gpa;
	int fd;

	cr_assert_eq(tmp_write(path, sizeof(path), "rom", NULL, 0), 0);
	fd = open(path, O_RDWR);
	cr_assert_eq(ftruncate(fd, 0x10000), 0);
	close(fd);
	cr_assert_eq(
		mem_add_region(&mem, "rom", 0xfff00000, 0x10000, path, true),
		0);
	unlink(path);
	cr_assert_eq(boot_reserve(&b, 0xfff00000, 0x10, "x"), -ERANGE);
	cr_assert(strstr(b.err, "rom (read-only)"), "%s", b.err);
	/* ... and boot_alloc never picks it */
	cr_assert_eq(boot_alloc(&b, 0x10, 16, 0xf0000000, ~0ULL, "y", &gpa),
		     -ENOMEM);
}

Test(boot_reserve, table_full)
{
	for (unsigned i = 0; i < BOOT_MAX_RESERVATIONS; i++)
		cr_assert_eq(boot_reserve(&b, i * 0x1000, 0x10, "r"), 0);
	cr_assert_eq(boot_reserve(&b, 0x800000, 0x10, "one more"), -ENOSPC);
	cr_assert(strstr(b.err, "one more"), "%s", b.err);
}

TestSuite(boot_load, .init = setup, .fini = teardown);

Test(boot_load, copies_and_zero_fills)
{
	uint8_t src[4] = { 1, 2, 3, 4 };
	uint8_t *p = mem_ptr(&mem, 0x5000, 16);

	memset(p, 0xaa, 16);
	cr_assert_eq(boot_load(&b, 0x5000, src, 4, 12, "seg"), 0);
	cr_assert_eq(memcmp(p, src, 4), 0);
	for (int i = 4; i < 12; i++)
		cr_assert_eq(p[i], 0, "byte %d", i);
	cr_assert_eq(p[12], 0xaa); /* past memsz: untouched */
}

Test(boot_load, filesz_above_memsz)
{
	uint8_t src[8] = { 0 };

	cr_assert_eq(boot_load(&b, 0x5000, src, 8, 4, "seg"), -EINVAL);
	cr_assert(strstr(b.err, "seg"), "%s", b.err);
	cr_assert_eq(b.nr_res, 0);
}

TestSuite(boot_alloc, .init = setup, .fini = teardown);

Test(boot_alloc, lowest_fit_aligned_and_zeroed)
{
	uint64_t gpa;
	uint8_t *p = mem_ptr(&mem, 0x1000, 0x100);

	memset(p, 0x55, 0x100);
	cr_assert_eq(boot_alloc(&b, 0x80, 0x1000, 0x500, 0x9fc00, "a", &gpa),
		     0);
	cr_assert_eq(gpa, 0x1000);
	for (int i = 0; i < 0x80; i++)
		cr_assert_eq(p[i], 0);
	cr_assert_eq(p[0x80], 0x55);
	cr_assert_eq(boot_alloc(&b, 0x10, 8, 0x500, 0x9fc00, "b", &gpa), 0);
	cr_assert_eq(gpa, 0x500);
	cr_assert_eq(boot_alloc(&b, 0x10, 8, 0x500, 0x9fc00, "c", &gpa), 0);
	cr_assert_eq(gpa, 0x510);
}

Test(boot_alloc, skips_reservations)
{
	uint64_t gpa;

	cr_assert_eq(boot_reserve(&b, 0x1000, 0x3000, "kernel"), 0);
	cr_assert_eq(boot_reserve(&b, 0x5000, 0x1000, "other"), 0);
	/* 0x2000 bytes at 4K alignment from 0x1000: 0x4000 is free for
	 * 0x1000 only, 0x6000 fits. */
	cr_assert_eq(
		boot_alloc(&b, 0x2000, 0x1000, 0x1000, 16 * MiB_, "x", &gpa),
		0);
	cr_assert_eq(gpa, 0x6000);
	cr_assert_eq(
		boot_alloc(&b, 0x1000, 0x1000, 0x1000, 16 * MiB_, "y", &gpa),
		0);
	cr_assert_eq(gpa, 0x4000);
}

Test(boot_alloc, lowest_across_regions)
{
	uint64_t gpa;

	/* Region added later but lower in memory wins. */
	cr_assert_eq(mem_add_region(&mem, "hi", 64 * MiB_, MiB_, NULL, false),
		     0);
	cr_assert_eq(boot_reserve(&b, 0, 16 * MiB_, "all low"), 0);
	cr_assert_eq(boot_alloc(&b, 0x10, 16, 0, ~0ULL, "x", &gpa), 0);
	cr_assert_eq(gpa, 64 * MiB_);
}

Test(boot_alloc, nothing_fits)
{
	uint64_t gpa;

	cr_assert_eq(
		boot_alloc(&b, 0x2000, 0x1000, 0x1000, 0x2800, "info", &gpa),
		-ENOMEM);
	cr_assert(strstr(b.err, "info: no free guest RAM for 8192 bytes"), "%s",
		  b.err);
	cr_assert(strstr(b.err, "[0x1000-0x2800)"), "%s", b.err);
	cr_assert_eq(boot_alloc(&b, 0x10, 16, 32 * MiB_, 64 * MiB_, "x", &gpa),
		     -ENOMEM);
}

Test(boot_alloc, bad_arguments)
{
	uint64_t gpa;

	cr_assert_eq(boot_alloc(&b, 0x10, 3, 0, ~0ULL, "x", &gpa), -EINVAL);
	cr_assert_eq(boot_alloc(&b, 0, 8, 0, ~0ULL, "x", &gpa), -EINVAL);
}

Test(boot_alloc, huge_size_no_wrap)
{
	uint64_t gpa;

	cr_assert_eq(boot_alloc(&b, ~0ULL - 0x100, 0x1000, 0, ~0ULL, "x", &gpa),
		     -ENOMEM);
	cr_assert_eq(boot_alloc(&b, 0x10, 1ULL << 63, 1, ~0ULL, "x", &gpa),
		     -ENOMEM);
}

TestSuite(boot_read_file, .init = setup, .fini = teardown);

Test(boot_read_file, reads_whole_file)
{
	char path[256];
	uint8_t *data;
	size_t size;

	cr_assert_eq(tmp_write(path, sizeof(path), "rf", "hello", 5), 0);
	cr_assert_eq(boot_read_file(&b, path, 100, &data, &size), 0);
	cr_assert_eq(size, 5);
	cr_assert_eq(memcmp(data, "hello", 5), 0);
	free(data);
	cr_assert_eq(boot_read_file(&b, path, 4, &data, &size), -EFBIG);
	cr_assert(strstr(b.err, path), "%s", b.err);
	cr_assert(strstr(b.err, "5 bytes, more than the limit of 4 B"), "%s",
		  b.err);
	unlink(path);
}

Test(boot_read_file, missing_and_not_regular)
{
	uint8_t *data;
	size_t size;

	cr_assert_eq(boot_read_file(&b, "/nonexistent/kernel.elf", 100, &data,
				    &size),
		     -ENOENT);
	cr_assert(strstr(b.err, "/nonexistent/kernel.elf: cannot open: No "
				"such file"),
		  "%s", b.err);
	cr_assert_eq(boot_read_file(&b, "/", 100, &data, &size), -EINVAL);
	cr_assert(strstr(b.err, "/: not a regular file"), "%s", b.err);
}

Test(boot_read_file, empty_file)
{
	char path[256];
	uint8_t *data = NULL;
	size_t size = 1;

	cr_assert_eq(tmp_write(path, sizeof(path), "empty", NULL, 0), 0);
	cr_assert_eq(boot_read_file(&b, path, 100, &data, &size), 0);
	cr_assert_eq(size, 0);
	cr_assert_not_null(data);
	free(data);
	unlink(path);
}

TestSuite(raw_load, .init = setup, .fini = teardown);

Test(raw_load, loads_at_address)
{
	uint8_t img[100];

	for (int i = 0; i < 100; i++)
		img[i] = (uint8_t)i;
	cr_assert_eq(raw_load(&b, "k.bin", img, sizeof(img), 0x7c00), 0);
	cr_assert_eq(memcmp(mem_ptr(&mem, 0x7c00, 100), img, 100), 0);
	cr_assert_eq(b.nr_res, 1);
	cr_assert_str_eq(b.res[0].what, "image");
}

Test(raw_load, past_end_of_ram)
{
	uint8_t img[0x100] = { 0 };

	cr_assert_eq(
		raw_load(&b, "/x/k.bin", img, sizeof(img), 16 * MiB_ - 0x80),
		-ERANGE);
	cr_assert(strstr(b.err, "/x/k.bin: image [0xffff80-0x1000080)"), "%s",
		  b.err);
	cr_assert(strstr(b.err, "outside guest RAM (RAM: [0-0x1000000) ram)"),
		  "%s", b.err);
}

Test(raw_load, wraps_and_empty)
{
	uint8_t img[0x100] = { 0 };

	cr_assert_eq(raw_load(&b, "k.bin", img, sizeof(img), ~0ULL - 0x10),
		     -ERANGE);
	cr_assert(strstr(b.err, "k.bin: image (256 bytes) at load-address "
				"0xffffffffffffffef wraps"),
		  "%s", b.err);
	cr_assert_eq(raw_load(&b, "k.bin", img, 0, 0x1000), -ENOEXEC);
	cr_assert(strstr(b.err, "k.bin: empty image file"), "%s", b.err);
}

Test(raw_load, collision_prefixed_with_path)
{
	uint8_t img[0x100] = { 0 };

	cr_assert_eq(boot_reserve(&b, 0x1000, 0x10, "page tables"), 0);
	cr_assert_eq(raw_load(&b, "k.bin", img, sizeof(img), 0xf80), -EBUSY);
	cr_assert(strstr(b.err, "k.bin: image [0xf80-0x1080) overlaps page "
				"tables"),
		  "%s", b.err);
}

Test(boot_fail, prefix)
{
	struct boot_ctx c;

	boot_ctx_init(&c, NULL);
	cr_assert_eq(boot_fail(&c, -EIO, "x %d", 1), -EIO);
	cr_assert_eq(boot_fail_prefix(&c, -EIO, "path/%s", "k"), -EIO);
	cr_assert_str_eq(c.err, "path/k: x 1");
}

TestSuite(boot_load_fd, .init = setup, .fini = teardown);

/* A file read straight into guest RAM: the bytes land, the rest up to
 * memsz is zeroed, the range is reserved, a file shorter than claimed is
 * an error naming it. */
Test(boot_load_fd, reads_into_ram_and_zero_fills)
{
	char path[256];
	uint8_t *p = mem_ptr(&mem, 0x20000, 32);
	size_t size;
	int fd;

	memset(p, 0xaa, 32);
	cr_assert_eq(tmp_write(path, sizeof(path), "lf", "kernel", 6), 0);
	cr_assert_eq(boot_open_file(&b, path, 100, &fd, &size), 0);
	cr_assert_eq(size, 6);
	cr_assert_eq(boot_load_fd(&b, path, fd, 0x20000, size, 16, "kernel"),
		     0);
	cr_assert_eq(memcmp(p, "kernel", 6), 0);
	for (int i = 6; i < 16; i++)
		cr_assert_eq(p[i], 0, "byte %d", i);
	cr_assert_eq(p[16], 0xaa); /* past memsz: untouched */
	/* reserved: a second load on top collides */
	cr_assert_eq(boot_load_fd(&b, path, fd, 0x20008, size, 6, "initrd"),
		     -EBUSY);
	/* more bytes than the file has */
	cr_assert_eq(boot_load_fd(&b, path, fd, 0x30000, 10, 10, "big"), -EIO);
	cr_assert(strstr(b.err, path), "%s", b.err);
	cr_assert_eq(boot_load_fd(&b, path, fd, 0x40000, 6, 4, "x"), -EINVAL);
	close(fd);
	cr_assert_eq(boot_open_file(&b, path, 5, &fd, &size), -EFBIG);
	unlink(path);
}
