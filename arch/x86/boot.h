/* SPDX-License-Identifier: MIT */
/*
 * x86 boot: turning an image into guest memory contents and an entry state.
 *
 * x86_boot_load() picks the loader from cfg->boot.format (auto-detecting when
 * BOOT_FORMAT_AUTO: Multiboot 2 header, then Multiboot 1 header, then ELF;
 * anything else needs format = raw) and fills struct x86_entry. arch/x86/
 * cpu.c then builds what the entry mode needs (GDT, identity page tables)
 * with boot_alloc() and loads the registers.
 *
 * Guest physical layout conventions used by the loaders (see docs/x86.md):
 *   0x00000000-0x000004ff  real-mode IVT and BDA: never allocated
 *   0x00000500-0x0009fbff  low RAM: boot_alloc() area for GDT, page tables,
 *                          boot info, command lines (lowest fit first)
 *   0x0009fc00-0x000fffff  EBDA/VGA/ROM hole: reported reserved in memory
 *                          maps, never allocated
 *   0x00100000-...         images (as linked), then modules, page aligned
 */
#ifndef ARCH_X86_BOOT_H
#define ARCH_X86_BOOT_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/boot.h"
#include "vmm/config.h"

#define X86_LOW_ALLOC_MIN 0x500ULL
#define X86_LOW_ALLOC_MAX 0x9fc00ULL
#define X86_HOLE_START	  0x9fc00ULL
#define X86_HOLE_END	  0x100000ULL

/* Where the vCPU starts. cpu.c sets segments/CR0/CR4/EFER per mode:
 *   REAL:      CS = rip >> 4 & 0xf000 form: cs_base = rip & ~0xffff,
 *              ip = rip & 0xffff; all other segments base 0
 *   PROTECTED: flat 4 GiB code/data segments, paging off, IF = 0
 *   LONG:      64-bit code segment, identity-mapped first 4 GiB (and all
 *              RAM), IF = 0 */
struct x86_entry {
	enum cpu_mode mode;
	uint64_t rip;
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rsp;
};

/* Load cfg->boot into b->mem. On error b->err says what and where. */
int x86_boot_load(struct boot_ctx *b, const struct vm_config *cfg,
		  struct x86_entry *entry);

/* Individual loaders (x86_boot_load() dispatches to these). `data`/`size`
 * is the whole image file. */
int x86_boot_elf(struct boot_ctx *b, const struct vm_config *cfg,
		 const uint8_t *data, size_t size, struct x86_entry *entry);
int x86_boot_raw(struct boot_ctx *b, const struct vm_config *cfg,
		 const uint8_t *data, size_t size, struct x86_entry *entry);
int multiboot1_load(struct boot_ctx *b, const struct vm_config *cfg,
		    const uint8_t *data, size_t size, struct x86_entry *entry);
int multiboot2_load(struct boot_ctx *b, const struct vm_config *cfg,
		    const uint8_t *data, size_t size, struct x86_entry *entry);

/* Header probes for auto-detection: true if a valid header (magic and
 * checksum) lies where the spec says to look. */
bool multiboot1_probe(const uint8_t *data, size_t size);
bool multiboot2_probe(const uint8_t *data, size_t size);

/*
 * The guest's physical memory map as the firmware would report it: every RAM
 * region as available, minus the 0x9fc00-0x100000 hole (reported as
 * reserved where RAM covers it), sorted, adjacent ranges merged.
 */
enum x86_mmap_type { X86_MMAP_RAM = 1, X86_MMAP_RESERVED = 2 };
struct x86_mmap_entry {
	uint64_t addr;
	uint64_t len;
	uint32_t type;
};
#define X86_MMAP_MAX 40
unsigned x86_memmap(const struct guest_mem *mem, struct x86_mmap_entry *out,
		    unsigned max);

/*
 * Helpers shared by the x86 loaders (boot.c, multiboot.c, multiboot2.c);
 * not for use outside arch/x86. See docs/boot.md for the layout they make.
 */

/* Bytes of writable guest RAM: the size limit for images and modules. */
uint64_t x86_ram_size(const struct guest_mem *mem);

/* Boot information (Multiboot info, strings): in low RAM
 * [X86_LOW_ALLOC_MIN, X86_LOW_ALLOC_MAX) if it fits, else the lowest fit in
 * [1 MiB, 4 GiB). Zeroed. 0 or -ENOMEM with b->err set. */
int x86_boot_alloc_info(struct boot_ctx *b, uint64_t size, uint64_t align,
			const char *what, uint64_t *gpa);

/* The kernel command line the Multiboot loaders pass: the image file's
 * base name, then a space and cfg->boot.cmdline if that is not empty
 * (GRUB legacy and QEMU -kernel convention). malloc'd; NULL on ENOMEM. */
char *x86_mb_cmdline(const struct vm_config *cfg);

/* Multiboot mem_lower / mem_upper in KiB, from x86_memmap(): RAM
 * contiguous from 0 (at most 640 KiB) and from 1 MiB (at most 4 GiB - 1). */
void x86_mb_meminfo(const struct guest_mem *mem, uint32_t *lower,
		    uint32_t *upper);

/* The a.out kludge fields of a Multiboot 1 header or a Multiboot 2 address
 * + entry tag pair, all 32-bit as in the headers. */
struct x86_mb_kludge {
	uint64_t header_off; /* file offset of the Multiboot header */
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr;
	uint32_t entry_addr;
	bool load_from_start; /* MB2 load_addr == 0xffffffff */
};

/* Validate and load an a.out-kludge image. *end: end of the image in
 * guest memory (load_addr + loaded size + bss). */
int x86_mb_load_kludge(struct boot_ctx *b, const char *path,
		       const uint8_t *data, size_t size,
		       const struct x86_mb_kludge *k, uint64_t *end);

/* Load an ELF32/ELF64 Multiboot image (EM_386 or EM_X86_64) that must lie
 * below 4 GiB, entered at its physical entry point (< 4 GiB). */
int x86_mb_load_elf(struct boot_ctx *b, const char *path, const uint8_t *data,
		    size_t size, struct elf_info *info);

/* Load cfg->boot.modules page aligned above min_addr, below 4 GiB, in
 * config order. start/end arrays have cfg->boot.nr_modules entries. */
int x86_mb_load_modules(struct boot_ctx *b, const struct vm_config *cfg,
			uint64_t min_addr, uint64_t *start, uint64_t *end);

#endif
