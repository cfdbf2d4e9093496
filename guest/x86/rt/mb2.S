/* SPDX-License-Identifier: MIT */
/*
 * Multiboot 2 header (Multiboot2 Specification 2.0, 3.1): architecture 0
 * (32-bit protected mode i386), then 8-byte aligned tags:
 *   information request (type 1, required): command line (1), boot loader
 *     name (2), modules (3), basic memory information (4), memory map (6)
 *   entry address (type 3, required): _start32, so a loader does not have
 *     to look at e_entry of this ELF64 file
 *   end (type 0)
 * At image offset 16: inside the first 32 KiB, 8-byte aligned.
 */

#define MB2_MAGIC	0xe85250d6
#define MB2_ARCH_I386	0

	.section .boot.header, "a"
	.balign	8
	.globl	rt_mb2_header
rt_mb2_header:
	.long	MB2_MAGIC
	.long	MB2_ARCH_I386
	.long	rt_mb2_header_end - rt_mb2_header
	.long	(-(MB2_MAGIC + MB2_ARCH_I386 + (rt_mb2_header_end - rt_mb2_header))) & 0xffffffff

	.balign	8
1:	.short	1			/* information request */
	.short	0			/* flags: not optional */
	.long	2f - 1b
	.long	1, 2, 3, 4, 6
2:
	.balign	8
	.short	3			/* entry address */
	.short	0
	.long	12
	.long	_start32

	.balign	8
	.short	0			/* end */
	.short	0
	.long	8
rt_mb2_header_end:

	.section .note.GNU-stack, "", @progbits
