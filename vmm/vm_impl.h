/* SPDX-License-Identifier: MIT */
/*
 * The KVM-backed VM: internal to vmm/ (vm.c, vcpu.c, main.c) and arch/.
 * Device models must not include this; they use vmm/vm.h.
 *
 * Threads (see docs/architecture.md):
 *   main thread  creates everything, then runs the event loop: console
 *                input, signals (signalfd), the timeout (timerfd), and the
 *                stop eventfd; on stop it kicks the vCPUs and joins them.
 *   vCPU thread  one per vCPU: KVM_RUN, decode the exit, dispatch PIO/MMIO
 *                to the bus. Never blocks on anything but KVM_RUN, a
 *                device's own lock and console output (back-pressure).
 * A vCPU is kicked by SIGUSR1, whose handler sets run->immediate_exit on the
 * vCPU's own thread, so KVM_RUN returns EINTR even if the signal lands just
 * before it; a blocked console write gives up once the VM is stopping. The
 * main thread kicks again every 100 ms until every vCPU thread is joined.
 */
#ifndef VMM_VM_IMPL_H
#define VMM_VM_IMPL_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/config.h"
#include "vmm/device.h"
#include "vmm/event.h"
#include "vmm/log.h"
#include "vmm/mem.h"
#include "vmm/vm.h"

/* MSI routes the VM can hand out (vm_msi_route_alloc()). */
#define VM_MAX_MSI_ROUTES 1024
/* Irqchip routes the arch keeps in the table besides them: x86 40 (IOAPIC
 * and PIC pins), arm64 one per SPI (256). Fewer would leave the SPIs above
 * the limit without a route once an MSI route is set (KVM_SET_GSI_ROUTING
 * replaces the kernel's default table). */
#define VM_MAX_CHIP_ROUTES 256
/* Runtime RAM mappings (vm_mem_map()); KVM slots after guest RAM's. */
#define VM_MAX_MEM_MAPS 32

struct vm_msi_route {
	bool used;  /* allocated */
	bool valid; /* a message was set */
	bool masked;
	uint64_t addr;
	uint32_t data;
	uint32_t devid;
};

struct vm_mem_map {
	bool used;
	uint64_t gpa;
	uint64_t size;
	void *hva;
	bool readonly;
};

/* Exit reasons are counted by KVM_EXIT_* number; anything above the table
 * goes into the last slot. */
#define VCPU_EXIT_SLOTS 64

struct vcpu_stats {
	uint64_t exits[VCPU_EXIT_SLOTS];
	uint64_t pio_unhandled;
	uint64_t mmio_unhandled;
	uint64_t eintr;
};

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	bool started;
	struct vcpu_stats stats;
	void *arch; /* arch/ private */
};

struct vm {
	const struct vm_config *cfg;
	int kvm_fd;
	int vm_fd;
	size_t run_size;

	struct guest_mem mem;
	struct bus pio;
	struct bus mmio;

	struct device *devices;
	unsigned nr_devices;

	struct vcpu *vcpus;
	unsigned nr_vcpus;

	struct event_loop ev;
	int stop_efd; /* eventfd: written once a stop is requested */

	pthread_mutex_t stop_lock;
	atomic_bool stopping;
	enum vm_stop_reason stop_reason;
	int stop_code;
	char stop_detail[256]; /* what happened, for the final message */

	struct log_ratelimit unhandled_rl;

	/* KVM fast paths (vm.c): what the host supports, probed at creation */
	bool has_ioeventfd, has_ioeventfd_anylen, has_irqfd, has_routing;
	bool has_signal_msi, has_msi_devid;
	/* GSI routing: KVM_SET_GSI_ROUTING replaces the whole table, so the
	 * arch's irqchip routes are kept and the MSI routes appended. Under
	 * irq_lock; the table is first set when an MSI route is. */
	pthread_mutex_t irq_lock;
	struct kvm_irq_routing_entry chip_routes[VM_MAX_CHIP_ROUTES];
	unsigned nr_chip_routes;
	unsigned msi_gsi_base; /* MSI route i is GSI msi_gsi_base + i */
	struct vm_msi_route msi[VM_MAX_MSI_ROUTES];
	struct kvm_irq_routing *routing; /* scratch table for the ioctl */
	/* Runtime RAM mappings, KVM slot MEM_MAX_REGIONS + index; map_lock */
	pthread_mutex_t map_lock;
	struct vm_mem_map maps[VM_MAX_MEM_MAPS];

	struct pci_host *pci; /* devices/pci.c, or NULL */
	void *arch;	      /* arch/ private */
};

/* Open /dev/kvm, create the VM, memory, devices, boot image and vCPUs from
 * cfg. On failure logs why, frees everything, and returns -errno; *code is
 * set to the process exit code to use (VMM_EXIT_USAGE for a bad image,
 * VMM_EXIT_HOST otherwise). */
int vm_create(const struct vm_config *cfg, struct vm **out, int *code);

/* Run until the guest stops. Returns the stop reason; code for
 * VM_STOP_DEBUG_EXIT in *code. */
enum vm_stop_reason vm_run(struct vm *vm, int *code);

/* Print per-vCPU exit counters. */
void vm_print_stats(const struct vm *vm, FILE *out);

void vm_destroy(struct vm *vm);

/* Like vm_request_stop(), with a one-line description kept for the final
 * report (e.g. "triple fault on vCPU 0"). Returns true if this call decided
 * the stop (the first request), false if the VM was already stopping. */
bool vm_stop_with(struct vm *vm, enum vm_stop_reason reason, int code,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* vcpu.c */
int vcpu_create(struct vm *vm, struct vcpu *vcpu, unsigned id);
int vcpu_start(struct vcpu *vcpu);
void vcpu_kick(struct vcpu *vcpu);
/* Wait up to timeout_ns for the thread to exit. true once it is joined (or
 * was never started), false on timeout. */
bool vcpu_join(struct vcpu *vcpu, long timeout_ns);
void vcpu_destroy(struct vcpu *vcpu);
/* Stop the VM for a guest fault; the first one is reported on stderr with
 * the vCPU's registers. Call on the vCPU's own thread. */
void vcpu_guest_fault(struct vcpu *vcpu, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Install the SIGUSR1 kick handler (once, before any vCPU starts). */
int vcpu_signals_init(void);
const char *kvm_exit_name(unsigned reason);

#endif
