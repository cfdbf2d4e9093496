/* SPDX-License-Identifier: MIT */
/*
 * guest.cfg parsing (vmm/config.c): the input is the text of a config,
 * then NUL-separated --set overrides:
 *
 *   TEXT \0 OVERRIDE1 \0 OVERRIDE2 ...   (at most FUZZ_MAX_OVERRIDES)
 *
 * loaded with config_load_string() as "fuzz.cfg" in a scratch directory
 * holding files the config may name (image, modules, a ROM, an empty file,
 * a directory), so paths can be good or bad in every way. A loaded config
 * is printed (config_print) and freed; leaks are caught by LeakSanitizer.
 *
 * Checked beyond memory safety: the promises of vmm/config.h. A failed
 * load returns a negative errno, leaves cfg zeroed and an error message
 * that starts with the file name ("fuzz.cfg:") or "--set"; a good one
 * has 1..64 vCPUs, at least one memory region, no overlapping regions
 * and an existing image.
 */
#include <sys/stat.h>

#include "fuzz_util.h"
#include "vmm/config.h"

#define FUZZ_MAX_OVERRIDES 8
#define FUZZ_CFG_NAME	   "fuzz.cfg"

static FILE *devnull;
static const char *dir;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const uint8_t elf[64] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };
	static uint8_t rom[8192];

	(void)argc;
	(void)argv;
	log_set_level(LOG_ERR);
	devnull = fopen("/dev/null", "w");
	if (!devnull)
		abort();
	dir = fuzz_tmpdir();
	fuzz_write_file("guest.elf", elf, sizeof(elf));
	fuzz_write_file("initrd.img", "initrd contents", 15);
	fuzz_write_file("rom.bin", rom, sizeof(rom));
	fuzz_write_file("empty", "", 0);
	if (mkdir(fuzz_path("sub"), 0700))
		abort();
	return 0;
}

static void check_loaded(const struct vm_config *cfg)
{
	struct stat st;

	FUZZ_CHECK(cfg->vcpus >= 1 && cfg->vcpus <= VMM_MAX_VCPUS, "vcpus %u",
		   cfg->vcpus);
	FUZZ_CHECK(cfg->nr_mem >= 1 && cfg->mem, "no memory regions");
	FUZZ_CHECK(cfg->name && *cfg->name, "no VM name");
	for (unsigned i = 0; i < cfg->nr_mem; i++) {
		const struct cfg_memory *m = &cfg->mem[i];

		FUZZ_CHECK(m->size && m->base + m->size - 1 >= m->base,
			   "memory %s: size %#llx at %#llx", m->name,
			   (unsigned long long)m->size,
			   (unsigned long long)m->base);
		for (unsigned j = 0; j < i; j++)
			FUZZ_CHECK(!ranges_overlap(m->base, m->size,
						   cfg->mem[j].base,
						   cfg->mem[j].size),
				   "memory %s overlaps %s", m->name,
				   cfg->mem[j].name);
	}
	FUZZ_CHECK(cfg->boot.image && !stat(cfg->boot.image, &st) &&
			   S_ISREG(st.st_mode),
		   "boot image '%s' is not a regular file",
		   cfg->boot.image ? cfg->boot.image : "(null)");
	FUZZ_CHECK(cfg->boot.cmdline, "cmdline is NULL");
	FUZZ_CHECK(cfg->boot.nr_modules == 0 || cfg->boot.modules, "modules");
	for (unsigned i = 0; i < cfg->nr_devices; i++)
		FUZZ_CHECK(cfg->devices[i].type && cfg->devices[i].name,
			   "device %u", i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *ovs[FUZZ_MAX_OVERRIDES];
	static const struct vm_config zero;
	struct vm_config cfg;
	struct cfg_error err;
	unsigned nr_ovs = 0;
	size_t pos;
	char *buf;
	int ret;

	/* NUL-terminated copies: text, then each override. */
	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	pos = strlen(buf) + 1;
	while (pos <= size && nr_ovs < FUZZ_MAX_OVERRIDES) {
		ovs[nr_ovs++] = buf + pos;
		pos += strlen(buf + pos) + 1;
	}

	ret = config_load_string(&cfg, FUZZ_CFG_NAME, dir, buf, ovs, nr_ovs,
				 &err);
	fuzz_log("config: %d %s\n", ret, ret ? err.msg : "ok");
	if (ret) {
		FUZZ_CHECK(ret < 0, "config_load_string returned %d", ret);
		FUZZ_CHECK(memchr(err.msg, '\0', sizeof(err.msg)),
			   "error message not terminated");
		FUZZ_CHECK(!strncmp(err.msg, FUZZ_CFG_NAME ":",
				    strlen(FUZZ_CFG_NAME) + 1) ||
				   !strncmp(err.msg, "--set:", 6),
			   "error message without a location: '%s'", err.msg);
		FUZZ_CHECK(!memcmp(&cfg, &zero, sizeof(cfg)),
			   "config not freed after an error");
	} else {
		check_loaded(&cfg);
		config_print(&cfg, devnull);
		config_free(&cfg);
	}
	free(buf);
	return 0;
}
