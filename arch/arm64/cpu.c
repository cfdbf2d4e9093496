/* SPDX-License-Identifier: MIT */
/*
 * arm64 vCPUs: KVM_ARM_VCPU_INIT with KVM's preferred target and PSCI 0.2+
 * (the kernel answers PSCI calls: CPU_ON starts a secondary, SYSTEM_OFF and
 * SYSTEM_RESET come to us as system events), the boot entry state, the
 * exits common code leaves to the arch, and register dumps.
 *
 * Entry state of vCPU 0 (Linux's Documentation/arch/arm64/booting.rst,
 * also what bare-metal images for QEMU virt expect): EL1h with DAIF masked,
 * MMU and caches off (KVM's reset SCTLR_EL1), PC = the image's entry,
 * x0 = the device tree's guest-physical address, x1-x3 = 0. The other
 * vCPUs start powered off and wait for PSCI CPU_ON.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/arch.h"
#include "arch/arm64/internal.h"
#include "vmm/util.h"
#include "vmm/vm_impl.h"

#define PSTATE_EL1H 0x5ull
#define PSTATE_F    (1ull << 6)
#define PSTATE_I    (1ull << 7)
#define PSTATE_A    (1ull << 8)
#define PSTATE_D    (1ull << 9)
#define PSTATE_BOOT (PSTATE_D | PSTATE_A | PSTATE_I | PSTATE_F | PSTATE_EL1H)
_Static_assert(PSTATE_BOOT == 0x3c5, "EL1h, DAIF masked");

#define CORE_REG(x)                                            \
	(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | \
	 KVM_REG_ARM_CORE_REG(x))

/* System registers for fault reports (op0, op1, CRn, CRm, op2). */
#define REG_ESR_EL1   ARM64_SYS_REG(3, 0, 5, 2, 0)
#define REG_FAR_EL1   ARM64_SYS_REG(3, 0, 6, 0, 0)
#define REG_SCTLR_EL1 ARM64_SYS_REG(3, 0, 1, 0, 0)
#define REG_VBAR_EL1  ARM64_SYS_REG(3, 0, 12, 0, 0)
#define REG_MPIDR_EL1 ARM64_SYS_REG(3, 0, 0, 0, 5)

/* What KVM resets registers with an UNKNOWN reset value to. */
#define KVM_RESET_UNKNOWN 0x1de7ec7edbadc0deull

static int set_reg(int fd, uint64_t id, uint64_t val)
{
	struct kvm_one_reg r = { .id = id, .addr = (uint64_t)(uintptr_t)&val };

	if (ioctl(fd, KVM_SET_ONE_REG, &r) < 0)
		return -errno;
	return 0;
}

static int get_reg(int fd, uint64_t id, uint64_t *val)
{
	struct kvm_one_reg r = { .id = id, .addr = (uint64_t)(uintptr_t)val };

	if (ioctl(fd, KVM_GET_ONE_REG, &r) < 0)
		return -errno;
	return 0;
}

/* KVM_ARM_VCPU_INIT (also a reset: registers back to KVM's reset state). */
static int vcpu_arm_init(struct vcpu *vcpu)
{
	struct arm64_vm *av = vcpu->vm->arch;
	struct kvm_vcpu_init init = av->preferred;

	memset(init.features, 0, sizeof(init.features));
	init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
	if (vcpu->id != 0)
		init.features[0] |= 1u << KVM_ARM_VCPU_POWER_OFF;
	if (ioctl(vcpu->fd, KVM_ARM_VCPU_INIT, &init) < 0) {
		int ret = -errno;

		log_err("vcpu%u: KVM_ARM_VCPU_INIT (target %u): %s", vcpu->id,
			init.target, strerror(errno));
		return ret;
	}
	return 0;
}

int arch_vcpu_init(struct vm *vm, struct vcpu *vcpu)
{
	(void)vm;
	return vcpu_arm_init(vcpu);
}

int arch_vcpu_reset(struct vcpu *vcpu)
{
	const struct arm64_entry *e =
		&((struct arm64_vm *)vcpu->vm->arch)->entry;
	const struct {
		uint64_t id, val;
	} regs[] = {
		{ CORE_REG(regs.pstate), PSTATE_BOOT },
		{ CORE_REG(regs.regs[0]), e->dtb_gpa },
		{ CORE_REG(regs.regs[1]), 0 },
		{ CORE_REG(regs.regs[2]), 0 },
		{ CORE_REG(regs.regs[3]), 0 },
		{ CORE_REG(regs.pc), e->pc },
	};
	int ret = vcpu_arm_init(vcpu);

	/* Secondaries stay off until PSCI CPU_ON gives them an entry. */
	if (ret || vcpu->id != 0)
		return ret;
	for (unsigned i = 0; i < ARRAY_SIZE(regs); i++) {
		ret = set_reg(vcpu->fd, regs[i].id, regs[i].val);
		if (ret) {
			log_err("vcpu%u: cannot load the entry state "
				"(KVM_SET_ONE_REG 0x%llx): %s",
				vcpu->id, (unsigned long long)regs[i].id,
				strerror(-ret));
			return ret;
		}
	}
	return 0;
}

int arch_handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_ARM_NISV:
		/* A data abort on an address with no memory slot whose
		 * syndrome KVM cannot use (ESR_EL2.ISV = 0): we would have to
		 * decode the instruction, and MMIO through one is a guest bug
		 * on any hypervisor. */
		vcpu_guest_fault(vcpu,
				 "MMIO access at 0x%llx that KVM cannot decode "
				 "(no instruction syndrome, ESR ISS 0x%llx): a "
				 "load/store pair, writeback addressing or "
				 "similar; device registers need plain LDR/STR",
				 (unsigned long long)run->arm_nisv.fault_ipa,
				 (unsigned long long)run->arm_nisv.esr_iss);
		return 1;
	case KVM_EXIT_DEBUG:
		vcpu_guest_fault(vcpu, "debug exception (ESR 0x%x)",
				 run->debug.arch.hsr);
		return 1;
	default:
		vcpu_guest_fault(vcpu, "unexpected KVM exit %u (%s)",
				 run->exit_reason,
				 kvm_exit_name(run->exit_reason));
		return 1;
	}
}

static const char *el_name(uint64_t pstate)
{
	static const char *const names[16] = {
		[0x0] = "EL0t", [0x4] = "EL1t", [0x5] = "EL1h",
		[0x8] = "EL2t", [0x9] = "EL2h",
	};

	if (pstate & (1u << 4))
		return "AArch32";
	return names[pstate & 0xf] ? names[pstate & 0xf] : "?";
}

void arch_dump_regs(struct vcpu *vcpu, FILE *out)
{
	uint64_t x[31], sp = 0, sp_el1 = 0, pc = 0, pstate = 0, elr = 0;
	uint64_t esr = 0, far = 0, sctlr = 0, vbar = 0, mpidr = 0;
	int ret = 0;

	for (unsigned i = 0; !ret && i < 31; i++)
		ret = get_reg(vcpu->fd, CORE_REG(regs.regs[i]), &x[i]);
	if (!ret)
		ret = get_reg(vcpu->fd, CORE_REG(regs.sp), &sp);
	if (!ret)
		ret = get_reg(vcpu->fd, CORE_REG(regs.pc), &pc);
	if (!ret)
		ret = get_reg(vcpu->fd, CORE_REG(regs.pstate), &pstate);
	if (ret) {
		fprintf(out, "vmm: vcpu%u: cannot read registers: %s\n",
			vcpu->id, strerror(-ret));
		return;
	}
	/* Best effort: a missing one reads as 0. */
	get_reg(vcpu->fd, CORE_REG(sp_el1), &sp_el1);
	get_reg(vcpu->fd, CORE_REG(elr_el1), &elr);
	get_reg(vcpu->fd, REG_ESR_EL1, &esr);
	get_reg(vcpu->fd, REG_FAR_EL1, &far);
	get_reg(vcpu->fd, REG_SCTLR_EL1, &sctlr);
	get_reg(vcpu->fd, REG_VBAR_EL1, &vbar);
	get_reg(vcpu->fd, REG_MPIDR_EL1, &mpidr);

	fprintf(out, "vmm: vcpu%u registers:\n", vcpu->id);
	fprintf(out, "  pc=%016llx pstate=%016llx (%s%s%s%s%s)\n",
		(unsigned long long)pc, (unsigned long long)pstate,
		el_name(pstate), pstate & (1u << 9) ? " D" : "",
		pstate & (1u << 8) ? " A" : "", pstate & (1u << 7) ? " I" : "",
		pstate & (1u << 6) ? " F" : "");
	fprintf(out, "  sp_el0=%016llx sp_el1=%016llx mpidr=%016llx\n",
		(unsigned long long)sp, (unsigned long long)sp_el1,
		(unsigned long long)mpidr);
	for (unsigned i = 0; i < 31; i++)
		fprintf(out, "%sx%-2u=%016llx%s", i % 4 ? " " : "  ", i,
			(unsigned long long)x[i],
			i % 4 == 3 || i == 30 ? "\n" : "");
	fprintf(out,
		"  elr_el1=%016llx esr_el1=%016llx far_el1=%016llx\n"
		"  sctlr_el1=%016llx vbar_el1=%016llx\n",
		(unsigned long long)elr, (unsigned long long)esr,
		(unsigned long long)far, (unsigned long long)sctlr,
		(unsigned long long)vbar);
	if (esr == KVM_RESET_UNKNOWN || far == KVM_RESET_UNKNOWN)
		fprintf(out,
			"  (0x%llx: KVM's reset value, never written: no "
			"exception taken at EL1 yet)\n",
			(unsigned long long)KVM_RESET_UNKNOWN);
}
