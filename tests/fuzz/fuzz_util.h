/* SPDX-License-Identifier: MIT */
/*
 * Shared by the fuzz targets (tests/fuzz/README.md): the libFuzzer entry
 * points, a consumer for structured inputs, a scratch directory, guest RAM
 * that ASan can watch, and the invariants every boot must keep.
 * Header-only (static inline) so each target is one file.
 */
#ifndef TESTS_FUZZ_FUZZ_UTIL_H
#define TESTS_FUZZ_FUZZ_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/boot.h"
#include "vmm/log.h"
#include "vmm/mem.h"
#include "vmm/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static inline void fuzz_cleanup(void);

/* A broken promise of the code under test: report and abort, which
 * libFuzzer records as a crash with the input that caused it. */
static inline void __attribute__((noreturn, format(printf, 1, 2)))
fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	fuzz_cleanup(); /* abort() skips atexit() */
	fprintf(stderr, "fuzz: invariant violated: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

#define FUZZ_CHECK(cond, ...)                   \
	do {                                    \
		if (!(cond))                    \
			fuzz_fail(__VA_ARGS__); \
	} while (0)

/* FUZZ_VERBOSE=1 in the environment: say what each input did (for
 * checking seeds and reproducers by hand). */
static inline bool fuzz_verbose(void)
{
	static int v = -1;

	if (v < 0)
		v = getenv("FUZZ_VERBOSE") != NULL;
	return v;
}

#define fuzz_log(...)                                 \
	do {                                          \
		if (fuzz_verbose())                   \
			fprintf(stderr, __VA_ARGS__); \
	} while (0)

/* Reading a structured input front to back; past the end reads zeros. */
struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
	uint8_t v = 0;

	if (in->n) {
		v = *in->p++;
		in->n--;
	}
	return v;
}

static inline uint64_t fuzz_le(struct fuzz_in *in, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes && i < 8; i++)
		v |= (uint64_t)fuzz_u8(in) << (8 * i);
	return v;
}

/* Up to max bytes; returns how many were taken. */
static inline size_t fuzz_take(struct fuzz_in *in, void *buf, size_t max)
{
	size_t n = MIN(max, in->n);

	memcpy(buf, in->p, n);
	in->p += n;
	in->n -= n;
	return n;
}

/* ---- scratch directory, removed at exit ----
 * In $FUZZ_TMPDIR if set, else in /dev/shm (targets that rewrite a file
 * per input run many times faster on tmpfs than on a disk file system),
 * else in $TMPDIR or /tmp. */

#define FUZZ_MAX_FILES 16

static char fuzz_dir[256];
static char fuzz_files[FUZZ_MAX_FILES][300];
static unsigned fuzz_nr_files;

static inline void fuzz_cleanup(void)
{
	for (unsigned i = fuzz_nr_files; i-- > 0;)
		if (unlink(fuzz_files[i]) && errno == EISDIR)
			rmdir(fuzz_files[i]);
	if (fuzz_dir[0])
		rmdir(fuzz_dir);
}

static inline const char *fuzz_tmpdir(void)
{
	const char *t = getenv("FUZZ_TMPDIR");

	if (fuzz_dir[0])
		return fuzz_dir;
	if (!t || !*t)
		t = access("/dev/shm", W_OK) == 0 ? "/dev/shm"
						  : getenv("TMPDIR");
	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/vmm-fuzz-XXXXXX",
		 t && *t ? t : "/tmp");
	if (!mkdtemp(fuzz_dir)) {
		perror("fuzz: mkdtemp");
		abort();
	}
	atexit(fuzz_cleanup);
	return fuzz_dir;
}

/* Path of `name` in the scratch directory (a static buffer per name). */
static inline const char *fuzz_path(const char *name)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/%s", fuzz_tmpdir(), name);
	for (unsigned i = 0; i < fuzz_nr_files; i++)
		if (!strcmp(fuzz_files[i], path))
			return fuzz_files[i];
	if (fuzz_nr_files == FUZZ_MAX_FILES)
		abort();
	memcpy(fuzz_files[fuzz_nr_files], path, sizeof(path));
	return fuzz_files[fuzz_nr_files++];
}

/* (Re)write the scratch file `name` with data; returns its path. */
static inline const char *fuzz_write_file(const char *name, const void *data,
					  size_t size)
{
	const char *path = fuzz_path(name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size)) {
		perror("fuzz: write scratch file");
		abort();
	}
	close(fd);
	return path;
}

/* ---- guest RAM ---- */

/*
 * A RAM region in a fresh anonymous mapping with an inaccessible guard
 * page on each side, instead of mem_add_region()'s plain mmap: an access
 * just past either end of the region that a bounds check missed faults
 * (next to a plain mapping it could land in another one unnoticed).
 * Read-only regions are mapped PROT_READ, so a write to one faults too.
 * Fresh zero pages per input and cheap to drop: much faster under ASan
 * than a heap buffer of several MiB. Release with fuzz_mem_free().
 */
#define FUZZ_GUARD 4096ULL

static inline void fuzz_mem_add(struct guest_mem *m, const char *name,
				uint64_t gpa, uint64_t size, bool readonly)
{
	struct mem_region *r;
	uint8_t *p;

	if (m->nr >= MEM_MAX_REGIONS)
		abort();
	p = mmap(NULL, size + 2 * FUZZ_GUARD, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED ||
	    mprotect(p + FUZZ_GUARD, size,
		     readonly ? PROT_READ : PROT_READ | PROT_WRITE))
		abort();
	r = &m->regions[m->nr++];
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->gpa = gpa;
	r->size = size;
	r->hva = p + FUZZ_GUARD;
	r->fd = -1;
	r->readonly = readonly;
}

static inline void fuzz_mem_free(struct guest_mem *m)
{
	for (unsigned i = 0; i < m->nr; i++) {
		struct mem_region *r = &m->regions[i];

		munmap(r->hva - FUZZ_GUARD, r->size + 2 * FUZZ_GUARD);
	}
	m->nr = 0;
}

/* ---- boot invariants (vmm/boot.h) ---- */

/* Every reservation lies inside one writable RAM region and overlaps no
 * other; the error message is a terminated string. */
static inline void fuzz_check_boot(const struct boot_ctx *b)
{
	FUZZ_CHECK(memchr(b->err, '\0', sizeof(b->err)),
		   "boot_ctx.err not terminated");
	FUZZ_CHECK(b->nr_res <= BOOT_MAX_RESERVATIONS, "nr_res %u", b->nr_res);
	for (unsigned i = 0; i < b->nr_res; i++) {
		const struct boot_reservation *r = &b->res[i];
		const struct mem_region *m = mem_find(b->mem, r->gpa);

		FUZZ_CHECK(r->size, "reservation %u (%s) is empty", i, r->what);
		FUZZ_CHECK(m && !m->readonly &&
				   r->size <= m->size - (r->gpa - m->gpa),
			   "reservation %u (%s) [%#llx+%#llx) is not inside "
			   "writable RAM",
			   i, r->what, (unsigned long long)r->gpa,
			   (unsigned long long)r->size);
		for (unsigned j = 0; j < i; j++)
			FUZZ_CHECK(!ranges_overlap(r->gpa, r->size,
						   b->res[j].gpa,
						   b->res[j].size),
				   "reservations %u (%s) and %u (%s) overlap",
				   j, b->res[j].what, i, r->what);
	}
}

/* True if [gpa, gpa + size) lies inside one reservation. */
static inline bool fuzz_reserved(const struct boot_ctx *b, uint64_t gpa,
				 uint64_t size)
{
	for (unsigned i = 0; i < b->nr_res; i++) {
		const struct boot_reservation *r = &b->res[i];

		if (gpa >= r->gpa && gpa - r->gpa <= r->size &&
		    size <= r->size - (gpa - r->gpa))
			return true;
	}
	return false;
}

#endif
