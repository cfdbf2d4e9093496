/* SPDX-License-Identifier: MIT */
/*
 * Multiboot 2 (specification 2.0), i386 machine state. The header is a tag
 * list the image controls: every tag size is checked against the header,
 * the walk advances at least 8 bytes per tag, and the header itself is
 * bounded by the 32 KiB the spec allows, so the loop is bounded.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/boot.h"
#include "version.h"
#include "vmm/util.h"

#define MB2_MAGIC      0xE85250D6u
#define MB2_BOOT_MAGIC 0x36d76289u
#define MB2_SEARCH     32768
#define MB2_ALIGN      8
#define MB2_ARCH_I386  0

/* Header tags */
#define MB2_HT_END	     0
#define MB2_HT_INFO_REQUEST  1
#define MB2_HT_ADDRESS	     2
#define MB2_HT_ENTRY	     3
#define MB2_HT_CONSOLE_FLAGS 4
#define MB2_HT_FRAMEBUFFER   5
#define MB2_HT_MODULE_ALIGN  6
#define MB2_HT_EFI_BS	     7
#define MB2_HT_ENTRY_EFI32   8
#define MB2_HT_ENTRY_EFI64   9
#define MB2_HT_RELOCATABLE   10
#define MB2_HT_OPTIONAL	     1u /* tag flags bit 0 */
#define MB2_CONSOLE_REQUIRED 1u

/* Boot information tags */
#define MB2_IT_END	      0
#define MB2_IT_CMDLINE	      1
#define MB2_IT_LOADER_NAME    2
#define MB2_IT_MODULE	      3
#define MB2_IT_BASIC_MEMINFO  4
#define MB2_IT_MMAP	      6
#define MB2_IT_LOAD_BASE_ADDR 21

#define FOUR_GIB  (4 * GiB)
#define PAGE_SIZE 4096ULL

struct mb2_header {
	uint32_t magic, architecture, header_length, checksum;
};

struct mb2_tag {
	uint16_t type, flags;
	uint32_t size;
};

struct mb2_info_tag {
	uint32_t type, size;
};

struct mb2_module {
	uint32_t type, size;
	uint32_t mod_start, mod_end;
	/* char string[] */
};

struct mb2_meminfo {
	uint32_t type, size;
	uint32_t mem_lower, mem_upper;
};

struct mb2_mmap {
	uint32_t type, size;
	uint32_t entry_size, entry_version;
};

struct mb2_mmap_entry {
	uint64_t base_addr, length;
	uint32_t type, reserved;
};
_Static_assert(sizeof(struct mb2_mmap_entry) == 24, "mb2 mmap entry");

struct mb2_load_base {
	uint32_t type, size;
	uint32_t load_base_addr;
};

/* What a parsed header asks for. */
struct mb2_req {
	bool has_address, has_entry;
	struct x86_mb_kludge k;
	uint32_t entry_addr;
};

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static long find_header(const uint8_t *data, size_t size, bool want_valid)
{
	size_t limit = MIN(size, (size_t)MB2_SEARCH);

	for (size_t off = 0; off + sizeof(struct mb2_header) <= limit;
	     off += MB2_ALIGN) {
		const uint8_t *p = data + off;

		if (get32(p) != MB2_MAGIC)
			continue;
		if (!want_valid ||
		    get32(p) + get32(p + 4) + get32(p + 8) + get32(p + 12) == 0)
			return (long)off;
	}
	return -1;
}

bool multiboot2_probe(const uint8_t *data, size_t size)
{
	return data && find_header(data, size, true) >= 0;
}

static bool info_provided(uint32_t type)
{
	switch (type) {
	case MB2_IT_END: /* harmless in a request list */
	case MB2_IT_CMDLINE:
	case MB2_IT_LOADER_NAME:
	case MB2_IT_MODULE:
	case MB2_IT_BASIC_MEMINFO:
	case MB2_IT_MMAP:
	case MB2_IT_LOAD_BASE_ADDR:
		return true;
	default:
		return false;
	}
}

static const char *info_name(uint32_t type)
{
	static const char *const names[] = {
		"end",
		"command line",
		"boot loader name",
		"module",
		"basic memory information",
		"BIOS boot device",
		"memory map",
		"VBE information",
		"framebuffer information",
		"ELF sections",
		"APM table",
		"EFI 32-bit system table",
		"EFI 64-bit system table",
		"SMBIOS tables",
		"ACPI old RSDP",
		"ACPI new RSDP",
		"networking information",
		"EFI memory map",
		"EFI boot services not terminated",
		"EFI 32-bit image handle",
		"EFI 64-bit image handle",
		"image load base address",
	};

	return type < ARRAY_SIZE(names) ? names[type] : "unknown";
}

static int parse_tags(struct boot_ctx *b, const char *path, const uint8_t *data,
		      size_t hoff, uint32_t hlen, struct mb2_req *req)
{
	size_t pos = hoff + sizeof(struct mb2_header), end = hoff + hlen;

	/* Each iteration advances pos by at least 8 bytes toward end. */
	while (pos + sizeof(struct mb2_tag) <= end) {
		const uint8_t *t = data + pos;
		uint16_t type = get16(t), flags = get16(t + 2);
		uint32_t tsize = get32(t + 4);
		bool optional = flags & MB2_HT_OPTIONAL;

		if (tsize < sizeof(struct mb2_tag) || tsize > end - pos)
			return boot_fail(b, -ENOEXEC,
					 "%s: Multiboot2 header tag type %u at "
					 "offset %#zx has size %u, outside the "
					 "header (%u bytes at offset %#zx)",
					 path, type, pos, tsize, hlen, hoff);
		switch (type) {
		case MB2_HT_END:
			return 0;
		case MB2_HT_INFO_REQUEST:
			for (uint32_t i = 8; i + 4 <= tsize; i += 4) {
				uint32_t want = get32(t + i);

				if (info_provided(want) || optional)
					continue;
				return boot_fail(
					b, -ENOTSUP,
					"%s: Multiboot2 header requires boot "
					"information tag %u (%s), which this "
					"VMM does not provide",
					path, want, info_name(want));
			}
			break;
		case MB2_HT_ADDRESS:
			if (tsize < 24)
				goto too_small;
			req->has_address = true;
			req->k.header_addr = get32(t + 8);
			req->k.load_addr = get32(t + 12);
			req->k.load_end_addr = get32(t + 16);
			req->k.bss_end_addr = get32(t + 20);
			req->k.load_from_start = req->k.load_addr == ~0u;
			break;
		case MB2_HT_ENTRY:
			if (tsize < 12)
				goto too_small;
			req->has_entry = true;
			req->entry_addr = get32(t + 8);
			break;
		case MB2_HT_CONSOLE_FLAGS:
			if (tsize < 12)
				goto too_small;
			/* Only consoles described in the boot information
			 * count (EGA text, framebuffer); a serial port is
			 * not one. */
			if ((get32(t + 8) & MB2_CONSOLE_REQUIRED) && !optional)
				return boot_fail(
					b, -ENOTSUP,
					"%s: Multiboot2 header requires a "
					"console (flags tag %#x); this VMM has "
					"only a serial port, which Multiboot2 "
					"cannot describe",
					path, get32(t + 8));
			break;
		case MB2_HT_FRAMEBUFFER:
			if (tsize < 20)
				goto too_small;
			if (!optional)
				return boot_fail(
					b, -ENOTSUP,
					"%s: Multiboot2 header requires a "
					"framebuffer (%ux%ux%u); this VMM has "
					"no display",
					path, get32(t + 8), get32(t + 12),
					get32(t + 16));
			break;
		case MB2_HT_MODULE_ALIGN:
			/* Modules are always page aligned. */
			break;
		case MB2_HT_EFI_BS:
		case MB2_HT_ENTRY_EFI32:
		case MB2_HT_ENTRY_EFI64:
			/* Only meaningful when booted from EFI. */
			break;
		case MB2_HT_RELOCATABLE:
			/* Allowed to relocate, not required: the image is
			 * loaded where it was linked. */
			if (tsize < 24)
				goto too_small;
			break;
		default:
			if (!optional)
				return boot_fail(b, -ENOTSUP,
						 "%s: unknown required "
						 "Multiboot2 header tag type "
						 "%u at offset %#zx",
						 path, type, pos);
			break;
		}
		/* tsize <= end - pos <= 32 KiB: no wrap. */
		pos += ALIGN_UP((size_t)tsize, MB2_ALIGN);
		continue;
	too_small:
		return boot_fail(b, -ENOEXEC,
				 "%s: Multiboot2 header tag type %u at offset "
				 "%#zx is too small (%u bytes)",
				 path, type, pos, tsize);
	}
	return boot_fail(b, -ENOEXEC,
			 "%s: Multiboot2 header tags are not terminated by "
			 "an end tag (type 0) within header_length %u",
			 path, hlen);
}

/* The module's string: its whole config value ("path args..."). */
static const char *mod_string(const struct cfg_module *m)
{
	return m->cmdline ? m->cmdline : m->path;
}

/* Boot information builder: a byte buffer of 8-byte aligned tags. */
struct mb2_buf {
	uint8_t *p;
	size_t len, cap;
};

static void *put_tag(struct mb2_buf *mb, uint32_t type, size_t size)
{
	uint8_t *t = mb->p + mb->len;
	struct mb2_info_tag h = { .type = type, .size = (uint32_t)size };

	memcpy(t, &h, sizeof(h));
	mb->len += ALIGN_UP(size, MB2_ALIGN);
	return t;
}

static int build_info(struct boot_ctx *b, const struct vm_config *cfg,
		      const uint64_t *mod_start, const uint64_t *mod_end,
		      uint64_t load_base, uint64_t *info_gpa)
{
	static const char loader_name[] = "vmm " VMM_VERSION;
	struct x86_mmap_entry mm[X86_MMAP_MAX];
	unsigned nr_mm = x86_memmap(b->mem, mm, X86_MMAP_MAX);
	unsigned nr_mods = cfg->boot.nr_modules;
	struct mb2_buf mb = { 0 };
	struct mb2_meminfo mi = { 0 };
	struct mb2_mmap mh = { 0 };
	struct mb2_load_base lb = { 0 };
	uint32_t total;
	uint64_t gpa;
	char *cmdline;
	uint8_t *t;
	int ret;

	cmdline = x86_mb_cmdline(cfg);
	if (!cmdline)
		return boot_fail(b, -ENOMEM, "out of memory");

	mb.cap = 8;
	mb.cap += ALIGN_UP(8 + strlen(cmdline) + 1, MB2_ALIGN);
	mb.cap += ALIGN_UP(8 + sizeof(loader_name), MB2_ALIGN);
	for (unsigned i = 0; i < nr_mods; i++)
		mb.cap += ALIGN_UP(
			sizeof(struct mb2_module) +
				strlen(mod_string(&cfg->boot.modules[i])) + 1,
			MB2_ALIGN);
	mb.cap += ALIGN_UP(sizeof(struct mb2_meminfo), MB2_ALIGN);
	mb.cap += ALIGN_UP(sizeof(struct mb2_mmap) +
				   nr_mm * sizeof(struct mb2_mmap_entry),
			   MB2_ALIGN);
	mb.cap += ALIGN_UP(sizeof(struct mb2_load_base), MB2_ALIGN);
	mb.cap += 8; /* end tag */
	mb.p = calloc(1, mb.cap);
	if (!mb.p) {
		free(cmdline);
		return boot_fail(b, -ENOMEM, "out of memory");
	}
	mb.len = 8; /* total_size, reserved */

	t = put_tag(&mb, MB2_IT_CMDLINE, 8 + strlen(cmdline) + 1);
	memcpy(t + 8, cmdline, strlen(cmdline) + 1);
	t = put_tag(&mb, MB2_IT_LOADER_NAME, 8 + sizeof(loader_name));
	memcpy(t + 8, loader_name, sizeof(loader_name));
	for (unsigned i = 0; i < nr_mods; i++) {
		const char *s = mod_string(&cfg->boot.modules[i]);
		struct mb2_module m;

		t = put_tag(&mb, MB2_IT_MODULE, sizeof(m) + strlen(s) + 1);
		memcpy(&m, t, 8);
		m.mod_start = (uint32_t)mod_start[i];
		m.mod_end = (uint32_t)mod_end[i];
		memcpy(t, &m, sizeof(m));
		memcpy(t + sizeof(m), s, strlen(s) + 1);
	}
	t = put_tag(&mb, MB2_IT_BASIC_MEMINFO, sizeof(mi));
	memcpy(&mi, t, 8);
	x86_mb_meminfo(b->mem, &mi.mem_lower, &mi.mem_upper);
	memcpy(t, &mi, sizeof(mi));
	t = put_tag(&mb, MB2_IT_MMAP,
		    sizeof(mh) + nr_mm * sizeof(struct mb2_mmap_entry));
	memcpy(&mh, t, 8);
	mh.entry_size = sizeof(struct mb2_mmap_entry);
	mh.entry_version = 0;
	memcpy(t, &mh, sizeof(mh));
	for (unsigned i = 0; i < nr_mm; i++) {
		struct mb2_mmap_entry e = {
			.base_addr = mm[i].addr,
			.length = mm[i].len,
			.type = mm[i].type,
		};

		memcpy(t + sizeof(mh) + i * sizeof(e), &e, sizeof(e));
	}
	t = put_tag(&mb, MB2_IT_LOAD_BASE_ADDR, sizeof(lb));
	memcpy(&lb, t, 8);
	lb.load_base_addr = (uint32_t)load_base;
	memcpy(t, &lb, sizeof(lb));
	put_tag(&mb, MB2_IT_END, 8);

	total = (uint32_t)mb.len;
	memcpy(mb.p, &total, sizeof(total));

	ret = x86_boot_alloc_info(b, mb.len, MB2_ALIGN, "multiboot2 info",
				  &gpa);
	if (!ret) {
		memcpy(mem_ptr(b->mem, gpa, mb.len), mb.p, mb.len);
		*info_gpa = gpa;
	}
	free(mb.p);
	free(cmdline);
	return ret;
}

int multiboot2_load(struct boot_ctx *b, const struct vm_config *cfg,
		    const uint8_t *data, size_t size, struct x86_entry *entry)
{
	const char *path = cfg->boot.image;
	uint64_t *mod_start = NULL, *mod_end = NULL;
	uint64_t image_start, image_end, info_gpa = 0, rip;
	struct mb2_req req = { 0 };
	struct mb2_header h;
	long off;
	int ret;

	off = find_header(data, size, true);
	if (off < 0) {
		off = find_header(data, size, false);
		if (off >= 0) {
			const uint8_t *p = data + off;

			return boot_fail(b, -ENOEXEC,
					 "%s: Multiboot2 header at offset %#lx "
					 "has a bad checksum (magic + "
					 "architecture + header_length + "
					 "checksum = %#x, must be 0)",
					 path, off,
					 get32(p) + get32(p + 4) +
						 get32(p + 8) + get32(p + 12));
		}
		return boot_fail(b, -ENOEXEC,
				 "%s: no Multiboot2 header (magic %#x, 8-byte "
				 "aligned) in the first %d bytes",
				 path, MB2_MAGIC, MB2_SEARCH);
	}
	memcpy(&h, data + off, sizeof(h));
	if (h.architecture != MB2_ARCH_I386)
		return boot_fail(b, -ENOEXEC,
				 "%s: Multiboot2 architecture is %u%s; only 0 "
				 "(i386) boots on x86",
				 path, h.architecture,
				 h.architecture == 4 ? " (MIPS)" : "");
	if (h.header_length < sizeof(h) + sizeof(struct mb2_tag) ||
	    h.header_length > MIN(size, (size_t)MB2_SEARCH) - (size_t)off)
		return boot_fail(b, -ENOEXEC,
				 "%s: Multiboot2 header_length %u at offset "
				 "%#lx does not fit in the first %d bytes of "
				 "the file (%zu bytes)",
				 path, h.header_length, off, MB2_SEARCH, size);
	ret = parse_tags(b, path, data, (size_t)off, h.header_length, &req);
	if (ret)
		return ret;

	if (req.has_address) {
		if (!req.has_entry)
			return boot_fail(b, -ENOEXEC,
					 "%s: Multiboot2 header has an address "
					 "tag but no entry address tag",
					 path);
		req.k.header_off = (uint64_t)off;
		req.k.entry_addr = req.entry_addr;
		ret = x86_mb_load_kludge(b, path, data, size, &req.k,
					 &image_end);
		if (ret)
			return ret;
		image_start = req.k.load_from_start
				      ? req.k.header_addr - (uint64_t)off
				      : req.k.load_addr;
		rip = req.entry_addr;
	} else if (elf_is_elf(data, size)) {
		unsigned first_seg = b->nr_res;
		struct elf_info info;
		bool inside = false;

		ret = x86_mb_load_elf(b, path, data, size, &info);
		if (ret)
			return ret;
		image_start = info.lowest;
		image_end = info.end;
		rip = info.entry_paddr;
		if (req.has_entry) {
			/* Inside a loaded segment, not merely between the
			 * lowest and highest: a gap holds nothing (or the
			 * boot info). The segments are the reservations
			 * x86_mb_load_elf() just made. */
			for (unsigned i = first_seg; i < b->nr_res; i++)
				if (req.entry_addr >= b->res[i].gpa &&
				    req.entry_addr - b->res[i].gpa <
					    b->res[i].size)
					inside = true;
			if (!inside)
				return boot_fail(
					b, -ENOEXEC,
					"%s: entry address tag %#x "
					"is not inside a loaded segment "
					"of the image [%#llx-%#llx)",
					path, req.entry_addr,
					(unsigned long long)info.lowest,
					(unsigned long long)info.end);
			rip = req.entry_addr;
		}
	} else {
		return boot_fail(b, -ENOEXEC,
				 "%s: Multiboot2 header has no address tag "
				 "and the image is not ELF",
				 path);
	}

	ret = x86_mb_load_modules(b, cfg, ALIGN_UP(image_end, PAGE_SIZE),
				  &mod_start, &mod_end);
	if (ret)
		goto out;
	ret = build_info(b, cfg, mod_start, mod_end, image_start, &info_gpa);
	if (ret)
		goto out;

	memset(entry, 0, sizeof(*entry));
	entry->mode = CPU_MODE_PROTECTED;
	entry->rip = rip;
	entry->rax = MB2_BOOT_MAGIC;
	entry->rbx = info_gpa;
out:
	free(mod_start);
	free(mod_end);
	return ret;
}
