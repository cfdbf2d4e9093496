/* SPDX-License-Identifier: MIT */
/*
 * Exit decoding (vmm/exit.c) and bus dispatch (vmm/bus.c) on a struct
 * kvm_run page filled from the input:
 *
 *   byte 0     bit 0: MMIO (else PIO) exit; bit 1: the unhandled-I/O
 *              callback says "go on"; bits 2-3: run mapping size:
 *              sizeof(struct kvm_run), 4096, 3 * 4096 (what KVM maps on
 *              x86), or sizeof(struct kvm_run) + bytes 1-2
 *   bytes 1-2  see above
 *   next 24    the exit's union (run->io or run->mmio)
 *   rest       the data area, at io.data_offset when that is inside the
 *              mapping
 *
 * The mapping is a heap buffer of exactly run_size bytes, so any access
 * the data_offset/count/size checks let past its end is an ASan report.
 * The buses hold handlers that return OK, FAULT and UNHANDLED, at the
 * bottom and the top of each address space. Checked: every handler call
 * is inside its region with a size of 1/2/4/8 and a data pointer inside
 * the mapping; a PIO exit makes at most `count` accesses; the decoder
 * returns 0 or 1.
 */
#include <stddef.h>

#include "fuzz_util.h"
#include "vmm/exit.h"

enum dev_kind { DEV_OK, DEV_FAULT, DEV_UNHANDLED };

struct dev {
	enum dev_kind kind;
	uint64_t size; /* of its region */
};

static struct dev dev_ok8 = { DEV_OK, 8 }, dev_ok2 = { DEV_OK, 2 };
static struct dev dev_fault = { DEV_FAULT, 1 };
static struct dev dev_unh = { DEV_UNHANDLED, 4 };
static struct dev dev_page = { DEV_OK, 0x1000 };
static struct dev dev_top = { DEV_OK, 0x1000 };
static struct bus pio, mmio;

/* The current exit. */
static const uint8_t *run_lo, *run_hi;
static unsigned calls, unhandled, faults; /* handler, callback calls */
static uint64_t sink;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_ERR);
	bus_init(&pio, "pio");
	bus_init(&mmio, "mmio");
	if (bus_register(&pio, 0, 2, NULL, NULL, "null-fn") != -EINVAL)
		abort();
	return 0;
}

static void check_data(const uint8_t *data, unsigned size)
{
	FUZZ_CHECK(size == 1 || size == 2 || size == 4 || size == 8,
		   "access size %u", size);
	FUZZ_CHECK(data >= run_lo && data <= run_hi &&
			   (size_t)(run_hi - data) >= size,
		   "data %p+%u outside the run mapping [%p-%p)",
		   (const void *)data, size, (const void *)run_lo,
		   (const void *)run_hi);
}

static enum bus_status dev_io(void *opaque, uint64_t offset, uint8_t *data,
			      unsigned size, bool is_write)
{
	struct dev *d = opaque;

	calls++;
	check_data(data, size);
	FUZZ_CHECK(offset < d->size && size <= d->size - offset,
		   "access at offset %#llx size %u in a %#llx-byte region",
		   (unsigned long long)offset, size,
		   (unsigned long long)d->size);
	if (d->kind == DEV_OK) {
		/* touch every byte the access claims */
		if (is_write)
			sink += bus_get(data, size);
		else
			bus_put(data, size, 0x0123456789abcdefULL + offset);
	}
	return d->kind == DEV_OK      ? BUS_OK
	       : d->kind == DEV_FAULT ? BUS_FAULT
				      : BUS_UNHANDLED;
}

static bool go_on;

static bool on_unhandled(void *opaque, const char *kind, uint64_t addr,
			 unsigned size, bool is_write, const uint8_t *data)
{
	unhandled++;
	FUZZ_CHECK(kind, "no kind");
	check_data(data, size);
	sink += bus_get(data, size);
	return go_on;
}

static void on_fault(void *opaque, const char *msg)
{
	faults++;
	FUZZ_CHECK(msg && strlen(msg) < 1024, "fault message");
}

static void setup_buses(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	if (bus_register(&pio, 0, 2, dev_io, &dev_ok2, "p0") ||
	    bus_register(&pio, 0x3f8, 8, dev_io, &dev_ok8, "uart") ||
	    bus_register(&pio, 0x500, 1, dev_io, &dev_fault, "bad") ||
	    bus_register(&pio, 0x600, 4, dev_io, &dev_unh, "unh") ||
	    bus_register(&pio, 0xfff8, 8, dev_io, &dev_ok8, "top") ||
	    bus_register(&mmio, 0, 2, dev_io, &dev_ok2, "m0") ||
	    bus_register(&mmio, 0xd0000000, 0x1000, dev_io, &dev_page, "m") ||
	    bus_register(&mmio, 0xd0001000, 1, dev_io, &dev_fault, "mbad") ||
	    bus_register(&mmio, 0xd0002000, 4, dev_io, &dev_unh, "munh") ||
	    bus_register(&mmio, 0xfffffffffffff000ULL, 0x1000, dev_io, &dev_top,
			 "mtop"))
		abort();
	/* a region that wraps is refused */
	if (bus_register(&mmio, 0xfffffffffffff000ULL, 0x2000, dev_io, &dev_top,
			 "x") != -EINVAL)
		abort();
	bus_seal(&pio);
	bus_seal(&mmio);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t flags = fuzz_u8(&in);
	uint16_t extra = (uint16_t)fuzz_le(&in, 2);
	size_t run_size, data_off;
	struct exit_ctx c = { 0 };
	struct kvm_run *run;
	uint8_t *page;
	int ret;

	setup_buses();
	switch ((flags >> 2) & 3) {
	case 0:
		run_size = sizeof(struct kvm_run);
		break;
	case 1:
		run_size = 4096;
		break;
	case 2:
		run_size = 3 * 4096;
		break;
	default:
		run_size = sizeof(struct kvm_run) + extra % (3 * 4096);
		break;
	}
	page = calloc(1, run_size);
	if (!page)
		return 0;
	run = (struct kvm_run *)page;
	fuzz_take(&in, page + offsetof(struct kvm_run, io), 24);
	data_off = run->io.data_offset < run_size ? run->io.data_offset
						  : sizeof(struct kvm_run);
	fuzz_take(&in, page + data_off, run_size - data_off);

	go_on = flags & 2;
	calls = unhandled = faults = 0;
	run_lo = page;
	run_hi = page + run_size;
	c.pio = &pio;
	c.mmio = &mmio;
	c.run = run;
	c.run_size = run_size;
	c.unhandled = on_unhandled;
	c.fault = on_fault;
	if (flags & 1) {
		/* MMIO data lives in the run structure itself */
		run_lo = run->mmio.data;
		run_hi = run->mmio.data + sizeof(run->mmio.data);
		ret = exit_decode_mmio(&c);
		FUZZ_CHECK(calls <= 1 && unhandled <= 1,
			   "%u accesses, %u unhandled for one MMIO exit", calls,
			   unhandled);
	} else {
		ret = exit_decode_pio(&c);
		FUZZ_CHECK(calls <= run->io.count && unhandled <= run->io.count,
			   "%u accesses, %u unhandled for a PIO exit with "
			   "count %u",
			   calls, unhandled, run->io.count);
	}
	fuzz_log("exit: %s returned %d, %u accesses, %u unhandled, %u "
		 "faults\n",
		 (flags & 1) ? "mmio" : "pio", ret, calls, unhandled, faults);
	FUZZ_CHECK(ret == 0 || ret == 1, "decoder returned %d", ret);
	FUZZ_CHECK(faults <= 1 && (!faults || ret == 1),
		   "%u faults, returned %d", faults, ret);
	free(page);
	return 0;
}
