/* SPDX-License-Identifier: MIT */
/*
 * ELF loading with libelf. libelf does the parsing (and byte-order
 * conversion); this file adds the checks libelf leaves to the caller: it
 * clamps a program header count that does not fit the file instead of
 * failing, and it knows nothing about guest RAM. Everything is validated
 * before the first byte is written, so a bad image fails with one precise
 * message instead of a half-written guest.
 */
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>

#include "vmm/boot.h"
#include "vmm/util.h"

/* Bare-metal images have a handful of PT_LOADs; each one takes a boot
 * reservation, and the table has BOOT_MAX_RESERVATIONS entries in all. */
#define ELF_MAX_LOAD 32

struct elf_seg {
	unsigned idx; /* program header index, for messages */
	uint64_t offset, filesz;
	uint64_t paddr, vaddr, memsz;
};

bool elf_is_elf(const uint8_t *data, size_t size)
{
	return data && size >= SELFMAG && !memcmp(data, ELFMAG, SELFMAG);
}

static const char *machine_name(unsigned m)
{
	switch (m) {
	case EM_NONE:
		return "EM_NONE";
	case EM_386:
		return "EM_386";
	case EM_X86_64:
		return "EM_X86_64";
	case EM_ARM:
		return "EM_ARM";
	case EM_AARCH64:
		return "EM_AARCH64";
	case EM_RISCV:
		return "EM_RISCV";
	case EM_MIPS:
		return "EM_MIPS";
	case EM_PPC:
		return "EM_PPC";
	case EM_PPC64:
		return "EM_PPC64";
	case EM_SPARC:
		return "EM_SPARC";
	case EM_SPARCV9:
		return "EM_SPARCV9";
	case EM_S390:
		return "EM_S390";
	case EM_IAMCU:
		return "EM_IAMCU";
	default:
		return "unknown machine";
	}
}

static int check_machine(struct boot_ctx *b, const char *path, unsigned m,
			 const uint16_t *machines)
{
	char list[160];
	size_t off = 0;

	if (!machines)
		return 0;
	for (const uint16_t *p = machines; *p; p++)
		if (*p == m)
			return 0;
	list[0] = '\0';
	for (const uint16_t *p = machines; *p && off < sizeof(list); p++) {
		int n = snprintf(list + off, sizeof(list) - off, "%s%s (%u)",
				 p == machines ? "" : ", ", machine_name(*p),
				 *p);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	return boot_fail(b, -ENOEXEC,
			 "%s: ELF machine is %s (%u); accepted: %s", path,
			 machine_name(m), m, list);
}

static const char *type_name(unsigned t)
{
	switch (t) {
	case ET_NONE:
		return "ET_NONE";
	case ET_REL:
		return "ET_REL, a relocatable object";
	case ET_DYN:
		return "ET_DYN, a shared object or position-independent "
		       "executable";
	case ET_CORE:
		return "ET_CORE, a core dump";
	default:
		return "unknown type";
	}
}

/* Every check that needs only the headers; fills segs/nr. */
static int check_headers(struct boot_ctx *b, const char *path, Elf *e,
			 const uint8_t *data, size_t size,
			 const uint16_t *machines, struct elf_seg *segs,
			 unsigned *nr, GElf_Ehdr *eh)
{
	int cls = data[EI_CLASS] == ELFCLASS32 ? 32 : 64;
	size_t phent = cls == 32 ? sizeof(Elf32_Phdr) : sizeof(Elf64_Phdr);
	char ram[256];
	uint64_t end;
	int ret;

	if (elf_kind(e) != ELF_K_ELF)
		return boot_fail(b, -ENOEXEC, "%s: not an ELF file", path);
	if (!gelf_getehdr(e, eh))
		return boot_fail(b, -ENOEXEC, "%s: bad ELF header: %s", path,
				 elf_errmsg(-1));
	if (eh->e_type != ET_EXEC)
		return boot_fail(b, -ENOEXEC,
				 "%s: not an executable (e_type %u: %s); "
				 "link it as a static, non-PIE executable",
				 path, eh->e_type, type_name(eh->e_type));
	ret = check_machine(b, path, eh->e_machine, machines);
	if (ret)
		return ret;
	if (eh->e_phnum == 0)
		return boot_fail(b, -ENOEXEC,
				 "%s: no program headers (no PT_LOAD segments)",
				 path);
	if (eh->e_phnum == PN_XNUM)
		return boot_fail(b, -ENOEXEC,
				 "%s: more than %u program headers (PN_XNUM) "
				 "is not supported",
				 path, PN_XNUM - 1);
	if (eh->e_phentsize != phent)
		return boot_fail(b, -ENOEXEC,
				 "%s: program header entry size is %u, "
				 "expected %zu for ELF%d",
				 path, eh->e_phentsize, phent, cls);
	/* libelf would silently clamp e_phnum to what fits: check first.
	 * e_phnum < 2^16 and phent <= 56, so the product cannot wrap. */
	if (add_overflows(eh->e_phoff, (uint64_t)eh->e_phnum * phent, &end) ||
	    end > size)
		return boot_fail(
			b, -ENOEXEC,
			"%s: truncated: program header table (%u "
			"entries at offset %#llx) extends past the end "
			"of the file (%zu bytes)",
			path, eh->e_phnum, (unsigned long long)eh->e_phoff,
			size);

	*nr = 0;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		GElf_Phdr ph;
		uint64_t fend, mend;
		struct elf_seg *s;

		if (!gelf_getphdr(e, (int)i, &ph))
			return boot_fail(b, -ENOEXEC,
					 "%s: bad program header %u: %s", path,
					 i, elf_errmsg(-1));
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_filesz > ph.p_memsz)
			return boot_fail(b, -ENOEXEC,
					 "%s: segment %u: p_filesz %#llx is "
					 "larger than p_memsz %#llx",
					 path, i,
					 (unsigned long long)ph.p_filesz,
					 (unsigned long long)ph.p_memsz);
		if (add_overflows(ph.p_offset, ph.p_filesz, &fend) ||
		    fend > size)
			return boot_fail(
				b, -ENOEXEC,
				"%s: segment %u: file range "
				"[%#llx-%#llx) is outside the file "
				"(%zu bytes; truncated?)",
				path, i, (unsigned long long)ph.p_offset,
				(unsigned long long)ph.p_offset + ph.p_filesz,
				size);
		if (add_overflows(ph.p_paddr, ph.p_memsz, &mend))
			return boot_fail(b, -ERANGE,
					 "%s: segment %u: p_paddr %#llx + "
					 "p_memsz %#llx wraps around the "
					 "address space",
					 path, i,
					 (unsigned long long)ph.p_paddr,
					 (unsigned long long)ph.p_memsz);
		if (!ph.p_memsz)
			continue;
		if (!mem_ptr(b->mem, ph.p_paddr, ph.p_memsz) ||
		    mem_find(b->mem, ph.p_paddr)->readonly)
			return boot_fail(
				b, -ERANGE,
				"%s: segment %u [%#llx-%#llx) is "
				"outside guest RAM (RAM: %s)",
				path, i, (unsigned long long)ph.p_paddr,
				(unsigned long long)mend,
				boot_fmt_ram(b->mem, ram, sizeof(ram)));
		if (*nr >= ELF_MAX_LOAD)
			return boot_fail(b, -ENOEXEC,
					 "%s: more than %d PT_LOAD segments",
					 path, ELF_MAX_LOAD);
		s = &segs[(*nr)++];
		s->idx = i;
		s->offset = ph.p_offset;
		s->filesz = ph.p_filesz;
		s->paddr = ph.p_paddr;
		s->vaddr = ph.p_vaddr;
		s->memsz = ph.p_memsz;
	}
	if (!*nr)
		return boot_fail(b, -ENOEXEC,
				 "%s: no PT_LOAD segments with a non-zero "
				 "size",
				 path);
	for (unsigned i = 0; i < *nr; i++)
		for (unsigned j = i + 1; j < *nr; j++) {
			const struct elf_seg *s = &segs[i], *t = &segs[j];

			if (ranges_overlap(s->paddr, s->memsz, t->paddr,
					   t->memsz))
				return boot_fail(
					b, -ENOEXEC,
					"%s: segments %u [%#llx-%#llx) and %u "
					"[%#llx-%#llx) overlap",
					path, s->idx,
					(unsigned long long)s->paddr,
					(unsigned long long)(s->paddr +
							     s->memsz),
					t->idx, (unsigned long long)t->paddr,
					(unsigned long long)(t->paddr +
							     t->memsz));
		}
	return 0;
}

/*
 * e_entry is a virtual address. Images linked with p_vaddr != p_paddr
 * (higher-half kernels with a low-memory start-up stub) are entered at the
 * physical alias, as GRUB does: find the segment whose virtual range holds
 * the entry. Failing that, accept an entry inside a segment's physical
 * range; anything else would start the vCPU outside the image.
 */
static int entry_paddr(struct boot_ctx *b, const char *path, uint64_t entry,
		       const struct elf_seg *segs, unsigned nr, uint64_t *out)
{
	for (unsigned i = 0; i < nr; i++)
		if (entry >= segs[i].vaddr &&
		    entry - segs[i].vaddr < segs[i].memsz) {
			*out = segs[i].paddr + (entry - segs[i].vaddr);
			return 0;
		}
	for (unsigned i = 0; i < nr; i++)
		if (entry >= segs[i].paddr &&
		    entry - segs[i].paddr < segs[i].memsz) {
			*out = entry;
			return 0;
		}
	return boot_fail(b, -ENOEXEC,
			 "%s: entry point %#llx is not inside any PT_LOAD "
			 "segment",
			 path, (unsigned long long)entry);
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

int elf_load(struct boot_ctx *b, const char *path, const uint8_t *data,
	     size_t size, const uint16_t *machines, struct elf_info *info)
{
	struct elf_seg segs[ELF_MAX_LOAD];
	unsigned nr = 0;
	GElf_Ehdr eh;
	size_t ehsize;
	uint64_t entry = 0;
	Elf *e;
	int ret;

	if (!elf_is_elf(data, size))
		return boot_fail(b, -ENOEXEC,
				 "%s: not an ELF file (no \\x7fELF magic)",
				 path);
	if (size < EI_NIDENT)
		return boot_fail(b, -ENOEXEC,
				 "%s: truncated ELF header (file is %zu bytes)",
				 path, size);
	if (data[EI_CLASS] != ELFCLASS32 && data[EI_CLASS] != ELFCLASS64)
		return boot_fail(b, -ENOEXEC,
				 "%s: unsupported ELF class %u (expected 1 for "
				 "ELF32 or 2 for ELF64)",
				 path, data[EI_CLASS]);
	if (data[EI_DATA] != ELFDATA2LSB)
		return boot_fail(b, -ENOEXEC,
				 "%s: %s ELF data encoding; only little-endian "
				 "images are supported",
				 path,
				 data[EI_DATA] == ELFDATA2MSB ? "big-endian"
							      : "invalid");
	ehsize = data[EI_CLASS] == ELFCLASS32 ? sizeof(Elf32_Ehdr)
					      : sizeof(Elf64_Ehdr);
	if (size < ehsize)
		return boot_fail(b, -ENOEXEC,
				 "%s: truncated ELF header (file is %zu bytes, "
				 "the ELF%d header needs %zu)",
				 path, size,
				 data[EI_CLASS] == ELFCLASS32 ? 32 : 64,
				 ehsize);
	if (elf_version(EV_CURRENT) == EV_NONE)
		return boot_fail(b, -ENOEXEC, "%s: libelf: %s", path,
				 elf_errmsg(-1));
	/* elf_memory() takes a non-const image but, for a native-endian file
	 * opened read-only like this one, never writes to it. */
	e = elf_memory((char *)data, size);
	if (!e)
		return boot_fail(b, -ENOEXEC, "%s: libelf: %s", path,
				 elf_errmsg(-1));

	ret = check_headers(b, path, e, data, size, machines, segs, &nr, &eh);
	if (ret)
		goto out_end;
	ret = entry_paddr(b, path, eh.e_entry, segs, nr, &entry);
	if (ret)
		goto out_end;

	memset(info, 0, sizeof(*info));
	info->elf_class = data[EI_CLASS] == ELFCLASS32 ? 32 : 64;
	info->machine = eh.e_machine;
	info->entry = eh.e_entry;
	info->entry_paddr = entry;
	info->lowest = ~0ULL;
	for (unsigned i = 0; i < nr; i++) {
		const struct elf_seg *s = &segs[i];
		char what[sizeof(b->res[0].what)];

		snprintf(what, sizeof(what), "segment %u of %s", s->idx,
			 base_name(path));
		ret = boot_load(b, s->paddr, data + s->offset, s->filesz,
				s->memsz, what);
		if (ret) {
			boot_fail_prefix(b, ret, "%s", path);
			goto out_end;
		}
		info->lowest = MIN(info->lowest, s->paddr);
		info->end = MAX(info->end, s->paddr + s->memsz);
	}
	info->nr_segments = nr;

out_end:
	elf_end(e);
	return ret;
}
