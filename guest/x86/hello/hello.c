/* SPDX-License-Identifier: MIT */
/*
 * The test guest behind every hello* image: reports what the boot gave it,
 * then does what the command line asks. guest/README.md lists the exact
 * output and options; integration tests and benchmarks depend on both.
 */
#include "rt.h"
#include "cpu.h"

#define UNASSIGNED_PORT 0x5e0
#define UNMAPPED_MMIO	0xd0000000ull
#define FIRST_LINE_MAX	40
#define ECHO_LINE_MAX	256

static void print_mmap(const struct rt_mmap_entry *e, void *arg)
{
	rt_printf("mmap: base=0x%llx len=0x%llx type=%u\n",
		  (unsigned long long)e->base, (unsigned long long)e->len,
		  e->type);
}

static void print_module(const struct rt_module *m, unsigned idx, void *arg)
{
	const char *data = (const char *)(uintptr_t)m->start;
	uint64_t size = m->end > m->start ? m->end - m->start : 0;
	unsigned n = 0;

	/* The first line: the longest prefix of printable ASCII. Modules
	 * live below 4 GiB (Multiboot addresses are 32-bit). */
	while (n < FIRST_LINE_MAX && n < size && data[n] >= 0x20 &&
	       data[n] < 0x7f)
		n++;
	rt_printf("module %u: %s size=%llu first=%.*s\n", idx, m->string,
		  (unsigned long long)size, (int)n, data);
}

static void do_timer(uint64_t n)
{
	rt_timer_start(100, NULL, NULL);
	rt_wait_ticks(n);
	rt_timer_stop();
	rt_printf("timer: %llu ticks\n", (unsigned long long)n);
}

static void do_fault(void)
{
	if (rt_cmdline_is("fault", "triple")) {
		/* #UD cannot be delivered through a zero-limit IDT, neither
		 * can the #GP nor the #DF that follow: the CPU shuts down. */
		struct {
			uint16_t limit;
			uint64_t base;
		} __attribute__((packed)) none = { 0, 0 };

		__asm__ volatile("cli; lidt %0; ud2" : : "m"(none));
	} else if (rt_cmdline_is("fault", "ud")) {
		__asm__ volatile("ud2");
	} else if (rt_cmdline_is("fault", "pio")) {
		pio_out8(UNASSIGNED_PORT, 0x42);
		rt_puts("pio survived\n");
	} else if (rt_cmdline_is("fault", "mmio")) {
		mmio_write32(UNMAPPED_MMIO, 0x42);
		rt_puts("mmio survived\n");
	} else if (rt_cmdline_is("fault", "hang")) {
		cpu_halt_forever();
	}
}

/* reset=cf9|kbc: ask for a reset the two PC ways; the VMM then exits
 * (status 8) or boots the guest again, per on-reboot. */
static void do_reset(void)
{
	if (rt_cmdline_is("reset", "cf9"))
		pio_out8(0xcf9, 0x06); /* SYS_RST | RST_CPU */
	else if (rt_cmdline_is("reset", "kbc"))
		pio_out8(0x64, 0xfe); /* i8042: pulse the reset line */
	rt_puts("reset ignored\n");
}

/* msr: touch an MSR no CPU has; the VMM answers instead of a #GP. */
static void do_msr(void)
{
	const uint32_t bogus = 0x4b564d99;

	cpu_wrmsr(bogus, 0x1234);
	rt_printf("msr: read 0x%llx\n", (unsigned long long)cpu_rdmsr(bogus));
}

static void do_echo(void)
{
	char line[ECHO_LINE_MAX];

	for (;;) {
		rt_getline(line, sizeof(line));
		if (!strcmp(line, "quit"))
			break;
		rt_printf("echo: %s\n", line);
	}
}

int main(void)
{
	uint32_t lower, upper;

	rt_puts("Hello from the vmm test guest\n");
	rt_printf("boot: %s\n", rt_boot_proto_name());
	rt_printf("cmdline: %s\n", rt_boot_cmdline());
	rt_printf("loader: %s\n", rt_boot_loader_name());
	rt_boot_meminfo(&lower, &upper);
	rt_printf("mem: lower=%u upper=%u\n", lower, upper);
	rt_printf("mmap: %u entries\n", rt_boot_mmap(NULL, NULL));
	rt_boot_mmap(print_mmap, NULL);
	rt_printf("modules: %u\n", rt_boot_modules(NULL, NULL));
	rt_boot_modules(print_module, NULL);
	rt_printf("mode: %s\n", rt_cpu_long_mode() ? "long" : "unknown");

	if (rt_cmdline_has("timer"))
		do_timer(rt_cmdline_uint("timer", 0));
	if (rt_cmdline_has("fault"))
		do_fault();
	if (rt_cmdline_has("msr"))
		do_msr();
	if (rt_cmdline_has("echo"))
		do_echo();
	if (rt_cmdline_has("reset"))
		do_reset();

	rt_puts("bye\n");
	if (rt_cmdline_has("exit"))
		rt_exit((unsigned)rt_cmdline_uint("exit", 0));
	rt_poweroff();
}
