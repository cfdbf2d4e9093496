/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/log.h"
#include "vmm/mem.h"
#include "vmm/util.h"

#define PAGE_SIZE 4096ULL

/* From linux/memfd.h and asm-generic/mman-common.h, for older headers
 * (linux/memfd.h itself redefines glibc's MFD_* macros). */
#define MEM_MFD_HUGE_SHIFT 26
#ifdef MADV_POPULATE_WRITE
#define MEM_MADV_POPULATE_READ	MADV_POPULATE_READ
#define MEM_MADV_POPULATE_WRITE MADV_POPULATE_WRITE
#else
#define MEM_MADV_POPULATE_READ	22
#define MEM_MADV_POPULATE_WRITE 23
#endif

static int map_file(const char *path, uint64_t size, bool readonly, int *fdp,
		    void **hvap)
{
	struct stat st;
	void *p;
	int fd;

	fd = open(path, (readonly ? O_RDONLY : O_RDWR | O_CREAT) | O_CLOEXEC,
		  0600);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		goto err_errno;
	if ((uint64_t)st.st_size < size) {
		if (readonly || !S_ISREG(st.st_mode)) {
			close(fd);
			return -EINVAL;
		}
		if (ftruncate(fd, (off_t)size) < 0)
			goto err_errno;
	}
	p = mmap(NULL, size, PROT_READ | (readonly ? 0 : PROT_WRITE),
		 MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto err_errno;
	*fdp = fd;
	*hvap = p;
	return 0;

err_errno:;
	int err = -errno;
	close(fd);
	return err;
}

/*
 * Anonymous RAM on hugepages: a memfd rather than MAP_HUGETLB so the region
 * has an fd like file-backed RAM, MAP_SHARED so the pages are reserved at
 * mmap() (a short pool is -ENOMEM here, not a SIGBUS or a KVM -EFAULT when
 * the guest first touches the page).
 */
static int map_hugepages(const char *name, uint64_t size, uint64_t page,
			 int *fdp, void **hvap)
{
	unsigned flags = MFD_CLOEXEC | MFD_HUGETLB;
	char mname[MEM_NAME_MAX + 8];
	void *p;
	int fd;

	if (page != MEM_HUGEPAGE_DEFAULT) {
		if (!IS_POW2(page) || page <= PAGE_SIZE || size % page)
			return -EINVAL;
		flags |= (unsigned)__builtin_ctzll(page) << MEM_MFD_HUGE_SHIFT;
	}
	snprintf(mname, sizeof(mname), "vmm:%s", name ? name : "ram");
	fd = memfd_create(mname, flags);
	if (fd < 0)
		return -errno;
	/* EINVAL if size is not a multiple of the (default) page size */
	if (ftruncate(fd, (off_t)size) < 0)
		goto err_errno;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto err_errno;
	*fdp = fd;
	*hvap = p;
	return 0;

err_errno:;
	int err = -errno;
	close(fd);
	return err;
}

/*
 * Anonymous guest RAM. MAP_NORESERVE: RAM the guest never touches costs
 * nothing. Aligned to 2 MiB and advised for transparent hugepages (where
 * the host allows them, i.e. THP "always" or "madvise"): whole 2 MiB
 * blocks in the host's page tables let KVM map guest RAM with 2 MiB
 * blocks in EPT/NPT or stage 2 as well, so a guest touching its memory
 * takes a fault per 2 MiB instead of per 4 KiB and misses the TLB less;
 * under nested virtualization every such fault is an exit of the L1
 * hypervisor. Deliberately not MADV_MERGEABLE: KSM would let one guest
 * probe another's memory through page-merge timing, and it adds
 * copy-on-write faults to the real-time path.
 */
#define THP_SIZE (2ULL << 20)

static void *map_anon(uint64_t size)
{
	uint64_t extra = size >= THP_SIZE ? THP_SIZE : 0;
	uint8_t *p, *aligned;

	if (size > SIZE_MAX - extra)
		return MAP_FAILED;
	p = mmap(NULL, size + extra, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED || !extra)
		return p;
	aligned = (uint8_t *)(((uintptr_t)p + THP_SIZE - 1) &
			      ~(uintptr_t)(THP_SIZE - 1));
	if (aligned > p)
		munmap(p, aligned - p);
	if (aligned + size < p + size + extra)
		munmap(aligned + size, p + size + extra - (aligned + size));
	/* Best effort: a kernel without THP says EINVAL. */
	madvise(aligned, size, MADV_HUGEPAGE);
	return aligned;
}

int mem_prefault(void *hva, uint64_t size, bool writable)
{
	volatile uint8_t *p = hva;

	/* MADV_POPULATE_* reports a page it cannot provide (-ENOMEM, ...);
	 * a touch that cannot be served kills the process instead, so the
	 * madvise() comes first. */
	if (madvise(hva, size,
		    writable ? MEM_MADV_POPULATE_WRITE
			     : MEM_MADV_POPULATE_READ) &&
	    errno != EINVAL)
		return -errno;
	/* Then touch every page: free once madvise() did the work, and the
	 * work itself before Linux 5.14 (EINVAL) or where madvise() is
	 * accepted but ignored (qemu-user). */
	for (uint64_t off = 0; off < size; off += PAGE_SIZE) {
		uint8_t v = p[off];

		if (writable)
			p[off] = v;
	}
	return 0;
}

int mem_add_region(struct guest_mem *m, const char *name, uint64_t gpa,
		   uint64_t size, const char *path, bool readonly)
{
	return mem_add_region_opts(m, name, gpa, size, path, readonly, NULL);
}

int mem_add_region_opts(struct guest_mem *m, const char *name, uint64_t gpa,
			uint64_t size, const char *path, bool readonly,
			const struct mem_opts *o)
{
	static const struct mem_opts none;
	struct mem_region *r;
	void *hva = NULL;
	int fd = -1, ret;

	if (!o)
		o = &none;
	if (m->nr >= MEM_MAX_REGIONS)
		return -ENOSPC;
	if (!size || size % PAGE_SIZE || gpa % PAGE_SIZE ||
	    gpa + (size - 1) < gpa)
		return -EINVAL;
	if (o->hugepage_size && (path || readonly))
		return -EINVAL;
	for (unsigned i = 0; i < m->nr; i++)
		if (ranges_overlap(gpa, size, m->regions[i].gpa,
				   m->regions[i].size))
			return -EEXIST;
	if (size > SIZE_MAX)
		return -ENOMEM;

	if (path) {
		ret = map_file(path, size, readonly, &fd, &hva);
		if (ret)
			return ret;
	} else if (o->hugepage_size) {
		ret = map_hugepages(name, size, o->hugepage_size, &fd, &hva);
		if (ret)
			return ret;
	} else {
		hva = map_anon(size);
		if (hva == MAP_FAILED)
			return -errno;
	}
	if (o->prefault) {
		ret = mem_prefault(hva, size, !readonly);
		if (ret) {
			munmap(hva, size);
			if (fd >= 0)
				close(fd);
			return ret;
		}
	}

	r = &m->regions[m->nr];
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name ? name : "ram");
	r->gpa = gpa;
	r->size = size;
	r->hva = hva;
	r->fd = fd;
	r->readonly = readonly;
	r->slot = m->nr;
	m->nr++;
	return 0;
}

void mem_free(struct guest_mem *m)
{
	for (unsigned i = 0; i < m->nr; i++) {
		struct mem_region *r = &m->regions[i];

		if (r->hva)
			munmap(r->hva, r->size);
		if (r->fd >= 0)
			close(r->fd);
	}
	memset(m, 0, sizeof(*m));
}

const struct mem_region *mem_find(const struct guest_mem *m, uint64_t gpa)
{
	for (unsigned i = 0; i < m->nr; i++) {
		const struct mem_region *r = &m->regions[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return r;
	}
	return NULL;
}

void *mem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	const struct mem_region *r = mem_find(m, gpa);
	uint64_t off;

	if (!r)
		return NULL;
	off = gpa - r->gpa;
	/* off < size here, so size - off cannot underflow. */
	if (len > r->size - off)
		return NULL;
	return r->hva + off;
}

int mem_read(const struct guest_mem *m, uint64_t gpa, void *buf, uint64_t len)
{
	const void *p = mem_ptr(m, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(buf, p, len);
	return 0;
}

int mem_write(const struct guest_mem *m, uint64_t gpa, const void *buf,
	      uint64_t len)
{
	void *p = mem_ptr(m, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, buf, len);
	return 0;
}

uint64_t mem_end(const struct guest_mem *m)
{
	uint64_t end = 0;

	for (unsigned i = 0; i < m->nr; i++)
		end = MAX(end, m->regions[i].gpa + m->regions[i].size);
	return end;
}
