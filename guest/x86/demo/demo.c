/* SPDX-License-Identifier: MIT */
/*
 * demo.elf: the README's demo, "a small RTOS" on the guest runtime. The
 * scheduler, the tasks and the summary table are shared with the arm64
 * demo (guest/common/demo_rtos.c); here: the banner, the idle loop, the
 * network and the shared memory.
 *
 * A tick-driven, rate-monotonic, run-to-completion scheduler: the LAPIC
 * timer ticks at `hz=` (default 100 Hz); each task is released every
 * period; at every scheduling point the highest-priority released job runs
 * (shorter period = higher priority); when nothing is ready the CPU HLTs
 * until the next tick. A job's deadline is its next release. A job that
 * finishes late counts as a missed deadline; a release that comes due
 * while the previous one never got to run is skipped and counted as missed.
 *
 * The tasks drive a toy heating loop: "sensor" samples a simulated room
 * (first-order thermal model plus noise), "control" runs a proportional
 * controller on the average reading, "heartbeat" reports uptime and CPU
 * idle time (TSC spent in HLT). After `run=` ms of guest time (default
 * 3000) it prints a per-task summary and powers off (exit status 0).
 *
 * Network (only with a `net=` option, see rt_vnet_parse(); the demo never
 * probes for devices otherwise): a virtio-net NIC with address `ip=`
 * (default 10.0.2.15) answers ping, echoes UDP on port 7 and reports the
 * plant on UDP port 5000 ("status" -> one line). A datagram "quit" on
 * either port ends the run early. Frames are handled whenever the CPU
 * wakes up (the NIC's interrupt, or the next tick when it has none).
 *
 * Shared memory (only with an `ivshmem` or `ivshmem=N` option: the demo
 * never probes PCI otherwise): up to N (default 4) ivshmem devices, each
 * running the queue echo service of guest/x86/rt/ivshmem.h (side B of
 * the message queue at the start of BAR2: messages come back with a
 * sequence number as tag; doorbells on vector 1 are rung back). A message
 * "quit" ends the run early.
 */
#include "rt.h"
#include "cpu.h"
#include "net.h"
#include "ivshmem.h"
#include "demo_rtos.h"

#define NET_IP_DEFAULT	   0x0a00020fu /* 10.0.2.15 */
#define NET_ECHO_PORT	   7
#define NET_TELEMETRY_PORT 5000

static struct rt_vnet nic;
static struct rt_net net;
static bool net_on;

static struct rt_ivshmem ivs_dev[RT_IVSHMEM_MAX_DEVS];
static struct rt_ivq_echo ivs_echo[RT_IVSHMEM_MAX_DEVS];
static unsigned ivs_n;

uint64_t demo_cycles(void)
{
	return cpu_rdtsc();
}

/* The heartbeat line's network and shared-memory counters. */
void demo_heartbeat_more(void)
{
	if (net_on)
		rt_printf(", net %llu in %llu out",
			  (unsigned long long)net.stats.frames_in,
			  (unsigned long long)net.stats.frames_out);
	for (unsigned i = 0; i < ivs_n; i++)
		rt_printf(", ivshmem%u %llu echoed", i,
			  (unsigned long long)ivs_echo[i].echoed);
}

/* ---- network (optional) ---- */

static bool is_quit(const uint8_t *data, size_t len)
{
	while (len && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		len--;
	return len == 4 && !memcmp(data, "quit", 4);
}

static void net_quit(uint32_t src)
{
	char ip[16];
	uint64_t now = rt_uptime_ms();

	rt_printf("[%6llu ms] network   quit from %s: stopping\n",
		  (unsigned long long)now, rt_net_ip_str(src, ip));
	if (now < demo_stop_ms)
		demo_stop_ms = now;
}

static void net_echo(struct rt_net *n, uint32_t src, uint16_t sport,
		     uint16_t dport, const uint8_t *data, size_t len, void *arg)
{
	rt_net_udp_send(n, src, dport, sport, data, len);
	if (is_quit(data, len))
		net_quit(src);
}

static void net_telemetry(struct rt_net *n, uint32_t src, uint16_t sport,
			  uint16_t dport, const uint8_t *data, size_t len,
			  void *arg)
{
	char msg[96], temp[16];

	if (is_quit(data, len)) {
		net_quit(src);
		return;
	}
	demo_fmt_temp(temp, sizeof(temp), demo_plant.temp_mc);
	rt_snprintf(msg, sizeof(msg),
		    "uptime %llu ms temperature %s C heater %d%%\n",
		    (unsigned long long)rt_uptime_ms(), temp,
		    demo_plant.heater_pct);
	rt_net_udp_send(n, src, dport, sport, msg, strlen(msg));
}

/* Bring the NIC up if the command line asks for one. */
static void net_start(void)
{
	struct rt_vnet_opts o;
	const char *v;
	size_t vlen;
	uint32_t ip = NET_IP_DEFAULT;
	char why[160], mac[18], ips[16], irq[32];

	if (!rt_cmdline_opt("net", &v, &vlen))
		return;
	if (rt_vnet_parse(v, vlen, &o)) {
		rt_printf("net:    bad option net=%.*s, no network\n",
			  (int)vlen, v);
		return;
	}
	if (rt_cmdline_opt("ip", &v, &vlen) && rt_net_parse_ip(v, vlen, &ip)) {
		rt_printf("net:    bad option ip=%.*s, no network\n", (int)vlen,
			  v);
		return;
	}
	o.poll = rt_cmdline_has("poll");
	if (rt_vnet_open(&nic, &o, why, sizeof(why))) {
		rt_printf("net:    %s, no network\n", why);
		return;
	}
	rt_net_init(&net, &nic, ip);
	rt_net_udp_bind(&net, NET_ECHO_PORT, net_echo, NULL);
	rt_net_udp_bind(&net, NET_TELEMETRY_PORT, net_telemetry, NULL);
	net_on = true;
	rt_printf("net:    virtio-net %s (%s), mac %s, ip %s: ping, udp echo "
		  "port %u, status port %u\n",
		  nic.dev.name, rt_virtio_irq_mode(&nic.dev, irq, sizeof(irq)),
		  rt_net_mac_str(nic.mac, mac), rt_net_ip_str(ip, ips),
		  NET_ECHO_PORT, NET_TELEMETRY_PORT);
}

/* ---- shared memory (optional) ---- */

/* Find the ivshmem devices if the command line asks for them. */
static void ivshmem_start(void)
{
	uint64_t max = rt_cmdline_uint("ivshmem", RT_IVSHMEM_MAX_DEVS);
	unsigned found;
	char why[160], irq[40];

	if (!rt_cmdline_has("ivshmem"))
		return;
	if (max == 0 || max > RT_IVSHMEM_MAX_DEVS)
		max = RT_IVSHMEM_MAX_DEVS;
	found = rt_ivshmem_count();
	if (!found) {
		rt_puts("shm:    no ivshmem device on PCI bus 0\n");
		return;
	}
	for (unsigned i = 0; i < found && i < max; i++) {
		struct rt_ivshmem *d = &ivs_dev[i];

		if (rt_ivshmem_find(d, i, why, sizeof(why))) {
			rt_printf("shm:    ivshmem%u: %s\n", i, why);
			break;
		}
		rt_ivq_echo_init(&ivs_echo[i], d, i, 0, 4);
		ivs_n++;
		rt_printf("shm:    ivshmem%u %s, %llu KiB shared memory, %s "
			  "(%s): queue echo\n",
			  i, d->name, (unsigned long long)(d->shm_size >> 10),
			  d->msix ? "doorbell mode" : "plain mode",
			  rt_ivshmem_irq_mode(d, irq, sizeof(irq)));
	}
}

static void ivshmem_poll(void)
{
	for (unsigned i = 0; i < ivs_n; i++) {
		rt_ivshmem_take(&ivs_dev[i]);
		if (rt_ivq_echo_poll(&ivs_echo[i]) & RT_IVQ_ECHO_QUIT) {
			uint64_t now = rt_uptime_ms();

			rt_printf("[%6llu ms] shm       quit from ivshmem%u: "
				  "stopping\n",
				  (unsigned long long)now, i);
			if (now < demo_stop_ms)
				demo_stop_ms = now;
		}
	}
}

/* Interrupts off: is there shared-memory work (then do not sleep)? */
static bool ivshmem_busy(void)
{
	for (unsigned i = 0; i < ivs_n; i++)
		if (ivs_dev[i].pending || rt_ivq_echo_arm(&ivs_echo[i]))
			return true;
	return false;
}

/* HLT until `ms` (guest time), accounting the time spent idle; handle
 * frames and shared-memory messages whenever the CPU wakes up. */
void demo_idle_until(uint64_t ms)
{
	for (;;) {
		uint64_t t0;

		rt_irq_disable();
		if (rt_uptime_ms() >= ms || rt_uptime_ms() >= demo_stop_ms)
			break;
		if ((net_on && nic.dev.pending) || ivshmem_busy()) {
			rt_irq_enable();
		} else {
			t0 = cpu_rdtsc();
			rt_wait_irq();
			demo_idle_cycles += cpu_rdtsc() - t0;
		}
		if (net_on) {
			nic.dev.pending = false;
			rt_net_poll(&net);
		}
		ivshmem_poll();
	}
	rt_irq_enable();
}

static void sum_ram(const struct rt_mmap_entry *e, void *arg)
{
	uint64_t *total = arg;

	if (e->type == 1)
		*total += e->len;
}

static void banner(unsigned hz, uint64_t run_ms)
{
	char vendor[13], brand[49];
	uint32_t lower, upper, per_ms, tsc_khz;
	uint64_t ram = 0;
	unsigned entries;

	rt_cpu_vendor(vendor);
	rt_cpu_brand(brand);
	per_ms = rt_timer_calibrate();
	tsc_khz = rt_tsc_khz();

	rt_puts("vmm-rtos 1.0: a tiny rate-monotonic RTOS (vmm demo guest)\n");
	rt_printf("cpu:    %s", vendor);
	if (brand[0])
		rt_printf(" \"%s\"", brand);
	if (tsc_khz)
		rt_printf(", TSC %u MHz", tsc_khz / 1000);
	rt_putc('\n');

	entries = rt_boot_mmap(sum_ram, &ram);
	if (ram)
		rt_printf("memory: %llu MiB RAM (%s memory map, %u entries)\n",
			  (unsigned long long)(ram >> 20), rt_boot_proto_name(),
			  entries);
	else if (rt_boot_meminfo(&lower, &upper))
		rt_printf("memory: %u MiB RAM (%s: lower %u KiB, upper %u "
			  "KiB)\n",
			  (upper + 1024) / 1024, rt_boot_proto_name(), lower,
			  upper);
	else
		rt_puts("memory: unknown (no boot information)\n");
	rt_printf("boot:   %s, loader \"%s\", cmdline \"%s\"\n",
		  rt_boot_proto_name(), rt_boot_loader_name(),
		  rt_boot_cmdline());
	rt_printf("timer:  local APIC, %u MHz bus (calibrated against the "
		  "PIT), %u Hz tick\n",
		  (unsigned)(((uint64_t)per_ms * 16 + 500) / 1000), hz);
	net_start();
	ivshmem_start();
	demo_sched_line(run_ms);
}

static void summary(uint64_t run_ms, unsigned hz)
{
	demo_report(run_ms, hz);
	if (net_on) {
		const struct rt_net_stats *s = &net.stats;

		rt_printf("network: %llu frames in, %llu out: %llu arp "
			  "replies, %llu pings, %llu datagrams\n",
			  (unsigned long long)s->frames_in,
			  (unsigned long long)s->frames_out,
			  (unsigned long long)s->arp_replies,
			  (unsigned long long)s->icmp_echoes,
			  (unsigned long long)s->udp_in);
		rt_vnet_close(&nic);
	}
	for (unsigned i = 0; i < ivs_n; i++)
		rt_printf("shm: ivshmem%u: %llu messages echoed, %llu "
			  "doorbells rung\n",
			  i, (unsigned long long)ivs_echo[i].echoed,
			  (unsigned long long)ivs_echo[i].rings);
	rt_puts("system halted: powering off\n");
}

int main(void)
{
	uint64_t run_ms;
	unsigned hz;

	demo_options(&run_ms, &hz);
	banner(hz, run_ms);
	rt_timer_start(hz, NULL, NULL);
	demo_run();
	rt_timer_stop();
	summary(demo_stop_ms, hz);
	rt_poweroff();
}
