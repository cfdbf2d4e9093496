/* SPDX-License-Identifier: MIT */
/*
 * virtio-mmio discovery (virtio 1.2, 4.2.2 and 4.2.3.1): a device is a
 * 4 KiB register window starting with the magic value "virt", the version
 * (2 for modern devices; 1 is the legacy interface, which this driver does
 * not speak) and the device ID (0: an empty placeholder slot).
 */
#include "virtio.h"
#include "virtio_hw.h"

int rt_virtio_mmio_probe(struct rt_virtio_dev *d, uint64_t base,
			 uint32_t device_id, char *why, size_t len)
{
	uint32_t magic, version, id;

	memset(d, 0, sizeof(*d));
	magic = vio_read32(base + VIRTIO_MMIO_MAGIC_VALUE);
	if (magic != VIRTIO_MMIO_MAGIC) {
		rt_snprintf(why, len,
			    "no virtio-mmio device at 0x%llx (magic 0x%x)",
			    (unsigned long long)base, magic);
		return -1;
	}
	version = vio_read32(base + VIRTIO_MMIO_VERSION);
	id = vio_read32(base + VIRTIO_MMIO_DEVICE_ID);
	if (version != VIRTIO_MMIO_VERSION_2) {
		rt_snprintf(why, len,
			    "virtio-mmio at 0x%llx is version %u, only 2 "
			    "(virtio 1.x) is supported",
			    (unsigned long long)base, version);
		return -1;
	}
	if (id == 0 || (device_id && id != device_id)) {
		rt_snprintf(why, len,
			    "virtio-mmio at 0x%llx has device id %u, not %u",
			    (unsigned long long)base, id, device_id);
		return -1;
	}
	d->transport = RT_VIRTIO_MMIO;
	d->device_id = id;
	d->base = base;
	rt_snprintf(d->name, sizeof(d->name), "mmio@0x%llx",
		    (unsigned long long)base);
	return 0;
}

int rt_virtio_mmio_find(struct rt_virtio_dev *d, uint32_t device_id,
			unsigned nslots, char *why, size_t len)
{
	unsigned seen = 0;

	if (nslots > ABI_VIRTIO_MMIO_SLOTS)
		nslots = ABI_VIRTIO_MMIO_SLOTS;
	for (unsigned i = 0; i < nslots; i++) {
		uint64_t base = ABI_VIRTIO_MMIO_BASE +
				(uint64_t)i * ABI_VIRTIO_MMIO_SLOT_SIZE;

		if (vio_read32(base + VIRTIO_MMIO_MAGIC_VALUE) !=
		    VIRTIO_MMIO_MAGIC)
			continue;
		seen++;
		if (!rt_virtio_mmio_probe(d, base, device_id, why, len))
			return 0;
	}
	rt_snprintf(why, len,
		    "no virtio-mmio device of type %u in %u slots at 0x%x "
		    "(%u other virtio-mmio devices)",
		    device_id, nslots, ABI_VIRTIO_MMIO_BASE, seen);
	return -1;
}
