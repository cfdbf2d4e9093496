/* SPDX-License-Identifier: MIT */
/*
 * ivshmem: the inter-VM shared memory PCI device of QEMU's
 * docs/specs/ivshmem-spec.txt (revision 1), so unmodified guest drivers and
 * QEMU's ivshmem-doorbell peers work with it. Guest view: devices/abi/
 * ivshmem.h; user documentation: docs/ivshmem.md.
 *
 * Two modes:
 *   plain     BAR0 (registers) + BAR2 (a shared file: POSIX shm or
 *             hugetlbfs), no interrupts, IVPosition 0
 *   doorbell  + BAR1 (MSI-X): memory, peer ID and eventfds come from an
 *             ivshmem server over a UNIX socket (devices/ivshmem_proto.h)
 *
 * Fast paths (no userspace exit in steady state):
 *   outgoing  a guest write of peer << 16 | vector to Doorbell is a KVM
 *             ioeventfd with that datamatch on the peer's eventfd for the
 *             vector; one registration per known (peer, vector), made and
 *             dropped as peers come and go and as BAR0 moves (bar_map()).
 *             What no ioeventfd catches (none available, KVM out of
 *             slots, an unknown peer) exits to ivs_bar0(), which writes
 *             the eventfd itself or ignores the write (spec).
 *   incoming  our own vector v's eventfd from the server is vector v's
 *             MSI-X irqfd (pci_msix_set_irqfd()); without irqfd the main
 *             loop watches it and calls pci_msix_notify().
 *
 * Server connection (main thread: event loop callbacks only). Setup at
 * create() is synchronous (version, ID, shared memory, within
 * IVS_SETUP_MS), so BAR2 is valid from the first guest instruction as in
 * revision 1 of the spec; peers and our own eventfds are then read from the
 * event loop. When the server goes away the guest keeps running: peers
 * keep ringing each other over the eventfds they have, our ID stays in
 * IVPosition, and we reconnect with backoff (IVS_RETRY_MIN_MS doubling to
 * IVS_RETRY_MAX_MS). On reconnect the new server's answer replaces the old
 * state: the new ID (IVPosition changes), the peers it announces (the old
 * ones are dropped), and the shared memory:
 *   - the same object (same device and inode: a server restarted on the
 *     same shm name, which ours keeps) -> nothing changes
 *   - another object of the same size -> it replaces the old one under the
 *     guest (mmap MAP_FIXED at the same host address: the KVM slot stays,
 *     the guest sees the new contents), logged
 *   - another size -> refused: logged, disconnected, retried later
 *
 * Locking: ivs->lock protects the peer table, the ioeventfd registrations
 * and the doorbell address; taken by vCPU threads (BAR0 accesses, bar_map()
 * under the PCI config lock) and the main thread. Never held while calling
 * pci_dev_reset()/pci_dev_free() (they call bar_map()).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "devices/abi/ivshmem.h"
#include "devices/devices.h"
#include "devices/ivshmem_proto.h"
#include "devices/pci.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#define IVS_SETUP_MS	 5000 /* server: version, ID and memory in time */
#define IVS_RETRY_MIN_MS 100
#define IVS_RETRY_MAX_MS 5000
#define IVS_MAX_PEERS	 1024 /* peers tracked per device (self included) */
#define IVS_MSG_BUDGET	 4096 /* server messages per event loop callback */
#define IVS_MAX_ALIGN	 (1ULL * GiB) /* host mapping alignment cap */

enum { IVS_PLAIN, IVS_DOORBELL };
static const char *const ivs_modes[] = { "plain", "doorbell", NULL };

static const struct dev_param ivs_params[] = {
	PCI_DEV_PARAM_SLOT,
	{ .key = "mode",
	  .kind = PARAM_ENUM,
	  .required = true,
	  .choices = ivs_modes,
	  .help = "plain: shared memory from `path`, no interrupts; "
		  "doorbell: memory and interrupts from an ivshmem server" },
	{ .key = "path",
	  .kind = PARAM_PATH,
	  .help = "plain: the shared memory file (/dev/shm/NAME or a file on "
		  "hugetlbfs)" },
	{ .key = "create",
	  .kind = PARAM_BOOL,
	  .def = "no",
	  .help = "plain: create `path` (size bytes) if it does not exist" },
	{ .key = "size",
	  .kind = PARAM_SIZE,
	  .min = IVSHMEM_MIN_SHM_SIZE,
	  .help = "shared memory size, a power of two (plain: default the "
		  "file's size; doorbell: checked against the server's)" },
	{ .key = "server",
	  .kind = PARAM_PATH,
	  .help = "doorbell: the ivshmem server's UNIX socket" },
	{ .key = "vectors",
	  .kind = PARAM_U64,
	  .def = "1",
	  .min = 1,
	  .max = IVSHMEM_MAX_VECTORS,
	  .help = "doorbell: MSI-X vectors (interrupts a peer can raise)" },
	{ .key = NULL },
};

struct ivs;

struct ivs_peer {
	bool used;
	bool self; /* our own vectors: fd[v] is vector v's interrupt */
	uint16_t id;
	unsigned count; /* vectors the server announced (fds beyond nvec are
			 * closed) */
	int *fd;	/* nvec eventfds, -1: not connected */
	bool *ioev;	/* ioeventfd registered for (id, vector) */
};

struct ivs_vec {
	struct ivs *s;
	unsigned v;
	bool watched; /* fallback without irqfd: main loop reads it */
	bool irqfd;   /* handed to the PCI layer as the vector's irqfd */
};

struct ivs {
	struct vm *vm;
	const char *name;
	struct pci_dev *pd;
	int mode;
	unsigned nvec;

	/* Shared memory: BAR2 */
	int shm_fd;
	void *shm;
	uint64_t size;
	void *resv; /* the aligned reservation shm lies in */
	size_t resv_len;

	/* BAR0 registers (atomic: vCPU threads) */
	_Atomic uint32_t intr_mask, intr_status, iv_position;

	pthread_mutex_t lock;
	uint64_t db_addr; /* Doorbell's guest address while BAR0 decodes */
	struct ivs_peer *peers;
	unsigned nr_peers; /* slots in use up to this index */
	bool ioev_failed;  /* logged once */
	struct ivs_vec *vec;

	/* Server connection (main thread) */
	const char *server;
	int sock;
	int timer_fd;
	struct ivshmem_rx rx;
	struct ivshmem_client cl;
	bool setup_done; /* own ID and memory received on this connection */
	bool ever_set_up;
	unsigned retry_ms;
	int last_err; /* last connection problem logged, 0: none */
	struct log_ratelimit rl;
};

/* ---- config ---- */

static int ivs_check(const struct cfg_device *cfg, struct cfg_error *err)
{
	static const char *const plain_only[] = { "path", "create" };
	static const char *const doorbell_only[] = { "server", "vectors" };
	bool doorbell = cfg_dev_num(cfg, "mode") == IVS_DOORBELL;
	uint64_t size = cfg_dev_num(cfg, "size");
	const char *path;
	struct stat st;

	for (unsigned i = 0; i < ARRAY_SIZE(plain_only); i++) {
		if (doorbell && cfg_dev_isset(cfg, plain_only[i])) {
			cfg_dev_error(err, cfg, plain_only[i],
				      "only used with mode = plain (in "
				      "doorbell mode the server gives the "
				      "memory)");
			return -EINVAL;
		}
	}
	for (unsigned i = 0; i < ARRAY_SIZE(doorbell_only); i++) {
		if (!doorbell && cfg_dev_isset(cfg, doorbell_only[i])) {
			cfg_dev_error(err, cfg, doorbell_only[i],
				      "only used with mode = doorbell");
			return -EINVAL;
		}
	}
	if (cfg_dev_isset(cfg, "size") && !IS_POW2(size)) {
		cfg_dev_error(err, cfg, "size",
			      "%llu is not a power of two (it is a PCI BAR)",
			      (unsigned long long)size);
		return -EINVAL;
	}
	if (doorbell) {
		if (!cfg_dev_isset(cfg, "server")) {
			cfg_dev_error(err, cfg, "server",
				      "mode = doorbell needs the ivshmem "
				      "server's socket");
			return -EINVAL;
		}
		return 0;
	}
	if (!cfg_dev_isset(cfg, "path")) {
		cfg_dev_error(err, cfg, "path",
			      "mode = plain needs the shared memory file");
		return -EINVAL;
	}
	if (cfg_dev_num(cfg, "create") && !cfg_dev_isset(cfg, "size")) {
		cfg_dev_error(err, cfg, "create",
			      "create = yes needs a size for the new file");
		return -EINVAL;
	}
	/* The file as it is now, so a wrong path or size is a config error
	 * (exit status 2); create() checks again. */
	path = cfg_dev_str(cfg, "path");
	if (stat(path, &st)) {
		if (errno == ENOENT && cfg_dev_num(cfg, "create"))
			return 0;
		cfg_dev_error(err, cfg, "path", "\"%s\": %s%s", path,
			      strerror(errno),
			      errno == ENOENT ? " (set create = yes to create "
						"it)"
					      : "");
		return -EINVAL;
	}
	if (!S_ISREG(st.st_mode)) {
		cfg_dev_error(err, cfg, "path",
			      "\"%s\" is not a regular file (POSIX shm or "
			      "hugetlbfs file)",
			      path);
		return -EINVAL;
	}
	if (cfg_dev_isset(cfg, "size") && st.st_size &&
	    (uint64_t)st.st_size != size) {
		cfg_dev_error(err, cfg, "size",
			      "%llu bytes, but \"%s\" has %llu bytes",
			      (unsigned long long)size, path,
			      (unsigned long long)st.st_size);
		return -EINVAL;
	}
	if (!cfg_dev_isset(cfg, "size") &&
	    ((uint64_t)st.st_size < IVSHMEM_MIN_SHM_SIZE ||
	     !IS_POW2((uint64_t)st.st_size))) {
		cfg_dev_error(err, cfg, "path",
			      "\"%s\" has %llu bytes: the size must be a "
			      "power of two, at least %llu (or set size)",
			      path, (unsigned long long)st.st_size,
			      IVSHMEM_MIN_SHM_SIZE);
		return -EINVAL;
	}
	return 0;
}

/* ---- shared memory ---- */

/*
 * Map fd (size bytes) shared, aligned to min(size, 1 GiB) so hugetlbfs
 * pages and the guest's huge page mappings line up; reserves the aligned
 * range first. 0 or -errno.
 */
static int ivs_map(struct ivs *s, int fd, uint64_t size)
{
	uint64_t align = MIN(size, IVS_MAX_ALIGN);
	size_t len;
	uint8_t *resv, *at;
	void *p;

	if (size > SIZE_MAX - align)
		return -ENOMEM;
	len = (size_t)(size + align);
	resv = mmap(NULL, len, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (resv == MAP_FAILED)
		return -errno;
	at = (uint8_t *)ALIGN_UP((uintptr_t)resv, (uintptr_t)align);
	p = mmap(at, (size_t)size, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED) {
		int ret = -errno;

		munmap(resv, len);
		return ret;
	}
	s->resv = resv;
	s->resv_len = len;
	s->shm = p;
	s->size = size;
	return 0;
}

static void ivs_unmap(struct ivs *s)
{
	if (s->resv)
		munmap(s->resv, s->resv_len);
	s->resv = s->shm = NULL;
}

/* Plain mode: open (maybe create) the file and check its size. */
static int ivs_open_file(struct ivs *s, const struct cfg_device *cfg)
{
	const char *path = cfg_dev_str(cfg, "path");
	bool has_size = cfg_dev_isset(cfg, "size");
	uint64_t size = cfg_dev_num(cfg, "size");
	int flags = O_RDWR | O_CLOEXEC, fd, ret;
	struct stat st;

	if (cfg_dev_num(cfg, "create"))
		flags |= O_CREAT;
	fd = open(path, flags, 0600);
	if (fd < 0) {
		ret = -errno;
		log_err("%s: path \"%s\": %s%s", s->name, path, strerror(-ret),
			ret == -EACCES	 ? " (the VMM needs read and write "
					   "access)"
			: ret == -ENOENT ? " (set create = yes to create it)"
					 : "");
		return ret;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		log_err("%s: path \"%s\": %s", s->name, path, strerror(-ret));
		goto fail;
	}
	ret = -EINVAL;
	if (!S_ISREG(st.st_mode)) {
		log_err("%s: path \"%s\" is not a regular file", s->name, path);
		goto fail;
	}
	if (has_size && st.st_size == 0) {
		/* New (or freshly made by shm_open()): give it the size. */
		if (ftruncate(fd, (off_t)size)) {
			ret = -errno;
			log_err("%s: path \"%s\": cannot make it %llu bytes: "
				"%s%s",
				s->name, path, (unsigned long long)size,
				strerror(-ret),
				ret == -EINVAL ? " (hugetlbfs: a multiple of "
						 "the huge page size)"
					       : "");
			goto fail;
		}
	} else if (has_size && (uint64_t)st.st_size != size) {
		log_err("%s: size = %llu, but path \"%s\" has %llu bytes",
			s->name, (unsigned long long)size, path,
			(unsigned long long)st.st_size);
		goto fail;
	} else if (!has_size) {
		size = (uint64_t)st.st_size;
		if (size < IVSHMEM_MIN_SHM_SIZE || !IS_POW2(size)) {
			log_err("%s: path \"%s\" has %llu bytes: the size must "
				"be a power of two, at least %llu",
				s->name, path, (unsigned long long)size,
				IVSHMEM_MIN_SHM_SIZE);
			goto fail;
		}
	}
	ret = ivs_map(s, fd, size);
	if (ret) {
		log_err("%s: path \"%s\": cannot map %llu bytes: %s", s->name,
			path, (unsigned long long)size, strerror(-ret));
		goto fail;
	}
	s->shm_fd = fd;
	return 0;

fail:
	close(fd);
	return ret;
}

/*
 * The server's memory (fd, consumed). First time: map it. Later (a
 * reconnect): keep, replace or refuse, as the header comment says.
 * 0 or -errno (logged by the caller through ivs_conn_fail()).
 */
static int ivs_take_shm(struct ivs *s, int fd, const struct cfg_device *cfg,
			char *why, size_t why_len)
{
	struct stat st, cur;
	void *p;
	int ret;

	if (fstat(fd, &st)) {
		ret = -errno;
		snprintf(why, why_len, "shared memory fd: %s", strerror(-ret));
		goto out;
	}
	ret = -EINVAL;
	if ((uint64_t)st.st_size < IVSHMEM_MIN_SHM_SIZE ||
	    !IS_POW2((uint64_t)st.st_size)) {
		snprintf(why, why_len,
			 "the shared memory has %llu bytes: not a power of "
			 "two of at least %llu",
			 (unsigned long long)st.st_size, IVSHMEM_MIN_SHM_SIZE);
		goto out;
	}
	if (!s->shm) {
		if (cfg_dev_isset(cfg, "size") &&
		    cfg_dev_num(cfg, "size") != (uint64_t)st.st_size) {
			snprintf(why, why_len,
				 "the shared memory has %llu bytes, size = "
				 "%llu",
				 (unsigned long long)st.st_size,
				 (unsigned long long)cfg_dev_num(cfg, "size"));
			goto out;
		}
		ret = ivs_map(s, fd, (uint64_t)st.st_size);
		if (ret) {
			snprintf(why, why_len, "cannot map %llu bytes: %s",
				 (unsigned long long)st.st_size,
				 strerror(-ret));
			goto out;
		}
		s->shm_fd = fd;
		return 0;
	}
	if (!fstat(s->shm_fd, &cur) && cur.st_dev == st.st_dev &&
	    cur.st_ino == st.st_ino) {
		ret = 0; /* the same memory: nothing changes */
		goto out;
	}
	if ((uint64_t)st.st_size != s->size) {
		snprintf(why, why_len,
			 "the server's shared memory is now %llu bytes, the "
			 "guest has %llu mapped; not joining",
			 (unsigned long long)st.st_size,
			 (unsigned long long)s->size);
		goto out;
	}
	p = mmap(s->shm, (size_t)s->size, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		snprintf(why, why_len, "cannot map the new shared memory: %s",
			 strerror(-ret));
		goto out;
	}
	log_warn("%s: the server has new shared memory (%llu bytes): it "
		 "replaces the old one, the guest sees its contents now",
		 s->name, (unsigned long long)s->size);
	close(s->shm_fd);
	s->shm_fd = fd;
	return 0;

out:
	close(fd);
	return ret;
}

/* ---- peers (ivs->lock held) ---- */

static uint32_t ivs_match(uint16_t id, unsigned v)
{
	return IVSHMEM_DOORBELL(id, v);
}

static void ivs_ioev_add(struct ivs *s, struct ivs_peer *p, unsigned v)
{
	int r;

	if (!s->db_addr || p->fd[v] < 0 || p->ioev[v])
		return;
	r = vm_ioeventfd_add(s->vm, VM_BUS_MMIO, s->db_addr, 4, true,
			     ivs_match(p->id, v), p->fd[v]);
	if (!r) {
		p->ioev[v] = true;
	} else if (!s->ioev_failed && r != -ENOTSUP) {
		s->ioev_failed = true;
		log_warn("%s: no ioeventfd for doorbells to peer %u vector %u "
			 "(%s): those exit to the VMM",
			 s->name, p->id, v, strerror(-r));
	}
}

static void ivs_ioev_del(struct ivs *s, struct ivs_peer *p, unsigned v)
{
	if (!p->ioev[v])
		return;
	vm_ioeventfd_del(s->vm, VM_BUS_MMIO, s->db_addr, 4, true,
			 ivs_match(p->id, v), p->fd[v]);
	p->ioev[v] = false;
}

static struct ivs_peer *ivs_peer_find(struct ivs *s, uint16_t id)
{
	for (unsigned i = 0; i < s->nr_peers; i++)
		if (s->peers[i].used && s->peers[i].id == id)
			return &s->peers[i];
	return NULL;
}

static struct ivs_peer *ivs_peer_get(struct ivs *s, uint16_t id)
{
	struct ivs_peer *p = ivs_peer_find(s, id);
	unsigned i;

	if (p)
		return p;
	for (i = 0; i < s->nr_peers && s->peers[i].used; i++)
		;
	if (i >= IVS_MAX_PEERS)
		return NULL;
	p = &s->peers[i];
	if (!p->fd) {
		p->fd = malloc(s->nvec * sizeof(*p->fd));
		p->ioev = malloc(s->nvec * sizeof(*p->ioev));
		if (!p->fd || !p->ioev) {
			free(p->fd);
			free(p->ioev);
			p->fd = NULL;
			p->ioev = NULL;
			return NULL;
		}
	}
	for (unsigned v = 0; v < s->nvec; v++) {
		p->fd[v] = -1;
		p->ioev[v] = false;
	}
	p->used = true;
	p->self = false;
	p->id = id;
	p->count = 0;
	if (i == s->nr_peers)
		s->nr_peers++;
	return p;
}

/* Our own vector v's eventfd (fd) stops being its interrupt source. */
static void ivs_vec_detach(struct ivs *s, unsigned v, int fd)
{
	struct ivs_vec *vc = &s->vec[v];

	if (vc->irqfd && s->pd)
		pci_msix_set_irqfd(s->pd, v, -1);
	if (vc->watched)
		vm_unwatch_fd(s->vm, fd);
	vc->irqfd = false;
	vc->watched = false;
}

static void ivs_peer_drop(struct ivs *s, struct ivs_peer *p)
{
	for (unsigned v = 0; v < s->nvec; v++) {
		ivs_ioev_del(s, p, v);
		if (p->self)
			ivs_vec_detach(s, v, p->fd[v]);
		if (p->fd[v] >= 0)
			close(p->fd[v]);
		p->fd[v] = -1;
	}
	p->used = false;
	p->self = false;
	while (s->nr_peers && !s->peers[s->nr_peers - 1].used)
		s->nr_peers--;
}

static void ivs_peers_clear(struct ivs *s)
{
	for (unsigned i = 0; i < s->nr_peers; i++)
		if (s->peers[i].used)
			ivs_peer_drop(s, &s->peers[i]);
	s->nr_peers = 0;
}

/* ---- incoming interrupts ---- */

/*
 * Eventfds from the server are used non-blocking: a write from a vCPU
 * thread (a doorbell without ioeventfd) must not block on a counter a
 * hostile peer filled up, nor a read on an empty one. O_NONBLOCK is shared
 * with every holder of the file; they only write to it (the server keeps
 * it, other peers ring it; the kernel's ioeventfd/irqfd ignore the flag).
 */
static void ivs_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0 && !(fl & O_NONBLOCK))
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Fallback without irqfd: our vector's eventfd became readable. */
static void ivs_vec_ready(void *opaque)
{
	struct ivs_vec *vc = opaque;
	struct ivs *s = vc->s;
	uint64_t n;
	int fd = -1;

	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->nr_peers; i++)
		if (s->peers[i].used && s->peers[i].self)
			fd = s->peers[i].fd[vc->v];
	if (fd >= 0 && read(fd, &n, sizeof(n)) == sizeof(n))
		pci_msix_notify(s->pd, vc->v);
	pthread_mutex_unlock(&s->lock);
}

/* Our vector v's eventfd arrived (in p->fd[v]): make it the interrupt. */
static void ivs_vec_attach(struct ivs *s, struct ivs_peer *p, unsigned v)
{
	struct ivs_vec *vc = &s->vec[v];
	int r;

	r = pci_msix_set_irqfd(s->pd, v, p->fd[v]);
	if (!r) {
		vc->irqfd = true;
		return;
	}
	if (r != -ENOTSUP)
		log_warn("%s: vector %u: irqfd: %s; delivering from the VMM",
			 s->name, v, strerror(-r));
	r = vm_watch_fd(s->vm, p->fd[v], ivs_vec_ready, vc);
	if (r)
		log_warn("%s: vector %u: cannot watch its eventfd (%s): it "
			 "never interrupts",
			 s->name, v, strerror(-r));
	else
		vc->watched = true;
}

/* ---- BAR0 ---- */

/* A doorbell the ioeventfds did not catch. */
static void ivs_doorbell(struct ivs *s, uint32_t val)
{
	uint16_t id = (uint16_t)(val >> 16);
	unsigned v = val & 0xffff;
	static const uint64_t one = 1;
	struct ivs_peer *p;
	int fd = -1;

	if (s->mode != IVS_DOORBELL)
		return;
	pthread_mutex_lock(&s->lock);
	p = ivs_peer_find(s, id);
	if (p && v < s->nvec)
		fd = p->fd[v];
	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0)
		log_ratelimited(&s->rl, LOG_WARN,
				"%s: doorbell to peer %u vector %u: %s",
				s->name, id, v, strerror(errno));
	pthread_mutex_unlock(&s->lock);
	if (fd < 0)
		log_ratelimited(&s->rl, LOG_DEBUG,
				"%s: doorbell to peer %u vector %u: not "
				"connected, ignored",
				s->name, id, v);
}

static enum bus_status ivs_bar0(void *opaque, uint64_t off, uint8_t *data,
				unsigned size, bool is_write)
{
	struct ivs *s = opaque;
	uint64_t reg = off & ~3ULL;
	uint32_t val = 0;

	/* Registers are dwords: reads of part of one return those bytes;
	 * writes must be aligned dwords (others are ignored). */
	if (off >= IVSHMEM_REGS_SIZE || (off & 3) + size > 4) {
		if (!is_write)
			memset(data, 0, size);
		return BUS_OK;
	}
	if (is_write) {
		if (size != 4 || off & 3)
			return BUS_OK;
		val = (uint32_t)bus_get(data, 4);
		switch (reg) {
		case IVSHMEM_REG_INTR_MASK:
			atomic_store(&s->intr_mask, val);
			break;
		case IVSHMEM_REG_INTR_STATUS:
			atomic_store(&s->intr_status, val);
			break;
		case IVSHMEM_REG_DOORBELL:
			ivs_doorbell(s, val);
			break;
		default:
			break; /* IVPosition is read-only, the rest reserved */
		}
		return BUS_OK;
	}
	switch (reg) {
	case IVSHMEM_REG_INTR_MASK:
		val = atomic_load(&s->intr_mask);
		break;
	case IVSHMEM_REG_INTR_STATUS:
		val = atomic_exchange(&s->intr_status, 0);
		break;
	case IVSHMEM_REG_IV_POSITION:
		val = atomic_load(&s->iv_position);
		break;
	default:
		break; /* Doorbell is write-only, the rest reserved: 0 */
	}
	bus_put(data, size, val >> (8 * (off & 3)));
	return BUS_OK;
}

/* MSI-X lives in BAR1 (the PCI layer handles it); the rest reads 0. */
static enum bus_status ivs_bar1(void *opaque, uint64_t off, uint8_t *data,
				unsigned size, bool is_write)
{
	if (!is_write)
		memset(data, 0, size);
	return BUS_OK;
}

/* BAR0 moved or decode toggled: the doorbell ioeventfds follow. */
static void ivs_bar_map(void *opaque, unsigned bar, uint64_t addr, bool mapped)
{
	struct ivs *s = opaque;

	if (bar != IVSHMEM_BAR_REGS || s->mode != IVS_DOORBELL)
		return;
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->nr_peers; i++)
		for (unsigned v = 0; s->peers[i].used && v < s->nvec; v++)
			ivs_ioev_del(s, &s->peers[i], v);
	s->db_addr = mapped && addr ? addr + IVSHMEM_REG_DOORBELL : 0;
	for (unsigned i = 0; i < s->nr_peers; i++)
		for (unsigned v = 0; s->peers[i].used && v < s->nvec; v++)
			ivs_ioev_add(s, &s->peers[i], v);
	pthread_mutex_unlock(&s->lock);
}

/* ---- server connection (main thread) ---- */

static void ivs_timer_arm(struct ivs *s, unsigned ms)
{
	struct itimerspec its = {
		.it_value.tv_sec = ms / 1000,
		.it_value.tv_nsec = (long)(ms % 1000) * 1000000L,
	};

	if (s->timer_fd >= 0)
		timerfd_settime(s->timer_fd, 0, &its, NULL);
}

static void ivs_conn_close(struct ivs *s)
{
	if (s->sock < 0)
		return;
	vm_unwatch_fd(s->vm, s->sock);
	close(s->sock);
	s->sock = -1;
	ivshmem_rx_reset(&s->rx);
}

/* Connection lost or refused: say so once per kind of problem, retry. */
static void ivs_conn_fail(struct ivs *s, int err, const char *why)
{
	bool was_up = s->setup_done;

	ivs_conn_close(s);
	s->setup_done = false;
	if (was_up) {
		log_warn("%s: ivshmem server \"%s\" %s; the guest keeps "
			 "running (connected peers can still ring each "
			 "other), reconnecting",
			 s->name, s->server, why);
		s->retry_ms = IVS_RETRY_MIN_MS;
	} else if (err != s->last_err) {
		log_warn("%s: ivshmem server \"%s\": %s; retrying", s->name,
			 s->server, why);
	}
	s->last_err = err;
	ivs_timer_arm(s, s->retry_ms);
	s->retry_ms = MIN(s->retry_ms * 2, IVS_RETRY_MAX_MS);
}

/*
 * One message from the server (fd consumed). Returns 0, or -errno with
 * `why` filled: the connection is to be dropped.
 */
static int ivs_handle(struct ivs *s, const struct cfg_device *cfg,
		      int64_t value, int fd, char *why, size_t why_len)
{
	struct ivshmem_msg m;
	struct ivs_peer *p;
	unsigned v;
	int r;

	r = ivshmem_client_feed(&s->cl, value, fd, &m);
	if (r == -EPROTONOSUPPORT) {
		snprintf(why, why_len,
			 "speaks ivshmem protocol version %lld, this VMM "
			 "speaks %d",
			 (long long)s->cl.version, IVSHMEM_PROTO_VERSION);
		return r;
	}
	if (r) {
		snprintf(why, why_len, "protocol error (%s: message %lld%s)",
			 ivshmem_client_state_name(s->cl.state),
			 (long long)value, fd >= 0 ? " with an fd" : "");
		return r;
	}
	switch (m.kind) {
	case IVSHMEM_MSG_VERSION:
		return 0;
	case IVSHMEM_MSG_OWN_ID:
		/* A new connection: what the old server told us is void. */
		pthread_mutex_lock(&s->lock);
		ivs_peers_clear(s);
		pthread_mutex_unlock(&s->lock);
		return 0;
	case IVSHMEM_MSG_SHM:
		r = ivs_take_shm(s, m.fd, cfg, why, why_len);
		if (r)
			return r;
		atomic_store(&s->iv_position, s->cl.own_id);
		s->setup_done = true;
		if (s->ever_set_up)
			log_warn("%s: reconnected to ivshmem server \"%s\": "
				 "peer ID %u (IVPosition)",
				 s->name, s->server, s->cl.own_id);
		else
			log_info("%s: ivshmem server \"%s\": peer ID %u, "
				 "%llu bytes of shared memory",
				 s->name, s->server, s->cl.own_id,
				 (unsigned long long)s->size);
		s->ever_set_up = true;
		s->last_err = 0;
		s->retry_ms = IVS_RETRY_MIN_MS;
		ivs_timer_arm(s, 0); /* the setup timeout */
		return 0;
	case IVSHMEM_MSG_PEER_FD:
	case IVSHMEM_MSG_OWN_FD:
		pthread_mutex_lock(&s->lock);
		p = ivs_peer_get(s, m.id);
		if (!p) {
			pthread_mutex_unlock(&s->lock);
			close(m.fd);
			log_ratelimited(&s->rl, LOG_WARN,
					"%s: more than %u peers: ignoring "
					"peer %u",
					s->name, IVS_MAX_PEERS, m.id);
			return 0;
		}
		v = p->count;
		if (p->count < UINT_MAX)
			p->count++;
		if (v >= s->nvec || p->fd[v] >= 0) {
			close(m.fd); /* more vectors than we use */
		} else {
			p->fd[v] = m.fd;
			ivs_nonblock(m.fd);
			ivs_ioev_add(s, p, v);
			if (m.kind == IVSHMEM_MSG_OWN_FD) {
				p->self = true;
				ivs_vec_attach(s, p, v);
			}
		}
		if (m.kind == IVSHMEM_MSG_PEER_FD && v == 0)
			log_info("%s: peer %u joined", s->name, m.id);
		pthread_mutex_unlock(&s->lock);
		return 0;
	case IVSHMEM_MSG_PEER_GONE:
		pthread_mutex_lock(&s->lock);
		p = ivs_peer_find(s, m.id);
		if (p)
			ivs_peer_drop(s, p);
		pthread_mutex_unlock(&s->lock);
		log_info("%s: peer %u left", s->name, m.id);
		return 0;
	}
	return 0;
}

static void ivs_sock_ready(void *opaque)
{
	struct device *dev = opaque;
	struct ivs *s = dev->priv;
	char why[256];
	int64_t value;
	int fd, r;

	for (unsigned n = 0; n < IVS_MSG_BUDGET; n++) {
		r = ivshmem_recv(s->sock, &s->rx, &value, &fd);
		if (r == -EAGAIN)
			return;
		if (r == 0) {
			ivs_conn_fail(s, -EPIPE, "closed the connection");
			return;
		}
		if (r < 0) {
			snprintf(why, sizeof(why), "%s", strerror(-r));
			ivs_conn_fail(s, r, why);
			return;
		}
		r = ivs_handle(s, dev->cfg, value, fd, why, sizeof(why));
		if (r) {
			ivs_conn_fail(s, r, why);
			return;
		}
	}
	/* More pending: the level-triggered loop calls again. */
}

static void ivs_timer(void *opaque)
{
	struct device *dev = opaque;
	struct ivs *s = dev->priv;
	uint64_t n;
	int r;

	if (read(s->timer_fd, &n, sizeof(n)) != sizeof(n))
		return;
	if (s->sock >= 0) {
		if (!s->setup_done)
			ivs_conn_fail(s, -ETIMEDOUT,
				      "no ivshmem setup in time (is it an "
				      "ivshmem server?)");
		return;
	}
	r = ivshmem_connect(s->server);
	if (r < 0) {
		char why[160];

		snprintf(why, sizeof(why), "connect: %s", strerror(-r));
		ivs_conn_fail(s, r, why);
		return;
	}
	s->sock = r;
	ivshmem_rx_init(&s->rx);
	ivshmem_client_init(&s->cl);
	r = vm_watch_fd(s->vm, s->sock, ivs_sock_ready, dev);
	if (r) {
		ivs_conn_fail(s, r, "cannot watch the socket");
		return;
	}
	ivs_timer_arm(s, IVS_SETUP_MS);
}

/*
 * create(): connect and take version, ID and memory synchronously; the
 * rest (peers, our vectors) follows from the event loop.
 */
static int ivs_connect_first(struct ivs *s, const struct cfg_device *cfg)
{
	char why[256];
	int64_t value;
	int fd, r;

	s->sock = ivshmem_connect(s->server);
	if (s->sock < 0) {
		r = s->sock;
		log_err("%s: ivshmem server \"%s\": %s%s", s->name, s->server,
			strerror(-r),
			r == -ENOENT || r == -ECONNREFUSED
				? " (is ivshmem-server running?)"
				: "");
		return r;
	}
	ivshmem_rx_init(&s->rx);
	ivshmem_client_init(&s->cl);
	while (!s->setup_done) {
		r = ivshmem_recv_timeout(s->sock, &s->rx, &value, &fd,
					 IVS_SETUP_MS);
		if (r == 1) {
			r = ivs_handle(s, cfg, value, fd, why, sizeof(why));
			if (!r)
				continue;
		} else if (r == 0) {
			snprintf(why, sizeof(why), "closed the connection (%s)",
				 ivshmem_client_state_name(s->cl.state));
			r = -ECONNRESET;
		} else if (r == -ETIMEDOUT) {
			snprintf(why, sizeof(why),
				 "no answer in %u ms (%s): is it an ivshmem "
				 "server?",
				 IVS_SETUP_MS,
				 ivshmem_client_state_name(s->cl.state));
		} else {
			snprintf(why, sizeof(why), "%s", strerror(-r));
		}
		log_err("%s: ivshmem server \"%s\": %s", s->name, s->server,
			why);
		return r;
	}
	return 0;
}

/* ---- device ---- */

static void ivs_free(struct ivs *s)
{
	if (s->timer_fd >= 0) {
		vm_unwatch_fd(s->vm, s->timer_fd);
		close(s->timer_fd);
	}
	ivs_conn_close(s);
	/* decode off: bar_map() drops the ioeventfds; irqfds released */
	pci_dev_free(s->pd);
	s->pd = NULL;
	pthread_mutex_lock(&s->lock);
	if (s->peers)
		ivs_peers_clear(s);
	for (unsigned i = 0; s->peers && i < IVS_MAX_PEERS; i++) {
		free(s->peers[i].fd);
		free(s->peers[i].ioev);
	}
	pthread_mutex_unlock(&s->lock);
	free(s->peers);
	free(s->vec);
	ivs_unmap(s);
	if (s->shm_fd >= 0)
		close(s->shm_fd);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static int ivs_create(struct vm *vm, struct device *dev)
{
	const struct cfg_device *cfg = dev->cfg;
	struct pci_dev_info info = {
		.vendor_id = IVSHMEM_VENDOR_ID,
		.device_id = IVSHMEM_DEVICE_ID,
		.subsys_vendor_id = IVSHMEM_SUBSYS_VENDOR_ID,
		.subsys_id = IVSHMEM_SUBSYS_ID,
		.revision = IVSHMEM_REVISION,
		.class_code = IVSHMEM_CLASS,
		.bar_map = ivs_bar_map,
	};
	struct pci_bar_info regs = {
		.kind = PCI_BAR_MEM32,
		.size = IVSHMEM_REGS_SIZE,
		.fn = ivs_bar0,
	};
	struct pci_bar_info msix = {
		.kind = PCI_BAR_MEM32,
		.size = IVSHMEM_MSIX_BAR_SIZE,
		.fn = ivs_bar1,
	};
	struct pci_bar_info mem = {
		.kind = PCI_BAR_MEM64,
		.prefetchable = true,
	};
	struct ivs *s;
	int ret;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->vm = vm;
	s->name = dev->name;
	s->mode = (int)cfg_dev_num(cfg, "mode");
	s->nvec = s->mode == IVS_DOORBELL
			  ? (unsigned)cfg_dev_num(cfg, "vectors")
			  : 0;
	s->shm_fd = s->sock = s->timer_fd = -1;
	s->retry_ms = IVS_RETRY_MIN_MS;
	s->rl = (struct log_ratelimit){ .burst = 10, .interval_ms = 1000 };
	pthread_mutex_init(&s->lock, NULL);
	ivshmem_rx_init(&s->rx);
	dev->priv = s;
	info.opaque = s;
	regs.opaque = s;
	msix.opaque = s;

	if (s->mode == IVS_DOORBELL) {
		s->server = cfg_dev_str(cfg, "server");
		s->peers = calloc(IVS_MAX_PEERS, sizeof(*s->peers));
		s->vec = calloc(s->nvec, sizeof(*s->vec));
		if (!s->peers || !s->vec) {
			ret = -ENOMEM;
			goto fail;
		}
		for (unsigned v = 0; v < s->nvec; v++) {
			s->vec[v].s = s;
			s->vec[v].v = v;
		}
		ret = ivs_connect_first(s, cfg);
	} else {
		ret = ivs_open_file(s, cfg);
	}
	if (ret)
		goto fail;

	mem.size = s->size;
	mem.ram = s->shm;
	ret = pci_dev_new(vm, dev, &info, &s->pd);
	if (ret)
		goto fail;
	ret = pci_bar_add(s->pd, IVSHMEM_BAR_REGS, &regs);
	if (!ret && s->mode == IVS_DOORBELL) {
		ret = pci_bar_add(s->pd, IVSHMEM_BAR_MSIX, &msix);
		if (!ret)
			ret = pci_msix_init(s->pd, s->nvec, IVSHMEM_BAR_MSIX,
					    IVSHMEM_MSIX_TABLE_OFF,
					    IVSHMEM_MSIX_PBA_OFF);
	}
	if (!ret)
		ret = pci_bar_add(s->pd, IVSHMEM_BAR_SHM, &mem);
	if (ret) {
		log_err("%s: cannot set up its PCI function: %s", s->name,
			strerror(-ret));
		goto fail;
	}
	ret = pci_dev_plug(s->pd);
	if (ret)
		goto fail;

	if (s->mode == IVS_DOORBELL) {
		s->timer_fd = timerfd_create(CLOCK_MONOTONIC,
					     TFD_CLOEXEC | TFD_NONBLOCK);
		if (s->timer_fd < 0) {
			ret = -errno;
			log_err("%s: timerfd: %s", s->name, strerror(-ret));
			goto fail;
		}
		ret = vm_watch_fd(vm, s->timer_fd, ivs_timer, dev);
		if (!ret)
			ret = vm_watch_fd(vm, s->sock, ivs_sock_ready, dev);
		if (ret) {
			log_err("%s: cannot watch the server socket: %s",
				s->name, strerror(-ret));
			/* not yet watched: ivs_conn_close() tolerates it */
			goto fail;
		}
		/* Peers and our vectors already sent: take them now, so
		 * the guest starts with them. */
		ivs_sock_ready(dev);
	}
	log_info("%s: ivshmem 00:%02x.0, %s, %llu bytes%s", s->name,
		 (pci_dev_bdf(s->pd) >> 3) & 0x1f, ivs_modes[s->mode],
		 (unsigned long long)s->size,
		 s->mode == IVS_DOORBELL ? ", MSI-X" : "");
	return 0;

fail:
	ivs_free(s);
	dev->priv = NULL;
	return ret;
}

static void ivs_reset(struct device *dev)
{
	struct ivs *s = dev->priv;

	if (!s)
		return;
	pci_dev_reset(s->pd);
	atomic_store(&s->intr_mask, 0);
	atomic_store(&s->intr_status, 0);
}

static void ivs_destroy(struct device *dev)
{
	if (dev->priv)
		ivs_free(dev->priv);
	dev->priv = NULL;
}

const struct device_type ivshmem_type = {
	.name = "ivshmem",
	.help = "inter-VM shared memory (QEMU's ivshmem-plain/-doorbell): "
		"BAR2 shares a file or an ivshmem server's memory, doorbells "
		"interrupt peers",
	.params = ivs_params,
	.check = ivs_check,
	.create = ivs_create,
	.reset = ivs_reset,
	.destroy = ivs_destroy,
};
