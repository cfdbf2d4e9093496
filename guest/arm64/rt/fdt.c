/* SPDX-License-Identifier: MIT */
/*
 * A minimal flattened device tree reader (Devicetree Specification v0.4,
 * chapter 5): one pass over the structure block collects what the runtime
 * and the test guests need into rt_dt. Properties of a node are kept until
 * its end token, so their order does not matter; #address-cells and
 * #size-cells come from the parent.
 */
#include "rt.h"

#define FDT_MAGIC      0xd00dfeedu
#define FDT_BEGIN_NODE 1
#define FDT_END_NODE   2
#define FDT_PROP       3
#define FDT_NOP	       4
#define FDT_END	       9
#define MAX_DEPTH      8

struct rt_dt_info rt_dt;

struct node {
	const char *name;
	unsigned addr_cells, size_cells; /* for the children */
	const char *compat, *reg, *device_type, *method, *bootargs;
	uint32_t compat_len, reg_len, freq;
	bool has_freq;
};

static uint32_t be32(const void *p)
{
	const uint8_t *b = p;

	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | b[3];
}

static uint64_t cells(const char *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = v << 32 | be32(p + 4 * i);
	return v;
}

/* Does the string list `list` (len bytes) contain `s`? */
static bool has_compat(const struct node *n, const char *s)
{
	const char *p = n->compat, *end = n->compat + n->compat_len;

	if (!p)
		return false;
	while (p < end) {
		if (!strcmp(p, s))
			return true;
		p += strnlen(p, (size_t)(end - p)) + 1;
	}
	return false;
}

static bool has_compat_prefix(const struct node *n, const char *s)
{
	const char *p = n->compat, *end = n->compat + n->compat_len;
	size_t len = strlen(s);

	if (!p)
		return false;
	while (p < end) {
		if (!strncmp(p, s, len))
			return true;
		p += strnlen(p, (size_t)(end - p)) + 1;
	}
	return false;
}

/* Entry i of the node's reg (address, size). */
static bool reg_entry(const struct node *n, const struct node *parent,
		      unsigned i, uint64_t *addr, uint64_t *size)
{
	unsigned ac = parent->addr_cells, sc = parent->size_cells;
	uint32_t stride = 4 * (ac + sc);

	if (!n->reg || !stride || (i + 1) * stride > n->reg_len)
		return false;
	*addr = cells(n->reg + i * stride, ac);
	*size = sc ? cells(n->reg + i * stride + 4 * ac, sc) : 0;
	return true;
}

static void end_node(const struct node *n, const struct node *parent,
		     unsigned depth)
{
	uint64_t a, s, a2, s2;

	if (n->device_type && !strcmp(n->device_type, "memory") &&
	    !rt_dt.mem_size && reg_entry(n, parent, 0, &a, &s)) {
		rt_dt.mem_base = a;
		rt_dt.mem_size = s;
	}
	if (n->device_type && !strcmp(n->device_type, "cpu") &&
	    reg_entry(n, parent, 0, &a, &s)) {
		if (rt_dt.nr_cpus < RT_MAX_CPUS)
			rt_dt.cpu_mpidr[rt_dt.nr_cpus] = a;
		rt_dt.nr_cpus++;
	}
	if (!rt_dt.gic_version && has_compat(n, "arm,gic-v3") &&
	    reg_entry(n, parent, 0, &a, &s) &&
	    reg_entry(n, parent, 1, &a2, &s2)) {
		rt_dt.gic_version = 3;
		rt_dt.gicd = a;
		rt_dt.gicr = a2;
	}
	if (!rt_dt.gic_version &&
	    (has_compat(n, "arm,cortex-a15-gic") ||
	     has_compat(n, "arm,gic-400") ||
	     has_compat(n, "arm,cortex-a9-gic")) &&
	    reg_entry(n, parent, 0, &a, &s) &&
	    reg_entry(n, parent, 1, &a2, &s2)) {
		rt_dt.gic_version = 2;
		rt_dt.gicd = a;
		rt_dt.gicc = a2;
	}
	if (!rt_dt.uart && has_compat(n, "arm,pl011") &&
	    reg_entry(n, parent, 0, &a, &s))
		rt_dt.uart = a;
	if (has_compat_prefix(n, "arm,psci") && n->method) {
		rt_dt.psci_found = true;
		rt_dt.psci_smc = !strcmp(n->method, "smc");
	}
	if (n->has_freq && (has_compat(n, "arm,armv8-timer") ||
			    has_compat(n, "arm,armv7-timer")))
		rt_dt.timer_freq = n->freq;
	if (depth == 1 && n->name && !strcmp(n->name, "chosen") && n->bootargs)
		rt_dt.bootargs = n->bootargs;
}

int rt_dt_parse(uint64_t addr)
{
	const char *fdt = (const char *)(uintptr_t)addr;
	const char *p, *end, *strings;
	struct node stack[MAX_DEPTH];
	unsigned depth = 0;

	rt_dt.bootargs = "";
	if (be32(fdt) != FDT_MAGIC)
		return -1;
	rt_dt.addr = addr;
	rt_dt.size = be32(fdt + 4);
	p = fdt + be32(fdt + 8);
	end = p + be32(fdt + 36); /* size_dt_struct */
	strings = fdt + be32(fdt + 12);
	memset(stack, 0, sizeof(stack));
	/* stack[0]: a pseudo parent of the root. */
	stack[0].addr_cells = 2;
	stack[0].size_cells = 1;

	while (p < end) {
		uint32_t tok = be32(p);
		struct node *n = &stack[depth];

		p += 4;
		switch (tok) {
		case FDT_BEGIN_NODE: {
			size_t len = strlen(p);

			if (depth + 1 >= MAX_DEPTH)
				return -1;
			depth++;
			memset(&stack[depth], 0, sizeof(stack[depth]));
			stack[depth].name = p;
			stack[depth].addr_cells = 2;
			stack[depth].size_cells = 1;
			p += (len + 4) & ~(size_t)3;
			break;
		}
		case FDT_END_NODE:
			if (!depth)
				return -1;
			end_node(n, &stack[depth - 1], depth - 1);
			depth--;
			break;
		case FDT_PROP: {
			uint32_t len = be32(p), off = be32(p + 4);
			const char *name = strings + off, *val = p + 8;

			p += 8 + ((len + 3) & ~3u);
			if (!strcmp(name, "#address-cells") && len == 4)
				n->addr_cells = be32(val);
			else if (!strcmp(name, "#size-cells") && len == 4)
				n->size_cells = be32(val);
			else if (!strcmp(name, "compatible")) {
				n->compat = val;
				n->compat_len = len;
			} else if (!strcmp(name, "reg")) {
				n->reg = val;
				n->reg_len = len;
			} else if (!strcmp(name, "device_type"))
				n->device_type = val;
			else if (!strcmp(name, "method"))
				n->method = val;
			else if (!strcmp(name, "bootargs"))
				n->bootargs = val;
			else if (!strcmp(name, "clock-frequency") && len == 4) {
				n->freq = be32(val);
				n->has_freq = true;
			} else if (!strcmp(name, "model") && depth == 1) {
				size_t m = len < sizeof(rt_dt.model)
						   ? len
						   : sizeof(rt_dt.model) - 1;

				memcpy(rt_dt.model, val, m);
				rt_dt.model[m] = '\0';
			}
			break;
		}
		case FDT_NOP:
			break;
		case FDT_END:
			p = end;
			break;
		default:
			return -1;
		}
	}
	rt_dt.valid = true;
	return 0;
}

/* The command line: /chosen/bootargs ("" if none). */
const char *rt_boot_cmdline(void)
{
	return rt_dt.bootargs ? rt_dt.bootargs : "";
}
