/* SPDX-License-Identifier: MIT */
/*
 * Console backends for serial devices: where guest output goes and where
 * guest input comes from.
 *   stdio: output to stdout; input from stdin (a terminal is switched to
 *          raw-ish mode: no echo, no line buffering, Ctrl-C still stops the
 *          VMM; restored at exit). Only one console may read stdin.
 *   file:  output written to `path` (truncated when the VM starts); input
 *          from `input` if given.
 *   none:  output dropped, no input.
 */
#ifndef VMM_CONSOLE_H
#define VMM_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum console_kind { CONSOLE_NONE, CONSOLE_STDIO, CONSOLE_FILE };

struct console {
	enum console_kind kind;
	int out_fd; /* -1: output dropped */
	int in_fd;  /* -1: no input */
	bool owns_out, owns_in, tty_saved;
};

/* Open a backend. out_path for CONSOLE_FILE (required), in_path optional
 * input file for any kind but NONE. 0 or -errno. */
int console_open(struct console *c, enum console_kind kind,
		 const char *out_path, const char *in_path);

/* Write all of buf (retrying on EINTR/partial writes). Output errors are
 * reported once and then output is dropped: a full disk must not stop the
 * guest. After console_abort_writes(), a write interrupted by a signal
 * gives up instead of retrying (the rest of buf is dropped). */
void console_write(struct console *c, const void *buf, size_t len);

/*
 * The VMM is stopping: from now on a console_write() that is blocked (a
 * full pipe whose reader is stuck, a stopped terminal) returns when a
 * signal interrupts it, so the vCPU thread doing the write can be kicked
 * out and joined. Process-wide and irreversible. Async-signal-safe.
 */
void console_abort_writes(void);

/* Read available input (non-blocking). >0 bytes, 0 on EOF, -EAGAIN. */
ssize_t console_read(struct console *c, void *buf, size_t len);

void console_close(struct console *c);

/*
 * A device's console keys: `console` (stdio, file or none), `path` (the
 * output file of console = file) and `input`. Put CONSOLE_DEV_PARAMS in the
 * device type's params (vmm/device.h), call console_cfg_check() from its
 * check() and console_open_cfg() from its create().
 */
extern const char *const console_choices[];

#define CONSOLE_DEV_PARAMS                                                 \
	{ .key = "console",                                                \
	  .kind = PARAM_ENUM,                                              \
	  .def = "stdio",                                                  \
	  .choices = console_choices,                                      \
	  .help = "where output goes: stdio, file (needs path) or none" }, \
		{ .key = "path",                                           \
		  .kind = PARAM_PATH,                                      \
		  .help = "output file for console = file (truncated at "  \
			  "start)" },                                      \
	{                                                                  \
		.key = "input", .kind = PARAM_PATH,                        \
		.help = "input file or FIFO, instead of stdin"             \
	}

struct cfg_device;
struct cfg_error;

/* path only with (and required by) console = file, input not with none.
 * 0 or -EINVAL with err filled. */
int console_cfg_check(const struct cfg_device *cfg, struct cfg_error *err);
/* console_open() with the kind, path and input the keys give. 0 or
 * -errno. */
int console_open_cfg(struct console *c, const struct cfg_device *cfg);

#endif
