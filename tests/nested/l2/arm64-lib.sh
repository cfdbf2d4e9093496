# shellcheck shell=sh
# shellcheck disable=SC3043,SC3028 # busybox ash: local, EPOCHREALTIME
# Helpers for the scripts that run L2 guests inside the nested arm64 L1
# (tools/nest arm64), where the shell is L1's busybox sh (the host's bash
# is an x86 binary and does not run there): the arm64 counterpart of
# tests/nested/l2/lib.sh, for tests/nested/arm64-linux.sh, arm64-pci.sh,
# tests/nested/arm64-uboot.sh and bench/linux-boot-arm64. Source it:
#
#   . "$here/l2/arm64-lib.sh"
#
# Functions:
#   elapsed A B             seconds (2 decimals) between two $EPOCHREALTIME
#   wait_for FILE RE SECS [PID]
#                           wait until FILE has a line matching the
#                           extended regexp RE (0), SECS passed (1) or the
#                           process PID ended without it (2)
#   count_in FILE RE        lines of FILE matching RE (0 if none)
#   panic_line FILE         the guest's panic message, if any
#   watch_guest PID OUT SECS
#                           wait for PID (a VMM whose stdout is OUT), at
#                           most SECS seconds, then SIGTERM, 2 s later
#                           SIGKILL; sets watch_result to "" (exited by
#                           itself), "timeout" or "panic: LINE" (the guest
#                           panicked: stopped at once)
#   allowed_klog            filter: kernel messages (level 0-4) without
#                           those known to say nothing about the VMM
#   fail MSG                print "  FAIL: MSG" and set case_ok=0
#   field KEY FILE          the value of FILE's first "KEY: VALUE" line
#   check_klog OUT          fail with the guest's kernel warnings and
#                           errors (OUT's "klog:" lines) allowed_klog keeps
#   check_addr_ping OUT N   fail unless the guest's eth0 had 10.0.2.15/24
#                           and N of its N pings were answered (OUT's
#                           net-addr and net-ping lines)
#
# The nested arm64 L1 is single-threaded TCG (docs/nested.md): nothing here
# asserts timings.

elapsed() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'
}

wait_for() {
	local file="$1" re="$2" secs="$3" pid="${4:-}" t=0
	while [ "$t" -lt $((secs * 5)) ]; do
		if tr -d '\r' <"$file" 2>/dev/null | grep -Eq -- "$re"; then
			return 0
		fi
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			tr -d '\r' <"$file" 2>/dev/null | grep -Eq -- "$re" && return 0
			return 2
		fi
		sleep 0.2
		t=$((t + 1))
	done
	return 1
}

count_in() {
	local n
	n=$(tr -d '\r' <"$1" 2>/dev/null | grep -Ec -- "$2") || true
	echo "${n:-0}"
}

panic_line() {
	tr -d '\r' <"$1" 2>/dev/null |
		grep -a -m1 -E 'Kernel panic - not syncing|Internal error: Oops|Unable to handle kernel' || true
}

watch_guest() {
	local pid="$1" out="$2" secs="$3" t=0 p
	watch_result=
	while kill -0 "$pid" 2>/dev/null; do
		if [ "$t" -ge $((secs * 2)) ]; then
			watch_result=timeout
			break
		fi
		p=$(panic_line "$out")
		if [ -n "$p" ]; then
			watch_result="panic: $(echo "$p" | cut -c1-100)"
			sleep 1
			break
		fi
		sleep 0.5
		t=$((t + 1))
	done
	if [ -n "$watch_result" ]; then
		kill -TERM "$pid" 2>/dev/null
		t=0
		while kill -0 "$pid" 2>/dev/null && [ $t -lt 10 ]; do
			sleep 0.2
			t=$((t + 1))
		done
		kill -KILL "$pid" 2>/dev/null
	fi
	return 0
}

# Kernel messages of level 0-4 (the init's "klog:" lines, without the
# prefix) that say nothing about the VMM, each with the reason:
# - "pci-host-generic ...: Memory resource size exceeds max for 32 bits":
#   QEMU's virt PCIe window (QEMU only; ours has no PCI host).
# - "hrtimer: interrupt took N ns": an interrupt handler ran for
#   milliseconds, as everything does under emulation.
# - "cacheinfo: Unable to detect cache hierarchy": no cache description
#   in the DTB or the CPU's ID registers (TCG's emulated CPUs).
# - "CPU features: SANITY CHECK: Unexpected variation in ...": vCPUs that
#   TCG presents with different ID register values (the kernel warns, the
#   taint says nothing about the VMM).
allowed_klog() {
	grep -vE 'Memory resource size exceeds max for 32 bits|hrtimer: interrupt took [0-9]+ ns|Unable to detect cache hierarchy|SANITY CHECK: Unexpected variation|Unsupported CPU feature variation detected' || true
}

fail() {
	echo "  FAIL: $*"
	# shellcheck disable=SC2034 # the caller's
	case_ok=0
}

field() {
	tr -d '\r' <"$2" | sed -n "s/^$1: //p" | head -n 1
}

check_klog() {
	local bad
	bad=$(tr -d '\r' <"$1" | sed -n 's/^klog: <[0-9]>\[ *[0-9.]*\] //p' | allowed_klog)
	if [ -n "$bad" ]; then
		fail "unexpected kernel warnings or errors:"
		echo "$bad" | sed 's/^/    /'
	fi
}

check_addr_ping() {
	local v
	v=$(field net-addr "$1")
	[ "$v" = "eth0 10.0.2.15/24" ] || fail "net-addr: '$v'"
	v=$(field net-ping "$1")
	case $v in
	"$2 packets transmitted, $2 packets received"*) ;;
	*) fail "net-ping: '$v' (want $2 of $2 answered)" ;;
	esac
}
