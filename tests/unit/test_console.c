/* SPDX-License-Identifier: MIT */
/* Console backends (vmm/console.c): files, FIFOs, the terminal mode. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "vmm/console.h"

static char tmpdir[] = "/tmp/test_console.XXXXXX";
static char path_a[256], path_b[256];

static void setup(void)
{
	cr_assert_not_null(mkdtemp(tmpdir));
	snprintf(path_a, sizeof(path_a), "%s/a", tmpdir);
	snprintf(path_b, sizeof(path_b), "%s/b", tmpdir);
}

static void teardown(void)
{
	unlink(path_a);
	unlink(path_b);
	rmdir(tmpdir);
}

TestSuite(console, .init = setup, .fini = teardown);

static void put_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

static void assert_file(const char *path, const char *text)
{
	char buf[256];
	FILE *f = fopen(path, "r");
	size_t n;

	cr_assert_not_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	cr_assert_str_eq(buf, text);
}

Test(console, file_output_truncates_and_writes)
{
	struct console c;

	put_file(path_a, "previous run");
	cr_assert_eq(console_open(&c, CONSOLE_FILE, path_a, NULL), 0);
	cr_assert_eq(c.in_fd, -1);
	console_write(&c, "hello ", 6);
	console_write(&c, "world\n", 6);
	console_close(&c);
	assert_file(path_a, "hello world\n");
	cr_assert_eq(c.out_fd, -1);
}

Test(console, file_needs_path)
{
	struct console c;

	cr_assert_eq(console_open(&c, CONSOLE_FILE, NULL, NULL), -EINVAL);
}

Test(console, unopenable_paths)
{
	struct console c;

	cr_assert_eq(console_open(&c, CONSOLE_FILE, "/nonexistent/x", NULL),
		     -ENOENT);
	cr_assert_eq(console_open(&c, CONSOLE_FILE, path_a, "/nonexistent/y"),
		     -ENOENT);
	cr_assert_eq(c.out_fd, -1, "output closed again");
}

Test(console, none_drops_output_and_has_no_input)
{
	struct console c;
	char buf[4];

	cr_assert_eq(console_open(&c, CONSOLE_NONE, NULL, NULL), 0);
	cr_assert_eq(c.out_fd, -1);
	cr_assert_eq(c.in_fd, -1);
	console_write(&c, "x", 1);
	cr_assert_eq(console_read(&c, buf, sizeof(buf)), 0);
	console_close(&c);
	cr_assert_eq(console_open(&c, CONSOLE_NONE, NULL, path_a), -EINVAL);
}

Test(console, input_file_then_eof)
{
	struct console c;
	char buf[16];

	put_file(path_b, "abc");
	cr_assert_eq(console_open(&c, CONSOLE_FILE, path_a, path_b), 0);
	cr_assert_geq(c.in_fd, 0);
	cr_assert_eq(console_read(&c, buf, 2), 2);
	cr_assert_eq(memcmp(buf, "ab", 2), 0);
	cr_assert_eq(console_read(&c, buf, sizeof(buf)), 1);
	cr_assert_eq(buf[0], 'c');
	cr_assert_eq(console_read(&c, buf, sizeof(buf)), 0, "EOF");
	console_close(&c);
}

Test(console, fifo_input_is_nonblocking)
{
	struct console c;
	char buf[16];
	int w;

	cr_assert_eq(mkfifo(path_b, 0600), 0);
	cr_assert_eq(console_open(&c, CONSOLE_FILE, path_a, path_b), 0);
	w = open(path_b, O_WRONLY | O_NONBLOCK);
	cr_assert_geq(w, 0);
	cr_assert_eq(console_read(&c, buf, sizeof(buf)), -EAGAIN);
	cr_assert_eq(write(w, "hi", 2), 2);
	cr_assert_eq(console_read(&c, buf, sizeof(buf)), 2);
	cr_assert_eq(console_read(&c, buf, sizeof(buf)), -EAGAIN);
	close(w);
	cr_assert_eq(console_read(&c, buf, sizeof(buf)), 0, "writer gone");
	console_close(&c);
}

Test(console, output_error_reported_once_then_dropped)
{
	struct console c;

	cr_assert_eq(console_open(&c, CONSOLE_FILE, "/dev/full", NULL), 0);
	console_write(&c, "x", 1);
	cr_assert_eq(c.out_fd, -1, "output dropped after ENOSPC");
	console_write(&c, "y", 1);
	console_close(&c);
}

Test(console, stdio_input_file_leaves_stdin_alone)
{
	struct console c;

	put_file(path_b, "z");
	cr_assert_eq(console_open(&c, CONSOLE_STDIO, NULL, path_b), 0);
	cr_assert_eq(c.out_fd, STDOUT_FILENO);
	cr_assert_neq(c.in_fd, STDIN_FILENO);
	cr_assert_not(c.tty_saved);
	console_close(&c);
}

/* A pseudo-terminal on fd 0, as when vmm runs in a terminal. */
static int pty_on_stdin(void)
{
	int master = posix_openpt(O_RDWR | O_NOCTTY), slave;
	struct termios t;

	cr_assert_geq(master, 0);
	cr_assert_eq(grantpt(master), 0);
	cr_assert_eq(unlockpt(master), 0);
	slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	cr_assert_geq(slave, 0);
	cr_assert_eq(tcgetattr(slave, &t), 0);
	t.c_lflag |= ICANON | ECHO | ISIG;
	t.c_iflag |= ICRNL;
	cr_assert_eq(tcsetattr(slave, TCSANOW, &t), 0);
	cr_assert_eq(dup2(slave, STDIN_FILENO), STDIN_FILENO);
	close(slave);
	return master;
}

static bool stdin_is_cooked(void)
{
	struct termios t;

	cr_assert_eq(tcgetattr(STDIN_FILENO, &t), 0);
	return (t.c_lflag & ICANON) && (t.c_lflag & ECHO) &&
	       (t.c_iflag & ICRNL);
}

Test(console, stdio_terminal_raw_mode_and_restore)
{
	struct console c, c2;
	struct termios t;
	char buf[8];
	int master = pty_on_stdin();

	cr_assert_eq(console_open(&c, CONSOLE_STDIO, NULL, NULL), 0);
	cr_assert_eq(c.in_fd, STDIN_FILENO);
	cr_assert(c.tty_saved);
	cr_assert_eq(tcgetattr(STDIN_FILENO, &t), 0);
	cr_assert_eq(t.c_lflag & (ICANON | ECHO), 0, "no line editing, echo");
	cr_assert(t.c_lflag & ISIG, "Ctrl-C still works");
	cr_assert_eq(t.c_iflag & (ICRNL | IXON), 0);
	cr_assert(t.c_oflag & OPOST);
	cr_assert_eq(fcntl(STDIN_FILENO, F_GETFL) & O_NONBLOCK, 0,
		     "stdin's file description is not made O_NONBLOCK");

	/* Input arrives byte by byte, CR untranslated, reads never block. */
	cr_assert_eq(console_read(&c, buf, sizeof(buf)), -EAGAIN);
	cr_assert_eq(write(master, "k\r", 2), 2);
	usleep(20000);
	cr_assert_eq(console_read(&c, buf, sizeof(buf)), 2);
	cr_assert_eq(memcmp(buf, "k\r", 2), 0);

	/* Only one console reads stdin. */
	cr_assert_eq(console_open(&c2, CONSOLE_STDIO, NULL, NULL), 0);
	cr_assert_eq(c2.in_fd, -1);
	console_close(&c2);

	console_close(&c);
	cr_assert(stdin_is_cooked(), "terminal restored by console_close");
	close(master);
}

static void child_exit_path(int how)
{
	struct console c;

	if (console_open(&c, CONSOLE_STDIO, NULL, NULL) || !c.tty_saved)
		_exit(99);
	if (how == 0)
		exit(0); /* atexit */
	if (how == 1)
		abort();
	raise(SIGTERM);
	_exit(98);
}

static void run_child(int how, int want_sig)
{
	int master = pty_on_stdin(), status;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0)
		child_exit_path(how);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	if (want_sig) {
		cr_assert(WIFSIGNALED(status), "status %#x", status);
		cr_assert_eq(WTERMSIG(status), want_sig);
	} else {
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			  "status %#x", status);
	}
	cr_assert(stdin_is_cooked(), "terminal restored after the child");
	close(master);
}

Test(console, terminal_restored_at_exit)
{
	run_child(0, 0);
}

Test(console, terminal_restored_on_abort)
{
	run_child(1, SIGABRT);
}

Test(console, terminal_restored_on_sigterm)
{
	run_child(2, SIGTERM);
}

Test(console, closed_stdin_means_no_input)
{
	struct console c;

	close(STDIN_FILENO);
	cr_assert_eq(console_open(&c, CONSOLE_STDIO, NULL, NULL), 0);
	cr_assert_eq(c.in_fd, -1);
	cr_assert_eq(c.out_fd, STDOUT_FILENO);
	console_close(&c);
}

/* ---- a writer blocked on a reader that never reads ---- */

struct blocked_writer {
	struct console *c;
	pthread_t thread;
	volatile int done;
};

static void noop_handler(int sig)
{
	(void)sig;
}

static void *write_one(void *opaque)
{
	struct blocked_writer *bw = opaque;

	console_write(bw->c, "x", 1);
	bw->done = 1;
	return NULL;
}

/* A console on a FIFO whose pipe is full, and a thread blocked writing to
 * it. SIGUSR1 interrupts without SA_RESTART, like the vCPU kick. Returns
 * the read end. */
static int start_blocked_writer(struct console *c, struct blocked_writer *bw)
{
	struct sigaction sa = { .sa_handler = noop_handler };
	char fill[4096] = { 0 };
	int r, fl;

	cr_assert_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	cr_assert_eq(mkfifo(path_b, 0600), 0);
	r = open(path_b, O_RDONLY | O_NONBLOCK);
	cr_assert_geq(r, 0);
	cr_assert_eq(console_open(c, CONSOLE_FILE, path_b, NULL), 0);
	fl = fcntl(c->out_fd, F_GETFL);
	cr_assert_eq(fcntl(c->out_fd, F_SETFL, fl | O_NONBLOCK), 0);
	while (write(c->out_fd, fill, sizeof(fill)) > 0)
		;
	cr_assert_eq(errno, EAGAIN);
	cr_assert_eq(fcntl(c->out_fd, F_SETFL, fl), 0);
	bw->c = c;
	bw->done = 0;
	cr_assert_eq(pthread_create(&bw->thread, NULL, write_one, bw), 0);
	usleep(100 * 1000);
	cr_assert_eq(bw->done, 0, "the write should block on the full pipe");
	return r;
}

/* Kick the writer every 10 ms, as vcpu_join() does, for up to `ms`. */
static bool kick_until_done(struct blocked_writer *bw, unsigned ms)
{
	for (unsigned i = 0; i < ms / 10 && !bw->done; i++) {
		pthread_kill(bw->thread, SIGUSR1);
		usleep(10 * 1000);
	}
	return bw->done;
}

Test(console, interrupted_write_is_retried)
{
	struct blocked_writer bw;
	struct console c;
	char buf[4096];
	int r;

	r = start_blocked_writer(&c, &bw);
	cr_assert_not(kick_until_done(&bw, 200),
		      "a signal alone must not drop output");
	while (read(r, buf, sizeof(buf)) > 0)
		;
	cr_assert(kick_until_done(&bw, 2000), "the write did not complete");
	pthread_join(bw.thread, NULL);
	cr_assert_geq(c.out_fd, 0, "output still on");
	console_close(&c);
	close(r);
}

Test(console, aborted_write_gives_up_when_interrupted)
{
	struct blocked_writer bw;
	struct console c;
	int r;

	r = start_blocked_writer(&c, &bw);
	/* Regression: the writer retried EINTR forever, so a stuck reader
	 * kept the vCPU thread, and vm_run(), from ever returning. */
	console_abort_writes();
	cr_assert(kick_until_done(&bw, 2000),
		  "the blocked write ignored console_abort_writes()");
	pthread_join(bw.thread, NULL);
	console_close(&c);
	close(r);
}
