/* SPDX-License-Identifier: MIT */
/* x86 boot: format detection, plain ELF, raw, memory map, real images. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/x86/boot.h"
#include "imgbuild.h"

#define MiB_ (1024ULL * 1024)
#define GiB_ (1024 * MiB_)

static struct guest_mem mem;
static struct boot_ctx b;
static struct vm_config cfg;
static struct x86_entry entry;
static struct img *im;
static char path[256];

static void setup(void)
{
	memset(&mem, 0, sizeof(mem));
	cr_assert_eq(mem_add_region(&mem, "ram", 0, 64 * MiB_, NULL, false), 0);
	boot_ctx_init(&b, &mem);
	memset(&cfg, 0, sizeof(cfg));
	cfg.boot.cmdline = "";
	memset(&entry, 0xee, sizeof(entry));
	im = img_new();
	path[0] = '\0';
}

static void teardown(void)
{
	if (path[0])
		unlink(path);
	mem_free(&mem);
	free(im);
}

/* Write the image to a file and point cfg at it. */
static void use_image(void)
{
	if (path[0])
		unlink(path);
	cr_assert_eq(tmp_write(path, sizeof(path), "img", im->data, im->size),
		     0);
	cfg.boot.image = path;
}

static int boot(void)
{
	use_image();
	return x86_boot_load(&b, &cfg, &entry);
}

#define assert_err(ret, code, text)                                           \
	do {                                                                  \
		cr_assert_eq((ret), (code), "ret %d, err: %s", (ret), b.err); \
		cr_assert(strstr(b.err, cfg.boot.image) == b.err, "%s",       \
			  b.err);                                             \
		cr_assert(strstr(b.err, (text)), "expected '%s' in: %s",      \
			  (text), b.err);                                     \
	} while (0)

TestSuite(x86_boot, .init = setup, .fini = teardown);

Test(x86_boot, elf32_protected_mode)
{
	struct tseg s[] = { { .paddr = 0x100000, .filesz = 0x40, .fill = 9 } };

	img_elf(im, 32, EM_386, ET_EXEC, 0x100008, s, 1);
	cr_assert_eq(boot(), 0, "%s", b.err);
	cr_assert_eq(entry.mode, CPU_MODE_PROTECTED);
	cr_assert_eq(entry.rip, 0x100008);
	cr_assert_eq(entry.rax, 0);
	cr_assert_eq(entry.rbx, 0);
	cr_assert_eq(entry.rsp, 0);
	cr_assert_eq(*(uint8_t *)mem_ptr(&mem, 0x100000, 1), 9);
}

Test(x86_boot, elf64_long_mode)
{
	struct tseg s[] = { { .paddr = 0x200000, .filesz = 0x40 } };

	img_elf(im, 64, EM_X86_64, ET_EXEC, 0x200000, s, 1);
	cfg.boot.format = BOOT_FORMAT_ELF;
	cr_assert_eq(boot(), 0, "%s", b.err);
	cr_assert_eq(entry.mode, CPU_MODE_LONG);
	cr_assert_eq(entry.rip, 0x200000);
}

Test(x86_boot, elf_wrong_machine)
{
	struct tseg s[] = { { .paddr = 0x200000, .filesz = 0x40 } };

	img_elf(im, 64, EM_AARCH64, ET_EXEC, 0x200000, s, 1);
	assert_err(boot(), -ENOEXEC,
		   "ELF machine is EM_AARCH64 (183); accepted: EM_386 (3), "
		   "EM_X86_64 (62)");
}

Test(x86_boot, elf_segment_outside_ram)
{
	struct tseg s[] = { { .paddr = 0x8000000, .filesz = 0x40 } };

	img_elf(im, 64, EM_X86_64, ET_EXEC, 0x8000000, s, 1);
	assert_err(boot(), -ERANGE,
		   "segment 0 [0x8000000-0x8000040) is outside guest RAM "
		   "(RAM: [0-0x4000000) ram)");
}

Test(x86_boot, unknown_format)
{
	memcpy(im->data, "MZ this is not a kernel", 24);
	im->size = 24;
	assert_err(boot(), -ENOEXEC,
		   ": unknown image format (no Multiboot header, not ELF); set "
		   "[boot] format = raw with load-address, entry and mode");
}

Test(x86_boot, missing_image)
{
	cfg.boot.image = "/nonexistent/k.elf";
	cr_assert_eq(x86_boot_load(&b, &cfg, &entry), -ENOENT);
	cr_assert(strstr(b.err, "/nonexistent/k.elf: cannot open"), "%s",
		  b.err);
}

Test(x86_boot, image_larger_than_ram)
{
	struct guest_mem small = { 0 };
	struct stat st;

	cr_assert_eq(mem_add_region(&small, "ram", 0, 4096, NULL, false), 0);
	b.mem = &small;
	memset(im->data, 0x90, 8192);
	im->size = 8192;
	cfg.boot.format = BOOT_FORMAT_RAW;
	cfg.boot.has_load_address = true;
	cfg.boot.mode = CPU_MODE_REAL;
	assert_err(boot(), -EFBIG,
		   "file is 8192 bytes, more than the limit "
		   "of 4 KiB");
	cr_assert_eq(stat(path, &st), 0);
	mem_free(&small);
}

Test(x86_boot, mode_only_for_raw)
{
	struct tseg s[] = { { .paddr = 0x200000, .filesz = 0x40 } };

	img_elf(im, 64, EM_X86_64, ET_EXEC, 0x200000, s, 1);
	cfg.boot.mode = CPU_MODE_REAL;
	assert_err(boot(), -EINVAL,
		   "[boot] mode = real applies only to "
		   "format = raw");
}

/* Raw */

static void raw_cfg(uint64_t load, bool has_entry, uint64_t rip,
		    enum cpu_mode mode)
{
	cfg.boot.format = BOOT_FORMAT_RAW;
	cfg.boot.has_load_address = true;
	cfg.boot.load_address = load;
	cfg.boot.has_entry = has_entry;
	cfg.boot.entry = rip;
	cfg.boot.mode = mode;
	for (int i = 0; i < 512; i++)
		im->data[i] = (uint8_t)i;
	im->size = 512;
}

Test(x86_boot, raw_real_mode)
{
	raw_cfg(0x7c00, false, 0, CPU_MODE_REAL);
	cr_assert_eq(boot(), 0, "%s", b.err);
	cr_assert_eq(entry.mode, CPU_MODE_REAL);
	cr_assert_eq(entry.rip, 0x7c00);
	cr_assert_eq(memcmp(mem_ptr(&mem, 0x7c00, 512), im->data, 512), 0);
}

Test(x86_boot, raw_real_mode_entry_below_1mib)
{
	raw_cfg(0xf0000, true, 0xffff0, CPU_MODE_REAL);
	cr_assert_eq(boot(), 0, "%s", b.err);
	cr_assert_eq(entry.rip, 0xffff0);
	raw_cfg(0x100000, false, 0, CPU_MODE_REAL);
	assert_err(boot(), -EINVAL,
		   "entry 0x100000 is not below 1 MiB, which real mode needs");
}

Test(x86_boot, raw_protected_and_long)
{
	raw_cfg(0x100000, true, 0x100100, CPU_MODE_PROTECTED);
	cr_assert_eq(boot(), 0, "%s", b.err);
	cr_assert_eq(entry.mode, CPU_MODE_PROTECTED);
	cr_assert_eq(entry.rip, 0x100100);

	boot_ctx_init(&b, &mem);
	raw_cfg(0x100000, true, 0x100000000ULL, CPU_MODE_PROTECTED);
	assert_err(boot(), -EINVAL, "entry 0x100000000 is not below 4 GiB");

	boot_ctx_init(&b, &mem);
	raw_cfg(0x200000, false, 0, CPU_MODE_LONG);
	cr_assert_eq(boot(), 0, "%s", b.err);
	cr_assert_eq(entry.mode, CPU_MODE_LONG);
	cr_assert_eq(entry.rip, 0x200000);
}

Test(x86_boot, raw_past_end_of_ram)
{
	raw_cfg(64 * MiB_ - 256, false, 0, CPU_MODE_LONG);
	assert_err(boot(), -ERANGE,
		   "image [0x3ffff00-0x4000100) (512 bytes at load-address "
		   "0x3ffff00) is outside guest RAM (RAM: [0-0x4000000) ram)");
}

Test(x86_boot, raw_entry_outside_memory)
{
	raw_cfg(0x100000, true, 0x9000000, CPU_MODE_LONG);
	assert_err(boot(), -ERANGE, "entry 0x9000000 is not in guest memory");
}

Test(x86_boot, raw_needs_address_and_mode)
{
	raw_cfg(0x100000, false, 0, CPU_MODE_DEFAULT);
	assert_err(boot(), -EINVAL, "format = raw needs [boot] mode");
	cfg.boot.mode = CPU_MODE_LONG;
	cfg.boot.has_load_address = false;
	assert_err(boot(), -EINVAL, "format = raw needs [boot] load-address");
}

/* Memory map */

TestSuite(x86_memmap, .init = setup, .fini = teardown);

Test(x86_memmap, single_region_with_hole)
{
	struct x86_mmap_entry e[X86_MMAP_MAX];
	unsigned n = x86_memmap(&mem, e, X86_MMAP_MAX);
	uint32_t lo, hi;

	cr_assert_eq(n, 3);
	cr_assert_eq(e[0].addr, 0);
	cr_assert_eq(e[0].len, 0x9fc00);
	cr_assert_eq(e[0].type, X86_MMAP_RAM);
	cr_assert_eq(e[1].addr, 0x9fc00);
	cr_assert_eq(e[1].len, 0x100000 - 0x9fc00);
	cr_assert_eq(e[1].type, X86_MMAP_RESERVED);
	cr_assert_eq(e[2].addr, 0x100000);
	cr_assert_eq(e[2].len, 63 * MiB_);
	cr_assert_eq(e[2].type, X86_MMAP_RAM);
	x86_mb_meminfo(&mem, &lo, &hi);
	cr_assert_eq(lo, 639);
	cr_assert_eq(hi, 63 * 1024);
}

Test(x86_memmap, regions_sorted_merged_readonly_reserved)
{
	struct guest_mem m = { 0 };
	struct x86_mmap_entry e[X86_MMAP_MAX];
	char rom[256];
	unsigned n;
	uint32_t lo, hi;
	int fd;

	/* Added out of order; [1M,2M) and [2M,3M) are adjacent RAM. */
	cr_assert_eq(mem_add_region(&m, "b", 2 * MiB_, MiB_, NULL, false), 0);
	cr_assert_eq(mem_add_region(&m, "a", MiB_, MiB_, NULL, false), 0);
	cr_assert_eq(mem_add_region(&m, "hi", 4 * GiB_, MiB_, NULL, false), 0);
	cr_assert_eq(tmp_write(rom, sizeof(rom), "rom", NULL, 0), 0);
	fd = open(rom, O_RDWR);
	cr_assert_eq(ftruncate(fd, 0x10000), 0);
	close(fd);
	cr_assert_eq(mem_add_region(&m, "rom", 0xffff0000, 0x10000, rom, true),
		     0);
	unlink(rom);
	n = x86_memmap(&m, e, X86_MMAP_MAX);
	cr_assert_eq(n, 3);
	cr_assert_eq(e[0].addr, MiB_);
	cr_assert_eq(e[0].len, 2 * MiB_);
	cr_assert_eq(e[0].type, X86_MMAP_RAM);
	cr_assert_eq(e[1].addr, 0xffff0000);
	cr_assert_eq(e[1].type, X86_MMAP_RESERVED);
	cr_assert_eq(e[2].addr, 4 * GiB_);
	cr_assert_eq(e[2].type, X86_MMAP_RAM);
	x86_mb_meminfo(&m, &lo, &hi);
	cr_assert_eq(lo, 0);
	cr_assert_eq(hi, 2 * 1024);
	/* A short output array gets the lowest entries. */
	cr_assert_eq(x86_memmap(&m, e, 1), 1);
	cr_assert_eq(e[0].addr, MiB_);
	cr_assert_eq(x86_ram_size(&m), 3 * MiB_);
	mem_free(&m);
}

Test(x86_memmap, region_inside_hole)
{
	struct guest_mem m = { 0 };
	struct x86_mmap_entry e[X86_MMAP_MAX];

	cr_assert_eq(mem_add_region(&m, "vga", 0xa0000, 0x20000, NULL, false),
		     0);
	cr_assert_eq(x86_memmap(&m, e, X86_MMAP_MAX), 1);
	cr_assert_eq(e[0].addr, 0xa0000);
	cr_assert_eq(e[0].len, 0x20000);
	cr_assert_eq(e[0].type, X86_MMAP_RESERVED);
	mem_free(&m);
}

/* Real images from guest/, when they are built. */

static void real_image(const char *name, enum cpu_mode mode, uint64_t rax)
{
	char img[512];

	snprintf(img, sizeof(img), "%s/guest/x86/%s", TEST_BUILD_DIR, name);
	if (access(img, R_OK)) {
		cr_skip("%s is not built (build the guests first)", img);
		return;
	}
	cfg.boot.image = img;
	cfg.boot.cmdline = "test args";
	cr_assert_eq(x86_boot_load(&b, &cfg, &entry), 0, "%s", b.err);
	cr_assert_eq(entry.mode, mode, "%s: mode %d", name, entry.mode);
	cr_assert_eq(entry.rax, rax, "%s: rax %#llx", name,
		     (unsigned long long)entry.rax);
	cr_assert_not_null(mem_find(&mem, entry.rip), "%s: rip %#llx", name,
			   (unsigned long long)entry.rip);
	if (rax) {
		char want[256];
		uint64_t str = 0;

		cr_assert_neq(entry.rbx, 0);
		cr_assert_lt(entry.rbx, 0x100000000ULL);
		snprintf(want, sizeof(want), "%s test args", name);
		if (rax == 0x2BADB002) {
			str = gmem32(&mem, entry.rbx + 16);
		} else {
			/* First Multiboot 2 info tag is the command line. */
			cr_assert_eq(gmem32(&mem, entry.rbx + 8), 1);
			str = entry.rbx + 16;
		}
		cr_assert_str_eq(gmem_str(&mem, str), want);
	}
}

Test(x86_boot, real_hello_mb_elf)
{
	real_image("hello-mb.elf", CPU_MODE_PROTECTED, 0x2BADB002);
}

Test(x86_boot, real_hello_mb32_elf)
{
	real_image("hello-mb32.elf", CPU_MODE_PROTECTED, 0x2BADB002);
}

Test(x86_boot, real_hello_mb2_elf)
{
	real_image("hello-mb2.elf", CPU_MODE_PROTECTED, 0x36d76289);
}

Test(x86_boot, real_hello64_elf)
{
	real_image("hello64.elf", CPU_MODE_LONG, 0);
}

Test(x86_boot, real_hello32_elf)
{
	real_image("hello32.elf", CPU_MODE_PROTECTED, 0);
}

Test(x86_boot, real_hello_mb_bin)
{
	/* A flat binary with a Multiboot a.out-kludge header. */
	real_image("hello-mb.bin", CPU_MODE_PROTECTED, 0x2BADB002);
}

/* Raw images: no header, so auto-detection must refuse them. */
static bool raw_real_image(const char *name, uint64_t load, uint64_t rip,
			   enum cpu_mode mode)
{
	static char img[512];

	snprintf(img, sizeof(img), "%s/guest/x86/%s", TEST_BUILD_DIR, name);
	if (access(img, R_OK))
		return false;
	cfg.boot.image = img;
	cr_assert_eq(x86_boot_load(&b, &cfg, &entry), -ENOEXEC);
	cr_assert(strstr(b.err, "unknown image format"), "%s", b.err);
	boot_ctx_init(&b, &mem);
	cfg.boot.format = BOOT_FORMAT_RAW;
	cfg.boot.has_load_address = true;
	cfg.boot.load_address = load;
	cfg.boot.has_entry = true;
	cfg.boot.entry = rip;
	cfg.boot.mode = mode;
	cr_assert_eq(x86_boot_load(&b, &cfg, &entry), 0, "%s", b.err);
	cr_assert_eq(entry.mode, mode);
	cr_assert_eq(entry.rip, rip);
	return true;
}

Test(x86_boot, real_hello_bin)
{
	/* guest/x86/rt/start.S: entry table at 1 MiB, slot 1 (+8) is the
	 * 64-bit entry. */
	if (!raw_real_image("hello.bin", 0x100000, 0x100008, CPU_MODE_LONG))
		cr_skip("%s/guest/x86/hello.bin is not built", TEST_BUILD_DIR);
}

Test(x86_boot, real_real16_bin)
{
	/* guest/x86/real16/real16.ld: linked at 0x8000. */
	if (!raw_real_image("real16.bin", 0x8000, 0x8000, CPU_MODE_REAL))
		cr_skip("%s/guest/x86/real16.bin is not built", TEST_BUILD_DIR);
}
