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

#include "arch/arch.h"
#include "vmm/config.h"
#include "vmm/vm_impl.h"

/* arch.c's exit handling calls into vmm/vm.c and vmm/vcpu.c, which the
 * unit tests do not link; none of it runs here. */
bool vm_stop_with(struct vm *vm, enum vm_stop_reason reason, int code,
		  const char *fmt, ...)
{
	cr_assert_fail("vm_stop_with");
	return false;
}

void vcpu_guest_fault(struct vcpu *vcpu, const char *fmt, ...)
{
	cr_assert_fail("vcpu_guest_fault");
}

const char *kvm_exit_name(unsigned reason)
{
	return "?";
}

static char dir[64];

static void setup(void)
{
	char path[128];
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/vmm-test-x86cfg-XXXXXX");
	cr_assert(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/img.bin", dir);
	f = fopen(path, "w");
	cr_assert(f);
	fputs("not empty", f);
	fclose(f);
}

static void teardown(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/img.bin", dir);
	unlink(path);
	rmdir(dir);
}

#define RAM "[memory \"ram\"]\nbase = 0\nsize = 64M\n" /* lines 1-3 */

/* Load text and run the arch rules; the error message, or "" if fine. */
static int check(const char *text, struct cfg_error *err)
{
	struct vm_config cfg;
	int ret;

	memset(err, 0, sizeof(*err));
	ret = config_load_string(&cfg, "t.cfg", dir, text, NULL, 0, err);
	cr_assert_eq(ret, 0, "config_load: %s", err->msg);
	ret = arch_check_config(&cfg, err);
	config_free(&cfg);
	return ret;
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
