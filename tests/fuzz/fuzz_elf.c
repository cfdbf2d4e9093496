/* SPDX-License-Identifier: MIT */
/*
 * ELF loading (vmm/elf_loader.c): the input is the image file, loaded with
 * elf_load() into 4 MiB of guest RAM at 0 (guard-paged, fuzz_util.h).
 * e_ident[EI_PAD] (byte 9, ignored by ELF readers) picks the machine list:
 * odd accepts any machine, even only EM_386/EM_X86_64, as x86 does.
 *
 * Checked beyond memory safety (vmm/boot.h): on success the entry point is
 * inside a loaded segment, [lowest, end) is RAM, every reservation lies in
 * writable RAM without overlaps, and each segment's bytes are the file's;
 * on failure nothing is reserved ("everything is checked before anything
 * is written") and the message names the image.
 */
#include <elf.h>

#include "fuzz_util.h"

#define RAM_SIZE (4 * MiB)
#define PATH	 "fuzz.elf"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_ERR);
	return 0;
}

static void check_loaded(const struct boot_ctx *b, const struct elf_info *i,
			 const uint8_t *data, size_t size)
{
	FUZZ_CHECK(i->elf_class == 32 || i->elf_class == 64, "class %d",
		   i->elf_class);
	FUZZ_CHECK(i->nr_segments >= 1 && i->nr_segments <= b->nr_res,
		   "%u segments, %u reservations", i->nr_segments, b->nr_res);
	FUZZ_CHECK(i->lowest < i->end && i->end <= RAM_SIZE,
		   "image [%#llx-%#llx) outside RAM",
		   (unsigned long long)i->lowest, (unsigned long long)i->end);
	FUZZ_CHECK(i->entry_paddr >= i->lowest && i->entry_paddr < i->end &&
			   fuzz_reserved(b, i->entry_paddr, 1),
		   "entry %#llx is not inside a loaded segment",
		   (unsigned long long)i->entry_paddr);

	/* The bytes of each PT_LOAD are in RAM (a plain re-parse: headers
	 * were proven to fit the file by the loader). */
	if (data[EI_CLASS] == ELFCLASS64) {
		const Elf64_Ehdr *eh = (const void *)data;

		for (unsigned k = 0; k < eh->e_phnum; k++) {
			Elf64_Phdr ph;
			const uint8_t *g;

			memcpy(&ph, data + eh->e_phoff + k * sizeof(ph),
			       sizeof(ph));
			if (ph.p_type != PT_LOAD || !ph.p_memsz)
				continue;
			g = mem_ptr(b->mem, ph.p_paddr, ph.p_memsz);
			FUZZ_CHECK(g && ph.p_offset + ph.p_filesz <= size,
				   "segment %u not loaded", k);
			FUZZ_CHECK(!memcmp(g, data + ph.p_offset, ph.p_filesz),
				   "segment %u: RAM differs from the file", k);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t x86[] = { EM_386, EM_X86_64, 0 };
	const uint16_t *machines =
		size > EI_PAD && (data[EI_PAD] & 1) ? NULL : x86;
	struct guest_mem mem = { 0 };
	struct elf_info info;
	struct boot_ctx b;
	int ret;

	fuzz_mem_add(&mem, "ram", 0, RAM_SIZE, false);
	boot_ctx_init(&b, &mem);
	ret = elf_load(&b, PATH, data, size, machines, &info);
	fuzz_log("elf: %d %s\n", ret, ret ? b.err : "ok");
	fuzz_check_boot(&b);
	if (ret) {
		FUZZ_CHECK(ret < 0, "elf_load returned %d", ret);
		FUZZ_CHECK(!strncmp(b.err, PATH ": ", strlen(PATH) + 2),
			   "message does not name the image: '%s'", b.err);
		FUZZ_CHECK(b.nr_res == 0,
			   "failed load left %u reservations (first: %s)",
			   b.nr_res, b.res[0].what);
	} else {
		check_loaded(&b, &info, data, size);
	}
	fuzz_mem_free(&mem);
	return 0;
}
