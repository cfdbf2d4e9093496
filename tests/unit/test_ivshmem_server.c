/* SPDX-License-Identifier: MIT */
/*
 * tools/ivshmem-server.c, compiled into this test (its main() renamed) and
 * run in a forked child on a socket in a temp dir: the protocol as QEMU's
 * clients expect it, peer join/leave announcements, and malformed or
 * hostile clients (vanishing mid-setup, sending data and fds, never
 * reading, too many), after each of which the server still serves a new
 * client correctly. Last, the VMM's ivshmem device (fake VM) against it.
 * No root, no KVM.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int ivshmem_server_main(int argc, char **argv);
#define main ivshmem_server_main
#include "tools/ivshmem-server.c"
#undef main

#include "dev_cfg.h"
#include "devices/abi/pci.h"
#include "devices/abi/x86_pc.h"
#include "devices/devices.h"
#include "devices/pci.h"
#include "fake_vm.h"

/* Generous: the machine may be busy; waits end as soon as data comes. */
#define TMO 10000 /* ms */

static char dir[64];
static char sock[100];
static char log_path[100];
static pid_t srv = -1;

static void setup(void)
{
	strcpy(dir, "/tmp/ivshmem-srv-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	snprintf(log_path, sizeof(log_path), "%s/log", dir);
}

static int srv_stop(void)
{
	int st = 0;

	if (srv < 0)
		return -1;
	kill(srv, SIGTERM);
	waitpid(srv, &st, 0);
	srv = -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void teardown(void)
{
	char cmd[128];

	srv_stop();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

static void read_log(char *buf, size_t len)
{
	FILE *f = fopen(log_path, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, len - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
}

/* How many servers said they are ready in this test's log. */
static unsigned count_ready(void)
{
	static char log[65536];
	unsigned n = 0;

	read_log(log, sizeof(log));
	for (char *p = log; (p = strstr(p, "listening on")); p++)
		n++;
	return n;
}

/* Run the server with these options (NULL-terminated) in a child, stderr
 * to log_path. wait: until its socket accepts. */
static pid_t srv_spawn(bool wait, const char *const *opts)
{
	char *argv[32];
	unsigned n = 0, ready = count_ready();
	pid_t pid;

	argv[n++] = "ivshmem-server";
	for (; *opts && n < 30; opts++)
		argv[n++] = (char *)*opts;
	argv[n] = NULL;
	fflush(NULL);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);

		/* never outlive the test (a timeout kills the worker) */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fd, 2);
		optind = 1;
		_exit(ivshmem_server_main((int)n, argv));
	}
	/* Ready when it says so (-v; it listens by then). Not by
	 * connecting: a probe would be a peer the others hear about. */
	for (int i = 0; wait && i < TMO / 10; i++) {
		if (count_ready() > ready)
			return pid;
		usleep(10000);
	}
	cr_assert_not(wait, "the server did not start");
	return pid;
}

static void srv_start(const char *nvec, const char *maxc)
{
	const char *opts[] = { "-F",  "-v", "-S", sock, "-m", dir, "-l",
			       "64K", "-n", nvec, "-c", maxc, NULL };

	srv = srv_spawn(true, opts);
}

static int srv_wait_exit(pid_t pid)
{
	int st = 0;

	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static bool srv_alive(void)
{
	return srv > 0 && waitpid(srv, NULL, WNOHANG) == 0;
}

/* ---- a test client ---- */

struct tmsg {
	int64_t v;
	int fd;
};

struct tcl {
	int s;
	struct ivshmem_rx rx;
	struct tmsg m[512];
	unsigned n;
	bool eof;
};

static void tcl_connect(struct tcl *c)
{
	memset(c, 0, sizeof(*c));
	c->s = ivshmem_connect(sock);
	cr_assert_geq(c->s, 0, "connect: %s", strerror(-c->s));
	ivshmem_rx_init(&c->rx);
}

/* Read until `want` messages in total or timeout_ms of silence. */
static unsigned tcl_read(struct tcl *c, unsigned want, int timeout_ms)
{
	while (c->n < want && !c->eof) {
		int64_t v;
		int fd, r;

		r = ivshmem_recv_timeout(c->s, &c->rx, &v, &fd, timeout_ms);
		if (r == 1 && c->n < 512) {
			c->m[c->n++] = (struct tmsg){ v, fd };
		} else if (r == 1) {
			if (fd >= 0)
				close(fd);
		} else if (r == 0) {
			c->eof = true;
		} else {
			break;
		}
	}
	return c->n;
}

static void tcl_drop_fds(struct tcl *c)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->m[i].fd >= 0)
			close(c->m[i].fd);
	c->n = 0;
}

static void tcl_close(struct tcl *c)
{
	tcl_drop_fds(c);
	if (c->s >= 0)
		close(c->s);
	c->s = -1;
}

/* Check the setup of a client: version, ID, memory, `peers` (ids with
 * nvec fds each, in any order), own vectors. Returns its ID. */
static unsigned tcl_check_setup(struct tcl *c, unsigned npeers, unsigned nvec)
{
	unsigned want = 3 + (npeers + 1) * nvec, id;
	struct stat st;

	cr_assert_eq(tcl_read(c, want, TMO), want, "got %u of %u", c->n, want);
	cr_assert_eq(c->m[0].v, 0);
	cr_assert_eq(c->m[0].fd, -1);
	id = (unsigned)c->m[1].v;
	cr_assert_leq(id, 65535);
	cr_assert_eq(c->m[1].fd, -1);
	cr_assert_eq(c->m[2].v, -1);
	cr_assert_geq(c->m[2].fd, 0);
	cr_assert_eq(fstat(c->m[2].fd, &st), 0);
	cr_assert_eq(st.st_size, 65536);
	for (unsigned i = 3; i < want; i++)
		cr_assert_geq(c->m[i].fd, 0, "message %u has no fd", i);
	/* the last nvec: our own */
	for (unsigned i = want - nvec; i < want; i++)
		cr_assert_eq(c->m[i].v, id);
	return id;
}

/* The fd message i refers to the same eventfd as fd b. */
static bool linked(int a, int b)
{
	uint64_t one = 1, n = 0;

	while (read(b, &n, 8) == 8)
		;
	if (write(a, &one, 8) != 8)
		return false;
	n = 0;
	if (fcntl(b, F_SETFL, O_NONBLOCK) < 0 || read(b, &n, 8) != 8)
		return false;
	return n == 1;
}

TestSuite(ivshmem_server, .init = setup, .fini = teardown, .timeout = 60);

Test(ivshmem_server, protocol_join_leave)
{
	struct tcl a, b, c;
	unsigned ida, idb;

	srv_start("2", "8");
	tcl_connect(&a);
	ida = tcl_check_setup(&a, 0, 2);
	tcl_connect(&b);
	idb = tcl_check_setup(&b, 1, 2);
	cr_assert_neq(ida, idb);
	/* b learned a's vectors (messages 3, 4), a learned b's */
	cr_assert_eq(b.m[3].v, ida);
	cr_assert_eq(b.m[4].v, ida);
	cr_assert(linked(b.m[3].fd, a.m[3].fd));
	cr_assert(linked(b.m[4].fd, a.m[4].fd));
	cr_assert_not(linked(b.m[3].fd, a.m[4].fd));
	cr_assert_eq(tcl_read(&a, 7, TMO), 7);
	cr_assert_eq(a.m[5].v, idb);
	cr_assert_eq(a.m[6].v, idb);
	cr_assert(linked(a.m[5].fd, b.m[5].fd));
	cr_assert(linked(a.m[6].fd, b.m[6].fd));
	/* the same memory */
	{
		struct stat s1, s2;

		fstat(a.m[2].fd, &s1);
		fstat(b.m[2].fd, &s2);
		cr_assert_eq(s1.st_ino, s2.st_ino);
	}
	/* b leaves: a is told (ID without fd) */
	tcl_close(&b);
	cr_assert_eq(tcl_read(&a, 8, TMO), 8);
	cr_assert_eq(a.m[7].v, idb);
	cr_assert_eq(a.m[7].fd, -1);
	/* IDs are not reused at once */
	tcl_connect(&c);
	cr_assert_gt(tcl_check_setup(&c, 1, 2), idb);
	tcl_close(&c);
	tcl_close(&a);
	cr_assert(srv_alive());
	cr_assert_eq(srv_stop(), 0);
	cr_assert_neq(access(sock, F_OK), 0, "socket left behind");
}

Test(ivshmem_server, hostile_clients)
{
	struct tcl obs, c;
	char junk[8192];
	unsigned joined = 0, left = 0;

	srv_start("1", "16");
	tcl_connect(&obs);
	tcl_check_setup(&obs, 0, 1);

	/* 50 clients that vanish right after connecting, some after part
	 * of their setup */
	for (int i = 0; i < 50; i++) {
		int s = ivshmem_connect(sock);

		cr_assert_geq(s, 0);
		if (i % 2) {
			char b[5];

			usleep(1000);
			(void)!read(s, b, sizeof(b));
		}
		close(s);
	}
	/* one sends data and fds (the protocol is one-way) */
	tcl_connect(&c);
	memset(junk, 'x', sizeof(junk));
	for (int i = 0; i < 10; i++) {
		int fds[3] = { 0, 1, 2 };
		union {
			struct cmsghdr h;
			char b[CMSG_SPACE(sizeof(fds))];
		} ctl;
		struct iovec iov = { junk, sizeof(junk) };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = ctl.b,
				     .msg_controllen = sizeof(ctl.b) };
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(fds));
		memcpy(CMSG_DATA(cm), fds, sizeof(fds));
		if (sendmsg(c.s, &mh, MSG_NOSIGNAL) < 0)
			break; /* dropped already */
	}
	/* it is dropped: EOF after its setup */
	for (int i = 0; i < TMO / 10 && !c.eof; i++)
		tcl_read(&c, 512, 10);
	cr_assert(c.eof, "a client sending 80 KiB was not dropped");
	tcl_close(&c);

	/* the observer saw each of the 51 join and leave */
	tcl_read(&obs, 4 + 2 * 51, TMO);
	for (unsigned i = 4; i < obs.n; i++) {
		if (obs.m[i].fd >= 0)
			joined++;
		else
			left++;
	}
	cr_assert_eq(joined, 51, "joined %u, left %u", joined, left);
	cr_assert_eq(left, 51, "joined %u, left %u", joined, left);

	/* and it still serves */
	cr_assert(srv_alive());
	tcl_connect(&c);
	tcl_check_setup(&c, 1, 1);
	tcl_close(&c);
	tcl_close(&obs);
	cr_assert_eq(srv_stop(), 0);
}

Test(ivshmem_server, max_clients_and_many_peers)
{
	static struct tcl cl[40];
	struct tcl extra;
	bool ids[65536] = { false };

	srv_start("1", "40");
	for (unsigned i = 0; i < 40; i++) {
		unsigned id;

		tcl_connect(&cl[i]);
		id = tcl_check_setup(&cl[i], i, 1);
		cr_assert_not(ids[id], "ID %u twice", id);
		ids[id] = true;
		tcl_drop_fds(&cl[i]); /* keep our fd count down */
	}
	/* one more: accepted and closed at once */
	tcl_connect(&extra);
	tcl_read(&extra, 1, TMO);
	cr_assert(extra.eof);
	cr_assert_eq(extra.n, 0);
	tcl_close(&extra);
	for (unsigned i = 0; i < 40; i++)
		tcl_close(&cl[i]);
	cr_assert(srv_alive());
	{
		char log[16384];

		read_log(log, sizeof(log));
		cr_assert(strstr(log, "refusing a client: already 40 (-c)"),
			  "%s", log);
	}
}

Test(ivshmem_server, client_that_never_reads)
{
	struct tcl lazy, obs, c;
	char log[65536];
	bool dropped = false;

	srv_start("64", "4");
	tcl_connect(&lazy); /* never reads */
	tcl_connect(&obs);
	cr_assert_eq(tcl_read(&obs, 3 + 2 * 64, TMO), 3 + 2 * 64);
	tcl_drop_fds(&obs);
	/* churn, one peer at a time (the observer sees each leave): each
	 * join puts 64 messages with fds in the lazy client's socket, and
	 * when that is full, in its queue at the server */
	for (int i = 0; i < 60 && !dropped; i++) {
		tcl_connect(&c);
		tcl_read(&c, 3, TMO);
		tcl_close(&c);
		cr_assert_eq(tcl_read(&obs, 65, TMO), 65);
		cr_assert_eq(obs.m[64].fd, -1);
		tcl_drop_fds(&obs);
		read_log(log, sizeof(log));
		dropped = strstr(log, "(does not read its messages)");
	}
	cr_assert(dropped, "%s", log);
	/* the others heard it leave, the server still serves */
	cr_assert_eq(tcl_read(&obs, 1, TMO), 1);
	cr_assert_eq(obs.m[0].fd, -1);
	cr_assert(srv_alive());
	tcl_connect(&c);
	tcl_check_setup(&c, 1, 64);
	tcl_close(&c);
	tcl_close(&lazy);
	tcl_close(&obs);
}

Test(ivshmem_server, startup_errors_and_stale_socket)
{
	char log[8192];
	const char *bad_l[] = { "-F", "-S", sock, "-l", "12K", NULL };
	const char *bad_n[] = { "-F", "-S", sock, "-n", "65", NULL };
	const char *both[] = { "-F", "-S", sock, "-M", "x", "-m", dir, NULL };
	const char *two[] = { "-F", "-v", "-S",	 sock, "-m",
			      dir,  "-l", "64K", NULL };
	int s;

	cr_assert_eq(srv_wait_exit(srv_spawn(false, bad_l)), 2);
	cr_assert_eq(srv_wait_exit(srv_spawn(false, bad_n)), 2);
	cr_assert_eq(srv_wait_exit(srv_spawn(false, both)), 2);
	read_log(log, sizeof(log));
	cr_assert(strstr(log, "-l 12K: not a power of two"), "%s", log);
	cr_assert(strstr(log, "-n 65: expected 1-64"), "%s", log);

	/* a stale socket file (nobody listening) is replaced */
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		strcpy(sa.sun_path, sock);
		cr_assert_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	}
	close(s);
	srv = srv_spawn(true, two);
	/* a second server on the same socket refuses to start */
	cr_assert_eq(srv_wait_exit(srv_spawn(false, two)), 1);
	read_log(log, sizeof(log));
	cr_assert(strstr(log, "another server is listening there"), "%s", log);
	cr_assert(srv_alive());
}

Test(ivshmem_server, posix_shm_kept_and_size_checked)
{
	char name[64], shmpath[96], log[8192], size_opt[] = "64K";
	const char *opts[] = { "-F", "-v", "-S",     sock, "-M",
			       name, "-l", size_opt, NULL };
	struct tcl c;
	char *p;

	if (access("/dev/shm", W_OK))
		cr_skip_test("no /dev/shm");
	snprintf(name, sizeof(name), "vmm-ivshmem-test-%d", (int)getpid());
	snprintf(shmpath, sizeof(shmpath), "/dev/shm/%s", name);
	srv = srv_spawn(true, opts);
	tcl_connect(&c);
	tcl_read(&c, 3, TMO);
	p = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_SHARED, c.m[2].fd, 0);
	cr_assert_neq(p, MAP_FAILED);
	strcpy(p, "survives a restart");
	munmap(p, 65536);
	tcl_close(&c);
	cr_assert_eq(srv_stop(), 0);

	/* restarted: the same object, the same data */
	srv = srv_spawn(true, opts);
	tcl_connect(&c);
	tcl_read(&c, 3, TMO);
	p = mmap(NULL, 65536, PROT_READ, MAP_SHARED, c.m[2].fd, 0);
	cr_assert_str_eq(p, "survives a restart");
	munmap(p, 65536);
	tcl_close(&c);
	cr_assert_eq(srv_stop(), 0);

	/* another size: refused, the object untouched */
	strcpy(size_opt, "1M");
	cr_assert_eq(srv_wait_exit(srv_spawn(false, opts)), 1);
	read_log(log, sizeof(log));
	cr_assert(strstr(log, "the object exists with 65536 bytes, -l asks "
			      "for 1048576"),
		  "%s", log);
	{
		struct stat st;

		cr_assert_eq(stat(shmpath, &st), 0);
		cr_assert_eq(st.st_size, 65536);
	}
	unlink(shmpath);
}

/* ---- the VMM's device against the real server ---- */

static void pump(struct vm *vm)
{
	for (unsigned round = 0; round < 100; round++) {
		bool ran = false;

		for (unsigned i = 0; i < vm->nr_watches; i++) {
			struct pollfd p = { .fd = vm->watches[i].fd,
					    .events = POLLIN };

			if (poll(&p, 1, 0) == 1) {
				vm->watches[i].cb(vm->watches[i].opaque);
				ran = true;
				break;
			}
		}
		if (!ran)
			break;
	}
}

Test(ivshmem_server, vmm_device_with_server)
{
	struct vm *vm = fake_vm_new();
	struct cfg_device *cfg;
	struct device *dev;
	struct tcl a;
	char kv[128];
	int err = 0;
	uint32_t pos;
	uint64_t bar0;
	unsigned ida;

	srv_start("2", "8");
	tcl_connect(&a);
	ida = tcl_check_setup(&a, 0, 2);
	cr_assert_eq(pci_host_create(vm, &pci_layout_x86, NULL), 0);
	snprintf(kv, sizeof(kv), "server=%s", sock);
	cfg = dev_cfg_new(&ivshmem_type, "db0", "mode=doorbell", kv,
			  "vectors=2", "pci-slot=2", NULL);
	dev = dev_create(vm, cfg, &err);
	cr_assert_not_null(dev, "%s", strerror(-err));
	pump(vm);
	bar0 = fake_vm_mmio_read(vm,
				 ABI_PCI_ECAM_BASE + PCI_ECAM_OFFSET(0, 2, 0) +
					 PCI_BAR0,
				 4) &
	       PCI_BAR_MEM_MASK;
	pos = (uint32_t)fake_vm_mmio_read(vm, bar0 + IVSHMEM_REG_IV_POSITION,
					  4);
	cr_assert_neq(pos, ida);
	/* client a learns the device's vectors; the device has a's */
	cr_assert_eq(tcl_read(&a, 7, TMO), 7);
	cr_assert_eq(a.m[5].v, pos);
	cr_assert_eq(vm->nr_ioeventfds, 4); /* a x 2 + self x 2 */
	/* the guest rings a's vector 1: (handler path in the fake VM) */
	fake_vm_mmio_write(vm, bar0 + IVSHMEM_REG_DOORBELL, 4,
			   IVSHMEM_DOORBELL(ida, 1));
	{
		uint64_t n = 0;

		fcntl(a.m[4].fd, F_SETFL, O_NONBLOCK);
		cr_assert_eq(read(a.m[4].fd, &n, 8), 8);
		cr_assert_eq(n, 1);
	}
	/* a leaves: the device drops its ioeventfds */
	tcl_close(&a);
	usleep(100000);
	pump(vm);
	cr_assert_eq(vm->nr_ioeventfds, 2);
	dev_destroy(dev);
	dev_cfg_free(cfg);
	fake_vm_free(vm);
}
