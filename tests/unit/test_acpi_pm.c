/* SPDX-License-Identifier: MIT */
/* ACPI PM1a registers (devices/acpi_pm.c): S5 power-off, the rest ignored. */
#include <criterion/criterion.h>

#include "devices/abi/x86_pc.h"
#include "dev_cfg.h"
#include "fake_vm.h"

extern const struct device_type acpi_pm_type;

#define STS ABI_ACPI_PM_BASE
#define EN  (ABI_ACPI_PM_BASE + 2)
#define CNT ABI_ACPI_PM1_CNT

static struct vm *vm;
static struct cfg_device *cfg;
static struct device *dev;

static void create(const char *setting)
{
	vm = fake_vm_new();
	cfg = dev_cfg_new(&acpi_pm_type, "pm", setting, NULL);
	dev = dev_create(vm, cfg, NULL);
	cr_assert_not_null(dev);
}

static void setup(void)
{
	create(NULL);
}

static void teardown(void)
{
	dev_destroy(dev);
	dev = NULL;
	dev_cfg_free(cfg);
	cfg = NULL;
	fake_vm_free(vm);
	vm = NULL;
}

TestSuite(acpi_pm, .init = setup, .fini = teardown);

static uint16_t slp(unsigned typ, bool en)
{
	return (uint16_t)((typ << ABI_ACPI_SLP_TYP_SHIFT) |
			  (en ? ABI_ACPI_SLP_EN : 0));
}

Test(acpi_pm, s5_powers_off)
{
	fake_vm_pio_write(vm, CNT, 2, ABI_ACPI_POWEROFF);
	cr_assert_eq(vm->stop_reason, VM_STOP_POWEROFF);
	cr_assert_eq(vm->stop_code, 0);
	cr_assert_eq(vm->stop_requests, 1);
}

Test(acpi_pm, s5_with_sci_en_and_32bit_write)
{
	fake_vm_pio_write(vm, CNT, 4, ABI_ACPI_POWEROFF | 1u);
	cr_assert_eq(vm->stop_reason, VM_STOP_POWEROFF);
}

Test(acpi_pm, s5_by_byte_writes)
{
	/* Low byte, then SLP_TYP without SLP_EN, then with it. */
	fake_vm_pio_write(vm, CNT, 1, 0x01);
	fake_vm_pio_write(vm, CNT + 1, 1, slp(5, false) >> 8);
	cr_assert_eq(vm->stop_requests, 0);
	fake_vm_pio_write(vm, CNT + 1, 1, slp(5, true) >> 8);
	cr_assert_eq(vm->stop_reason, VM_STOP_POWEROFF);
}

Test(acpi_pm, other_sleep_types_ignored)
{
	for (unsigned typ = 0; typ < 8; typ++) {
		if (typ == ABI_ACPI_SLP_TYP_S5)
			continue;
		fake_vm_pio_write(vm, CNT, 2, slp(typ, true));
		cr_assert_eq(vm->stop_requests, 0, "SLP_TYP %u", typ);
	}
}

Test(acpi_pm, slp_typ_without_slp_en_ignored)
{
	fake_vm_pio_write(vm, CNT, 2, slp(5, false));
	cr_assert_eq(vm->stop_requests, 0);
	/* SLP_TYP is stored and reads back; SLP_EN never reads as set. */
	cr_assert_eq(fake_vm_pio_read(vm, CNT, 2), slp(5, false) | 1u);
	fake_vm_pio_write(vm, CNT, 2, slp(3, true));
	cr_assert_eq(vm->stop_requests, 0);
	cr_assert_eq(fake_vm_pio_read(vm, CNT, 2), slp(3, false) | 1u);
}

Test(acpi_pm, sci_en_reads_one)
{
	cr_assert_eq(fake_vm_pio_read(vm, CNT, 2), 1);
	fake_vm_pio_write(vm, CNT, 2, 0);
	cr_assert_eq(fake_vm_pio_read(vm, CNT, 2) & 1, 1);
}

Test(acpi_pm, status_and_enable_registers)
{
	cr_assert_eq(fake_vm_pio_read(vm, STS, 2), 0);
	fake_vm_pio_write(vm, STS, 2, 0xffff); /* write 1 to clear */
	cr_assert_eq(fake_vm_pio_read(vm, STS, 2), 0);
	fake_vm_pio_write(vm, EN, 2, 0x0120);
	cr_assert_eq(fake_vm_pio_read(vm, EN, 2), 0x0120);
	fake_vm_pio_write(vm, EN + 1, 1, 0x00);
	cr_assert_eq(fake_vm_pio_read(vm, EN, 2), 0x0020);
	cr_assert_eq(fake_vm_pio_read(vm, STS, 4), 0x00200000);
	cr_assert_eq(fake_vm_pio_read(vm, CNT + 2, 2), 0, "padding");
	acpi_pm_type.reset(dev);
	cr_assert_eq(fake_vm_pio_read(vm, EN, 2), 0);
	cr_assert_eq(vm->stop_requests, 0);
}

Test(acpi_pm, configured_port)
{
	struct dev_resource res[DEV_MAX_RESOURCES];

	teardown();
	create("port=0xb000");
	cr_assert_eq(acpi_pm_type.resources(cfg, res, DEV_MAX_RESOURCES), 1);
	cr_assert_eq(res[0].base, 0xb000);
	cr_assert_eq(res[0].size, 8);
	fake_vm_pio_write(vm, CNT, 2, ABI_ACPI_POWEROFF);
	cr_assert_eq(vm->stop_requests, 0);
	fake_vm_pio_write(vm, 0xb004, 2, ABI_ACPI_POWEROFF);
	cr_assert_eq(vm->stop_reason, VM_STOP_POWEROFF);
}
