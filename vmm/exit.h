/* SPDX-License-Identifier: MIT */
/*
 * Decoding of the PIO and MMIO exits in struct kvm_run, separate from the
 * vCPU thread so unit tests can feed it hand-made (and malformed) run
 * structures without KVM.
 *
 * What is checked: the PIO data buffer (data_offset, size * count) lies
 * inside the run mapping, sizes are 1/2/4 (PIO) or 1/2/4/8 (MMIO), and the
 * string-I/O repeat count is bounded by that buffer.
 */
#ifndef VMM_EXIT_H
#define VMM_EXIT_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/bus.h"

struct exit_ctx {
	const struct bus *pio;
	const struct bus *mmio;
	struct kvm_run *run;
	size_t run_size;
	/* An access nobody claimed. Return true to go on, false to stop. */
	bool (*unhandled)(void *opaque, const char *kind, uint64_t addr,
			  unsigned size, bool is_write, const uint8_t *data);
	/* The guest did something illegal; msg says what. The VM stops. */
	void (*fault)(void *opaque, const char *msg);
	void *opaque;
};

/* Handle run->io / run->mmio. 0: resume the guest; 1: stop. */
int exit_decode_pio(const struct exit_ctx *c);
int exit_decode_mmio(const struct exit_ctx *c);

#endif
