/* SPDX-License-Identifier: MIT */
/*
 * x86 boot loading (arch/x86/boot.c, multiboot.c, multiboot2.c, memmap.c):
 * the input is one selector byte, then the image file, loaded through
 * x86_boot_load() like `vmm run` does (the image is written to a scratch
 * file first). The selector picks:
 *
 *   bits 0-1  [boot] format: auto, multiboot, multiboot2, elf
 *   bits 2-3  modules: 0, 1, 2, 2 (scratch files of 5000 and 0 bytes)
 *   bits 4-5  guest RAM layout (below)
 *   bit 6     [boot] cmdline empty or not
 *
 * Checked beyond memory safety: reservations stay inside writable RAM
 * without overlaps (fuzz_util.h); a Multiboot boot is entered in protected
 * mode below 4 GiB inside the image with the protocol's magic, and its
 * boot information (at EBX, reserved) lists every module with the file's
 * bytes at [mod_start, mod_end) and a terminated string.
 */
#include "arch/x86/boot.h"
#include "fuzz_util.h"

#define MB1_BOOT_MAGIC 0x2BADB002u
#define MB2_BOOT_MAGIC 0x36d76289u
#define FOUR_GIB       (4 * GiB)
#define MOD0_SIZE      5000
#define NR_LAYOUTS     4

static const char *image_path;
static char mod0_path[300], mod1_path[300];
static char mod0_cmdline[400], mod1_cmdline[400];
static uint8_t mod0[MOD0_SIZE];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_ERR);
	for (unsigned i = 0; i < MOD0_SIZE; i++)
		mod0[i] = (uint8_t)(i * 7 + 1);
	snprintf(mod0_path, sizeof(mod0_path), "%s",
		 fuzz_write_file("mod0", mod0, MOD0_SIZE));
	snprintf(mod1_path, sizeof(mod1_path), "%s",
		 fuzz_write_file("mod1", "", 0));
	snprintf(mod0_cmdline, sizeof(mod0_cmdline), "%s root=/dev/ram0",
		 mod0_path);
	snprintf(mod1_cmdline, sizeof(mod1_cmdline), "%s", mod1_path);
	image_path = fuzz_path("kernel.img");
	return 0;
}

/*
 * 0: 8 MiB at 0
 * 1: 636 KiB at 0 and 5 MiB at 1 MiB (a PC with its hole unbacked)
 * 2: 4 MiB at 0, a 64 KiB ROM right after it, 1 MiB above 4 GiB
 * 3: 8 MiB at 1 MiB, nothing low
 */
static void make_ram(struct guest_mem *m, unsigned layout)
{
	switch (layout) {
	case 0:
		fuzz_mem_add(m, "ram", 0, 8 * MiB, false);
		break;
	case 1:
		fuzz_mem_add(m, "low", 0, 636 * KiB, false);
		fuzz_mem_add(m, "high", 1 * MiB, 5 * MiB, false);
		break;
	case 2:
		fuzz_mem_add(m, "ram", 0, 4 * MiB, false);
		fuzz_mem_add(m, "rom", 4 * MiB, 64 * KiB, true);
		fuzz_mem_add(m, "ram4g", FOUR_GIB, 1 * MiB, false);
		break;
	default:
		fuzz_mem_add(m, "ram", 1 * MiB, 8 * MiB, false);
		break;
	}
}

static uint32_t rd32(const struct guest_mem *m, uint64_t gpa)
{
	uint32_t v;

	FUZZ_CHECK(!mem_read(m, gpa, &v, sizeof(v)),
		   "boot info at %#llx is not in RAM", (unsigned long long)gpa);
	return v;
}

/* A guest string: terminated inside one region and equal to want. */
static void check_string(const struct guest_mem *m, uint64_t gpa,
			 const char *want, const char *what)
{
	const struct mem_region *r = mem_find(m, gpa);
	const char *s;

	FUZZ_CHECK(r, "%s at %#llx is not in RAM", what,
		   (unsigned long long)gpa);
	s = (const char *)r->hva + (gpa - r->gpa);
	FUZZ_CHECK(memchr(s, '\0', r->size - (gpa - r->gpa)),
		   "%s at %#llx is not terminated", what,
		   (unsigned long long)gpa);
	FUZZ_CHECK(!strcmp(s, want), "%s is '%s', expected '%s'", what, s,
		   want);
}

static void check_module(const struct boot_ctx *b, const struct vm_config *c,
			 unsigned i, uint32_t start, uint32_t end)
{
	const uint8_t *p;
	uint64_t want = i == 0 ? MOD0_SIZE : 0;

	FUZZ_CHECK(end >= start && end - start == want,
		   "module %u is [%#x-%#x), expected %llu bytes", i, start, end,
		   (unsigned long long)want);
	FUZZ_CHECK(fuzz_reserved(b, start, want ? want : 1),
		   "module %u at %#x is not reserved", i, start);
	p = mem_ptr(b->mem, start, want);
	FUZZ_CHECK(p && (!want || !memcmp(p, mod0, want)),
		   "module %u: RAM differs from the file", i);
	(void)c;
}

static void check_mb1(const struct boot_ctx *b, const struct vm_config *c,
		      uint64_t info)
{
	const struct guest_mem *m = b->mem;
	uint32_t nr, addr;

	FUZZ_CHECK(fuzz_reserved(b, info, 116), "MB1 info is not reserved");
	nr = rd32(m, info + 20);
	addr = rd32(m, info + 24);
	FUZZ_CHECK(nr == c->boot.nr_modules, "MB1 mods_count %u, expected %u",
		   nr, c->boot.nr_modules);
	for (unsigned i = 0; i < nr; i++) {
		uint64_t e = (uint64_t)addr + 16 * i;

		FUZZ_CHECK(fuzz_reserved(b, e, 16),
			   "MB1 module entry %u not reserved", i);
		check_module(b, c, i, rd32(m, e), rd32(m, e + 4));
		check_string(m, rd32(m, e + 8), c->boot.modules[i].cmdline,
			     "MB1 module string");
	}
	FUZZ_CHECK(fuzz_reserved(b, rd32(m, info + 48), rd32(m, info + 44)),
		   "MB1 memory map not reserved");
}

static void check_mb2(const struct boot_ctx *b, const struct vm_config *c,
		      uint64_t info)
{
	const struct guest_mem *m = b->mem;
	uint32_t total = rd32(m, info);
	unsigned mods = 0, pos = 8;
	bool end = false;

	FUZZ_CHECK(total >= 16 && fuzz_reserved(b, info, total),
		   "MB2 info [%#llx+%#x) not reserved",
		   (unsigned long long)info, total);
	/* Each tag advances pos by at least 8: bounded by total / 8. */
	while (!end && pos + 8 <= total) {
		uint32_t type = rd32(m, info + pos);
		uint32_t tsize = rd32(m, info + pos + 4);

		FUZZ_CHECK(tsize >= 8 && tsize <= total - pos,
			   "MB2 tag %u at %u has size %u (total %u)", type, pos,
			   tsize, total);
		if (type == 3) {
			FUZZ_CHECK(mods < c->boot.nr_modules && tsize > 16,
				   "MB2 module tag %u", mods);
			check_module(b, c, mods, rd32(m, info + pos + 8),
				     rd32(m, info + pos + 12));
			check_string(m, info + pos + 16,
				     c->boot.modules[mods].cmdline,
				     "MB2 module string");
			mods++;
		}
		end = type == 0;
		pos += (tsize + 7) & ~7u;
	}
	FUZZ_CHECK(end, "MB2 info has no end tag");
	FUZZ_CHECK(mods == c->boot.nr_modules,
		   "MB2: %u module tags, %u "
		   "modules",
		   mods, c->boot.nr_modules);
}

static void check_entry(const struct boot_ctx *b, const struct vm_config *c,
			const struct x86_entry *e, enum boot_format fmt)
{
	bool mb = fmt == BOOT_FORMAT_MULTIBOOT || fmt == BOOT_FORMAT_MULTIBOOT2;

	FUZZ_CHECK(fuzz_reserved(b, e->rip, 1),
		   "entry %#llx is not inside the loaded image",
		   (unsigned long long)e->rip);
	if (!mb) {
		FUZZ_CHECK(e->mode == CPU_MODE_PROTECTED ||
				   e->mode == CPU_MODE_LONG,
			   "ELF entry mode %d", e->mode);
		FUZZ_CHECK(e->mode == CPU_MODE_LONG || e->rip < FOUR_GIB,
			   "32-bit entry %#llx", (unsigned long long)e->rip);
		return;
	}
	FUZZ_CHECK(e->mode == CPU_MODE_PROTECTED && e->rip < FOUR_GIB &&
			   e->rbx < FOUR_GIB,
		   "Multiboot entry mode %d rip %#llx info %#llx", e->mode,
		   (unsigned long long)e->rip, (unsigned long long)e->rbx);
	if (e->rax == MB1_BOOT_MAGIC)
		check_mb1(b, c, e->rbx);
	else if (e->rax == MB2_BOOT_MAGIC)
		check_mb2(b, c, e->rbx);
	else
		fuzz_fail("Multiboot entry with EAX %#llx",
			  (unsigned long long)e->rax);
	FUZZ_CHECK(fmt == BOOT_FORMAT_AUTO ||
			   (fmt == BOOT_FORMAT_MULTIBOOT) ==
				   (e->rax == MB1_BOOT_MAGIC),
		   "format %d entered with EAX %#llx", fmt,
		   (unsigned long long)e->rax);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum boot_format formats[4] = { BOOT_FORMAT_AUTO,
						     BOOT_FORMAT_MULTIBOOT,
						     BOOT_FORMAT_MULTIBOOT2,
						     BOOT_FORMAT_ELF };
	static const unsigned nr_mods[4] = { 0, 1, 2, 2 };
	struct cfg_module mods[2] = {
		{ .path = mod0_path, .cmdline = mod0_cmdline },
		{ .path = mod1_path, .cmdline = mod1_cmdline },
	};
	struct vm_config cfg = { 0 };
	struct guest_mem mem = { 0 };
	struct x86_entry entry = { 0 };
	struct boot_ctx b;
	uint8_t sel;
	int ret;

	if (!size)
		return 0;
	sel = data[0];
	fuzz_write_file("kernel.img", data + 1, size - 1);

	cfg.boot.format = formats[sel & 3];
	cfg.boot.image = (char *)image_path;
	cfg.boot.cmdline = (char *)((sel & 0x40) ? "" : "console=ttyS0 a=b");
	cfg.boot.modules = mods;
	cfg.boot.nr_modules = nr_mods[(sel >> 2) & 3];
	if (cfg.boot.format == BOOT_FORMAT_ELF)
		cfg.boot.nr_modules = 0; /* config.c refuses modules there */
	make_ram(&mem, (sel >> 4) % NR_LAYOUTS);
	boot_ctx_init(&b, &mem);

	ret = x86_boot_load(&b, &cfg, &entry);
	fuzz_log("boot: %d %s (rip %#llx eax %#llx)\n", ret, ret ? b.err : "ok",
		 (unsigned long long)entry.rip, (unsigned long long)entry.rax);
	fuzz_check_boot(&b);
	if (ret) {
		FUZZ_CHECK(ret < 0 && b.err[0],
			   "x86_boot_load returned %d "
			   "with message '%s'",
			   ret, b.err);
	} else {
		enum boot_format fmt = cfg.boot.format;

		if (fmt == BOOT_FORMAT_AUTO && entry.rax != MB1_BOOT_MAGIC &&
		    entry.rax != MB2_BOOT_MAGIC)
			fmt = BOOT_FORMAT_ELF;
		check_entry(&b, &cfg, &entry, fmt);
	}
	fuzz_mem_free(&mem);
	return 0;
}
