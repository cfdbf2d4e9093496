/* SPDX-License-Identifier: MIT */
/*
 * One dispatch for port I/O and MMIO. A VM owns two buses (BUS_PIO and
 * BUS_MMIO). Devices register regions before the first vCPU runs; after
 * bus_seal() the region table is read-only, so lookups from vCPU threads need
 * no lock (device handlers lock their own state).
 *
 * A handler receives the offset inside its region, the access size (1, 2, 4
 * or 8 bytes) and direction. Data is little-endian in `data`: on a write it
 * holds the value, on a read the handler fills it (bus_access() pre-fills it
 * with 0xff so a handler that leaves bytes untouched reads as all-ones).
 */
#ifndef VMM_BUS_H
#define VMM_BUS_H

#include <stdbool.h>
#include <stdint.h>

enum bus_status {
	BUS_OK = 0, /* access done */
	BUS_UNHANDLED =
		1,     /* nobody there: the VM's unhandled-I/O policy applies */
	BUS_FAULT = 2, /* the access is illegal: stop the guest */
};

typedef enum bus_status (*bus_fn)(void *opaque, uint64_t offset, uint8_t *data,
				  unsigned size, bool is_write);

struct bus_region {
	uint64_t base;
	uint64_t size;
	bus_fn fn;
	void *opaque;
	const char *owner; /* device name, for errors and `vmm check` */
};

struct bus {
	const char *name;	    /* "pio" or "mmio" */
	struct bus_region *regions; /* sorted by base */
	unsigned nr;
	unsigned cap;
	bool sealed;
};

void bus_init(struct bus *b, const char *name);
void bus_free(struct bus *b);

/*
 * Register [base, base + size). Returns 0, -EINVAL (size 0, wraps, NULL fn),
 * -EEXIST (overlaps a region; the error is logged naming both owners),
 * -EBUSY (bus sealed) or -ENOMEM.
 */
int bus_register(struct bus *b, uint64_t base, uint64_t size, bus_fn fn,
		 void *opaque, const char *owner);

/* Forbid further registration. */
void bus_seal(struct bus *b);

/* Region containing [addr, addr + size) entirely, or NULL. */
const struct bus_region *bus_find(const struct bus *b, uint64_t addr,
				  unsigned size);

/*
 * Dispatch one access. Accesses not entirely inside one region, or of a size
 * other than 1/2/4/8, are BUS_UNHANDLED. On an unhandled read, data is left
 * all-ones.
 */
enum bus_status bus_access(const struct bus *b, uint64_t addr, uint8_t *data,
			   unsigned size, bool is_write);

/* Little-endian helpers for handlers. */
static inline uint64_t bus_get(const uint8_t *data, unsigned size)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < size && i < 8; i++)
		v |= (uint64_t)data[i] << (8 * i);
	return v;
}

static inline void bus_put(uint8_t *data, unsigned size, uint64_t v)
{
	for (unsigned i = 0; i < size && i < 8; i++)
		data[i] = (uint8_t)(v >> (8 * i));
}

#endif
