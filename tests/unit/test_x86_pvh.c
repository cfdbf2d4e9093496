/* SPDX-License-Identifier: MIT */
/*
 * Xen PVH loader (arch/x86/pvh.c): note parsing, start_info contents read
 * back at the offsets of Xen's public start_info.h, entry state, errors,
 * auto-detection; and Debian's vmlinux (which has CONFIG_PVH) when the
 * nested-QEMU harness has unpacked one.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <glob.h>
#include <string.h>
#include <unistd.h>

#include "arch/x86/boot.h"
#include "bzbuild.h"

#define MiB_ (1024ULL * 1024)
#define PATH "/images/pvh.elf"

#define PHYS32_ENTRY 18
#define SI_MAGIC     0x336ec578u

/* struct hvm_start_info offsets */
#define SI_OFF_MAGIC	      0x00
#define SI_OFF_VERSION	      0x04
#define SI_OFF_FLAGS	      0x08
#define SI_OFF_NR_MODULES     0x0c
#define SI_OFF_MODLIST	      0x10
#define SI_OFF_CMDLINE	      0x18
#define SI_OFF_RSDP	      0x20
#define SI_OFF_MEMMAP	      0x28
#define SI_OFF_MEMMAP_ENTRIES 0x30
#define SI_OFF_RESERVED	      0x34

static struct guest_mem mem;
static struct boot_ctx b;
static struct vm_config cfg;
static struct x86_entry entry;
static struct img *im;
static char initrd_path[256];
static const struct x86_boot_opts opts = { .rsdp = 0xf0000 };

static void setup(void)
{
	memset(&mem, 0, sizeof(mem));
	cr_assert_eq(mem_add_region(&mem, "ram", 0, 64 * MiB_, NULL, false), 0);
	boot_ctx_init(&b, &mem);
	memset(&cfg, 0, sizeof(cfg));
	cfg.boot.image = PATH;
	cfg.boot.cmdline = "";
	cfg.boot.format = BOOT_FORMAT_PVH;
	memset(&entry, 0xee, sizeof(entry));
	im = img_new();
	initrd_path[0] = '\0';
}

static void teardown(void)
{
	if (initrd_path[0])
		unlink(initrd_path);
	mem_free(&mem);
	free(im);
}

#define assert_err(ret, code, text)                                           \
	do {                                                                  \
		cr_assert_eq((ret), (code), "ret %d, err: %s", (ret), b.err); \
		cr_assert(strstr(b.err, PATH ": ") == b.err, "%s", b.err);    \
		cr_assert(strstr(b.err, (text)), "expected '%s' in: %s",      \
			  (text), b.err);                                     \
	} while (0)

static int boot(void)
{
	return x86_boot_pvh(&b, &cfg, im->data, im->size, &opts, &entry);
}

/*
 * ELF with one PT_LOAD at 1 MiB (0x1000 bytes) and one PT_NOTE holding a
 * "linux" guest-os note, then the PVH entry note with a desc_len-byte
 * descriptor (0: no PVH note). Returns the file offset of the notes.
 */
static size_t pvh_elf(int cls, uint64_t pvh_entry, uint32_t desc_len)
{
	struct tseg s[] = {
		{ .paddr = 0x100000, .filesz = 0x1000, .fill = 0x40 },
		{ .type = PT_NOTE, .filesz = 0x40 },
	};
	size_t off, pos;

	if (!desc_len)
		s[1].filesz = 24;
	img_elf(im, cls, cls == 32 ? EM_386 : EM_X86_64, ET_EXEC, 0x100000, s,
		2);
	off = img_seg_off(im, cls, 1);
	pos = off + img_note(im, off, "Xen", 4, 6, "linux", 6);
	if (desc_len)
		pos += img_note(im, pos, "Xen", 4, PHYS32_ENTRY, &pvh_entry,
				desc_len);
	/* The PT_NOTE covers exactly the notes. */
	if (cls == 64)
		img_ph64(im, 1)->p_filesz = pos - off;
	else
		((Elf32_Phdr *)(im->data + sizeof(Elf32_Ehdr)))[1].p_filesz =
			(Elf32_Word)(pos - off);
	return off;
}

static void add_initrd(size_t size)
{
	cr_assert_eq(tmp_pattern(initrd_path, sizeof(initrd_path), "initrd",
				 size, 0x77),
		     0);
	cfg.boot.initrd = initrd_path;
}

TestSuite(pvh, .init = setup, .fini = teardown);

Test(pvh, start_info_and_entry)
{
	static const uint64_t want[3][3] = {
		{ 0, 0x9fc00, 1 },
		{ 0x9fc00, 0x60400, 2 },
		{ 0x100000, 63 * MiB_, 1 },
	};
	uint64_t si, mod, mm, img;
	const uint8_t *p;

	pvh_elf(64, 0x100040, 4);
	cfg.boot.cmdline = "console=ttyS0 root=/dev/ram0";
	add_initrd(5000);
	cr_assert(pvh_probe(im->data, im->size));
	cr_assert_eq(boot(), 0, "%s", b.err);

	/* Entry: 32-bit protected mode at the note's address, EBX = info. */
	cr_assert_eq(entry.mode, CPU_MODE_PROTECTED);
	cr_assert_eq(entry.abi, X86_ABI_PVH);
	cr_assert_eq(entry.rip, 0x100040);
	si = entry.rbx;
	cr_assert_neq(si, 0);
	cr_assert_lt(si + 0x38, 0x100000000ULL);
	cr_assert_eq(si % 8, 0);
	cr_assert_eq(entry.rax | entry.rcx | entry.rdx | entry.rsi | entry.rdi |
			     entry.rsp,
		     0);

	cr_assert_eq(gmem32(&mem, si + SI_OFF_MAGIC), SI_MAGIC);
	cr_assert_eq(gmem32(&mem, si + SI_OFF_VERSION), 1);
	cr_assert_eq(gmem32(&mem, si + SI_OFF_FLAGS), 0);
	cr_assert_eq(gmem32(&mem, si + SI_OFF_NR_MODULES), 1);
	cr_assert_str_eq(gmem_str(&mem, gmem64(&mem, si + SI_OFF_CMDLINE)),
			 "console=ttyS0 root=/dev/ram0");
	cr_assert_eq(gmem64(&mem, si + SI_OFF_RSDP), 0xf0000);
	cr_assert_eq(gmem32(&mem, si + SI_OFF_RESERVED), 0);

	/* Module 0: the initrd, as high as possible below 4 GiB. */
	mod = gmem64(&mem, si + SI_OFF_MODLIST);
	img = gmem64(&mem, mod);
	cr_assert_eq(gmem64(&mem, mod + 8), 5000);
	cr_assert_eq(gmem64(&mem, mod + 16), 0); /* no module cmdline */
	cr_assert_eq(gmem64(&mem, mod + 24), 0);
	cr_assert_eq(img % 4096, 0);
	cr_assert_eq(img + 8192, 64 * MiB_);
	p = mem_ptr(&mem, img, 5000);
	for (size_t i = 0; i < 5000; i++)
		cr_assert_eq(p[i], (uint8_t)(i * 13 + 0x77), "byte %zu", i);

	/* Memory map, 24-byte entries. */
	mm = gmem64(&mem, si + SI_OFF_MEMMAP);
	cr_assert_eq(gmem32(&mem, si + SI_OFF_MEMMAP_ENTRIES), 3);
	for (int i = 0; i < 3; i++) {
		uint64_t e = mm + 24 * i;

		cr_assert_eq(gmem64(&mem, e), want[i][0], "entry %d", i);
		cr_assert_eq(gmem64(&mem, e + 8), want[i][1], "entry %d", i);
		cr_assert_eq(gmem32(&mem, e + 16), want[i][2], "entry %d", i);
		cr_assert_eq(gmem32(&mem, e + 20), 0, "entry %d", i);
	}
	/* The image itself. */
	cr_assert_eq(gmem8(&mem, 0x100000), 0x40);
}

Test(pvh, no_initrd)
{
	uint64_t si;

	pvh_elf(64, 0x100000, 4);
	cr_assert_eq(x86_boot_pvh(&b, &cfg, im->data, im->size, NULL, &entry),
		     0, "%s", b.err);
	si = entry.rbx;
	cr_assert_eq(gmem32(&mem, si + SI_OFF_NR_MODULES), 0);
	cr_assert_eq(gmem64(&mem, si + SI_OFF_MODLIST), 0);
	cr_assert_eq(gmem64(&mem, si + SI_OFF_RSDP), 0);
	cr_assert_str_eq(gmem_str(&mem, gmem64(&mem, si + SI_OFF_CMDLINE)), "");
}

Test(pvh, eight_byte_descriptor_like_linux)
{
	uint64_t e;

	pvh_elf(64, 0x100800, 8);
	cr_assert_eq(pvh_find_entry(&b, PATH, im->data, im->size, &e), 0, "%s",
		     b.err);
	cr_assert_eq(e, 0x100800);
	cr_assert_eq(boot(), 0, "%s", b.err);
	cr_assert_eq(entry.rip, 0x100800);
}

Test(pvh, elf32)
{
	pvh_elf(32, 0x100010, 4);
	cr_assert_eq(boot(), 0, "%s", b.err);
	cr_assert_eq(entry.rip, 0x100010);
	cr_assert_eq(entry.mode, CPU_MODE_PROTECTED);
}

Test(pvh, missing_note)
{
	pvh_elf(64, 0, 0);
	cr_assert_not(pvh_probe(im->data, im->size));
	assert_err(boot(), -ENOENT,
		   "no Xen PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY: owner "
		   "\"Xen\", type 18) in a PT_NOTE segment or SHT_NOTE "
		   "section");
}

Test(pvh, wrong_owner)
{
	size_t off;
	uint32_t v = 0x100000;

	pvh_elf(64, 0x100000, 4);
	off = img_seg_off(im, 64, 1);
	/* Same type, owner "Xan": not the PVH note. */
	img_note(im, off + 24, "Xan", 4, PHYS32_ENTRY, &v, 4);
	cr_assert_not(pvh_probe(im->data, im->size));
	assert_err(boot(), -ENOENT, "no Xen PVH entry note");
}

Test(pvh, note_segment_outside_file)
{
	pvh_elf(64, 0, 0);
	img_ph64(im, 1)->p_offset = 0x100000;
	assert_err(boot(), -ENOEXEC,
		   "no usable Xen PVH entry note: PT_NOTE segment 1 "
		   "[0x100000-0x100018) is outside the file (4296 bytes");
}

Test(pvh, malformed_note)
{
	size_t off = pvh_elf(64, 0x100000, 4);

	/* The PVH note's descsz runs past the PT_NOTE segment. */
	img_put32(im, off + 24 + 4, 0x1000);
	assert_err(boot(), -ENOEXEC,
		   "no usable Xen PVH entry note: the note at offset 0x18 of "
		   "PT_NOTE segment 1 is truncated or malformed");
}

Test(pvh, entry_outside_segments)
{
	pvh_elf(64, 0x200000, 4);
	assert_err(boot(), -ENOEXEC,
		   "PVH entry point 0x200000 (from the "
		   "XEN_ELFNOTE_PHYS32_ENTRY note) is not inside any PT_LOAD "
		   "segment");
}

Test(pvh, entry_above_4g)
{
	pvh_elf(64, 0x100100000ULL, 8);
	assert_err(boot(), -ENOEXEC,
		   "PVH entry point 0x100100000 is not below 4 GiB");
}

Test(pvh, bad_descriptor_size)
{
	pvh_elf(64, 0x100000, 2);
	cr_assert(pvh_probe(im->data, im->size));
	assert_err(boot(), -ENOEXEC,
		   "has a 2-byte descriptor; expected a 4- or 8-byte address");
}

/* No PT_NOTE: the note is found through the section headers. */
Test(pvh, note_in_section)
{
	size_t off = pvh_elf(64, 0x100020, 4);
	Elf64_Phdr *ph = img_ph64(im, 1);
	size_t shoff = (im->size + 7) & ~(size_t)7;
	Elf64_Shdr sh[2] = { { 0 } };
	uint64_t e;

	sh[1].sh_type = SHT_NOTE;
	sh[1].sh_offset = off;
	sh[1].sh_size = ph->p_filesz;
	sh[1].sh_addralign = 4;
	ph->p_type = PT_NULL;
	memcpy(im->data + shoff, sh, sizeof(sh));
	im->size = shoff + sizeof(sh);
	img_eh64(im)->e_shoff = shoff;
	img_eh64(im)->e_shnum = 2;
	img_eh64(im)->e_shentsize = sizeof(Elf64_Shdr);
	cr_assert(pvh_probe(im->data, im->size));
	cr_assert_eq(pvh_find_entry(&b, PATH, im->data, im->size, &e), 0, "%s",
		     b.err);
	cr_assert_eq(e, 0x100020);

	/* A note section past the end of the file is reported. */
	((Elf64_Shdr *)(im->data + shoff))[1].sh_offset = 0x800000;
	assert_err(pvh_find_entry(&b, PATH, im->data, im->size, &e), -ENOEXEC,
		   "SHT_NOTE section 1 [0x800000-");
}

Test(pvh, modules_refused)
{
	struct cfg_module m = { .path = "/x", .cmdline = "/x" };

	pvh_elf(64, 0x100000, 4);
	cfg.boot.modules = &m;
	cfg.boot.nr_modules = 1;
	assert_err(boot(), -EINVAL, "takes an initrd (module 0), not modules");
}

Test(pvh, not_elf)
{
	memset(im->data, 0x90, 512);
	im->size = 512;
	cr_assert_not(pvh_probe(im->data, im->size));
	assert_err(boot(), -ENOEXEC, "not an ELF file");
}

Test(pvh, probe_survives_garbage)
{
	/* ELF magic, then noise: no crash, no note. */
	for (unsigned seed = 0; seed < 64; seed++) {
		memset(im->data, 0, 4096);
		memcpy(im->data, ELFMAG, SELFMAG);
		for (size_t i = SELFMAG; i < 4096; i++)
			im->data[i] =
				(uint8_t)((i * 2654435761u) >> (seed % 24));
		cr_assert_not(pvh_probe(im->data, 4096));
		cr_assert_not(pvh_probe(im->data, 5 + seed));
	}
}

Test(pvh, autodetect)
{
	char path[256];

	pvh_elf(64, 0x100040, 4);
	cr_assert_eq(tmp_write(path, sizeof(path), "pvh", im->data, im->size),
		     0);
	cfg.boot.image = path;
	cfg.boot.format = BOOT_FORMAT_AUTO;
	cr_assert_eq(x86_boot_load(&b, &cfg, &entry), 0, "%s", b.err);
	cr_assert_eq(entry.abi, X86_ABI_PVH);
	cr_assert_eq(entry.rip, 0x100040);
	unlink(path);

	/* Without the note the same ELF boots as plain ELF64. */
	mem_free(&mem);
	cr_assert_eq(mem_add_region(&mem, "ram", 0, 64 * MiB_, NULL, false), 0);
	boot_ctx_init(&b, &mem);
	pvh_elf(64, 0, 0);
	cr_assert_eq(tmp_write(path, sizeof(path), "pvh", im->data, im->size),
		     0);
	cfg.boot.image = path;
	cr_assert_eq(x86_boot_load(&b, &cfg, &entry), 0, "%s", b.err);
	cr_assert_eq(entry.abi, X86_ABI_DEFAULT);
	cr_assert_eq(entry.mode, CPU_MODE_LONG);
	cr_assert_eq(entry.rip, 0x100000);

	/* format = pvh on it: the clear error. */
	boot_ctx_init(&b, &mem);
	cfg.boot.format = BOOT_FORMAT_PVH;
	cr_assert_eq(x86_boot_load(&b, &cfg, &entry), -ENOENT);
	cr_assert(strstr(b.err, "no Xen PVH entry note"), "%s", b.err);
	unlink(path);
}

Test(pvh, debian_vmlinux, .timeout = 60)
{
	static const char *const pats[] = {
		TEST_BUILD_DIR "/nest-cache/x86_64/vmlinux",
		TEST_BUILD_DIR "/../build*/nest-cache/x86_64/vmlinux",
		NULL,
	};
	const char *k = getenv("VMM_TEST_VMLINUX");
	static char buf[512];
	uint64_t si;

	for (unsigned i = 0; (!k || access(k, R_OK)) && pats[i]; i++) {
		glob_t g;

		k = NULL;
		if (glob(pats[i], 0, NULL, &g) == 0 && g.gl_pathc) {
			snprintf(buf, sizeof(buf), "%s", g.gl_pathv[0]);
			k = buf;
		}
		globfree(&g);
	}
	if (!k || access(k, R_OK))
		cr_skip_test("no uncompressed Debian vmlinux (tools/nest "
			     "extracts one into <build>/nest-cache/x86_64) or "
			     "set VMM_TEST_VMLINUX");
	mem_free(&mem);
	cr_assert_eq(mem_add_region(&mem, "ram", 0, 512 * MiB_, NULL, false),
		     0);
	boot_ctx_init(&b, &mem);
	cfg.boot.image = (char *)k;
	cfg.boot.format = BOOT_FORMAT_AUTO;
	cfg.boot.cmdline = "console=ttyS0";
	cr_assert_eq(x86_boot_load_opts(&b, &cfg, &opts, &entry), 0, "%s",
		     b.err);
	cr_assert_eq(entry.abi, X86_ABI_PVH, "%s not detected as PVH", k);
	cr_assert_eq(entry.mode, CPU_MODE_PROTECTED);
	/* pvh_start_xen lies in .head.text, just above startup_64. */
	cr_assert_gt(entry.rip, 0x1000000);
	cr_assert_lt(entry.rip, 0x1010000);
	si = entry.rbx;
	cr_assert_eq(gmem32(&mem, si + SI_OFF_MAGIC), SI_MAGIC);
	cr_assert_eq(gmem32(&mem, si + SI_OFF_MEMMAP_ENTRIES), 3);
	cr_log_info("%s: PVH entry %#llx", k, (unsigned long long)entry.rip);
}
