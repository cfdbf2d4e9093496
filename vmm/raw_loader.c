/* SPDX-License-Identifier: MIT */
/* Raw binaries: the file is the memory image, byte for byte. */
#include <errno.h>

#include "vmm/boot.h"

int raw_load(struct boot_ctx *b, const char *path, const uint8_t *data,
	     size_t size, uint64_t load_addr)
{
	char ram[256];
	uint64_t end;
	int ret;

	if (!size)
		return boot_fail(b, -ENOEXEC, "%s: empty image file", path);
	if (__builtin_add_overflow(load_addr, (uint64_t)size, &end))
		return boot_fail(b, -ERANGE,
				 "%s: image (%zu bytes) at load-address %#llx "
				 "wraps around the address space",
				 path, size, (unsigned long long)load_addr);
	if (!mem_ptr(b->mem, load_addr, size) ||
	    mem_find(b->mem, load_addr)->readonly)
		return boot_fail(b, -ERANGE,
				 "%s: image [%#llx-%#llx) (%zu bytes at "
				 "load-address %#llx) is outside guest RAM "
				 "(RAM: %s)",
				 path, (unsigned long long)load_addr,
				 (unsigned long long)end, size,
				 (unsigned long long)load_addr,
				 boot_fmt_ram(b->mem, ram, sizeof(ram)));
	ret = boot_load(b, load_addr, data, size, size, "image");
	if (ret)
		return boot_fail_prefix(b, ret, "%s", path);
	return 0;
}
