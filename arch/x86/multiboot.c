/* SPDX-License-Identifier: MIT */
/*
 * Multiboot 1 (specification 0.6.96), plus the pieces Multiboot 2 shares
 * with it: a.out-kludge loading, ELF loading below 4 GiB, modules.
 *
 * Every header field is guest-controlled input: offsets are checked against
 * the file, addresses are widened to 64 bits before any arithmetic, and
 * the loaders write guest memory only through boot_load()/boot_alloc().
 */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/boot.h"
#include "version.h"
#include "vmm/util.h"

#define MB1_MAGIC	  0x1BADB002u
#define MB1_BOOT_MAGIC	  0x2BADB002u
#define MB1_SEARCH	  8192
#define MB1_HEADER_MIN	  12 /* magic, flags, checksum */
#define MB1_HEADER_KLUDGE 32 /* ... + the five address fields */

/* Header flags: bits 0-15 are requirements, 16-31 optional features. */
#define MB1_F_PAGE_ALIGN  (1u << 0)
#define MB1_F_MEMORY_INFO (1u << 1)
#define MB1_F_VIDEO_MODE  (1u << 2)
#define MB1_F_AOUT_KLUDGE (1u << 16)
#define MB1_F_REQUIRED	  0x0000ffffu
#define MB1_F_SUPPORTED	  (MB1_F_PAGE_ALIGN | MB1_F_MEMORY_INFO)

/* Info flags */
#define MB1_I_MEMORY	  (1u << 0)
#define MB1_I_CMDLINE	  (1u << 2)
#define MB1_I_MODS	  (1u << 3)
#define MB1_I_MEM_MAP	  (1u << 6)
#define MB1_I_LOADER_NAME (1u << 9)

#define FOUR_GIB  (4 * GiB)
#define PAGE_SIZE 4096ULL

struct mb1_header {
	uint32_t magic, flags, checksum;
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr;
	uint32_t entry_addr;
};

/* The boot information structure, as the spec lays it out (section 3.3). */
struct mb1_info {
	uint32_t flags;
	uint32_t mem_lower, mem_upper;
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
	uint32_t apm_table;
	uint32_t vbe_control_info, vbe_mode_info;
	uint16_t vbe_mode, vbe_interface_seg, vbe_interface_off,
		vbe_interface_len;
	uint64_t framebuffer_addr;
	uint32_t framebuffer_pitch, framebuffer_width, framebuffer_height;
	uint8_t framebuffer_bpp, framebuffer_type;
	uint8_t color_info[6];
} __attribute__((packed));
_Static_assert(sizeof(struct mb1_info) == 116, "multiboot info layout");
_Static_assert(offsetof(struct mb1_info, mmap_length) == 44, "mmap_length");
_Static_assert(offsetof(struct mb1_info, boot_loader_name) == 64,
	       "boot_loader_name");
_Static_assert(offsetof(struct mb1_info, framebuffer_addr) == 88,
	       "framebuffer_addr");

struct mb1_module {
	uint32_t mod_start, mod_end, string, reserved;
};
_Static_assert(sizeof(struct mb1_module) == 16, "multiboot module layout");

/* 'size' is the size of the rest of the entry (20), not of the entry. */
struct mb1_mmap {
	uint32_t size;
	uint64_t addr, len;
	uint32_t type;
} __attribute__((packed));
_Static_assert(sizeof(struct mb1_mmap) == 24, "multiboot mmap layout");

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Offset of the first 4-byte aligned header in the first 8 KiB whose
 * three words fit in the file (with a valid checksum if want_valid), or
 * -1. */
static long find_header(const uint8_t *data, size_t size, bool want_valid)
{
	size_t limit = MIN(size, (size_t)MB1_SEARCH);

	for (size_t off = 0; off + MB1_HEADER_MIN <= limit; off += 4) {
		const uint8_t *p = data + off;

		if (get32(p) != MB1_MAGIC)
			continue;
		if (!want_valid || get32(p) + get32(p + 4) + get32(p + 8) == 0)
			return (long)off;
	}
	return -1;
}

bool multiboot1_probe(const uint8_t *data, size_t size)
{
	return data && find_header(data, size, true) >= 0;
}

int x86_mb_load_kludge(struct boot_ctx *b, const char *path,
		       const uint8_t *data, size_t size,
		       const struct x86_mb_kludge *k, uint64_t *end)
{
	uint64_t load_addr, load_off, load_len, mem_len;
	int ret;

	if (k->load_from_start) {
		/* MB2 load_addr = -1: the file is loaded from offset 0, so
		 * the header lands at header_addr. */
		if (k->header_off > k->header_addr)
			return boot_fail(b, -ENOEXEC,
					 "%s: header_addr %#x is below the "
					 "header's file offset %#llx",
					 path, k->header_addr,
					 (unsigned long long)k->header_off);
		load_addr = k->header_addr - k->header_off;
		load_off = 0;
	} else {
		if (k->load_addr > k->header_addr)
			return boot_fail(b, -ENOEXEC,
					 "%s: load_addr %#x is above "
					 "header_addr %#x",
					 path, k->load_addr, k->header_addr);
		if (k->header_addr - k->load_addr > k->header_off)
			return boot_fail(b, -ENOEXEC,
					 "%s: load_addr %#x would start "
					 "loading %#x bytes before the header, "
					 "which is at file offset %#llx",
					 path, k->load_addr,
					 k->header_addr - k->load_addr,
					 (unsigned long long)k->header_off);
		load_addr = k->load_addr;
		load_off = k->header_off - (k->header_addr - k->load_addr);
	}

	if (k->load_end_addr == 0) {
		load_len = size - load_off; /* load_off <= header_off < size */
	} else {
		if (k->load_end_addr <= load_addr)
			return boot_fail(b, -ENOEXEC,
					 "%s: load_end_addr %#x is not above "
					 "load_addr %#llx",
					 path, k->load_end_addr,
					 (unsigned long long)load_addr);
		load_len = k->load_end_addr - load_addr;
		if (load_len > size - load_off)
			return boot_fail(b, -ENOEXEC,
					 "%s: load_end_addr %#x needs %#llx "
					 "bytes from file offset %#llx, but "
					 "the file has %zu bytes (truncated?)",
					 path, k->load_end_addr,
					 (unsigned long long)load_len,
					 (unsigned long long)load_off, size);
	}
	mem_len = load_len;
	if (k->bss_end_addr) {
		if (k->bss_end_addr < load_addr + load_len)
			return boot_fail(
				b, -ENOEXEC,
				"%s: bss_end_addr %#x is below the "
				"end of the loaded data %#llx",
				path, k->bss_end_addr,
				(unsigned long long)(load_addr + load_len));
		mem_len = k->bss_end_addr - load_addr;
	}
	/* All inputs are 32-bit, so these sums cannot wrap in 64 bits. */
	if (load_addr + mem_len > FOUR_GIB)
		return boot_fail(b, -ERANGE,
				 "%s: image [%#llx-%#llx) extends above 4 GiB",
				 path, (unsigned long long)load_addr,
				 (unsigned long long)(load_addr + mem_len));
	if (k->entry_addr < load_addr || k->entry_addr >= load_addr + mem_len)
		return boot_fail(b, -ENOEXEC,
				 "%s: entry_addr %#x is outside the loaded "
				 "image [%#llx-%#llx)",
				 path, k->entry_addr,
				 (unsigned long long)load_addr,
				 (unsigned long long)(load_addr + mem_len));
	ret = boot_load(b, load_addr, data + load_off, load_len, mem_len,
			"image");
	if (ret)
		return boot_fail_prefix(b, ret, "%s", path);
	*end = load_addr + mem_len;
	return 0;
}

int x86_mb_load_elf(struct boot_ctx *b, const char *path, const uint8_t *data,
		    size_t size, struct elf_info *info)
{
	static const uint16_t machines[] = { EM_386, EM_X86_64, 0 };
	int ret;

	ret = elf_load(b, path, data, size, machines, info);
	if (ret)
		return ret;
	/* Multiboot enters in 32-bit protected mode with paging off. */
	if (info->end > FOUR_GIB)
		return boot_fail(b, -ERANGE,
				 "%s: ELF image ends at %#llx, above 4 GiB "
				 "(Multiboot starts in 32-bit protected mode)",
				 path, (unsigned long long)info->end);
	if (info->entry_paddr >= FOUR_GIB)
		return boot_fail(b, -ERANGE,
				 "%s: entry point %#llx is above 4 GiB", path,
				 (unsigned long long)info->entry_paddr);
	return 0;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

int x86_mb_load_modules(struct boot_ctx *b, const struct vm_config *cfg,
			uint64_t min_addr, uint64_t **startp, uint64_t **endp)
{
	uint64_t limit = x86_ram_size(b->mem);
	uint64_t *start, *end;

	*startp = *endp = NULL;
	if (!cfg->boot.nr_modules)
		return 0;
	*startp = start = calloc(cfg->boot.nr_modules, sizeof(*start));
	*endp = end = calloc(cfg->boot.nr_modules, sizeof(*end));
	if (!start || !end)
		return boot_fail(b, -ENOMEM, "out of memory");

	for (unsigned i = 0; i < cfg->boot.nr_modules; i++) {
		const struct cfg_module *m = &cfg->boot.modules[i];
		char what[sizeof(b->res[0].what)];
		uint8_t *data;
		size_t size;
		uint64_t gpa;
		int ret;

		ret = boot_read_file(b, m->path, limit, &data, &size);
		if (ret)
			return ret;
		snprintf(what, sizeof(what), "module %u (%s)", i,
			 base_name(m->path));
		/* An empty module still gets a distinct, aligned address. */
		ret = boot_alloc(b, size ? size : 1, PAGE_SIZE, min_addr,
				 FOUR_GIB, what, &gpa);
		if (ret) {
			free(data);
			return boot_fail_prefix(b, ret, "%s", m->path);
		}
		memcpy(mem_ptr(b->mem, gpa, size), data, size);
		free(data);
		start[i] = gpa;
		end[i] = gpa + size;
	}
	return 0;
}

/* Required flags we cannot honour, as text for the error message. */
static void describe_flags(uint32_t bad, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned bit = 0; bit < 16 && off < len; bit++) {
		int n;

		if (!(bad & (1u << bit)))
			continue;
		if (bit == 2)
			n = snprintf(buf + off, len - off,
				     "%sbit 2 (video mode table: no display)",
				     off ? ", " : "");
		else
			n = snprintf(buf + off, len - off, "%sbit %u (unknown)",
				     off ? ", " : "", bit);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

/* The module's string: its whole config value ("path args..."). */
static const char *mod_string(const struct cfg_module *m)
{
	return m->cmdline ? m->cmdline : m->path;
}

struct mb1_layout {
	size_t info, mods, mmap, cmdline, name, strings, total;
};

static int build_info(struct boot_ctx *b, const struct vm_config *cfg,
		      const uint64_t *mod_start, const uint64_t *mod_end,
		      uint64_t *info_gpa)
{
	static const char loader_name[] = "vmm " VMM_VERSION;
	struct x86_mmap_entry mm[X86_MMAP_MAX];
	unsigned nr_mm = x86_memmap(b->mem, mm, X86_MMAP_MAX);
	unsigned nr_mods = cfg->boot.nr_modules;
	struct mb1_layout l = { 0 };
	struct mb1_info info = { 0 };
	uint32_t lower, upper;
	uint8_t *buf;
	char *cmdline;
	uint64_t gpa;
	size_t off;
	int ret;

	cmdline = x86_mb_cmdline(cfg);
	if (!cmdline)
		return boot_fail(b, -ENOMEM, "out of memory");

	/* One block: info, module array, memory map, then the strings. */
	l.info = 0;
	l.mods = ALIGN_UP(sizeof(struct mb1_info), 8);
	l.mmap = l.mods + nr_mods * sizeof(struct mb1_module);
	l.cmdline = l.mmap + nr_mm * sizeof(struct mb1_mmap);
	l.name = l.cmdline + strlen(cmdline) + 1;
	l.strings = l.name + sizeof(loader_name);
	l.total = l.strings;
	for (unsigned i = 0; i < nr_mods; i++)
		l.total += strlen(mod_string(&cfg->boot.modules[i])) + 1;

	buf = calloc(1, l.total);
	if (!buf) {
		free(cmdline);
		return boot_fail(b, -ENOMEM, "out of memory");
	}
	ret = x86_boot_alloc_info(b, l.total, 8, "multiboot info", &gpa);
	if (ret)
		goto out;
	/* x86_boot_alloc_info() stays below 4 GiB: the casts are exact. */

	info.flags = MB1_I_MEMORY | MB1_I_CMDLINE | MB1_I_MODS | MB1_I_MEM_MAP |
		     MB1_I_LOADER_NAME;
	x86_mb_meminfo(b->mem, &lower, &upper);
	info.mem_lower = lower;
	info.mem_upper = upper;
	info.cmdline = (uint32_t)(gpa + l.cmdline);
	info.mods_count = nr_mods;
	info.mods_addr = nr_mods ? (uint32_t)(gpa + l.mods) : 0;
	info.mmap_length = (uint32_t)(nr_mm * sizeof(struct mb1_mmap));
	info.mmap_addr = (uint32_t)(gpa + l.mmap);
	info.boot_loader_name = (uint32_t)(gpa + l.name);
	memcpy(buf + l.info, &info, sizeof(info));

	off = l.strings;
	for (unsigned i = 0; i < nr_mods; i++) {
		const char *s = mod_string(&cfg->boot.modules[i]);
		struct mb1_module m = {
			.mod_start = (uint32_t)mod_start[i],
			.mod_end = (uint32_t)mod_end[i],
			.string = (uint32_t)(gpa + off),
		};

		memcpy(buf + l.mods + i * sizeof(m), &m, sizeof(m));
		memcpy(buf + off, s, strlen(s) + 1);
		off += strlen(s) + 1;
	}
	for (unsigned i = 0; i < nr_mm; i++) {
		struct mb1_mmap e = {
			.size = sizeof(e) - sizeof(e.size),
			.addr = mm[i].addr,
			.len = mm[i].len,
			.type = mm[i].type,
		};

		memcpy(buf + l.mmap + i * sizeof(e), &e, sizeof(e));
	}
	memcpy(buf + l.cmdline, cmdline, strlen(cmdline) + 1);
	memcpy(buf + l.name, loader_name, sizeof(loader_name));

	memcpy(mem_ptr(b->mem, gpa, l.total), buf, l.total);
	*info_gpa = gpa;
out:
	free(buf);
	free(cmdline);
	return ret;
}

int multiboot1_load(struct boot_ctx *b, const struct vm_config *cfg,
		    const uint8_t *data, size_t size, struct x86_entry *entry)
{
	const char *path = cfg->boot.image;
	uint64_t *mod_start = NULL, *mod_end = NULL;
	uint64_t image_end, info_gpa = 0, rip;
	struct mb1_header h = { 0 };
	uint32_t bad;
	char desc[256];
	long off;
	int ret;

	off = find_header(data, size, true);
	if (off < 0) {
		off = find_header(data, size, false);
		if (off >= 0) {
			const uint8_t *p = data + off;

			return boot_fail(b, -ENOEXEC,
					 "%s: Multiboot header at offset %#lx "
					 "has a bad checksum (magic + flags + "
					 "checksum = %#x, must be 0)",
					 path, off,
					 get32(p) + get32(p + 4) +
						 get32(p + 8));
		}
		return boot_fail(b, -ENOEXEC,
				 "%s: no Multiboot header (magic %#x, 4-byte "
				 "aligned) in the first %d bytes",
				 path, MB1_MAGIC, MB1_SEARCH);
	}
	memcpy(&h, data + off, MB1_HEADER_MIN);

	bad = h.flags & MB1_F_REQUIRED & ~MB1_F_SUPPORTED;
	if (bad) {
		describe_flags(bad, desc, sizeof(desc));
		return boot_fail(b, -ENOTSUP,
				 "%s: Multiboot header flags %#x require "
				 "what this VMM cannot provide: %s",
				 path, h.flags, desc);
	}

	if (h.flags & MB1_F_AOUT_KLUDGE) {
		struct x86_mb_kludge k = { 0 };

		/* The spec: the whole header lies in the first 8 KiB. */
		if ((size_t)off + MB1_HEADER_KLUDGE > MIN(size, MB1_SEARCH))
			return boot_fail(b, -ENOEXEC,
					 "%s: Multiboot header at offset %#lx "
					 "sets flags bit 16 (address fields) "
					 "but its address fields are cut off "
					 "by the %s",
					 path, off,
					 size <= MB1_SEARCH
						 ? "end of the file"
						 : "8192-byte search limit");
		memcpy(&h, data + off, MB1_HEADER_KLUDGE);
		k.header_off = (uint64_t)off;
		k.header_addr = h.header_addr;
		k.load_addr = h.load_addr;
		k.load_end_addr = h.load_end_addr;
		k.bss_end_addr = h.bss_end_addr;
		k.entry_addr = h.entry_addr;
		ret = x86_mb_load_kludge(b, path, data, size, &k, &image_end);
		if (ret)
			return ret;
		rip = h.entry_addr;
	} else if (elf_is_elf(data, size)) {
		struct elf_info info;

		ret = x86_mb_load_elf(b, path, data, size, &info);
		if (ret)
			return ret;
		image_end = info.end;
		rip = info.entry_paddr;
	} else {
		return boot_fail(b, -ENOEXEC,
				 "%s: Multiboot header has no address fields "
				 "(flags bit 16 clear) and the image is not "
				 "ELF",
				 path);
	}

	ret = x86_mb_load_modules(b, cfg, ALIGN_UP(image_end, PAGE_SIZE),
				  &mod_start, &mod_end);
	if (ret)
		goto out;
	ret = build_info(b, cfg, mod_start, mod_end, &info_gpa);
	if (ret)
		goto out;

	memset(entry, 0, sizeof(*entry));
	entry->mode = CPU_MODE_PROTECTED;
	entry->rip = rip;
	entry->rax = MB1_BOOT_MAGIC;
	entry->rbx = info_gpa;
out:
	free(mod_start);
	free(mod_end);
	return ret;
}
