/* SPDX-License-Identifier: MIT */
/*
 * A fake VM for unit tests: implements the core calls of vmm/vm.h without
 * KVM, and records what devices did (IRQ levels, stop requests, watched fds)
 * so tests can assert on it.
 */
#ifndef TESTS_FAKE_VM_H
#define TESTS_FAKE_VM_H

#include <stdbool.h>

#include "vmm/bus.h"
#include "vmm/mem.h"
#include "vmm/vm.h"

#define FAKE_VM_IRQS	64
#define FAKE_VM_WATCHES 8

struct vm {
	struct bus pio;
	struct bus mmio;
	struct guest_mem mem;
	int irq_level[FAKE_VM_IRQS];
	unsigned irq_raises[FAKE_VM_IRQS]; /* 0 -> 1 transitions */
	enum vm_stop_reason stop_reason;
	int stop_code;
	unsigned stop_requests;
	struct {
		int fd;
		vm_fd_cb cb;
		void *opaque;
	} watches[FAKE_VM_WATCHES];
	unsigned nr_watches;
};

/* Fresh fake VM (buses empty, no memory). */
struct vm *fake_vm_new(void);
void fake_vm_free(struct vm *vm);

/* Run the callback watching fd, as the event loop would. false if none. */
bool fake_vm_fire(struct vm *vm, int fd);

/* Bus access helpers returning the value read. */
uint64_t fake_vm_pio_read(struct vm *vm, uint64_t port, unsigned size);
void fake_vm_pio_write(struct vm *vm, uint64_t port, unsigned size,
		       uint64_t val);

#endif
