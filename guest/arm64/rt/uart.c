/* SPDX-License-Identifier: MIT */
/*
 * PL011 console output (PrimeCell UART PL011 TRM): polled, one UARTFR read
 * per byte while the transmit FIFO is full (bounded), then UARTDR.
 */
#include "rt.h"

#define UARTDR	  0x00
#define UARTFR	  0x18
#define UARTCR	  0x30
#define FR_TXFF	  (1u << 5)
#define CR_UARTEN (1u << 0)
#define CR_TXE	  (1u << 8)
#define CR_RXE	  (1u << 9)

static uintptr_t uart = ABI_PL011_BASE;

void rt_uart_init(uint64_t base)
{
	uint32_t cr;

	uart = base;
	cr = rt_read32(uart + UARTCR);
	/* Firmware-less start: enable the UART if nobody did. */
	if ((cr & (CR_UARTEN | CR_TXE)) != (CR_UARTEN | CR_TXE))
		rt_write32(uart + UARTCR, cr | CR_UARTEN | CR_TXE | CR_RXE);
}

void rt_putc(char c)
{
	for (unsigned n = 0; n < 100000; n++)
		if (!(rt_read32(uart + UARTFR) & FR_TXFF))
			break;
	rt_write32(uart + UARTDR, (uint8_t)c);
}

/* The console lock's hooks (guest/common/printf.c). */
uint64_t rt_console_irq_save(void)
{
	return rt_irq_save();
}

void rt_console_irq_restore(uint64_t flags)
{
	rt_irq_restore(flags);
}

uint32_t rt_console_cpu(void)
{
	return rt_cpu_index();
}

/* Test and test-and-set on an exclusive pair (Normal memory: the MMU is
 * on, so the exclusive monitor works). */
void rt_spin_lock(rt_spinlock_t *l)
{
	for (;;) {
		while (__atomic_load_n(&l->v, __ATOMIC_RELAXED))
			rt_cpu_relax();
		if (!__atomic_exchange_n(&l->v, 1, __ATOMIC_ACQUIRE))
			return;
	}
}

void rt_spin_unlock(rt_spinlock_t *l)
{
	__atomic_store_n(&l->v, 0, __ATOMIC_RELEASE);
}
