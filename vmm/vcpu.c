/* SPDX-License-Identifier: MIT */
/*
 * vCPU threads: KVM_RUN, count the exit, decode it, dispatch PIO and MMIO to
 * the buses, apply the unhandled-I/O policy, stop the VM on a guest fault.
 *
 * Everything in struct kvm_run that the exit decoding reads was written by
 * KVM, but its meaning is chosen by the guest (ports, addresses, sizes,
 * counts), so each is checked before use: the PIO data buffer must lie inside
 * the mmap'd run page, sizes must be 1/2/4/8, and the repeat count of string
 * I/O is bounded by that buffer.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "arch/arch.h"
#include "vmm/exit.h"
#include "vmm/rt.h"
#include "vmm/util.h"
#include "vmm/vm_impl.h"

static const char *const exit_names[] = {
	[KVM_EXIT_UNKNOWN] = "unknown",
	[KVM_EXIT_EXCEPTION] = "exception",
	[KVM_EXIT_IO] = "io",
	[KVM_EXIT_HYPERCALL] = "hypercall",
	[KVM_EXIT_DEBUG] = "debug",
	[KVM_EXIT_HLT] = "hlt",
	[KVM_EXIT_MMIO] = "mmio",
	[KVM_EXIT_IRQ_WINDOW_OPEN] = "irq-window-open",
	[KVM_EXIT_SHUTDOWN] = "shutdown",
	[KVM_EXIT_FAIL_ENTRY] = "fail-entry",
	[KVM_EXIT_INTR] = "intr",
	[KVM_EXIT_SET_TPR] = "set-tpr",
	[KVM_EXIT_TPR_ACCESS] = "tpr-access",
	[KVM_EXIT_NMI] = "nmi",
	[KVM_EXIT_INTERNAL_ERROR] = "internal-error",
	[KVM_EXIT_OSI] = "osi",
	[KVM_EXIT_PAPR_HCALL] = "papr-hcall",
	[KVM_EXIT_WATCHDOG] = "watchdog",
	[KVM_EXIT_EPR] = "epr",
	[KVM_EXIT_SYSTEM_EVENT] = "system-event",
	[KVM_EXIT_IOAPIC_EOI] = "ioapic-eoi",
	[KVM_EXIT_HYPERV] = "hyperv",
	[KVM_EXIT_X86_RDMSR] = "msr-read",
	[KVM_EXIT_X86_WRMSR] = "msr-write",
	[KVM_EXIT_ARM_NISV] = "arm-nisv",
};

const char *kvm_exit_name(unsigned reason)
{
	if (reason == VCPU_EXIT_SLOTS - 1)
		return "other";
	if (reason < ARRAY_SIZE(exit_names) && exit_names[reason])
		return exit_names[reason];
	return "other";
}

/* The run page of the vCPU on this thread, for kick_handler(). */
static __thread struct kvm_run *kick_run;

/*
 * SIGUSR1 on a vCPU thread. Setting immediate_exit here, on the vCPU's own
 * thread, is the pattern the KVM API documents: a kick that lands between
 * the thread's stopping check and KVM_RUN makes KVM_RUN return at once, and
 * no store from another thread races with the thread's own reset of the
 * flag after EINTR.
 */
static void kick_handler(int sig)
{
	(void)sig;
	if (kick_run)
		kick_run->immediate_exit = 1;
}

int vcpu_signals_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler; /* no SA_RESTART: KVM_RUN -> EINTR */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		return -errno;
	return 0;
}

int vcpu_create(struct vm *vm, struct vcpu *vcpu, unsigned id)
{
	int ret;

	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (vcpu->fd < 0) {
		ret = -errno;
		log_err("vcpu%u: KVM_CREATE_VCPU: %s", id, strerror(errno));
		return ret;
	}
	vcpu->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		ret = -errno;
		vcpu->run = NULL;
		log_err("vcpu%u: mmap kvm_run: %s", id, strerror(errno));
		goto err_close;
	}
	vcpu->run_size = vm->run_size;
	ret = arch_vcpu_init(vm, vcpu);
	if (ret)
		goto err_unmap;
	ret = arch_vcpu_reset(vcpu);
	if (ret)
		goto err_arch;
	return 0;

	/* vm_destroy() only destroys the vCPUs created in full (nr_vcpus),
	 * so a failed one is undone here. */
err_arch:
	arch_vcpu_destroy(vcpu);
err_unmap:
	munmap(vcpu->run, vcpu->run_size);
	vcpu->run = NULL;
err_close:
	close(vcpu->fd);
	vcpu->fd = -1;
	return ret;
}

void vcpu_guest_fault(struct vcpu *vcpu, const char *fmt, ...)
{
	char what[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	/* Only the fault that stops the VM is reported with registers. */
	if (!vm_stop_with(vcpu->vm, VM_STOP_GUEST_FAULT, 0, "vcpu%u: %s",
			  vcpu->id, what))
		return;
	fprintf(stderr, "vmm: guest fault on vcpu%u: %s\n", vcpu->id, what);
	arch_dump_regs(vcpu, stderr);
}

/* The access nobody claimed: apply [vm] unhandled-io. Returns false if the
 * VM must stop. */
static bool unhandled_io(void *opaque, const char *kind, uint64_t addr,
			 unsigned size, bool is_write, const uint8_t *data)
{
	struct vcpu *vcpu = opaque;
	struct vm *vm = vcpu->vm;
	char val[32] = "";

	if (kind[0] == 'P')
		vcpu->stats.pio_unhandled++;
	else
		vcpu->stats.mmio_unhandled++;
	if (is_write)
		snprintf(val, sizeof(val), " value 0x%llx",
			 (unsigned long long)bus_get(data, size));
	switch (vm->cfg->unhandled_io) {
	case IO_POLICY_IGNORE:
		return true;
	case IO_POLICY_LOG:
		log_ratelimited(&vm->unhandled_rl, LOG_WARN,
				"vcpu%u: unhandled %s %s at 0x%llx size %u%s",
				vcpu->id, kind, is_write ? "write" : "read",
				(unsigned long long)addr, size, val);
		return true;
	case IO_POLICY_FAULT:
		vcpu_guest_fault(vcpu,
				 "%s %s at 0x%llx size %u%s: nothing there and "
				 "[vm] unhandled-io = fault",
				 kind, is_write ? "write" : "read",
				 (unsigned long long)addr, size, val);
		return false;
	}
	return true;
}

static void io_fault(void *opaque, const char *msg)
{
	vcpu_guest_fault(opaque, "%s", msg);
}

static int handle_io(struct vcpu *vcpu, bool mmio)
{
	const struct exit_ctx c = {
		.pio = &vcpu->vm->pio,
		.mmio = &vcpu->vm->mmio,
		.run = vcpu->run,
		.run_size = vcpu->run_size,
		.unhandled = unhandled_io,
		.fault = io_fault,
		.opaque = vcpu,
	};

	return mmio ? exit_decode_mmio(&c) : exit_decode_pio(&c);
}

static int handle_system_event(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	switch (run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_stop_with(vcpu->vm, VM_STOP_POWEROFF, 0,
			     "vcpu%u: guest powered off", vcpu->id);
		return 1;
	case KVM_SYSTEM_EVENT_RESET:
		vm_stop_with(vcpu->vm, VM_STOP_REBOOT, 0,
			     "vcpu%u: guest requested a reset", vcpu->id);
		return 1;
	case KVM_SYSTEM_EVENT_CRASH:
		vcpu_guest_fault(vcpu, "guest reported a crash");
		return 1;
	default:
		vcpu_guest_fault(vcpu, "unknown system event %u",
				 run->system_event.type);
		return 1;
	}
}

/* One exit. 0: run again; 1: stop; <0: host error. */
static int vcpu_handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	unsigned reason = run->exit_reason;

	vcpu->stats.exits[MIN(reason, VCPU_EXIT_SLOTS - 1)]++;
	switch (reason) {
	case KVM_EXIT_IO:
		return handle_io(vcpu, false);
	case KVM_EXIT_MMIO:
		return handle_io(vcpu, true);
	case KVM_EXIT_INTR:
		return 0;
	case KVM_EXIT_SYSTEM_EVENT:
		return handle_system_event(vcpu);
	case KVM_EXIT_FAIL_ENTRY:
		vcpu_guest_fault(
			vcpu,
			"KVM could not enter the guest (hardware reason "
			"0x%llx): invalid CPU state",
			(unsigned long long)
				run->fail_entry.hardware_entry_failure_reason);
		return 1;
	case KVM_EXIT_INTERNAL_ERROR:
		vcpu_guest_fault(vcpu,
				 "KVM internal error, suberror %u (e.g. an "
				 "instruction KVM cannot emulate)",
				 run->internal.suberror);
		return 1;
	default:
		return arch_handle_exit(vcpu);
	}
}

static void *vcpu_thread(void *opaque)
{
	struct vcpu *vcpu = opaque;
	struct vm *vm = vcpu->vm;
	char name[16], why[256];
	sigset_t set;

	snprintf(name, sizeof(name), "vcpu%u", vcpu->id);
	pthread_setname_np(pthread_self(), name);
	kick_run = vcpu->run;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	/*
	 * [vm] pin and sched, on this thread before it runs guest code (the
	 * host checks in rt_check() already passed). KVM forks per-VM
	 * workers from the thread of a vCPU's first KVM_RUN (x86: the NX
	 * huge page recovery thread, Linux 6.13+), and they inherit its
	 * CPUs: so enter once with immediate_exit set (returns EINTR at once,
	 * as for a kick) while this thread is still on the I/O CPUs.
	 */
	if (rt_placement_on()) {
		vcpu->run->immediate_exit = 1;
		ioctl(vcpu->fd, KVM_RUN, 0);
		vcpu->run->immediate_exit = 0;
	}
	if (rt_vcpu_setup(vm->cfg, vcpu->id, why, sizeof(why))) {
		vm_stop_with(vm, VM_STOP_HOST_ERROR, 0, "vcpu%u: %s", vcpu->id,
			     why);
		return NULL;
	}

	while (!atomic_load(&vm->stopping)) {
		int ret = ioctl(vcpu->fd, KVM_RUN, 0);

		if (ret < 0) {
			int e = errno;

			if (e == EINTR || e == EAGAIN) {
				vcpu->stats.eintr++;
				vcpu->run->immediate_exit = 0;
				continue;
			}
			/* What the guest did that KVM gave up on, without an
			 * exit to describe it (arm64: ENOSYS for an MMIO
			 * access it cannot decode when NISV exits are off;
			 * EFAULT for guest memory it cannot map): stop with
			 * the registers, never retry. */
			if (e == ENOSYS || e == EFAULT) {
				vcpu_guest_fault(
					vcpu,
					"KVM_RUN: %s: KVM could not "
					"handle what the guest did "
					"(%s)",
					strerror(e),
					e == ENOSYS ? "e.g. an MMIO access "
						      "it cannot decode"
						    : "e.g. guest memory "
						      "it cannot map");
				break;
			}
			vm_stop_with(vm, VM_STOP_HOST_ERROR, 0,
				     "vcpu%u: KVM_RUN: %s", vcpu->id,
				     strerror(e));
			break;
		}
		ret = vcpu_handle_exit(vcpu);
		if (ret < 0) {
			vm_stop_with(vm, VM_STOP_HOST_ERROR, 0,
				     "vcpu%u: handling exit %s: %s", vcpu->id,
				     kvm_exit_name(vcpu->run->exit_reason),
				     strerror(-ret));
			break;
		}
		if (ret > 0)
			break;
	}
	return NULL;
}

int vcpu_start(struct vcpu *vcpu)
{
	int ret = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);

	if (ret)
		return -ret;
	vcpu->started = true;
	return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
	if (!vcpu->started)
		return;
	/* kick_handler() sets run->immediate_exit on the vCPU's thread. */
	pthread_kill(vcpu->thread, SIGUSR1);
}

bool vcpu_join(struct vcpu *vcpu, long timeout_ns)
{
	struct timespec ts;

	if (!vcpu->started)
		return true;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += timeout_ns / 1000000000L;
	ts.tv_nsec += timeout_ns % 1000000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	if (pthread_clockjoin_np(vcpu->thread, NULL, CLOCK_MONOTONIC, &ts) ==
	    ETIMEDOUT)
		return false;
	vcpu->started = false;
	return true;
}

void vcpu_destroy(struct vcpu *vcpu)
{
	arch_vcpu_destroy(vcpu);
	if (vcpu->run)
		munmap(vcpu->run, vcpu->run_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->run = NULL;
	vcpu->fd = -1;
}
