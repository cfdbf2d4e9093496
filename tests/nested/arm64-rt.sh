#!/bin/sh
# Real-time partitioning on real arm64 KVM (docs/realtime.md), the arm64
# side of tests/nested/x86_64-rt.sh: inside an arm64 L1 (tools/nest arm64,
# -cpu max) booted with `isolcpus=2,3 nohz_full=2,3` (4 CPUs), a 2-vCPU
# guest with `pin = 2,3`, `sched = fifo:80`, `io-cpus = 0,1`, `mlock = yes`.
#
#   arm64-rt.sh SRC CROSS CACHE
#
# SRC is the source tree, CROSS the arm64 cross build (CROSS/vmm,
# CROSS/guest/arm64/latency.elf), CACHE tools/nest's cache. The host side
# starts one L1 that runs this same file with busybox sh (`--inner`):
#   1. `vmm check` reports both vCPU CPUs online, allowed, isolated and
#      nohz_full, the I/O CPUs, SCHED_FIFO 80 and locked memory as ok.
#   2. The latency guest (guest/arm64/latency, the virtual timer every
#      1 ms on vCPU 0; vCPU 1 stays powered off, but its thread exists
#      from the start, pinned, and waits in KVM_RUN) runs; once it has
#      printed its start line, /proc/PID/task/* says: vcpuN may run only
#      on its CPU (Cpus_allowed_list) and last ran there (stat field 39),
#      with SCHED_FIFO (field 41 = 1) priority 80 (field 40); every other
#      thread may run on 0-1 only, is SCHED_OTHER and ran there; VmLck
#      covers the guest RAM. Then SIGTERM (exit status 12).
# L1 is TCG: latency values are not checked (x86_64-rt.sh and
# arm64-guests.sh check the report). Environment: NEST_OPTIONS, extra
# tools/nest options (e.g. "-v"); NEST_TIMEOUT, seconds (default 900).
#
# POSIX sh only: inside L1 there is busybox, no bash.
set -u

if [ "${1:-}" != --inner ]; then
	if [ $# -lt 3 ]; then
		echo "usage: $0 SRC CROSS CACHE" >&2
		exit 2
	fi
	src=$(cd "$1" && pwd) cross=$(cd "$2" && pwd) cache=$3
	for f in "$cross/vmm" "$cross/guest/arm64/latency.elf"; do
		if [ ! -e "$f" ]; then
			echo "arm64-rt: $f missing (build $cross first)" >&2
			exit 1
		fi
	done
	self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
	# ARM64_RT_VM goes into L1's environment too.
	set --
	[ -z "${ARM64_RT_VM+set}" ] || set -- --env "ARM64_RT_VM=$ARM64_RT_VM"
	# shellcheck disable=SC2086
	exec "$src/tools/nest" --cache "$cache" --rw "$cross" \
		--timeout "${NEST_TIMEOUT:-900}" --smp 4 \
		--append "isolcpus=2,3 nohz_full=2,3" "$@" \
		${NEST_OPTIONS:-} arm64 -- sh "$self" --inner "$src" "$cross"
fi

# ---- inside L1 ----
cross=$3
vmm=$cross/vmm
img=$cross/guest/arm64
work=/tmp/arm64-rt
rm -rf "$work"
mkdir -p "$work"
pid=
failures=0

cleanup() {
	if [ -n "$pid" ]; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
}
trap cleanup EXIT

# shellcheck source=rt-lib.sh
. "$2/tests/nested/rt-lib.sh"

# The real-time guest: 2 vCPUs pinned to the isolated CPUs, the latency
# guest with enough samples to run for a minute (stopped with SIGTERM once
# looked at). ARM64_RT_VM replaces the [vm] placement keys (to check that
# the checks below can fail).
cat >"$work/rt.cfg" <<EOF
[vm]
name = rt-arm64
vcpus = 2
${ARM64_RT_VM:-pin = 2,3
sched = fifo:80
io-cpus = 0,1
mlock = yes}
timeout = 300s

[memory "ram"]
base = 0x40000000
size = 64M

[boot]
format = elf
image = $img/latency.elf
cmdline = period_us=1000 samples=60000

[device "uart0"]
type = pl011
EOF

rt_l1_isolated

# ---- 1. vmm check ----
"$vmm" check "$work/rt.cfg" >"$work/check.out" 2>&1 ||
	bad "vmm check exited $?"
rt_check_report "$work/check.out" 64

# ---- 2. the running guest, read back from /proc ----
"$vmm" run "$work/rt.cfg" </dev/null >"$work/lat.out" 2>"$work/lat.err" &
pid=$!
rt_wait_for "$work/lat.out" '^latency: start ' "the latency guest"
grep '^latency: start ' "$work/lat.out"
rt_threads
rt_vmlck 64
rt_stop "$work/lat.err"

if [ "$failures" -ne 0 ]; then
	echo "arm64-rt: $failures check(s) failed"
	exit 1
fi
echo "arm64-rt: all checks passed"
