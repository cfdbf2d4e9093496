// SPDX-License-Identifier: MIT
/*
 * qemu-user-exec.so: an LD_PRELOAD helper that lets cross-built programs
 * re-exec themselves (or any other program of their own architecture)
 * under qemu-user on a host without binfmt_misc.
 *
 * Why: Criterion runs every test in a worker process made by BoxFort, which
 * forks and then execl()s readlink("/proc/self/exe") as "boxfort-worker".
 * Under qemu-user that path is the aarch64 test binary, and without a
 * binfmt_misc entry the host kernel refuses it with ENOEXEC; BoxFort then
 * reports "Could not spawn test instance: Protocol error" and aborts. No
 * Criterion option avoids the re-exec (--jobs, --debug and friends all
 * spawn workers the same way).
 *
 * What: when the environment variable VMM_QEMU_USER names the qemu-user
 * binary (cmake/toolchain-aarch64.cmake sets it in the test emulator
 * command), execve/execv/execl of an ELF file built for this program's own
 * machine become an exec of
 *     $VMM_QEMU_USER -0 argv[0] path argv[1] ...
 * The process keeps its pid (BoxFort relies on it) and its environment, so
 * the worker is itself emulated and preloads this helper again. Without
 * VMM_QEMU_USER (e.g. natively inside the arm64 nested machine) every call
 * is passed through unchanged.
 *
 * Built by tools/arm64-sysroot.sh with the cross compiler; never linked
 * into the project's own binaries.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__aarch64__)
#define SELF_MACHINE EM_AARCH64
#elif defined(__x86_64__)
#define SELF_MACHINE EM_X86_64
#else
#error "qemu-user-exec: unknown machine"
#endif

/* Upper bound for execl() argument lists gathered on the stack. */
#define MAX_ARGS 4096

extern char **environ;

static int raw_execve(const char *path, char *const argv[], char *const envp[])
{
	return (int)syscall(SYS_execve, path, argv, envp);
}

/* True when path is an ELF executable for this (emulated) machine. */
static int needs_emulator(const char *path)
{
	Elf64_Ehdr eh;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, &eh, sizeof(eh));
	close(fd);
	if (n != (ssize_t)sizeof(eh))
		return 0;
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
		return 0;
	return eh.e_machine == SELF_MACHINE;
}

int execve(const char *path, char *const argv[], char *const envp[])
{
	const char *qemu = getenv("VMM_QEMU_USER");
	size_t argc = 0, i;
	char **nargv;

	if (!qemu || !*qemu || !needs_emulator(path))
		return raw_execve(path, argv, envp);

	while (argv[argc])
		argc++;
	/* qemu -0 argv0 path argv[1..] NULL */
	nargv = calloc(argc + 5, sizeof(*nargv));
	if (!nargv) {
		errno = ENOMEM;
		return -1;
	}
	nargv[0] = (char *)qemu;
	nargv[1] = "-0";
	nargv[2] = argc ? argv[0] : (char *)path;
	nargv[3] = (char *)path;
	for (i = 1; i < argc; i++)
		nargv[3 + i] = argv[i];
	nargv[3 + (argc ? argc : 1)] = NULL;
	raw_execve(qemu, nargv, envp);
	free(nargv);
	return -1;
}

int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

int execl(const char *path, const char *arg, ...)
{
	char *argv[MAX_ARGS];
	size_t argc = 0;
	va_list ap;

	argv[argc++] = (char *)arg;
	va_start(ap, arg);
	while (argv[argc - 1]) {
		if (argc == MAX_ARGS) {
			va_end(ap);
			errno = E2BIG;
			return -1;
		}
		argv[argc++] = va_arg(ap, char *);
	}
	va_end(ap);
	return execve(path, argv, environ);
}
