/* SPDX-License-Identifier: MIT */
/*
 * Real-time partitioning: CPU lists, host probing, readiness checks and
 * thread placement (contract and call order in vmm/rt.h, user guide in
 * docs/realtime.md).
 *
 * Why the checks are mostly warnings: pinning to a CPU that is not
 * isolated, or without nohz_full, works; it only gives worse latency. What
 * cannot work (a CPU that does not exist, is offline or is outside the
 * process's cpuset; a policy or lock the process may not have; hugepages
 * the host does not have) is an error, found before any VM exists.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "vmm/log.h"
#include "vmm/mem.h"
#include "vmm/rt.h"
#include "vmm/util.h"

/* An ASan build cannot lock all its memory (rt_mlock()). */
#if defined(__SANITIZE_ADDRESS__)
#define RT_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RT_SANITIZED 1
#endif
#endif
#ifndef RT_SANITIZED
#define RT_SANITIZED 0
#endif

/* ---- CPU lists ---- */

static void why_set(char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void why_set(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!why || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

static const char *skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* A decimal CPU number; values past RT_MAX_CPUS saturate (reported by the
 * caller) so a long digit string cannot overflow. */
static const char *parse_cpu(const char *p, unsigned long *out)
{
	unsigned long v = 0;

	if (!isdigit((unsigned char)*p))
		return NULL;
	while (isdigit((unsigned char)*p)) {
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > RT_MAX_CPUS)
			v = RT_MAX_CPUS;
		p++;
	}
	*out = v;
	return p;
}

static int cpulist_parse(const char *s, unsigned *cpus, unsigned max,
			 unsigned *nr, cpu_set_t *set, char *why, size_t wl)
{
	const char *p = skip_blanks(s), *q;
	unsigned long n = 0;

	*nr = 0;
	if (!*p)
		return 0;
	for (;;) {
		unsigned long a, b;

		p = skip_blanks(p);
		q = parse_cpu(p, &a);
		if (!q) {
			if (!*p || *p == ',')
				why_set(why, wl, "empty item");
			else
				why_set(why, wl, "'%.20s' is not a CPU number",
					p);
			return -EINVAL;
		}
		p = skip_blanks(q);
		b = a;
		if (*p == '-') {
			p = skip_blanks(p + 1);
			q = parse_cpu(p, &b);
			if (!q) {
				why_set(why, wl, "range %lu- has no end", a);
				return -EINVAL;
			}
			p = skip_blanks(q);
		}
		if (a >= RT_MAX_CPUS || b >= RT_MAX_CPUS) {
			why_set(why, wl,
				"CPU numbers go up to %u (a host has at most "
				"%u CPUs here)",
				RT_MAX_CPUS - 1, RT_MAX_CPUS);
			return -ERANGE;
		}
		if (b < a) {
			why_set(why, wl, "range %lu-%lu runs backwards", a, b);
			return -EINVAL;
		}
		/* bounded: at most RT_MAX_CPUS per item, items by the text */
		if (n > (unsigned long)UINT32_MAX / 2) {
			why_set(why, wl, "too many CPUs");
			return -E2BIG;
		}
		for (unsigned long c = a; c <= b; c++, n++) {
			if (n < max)
				cpus[n] = (unsigned)c;
			if (set)
				CPU_SET(c, set);
		}
		if (!*p)
			break;
		if (*p != ',') {
			why_set(why, wl,
				"unexpected '%c' (items are separated "
				"by commas)",
				*p);
			return -EINVAL;
		}
		p++;
	}
	*nr = (unsigned)n;
	if (n > max) {
		why_set(why, wl, "%lu CPUs, room for %u", n, max);
		return -E2BIG;
	}
	return 0;
}

int rt_cpulist_parse(const char *s, unsigned *cpus, unsigned max, unsigned *nr,
		     char *why, size_t why_len)
{
	return cpulist_parse(s, cpus, max, nr, NULL, why, why_len);
}

int rt_cpulist_parse_set(const char *s, cpu_set_t *set, char *why,
			 size_t why_len)
{
	cpu_set_t tmp;
	unsigned nr;
	int ret;

	CPU_ZERO(&tmp);
	ret = cpulist_parse(s, NULL, 0, &nr, &tmp, why, why_len);
	if (ret && ret != -E2BIG)
		return ret;
	*set = tmp;
	return 0;
}

const char *rt_cpulist_format(const cpu_set_t *set, char *buf, size_t len)
{
	size_t used = 0;
	bool first = true;

	if (!len)
		return buf;
	buf[0] = '\0';
	for (unsigned c = 0; c < RT_MAX_CPUS; c++) {
		unsigned end = c;
		int w;

		if (!CPU_ISSET(c, set))
			continue;
		while (end + 1 < RT_MAX_CPUS && CPU_ISSET(end + 1, set))
			end++;
		if (end == c)
			w = snprintf(buf + used, len - used, "%s%u",
				     first ? "" : ",", c);
		else
			w = snprintf(buf + used, len - used, "%s%u-%u",
				     first ? "" : ",", c, end);
		if (w < 0 || (size_t)w >= len - used) {
			if (len >= 4)
				strcpy(buf + len - 4, "...");
			return buf;
		}
		used += (size_t)w;
		first = false;
		c = end;
	}
	if (first)
		snprintf(buf, len, "none");
	return buf;
}

/* ---- probing ---- */

/* Read a small text file into buf (NUL-terminated, trailing blanks cut).
 * 0 or -errno. */
static int read_text(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, len - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	close(fd);
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		n--;
	buf[n] = '\0';
	return 0;
}

static int read_u64(const char *path, uint64_t *out)
{
	char buf[64];
	int ret = read_text(path, buf, sizeof(buf));

	if (ret)
		return ret;
	return parse_u64(buf, out);
}

/* A CPU list file; "(null)" is how nohz_full reads when none is set. */
static bool read_cpuset(const char *path, cpu_set_t *set)
{
	char buf[4096];

	CPU_ZERO(set);
	if (read_text(path, buf, sizeof(buf)))
		return false;
	if (!strcmp(buf, "(null)"))
		return true;
	return rt_cpulist_parse_set(buf, set, NULL, 0) == 0;
}

const char *rt_sysfs_root(void)
{
	const char *r = getenv("VMM_SYSFS_ROOT");

	return r && *r ? r : "/sys";
}

static uint64_t rlim_u64(rlim_t v)
{
	return v == RLIM_INFINITY ? UINT64_MAX : (uint64_t)v;
}

/* The cgroup holding our cpuset: the v1 cpuset hierarchy's if mounted,
 * else the v2 one. */
static void probe_cgroup(struct rt_host *h)
{
	char line[512];
	FILE *f = fopen("/proc/self/cgroup", "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':'), *c2, *nl;

		if (!c1 || !(c2 = strchr(c1 + 1, ':')))
			continue;
		nl = strchr(c2, '\n');
		if (nl)
			*nl = '\0';
		*c2 = '\0';
		if (!strcmp(c1 + 1, "") && !h->cgroup_v1) {
			snprintf(h->cgroup, sizeof(h->cgroup), "%s", c2 + 1);
		} else {
			char *save = NULL;

			/* controller list, e.g. "cpu,cpuacct" or "cpuset" */
			for (char *t = strtok_r(c1 + 1, ",", &save); t;
			     t = strtok_r(NULL, ",", &save))
				if (!strcmp(t, "cpuset")) {
					snprintf(h->cgroup, sizeof(h->cgroup),
						 "%s", c2 + 1);
					h->cgroup_v1 = true;
				}
		}
	}
	fclose(f);
}

static void probe_meminfo(struct rt_host *h)
{
	char line[256];
	FILE *f = fopen("/proc/meminfo", "re");
	unsigned long long kb;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Hugepagesize: %llu kB", &kb) == 1)
			h->hugepage_default = kb * KiB;
	fclose(f);
}

void rt_host_probe_process(struct rt_host *h)
{
	struct rlimit rl;
	char line[256];
	uint64_t v;
	FILE *f;

	memset(h, 0, sizeof(*h));
	h->kvm_halt_poll = -1;
	h->halt_poll_ns = -1;
	h->rt_runtime_us = h->rt_period_us = -1;
	h->rtprio_max = h->memlock_max = 0;
	if (sched_getaffinity(0, sizeof(h->allowed), &h->allowed))
		CPU_ZERO(&h->allowed);
	f = fopen("/proc/self/status", "re");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			unsigned long long cap;

			if (sscanf(line, "CapEff: %llx", &cap) == 1) {
				h->cap_eff = cap;
				h->have_caps = true;
			}
		}
		fclose(f);
	}
	if (!getrlimit(RLIMIT_RTPRIO, &rl))
		h->rtprio_max = rlim_u64(rl.rlim_cur);
	if (!getrlimit(RLIMIT_MEMLOCK, &rl))
		h->memlock_max = rlim_u64(rl.rlim_cur);
	if (!read_text("/proc/sys/kernel/sched_rt_runtime_us", line,
		       sizeof(line)))
		h->rt_runtime_us = strtoll(line, NULL, 10);
	if (!read_u64("/proc/sys/kernel/sched_rt_period_us", &v))
		h->rt_period_us = (long long)v;
	probe_cgroup(h);
	probe_meminfo(h);
}

static int cmp_hp(const void *a, const void *b)
{
	const struct rt_hugepages *x = a, *y = b;

	return x->size < y->size ? -1 : x->size > y->size;
}

static void probe_hugepages(struct rt_host *h, const char *root)
{
	char dir[512], path[1024];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/kernel/mm/hugepages", root);
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d)) && h->nr_hp < RT_MAX_HUGEPAGE_SIZES) {
		struct rt_hugepages *hp = &h->hp[h->nr_hp];
		unsigned long long kb;
		char tail;

		if (sscanf(de->d_name, "hugepages-%llukB%c", &kb, &tail) != 1)
			continue;
		memset(hp, 0, sizeof(*hp));
		hp->size = kb * KiB;
		snprintf(path, sizeof(path), "%s/%s/nr_hugepages", dir,
			 de->d_name);
		read_u64(path, &hp->nr);
		snprintf(path, sizeof(path), "%s/%s/free_hugepages", dir,
			 de->d_name);
		read_u64(path, &hp->free);
		snprintf(path, sizeof(path), "%s/%s/resv_hugepages", dir,
			 de->d_name);
		read_u64(path, &hp->resv);
		h->nr_hp++;
	}
	closedir(d);
	qsort(h->hp, h->nr_hp, sizeof(h->hp[0]), cmp_hp);
}

void rt_host_probe_sysfs(struct rt_host *h, const char *root)
{
	char path[1024], buf[64];
	const char *cg;

	snprintf(h->sysfs, sizeof(h->sysfs), "%s", root);
#define CPUFILE(name)                                                       \
	(snprintf(path, sizeof(path), "%s/devices/system/cpu/" name, root), \
	 path)
	h->have_present = read_cpuset(CPUFILE("present"), &h->present);
	h->have_online = read_cpuset(CPUFILE("online"), &h->online);
	h->have_isolated = read_cpuset(CPUFILE("isolated"), &h->isolated);
	h->have_nohz_full = read_cpuset(CPUFILE("nohz_full"), &h->nohz_full);
#undef CPUFILE
	probe_hugepages(h, root);
	snprintf(path, sizeof(path), "%s/module/kvm/parameters/halt_poll_ns",
		 root);
	if (!read_text(path, buf, sizeof(buf)))
		h->halt_poll_ns = strtoll(buf, NULL, 10);

	h->have_cpuset = false;
	if (h->cgroup[0] == '/') {
		cg = strcmp(h->cgroup, "/") ? h->cgroup : "";
		if (h->cgroup_v1)
			snprintf(h->cpuset_file, sizeof(h->cpuset_file),
				 "%s/fs/cgroup/cpuset%s/cpuset.effective_cpus",
				 root, cg);
		else
			snprintf(h->cpuset_file, sizeof(h->cpuset_file),
				 "%s/fs/cgroup%s/cpuset.cpus.effective", root,
				 cg);
		h->have_cpuset = read_cpuset(h->cpuset_file, &h->cpuset);
		/* an empty effective set means "not restricted here" */
		if (h->have_cpuset && !CPU_COUNT(&h->cpuset))
			h->have_cpuset = false;
	}
}

void rt_host_probe(struct rt_host *h)
{
	rt_host_probe_process(h);
	rt_host_probe_sysfs(h, rt_sysfs_root());
}

/* ---- readiness checks ---- */

static void add(struct rt_report *r, enum rt_level lv,
		const struct cfg_loc *loc, const char *section, const char *key,
		const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void add(struct rt_report *r, enum rt_level lv,
		const struct cfg_loc *loc, const char *section, const char *key,
		const char *fmt, ...)
{
	struct cfg_error e;
	char text[448];
	va_list ap;

	if (lv == RT_WARN)
		r->nr_warn++;
	else if (lv == RT_ERROR)
		r->nr_error++;
	if (r->nr == r->cap) {
		unsigned ncap = r->cap ? r->cap * 2 : 16;
		struct rt_item *n = reallocarray(r->items, ncap, sizeof(*n));

		if (!n) {
			if (lv != RT_ERROR)
				r->nr_error++;
			r->nr_lost++;
			return;
		}
		r->items = n;
		r->cap = ncap;
	}
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (lv == RT_OK)
		cfg_error_at(&e, NULL, NULL, NULL, "%s", text);
	else
		cfg_error_at(&e, loc, section, key, "%s", text);
	r->items[r->nr].level = lv;
	snprintf(r->items[r->nr].msg, sizeof(r->items[r->nr].msg), "%s", e.msg);
	r->nr++;
}

bool rt_wanted(const struct vm_config *cfg)
{
	if (cfg->pin || cfg->io_cpus || cfg->sched != SCHED_POLICY_OTHER ||
	    cfg->mlock || cfg->has_halt_poll_ns)
		return true;
	for (unsigned i = 0; i < cfg->nr_mem; i++)
		if (cfg->mem[i].hugepages)
			return true;
	return false;
}

static bool has_cap(const struct rt_host *h, unsigned cap)
{
	return h->have_caps && (h->cap_eff >> cap) & 1;
}

static const char *fmt_limit(uint64_t v, char *buf, size_t len)
{
	if (v == UINT64_MAX)
		snprintf(buf, len, "unlimited");
	else
		fmt_size(v, buf, len);
	return buf;
}

/*
 * Can this process run a thread on host CPU cpu at all (it exists, is
 * online, and the cgroup's cpuset has it)? Errors name the reason; returns
 * false after an error. what: "vCPU 0: " or "".
 */
static bool check_cpu_usable(const struct rt_host *h, struct rt_report *r,
			     const struct cfg_loc *loc, const char *key,
			     unsigned cpu, const char *what)
{
	char list[256];

	if (h->have_present && !CPU_ISSET(cpu, &h->present)) {
		add(r, RT_ERROR, loc, "vm", key,
		    "%shost CPU %u does not exist (this host's CPUs: %s)", what,
		    cpu, rt_cpulist_format(&h->present, list, sizeof(list)));
		return false;
	}
	if (h->have_online && !CPU_ISSET(cpu, &h->online)) {
		add(r, RT_ERROR, loc, "vm", key,
		    "%shost CPU %u is offline (online CPUs: %s)", what, cpu,
		    rt_cpulist_format(&h->online, list, sizeof(list)));
		return false;
	}
	if (h->have_cpuset && !CPU_ISSET(cpu, &h->cpuset)) {
		add(r, RT_ERROR, loc, "vm", key,
		    "%shost CPU %u is not allowed by this process's cgroup "
		    "(%s: %s)",
		    what, cpu, h->cpuset_file,
		    rt_cpulist_format(&h->cpuset, list, sizeof(list)));
		return false;
	}
	/*
	 * The affinity vmm started with is no limit (a thread may widen its
	 * own), and isolcpus= leaves isolated CPUs out of every process's
	 * default affinity: only a CPU that is neither is worth a word.
	 */
	if (CPU_COUNT(&h->allowed) && !CPU_ISSET(cpu, &h->allowed) &&
	    !(h->have_isolated && CPU_ISSET(cpu, &h->isolated)))
		add(r, RT_WARN, loc, "vm", key,
		    "%shost CPU %u is not among the CPUs vmm was started on "
		    "(%s; taskset or CPUAffinity= narrowed them): it is used "
		    "anyway",
		    what, cpu,
		    rt_cpulist_format(&h->allowed, list, sizeof(list)));
	return true;
}

static void check_pin(const struct vm_config *cfg, const struct rt_host *h,
		      struct rt_report *r)
{
	const char *sys = h->sysfs;
	bool warned_iso = false, warned_nohz = false;
	char list[256], what[32];

	for (unsigned i = 0; i < cfg->vcpus; i++) {
		unsigned c = cfg->pin[i];
		bool iso = h->have_isolated && CPU_ISSET(c, &h->isolated);
		bool nohz = h->have_nohz_full && CPU_ISSET(c, &h->nohz_full);

		snprintf(what, sizeof(what), "vCPU %u: ", i);
		if (!check_cpu_usable(h, r, &cfg->pin_loc, "pin", c, what))
			continue;
		add(r, RT_OK, NULL, NULL, NULL,
		    "vCPU %u on host CPU %u: online, allowed%s%s", i, c,
		    iso ? ", isolated" : "", nohz ? ", nohz_full" : "");
		if (!h->have_isolated) {
			if (!warned_iso)
				add(r, RT_WARN, &cfg->pin_loc, "vm", "pin",
				    "cannot tell which CPUs are isolated "
				    "(cannot read "
				    "%s/devices/system/cpu/isolated)",
				    sys);
			warned_iso = true;
		} else if (!iso) {
			add(r, RT_WARN, &cfg->pin_loc, "vm", "pin",
			    "vCPU %u: host CPU %u is not isolated (isolated "
			    "CPUs: %s): other tasks may run on it; boot the "
			    "host with isolcpus=%u or use an isolated cpuset "
			    "partition",
			    i, c,
			    rt_cpulist_format(&h->isolated, list, sizeof(list)),
			    c);
		}
		if (!h->have_nohz_full) {
			if (!warned_nohz)
				add(r, RT_WARN, &cfg->pin_loc, "vm", "pin",
				    "this kernel has no nohz_full (no "
				    "%s/devices/system/cpu/nohz_full): the "
				    "scheduler tick interrupts every vCPU",
				    sys);
			warned_nohz = true;
		} else if (!nohz) {
			add(r, RT_WARN, &cfg->pin_loc, "vm", "pin",
			    "vCPU %u: host CPU %u is not in nohz_full "
			    "(nohz_full CPUs: %s): the scheduler tick still "
			    "interrupts it; boot the host with nohz_full=%u",
			    i, c,
			    rt_cpulist_format(&h->nohz_full, list,
					      sizeof(list)),
			    c);
		}
	}
}

/* Where the non-vCPU threads go (rt_process_setup() does the same). */
static void io_set(const struct vm_config *cfg, const cpu_set_t *allowed,
		   cpu_set_t *io)
{
	CPU_ZERO(io);
	if (cfg->io_cpus) {
		for (unsigned i = 0; i < cfg->nr_io_cpus; i++)
			CPU_SET(cfg->io_cpus[i], io);
		return;
	}
	*io = *allowed;
	if (!cfg->pin)
		return;
	for (unsigned i = 0; i < cfg->vcpus; i++)
		CPU_CLR(cfg->pin[i], io);
	if (!CPU_COUNT(io))
		*io = *allowed;
}

static void check_io(const struct vm_config *cfg, const struct rt_host *h,
		     struct rt_report *r)
{
	char list[256];
	cpu_set_t io;
	bool ok = true;

	if (cfg->io_cpus) {
		for (unsigned i = 0; i < cfg->nr_io_cpus; i++)
			ok &= check_cpu_usable(h, r, &cfg->io_cpus_loc,
					       "io-cpus", cfg->io_cpus[i], "");
		for (unsigned i = 0; cfg->pin && i < cfg->vcpus; i++)
			for (unsigned j = 0; j < cfg->nr_io_cpus; j++)
				if (cfg->io_cpus[j] == cfg->pin[i])
					add(r, RT_WARN, &cfg->io_cpus_loc, "vm",
					    "io-cpus",
					    "host CPU %u also runs vCPU %u "
					    "([vm] pin): the VMM's I/O "
					    "threads will compete with it",
					    cfg->pin[i], i);
		if (ok) {
			io_set(cfg, &h->allowed, &io);
			add(r, RT_OK, NULL, NULL, NULL,
			    "I/O threads (event loop, device I/O, vhost and "
			    "KVM workers) on host CPUs %s",
			    rt_cpulist_format(&io, list, sizeof(list)));
		}
		return;
	}
	if (!cfg->pin)
		return;
	io = h->allowed;
	for (unsigned i = 0; i < cfg->vcpus; i++)
		CPU_CLR(cfg->pin[i], &io);
	if (!CPU_COUNT(&io)) {
		add(r, RT_WARN, &cfg->pin_loc, "vm", "pin",
		    "every CPU this process may use (%s) runs a vCPU: the "
		    "VMM's other threads share them; set [vm] io-cpus",
		    rt_cpulist_format(&h->allowed, list, sizeof(list)));
		return;
	}
	add(r, RT_OK, NULL, NULL, NULL,
	    "I/O threads (event loop, device I/O, vhost and KVM workers) on "
	    "host CPUs %s (io-cpus unset: the allowed CPUs minus the pinned "
	    "ones)",
	    rt_cpulist_format(&io, list, sizeof(list)));
}

static void check_sched(const struct vm_config *cfg, const struct rt_host *h,
			struct rt_report *r)
{
	const char *pol =
		cfg->sched == SCHED_POLICY_FIFO ? "SCHED_FIFO" : "SCHED_RR";
	unsigned prio = cfg->sched_prio;
	char lim[32];

	if (h->rtprio_max == UINT64_MAX)
		snprintf(lim, sizeof(lim), "unlimited");
	else
		snprintf(lim, sizeof(lim), "%llu",
			 (unsigned long long)h->rtprio_max);
	if (has_cap(h, RT_CAP_SYS_NICE))
		add(r, RT_OK, NULL, NULL, NULL,
		    "vCPU threads %s priority %u (CAP_SYS_NICE)", pol, prio);
	else if (h->rtprio_max >= prio)
		add(r, RT_OK, NULL, NULL, NULL,
		    "vCPU threads %s priority %u (RLIMIT_RTPRIO %s)", pol, prio,
		    lim);
	else
		add(r, RT_ERROR, &cfg->sched_loc, "vm", "sched",
		    "%s priority %u needs CAP_SYS_NICE or an RLIMIT_RTPRIO "
		    "of at least %u; this process has neither (RLIMIT_RTPRIO "
		    "is %s): run as root, give vmm the capability (setcap "
		    "cap_sys_nice+ep), or raise the limit (ulimit -r %u, "
		    "LimitRTPRIO= for a service, rtprio in limits.conf)",
		    pol, prio, prio, lim, prio);
	if (!cfg->pin)
		add(r, RT_WARN, &cfg->sched_loc, "vm", "sched",
		    "%s vCPU threads are not pinned ([vm] pin): a vCPU that "
		    "never halts can starve other tasks on any CPU",
		    pol);
	if (h->rt_runtime_us >= 0 && h->rt_period_us > 0 &&
	    h->rt_runtime_us < h->rt_period_us)
		add(r, RT_WARN, &cfg->sched_loc, "vm", "sched",
		    "real-time throttling is on "
		    "(/proc/sys/kernel/sched_rt_runtime_us = %lld of %lld): a "
		    "vCPU thread that never sleeps is stopped for %lld us "
		    "every %lld us; write -1 there to turn it off",
		    h->rt_runtime_us, h->rt_period_us,
		    h->rt_period_us - h->rt_runtime_us, h->rt_period_us);
}

/* What mlockall() will lock: guest RAM, plus an estimate for the VMM
 * (code, heap, and a fully populated stack per thread under MCL_FUTURE). */
static uint64_t mlock_estimate(const struct vm_config *cfg, uint64_t *ram)
{
	*ram = 0;
	for (unsigned i = 0; i < cfg->nr_mem; i++)
		*ram += cfg->mem[i].size;
	return *ram + 64 * MiB + (cfg->vcpus + cfg->nr_devices) * 8 * MiB;
}

static void check_mlock(const struct vm_config *cfg, const struct rt_host *h,
			struct rt_report *r)
{
	char a[32], b[32], c[32];
	uint64_t ram, need = mlock_estimate(cfg, &ram);

	fmt_size(ram, a, sizeof(a));
	if (RT_SANITIZED)
		add(r, RT_ERROR, &cfg->mlock_loc, "vm", "mlock",
		    "not available in this sanitizer build: AddressSanitizer "
		    "reserves terabytes of shadow memory, which mlockall() "
		    "would try to lock");
	else if (has_cap(h, RT_CAP_IPC_LOCK))
		add(r, RT_OK, NULL, NULL, NULL,
		    "guest RAM (%s) and the VMM's memory prefaulted and "
		    "locked (CAP_IPC_LOCK)",
		    a);
	else if (h->memlock_max >= need)
		add(r, RT_OK, NULL, NULL, NULL,
		    "guest RAM (%s) and the VMM's memory prefaulted and "
		    "locked (RLIMIT_MEMLOCK %s, about %s needed)",
		    a, fmt_limit(h->memlock_max, b, sizeof(b)),
		    fmt_size(need, c, sizeof(c)));
	else
		add(r, RT_ERROR, &cfg->mlock_loc, "vm", "mlock",
		    "locking guest RAM (%s) and the VMM's memory needs "
		    "CAP_IPC_LOCK or an RLIMIT_MEMLOCK of about %s; this "
		    "process has neither (RLIMIT_MEMLOCK is %s): run as root, "
		    "give vmm the capability (setcap cap_ipc_lock+ep), or "
		    "raise the limit (ulimit -l, LimitMEMLOCK= for a service, "
		    "memlock in limits.conf)",
		    a, fmt_size(need, b, sizeof(b)),
		    fmt_limit(h->memlock_max, c, sizeof(c)));
}

static const struct rt_hugepages *find_hp(const struct rt_host *h,
					  uint64_t size)
{
	for (unsigned i = 0; i < h->nr_hp; i++)
		if (h->hp[i].size == size)
			return &h->hp[i];
	return NULL;
}

static void check_hugepages(const struct vm_config *cfg,
			    const struct rt_host *h, struct rt_report *r)
{
	/* pages wanted so far per size (h->hp order) */
	uint64_t want[RT_MAX_HUGEPAGE_SIZES] = { 0 };
	char sect[64], a[32], b[32];

	for (unsigned i = 0; i < cfg->nr_mem; i++) {
		const struct cfg_memory *m = &cfg->mem[i];
		const struct cfg_loc *loc = &m->hugepages_loc;
		uint64_t size = m->hugepages, avail, pages;
		const struct rt_hugepages *hp;
		unsigned k;

		if (!size)
			continue;
		snprintf(sect, sizeof(sect), "memory \"%s\"", m->name);
		if (size == MEM_HUGEPAGE_DEFAULT) {
			size = h->hugepage_default;
			if (!size) {
				add(r, RT_ERROR, loc, sect, "hugepages",
				    "this host has no hugepages (no "
				    "Hugepagesize in /proc/meminfo)");
				continue;
			}
			if (m->size % size || m->base % size) {
				add(r, RT_ERROR, loc, sect, "hugepages",
				    "base 0x%llx and size 0x%llx must be "
				    "multiples of the host's %s hugepage size",
				    (unsigned long long)m->base,
				    (unsigned long long)m->size,
				    fmt_size(size, a, sizeof(a)));
				continue;
			}
		}
		fmt_size(size, a, sizeof(a));
		hp = find_hp(h, size);
		if (!hp) {
			add(r, RT_ERROR, loc, sect, "hugepages",
			    "this host has no %s hugepages (no "
			    "%s/kernel/mm/hugepages/hugepages-%llukB)",
			    a, h->sysfs, (unsigned long long)(size / KiB));
			continue;
		}
		k = (unsigned)(hp - h->hp);
		pages = m->size / size;
		want[k] += pages;
		avail = hp->free > hp->resv ? hp->free - hp->resv : 0;
		if (want[k] > avail) {
			add(r, RT_ERROR, loc, sect, "hugepages",
			    "needs %llu free %s hugepages (%llu for this "
			    "region), the host has %llu (pool %llu, free %llu, "
			    "reserved %llu): echo %llu > "
			    "%s/kernel/mm/hugepages/hugepages-%llukB/"
			    "nr_hugepages",
			    (unsigned long long)want[k], a,
			    (unsigned long long)pages,
			    (unsigned long long)avail,
			    (unsigned long long)hp->nr,
			    (unsigned long long)hp->free,
			    (unsigned long long)hp->resv,
			    (unsigned long long)(hp->nr + want[k] - avail),
			    h->sysfs, (unsigned long long)(size / KiB));
			continue;
		}
		add(r, RT_OK, NULL, NULL, NULL,
		    "memory \"%s\": %llu %s hugepages (%s; the host has %llu "
		    "free)",
		    m->name, (unsigned long long)pages, a,
		    fmt_size(m->size, b, sizeof(b)), (unsigned long long)avail);
	}
}

static void check_halt_poll(const struct vm_config *cfg,
			    const struct rt_host *h, struct rt_report *r)
{
	char def[48] = "unknown";

	if (h->halt_poll_ns >= 0)
		snprintf(def, sizeof(def), "%lld ns", h->halt_poll_ns);
	if (h->kvm_halt_poll > 0)
		add(r, RT_OK, NULL, NULL, NULL,
		    "KVM halt polling up to %u ns for this VM (host default "
		    "%s)",
		    cfg->halt_poll_ns, def);
	else if (h->kvm_halt_poll == 0)
		add(r, RT_ERROR, &cfg->halt_poll_loc, "vm", "halt-poll-ns",
		    "this kernel cannot set halt polling per VM (no "
		    "KVM_CAP_HALT_POLL, Linux 5.15 or later); the host-wide "
		    "limit is %s/module/kvm/parameters/halt_poll_ns (%s)",
		    h->sysfs, def);
	else
		add(r, RT_WARN, &cfg->halt_poll_loc, "vm", "halt-poll-ns",
		    "cannot tell whether KVM can set halt polling per VM: "
		    "%s",
		    h->kvm_err[0] ? h->kvm_err : "/dev/kvm not probed");
}

int rt_check(const struct vm_config *cfg, const struct rt_host *h,
	     struct rt_report *r)
{
	unsigned lost = r->nr_lost;

	if (!rt_wanted(cfg)) {
		add(r, RT_OK, NULL, NULL, NULL,
		    "no real-time settings ([vm] pin, sched, io-cpus, mlock, "
		    "halt-poll-ns; [memory] hugepages)");
		return r->nr_lost > lost ? -ENOMEM : 0;
	}
	if (cfg->pin)
		check_pin(cfg, h, r);
	check_io(cfg, h, r);
	if (cfg->sched != SCHED_POLICY_OTHER)
		check_sched(cfg, h, r);
	if (cfg->mlock)
		check_mlock(cfg, h, r);
	check_hugepages(cfg, h, r);
	if (cfg->has_halt_poll_ns)
		check_halt_poll(cfg, h, r);
	return r->nr_lost > lost ? -ENOMEM : 0;
}

static const char *const level_names[] = { "ok", "warn", "error" };

void rt_report_print(const struct rt_report *r, FILE *out)
{
	for (unsigned i = 0; i < r->nr; i++)
		fprintf(out, "  %-5s %s\n", level_names[r->items[i].level],
			r->items[i].msg);
}

void rt_report_log(const struct rt_report *r)
{
	for (unsigned i = 0; i < r->nr; i++) {
		const struct rt_item *it = &r->items[i];

		if (it->level == RT_ERROR)
			log_err("%s", it->msg);
		else if (it->level == RT_WARN)
			log_warn("%s", it->msg);
		else
			log_info("%s", it->msg);
	}
}

void rt_report_free(struct rt_report *r)
{
	free(r->items);
	memset(r, 0, sizeof(*r));
}

/* ---- applying ---- */

/* Decided once by rt_process_setup() on the main thread before any other
 * thread exists; only read afterwards. */
static struct {
	bool placed;	   /* thread placement is on */
	bool io_sched;	   /* I/O threads get SCHED_OTHER explicitly */
	cpu_set_t allowed; /* the process's CPUs before placement */
	cpu_set_t io;	   /* the non-vCPU threads' CPUs */
} rt_state;

bool rt_placement_on(void)
{
	return rt_state.placed;
}

void rt_reset(void)
{
	memset(&rt_state, 0, sizeof(rt_state));
}

int rt_process_setup(const struct vm_config *cfg, const struct rt_host *h,
		     char *why, size_t why_len)
{
	char list[256];

	if (!cfg->pin && !cfg->io_cpus && cfg->sched == SCHED_POLICY_OTHER)
		return 0;
	rt_state.allowed = h->allowed;
	if (!CPU_COUNT(&rt_state.allowed) &&
	    sched_getaffinity(0, sizeof(rt_state.allowed), &rt_state.allowed))
		CPU_ZERO(&rt_state.allowed);
	io_set(cfg, &rt_state.allowed, &rt_state.io);
	rt_state.io_sched = cfg->sched != SCHED_POLICY_OTHER;
	if (CPU_COUNT(&rt_state.io) &&
	    sched_setaffinity(0, sizeof(rt_state.io), &rt_state.io)) {
		int err = -errno;

		why_set(why, why_len,
			"cannot move the main thread to host CPUs %s: %s",
			rt_cpulist_format(&rt_state.io, list, sizeof(list)),
			strerror(errno));
		return err;
	}
	rt_state.placed = true;
	log_debug("non-vCPU threads on host CPUs %s",
		  rt_cpulist_format(&rt_state.io, list, sizeof(list)));
	return 0;
}

int rt_vcpu_setup(const struct vm_config *cfg, unsigned id, char *why,
		  size_t why_len)
{
	struct sched_param sp = { .sched_priority = (int)cfg->sched_prio };
	char list[256];
	cpu_set_t set;
	int pol, ret;

	if (!rt_state.placed)
		return 0;
	if (cfg->pin) {
		CPU_ZERO(&set);
		CPU_SET(cfg->pin[id], &set);
	} else {
		set = rt_state.allowed;
	}
	if (CPU_COUNT(&set)) {
		ret = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
		if (ret) {
			why_set(why, why_len, "cannot run on host CPU%s %s: %s",
				cfg->pin ? "" : "s",
				rt_cpulist_format(&set, list, sizeof(list)),
				strerror(ret));
			return -ret;
		}
	}
	if (cfg->sched == SCHED_POLICY_OTHER)
		return 0;
	pol = cfg->sched == SCHED_POLICY_FIFO ? SCHED_FIFO : SCHED_RR;
	/* Reset on fork: nothing this thread starts (a worker the kernel
	 * forks from it, say) inherits the real-time policy. */
	if (sched_setscheduler(0, pol | SCHED_RESET_ON_FORK, &sp)) {
		ret = -errno;
		why_set(why, why_len, "cannot set %s priority %u: %s%s",
			pol == SCHED_FIFO ? "SCHED_FIFO" : "SCHED_RR",
			cfg->sched_prio, strerror(errno),
			errno == EPERM
				? " (needs CAP_SYS_NICE or RLIMIT_RTPRIO "
				  "at least that; with them, the cgroup "
				  "may have no real-time budget: "
				  "cpu.rt_runtime_us)"
				: "");
		return ret;
	}
	return 0;
}

int rt_io_thread_attr(pthread_attr_t *attr)
{
	struct sched_param sp = { .sched_priority = 0 };
	int ret = 0;

	if (!rt_state.placed)
		return 0;
	if (CPU_COUNT(&rt_state.io))
		ret = pthread_attr_setaffinity_np(attr, sizeof(rt_state.io),
						  &rt_state.io);
	if (!ret && rt_state.io_sched) {
		ret = pthread_attr_setinheritsched(attr,
						   PTHREAD_EXPLICIT_SCHED);
		if (!ret)
			ret = pthread_attr_setschedpolicy(attr, SCHED_OTHER);
		if (!ret)
			ret = pthread_attr_setschedparam(attr, &sp);
	}
	return -ret;
}

int rt_mlock(const struct vm_config *cfg, char *why, size_t why_len)
{
	struct rt_host h;
	char lim[32];
	int err;

	if (!cfg->mlock)
		return 0;
	if (RT_SANITIZED) {
		why_set(why, why_len, "not available in a sanitizer build");
		return -ENOTSUP;
	}
	if (!mlockall(MCL_CURRENT | MCL_FUTURE))
		return 0;
	err = errno;
	rt_host_probe_process(&h);
	why_set(why, why_len,
		"mlockall: %s (RLIMIT_MEMLOCK %s, CAP_IPC_LOCK %s)",
		strerror(err), fmt_limit(h.memlock_max, lim, sizeof(lim)),
		has_cap(&h, RT_CAP_IPC_LOCK) ? "present" : "missing");
	return -err;
}
