/* SPDX-License-Identifier: MIT */
/*
 * x86 boot: pick the loader for cfg->boot, and the two loaders that need no
 * protocol of their own (plain ELF, raw binary). The Multiboot loaders live
 * in multiboot.c and multiboot2.c, Linux in linux.c, PVH in pvh.c.
 */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/boot.h"
#include "vmm/log.h"
#include "vmm/util.h"

#define FOUR_GIB (4 * GiB)

uint64_t x86_ram_size(const struct guest_mem *mem)
{
	uint64_t total = 0;

	for (unsigned i = 0; i < mem->nr; i++)
		if (!mem->regions[i].readonly)
			total += mem->regions[i].size;
	return total;
}

int x86_boot_alloc_info(struct boot_ctx *b, uint64_t size, uint64_t align,
			const char *what, uint64_t *gpa)
{
	if (!boot_alloc(b, size, align, X86_LOW_ALLOC_MIN, X86_LOW_ALLOC_MAX,
			what, gpa))
		return 0;
	if (!boot_alloc(b, size, align, X86_HOLE_END, FOUR_GIB, what, gpa))
		return 0;
	return boot_fail(b, -ENOMEM,
			 "%s: no free guest RAM below 4 GiB for %llu bytes",
			 what, (unsigned long long)size);
}

/* Local names: messages here must not depend on config.c. */
static const char *mode_name(enum cpu_mode m)
{
	switch (m) {
	case CPU_MODE_REAL:
		return "real";
	case CPU_MODE_PROTECTED:
		return "protected";
	case CPU_MODE_LONG:
		return "long";
	default:
		return "default";
	}
}

static const char *format_name(enum boot_format f)
{
	switch (f) {
	case BOOT_FORMAT_ELF:
		return "elf";
	case BOOT_FORMAT_MULTIBOOT:
		return "multiboot";
	case BOOT_FORMAT_MULTIBOOT2:
		return "multiboot2";
	case BOOT_FORMAT_RAW:
		return "raw";
	case BOOT_FORMAT_LINUX:
		return "linux";
	case BOOT_FORMAT_PVH:
		return "pvh";
	default:
		return "auto";
	}
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

char *x86_mb_cmdline(const struct vm_config *cfg)
{
	const char *name = base_name(cfg->boot.image ? cfg->boot.image : "");
	const char *args = cfg->boot.cmdline ? cfg->boot.cmdline : "";
	size_t len = strlen(name) + 1 + strlen(args) + 1;
	char *s = malloc(len);

	if (!s)
		return NULL;
	if (*args)
		snprintf(s, len, "%s %s", name, args);
	else
		snprintf(s, len, "%s", name);
	return s;
}

int x86_boot_elf(struct boot_ctx *b, const struct vm_config *cfg,
		 const uint8_t *data, size_t size, struct x86_entry *entry)
{
	static const uint16_t machines[] = { EM_386, EM_X86_64, 0 };
	const char *path = cfg->boot.image;
	struct elf_info info;
	int ret;

	ret = elf_load(b, path, data, size, machines, &info);
	if (ret)
		return ret;
	memset(entry, 0, sizeof(*entry));
	entry->rip = info.entry_paddr;
	if (info.elf_class == 32) {
		/* Paging is off: everything must be reachable with 32 bits.
		 * ELF32 addresses are 32-bit, but p_paddr + p_memsz is not. */
		if (info.end > FOUR_GIB)
			return boot_fail(b, -ERANGE,
					 "%s: ELF32 image ends at %#llx, above "
					 "4 GiB (unreachable in 32-bit "
					 "protected mode)",
					 path, (unsigned long long)info.end);
		entry->mode = CPU_MODE_PROTECTED;
	} else {
		entry->mode = CPU_MODE_LONG;
	}
	return 0;
}

int x86_boot_raw(struct boot_ctx *b, const struct vm_config *cfg,
		 const uint8_t *data, size_t size, struct x86_entry *entry)
{
	const struct cfg_boot *bc = &cfg->boot;
	const char *path = bc->image;
	uint64_t rip;
	char ram[256];
	int ret;

	if (!bc->has_load_address)
		return boot_fail(b, -EINVAL,
				 "%s: format = raw needs [boot] load-address",
				 path);
	rip = bc->has_entry ? bc->entry : bc->load_address;
	switch (bc->mode) {
	case CPU_MODE_REAL:
		/* CS:IP can reach 0xffff:0xffff, but the entry convention
		 * (x86_entry) uses CS = (rip >> 4) & 0xf000, IP < 64 KiB. */
		if (rip >= X86_HOLE_END)
			return boot_fail(b, -EINVAL,
					 "%s: entry %#llx is not below 1 MiB, "
					 "which real mode needs",
					 path, (unsigned long long)rip);
		break;
	case CPU_MODE_PROTECTED:
		if (rip >= FOUR_GIB)
			return boot_fail(b, -EINVAL,
					 "%s: entry %#llx is not below 4 GiB, "
					 "which protected mode needs",
					 path, (unsigned long long)rip);
		break;
	case CPU_MODE_LONG:
		break;
	default:
		return boot_fail(b, -EINVAL,
				 "%s: format = raw needs [boot] mode (real, "
				 "protected or long)",
				 path);
	}
	ret = raw_load(b, path, data, size, bc->load_address);
	if (ret)
		return ret;
	if (!mem_find(b->mem, rip))
		return boot_fail(b, -ERANGE,
				 "%s: entry %#llx is not in guest memory "
				 "(RAM: %s)",
				 path, (unsigned long long)rip,
				 boot_fmt_ram(b->mem, ram, sizeof(ram)));
	memset(entry, 0, sizeof(*entry));
	entry->mode = bc->mode;
	entry->rip = rip;
	return 0;
}

int x86_boot_load(struct boot_ctx *b, const struct vm_config *cfg,
		  struct x86_entry *entry)
{
	return x86_boot_load_opts(b, cfg, NULL, entry);
}

static enum boot_format detect(const uint8_t *data, size_t size)
{
	if (multiboot2_probe(data, size))
		return BOOT_FORMAT_MULTIBOOT2;
	if (multiboot1_probe(data, size))
		return BOOT_FORMAT_MULTIBOOT;
	if (linux_bzimage_probe(data, size))
		return BOOT_FORMAT_LINUX;
	if (elf_is_elf(data, size))
		return pvh_probe(data, size) ? BOOT_FORMAT_PVH
					     : BOOT_FORMAT_ELF;
	return BOOT_FORMAT_AUTO;
}

int x86_boot_load_opts(struct boot_ctx *b, const struct vm_config *cfg,
		       const struct x86_boot_opts *opts,
		       struct x86_entry *entry)
{
	enum boot_format fmt = cfg->boot.format;
	const char *path = cfg->boot.image;
	uint8_t *data = NULL;
	size_t size = 0;
	int ret;

	if (!path)
		return boot_fail(b, -EINVAL, "[boot] image is not set");
	if (fmt != BOOT_FORMAT_RAW && cfg->boot.mode != CPU_MODE_DEFAULT)
		return boot_fail(b, -EINVAL,
				 "%s: [boot] mode = %s applies only to format "
				 "= raw; the format decides the entry mode",
				 path, mode_name(cfg->boot.mode));
	ret = boot_read_file(b, path, x86_ram_size(b->mem), &data, &size);
	if (ret)
		return ret;

	if (fmt == BOOT_FORMAT_AUTO) {
		fmt = detect(data, size);
		if (fmt == BOOT_FORMAT_AUTO) {
			ret = boot_fail(
				b, -ENOEXEC,
				"%s: unknown image format (no "
				"Multiboot header, not ELF); set "
				"[boot] format = raw with load-address, "
				"entry and mode",
				path);
			goto out;
		}
		log_debug("%s: detected format %s", path, format_name(fmt));
		/* config.c allows an initrd with format = auto. */
		if (cfg->boot.initrd && fmt != BOOT_FORMAT_LINUX &&
		    fmt != BOOT_FORMAT_PVH) {
			ret = boot_fail(b, -EINVAL,
					"%s: [boot] initrd needs a Linux or "
					"PVH kernel, but the image was "
					"detected as format %s",
					path, format_name(fmt));
			goto out;
		}
	}

	switch (fmt) {
	case BOOT_FORMAT_ELF:
		ret = x86_boot_elf(b, cfg, data, size, entry);
		break;
	case BOOT_FORMAT_MULTIBOOT:
		ret = multiboot1_load(b, cfg, data, size, entry);
		break;
	case BOOT_FORMAT_MULTIBOOT2:
		ret = multiboot2_load(b, cfg, data, size, entry);
		break;
	case BOOT_FORMAT_RAW:
		ret = x86_boot_raw(b, cfg, data, size, entry);
		break;
	case BOOT_FORMAT_LINUX:
		ret = x86_boot_linux(b, cfg, data, size, opts, entry);
		break;
	case BOOT_FORMAT_PVH:
		ret = x86_boot_pvh(b, cfg, data, size, opts, entry);
		break;
	default:
		ret = boot_fail(b, -EINVAL, "%s: unsupported boot format %d",
				path, (int)fmt);
		break;
	}
out:
	free(data);
	return ret;
}
