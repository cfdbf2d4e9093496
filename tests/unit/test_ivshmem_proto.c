/* SPDX-License-Identifier: MIT */
/*
 * The ivshmem protocol helpers (devices/ivshmem_proto.c) over socketpairs:
 * framing of (int64, fd) messages, partial reads, fds on the wrong message,
 * end of stream, and the client's state machine on good and bad sequences.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/ivshmem_proto.h"

static int sv[2] = { -1, -1 };

static void setup(void)
{
	cr_assert_eq(socketpair(AF_UNIX,
				SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
				sv),
		     0);
}

static void teardown(void)
{
	close(sv[0]);
	close(sv[1]);
}

TestSuite(ivshmem_proto, .init = setup, .fini = teardown, .timeout = 10);

static bool same_file(int a, int b)
{
	struct stat sa, sb;

	return !fstat(a, &sa) && !fstat(b, &sb) && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* Send raw bytes with n fds attached. */
static void send_raw(const void *buf, size_t len, const int *fds, unsigned n)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(8 * sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (n) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.b;
		mh.msg_controllen = CMSG_SPACE(n * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(n * sizeof(int));
		memcpy(CMSG_DATA(c), fds, n * sizeof(int));
	}
	cr_assert_eq(sendmsg(sv[0], &mh, 0), (ssize_t)len);
}

Test(ivshmem_proto, framing)
{
	struct ivshmem_rx rx;
	int64_t v;
	int fd, efd = eventfd(0, EFD_CLOEXEC);
	uint8_t le[8] = { 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	ivshmem_rx_init(&rx);
	cr_assert_eq(ivshmem_recv(sv[1], &rx, &v, &fd), -EAGAIN);

	/* values little-endian, with and without fd */
	cr_assert_eq(ivshmem_send(sv[0], 0x0102030405060708LL, -1), 0);
	cr_assert_eq(ivshmem_send(sv[0], -1, efd), 0);
	cr_assert_eq(ivshmem_recv(sv[1], &rx, &v, &fd), 1);
	cr_assert_eq(v, 0x0102030405060708LL);
	cr_assert_eq(fd, -1);
	cr_assert_eq(ivshmem_recv(sv[1], &rx, &v, &fd), 1);
	cr_assert_eq(v, -1);
	cr_assert_geq(fd, 0);
	cr_assert(same_file(fd, efd));
	cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);

	/* a message in pieces, the fd with the first piece */
	send_raw(le, 3, &efd, 1);
	cr_assert_eq(ivshmem_recv(sv[1], &rx, &v, &fd), -EAGAIN);
	send_raw(le + 3, 5, NULL, 0);
	cr_assert_eq(ivshmem_recv(sv[1], &rx, &v, &fd), 1);
	cr_assert_eq(v, -2);
	cr_assert(same_file(fd, efd));
	close(fd);

	/* two fds on one message: refused, both closed */
	{
		int two[2] = { efd, efd };

		send_raw(le, 8, two, 2);
		cr_assert_eq(ivshmem_recv(sv[1], &rx, &v, &fd), -EPROTO);
		cr_assert_eq(rx.fd, -1);
	}
	/* one fd per piece of one message: refused too */
	ivshmem_rx_init(&rx);
	send_raw(le, 4, &efd, 1);
	send_raw(le + 4, 4, &efd, 1);
	{
		int r = ivshmem_recv(sv[1], &rx, &v, &fd);

		/* the kernel may deliver the pieces together or apart */
		if (r == -EAGAIN)
			r = ivshmem_recv(sv[1], &rx, &v, &fd);
		cr_assert_eq(r, -EPROTO);
	}

	/* end of stream in the middle of a message: its fd is closed */
	ivshmem_rx_init(&rx);
	send_raw(le, 5, &efd, 1);
	cr_assert_eq(ivshmem_recv(sv[1], &rx, &v, &fd), -EAGAIN);
	fd = rx.fd;
	cr_assert_geq(fd, 0);
	shutdown(sv[0], SHUT_WR);
	cr_assert_eq(ivshmem_recv(sv[1], &rx, &v, &fd), 0);
	cr_assert_eq(rx.fd, -1);
	cr_assert_eq(rx.len, 0);
	close(efd);
}

Test(ivshmem_proto, recv_timeout_and_connect)
{
	struct ivshmem_rx rx;
	int64_t v;
	int fd;

	ivshmem_rx_init(&rx);
	cr_assert_eq(ivshmem_recv_timeout(sv[1], &rx, &v, &fd, 50), -ETIMEDOUT);
	cr_assert_eq(ivshmem_send(sv[0], 7, -1), 0);
	cr_assert_eq(ivshmem_recv_timeout(sv[1], &rx, &v, &fd, 50), 1);
	cr_assert_eq(v, 7);

	cr_assert_eq(ivshmem_connect("/nonexistent/ivshmem.sock"), -ENOENT);
	cr_assert_eq(ivshmem_connect(""), -EINVAL);
	{
		char longp[200];

		memset(longp, 'a', sizeof(longp) - 1);
		longp[sizeof(longp) - 1] = 0;
		cr_assert_eq(ivshmem_connect(longp), -ENAMETOOLONG);
	}
	/* sending to a closed peer: no SIGPIPE, -EPIPE */
	close(sv[1]);
	sv[1] = -1;
	cr_assert_eq(ivshmem_send(sv[0], 1, -1), -EPIPE);
}

/* Feed (value, fd) and return the result; msg in *m. */
static int feed(struct ivshmem_client *c, int64_t v, int fd,
		struct ivshmem_msg *m)
{
	return ivshmem_client_feed(c, v, fd, m);
}

Test(ivshmem_proto, client_good_sequence)
{
	struct ivshmem_client c;
	struct ivshmem_msg m;
	int e = eventfd(0, EFD_CLOEXEC);

	ivshmem_client_init(&c);
	cr_assert_eq(feed(&c, 0, -1, &m), 0);
	cr_assert_eq(m.kind, IVSHMEM_MSG_VERSION);
	cr_assert_eq(feed(&c, 4, -1, &m), 0);
	cr_assert_eq(m.kind, IVSHMEM_MSG_OWN_ID);
	cr_assert_eq(m.id, 4);
	cr_assert_eq(feed(&c, -1, dup(e), &m), 0);
	cr_assert_eq(m.kind, IVSHMEM_MSG_SHM);
	cr_assert_geq(m.fd, 0);
	close(m.fd);
	cr_assert_eq(c.state, IVSHMEM_CL_READY);
	cr_assert_eq(feed(&c, 65535, dup(e), &m), 0);
	cr_assert_eq(m.kind, IVSHMEM_MSG_PEER_FD);
	cr_assert_eq(m.id, 65535);
	close(m.fd);
	cr_assert_eq(feed(&c, 4, dup(e), &m), 0);
	cr_assert_eq(m.kind, IVSHMEM_MSG_OWN_FD);
	close(m.fd);
	cr_assert_eq(feed(&c, 65535, -1, &m), 0);
	cr_assert_eq(m.kind, IVSHMEM_MSG_PEER_GONE);
	cr_assert_eq(m.fd, -1);
	close(e);
}

Test(ivshmem_proto, client_bad_sequences)
{
	struct ivshmem_client c;
	struct ivshmem_msg m;
	int e = eventfd(0, EFD_CLOEXEC), d;

	/* another version */
	ivshmem_client_init(&c);
	cr_assert_eq(feed(&c, 1, -1, &m), -EPROTONOSUPPORT);
	cr_assert_eq(c.version, 1);
	/* an fd on the version: closed */
	ivshmem_client_init(&c);
	d = dup(e);
	cr_assert_eq(feed(&c, 0, d, &m), -EPROTO);
	cr_assert_not(fd_open(d));
	/* IDs out of range */
	ivshmem_client_init(&c);
	feed(&c, 0, -1, &m);
	cr_assert_eq(feed(&c, 65536, -1, &m), -EPROTO);
	ivshmem_client_init(&c);
	feed(&c, 0, -1, &m);
	cr_assert_eq(feed(&c, -5, -1, &m), -EPROTO);
	/* memory without fd, with another value */
	ivshmem_client_init(&c);
	feed(&c, 0, -1, &m);
	feed(&c, 1, -1, &m);
	cr_assert_eq(feed(&c, -1, -1, &m), -EPROTO);
	d = dup(e);
	cr_assert_eq(feed(&c, 3, d, &m), -EPROTO);
	cr_assert_not(fd_open(d));
	/* after setup: peer IDs out of range, our own ID announced gone */
	ivshmem_client_init(&c);
	feed(&c, 0, -1, &m);
	feed(&c, 1, -1, &m);
	feed(&c, -1, dup(e), &m);
	close(m.fd);
	d = dup(e);
	cr_assert_eq(feed(&c, 70000, d, &m), -EPROTO);
	cr_assert_not(fd_open(d));
	cr_assert_eq(feed(&c, -1, -1, &m), -EPROTO);
	cr_assert_eq(feed(&c, 1, -1, &m), -EPROTO);
	close(e);
}
