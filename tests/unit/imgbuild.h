/* SPDX-License-Identifier: MIT */
/*
 * Synthetic boot images for the loader tests: ELF32/ELF64 files written by
 * hand from <elf.h> structs, Multiboot 1 and 2 headers, and small helpers
 * for guest memory and temporary files. Header-only (static inline) so each
 * test_*.c executable can use it without extra CMake plumbing.
 */
#ifndef TESTS_UNIT_IMGBUILD_H
#define TESTS_UNIT_IMGBUILD_H

#include <elf.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/mem.h"

#define IMG_MAX (64 * 1024)

/* A test image: bytes plus the size actually used. */
struct img {
	uint8_t data[IMG_MAX] __attribute__((aligned(16)));
	size_t size;
};

struct tseg {
	uint32_t type;	/* 0 means PT_LOAD */
	uint64_t paddr; /* vaddr = paddr unless vaddr is set */
	uint64_t vaddr;
	uint64_t filesz;
	uint64_t memsz;	 /* 0: same as filesz */
	uint64_t offset; /* 0: placed after the headers automatically */
	uint8_t fill;	 /* file bytes: fill, fill + 1, ... */
};

static inline struct img *img_new(void)
{
	struct img *im = calloc(1, sizeof(*im));

	if (!im)
		abort();
	return im;
}

static inline void img_put32(struct img *im, size_t off, uint32_t v)
{
	memcpy(im->data + off, &v, sizeof(v));
	if (off + sizeof(v) > im->size)
		im->size = off + sizeof(v);
}

static inline void img_put16(struct img *im, size_t off, uint16_t v)
{
	memcpy(im->data + off, &v, sizeof(v));
	if (off + sizeof(v) > im->size)
		im->size = off + sizeof(v);
}

static inline uint32_t img_get32(const struct img *im, size_t off)
{
	uint32_t v;

	memcpy(&v, im->data + off, sizeof(v));
	return v;
}

/*
 * Write an ELF file: header, program headers right after it, then each
 * segment's file bytes (16-byte aligned) unless the segment gives its own
 * offset. cls is 32 or 64.
 */
static inline void img_elf(struct img *im, int cls, uint16_t machine,
			   uint16_t type, uint64_t entry,
			   const struct tseg *segs, unsigned n)
{
	size_t ehsz = cls == 32 ? sizeof(Elf32_Ehdr) : sizeof(Elf64_Ehdr);
	size_t phsz = cls == 32 ? sizeof(Elf32_Phdr) : sizeof(Elf64_Phdr);
	size_t pos = (ehsz + n * phsz + 15) & ~(size_t)15;

	memset(im->data, 0, sizeof(im->data));
	im->size = pos;
	for (unsigned i = 0; i < n; i++) {
		const struct tseg *s = &segs[i];
		uint64_t off = s->offset ? s->offset : pos;
		uint64_t memsz = s->memsz ? s->memsz : s->filesz;
		uint64_t vaddr = s->vaddr ? s->vaddr : s->paddr;
		uint32_t ptype = s->type ? s->type : PT_LOAD;

		if (!s->offset && off + s->filesz <= IMG_MAX) {
			for (uint64_t j = 0; j < s->filesz; j++)
				im->data[off + j] = (uint8_t)(s->fill + j);
			pos = (off + s->filesz + 15) & ~(size_t)15;
			if (off + s->filesz > im->size)
				im->size = off + s->filesz;
		}
		if (cls == 32) {
			Elf32_Phdr ph = {
				.p_type = ptype,
				.p_offset = (Elf32_Off)off,
				.p_vaddr = (Elf32_Addr)vaddr,
				.p_paddr = (Elf32_Addr)s->paddr,
				.p_filesz = (Elf32_Word)s->filesz,
				.p_memsz = (Elf32_Word)memsz,
				.p_flags = PF_R | PF_X,
				.p_align = 16,
			};
			memcpy(im->data + ehsz + i * phsz, &ph, sizeof(ph));
		} else {
			Elf64_Phdr ph = {
				.p_type = ptype,
				.p_offset = off,
				.p_vaddr = vaddr,
				.p_paddr = s->paddr,
				.p_filesz = s->filesz,
				.p_memsz = memsz,
				.p_flags = PF_R | PF_X,
				.p_align = 16,
			};
			memcpy(im->data + ehsz + i * phsz, &ph, sizeof(ph));
		}
	}
	if (cls == 32) {
		Elf32_Ehdr eh = {
			.e_type = type,
			.e_machine = machine,
			.e_version = EV_CURRENT,
			.e_entry = (Elf32_Addr)entry,
			.e_phoff = (Elf32_Off)ehsz,
			.e_ehsize = (Elf32_Half)ehsz,
			.e_phentsize = (Elf32_Half)phsz,
			.e_phnum = (Elf32_Half)n,
		};
		memcpy(eh.e_ident, ELFMAG, SELFMAG);
		eh.e_ident[EI_CLASS] = ELFCLASS32;
		eh.e_ident[EI_DATA] = ELFDATA2LSB;
		eh.e_ident[EI_VERSION] = EV_CURRENT;
		memcpy(im->data, &eh, sizeof(eh));
	} else {
		Elf64_Ehdr eh = {
			.e_type = type,
			.e_machine = machine,
			.e_version = EV_CURRENT,
			.e_entry = entry,
			.e_phoff = ehsz,
			.e_ehsize = (Elf64_Half)ehsz,
			.e_phentsize = (Elf64_Half)phsz,
			.e_phnum = (Elf64_Half)n,
		};
		memcpy(eh.e_ident, ELFMAG, SELFMAG);
		eh.e_ident[EI_CLASS] = ELFCLASS64;
		eh.e_ident[EI_DATA] = ELFDATA2LSB;
		eh.e_ident[EI_VERSION] = EV_CURRENT;
		memcpy(im->data, &eh, sizeof(eh));
	}
}

/* Header fields of an ELF written by img_elf(), for corrupting them. */
static inline Elf64_Ehdr *img_eh64(struct img *im)
{
	return (Elf64_Ehdr *)im->data;
}

static inline Elf32_Ehdr *img_eh32(struct img *im)
{
	return (Elf32_Ehdr *)im->data;
}

static inline Elf64_Phdr *img_ph64(struct img *im, unsigned i)
{
	return (Elf64_Phdr *)(im->data + sizeof(Elf64_Ehdr)) + i;
}

/* File offset of segment i's data (as img_elf() placed it). */
static inline uint64_t img_seg_off(struct img *im, int cls, unsigned i)
{
	if (cls == 32)
		return ((Elf32_Phdr *)(im->data + sizeof(Elf32_Ehdr)))[i]
			.p_offset;
	return img_ph64(im, i)->p_offset;
}

/* Multiboot 1 header at off: magic, flags, checksum (+ kludge fields if
 * flags bit 16). Returns the header size written. */
#define TMB1_MAGIC 0x1BADB002u
static inline size_t img_mb1(struct img *im, size_t off, uint32_t flags,
			     uint32_t header_addr, uint32_t load_addr,
			     uint32_t load_end_addr, uint32_t bss_end_addr,
			     uint32_t entry_addr)
{
	img_put32(im, off, TMB1_MAGIC);
	img_put32(im, off + 4, flags);
	img_put32(im, off + 8, -(TMB1_MAGIC + flags));
	if (!(flags & (1u << 16)))
		return 12;
	img_put32(im, off + 12, header_addr);
	img_put32(im, off + 16, load_addr);
	img_put32(im, off + 20, load_end_addr);
	img_put32(im, off + 24, bss_end_addr);
	img_put32(im, off + 28, entry_addr);
	return 32;
}

/* Multiboot 2 header builder: start, add tags, finish (end tag, length,
 * checksum). */
#define TMB2_MAGIC 0xE85250D6u
struct mb2b {
	struct img *im;
	size_t start, pos;
};

static inline void mb2b_start(struct mb2b *h, struct img *im, size_t off,
			      uint32_t arch)
{
	h->im = im;
	h->start = off;
	h->pos = off + 16;
	img_put32(im, off, TMB2_MAGIC);
	img_put32(im, off + 4, arch);
}

/* A tag with `n` u32 payload words. */
static inline void mb2b_tag(struct mb2b *h, uint16_t type, uint16_t flags,
			    const uint32_t *words, unsigned n)
{
	img_put16(h->im, h->pos, type);
	img_put16(h->im, h->pos + 2, flags);
	img_put32(h->im, h->pos + 4, 8 + 4 * n);
	for (unsigned i = 0; i < n; i++)
		img_put32(h->im, h->pos + 8 + 4 * i, words[i]);
	h->pos += (8 + 4 * n + 7) & ~7u;
}

/* Ends with an end tag unless no_end; returns the header length. */
static inline uint32_t mb2b_finish(struct mb2b *h, bool no_end)
{
	uint32_t len, arch = img_get32(h->im, h->start + 4);

	if (!no_end)
		mb2b_tag(h, 0, 0, NULL, 0);
	len = (uint32_t)(h->pos - h->start);
	img_put32(h->im, h->start + 8, len);
	img_put32(h->im, h->start + 12, -(TMB2_MAGIC + arch + len));
	return len;
}

/* Write data to a new temporary file; path receives its name. */
static inline int tmp_write(char *path, size_t len, const char *name,
			    const void *data, size_t size)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	int fd;

	snprintf(path, len, "%s/vmm-test-%s-XXXXXX", dir, name);
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Guest RAM helpers */
static inline uint32_t gmem32(const struct guest_mem *m, uint64_t gpa)
{
	uint32_t v = 0xdeadbeef;

	mem_read(m, gpa, &v, sizeof(v));
	return v;
}

static inline uint64_t gmem64(const struct guest_mem *m, uint64_t gpa)
{
	uint64_t v = 0xdeadbeefdeadbeefULL;

	mem_read(m, gpa, &v, sizeof(v));
	return v;
}

static inline const char *gmem_str(const struct guest_mem *m, uint64_t gpa)
{
	const char *s = mem_ptr(m, gpa, 1);

	return s ? s : "<not in RAM>";
}

#endif
