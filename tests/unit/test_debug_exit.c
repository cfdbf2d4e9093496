/* SPDX-License-Identifier: MIT */
/* Debug-exit device (devices/debug_exit.c): QEMU isa-debug-exit codes. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "dev_cfg.h"
#include "fake_vm.h"

extern const struct device_type debug_exit_type;

static struct vm *vm;
static struct cfg_device *cfg;
static struct device *dev;

static void teardown(void)
{
	dev_destroy(dev);
	dev = NULL;
	dev_cfg_free(cfg);
	cfg = NULL;
	fake_vm_free(vm);
	vm = NULL;
}

TestSuite(debug_exit, .fini = teardown);

/* A fresh VM with a debug-exit device; settings as for dev_cfg_new(). */
#define CREATE(...)                                                        \
	do {                                                               \
		dev_destroy(dev);                                          \
		dev_cfg_free(cfg);                                         \
		fake_vm_free(vm);                                          \
		vm = fake_vm_new();                                        \
		cfg = dev_cfg_new(&debug_exit_type, "exit", ##__VA_ARGS__, \
				  NULL);                                   \
		dev = dev_create(vm, cfg, NULL);                           \
		cr_assert_not_null(dev);                                   \
	} while (0)

struct code_case {
	unsigned size;
	uint64_t value;
	int code;
};

Test(debug_exit, codes_for_values_and_sizes)
{
	static const struct code_case cases[] = {
		{ 1, 0x00, 1 },
		{ 1, 0x01, 3 },
		{ 1, 0x10, 0x21 },
		{ 1, 0x7f, 0xff },
		{ 1, 0xff, 0x1ff },
		{ 2, 0x0000, 1 },
		{ 2, 0x1234, 0x2469 },
		{ 2, 0xffff, 0x1ffff },
		{ 4, 0x00000002, 5 },
		{ 4, 0x12345678, 0x2468acf1 },
		/* Bit 31 shifts out; the int stays non-negative and the low
		 * byte (the process exit status) is what QEMU gives: 255. */
		{ 4, 0xffffffff, 0x7fffffff },
		{ 4, 0x80000000, 1 },
	};

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct code_case *c = &cases[i];

		CREATE();
		fake_vm_pio_write(vm, 0xf4, c->size, c->value);
		cr_assert_eq(vm->stop_reason, VM_STOP_DEBUG_EXIT, "case %u", i);
		cr_assert_eq(vm->stop_code, c->code,
			     "case %u: %u-byte write of %#llx: code %#x, want "
			     "%#x",
			     i, c->size, (unsigned long long)c->value,
			     vm->stop_code, c->code);
		cr_assert_eq(vm->stop_code & 0xff,
			     (int)(((c->value << 1) | 1) & 0xff));
	}
}

Test(debug_exit, default_port_and_size)
{
	struct dev_resource res[DEV_MAX_RESOURCES];

	CREATE();
	cr_assert_eq(debug_exit_type.resources(cfg, res, DEV_MAX_RESOURCES), 1);
	cr_assert_eq(res[0].kind, DEV_RES_PIO);
	cr_assert_eq(res[0].base, 0xf4);
	cr_assert_eq(res[0].size, 4);
	cr_assert_not_null(bus_find(&vm->pio, 0xf4, 4));
	cr_assert_null(bus_find(&vm->pio, 0xf8, 1));
}

Test(debug_exit, any_port_in_the_region)
{
	for (unsigned off = 0; off < 4; off++) {
		CREATE();
		fake_vm_pio_write(vm, 0xf4 + off, 1, 7);
		cr_assert_eq(vm->stop_reason, VM_STOP_DEBUG_EXIT);
		cr_assert_eq(vm->stop_code, 15);
	}
	CREATE();
	fake_vm_pio_write(vm, 0xf8, 1, 7);
	cr_assert_eq(vm->stop_requests, 0, "0xf8 is outside");
}

Test(debug_exit, configured_port_and_size)
{
	CREATE("port=0x501", "size=2");
	fake_vm_pio_write(vm, 0xf4, 1, 1);
	cr_assert_eq(vm->stop_requests, 0);
	/* A 4-byte access does not fit a 2-port region: not ours. */
	fake_vm_pio_write(vm, 0x501, 4, 1);
	cr_assert_eq(vm->stop_requests, 0);
	fake_vm_pio_write(vm, 0x501, 2, 0x31);
	cr_assert_eq(vm->stop_reason, VM_STOP_DEBUG_EXIT);
	cr_assert_eq(vm->stop_code, 0x63);
}

Test(debug_exit, size_one)
{
	CREATE("size=1");
	fake_vm_pio_write(vm, 0xf4, 2, 1);
	cr_assert_eq(vm->stop_requests, 0);
	fake_vm_pio_write(vm, 0xf4, 1, 2);
	cr_assert_eq(vm->stop_code, 5);
}

Test(debug_exit, reads_return_zero)
{
	CREATE();
	cr_assert_eq(fake_vm_pio_read(vm, 0xf4, 1), 0);
	cr_assert_eq(fake_vm_pio_read(vm, 0xf4, 4), 0);
	cr_assert_eq(vm->stop_requests, 0, "reads do not stop the VM");
}

Test(debug_exit, first_write_wins)
{
	CREATE();
	fake_vm_pio_write(vm, 0xf4, 1, 3);
	fake_vm_pio_write(vm, 0xf4, 1, 9);
	cr_assert_eq(vm->stop_requests, 2);
	cr_assert_eq(vm->stop_code, 7);
}

Test(debug_exit, check_rejects_region_past_0xffff)
{
	struct cfg_error err = { "" };

	vm = fake_vm_new();
	cfg = dev_cfg_new(&debug_exit_type, "exit", "port=0xfffe", NULL);
	cr_assert_eq(debug_exit_type.check(cfg, &err), -EINVAL);
	cr_assert(strstr(err.msg, "port"), "%s", err.msg);
	cr_assert(strstr(err.msg, "test.cfg:2"), "%s", err.msg);
	dev_cfg_free(cfg);
	cfg = dev_cfg_new(&debug_exit_type, "exit", "port=0xfffc", NULL);
	cr_assert_eq(debug_exit_type.check(cfg, &err), 0);
}
