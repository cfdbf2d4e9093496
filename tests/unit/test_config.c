/* SPDX-License-Identifier: MIT */
/*
 * guest.cfg loader (vmm/config.c): a table of bad inputs, each with the
 * exact place ("FILE:LINE: [section] key: ") and message it must produce,
 * and good configs checked value by value. Files the configs name (images,
 * modules, backing files) live in a fresh mkdtemp() directory per test, which
 * config_load_string() gets as the config's directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "cfg_helpers.h"
#include "fake_vm.h"
#include "vmm/config.h"
#include "vmm/device.h"
#include "vmm/mem.h"
#include "vmm/util.h"

static char tmpdir[64];

static char *tmp_path(const char *rel)
{
	char *p;

	cr_assert(asprintf(&p, "%s/%s", tmpdir, rel) > 0);
	return p;
}

static void write_file(const char *rel, size_t size)
{
	char *p = tmp_path(rel);
	FILE *f = fopen(p, "w");

	cr_assert(f, "create %s", p);
	for (size_t i = 0; i < size; i++)
		fputc((int)(i & 0xff), f);
	fclose(f);
	free(p);
}

static void write_text(const char *rel, const char *text, size_t len)
{
	char *p = tmp_path(rel);
	FILE *f = fopen(p, "w");

	cr_assert(f, "create %s", p);
	cr_assert_eq(fwrite(text, 1, len, f), len);
	fclose(f);
	free(p);
}

static void make_dir(const char *rel)
{
	char *p = tmp_path(rel);

	cr_assert_eq(mkdir(p, 0755), 0, "mkdir %s", p);
	free(p);
}

static void setup(void)
{
	cfg_test_mkdtemp(tmpdir, sizeof(tmpdir), "config");
	write_file("img.elf", 64);
	write_file("mod.bin", 16);
	write_file("rom.bin", 8192);
	write_file("empty.bin", 0);
	make_dir("dir");
	make_dir("sub");
	write_file("sub/kernel.elf", 32);
}

static void teardown(void)
{
	cfg_test_rm_tree(tmpdir);
}

TestSuite(config, .init = setup, .fini = teardown);

static unsigned count_sets(const char *const *sets, unsigned max)
{
	unsigned n = 0;

	while (n < max && sets[n])
		n++;
	return n;
}

static int load(struct vm_config *cfg, const char *text,
		const char *const *sets, unsigned nsets, struct cfg_error *err)
{
	return config_load_string(cfg, "t.cfg", tmpdir, text, sets, nsets, err);
}

/* Must load; fails the test with the loader's message otherwise. */
static void load_ok(struct vm_config *cfg, const char *text,
		    const char *const *sets, unsigned nsets)
{
	struct cfg_error err;
	int ret = load(cfg, text, sets, nsets, &err);

	cr_assert_eq(ret, 0, "load failed: %s", err.msg);
}

/* ---- bad inputs ---- */

/* Fragments with known line counts: RAM is lines 1-3, BOOT lines 4-5, so
 * text appended to OK starts at line 6. */
#define RAM   "[memory \"ram\"]\nbase = 0\nsize = 64M\n"
#define BOOT  "[boot]\nimage = img.elf\n"
#define OK    RAM BOOT
#define UART0 "[device \"uart0\"]\ntype = uart8250\n" /* lines 6-7 */

#define X10    "xxxxxxxxxx"
#define X100   X10 X10 X10 X10 X10 X10 X10 X10 X10 X10
#define NAME32 "abcdefghijklmnopqrstuvwxyz012345"

struct bad {
	const char *what_case;
	const char *text;
	const char *sets[3];
	const char *where; /* the message starts with this */
	const char *what;  /* and continues with text containing this */
};

static const struct bad bad_cases[] = {
	/* sections */
	{ "unknown section",
	  OK "[foo]\n",
	  { 0 },
	  "t.cfg:6: [foo]: ",
	  "unknown section type 'foo' (expected [vm], [boot], "
	  "[memory \"NAME\"] or [device \"NAME\"])" },
	{ "unknown named section",
	  OK "[disk \"d0\"]\nsize = 1M\n",
	  { 0 },
	  "t.cfg:6: [disk \"d0\"]: ",
	  "unknown section type 'disk'" },
	{ "empty section header",
	  OK "[]\n",
	  { 0 },
	  "t.cfg:6: []: ",
	  "empty section header" },
	{ "vm with a name",
	  OK "[vm \"x\"]\n",
	  { 0 },
	  "t.cfg:6: [vm \"x\"]: ",
	  "[vm] takes no name" },
	{ "memory without a name",
	  OK "[memory]\nbase = 0x100000\n",
	  { 0 },
	  "t.cfg:6: [memory]: ",
	  "needs a name: [memory \"NAME\"]" },
	{ "bad section name",
	  OK "[device \"a b\"]\n",
	  { 0 },
	  "t.cfg:6: [device \"a b\"]: ",
	  "bad name 'a b': use 1 to 31" },
	{ "section name too long",
	  OK "[device \"" NAME32 "\"]\n",
	  { 0 },
	  "t.cfg:6: [device \"" NAME32 "\"]: ",
	  "bad name '" NAME32 "'" },
	{ "unterminated quote",
	  OK "[device \"uart0]\n",
	  { 0 },
	  "t.cfg:6: [device \"uart0]: ",
	  "missing closing '\"'" },
	{ "two names",
	  OK "[device uart0 uart1]\n",
	  { 0 },
	  "t.cfg:6: [device uart0 uart1]: ",
	  "unexpected text after the name" },
	{ "text after header",
	  OK "[vm] vcpus = 2\n",
	  { 0 },
	  "t.cfg:6: ",
	  "syntax error: text after ']'" },
	{ "header without ]",
	  OK "[vm\nvcpus = 2\n",
	  { 0 },
	  "t.cfg:6: ",
	  "syntax error: section header without ']'" },
	{ "repeated memory section",
	  OK "[memory \"ram\"]\nbase = 0x10000000\n",
	  { 0 },
	  "t.cfg:6: [memory \"ram\"]: ",
	  "section repeated (first at line 1)" },
	{ "repeated vm section",
	  "[vm]\n" OK "[vm]\n",
	  { 0 },
	  "t.cfg:7: [vm]: ",
	  "section repeated (first at line 1)" },
	{ "key before any section",
	  "vcpus = 2\n" OK,
	  { 0 },
	  "t.cfg:1: vcpus: ",
	  "key before the first [section] header" },

	/* syntax */
	{ "line without =",
	  OK "[vm]\nvcpus 2\n",
	  { 0 },
	  "t.cfg:7: ",
	  "syntax error: expected 'key = value' or '[section]', "
	  "got 'vcpus 2'" },
	{ "missing key",
	  OK "[vm]\n= 2\n",
	  { 0 },
	  "t.cfg:7: ",
	  "syntax error: missing key before '='" },
	{ "over-long line",
	  OK "[vm]\nname = " X100 X100 "\n",
	  { 0 },
	  "t.cfg:7: ",
	  "line too long (207 characters, at most 199)" },
	{ "indented key",
	  OK "[vm]\nname = a\n  vcpus = 2\n",
	  { 0 },
	  "t.cfg:8: [vm] name: ",
	  "indented line continues this value" },
	{ "first error wins",
	  OK "[vm]\nvcpus 2\n[foo]\n",
	  { 0 },
	  "t.cfg:7: ",
	  "syntax error" },

	/* [vm] */
	{ "unknown vm key",
	  OK "[vm]\nvcpu = 2\n",
	  { 0 },
	  "t.cfg:7: [vm] vcpu: ",
	  "unknown key (valid keys: name, vcpus, unhandled-io, timeout, "
	  "on-reboot, triple-fault, pv-eoi, pin, sched, io-cpus, mlock, "
	  "halt-poll-ns)" },
	{ "bad on-reboot",
	  OK "[vm]\non-reboot = reboot\n",
	  { 0 },
	  "t.cfg:7: [vm] on-reboot: ",
	  "bad value 'reboot' (expected one of: exit, restart)" },
	{ "keys are case-sensitive",
	  OK "[vm]\nVCPUS = 2\n",
	  { 0 },
	  "t.cfg:7: [vm] VCPUS: ",
	  "unknown key" },
	{ "bad number",
	  OK "[vm]\nvcpus = two\n",
	  { 0 },
	  "t.cfg:7: [vm] vcpus: ",
	  "bad number 'two' (expected decimal or 0x hex)" },
	{ "number too large",
	  OK "[vm]\nvcpus = 99999999999999999999999\n",
	  { 0 },
	  "t.cfg:7: [vm] vcpus: ",
	  "number '99999999999999999999999' is too large" },
	{ "vcpus 0",
	  OK "[vm]\nvcpus = 0\n",
	  { 0 },
	  "t.cfg:7: [vm] vcpus: ",
	  "0 is out of range (1 to 64)" },
	{ "vcpus too many",
	  OK "[vm]\nvcpus = 65\n",
	  { 0 },
	  "t.cfg:7: [vm] vcpus: ",
	  "65 is out of range (1 to 64)" },
	{ "bad io policy",
	  OK "[vm]\nunhandled-io = panic\n",
	  { 0 },
	  "t.cfg:7: [vm] unhandled-io: ",
	  "bad value 'panic' (expected one of: ignore, log, fault)" },
	{ "bad duration",
	  OK "[vm]\ntimeout = 5 days\n",
	  { 0 },
	  "t.cfg:7: [vm] timeout: ",
	  "bad duration '5 days'" },
	{ "bad vm name",
	  OK "[vm]\nname = my vm\n",
	  { 0 },
	  "t.cfg:7: [vm] name: ",
	  "bad name 'my vm'" },

	/* [memory] */
	{ "unknown memory key",
	  RAM "fiel = x\n" BOOT,
	  { 0 },
	  "t.cfg:4: [memory \"ram\"] fiel: ",
	  "unknown key (valid keys: base, size, file, readonly, hugepages)" },
	{ "bad size suffix",
	  "[memory \"ram\"]\nbase = 0\nsize = 64X\n" BOOT,
	  { 0 },
	  "t.cfg:3: [memory \"ram\"] size: ",
	  "bad size '64X' (expected a number with an optional K, M, G or T "
	  "suffix)" },
	{ "size overflow",
	  "[memory \"ram\"]\nbase = 0\nsize = 99999999999G\n" BOOT,
	  { 0 },
	  "t.cfg:3: [memory \"ram\"] size: ",
	  "size '99999999999G' is too large" },
	{ "size zero",
	  "[memory \"ram\"]\nbase = 0\nsize = 0\n" BOOT,
	  { 0 },
	  "t.cfg:3: [memory \"ram\"] size: ",
	  "size must not be zero" },
	{ "size not page multiple",
	  "[memory \"ram\"]\nbase = 0\nsize = 5000\n" BOOT,
	  { 0 },
	  "t.cfg:3: [memory \"ram\"] size: ",
	  "5000 is not a multiple of 4 KiB" },
	{ "base misaligned",
	  "[memory \"ram\"]\nbase = 0x1001\nsize = 4K\n" BOOT,
	  { 0 },
	  "t.cfg:2: [memory \"ram\"] base: ",
	  "0x1001 is not 4 KiB aligned" },
	{ "base missing",
	  "[memory \"ram\"]\nsize = 64M\n" BOOT,
	  { 0 },
	  "t.cfg:1: [memory \"ram\"] base: ",
	  "required key missing" },
	{ "size missing",
	  "[memory \"ram\"]\nbase = 0\n" BOOT,
	  { 0 },
	  "t.cfg:1: [memory \"ram\"] size: ",
	  "required key missing" },
	{ "region wraps",
	  "[memory \"ram\"]\nbase = 0xfffffffffffff000\nsize = 8K\n" BOOT,
	  { 0 },
	  "t.cfg:3: [memory \"ram\"] size: ",
	  "wraps past the end of the address space" },
	{ "overlapping memory",
	  OK "[memory \"hi\"]\nbase = 0x3fff000\nsize = 1M\n",
	  { 0 },
	  "t.cfg:7: [memory \"hi\"] base: ",
	  "0x3fff000-0x40fefff overlaps [memory \"ram\"] 0x0-0x3ffffff "
	  "(t.cfg:1)" },
	{ "no memory section",
	  BOOT,
	  { 0 },
	  "t.cfg: ",
	  "no [memory \"NAME\"] section" },
	{ "bad boolean",
	  RAM "readonly = maybe\n" BOOT,
	  { 0 },
	  "t.cfg:4: [memory \"ram\"] readonly: ",
	  "bad boolean 'maybe'" },
	{ "readonly without file",
	  RAM "readonly = yes\n" BOOT,
	  { 0 },
	  "t.cfg:4: [memory \"ram\"] readonly: ",
	  "a read-only region needs a file" },
	{ "readonly file missing",
	  RAM "readonly = yes\nfile = nope.bin\n" BOOT,
	  { 0 },
	  "t.cfg:5: [memory \"ram\"] file: ",
	  "/nope.bin': No such file or directory" },
	{ "readonly file too small",
	  RAM "readonly = yes\nfile = rom.bin\n" BOOT,
	  { 0 },
	  "t.cfg:5: [memory \"ram\"] file: ",
	  "/rom.bin' is 8192 bytes, smaller than the read-only region "
	  "(67108864 bytes)" },
	{ "backing file is a directory",
	  RAM "file = dir\n" BOOT,
	  { 0 },
	  "t.cfg:4: [memory \"ram\"] file: ",
	  "/dir' is a directory" },
	{ "empty path",
	  RAM "file =\n" BOOT,
	  { 0 },
	  "t.cfg:4: [memory \"ram\"] file: ",
	  "empty path" },

	/* [boot] */
	{ "unknown boot key",
	  RAM "[boot]\nimage = img.elf\nkernel = x\n",
	  { 0 },
	  "t.cfg:6: [boot] kernel: ",
	  "unknown key (valid keys: format, image, cmdline, module, "
	  "load-address, entry, mode, initrd, dtb)" },
	{ "no boot section",
	  RAM,
	  { 0 },
	  "t.cfg: [boot] image: ",
	  "required key missing (no [boot] section)" },
	{ "image missing key",
	  RAM "[boot]\nformat = elf\n",
	  { 0 },
	  "t.cfg:4: [boot] image: ",
	  "required key missing" },
	{ "missing image",
	  RAM "[boot]\nimage = nope.elf\n",
	  { 0 },
	  "t.cfg:5: [boot] image: ",
	  "/nope.elf': No such file or directory" },
	{ "image is a directory",
	  RAM "[boot]\nimage = dir\n",
	  { 0 },
	  "t.cfg:5: [boot] image: ",
	  "/dir' is a directory" },
	{ "image is empty",
	  RAM "[boot]\nimage = empty.bin\n",
	  { 0 },
	  "t.cfg:5: [boot] image: ",
	  "/empty.bin' is empty" },
	{ "bad format",
	  RAM "[boot]\nimage = img.elf\nformat = bzimage\n",
	  { 0 },
	  "t.cfg:6: [boot] format: ",
	  "bad value 'bzimage' (expected one of: auto, elf, multiboot, "
	  "multiboot2, raw, linux, pvh)" },
	{ "initrd with multiboot",
	  RAM "[boot]\nimage = img.elf\nformat = multiboot\ninitrd = img.elf\n",
	  { 0 },
	  "t.cfg:7: [boot] initrd: ",
	  "an initrd needs format = linux or pvh (format is multiboot)" },
	{ "initrd missing",
	  RAM "[boot]\nimage = img.elf\nformat = linux\ninitrd = nope.img\n",
	  { 0 },
	  "t.cfg:7: [boot] initrd: ",
	  "nope.img" },
	/* raw without mode: arch_check_config()'s rule (x86 needs one,
	 * arm64 has none): test_x86_config.c */
	{ "dtb missing",
	  OK "dtb = nope.dtb\n",
	  { 0 },
	  "t.cfg:6: [boot] dtb: ",
	  "/nope.dtb': No such file or directory" },
	{ "dtb is a directory",
	  OK "dtb = dir\n",
	  { 0 },
	  "t.cfg:6: [boot] dtb: ",
	  "/dir' is a directory" },
	{ "raw without load-address",
	  RAM "[boot]\nimage = img.elf\nformat = raw\nmode = long\n",
	  { 0 },
	  "t.cfg:6: [boot] load-address: ",
	  "required with format = raw" },
	{ "raw load-address outside RAM",
	  RAM "[boot]\nimage = img.elf\nformat = raw\nmode = long\n"
	      "load-address = 0x10000000\n",
	  { 0 },
	  "t.cfg:8: [boot] load-address: ",
	  "0x10000000 is not inside any [memory] region" },
	{ "raw entry outside RAM",
	  RAM "[boot]\nimage = img.elf\nformat = raw\nmode = long\n"
	      "load-address = 0x100000\nentry = 0x4000000\n",
	  { 0 },
	  "t.cfg:9: [boot] entry: ",
	  "0x4000000 is not inside any [memory] region" },
	{ "raw bad mode",
	  RAM "[boot]\nimage = img.elf\nformat = raw\nmode = vm86\n"
	      "load-address = 0x100000\n",
	  { 0 },
	  "t.cfg:7: [boot] mode: ",
	  "bad value 'vm86' (expected one of: real, protected, long)" },
	{ "entry with elf format",
	  RAM "[boot]\nformat = elf\nimage = img.elf\nentry = 0x100000\n",
	  { 0 },
	  "t.cfg:7: [boot] entry: ",
	  "only valid with format = raw (format is elf)" },
	{ "mode with default format",
	  OK "mode = long\n",
	  { 0 },
	  "t.cfg:6: [boot] mode: ",
	  "only valid with format = raw (format is auto)" },
	{ "module missing",
	  OK "module = missing.bin arg\n",
	  { 0 },
	  "t.cfg:6: [boot] module: ",
	  "/missing.bin': No such file or directory" },
	{ "module with elf",
	  OK "format = elf\nmodule = mod.bin\n",
	  { 0 },
	  "t.cfg:7: [boot] module: ",
	  "modules need a multiboot format (format is elf)" },

	/* [device] */
	{ "device without type",
	  OK "[device \"uart0\"]\nport = 0x2f8\n",
	  { 0 },
	  "t.cfg:6: [device \"uart0\"] type: ",
	  "required key missing (one of: " },
	{ "unknown device type",
	  OK "[device \"nic\"]\ntype = e1000\n",
	  { 0 },
	  "t.cfg:7: [device \"nic\"] type: ",
	  "unknown device type 'e1000' (one of: " },
	{ "indented device key",
	  OK UART0 "  port = 0x2f8\n",
	  { 0 },
	  "t.cfg:8: [device \"uart0\"] type: ",
	  "indented line continues this value" },
	{ "unknown device key",
	  OK UART0 "baud = 9600\n",
	  { 0 },
	  "t.cfg:8: [device \"uart0\"] baud: ",
	  "unknown key (valid keys: type, port, irq, address, reg-shift, "
	  "console, path, input)" },
	{ "bad device enum",
	  OK UART0 "console = serial\n",
	  { 0 },
	  "t.cfg:8: [device \"uart0\"] console: ",
	  "bad value 'serial' (expected one of: stdio, file, none)" },
	{ "bad device number",
	  OK UART0 "irq = four\n",
	  { 0 },
	  "t.cfg:8: [device \"uart0\"] irq: ",
	  "bad number 'four'" },
	{ "port out of range",
	  OK UART0 "port = 0x10000\n",
	  { 0 },
	  "t.cfg:8: [device \"uart0\"] port: ",
	  "0x10000 is out of range (0x0 to 0xfff8)" },
	{ "device check() rule",
	  OK UART0 "console = file\n",
	  { 0 },
	  "t.cfg:6: [device \"uart0\"] path: ",
	  "required with console = file" },
	{ "two UARTs on one port",
	  OK UART0
	  "[device \"uart1\"]\ntype = uart8250\nirq = 3\nport = 0x3f8\n",
	  { 0 },
	  "t.cfg:11: [device \"uart1\"] port: ",
	  "port range 0x3f8-0x3ff overlaps port range 0x3f8-0x3ff of "
	  "[device \"uart0\"] (port = 0x3f8 by default, section at t.cfg:6)" },
	{ "port inside another range",
	  OK UART0 "port = 0x2f8\n[device \"exit\"]\ntype = debug-exit\n"
		   "port = 0x2fc\nsize = 1\n",
	  { 0 },
	  "t.cfg:11: [device \"exit\"] port: ",
	  "port 0x2fc overlaps port range 0x2f8-0x2ff of [device \"uart0\"] "
	  "(port = 0x2f8 at t.cfg:8)" },
	{ "two devices on one IRQ",
	  OK UART0 "[device \"uart1\"]\ntype = uart8250\nport = 0x2f8\n",
	  { 0 },
	  "t.cfg:8: [device \"uart1\"] irq: ",
	  "IRQ 4 is already claimed by [device \"uart0\"] (irq = 4 by "
	  "default, section at t.cfg:6)" },

	/* --set */
	{ "--set malformed",
	  OK,
	  { "vm.vcpus" },
	  "--set:1: ",
	  "malformed override 'vm.vcpus': expected SECTION.KEY=VALUE" },
	{ "--set without section",
	  OK,
	  { "vcpus=2" },
	  "--set:1: ",
	  "malformed override 'vcpus=2'" },
	{ "--set empty key",
	  OK,
	  { "vm.=2" },
	  "--set:1: ",
	  "malformed override 'vm.=2'" },
	{ "--set unknown section",
	  OK,
	  { "cpu.count=2" },
	  "--set:1: ",
	  "'cpu.count=2': unknown section 'cpu'" },
	{ "--set memory without name",
	  OK,
	  { "memory.size=1M" },
	  "--set:1: ",
	  "'memory.size=1M': expected memory.NAME.KEY=VALUE" },
	{ "--set vm with a name",
	  OK,
	  { "vm.x.vcpus=2" },
	  "--set:1: ",
	  "'vm.x.vcpus=2': expected vm.KEY=VALUE ([vm] takes no name)" },
	{ "--set bad name",
	  OK,
	  { "device.a b.type=uart8250" },
	  "--set:1: ",
	  "bad device name 'a b'" },
	{ "--set bad value names --set",
	  OK "[vm]\nvcpus = 2\n",
	  { "vm.vcpus=1", "vm.vcpus=0" },
	  "--set:2: [vm] vcpus: ",
	  "0 is out of range (1 to 64)" },
	{ "--set unknown key",
	  OK,
	  { "boot.kernel=x" },
	  "--set:1: [boot] kernel: ",
	  "unknown key" },
	{ "--set missing image",
	  OK,
	  { "boot.image=nope.elf" },
	  "--set:1: [boot] image: ",
	  "/nope.elf': No such file or directory" },
	{ "--set new device conflicts",
	  OK UART0,
	  { "device.uart1.type=uart8250", "device.uart1.irq=3" },
	  "--set:1: [device \"uart1\"] port: ",
	  "overlaps port range 0x3f8-0x3ff of [device \"uart0\"]" },
};

Test(config, bad_inputs)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad *b = &bad_cases[i];
		struct vm_config cfg;
		struct cfg_error err;
		size_t wl = strlen(b->where);
		int ret;

		ret = load(&cfg, b->text, b->sets, count_sets(b->sets, 3),
			   &err);
		cr_expect_eq(ret, -EINVAL, "%s: returned %d (%s)", b->what_case,
			     ret, ret ? err.msg : "loaded");
		if (ret != -EINVAL)
			continue;
		cr_expect(!strncmp(err.msg, b->where, wl),
			  "%s: message\n  '%s'\ndoes not start with\n  '%s'",
			  b->what_case, err.msg, b->where);
		cr_expect(strstr(err.msg + MIN(wl, strlen(err.msg)), b->what),
			  "%s: message\n  '%s'\ndoes not contain\n  '%s'",
			  b->what_case, err.msg, b->what);
		/* a failed load leaves the config freed */
		cr_expect(!cfg.mem && !cfg.nr_mem && !cfg.devices &&
				  !cfg.strings && !cfg.path,
			  "%s: config not cleared", b->what_case);
	}
}

Test(config, too_many_memory_regions)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct vm_config cfg;
	struct cfg_error err;

	cr_assert(f);
	fputs(BOOT, f);
	for (unsigned i = 0; i <= MEM_MAX_REGIONS; i++)
		fprintf(f, "[memory \"r%u\"]\nbase = 0x%x\nsize = 4K\n", i,
			i * 0x1000);
	fclose(f);
	cr_assert_eq(load(&cfg, text, NULL, 0, &err), -EINVAL);
	cr_expect_str_eq(err.msg, "t.cfg:51: too many [memory] sections (at "
				  "most 16)");
	free(text);
}

Test(config, nul_byte_in_file)
{
	static const char text[] = "[vm]\nna\0me = x\n" OK;
	struct vm_config cfg;
	struct cfg_error err;
	char *path;

	write_text("nul.cfg", text, sizeof(text) - 1);
	path = tmp_path("nul.cfg");
	cr_assert_eq(config_load(&cfg, path, NULL, 0, &err), -EINVAL);
	cr_expect(strstr(err.msg, "nul.cfg:2: line contains a NUL byte"), "%s",
		  err.msg);
	free(path);
}

Test(config, file_errors)
{
	struct vm_config cfg;
	struct cfg_error err;
	char *path = tmp_path("missing.cfg");

	cr_expect_eq(config_load(&cfg, path, NULL, 0, &err), -ENOENT);
	cr_expect(strstr(err.msg, "missing.cfg: cannot open: No such file"),
		  "%s", err.msg);
	free(path);
	path = tmp_path("dir");
	cr_expect_eq(config_load(&cfg, path, NULL, 0, &err), -EISDIR);
	cr_expect(strstr(err.msg, "/dir: cannot read: Is a directory"), "%s",
		  err.msg);
	free(path);
}

/* ---- good inputs ---- */

Test(config, minimal_defaults)
{
	struct vm_config cfg;
	char *img = tmp_path("img.elf");

	load_ok(&cfg, OK, NULL, 0);
	cr_expect_str_eq(cfg.path, "t.cfg");
	cr_expect_str_eq(cfg.dir, tmpdir);
	cr_expect_str_eq(cfg.name, "t");
	cr_expect_eq(cfg.vcpus, 1);
	cr_expect_eq(cfg.unhandled_io, IO_POLICY_LOG);
	cr_expect_eq(cfg.timeout_ms, 0);
	cr_assert_eq(cfg.nr_mem, 1);
	cr_expect_str_eq(cfg.mem[0].name, "ram");
	cr_expect_eq(cfg.mem[0].base, 0);
	cr_expect_eq(cfg.mem[0].size, 64ULL << 20);
	cr_expect_null(cfg.mem[0].file);
	cr_expect(!cfg.mem[0].readonly);
	cr_expect_str_eq(cfg.mem[0].loc.file, "t.cfg");
	cr_expect_eq(cfg.mem[0].loc.line, 1);
	cr_expect_eq(cfg.boot.format, BOOT_FORMAT_AUTO);
	cr_expect_str_eq(cfg.boot.image, img);
	cr_expect_str_eq(cfg.boot.cmdline, "");
	cr_expect_eq(cfg.boot.nr_modules, 0);
	cr_expect(!cfg.boot.has_load_address && !cfg.boot.has_entry);
	cr_expect_eq(cfg.boot.mode, CPU_MODE_DEFAULT);
	cr_expect_eq(cfg.boot.loc.line, 4);
	cr_expect_eq(cfg.boot.image_loc.line, 5);
	cr_expect_eq(cfg.nr_devices, 0);
	config_free(&cfg);
	free(img);
}

Test(config, full_config)
{
	static const char text[] =
		"; a full guest.cfg\n"			  /* 1 */
		"# hash comments too\n"			  /* 2 */
		"[vm]\n"				  /* 3 */
		"name = rtos-1\n"			  /* 4 */
		"vcpus = 0x4 ; four\n"			  /* 5 */
		"unhandled-io = fault\n"		  /* 6 */
		"timeout = 1500ms\n"			  /* 7 */
		"\n"					  /* 8 */
		"[memory \"low\"]\n"			  /* 9 */
		"base = 0\n"				  /* 10 */
		"size = 2M\n"				  /* 11 */
		"[memory \"hi.ram\"]\n"			  /* 12 */
		"base = 0x1_0000_0000\n"		  /* 13 */
		"size = 1G\n"				  /* 14 */
		"file = shared.bin\n"			  /* 15 */
		"[memory rom]\n"			  /* 16 */
		"base = 0xfffff000\n"			  /* 17 */
		"size = 4K\n"				  /* 18 */
		"file = rom.bin\n"			  /* 19 */
		"readonly = yes\n"			  /* 20 */
		"[boot]\n"				  /* 21 */
		"format = multiboot\n"			  /* 22 */
		"image = sub/kernel.elf\n"		  /* 23 */
		"cmdline = console=ttyS0 a;b ; comment\n" /* 24 */
		"  loglevel=7 # more\n"			  /* 25 */
		"module = mod.bin first arg\n"		  /* 26 */
		"module = img.elf\n";			  /* 27 */
	struct vm_config cfg;
	struct cfg_error err;
	char *bad;
	char *kernel = tmp_path("sub/kernel.elf");
	char *mod = tmp_path("mod.bin");
	char *shared = tmp_path("shared.bin");
	char *rom = tmp_path("rom.bin");

	/* a module must be a regular file */
	cr_assert(asprintf(&bad, "%smodule = /dev/null\n", text) > 0);
	cr_assert_eq(load(&cfg, bad, NULL, 0, &err), -EINVAL);
	cr_expect(strstr(err.msg, "t.cfg:28: [boot] module: '/dev/null' is not "
				  "a regular file"),
		  "%s", err.msg);
	free(bad);

	load_ok(&cfg, text, NULL, 0);
	cr_expect_str_eq(cfg.name, "rtos-1");
	cr_expect_eq(cfg.vcpus, 4);
	cr_expect_eq(cfg.unhandled_io, IO_POLICY_FAULT);
	cr_expect_eq(cfg.timeout_ms, 1500);
	cr_assert_eq(cfg.nr_mem, 3);
	cr_expect_str_eq(cfg.mem[1].name, "hi.ram");
	cr_expect_eq(cfg.mem[1].base, 1ULL << 32);
	cr_expect_eq(cfg.mem[1].size, 1ULL << 30);
	cr_expect_str_eq(cfg.mem[1].file, shared);
	cr_expect(!cfg.mem[1].readonly);
	cr_expect_str_eq(cfg.mem[2].name, "rom");
	cr_expect_str_eq(cfg.mem[2].file, rom);
	cr_expect(cfg.mem[2].readonly);
	cr_expect_eq(cfg.mem[2].loc.line, 16);
	cr_expect_eq(cfg.boot.format, BOOT_FORMAT_MULTIBOOT);
	cr_expect_str_eq(cfg.boot.image, kernel);
	cr_expect_str_eq(cfg.boot.cmdline, "console=ttyS0 a;b loglevel=7");
	cr_assert_eq(cfg.boot.nr_modules, 2);
	cr_expect_str_eq(cfg.boot.modules[0].path, mod);
	cr_expect_str_eq(cfg.boot.modules[0].cmdline, "mod.bin first arg");
	cr_expect_eq(cfg.boot.modules[0].loc.line, 26);
	cr_expect_str_eq(cfg.boot.modules[1].cmdline, "img.elf");
	config_free(&cfg);
	free(kernel);
	free(mod);
	free(shared);
	free(rom);
}

Test(config, inline_comments)
{
	static const char text[] =
		OK "module = img.elf # a note\n"		 /* 6 */
		   "  ; a comment line does not end the value\n" /* 7 */
		   "  x#y ;z\n"					 /* 8 */
		   "[device \"com1\"]   # header comment\n"	 /* 9 */
		   "type = uart8250    # the console\n"		 /* 10 */
		   "input = in#1\n";				 /* 11 */
	static const char *const sets[] = { "boot.cmdline=a # b ; c" };
	struct vm_config cfg;
	char *in = tmp_path("in#1");

	load_ok(&cfg, text, sets, 1);
	cr_assert_eq(cfg.boot.nr_modules, 1);
	cr_expect_str_eq(cfg.boot.modules[0].cmdline, "img.elf x#y");
	cr_assert_eq(cfg.nr_devices, 1);
	cr_expect_str_eq(cfg.devices[0].type->name, "uart8250");
	cr_expect_str_eq(cfg_dev_str(&cfg.devices[0], "input"), in,
			 "'#' not after whitespace is part of the value");
	cr_expect_str_eq(cfg.boot.cmdline, "a # b ; c",
			 "--set values are taken literally");
	config_free(&cfg);
	free(in);
}

Test(config, raw_boot)
{
	struct vm_config cfg;

	load_ok(&cfg,
		RAM "[boot]\nformat = raw\nimage = img.elf\n"
		    "load-address = 0x7c00\nmode = real\n",
		NULL, 0);
	cr_expect_eq(cfg.boot.format, BOOT_FORMAT_RAW);
	cr_expect(cfg.boot.has_load_address);
	cr_expect_eq(cfg.boot.load_address, 0x7c00);
	cr_expect(!cfg.boot.has_entry);
	cr_expect_eq(cfg.boot.entry, 0x7c00, "entry defaults to load-address");
	cr_expect_eq(cfg.boot.mode, CPU_MODE_REAL);
	config_free(&cfg);

	load_ok(&cfg,
		RAM "[boot]\nformat = raw\nimage = img.elf\n"
		    "load-address = 0x100000\nentry = 0x100010\nmode = long\n",
		NULL, 0);
	cr_expect(cfg.boot.has_entry);
	cr_expect_eq(cfg.boot.entry, 0x100010);
	cr_expect_eq(cfg.boot.mode, CPU_MODE_LONG);
	cr_expect_eq(cfg.boot.mode_loc.line, 9);
	cr_expect_eq(cfg.boot.format_loc.line, 5);
	config_free(&cfg);

	/* Without mode the config loads; the arch decides (x86 rejects it in
	 * arch_check_config(), arm64 has no modes). */
	load_ok(&cfg,
		RAM "[boot]\nformat = raw\nimage = img.elf\n"
		    "load-address = 0x100000\n",
		NULL, 0);
	cr_expect_eq(cfg.boot.mode, CPU_MODE_DEFAULT);
	cr_expect_eq(cfg.boot.mode_loc.line, 0);
	config_free(&cfg);
}

Test(config, boot_dtb)
{
	struct vm_config cfg;
	char *dtb = tmp_path("mod.bin");

	load_ok(&cfg, RAM "[boot]\nimage = img.elf\ndtb = mod.bin\n", NULL, 0);
	cr_expect_str_eq(cfg.boot.dtb, dtb);
	cr_expect_eq(cfg.boot.dtb_loc.line, 6);
	config_free(&cfg);
	load_ok(&cfg, RAM "[boot]\nimage = img.elf\n", NULL, 0);
	cr_expect_null(cfg.boot.dtb);
	config_free(&cfg);
	free(dtb);
}

Test(config, syntax_variants)
{
	/* BOM, CRLF, ':' separator, unquoted and spaced headers, a comment
	 * after a header, the first key of a section indented */
	static const char text[] = "\xef\xbb\xbf; bom\r\n"
				   "[ memory  \"ram\" ] ; the RAM\r\n"
				   "  base: 0x0\r\n"
				   "size=64M\r\n"
				   "[boot]\r\n"
				   "image=img.elf\r\n"
				   "[vm]\n"
				   "\tvcpus = 3";
	struct vm_config cfg;

	load_ok(&cfg, text, NULL, 0);
	cr_expect_eq(cfg.vcpus, 3);
	cr_assert_eq(cfg.nr_mem, 1);
	cr_expect_str_eq(cfg.mem[0].name, "ram");
	cr_expect_eq(cfg.mem[0].size, 64ULL << 20);
	cr_expect_eq(cfg.mem[0].loc.line, 2);
	config_free(&cfg);
}

Test(config, last_assignment_wins)
{
	struct vm_config cfg;

	/* only the last value counts, so an earlier bad one is not an error */
	load_ok(&cfg, OK "[vm]\nvcpus = lots\nvcpus = 2\n", NULL, 0);
	cr_expect_eq(cfg.vcpus, 2);
	config_free(&cfg);
}

Test(config, overrides)
{
	static const char *const sets[] = {
		"vm.vcpus=4",
		"memory.ram.size = 128M",
		"boot.cmdline=console=ttyS0 quiet",
		"device.uart0.console=none",
		"device.exit.type=debug-exit",
		"memory.lo.mem.base=0x10000000",
		"memory.lo.mem.size=4K",
		"boot.module=mod.bin x",
		"boot.format=multiboot2",
	};
	struct vm_config cfg;
	const struct cfg_device *uart = NULL, *exit_dev = NULL;
	const struct cfg_value *v;

	load_ok(&cfg, OK "[vm]\nvcpus = 2\n" UART0 "console = stdio\n", sets,
		sizeof(sets) / sizeof(sets[0]));
	cr_expect_eq(cfg.vcpus, 4);
	cr_assert_eq(cfg.nr_mem, 2);
	cr_expect_eq(cfg.mem[0].size, 128ULL << 20);
	cr_expect_str_eq(cfg.mem[1].name, "lo.mem");
	cr_expect_eq(cfg.mem[1].base, 0x10000000);
	cr_expect_str_eq(cfg.mem[1].loc.file, "--set");
	cr_expect_eq(cfg.mem[1].loc.line, 6);
	cr_expect_str_eq(cfg.boot.cmdline, "console=ttyS0 quiet");
	cr_expect_eq(cfg.boot.format, BOOT_FORMAT_MULTIBOOT2);
	cr_assert_eq(cfg.boot.nr_modules, 1);
	cr_expect_str_eq(cfg.boot.modules[0].cmdline, "mod.bin x");
	cr_expect_str_eq(cfg.boot.modules[0].loc.file, "--set");
	cr_expect_eq(cfg.boot.modules[0].loc.line, 8);
	cr_assert_eq(cfg.nr_devices, 2);
	for (unsigned i = 0; i < cfg.nr_devices; i++) {
		if (!strcmp(cfg.devices[i].name, "uart0"))
			uart = &cfg.devices[i];
		if (!strcmp(cfg.devices[i].name, "exit"))
			exit_dev = &cfg.devices[i];
	}
	cr_assert(uart && exit_dev);
	v = cfg_dev_value(uart, "console");
	cr_expect_str_eq(v->str, "none");
	cr_expect_eq(v->num, 2);
	cr_expect(v->set);
	cr_expect_str_eq(v->loc.file, "--set");
	cr_expect_eq(v->loc.line, 4);
	cr_expect_str_eq(exit_dev->type->name, "debug-exit");
	cr_expect_str_eq(exit_dev->loc.file, "--set");
	cr_expect_eq(exit_dev->loc.line, 5);
	config_free(&cfg);
}

Test(config, long_override_value)
{
	/* --set values have no line-length limit */
	static const char *const sets[] = { "boot.cmdline=" X100 X100 X100 };
	struct vm_config cfg;

	load_ok(&cfg, OK, sets, 1);
	cr_expect_eq(strlen(cfg.boot.cmdline), 300);
	config_free(&cfg);
}

Test(config, device_values)
{
	struct vm_config cfg;
	const struct cfg_device *d;
	const struct cfg_value *v;

	load_ok(&cfg,
		OK UART0 "port = 0x2f8\nirq = 3\nconsole = file\n"
			 "path = out/serial.log\n",
		NULL, 0);
	cr_assert_eq(cfg.nr_devices, 1);
	d = &cfg.devices[0];
	cr_expect_str_eq(d->name, "uart0");
	cr_expect_str_eq(d->type->name, "uart8250");
	cr_expect_eq(d->loc.line, 6);
	cr_expect_eq(cfg_dev_num(d, "port"), 0x2f8);
	cr_expect_str_eq(cfg_dev_str(d, "port"), "0x2f8");
	cr_expect(cfg_dev_isset(d, "port"));
	cr_expect_eq(cfg_dev_value(d, "port")->loc.line, 8);
	cr_expect_eq(cfg_dev_num(d, "irq"), 3);
	cr_expect_eq(cfg_dev_num(d, "console"), 1);
	v = cfg_dev_value(d, "path");
	cr_expect(v->set);
	{
		char *p = tmp_path("out/serial.log");

		cr_expect_str_eq(v->str, p,
				 "path params resolve against the "
				 "config's directory");
		free(p);
	}
	/* unset, no default */
	v = cfg_dev_value(d, "input");
	cr_expect(!v->set);
	cr_expect_null(v->str);
	cr_expect_eq(v->loc.line, 0);
	/* values are in schema order */
	for (unsigned i = 0; i < d->nr_values; i++)
		cr_expect_str_eq(d->values[i].key, d->type->params[i].key);
	config_free(&cfg);
}

Test(config, device_defaults)
{
	struct vm_config cfg;
	const struct cfg_device *d;
	const struct cfg_value *v;

	load_ok(&cfg, OK UART0, NULL, 0);
	d = &cfg.devices[0];
	v = cfg_dev_value(d, "port");
	cr_expect(!v->set);
	cr_expect_str_eq(v->str, "0x3f8");
	cr_expect_eq(v->num, 0x3f8);
	cr_expect_eq(v->loc.line, 0);
	cr_expect_eq(cfg_dev_num(d, "irq"), 4);
	cr_expect_str_eq(cfg_dev_str(d, "console"), "stdio");
	cr_expect_eq(cfg_dev_num(d, "console"), 0);
	config_free(&cfg);
}

Test(config, all_device_types_load_with_defaults)
{
	/* every registered type must accept a section with only `type`,
	 * unless it has required keys */
	for (unsigned i = 0; device_types[i]; i++) {
		const struct device_type *t = device_types[i];
		struct vm_config cfg;
		struct cfg_error err;
		bool required = false;
		char *text;
		int ret;

		for (unsigned k = 0; t->params && t->params[k].key; k++)
			required |= t->params[k].required;
		if (required)
			continue;
		cr_assert(asprintf(&text, OK "[device \"d\"]\ntype = %s\n",
				   t->name) > 0);
		ret = load(&cfg, text, NULL, 0, &err);
		cr_expect_eq(ret, 0, "%s: %s", t->name, err.msg);
		if (!ret)
			config_free(&cfg);
		free(text);
	}
}

Test(config, relative_paths)
{
	static const char text[] = "[memory \"ram\"]\nbase = 0\nsize = 64M\n"
				   "[boot]\nimage = ../img.elf\n"
				   "module = kernel.elf args\n";
	struct vm_config cfg;
	struct cfg_error err;
	char *sub = tmp_path("sub");
	char *cfgpath = tmp_path("sub/guest.cfg");
	char *img = tmp_path("sub/../img.elf");
	char *mod = tmp_path("sub/kernel.elf");

	/* config_load_string: against the given directory */
	load_ok(&cfg,
		"[memory \"ram\"]\nbase = 0\nsize = 64M\n"
		"[boot]\nimage = sub/kernel.elf\n",
		NULL, 0);
	cr_expect_str_eq(cfg.boot.image, mod);
	config_free(&cfg);

	/* config_load: against the config file's directory, not the cwd */
	write_text("sub/guest.cfg", text, strlen(text));
	cr_assert_eq(config_load(&cfg, cfgpath, NULL, 0, &err), 0, "%s",
		     err.msg);
	cr_expect_str_eq(cfg.path, cfgpath);
	cr_expect_str_eq(cfg.dir, sub);
	cr_expect_str_eq(cfg.name, "guest");
	cr_expect_str_eq(cfg.boot.image, img);
	cr_expect_str_eq(cfg.boot.modules[0].path, mod);
	cr_expect_str_eq(cfg.mem[0].loc.file, cfgpath);
	config_free(&cfg);

	/* absolute paths stay as they are */
	{
		char *abs_img = tmp_path("img.elf");
		char *set;

		cr_assert(asprintf(&set, "boot.image=%s", abs_img) > 0);
		load_ok(&cfg, OK, (const char *const[]){ set }, 1);
		cr_expect_str_eq(cfg.boot.image, abs_img);
		config_free(&cfg);
		free(set);
		free(abs_img);
	}

	/* no directory: the current one, paths unchanged */
	cr_assert_eq(config_load_string(&cfg, "x.cfg", NULL,
					RAM "[boot]\nimage = /dev/null\n", NULL,
					0, &err),
		     -EINVAL);
	cr_expect(strstr(err.msg, "'/dev/null' is not a regular file"), "%s",
		  err.msg);
	free(sub);
	free(cfgpath);
	free(img);
	free(mod);
}

Test(config, default_vm_name)
{
	struct vm_config cfg;
	struct cfg_error err;

	cr_assert_eq(config_load_string(&cfg, "some dir/my guest.cfg", tmpdir,
					OK, NULL, 0, &err),
		     0, "%s", err.msg);
	cr_expect_str_eq(cfg.name, "my_guest");
	config_free(&cfg);
}

Test(config, print)
{
	struct vm_config cfg;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	load_ok(&cfg,
		"[memory \"high\"]\nbase = 0x100000000\nsize = 1G\n"
		"[memory \"low\"]\nbase = 0\nsize = 2M\n" BOOT
		"cmdline = hello\n" UART0 "port = 0x2f8\nirq = 3\n",
		NULL, 0);
	f = open_memstream(&buf, &len);
	cr_assert(f);
	config_print(&cfg, f);
	fclose(f);
	cr_expect(strstr(buf, "vcpus         1\n"), "%s", buf);
	cr_expect(strstr(buf, "low              0x0000000000000000-"
			      "0x00000000001fffff      2 MiB  anonymous"),
		  "%s", buf);
	/* memory map sorted by base */
	cr_expect(strstr(buf, "low ") < strstr(buf, "high "), "%s", buf);
	cr_expect(strstr(buf, "cmdline       \"hello\""), "%s", buf);
	cr_expect(strstr(buf, "uart0: uart8250"), "%s", buf);
	cr_expect(strstr(buf, "port           0x2f8  (t.cfg:12)"), "%s", buf);
	cr_expect(strstr(buf, "console        stdio  (default)"), "%s", buf);
	cr_expect(strstr(buf, "pio   0x000002f8-0x000002ff   uart0 (port)"),
		  "%s", buf);
	cr_expect(strstr(buf, "irq   3"), "%s", buf);
	free(buf);
	config_free(&cfg);
}

Test(config, error_format)
{
	struct cfg_error err;
	struct cfg_loc loc = { "g.cfg", 7 };
	struct cfg_loc def = { "g.cfg", 0 };

	cfg_error_at(&err, &loc, "memory \"ram\"", "size", "bad %d", 1);
	cr_expect_str_eq(err.msg, "g.cfg:7: [memory \"ram\"] size: bad 1");
	cfg_error_at(&err, &loc, "vm", NULL, "x");
	cr_expect_str_eq(err.msg, "g.cfg:7: [vm]: x");
	cfg_error_at(&err, &loc, NULL, "k", "x");
	cr_expect_str_eq(err.msg, "g.cfg:7: k: x");
	cfg_error_at(&err, &def, NULL, NULL, "x");
	cr_expect_str_eq(err.msg, "g.cfg: x");
	cfg_error_at(&err, NULL, NULL, NULL, "x");
	cr_expect_str_eq(err.msg, "x");
	/* a message longer than the buffer is truncated, not overflowed */
	cfg_error_at(&err, &loc, "vm", "name", "%s%s%s%s%s%s", X100 X100,
		     X100 X100, X100 X100, X100, X100, X100);
	cr_expect_eq(strlen(err.msg), sizeof(err.msg) - 1);
}

Test(config, dev_error_helper)
{
	struct vm_config cfg;
	struct cfg_error err;

	load_ok(&cfg, OK UART0 "irq = 5\n", NULL, 0);
	cfg_dev_error(&err, &cfg.devices[0], "irq", "no");
	cr_expect_str_eq(err.msg, "t.cfg:8: [device \"uart0\"] irq: no");
	cfg_dev_error(&err, &cfg.devices[0], "port", "no");
	cr_expect_str_eq(err.msg, "t.cfg:6: [device \"uart0\"] port: no");
	config_free(&cfg);
}

Test(config, names)
{
	cr_expect_str_eq(io_policy_name(IO_POLICY_IGNORE), "ignore");
	cr_expect_str_eq(io_policy_name(IO_POLICY_FAULT), "fault");
	cr_expect_str_eq(boot_format_name(BOOT_FORMAT_MULTIBOOT2),
			 "multiboot2");
	cr_expect_str_eq(boot_format_name(BOOT_FORMAT_RAW), "raw");
	cr_expect_str_eq(cpu_mode_name(CPU_MODE_PROTECTED), "protected");
	cr_expect_str_eq(cpu_mode_name((enum cpu_mode)42), "?");
}

Test(config, free_is_idempotent)
{
	struct vm_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	config_free(&cfg);
	load_ok(&cfg, OK, NULL, 0);
	config_free(&cfg);
	config_free(&cfg);
	config_free(NULL);
}

Test(config, unknown_accessor_key_aborts, .signal = SIGABRT)
{
	struct vm_config cfg;

	load_ok(&cfg, OK UART0, NULL, 0);
	cfg_dev_num(&cfg.devices[0], "no-such-key");
}

/*
 * The config-time overlap check trusts each type's resources(); check that
 * the devices a config describes, created on a fake VM, register exactly
 * those ports, owned by the device's name.
 */
Test(config, devices_register_declared_ports)
{
	struct vm_config cfg;
	struct vm *vm = fake_vm_new();
	struct device devs[4];

	load_ok(&cfg,
		OK UART0 "console = none\nport = 0x2f8\nirq = 3\n"
			 "[device \"rtc\"]\ntype = cmos-rtc\n"
			 "[device \"pm\"]\ntype = acpi-pm\n"
			 "[device \"exit\"]\ntype = debug-exit\nsize = 2\n",
		NULL, 0);
	cr_assert_eq(cfg.nr_devices, 4);
	memset(devs, 0, sizeof(devs));
	for (unsigned i = 0; i < cfg.nr_devices; i++) {
		const struct cfg_device *cd = &cfg.devices[i];
		struct dev_resource res[DEV_MAX_RESOURCES];
		unsigned n = cd->type->resources
				     ? cd->type->resources(cd, res,
							   DEV_MAX_RESOURCES)
				     : 0;

		devs[i].type = cd->type;
		devs[i].cfg = cd;
		devs[i].name = cd->name;
		devs[i].vm = vm;
		cr_assert_eq(cd->type->create(vm, &devs[i]), 0, "create %s",
			     cd->name);
		for (unsigned r = 0; r < n; r++) {
			if (res[r].kind != DEV_RES_PIO)
				continue;
			for (uint64_t port = res[r].base;
			     port < res[r].base + res[r].size; port++) {
				const struct bus_region *br =
					bus_find(&vm->pio, port, 1);

				cr_expect(br && !strcmp(br->owner, cd->name),
					  "%s: port 0x%llx declared but not "
					  "registered",
					  cd->name, (unsigned long long)port);
			}
		}
	}
	for (unsigned i = cfg.nr_devices; i-- > 0;)
		if (devs[i].type->destroy)
			devs[i].type->destroy(&devs[i]);
	fake_vm_free(vm);
	config_free(&cfg);
}
