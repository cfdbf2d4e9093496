/* SPDX-License-Identifier: MIT */
/*
 * The ivshmem device in doorbell mode (devices/ivshmem.c, with
 * devices/ivshmem_proto.c and devices/pci.c) on the fake VM, facing a
 * hostile ivshmem server and a hostile guest at once. Each input gets a
 * fresh VM and device; a helper thread plays the server's accept() and a
 * valid setup (version 0, ID 1, 64 KiB of memory), then the input is a
 * program:
 *
 *   byte 0    vectors = (bits 0-1) + 1; bit 2: a VM without ioeventfd,
 *             irqfd and MSI routes (the userspace paths)
 *   op byte   bits 0-2 kind, then:
 *     0 peer  2-byte ID; a fresh eventfd attached if bit 3 (a connect
 *             notification), else none (a departure)
 *     1 any   8-byte value; an eventfd attached if bit 3, the memory fd
 *             if bit 4
 *     2 raw   (bits 3-6) + 1 raw bytes on the socket (splits messages),
 *             an eventfd attached to them if bit 7
 *     3 write guest write to BAR0 at a 1-byte offset, size 1 << (bits
 *             3-4), then `size` value bytes
 *     4 read  guest read of BAR0 at a 1-byte offset, size 1 << (bits 3-4)
 *     5 cmd   the command register: memory decode on if bit 3
 *     6 msix  MSI-X enabled (all vectors unmasked) if bit 3, else off
 *     7 ring  signal the (next byte % 64)-th eventfd sent so far (a peer
 *             ringing us, or us ringing a peer)
 *
 * After each server operation the device's event loop callbacks run. At
 * most FUZZ_MAX_OPS operations. Checked: every ioeventfd is a 4-byte
 * datamatch on the Doorbell register of the BAR0 the device decodes at,
 * for a vector below `vectors`; at most `vectors` irqfds; IVPosition is
 * the ID of the setup; after destroy every fd the device received is
 * closed (the process has the fds it had before the input).
 */
#include <dirent.h>
#include <pthread.h>
#include <poll.h>
#include <semaphore.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "dev_cfg.h"
#include "devices/abi/ivshmem.h"
#include "devices/abi/pci.h"
#include "devices/abi/x86_pc.h"
#include "devices/devices.h"
#include "devices/ivshmem_proto.h"
#include "devices/pci.h"
#include "fake_vm.h"
#include "fuzz_util.h"

#define FUZZ_MAX_OPS 2048
#define MAX_SENT     64
#define SLOT	     1
#define OWN_ID	     1

static const char *sock_path;
static int listen_fd = -1, shm_fd = -1;
static sem_t go, done;
static int conn = -1; /* the accepted connection of this input */

/* The server's accept() and setup, while create() waits for it. */
static void *server_thread(void *arg)
{
	(void)arg;
	for (;;) {
		sem_wait(&go);
		conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (conn < 0 || ivshmem_send(conn, 0, -1) ||
		    ivshmem_send(conn, OWN_ID, -1) ||
		    ivshmem_send(conn, -1, shm_fd))
			fuzz_fail("server setup failed");
		sem_post(&done);
	}
	return NULL;
}

static unsigned count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	if (!d)
		return 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	pthread_t th;

	(void)argc;
	(void)argv;
	log_set_level(LOG_ERR);
	sock_path = fuzz_path("ivshmem.sock");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	unlink(sock_path);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 ||
	    bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(listen_fd, 4))
		fuzz_fail("listen: %s", strerror(errno));
	shm_fd = memfd_create("fuzz-ivshmem", MFD_CLOEXEC);
	if (shm_fd < 0 || ftruncate(shm_fd, 65536))
		fuzz_fail("memfd");
	sem_init(&go, 0, 0);
	sem_init(&done, 0, 0);
	if (pthread_create(&th, NULL, server_thread, NULL))
		fuzz_fail("thread");
	return 0;
}

struct run {
	struct vm *vm;
	struct device *dev;
	unsigned nvec;
	int sent[MAX_SENT]; /* our copies of the eventfds sent */
	unsigned nsent;
};

static uint64_t bar0(struct run *r)
{
	uint64_t a = fake_vm_mmio_read(
		r->vm,
		ABI_PCI_ECAM_BASE + PCI_ECAM_OFFSET(0, SLOT, 0) + PCI_BAR0, 4);

	return a & PCI_BAR_MEM_MASK;
}

static bool decoding(struct run *r)
{
	return fake_vm_mmio_read(r->vm,
				 ABI_PCI_ECAM_BASE +
					 PCI_ECAM_OFFSET(0, SLOT, 0) +
					 PCI_COMMAND,
				 2) &
	       PCI_COMMAND_MEMORY;
}

static void cfg_write(struct run *r, unsigned reg, unsigned size, uint32_t v)
{
	fake_vm_mmio_write(
		r->vm, ABI_PCI_ECAM_BASE + PCI_ECAM_OFFSET(0, SLOT, 0) + reg,
		size, v);
}

/* The device's event loop: callbacks of readable watched fds. */
static void pump(struct run *r)
{
	for (unsigned round = 0; round < 64; round++) {
		bool ran = false;

		for (unsigned i = 0; i < r->vm->nr_watches; i++) {
			struct pollfd p = { .fd = r->vm->watches[i].fd,
					    .events = POLLIN };

			if (poll(&p, 1, 0) == 1) {
				r->vm->watches[i].cb(r->vm->watches[i].opaque);
				ran = true;
				break;
			}
		}
		if (!ran)
			return;
	}
}

static int new_efd(struct run *r)
{
	int fd;

	if (r->nsent >= MAX_SENT)
		return -1;
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd >= 0)
		r->sent[r->nsent++] = fd;
	return fd;
}

static void send_raw(const uint8_t *buf, size_t len, int fd)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.b;
		mh.msg_controllen = sizeof(ctl.b);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	(void)!sendmsg(conn, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void msix(struct run *r, bool on)
{
	unsigned cap = 0, p;
	uint64_t t = fake_vm_mmio_read(r->vm,
				       ABI_PCI_ECAM_BASE +
					       PCI_ECAM_OFFSET(0, SLOT, 0) +
					       PCI_BAR0 + 4,
				       4) &
		     PCI_BAR_MEM_MASK;
	p = (unsigned)fake_vm_mmio_read(
		r->vm,
		ABI_PCI_ECAM_BASE + PCI_ECAM_OFFSET(0, SLOT, 0) + PCI_CAP_PTR,
		1);
	for (unsigned n = 0; p && n < 16; n++) {
		uint64_t base =
			ABI_PCI_ECAM_BASE + PCI_ECAM_OFFSET(0, SLOT, 0) + p;

		if (fake_vm_mmio_read(r->vm, base, 1) == PCI_CAP_ID_MSIX) {
			cap = p;
			break;
		}
		p = (unsigned)fake_vm_mmio_read(r->vm, base + 1, 1);
	}
	if (!cap)
		fuzz_fail("no MSI-X capability");
	for (unsigned v = 0; on && v < r->nvec; v++) {
		uint64_t e = t + IVSHMEM_MSIX_TABLE_OFF + 16 * v;

		fake_vm_mmio_write(r->vm, e, 4, 0xfee00000);
		fake_vm_mmio_write(r->vm, e + 8, 4, 0x40 + v);
		fake_vm_mmio_write(r->vm, e + 12, 4, 0);
	}
	cfg_write(r, cap + PCI_MSIX_FLAGS, 2, on ? PCI_MSIX_FLAGS_ENABLE : 0);
}

static void check(struct run *r)
{
	uint64_t db = bar0(r) + IVSHMEM_REG_DOORBELL;

	for (unsigned i = 0; i < r->vm->nr_ioeventfds; i++) {
		const struct fake_ioeventfd *e = &r->vm->ioeventfds[i];

		FUZZ_CHECK(decoding(r), "ioeventfd while BAR0 does not decode");
		FUZZ_CHECK(e->kind == VM_BUS_MMIO && e->addr == db &&
				   e->len == 4 && e->has_match,
			   "ioeventfd %u: addr %#llx len %u match %d", i,
			   (unsigned long long)e->addr, e->len, e->has_match);
		FUZZ_CHECK((e->match & 0xffff) < r->nvec &&
				   e->match <= 0xffffffffu,
			   "ioeventfd for match %#llx with %u vectors",
			   (unsigned long long)e->match, r->nvec);
	}
	FUZZ_CHECK(r->vm->nr_irqfds <= r->nvec, "%u irqfds, %u vectors",
		   r->vm->nr_irqfds, r->nvec);
	if (decoding(r))
		FUZZ_CHECK(fake_vm_mmio_read(r->vm,
					     bar0(r) + IVSHMEM_REG_IV_POSITION,
					     4) == OWN_ID,
			   "IVPosition changed");
}

static void run_op(struct run *r, struct fuzz_in *in)
{
	uint8_t op = fuzz_u8(in), buf[16];
	unsigned size;
	uint64_t v;
	int fd;

	switch (op & 7) {
	case 0:
		v = fuzz_le(in, 2);
		fd = op & 8 ? new_efd(r) : -1;
		ivshmem_send(conn, (int64_t)v, fd);
		pump(r);
		break;
	case 1:
		v = fuzz_le(in, 8);
		fd = op & 16 ? shm_fd : op & 8 ? new_efd(r) : -1;
		ivshmem_send(conn, (int64_t)v, fd);
		pump(r);
		break;
	case 2:
		size = ((op >> 3) & 15) + 1;
		for (unsigned i = 0; i < size; i++)
			buf[i] = fuzz_u8(in);
		send_raw(buf, size, op & 128 ? new_efd(r) : -1);
		pump(r);
		break;
	case 3:
		size = 1u << ((op >> 3) & 3);
		v = fuzz_u8(in);
		fake_vm_mmio_write(r->vm, bar0(r) + v, size, fuzz_le(in, size));
		break;
	case 4:
		size = 1u << ((op >> 3) & 3);
		fake_vm_mmio_read(r->vm, bar0(r) + fuzz_u8(in), size);
		break;
	case 5:
		cfg_write(r, PCI_COMMAND, 2, op & 8 ? PCI_COMMAND_MEMORY : 0);
		break;
	case 6:
		msix(r, op & 8);
		break;
	case 7:
		v = fuzz_u8(in);
		if (r->nsent) {
			uint64_t one = 1;

			(void)!write(r->sent[v % r->nsent], &one, sizeof(one));
			pump(r);
		}
		break;
	}
	check(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct run r = { 0 };
	struct cfg_device *cfg;
	char kv[320], vec[32];
	unsigned fds = count_fds();
	uint8_t setup = fuzz_u8(&in);
	int err = 0;

	r.nvec = (setup & 3) + 1;
	r.vm = fake_vm_new();
	r.vm->no_fast = setup & 4;
	if (pci_host_create(r.vm, &pci_layout_x86, NULL))
		fuzz_fail("pci host");
	snprintf(kv, sizeof(kv), "server=%s", sock_path);
	snprintf(vec, sizeof(vec), "vectors=%u", r.nvec);
	cfg = dev_cfg_new(&ivshmem_type, "fuzz", "mode=doorbell", kv, vec,
			  "pci-slot=1", NULL);
	sem_post(&go);
	r.dev = dev_create(r.vm, cfg, &err);
	sem_wait(&done);
	if (!r.dev)
		fuzz_fail("create: %s", strerror(-err));
	for (unsigned n = 0; n < FUZZ_MAX_OPS && in.n; n++)
		run_op(&r, &in);
	dev_destroy(r.dev);
	dev_cfg_free(cfg);
	fake_vm_free(r.vm);
	close(conn);
	conn = -1;
	/* connections the device's reconnect timer made meanwhile */
	for (;;) {
		struct pollfd p = { .fd = listen_fd, .events = POLLIN };
		int c;

		if (poll(&p, 1, 0) != 1)
			break;
		c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			break;
		close(c);
	}
	for (unsigned i = 0; i < r.nsent; i++)
		close(r.sent[i]);
	FUZZ_CHECK(count_fds() == fds, "fds before the input %u, after %u", fds,
		   count_fds());
	return 0;
}
