/* SPDX-License-Identifier: MIT */
/*
 * Process exit codes of `vmm`. Only main() turns results into one of these.
 *
 * Every code the VMM itself chooses is even; the debug-exit device
 * (QEMU isa-debug-exit semantics: a write of v exits with (v << 1) | 1)
 * always produces an odd code, so the two never collide. README.md
 * documents this table; keep them in sync.
 */
#ifndef VMM_EXITCODE_H
#define VMM_EXITCODE_H

enum vmm_exit_code {
	VMM_EXIT_POWEROFF = 0,	  /* guest powered off cleanly */
	VMM_EXIT_USAGE = 2,	  /* bad command line, config or image */
	VMM_EXIT_HOST = 4,	  /* host or KVM error (no /dev/kvm, ioctl) */
	VMM_EXIT_GUEST_FAULT = 6, /* triple fault, forbidden I/O, ... */
	VMM_EXIT_REBOOT = 8,	  /* guest asked for a reset (on-reboot=exit) */
	VMM_EXIT_TIMEOUT = 10,	  /* [vm] timeout / --timeout expired */
	VMM_EXIT_SIGNAL = 12,	  /* stopped by SIGINT/SIGTERM/SIGHUP */
};

#endif
