/* SPDX-License-Identifier: MIT */
/*
 * smp.elf: starts every CPU the DTB lists (/cpus, device_type "cpu", reg =
 * MPIDR affinity) with PSCI CPU_ON; each one reports, adds 1 to a shared
 * counter 100 times under a spinlock and 100 times with an atomic add,
 * then turns itself off with CPU_OFF. Without CPUs in the DTB it tries
 * MPIDR 1, 2, ... (Aff0) until CPU_ON fails.
 *
 * Output (CPU lines in whatever order the CPUs run):
 *   vmm smp test guest
 *   smp: <N> cpus in the DTB: mpidr 0x0 0x1 ...
 *   cpu 0: mpidr 0x<m> online (boot cpu, EL<e>)
 *   smp: cpu_on cpu <i> mpidr 0x<m>: <PSCI status>
 *   cpu <i>: mpidr 0x<m> online
 *   smp: cpu_on mpidr 0x<bad>: <status>   (a CPU that does not exist)
 *   smp: <K> of <N> cpus online
 *   smp: spinlock counter <n>, atomic counter <n>, expected <n>
 *   smp: ok
 * then SYSTEM_OFF; "EXIT 32" + SYSTEM_RESET if not all came online within
 * `wait=` ms (default 10000), "EXIT 33" if a counter is off.
 */
#include "rt.h"

#define ADDS 100

static rt_spinlock_t lock;
static volatile unsigned locked_counter;
static unsigned atomic_counter;
static unsigned online;

static void add_up(void)
{
	for (unsigned i = 0; i < ADDS; i++) {
		rt_spin_lock(&lock);
		locked_counter = locked_counter + 1;
		rt_spin_unlock(&lock);
		__atomic_fetch_add(&atomic_counter, 1, __ATOMIC_RELAXED);
	}
}

static void ap_main(unsigned index, void *arg)
{
	rt_printf("cpu %u: mpidr 0x%llx online\n", index,
		  (unsigned long long)rt_mpidr());
	add_up();
	__atomic_fetch_add(&online, 1, __ATOMIC_RELEASE);
}

int main(void)
{
	uint64_t mpidr[RT_MAX_CPUS];
	unsigned n = rt_dt.nr_cpus, started = 1;
	uint64_t wait_ms = rt_cmdline_uint("wait", 10000), t0, f;
	uint64_t expected;
	int64_t ret;

	rt_puts("vmm smp test guest\n");
	if (n > RT_MAX_CPUS) {
		rt_printf("smp: %u cpus in the DTB, using %u\n", n,
			  RT_MAX_CPUS);
		n = RT_MAX_CPUS;
	}
	if (n) {
		rt_console_lock();
		rt_printf("smp: %u cpus in the DTB:", n);
		for (unsigned i = 0; i < n; i++) {
			mpidr[i] = rt_dt.cpu_mpidr[i];
			rt_printf(" mpidr 0x%llx",
				  (unsigned long long)mpidr[i]);
		}
		rt_putc('\n');
		rt_console_unlock();
	} else {
		rt_puts("smp: no cpus in the DTB, probing with CPU_ON\n");
	}
	rt_printf("cpu 0: mpidr 0x%llx online (boot cpu, EL%u)\n",
		  (unsigned long long)rt_mpidr(), rt_entry_el());
	add_up();
	__atomic_fetch_add(&online, 1, __ATOMIC_RELEASE);

	for (unsigned i = 0; i < (n ? n : RT_MAX_CPUS); i++) {
		uint64_t m = n ? mpidr[i] : i;

		if (m == rt_mpidr())
			continue;
		ret = rt_cpu_on(m, started, ap_main, NULL);
		rt_printf("smp: cpu_on cpu %u mpidr 0x%llx: %s\n", started,
			  (unsigned long long)m, rt_psci_strerror(ret));
		if (ret != PSCI_SUCCESS) {
			if (!n)
				break;
			continue;
		}
		started++;
	}
	if (!n)
		n = started;
	/* A CPU that does not exist must be refused. */
	ret = rt_psci_call(ABI_PSCI_CPU_ON_64, 0xfe, 0x40200000, 0);
	rt_printf("smp: cpu_on mpidr 0xfe: %s\n", rt_psci_strerror(ret));

	f = rt_counter_freq();
	t0 = rt_counter();
	while (__atomic_load_n(&online, __ATOMIC_ACQUIRE) < n &&
	       rt_counter() - t0 < wait_ms * (f / 1000))
		rt_cpu_relax();
	rt_udelay(1000); /* let the last one's output finish */
	rt_printf("smp: %u of %u cpus online\n",
		  __atomic_load_n(&online, __ATOMIC_ACQUIRE), n);
	if (__atomic_load_n(&online, __ATOMIC_ACQUIRE) < n)
		return 32;
	expected = (uint64_t)ADDS * n;
	rt_printf("smp: spinlock counter %u, atomic counter %u, expected "
		  "%llu\n",
		  locked_counter,
		  __atomic_load_n(&atomic_counter, __ATOMIC_RELAXED),
		  (unsigned long long)expected);
	if (locked_counter != expected || atomic_counter != expected)
		return 33;
	rt_puts("smp: ok\n");
	return 0;
}
