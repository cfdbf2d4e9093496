/* SPDX-License-Identifier: MIT */
/*
 * libivshmem (tools/libivshmem.c, compiled into this test): the client
 * side of the server protocol against a fake server on a socketpair
 * (exact messages, late and malformed ones), doorbells over real
 * eventfds, plain files, the queue with waits, and the whole thing against
 * the real tools/ivshmem-server in a child process (skipped if it is not
 * built).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define IVSHM_CONNECT_TIMEOUT_MS 300
#include "tools/libivshmem.c"

#define SHM_SIZE (256 * 1024)

static int srv = -1, cli = -1, shm = -1;
static char dir[64];

static void setup(void)
{
	int sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	srv = sv[0];
	cli = sv[1];
	shm = memfd_create("ivshm-test", MFD_CLOEXEC);
	cr_assert_geq(shm, 0);
	cr_assert_eq(ftruncate(shm, SHM_SIZE), 0);
	snprintf(dir, sizeof(dir), "/tmp/ivshm-test.XXXXXX");
	cr_assert(mkdtemp(dir));
	signal(SIGPIPE, SIG_IGN);
}

static void teardown(void)
{
	char cmd[128];

	if (srv >= 0)
		close(srv);
	if (shm >= 0)
		close(shm);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

static void say(int64_t v, int fd)
{
	cr_assert_eq(ivshmem_send(srv, v, fd), 0);
}

static int efd(void)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	cr_assert_geq(fd, 0);
	return fd;
}

static uint64_t count(int fd)
{
	uint64_t n = 0;

	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

/* The usual burst for peer `id` with `nvec` own vectors (fds in own[]),
 * one other peer 2 with 2 vectors (fds in peer2[]). */
static int own[4], peer2[2];

static void burst(int64_t id, unsigned nvec)
{
	say(0, -1);
	say(id, -1);
	say(-1, shm);
	for (unsigned v = 0; v < 2; v++) {
		peer2[v] = efd();
		say(2, peer2[v]);
	}
	for (unsigned v = 0; v < nvec; v++) {
		own[v] = efd();
		say(id, own[v]);
	}
}

TestSuite(libivshmem, .init = setup, .fini = teardown);

Test(libivshmem, handshake)
{
	struct ivshm *h;
	uint16_t ids[4];
	uint64_t size;
	uint8_t *m;

	burst(5, 2);
	cr_assert_eq(ivshm_connect_fd(cli, &h), 0);
	cr_assert_eq(ivshm_id(h), 5);
	cr_assert_eq(ivshm_vectors(h), 2);
	cr_assert(ivshm_connected(h));
	cr_assert_eq(ivshm_peers(h, ids, 4), 1);
	cr_assert_eq(ids[0], 2);
	cr_assert_eq(ivshm_peer_vectors(h, 2), 2);
	cr_assert_eq(ivshm_peer_vectors(h, 3), -ENOENT);
	m = ivshm_mem(h, &size);
	cr_assert_eq(size, SHM_SIZE);
	m[100] = 42; /* shared with the server's object */
	cr_assert_eq(pread(shm, &size, 1, 100), 1);
	cr_assert_eq((uint8_t)size, 42);
	ivshm_close(h);
}

Test(libivshmem, ring_and_wait)
{
	struct ivshm *h;
	uint64_t one = 1;

	burst(5, 2);
	cr_assert_eq(ivshm_connect_fd(cli, &h), 0);
	cr_assert_eq(ivshm_ring(h, 2, 1), 0);
	cr_assert_eq(count(peer2[1]), 1);
	cr_assert_eq(count(peer2[0]), 0);
	cr_assert_eq(ivshm_ring(h, 3, 0), -ENOENT);
	cr_assert_eq(ivshm_ring(h, 2, 2), -EINVAL);
	/* ring ourselves: our own vector */
	cr_assert_eq(ivshm_ring(h, 5, 0), 0);
	cr_assert_eq(ivshm_wait(h, 0, 1000), 1);
	/* three rings before the wait count as three */
	for (int i = 0; i < 3; i++)
		cr_assert_eq(write(own[1], &one, 8), 8);
	cr_assert_eq(ivshm_wait(h, 1, 1000), 3);
	cr_assert_eq(ivshm_wait(h, 1, 50), -ETIMEDOUT);
	cr_assert_eq(ivshm_wait(h, 7, 0), -ENOENT);
	cr_assert_eq(ivshm_ack(h, 0), 0);
	cr_assert_eq(write(own[0], &one, 8), 8);
	cr_assert_eq(ivshm_ack(h, 0), 1);
	cr_assert_eq(ivshm_fd(h, 0) >= 0, 1);
	cr_assert_eq(ivshm_fd(h, 2), -ENOENT);
	ivshm_close(h);
}

struct events {
	unsigned joined, left, last;
};

static void on_peer(struct ivshm *h, unsigned id, bool joined, void *arg)
{
	struct events *e = arg;

	(void)h;
	if (joined)
		e->joined++;
	else
		e->left++;
	e->last = id;
}

Test(libivshmem, peers_come_and_go)
{
	struct events ev = { 0 };
	struct ivshm *h;
	int f[2];

	burst(5, 1);
	cr_assert_eq(ivshm_connect_fd(cli, &h), 0);
	ivshm_on_peer(h, on_peer, &ev);
	cr_assert_eq(ivshm_process_server(h), 0);
	f[0] = efd();
	f[1] = efd();
	say(9, f[0]);
	say(9, f[1]);
	cr_assert_eq(ivshm_process_server(h), 2);
	cr_assert_eq(ev.joined, 1);
	cr_assert_eq(ev.last, 9);
	cr_assert_eq(ivshm_peer_vectors(h, 9), 2);
	cr_assert_eq(ivshm_ring(h, 9, 1), 0);
	cr_assert_eq(count(f[1]), 1);
	say(2, -1); /* peer 2 leaves */
	cr_assert_eq(ivshm_process_server(h), 1);
	cr_assert_eq(ev.left, 1);
	cr_assert_eq(ivshm_ring(h, 2, 0), -ENOENT);
	/* messages also arrive while waiting */
	say(9, -1);
	cr_assert_eq(ivshm_wait(h, 0, 100), -ETIMEDOUT);
	cr_assert_eq(ev.left, 2);
	/* server gone: doorbells keep working */
	close(srv);
	srv = -1;
	cr_assert_eq(ivshm_process_server(h), -ECONNRESET);
	cr_assert_eq(ivshm_process_server(h), -ENOTCONN);
	cr_assert(!ivshm_connected(h));
	cr_assert_eq(ivshm_server_fd(h), -ENOTCONN);
	cr_assert_eq(ivshm_ring(h, 5, 0), 0);
	cr_assert_eq(ivshm_wait(h, 0, 100), 1);
	ivshm_close(h);
	close(f[0]);
	close(f[1]);
}

Test(libivshmem, late_own_vectors)
{
	struct ivshm *h;
	uint64_t one = 1;
	int late;

	burst(5, 0); /* no own vector in the burst (a 0-vector server) */
	cr_assert_eq(ivshm_connect_fd(cli, &h), 0);
	cr_assert_eq(ivshm_vectors(h), 0);
	late = efd();
	say(5, late);
	cr_assert_eq(write(late, &one, 8), 8);
	cr_assert_eq(ivshm_wait(h, 0, 1000), 1, "the vector came in the wait");
	cr_assert_eq(ivshm_vectors(h), 1);
	ivshm_close(h);
}

Test(libivshmem, bad_version)
{
	struct ivshm *h = (void *)1;

	say(1, -1);
	cr_assert_eq(ivshm_connect_fd(cli, &h), -EPROTONOSUPPORT);
	cr_assert_null(h);
}

Test(libivshmem, shm_without_fd)
{
	struct ivshm *h;

	say(0, -1);
	say(5, -1);
	say(-1, -1);
	cr_assert_eq(ivshm_connect_fd(cli, &h), -EPROTO);
}

Test(libivshmem, bad_id)
{
	struct ivshm *h;

	say(0, -1);
	say(70000, -1);
	cr_assert_eq(ivshm_connect_fd(cli, &h), -EPROTO);
}

Test(libivshmem, closed_early)
{
	struct ivshm *h;

	say(0, -1);
	close(srv);
	srv = -1;
	cr_assert_eq(ivshm_connect_fd(cli, &h), -EPROTO);
}

Test(libivshmem, silent_server)
{
	struct ivshm *h;

	say(0, -1);
	cr_assert_eq(ivshm_connect_fd(cli, &h), -ETIMEDOUT);
}

Test(libivshmem, bad_peer_message_drops_server)
{
	struct ivshm *h;

	burst(5, 1);
	cr_assert_eq(ivshm_connect_fd(cli, &h), 0);
	say(-7, -1);
	cr_assert_eq(ivshm_process_server(h), -EPROTO);
	cr_assert(!ivshm_connected(h));
	cr_assert_eq(ivshm_ring(h, 2, 0), 0, "doorbells stay");
	ivshm_close(h);
}

Test(libivshmem, connect_errors)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ivshm *h;
	char path[200];
	int s;

	close(cli);
	snprintf(path, sizeof(path), "%s/none", dir);
	cr_assert_eq(ivshm_connect(path, &h), -ENOENT);
	/* a socket file nobody listens on */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/dead", dir);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(s);
	cr_assert_eq(ivshm_connect(sa.sun_path, &h), -ECONNREFUSED);
	memset(path, 'x', sizeof(path) - 1);
	path[sizeof(path) - 1] = 0;
	cr_assert_eq(ivshm_connect(path, &h), -ENAMETOOLONG);
}

/* ---- plain files ---- */

Test(libivshmem, plain)
{
	struct ivshm *h, *h2;
	char path[128];
	struct stat st;
	uint64_t size;
	uint8_t *m;

	close(cli);
	snprintf(path, sizeof(path), "%s/shm", dir);
	cr_assert_eq(ivshm_open_plain(path, 65536, 0, &h), -ENOENT);
	cr_assert_eq(ivshm_open_plain(path, 65536, IVSHM_CREATE, &h), 0);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_size, 65536);
	cr_assert_eq(ivshm_id(h), -1);
	cr_assert_eq(ivshm_vectors(h), 0);
	cr_assert(!ivshm_connected(h));
	cr_assert_eq(ivshm_ring(h, 0, 0), -ENOTCONN);
	cr_assert_eq(ivshm_wait(h, 0, 0), -ENOTCONN);
	cr_assert_eq(ivshm_fd(h, 0), -ENOTCONN);
	m = ivshm_mem(h, &size);
	cr_assert_eq(size, 65536);
	m[7] = 7;
	cr_assert_eq(ivshm_open_plain(path, 0, 0, &h2), 0, "size 0: file's");
	cr_assert_eq(((uint8_t *)ivshm_mem(h2, NULL))[7], 7);
	ivshm_close(h2);
	cr_assert_eq(ivshm_open_plain(path, 4096, 0, &h2), -EINVAL,
		     "size mismatch");
	ivshm_close(h);
}

static void *echo_b(void *arg)
{
	struct ivshm *h = arg;
	struct ivshm_q q;
	char buf[256];
	uint32_t tag;
	size_t len;

	if (ivshm_q_attach(h, &q, NULL, 5000))
		return (void *)1;
	for (int i = 0; i < 100; i++) {
		if (ivshm_q_recv(&q, &tag, buf, sizeof(buf), &len, 5000))
			return (void *)2;
		if (ivshm_q_send(&q, tag + 1000, buf, len, 5000))
			return (void *)3;
	}
	return NULL;
}

/* Two handles on one file, B in a thread: polling waits. */
Test(libivshmem, plain_queue)
{
	struct ivshm *ha, *hb;
	struct ivshm_q q;
	struct ivshm_q_opts o = { .ring_size = 1024 };
	char path[128], buf[256];
	pthread_t th;
	void *ret;
	uint32_t tag;
	size_t len;

	close(cli);
	snprintf(path, sizeof(path), "%s/q", dir);
	cr_assert_eq(ivshm_open_plain(path, 65536, IVSHM_CREATE, &ha), 0);
	cr_assert_eq(ivshm_open_plain(path, 65536, 0, &hb), 0);
	cr_assert_eq(ivshm_q_init(ha, &q, &o), 0);
	cr_assert_eq(q.q.tx.size, 1024);
	cr_assert_eq(ivshm_q_recv(&q, &tag, buf, sizeof(buf), &len, 20),
		     -EAGAIN);
	cr_assert_eq(pthread_create(&th, NULL, echo_b, hb), 0);
	for (int i = 0; i < 100; i++) {
		snprintf(buf, sizeof(buf), "message %d", i);
		cr_assert_eq(
			ivshm_q_send(&q, (uint32_t)i, buf, strlen(buf), 5000),
			0);
		cr_assert_eq(
			ivshm_q_recv(&q, &tag, buf, sizeof(buf), &len, 5000),
			0);
		cr_assert_eq(tag, 1000 + (uint32_t)i);
	}
	pthread_join(th, &ret);
	cr_assert_null(ret);
	/* a message longer than the ring */
	cr_assert_eq(ivshm_q_send(&q, 0, buf, 2000, 0), -EMSGSIZE);
	ivshm_close(hb);
	ivshm_close(ha);
}

Test(libivshmem, queue_options)
{
	struct ivshm *h;
	struct ivshm_q q;
	struct ivshm_q_opts o = { .offset = 100 };
	char path[128];

	close(cli);
	snprintf(path, sizeof(path), "%s/o", dir);
	cr_assert_eq(ivshm_open_plain(path, 65536, IVSHM_CREATE, &h), 0);
	cr_assert_eq(ivshm_q_init(h, &q, &o), -EINVAL, "misaligned offset");
	o.offset = 65536;
	cr_assert_eq(ivshm_q_init(h, &q, &o), -EINVAL, "past the end");
	o.offset = 65536 - 256;
	cr_assert_eq(ivshm_q_init(h, &q, &o), -ENOSPC);
	o.offset = 32768;
	cr_assert_eq(ivshm_q_init(h, &q, &o), 0);
	cr_assert_eq(q.q.tx.size, 8192);
	cr_assert_eq(ivshm_q_attach(h, &q, NULL, 0), -ETIMEDOUT,
		     "nothing at offset 0");
	/* a second init adopts (same generation); RESET starts a new one */
	o.flags = 0;
	cr_assert_eq(ivshm_q_init(h, &q, &o), 0);
	cr_assert_eq(q.q.generation, 1);
	o.flags = IVSHM_Q_RESET;
	cr_assert_eq(ivshm_q_init(h, &q, &o), 0);
	cr_assert_eq(q.q.generation, 2);
	ivshm_close(h);
}

static void *recv_until_stale(void *arg)
{
	struct ivshm_q *q = arg;
	char buf[16];
	uint32_t tag;
	size_t len;

	return (void *)(intptr_t)ivshm_q_recv(q, &tag, buf, sizeof(buf), &len,
					      5000);
}

static int64_t elapsed_ms(struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 +
	       (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* A new generation waits for B to let go of the old rings: at once when B
 * is in a call (it sees the cleared magic), the bounded time when B sleeps
 * elsewhere or is gone, not at all after B detached. */
Test(libivshmem, reset_waits_for_b)
{
	struct ivshm_q_opts reset = { .flags = IVSHM_Q_RESET };
	struct ivshm *ha, *hb;
	struct ivshm_q qa, qb;
	struct timespec t0;
	char path[128];
	pthread_t th;
	void *ret;

	close(cli);
	snprintf(path, sizeof(path), "%s/r", dir);
	cr_assert_eq(ivshm_open_plain(path, 65536, IVSHM_CREATE, &ha), 0);
	cr_assert_eq(ivshm_open_plain(path, 65536, 0, &hb), 0);
	cr_assert_eq(ivshm_q_init(ha, &qa, NULL), 0);
	cr_assert_eq(ivshm_q_attach(hb, &qb, NULL, 0), 0);
	cr_assert_eq(((struct ivq_header *)ivshm_mem(ha, NULL))->b_gen, 1);
	/* B blocked in a receive */
	cr_assert_eq(pthread_create(&th, NULL, recv_until_stale, &qb), 0);
	usleep(50000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(ivshm_q_init(ha, &qa, &reset), 0);
	cr_assert_lt(elapsed_ms(&t0), IVSHM_Q_RELEASE_MS);
	pthread_join(th, &ret);
	cr_assert_eq((intptr_t)ret, -ESTALE);
	/* B attached but idle: A waits the bounded time, then goes on */
	cr_assert_eq(ivshm_q_attach(hb, &qb, NULL, 0), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(ivshm_q_init(ha, &qa, &reset), 0);
	cr_assert_geq(elapsed_ms(&t0), IVSHM_Q_RELEASE_MS - 10);
	cr_assert_eq(qa.q.generation, 3);
	/* B detached: no wait */
	cr_assert_eq(ivshm_q_attach(hb, &qb, NULL, 0), 0);
	ivshm_q_detach(&qb);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(ivshm_q_init(ha, &qa, &reset), 0);
	cr_assert_lt(elapsed_ms(&t0), 100);
	ivshm_close(hb);
	ivshm_close(ha);
}

/* ---- against the real server ---- */

static pid_t server_pid;

static bool start_server(const char *sock, const char *name)
{
	char bin[512];

	snprintf(bin, sizeof(bin), "%s/tools/ivshmem-server", TEST_BUILD_DIR);
	if (access(bin, X_OK))
		return false;
	server_pid = fork();
	cr_assert_geq(server_pid, 0);
	if (!server_pid) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 2);
		execl(bin, bin, "-F", "-S", sock, "-M", name, "-l", "1M", "-n",
		      "2", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && access(sock, F_OK); i++)
		usleep(10000);
	return true;
}

static void stop_server(const char *name)
{
	char shm_path[128];

	kill(server_pid, SIGTERM);
	waitpid(server_pid, NULL, 0);
	snprintf(shm_path, sizeof(shm_path), "/dev/shm/%s", name);
	unlink(shm_path);
}

static void *echo_b_doorbell(void *arg)
{
	struct ivshm *h = arg;
	struct ivshm_q q;
	char buf[256];
	uint32_t tag;
	size_t len;

	if (ivshm_q_attach(h, &q, NULL, 5000))
		return (void *)1;
	for (int i = 0; i < 200; i++) {
		if (ivshm_q_recv(&q, &tag, buf, sizeof(buf), &len, 5000))
			return (void *)2;
		if (ivshm_q_send(&q, tag, buf, len, 5000))
			return (void *)3;
	}
	return (void *)(uintptr_t)(q.sleeps ? 0 : 4);
}

Test(libivshmem, real_server)
{
	struct ivshm *ha, *hb;
	struct ivshm_q q;
	char sock[128], name[64], buf[64];
	pthread_t th;
	uint16_t ids[4];
	uint32_t tag;
	size_t len;
	void *ret;

	close(cli);
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	snprintf(name, sizeof(name), "ivshm-unit-%d", getpid());
	if (!start_server(sock, name))
		cr_skip("%s/tools/ivshmem-server is not built", TEST_BUILD_DIR);
	cr_assert_eq(ivshm_connect(sock, &ha), 0);
	cr_assert_eq(ivshm_connect(sock, &hb), 0);
	cr_assert_eq(ivshm_id(ha), 0, "the first client gets ID 0");
	cr_assert_eq(ivshm_id(hb), 1);
	cr_assert_eq(ivshm_vectors(ha), 2);
	cr_assert_eq(ivshm_vectors(hb), 2);
	cr_assert_eq(ivshm_peers(hb, ids, 4), 1);
	cr_assert_eq(ids[0], 0);
	/* A learns about B from the server */
	for (int i = 0; i < 100 && ivshm_peer_vectors(ha, 1) < 2; i++)
		ivshm_wait(ha, 0, 10);
	cr_assert_eq(ivshm_peer_vectors(ha, 1), 2);
	/* doorbells both ways */
	cr_assert_eq(ivshm_ring(ha, 1, 1), 0);
	cr_assert_eq(ivshm_wait(hb, 1, 2000), 1);
	cr_assert_eq(ivshm_ring(hb, 0, 0), 0);
	cr_assert_eq(ivshm_wait(ha, 0, 2000), 1);
	/* the queue, sleeping on doorbells */
	cr_assert_eq(ivshm_q_init(ha, &q, NULL), 0);
	cr_assert_eq(pthread_create(&th, NULL, echo_b_doorbell, hb), 0);
	for (int i = 0; i < 200; i++) {
		snprintf(buf, sizeof(buf), "m%d", i);
		cr_assert_eq(
			ivshm_q_send(&q, (uint32_t)i, buf, strlen(buf), 5000),
			0);
		cr_assert_eq(
			ivshm_q_recv(&q, &tag, buf, sizeof(buf), &len, 5000),
			0);
		cr_assert_eq(tag, (uint32_t)i);
	}
	pthread_join(th, &ret);
	cr_assert_null(ret, "echo side: %p", ret);
	cr_assert_gt(q.rings, 0, "doorbells were used");
	cr_assert_eq(q.ring_errors, 0);
	/* B leaves: A hears of it */
	ivshm_close(hb);
	for (int i = 0; i < 100 && ivshm_peer_vectors(ha, 1) >= 0; i++)
		ivshm_wait(ha, 0, 10);
	cr_assert_eq(ivshm_peer_vectors(ha, 1), -ENOENT);
	ivshm_close(ha);
	stop_server(name);
}
