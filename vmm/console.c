/* SPDX-License-Identifier: MIT */
/*
 * Console backends (vmm/console.h).
 *
 * Terminal mode. When stdin is a terminal and a console reads it, the
 * terminal is switched to a raw-ish mode like QEMU's stdio chardev: no echo,
 * no line editing, no CR/NL translation on input, no XON/XOFF; output
 * post-processing (ONLCR) and ISIG stay on, so Ctrl-C still stops the VMM.
 * The saved settings are restored by console_close(), by an atexit()
 * handler, and by a handler for fatal signals (SIGSEGV, SIGABRT, ...) that
 * restores the terminal and then hands the signal to whatever handled it
 * before (the default action, or ASan's report). The saved state is global:
 * only one console may own stdin. A closed stdin, or a terminal whose
 * foreground belongs to another process group (`vmm run ... &`, where
 * reading would stop us with SIGTTIN), gives an output-only console.
 *
 * Non-blocking input. console_read() polls the input fd with a zero timeout
 * before reading instead of setting O_NONBLOCK on stdin: stdin usually shares
 * its open file description with stdout and with the parent shell, and
 * O_NONBLOCK there would make our writes (and the shell's reads after we
 * exit) fail with EAGAIN. Files we open ourselves are O_NONBLOCK as well.
 *
 * Output. console_write() blocks until everything is written: a slow
 * terminal or a full pipe slows the guest's vCPU down (back-pressure) rather
 * than losing output. If stdout was left O_NONBLOCK by someone else, EAGAIN
 * is waited out with poll(). A hard error (EIO, ENOSPC, EPIPE, ...) is
 * reported once and output is dropped from then on. Back-pressure must not
 * outlive the VM: once console_abort_writes() was called (the VM is
 * stopping), a write or poll interrupted by a signal (the vCPU kick) gives
 * up, else a reader that never reads would keep the vCPU thread, and so
 * the whole VMM, from ever exiting.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "vmm/config.h"
#include "vmm/console.h"
#include "vmm/log.h"
#include "vmm/util.h"

/* ---- terminal state, restored from atexit() and signal handlers ---- */

static struct termios saved_tios;
static volatile sig_atomic_t tios_active; /* saved_tios must be restored */
static bool stdin_claimed;		  /* a console reads stdin */
static bool restore_installed;
static volatile sig_atomic_t writes_aborted; /* console_abort_writes() */

/* Signals after which the terminal must not stay raw. The synchronous
 * faults and SIGABRT are chained to the previous handler (ASan installs
 * its own); the terminating ones only get a handler if they had none. */
static const int fatal_signals[] = { SIGSEGV, SIGBUS,  SIGILL, SIGFPE, SIGABRT,
				     SIGQUIT, SIGTERM, SIGHUP, SIGINT };
static struct sigaction old_actions[ARRAY_SIZE(fatal_signals)];
static bool old_saved[ARRAY_SIZE(fatal_signals)];

static void tty_restore(void)
{
	if (!tios_active)
		return;
	tios_active = 0;
	/* TCSANOW: do not wait for output to drain in a signal handler. */
	tcsetattr(STDIN_FILENO, TCSANOW, &saved_tios);
}

static void on_fatal_signal(int sig, siginfo_t *info, void *uctx)
{
	int saved_errno = errno;

	tty_restore();
	for (unsigned i = 0; i < ARRAY_SIZE(fatal_signals); i++) {
		if (fatal_signals[i] != sig || !old_saved[i])
			continue;
		sigaction(sig, &old_actions[i], NULL);
		break;
	}
	/* A fault raised by the CPU recurs when we return, now reaching the
	 * previous handler with the original siginfo. Anything else is sent
	 * again; it is delivered when this handler returns. */
	if ((sig == SIGSEGV || sig == SIGBUS || sig == SIGILL ||
	     sig == SIGFPE) &&
	    info && info->si_code > 0) {
		errno = saved_errno;
		return;
	}
	raise(sig);
	errno = saved_errno;
}

static void install_restore_handlers(void)
{
	struct sigaction sa;

	if (restore_installed)
		return;
	restore_installed = true;
	atexit(tty_restore);

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fatal_signal;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	for (unsigned i = 0; i < ARRAY_SIZE(fatal_signals); i++) {
		int sig = fatal_signals[i];
		bool chain = sig == SIGSEGV || sig == SIGBUS || sig == SIGILL ||
			     sig == SIGFPE || sig == SIGABRT;
		struct sigaction old;

		if (sigaction(sig, NULL, &old) < 0)
			continue;
		if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_IGN)
			continue;
		if (!chain &&
		    ((old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL))
			continue;
		old_actions[i] = old;
		old_saved[i] = true;
		sigaction(sig, &sa, NULL);
	}
}

static int tty_make_raw(void)
{
	struct termios t;

	if (tcgetattr(STDIN_FILENO, &saved_tios) < 0)
		return -errno;
	install_restore_handlers();
	t = saved_tios;
	t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR |
				 IGNCR | ICRNL | IXON);
	t.c_oflag |= OPOST;
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | IEXTEN);
	t.c_lflag |= ISIG;
	t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
	t.c_cflag |= CS8;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	tios_active = 1;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t) < 0) {
		int err = -errno;

		tios_active = 0;
		return err;
	}
	return 0;
}

/* ---- backends ---- */

/*
 * stdin is our controlling terminal but another process group is in the
 * foreground (`vmm run ... &`): reading it or changing its mode would stop
 * us with SIGTTIN/SIGTTOU.
 */
static bool stdin_in_background(void)
{
	pid_t fg;

	if (!isatty(STDIN_FILENO))
		return false;
	fg = tcgetpgrp(STDIN_FILENO);
	return fg >= 0 && fg != getpgrp();
}

static int open_input(struct console *c, const char *in_path)
{
	c->in_fd = open(in_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (c->in_fd < 0) {
		int err = -errno;

		log_err("console: cannot open input '%s': %s", in_path,
			strerror(errno));
		return err;
	}
	c->owns_in = true;
	return 0;
}

int console_open(struct console *c, enum console_kind kind,
		 const char *out_path, const char *in_path)
{
	int ret;

	*c = (struct console){ .kind = kind, .out_fd = -1, .in_fd = -1 };
	switch (kind) {
	case CONSOLE_NONE:
		if (in_path)
			return -EINVAL;
		return 0;
	case CONSOLE_STDIO:
		c->out_fd = STDOUT_FILENO;
		break;
	case CONSOLE_FILE:
		if (!out_path)
			return -EINVAL;
		c->out_fd = open(out_path,
				 O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
					 O_NOCTTY,
				 0644);
		if (c->out_fd < 0) {
			ret = -errno;
			log_err("console: cannot open output '%s': %s",
				out_path, strerror(errno));
			return ret;
		}
		c->owns_out = true;
		break;
	default:
		return -EINVAL;
	}

	if (in_path) {
		ret = open_input(c, in_path);
		if (ret)
			goto err_out;
		return 0;
	}
	if (kind != CONSOLE_STDIO)
		return 0;
	if (stdin_claimed) {
		log_info("console: stdin is read by another console; "
			 "this one is output-only");
		return 0;
	}
	if (fcntl(STDIN_FILENO, F_GETFD) < 0) {
		log_info("console: stdin is closed; no console input");
		return 0;
	}
	if (stdin_in_background()) {
		log_info("console: running in the background of the terminal; "
			 "no console input");
		return 0;
	}
	stdin_claimed = true;
	c->in_fd = STDIN_FILENO;
	if (isatty(STDIN_FILENO)) {
		ret = tty_make_raw();
		if (ret)
			log_warn("console: cannot set terminal mode: %s",
				 strerror(-ret));
		else
			c->tty_saved = true;
	}
	return 0;

err_out:
	if (c->owns_out)
		close(c->out_fd);
	c->out_fd = -1;
	c->owns_out = false;
	return ret;
}

static void console_drop_output(struct console *c, int err)
{
	log_err("console: output failed: %s; dropping further output",
		strerror(err));
	if (c->owns_out)
		close(c->out_fd);
	c->owns_out = false;
	c->out_fd = -1;
}

void console_abort_writes(void)
{
	writes_aborted = 1;
}

void console_write(struct console *c, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	/* Each round either writes at least one byte, or waits for the fd
	 * to become writable, or gives up: the loop ends. */
	while (len && c->out_fd >= 0) {
		ssize_t n = write(c->out_fd, p, len);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR) {
			if (writes_aborted)
				return;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pfd = { .fd = c->out_fd,
					      .events = POLLOUT };

			if (poll(&pfd, 1, -1) < 0) {
				if (errno != EINTR) {
					console_drop_output(c, errno);
					return;
				}
				if (writes_aborted)
					return;
			}
			continue;
		}
		console_drop_output(c, n < 0 ? errno : EIO);
		return;
	}
}

ssize_t console_read(struct console *c, void *buf, size_t len)
{
	struct pollfd pfd = { .fd = c->in_fd, .events = POLLIN };
	ssize_t n;
	int ret;

	if (c->in_fd < 0)
		return 0;
	if (!len)
		return -EINVAL;
	ret = poll(&pfd, 1, 0);
	if (ret < 0)
		return errno == EINTR ? -EAGAIN : -errno;
	if (ret == 0)
		return -EAGAIN;
	if (pfd.revents & POLLNVAL)
		return -EBADF;
	n = read(c->in_fd, buf, len);
	if (n >= 0)
		return n;
	if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
		return -EAGAIN;
	return -errno;
}

void console_close(struct console *c)
{
	if (c->tty_saved)
		tty_restore();
	if (c->in_fd == STDIN_FILENO && !c->owns_in)
		stdin_claimed = false;
	if (c->owns_in && c->in_fd >= 0)
		close(c->in_fd);
	if (c->owns_out && c->out_fd >= 0)
		close(c->out_fd);
	*c = (struct console){ .kind = CONSOLE_NONE,
			       .out_fd = -1,
			       .in_fd = -1 };
}

/* ---- a device's console keys ---- */

/* console_choices[] by index, the value cfg_dev_num() gives */
enum { CON_STDIO, CON_FILE, CON_NONE };
const char *const console_choices[] = { "stdio", "file", "none", NULL };

int console_cfg_check(const struct cfg_device *cfg, struct cfg_error *err)
{
	uint64_t con = cfg_dev_num(cfg, "console");

	if (con == CON_FILE && !cfg_dev_isset(cfg, "path")) {
		cfg_dev_error(err, cfg, "path", "required with console = file");
		return -EINVAL;
	}
	if (con != CON_FILE && cfg_dev_isset(cfg, "path")) {
		cfg_dev_error(err, cfg, "path",
			      "only used with console = file");
		return -EINVAL;
	}
	if (con == CON_NONE && cfg_dev_isset(cfg, "input")) {
		cfg_dev_error(err, cfg, "input",
			      "not used with console = none");
		return -EINVAL;
	}
	return 0;
}

int console_open_cfg(struct console *c, const struct cfg_device *cfg)
{
	static const enum console_kind kinds[] = {
		[CON_STDIO] = CONSOLE_STDIO,
		[CON_FILE] = CONSOLE_FILE,
		[CON_NONE] = CONSOLE_NONE,
	};
	uint64_t con = cfg_dev_num(cfg, "console");

	if (con >= ARRAY_SIZE(kinds))
		return -EINVAL;
	return console_open(
		c, kinds[con],
		cfg_dev_isset(cfg, "path") ? cfg_dev_str(cfg, "path") : NULL,
		cfg_dev_isset(cfg, "input") ? cfg_dev_str(cfg, "input") : NULL);
}
