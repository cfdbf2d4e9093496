/* SPDX-License-Identifier: MIT */
/*
 * x86 entry state: the descriptor tables and page tables an entry mode needs
 * (built in guest RAM through boot_alloc so they can never overwrite the
 * image), and the register state loaded into the boot vCPU.
 *
 *   real       CS.base = entry & ~0xffff, IP = entry & 0xffff, other
 *              segments 0, CR0 = ET
 *   protected  flat 4 GiB segments (CS 0x08, data 0x10) from our GDT,
 *              CR0 = PE|MP|ET|NE, paging off, EFLAGS.IF = 0 (Multiboot)
 *   long       CS 0x18 (L=1), data 0x10, CR0 adds PG, CR4 = PAE|OSFXSR|
 *              OSXMMEXCPT (SSE usable, as compilers assume), EFER =
 *              LME|LMA, CR3 -> identity map of max(4 GiB, RAM) in 2 MiB
 *              pages
 *
 * Entry ABIs (x86_entry.abi) adjust this: X86_ABI_LINUX uses a GDT with
 * the Linux boot protocol's __BOOT_CS 0x10 / __BOOT_DS 0x18 (boot.rst,
 * "64-bit Boot Protocol"); X86_ABI_PVH clears CR0.MP/NE (Xen PVH ABI:
 * only PE set).
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/x86/x86.h"
#include "vmm/log.h"
#include "vmm/util.h"

#define CR0_PE	       (1ULL << 0)
#define CR0_MP	       (1ULL << 1)
#define CR0_ET	       (1ULL << 4)
#define CR0_NE	       (1ULL << 5)
#define CR0_PG	       (1ULL << 31)
#define CR4_PAE	       (1ULL << 5)
#define CR4_OSFXSR     (1ULL << 9)
#define CR4_OSXMMEXCPT (1ULL << 10)
#define EFER_LME       (1ULL << 8)
#define EFER_LMA       (1ULL << 10)

#define PTE_P  (1ULL << 0)
#define PTE_RW (1ULL << 1)
#define PTE_PS (1ULL << 7)

static const uint64_t gdt_entries[] = {
	0,		       /* null */
	0x00cf9b000000ffffULL, /* 0x08: code32, base 0, limit 4 GiB */
	0x00cf93000000ffffULL, /* 0x10: data, base 0, limit 4 GiB */
	0x00af9b000000ffffULL, /* 0x18: code64 (L=1) */
};

/* Linux: __BOOT_CS = 0x10 (64-bit code in long mode, else 32-bit code),
 * __BOOT_DS = 0x18; same size as gdt_entries. */
#define LINUX_SEL_CS 0x10
#define LINUX_SEL_DS 0x18
static const uint64_t gdt_linux64[] = {
	0,		       /* null */
	0,		       /* 0x08: unused */
	0x00af9b000000ffffULL, /* 0x10: __BOOT_CS, code64 (L=1) */
	0x00cf93000000ffffULL, /* 0x18: __BOOT_DS, data, 4 GiB */
};
static const uint64_t gdt_linux32[] = {
	0,		       /* null */
	0,		       /* 0x08: unused */
	0x00cf9b000000ffffULL, /* 0x10: __BOOT_CS, code32, 4 GiB */
	0x00cf93000000ffffULL, /* 0x18: __BOOT_DS, data, 4 GiB */
};
_Static_assert(sizeof(gdt_linux64) == sizeof(gdt_entries), "GDT size");
_Static_assert(sizeof(gdt_linux32) == sizeof(gdt_entries), "GDT size");

static const uint64_t *gdt_for(const struct x86_entry *e)
{
	if (e->abi != X86_ABI_LINUX)
		return gdt_entries;
	return e->mode == CPU_MODE_LONG ? gdt_linux64 : gdt_linux32;
}

static int build_page_tables(struct boot_ctx *b, struct x86_vm *xv)
{
	uint64_t end = MAX(mem_end(b->mem), 4 * GiB);
	uint64_t nr_pd = MIN(ALIGN_UP(end, GiB) / GiB, 512ULL);
	uint64_t size = (2 + nr_pd) * 4096, base;
	uint64_t *pml4, *pdpt;
	int ret;

	ret = boot_alloc(b, size, 4096, 0x1000, X86_LOW_ALLOC_MAX,
			 "page tables", &base);
	if (ret)
		ret = boot_alloc(b, size, 4096, X86_HOLE_END, 4 * GiB,
				 "page tables", &base);
	if (ret)
		return ret;
	pml4 = mem_ptr(b->mem, base, size);
	pdpt = pml4 + 512;
	pml4[0] = (base + 4096) | PTE_P | PTE_RW;
	for (uint64_t i = 0; i < nr_pd; i++) {
		uint64_t pd_gpa = base + (2 + i) * 4096;
		uint64_t *pd = pml4 + 512 * (2 + i);

		pdpt[i] = pd_gpa | PTE_P | PTE_RW;
		for (uint64_t j = 0; j < 512; j++)
			pd[j] = ((i << 30) | (j << 21)) | PTE_P | PTE_RW |
				PTE_PS;
	}
	xv->pml4_gpa = base;
	return 0;
}

int x86_cpu_prepare(struct boot_ctx *b, struct x86_vm *xv)
{
	int ret;

	if (xv->entry.mode == CPU_MODE_REAL)
		return 0;
	ret = boot_alloc(b, sizeof(gdt_entries), 16, X86_LOW_ALLOC_MIN,
			 X86_LOW_ALLOC_MAX, "GDT", &xv->gdt_gpa);
	if (ret)
		ret = boot_alloc(b, sizeof(gdt_entries), 16, X86_HOLE_END,
				 4 * GiB, "GDT", &xv->gdt_gpa);
	if (ret)
		return ret;
	mem_write(b->mem, xv->gdt_gpa, gdt_for(&xv->entry),
		  sizeof(gdt_entries));
	if (xv->entry.mode == CPU_MODE_LONG)
		return build_page_tables(b, xv);
	return 0;
}

static void seg_flat(struct kvm_segment *s, uint16_t sel, uint8_t type,
		     bool code64)
{
	*s = (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = sel,
		.type = type,
		.present = 1,
		.dpl = 0,
		.db = code64 ? 0 : 1,
		.s = 1,
		.l = code64 ? 1 : 0,
		.g = 1,
	};
}

static void seg_real(struct kvm_segment *s, uint64_t base, uint8_t type)
{
	*s = (struct kvm_segment){
		.base = base,
		.limit = 0xffff,
		.selector = (uint16_t)(base >> 4),
		.type = type,
		.present = 1,
		.s = 1,
	};
}

int x86_cpu_set_entry(int fd, const struct x86_vm *xv)
{
	const struct x86_entry *e = &xv->entry;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_fpu fpu;

	if (ioctl(fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;
	regs.rax = e->rax;
	regs.rbx = e->rbx;
	regs.rcx = e->rcx;
	regs.rdx = e->rdx;
	regs.rsi = e->rsi;
	regs.rdi = e->rdi;
	regs.rsp = e->rsp;

	switch (e->mode) {
	case CPU_MODE_REAL: {
		uint64_t base = e->rip & ~0xffffULL;

		seg_real(&sregs.cs, base, 0xb);
		seg_real(&sregs.ds, 0, 0x3);
		sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
		sregs.cr0 = CR0_ET;
		sregs.cr4 = 0;
		sregs.efer = 0;
		regs.rip = e->rip & 0xffff;
		break;
	}
	case CPU_MODE_PROTECTED:
	case CPU_MODE_LONG: {
		bool lm = e->mode == CPU_MODE_LONG;
		bool lx = e->abi == X86_ABI_LINUX;
		uint16_t cs = lm ? X86_SEL_CODE64 : X86_SEL_CODE32;

		seg_flat(&sregs.cs, lx ? LINUX_SEL_CS : cs, 0xb, lm);
		seg_flat(&sregs.ds, lx ? LINUX_SEL_DS : X86_SEL_DATA, 0x3,
			 false);
		sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
		sregs.gdt.base = xv->gdt_gpa;
		sregs.gdt.limit = sizeof(gdt_entries) - 1;
		sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE;
		if (e->abi == X86_ABI_PVH)
			sregs.cr0 = CR0_PE | CR0_ET; /* ET is read-only 1 */
		sregs.cr4 = 0;
		sregs.efer = 0;
		if (lm) {
			sregs.cr0 |= CR0_PG;
			sregs.cr3 = xv->pml4_gpa;
			sregs.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
			sregs.efer = EFER_LME | EFER_LMA;
		}
		regs.rip = e->rip;
		break;
	}
	default:
		return -EINVAL;
	}
	/* A present TSS and LDT: VMX refuses entry without them. */
	sregs.tr = (struct kvm_segment){ .limit = 0x67,
					 .type = 0xb,
					 .present = 1 };
	sregs.ldt = (struct kvm_segment){ .limit = 0xffff,
					  .type = 0x2,
					  .present = 1 };

	if (ioctl(fd, KVM_SET_SREGS, &sregs) < 0)
		return -errno;
	if (ioctl(fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;
	fpu.mxcsr = 0x1f80;
	if (ioctl(fd, KVM_SET_FPU, &fpu) < 0)
		return -errno;
	return 0;
}
