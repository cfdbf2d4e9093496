/* SPDX-License-Identifier: MIT */
/*
 * Boot information structures the runtime reads, as the loader leaves them
 * in memory. Written from the Multiboot Specification 0.6.96 (section 3.3,
 * "Boot information format") and the Multiboot2 Specification 2.0 (3.6,
 * "Boot information format"). Only the parts the runtime uses.
 */
#ifndef GUEST_RT_MULTIBOOT_H
#define GUEST_RT_MULTIBOOT_H

#include <stdint.h>

/* ---- Multiboot 1 ---- */
#define MB1_BOOTLOADER_MAGIC 0x2badb002u

#define MB1_INFO_MEMORY	     (1u << 0) /* mem_lower, mem_upper */
#define MB1_INFO_CMDLINE     (1u << 2)
#define MB1_INFO_MODS	     (1u << 3)
#define MB1_INFO_MMAP	     (1u << 6)
#define MB1_INFO_LOADER_NAME (1u << 9)

struct mb1_info {
	uint32_t flags;
	uint32_t mem_lower; /* KiB from 0 */
	uint32_t mem_upper; /* KiB from 1 MiB */
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count;
	uint32_t mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length;
	uint32_t mmap_addr;
	uint32_t drives_length;
	uint32_t drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
	uint32_t apm_table;
};
_Static_assert(sizeof(struct mb1_info) == 72, "mb1_info layout");
_Static_assert(__builtin_offsetof(struct mb1_info, mmap_length) == 44,
	       "mb1_info layout");
_Static_assert(__builtin_offsetof(struct mb1_info, boot_loader_name) == 64,
	       "mb1_info layout");

struct mb1_module {
	uint32_t mod_start;
	uint32_t mod_end;
	uint32_t string;
	uint32_t reserved;
};
_Static_assert(sizeof(struct mb1_module) == 16, "mb1_module layout");

/* `size` does not count itself: the next entry is at entry + size + 4. */
struct mb1_mmap_entry {
	uint32_t size;
	uint64_t base_addr;
	uint64_t length;
	uint32_t type;
} __attribute__((packed));
_Static_assert(sizeof(struct mb1_mmap_entry) == 24, "mb1_mmap_entry layout");

/* ---- Multiboot 2 ---- */
#define MB2_BOOTLOADER_MAGIC 0x36d76289u

#define MB2_TAG_END	    0
#define MB2_TAG_CMDLINE	    1
#define MB2_TAG_LOADER_NAME 2
#define MB2_TAG_MODULE	    3
#define MB2_TAG_MEMINFO	    4
#define MB2_TAG_MMAP	    6

struct mb2_info_header {
	uint32_t total_size; /* including this header and the end tag */
	uint32_t reserved;
};

/* Every tag starts with this; tags are padded to 8 bytes. */
struct mb2_tag {
	uint32_t type;
	uint32_t size; /* without the padding */
};

struct mb2_tag_string { /* cmdline, loader name */
	uint32_t type;
	uint32_t size;
	char string[];
};

struct mb2_tag_module {
	uint32_t type;
	uint32_t size;
	uint32_t mod_start;
	uint32_t mod_end;
	char string[];
};

struct mb2_tag_meminfo {
	uint32_t type;
	uint32_t size;
	uint32_t mem_lower;
	uint32_t mem_upper;
};

struct mb2_tag_mmap {
	uint32_t type;
	uint32_t size;
	uint32_t entry_size; /* a multiple of 8, at least 24 */
	uint32_t entry_version;
};

struct mb2_mmap_entry {
	uint64_t base_addr;
	uint64_t length;
	uint32_t type;
	uint32_t reserved;
};
_Static_assert(sizeof(struct mb2_tag_mmap) == 16, "mb2_tag_mmap layout");
_Static_assert(sizeof(struct mb2_mmap_entry) == 24, "mb2_mmap_entry layout");

#endif
