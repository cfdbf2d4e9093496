/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues, device side (virtio 1.2, 2.7).
 *
 * The rings live in guest RAM and the guest may rewrite them at any moment,
 * also while we walk them. So: the avail index is read once per decision
 * (acquire: it orders the ring entries and descriptors read after it), each
 * descriptor is copied once into a local struct and only the copy is used,
 * every index is range-checked before use, every address range goes through
 * mem_ptr(), and every walk has a fixed bound. Anything the spec forbids the
 * driver to do breaks the queue: the device sets DEVICE_NEEDS_RESET and we
 * never touch the ring again until a reset.
 *
 * Bounds chosen (the spec says a chain, indirect part included, is never
 * longer than the queue size, 2.7.5.3.1):
 *   - the descriptors of the main table followed from one head: <= size;
 *   - an indirect table: a non-zero multiple of 16 bytes, at most `size`
 *     entries, lying inside one RAM region; the walk inside it follows at
 *     most that many entries;
 *   - one buffer spanning adjacent RAM regions gives one iovec per region
 *     (at most MEM_MAX_REGIONS).
 * So a pop reads at most 2 * size descriptors whatever the guest wrote.
 *
 * Zero-length descriptors are accepted and produce no iovec (their address
 * is not looked at); they still count for the chain bounds and the
 * readable-before-writable rule.
 *
 * Virtio 1.x rings are little-endian; so are the hosts we support.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "virtio/virtqueue.h"
#include "vmm/util.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "virtqueue.c assumes a little-endian host (virtio 1.x rings are LE)"
#endif

#define VIRTQ_DESC_F_NEXT	   1
#define VIRTQ_DESC_F_WRITE	   2
#define VIRTQ_DESC_F_INDIRECT	   4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY	   1

/* Guest-visible layouts (2.7.5, 2.7.6, 2.7.8). */
struct vq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[]; /* [size], then used_event */
};

struct vq_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vq_used {
	uint16_t flags;
	uint16_t idx;
	struct vq_used_elem ring[]; /* [size], then avail_event */
};

_Static_assert(sizeof(struct vq_desc) == 16, "virtq_desc is 16 bytes");
_Static_assert(sizeof(struct vq_used_elem) == 8, "virtq_used_elem is 8");

#define VQ_DESC_SIZE sizeof(struct vq_desc)

static uint64_t vq_avail_bytes(uint16_t size)
{
	return 6 + 2ULL * size;
}

static uint64_t vq_used_bytes(uint16_t size)
{
	return 6 + 8ULL * size;
}

static uint16_t *vq_used_event(const struct virtq *vq)
{
	return &vq->avail->ring[vq->size];
}

static uint16_t *vq_avail_event(const struct virtq *vq)
{
	return (uint16_t *)&vq->used->ring[vq->size];
}

static uint16_t vq_load16(const uint16_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void vq_store16(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

/* The avail index, ordering what we read of the ring after it. */
static uint16_t vq_avail_idx(const struct virtq *vq)
{
	return __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);
}

/* One descriptor into a local copy, read once. src may be unaligned (an
 * indirect table has no alignment rule). The compiler barrier keeps the
 * compiler from reading the guest's copy again instead of ours. */
static void vq_desc_read(const void *src, struct vq_desc *d)
{
	memcpy(d, src, sizeof(*d));
	__asm__ volatile("" ::: "memory");
}

static void __attribute__((format(printf, 2, 3)))
vq_set_why(struct virtq *vq, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(vq->broken_why, sizeof(vq->broken_why), fmt, ap);
	va_end(ap);
}

void vq_init(struct virtq *vq, const struct guest_mem *mem)
{
	memset(vq, 0, sizeof(*vq));
	vq->mem = mem;
}

void vq_reset(struct virtq *vq)
{
	vq_init(vq, vq->mem);
}

/* The host pointer for a ring area of `len` bytes at gpa, or NULL. */
static void *vq_area(struct virtq *vq, const char *what, uint64_t gpa,
		     uint64_t len, uint64_t align, bool writable)
{
	const struct mem_region *r;
	void *p;

	if (gpa % align) {
		vq_set_why(vq, "%s at %#llx not %llu-byte aligned", what,
			   (unsigned long long)gpa, (unsigned long long)align);
		return NULL;
	}
	p = mem_ptr(vq->mem, gpa, len);
	if (!p) {
		vq_set_why(vq, "%s [%#llx+%#llx) not in RAM", what,
			   (unsigned long long)gpa, (unsigned long long)len);
		return NULL;
	}
	r = mem_find(vq->mem, gpa);
	if (writable && r->readonly) {
		vq_set_why(vq, "%s at %#llx in read-only memory", what,
			   (unsigned long long)gpa);
		return NULL;
	}
	return p;
}

int vq_configure(struct virtq *vq, uint16_t size, uint64_t desc_gpa,
		 uint64_t avail_gpa, uint64_t used_gpa, uint64_t features)
{
	void *desc, *avail, *used;

	vq_reset(vq);
	if (!IS_POW2(size) || size > VQ_MAX_SIZE) {
		vq_set_why(vq, "queue size %u not a power of two <= %u", size,
			   VQ_MAX_SIZE);
		return -EINVAL;
	}
	desc = vq_area(vq, "descriptor table", desc_gpa,
		       (uint64_t)size * VQ_DESC_SIZE, 16, false);
	if (!desc)
		return -EINVAL;
	avail = vq_area(vq, "avail ring", avail_gpa, vq_avail_bytes(size), 2,
			false);
	if (!avail)
		return -EINVAL;
	used = vq_area(vq, "used ring", used_gpa, vq_used_bytes(size), 4, true);
	if (!used)
		return -EINVAL;

	vq->size = size;
	vq->desc_gpa = desc_gpa;
	vq->avail_gpa = avail_gpa;
	vq->used_gpa = used_gpa;
	vq->desc = desc;
	vq->avail = avail;
	vq->used = used;
	vq->event_idx = features & (1ULL << VIRTIO_F_EVENT_IDX);
	vq->indirect = features & (1ULL << VIRTIO_F_INDIRECT_DESC);
	vq->ready = true;
	return 0;
}

bool vq_has_work(const struct virtq *vq)
{
	if (!vq->ready || vq->broken)
		return false;
	return vq_avail_idx(vq) != vq->last_avail;
}

/* ---- walking a chain ---- */

struct vq_walk {
	struct virtq *vq;
	struct vq_chain *c;
	unsigned nout, nin; /* iovecs the chain needs */
	uint64_t total;	    /* bytes so far, both parts */
	bool seen_write;
	bool nobufs;   /* c's arrays are too small */
	uint16_t desc; /* where we are, for messages */
	int ind;       /* index in the indirect table, -1: none */
};

static int __attribute__((format(printf, 2, 3)))
vq_fail(struct vq_walk *w, const char *fmt, ...)
{
	struct virtq *vq = w->vq;
	char msg[sizeof(vq->broken_why)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (w->ind >= 0)
		vq_set_why(vq, "descriptor %u indirect[%d]: %s", w->desc,
			   w->ind, msg);
	else
		vq_set_why(vq, "descriptor %u: %s", w->desc, msg);
	vq->broken = true;
	return -EIO;
}

static void vq_add_iov(struct vq_walk *w, bool write, void *p, size_t len)
{
	struct vq_chain *c = w->c;

	if (write) {
		if (w->nin < c->max_in)
			c->in[w->nin] = (struct iovec){ p, len };
		else
			w->nobufs = true;
		w->nin++;
	} else {
		if (w->nout < c->max_out)
			c->out[w->nout] = (struct iovec){ p, len };
		else
			w->nobufs = true;
		w->nout++;
	}
}

/* One buffer descriptor (not INDIRECT): check it, add its iovecs. */
static int vq_add_buf(struct vq_walk *w, const struct vq_desc *d)
{
	const struct guest_mem *mem = w->vq->mem;
	bool write = d->flags & VIRTQ_DESC_F_WRITE;
	uint64_t gpa = d->addr, left = d->len;

	if (!write && w->seen_write)
		return vq_fail(w, "readable after a writable descriptor");
	w->seen_write |= write;
	w->total += d->len;
	if (w->total > UINT32_MAX)
		return vq_fail(w, "chain longer than 4 GiB");
	if (!left)
		return 0;
	if (gpa + (left - 1) < gpa)
		return vq_fail(w, "buffer [%#llx+%#llx) wraps",
			       (unsigned long long)gpa,
			       (unsigned long long)left);
	/* Adjacent regions are contiguous guest RAM: one iovec each. The
	 * address strictly grows, so each piece is in a new region. */
	for (unsigned pieces = 0; left; pieces++) {
		const struct mem_region *r = mem_find(mem, gpa);
		uint64_t len;
		void *p;

		if (!r || pieces == MEM_MAX_REGIONS)
			return vq_fail(w, "buffer [%#llx+%#x) not in RAM",
				       (unsigned long long)d->addr, d->len);
		if (write && r->readonly)
			return vq_fail(w,
				       "writable buffer at %#llx in "
				       "read-only memory",
				       (unsigned long long)gpa);
		len = MIN(left, r->size - (gpa - r->gpa));
		p = mem_ptr(mem, gpa, len);
		if (!p)
			return vq_fail(w, "buffer [%#llx+%#x) not in RAM",
				       (unsigned long long)d->addr, d->len);
		vq_add_iov(w, write, p, len);
		gpa += len;
		left -= len;
	}
	return 0;
}

/* The indirect table d refers to: the rest of the chain. */
static int vq_walk_indirect(struct vq_walk *w, const struct vq_desc *d)
{
	struct virtq *vq = w->vq;
	const uint8_t *table;
	struct vq_desc e;
	unsigned n, count = 0;
	uint16_t i = 0;
	int ret;

	if (!vq->indirect)
		return vq_fail(w, "INDIRECT without VIRTIO_F_INDIRECT_DESC");
	if (d->flags & VIRTQ_DESC_F_NEXT)
		return vq_fail(w, "INDIRECT together with NEXT");
	if (!d->len || d->len % VQ_DESC_SIZE)
		return vq_fail(w,
			       "indirect table length %u not a non-zero "
			       "multiple of 16",
			       d->len);
	n = d->len / VQ_DESC_SIZE;
	if (n > vq->size)
		return vq_fail(w, "indirect table of %u entries > size %u", n,
			       vq->size);
	table = mem_ptr(vq->mem, d->addr, d->len);
	if (!table)
		return vq_fail(w, "indirect table [%#llx+%#x) not in RAM",
			       (unsigned long long)d->addr, d->len);
	for (;;) {
		w->ind = i;
		if (++count > n)
			return vq_fail(w,
				       "chain longer than its table (%u): "
				       "loop",
				       n);
		vq_desc_read(table + (size_t)i * VQ_DESC_SIZE, &e);
		if (e.flags & VIRTQ_DESC_F_INDIRECT)
			return vq_fail(w, "INDIRECT inside an indirect table");
		ret = vq_add_buf(w, &e);
		if (ret)
			return ret;
		if (!(e.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (e.next >= n)
			return vq_fail(w, "next %u out of range (table %u)",
				       e.next, n);
		i = e.next;
	}
}

static int vq_walk(struct virtq *vq, struct vq_chain *c, uint16_t head)
{
	struct vq_walk w = { .vq = vq, .c = c, .desc = head, .ind = -1 };
	unsigned count = 0;
	uint16_t i = head;
	struct vq_desc d;
	int ret;

	for (;;) {
		w.desc = i;
		if (++count > vq->size)
			return vq_fail(&w,
				       "chain from head %u longer than "
				       "size %u: loop",
				       head, vq->size);
		vq_desc_read(&vq->desc[i], &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			/* NEXT is refused there: the end of the chain */
			ret = vq_walk_indirect(&w, &d);
			if (ret)
				return ret;
			break;
		}
		ret = vq_add_buf(&w, &d);
		if (ret)
			return ret;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		if (d.next >= vq->size)
			return vq_fail(&w, "next %u out of range (size %u)",
				       d.next, vq->size);
		i = d.next;
	}
	c->nout = w.nout;
	c->nin = w.nin;
	if (w.nobufs)
		return -ENOBUFS;
	c->head = head;
	c->out_len = 0;
	for (unsigned k = 0; k < w.nout; k++)
		c->out_len += c->out[k].iov_len;
	c->in_len = (uint32_t)(w.total - c->out_len);
	return 0;
}

int vq_pop(struct virtq *vq, struct vq_chain *c)
{
	uint16_t avail_idx, head, pending;
	int ret;

	if (vq->broken)
		return -EIO;
	if (!vq->ready)
		return 0;
	avail_idx = vq_avail_idx(vq);
	if (avail_idx == vq->last_avail) {
		if (!vq->event_idx || vq->notify_off)
			return 0;
		/* Empty: ask for a kick at the next buffer, then look again
		 * (the driver publishes idx, fences, reads avail_event; we
		 * publish avail_event, fence, read idx: one of us sees the
		 * other's write). */
		vq_store16(vq_avail_event(vq), vq->last_avail);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		avail_idx = vq_avail_idx(vq);
		if (avail_idx == vq->last_avail)
			return 0;
	}
	pending = (uint16_t)(avail_idx - vq->last_avail);
	if (pending > vq->size) {
		vq_set_why(vq, "avail idx %u is %u ahead of %u (size %u)",
			   avail_idx, pending, vq->last_avail, vq->size);
		vq->broken = true;
		return -EIO;
	}
	head = vq_load16(&vq->avail->ring[vq->last_avail & (vq->size - 1)]);
	if (head >= vq->size) {
		vq_set_why(vq, "avail ring[%u]: head %u out of range (size %u)",
			   vq->last_avail & (vq->size - 1), head, vq->size);
		vq->broken = true;
		return -EIO;
	}
	ret = vq_walk(vq, c, head);
	if (ret)
		return ret;
	vq->last_avail++;
	if (vq->event_idx && !vq->notify_off)
		vq_store16(vq_avail_event(vq), vq->last_avail);
	return 1;
}

void vq_unpop(struct virtq *vq, unsigned n)
{
	vq->last_avail = (uint16_t)(vq->last_avail - n);
}

void vq_push_many(struct virtq *vq, const uint16_t *heads, const uint32_t *lens,
		  unsigned n)
{
	if (!vq->ready || vq->broken || n > vq->size)
		return;
	for (unsigned i = 0; i < n; i++)
		if (heads[i] >= vq->size)
			return;
	for (unsigned i = 0; i < n; i++) {
		uint16_t slot = (uint16_t)(vq->used_idx + i) & (vq->size - 1);
		struct vq_used_elem *e = &vq->used->ring[slot];

		__atomic_store_n(&e->id, heads[i], __ATOMIC_RELAXED);
		__atomic_store_n(&e->len, lens[i], __ATOMIC_RELAXED);
	}
	vq->used_idx = (uint16_t)(vq->used_idx + n);
	/* release: the elements are visible before the index that covers
	 * them, all at once */
	__atomic_store_n(&vq->used->idx, vq->used_idx, __ATOMIC_RELEASE);
}

void vq_push(struct virtq *vq, uint16_t head, uint32_t len)
{
	vq_push_many(vq, &head, &len, 1);
}

bool vq_should_notify(struct virtq *vq)
{
	uint16_t old = vq->signalled_used, new = vq->used_idx, event;
	bool valid = vq->signalled_used_valid;

	if (!vq->ready)
		return false;
	/* Our used idx store before the driver's flags / used_event load
	 * (the driver writes those, fences, then reads used idx). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vq->signalled_used = new;
	vq->signalled_used_valid = true;
	if (valid && old == new)
		return false; /* nothing new since the last decision */
	if (!vq->event_idx)
		return !(vq_load16(&vq->avail->flags) &
			 VIRTQ_AVAIL_F_NO_INTERRUPT);
	if (!valid)
		return true;
	event = vq_load16(vq_used_event(vq));
	/* vring_need_event(): did [old, new) step over event? (2.7.10) */
	return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

void vq_set_notify(struct virtq *vq, bool enable)
{
	vq->notify_off = !enable;
	if (!vq->ready || vq->broken)
		return;
	if (!vq->event_idx)
		vq_store16(&vq->used->flags,
			   enable ? 0 : VIRTQ_USED_F_NO_NOTIFY);
	else if (enable)
		/* Kick when anything beyond what is there now arrives.
		 * Disabling has nothing to write: avail_event stays behind
		 * and vq_pop() stops moving it, so the driver kicks at most
		 * once more. */
		vq_store16(vq_avail_event(vq), vq_avail_idx(vq));
	if (enable)
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

size_t vq_iov_to_buf(const struct iovec *iov, unsigned n, size_t skip,
		     void *buf, size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len, m;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		m = MIN(l - skip, len - done);
		memcpy((uint8_t *)buf + done, (uint8_t *)iov[i].iov_base + skip,
		       m);
		done += m;
		skip = 0;
	}
	return done;
}

size_t vq_buf_to_iov(const struct iovec *iov, unsigned n, size_t skip,
		     const void *buf, size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len, m;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		m = MIN(l - skip, len - done);
		memcpy((uint8_t *)iov[i].iov_base + skip,
		       (const uint8_t *)buf + done, m);
		done += m;
		skip = 0;
	}
	return done;
}
