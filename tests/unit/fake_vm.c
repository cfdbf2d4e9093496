/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci.h"
#include "fake_vm.h"
#include "vmm/util.h"

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
	pci_host_free(vm->pci);
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

uint64_t fake_vm_mmio_read(struct vm *vm, uint64_t addr, unsigned size)
{
	uint8_t data[8];

	bus_access(&vm->mmio, addr, data, size, false);
	return bus_get(data, size);
}

void fake_vm_mmio_write(struct vm *vm, uint64_t addr, unsigned size,
			uint64_t val)
{
	uint8_t data[8];

	bus_put(data, size, val);
	bus_access(&vm->mmio, addr, data, size, true);
}

/* ---- fast paths: recorded, with KVM's argument rules ---- */

int vm_ioeventfd_add(struct vm *vm, enum vm_bus_kind kind, uint64_t addr,
		     unsigned len, bool has_match, uint64_t match, int efd)
{
	if (vm->no_fast)
		return -ENOTSUP;
	if (len != 0 && len != 1 && len != 2 && len != 4 && len != 8)
		return -EINVAL;
	if (len == 0 && (kind == VM_BUS_PIO || has_match))
		return -EINVAL;
	if (efd < 0)
		return -EBADF;
	for (unsigned i = 0; i < vm->nr_ioeventfds; i++) {
		const struct fake_ioeventfd *e = &vm->ioeventfds[i];

		/* KVM refuses a second one on the same address/match. */
		if (e->kind == kind && e->addr == addr && e->len == len &&
		    e->has_match == has_match &&
		    (!has_match || e->match == match))
			return -EEXIST;
	}
	if (vm->nr_ioeventfds >= FAKE_VM_IOEVENTFDS)
		return -ENOSPC;
	vm->ioeventfds[vm->nr_ioeventfds++] = (struct fake_ioeventfd){
		.kind = kind,
		.addr = addr,
		.len = len,
		.has_match = has_match,
		.match = match,
		.efd = efd,
	};
	return 0;
}

int vm_ioeventfd_del(struct vm *vm, enum vm_bus_kind kind, uint64_t addr,
		     unsigned len, bool has_match, uint64_t match, int efd)
{
	if (vm->no_fast)
		return -ENOTSUP;
	for (unsigned i = 0; i < vm->nr_ioeventfds; i++) {
		const struct fake_ioeventfd *e = &vm->ioeventfds[i];

		if (e->kind == kind && e->addr == addr && e->len == len &&
		    e->has_match == has_match &&
		    (!has_match || e->match == match) && e->efd == efd) {
			vm->ioeventfds[i] = vm->ioeventfds[--vm->nr_ioeventfds];
			return 0;
		}
	}
	return -ENOENT;
}

int fake_vm_ioeventfd_find(const struct vm *vm, enum vm_bus_kind kind,
			   uint64_t addr, int efd)
{
	for (unsigned i = 0; i < vm->nr_ioeventfds; i++)
		if (vm->ioeventfds[i].kind == kind &&
		    vm->ioeventfds[i].addr == addr &&
		    vm->ioeventfds[i].efd == efd)
			return (int)i;
	return -1;
}

int vm_irqfd_add(struct vm *vm, int efd, unsigned gsi)
{
	if (vm->no_fast)
		return -ENOTSUP;
	if (efd < 0)
		return -EBADF;
	if (gsi >= FAKE_VM_MSI_BASE + FAKE_VM_MSI_ROUTES)
		return -EINVAL;
	for (unsigned i = 0; i < vm->nr_irqfds; i++)
		if (vm->irqfds[i].efd == efd)
			return -EBUSY; /* KVM: one GSI per eventfd */
	if (vm->nr_irqfds >= FAKE_VM_IRQFDS)
		return -ENOSPC;
	vm->irqfds[vm->nr_irqfds].efd = efd;
	vm->irqfds[vm->nr_irqfds].gsi = gsi;
	vm->nr_irqfds++;
	return 0;
}

int vm_irqfd_del(struct vm *vm, int efd, unsigned gsi)
{
	if (vm->no_fast)
		return -ENOTSUP;
	for (unsigned i = 0; i < vm->nr_irqfds; i++) {
		if (vm->irqfds[i].efd == efd && vm->irqfds[i].gsi == gsi) {
			vm->irqfds[i] = vm->irqfds[--vm->nr_irqfds];
			return 0;
		}
	}
	return 0; /* KVM: deassigning an unknown irqfd is not an error */
}

int fake_vm_irqfd_gsi(const struct vm *vm, int efd)
{
	for (unsigned i = 0; i < vm->nr_irqfds; i++)
		if (vm->irqfds[i].efd == efd)
			return (int)vm->irqfds[i].gsi;
	return -1;
}

int vm_msi_route_alloc(struct vm *vm)
{
	if (vm->no_fast)
		return -ENOTSUP;
	for (unsigned i = 0; i < FAKE_VM_MSI_ROUTES; i++) {
		if (vm->msi[i].used)
			continue;
		vm->msi[i] = (struct fake_msi_route){ .used = true };
		return (int)(FAKE_VM_MSI_BASE + i);
	}
	return -ENOSPC;
}

static struct fake_msi_route *msi_route(struct vm *vm, unsigned gsi)
{
	if (gsi < FAKE_VM_MSI_BASE ||
	    gsi - FAKE_VM_MSI_BASE >= FAKE_VM_MSI_ROUTES ||
	    !vm->msi[gsi - FAKE_VM_MSI_BASE].used)
		return NULL;
	return &vm->msi[gsi - FAKE_VM_MSI_BASE];
}

const struct fake_msi_route *fake_vm_msi_route(const struct vm *vm,
					       unsigned gsi)
{
	return msi_route((struct vm *)vm, gsi);
}

int vm_msi_route_set(struct vm *vm, unsigned gsi, uint64_t addr, uint32_t data,
		     uint32_t devid, bool masked)
{
	struct fake_msi_route *r = msi_route(vm, gsi);

	if (!r)
		return -EINVAL;
	r->valid = true;
	r->masked = masked;
	r->msg =
		(struct fake_msi){ .addr = addr, .data = data, .devid = devid };
	r->sets++;
	return 0;
}

void vm_msi_route_free(struct vm *vm, unsigned gsi)
{
	struct fake_msi_route *r = msi_route(vm, gsi);

	if (r)
		*r = (struct fake_msi_route){ 0 };
}

int vm_signal_msi(struct vm *vm, uint64_t addr, uint32_t data, uint32_t devid)
{
	if (vm->nr_signaled < FAKE_VM_MSI_SIGNALS)
		vm->signaled[vm->nr_signaled] = (struct fake_msi){
			.addr = addr, .data = data, .devid = devid
		};
	vm->nr_signaled++;
	return 0;
}

int vm_mem_map(struct vm *vm, uint64_t gpa, uint64_t size, void *hva,
	       bool readonly)
{
	int idx = -1;

	vm->map_calls++;
	if (!size || size % 4096 || gpa % 4096 || (uintptr_t)hva % 4096 ||
	    gpa + (size - 1) < gpa)
		return -EINVAL;
	for (unsigned i = 0; i < vm->mem.nr; i++)
		if (ranges_overlap(gpa, size, vm->mem.regions[i].gpa,
				   vm->mem.regions[i].size))
			return -EEXIST;
	for (unsigned i = 0; i < FAKE_VM_MAPS; i++) {
		if (!vm->maps[i].used) {
			if (idx < 0)
				idx = (int)i;
		} else if (ranges_overlap(gpa, size, vm->maps[i].gpa,
					  vm->maps[i].size)) {
			return -EEXIST;
		}
	}
	if (idx < 0)
		return -ENOSPC;
	vm->maps[idx] = (struct fake_mem_map){ .used = true,
					       .gpa = gpa,
					       .size = size,
					       .hva = hva,
					       .readonly = readonly };
	return idx;
}

void vm_mem_unmap(struct vm *vm, int handle)
{
	vm->unmap_calls++;
	if (handle >= 0 && handle < FAKE_VM_MAPS)
		vm->maps[handle] = (struct fake_mem_map){ 0 };
}

const struct fake_mem_map *fake_vm_map_at(const struct vm *vm, uint64_t gpa)
{
	for (unsigned i = 0; i < FAKE_VM_MAPS; i++)
		if (vm->maps[i].used && gpa >= vm->maps[i].gpa &&
		    gpa - vm->maps[i].gpa < vm->maps[i].size)
			return &vm->maps[i];
	return NULL;
}

struct pci_host **vm_pci_host_slot(struct vm *vm)
{
	return &vm->pci;
}
