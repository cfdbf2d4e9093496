/* SPDX-License-Identifier: MIT */
/*
 * The fixture the device unit tests share (one test executable each): the
 * fake VM, the device's config and the device, as the globals vm, cfg and
 * dev, freed by dev_fixture_teardown().
 *
 * For a console device (the UARTs): console_fixture_setup() makes a scratch
 * directory `tmpdir` with an output file out_path and an input FIFO
 * fifo_path; console_dev_create() creates the device on them, and
 * host_input() feeds it as the event loop would.
 *
 * Define DEV_FIXTURE_MMIO32 to the MMIO base of a device with 32-bit
 * registers (the PrimeCell models) before including this header for rd()
 * and wr() at an offset from it.
 */
#ifndef TESTS_UNIT_DEV_FIXTURE_H
#define TESTS_UNIT_DEV_FIXTURE_H

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dev_cfg.h"
#include "fake_vm.h"

static struct vm *vm;
static struct cfg_device *cfg;
static struct device *dev;

static inline void dev_fixture_teardown(void)
{
	dev_destroy(dev);
	dev = NULL;
	dev_cfg_free(cfg);
	cfg = NULL;
	fake_vm_free(vm);
	vm = NULL;
}

/* type's resources() for cfg are the region (kind, base, size at key),
 * then the line irq; with room for one, the region alone. */
static inline void assert_region_irq(const struct device_type *type,
				     enum dev_res_kind kind, uint64_t base,
				     uint64_t size, const char *key,
				     uint64_t irq)
{
	struct dev_resource res[DEV_MAX_RESOURCES];

	cr_assert_eq(type->resources(cfg, res, DEV_MAX_RESOURCES), 2);
	cr_assert_eq(res[0].kind, kind);
	cr_assert_eq(res[0].base, base);
	cr_assert_eq(res[0].size, size);
	cr_assert_str_eq(res[0].key, key);
	cr_assert_eq(res[1].kind, DEV_RES_IRQ);
	cr_assert_eq(res[1].base, irq);
	cr_assert_eq(type->resources(cfg, res, 1), 1);
}

#ifdef DEV_FIXTURE_MMIO32
static inline uint32_t rd(unsigned off)
{
	return (uint32_t)fake_vm_mmio_read(vm, DEV_FIXTURE_MMIO32 + off, 4);
}

static inline void wr(unsigned off, uint32_t v)
{
	fake_vm_mmio_write(vm, DEV_FIXTURE_MMIO32 + off, 4, v);
}
#endif

/* unused where the device has no console */
static char tmpdir[64] __attribute__((unused));
static char out_path[256] __attribute__((unused));
static char fifo_path[256] __attribute__((unused));
static int fifo_wr __attribute__((unused)) = -1;

/* A fake VM, and a scratch directory /tmp/<name>.XXXXXX with the FIFO. */
static inline void console_fixture_setup(const char *name)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/%s.XXXXXX", name);
	cr_assert_not_null(mkdtemp(tmpdir));
	snprintf(out_path, sizeof(out_path), "%s/out.txt", tmpdir);
	snprintf(fifo_path, sizeof(fifo_path), "%s/in.fifo", tmpdir);
	cr_assert_eq(mkfifo(fifo_path, 0600), 0);
	vm = fake_vm_new();
}

static inline void console_fixture_teardown(void)
{
	dev_fixture_teardown();
	if (fifo_wr >= 0)
		close(fifo_wr);
	fifo_wr = -1;
	unlink(out_path);
	unlink(fifo_path);
	rmdir(tmpdir);
}

/* A device writing to out_path and reading from the FIFO fifo_path. */
static inline void console_dev_create(const struct device_type *type,
				      const char *name)
{
	char p[300], in[300];

	snprintf(p, sizeof(p), "path=%s", out_path);
	snprintf(in, sizeof(in), "input=%s", fifo_path);
	cfg = dev_cfg_new(type, name, "console=file", p, in, NULL);
	dev = dev_create(vm, cfg, NULL);
	cr_assert_not_null(dev);
	fifo_wr = open(fifo_path, O_WRONLY | O_NONBLOCK);
	cr_assert_geq(fifo_wr, 0);
	cr_assert_eq(vm->nr_watches, 1);
}

/* A device with console = none. */
static inline void console_dev_create_quiet(const struct device_type *type,
					    const char *name)
{
	cfg = dev_cfg_new(type, name, "console=none", NULL);
	dev = dev_create(vm, cfg, NULL);
	cr_assert_not_null(dev);
}

/* Host input: write to the FIFO, then run the watch as the loop would. */
static inline void host_input(const void *buf, size_t len)
{
	cr_assert_eq(write(fifo_wr, buf, len), (ssize_t)len);
	cr_assert(fake_vm_fire(vm, vm->watches[0].fd));
}

/* End of host input: the watch runs, sees EOF and is removed. */
static inline void host_input_eof(void)
{
	close(fifo_wr);
	fifo_wr = -1;
	cr_assert(fake_vm_fire(vm, vm->watches[0].fd));
	cr_assert_eq(vm->nr_watches, 0, "EOF: no longer watched");
}

/* A device on stdio whose input is a regular file holding text (read at
 * creation, not watched). */
static inline void console_dev_create_from_file(const struct device_type *type,
						const char *name,
						const char *text)
{
	char in_path[300], kv[320];
	FILE *f;

	snprintf(in_path, sizeof(in_path), "%s/input.txt", tmpdir);
	f = fopen(in_path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	snprintf(kv, sizeof(kv), "input=%s", in_path);
	cfg = dev_cfg_new(type, name, "console=stdio", kv, NULL);
	dev = dev_create(vm, cfg, NULL);
	unlink(in_path);
	cr_assert_not_null(dev);
	cr_assert_eq(vm->nr_watches, 0, "files are read at creation");
}

/* The file at path, NUL-terminated, in buf; its length. */
static inline size_t read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	cr_assert_not_null(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return n;
}

#endif
