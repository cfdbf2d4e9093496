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

#define FAKE_VM_IRQS	    64
#define FAKE_VM_WATCHES	    8
#define FAKE_VM_IOEVENTFDS  64
#define FAKE_VM_IRQFDS	    64
#define FAKE_VM_MSI_BASE    24 /* first MSI GSI, as on x86 */
#define FAKE_VM_MSI_ROUTES  256
#define FAKE_VM_MSI_SIGNALS 64
#define FAKE_VM_MAPS	    8

struct fake_ioeventfd {
	enum vm_bus_kind kind;
	uint64_t addr;
	unsigned len;
	bool has_match;
	uint64_t match;
	int efd;
};

struct fake_msi {
	uint64_t addr;
	uint32_t data;
	uint32_t devid;
};

struct fake_msi_route {
	bool used, valid, masked;
	struct fake_msi msg; /* the last message set */
	unsigned sets;	     /* vm_msi_route_set() calls */
};

struct fake_mem_map {
	bool used;
	uint64_t gpa, size;
	void *hva;
	bool readonly;
};

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

	/* Fast paths: no_fast makes them all -ENOTSUP (a host without). */
	bool no_fast;
	struct fake_ioeventfd ioeventfds[FAKE_VM_IOEVENTFDS];
	unsigned nr_ioeventfds;
	struct {
		int efd;
		unsigned gsi;
	} irqfds[FAKE_VM_IRQFDS];
	unsigned nr_irqfds;
	struct fake_msi_route msi[FAKE_VM_MSI_ROUTES]; /* GSI base + i */
	struct fake_msi signaled[FAKE_VM_MSI_SIGNALS]; /* vm_signal_msi() */
	unsigned nr_signaled;			       /* total calls */
	struct fake_mem_map maps[FAKE_VM_MAPS];
	unsigned map_calls, unmap_calls;
	struct pci_host *pci;
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
uint64_t fake_vm_mmio_read(struct vm *vm, uint64_t addr, unsigned size);
void fake_vm_mmio_write(struct vm *vm, uint64_t addr, unsigned size,
			uint64_t val);

/* Index of the ioeventfd registered with these arguments, or -1. */
int fake_vm_ioeventfd_find(const struct vm *vm, enum vm_bus_kind kind,
			   uint64_t addr, int efd);
/* GSI the irqfd efd drives, or -1. */
int fake_vm_irqfd_gsi(const struct vm *vm, int efd);
/* The MSI route of gsi, or NULL if not allocated. */
const struct fake_msi_route *fake_vm_msi_route(const struct vm *vm,
					       unsigned gsi);
/* The runtime mapping covering gpa, or NULL. */
const struct fake_mem_map *fake_vm_map_at(const struct vm *vm, uint64_t gpa);

#endif
