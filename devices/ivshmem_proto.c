/* SPDX-License-Identifier: MIT */
/*
 * The ivshmem client-server protocol (devices/ivshmem_proto.h): sockets,
 * framing of (int64, fd) messages and the client's state machine.
 *
 * Why recvmsg() asks for at most the rest of one message: an fd travels
 * with the bytes it was sent with, and a read that spans two messages could
 * return the second one's fd with the first one's bytes. Reading one
 * message at a time keeps every fd with its message.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "devices/ivshmem_proto.h"

/* Room for a few fds: a misbehaving sender may attach several to one
 * message; they are received (then closed) rather than left to the
 * kernel's truncation. */
#define RX_MAX_FDS 8

int ivshmem_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, ret;

	if (!path || !path[0])
		return -EINVAL;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* A UNIX socket connect completes at once or fails; EAGAIN means the
	 * listener's backlog is full. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

int ivshmem_send(int sock, int64_t value, int fd)
{
	uint8_t buf[IVSHMEM_MSG_SIZE];
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	uint64_t u = (uint64_t)value;
	ssize_t n;

	for (unsigned i = 0; i < IVSHMEM_MSG_SIZE; i++)
		buf[i] = (uint8_t)(u >> (8 * i));
	if (fd >= 0) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do {
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	/* 8 bytes into a UNIX stream socket go in one piece or not at all;
	 * anything else would desynchronise the stream. */
	return n == IVSHMEM_MSG_SIZE ? 0 : -EPROTO;
}

void ivshmem_rx_init(struct ivshmem_rx *rx)
{
	memset(rx, 0, sizeof(*rx));
	rx->fd = -1;
}

void ivshmem_rx_reset(struct ivshmem_rx *rx)
{
	if (rx->fd >= 0)
		close(rx->fd);
	ivshmem_rx_init(rx);
}

/* Take the fds of one recvmsg(); false if there was more than one in all
 * for the current message (all closed then). */
static bool rx_take_fds(struct ivshmem_rx *rx, struct msghdr *mh)
{
	bool ok = !(mh->msg_flags & MSG_CTRUNC);

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n && i < RX_MAX_FDS; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (fd < 0)
				continue;
			if (rx->fd < 0 && ok) {
				rx->fd = fd;
			} else {
				close(fd);
				ok = false;
			}
		}
	}
	if (!ok && rx->fd >= 0) {
		close(rx->fd);
		rx->fd = -1;
	}
	return ok;
}

int ivshmem_recv(int sock, struct ivshmem_rx *rx, int64_t *value, int *fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(RX_MAX_FDS * sizeof(int))];
	} ctl;
	uint64_t u = 0;

	/* Bounded: each round reads at least one byte or returns. */
	while (rx->len < IVSHMEM_MSG_SIZE) {
		struct iovec iov = { .iov_base = rx->buf + rx->len,
				     .iov_len = IVSHMEM_MSG_SIZE - rx->len };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = ctl.buf,
				     .msg_controllen = sizeof(ctl.buf) };
		ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		}
		if (!rx_take_fds(rx, &mh)) {
			/* Drop the message's bytes read so far; the rest of
			 * it is read (and dropped) as the next message's
			 * start would be misaligned anyway: the caller
			 * closes the connection. */
			ivshmem_rx_reset(rx);
			return -EPROTO;
		}
		if (n == 0) {
			ivshmem_rx_reset(rx);
			return 0;
		}
		rx->len += (unsigned)n;
	}
	for (unsigned i = 0; i < IVSHMEM_MSG_SIZE; i++)
		u |= (uint64_t)rx->buf[i] << (8 * i);
	*value = (int64_t)u;
	*fd = rx->fd;
	rx->fd = -1;
	rx->len = 0;
	return 1;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ivshmem_recv_timeout(int sock, struct ivshmem_rx *rx, int64_t *value,
			 int *fd, int timeout_ms)
{
	int64_t end = timeout_ms < 0 ? 0 : mono_ms() + timeout_ms;

	for (;;) {
		struct pollfd p = { .fd = sock, .events = POLLIN };
		int r = ivshmem_recv(sock, rx, value, fd), wait = -1;

		if (r != -EAGAIN)
			return r;
		if (timeout_ms >= 0) {
			int64_t left = end - mono_ms();

			if (left <= 0)
				return -ETIMEDOUT;
			wait = (int)left;
		}
		r = poll(&p, 1, wait);
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

void ivshmem_client_init(struct ivshmem_client *c)
{
	memset(c, 0, sizeof(*c));
	c->state = IVSHMEM_CL_VERSION;
}

static int feed_fail(int fd, int err)
{
	if (fd >= 0)
		close(fd);
	return err;
}

int ivshmem_client_feed(struct ivshmem_client *c, int64_t value, int fd,
			struct ivshmem_msg *msg)
{
	*msg = (struct ivshmem_msg){ .fd = -1 };

	switch (c->state) {
	case IVSHMEM_CL_VERSION:
		c->version = value;
		if (fd >= 0)
			return feed_fail(fd, -EPROTO);
		if (value != IVSHMEM_PROTO_VERSION)
			return -EPROTONOSUPPORT;
		msg->kind = IVSHMEM_MSG_VERSION;
		c->state = IVSHMEM_CL_ID;
		return 0;
	case IVSHMEM_CL_ID:
		if (fd >= 0 || value < 0 || value > 65535)
			return feed_fail(fd, -EPROTO);
		c->own_id = (uint16_t)value;
		msg->kind = IVSHMEM_MSG_OWN_ID;
		msg->id = c->own_id;
		c->state = IVSHMEM_CL_SHM;
		return 0;
	case IVSHMEM_CL_SHM:
		if (fd < 0 || value != IVSHMEM_MSG_SHM_ID)
			return feed_fail(fd, -EPROTO);
		msg->kind = IVSHMEM_MSG_SHM;
		msg->fd = fd;
		c->state = IVSHMEM_CL_READY;
		return 0;
	case IVSHMEM_CL_READY:
		if (value < 0 || value > 65535)
			return feed_fail(fd, -EPROTO);
		msg->id = (uint16_t)value;
		if (fd < 0) {
			if (msg->id == c->own_id)
				return -EPROTO;
			msg->kind = IVSHMEM_MSG_PEER_GONE;
			return 0;
		}
		msg->kind = msg->id == c->own_id ? IVSHMEM_MSG_OWN_FD
						 : IVSHMEM_MSG_PEER_FD;
		msg->fd = fd;
		return 0;
	}
	return feed_fail(fd, -EPROTO);
}

const char *ivshmem_client_state_name(enum ivshmem_client_state s)
{
	switch (s) {
	case IVSHMEM_CL_VERSION:
		return "waiting for the protocol version";
	case IVSHMEM_CL_ID:
		return "waiting for the peer ID";
	case IVSHMEM_CL_SHM:
		return "waiting for the shared memory";
	case IVSHMEM_CL_READY:
		return "connected";
	}
	return "?";
}
