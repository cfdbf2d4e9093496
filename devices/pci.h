/* SPDX-License-Identifier: MIT */
/*
 * PCI: one host bridge per VM (bus 0, function 0 of each device only) and
 * the API a PCI device model uses to appear on it.
 *
 * The host bridge
 *   Created by the VM before any device when the config has a PCI device
 *   (pci_cfg_wanted(); vmm/vm.c), so users never configure it. It is
 *   00:00.0 (class 0x060000, PCI_HOST_VENDOR_ID/DEVICE_ID), decodes config
 *   space through ECAM (bus 0 only) and, where the layout says so (x86),
 *   through the type-1 ports 0xcf8-0xcff, and owns the I/O, 32-bit and
 *   64-bit BAR windows as whole bus regions: a BAR access is dispatched to
 *   the function whose BAR currently decodes that address.
 *   On x86 the byte register at 0xcf9 (reset control) lies inside the
 *   type-1 block: pc-reset hands its handler to the host with
 *   pci_host_claim_port() when a host exists.
 *
 * A PCI function, at device creation (main thread, before the VM runs):
 *   pci_dev_new()       slot from the `pci-slot` key (PCI_DEV_PARAM_SLOT in
 *                       the device's params) or the next free one from 1
 *   pci_bar_add()       each BAR: a handler (bus_fn, offset inside the BAR)
 *                       or host RAM mapped into the guest (KVM memory slot)
 *   pci_cap_add()       capabilities (vendor-specific ones for virtio)
 *   pci_msix_init()     MSI-X table + PBA inside a BAR
 *   pci_dev_plug()      assigns BAR addresses from the windows, enables
 *                       decode (as firmware would: bare-metal guests can
 *                       use the BARs as found) and makes it visible
 *   pci_dev_free()      from the device's destroy()
 *
 * Guest control: the guest may size, move and disable BARs, toggle decode in
 * the command register, program MSI-X. Every offset from the guest is
 * bounds-checked: misaligned or odd-sized config accesses read all-ones and
 * write nothing, registers past the 256 bytes read 0.
 *
 * Threads: config and BAR accesses come from vCPU threads. The host
 * serializes config space (one lock for all functions); BAR dispatch looks
 * the BAR up under a read lock and calls the handler without any PCI lock
 * held. Callbacks a device gives (bar_map, capability hooks) run with the
 * config lock held (on a vCPU thread, or in pci_dev_plug(), pci_dev_reset(),
 * pci_dev_free()): they may take the device's own lock, so the device must
 * not call those three while holding it. pci_msix_notify(),
 * pci_msix_irqfd(), pci_msix_enabled() and pci_bar_addr() take no config
 * lock: callable from any thread, with the device lock held, and from the
 * callbacks.
 *
 * INTx (the legacy interrupt pin) is not implemented: Interrupt Pin reads
 * 0 and devices need MSI-X to interrupt.
 */
#ifndef DEVICES_PCI_H
#define DEVICES_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/abi/pci.h"
#include "vmm/bus.h"
#include "vmm/config.h"
#include "vmm/device.h"

struct vm;
struct pci_dev;
struct pci_host;

/* ---- configuration ---- */

/* Put this in a PCI device type's params. Unset: the next free slot. */
#define PCI_DEV_PARAM_SLOT                                                 \
	{                                                                  \
		.key = "pci-slot", .kind = PARAM_U64, .min = 1, .max = 31, \
		.help = "PCI device number on bus 0 (default: the next "   \
			"free one from 1)"                                 \
	}

/*
 * Is this configured device a PCI function? True when its type has the
 * `pci-slot` key and either has no `transport` key or `transport = pci`
 * (virtio devices choose their transport).
 */
bool pci_cfg_is_pci(const struct cfg_device *d);
/* Does the config need a PCI host bridge (any pci_cfg_is_pci() device)? */
bool pci_cfg_wanted(const struct vm_config *cfg);
/* Cross-device rules: at most 31 PCI devices, no two on one pci-slot.
 * 0 or -EINVAL with err filled. */
int pci_cfg_check(const struct vm_config *cfg, struct cfg_error *err);

/* ---- the host bridge ---- */

/* Guest-physical layout of the host bridge; the arch supplies it
 * (arch_pci_layout()). A window of size 0 does not exist. */
struct pci_layout {
	uint64_t ecam_base; /* ECAM for bus 0: 1 MiB */
	uint64_t io_base, io_size;
	uint64_t mmio32_base, mmio32_size;
	uint64_t mmio64_base, mmio64_size;
	bool type1_ports; /* x86: config mechanism #1 at 0xcf8-0xcff */
};

/* The x86 PC's layout (devices/abi/x86_pc.h): what arch/x86's
 * arch_pci_layout() supplies, and the fake VM's of the unit tests and fuzz
 * targets. */
extern const struct pci_layout pci_layout_x86;

/*
 * Create the VM's host bridge and register its bus regions (before the bus
 * is sealed). cfg may be NULL; if given, the slots its devices ask for with
 * `pci-slot` are kept free when other devices are auto-assigned. 0, -EEXIST
 * (already one) or -errno (logged).
 */
int pci_host_create(struct vm *vm, const struct pci_layout *layout,
		    const struct vm_config *cfg);
/* Free the host (after every PCI function). NULL-safe. */
void pci_host_free(struct pci_host *host);
/* The VM's host bridge, or NULL. */
struct pci_host *pci_host_get(struct vm *vm);

/*
 * A platform device whose port lies inside the host's type-1 block hands
 * its handler over: fn gets the accesses of exactly `size` bytes at `port`
 * (offset 0). Only 0xcf9, size 1 (the reset control register) is allowed.
 * Returns 0, -ENODEV (no host or no type-1 ports: register the port
 * yourself) or -EINVAL.
 */
int pci_host_claim_port(struct vm *vm, uint16_t port, unsigned size, bus_fn fn,
			void *opaque);

/* ---- a PCI function ---- */

struct pci_dev_info {
	uint16_t vendor_id, device_id;
	uint16_t subsys_vendor_id, subsys_id;
	uint8_t revision;
	uint32_t class_code; /* base class << 16 | subclass << 8 | prog-if */
	/*
	 * Optional: BAR `bar` starts (mapped) or stops decoding at guest
	 * address addr -- decode toggled in the command register, the BAR
	 * moved (an unmap at the old address, then a map at the new one),
	 * MSI-X... A device re-registers its ioeventfds here. Called from
	 * pci_dev_plug() for the initial addresses and from vCPU threads.
	 */
	void (*bar_map)(void *opaque, unsigned bar, uint64_t addr, bool mapped);
	void *opaque;
};

/*
 * A new function for `dev` (its name for messages, its cfg for pci-slot) on
 * the VM's host. Not visible to the guest until pci_dev_plug(). 0 or
 * -ENODEV (no host), -EBUSY (slot taken), -ENOSPC (bus full), -ENOMEM;
 * errors are logged.
 */
int pci_dev_new(struct vm *vm, const struct device *dev,
		const struct pci_dev_info *info, struct pci_dev **out);

enum pci_bar_kind {
	PCI_BAR_IO = 1, /* I/O space: size 4..256 */
	PCI_BAR_MEM32,	/* 32-bit memory BAR */
	PCI_BAR_MEM64,	/* 64-bit memory BAR: takes bar and bar + 1 */
};

struct pci_bar_info {
	enum pci_bar_kind kind;
	bool prefetchable; /* memory BARs */
	uint64_t size;	   /* power of two; memory >= 16 (placed 4 KiB
			    * aligned), RAM BARs a multiple of 4 KiB */
	/* Handler BAR: accesses at offset inside the BAR (not those of an
	 * MSI-X table/PBA placed in it). */
	bus_fn fn;
	void *opaque;
	/* RAM BAR (fn == NULL, memory BARs only): `ram` (size bytes, page
	 * aligned, e.g. a MAP_SHARED mmap of a memfd or shm file, which the
	 * device keeps open and unmaps after pci_dev_free()) is mapped into
	 * the guest as a KVM memory slot while the BAR decodes: no exits.
	 * Where the slot cannot be made (the guest moved the BAR over another
	 * one) the BAR reads all-ones until it moves again. */
	void *ram;
	bool ram_readonly;
};

/* Declare BAR n (0..5; a 64-bit one 0..4). 0 or -EINVAL/-EEXIST. */
int pci_bar_add(struct pci_dev *d, unsigned n, const struct pci_bar_info *bar);

/*
 * Guest address BAR n decodes at, or 0 if it does not decode now (decode
 * off in the command register, or a BAR the guest moved out of the windows).
 */
uint64_t pci_bar_addr(struct pci_dev *d, unsigned n);

/*
 * Capability access hook: after the default handling of a guest access of
 * `size` bytes at `off` inside the capability (reads: data holds the config
 * bytes; writes: the bytes under the write mask are stored), with `cap`
 * pointing at the capability's live bytes in config space (the hook may
 * change them, e.g. to answer a read).
 */
typedef void (*pci_cap_fn)(void *opaque, uint8_t *cap, unsigned off,
			   uint8_t *data, unsigned size, bool is_write);

/*
 * Append a capability: `cap` is the whole structure, len bytes (2..192),
 * including the ID byte (cap[0]) and next pointer (cap[1], filled in here).
 * wmask (len bytes, NULL: read-only) marks guest-writable bits; fn/opaque
 * may be NULL. Returns the capability's offset in config space (0x40..)
 * or -ENOSPC/-EINVAL. Before pci_dev_plug() only.
 */
int pci_cap_add(struct pci_dev *d, const void *cap, unsigned len,
		const uint8_t *wmask, pci_cap_fn fn, void *opaque);

/*
 * MSI-X with nvec vectors (1..2048): table (16 bytes per vector) at
 * table_off and PBA at pba_off in memory BAR `bar` (declared before, a
 * handler BAR; both 8-byte aligned, inside it, not overlapping). Adds the
 * capability and allocates one MSI route per vector. 0 or -errno.
 */
int pci_msix_init(struct pci_dev *d, unsigned nvec, unsigned bar,
		  uint64_t table_off, uint64_t pba_off);

/*
 * Fire vector vec from userspace: delivered now if MSI-X is enabled and
 * neither the vector nor the function is masked, else its PBA bit is set
 * (if enabled) and it is delivered on unmask. 0, -EINVAL (no such vector)
 * or -errno from the VM.
 */
int pci_msix_notify(struct pci_dev *d, unsigned vec);

/*
 * The eventfd for vector vec: a write (of 1) fires it without a userspace
 * exit, through a KVM irqfd on the vector's MSI route while it is enabled
 * and unmasked; while masked the count stays in the eventfd and becomes the
 * PBA bit, delivered on unmask. Owned by the PCI layer. Returns the fd or
 * -ENOTSUP (no irqfd: use pci_msix_notify()), -EINVAL.
 */
int pci_msix_irqfd(struct pci_dev *d, unsigned vec);

/*
 * Make fd, an eventfd the device got from elsewhere (e.g. from an ivshmem
 * server, shared with other processes), vector vec's irqfd in place of the
 * one pci_msix_irqfd() creates: a write to it fires the vector without a
 * userspace exit, exactly as described there. The PCI layer keeps its own
 * duplicate (the caller may close fd) and sets O_NONBLOCK on it, which is
 * shared by every holder of that open file (harmless for eventfds that
 * others only write). fd -1 removes the vector's eventfd. A signal left in
 * the replaced eventfd stays pending. pci_msix_irqfd() returns the
 * duplicate afterwards. Callable from any thread (takes the MSI-X lock).
 * 0, -ENOTSUP (no irqfd/MSI routes: watch fd and call pci_msix_notify()),
 * -EINVAL or -errno (fcntl).
 */
int pci_msix_set_irqfd(struct pci_dev *d, unsigned vec, int fd);

/* Is MSI-X enabled (and the function not masked)? For devices that pick
 * a notification path. */
bool pci_msix_enabled(struct pci_dev *d);

/* Assign BAR addresses, turn on I/O and memory decode, show the function.
 * bar_map() is called for each BAR. 0 or -ENOSPC (window full; logged). */
int pci_dev_plug(struct pci_dev *d);

/* Back to the state pci_dev_plug() left (guest reset). */
void pci_dev_reset(struct pci_dev *d);

/* Remove and free the function (device destroy; the VM is not running):
 * decode off first, so bar_map(..., false) runs for each decoding BAR (drop
 * ioeventfds there) and RAM BARs are unmapped; MSI routes and irqfds are
 * released. NULL-safe. */
void pci_dev_free(struct pci_dev *d);

/* Bus/device/function number (bus << 8 | dev << 3 | fn), e.g. for MSI
 * devids. */
uint16_t pci_dev_bdf(const struct pci_dev *d);

#endif
