/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues (virtio/virtqueue.c): rings built by hand in anonymous
 * guest memory, the way a driver lays them out (virtio 1.2, 2.7).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "virtio/virtqueue.h"
#include "vmm/mem.h"
#include "vmm/util.h"

/* Guest RAM: 1 MiB at 0, 64 KiB right after it (buffers may span the two),
 * a hole, 64 KiB of ROM at 2 MiB, and 64 KiB at the top of the address
 * space (for wrap-around). */
#define RAM_SIZE 0x100000ULL
#define HI_GPA	 0x100000ULL
#define HI_SIZE	 0x10000ULL
#define ROM_GPA	 0x200000ULL
#define TOP_GPA	 0xffffffffffff0000ULL
#define TOP_SIZE 0x10000ULL

#define QSZ	  16
#define DESC_GPA  0x1000ULL
#define AVAIL_GPA 0x3000ULL
#define USED_GPA  0x4000ULL
#define IND_GPA	  0x8000ULL
#define DATA_GPA  0x10000ULL

#define F_NEXT	   1
#define F_WRITE	   2
#define F_INDIRECT 4

#define FEAT_INDIRECT (1ULL << VIRTIO_F_INDIRECT_DESC)
#define FEAT_EVENT    (1ULL << VIRTIO_F_EVENT_IDX)

struct t_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

static struct guest_mem m;
static struct virtq vq;
static uint16_t qsz;
static struct t_desc *desc;
static uint16_t *avail; /* flags, idx, ring[qsz], used_event */
static uint16_t *used;	/* flags, idx, then 8-byte elements, avail_event */

static struct iovec out_iov[8], in_iov[8];
static struct vq_chain ch;

static void setup(void)
{
	cr_assert_eq(mem_add_region(&m, "ram", 0, RAM_SIZE, NULL, false), 0);
	cr_assert_eq(mem_add_region(&m, "hi", HI_GPA, HI_SIZE, NULL, false), 0);
	cr_assert_eq(mem_add_region(&m, "rom", ROM_GPA, 0x10000, NULL, true),
		     0);
	cr_assert_eq(mem_add_region(&m, "top", TOP_GPA, TOP_SIZE, NULL, false),
		     0);
	vq_init(&vq, &m);
	ch = (struct vq_chain){
		.out = out_iov, .max_out = 8, .in = in_iov, .max_in = 8
	};
}

static void teardown(void)
{
	mem_free(&m);
}

TestSuite(vq, .init = setup, .fini = teardown);

static void *gp(uint64_t gpa)
{
	void *p = mem_ptr(&m, gpa, 1);

	cr_assert_not_null(p);
	return p;
}

/* Configure a queue of `size` at the usual addresses. */
static void start(uint16_t size, uint64_t features)
{
	int ret = vq_configure(&vq, size, DESC_GPA, AVAIL_GPA, USED_GPA,
			       features);

	cr_assert_eq(ret, 0, "configure: %d (%s)", ret, vq.broken_why);
	qsz = size;
	desc = gp(DESC_GPA);
	avail = gp(AVAIL_GPA);
	used = gp(USED_GPA);
}

static void set_desc(void *table, unsigned i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	struct t_desc d = { addr, len, flags, next };

	memcpy((uint8_t *)table + 16 * i, &d, sizeof(d)); /* may be unaligned */
}

/* Make chain `head` available (the driver's side). */
static void offer(uint16_t head)
{
	avail[2 + (avail[1] & (qsz - 1))] = head;
	__atomic_store_n(&avail[1], (uint16_t)(avail[1] + 1), __ATOMIC_RELEASE);
}

static uint16_t *used_event(void)
{
	return &avail[2 + qsz];
}

static uint16_t *avail_event(void)
{
	return &used[2 + 4 * qsz];
}

static uint32_t used_elem(unsigned slot, unsigned field)
{
	uint32_t *e = (uint32_t *)&used[2];

	return e[2 * slot + field];
}

static void expect_iov(const struct iovec *iov, uint64_t gpa, size_t len)
{
	cr_expect_eq(iov->iov_base, mem_ptr(&m, gpa, len), "iov base for %#llx",
		     (unsigned long long)gpa);
	cr_expect_eq(iov->iov_len, len);
}

static void expect_broken(const char *why_part)
{
	cr_assert_eq(vq_pop(&vq, &ch), -EIO);
	cr_assert(vq.broken);
	cr_assert(strstr(vq.broken_why, why_part), "why: \"%s\", want \"%s\"",
		  vq.broken_why, why_part);
	/* and it stays so */
	cr_assert_eq(vq_pop(&vq, &ch), -EIO);
	cr_assert_not(vq_has_work(&vq));
}

/* ---- configure ---- */

Test(vq, configure_validation)
{
	struct {
		uint16_t size;
		uint64_t d, a, u;
		const char *why;
	} bad[] = {
		{ 0, DESC_GPA, AVAIL_GPA, USED_GPA, "power of two" },
		{ 3, DESC_GPA, AVAIL_GPA, USED_GPA, "power of two" },
		{ 65535, DESC_GPA, AVAIL_GPA, USED_GPA, "power of two" },
		{ 16, DESC_GPA + 8, AVAIL_GPA, USED_GPA, "aligned" },
		{ 16, DESC_GPA, AVAIL_GPA + 1, USED_GPA, "aligned" },
		{ 16, DESC_GPA, AVAIL_GPA, USED_GPA + 2, "aligned" },
		{ 16, 0x500000, AVAIL_GPA, USED_GPA, "not in RAM" },
		/* 16 * 16 bytes from 1 MiB - 16: spans two regions */
		{ 16, RAM_SIZE - 16, AVAIL_GPA, USED_GPA, "not in RAM" },
		{ 16, DESC_GPA, HI_GPA + HI_SIZE - 2, USED_GPA, "not in RAM" },
		{ 16, DESC_GPA, AVAIL_GPA, TOP_GPA + TOP_SIZE - 64,
		  "not in RAM" },
		{ 16, DESC_GPA, AVAIL_GPA, UINT64_MAX - 3, "not in RAM" },
		{ 16, DESC_GPA, AVAIL_GPA, ROM_GPA, "read-only" },
	};

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = vq_configure(&vq, bad[i].size, bad[i].d, bad[i].a,
				       bad[i].u, 0);

		cr_expect_eq(ret, -EINVAL, "case %u: %d", i, ret);
		cr_expect_not(vq.ready, "case %u", i);
		cr_expect(strstr(vq.broken_why, bad[i].why), "case %u: \"%s\"",
			  i, vq.broken_why);
		cr_expect_eq(vq_pop(&vq, &ch), 0, "case %u", i);
	}
	/* rings may be read-only for the device (desc, avail), not used */
	cr_assert_eq(
		vq_configure(&vq, 16, ROM_GPA, ROM_GPA + 0x1000, USED_GPA, 0),
		0);
	cr_assert(vq.ready);
	cr_assert_str_eq(vq.broken_why, "");
	/* the largest queue */
	cr_assert_eq(vq_configure(&vq, 32768, 0, 0x80000, 0x92000, 0), 0);
	cr_assert_eq(vq.size, 32768);
	/* a new configure starts from scratch */
	vq.last_avail = 7;
	vq.broken = true;
	start(QSZ, 0);
	cr_assert_eq(vq.last_avail, 0);
	cr_assert_not(vq.broken);
}

Test(vq, not_ready)
{
	cr_assert_eq(vq_pop(&vq, &ch), 0);
	cr_assert_not(vq_has_work(&vq));
	cr_assert_not(vq_should_notify(&vq));
	vq_push(&vq, 0, 1);
	vq_set_notify(&vq, false);
}

/* ---- normal chains ---- */

Test(vq, empty)
{
	start(QSZ, 0);
	cr_assert_not(vq_has_work(&vq));
	cr_assert_eq(vq_pop(&vq, &ch), 0);
}

Test(vq, out_only)
{
	start(QSZ, 0);
	set_desc(desc, 3, DATA_GPA, 100, F_NEXT, 7);
	set_desc(desc, 7, DATA_GPA + 0x1000, 50, 0, 0);
	offer(3);
	cr_assert(vq_has_work(&vq));
	cr_assert_eq(vq_pop(&vq, &ch), 1);
	cr_assert_eq(ch.head, 3);
	cr_assert_eq(ch.nout, 2);
	cr_assert_eq(ch.nin, 0);
	expect_iov(&out_iov[0], DATA_GPA, 100);
	expect_iov(&out_iov[1], DATA_GPA + 0x1000, 50);
	cr_assert_eq(ch.out_len, 150);
	cr_assert_eq(ch.in_len, 0);
	cr_assert_not(vq_has_work(&vq));
	cr_assert_eq(vq_pop(&vq, &ch), 0);
}

Test(vq, in_only)
{
	start(QSZ, 0);
	set_desc(desc, 0, DATA_GPA, 4096, F_WRITE, 0);
	offer(0);
	cr_assert_eq(vq_pop(&vq, &ch), 1);
	cr_assert_eq(ch.nout, 0);
	cr_assert_eq(ch.nin, 1);
	expect_iov(&in_iov[0], DATA_GPA, 4096);
	cr_assert_eq(ch.in_len, 4096);
}

Test(vq, mixed_and_push)
{
	start(QSZ, 0);
	set_desc(desc, 15, DATA_GPA, 10, F_NEXT, 1);
	set_desc(desc, 1, DATA_GPA + 100, 20, F_NEXT, 2);
	set_desc(desc, 2, DATA_GPA + 200, 30, F_NEXT | F_WRITE, 0);
	set_desc(desc, 0, DATA_GPA + 300, 40, F_WRITE, 0);
	set_desc(desc, 5, DATA_GPA + 400, 1, 0, 0);
	offer(15);
	offer(5);
	cr_assert_eq(vq_pop(&vq, &ch), 1);
	cr_assert_eq(ch.head, 15);
	cr_assert_eq(ch.nout, 2);
	cr_assert_eq(ch.nin, 2);
	expect_iov(&out_iov[1], DATA_GPA + 100, 20);
	expect_iov(&in_iov[0], DATA_GPA + 200, 30);
	expect_iov(&in_iov[1], DATA_GPA + 300, 40);
	cr_assert_eq(ch.out_len, 30);
	cr_assert_eq(ch.in_len, 70);

	vq_push(&vq, ch.head, 55);
	cr_assert_eq(used[1], 1);
	cr_assert_eq(used_elem(0, 0), 15);
	cr_assert_eq(used_elem(0, 1), 55);

	cr_assert_eq(vq_pop(&vq, &ch), 1);
	cr_assert_eq(ch.head, 5);
	vq_push(&vq, 5, 0);
	cr_assert_eq(used[1], 2);
	cr_assert_eq(used_elem(1, 0), 5);
	cr_assert_eq(used_elem(1, 1), 0);

	/* pushes with a bad head are ignored */
	vq_push(&vq, QSZ, 1);
	cr_assert_eq(used[1], 2);
}

Test(vq, push_many)
{
	uint16_t heads[] = { 3, 1, 2 }, bad[] = { 0, QSZ };
	uint32_t lens[] = { 30, 10, 20 };

	start(QSZ, 0);
	vq.used_idx = 14; /* the elements wrap around the ring */
	vq_push_many(&vq, heads, lens, 3);
	cr_assert_eq(used[1], 17);
	cr_assert_eq(used_elem(14, 0), 3);
	cr_assert_eq(used_elem(14, 1), 30);
	cr_assert_eq(used_elem(15, 0), 1);
	cr_assert_eq(used_elem(0, 0), 2);
	cr_assert_eq(used_elem(0, 1), 20);
	cr_assert(vq_should_notify(&vq));
	/* all or nothing */
	vq_push_many(&vq, bad, lens, 2);
	cr_assert_eq(used[1], 17);
	cr_assert_eq(used_elem(1, 0), 0);
	vq_push_many(&vq, heads, lens, QSZ + 1);
	cr_assert_eq(used[1], 17);
	vq_push_many(&vq, heads, lens, 0);
	cr_assert_eq(used[1], 17);
	cr_assert_not(vq_should_notify(&vq));
}

Test(vq, index_wrap)
{
	start(4, 0);
	/* both sides start near the top of the 16-bit index space */
	avail[1] = 65534;
	vq.last_avail = 65534;
	vq.used_idx = 65534;
	for (unsigned i = 0; i < 4; i++)
		set_desc(desc, i, DATA_GPA + i * 16, 16, 0, 0);
	for (uint16_t i = 0; i < 4; i++)
		offer(i);
	cr_assert_eq(avail[1], 2);
	for (uint16_t i = 0; i < 4; i++) {
		cr_assert_eq(vq_pop(&vq, &ch), 1);
		cr_assert_eq(ch.head, i);
		vq_push(&vq, ch.head, i);
	}
	cr_assert_eq(vq_pop(&vq, &ch), 0);
	cr_assert_eq(vq.last_avail, 2);
	cr_assert_eq(used[1], 2);
	/* slot = idx % size: 65534 -> 2, 65535 -> 3, 0 -> 0, 1 -> 1 */
	cr_assert_eq(used_elem(2, 0), 0);
	cr_assert_eq(used_elem(1, 0), 3);
}

Test(vq, full_ring)
{
	start(QSZ, 0);
	for (uint16_t i = 0; i < QSZ; i++) {
		set_desc(desc, i, DATA_GPA, 8, 0, 0);
		offer(i);
	}
	for (unsigned i = 0; i < QSZ; i++)
		cr_assert_eq(vq_pop(&vq, &ch), 1);
	cr_assert_eq(vq_pop(&vq, &ch), 0);
}

Test(vq, longest_chain)
{
	start(QSZ, 0);
	struct iovec big[QSZ];

	ch.out = big;
	ch.max_out = QSZ;
	for (uint16_t i = 0; i < QSZ; i++)
		set_desc(desc, i, DATA_GPA + i, 1, i + 1 < QSZ ? F_NEXT : 0,
			 i + 1);
	offer(0);
	cr_assert_eq(vq_pop(&vq, &ch), 1);
	cr_assert_eq(ch.nout, QSZ);
	cr_assert_eq(ch.out_len, QSZ);
}

/* ---- indirect ---- */

Test(vq, indirect)
{
	struct t_desc *ind = gp(IND_GPA);

	start(QSZ, FEAT_INDIRECT);
	set_desc(ind, 0, DATA_GPA, 12, F_NEXT, 2);
	set_desc(ind, 2, DATA_GPA + 0x100, 100, F_NEXT | F_WRITE, 1);
	set_desc(ind, 1, DATA_GPA + 0x200, 200, F_WRITE, 0);
	/* the WRITE flag of the descriptor that points at the table is
	 * ignored */
	set_desc(desc, 4, IND_GPA, 3 * 16, F_INDIRECT | F_WRITE, 0);
	offer(4);
	cr_assert_eq(vq_pop(&vq, &ch), 1, "%s", vq.broken_why);
	cr_assert_eq(ch.head, 4);
	cr_assert_eq(ch.nout, 1);
	cr_assert_eq(ch.nin, 2);
	expect_iov(&out_iov[0], DATA_GPA, 12);
	expect_iov(&in_iov[0], DATA_GPA + 0x100, 100);
	expect_iov(&in_iov[1], DATA_GPA + 0x200, 200);
	cr_assert_eq(ch.in_len, 300);

	/* direct descriptors, then the table; an unaligned table */
	set_desc(desc, 6, DATA_GPA + 0x300, 8, F_NEXT, 9);
	set_desc(desc, 9, IND_GPA + 0x101, 16, F_INDIRECT, 0);
	set_desc(gp(IND_GPA + 0x101), 0, DATA_GPA + 0x400, 9, F_WRITE, 0);
	offer(6);
	cr_assert_eq(vq_pop(&vq, &ch), 1, "%s", vq.broken_why);
	cr_assert_eq(ch.nout, 1);
	cr_assert_eq(ch.nin, 1);
	expect_iov(&in_iov[0], DATA_GPA + 0x400, 9);
}

Test(vq, indirect_full_table)
{
	struct t_desc *ind = gp(IND_GPA);
	struct iovec big[QSZ];

	start(QSZ, FEAT_INDIRECT);
	ch.in = big;
	ch.max_in = QSZ;
	for (uint16_t i = 0; i < QSZ; i++)
		set_desc(ind, i, DATA_GPA + i * 4, 4,
			 F_WRITE | (i + 1 < QSZ ? F_NEXT : 0), i + 1);
	set_desc(desc, 0, IND_GPA, QSZ * 16, F_INDIRECT, 0);
	offer(0);
	cr_assert_eq(vq_pop(&vq, &ch), 1, "%s", vq.broken_why);
	cr_assert_eq(ch.nin, QSZ);
	cr_assert_eq(ch.in_len, QSZ * 4);
}

Test(vq, indirect_not_negotiated)
{
	start(QSZ, 0);
	set_desc(gp(IND_GPA), 0, DATA_GPA, 12, 0, 0);
	set_desc(desc, 0, IND_GPA, 16, F_INDIRECT, 0);
	offer(0);
	expect_broken("VIRTIO_F_INDIRECT_DESC");
}

Test(vq, indirect_with_next)
{
	start(QSZ, FEAT_INDIRECT);
	set_desc(gp(IND_GPA), 0, DATA_GPA, 12, 0, 0);
	set_desc(desc, 0, IND_GPA, 16, F_INDIRECT | F_NEXT, 1);
	set_desc(desc, 1, DATA_GPA, 12, 0, 0);
	offer(0);
	expect_broken("descriptor 0: INDIRECT together with NEXT");
}

Test(vq, indirect_nested)
{
	struct t_desc *ind = gp(IND_GPA);

	start(QSZ, FEAT_INDIRECT);
	set_desc(ind, 0, DATA_GPA, 12, F_NEXT, 1);
	set_desc(ind, 1, IND_GPA + 0x100, 16, F_INDIRECT, 0);
	set_desc(gp(IND_GPA + 0x100), 0, DATA_GPA, 12, 0, 0);
	set_desc(desc, 2, IND_GPA, 32, F_INDIRECT, 0);
	offer(2);
	expect_broken("descriptor 2 indirect[1]: INDIRECT inside an indirect");
}

Test(vq, indirect_bad_length)
{
	uint32_t lens[] = { 0, 8, 17, 16 * QSZ + 16, 0xfffffff0 };

	for (unsigned i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		vq_reset(&vq);
		start(QSZ, FEAT_INDIRECT);
		set_desc(desc, 0, IND_GPA, lens[i], F_INDIRECT, 0);
		offer(0);
		cr_expect_eq(vq_pop(&vq, &ch), -EIO, "len %u", lens[i]);
		cr_expect(strstr(vq.broken_why, "indirect table"), "%s",
			  vq.broken_why);
		memset(avail, 0, 4);
	}
}

Test(vq, indirect_table_outside_ram)
{
	start(QSZ, FEAT_INDIRECT);
	/* in the hole after "hi", straddling the end of "ram", wrapping */
	set_desc(desc, 0, HI_GPA + HI_SIZE, 16, F_INDIRECT, 0);
	set_desc(desc, 1, RAM_SIZE - 16, 32, F_INDIRECT, 0);
	set_desc(desc, 2, UINT64_MAX - 7, 16, F_INDIRECT, 0);
	for (uint16_t i = 0; i < 3; i++) {
		vq_reset(&vq);
		start(QSZ, FEAT_INDIRECT);
		memset(avail, 0, 4);
		offer(i);
		expect_broken("not in RAM");
	}
}

Test(vq, indirect_loop_and_range)
{
	struct t_desc *ind = gp(IND_GPA);

	start(QSZ, FEAT_INDIRECT);
	set_desc(ind, 0, DATA_GPA, 1, F_NEXT, 1);
	set_desc(ind, 1, DATA_GPA, 1, F_NEXT, 0);
	set_desc(desc, 0, IND_GPA, 32, F_INDIRECT, 0);
	offer(0);
	expect_broken("loop");

	vq_reset(&vq);
	start(QSZ, FEAT_INDIRECT);
	memset(avail, 0, 4);
	/* next inside the queue size but outside the 2-entry table */
	set_desc(ind, 1, DATA_GPA, 1, F_NEXT, 2);
	offer(0);
	expect_broken(
		"descriptor 0 indirect[1]: next 2 out of range (table 2)");
}

/* ---- malformed main chains ---- */

Test(vq, loop)
{
	start(QSZ, 0);
	set_desc(desc, 0, DATA_GPA, 1, F_NEXT, 1);
	set_desc(desc, 1, DATA_GPA, 1, F_NEXT, 0);
	offer(0);
	expect_broken("loop");

	/* a descriptor pointing at itself */
	vq_reset(&vq);
	start(QSZ, 0);
	memset(avail, 0, 4);
	set_desc(desc, 3, DATA_GPA, 1, F_NEXT, 3);
	offer(3);
	expect_broken("longer than size 16: loop");
}

Test(vq, next_out_of_range)
{
	start(QSZ, 0);
	set_desc(desc, 2, DATA_GPA, 1, F_NEXT, 5);
	set_desc(desc, 5, DATA_GPA, 1, F_NEXT, 4099);
	offer(2);
	cr_assert_eq(vq_pop(&vq, &ch), -EIO);
	cr_assert_str_eq(vq.broken_why,
			 "descriptor 5: next 4099 out of range (size 16)");
}

Test(vq, head_out_of_range)
{
	start(QSZ, 0);
	offer(QSZ);
	expect_broken("head 16 out of range");
}

Test(vq, avail_idx_jump)
{
	start(QSZ, 0);
	set_desc(desc, 0, DATA_GPA, 1, 0, 0);
	/* exactly size ahead is a full ring: fine */
	avail[1] = QSZ;
	cr_assert_eq(vq_pop(&vq, &ch), 1);
	vq_reset(&vq);
	start(QSZ, 0);
	avail[1] = QSZ + 1;
	cr_assert(vq_has_work(&vq));
	expect_broken("avail idx 17 is 17 ahead of 0 (size 16)");
	/* "behind" is far ahead modulo 2^16 */
	vq_reset(&vq);
	start(QSZ, 0);
	avail[1] = 0xffff;
	expect_broken("ahead");
}

Test(vq, readable_after_writable)
{
	start(QSZ, 0);
	set_desc(desc, 0, DATA_GPA, 1, F_NEXT | F_WRITE, 1);
	set_desc(desc, 1, DATA_GPA, 1, 0, 0);
	offer(0);
	expect_broken("descriptor 1: readable after a writable");
}

Test(vq, readable_after_writable_indirect)
{
	struct t_desc *ind = gp(IND_GPA);

	start(QSZ, FEAT_INDIRECT);
	set_desc(desc, 0, DATA_GPA, 1, F_NEXT | F_WRITE, 1);
	set_desc(desc, 1, IND_GPA, 16, F_INDIRECT, 0);
	set_desc(ind, 0, DATA_GPA, 1, 0, 0);
	offer(0);
	expect_broken("readable after a writable");
}

/* ---- buffer addresses and lengths ---- */

static void one_buffer(uint64_t gpa, uint32_t len, uint16_t flags)
{
	vq_reset(&vq);
	start(QSZ, 0);
	memset(avail, 0, 4);
	set_desc(desc, 0, gpa, len, flags, 0);
	offer(0);
}

Test(vq, buffer_outside_ram)
{
	struct {
		uint64_t gpa;
		uint32_t len;
		uint16_t flags;
		const char *why;
	} bad[] = {
		{ 0x500000, 1, 0, "not in RAM" },
		{ HI_GPA + HI_SIZE - 1, 2, 0,
		  "not in RAM" }, /* into the hole */
		{ RAM_SIZE - 1, (uint32_t)HI_SIZE + 2, 0, "not in RAM" },
		{ UINT64_MAX, 2, 0, "wraps" },
		{ TOP_GPA + 0x100, UINT32_MAX, 0, "wraps" },
		{ 0, UINT32_MAX, 0, "not in RAM" },
		{ ROM_GPA, 16, F_WRITE, "read-only" },
	};

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		one_buffer(bad[i].gpa, bad[i].len, bad[i].flags);
		cr_expect_eq(vq_pop(&vq, &ch), -EIO, "case %u", i);
		cr_expect(strstr(vq.broken_why, bad[i].why), "case %u: \"%s\"",
			  i, vq.broken_why);
	}
}

Test(vq, buffer_edges)
{
	/* the last bytes of the address space */
	one_buffer(TOP_GPA + TOP_SIZE - 0x100, 0x100, F_WRITE);
	cr_assert_eq(vq_pop(&vq, &ch), 1, "%s", vq.broken_why);
	expect_iov(&in_iov[0], TOP_GPA + TOP_SIZE - 0x100, 0x100);
	one_buffer(UINT64_MAX, 1, 0);
	cr_assert_eq(vq_pop(&vq, &ch), 1, "%s", vq.broken_why);
	expect_iov(&out_iov[0], UINT64_MAX, 1);
	/* ROM is fine to read */
	one_buffer(ROM_GPA, 0x10000, 0);
	cr_assert_eq(vq_pop(&vq, &ch), 1, "%s", vq.broken_why);
	/* all of RAM */
	one_buffer(0, RAM_SIZE, 0);
	cr_assert_eq(vq_pop(&vq, &ch), 1, "%s", vq.broken_why);
}

Test(vq, buffer_spans_adjacent_regions)
{
	one_buffer(RAM_SIZE - 0x10, 0x30, F_WRITE);
	cr_assert_eq(vq_pop(&vq, &ch), 1, "%s", vq.broken_why);
	cr_assert_eq(ch.nin, 2);
	expect_iov(&in_iov[0], RAM_SIZE - 0x10, 0x10);
	expect_iov(&in_iov[1], HI_GPA, 0x20);
	cr_assert_eq(ch.in_len, 0x30);

	/* needs two iovecs: -ENOBUFS with only one */
	one_buffer(RAM_SIZE - 0x10, 0x30, 0);
	ch.max_out = 1;
	cr_assert_eq(vq_pop(&vq, &ch), -ENOBUFS);
	cr_assert_eq(ch.nout, 2);
}

Test(vq, zero_length)
{
	start(QSZ, 0);
	/* zero-length descriptors give no iovec, whatever their address */
	set_desc(desc, 0, DATA_GPA, 0, F_NEXT, 1);
	set_desc(desc, 1, UINT64_MAX, 0, F_NEXT, 2);
	set_desc(desc, 2, DATA_GPA, 5, F_NEXT, 3);
	set_desc(desc, 3, 0xdead00000000ULL, 0, F_WRITE, 0);
	offer(0);
	cr_assert_eq(vq_pop(&vq, &ch), 1, "%s", vq.broken_why);
	cr_assert_eq(ch.nout, 1);
	cr_assert_eq(ch.nin, 0);
	cr_assert_eq(ch.out_len, 5);
	expect_iov(&out_iov[0], DATA_GPA, 5);
	/* a chain of nothing */
	set_desc(desc, 4, 0, 0, 0, 0);
	offer(4);
	cr_assert_eq(vq_pop(&vq, &ch), 1);
	cr_assert_eq(ch.nout + ch.nin, 0);
	cr_assert_eq(ch.out_len + ch.in_len, 0);
}

Test(vq, total_over_4g)
{
	/* 3 GiB of (unbacked) RAM at 4 GiB, read twice: 6 GiB */
	cr_assert_eq(mem_add_region(&m, "big", 4 * GiB, 3 * GiB, NULL, false),
		     0);
	start(QSZ, 0);
	set_desc(desc, 0, 4 * GiB, 3 * GiB, F_NEXT, 1);
	set_desc(desc, 1, 4 * GiB, 3 * GiB, 0, 0);
	offer(0);
	expect_broken("descriptor 1: chain longer than 4 GiB");

	/* just under 4 GiB is fine */
	vq_reset(&vq);
	start(QSZ, 0);
	memset(avail, 0, 4);
	set_desc(desc, 1, 4 * GiB, (uint32_t)(GiB - 1), F_WRITE, 0);
	set_desc(desc, 0, 4 * GiB, 3 * GiB, F_NEXT, 1);
	offer(0);
	cr_assert_eq(vq_pop(&vq, &ch), 1, "%s", vq.broken_why);
	cr_assert_eq(ch.out_len, 3 * GiB);
	cr_assert_eq(ch.in_len, GiB - 1);
}

/* ---- -ENOBUFS, unpop, broken ---- */

Test(vq, enobufs)
{
	start(QSZ, 0);
	set_desc(desc, 0, DATA_GPA, 1, F_NEXT, 1);
	set_desc(desc, 1, DATA_GPA, 1, F_NEXT, 2);
	set_desc(desc, 2, DATA_GPA, 1, F_NEXT | F_WRITE, 3);
	set_desc(desc, 3, DATA_GPA, 1, F_WRITE, 0);
	offer(0);
	ch.max_out = 1;
	cr_assert_eq(vq_pop(&vq, &ch), -ENOBUFS);
	cr_assert_eq(ch.nout, 2);
	cr_assert_eq(ch.nin, 2);
	cr_assert_not(vq.broken);
	cr_assert_eq(vq.last_avail, 0);
	ch.max_out = 8;
	ch.max_in = 0;
	ch.in = NULL;
	cr_assert_eq(vq_pop(&vq, &ch), -ENOBUFS);
	ch.max_in = 2;
	ch.in = in_iov;
	cr_assert_eq(vq_pop(&vq, &ch), 1);
	cr_assert_eq(ch.nout, 2);
	cr_assert_eq(ch.nin, 2);
}

Test(vq, enobufs_does_not_hide_a_bad_chain)
{
	start(QSZ, 0);
	set_desc(desc, 0, DATA_GPA, 1, F_NEXT, 1);
	set_desc(desc, 1, DATA_GPA, 1, F_NEXT, 0);
	offer(0);
	ch.max_out = 1;
	expect_broken("loop");
}

Test(vq, unpop)
{
	start(QSZ, 0);
	for (uint16_t i = 0; i < 3; i++) {
		set_desc(desc, i, DATA_GPA, 1, F_WRITE, 0);
		offer(i);
	}
	cr_assert_eq(vq_pop(&vq, &ch), 1);
	cr_assert_eq(vq_pop(&vq, &ch), 1);
	cr_assert_eq(ch.head, 1);
	vq_unpop(&vq, 2);
	cr_assert(vq_has_work(&vq));
	for (uint16_t i = 0; i < 3; i++) {
		cr_assert_eq(vq_pop(&vq, &ch), 1);
		cr_assert_eq(ch.head, i);
	}
	cr_assert_eq(vq_pop(&vq, &ch), 0);
}

Test(vq, unpop_across_wrap)
{
	start(QSZ, 0);
	avail[1] = 65535;
	vq.last_avail = 65535;
	set_desc(desc, 0, DATA_GPA, 1, 0, 0);
	set_desc(desc, 1, DATA_GPA, 1, 0, 0);
	offer(0);
	offer(1);
	cr_assert_eq(vq_pop(&vq, &ch), 1);
	cr_assert_eq(vq_pop(&vq, &ch), 1);
	cr_assert_eq(vq.last_avail, 1);
	vq_unpop(&vq, 2);
	cr_assert_eq(vq.last_avail, 65535);
	cr_assert_eq(vq_pop(&vq, &ch), 1);
	cr_assert_eq(ch.head, 0);
}

Test(vq, broken_until_reset)
{
	start(QSZ, 0);
	set_desc(desc, 0, 0x500000, 1, 0, 0);
	offer(0);
	expect_broken("not in RAM");
	/* fixing the ring does not help, pushes are ignored */
	set_desc(desc, 0, DATA_GPA, 1, 0, 0);
	cr_assert_eq(vq_pop(&vq, &ch), -EIO);
	vq_push(&vq, 0, 1);
	cr_assert_eq(used[1], 0);
	/* reset + configure does */
	vq_reset(&vq);
	cr_assert_not(vq.broken);
	cr_assert_eq(vq.mem, &m);
	start(QSZ, 0);
	cr_assert_eq(vq_pop(&vq, &ch), 1);
}

/* ---- notifications ---- */

Test(vq, no_interrupt_flag)
{
	start(QSZ, 0);
	set_desc(desc, 0, DATA_GPA, 1, 0, 0);
	offer(0);
	offer(0);
	cr_assert_eq(vq_pop(&vq, &ch), 1);
	vq_push(&vq, 0, 0);
	cr_assert(vq_should_notify(&vq));
	/* nothing new */
	cr_assert_not(vq_should_notify(&vq));
	avail[0] = 1; /* VIRTQ_AVAIL_F_NO_INTERRUPT */
	cr_assert_eq(vq_pop(&vq, &ch), 1);
	vq_push(&vq, 0, 0);
	cr_assert_not(vq_should_notify(&vq));
	/* used_event is ignored without EVENT_IDX */
	*used_event() = 0x1234;
	avail[0] = 0;
	offer(0);
	cr_assert_eq(vq_pop(&vq, &ch), 1);
	vq_push(&vq, 0, 0);
	cr_assert(vq_should_notify(&vq));
}

Test(vq, event_idx_interrupts)
{
	start(QSZ, FEAT_EVENT);
	set_desc(desc, 0, DATA_GPA, 1, 0, 0);
	/* NO_INTERRUPT is ignored with EVENT_IDX */
	avail[0] = 1;
	vq_push(&vq, 0, 0); /* used 1 */
	cr_assert(vq_should_notify(&vq), "first decision always notifies");
	*used_event() = 1;
	vq_push(&vq, 0, 0); /* used 2: crossed 1 */
	cr_assert(vq_should_notify(&vq));
	*used_event() = 5;
	vq_push(&vq, 0, 0); /* used 3 */
	cr_assert_not(vq_should_notify(&vq));
	vq_push(&vq, 0, 0);
	vq_push(&vq, 0, 0);
	vq_push(&vq, 0, 0); /* used 6: [3, 6) steps over 5 */
	cr_assert(vq_should_notify(&vq));
	vq_push(&vq, 0, 0); /* used 7: 5 is behind */
	cr_assert_not(vq_should_notify(&vq));
	/* used_event exactly at old: [7, 8) contains 7 */
	*used_event() = 7;
	vq_push(&vq, 0, 0);
	cr_assert(vq_should_notify(&vq));
	cr_assert_not(vq_should_notify(&vq));
}

Test(vq, event_idx_wrap)
{
	start(QSZ, FEAT_EVENT);
	vq.used_idx = 65534;
	vq.signalled_used = 65534;
	vq.signalled_used_valid = true;
	*used_event() = 65535;
	vq_push(&vq, 0, 0);
	vq_push(&vq, 0, 0);
	vq_push(&vq, 0, 0); /* 65534 -> 1 */
	cr_assert_eq(used[1], 1);
	cr_assert(vq_should_notify(&vq));

	vq.used_idx = 65534;
	vq.signalled_used = 65534;
	*used_event() = 2; /* beyond the new index 1 */
	vq_push(&vq, 0, 0);
	vq_push(&vq, 0, 0);
	vq_push(&vq, 0, 0);
	cr_assert_not(vq_should_notify(&vq));
	vq_push(&vq, 0, 0);
	vq_push(&vq, 0, 0); /* [1, 3) contains 2 */
	cr_assert(vq_should_notify(&vq));

	vq.used_idx = 65535;
	vq.signalled_used = 65535;
	*used_event() = 0; /* [65535, 0) holds 65535 only */
	vq_push(&vq, 0, 0);
	cr_assert_not(vq_should_notify(&vq));
	vq.used_idx = 65535;
	vq.signalled_used = 65535;
	*used_event() = 65535;
	vq_push(&vq, 0, 0);
	cr_assert(vq_should_notify(&vq));
}

Test(vq, no_notify_flag)
{
	start(QSZ, 0);
	vq_set_notify(&vq, false);
	cr_assert_eq(used[0], 1);
	vq_set_notify(&vq, true);
	cr_assert_eq(used[0], 0);
	/* a kick raced in: found by the re-check */
	set_desc(desc, 0, DATA_GPA, 1, 0, 0);
	offer(0);
	vq_set_notify(&vq, true);
	cr_assert(vq_has_work(&vq));
}

Test(vq, event_idx_kicks)
{
	start(QSZ, FEAT_EVENT);
	for (uint16_t i = 0; i < 4; i++)
		set_desc(desc, i, DATA_GPA, 1, 0, 0);
	/* flags are not used with EVENT_IDX */
	vq_set_notify(&vq, false);
	cr_assert_eq(used[0], 0);

	/* enabled: popping keeps avail_event at the next slot */
	vq_set_notify(&vq, true);
	offer(0);
	offer(1);
	cr_assert_eq(vq_pop(&vq, &ch), 1);
	cr_assert_eq(*avail_event(), 1);
	cr_assert_eq(vq_pop(&vq, &ch), 1);
	cr_assert_eq(*avail_event(), 2);
	cr_assert_eq(vq_pop(&vq, &ch), 0);
	cr_assert_eq(*avail_event(), 2);

	/* disabled: avail_event stays where it was */
	vq_set_notify(&vq, false);
	offer(2);
	offer(3);
	cr_assert_eq(vq_pop(&vq, &ch), 1);
	cr_assert_eq(*avail_event(), 2);
	/* enabling asks for a kick after what is there now (4) */
	vq_set_notify(&vq, true);
	cr_assert_eq(*avail_event(), 4);
	cr_assert(vq_has_work(&vq));
	cr_assert_eq(vq_pop(&vq, &ch), 1);
	cr_assert_eq(*avail_event(), 4);

	/* an empty pop with notifications enabled publishes avail_event */
	*avail_event() = 0;
	cr_assert_eq(vq_pop(&vq, &ch), 0);
	cr_assert_eq(*avail_event(), 4);
	/* ... but not with them disabled */
	vq_set_notify(&vq, false);
	*avail_event() = 0;
	cr_assert_eq(vq_pop(&vq, &ch), 0);
	cr_assert_eq(*avail_event(), 0);
}

/* ---- copy helpers ---- */

Test(vq, iov_copy)
{
	char a[4] = "abcd", b[3] = "efg", c[5] = "hijkl", buf[16];
	struct iovec iov[] = { { a, 4 }, { NULL, 0 }, { b, 3 }, { c, 5 } };

	memset(buf, 0, sizeof(buf));
	cr_assert_eq(vq_iov_to_buf(iov, 4, 0, buf, sizeof(buf)), 12);
	cr_assert_eq(memcmp(buf, "abcdefghijkl", 12), 0);
	memset(buf, 0, sizeof(buf));
	cr_assert_eq(vq_iov_to_buf(iov, 4, 3, buf, 5), 5);
	cr_assert_eq(memcmp(buf, "defgh", 5), 0);
	cr_assert_eq(vq_iov_to_buf(iov, 4, 12, buf, 5), 0);
	cr_assert_eq(vq_iov_to_buf(iov, 4, 100, buf, 5), 0);
	cr_assert_eq(vq_iov_to_buf(iov, 2, 0, buf, 16), 4);

	cr_assert_eq(vq_buf_to_iov(iov, 4, 6, "XYZW", 4), 4);
	cr_assert_eq(memcmp(b, "efX", 3), 0);
	cr_assert_eq(memcmp(c, "YZWkl", 5), 0);
	cr_assert_eq(vq_buf_to_iov(iov, 4, 10, "0123", 4), 2);
	cr_assert_eq(memcmp(c, "YZW01", 5), 0);
	cr_assert_eq(vq_buf_to_iov(iov, 0, 0, "0123", 4), 0);
}

/* ---- a driver and a device on two threads ----
 *
 * The driver submits one-descriptor chains, kicks when the device asks for
 * it (NO_NOTIFY / avail_event) and sleeps until interrupted when the ring
 * is full; the device sleeps until kicked. A notification decision made
 * without the fences (or on a stale index) loses a wakeup: one side then
 * sleeps forever, which the timed waits turn into a failure.
 */

#define RACE_ITEMS 200000

struct race {
	bool event_idx;
	bool device_disables; /* vq_set_notify(false) while processing */
	sem_t kick, irq;
	bool done;
	unsigned device_timeouts;
};

static bool race_wait(sem_t *s)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	while (sem_timedwait(s, &ts))
		if (errno != EINTR)
			return false;
	return true;
}

static bool need_event(uint16_t event, uint16_t new, uint16_t old)
{
	return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

static void *race_device(void *arg)
{
	struct race *r = arg;

	while (!__atomic_load_n(&r->done, __ATOMIC_ACQUIRE)) {
		if (!race_wait(&r->kick)) {
			r->device_timeouts++;
			break;
		}
		for (;;) {
			if (r->device_disables)
				vq_set_notify(&vq, false);
			while (vq_pop(&vq, &ch) == 1)
				vq_push(&vq, ch.head, ch.head);
			if (vq_should_notify(&vq))
				sem_post(&r->irq);
			if (!r->device_disables)
				break; /* the empty vq_pop() re-armed */
			vq_set_notify(&vq, true);
			if (!vq_has_work(&vq))
				break;
		}
	}
	return NULL;
}

static void race_run(bool event_idx, bool device_disables)
{
	struct race r = { .event_idx = event_idx,
			  .device_disables = device_disables };
	uint16_t next_avail = 0, last_used = 0;
	unsigned submitted = 0, completed = 0, in_flight = 0;
	pthread_t dev;

	start(QSZ, event_idx ? FEAT_EVENT : 0);
	for (uint16_t i = 0; i < QSZ; i++)
		set_desc(desc, i, DATA_GPA + i * 64, 64, F_WRITE, 0);
	cr_assert_eq(sem_init(&r.kick, 0, 0), 0);
	cr_assert_eq(sem_init(&r.irq, 0, 0), 0);
	cr_assert_eq(pthread_create(&dev, NULL, race_device, &r), 0);

	while (completed < RACE_ITEMS) {
		uint16_t old = next_avail, used_idx;
		bool kick;

		/* submit what fits */
		while (in_flight < QSZ && submitted < RACE_ITEMS) {
			avail[2 + (next_avail & (QSZ - 1))] =
				(uint16_t)(submitted % QSZ);
			next_avail++;
			submitted++;
			in_flight++;
		}
		if (next_avail != old) {
			__atomic_store_n(&avail[1], next_avail,
					 __ATOMIC_RELEASE);
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			if (event_idx)
				kick = need_event(
					__atomic_load_n(avail_event(),
							__ATOMIC_RELAXED),
					next_avail, old);
			else
				kick = !(__atomic_load_n(&used[0],
							 __ATOMIC_RELAXED) &
					 1);
			if (kick)
				sem_post(&r.kick);
		}
		/* reclaim; sleep for an interrupt if nothing came back */
		used_idx = __atomic_load_n(&used[1], __ATOMIC_ACQUIRE);
		if (used_idx == last_used) {
			if (event_idx)
				__atomic_store_n(used_event(), last_used,
						 __ATOMIC_RELAXED);
			else
				__atomic_store_n(&avail[0], 0,
						 __ATOMIC_RELAXED);
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			used_idx = __atomic_load_n(&used[1], __ATOMIC_ACQUIRE);
			if (used_idx == last_used) {
				cr_assert(race_wait(&r.irq),
					  "stalled after %u completions (lost "
					  "kick or interrupt, "
					  "event_idx %d)",
					  completed, event_idx);
				continue;
			}
		}
		if (!event_idx) /* polling: no interrupts meanwhile */
			__atomic_store_n(&avail[0], 1, __ATOMIC_RELAXED);
		while (last_used != used_idx) {
			uint16_t want = (uint16_t)(completed % QSZ);

			cr_assert_eq(used_elem(last_used & (QSZ - 1), 0), want);
			cr_assert_eq(used_elem(last_used & (QSZ - 1), 1), want);
			last_used++;
			completed++;
			in_flight--;
		}
	}
	__atomic_store_n(&r.done, true, __ATOMIC_RELEASE);
	sem_post(&r.kick);
	pthread_join(dev, NULL);
	cr_assert_eq(r.device_timeouts, 0, "device: lost kick");
	cr_assert_not(vq.broken, "%s", vq.broken_why);
	cr_assert_eq(vq.last_avail, (uint16_t)RACE_ITEMS);
	sem_destroy(&r.kick);
	sem_destroy(&r.irq);
}

Test(vq, race_flags, .timeout = 60)
{
	race_run(false, true);
}

Test(vq, race_event_idx, .timeout = 60)
{
	race_run(true, true);
}

Test(vq, race_event_idx_pop_until_empty, .timeout = 60)
{
	race_run(true, false);
}

Test(vq, race_flags_pop_until_empty, .timeout = 60)
{
	race_run(false, false);
}
