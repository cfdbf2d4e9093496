/* SPDX-License-Identifier: MIT */
/*
 * The core calls a device model may make. vmm/vm.c implements them on a real
 * KVM VM; tests/unit/fake_vm.c implements them for unit tests. Nothing else
 * in devices/ or virtio/ reaches KVM.
 */
#ifndef VMM_VM_H
#define VMM_VM_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/mem.h"

struct vm;

enum vm_bus_kind { VM_BUS_PIO, VM_BUS_MMIO };

/* Why the VM stops; decides the process exit code (vmm/exitcode.h). */
enum vm_stop_reason {
	VM_STOP_NONE = 0,
	VM_STOP_POWEROFF,    /* clean power-off: exit 0 */
	VM_STOP_DEBUG_EXIT,  /* debug-exit device: code is (v << 1) | 1 */
	VM_STOP_REBOOT,	     /* guest reset request */
	VM_STOP_GUEST_FAULT, /* triple fault, forbidden I/O, ... */
	VM_STOP_HOST_ERROR,  /* KVM or host failure */
	VM_STOP_TIMEOUT,
	VM_STOP_SIGNAL,
};

struct bus *vm_bus(struct vm *vm, enum vm_bus_kind kind);
struct guest_mem *vm_mem(struct vm *vm);

/* Set the level of interrupt line `irq` (a GSI on x86, an SPI number on
 * arm64). Edge-triggered users pulse it: 1 then 0. 0 or negative errno. */
int vm_set_irq(struct vm *vm, unsigned irq, int level);

/*
 * Ask the VM to stop: all vCPUs leave KVM_RUN, the main loop exits, and
 * main() maps reason (and code, for VM_STOP_DEBUG_EXIT) to the process exit
 * status. The first request wins; later ones are ignored. Callable from any
 * thread, including a vCPU thread inside a bus handler.
 */
void vm_request_stop(struct vm *vm, enum vm_stop_reason reason, int code);

/*
 * Watch fd for input on the main thread's event loop: cb(opaque) runs when
 * fd is readable (or hung up). Only before the VM starts running.
 */
typedef void (*vm_fd_cb)(void *opaque);
int vm_watch_fd(struct vm *vm, int fd, vm_fd_cb cb, void *opaque);
/* Stop watching fd (e.g. on EOF). Main thread only. */
void vm_unwatch_fd(struct vm *vm, int fd);

#endif
