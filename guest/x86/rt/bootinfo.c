/* SPDX-License-Identifier: MIT */
/*
 * Boot information from a Multiboot 1 or Multiboot 2 loader (multiboot.h
 * has the layouts). Nothing is copied: the accessors read the loader's
 * structures in place, which the loader keeps outside the image and the
 * runtime never overwrites. All walks are bounded, so a damaged structure
 * yields fewer entries, never a hang. Every Multiboot address is 32-bit and
 * the runtime identity-maps the first 4 GiB, so any pointer is readable.
 */
#include "rt.h"
#include "multiboot.h"

#define MAX_ENTRIES  256  /* memory map entries, modules */
#define MAX_STRING   4096 /* command line, loader name, module string */
#define MB2_MAX_SIZE (1u << 20)
#define MB2_MAX_TAGS 1024

static enum rt_boot_proto proto;
static const struct mb1_info *mb1;
static const uint8_t *mb2;
static uint32_t mb2_size;

static const void *phys(uint32_t addr)
{
	return (const void *)(uintptr_t)addr;
}

/* A loader-provided C string, or "" if absent or not terminated within
 * `max` bytes. */
static const char *cstr(const char *s, size_t max)
{
	if (!s || strnlen(s, max) == max)
		return "";
	return s;
}

void rt_boot_init(uint32_t magic, uint32_t info)
{
	proto = RT_BOOT_NONE;
	mb1 = NULL;
	mb2 = NULL;
	mb2_size = 0;
	if (magic == MB1_BOOTLOADER_MAGIC) {
		proto = RT_BOOT_MULTIBOOT1;
		if (info)
			mb1 = phys(info);
	} else if (magic == MB2_BOOTLOADER_MAGIC) {
		const struct mb2_info_header *h = phys(info);

		proto = RT_BOOT_MULTIBOOT2;
		/* 8-byte aligned; total_size covers the header and at least
		 * the end tag. */
		if (info && !(info & 7) && h->total_size >= 16 &&
		    h->total_size <= MB2_MAX_SIZE) {
			mb2 = phys(info);
			mb2_size = h->total_size;
		}
	}
}

enum rt_boot_proto rt_boot_proto(void)
{
	return proto;
}

const char *rt_boot_proto_name(void)
{
	switch (proto) {
	case RT_BOOT_MULTIBOOT1:
		return "multiboot1";
	case RT_BOOT_MULTIBOOT2:
		return "multiboot2";
	default:
		return "none";
	}
}

/* The first MB2 tag of `type` that is at least min_size long, or NULL. */
static const struct mb2_tag *mb2_find(uint32_t type, uint32_t min_size,
				      const struct mb2_tag *after)
{
	uint32_t off = sizeof(struct mb2_info_header);

	if (!mb2)
		return NULL;
	if (after)
		off = (uint32_t)((const uint8_t *)after - mb2) +
		      ((after->size + 7) & ~7u);
	for (unsigned n = 0; n < MB2_MAX_TAGS; n++) {
		const struct mb2_tag *t = (const void *)(mb2 + off);

		if (off > mb2_size - sizeof(*t) || t->type == MB2_TAG_END ||
		    t->size < sizeof(*t) || t->size > mb2_size - off)
			return NULL;
		if (t->type == type && t->size >= min_size)
			return t;
		off += (t->size + 7) & ~7u;
	}
	return NULL;
}

/* The string in an MB2 tag starting at `offset`, NUL-terminated inside the
 * tag, else "". */
static const char *mb2_string(const struct mb2_tag *t, uint32_t offset)
{
	if (!t || t->size <= offset)
		return "";
	return cstr((const char *)t + offset, t->size - offset);
}

const char *rt_boot_cmdline(void)
{
	if (mb1 && (mb1->flags & MB1_INFO_CMDLINE))
		return cstr(phys(mb1->cmdline), MAX_STRING);
	if (mb2)
		return mb2_string(mb2_find(MB2_TAG_CMDLINE, 8, NULL), 8);
	return "";
}

const char *rt_boot_loader_name(void)
{
	if (mb1 && (mb1->flags & MB1_INFO_LOADER_NAME))
		return cstr(phys(mb1->boot_loader_name), MAX_STRING);
	if (mb2)
		return mb2_string(mb2_find(MB2_TAG_LOADER_NAME, 8, NULL), 8);
	return "";
}

bool rt_boot_meminfo(uint32_t *lower_kib, uint32_t *upper_kib)
{
	const struct mb2_tag_meminfo *m;

	*lower_kib = 0;
	*upper_kib = 0;
	if (mb1 && (mb1->flags & MB1_INFO_MEMORY)) {
		*lower_kib = mb1->mem_lower;
		*upper_kib = mb1->mem_upper;
		return true;
	}
	m = (const void *)mb2_find(MB2_TAG_MEMINFO, sizeof(*m), NULL);
	if (m) {
		*lower_kib = m->mem_lower;
		*upper_kib = m->mem_upper;
		return true;
	}
	return false;
}

static unsigned mb1_mmap(void (*fn)(const struct rt_mmap_entry *, void *),
			 void *arg)
{
	uint64_t p = mb1->mmap_addr, end = p + mb1->mmap_length;
	unsigned n = 0;

	/* Each entry: u32 size (not counting itself), then base, length,
	 * type; the next entry is size + 4 bytes further. */
	while (n < MAX_ENTRIES && p + sizeof(struct mb1_mmap_entry) <= end) {
		const struct mb1_mmap_entry *e = (const void *)(uintptr_t)p;
		struct rt_mmap_entry r = { e->base_addr, e->length, e->type };

		if (e->size < sizeof(*e) - 4)
			break;
		if (fn)
			fn(&r, arg);
		n++;
		p += (uint64_t)e->size + 4;
	}
	return n;
}

static unsigned mb2_mmap(void (*fn)(const struct rt_mmap_entry *, void *),
			 void *arg)
{
	const struct mb2_tag_mmap *t;
	const uint8_t *p;
	uint32_t count;
	unsigned n;

	t = (const void *)mb2_find(MB2_TAG_MMAP, sizeof(*t), NULL);
	if (!t || t->entry_size < sizeof(struct mb2_mmap_entry))
		return 0;
	count = (t->size - (uint32_t)sizeof(*t)) / t->entry_size;
	p = (const uint8_t *)(t + 1);
	for (n = 0; n < count && n < MAX_ENTRIES; n++) {
		const struct mb2_mmap_entry *e =
			(const void *)(p + (size_t)n * t->entry_size);
		struct rt_mmap_entry r = { e->base_addr, e->length, e->type };

		if (fn)
			fn(&r, arg);
	}
	return n;
}

unsigned rt_boot_mmap(void (*fn)(const struct rt_mmap_entry *e, void *arg),
		      void *arg)
{
	if (mb1 && (mb1->flags & MB1_INFO_MMAP))
		return mb1_mmap(fn, arg);
	if (mb2)
		return mb2_mmap(fn, arg);
	return 0;
}

unsigned rt_boot_modules(void (*fn)(const struct rt_module *m, unsigned idx,
				    void *arg),
			 void *arg)
{
	unsigned n = 0;

	if (mb1 && (mb1->flags & MB1_INFO_MODS)) {
		const struct mb1_module *mods = phys(mb1->mods_addr);

		for (; n < mb1->mods_count && n < MAX_ENTRIES; n++) {
			struct rt_module m = {
				mods[n].mod_start, mods[n].mod_end,
				cstr(phys(mods[n].string), MAX_STRING)
			};

			if (fn)
				fn(&m, n, arg);
		}
		return n;
	}
	for (const struct mb2_tag *t = NULL; n < MAX_ENTRIES; n++) {
		const struct mb2_tag_module *tm;
		struct rt_module m;

		t = mb2_find(MB2_TAG_MODULE, sizeof(*tm), t);
		if (!t)
			break;
		tm = (const void *)t;
		m.start = tm->mod_start;
		m.end = tm->mod_end;
		m.string = mb2_string(t, sizeof(*tm));
		if (fn)
			fn(&m, n, arg);
	}
	return n;
}

/* ---- physical ranges --------------------------------------------------- */

#define FOUR_GIB (1ull << 32)

struct cover {
	uint64_t pos;  /* first byte not yet known to be covered */
	uint32_t type; /* 0: any */
};

static void cover_step(const struct rt_mmap_entry *e, void *arg)
{
	struct cover *c = arg;

	if ((c->type && e->type != c->type) || !e->len)
		return;
	if (e->base <= c->pos && c->pos - e->base < e->len)
		c->pos = e->base + e->len < e->base ? ~0ull : e->base + e->len;
}

/* Entries may come in any order and a range may span adjacent ones: each
 * pass over the map advances pos past every entry that contains it, so
 * n passes settle a range spanning up to n entries in any order. */
static bool covered(uint64_t addr, uint64_t len, uint32_t type)
{
	struct cover c = { addr, type };
	unsigned n;

	if (!len || addr >= FOUR_GIB || len > FOUR_GIB - addr)
		return false;
	n = rt_boot_mmap(NULL, NULL);
	if (n == 0)
		return true;
	for (unsigned pass = 0; pass < n && c.pos < addr + len; pass++) {
		uint64_t before = c.pos;

		rt_boot_mmap(cover_step, &c);
		if (c.pos == before)
			break;
	}
	return c.pos >= addr + len;
}

bool rt_phys_readable(uint64_t addr, uint64_t len)
{
	return covered(addr, len, 0);
}

bool rt_phys_ram(uint64_t addr, uint64_t len)
{
	return covered(addr, len, 1);
}

static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

static bool str_overlaps(uint32_t s, uint64_t addr, uint64_t len)
{
	return s && overlap(addr, len, s, strnlen(phys(s), MAX_STRING) + 1);
}

struct mod_check {
	uint64_t addr, len;
	bool hit;
};

static void mod_overlaps(const struct rt_module *m, unsigned idx, void *arg)
{
	struct mod_check *c = arg;
	uintptr_t s = (uintptr_t)m->string;

	if (overlap(c->addr, c->len, m->start, m->end - m->start) ||
	    (s && overlap(c->addr, c->len, s, strlen(m->string) + 1)))
		c->hit = true;
}

bool rt_boot_info_overlaps(uint64_t addr, uint64_t len)
{
	struct mod_check mc = { addr, len, false };

	if (mb2) {
		if (overlap(addr, len, (uintptr_t)mb2, mb2_size))
			return true;
		rt_boot_modules(mod_overlaps, &mc); /* their contents */
		return mc.hit;
	}
	if (!mb1)
		return false;
	if (overlap(addr, len, (uintptr_t)mb1, sizeof(*mb1)))
		return true;
	if ((mb1->flags & MB1_INFO_CMDLINE) &&
	    str_overlaps(mb1->cmdline, addr, len))
		return true;
	if ((mb1->flags & MB1_INFO_LOADER_NAME) &&
	    str_overlaps(mb1->boot_loader_name, addr, len))
		return true;
	if ((mb1->flags & MB1_INFO_MMAP) &&
	    overlap(addr, len, mb1->mmap_addr, mb1->mmap_length))
		return true;
	if ((mb1->flags & MB1_INFO_MODS) &&
	    overlap(addr, len, mb1->mods_addr,
		    (uint64_t)mb1->mods_count * sizeof(struct mb1_module)))
		return true;
	rt_boot_modules(mod_overlaps, &mc);
	return mc.hit;
}
