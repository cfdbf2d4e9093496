/* SPDX-License-Identifier: MIT */
/*
 * Starting the application processors (rt.h, "SMP start-up"), and the
 * topology sources put together.
 *
 * The BSP sends INIT, waits 10 ms, sends STARTUP, waits 200 us, sends
 * STARTUP again and waits 200 us, as the Intel SDM's MP initialization
 * example does; each step goes to all APs before the next one, so the
 * waits are paid once, not per AP. The waits HLT on a one-shot LAPIC timer
 * (rt_udelay()): no busy loops, which matters when the host emulates the
 * guest instruction by instruction. A CPU that has already left the
 * wait-for-SIPI state ignores the second STARTUP.
 *
 * Per-CPU data is indexed by CPU number; rt_smp_apic_index[] maps an APIC
 * ID to it (smp_tramp.S uses it before the AP has a stack).
 */
#include "rt.h"
#include "cpu.h"

#define PAGE_SIZE	   4096u
#define TRAMPOLINE_HIGHEST 0x9e000u /* below the EBDA (0x9fc00) */
#define TRAMPOLINE_LOWEST  0x1000u  /* above the IVT and BDA */
#define INIT_WAIT_US	   10000u
#define SIPI_WAIT_US	   200u

/* Shared with smp_tramp.S. */
uint8_t rt_smp_apic_index[RT_MAX_APIC_ID + 2];
uint64_t rt_ap_stack_top[RT_MAX_CPUS];
extern uint8_t rt_ap_stacks[];
extern const char rt_ap_trampoline[], rt_ap_trampoline_end[];
void rt_ap_main(unsigned index);

static struct rt_cpu cpus[RT_MAX_CPUS];
static unsigned ncpus;
static volatile unsigned running;
static rt_ap_fn ap_fn;
static uint32_t tramp_page;
static bool started;

const char *rt_topo_source_name(enum rt_topo_source src)
{
	switch (src) {
	case RT_TOPO_MADT:
		return "madt";
	case RT_TOPO_MPTABLE:
		return "mptable";
	case RT_TOPO_CMDLINE:
		return "cmdline";
	default:
		return "none";
	}
}

int rt_topology_cmdline(struct rt_topology *t, char *why, size_t len)
{
	uint64_t n = rt_cmdline_uint("cpus", 0);

	memset(t, 0, sizeof(*t));
	t->bsp = -1;
	if (!rt_cmdline_has("cpus")) {
		rt_snprintf(why, len, "no cpus=N option");
		return -1;
	}
	if (n < 1 || n > RT_MAX_CPUS) {
		rt_snprintf(why, len, "cpus= must be 1 to %u", RT_MAX_CPUS);
		return -1;
	}
	/* The VMM numbers vCPUs from 0 and uses the number as APIC ID. */
	for (unsigned i = 0; i < n; i++)
		t->apic_id[i] = i;
	t->ncpus = (unsigned)n;
	t->lapic_addr = 0xfee00000u;
	t->source = RT_TOPO_CMDLINE;
	return 0;
}

void rt_topology_discover(struct rt_topology *t, unsigned allow,
			  void (*report)(enum rt_topo_source src,
					 const char *why))
{
	static int (*const find[])(struct rt_topology *, char *, size_t) = {
		[RT_TOPO_MADT] = rt_acpi_madt,
		[RT_TOPO_MPTABLE] = rt_mptable,
		[RT_TOPO_CMDLINE] = rt_topology_cmdline,
	};
	char why[96];

	for (unsigned s = RT_TOPO_MADT; s <= RT_TOPO_CMDLINE; s++) {
		if (!(allow & (1u << s)))
			continue;
		why[0] = '\0';
		if (find[s](t, why, sizeof(why)) == 0)
			return;
		if (report)
			report((enum rt_topo_source)s, why);
	}
	memset(t, 0, sizeof(*t));
	t->source = RT_TOPO_NONE;
	t->ncpus = 1;
	t->apic_id[0] = rt_lapic_id();
	t->bsp = 0;
}

/* cpus[0] describes the BSP even before rt_smp_start(). */
static void bsp_init(void)
{
	if (ncpus)
		return;
	cpus[0].index = 0;
	cpus[0].apic_id = rt_lapic_id();
	cpus[0].state = RT_CPU_RUNNING;
	ncpus = 1;
	running = 1;
}

/* The highest RAM page below the EBDA that holds no boot information and
 * none of the firmware tables we were given. */
static uint32_t pick_trampoline(const struct rt_topology *t)
{
	for (uint32_t p = TRAMPOLINE_HIGHEST; p >= TRAMPOLINE_LOWEST;
	     p -= PAGE_SIZE) {
		if (!rt_phys_ram(p, PAGE_SIZE) ||
		    rt_boot_info_overlaps(p, PAGE_SIZE))
			continue;
		if ((t->root_addr & ~(uint64_t)(PAGE_SIZE - 1)) == p ||
		    (t->table_addr & ~(uint64_t)(PAGE_SIZE - 1)) == p)
			continue;
		return p;
	}
	return 0;
}

int rt_smp_start(const struct rt_topology *t, rt_ap_fn fn, unsigned flags,
		 char *why, size_t len)
{
	size_t size = (size_t)(rt_ap_trampoline_end - rt_ap_trampoline);
	unsigned n = 1;

	if (started) {
		rt_snprintf(why, len, "rt_smp_start() called twice");
		return -1;
	}
	bsp_init();
	memset(rt_smp_apic_index, RT_APIC_INDEX_NONE,
	       sizeof(rt_smp_apic_index));
	rt_smp_apic_index[cpus[0].apic_id] = 0;
	for (unsigned i = 0; i < t->ncpus && n < RT_MAX_CPUS; i++) {
		uint32_t id = t->apic_id[i];

		if (id > RT_MAX_APIC_ID ||
		    rt_smp_apic_index[id] != RT_APIC_INDEX_NONE)
			continue; /* the BSP, or a duplicate */
		cpus[n].index = n;
		cpus[n].apic_id = id;
		cpus[n].state = RT_CPU_OFF;
		cpus[n].data = NULL;
		rt_smp_apic_index[id] = (uint8_t)n;
		rt_ap_stack_top[n] =
			(uint64_t)(uintptr_t)(rt_ap_stacks +
					      (size_t)n * RT_AP_STACK_SIZE);
		n++;
	}
	ncpus = n;
	started = true;
	if (n == 1)
		return 0;

	tramp_page = pick_trampoline(t);
	if (!tramp_page || size > PAGE_SIZE) {
		rt_snprintf(why, len,
			    "no free RAM page below 0x%x for the AP "
			    "trampoline",
			    TRAMPOLINE_HIGHEST + PAGE_SIZE);
		ncpus = 1;
		return -1;
	}
	memcpy((void *)(uintptr_t)tramp_page, rt_ap_trampoline, size);
	ap_fn = fn;
	rt_console_share();
	__atomic_thread_fence(__ATOMIC_SEQ_CST);

	/* The SDM's sequence has the BSP software-enable its own LAPIC
	 * before the first IPI. (KVM also recalculates its APIC destination
	 * map on that write; before any LAPIC write, a VMM that never set
	 * the LAPIC state may leave a map without the APs, which drops a
	 * fixed-destination INIT: RT_SMP_INIT_FIRST tests for that.)
	 * Calibrate before the INIT, so that the 10 ms wait does not also
	 * pay for the PIT calibration's polling. */
	if (!(flags & RT_SMP_INIT_FIRST))
		rt_irq_init();
	rt_timer_calibrate();
	for (unsigned i = 1; i < n; i++) {
		cpus[i].state = RT_CPU_STARTING;
		rt_lapic_ipi(cpus[i].apic_id, RT_ICR_INIT | RT_ICR_ASSERT);
	}
	rt_udelay(INIT_WAIT_US); /* enables the LAPIC if not yet done */
	for (unsigned round = 0; round < 2; round++) {
		for (unsigned i = 1; i < n; i++)
			rt_lapic_ipi(cpus[i].apic_id,
				     RT_ICR_STARTUP | (tramp_page >> 12));
		rt_udelay(SIPI_WAIT_US);
	}
	return (int)(n - 1);
}

void rt_ap_main(unsigned index)
{
	struct rt_cpu *c = &cpus[index];
	enum rt_cpu_state expect = RT_CPU_STARTING;

	/* Only once per start: a CPU that somehow arrives twice, or that
	 * rt_smp_start() did not send a STARTUP, halts. */
	if (!__atomic_compare_exchange_n(&c->state, &expect, RT_CPU_RUNNING,
					 false, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST))
		cpu_halt_forever();
	rt_idt_load();
	rt_lapic_enable();
	__atomic_fetch_add(&running, 1, __ATOMIC_SEQ_CST);
	if (ap_fn)
		ap_fn(c);
	c->state = RT_CPU_HALTED;
	cpu_halt_forever();
}

unsigned rt_smp_ncpus(void)
{
	bsp_init();
	return ncpus;
}

unsigned rt_smp_running(void)
{
	bsp_init();
	return running;
}

struct rt_cpu *rt_smp_cpu(unsigned index)
{
	bsp_init();
	return index < ncpus ? &cpus[index] : NULL;
}

struct rt_cpu *rt_cpu_by_apic(uint32_t apic_id)
{
	bsp_init();
	if (!started)
		return apic_id == cpus[0].apic_id ? &cpus[0] : NULL;
	if (apic_id > RT_MAX_APIC_ID || rt_smp_apic_index[apic_id] >= ncpus)
		return NULL;
	return &cpus[rt_smp_apic_index[apic_id]];
}

struct rt_cpu *rt_cpu_self(void)
{
	struct rt_cpu *c = rt_cpu_by_apic(rt_lapic_id());

	return c ? c : &cpus[0];
}

uint32_t rt_smp_trampoline(void)
{
	return tramp_page;
}
