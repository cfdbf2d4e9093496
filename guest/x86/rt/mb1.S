/* SPDX-License-Identifier: MIT */
/*
 * Multiboot 1 header for ELF images (Multiboot Specification 0.6.96, 3.1):
 * flags = page-align modules (bit 0) + memory information (bit 1); no a.out
 * kludge (bit 16), so the loader takes the layout and the entry point
 * (_start32) from the ELF headers. link.ld puts .boot.header at image offset
 * 16, well inside the first 8 KiB of the file the spec asks for.
 */

#define MB1_MAGIC	0x1badb002
#define MB1_FLAGS	0x00000003

	.section .boot.header, "a"
	.balign	4
	.globl	rt_mb1_header
rt_mb1_header:
	.long	MB1_MAGIC
	.long	MB1_FLAGS
	.long	(-(MB1_MAGIC + MB1_FLAGS)) & 0xffffffff

	.section .note.GNU-stack, "", @progbits
