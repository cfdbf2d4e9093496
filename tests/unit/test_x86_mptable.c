/* SPDX-License-Identifier: MIT */
/*
 * MP tables (arch/x86/mptable.c), read back from guest memory the way a
 * guest finds them: scan the BIOS area on 16-byte boundaries for "_MP_",
 * check the floating pointer, follow it to the "PCMP" configuration table
 * and walk its entries. Offsets come from the MP specification 1.4, not
 * from the generator's structs.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "arch/x86/acpi.h"
#include "arch/x86/mptable.h"

#define MiB_ (1024ULL * 1024)

static struct guest_mem mem;
static struct boot_ctx b;

static void use_ram(uint64_t gpa, uint64_t size)
{
	mem_free(&mem);
	memset(&mem, 0, sizeof(mem));
	cr_assert_eq(mem_add_region(&mem, "ram", gpa, size, NULL, false), 0);
	boot_ctx_init(&b, &mem);
}

static void setup(void)
{
	memset(&mem, 0, sizeof(mem));
	use_ram(0, 32 * MiB_);
}

static void teardown(void)
{
	mem_free(&mem);
}

static const uint8_t *gp(uint64_t gpa, uint64_t len)
{
	const uint8_t *p = mem_ptr(&mem, gpa, len);

	cr_assert_not_null(p, "[%#llx, +%llu) is not guest memory",
			   (unsigned long long)gpa, (unsigned long long)len);
	return p;
}

static uint8_t r8(uint64_t gpa)
{
	return *gp(gpa, 1);
}

static uint16_t r16(uint64_t gpa)
{
	const uint8_t *p = gp(gpa, 2);

	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t r32(uint64_t gpa)
{
	const uint8_t *p = gp(gpa, 4);

	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint8_t sum(uint64_t gpa, uint64_t len)
{
	const uint8_t *p = gp(gpa, len);
	uint8_t s = 0;

	for (uint64_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

static uint64_t scan(const char *sig)
{
	for (uint64_t a = 0xe0000; a < 0x100000; a += 16) {
		const struct mem_region *r = mem_find(&mem, a);

		if (!r || a + 16 > r->gpa + r->size)
			continue;
		if (!memcmp(gp(a, 4), sig, 4))
			return a;
	}
	return 0;
}

struct mp_found {
	uint64_t fp, cfg;
	unsigned cpus, buses, ioapics, ioints, lints;
	uint16_t pin_of_irq[16]; /* 0xffff: no entry */
	uint8_t ioapic_id;
};

static void walk(const struct x86_tables_cfg *c, struct mp_found *f)
{
	uint16_t base_len, count;
	uint64_t e;
	int last_type = -1;

	memset(f, 0, sizeof(*f));
	memset(f->pin_of_irq, 0xff, sizeof(f->pin_of_irq));

	/* floating pointer: 16 bytes in 0xf0000-0xfffff */
	f->fp = scan("_MP_");
	cr_assert_neq(f->fp, 0, "no _MP_ in the BIOS area");
	cr_assert_geq(f->fp, 0xf0000, "Linux scans only 0xf0000-0xfffff");
	cr_assert_eq(f->fp % 16, 0);
	cr_assert_eq(r8(f->fp + 8), 1, "length in paragraphs");
	cr_assert_eq(sum(f->fp, 16), 0, "floating pointer checksum");
	cr_assert_eq(r8(f->fp + 9), 4, "spec revision 1.4");
	cr_assert_eq(r8(f->fp + 11), 0, "feature 1: a config table exists");
	cr_assert_eq(r8(f->fp + 12) & 0x80, 0, "IMCRP clear: virtual wire");
	for (unsigned i = 12; i < 16; i++)
		cr_assert_eq(r8(f->fp + i), 0);
	f->cfg = r32(f->fp + 4);

	/* configuration table header */
	cr_assert(!memcmp(gp(f->cfg, 4), "PCMP", 4));
	base_len = r16(f->cfg + 4);
	cr_assert_geq(base_len, 44);
	cr_assert_eq(r8(f->cfg + 6), 4, "spec revision 1.4");
	cr_assert_eq(sum(f->cfg, base_len), 0, "config table checksum");
	cr_assert(!memcmp(gp(f->cfg + 8, 8), "VMM     ", 8), "OEM ID");
	cr_assert(!memcmp(gp(f->cfg + 16, 12), "VMMTABLE    ", 12),
		  "product ID");
	cr_assert_eq(r32(f->cfg + 28), 0, "no OEM table");
	cr_assert_eq(r16(f->cfg + 32), 0);
	count = r16(f->cfg + 34);
	cr_assert_eq(r32(f->cfg + 36), 0xfee00000, "local APIC address");
	cr_assert_eq(r16(f->cfg + 40), 0, "no extended table");
	cr_assert_eq(r8(f->cfg + 42), 0);

	/* the whole thing is inside the "MP table" reservation */
	for (unsigned i = 0;; i++) {
		cr_assert_lt(i, b.nr_res, "no \"MP table\" reservation");
		if (strcmp(b.res[i].what, "MP table"))
			continue;
		cr_assert_eq(b.res[i].gpa, f->fp);
		cr_assert_leq(f->cfg + base_len, b.res[i].gpa + b.res[i].size);
		break;
	}

	e = f->cfg + 44;
	for (unsigned i = 0; i < count; i++) {
		uint8_t type = r8(e);
		unsigned len = type == 0 ? 20 : 8;

		cr_assert_leq(e + len, f->cfg + base_len, "entry %u overruns",
			      i);
		cr_assert_geq(type, last_type, "entries sorted by type");
		last_type = type;
		switch (type) {
		case 0: /* processor */
			cr_assert_eq(r8(e + 1), f->cpus, "APIC ID");
			cr_assert_eq(r8(e + 2), 0x14, "LAPIC version");
			cr_assert_eq(r8(e + 3), f->cpus ? 0x01 : 0x03,
				     "EN, BP on CPU 0 only");
			cr_assert_eq(r32(e + 4), c->cpu_signature);
			cr_assert_eq(r32(e + 8), c->cpu_features);
			cr_assert_eq(r32(e + 12) | r32(e + 16), 0, "reserved");
			f->cpus++;
			break;
		case 1: /* bus */
			cr_assert_eq(r8(e + 1), 0, "bus ID");
			cr_assert(!memcmp(gp(e + 2, 6), "ISA   ", 6));
			f->buses++;
			break;
		case 2: /* I/O APIC */
			f->ioapic_id = r8(e + 1);
			cr_assert_eq(r8(e + 2), 0x11, "IOAPIC version");
			cr_assert_eq(r8(e + 3), 1, "enabled");
			cr_assert_eq(r32(e + 4), 0xfec00000);
			f->ioapics++;
			break;
		case 3: /* I/O interrupt assignment */
			cr_assert_eq(r8(e + 1), 0, "INT");
			cr_assert_eq(r16(e + 2), 0, "conforming (ISA)");
			cr_assert_eq(r8(e + 4), 0, "from the ISA bus");
			cr_assert_lt(r8(e + 5), 16);
			cr_assert_eq(f->pin_of_irq[r8(e + 5)], 0xffff,
				     "IRQ %u twice", r8(e + 5));
			cr_assert_eq(r8(e + 6), f->ioapic_id);
			f->pin_of_irq[r8(e + 5)] = r8(e + 7);
			f->ioints++;
			break;
		case 4: /* local interrupt assignment */
			cr_assert_eq(r8(e + 1), f->lints ? 1 : 3,
				     "ExtINT, then NMI");
			cr_assert_eq(r8(e + 6), 0xff, "all local APICs");
			cr_assert_eq(r8(e + 7), f->lints, "LINT%u", f->lints);
			f->lints++;
			break;
		default:
			cr_assert_fail("entry %u: unknown type %u", i, type);
		}
		e += len;
	}
	cr_assert_eq(e, f->cfg + base_len, "entries fill the base table");
	cr_assert_eq(f->cpus, c->nr_cpus);
	cr_assert_eq(f->buses, 1);
	cr_assert_eq(f->ioapics, 1);
	cr_assert_eq(f->ioapic_id, c->nr_cpus, "IOAPIC ID after the CPUs");
	cr_assert_eq(f->ioints, 15);
	cr_assert_eq(f->lints, 2);
	cr_assert_eq(count, c->nr_cpus + 1 + 1 + 15 + 2);
	cr_assert_eq(f->pin_of_irq[2], 0xffff, "no entry for the cascade");
	cr_assert_eq(f->pin_of_irq[0], c->irq0_pin);
	for (unsigned irq = 1; irq < 16; irq++)
		if (irq != 2)
			cr_assert_eq(f->pin_of_irq[irq], irq, "IRQ %u", irq);
}

static struct x86_tables_cfg pc_cfg(unsigned nr_cpus)
{
	return (struct x86_tables_cfg){ .nr_cpus = nr_cpus,
					.irq0_pin = 2,
					.cpu_signature = 0x000906ea,
					.cpu_features = 0x178bfbff,
					.required = true };
}

TestSuite(x86_mptable, .init = setup, .fini = teardown);

Test(x86_mptable, vcpus_1_2_8_64_254)
{
	static const unsigned n[] = { 1, 2, 8, 64, 254 };

	for (unsigned i = 0; i < sizeof(n) / sizeof(n[0]); i++) {
		struct x86_tables_cfg c = pc_cfg(n[i]);
		struct mp_found f;

		use_ram(0, 32 * MiB_);
		cr_assert_eq(x86_mptable_build(&b, &c), 0, "%s", b.err);
		walk(&c, &f);
		cr_assert_eq(f.fp, 0xf0000);
		cr_assert_eq(f.cfg, 0xf0010);
		cr_assert_eq(b.nr_res, 1);
	}
}

Test(x86_mptable, irq0_on_pin0)
{
	struct x86_tables_cfg c = pc_cfg(2);
	struct mp_found f;

	c.irq0_pin = 0;
	cr_assert_eq(x86_mptable_build(&b, &c), 0, "%s", b.err);
	walk(&c, &f);
	cr_assert_eq(f.pin_of_irq[0], 0);
}

Test(x86_mptable, unknown_cpuid_is_zero)
{
	struct x86_tables_cfg c = pc_cfg(2);
	struct mp_found f;

	c.cpu_signature = 0;
	c.cpu_features = 0;
	cr_assert_eq(x86_mptable_build(&b, &c), 0, "%s", b.err);
	walk(&c, &f);
}

Test(x86_mptable, with_acpi_tables)
{
	struct x86_tables_cfg c = pc_cfg(8);
	struct mp_found f;
	uint64_t rsdp;

	cr_assert_eq(x86_acpi_build(&b, &c, &rsdp), 0, "%s", b.err);
	cr_assert_eq(x86_mptable_build(&b, &c), 0, "%s", b.err);
	cr_assert_eq(b.nr_res, 2);
	walk(&c, &f);
	cr_assert_eq(scan("RSD "), rsdp, "the RSDP is still there");
}

static void assert_fails(const struct x86_tables_cfg *c, int code,
			 const char *text)
{
	unsigned before = b.nr_res;
	int ret = x86_mptable_build(&b, c);

	cr_assert_eq(ret, code, "ret %d (want %d): %s", ret, code, b.err);
	cr_assert(strstr(b.err, text), "expected '%s' in: %s", text, b.err);
	cr_assert_eq(b.nr_res, before, "nothing reserved");
	if (mem_find(&mem, 0xf0000))
		cr_assert_eq(scan("_MP_"), 0, "nothing written");
}

Test(x86_mptable, bad_config)
{
	struct x86_tables_cfg c = pc_cfg(0);

	assert_fails(&c, -EINVAL, "0 vCPUs");
	c.nr_cpus = 255;
	assert_fails(&c, -EINVAL, "255 vCPUs");
	c = pc_cfg(1);
	c.irq0_pin = 5;
	assert_fails(&c, -EINVAL, "pin 5");
}

Test(x86_mptable, no_ram_optional_skips)
{
	static const struct {
		uint64_t gpa, size;
	} layouts[] = {
		{ 0x100000, 32 * MiB_ }, /* RAM from 1 MiB only */
		{ 0, 0xa0000 },		 /* 640 KiB only */
		{ 0, 0xf0000 },		 /* the E segment but not the F */
	};

	for (unsigned i = 0; i < 3; i++) {
		struct x86_tables_cfg c = pc_cfg(2);

		use_ram(layouts[i].gpa, layouts[i].size);
		c.required = false;
		cr_assert_eq(x86_mptable_build(&b, &c), 0, "%s", b.err);
		cr_assert_eq(b.nr_res, 0);
		cr_assert_eq(b.err[0], '\0');
	}
}

Test(x86_mptable, no_ram_required_fails)
{
	struct x86_tables_cfg c = pc_cfg(2);

	use_ram(0, 0xf0000);
	assert_fails(&c, -ERANGE, "MP table [0xf0000-");
	cr_assert(strstr(b.err, "0xf0000-0xfffff"), "%s", b.err);
	cr_assert(strstr(b.err, "floating pointer"), "%s", b.err);
	cr_assert(strstr(b.err, "RAM: [0-0xf0000) ram"), "%s", b.err);
}

Test(x86_mptable, collision_names_both)
{
	struct x86_tables_cfg c = pc_cfg(4);
	static const uint8_t rom[0x100] = { 0xea };

	/* e.g. a raw real-mode image loaded at the F segment */
	cr_assert_eq(
		boot_load(&b, 0xf0000, rom, sizeof(rom), sizeof(rom), "image"),
		0);
	assert_fails(&c, -EBUSY, "MP table [0xf0000-");
	cr_assert(strstr(b.err, "overlaps image [0xf0000-0xf0100)"), "%s",
		  b.err);
	cr_assert_eq(r8(0xf0000), 0xea, "the image is intact");
	/* optional or not, a collision is an error */
	c.required = false;
	assert_fails(&c, -EBUSY, "overlaps image");
}
