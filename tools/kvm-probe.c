// SPDX-License-Identifier: MIT
/*
 * kvm-probe: prove that /dev/kvm runs guest code, with nothing but the KVM
 * API. Used by the nested tests (tests/nested/) inside tools/nest.
 *
 *   kvm-probe [-n EXITS]
 *
 * Creates a VM and one vCPU, and runs a few guest instructions that make
 * EXITS (default 1000) userspace exits and then stop:
 *   x86-64: real mode: "out %al, $0x10" in a loop, then HLT; expects
 *           KVM_EXIT_IO (port 0x10, 1 byte, value 0x42) EXITS times, then
 *           KVM_EXIT_HLT.
 *   arm64:  "str x0, [x1]" to an unmapped IPA in a loop, then a PSCI
 *           SYSTEM_OFF call (hvc); expects KVM_EXIT_MMIO (8-byte write of
 *           0x42 at 0x1000) EXITS times, then KVM_EXIT_SYSTEM_EVENT
 *           (shutdown). The vCPU is initialised with KVM_ARM_VCPU_INIT on
 *           the preferred target, with PSCI 0.2.
 * Prints the API version and the time to set up and per exit round trip.
 *
 * Exit status: 0 all checks passed, 1 a check failed (message on stderr),
 * 2 /dev/kvm cannot be opened.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define GUEST_MEM_BASE 0x10000
#define GUEST_MEM_SIZE 0x10000
#define PROBE_VALUE    0x42

/*
 * Guest code, assembled by the compiler's assembler. Both loops count
 * their iterations in a register the host sets before the first KVM_RUN.
 */
#if defined(__x86_64__)
#define PROBE_PORT 0x10
asm(".pushsection .rodata\n"
    ".globl probe_guest_start, probe_guest_end\n"
    "probe_guest_start:\n"
    ".code16\n"
    "	mov $0x42, %al\n"
    "1:	out %al, $0x10\n"
    "	loop 1b\n" /* CX iterations */
    "	hlt\n"
    ".code64\n"
    "probe_guest_end:\n"
    ".popsection\n");
#elif defined(__aarch64__)
#define PROBE_MMIO 0x1000
asm(".pushsection .rodata\n"
    ".globl probe_guest_start, probe_guest_end\n"
    ".balign 4\n"
    "probe_guest_start:\n"
    "	mov x0, #0x42\n"
    "	mov x1, #0x1000\n"
    "1:	str x0, [x1]\n"
    "	subs x2, x2, #1\n" /* X2 iterations */
    "	b.ne 1b\n"
    "	movz x0, #0x0008\n"
    "	movk x0, #0x8400, lsl #16\n" /* PSCI_SYSTEM_OFF */
    "	hvc #0\n"
    "	b .\n"
    "probe_guest_end:\n"
    ".popsection\n");
#else
#error "kvm-probe: unsupported architecture"
#endif

extern const unsigned char probe_guest_start[], probe_guest_end[];

static const char *exit_name(uint32_t reason)
{
	static char buf[32];

	switch (reason) {
	case KVM_EXIT_IO:
		return "IO";
	case KVM_EXIT_HLT:
		return "HLT";
	case KVM_EXIT_MMIO:
		return "MMIO";
	case KVM_EXIT_SHUTDOWN:
		return "SHUTDOWN";
	case KVM_EXIT_FAIL_ENTRY:
		return "FAIL_ENTRY";
	case KVM_EXIT_INTERNAL_ERROR:
		return "INTERNAL_ERROR";
	case KVM_EXIT_SYSTEM_EVENT:
		return "SYSTEM_EVENT";
	default:
		snprintf(buf, sizeof(buf), "%" PRIu32, reason);
		return buf;
	}
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int fail(const char *what)
{
	fprintf(stderr, "kvm-probe: %s: %s\n", what, strerror(errno));
	return 1;
}

#if defined(__x86_64__)
static int vcpu_setup(int vm, int vcpu, unsigned long exits)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	(void)vm;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return fail("KVM_GET_SREGS");
	/* Real mode, CS:IP = 0x1000:0 = GUEST_MEM_BASE. */
	sregs.cs.base = GUEST_MEM_BASE;
	sregs.cs.selector = GUEST_MEM_BASE >> 4;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return fail("KVM_SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rip = 0;
	regs.rflags = 0x2;
	regs.rcx = exits;
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return fail("KVM_SET_REGS");
	return 0;
}

/* 1: the expected loop exit, 0: the expected final exit, -1: wrong. */
static int check_exit(struct kvm_run *run)
{
	const uint8_t *data;

	if (run->exit_reason == KVM_EXIT_HLT)
		return 0;
	if (run->exit_reason != KVM_EXIT_IO)
		return -1;
	data = (const uint8_t *)run + run->io.data_offset;
	if (run->io.direction != KVM_EXIT_IO_OUT ||
	    run->io.port != PROBE_PORT || run->io.size != 1 ||
	    run->io.count != 1 || *data != PROBE_VALUE) {
		fprintf(stderr,
			"kvm-probe: unexpected I/O: port 0x%x size %u dir %u "
			"value 0x%x\n",
			run->io.port, run->io.size, run->io.direction, *data);
		return -1;
	}
	return 1;
}
#elif defined(__aarch64__)
#define CORE_REG(name)                                         \
	(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | \
	 (offsetof(struct kvm_regs, name) / sizeof(uint32_t)))

static int set_reg(int vcpu, uint64_t id, uint64_t value)
{
	struct kvm_one_reg reg = { .id = id, .addr = (uintptr_t)&value };

	return ioctl(vcpu, KVM_SET_ONE_REG, &reg);
}

static int vcpu_setup(int vm, int vcpu, unsigned long exits)
{
	struct kvm_vcpu_init init;

	if (ioctl(vm, KVM_ARM_PREFERRED_TARGET, &init) < 0)
		return fail("KVM_ARM_PREFERRED_TARGET");
	init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
	if (ioctl(vcpu, KVM_ARM_VCPU_INIT, &init) < 0)
		return fail("KVM_ARM_VCPU_INIT");
	if (set_reg(vcpu, CORE_REG(regs.pc), GUEST_MEM_BASE) < 0)
		return fail("KVM_SET_ONE_REG pc");
	if (set_reg(vcpu, CORE_REG(regs.regs[2]), exits) < 0)
		return fail("KVM_SET_ONE_REG x2");
	return 0;
}

static int check_exit(struct kvm_run *run)
{
	uint64_t value = 0;

	if (run->exit_reason == KVM_EXIT_SYSTEM_EVENT) {
		if (run->system_event.type != KVM_SYSTEM_EVENT_SHUTDOWN) {
			fprintf(stderr, "kvm-probe: system event %u\n",
				run->system_event.type);
			return -1;
		}
		return 0;
	}
	if (run->exit_reason != KVM_EXIT_MMIO)
		return -1;
	memcpy(&value, run->mmio.data, sizeof(value));
	if (!run->mmio.is_write || run->mmio.phys_addr != PROBE_MMIO ||
	    run->mmio.len != 8 || value != PROBE_VALUE) {
		fprintf(stderr,
			"kvm-probe: unexpected MMIO: addr 0x%llx len %u "
			"write %u value 0x%llx\n",
			(unsigned long long)run->mmio.phys_addr, run->mmio.len,
			run->mmio.is_write, (unsigned long long)value);
		return -1;
	}
	return 1;
}
#endif

int main(int argc, char **argv)
{
	struct kvm_userspace_memory_region region;
	unsigned long exits = 1000, seen = 0;
	double t0, t_setup, t_run0, t_end;
	size_t code_size = probe_guest_end - probe_guest_start;
	struct kvm_run *run;
	int kvm, vm, vcpu, api, opt, rc;
	long run_size;
	void *mem;

	while ((opt = getopt(argc, argv, "n:h")) != -1) {
		switch (opt) {
		case 'n':
			exits = strtoul(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr, "usage: %s [-n EXITS]\n", argv[0]);
			return opt == 'h' ? 0 : 1;
		}
	}
	/* x86 counts in CX (16-bit real mode); both need at least one. */
	if (exits < 1 || exits > 0xffff) {
		fprintf(stderr, "kvm-probe: EXITS must be 1..65535\n");
		return 1;
	}

	t0 = now_us();
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		fprintf(stderr, "kvm-probe: /dev/kvm: %s\n", strerror(errno));
		return 2;
	}
	api = ioctl(kvm, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		fprintf(stderr, "kvm-probe: KVM API version %d, want %d\n", api,
			KVM_API_VERSION);
		return 1;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");

	mem = mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return fail("mmap");
	memcpy(mem, probe_guest_start, code_size);
	region = (struct kvm_userspace_memory_region){
		.slot = 0,
		.guest_phys_addr = GUEST_MEM_BASE,
		.memory_size = GUEST_MEM_SIZE,
		.userspace_addr = (uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION");

	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU");
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < (long)sizeof(*run))
		return fail("KVM_GET_VCPU_MMAP_SIZE");
	run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return fail("mmap vcpu");
	if (vcpu_setup(vm, vcpu, exits))
		return 1;
	t_setup = now_us();

	t_run0 = t_setup;
	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return fail("KVM_RUN");
		}
		rc = check_exit(run);
		if (rc < 0) {
			fprintf(stderr,
				"kvm-probe: unexpected exit %s after %lu "
				"expected exits\n",
				exit_name(run->exit_reason), seen);
			return 1;
		}
		if (rc == 0)
			break;
		if (++seen > exits) {
			fprintf(stderr, "kvm-probe: more than %lu exits\n",
				exits);
			return 1;
		}
	}
	t_end = now_us();
	if (seen != exits) {
		fprintf(stderr, "kvm-probe: %lu exits, expected %lu\n", seen,
			exits);
		return 1;
	}
	printf("kvm-probe: ok: API %d, VM and vCPU set up in %.2f ms, "
	       "%lu %s exits then %s, %.1f us per exit\n",
	       api, (t_setup - t0) / 1e3, seen,
#if defined(__x86_64__)
	       "IO", "HLT",
#else
	       "MMIO", "SYSTEM_EVENT(shutdown)",
#endif
	       (t_end - t_run0) / seen);
	return 0;
}
