/* SPDX-License-Identifier: MIT */
/*
 * IDT, exception reports and interrupt routing: legacy 8259 PICs remapped
 * and fully masked, ISA IRQs through the IOAPIC to the local APIC (xAPIC
 * MMIO mode). Sources: Intel SDM Vol. 3A ch. 6 (IDT) and ch. 11 (APIC),
 * the 82093AA IOAPIC datasheet, the 8259A datasheet.
 */
#include "rt.h"
#include "cpu.h"
#include "devices/abi/x86_pc.h"

/* Local APIC registers (offsets from ABI_LAPIC_BASE) */
#define LAPIC_ID     0x020
#define LAPIC_TPR    0x080
#define LAPIC_EOI    0x0b0
#define LAPIC_SVR    0x0f0
#define LAPIC_SVR_EN 0x100
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310

#define ICR_BUSY_POLLS 1000 /* an in-kernel LAPIC is never busy at all */

/* IOAPIC: index/data window; redirection entry n at index 0x10 + 2n */
#define IOAPIC_REGSEL	 0x00
#define IOAPIC_WIN	 0x10
#define IOAPIC_REDTBL(n) (0x10 + 2 * (n))

/* 8259A PICs */
#define PIC1_CMD  0x20
#define PIC1_DATA 0x21
#define PIC2_CMD  0xa0
#define PIC2_DATA 0xa1

struct rt_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};
_Static_assert(sizeof(struct rt_frame) == 22 * 8, "matches isr.S");

struct idt_gate {
	uint16_t off_lo;
	uint16_t selector;
	uint8_t ist;
	uint8_t type; /* 0x8e: present, DPL 0, 64-bit interrupt gate */
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t reserved;
};
_Static_assert(sizeof(struct idt_gate) == 16, "IDT gate layout");

struct irq_slot {
	rt_irq_fn fn;
	void *arg;
};

extern const char rt_isr_stubs[]; /* isr.S: 16 bytes per vector */
void rt_isr_dispatch(struct rt_frame *f);

static struct idt_gate idt[RT_NR_VECTORS] __attribute__((aligned(16)));
static struct irq_slot irq_slots[RT_NR_VECTORS - RT_VEC_IRQ_BASE];
static bool irq_ready;

static const char *const exc_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
	"#DF", "CSO", "#TS", "#NP", "#SS", "#GP", "#PF", "-",
	"#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "-",	 "-",
	"-",   "-",   "-",   "-",   "#HV", "#VC", "#SX", "-",
};

static inline uint32_t lapic_read(uint32_t reg)
{
	return mmio_read32(ABI_LAPIC_BASE + reg);
}

static inline void lapic_write(uint32_t reg, uint32_t val)
{
	mmio_write32(ABI_LAPIC_BASE + reg, val);
}

static void ioapic_write(uint32_t index, uint32_t val)
{
	mmio_write32(ABI_IOAPIC_BASE + IOAPIC_REGSEL, index);
	mmio_write32(ABI_IOAPIC_BASE + IOAPIC_WIN, val);
}

void rt_idt_load(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = { sizeof(idt) - 1, (uintptr_t)idt };

	__asm__ volatile("lidt %0" : : "m"(idtr));
}

void rt_idt_init(void)
{
	for (unsigned v = 0; v < RT_NR_VECTORS; v++) {
		uint64_t a = (uintptr_t)rt_isr_stubs + 16 * v;

		idt[v].off_lo = (uint16_t)a;
		idt[v].selector = RT_KERNEL_CS;
		idt[v].type = 0x8e;
		idt[v].off_mid = (uint16_t)(a >> 16);
		idt[v].off_hi = (uint32_t)(a >> 32);
	}
	rt_idt_load();
}

uint32_t rt_lapic_id(void)
{
	return lapic_read(LAPIC_ID) >> 24;
}

void rt_lapic_enable(void)
{
	uint64_t base;

	/* Globally enabled at the default base (reset state, but make
	 * sure), software-enabled with the spurious vector, accept all
	 * priorities. */
	base = cpu_rdmsr(MSR_APIC_BASE);
	if (!(base & MSR_APIC_BASE_EN))
		cpu_wrmsr(MSR_APIC_BASE, base | MSR_APIC_BASE_EN);
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_SVR, LAPIC_SVR_EN | RT_VEC_SPURIOUS);
}

int rt_lapic_ipi(uint32_t apic_id, uint32_t icr_low)
{
	uint64_t flags = cpu_irq_save();

	/* The high dword holds the destination; writing the low one sends. */
	lapic_write(LAPIC_ICR_HI, apic_id << 24);
	lapic_write(LAPIC_ICR_LO, icr_low);
	cpu_irq_restore(flags);
	for (unsigned i = 0; i < ICR_BUSY_POLLS; i++) {
		if (!(lapic_read(LAPIC_ICR_LO) & RT_ICR_BUSY))
			return 0;
		cpu_pause();
	}
	return -1;
}

void rt_irq_init(void)
{
	if (irq_ready)
		return;
	irq_ready = true;

	/* 8259s: ICW1-4 (edge, cascade, 8086 mode) with vector bases 0x20 and
	 * 0x28, then mask every line. Nothing should arrive through them; if
	 * a spurious IRQ 7/15 does, it lands on an IRQ vector, not on an
	 * exception. */
	pio_out8(PIC1_CMD, 0x11);
	pio_out8(PIC2_CMD, 0x11);
	pio_out8(PIC1_DATA, RT_VEC_IRQ_BASE);
	pio_out8(PIC2_DATA, RT_VEC_IRQ_BASE + 8);
	pio_out8(PIC1_DATA, 0x04); /* slave on IR2 */
	pio_out8(PIC2_DATA, 0x02); /* slave identity */
	pio_out8(PIC1_DATA, 0x01);
	pio_out8(PIC2_DATA, 0x01);
	pio_out8(PIC1_DATA, 0xff);
	pio_out8(PIC2_DATA, 0xff);

	rt_lapic_enable();
	rt_irq_enable();
}

int rt_vector_attach(unsigned vector, rt_irq_fn fn, void *arg)
{
	uint64_t flags;

	if (vector < RT_VEC_IRQ_BASE || vector >= RT_VEC_SPURIOUS)
		return -1;
	flags = cpu_irq_save();
	irq_slots[vector - RT_VEC_IRQ_BASE].fn = fn;
	irq_slots[vector - RT_VEC_IRQ_BASE].arg = arg;
	cpu_irq_restore(flags);
	return 0;
}

int rt_irq_attach(unsigned irq, rt_irq_fn fn, void *arg)
{
	uint32_t dest;

	if (irq == 0 || irq > 15)
		return -1;
	rt_irq_init();
	rt_vector_attach(RT_VEC_IRQ_BASE + irq, fn, arg);
	/* Fixed delivery, physical destination = this CPU, edge, active
	 * high (ISA defaults); high dword first, the low one unmasks. */
	dest = rt_lapic_id();
	ioapic_write(IOAPIC_REDTBL(irq) + 1, dest << 24);
	ioapic_write(IOAPIC_REDTBL(irq), RT_VEC_IRQ_BASE + irq);
	return 0;
}

__attribute__((noreturn)) static void exception(struct rt_frame *f)
{
	rt_console_lock(); /* recursive: works mid-line on this CPU too */
	rt_printf("EXCEPTION %u err=0x%lx rip=0x%lx\n", (unsigned)f->vector,
		  (unsigned long)f->error, (unsigned long)f->rip);
	rt_printf("  %s rsp=0x%lx rflags=0x%lx", exc_names[f->vector],
		  (unsigned long)f->rsp, (unsigned long)f->rflags);
	if (f->vector == 14)
		rt_printf(" cr2=0x%lx", (unsigned long)cpu_read_cr2());
	rt_putc('\n');
	rt_exit(RT_EXIT_EXCEPTION);
}

void rt_isr_dispatch(struct rt_frame *f)
{
	struct irq_slot *s;

	if (f->vector < 32)
		exception(f);
	if (f->vector == RT_VEC_SPURIOUS)
		return; /* no EOI for the spurious vector */
	s = &irq_slots[f->vector - RT_VEC_IRQ_BASE];
	if (s->fn)
		s->fn(s->arg);
	lapic_write(LAPIC_EOI, 0);
}
