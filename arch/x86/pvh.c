/* SPDX-License-Identifier: MIT */
/*
 * Xen PVH boot (the "direct boot" ABI of xen/include/public/arch-x86/hvm/
 * start_info.h and Xen's docs/misc/pvh.pandoc, as used by Linux's
 * arch/x86/platform/pvh, FreeBSD, Zephyr and others).
 *
 * The image is an ELF carrying a XEN_ELFNOTE_PHYS32_ENTRY note: owner
 * "Xen", type 18, descriptor = the 32-bit physical entry point (4 bytes,
 * or 8 when a 64-bit kernel emits it with .quad as Linux does). It is
 * loaded like any ELF (by p_paddr) and entered in 32-bit protected mode,
 * paging off, with EBX = the physical address of struct hvm_start_info.
 *
 * Notes are parsed with libelf (gelf_getnote), which bounds every note by
 * its containing area; this file only bounds the areas by the file.
 */
#include <elf.h>
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <string.h>

#include "arch/x86/boot.h"
#include "vmm/log.h"
#include "vmm/util.h"

#define FOUR_GIB (4 * GiB)

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC		 0x336ec578u /* "xEn3" with 0x80 in 'E' */
#define HVM_START_VERSION	 1 /* adds memmap_paddr / memmap_entries */

/* Guest-visible layout, 64-bit little endian (start_info.h). */
struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr; /* version >= 1 */
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type; /* XEN_HVM_MEMMAP_TYPE_*: 1 RAM, 2 reserved, ... */
	uint32_t reserved;
};

_Static_assert(sizeof(struct hvm_start_info) == 0x38, "hvm_start_info");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24,
	       "hvm_memmap_table_entry");

struct note_scan {
	bool found;	   /* a PHYS32_ENTRY note was seen */
	bool bad;	   /* it, or a note area, could not be used */
	uint64_t entry;	   /* valid if found && !bad_desc */
	bool bad_desc;	   /* the found note's descriptor is unusable */
	unsigned desc_len; /* for the message */
	char problem[200]; /* first malformed area, for the message */
};

static bool is_xen_name(const char *name, uint32_t namesz)
{
	/* "Xen" with its NUL (namesz 4); tolerate a producer that left the
	 * NUL out of n_namesz. */
	return (namesz == 4 && !memcmp(name, "Xen", 4)) ||
	       (namesz == 3 && !memcmp(name, "Xen", 3));
}

static void scan_data(Elf_Data *d, const char *where, struct note_scan *s)
{
	const char *buf = d->d_buf;
	size_t off = 0;

	/* Each gelf_getnote() call either advances or ends the walk. */
	while (!s->found && off < d->d_size) {
		GElf_Nhdr nh;
		size_t name_off, desc_off, next;

		next = gelf_getnote(d, off, &nh, &name_off, &desc_off);
		if (!next || next <= off) {
			if (!s->bad)
				snprintf(s->problem, sizeof(s->problem),
					 "the note at offset %#zx of %s is "
					 "truncated or malformed",
					 off, where);
			s->bad = true;
			return;
		}
		if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY &&
		    is_xen_name(buf + name_off, nh.n_namesz)) {
			s->found = true;
			s->desc_len = nh.n_descsz;
			if (nh.n_descsz == 4) {
				uint32_t v;

				memcpy(&v, buf + desc_off, 4);
				s->entry = v;
			} else if (nh.n_descsz == 8) {
				memcpy(&s->entry, buf + desc_off, 8);
			} else {
				s->bad_desc = true;
			}
		}
		off = next;
	}
}

static void note_area_outside(struct note_scan *s, const char *where,
			      uint64_t off, uint64_t len, size_t size)
{
	if (!s->bad)
		snprintf(s->problem, sizeof(s->problem),
			 "%s [%#llx-%#llx) is outside the file (%zu bytes; "
			 "truncated?)",
			 where, (unsigned long long)off,
			 (unsigned long long)(off + len), size);
	s->bad = true;
}

static void scan_segments(Elf *e, size_t size, struct note_scan *s)
{
	size_t phnum;

	if (elf_getphdrnum(e, &phnum))
		return;
	for (size_t i = 0; i < phnum && !s->found; i++) {
		GElf_Phdr ph;
		uint64_t end;
		Elf_Data *d;
		char where[48];

		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_NOTE)
			continue;
		snprintf(where, sizeof(where), "PT_NOTE segment %zu", i);
		if (add_overflows(ph.p_offset, ph.p_filesz, &end) ||
		    end > size) {
			note_area_outside(s, where, ph.p_offset, ph.p_filesz,
					  size);
			continue;
		}
		if (!ph.p_filesz)
			continue;
		d = elf_getdata_rawchunk(e, (int64_t)ph.p_offset, ph.p_filesz,
					 ph.p_align == 8 ? ELF_T_NHDR8
							 : ELF_T_NHDR);
		if (!d) {
			if (!s->bad)
				snprintf(s->problem, sizeof(s->problem),
					 "%s cannot be read: %s", where,
					 elf_errmsg(-1));
			s->bad = true;
			continue;
		}
		scan_data(d, where, s);
	}
}

static void scan_sections(Elf *e, size_t size, struct note_scan *s)
{
	Elf_Scn *scn = NULL;
	size_t shnum, n = 0;

	if (elf_getshdrnum(e, &shnum))
		return;
	while (!s->found && n++ < shnum && (scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		uint64_t end;
		Elf_Data *d;
		char where[48];

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		snprintf(where, sizeof(where), "SHT_NOTE section %zu",
			 elf_ndxscn(scn));
		if (add_overflows(sh.sh_offset, sh.sh_size, &end) ||
		    end > size) {
			note_area_outside(s, where, sh.sh_offset, sh.sh_size,
					  size);
			continue;
		}
		d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf)
			continue;
		scan_data(d, where, s);
	}
}

/* The entry point must be where a PT_LOAD puts code. */
static bool entry_in_segment(Elf *e, uint64_t entry)
{
	size_t phnum;

	if (elf_getphdrnum(e, &phnum))
		return false;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (entry >= ph.p_paddr && entry - ph.p_paddr < ph.p_memsz)
			return true;
	}
	return false;
}

/* *found: a PHYS32_ENTRY note exists, usable or not. */
static int find_entry(struct boot_ctx *b, const char *path, const uint8_t *data,
		      size_t size, uint64_t *entry, bool *found)
{
	struct note_scan s;
	Elf *e;
	int ret = 0;

	*found = false;
	if (!elf_is_elf(data, size) || size < EI_NIDENT ||
	    (data[EI_CLASS] != ELFCLASS32 && data[EI_CLASS] != ELFCLASS64) ||
	    data[EI_DATA] != ELFDATA2LSB)
		return boot_fail(b, -ENOEXEC,
				 "%s: not a little-endian ELF file, so no PVH "
				 "entry note",
				 path);
	if (elf_version(EV_CURRENT) == EV_NONE)
		return boot_fail(b, -ENOEXEC, "%s: libelf: %s", path,
				 elf_errmsg(-1));
	/* elf_memory() does not write to a native-endian image opened
	 * read-only like this one (see elf_loader.c). */
	e = elf_memory((char *)data, size);
	if (!e)
		return boot_fail(b, -ENOEXEC, "%s: libelf: %s", path,
				 elf_errmsg(-1));
	memset(&s, 0, sizeof(s));
	scan_segments(e, size, &s);
	if (!s.found)
		scan_sections(e, size, &s);
	*found = s.found;

	if (!s.found && s.bad)
		ret = boot_fail(b, -ENOEXEC,
				"%s: no usable Xen PVH entry note: %s", path,
				s.problem);
	else if (!s.found)
		ret = boot_fail(b, -ENOENT,
				"%s: no Xen PVH entry note "
				"(XEN_ELFNOTE_PHYS32_ENTRY: owner \"Xen\", "
				"type 18) in a PT_NOTE segment or SHT_NOTE "
				"section: not a PVH kernel (format = elf or "
				"linux may boot it)",
				path);
	else if (s.bad_desc)
		ret = boot_fail(b, -ENOEXEC,
				"%s: the Xen PVH entry note "
				"(XEN_ELFNOTE_PHYS32_ENTRY) has a %u-byte "
				"descriptor; expected a 4- or 8-byte address",
				path, s.desc_len);
	else if (s.entry >= FOUR_GIB)
		ret = boot_fail(b, -ENOEXEC,
				"%s: PVH entry point %#llx is not below 4 GiB "
				"(it is entered in 32-bit protected mode)",
				path, (unsigned long long)s.entry);
	else if (!entry_in_segment(e, s.entry))
		ret = boot_fail(b, -ENOEXEC,
				"%s: PVH entry point %#llx (from the "
				"XEN_ELFNOTE_PHYS32_ENTRY note) is not inside "
				"any PT_LOAD segment",
				path, (unsigned long long)s.entry);
	else
		*entry = s.entry;
	elf_end(e);
	return ret;
}

int pvh_find_entry(struct boot_ctx *b, const char *path, const uint8_t *data,
		   size_t size, uint64_t *entry)
{
	bool found;

	return find_entry(b, path, data, size, entry, &found);
}

bool pvh_probe(const uint8_t *data, size_t size)
{
	struct boot_ctx scratch;
	uint64_t entry;
	bool found = false;

	if (!elf_is_elf(data, size))
		return false;
	boot_ctx_init(&scratch, NULL);
	find_entry(&scratch, "", data, size, &entry, &found);
	return found;
}

int x86_boot_pvh(struct boot_ctx *b, const struct vm_config *cfg,
		 const uint8_t *data, size_t size,
		 const struct x86_boot_opts *opts, struct x86_entry *entry)
{
	static const uint16_t machines[] = { EM_386, EM_X86_64, 0 };
	const char *path = cfg->boot.image;
	const char *cmdline = cfg->boot.cmdline ? cfg->boot.cmdline : "";
	struct x86_mmap_entry mm[X86_MMAP_MAX];
	struct hvm_memmap_table_entry me[X86_MMAP_MAX];
	struct hvm_start_info si = {
		.magic = HVM_START_MAGIC,
		.version = HVM_START_VERSION,
		.rsdp_paddr = opts ? opts->rsdp : 0,
	};
	struct elf_info info;
	uint64_t pvh_entry, si_gpa, initrd, initrd_size;
	size_t len = strlen(cmdline);
	unsigned n;
	int ret;

	if (cfg->boot.nr_modules)
		return boot_fail(b, -EINVAL,
				 "%s: PVH boot takes an initrd (module 0), not "
				 "modules (use [boot] initrd)",
				 path);
	ret = elf_load(b, path, data, size, machines, &info);
	if (ret)
		return ret;
	ret = pvh_find_entry(b, path, data, size, &pvh_entry);
	if (ret)
		return ret;

	ret = x86_boot_alloc_info(b, sizeof(si), 16, "PVH start_info", &si_gpa);
	if (ret)
		return ret;
	n = x86_memmap(b->mem, mm, X86_MMAP_MAX);
	memset(me, 0, sizeof(me));
	for (unsigned i = 0; i < n; i++) {
		me[i].addr = mm[i].addr;
		me[i].size = mm[i].len;
		me[i].type = mm[i].type;
	}
	if (n) {
		ret = x86_boot_alloc_info(b, n * sizeof(me[0]), 16,
					  "PVH memory map", &si.memmap_paddr);
		if (ret)
			return ret;
		mem_write(b->mem, si.memmap_paddr, me, n * sizeof(me[0]));
		si.memmap_entries = n;
	}
	ret = x86_boot_alloc_info(b, len + 1, 16, "kernel command line",
				  &si.cmdline_paddr);
	if (ret)
		return ret;
	mem_write(b->mem, si.cmdline_paddr, cmdline, len + 1);

	/* Paging is off at entry: everything the kernel reads first must
	 * be 32-bit addressable. */
	ret = x86_load_initrd(b, cfg, FOUR_GIB, "PVH entry is 32-bit", false,
			      &initrd, &initrd_size);
	if (ret)
		return ret;
	if (initrd_size) {
		struct hvm_modlist_entry mod = { .paddr = initrd,
						 .size = initrd_size };

		ret = x86_boot_alloc_info(b, sizeof(mod), 16, "PVH module list",
					  &si.modlist_paddr);
		if (ret)
			return ret;
		mem_write(b->mem, si.modlist_paddr, &mod, sizeof(mod));
		si.nr_modules = 1;
	}
	mem_write(b->mem, si_gpa, &si, sizeof(si));

	memset(entry, 0, sizeof(*entry));
	entry->mode = CPU_MODE_PROTECTED;
	entry->abi = X86_ABI_PVH;
	entry->rip = pvh_entry;
	entry->rbx = si_gpa;
	log_debug("%s: PVH entry %#llx, start_info %#llx", path,
		  (unsigned long long)pvh_entry, (unsigned long long)si_gpa);
	return 0;
}
