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
	# shellcheck disable=SC2086
	exec "$src/tools/nest" --cache "$cache" --rw "$cross" \
		--timeout "${NEST_TIMEOUT:-900}" --smp 4 \
		--append "isolcpus=2,3 nohz_full=2,3" \
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

cpu=/sys/devices/system/cpu
echo "L1: $(uname -m), CPUs $(cat $cpu/online) online, isolated" \
	"$(cat $cpu/isolated), nohz_full $(cat $cpu/nohz_full 2>/dev/null)," \
	"kernel $(uname -r)"
[ "$(cat $cpu/isolated)" = 2-3 ] ||
	die "L1 has isolated CPUs '$(cat $cpu/isolated)', expected 2-3"

# ---- 1. vmm check ----
"$vmm" check "$work/rt.cfg" >"$work/check.out" 2>&1 ||
	bad "vmm check exited $?"
sed -n '/^host readiness/,$p' "$work/check.out"
for want in \
	'^  ok    vCPU 0 on host CPU 2: online, allowed, isolated, nohz_full$' \
	'^  ok    vCPU 1 on host CPU 3: online, allowed, isolated, nohz_full$' \
	'^  ok    I/O threads .* on host CPUs 0-1$' \
	'^  ok    vCPU threads SCHED_FIFO priority 80' \
	'^  ok    guest RAM \(64 MiB\) and the VMM.s memory prefaulted and locked'; do
	if grep -qE -- "$want" "$work/check.out"; then
		ok "vmm check: /$want/"
	else
		bad "vmm check has no line /$want/"
	fi
done
grep -qE '^  error' "$work/check.out" && bad "vmm check reports errors"

# ---- 2. the running guest, read back from /proc ----
"$vmm" run "$work/rt.cfg" </dev/null >"$work/lat.out" 2>"$work/lat.err" &
pid=$!
i=0
while [ $i -lt 600 ]; do
	grep -q '^latency: start ' "$work/lat.out" && break
	kill -0 "$pid" 2>/dev/null || die "vmm exited before the guest printed"
	sleep 0.2
	i=$((i + 1))
done
grep '^latency: start ' "$work/lat.out" ||
	die "the latency guest did not print within 120 s"

# One line per thread: TID CPUS LASTCPU POLICY RTPRIO COMM (stat fields
# 39, 41 and 40, counted after the parenthesised comm).
tasks() {
	for t in /proc/"$pid"/task/*; do
		stat=$(cat "$t/stat" 2>/dev/null) || continue
		cpus=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "$t/status")
		echo "${t##*/} $cpus $(echo "${stat##*) }" |
			awk '{ print $37, $39, $38 }') $(cat "$t/comm")"
	done
}
tasks >"$work/tasks"
echo "threads (tid cpus last-cpu policy rtprio comm):"
sed 's/^/  /' "$work/tasks"
# The vCPU threads once more, a moment later: still where they belong.
sleep 1
tasks >"$work/tasks2"

for n in 0 1; do
	want=$((n + 2))
	before=$failures
	for f in "$work/tasks" "$work/tasks2"; do
		# shellcheck disable=SC2046
		set -- $(awk -v c="vcpu$n" '$6 == c' "$f")
		if [ $# -ne 6 ]; then
			bad "no thread vcpu$n"
			continue
		fi
		tid=$1 cpus=$2 last=$3 pol=$4 prio=$5
		[ "$cpus" = "$want" ] || bad "vcpu$n may run on CPUs $cpus, expected $want"
		[ "$last" = "$want" ] || bad "vcpu$n last ran on CPU $last, expected $want"
		[ "$pol" = 1 ] || bad "vcpu$n has policy $pol, expected 1 (SCHED_FIFO)"
		[ "$prio" = 80 ] || bad "vcpu$n has rtprio $prio, expected 80"
	done
	[ "$failures" = "$before" ] &&
		ok "vcpu$n (tid $tid): CPUs $cpus, last ran on $last, policy $pol, rtprio $prio"
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
ok "$others other thread(s) checked for CPUs 0-1 only, SCHED_OTHER"

lck=$(sed -n 's/^VmLck:[[:space:]]*\([0-9]*\) kB/\1/p' /proc/"$pid"/status)
if [ "${lck:-0}" -ge 65536 ]; then
	ok "VmLck ${lck} kB >= 65536 kB of guest RAM"
else
	bad "VmLck is ${lck:-?} kB, expected at least the 64 MiB of guest RAM"
fi

kill -0 "$pid" 2>/dev/null || bad "vmm exited while the checks ran"
kill -TERM "$pid"
st=0
wait "$pid" || st=$?
pid=
[ "$st" = 12 ] || bad "vmm exited $st after SIGTERM, expected 12"
if grep -qE 'cannot|not ready' "$work/lat.err"; then
	bad "vmm stderr: $(cat "$work/lat.err")"
fi

if [ "$failures" -ne 0 ]; then
	echo "arm64-rt: $failures check(s) failed"
	exit 1
fi
echo "arm64-rt: all checks passed"
