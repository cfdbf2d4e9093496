/* SPDX-License-Identifier: MIT */
/*
 * x86 boot: turning an image into guest memory contents and an entry state.
 *
 * x86_boot_load() picks the loader from cfg->boot.format (auto-detecting when
 * BOOT_FORMAT_AUTO: Multiboot 2 header, then Multiboot 1 header, then a
 * Linux bzImage, then ELF with a Xen PVH note, then plain ELF; anything else
 * needs format = raw) and fills struct x86_entry. arch/x86/
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
/* Entry conventions beyond the mode (cpu.c realises them):
 *   DEFAULT  CS 0x08 (32-bit) or 0x18 (64-bit), data 0x10; CR0 = PE|MP|
 *            ET|NE (+PG in long mode)
 *   LINUX    Linux boot protocol: __BOOT_CS = 0x10 (64-bit code in long
 *            mode), __BOOT_DS = 0x18, both flat
 *   PVH      Xen PVH ABI: as DEFAULT in protected mode but CR0 = PE|ET
 *            only ("all other writeable bits cleared"), CR4 = 0 */
enum x86_entry_abi {
	X86_ABI_DEFAULT = 0,
	X86_ABI_LINUX,
	X86_ABI_PVH,
};

struct x86_entry {
	enum cpu_mode mode;
	enum x86_entry_abi abi; /* 0 (DEFAULT) after a memset */
	uint64_t rip;
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rsp;
};

/* Platform facts some boot protocols hand to the guest (Linux zero page,
 * PVH start_info). All optional: 0 means "none". */
struct x86_boot_opts {
	uint64_t rsdp; /* guest-physical address of the ACPI RSDP */
};

/* Load cfg->boot into b->mem. On error b->err says what and where.
 * Same as x86_boot_load_opts() with opts = NULL (no RSDP). */
int x86_boot_load(struct boot_ctx *b, const struct vm_config *cfg,
		  struct x86_entry *entry);
int x86_boot_load_opts(struct boot_ctx *b, const struct vm_config *cfg,
		       const struct x86_boot_opts *opts,
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
 * Linux boot protocol (linux.c, docs/boot.md "Linux"). data is a bzImage
 * (boot flag 0xAA55 at 0x1fe and "HdrS" at 0x202) or an ELF64 vmlinux.
 * Entered in 64-bit long mode with the Linux GDT (X86_ABI_LINUX), RSI =
 * zero page (struct boot_params), IF = 0: a bzImage at its load address
 * + 0x200, a vmlinux at its physical entry point. cfg->boot.initrd, if
 * set, is placed page aligned as high as possible below
 * min(initrd_addr_max + 1, 4 GiB). opts may be NULL.
 */
int x86_boot_linux(struct boot_ctx *b, const struct vm_config *cfg,
		   const uint8_t *data, size_t size,
		   const struct x86_boot_opts *opts, struct x86_entry *entry);

/* True if data has the bzImage boot flag and "HdrS" signature (any
 * protocol version: x86_boot_linux() then names what is wrong). */
bool linux_bzimage_probe(const uint8_t *data, size_t size);

/* The setup header fields the loader uses, as parsed and checked by
 * linux_parse_bzimage(). */
struct linux_setup_hdr {
	uint16_t version;	   /* 0x206, e.g. 0x020f for 2.15 */
	unsigned setup_sects;	   /* 0x1f1 as used (0 in the file means 4) */
	uint64_t kernel_off;	   /* (setup_sects + 1) * 512 */
	uint64_t kernel_size;	   /* file bytes from kernel_off */
	uint32_t syssize;	   /* 0x1f4, 16-byte units */
	uint8_t loadflags;	   /* 0x211 */
	uint32_t initrd_addr_max;  /* 0x22c, highest initrd byte */
	uint32_t kernel_alignment; /* 0x230 */
	bool relocatable;	   /* 0x234 */
	uint16_t xloadflags;	   /* 0x236 */
	uint32_t cmdline_size;	   /* 0x238, without the NUL */
	uint64_t pref_address;	   /* 0x258 */
	uint32_t init_size;	   /* 0x260 */
	unsigned hdr_end;	   /* 0x202 + byte at 0x201, at most 0x290 */
};

/* Parse and check a bzImage setup header: signatures, protocol >= 2.12
 * with XLF_KERNEL_64, sizes inside the file, sane alignment. Messages
 * start with "path: ". */
int linux_parse_bzimage(struct boot_ctx *b, const char *path,
			const uint8_t *data, size_t size,
			struct linux_setup_hdr *h);

/*
 * Xen PVH (pvh.c, docs/boot.md "PVH"): an ELF (ELF32 or ELF64, EM_386 or
 * EM_X86_64) with a XEN_ELFNOTE_PHYS32_ENTRY note (owner "Xen", type 18)
 * in a PT_NOTE segment (or, failing that, an SHT_NOTE section). Entered
 * in 32-bit protected mode, paging off (X86_ABI_PVH), at the note's entry
 * with EBX = struct hvm_start_info (version 1, memory map, the initrd as
 * module 0, command line, RSDP). opts may be NULL.
 */
int x86_boot_pvh(struct boot_ctx *b, const struct vm_config *cfg,
		 const uint8_t *data, size_t size,
		 const struct x86_boot_opts *opts, struct x86_entry *entry);

/* True if data is an ELF file carrying a XEN_ELFNOTE_PHYS32_ENTRY note
 * (well formed or not: x86_boot_pvh() reports what is wrong). */
bool pvh_probe(const uint8_t *data, size_t size);

/* Find the PVH entry note: 0 and *entry on success; -ENOENT (err set) if
 * there is none; -ENOEXEC (err set) for a malformed note or note area. */
int pvh_find_entry(struct boot_ctx *b, const char *path, const uint8_t *data,
		   size_t size, uint64_t *entry);

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
 * config order. *start / *end are set to calloc'd arrays of
 * cfg->boot.nr_modules addresses (NULL when there are none) that the
 * caller frees, also on error. */
int x86_mb_load_modules(struct boot_ctx *b, const struct vm_config *cfg,
			uint64_t min_addr, uint64_t **start, uint64_t **end);

/* Find (without reserving) `size` bytes aligned to `align` (power of two)
 * in [min, max), inside one writable RAM region and clear of every
 * reservation: the highest fit if `high`, else the lowest. */
bool x86_find_free(const struct boot_ctx *b, uint64_t size, uint64_t align,
		   uint64_t min, uint64_t max, bool high, uint64_t *gpa);

/* Load cfg->boot.initrd page aligned as high as possible in [1 MiB, max),
 * else (if above_4g) as high as possible above 4 GiB; reserved "initrd".
 * *gpa and *size set (both 0 without an initrd). `limit_what` says
 * where max comes from, for messages. The file is read straight into
 * guest memory. */
int x86_load_initrd(struct boot_ctx *b, const struct vm_config *cfg,
		    uint64_t max, const char *limit_what, bool above_4g,
		    uint64_t *gpa, uint64_t *size);

#endif
