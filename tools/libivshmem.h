/* SPDX-License-Identifier: MIT */
/*
 * libivshmem: ivshmem for Linux applications. An application is an ivshmem
 * peer like a VM: it connects to the ivshmem server (tools/ivshmem-server,
 * or QEMU's contrib/ivshmem-server: same protocol, docs/ivshmem.md), gets
 * its peer ID, the shared memory (mapped here) and eventfds to ring every
 * peer's doorbell vectors and to wait on its own. Without a server it can
 * map a plain file (the `path` of an ivshmem device without a server): the
 * memory is shared, there are no doorbells.
 *
 * On top of the memory it offers the message queue of
 * devices/abi/ivshmem_queue.h (two single-producer single-consumer rings)
 * with the doorbells wired in: a send rings the receiver if it is asleep,
 * a blocking receive sleeps on this peer's doorbell.
 *
 * Link: libivshmem.a (built in tools/), include "tools/libivshmem.h"; no
 * other dependency than libc.
 *
 * Conventions: functions return 0 (or a count) on success and a negative
 * errno on failure; nothing prints. Timeouts are in milliseconds: 0 = do not
 * wait, -1 = wait forever. A handle is not thread-safe: use it from one
 * thread at a time (or lock around it). Every file descriptor the library
 * opens is close-on-exec. The other peers are not trusted: everything the
 * server or the shared memory says is checked.
 */
#ifndef TOOLS_LIBIVSHMEM_H
#define TOOLS_LIBIVSHMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/abi/ivshmem_queue.h"

/* Doorbell vectors kept per peer; the server's extra ones are closed. */
#define IVSHM_MAX_VECTORS 64
/* How long ivshm_connect() waits for the server's first messages. */
#ifndef IVSHM_CONNECT_TIMEOUT_MS
#define IVSHM_CONNECT_TIMEOUT_MS 5000
#endif

struct ivshm;

/* ---- connecting ---- */

/* Connect to the ivshmem server listening on the UNIX socket sock_path and
 * read the initial messages: protocol version (must be 0), this peer's ID,
 * the shared memory (mapped read-write, shared), the other peers' doorbell
 * eventfds and this peer's own vectors. Returns when the own vectors have
 * arrived (or none came within a short grace period after the memory; a
 * server with 0 vectors). Later messages (peers joining and leaving) are
 * read by ivshm_process_server() and by every waiting call.
 * Errors: -ENOENT (no socket at sock_path), -ECONNREFUSED (nobody listens),
 * -ETIMEDOUT (the server said nothing within IVSHM_CONNECT_TIMEOUT_MS),
 * -EPROTONOSUPPORT (protocol version not 0), -EPROTO (malformed messages,
 * closed early), -ENAMETOOLONG, -ENOMEM, or what socket()/mmap() said. */
int ivshm_connect(const char *sock_path, struct ivshm **hp);
/* The same over an already connected stream socket (taken over: closed by
 * ivshm_close() or on failure). */
int ivshm_connect_fd(int sock, struct ivshm **hp);

/* Plain mode: map the file `path` shared, as an ivshmem device without a
 * server does. size 0: the file's size (it must exist and not be empty).
 * Else the file must be exactly `size` bytes, except that an empty file
 * (also one IVSHM_CREATE just created) is first grown to `size`.
 * -ENOENT (missing, without IVSHM_CREATE), -EINVAL (size mismatch: the file
 * is not `size` bytes; empty file and size 0), or open()/mmap() errors. */
#define IVSHM_CREATE 0x1u
int ivshm_open_plain(const char *path, uint64_t size, unsigned flags,
		     struct ivshm **hp);

/* Unmap, close every descriptor, free. NULL is fine. */
void ivshm_close(struct ivshm *h);

/* ---- what we have ---- */

/* The shared memory and its size (page aligned, whole region). */
void *ivshm_mem(struct ivshm *h, uint64_t *size);
/* This peer's ID (0..65535), or -1 in plain mode. */
int ivshm_id(const struct ivshm *h);
/* Doorbell vectors the server gave this peer (0 in plain mode). */
int ivshm_vectors(const struct ivshm *h);
/* Connected to a server now (false in plain mode and after the server
 * closed the connection; the doorbells keep working then, but no peer
 * joins or leaves any more). */
bool ivshm_connected(const struct ivshm *h);
/* The IDs of the other peers known now, ascending: stores at most max in
 * ids and returns how many there are (may be more than max). */
int ivshm_peers(const struct ivshm *h, uint16_t *ids, unsigned max);
/* Doorbell vectors of peer `id`, or -ENOENT if there is no such peer. */
int ivshm_peer_vectors(const struct ivshm *h, unsigned id);

/* ---- doorbells ---- */

/* Ring vector `vector` of peer `peer` (writes 1 to its eventfd). A peer may
 * ring itself. -ENOTCONN (plain mode), -ENOENT (no such peer), -EINVAL (the
 * peer has no such vector). */
int ivshm_ring(struct ivshm *h, unsigned peer, unsigned vector);
/* Wait until own vector `vector` is rung, reading server messages
 * meanwhile. Returns how many rings were collected (>= 1; the eventfd
 * counter: several rings before the wait count as several), -ETIMEDOUT,
 * -ENOTCONN (plain mode), -ENOENT (no such vector, even after the server's
 * initial burst). */
int ivshm_wait(struct ivshm *h, unsigned vector, int timeout_ms);
/* Collect pending rings of `vector` without waiting: the count (0 if none)
 * or -ENOENT/-ENOTCONN. Call it when poll() says ivshm_fd() is readable. */
int ivshm_ack(struct ivshm *h, unsigned vector);
/* Own vector's eventfd (readable when rung; for poll/epoll; do not close
 * it), or -ENOENT/-ENOTCONN. */
int ivshm_fd(const struct ivshm *h, unsigned vector);

/* ---- the server connection ---- */

/* The server socket, readable when it has a message for us (for poll), or
 * -ENOTCONN (plain mode, or the server went away). */
int ivshm_server_fd(const struct ivshm *h);
/* Read every message the server has sent without blocking (peers joining
 * and leaving, late own vectors). Returns how many were handled, or
 * -ECONNRESET once when the server closed the connection (and -ENOTCONN
 * from then on), -EPROTO if it broke the protocol (the connection is
 * dropped too). */
int ivshm_process_server(struct ivshm *h);
/* Called from ivshm_process_server() (and the waiting calls) for every peer
 * that joins (joined = true, once its first vector is there) or leaves. */
typedef void (*ivshm_peer_fn)(struct ivshm *h, unsigned id, bool joined,
			      void *arg);
void ivshm_on_peer(struct ivshm *h, ivshm_peer_fn fn, void *arg);

/* ---- message queue (devices/abi/ivshmem_queue.h) ---- */

struct ivshm_q_opts {
	uint64_t offset;    /* queue base in the region, 64-byte aligned */
	uint64_t size;	    /* bytes from offset it may use; 0 = the rest */
	uint32_t ring_size; /* new queue: bytes per ring, 0 = largest */
	uint16_t vector;    /* own vector to sleep on (and that peers ring) */
	unsigned flags;
	uint32_t spin_us; /* send/recv: busy-poll this long before asking
			     * for a doorbell and sleeping (0: sleep at
			     * once). Spinning trades CPU for latency and
			     * saves the other side its doorbell writes. */
};
#define IVSHM_Q_RESET 0x1u /* ivshm_q_init(): never adopt, always new */

struct ivshm_q {
	struct ivq q;
	struct ivshm *h;
	uint16_t vector;
	uint32_t my_peer;
	uint32_t spin_us;
	uint64_t offset, size;
	/* statistics */
	uint64_t sent, received, rings, ring_errors, sleeps;
};

/* Side A (normally the application): adopt the valid queue at o->offset as
 * side A (records in flight survive; peer/vector in the header become
 * ours), or, if there is none or IVSHM_Q_RESET, initialise a new one
 * (a new generation: the other side sees IVQ_ESTALE and attaches again;
 * if the old header named side B's peer, it is kept as a hint and rung so
 * that B notices at once). o may be NULL (all defaults).
 * -EINVAL (offset/size/ring size), -ENOSPC (too small), -EPROTO (a valid
 * magic but a layout that does not fit: use IVSHM_Q_RESET). */
int ivshm_q_init(struct ivshm *h, struct ivshm_q *q,
		 const struct ivshm_q_opts *o);
/* Side B: wait up to timeout_ms for side A to initialise the queue, then
 * attach. -ETIMEDOUT, -EPROTO, -EINVAL. */
int ivshm_q_attach(struct ivshm *h, struct ivshm_q *q,
		   const struct ivshm_q_opts *o, int timeout_ms);

/* Send one message (tag, len bytes), waiting up to timeout_ms for space;
 * rings the receiver if it asked for a doorbell. 0, -EAGAIN (no space
 * within the timeout; nothing sent), -EMSGSIZE (longer than
 * ivq_max_msg(&q->q)), -ESTALE (the other side re-initialised the queue:
 * call ivshm_q_init()/ivshm_q_attach() again), -EPROTO (the other side
 * corrupted the indices). */
int ivshm_q_send(struct ivshm_q *q, uint32_t tag, const void *buf, size_t len,
		 int timeout_ms);
/* Receive one message into buf (cap bytes), waiting up to timeout_ms:
 * 0 with *tag and *len; -EAGAIN (none within the timeout), -EMSGSIZE (the
 * next message is longer than cap: *len says how long, it stays queued),
 * -ESTALE, -EPROTO. Rings the sender if it waits for space. */
int ivshm_q_recv(struct ivshm_q *q, uint32_t *tag, void *buf, size_t cap,
		 size_t *len, int timeout_ms);
/* Side B stops using the queue (b_gen = 0 in the header), so that side A
 * need not wait for it at its next re-initialisation. The queue stays
 * as it is; q must not be used for messages afterwards (attach again). */
void ivshm_q_detach(struct ivshm_q *q);
/* For event loops: ask to be rung when a message arrives. False: sleep on
 * ivshm_fd(h, q->vector) (then ivshm_ack()); true: there is something to
 * receive already (or an error ivshm_q_recv() will report). */
bool ivshm_q_arm(struct ivshm_q *q);
/* The queue's state as text for diagnostics ("gen 3 side A ring 65536
 * tx 0/65536 rx 16 peer 1"). */
void ivshm_q_describe(const struct ivshm_q *q, char *buf, size_t len);

#endif
