/* SPDX-License-Identifier: MIT */
/*
 * Test helper for the config and arch tests: a fresh mkdtemp() directory
 * per test and its removal, files in it, configs loaded from text there.
 *
 * Define CFG_HELPERS_ARCH_STUBS before including it in a test that links
 * the arch library (it also gets cfg_test_arch_check()): its exit handling calls into vmm/vm.c and vmm/vcpu.c,
 * which the unit tests do not link; none of it runs there, and the stubs
 * fail the test if it does.
 */
#ifndef TESTS_CFG_HELPERS_H
#define TESTS_CFG_HELPERS_H

#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/config.h"

#ifdef CFG_HELPERS_ARCH_STUBS
#include "arch/arch.h"
#include "vmm/vm_impl.h"

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
#endif

/* A new directory /tmp/vmm-test-NAME-XXXXXX, its path in dir. */
static inline void cfg_test_mkdtemp(char *dir, size_t size, const char *name)
{
	snprintf(dir, size, "/tmp/vmm-test-%s-XXXXXX", name);
	cr_assert(mkdtemp(dir), "mkdtemp %s", dir);
}

static inline int cfg_test_rm_one(const char *path, const struct stat *st,
				  int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Remove dir and all below it. */
static inline void cfg_test_rm_tree(const char *dir)
{
	nftw(dir, cfg_test_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Create dir/name with size bytes of data. */
static inline void cfg_test_write(const char *dir, const char *name,
				  const void *data, size_t size)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	cr_assert(f, "create %s", path);
	cr_assert_eq(fwrite(data, 1, size, f), size);
	fclose(f);
}

/* Load text as "t.cfg" in dir into cfg; it must load. */
static inline void cfg_test_load(struct vm_config *cfg, const char *dir,
				 const char *text)
{
	struct cfg_error err = { { 0 } };

	cr_assert_eq(config_load_string(cfg, "t.cfg", dir, text, NULL, 0, &err),
		     0, "config: %s", err.msg);
}

#ifdef CFG_HELPERS_ARCH_STUBS
/* Load text as cfg_test_load() does and run arch_check_config() on it:
 * its return, the message in err. */
static inline int cfg_test_arch_check(const char *dir, const char *text,
				      struct cfg_error *err)
{
	struct vm_config cfg;
	int ret;

	cfg_test_load(&cfg, dir, text);
	memset(err, 0, sizeof(*err));
	ret = arch_check_config(&cfg, err);
	config_free(&cfg);
	return ret;
}
#endif

#endif
