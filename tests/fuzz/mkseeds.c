/* SPDX-License-Identifier: MIT */
/*
 * Writes the binary seed corpora of the fuzz targets (tests/fuzz/corpus/
 * fuzz_{elf,multiboot,exit,uart,virtqueue}/): tiny valid inputs, built with the
 * unit tests' image builder, that take each target past its first checks.
 *
 *   build-fuzz/tests/fuzz/fuzz_mkseeds tests/fuzz/corpus
 *
 * The formats of the multiboot, exit and uart inputs are described at the
 * top of their fuzz_*.c.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/unit/imgbuild.h"
#include "vmm/util.h"

static const char *out_dir;

static void put(const char *target, const char *name, const void *prefix,
		size_t plen, const void *data, size_t size)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", out_dir, target);
	if (mkdir(path, 0755) && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", out_dir, target, name);
	f = fopen(path, "wb");
	if (!f || (plen && fwrite(prefix, 1, plen, f) != plen) ||
	    (size && fwrite(data, 1, size, f) != size) || fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* ---- fuzz_elf ---- */

static void seeds_elf(struct img *im)
{
	struct tseg one[] = {
		{ .paddr = 0x100000, .filesz = 64, .memsz = 128 }
	};
	struct tseg two[] = {
		{ .paddr = 0x100000, .filesz = 32, .fill = 1 },
		{ .paddr = 0x200000, .filesz = 16, .memsz = 4096, .fill = 9 }
	};
	struct tseg high[] = { { .paddr = 0x100000,
				 .vaddr = 0xffffffff80100000ULL,
				 .filesz = 48 } };
	struct tseg note[] = { { .type = PT_NOTE, .paddr = 0, .filesz = 8 },
			       { .paddr = 0x180000, .filesz = 24 } };

	img_elf(im, 64, EM_X86_64, ET_EXEC, 0x100000, one, 1);
	put("fuzz_elf", "elf64-one", NULL, 0, im->data, im->size);
	img_elf(im, 32, EM_386, ET_EXEC, 0x100010, two, 2);
	put("fuzz_elf", "elf32-two", NULL, 0, im->data, im->size);
	img_elf(im, 64, EM_X86_64, ET_EXEC, 0xffffffff80100004ULL, high, 1);
	put("fuzz_elf", "elf64-higher-half", NULL, 0, im->data, im->size);
	struct tseg many[33];

	/* 32 PT_LOADs (the limit) and a PT_NOTE one type byte from 33 */
	for (unsigned i = 0; i < 33; i++)
		many[i] = (struct tseg){ .type = i == 32 ? PT_NOTE : 0,
					 .paddr = 0x100000 + 0x1000 * i,
					 .filesz = 8,
					 .memsz = 16,
					 .fill = (uint8_t)i };
	img_elf(im, 64, EM_X86_64, ET_EXEC, 0x100000, many, 33);
	put("fuzz_elf", "elf64-32-loads", NULL, 0, im->data, im->size);
	img_elf(im, 64, EM_AARCH64, ET_EXEC, 0x180000, note, 2);
	im->data[EI_PAD] = 1; /* fuzz_elf: any machine */
	put("fuzz_elf", "elf64-aarch64-note", NULL, 0, im->data, im->size);
}

/* ---- fuzz_multiboot: selector byte + image ---- */

enum { SEL_AUTO, SEL_MB1, SEL_MB2, SEL_ELF };
#define SEL(fmt, mods, layout, nocmd) \
	((uint8_t)((fmt) | (mods) << 2 | (layout) << 4 | (nocmd) << 6))

static void mb(const char *name, uint8_t sel, const struct img *im)
{
	put("fuzz_multiboot", name, &sel, 1, im->data, im->size);
}

static void seeds_multiboot(struct img *im)
{
	struct tseg seg[] = {
		{ .paddr = 0x100000, .filesz = 256, .memsz = 512 }
	};
	struct tseg seg2[] = { { .paddr = 0x200000, .filesz = 128 } };
	struct tseg two_segs[] = {
		{ .paddr = 0x100000, .filesz = 128 },
		{ .paddr = 0x180000, .filesz = 64, .memsz = 0x2000 }
	};
	struct mb2b h;
	uint64_t off;

	/* Multiboot 1 ELF32: the header at the start of the segment. */
	img_elf(im, 32, EM_386, ET_EXEC, 0x100000, seg, 1);
	off = img_seg_off(im, 32, 0);
	img_mb1(im, off, 0x3, 0, 0, 0, 0, 0);
	mb("mb1-elf32", SEL(SEL_AUTO, 0, 0, 0), im);
	mb("mb1-elf32-mods-low", SEL(SEL_MB1, 2, 1, 0), im);

	/* Multiboot 1 a.out kludge: loaded from the header, bss after. */
	memset(im->data, 0x90, 256);
	im->size = 256;
	img_mb1(im, 16, 0x10003, 0x100010, 0x100000, 0, 0x102000, 0x100040);
	mb("mb1-kludge", SEL(SEL_MB1, 1, 0, 0), im);
	mb("mb1-kludge-rom", SEL(SEL_AUTO, 2, 2, 1), im);

	/* Multiboot 2 with address and entry tags. */
	memset(im->data, 0x90, 512);
	im->size = 512;
	mb2b_start(&h, im, 0, 0);
	mb2b_tag(&h, 1, 0, (const uint32_t[]){ 1, 3, 4, 6 }, 4);
	mb2b_tag(&h, 2, 0,
		 (const uint32_t[]){ 0x100000, 0x100000, 0, 0x104000 }, 4);
	mb2b_tag(&h, 3, 0, (const uint32_t[]){ 0x100100 }, 1);
	mb2b_tag(&h, 4, 1, (const uint32_t[]){ 1 }, 1);
	mb2b_tag(&h, 6, 0, NULL, 0);
	mb2b_finish(&h, false);
	mb("mb2-kludge", SEL(SEL_MB2, 1, 0, 0), im);
	mb("mb2-kludge-high", SEL(SEL_AUTO, 2, 3, 0), im);

	/* Multiboot 2 ELF64 with an entry tag. */
	img_elf(im, 64, EM_X86_64, ET_EXEC, 0x200000, seg2, 1);
	off = img_seg_off(im, 64, 0);
	mb2b_start(&h, im, off, 0);
	mb2b_tag(&h, 3, 0, (const uint32_t[]){ 0x200020 }, 1);
	mb2b_tag(&h, 10, 1, (const uint32_t[]){ 0x1000, 0x10000, 4096, 0 }, 4);
	mb2b_finish(&h, false);
	mb("mb2-elf64", SEL(SEL_MB2, 0, 0, 0), im);
	mb("mb2-elf64-mods", SEL(SEL_AUTO, 2, 1, 1), im);

	/* Multiboot 2 ELF32 with two segments and an entry tag. */
	img_elf(im, 32, EM_386, ET_EXEC, 0x100000, two_segs, 2);
	off = img_seg_off(im, 32, 0);
	mb2b_start(&h, im, off, 0);
	mb2b_tag(&h, 3, 0, (const uint32_t[]){ 0x100040 }, 1);
	mb2b_finish(&h, false);
	mb("mb2-elf32-two", SEL(SEL_MB2, 1, 2, 0), im);

	/* Plain ELF64 (long mode). */
	img_elf(im, 64, EM_X86_64, ET_EXEC, 0x200000, seg2, 1);
	mb("elf64", SEL(SEL_ELF, 0, 3, 0), im);
}

/* ---- fuzz_exit ---- */

static void ex(const char *name, uint8_t flags, const void *u, size_t ulen,
	       const void *d, size_t dlen)
{
	uint8_t buf[64] = { flags, 0, 0 };

	memcpy(buf + 3, u, ulen);
	memcpy(buf + 3 + 24, d, dlen);
	put("fuzz_exit", name, NULL, 0, buf, 3 + 24 + dlen);
}

static void seeds_exit(void)
{
	struct kvm_run r;

	memset(&r, 0, sizeof(r));
	r.io.direction = KVM_EXIT_IO_OUT;
	r.io.size = 1;
	r.io.port = 0x3f8;
	r.io.count = 1;
	r.io.data_offset = 4096;
	ex("pio-out", 2 << 2, &r.io, 24, "A", 1);
	r.io.direction = KVM_EXIT_IO_IN;
	r.io.size = 2;
	r.io.count = 8;
	ex("pio-ins", 2 << 2 | 2, &r.io, 24, "", 0);
	r.io.port = 0x600;
	r.io.size = 4;
	r.io.count = 3;
	r.io.data_offset = 4096 - 12;
	ex("pio-unhandled-end", 1 << 2 | 2, &r.io, 24, "abcdefghijkl", 12);
	r.io.port = 0x500;
	r.io.size = 1;
	r.io.count = 1;
	ex("pio-fault", 1 << 2, &r.io, 24, "x", 1);

	memset(&r, 0, sizeof(r));
	r.mmio.phys_addr = 0xd0000ff8;
	r.mmio.len = 8;
	r.mmio.is_write = 1;
	memcpy(r.mmio.data, "12345678", 8);
	ex("mmio-write", 1, &r.mmio, 24, "", 0);
	r.mmio.phys_addr = 0xfffffffffffffff8ULL;
	r.mmio.is_write = 0;
	ex("mmio-read-top", 1, &r.mmio, 24, "", 0);
	r.mmio.phys_addr = 0xd0001000;
	r.mmio.len = 1;
	ex("mmio-fault", 1, &r.mmio, 24, "", 0);
}

/* ---- fuzz_uart: setup byte + program ---- */

#define RD(reg, sz) (uint8_t)(((sz) << 4) | ((reg) + 4))
#define WR(reg, sz) (uint8_t)(0x40 | ((sz) << 4) | ((reg) + 4))
#define IN(n)	    (uint8_t)(0x80 | ((n)-1))
#define OTHER(k)    (uint8_t)(0xc0 | (k))

/* MMIO models (setup bits 5-6 != 0): a 16-bit offset + 8 follows the op */
#define MOFF(off)     (uint8_t)((off) + 8), (uint8_t)(((off) + 8) >> 8)
#define MRD(off, sz)  (uint8_t)((sz) << 4), MOFF(off)
#define MWR(off, sz)  (uint8_t)(0x40 | ((sz) << 4)), MOFF(off)
#define MWR8(off, v)  MWR(off, 0), (uint8_t)(v)
#define MWR32(off, v) MWR(off, 2), (uint8_t)(v), (uint8_t)((v) >> 8), 0, 0

static void seeds_uart_mmio(void)
{
	static const uint8_t pl011[] = {
		3 << 5,		     /* setup: pl011, FIFO input, irq 1 */
		MRD(0xfe0, 2),	     /* PeriphID0 */
		MRD(0xff0, 2),	     /* PCellID0 */
		MWR32(0x024, 1),     /* IBRD */
		MWR32(0x02c, 0x70),  /* LCR_H: FEN, 8 bits */
		MWR32(0x030, 0x301), /* CR: UARTEN TXE RXE */
		MWR32(0x038, 0x470), /* IMSC: RX TX RT OE */
		MWR8(0x000, 'H'),    /* DR */
		MRD(0x040, 2),	     /* MIS */
		IN(3),
		'a',
		'b',
		'c',		     /* host input */
		MRD(0x018, 2),	     /* FR */
		MRD(0x000, 2),	     /* DR */
		MRD(0x000, 1),	     /* DR, 16 bits */
		MWR32(0x044, 0x7ff), /* ICR */
		OTHER(3),	     /* 512 bytes of input */
		MRD(0x004, 2),	     /* RSR */
		MWR32(0x030, 0x381), /* CR: loopback */
		MWR8(0x000, 'x'),    /* DR */
		MRD(0x000, 2),	     /* DR */
		MRD(0x002, 1),	     /* unaligned */
		MRD(0x000, 3),	     /* 64-bit */
		MRD(0x1000, 2),	     /* past the window */
		OTHER(0),	     /* reset */
		OTHER(1),	     /* EOF */
	};
	static const uint8_t ns16550[] = {
		(2 << 5) | 0x80 | 2, /* setup: ns16550, reg-shift 2, irq 70 */
		MWR32(12, 0x80),     /* LCR: DLAB */
		MWR32(0, 0x01),	     /* DLL */
		MWR32(12, 0x03),     /* LCR: 8N1 */
		MWR8(8, 0xc7),	     /* FCR */
		MWR32(16, 0x0b),     /* MCR: OUT2 */
		MWR8(4, 0x03),	     /* IER */
		MWR32(0, 'H'),	     /* THR */
		IN(2),
		'h',
		'i',	    /* host input */
		MRD(8, 2),  /* IIR */
		MRD(20, 0), /* LSR */
		MRD(0, 2),  /* RBR */
		MRD(1, 0),  /* unaligned */
		MRD(0, 1),  /* 16 bits: unhandled */
		MRD(28, 2), /* SCR */
		MRD(32, 2), /* past the last register */
	};
	static const uint8_t mmio8250[] = {
		(1 << 5) | 1 | 4, /* setup: uart8250 address, top, quiet */
		MWR8(7, 0x42),	  /* SCR */
		MRD(7, 0),	  /* SCR */
		MRD(4, 2),	  /* MCR..SCR */
		MRD(6, 2),	  /* past the top: unhandled */
		MWR8(4, 0x08),	  /* MCR: OUT2 */
		MWR8(1, 0x02),	  /* IER: THRE */
		MRD(2, 0),	  /* IIR */
	};

	put("fuzz_uart", "pl011", NULL, 0, pl011, sizeof(pl011));
	put("fuzz_uart", "ns16550-shift2", NULL, 0, ns16550, sizeof(ns16550));
	put("fuzz_uart", "mmio-top", NULL, 0, mmio8250, sizeof(mmio8250));
}

static void seeds_uart(void)
{
	static const uint8_t init[] = {
		0,		/* setup: FIFO input, irq 4, 0x3f8 */
		WR(3, 0), 0x80, /* LCR: DLAB */
		WR(0, 0), 0x01, /* DLL */
		WR(1, 0), 0x00, /* DLM */
		WR(3, 0), 0x03, /* LCR: 8N1 */
		WR(2, 0), 0xc7, /* FCR: FIFO on, clear, trigger 14 */
		WR(4, 0), 0x0b, /* MCR: DTR RTS OUT2 */
		WR(1, 0), 0x03, /* IER: RX, THRE */
		WR(0, 0), 'H',	/* THR */
		RD(2, 0),	/* IIR */
		IN(3),	  'a',	    'b',      'c', /* host input */
		RD(2, 0), RD(5, 0),		   /* IIR, LSR */
		RD(0, 0), RD(0, 0), RD(0, 0), RD(0, 0),
		WR(4, 0), 0x1b, /* MCR: loopback */
		WR(0, 0), 'x',	    RD(5, 0), RD(0, 0),
		RD(6, 0), OTHER(3), /* 512 bytes of input */
		RD(0, 2), RD(0, 3), /* wide reads of RBR.. */
		OTHER(0),	    /* reset */
		OTHER(1),	    /* EOF */
	};
	static const uint8_t wide[] = {
		6, /* setup: irq 70, top port */
		WR(0, 2),  0x80, 0x01, 0x00,	 0x03, /* LCR DLAB..: 32-bit */
		WR(4, 0),  0x08,		       /* MCR: OUT2 */
		WR(1, 0),  0x0f,		       /* IER: all */
		IN(2),	   'h',	 'i',  RD(0, 3),       /* 8-byte read */
		WR(6, 1),  0x55, 0xaa,		       /* past the last port */
		RD(-4, 3), /* below the first port */
	};
	static const uint8_t quiet[] = {
		1, WR(0, 0), 'q', WR(7, 0), 0x42, RD(7, 0), OTHER(2),
	};

	static const uint8_t file_in[] = {
		8 | 16,		/* setup: 5000 bytes of input from a file */
		WR(2, 0), 0xc1, /* FCR: FIFO on, trigger 14 */
		WR(1, 0), 0x05, /* IER: RX, line status */
		WR(4, 0), 0x08, /* MCR: OUT2 */
		RD(2, 0), RD(0, 3), RD(0, 3), RD(5, 0),
		RD(2, 0), WR(2, 0), 0x00, /* FIFO off */
		RD(0, 0), RD(5, 0), OTHER(0), RD(0, 2),
	};

	put("fuzz_uart", "file-input", NULL, 0, file_in, sizeof(file_in));
	put("fuzz_uart", "init-io-loopback", NULL, 0, init, sizeof(init));
	put("fuzz_uart", "wide-top-irq70", NULL, 0, wide, sizeof(wide));
	put("fuzz_uart", "console-none", NULL, 0, quiet, sizeof(quiet));
	seeds_uart_mmio();
}

/* ---- fuzz_virtqueue: setup, arrays, program length, program, RAM ---- */

struct vqseed {
	uint8_t b[0x2400];
	size_t hdr;  /* setup, arrays, program length [, ring addresses] */
	size_t prog; /* program bytes */
	uint8_t ram[0x2400];
	size_t ram_len;
};

static void vqs_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void vqs_desc(struct vqseed *s, uint64_t table, unsigned i,
		     uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *d = s->ram + table + 16 * i;

	vqs_le(d, addr, 8);
	vqs_le(d + 8, len, 4);
	vqs_le(d + 12, flags, 2);
	vqs_le(d + 14, next, 2);
	s->ram_len = MAX(s->ram_len, table + 16 * i + 16);
}

/* avail ring at `avail` of a queue of `size`: idx and the heads */
static void vqs_avail(struct vqseed *s, uint64_t avail, uint16_t size,
		      const uint16_t *heads, unsigned n)
{
	vqs_le(s->ram + avail + 2, n, 2);
	for (unsigned i = 0; i < n; i++)
		vqs_le(s->ram + avail + 4 + 2 * (i % size), heads[i], 2);
	s->ram_len = MAX(s->ram_len, avail + 6 + 2ULL * size);
}

static void vqs_put(const char *name, struct vqseed *s, uint8_t setup,
		    uint8_t arrays, const uint8_t *prog, size_t plen,
		    const uint64_t *rings)
{
	size_t n = 0;

	s->b[n++] = setup;
	s->b[n++] = arrays;
	vqs_le(s->b + n, plen, 2);
	n += 2;
	if (rings) {
		for (unsigned i = 0; i < 3; i++, n += 8)
			vqs_le(s->b + n, rings[i], 8);
	}
	memcpy(s->b + n, prog, plen);
	n += plen;
	memcpy(s->b + n, s->ram, s->ram_len);
	n += s->ram_len;
	put("fuzz_virtqueue", name, NULL, 0, s->b, n);
	memset(s, 0, sizeof(*s));
}

#define VQ_NEXT	    1
#define VQ_WRITE    2
#define VQ_INDIRECT 4
#define VQ_ARRAYS   (6 | 6 << 3) /* 16 out, 16 in */

static void seeds_virtqueue(void)
{
	static struct vqseed s;
	/* size 8, default layout: desc 0, avail 0x80, used 0x98 */
	static const uint16_t three[] = { 0, 3, 5 };
	static const uint8_t hold_unpop[] = {
		1,    1,    0x0b,	   /* pop, hold x2; unpop 2 */
		1,    2,    0x20,	   /* hold, push it with len 0x20 */
		0x0d, 5,		   /* notify on, off */
		4,    0,    0,		   /* should_notify, pop+push x2 */
		0x7f,			   /* has_work + pop */
		0x0e, 0x82, 0,	  0, 1, 0, /* driver: avail idx = 1 */
		0x07,			   /* reset, configure */
		0x0f,			   /* has_work + pop */
	};
	static const uint8_t indirect_prog[] = {
		0x0d, 1, 0x1f, /* notify on, hold, copy helpers */
		2,    9, 4,    /* push len 9, should_notify */
		0x17,	       /* pop without arrays */
	};
	static const uint64_t rings[] = { 0x1000, 0x2000, 0x2200 };
	static const uint16_t one = 0, two[] = { 1, 2 };

	/* three chains: out only, out + in, in spanning two descriptors */
	vqs_desc(&s, 0, 0, 0x200, 64, 0, 0);
	vqs_desc(&s, 0, 3, 0x240, 16, VQ_NEXT, 4);
	vqs_desc(&s, 0, 4, 0x300, 128, VQ_WRITE, 0);
	vqs_desc(&s, 0, 5, 0x400, 32, VQ_NEXT | VQ_WRITE, 6);
	vqs_desc(&s, 0, 6, 0x420, 0, VQ_NEXT | VQ_WRITE, 7);
	vqs_desc(&s, 0, 7, 0x440, 4096, VQ_WRITE, 0);
	vqs_avail(&s, 0x80, 8, three, 3);
	vqs_put("size8-chains", &s, 3, VQ_ARRAYS, NULL, 0, NULL);

	vqs_desc(&s, 0, 0, 0x200, 64, 0, 0);
	vqs_desc(&s, 0, 3, 0x240, 16, VQ_NEXT, 4);
	vqs_desc(&s, 0, 4, 0x300, 128, VQ_WRITE, 0);
	vqs_desc(&s, 0, 5, 0x400, 32, VQ_NEXT | VQ_WRITE, 6);
	vqs_desc(&s, 0, 6, 0x440, 4096, VQ_WRITE, 0);
	vqs_avail(&s, 0x80, 8, three, 3);
	vqs_put("size8-hold-unpop", &s, 3 | 0x10, VQ_ARRAYS, hold_unpop,
		sizeof(hold_unpop), NULL);

	/* size 16 (desc 0, avail 0x100, used 0x124), EVENT_IDX + INDIRECT:
	 * direct out, then a 3-entry table (out, in, in) */
	vqs_desc(&s, 0, 0, 0x800, 10, VQ_NEXT, 1);
	vqs_desc(&s, 0, 1, 0x600, 48, VQ_INDIRECT, 0);
	vqs_desc(&s, 0x600, 0, 0x900, 20, VQ_NEXT, 2);
	vqs_desc(&s, 0x600, 2, 0xa00, 30, VQ_NEXT | VQ_WRITE, 1);
	vqs_desc(&s, 0x600, 1, 0xb00, 40, VQ_WRITE, 0);
	vqs_avail(&s, 0x100, 16, &one, 1);
	vqs_put("size16-indirect-event", &s, 4 | 0x30, VQ_ARRAYS, indirect_prog,
		sizeof(indirect_prog), NULL);

	/* size 4, rings where the input says; a buffer across the end of
	 * the first RAM region, a readable one in ROM */
	vqs_desc(&s, 0x1000, 1, 0x100000 - 8, 24, VQ_WRITE, 0);
	vqs_desc(&s, 0x1000, 2, 0x200000, 100, 0, 0);
	vqs_avail(&s, 0x2000, 4, two, 2);
	vqs_put("size4-rings-spanning", &s, 2 | 0x40, VQ_ARRAYS, NULL, 0,
		rings);

	/* malformed: a loop (a -EIO with a message) */
	vqs_desc(&s, 0, 0, 0x200, 1, VQ_NEXT, 1);
	vqs_desc(&s, 0, 1, 0x200, 1, VQ_NEXT, 0);
	vqs_avail(&s, 0x80, 8, &one, 1);
	vqs_put("size8-loop", &s, 3, VQ_ARRAYS, NULL, 0, NULL);

	/* tiny iovec arrays: -ENOBUFS (1 out, 0 in) */
	vqs_desc(&s, 0, 0, 0x200, 8, VQ_NEXT, 1);
	vqs_desc(&s, 0, 1, 0x300, 8, VQ_WRITE, 0);
	vqs_avail(&s, 0x80, 8, &one, 1);
	vqs_put("size8-enobufs", &s, 3, 1, (const uint8_t[]){ 0, 0x17 }, 2,
		NULL);
}

int main(int argc, char **argv)
{
	struct img *im;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	out_dir = argv[1];
	if (mkdir(out_dir, 0755) && errno != EEXIST) {
		perror(out_dir);
		return 1;
	}
	im = img_new();
	seeds_elf(im);
	seeds_multiboot(im);
	seeds_exit();
	seeds_uart();
	seeds_virtqueue();
	free(im);
	return 0;
}
