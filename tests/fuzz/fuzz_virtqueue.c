/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues (virtio/virtqueue.c), device side, over guest RAM the
 * input fills: the driver is the input. Layout:
 *
 *   byte 0     bits 0-3: log2 of the queue size (1..32768); bit 4:
 *              EVENT_IDX; bit 5: INDIRECT_DESC; bit 6: ring addresses
 *              from the input (else desc at 0, avail right after it, used
 *              after that, 4-aligned)
 *   byte 1     iovec array sizes: bits 0-2 out, bits 3-5 in, each one of
 *              0 1 2 3 4 8 16 64
 *   bytes 2-3  program length P (little-endian)
 *   [24 bytes  with bit 6: desc, avail, used addresses, u64 LE each]
 *   P bytes    program, one op byte (+ arguments) at a time:
 *                op & 7 = 0  pop; if a chain: check it, touch it, push it
 *                             (len = its writable length), should_notify
 *                         1  pop and hold the chain (at most 64 held)
 *                         2  push the oldest held chain, len = next byte;
 *                             with op & 8 all held ones at once (lens 0)
 *                         3  unpop the (op >> 3) % 8 + 1 newest held chains
 *                         4  should_notify
 *                         5  set_notify(op & 8)
 *                         6  the driver writes (op >> 3) + 1 bytes at the
 *                             RAM offset given by the next 3 bytes (LE),
 *                             bytes from the input
 *                         7  (op >> 3) & 3: 0 reset and configure again,
 *                             1 has_work then pop (must agree), 2 pop with
 *                             no iovec arrays, 3 copy helpers on a held
 *                             chain
 *   rest       RAM image from guest address 0
 *
 * Then the queue is drained: pop and push until empty or broken. At most
 * 2^21 / (2 * size) pops per input (a pop may read 2 * size descriptors).
 *
 * Guest RAM: 1 MiB at 0, 64 KiB right after it, a hole, 64 KiB of ROM
 * (mapped read-only: a device write faults) at 2 MiB and 64 KiB at the top
 * of the address space, each between guard pages.
 *
 * Checked: configure fails cleanly or gives a ready queue; a popped chain
 * has head < size, fits its arrays, has non-empty iovecs each inside one
 * region (the writable ones not in ROM) summing to out_len/in_len; -ENOBUFS
 * consumes nothing and does not break the queue; -EIO leaves the queue
 * broken with a message, and it stays broken; push publishes the used idx.
 */
#include "fuzz_util.h"
#include "virtio/virtqueue.h"

#define RAM_SIZE (1024 * 1024ULL)
#define HI_SIZE	 0x10000ULL
#define ROM_GPA	 0x200000ULL
#define TOP_GPA	 0xffffffffffff0000ULL
#define MAX_HELD 64
#define MAX_IOV	 64

static const unsigned iov_sizes[8] = { 0, 1, 2, 3, 4, 8, 16, 64 };

struct vq_run {
	struct guest_mem mem;
	struct virtq vq;
	uint16_t size;
	uint64_t desc, avail, used, features;
	struct iovec out[MAX_IOV], in[MAX_IOV];
	unsigned max_out, max_in;
	struct vq_chain held[MAX_HELD];
	struct iovec held_iov[MAX_HELD][2][2]; /* first out/in iovecs */
	unsigned nheld;
	unsigned budget; /* pops left */
	uint64_t sink;
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_ERR);
	return 0;
}

static const struct mem_region *region_of(const struct vq_run *r, const void *p,
					  size_t len)
{
	const uint8_t *b = p;

	for (unsigned i = 0; i < r->mem.nr; i++) {
		const struct mem_region *m = &r->mem.regions[i];

		if (b >= m->hva && (size_t)(b - m->hva) < m->size &&
		    len <= m->size - (size_t)(b - m->hva))
			return m;
	}
	return NULL;
}

static void check_why(const struct virtq *vq)
{
	size_t n = strnlen(vq->broken_why, sizeof(vq->broken_why));

	FUZZ_CHECK(n > 0 && n < sizeof(vq->broken_why),
		   "broken_why empty or not terminated");
}

/* A chain vq_pop() returned 1 for: its promises; read the first and last
 * byte of every readable iovec, rewrite those of every writable one. */
static void check_chain(struct vq_run *r, const struct vq_chain *c)
{
	uint64_t out_len = 0, in_len = 0;

	FUZZ_CHECK(c->head < r->size, "head %u >= size %u", c->head, r->size);
	FUZZ_CHECK(c->nout <= c->max_out && c->nin <= c->max_in,
		   "%u/%u iovecs in arrays of %u/%u", c->nout, c->nin,
		   c->max_out, c->max_in);
	for (unsigned i = 0; i < c->nout + c->nin; i++) {
		bool in = i >= c->nout;
		const struct iovec *v = in ? &c->in[i - c->nout] : &c->out[i];
		const struct mem_region *m =
			region_of(r, v->iov_base, v->iov_len);
		volatile uint8_t *p = v->iov_base;

		FUZZ_CHECK(v->iov_len, "empty iovec %u", i);
		FUZZ_CHECK(m, "iovec %u [%p+%zu) not inside a region", i,
			   v->iov_base, v->iov_len);
		FUZZ_CHECK(!in || !m->readonly, "writable iovec %u in %s", i,
			   m->name);
		if (in) {
			p[0] = p[0];
			p[v->iov_len - 1] = p[v->iov_len - 1];
			in_len += v->iov_len;
		} else {
			r->sink += p[0] + p[v->iov_len - 1];
			out_len += v->iov_len;
		}
	}
	FUZZ_CHECK(out_len == c->out_len && in_len == c->in_len,
		   "lengths %llu/%llu, chain says %u/%u",
		   (unsigned long long)out_len, (unsigned long long)in_len,
		   c->out_len, c->in_len);
}

/* vq_pop() with its promises checked. */
static int pop(struct vq_run *r, struct vq_chain *c, unsigned max_out,
	       unsigned max_in)
{
	uint16_t last = r->vq.last_avail;
	bool was_broken = r->vq.broken;
	int ret;

	if (!r->budget)
		return 0;
	r->budget--;
	*c = (struct vq_chain){ .out = max_out ? r->out : NULL,
				.max_out = max_out,
				.in = max_in ? r->in : NULL,
				.max_in = max_in };
	ret = vq_pop(&r->vq, c);
	switch (ret) {
	case 1:
		FUZZ_CHECK(!r->vq.broken && r->vq.ready, "popped, broken");
		FUZZ_CHECK(r->vq.last_avail == (uint16_t)(last + 1),
			   "last_avail %u -> %u", last, r->vq.last_avail);
		check_chain(r, c);
		break;
	case 0:
		FUZZ_CHECK(!r->vq.broken, "broken queue popped 0");
		FUZZ_CHECK(r->vq.last_avail == last, "empty pop moved");
		break;
	case -ENOBUFS:
		FUZZ_CHECK(!r->vq.broken, "-ENOBUFS broke the queue");
		FUZZ_CHECK(r->vq.last_avail == last, "-ENOBUFS consumed");
		FUZZ_CHECK(c->nout > max_out || c->nin > max_in,
			   "-ENOBUFS for %u/%u iovecs in %u/%u", c->nout,
			   c->nin, max_out, max_in);
		break;
	case -EIO:
		FUZZ_CHECK(r->vq.broken, "-EIO, not broken");
		FUZZ_CHECK(r->vq.last_avail == last, "-EIO consumed");
		check_why(&r->vq);
		if (!was_broken)
			fuzz_log("vq: broken: %s\n", r->vq.broken_why);
		FUZZ_CHECK(vq_pop(&r->vq, c) == -EIO, "broken, then not");
		FUZZ_CHECK(!vq_has_work(&r->vq), "broken queue has work");
		break;
	default:
		fuzz_fail("vq_pop returned %d", ret);
	}
	return ret;
}

static void push(struct vq_run *r, uint16_t head, uint32_t len)
{
	uint16_t before = r->vq.used_idx;
	bool live = r->vq.ready && !r->vq.broken && head < r->size;

	vq_push(&r->vq, head, len);
	FUZZ_CHECK(r->vq.used_idx == (uint16_t)(before + live),
		   "used_idx %u -> %u", before, r->vq.used_idx);
	if (live) {
		uint16_t idx;

		/* the used ring may overlap the others, but nothing ran
		 * since the store */
		memcpy(&idx, (uint8_t *)r->vq.used + 2, 2);
		FUZZ_CHECK(idx == r->vq.used_idx, "used->idx %u, shadow %u",
			   idx, r->vq.used_idx);
	}
}

static void push_all(struct vq_run *r)
{
	uint16_t before = r->vq.used_idx, heads[MAX_HELD];
	uint32_t lens[MAX_HELD] = { 0 };
	bool live = r->vq.ready && !r->vq.broken && r->nheld <= r->size;

	for (unsigned i = 0; i < r->nheld; i++) {
		heads[i] = r->held[i].head;
		live &= heads[i] < r->size;
	}
	vq_push_many(&r->vq, heads, lens, r->nheld);
	FUZZ_CHECK(r->vq.used_idx == (uint16_t)(before + (live ? r->nheld : 0)),
		   "push_many: used_idx %u -> %u", before, r->vq.used_idx);
	r->nheld = 0;
}

static int configure(struct vq_run *r)
{
	int ret = vq_configure(&r->vq, r->size, r->desc, r->avail, r->used,
			       r->features);

	r->nheld = 0;
	if (ret) {
		FUZZ_CHECK(ret == -EINVAL, "configure: %d", ret);
		FUZZ_CHECK(!r->vq.ready && !r->vq.broken, "failed, yet ready");
		check_why(&r->vq);
		fuzz_log("vq: configure: %s\n", r->vq.broken_why);
		return ret;
	}
	FUZZ_CHECK(r->vq.ready && !r->vq.broken && r->vq.size == r->size,
		   "configured, not ready");
	FUZZ_CHECK(region_of(r, r->vq.used, 6 + 8ULL * r->size) &&
			   !region_of(r, r->vq.used, 1)->readonly,
		   "used ring not in writable RAM");
	return 0;
}

static void hold(struct vq_run *r, const struct vq_chain *c)
{
	struct vq_chain *h = &r->held[r->nheld];

	*h = *c;
	/* keep copies of the first iovecs for the copy helpers */
	h->nout = MIN(c->nout, 2u);
	h->nin = MIN(c->nin, 2u);
	if (h->nout)
		memcpy(r->held_iov[r->nheld][0], c->out,
		       h->nout * sizeof(*c->out));
	if (h->nin)
		memcpy(r->held_iov[r->nheld][1], c->in,
		       h->nin * sizeof(*c->in));
	h->out = r->held_iov[r->nheld][0];
	h->in = r->held_iov[r->nheld][1];
	r->nheld++;
}

static void copy_helpers(struct vq_run *r, uint8_t arg)
{
	uint8_t buf[64];
	struct vq_chain *h;
	size_t n;

	if (!r->nheld)
		return;
	h = &r->held[r->nheld - 1];
	n = vq_iov_to_buf(h->out, h->nout, arg, buf, sizeof(buf));
	FUZZ_CHECK(n <= sizeof(buf), "copied %zu", n);
	r->sink += n ? buf[n - 1] : 0;
	n = vq_buf_to_iov(h->in, h->nin, arg, buf, sizeof(buf));
	FUZZ_CHECK(n <= sizeof(buf), "copied %zu", n);
}

static void run_op(struct vq_run *r, struct fuzz_in *in)
{
	uint8_t op = fuzz_u8(in), *ram = r->mem.regions[0].hva;
	struct vq_chain c;
	unsigned n;
	uint64_t off;

	switch (op & 7) {
	case 0:
		if (pop(r, &c, r->max_out, r->max_in) == 1) {
			push(r, c.head, c.in_len);
			vq_should_notify(&r->vq);
		}
		break;
	case 1:
		if (r->nheld < MAX_HELD &&
		    pop(r, &c, r->max_out, r->max_in) == 1)
			hold(r, &c);
		break;
	case 2:
		if (r->nheld && (op & 8)) {
			push_all(r);
		} else if (r->nheld) {
			push(r, r->held[0].head, fuzz_u8(in));
			r->nheld--;
			memmove(r->held, r->held + 1,
				r->nheld * sizeof(r->held[0]));
			memmove(r->held_iov, r->held_iov + 1,
				r->nheld * sizeof(r->held_iov[0]));
			for (unsigned i = 0; i < r->nheld; i++) {
				r->held[i].out = r->held_iov[i][0];
				r->held[i].in = r->held_iov[i][1];
			}
		}
		break;
	case 3:
		n = MIN((op >> 3) % 8 + 1u, r->nheld);
		/* the newest held ones are the last popped, none pushed */
		vq_unpop(&r->vq, n);
		r->nheld -= n;
		break;
	case 4:
		vq_should_notify(&r->vq);
		break;
	case 5:
		vq_set_notify(&r->vq, op & 8);
		break;
	case 6:
		off = fuzz_le(in, 3) % RAM_SIZE;
		n = (op >> 3) + 1u;
		n = (unsigned)fuzz_take(in, ram + off, MIN(n, RAM_SIZE - off));
		break;
	default:
		switch ((op >> 3) & 3) {
		case 0:
			vq_reset(&r->vq);
			FUZZ_CHECK(!r->vq.ready && !r->vq.broken &&
					   r->vq.mem == &r->mem,
				   "reset");
			configure(r);
			break;
		case 1:
			if (vq_has_work(&r->vq) && r->budget)
				FUZZ_CHECK(pop(r, &c, r->max_out, r->max_in),
					   "has_work, pop found nothing");
			break;
		case 2:
			pop(r, &c, 0, 0);
			break;
		default:
			copy_helpers(r, op >> 5);
			break;
		}
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vq_run r; /* big: not on the stack */
	struct fuzz_in in = { data, size };
	uint8_t setup = fuzz_u8(&in), arrays = fuzz_u8(&in);
	size_t plen = fuzz_le(&in, 2);
	struct fuzz_in prog;
	struct vq_chain c;

	memset(&r, 0, sizeof(r));
	r.size = (uint16_t)(1u << (setup & 15));
	r.features = ((setup & 0x10) ? 1ULL << VIRTIO_F_EVENT_IDX : 0) |
		     ((setup & 0x20) ? 1ULL << VIRTIO_F_INDIRECT_DESC : 0) |
		     1ULL << VIRTIO_F_VERSION_1;
	r.max_out = iov_sizes[arrays & 7];
	r.max_in = iov_sizes[(arrays >> 3) & 7];
	r.budget = MAX(32u, (1u << 21) / (2u * r.size));
	if (setup & 0x40) {
		r.desc = fuzz_le(&in, 8);
		r.avail = fuzz_le(&in, 8);
		r.used = fuzz_le(&in, 8);
	} else {
		r.desc = 0;
		r.avail = 16ULL * r.size;
		r.used = ALIGN_UP(r.avail + 6 + 2ULL * r.size, 4);
	}
	plen = MIN(plen, in.n);
	prog = (struct fuzz_in){ in.p, plen };
	in.p += plen;
	in.n -= plen;

	fuzz_mem_add(&r.mem, "ram", 0, RAM_SIZE, false);
	fuzz_mem_add(&r.mem, "hi", RAM_SIZE, HI_SIZE, false);
	fuzz_mem_add(&r.mem, "rom", ROM_GPA, 0x10000, true);
	fuzz_mem_add(&r.mem, "top", TOP_GPA, 0x10000, false);
	fuzz_take(&in, r.mem.regions[0].hva, RAM_SIZE);

	vq_init(&r.vq, &r.mem);
	FUZZ_CHECK(vq_pop(&r.vq, &c) == 0, "pop before configure");
	configure(&r);
	while (prog.n)
		run_op(&r, &prog);

	/* drain: each pop consumes a slot of a fixed avail idx, so this
	 * ends after at most `size` pops even without the budget */
	for (;;) {
		int ret = pop(&r, &c, MAX_IOV, MAX_IOV);

		if (ret != 1)
			break;
		push(&r, c.head, c.in_len);
	}
	vq_should_notify(&r.vq);
	fuzz_log("vq: size %u, popped to %u, used %u%s%s\n", r.size,
		 r.vq.last_avail, r.vq.used_idx,
		 r.vq.broken ? ", broken: " : "",
		 r.vq.broken ? r.vq.broken_why : "");
	fuzz_mem_free(&r.mem);
	return 0;
}
