/* SPDX-License-Identifier: MIT */
/*
 * COM1 driver for an 8250/16550-compatible UART (register map from the
 * PC16550D datasheet).
 *
 * Output is polled: read LSR once, write THR if the transmitter holding
 * register is empty. A VMM's UART is always ready, so each byte costs
 * exactly two port accesses; on slow or absent hardware the wait is bounded
 * and the byte is written anyway (better garbled output than a hang).
 *
 * Input is interrupt driven: IER.ERBFI raises IRQ 4, routed through the
 * IOAPIC; the handler moves every byte the LSR reports ready into a ring.
 * Before each HLT rt_getc() also drains the UART itself, so an edge lost
 * before the IOAPIC pin was unmasked cannot stall input forever.
 */
#include "rt.h"
#include "cpu.h"
#include "devices/abi/x86_pc.h"

#define UART_THR 0 /* write, DLAB = 0 */
#define UART_RBR 0 /* read, DLAB = 0 */
#define UART_DLL 0 /* DLAB = 1 */
#define UART_IER 1 /* DLAB = 0 */
#define UART_DLM 1 /* DLAB = 1 */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5

#define IER_ERBFI 0x01 /* received data available interrupt */
#define LCR_8N1	  0x03
#define LCR_DLAB  0x80
#define MCR_DTR	  0x01
#define MCR_RTS	  0x02
#define MCR_OUT2  0x08 /* gates the interrupt line on PCs */
#define LSR_DR	  0x01
#define LSR_THRE  0x20

#define TX_SPIN_MAX 100000
#define RX_RING	    256 /* power of two */
#define RX_BURST    64	/* bytes drained per interrupt at most */

static volatile uint8_t rx_ring[RX_RING];
static volatile uint32_t rx_head, rx_tail; /* head: ISR writes */
static bool rx_enabled;

/* The FIFO control register is left alone: enabling or resetting the
 * FIFOs drops bytes a VMM may already have queued (input piped in before
 * the guest started), and one-byte RBR/THR operation is all we need. */
void rt_serial_init(void)
{
	const uint16_t p = ABI_COM1_PORT;

	pio_out8(p + UART_IER, 0);
	pio_out8(p + UART_LCR, LCR_DLAB);
	pio_out8(p + UART_DLL, 1); /* 115200 baud */
	pio_out8(p + UART_DLM, 0);
	pio_out8(p + UART_LCR, LCR_8N1);
	pio_out8(p + UART_MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
}

void rt_putc(char c)
{
	for (unsigned i = 0; i < TX_SPIN_MAX; i++)
		if (pio_in8(ABI_COM1_PORT + UART_LSR) & LSR_THRE)
			break;
	pio_out8(ABI_COM1_PORT + UART_THR, (uint8_t)c);
}

/* The console lock's hooks (guest/common/printf.c). */
uint64_t rt_console_irq_save(void)
{
	return cpu_irq_save();
}

void rt_console_irq_restore(uint64_t flags)
{
	cpu_irq_restore(flags);
}

uint32_t rt_console_cpu(void)
{
	return rt_lapic_id();
}

/* Interrupts off (ISR or caller). */
static void serial_drain(void)
{
	for (unsigned i = 0; i < RX_BURST; i++) {
		uint8_t c;

		if (!(pio_in8(ABI_COM1_PORT + UART_LSR) & LSR_DR))
			break;
		c = pio_in8(ABI_COM1_PORT + UART_RBR);
		if (rx_head - rx_tail < RX_RING) {
			rx_ring[rx_head % RX_RING] = c;
			rx_head++;
		}
	}
}

static void serial_isr(void *arg)
{
	serial_drain();
}

static void serial_rx_enable(void)
{
	if (rx_enabled)
		return;
	rx_enabled = true;
	/* Pin first, then the UART: the first edge finds the route ready. */
	rt_irq_attach(ABI_COM1_IRQ, serial_isr, NULL);
	pio_out8(ABI_COM1_PORT + UART_IER, IER_ERBFI);
}

int rt_trygetc(void)
{
	int c = -1;

	serial_rx_enable();
	rt_irq_disable();
	if (rx_head == rx_tail)
		serial_drain();
	if (rx_head != rx_tail) {
		c = rx_ring[rx_tail % RX_RING];
		rx_tail++;
	}
	rt_irq_enable();
	return c;
}

int rt_getc(void)
{
	serial_rx_enable();
	for (;;) {
		rt_irq_disable();
		if (rx_head == rx_tail)
			serial_drain();
		if (rx_head != rx_tail) {
			int c = rx_ring[rx_tail % RX_RING];

			rx_tail++;
			rt_irq_enable();
			return c;
		}
		rt_wait_irq();
	}
}

size_t rt_getline(char *buf, size_t size)
{
	static bool after_cr; /* swallow the LF of a CR LF pair */
	size_t n = 0;

	for (;;) {
		int c = rt_getc();

		if (c == '\n' && after_cr) {
			after_cr = false;
			continue;
		}
		after_cr = c == '\r';
		if (c == '\r' || c == '\n')
			break;
		if (c == 0x7f || c == '\b') {
			if (n)
				n--;
			continue;
		}
		if (c < 0x20)
			continue;
		if (n + 1 < size)
			buf[n++] = (char)c;
	}
	if (size)
		buf[n] = '\0';
	return n;
}
