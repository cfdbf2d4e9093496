/* SPDX-License-Identifier: MIT */
/*
 * Placing boot data in guest memory. A boot is built in a boot_ctx: every
 * range the VMM writes (image segments, page tables, boot info, modules)
 * is first reserved, so nothing silently overwrites anything else and every
 * failure names what collided with what. Messages go to ctx->err, prefixed
 * with the image path where one is involved.
 */
#ifndef VMM_BOOT_H
#define VMM_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/mem.h"

#define BOOT_MAX_RESERVATIONS 64

struct boot_reservation {
	uint64_t gpa;
	uint64_t size;
	char what[48];
};

struct boot_ctx {
	struct guest_mem *mem;
	struct boot_reservation res[BOOT_MAX_RESERVATIONS];
	unsigned nr_res;
	char err[512];
};

void boot_ctx_init(struct boot_ctx *b, struct guest_mem *mem);

/* Set b->err (printf-style) and return err (a negative errno). */
int boot_fail(struct boot_ctx *b, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix the message already in b->err with the formatted text and ": "
 * (e.g. the image path after a boot_reserve() failure); returns err. */
int boot_fail_prefix(struct boot_ctx *b, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The guest RAM map as text for messages: "[0x0-0x8000000) ram, ...". */
const char *boot_fmt_ram(const struct guest_mem *mem, char *buf, size_t len);

/*
 * Reserve [gpa, gpa + size): -ERANGE (err set) if it is not entirely inside
 * one writable RAM region (read-only regions are mapped read-only in the
 * VMM and never count) or wraps, -EBUSY (err set, naming both) if it overlaps an
 * earlier reservation, -ENOSPC if the table is full. size 0 is a no-op.
 */
int boot_reserve(struct boot_ctx *b, uint64_t gpa, uint64_t size,
		 const char *what);

/*
 * Reserve and fill: copy `filesz` bytes from src to gpa, zero the rest up to
 * memsz (memsz >= filesz, else -EINVAL).
 */
int boot_load(struct boot_ctx *b, uint64_t gpa, const void *src,
	      uint64_t filesz, uint64_t memsz, const char *what);

/*
 * Find and reserve `size` bytes aligned to `align` (power of two) inside
 * [min, max) that are RAM and not reserved; lowest fit wins. The memory is
 * zeroed. *gpa set on success; -ENOMEM (err set) when nothing fits.
 */
int boot_alloc(struct boot_ctx *b, uint64_t size, uint64_t align, uint64_t min,
	       uint64_t max, const char *what, uint64_t *gpa);

/* Highest end address of all reservations (0 if none). */
uint64_t boot_reserved_end(const struct boot_ctx *b);

/* Open a regular file for a boot, checking it holds at most max_size bytes
 * (else -EFBIG): *fd (caller closes) and its *size. Messages name path. */
int boot_open_file(struct boot_ctx *b, const char *path, uint64_t max_size,
		   int *fd, size_t *size);

/*
 * Reserve [gpa, gpa + memsz) as `what` and read the first filesz bytes of
 * the file fd straight into it (no buffer the size of the file: a kernel
 * image costs no host memory beyond guest RAM), zeroing the rest.
 * memsz >= filesz, else -EINVAL; a file shorter than filesz is -EIO.
 */
int boot_load_fd(struct boot_ctx *b, const char *path, int fd, uint64_t gpa,
		 size_t filesz, uint64_t memsz, const char *what);

/* Read the first size bytes of the file fd into guest RAM at gpa, which the
 * caller has reserved (boot_reserve(), boot_alloc()). */
int boot_read_into(struct boot_ctx *b, const char *path, int fd, uint64_t gpa,
		   size_t size);

/* Read a whole file (at most max_size bytes, else -EFBIG). Caller frees. */
int boot_read_file(struct boot_ctx *b, const char *path, uint64_t max_size,
		   uint8_t **data, size_t *size);

/*
 * ELF (libelf): load every PT_LOAD segment at its p_paddr (filesz bytes from
 * the file, zero-filled to memsz). Checks: ELF magic, class 32/64, little
 * endian, EXEC type, machine in `machines` (a 0-terminated EM_* list; NULL
 * accepts any), segments inside the file and inside RAM, no overlaps, at
 * least one PT_LOAD (at most 32), sizes that do not wrap, the entry point
 * inside a loaded segment. Everything is checked before anything is
 * written. Messages start with "path: ".
 */
struct elf_info {
	int elf_class;	  /* 32 or 64 */
	uint16_t machine; /* EM_* */
	uint64_t entry;	  /* e_entry */
	/* e_entry as a physical address: translated through the PT_LOAD
	 * whose virtual range holds it (else e_entry itself); always inside
	 * a loaded segment */
	uint64_t entry_paddr;
	uint64_t lowest; /* lowest p_paddr loaded */
	uint64_t end;	 /* highest p_paddr + p_memsz */
	unsigned nr_segments;
};

int elf_load(struct boot_ctx *b, const char *path, const uint8_t *data,
	     size_t size, const uint16_t *machines, struct elf_info *info);

/* True if data starts with the ELF magic. */
bool elf_is_elf(const uint8_t *data, size_t size);

/* Raw binary: copy the whole file to load_addr (reserved as "image"). */
int raw_load(struct boot_ctx *b, const char *path, const uint8_t *data,
	     size_t size, uint64_t load_addr);

#endif
