/* SPDX-License-Identifier: MIT */
/*
 * Guest physical memory: a set of non-overlapping regions, each backed by
 * anonymous memory or a file, mapped into the VMM.
 *
 * Every access the VMM makes to guest memory on behalf of a guest-controlled
 * address goes through mem_ptr() (or mem_read()/mem_write(), built on it):
 * it checks that [gpa, gpa + len) lies entirely inside one region, with
 * overflow-safe arithmetic. Nothing else converts a GPA to a host pointer.
 */
#ifndef VMM_MEM_H
#define VMM_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MEM_MAX_REGIONS 16
#define MEM_NAME_MAX	32

struct mem_region {
	char name[MEM_NAME_MAX];
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;  /* host mapping, size bytes */
	int fd;	       /* backing file or hugepage memfd, -1 otherwise */
	bool readonly; /* guest writes exit as MMIO (KVM_MEM_READONLY) */
	uint32_t slot; /* KVM memory slot, assigned by the VM */
};

struct guest_mem {
	struct mem_region regions[MEM_MAX_REGIONS];
	unsigned nr;
};

/*
 * Add a region. size must be a non-zero multiple of 4 KiB and gpa 4 KiB
 * aligned; the region must not overlap an existing one (-EEXIST).
 * path == NULL: anonymous zeroed memory. Otherwise the file is opened
 * (created if missing unless readonly) and mapped MAP_SHARED; a file smaller
 * than size is extended, a readonly file smaller than size is -EINVAL.
 * Returns 0 or a negative errno; nothing is left mapped on error.
 */
int mem_add_region(struct guest_mem *m, const char *name, uint64_t gpa,
		   uint64_t size, const char *path, bool readonly);

/* mem_opts.hugepage_size: the host's default hugepage size. */
#define MEM_HUGEPAGE_DEFAULT 1

struct mem_opts {
	/* 0: normal pages. Else anonymous RAM (path must be NULL) on
	 * hugepages from a memfd (MFD_HUGETLB), MEM_HUGEPAGE_DEFAULT or a
	 * power-of-two size; the region's fd is that memfd. The pages are
	 * reserved when the region is mapped, so a pool too small fails here
	 * (-ENOMEM), not at the guest's first touch. */
	uint64_t hugepage_size;
	/* Fault every page in now (writable ones for writing), so the guest
	 * never waits for the host to allocate or zero a page. Failure to do
	 * so (no memory) fails the call. */
	bool prefault;
};

/*
 * mem_add_region() with options (o may be NULL: none). Beyond its errors:
 * -EINVAL for hugepages with a file or a size that is not a multiple of
 * the hugepage size; -ENOMEM if the hugepage pool or memory runs out.
 */
int mem_add_region_opts(struct guest_mem *m, const char *name, uint64_t gpa,
			uint64_t size, const char *path, bool readonly,
			const struct mem_opts *o);

/* Fault in [hva, hva + size) (page aligned), writable pages for writing:
 * MADV_POPULATE_WRITE/READ, then a touch of every page (which does the
 * work on kernels before 5.14). 0 or -errno. */
int mem_prefault(void *hva, uint64_t size, bool writable);

/* Unmap and close everything. Safe on a zeroed or partially built struct. */
void mem_free(struct guest_mem *m);

/* The region containing gpa, or NULL. */
const struct mem_region *mem_find(const struct guest_mem *m, uint64_t gpa);

/*
 * Host pointer for [gpa, gpa + len), or NULL if the range is not entirely
 * inside one region (or len == 0 with gpa outside every region, or the
 * range wraps). len == 0 inside a region is allowed.
 */
void *mem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/* Copy to/from guest memory. 0 or -EFAULT if the range is not RAM. */
int mem_read(const struct guest_mem *m, uint64_t gpa, void *buf, uint64_t len);
int mem_write(const struct guest_mem *m, uint64_t gpa, const void *buf,
	      uint64_t len);

/* Lowest and highest+1 guest physical addresses covered by RAM. */
uint64_t mem_end(const struct guest_mem *m);

#endif
