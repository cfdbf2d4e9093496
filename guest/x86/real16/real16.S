/* SPDX-License-Identifier: MIT */
/*
 * real16.bin: a raw 16-bit real-mode program. Load at 0x8000, enter at
 * 0x8000 (CS:IP 0000:8000; any CS:IP with that linear address works, data
 * is addressed with DS = 0). Needs no stack and no BIOS.
 *
 * Prints "Hello from real mode\n" on COM1 (8N1 at 115200, polling LSR.THRE
 * before each byte), then writes 0x10 to the debug-exit port: the VMM exits
 * with status (0x10 << 1) | 1 = 33. If the VM keeps running: cli; hlt.
 */

#define COM1		0x3f8
#define DEBUG_EXIT	0xf4
#define EXIT_CODE	0x10

	.code16
	.section .text, "ax"
	.globl	_start
_start:
	cli
	cld
	xorw	%ax, %ax
	movw	%ax, %ds

	movw	$COM1 + 3, %dx		/* LCR: DLAB */
	movb	$0x80, %al
	outb	%al, %dx
	movw	$COM1 + 0, %dx		/* DLL: 115200 baud */
	movb	$1, %al
	outb	%al, %dx
	movw	$COM1 + 1, %dx		/* DLM */
	xorb	%al, %al
	outb	%al, %dx
	movw	$COM1 + 3, %dx		/* LCR: 8N1 */
	movb	$0x03, %al
	outb	%al, %dx

	movw	$message, %si
next:
	lodsb
	testb	%al, %al
	jz	done
	movb	%al, %bl
	movw	$COM1 + 5, %dx		/* LSR */
wait:
	inb	%dx, %al
	testb	$0x20, %al		/* THRE */
	jz	wait
	movw	$COM1, %dx		/* THR */
	movb	%bl, %al
	outb	%al, %dx
	jmp	next

done:
	movw	$DEBUG_EXIT, %dx
	movb	$EXIT_CODE, %al
	outb	%al, %dx
halt:
	cli
	hlt
	jmp	halt

message:
	.asciz	"Hello from real mode\n"

	.section .note.GNU-stack, "", @progbits
