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

/*
 * Fast paths that need no userspace exit (KVM ioeventfd/irqfd). All return
 * 0 or a negative errno; a VM without the capability gives -ENOTSUP and the
 * caller falls back to a bus handler / vm_set_irq().
 *
 * ioeventfd: a guest write of `len` bytes (1, 2, 4 or 8; 0 = any length,
 * MMIO only) to addr signals efd instead of exiting. With has_match, only a
 * write of exactly `match`. Callable before and while the VM runs (e.g. when
 * the guest moves a PCI BAR); _del takes the same arguments as _add.
 */
int vm_ioeventfd_add(struct vm *vm, enum vm_bus_kind kind, uint64_t addr,
		     unsigned len, bool has_match, uint64_t match, int efd);
int vm_ioeventfd_del(struct vm *vm, enum vm_bus_kind kind, uint64_t addr,
		     unsigned len, bool has_match, uint64_t match, int efd);

/* irqfd: a write to efd pulses interrupt `gsi` (a line from vm_set_irq()'s
 * numbering, or an MSI route from vm_msi_route_alloc()). */
int vm_irqfd_add(struct vm *vm, int efd, unsigned gsi);
int vm_irqfd_del(struct vm *vm, int efd, unsigned gsi);

/*
 * MSI routes, for MSI-X vectors driven by irqfds: allocate a GSI (>= the
 * irqchip's lines), then point it at the message the guest programmed.
 * devid identifies the requester (PCI bus/dev/fn) for interrupt controllers
 * that need it (arm64 ITS); x86 ignores it. A masked vector keeps its GSI
 * but delivers nothing. Thread-safe (vCPU threads program MSI-X tables).
 */
int vm_msi_route_alloc(struct vm *vm);
int vm_msi_route_set(struct vm *vm, unsigned gsi, uint64_t addr, uint32_t data,
		     uint32_t devid, bool masked);
void vm_msi_route_free(struct vm *vm, unsigned gsi);
/* Deliver one MSI now, from userspace (slow path; no route needed). */
int vm_signal_msi(struct vm *vm, uint64_t addr, uint32_t data, uint32_t devid);

/*
 * Guest RAM added while the VM runs (a PCI BAR backed by host memory, e.g.
 * ivshmem): map [hva, hva + size) at gpa as a KVM memory slot. gpa, size and
 * hva page aligned; the range must not overlap guest RAM or another such
 * mapping. Returns a handle (>= 0) for vm_mem_unmap(), or -EINVAL, -EEXIST
 * (overlap), -ENOSPC (no slot) or -errno from KVM. Thread-safe. The VMM's
 * own view (vm_mem(), mem_ptr()) does not include these mappings.
 */
int vm_mem_map(struct vm *vm, uint64_t gpa, uint64_t size, void *hva,
	       bool readonly);
/* Remove a vm_mem_map() mapping: guest accesses exit as MMIO again. */
void vm_mem_unmap(struct vm *vm, int handle);

/* The VM's PCI host bridge (devices/pci.c): a slot the PCI layer fills when
 * it creates the host; the VM frees it with pci_host_free() after the
 * devices. */
struct pci_host;
struct pci_host **vm_pci_host_slot(struct vm *vm);

#endif
