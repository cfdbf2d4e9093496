/* SPDX-License-Identifier: MIT */
/*
 * Boot placement: a table of reserved guest-physical ranges. Every loader
 * goes through boot_reserve() (directly or via boot_load()/boot_alloc()), so
 * two things the VMM writes can never overlap silently, and a bad image gets
 * a message naming both sides of the collision.
 *
 * Read-only regions (ROM/flash files) are mapped PROT_READ in the VMM, so
 * they are not "RAM" here: nothing is ever reserved or written there.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/boot.h"
#include "vmm/util.h"

void boot_ctx_init(struct boot_ctx *b, struct guest_mem *mem)
{
	memset(b, 0, sizeof(*b));
	b->mem = mem;
}

int boot_fail(struct boot_ctx *b, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b->err, sizeof(b->err), fmt, ap);
	va_end(ap);
	return err;
}

int boot_fail_prefix(struct boot_ctx *b, int err, const char *fmt, ...)
{
	char msg[sizeof(b->err)];
	size_t len, old_len = strlen(b->err);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* msg = prefix ": " old, truncated to fit. */
	len = strlen(msg);
	if (len + 2 < sizeof(msg)) {
		memcpy(msg + len, ": ", 2);
		len += 2;
		old_len = MIN(old_len, sizeof(msg) - 1 - len);
		memcpy(msg + len, b->err, old_len);
		len += old_len;
	}
	msg[len] = '\0';
	memcpy(b->err, msg, len + 1);
	return err;
}

const char *boot_fmt_ram(const struct guest_mem *mem, char *buf, size_t len)
{
	size_t off = 0;

	if (!len)
		return buf;
	buf[0] = '\0';
	if (!mem->nr) {
		snprintf(buf, len, "none");
		return buf;
	}
	for (unsigned i = 0; i < mem->nr && off < len; i++) {
		const struct mem_region *r = &mem->regions[i];
		int n;

		n = snprintf(buf + off, len - off, "%s[%#llx-%#llx) %s%s",
			     i ? ", " : "", (unsigned long long)r->gpa,
			     (unsigned long long)(r->gpa + r->size), r->name,
			     r->readonly ? " (read-only)" : "");
		if (n < 0)
			break;
		off += (size_t)n;
	}
	return buf;
}

/* The writable region holding all of [gpa, gpa + size), or NULL. */
static const struct mem_region *ram_region(const struct guest_mem *mem,
					   uint64_t gpa, uint64_t size)
{
	const struct mem_region *r = mem_find(mem, gpa);

	if (!r || r->readonly || size > r->size - (gpa - r->gpa))
		return NULL;
	return r;
}

int boot_reserve(struct boot_ctx *b, uint64_t gpa, uint64_t size,
		 const char *what)
{
	struct boot_reservation *res;
	char ram[256];
	uint64_t end;

	if (!size)
		return 0;
	if (add_overflows(gpa, size, &end) && end != 0)
		return boot_fail(b, -ERANGE,
				 "%s at %#llx (%llu bytes) wraps around the "
				 "address space",
				 what, (unsigned long long)gpa,
				 (unsigned long long)size);
	/* end == 0 with a carry means the range ends exactly at 2^64: fine
	 * for the arithmetic, but no region can hold it (checked below). */
	if (!ram_region(b->mem, gpa, size))
		return boot_fail(b, -ERANGE,
				 "%s [%#llx-%#llx) is not inside guest RAM "
				 "(RAM: %s)",
				 what, (unsigned long long)gpa,
				 (unsigned long long)(gpa + size),
				 boot_fmt_ram(b->mem, ram, sizeof(ram)));
	for (unsigned i = 0; i < b->nr_res; i++) {
		const struct boot_reservation *o = &b->res[i];

		if (ranges_overlap(gpa, size, o->gpa, o->size))
			return boot_fail(
				b, -EBUSY,
				"%s [%#llx-%#llx) overlaps %s "
				"[%#llx-%#llx)",
				what, (unsigned long long)gpa,
				(unsigned long long)(gpa + size), o->what,
				(unsigned long long)o->gpa,
				(unsigned long long)(o->gpa + o->size));
	}
	if (b->nr_res >= BOOT_MAX_RESERVATIONS)
		return boot_fail(b, -ENOSPC,
				 "%s: too many boot memory ranges (at most %d)",
				 what, BOOT_MAX_RESERVATIONS);
	res = &b->res[b->nr_res++];
	res->gpa = gpa;
	res->size = size;
	snprintf(res->what, sizeof(res->what), "%s", what);
	return 0;
}

int boot_load(struct boot_ctx *b, uint64_t gpa, const void *src,
	      uint64_t filesz, uint64_t memsz, const char *what)
{
	uint8_t *p;
	int ret;

	if (filesz > memsz)
		return boot_fail(b, -EINVAL,
				 "%s: file size %llu is larger than memory "
				 "size %llu",
				 what, (unsigned long long)filesz,
				 (unsigned long long)memsz);
	ret = boot_reserve(b, gpa, memsz, what);
	if (ret || !memsz)
		return ret;
	/* boot_reserve() proved the range lies in one writable region. */
	p = mem_ptr(b->mem, gpa, memsz);
	if (filesz)
		memcpy(p, src, filesz);
	memset(p + filesz, 0, memsz - filesz);
	return 0;
}

/* Lowest address >= start, aligned, where [addr, addr + size) clears every
 * reservation and ends at or below limit. false if none. */
static bool fit_in(const struct boot_ctx *b, uint64_t start, uint64_t limit,
		   uint64_t size, uint64_t align, uint64_t *out)
{
	uint64_t addr = start;

	/* Each pass either succeeds or moves addr past one reservation's end,
	 * so the loop runs at most nr_res + 1 times per region. */
	for (unsigned pass = 0; pass <= b->nr_res; pass++) {
		bool moved = false;

		if (addr > ~0ULL - (align - 1))
			return false;
		addr = ALIGN_UP(addr, align);
		if (addr > limit || size > limit - addr)
			return false;
		for (unsigned i = 0; i < b->nr_res; i++) {
			const struct boot_reservation *o = &b->res[i];

			if (ranges_overlap(addr, size, o->gpa, o->size)) {
				if (o->gpa + o->size < o->gpa)
					return false; /* ends at 2^64 */
				addr = o->gpa + o->size;
				moved = true;
				break;
			}
		}
		if (!moved) {
			*out = addr;
			return true;
		}
	}
	return false;
}

int boot_alloc(struct boot_ctx *b, uint64_t size, uint64_t align, uint64_t min,
	       uint64_t max, const char *what, uint64_t *gpa)
{
	const struct guest_mem *mem = b->mem;
	bool found = false;
	uint64_t best = 0;
	int ret;

	if (!size || !IS_POW2(align))
		return boot_fail(b, -EINVAL,
				 "%s: bad allocation (size %llu, align %llu)",
				 what, (unsigned long long)size,
				 (unsigned long long)align);
	for (unsigned i = 0; i < mem->nr; i++) {
		const struct mem_region *r = &mem->regions[i];
		uint64_t start = MAX(r->gpa, min);
		uint64_t limit = r->gpa + (r->size - 1);
		uint64_t addr;

		/* limit is the region's last byte, converted to an exclusive
		 * end only when that cannot wrap. */
		if (limit != ~0ULL)
			limit++;
		limit = MIN(limit, max);
		if (r->readonly || start >= limit)
			continue;
		if (fit_in(b, start, limit, size, align, &addr) &&
		    (!found || addr < best)) {
			best = addr;
			found = true;
		}
	}
	if (!found)
		return boot_fail(b, -ENOMEM,
				 "%s: no free guest RAM for %llu bytes "
				 "(aligned to %llu) in [%#llx-%#llx)",
				 what, (unsigned long long)size,
				 (unsigned long long)align,
				 (unsigned long long)min,
				 (unsigned long long)max);
	ret = boot_reserve(b, best, size, what);
	if (ret)
		return ret;
	memset(mem_ptr(mem, best, size), 0, size);
	*gpa = best;
	return 0;
}

uint64_t boot_reserved_end(const struct boot_ctx *b)
{
	uint64_t end = 0;

	for (unsigned i = 0; i < b->nr_res; i++)
		end = MAX(end, b->res[i].gpa + b->res[i].size);
	return end;
}

int boot_open_file(struct boot_ctx *b, const char *path, uint64_t max_size,
		   int *fdp, size_t *size)
{
	char limit[32];
	struct stat st;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		return boot_fail(b, ret, "%s: cannot open: %s", path,
				 strerror(-ret));
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		boot_fail(b, ret, "%s: cannot stat: %s", path, strerror(-ret));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = boot_fail(b, -EINVAL, "%s: not a regular file", path);
		goto out_close;
	}
	if ((uint64_t)st.st_size > max_size ||
	    (uint64_t)st.st_size > SIZE_MAX) {
		ret = boot_fail(b, -EFBIG,
				"%s: file is %llu bytes, more than the limit "
				"of %s (guest RAM)",
				path, (unsigned long long)st.st_size,
				fmt_size(max_size, limit, sizeof(limit)));
		goto out_close;
	}
	*fdp = fd;
	*size = (size_t)st.st_size;
	return 0;

out_close:
	close(fd);
	return ret;
}

/* Read up to len bytes at off into buf; returns how many (short only at
 * the end of the file) or -errno with b->err set. */
static ssize_t read_at(struct boot_ctx *b, const char *path, int fd,
		       uint8_t *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n =
			pread(fd, buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return boot_fail(b, -errno, "%s: read error: %s", path,
					 strerror(errno));
		if (n == 0) /* shrank under us: use what is there */
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int boot_read_file(struct boot_ctx *b, const char *path, uint64_t max_size,
		   uint8_t **data, size_t *size)
{
	size_t fsize;
	uint8_t *buf;
	ssize_t n;
	int fd, ret;

	ret = boot_open_file(b, path, max_size, &fd, &fsize);
	if (ret)
		return ret;
	/* +1: a valid pointer even for an empty file. */
	buf = malloc(fsize + 1);
	if (!buf) {
		close(fd);
		return boot_fail(b, -ENOMEM, "%s: out of memory reading file",
				 path);
	}
	n = read_at(b, path, fd, buf, fsize, 0);
	close(fd);
	if (n < 0) {
		free(buf);
		return (int)n;
	}
	*data = buf;
	*size = (size_t)n;
	return 0;
}

int boot_read_into(struct boot_ctx *b, const char *path, int fd, uint64_t gpa,
		   size_t size)
{
	uint8_t *dst = size ? mem_ptr(b->mem, gpa, size) : NULL;
	ssize_t n;

	if (size && !dst)
		return boot_fail(b, -ERANGE,
				 "%s: [%#llx-%#llx) is not guest RAM", path,
				 (unsigned long long)gpa,
				 (unsigned long long)(gpa + size));
	n = read_at(b, path, fd, dst, size, 0);
	if (n < 0)
		return (int)n;
	if ((size_t)n < size)
		return boot_fail(b, -EIO,
				 "%s: file shrank while read (%zd of %zu "
				 "bytes)",
				 path, n, size);
	return 0;
}

int boot_load_fd(struct boot_ctx *b, const char *path, int fd, uint64_t gpa,
		 size_t filesz, uint64_t memsz, const char *what)
{
	int ret;

	if (memsz < filesz)
		return boot_fail(b, -EINVAL,
				 "%s: %s: memory size %llu below file size "
				 "%zu",
				 path, what, (unsigned long long)memsz, filesz);
	ret = boot_reserve(b, gpa, memsz, what);
	if (ret || !memsz)
		return ret;
	ret = boot_read_into(b, path, fd, gpa, filesz);
	if (ret)
		return ret;
	/* the reservation is inside one RAM region: mem_ptr() holds */
	if (memsz > filesz)
		memset(mem_ptr(b->mem, gpa + filesz, memsz - filesz), 0,
		       memsz - filesz);
	return 0;
}
