/* SPDX-License-Identifier: MIT */
/*
 * Synthetic Linux bzImages and ELF notes for the Linux and PVH loader tests.
 * Header-only like imgbuild.h (which it builds on). Offsets are those of
 * Documentation/arch/x86/boot.rst, written out here independently of
 * arch/x86/linux.c so a wrong offset there shows up as a test failure.
 */
#ifndef TESTS_UNIT_BZBUILD_H
#define TESTS_UNIT_BZBUILD_H

#include "imgbuild.h"

/* Setup header fields (file offsets = zero page offsets). */
#define TBZ_SETUP_SECTS	     0x1f1
#define TBZ_ROOT_FLAGS	     0x1f2
#define TBZ_SYSSIZE	     0x1f4
#define TBZ_VID_MODE	     0x1fa
#define TBZ_BOOT_FLAG	     0x1fe
#define TBZ_JUMP	     0x200
#define TBZ_HEADER	     0x202
#define TBZ_VERSION	     0x206
#define TBZ_KERNEL_VERSION   0x20e
#define TBZ_TYPE_OF_LOADER   0x210
#define TBZ_LOADFLAGS	     0x211
#define TBZ_CODE32_START     0x214
#define TBZ_RAMDISK_IMAGE    0x218
#define TBZ_RAMDISK_SIZE     0x21c
#define TBZ_HEAP_END_PTR     0x224
#define TBZ_CMD_LINE_PTR     0x228
#define TBZ_INITRD_ADDR_MAX  0x22c
#define TBZ_KERNEL_ALIGNMENT 0x230
#define TBZ_RELOCATABLE	     0x234
#define TBZ_MIN_ALIGNMENT    0x235
#define TBZ_XLOADFLAGS	     0x236
#define TBZ_CMDLINE_SIZE     0x238
#define TBZ_PAYLOAD_OFFSET   0x248
#define TBZ_PAYLOAD_LENGTH   0x24c
#define TBZ_SETUP_DATA	     0x250
#define TBZ_PREF_ADDRESS     0x258
#define TBZ_INIT_SIZE	     0x260
#define TBZ_HANDOVER_OFFSET  0x264
#define TBZ_KERNEL_INFO_OFF  0x268
#define TBZ_HDR_END	     0x26c /* protocol 2.15 */

/* Zero page fields outside the setup header (zero-page.rst). */
#define TZP_ACPI_RSDP	     0x070
#define TZP_EXT_RAMDISK_IMG  0x0c0
#define TZP_EXT_RAMDISK_SIZE 0x0c4
#define TZP_EXT_CMD_LINE_PTR 0x0c8
#define TZP_E820_ENTRIES     0x1e8
#define TZP_SENTINEL	     0x1ef
#define TZP_E820_TABLE	     0x2d0

#define TXLF_KERNEL_64		    0x01
#define TXLF_CAN_BE_LOADED_ABOVE_4G 0x02

struct bz_opts {
	uint16_t version;
	uint8_t setup_sects; /* as written: 0 means 4 */
	uint8_t loadflags;
	uint16_t xloadflags;
	uint32_t kernel_size; /* protected-mode kernel bytes in the file */
	uint32_t init_size;
	uint64_t pref_address;
	uint32_t kernel_alignment;
	uint8_t relocatable;
	uint32_t cmdline_size;
	uint32_t initrd_addr_max;
};

/* A modern relocatable x86-64 kernel (protocol 2.15), 4 KiB of kernel. */
static inline struct bz_opts bz_defaults(void)
{
	return (struct bz_opts){
		.version = 0x020f,
		.setup_sects = 4,
		.loadflags = 0x01, /* LOADED_HIGH */
		.xloadflags = TXLF_KERNEL_64 | TXLF_CAN_BE_LOADED_ABOVE_4G,
		.kernel_size = 4096,
		.init_size = 0x200000,
		.pref_address = 0x1000000,
		.kernel_alignment = 0x200000,
		.relocatable = 1,
		.cmdline_size = 2047,
		.initrd_addr_max = 0x7fffffff,
	};
}

/* Byte i of the protected-mode kernel. */
static inline uint8_t bz_kbyte(size_t i)
{
	return (uint8_t)(i * 7 + 3);
}

static inline void img_put64(struct img *im, size_t off, uint64_t v)
{
	memcpy(im->data + off, &v, sizeof(v));
	if (off + sizeof(v) > im->size)
		im->size = off + sizeof(v);
}

static inline void img_put8(struct img *im, size_t off, uint8_t v)
{
	im->data[off] = v;
	if (off + 1 > im->size)
		im->size = off + 1;
}

/* Setup sectors (filled with 0x5a), setup header, then the kernel. */
static inline void img_bzimage(struct img *im, const struct bz_opts *o)
{
	unsigned sects = o->setup_sects ? o->setup_sects : 4;
	size_t koff = (sects + 1) * 512;

	memset(im->data, 0, sizeof(im->data));
	memset(im->data, 0x5a, koff);
	im->size = 0;
	img_put8(im, TBZ_SETUP_SECTS, o->setup_sects);
	img_put16(im, TBZ_ROOT_FLAGS, 1);
	img_put32(im, TBZ_SYSSIZE, (o->kernel_size + 15) / 16);
	img_put16(im, TBZ_VID_MODE, 0xffff);
	img_put16(im, TBZ_BOOT_FLAG, 0xaa55);
	img_put8(im, TBZ_JUMP, 0xeb); /* jmp short to the header's end */
	img_put8(im, TBZ_JUMP + 1, TBZ_HDR_END - (TBZ_JUMP + 2));
	memcpy(im->data + TBZ_HEADER, "HdrS", 4);
	img_put16(im, TBZ_VERSION, o->version);
	img_put16(im, TBZ_KERNEL_VERSION, 0x1234);
	img_put8(im, TBZ_TYPE_OF_LOADER, 0);
	img_put8(im, TBZ_LOADFLAGS, o->loadflags);
	img_put32(im, TBZ_CODE32_START, 0x100000);
	img_put32(im, TBZ_RAMDISK_IMAGE, 0);
	img_put32(im, TBZ_RAMDISK_SIZE, 0);
	img_put16(im, TBZ_HEAP_END_PTR, 0);
	img_put32(im, TBZ_CMD_LINE_PTR, 0);
	img_put32(im, TBZ_INITRD_ADDR_MAX, o->initrd_addr_max);
	img_put32(im, TBZ_KERNEL_ALIGNMENT, o->kernel_alignment);
	img_put8(im, TBZ_RELOCATABLE, o->relocatable);
	img_put8(im, TBZ_MIN_ALIGNMENT, 21);
	img_put16(im, TBZ_XLOADFLAGS, o->xloadflags);
	img_put32(im, TBZ_CMDLINE_SIZE, o->cmdline_size);
	img_put32(im, TBZ_PAYLOAD_OFFSET, 0x3ab);
	img_put32(im, TBZ_PAYLOAD_LENGTH, 0x100);
	img_put64(im, TBZ_SETUP_DATA, 0);
	img_put64(im, TBZ_PREF_ADDRESS, o->pref_address);
	img_put32(im, TBZ_INIT_SIZE, o->init_size);
	img_put32(im, TBZ_HANDOVER_OFFSET, 0x190);
	img_put32(im, TBZ_KERNEL_INFO_OFF, 0x5a5a);
	for (size_t i = 0; i < o->kernel_size; i++)
		im->data[koff + i] = bz_kbyte(i);
	im->size = koff + o->kernel_size;
}

/* An ELF note at off: namesz/descsz as given (name and desc 4-byte
 * padded). Returns the bytes written. */
static inline size_t img_note(struct img *im, size_t off, const char *name,
			      uint32_t namesz, uint32_t type, const void *desc,
			      uint32_t descsz)
{
	size_t pos = off + 12;

	img_put32(im, off, namesz);
	img_put32(im, off + 4, descsz);
	img_put32(im, off + 8, type);
	memset(im->data + pos, 0, (namesz + 3) & ~3u);
	memcpy(im->data + pos, name, namesz);
	pos += (namesz + 3) & ~3u;
	memset(im->data + pos, 0, (descsz + 3) & ~3u);
	if (desc)
		memcpy(im->data + pos, desc, descsz);
	pos += (descsz + 3) & ~3u;
	if (pos > im->size)
		im->size = pos;
	return pos - off;
}

/* Guest memory helpers beyond imgbuild.h's. */
static inline uint16_t gmem16(const struct guest_mem *m, uint64_t gpa)
{
	uint16_t v = 0xdead;

	mem_read(m, gpa, &v, sizeof(v));
	return v;
}

static inline uint8_t gmem8(const struct guest_mem *m, uint64_t gpa)
{
	uint8_t v = 0xde;

	mem_read(m, gpa, &v, sizeof(v));
	return v;
}

/* A file of `size` bytes: byte i is (i * 13 + seed); 0 size allowed. */
static inline int tmp_pattern(char *path, size_t len, const char *name,
			      size_t size, uint8_t seed)
{
	uint8_t *buf = malloc(size ? size : 1);
	int ret;

	if (!buf)
		return -1;
	for (size_t i = 0; i < size; i++)
		buf[i] = (uint8_t)(i * 13 + seed);
	ret = tmp_write(path, len, name, buf, size);
	free(buf);
	return ret;
}

/* A sparse file of `size` zero bytes. */
static inline int tmp_sparse(char *path, size_t len, const char *name,
			     uint64_t size)
{
	int ret = tmp_write(path, len, name, NULL, 0);

	if (ret)
		return ret;
	return truncate(path, (off_t)size);
}

#endif
