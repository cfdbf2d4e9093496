/* SPDX-License-Identifier: MIT */
/*
 * Interrupt and exception entry stubs (Intel SDM Vol. 3A, 6.14 "Exception
 * and Interrupt Handling in 64-bit Mode").
 *
 * rt_isr_stubs holds RT_NR_VECTORS stubs of exactly 16 bytes each, so the
 * stub of vector v is at rt_isr_stubs + 16 * v (irq.c builds the IDT from
 * that). Each stub makes the frame uniform: a 0 "error code" for vectors
 * where the CPU pushes none, then the vector number. isr_common saves all
 * general registers (struct rt_frame in irq.c, lowest address first: r15
 * ... rax, vector, error, then the CPU's rip, cs, rflags, rsp, ss) and
 * calls rt_isr_dispatch(frame).
 *
 * Stack alignment: the CPU aligns RSP to 16 before pushing its 5-quadword
 * frame; error + vector + 15 registers make 22 quadwords, so RSP is 16-byte
 * aligned at the call, as the SysV ABI wants.
 */

#define NR_VECTORS	64

	.text
	.balign	16
	.globl	rt_isr_stubs
rt_isr_stubs:
	.set	vec, 0
	.rept	NR_VECTORS
	.balign	16, 0xcc
	/* #DF, #TS, #NP, #SS, #GP, #PF, #AC, #CP, #VC, #SX push an error code */
	.if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	.else
	pushq	$0
	.endif
	pushq	$vec
	jmp	isr_common
	.set	vec, vec + 1
	.endr

isr_common:
	pushq	%rax
	pushq	%rbx
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%rbp
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	movq	%rsp, %rdi
	cld
	call	rt_isr_dispatch
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rbp
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rbx
	popq	%rax
	addq	$16, %rsp		/* vector, error code */
	iretq

	.section .note.GNU-stack, "", @progbits
