/* SPDX-License-Identifier: MIT */
/*
 * The `vmm` command: run, check, dumpdtb, help, version. Only this file turns results
 * into process exit codes (vmm/exitcode.h, documented in README.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "arch/arch.h"
#include "version.h"
#include "vmm/config.h"
#include "vmm/device.h"
#include "vmm/exitcode.h"
#include "vmm/log.h"
#include "vmm/rt.h"
#include "vmm/util.h"
#include "vmm/vm_impl.h"

#define MAX_OVERRIDES 256

static const char main_usage[] =
	"usage: vmm COMMAND [OPTIONS] CONFIG\n"
	"\n"
	"A small KVM virtual machine monitor for RTOS and bare-metal guests.\n"
	"\n"
	"commands:\n"
	"  run CONFIG      boot the guest described by CONFIG (a guest.cfg)\n"
	"  check CONFIG    validate CONFIG and print the resolved memory map,\n"
	"                  boot image, devices and a host readiness report;\n"
	"                  creates no VM\n"
	"  dumpdtb CONFIG  write the device tree the guest would get (arm64)\n"
	"  help [COMMAND]  show help for COMMAND (run, check, dumpdtb)\n"
	"  help devices    list the device types and their keys\n"
	"\n"
	"options:\n"
	"  -h, --help      show this help\n"
	"  -V, --version   print the version\n"
	"\n"
	"exit status of `vmm run`: 0 guest powered off, 2 bad command line,\n"
	"config or image, 4 host/KVM error, 6 guest fault, 8 guest reset,\n"
	"10 timeout, 12 stopped by a signal, odd values: the guest's debug-exit\n"
	"code (v << 1) | 1. See README.md.\n";

static const char run_usage[] =
	"usage: vmm run [OPTIONS] CONFIG\n"
	"\n"
	"Boot the guest described by CONFIG and run it until it powers off,\n"
	"exits through the debug-exit device, faults, or times out. The guest's\n"
	"serial console is on stdin/stdout unless CONFIG says otherwise.\n"
	"\n"
	"options:\n"
	"  -s, --set SECTION.KEY=VALUE  override a config value; SECTION is\n"
	"                               vm, boot, memory.NAME or device.NAME\n"
	"                               (repeatable; applied in order)\n"
	"  -t, --timeout DURATION       stop the guest after DURATION (e.g. 10s,\n"
	"                               500ms; overrides [vm] timeout)\n"
	"      --on-reboot=restart|exit what a guest reset does (overrides\n"
	"                               [vm] on-reboot; default exit, status 8)\n"
	"      --stats                  print per-vCPU exit counters at exit\n"
	"  -v, --verbose                more messages (repeat for debug)\n"
	"  -q, --quiet                  errors only\n"
	"  -h, --help                   show this help\n";

static const char check_usage[] =
	"usage: vmm check [OPTIONS] CONFIG\n"
	"\n"
	"Validate CONFIG (and its image and module paths) exactly as `vmm run`\n"
	"would, then print the resolved configuration: memory map, boot image,\n"
	"devices and the ports, MMIO ranges and IRQs they claim, and whether\n"
	"this host can give the guest its real-time settings (pinned CPUs,\n"
	"scheduling, locked memory, hugepages, halt polling; one ok, warn or\n"
	"error line per check, docs/realtime.md). No VM is created. Exit\n"
	"status 0 if valid and the host is ready, 2 if not.\n"
	"\n"
	"options:\n"
	"  -s, --set SECTION.KEY=VALUE  override a config value (repeatable)\n"
	"  -q, --quiet                  print nothing, only set the status\n"
	"  -h, --help                   show this help\n";

static const char dumpdtb_usage[] =
	"usage: vmm dumpdtb [OPTIONS] CONFIG\n"
	"\n"
	"Write the flattened device tree (.dtb) that `vmm run CONFIG` would\n"
	"give the guest: built from CONFIG and placed exactly as for a boot\n"
	"(the image is loaded to find the addresses), or CONFIG's [boot] dtb\n"
	"with /chosen updated. The GIC described is the one this host's KVM\n"
	"offers (GICv3 if /dev/kvm cannot be opened). Decompile it with\n"
	"`dtc -I dtb -O dts`. arm64 only: x86 guests get ACPI tables\n"
	"(exit status 2). Exit status 0, 2 for a bad config or image, 4 if\n"
	"the output cannot be written.\n"
	"\n"
	"options:\n"
	"  -o, --output FILE            write to FILE (\"-\": standard output);\n"
	"                               without it the tree goes to standard\n"
	"                               output unless that is a terminal\n"
	"  -s, --set SECTION.KEY=VALUE  override a config value (repeatable)\n"
	"  -v, --verbose                more messages (repeat for debug)\n"
	"  -q, --quiet                  errors only\n"
	"  -h, --help                   show this help\n";

enum vmm_cmd { CMD_RUN, CMD_CHECK, CMD_DUMPDTB };

struct run_opts {
	const char *overrides[MAX_OVERRIDES];
	unsigned nr_overrides;
	const char *config;
	const char *output; /* dumpdtb -o */
	uint64_t timeout_ms;
	bool has_timeout;
	int on_reboot; /* -1: from the config, 0: exit, 1: restart */
	bool stats;
	bool quiet;
	int verbose;
};

static int usage_error(const char *usage, const char *fmt, const char *arg)
{
	fprintf(stderr, "vmm: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n\n%s", usage);
	return VMM_EXIT_USAGE;
}

/* The log level -q and -v ask for; none of them: leave it. */
static void set_log_level(const struct run_opts *o)
{
	if (o->quiet)
		log_set_level(LOG_ERR);
	else if (o->verbose)
		log_set_level(o->verbose > 1 ? LOG_DEBUG : LOG_INFO);
}

/* Parse run/check/dumpdtb options. Returns -1 to go on, else an exit
 * code. */
static int parse_opts(int argc, char **argv, const char *usage,
		      enum vmm_cmd cmd, struct run_opts *o)
{
	static const struct option longopts[] = {
		{ "set", required_argument, NULL, 's' },
		{ "output", required_argument, NULL, 'o' },
		{ "timeout", required_argument, NULL, 't' },
		{ "stats", no_argument, NULL, 'S' },
		{ "on-reboot", required_argument, NULL, 'R' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const shortopts[] = {
		[CMD_RUN] = "s:t:vqh",
		[CMD_CHECK] = "s:qh",
		[CMD_DUMPDTB] = "s:o:vqh",
	};
	bool is_run = cmd == CMD_RUN;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, shortopts[cmd], longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 's':
			if (o->nr_overrides >= MAX_OVERRIDES)
				return usage_error(
					usage, "too many --set options%s", "");
			o->overrides[o->nr_overrides++] = optarg;
			break;
		case 'o':
			if (cmd != CMD_DUMPDTB)
				return usage_error(usage, "unknown option %s",
						   "--output");
			o->output = optarg;
			break;
		case 't':
			if (!is_run)
				return usage_error(usage, "unknown option %s",
						   "--timeout");
			if (parse_duration_ms(optarg, &o->timeout_ms))
				return usage_error(
					usage, "--timeout: bad duration '%s'",
					optarg);
			o->has_timeout = true;
			break;
		case 'R':
			if (!is_run)
				return usage_error(usage, "unknown option %s",
						   "--on-reboot");
			if (!strcmp(optarg, "restart"))
				o->on_reboot = 1;
			else if (!strcmp(optarg, "exit"))
				o->on_reboot = 0;
			else
				return usage_error(usage,
						   "--on-reboot: '%s' is not "
						   "restart or exit",
						   optarg);
			break;
		case 'S':
			if (!is_run)
				return usage_error(usage, "unknown option %s",
						   "--stats");
			o->stats = true;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fprintf(stderr, "\n%s", usage);
			return VMM_EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return usage_error(usage, "missing CONFIG%s", "");
	if (optind + 1 < argc)
		return usage_error(usage, "unexpected argument '%s'",
				   argv[optind + 1]);
	o->config = argv[optind];
	return -1;
}

static int load_config(struct run_opts *o, struct vm_config *cfg)
{
	struct cfg_error err = { { 0 } };
	int ret;

	ret = config_load(cfg, o->config, o->overrides, o->nr_overrides, &err);
	if (!ret) {
		ret = arch_check_config(cfg, &err);
		if (ret)
			config_free(cfg);
	}
	if (ret) {
		fprintf(stderr, "vmm: %s\n",
			err.msg[0] ? err.msg : strerror(-ret));
		return VMM_EXIT_USAGE;
	}
	return 0;
}

/* Whether KVM can set halt polling per VM (asked only when configured:
 * everything else in the readiness report needs no /dev/kvm). */
static void probe_kvm(struct rt_host *h)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC), r;

	if (fd < 0) {
		snprintf(h->kvm_err, sizeof(h->kvm_err), "/dev/kvm: %s",
			 strerror(errno));
		return;
	}
	r = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_HALT_POLL);
	h->kvm_halt_poll = r > 0;
	close(fd);
}

/* The host readiness report for cfg (docs/realtime.md). 0 or -ENOMEM. */
static int rt_readiness(const struct vm_config *cfg, struct rt_host *h,
			struct rt_report *r)
{
	rt_host_probe(h);
	if (cfg->has_halt_poll_ns)
		probe_kvm(h);
	return rt_check(cfg, h, r);
}

static int cmd_check(int argc, char **argv)
{
	struct run_opts o = { 0 };
	struct rt_report rep = { 0 };
	struct vm_config cfg;
	struct rt_host host;
	int ret;

	ret = parse_opts(argc, argv, check_usage, CMD_CHECK, &o);
	if (ret >= 0)
		return ret;
	ret = load_config(&o, &cfg);
	if (ret)
		return ret;
	rt_readiness(&cfg, &host, &rep);
	if (!o.quiet) {
		printf("%s: OK\n\n", o.config);
		config_print(&cfg, stdout);
		arch_print_layout(&cfg, stdout);
		printf("\nhost readiness\n");
		rt_report_print(&rep, stdout);
		if (rep.nr_lost)
			printf("  error (%u findings lost: out of memory)\n",
			       rep.nr_lost);
		if (rep.nr_error)
			printf("\n%s: the host is not ready: %u error%s\n",
			       o.config, rep.nr_error,
			       rep.nr_error == 1 ? "" : "s");
	}
	ret = rep.nr_error ? VMM_EXIT_USAGE : 0;
	rt_report_free(&rep);
	config_free(&cfg);
	return ret;
}

static int cmd_dumpdtb(int argc, char **argv)
{
	struct run_opts o = { 0 };
	struct vm_config cfg;
	const char *out;
	char err[512] = "";
	int ret;

	ret = parse_opts(argc, argv, dumpdtb_usage, CMD_DUMPDTB, &o);
	if (ret >= 0)
		return ret;
	set_log_level(&o);
	out = o.output ? o.output : "-";
	if (!o.output && isatty(STDOUT_FILENO))
		return usage_error(dumpdtb_usage,
				   "not writing a binary device tree to a "
				   "terminal: use -o FILE or redirect "
				   "standard output%s",
				   "");
	ret = load_config(&o, &cfg);
	if (ret)
		return ret;
	ret = arch_dump_dtb(&cfg, out, err, sizeof(err));
	config_free(&cfg);
	if (!ret)
		return 0;
	fprintf(stderr, "vmm: %s\n", err[0] ? err : strerror(-ret));
	return ret == -EIO ? VMM_EXIT_HOST : VMM_EXIT_USAGE;
}

static const char *const param_kind_names[] = {
	[PARAM_U64] = "number", [PARAM_SIZE] = "size",	 [PARAM_BOOL] = "bool",
	[PARAM_STR] = "text",	[PARAM_ENUM] = "choice", [PARAM_PATH] = "path",
};

/* `vmm help devices`: generated from the schemas config.c validates
 * against, so it cannot drift from what is accepted. */
static void print_device_types(FILE *out)
{
	fprintf(out, "device types ([device \"NAME\"] type = ...):\n");
	for (unsigned i = 0; device_types[i]; i++) {
		const struct device_type *t = device_types[i];

		fprintf(out, "\n%s: %s\n", t->name, t->help ? t->help : "");
		for (const struct dev_param *p = t->params; p && p->key; p++) {
			fprintf(out, "  %-10s %-7s", p->key,
				param_kind_names[p->kind]);
			if (p->kind == PARAM_ENUM && p->choices) {
				fprintf(out, " (");
				for (unsigned c = 0; p->choices[c]; c++)
					fprintf(out, "%s%s", c ? "|" : "",
						p->choices[c]);
				fprintf(out, ")");
			}
			if (p->def)
				fprintf(out, " default %s", p->def);
			if (p->required)
				fprintf(out, " required");
			if (p->help)
				fprintf(out, "\n             %s", p->help);
			fprintf(out, "\n");
		}
	}
}

/*
 * Before the first VM of `vmm run`: check the host (errors: exit 2, after
 * every one is printed), then move the main thread to the I/O CPUs before
 * any other thread exists. -1 to go on, else an exit code.
 */
static int rt_start(const struct vm_config *cfg)
{
	struct rt_report rep = { 0 };
	struct rt_host host;
	char why[256];
	int code = -1;

	if (!rt_wanted(cfg))
		return -1;
	rt_readiness(cfg, &host, &rep);
	rt_report_log(&rep);
	if (rep.nr_error) {
		log_err("%s: the host is not ready for this guest (%u error%s; "
			"`vmm check %s` prints the full report)",
			cfg->path, rep.nr_error, rep.nr_error == 1 ? "" : "s",
			cfg->path);
		code = VMM_EXIT_USAGE;
	} else if (rt_process_setup(cfg, &host, why, sizeof(why))) {
		log_err("%s", why);
		code = VMM_EXIT_HOST;
	}
	rt_report_free(&rep);
	return code;
}

/* After vm_create(): the per-VM settings that need the VM and its RAM. */
static int rt_vm_ready(const struct vm_config *cfg, struct vm *vm)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_HALT_POLL,
		.args[0] = cfg->halt_poll_ns,
	};
	char why[256];
	int ret;

	if (cfg->has_halt_poll_ns &&
	    ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) < 0) {
		ret = -errno;
		log_err("%s:%u: [vm] halt-poll-ns: KVM_ENABLE_CAP "
			"KVM_CAP_HALT_POLL %u: %s",
			cfg->halt_poll_loc.file, cfg->halt_poll_loc.line,
			cfg->halt_poll_ns, strerror(errno));
		return ret;
	}
	/* After guest RAM is mapped and prefaulted; MCL_FUTURE covers what
	 * is mapped later (thread stacks, runtime RAM maps). */
	ret = rt_mlock(cfg, why, sizeof(why));
	if (ret)
		log_err("%s:%u: [vm] mlock: %s", cfg->mlock_loc.file,
			cfg->mlock_loc.line, why);
	return ret;
}

static int exit_code_for(enum vm_stop_reason reason, int code)
{
	switch (reason) {
	case VM_STOP_POWEROFF:
		return VMM_EXIT_POWEROFF;
	case VM_STOP_DEBUG_EXIT:
		return code & 0xff;
	case VM_STOP_REBOOT:
		return VMM_EXIT_REBOOT;
	case VM_STOP_GUEST_FAULT:
		return VMM_EXIT_GUEST_FAULT;
	case VM_STOP_TIMEOUT:
		return VMM_EXIT_TIMEOUT;
	case VM_STOP_SIGNAL:
		return VMM_EXIT_SIGNAL;
	case VM_STOP_NONE:
	case VM_STOP_HOST_ERROR:
		break;
	}
	return VMM_EXIT_HOST;
}

/* Report how one boot ended. */
static void report_stop(const struct vm_config *cfg, const struct vm *vm,
			enum vm_stop_reason reason, int status)
{
	switch (reason) {
	case VM_STOP_POWEROFF:
	case VM_STOP_DEBUG_EXIT:
	case VM_STOP_REBOOT:
		log_info("%s: %s; exit status %d", cfg->name,
			 vm->stop_detail[0] ? vm->stop_detail : "guest stopped",
			 status);
		break;
	case VM_STOP_GUEST_FAULT:
		/* vcpu.c already printed the fault and the registers. */
		log_err("%s: stopped after a guest fault; exit status %d",
			cfg->name, status);
		break;
	default:
		log_err("%s: %s; exit status %d", cfg->name,
			vm->stop_detail[0] ? vm->stop_detail : "stopped",
			status);
		break;
	}
}

static int cmd_run(int argc, char **argv)
{
	enum vm_stop_reason reason;
	struct run_opts o = { .on_reboot = -1 };
	struct vm_config cfg;
	struct vm *vm = NULL;
	uint64_t deadline = 0;
	unsigned boots = 0;
	int ret, code = 0, status;

	ret = parse_opts(argc, argv, run_usage, CMD_RUN, &o);
	if (ret >= 0)
		return ret;
	set_log_level(&o);
	ret = load_config(&o, &cfg);
	if (ret)
		return ret;
	if (o.has_timeout)
		cfg.timeout_ms = o.timeout_ms;
	if (o.on_reboot >= 0)
		cfg.reboot_restarts = o.on_reboot == 1;
	if (cfg.timeout_ms)
		deadline = now_ms() + cfg.timeout_ms;
	ret = rt_start(&cfg);
	if (ret >= 0) {
		config_free(&cfg);
		return ret;
	}
	/* A console reader that goes away (`vmm run ... | head`) is an
	 * output error the console reports and survives (EPIPE), not a
	 * reason to die with an undocumented status and a raw terminal. */
	signal(SIGPIPE, SIG_IGN);

	/* One boot per iteration: a reset with on-reboot = restart builds the
	 * VM afresh from the config (memory, devices, image, vCPUs), which is
	 * exactly what a reset promises. The timeout covers all boots. */
	for (;;) {
		if (deadline) {
			uint64_t now = now_ms();

			cfg.timeout_ms = now < deadline ? deadline - now : 1;
		}
		ret = vm_create(&cfg, &vm, &status);
		if (ret) {
			config_free(&cfg);
			return status;
		}
		if (rt_vm_ready(&cfg, vm)) {
			vm_destroy(vm);
			config_free(&cfg);
			return VMM_EXIT_HOST;
		}
		boots++;
		log_info("%s: %u vCPU(s), starting (boot %u)", cfg.name,
			 cfg.vcpus, boots);
		reason = vm_run(vm, &code);
		status = exit_code_for(reason, code);
		fflush(stdout);
		report_stop(&cfg, vm, reason, status);
		if (reason != VM_STOP_REBOOT || !cfg.reboot_restarts)
			break;
		if (o.stats)
			vm_print_stats(vm, stderr);
		vm_destroy(vm);
		vm = NULL;
		log_info("%s: guest reset: booting again", cfg.name);
	}
	if (o.stats)
		vm_print_stats(vm, stderr);
	vm_destroy(vm);
	config_free(&cfg);
	return status;
}

/*
 * Make sure fds 0-2 are open (on /dev/null if they were closed, as in
 * `vmm run x.cfg <&-`). Otherwise the first fds the VMM opens (epoll,
 * eventfd, /dev/kvm, memory and console files) take their numbers: the
 * console would read the epoll fd as its input, or write guest output and
 * log lines into an fd of ours.
 */
static void open_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		int n;

		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		/* 0..fd-1 are open, so this gets fd itself. */
		n = open("/dev/null", fd ? O_WRONLY : O_RDONLY);
		if (n >= 0 && n != fd)
			close(n);
	}
}

int main(int argc, char **argv)
{
	const char *cmd;

	open_std_fds();
	/* Large buffers (a kernel image read whole, its inflated copy) are
	 * mmap()ed and go back to the system when freed. glibc otherwise
	 * raises its mmap threshold to the size of the first such buffer
	 * freed, and the next ones stay in the heap for the whole run:
	 * tens of MiB of RSS next to a guest that needs a few. */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	if (argc < 2) {
		fputs(main_usage, stderr);
		return VMM_EXIT_USAGE;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
		fputs(main_usage, stdout);
		return 0;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		printf("vmm %s (%s)\n", VMM_VERSION, arch_name);
		return 0;
	}
	if (!strcmp(cmd, "help")) {
		const char *what = argc > 2 ? argv[2] : "";

		if (!strcmp(what, "devices")) {
			print_device_types(stdout);
			return 0;
		}
		fputs(!strcmp(what, "run")	 ? run_usage
		      : !strcmp(what, "check")	 ? check_usage
		      : !strcmp(what, "dumpdtb") ? dumpdtb_usage
						 : main_usage,
		      stdout);
		return 0;
	}
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "check"))
		return cmd_check(argc - 1, argv + 1);
	if (!strcmp(cmd, "dumpdtb"))
		return cmd_dumpdtb(argc - 1, argv + 1);
	fprintf(stderr, "vmm: unknown command '%s'\n\n%s", cmd, main_usage);
	return VMM_EXIT_USAGE;
}
