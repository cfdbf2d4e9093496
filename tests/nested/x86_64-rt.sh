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

ok() { echo "ok:   $*"; }
bad() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}
die() {
	echo "FAIL: $*"
	for f in "$work"/*.out "$work"/*.err; do
		[ -s "$f" ] || continue
		echo "---- $f"
		tail -n 20 "$f"
	done
	exit 1
}

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

cpu=/sys/devices/system/cpu
echo "L1: CPUs $(cat $cpu/online) online, isolated $(cat $cpu/isolated)," \
	"nohz_full $(cat $cpu/nohz_full 2>/dev/null), kernel $(uname -r)"
[ "$(cat $cpu/isolated)" = 2-3 ] ||
	die "L1 has isolated CPUs '$(cat $cpu/isolated)', expected 2-3"
for g in demo.elf latency.elf; do
	[ -f "$guests/$g" ] || die "guest $guests/$g was not built"
done

# ---- 1. vmm check ----
c=$(cfg rtdemo demo.elf run=60000)
"$vmm" check "$c" >"$work/check.out" 2>&1 ||
	die "vmm check exited $?: $(cat "$work/check.out")"
sed -n '/^host readiness/,$p' "$work/check.out"
for want in \
	'^  ok    vCPU 0 on host CPU 2: online, allowed, isolated, nohz_full$' \
	'^  ok    vCPU 1 on host CPU 3: online, allowed, isolated, nohz_full$' \
	'^  ok    I/O threads .* on host CPUs 0-1$' \
	'^  ok    vCPU threads SCHED_FIFO priority 80' \
	'^  ok    guest RAM \(32 MiB\) and the VMM.s memory prefaulted and locked'; do
	if grep -qE -- "$want" "$work/check.out"; then
		ok "vmm check: /$want/"
	else
		bad "vmm check has no line /$want/"
	fi
done
grep -qE '^  error' "$work/check.out" && bad "vmm check reports errors"

# ---- 2. the running guest, read back from /proc ----
"$vmm" run "$c" </dev/null >"$work/demo.out" 2>"$work/demo.err" &
pid=$!
for _ in $(seq 600); do
	grep -qE 'sensor +#2 ' "$work/demo.out" && break
	kill -0 "$pid" 2>/dev/null || die "vmm exited before the guest printed"
	sleep 0.2
done
grep -qE 'sensor +#2 ' "$work/demo.out" || die "the demo guest did not print within 120 s"

# One line per thread: TID CPUS LASTCPU POLICY RTPRIO COMM (stat fields
# 39, 41 and 40, counted after the parenthesised comm).
tasks() {
	local t stat f cpus
	for t in /proc/"$pid"/task/*; do
		stat=$(cat "$t/stat" 2>/dev/null) || continue
		read -r -a f <<<"${stat##*) }"
		cpus=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "$t/status")
		echo "${t##*/} $cpus ${f[36]} ${f[38]} ${f[37]} $(cat "$t/comm")"
	done
}
tasks >"$work/tasks"
echo "threads (tid cpus last-cpu policy rtprio comm):"
sed 's/^/  /' "$work/tasks"
# The vCPU threads once more, a moment later: still where they belong.
sleep 1
tasks >"$work/tasks2"

for n in 0 1; do
	cpu=$((n + 2))
	for f in "$work/tasks" "$work/tasks2"; do
		read -r tid cpus last pol prio _ <<<"$(awk -v c="vcpu$n" '$6 == c' "$f")"
		[ -n "${tid:-}" ] || { bad "no thread vcpu$n"; continue; }
		[ "$cpus" = "$cpu" ] || bad "vcpu$n may run on CPUs $cpus, expected $cpu"
		[ "$last" = "$cpu" ] || bad "vcpu$n last ran on CPU $last, expected $cpu"
		[ "$pol" = 1 ] || bad "vcpu$n has policy $pol, expected 1 (SCHED_FIFO)"
		[ "$prio" = 80 ] || bad "vcpu$n has rtprio $prio, expected 80"
	done
	ok "vcpu$n (tid $tid): CPUs $cpus, last ran on $last, policy $pol, rtprio $prio"
	if command -v chrt >/dev/null; then
		echo "  chrt -p $tid: $(chrt -p "$tid" | tr '\n' ' ')"
		chrt -p "$tid" | grep -q 'SCHED_FIFO|SCHED_RESET_ON_FORK' ||
			bad "chrt -p $tid: $(chrt -p "$tid")"
	fi
done
others=0
while read -r tid cpus last pol prio comm; do
	case $comm in vcpu[0-9]*) continue ;; esac
	others=$((others + 1))
	case $cpus in
	0-1 | 0 | 1) ;;
	*) bad "thread $tid ($comm) may run on CPUs $cpus (isolated CPU or outside io-cpus 0,1)" ;;
	esac
	case $last in
	0 | 1) ;;
	*) bad "thread $tid ($comm) last ran on CPU $last, outside io-cpus 0,1" ;;
	esac
	[ "$pol" = 0 ] || bad "thread $tid ($comm) has policy $pol, expected 0 (SCHED_OTHER)"
done <"$work/tasks"
[ "$others" -ge 1 ] || bad "no thread besides the vCPUs"
ok "$others other thread(s) on CPUs 0-1 only, SCHED_OTHER"

lck=$(sed -n 's/^VmLck:[[:space:]]*\([0-9]*\) kB/\1/p' /proc/"$pid"/status)
if [ "${lck:-0}" -ge 32768 ]; then
	ok "VmLck ${lck} kB >= 32768 kB of guest RAM"
else
	bad "VmLck is ${lck:-?} kB, expected at least the 32 MiB of guest RAM"
fi

kill -TERM "$pid"
st=0
wait "$pid" || st=$?
pid=
[ "$st" = 12 ] || bad "vmm exited $st after SIGTERM, expected 12"
if grep -qE 'cannot|not ready' "$work/demo.err"; then
	bad "vmm stderr: $(cat "$work/demo.err")"
fi

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
