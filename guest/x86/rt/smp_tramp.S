/* SPDX-License-Identifier: MIT */
/*
 * Application processor start-up: from the STARTUP IPI to rt_ap_main()
 * (Intel SDM Vol. 3A, multiple-processor management: "MP Initialization
 * Example"; processor management: "Switching to Protected Mode",
 * "Initializing IA-32e Mode").
 *
 * A STARTUP IPI with vector V starts the AP in 16-bit real mode at
 * CS:IP = (V << 8):0000, i.e. physical V << 12. smp.c copies
 * rt_ap_trampoline .. rt_ap_trampoline_end to such a page below 1 MiB;
 * that part is position independent (it addresses its data relative to CS,
 * and everything else by absolute addresses below 4 GiB). It loads the
 * runtime's GDT (start.S) and jumps to rt_ap_start32 in the image, on the
 * GDT's 32-bit code segment. From there the path is _start32's: PAE, the
 * runtime's page tables, EFER.LME, paging, a far jump to 64-bit code.
 *
 * In long mode the AP reads its LAPIC ID, looks up its CPU index in
 * rt_smp_apic_index[] (filled by the BSP before the first INIT) and takes
 * rt_ap_stack_top[index] as its stack; an AP that finds no slot (not one
 * of ours, or index 0, the BSP's) halts. Then rt_ap_main(index).
 *
 * Nothing here writes memory before the AP has its own stack, so any
 * number of APs may run this code at once.
 */
#include "smp_defs.h"

#define CR0_PE		0x00000001
#define CR0_NW		0x20000000
#define CR0_CD		0x40000000
#define CR0_PG		0x80000000
#define CR4_PAE		0x00000020
#define MSR_EFER	0xc0000080
#define EFER_LME	0x00000100

#define KERNEL_CS	0x08
#define KERNEL_DS	0x10
#define KERNEL_CS32	0x18

	.text

/* ---- copied below 1 MiB; entered in real mode at offset 0 ---- */
	.code16
	.globl	rt_ap_trampoline
	.globl	rt_ap_trampoline_end
rt_ap_trampoline:
	cli
	cld
	movw	%cs, %ax
	movw	%ax, %ds		/* data relative to this page */
	lgdtl	tramp_gdtr - rt_ap_trampoline
	movl	%cr0, %eax
	andl	$~(CR0_CD | CR0_NW), %eax	/* caches on (reset: off) */
	orl	$CR0_PE, %eax
	movl	%eax, %cr0
	ljmpl	$KERNEL_CS32, $rt_ap_start32
	.balign	8
tramp_gdtr:				/* lgdtl: 16-bit limit, 32-bit base */
	.word	rt_gdt_size - 1
	.long	rt_gdt
rt_ap_trampoline_end:

/* ---- 32-bit protected mode, paging off, in the image ---- */
	.code32
	.type	rt_ap_start32, @function
rt_ap_start32:
	movl	$KERNEL_DS, %eax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	%ax, %fs
	mov	%ax, %gs
	movl	%cr4, %eax
	orl	$CR4_PAE, %eax
	movl	%eax, %cr4
	movl	$rt_pml4, %eax
	movl	%eax, %cr3
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$EFER_LME, %eax
	wrmsr
	movl	%cr0, %eax
	orl	$CR0_PG, %eax
	movl	%eax, %cr0		/* compatibility mode */
	ljmp	$KERNEL_CS, $rt_ap_entry64
	.size	rt_ap_start32, . - rt_ap_start32

/* ---- 64-bit mode, runtime GDT and page tables, no stack yet ---- */
	.code64
	.type	rt_ap_entry64, @function
rt_ap_entry64:
	movl	$RT_LAPIC_ID_ADDR, %edx	/* zero-extended: 0xfee00020 */
	movl	(%rdx), %eax
	shrl	$24, %eax
	movzbl	rt_smp_apic_index(%rax), %ecx
	testl	%ecx, %ecx		/* 0: the BSP's slot */
	jz	1f
	cmpl	$RT_MAX_CPUS, %ecx	/* RT_APIC_INDEX_NONE and beyond */
	jae	1f
	movq	rt_ap_stack_top(, %rcx, 8), %rsp
	testq	%rsp, %rsp
	jz	1f
	movl	%ecx, %edi
	xorl	%ebp, %ebp
	call	rt_ap_main
1:	cli
	hlt
	jmp	1b
	.size	rt_ap_entry64, . - rt_ap_entry64

/* The AP stacks: not zeroed at boot (start.S clears only .bss). */
	.section .noinit, "aw", @nobits
	.balign	16
	.globl	rt_ap_stacks
rt_ap_stacks:
	.skip	(RT_MAX_CPUS - 1) * RT_AP_STACK_SIZE

	.section .note.GNU-stack, "", @progbits
