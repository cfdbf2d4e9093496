/* SPDX-License-Identifier: MIT */
/*
 * SMP constants shared by C (smp.c, rt.h) and assembly (smp_tramp.S).
 * Preprocessor definitions only: this header is included by .S files.
 */
#ifndef GUEST_RT_SMP_DEFS_H
#define GUEST_RT_SMP_DEFS_H

/* CPUs the runtime can start, the BSP included (the VMM's limit too). */
#define RT_MAX_CPUS 64

/* Highest xAPIC ID a CPU can have: 0xff is the broadcast destination. */
#define RT_MAX_APIC_ID 0xfe

/* Stack of each application processor (the BSP keeps start.S's 16 KiB). */
#define RT_AP_STACK_SIZE 8192

/* rt_smp_apic_index[] value of an APIC ID that is not one of our CPUs. */
#define RT_APIC_INDEX_NONE 0xff

/* xAPIC ID register: physical address; the ID is in bits 31:24. */
#define RT_LAPIC_ID_ADDR 0xfee00020

#endif
