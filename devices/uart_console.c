/* SPDX-License-Identifier: MIT */
/* The console side of the UART models: see uart_console.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/uart_console.h"
#include "vmm/config.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#define UART_READ_CHUNK 1024

static void uart_input_add(struct uart_input *in, const uint8_t *buf,
			   size_t len)
{
	for (size_t i = 0; i < len && in->count < in->cap; i++) {
		in->buf[(in->head + in->count) % in->cap] = buf[i];
		in->count++;
	}
}

uint8_t uart_input_pop(struct uart_input *in)
{
	uint8_t b = in->buf[in->head];

	in->head = (in->head + 1) % in->cap;
	in->count--;
	return b;
}

static void uart_input_stop(struct uart_input *in)
{
	if (!in->watching)
		return;
	vm_unwatch_fd(in->vm, in->con->in_fd);
	in->watching = false;
}

/* Main thread: the console's input fd is readable. */
static void uart_input_ready(void *opaque)
{
	struct uart_input *in = opaque;
	uint8_t buf[UART_READ_CHUNK];
	size_t room;
	ssize_t n;

	pthread_mutex_lock(in->lock);
	room = in->cap - in->count;
	pthread_mutex_unlock(in->lock);

	/* Only this thread adds to the backlog, so room can only grow until
	 * we lock again. With no room at all, read anyway and drop: leaving
	 * the bytes in the fd would make the level-triggered loop spin. */
	n = console_read(in->con, buf,
			 room ? MIN(room, sizeof(buf)) : sizeof(buf));
	if (n == -EAGAIN)
		return;
	if (n <= 0) {
		if (n < 0)
			log_warn("%s: console input: %s; input stopped",
				 in->name, strerror((int)-n));
		uart_input_stop(in);
		return;
	}

	pthread_mutex_lock(in->lock);
	if (!room) {
		in->dropped += (uint64_t)n;
		log_ratelimited(in->rl, LOG_DEBUG,
				"%s: input overrun, %llu bytes dropped so far",
				in->name, (unsigned long long)in->dropped);
	} else {
		uart_input_add(in, buf, (size_t)n);
	}
	in->received(in->opaque, !room);
	pthread_mutex_unlock(in->lock);
}

/* Read an fd that cannot be watched into the backlog now, up to its size. */
static int uart_input_read_all(struct uart_input *in)
{
	uint8_t probe;

	/* Bounded: each round adds at least one byte or ends the loop. */
	while (in->count < in->cap) {
		uint8_t buf[UART_READ_CHUNK];
		ssize_t n = console_read(in->con, buf,
					 MIN(sizeof(buf), in->cap - in->count));

		if (n == 0 || n == -EAGAIN)
			return 0;
		if (n < 0) {
			log_err("%s: cannot read console input: %s", in->name,
				strerror((int)-n));
			return (int)n;
		}
		uart_input_add(in, buf, (size_t)n);
	}
	if (console_read(in->con, &probe, 1) > 0)
		log_warn("%s: console input larger than %zu bytes; the rest "
			 "is ignored",
			 in->name, in->cap);
	return 0;
}

static int uart_input_setup(struct uart_input *in)
{
	struct stat st;
	size_t cap = UART_BACKLOG;
	bool regular;
	int ret;

	if (in->con->in_fd < 0) {
		in->cap = 1;
		in->buf = calloc(1, 1);
		return in->buf ? 0 : -ENOMEM;
	}
	regular = fstat(in->con->in_fd, &st) == 0 && S_ISREG(st.st_mode);
	if (regular)
		cap = (size_t)MAX((uint64_t)cap,
				  MIN((uint64_t)st.st_size,
				      (uint64_t)UART_FILE_INPUT_MAX));
	in->buf = malloc(cap);
	if (!in->buf)
		return -ENOMEM;
	in->cap = cap;
	if (regular)
		return uart_input_read_all(in);

	ret = vm_watch_fd(in->vm, in->con->in_fd, uart_input_ready, in);
	if (ret == -EPERM)
		return uart_input_read_all(in);
	if (ret < 0) {
		log_err("%s: cannot watch console input: %s", in->name,
			strerror(-ret));
		return ret;
	}
	in->watching = true;
	return 0;
}

int uart_console_open(struct uart_console *uc, const struct cfg_device *cfg,
		      const struct uart_input *in)
{
	int ret;

	ret = console_open_cfg(&uc->con, cfg);
	if (ret) {
		log_err("%s: cannot open console: %s", in->name,
			strerror(-ret));
		return ret;
	}
	pthread_mutex_init(&uc->tx_lock, NULL);
	uc->in = *in;
	uc->in.con = &uc->con;
	ret = uart_input_setup(&uc->in);
	if (ret)
		uart_console_close(uc);
	return ret;
}

void uart_console_close(struct uart_console *uc)
{
	uart_input_stop(&uc->in);
	console_close(&uc->con);
	free(uc->in.buf);
	uc->in.buf = NULL;
	pthread_mutex_destroy(&uc->tx_lock);
}

void uart_console_write(struct uart_console *uc, const void *buf, size_t len)
{
	pthread_mutex_lock(&uc->tx_lock);
	console_write(&uc->con, buf, len);
	pthread_mutex_unlock(&uc->tx_lock);
}
