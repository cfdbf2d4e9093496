/* SPDX-License-Identifier: MIT */
/*
 * The device-common layer of virtio 1.x, between a transport (virtio/mmio.c,
 * virtio/pci.c) and a device type (virtio/net.c, ...): feature negotiation,
 * the device status state machine, the queues' configuration, the device
 * configuration space and its generation, DEVICE_NEEDS_RESET.
 *
 * Roles
 *   transport  decodes the guest's register accesses (vCPU threads) and
 *              calls the virtio_dev_*() functions below with vdev->lock
 *              held; delivers interrupts (struct virtio_transport).
 *   device     supplies struct virtio_dev_ops: validates the negotiated
 *              features, starts its data path at DRIVER_OK and stops it at
 *              reset; processes its queues on its own I/O threads
 *              (virtio_io_thread_create()), never on a vCPU thread.
 *
 * Notifications
 *   driver -> device: every queue has an eventfd, kick_fd, created here.
 *   The transport points a KVM ioeventfd at it (vm_ioeventfd_add()) or, when
 *   that is not available, writes it from its bus handler; so the device
 *   (or vhost) only ever waits on kick_fd.
 *   device -> driver: virtio_dev_notify_queue() / virtio_dev_notify_config()
 *   set the interrupt status bits (ISR) and call the transport, which
 *   signals an irqfd (or falls back to vm_set_irq()/MSI from userspace).
 *
 * Locking
 *   vdev->lock protects the register-level state (selectors, features,
 *   queue configuration). The transport holds it around virtio_dev_*()
 *   calls; ops->start()/stop() run with it held. The status byte, the ISR
 *   and the config generation are atomics, so the functions a data-path
 *   thread calls (virtio_dev_notify_*(), virtio_dev_needs_reset()) never
 *   take vdev->lock: a device may call them holding its own locks, and its
 *   stop() may wait for its threads while vdev->lock is held.
 */
#ifndef VIRTIO_VIRTIO_H
#define VIRTIO_VIRTIO_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/abi/virtio.h"
#include "devices/pci.h"
#include "virtio/virtqueue.h"
#include "vmm/config.h"
#include "vmm/device.h"
#include "vmm/log.h"

struct vm;
struct virtio_dev;

#define VIRTIO_MAX_QUEUES 64
#define VIRTIO_F(bit)	  (1ULL << (bit))

struct virtio_queue {
	struct virtq vq;
	uint16_t num_max; /* device maximum; 0: the queue does not exist */
	uint16_t num;	  /* size the driver chose (default num_max) */
	uint64_t desc, driver, device; /* ring addresses the driver wrote */
	bool enabled;		       /* the driver made it ready */
	int kick_fd; /* eventfd: driver notifications (ioeventfd target) */
};

/* What a device type supplies. All called with vdev->lock held. */
struct virtio_dev_ops {
	/*
	 * Optional: the driver sets FEATURES_OK with `features` (a subset of
	 * the offered ones, VERSION_1 included; checked before). Return 0 to
	 * accept, -EINVAL to refuse (FEATURES_OK stays clear), e.g. when a
	 * feature's dependency (spec 5.x.3.1) is missing.
	 */
	int (*features_ok)(struct virtio_dev *vdev, uint64_t features);
	/*
	 * The driver set DRIVER_OK: start the data path (vdev->features is
	 * final, enabled queues are configured). 0, or a negative errno after
	 * which the common layer sets DEVICE_NEEDS_RESET.
	 */
	int (*start)(struct virtio_dev *vdev);
	/*
	 * Device reset (status 0, or the VM's reset): stop the data path. On
	 * return no thread of the device touches the queues any more, and
	 * nothing of it refers to guest memory. Called even if start() was
	 * not (must be idempotent).
	 */
	void (*stop)(struct virtio_dev *vdev);
	/* Optional: the driver wrote len bytes at off of the device config
	 * space (range already checked). */
	void (*config_write)(struct virtio_dev *vdev, unsigned off,
			     const uint8_t *data, unsigned len);
};

/* What a transport supplies. notify_* may be called from any thread, with
 * or without device locks held; they must not take vdev->lock. */
struct virtio_transport {
	const char *name; /* "mmio", "pci" */
	/* Interrupt the driver: used buffers on queue q / config change. The
	 * ISR bit is already set by the caller. */
	void (*notify_queue)(struct virtio_dev *vdev, unsigned q);
	void (*notify_config)(struct virtio_dev *vdev);
	/*
	 * Optional: an eventfd that interrupts the driver for queue q with no
	 * VMM involvement (an irqfd on an MSI-X vector), for vhost's call fd;
	 * -1 when the transport must see each notification (virtio-mmio sets
	 * the ISR), then the caller relays with virtio_dev_notify_queue().
	 * The value may change when the driver reprograms vectors; query it
	 * at DRIVER_OK.
	 */
	int (*queue_irqfd)(struct virtio_dev *vdev, unsigned q);
	/* Optional: reset the transport's own registers (selectors, vectors)
	 * at device reset; vdev->lock held. */
	void (*reset)(struct virtio_dev *vdev);
	/* Optional: the VM resets (virtio_dev_hard_reset()): also what the
	 * guest's firmware/OS set up (PCI config space); no lock held. */
	void (*hard_reset)(struct virtio_dev *vdev);
	/* Free the transport (from virtio_dev_detach()). */
	void (*destroy)(struct virtio_dev *vdev);
};

struct virtio_dev {
	pthread_mutex_t lock;
	struct vm *vm;
	const char *name; /* the device's config name, for messages */
	uint32_t device_id;
	const struct virtio_dev_ops *ops;

	uint64_t host_features;	  /* offered; VERSION_1 always included */
	uint64_t driver_features; /* being written by the driver */
	uint64_t features;	  /* negotiated: valid once FEATURES_OK */
	uint32_t dfeat_sel, gfeat_sel;

	atomic_uint status;	    /* VIRTIO_STATUS_* */
	atomic_uint isr;	    /* VIRTIO_INT_* pending */
	atomic_uint config_gen;	    /* bumped on every config change */
	atomic_bool started;	    /* ops->start() succeeded */
	atomic_bool reset_reported; /* NEEDS_RESET logged since reset */

	uint8_t *config; /* device config space, config_size bytes */
	unsigned config_size;

	unsigned nr_queues;
	struct virtio_queue *queues;

	const struct virtio_transport *tr;
	void *tr_priv;

	struct log_ratelimit rl; /* guest-triggered messages */
};

/*
 * Set up vdev: nr_queues queues of at most queue_max entries (a power of
 * two), a kick eventfd each, features `features` | VERSION_1, config space
 * `config` of config_size bytes (owned by the device, guarded by
 * vdev->lock; may be NULL/0). 0 or -errno (logged, naming the device).
 */
int virtio_dev_init(struct virtio_dev *vdev, struct vm *vm, const char *name,
		    uint32_t device_id, const struct virtio_dev_ops *ops,
		    uint64_t features, unsigned nr_queues, uint16_t queue_max,
		    uint8_t *config, unsigned config_size);
/* Undo virtio_dev_init() (after virtio_dev_detach() and the device's
 * threads are gone). Safe on a zeroed struct. */
void virtio_dev_cleanup(struct virtio_dev *vdev);

/*
 * Device reset, from the transport (status write of 0) or the VM (guest
 * reboot; takes the lock itself: virtio_dev_reset_locked() is the variant
 * for callers holding it): stop the data path, forget the negotiated
 * features and the queues' configuration, clear status and ISR, reset the
 * transport's registers.
 */
void virtio_dev_reset(struct virtio_dev *vdev);
void virtio_dev_reset_locked(struct virtio_dev *vdev);
/* The VM's reset (device_type->reset): virtio_dev_reset() and the
 * transport's hard reset (PCI config space back to the plugged state). */
void virtio_dev_hard_reset(struct virtio_dev *vdev);

/* ---- register-level helpers for transports (vdev->lock held) ---- */

/* 32 bits of the offered features: bits [32 * sel, 32 * sel + 31]. */
uint32_t virtio_dev_host_features(const struct virtio_dev *vdev, uint32_t sel);
/* The driver writes 32 bits of its features; ignored unless the status
 * has DRIVER and not FEATURES_OK (logged, rate-limited). */
void virtio_dev_set_driver_features(struct virtio_dev *vdev, uint32_t sel,
				    uint32_t val);

unsigned virtio_dev_status(const struct virtio_dev *vdev);
/*
 * The driver writes the status register. 0 resets the device (the
 * transport resets its own registers through tr->reset). Otherwise bits
 * already set stay set; FEATURES_OK is kept only if the features are
 * acceptable (VERSION_1 set, nothing not offered, ops->features_ok());
 * DRIVER_OK starts the data path (ops->start()); DRIVER_OK without
 * FEATURES_OK, or a failing start, sets DEVICE_NEEDS_RESET.
 */
void virtio_dev_set_status(struct virtio_dev *vdev, unsigned val);

/* The queue the driver selected, or NULL if it does not exist. */
struct virtio_queue *virtio_dev_queue(struct virtio_dev *vdev, unsigned q);

/*
 * The driver makes queue q ready (enable) or not. Enabling validates and
 * maps the rings (vq_configure()); invalid ones leave the queue disabled
 * and set DEVICE_NEEDS_RESET. Only before DRIVER_OK (after it, the change
 * is refused and logged). 0 or -EINVAL.
 */
int virtio_dev_queue_enable(struct virtio_dev *vdev, unsigned q, bool enable);

/* Device config space accesses: out-of-range bytes read 0 / are
 * ignored (and logged, rate-limited). */
void virtio_dev_config_read(struct virtio_dev *vdev, unsigned off,
			    uint8_t *data, unsigned len);
void virtio_dev_config_write(struct virtio_dev *vdev, unsigned off,
			     const uint8_t *data, unsigned len);

/* Read and clear (ISR register of PCI) or clear bits (mmio ACK). */
unsigned virtio_dev_isr(struct virtio_dev *vdev);
unsigned virtio_dev_isr_read_clear(struct virtio_dev *vdev);
void virtio_dev_isr_ack(struct virtio_dev *vdev, unsigned bits);

/* ---- for device types and their threads (any thread, no lock) ---- */

/* Interrupt the driver for queue q (after vq_push() and when
 * vq_should_notify() says so). */
void virtio_dev_notify_queue(struct virtio_dev *vdev, unsigned q);
/* The device changed its config space (with vdev->lock held while
 * changing it): bump the generation and interrupt the driver if it is
 * running (DRIVER_OK). */
void virtio_dev_config_changed(struct virtio_dev *vdev);
/*
 * Something the driver did is fatal for the device (a malformed ring):
 * set DEVICE_NEEDS_RESET and, after DRIVER_OK, send a configuration change
 * notification. Reported once per reset (log_err naming the device and
 * why); the VM keeps running. The device should stop using its queues.
 */
void virtio_dev_needs_reset(struct virtio_dev *vdev, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* DRIVER_OK is set and NEEDS_RESET is not. */
bool virtio_dev_running(const struct virtio_dev *vdev);
bool virtio_dev_has_feature(const struct virtio_dev *vdev, unsigned bit);

/* ---- transport selection, shared by all virtio device types ---- */

enum virtio_transport_kind { VIRTIO_TRANSPORT_MMIO, VIRTIO_TRANSPORT_PCI };

/*
 * Keys every virtio device type has in its params (include with
 * VIRTIO_TRANSPORT_PARAMS): transport, slot, address, irq (mmio) and
 * pci-slot (pci).
 */
extern const char *const virtio_transport_choices[];
#define VIRTIO_MMIO_MAX_IRQ 1023
#define VIRTIO_TRANSPORT_PARAMS                                                \
	{ .key = "transport",                                                  \
	  .kind = PARAM_ENUM,                                                  \
	  .def = "pci",                                                        \
	  .choices = virtio_transport_choices,                                 \
	  .help = "mmio (virtio-mmio v2, ACPI LNRO0005) or pci (virtio-pci "   \
		  "1.x, MSI-X)" },                                             \
		{ .key = "slot",                                               \
		  .kind = PARAM_U64,                                           \
		  .def = "0",                                                  \
		  .max = 31,                                                   \
		  .help = "mmio: slot n of the virtio-mmio window; gives the " \
			  "default address and irq" },                         \
		{ .key = "address",                                            \
		  .kind = PARAM_U64,                                           \
		  .help = "mmio: register block base (4 KiB aligned; "         \
			  "default: from slot)" },                             \
		{ .key = "irq",                                                \
		  .kind = PARAM_U64,                                           \
		  .max = VIRTIO_MMIO_MAX_IRQ,                                  \
		  .help = "mmio: interrupt line, edge-triggered (default: "    \
			  "from slot, slots 0-7)" },                           \
		PCI_DEV_PARAM_SLOT

enum virtio_transport_kind virtio_cfg_transport(const struct cfg_device *cfg);
/* mmio: the address and irq the device uses (explicit or from slot).
 * *irq is -1 if neither irq nor a slot < 8 gives one. */
uint64_t virtio_cfg_mmio_address(const struct cfg_device *cfg);
int virtio_cfg_mmio_irq(const struct cfg_device *cfg);
/* check() and resources() parts for the transport keys. */
int virtio_cfg_check(const struct cfg_device *cfg, struct cfg_error *err);
unsigned virtio_cfg_resources(const struct cfg_device *cfg,
			      struct dev_resource *res, unsigned max);

/*
 * Attach the transport `dev`'s config chose (after virtio_dev_init(), before
 * any I/O thread notifies): registers the bus region / PCI function,
 * ioeventfds and irqfds. 0 or -errno (logged). virtio_dev_detach() undoes
 * it (NULL-safe on a device that was never attached).
 */
int virtio_dev_attach(struct virtio_dev *vdev, const struct device *dev);
void virtio_dev_detach(struct virtio_dev *vdev);

/* The device types (also declared in devices/devices.h for the registry). */
extern const struct device_type virtio_net_type;
extern const struct device_type virtio_rng_type;
extern const struct device_type virtio_console_type;

/* The transports (virtio/mmio.c, virtio/pci.c). */
int virtio_mmio_attach(struct virtio_dev *vdev, uint64_t addr, int irq);
int virtio_pci_attach(struct virtio_dev *vdev, const struct device *dev);

/*
 * Start an I/O thread for a device: all signals blocked (they belong to
 * the main thread's signalfd), named "NAME" (truncated to 15 bytes), on
 * the I/O CPUs with SCHED_OTHER when real-time placement is on
 * (rt_io_thread_attr(), [vm] io-cpus). The one place I/O threads are
 * created. 0 or -errno.
 */
int virtio_io_thread_create(pthread_t *t, const char *name, void *(*fn)(void *),
			    void *arg);

/* Signal / drain an eventfd (errors other than EAGAIN are ignored: the
 * counter cannot overflow in practice). */
void virtio_efd_signal(int fd);
void virtio_efd_drain(int fd);

#endif
