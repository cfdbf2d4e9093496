/* SPDX-License-Identifier: MIT */
/*
 * The ivshmem device (devices/ivshmem.c) on the fake VM's PCI host: PCI
 * identity and BARs per the spec, BAR0 registers, plain mode on a file,
 * doorbell mode against a scripted server on a real UNIX socket in a temp
 * dir: doorbells as datamatch ioeventfds following BAR0 and the peers,
 * incoming vectors as MSI-X irqfds, the userspace fallbacks without fast
 * paths, server loss and reconnection, and the error messages.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "dev_cfg.h"
#include "devices/abi/ivshmem.h"
#include "devices/abi/pci.h"
#include "devices/abi/x86_pc.h"
#include "devices/devices.h"
#include "devices/ivshmem_proto.h"
#include "devices/pci.h"
#include "fake_vm.h"

#define SLOT	 4
#define SHM_SIZE (64 * 1024)

static struct vm *vm;
static struct cfg_device *cfg;
static struct device *dev;
static char dir[64];
static char path[100]; /* shm file (plain) or socket (doorbell) */

static void setup(void)
{
	strcpy(dir, "/tmp/ivshmem-test-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	vm = fake_vm_new();
}

static void setup_fast(void)
{
	setup();
	cr_assert_eq(pci_host_create(vm, &pci_layout_x86, NULL), 0);
}

static void setup_slow(void)
{
	setup();
	vm->no_fast = true; /* no ioeventfd, irqfd or MSI routes */
	cr_assert_eq(pci_host_create(vm, &pci_layout_x86, NULL), 0);
}

static void teardown(void)
{
	char cmd[128];

	dev_destroy(dev);
	dev = NULL;
	dev_cfg_free(cfg);
	cfg = NULL;
	fake_vm_free(vm);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

/* ---- helpers ---- */

static uint32_t cfg_rd(unsigned reg, unsigned size)
{
	return (uint32_t)fake_vm_mmio_read(
		vm, ABI_PCI_ECAM_BASE + PCI_ECAM_OFFSET(0, SLOT, 0) + reg,
		size);
}

static void cfg_wr(unsigned reg, unsigned size, uint32_t v)
{
	fake_vm_mmio_write(
		vm, ABI_PCI_ECAM_BASE + PCI_ECAM_OFFSET(0, SLOT, 0) + reg, size,
		v);
}

static uint64_t bar_addr(unsigned n)
{
	uint32_t lo = cfg_rd(PCI_BAR0 + 4 * n, 4);
	uint64_t a = lo & PCI_BAR_MEM_MASK;

	if (lo & PCI_BAR_MEM_TYPE_64)
		a |= (uint64_t)cfg_rd(PCI_BAR0 + 4 * (n + 1), 4) << 32;
	return a;
}

static uint32_t reg_rd(unsigned off)
{
	return (uint32_t)fake_vm_mmio_read(vm, bar_addr(0) + off, 4);
}

static void reg_wr(unsigned off, uint32_t v)
{
	fake_vm_mmio_write(vm, bar_addr(0) + off, 4, v);
}

static unsigned find_cap(unsigned id)
{
	unsigned p = cfg_rd(PCI_CAP_PTR, 1);

	for (unsigned n = 0; p && n < 48; n++) {
		if (cfg_rd(p, 1) == id)
			return p;
		p = cfg_rd(p + 1, 1);
	}
	return 0;
}

/* BAR n's size by the guest's sizing protocol (memory BARs). */
static uint64_t bar_size(unsigned n)
{
	uint32_t old = cfg_rd(PCI_BAR0 + 4 * n, 4), oldhi = 0, lo, hi = ~0u;
	bool is64 = old & PCI_BAR_MEM_TYPE_64;
	uint64_t mask;

	if (is64)
		oldhi = cfg_rd(PCI_BAR0 + 4 * (n + 1), 4);
	cfg_wr(PCI_BAR0 + 4 * n, 4, ~0u);
	lo = cfg_rd(PCI_BAR0 + 4 * n, 4);
	if (is64) {
		cfg_wr(PCI_BAR0 + 4 * (n + 1), 4, ~0u);
		hi = cfg_rd(PCI_BAR0 + 4 * (n + 1), 4);
		cfg_wr(PCI_BAR0 + 4 * (n + 1), 4, oldhi);
	}
	cfg_wr(PCI_BAR0 + 4 * n, 4, old);
	if (!(lo & PCI_BAR_MEM_MASK))
		return 0;
	mask = (uint64_t)hi << 32 | (lo & PCI_BAR_MEM_MASK);
	return ~mask + 1;
}

/* Create with stderr captured into msg. */
static struct device *create_capture(char *msg, size_t len, int *err)
{
	FILE *f = tmpfile();
	int saved = dup(2);
	struct device *dv;
	size_t n;

	fflush(stderr);
	dup2(fileno(f), 2);
	dv = dev_create(vm, cfg, err);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	n = fread(msg, 1, len - 1, f);
	msg[n] = '\0';
	fclose(f);
	return dv;
}

static int check(char *msg, size_t len)
{
	struct cfg_error err = { { 0 } };
	int ret = ivshmem_type.check(cfg, &err);

	snprintf(msg, len, "%s", err.msg);
	return ret;
}

static void make_file(const char *p, off_t size)
{
	int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);

	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, size), 0);
	close(fd);
}

static int new_memfd(off_t size)
{
	int fd = memfd_create("ivshmem-test", MFD_CLOEXEC);

	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, size), 0);
	return fd;
}

static int new_efd(void)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	cr_assert_geq(fd, 0);
	return fd;
}

static uint64_t efd_read(int fd)
{
	uint64_t n = 0;

	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

static void efd_write(int fd)
{
	uint64_t one = 1;

	cr_assert_eq(write(fd, &one, sizeof(one)), (ssize_t)sizeof(one));
}

/* Run the callbacks of readable watched fds, as the event loop would,
 * until nothing is readable (bounded). stderr goes to msg if given. */
static void pump_capture(char *msg, size_t len)
{
	FILE *f = NULL;
	int saved = -1;

	if (msg) {
		f = tmpfile();
		saved = dup(2);
		fflush(stderr);
		dup2(fileno(f), 2);
	}
	for (unsigned round = 0; round < 100; round++) {
		bool ran = false;

		for (unsigned i = 0; i < vm->nr_watches; i++) {
			struct pollfd p = { .fd = vm->watches[i].fd,
					    .events = POLLIN };

			if (poll(&p, 1, 0) == 1) {
				vm->watches[i].cb(vm->watches[i].opaque);
				ran = true;
				break; /* the list may have changed */
			}
		}
		if (!ran)
			break;
	}
	if (msg) {
		size_t n;

		fflush(stderr);
		dup2(saved, 2);
		close(saved);
		rewind(f);
		n = fread(msg, 1, len - 1, f);
		msg[n] = '\0';
		fclose(f);
	}
}

static void pump(void)
{
	pump_capture(NULL, 0);
}

/* Wait until some watched fd is readable (the reconnect timer). */
static bool wait_watch(int timeout_ms)
{
	for (int t = 0; t < timeout_ms; t += 10) {
		for (unsigned i = 0; i < vm->nr_watches; i++) {
			struct pollfd p = { .fd = vm->watches[i].fd,
					    .events = POLLIN };

			if (poll(&p, 1, 0) == 1)
				return true;
		}
		usleep(10000);
	}
	return false;
}

/* ---- a scripted server ---- */

struct fmsg {
	int64_t value;
	int fd;
};

struct fsrv {
	int lfd;
	int conn;
	struct fmsg script[64];
	unsigned n;
	bool hangup; /* close the connection after the script */
	pthread_t th;
};

static void fsrv_listen(struct fsrv *f)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(f, 0, sizeof(*f));
	f->conn = -1;
	f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(f->lfd, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	cr_assert_eq(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(f->lfd, 8), 0);
}

static void fsrv_add(struct fsrv *f, int64_t value, int fd)
{
	cr_assert_lt(f->n, 64);
	f->script[f->n++] = (struct fmsg){ value, fd };
}

static void fsrv_send(struct fsrv *f)
{
	for (unsigned i = 0; i < f->n; i++)
		cr_assert_eq(ivshmem_send(f->conn, f->script[i].value,
					  f->script[i].fd),
			     0);
	f->n = 0;
}

static void *fsrv_thread(void *arg)
{
	struct fsrv *f = arg;

	f->conn = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
	/* No assertions in this thread (Criterion's are main-thread only);
	 * the device may hang up early on purpose (a bad version). */
	for (unsigned i = 0; f->conn >= 0 && i < f->n; i++)
		if (ivshmem_send(f->conn, f->script[i].value, f->script[i].fd))
			break;
	f->n = 0;
	if (f->conn >= 0 && f->hangup) {
		close(f->conn);
		f->conn = -1;
	}
	return NULL;
}

/* Accept the device's connection in a thread (create() waits for the
 * setup messages) and send the script. */
static void fsrv_go(struct fsrv *f)
{
	cr_assert_eq(pthread_create(&f->th, NULL, fsrv_thread, f), 0);
}

static void fsrv_wait(struct fsrv *f)
{
	pthread_join(f->th, NULL);
}

static void fsrv_close(struct fsrv *f)
{
	if (f->conn >= 0)
		close(f->conn);
	if (f->lfd >= 0)
		close(f->lfd);
	f->conn = f->lfd = -1;
}

/* An ioeventfd on Doorbell with this match, or NULL. */
static const struct fake_ioeventfd *ioev(uint32_t match)
{
	uint64_t a = bar_addr(0) + IVSHMEM_REG_DOORBELL;

	for (unsigned i = 0; i < vm->nr_ioeventfds; i++) {
		const struct fake_ioeventfd *e = &vm->ioeventfds[i];

		if (e->kind == VM_BUS_MMIO && e->addr == a && e->len == 4 &&
		    e->has_match && e->match == match)
			return e;
	}
	return NULL;
}

/* Does the fd the VMM registered refer to the same eventfd as ours? */
static bool same_efd(int vmm_fd, int ours)
{
	efd_read(ours);
	efd_write(vmm_fd);
	return efd_read(ours) == 1;
}

static void msix_enable(unsigned nvec)
{
	unsigned cap = find_cap(PCI_CAP_ID_MSIX);
	uint64_t t = bar_addr(IVSHMEM_BAR_MSIX) + IVSHMEM_MSIX_TABLE_OFF;

	cr_assert_neq(cap, 0);
	for (unsigned v = 0; v < nvec; v++) {
		uint64_t e = t + v * PCI_MSIX_ENTRY_SIZE;

		fake_vm_mmio_write(vm, e + PCI_MSIX_ENTRY_ADDR_LO, 4,
				   0xfee00000);
		fake_vm_mmio_write(vm, e + PCI_MSIX_ENTRY_ADDR_HI, 4, 0);
		fake_vm_mmio_write(vm, e + PCI_MSIX_ENTRY_DATA, 4, 0x40 + v);
		fake_vm_mmio_write(vm, e + PCI_MSIX_ENTRY_CTRL, 4, 0);
	}
	cfg_wr(cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
}

/* ---- plain mode ---- */

TestSuite(ivshmem_plain, .init = setup_fast, .fini = teardown, .timeout = 30);

Test(ivshmem_plain, identity_bars_registers)
{
	char slot[32], kv[160];
	int err = 0, fd;
	uint8_t *file;
	const struct fake_mem_map *m;

	snprintf(path, sizeof(path), "%s/shm", dir);
	make_file(path, SHM_SIZE);
	snprintf(kv, sizeof(kv), "path=%s", path);
	snprintf(slot, sizeof(slot), "pci-slot=%d", SLOT);
	cfg = dev_cfg_new(&ivshmem_type, "shm0", "mode=plain", kv, slot, NULL);
	dev = dev_create(vm, cfg, &err);
	cr_assert_not_null(dev, "%s", strerror(-err));

	cr_assert_eq(cfg_rd(PCI_VENDOR_ID, 2), IVSHMEM_VENDOR_ID);
	cr_assert_eq(cfg_rd(PCI_DEVICE_ID, 2), IVSHMEM_DEVICE_ID);
	cr_assert_eq(cfg_rd(PCI_REVISION_ID, 1), IVSHMEM_REVISION);
	cr_assert_eq(cfg_rd(PCI_CLASS_DEVICE, 2), IVSHMEM_CLASS >> 8);
	cr_assert_eq(cfg_rd(PCI_SUBSYS_VENDOR_ID, 2), IVSHMEM_SUBSYS_VENDOR_ID);
	cr_assert_eq(cfg_rd(PCI_SUBSYS_ID, 2), IVSHMEM_SUBSYS_ID);
	/* BAR0: 32-bit registers; no BAR1 and no MSI-X in plain mode */
	cr_assert_eq(cfg_rd(PCI_BAR0, 4) & 0xf, 0);
	cr_assert_eq(bar_size(0), IVSHMEM_REGS_SIZE);
	cr_assert_eq(cfg_rd(PCI_BAR0 + 4, 4), 0);
	cr_assert_eq(find_cap(PCI_CAP_ID_MSIX), 0);
	/* BAR2: 64-bit prefetchable, the file's size, RAM */
	cr_assert_eq(cfg_rd(PCI_BAR0 + 8, 4) & 0xf,
		     PCI_BAR_MEM_TYPE_64 | PCI_BAR_MEM_PREFETCH);
	cr_assert_eq(bar_size(2), SHM_SIZE);
	m = fake_vm_map_at(vm, bar_addr(2));
	cr_assert_not_null(m);
	cr_assert_eq(m->size, SHM_SIZE);
	cr_assert_eq(m->gpa, bar_addr(2));
	cr_assert_not(m->readonly);

	/* the guest's memory is the file */
	fd = open(path, O_RDWR);
	file = mmap(NULL, SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_assert_neq(file, MAP_FAILED);
	strcpy((char *)m->hva + 100, "from the guest");
	cr_assert_str_eq((char *)file + 100, "from the guest");
	strcpy((char *)file + 4000, "from linux");
	cr_assert_str_eq((char *)m->hva + 4000, "from linux");
	munmap(file, SHM_SIZE);
	close(fd);

	/* registers: IVPosition 0, doorbell ignored, mask r/w, status read
	 * clears, reserved 0, sub-dword reads */
	cr_assert_eq(reg_rd(IVSHMEM_REG_IV_POSITION), 0);
	reg_wr(IVSHMEM_REG_DOORBELL, IVSHMEM_DOORBELL(1, 0));
	cr_assert_eq(reg_rd(IVSHMEM_REG_DOORBELL), 0);
	reg_wr(IVSHMEM_REG_INTR_MASK, 0xffffffff);
	cr_assert_eq(reg_rd(IVSHMEM_REG_INTR_MASK), 0xffffffff);
	cr_assert_eq(fake_vm_mmio_read(vm, bar_addr(0) + 1, 1), 0xff);
	reg_wr(IVSHMEM_REG_INTR_STATUS, 0x1234);
	cr_assert_eq(reg_rd(IVSHMEM_REG_INTR_STATUS), 0x1234);
	cr_assert_eq(reg_rd(IVSHMEM_REG_INTR_STATUS), 0);
	reg_wr(0x40, 0x55);
	cr_assert_eq(reg_rd(0x40), 0);
	/* a 2-byte write is not a register write */
	fake_vm_mmio_write(vm, bar_addr(0) + IVSHMEM_REG_INTR_MASK, 2, 0);
	cr_assert_eq(reg_rd(IVSHMEM_REG_INTR_MASK), 0xffffffff);
	cr_assert_eq(vm->nr_ioeventfds, 0);

	/* guest reset: registers back to 0, BARs where plug put them */
	dev->type->reset(dev);
	cr_assert_eq(reg_rd(IVSHMEM_REG_INTR_MASK), 0);
}

Test(ivshmem_plain, create_and_size_from_config)
{
	char kv[160], msg[1024];
	struct stat st;
	int err = 0;

	snprintf(path, sizeof(path), "%s/new", dir);
	snprintf(kv, sizeof(kv), "path=%s", path);
	cfg = dev_cfg_new(&ivshmem_type, "shm1", "mode=plain", kv, "size=1M",
			  "create=yes", "pci-slot=4", NULL);
	cr_assert_eq(check(msg, sizeof(msg)), 0, "%s", msg);
	dev = dev_create(vm, cfg, &err);
	cr_assert_not_null(dev, "%s", strerror(-err));
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_size, 1 << 20);
	cr_assert_eq(fake_vm_map_at(vm, bar_addr(2))->size, 1 << 20);
	dev_destroy(dev);
	dev = NULL;
	dev_cfg_free(cfg);

	/* an existing empty file (shm_open() by another program) is sized */
	make_file(path, 0);
	cfg = dev_cfg_new(&ivshmem_type, "shm1", "mode=plain", kv, "size=8K",
			  "pci-slot=4", NULL);
	cr_assert_eq(check(msg, sizeof(msg)), 0, "%s", msg);
	dev = dev_create(vm, cfg, &err);
	cr_assert_not_null(dev);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_size, 8192);
}

Test(ivshmem_plain, config_errors)
{
	char kv[160], msg[1024];
	int err = 0;

	/* missing file */
	snprintf(path, sizeof(path), "%s/missing", dir);
	snprintf(kv, sizeof(kv), "path=%s", path);
	cfg = dev_cfg_new(&ivshmem_type, "shm0", "mode=plain", kv, NULL);
	cr_assert_eq(check(msg, sizeof(msg)), -EINVAL);
	cr_assert(strstr(msg, "[device \"shm0\"] path: \"") &&
			  strstr(msg, "No such file or directory (set create "
				      "= yes to create it)"),
		  "%s", msg);
	dev = create_capture(msg, sizeof(msg), &err);
	cr_assert_null(dev);
	cr_assert(strstr(msg, "shm0: path \"") &&
			  strstr(msg, "\": No such file or directory"),
		  "%s", msg);
	dev_cfg_free(cfg);

	/* size mismatch */
	make_file(path, 8192);
	cfg = dev_cfg_new(&ivshmem_type, "shm0", "mode=plain", kv, "size=16K",
			  NULL);
	cr_assert_eq(check(msg, sizeof(msg)), -EINVAL);
	cr_assert(strstr(msg, "[device \"shm0\"] size: 16384 bytes, but \"") &&
			  strstr(msg, "\" has 8192 bytes"),
		  "%s", msg);
	dev = create_capture(msg, sizeof(msg), &err);
	cr_assert_null(dev);
	cr_assert(strstr(msg, "shm0: size = 16384, but path \""), "%s", msg);
	dev_cfg_free(cfg);

	/* a file that is not a power of two, no size */
	make_file(path, 12288);
	cfg = dev_cfg_new(&ivshmem_type, "shm0", "mode=plain", kv, NULL);
	cr_assert_eq(check(msg, sizeof(msg)), -EINVAL);
	cr_assert(strstr(msg, "has 12288 bytes: the size must be a power of "
			      "two"),
		  "%s", msg);
	dev_cfg_free(cfg);

	/* size not a power of two */
	cfg = dev_cfg_new(&ivshmem_type, "shm0", "mode=plain", kv, "size=12K",
			  NULL);
	cr_assert_eq(check(msg, sizeof(msg)), -EINVAL);
	cr_assert(strstr(msg, "size: 12288 is not a power of two"), "%s", msg);
	dev_cfg_free(cfg);

	/* a directory */
	snprintf(kv, sizeof(kv), "path=%s", dir);
	cfg = dev_cfg_new(&ivshmem_type, "shm0", "mode=plain", kv, NULL);
	cr_assert_eq(check(msg, sizeof(msg)), -EINVAL);
	cr_assert(strstr(msg, "is not a regular file"), "%s", msg);
	dev_cfg_free(cfg);

	/* keys of the other mode; missing keys */
	cfg = dev_cfg_new(&ivshmem_type, "shm0", "mode=plain", kv, "server=/x",
			  NULL);
	cr_assert_eq(check(msg, sizeof(msg)), -EINVAL);
	cr_assert(strstr(msg, "server: only used with mode = doorbell"), "%s",
		  msg);
	dev_cfg_free(cfg);
	cfg = dev_cfg_new(&ivshmem_type, "shm0", "mode=doorbell", "server=/x",
			  kv, NULL);
	cr_assert_eq(check(msg, sizeof(msg)), -EINVAL);
	cr_assert(strstr(msg, "path: only used with mode = plain"), "%s", msg);
	dev_cfg_free(cfg);
	cfg = dev_cfg_new(&ivshmem_type, "shm0", "mode=doorbell", NULL);
	cr_assert_eq(check(msg, sizeof(msg)), -EINVAL);
	cr_assert(strstr(msg, "server: mode = doorbell needs"), "%s", msg);
	dev_cfg_free(cfg);
	cfg = dev_cfg_new(&ivshmem_type, "shm0", "mode=plain", NULL);
	cr_assert_eq(check(msg, sizeof(msg)), -EINVAL);
	cr_assert(strstr(msg, "path: mode = plain needs"), "%s", msg);
	dev_cfg_free(cfg);
	cfg = dev_cfg_new(&ivshmem_type, "shm0", "mode=plain", "path=/x",
			  "create=yes", NULL);
	cr_assert_eq(check(msg, sizeof(msg)), -EINVAL);
	cr_assert(strstr(msg, "create: create = yes needs a size"), "%s", msg);
}

Test(ivshmem_plain, permission_denied)
{
	char kv[160], msg[1024];
	bool root = geteuid() == 0;
	int err = 0;

	snprintf(path, sizeof(path), "%s/ro", dir);
	make_file(path, SHM_SIZE);
	chmod(path, 0400);
	chmod(dir, 0755);
	snprintf(kv, sizeof(kv), "path=%s", path);
	cfg = dev_cfg_new(&ivshmem_type, "shm0", "mode=plain", kv, NULL);
	/* root ignores file modes: try as nobody (this test's own process) */
	if (root)
		cr_assert_eq(seteuid(65534), 0);
	dev = create_capture(msg, sizeof(msg), &err);
	if (root)
		cr_assert_eq(seteuid(0), 0);
	cr_assert_null(dev);
	cr_assert(strstr(msg, "shm0: path \"") &&
			  strstr(msg, "Permission denied (the VMM needs read "
				      "and write access)"),
		  "%s", msg);
}

/* ---- doorbell mode ---- */

struct peerfds {
	int efd[4];
};

/* Server script for: version, own ID, memory, peers (id, vectors...),
 * own vectors. */
static void script_setup(struct fsrv *f, uint16_t own, int shm, int64_t ver)
{
	fsrv_add(f, ver, -1);
	fsrv_add(f, own, -1);
	fsrv_add(f, -1, shm);
}

static void script_peer(struct fsrv *f, uint16_t id, struct peerfds *p,
			unsigned n)
{
	for (unsigned v = 0; v < n; v++) {
		p->efd[v] = new_efd();
		fsrv_add(f, id, p->efd[v]);
	}
}

static void doorbell_cfg(const char *name, const char *vectors)
{
	char kv[160], slot[32];

	snprintf(path, sizeof(path), "%s/sock", dir);
	snprintf(kv, sizeof(kv), "server=%s", path);
	snprintf(slot, sizeof(slot), "pci-slot=%d", SLOT);
	cfg = dev_cfg_new(&ivshmem_type, name, "mode=doorbell", kv, slot,
			  vectors, NULL);
}

TestSuite(ivshmem_doorbell, .init = setup_fast, .fini = teardown,
	  .timeout = 30);

Test(ivshmem_doorbell, setup_ioeventfds_irqfds_peers)
{
	struct fsrv f;
	struct peerfds p1, p7, self;
	int shm = new_memfd(SHM_SIZE), err = 0, pci_fd;
	const struct fake_ioeventfd *e;
	const struct fake_mem_map *m;
	char msg[2048];
	uint64_t old;

	doorbell_cfg("db0", "vectors=2");
	fsrv_listen(&f);
	script_setup(&f, 3, shm, 0);
	script_peer(&f, 1, &p1, 3); /* 3 vectors: the third is closed */
	script_peer(&f, 3, &self, 2);
	fsrv_go(&f);
	dev = dev_create(vm, cfg, &err);
	fsrv_wait(&f);
	pump(); /* what the server sent after the setup */
	cr_assert_not_null(dev, "%s", strerror(-err));

	/* identity: BAR1 MSI-X with 2 vectors, BAR2 = the server's memory */
	cr_assert_eq(bar_size(1), IVSHMEM_MSIX_BAR_SIZE);
	cr_assert_eq(cfg_rd(find_cap(PCI_CAP_ID_MSIX) + PCI_MSIX_FLAGS, 2) &
			     PCI_MSIX_FLAGS_QSIZE,
		     1);
	cr_assert_eq(cfg_rd(find_cap(PCI_CAP_ID_MSIX) + PCI_MSIX_TABLE, 4),
		     IVSHMEM_MSIX_TABLE_OFF | IVSHMEM_BAR_MSIX);
	cr_assert_eq(cfg_rd(find_cap(PCI_CAP_ID_MSIX) + PCI_MSIX_PBA, 4),
		     IVSHMEM_MSIX_PBA_OFF | IVSHMEM_BAR_MSIX);
	m = fake_vm_map_at(vm, bar_addr(2));
	cr_assert_not_null(m);
	cr_assert_eq(m->size, SHM_SIZE);
	{
		uint8_t *q = mmap(NULL, SHM_SIZE, PROT_READ | PROT_WRITE,
				  MAP_SHARED, shm, 0);

		strcpy((char *)q + 64, "server memory");
		cr_assert_str_eq((char *)m->hva + 64, "server memory");
		munmap(q, SHM_SIZE);
	}
	cr_assert_eq(reg_rd(IVSHMEM_REG_IV_POSITION), 3);

	/* doorbells to peer 1 and to ourselves: datamatch ioeventfds on the
	 * eventfds the server gave, none for a third vector */
	for (unsigned v = 0; v < 2; v++) {
		e = ioev(IVSHMEM_DOORBELL(1, v));
		cr_assert_not_null(e, "peer 1 vector %u", v);
		cr_assert(same_efd(e->efd, p1.efd[v]));
		e = ioev(IVSHMEM_DOORBELL(3, v));
		cr_assert_not_null(e, "self vector %u", v);
		cr_assert(same_efd(e->efd, self.efd[v]));
	}
	cr_assert_null(ioev(IVSHMEM_DOORBELL(1, 2)));
	cr_assert_eq(vm->nr_ioeventfds, 4);

	/* our vectors: irqfds on the MSI routes once MSI-X is on */
	cr_assert_eq(vm->nr_irqfds, 0);
	msix_enable(2);
	cr_assert_eq(vm->nr_irqfds, 2);
	for (unsigned v = 0; v < 2; v++) {
		const struct fake_msi_route *r;
		int gsi;

		pci_fd = vm->irqfds[v].efd;
		gsi = fake_vm_irqfd_gsi(vm, pci_fd);
		r = fake_vm_msi_route(vm, (unsigned)gsi);
		cr_assert_not_null(r);
		cr_assert_eq(r->msg.data, 0x40 + v);
		cr_assert(same_efd(self.efd[v], pci_fd));
	}

	/* a peer joins later (vector fds one by one), another leaves */
	script_peer(&f, 7, &p7, 2);
	fsrv_add(&f, 1, -1);
	fsrv_send(&f);
	pump();
	cr_assert_null(ioev(IVSHMEM_DOORBELL(1, 0)));
	cr_assert_null(ioev(IVSHMEM_DOORBELL(1, 1)));
	cr_assert(same_efd(ioev(IVSHMEM_DOORBELL(7, 1))->efd, p7.efd[1]));
	cr_assert_eq(vm->nr_ioeventfds, 4);

	/* the guest moves BAR0: the ioeventfds follow */
	old = bar_addr(0);
	cfg_wr(PCI_BAR0, 4, (uint32_t)(old + 0x100000));
	cr_assert_eq(bar_addr(0), old + 0x100000);
	cr_assert_not_null(ioev(IVSHMEM_DOORBELL(7, 0)));
	cr_assert_eq(vm->nr_ioeventfds, 4);
	/* decode off: none */
	cfg_wr(PCI_COMMAND, 2, 0);
	cr_assert_eq(vm->nr_ioeventfds, 0);
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	cr_assert_eq(vm->nr_ioeventfds, 4);

	/* a doorbell nobody registered exits and is ignored quietly; a
	 * doorbell that did not hit its ioeventfd (fake VM) is written by
	 * the handler */
	reg_wr(IVSHMEM_REG_DOORBELL, IVSHMEM_DOORBELL(9, 0));
	efd_read(p7.efd[1]);
	reg_wr(IVSHMEM_REG_DOORBELL, IVSHMEM_DOORBELL(7, 1));
	cr_assert_eq(efd_read(p7.efd[1]), 1);

	/* the server sends a peer ID out of range: protocol error, logged,
	 * the guest keeps what it has and reconnects later */
	fsrv_add(&f, 70000, -1);
	fsrv_send(&f);
	pump_capture(msg, sizeof(msg));
	cr_assert(strstr(msg, "db0: ivshmem server \"") &&
			  strstr(msg, "protocol error"),
		  "%s", msg);
	cr_assert_eq(reg_rd(IVSHMEM_REG_IV_POSITION), 3);
	cr_assert_eq(vm->nr_ioeventfds, 4);

	fsrv_close(&f);
	close(shm);
}

Test(ivshmem_doorbell, reconnect_after_server_restart)
{
	struct fsrv f;
	struct peerfds p1, self, p2, self2;
	int shm = new_memfd(SHM_SIZE), shm2, err = 0;
	const struct fake_mem_map *m;
	char msg[2048];
	void *hva;

	doorbell_cfg("db0", "vectors=1");
	fsrv_listen(&f);
	script_setup(&f, 0, shm, 0);
	script_peer(&f, 1, &p1, 1);
	script_peer(&f, 0, &self, 1);
	fsrv_go(&f);
	dev = dev_create(vm, cfg, &err);
	fsrv_wait(&f);
	pump(); /* what the server sent after the setup */
	cr_assert_not_null(dev, "%s", strerror(-err));
	msix_enable(1);
	m = fake_vm_map_at(vm, bar_addr(2));
	hva = m->hva;
	strcpy((char *)hva, "old");

	/* the server dies: reported once, the guest keeps everything */
	fsrv_close(&f);
	pump_capture(msg, sizeof(msg));
	cr_assert(strstr(msg, "db0: ivshmem server \"") &&
			  strstr(msg, "closed the connection; the guest keeps "
				      "running"),
		  "%s", msg);
	cr_assert_eq(reg_rd(IVSHMEM_REG_IV_POSITION), 0);
	cr_assert_not_null(ioev(IVSHMEM_DOORBELL(1, 0)));
	cr_assert_eq(vm->nr_irqfds, 1);

	/* retries while it is away are quiet after the first report */
	cr_assert(wait_watch(2000));
	pump_capture(msg, sizeof(msg));
	cr_assert(strstr(msg, "connect: No such file") ||
			  strstr(msg, "connect: Connection refused"),
		  "%s", msg);
	cr_assert(wait_watch(2000));
	pump_capture(msg, sizeof(msg));
	cr_assert_str_eq(msg, "");

	/* it comes back with other memory of the same size: new ID, new
	 * peers, the memory replaced under the guest at the same address */
	shm2 = new_memfd(SHM_SIZE);
	fsrv_listen(&f);
	cr_assert(wait_watch(3000)); /* the retry timer */
	pump();			     /* connects */
	f.conn = accept4(f.lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(f.conn, 0);
	script_setup(&f, 5, shm2, 0);
	script_peer(&f, 2, &p2, 1);
	script_peer(&f, 5, &self2, 1);
	fsrv_send(&f);
	pump_capture(msg, sizeof(msg));
	cr_assert(strstr(msg, "db0: reconnected to ivshmem server \"") &&
			  strstr(msg, "peer ID 5"),
		  "%s", msg);
	cr_assert(strstr(msg, "new shared memory"), "%s", msg);
	cr_assert_eq(reg_rd(IVSHMEM_REG_IV_POSITION), 5);
	cr_assert_null(ioev(IVSHMEM_DOORBELL(1, 0)));
	cr_assert_null(ioev(IVSHMEM_DOORBELL(0, 0)));
	cr_assert(same_efd(ioev(IVSHMEM_DOORBELL(2, 0))->efd, p2.efd[0]));
	cr_assert(same_efd(ioev(IVSHMEM_DOORBELL(5, 0))->efd, self2.efd[0]));
	cr_assert_eq(vm->nr_irqfds, 1);
	cr_assert(same_efd(self2.efd[0], vm->irqfds[0].efd));
	cr_assert_eq(fake_vm_map_at(vm, bar_addr(2))->hva, hva);
	cr_assert_str_eq((char *)hva, ""); /* the new memory */
	{
		char *q = mmap(NULL, SHM_SIZE, PROT_READ | PROT_WRITE,
			       MAP_SHARED, shm2, 0);

		strcpy(q, "new");
		cr_assert_str_eq((char *)hva, "new");
		munmap(q, SHM_SIZE);
	}

	/* again, with memory of another size: refused, stays disconnected */
	fsrv_close(&f);
	pump();
	fsrv_listen(&f);
	cr_assert(wait_watch(3000));
	pump();
	f.conn = accept4(f.lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(f.conn, 0);
	close(shm);
	shm = new_memfd(2 * SHM_SIZE);
	script_setup(&f, 6, shm, 0);
	fsrv_send(&f);
	pump_capture(msg, sizeof(msg));
	cr_assert(strstr(msg, "the server's shared memory is now 131072 "
			      "bytes, the guest has 65536 mapped"),
		  "%s", msg);
	cr_assert_eq(fake_vm_map_at(vm, bar_addr(2))->hva, hva);

	fsrv_close(&f);
	close(shm);
	close(shm2);
}

Test(ivshmem_doorbell, same_memory_after_restart_is_kept)
{
	struct fsrv f;
	struct peerfds self;
	int shm = new_memfd(SHM_SIZE), dupfd, err = 0;
	char msg[2048];
	void *hva;

	doorbell_cfg("db0", "vectors=1");
	fsrv_listen(&f);
	script_setup(&f, 0, shm, 0);
	script_peer(&f, 0, &self, 1);
	fsrv_go(&f);
	dev = dev_create(vm, cfg, &err);
	fsrv_wait(&f);
	pump(); /* what the server sent after the setup */
	cr_assert_not_null(dev);
	hva = fake_vm_map_at(vm, bar_addr(2))->hva;
	strcpy((char *)hva, "kept");

	fsrv_close(&f);
	pump();
	fsrv_listen(&f);
	cr_assert(wait_watch(3000));
	pump();
	f.conn = accept4(f.lfd, NULL, NULL, SOCK_CLOEXEC);
	dupfd = dup(shm); /* the same object through another fd */
	script_setup(&f, 0, dupfd, 0);
	fsrv_send(&f);
	pump_capture(msg, sizeof(msg));
	cr_assert_not(strstr(msg, "new shared memory"), "%s", msg);
	cr_assert_str_eq((char *)hva, "kept");
	fsrv_close(&f);
	close(dupfd);
	close(shm);
}

Test(ivshmem_doorbell, errors)
{
	struct fsrv f;
	int shm = new_memfd(SHM_SIZE), err = 0;
	char msg[2048];

	/* no server */
	doorbell_cfg("db1", NULL);
	dev = create_capture(msg, sizeof(msg), &err);
	cr_assert_null(dev);
	cr_assert(strstr(msg, "db1: ivshmem server \"") &&
			  strstr(msg, "No such file or directory (is "
				      "ivshmem-server running?)"),
		  "%s", msg);

	/* another protocol version */
	fsrv_listen(&f);
	script_setup(&f, 0, shm, 2);
	fsrv_go(&f);
	dev = create_capture(msg, sizeof(msg), &err);
	fsrv_wait(&f);
	cr_assert_null(dev);
	cr_assert(strstr(msg, "db1: ivshmem server \"") &&
			  strstr(msg, "speaks ivshmem protocol version 2, "
				      "this VMM speaks 0"),
		  "%s", msg);
	fsrv_close(&f);

	/* size = in the config and the server's memory differ */
	dev_cfg_free(cfg);
	snprintf(path, sizeof(path), "%s/sock", dir);
	{
		char kv[160];

		snprintf(kv, sizeof(kv), "server=%s", path);
		cfg = dev_cfg_new(&ivshmem_type, "db1", "mode=doorbell", kv,
				  "size=1M", NULL);
	}
	fsrv_listen(&f);
	script_setup(&f, 0, shm, 0);
	fsrv_go(&f);
	dev = create_capture(msg, sizeof(msg), &err);
	fsrv_wait(&f);
	cr_assert_null(dev);
	cr_assert(strstr(msg, "db1: ivshmem server \"") &&
			  strstr(msg, "the shared memory has 65536 bytes, "
				      "size = 1048576"),
		  "%s", msg);
	fsrv_close(&f);

	/* the server hangs up during the setup */
	fsrv_listen(&f);
	fsrv_add(&f, 0, -1);
	f.hangup = true;
	fsrv_go(&f);
	dev = create_capture(msg, sizeof(msg), &err);
	fsrv_wait(&f);
	cr_assert_null(dev);
	cr_assert(strstr(msg, "db1: ivshmem server \"") &&
			  strstr(msg, "closed the connection (waiting for the "
				      "peer ID)"),
		  "%s", msg);
	fsrv_close(&f);

	/* memory without an fd */
	fsrv_listen(&f);
	fsrv_add(&f, 0, -1);
	fsrv_add(&f, 0, -1);
	fsrv_add(&f, -1, -1);
	fsrv_go(&f);
	dev = create_capture(msg, sizeof(msg), &err);
	fsrv_wait(&f);
	cr_assert_null(dev);
	cr_assert(strstr(msg, "protocol error (waiting for the shared "
			      "memory: message -1)"),
		  "%s", msg);
	fsrv_close(&f);
	close(shm);
}

Test(ivshmem_doorbell, not_a_server, .timeout = 30)
{
	struct fsrv f;
	char msg[2048];
	int err = 0;

	/* a socket that accepts and says nothing: the setup times out */
	doorbell_cfg("db2", NULL);
	fsrv_listen(&f);
	fsrv_go(&f);
	dev = create_capture(msg, sizeof(msg), &err);
	fsrv_wait(&f);
	cr_assert_null(dev);
	cr_assert(strstr(msg, "db2: ivshmem server \"") &&
			  strstr(msg, "no answer in 5000 ms (waiting for the "
				      "protocol version): is it an ivshmem "
				      "server?"),
		  "%s", msg);
	fsrv_close(&f);
}

/* ---- without ioeventfd/irqfd: the userspace paths ---- */

TestSuite(ivshmem_slow, .init = setup_slow, .fini = teardown, .timeout = 30);

Test(ivshmem_slow, doorbells_through_the_vmm)
{
	struct fsrv f;
	struct peerfds p1, self;
	int shm = new_memfd(SHM_SIZE), err = 0;

	doorbell_cfg("db0", "vectors=2");
	fsrv_listen(&f);
	script_setup(&f, 2, shm, 0);
	script_peer(&f, 1, &p1, 2);
	script_peer(&f, 2, &self, 2);
	fsrv_go(&f);
	dev = dev_create(vm, cfg, &err);
	fsrv_wait(&f);
	pump(); /* what the server sent after the setup */
	cr_assert_not_null(dev, "%s", strerror(-err));
	cr_assert_eq(vm->nr_ioeventfds, 0);
	cr_assert_eq(vm->nr_irqfds, 0);

	/* outgoing: the BAR0 handler writes the peer's eventfd */
	reg_wr(IVSHMEM_REG_DOORBELL, IVSHMEM_DOORBELL(1, 1));
	cr_assert_eq(efd_read(p1.efd[1]), 1);
	cr_assert_eq(efd_read(p1.efd[0]), 0);
	reg_wr(IVSHMEM_REG_DOORBELL, IVSHMEM_DOORBELL(1, 2)); /* no vector */
	reg_wr(IVSHMEM_REG_DOORBELL, IVSHMEM_DOORBELL(4, 0)); /* no peer */

	/* incoming: the main loop reads our eventfd and signals the MSI */
	msix_enable(2);
	efd_write(self.efd[1]);
	pump();
	cr_assert_eq(vm->nr_signaled, 1);
	cr_assert_eq(vm->signaled[0].data, 0x41);
	/* ringing ourselves goes the same way */
	reg_wr(IVSHMEM_REG_DOORBELL, IVSHMEM_DOORBELL(2, 0));
	pump();
	cr_assert_eq(vm->nr_signaled, 2);
	cr_assert_eq(vm->signaled[1].data, 0x40);

	fsrv_close(&f);
	close(shm);
}
