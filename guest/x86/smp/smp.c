/* SPDX-License-Identifier: MIT */
/*
 * The SMP test guest: finds the CPUs in the firmware tables (ACPI MADT,
 * else MP table, else cpus=N), starts every application processor with
 * INIT-SIPI-SIPI, and has each CPU report its APIC ID three ways (CPUID
 * leaf 1 EBX[31:24], CPUID leaf 0xB EDX, the LAPIC ID register), then
 * "online". guest/README.md lists the exact output and options; the
 * integration tests (tests/integration/smp.sh) depend on both.
 */
#include "rt.h"
#include "cpu.h"

#define EXIT_MISSING	0x20 /* status 65: not every CPU came online */
#define EXIT_MISMATCH	0x21 /* status 67: APIC IDs disagree, or lock broken */
#define EXIT_START	0x22 /* status 69: rt_smp_start() failed */
#define DEFAULT_WAIT_MS 2000
#define LOCK_ROUNDS	100

static volatile unsigned online; /* CPUs that printed "online" */
static volatile unsigned mismatches;
static rt_spinlock_t counter_lock;
static unsigned counter; /* under counter_lock, non-atomic on purpose */

static void report_fail(enum rt_topo_source src, const char *why)
{
	rt_printf("smp: no %s: %s\n", rt_topo_source_name(src), why);
}

/* On every CPU, the BSP included. */
static void cpu_report(struct rt_cpu *c)
{
	uint32_t max, a, b, cx, d, leaf1, x2 = 0, lapic = rt_lapic_id();
	bool has_0b = false;

	cpu_cpuid(0, 0, &max, &b, &cx, &d);
	cpu_cpuid(1, 0, &a, &b, &cx, &d);
	leaf1 = b >> 24;
	if (max >= 0xb) {
		/* Leaf 0xB exists if subleaf 0 reports logical processors
		 * (EBX[15:0] != 0); EDX is the x2APIC ID at every level. */
		cpu_cpuid(0xb, 0, &a, &b, &cx, &d);
		has_0b = (b & 0xffff) != 0;
		x2 = d;
	}
	if (has_0b)
		rt_printf("cpu %u: cpuid leaf 1 apic id %u, leaf 0xb x2apic "
			  "id %u, lapic id %u\n",
			  c->index, leaf1, x2, lapic);
	else
		rt_printf("cpu %u: cpuid leaf 1 apic id %u, no leaf 0xb, "
			  "lapic id %u\n",
			  c->index, leaf1, lapic);
	if (leaf1 != lapic || (has_0b && x2 != lapic) || lapic != c->apic_id) {
		rt_printf("cpu %u: apic id mismatch: cpuid leaf 1 %u, leaf 0xb "
			  "%d, lapic %u, tables %u\n",
			  c->index, leaf1, has_0b ? (int)x2 : -1, lapic,
			  c->apic_id);
		__atomic_fetch_add(&mismatches, 1, __ATOMIC_SEQ_CST);
	}

	/* Exercise the spinlock: a plain read-modify-write under it. */
	for (unsigned i = 0; i < LOCK_ROUNDS; i++) {
		rt_spin_lock(&counter_lock);
		counter = counter + 1;
		rt_spin_unlock(&counter_lock);
	}

	rt_printf("cpu %u: apic id %u online\n", c->index, lapic);
	__atomic_fetch_add(&online, 1, __ATOMIC_SEQ_CST);
}

static unsigned allowed_sources(void)
{
	if (rt_cmdline_is("source", "madt"))
		return 1u << RT_TOPO_MADT;
	if (rt_cmdline_is("source", "mptable"))
		return 1u << RT_TOPO_MPTABLE;
	if (rt_cmdline_is("source", "cmdline"))
		return 1u << RT_TOPO_CMDLINE;
	return RT_TOPO_ALLOW_ALL;
}

static void print_topology(const struct rt_topology *t)
{
	uint32_t me = rt_lapic_id();
	bool found = false;

	if (t->source == RT_TOPO_MADT)
		rt_printf("smp: rsdp at 0x%llx revision %u oem \"%s\", madt at "
			  "0x%llx\n",
			  (unsigned long long)t->root_addr, t->revision, t->oem,
			  (unsigned long long)t->table_addr);
	else if (t->source == RT_TOPO_MPTABLE)
		rt_printf("smp: mp floating pointer at 0x%llx spec 1.%u, "
			  "config table at 0x%llx oem \"%s\"\n",
			  (unsigned long long)t->root_addr, t->revision,
			  (unsigned long long)t->table_addr, t->oem);
	if (t->source == RT_TOPO_MADT || t->source == RT_TOPO_MPTABLE)
		rt_printf("smp: lapic at 0x%llx\n",
			  (unsigned long long)t->lapic_addr);
	for (unsigned i = 0; i < t->nioapics; i++)
		rt_printf("smp: ioapic id %u at 0x%x gsi base %u\n",
			  t->ioapic[i].id, t->ioapic[i].addr,
			  t->ioapic[i].gsi_base);
	if (t->skipped)
		rt_printf("smp: %u processor entries not used\n", t->skipped);

	rt_console_lock();
	rt_puts("smp: apic ids:");
	for (unsigned i = 0; i < t->ncpus; i++) {
		rt_printf(" %u", t->apic_id[i]);
		found |= t->apic_id[i] == me;
	}
	rt_puts("\n");
	rt_console_unlock();
	if (!found)
		rt_printf("smp: warning: the bsp (apic id %u) is not listed\n",
			  me);
	if (t->bsp >= 0 && t->apic_id[t->bsp] != me)
		rt_printf("smp: warning: the table's bsp is apic id %u, not "
			  "%u\n",
			  t->apic_id[t->bsp], me);
}

int main(void)
{
	unsigned wait_ms = (unsigned)rt_cmdline_uint("wait", DEFAULT_WAIT_MS);
	struct rt_topology t;
	unsigned n, k;
	char why[96];
	int rc;

	rt_printf("vmm smp test guest\n");
	rt_topology_discover(&t, allowed_sources(), report_fail);
	rt_printf("smp: %u cpus from %s\n", t.ncpus,
		  rt_topo_source_name(t.source));
	print_topology(&t);

	cpu_report(rt_cpu_self()); /* the BSP first: cpu 0 */
	rc = rt_smp_start(&t, cpu_report,
			  rt_cmdline_has("init-first") ? RT_SMP_INIT_FIRST : 0,
			  why, sizeof(why));
	if (rc < 0) {
		rt_printf("smp: cannot start the APs: %s\n", why);
		return EXIT_START;
	}
	if (rc > 0)
		rt_printf("smp: INIT-SIPI-SIPI sent to %d cpus, trampoline at "
			  "0x%x\n",
			  rc, rt_smp_trampoline());

	n = rt_smp_ncpus();
	k = rt_wait_count(&online, n, wait_ms);
	rt_timer_stop();
	if (k < n) {
		rt_printf("smp: timeout, %u of %u cpus online\n", k, n);
		for (unsigned i = 1; i < n; i++) {
			const struct rt_cpu *c = rt_smp_cpu(i);

			if (c->state == RT_CPU_STARTING)
				rt_printf("smp: cpu %u (apic id %u) did not "
					  "start\n",
					  i, c->apic_id);
		}
	}
	rt_printf("smp: %u of %u cpus online\n", k, n);
	if (k < n)
		return EXIT_MISSING;

	/* Every CPU finished its rounds before counting itself online. */
	rt_printf("smp: spinlock counter %u, expected %u\n", counter,
		  n * LOCK_ROUNDS);
	if (counter != n * LOCK_ROUNDS || mismatches)
		return EXIT_MISMATCH;
	return 0;
}
