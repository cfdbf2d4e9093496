/* SPDX-License-Identifier: MIT */
/*
 * launch: run one command and measure it, for bench/run.
 *
 *   launch [options] -- COMMAND [ARG...]
 *
 * Times (CLOCK_MONOTONIC, milliseconds from the child's execve):
 *   t_first_byte  the first byte on the child's stdout reached us
 *   t_marker      the read that delivered the first byte of the first
 *                 occurrence of --marker reached us
 *   t_exit        the child's main thread entered exit (ptrace exit stop;
 *                 equals t_end without the exit snapshot)
 *   t_end         the child was reaped, minus the time we held it in the
 *                 exit stop
 *
 * Memory (kB, from /proc/PID/smaps, sampled every --sample-us while the
 * child runs and once more in its exit stop, when its address space is
 * complete and final):
 *   peak_overhead  max over samples of Rss(all) - Rss(guest RAM)
 *   peak_overhead_anon  the same with Anonymous (heap, stacks, private
 *                  dirty pages: memory this process alone costs; the rest
 *                  of Rss is file pages such as shared libraries)
 *   guest_ram_rss  max over samples of Rss(guest RAM); guest RAM is every
 *                  mapping whose size equals --guest-ram exactly
 *   maxrss         ru_maxrss from wait4 (includes guest RAM touched)
 *
 * Why a ptrace exit stop: a short-lived process (a few milliseconds) may
 * exit between two samples; stopping its main thread at PTRACE_EVENT_EXIT
 * lets us read smaps before the kernel tears the address space down.
 * Only the main thread is traced, and only exit and signal stops happen,
 * so the child runs untouched until it exits.
 *
 * Output: one line, JSON (default) or CSV (--format csv, --header for the
 * column names). Exit status: 0 if the measurement worked (whatever the
 * child did), 2 on a usage error, 1 on a host error.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MARKER_MAX 256
#define SMAPS_BUF  (1024 * 1024)

struct opts {
	const char *marker;
	const char *label;
	const char *stdin_path;
	const char *stdout_path;
	const char *stderr_path;
	uint64_t guest_ram;
	long sample_us;
	double timeout_s;
	bool snapshot;
	bool csv;
	bool header;
	char **argv;
};

/* Written by the child just before execve, read by the parent. */
struct shared {
	int64_t t_exec_ns;
	int exec_errno;
};

struct sample {
	uint64_t rss_kb;
	uint64_t anon_kb;
	uint64_t ram_rss_kb;
	uint64_t ram_anon_kb;
	unsigned int ram_maps;
};

struct result {
	const char *status;
	int exit_code;
	int signal;
	int64_t t_first_byte;
	int64_t t_marker;
	int64_t t_exit;
	int64_t t_end;
	int64_t held_ns;
	uint64_t peak_rss_kb;
	uint64_t peak_overhead_kb;
	uint64_t peak_overhead_anon_kb;
	uint64_t ram_rss_kb;
	unsigned int ram_maps;
	long maxrss_kb;
	unsigned long samples;
	bool exit_snapshot;
	uint64_t stdout_bytes;
};

/* Streaming search for the marker; remembers when each byte arrived. */
struct matcher {
	const char *needle;
	size_t len;
	char win[MARKER_MAX];
	int64_t ts[MARKER_MAX];
	size_t head;
	size_t fill;
	bool found;
};

static char *smaps_buf;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: launch [options] -- COMMAND [ARG...]\n"
		   "  --marker STR       time the first occurrence of STR on "
		   "stdout\n"
		   "  --guest-ram SIZE   guest RAM size (K/M/G); mappings of "
		   "exactly this\n"
		   "                     size are not counted as overhead\n"
		   "  --sample-us N      smaps sampling period, 0 = off "
		   "(default 1000)\n"
		   "  --no-exit-snapshot do not ptrace the child to read smaps "
		   "at exit\n"
		   "  --timeout SEC      kill the child after SEC seconds "
		   "(default 120)\n"
		   "  --stdin FILE       child's stdin (default /dev/null)\n"
		   "  --stdout FILE      copy the child's stdout to FILE\n"
		   "  --stderr FILE      child's stderr (default: inherited)\n"
		   "  --label STR        label written to the output line\n"
		   "  --format json|csv  output format (default json)\n"
		   "  --header           print the CSV column names first\n");
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k':
	case 'K':
		v <<= 10;
		end++;
		break;
	case 'm':
	case 'M':
		v <<= 20;
		end++;
		break;
	case 'g':
	case 'G':
		v <<= 30;
		end++;
		break;
	}
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	int i;

	o->stdin_path = "/dev/null";
	o->sample_us = 1000;
	o->timeout_s = 120;
	o->snapshot = true;
	o->label = "";
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--")) {
			i++;
			break;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			exit(0);
		} else if (!strcmp(a, "--no-exit-snapshot")) {
			o->snapshot = false;
			continue;
		} else if (!strcmp(a, "--header")) {
			o->header = true;
			continue;
		}
		if (!v) {
			fprintf(stderr, "launch: %s needs a value\n", a);
			return -EINVAL;
		}
		i++;
		if (!strcmp(a, "--marker")) {
			if (!*v || strlen(v) > MARKER_MAX) {
				fprintf(stderr,
					"launch: marker must be 1..%d "
					"bytes\n",
					MARKER_MAX);
				return -EINVAL;
			}
			o->marker = v;
		} else if (!strcmp(a, "--guest-ram")) {
			if (parse_size(v, &o->guest_ram)) {
				fprintf(stderr, "launch: bad size '%s'\n", v);
				return -EINVAL;
			}
		} else if (!strcmp(a, "--sample-us")) {
			o->sample_us = strtol(v, NULL, 0);
			if (o->sample_us < 0)
				o->sample_us = 0;
		} else if (!strcmp(a, "--timeout")) {
			o->timeout_s = strtod(v, NULL);
			if (o->timeout_s <= 0) {
				fprintf(stderr, "launch: bad timeout '%s'\n",
					v);
				return -EINVAL;
			}
		} else if (!strcmp(a, "--stdin")) {
			o->stdin_path = v;
		} else if (!strcmp(a, "--stdout")) {
			o->stdout_path = v;
		} else if (!strcmp(a, "--stderr")) {
			o->stderr_path = v;
		} else if (!strcmp(a, "--label")) {
			o->label = v;
		} else if (!strcmp(a, "--format")) {
			if (!strcmp(v, "csv")) {
				o->csv = true;
			} else if (!strcmp(v, "json")) {
				o->csv = false;
			} else {
				fprintf(stderr, "launch: bad format '%s'\n", v);
				return -EINVAL;
			}
		} else {
			fprintf(stderr, "launch: unknown option '%s'\n", a);
			return -EINVAL;
		}
	}
	if (i >= argc) {
		if (o->header && o->csv)
			return 0;
		fprintf(stderr, "launch: no command given\n");
		return -EINVAL;
	}
	o->argv = &argv[i];
	return 0;
}

static void matcher_feed(struct matcher *m, const char *buf, size_t n,
			 int64_t ts)
{
	size_t i, j;

	for (i = 0; i < n && !m->found; i++) {
		m->win[m->head] = buf[i];
		m->ts[m->head] = ts;
		m->head = (m->head + 1) % m->len;
		if (m->fill < m->len)
			m->fill++;
		if (m->fill < m->len)
			continue;
		/* The oldest byte sits at head once the window is full. */
		for (j = 0; j < m->len; j++)
			if (m->win[(m->head + j) % m->len] != m->needle[j])
				break;
		if (j == m->len)
			m->found = true;
	}
}

static int64_t matcher_time(const struct matcher *m)
{
	return m->ts[m->head];
}

/* Parses "Name:   123 kB" when the line starts with name. */
static bool field(const char *line, const char *name, uint64_t *kb)
{
	size_t n = strlen(name);

	if (strncmp(line, name, n))
		return false;
	*kb = strtoull(line + n, NULL, 10);
	return true;
}

/* Reads /proc/PID/smaps; returns 0, or -errno (the process may be gone). */
static int sample_smaps(pid_t pid, uint64_t guest_ram, struct sample *s)
{
	char path[64];
	size_t len = 0;
	ssize_t n;
	int fd;
	char *p, *q, *end;
	bool in_ram = false;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (len < SMAPS_BUF - 1) {
		n = read(fd, smaps_buf + len, SMAPS_BUF - 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	smaps_buf[len] = '\0';

	memset(s, 0, sizeof(*s));
	for (p = smaps_buf; p < smaps_buf + len; p = end + 1) {
		uint64_t a, b, kb;

		end = memchr(p, '\n', (size_t)(smaps_buf + len - p));
		if (!end)
			end = smaps_buf + len;
		*end = '\0';
		/* Mapping headers start with the address, fields with a
		 * capitalised name. (No sscanf here: glibc's runs strlen
		 * over the rest of the buffer on every call.) */
		if (isxdigit((unsigned char)*p) &&
		    !isupper((unsigned char)*p)) {
			a = strtoull(p, &q, 16);
			if (*q != '-')
				continue;
			b = strtoull(q + 1, NULL, 16);
			in_ram = guest_ram && b - a == guest_ram;
			if (in_ram)
				s->ram_maps++;
			continue;
		}
		if (field(p, "Rss:", &kb)) {
			s->rss_kb += kb;
			if (in_ram)
				s->ram_rss_kb += kb;
		} else if (field(p, "Anonymous:", &kb)) {
			s->anon_kb += kb;
			if (in_ram)
				s->ram_anon_kb += kb;
		}
	}
	return s->rss_kb ? 0 : -ESRCH;
}

static void take_sample(pid_t pid, const struct opts *o, struct result *r)
{
	struct sample s = { 0 };
	uint64_t over, over_anon;

	if (sample_smaps(pid, o->guest_ram, &s))
		return;
	r->samples++;
	over = s.rss_kb - s.ram_rss_kb;
	over_anon = s.anon_kb - s.ram_anon_kb;
	if (s.rss_kb > r->peak_rss_kb)
		r->peak_rss_kb = s.rss_kb;
	if (over > r->peak_overhead_kb)
		r->peak_overhead_kb = over;
	if (s.ram_rss_kb > r->ram_rss_kb)
		r->ram_rss_kb = s.ram_rss_kb;
	if (over_anon > r->peak_overhead_anon_kb)
		r->peak_overhead_anon_kb = over_anon;
	if (s.ram_maps > r->ram_maps)
		r->ram_maps = s.ram_maps;
}

static int open_or_die(const char *path, int flags)
{
	int fd = open(path, flags, 0644);

	if (fd < 0) {
		fprintf(stderr, "launch: %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	return fd;
}

static void child(const struct opts *o, int out_w, int sync_r,
		  struct shared *sh, const sigset_t *oldmask)
{
	char c;
	int fd;

	setpgid(0, 0);
	fd = open_or_die(o->stdin_path, O_RDONLY);
	dup2(fd, 0);
	close(fd);
	dup2(out_w, 1);
	close(out_w);
	if (o->stderr_path) {
		fd = open_or_die(o->stderr_path,
				 O_WRONLY | O_CREAT | O_TRUNC | O_APPEND);
		dup2(fd, 2);
		close(fd);
	}
	sigprocmask(SIG_SETMASK, oldmask, NULL);
	/* Wait until the parent has attached (or given up on it). */
	while (read(sync_r, &c, 1) < 0 && errno == EINTR)
		;
	close(sync_r);
	sh->t_exec_ns = now_ns();
	execvp(o->argv[0], o->argv);
	sh->exec_errno = errno;
	_exit(127);
}

static double ms(int64_t t, int64_t t0)
{
	return (double)(t - t0) / 1e6;
}

static void put_time(bool csv, const char *key, int64_t t, int64_t t0,
		     bool last)
{
	if (csv) {
		if (t >= 0)
			printf("%.3f", ms(t, t0));
	} else if (t >= 0) {
		printf("\"%s\":%.3f", key, ms(t, t0));
	} else {
		printf("\"%s\":null", key);
	}
	putchar(last ? '\n' : ',');
}

static void put_label(const char *s)
{
	/* Labels come from our own scripts; keep them out of the way of
	 * CSV and JSON quoting anyway. */
	for (; *s; s++)
		putchar(*s == ',' || *s == '"' || *s == '\\' ? '_' : *s);
}

static void print_header(void)
{
	printf("label,status,exit_code,signal,t_first_byte_ms,t_marker_ms,"
	       "t_exit_ms,t_end_ms,peak_rss_kb,peak_overhead_kb,"
	       "peak_overhead_anon_kb,guest_ram_rss_kb,guest_ram_maps,"
	       "maxrss_kb,samples,exit_snapshot,stdout_bytes\n");
}

static void print_result(const struct opts *o, const struct result *r,
			 int64_t t0)
{
	bool c = o->csv;

	if (c) {
		put_label(o->label);
		printf(",%s,", r->status);
		if (r->exit_code >= 0)
			printf("%d", r->exit_code);
		printf(",");
		if (r->signal > 0)
			printf("%d", r->signal);
		printf(",");
	} else {
		printf("{\"label\":\"");
		put_label(o->label);
		printf("\",\"status\":\"%s\",", r->status);
		if (r->exit_code >= 0)
			printf("\"exit_code\":%d,", r->exit_code);
		else
			printf("\"exit_code\":null,");
		if (r->signal > 0)
			printf("\"signal\":%d,", r->signal);
		else
			printf("\"signal\":null,");
	}
	put_time(c, "t_first_byte_ms", r->t_first_byte, t0, false);
	put_time(c, "t_marker_ms", r->t_marker, t0, false);
	put_time(c, "t_exit_ms", r->t_exit, t0, false);
	put_time(c, "t_end_ms", r->t_end, t0, false);
	if (c)
		printf("%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
		       ",%u,%ld,%lu,%d,%" PRIu64 "\n",
		       r->peak_rss_kb, r->peak_overhead_kb,
		       r->peak_overhead_anon_kb, r->ram_rss_kb, r->ram_maps,
		       r->maxrss_kb, r->samples, r->exit_snapshot ? 1 : 0,
		       r->stdout_bytes);
	else
		printf("\"peak_rss_kb\":%" PRIu64
		       ",\"peak_overhead_kb\":%" PRIu64
		       ",\"peak_overhead_anon_kb\":%" PRIu64
		       ",\"guest_ram_rss_kb\":%" PRIu64
		       ",\"guest_ram_maps\":%u,\"maxrss_kb\":%ld"
		       ",\"samples\":%lu,\"exit_snapshot\":%s"
		       ",\"stdout_bytes\":%" PRIu64 "}\n",
		       r->peak_rss_kb, r->peak_overhead_kb,
		       r->peak_overhead_anon_kb, r->ram_rss_kb, r->ram_maps,
		       r->maxrss_kb, r->samples,
		       r->exit_snapshot ? "true" : "false", r->stdout_bytes);
}

/* Handles every pending wait status; returns true once the child is
 * reaped. */
static bool reap(pid_t pid, const struct opts *o, struct result *r)
{
	for (;;) {
		struct rusage ru;
		int status;
		pid_t w = wait4(pid, &status, WNOHANG | __WALL, &ru);
		int64_t now = now_ns();

		if (w <= 0)
			return false;
		if (WIFSTOPPED(status)) {
			int sig = WSTOPSIG(status);
			int event = status >> 16;

			if (event == PTRACE_EVENT_EXIT) {
				r->t_exit = now;
				take_sample(pid, o, r);
				r->exit_snapshot = true;
				r->held_ns += now_ns() - now;
				ptrace(PTRACE_CONT, pid, 0, 0);
			} else if (event) {
				/* group stop (PTRACE_SEIZE): let it go */
				ptrace(PTRACE_CONT, pid, 0, 0);
			} else {
				/* signal-delivery stop: deliver it */
				ptrace(PTRACE_CONT, pid, 0, sig);
			}
			continue;
		}
		r->t_end = now - r->held_ns;
		if (r->t_exit < 0)
			r->t_exit = r->t_end;
		r->maxrss_kb = ru.ru_maxrss;
		if (WIFEXITED(status)) {
			r->exit_code = WEXITSTATUS(status);
			if (strcmp(r->status, "timeout"))
				r->status = "exited";
		} else if (WIFSIGNALED(status)) {
			r->signal = WTERMSIG(status);
			if (strcmp(r->status, "timeout"))
				r->status = "signaled";
		}
		return true;
	}
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct result r = { .status = "running",
			    .exit_code = -1,
			    .t_first_byte = -1,
			    .t_marker = -1,
			    .t_exit = -1,
			    .t_end = -1 };
	struct matcher m = { 0 };
	struct shared *sh;
	sigset_t mask, oldmask;
	int out[2], sync[2], ex[2], sfd, copy_fd = -1;
	int64_t deadline, next_sample, reaped_at = -1;
	bool reaped = false, execed = false;
	pid_t pid;
	char buf[65536];

	if (parse_args(argc, argv, &o)) {
		usage(stderr);
		return 2;
	}
	if (o.header && o.csv)
		print_header();
	if (!o.argv)
		return 0;
	if (o.marker) {
		m.needle = o.marker;
		m.len = strlen(o.marker);
	}
	smaps_buf = malloc(SMAPS_BUF);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!smaps_buf || sh == MAP_FAILED) {
		perror("launch: memory");
		return 1;
	}
	if (o.stdout_path) {
		copy_fd = open(o.stdout_path,
			       O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (copy_fd < 0) {
			fprintf(stderr, "launch: %s: %s\n", o.stdout_path,
				strerror(errno));
			return 1;
		}
	}
	/* ex: the child holds its write end until execve closes it, so EOF
	 * on ex[0] says the command runs (or the child died); only then is
	 * /proc/PID/smaps the command's and not our forked copy's. */
	if (pipe2(out, O_CLOEXEC) || pipe2(sync, O_CLOEXEC) ||
	    pipe2(ex, O_CLOEXEC)) {
		perror("launch: pipe");
		return 1;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, &oldmask);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		perror("launch: signalfd");
		return 1;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("launch: fork");
		return 1;
	}
	if (pid == 0) {
		close(out[0]);
		close(sync[1]);
		close(ex[0]);
		child(&o, out[1], sync[0], sh, &oldmask);
	}
	close(out[1]);
	close(sync[0]);
	close(ex[1]);
	setpgid(pid, pid);
	if (o.snapshot && ptrace(PTRACE_SEIZE, pid, 0,
				 PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL)) {
		fprintf(stderr, "launch: ptrace: %s (no exit snapshot)\n",
			strerror(errno));
		o.snapshot = false;
	}
	if (write(sync[1], "", 1) != 1) {
		perror("launch: sync");
		return 1;
	}
	close(sync[1]);

	deadline = now_ns() + (int64_t)(o.timeout_s * 1e9);
	next_sample = o.sample_us ? now_ns() : INT64_MAX;
	while (!reaped || out[0] >= 0) {
		struct pollfd pfd[3] = { { .fd = sfd, .events = POLLIN },
					 { .fd = out[0], .events = POLLIN },
					 { .fd = ex[0], .events = POLLIN } };
		int64_t now = now_ns(), wake = deadline;
		struct timespec tmo;

		if (!reaped && execed && next_sample < wake)
			wake = next_sample;
		if (reaped) /* only draining stdout now */
			wake = reaped_at + 2000000000LL;
		if (wake < now)
			wake = now;
		tmo.tv_sec = (wake - now) / 1000000000;
		tmo.tv_nsec = (wake - now) % 1000000000;
		if (ppoll(pfd, 3, &tmo, NULL) < 0 && errno != EINTR) {
			perror("launch: ppoll");
			break;
		}
		now = now_ns();
		if (pfd[1].revents) {
			ssize_t n = read(out[0], buf, sizeof(buf));

			if (n > 0) {
				if (r.t_first_byte < 0)
					r.t_first_byte = now;
				r.stdout_bytes += (uint64_t)n;
				if (o.marker && !m.found) {
					matcher_feed(&m, buf, (size_t)n, now);
					if (m.found)
						r.t_marker = matcher_time(&m);
				}
				if (copy_fd >= 0 &&
				    write(copy_fd, buf, (size_t)n) != n)
					perror("launch: stdout copy");
			} else if (n == 0 || errno != EINTR) {
				close(out[0]);
				out[0] = -1;
			}
		}
		if (pfd[2].revents) {
			close(ex[0]);
			ex[0] = -1;
			execed = true;
			if (o.sample_us)
				next_sample = now;
		}
		if (pfd[0].revents) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) > 0)
				;
		}
		if (!reaped && reap(pid, &o, &r)) {
			reaped = true;
			reaped_at = now_ns();
			continue;
		}
		if (reaped) {
			if (now >= reaped_at + 2000000000LL && out[0] >= 0) {
				/* something else holds the pipe open */
				close(out[0]);
				out[0] = -1;
			}
			continue;
		}
		if (execed && now >= next_sample) {
			take_sample(pid, &o, &r);
			next_sample = now_ns() + o.sample_us * 1000;
		}
		if (now >= deadline && strcmp(r.status, "timeout")) {
			r.status = "timeout";
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
		}
	}
	if (sh->exec_errno) {
		fprintf(stderr, "launch: %s: %s\n", o.argv[0],
			strerror(sh->exec_errno));
		r.status = "execfail";
	}
	print_result(&o, &r, sh->t_exec_ns);
	return 0;
}
