/* SPDX-License-Identifier: MIT */
/*
 * arch/arm64 without KVM: the config rules of arch_check_config() (boot
 * formats, no CPU modes, no port I/O, RAM clear of the GIC, [boot] dtb),
 * the GSI routes, interrupt numbering, and `vmm dumpdtb`'s arch_dump_dtb()
 * (under qemu-user or on a host without /dev/kvm it describes a GICv3).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <libfdt.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CFG_HELPERS_ARCH_STUBS
#include "arch/arch.h"
#include "cfg_helpers.h"
#include "devices/abi/arm64_virt.h"
#include "vmm/config.h"
#include "vmm/vm_impl.h"

static char dir[64];

static void setup(void)
{
	static const uint8_t img[16] = { 0 };
	static uint8_t rom[65536];
	char tree[256];

	cfg_test_mkdtemp(dir, sizeof(dir), "arm64cfg");
	cfg_test_write(dir, "img.bin", img, sizeof(img));
	cfg_test_write(dir, "rom.bin", rom, sizeof(rom));
	cfg_test_write(dir, "junk.dtb", "not a device tree at all, really", 32);
	cr_assert_eq(fdt_create_empty_tree(tree, sizeof(tree)), 0);
	cfg_test_write(dir, "good.dtb", tree, fdt_totalsize(tree));
}

static void teardown(void)
{
	cfg_test_rm_tree(dir);
}

/* lines 1-3 */
#define RAM "[memory \"ram\"]\nbase = 0x40000000\nsize = 64M\n"
/* lines 4-7 */
#define RAW "[boot]\nimage = img.bin\nformat = raw\nload-address = 0x40080000\n"

static void load(struct vm_config *cfg, const char *text)
{
	cfg_test_load(cfg, dir, text);
}

/* Load text and run the arch rules. */
static int check(const char *text, struct cfg_error *err)
{
	return cfg_test_arch_check(dir, text, err);
}

TestSuite(arm64_config, .init = setup, .fini = teardown);

Test(arm64_config, raw_without_mode_is_fine)
{
	struct cfg_error err;

	cr_assert_eq(check(RAM RAW, &err), 0, "%s", err.msg);
}

Test(arm64_config, no_cpu_modes)
{
	struct cfg_error err;

	cr_assert_eq(check(RAM RAW "mode = long\n", &err), -EINVAL);
	cr_assert(strstr(err.msg, "t.cfg:8: [boot] mode: arm64 has no x86 CPU "
				  "modes"),
		  "%s", err.msg);
}

Test(arm64_config, x86_boot_protocols)
{
	static const char *const fmts[] = { "multiboot", "multiboot2", "pvh" };
	char text[256];
	struct cfg_error err;

	for (unsigned i = 0; i < 3; i++) {
		snprintf(text, sizeof(text),
			 RAM "[boot]\nimage = img.bin\nformat = %s\n", fmts[i]);
		cr_assert_eq(check(text, &err), -EINVAL, "%s", fmts[i]);
		cr_assert(strstr(err.msg, "t.cfg:6: [boot] format: "), "%s",
			  err.msg);
		cr_assert(strstr(err.msg, "is an x86 boot protocol"), "%s",
			  err.msg);
	}
}

Test(arm64_config, no_port_io)
{
	struct cfg_error err;

	cr_assert_eq(
		check(RAM RAW "[device \"exit\"]\ntype = debug-exit\n", &err),
		-EINVAL);
	cr_assert(strstr(err.msg, "[device \"exit\"]"), "%s", err.msg);
	cr_assert(strstr(err.msg, "arm64 has no port I/O: device type "
				  "debug-exit needs port 0xf4"),
		  "%s", err.msg);
}

Test(arm64_config, ram_clear_of_the_gic)
{
	struct cfg_error err;

	cr_assert_eq(
		check("[memory \"ram\"]\nbase = 0\nsize = 0x44000000\n" RAW,
		      &err),
		-EINVAL);
	cr_assert(strstr(err.msg, "t.cfg:1: [memory \"ram\"]: "), "%s",
		  err.msg);
	cr_assert(strstr(err.msg, "overlaps the GIC distributor"), "%s",
		  err.msg);
	/* RAM below the GIC is fine (QEMU's flash area). */
	cr_assert_eq(check("[memory \"low\"]\nbase = 0\nsize = 128M\n" RAM RAW,
			   &err),
		     0, "%s", err.msg);
}

Test(arm64_config, needs_writable_ram)
{
	struct cfg_error err;

	cr_assert_eq(check("[memory \"rom\"]\nbase = 0\nsize = 64K\n"
			   "readonly = yes\nfile = rom.bin\n"
			   "[boot]\nimage = img.bin\n",
			   &err),
		     -EINVAL);
	cr_assert(strstr(err.msg, "[boot] image: no writable [memory] region"),
		  "%s", err.msg);
}

Test(arm64_config, user_dtb)
{
	struct cfg_error err;

	cr_assert_eq(check(RAM RAW "dtb = good.dtb\n", &err), 0, "%s", err.msg);
	cr_assert_eq(check(RAM RAW "dtb = junk.dtb\n", &err), -EINVAL);
	cr_assert(strstr(err.msg, "t.cfg:8: [boot] dtb: "), "%s", err.msg);
	cr_assert(strstr(err.msg, "is not a flattened device tree"), "%s",
		  err.msg);
}

Test(arm64_config, gsi_n_is_spi_n)
{
	struct kvm_irq_routing_entry e[300];
	unsigned n = arch_irq_routes(NULL, e, 300);

	cr_assert_eq(n, ABI_GIC_NR_SPIS);
	for (unsigned i = 0; i < n; i++) {
		cr_assert_eq(e[i].gsi, i);
		cr_assert_eq(e[i].type, KVM_IRQ_ROUTING_IRQCHIP);
		cr_assert_eq(e[i].u.irqchip.irqchip, 0);
		cr_assert_eq(e[i].u.irqchip.pin, i);
	}
	cr_assert_eq(arch_irq_routes(NULL, e, 64), 64);
	/* vm.c keeps all of them next to the MSI routes */
	cr_assert_geq(VM_MAX_CHIP_ROUTES, ABI_GIC_NR_SPIS);
}

Test(arm64_config, spi_out_of_range)
{
	cr_assert_eq(arch_set_irq(NULL, ABI_GIC_NR_SPIS, 1), -EINVAL);
}

Test(arm64_config, dumpdtb)
{
	struct vm_config cfg;
	char path[128], err[512] = "";
	uint8_t *blob;
	long size;
	FILE *f;
	int node, len;
	const void *prop;

	load(&cfg, RAM RAW "cmdline = hello\n");
	snprintf(path, sizeof(path), "%s/out.dtb", dir);
	cr_assert_eq(arch_dump_dtb(&cfg, path, err, sizeof(err)), 0, "%s", err);
	config_free(&cfg);
	f = fopen(path, "rb");
	cr_assert(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	blob = malloc((size_t)size);
	cr_assert_eq(fread(blob, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	cr_assert_eq(fdt_check_header(blob), 0);
	cr_assert_eq(fdt_totalsize(blob), (uint32_t)size);
	node = fdt_path_offset(blob, "/chosen");
	cr_assert_geq(node, 0);
	prop = fdt_getprop(blob, node, "bootargs", &len);
	cr_assert(prop);
	cr_assert_str_eq(prop, "hello");
	free(blob);

	/* The image does not fit: the message names the file. */
	load(&cfg, RAM "[boot]\nimage = img.bin\nformat = raw\n"
		       "load-address = 0x43fffff8\n");
	cr_assert_neq(arch_dump_dtb(&cfg, path, err, sizeof(err)), 0);
	cr_assert(strstr(err, "img.bin"), "%s", err);
	config_free(&cfg);
}
