/* SPDX-License-Identifier: MIT */
/*
 * virtio-console (virtio/console.c) over virtio-mmio on the fake VM, with
 * a file for output and a file or a pipe for input: transmit, receive
 * (input waits for buffers), emergency write, a malformed ring.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dev_cfg.h"
#include "devices/abi/platform.h"
#include "fake_vm.h"
#include "test_virtio_drv.h"
#include "virtio/virtio.h"

static struct vm *vm;
static struct drv d;
static struct cfg_device *cfg;
static struct device *dev;
static char dir[64], outp[96], inp[96];

static void create(const char *input)
{
	char kv_path[128], kv_in[128];
	int err = 0;

	snprintf(kv_path, sizeof(kv_path), "path=%s", outp);
	snprintf(kv_in, sizeof(kv_in), "input=%s", input ? input : "");
	cfg = dev_cfg_new(&virtio_console_type, "vcon0", "transport=mmio",
			  "console=file", kv_path, input ? kv_in : NULL, NULL);
	dev = dev_create(vm, cfg, &err);
	cr_assert_not_null(dev, "%d", err);
	cr_assert(drv_negotiate(&d, ~0ULL));
	cr_assert(drv_queue(&d, 0, 128));
	cr_assert(drv_queue(&d, 1, 128));
	drv_driver_ok(&d);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/vmm-vcon-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(outp, sizeof(outp), "%s/out", dir);
	snprintf(inp, sizeof(inp), "%s/in", dir);
	vm = fake_vm_new();
	drv_add_ram(vm);
	memset(&d, 0, sizeof(d));
	d.vm = vm;
	d.base = ABI_VIRTIO_MMIO_BASE;
	dev = NULL;
	cfg = NULL;
}

static void teardown(void)
{
	if (dev)
		dev_destroy(dev);
	if (cfg)
		dev_cfg_free(cfg);
	fake_vm_free(vm);
	unlink(outp);
	unlink(inp);
	rmdir(dir);
}

TestSuite(virtio_console, .init = setup, .fini = teardown, .timeout = 30);

static size_t slurp(char *buf, size_t len)
{
	FILE *f = fopen(outp, "r");
	size_t n;

	cr_assert_not_null(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return n;
}

Test(virtio_console, transmit_and_emergency_write)
{
	static const char msg[] = "hello from the guest\n";
	struct drv_buf b[2];
	char got[256];
	uint64_t a;

	create(NULL);
	cr_assert_eq(drv_r(&d, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_CONSOLE);
	cr_assert(drv_device_features(&d) &
		  VIRTIO_F(VIRTIO_CONSOLE_F_EMERG_WRITE));
	fake_vm_mmio_write(vm, d.base + 0x100 + 8, 4, '!');
	a = drv_alloc(&d, sizeof(msg));
	memcpy(drv_ptr(&d, a, sizeof(msg)), msg, sizeof(msg) - 1);
	b[0] = (struct drv_buf){ a, 6, false };
	b[1] = (struct drv_buf){ a + 6, sizeof(msg) - 7, false };
	drv_add(&d, 1, b, 2);
	drv_kick(&d, 1);
	cr_assert(drv_wait_used(&d, 1, 1));
	drv_sleep_ms(10);
	slurp(got, sizeof(got));
	cr_assert_str_eq(got, "!hello from the guest\n");
}

Test(virtio_console, receive_from_file)
{
	FILE *f = fopen(inp, "w");
	uint64_t a[3];
	char got[64] = { 0 };
	size_t off = 0;
	uint16_t used;

	fputs("typed input", f);
	fclose(f);
	create(inp);
	/* nothing happens without buffers; then small buffers fill up */
	drv_sleep_ms(20);
	cr_assert_eq(drv_used_idx(&d, 0), 0);
	for (unsigned i = 0; i < 3; i++) {
		struct drv_buf b = { drv_alloc(&d, 4), 4, true };

		a[i] = b.gpa;
		drv_add(&d, 0, &b, 1);
	}
	drv_kick(&d, 0);
	cr_assert(drv_wait_used(&d, 0, 3));
	used = drv_used_idx(&d, 0);
	for (uint16_t i = 0; i < used; i++) {
		struct virtq_used_elem e = drv_used(&d, 0, i);

		memcpy(got + off, drv_ptr(&d, a[e.id], e.len), e.len);
		off += e.len;
	}
	cr_assert_str_eq(got, "typed input");
	cr_assert(drv_r(&d, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_INT_VRING);
}

Test(virtio_console, receive_from_pipe)
{
	struct drv_buf b;
	int fd;

	cr_assert_eq(mkfifo(inp, 0600), 0);
	fd = open(inp, O_RDWR); /* keeps the FIFO open for the device */
	cr_assert_geq(fd, 0);
	create(inp);
	b = (struct drv_buf){ drv_alloc(&d, 64), 64, true };
	drv_add(&d, 0, &b, 1);
	drv_kick(&d, 0);
	drv_sleep_ms(20);
	cr_assert_eq(drv_used_idx(&d, 0), 0);
	cr_assert_eq(write(fd, "abc", 3), 3);
	cr_assert(drv_wait_used(&d, 0, 1));
	cr_assert_eq(drv_used(&d, 0, 0).len, 3);
	cr_assert_arr_eq(drv_ptr(&d, b.gpa, 3), "abc", 3);
	close(fd);
}

Test(virtio_console, malformed_ring)
{
	struct drv_buf b = { 0x7ff00000000ULL, 16, false };

	create(NULL);
	drv_add(&d, 1, &b, 1);
	drv_kick(&d, 1);
	cr_assert(drv_wait_status(&d, VIRTIO_STATUS_DEVICE_NEEDS_RESET));
	cr_assert_eq(vm->stop_requests, 0);
}

Test(virtio_console, config_checks)
{
	struct cfg_error err = { { 0 } };
	struct cfg_device *c;

	c = dev_cfg_new(&virtio_console_type, "vcon0", "console=file", NULL);
	cr_assert_eq(virtio_console_type.check(c, &err), -EINVAL);
	cr_assert(strstr(err.msg, "path"), "%s", err.msg);
	dev_cfg_free(c);
	c = dev_cfg_new(&virtio_console_type, "vcon0", "console=none",
			"input=/dev/null", NULL);
	cr_assert_eq(virtio_console_type.check(c, &err), -EINVAL);
	dev_cfg_free(c);
}
