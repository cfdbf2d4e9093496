/* SPDX-License-Identifier: MIT */
/*
 * ivshmem.elf: the ivshmem test guest. Finds every ivshmem device on PCI
 * bus 0 (up to RT_IVSHMEM_MAX_DEVS), runs the queue echo service of
 * guest/x86/rt/ivshmem.h on each (side B of the message queue at `offset`
 * in BAR2: every message comes back with the same payload and tag = a
 * sequence number; doorbells on vector 1 are rung straight back to the
 * queue's side A), until a message "quit" arrives (echoed, then the guest
 * powers off: exit status 0) or the timeout passes.
 *
 * Command line:
 *   ivshmem=N       serve at most N devices (default: all found)
 *   offset=N        the queue's base in BAR2 (default 0)
 *   timeout=MS      stop after MS ms of guest time (default: never)
 *   hz=N            timer tick (default 100, or 1000 when a device has no
 *                   interrupts: plain mode is polled at every tick)
 *   log=N           print the first N messages after each attach (default 8)
 *   ring=PEER[:VEC] ring PEER's vector VEC (default 0) through device 0
 *                   once a second (guest -> host doorbell tests)
 *   watch=MS        every MS ms, print the first 16 bytes of each BAR2
 *                   (debugging the shared memory itself)
 *
 * Console: one line per device ("ivshmem0: pci 00:01.0 ..."), then
 * "ivshmem: N devices, echo service running"; "ivshmem0: queue attached
 * ...", "ivshmem0: message ...", "ivshmem0: doorbell on vector V (#n)" for
 * the first 4 doorbells per vector, a summary line per device at the end.
 *
 * Exit status (debug-exit code): 0 after "quit" (ACPI power-off), 97
 * (0x30) no device or bad options, 99 (0x31) device set-up failed, 101
 * (0x32) timeout.
 */
#include "rt.h"
#include "ivshmem.h"

#define EXIT_NODEV   0x30
#define EXIT_INIT    0x31
#define EXIT_TIMEOUT 0x32

#define HZ_IRQ	     100
#define HZ_POLL	     1000
#define LOG_DEFAULT  8
#define DOORBELL_LOG 4

static struct rt_ivshmem devs[RT_IVSHMEM_MAX_DEVS];
static struct rt_ivq_echo echo[RT_IVSHMEM_MAX_DEVS];
static uint32_t seen[RT_IVSHMEM_MAX_DEVS][RT_IVSHMEM_MAX_VECTORS];

/* ring=PEER[:VEC] */
static bool parse_ring(uint32_t *peer, uint32_t *vec)
{
	const char *v;
	size_t len, i = 0;
	uint32_t n[2] = { 0, 0 };
	unsigned k = 0;

	if (!rt_cmdline_opt("ring", &v, &len) || !len)
		return false;
	for (; i < len && k < 2; i++) {
		if (v[i] == ':') {
			k++;
			continue;
		}
		if (v[i] < '0' || v[i] > '9' || n[k] > 0xffff)
			return false;
		n[k] = n[k] * 10 + (uint32_t)(v[i] - '0');
	}
	if (k > 1 || n[0] > 0xffff || n[1] > 0xffff)
		return false;
	*peer = n[0];
	*vec = n[1];
	return true;
}

static void report_doorbells(unsigned i)
{
	struct rt_ivshmem *d = &devs[i];
	uint32_t bits = rt_ivshmem_take(d);

	for (unsigned v = 0; v < d->nvectors; v++) {
		uint32_t c = d->count[v];

		if (!(bits & (1u << v)) && c == seen[i][v])
			continue;
		for (uint32_t k = seen[i][v] + 1; k <= c && k <= DOORBELL_LOG;
		     k++)
			rt_printf("ivshmem%u: doorbell on vector %u (#%u)\n", i,
				  v, k);
		seen[i][v] = c;
	}
}

static void summary(unsigned n)
{
	char why[200];

	for (unsigned i = 0; i < n; i++) {
		struct rt_ivq_echo *e = &echo[i];

		rt_printf("ivshmem%u: %llu messages echoed, %llu dropped, "
			  "doorbells in",
			  i, (unsigned long long)e->echoed,
			  (unsigned long long)e->dropped);
		for (unsigned v = 0; v < devs[i].nvectors; v++)
			rt_printf(" v%u=%u", v, devs[i].count[v]);
		rt_printf(", %llu rung, %llu pongs\n",
			  (unsigned long long)e->rings,
			  (unsigned long long)e->pongs);
		rt_ivq_echo_describe(&echo[i], why, sizeof(why));
		rt_printf("ivshmem%u: queue: %s\n", i, why);
	}
}

int main(void)
{
	uint64_t max = rt_cmdline_uint("ivshmem", RT_IVSHMEM_MAX_DEVS);
	uint64_t offset = rt_cmdline_uint("offset", 0);
	uint64_t timeout = rt_cmdline_uint("timeout", 0);
	unsigned log = (unsigned)rt_cmdline_uint("log", LOG_DEFAULT);
	uint64_t watch = rt_cmdline_uint("watch", 0);
	uint64_t hz = 0, next_ring = 0, next_watch = 0;
	uint32_t ring_peer = 0, ring_vec = 0;
	bool ring, polled = false;
	unsigned n, found;
	char why[160], irq[40];

	rt_puts("vmm ivshmem test guest\n");
	if (max == 0 || max > RT_IVSHMEM_MAX_DEVS || (offset & 63)) {
		rt_puts("ivshmem: bad option ivshmem= or offset=\n");
		return EXIT_NODEV;
	}
	ring = rt_cmdline_has("ring");
	if (ring && !parse_ring(&ring_peer, &ring_vec)) {
		rt_puts("ivshmem: bad option ring= (PEER[:VECTOR])\n");
		return EXIT_NODEV;
	}
	found = rt_ivshmem_count();
	if (!found) {
		rt_puts("ivshmem: no ivshmem device (1af4:1110) on PCI bus "
			"0\n");
		return EXIT_NODEV;
	}
	n = found < max ? found : (unsigned)max;
	for (unsigned i = 0; i < n; i++) {
		struct rt_ivshmem *d = &devs[i];

		if (rt_ivshmem_find(d, i, why, sizeof(why))) {
			rt_printf("ivshmem%u: %s\n", i, why);
			return EXIT_INIT;
		}
		rt_printf("ivshmem%u: %s rev %u, id %d, shm %llu KiB at "
			  "0x%llx (%llu KiB write-back), %s mode, %s\n",
			  i, d->name, d->revision,
			  d->msix ? (int)rt_ivshmem_id(d) : 0,
			  (unsigned long long)(d->shm_size >> 10),
			  (unsigned long long)d->shm,
			  (unsigned long long)(d->shm_wb >> 10),
			  d->msix ? "doorbell" : "plain",
			  rt_ivshmem_irq_mode(d, irq, sizeof(irq)));
		if (offset + ivq_layout_size(IVQ_RING_MIN) > d->shm_size) {
			rt_printf("ivshmem%u: offset 0x%llx leaves no room for "
				  "a queue\n",
				  i, (unsigned long long)offset);
			return EXIT_NODEV;
		}
		if (!d->msix)
			polled = true;
		rt_ivq_echo_init(&echo[i], d, i, offset, log);
	}
	if (ring && !devs[0].msix) {
		rt_puts("ivshmem: ring= needs a device in doorbell mode\n");
		return EXIT_NODEV;
	}
	hz = rt_cmdline_uint("hz", polled ? HZ_POLL : HZ_IRQ);
	if (hz == 0 || hz > 10000)
		hz = HZ_IRQ;
	rt_timer_start((unsigned)hz, NULL, NULL);
	rt_printf("ivshmem: %u device%s, echo service running (queue at "
		  "offset 0x%llx, %llu Hz tick)\n",
		  n, n == 1 ? "" : "s", (unsigned long long)offset,
		  (unsigned long long)hz);

	for (;;) {
		unsigned flags = 0;
		bool busy = false;

		for (unsigned i = 0; i < n; i++) {
			report_doorbells(i);
			flags |= rt_ivq_echo_poll(&echo[i]);
		}
		if (flags & RT_IVQ_ECHO_QUIT) {
			summary(n);
			rt_poweroff();
		}
		if (timeout && rt_uptime_ms() >= timeout) {
			rt_printf("ivshmem: timeout after %llu ms\n",
				  (unsigned long long)timeout);
			summary(n);
			return EXIT_TIMEOUT;
		}
		if (ring && rt_uptime_ms() >= next_ring) {
			if (!next_ring)
				rt_printf("ivshmem0: ringing peer %u vector %u "
					  "every second\n",
					  ring_peer, ring_vec);
			rt_ivshmem_ring(&devs[0], (uint16_t)ring_peer,
					(uint16_t)ring_vec);
			next_ring = rt_uptime_ms() + 1000;
		}

		if (watch && rt_uptime_ms() >= next_watch) {
			for (unsigned i = 0; i < n; i++) {
				const volatile uint32_t *w =
					(const volatile uint32_t *)(uintptr_t)
						devs[i]
							.shm;

				rt_printf("ivshmem%u: [%llu ms] shm: %08x %08x "
					  "%08x %08x\n",
					  i, (unsigned long long)rt_uptime_ms(),
					  w[0], w[1], w[2], w[3]);
				rt_ivq_echo_describe(&echo[i], why,
						     sizeof(why));
				rt_printf("ivshmem%u: queue: %s, echoed %llu\n",
					  i, why,
					  (unsigned long long)echo[i].echoed);
			}
			next_watch = rt_uptime_ms() + watch;
		}

		/* Sleep until a doorbell or the next tick, unless there is
		 * work: a pending bit, or a queue that has something. */
		rt_irq_disable();
		for (unsigned i = 0; i < n && !busy; i++)
			busy = devs[i].pending || rt_ivq_echo_arm(&echo[i]);
		if (busy)
			rt_irq_enable();
		else
			rt_wait_irq();
	}
}
