/* SPDX-License-Identifier: MIT */
/*
 * Multiboot 1 header with the "a.out kludge" (Multiboot Specification
 * 0.6.96, 3.1.3): flag bit 16 says the address fields below are valid, so a
 * loader can boot the flat binary made by objcopy -O binary. The linker
 * fills in the addresses:
 *   header_addr    this header
 *   load_addr      __image_start (0x100000): file offset 0 is loaded here
 *   load_end_addr  __data_end: end of the file's contents
 *   bss_end_addr   __image_end: the loader zeroes up to here (.bss, stack)
 *   entry_addr     _start32
 */

#define MB1_MAGIC	0x1badb002
#define MB1_FLAGS	0x00010003

	.section .boot.header, "a"
	.balign	4
	.globl	rt_mb1_header
rt_mb1_header:
	.long	MB1_MAGIC
	.long	MB1_FLAGS
	.long	(-(MB1_MAGIC + MB1_FLAGS)) & 0xffffffff
	.long	rt_mb1_header
	.long	__image_start
	.long	__data_end
	.long	__image_end
	.long	_start32

	.section .note.GNU-stack, "", @progbits
