/* SPDX-License-Identifier: MIT */
/*
 * Entry, exception-level drop, MMU and vectors of the arm64 guest runtime.
 *
 * _start: the boot CPU (runtime index 0). x0 (the DTB address under Linux
 * boot conventions) is ignored: the DTB is at the start of RAM.
 * rt_secondary_entry: CPUs started by PSCI CPU_ON, x0 = context id = the
 * runtime index.
 *
 * Both paths: if at EL2, make EL1 AArch64 with the timer and the GICv3
 * system registers open to it, and ERET to EL1h; then install the vectors,
 * turn the MMU on with the static identity map below, take the CPU's stack
 * and record its index in TPIDR_EL1. The boot CPU zeroes .bss and calls
 * rt_main(); the others call rt_secondary_main(index).
 */
#define SCTLR_EL1_RES1 0x30d00800 /* bits 11, 20, 22, 23, 28, 29 */
#define SCTLR_EL1_MMU  (SCTLR_EL1_RES1 | (1 << 0) | (1 << 2) | (1 << 3) | \
			(1 << 12)) /* M, C, SA, I */
/* MAIR: attr 0 Device-nGnRnE, attr 1 Normal write-back RW-allocate */
#define MAIR_VALUE 0xff00
/* TCR: T0SZ 32 (4 GiB, walks start at level 1), inner/outer WB WA,
 * inner shareable, 4 KiB granule, EPD1 (no TTBR1 walks), IPS 32 bits */
#define TCR_VALUE ((32 << 0) | (1 << 8) | (1 << 10) | (3 << 12) | (1 << 23))
/* Level 1 block descriptors: AF, AttrIndx; device blocks are XN */
#define BLOCK_NORMAL (0x1 | (1 << 2) | (3 << 8) | (1 << 10))
#define BLOCK_DEVICE (0x1 | (0 << 2) | (1 << 10) | (3 << 53))

#define RT_STACK_SHIFT 14 /* RT_STACK_SIZE = 16 KiB */
#define RT_MAX_CPUS    8

#define FRAME_SIZE 288 /* struct rt_regs */

	.section .text.boot, "ax"
	.global _start
_start:
	mov	x19, #0
	b	common_entry

	.global rt_secondary_entry
rt_secondary_entry:
	mov	x19, x0
	cmp	x19, #RT_MAX_CPUS
	b.hs	park

common_entry:
	msr	daifset, #0xf
	mrs	x20, CurrentEL
	ubfx	x20, x20, #2, #2
	cmp	x20, #2
	b.ne	at_el1

	/* EL2: EL1 is AArch64, no traps of EL1 physical timer/counter. */
	mov	x0, #(1 << 31)			/* HCR_EL2.RW */
	msr	hcr_el2, x0
	mov	x0, #3				/* EL1PCTEN | EL1PCEN */
	msr	cnthctl_el2, x0
	msr	cntvoff_el2, xzr
	/* GICv3 system register interface: let EL1 use it (ICC_SRE_EL2
	 * SRE | Enable); only if the CPU has one. */
	mrs	x0, id_aa64pfr0_el1
	ubfx	x0, x0, #24, #4
	cbz	x0, 1f
	mrs	x0, S3_4_C12_C9_5		/* ICC_SRE_EL2 */
	mov	x1, #0x9
	orr	x0, x0, x1
	msr	S3_4_C12_C9_5, x0
	isb
1:	ldr	x0, =SCTLR_EL1_RES1
	msr	sctlr_el1, x0
	mov	x0, #0x3c5			/* EL1h, DAIF masked */
	msr	spsr_el2, x0
	adr	x0, at_el1
	msr	elr_el2, x0
	eret

at_el1:
	ldr	x0, =rt_vectors
	msr	vbar_el1, x0
	ldr	x0, =MAIR_VALUE
	msr	mair_el1, x0
	ldr	x0, =TCR_VALUE
	msr	tcr_el1, x0
	adrp	x0, rt_pgd
	msr	ttbr0_el1, x0
	isb
	tlbi	vmalle1
	dsb	nsh
	isb
	ldr	x0, =SCTLR_EL1_MMU
	msr	sctlr_el1, x0
	isb

	adrp	x0, rt_stacks
	add	x0, x0, :lo12:rt_stacks
	add	x1, x19, #1
	add	x0, x0, x1, lsl #RT_STACK_SHIFT
	mov	sp, x0
	msr	tpidr_el1, x19
	mov	x29, #0
	mov	x30, #0
	cbnz	x19, 3f

	/* Boot CPU: zero .bss, record the entry EL, C. */
	ldr	x0, =__bss_start
	ldr	x1, =__bss_end
2:	cmp	x0, x1
	b.hs	4f
	stp	xzr, xzr, [x0], #16
	b	2b
4:	ldr	x0, =rt_entry_el_value
	str	w20, [x0]
	bl	rt_main
	b	park

3:	mov	x0, x19
	bl	rt_secondary_main
park:
	wfi
	b	park
	.ltorg

/* ---- vectors ---- */
	.macro	ventry kind
	.balign	0x80
	sub	sp, sp, #FRAME_SIZE
	stp	x0, x1, [sp, #0]
	mov	x0, #\kind
	b	exc_common
	.endm

	.section .text.vectors, "ax"
	.balign	2048
	.global	rt_vectors
rt_vectors:
	ventry	0	/* current EL, SP0: sync */
	ventry	1	/* IRQ */
	ventry	2	/* FIQ */
	ventry	3	/* SError */
	ventry	4	/* current EL, SPx: sync */
	ventry	5	/* IRQ */
	ventry	6	/* FIQ */
	ventry	7	/* SError */
	ventry	8	/* lower EL, AArch64 */
	ventry	9
	ventry	10
	ventry	11
	ventry	12	/* lower EL, AArch32 */
	ventry	13
	ventry	14
	ventry	15

exc_common:
	stp	x2, x3, [sp, #16]
	stp	x4, x5, [sp, #32]
	stp	x6, x7, [sp, #48]
	stp	x8, x9, [sp, #64]
	stp	x10, x11, [sp, #80]
	stp	x12, x13, [sp, #96]
	stp	x14, x15, [sp, #112]
	stp	x16, x17, [sp, #128]
	stp	x18, x19, [sp, #144]
	stp	x20, x21, [sp, #160]
	stp	x22, x23, [sp, #176]
	stp	x24, x25, [sp, #192]
	stp	x26, x27, [sp, #208]
	stp	x28, x29, [sp, #224]
	add	x1, sp, #FRAME_SIZE
	stp	x30, x1, [sp, #240]
	mrs	x1, elr_el1
	mrs	x2, spsr_el1
	stp	x1, x2, [sp, #256]
	mrs	x1, esr_el1
	mrs	x2, far_el1
	stp	x1, x2, [sp, #272]
	cmp	x0, #5
	b.eq	1f
	cmp	x0, #1
	b.eq	1f
	mov	x1, sp
	bl	rt_exception		/* does not return */
	b	park

1:	bl	rt_irq_dispatch
	ldp	x1, x2, [sp, #256]
	msr	elr_el1, x1
	msr	spsr_el1, x2
	ldp	x0, x1, [sp, #0]
	ldp	x2, x3, [sp, #16]
	ldp	x4, x5, [sp, #32]
	ldp	x6, x7, [sp, #48]
	ldp	x8, x9, [sp, #64]
	ldp	x10, x11, [sp, #80]
	ldp	x12, x13, [sp, #96]
	ldp	x14, x15, [sp, #112]
	ldp	x16, x17, [sp, #128]
	ldp	x18, x19, [sp, #144]
	ldp	x20, x21, [sp, #160]
	ldp	x22, x23, [sp, #176]
	ldp	x24, x25, [sp, #192]
	ldp	x26, x27, [sp, #208]
	ldp	x28, x29, [sp, #224]
	ldr	x30, [sp, #240]
	add	sp, sp, #FRAME_SIZE
	eret

/* ---- identity map: four 1 GiB blocks (TCR T0SZ = 32) ---- */
	.section .data.pagetables, "aw"
	.balign	4096
	.global	rt_pgd
rt_pgd:
	.quad	0x00000000 | BLOCK_DEVICE	/* devices */
	.quad	0x40000000 | BLOCK_NORMAL	/* RAM */
	.quad	0x80000000 | BLOCK_NORMAL
	.quad	0xc0000000 | BLOCK_NORMAL
	.balign	4096

	.section .data
	.balign	4
	.global	rt_entry_el_value
rt_entry_el_value:
	.word	1

	.section .noinit, "aw", %nobits
	.balign	16
	.global	rt_stacks
rt_stacks:
	.skip	RT_MAX_CPUS << RT_STACK_SHIFT
