/* SPDX-License-Identifier: MIT */
/*
 * Real-time partitioning (docs/realtime.md): host CPU lists, the host
 * readiness checks behind `vmm check` and `vmm run`, and the calls that
 * place the VMM's threads and lock its memory.
 *
 * The configuration ([vm] pin, sched, io-cpus, mlock, halt-poll-ns and
 * [memory] hugepages) is parsed and checked for consistency by config.c;
 * this file checks it against the host and applies it. Call order in
 * `vmm run`:
 *
 *   rt_host_probe()        before any thread is moved: what the host and
 *                          this process offer (sysfs, /proc, rlimits)
 *   rt_check()             errors stop the run (exit 2); warnings logged
 *   rt_process_setup()     the main thread moves to the I/O CPUs, before
 *                          any other thread exists, so whatever it creates
 *                          later inherits them (vhost and KVM workers)
 *   vm_create()            guest RAM mapped, prefaulted (mem.c)
 *   rt_mlock()             mlockall(MCL_CURRENT | MCL_FUTURE)
 *   vm_run()               each vCPU thread calls rt_vcpu_setup() before
 *                          its first KVM_RUN; device I/O threads are
 *                          created with rt_io_thread_attr()
 *
 * Checks are split from probing so unit tests can run them on a fake
 * host: rt_host_probe_sysfs() reads a sysfs tree at any root (the real one
 * is /sys, or $VMM_SYSFS_ROOT, which only tests should set), and the
 * process facts in struct rt_host can be overwritten between the probe and
 * rt_check().
 */
#ifndef VMM_RT_H
#define VMM_RT_H

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vmm/config.h"

/* Host CPUs 0 .. RT_MAX_CPUS - 1 (a cpu_set_t's size). */
#define RT_MAX_CPUS CPU_SETSIZE

/* Capability bits of CapEff (linux/capability.h). */
#define RT_CAP_IPC_LOCK 14
#define RT_CAP_SYS_NICE 23

/* Highest SCHED_FIFO / SCHED_RR priority Linux accepts. */
#define RT_PRIO_MAX 99

/* ---- CPU lists ---- */

/*
 * Parse a CPU list in the kernel's syntax without strides: comma-separated
 * CPU numbers and ranges, "2", "2,3", "0-3,8". Blanks around items are
 * allowed; an empty (or blank) string is the empty list. The CPUs are
 * stored in the order written (ranges ascending) into cpus[], at most max
 * of them, and their count into *nr; cpus may be NULL if max is 0.
 * Returns 0, -EINVAL for bad syntax, -ERANGE for a CPU >= RT_MAX_CPUS,
 * -E2BIG for more than max CPUs; `why` (why_len bytes, may be NULL) then
 * says what is wrong, e.g. "range 3-1 runs backwards".
 */
int rt_cpulist_parse(const char *s, unsigned *cpus, unsigned max, unsigned *nr,
		     char *why, size_t why_len);

/* The same into a set (duplicates are harmless). */
int rt_cpulist_parse_set(const char *s, cpu_set_t *set, char *why,
			 size_t why_len);

/* Format a set as a CPU list ("0-1,4"), or "none" if empty. Returns buf;
 * a list that does not fit ends in "...". */
const char *rt_cpulist_format(const cpu_set_t *set, char *buf, size_t len);

/* ---- what the host offers ---- */

#define RT_MAX_HUGEPAGE_SIZES 8

struct rt_hugepages {
	uint64_t size; /* bytes */
	uint64_t nr;   /* nr_hugepages: the pool */
	uint64_t free; /* free_hugepages, including reserved ones */
	uint64_t resv; /* resv_hugepages: promised to existing mappings */
};

struct rt_host {
	/* sysfs, from rt_host_probe_sysfs(); a have_ flag is false if the
	 * file could not be read */
	char sysfs[256];
	bool have_present, have_online, have_isolated, have_nohz_full;
	cpu_set_t present;   /* devices/system/cpu/present */
	cpu_set_t online;    /* devices/system/cpu/online */
	cpu_set_t isolated;  /* devices/system/cpu/isolated (isolcpus=) */
	cpu_set_t nohz_full; /* devices/system/cpu/nohz_full */
	struct rt_hugepages hp[RT_MAX_HUGEPAGE_SIZES]; /* kernel/mm/hugepages */
	unsigned nr_hp;
	long long halt_poll_ns; /* module/kvm/parameters/halt_poll_ns, or -1 */
	/* the cgroup's cpuset, read through the sysfs root: cgroup v2
	 * fs/cgroup/PATH/cpuset.cpus.effective or v1
	 * fs/cgroup/cpuset/PATH/cpuset.effective_cpus */
	bool have_cpuset;
	cpu_set_t cpuset;
	char cpuset_file[512]; /* for messages, as read (with the root) */

	/* this process, from rt_host_probe_process() */
	cpu_set_t allowed;    /* sched_getaffinity() */
	char cgroup[256];     /* cgroup path, "" if unknown */
	bool cgroup_v1;	      /* cgroup is the v1 cpuset hierarchy's */
	bool have_caps;	      /* cap_eff was read */
	uint64_t cap_eff;     /* /proc/self/status CapEff */
	uint64_t rtprio_max;  /* RLIMIT_RTPRIO (soft), UINT64_MAX: unlimited */
	uint64_t memlock_max; /* RLIMIT_MEMLOCK (soft) bytes, UINT64_MAX: " */
	long long rt_runtime_us, rt_period_us; /* /proc/sys/kernel; -1: ? */
	uint64_t hugepage_default; /* /proc/meminfo Hugepagesize; 0: none */

	/* filled by the caller, which may open /dev/kvm: 1 KVM_CAP_HALT_POLL
	 * is there, 0 it is not, -1 unknown (kvm_err says why) */
	int kvm_halt_poll;
	char kvm_err[128];
};

/* The sysfs root: $VMM_SYSFS_ROOT if set (tests), else "/sys". */
const char *rt_sysfs_root(void);

/* Fill the process part of h (zeroes the whole struct first; sets
 * kvm_halt_poll to -1). Never fails: what cannot be read stays unknown. */
void rt_host_probe_process(struct rt_host *h);

/* Fill the sysfs part of h from the tree at root (uses h->cgroup). */
void rt_host_probe_sysfs(struct rt_host *h, const char *root);

/* Both, with rt_sysfs_root(). */
void rt_host_probe(struct rt_host *h);

/* ---- readiness checks ---- */

enum rt_level { RT_OK, RT_WARN, RT_ERROR };

struct rt_item {
	enum rt_level level;
	char msg[512];
};

struct rt_report {
	struct rt_item *items;
	unsigned nr, cap;
	unsigned nr_warn, nr_error;
	unsigned nr_lost; /* items not stored for lack of memory (errors) */
};

/* True if cfg uses any real-time setting (then rt_process_setup() and
 * the rest have something to do). */
bool rt_wanted(const struct vm_config *cfg);

/*
 * Check cfg's real-time settings against host h; append one item per
 * finding to r (zero-initialised by the caller, freed with
 * rt_report_free()). Errors and warnings are formatted like config errors,
 * "FILE:LINE: [section] key: what", ok items are plain text. Returns 0, or
 * -ENOMEM if an item could not be stored (the report then lacks it and
 * counts it as an error).
 */
int rt_check(const struct vm_config *cfg, const struct rt_host *h,
	     struct rt_report *r);

/* "  ok    ...", "  warn  ...", "  error ..." one per line. */
void rt_report_print(const struct rt_report *r, FILE *out);

/* Log errors (log_err), warnings (log_warn) and ok items (log_info). */
void rt_report_log(const struct rt_report *r);

void rt_report_free(struct rt_report *r);

/* ---- applying the settings ---- */

/*
 * Decide where the VMM's threads run and move the calling thread (the main
 * thread, before it creates any other) to the I/O CPUs: [vm] io-cpus, or
 * if unset and vCPUs are pinned, the CPUs the process may use minus the
 * pinned ones (all of them if that leaves none). Does nothing if
 * !rt_wanted(cfg). 0 or -errno with why filled.
 */
int rt_process_setup(const struct vm_config *cfg, const struct rt_host *h,
		     char *why, size_t why_len);

/* True once rt_process_setup() placed the threads (then vCPU threads
 * move away from the I/O CPUs in rt_vcpu_setup()). */
bool rt_placement_on(void);

/*
 * On a new vCPU thread, before its first KVM_RUN: pin it to [vm] pin's
 * CPU for vCPU id (unpinned vCPUs go back to the CPUs the process could
 * use at rt_process_setup()) and set [vm] sched. 0 or -errno with why
 * filled (which call failed, and for EPERM what is missing).
 */
int rt_vcpu_setup(const struct vm_config *cfg, unsigned id, char *why,
		  size_t why_len);

/*
 * For a thread that is not a vCPU (device I/O): make attr (initialised by
 * the caller) start it on the I/O CPUs with SCHED_OTHER, whichever thread
 * creates it (vCPU threads may be pinned and SCHED_FIFO). Leaves attr as
 * it is if rt_process_setup() had nothing to do. 0 or -errno.
 */
int rt_io_thread_attr(pthread_attr_t *attr);

/*
 * [vm] mlock: mlockall(MCL_CURRENT | MCL_FUTURE), after guest RAM is
 * mapped (and prefaulted). Does nothing if !cfg->mlock. 0 or -errno with
 * why saying which capability or rlimit is missing.
 */
int rt_mlock(const struct vm_config *cfg, char *why, size_t why_len);

/* Forget what rt_process_setup() decided (tests). */
void rt_reset(void);

#endif
