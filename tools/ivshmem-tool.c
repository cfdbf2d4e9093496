/* SPDX-License-Identifier: MIT */
/*
 * ivshmem-tool: a command-line ivshmem peer on libivshmem, for scripts,
 * tests and the benchmark. `ivshmem-tool --help` lists the commands;
 * docs/ivshmem.md ("ivshmem-tool") describes them and the output.
 *
 * Exit status: 0 success, 1 failure (cannot connect, bad echo, ...),
 * 2 usage error, 3 timeout.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/libivshmem.h"

#define EXIT_USAGE   2
#define EXIT_TIMEOUT 3

#define DEFAULT_SOCKET	  "/tmp/ivshmem_socket" /* QEMU's default too */
#define DEFAULT_TIMEOUT	  5000
#define DEFAULT_MSG_SIZE  64
#define PONG_VECTOR	  1
#define MAX_SAMPLES	  10000000u
#define ECHO_TIMEOUT_LONG 60000

static struct {
	const char *socket;
	const char *file;
	uint64_t shm_size;
	bool create;
	struct ivshm_q_opts q;
	int timeout;
	uint32_t msg_size;
	uint32_t tag;
	bool reset, keep;
	bool quiet;
	uint64_t count;
} opt = {
	.timeout = DEFAULT_TIMEOUT,
	.msg_size = DEFAULT_MSG_SIZE,
};

static struct ivshm *h;
static struct ivshm_q q;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ivshmem-tool [OPTIONS] COMMAND [ARGS]\n"
		"\n"
		"Connect to an ivshmem server (or map a plain file) as a peer.\n"
		"\n"
		"Commands:\n"
		"  info              this peer, the memory, the other peers, the queue\n"
		"  ring PEER [VEC]   ring vector VEC (default 0) of peer PEER\n"
		"  wait [VEC]        wait for a doorbell on own vector VEC (default 0)\n"
		"  init              create the message queue (or adopt a valid one;\n"
		"                    --reset: always a new one)\n"
		"  send MSG...       send each MSG as one message (tag --tag, +1 each)\n"
		"  recv [COUNT]      receive COUNT messages (default 1) and print them\n"
		"  echo-test N       N messages of --msg-size bytes to the echo peer;\n"
		"                    check each echo and its sequence number, print\n"
		"                    round-trip statistics (new queue unless --keep)\n"
		"  flood N           N messages, pipelined, through the echo peer:\n"
		"                    throughput (new queue unless --keep)\n"
		"  ping PEER [N]     N (default 10) doorbell round trips: ring PEER's\n"
		"                    vector --vector (default 1), wait for it to ring\n"
		"                    back on ours\n"
		"  echo              be the echo peer (queue side B): answer every\n"
		"                    message with its payload and tag = sequence number\n"
		"                    and ring back doorbells on vector 1; ends after\n"
		"                    --count messages or a message \"quit\"\n"
		"  dump              the queue header and indices, read only\n"
		"\n"
		"Options:\n"
		"  -s, --socket PATH     server socket (default $IVSHMEM_SOCKET or "
		"%s)\n"
		"  -f, --file PATH       plain mode: share file PATH, no server, no\n"
		"                        doorbells (queue waits poll)\n"
		"  -z, --shm-size SIZE   plain mode: the file's size (K/M/G suffixes);\n"
		"      --create          plain mode: create the file if missing\n"
		"  -o, --offset N        queue base in the memory (default 0)\n"
		"  -r, --ring-size SIZE  new queue: bytes per ring (default: largest)\n"
		"  -V, --vector N        own doorbell vector for the queue (default 0);\n"
		"                        ping: the vector rung and waited on\n"
		"  -t, --timeout MS      per wait (default %d; -1 forever)\n"
		"  -m, --msg-size N      echo-test/flood message size (default %d)\n"
		"  -T, --tag N           send: first tag (default 0)\n"
		"  -n, --count N         echo: stop after N messages\n"
		"  -S, --spin US         queue waits: busy-poll US microseconds\n"
		"                        before sleeping on the doorbell (default 0)\n"
		"      --reset           init: always a new queue\n"
		"      --keep            echo-test/flood: adopt the existing queue\n"
		"  -q, --quiet           less output\n"
		"  -h, --help\n"
		"\n"
		"Exit status: 0 ok, 1 failure, 2 usage, 3 timeout.\n",
		DEFAULT_SOCKET, DEFAULT_TIMEOUT, DEFAULT_MSG_SIZE);
}

static __attribute__((noreturn, format(printf, 1, 2))) void usage_error(
	const char *fmt, ...)
{
	va_list ap;

	fputs("ivshmem-tool: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see --help)\n", stderr);
	exit(EXIT_USAGE);
}

static __attribute__((format(printf, 2, 3))) int fail(int err, const char *fmt,
						      ...)
{
	va_list ap;

	fputs("ivshmem-tool: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err)
		fprintf(stderr, ": %s", strerror(-err));
	fputc('\n', stderr);
	return err == -ETIMEDOUT || err == -EAGAIN ? EXIT_TIMEOUT
						   : EXIT_FAILURE;
}

/* Decimal or 0x hex with an optional K/M/G (binary) suffix. */
static bool parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!*s || *s == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return false;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	case '\0':
		break;
	default:
		return false;
	}
	if (shift && (*++end == 'i' || *end == 'B'))
		end += end[0] == 'i' ? 1 : 0;
	if (*end == 'B')
		end++;
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

static uint64_t num_arg(const char *what, const char *s, uint64_t max)
{
	uint64_t v;

	if (!parse_size(s, &v) || v > max)
		usage_error("bad %s '%s'", what, s);
	return v;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int connect_peer(void)
{
	int err;

	if (opt.file) {
		err = ivshm_open_plain(opt.file, opt.shm_size,
				       opt.create ? IVSHM_CREATE : 0, &h);
		if (err == -EINVAL)
			return fail(err,
				    "%s: not %" PRIu64 " bytes (size "
				    "mismatch)",
				    opt.file, opt.shm_size);
		if (err)
			return fail(err, "%s", opt.file);
		return 0;
	}
	err = ivshm_connect(opt.socket, &h);
	if (err == -ENOENT || err == -ECONNREFUSED)
		return fail(err,
			    "cannot connect to %s (is ivshmem-server "
			    "running?)",
			    opt.socket);
	if (err)
		return fail(err, "ivshmem server %s", opt.socket);
	return 0;
}

/* ---- statistics ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void print_stats(const char *what, uint64_t *ns, uint64_t n)
{
	uint64_t sum = 0;

	if (!n)
		return;
	qsort(ns, n, sizeof(*ns), cmp_u64);
	for (uint64_t i = 0; i < n; i++)
		sum += ns[i];
	printf("%s: n %" PRIu64 " min %.2f us avg %.2f us p50 %.2f us "
	       "p99 %.2f us max %.2f us\n",
	       what, n, ns[0] / 1e3, (double)sum / n / 1e3, ns[n / 2] / 1e3,
	       ns[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] / 1e3,
	       ns[n - 1] / 1e3);
}

static uint64_t *samples(uint64_t n)
{
	uint64_t *s;

	if (n > MAX_SAMPLES) {
		fprintf(stderr, "ivshmem-tool: at most %u round trips\n",
			MAX_SAMPLES);
		exit(EXIT_USAGE);
	}
	s = calloc(n ? n : 1, sizeof(*s));
	if (!s) {
		perror("ivshmem-tool");
		exit(EXIT_FAILURE);
	}
	return s;
}

/* ---- commands ---- */

static void print_bytes(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
			putchar(p[i]);
		else
			printf("\\x%02x", p[i]);
	}
}

static void dump_header(const uint8_t *base, uint64_t avail)
{
	const struct ivq_header *hd = (const void *)base;

	if (avail < IVQ_HEADER_SIZE || hd->magic != IVQ_MAGIC) {
		printf("queue: none at offset %" PRIu64 " (no valid header)\n",
		       opt.q.offset);
		return;
	}
	printf("queue: magic ok, version %u, header %u bytes, generation "
	       "%u\n",
	       hd->version, hd->header_size, hd->generation);
	for (unsigned s = 0; s < 2; s++) {
		printf("  side %c: peer ", s ? 'B' : 'A');
		if (hd->peer[s] == IVQ_NO_PEER)
			printf("none");
		else
			printf("%u", hd->peer[s]);
		printf(", vector %u\n", hd->vector[s]);
	}
	for (unsigned r = 0; r < 2; r++) {
		uint32_t off = hd->ring[r].offset;
		const struct ivq_ctl *c;

		printf("  ring %u (%s): offset %u, size %u", r,
		       r ? "B->A" : "A->B", off, hd->ring[r].size);
		if ((uint64_t)off + IVQ_CTL_SIZE > avail || (off & 63)) {
			printf(" (outside the region)\n");
			continue;
		}
		c = (const void *)(base + off);
		printf(", head %u tail %u (%u used), producer waits %u, "
		       "consumer waits %u\n",
		       c->head, c->tail, c->head - c->tail, c->prod_wait,
		       c->cons_wait);
	}
}

static int cmd_info(void)
{
	uint64_t size;
	uint8_t *mem = ivshm_mem(h, &size);
	uint16_t ids[64];
	int n;

	if (opt.file)
		printf("mode: plain file %s (no doorbells)\n", opt.file);
	else
		printf("mode: server %s, peer ID %d, %d vectors\n", opt.socket,
		       ivshm_id(h), ivshm_vectors(h));
	printf("memory: %" PRIu64 " bytes\n", size);
	if (!opt.file) {
		n = ivshm_peers(h, ids, 64);
		printf("peers: %d", n);
		for (int i = 0; i < n && i < 64; i++)
			printf("%s%u (%d vectors)", i ? ", " : ": ", ids[i],
			       ivshm_peer_vectors(h, ids[i]));
		putchar('\n');
	}
	if (opt.q.offset < size)
		dump_header(mem + opt.q.offset, size - opt.q.offset);
	return 0;
}

static int cmd_dump(void)
{
	uint64_t size;
	uint8_t *mem = ivshm_mem(h, &size);

	if (opt.q.offset >= size)
		return fail(-EINVAL, "offset %" PRIu64, opt.q.offset);
	dump_header(mem + opt.q.offset, size - opt.q.offset);
	return 0;
}

static int cmd_ring(int argc, char **argv)
{
	unsigned peer, vec = 0;
	int err;

	if (argc < 1 || argc > 2)
		usage_error("ring PEER [VECTOR]");
	peer = (unsigned)num_arg("peer", argv[0], 0xffff);
	if (argc > 1)
		vec = (unsigned)num_arg("vector", argv[1], 0xffff);
	err = ivshm_ring(h, peer, vec);
	if (err == -ENOENT)
		return fail(err, "no peer %u", peer);
	if (err == -EINVAL)
		return fail(0, "peer %u has no vector %u (it has %d)", peer,
			    vec, ivshm_peer_vectors(h, peer));
	if (err)
		return fail(err, "ring peer %u vector %u", peer, vec);
	if (!opt.quiet)
		printf("rang peer %u vector %u\n", peer, vec);
	return 0;
}

static int cmd_wait(int argc, char **argv)
{
	unsigned vec = 0;
	int r;

	if (argc > 1)
		usage_error("wait [VECTOR]");
	if (argc)
		vec = (unsigned)num_arg("vector", argv[0], 0xffff);
	if (!opt.quiet) {
		printf("peer %d waiting on vector %u\n", ivshm_id(h), vec);
		fflush(stdout);
	}
	r = ivshm_wait(h, vec, opt.timeout);
	if (r == -ETIMEDOUT)
		return fail(r, "no doorbell on vector %u within %d ms", vec,
			    opt.timeout);
	if (r < 0)
		return fail(r, "wait on vector %u", vec);
	printf("doorbell: vector %u, count %d\n", vec, r);
	return 0;
}

static int queue_open(bool reset)
{
	struct ivshm_q_opts o = opt.q;
	char d[256];
	int err;

	if (reset)
		o.flags |= IVSHM_Q_RESET;
	err = ivshm_q_init(h, &q, &o);
	if (err == -EPROTO)
		return fail(err,
			    "the memory at offset %" PRIu64
			    " holds a queue header that does not fit "
			    "(use init --reset)",
			    o.offset);
	if (err)
		return fail(err, "queue at offset %" PRIu64, o.offset);
	if (!opt.quiet) {
		ivshm_q_describe(&q, d, sizeof(d));
		fprintf(stderr, "queue: %s\n", d);
	}
	return 0;
}

/* ivq_send()/ivq_recv() said wake: ring the other side's vector. True if
 * rung. */
static bool ring_other(void)
{
	uint16_t v;
	uint32_t p = ivq_other_peer(&q.q, &v);

	return p != IVQ_NO_PEER && !ivshm_ring(h, p, v);
}

static int queue_error(int err, const char *what)
{
	if (err == -ESTALE)
		return fail(err, "%s: the other side re-initialised the queue",
			    what);
	if (err == -EPROTO)
		return fail(err, "%s: the other side corrupted the queue",
			    what);
	if (err == -EAGAIN)
		return fail(0, "%s: timed out after %d ms", what, opt.timeout);
	return fail(err, "%s", what);
}

static int cmd_init(int argc, char **argv)
{
	char d[256];
	int err;

	if (argc)
		usage_error("init takes no arguments");
	err = queue_open(opt.reset);
	if (err)
		return err;
	ivshm_q_describe(&q, d, sizeof(d));
	printf("queue: %s\n", d);
	return 0;
}

static int cmd_send(int argc, char **argv)
{
	int err;

	if (argc < 1)
		usage_error("send MSG...");
	err = queue_open(opt.reset);
	if (err)
		return err;
	for (int i = 0; i < argc; i++) {
		err = ivshm_q_send(&q, opt.tag + (uint32_t)i, argv[i],
				   strlen(argv[i]), opt.timeout);
		if (err)
			return queue_error(err, "send");
	}
	if (!opt.quiet)
		printf("sent %d message%s\n", argc, argc == 1 ? "" : "s");
	return 0;
}

static int cmd_recv(int argc, char **argv)
{
	uint64_t n = 1;
	uint8_t *buf;
	int err;

	if (argc > 1)
		usage_error("recv [COUNT]");
	if (argc)
		n = num_arg("count", argv[0], UINT64_MAX);
	err = queue_open(false);
	if (err)
		return err;
	buf = malloc(q.q.rx.size);
	if (!buf)
		return fail(-ENOMEM, "recv");
	for (uint64_t i = 0; i < n; i++) {
		uint32_t tag;
		size_t len;

		err = ivshm_q_recv(&q, &tag, buf, q.q.rx.size, &len,
				   opt.timeout);
		if (err) {
			free(buf);
			return queue_error(err, "recv");
		}
		printf("tag %u len %zu: ", tag, len);
		print_bytes(buf, len);
		putchar('\n');
		fflush(stdout);
	}
	free(buf);
	return 0;
}

static void fill(uint8_t *p, uint32_t size, uint64_t i)
{
	char head[32];
	int n = snprintf(head, sizeof(head), "echo %" PRIu64 " ", i);

	for (uint32_t k = 0; k < size; k++)
		p[k] = k < (uint32_t)n ? (uint8_t)head[k]
				       : (uint8_t)('a' + (i + k) % 26);
}

/* One request/echo pair; checks the echo. *seq: the echo's tag. */
static int echo_once(uint8_t *tx, uint8_t *rx, uint64_t i, uint32_t *seq)
{
	size_t len;
	int err;

	fill(tx, opt.msg_size, i);
	err = ivshm_q_send(&q, (uint32_t)i, tx, opt.msg_size, opt.timeout);
	if (err)
		return queue_error(err, "send");
	err = ivshm_q_recv(&q, seq, rx, q.q.rx.size, &len, opt.timeout);
	if (err)
		return queue_error(err, "no echo");
	if (len != opt.msg_size || memcmp(tx, rx, len))
		return fail(0, "echo %" PRIu64 " differs (%zu bytes back)", i,
			    len);
	return 0;
}

static int check_size(void)
{
	if (opt.msg_size > ivq_max_msg(&q.q) ||
	    opt.msg_size > q.q.rx.size - IVQ_REC_HDR)
		return fail(0, "--msg-size %u: the rings take at most %u",
			    opt.msg_size, ivq_max_msg(&q.q));
	return 0;
}

static int cmd_echo_test(int argc, char **argv)
{
	uint64_t n, *ns, t0;
	uint32_t seq, first = 0;
	uint8_t *tx, *rx;
	int err;

	if (argc != 1)
		usage_error("echo-test N");
	n = num_arg("count", argv[0], MAX_SAMPLES);
	err = queue_open(!opt.keep);
	if (err || (err = check_size()))
		return err;
	tx = malloc(opt.msg_size + 1);
	rx = malloc(q.q.rx.size);
	ns = samples(n);
	if (!tx || !rx)
		return fail(-ENOMEM, "echo-test");
	/* Warm-up, not measured: the other side may still be attaching. */
	err = echo_once(tx, rx, 0, &first);
	for (uint64_t i = 1; !err && i <= n; i++) {
		t0 = now_ns();
		err = echo_once(tx, rx, i, &seq);
		ns[i - 1] = now_ns() - t0;
		if (!err && seq != first + i)
			err = fail(0,
				   "echo %" PRIu64 ": sequence number %u, "
				   "expected %" PRIu64,
				   i, seq, first + i);
	}
	if (!err) {
		printf("echo-test: %" PRIu64 " messages of %u bytes echoed "
		       "in order, sequence numbers %u..%" PRIu64 "\n",
		       n, opt.msg_size, first + 1, first + n);
		print_stats("round trip", ns, n);
		printf("doorbells: %" PRIu64 " rung, %" PRIu64 " failed, "
		       "%" PRIu64 " sleeps\n",
		       q.rings, q.ring_errors, q.sleeps);
	}
	free(ns);
	free(tx);
	free(rx);
	return err;
}

static int cmd_flood(int argc, char **argv)
{
	uint64_t n, sent = 0, got = 0, t0, t;
	uint32_t seq, first = 0;
	uint8_t *tx, *rx;
	size_t len;
	bool wake;
	int err;

	if (argc != 1)
		usage_error("flood N");
	n = num_arg("count", argv[0], UINT64_MAX);
	err = queue_open(!opt.keep);
	if (err || (err = check_size()))
		return err;
	tx = calloc(1, opt.msg_size + 1);
	rx = malloc(q.q.rx.size);
	if (!tx || !rx)
		return fail(-ENOMEM, "flood");
	err = echo_once(tx, rx, 0, &first);
	t0 = now_ns();
	while (!err && got < n) {
		bool progress = false;
		uint32_t l;

		/* Fill the ring, one doorbell for the batch. */
		while (sent < n) {
			fill(tx, opt.msg_size < 24 ? opt.msg_size : 24,
			     sent + 1);
			err = ivq_send(&q.q, (uint32_t)(sent + 1), tx,
				       opt.msg_size, &wake);
			if (err)
				break;
			sent++;
			q.sent++;
			progress = true;
			if (wake && ring_other())
				q.rings++;
		}
		if (err == IVQ_EAGAIN)
			err = 0;
		while (!err) {
			err = ivq_recv(&q.q, &seq, rx, q.q.rx.size, &l, &wake);
			if (err)
				break;
			if (seq != first + got + 1 || l != opt.msg_size) {
				err = fail(0,
					   "echo %" PRIu64 ": sequence %u "
					   "length %u",
					   got + 1, seq, l);
				break;
			}
			got++;
			progress = true;
			if (wake && ring_other())
				q.rings++;
		}
		if (err == IVQ_EAGAIN)
			err = 0;
		if (err || progress)
			continue;
		/* Nothing moved: sleep until an echo arrives. */
		err = ivshm_q_recv(&q, &seq, rx, q.q.rx.size, &len,
				   opt.timeout);
		if (err)
			break;
		if (seq != first + got + 1 || len != opt.msg_size) {
			err = fail(0, "echo %" PRIu64 ": sequence %u", got + 1,
				   seq);
			break;
		}
		got++;
	}
	t = now_ns() - t0;
	if (err < 0) {
		char d[256];

		ivshm_q_describe(&q, d, sizeof(d));
		fprintf(stderr,
			"ivshmem-tool: flood: %" PRIu64 " sent, %" PRIu64
			" echoed; queue: %s\n",
			sent, got, d);
		err = queue_error(err, "flood");
	}
	if (!err) {
		double s = t / 1e9;

		printf("flood: %" PRIu64 " messages of %u bytes echoed in "
		       "%.3f s: %.0f msg/s, %.2f MB/s each way\n",
		       n, opt.msg_size, s, n / s,
		       n * (double)opt.msg_size / s / 1e6);
		printf("doorbells: %" PRIu64 " rung, %" PRIu64 " sleeps\n",
		       q.rings, q.sleeps);
	}
	free(tx);
	free(rx);
	return err;
}

static int cmd_ping(int argc, char **argv)
{
	unsigned peer, vec = opt.q.vector ? opt.q.vector : PONG_VECTOR;
	uint64_t n = 10, *ns;
	int err;

	if (argc < 1 || argc > 2)
		usage_error("ping PEER [N]");
	peer = (unsigned)num_arg("peer", argv[0], 0xffff);
	if (argc > 1)
		n = num_arg("count", argv[1], MAX_SAMPLES);
	if (ivshm_vectors(h) <= (int)vec)
		return fail(0, "ping needs own vector %u (the server gave %d)",
			    vec, ivshm_vectors(h));
	/* The echo peer rings back peer[A] of the queue: make that us. */
	opt.q.vector = 0;
	err = queue_open(false);
	if (err)
		return err;
	ns = samples(n);
	ivshm_ack(h, vec);
	for (uint64_t i = 0; i <= n; i++) {
		uint64_t t0 = now_ns();

		err = ivshm_ring(h, peer, vec);
		if (err) {
			err = fail(err, "ring peer %u vector %u", peer, vec);
			break;
		}
		err = ivshm_wait(h, vec, opt.timeout);
		if (err < 0) {
			err = fail(err,
				   "no doorbell back from peer %u on "
				   "vector %u",
				   peer, vec);
			break;
		}
		err = 0;
		if (i) /* the first one is a warm-up */
			ns[i - 1] = now_ns() - t0;
	}
	if (!err) {
		printf("ping: %" PRIu64 " doorbell round trips to peer %u "
		       "vector %u\n",
		       n, peer, vec);
		print_stats("round trip", ns, n);
	}
	free(ns);
	return err;
}

/* ---- the echo side ---- */

static bool echo_quit(const uint8_t *p, size_t len)
{
	return len == 4 && !memcmp(p, "quit", 4);
}

static int cmd_echo(int argc, char **argv)
{
	struct ivshm_q_opts o = opt.q;
	uint64_t done = 0;
	uint32_t seq = 0;
	uint8_t *buf = NULL;
	int err;

	if (argc)
		usage_error("echo takes no arguments");
	if (!opt.quiet) {
		printf("echo: peer %d, waiting for the queue\n", ivshm_id(h));
		fflush(stdout);
	}
attach:
	err = ivshm_q_attach(h, &q, &o,
			     opt.timeout < 0 ? -1 : ECHO_TIMEOUT_LONG);
	if (err)
		return queue_error(err, "attach");
	seq = 0;
	free(buf);
	buf = malloc(q.q.rx.size);
	if (!buf)
		return fail(-ENOMEM, "echo");
	if (!opt.quiet) {
		char d[256];

		ivshm_q_describe(&q, d, sizeof(d));
		printf("echo: attached: %s\n", d);
		fflush(stdout);
	}
	for (;;) {
		struct pollfd pfd[3];
		uint32_t tag, l;
		bool wake;
		int n = 0;

		err = ivq_recv(&q.q, &tag, buf, q.q.rx.size, &l, &wake);
		if (err == IVQ_ESTALE)
			goto attach;
		if (!err) {
			if (wake)
				ring_other();
			err = ivshm_q_send(&q, ++seq, buf, l, opt.timeout);
			if (err == -ESTALE)
				goto attach;
			if (err)
				break;
			if (echo_quit(buf, l) ||
			    (opt.count && ++done >= opt.count))
				break;
			continue;
		}
		if (err != IVQ_EAGAIN)
			break;
		if (ivq_arm_rx(&q.q))
			continue;
		/* Sleep on the queue's vector and the pong vector. */
		if (ivshm_fd(h, q.vector) >= 0) {
			pfd[n].fd = ivshm_fd(h, q.vector);
			pfd[n++].events = POLLIN;
		}
		if (ivshm_fd(h, PONG_VECTOR) >= 0 && q.vector != PONG_VECTOR) {
			pfd[n].fd = ivshm_fd(h, PONG_VECTOR);
			pfd[n++].events = POLLIN;
		}
		if (ivshm_server_fd(h) >= 0) {
			pfd[n].fd = ivshm_server_fd(h);
			pfd[n++].events = POLLIN;
		}
		if (poll(pfd, (nfds_t)n, n ? 100 : 1) < 0 && errno != EINTR) {
			err = -errno;
			break;
		}
		ivshm_ack(h, q.vector);
		if (q.vector != PONG_VECTOR && ivshm_ack(h, PONG_VECTOR) > 0) {
			uint16_t v;
			uint32_t p = ivq_other_peer(&q.q, &v);

			if (p != IVQ_NO_PEER)
				ivshm_ring(h, p, PONG_VECTOR);
		}
		if (ivshm_connected(h))
			ivshm_process_server(h);
	}
	free(buf);
	ivshm_q_detach(&q);
	if (err)
		return queue_error(err, "echo");
	if (!opt.quiet)
		printf("echo: %u messages echoed\n", seq);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "file", required_argument, NULL, 'f' },
		{ "shm-size", required_argument, NULL, 'z' },
		{ "create", no_argument, NULL, 'C' },
		{ "offset", required_argument, NULL, 'o' },
		{ "ring-size", required_argument, NULL, 'r' },
		{ "vector", required_argument, NULL, 'V' },
		{ "timeout", required_argument, NULL, 't' },
		{ "msg-size", required_argument, NULL, 'm' },
		{ "tag", required_argument, NULL, 'T' },
		{ "count", required_argument, NULL, 'n' },
		{ "spin", required_argument, NULL, 'S' },
		{ "reset", no_argument, NULL, 'R' },
		{ "keep", no_argument, NULL, 'K' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd;
	int c, err;

	opt.socket = getenv("IVSHMEM_SOCKET");
	if (!opt.socket || !*opt.socket)
		opt.socket = DEFAULT_SOCKET;
	while ((c = getopt_long(argc, argv, "s:f:z:o:r:V:t:m:T:n:S:qh",
				longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			opt.socket = optarg;
			break;
		case 'f':
			opt.file = optarg;
			break;
		case 'z':
			opt.shm_size = num_arg("size", optarg, INT64_MAX);
			break;
		case 'C':
			opt.create = true;
			break;
		case 'o':
			opt.q.offset = num_arg("offset", optarg, INT64_MAX);
			break;
		case 'r':
			opt.q.ring_size = (uint32_t)num_arg("ring size", optarg,
							    IVQ_RING_MAX);
			break;
		case 'V':
			opt.q.vector =
				(uint16_t)num_arg("vector", optarg, 0xffff);
			break;
		case 't':
			if (!strcmp(optarg, "-1"))
				opt.timeout = -1;
			else
				opt.timeout = (int)num_arg("timeout", optarg,
							   INT_MAX);
			break;
		case 'm':
			opt.msg_size = (uint32_t)num_arg("message size", optarg,
							 IVQ_RING_MAX);
			break;
		case 'T':
			opt.tag = (uint32_t)num_arg("tag", optarg, UINT32_MAX);
			break;
		case 'n':
			opt.count = num_arg("count", optarg, UINT64_MAX);
			break;
		case 'S':
			opt.q.spin_us =
				(uint32_t)num_arg("spin", optarg, 10000000);
			break;
		case 'R':
			opt.reset = true;
			break;
		case 'K':
			opt.keep = true;
			break;
		case 'q':
			opt.quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc)
		usage_error("no command");
	cmd = argv[optind++];
	argc -= optind;
	argv += optind;
	if (!strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "info") && strcmp(cmd, "ring") && strcmp(cmd, "wait") &&
	    strcmp(cmd, "init") && strcmp(cmd, "send") && strcmp(cmd, "recv") &&
	    strcmp(cmd, "echo-test") && strcmp(cmd, "flood") &&
	    strcmp(cmd, "ping") && strcmp(cmd, "echo") && strcmp(cmd, "dump"))
		usage_error("unknown command '%s'", cmd);
	if (opt.file && (!strcmp(cmd, "ring") || !strcmp(cmd, "wait") ||
			 !strcmp(cmd, "ping")))
		usage_error("%s needs doorbells: not with --file", cmd);
	err = connect_peer();
	if (err)
		return err;
	if (!strcmp(cmd, "info"))
		err = cmd_info();
	else if (!strcmp(cmd, "dump"))
		err = cmd_dump();
	else if (!strcmp(cmd, "ring"))
		err = cmd_ring(argc, argv);
	else if (!strcmp(cmd, "wait"))
		err = cmd_wait(argc, argv);
	else if (!strcmp(cmd, "init"))
		err = cmd_init(argc, argv);
	else if (!strcmp(cmd, "send"))
		err = cmd_send(argc, argv);
	else if (!strcmp(cmd, "recv"))
		err = cmd_recv(argc, argv);
	else if (!strcmp(cmd, "echo-test"))
		err = cmd_echo_test(argc, argv);
	else if (!strcmp(cmd, "flood"))
		err = cmd_flood(argc, argv);
	else if (!strcmp(cmd, "ping"))
		err = cmd_ping(argc, argv);
	else
		err = cmd_echo(argc, argv);
	ivshm_close(h);
	return err;
}
