/* SPDX-License-Identifier: MIT */
/*
 * Linux x86 boot protocol (Documentation/arch/x86/boot.rst, 64-bit boot
 * protocol; zero page layout from Documentation/arch/x86/zero-page.rst).
 *
 * Two kinds of image:
 *   bzImage  real-mode setup sectors + protected-mode kernel. The setup
 *            code never runs: the VMM plays the boot loader's part, copies
 *            the setup header into a zero page and enters the 64-bit entry
 *            point (load address + 0x200) in long mode. Needs protocol 2.12
 *            (XLF_KERNEL_64), so every field used below exists.
 *   vmlinux  the uncompressed ELF64 kernel, loaded by p_paddr and entered
 *            at its physical entry point with a zero page built from
 *            scratch.
 *
 * Fields are read and written at their documented byte offsets rather than
 * through a C struct: the offsets are the ABI, and the tests read the zero
 * page back the same way.
 *
 * Also here: the initrd loader and the free-range finder shared with pvh.c.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/x86/boot.h"
#include "vmm/log.h"
#include "vmm/util.h"

#define FOUR_GIB (4 * GiB)

/* Setup header: offsets in the bzImage file and in the zero page alike. */
#define HDR_START	     0x1f1
#define HDR_SETUP_SECTS	     0x1f1
#define HDR_SYSSIZE	     0x1f4
#define HDR_BOOT_FLAG	     0x1fe
#define HDR_JUMP	     0x200
#define HDR_HEADER	     0x202
#define HDR_VERSION	     0x206
#define HDR_TYPE_OF_LOADER   0x210
#define HDR_LOADFLAGS	     0x211
#define HDR_CODE32_START     0x214
#define HDR_RAMDISK_IMAGE    0x218
#define HDR_RAMDISK_SIZE     0x21c
#define HDR_HEAP_END_PTR     0x224
#define HDR_CMD_LINE_PTR     0x228
#define HDR_INITRD_ADDR_MAX  0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE	     0x234
#define HDR_XLOADFLAGS	     0x236
#define HDR_CMDLINE_SIZE     0x238
#define HDR_SETUP_DATA	     0x250
#define HDR_PREF_ADDRESS     0x258
#define HDR_INIT_SIZE	     0x260
#define HDR_END_2_12	     0x268 /* end of the last field protocol 2.12 has */

#define BOOT_FLAG	0xaa55
#define HDR_MAGIC	"HdrS"
#define MIN_VERSION	0x020c /* 2.12: xloadflags, XLF_KERNEL_64 */
#define VMLINUX_VERSION 0x020f /* what the vmlinux zero page claims */

#define LOADFLAG_LOADED_HIGH	   0x01
#define LOADFLAG_CAN_USE_HEAP	   0x80
#define XLF_KERNEL_64		   0x01
#define XLF_CAN_BE_LOADED_ABOVE_4G 0x02
#define TYPE_OF_LOADER_UNDEF	   0xff
/* End of the setup heap, relative to the real-mode code, minus 0x200
 * (boot.rst's example for a protocol >= 2.02 loader). Nothing runs the
 * real-mode code, so this is only for kernels that look at it. */
#define HEAP_END_PTR 0xde00

/* Zero page (struct boot_params) fields outside the setup header. */
#define ZP_SIZE		     4096
#define ZP_ACPI_RSDP_ADDR    0x070
#define ZP_EXT_RAMDISK_IMAGE 0x0c0
#define ZP_EXT_RAMDISK_SIZE  0x0c4
#define ZP_EXT_CMD_LINE_PTR  0x0c8
#define ZP_E820_ENTRIES	     0x1e8
#define ZP_HDR_MAX_END	     0x290 /* edd_mbr_sig_buffer follows the header */
#define ZP_E820_TABLE	     0x2d0
#define ZP_E820_MAX	     128
#define ZP_E820_ENTRY_SIZE   20

/* A kernel cannot run below its LOAD_PHYSICAL_ADDR (pref_address): the
 * 64-bit entry decompresses there when loaded lower. The x86-64 default. */
#define DEFAULT_PREF_ADDRESS 0x1000000ULL
/* COMMAND_LINE_SIZE on x86 is 2048 with the NUL: the vmlinux limit. */
#define VMLINUX_CMDLINE_SIZE 2047
/* initrd_addr_max of every protocol >= 2.03 kernel unless it says more. */
#define VMLINUX_INITRD_MAX 0x7fffffffU
#define VMLINUX_ALIGNMENT  0x200000U

static uint16_t get16(const uint8_t *p, size_t off)
{
	uint16_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

static uint32_t get32(const uint8_t *p, size_t off)
{
	uint32_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

static uint64_t get64(const uint8_t *p, size_t off)
{
	uint64_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

static void put8(uint8_t *p, size_t off, uint8_t v)
{
	p[off] = v;
}

static void put16(uint8_t *p, size_t off, uint16_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

static void put32(uint8_t *p, size_t off, uint32_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

static void put64(uint8_t *p, size_t off, uint64_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

/* ---- free ranges and the initrd (shared with pvh.c) ---- */

static const struct boot_reservation *overlapping(const struct boot_ctx *b,
						  uint64_t addr, uint64_t size)
{
	for (unsigned i = 0; i < b->nr_res; i++)
		if (ranges_overlap(addr, size, b->res[i].gpa, b->res[i].size))
			return &b->res[i];
	return NULL;
}

/* Lowest fit in [lo, hi): each pass moves past one reservation for good,
 * so nr_res + 1 passes suffice. */
static bool fit_low(const struct boot_ctx *b, uint64_t lo, uint64_t hi,
		    uint64_t size, uint64_t align, uint64_t *out)
{
	uint64_t addr = lo;

	for (unsigned pass = 0; pass <= b->nr_res; pass++) {
		const struct boot_reservation *o;

		if (addr > ~0ULL - (align - 1))
			return false;
		addr = ALIGN_UP(addr, align);
		if (addr >= hi || size > hi - addr)
			return false;
		o = overlapping(b, addr, size);
		if (!o) {
			*out = addr;
			return true;
		}
		if (o->gpa + o->size < o->gpa)
			return false; /* ends at 2^64 */
		addr = o->gpa + o->size;
	}
	return false;
}

/* Highest fit in [lo, hi): the mirror image of fit_low(). */
static bool fit_high(const struct boot_ctx *b, uint64_t lo, uint64_t hi,
		     uint64_t size, uint64_t align, uint64_t *out)
{
	uint64_t top = hi;

	for (unsigned pass = 0; pass <= b->nr_res; pass++) {
		const struct boot_reservation *o;
		uint64_t addr;

		if (top < lo || top - lo < size)
			return false;
		addr = ALIGN_DOWN(top - size, align);
		if (addr < lo)
			return false;
		o = overlapping(b, addr, size);
		if (!o) {
			*out = addr;
			return true;
		}
		top = o->gpa;
	}
	return false;
}

bool x86_find_free(const struct boot_ctx *b, uint64_t size, uint64_t align,
		   uint64_t min, uint64_t max, bool high, uint64_t *gpa)
{
	const struct guest_mem *mem = b->mem;
	bool found = false;
	uint64_t best = 0;

	if (!size || !IS_POW2(align))
		return false;
	for (unsigned i = 0; i < mem->nr; i++) {
		const struct mem_region *r = &mem->regions[i];
		uint64_t lo = MAX(r->gpa, min), hi = r->gpa + (r->size - 1);
		uint64_t addr;
		bool ok;

		/* hi: the region's last byte, made exclusive unless that
		 * would wrap. */
		if (hi != ~0ULL)
			hi++;
		hi = MIN(hi, max);
		if (r->readonly || !r->size || lo >= hi)
			continue;
		ok = high ? fit_high(b, lo, hi, size, align, &addr)
			  : fit_low(b, lo, hi, size, align, &addr);
		if (ok && (!found || (high ? addr > best : addr < best))) {
			best = addr;
			found = true;
		}
	}
	if (found)
		*gpa = best;
	return found;
}

/* Read all of fd into guest memory at gpa (len bytes, already reserved). */
static int read_into(struct boot_ctx *b, const char *path, int fd, uint64_t gpa,
		     uint64_t len)
{
	uint8_t *p = mem_ptr(b->mem, gpa, len);
	uint64_t done = 0;

	while (done < len) {
		size_t chunk = (size_t)MIN(len - done, 1ULL << 30);
		ssize_t n = read(fd, p + done, chunk);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return boot_fail(b, -errno, "%s: read error: %s", path,
					 strerror(errno));
		if (n == 0)
			return boot_fail(b, -EIO,
					 "%s: file shrank while reading (%llu "
					 "of %llu bytes)",
					 path, (unsigned long long)done,
					 (unsigned long long)len);
		done += (uint64_t)n;
	}
	return 0;
}

int x86_load_initrd(struct boot_ctx *b, const struct vm_config *cfg,
		    uint64_t max, const char *limit_what, bool above_4g,
		    uint64_t *gpa, uint64_t *size)
{
	const char *path = cfg->boot.initrd;
	uint64_t len, span, addr;
	struct stat st;
	char ram[256];
	int fd, ret;

	*gpa = 0;
	*size = 0;
	if (!path)
		return 0;
	/* Read straight into guest memory: an initrd can be large, and a
	 * bounce buffer would double the host memory it costs. */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return boot_fail(b, -errno, "%s: cannot open: %s", path,
				 strerror(errno));
	if (fstat(fd, &st) < 0) {
		ret = boot_fail(b, -errno, "%s: cannot stat: %s", path,
				strerror(errno));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = boot_fail(b, -EINVAL, "%s: not a regular file", path);
		goto out_close;
	}
	len = (uint64_t)st.st_size;
	if (!len) {
		ret = boot_fail(b, -EINVAL,
				"%s: the initrd is empty (remove [boot] "
				"initrd to boot without one)",
				path);
		goto out_close;
	}
	if (len > x86_ram_size(b->mem) || len > ~0ULL - 4095) {
		ret = boot_fail(b, -EFBIG,
				"%s: initrd is %llu bytes, more than guest RAM "
				"(%llu bytes)",
				path, (unsigned long long)len,
				(unsigned long long)x86_ram_size(b->mem));
		goto out_close;
	}
	span = ALIGN_UP(len, 4096ULL);
	if (!x86_find_free(b, span, 4096, X86_HOLE_END, max, true, &addr) &&
	    (!above_4g ||
	     !x86_find_free(b, span, 4096, FOUR_GIB, ~0ULL, true, &addr))) {
		ret = boot_fail(b, -ENOMEM,
				"%s: no room for the initrd (%llu bytes, page "
				"aligned) in free guest RAM between 1 MiB and "
				"%#llx (%s)%s; RAM: %s",
				path, (unsigned long long)len,
				(unsigned long long)max, limit_what,
				above_4g ? " or above 4 GiB" : "",
				boot_fmt_ram(b->mem, ram, sizeof(ram)));
		goto out_close;
	}
	ret = boot_reserve(b, addr, span, "initrd");
	if (ret) {
		boot_fail_prefix(b, ret, "%s", path);
		goto out_close;
	}
	ret = read_into(b, path, fd, addr, len);
	if (ret)
		goto out_close;
	if (span > len) /* the rest of the last page */
		memset(mem_ptr(b->mem, addr + len, span - len), 0, span - len);
	*gpa = addr;
	*size = len;
	log_debug("%s: initrd at %#llx, %llu bytes", path,
		  (unsigned long long)addr, (unsigned long long)len);
out_close:
	close(fd);
	return ret;
}

/* ---- setup header ---- */

bool linux_bzimage_probe(const uint8_t *data, size_t size)
{
	return data && size >= HDR_HEADER + 4 &&
	       get16(data, HDR_BOOT_FLAG) == BOOT_FLAG &&
	       !memcmp(data + HDR_HEADER, HDR_MAGIC, 4);
}

int linux_parse_bzimage(struct boot_ctx *b, const char *path,
			const uint8_t *data, size_t size,
			struct linux_setup_hdr *h)
{
	uint64_t sys_bytes;
	unsigned sects;

	memset(h, 0, sizeof(*h));
	if (size < HDR_HEADER + 4)
		return boot_fail(b, -ENOEXEC,
				 "%s: truncated: %zu bytes is too short for a "
				 "bzImage (the setup header signature is at "
				 "0x202-0x205)",
				 path, size);
	if (get16(data, HDR_BOOT_FLAG) != BOOT_FLAG)
		return boot_fail(b, -ENOEXEC,
				 "%s: not a Linux bzImage: boot flag at 0x1fe "
				 "is %#x, expected 0xaa55",
				 path, get16(data, HDR_BOOT_FLAG));
	if (memcmp(data + HDR_HEADER, HDR_MAGIC, 4))
		return boot_fail(b, -ENOEXEC,
				 "%s: not a Linux bzImage: no \"HdrS\" "
				 "signature at 0x202 (a kernel older than boot "
				 "protocol 2.00?)",
				 path);
	if (size < HDR_VERSION + 2)
		return boot_fail(b, -ENOEXEC,
				 "%s: truncated setup header: file is %zu "
				 "bytes, the version field is at 0x206",
				 path, size);
	h->version = get16(data, HDR_VERSION);
	if (h->version < MIN_VERSION)
		return boot_fail(b, -ENOEXEC,
				 "%s: Linux boot protocol %u.%02u is too old: "
				 "the 64-bit entry point needs protocol 2.12 "
				 "or later (Linux 3.8+)",
				 path, h->version >> 8, h->version & 0xff);
	if (size < HDR_END_2_12)
		return boot_fail(b, -ENOEXEC,
				 "%s: truncated setup header: file is %zu "
				 "bytes, protocol %u.%02u's header ends at "
				 "%#x",
				 path, size, h->version >> 8, h->version & 0xff,
				 HDR_END_2_12);
	h->hdr_end = HDR_JUMP + 2 + data[HDR_JUMP + 1];
	if (h->hdr_end < HDR_END_2_12)
		return boot_fail(b, -ENOEXEC,
				 "%s: setup header ends at %#x (0x202 + byte "
				 "at 0x201), before the end of protocol "
				 "%u.%02u's fields at %#x",
				 path, h->hdr_end, h->version >> 8,
				 h->version & 0xff, HDR_END_2_12);
	h->hdr_end = MIN(h->hdr_end, ZP_HDR_MAX_END);

	h->xloadflags = get16(data, HDR_XLOADFLAGS);
	if (!(h->xloadflags & XLF_KERNEL_64))
		return boot_fail(b, -ENOEXEC,
				 "%s: kernel has no 64-bit entry point "
				 "(xloadflags %#x lacks XLF_KERNEL_64): a "
				 "32-bit kernel; only the 64-bit boot protocol "
				 "is supported",
				 path, h->xloadflags);

	sects = data[HDR_SETUP_SECTS];
	h->setup_sects = sects ? sects : 4;
	h->kernel_off = (h->setup_sects + 1) * 512ULL;
	if (h->kernel_off >= size)
		return boot_fail(b, -ENOEXEC,
				 "%s: truncated: setup_sects %u puts the "
				 "protected-mode kernel at offset %#llx, but "
				 "the file is %zu bytes",
				 path, h->setup_sects,
				 (unsigned long long)h->kernel_off, size);
	h->kernel_size = size - h->kernel_off;
	h->syssize = get32(data, HDR_SYSSIZE);
	sys_bytes = h->syssize * 16ULL;
	if (!h->syssize || sys_bytes > h->kernel_size)
		return boot_fail(b, -ENOEXEC,
				 "%s: truncated: syssize says the "
				 "protected-mode kernel is %llu bytes from "
				 "offset %#llx, the file has %llu",
				 path, (unsigned long long)sys_bytes,
				 (unsigned long long)h->kernel_off,
				 (unsigned long long)h->kernel_size);

	h->loadflags = data[HDR_LOADFLAGS];
	h->initrd_addr_max = get32(data, HDR_INITRD_ADDR_MAX);
	h->kernel_alignment = get32(data, HDR_KERNEL_ALIGNMENT);
	h->relocatable = data[HDR_RELOCATABLE] != 0;
	h->cmdline_size = get32(data, HDR_CMDLINE_SIZE);
	h->pref_address = get64(data, HDR_PREF_ADDRESS);
	h->init_size = get32(data, HDR_INIT_SIZE);
	if (!(h->loadflags & LOADFLAG_LOADED_HIGH))
		return boot_fail(b, -ENOEXEC,
				 "%s: a zImage (loadflags %#x without "
				 "LOADED_HIGH): only bzImages are supported",
				 path, h->loadflags);
	if (h->relocatable &&
	    (!IS_POW2(h->kernel_alignment) || h->kernel_alignment < 4096))
		return boot_fail(b, -ENOEXEC,
				 "%s: kernel_alignment %#x is not a power of "
				 "two of at least 4 KiB",
				 path, h->kernel_alignment);
	if (h->pref_address % 4096)
		return boot_fail(b, -ENOEXEC,
				 "%s: pref_address %#llx is not page aligned",
				 path, (unsigned long long)h->pref_address);
	return 0;
}

/* ---- zero page ---- */

struct zp_args {
	uint64_t cmdline;
	uint64_t initrd, initrd_size;
	uint64_t rsdp;
};

/* Fill the loader-owned fields of a zero page whose setup header is
 * already in place. */
static void zp_fill(struct boot_ctx *b, uint8_t *zp, const struct zp_args *a)
{
	struct x86_mmap_entry e[X86_MMAP_MAX];
	unsigned n = x86_memmap(b->mem, e, X86_MMAP_MAX);

	put8(zp, HDR_TYPE_OF_LOADER, TYPE_OF_LOADER_UNDEF);
	put8(zp, HDR_LOADFLAGS, zp[HDR_LOADFLAGS] | LOADFLAG_CAN_USE_HEAP);
	put16(zp, HDR_HEAP_END_PTR, HEAP_END_PTR);
	put32(zp, HDR_CMD_LINE_PTR, (uint32_t)a->cmdline);
	put32(zp, ZP_EXT_CMD_LINE_PTR, (uint32_t)(a->cmdline >> 32));
	put32(zp, HDR_RAMDISK_IMAGE, (uint32_t)a->initrd);
	put32(zp, ZP_EXT_RAMDISK_IMAGE, (uint32_t)(a->initrd >> 32));
	put32(zp, HDR_RAMDISK_SIZE, (uint32_t)a->initrd_size);
	put32(zp, ZP_EXT_RAMDISK_SIZE, (uint32_t)(a->initrd_size >> 32));
	put64(zp, HDR_SETUP_DATA, 0);
	put64(zp, ZP_ACPI_RSDP_ADDR, a->rsdp);
	/* The map covers the legacy hole 0x9fc00-0x100000 (so also the ACPI
	 * table area 0xe0000-0xfffff) as reserved wherever RAM is there. */
	n = MIN(n, (unsigned)ZP_E820_MAX);
	put8(zp, ZP_E820_ENTRIES, (uint8_t)n);
	for (unsigned i = 0; i < n; i++) {
		size_t off = ZP_E820_TABLE + i * ZP_E820_ENTRY_SIZE;

		put64(zp, off, e[i].addr);
		put64(zp, off + 8, e[i].len);
		put32(zp, off + 16, e[i].type);
	}
}

/* Zero page and command line in low RAM (else below 4 GiB); the initrd
 * high. Fills the loader fields and writes the page; *zp_gpa set. */
static int zp_build(struct boot_ctx *b, const struct vm_config *cfg,
		    uint8_t *zp, uint32_t cmdline_size, uint64_t initrd_max,
		    const char *initrd_limit, bool initrd_above_4g,
		    const struct x86_boot_opts *opts, uint64_t *zp_gpa)
{
	const char *path = cfg->boot.image;
	const char *cmdline = cfg->boot.cmdline ? cfg->boot.cmdline : "";
	size_t len = strlen(cmdline);
	struct zp_args a = { .rsdp = opts ? opts->rsdp : 0 };
	int ret;

	if (len > cmdline_size)
		return boot_fail(b, -E2BIG,
				 "%s: [boot] cmdline is %zu bytes, more than "
				 "the kernel's cmdline_size %u",
				 path, len, cmdline_size);
	ret = x86_boot_alloc_info(b, ZP_SIZE, 4096, "zero page", zp_gpa);
	if (ret)
		return ret;
	ret = x86_boot_alloc_info(b, len + 1, 16, "kernel command line",
				  &a.cmdline);
	if (ret)
		return ret;
	mem_write(b->mem, a.cmdline, cmdline, len + 1);
	ret = x86_load_initrd(b, cfg, initrd_max, initrd_limit, initrd_above_4g,
			      &a.initrd, &a.initrd_size);
	if (ret)
		return ret;
	zp_fill(b, zp, &a);
	mem_write(b->mem, *zp_gpa, zp, ZP_SIZE);
	return 0;
}

static void set_entry(struct x86_entry *entry, uint64_t rip, uint64_t zp)
{
	memset(entry, 0, sizeof(*entry));
	entry->mode = CPU_MODE_LONG;
	entry->abi = X86_ABI_LINUX;
	entry->rip = rip;
	entry->rsi = zp;
}

/* ---- bzImage ---- */

/*
 * Where the kernel goes. The 64-bit entry code decompresses the kernel at
 * max(load address aligned up to kernel_alignment, LOAD_PHYSICAL_ADDR) and
 * uses init_size bytes from there; LOAD_PHYSICAL_ADDR is pref_address. So
 * loading at pref_address makes the load address and the run address
 * agree, and nothing can be placed where the kernel will unpack. A
 * relocatable kernel that does not fit there moves up (aligned); a
 * non-relocatable one must have it.
 */
static int bz_place(struct boot_ctx *b, const char *path,
		    const struct linux_setup_hdr *h, uint64_t span,
		    uint64_t *load)
{
	uint64_t pref =
		h->pref_address ? h->pref_address : DEFAULT_PREF_ADDRESS;
	uint64_t align = h->relocatable ? h->kernel_alignment : 4096;
	char ram[256];

	if (span > x86_ram_size(b->mem))
		return boot_fail(
			b, -ENOMEM,
			"%s: the kernel needs %llu MiB (init_size "
			"%#x), more than guest RAM (%llu MiB)",
			path, (unsigned long long)(span >> 20), h->init_size,
			(unsigned long long)(x86_ram_size(b->mem) >> 20));
	/* An unaligned pref_address would make the kernel run above the
	 * reserved range: only use it as is when aligned. */
	if (pref < FOUR_GIB && span <= FOUR_GIB - pref && pref % align == 0 &&
	    x86_find_free(b, span, 4096, pref, pref + span, false, load))
		return 0;
	if (h->relocatable && pref < FOUR_GIB &&
	    x86_find_free(b, span, align, ALIGN_UP(pref, align), FOUR_GIB,
			  false, load))
		return 0;
	return boot_fail(b, -ENOMEM,
			 "%s: no room for the kernel: it runs at %s%#llx "
			 "and needs init_size %#x bytes there, in free guest "
			 "RAM below 4 GiB (RAM: %s)",
			 path, h->relocatable ? "or above " : "",
			 (unsigned long long)pref, h->init_size,
			 boot_fmt_ram(b->mem, ram, sizeof(ram)));
}

static int linux_bzimage(struct boot_ctx *b, const struct vm_config *cfg,
			 const uint8_t *data, size_t size,
			 const struct x86_boot_opts *opts,
			 struct x86_entry *entry)
{
	const char *path = cfg->boot.image;
	struct linux_setup_hdr h;
	uint8_t zp[ZP_SIZE];
	uint64_t span, load, zp_gpa, initrd_max;
	int ret;

	ret = linux_parse_bzimage(b, path, data, size, &h);
	if (ret)
		return ret;
	/* Reserve init_size, not just the file part: the kernel unpacks
	 * itself into that range. */
	span = ALIGN_UP(MAX((uint64_t)h.init_size, h.kernel_size), 4096ULL);
	ret = bz_place(b, path, &h, span, &load);
	if (ret)
		return ret;
	ret = boot_reserve(b, load, span, "kernel (init_size)");
	if (ret)
		return boot_fail_prefix(b, ret, "%s", path);
	/* The rest of the range is the kernel's to initialise: leave it
	 * untouched so its host pages stay unallocated. */
	memcpy(mem_ptr(b->mem, load, h.kernel_size), data + h.kernel_off,
	       h.kernel_size);

	memset(zp, 0, sizeof(zp));
	memcpy(zp + HDR_START, data + HDR_START, h.hdr_end - HDR_START);
	put32(zp, HDR_CODE32_START, (uint32_t)load);
	initrd_max = MIN((uint64_t)h.initrd_addr_max + 1, FOUR_GIB);
	ret = zp_build(b, cfg, zp, h.cmdline_size, initrd_max,
		       "the kernel's initrd_addr_max",
		       h.xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G, opts,
		       &zp_gpa);
	if (ret)
		return ret;
	set_entry(entry, load + 0x200, zp_gpa);
	log_debug("%s: bzImage protocol %u.%02u at %#llx (%llu bytes, "
		  "init_size %#x), zero page %#llx",
		  path, h.version >> 8, h.version & 0xff,
		  (unsigned long long)load, (unsigned long long)h.kernel_size,
		  h.init_size, (unsigned long long)zp_gpa);
	return 0;
}

/* ---- vmlinux ---- */

static int linux_vmlinux(struct boot_ctx *b, const struct vm_config *cfg,
			 const uint8_t *data, size_t size,
			 const struct x86_boot_opts *opts,
			 struct x86_entry *entry)
{
	static const uint16_t machines[] = { EM_X86_64, 0 };
	const char *path = cfg->boot.image;
	struct elf_info info;
	uint8_t zp[ZP_SIZE];
	uint64_t zp_gpa;
	int ret;

	if (size > EI_CLASS && data[EI_CLASS] == ELFCLASS32)
		return boot_fail(b, -ENOEXEC,
				 "%s: an ELF32 file is not an x86-64 vmlinux "
				 "(format = linux needs a bzImage or an ELF64 "
				 "vmlinux; try format = elf, multiboot or "
				 "pvh)",
				 path);
	ret = elf_load(b, path, data, size, machines, &info);
	if (ret)
		return ret;

	/* No setup header in the file: write the fields the kernel reads. */
	memset(zp, 0, sizeof(zp));
	put16(zp, HDR_BOOT_FLAG, BOOT_FLAG);
	memcpy(zp + HDR_HEADER, HDR_MAGIC, 4);
	put16(zp, HDR_VERSION, VMLINUX_VERSION);
	put8(zp, HDR_LOADFLAGS, LOADFLAG_LOADED_HIGH);
	put32(zp, HDR_CODE32_START, (uint32_t)MIN(info.lowest, 0xffffffffULL));
	put32(zp, HDR_INITRD_ADDR_MAX, VMLINUX_INITRD_MAX);
	put32(zp, HDR_KERNEL_ALIGNMENT, VMLINUX_ALIGNMENT);
	put32(zp, HDR_CMDLINE_SIZE, VMLINUX_CMDLINE_SIZE);
	ret = zp_build(b, cfg, zp, VMLINUX_CMDLINE_SIZE,
		       (uint64_t)VMLINUX_INITRD_MAX + 1,
		       "the default initrd_addr_max for a vmlinux", false, opts,
		       &zp_gpa);
	if (ret)
		return ret;
	set_entry(entry, info.entry_paddr, zp_gpa);
	log_debug("%s: vmlinux entry %#llx, zero page %#llx", path,
		  (unsigned long long)info.entry_paddr,
		  (unsigned long long)zp_gpa);
	return 0;
}

int x86_boot_linux(struct boot_ctx *b, const struct vm_config *cfg,
		   const uint8_t *data, size_t size,
		   const struct x86_boot_opts *opts, struct x86_entry *entry)
{
	const char *path = cfg->boot.image;

	if (cfg->boot.nr_modules)
		return boot_fail(b, -EINVAL,
				 "%s: the Linux boot protocol takes an initrd, "
				 "not modules (use [boot] initrd)",
				 path);
	if (elf_is_elf(data, size))
		return linux_vmlinux(b, cfg, data, size, opts, entry);
	if (size >= HDR_HEADER + 4 && get16(data, HDR_BOOT_FLAG) != BOOT_FLAG &&
	    memcmp(data + HDR_HEADER, HDR_MAGIC, 4))
		return boot_fail(b, -ENOEXEC,
				 "%s: not a Linux kernel: neither a bzImage "
				 "(boot flag 0xaa55 at 0x1fe, \"HdrS\" at "
				 "0x202) nor an ELF vmlinux",
				 path);
	return linux_bzimage(b, cfg, data, size, opts, entry);
}
