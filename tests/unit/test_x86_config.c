/* SPDX-License-Identifier: MIT */
/*
 * The x86 rules of arch_check_config() that are about [boot]: a raw image
 * needs an entry mode (config.c leaves that to the arch: arm64 has none),
 * and x86 guests take no device tree. Configs are loaded from text so the
 * messages are checked with their "FILE:LINE: [section] key: " prefix.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CFG_HELPERS_ARCH_STUBS
#include "arch/arch.h"
#include "cfg_helpers.h"
#include "vmm/config.h"
#include "vmm/vm_impl.h"

static char dir[64];

static void setup(void)
{
	cfg_test_mkdtemp(dir, sizeof(dir), "x86cfg");
	cfg_test_write(dir, "img.bin", "not empty", 9);
}

static void teardown(void)
{
	cfg_test_rm_tree(dir);
}

#define RAM "[memory \"ram\"]\nbase = 0\nsize = 64M\n" /* lines 1-3 */

/* Load text and run the arch rules; the error message, or "" if fine. */
static int check(const char *text, struct cfg_error *err)
{
	return cfg_test_arch_check(dir, text, err);
}

TestSuite(x86_config, .init = setup, .fini = teardown);

Test(x86_config, raw_needs_mode)
{
	struct cfg_error err;

	/* The message and place config.c used before the rule moved. */
	cr_assert_eq(check(RAM "[boot]\nimage = img.bin\nformat = raw\n"
			       "load-address = 0x100000\n",
			   &err),
		     -EINVAL);
	cr_assert_str_eq(err.msg,
			 "t.cfg:6: [boot] mode: required with format = raw "
			 "(real, protected or long)");
	cr_assert_eq(check(RAM "[boot]\nimage = img.bin\nformat = raw\n"
			       "load-address = 0x100000\nmode = long\n",
			   &err),
		     0, "%s", err.msg);
}

Test(x86_config, no_device_tree)
{
	struct cfg_error err;

	cr_assert_eq(
		check(RAM "[boot]\nimage = img.bin\ndtb = img.bin\n", &err),
		-EINVAL);
	cr_assert_str_eq(err.msg,
			 "t.cfg:6: [boot] dtb: x86_64 guests get ACPI and MP "
			 "tables, not a device tree (dtb is for arm64)");
}

Test(x86_config, dumpdtb_is_not_for_x86)
{
	struct vm_config cfg = { 0 };
	char err[256] = "";

	cr_assert_eq(
		arch_dump_dtb(&cfg, "/nonexistent/x.dtb", err, sizeof(err)),
		-ENOTSUP);
	cr_assert(strstr(err, "not a device tree"), "%s", err);
}
