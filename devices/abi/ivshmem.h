/* SPDX-License-Identifier: MIT */
/*
 * The ivshmem PCI device as a guest sees it (QEMU's docs/specs/
 * ivshmem-spec.txt, revision 1), shared by the VMM (devices/ivshmem.c), the
 * ivshmem server and host library (tools/) and the guests in guest/.
 * Freestanding: <stdint.h> only.
 *
 *   BAR0  32-bit memory, 256 bytes: the registers below
 *   BAR1  32-bit memory, 4 KiB: MSI-X table at 0, PBA at 0x800
 *         (doorbell mode only; plain mode has no BAR1 and no MSI-X)
 *   BAR2  64-bit prefetchable memory: the shared memory (a power of two)
 *
 * Doorbell mode: IVPosition is this guest's peer ID (0..65535) from the
 * ivshmem server; writing IVSHMEM_DOORBELL(peer, vector) to Doorbell raises
 * MSI-X vector `vector` in peer `peer` (a write to a peer or vector that is
 * not connected is ignored). Plain mode: IVPosition reads 0, Doorbell
 * writes are ignored. Interrupt Mask/Status are reserved in revision 1
 * (read/write storage; reading Status clears it; no effect).
 */
#ifndef DEVICES_ABI_IVSHMEM_H
#define DEVICES_ABI_IVSHMEM_H

#include <stdint.h>

#define IVSHMEM_VENDOR_ID	 0x1af4
#define IVSHMEM_DEVICE_ID	 0x1110
#define IVSHMEM_SUBSYS_VENDOR_ID 0x1af4
#define IVSHMEM_SUBSYS_ID	 0x1100
#define IVSHMEM_REVISION	 1
#define IVSHMEM_CLASS		 0x050000 /* memory controller, RAM */

#define IVSHMEM_BAR_REGS 0
#define IVSHMEM_BAR_MSIX 1
#define IVSHMEM_BAR_SHM	 2

/* BAR0: 32-bit registers, accessed as aligned dwords */
#define IVSHMEM_REGS_SIZE	256
#define IVSHMEM_REG_INTR_MASK	0x00 /* r/w, reserved (revision 1) */
#define IVSHMEM_REG_INTR_STATUS 0x04 /* r/w, reserved; read clears */
#define IVSHMEM_REG_IV_POSITION 0x08 /* r/o: own peer ID, 0 in plain mode */
#define IVSHMEM_REG_DOORBELL	0x0c /* w/o: peer << 16 | vector */

#define IVSHMEM_DOORBELL(peer, vector) \
	((uint32_t)(peer) << 16 | ((uint32_t)(vector)&0xffffu))

/* BAR1: MSI-X (QEMU's layout for up to 128 vectors) */
#define IVSHMEM_MSIX_BAR_SIZE  0x1000
#define IVSHMEM_MSIX_TABLE_OFF 0x000
#define IVSHMEM_MSIX_PBA_OFF   0x800

/* Peer IDs are 16 bits (the Doorbell register's high half). */
#define IVSHMEM_MAX_PEER_ID 65535
/* Vectors per peer this project supports (VMM device and server; QEMU's
 * server has the same limit). */
#define IVSHMEM_MAX_VECTORS 64

/* BAR2: at least a page, a power of two */
#define IVSHMEM_MIN_SHM_SIZE 4096ULL

#endif
