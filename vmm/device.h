/* SPDX-License-Identifier: MIT */
/*
 * Device model contract. Each device type is a `const struct device_type`
 * listed in devices/registry.c (the one place that shows the set and order).
 *
 * Life cycle, all on the main thread:
 *   config time:  the config loader validates a [device "NAME"] section
 *                 against type->params, then calls type->check() (cross-key
 *                 rules) and type->resources() (ports/MMIO/IRQs it will
 *                 claim, checked for overlaps) -- before any VM exists.
 *   vm creation:  type->create() registers bus regions through the core
 *                 calls in vmm/vm.h, in registry order of the config.
 *   run:          bus handlers run on vCPU threads; fd callbacks on the main
 *                 (event loop) thread. A device locks its own state.
 *   reset/stop:   type->reset() on guest reboot, type->destroy() at exit.
 *
 * Devices touch KVM only through vmm/vm.h, so unit tests drive them with a
 * fake VM (tests/unit/fake_vm.c).
 */
#ifndef VMM_DEVICE_H
#define VMM_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/config.h"

struct vm;
struct device;

enum param_kind {
	PARAM_U64,  /* number, decimal or 0x hex; min/max apply */
	PARAM_SIZE, /* size with K/M/G suffix; min/max apply */
	PARAM_BOOL, /* yes/no/true/false/on/off/1/0 */
	PARAM_STR,  /* free text */
	PARAM_ENUM, /* one of choices; num = index */
	PARAM_PATH, /* file path, resolved against the config's directory */
};

struct dev_param {
	const char *key;
	enum param_kind kind;
	const char *def; /* default as text; NULL: none */
	bool required;
	const char *const *choices; /* PARAM_ENUM: NULL-terminated */
	uint64_t min, max;	    /* numeric bounds; max == 0: no bound */
	const char *help;
	/* The default does not apply when this other key is set (uart8250's
	 * port with address): `vmm check` says so instead of showing it. */
	const char *unused_with;
};

enum dev_res_kind { DEV_RES_PIO, DEV_RES_MMIO, DEV_RES_IRQ };

struct dev_resource {
	enum dev_res_kind kind;
	uint64_t base;
	uint64_t size;	 /* 1 for an IRQ */
	const char *key; /* the config key that chose it, for messages */
};

#define DEV_MAX_RESOURCES 8

struct device_type {
	const char *name; /* the value of `type =` */
	const char *help;
	const struct dev_param
		*params; /* terminated by an entry with key NULL */

	/* Optional: rules across keys. 0 or -EINVAL with err filled. */
	int (*check)(const struct cfg_device *cfg, struct cfg_error *err);
	/* Optional: resources the device will claim; returns how many. */
	unsigned (*resources)(const struct cfg_device *cfg,
			      struct dev_resource *res, unsigned max);

	/* Create the device in vm; fill dev->priv. 0 or a negative errno
	 * (after logging what failed, naming the device). */
	int (*create)(struct vm *vm, struct device *dev);
	void (*reset)(struct device *dev);   /* optional */
	void (*destroy)(struct device *dev); /* optional; frees priv */
};

struct device {
	const struct device_type *type;
	const struct cfg_device *cfg;
	const char *name; /* cfg->name */
	struct vm *vm;
	void *priv;
};

/* The common resources() answer: `size` ports from the "port" key. */
static inline unsigned dev_port_resource(const struct cfg_device *cfg,
					 uint64_t size,
					 struct dev_resource *res, unsigned max)
{
	if (!max)
		return 0;
	res[0] = (struct dev_resource){
		.kind = DEV_RES_PIO,
		.base = cfg_dev_num(cfg, "port"),
		.size = size,
		.key = "port",
	};
	return 1;
}

/* devices/registry.c */
const struct device_type *device_type_find(const char *name);
/* NULL-terminated list of all types, registry order. */
extern const struct device_type *const device_types[];

#endif
