/* SPDX-License-Identifier: MIT */
/*
 * Single-instruction helpers: port I/O, MMIO, CPUID, MSRs, TSC. Every
 * accessor is one instruction so that a VMM (or KVM's emulator) sees exactly
 * one access of the stated width.
 */
#ifndef GUEST_RT_CPU_H
#define GUEST_RT_CPU_H

#include <stdint.h>

#define RT_KERNEL_CS   0x08 /* runtime GDT: 64-bit code */
#define RT_KERNEL_DS   0x10 /* runtime GDT: flat data */
#define RT_KERNEL_CS32 0x18 /* runtime GDT: 32-bit flat code (AP startup) */

#define MSR_APIC_BASE	 0x0000001bu
#define MSR_APIC_BASE_EN (1u << 11)
#define MSR_EFER	 0xc0000080u
#define MSR_EFER_LMA	 (1u << 10)

static inline void pio_out8(uint16_t port, uint8_t val)
{
	__asm__ volatile("outb %0, %1" : : "a"(val), "Nd"(port));
}

static inline void pio_out16(uint16_t port, uint16_t val)
{
	__asm__ volatile("outw %0, %1" : : "a"(val), "Nd"(port));
}

static inline void pio_out32(uint16_t port, uint32_t val)
{
	__asm__ volatile("outl %0, %1" : : "a"(val), "Nd"(port));
}

static inline uint8_t pio_in8(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t mmio_read32(uint64_t addr)
{
	uint32_t v;

	__asm__ volatile("movl %1, %0"
			 : "=r"(v)
			 : "m"(*(volatile uint32_t *)(uintptr_t)addr));
	return v;
}

static inline void mmio_write32(uint64_t addr, uint32_t val)
{
	__asm__ volatile("movl %1, %0"
			 : "=m"(*(volatile uint32_t *)(uintptr_t)addr)
			 : "r"(val)
			 : "memory");
}

static inline void cpu_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t *a,
			     uint32_t *b, uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid"
			 : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d)
			 : "a"(leaf), "c"(subleaf));
}

static inline uint64_t cpu_rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void cpu_wrmsr(uint32_t msr, uint64_t val)
{
	__asm__ volatile("wrmsr"
			 :
			 : "c"(msr), "a"((uint32_t)val),
			   "d"((uint32_t)(val >> 32)));
}

static inline uint64_t cpu_rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* Spin-wait hint (also tells a hypervisor this vCPU is spinning). */
static inline void cpu_pause(void)
{
	__asm__ volatile("pause" : : : "memory");
}

static inline uint64_t cpu_read_cr2(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

/* cli, returning the previous RFLAGS for cpu_irq_restore(). */
static inline uint64_t cpu_irq_save(void)
{
	uint64_t flags;

	__asm__ volatile("pushfq; popq %0; cli" : "=r"(flags) : : "memory");
	return flags;
}

static inline void cpu_irq_restore(uint64_t flags)
{
	if (flags & (1u << 9)) /* IF */
		__asm__ volatile("sti" : : : "memory");
}

__attribute__((noreturn)) static inline void cpu_halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

#endif
