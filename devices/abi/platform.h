/* SPDX-License-Identifier: MIT */
/*
 * The host architecture's platform ABI, for the arch-neutral device models
 * that need a default (virtio-mmio slots, PCI windows): the one place that
 * picks between the x86 PC (devices/abi/x86_pc.h) and the QEMU-virt-like
 * arm64 board (devices/abi/arm64_virt.h). CMake defines VMM_ARCH_<arch>.
 * Both headers define ABI_VIRTIO_MMIO_BASE, _SLOT_SIZE, _SLOTS, _IRQS,
 * _NR_IRQS and the ABI_PCI_* windows.
 */
#ifndef DEVICES_ABI_PLATFORM_H
#define DEVICES_ABI_PLATFORM_H

#if defined(VMM_ARCH_arm64)
#include "devices/abi/arm64_virt.h"
#else
#include "devices/abi/x86_pc.h"
#endif

#endif
