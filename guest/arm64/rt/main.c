/* SPDX-License-Identifier: MIT */
/*
 * rt_main(): from start.S to the program's main(), the secondary CPUs'
 * entry, the exception report and the ways out (PSCI SYSTEM_OFF/RESET).
 */
#include "rt.h"

extern uint32_t rt_entry_el_value; /* start.S: CurrentEL at entry */

void rt_main(void);
void rt_secondary_main(unsigned index);
void rt_exception(uint64_t kind, struct rt_regs *regs);

/* Filled by rt_cpu_on() (psci.c) before the CPU starts. */
struct rt_cpu_start {
	rt_cpu_fn fn;
	void *arg;
};
extern struct rt_cpu_start rt_cpu_start[RT_MAX_CPUS];

unsigned rt_entry_el(void)
{
	return rt_entry_el_value;
}

void rt_main(void)
{
	int dt = rt_dt_parse(ABI_RAM_BASE);
	int ret;

	rt_uart_init(rt_dt.uart ? rt_dt.uart : ABI_PL011_BASE);
	if (dt)
		rt_puts("rt: no device tree at 0x40000000, using defaults\n");
	if (rt_gic_init())
		rt_puts("rt: no usable GIC\n");
	ret = main();
	rt_exit((unsigned)ret);
}

void rt_secondary_main(unsigned index)
{
	struct rt_cpu_start *s = &rt_cpu_start[index];

	rt_gic_init_cpu();
	if (s->fn)
		s->fn(index, s->arg);
	rt_cpu_off();
}

static const char *const vector_names[16] = {
	"sync (EL1, SP0)",
	"IRQ (EL1, SP0)",
	"FIQ (EL1, SP0)",
	"SError (EL1, SP0)",
	"sync",
	"IRQ",
	"FIQ",
	"SError",
	"sync (lower EL)",
	"IRQ (lower EL)",
	"FIQ (lower EL)",
	"SError (lower EL)",
	"sync (AArch32)",
	"IRQ (AArch32)",
	"FIQ (AArch32)",
	"SError (AArch32)",
};

const char *rt_ec_name(unsigned ec)
{
	switch (ec) {
	case 0x00:
		return "unknown reason (undefined instruction)";
	case 0x01:
		return "WFI/WFE trapped";
	case 0x07:
		return "SIMD/FP access trapped";
	case 0x0e:
		return "illegal execution state";
	case 0x15:
		return "SVC (AArch64)";
	case 0x16:
		return "HVC (AArch64)";
	case 0x17:
		return "SMC (AArch64)";
	case 0x18:
		return "system register access trapped";
	case 0x20:
		return "instruction abort (lower EL)";
	case 0x21:
		return "instruction abort";
	case 0x22:
		return "PC alignment fault";
	case 0x24:
		return "data abort (lower EL)";
	case 0x25:
		return "data abort";
	case 0x26:
		return "SP alignment fault";
	case 0x2f:
		return "SError";
	case 0x30:
	case 0x31:
		return "breakpoint";
	case 0x32:
	case 0x33:
		return "software step";
	case 0x34:
	case 0x35:
		return "watchpoint";
	case 0x3c:
		return "BRK instruction";
	default:
		return "?";
	}
}

/* Data/instruction abort status code (ESR ISS DFSC/IFSC). */
static const char *fsc_name(unsigned fsc)
{
	switch (fsc & 0x3c) {
	case 0x04:
		return "translation fault";
	case 0x08:
		return "access flag fault";
	case 0x0c:
		return "permission fault";
	}
	if (fsc == 0x10)
		return "synchronous external abort";
	if (fsc == 0x21)
		return "alignment fault";
	if ((fsc & 0x3c) == 0x00)
		return "address size fault";
	return "other";
}

void rt_exception(uint64_t kind, struct rt_regs *r)
{
	unsigned ec = (unsigned)(r->esr >> 26) & 0x3f;

	rt_console_lock();
	rt_printf("EXCEPTION %s on cpu %u: EC=0x%02x (%s) ESR=0x%08llx "
		  "FAR=0x%llx ELR=0x%llx\n",
		  vector_names[kind & 15], rt_cpu_index(), ec, rt_ec_name(ec),
		  (unsigned long long)r->esr, (unsigned long long)r->far,
		  (unsigned long long)r->elr);
	if (ec == 0x20 || ec == 0x21 || ec == 0x24 || ec == 0x25) {
		unsigned fsc = r->esr & 0x3f;

		rt_printf("  %s, %s", fsc_name(fsc),
			  ec >= 0x24 ? (r->esr & (1 << 6) ? "write" : "read")
				     : "fetch");
		if (fsc < 0x10)
			rt_printf(", level %u", fsc & 3);
		rt_putc('\n');
	}
	for (unsigned i = 0; i < 31; i += 2) {
		if (i == 30)
			rt_printf("  x30=%016llx sp=%016llx\n",
				  (unsigned long long)r->x[30],
				  (unsigned long long)r->sp);
		else
			rt_printf("  x%-2u=%016llx x%-2u=%016llx\n", i,
				  (unsigned long long)r->x[i], i + 1,
				  (unsigned long long)r->x[i + 1]);
	}
	rt_printf("  spsr=%08llx\n", (unsigned long long)r->spsr);
	rt_puts("EXCEPTION: requesting system reset\n");
	rt_console_unlock();
	rt_reset();
}

void rt_poweroff(void)
{
	rt_psci_call(ABI_PSCI_SYSTEM_OFF, 0, 0, 0);
	rt_puts("rt: PSCI SYSTEM_OFF returned\n");
	for (;;)
		__asm__ volatile("wfi");
}

void rt_reset(void)
{
	rt_psci_call(ABI_PSCI_SYSTEM_RESET, 0, 0, 0);
	rt_puts("rt: PSCI SYSTEM_RESET returned\n");
	for (;;)
		__asm__ volatile("wfi");
}

void rt_exit(unsigned code)
{
	if (!code)
		rt_poweroff();
	rt_printf("EXIT %u\n", code);
	rt_reset();
}

void rt_panic(const char *fmt, ...)
{
	va_list ap;

	rt_console_lock();
	rt_puts("PANIC: ");
	va_start(ap, fmt);
	rt_vprintf(fmt, ap);
	va_end(ap);
	rt_putc('\n');
	rt_console_unlock();
	rt_reset();
}
