/* SPDX-License-Identifier: MIT */
/* elf_load(): good ELF32/ELF64 images and every way to break one. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "imgbuild.h"
#include "vmm/boot.h"
#include "vmm/mem.h"

#define MiB_ (1024ULL * 1024)
#define PATH "/images/kernel.elf"

static const uint16_t x86[] = { EM_386, EM_X86_64, 0 };
static struct guest_mem mem;
static struct boot_ctx b;
static struct img *im;
static struct elf_info info;

static void setup(void)
{
	memset(&mem, 0, sizeof(mem));
	cr_assert_eq(mem_add_region(&mem, "ram", 0, 16 * MiB_, NULL, false), 0);
	boot_ctx_init(&b, &mem);
	im = img_new();
	memset(&info, 0, sizeof(info));
}

static void teardown(void)
{
	mem_free(&mem);
	free(im);
}

static int load(void)
{
	return elf_load(&b, PATH, im->data, im->size, x86, &info);
}

#define assert_err(ret, code, text)                                           \
	do {                                                                  \
		cr_assert_eq((ret), (code), "ret %d, err: %s", (ret), b.err); \
		cr_assert(strstr(b.err, PATH ": ") == b.err, "%s", b.err);    \
		cr_assert(strstr(b.err, (text)), "expected '%s' in: %s",      \
			  (text), b.err);                                     \
	} while (0)

TestSuite(elf, .init = setup, .fini = teardown);

Test(elf, elf64_two_segments_with_bss)
{
	struct tseg s[] = {
		{ .paddr = 0x100000, .filesz = 0x100, .fill = 0x10 },
		{ .paddr = 0x200000,
		  .filesz = 0x40,
		  .memsz = 0x1000,
		  .fill = 0x80 },
	};
	uint8_t *p;

	img_elf(im, 64, EM_X86_64, ET_EXEC, 0x100010, s, 2);
	/* Garbage where the bss goes: it must be zeroed. */
	memset(mem_ptr(&mem, 0x200000, 0x1000), 0xcc, 0x1000);
	cr_assert_eq(load(), 0, "%s", b.err);
	cr_assert_eq(info.elf_class, 64);
	cr_assert_eq(info.machine, EM_X86_64);
	cr_assert_eq(info.entry, 0x100010);
	cr_assert_eq(info.entry_paddr, 0x100010);
	cr_assert_eq(info.lowest, 0x100000);
	cr_assert_eq(info.end, 0x201000);
	cr_assert_eq(info.nr_segments, 2);
	p = mem_ptr(&mem, 0x100000, 0x100);
	for (int i = 0; i < 0x100; i++)
		cr_assert_eq(p[i], (uint8_t)(0x10 + i));
	p = mem_ptr(&mem, 0x200000, 0x1000);
	for (int i = 0; i < 0x40; i++)
		cr_assert_eq(p[i], (uint8_t)(0x80 + i));
	for (int i = 0x40; i < 0x1000; i++)
		cr_assert_eq(p[i], 0, "bss byte %#x", i);
	cr_assert_eq(b.nr_res, 2);
	cr_assert_str_eq(b.res[0].what, "segment 0 of kernel.elf");
}

Test(elf, elf32_loads)
{
	struct tseg s[] = { { .paddr = 0x100000, .filesz = 0x20, .fill = 1 } };

	img_elf(im, 32, EM_386, ET_EXEC, 0x100000, s, 1);
	cr_assert_eq(load(), 0, "%s", b.err);
	cr_assert_eq(info.elf_class, 32);
	cr_assert_eq(info.machine, EM_386);
	cr_assert_eq(gmem32(&mem, 0x100000), 0x04030201);
}

Test(elf, paddr_placement_and_virtual_entry)
{
	/* Higher-half link: placed at p_paddr, entry translated. */
	struct tseg s[] = { { .paddr = 0x100000,
			      .vaddr = 0xffffffff80100000,
			      .filesz = 0x100,
			      .fill = 7 } };

	img_elf(im, 64, EM_X86_64, ET_EXEC, 0xffffffff80100040, s, 1);
	cr_assert_eq(load(), 0, "%s", b.err);
	cr_assert_eq(info.entry, 0xffffffff80100040);
	cr_assert_eq(info.entry_paddr, 0x100040);
	cr_assert_eq(*(uint8_t *)mem_ptr(&mem, 0x100000, 1), 7);
}

Test(elf, skips_non_load_and_empty_segments)
{
	struct tseg s[] = {
		{ .type = PT_NOTE, .paddr = 0x900000, .filesz = 8 },
		{ .paddr = 0x100000, .filesz = 0x10 },
		{ .paddr = 0xf0000000, .filesz = 0, .memsz = 0 }, /* empty */
	};

	img_elf(im, 64, EM_X86_64, ET_EXEC, 0x100000, s, 3);
	cr_assert_eq(load(), 0, "%s", b.err);
	cr_assert_eq(info.nr_segments, 1);
	cr_assert_eq(b.nr_res, 1);
}

Test(elf, machines_null_accepts_any)
{
	struct tseg s[] = { { .paddr = 0x1000, .filesz = 0x10 } };

	img_elf(im, 64, EM_AARCH64, ET_EXEC, 0x1000, s, 1);
	cr_assert_eq(elf_load(&b, PATH, im->data, im->size, NULL, &info), 0,
		     "%s", b.err);
	cr_assert_eq(info.machine, EM_AARCH64);
}

Test(elf, is_elf)
{
	cr_assert(elf_is_elf((const uint8_t *)"\x7f"
					      "ELF",
			     4));
	cr_assert_not(elf_is_elf((const uint8_t *)"\x7f"
						  "EL",
				 3));
	cr_assert_not(elf_is_elf((const uint8_t *)"MZ\0\0", 4));
	cr_assert_not(elf_is_elf(NULL, 0));
}

/* Broken images */

Test(elf, wrong_magic)
{
	struct tseg s[] = { { .paddr = 0x1000, .filesz = 0x10 } };

	img_elf(im, 64, EM_X86_64, ET_EXEC, 0x1000, s, 1);
	im->data[1] = 'X';
	assert_err(load(), -ENOEXEC, "not an ELF file");
}

Test(elf, truncated_header)
{
	struct tseg s[] = { { .paddr = 0x1000, .filesz = 0x10 } };

	img_elf(im, 64, EM_X86_64, ET_EXEC, 0x1000, s, 1);
	im->size = 40;
	assert_err(load(), -ENOEXEC, "truncated ELF header (file is 40 bytes");
	im->size = 10;
	assert_err(load(), -ENOEXEC, "truncated ELF header (file is 10 bytes)");
	im->size = 3;
	assert_err(load(), -ENOEXEC, "not an ELF file");
}

Test(elf, truncated_program_headers)
{
	struct tseg s[] = { { .paddr = 0x1000, .filesz = 0x10 },
			    { .paddr = 0x2000, .filesz = 0x10 } };

	img_elf(im, 64, EM_X86_64, ET_EXEC, 0x1000, s, 2);
	im->size = sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr) + 10;
	assert_err(load(), -ENOEXEC, "truncated: program header table");
}

Test(elf, huge_phnum_bounded_by_file)
{
	struct tseg s[] = { { .paddr = 0x1000, .filesz = 0x10 } };

	img_elf(im, 64, EM_X86_64, ET_EXEC, 0x1000, s, 1);
	img_eh64(im)->e_phnum = 0xfff0;
	assert_err(load(), -ENOEXEC,
		   "65520 entries at offset 0x40) extends "
		   "past the end of the file");
	img_eh64(im)->e_phnum = PN_XNUM;
	assert_err(load(), -ENOEXEC, "PN_XNUM");
	img_eh64(im)->e_phnum = 1;
	img_eh64(im)->e_phoff = ~0ULL - 8;
	assert_err(load(), -ENOEXEC, "extends past the end of the file");
}

Test(elf, bad_phentsize)
{
	struct tseg s[] = { { .paddr = 0x1000, .filesz = 0x10 } };

	img_elf(im, 64, EM_X86_64, ET_EXEC, 0x1000, s, 1);
	img_eh64(im)->e_phentsize = 32;
	assert_err(load(), -ENOEXEC, "program header entry size is 32");
}

Test(elf, big_endian_and_bad_class)
{
	struct tseg s[] = { { .paddr = 0x1000, .filesz = 0x10 } };

	img_elf(im, 64, EM_X86_64, ET_EXEC, 0x1000, s, 1);
	im->data[EI_DATA] = ELFDATA2MSB;
	assert_err(load(), -ENOEXEC, "big-endian ELF data encoding");
	im->data[EI_DATA] = ELFDATA2LSB;
	im->data[EI_CLASS] = 7;
	assert_err(load(), -ENOEXEC, "unsupported ELF class 7");
}

Test(elf, et_dyn_and_et_rel)
{
	struct tseg s[] = { { .paddr = 0x1000, .filesz = 0x10 } };

	img_elf(im, 64, EM_X86_64, ET_DYN, 0x1000, s, 1);
	assert_err(load(), -ENOEXEC, "not an executable (e_type 3: ET_DYN");
	img_elf(im, 32, EM_386, ET_REL, 0x1000, s, 1);
	assert_err(load(), -ENOEXEC, "not an executable (e_type 1: ET_REL");
}

Test(elf, wrong_machine)
{
	struct tseg s[] = { { .paddr = 0x1000, .filesz = 0x10 } };

	img_elf(im, 64, EM_AARCH64, ET_EXEC, 0x1000, s, 1);
	assert_err(load(), -ENOEXEC,
		   "ELF machine is EM_AARCH64 (183); accepted: EM_386 (3), "
		   "EM_X86_64 (62)");
	img_elf(im, 32, 0x1234, ET_EXEC, 0x1000, s, 1);
	assert_err(load(), -ENOEXEC, "unknown machine (4660)");
}

Test(elf, segment_outside_ram)
{
	struct tseg s[] = {
		{ .paddr = 0x100000, .filesz = 0x10 },
		{ .paddr = 16 * MiB_ - 0x10, .filesz = 0x10, .memsz = 0x20 }
	};

	img_elf(im, 64, EM_X86_64, ET_EXEC, 0x100000, s, 2);
	assert_err(load(), -ERANGE,
		   "segment 1 [0xfffff0-0x1000010) is outside guest RAM "
		   "(RAM: [0-0x1000000) ram)");
	cr_assert_eq(b.nr_res, 0, "nothing loaded before validation");
}

Test(elf, huge_memsz)
{
	struct tseg s[] = {
		{ .paddr = 0x100000, .filesz = 0x10, .memsz = 1ULL << 63 }
	};

	img_elf(im, 64, EM_X86_64, ET_EXEC, 0x100000, s, 1);
	assert_err(load(), -ERANGE,
		   "segment 0 [0x100000-0x8000000000100000) "
		   "is outside guest RAM");
	img_ph64(im, 0)->p_memsz = ~0ULL;
	assert_err(load(), -ERANGE, "wraps around the address space");
}

Test(elf, offset_beyond_eof)
{
	struct tseg s[] = {
		{ .paddr = 0x100000, .filesz = 0x10, .offset = 0x100000 }
	};

	img_elf(im, 64, EM_X86_64, ET_EXEC, 0x100000, s, 1);
	assert_err(load(), -ENOEXEC,
		   "segment 0: file range [0x100000-0x100010) is outside the "
		   "file");
	img_ph64(im, 0)->p_offset = ~0ULL - 4;
	assert_err(load(), -ENOEXEC, "is outside the file");
}

Test(elf, truncated_segment_data)
{
	struct tseg s[] = { { .paddr = 0x100000, .filesz = 0x100 } };

	img_elf(im, 32, EM_386, ET_EXEC, 0x100000, s, 1);
	im->size -= 1;
	assert_err(load(), -ENOEXEC, "is outside the file");
}

Test(elf, filesz_above_memsz)
{
	struct tseg s[] = { { .paddr = 0x100000, .filesz = 0x100 } };

	img_elf(im, 64, EM_X86_64, ET_EXEC, 0x100000, s, 1);
	img_ph64(im, 0)->p_memsz = 0x80;
	assert_err(load(), -ENOEXEC,
		   "segment 0: p_filesz 0x100 is larger than p_memsz 0x80");
}

Test(elf, overlapping_segments)
{
	struct tseg s[] = { { .paddr = 0x100000, .filesz = 0x100 },
			    { .paddr = 0x200000, .filesz = 0x100 },
			    { .paddr = 0x1000f0, .filesz = 0x100 } };

	img_elf(im, 64, EM_X86_64, ET_EXEC, 0x100000, s, 3);
	assert_err(load(), -ENOEXEC,
		   "segments 0 [0x100000-0x100100) and 2 [0x1000f0-0x1001f0) "
		   "overlap");
	cr_assert_eq(b.nr_res, 0);
}

Test(elf, no_pt_load)
{
	struct tseg s[] = { { .type = PT_NOTE, .paddr = 0x1000, .filesz = 8 } };

	img_elf(im, 64, EM_X86_64, ET_EXEC, 0x1000, s, 1);
	assert_err(load(), -ENOEXEC, "no PT_LOAD segments");
	img_elf(im, 64, EM_X86_64, ET_EXEC, 0x1000, NULL, 0);
	assert_err(load(), -ENOEXEC, "no program headers");
}

Test(elf, entry_outside_segments)
{
	struct tseg s[] = { { .paddr = 0x100000, .filesz = 0x100 } };

	img_elf(im, 64, EM_X86_64, ET_EXEC, 0x500000, s, 1);
	assert_err(load(), -ENOEXEC,
		   "entry point 0x500000 is not inside any PT_LOAD segment");
}

Test(elf, collides_with_reservation)
{
	struct tseg s[] = { { .paddr = 0x100000, .filesz = 0x100 } };

	cr_assert_eq(boot_reserve(&b, 0x100080, 0x10, "boot info"), 0);
	img_elf(im, 64, EM_X86_64, ET_EXEC, 0x100000, s, 1);
	assert_err(load(), -EBUSY,
		   "segment 0 of kernel.elf [0x100000-0x100100) overlaps boot "
		   "info [0x100080-0x100090)");
}

Test(elf, too_many_segments)
{
	struct tseg s[40];

	memset(s, 0, sizeof(s));
	for (unsigned i = 0; i < 40; i++) {
		s[i].paddr = 0x100000 + i * 0x1000;
		s[i].filesz = 0x10;
	}
	img_elf(im, 64, EM_X86_64, ET_EXEC, 0x100000, s, 40);
	assert_err(load(), -ENOEXEC, "more than 32 PT_LOAD segments");
}

Test(elf, garbage_after_magic)
{
	/* Random bytes with a valid ident must fail cleanly, not crash. */
	img_elf(im, 64, EM_X86_64, ET_EXEC, 0, NULL, 0);
	for (size_t i = EI_NIDENT; i < 4096; i++)
		im->data[i] = (uint8_t)(i * 7919u >> 3);
	im->size = 4096;
	cr_assert_lt(load(), 0);
	cr_assert(strstr(b.err, PATH ": ") == b.err, "%s", b.err);
}

Test(elf, mutations_do_not_crash)
{
	static struct img work;
	struct tseg s[] = {
		{ .paddr = 0x100000, .filesz = 0x40 },
		{ .paddr = 0x200000, .filesz = 0x40, .memsz = 0x100 }
	};
	uint32_t x = 0x9e3779b9;

	for (int cls = 32; cls <= 64; cls += 32) {
		img_elf(im, cls, cls == 32 ? EM_386 : EM_X86_64, ET_EXEC,
			0x100000, s, 2);
		for (unsigned iter = 0; iter < 3000; iter++) {
			int ret;

			memcpy(&work, im, sizeof(work));
			for (unsigned k = 0; k < 3; k++) {
				x ^= x << 13;
				x ^= x >> 17;
				x ^= x << 5;
				work.data[x % 0xb0] = (uint8_t)(x >> 8);
			}
			boot_ctx_init(&b, &mem);
			ret = elf_load(&b, PATH, work.data, work.size, x86,
				       &info);
			if (ret)
				cr_assert(strstr(b.err, PATH ": ") == b.err,
					  "%s", b.err);
			else
				cr_assert_leq(info.nr_segments, 2);
		}
	}
}
