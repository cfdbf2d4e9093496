/* SPDX-License-Identifier: MIT */
/*
 * libivshmem: the client side of the ivshmem server protocol (the QEMU
 * ivshmem specification, "The ivshmem Client-Server Protocol"), doorbells
 * over the eventfds it hands out, plain-file mapping, and the message
 * queue of devices/abi/ivshmem_queue.h with doorbells. The API and its
 * promises are in libivshmem.h.
 *
 * The server is a peer we trust to run the protocol but check anyway: IDs
 * must be 0..65535, every fd must come with the message that needs one,
 * the peer table and the vectors per peer are bounded, and a message that
 * breaks the rules drops the connection (the doorbells we have keep
 * working, as the specification allows after the server goes away).
 */
#include "tools/libivshmem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "devices/ivshmem_proto.h"

_Static_assert(IVQ_EAGAIN == -EAGAIN, "IVQ_EAGAIN");
_Static_assert(IVQ_EINVAL == -EINVAL, "IVQ_EINVAL");
_Static_assert(IVQ_ENOSPC == -ENOSPC, "IVQ_ENOSPC");
_Static_assert(IVQ_EPROTO == -EPROTO, "IVQ_EPROTO");
_Static_assert(IVQ_EMSGSIZE == -EMSGSIZE, "IVQ_EMSGSIZE");
_Static_assert(IVQ_ESTALE == -ESTALE, "IVQ_ESTALE");

#define MAX_PEER_ID 0xffffu
/* After the memory: how long to wait for the first own vector (a server
 * with 0 vectors sends none), and after each message of the initial burst
 * for the next one. */
#define FIRST_VECTOR_MS 500
#define BURST_GRACE_MS	20
/* Queue waits re-check the rings this often even without a doorbell: the
 * other side may not know our peer ID yet, or the server may be gone. */
#define QUEUE_RECHECK_MS 20
/* ivshm_q_init(): how long to wait for side B to let go of the old rings */
#define IVSHM_Q_RELEASE_MS 500

struct peer {
	uint16_t id;
	uint16_t nvec;
	int fd[IVSHM_MAX_VECTORS];
};

struct ivshm {
	int sock; /* -1: plain mode or disconnected */
	int id;	  /* -1: plain mode */
	bool plain;
	void *mem;
	uint64_t size;
	struct ivshmem_rx rx;
	struct ivshmem_client cl;
	int own[IVSHM_MAX_VECTORS];
	unsigned nown;
	struct peer *peers; /* sorted by id */
	unsigned npeers, cap;
	ivshm_peer_fn peer_fn;
	void *peer_arg;
};

/* ---- time ---- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until `deadline` (-1: forever) for poll(). */
static int left_ms(int64_t deadline)
{
	int64_t l;

	if (deadline < 0)
		return -1;
	l = deadline - now_ms();
	if (l <= 0)
		return 0;
	return l > INT_MAX ? INT_MAX : (int)l;
}

static int64_t deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

/* ---- peers ---- */

static struct peer *peer_find(const struct ivshm *h, unsigned id)
{
	unsigned lo = 0, hi = h->npeers;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (h->peers[mid].id == id)
			return &h->peers[mid];
		if (h->peers[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static struct peer *peer_add(struct ivshm *h, unsigned id)
{
	unsigned i;

	if (h->npeers == h->cap) {
		unsigned ncap = h->cap ? 2 * h->cap : 8;
		struct peer *p;

		if (ncap > MAX_PEER_ID + 1)
			ncap = MAX_PEER_ID + 1;
		if (ncap <= h->cap)
			return NULL;
		p = realloc(h->peers, ncap * sizeof(*p));
		if (!p)
			return NULL;
		h->peers = p;
		h->cap = ncap;
	}
	for (i = h->npeers; i > 0 && h->peers[i - 1].id > id; i--)
		h->peers[i] = h->peers[i - 1];
	h->peers[i].id = (uint16_t)id;
	h->peers[i].nvec = 0;
	h->npeers++;
	return &h->peers[i];
}

static void peer_remove(struct ivshm *h, struct peer *p)
{
	unsigned i = (unsigned)(p - h->peers);

	for (unsigned v = 0; v < p->nvec; v++)
		close(p->fd[v]);
	memmove(&h->peers[i], &h->peers[i + 1],
		(h->npeers - i - 1) * sizeof(*p));
	h->npeers--;
}

/* ---- the server connection ---- */

static void drop_server(struct ivshm *h)
{
	if (h->sock >= 0)
		close(h->sock);
	h->sock = -1;
	ivshmem_rx_reset(&h->rx);
}

/* Our own vector, a peer's vector, or a peer leaving (messages 4-6 of the
 * protocol, classified by ivshmem_client_feed()). Takes m->fd. */
static int handle_msg(struct ivshm *h, const struct ivshmem_msg *m)
{
	struct peer *p;

	switch (m->kind) {
	case IVSHMEM_MSG_OWN_FD:
		if (h->nown < IVSHM_MAX_VECTORS)
			h->own[h->nown++] = m->fd;
		else
			close(m->fd);
		return 0;
	case IVSHMEM_MSG_PEER_GONE:
		p = peer_find(h, m->id);
		if (p) {
			peer_remove(h, p);
			if (h->peer_fn)
				h->peer_fn(h, m->id, false, h->peer_arg);
		}
		return 0;
	case IVSHMEM_MSG_PEER_FD:
		p = peer_find(h, m->id);
		if (!p) {
			p = peer_add(h, m->id);
			if (!p) {
				close(m->fd);
				return -ENOMEM;
			}
			p->fd[p->nvec++] = m->fd;
			if (h->peer_fn)
				h->peer_fn(h, m->id, true, h->peer_arg);
			return 0;
		}
		if (p->nvec < IVSHM_MAX_VECTORS)
			p->fd[p->nvec++] = m->fd;
		else
			close(m->fd);
		return 0;
	default:
		/* VERSION/OWN_ID/SHM again: the state machine forbids it */
		if (m->fd >= 0)
			close(m->fd);
		return -EPROTO;
	}
}

/* Read the next message within timeout_ms and classify it: 1 (*m filled,
 * m->fd ours), 0 (none within the timeout), -ECONNRESET (server closed),
 * -EPROTO/-EPROTONOSUPPORT (broken) or -errno. */
static int next_msg(struct ivshm *h, int timeout_ms, struct ivshmem_msg *m)
{
	int64_t val;
	int fd, r;

	r = ivshmem_recv_timeout(h->sock, &h->rx, &val, &fd, timeout_ms);
	if (r == -ETIMEDOUT || r == -EAGAIN)
		return 0;
	if (r == 0)
		return -ECONNRESET;
	if (r < 0)
		return r;
	r = ivshmem_client_feed(&h->cl, val, fd, m);
	return r < 0 ? r : 1;
}

/* Handle messages for up to timeout_ms (0: only what is there). Returns the
 * number handled, or -ECONNRESET/-EPROTO/-ENOMEM (connection dropped). */
static int read_server(struct ivshm *h, int timeout_ms)
{
	int n = 0;

	if (h->sock < 0)
		return -ENOTCONN;
	for (;;) {
		struct ivshmem_msg m;
		int r = next_msg(h, timeout_ms, &m);

		if (r > 0)
			r = handle_msg(h, &m);
		else if (r == 0)
			return n;
		if (r < 0) {
			drop_server(h);
			return r;
		}
		n++;
		timeout_ms = 0;
	}
}

/* The initial burst: version, ID, memory, then peers and own vectors. */
static int handshake(struct ivshm *h)
{
	int64_t deadline = now_ms() + IVSHM_CONNECT_TIMEOUT_MS;
	struct ivshmem_msg m;
	struct stat st;
	void *mem;
	int err;

	while (h->cl.state != IVSHMEM_CL_READY) {
		err = next_msg(h, left_ms(deadline), &m);
		if (err == 0)
			return -ETIMEDOUT;
		if (err < 0)
			return err == -ECONNRESET ? -EPROTO : err;
		if (m.kind == IVSHMEM_MSG_OWN_ID)
			h->id = m.id;
	}
	/* m is the SHM message */
	if (fstat(m.fd, &st) || st.st_size <= 0 ||
	    (uint64_t)st.st_size > SIZE_MAX) {
		close(m.fd);
		return -EPROTO;
	}
	mem = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   m.fd, 0);
	err = -errno;
	close(m.fd);
	if (mem == MAP_FAILED)
		return err;
	h->mem = mem;
	h->size = (uint64_t)st.st_size;

	/* Peers' vectors, then ours; nothing marks the end of the burst,
	 * so wait a little for the first own vector and then take what
	 * arrives back to back. Anything later is handled as it comes. */
	for (int wait = FIRST_VECTOR_MS;;) {
		int t = left_ms(deadline);

		err = read_server(h, wait < t ? wait : t);
		if (err == -ECONNRESET)
			return 0; /* gone already: keep what we have */
		if (err <= 0 || t == 0)
			return err;
		wait = h->nown ? BURST_GRACE_MS : FIRST_VECTOR_MS;
	}
}

static struct ivshm *ivshm_new(void)
{
	struct ivshm *h = calloc(1, sizeof(*h));

	if (h) {
		h->sock = -1;
		h->id = -1;
		ivshmem_rx_init(&h->rx);
		ivshmem_client_init(&h->cl);
	}
	return h;
}

int ivshm_connect_fd(int sock, struct ivshm **hp)
{
	struct ivshm *h;
	int err, fl;

	*hp = NULL;
	h = ivshm_new();
	if (!h) {
		close(sock);
		return -ENOMEM;
	}
	h->sock = sock;
	fl = fcntl(sock, F_GETFL);
	if (fl < 0 || fcntl(sock, F_SETFL, fl | O_NONBLOCK) < 0) {
		err = -errno;
		goto fail;
	}
	err = handshake(h);
	if (err)
		goto fail;
	*hp = h;
	return 0;
fail:
	ivshm_close(h);
	return err;
}

int ivshm_connect(const char *sock_path, struct ivshm **hp)
{
	int sock;

	*hp = NULL;
	sock = ivshmem_connect(sock_path);
	if (sock < 0)
		return sock;
	return ivshm_connect_fd(sock, hp);
}

int ivshm_open_plain(const char *path, uint64_t size, unsigned flags,
		     struct ivshm **hp)
{
	struct ivshm *h;
	struct stat st;
	int fd, err;

	*hp = NULL;
	if (size > SIZE_MAX || (size && size > (uint64_t)INT64_MAX))
		return -EINVAL;
	fd = open(path,
		  O_RDWR | O_CLOEXEC | (flags & IVSHM_CREATE ? O_CREAT : 0),
		  0600);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto close_fd;
	}
	if (st.st_size == 0 && size) {
		if (ftruncate(fd, (off_t)size)) {
			err = -errno;
			goto close_fd;
		}
		st.st_size = (off_t)size;
	}
	if (st.st_size <= 0 || (size && (uint64_t)st.st_size != size) ||
	    (uint64_t)st.st_size > SIZE_MAX) {
		err = -EINVAL;
		goto close_fd;
	}
	h = ivshm_new();
	if (!h) {
		err = -ENOMEM;
		goto close_fd;
	}
	h->plain = true;
	h->mem = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
		      MAP_SHARED, fd, 0);
	if (h->mem == MAP_FAILED) {
		err = -errno;
		h->mem = NULL;
		free(h);
		goto close_fd;
	}
	h->size = (uint64_t)st.st_size;
	close(fd);
	*hp = h;
	return 0;
close_fd:
	close(fd);
	return err;
}

void ivshm_close(struct ivshm *h)
{
	if (!h)
		return;
	drop_server(h);
	for (unsigned v = 0; v < h->nown; v++)
		close(h->own[v]);
	while (h->npeers)
		peer_remove(h, &h->peers[h->npeers - 1]);
	free(h->peers);
	if (h->mem)
		munmap(h->mem, (size_t)h->size);
	free(h);
}

/* ---- accessors ---- */

void *ivshm_mem(struct ivshm *h, uint64_t *size)
{
	if (size)
		*size = h->size;
	return h->mem;
}

int ivshm_id(const struct ivshm *h)
{
	return h->id;
}

int ivshm_vectors(const struct ivshm *h)
{
	return (int)h->nown;
}

bool ivshm_connected(const struct ivshm *h)
{
	return h->sock >= 0;
}

int ivshm_peers(const struct ivshm *h, uint16_t *ids, unsigned max)
{
	for (unsigned i = 0; i < h->npeers && i < max; i++)
		ids[i] = h->peers[i].id;
	return (int)h->npeers;
}

int ivshm_peer_vectors(const struct ivshm *h, unsigned id)
{
	const struct peer *p = peer_find(h, id);

	return p ? p->nvec : -ENOENT;
}

void ivshm_on_peer(struct ivshm *h, ivshm_peer_fn fn, void *arg)
{
	h->peer_fn = fn;
	h->peer_arg = arg;
}

int ivshm_server_fd(const struct ivshm *h)
{
	return h->sock >= 0 ? h->sock : -ENOTCONN;
}

int ivshm_process_server(struct ivshm *h)
{
	return read_server(h, 0);
}

/* ---- doorbells ---- */

int ivshm_ring(struct ivshm *h, unsigned peer, unsigned vector)
{
	const struct peer *p;
	uint64_t one = 1;
	int fd;

	if (h->plain)
		return -ENOTCONN;
	if (peer == (unsigned)h->id) {
		if (vector >= h->nown)
			return -EINVAL;
		fd = h->own[vector];
	} else {
		p = peer_find(h, peer);
		if (!p)
			return -ENOENT;
		if (vector >= p->nvec)
			return -EINVAL;
		fd = p->fd[vector];
	}
	/* EAGAIN: the counter is at its maximum, the peer has been rung. */
	if (write(fd, &one, sizeof(one)) != sizeof(one) && errno != EAGAIN)
		return -errno;
	return 0;
}

static int collect(int fd)
{
	uint64_t n;
	ssize_t r = read(fd, &n, sizeof(n));

	if (r == sizeof(n))
		return n > INT_MAX ? INT_MAX : (int)n;
	if (r < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

int ivshm_ack(struct ivshm *h, unsigned vector)
{
	struct pollfd pfd;

	if (h->plain)
		return -ENOTCONN;
	if (vector >= h->nown)
		return -ENOENT;
	/* The server's eventfds may be blocking: read only when ready. */
	pfd.fd = h->own[vector];
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 0) <= 0)
		return 0;
	return collect(h->own[vector]);
}

int ivshm_fd(const struct ivshm *h, unsigned vector)
{
	if (h->plain)
		return -ENOTCONN;
	return vector < h->nown ? h->own[vector] : -ENOENT;
}

/* Sleep until own vector `vector` is readable (1), the deadline passes
 * (0), reading server messages meanwhile. */
static int wait_vector(struct ivshm *h, unsigned vector, int64_t deadline)
{
	for (;;) {
		struct pollfd pfd[2];
		int n = 0, r, t = left_ms(deadline);

		if (vector < h->nown) {
			pfd[n].fd = h->own[vector];
			pfd[n++].events = POLLIN;
		}
		if (h->sock >= 0) {
			pfd[n].fd = h->sock;
			pfd[n++].events = POLLIN;
		}
		if (!n)
			return -ENOENT;
		r = poll(pfd, (nfds_t)n, t);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return 0;
		if (vector < h->nown && (pfd[0].revents & POLLIN))
			return 1;
		if (h->sock >= 0 && pfd[n - 1].revents)
			read_server(h, 0);
		if (t == 0)
			return 0;
	}
}

int ivshm_wait(struct ivshm *h, unsigned vector, int timeout_ms)
{
	int64_t deadline = deadline_of(timeout_ms);

	if (h->plain)
		return -ENOTCONN;
	for (;;) {
		int r = wait_vector(h, vector, deadline);

		if (r < 0)
			return r;
		if (r == 0)
			return vector < h->nown ? -ETIMEDOUT : -ENOENT;
		r = collect(h->own[vector]);
		if (r)
			return r;
		/* Someone else read the count first: wait again. */
	}
}

/* ---- message queue ---- */

static int q_region(struct ivshm *h, const struct ivshm_q_opts *o,
		    uint64_t *off, uint64_t *size)
{
	*off = o ? o->offset : 0;
	*size = o && o->size ? o->size : h->size - (*off < h->size ? *off : 0);
	if (*off >= h->size || (*off & (IVQ_LINE - 1)) ||
	    *size > h->size - *off)
		return -EINVAL;
	return 0;
}

static void q_setup(struct ivshm *h, struct ivshm_q *q,
		    const struct ivshm_q_opts *o, uint64_t off, uint64_t size)
{
	memset(q, 0, sizeof(*q));
	q->h = h;
	q->vector = o ? o->vector : 0;
	q->spin_us = o ? o->spin_us : 0;
	q->my_peer = h->id >= 0 ? (uint32_t)h->id : IVQ_NO_PEER;
	q->offset = off;
	q->size = size;
}

static void q_ring(struct ivshm_q *q)
{
	uint16_t vec;
	uint32_t peer = ivq_other_peer(&q->q, &vec);

	if (peer == IVQ_NO_PEER || q->h->plain)
		return;
	if (ivshm_ring(q->h, peer, vec))
		q->ring_errors++;
	else
		q->rings++;
}

int ivshm_q_init(struct ivshm *h, struct ivshm_q *q,
		 const struct ivshm_q_opts *o)
{
	uint64_t off, size;
	uint8_t *base;
	int err;

	err = q_region(h, o, &off, &size);
	if (err)
		return err;
	q_setup(h, q, o, off, size);
	base = (uint8_t *)h->mem + off;
	if (!(o && (o->flags & IVSHM_Q_RESET))) {
		err = ivq_attach(&q->q, base, size, IVQ_SIDE_A, q->my_peer,
				 q->vector);
		if (err != IVQ_EAGAIN)
			return err;
	}
	/* Side B may be using the old rings: wake it so that it lets go,
	 * and wait for that (a bounded time: it may be dead). */
	if (ivq_init_begin(base, size)) {
		int64_t end = now_ms() + IVSHM_Q_RELEASE_MS;
		uint32_t peer = ivq_load(
			&((struct ivq_header *)(void *)base)->peer[IVQ_SIDE_B]);
		uint16_t vec =
			__atomic_load_n(&((struct ivq_header *)(void *)base)
						 ->vector[IVQ_SIDE_B],
					__ATOMIC_RELAXED);

		if (peer <= IVQ_MAX_PEER && !h->plain)
			ivshm_ring(h, peer, vec);
		while (!ivq_b_released(base) && now_ms() < end)
			usleep(200);
	}
	err = ivq_init(&q->q, base, size, o ? o->ring_size : 0, q->my_peer,
		       q->vector);
	if (err)
		return err;
	q_ring(q); /* a new generation: tell B if we know it */
	return 0;
}

int ivshm_q_attach(struct ivshm *h, struct ivshm_q *q,
		   const struct ivshm_q_opts *o, int timeout_ms)
{
	int64_t deadline = deadline_of(timeout_ms);
	uint64_t off, size;
	int err;

	err = q_region(h, o, &off, &size);
	if (err)
		return err;
	q_setup(h, q, o, off, size);
	for (;;) {
		err = ivq_attach(&q->q, (uint8_t *)h->mem + off, size,
				 IVQ_SIDE_B, q->my_peer, q->vector);
		if (err != IVQ_EAGAIN)
			return err;
		if (left_ms(deadline) == 0)
			return -ETIMEDOUT;
		/* A rings B's (old) ID at init: take the hint, else poll. */
		if (h->plain || wait_vector(h, q->vector, now_ms() + 10) < 0)
			usleep(10000);
		else if (q->vector < h->nown)
			collect(h->own[q->vector]);
	}
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield" ::: "memory");
#endif
}

/* Busy-polling allowed until *spin_end (ns; set on the first call). */
static bool q_spin(struct ivshm_q *q, int64_t *spin_end)
{
	struct timespec ts;
	int64_t now;

	if (!q->spin_us)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	if (!*spin_end)
		*spin_end = now + (int64_t)q->spin_us * 1000;
	if (now >= *spin_end)
		return false;
	cpu_relax();
	return true;
}

/* Sleep until rung or QUEUE_RECHECK_MS (server mode), or a short while
 * (plain mode: polling, backing off from 20 us to 1 ms). */
static void q_sleep(struct ivshm_q *q, int64_t deadline, unsigned *backoff)
{
	struct ivshm *h = q->h;
	int64_t until;

	q->sleeps++;
	if (!h->plain && q->vector < h->nown) {
		until = now_ms() + QUEUE_RECHECK_MS;
		if (deadline >= 0 && deadline < until)
			until = deadline;
		if (wait_vector(h, q->vector, until) > 0)
			collect(h->own[q->vector]);
		return;
	}
	usleep(*backoff);
	if (*backoff < 1000)
		*backoff *= 2;
}

/* How long a send or receive may still wait, and how it waits. */
struct q_wait {
	int64_t deadline, spin_end; /* deadline_of(), q_spin() */
	unsigned backoff;	    /* q_sleep() */
};

/* After err from ivq_send() (tx, of len bytes) or ivq_recv(): err itself
 * unless it is IVQ_EAGAIN with time left; else 0 after a spin, or arming
 * the doorbell and sleeping, to try again. */
static int q_wait(struct ivshm_q *q, struct q_wait *w, int err, bool tx,
		  uint32_t len)
{
	if (err != IVQ_EAGAIN || left_ms(w->deadline) == 0)
		return err;
	if (q_spin(q, &w->spin_end))
		return 0;
	if (tx ? ivq_arm_tx(&q->q, len) : ivq_arm_rx(&q->q))
		return 0;
	q_sleep(q, w->deadline, &w->backoff);
	return 0;
}

int ivshm_q_send(struct ivshm_q *q, uint32_t tag, const void *buf, size_t len,
		 int timeout_ms)
{
	struct q_wait w = { .deadline = deadline_of(timeout_ms),
			    .backoff = 20 };
	bool wake;
	int err;

	if (len > UINT32_MAX)
		return -EMSGSIZE;
	for (;;) {
		err = ivq_send(&q->q, tag, buf, (uint32_t)len, &wake);
		if (!err) {
			q->sent++;
			if (wake)
				q_ring(q);
			return 0;
		}
		err = q_wait(q, &w, err, true, (uint32_t)len);
		if (err)
			return err;
	}
}

int ivshm_q_recv(struct ivshm_q *q, uint32_t *tag, void *buf, size_t cap,
		 size_t *len, int timeout_ms)
{
	struct q_wait w = { .deadline = deadline_of(timeout_ms),
			    .backoff = 20 };
	uint32_t l = 0;
	bool wake;
	int err;

	if (cap > UINT32_MAX)
		cap = UINT32_MAX;
	for (;;) {
		err = ivq_recv(&q->q, tag, buf, (uint32_t)cap, &l, &wake);
		*len = l;
		if (!err) {
			q->received++;
			if (wake)
				q_ring(q);
			return 0;
		}
		err = q_wait(q, &w, err, false, 0);
		if (err)
			return err;
	}
}

void ivshm_q_detach(struct ivshm_q *q)
{
	ivq_release(&q->q);
}

bool ivshm_q_arm(struct ivshm_q *q)
{
	return ivq_arm_rx(&q->q);
}

void ivshm_q_describe(const struct ivshm_q *q, char *buf, size_t len)
{
	const struct ivq *v = &q->q;
	uint16_t vec;
	uint32_t peer = ivq_other_peer(v, &vec);
	uint32_t tx_used = v->tx.pos - ivq_load(&v->tx.ctl->tail);
	uint32_t rx_used = ivq_load(&v->rx.ctl->head) - v->rx.pos;
	char other[32];

	if (peer == IVQ_NO_PEER)
		snprintf(other, sizeof(other), "none");
	else
		snprintf(other, sizeof(other), "%u vector %u", peer, vec);
	snprintf(buf, len,
		 "generation %u, side %c, offset %llu, rings %u/%u bytes, "
		 "tx %u bytes queued%s, rx %u bytes queued%s, other side's "
		 "doorbell: %s%s",
		 v->generation, v->side == IVQ_SIDE_A ? 'A' : 'B',
		 (unsigned long long)q->offset, v->tx.size, v->rx.size, tx_used,
		 v->tx.broken ? " (broken)" : "", rx_used,
		 v->rx.broken ? " (broken)" : "", other,
		 ivq_stale(v) ? " (stale)" : "");
}
