/* SPDX-License-Identifier: MIT */
/*
 * Multiboot 1 and 2 loaders on synthetic images. The boot information is
 * read back from guest memory at the offsets the specifications give, not
 * through the loader's own structs, so a layout mistake shows up here.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "arch/x86/boot.h"
#include "imgbuild.h"
#include "version.h"

#define MiB_	  (1024ULL * 1024)
#define PATH	  "/images/kernel.elf"
#define MB1_MAGIC 0x2BADB002u
#define MB2_MAGIC 0x36d76289u

static struct guest_mem mem;
static struct boot_ctx b;
static struct vm_config cfg;
static struct x86_entry entry;
static struct img *im;
static struct cfg_module mods[2];
static char mod_path[2][256], mod_cmdline[2][300];
static uint8_t mod_data[2][5000];

static void setup(void)
{
	memset(&mem, 0, sizeof(mem));
	cr_assert_eq(mem_add_region(&mem, "ram", 0, 64 * MiB_, NULL, false), 0);
	boot_ctx_init(&b, &mem);
	memset(&cfg, 0, sizeof(cfg));
	cfg.boot.image = PATH;
	cfg.boot.cmdline = "";
	memset(&entry, 0xee, sizeof(entry));
	im = img_new();
	memset(mod_path, 0, sizeof(mod_path));
}

static void teardown(void)
{
	for (int i = 0; i < 2; i++)
		if (mod_path[i][0])
			unlink(mod_path[i]);
	mem_free(&mem);
	free(im);
}

/* Two module files: 5000 bytes and 1 byte, with argument strings. */
static void add_modules(void)
{
	static const size_t sizes[2] = { 5000, 1 };

	for (int i = 0; i < 2; i++) {
		for (size_t j = 0; j < sizes[i]; j++)
			mod_data[i][j] = (uint8_t)(0x40 * (i + 1) + j);
		cr_assert_eq(tmp_write(mod_path[i], sizeof(mod_path[i]), "mod",
				       mod_data[i], sizes[i]),
			     0);
		snprintf(mod_cmdline[i], sizeof(mod_cmdline[i]),
			 "%s arg%d x=%d", mod_path[i], i, i);
		mods[i].path = mod_path[i];
		mods[i].cmdline = mod_cmdline[i];
	}
	cfg.boot.modules = mods;
	cfg.boot.nr_modules = 2;
}

#define assert_err(ret, code, text)                                           \
	do {                                                                  \
		cr_assert_eq((ret), (code), "ret %d, err: %s", (ret), b.err); \
		cr_assert(strstr(b.err, PATH ": ") == b.err, "%s", b.err);    \
		cr_assert(strstr(b.err, (text)), "expected '%s' in: %s",      \
			  (text), b.err);                                     \
	} while (0)

static int mb1(void)
{
	return multiboot1_load(&b, &cfg, im->data, im->size, &entry);
}

static int mb2(void)
{
	return multiboot2_load(&b, &cfg, im->data, im->size, &entry);
}

/* ELF32 Multiboot kernel: one segment at 1 MiB (0x100 bytes of file, 8 KiB
 * in memory) with the Multiboot header at its start. */
static void mb1_elf(int cls, uint32_t flags)
{
	struct tseg s[] = { { .paddr = 0x100000,
			      .filesz = 0x100,
			      .memsz = 0x2000,
			      .fill = 0x11 } };

	img_elf(im, cls, cls == 32 ? EM_386 : EM_X86_64, ET_EXEC, 0x100020, s,
		1);
	img_mb1(im, img_seg_off(im, cls, 0), flags, 0, 0, 0, 0, 0);
}

/* Flat a.out-kludge kernel: 0x200 bytes, header at file offset 0x10. */
static void mb1_kludge(uint32_t header_addr, uint32_t load_addr,
		       uint32_t load_end, uint32_t bss_end, uint32_t entry_addr)
{
	for (int i = 0; i < 0x200; i++)
		im->data[i] = (uint8_t)(0xa0 + i);
	im->size = 0x200;
	img_mb1(im, 0x10, 0x10003, header_addr, load_addr, load_end, bss_end,
		entry_addr);
}

TestSuite(multiboot1, .init = setup, .fini = teardown);

Test(multiboot1, elf32_entry_state)
{
	mb1_elf(32, 0x3);
	cr_assert(multiboot1_probe(im->data, im->size));
	cr_assert_not(multiboot2_probe(im->data, im->size));
	cr_assert_eq(mb1(), 0, "%s", b.err);
	cr_assert_eq(entry.mode, CPU_MODE_PROTECTED);
	cr_assert_eq(entry.rip, 0x100020);
	cr_assert_eq(entry.rax, MB1_MAGIC);
	cr_assert_geq(entry.rbx, X86_LOW_ALLOC_MIN);
	cr_assert_leq(entry.rbx + 116, X86_LOW_ALLOC_MAX);
	cr_assert_eq(entry.rbx % 8, 0);
	cr_assert_eq(entry.rcx | entry.rdx | entry.rsi | entry.rdi | entry.rsp,
		     0);
	/* Image contents and zeroed bss. */
	cr_assert_eq(gmem32(&mem, 0x100000), 0x1BADB002);
	cr_assert_eq(*(uint8_t *)mem_ptr(&mem, 0x100080, 1), 0x11 + 0x80);
	cr_assert_eq(*(uint8_t *)mem_ptr(&mem, 0x101fff, 1), 0);
}

Test(multiboot1, info_structure)
{
	static const uint64_t want[3][3] = {
		{ 0, 0x9fc00, 1 },
		{ 0x9fc00, 0x60400, 2 },
		{ 0x100000, 63 * MiB_, 1 },
	};
	uint64_t info, mm, end, mods_addr;
	uint32_t flags;
	unsigned n = 0;

	mb1_elf(32, 0x3);
	cfg.boot.cmdline = "console=ttyS0 debug";
	add_modules();
	cr_assert_eq(mb1(), 0, "%s", b.err);
	info = entry.rbx;

	flags = gmem32(&mem, info);
	cr_assert_eq(flags,
		     (1u << 0) | (1u << 2) | (1u << 3) | (1u << 6) | (1u << 9),
		     "flags %#x", flags);
	cr_assert_eq(gmem32(&mem, info + 4), 639, "mem_lower");
	cr_assert_eq(gmem32(&mem, info + 8), 63 * 1024, "mem_upper");
	cr_assert_str_eq(gmem_str(&mem, gmem32(&mem, info + 16)),
			 "kernel.elf console=ttyS0 debug");
	cr_assert_str_eq(gmem_str(&mem, gmem32(&mem, info + 64)),
			 "vmm " VMM_VERSION);

	/* Modules: page aligned, above the image, in order, right strings,
	 * right contents. */
	cr_assert_eq(gmem32(&mem, info + 20), 2, "mods_count");
	mods_addr = gmem32(&mem, info + 24);
	cr_assert_eq(gmem32(&mem, mods_addr), 0x102000);
	cr_assert_eq(gmem32(&mem, mods_addr + 4), 0x102000 + 5000);
	cr_assert_str_eq(gmem_str(&mem, gmem32(&mem, mods_addr + 8)),
			 mod_cmdline[0]);
	cr_assert_eq(gmem32(&mem, mods_addr + 16), 0x104000);
	cr_assert_eq(gmem32(&mem, mods_addr + 20), 0x104001);
	cr_assert_str_eq(gmem_str(&mem, gmem32(&mem, mods_addr + 24)),
			 mod_cmdline[1]);
	cr_assert_eq(memcmp(mem_ptr(&mem, 0x102000, 5000), mod_data[0], 5000),
		     0);
	cr_assert_eq(*(uint8_t *)mem_ptr(&mem, 0x104000, 1), mod_data[1][0]);

	/* Memory map: size field 20, entries matching the RAM. */
	mm = gmem32(&mem, info + 48);
	end = mm + gmem32(&mem, info + 44);
	cr_assert_eq(gmem32(&mem, info + 44), 3 * 24);
	while (mm < end && n < 3) {
		cr_assert_eq(gmem32(&mem, mm), 20, "entry %u size", n);
		cr_assert_eq(gmem64(&mem, mm + 4), want[n][0], "entry %u", n);
		cr_assert_eq(gmem64(&mem, mm + 12), want[n][1], "entry %u", n);
		cr_assert_eq(gmem32(&mem, mm + 20), want[n][2], "entry %u", n);
		mm += gmem32(&mem, mm) + 4;
		n++;
	}
	cr_assert_eq(n, 3);
	cr_assert_eq(mm, end);
}

Test(multiboot1, no_modules_empty_cmdline)
{
	uint64_t info;

	mb1_elf(32, 0x2);
	cr_assert_eq(mb1(), 0, "%s", b.err);
	info = entry.rbx;
	cr_assert_eq(gmem32(&mem, info + 20), 0, "mods_count");
	cr_assert_eq(gmem32(&mem, info + 24), 0, "mods_addr");
	cr_assert_str_eq(gmem_str(&mem, gmem32(&mem, info + 16)), "kernel.elf");
}

Test(multiboot1, elf64_accepted)
{
	mb1_elf(64, 0x3);
	cr_assert_eq(mb1(), 0, "%s", b.err);
	cr_assert_eq(entry.mode, CPU_MODE_PROTECTED);
	cr_assert_eq(entry.rax, MB1_MAGIC);
	cr_assert_eq(entry.rip, 0x100020);
}

Test(multiboot1, elf64_above_4gib)
{
	struct guest_mem hi = { 0 };
	struct tseg s[] = { { .paddr = 0x100000000ULL, .filesz = 0x100 } };

	cr_assert_eq(
		mem_add_region(&hi, "hi", 0x100000000ULL, MiB_, NULL, false),
		0);
	b.mem = &hi;
	img_elf(im, 64, EM_X86_64, ET_EXEC, 0x100000000ULL, s, 1);
	img_mb1(im, img_seg_off(im, 64, 0), 0x3, 0, 0, 0, 0, 0);
	assert_err(mb1(), -ERANGE, "above 4 GiB");
	mem_free(&hi);
}

Test(multiboot1, optional_flags_ignored)
{
	mb1_elf(32, 0x3 | (1u << 20));
	cr_assert_eq(mb1(), 0, "%s", b.err);
}

Test(multiboot1, required_unsupported_flag)
{
	mb1_elf(32, 0x3 | (1u << 2));
	assert_err(mb1(), -ENOTSUP,
		   "flags 0x7 require what this VMM cannot provide: bit 2 "
		   "(video mode table");
	mb1_elf(32, 0x3 | (1u << 5));
	assert_err(mb1(), -ENOTSUP, "bit 5 (unknown)");
}

Test(multiboot1, bad_checksum)
{
	mb1_elf(32, 0x3);
	img_put32(im, img_seg_off(im, 32, 0) + 8, 0x12345678);
	cr_assert_not(multiboot1_probe(im->data, im->size));
	assert_err(mb1(), -ENOEXEC,
		   "Multiboot header at offset 0x60 has a bad "
		   "checksum");
}

Test(multiboot1, header_beyond_8k)
{
	memset(im->data, 0, 9000);
	im->size = 9000;
	img_mb1(im, 8192, 0x3, 0, 0, 0, 0, 0);
	cr_assert_not(multiboot1_probe(im->data, im->size));
	assert_err(mb1(), -ENOEXEC,
		   "no Multiboot header (magic 0x1badb002, "
		   "4-byte aligned) in the first 8192 bytes");
	/* Last possible place: 8180 (12 bytes end at 8192). */
	img_mb1(im, 8180, 0x3, 0, 0, 0, 0, 0);
	cr_assert(multiboot1_probe(im->data, im->size));
	/* Unaligned headers do not count. */
	memset(im->data, 0, 9000);
	img_mb1(im, 102, 0x3, 0, 0, 0, 0, 0);
	cr_assert_not(multiboot1_probe(im->data, im->size));
}

Test(multiboot1, not_elf_without_kludge)
{
	memset(im->data, 0, 256);
	im->size = 256;
	img_mb1(im, 0, 0x3, 0, 0, 0, 0, 0);
	assert_err(mb1(), -ENOEXEC,
		   "no address fields (flags bit 16 clear) "
		   "and the image is not ELF");
}

Test(multiboot1, elf_errors_pass_through)
{
	mb1_elf(32, 0x3);
	img_eh32(im)->e_machine = EM_ARM;
	assert_err(mb1(), -ENOEXEC, "ELF machine is EM_ARM (40)");
}

Test(multiboot1, kludge_loads)
{
	uint8_t *p;

	/* Load from the file start (header_addr - load_addr == offset),
	 * 0x180 bytes of file, bss to 0x101000. */
	mb1_kludge(0x100010, 0x100000, 0x100180, 0x101000, 0x100040);
	memset(mem_ptr(&mem, 0x100000, 0x1000), 0xcc, 0x1000);
	cr_assert_eq(mb1(), 0, "%s", b.err);
	cr_assert_eq(entry.rip, 0x100040);
	cr_assert_eq(entry.rax, MB1_MAGIC);
	p = mem_ptr(&mem, 0x100000, 0x1000);
	cr_assert_eq(p[0], 0xa0);
	cr_assert_eq(gmem32(&mem, 0x100010), 0x1BADB002);
	cr_assert_eq(p[0x17f], (uint8_t)(0xa0 + 0x17f));
	for (int i = 0x180; i < 0x1000; i++)
		cr_assert_eq(p[i], 0, "bss byte %#x", i);
}

Test(multiboot1, kludge_skips_file_prefix)
{
	/* header_addr - load_addr = 8 < offset 0x10: load from offset 8. */
	mb1_kludge(0x200008, 0x200000, 0, 0, 0x200000);
	cr_assert_eq(mb1(), 0, "%s", b.err);
	cr_assert_eq(*(uint8_t *)mem_ptr(&mem, 0x200000, 1), 0xa8);
	cr_assert_eq(gmem32(&mem, 0x200008), 0x1BADB002);
	/* load_end_addr 0: the rest of the file, 0x1f8 bytes. */
	cr_assert_eq(b.res[0].size, 0x1f8);
}

Test(multiboot1, kludge_modules_after_bss)
{
	add_modules();
	mb1_kludge(0x100010, 0x100000, 0x100180, 0x103004, 0x100040);
	cr_assert_eq(mb1(), 0, "%s", b.err);
	cr_assert_eq(gmem32(&mem, gmem32(&mem, entry.rbx + 24)), 0x104000);
}

Test(multiboot1, kludge_load_end_below_load_addr)
{
	mb1_kludge(0x100010, 0x100000, 0xff000, 0, 0x100040);
	assert_err(mb1(), -ENOEXEC,
		   "load_end_addr 0xff000 is not above load_addr 0x100000");
}

Test(multiboot1, kludge_load_addr_above_header)
{
	mb1_kludge(0x100010, 0x100020, 0, 0, 0x100040);
	assert_err(mb1(), -ENOEXEC,
		   "load_addr 0x100020 is above header_addr 0x100010");
}

Test(multiboot1, kludge_before_file_start)
{
	mb1_kludge(0x100010, 0x0f0000, 0, 0, 0x100040);
	assert_err(mb1(), -ENOEXEC,
		   "would start loading 0x10010 bytes before "
		   "the header, which is at file offset 0x10");
}

Test(multiboot1, kludge_load_end_past_file)
{
	mb1_kludge(0x100010, 0x100000, 0x100201, 0, 0x100040);
	assert_err(mb1(), -ENOEXEC,
		   "load_end_addr 0x100201 needs 0x201 bytes from file offset "
		   "0, but the file has 512 bytes");
}

Test(multiboot1, kludge_bss_below_data)
{
	mb1_kludge(0x100010, 0x100000, 0x100180, 0x100100, 0x100040);
	assert_err(mb1(), -ENOEXEC,
		   "bss_end_addr 0x100100 is below the end "
		   "of the loaded data 0x100180");
}

Test(multiboot1, kludge_entry_outside)
{
	mb1_kludge(0x100010, 0x100000, 0x100180, 0, 0x200000);
	assert_err(mb1(), -ENOEXEC,
		   "entry_addr 0x200000 is outside the loaded "
		   "image [0x100000-0x100180)");
}

Test(multiboot1, kludge_outside_ram_and_4g)
{
	mb1_kludge(0x8000010, 0x8000000, 0, 0, 0x8000010);
	assert_err(mb1(), -ERANGE,
		   "image [0x8000000-0x8000200) is not inside "
		   "guest RAM");
	boot_ctx_init(&b, &mem);
	mb1_kludge(0xfffffff0, 0xffffffe0, 0, 0xffffffff, 0xfffffff0);
	cr_assert_eq(mb1(), -ENOEXEC, "%s", b.err); /* bss below data */
	mb1_kludge(0xffffff10, 0xffffff00, 0, 0, 0xffffff10);
	assert_err(mb1(), -ERANGE, "extends above 4 GiB");
}

Test(multiboot1, kludge_fields_cut_off)
{
	memset(im->data, 0, 8192 + 64);
	im->size = 8192 + 64;
	img_mb1(im, 8176, 0x10003, 0, 0, 0, 0, 0);
	assert_err(mb1(), -ENOEXEC,
		   "address fields are cut off by the "
		   "8192-byte search limit");
	memset(im->data, 0, 8192 + 64);
	img_mb1(im, 100, 0x10003, 0, 0, 0, 0, 0);
	im->size = 120;
	assert_err(mb1(), -ENOEXEC, "cut off by the end of the file");
}

Test(multiboot1, missing_module)
{
	static struct cfg_module m = { .path = "/nonexistent/initrd",
				       .cmdline = "/nonexistent/initrd x" };

	mb1_elf(32, 0x3);
	cfg.boot.modules = &m;
	cfg.boot.nr_modules = 1;
	cr_assert_eq(mb1(), -ENOENT);
	cr_assert(strstr(b.err, "/nonexistent/initrd: cannot open"), "%s",
		  b.err);
}

Test(multiboot1, kludge_preferred_over_elf)
{
	/* An ELF file whose header also sets bit 16: the address fields win
	 * (GRUB and QEMU behave the same). */
	mb1_elf(32, 0x3);
	im->size = 0x200;
	img_mb1(im, 0x60, 0x10003, 0x300060, 0x300000, 0, 0, 0x300060);
	cr_assert_eq(mb1(), 0, "%s", b.err);
	cr_assert_eq(entry.rip, 0x300060);
	cr_assert_eq(gmem32(&mem, 0x300000), 0x464c457f); /* "\x7fELF" */
}

/* Multiboot 2 */

/* ELF64 kernel with a Multiboot 2 header at the start of its segment;
 * returns the builder positioned after the fixed header. */
static void mb2_elf(struct mb2b *h)
{
	struct tseg s[] = { { .paddr = 0x100000,
			      .filesz = 0x200,
			      .memsz = 0x3000,
			      .fill = 0x22 } };

	img_elf(im, 64, EM_X86_64, ET_EXEC, 0x100100, s, 1);
	memset(im->data + img_seg_off(im, 64, 0), 0, 0x100);
	mb2b_start(h, im, img_seg_off(im, 64, 0), 0);
}

struct mb2_seen {
	const char *cmdline, *name;
	unsigned nr_mods, nr_mmap, nr_tags;
	uint32_t mod_start[4], mod_end[4];
	const char *mod_str[4];
	uint32_t mem_lower, mem_upper, load_base;
	uint64_t mmap[8][3];
	bool end;
};

/* Walk the boot information at gpa the way a guest would. */
static void mb2_walk(uint64_t gpa, struct mb2_seen *s)
{
	uint32_t total = gmem32(&mem, gpa);
	uint64_t pos = gpa + 8;

	memset(s, 0, sizeof(*s));
	cr_assert_eq(gpa % 8, 0);
	cr_assert_eq(gmem32(&mem, gpa + 4), 0, "reserved");
	while (pos < gpa + total) {
		uint32_t type = gmem32(&mem, pos), size = gmem32(&mem, pos + 4);

		cr_assert_eq(pos % 8, 0, "tag %u not 8-byte aligned", type);
		cr_assert_geq(size, 8);
		cr_assert_leq(pos + size, gpa + total, "tag %u overflows",
			      type);
		s->nr_tags++;
		switch (type) {
		case 0:
			cr_assert_eq(size, 8);
			s->end = true;
			cr_assert_eq(pos + 8, gpa + total, "end tag is last");
			break;
		case 1:
			s->cmdline = gmem_str(&mem, pos + 8);
			cr_assert_eq(size, 8 + strlen(s->cmdline) + 1);
			break;
		case 2:
			s->name = gmem_str(&mem, pos + 8);
			break;
		case 3:
			s->mod_start[s->nr_mods] = gmem32(&mem, pos + 8);
			s->mod_end[s->nr_mods] = gmem32(&mem, pos + 12);
			s->mod_str[s->nr_mods] = gmem_str(&mem, pos + 16);
			s->nr_mods++;
			break;
		case 4:
			cr_assert_eq(size, 16);
			s->mem_lower = gmem32(&mem, pos + 8);
			s->mem_upper = gmem32(&mem, pos + 12);
			break;
		case 6: {
			uint32_t esz = gmem32(&mem, pos + 8);

			cr_assert_eq(esz, 24);
			cr_assert_eq(gmem32(&mem, pos + 12), 0, "version");
			for (uint64_t e = pos + 16; e + esz <= pos + size;
			     e += esz) {
				s->mmap[s->nr_mmap][0] = gmem64(&mem, e);
				s->mmap[s->nr_mmap][1] = gmem64(&mem, e + 8);
				s->mmap[s->nr_mmap][2] = gmem32(&mem, e + 16);
				s->nr_mmap++;
			}
			break;
		}
		case 21:
			s->load_base = gmem32(&mem, pos + 8);
			break;
		default:
			cr_assert_fail("unexpected info tag %u", type);
		}
		if (type == 0)
			break;
		pos += (size + 7) & ~7u;
	}
	cr_assert(s->end, "no end tag");
}

TestSuite(multiboot2, .init = setup, .fini = teardown);

Test(multiboot2, elf_info_walk)
{
	static const uint32_t req[] = { 1, 2, 3, 4, 6, 21 };
	struct mb2_seen s;
	struct mb2b h;

	mb2_elf(&h);
	mb2b_tag(&h, 1, 0, req, 6);
	mb2b_tag(&h, 6, 0, NULL, 0); /* module alignment */
	mb2b_finish(&h, false);
	cfg.boot.cmdline = "a=1 b";
	add_modules();
	cr_assert(multiboot2_probe(im->data, im->size));
	cr_assert_eq(mb2(), 0, "%s", b.err);

	cr_assert_eq(entry.mode, CPU_MODE_PROTECTED);
	cr_assert_eq(entry.rax, MB2_MAGIC);
	cr_assert_eq(entry.rip, 0x100100);
	cr_assert_lt(entry.rbx, X86_LOW_ALLOC_MAX);
	mb2_walk(entry.rbx, &s);
	cr_assert_str_eq(s.cmdline, "kernel.elf a=1 b");
	cr_assert_str_eq(s.name, "vmm " VMM_VERSION);
	cr_assert_eq(s.nr_mods, 2);
	cr_assert_eq(s.mod_start[0], 0x103000);
	cr_assert_eq(s.mod_end[0], 0x103000 + 5000);
	cr_assert_str_eq(s.mod_str[0], mod_cmdline[0]);
	cr_assert_eq(s.mod_start[1], 0x105000);
	cr_assert_eq(s.mod_end[1], 0x105001);
	cr_assert_str_eq(s.mod_str[1], mod_cmdline[1]);
	cr_assert_eq(memcmp(mem_ptr(&mem, 0x103000, 5000), mod_data[0], 5000),
		     0);
	cr_assert_eq(s.mem_lower, 639);
	cr_assert_eq(s.mem_upper, 63 * 1024);
	cr_assert_eq(s.nr_mmap, 3);
	cr_assert_eq(s.mmap[0][0], 0);
	cr_assert_eq(s.mmap[0][1], 0x9fc00);
	cr_assert_eq(s.mmap[0][2], 1);
	cr_assert_eq(s.mmap[1][2], 2);
	cr_assert_eq(s.mmap[2][0], 0x100000);
	cr_assert_eq(s.mmap[2][1], 63 * MiB_);
	cr_assert_eq(s.load_base, 0x100000);
	/* Image contents (the header itself is in the segment). */
	cr_assert_eq(gmem32(&mem, 0x100000), 0xE85250D6);
	cr_assert_eq(*(uint8_t *)mem_ptr(&mem, 0x100100, 1),
		     (uint8_t)(0x22 + 0x100));
	cr_assert_eq(*(uint8_t *)mem_ptr(&mem, 0x102fff, 1), 0);
}

Test(multiboot2, entry_tag_overrides_elf_entry)
{
	static const uint32_t e[] = { 0x100180 };
	struct mb2b h;

	mb2_elf(&h);
	mb2b_tag(&h, 3, 0, e, 1);
	mb2b_finish(&h, false);
	cr_assert_eq(mb2(), 0, "%s", b.err);
	cr_assert_eq(entry.rip, 0x100180);
}

Test(multiboot2, entry_tag_outside_image)
{
	static const uint32_t e[] = { 0x900000 };
	struct mb2b h;

	mb2_elf(&h);
	mb2b_tag(&h, 3, 0, e, 1);
	mb2b_finish(&h, false);
	assert_err(mb2(), -ENOEXEC,
		   "entry address tag 0x900000 is not inside a "
		   "loaded segment of the image [0x100000-0x103000)");
}

/* Flat kernel with a Multiboot 2 header at offset 8 plus address and entry
 * tags. */
static void mb2_flat(uint32_t header_addr, uint32_t load_addr,
		     uint32_t load_end, uint32_t bss_end, uint32_t entry_addr,
		     bool with_entry)
{
	uint32_t addr[] = { header_addr, load_addr, load_end, bss_end };
	uint32_t e[] = { entry_addr };
	struct mb2b h;

	for (int i = 0; i < 0x400; i++)
		im->data[i] = (uint8_t)(0x30 + i);
	im->size = 0x400;
	mb2b_start(&h, im, 8, 0);
	mb2b_tag(&h, 2, 0, addr, 4);
	if (with_entry)
		mb2b_tag(&h, 3, 0, e, 1);
	mb2b_finish(&h, false);
}

Test(multiboot2, address_tag_loads)
{
	struct mb2_seen s;

	mb2_flat(0x200008, 0x200000, 0x200300, 0x202000, 0x200100, true);
	cr_assert_eq(mb2(), 0, "%s", b.err);
	cr_assert_eq(entry.rip, 0x200100);
	cr_assert_eq(entry.rax, MB2_MAGIC);
	cr_assert_eq(*(uint8_t *)mem_ptr(&mem, 0x200000, 1), 0x30);
	cr_assert_eq(gmem32(&mem, 0x200008), 0xE85250D6);
	cr_assert_eq(*(uint8_t *)mem_ptr(&mem, 0x2002ff, 1),
		     (uint8_t)(0x30 + 0x2ff));
	cr_assert_eq(*(uint8_t *)mem_ptr(&mem, 0x200300, 1), 0);
	mb2_walk(entry.rbx, &s);
	cr_assert_eq(s.load_base, 0x200000);
	cr_assert_eq(s.nr_mods, 0);
}

Test(multiboot2, address_tag_load_from_start)
{
	/* load_addr -1: file offset 0 lands at header_addr - 8. */
	mb2_flat(0x300008, 0xffffffff, 0, 0, 0x300010, true);
	cr_assert_eq(mb2(), 0, "%s", b.err);
	cr_assert_eq(*(uint8_t *)mem_ptr(&mem, 0x300000, 1), 0x30);
	cr_assert_eq(gmem32(&mem, 0x300008), 0xE85250D6);
	cr_assert_eq(b.res[0].size, 0x400);
}

Test(multiboot2, address_tag_without_entry)
{
	mb2_flat(0x200008, 0x200000, 0, 0, 0, false);
	assert_err(mb2(), -ENOEXEC, "address tag but no entry address tag");
}

Test(multiboot2, address_tag_bad_fields)
{
	mb2_flat(0x200008, 0x200000, 0x1000, 0, 0x200010, true);
	assert_err(mb2(), -ENOEXEC,
		   "load_end_addr 0x1000 is not above "
		   "load_addr 0x200000");
	mb2_flat(0x200008, 0x200100, 0, 0, 0x200110, true);
	assert_err(mb2(), -ENOEXEC, "load_addr 0x200100 is above header_addr");
}

static void mb2_one_tag(uint16_t type, uint16_t flags, const uint32_t *w,
			unsigned n)
{
	struct mb2b h;

	mb2_elf(&h);
	mb2b_tag(&h, type, flags, w, n);
	mb2b_finish(&h, false);
}

Test(multiboot2, unknown_tags)
{
	static const uint32_t w[] = { 1, 2 };

	mb2_one_tag(42, 0, w, 2);
	assert_err(mb2(), -ENOTSUP,
		   "unknown required Multiboot2 header tag "
		   "type 42 at offset 0x90");
	boot_ctx_init(&b, &mem);
	mb2_one_tag(42, 1, w, 2); /* optional: ignored */
	cr_assert_eq(mb2(), 0, "%s", b.err);
}

Test(multiboot2, info_request_unavailable)
{
	static const uint32_t req[] = { 1, 8 }; /* framebuffer info */

	mb2_one_tag(1, 0, req, 2);
	assert_err(mb2(), -ENOTSUP,
		   "requires boot information tag 8 "
		   "(framebuffer information)");
	boot_ctx_init(&b, &mem);
	mb2_one_tag(1, 1, req, 2);
	cr_assert_eq(mb2(), 0, "%s", b.err);
}

Test(multiboot2, framebuffer_and_console)
{
	static const uint32_t fb[] = { 1024, 768, 32 };
	static const uint32_t cons[] = { 1 };

	mb2_one_tag(5, 0, fb, 3);
	assert_err(mb2(), -ENOTSUP, "requires a framebuffer (1024x768x32)");
	boot_ctx_init(&b, &mem);
	mb2_one_tag(5, 1, fb, 3);
	cr_assert_eq(mb2(), 0, "%s", b.err);
	boot_ctx_init(&b, &mem);
	mb2_one_tag(4, 0, cons, 1);
	assert_err(mb2(), -ENOTSUP, "requires a console");
	boot_ctx_init(&b, &mem);
	mb2_one_tag(4, 1, cons, 1);
	cr_assert_eq(mb2(), 0, "%s", b.err);
}

Test(multiboot2, ignored_tags)
{
	static const uint32_t reloc[] = { 0x100000, 0x1000000, 4096, 0 };
	struct mb2b h;

	mb2_elf(&h);
	mb2b_tag(&h, 10, 0, reloc, 4); /* relocatable: loaded as linked */
	mb2b_tag(&h, 7, 0, NULL, 0);   /* EFI boot services */
	mb2b_tag(&h, 8, 0, reloc, 1);  /* EFI i386 entry */
	mb2b_finish(&h, false);
	cr_assert_eq(mb2(), 0, "%s", b.err);
	cr_assert_eq(entry.rip, 0x100100);
}

Test(multiboot2, bad_checksum_and_arch)
{
	struct mb2b h;
	size_t off;

	mb2_elf(&h);
	mb2b_finish(&h, false);
	off = img_seg_off(im, 64, 0);
	img_put32(im, off + 12, 1);
	cr_assert_not(multiboot2_probe(im->data, im->size));
	assert_err(mb2(), -ENOEXEC,
		   "Multiboot2 header at offset 0x80 has a "
		   "bad checksum");
	mb2_elf(&h);
	img_put32(im, off + 4, 4);
	mb2b_finish(&h, false);
	assert_err(mb2(), -ENOEXEC, "architecture is 4 (MIPS)");
}

Test(multiboot2, tag_size_errors)
{
	struct mb2b h;
	size_t off;

	mb2_elf(&h);
	off = h.pos;
	mb2b_tag(&h, 3, 0, (const uint32_t[]){ 0x100100 }, 1);
	mb2b_finish(&h, false);
	/* Re-checksum after corrupting: change the size, fix the sum. */
	img_put32(im, off + 4, 0x1000);
	assert_err(mb2(), -ENOEXEC,
		   "header tag type 3 at offset 0x90 has size "
		   "4096, outside the header");
	img_put32(im, off + 4, 4);
	assert_err(mb2(), -ENOEXEC, "has size 4");
	img_put32(im, off + 4, 8); /* entry tag without its field */
	assert_err(mb2(), -ENOEXEC, "tag type 3 at offset 0x90 is too small");
}

Test(multiboot2, missing_end_tag)
{
	struct mb2b h;

	mb2_elf(&h);
	mb2b_tag(&h, 6, 0, NULL, 0);
	mb2b_finish(&h, true);
	assert_err(mb2(), -ENOEXEC, "not terminated by an end tag");
}

Test(multiboot2, header_length_bounds)
{
	struct mb2b h;
	size_t off;

	mb2_elf(&h);
	mb2b_finish(&h, false);
	off = img_seg_off(im, 64, 0);
	img_put32(im, off + 8, 0x100000);
	img_put32(im, off + 12, -(0xE85250D6u + 0 + 0x100000));
	assert_err(mb2(), -ENOEXEC, "header_length 1048576");
	img_put32(im, off + 8, 8);
	img_put32(im, off + 12, -(0xE85250D6u + 0 + 8));
	assert_err(mb2(), -ENOEXEC, "header_length 8");
}

Test(multiboot2, header_search_limits)
{
	struct mb2b h;

	memset(im->data, 0, 33000);
	im->size = 33000;
	mb2b_start(&h, im, 32768, 0);
	mb2b_finish(&h, false);
	cr_assert_not(multiboot2_probe(im->data, im->size));
	assert_err(mb2(), -ENOEXEC,
		   "no Multiboot2 header (magic 0xe85250d6, "
		   "8-byte aligned) in the first 32768 bytes");
	memset(im->data, 0, 33000);
	mb2b_start(&h, im, 12, 0); /* 4- but not 8-byte aligned */
	mb2b_finish(&h, false);
	cr_assert_not(multiboot2_probe(im->data, im->size));
}

Test(multiboot2, not_elf_without_address_tag)
{
	struct mb2b h;

	memset(im->data, 0, 256);
	im->size = 256;
	mb2b_start(&h, im, 0, 0);
	mb2b_finish(&h, false);
	assert_err(mb2(), -ENOEXEC, "no address tag and the image is not ELF");
}

/* Auto-detection through x86_boot_load() */

Test(multiboot2, autodetect_prefers_mb2)
{
	struct mb2b h;
	char path[256];

	mb2_elf(&h);
	mb2b_finish(&h, false);
	/* Also a Multiboot 1 header, further into the segment. */
	img_mb1(im, img_seg_off(im, 64, 0) + 0x40, 0x3, 0, 0, 0, 0, 0);
	cr_assert(multiboot1_probe(im->data, im->size));
	cr_assert_eq(tmp_write(path, sizeof(path), "mb", im->data, im->size),
		     0);
	cfg.boot.image = path;
	cr_assert_eq(x86_boot_load(&b, &cfg, &entry), 0, "%s", b.err);
	cr_assert_eq(entry.rax, MB2_MAGIC);

	/* Forced format = multiboot uses the MB1 header. */
	boot_ctx_init(&b, &mem);
	cfg.boot.format = BOOT_FORMAT_MULTIBOOT;
	cr_assert_eq(x86_boot_load(&b, &cfg, &entry), 0, "%s", b.err);
	cr_assert_eq(entry.rax, MB1_MAGIC);
	unlink(path);
}

Test(multiboot1, autodetect_mb1)
{
	char path[256];

	mb1_elf(32, 0x3);
	cr_assert_eq(tmp_write(path, sizeof(path), "mb", im->data, im->size),
		     0);
	cfg.boot.image = path;
	cr_assert_eq(x86_boot_load(&b, &cfg, &entry), 0, "%s", b.err);
	cr_assert_eq(entry.rax, MB1_MAGIC);
	cr_assert_eq(entry.mode, CPU_MODE_PROTECTED);

	/* Forced format = multiboot2 on an MB1 image: clear error. */
	boot_ctx_init(&b, &mem);
	cfg.boot.format = BOOT_FORMAT_MULTIBOOT2;
	cr_assert_eq(x86_boot_load(&b, &cfg, &entry), -ENOEXEC);
	cr_assert(strstr(b.err, "no Multiboot2 header"), "%s", b.err);
	unlink(path);
}

/* Random corruption of valid images: every outcome must be a clean error
 * or a load; never a crash (run under ASan/UBSan in CI). */

static uint32_t rng_state = 0x12345678;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static void mutate_and_load(const struct img *orig, size_t span, bool two)
{
	static struct img work;

	for (unsigned iter = 0; iter < 2000; iter++) {
		int ret;

		memcpy(&work, orig, sizeof(work));
		for (unsigned k = 0; k < 1 + rng() % 4; k++) {
			size_t at = rng() % span;

			work.data[at] = (uint8_t)rng();
		}
		if (rng() % 8 == 0)
			work.size = rng() % (orig->size + 1);
		boot_ctx_init(&b, &mem);
		ret = two ? multiboot2_load(&b, &cfg, work.data, work.size,
					    &entry)
			  : multiboot1_load(&b, &cfg, work.data, work.size,
					    &entry);
		if (ret) {
			cr_assert(strstr(b.err, PATH ": ") == b.err, "%s",
				  b.err);
		} else {
			cr_assert_not_null(mem_find(&mem, entry.rip));
			cr_assert_lt(entry.rip, 0x100000000ULL);
		}
	}
}

Test(multiboot1, mutations_do_not_crash)
{
	mb1_elf(32, 0x3);
	mutate_and_load(im, 0x100, false);
	mb1_kludge(0x100010, 0x100000, 0x100180, 0x101000, 0x100040);
	mutate_and_load(im, 0x40, false);
}

Test(multiboot2, mutations_do_not_crash)
{
	static const uint32_t req[] = { 1, 2, 3, 4, 6, 21 };
	struct mb2b h;

	mb2_elf(&h);
	mb2b_tag(&h, 1, 0, req, 6);
	mb2b_tag(&h, 10, 1, req, 4);
	mb2b_finish(&h, false);
	mutate_and_load(im, 0x100, true);
	mb2_flat(0x200008, 0x200000, 0x200300, 0x202000, 0x200100, true);
	mutate_and_load(im, 0x60, true);
}
