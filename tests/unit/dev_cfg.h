/* SPDX-License-Identifier: MIT */
/*
 * Test helper for device models: build the cfg_device config.c would hand a
 * device type (one value per schema param, in schema order, defaults
 * applied, then "key=value" settings), and create/destroy a device from it
 * on a fake VM (fake_vm.h). Unknown keys and unparsable values abort: they
 * are bugs in the test.
 */
#ifndef TESTS_DEV_CFG_H
#define TESTS_DEV_CFG_H

#include "vmm/config.h"
#include "vmm/device.h"

/* Settings are "key=value" strings, NULL-terminated. Set values get
 * loc {"test.cfg", 2...}; defaults line 0; the section is at line 1. */
struct cfg_device *dev_cfg_new(const struct device_type *type, const char *name,
			       ...) __attribute__((sentinel));
void dev_cfg_free(struct cfg_device *cfg);

/* cfg's type->create() on vm. NULL (and *err set if err) on failure; cfg
 * must outlive the device. */
struct device *dev_create(struct vm *vm, const struct cfg_device *cfg,
			  int *err);
void dev_destroy(struct device *dev);

#endif
