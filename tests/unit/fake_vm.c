/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fake_vm.h"

struct vm *fake_vm_new(void)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	if (!vm)
		abort();
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
	return vm;
}

void fake_vm_free(struct vm *vm)
{
	if (!vm)
		return;
	bus_free(&vm->pio);
	bus_free(&vm->mmio);
	mem_free(&vm->mem);
	free(vm);
}

struct bus *vm_bus(struct vm *vm, enum vm_bus_kind kind)
{
	return kind == VM_BUS_PIO ? &vm->pio : &vm->mmio;
}

struct guest_mem *vm_mem(struct vm *vm)
{
	return &vm->mem;
}

int vm_set_irq(struct vm *vm, unsigned irq, int level)
{
	if (irq >= FAKE_VM_IRQS)
		return -EINVAL;
	if (level && !vm->irq_level[irq])
		vm->irq_raises[irq]++;
	vm->irq_level[irq] = !!level;
	return 0;
}

void vm_request_stop(struct vm *vm, enum vm_stop_reason reason, int code)
{
	vm->stop_requests++;
	if (vm->stop_reason != VM_STOP_NONE)
		return;
	vm->stop_reason = reason;
	vm->stop_code = code;
}

int vm_watch_fd(struct vm *vm, int fd, vm_fd_cb cb, void *opaque)
{
	if (vm->nr_watches >= FAKE_VM_WATCHES)
		return -ENOSPC;
	vm->watches[vm->nr_watches].fd = fd;
	vm->watches[vm->nr_watches].cb = cb;
	vm->watches[vm->nr_watches].opaque = opaque;
	vm->nr_watches++;
	return 0;
}

void vm_unwatch_fd(struct vm *vm, int fd)
{
	for (unsigned i = 0; i < vm->nr_watches; i++) {
		if (vm->watches[i].fd != fd)
			continue;
		vm->watches[i] = vm->watches[--vm->nr_watches];
		return;
	}
}

bool fake_vm_fire(struct vm *vm, int fd)
{
	for (unsigned i = 0; i < vm->nr_watches; i++) {
		if (vm->watches[i].fd == fd) {
			vm->watches[i].cb(vm->watches[i].opaque);
			return true;
		}
	}
	return false;
}

uint64_t fake_vm_pio_read(struct vm *vm, uint64_t port, unsigned size)
{
	uint8_t data[8];

	bus_access(&vm->pio, port, data, size, false);
	return bus_get(data, size);
}

void fake_vm_pio_write(struct vm *vm, uint64_t port, unsigned size,
		       uint64_t val)
{
	uint8_t data[8];

	bus_put(data, size, val);
	bus_access(&vm->pio, port, data, size, true);
}
