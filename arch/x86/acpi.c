/* SPDX-License-Identifier: MIT */
/*
 * ACPI tables, ACPI 6.3 (chapter 5), written from the spec's field tables.
 *
 * Why these tables and these values:
 * - RSDP revision 2 with both an RSDT (32-bit entries, for old OSes) and an
 *   XSDT (what ACPI 2.0+ OSPMs use); both list the FADT and the MADT.
 * - FADT revision 6.3, *not* hardware-reduced: power-off is the PM1a
 *   control register's SLP_TYP/SLP_EN (devices/acpi_pm.c), which a
 *   hardware-reduced FADT would hide. SMI_CMD = 0 says ACPI is always
 *   enabled (the acpi-pm device reads SCI_EN = 1). No PM timer (PM_TMR_LEN
 *   0; optional since ACPI 5.0A, and guests have the TSC / kvm-clock), no
 *   GPE blocks, C2/C3 latencies above the "not supported" limits.
 *   RESET_REG is the PC reset control port 0xcf9, value 6 (devices/
 *   pc_reset.c), byte access. The DSDT address is in both DSDT and
 *   X_DSDT (equal values, which every reader accepts); the FACS only in
 *   FIRMWARE_CTRL, because the spec allows at most one of FIRMWARE_CTRL
 *   and X_FIRMWARE_CTRL to be non-zero (ACPICA and fwts complain
 *   otherwise).
 * - FACS: not needed for S5 but required for a FADT that is not
 *   hardware-reduced; an empty one (no waking vector, no global lock
 *   owner) costs 64 bytes.
 * - MADT: a Processor Local APIC per vCPU (UID = APIC ID = index), the
 *   IOAPIC (ID nr_cpus, GSI base 0), the ISA overrides a PC has (IRQ 0 ->
 *   GSI 2 if the PIT is wired there, SCI level/active-high), LINT1 = NMI
 *   for all processors. PCAT_COMPAT: the 8259s exist (in-kernel).
 * - DSDT: \_S5 = {5, 5} matching devices/abi/x86_pc.h, and the UARTs as
 *   PNP0501 devices so the OS does not have to probe for them. With a PCI
 *   host bridge: the root bridge \_SB.PCI0 (PNP0A08/PNP0A03, bus 0, the
 *   type-1 ports and the three BAR windows in _CRS; no _PRT: no INTx) and
 *   \_SB.RES0 (PNP0C02) reserving the ECAM area, which Linux requires
 *   before it uses the MCFG. Each virtio-mmio device as \_SB.VRnn
 *   (LNRO0005, the binding Linux's virtio_mmio driver matches).
 * - MCFG (with PCI only): the ECAM of segment 0, bus 0.
 *
 * Tables are built in a heap buffer and copied with boot_load(), so the
 * write goes through the reservation table and a collision is reported
 * naming both sides.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/acpi.h"
#include "devices/abi/x86_pc.h"
#include "vmm/util.h"

#define ACPI_OEM_ID	  "VMM   "
#define ACPI_OEM_TABLE_ID "VMMTABLE"
#define ACPI_OEM_REVISION 1
#define ACPI_CREATOR_ID	  "VMM "
#define ACPI_CREATOR_REV  1
#define ACPI_PM1_EVT_LEN  4
#define ACPI_PM1_CNT_LEN  2
#define ACPI_PM_SIZE	  8 /* ports the acpi-pm device decodes */
#define ACPI_RESET_PORT	  0xcf9
#define ACPI_RESET_VALUE  0x06 /* RST_CPU | SYS_RST: full reset */
#define ACPI_RTC_CENTURY  0x32 /* CMOS index devices/cmos_rtc.c serves */
#define IOAPIC_NR_PINS	  24

/* --- table layouts (little-endian, packed as in the spec) --- */

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_header) == 36, "SDT header");

/* Generic Address Structure (5.2.3.2) */
struct acpi_gas {
	uint8_t space_id; /* 0 memory, 1 I/O */
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size; /* 0 undefined, 1 byte, 2 word, 3 dword */
	uint64_t address;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS");

#define GAS_SPACE_IO	1
#define GAS_ACCESS_BYTE 1

struct acpi_rsdp {
	char signature[8]; /* "RSD PTR " */
	uint8_t checksum;  /* of the first 20 bytes */
	char oem_id[6];
	uint8_t revision; /* 2: ACPI 2.0+ layout */
	uint32_t rsdt_address;
	uint32_t length; /* 36 */
	uint64_t xsdt_address;
	uint8_t extended_checksum; /* of all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP");
#define RSDP_V1_LEN 20

/* FADT, ACPI 6.3 table 5-34 (major 6, minor 3: 276 bytes) */
struct acpi_fadt {
	struct acpi_header h;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable;
	uint8_t acpi_disable;
	uint8_t s4bios_req;
	uint8_t pstate_cnt;
	uint32_t pm1a_evt_blk;
	uint32_t pm1b_evt_blk;
	uint32_t pm1a_cnt_blk;
	uint32_t pm1b_cnt_blk;
	uint32_t pm2_cnt_blk;
	uint32_t pm_tmr_blk;
	uint32_t gpe0_blk;
	uint32_t gpe1_blk;
	uint8_t pm1_evt_len;
	uint8_t pm1_cnt_len;
	uint8_t pm2_cnt_len;
	uint8_t pm_tmr_len;
	uint8_t gpe0_blk_len;
	uint8_t gpe1_blk_len;
	uint8_t gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat;
	uint16_t p_lvl3_lat;
	uint16_t flush_size;
	uint16_t flush_stride;
	uint8_t duty_offset;
	uint8_t duty_width;
	uint8_t day_alrm;
	uint8_t mon_alrm;
	uint8_t century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk;
	struct acpi_gas x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk;
	struct acpi_gas x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk;
	struct acpi_gas x_gpe1_blk;
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	uint64_t hypervisor_vendor_id;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT 6.3");
_Static_assert(offsetof(struct acpi_fadt, iapc_boot_arch) == 109, "FADT");
_Static_assert(offsetof(struct acpi_fadt, reset_reg) == 116, "FADT");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "FADT");
_Static_assert(offsetof(struct acpi_fadt, x_pm1a_cnt_blk) == 172, "FADT");
_Static_assert(offsetof(struct acpi_fadt, sleep_control_reg) == 244, "FADT");

#define FADT_REVISION	    6
#define FADT_MINOR_REVISION 3

/* FADT flags (table 5-35) */
#define FADT_WBINVD	   (1u << 0)
#define FADT_PROC_C1	   (1u << 2)
#define FADT_PWR_BUTTON	   (1u << 4) /* 1: no fixed-feature power button */
#define FADT_SLP_BUTTON	   (1u << 5) /* 1: no fixed-feature sleep button */
#define FADT_FIX_RTC	   (1u << 6) /* 1: no RTC wake status */
#define FADT_RESET_REG_SUP (1u << 10)

/* IA-PC boot architecture flags (table 5-36) */
#define BOOT_LEGACY_DEVICES	  (1u << 0)
#define BOOT_8042		  (1u << 1)
#define BOOT_VGA_NOT_PRESENT	  (1u << 2)
#define BOOT_CMOS_RTC_NOT_PRESENT (1u << 5)

#define P_LVL2_NOT_SUPPORTED 101  /* > 100 us: C2 not supported */
#define P_LVL3_NOT_SUPPORTED 1001 /* > 1000 us: C3 not supported */

/* FACS (5.2.10) */
struct acpi_facs {
	char signature[4]; /* "FACS" */
	uint32_t length;   /* 64 */
	uint32_t hardware_signature;
	uint32_t firmware_waking_vector;
	uint32_t global_lock;
	uint32_t flags;
	uint64_t x_firmware_waking_vector;
	uint8_t version; /* 2 */
	uint8_t reserved[3];
	uint32_t ospm_flags;
	uint8_t reserved2[24];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_facs) == 64, "FACS");
#define FACS_VERSION 2

/* MADT (5.2.12) */
struct acpi_madt {
	struct acpi_header h;
	uint32_t lapic_address;
	uint32_t flags;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT");
#define MADT_REVISION	 5 /* ACPI 6.3 */
#define MADT_PCAT_COMPAT (1u << 0)

enum {
	MADT_LAPIC = 0,
	MADT_IOAPIC = 1,
	MADT_ISO = 2,
	MADT_LAPIC_NMI = 4,
};

struct madt_lapic {
	uint8_t type, length;
	uint8_t processor_uid;
	uint8_t apic_id;
	uint32_t flags; /* bit 0: enabled */
} __attribute__((packed));
_Static_assert(sizeof(struct madt_lapic) == 8, "MADT LAPIC");

struct madt_ioapic {
	uint8_t type, length;
	uint8_t ioapic_id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} __attribute__((packed));
_Static_assert(sizeof(struct madt_ioapic) == 12, "MADT IOAPIC");

struct madt_iso {
	uint8_t type, length;
	uint8_t bus; /* 0: ISA */
	uint8_t source;
	uint32_t gsi;
	uint16_t flags; /* MPS INTI flags */
} __attribute__((packed));
_Static_assert(sizeof(struct madt_iso) == 10, "MADT ISO");

struct madt_lapic_nmi {
	uint8_t type, length;
	uint8_t processor_uid; /* 0xff: all */
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));
_Static_assert(sizeof(struct madt_lapic_nmi) == 6, "MADT LAPIC NMI");

/* MPS INTI flags: polarity bits 0-1, trigger mode bits 2-3 */
#define INTI_ACTIVE_HIGH 0x1
#define INTI_EDGE	 0x4
#define INTI_LEVEL	 0xc

/* MCFG (PCI Firmware Specification 3.2, table 4-2/4-3) */
struct mcfg_alloc {
	uint64_t base; /* ECAM base of bus start_bus */
	uint16_t segment;
	uint8_t start_bus;
	uint8_t end_bus;
	uint32_t reserved;
} __attribute__((packed));

struct acpi_mcfg {
	struct acpi_header h;
	uint64_t reserved;
	struct mcfg_alloc alloc;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_mcfg) == 60, "MCFG, one allocation");
#define MCFG_REVISION 1

/* --- AML (ACPI 6.3 chapter 20), just what the DSDT needs --- */

#define AML_ZERO	 0x00
#define AML_ONE		 0x01
#define AML_NAME	 0x08
#define AML_BYTE_PREFIX	 0x0a
#define AML_WORD_PREFIX	 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_QWORD_PREFIX 0x0e
#define AML_SCOPE	 0x10
#define AML_BUFFER	 0x11
#define AML_PACKAGE	 0x12
#define AML_EXT_PREFIX	 0x5b
#define AML_DEVICE	 0x82 /* after AML_EXT_PREFIX */

#define AML_STRING_PREFIX 0x0d

/* 32 virtio-mmio devices (~50 bytes each), the PCI root bridge and the
 * UARTs fit with room to spare. */
#define AML_MAX 4096

struct aml {
	uint8_t b[AML_MAX];
	size_t n;
	bool overflow;
};

static void aml_bytes(struct aml *a, const void *p, size_t len)
{
	if (a->overflow || len > AML_MAX - a->n) {
		a->overflow = true;
		return;
	}
	memcpy(a->b + a->n, p, len);
	a->n += len;
}

static void aml_byte(struct aml *a, uint8_t v)
{
	aml_bytes(a, &v, 1);
}

/* A 4-character NameSeg ("_S5_", "COM1"). Names are relative to the
 * current scope; the DSDT's top level is the root, so "_SB_" there is
 * \_SB_ (and one byte shorter, as iasl would emit it). */
static void aml_nameseg(struct aml *a, const char *seg)
{
	aml_bytes(a, seg, 4);
}

/* The shortest integer encoding (20.2.3 ComputationalData). */
static void aml_int(struct aml *a, uint64_t v)
{
	uint8_t le[8];
	size_t n;

	if (v == 0 || v == 1) {
		aml_byte(a, v ? AML_ONE : AML_ZERO);
		return;
	}
	if (v <= 0xff) {
		aml_byte(a, AML_BYTE_PREFIX);
		n = 1;
	} else if (v <= 0xffff) {
		aml_byte(a, AML_WORD_PREFIX);
		n = 2;
	} else if (v <= 0xffffffff) {
		aml_byte(a, AML_DWORD_PREFIX);
		n = 4;
	} else {
		aml_byte(a, AML_QWORD_PREFIX);
		n = 8;
	}
	for (size_t i = 0; i < n; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	aml_bytes(a, le, n);
}

/*
 * PkgLength (20.2.4) for a body of `len` bytes; the encoded value counts
 * its own bytes too. One byte holds up to 63; otherwise the lead byte has
 * the count of following bytes in bits 7-6 and the low 4 bits of the
 * length, the following bytes the rest.
 */
static void aml_pkglen(struct aml *a, size_t len)
{
	size_t total;
	unsigned extra;

	if (len + 1 <= 0x3f) {
		aml_byte(a, (uint8_t)(len + 1));
		return;
	}
	for (extra = 1; extra <= 3; extra++) {
		total = len + 1 + extra;
		if (total < (1ULL << (4 + 8 * extra)))
			break;
	}
	if (extra > 3) {
		a->overflow = true;
		return;
	}
	aml_byte(a, (uint8_t)((extra << 6) | (total & 0xf)));
	for (unsigned i = 0; i < extra; i++)
		aml_byte(a, (uint8_t)(total >> (4 + 8 * i)));
}

/* op [ext] PkgLength name body: Scope, Device. */
static void aml_named_pkg(struct aml *a, bool ext, uint8_t op, const char *seg,
			  const struct aml *body)
{
	if (body->overflow) {
		a->overflow = true;
		return;
	}
	if (ext)
		aml_byte(a, AML_EXT_PREFIX);
	aml_byte(a, op);
	aml_pkglen(a, 4 + body->n);
	aml_nameseg(a, seg);
	aml_bytes(a, body->b, body->n);
}

/* Name(seg, Package(){ ints }) */
static void aml_name_package(struct aml *a, const char *seg, const uint64_t *v,
			     unsigned n)
{
	struct aml el = { .n = 0 };

	aml_byte(&el, (uint8_t)n); /* NumElements */
	for (unsigned i = 0; i < n; i++)
		aml_int(&el, v[i]);
	aml_byte(a, AML_NAME);
	aml_nameseg(a, seg);
	aml_byte(a, AML_PACKAGE);
	aml_pkglen(a, el.n);
	aml_bytes(a, el.b, el.n);
	if (el.overflow)
		a->overflow = true;
}

static void aml_name_int(struct aml *a, const char *seg, uint64_t v)
{
	aml_byte(a, AML_NAME);
	aml_nameseg(a, seg);
	aml_int(a, v);
}

/* Name(seg, Buffer(){ data }) */
static void aml_name_buffer(struct aml *a, const char *seg, const uint8_t *d,
			    size_t len)
{
	struct aml body = { .n = 0 };

	aml_int(&body, len); /* BufferSize */
	aml_bytes(&body, d, len);
	aml_byte(a, AML_NAME);
	aml_nameseg(a, seg);
	aml_byte(a, AML_BUFFER);
	aml_pkglen(a, body.n);
	aml_bytes(a, body.b, body.n);
	if (body.overflow)
		a->overflow = true;
}

/* Name(seg, "text") */
static void aml_name_string(struct aml *a, const char *seg, const char *str)
{
	aml_byte(a, AML_NAME);
	aml_nameseg(a, seg);
	aml_byte(a, AML_STRING_PREFIX);
	aml_bytes(a, str, strlen(str) + 1);
}

/* Compressed EISA ID ("PNP0501") as the DWORD AML integer (_HID). */
static uint32_t eisa_id(const char *s)
{
	uint32_t id = (uint32_t)((s[0] - 0x40) & 0x1f) << 26 |
		      (uint32_t)((s[1] - 0x40) & 0x1f) << 21 |
		      (uint32_t)((s[2] - 0x40) & 0x1f) << 16;

	for (int i = 3; i < 7; i++) {
		char c = s[i];
		uint32_t d = (uint32_t)(c <= '9' ? c - '0' : c - 'A' + 10);

		id |= d << (4 * (6 - i));
	}
	/* The bytes are stored most significant first. */
	return __builtin_bswap32(id);
}

/* Resource descriptors (6.4): I/O port, IRQ, end tag. */
#define RES_IO_TAG	     0x47 /* small item 0x08, length 7 */
#define RES_IRQ2_TAG	     0x22 /* small item 0x04, length 2: no flags */
#define RES_END_TAG	     0x79 /* small item 0x0f, length 1 */
#define RES_EXT_IRQ_TAG	     0x89 /* large item 0x09 */
#define RES_IO_DECODE16	     0x01
#define RES_EXT_IRQ_CONSUMER 0x01
#define RES_EXT_IRQ_EDGE     0x02
#define RES_MEM32_FIXED_TAG  0x86 /* large item 0x06, length 9 */
#define RES_MEM_RW	     0x01
#define RES_DWORD_TAG	     0x87 /* large item 0x07, length 23 */
#define RES_WORD_TAG	     0x88 /* large item 0x08, length 13 */
#define RES_QWORD_TAG	     0x8a /* large item 0x0a, length 43 */
/* Address space descriptors (6.4.3.5): resource type, general flags */
#define RES_SPACE_MEM 0
#define RES_SPACE_IO  1
#define RES_SPACE_BUS 2
#define RES_ADDR_FIXED \
	0x0c		       /* producer, positive decode, MinFixed,
				* MaxFixed */
#define RES_IO_ENTIRE	  0x03 /* _RNG: ISA and non-ISA ranges */
#define RES_MEM_NONCACHED 0x01 /* read-write, non-cacheable */

/* A small byte buffer for one _CRS, bounded like struct aml. */
struct res {
	uint8_t b[160];
	size_t n;
	bool overflow;
};

static void res_le(struct res *r, uint64_t v, unsigned bytes)
{
	if (r->overflow || bytes > sizeof(r->b) - r->n) {
		r->overflow = true;
		return;
	}
	for (unsigned i = 0; i < bytes; i++)
		r->b[r->n++] = (uint8_t)(v >> (8 * i));
}

/*
 * Word/DWord/QWord Address Space Descriptor (6.4.3.5.1-3): a window
 * [min, min + len) the root bridge produces; granularity and translation
 * 0, fixed bounds.
 */
static void res_addr(struct res *r, unsigned width, uint8_t type,
		     uint8_t type_flags, uint64_t min, uint64_t len)
{
	static const uint8_t tag[9] = {
		[2] = RES_WORD_TAG, [4] = RES_DWORD_TAG, [8] = RES_QWORD_TAG
	};

	res_le(r, tag[width], 1);
	res_le(r, 3 + 5 * width, 2); /* length after the 3-byte header */
	res_le(r, type, 1);
	res_le(r, RES_ADDR_FIXED, 1);
	res_le(r, type_flags, 1);
	res_le(r, 0, width);		 /* granularity */
	res_le(r, min, width);		 /* minimum */
	res_le(r, min + len - 1, width); /* maximum */
	res_le(r, 0, width);		 /* translation offset */
	res_le(r, len, width);		 /* length */
}

static void res_io(struct res *r, uint16_t port, uint8_t len)
{
	res_le(r, RES_IO_TAG, 1);
	res_le(r, RES_IO_DECODE16, 1);
	res_le(r, port, 2); /* minimum base */
	res_le(r, port, 2); /* maximum base */
	res_le(r, 1, 1);    /* alignment */
	res_le(r, len, 1);
}

static void res_mem32_fixed(struct res *r, uint32_t base, uint32_t len)
{
	res_le(r, RES_MEM32_FIXED_TAG, 1);
	res_le(r, 9, 2);
	res_le(r, RES_MEM_RW, 1);
	res_le(r, base, 4);
	res_le(r, len, 4);
}

/* Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive) { gsi } */
static void res_irq_edge(struct res *r, uint32_t gsi)
{
	res_le(r, RES_EXT_IRQ_TAG, 1);
	res_le(r, 6, 2);
	res_le(r, RES_EXT_IRQ_CONSUMER | RES_EXT_IRQ_EDGE, 1);
	res_le(r, 1, 1); /* interrupt table length */
	res_le(r, gsi, 4);
}

static void res_end(struct res *r)
{
	res_le(r, RES_END_TAG, 1);
	res_le(r, 0, 1); /* checksum 0: treated as valid */
}

static void aml_name_res(struct aml *a, const char *seg, const struct res *r)
{
	if (r->overflow)
		a->overflow = true;
	aml_name_buffer(a, seg, r->b, r->n);
}

/*
 * The PCI root bridge (PCI Firmware 3.2, 4.1.1; ACPI 6.3 6.1.5):
 *
 *   Device (PCI0) {
 *       Name (_HID, EisaId ("PNP0A08"))   PCI Express root bridge
 *       Name (_CID, EisaId ("PNP0A03"))   PCI root bridge
 *       Name (_UID, 0)  Name (_SEG, 0)  Name (_BBN, 0)
 *       Name (_CRS, ResourceTemplate () {
 *           WordBusNumber (..., 0, 0, 0, 0, 1)        bus 0 only
 *           IO (Decode16, 0xcf8, 0xcf8, 1, 8)         config mechanism #1
 *           WordIO (..., 0xc000, 0xffff, 0, 0x4000)   I/O BAR window
 *           DWordMemory (..., 0xc0000000, 0xcfffffff) 32-bit BAR window
 *           QWordMemory (..., 64 GiB, +64 GiB)        64-bit BAR window
 *       })
 *   }
 *   Device (RES0) {                       motherboard resources: the ECAM
 *       Name (_HID, EisaId ("PNP0C02"))   area, which Linux wants reserved
 *       Name (_UID, 0)                    before it trusts the MCFG
 *       Name (_CRS, ResourceTemplate () { Memory32Fixed (ECAM, 1 MiB) })
 *   }
 */
static void pci_aml(struct aml *sb)
{
	struct aml dev = { .n = 0 };
	struct res crs = { .n = 0 };

	res_addr(&crs, 2, RES_SPACE_BUS, 0, 0, 1);
	res_io(&crs, ABI_PCI_CONFIG_ADDRESS, 8);
	res_addr(&crs, 2, RES_SPACE_IO, RES_IO_ENTIRE, ABI_PCI_IO_BASE,
		 ABI_PCI_IO_SIZE);
	res_addr(&crs, 4, RES_SPACE_MEM, RES_MEM_NONCACHED, ABI_PCI_MMIO32_BASE,
		 ABI_PCI_MMIO32_SIZE);
	res_addr(&crs, 8, RES_SPACE_MEM, RES_MEM_NONCACHED, ABI_PCI_MMIO64_BASE,
		 ABI_PCI_MMIO64_SIZE);
	res_end(&crs);
	aml_name_int(&dev, "_HID", eisa_id("PNP0A08"));
	aml_name_int(&dev, "_CID", eisa_id("PNP0A03"));
	aml_name_int(&dev, "_UID", 0);
	aml_name_int(&dev, "_SEG", 0);
	aml_name_int(&dev, "_BBN", 0);
	aml_name_res(&dev, "_CRS", &crs);
	aml_named_pkg(sb, true, AML_DEVICE, "PCI0", &dev);

	dev.n = 0;
	crs.n = 0;
	res_mem32_fixed(&crs, ABI_PCI_ECAM_BASE, ABI_PCI_ECAM_SIZE);
	res_end(&crs);
	aml_name_int(&dev, "_HID", eisa_id("PNP0C02"));
	aml_name_int(&dev, "_UID", 0);
	aml_name_res(&dev, "_CRS", &crs);
	aml_named_pkg(sb, true, AML_DEVICE, "RES0", &dev);
}

/*
 * A virtio-mmio device (the binding Linux's virtio_mmio driver matches):
 *
 *   Device (VR00) {
 *       Name (_HID, "LNRO0005")
 *       Name (_UID, 0)
 *       Name (_CCA, 1)      DMA is cache-coherent (x86 always is)
 *       Name (_CRS, ResourceTemplate () {
 *           Memory32Fixed (ReadWrite, base, size)
 *           Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive) {irq}
 *       })
 *   }
 */
static void virtio_mmio_aml(struct aml *sb, unsigned i,
			    const struct x86_tables_virtio_mmio *v)
{
	struct aml dev = { .n = 0 };
	struct res crs = { .n = 0 };
	char name[5] = { 'V', 'R', (char)('0' + i / 10), (char)('0' + i % 10),
			 0 };

	res_mem32_fixed(&crs, (uint32_t)v->base, v->size);
	res_irq_edge(&crs, v->irq);
	res_end(&crs);
	aml_name_string(&dev, "_HID", "LNRO0005");
	aml_name_int(&dev, "_UID", i);
	aml_name_int(&dev, "_CCA", 1);
	aml_name_res(&dev, "_CRS", &crs);
	aml_named_pkg(sb, true, AML_DEVICE, name, &dev);
}

static size_t uart_crs(const struct x86_tables_uart *u, uint8_t *out)
{
	size_t n = 0;

	out[n++] = RES_IO_TAG;
	out[n++] = RES_IO_DECODE16;
	out[n++] = (uint8_t)u->port; /* minimum base */
	out[n++] = (uint8_t)(u->port >> 8);
	out[n++] = (uint8_t)u->port; /* maximum base */
	out[n++] = (uint8_t)(u->port >> 8);
	out[n++] = 1; /* alignment */
	out[n++] = 8; /* length */
	if (u->irq < 16) {
		/* IRQNoFlags: ISA default, edge, active high, exclusive */
		uint16_t mask = (uint16_t)(1u << u->irq);

		out[n++] = RES_IRQ2_TAG;
		out[n++] = (uint8_t)mask;
		out[n++] = (uint8_t)(mask >> 8);
	} else {
		/* Interrupt(ResourceConsumer, Edge, ActiveHigh, Exclusive) */
		out[n++] = RES_EXT_IRQ_TAG;
		out[n++] = 6; /* length, low byte */
		out[n++] = 0;
		out[n++] = RES_EXT_IRQ_CONSUMER | RES_EXT_IRQ_EDGE;
		out[n++] = 1; /* interrupt table length */
		out[n++] = u->irq;
		out[n++] = 0;
		out[n++] = 0;
		out[n++] = 0;
	}
	out[n++] = RES_END_TAG;
	out[n++] = 0; /* checksum 0: treated as valid */
	return n;
}

/*
 * The DSDT's AML:
 *
 *   Name (_S5, Package (4) { 5, 5, 0, 0 })
 *   Scope (\_SB) {
 *       Device (COM1) {
 *           Name (_HID, EisaId ("PNP0501"))
 *           Name (_UID, 1)
 *           Name (_CRS, ResourceTemplate () {
 *               IO (Decode16, 0x3f8, 0x3f8, 1, 8)
 *               IRQNoFlags () { 4 }
 *           })
 *       }
 *       ... COM2 ...
 *   }
 */
static void dsdt_aml(const struct x86_tables_cfg *c, struct aml *out)
{
	const uint64_t s5[] = { ABI_ACPI_SLP_TYP_S5, ABI_ACPI_SLP_TYP_S5, 0,
				0 };
	struct aml *sb;

	aml_name_package(out, "_S5_", s5, ARRAY_SIZE(s5));
	if (!c->nr_uarts && !c->pci && !c->nr_vmmio)
		return;
	sb = calloc(1, sizeof(*sb));
	if (!sb) {
		out->overflow = true;
		return;
	}
	for (unsigned i = 0; i < c->nr_uarts; i++) {
		struct aml dev = { .n = 0 };
		uint8_t crs[32];
		size_t crs_len = uart_crs(&c->uarts[i], crs);
		char name[5] = { 'C', 'O', 'M', (char)('1' + i), 0 };

		aml_name_int(&dev, "_HID", eisa_id("PNP0501"));
		aml_name_int(&dev, "_UID", i + 1);
		aml_name_buffer(&dev, "_CRS", crs, crs_len);
		aml_named_pkg(sb, true, AML_DEVICE, name, &dev);
	}
	if (c->pci)
		pci_aml(sb);
	for (unsigned i = 0; i < c->nr_vmmio; i++)
		virtio_mmio_aml(sb, i, &c->vmmio[i]);
	aml_named_pkg(out, false, AML_SCOPE, "_SB_", sb);
	free(sb);
}

/* --- building --- */

static uint8_t checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + b[i]);
	return (uint8_t)(0x100 - sum);
}

static void fill_header(struct acpi_header *h, const char *sig, uint32_t length,
			uint8_t revision)
{
	memcpy(h->signature, sig, 4);
	h->length = length;
	h->revision = revision;
	memcpy(h->oem_id, ACPI_OEM_ID, 6);
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, 8);
	h->oem_revision = ACPI_OEM_REVISION;
	memcpy(h->creator_id, ACPI_CREATOR_ID, 4);
	h->creator_revision = ACPI_CREATOR_REV;
}

/* Set the checksum of a table whose header length is filled in. */
static void seal(struct acpi_header *h)
{
	h->checksum = 0;
	h->checksum = checksum(h, h->length);
}

static struct acpi_gas io_gas(uint16_t port, uint8_t bytes, uint8_t access)
{
	return (struct acpi_gas){
		.space_id = GAS_SPACE_IO,
		.bit_width = (uint8_t)(8 * bytes),
		.access_size = access,
		.address = port,
	};
}

static int check_cfg(struct boot_ctx *b, const struct x86_tables_cfg *c)
{
	uint32_t irqs = c->isa_irqs;
	uint16_t pm = c->pm_port ? c->pm_port : ABI_ACPI_PM_BASE;

	if (c->nr_cpus < 1 || c->nr_cpus > X86_TABLES_MAX_CPUS)
		return boot_fail(b, -EINVAL,
				 "ACPI tables: %u vCPUs; 1 to %u can be "
				 "described",
				 c->nr_cpus, X86_TABLES_MAX_CPUS);
	if (c->irq0_pin != 0 && c->irq0_pin != 2)
		return boot_fail(b, -EINVAL,
				 "ACPI tables: IRQ 0 on IOAPIC pin %u; only 0 "
				 "or 2 are supported",
				 c->irq0_pin);
	if (pm > 0x10000 - ACPI_PM_SIZE)
		return boot_fail(b, -EINVAL,
				 "ACPI tables: PM1a block at port 0x%x does "
				 "not fit below 0x10000",
				 pm);
	if (c->nr_uarts > X86_TABLES_MAX_UARTS)
		return boot_fail(b, -EINVAL,
				 "ACPI tables: %u UARTs; at most %u can be "
				 "described",
				 c->nr_uarts, X86_TABLES_MAX_UARTS);
	for (unsigned i = 0; i < c->nr_uarts; i++) {
		const struct x86_tables_uart *u = &c->uarts[i];

		if (u->irq >= IOAPIC_NR_PINS || u->port > 0x10000 - 8)
			return boot_fail(b, -EINVAL,
					 "ACPI tables: UART at port 0x%x, IRQ "
					 "%u: the port range or the IRQ "
					 "(0-%u) is out of range",
					 u->port, u->irq, IOAPIC_NR_PINS - 1);
		if (u->irq < 16)
			irqs |= 1u << u->irq;
	}
	if (c->nr_vmmio > X86_TABLES_MAX_VIRTIO_MMIO)
		return boot_fail(b, -EINVAL,
				 "ACPI tables: %u virtio-mmio devices; at most "
				 "%u can be described",
				 c->nr_vmmio, X86_TABLES_MAX_VIRTIO_MMIO);
	for (unsigned i = 0; i < c->nr_vmmio; i++) {
		const struct x86_tables_virtio_mmio *v = &c->vmmio[i];

		if (v->irq >= IOAPIC_NR_PINS || !v->size ||
		    v->base > 0x100000000ULL - v->size)
			return boot_fail(b, -EINVAL,
					 "ACPI tables: virtio-mmio device at "
					 "0x%llx (0x%x bytes), IRQ %u: the "
					 "registers must lie below 4 GiB and "
					 "the IRQ in 0-%u",
					 (unsigned long long)v->base, v->size,
					 v->irq, IOAPIC_NR_PINS - 1);
		if (v->irq < 16)
			irqs |= 1u << v->irq;
	}
	if (irqs & (1u << 2))
		return boot_fail(b, -EINVAL,
				 "ACPI tables: a device uses IRQ 2, the 8259 "
				 "cascade");
	if (irqs & (1u << X86_ACPI_SCI_IRQ))
		return boot_fail(b, -EBUSY,
				 "ACPI tables: a device uses IRQ %u, which is "
				 "the ACPI SCI (level-triggered); choose "
				 "another IRQ",
				 X86_ACPI_SCI_IRQ);
	return 0;
}

/* True if [gpa, gpa + size) is inside one writable RAM region. */
static bool is_ram(const struct guest_mem *mem, uint64_t gpa, uint64_t size)
{
	const struct mem_region *r = mem_find(mem, gpa);

	return r && !r->readonly && size <= r->size - (gpa - r->gpa);
}

struct acpi_layout {
	size_t rsdp, facs, rsdt, xsdt, fadt, madt, mcfg, dsdt, end;
	size_t rsdt_len, xsdt_len, madt_len, mcfg_len, dsdt_len;
	unsigned nr_iso;
	unsigned nr_sdt; /* RSDT/XSDT entries: FADT, MADT[, MCFG] */
};

static void fill_fadt(struct acpi_fadt *f, const struct x86_tables_cfg *c,
		      uint64_t facs, uint64_t dsdt)
{
	uint16_t pm = c->pm_port ? c->pm_port : ABI_ACPI_PM_BASE;

	fill_header(&f->h, "FACP", sizeof(*f), FADT_REVISION);
	f->firmware_ctrl = (uint32_t)facs;
	f->dsdt = (uint32_t)dsdt;
	f->preferred_pm_profile = 0; /* unspecified */
	f->sci_int = X86_ACPI_SCI_IRQ;
	f->smi_cmd = 0; /* no SMI: ACPI mode is always on */
	f->pm1a_evt_blk = pm;
	f->pm1a_cnt_blk = pm + 4u;
	f->pm1_evt_len = ACPI_PM1_EVT_LEN;
	f->pm1_cnt_len = ACPI_PM1_CNT_LEN;
	f->p_lvl2_lat = P_LVL2_NOT_SUPPORTED;
	f->p_lvl3_lat = P_LVL3_NOT_SUPPORTED;
	f->century = ACPI_RTC_CENTURY;
	/* No VGA. BOOT_8042 clear: no i8042, so Linux does not probe one.
	 * BOOT_CMOS_RTC_NOT_PRESENT clear: the CMOS RTC exists. */
	f->iapc_boot_arch = BOOT_VGA_NOT_PRESENT;
	if (c->nr_uarts)
		f->iapc_boot_arch |= BOOT_LEGACY_DEVICES;
	f->flags = FADT_WBINVD | FADT_PROC_C1 | FADT_PWR_BUTTON |
		   FADT_SLP_BUTTON | FADT_FIX_RTC | FADT_RESET_REG_SUP;
	f->reset_reg = io_gas(ACPI_RESET_PORT, 1, GAS_ACCESS_BYTE);
	f->reset_value = ACPI_RESET_VALUE;
	f->minor_version = FADT_MINOR_REVISION;
	f->x_firmware_ctrl = 0; /* FIRMWARE_CTRL is set: must be 0 */
	f->x_dsdt = dsdt;
	/* Access size 0 (undefined, "legacy"): the OS accesses each
	 * register with its natural width, as for the 32-bit fields. */
	f->x_pm1a_evt_blk = io_gas(pm, ACPI_PM1_EVT_LEN, 0);
	f->x_pm1a_cnt_blk = io_gas((uint16_t)(pm + 4), ACPI_PM1_CNT_LEN, 0);
	seal(&f->h);
}

static void fill_madt(uint8_t *p, const struct acpi_layout *l,
		      const struct x86_tables_cfg *c)
{
	struct acpi_madt *m = (struct acpi_madt *)p;
	size_t off = sizeof(*m);

	fill_header(&m->h, "APIC", (uint32_t)l->madt_len, MADT_REVISION);
	m->lapic_address = ABI_LAPIC_BASE;
	m->flags = MADT_PCAT_COMPAT;
	for (unsigned i = 0; i < c->nr_cpus; i++) {
		struct madt_lapic *e = (struct madt_lapic *)(p + off);

		*e = (struct madt_lapic){ .type = MADT_LAPIC,
					  .length = sizeof(*e),
					  .processor_uid = (uint8_t)i,
					  .apic_id = (uint8_t)i,
					  .flags = 1 };
		off += sizeof(*e);
	}
	*(struct madt_ioapic *)(p + off) = (struct madt_ioapic){
		.type = MADT_IOAPIC,
		.length = sizeof(struct madt_ioapic),
		.ioapic_id = (uint8_t)c->nr_cpus,
		.address = ABI_IOAPIC_BASE,
		.gsi_base = 0,
	};
	off += sizeof(struct madt_ioapic);
	if (c->irq0_pin == 2) {
		*(struct madt_iso *)(p + off) = (struct madt_iso){
			.type = MADT_ISO,
			.length = sizeof(struct madt_iso),
			.bus = 0,
			.source = 0,
			.gsi = 2,
			.flags = INTI_EDGE | INTI_ACTIVE_HIGH,
		};
		off += sizeof(struct madt_iso);
	}
	*(struct madt_iso *)(p + off) = (struct madt_iso){
		.type = MADT_ISO,
		.length = sizeof(struct madt_iso),
		.bus = 0,
		.source = X86_ACPI_SCI_IRQ,
		.gsi = X86_ACPI_SCI_IRQ,
		.flags = INTI_LEVEL | INTI_ACTIVE_HIGH,
	};
	off += sizeof(struct madt_iso);
	*(struct madt_lapic_nmi *)(p + off) = (struct madt_lapic_nmi){
		.type = MADT_LAPIC_NMI,
		.length = sizeof(struct madt_lapic_nmi),
		.processor_uid = 0xff,
		.flags = INTI_EDGE | INTI_ACTIVE_HIGH,
		.lint = 1,
	};
	seal(&m->h);
}

/* MCFG (PCI Firmware 3.2, 4.1.2): one ECAM allocation, segment 0, bus 0. */
static void fill_mcfg(struct acpi_mcfg *m)
{
	fill_header(&m->h, "MCFG", sizeof(*m), MCFG_REVISION);
	m->alloc = (struct mcfg_alloc){
		.base = ABI_PCI_ECAM_BASE,
		.segment = 0,
		.start_bus = 0,
		.end_bus = 0,
	};
	seal(&m->h);
}

static void layout(struct acpi_layout *l, const struct x86_tables_cfg *c,
		   size_t aml_len)
{
	l->nr_iso = c->irq0_pin == 2 ? 2 : 1;
	l->nr_sdt = c->pci ? 3 : 2;
	l->rsdt_len = sizeof(struct acpi_header) + l->nr_sdt * 4;
	l->xsdt_len = sizeof(struct acpi_header) + l->nr_sdt * 8;
	l->mcfg_len = c->pci ? sizeof(struct acpi_mcfg) : 0;
	l->madt_len = sizeof(struct acpi_madt) +
		      c->nr_cpus * sizeof(struct madt_lapic) +
		      sizeof(struct madt_ioapic) +
		      l->nr_iso * sizeof(struct madt_iso) +
		      sizeof(struct madt_lapic_nmi);
	l->dsdt_len = sizeof(struct acpi_header) + aml_len;
	l->rsdp = 0;
	l->facs = 64;
	l->rsdt = l->facs + sizeof(struct acpi_facs);
	l->xsdt = ALIGN_UP(l->rsdt + l->rsdt_len, 16);
	l->fadt = ALIGN_UP(l->xsdt + l->xsdt_len, 16);
	l->madt = ALIGN_UP(l->fadt + sizeof(struct acpi_fadt), 16);
	l->mcfg = ALIGN_UP(l->madt + l->madt_len, 16);
	l->dsdt = ALIGN_UP(l->mcfg + l->mcfg_len, 16);
	l->end = ALIGN_UP(l->dsdt + l->dsdt_len, 16);
}

int x86_acpi_build(struct boot_ctx *b, const struct x86_tables_cfg *c,
		   uint64_t *rsdp_gpa)
{
	const uint64_t base = X86_ACPI_BASE;
	struct acpi_layout l;
	struct aml *aml;
	uint8_t *buf;
	int ret;

	*rsdp_gpa = 0;
	ret = check_cfg(b, c);
	if (ret)
		return ret;
	aml = calloc(1, sizeof(*aml));
	if (!aml)
		return boot_fail(b, -ENOMEM, "ACPI tables: out of memory");
	dsdt_aml(c, aml);
	if (aml->overflow) {
		free(aml);
		return boot_fail(b, -E2BIG, "ACPI tables: DSDT too large");
	}
	layout(&l, c, aml->n);
	/* nr_cpus <= 254 keeps the tables far below X86_ACPI_LIMIT. */
	_Static_assert(X86_ACPI_BASE + 64 * 1024 <= X86_ACPI_LIMIT, "layout");

	if (!is_ram(b->mem, base, l.end)) {
		char ram[256];

		free(aml);
		if (!c->required)
			return 0;
		return boot_fail(b, -ERANGE,
				 "ACPI tables [%#llx-%#llx) need guest RAM in "
				 "the BIOS area 0xe0000-0xfffff, where guests "
				 "search for the RSDP (RAM: %s)",
				 (unsigned long long)base,
				 (unsigned long long)(base + l.end),
				 boot_fmt_ram(b->mem, ram, sizeof(ram)));
	}

	buf = calloc(1, l.end);
	if (!buf) {
		free(aml);
		return boot_fail(b, -ENOMEM, "ACPI tables: out of memory");
	}

	/* DSDT */
	fill_header((struct acpi_header *)(buf + l.dsdt), "DSDT",
		    (uint32_t)l.dsdt_len, 2 /* 64-bit integers */);
	memcpy(buf + l.dsdt + sizeof(struct acpi_header), aml->b, aml->n);
	seal((struct acpi_header *)(buf + l.dsdt));
	free(aml);

	/* FACS: no checksum */
	{
		struct acpi_facs *facs = (struct acpi_facs *)(buf + l.facs);

		memcpy(facs->signature, "FACS", 4);
		facs->length = sizeof(*facs);
		facs->version = FACS_VERSION;
	}

	fill_fadt((struct acpi_fadt *)(buf + l.fadt), c, base + l.facs,
		  base + l.dsdt);
	fill_madt(buf + l.madt, &l, c);
	if (c->pci)
		fill_mcfg((struct acpi_mcfg *)(buf + l.mcfg));

	/* RSDT and XSDT: FADT first (OSes expect it), the MADT, the MCFG. */
	{
		struct acpi_header *rsdt = (struct acpi_header *)(buf + l.rsdt);
		struct acpi_header *xsdt = (struct acpi_header *)(buf + l.xsdt);
		const uint64_t ent[3] = { base + l.fadt, base + l.madt,
					  base + l.mcfg };

		fill_header(rsdt, "RSDT", (uint32_t)l.rsdt_len, 1);
		fill_header(xsdt, "XSDT", (uint32_t)l.xsdt_len, 1);
		for (unsigned i = 0; i < l.nr_sdt; i++) {
			uint32_t e32 = (uint32_t)ent[i];

			memcpy(buf + l.rsdt + sizeof(*rsdt) + 4 * i, &e32, 4);
			memcpy(buf + l.xsdt + sizeof(*xsdt) + 8 * i, &ent[i],
			       8);
		}
		seal(rsdt);
		seal(xsdt);
	}

	/* RSDP */
	{
		struct acpi_rsdp *r = (struct acpi_rsdp *)(buf + l.rsdp);

		memcpy(r->signature, "RSD PTR ", 8);
		memcpy(r->oem_id, ACPI_OEM_ID, 6);
		r->revision = 2;
		r->rsdt_address = (uint32_t)(base + l.rsdt);
		r->length = sizeof(*r);
		r->xsdt_address = base + l.xsdt;
		r->checksum = checksum(r, RSDP_V1_LEN);
		r->extended_checksum = checksum(r, sizeof(*r));
	}

	ret = boot_load(b, base, buf, l.end, l.end, "ACPI tables");
	free(buf);
	if (ret)
		return ret;
	*rsdp_gpa = base + l.rsdp;
	return 0;
}
