/* SPDX-License-Identifier: MIT */
/*
 * Driver-private pieces of the guest virtio code (virtio*.c): sized MMIO
 * and port accessors, PCI configuration access, and the ABI headers the
 * VMM shares with us (register and feature numbers of virtio 1.2 and PCI).
 * Not part of the runtime's API.
 */
#ifndef GUEST_RT_VIRTIO_HW_H
#define GUEST_RT_VIRTIO_HW_H

#include <stdint.h>

#include "devices/abi/pci.h"
#include "devices/abi/virtio.h"
#include "devices/abi/x86_pc.h"

/* ---- one-instruction accessors (the width the device sees is exact) ---- */
static inline uint8_t vio_read8(uint64_t a)
{
	uint8_t v;

	__asm__ volatile("movb %1, %0"
			 : "=q"(v)
			 : "m"(*(volatile uint8_t *)(uintptr_t)a));
	return v;
}

static inline uint16_t vio_read16(uint64_t a)
{
	uint16_t v;

	__asm__ volatile("movw %1, %0"
			 : "=r"(v)
			 : "m"(*(volatile uint16_t *)(uintptr_t)a));
	return v;
}

static inline uint32_t vio_read32(uint64_t a)
{
	uint32_t v;

	__asm__ volatile("movl %1, %0"
			 : "=r"(v)
			 : "m"(*(volatile uint32_t *)(uintptr_t)a));
	return v;
}

static inline void vio_write8(uint64_t a, uint8_t v)
{
	__asm__ volatile("movb %1, %0"
			 : "=m"(*(volatile uint8_t *)(uintptr_t)a)
			 : "q"(v)
			 : "memory");
}

static inline void vio_write16(uint64_t a, uint16_t v)
{
	__asm__ volatile("movw %1, %0"
			 : "=m"(*(volatile uint16_t *)(uintptr_t)a)
			 : "r"(v)
			 : "memory");
}

static inline void vio_write32(uint64_t a, uint32_t v)
{
	__asm__ volatile("movl %1, %0"
			 : "=m"(*(volatile uint32_t *)(uintptr_t)a)
			 : "r"(v)
			 : "memory");
}

static inline uint32_t vio_in32(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void vio_out32(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

/* Type-1 configuration access in dword units (devices/abi/pci.h has the
 * register offsets and the CONFIG_ADDRESS layout). */
uint32_t vio_pci_read32(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t reg);
void vio_pci_write32(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t reg,
		     uint32_t v);

#endif
