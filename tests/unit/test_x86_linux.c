/* SPDX-License-Identifier: MIT */
/*
 * Linux boot protocol loader (arch/x86/linux.c) on synthetic bzImages and
 * vmlinux ELFs, and on Debian's kernel when the nested-QEMU harness has
 * downloaded it. The zero page is read back from guest memory at the
 * offsets of Documentation/arch/x86/zero-page.rst and boot.rst, not through
 * the loader's definitions.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <glob.h>
#include <string.h>
#include <unistd.h>

#include "arch/x86/x86.h"
#include "bzbuild.h"

#define MiB_ (1024ULL * 1024)
#define PATH "/images/bzImage"

static struct guest_mem mem;
static struct boot_ctx b;
static struct vm_config cfg;
static struct x86_entry entry;
static struct img *im;
static struct bz_opts o;
static char initrd_path[256];
static const struct x86_boot_opts opts = { .rsdp = 0xf0000 };

static void setup_ram(uint64_t size)
{
	mem_free(&mem);
	cr_assert_eq(mem_add_region(&mem, "ram", 0, size, NULL, false), 0);
	boot_ctx_init(&b, &mem);
}

static void setup(void)
{
	setup_ram(64 * MiB_);
	memset(&cfg, 0, sizeof(cfg));
	cfg.boot.image = PATH;
	cfg.boot.cmdline = "";
	cfg.boot.format = BOOT_FORMAT_LINUX;
	memset(&entry, 0xee, sizeof(entry));
	im = img_new();
	o = bz_defaults();
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
		cr_assert(strstr(b.err, (text)), "expected '%s' in: %s",      \
			  (text), b.err);                                     \
	} while (0)

static int boot(void)
{
	return x86_boot_linux(&b, &cfg, im->data, im->size, &opts, &entry);
}

static int bz(void)
{
	img_bzimage(im, &o);
	return boot();
}

static void add_initrd(size_t size)
{
	cr_assert_eq(tmp_pattern(initrd_path, sizeof(initrd_path), "initrd",
				 size, 0x31),
		     0);
	cfg.boot.initrd = initrd_path;
}

static const struct boot_reservation *find_res(const char *what)
{
	for (unsigned i = 0; i < b.nr_res; i++)
		if (!strcmp(b.res[i].what, what))
			return &b.res[i];
	return NULL;
}

/* e820 table in the zero page == the documented map of 64 MiB at 0. */
static void check_e820_64m(uint64_t zp)
{
	static const uint64_t want[3][3] = {
		{ 0, 0x9fc00, 1 },
		{ 0x9fc00, 0x60400, 2 },
		{ 0x100000, 63 * MiB_, 1 },
	};

	cr_assert_eq(gmem8(&mem, zp + TZP_E820_ENTRIES), 3);
	for (int i = 0; i < 3; i++) {
		uint64_t e = zp + TZP_E820_TABLE + 20 * i;

		cr_assert_eq(gmem64(&mem, e), want[i][0], "entry %d", i);
		cr_assert_eq(gmem64(&mem, e + 8), want[i][1], "entry %d", i);
		cr_assert_eq(gmem32(&mem, e + 16), want[i][2], "entry %d", i);
	}
	/* Nothing after the last entry. */
	cr_assert_eq(gmem64(&mem, zp + TZP_E820_TABLE + 20 * 3 + 8), 0);
}

static void check_initrd(uint64_t zp, size_t size, uint64_t want_end)
{
	uint64_t img = gmem32(&mem, zp + TBZ_RAMDISK_IMAGE) |
		       (uint64_t)gmem32(&mem, zp + TZP_EXT_RAMDISK_IMG) << 32;
	uint64_t sz = gmem32(&mem, zp + TBZ_RAMDISK_SIZE) |
		      (uint64_t)gmem32(&mem, zp + TZP_EXT_RAMDISK_SIZE) << 32;
	const uint8_t *p;

	cr_assert_eq(sz, size);
	cr_assert_eq(img % 4096, 0, "initrd at %#llx", (unsigned long long)img);
	/* As high as possible: its page-aligned end is the limit. */
	cr_assert_eq(img + ((size + 4095) & ~4095ULL), want_end,
		     "initrd at %#llx", (unsigned long long)img);
	p = mem_ptr(&mem, img, size);
	cr_assert_not_null(p);
	for (size_t i = 0; i < size; i++)
		cr_assert_eq(p[i], (uint8_t)(i * 13 + 0x31), "byte %zu", i);
	cr_assert_not_null(find_res("initrd"));
}

TestSuite(linux_bzimage, .init = setup, .fini = teardown);

Test(linux_bzimage, good_image)
{
	const char *cl = "console=ttyS0 root=/dev/ram0 rdinit=/init";
	uint64_t zp, cmd, load = 0x1000000;
	const struct boot_reservation *r;
	const uint8_t *k;

	cfg.boot.cmdline = (char *)cl;
	add_initrd(10000);
	img_bzimage(im, &o);
	cr_assert(linux_bzimage_probe(im->data, im->size));
	cr_assert_eq(boot(), 0, "%s", b.err);

	/* Entry: 64-bit, load address + 0x200, RSI = zero page. */
	cr_assert_eq(entry.mode, CPU_MODE_LONG);
	cr_assert_eq(entry.abi, X86_ABI_LINUX);
	cr_assert_eq(entry.rip, load + 0x200);
	zp = entry.rsi;
	cr_assert_eq(zp % 4096, 0);
	cr_assert_geq(zp, X86_LOW_ALLOC_MIN);
	cr_assert_leq(zp + 4096, X86_LOW_ALLOC_MAX);
	cr_assert_eq(entry.rax | entry.rbx | entry.rcx | entry.rdx | entry.rdi |
			     entry.rsp,
		     0);

	/* Kernel at pref_address, init_size reserved. */
	k = mem_ptr(&mem, load, o.kernel_size);
	for (size_t i = 0; i < o.kernel_size; i++)
		cr_assert_eq(k[i], bz_kbyte(i), "kernel byte %zu", i);
	r = find_res("kernel (init_size)");
	cr_assert_not_null(r);
	cr_assert_eq(r->gpa, load);
	cr_assert_eq(r->size, o.init_size);

	/* Setup header copied from the file... */
	cr_assert_eq(gmem16(&mem, zp + TBZ_BOOT_FLAG), 0xaa55);
	cr_assert_eq(gmem32(&mem, zp + TBZ_HEADER), img_get32(im, TBZ_HEADER));
	cr_assert_eq(gmem16(&mem, zp + TBZ_VERSION), 0x020f);
	cr_assert_eq(gmem8(&mem, zp + TBZ_SETUP_SECTS), 4);
	cr_assert_eq(gmem16(&mem, zp + TBZ_ROOT_FLAGS), 1);
	cr_assert_eq(gmem32(&mem, zp + TBZ_SYSSIZE), 4096 / 16);
	cr_assert_eq(gmem16(&mem, zp + TBZ_VID_MODE), 0xffff);
	cr_assert_eq(gmem16(&mem, zp + TBZ_KERNEL_VERSION), 0x1234);
	cr_assert_eq(gmem32(&mem, zp + TBZ_KERNEL_ALIGNMENT), 0x200000);
	cr_assert_eq(gmem8(&mem, zp + TBZ_RELOCATABLE), 1);
	cr_assert_eq(gmem8(&mem, zp + TBZ_MIN_ALIGNMENT), 21);
	cr_assert_eq(gmem16(&mem, zp + TBZ_XLOADFLAGS), 3);
	cr_assert_eq(gmem32(&mem, zp + TBZ_CMDLINE_SIZE), 2047);
	cr_assert_eq(gmem32(&mem, zp + TBZ_PAYLOAD_OFFSET), 0x3ab);
	cr_assert_eq(gmem64(&mem, zp + TBZ_PREF_ADDRESS), 0x1000000);
	cr_assert_eq(gmem32(&mem, zp + TBZ_INIT_SIZE), o.init_size);
	cr_assert_eq(gmem32(&mem, zp + TBZ_KERNEL_INFO_OFF), 0x5a5a);
	/* ...and nothing of the setup code beyond it. */
	cr_assert_eq(gmem32(&mem, zp + TBZ_HDR_END), 0);
	cr_assert_eq(gmem8(&mem, zp + 0x1f0), 0);
	cr_assert_eq(gmem8(&mem, zp + TZP_SENTINEL), 0);

	/* ...with the loader's fields filled in. */
	cr_assert_eq(gmem8(&mem, zp + TBZ_TYPE_OF_LOADER), 0xff);
	cr_assert_eq(gmem8(&mem, zp + TBZ_LOADFLAGS), 0x81);
	cr_assert_eq(gmem16(&mem, zp + TBZ_HEAP_END_PTR), 0xde00);
	cr_assert_eq(gmem32(&mem, zp + TBZ_CODE32_START), load);
	cr_assert_eq(gmem64(&mem, zp + TBZ_SETUP_DATA), 0);
	cmd = gmem32(&mem, zp + TBZ_CMD_LINE_PTR) |
	      (uint64_t)gmem32(&mem, zp + TZP_EXT_CMD_LINE_PTR) << 32;
	cr_assert_str_eq(gmem_str(&mem, cmd), cl);
	cr_assert_eq(gmem64(&mem, zp + TZP_ACPI_RSDP), 0xf0000);
	check_e820_64m(zp);
	check_initrd(zp, 10000, 64 * MiB_);
}

Test(linux_bzimage, no_initrd_no_rsdp)
{
	uint64_t zp;

	img_bzimage(im, &o);
	cr_assert_eq(x86_boot_linux(&b, &cfg, im->data, im->size, NULL, &entry),
		     0, "%s", b.err);
	zp = entry.rsi;
	cr_assert_eq(gmem32(&mem, zp + TBZ_RAMDISK_IMAGE), 0);
	cr_assert_eq(gmem32(&mem, zp + TBZ_RAMDISK_SIZE), 0);
	cr_assert_eq(gmem64(&mem, zp + TZP_ACPI_RSDP), 0);
	cr_assert_str_eq(gmem_str(&mem, gmem32(&mem, zp + TBZ_CMD_LINE_PTR)),
			 "");
	cr_assert_null(find_res("initrd"));
}

Test(linux_bzimage, setup_sects_zero_means_four)
{
	o.setup_sects = 0;
	cr_assert_eq(bz(), 0, "%s", b.err);
	cr_assert_eq(gmem8(&mem, 0x1000000), bz_kbyte(0));
	cr_assert_eq(gmem8(&mem, 0x1000000 + 100), bz_kbyte(100));
}

Test(linux_bzimage, more_setup_sects)
{
	o.setup_sects = 27;
	cr_assert_eq(bz(), 0, "%s", b.err);
	cr_assert_eq(gmem8(&mem, 0x1000000 + 7), bz_kbyte(7));
}

Test(linux_bzimage, protocol_2_11_rejected)
{
	o.version = 0x020b;
	assert_err(bz(), -ENOEXEC,
		   PATH ": Linux boot protocol 2.11 is too old: the 64-bit "
			"entry point needs protocol 2.12 or later");
}

Test(linux_bzimage, protocol_2_02_rejected)
{
	o.version = 0x0202;
	assert_err(bz(), -ENOEXEC, "protocol 2.02 is too old");
	cr_assert(strstr(b.err, "2.12"), "%s", b.err);
}

Test(linux_bzimage, protocol_2_12_accepted)
{
	o.version = 0x020c;
	cr_assert_eq(bz(), 0, "%s", b.err);
	cr_assert_eq(gmem16(&mem, entry.rsi + TBZ_VERSION), 0x020c);
}

Test(linux_bzimage, no_kernel_64)
{
	o.xloadflags = TXLF_CAN_BE_LOADED_ABOVE_4G;
	assert_err(bz(), -ENOEXEC,
		   "kernel has no 64-bit entry point (xloadflags 0x2 lacks "
		   "XLF_KERNEL_64)");
}

Test(linux_bzimage, zimage_rejected)
{
	o.loadflags = 0;
	assert_err(bz(), -ENOEXEC, "zImage");
}

Test(linux_bzimage, bad_signatures)
{
	img_bzimage(im, &o);
	img_put16(im, TBZ_BOOT_FLAG, 0x1234);
	cr_assert_not(linux_bzimage_probe(im->data, im->size));
	assert_err(boot(), -ENOEXEC,
		   "not a Linux bzImage: boot flag at 0x1fe is 0x1234, "
		   "expected 0xaa55");

	img_bzimage(im, &o);
	memcpy(im->data + TBZ_HEADER, "HdrX", 4);
	cr_assert_not(linux_bzimage_probe(im->data, im->size));
	assert_err(linux_parse_bzimage(&b, PATH, im->data, im->size,
				       &(struct linux_setup_hdr){ 0 }),
		   -ENOEXEC, "no \"HdrS\" signature at 0x202");
}

Test(linux_bzimage, truncated_setup)
{
	img_bzimage(im, &o);
	im->size = 0x100;
	assert_err(boot(), -ENOEXEC,
		   PATH ": truncated: 256 bytes is too short for a bzImage");

	img_bzimage(im, &o);
	im->size = 0x240; /* signature and version, not the 2.12 fields */
	assert_err(boot(), -ENOEXEC,
		   "truncated setup header: file is 576 bytes, protocol "
		   "2.15's header ends at 0x268");

	img_bzimage(im, &o);
	im->size = 0x800; /* whole header, setup sectors cut short */
	assert_err(boot(), -ENOEXEC,
		   "truncated: setup_sects 4 puts the protected-mode kernel "
		   "at offset 0xa00, but the file is 2048 bytes");
}

Test(linux_bzimage, short_header_jump)
{
	img_bzimage(im, &o);
	im->data[TBZ_JUMP + 1] = 0x40; /* header ends at 0x242 */
	assert_err(boot(), -ENOEXEC, "setup header ends at 0x242");
}

Test(linux_bzimage, setup_sects_past_eof)
{
	img_bzimage(im, &o);
	im->data[TBZ_SETUP_SECTS] = 30;
	assert_err(boot(), -ENOEXEC,
		   "truncated: setup_sects 30 puts the protected-mode kernel "
		   "at offset 0x3e00, but the file is 6656 bytes");
}

Test(linux_bzimage, kernel_truncated)
{
	img_bzimage(im, &o);
	im->size -= 1000;
	assert_err(boot(), -ENOEXEC,
		   "truncated: syssize says the protected-mode kernel is 4096 "
		   "bytes from offset 0xa00, the file has 3096");
}

Test(linux_bzimage, init_size_larger_than_ram)
{
	o.init_size = 128 * MiB_;
	assert_err(bz(), -ENOMEM,
		   "the kernel needs 128 MiB (init_size 0x8000000), more than "
		   "guest RAM (64 MiB)");
}

Test(linux_bzimage, init_size_does_not_fit_above_pref)
{
	/* Fits in RAM, but not between 16 MiB and the end of RAM. */
	o.init_size = 60 * MiB_;
	assert_err(bz(), -ENOMEM,
		   "no room for the kernel: it runs at or above 0x1000000 and "
		   "needs init_size 0x3c00000 bytes there");
}

Test(linux_bzimage, relocatable_moves_up_aligned)
{
	cr_assert_eq(boot_reserve(&b, 0x1000000, 0x1000, "blocker"), 0);
	cr_assert_eq(bz(), 0, "%s", b.err);
	cr_assert_eq(entry.rip, 0x1200000 + 0x200);
	cr_assert_eq(gmem8(&mem, 0x1200000 + 5), bz_kbyte(5));
	cr_assert_eq(gmem32(&mem, entry.rsi + TBZ_CODE32_START), 0x1200000);
}

Test(linux_bzimage, unaligned_pref_address_rounds_up)
{
	/* The kernel would run at pref aligned up: load it there. */
	o.pref_address = 0x1001000;
	cr_assert_eq(bz(), 0, "%s", b.err);
	cr_assert_eq(entry.rip, 0x1200000 + 0x200);
}

Test(linux_bzimage, not_relocatable_needs_pref)
{
	o.relocatable = 0;
	cr_assert_eq(bz(), 0, "%s", b.err);
	cr_assert_eq(entry.rip, 0x1000200);

	setup_ram(64 * MiB_);
	cr_assert_eq(boot_reserve(&b, 0x1100000, 0x1000, "blocker"), 0);
	assert_err(bz(), -ENOMEM,
		   "no room for the kernel: it runs at 0x1000000 and needs "
		   "init_size 0x200000");
}

Test(linux_bzimage, bad_kernel_alignment)
{
	o.kernel_alignment = 0x300000;
	assert_err(bz(), -ENOEXEC, "kernel_alignment 0x300000 is not a power");
}

Test(linux_bzimage, cmdline_too_long)
{
	o.cmdline_size = 16;
	cfg.boot.cmdline = "0123456789abcdefg"; /* 17 */
	assert_err(bz(), -E2BIG,
		   PATH ": [boot] cmdline is 17 bytes, more than the kernel's "
			"cmdline_size 16");

	setup_ram(64 * MiB_);
	cfg.boot.cmdline = "0123456789abcdef"; /* 16: fits */
	cr_assert_eq(bz(), 0, "%s", b.err);
}

Test(linux_bzimage, initrd_below_initrd_addr_max)
{
	uint64_t zp;

	o.initrd_addr_max = 0x2ffffff;
	add_initrd(5000);
	cr_assert_eq(bz(), 0, "%s", b.err);
	zp = entry.rsi;
	check_initrd(zp, 5000, 0x3000000);
	cr_assert_eq(gmem32(&mem, zp + TZP_EXT_RAMDISK_IMG), 0);
}

Test(linux_bzimage, initrd_too_large)
{
	/* Larger than the space left below initrd_addr_max (32 MiB; the
	 * kernel takes 16-18 MiB) and not allowed above 4 GiB. */
	o.initrd_addr_max = 0x1ffffff;
	o.xloadflags = TXLF_KERNEL_64;
	cr_assert_eq(tmp_sparse(initrd_path, sizeof(initrd_path), "initrd",
				20 * MiB_),
		     0);
	cfg.boot.initrd = initrd_path;
	assert_err(bz(), -ENOMEM,
		   ": no room for the initrd (20971520 bytes, page aligned) in "
		   "free guest RAM between 1 MiB and 0x2000000 (the kernel's "
		   "initrd_addr_max)");
	cr_assert(strstr(b.err, initrd_path) == b.err, "%s", b.err);

	/* Larger than guest RAM. */
	setup_ram(64 * MiB_);
	cr_assert_eq(truncate(initrd_path, 65 * MiB_), 0);
	assert_err(bz(), -EFBIG,
		   "initrd is 68157440 bytes, more than guest RAM (67108864 "
		   "bytes)");
}

Test(linux_bzimage, initrd_above_4g_when_allowed)
{
	uint64_t zp, img;

	/* RAM below 4 GiB is only 32 MiB: the initrd goes up. */
	mem_free(&mem);
	cr_assert_eq(mem_add_region(&mem, "low", 0, 32 * MiB_, NULL, false), 0);
	cr_assert_eq(mem_add_region(&mem, "high", 0x100000000ULL, 64 * MiB_,
				    NULL, false),
		     0);
	boot_ctx_init(&b, &mem);
	o.initrd_addr_max = 0x1ffffff;
	cr_assert_eq(tmp_sparse(initrd_path, sizeof(initrd_path), "initrd",
				20 * MiB_),
		     0);
	cfg.boot.initrd = initrd_path;
	cr_assert_eq(bz(), 0, "%s", b.err);
	zp = entry.rsi;
	img = gmem32(&mem, zp + TBZ_RAMDISK_IMAGE) |
	      (uint64_t)gmem32(&mem, zp + TZP_EXT_RAMDISK_IMG) << 32;
	cr_assert_eq(img, 0x100000000ULL + 64 * MiB_ - 20 * MiB_);
	cr_assert_eq(gmem32(&mem, zp + TBZ_RAMDISK_SIZE), 20 * MiB_);
	cr_assert_eq(gmem32(&mem, zp + TZP_EXT_RAMDISK_SIZE), 0);
	/* The e820 map has both regions. */
	cr_assert_eq(gmem8(&mem, zp + TZP_E820_ENTRIES), 4);
	cr_assert_eq(gmem64(&mem, zp + TZP_E820_TABLE + 3 * 20),
		     0x100000000ULL);
}

Test(linux_bzimage, initrd_missing_or_empty)
{
	cfg.boot.initrd = "/nonexistent/initrd.img";
	assert_err(bz(), -ENOENT, "/nonexistent/initrd.img: cannot open");

	setup_ram(64 * MiB_);
	add_initrd(0);
	assert_err(bz(), -EINVAL, "the initrd is empty");
}

Test(linux_bzimage, modules_refused)
{
	struct cfg_module m = { .path = "/x", .cmdline = "/x" };

	cfg.boot.modules = &m;
	cfg.boot.nr_modules = 1;
	assert_err(bz(), -EINVAL, "takes an initrd, not modules");
}

Test(linux_bzimage, ram_not_at_zero)
{
	/* No low RAM: zero page and command line go above 1 MiB. */
	mem_free(&mem);
	cr_assert_eq(
		mem_add_region(&mem, "ram", 0x100000, 63 * MiB_, NULL, false),
		0);
	boot_ctx_init(&b, &mem);
	cr_assert_eq(bz(), 0, "%s", b.err);
	cr_assert_geq(entry.rsi, 0x100000);
	cr_assert_eq(gmem8(&mem, entry.rsi + TZP_E820_ENTRIES), 1);
}

/* The GDT cpu.c builds for this entry: Linux's __BOOT_CS 0x10 (64-bit
 * code) and __BOOT_DS 0x18; a bare-metal ELF64 keeps 0x18 / 0x10. */
Test(linux_bzimage, gdt_has_boot_cs_ds)
{
	struct x86_vm xv = { 0 };

	cr_assert_eq(bz(), 0, "%s", b.err);
	xv.entry = entry;
	cr_assert_eq(x86_cpu_prepare(&b, &xv), 0, "%s", b.err);
	cr_assert_eq(gmem64(&mem, xv.gdt_gpa + 0x10), 0x00af9b000000ffffULL);
	cr_assert_eq(gmem64(&mem, xv.gdt_gpa + 0x18), 0x00cf93000000ffffULL);
	cr_assert_neq(xv.pml4_gpa, 0);

	setup_ram(64 * MiB_);
	memset(&xv, 0, sizeof(xv));
	xv.entry.mode = CPU_MODE_LONG;
	cr_assert_eq(x86_cpu_prepare(&b, &xv), 0, "%s", b.err);
	cr_assert_eq(gmem64(&mem, xv.gdt_gpa + 0x10), 0x00cf93000000ffffULL);
	cr_assert_eq(gmem64(&mem, xv.gdt_gpa + 0x18), 0x00af9b000000ffffULL);
}

/* ---- auto-detection through x86_boot_load() ---- */

Test(linux_bzimage, autodetect)
{
	char path[256];

	img_bzimage(im, &o);
	cr_assert_eq(tmp_write(path, sizeof(path), "bz", im->data, im->size),
		     0);
	cfg.boot.image = path;
	cfg.boot.format = BOOT_FORMAT_AUTO;
	add_initrd(100);
	cr_assert_eq(x86_boot_load_opts(&b, &cfg, &opts, &entry), 0, "%s",
		     b.err);
	cr_assert_eq(entry.abi, X86_ABI_LINUX);
	cr_assert_eq(entry.rip, 0x1000200);
	cr_assert_eq(gmem64(&mem, entry.rsi + TZP_ACPI_RSDP), 0xf0000);

	/* An old kernel is still detected as Linux, and told why not. */
	setup_ram(64 * MiB_);
	o.version = 0x0204;
	img_bzimage(im, &o);
	unlink(path);
	cr_assert_eq(tmp_write(path, sizeof(path), "bz", im->data, im->size),
		     0);
	assert_err(x86_boot_load(&b, &cfg, &entry), -ENOEXEC,
		   "protocol 2.04 is too old");
	unlink(path);
}

Test(linux_bzimage, initrd_with_plain_elf_refused)
{
	struct tseg s[] = { { .paddr = 0x100000, .filesz = 0x100 } };
	char path[256];

	img_elf(im, 64, EM_X86_64, ET_EXEC, 0x100000, s, 1);
	cr_assert_eq(tmp_write(path, sizeof(path), "elf", im->data, im->size),
		     0);
	cfg.boot.image = path;
	cfg.boot.format = BOOT_FORMAT_AUTO;
	add_initrd(100);
	assert_err(x86_boot_load(&b, &cfg, &entry), -EINVAL,
		   "[boot] initrd needs a Linux or PVH kernel, but the image "
		   "was detected as format elf");
	unlink(path);
}

/* ---- vmlinux ---- */

TestSuite(linux_vmlinux, .init = setup, .fini = teardown);

static void vmlinux_image(void)
{
	struct tseg s[] = {
		{ .paddr = 0x1000000,
		  .vaddr = 0xffffffff81000000ULL,
		  .filesz = 0x800,
		  .memsz = 0x3000,
		  .fill = 0x10 },
		{ .paddr = 0x1004000,
		  .vaddr = 0xffffffff81004000ULL,
		  .filesz = 0x100,
		  .fill = 0x20 },
	};

	/* Like Linux's: e_entry is the physical startup_64. */
	img_elf(im, 64, EM_X86_64, ET_EXEC, 0x1000000, s, 2);
}

Test(linux_vmlinux, loads_with_zero_page)
{
	uint64_t zp;

	vmlinux_image();
	cfg.boot.cmdline = "console=ttyS0";
	add_initrd(3000);
	cr_assert_eq(boot(), 0, "%s", b.err);
	cr_assert_eq(entry.mode, CPU_MODE_LONG);
	cr_assert_eq(entry.abi, X86_ABI_LINUX);
	cr_assert_eq(entry.rip, 0x1000000);
	zp = entry.rsi;
	cr_assert_eq(zp % 4096, 0);
	cr_assert_eq(gmem8(&mem, 0x1000000 + 3), 0x13);
	cr_assert_eq(gmem8(&mem, 0x1002fff), 0);
	cr_assert_eq(gmem8(&mem, 0x1004000), 0x20);

	cr_assert_eq(gmem16(&mem, zp + TBZ_BOOT_FLAG), 0xaa55);
	cr_assert_eq(memcmp(mem_ptr(&mem, zp + TBZ_HEADER, 4), "HdrS", 4), 0);
	cr_assert_eq(gmem16(&mem, zp + TBZ_VERSION), 0x020f);
	cr_assert_eq(gmem8(&mem, zp + TBZ_TYPE_OF_LOADER), 0xff);
	cr_assert_eq(gmem8(&mem, zp + TBZ_LOADFLAGS), 0x81);
	cr_assert_eq(gmem32(&mem, zp + TBZ_KERNEL_ALIGNMENT), 0x200000);
	cr_assert_eq(gmem32(&mem, zp + TBZ_CMDLINE_SIZE), 2047);
	cr_assert_eq(gmem32(&mem, zp + TBZ_INITRD_ADDR_MAX), 0x7fffffff);
	cr_assert_eq(gmem32(&mem, zp + TBZ_CODE32_START), 0x1000000);
	cr_assert_str_eq(gmem_str(&mem, gmem32(&mem, zp + TBZ_CMD_LINE_PTR)),
			 "console=ttyS0");
	cr_assert_eq(gmem64(&mem, zp + TZP_ACPI_RSDP), 0xf0000);
	check_e820_64m(zp);
	check_initrd(zp, 3000, 64 * MiB_);
}

Test(linux_vmlinux, elf32_refused)
{
	struct tseg s[] = { { .paddr = 0x100000, .filesz = 0x100 } };

	img_elf(im, 32, EM_386, ET_EXEC, 0x100000, s, 1);
	assert_err(boot(), -ENOEXEC, "an ELF32 file is not an x86-64 vmlinux");
}

Test(linux_vmlinux, wrong_machine)
{
	struct tseg s[] = { { .paddr = 0x100000, .filesz = 0x100 } };

	img_elf(im, 64, EM_AARCH64, ET_EXEC, 0x100000, s, 1);
	assert_err(boot(), -ENOEXEC, "accepted: EM_X86_64 (62)");
}

Test(linux_vmlinux, cmdline_limit)
{
	static char cl[2100];

	vmlinux_image();
	memset(cl, 'a', 2048);
	cl[2048] = '\0';
	cfg.boot.cmdline = cl;
	assert_err(boot(), -E2BIG,
		   "cmdline is 2048 bytes, more than the kernel's "
		   "cmdline_size 2047");
}

Test(linux_vmlinux, neither_bzimage_nor_elf)
{
	memset(im->data, 0x90, 4096);
	im->size = 4096;
	assert_err(boot(), -ENOEXEC, "not a Linux kernel: neither a bzImage");
}

/* ---- Debian's kernel (downloaded by tools/nest into a build tree) ---- */

/* First match of the candidate patterns, or NULL. */
static const char *find_kernel(const char *env, const char *const *pats,
			       char *buf, size_t len)
{
	const char *e = getenv(env);

	if (e && *e && !access(e, R_OK))
		return e;
	for (unsigned i = 0; pats[i]; i++) {
		glob_t g;

		if (glob(pats[i], 0, NULL, &g) == 0 && g.gl_pathc) {
			snprintf(buf, len, "%s", g.gl_pathv[0]);
			globfree(&g);
			return buf;
		}
		globfree(&g);
	}
	return NULL;
}

static const char *const vmlinuz_pats[] = {
	TEST_BUILD_DIR "/nest-cache/x86_64/vmlinuz",
	TEST_BUILD_DIR "/../build*/nest-cache/x86_64/vmlinuz",
	TEST_BUILD_DIR "/../build*/nest-cache/vmlinuz-*",
	NULL,
};
static const char *const vmlinux_pats[] = {
	TEST_BUILD_DIR "/nest-cache/x86_64/vmlinux",
	TEST_BUILD_DIR "/../build*/nest-cache/x86_64/vmlinux",
	NULL,
};
static const char *const initrd_pats[] = {
	TEST_BUILD_DIR "/nest-cache/x86_64/initrd.cpio",
	TEST_BUILD_DIR "/../build*/nest-cache/x86_64/initrd.cpio",
	NULL,
};

TestSuite(linux_real, .init = setup, .fini = teardown, .timeout = 60);

Test(linux_real, debian_bzimage)
{
	static char kbuf[512], ibuf[512];
	const char *k = find_kernel("VMM_TEST_VMLINUZ", vmlinuz_pats, kbuf,
				    sizeof(kbuf));
	const char *ird =
		find_kernel("VMM_TEST_INITRD", initrd_pats, ibuf, sizeof(ibuf));
	struct linux_setup_hdr h;
	uint8_t *data;
	size_t size;
	uint64_t zp, load;
	unsigned hdr_end;

	if (!k)
		cr_skip_test("no Debian vmlinuz: run tools/nest once (it "
			     "downloads linux-image-amd64 into "
			     "<build>/nest-cache) or set VMM_TEST_VMLINUZ");
	setup_ram(512 * MiB_);
	cfg.boot.image = (char *)k;
	cfg.boot.format = BOOT_FORMAT_AUTO;
	cfg.boot.cmdline = "console=ttyS0 panic=-1";
	cfg.boot.initrd = (char *)ird;
	cr_assert_eq(boot_read_file(&b, k, 512 * MiB_, &data, &size), 0, "%s",
		     b.err);
	cr_assert(linux_bzimage_probe(data, size), "%s", k);
	cr_assert_eq(linux_parse_bzimage(&b, k, data, size, &h), 0, "%s",
		     b.err);
	cr_assert_geq(h.version, 0x020c, "%s: version %#x", k, h.version);
	cr_assert(h.xloadflags & 1);
	cr_assert(h.relocatable);
	cr_log_info("%s: protocol %u.%02u, init_size %#x, pref %#llx, "
		    "initrd %s",
		    k, h.version >> 8, h.version & 0xff, h.init_size,
		    (unsigned long long)h.pref_address, ird ? ird : "none");

	cr_assert_eq(x86_boot_load_opts(&b, &cfg, &opts, &entry), 0, "%s",
		     b.err);
	cr_assert_eq(entry.mode, CPU_MODE_LONG);
	cr_assert_eq(entry.abi, X86_ABI_LINUX);
	load = h.pref_address;
	cr_assert_eq(entry.rip, load + 0x200);
	cr_assert_eq(
		memcmp(mem_ptr(&mem, load, 4096), data + h.kernel_off, 4096),
		0);
	zp = entry.rsi;
	/* The header is the file's, except the fields a loader writes. */
	hdr_end = 0x202 + data[0x201];
	for (unsigned off = 0x1f1; off < hdr_end; off++) {
		bool loader =
			(off >= TBZ_TYPE_OF_LOADER &&
			 off < TBZ_TYPE_OF_LOADER + 2) ||
			(off >= TBZ_CODE32_START &&
			 off < TBZ_RAMDISK_SIZE + 4) ||
			(off >= TBZ_HEAP_END_PTR && off < TBZ_CMD_LINE_PTR + 4);

		if (!loader)
			cr_assert_eq(gmem8(&mem, zp + off), data[off],
				     "header byte %#x", off);
	}
	cr_assert_eq(gmem8(&mem, zp + TBZ_TYPE_OF_LOADER), 0xff);
	cr_assert_str_eq(gmem_str(&mem, gmem32(&mem, zp + TBZ_CMD_LINE_PTR)),
			 "console=ttyS0 panic=-1");
	cr_assert_eq(gmem8(&mem, zp + TZP_E820_ENTRIES), 3);
	cr_assert_eq(gmem64(&mem, zp + TZP_E820_TABLE + 2 * 20 + 8),
		     511 * MiB_);
	if (ird) {
		uint64_t img = gmem32(&mem, zp + TBZ_RAMDISK_IMAGE);
		uint32_t sz = gmem32(&mem, zp + TBZ_RAMDISK_SIZE);

		cr_assert_gt(sz, 0);
		cr_assert_eq(img + ((sz + 4095ULL) & ~4095ULL), 512 * MiB_);
		/* newc cpio magic */
		cr_assert_eq(memcmp(mem_ptr(&mem, img, 6), "070701", 6), 0);
	}
	free(data);
}

Test(linux_real, debian_vmlinux_elf)
{
	static char kbuf[512];
	const char *k = find_kernel("VMM_TEST_VMLINUX", vmlinux_pats, kbuf,
				    sizeof(kbuf));
	uint8_t *data;
	size_t size;
	uint64_t zp;

	if (!k)
		cr_skip_test("no uncompressed Debian vmlinux (tools/nest "
			     "extracts one into <build>/nest-cache/x86_64) "
			     "or set VMM_TEST_VMLINUX");
	setup_ram(512 * MiB_);
	cfg.boot.image = (char *)k;
	cfg.boot.cmdline = "console=ttyS0";
	cr_assert_eq(boot_read_file(&b, k, 512 * MiB_, &data, &size), 0, "%s",
		     b.err);
	cr_assert_eq(x86_boot_linux(&b, &cfg, data, size, &opts, &entry), 0,
		     "%s", b.err);
	cr_assert_eq(entry.mode, CPU_MODE_LONG);
	/* Linux links phys_startup_64 as e_entry: 16 MiB. */
	cr_assert_eq(entry.rip, 0x1000000);
	zp = entry.rsi;
	cr_assert_eq(gmem16(&mem, zp + TBZ_VERSION), 0x020f);
	cr_assert_eq(gmem8(&mem, zp + TZP_E820_ENTRIES), 3);
	free(data);
}
