#!/usr/bin/env bash
# Real-time partitioning on real KVM (docs/realtime.md): inside an x86_64
# L1 booted with `isolcpus=2,3 nohz_full=2,3` (4 CPUs), a 2-vCPU guest
# with `pin = 2,3`, `sched = fifo:80`, `io-cpus = 0,1`, `mlock = yes`.
#
#   x86_64-rt.sh BUILD
#
# Inside L1:
#   1. `vmm check` reports both vCPU CPUs online, allowed, isolated and
#      nohz_full, the I/O CPUs, SCHED_FIFO 80 and locked memory as ok.
#   2. The demo guest (guest/x86/demo, 60 s of periodic tasks) runs; once
#      it prints, /proc/PID/task/* says: vcpuN may run only on its CPU
#      (Cpus_allowed_list) and last ran there (stat field 39), with
#      SCHED_FIFO (field 41 = 1) priority 80 (field 40); every other
#      thread may run on 0-1 only, is SCHED_OTHER and ran there; VmLck
#      covers the guest RAM. Then SIGTERM (exit status 12).
#   3. The latency guest (guest/x86/latency) with the same placement runs
#      to the end and prints a consistent report.
# Environment: NEST_OPTIONS, extra tools/nest options; NEST_TIMEOUT,
# seconds (default 600).
set -euo pipefail

build=$(cd "${1:?usage: x86_64-rt.sh BUILD}" && pwd)
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

if [ "${NEST_RT_INNER:-}" != 1 ]; then
	# shellcheck disable=SC2086
	exec "$src/tools/nest" --cache "$build/nest-cache" \
		--timeout "${NEST_TIMEOUT:-600}" --smp 4 \
		--append "isolcpus=2,3 nohz_full=2,3" --env NEST_RT_INNER=1 \
		${NEST_OPTIONS:-} x86_64 -- "$src/tests/nested/x86_64-rt.sh" \
		"$build"
fi

# ---- inside L1 ----
vmm=$build/vmm
guests=$build/guest/x86
work=$(mktemp -d /tmp/x86_64-rt.XXXXXX)
pid=
failures=0

cleanup() {
	if [ -n "$pid" ]; then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=rt-lib.sh
. "$src/tests/nested/rt-lib.sh"
# shellcheck source=../integration/lib.sh
. "$src/tests/integration/lib.sh"

# cfg NAME IMAGE CMDLINE: the real-time guest config, printed path.
cfg() {
	pc_cfg "$1" "vcpus = 2
pin = 2,3
sched = fifo:80
io-cpus = 0,1
mlock = yes
timeout = 300s" "format = multiboot
image = $guests/$2
cmdline = $3" rtc >"$work/$1.cfg"
	echo "$work/$1.cfg"
}

rt_l1_isolated
for g in demo.elf latency.elf; do
	[ -f "$guests/$g" ] || die "guest $guests/$g was not built"
done

# ---- 1. vmm check ----
c=$(cfg rtdemo demo.elf run=60000)
"$vmm" check "$c" >"$work/check.out" 2>&1 ||
	die "vmm check exited $?: $(cat "$work/check.out")"
rt_check_report "$work/check.out" 32

# ---- 2. the running guest, read back from /proc ----
"$vmm" run "$c" </dev/null >"$work/demo.out" 2>"$work/demo.err" &
pid=$!
rt_wait_for "$work/demo.out" 'sensor +#2 ' "the demo guest"
rt_threads
if command -v chrt >/dev/null; then
	for n in 0 1; do
		read -r tid _ <<<"$(awk -v c="vcpu$n" '$6 == c' "$work/tasks")"
		[ -n "${tid:-}" ] || continue
		echo "  chrt -p $tid: $(chrt -p "$tid" | tr '\n' ' ')"
		chrt -p "$tid" | grep -q 'SCHED_FIFO|SCHED_RESET_ON_FORK' ||
			bad "chrt -p $tid: $(chrt -p "$tid")"
	done
fi
rt_vmlck 32
rt_stop "$work/demo.err"

# ---- 3. the latency guest, same placement ----
c=$(cfg rtlat latency.elf "period_us=1000 samples=2000")
st=0
timeout -k 5 240 "$vmm" run "$c" </dev/null >"$work/lat.out" \
	2>"$work/lat.err" || st=$?
[ "$st" = 0 ] || die "latency guest: vmm exited $st"
grep -E '^latency' "$work/lat.out"
line=$(grep -E '^latency: samples=' "$work/lat.out" | tr -d '\r')
re='^latency: samples=([0-9]+) min=([0-9]+) avg=([0-9]+) p99=([0-9]+) p999=([0-9]+) max=([0-9]+) \(ns\)$'
if [[ $line =~ $re ]]; then
	n=${BASH_REMATCH[1]} min=${BASH_REMATCH[2]} avg=${BASH_REMATCH[3]}
	p99=${BASH_REMATCH[4]} p999=${BASH_REMATCH[5]} max=${BASH_REMATCH[6]}
	if [ "$n" = 2000 ] && [ "$min" -le "$avg" ] && [ "$avg" -le "$max" ] &&
		[ "$min" -le "$p99" ] && [ "$p99" -le "$p999" ] &&
		[ "$p999" -le "$max" ]; then
		ok "latency report consistent"
	else
		bad "latency report inconsistent: $line"
	fi
else
	bad "no latency report line (got '$line')"
fi

if [ "$failures" -ne 0 ]; then
	echo "x86_64-rt: $failures check(s) failed"
	exit 1
fi
echo "x86_64-rt: all checks passed"
