/* SPDX-License-Identifier: MIT */
/*
 * Entry of every x86 guest image (Intel SDM Vol. 3A, 9.8.5 "Initializing
 * IA-32e Mode").
 *
 * The image begins with a two-slot entry table (section .boot.entry, placed
 * first by link.ld at the 1 MiB load base):
 *   offset 0: jmp _start32   32-bit protected mode, paging off: Multiboot 1
 *                            and 2, plain ELF32, raw "protected" entry
 *   offset 8: jmp _start64   64-bit mode with some identity mapping of the
 *                            code and stack: plain ELF64, raw "long" entry
 * A Multiboot header (section .boot.header, from mb1*.S or mb2.S) follows at
 * offset 16 when the image has one.
 *
 * Both paths pass EAX (boot magic) and EBX (boot information address) on to
 * rt_main(): Multiboot loaders set them; for the plain entries the VMM
 * leaves them zero, which rt_main() reads as "no boot protocol".
 *
 * The page tables are static data (no code runs to build them): PML4[0] ->
 * PDPT[0..3] -> four page directories of 2 MiB pages identity-mapping
 * 0-4 GiB. 0-3 GiB is write-back; 3-4 GiB (IOAPIC, LAPIC, PCI holes) is
 * uncached (PCD|PWT). Accessed/dirty bits are preset so the CPU never
 * writes the tables.
 */

#define CR0_PE		0x00000001
#define CR0_PG		0x80000000
#define CR4_PAE		0x00000020
#define MSR_EFER	0xc0000080
#define EFER_LME	0x00000100

#define KERNEL_CS	0x08
#define KERNEL_DS	0x10		/* 0x18: 32-bit code, see smp_tramp.S */

#define PTE_P		0x001
#define PTE_W		0x002
#define PTE_PWT		0x008
#define PTE_PCD		0x010
#define PTE_A		0x020
#define PTE_D		0x040
#define PTE_PS		0x080
#define PDE_2M_WB	(PTE_P | PTE_W | PTE_A | PTE_D | PTE_PS)
#define PDE_2M_UC	(PDE_2M_WB | PTE_PWT | PTE_PCD)
#define PDE_TABLE	(PTE_P | PTE_W | PTE_A)

#define STACK_SIZE	16384

	.section .boot.entry, "ax"
	.globl	rt_entry_table
rt_entry_table:
	.code32
	jmp	_start32
	.org	rt_entry_table + 8, 0xcc
	.code64
	jmp	_start64
	.org	rt_entry_table + 16, 0xcc

	.section .text.boot, "ax"

/* 32-bit protected mode, flat segments, paging off, interrupts off. */
	.code32
	.globl	_start32
	.type	_start32, @function
_start32:
	cli
	cld
	movl	%eax, %ebp		/* boot magic; EBX: boot info */
	lgdt	rt_gdt_ptr		/* 32-bit operand: limit + base[31:0] */
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
	orl	$(CR0_PG | CR0_PE), %eax
	movl	%eax, %cr0		/* now in compatibility mode */
	ljmp	$KERNEL_CS, $rt_long_entry
	.size	_start32, . - _start32

/* 64-bit mode on the VMM's GDT and page tables. Switch to ours. */
	.code64
	.globl	_start64
	.type	_start64, @function
_start64:
	cli
	cld
	movl	%eax, %ebp
	leaq	rt_stack_top(%rip), %rsp
	lgdt	rt_gdt_ptr(%rip)
	movl	$rt_pml4, %eax
	movq	%rax, %cr3
	pushq	$KERNEL_CS
	leaq	rt_long_entry(%rip), %rax
	pushq	%rax
	lretq
	.size	_start64, . - _start64

/* 64-bit mode, runtime GDT and page tables. EBP: magic, EBX: info. */
rt_long_entry:
	movl	$KERNEL_DS, %eax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	%ax, %fs
	mov	%ax, %gs
	leaq	rt_stack_top(%rip), %rsp
	leaq	__bss_start(%rip), %rdi
	leaq	__bss_end(%rip), %rcx
	subq	%rdi, %rcx
	shrq	$3, %rcx
	xorl	%eax, %eax
	rep stosq
	movl	%ebp, %edi		/* zero-extends: upper halves may be */
	movl	%ebx, %esi		/* stale after the 32-bit path */
	xorl	%ebp, %ebp
	call	rt_main
1:	cli
	hlt
	jmp	1b

	.section .data.boot, "aw"
	.balign	16
	.globl	rt_gdt
rt_gdt:					/* accessed bits preset: never written */
	.quad	0			/* 0x00: null */
	.quad	0x00af9b000000ffff	/* 0x08: code, 64-bit (L), DPL 0 */
	.quad	0x00cf93000000ffff	/* 0x10: data, flat 4 GiB, writable */
	.quad	0x00cf9b000000ffff	/* 0x18: code, 32-bit flat (the AP
					 * trampoline's step to long mode) */
rt_gdt_end:
	.globl	rt_gdt_size		/* absolute symbol: bytes in rt_gdt */
	.set	rt_gdt_size, rt_gdt_end - rt_gdt
	.balign	8
	.globl	rt_gdt_ptr
rt_gdt_ptr:				/* lgdt reads 6 bytes in 32-bit mode, */
	.word	rt_gdt_end - rt_gdt - 1	/* 10 in 64-bit mode */
	.quad	rt_gdt

	.section .data.pagetables, "aw"
	.balign	4096
	.globl	rt_pml4
rt_pml4:
	.quad	rt_pdpt + PDE_TABLE
	.fill	511, 8, 0
rt_pdpt:
	.quad	rt_pd + 0x0000 + PDE_TABLE
	.quad	rt_pd + 0x1000 + PDE_TABLE
	.quad	rt_pd + 0x2000 + PDE_TABLE
	.quad	rt_pd + 0x3000 + PDE_TABLE
	.fill	508, 8, 0
rt_pd:
	.set	addr, 0
	.rept	1536			/* 0 - 3 GiB: RAM, write-back */
	.quad	addr | PDE_2M_WB
	.set	addr, addr + 0x200000
	.endr
	.rept	512			/* 3 - 4 GiB: MMIO, uncached */
	.quad	addr | PDE_2M_UC
	.set	addr, addr + 0x200000
	.endr

	.section .noinit, "aw", @nobits
	.balign	16
rt_stack:
	.skip	STACK_SIZE
	.globl	rt_stack_top
rt_stack_top:

	.section .note.GNU-stack, "", @progbits
