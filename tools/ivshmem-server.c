// SPDX-License-Identifier: MIT
/*
 * ivshmem-server: hands out shared memory, peer IDs and interrupt eventfds
 * to ivshmem clients over a UNIX socket, with the protocol of QEMU's
 * docs/specs/ivshmem-spec.txt (devices/ivshmem_proto.h), so our VMM's
 * ivshmem devices, QEMU's `-device ivshmem-doorbell` and host programs
 * (tools/libivshmem) can share one channel. Options follow QEMU's
 * contrib/ivshmem-server:
 *
 *   ivshmem-server [-hvF] [-p PIDFILE] [-S SOCKET] [-M SHM_NAME | -m DIR]
 *                  [-l SIZE] [-n VECTORS] [-c MAX_CLIENTS]
 *
 * Robustness (docs/ivshmem.md "Server"):
 *   - one epoll loop, non-blocking sockets; a client never blocks the
 *     server or the other clients
 *   - the protocol is one-way: whatever a client sends is read and
 *     discarded (fds it passes are closed); more than CLIENT_JUNK_MAX
 *     bytes of it, or a hang-up, and the client is dropped
 *   - each client has a bounded queue of messages its socket did not take
 *     yet (the socket's send buffer bounds what sits unread in it); a
 *     client that lets the queue grow past the bound is dropped, so it
 *     cannot make the server hold fds for it forever
 *   - at most -c clients (default 256); more are accepted and closed at
 *     once; running out of fds (EMFILE) refuses the new client, not the
 *     server
 *   - a departing client is announced to the others (a message with its
 *     ID and no fd), as the spec says
 *   - an existing shm object (-M) is reused if it has the size -l asks for
 *     (a restarted server keeps the memory the VMs still map) and refused
 *     if its size differs, rather than truncated under them
 *
 * Exit status: 0 (SIGINT/SIGTERM), 1 (setup failed), 2 (usage).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "devices/abi/ivshmem.h"
#include "devices/ivshmem_proto.h"

#define DEFAULT_SOCKET	    "/tmp/ivshmem_socket"
#define DEFAULT_SHM_NAME    "ivshmem"
#define DEFAULT_SIZE	    (4ULL << 20)
#define DEFAULT_PIDFILE	    "/var/run/ivshmem-server.pid"
#define DEFAULT_MAX_CLIENTS 256
#define MAX_CLIENTS_LIMIT   4096
#define NR_IDS		    (IVSHMEM_MAX_PEER_ID + 1)
#define CLIENT_JUNK_MAX	    65536 /* bytes a client may send (discarded) */
#define ACCEPT_BUDGET	    64	  /* accepts per loop round */
#define RETRY_MS	    100	  /* resend after ETOOMANYREFS */

/* ---- logging ---- */

static bool verbose;

static void __attribute__((format(printf, 1, 2))) msg(const char *fmt, ...)
{
	va_list ap;

	fputs("ivshmem-server: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

#define info(...)                         \
	do {                              \
		if (verbose)              \
			msg(__VA_ARGS__); \
	} while (0)

/* ---- state ---- */

/* An fd several queued messages may refer to (eventfd or shm). */
struct shared_fd {
	int fd;
	unsigned refs;
};

struct outmsg {
	int64_t value;
	struct shared_fd *sfd; /* NULL: no fd */
};

struct client {
	int sock;
	uint16_t id;
	struct shared_fd **vec; /* nvec eventfds: interrupts for this peer */
	struct outmsg *q;	/* ring of messages not sent yet */
	unsigned qcap, qhead, qlen;
	bool want_out;	/* EPOLLOUT armed */
	bool refs_wait; /* ETOOMANYREFS: retry on a timer */
	bool dead;	/* to be removed at the end of the round */
	const char *why;
	uint64_t junk;
};

struct server {
	const char *sock_path;
	const char *shm_name; /* -M */
	const char *shm_dir;  /* -m */
	const char *pidfile;
	uint64_t size;
	unsigned nvec;
	unsigned max_clients;
	bool foreground;

	int listen_fd, ep_fd, sig_fd, spare_fd;
	struct shared_fd *shm;
	struct client **clients; /* by slot */
	unsigned nr_clients;
	struct client **by_id; /* NR_IDS entries */
	unsigned next_id;
	unsigned qmax; /* messages queued + in the socket, per client */
	bool sock_bound;
};

/* epoll tags: data.u64 */
#define TAG_LISTEN ((uint64_t)1 << 62)
#define TAG_SIGNAL ((uint64_t)2 << 62)

static struct shared_fd *sfd_new(int fd)
{
	struct shared_fd *s = malloc(sizeof(*s));

	if (!s)
		return NULL;
	s->fd = fd;
	s->refs = 1;
	return s;
}

static struct shared_fd *sfd_get(struct shared_fd *s)
{
	if (s)
		s->refs++;
	return s;
}

static void sfd_put(struct shared_fd *s)
{
	if (s && !--s->refs) {
		close(s->fd);
		free(s);
	}
}

/* ---- per-client output queue ---- */

static void client_kill(struct client *c, const char *why)
{
	if (!c->dead) {
		c->dead = true;
		c->why = why;
	}
}

static void client_set_out(struct server *sv, struct client *c, bool on)
{
	struct epoll_event e = { .events = EPOLLIN | (on ? EPOLLOUT : 0) };

	if (c->want_out == on)
		return;
	e.data.u64 = (uint64_t)c->id;
	if (epoll_ctl(sv->ep_fd, EPOLL_CTL_MOD, c->sock, &e) == 0)
		c->want_out = on;
}

/* Send what the socket takes. */
static void client_flush(struct server *sv, struct client *c)
{
	c->refs_wait = false;
	while (c->qlen && !c->dead) {
		struct outmsg *m = &c->q[c->qhead];
		int r = ivshmem_send(c->sock, m->value,
				     m->sfd ? m->sfd->fd : -1);

		if (r == -EAGAIN) {
			client_set_out(sv, c, true);
			return;
		}
		if (r == -ETOOMANYREFS) {
			/* Too many fds in flight from this process: wait
			 * for readers to catch up (client_enqueue() bounds
			 * each client's share). */
			c->refs_wait = true;
			return;
		}
		if (r) {
			client_kill(c, r == -EPIPE || r == -ECONNRESET
					       ? "hung up"
					       : "send failed");
			return;
		}
		sfd_put(m->sfd);
		c->qhead = (c->qhead + 1) % c->qcap;
		c->qlen--;
	}
	client_set_out(sv, c, false);
}

/* Queue a message (takes a reference on sfd). */
static void client_enqueue(struct server *sv, struct client *c, int64_t value,
			   struct shared_fd *sfd)
{
	if (c->dead)
		return;
	if (c->qlen >= sv->qmax) {
		client_kill(c, "does not read its messages");
		return;
	}
	if (c->qlen == c->qcap) {
		unsigned ncap = c->qcap ? c->qcap * 2 : 64;
		struct outmsg *nq = malloc(ncap * sizeof(*nq));

		if (!nq) {
			client_kill(c, "out of memory");
			return;
		}
		for (unsigned i = 0; i < c->qlen; i++)
			nq[i] = c->q[(c->qhead + i) % c->qcap];
		free(c->q);
		c->q = nq;
		c->qcap = ncap;
		c->qhead = 0;
	}
	c->q[(c->qhead + c->qlen) % c->qcap] =
		(struct outmsg){ .value = value, .sfd = sfd_get(sfd) };
	c->qlen++;
}

/* ---- clients ---- */

static void client_free(struct server *sv, struct client *c)
{
	if (c->sock >= 0) {
		epoll_ctl(sv->ep_fd, EPOLL_CTL_DEL, c->sock, NULL);
		close(c->sock);
	}
	for (unsigned i = 0; i < c->qlen; i++)
		sfd_put(c->q[(c->qhead + i) % c->qcap].sfd);
	free(c->q);
	for (unsigned v = 0; c->vec && v < sv->nvec; v++)
		sfd_put(c->vec[v]);
	free(c->vec);
	free(c);
}

static int alloc_id(struct server *sv)
{
	for (unsigned i = 0; i < NR_IDS; i++) {
		unsigned id = (sv->next_id + i) % NR_IDS;

		if (!sv->by_id[id]) {
			sv->next_id = (id + 1) % NR_IDS;
			return (int)id;
		}
	}
	return -1;
}

static void client_new(struct server *sv, int sock)
{
	struct epoll_event e = { .events = EPOLLIN };
	struct client *c;
	int id;

	if (sv->nr_clients >= sv->max_clients) {
		msg("refusing a client: already %u (-c)", sv->nr_clients);
		close(sock);
		return;
	}
	id = alloc_id(sv);
	c = calloc(1, sizeof(*c));
	if (id < 0 || !c)
		goto refuse;
	c->sock = sock;
	c->id = (uint16_t)id;
	c->vec = calloc(sv->nvec, sizeof(*c->vec));
	if (!c->vec)
		goto refuse;
	for (unsigned v = 0; v < sv->nvec; v++) {
		int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

		if (fd < 0) {
			msg("refusing a client: eventfd: %s", strerror(errno));
			goto refuse;
		}
		c->vec[v] = sfd_new(fd);
		if (!c->vec[v]) {
			close(fd);
			goto refuse;
		}
	}
	e.data.u64 = c->id;
	if (epoll_ctl(sv->ep_fd, EPOLL_CTL_ADD, sock, &e) < 0) {
		msg("refusing a client: epoll: %s", strerror(errno));
		goto refuse;
	}
	sv->by_id[c->id] = c;
	sv->clients[sv->nr_clients++] = c;
	info("peer %u joined (%u connected)", c->id, sv->nr_clients);

	/* 1-3: version, ID, memory */
	client_enqueue(sv, c, IVSHMEM_PROTO_VERSION, NULL);
	client_enqueue(sv, c, c->id, NULL);
	client_enqueue(sv, c, IVSHMEM_MSG_SHM_ID, sv->shm);
	/* 4 + 6: the others learn about it, it learns about the others */
	for (unsigned i = 0; i < sv->nr_clients; i++) {
		struct client *o = sv->clients[i];

		if (o == c || o->dead)
			continue;
		for (unsigned v = 0; v < sv->nvec; v++) {
			client_enqueue(sv, o, c->id, c->vec[v]);
			client_enqueue(sv, c, o->id, o->vec[v]);
		}
	}
	/* 5: its own vectors */
	for (unsigned v = 0; v < sv->nvec; v++)
		client_enqueue(sv, c, c->id, c->vec[v]);
	for (unsigned i = 0; i < sv->nr_clients; i++)
		client_flush(sv, sv->clients[i]);
	return;

refuse:
	if (c) {
		c->sock = -1;
		client_free(sv, c);
	}
	close(sock);
}

/* Remove the dead: each one is announced to the others (which may die in
 * turn, at most max_clients rounds). */
static void reap(struct server *sv)
{
	bool again = true;

	for (unsigned round = 0; again && round <= sv->max_clients; round++) {
		again = false;
		for (unsigned i = 0; i < sv->nr_clients;) {
			struct client *c = sv->clients[i];
			uint16_t id = c->id;

			if (!c->dead) {
				i++;
				continue;
			}
			info("peer %u left (%s)", id, c->why);
			sv->clients[i] = sv->clients[--sv->nr_clients];
			sv->by_id[id] = NULL;
			client_free(sv, c);
			for (unsigned j = 0; j < sv->nr_clients; j++) {
				struct client *o = sv->clients[j];

				client_enqueue(sv, o, id, NULL);
				client_flush(sv, o);
				again |= o->dead;
			}
		}
	}
}

/* A client sent something: the protocol is one-way. Read and discard
 * (closing passed fds); EOF or too much of it drops the client. */
static void client_input(struct server *sv, struct client *c)
{
	char buf[4096];
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(64 * sizeof(int))];
	} ctl;

	for (unsigned round = 0; round < 16 && !c->dead; round++) {
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = ctl.b,
				     .msg_controllen = sizeof(ctl.b) };
		ssize_t n = recvmsg(c->sock, &mh, MSG_CMSG_CLOEXEC);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			client_kill(c, errno == ECONNRESET ? "hung up"
							   : "receive error");
			return;
		}
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm;
		     cm = CMSG_NXTHDR(&mh, cm)) {
			size_t nfd;

			if (cm->cmsg_level != SOL_SOCKET ||
			    cm->cmsg_type != SCM_RIGHTS)
				continue;
			nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t k = 0; k < nfd; k++) {
				int fd;

				memcpy(&fd, CMSG_DATA(cm) + k * sizeof(int),
				       sizeof(fd));
				close(fd);
			}
		}
		if (n == 0) {
			client_kill(c, "disconnected");
			return;
		}
		c->junk += (uint64_t)n;
		if (c->junk > CLIENT_JUNK_MAX) {
			client_kill(c, "sends data (the protocol is "
				       "server-to-client only)");
			return;
		}
	}
}

/* Accept pending connections; on EMFILE, accept and close one with the
 * spare fd so the listener does not stay readable forever. */
static void accept_clients(struct server *sv)
{
	for (unsigned i = 0; i < ACCEPT_BUDGET; i++) {
		int fd = accept4(sv->listen_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			client_new(sv, fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if ((errno == EMFILE || errno == ENFILE) && sv->spare_fd >= 0) {
			msg("refusing a client: out of file descriptors");
			close(sv->spare_fd);
			fd = accept(sv->listen_fd, NULL, NULL);
			if (fd >= 0)
				close(fd);
			sv->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
			continue;
		}
		return;
	}
}

/* ---- setup ---- */

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *s == '-')
		return -1;
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
		return -1;
	}
	if (*end && end[1] && strcmp(end + 1, "B") && strcmp(end + 1, "iB"))
		return -1;
	if (v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static int open_shm(struct server *sv)
{
	struct stat st;
	int fd;

	if (sv->shm_dir) {
		size_t len = strlen(sv->shm_dir) + sizeof("/ivshmem.XXXXXX");
		char *tmpl = malloc(len);

		if (!tmpl)
			return -1;
		snprintf(tmpl, len, "%s/ivshmem.XXXXXX", sv->shm_dir);
		fd = mkostemp(tmpl, O_CLOEXEC);
		if (fd < 0) {
			msg("-m %s: cannot create a file there: %s",
			    sv->shm_dir, strerror(errno));
			free(tmpl);
			return -1;
		}
		unlink(tmpl);
		free(tmpl);
	} else {
		fd = shm_open(sv->shm_name, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
		if (fd < 0) {
			msg("-M %s: shm_open: %s", sv->shm_name,
			    strerror(errno));
			return -1;
		}
	}
	if (fstat(fd, &st) < 0) {
		msg("shared memory: fstat: %s", strerror(errno));
		goto fail;
	}
	if (st.st_size && (uint64_t)st.st_size != sv->size) {
		msg("-M %s: the object exists with %lld bytes, -l asks for "
		    "%" PRIu64 "; use -l %lld, or remove it (rm /dev/shm/%s) "
		    "if no VM uses it",
		    sv->shm_name, (long long)st.st_size, sv->size,
		    (long long)st.st_size, sv->shm_name);
		goto fail;
	}
	if (!st.st_size && ftruncate(fd, (off_t)sv->size) < 0) {
		msg("shared memory: cannot make it %" PRIu64 " bytes: %s%s",
		    sv->size, strerror(errno),
		    errno == EINVAL ? " (hugetlbfs: use a multiple of the "
				      "huge page size)"
				    : "");
		goto fail;
	}
	if (st.st_size)
		info("-M %s: reusing the existing object (%" PRIu64 " bytes)",
		     sv->shm_name, sv->size);
	sv->shm = sfd_new(fd);
	if (!sv->shm)
		goto fail;
	return 0;

fail:
	close(fd);
	return -1;
}

/* Bind the socket; a stale one (nobody accepting) is replaced, a live one
 * means another server: refuse. */
static int open_listener(struct server *sv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, probe;

	if (strlen(sv->sock_path) >= sizeof(sa.sun_path)) {
		msg("-S %s: path too long for a UNIX socket", sv->sock_path);
		return -1;
	}
	strcpy(sa.sun_path, sv->sock_path);
	probe = ivshmem_connect(sv->sock_path);
	if (probe >= 0) {
		close(probe);
		msg("-S %s: another server is listening there", sv->sock_path);
		return -1;
	}
	if (probe == -ECONNREFUSED) {
		struct stat st;

		if (!lstat(sv->sock_path, &st) && S_ISSOCK(st.st_mode))
			unlink(sv->sock_path); /* stale */
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		msg("socket: %s", strerror(errno));
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		msg("-S %s: bind: %s", sv->sock_path, strerror(errno));
		close(fd);
		return -1;
	}
	sv->sock_bound = true;
	if (listen(fd, 64) < 0) {
		msg("-S %s: listen: %s", sv->sock_path, strerror(errno));
		close(fd);
		return -1;
	}
	sv->listen_fd = fd;
	return 0;
}

/* Room for clients x (socket + vectors) fds and their fds in flight. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int daemonize(const char *pidfile)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0) {
		msg("fork: %s", strerror(errno));
		return -1;
	}
	if (pid > 0)
		_exit(0);
	setsid();
	pid = fork();
	if (pid < 0)
		_exit(1);
	if (pid > 0)
		_exit(0);
	if (chdir("/") < 0)
		_exit(1);
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	if (pidfile) {
		FILE *f = fopen(pidfile, "w");

		if (f) {
			fprintf(f, "%ld\n", (long)getpid());
			fclose(f);
		}
	}
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: ivshmem-server [-hvF] [-p PIDFILE] [-S SOCKET] "
		"[-M SHM_NAME | -m DIR]\n"
		"                      [-l SIZE] [-n VECTORS] [-c MAX_CLIENTS]\n"
		"Shared memory, peer IDs and interrupt eventfds for ivshmem "
		"peers (QEMU's protocol).\n"
		"  -h          this help\n"
		"  -v          verbose: log peers joining and leaving\n"
		"  -F          foreground (default: become a daemon)\n"
		"  -p PIDFILE  daemon: write the PID here (default %s)\n"
		"  -S SOCKET   UNIX socket to listen on (default %s)\n"
		"  -M NAME     POSIX shared memory object /dev/shm/NAME "
		"(default %s); kept\n"
		"              when the server exits, reused when it restarts\n"
		"  -m DIR      create the memory as an unlinked file in DIR "
		"(hugetlbfs)\n"
		"  -l SIZE     memory size, a power of two, K/M/G suffixes "
		"(default 4M)\n"
		"  -n VECTORS  interrupt vectors per peer, 1-%u (default 1)\n"
		"  -c MAX      most clients at once, 1-%u (default %u)\n",
		DEFAULT_PIDFILE, DEFAULT_SOCKET, DEFAULT_SHM_NAME,
		IVSHMEM_MAX_VECTORS, MAX_CLIENTS_LIMIT, DEFAULT_MAX_CLIENTS);
}

static int parse_args(struct server *sv, int argc, char **argv)
{
	unsigned long n;
	char *end;
	int c;

	while ((c = getopt(argc, argv, "hvFp:S:M:m:l:n:c:")) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			exit(0);
		case 'v':
			verbose = true;
			break;
		case 'F':
			sv->foreground = true;
			break;
		case 'p':
			sv->pidfile = optarg;
			break;
		case 'S':
			sv->sock_path = optarg;
			break;
		case 'M':
			sv->shm_name = optarg;
			break;
		case 'm':
			sv->shm_dir = optarg;
			break;
		case 'l':
			if (parse_size(optarg, &sv->size) ||
			    sv->size < IVSHMEM_MIN_SHM_SIZE ||
			    (sv->size & (sv->size - 1))) {
				msg("-l %s: not a power of two of at least "
				    "4K (the memory is a PCI BAR)",
				    optarg);
				return -1;
			}
			break;
		case 'n':
		case 'c':
			errno = 0;
			n = strtoul(optarg, &end, 0);
			if (errno || *end || !n ||
			    n > (c == 'n' ? IVSHMEM_MAX_VECTORS
					  : MAX_CLIENTS_LIMIT)) {
				msg("-%c %s: expected 1-%u", c, optarg,
				    c == 'n' ? IVSHMEM_MAX_VECTORS
					     : MAX_CLIENTS_LIMIT);
				return -1;
			}
			if (c == 'n')
				sv->nvec = (unsigned)n;
			else
				sv->max_clients = (unsigned)n;
			break;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		msg("unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (sv->shm_dir && sv->shm_name) {
		msg("-M and -m are exclusive");
		return -1;
	}
	if (!sv->shm_dir && !sv->shm_name)
		sv->shm_name = DEFAULT_SHM_NAME;
	return 0;
}

static struct client *client_of(struct server *sv, uint64_t tag)
{
	return tag < NR_IDS ? sv->by_id[tag] : NULL;
}

static int run(struct server *sv)
{
	struct epoll_event ev[64];

	for (;;) {
		bool refs_wait = false;
		int n;

		for (unsigned i = 0; i < sv->nr_clients; i++)
			refs_wait |= sv->clients[i]->refs_wait;
		n = epoll_wait(sv->ep_fd, ev, 64, refs_wait ? RETRY_MS : -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			msg("epoll_wait: %s", strerror(errno));
			return 1;
		}
		for (int i = 0; i < n; i++) {
			uint64_t tag = ev[i].data.u64;
			struct client *c;

			if (tag == TAG_SIGNAL) {
				struct signalfd_siginfo si;

				if (read(sv->sig_fd, &si, sizeof(si)) > 0) {
					info("exiting on signal %u",
					     si.ssi_signo);
					return 0;
				}
				continue;
			}
			if (tag == TAG_LISTEN) {
				accept_clients(sv);
				continue;
			}
			c = client_of(sv, tag);
			if (!c || c->dead)
				continue;
			if (ev[i].events & EPOLLIN)
				client_input(sv, c);
			else if (ev[i].events & (EPOLLHUP | EPOLLERR))
				client_kill(c, "hung up");
			if (!c->dead && (ev[i].events & EPOLLOUT))
				client_flush(sv, c);
		}
		for (unsigned i = 0; i < sv->nr_clients; i++)
			if (sv->clients[i]->refs_wait)
				client_flush(sv, sv->clients[i]);
		reap(sv);
	}
}

int main(int argc, char **argv)
{
	struct server sv = {
		.sock_path = DEFAULT_SOCKET,
		.pidfile = DEFAULT_PIDFILE,
		.size = DEFAULT_SIZE,
		.nvec = 1,
		.max_clients = DEFAULT_MAX_CLIENTS,
		.listen_fd = -1,
		.ep_fd = -1,
		.sig_fd = -1,
		.spare_fd = -1,
	};
	struct epoll_event e = { .events = EPOLLIN };
	sigset_t set;
	int ret = 1;

	if (parse_args(&sv, argc, argv))
		return 2;
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	/* Per client queue bound. The setup of a client that joins the
	 * largest group is 3 + (max clients) * vectors messages; twice that
	 * leaves room for joins and departures during it. */
	sv.qmax = 64 + 2 * (3 + (sv.max_clients + 1) * sv.nvec);
	sv.clients = calloc(sv.max_clients, sizeof(*sv.clients));
	sv.by_id = calloc(NR_IDS, sizeof(*sv.by_id));
	if (!sv.clients || !sv.by_id) {
		msg("out of memory");
		return 1;
	}
	if (open_shm(&sv) || open_listener(&sv))
		goto out;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sv.sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	sv.ep_fd = epoll_create1(EPOLL_CLOEXEC);
	sv.spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (sv.sig_fd < 0 || sv.ep_fd < 0) {
		msg("signalfd/epoll: %s", strerror(errno));
		goto out;
	}
	e.data.u64 = TAG_LISTEN;
	if (epoll_ctl(sv.ep_fd, EPOLL_CTL_ADD, sv.listen_fd, &e) < 0)
		goto out;
	e.data.u64 = TAG_SIGNAL;
	if (epoll_ctl(sv.ep_fd, EPOLL_CTL_ADD, sv.sig_fd, &e) < 0)
		goto out;
	info("listening on %s: %s%s, %" PRIu64 " bytes, %u vector%s, at most "
	     "%u clients",
	     sv.sock_path, sv.shm_dir ? "file in " : "shm ",
	     sv.shm_dir ? sv.shm_dir : sv.shm_name, sv.size, sv.nvec,
	     sv.nvec == 1 ? "" : "s", sv.max_clients);
	if (!sv.foreground && daemonize(sv.pidfile))
		goto out;
	ret = run(&sv);

out:
	for (unsigned i = 0; i < sv.nr_clients; i++)
		client_free(&sv, sv.clients[i]);
	if (sv.sock_bound)
		unlink(sv.sock_path);
	if (sv.listen_fd >= 0)
		close(sv.listen_fd);
	if (!sv.foreground && sv.pidfile && ret == 0)
		unlink(sv.pidfile);
	sfd_put(sv.shm);
	free(sv.clients);
	free(sv.by_id);
	return ret;
}
