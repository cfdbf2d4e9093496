/* SPDX-License-Identifier: MIT */
/*
 * arch/arm64 internals: the pieces behind arch/arch.h that need no KVM and
 * are unit-tested on any host (tests/unit/test_arm64_*.c compile fdt.c and
 * image.c directly):
 *
 *   fdt.c    the device tree of a guest, built with libfdt from its config
 *   image.c  the Linux arm64 Image header (Documentation/arch/arm64/
 *            booting.rst), gzip-compressed Images included
 *
 * The memory map is devices/abi/arm64_virt.h (QEMU virt compatible).
 */
#ifndef ARCH_ARM64_ARM64_H
#define ARCH_ARM64_ARM64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/config.h"

struct pci_layout;

/* ---- fdt.c ---- */

struct arm64_fdt_params {
	unsigned gic_version; /* 2 or 3 */
	bool gic_its;	      /* v3: an ITS at ABI_GIC_ITS_BASE (PCI MSIs) */
	/* MPIDR of vCPU i (cfg->vcpus entries); NULL: KVM's reset value,
	 * Aff0 = i % 16, Aff1 = i / 16 */
	const uint64_t *mpidr;
	/* initrd in guest memory: linux,initrd-start/-end; size 0: none */
	uint64_t initrd_gpa, initrd_size;
	/* PCI host bridge (ECAM, windows), NULL: none */
	const struct pci_layout *pci;
};

/*
 * Build the guest's device tree into buf (size bytes) from cfg: memory
 * (every writable region), cpus, psci (hvc), the GIC (v2 or v3, with the
 * ITS), the architected timer, one node per device of the config that has
 * one (pl011, pl031, uart8250/ns16550 with an address, virtio-mmio slots),
 * the PCI host bridge, and /chosen (bootargs = cfg->boot.cmdline,
 * stdout-path = the first UART, the initrd). Returns 0 (the blob packed,
 * fdt_totalsize(buf) <= size) or -ENOSPC / -EINVAL with err filled.
 */
int arm64_fdt_build(const struct vm_config *cfg,
		    const struct arm64_fdt_params *p, void *buf, size_t size,
		    char *err, size_t errlen);

/* ---- image.c ---- */

#define ARM64_IMAGE_MAGIC 0x644d5241u /* "ARM\x64" at offset 56 */

struct arm64_image_info {
	uint64_t text_offset; /* load offset from a 2 MiB aligned base */
	uint64_t image_size;  /* bytes the kernel needs from its load address
				 (BSS included); >= the file size */
	bool anywhere;	      /* flags bit 3: any 2 MiB aligned base */
	unsigned page_size;   /* 4096, 16384, 65536, or 0 (unspecified) */
};

/* True if data (size bytes) starts with an arm64 Image header. */
bool arm64_image_is_image(const uint8_t *data, size_t size);

/*
 * Check an Image header: magic, little-endian (flags bit 0 clear),
 * text_offset and image_size sane (image_size 0, kernels before 3.17,
 * means text_offset 0x80000 and the file size). 0 or -EINVAL with err
 * filled ("not an arm64 Image: ...", "big-endian kernel", ...).
 */
int arm64_image_parse(const uint8_t *data, size_t size,
		      struct arm64_image_info *info, char *err, size_t errlen);

/* True if data starts with the gzip magic (1f 8b). */
bool arm64_is_gzip(const uint8_t *data, size_t size);

/*
 * Inflate a gzip file (Debian's vmlinuz is a gzip-compressed Image) into a
 * new buffer of at most max_out bytes. 0 with *out (caller frees) and
 * *out_size, or -EINVAL (corrupt data) / -EFBIG (over max_out) / -ENOMEM
 * with err filled.
 */
int arm64_gunzip(const uint8_t *data, size_t size, size_t max_out,
		 uint8_t **out, size_t *out_size, char *err, size_t errlen);

#endif
