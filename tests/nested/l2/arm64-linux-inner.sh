#!/bin/sh
# shellcheck disable=SC3043,SC3028 # busybox ash: local, EPOCHREALTIME
# The L1 side of tests/nested/arm64-linux.sh: runs inside the nested arm64
# L1 (tools/nest arm64, root, real KVM) under L1's busybox sh.
#
#   arm64-linux-inner.sh VMM KERNEL INITRD LOGS [CASE...]
#
# CASEs (default: net-1cpu net-2cpu reboot):
#   net-1cpu   arm64-net-linux.cfg, 1 vCPU: init reached, nproc 1, the
#              platform as the kernel saw it (PSCI, GICv3, timer, PL011,
#              PL031), virtio_net bound to our virtio-mmio NIC, eth0 has
#              carrier and 10.0.2.15/24, 3 pings to L1 answered, then
#              `poweroff -f` (PSCI SYSTEM_OFF): vmm exits 0
#   net-2cpu   the same with 2 vCPUs (the second CPU through PSCI CPU_ON)
#   reboot     arm64-linux.cfg, `reboot -f` (PSCI SYSTEM_RESET): exit 8
#   gzip       arm64-linux.cfg, 1 vCPU, the same kernel gzip-compressed
#              (KERNEL_GZ=PATH; the VMM inflates it), power-off
#   qemu-net   reference, not a VMM test: the same guest under Debian's
#              arm64 QEMU (-M virt -accel kvm -cpu host, 2 vCPUs,
#              virtio-net-device on the same TAP) if QEMU=PATH is set
#
# Console logs go to L1's tmpfs while the guest runs (a 9p write is a round
# trip through the emulated L1) and are copied to LOGS/CASE.out and
# CASE.err afterwards. Exit status: 0 all cases passed, 1 a case failed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
vmm=$1 kernel=$2 initrd=$3 logs=$4
shift 4
cases=${*:-net-1cpu net-2cpu reboot gzip}
. "$here/arm64-lib.sh"

work=/tmp/arm64-linux
mkdir -p "$work"
failed=0
summary=
guest_secs=${GUEST_SECS:-240}
cpu=$(sed -n 's/^CPU part[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo "L1: $(uname -r), $(nproc) CPU(s), CPU part $cpu, $(sed -n 's/^Features[[:space:]]*: //p' /proc/cpuinfo | head -n 1 | wc -w) features; $(dmesg | grep -o 'kvm \[1\]: .*mode' | head -n 1)"

# The TAP the NIC cases share: persistent, L1's end 10.0.2.2/24.
tap_setup() {
	[ -c /dev/net/tun ] || { echo "  no /dev/net/tun in L1"; return 1; }
	ip link del vmmnet0 2>/dev/null
	tunctl -t vmmnet0 >/dev/null &&
		ip addr add 10.0.2.2/24 dev vmmnet0 &&
		ip link set vmmnet0 up ||
		{ echo "  cannot make the TAP vmmnet0"; return 1; }
	ip link set lo up
}

check_platform() {
	local out="$1" n="$2" w
	for w in 'dmesg: .*psci: PSCIv[0-9.]+ detected' \
		'dmesg: .*GICv3: CPU0: found redistributor 0 region 0:0x0*80a0000' \
		'dmesg: .*arch_timer: cp15 timer\(s\) running at' \
		"dmesg: .*smp: Brought up 1 node, $n CPUs?\$" \
		'dmesg: .*ttyAMA0 at MMIO 0x9000000 .* is a (PL011|SBSA)' \
		'dmesg: .*rtc-pl031 9010000\.[a-z0-9]+: registered as rtc0'; do
		tr -d '\r' <"$out" | grep -Eq -- "$w" || fail "no line matching /$w/"
	done
	check_klog "$out"
}

check_net() {
	# QEMU fills its virtio-mmio slots from the last one (0xa003e00).
	local out="$1" slot="${2:-a000000}" v
	v=$(field insmod-failed "$out")
	[ -z "$v" ] || fail "a module did not load: $v"
	v=$(field net-dev "$out")
	case $v in
	"eth0 52:54:00:12:34:56 driver=virtio_net "*carrier=1*/$slot.*/virtio[0-9]*) ;;
	*) fail "net-dev: '$v' (want eth0 52:54:00:12:34:56, driver virtio_net, carrier 1, on the virtio-mmio device at 0x$slot)" ;;
	esac
	check_addr_ping "$out" 3
}

run_case() {
	local name="$1" vcpus=1 action=poweroff want_rc=0 net=1 cfg
	local qemu_run=0 img="$kernel"
	cfg=$here/arm64-net-linux.cfg
	case $name in
	net-1cpu) ;;
	net-2cpu) vcpus=2 ;;
	reboot) action=reboot want_rc=8 net=0 cfg=$here/arm64-linux.cfg ;;
	gzip)
		net=0 cfg=$here/arm64-linux.cfg
		if [ -z "${KERNEL_GZ:-}" ]; then
			echo "== $name: SKIP (no KERNEL_GZ=PATH)"
			summary="$summary
$name | skipped | | |"
			return
		fi
		img=$KERNEL_GZ
		;;
	qemu-net)
		vcpus=2 qemu_run=1
		if [ -z "${QEMU:-}" ]; then
			echo "== $name: SKIP (no QEMU=PATH)"
			summary="$summary
$name | skipped | | |"
			return
		fi
		;;
	*) echo "unknown case $name"; failed=1; return ;;
	esac
	echo "== $name: $vcpus vCPU(s), vmmtest=$action$([ $net = 1 ] && echo ', virtio-net on vmmnet0')"
	case_ok=1
	local out="$work/$name.out" err="$work/$name.err" rc=0 t0 t1 pid
	local cmdline="console=ttyAMA0 panic=-1 rdinit=/init vmmtest=$action l2ping=$net"
	[ $net = 0 ] || ip neigh flush dev vmmnet0 >/dev/null 2>&1
	t0=$EPOCHREALTIME
	if [ $qemu_run = 1 ]; then
		"$QEMU" -M virt -accel kvm -cpu host -smp $vcpus -m 256 \
			-nographic -nodefaults -serial stdio -no-reboot \
			-netdev tap,id=n0,ifname=vmmnet0,script=no,downscript=no \
			-device virtio-net-device,netdev=n0,mac=52:54:00:12:34:56 \
			-kernel "$kernel" -initrd "$initrd" -append "$cmdline" \
			>"$out" 2>"$err" </dev/null &
	else
		"$vmm" run "$cfg" --set "boot.image=$img" \
			--set "boot.initrd=$initrd" --set "vm.vcpus=$vcpus" \
			--set "boot.cmdline=$cmdline" --timeout "${guest_secs}s" \
			>"$out" 2>"$err" </dev/null &
	fi
	pid=$!
	watch_guest $pid "$out" $((guest_secs + 10))
	wait $pid
	rc=$?
	t1=$EPOCHREALTIME
	cp "$out" "$err" "$logs/" 2>/dev/null
	[ -z "$watch_result" ] || fail "guest stopped by the watchdog: $watch_result"
	[ $qemu_run = 0 ] || want_rc=0
	[ "$rc" -eq "$want_rc" ] || fail "exit status $rc, expected $want_rc"
	grep -q VMM-L2-INIT-OK "$out" || fail "the init marker VMM-L2-INIT-OK never appeared"
	local v
	v=$(field nproc "$out")
	[ "$v" = "$vcpus" ] || fail "nproc says '$v', $vcpus vCPUs configured"
	v=$(field cpuinfo "$out")
	[ "$v" = "$vcpus" ] || fail "/proc/cpuinfo has '$v' processors, $vcpus configured"
	if grep -q VMM-L2-INIT-OK "$out"; then
		check_platform "$out" $vcpus
		if [ $net = 1 ] && [ $qemu_run = 1 ]; then
			check_net "$out" a003e00
		elif [ $net = 1 ]; then
			check_net "$out"
		fi
		grep -q "VMM-L2-ACTION: $action" "$out" || fail "no 'VMM-L2-ACTION: $action'"
		if [ $action = poweroff ]; then
			grep -q 'reboot: Power down' "$out" || fail "no 'reboot: Power down' on the console"
		else
			grep -q 'reboot: Restarting system' "$out" || fail "no 'reboot: Restarting system' on the console"
		fi
	fi
	local secs up
	secs=$(elapsed "$t0" "$t1")
	up=$(field uptime "$out")
	if [ $case_ok = 1 ]; then
		echo "  PASS: exit $rc, $secs s (init at guest uptime ${up:-?} s)"
		summary="$summary
$name | pass | $secs | ${up:-?} | $(field net-ping "$out" | cut -d, -f1-3)"
	else
		failed=1
		echo "  --- last console lines ($logs/$name.out):"
		tr -d '\r' <"$out" | tail -n 15 | sed 's/^/  | /'
		echo "  --- stderr ($logs/$name.err):"
		tail -n 10 "$err" | sed 's/^/  | /'
		summary="$summary
$name | FAIL | $secs | ${up:-?} |"
	fi
}

case " $cases " in
*" net-"* | *" qemu-net "*) tap_setup || failed=1 ;;
esac
t_all=$EPOCHREALTIME
for c in $cases; do
	run_case "$c"
done
echo
echo "case | result | seconds (whole run) | guest uptime at init | ping"
echo "${summary#?}"
echo "all cases: $(elapsed "$t_all" "$EPOCHREALTIME") s inside L1"
ip link del vmmnet0 2>/dev/null
exit $failed
