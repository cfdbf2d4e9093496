/* SPDX-License-Identifier: MIT */
/*
 * The ivshmem message queue (devices/abi/ivshmem_queue.h): both sides in
 * one process on one buffer, as two peers would see the shared memory.
 * Layout and byte offsets, wrap-around, full and empty rings, doorbell
 * requests, re-initialisation, and a hostile other side writing impossible
 * indices, lengths and layouts.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/abi/ivshmem_queue.h"

#define REGION (64 * 1024)

static uint8_t *mem;
static struct ivq a, b;

static void setup(void)
{
	mem = aligned_alloc(4096, REGION);
	cr_assert(mem);
	memset(mem, 0, REGION); /* a new shm object */
}

static void teardown(void)
{
	free(mem);
}

static struct ivq_header *hdr(void)
{
	return (struct ivq_header *)(void *)mem;
}

static struct ivq_ctl *ctl(unsigned ring)
{
	return (struct ivq_ctl *)(void *)(mem + hdr()->ring[ring].offset);
}

/* A with rings of `size`, B attached; peers 3 (A) and 7 (B). */
static void pair(uint32_t size)
{
	cr_assert_eq(ivq_init(&a, mem, REGION, size, 3, 0), 0);
	cr_assert_eq(ivq_attach(&b, mem, REGION, IVQ_SIDE_B, 7, 1), 0);
}

static void send_ok(struct ivq *q, uint32_t tag, const char *s)
{
	bool wake;

	cr_assert_eq(ivq_send(q, tag, s, (uint32_t)strlen(s), &wake), 0,
		     "send %s", s);
}

static void recv_is(struct ivq *q, uint32_t tag, const char *s)
{
	char buf[512];
	uint32_t t, len;
	bool wake;

	cr_assert_eq(ivq_recv(q, &t, buf, sizeof(buf), &len, &wake), 0);
	cr_assert_eq(t, tag);
	cr_assert_eq(len, strlen(s));
	cr_assert(!memcmp(buf, s, len));
}

TestSuite(ivq, .init = setup, .fini = teardown);

Test(ivq, layout_bytes)
{
	uint32_t s = ivq_ring_size_for(REGION);

	cr_assert_eq(s, 16384); /* 64 + 2 * (128 + 32768) > 64 KiB */
	pair(0);
	cr_assert_eq(((uint32_t *)(void *)mem)[0], IVQ_MAGIC);
	cr_assert(!memcmp(mem, "IVSQ", 4));
	cr_assert_eq(mem[4] | mem[5] << 8, IVQ_VERSION);
	cr_assert_eq(mem[6] | mem[7] << 8, 64);
	cr_assert_eq(hdr()->generation, 1);
	cr_assert_eq(hdr()->peer[0], 3);
	cr_assert_eq(hdr()->peer[1], 7);
	cr_assert_eq(hdr()->vector[1], 1);
	cr_assert_eq(hdr()->b_gen, 1);
	cr_assert_eq(hdr()->ring[0].offset, 64);
	cr_assert_eq(hdr()->ring[0].size, s);
	cr_assert_eq(hdr()->ring[1].offset, 64 + 128 + s);
	cr_assert_eq(hdr()->ring[1].size, s);
	/* a record: {len, tag} then the payload at data + 8, padded */
	send_ok(&a, 0x11223344, "hello");
	cr_assert_eq(ctl(0)->head, 16);
	cr_assert_eq(*(uint32_t *)(void *)(mem + 64 + 128), 5);
	cr_assert_eq(*(uint32_t *)(void *)(mem + 64 + 128 + 4), 0x11223344);
	cr_assert(!memcmp(mem + 64 + 128 + 8, "hello", 5));
	recv_is(&b, 0x11223344, "hello");
	cr_assert_eq(ctl(0)->tail, 16);
}

Test(ivq, both_directions)
{
	pair(256);
	send_ok(&a, 1, "ping");
	send_ok(&b, 2, "pong");
	recv_is(&b, 1, "ping");
	recv_is(&a, 2, "pong");
	uint32_t t, len;
	bool wake;
	char c;

	cr_assert_eq(ivq_recv(&a, &t, &c, 1, &len, &wake), IVQ_EAGAIN);
	cr_assert_eq(ivq_recv(&b, &t, &c, 1, &len, &wake), IVQ_EAGAIN);
}

Test(ivq, empty_message)
{
	uint32_t t, len = 99;
	bool wake;

	pair(64);
	cr_assert_eq(ivq_send(&a, 9, NULL, 0, &wake), 0);
	cr_assert_eq(ivq_recv(&b, &t, NULL, 0, &len, &wake), 0);
	cr_assert_eq(len, 0);
	cr_assert_eq(t, 9);
}

Test(ivq, full_and_wrap)
{
	char msg[64], buf[64];
	uint32_t t, len;
	bool wake;
	int n = 0;

	pair(256);
	/* 20-byte payloads take 32 bytes: 8 fit */
	for (;;) {
		snprintf(msg, sizeof(msg), "message %08d....", n);
		int err = ivq_send(&a, (uint32_t)n, msg, 20, &wake);

		if (err == IVQ_EAGAIN)
			break;
		cr_assert_eq(err, 0);
		n++;
	}
	cr_assert_eq(n, 8);
	/* Keep the ring nearly full while the indices go round many times:
	 * records split at the end of the data area come out whole. */
	for (int i = 0; i < 1000; i++) {
		uint32_t l = 1 + (uint32_t)i % 40; /* odd sizes, padding */

		cr_assert_eq(ivq_recv(&b, &t, buf, sizeof(buf), &len, &wake),
			     0);
		memset(msg, 'a' + i % 26, l);
		while (ivq_send(&a, 1000 + (uint32_t)i, msg, l, &wake) ==
		       IVQ_EAGAIN) {
			cr_assert_eq(
				ivq_recv(&b, &t, buf, sizeof(buf), &len, &wake),
				0);
		}
	}
	/* Drain and check the last one. */
	uint32_t last = 0;

	while (ivq_recv(&b, &t, buf, sizeof(buf), &len, &wake) == 0)
		last = t;
	cr_assert_eq(last, 1999);
	cr_assert_eq(ctl(0)->head, ctl(0)->tail);
	cr_assert_gt(ctl(0)->head, 10 * 256, "the indices went round");
}

Test(ivq, index_wraps_at_2_32)
{
	char buf[16];
	uint32_t t, len;
	bool wake;

	pair(256);
	/* Both indices just below 2^32, as after a long life. */
	ctl(0)->head = ctl(0)->tail = 0xffffffe0u;
	cr_assert_eq(ivq_attach(&a, mem, REGION, IVQ_SIDE_A, 3, 0), 0);
	cr_assert_eq(ivq_attach(&b, mem, REGION, IVQ_SIDE_B, 7, 0), 0);
	for (int i = 0; i < 10; i++) {
		send_ok(&a, (uint32_t)i, "0123456789");
		cr_assert_eq(ivq_recv(&b, &t, buf, sizeof(buf), &len, &wake),
			     0);
		cr_assert_eq(t, (uint32_t)i);
		cr_assert(!memcmp(buf, "0123456789", 10));
	}
	cr_assert_lt(ctl(0)->head, 0x100u, "wrapped past 0");
}

Test(ivq, too_long)
{
	static char big[300];
	char small[4];
	uint32_t t, len;
	bool wake;

	pair(256);
	cr_assert_eq(ivq_max_msg(&a), 248);
	cr_assert_eq(ivq_send(&a, 0, big, 249, &wake), IVQ_EMSGSIZE);
	cr_assert_eq(ivq_send(&a, 0, big, 248, &wake), 0);
	/* a buffer too small: told the length, the record stays */
	cr_assert_eq(ivq_recv(&b, &t, small, sizeof(small), &len, &wake),
		     IVQ_EMSGSIZE);
	cr_assert_eq(len, 248);
	cr_assert_eq(ivq_discard(&b, &wake), 0);
	cr_assert_eq(ivq_recv(&b, &t, small, sizeof(small), &len, &wake),
		     IVQ_EAGAIN);
}

Test(ivq, wakeup_flags)
{
	bool wake;
	char buf[8], big[64];
	uint32_t t, len;

	pair(64);
	/* B sleeps: A's send asks for a doorbell */
	cr_assert(!ivq_arm_rx(&b));
	cr_assert_eq(ctl(0)->cons_wait, 1);
	cr_assert_eq(ivq_send(&a, 1, "x", 1, &wake), 0);
	cr_assert(wake);
	/* B receives, clears its flag; A not waiting for space */
	cr_assert_eq(ivq_recv(&b, &t, buf, sizeof(buf), &len, &wake), 0);
	cr_assert(!wake);
	cr_assert_eq(ctl(0)->cons_wait, 0);
	cr_assert_eq(ivq_send(&a, 2, "y", 1, &wake), 0);
	cr_assert(!wake);
	/* arm with data already there: do not sleep */
	cr_assert(ivq_arm_rx(&b));
	cr_assert_eq(ivq_recv(&b, &t, buf, sizeof(buf), &len, &wake), 0);

	/* A fills the ring (64 bytes: 56-byte payload max), then waits for
	 * space: B's receive asks to ring A */
	memset(big, 'z', sizeof(big));
	cr_assert_eq(ivq_send(&a, 3, big, 40, &wake), 0);
	cr_assert_eq(ivq_send(&a, 4, big, 20, &wake), IVQ_EAGAIN);
	cr_assert(!ivq_arm_tx(&a, 20));
	cr_assert_eq(ctl(0)->prod_wait, 1);
	cr_assert_eq(ivq_recv(&b, &t, big, sizeof(big), &len, &wake), 0);
	cr_assert(wake);
	cr_assert_eq(ivq_send(&a, 4, big, 20, &wake), 0);
	cr_assert_eq(ctl(0)->prod_wait, 0, "cleared by progress");
}

Test(ivq, doorbell_of_other_side)
{
	uint16_t v;

	pair(64);
	cr_assert_eq(ivq_other_peer(&a, &v), 7);
	cr_assert_eq(v, 1);
	cr_assert_eq(ivq_other_peer(&b, &v), 3);
	cr_assert_eq(v, 0);
	hdr()->peer[1] = 0x10000; /* hostile: not a peer ID */
	cr_assert_eq(ivq_other_peer(&a, &v), IVQ_NO_PEER);
}

Test(ivq, init_over_garbage)
{
	char buf[8];
	uint32_t t, len;
	bool wake;

	memset(mem, 0xa5, REGION);
	cr_assert_eq(ivq_init(&a, mem, REGION, 256, 3, 0), 0);
	cr_assert_neq(hdr()->generation, 0);
	cr_assert_eq(hdr()->b_gen, 0);
	cr_assert_eq(hdr()->peer[1], IVQ_NO_PEER, "no valid hint");
	cr_assert_eq(ivq_attach(&b, mem, REGION, IVQ_SIDE_B, 7, 0), 0);
	cr_assert_eq(ivq_recv(&b, &t, buf, sizeof(buf), &len, &wake),
		     IVQ_EAGAIN);
	send_ok(&a, 1, "x");
	recv_is(&b, 1, "x");
}

Test(ivq, attach_before_init)
{
	memset(mem, 0, REGION);
	cr_assert_eq(ivq_attach(&b, mem, REGION, IVQ_SIDE_B, 7, 0), IVQ_EAGAIN);
}

Test(ivq, bad_arguments)
{
	cr_assert_eq(ivq_init(&a, mem + 8, REGION - 8, 0, 0, 0), IVQ_EINVAL);
	cr_assert_eq(ivq_init(&a, mem, REGION, 100, 0, 0), IVQ_EINVAL);
	cr_assert_eq(ivq_init(&a, mem, REGION, 32, 0, 0), IVQ_EINVAL);
	cr_assert_eq(ivq_init(&a, mem, REGION, 65536, 0, 0), IVQ_ENOSPC);
	cr_assert_eq(ivq_init(&a, mem, 300, 0, 0, 0), IVQ_ENOSPC);
	cr_assert_eq(ivq_init(&a, mem, 447, 0, 0, 0), IVQ_ENOSPC);
	cr_assert_eq(ivq_init(&a, mem, 448, 0, 0, 0), 0); /* 64+2*(128+64) */
	cr_assert_eq(hdr()->ring[0].size, 64);
	cr_assert_eq(ivq_attach(&b, mem, REGION, 2, 0, 0), IVQ_EINVAL);
}

/* ---- re-initialisation ---- */

Test(ivq, reinit_makes_b_stale)
{
	char buf[8];
	uint32_t t, len;
	bool wake;

	pair(64);
	send_ok(&a, 1, "old");
	cr_assert(ivq_init_begin(mem, REGION), "B is attached");
	cr_assert(!ivq_b_released(mem));
	/* B's next call sees the cleared magic and lets go */
	cr_assert_eq(ivq_recv(&b, &t, buf, sizeof(buf), &len, &wake),
		     IVQ_ESTALE);
	cr_assert(ivq_b_released(mem));
	cr_assert_eq(ivq_init(&a, mem, REGION, 64, 4, 0), 0);
	cr_assert_eq(hdr()->generation, 2);
	cr_assert_eq(hdr()->peer[1], 7, "B's peer kept as a hint");
	cr_assert_eq(ivq_send(&b, 1, "x", 1, &wake), IVQ_ESTALE);
	cr_assert_eq(ivq_attach(&b, mem, REGION, IVQ_SIDE_B, 7, 0), 0);
	cr_assert_eq(hdr()->b_gen, 2);
	cr_assert_eq(ivq_recv(&b, &t, buf, sizeof(buf), &len, &wake),
		     IVQ_EAGAIN, "the old message is gone");
	send_ok(&a, 5, "new");
	recv_is(&b, 5, "new");
}

Test(ivq, begin_without_b)
{
	cr_assert_eq(ivq_init(&a, mem, REGION, 64, 4, 0), 0);
	cr_assert(!ivq_init_begin(mem, REGION), "nobody to wait for");
	cr_assert(!ivq_init_begin(mem, 8), "too small: nothing touched");
}

Test(ivq, adopt_keeps_messages)
{
	pair(256);
	send_ok(&a, 1, "in flight");
	send_ok(&b, 2, "reply");
	/* A restarts (new process, new peer ID) and adopts the queue */
	cr_assert_eq(ivq_attach(&a, mem, REGION, IVQ_SIDE_A, 9, 0), 0);
	cr_assert_eq(hdr()->peer[0], 9);
	cr_assert_eq(hdr()->generation, 1);
	recv_is(&a, 2, "reply");
	recv_is(&b, 1, "in flight");
	send_ok(&a, 3, "after");
	recv_is(&b, 3, "after");
}

Test(ivq, generation_never_zero)
{
	cr_assert_eq(ivq_init(&a, mem, REGION, 64, 4, 0), 0);
	hdr()->generation = 0xffffffffu;
	cr_assert_eq(ivq_init(&a, mem, REGION, 64, 4, 0), 0);
	cr_assert_eq(hdr()->generation, 1);
}

/* ---- a hostile other side ---- */

Test(ivq, hostile_head_beyond_size)
{
	char buf[8];
	uint32_t t, len;
	bool wake;

	pair(256);
	ctl(0)->head = 257; /* more than the ring holds */
	cr_assert_eq(ivq_recv(&b, &t, buf, sizeof(buf), &len, &wake),
		     IVQ_EPROTO);
	ctl(0)->head = 0;
	cr_assert_eq(ivq_recv(&b, &t, buf, sizeof(buf), &len, &wake),
		     IVQ_EPROTO, "broken stays broken");
	cr_assert_eq(ivq_rx_pending(&b), 0);
	/* the other direction still works */
	send_ok(&b, 1, "still");
	recv_is(&a, 1, "still");
}

Test(ivq, hostile_head_misaligned)
{
	uint32_t t, len;
	bool wake;
	char buf[8];

	pair(256);
	ctl(0)->head = 12;
	cr_assert_eq(ivq_recv(&b, &t, buf, sizeof(buf), &len, &wake),
		     IVQ_EPROTO);
}

Test(ivq, hostile_head_behind_tail)
{
	uint32_t t, len;
	bool wake;
	char buf[8];

	pair(256);
	send_ok(&a, 1, "x");
	recv_is(&b, 1, "x");
	ctl(0)->head = 0; /* behind B's tail: used would be ~4 GiB */
	cr_assert_eq(ivq_recv(&b, &t, buf, sizeof(buf), &len, &wake),
		     IVQ_EPROTO);
}

Test(ivq, hostile_record_length)
{
	uint32_t t, len;
	bool wake;
	char buf[512];

	pair(256);
	send_ok(&a, 1, "abc");
	/* a length that reaches past what is queued (16 bytes) */
	*(uint32_t *)(void *)(mem + 64 + 128) = 9;
	cr_assert_eq(ivq_recv(&b, &t, buf, sizeof(buf), &len, &wake),
		     IVQ_EPROTO);
	/* and one far beyond the ring */
	pair(256);
	send_ok(&a, 1, "abc");
	*(uint32_t *)(void *)(mem + 64 + 128) = 0xfffffff0u;
	cr_assert_eq(ivq_recv(&b, &t, buf, sizeof(buf), &len, &wake),
		     IVQ_EPROTO);
}

Test(ivq, hostile_tail)
{
	bool wake;

	pair(256);
	send_ok(&a, 1, "abc");
	ctl(0)->tail = 1000; /* B claims to have consumed more than sent */
	cr_assert_eq(ivq_send(&a, 2, "x", 1, &wake), IVQ_EPROTO);
	cr_assert_eq(ivq_tx_free(&a), 0);
}

Test(ivq, hostile_indices_at_attach)
{
	uint32_t t, len;
	bool wake;
	char buf[8];

	pair(256);
	ctl(1)->head = 4096; /* B -> A ring: B's head beyond A's tail */
	cr_assert_eq(ivq_attach(&a, mem, REGION, IVQ_SIDE_A, 3, 0), 0);
	cr_assert(a.rx.broken);
	cr_assert_eq(ivq_recv(&a, &t, buf, sizeof(buf), &len, &wake),
		     IVQ_EPROTO);
	send_ok(&a, 1, "tx still fine");
}

Test(ivq, hostile_layouts)
{
	struct ivq_header saved;

	pair(256);
	saved = *hdr();
#define BAD(stmt)                                                           \
	do {                                                                \
		*hdr() = saved;                                             \
		stmt;                                                       \
		cr_assert_eq(ivq_attach(&b, mem, REGION, IVQ_SIDE_B, 7, 0), \
			     IVQ_EPROTO, #stmt);                            \
	} while (0)
	BAD(hdr()->version = 2);
	BAD(hdr()->header_size = 32);
	BAD(hdr()->header_size = 65);
	BAD(hdr()->ring[0].size = 100);
	BAD(hdr()->ring[0].size = 0);
	BAD(hdr()->ring[0].size = 32);
	BAD(hdr()->ring[1].size = 0x80000000u);
	BAD(hdr()->ring[0].offset = 8);		   /* inside the header */
	BAD(hdr()->ring[0].offset = 96);	   /* misaligned */
	BAD(hdr()->ring[1].offset = 128);	   /* overlaps ring 0 */
	BAD(hdr()->ring[1].offset = REGION - 128); /* past the end */
	BAD(hdr()->ring[1].offset = 0xffffffc0u);  /* wraps */
	*hdr() = saved;
	cr_assert_eq(ivq_attach(&b, mem, REGION, IVQ_SIDE_B, 7, 0), 0);
	/* a region that is smaller than the layout */
	cr_assert_eq(ivq_attach(&b, mem, 600, IVQ_SIDE_B, 7, 0), IVQ_EPROTO);
#undef BAD
}

/* ---- two threads, as two peers ---- */

#define THREAD_MSGS 200000

static void *producer(void *arg)
{
	uint32_t buf[16];
	bool wake;

	(void)arg;
	for (uint32_t i = 0; i < THREAD_MSGS;) {
		uint32_t n = 1 + i % 16;

		for (uint32_t k = 0; k < n; k++)
			buf[k] = i * 31 + k;
		if (ivq_send(&a, i, buf, n * 4, &wake) == 0)
			i++;
	}
	return NULL;
}

Test(ivq, threads)
{
	pthread_t th;
	uint32_t buf[16], t, len;
	bool wake;

	pair(1024);
	cr_assert_eq(pthread_create(&th, NULL, producer, NULL), 0);
	for (uint32_t i = 0; i < THREAD_MSGS;) {
		int err = ivq_recv(&b, &t, buf, sizeof(buf), &len, &wake);

		if (err == IVQ_EAGAIN)
			continue;
		cr_assert_eq(err, 0);
		cr_assert_eq(t, i);
		cr_assert_eq(len, 4 * (1 + i % 16));
		for (uint32_t k = 0; k < len / 4; k++)
			cr_assert_eq(buf[k], i * 31 + k);
		i++;
	}
	pthread_join(th, NULL);
}
