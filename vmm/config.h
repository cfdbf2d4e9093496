/* SPDX-License-Identifier: MIT */
/*
 * guest.cfg: the one file that describes a guest. INI syntax parsed with
 * libinih; sections:
 *
 *   [vm]                 name, vcpus, unhandled-io, timeout, on-reboot,
 *                        triple-fault, pv-eoi; real-time: pin, sched,
 *                        io-cpus, mlock, halt-poll-ns (docs/realtime.md)
 *   [memory "NAME"]      base, size, file, readonly, hugepages
 *                        (one per region)
 *   [boot]               format, image, cmdline, module (repeatable),
 *                        initrd, load-address, entry, mode, dtb
 *   [device "NAME"]      type = <device type>, then that type's keys
 *
 * Loading is two-phase: every (section, key, value, file, line) is collected
 * first (file, then --set overrides in order), then interpreted and validated
 * as a whole, so the order of keys inside a section does not matter and the
 * last assignment of a key wins. Anything wrong (unknown section or key, bad
 * value, overlapping regions or device resources, missing image) fails the
 * load with a message naming file, line, section and key, before any VM
 * exists. docs/config.md is the user-facing reference.
 */
#ifndef VMM_CONFIG_H
#define VMM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct device_type;

/* Where a setting came from. line == 0 means a default; file "--set" with
 * line N means the N-th --set option on the command line. */
struct cfg_loc {
	const char *file; /* owned by the config (interned) */
	unsigned line;
};

/* A config error, formatted "FILE:LINE: [section] key: what is wrong". */
struct cfg_error {
	char msg[512];
};

enum io_policy {
	IO_POLICY_IGNORE, /* reads return all-ones, writes dropped */
	IO_POLICY_LOG,	  /* like ignore, plus a rate-limited warning */
	IO_POLICY_FAULT,  /* stop the guest: VMM_EXIT_GUEST_FAULT */
};

enum boot_format {
	BOOT_FORMAT_AUTO,	/* detect from the image */
	BOOT_FORMAT_ELF,	/* plain ELF32/ELF64 */
	BOOT_FORMAT_MULTIBOOT,	/* Multiboot 1 (ELF32/ELF64 or a.out kludge) */
	BOOT_FORMAT_MULTIBOOT2, /* Multiboot 2 */
	BOOT_FORMAT_RAW,	/* flat binary at load-address */
	BOOT_FORMAT_LINUX,	/* Linux boot protocol: bzImage or vmlinux */
	BOOT_FORMAT_PVH,	/* ELF with a Xen PVH entry note */
};

/* [vm] sched: the vCPU threads' scheduling policy. */
enum sched_policy {
	SCHED_POLICY_OTHER, /* the default time-sharing policy */
	SCHED_POLICY_FIFO,  /* SCHED_FIFO, priority 1..99 */
	SCHED_POLICY_RR,    /* SCHED_RR, priority 1..99 */
};

enum cpu_mode {
	CPU_MODE_DEFAULT,   /* the format's own mode */
	CPU_MODE_REAL,	    /* 16-bit real mode */
	CPU_MODE_PROTECTED, /* flat 32-bit protected mode, paging off */
	CPU_MODE_LONG,	    /* 64-bit long mode, identity-mapped */
};

struct cfg_memory {
	char *name;
	uint64_t base;
	uint64_t size;
	char *file; /* NULL: anonymous; path resolved against the cfg's dir */
	bool readonly;
	/* hugepages: 0 normal pages; MEM_HUGEPAGE_DEFAULT (vmm/mem.h) the
	 * host's default hugepage size; else the hugepage size in bytes */
	uint64_t hugepages;
	struct cfg_loc hugepages_loc;
	struct cfg_loc loc; /* the section header */
};

struct cfg_module {
	char *path;    /* resolved path */
	char *cmdline; /* the whole value as written: "path args..." */
	struct cfg_loc loc;
};

struct cfg_boot {
	enum boot_format format;
	char *image;   /* resolved path; must exist and be readable */
	char *cmdline; /* "" if unset */
	struct cfg_module *modules;
	unsigned nr_modules;
	char *initrd; /* resolved path or NULL (linux, pvh, auto formats) */
	struct cfg_loc initrd_loc;
	bool has_load_address;
	uint64_t load_address; /* raw: where the image goes (required) */
	bool has_entry;
	uint64_t entry; /* raw: entry point (default: load-address) */
	/* raw only; whether it is required is the arch's rule
	 * (arch_check_config(): x86 needs one, arm64 has none) */
	enum cpu_mode mode;
	/* a device tree blob used instead of the generated one (resolved
	 * path, or NULL); the arch checks it (arm64 only) */
	char *dtb;
	struct cfg_loc loc;
	struct cfg_loc image_loc;
	struct cfg_loc format_loc; /* line 0: format not set */
	struct cfg_loc mode_loc;   /* line 0: mode not set */
	struct cfg_loc dtb_loc;
};

/* One key of a device section after validation. */
struct cfg_value {
	const char *key; /* the schema's key string */
	char *str;	 /* the value as text (default text if not set) */
	uint64_t num;	 /* numeric value: number, size, bool, enum index */
	bool set;	 /* given in the file or by --set */
	struct cfg_loc loc;
};

struct cfg_device {
	char *name;
	const struct device_type *type;
	struct cfg_value *values; /* one per schema param, schema order */
	unsigned nr_values;
	struct cfg_loc loc; /* the section header */
};

struct vm_config {
	char *path;	/* the config file as given */
	char *dir;	/* its directory: relative paths resolve against it */
	char *name;	/* [vm] name, default: file name without .cfg */
	unsigned vcpus; /* 1..VMM_MAX_VCPUS, default 1 */
	enum io_policy unhandled_io; /* default IO_POLICY_LOG */
	uint64_t timeout_ms;	     /* 0: none */
	bool reboot_restarts;	  /* [vm] on-reboot = restart (default exit) */
	bool triple_fault_resets; /* [vm] triple-fault = reset (default fault) */
	bool pv_eoi; /* [vm] pv-eoi: offer KVM's PV EOI (default yes) */

	/* [vm] real-time partitioning (docs/realtime.md); a loc with line 0
	 * means the key is not set */
	unsigned *pin;		 /* NULL, or vcpus entries: host CPU of vCPU i,
				      all different */
	unsigned *io_cpus;	 /* NULL, or the other threads' host CPUs */
	unsigned nr_io_cpus;	 /* entries in io_cpus, duplicates removed */
	enum sched_policy sched; /* vCPU threads (default OTHER) */
	unsigned sched_prio;	 /* 1..99 for FIFO and RR, else 0 */
	bool mlock;		 /* prefault and lock all memory */
	bool has_halt_poll_ns;	 /* halt-poll-ns set */
	uint32_t halt_poll_ns;	 /* KVM_CAP_HALT_POLL for this VM */
	struct cfg_loc pin_loc, io_cpus_loc, sched_loc, mlock_loc;
	struct cfg_loc halt_poll_loc;

	struct cfg_memory *mem;
	unsigned nr_mem;
	struct cfg_boot boot;
	struct cfg_device *devices;
	unsigned nr_devices;

	/* private: interned strings (file names) */
	char **strings;
	unsigned nr_strings;
};

#define VMM_MAX_VCPUS 64

/*
 * Load and validate `path`, then apply the overrides ("section.key=value",
 * where section is "vm", "boot", "memory.NAME" or "device.NAME"). On error
 * returns a negative errno, fills err and leaves cfg freed.
 */
int config_load(struct vm_config *cfg, const char *path,
		const char *const *overrides, unsigned nr_overrides,
		struct cfg_error *err);

/* Same from a string; `name` stands in for the file name in messages and
 * relative paths resolve against `dir` (NULL: current directory). */
int config_load_string(struct vm_config *cfg, const char *name, const char *dir,
		       const char *text, const char *const *overrides,
		       unsigned nr_overrides, struct cfg_error *err);

void config_free(struct vm_config *cfg);

/* The resolved configuration: memory map, boot, devices with resources. */
void config_print(const struct vm_config *cfg, FILE *out);

/* Device section accessors (key must be in the device type's schema;
 * an unknown key is a programming error and aborts). */
const struct cfg_value *cfg_dev_value(const struct cfg_device *d,
				      const char *key);
uint64_t cfg_dev_num(const struct cfg_device *d, const char *key);
const char *cfg_dev_str(const struct cfg_device *d, const char *key);
bool cfg_dev_isset(const struct cfg_device *d, const char *key);

/* Format a config error at loc ("FILE:LINE: [section] key: ..."). Used by
 * config.c and by device check() callbacks. section/key may be NULL. */
void cfg_error_at(struct cfg_error *err, const struct cfg_loc *loc,
		  const char *section, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* cfg_error_at() for a device check() callback: at the location of `key`
 * if it was set, else at the section header, with the section printed as
 * [device "NAME"]. key may be NULL for a section-level problem. */
void cfg_dev_error(struct cfg_error *err, const struct cfg_device *d,
		   const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

const char *io_policy_name(enum io_policy p);
const char *boot_format_name(enum boot_format f);
const char *cpu_mode_name(enum cpu_mode m);
const char *sched_policy_name(enum sched_policy p); /* "other", "fifo", ... */

#endif
