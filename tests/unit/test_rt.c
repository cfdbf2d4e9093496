/* SPDX-License-Identifier: MIT */
/*
 * Real-time partitioning (vmm/rt.c and the [vm] / [memory] keys in
 * vmm/config.c): CPU list parsing and formatting, probing a fake sysfs tree
 * built in a fresh mkdtemp() directory, every readiness check with its exact
 * message, and thread placement on this process's own CPUs.
 */
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "cfg_helpers.h"
#include "vmm/config.h"
#include "vmm/mem.h"
#include "vmm/rt.h"
#include "vmm/util.h"

/* As in rt.c: a sanitizer build refuses [vm] mlock. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static char tmpdir[64];
static char sysroot[128];

static void put(const char *rel, const char *text)
{
	char path[512], dir[512], *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	/* mkdir -p the parents */
	for (slash = strchr(dir + strlen(tmpdir) + 1, '/'); slash;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(dir, 0755);
		*slash = '/';
	}
	f = fopen(path, "w");
	cr_assert(f, "create %s", path);
	fputs(text, f);
	fclose(f);
}

/*
 * The fake host: CPUs 0-7 exist, 0-5 online, 2-3 isolated, 2 nohz_full;
 * the cgroup (v2, /vmm.slice) allows 0-4; 2 MiB pages: pool 64, 40 free of
 * which 8 reserved; 1 GiB pages: none; halt_poll_ns 200000.
 */
static void make_sysfs(void)
{
	put("sys/devices/system/cpu/present", "0-7\n");
	put("sys/devices/system/cpu/online", "0-5\n");
	put("sys/devices/system/cpu/isolated", "2-3\n");
	put("sys/devices/system/cpu/nohz_full", "2\n");
	put("sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "64\n");
	put("sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "40\n");
	put("sys/kernel/mm/hugepages/hugepages-2048kB/resv_hugepages", "8\n");
	put("sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages", "0\n");
	put("sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages",
	    "0\n");
	put("sys/kernel/mm/hugepages/hugepages-1048576kB/resv_hugepages",
	    "0\n");
	put("sys/module/kvm/parameters/halt_poll_ns", "200000\n");
	put("sys/fs/cgroup/vmm.slice/cpuset.cpus.effective", "0-4\n");
	put("img.elf", "not really an ELF, but non-empty");
	snprintf(sysroot, sizeof(sysroot), "%s/sys", tmpdir);
}

static void setup(void)
{
	cfg_test_mkdtemp(tmpdir, sizeof(tmpdir), "rt");
	make_sysfs();
	rt_reset();
}

static void teardown(void)
{
	cfg_test_rm_tree(tmpdir);
}

TestSuite(rt, .init = setup, .fini = teardown);

static cpu_set_t cpus(const char *list)
{
	cpu_set_t s;

	cr_assert_eq(rt_cpulist_parse_set(list, &s, NULL, 0), 0, "%s", list);
	return s;
}

/* The fake host as a process with no capabilities and small limits: the
 * process part probed (and overridden), then the fake tree. */
static void fake_host(struct rt_host *h)
{
	rt_host_probe_process(h);
	h->allowed = cpus("0-3");
	snprintf(h->cgroup, sizeof(h->cgroup), "/vmm.slice");
	h->cgroup_v1 = false;
	h->have_caps = true;
	h->cap_eff = 0;
	h->rtprio_max = 0;
	h->memlock_max = 8 * MiB;
	h->rt_runtime_us = -1;
	h->rt_period_us = 1000000;
	h->hugepage_default = 2 * MiB;
	h->kvm_halt_poll = 1;
	rt_host_probe_sysfs(h, sysroot);
}

/* ---- CPU lists ---- */

static void expect_list(const char *s, const char *want)
{
	unsigned got[64], n = 0;
	char buf[256] = "", why[128] = "";
	size_t used = 0;

	cr_assert_eq(rt_cpulist_parse(s, got, 64, &n, why, sizeof(why)), 0,
		     "'%s': %s", s, why);
	for (unsigned i = 0; i < n; i++)
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%u",
					 i ? " " : "", got[i]);
	cr_assert_str_eq(buf, want, "'%s' -> '%s', want '%s'", s, buf, want);
}

static void expect_bad_list(const char *s, int err, const char *why_want)
{
	char why[128] = "";
	unsigned got[8], n;

	cr_assert_eq(rt_cpulist_parse(s, got, 8, &n, why, sizeof(why)), err,
		     "'%s'", s);
	cr_assert_str_eq(why, why_want, "'%s': '%s'", s, why);
}

Test(rt, cpulist_parse)
{
	expect_list("0", "0");
	expect_list("2,3", "2 3");
	expect_list("0-3,8", "0 1 2 3 8");
	expect_list("5-7,2", "5 6 7 2");
	expect_list(" 2 , 3 - 4 ", "2 3 4");
	expect_list("1023", "1023");
	expect_list("3-3", "3");
	expect_list("0-1\n", "0 1");
	expect_list("", "");
	expect_list(" \n", "");
	expect_list("4,4", "4 4"); /* duplicates are the caller's call */
}

Test(rt, cpulist_parse_errors)
{
	expect_bad_list("3-1", -EINVAL, "range 3-1 runs backwards");
	expect_bad_list("a", -EINVAL, "'a' is not a CPU number");
	expect_bad_list("1,,2", -EINVAL, "empty item");
	expect_bad_list("1,", -EINVAL, "empty item");
	expect_bad_list("1-", -EINVAL, "range 1- has no end");
	expect_bad_list("1;2", -EINVAL,
			"unexpected ';' (items are separated by commas)");
	expect_bad_list("1 2", -EINVAL,
			"unexpected '2' (items are separated by commas)");
	expect_bad_list("-1", -EINVAL, "'-1' is not a CPU number");
	expect_bad_list("0x2", -EINVAL,
			"unexpected 'x' (items are separated by commas)");
	expect_bad_list("1024", -ERANGE,
			"CPU numbers go up to 1023 (a host has at most 1024 "
			"CPUs here)");
	expect_bad_list("0-99999999999999999999999", -ERANGE,
			"CPU numbers go up to 1023 (a host has at most 1024 "
			"CPUs here)");
	expect_bad_list("0-8", -E2BIG, "9 CPUs, room for 8");
}

Test(rt, cpulist_count_only)
{
	unsigned n = 99;

	/* max 0 counts (how config.c sizes its array) */
	cr_assert_eq(rt_cpulist_parse("0-3,7", NULL, 0, &n, NULL, 0), -E2BIG);
	cr_assert_eq(n, 5);
	cr_assert_eq(rt_cpulist_parse("", NULL, 0, &n, NULL, 0), 0);
	cr_assert_eq(n, 0);
}

Test(rt, cpulist_format)
{
	char buf[64], tiny[8];
	cpu_set_t s;

	CPU_ZERO(&s);
	cr_assert_str_eq(rt_cpulist_format(&s, buf, sizeof(buf)), "none");
	s = cpus("0-1,4,6-9,1023");
	cr_assert_str_eq(rt_cpulist_format(&s, buf, sizeof(buf)),
			 "0-1,4,6-9,1023");
	s = cpus("3");
	cr_assert_str_eq(rt_cpulist_format(&s, buf, sizeof(buf)), "3");
	s = cpus("0,2,4,6,8,10,12");
	cr_assert_str_eq(rt_cpulist_format(&s, tiny, sizeof(tiny)), "0,2,...");
}

/* ---- probing ---- */

Test(rt, probe_fake_sysfs)
{
	struct rt_host h;
	char b[64];

	fake_host(&h);
	cr_assert(h.have_present && h.have_online && h.have_isolated &&
		  h.have_nohz_full);
	cr_assert_str_eq(rt_cpulist_format(&h.present, b, sizeof(b)), "0-7");
	cr_assert_str_eq(rt_cpulist_format(&h.online, b, sizeof(b)), "0-5");
	cr_assert_str_eq(rt_cpulist_format(&h.isolated, b, sizeof(b)), "2-3");
	cr_assert_str_eq(rt_cpulist_format(&h.nohz_full, b, sizeof(b)), "2");
	cr_assert(h.have_cpuset);
	cr_assert_str_eq(rt_cpulist_format(&h.cpuset, b, sizeof(b)), "0-4");
	cr_assert(strstr(h.cpuset_file,
			 "/sys/fs/cgroup/vmm.slice/cpuset.cpus.effective"));
	cr_assert_eq(h.nr_hp, 2);
	cr_assert_eq(h.hp[0].size, 2 * MiB);
	cr_assert_eq(h.hp[0].nr, 64);
	cr_assert_eq(h.hp[0].free, 40);
	cr_assert_eq(h.hp[0].resv, 8);
	cr_assert_eq(h.hp[1].size, GiB);
	cr_assert_eq(h.halt_poll_ns, 200000);
	cr_assert_str_eq(h.sysfs, sysroot);
}

Test(rt, probe_missing_files_and_null_nohz)
{
	struct rt_host h;
	char root[160];

	/* nohz_full reads "(null)" on a kernel with NO_HZ_FULL but none
	 * given; everything else is simply missing */
	put("bare/devices/system/cpu/nohz_full", "(null)\n");
	snprintf(root, sizeof(root), "%s/bare", tmpdir);
	rt_host_probe_process(&h);
	h.cgroup[0] = '\0';
	rt_host_probe_sysfs(&h, root);
	cr_assert(!h.have_present && !h.have_online && !h.have_isolated);
	cr_assert(h.have_nohz_full);
	cr_assert_eq(CPU_COUNT(&h.nohz_full), 0);
	cr_assert(!h.have_cpuset);
	cr_assert_eq(h.nr_hp, 0);
	cr_assert_eq(h.halt_poll_ns, -1);
}

Test(rt, probe_cgroup_v1)
{
	struct rt_host h;

	put("sys/fs/cgroup/cpuset/rt/cpuset.effective_cpus", "2-3\n");
	rt_host_probe_process(&h);
	snprintf(h.cgroup, sizeof(h.cgroup), "/rt");
	h.cgroup_v1 = true;
	rt_host_probe_sysfs(&h, sysroot);
	cr_assert(h.have_cpuset);
	cr_assert(CPU_ISSET(2, &h.cpuset) && CPU_ISSET(3, &h.cpuset));
	cr_assert_eq(CPU_COUNT(&h.cpuset), 2);
}

Test(rt, probe_this_process)
{
	struct rt_host h;
	cpu_set_t mine;

	rt_host_probe_process(&h);
	cr_assert_eq(sched_getaffinity(0, sizeof(mine), &mine), 0);
	cr_assert(CPU_EQUAL(&h.allowed, &mine));
	cr_assert(h.have_caps); /* /proc/self/status has CapEff */
	cr_assert_eq(h.kvm_halt_poll, -1);
	unsetenv("VMM_SYSFS_ROOT");
	cr_assert_str_eq(rt_sysfs_root(), "/sys");
	setenv("VMM_SYSFS_ROOT", sysroot, 1);
	cr_assert_str_eq(rt_sysfs_root(), sysroot);
	unsetenv("VMM_SYSFS_ROOT");
}

/* ---- config keys ---- */

static int load(struct vm_config *cfg, const char *vm, const char *mem,
		struct cfg_error *err)
{
	char text[2048];

	snprintf(text, sizeof(text),
		 "[vm]\n%s\n[memory \"ram\"]\nbase = 0\nsize = 32M\n%s\n"
		 "[boot]\nimage = img.elf\n",
		 vm, mem);
	return config_load_string(cfg, "t.cfg", tmpdir, text, NULL, 0, err);
}

static void good(struct vm_config *cfg, const char *vm, const char *mem)
{
	struct cfg_error err;

	cr_assert_eq(load(cfg, vm, mem, &err), 0, "%s", err.msg);
}

static void bad(const char *vm, const char *mem, const char *want)
{
	struct vm_config cfg;
	struct cfg_error err;

	cr_assert_eq(load(&cfg, vm, mem, &err), -EINVAL, "accepted: %s %s", vm,
		     mem);
	cr_assert_str_eq(err.msg, want);
}

Test(rt, config_keys)
{
	struct vm_config cfg;

	good(&cfg,
	     "vcpus = 3\npin = 5-6,1\nsched = fifo:80\nio-cpus = 0,0-1"
	     "\nmlock = yes\nhalt-poll-ns = 50000",
	     "hugepages = 2M");
	cr_assert_eq(cfg.pin[0], 5);
	cr_assert_eq(cfg.pin[1], 6);
	cr_assert_eq(cfg.pin[2], 1);
	cr_assert_eq(cfg.pin_loc.line, 3);
	cr_assert_eq(cfg.sched, SCHED_POLICY_FIFO);
	cr_assert_eq(cfg.sched_prio, 80);
	cr_assert_eq(cfg.nr_io_cpus, 2);
	cr_assert_eq(cfg.io_cpus[0], 0);
	cr_assert_eq(cfg.io_cpus[1], 1);
	cr_assert(cfg.mlock);
	cr_assert(cfg.has_halt_poll_ns);
	cr_assert_eq(cfg.halt_poll_ns, 50000);
	cr_assert_eq(cfg.mem[0].hugepages, 2 * MiB);
	cr_assert(rt_wanted(&cfg));
	config_free(&cfg);

	good(&cfg, "sched = rr:1", "hugepages = yes");
	cr_assert_eq(cfg.sched, SCHED_POLICY_RR);
	cr_assert_eq(cfg.sched_prio, 1);
	cr_assert_eq(cfg.mem[0].hugepages, MEM_HUGEPAGE_DEFAULT);
	config_free(&cfg);

	good(&cfg, "sched = other\nmlock = no\nhalt-poll-ns = 0",
	     "hugepages = no");
	cr_assert_eq(cfg.sched, SCHED_POLICY_OTHER);
	cr_assert(!cfg.mlock);
	cr_assert(cfg.has_halt_poll_ns && cfg.halt_poll_ns == 0);
	cr_assert_eq(cfg.mem[0].hugepages, 0);
	cr_assert(!cfg.pin && !cfg.io_cpus);
	config_free(&cfg);

	good(&cfg, "name = plain", "");
	cr_assert(!rt_wanted(&cfg));
	cr_assert_str_eq(sched_policy_name(SCHED_POLICY_RR), "rr");
	config_free(&cfg);
}

Test(rt, config_key_errors)
{
	bad("vcpus = 2\npin = 1,1", "",
	    "t.cfg:3: [vm] pin: host CPU 1 is given to vCPU 0 and vCPU 1; "
	    "each vCPU needs a CPU of its own");
	bad("vcpus = 3\npin = 4,2,4", "",
	    "t.cfg:3: [vm] pin: host CPU 4 is given to vCPU 0 and vCPU 2; "
	    "each vCPU needs a CPU of its own");
	bad("vcpus = 2\npin = 1", "",
	    "t.cfg:3: [vm] pin: 1 host CPU for 2 vCPUs: give one CPU per "
	    "vCPU, in vCPU order (pin = 2,3 puts vCPU 0 on CPU 2 and vCPU 1 "
	    "on CPU 3)");
	bad("pin = 1,2", "",
	    "t.cfg:2: [vm] pin: 2 host CPUs for 1 vCPU: give one CPU per "
	    "vCPU, in vCPU order (pin = 2,3 puts vCPU 0 on CPU 2 and vCPU 1 "
	    "on CPU 3)");
	bad("pin = ", "",
	    "t.cfg:2: [vm] pin: empty CPU list (expected e.g. 2,3 or 2-5)");
	bad("pin = 3-1", "",
	    "t.cfg:2: [vm] pin: bad CPU list '3-1': range 3-1 runs backwards "
	    "(expected e.g. 2,3 or 2-5)");
	bad("io-cpus = 0-x", "",
	    "t.cfg:2: [vm] io-cpus: bad CPU list '0-x': range 0- has no end "
	    "(expected e.g. 2,3 or 2-5)");
	bad("io-cpus = 4096", "",
	    "t.cfg:2: [vm] io-cpus: bad CPU list '4096': CPU numbers go up "
	    "to 1023 (a host has at most 1024 CPUs here) (expected e.g. 2,3 "
	    "or 2-5)");
	bad("sched = fifo:100", "",
	    "t.cfg:2: [vm] sched: priority 100 is out of range (1 to 99)");
	bad("sched = rr:0", "",
	    "t.cfg:2: [vm] sched: priority 0 is out of range (1 to 99)");
	bad("sched = fifo", "",
	    "t.cfg:2: [vm] sched: 'fifo' needs a priority, e.g. fifo:80 (1 "
	    "to 99)");
	bad("sched = fifo:", "",
	    "t.cfg:2: [vm] sched: 'fifo' needs a priority, e.g. fifo:80 (1 "
	    "to 99)");
	bad("sched = fifo:high", "",
	    "t.cfg:2: [vm] sched: bad priority 'high' (expected 1 to 99)");
	bad("sched = other:5", "",
	    "t.cfg:2: [vm] sched: 'other' takes no priority (got 'other:5')");
	bad("sched = batch", "",
	    "t.cfg:2: [vm] sched: bad policy 'batch' (expected fifo:PRIO, "
	    "rr:PRIO or other)");
	bad("sched = FIFO:10", "",
	    "t.cfg:2: [vm] sched: bad policy 'FIFO:10' (expected fifo:PRIO, "
	    "rr:PRIO or other)");
	bad("mlock = sometimes", "",
	    "t.cfg:2: [vm] mlock: bad boolean 'sometimes' (expected yes/no, "
	    "true/false, on/off or 1/0)");
	bad("halt-poll-ns = 4294967296", "",
	    "t.cfg:2: [vm] halt-poll-ns: 4294967296 is out of range (0 to "
	    "4294967295 ns)");
	bad("halt-poll-ns = -1", "",
	    "t.cfg:2: [vm] halt-poll-ns: bad number '-1' (expected decimal "
	    "or 0x hex)");
	bad("", "hugepages = 3M",
	    "t.cfg:6: [memory \"ram\"] hugepages: 3M is not a hugepage size "
	    "(a power of two above 4K, such as 2M or 1G)");
	bad("", "hugepages = 4K",
	    "t.cfg:6: [memory \"ram\"] hugepages: 4K is not a hugepage size "
	    "(a power of two above 4K, such as 2M or 1G)");
	bad("", "hugepages = big",
	    "t.cfg:6: [memory \"ram\"] hugepages: bad value 'big' (expected "
	    "yes, no or a hugepage size such as 2M or 1G)");
	bad("", "hugepages = 1G",
	    "t.cfg:6: [memory \"ram\"] hugepages: size 0x2000000 is not a "
	    "multiple of the 1 GiB hugepage size");
	bad("", "hugepages = yes\nfile = ram.bin",
	    "t.cfg:6: [memory \"ram\"] hugepages: not with file: for a file "
	    "on hugetlbfs, give the file and leave hugepages unset");
}

Test(rt, config_hugepage_base_alignment)
{
	struct vm_config cfg;
	struct cfg_error err;
	const char *text = "[memory \"ram\"]\nbase = 0x1000\nsize = 2M\n"
			   "hugepages = 2M\n[boot]\nimage = img.elf\n";

	cr_assert_eq(
		config_load_string(&cfg, "t.cfg", tmpdir, text, NULL, 0, &err),
		-EINVAL);
	cr_assert_str_eq(err.msg,
			 "t.cfg:4: [memory \"ram\"] hugepages: base 0x1000 is "
			 "not aligned to the 2 MiB hugepage size");
}

Test(rt, config_set_override)
{
	const char *ov[] = { "vm.pin=2", "vm.sched=rr:7" };
	struct vm_config cfg;
	struct cfg_error err;

	cr_assert_eq(config_load_string(&cfg, "t.cfg", tmpdir,
					"[memory \"ram\"]\nbase = 0\nsize = "
					"2M\n[boot]\nimage = img.elf\n",
					ov, 2, &err),
		     0, "%s", err.msg);
	cr_assert_eq(cfg.pin[0], 2);
	cr_assert_str_eq(cfg.pin_loc.file, "--set");
	cr_assert_eq(cfg.pin_loc.line, 1);
	cr_assert_eq(cfg.sched, SCHED_POLICY_RR);
	config_free(&cfg);
}

/* ---- readiness checks ---- */

static const char *const level_names[] = { "ok", "warn", "error" };

static void dump(const struct rt_report *r)
{
	for (unsigned i = 0; i < r->nr; i++)
		fprintf(stderr, "  %s %s\n", level_names[r->items[i].level],
			r->items[i].msg);
}

static void expect_item(const struct rt_report *r, enum rt_level lv,
			const char *msg)
{
	for (unsigned i = 0; i < r->nr; i++)
		if (r->items[i].level == lv && !strcmp(r->items[i].msg, msg))
			return;
	dump(r);
	cr_assert_fail("no %s item '%s'", level_names[lv], msg);
}

static void expect_no_prefix(const struct rt_report *r, const char *prefix)
{
	for (unsigned i = 0; i < r->nr; i++)
		if (!strncmp(r->items[i].msg, prefix, strlen(prefix))) {
			dump(r);
			cr_assert_fail("unexpected item '%s'", r->items[i].msg);
		}
}

/* Load vm/mem keys, check them against h, into r. */
static void check(const char *vm, const char *mem, const struct rt_host *h,
		  struct rt_report *r)
{
	struct vm_config cfg;

	good(&cfg, vm, mem);
	memset(r, 0, sizeof(*r));
	cr_assert_eq(rt_check(&cfg, h, r), 0);
	config_free(&cfg);
}

Test(rt, check_pinned_cpus)
{
	struct rt_host h;
	struct rt_report r;

	fake_host(&h);
	/* 9 missing, 6 offline, 5 outside the cgroup, 4 outside the
	 * affinity vmm started with (a warning), 3 isolated only, 2
	 * isolated and nohz_full */
	check("vcpus = 6\npin = 9,6,5,4,3,2", "", &h, &r);
	expect_item(&r, RT_ERROR,
		    "t.cfg:3: [vm] pin: vCPU 0: host CPU 9 does not exist "
		    "(this host's CPUs: 0-7)");
	expect_item(&r, RT_ERROR,
		    "t.cfg:3: [vm] pin: vCPU 1: host CPU 6 is offline (online "
		    "CPUs: 0-5)");
	/* (the cgroup message: check_cgroup_message_names_the_file) */
	cr_assert_eq(r.nr_error, 3);
	expect_item(&r, RT_WARN,
		    "t.cfg:3: [vm] pin: vCPU 3: host CPU 4 is not among the "
		    "CPUs vmm was started on (0-3; taskset or CPUAffinity= "
		    "narrowed them): it is used anyway");
	expect_item(&r, RT_OK, "vCPU 3 on host CPU 4: online, allowed");
	expect_item(&r, RT_OK,
		    "vCPU 4 on host CPU 3: online, allowed, isolated");
	expect_item(&r, RT_WARN,
		    "t.cfg:3: [vm] pin: vCPU 4: host CPU 3 is not in "
		    "nohz_full (nohz_full CPUs: 2): the scheduler tick still "
		    "interrupts it; boot the host with nohz_full=3");
	expect_item(&r, RT_OK,
		    "vCPU 5 on host CPU 2: online, allowed, isolated, "
		    "nohz_full");
	expect_no_prefix(&r, "t.cfg:3: [vm] pin: vCPU 5:");
	/* CPU 4: affinity, not isolated, not nohz_full; CPU 3: nohz_full */
	cr_assert_eq(r.nr_warn, 4);
	rt_report_free(&r);
}

/* isolcpus= leaves isolated CPUs out of every process's affinity: pinning
 * there is the point, not worth a warning. */
Test(rt, check_isolated_cpu_outside_affinity)
{
	struct rt_host h;
	struct rt_report r;

	fake_host(&h);
	h.allowed = cpus("0-1");
	check("pin = 2\nio-cpus = 0", "", &h, &r);
	expect_item(&r, RT_OK,
		    "vCPU 0 on host CPU 2: online, allowed, isolated, "
		    "nohz_full");
	cr_assert_eq(r.nr_warn, 0);
	cr_assert_eq(r.nr_error, 0);
	rt_report_free(&r);
}

Test(rt, check_cgroup_message_names_the_file)
{
	struct rt_host h;
	struct rt_report r;
	char want[512];

	fake_host(&h);
	check("pin = 5", "", &h, &r);
	snprintf(want, sizeof(want),
		 "t.cfg:2: [vm] pin: vCPU 0: host CPU 5 is not allowed by this "
		 "process's cgroup (%s/fs/cgroup/vmm.slice/"
		 "cpuset.cpus.effective: 0-4)",
		 sysroot);
	expect_item(&r, RT_ERROR, want);
	rt_report_free(&r);
}

Test(rt, check_not_isolated)
{
	struct rt_host h;
	struct rt_report r;
	char want[512];

	fake_host(&h);
	check("pin = 1\nio-cpus = 0", "", &h, &r);
	expect_item(&r, RT_OK, "vCPU 0 on host CPU 1: online, allowed");
	expect_item(&r, RT_WARN,
		    "t.cfg:2: [vm] pin: vCPU 0: host CPU 1 is not isolated "
		    "(isolated CPUs: 2-3): other tasks may run on it; boot the "
		    "host with isolcpus=1 or use an isolated cpuset partition");
	expect_item(&r, RT_WARN,
		    "t.cfg:2: [vm] pin: vCPU 0: host CPU 1 is not in nohz_full "
		    "(nohz_full CPUs: 2): the scheduler tick still interrupts "
		    "it; boot the host with nohz_full=1");
	expect_item(&r, RT_OK,
		    "I/O threads (event loop, device I/O, vhost and KVM "
		    "workers) on host CPUs 0");
	cr_assert_eq(r.nr_error, 0);
	rt_report_free(&r);

	/* a kernel without isolated / nohz_full files: one warning each */
	remove(strcat(strcpy(want, sysroot), "/devices/system/cpu/isolated"));
	remove(strcat(strcpy(want, sysroot), "/devices/system/cpu/nohz_full"));
	fake_host(&h);
	check("vcpus = 2\npin = 2,3", "", &h, &r);
	snprintf(want, sizeof(want),
		 "t.cfg:3: [vm] pin: cannot tell which CPUs are isolated "
		 "(cannot read %s/devices/system/cpu/isolated)",
		 sysroot);
	expect_item(&r, RT_WARN, want);
	snprintf(want, sizeof(want),
		 "t.cfg:3: [vm] pin: this kernel has no nohz_full (no "
		 "%s/devices/system/cpu/nohz_full): the scheduler tick "
		 "interrupts every vCPU",
		 sysroot);
	expect_item(&r, RT_WARN, want);
	cr_assert_eq(r.nr_warn, 2);
	rt_report_free(&r);
}

Test(rt, check_io_cpus)
{
	struct rt_host h;
	struct rt_report r;

	fake_host(&h);
	check("vcpus = 2\npin = 2,3\nio-cpus = 0-3,7", "", &h, &r);
	expect_item(&r, RT_ERROR,
		    "t.cfg:4: [vm] io-cpus: host CPU 7 is offline (online "
		    "CPUs: 0-5)");
	expect_item(&r, RT_WARN,
		    "t.cfg:4: [vm] io-cpus: host CPU 2 also runs vCPU 0 ([vm] "
		    "pin): the VMM's I/O threads will compete with it");
	expect_item(&r, RT_WARN,
		    "t.cfg:4: [vm] io-cpus: host CPU 3 also runs vCPU 1 ([vm] "
		    "pin): the VMM's I/O threads will compete with it");
	expect_no_prefix(&r, "I/O threads");
	rt_report_free(&r);

	/* unset: the allowed CPUs minus the pinned ones */
	check("vcpus = 2\npin = 2,3", "", &h, &r);
	expect_item(&r, RT_OK,
		    "I/O threads (event loop, device I/O, vhost and KVM "
		    "workers) on host CPUs 0-1 (io-cpus unset: the allowed "
		    "CPUs minus the pinned ones)");
	rt_report_free(&r);

	/* nothing left */
	h.allowed = cpus("2-3");
	check("vcpus = 2\npin = 2,3", "", &h, &r);
	expect_item(&r, RT_WARN,
		    "t.cfg:3: [vm] pin: every CPU this process may use (2-3) "
		    "runs a vCPU: the VMM's other threads share them; set [vm] "
		    "io-cpus");
	rt_report_free(&r);
}

Test(rt, check_sched_privileges)
{
	struct rt_host h;
	struct rt_report r;

	fake_host(&h);
	check("pin = 2\nsched = fifo:80", "", &h, &r);
	expect_item(&r, RT_ERROR,
		    "t.cfg:3: [vm] sched: SCHED_FIFO priority 80 needs "
		    "CAP_SYS_NICE or an RLIMIT_RTPRIO of at least 80; this "
		    "process has neither (RLIMIT_RTPRIO is 0): run as root, "
		    "give vmm the capability (setcap cap_sys_nice+ep), or "
		    "raise the limit (ulimit -r 80, LimitRTPRIO= for a "
		    "service, rtprio in limits.conf)");
	cr_assert_eq(r.nr_error, 1);
	rt_report_free(&r);

	h.rtprio_max = 50;
	check("pin = 2\nsched = rr:80", "", &h, &r);
	expect_item(&r, RT_ERROR,
		    "t.cfg:3: [vm] sched: SCHED_RR priority 80 needs "
		    "CAP_SYS_NICE or an RLIMIT_RTPRIO of at least 80; this "
		    "process has neither (RLIMIT_RTPRIO is 50): run as root, "
		    "give vmm the capability (setcap cap_sys_nice+ep), or "
		    "raise the limit (ulimit -r 80, LimitRTPRIO= for a "
		    "service, rtprio in limits.conf)");
	rt_report_free(&r);
	check("pin = 2\nsched = rr:50", "", &h, &r);
	expect_item(&r, RT_OK,
		    "vCPU threads SCHED_RR priority 50 (RLIMIT_RTPRIO 50)");
	cr_assert_eq(r.nr_error, 0);
	rt_report_free(&r);

	h.rtprio_max = 0;
	h.cap_eff = 1ULL << RT_CAP_SYS_NICE;
	check("pin = 2\nsched = fifo:99", "", &h, &r);
	expect_item(&r, RT_OK,
		    "vCPU threads SCHED_FIFO priority 99 (CAP_SYS_NICE)");
	cr_assert_eq(r.nr_error, 0);
	cr_assert_eq(r.nr_warn, 0);
	rt_report_free(&r);
}

Test(rt, check_sched_warnings)
{
	struct rt_host h;
	struct rt_report r;

	fake_host(&h);
	h.cap_eff = 1ULL << RT_CAP_SYS_NICE;
	h.rt_runtime_us = 950000;
	check("sched = fifo:10", "", &h, &r);
	expect_item(&r, RT_WARN,
		    "t.cfg:2: [vm] sched: SCHED_FIFO vCPU threads are not "
		    "pinned ([vm] pin): a vCPU that never halts can starve "
		    "other tasks on any CPU");
	expect_item(&r, RT_WARN,
		    "t.cfg:2: [vm] sched: real-time throttling is on "
		    "(/proc/sys/kernel/sched_rt_runtime_us = 950000 of "
		    "1000000): a vCPU thread that never sleeps is stopped for "
		    "50000 us every 1000000 us; write -1 there to turn it off");
	cr_assert_eq(r.nr_warn, 2);
	rt_report_free(&r);
}

Test(rt, check_mlock)
{
	struct rt_host h;
	struct rt_report r;

	fake_host(&h);
	if (SANITIZED) {
		check("mlock = yes", "", &h, &r);
		expect_item(&r, RT_ERROR,
			    "t.cfg:2: [vm] mlock: not available in this "
			    "sanitizer build: AddressSanitizer reserves "
			    "terabytes of shadow memory, which mlockall() "
			    "would try to lock");
		rt_report_free(&r);
		return;
	}
	/* 32 MiB RAM + 64 MiB + 8 MiB per vCPU and device (1 vCPU) */
	check("mlock = yes", "", &h, &r);
	expect_item(&r, RT_ERROR,
		    "t.cfg:2: [vm] mlock: locking guest RAM (32 MiB) and the "
		    "VMM's memory needs CAP_IPC_LOCK or an RLIMIT_MEMLOCK of "
		    "about 104 MiB; this process has neither (RLIMIT_MEMLOCK "
		    "is 8 MiB): run as root, give vmm the capability (setcap "
		    "cap_ipc_lock+ep), or raise the limit (ulimit -l, "
		    "LimitMEMLOCK= for a service, memlock in limits.conf)");
	rt_report_free(&r);

	h.memlock_max = 104 * MiB;
	check("mlock = yes", "", &h, &r);
	expect_item(&r, RT_OK,
		    "guest RAM (32 MiB) and the VMM's memory prefaulted and "
		    "locked (RLIMIT_MEMLOCK 104 MiB, about 104 MiB needed)");
	rt_report_free(&r);

	h.memlock_max = UINT64_MAX;
	check("mlock = yes", "", &h, &r);
	expect_item(&r, RT_OK,
		    "guest RAM (32 MiB) and the VMM's memory prefaulted and "
		    "locked (RLIMIT_MEMLOCK unlimited, about 104 MiB needed)");
	rt_report_free(&r);

	h.memlock_max = 0;
	h.cap_eff = 1ULL << RT_CAP_IPC_LOCK;
	check("mlock = yes", "", &h, &r);
	expect_item(&r, RT_OK,
		    "guest RAM (32 MiB) and the VMM's memory prefaulted and "
		    "locked (CAP_IPC_LOCK)");
	cr_assert_eq(r.nr_error, 0);
	rt_report_free(&r);
}

Test(rt, check_hugepages)
{
	struct rt_host h;
	struct rt_report r;
	char want[512];

	fake_host(&h);
	/* 32 free 2 MiB pages (40 free, 8 reserved): 32M is 16 */
	check("", "hugepages = 2M", &h, &r);
	expect_item(&r, RT_OK,
		    "memory \"ram\": 16 2 MiB hugepages (32 MiB; the host has "
		    "32 free)");
	cr_assert_eq(r.nr_error, 0);
	rt_report_free(&r);

	check("", "hugepages = yes", &h, &r); /* the default: 2 MiB */
	expect_item(&r, RT_OK,
		    "memory \"ram\": 16 2 MiB hugepages (32 MiB; the host has "
		    "32 free)");
	rt_report_free(&r);

	check("", "size = 66M\nhugepages = 2M", &h, &r);
	snprintf(want, sizeof(want),
		 "t.cfg:7: [memory \"ram\"] hugepages: needs 33 free 2 MiB "
		 "hugepages (33 for this region), the host has 32 (pool 64, "
		 "free 40, reserved 8): echo 65 > "
		 "%s/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages",
		 sysroot);
	expect_item(&r, RT_ERROR, want);
	rt_report_free(&r);

	check("", "size = 1G\nhugepages = 1G", &h, &r);
	snprintf(want, sizeof(want),
		 "t.cfg:7: [memory \"ram\"] hugepages: needs 1 free 1 GiB "
		 "hugepages (1 for this region), the host has 0 (pool 0, free "
		 "0, reserved 0): echo 1 > "
		 "%s/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages",
		 sysroot);
	expect_item(&r, RT_ERROR, want);
	rt_report_free(&r);

	check("", "size = 32M\nhugepages = 32M", &h, &r);
	snprintf(want, sizeof(want),
		 "t.cfg:7: [memory \"ram\"] hugepages: this host has no 32 MiB "
		 "hugepages (no %s/kernel/mm/hugepages/hugepages-32768kB)",
		 sysroot);
	expect_item(&r, RT_ERROR, want);
	rt_report_free(&r);

	h.hugepage_default = 0;
	check("", "hugepages = yes", &h, &r);
	expect_item(&r, RT_ERROR,
		    "t.cfg:6: [memory \"ram\"] hugepages: this host has no "
		    "hugepages (no Hugepagesize in /proc/meminfo)");
	rt_report_free(&r);

	h.hugepage_default = 64 * MiB;
	check("", "hugepages = yes", &h, &r);
	expect_item(&r, RT_ERROR,
		    "t.cfg:6: [memory \"ram\"] hugepages: base 0x0 and size "
		    "0x2000000 must be multiples of the host's 64 MiB hugepage "
		    "size");
	rt_report_free(&r);
}

Test(rt, check_hugepages_add_up_over_regions)
{
	struct rt_host h;
	struct rt_report r;
	struct vm_config cfg;
	struct cfg_error err;
	const char *text = "[memory \"lo\"]\nbase = 0\nsize = 32M\n"
			   "hugepages = 2M\n"
			   "[memory \"hi\"]\nbase = 0x4000000\nsize = 34M\n"
			   "hugepages = 2M\n[boot]\nimage = img.elf\n";
	char want[512];

	fake_host(&h);
	cr_assert_eq(
		config_load_string(&cfg, "t.cfg", tmpdir, text, NULL, 0, &err),
		0, "%s", err.msg);
	memset(&r, 0, sizeof(r));
	rt_check(&cfg, &h, &r);
	expect_item(&r, RT_OK,
		    "memory \"lo\": 16 2 MiB hugepages (32 MiB; the host has "
		    "32 free)");
	cr_assert_eq(r.nr_error, 1);
	snprintf(want, sizeof(want),
		 "t.cfg:8: [memory \"hi\"] hugepages: needs 33 free 2 MiB "
		 "hugepages (17 for this region), the host has 32 (pool 64, "
		 "free 40, reserved 8): echo 65 > "
		 "%s/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages",
		 sysroot);
	expect_item(&r, RT_ERROR, want);
	config_free(&cfg);
	rt_report_free(&r);
}

Test(rt, check_halt_poll)
{
	struct rt_host h;
	struct rt_report r;
	char want[512];

	fake_host(&h);
	check("halt-poll-ns = 10000", "", &h, &r);
	expect_item(&r, RT_OK,
		    "KVM halt polling up to 10000 ns for this VM (host default "
		    "200000 ns)");
	rt_report_free(&r);

	h.kvm_halt_poll = 0;
	check("halt-poll-ns = 10000", "", &h, &r);
	snprintf(want, sizeof(want),
		 "t.cfg:2: [vm] halt-poll-ns: this kernel cannot set halt "
		 "polling per VM (no KVM_CAP_HALT_POLL, Linux 5.15 or later); "
		 "the host-wide limit is "
		 "%s/module/kvm/parameters/halt_poll_ns (200000 ns)",
		 sysroot);
	expect_item(&r, RT_ERROR, want);
	rt_report_free(&r);

	h.kvm_halt_poll = -1;
	snprintf(h.kvm_err, sizeof(h.kvm_err), "/dev/kvm: No such file");
	check("halt-poll-ns = 10000", "", &h, &r);
	expect_item(&r, RT_WARN,
		    "t.cfg:2: [vm] halt-poll-ns: cannot tell whether KVM can "
		    "set halt polling per VM: /dev/kvm: No such file");
	rt_report_free(&r);
}

Test(rt, check_nothing_to_do)
{
	struct rt_host h;
	struct rt_report r;
	char buf[4096];
	FILE *f;

	fake_host(&h);
	check("name = x", "", &h, &r);
	cr_assert_eq(r.nr, 1);
	expect_item(&r, RT_OK,
		    "no real-time settings ([vm] pin, sched, io-cpus, mlock, "
		    "halt-poll-ns; [memory] hugepages)");
	f = fmemopen(buf, sizeof(buf), "w");
	rt_report_print(&r, f);
	fclose(f);
	cr_assert_str_eq(buf, "  ok    no real-time settings ([vm] pin, "
			      "sched, io-cpus, mlock, halt-poll-ns; [memory] "
			      "hugepages)\n");
	rt_report_free(&r);
}

Test(rt, report_print_levels)
{
	struct rt_host h;
	struct rt_report r;
	char buf[8192];
	FILE *f;

	fake_host(&h);
	check("pin = 6\nio-cpus = 0", "", &h, &r);
	f = fmemopen(buf, sizeof(buf), "w");
	rt_report_print(&r, f);
	fclose(f);
	cr_assert(strstr(buf, "  error t.cfg:2: [vm] pin: vCPU 0: host CPU 6 "
			      "is offline (online CPUs: 0-5)\n"),
		  "%s", buf);
	cr_assert(strstr(buf, "  ok    I/O threads"), "%s", buf);
	rt_report_free(&r);
}

/* ---- applying: on this process's own CPUs ---- */

struct placed {
	const struct vm_config *cfg;
	cpu_set_t vcpu_cpus, io_cpus;
	int vcpu_ret, policy, io_policy;
	char why[256];
};

static void *io_thread(void *arg)
{
	struct placed *p = arg;
	struct sched_param sp;

	sched_getaffinity(0, sizeof(p->io_cpus), &p->io_cpus);
	pthread_getschedparam(pthread_self(), &p->io_policy, &sp);
	return NULL;
}

/* Stands in for a vCPU thread that starts a device I/O thread (as a
 * virtio device does at DRIVER_OK). */
static void *vcpu_thread(void *arg)
{
	struct placed *p = arg;
	pthread_attr_t attr;
	pthread_t t;

	p->vcpu_ret = rt_vcpu_setup(p->cfg, 0, p->why, sizeof(p->why));
	sched_getaffinity(0, sizeof(p->vcpu_cpus), &p->vcpu_cpus);
	p->policy = sched_getscheduler(0);
	pthread_attr_init(&attr);
	cr_assert_eq(rt_io_thread_attr(&attr), 0);
	cr_assert_eq(pthread_create(&t, &attr, io_thread, p), 0);
	pthread_join(t, NULL);
	pthread_attr_destroy(&attr);
	return NULL;
}

static void run_placed(struct placed *p)
{
	pthread_t t;

	cr_assert_eq(pthread_create(&t, NULL, vcpu_thread, p), 0);
	pthread_join(t, NULL);
}

Test(rt, apply_pin_and_io_cpus)
{
	struct placed p = { 0 };
	struct vm_config cfg;
	struct rt_host h;
	char vm[128], why[256];
	cpu_set_t main_cpus;
	unsigned c[2], n = 0;

	rt_host_probe_process(&h);
	for (unsigned i = 0; i < RT_MAX_CPUS && n < 2; i++)
		if (CPU_ISSET(i, &h.allowed))
			c[n++] = i;
	if (n < 2)
		cr_skip_test("needs 2 CPUs this process may use");
	snprintf(vm, sizeof(vm), "pin = %u\nio-cpus = %u", c[1], c[0]);
	good(&cfg, vm, "");
	cr_assert(!rt_placement_on());
	cr_assert_eq(rt_process_setup(&cfg, &h, why, sizeof(why)), 0, "%s",
		     why);
	cr_assert(rt_placement_on());
	sched_getaffinity(0, sizeof(main_cpus), &main_cpus);
	cr_assert_eq(CPU_COUNT(&main_cpus), 1);
	cr_assert(CPU_ISSET(c[0], &main_cpus));

	p.cfg = &cfg;
	run_placed(&p);
	cr_assert_eq(p.vcpu_ret, 0, "%s", p.why);
	cr_assert_eq(CPU_COUNT(&p.vcpu_cpus), 1);
	cr_assert(CPU_ISSET(c[1], &p.vcpu_cpus));
	cr_assert_eq(p.policy, SCHED_OTHER);
	cr_assert_eq(CPU_COUNT(&p.io_cpus), 1);
	cr_assert(CPU_ISSET(c[0], &p.io_cpus));
	config_free(&cfg);
}

Test(rt, apply_sched_rr)
{
	struct placed p = { 0 };
	struct vm_config cfg;
	struct rt_host h;
	char why[256];

	rt_host_probe_process(&h);
	good(&cfg, "sched = rr:1", "");
	cr_assert_eq(rt_process_setup(&cfg, &h, why, sizeof(why)), 0, "%s",
		     why);
	p.cfg = &cfg;
	run_placed(&p);
	if (p.vcpu_ret) {
		/* no privilege here: the message says what is missing */
		cr_assert_eq(p.vcpu_ret, -EPERM, "%s", p.why);
		cr_assert(strstr(p.why, "cannot set SCHED_RR priority 1: "),
			  "%s", p.why);
		cr_assert(strstr(p.why, "needs CAP_SYS_NICE or RLIMIT_RTPRIO"),
			  "%s", p.why);
	} else {
		cr_assert_eq(p.policy, SCHED_RR | SCHED_RESET_ON_FORK);
		/* unpinned: back on every CPU the process had */
		cr_assert(CPU_EQUAL(&p.vcpu_cpus, &h.allowed));
	}
	/* the I/O thread never inherits the real-time policy */
	cr_assert_eq(p.io_policy, SCHED_OTHER);
	config_free(&cfg);
}

Test(rt, apply_nothing_without_settings)
{
	struct placed p = { 0 };
	struct vm_config cfg;
	struct rt_host h;
	cpu_set_t before, after;
	char why[256];

	rt_host_probe_process(&h);
	good(&cfg, "mlock = no", "");
	sched_getaffinity(0, sizeof(before), &before);
	cr_assert_eq(rt_process_setup(&cfg, &h, why, sizeof(why)), 0);
	cr_assert(!rt_placement_on());
	sched_getaffinity(0, sizeof(after), &after);
	cr_assert(CPU_EQUAL(&before, &after));
	p.cfg = &cfg;
	run_placed(&p);
	cr_assert_eq(p.vcpu_ret, 0);
	cr_assert(CPU_EQUAL(&p.io_cpus, &before));
	cr_assert_eq(rt_mlock(&cfg, why, sizeof(why)), 0);
	config_free(&cfg);
}
