/* SPDX-License-Identifier: MIT */
/*
 * ACPI tables (arch/x86/acpi.c), read back from guest memory the way a
 * guest finds them: scan 0xe0000-0xfffff on 16-byte boundaries for
 * "RSD PTR ", follow the pointers, check every checksum and length and
 * the contents. The reader here uses byte offsets from the ACPI 6.3 spec,
 * not the generator's structs, and has its own small AML parser. If iasl
 * (acpica-tools) is installed, it must disassemble every table cleanly and
 * recompile the DSDT to the same AML.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arch/x86/acpi.h"
#include "devices/abi/x86_pc.h"

#define MiB_ (1024ULL * 1024)

static struct guest_mem mem;
static struct boot_ctx b;
static char iasl_dir[256]; /* removed by teardown(), even after a failure */

static void setup(void)
{
	memset(&mem, 0, sizeof(mem));
	cr_assert_eq(mem_add_region(&mem, "ram", 0, 32 * MiB_, NULL, false), 0);
	boot_ctx_init(&b, &mem);
}

static void teardown(void)
{
	char cmd[600];

	mem_free(&mem);
	if (iasl_dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", iasl_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", iasl_dir);
		iasl_dir[0] = '\0';
	}
}

/* --- reading guest memory --- */

static uint8_t *gp(uint64_t gpa, uint64_t len)
{
	uint8_t *p = mem_ptr(&mem, gpa, len);

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

static uint64_t r64(uint64_t gpa)
{
	return r32(gpa) | (uint64_t)r32(gpa + 4) << 32;
}

static uint8_t sum(uint64_t gpa, uint64_t len)
{
	const uint8_t *p = gp(gpa, len);
	uint8_t s = 0;

	for (uint64_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

/* The legacy search: 16-byte boundaries in 0xe0000-0xfffff. */
static uint64_t scan_bios_area(const char *sig, size_t len)
{
	for (uint64_t a = 0xe0000; a < 0x100000; a += 16) {
		const struct mem_region *r = mem_find(&mem, a);

		if (!r || a + len > r->gpa + r->size)
			continue;
		if (!memcmp(gp(a, len), sig, len))
			return a;
	}
	return 0;
}

/* Check an SDT header at gpa; returns its length. */
static uint32_t check_sdt(uint64_t gpa, const char *sig, uint8_t rev)
{
	uint32_t len;

	cr_assert(!memcmp(gp(gpa, 4), sig, 4), "%s: signature '%.4s'", sig,
		  (const char *)gp(gpa, 4));
	len = r32(gpa + 4);
	cr_assert_geq(len, 36, "%s: length %u", sig, len);
	cr_assert_lt(len, 0x10000, "%s: length %u", sig, len);
	cr_assert_eq(r8(gpa + 8), rev, "%s: revision %u", sig, r8(gpa + 8));
	cr_assert_eq(sum(gpa, len), 0, "%s: checksum", sig);
	cr_assert(!memcmp(gp(gpa + 10, 6), "VMM   ", 6), "%s OEM ID", sig);
	cr_assert(!memcmp(gp(gpa + 16, 8), "VMMTABLE", 8), "%s table ID", sig);
	cr_assert(!memcmp(gp(gpa + 28, 4), "VMM ", 4), "%s creator", sig);
	return len;
}

/* Every table must lie inside the "ACPI tables" reservation. */
static void assert_reserved(uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < b.nr_res; i++) {
		const struct boot_reservation *r = &b.res[i];

		if (!strcmp(r->what, "ACPI tables")) {
			cr_assert(gpa >= r->gpa &&
					  gpa + len <= r->gpa + r->size,
				  "[%#llx, +%llu) outside the reservation "
				  "[%#llx, +%llu)",
				  (unsigned long long)gpa,
				  (unsigned long long)len,
				  (unsigned long long)r->gpa,
				  (unsigned long long)r->size);
			return;
		}
	}
	cr_assert_fail("no \"ACPI tables\" reservation");
}

/* --- a small AML reader: names and their values --- */

struct aml_name {
	char path[64];
	enum { AML_INT, AML_PKG, AML_BUF, AML_STR } kind;
	uint64_t val;	  /* AML_INT */
	uint64_t el[8];	  /* AML_PKG: integer elements */
	unsigned nr_el;	  /* AML_PKG: NumElements */
	uint8_t buf[160]; /* AML_BUF; AML_STR: NUL-terminated */
	unsigned buf_len; /* AML_BUF */
};

struct aml_doc {
	struct aml_name n[192];
	unsigned nr;
};

/* PkgLength at p (end e): the length, and how many bytes it took. */
static size_t pkglen(const uint8_t *p, const uint8_t *e, size_t *used)
{
	unsigned extra;
	size_t len;

	cr_assert_lt(p, e, "PkgLength past the end");
	extra = p[0] >> 6;
	if (!extra) {
		*used = 1;
		return p[0] & 0x3f;
	}
	cr_assert_eq(p[0] & 0x30, 0, "PkgLength lead byte bits 5-4 set");
	cr_assert_leq(p + 1 + extra, e, "PkgLength past the end");
	len = p[0] & 0x0f;
	for (unsigned i = 0; i < extra; i++)
		len |= (size_t)p[1 + i] << (4 + 8 * i);
	*used = 1 + extra;
	return len;
}

static bool is_name_char(uint8_t c, bool first)
{
	return c == '_' || (c >= 'A' && c <= 'Z') ||
	       (!first && c >= '0' && c <= '9');
}

/* A NameString of one NameSeg, optionally with a root prefix. */
static const uint8_t *name_string(const uint8_t *p, const uint8_t *e,
				  const char *scope, char *out, size_t outlen)
{
	bool root = false;

	if (p < e && *p == '\\') {
		root = true;
		p++;
	}
	cr_assert_leq(p + 4, e, "NameSeg past the end");
	for (int i = 0; i < 4; i++)
		cr_assert(is_name_char(p[i], i == 0), "bad NameSeg char 0x%x",
			  p[i]);
	if (root)
		snprintf(out, outlen, "\\%.4s", (const char *)p);
	else
		snprintf(out, outlen, "%s%s%.4s", scope,
			 strcmp(scope, "\\") ? "." : "", (const char *)p);
	return p + 4;
}

/* An integer constant; returns the next byte. */
static const uint8_t *aml_integer(const uint8_t *p, const uint8_t *e,
				  uint64_t *v)
{
	unsigned n;

	cr_assert_lt(p, e, "integer past the end");
	switch (*p) {
	case 0x00:
		*v = 0;
		return p + 1;
	case 0x01:
		*v = 1;
		return p + 1;
	case 0x0a:
		n = 1;
		break;
	case 0x0b:
		n = 2;
		break;
	case 0x0c:
		n = 4;
		break;
	case 0x0e:
		n = 8;
		break;
	default:
		cr_assert_fail("not an integer: opcode 0x%02x", *p);
		return e;
	}
	cr_assert_leq(p + 1 + n, e, "integer past the end");
	*v = 0;
	for (unsigned i = 0; i < n; i++)
		*v |= (uint64_t)p[1 + i] << (8 * i);
	return p + 1 + n;
}

static void term_list(struct aml_doc *d, const uint8_t *p, const uint8_t *e,
		      const char *scope, unsigned depth);

static const uint8_t *name_op(struct aml_doc *d, const uint8_t *p,
			      const uint8_t *e, const char *scope)
{
	struct aml_name *n;
	size_t used, len;
	const uint8_t *end;

	cr_assert_lt(d->nr, 192, "too many names");
	n = &d->n[d->nr++];
	memset(n, 0, sizeof(*n));
	p = name_string(p, e, scope, n->path, sizeof(n->path));
	cr_assert_lt(p, e, "Name without a value");
	if (*p == 0x12) { /* PackageOp */
		len = pkglen(p + 1, e, &used);
		end = p + 1 + len;
		cr_assert_leq(end, e, "%s: package past its scope", n->path);
		p += 1 + used;
		n->kind = AML_PKG;
		n->nr_el = *p++;
		for (unsigned i = 0; p < end; i++) {
			cr_assert_lt(i, 8, "%s: too many elements", n->path);
			cr_assert_lt(i, n->nr_el, "%s: more elements than %u",
				     n->path, n->nr_el);
			p = aml_integer(p, end, &n->el[i]);
		}
		return end;
	}
	if (*p == 0x11) { /* BufferOp */
		uint64_t size;

		len = pkglen(p + 1, e, &used);
		end = p + 1 + len;
		cr_assert_leq(end, e, "%s: buffer past its scope", n->path);
		p = aml_integer(p + 1 + used, end, &size);
		cr_assert_eq((uint64_t)(end - p), size,
			     "%s: BufferSize %llu, %zu bytes follow", n->path,
			     (unsigned long long)size, (size_t)(end - p));
		cr_assert_leq(size, sizeof(n->buf));
		n->kind = AML_BUF;
		n->buf_len = (unsigned)size;
		memcpy(n->buf, p, size);
		return end;
	}
	if (*p == 0x0d) { /* StringPrefix: ASCII up to a NUL */
		const uint8_t *z = memchr(p + 1, 0, (size_t)(e - p - 1));

		cr_assert_not_null(z, "%s: unterminated string", n->path);
		cr_assert_lt((size_t)(z - p - 1), sizeof(n->buf));
		n->kind = AML_STR;
		memcpy(n->buf, p + 1, (size_t)(z - p - 1));
		return z + 1;
	}
	n->kind = AML_INT;
	return aml_integer(p, e, &n->val);
}

static void term_list(struct aml_doc *d, const uint8_t *p, const uint8_t *e,
		      const char *scope, unsigned depth)
{
	cr_assert_lt(depth, 8, "AML nested too deep");
	while (p < e) {
		char path[64];
		size_t used, len;
		const uint8_t *end;

		if (*p == 0x08) { /* NameOp */
			p = name_op(d, p + 1, e, scope);
			continue;
		}
		if (*p == 0x10 || (*p == 0x5b && p + 1 < e && p[1] == 0x82)) {
			/* ScopeOp or DeviceOp */
			p += *p == 0x10 ? 1 : 2;
			len = pkglen(p, e, &used);
			end = p + len;
			cr_assert_leq(end, e, "scope past its parent's end");
			p = name_string(p + used, end, scope, path,
					sizeof(path));
			term_list(d, p, end, path, depth + 1);
			p = end;
			continue;
		}
		cr_assert_fail("unexpected AML opcode 0x%02x", *p);
	}
}

static const struct aml_name *aml_find(const struct aml_doc *d,
				       const char *path)
{
	for (unsigned i = 0; i < d->nr; i++)
		if (!strcmp(d->n[i].path, path))
			return &d->n[i];
	return NULL;
}

/* --- the whole walk --- */

struct found {
	uint64_t rsdp, rsdt, xsdt, fadt, facs, dsdt, madt, mcfg;
	struct aml_doc aml;
	unsigned madt_lapic, madt_ioapic, madt_iso, madt_nmi;
};

static void walk(const struct x86_tables_cfg *c, uint64_t rsdp_gpa,
		 struct found *f)
{
	uint32_t rsdt_len, xsdt_len, madt_len, dsdt_len;
	uint16_t pm = c->pm_port ? c->pm_port : 0x600;
	unsigned nr_sdt = c->pci ? 3 : 2;
	uint64_t off;

	memset(f, 0, sizeof(*f));

	/* RSDP */
	f->rsdp = scan_bios_area("RSD PTR ", 8);
	cr_assert_neq(f->rsdp, 0, "no RSDP in 0xe0000-0xfffff");
	cr_assert_eq(f->rsdp, rsdp_gpa);
	cr_assert_eq(f->rsdp % 16, 0);
	cr_assert_eq(sum(f->rsdp, 20), 0, "RSDP checksum (first 20 bytes)");
	cr_assert_eq(r8(f->rsdp + 15), 2, "RSDP revision");
	cr_assert_eq(r32(f->rsdp + 20), 36, "RSDP length");
	cr_assert_eq(sum(f->rsdp, 36), 0, "RSDP extended checksum");
	cr_assert(!memcmp(gp(f->rsdp + 9, 6), "VMM   ", 6));
	assert_reserved(f->rsdp, 36);
	f->rsdt = r32(f->rsdp + 16);
	f->xsdt = r64(f->rsdp + 24);

	/* RSDT and XSDT: the same tables, FADT first, then the MADT and,
	 * with PCI, the MCFG */
	rsdt_len = check_sdt(f->rsdt, "RSDT", 1);
	xsdt_len = check_sdt(f->xsdt, "XSDT", 1);
	cr_assert_eq(rsdt_len, 36 + nr_sdt * 4);
	cr_assert_eq(xsdt_len, 36 + nr_sdt * 8);
	assert_reserved(f->rsdt, rsdt_len);
	assert_reserved(f->xsdt, xsdt_len);
	for (unsigned i = 0; i < nr_sdt; i++)
		cr_assert_eq(r32(f->rsdt + 36 + 4 * i),
			     r64(f->xsdt + 36 + 8 * i), "entry %u", i);
	f->fadt = r64(f->xsdt + 36);
	f->madt = r64(f->xsdt + 44);
	if (c->pci) {
		/* MCFG (PCI Firmware 3.2 4.1.2): one allocation, ECAM of
		 * segment 0, buses 0-0 */
		f->mcfg = r64(f->xsdt + 52);
		cr_assert_eq(check_sdt(f->mcfg, "MCFG", 1), 44 + 16);
		assert_reserved(f->mcfg, 60);
		cr_assert_eq(r64(f->mcfg + 36), 0, "MCFG reserved");
		cr_assert_eq(r64(f->mcfg + 44), 0xe0000000, "ECAM base");
		cr_assert_eq(r16(f->mcfg + 52), 0, "segment");
		cr_assert_eq(r8(f->mcfg + 54), 0, "start bus");
		cr_assert_eq(r8(f->mcfg + 55), 0, "end bus");
		cr_assert_eq(r32(f->mcfg + 56), 0, "reserved");
	}

	/* FADT */
	cr_assert_eq(check_sdt(f->fadt, "FACP", 6), 276);
	assert_reserved(f->fadt, 276);
	cr_assert_eq(r8(f->fadt + 131), 3, "FADT minor version");
	f->facs = r32(f->fadt + 36);
	cr_assert_neq(f->facs, 0, "FIRMWARE_CTRL");
	/* at most one of FIRMWARE_CTRL and X_FIRMWARE_CTRL is non-zero */
	cr_assert_eq(r64(f->fadt + 132), 0, "X_FIRMWARE_CTRL");
	f->dsdt = r32(f->fadt + 40);
	cr_assert_eq(r64(f->fadt + 140), f->dsdt, "X_DSDT");
	cr_assert_eq(r16(f->fadt + 46), 9, "SCI_INT");
	cr_assert_eq(r32(f->fadt + 48), 0, "SMI_CMD");
	cr_assert_eq(r32(f->fadt + 56), pm, "PM1a_EVT_BLK");
	cr_assert_eq(r32(f->fadt + 60), 0, "PM1b_EVT_BLK");
	cr_assert_eq(r32(f->fadt + 64), pm + 4, "PM1a_CNT_BLK");
	cr_assert_eq(r32(f->fadt + 68), 0, "PM1b_CNT_BLK");
	cr_assert_eq(r32(f->fadt + 76), 0, "PM_TMR_BLK");
	cr_assert_eq(r32(f->fadt + 80), 0, "GPE0_BLK");
	cr_assert_eq(r8(f->fadt + 88), 4, "PM1_EVT_LEN");
	cr_assert_eq(r8(f->fadt + 89), 2, "PM1_CNT_LEN");
	cr_assert_eq(r8(f->fadt + 91), 0, "PM_TMR_LEN");
	cr_assert_gt(r16(f->fadt + 96), 100, "P_LVL2_LAT: C2 unsupported");
	cr_assert_gt(r16(f->fadt + 98), 1000, "P_LVL3_LAT: C3 unsupported");
	cr_assert_eq(r8(f->fadt + 108), 0x32, "CENTURY");
	{
		uint16_t arch = r16(f->fadt + 109);
		uint32_t flags = r32(f->fadt + 112);

		cr_assert_eq(arch & (1u << 1), 0, "8042 flag must be clear");
		cr_assert_neq(arch & (1u << 2), 0, "VGA Not Present");
		cr_assert_eq(arch & (1u << 5), 0, "CMOS RTC present");
		cr_assert_eq(!!(arch & 1u), c->nr_uarts > 0, "LEGACY_DEVICES");
		cr_assert_neq(flags & (1u << 0), 0, "WBINVD");
		cr_assert_neq(flags & (1u << 10), 0, "RESET_REG_SUP");
		cr_assert_eq(flags & (1u << 20), 0, "not HW_REDUCED_ACPI");
		cr_assert_eq(flags & (1u << 8), 0, "TMR_VAL_EXT: no timer");
	}
	/* RESET_REG: I/O, 8 bits, offset 0, byte access, port 0xcf9 */
	cr_assert_eq(r8(f->fadt + 116), 1);
	cr_assert_eq(r8(f->fadt + 117), 8);
	cr_assert_eq(r8(f->fadt + 118), 0);
	cr_assert_eq(r8(f->fadt + 119), 1);
	cr_assert_eq(r64(f->fadt + 120), 0xcf9);
	cr_assert_eq(r8(f->fadt + 128), 0x06, "RESET_VALUE");
	/* X_PM1a_EVT_BLK and X_PM1a_CNT_BLK: I/O, 32 and 16 bits */
	cr_assert_eq(r8(f->fadt + 148), 1);
	cr_assert_eq(r8(f->fadt + 149), 32);
	cr_assert_eq(r64(f->fadt + 152), pm);
	cr_assert_eq(r8(f->fadt + 172), 1);
	cr_assert_eq(r8(f->fadt + 173), 16);
	cr_assert_eq(r64(f->fadt + 176), pm + 4u);
	/* no PM1b, PM2, PM timer, GPE, sleep registers */
	for (off = 160; off < 172; off++)
		cr_assert_eq(r8(f->fadt + off), 0, "X_PM1b_EVT_BLK");
	for (off = 184; off < 268; off++)
		cr_assert_eq(r8(f->fadt + off), 0, "FADT byte %llu",
			     (unsigned long long)off);

	/* FACS: 64-byte aligned, no checksum */
	cr_assert_eq(f->facs % 64, 0, "FACS alignment");
	cr_assert(!memcmp(gp(f->facs, 4), "FACS", 4));
	cr_assert_eq(r32(f->facs + 4), 64);
	cr_assert_eq(r8(f->facs + 32), 2, "FACS version");
	assert_reserved(f->facs, 64);

	/* DSDT */
	dsdt_len = check_sdt(f->dsdt, "DSDT", 2);
	assert_reserved(f->dsdt, dsdt_len);
	term_list(&f->aml, gp(f->dsdt + 36, dsdt_len - 36),
		  gp(f->dsdt + 36, dsdt_len - 36) + dsdt_len - 36, "\\", 0);

	/* MADT */
	madt_len = check_sdt(f->madt, "APIC", 5);
	assert_reserved(f->madt, madt_len);
	cr_assert_eq(r32(f->madt + 36), 0xfee00000, "local APIC address");
	cr_assert_eq(r32(f->madt + 40), 1, "PCAT_COMPAT");
	off = 44;
	for (unsigned i = 0; off < madt_len; i++) {
		uint64_t e = f->madt + off;
		uint8_t type = r8(e), len = r8(e + 1);

		cr_assert_lt(i, 1024, "too many MADT entries");
		cr_assert_geq(len, 2, "MADT entry %u length %u", i, len);
		cr_assert_leq(off + len, madt_len, "MADT entry %u overruns", i);
		switch (type) {
		case 0: /* Processor Local APIC, in APIC ID order */
			cr_assert_eq(len, 8);
			cr_assert_eq(f->madt_ioapic + f->madt_iso, 0,
				     "LAPICs come first");
			cr_assert_eq(r8(e + 2), f->madt_lapic, "UID");
			cr_assert_eq(r8(e + 3), f->madt_lapic, "APIC ID");
			cr_assert_eq(r32(e + 4), 1, "enabled");
			f->madt_lapic++;
			break;
		case 1: /* I/O APIC */
			cr_assert_eq(len, 12);
			cr_assert_eq(r8(e + 2), c->nr_cpus, "IOAPIC ID");
			cr_assert_eq(r32(e + 4), 0xfec00000);
			cr_assert_eq(r32(e + 8), 0, "GSI base");
			f->madt_ioapic++;
			break;
		case 2: /* Interrupt Source Override */
			cr_assert_eq(len, 10);
			cr_assert_eq(r8(e + 2), 0, "bus ISA");
			if (r8(e + 3) == 0) {
				cr_assert_eq(c->irq0_pin, 2);
				cr_assert_eq(r32(e + 4), 2, "IRQ0 -> GSI 2");
				cr_assert_eq(r16(e + 8), 0x5, "edge, high");
			} else {
				cr_assert_eq(r8(e + 3), 9, "SCI override");
				cr_assert_eq(r32(e + 4), 9);
				cr_assert_eq(r16(e + 8), 0xd, "level, high");
			}
			f->madt_iso++;
			break;
		case 4: /* Local APIC NMI */
			cr_assert_eq(len, 6);
			cr_assert_eq(r8(e + 2), 0xff, "all processors");
			cr_assert_eq(r8(e + 5), 1, "LINT1");
			f->madt_nmi++;
			break;
		default:
			cr_assert_fail("unexpected MADT entry type %u", type);
		}
		off += len;
	}
	cr_assert_eq(off, madt_len);
	cr_assert_eq(f->madt_lapic, c->nr_cpus);
	cr_assert_eq(f->madt_ioapic, 1);
	cr_assert_eq(f->madt_iso, c->irq0_pin == 2 ? 2 : 1);
	cr_assert_eq(f->madt_nmi, 1);
	cr_assert_eq(madt_len, 44 + 8 * c->nr_cpus + 12 + 10 * f->madt_iso + 6);

	/* \_S5_: SLP_TYPa = SLP_TYPb = 5 */
	{
		const struct aml_name *s5 = aml_find(&f->aml, "\\_S5_");

		cr_assert_not_null(s5, "no \\_S5_ in the DSDT");
		cr_assert_eq(s5->kind, AML_PKG);
		cr_assert_geq(s5->nr_el, 2);
		cr_assert_eq(s5->el[0], ABI_ACPI_SLP_TYP_S5);
		cr_assert_eq(s5->el[1], ABI_ACPI_SLP_TYP_S5);
	}
}

static struct x86_tables_cfg pc_cfg(unsigned nr_cpus)
{
	return (struct x86_tables_cfg){ .nr_cpus = nr_cpus,
					.irq0_pin = 2,
					.isa_irqs = (1u << 4) | (1u << 8),
					.required = true };
}

static void build_and_walk(const struct x86_tables_cfg *c, struct found *f)
{
	uint64_t rsdp = 0;
	int ret = x86_acpi_build(&b, c, &rsdp);

	cr_assert_eq(ret, 0, "ret %d: %s", ret, b.err);
	cr_assert_eq(rsdp, 0xe0000);
	walk(c, rsdp, f);
}

TestSuite(x86_acpi, .init = setup, .fini = teardown);

Test(x86_acpi, vcpus_1_2_8_64_254)
{
	static const unsigned n[] = { 1, 2, 8, 64, 254 };

	for (unsigned i = 0; i < sizeof(n) / sizeof(n[0]); i++) {
		struct x86_tables_cfg c = pc_cfg(n[i]);
		struct found *f = calloc(1, sizeof(*f));

		mem_free(&mem);
		setup();
		build_and_walk(&c, f);
		cr_assert_eq(f->aml.nr, 1, "only \\_S5_ without UARTs");
		free(f);
	}
}

Test(x86_acpi, one_reservation_named_acpi_tables)
{
	struct x86_tables_cfg c = pc_cfg(2);
	uint64_t rsdp;

	cr_assert_eq(x86_acpi_build(&b, &c, &rsdp), 0, "%s", b.err);
	cr_assert_eq(b.nr_res, 1);
	cr_assert_str_eq(b.res[0].what, "ACPI tables");
	cr_assert_eq(b.res[0].gpa, 0xe0000);
	cr_assert_lt(b.res[0].size, 0x10000);
}

Test(x86_acpi, irq0_on_pin0_has_no_override)
{
	struct x86_tables_cfg c = pc_cfg(4);
	struct found f;

	c.irq0_pin = 0;
	build_and_walk(&c, &f);
	cr_assert_eq(f.madt_iso, 1);
}

Test(x86_acpi, pm_port_follows_the_device)
{
	struct x86_tables_cfg c = pc_cfg(1);
	struct found f;

	c.pm_port = 0xb000;
	build_and_walk(&c, &f);
	cr_assert_eq(r32(f.fadt + 56), 0xb000);
}

Test(x86_acpi, uarts_in_dsdt)
{
	struct x86_tables_cfg c = pc_cfg(2);
	const struct aml_name *n;
	struct found f;

	c.uarts[0] = (struct x86_tables_uart){ .port = 0x3f8, .irq = 4 };
	c.uarts[1] = (struct x86_tables_uart){ .port = 0x2f8, .irq = 11 };
	c.uarts[2] = (struct x86_tables_uart){ .port = 0x3e8, .irq = 20 };
	c.nr_uarts = 3;
	build_and_walk(&c, &f);

	n = aml_find(&f.aml, "\\_SB_.COM1._HID");
	cr_assert_not_null(n);
	cr_assert_eq(n->kind, AML_INT);
	cr_assert_eq(n->val, 0x0105d041, "EisaId(PNP0501): %#llx",
		     (unsigned long long)n->val);
	n = aml_find(&f.aml, "\\_SB_.COM1._UID");
	cr_assert_eq(n->val, 1);
	n = aml_find(&f.aml, "\\_SB_.COM1._CRS");
	cr_assert_not_null(n);
	{
		/* IO(Decode16, 0x3f8, 0x3f8, 1, 8), IRQNoFlags(){4}, end */
		static const uint8_t want[] = { 0x47, 0x01, 0xf8, 0x03, 0xf8,
						0x03, 0x01, 0x08, 0x22, 0x10,
						0x00, 0x79, 0x00 };

		cr_assert_eq(n->buf_len, sizeof(want));
		cr_assert_arr_eq(n->buf, want, sizeof(want));
	}
	n = aml_find(&f.aml, "\\_SB_.COM2._CRS");
	cr_assert_not_null(n);
	cr_assert_eq(n->buf[2] | n->buf[3] << 8, 0x2f8);
	cr_assert_eq(n->buf[8], 0x22);
	cr_assert_eq(n->buf[9] | n->buf[10] << 8, 1u << 11, "IRQ 11 mask");
	cr_assert_eq(aml_find(&f.aml, "\\_SB_.COM2._UID")->val, 2);
	/* GSI 20: Interrupt (ResourceConsumer, Edge, ActiveHigh) {20} */
	n = aml_find(&f.aml, "\\_SB_.COM3._CRS");
	cr_assert_not_null(n);
	{
		static const uint8_t want[] = { 0x89, 0x06, 0x00, 0x03,
						0x01, 20,   0,	  0,
						0,    0x79, 0x00 };

		cr_assert_eq(n->buf_len, 8 + sizeof(want));
		cr_assert_arr_eq(n->buf + 8, want, sizeof(want));
	}
	cr_assert_eq(f.aml.nr, 1 + 3 * 3);
}

Test(x86_acpi, pci_root_bridge_and_mcfg)
{
	struct x86_tables_cfg c = pc_cfg(2);
	const struct aml_name *n;
	struct found *f = calloc(1, sizeof(*f));

	c.pci = true;
	build_and_walk(&c, f);
	n = aml_find(&f->aml, "\\_SB_.PCI0._HID");
	cr_assert_not_null(n);
	cr_assert_eq(n->val, 0x080ad041, "EisaId(PNP0A08): %#llx",
		     (unsigned long long)n->val);
	cr_assert_eq(aml_find(&f->aml, "\\_SB_.PCI0._CID")->val, 0x030ad041,
		     "EisaId(PNP0A03)");
	cr_assert_eq(aml_find(&f->aml, "\\_SB_.PCI0._UID")->val, 0);
	cr_assert_eq(aml_find(&f->aml, "\\_SB_.PCI0._SEG")->val, 0);
	cr_assert_eq(aml_find(&f->aml, "\\_SB_.PCI0._BBN")->val, 0);
	n = aml_find(&f->aml, "\\_SB_.PCI0._CRS");
	cr_assert_not_null(n);
	{
		static const uint8_t want[] = {
			/* WordBusNumber: producer, fixed, bus 0-0, length 1 */
			0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0x00, 0x00, 0x00,
			0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
			/* IO (Decode16, 0xcf8, 0xcf8, 1, 8) */
			0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08,
			/* WordIO 0xc000-0xffff, EntireRange */
			0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0x00, 0x00, 0x00,
			0xc0, 0xff, 0xff, 0x00, 0x00, 0x00, 0x40,
			/* DWordMemory 0xc0000000-0xcfffffff, non-cacheable RW */
			0x87, 0x17, 0x00, 0x00, 0x0c, 0x01, 0, 0, 0, 0, 0x00,
			0x00, 0x00, 0xc0, 0xff, 0xff, 0xff, 0xcf, 0, 0, 0, 0,
			0x00, 0x00, 0x00, 0x10,
			/* QWordMemory 64 GiB + 64 GiB */
			0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x01, 0, 0, 0, 0, 0, 0, 0,
			0, 0x00, 0x00, 0x00, 0x00, 0x10, 0, 0, 0, 0xff, 0xff,
			0xff, 0xff, 0x1f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00,
			0x00, 0x00, 0x00, 0x10, 0, 0, 0,
			/* end tag */
			0x79, 0x00
		};

		cr_assert_eq(n->buf_len, sizeof(want), "%u", n->buf_len);
		cr_assert_arr_eq(n->buf, want, sizeof(want));
	}
	/* The ECAM area as a motherboard resource */
	cr_assert_eq(aml_find(&f->aml, "\\_SB_.RES0._HID")->val, 0x020cd041,
		     "EisaId(PNP0C02)");
	n = aml_find(&f->aml, "\\_SB_.RES0._CRS");
	cr_assert_not_null(n);
	{
		static const uint8_t want[] = { 0x86, 0x09, 0x00, 0x01, 0x00,
						0x00, 0x00, 0xe0, 0x00, 0x00,
						0x10, 0x00, 0x79, 0x00 };

		cr_assert_eq(n->buf_len, sizeof(want));
		cr_assert_arr_eq(n->buf, want, sizeof(want));
	}
	cr_assert_eq(f->aml.nr, 1 + 6 + 3);
	free(f);
}

Test(x86_acpi, no_pci_no_mcfg)
{
	struct x86_tables_cfg c = pc_cfg(1);
	struct found *f = calloc(1, sizeof(*f));

	build_and_walk(&c, f);
	cr_assert_eq(f->mcfg, 0);
	cr_assert_null(aml_find(&f->aml, "\\_SB_.PCI0._HID"));
	free(f);
}

Test(x86_acpi, virtio_mmio_in_dsdt)
{
	struct x86_tables_cfg c = pc_cfg(2);
	const struct aml_name *n;
	struct found *f = calloc(1, sizeof(*f));
	char path[64];

	c.uarts[0] = (struct x86_tables_uart){ .port = 0x3f8, .irq = 4 };
	c.nr_uarts = 1;
	for (unsigned i = 0; i < X86_TABLES_MAX_VIRTIO_MMIO; i++)
		c.vmmio[i] = (struct x86_tables_virtio_mmio){
			.base = 0xd0000000 + 0x1000 * i,
			.size = 0x1000,
			.irq = (uint8_t)(i == 0 ? 5 : 16 + i % 8),
		};
	c.isa_irqs |= 1u << 5;
	c.nr_vmmio = X86_TABLES_MAX_VIRTIO_MMIO;
	c.pci = true;
	build_and_walk(&c, f);
	n = aml_find(&f->aml, "\\_SB_.VR00._HID");
	cr_assert_not_null(n);
	cr_assert_eq(n->kind, AML_STR);
	cr_assert_str_eq((const char *)n->buf, "LNRO0005");
	cr_assert_eq(aml_find(&f->aml, "\\_SB_.VR00._UID")->val, 0);
	cr_assert_eq(aml_find(&f->aml, "\\_SB_.VR00._CCA")->val, 1);
	n = aml_find(&f->aml, "\\_SB_.VR00._CRS");
	cr_assert_not_null(n);
	{
		/* Memory32Fixed (ReadWrite, 0xd0000000, 0x1000),
		 * Interrupt (ResourceConsumer, Edge, ActiveHigh,
		 * Exclusive) {5} */
		static const uint8_t want[] = { 0x86, 0x09, 0x00, 0x01, 0x00,
						0x00, 0x00, 0xd0, 0x00, 0x10,
						0x00, 0x00, 0x89, 0x06, 0x00,
						0x03, 0x01, 0x05, 0x00, 0x00,
						0x00, 0x79, 0x00 };

		cr_assert_eq(n->buf_len, sizeof(want));
		cr_assert_arr_eq(n->buf, want, sizeof(want));
	}
	for (unsigned i = 1; i < X86_TABLES_MAX_VIRTIO_MMIO; i++) {
		snprintf(path, sizeof(path), "\\_SB_.VR%02u._UID", i);
		n = aml_find(&f->aml, path);
		cr_assert_not_null(n, "%s", path);
		cr_assert_eq(n->val, i);
		snprintf(path, sizeof(path), "\\_SB_.VR%02u._CRS", i);
		n = aml_find(&f->aml, path);
		cr_assert_not_null(n, "%s", path);
		cr_assert_eq(n->buf[4] | n->buf[5] << 8 | n->buf[6] << 16 |
				     (uint32_t)n->buf[7] << 24,
			     0xd0000000 + 0x1000 * i);
		cr_assert_eq(n->buf[17], 16 + i % 8);
	}
	cr_assert_eq(f->aml.nr, 1 + 3 + 9 + 4 * X86_TABLES_MAX_VIRTIO_MMIO);
	free(f);
}

/* --- configuration errors --- */

static void assert_fails(const struct x86_tables_cfg *c, int code,
			 const char *text)
{
	uint64_t rsdp = 0x1234;
	int ret = x86_acpi_build(&b, c, &rsdp);

	cr_assert_eq(ret, code, "ret %d (want %d): %s", ret, code, b.err);
	cr_assert(strstr(b.err, text), "expected '%s' in: %s", text, b.err);
	cr_assert_eq(rsdp, 0);
	cr_assert_eq(b.nr_res, 0, "nothing reserved");
	for (uint64_t a = 0xe0000; a < 0x100000; a += 8)
		cr_assert_eq(r64(a), 0, "byte written at %#llx",
			     (unsigned long long)a);
}

Test(x86_acpi, bad_cpu_counts)
{
	struct x86_tables_cfg c = pc_cfg(0);

	assert_fails(&c, -EINVAL, "0 vCPUs");
	c.nr_cpus = 255;
	assert_fails(&c, -EINVAL, "255 vCPUs");
}

Test(x86_acpi, bad_irq0_pin)
{
	struct x86_tables_cfg c = pc_cfg(1);

	c.irq0_pin = 1;
	assert_fails(&c, -EINVAL, "pin 1");
}

Test(x86_acpi, device_on_the_sci_irq)
{
	struct x86_tables_cfg c = pc_cfg(1);

	c.isa_irqs |= 1u << 9;
	assert_fails(&c, -EBUSY, "IRQ 9, which is the ACPI SCI");
	c = pc_cfg(1);
	c.uarts[0] = (struct x86_tables_uart){ .port = 0x3f8, .irq = 9 };
	c.nr_uarts = 1;
	assert_fails(&c, -EBUSY, "SCI");
}

Test(x86_acpi, device_on_the_cascade)
{
	struct x86_tables_cfg c = pc_cfg(1);

	c.isa_irqs |= 1u << 2;
	assert_fails(&c, -EINVAL, "cascade");
}

Test(x86_acpi, bad_virtio_mmio)
{
	struct x86_tables_cfg c = pc_cfg(1);

	c.nr_vmmio = X86_TABLES_MAX_VIRTIO_MMIO + 1;
	assert_fails(&c, -EINVAL, "33 virtio-mmio devices");
	c.nr_vmmio = 1;
	c.vmmio[0] = (struct x86_tables_virtio_mmio){ .base = 0xd0000000,
						      .size = 0x1000,
						      .irq = 24 };
	assert_fails(&c, -EINVAL, "IRQ 24");
	c.vmmio[0].irq = 5;
	c.vmmio[0].base = 0xfffff800;
	assert_fails(&c, -EINVAL, "below 4 GiB");
	c.vmmio[0].base = 0xd0000000;
	c.vmmio[0].size = 0;
	assert_fails(&c, -EINVAL, "virtio-mmio");
	c.vmmio[0].size = 0x1000;
	c.vmmio[0].irq = 9;
	assert_fails(&c, -EBUSY, "SCI");
	c.vmmio[0].irq = 2;
	assert_fails(&c, -EINVAL, "cascade");
}

Test(x86_acpi, bad_uarts)
{
	struct x86_tables_cfg c = pc_cfg(1);

	c.nr_uarts = 5;
	assert_fails(&c, -EINVAL, "5 UARTs");
	c.nr_uarts = 1;
	c.uarts[0] = (struct x86_tables_uart){ .port = 0x3f8, .irq = 24 };
	assert_fails(&c, -EINVAL, "IRQ 24");
	c.uarts[0] = (struct x86_tables_uart){ .port = 0xfffc, .irq = 4 };
	assert_fails(&c, -EINVAL, "0xfffc");
	c = pc_cfg(1);
	c.pm_port = 0xfffc;
	assert_fails(&c, -EINVAL, "PM1a");
}

/* --- placement --- */

static void use_ram(uint64_t gpa, uint64_t size)
{
	mem_free(&mem);
	memset(&mem, 0, sizeof(mem));
	cr_assert_eq(mem_add_region(&mem, "ram", gpa, size, NULL, false), 0);
	boot_ctx_init(&b, &mem);
}

Test(x86_acpi, no_ram_in_bios_area_optional_skips)
{
	static const struct {
		uint64_t gpa, size;
	} layouts[] = {
		{ 0x100000, 32 * MiB_ }, /* RAM from 1 MiB only */
		{ 0, 0xa0000 },		 /* 640 KiB only */
		{ 0, 0xe0000 },		 /* ends right at the area */
	};

	for (unsigned i = 0; i < 3; i++) {
		struct x86_tables_cfg c = pc_cfg(2);
		uint64_t rsdp = 0x1234;

		use_ram(layouts[i].gpa, layouts[i].size);
		c.required = false;
		cr_assert_eq(x86_acpi_build(&b, &c, &rsdp), 0, "%s", b.err);
		cr_assert_eq(rsdp, 0);
		cr_assert_eq(b.nr_res, 0);
		cr_assert_eq(b.err[0], '\0');
	}
}

Test(x86_acpi, no_ram_in_bios_area_required_fails)
{
	struct x86_tables_cfg c = pc_cfg(2);
	uint64_t rsdp = 0x1234;

	use_ram(0x100000, 32 * MiB_);
	cr_assert_eq(x86_acpi_build(&b, &c, &rsdp), -ERANGE);
	cr_assert_eq(rsdp, 0);
	cr_assert(strstr(b.err, "ACPI tables [0xe0000-"), "%s", b.err);
	cr_assert(strstr(b.err, "0xe0000-0xfffff"), "%s", b.err);
	cr_assert(strstr(b.err, "RSDP"), "%s", b.err);
	cr_assert(strstr(b.err, "[0x100000-0x2100000) ram"), "%s", b.err);
}

Test(x86_acpi, read_only_region_is_not_ram)
{
	char path[] = "/tmp/vmm-test-acpi-rom-XXXXXX";
	struct x86_tables_cfg c = pc_cfg(1);
	uint64_t rsdp;
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 0x20000), 0);
	close(fd);
	use_ram(0, 0xa0000);
	cr_assert_eq(mem_add_region(&mem, "bios", 0xe0000, 0x20000, path, true),
		     0);
	unlink(path);
	cr_assert_eq(x86_acpi_build(&b, &c, &rsdp), -ERANGE);
	cr_assert(strstr(b.err, "bios (read-only)"), "%s", b.err);
	c.required = false;
	cr_assert_eq(x86_acpi_build(&b, &c, &rsdp), 0);
	cr_assert_eq(rsdp, 0);
}

Test(x86_acpi, collision_names_both)
{
	struct x86_tables_cfg c = pc_cfg(8);
	uint64_t rsdp = 0x1234;

	cr_assert_eq(boot_reserve(&b, 0xe0200, 0x100, "image"), 0);
	cr_assert_eq(x86_acpi_build(&b, &c, &rsdp), -EBUSY);
	cr_assert_eq(rsdp, 0);
	cr_assert(strstr(b.err, "ACPI tables [0xe0000-"), "%s", b.err);
	cr_assert(strstr(b.err, "overlaps image [0xe0200-0xe0300)"), "%s",
		  b.err);
	cr_assert_eq(r64(0xe0000), 0, "nothing written");
	/* An image just above the tables is fine, even when optional. */
	use_ram(0, 32 * MiB_);
	cr_assert_eq(boot_reserve(&b, 0xe1000, 0x1000, "image"), 0);
	c.required = false;
	cr_assert_eq(x86_acpi_build(&b, &c, &rsdp), 0, "%s", b.err);
	cr_assert_eq(rsdp, 0xe0000);
}

Test(x86_acpi, rsdp_is_the_first_match_of_the_scan)
{
	struct x86_tables_cfg c = pc_cfg(2);
	uint64_t rsdp;

	cr_assert_eq(x86_acpi_build(&b, &c, &rsdp), 0, "%s", b.err);
	/* No other 16-byte aligned "RSD PTR " in the area. */
	for (uint64_t a = rsdp + 16; a < 0x100000; a += 16)
		cr_assert(memcmp(gp(a, 8), "RSD PTR ", 8),
			  "second RSDP at %#llx", (unsigned long long)a);
}

/* --- iasl (acpica-tools), if installed --- */

static bool find_iasl(char *out, size_t len)
{
	const char *path = getenv("PATH");
	char dirs[4096];

	snprintf(dirs, sizeof(dirs), "%s:/usr/bin:/usr/sbin", path ? path : "");
	for (char *save, *d = strtok_r(dirs, ":", &save); d;
	     d = strtok_r(NULL, ":", &save)) {
		snprintf(out, len, "%s/iasl", d);
		if (access(out, X_OK) == 0)
			return true;
	}
	return false;
}

static void dump(const char *dir, const char *name, uint64_t gpa, uint64_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(gp(gpa, len), 1, len, f), len);
	fclose(f);
}

/* Run a shell command in dir; return its exit status, output in *out. */
static int run(const char *dir, const char *cmd, char *out, size_t len)
{
	char full[2048];
	FILE *p;
	size_t n = 0;
	int st;

	snprintf(full, sizeof(full), "cd '%s' && %s 2>&1", dir, cmd);
	p = popen(full, "r");
	cr_assert_not_null(p);
	while (n + 1 < len) {
		size_t got = fread(out + n, 1, len - 1 - n, p);

		if (!got)
			break;
		n += got;
	}
	out[n] = '\0';
	/* drain the rest so the child is not blocked */
	while (fgetc(p) != EOF)
		;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *dir, const char *name)
{
	char path[512];
	struct stat st;
	char *buf;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	cr_assert_not_null(f, "%s missing", path);
	cr_assert_eq(fstat(fileno(f), &st), 0);
	buf = calloc(1, (size_t)st.st_size + 1);
	cr_assert_eq(fread(buf, 1, (size_t)st.st_size, f), (size_t)st.st_size);
	fclose(f);
	return buf;
}

Test(x86_acpi, iasl_disassembles_every_table)
{
	static const char *const names[] = { "rsdp", "rsdt", "xsdt", "facp",
					     "facs", "apic", "dsdt", "mcfg" };
	char iasl[512], *dir = iasl_dir, cmd[1024];
	char *out = malloc(65536);
	struct x86_tables_cfg c = pc_cfg(4);
	struct found *f = calloc(1, sizeof(*f));
	uint64_t gpa[8], len[8];

	if (!find_iasl(iasl, sizeof(iasl)))
		cr_skip("iasl not installed (Debian: acpica-tools)");
	c.uarts[0] = (struct x86_tables_uart){ .port = 0x3f8, .irq = 4 };
	c.uarts[1] = (struct x86_tables_uart){ .port = 0x2f8, .irq = 3 };
	c.uarts[2] = (struct x86_tables_uart){ .port = 0x3e8, .irq = 20 };
	c.nr_uarts = 3;
	c.pci = true;
	c.vmmio[0] = (struct x86_tables_virtio_mmio){ .base = 0xd0000000,
						      .size = 0x1000,
						      .irq = 5 };
	c.vmmio[1] = (struct x86_tables_virtio_mmio){ .base = 0xd0001000,
						      .size = 0x1000,
						      .irq = 21 };
	c.nr_vmmio = 2;
	c.isa_irqs |= 1u << 5;
	build_and_walk(&c, f);
	snprintf(iasl_dir, sizeof(iasl_dir), "%s/vmm-test-iasl-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	cr_assert_not_null(mkdtemp(iasl_dir));
	gpa[0] = f->rsdp, len[0] = 36;
	gpa[1] = f->rsdt, gpa[2] = f->xsdt, gpa[3] = f->fadt;
	gpa[4] = f->facs, len[4] = 64;
	gpa[5] = f->madt, gpa[6] = f->dsdt, gpa[7] = f->mcfg;
	for (unsigned i = 0; i < 8; i++) {
		if (i != 0 && i != 4)
			len[i] = r32(gpa[i] + 4);
		dump(dir, names[i], gpa[i], len[i]);
	}

	/* i = 1: iasl 20200925 cannot read a binary RSDP ("does not contain
	 * a valid ACPI table": it has no SDT header); the walk checked it. */
	for (unsigned i = 1; i < 8; i++) {
		char dsl[64];
		char *text;
		int st;

		snprintf(cmd, sizeof(cmd), "'%s' -d %s.dat", iasl, names[i]);
		st = run(dir, cmd, out, 65536);
		cr_assert_eq(st, 0, "iasl -d %s.dat: exit %d:\n%s", names[i],
			     st, out);
		cr_assert_null(strstr(out, "Error"), "%s:\n%s", names[i], out);
		cr_assert_null(strstr(out, "Warning"), "%s:\n%s", names[i],
			       out);
		snprintf(dsl, sizeof(dsl), "%s.dsl", names[i]);
		text = slurp(dir, dsl);
		/* The data-table disassembler flags what it finds wrong in
		 * comments. */
		cr_assert_null(strstr(text, "Incorrect"), "%s:\n%s", dsl, text);
		cr_assert_null(strstr(text, "Invalid"), "%s:\n%s", dsl, text);
		cr_assert_null(strstr(text, "**** "), "%s:\n%s", dsl, text);
		if (!strcmp(names[i], "dsdt")) {
			cr_assert(strstr(text, "Name (_S5, Package (0x04)"),
				  "%s", text);
			cr_assert(strstr(text, "EisaId (\"PNP0501\")"), "%s",
				  text);
			cr_assert(strstr(text, "IRQNoFlags ()"), "%s", text);
			cr_assert(strstr(text, "Interrupt (ResourceConsumer, "
					       "Edge, ActiveHigh, Exclusive"),
				  "%s", text);
			cr_assert(strstr(text, "EisaId (\"PNP0A08\")"), "%s",
				  text);
			cr_assert(strstr(text, "EisaId (\"PNP0A03\")"), "%s",
				  text);
			cr_assert(strstr(text, "EisaId (\"PNP0C02\")"), "%s",
				  text);
			cr_assert(
				strstr(text, "WordBusNumber (ResourceProducer"),
				"%s", text);
			cr_assert(strstr(text, "WordIO (ResourceProducer"),
				  "%s", text);
			cr_assert(strstr(text, "DWordMemory (ResourceProducer"),
				  "%s", text);
			cr_assert(strstr(text, "QWordMemory (ResourceProducer"),
				  "%s", text);
			cr_assert(strstr(text, "0x0000001FFFFFFFFF"), "%s",
				  text);
			cr_assert(strstr(text, "Name (_HID, \"LNRO0005\")"),
				  "%s", text);
			cr_assert(strstr(text, "Memory32Fixed (ReadWrite,"),
				  "%s", text);
		}
		if (!strcmp(names[i], "mcfg"))
			cr_assert(strstr(text, "Base Address : "
					       "00000000E0000000"),
				  "%s", text);
		if (!strcmp(names[i], "apic"))
			cr_assert(strstr(text, "Subtable Type : 02 [Interrupt "
					       "Source Override]"),
				  "%s", text);
		free(text);
	}

	/* The disassembled DSDT compiles back to the same AML body. */
	snprintf(cmd, sizeof(cmd), "'%s' -p re dsdt.dsl", iasl);
	cr_assert_eq(run(dir, cmd, out, 65536), 0, "iasl dsdt.dsl:\n%s", out);
	{
		char *re = slurp(dir, "re.aml");
		uint32_t dlen = r32(f->dsdt + 4);

		cr_assert_eq(memcmp(re + 4, gp(f->dsdt + 4, 4), 4), 0,
			     "recompiled DSDT length differs");
		cr_assert_eq(
			memcmp(re + 36, gp(f->dsdt + 36, dlen - 36), dlen - 36),
			0, "recompiled AML differs");
		free(re);
	}

	free(out);
	free(f);
}
