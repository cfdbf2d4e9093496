/* SPDX-License-Identifier: MIT */
/*
 * The console side of the UART models (devices/uart8250.c,
 * devices/pl011.c): the console backend (vmm/console.h), output written
 * under its own lock, and the host-side input backlog. Host input is read
 * on the main thread into the backlog, whose first bytes are the receive
 * FIFO the guest sees.
 *
 * Why a backlog instead of leaving unread bytes in the fd: the event loop
 * is level-triggered and the watch cannot be re-armed from a vCPU thread
 * (vmm/vm.h), so bytes left in the fd would make the main thread spin until
 * the guest reads. The backlog (4 KiB, like a terminal's input buffer)
 * gives flow control for pastes and scripted input; only when it is full
 * are further bytes dropped (the device reports an overrun). A regular
 * input file (also stdin redirected from a file, or /dev/null) cannot be
 * watched by epoll, so it is read at creation (up to UART_FILE_INPUT_MAX
 * bytes) and replayed through the same backlog.
 *
 * The backlog is guarded by the device's lock (`lock`): uart_input_pop()
 * and reading `count` happen under it.
 */
#ifndef DEVICES_UART_CONSOLE_H
#define DEVICES_UART_CONSOLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/console.h"
#include "vmm/log.h"

#define UART_BACKLOG	    4096
#define UART_FILE_INPUT_MAX (1u << 20)

struct cfg_device;
struct vm;

struct uart_input {
	/* set by the device for uart_console_open() */
	struct vm *vm;
	struct console *con;	  /* set by uart_console_open() */
	const char *name;	  /* the device's, for messages */
	pthread_mutex_t *lock;	  /* the device's lock */
	struct log_ratelimit *rl; /* the device's */
	/*
	 * Main thread, under *lock, after host input was read: into the
	 * backlog, or dropped (overrun: the backlog was full). Records the
	 * overrun and updates the device's interrupt line.
	 */
	void (*received)(void *opaque, bool overrun);
	void *opaque;

	bool watching; /* con->in_fd is watched by the event loop */
	uint8_t *buf;
	size_t cap, head, count;
	uint64_t dropped;
};

/*
 * The console and input of a UART. Output is written after dropping the
 * device's lock, under tx_lock (which only serialises output), so a blocked
 * stdout never blocks the main thread.
 */
struct uart_console {
	struct console con;
	pthread_mutex_t tx_lock;
	struct uart_input in; /* in.con is &con */
};

/*
 * Open the console the device's keys give (vmm/console.h) and set up its
 * input with in (vm, name, lock, rl, received, opaque). Without input, a
 * 1-byte backlog that stays empty. A terminal, pipe, FIFO or socket is
 * watched by the event loop. A regular file (or another fd epoll refuses,
 * like /dev/null) is always "ready": it is read now, up to
 * UART_FILE_INPUT_MAX bytes. 0, or -errno (logged but for -ENOMEM) with
 * nothing left to close.
 */
int uart_console_open(struct uart_console *uc, const struct cfg_device *cfg,
		      const struct uart_input *in);

/* Stop the input, close the console and free the backlog. */
void uart_console_close(struct uart_console *uc);

/* Send bytes the guest transmitted (not under the device's lock). */
void uart_console_write(struct uart_console *uc, const void *buf, size_t len);

/* Under *lock, with count > 0: take the oldest byte. */
uint8_t uart_input_pop(struct uart_input *in);

#endif
