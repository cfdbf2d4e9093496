#!/bin/sh
# shellcheck disable=SC3043,SC3028 # busybox ash: local, EPOCHREALTIME
# The L1 side of tests/nested/arm64-uboot.sh: runs inside the nested arm64
# L1 (tools/nest arm64, root, real KVM) under L1's busybox sh.
#
#   arm64-uboot-inner.sh RUNNER UBOOT LOGS
#
# RUNNER is the vmm binary, or "qemu:PATH" for Debian's arm64 QEMU (-M virt
# -accel kvm -cpu host, u-boot.bin loaded at 0x40200000 with -device
# loader, for reference). UBOOT is qemu_arm64/u-boot.bin.
#
# U-Boot's console is the PL011; the script types into it through a FIFO
# on the runner's stdin, one command per prompt:
#   - any key at "Hit any key to stop autoboot" (stops the countdown)
#   - version; dm tree (the device model: virtio-mmio transports, the
#     virtio-net device bound to a virtio-mmio slot); net list (eth0 with
#     our MAC, active)
#   - setenv ipaddr 10.0.2.15; setenv netmask 255.255.255.0;
#     ping 10.0.2.2: U-Boot's own virtio-net driver sends ARP and ICMP
#     through our device to the TAP vmmnet0 (L1 end 10.0.2.2) and gets the
#     answers: "host 10.0.2.2 is alive"
#   - poweroff (PSCI SYSTEM_OFF): exit 0
#
# Log: LOGS/uboot.out (console), LOGS/uboot.err. Exit 0 passed, 1 failed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
runner=$1 uboot=$2 logs=$3
name=${NAME:-uboot}
. "$here/arm64-lib.sh"

work=/tmp/arm64-uboot
mkdir -p "$work"
out=$work/$name.out err=$work/$name.err in=$work/$name.in
failed=0

fail() {
	echo "  FAIL: $*"
	failed=1
}

[ -c /dev/net/tun ] || { echo "no /dev/net/tun in L1"; exit 1; }
ip link del vmmnet0 2>/dev/null
tunctl -t vmmnet0 >/dev/null && ip addr add 10.0.2.2/24 dev vmmnet0 &&
	ip link set vmmnet0 up || { echo "cannot make the TAP vmmnet0"; exit 1; }

rm -f "$in"
mkfifo "$in"
# An erased flash bank for U-Boot's environment (arm64-uboot.cfg).
env=$work/flash1.img
dd if=/dev/zero bs=1024 count=256 2>/dev/null | tr '\000' '\377' >"$env"
t0=$EPOCHREALTIME
case $runner in
qemu:*)
	echo "== $name: U-Boot under QEMU (${runner#qemu:})"
	"${runner#qemu:}" -M virt -accel kvm -cpu host -m 256 -nographic \
		-nodefaults -serial stdio -no-reboot \
		-netdev tap,id=n0,ifname=vmmnet0,script=no,downscript=no \
		-device virtio-net-device,netdev=n0,mac=52:54:00:12:34:56 \
		-device "loader,file=$uboot,addr=0x40200000,cpu-num=0" \
		<"$in" >"$out" 2>"$err" &
	;;
*)
	echo "== $name: U-Boot under vmm run ($runner)"
	"$runner" run "$here/arm64-uboot.cfg" --set "boot.image=$uboot" \
		--set "memory.flash1.file=$env" \
		<"$in" >"$out" 2>"$err" &
	;;
esac
pid=$!
# The writer end stays open until the end: EOF on the runner's stdin
# must not come before U-Boot has read everything.
exec 3>"$in"

# send TEXT: type TEXT and Enter, after U-Boot's prompt is on the console.
prompt() {
	local t=0 tail
	while [ $t -lt 300 ]; do
		tail=$(tail -c 3 "$out" 2>/dev/null)
		[ "$tail" = "=> " ] && return 0
		kill -0 $pid 2>/dev/null || return 1
		sleep 0.2
		t=$((t + 1))
	done
	return 1
}
send() {
	if ! prompt; then
		fail "no U-Boot prompt before '$1' (last line: '$(tail -n 1 "$out" | tr -d '\r' | cut -c1-80)')"
		return 1
	fi
	# One character at a time, as typed: the PL011's receive FIFO is
	# 16 bytes deep, and U-Boot polls it.
	local s="$1" c
	while [ -n "$s" ]; do
		c=${s%"${s#?}"}
		s=${s#?}
		printf '%s' "$c" >&3
	done
	printf '\r' >&3
	# The echo of the command, so the next prompt() sees a new prompt.
	sleep 0.5
}

ok=1
if wait_for "$out" 'Hit any key to stop autoboot' 120 $pid; then
	t_prompt=$EPOCHREALTIME
	printf ' ' >&3
else
	fail "no 'Hit any key to stop autoboot' (last line: '$(tail -n 1 "$out" | tr -d '\r' | cut -c1-80)')"
	ok=0
fi
if [ $ok = 1 ]; then
	for cmd in version 'dm tree' 'net list' 'setenv ipaddr 10.0.2.15' \
		'setenv netmask 255.255.255.0' 'ping 10.0.2.2' poweroff; do
		send "$cmd" || break
	done
fi
watch_guest $pid "$out" 60
wait $pid
rc=$?
exec 3>&-
t1=$EPOCHREALTIME
ip link del vmmnet0 2>/dev/null
cp "$out" "$err" "$logs/" 2>/dev/null

[ -z "$watch_result" ] || fail "stopped by the watchdog: $watch_result"
[ $rc -eq 0 ] || fail "exit status $rc, expected 0 (poweroff: PSCI SYSTEM_OFF)"
log=$work/$name.txt
tr -d '\r' <"$out" >"$log"
for w in '^U-Boot 20[0-9][0-9]\.' '^DRAM: +256 MiB' \
	'^In: +[a-z0-9]+@9000000' '^Net: +eth0: virtio-net#[0-9]+' \
	'virtio +[0-9]+ +\[ \+ \] +virtio-mmio +\|-- virtio(_mmio)?@a000000' \
	'ethernet +[0-9]+ +\[ \+ \] +virtio-net +\| +`-- virtio-net#' \
	'^eth0 : virtio-net#[0-9]+ 52:54:00:12:34:56 active' \
	'^host 10\.0\.2\.2 is alive' '^poweroff \.\.\.'; do
	grep -Eq -- "$w" "$log" || fail "no line matching /$w/"
done
unhandled=$(grep -c 'unhandled' "$err")
echo "  $name: autoboot prompt after $(elapsed "$t0" "${t_prompt:-$t0}") s, whole run $(elapsed "$t0" "$t1") s, $unhandled unhandled-access warnings"
if [ $failed = 0 ]; then
	echo "  PASS: $name: prompt, virtio-net found, ping answered, exit 0"
else
	echo "  --- console ($logs/$name.out), last lines:"
	tail -n 25 "$log" | sed 's/^/  | /'
	echo "  --- stderr:"
	tail -n 10 "$err" | sed 's/^/  | /'
fi
exit $failed
