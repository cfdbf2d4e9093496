/* SPDX-License-Identifier: MIT */
/*
 * VM life cycle on KVM: create (irqchip, memory, devices, image, vCPUs),
 * run (vCPU threads + the main thread's event loop), stop, destroy.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "arch/arch.h"
#include "devices/pci.h"
#include "vmm/console.h"
#include "vmm/exitcode.h"
#include "vmm/util.h"
#include "vmm/vm_impl.h"

/* ---- core calls for devices (vmm/vm.h) ---- */

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
	return arch_set_irq(vm, irq, level);
}

bool vm_stop_with(struct vm *vm, enum vm_stop_reason reason, int code,
		  const char *fmt, ...)
{
	uint64_t one = 1;
	va_list ap;

	pthread_mutex_lock(&vm->stop_lock);
	if (vm->stop_reason != VM_STOP_NONE) {
		pthread_mutex_unlock(&vm->stop_lock);
		return false;
	}
	vm->stop_reason = reason;
	vm->stop_code = code;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(vm->stop_detail, sizeof(vm->stop_detail), fmt, ap);
		va_end(ap);
	}
	atomic_store(&vm->stopping, true);
	pthread_mutex_unlock(&vm->stop_lock);
	/* Wake the main loop; it kicks the vCPUs out of KVM_RUN. */
	if (write(vm->stop_efd, &one, sizeof(one)) < 0)
		log_err("cannot signal stop: %s", strerror(errno));
	return true;
}

void vm_request_stop(struct vm *vm, enum vm_stop_reason reason, int code)
{
	vm_stop_with(vm, reason, code, NULL);
}

int vm_watch_fd(struct vm *vm, int fd, vm_fd_cb cb, void *opaque)
{
	return ev_add(&vm->ev, fd, cb, opaque);
}

void vm_unwatch_fd(struct vm *vm, int fd)
{
	ev_del(&vm->ev, fd);
}

/* ---- KVM fast paths: ioeventfd, irqfd, MSI routes (vmm/vm.h) ---- */

static int kvm_check(struct vm *vm, long cap)
{
	int r = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, cap);

	return r > 0 ? r : 0;
}

/* What the host supports; the irqchip exists (arch_vm_init()) by now. */
static int vm_fast_init(struct vm *vm)
{
	vm->has_ioeventfd = kvm_check(vm, KVM_CAP_IOEVENTFD);
	vm->has_ioeventfd_anylen = kvm_check(vm, KVM_CAP_IOEVENTFD_ANY_LENGTH);
	vm->has_irqfd = kvm_check(vm, KVM_CAP_IRQFD);
	vm->has_routing = kvm_check(vm, KVM_CAP_IRQ_ROUTING);
	vm->has_signal_msi = kvm_check(vm, KVM_CAP_SIGNAL_MSI);
	vm->has_msi_devid = kvm_check(vm, KVM_CAP_MSI_DEVID);
	vm->nr_chip_routes =
		arch_irq_routes(vm, vm->chip_routes, VM_MAX_CHIP_ROUTES);
	vm->msi_gsi_base = 0;
	for (unsigned i = 0; i < vm->nr_chip_routes; i++)
		vm->msi_gsi_base =
			MAX(vm->msi_gsi_base, vm->chip_routes[i].gsi + 1);
	vm->routing =
		calloc(1, sizeof(*vm->routing) +
				  (VM_MAX_CHIP_ROUTES + VM_MAX_MSI_ROUTES) *
					  sizeof(vm->routing->entries[0]));
	if (!vm->routing) {
		log_err("out of memory for the GSI routing table");
		return -ENOMEM;
	}
	log_debug("KVM fast paths: ioeventfd %d (any length %d), irqfd %d, "
		  "routing %d, signal-msi %d, msi-devid %d; MSI GSIs from %u",
		  vm->has_ioeventfd, vm->has_ioeventfd_anylen, vm->has_irqfd,
		  vm->has_routing, vm->has_signal_msi, vm->has_msi_devid,
		  vm->msi_gsi_base);
	return 0;
}

static int ioeventfd(struct vm *vm, enum vm_bus_kind kind, uint64_t addr,
		     unsigned len, bool has_match, uint64_t match, int efd,
		     bool del)
{
	struct kvm_ioeventfd io = {
		.datamatch = has_match ? match : 0,
		.addr = addr,
		.len = len,
		.fd = efd,
	};

	if (!vm->has_ioeventfd)
		return -ENOTSUP;
	if (len != 0 && len != 1 && len != 2 && len != 4 && len != 8)
		return -EINVAL;
	if (len == 0 && (kind == VM_BUS_PIO || has_match))
		return -EINVAL;
	if (len == 0 && !vm->has_ioeventfd_anylen)
		return -ENOTSUP;
	if (efd < 0)
		return -EBADF;
	if (kind == VM_BUS_PIO)
		io.flags |= KVM_IOEVENTFD_FLAG_PIO;
	if (has_match)
		io.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
	if (del)
		io.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
	if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0)
		return -errno;
	return 0;
}

int vm_ioeventfd_add(struct vm *vm, enum vm_bus_kind kind, uint64_t addr,
		     unsigned len, bool has_match, uint64_t match, int efd)
{
	return ioeventfd(vm, kind, addr, len, has_match, match, efd, false);
}

int vm_ioeventfd_del(struct vm *vm, enum vm_bus_kind kind, uint64_t addr,
		     unsigned len, bool has_match, uint64_t match, int efd)
{
	return ioeventfd(vm, kind, addr, len, has_match, match, efd, true);
}

static int irqfd(struct vm *vm, int efd, unsigned gsi, bool del)
{
	struct kvm_irqfd f = {
		.fd = (uint32_t)efd,
		.gsi = gsi,
		.flags = del ? KVM_IRQFD_FLAG_DEASSIGN : 0,
	};

	if (!vm->has_irqfd)
		return -ENOTSUP;
	if (efd < 0)
		return -EBADF;
	if (gsi >= vm->msi_gsi_base + VM_MAX_MSI_ROUTES)
		return -EINVAL;
	if (ioctl(vm->vm_fd, KVM_IRQFD, &f) < 0)
		return -errno;
	return 0;
}

int vm_irqfd_add(struct vm *vm, int efd, unsigned gsi)
{
	return irqfd(vm, efd, gsi, false);
}

int vm_irqfd_del(struct vm *vm, int efd, unsigned gsi)
{
	return irqfd(vm, efd, gsi, true);
}

/*
 * Load the routing table: the irqchip's routes, then every MSI route with a
 * message that is not masked. A masked or unset route has no entry, so an
 * irqfd on its GSI delivers nothing. irq_lock held.
 */
static int msi_routes_commit(struct vm *vm)
{
	struct kvm_irq_routing *t = vm->routing;
	unsigned n = 0;

	for (unsigned i = 0; i < vm->nr_chip_routes; i++)
		t->entries[n++] = vm->chip_routes[i];
	for (unsigned i = 0; i < VM_MAX_MSI_ROUTES; i++) {
		const struct vm_msi_route *r = &vm->msi[i];
		struct kvm_irq_routing_entry *e;

		if (!r->used || !r->valid || r->masked)
			continue;
		e = &t->entries[n++];
		memset(e, 0, sizeof(*e));
		e->gsi = vm->msi_gsi_base + i;
		e->type = KVM_IRQ_ROUTING_MSI;
		e->u.msi.address_lo = (uint32_t)r->addr;
		e->u.msi.address_hi = (uint32_t)(r->addr >> 32);
		e->u.msi.data = r->data;
		if (vm->has_msi_devid) {
			e->flags = KVM_MSI_VALID_DEVID;
			e->u.msi.devid = r->devid;
		}
	}
	t->nr = n;
	t->flags = 0;
	if (ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, t) < 0)
		return -errno;
	return 0;
}

int vm_msi_route_alloc(struct vm *vm)
{
	int ret = -ENOSPC;

	if (!vm->has_routing || !vm->has_irqfd)
		return -ENOTSUP;
	pthread_mutex_lock(&vm->irq_lock);
	for (unsigned i = 0; i < VM_MAX_MSI_ROUTES; i++) {
		if (vm->msi[i].used)
			continue;
		vm->msi[i] = (struct vm_msi_route){ .used = true };
		ret = (int)(vm->msi_gsi_base + i);
		break;
	}
	pthread_mutex_unlock(&vm->irq_lock);
	return ret;
}

static struct vm_msi_route *msi_route(struct vm *vm, unsigned gsi)
{
	if (gsi < vm->msi_gsi_base ||
	    gsi - vm->msi_gsi_base >= VM_MAX_MSI_ROUTES)
		return NULL;
	if (!vm->msi[gsi - vm->msi_gsi_base].used)
		return NULL;
	return &vm->msi[gsi - vm->msi_gsi_base];
}

int vm_msi_route_set(struct vm *vm, unsigned gsi, uint64_t addr, uint32_t data,
		     uint32_t devid, bool masked)
{
	struct vm_msi_route *r, old;
	int ret;

	pthread_mutex_lock(&vm->irq_lock);
	r = msi_route(vm, gsi);
	if (!r) {
		pthread_mutex_unlock(&vm->irq_lock);
		return -EINVAL;
	}
	old = *r;
	r->valid = true;
	r->addr = addr;
	r->data = data;
	r->devid = devid;
	r->masked = masked;
	/* Nothing the table holds changed (a masked route stays out). */
	if (old.valid && old.masked == masked &&
	    (masked ||
	     (old.addr == addr && old.data == data && old.devid == devid))) {
		pthread_mutex_unlock(&vm->irq_lock);
		return 0;
	}
	ret = msi_routes_commit(vm);
	if (ret)
		*r = old;
	pthread_mutex_unlock(&vm->irq_lock);
	return ret;
}

void vm_msi_route_free(struct vm *vm, unsigned gsi)
{
	struct vm_msi_route *r;
	int ret;

	pthread_mutex_lock(&vm->irq_lock);
	r = msi_route(vm, gsi);
	if (r) {
		bool listed = r->valid && !r->masked;

		*r = (struct vm_msi_route){ 0 };
		ret = listed ? msi_routes_commit(vm) : 0;
		if (ret)
			log_warn("GSI %u: cannot remove its MSI route: %s", gsi,
				 strerror(-ret));
	}
	pthread_mutex_unlock(&vm->irq_lock);
}

int vm_signal_msi(struct vm *vm, uint64_t addr, uint32_t data, uint32_t devid)
{
	struct kvm_msi m = {
		.address_lo = (uint32_t)addr,
		.address_hi = (uint32_t)(addr >> 32),
		.data = data,
	};
	int r;

	if (!vm->has_signal_msi)
		return -ENOTSUP;
	if (vm->has_msi_devid) {
		m.flags = KVM_MSI_VALID_DEVID;
		m.devid = devid;
	}
	/* > 0 delivered, 0 blocked by the guest (e.g. a masked LAPIC). */
	r = ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &m);
	if (r < 0)
		return -errno;
	return 0;
}

/* ---- RAM mapped while running (vmm/vm.h) ---- */

int vm_mem_map(struct vm *vm, uint64_t gpa, uint64_t size, void *hva,
	       bool readonly)
{
	struct kvm_userspace_memory_region kr;
	int idx = -1, ret;

	if (!size || size % 4096 || gpa % 4096 || (uintptr_t)hva % 4096 ||
	    gpa + (size - 1) < gpa)
		return -EINVAL;
	for (unsigned i = 0; i < vm->mem.nr; i++)
		if (ranges_overlap(gpa, size, vm->mem.regions[i].gpa,
				   vm->mem.regions[i].size))
			return -EEXIST;
	pthread_mutex_lock(&vm->map_lock);
	for (unsigned i = 0; i < VM_MAX_MEM_MAPS; i++) {
		const struct vm_mem_map *m = &vm->maps[i];

		if (!m->used) {
			if (idx < 0)
				idx = (int)i;
			continue;
		}
		if (ranges_overlap(gpa, size, m->gpa, m->size)) {
			pthread_mutex_unlock(&vm->map_lock);
			return -EEXIST;
		}
	}
	if (idx < 0) {
		pthread_mutex_unlock(&vm->map_lock);
		return -ENOSPC;
	}
	kr = (struct kvm_userspace_memory_region){
		.slot = MEM_MAX_REGIONS + (unsigned)idx,
		.flags = readonly ? KVM_MEM_READONLY : 0,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)hva,
	};
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &kr) < 0) {
		ret = -errno;
		pthread_mutex_unlock(&vm->map_lock);
		return ret;
	}
	vm->maps[idx] = (struct vm_mem_map){
		.used = true,
		.gpa = gpa,
		.size = size,
		.hva = hva,
		.readonly = readonly,
	};
	pthread_mutex_unlock(&vm->map_lock);
	return idx;
}

void vm_mem_unmap(struct vm *vm, int handle)
{
	struct kvm_userspace_memory_region kr = { 0 };

	if (handle < 0 || handle >= VM_MAX_MEM_MAPS)
		return;
	pthread_mutex_lock(&vm->map_lock);
	if (vm->maps[handle].used) {
		/* Size 0 deletes the slot. */
		kr.slot = MEM_MAX_REGIONS + (unsigned)handle;
		kr.guest_phys_addr = vm->maps[handle].gpa;
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &kr) < 0)
			log_warn("cannot remove memory slot %u: %s", kr.slot,
				 strerror(errno));
		vm->maps[handle] = (struct vm_mem_map){ 0 };
	}
	pthread_mutex_unlock(&vm->map_lock);
}

struct pci_host **vm_pci_host_slot(struct vm *vm)
{
	return &vm->pci;
}

/* ---- creation ---- */

static int kvm_open(struct vm *vm)
{
	int ver, size;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		int err = -errno;

		log_err("cannot open /dev/kvm: %s%s", strerror(errno),
			errno == ENOENT	  ? " (is the kvm module loaded?)"
			: errno == EACCES ? " (add yourself to the kvm group)"
					  : "");
		return err;
	}
	ver = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (ver != KVM_API_VERSION) {
		log_err("/dev/kvm: API version %d, need %d", ver,
			KVM_API_VERSION);
		return -ENOTSUP;
	}
	size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < (int)sizeof(struct kvm_run)) {
		log_err("/dev/kvm: bad vCPU mmap size %d", size);
		return -ENOTSUP;
	}
	vm->run_size = (size_t)size;
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		int err = -errno;

		log_err("KVM_CREATE_VM: %s", strerror(errno));
		return err;
	}
	return 0;
}

static int vm_setup_memory(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;

	for (unsigned i = 0; i < cfg->nr_mem; i++) {
		const struct cfg_memory *cm = &cfg->mem[i];
		/* [vm] mlock and hugepages: every page allocated now */
		const struct mem_opts opts = {
			.hugepage_size = cm->hugepages,
			.prefault = cfg->mlock || cm->hugepages,
		};
		struct kvm_userspace_memory_region kr;
		struct mem_region *r;
		int ret;

		ret = mem_add_region_opts(&vm->mem, cm->name, cm->base,
					  cm->size, cm->file, cm->readonly,
					  &opts);
		if (ret) {
			log_err("memory \"%s\": cannot map %s: %s", cm->name,
				cm->file	? cm->file
				: cm->hugepages ? "hugepages (vmm check "
						  "shows the pool)"
						: "anonymous memory",
				strerror(-ret));
			return ret;
		}
		r = &vm->mem.regions[vm->mem.nr - 1];
		kr = (struct kvm_userspace_memory_region){
			.slot = r->slot,
			.flags = r->readonly ? KVM_MEM_READONLY : 0,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uint64_t)(uintptr_t)r->hva,
		};
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &kr) < 0) {
			ret = -errno;
			log_err("memory \"%s\": KVM_SET_USER_MEMORY_REGION: %s",
				cm->name, strerror(errno));
			return ret;
		}
	}
	return 0;
}

static int vm_create_devices(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;

	vm->devices = calloc(cfg->nr_devices ? cfg->nr_devices : 1,
			     sizeof(*vm->devices));
	if (!vm->devices) {
		log_err("out of memory for %u devices", cfg->nr_devices);
		return -ENOMEM;
	}
	/* The PCI host bridge first, implicitly: the PCI devices register on
	 * it, and pc-reset hands it the reset port inside its 0xcf8 block. */
	if (pci_cfg_wanted(cfg)) {
		struct pci_layout layout;
		int ret;

		/* false: this VM can have no PCI; the arch said why (arm64:
		 * no GICv3 ITS, so no MSIs). */
		if (!arch_pci_layout(&layout))
			return -ENOTSUP;
		ret = pci_host_create(vm, &layout, cfg);
		if (ret)
			return ret;
	}
	for (unsigned i = 0; i < cfg->nr_devices; i++) {
		struct device *d = &vm->devices[i];
		int ret;

		d->type = cfg->devices[i].type;
		d->cfg = &cfg->devices[i];
		d->name = cfg->devices[i].name;
		d->vm = vm;
		ret = d->type->create(vm, d);
		if (ret) {
			log_err("device \"%s\" (%s): cannot create: %s",
				d->name, d->type->name, strerror(-ret));
			return ret;
		}
		vm->nr_devices++;
	}
	return 0;
}

static void on_stop_event(void *opaque)
{
	struct vm *vm = opaque;
	uint64_t v;

	if (read(vm->stop_efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_err("stop eventfd: %s", strerror(errno));
}

int vm_create(const struct vm_config *cfg, struct vm **out, int *code)
{
	char err[512] = "";
	struct vm *vm;
	int ret;

	*code = VMM_EXIT_HOST;
	vm = calloc(1, sizeof(*vm));
	if (!vm) {
		log_err("out of memory for the VM");
		return -ENOMEM;
	}
	vm->cfg = cfg;
	vm->kvm_fd = vm->vm_fd = vm->stop_efd = -1;
	vm->ev.epfd = -1;
	pthread_mutex_init(&vm->stop_lock, NULL);
	pthread_mutex_init(&vm->irq_lock, NULL);
	pthread_mutex_init(&vm->map_lock, NULL);
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
	vm->unhandled_rl =
		(struct log_ratelimit){ .burst = 10, .interval_ms = 1000 };

	ret = ev_init(&vm->ev);
	if (ret) {
		log_err("epoll: %s", strerror(-ret));
		goto fail;
	}
	vm->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_efd < 0) {
		ret = -errno;
		log_err("eventfd: %s", strerror(errno));
		goto fail;
	}
	ret = ev_add(&vm->ev, vm->stop_efd, on_stop_event, vm);
	if (ret) {
		log_err("epoll: cannot watch the stop eventfd: %s",
			strerror(-ret));
		goto fail;
	}

	ret = kvm_open(vm);
	if (ret)
		goto fail;
	ret = arch_vm_init(vm);
	if (ret)
		goto fail;
	ret = vm_fast_init(vm);
	if (ret)
		goto fail;
	ret = vm_setup_memory(vm);
	if (ret)
		goto fail;
	/* The image before the devices: a bad image must be reported before
	 * any device has side effects (a console log truncated, a terminal
	 * switched to raw mode). */
	ret = arch_load_boot(vm, err, sizeof(err));
	if (ret) {
		log_err("%s", err[0] ? err : strerror(-ret));
		*code = VMM_EXIT_USAGE;
		goto fail;
	}
	ret = vm_create_devices(vm);
	if (ret)
		goto fail;

	vm->vcpus = calloc(cfg->vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus) {
		ret = -ENOMEM;
		log_err("out of memory for %u vCPUs", cfg->vcpus);
		goto fail;
	}
	for (unsigned i = 0; i < cfg->vcpus; i++) {
		ret = vcpu_create(vm, &vm->vcpus[i], i);
		if (ret)
			goto fail;
		vm->nr_vcpus++;
	}
	ret = arch_vm_ready(vm);
	if (ret)
		goto fail;
	bus_seal(&vm->pio);
	bus_seal(&vm->mmio);
	*out = vm;
	return 0;

fail:
	vm_destroy(vm);
	return ret;
}

/* ---- running ---- */

struct main_fds {
	struct vm *vm;
	int sig_fd;
	int timer_fd;
};

static void on_signal(void *opaque)
{
	struct main_fds *m = opaque;
	struct signalfd_siginfo si;

	if (read(m->sig_fd, &si, sizeof(si)) != sizeof(si))
		return;
	vm_stop_with(m->vm, VM_STOP_SIGNAL, (int)si.ssi_signo,
		     "stopped by signal %s", strsignal((int)si.ssi_signo));
}

static void on_timeout(void *opaque)
{
	struct main_fds *m = opaque;
	uint64_t n;

	if (read(m->timer_fd, &n, sizeof(n)) < 0)
		return;
	vm_stop_with(m->vm, VM_STOP_TIMEOUT, 0,
		     "timeout: the guest ran for %llu ms without stopping",
		     (unsigned long long)m->vm->cfg->timeout_ms);
}

#define VM_REKICK_NS 100000000L /* 100 ms */

enum vm_stop_reason vm_run(struct vm *vm, int *code)
{
	struct main_fds m = { .vm = vm, .sig_fd = -1, .timer_fd = -1 };
	sigset_t set;
	int ret;

	/* SIGINT/TERM/HUP arrive through signalfd on the main thread only:
	 * block them before the vCPU threads are created (they inherit). */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	m.sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (m.sig_fd < 0 || ev_add(&vm->ev, m.sig_fd, on_signal, &m)) {
		vm_stop_with(vm, VM_STOP_HOST_ERROR, 0, "signalfd: %s",
			     strerror(errno));
		goto out;
	}
	if (vm->cfg->timeout_ms) {
		struct itimerspec its = {
			.it_value.tv_sec = (time_t)(vm->cfg->timeout_ms / 1000),
			.it_value.tv_nsec =
				(long)(vm->cfg->timeout_ms % 1000) * 1000000L,
		};

		m.timer_fd = timerfd_create(CLOCK_MONOTONIC,
					    TFD_CLOEXEC | TFD_NONBLOCK);
		if (m.timer_fd < 0 ||
		    timerfd_settime(m.timer_fd, 0, &its, NULL) < 0 ||
		    ev_add(&vm->ev, m.timer_fd, on_timeout, &m)) {
			vm_stop_with(vm, VM_STOP_HOST_ERROR, 0, "timerfd: %s",
				     strerror(errno));
			goto out;
		}
	}

	ret = vcpu_signals_init();
	for (unsigned i = 0; !ret && i < vm->nr_vcpus; i++)
		ret = vcpu_start(&vm->vcpus[i]);
	if (ret)
		vm_stop_with(vm, VM_STOP_HOST_ERROR, 0,
			     "cannot start vCPU threads: %s", strerror(-ret));

	while (!atomic_load(&vm->stopping)) {
		ret = ev_run_once(&vm->ev, -1);
		if (ret < 0 && ret != -EINTR) {
			vm_stop_with(vm, VM_STOP_HOST_ERROR, 0,
				     "event loop: %s", strerror(-ret));
			break;
		}
	}

out:
	/* A vCPU blocked writing console output must give up when kicked. */
	console_abort_writes();
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	/*
	 * A vCPU blocked outside KVM_RUN (console output to a reader that does
	 * not read) may have taken its kick just before it blocked, and others
	 * may wait for the lock it holds: until all are joined, kick every one
	 * still running again every 100 ms.
	 */
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		while (!vcpu_join(&vm->vcpus[i], VM_REKICK_NS))
			for (unsigned j = i; j < vm->nr_vcpus; j++)
				vcpu_kick(&vm->vcpus[j]);
	}
	if (m.sig_fd >= 0) {
		ev_del(&vm->ev, m.sig_fd);
		close(m.sig_fd);
	}
	if (m.timer_fd >= 0) {
		ev_del(&vm->ev, m.timer_fd);
		close(m.timer_fd);
	}
	*code = vm->stop_code;
	return vm->stop_reason;
}

void vm_print_stats(const struct vm *vm, FILE *out)
{
	fprintf(out, "vmm: exit statistics\n");
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		const struct vcpu_stats *s = &vm->vcpus[i].stats;
		uint64_t total = 0;

		for (unsigned r = 0; r < VCPU_EXIT_SLOTS; r++)
			total += s->exits[r];
		fprintf(out, "  vcpu%u: %llu exits\n", i,
			(unsigned long long)total);
		for (unsigned r = 0; r < VCPU_EXIT_SLOTS; r++) {
			if (!s->exits[r])
				continue;
			fprintf(out, "    %-16s %12llu\n", kvm_exit_name(r),
				(unsigned long long)s->exits[r]);
		}
		if (s->pio_unhandled)
			fprintf(out, "    %-16s %12llu\n", "pio-unhandled",
				(unsigned long long)s->pio_unhandled);
		if (s->mmio_unhandled)
			fprintf(out, "    %-16s %12llu\n", "mmio-unhandled",
				(unsigned long long)s->mmio_unhandled);
		if (s->eintr)
			fprintf(out, "    %-16s %12llu\n", "kicks",
				(unsigned long long)s->eintr);
	}
}

void vm_destroy(struct vm *vm)
{
	if (!vm)
		return;
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	for (unsigned i = vm->nr_devices; i-- > 0;) {
		struct device *d = &vm->devices[i];

		if (d->type->destroy)
			d->type->destroy(d);
	}
	free(vm->devices);
	pci_host_free(vm->pci);
	vm->pci = NULL;
	arch_vm_destroy(vm);
	bus_free(&vm->pio);
	bus_free(&vm->mmio);
	ev_free(&vm->ev);
	if (vm->stop_efd >= 0)
		close(vm->stop_efd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	/* Guest RAM last: KVM no longer maps it once the VM fd is closed. */
	mem_free(&vm->mem);
	free(vm->routing);
	pthread_mutex_destroy(&vm->map_lock);
	pthread_mutex_destroy(&vm->irq_lock);
	pthread_mutex_destroy(&vm->stop_lock);
	free(vm);
}
