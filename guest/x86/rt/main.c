/* SPDX-License-Identifier: MIT */
/*
 * rt_main(): what runs between start.S and the program's main(), plus the
 * small CPU-identification helpers.
 *
 * Nothing here prints: a guest's first output line is its own. Interrupts
 * stay disabled until a driver asks for them (rt_irq_init()), so programs
 * that only print pay for neither the PIC nor the LAPIC setup.
 */
#include "rt.h"
#include "cpu.h"

void rt_main(uint32_t magic, uint32_t info);

void rt_main(uint32_t magic, uint32_t info)
{
	int rc;

	rt_serial_init();
	rt_idt_init();
	rt_boot_init(magic, info);
	rc = main();
	if (rc == 0)
		rt_poweroff();
	rt_exit((unsigned)rc);
}

void rt_panic(const char *fmt, ...)
{
	va_list ap;

	rt_irq_disable();
	rt_puts("PANIC: ");
	va_start(ap, fmt);
	rt_vprintf(fmt, ap);
	va_end(ap);
	rt_putc('\n');
	rt_exit(RT_EXIT_PANIC);
}

static void put_reg(char *dst, uint32_t v)
{
	memcpy(dst, &v, 4);
}

void rt_cpu_vendor(char *buf)
{
	uint32_t a, b, c, d;

	cpu_cpuid(0, 0, &a, &b, &c, &d);
	put_reg(buf, b);
	put_reg(buf + 4, d);
	put_reg(buf + 8, c);
	buf[12] = '\0';
}

void rt_cpu_brand(char *buf)
{
	uint32_t r[12], max, b, c, d;
	const char *s = (const char *)r;
	size_t skip = 0, len;

	buf[0] = '\0';
	cpu_cpuid(0x80000000u, 0, &max, &b, &c, &d);
	if (max < 0x80000004u)
		return;
	for (unsigned i = 0; i < 3; i++)
		cpu_cpuid(0x80000002u + i, 0, &r[4 * i], &r[4 * i + 1],
			  &r[4 * i + 2], &r[4 * i + 3]);
	while (skip < sizeof(r) && s[skip] == ' ')
		skip++;
	len = strnlen(s + skip, sizeof(r) - skip);
	memcpy(buf, s + skip, len);
	buf[len] = '\0';
}

bool rt_cpu_long_mode(void)
{
	return (cpu_rdmsr(MSR_EFER) & MSR_EFER_LMA) != 0;
}
