/* SPDX-License-Identifier: MIT */
/*
 * The ivshmem client-server protocol (QEMU docs/specs/ivshmem-spec.txt,
 * "The ivshmem Client-Server Protocol"), shared by the VMM's ivshmem device
 * (devices/ivshmem.c), the ivshmem server (tools/ivshmem-server.c) and the
 * host library (tools/libivshmem.c). Plain POSIX + Linux sockets: no KVM,
 * no VMM state, no logging; every function returns 0/-errno or a count.
 *
 * The wire: a SOCK_STREAM UNIX socket, one way (server -> client). Each
 * message is a little-endian int64, optionally with one file descriptor
 * (SCM_RIGHTS) attached to its first byte. In order, the server sends:
 *
 *   1. the protocol version, IVSHMEM_PROTO_VERSION (0)
 *   2. the client's own peer ID (0..65535)
 *   3. -1 with the shared memory fd
 *   4. for each other connected peer: its ID, once per vector with that
 *      vector's eventfd (write 8 bytes of 1 to interrupt the peer)
 *   5. the client's own ID once per vector with the eventfd it receives
 *      that vector's interrupts on
 *   6. from then on: a peer ID with an fd (a peer joined, as in 4; one
 *      message per vector) or without (that peer left)
 *
 * Receiving is split in two layers so each can be tested alone:
 *   ivshmem_recv()          framing: bytes + fds -> (value, fd) messages
 *   ivshmem_client_feed()   client state machine: checks the order above
 *                           and classifies each message
 *
 * Typical client:
 *
 *	sock = ivshmem_connect(path);
 *	ivshmem_rx_init(&rx); ivshmem_client_init(&cl);
 *	while ((r = ivshmem_recv(sock, &rx, &v, &fd)) == 1) {
 *		r = ivshmem_client_feed(&cl, v, fd, &msg);  // fd now owned
 *		if (r < 0) break;                            // by msg or closed
 *		switch (msg.kind) { ... }
 *	}
 *	// r == -EAGAIN: wait for POLLIN; r == 0: server gone
 */
#ifndef DEVICES_IVSHMEM_PROTO_H
#define DEVICES_IVSHMEM_PROTO_H

#include <stdbool.h>
#include <stdint.h>

#define IVSHMEM_PROTO_VERSION 0
#define IVSHMEM_MSG_SIZE      8
/* Value of message 3 (the shared memory fd) */
#define IVSHMEM_MSG_SHM_ID (-1)

/* ---- sockets ---- */

/*
 * Connect to the server at `path`: a non-blocking, close-on-exec UNIX
 * stream socket. Returns the fd, -ENAMETOOLONG (path does not fit a
 * sockaddr_un) or -errno of socket()/connect() (-ENOENT: no such socket,
 * -ECONNREFUSED: nobody listens, -EACCES ...).
 */
int ivshmem_connect(const char *path);

/*
 * Send one message: `value` as 8 bytes little-endian, with `fd` attached
 * when fd >= 0 (the caller keeps its fd). Never raises SIGPIPE. Returns 0
 * (sent), -EAGAIN (non-blocking socket full: nothing was sent, retry when
 * writable), -EPIPE/-ECONNRESET (the other side is gone), -ETOOMANYREFS
 * (too many fds in flight to a receiver that does not read), or -errno.
 */
int ivshmem_send(int sock, int64_t value, int fd);

/* ---- framing ---- */

/* Receive state: a message may arrive in pieces. */
struct ivshmem_rx {
	uint8_t buf[IVSHMEM_MSG_SIZE];
	unsigned len; /* bytes of buf received */
	int fd;	      /* fd that came with this message, or -1 */
};

void ivshmem_rx_init(struct ivshmem_rx *rx);
/* Drop a partial message (closing its fd). */
void ivshmem_rx_reset(struct ivshmem_rx *rx);

/*
 * Receive the next message from sock, at most 8 bytes per call to recvmsg
 * (so it never consumes bytes or fds of the following message). Returns
 *   1        a whole message: *value, and *fd = its fd (close-on-exec, the
 *            caller owns it) or -1
 *   0        end of stream (a partial message is dropped, its fd closed)
 *   -EAGAIN  no whole message yet (non-blocking socket): wait for POLLIN
 *   -EPROTO  more than one fd came with one message (all are closed; the
 *            message is dropped: the peer is misbehaving, close it)
 *   -errno   recvmsg() failed
 * Control data the kernel truncated (too many fds) also gives -EPROTO.
 */
int ivshmem_recv(int sock, struct ivshmem_rx *rx, int64_t *value, int *fd);

/*
 * ivshmem_recv() that waits up to timeout_ms (-1: forever) for a whole
 * message, polling a non-blocking socket. -ETIMEDOUT when it runs out.
 */
int ivshmem_recv_timeout(int sock, struct ivshmem_rx *rx, int64_t *value,
			 int *fd, int timeout_ms);

/* ---- the client's view: order and meaning of the messages ---- */

enum ivshmem_client_state {
	IVSHMEM_CL_VERSION, /* waiting for message 1 */
	IVSHMEM_CL_ID,	    /* waiting for message 2 */
	IVSHMEM_CL_SHM,	    /* waiting for message 3 */
	IVSHMEM_CL_READY,   /* set up: messages 4-6 */
};

struct ivshmem_client {
	enum ivshmem_client_state state;
	int64_t version; /* the server's, once received */
	uint16_t own_id; /* valid from IVSHMEM_CL_SHM on */
};

enum ivshmem_msg_kind {
	IVSHMEM_MSG_VERSION,   /* protocol version accepted; nothing to do */
	IVSHMEM_MSG_OWN_ID,    /* id: our peer ID */
	IVSHMEM_MSG_SHM,       /* fd: the shared memory */
	IVSHMEM_MSG_PEER_FD,   /* peer `id`'s next vector's eventfd (fd) */
	IVSHMEM_MSG_OWN_FD,    /* our next vector's eventfd (fd): id == own */
	IVSHMEM_MSG_PEER_GONE, /* peer `id` left: close its fds */
};

struct ivshmem_msg {
	enum ivshmem_msg_kind kind;
	uint16_t id;
	int fd; /* owned by the caller after a successful feed, or -1 */
};

void ivshmem_client_init(struct ivshmem_client *c);

/*
 * Interpret one received message (value, fd as ivshmem_recv() gave them;
 * fd is consumed: handed over in msg->fd, or closed). Vector numbers are
 * not tracked here: the N-th PEER_FD (OWN_FD) message for one ID is vector
 * N-1, counting from 0 again after a PEER_GONE for it. Returns 0 with *msg
 * filled, or
 *   -EPROTONOSUPPORT  the version is not IVSHMEM_PROTO_VERSION (the value
 *                     is in c->version)
 *   -EPROTO           anything else out of order or out of range: an fd
 *                     on messages 1/2, message 3 without an fd or with a
 *                     value other than -1, an ID outside 0..65535, our own
 *                     ID announced gone
 * After an error the connection is unusable: close it.
 */
int ivshmem_client_feed(struct ivshmem_client *c, int64_t value, int fd,
			struct ivshmem_msg *msg);

/* "ready", "waiting for the shared memory", ... for messages. */
const char *ivshmem_client_state_name(enum ivshmem_client_state s);

#endif
