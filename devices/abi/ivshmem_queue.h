/* SPDX-License-Identifier: MIT */
/*
 * The ivshmem message queue: two single-producer single-consumer rings of
 * variable-length records in an ivshmem shared-memory region, one in each
 * direction, so that a Linux application (tools/libivshmem.h) and a guest
 * (guest/x86/rt/ivshmem.h), or any two ivshmem peers, can exchange messages
 * without inventing a protocol. docs/ivshmem.md, "Message queue layout",
 * describes the same bytes for implementers in other languages.
 *
 * Freestanding: <stdint.h>, <stddef.h>, <stdbool.h> and GCC/Clang __atomic
 * builtins only; the whole implementation is static inline here, so the
 * host library and the bare-metal guest run the same code.
 *
 * Layout (all little-endian; offsets from the queue base, which is 64-byte
 * aligned inside the region, normally offset 0 of BAR2 / the shm object):
 *
 *   0                 struct ivq_header (64 bytes)
 *   ring[0].offset    struct ivq_ctl of ring 0 (A -> B): 2 x 64 bytes
 *     + 128           ring 0 data, ring[0].size bytes (power of two)
 *   ring[1].offset    struct ivq_ctl of ring 1 (B -> A)
 *     + 128           ring 1 data, ring[1].size bytes
 *
 * Sides: A is the side that initialises the queue (ivq_init(); normally the
 * Linux application), B the side that attaches to it (ivq_attach(); normally
 * the guest). Either side may later attach again (a restarted application
 * adopts the queue as A with ivq_attach(.., IVQ_SIDE_A, ..) and keeps the
 * messages in flight); ivq_init() on a live queue starts a new generation,
 * and the other side's next call returns IVQ_ESTALE (attach again). B says
 * in the header which generation it uses (b_gen), and A waits for B to let
 * go of the old rings before it lays out new ones (ivq_init_begin()).
 *
 * A ring's head and tail are free-running 32-bit byte counters: the producer
 * owns head (bytes written), the consumer tail (bytes consumed); used bytes
 * = head - tail (mod 2^32), always a multiple of 8 and at most size. Each
 * sits in its own 64-byte line with a "wake me" flag its owner sets before
 * it sleeps. A record is an 8-byte header {u32 len, u32 tag} and len
 * payload bytes, padded to a multiple of 8; a record may wrap around the end
 * of the data area (the header never does: both are 8-byte aligned).
 *
 * Ordering: the producer writes the record, then stores head with release;
 * the consumer loads head with acquire, copies the record out, then stores
 * tail with release (and the producer loads tail with acquire before it
 * reuses the space). Wake-ups: a side about to sleep sets its flag, issues a
 * full fence and checks the ring once more (ivq_arm_rx(), ivq_arm_tx()); a
 * side that made progress issues a full fence and reads the other side's
 * flag (the `wake` result of ivq_send() / ivq_recv()): if set, it rings the
 * other side's doorbell (peer[other], vector[other] in the header). The
 * flag of a side is cleared by that side when it makes progress again.
 *
 * Trust: the other side may be buggy or hostile. Everything read from shared
 * memory is checked before use: the layout once at attach (copied into
 * struct ivq, never read again), every index and record length on every
 * call. A violation makes the ring direction broken (IVQ_EPROTO from then
 * on, until the next ivq_init()/ivq_attach()); no check ever lets a copy
 * leave the ring's data area or the caller's buffer. Payload bytes the
 * other side changes while they are being copied are its own problem.
 *
 * Concurrency: one producer and one consumer per ring; a struct ivq is used
 * by one thread (or protected by the caller) on each side.
 */
#ifndef DEVICES_ABI_IVSHMEM_QUEUE_H
#define DEVICES_ABI_IVSHMEM_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IVQ_MAGIC	0x51535649u /* "IVSQ" in memory order */
#define IVQ_VERSION	1u
#define IVQ_HEADER_SIZE 64u
#define IVQ_LINE	64u  /* alignment of the header, ctl blocks, data */
#define IVQ_CTL_SIZE	128u /* producer line + consumer line */
#define IVQ_REC_HDR	8u   /* record header: u32 len, u32 tag */
#define IVQ_REC_ALIGN	8u
#define IVQ_RING_MIN	64u
#define IVQ_RING_MAX	0x40000000u /* 1 GiB */
#define IVQ_NO_PEER	0xffffffffu /* header peer[]: no doorbell */
#define IVQ_MAX_PEER	0xffffu	    /* ivshmem peer IDs are 16 bits */

#define IVQ_SIDE_A 0u
#define IVQ_SIDE_B 1u

/* Results: 0 or one of these (the Linux errno values, negated; the host
 * library checks that they match <errno.h>). */
#define IVQ_EAGAIN   (-11)  /* ring empty (recv) / full (send) */
#define IVQ_EINVAL   (-22)  /* bad argument */
#define IVQ_ENOSPC   (-28)  /* the region is too small for the layout */
#define IVQ_EPROTO   (-71)  /* the other side broke the rules */
#define IVQ_EMSGSIZE (-90)  /* message too long for the ring / the buffer */
#define IVQ_ESTALE   (-116) /* the queue was re-initialised or wiped */

/* The header at the queue base. A writes everything at ivq_init(), magic
 * last; B writes only peer[1], vector[1] and b_gen; a side re-attaching
 * writes its own peer[] and vector[] entries. */
struct ivq_header {
	uint32_t magic;	      /* IVQ_MAGIC when valid (stored last) */
	uint16_t version;     /* IVQ_VERSION */
	uint16_t header_size; /* IVQ_HEADER_SIZE (>= it: future fields) */
	uint32_t generation;  /* +1 at every ivq_init() */
	uint32_t flags;	      /* 0; reserved */
	uint32_t peer[2];     /* A's, B's ivshmem peer ID, or IVQ_NO_PEER */
	uint16_t vector[2];   /* the doorbell vector A, B waits on */
	uint32_t b_gen;	      /* B: the generation it uses, 0 = none */
	struct {
		uint32_t offset; /* of the ring's ivq_ctl, from the base */
		uint32_t size;	 /* data bytes: power of two */
	} ring[2];		 /* [0]: A -> B, [1]: B -> A */
	uint8_t reserved[16];
};

/* The control block before each ring's data: two 64-byte lines, each
 * written only by one side. */
struct ivq_ctl {
	uint32_t head;	    /* producer: bytes written (free running) */
	uint32_t prod_wait; /* producer: 1 = ring me when space frees up */
	uint8_t pad0[IVQ_LINE - 8];
	uint32_t tail;	    /* consumer: bytes consumed (free running) */
	uint32_t cons_wait; /* consumer: 1 = ring me when data arrives */
	uint8_t pad1[IVQ_LINE - 8];
};

/* A record header in the data area. */
struct ivq_rec {
	uint32_t len; /* payload bytes */
	uint32_t tag; /* the application's (the echo guest: sequence number) */
};

_Static_assert(sizeof(struct ivq_header) == IVQ_HEADER_SIZE, "ivq_header");
_Static_assert(offsetof(struct ivq_header, generation) == 8, "generation");
_Static_assert(offsetof(struct ivq_header, peer) == 16, "peer");
_Static_assert(offsetof(struct ivq_header, vector) == 24, "vector");
_Static_assert(offsetof(struct ivq_header, b_gen) == 28, "b_gen");
_Static_assert(offsetof(struct ivq_header, ring) == 32, "ring");
_Static_assert(sizeof(struct ivq_ctl) == IVQ_CTL_SIZE, "ivq_ctl");
_Static_assert(offsetof(struct ivq_ctl, tail) == IVQ_LINE, "tail");
_Static_assert(sizeof(struct ivq_rec) == IVQ_REC_HDR, "ivq_rec");

/* One direction, as this side sees it. `pos` is this side's own index (head
 * of the tx ring, tail of the rx ring), kept privately: the copy in shared
 * memory is only written, never trusted. */
struct ivq_ring {
	struct ivq_ctl *ctl;
	uint8_t *data;
	uint32_t size; /* power of two */
	uint32_t pos;
	bool broken;
};

/* This side's handle on a queue (private memory). */
struct ivq {
	struct ivq_header *hdr;
	uint32_t generation;
	unsigned side; /* IVQ_SIDE_A or IVQ_SIDE_B */
	struct ivq_ring tx, rx;
};

/* ---- layout ---- */

static inline uint32_t ivq_align8(uint32_t n)
{
	return (n + (IVQ_REC_ALIGN - 1)) & ~(IVQ_REC_ALIGN - 1);
}

static inline bool ivq_pow2(uint64_t n)
{
	return n && !(n & (n - 1));
}

/* Bytes the layout takes with rings of ring_size data bytes each. */
static inline uint64_t ivq_layout_size(uint32_t ring_size)
{
	return IVQ_HEADER_SIZE + 2 * ((uint64_t)IVQ_CTL_SIZE + ring_size);
}

/* The largest ring size (power of two, IVQ_RING_MIN..IVQ_RING_MAX) whose
 * layout fits in region_size bytes, or 0 if none does. */
static inline uint32_t ivq_ring_size_for(uint64_t region_size)
{
	uint32_t s = IVQ_RING_MAX;

	while (s >= IVQ_RING_MIN && ivq_layout_size(s) > region_size)
		s >>= 1;
	return s >= IVQ_RING_MIN ? s : 0;
}

/* ---- shared-memory accessors (one access each, atomically) ---- */

static inline uint32_t ivq_load(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline uint32_t ivq_load_acquire(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void ivq_store(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static inline void ivq_store_release(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static inline void ivq_fence(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Copy len bytes in or out of a ring at byte counter `at`, wrapping. The
 * caller has checked len <= r->size. */
static inline void ivq_copy_in(struct ivq_ring *r, uint32_t at, const void *src,
			       uint32_t len)
{
	uint32_t off = at & (r->size - 1), first = r->size - off;

	if (first > len)
		first = len;
	__builtin_memcpy(r->data + off, src, first);
	__builtin_memcpy(r->data, (const uint8_t *)src + first, len - first);
}

static inline void ivq_copy_out(const struct ivq_ring *r, uint32_t at,
				void *dst, uint32_t len)
{
	uint32_t off = at & (r->size - 1), first = r->size - off;

	if (first > len)
		first = len;
	__builtin_memcpy(dst, r->data + off, first);
	__builtin_memcpy((uint8_t *)dst + first, r->data, len - first);
}

/* ---- set-up ---- */

static inline void ivq_ring_setup(struct ivq_ring *r, uint8_t *base,
				  uint32_t offset, uint32_t size)
{
	r->ctl = (struct ivq_ctl *)(void *)(base + offset);
	r->data = base + offset + IVQ_CTL_SIZE;
	r->size = size;
	r->pos = 0;
	r->broken = false;
}

static inline void ivq_bind(struct ivq *q, uint8_t *base, unsigned side,
			    const uint32_t off[2], const uint32_t size[2])
{
	q->hdr = (struct ivq_header *)(void *)base;
	q->side = side;
	ivq_ring_setup(&q->tx, base, off[side], size[side]);
	ivq_ring_setup(&q->rx, base, off[side ^ 1], size[side ^ 1]);
}

/* Re-initialising while B uses the rings must not let a late write of B
 * (an index it was about to store when the generation changed) land in
 * the new generation. So side A first clears the magic (B's next call
 * sees IVQ_ESTALE and stops touching the rings: it then stores b_gen = 0,
 * release) and waits until b_gen is 0 before it lays out the new queue:
 *
 *	if (ivq_init_begin(base, size))
 *		ring B, wait until ivq_b_released(base) (bounded: B may be
 *		dead; then go ahead anyway)
 *	ivq_init(q, base, ...)
 *
 * ivq_init_begin() returns true if B is attached to the current
 * generation (b_gen != 0); false when there is nobody to wait for. */
static inline bool ivq_init_begin(void *base, uint64_t region_size)
{
	struct ivq_header *h = (struct ivq_header *)base;

	if (!base || ((uintptr_t)base & (IVQ_LINE - 1)) ||
	    region_size < IVQ_HEADER_SIZE)
		return false;
	ivq_store(&h->magic, 0);
	ivq_fence();
	return ivq_load_acquire(&h->b_gen) != 0;
}

static inline bool ivq_b_released(const void *base)
{
	const struct ivq_header *h = (const struct ivq_header *)base;

	return ivq_load_acquire(&h->b_gen) == 0;
}

/* Become side A of a new queue at `base` (64-byte aligned) in a region of
 * region_size bytes from base: rings of ring_size bytes each (0: the
 * largest that fits, ivq_ring_size_for()), empty; peer[A] = my_peer,
 * vector[A] = my_vector, b_gen = 0. peer[B] and vector[B] keep their
 * values if the old header was of this version (a hint: A can ring B at
 * once so that it re-attaches; B rewrites them when it does), else
 * IVQ_NO_PEER and 0. The generation is the old one + 1 (never 0), so a
 * side B attached to the old queue sees IVQ_ESTALE. Magic is cleared first
 * and stored last (release). Call ivq_init_begin() first if B may be
 * attached (see above). 0, IVQ_EINVAL (alignment, ring size not a power of
 * two in range) or IVQ_ENOSPC. */
static inline int ivq_init(struct ivq *q, void *base, uint64_t region_size,
			   uint32_t ring_size, uint32_t my_peer,
			   uint16_t my_vector)
{
	struct ivq_header *h = (struct ivq_header *)base;
	uint32_t off[2], size[2], gen, b_peer = IVQ_NO_PEER;
	uint16_t b_vector = 0;

	if (!base || ((uintptr_t)base & (IVQ_LINE - 1)))
		return IVQ_EINVAL;
	if (!ring_size)
		ring_size = ivq_ring_size_for(region_size);
	if (!ring_size)
		return IVQ_ENOSPC;
	if (!ivq_pow2(ring_size) || ring_size < IVQ_RING_MIN ||
	    ring_size > IVQ_RING_MAX)
		return IVQ_EINVAL;
	if (ivq_layout_size(ring_size) > region_size)
		return IVQ_ENOSPC;

	ivq_store(&h->magic, 0);
	ivq_fence();
	if (__atomic_load_n(&h->version, __ATOMIC_RELAXED) == IVQ_VERSION) {
		b_peer = ivq_load(&h->peer[IVQ_SIDE_B]);
		b_vector = __atomic_load_n(&h->vector[IVQ_SIDE_B],
					   __ATOMIC_RELAXED);
		if (b_peer > IVQ_MAX_PEER)
			b_peer = IVQ_NO_PEER;
	}
	gen = ivq_load(&h->generation) + 1;
	if (!gen)
		gen = 1;
	off[0] = IVQ_HEADER_SIZE;
	off[1] = IVQ_HEADER_SIZE + IVQ_CTL_SIZE + ring_size;
	size[0] = size[1] = ring_size;
	__builtin_memset((uint8_t *)base + off[1], 0, IVQ_CTL_SIZE);
	__builtin_memset((uint8_t *)base + off[0], 0, IVQ_CTL_SIZE);
	h->version = IVQ_VERSION;
	h->header_size = IVQ_HEADER_SIZE;
	h->flags = 0;
	h->peer[IVQ_SIDE_A] = my_peer;
	h->peer[IVQ_SIDE_B] = b_peer;
	h->vector[IVQ_SIDE_A] = my_vector;
	h->vector[IVQ_SIDE_B] = b_vector;
	ivq_store(&h->b_gen, 0);
	for (unsigned i = 0; i < 2; i++) {
		h->ring[i].offset = off[i];
		h->ring[i].size = size[i];
	}
	__builtin_memset(h->reserved, 0, sizeof(h->reserved));
	ivq_store(&h->generation, gen);
	ivq_store_release(&h->magic, IVQ_MAGIC);

	ivq_bind(q, (uint8_t *)base, IVQ_SIDE_A, off, size);
	q->generation = gen;
	return 0;
}

/* Check a ring's two indices as found in shared memory. */
static inline bool ivq_indices_ok(const struct ivq_ring *r, uint32_t head,
				  uint32_t tail)
{
	uint32_t used = head - tail;

	return used <= r->size && !(used & (IVQ_REC_ALIGN - 1));
}

/* Attach to the queue at `base` (region_size bytes from base) as `side`:
 * check the header and the layout (every ring inside the region, 64-byte
 * aligned, power-of-two sizes, no overlap), take this side's indices from
 * shared memory if they are consistent with the other side's, then write
 * peer[side] = my_peer and vector[side] = my_vector (B: and b_gen, the
 * generation it now uses). 0; IVQ_EAGAIN if
 * there is no valid magic (not initialised yet, or being re-initialised:
 * try again later); IVQ_EPROTO for a header that is not a valid version-1
 * layout for this region; IVQ_EINVAL for bad arguments. Indices that do not
 * make sense are not an error here: that direction is broken (IVQ_EPROTO
 * from the calls that use it). */
static inline int ivq_attach(struct ivq *q, void *base, uint64_t region_size,
			     unsigned side, uint32_t my_peer,
			     uint16_t my_vector)
{
	struct ivq_header *h = (struct ivq_header *)base;
	uint32_t off[2], size[2], gen, hsize;
	uint64_t end[2];

	if (!base || ((uintptr_t)base & (IVQ_LINE - 1)) || side > 1 ||
	    region_size < IVQ_HEADER_SIZE)
		return IVQ_EINVAL;
	if (ivq_load_acquire(&h->magic) != IVQ_MAGIC)
		return IVQ_EAGAIN;
	gen = ivq_load(&h->generation);
	if (__atomic_load_n(&h->version, __ATOMIC_RELAXED) != IVQ_VERSION)
		return IVQ_EPROTO;
	hsize = __atomic_load_n(&h->header_size, __ATOMIC_RELAXED);
	if (hsize < IVQ_HEADER_SIZE || (hsize & (IVQ_LINE - 1)))
		return IVQ_EPROTO;
	for (unsigned i = 0; i < 2; i++) {
		off[i] = ivq_load(&h->ring[i].offset);
		size[i] = ivq_load(&h->ring[i].size);
		if (!ivq_pow2(size[i]) || size[i] < IVQ_RING_MIN ||
		    size[i] > IVQ_RING_MAX || (off[i] & (IVQ_LINE - 1)) ||
		    off[i] < hsize)
			return IVQ_EPROTO;
		end[i] = (uint64_t)off[i] + IVQ_CTL_SIZE + size[i];
		if (end[i] > region_size)
			return IVQ_EPROTO;
	}
	if (!(end[0] <= off[1] || end[1] <= off[0]))
		return IVQ_EPROTO; /* the rings overlap */
	/* Re-initialised while we read? Then the layout may be mixed. */
	ivq_fence();
	if (ivq_load(&h->magic) != IVQ_MAGIC || ivq_load(&h->generation) != gen)
		return IVQ_EAGAIN;

	ivq_bind(q, (uint8_t *)base, side, off, size);
	q->generation = gen;
	q->tx.pos = ivq_load(&q->tx.ctl->head);
	if (!ivq_indices_ok(&q->tx, q->tx.pos,
			    ivq_load_acquire(&q->tx.ctl->tail)))
		q->tx.broken = true;
	q->rx.pos = ivq_load(&q->rx.ctl->tail);
	if (!ivq_indices_ok(&q->rx, ivq_load_acquire(&q->rx.ctl->head),
			    q->rx.pos))
		q->rx.broken = true;
	ivq_store(&h->peer[side], my_peer);
	__atomic_store_n(&h->vector[side], my_vector, __ATOMIC_RELAXED);
	if (side == IVQ_SIDE_B)
		ivq_store_release(&h->b_gen, gen);
	return 0;
}

/* Has the queue been re-initialised (or wiped) since this side attached? */
static inline bool ivq_stale(const struct ivq *q)
{
	return ivq_load(&q->hdr->magic) != IVQ_MAGIC ||
	       ivq_load(&q->hdr->generation) != q->generation;
}

/* Side B lets go of the rings: b_gen = 0 (release) if it still names our
 * generation. The calls below do it when they find the queue stale; call
 * it when B stops using a queue for another reason. */
static inline void ivq_release(struct ivq *q)
{
	if (q->side == IVQ_SIDE_B &&
	    ivq_load_acquire(&q->hdr->b_gen) == q->generation)
		ivq_store_release(&q->hdr->b_gen, 0);
}

/* ivq_stale() for the calls that use the rings: a stale B releases. */
static inline bool ivq_check_stale(struct ivq *q)
{
	if (!ivq_stale(q))
		return false;
	ivq_release(q);
	return true;
}

/* The doorbell of the other side: its peer ID (IVQ_NO_PEER if it has none
 * or the header holds no valid ID) and *vector. */
static inline uint32_t ivq_other_peer(const struct ivq *q, uint16_t *vector)
{
	unsigned o = q->side ^ 1;
	uint32_t p = ivq_load(&q->hdr->peer[o]);

	*vector = __atomic_load_n(&q->hdr->vector[o], __ATOMIC_RELAXED);
	return p <= IVQ_MAX_PEER ? p : IVQ_NO_PEER;
}

/* Largest payload one record can carry on the tx ring. */
static inline uint32_t ivq_max_msg(const struct ivq *q)
{
	return q->tx.size - IVQ_REC_HDR;
}

/* ---- messages ---- */

/* Send one record (tag, len payload bytes from buf). 0: queued, and *wake
 * says whether the consumer asked for a doorbell (ring ivq_other_peer()).
 * IVQ_EAGAIN: not enough space now (nothing written; see ivq_arm_tx()).
 * IVQ_EMSGSIZE: len > ivq_max_msg(). IVQ_ESTALE: re-initialised (attach
 * again). IVQ_EPROTO: the consumer's tail is impossible (broken). */
static inline int ivq_send(struct ivq *q, uint32_t tag, const void *buf,
			   uint32_t len, bool *wake)
{
	struct ivq_ring *r = &q->tx;
	struct ivq_rec rec;
	uint32_t tail, need;

	*wake = false;
	if (ivq_check_stale(q))
		return IVQ_ESTALE;
	if (r->broken)
		return IVQ_EPROTO;
	if (len > r->size - IVQ_REC_HDR)
		return IVQ_EMSGSIZE;
	need = ivq_align8(IVQ_REC_HDR + len);
	tail = ivq_load_acquire(&r->ctl->tail);
	if (!ivq_indices_ok(r, r->pos, tail)) {
		r->broken = true;
		return IVQ_EPROTO;
	}
	if (r->size - (r->pos - tail) < need)
		return IVQ_EAGAIN;
	rec.len = len;
	rec.tag = tag;
	ivq_copy_in(r, r->pos, &rec, sizeof(rec));
	if (len)
		ivq_copy_in(r, r->pos + IVQ_REC_HDR, buf, len);
	r->pos += need;
	ivq_store_release(&r->ctl->head, r->pos);
	if (ivq_load(&r->ctl->prod_wait))
		ivq_store(&r->ctl->prod_wait, 0);
	ivq_fence();
	*wake = ivq_load(&r->ctl->cons_wait) != 0;
	return 0;
}

/* Look at the next record on the rx ring without consuming it: 0 and its
 * *len and *tag; IVQ_EAGAIN if the ring is empty; IVQ_ESTALE, IVQ_EPROTO
 * (the producer's head or the record's length is impossible: broken). */
static inline int ivq_peek(struct ivq *q, uint32_t *len, uint32_t *tag)
{
	struct ivq_ring *r = &q->rx;
	uint32_t head, used, rlen;

	if (ivq_check_stale(q))
		return IVQ_ESTALE;
	if (r->broken)
		return IVQ_EPROTO;
	head = ivq_load_acquire(&r->ctl->head);
	if (!ivq_indices_ok(r, head, r->pos)) {
		r->broken = true;
		return IVQ_EPROTO;
	}
	used = head - r->pos;
	if (!used)
		return IVQ_EAGAIN;
	/* used >= 8: the header is there. Read each word once. */
	rlen = __atomic_load_n(
		(const uint32_t *)(void *)(r->data + (r->pos & (r->size - 1))),
		__ATOMIC_RELAXED);
	*tag = __atomic_load_n(
		(const uint32_t *)(void *)(r->data +
					   ((r->pos + 4) & (r->size - 1))),
		__ATOMIC_RELAXED);
	if (rlen > used - IVQ_REC_HDR) {
		r->broken = true;
		return IVQ_EPROTO;
	}
	*len = rlen;
	return 0;
}

/* Consume the record ivq_peek() just reported (len payload bytes). */
static inline void ivq_consume(struct ivq *q, uint32_t len, bool *wake)
{
	struct ivq_ring *r = &q->rx;

	r->pos += ivq_align8(IVQ_REC_HDR + len);
	ivq_store_release(&r->ctl->tail, r->pos);
	if (ivq_load(&r->ctl->cons_wait))
		ivq_store(&r->ctl->cons_wait, 0);
	ivq_fence();
	*wake = ivq_load(&r->ctl->prod_wait) != 0;
}

/* Receive one record into buf (cap bytes): 0, *len payload bytes, *tag, and
 * *wake says whether the producer is waiting for space (ring it).
 * IVQ_EMSGSIZE: the record is longer than cap (*len says how long; it stays
 * queued: call again with a larger buffer, or ivq_discard()). A NULL buf
 * takes empty records only (cap counts as 0). IVQ_EAGAIN: empty (see
 * ivq_arm_rx()). IVQ_ESTALE, IVQ_EPROTO: as ivq_peek(). */
static inline int ivq_recv(struct ivq *q, uint32_t *tag, void *buf,
			   uint32_t cap, uint32_t *len, bool *wake)
{
	uint32_t rlen, rtag;
	int err;

	*wake = false;
	err = ivq_peek(q, &rlen, &rtag);
	if (err)
		return err;
	*len = rlen;
	*tag = rtag;
	if (rlen > (buf ? cap : 0))
		return IVQ_EMSGSIZE;
	if (buf && rlen)
		ivq_copy_out(&q->rx, q->rx.pos + IVQ_REC_HDR, buf, rlen);
	ivq_consume(q, rlen, wake);
	return 0;
}

/* Drop the next record unread: 0 (and *wake as ivq_recv()), or an error of
 * ivq_peek(). */
static inline int ivq_discard(struct ivq *q, bool *wake)
{
	uint32_t rlen, rtag;
	int err;

	*wake = false;
	err = ivq_peek(q, &rlen, &rtag);
	if (err)
		return err;
	ivq_consume(q, rlen, wake);
	return 0;
}

/* ---- sleeping ---- */

/* About to sleep until a record arrives: ask the producer for a doorbell,
 * then look once more. True if the caller must not sleep (a record is
 * there, or the queue is stale or broken: call ivq_recv() to find out). */
static inline bool ivq_arm_rx(struct ivq *q)
{
	struct ivq_ring *r = &q->rx;

	if (r->broken || ivq_check_stale(q))
		return true;
	ivq_store(&r->ctl->cons_wait, 1);
	ivq_fence();
	return ivq_load_acquire(&r->ctl->head) != r->pos;
}

/* About to sleep until a record of len bytes fits: ask the consumer for a
 * doorbell, then look once more. True if the caller must not sleep. */
static inline bool ivq_arm_tx(struct ivq *q, uint32_t len)
{
	struct ivq_ring *r = &q->tx;
	uint32_t tail;

	if (r->broken || ivq_check_stale(q) || len > r->size - IVQ_REC_HDR)
		return true;
	ivq_store(&r->ctl->prod_wait, 1);
	ivq_fence();
	tail = ivq_load_acquire(&r->ctl->tail);
	return r->size - (r->pos - tail) >= ivq_align8(IVQ_REC_HDR + len);
}

/* Bytes queued on the rx ring now (0 if stale or broken). */
static inline uint32_t ivq_rx_pending(struct ivq *q)
{
	uint32_t head;

	if (q->rx.broken || ivq_check_stale(q))
		return 0;
	head = ivq_load_acquire(&q->rx.ctl->head);
	return ivq_indices_ok(&q->rx, head, q->rx.pos) ? head - q->rx.pos : 0;
}

/* Bytes free on the tx ring now (0 if stale or broken): a record of len
 * payload bytes fits if ivq_align8(IVQ_REC_HDR + len) <= this. */
static inline uint32_t ivq_tx_free(struct ivq *q)
{
	uint32_t tail;

	if (q->tx.broken || ivq_check_stale(q))
		return 0;
	tail = ivq_load_acquire(&q->tx.ctl->tail);
	return ivq_indices_ok(&q->tx, q->tx.pos, tail)
		       ? q->tx.size - (q->tx.pos - tail)
		       : 0;
}

#endif
