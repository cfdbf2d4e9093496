/* SPDX-License-Identifier: MIT */
/* The PIO/MMIO bus: registration rules, lookup at edges, dispatch. */
#include <criterion/criterion.h>
#include <errno.h>

#include "vmm/bus.h"

struct rec {
	uint64_t offset;
	unsigned size;
	bool is_write;
	uint64_t value;
	unsigned calls;
	enum bus_status ret;
};

static enum bus_status rec_fn(void *opaque, uint64_t offset, uint8_t *data,
			      unsigned size, bool is_write)
{
	struct rec *r = opaque;

	r->offset = offset;
	r->size = size;
	r->is_write = is_write;
	r->calls++;
	if (is_write)
		r->value = bus_get(data, size);
	else
		bus_put(data, size, 0x1122334455667788ULL);
	return r->ret;
}

static struct bus b;

static void setup(void)
{
	bus_init(&b, "test");
}

static void teardown(void)
{
	bus_free(&b);
}

TestSuite(bus, .init = setup, .fini = teardown);

Test(bus, rejects_overlaps_and_accepts_neighbours)
{
	struct rec r = { 0 };

	cr_assert_eq(bus_register(&b, 0x100, 0x10, rec_fn, &r, "a"), 0);
	/* exact neighbours on both sides */
	cr_assert_eq(bus_register(&b, 0xf0, 0x10, rec_fn, &r, "below"), 0);
	cr_assert_eq(bus_register(&b, 0x110, 0x10, rec_fn, &r, "above"), 0);
	/* overlaps: same start, inside, straddling either edge, covering */
	cr_assert_eq(bus_register(&b, 0x100, 1, rec_fn, &r, "x"), -EEXIST);
	cr_assert_eq(bus_register(&b, 0x108, 2, rec_fn, &r, "x"), -EEXIST);
	cr_assert_eq(bus_register(&b, 0xff, 2, rec_fn, &r, "x"), -EEXIST);
	cr_assert_eq(bus_register(&b, 0x11f, 2, rec_fn, &r, "x"), -EEXIST);
	cr_assert_eq(bus_register(&b, 0x0, 0x1000, rec_fn, &r, "x"), -EEXIST);
	cr_assert_eq(b.nr, 3);
	/* sorted */
	cr_assert_eq(b.regions[0].base, 0xf0);
	cr_assert_eq(b.regions[1].base, 0x100);
	cr_assert_eq(b.regions[2].base, 0x110);
}

Test(bus, rejects_bad_regions)
{
	struct rec r = { 0 };

	cr_assert_eq(bus_register(&b, 0x100, 0, rec_fn, &r, "zero"), -EINVAL);
	cr_assert_eq(bus_register(&b, 0x100, 4, NULL, &r, "nofn"), -EINVAL);
	cr_assert_eq(bus_register(&b, UINT64_MAX, 2, rec_fn, &r, "wrap"),
		     -EINVAL);
	/* ending exactly at 2^64 - 1 is fine */
	cr_assert_eq(
		bus_register(&b, UINT64_MAX - 0xf, 0x10, rec_fn, &r, "top"), 0);
	bus_seal(&b);
	cr_assert_eq(bus_register(&b, 0x100, 4, rec_fn, &r, "late"), -EBUSY);
}

Test(bus, lookup_edges)
{
	struct rec r = { 0 };

	cr_assert_eq(bus_register(&b, 0x3f8, 8, rec_fn, &r, "uart"), 0);
	cr_assert_not_null(bus_find(&b, 0x3f8, 1));
	cr_assert_not_null(bus_find(&b, 0x3ff, 1));
	cr_assert_not_null(bus_find(&b, 0x3fc, 4));
	cr_assert_null(bus_find(&b, 0x3f7, 1));
	cr_assert_null(bus_find(&b, 0x400, 1));
	/* an access that starts inside but runs past the end */
	cr_assert_null(bus_find(&b, 0x3fe, 4));
	cr_assert_null(bus_find(&b, 0x3f8, 0));
}

Test(bus, lookup_many_regions)
{
	static struct rec r[64];

	for (unsigned i = 0; i < 64; i++)
		cr_assert_eq(bus_register(&b, (63 - i) * 0x100, 0x80, rec_fn,
					  &r[i], "r"),
			     0);
	for (unsigned i = 0; i < 64; i++) {
		const struct bus_region *reg =
			bus_find(&b, i * 0x100 + 0x7f, 1);

		cr_assert_not_null(reg);
		cr_assert_eq(reg->opaque, &r[63 - i]);
		cr_assert_null(bus_find(&b, i * 0x100 + 0x80, 1));
	}
}

Test(bus, dispatch_offset_size_value)
{
	struct rec r = { .ret = BUS_OK };
	uint8_t data[8];

	cr_assert_eq(bus_register(&b, 0x1000, 0x100, rec_fn, &r, "dev"), 0);
	bus_put(data, 4, 0xdeadbeef);
	cr_assert_eq(bus_access(&b, 0x1010, data, 4, true), BUS_OK);
	cr_assert_eq(r.offset, 0x10);
	cr_assert_eq(r.size, 4);
	cr_assert(r.is_write);
	cr_assert_eq(r.value, 0xdeadbeef);

	cr_assert_eq(bus_access(&b, 0x10f8, data, 8, false), BUS_OK);
	cr_assert_eq(r.offset, 0xf8);
	cr_assert_eq(bus_get(data, 8), 0x1122334455667788ULL);
	cr_assert_eq(bus_get(data, 2), 0x7788);
}

Test(bus, unhandled_reads_all_ones)
{
	struct rec r = { .ret = BUS_OK };
	uint8_t data[8] = { 0 };

	cr_assert_eq(bus_register(&b, 0x1000, 0x10, rec_fn, &r, "dev"), 0);
	cr_assert_eq(bus_access(&b, 0x2000, data, 4, false), BUS_UNHANDLED);
	cr_assert_eq(bus_get(data, 4), 0xffffffff);
	/* odd sizes never reach a handler */
	cr_assert_eq(bus_access(&b, 0x1000, data, 3, false), BUS_UNHANDLED);
	cr_assert_eq(bus_access(&b, 0x1000, data, 16, true), BUS_UNHANDLED);
	cr_assert_eq(r.calls, 0);
}

Test(bus, handler_status_passes_through)
{
	struct rec r = { .ret = BUS_FAULT };
	uint8_t data[8] = { 0 };

	cr_assert_eq(bus_register(&b, 0x10, 0x10, rec_fn, &r, "dev"), 0);
	cr_assert_eq(bus_access(&b, 0x10, data, 1, true), BUS_FAULT);
	r.ret = BUS_UNHANDLED;
	cr_assert_eq(bus_access(&b, 0x10, data, 1, true), BUS_UNHANDLED);
}
