#!/usr/bin/env bash
# ivshmem inside the nested x86_64 L1 (real KVM), in ONE tools/nest run.
# ctest: nested/x86_64/ivshmem (label nested-x86_64). See docs/ivshmem.md.
#
#   x86_64-ivshmem.sh BUILD [CASE...]
#
# BUILD is a build tree with vmm, tools/ivshmem-server, tools/ivshmem-tool,
# guest/x86/ivshmem.elf and ivshmem32.elf; its nest-cache holds Debian's
# kernel (tools/nest --prepare x86_64, the nest-x86_64 fixture). CASEs
# (default: all):
#
#   linux-sysfs   Debian's kernel under `vmm run` with `type = ivshmem`,
#                 `mode = plain` on a file in L1's /dev/shm. The L2 init
#                 (tests/nested/l2/ivshmem-init, initramfs of
#                 tests/nested/l2/ivshmem-mkinitrd) finds 1af4:1110 in
#                 /sys/bus/pci/devices, maps BAR2 through resource2, reads
#                 the marker L1 wrote into the file before the boot, writes
#                 its own; L1 finds it in the file; vmm exits 0.
#   qemu-interop  tools/ivshmem-server in L1; QEMU (-accel kvm, -device
#                 ivshmem-doorbell, guest ivshmem32.elf) joins first (peer
#                 ID 0), `vmm run` with ivshmem.elf second (ID 1). QEMU's
#                 guest rings 1:0, ours rings 0:0, each console must show
#                 the other's doorbells; ivshmem-tool then pings both
#                 (doorbell round trips host -> guest -> host); ours ends
#                 on a "quit" message (exit 0). Skipped without
#                 qemu-system-x86_64.
#
# A Linux boot the nested environment breaks (tests/nested/l2/lib.sh) is
# retried, at most MAX_ATTEMPTS (6) times; retries are reported, not failed.
# Logs: BUILD/l2/ivshmem-logs/. Environment: NEST_OPTIONS, NEST_TIMEOUT
# (default 900). Exit status: 0 passed, 1 a case failed, 125 tools/nest
# trouble.
set -euo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
src=$(cd "$here/../.." && pwd)
all_cases=(linux-sysfs qemu-interop)

# ---------------------------------------------------------------------------
# Host side: make the initramfs, then run this script again inside L1.
if [ "${1:-}" != --inner ]; then
	build=$(cd "${1:?usage: x86_64-ivshmem.sh BUILD [CASE...]}" && pwd)
	shift
	for c in "$@"; do
		[[ " ${all_cases[*]} " == *" $c "* ]] ||
			{ echo "x86_64-ivshmem: unknown case $c (${all_cases[*]})" >&2; exit 2; }
	done
	for f in vmm tools/ivshmem-server tools/ivshmem-tool \
		guest/x86/ivshmem.elf guest/x86/ivshmem32.elf; do
		[ -e "$build/$f" ] || { echo "x86_64-ivshmem: no $build/$f" >&2; exit 1; }
	done
	cache=$build/nest-cache
	# shellcheck disable=SC2086
	"$src/tools/nest" --cache "$cache" ${NEST_OPTIONS:-} --prepare x86_64
	initrd=$("$here/l2/ivshmem-mkinitrd" "$build") || exit 1
	logs=$build/l2/ivshmem-logs
	rm -rf "$logs"
	mkdir -p "$logs"
	start=$SECONDS
	rc=0
	# shellcheck disable=SC2086
	"$src/tools/nest" --cache "$cache" --rw "$logs" \
		--env MAX_ATTEMPTS --env STALL_SECS \
		--timeout "${NEST_TIMEOUT:-900}" ${NEST_OPTIONS:-} x86_64 -- \
		"$here/x86_64-ivshmem.sh" --inner "$build" "$initrd" "$logs" "$@" ||
		rc=$?
	echo "x86_64-ivshmem: whole test $((SECONDS - start)) s (L1 boot included); logs in $logs"
	exit $rc
fi

# ---------------------------------------------------------------------------
# Inside L1 (root, real KVM). Failures are counted, not fatal.
set +e
shift
build=$(cd "$1" && pwd) initrd=$(readlink -f "$2") logs=$3
shift 3
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=("${all_cases[@]}")

stall_secs=${STALL_SECS:-15}
max_attempts=${MAX_ATTEMPTS:-6}
init_deadline=120
# shellcheck source=l2/lib.sh
. "$here/l2/lib.sh"

vmm=$build/vmm
server=$build/tools/ivshmem-server
tool=$build/tools/ivshmem-tool
work=/tmp/x86_64-ivshmem
rm -rf "$work"
mkdir -p "$work"
failed=0
summary=()
pids=()

fail() {
	echo "  FAIL: $*"
	case_ok=0
}

cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	pids=()
}
trap cleanup EXIT

field() {
	tr -d '\r' <"$2" | sed -n "s/^$1: //p" | head -n 1
}

# wait_line REGEX FILE SECS: until FILE has a line matching REGEX.
wait_line() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -qE -- "$1" "$2" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

case_linux_sysfs() {
	local shm=/dev/shm/vmm-l2-ivshmem-$$
	local out=$work/linux-sysfs.out err=$work/linux-sysfs.err
	local host_marker="L1-WROTE-THIS-$$-$RANDOM"
	# 1 MiB, L1's marker at offset 0, zeros elsewhere.
	rm -f "$shm"
	truncate -s 1M "$shm"
	printf '%s' "$host_marker" | dd of="$shm" conv=notrunc status=none
	run_guest linux-sysfs "$out" "$err" -- "$vmm" run -v \
		"$here/l2/ivshmem-linux.cfg" \
		--set "boot.image=$build/nest-cache/x86_64/vmlinuz" \
		--set "boot.initrd=$initrd" --set "device.shm0.path=$shm" \
		--timeout 180s
	cp "$out" "$err" "$logs/" 2>/dev/null
	[ -z "$hang" ] || fail "the guest hung or panicked in all $max_attempts attempts"
	[ "$rc" -eq 0 ] || fail "vmm exited $rc, expected 0"
	grep -q VMM-L2-INIT-OK "$out" || fail "no VMM-L2-INIT-OK"
	grep -q 'reboot: Power down' "$out" || fail "no 'reboot: Power down'"
	local v
	v=$(field ivshmem-error "$out")
	[ -z "$v" ] || fail "guest: $v"
	v=$(field ivshmem-dev "$out")
	case $v in
	*" 0x1af4 0x1110 0x050000") ;;
	*) fail "no ivshmem device in sysfs: '$v'" ;;
	esac
	local bar
	bar=$(field ivshmem-bar2 "$out")
	# 1 MiB, 64-bit prefetchable memory (flags 0x...14220c / IORESOURCE_MEM_64|PREFETCH).
	case $bar in
	*" 1048576") ;;
	*) fail "BAR2 in sysfs is not 1 MiB: '$bar'" ;;
	esac
	v=$(field ivshmem-read "$out")
	[ "$v" = "$host_marker" ] ||
		fail "the guest read '$v' at BAR2 offset 0, L1 wrote '$host_marker'"
	local wrote got
	wrote=$(field ivshmem-wrote "$out")
	got=$(dd if="$shm" bs=4096 skip=1 count=1 status=none | tr -d '\0')
	[ -n "$wrote" ] && [ "$got" = "$wrote" ] ||
		fail "the file has '$got' at 4096, the guest wrote '$wrote'"
	local klog
	klog=$(tr -d '\r' <"$out" | sed -n 's/^klog: //p' | allowed_klog)
	[ -z "$klog" ] ||
		echo "  kernel warnings: $(echo "$klog" | cut -c1-100 | tr '\n' ';')"
	rm -f "$shm"
	detail="dev ${v:+ok} bar2 '$bar'; guest read L1's marker, L1 read '$got'"
}

case_qemu_interop() {
	if ! command -v qemu-system-x86_64 >/dev/null; then
		echo "  SKIP: no qemu-system-x86_64"
		detail="skipped: no qemu-system-x86_64"
		skipped=1
		return
	fi
	local d=$work/interop sock=$work/interop/sock shm=vmm-l2-ivs-$$
	mkdir -p "$d"
	"$server" -F -v -S "$sock" -M "$shm" -l 1M -n 2 2>"$d/server.log" &
	pids+=($!)
	local i
	for ((i = 0; i < 50; i++)); do [ -S "$sock" ] && break; sleep 0.1; done
	[ -S "$sock" ] || { fail "ivshmem-server did not start: $(cat "$d/server.log")"; return; }
	# QEMU first (peer ID 0). Its guest's timer runs slow under nested
	# KVM, so its timeout is long; it is killed at the end anyway.
	timeout 300 qemu-system-x86_64 -M pc -accel kvm \
		-m 64M -nodefaults -display none \
		-kernel "$build/guest/x86/ivshmem32.elf" \
		-append "timeout=200000 ring=1:0" \
		-chardev socket,path="$sock",id=iv \
		-device ivshmem-doorbell,chardev=iv,vectors=2 \
		-serial file:"$d/qemu.out" \
		-device isa-debug-exit,iobase=0xf4,iosize=4 2>"$d/qemu.err" &
	local qpid=$!
	pids+=("$qpid")
	wait_line 'echo service running' "$d/qemu.out" 60 ||
		{ fail "QEMU's guest did not start its echo service: $(tail -n 3 "$d/qemu.out" "$d/qemu.err" | tr '\n' ' ')"; cleanup; return; }
	local qid
	qid=$(sed -nE 's/^ivshmem0: pci [^,]*, id ([0-9]+),.*/\1/p' "$d/qemu.out" | head -n 1)
	cat >"$d/ours.cfg" <<CFG
[vm]
name = ours
timeout = 240s
[memory "ram"]
base = 0
size = 32M
[boot]
format = multiboot
image = $build/guest/x86/ivshmem.elf
cmdline = timeout=200000 ring=${qid:-0}:0
[device "com1"]
type = uart8250
port = 0x3f8
irq = 4
console = stdio
[device "pm"]
type = acpi-pm
[device "exit"]
type = debug-exit
port = 0xf4
[device "iv0"]
type = ivshmem
mode = doorbell
server = $sock
vectors = 2
CFG
	"$vmm" run --stats "$d/ours.cfg" >"$d/ours.out" 2>"$d/ours.err" </dev/null &
	local opid=$!
	pids+=("$opid")
	wait_line 'echo service running' "$d/ours.out" 60 ||
		{ fail "our guest did not start its echo service: $(tail -n 3 "$d/ours.out" "$d/ours.err" | tr '\n' ' ')"; cleanup; return; }
	local oid
	oid=$(sed -nE 's/^ivshmem0: pci [^,]*, id ([0-9]+),.*/\1/p' "$d/ours.out" | head -n 1)
	echo "  peers: QEMU's guest ${qid:-?}, ours ${oid:-?}"
	[ "$qid" = 0 ] && [ "$oid" = 1 ] || fail "peer IDs: QEMU '$qid', ours '$oid', expected 0 and 1"
	# Each rings the other once a second (guest time): wait for two each.
	wait_line 'doorbell on vector 0 \(#2\)' "$d/ours.out" 60 ||
		fail "our guest got no doorbells from QEMU's: $(grep doorbell "$d/ours.out" | tr '\n' ' ')"
	wait_line 'doorbell on vector 0 \(#2\)' "$d/qemu.out" 60 ||
		fail "QEMU's guest got no doorbells from ours: $(grep doorbell "$d/qemu.out" | tr '\n' ' ')"
	# Doorbell round trips from a Linux process to each guest.
	local p ping=
	for p in "$qid" "$oid"; do
		if timeout 60 "$tool" -q -s "$sock" ping "$p" 20 >"$d/ping$p.out" 2>&1; then
			ping+=" peer $p: $(sed -n 's/^round trip: .* p50 \([0-9.]*\) us.*/p50 \1 us/p' "$d/ping$p.out")"
		else
			fail "ivshmem-tool ping $p: $(tr '\n' ' ' <"$d/ping$p.out")"
		fi
	done
	# End: QEMU killed (its guest has no ACPI power-off here), ours on a
	# "quit" through a new queue (the echo service adopts it) -> exit 0.
	kill "$qpid" 2>/dev/null
	wait "$qpid" 2>/dev/null
	timeout 30 "$tool" -q -s "$sock" init --reset >"$d/quit.out" 2>&1 &&
		timeout 30 "$tool" -q -s "$sock" send quit >>"$d/quit.out" 2>&1 ||
		fail "ivshmem-tool send quit: $(tr '\n' ' ' <"$d/quit.out")"
	local orc=0
	for ((i = 0; i < 300; i++)); do kill -0 "$opid" 2>/dev/null || break; sleep 0.1; done
	kill "$opid" 2>/dev/null
	wait "$opid" || orc=$?
	[ "$orc" -eq 0 ] || fail "our vmm exited $orc after quit, expected 0 (console: $(tail -n 2 "$d/ours.out" | tr '\n' ' '))"
	cleanup
	cp "$d"/*.out "$d"/*.err "$d"/*.log "$logs/" 2>/dev/null
	rm -f "/dev/shm/$shm"
	detail="QEMU (ID $qid) <-> ours (ID $oid): $(grep -c 'doorbell on vector 0' "$d/ours.out") / $(grep -c 'doorbell on vector 0' "$d/qemu.out") doorbell lines;$ping"
}

t_all=$EPOCHREALTIME
for c in "${cases[@]}"; do
	echo "== $c"
	case_ok=1 skipped=0 detail=
	t0=$EPOCHREALTIME
	case $c in
	linux-sysfs) case_linux_sysfs ;;
	qemu-interop) case_qemu_interop ;;
	esac
	secs=$(elapsed "$t0" "$EPOCHREALTIME")
	if [ $skipped -eq 1 ]; then
		summary+=("$c | skip | $secs | $detail")
	elif [ $case_ok -eq 1 ]; then
		echo "  PASS ($secs s): $detail"
		summary+=("$c | pass | $secs | $detail")
	else
		failed=1
		summary+=("$c | FAIL | $secs | logs in $logs")
		for f in "$work/$c.out" "$work/interop/ours.out" "$work/interop/qemu.out"; do
			[ -e "$f" ] || continue
			echo "  --- $f:"
			tr -d '\r' <"$f" | tail -n 12 | sed 's/^/  | /'
		done
	fi
done
echo
echo "case | result | seconds | detail"
echo "---|---|---|---"
printf '%s\n' "${summary[@]}"
if [ ${#hangs[@]} -gt 0 ]; then
	echo "nested-emulation hangs (retried; not counted as failures):"
	printf '  %s\n' "${hangs[@]}"
fi
echo "all cases: $(elapsed "$t_all" "$EPOCHREALTIME") s inside L1"
exit $failed
