#!/bin/sh
# shellcheck disable=SC3043,SC3028 # busybox ash: local, EPOCHREALTIME
# The L1 side of tests/nested/arm64-pci.sh: runs inside the nested arm64
# L1 (tools/nest arm64, root, real KVM) under L1's busybox sh.
#
#   arm64-pci-inner.sh CROSS KERNEL INITRD LOGS [CASE...]
#
# CROSS is the arm64 cross build (vmm, tools/ivshmem-server,
# tools/ivshmem-tool, guest/arm64/ivshmem.elf). CASEs (default: all six):
#   net-pci           virtio-net with transport = pci on the TAP vmmnet0
#                     (L1: 10.0.2.2/24): virtio_pci binds it, its MSI-X
#                     vectors are ITS-MSI interrupts that count, eth0 gets
#                     carrier, 5 pings to L1 answered, power-off: exit 0
#   net-pci-2cpu      the same with 2 vCPUs, the virtio MSIs moved to CPU 1
#                     (smp_affinity: the guest re-maps them to the second
#                     redistributor through the ITS) before the pings,
#                     which must then count on CPU 1
#   net-pci-vhost     net-pci with vhost = on: /dev/vhost-net in L1 moves the
#                     packets and signals the MSI routes' irqfds itself
#   ivshmem-plain     ivshmem mode = plain on a file in L1's /dev/shm: the
#                     guest maps BAR2 through sysfs resource2, reads L1's
#                     marker, writes its own, L1 finds it in the file
#   ivshmem-doorbell  tools/ivshmem-server in L1, ivshmem-tool waits as
#                     peer 0; the guest (peer 1) reads IVPosition and rings
#                     peer 0 vector 0 through BAR0 (sysfs resource0): the
#                     tool must see the doorbell; then the guest turns
#                     MSI-X on with the function masked (no driver) and
#                     ivshmem-tool rings it: the PBA must show vector 0
#   ivshmem-guest     the bare-metal guest/arm64/ivshmem.elf instead of
#                     Linux, MSI-X through its own ITS set-up (MSI-X ->
#                     ITS -> LPI): ivshmem-tool waits as peer 0, the guest
#                     (peer 1) rings it once a second and the tool must see
#                     it; then ivshmem-tool rings the guest's vectors 0, 1,
#                     0, each doorbell an LPI the guest counts and prints;
#                     after the third it powers off: exit 0
# The Linux guests' init is tests/nested/l2/arm64-pci-init (console "key: value"
# lines). Logs: LOGS/CASE.out (console), CASE.err, the server's and tool's
# output. Exit status: 0 all cases passed, 1 a case failed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
cross=$1 kernel=$2 initrd=$3 logs=$4
shift 4
cases=${*:-net-pci net-pci-2cpu net-pci-vhost ivshmem-plain ivshmem-doorbell ivshmem-guest}
. "$here/arm64-lib.sh"

vmm=$cross/vmm
work=/tmp/arm64-pci
rm -rf "$work"
mkdir -p "$work"
failed=0
summary=
guest_secs=${GUEST_SECS:-240}
echo "L1: $(uname -r), $(nproc) CPU(s); $(dmesg | grep -o 'kvm \[1\]: .*mode' | head -n 1)"

# cfg NAME CMDLINE: the common part of the guest's config.
cfg() {
	cat <<CFG
[vm]
name = $1
vcpus = 1
timeout = ${guest_secs}s

[memory "ram"]
base = 0x40000000
size = 256M

[boot]
format = linux
image = $kernel
initrd = $initrd
cmdline = console=ttyAMA0 panic=-1 rdinit=/init $2

[device "uart0"]
type = pl011

CFG
}

# run_guest NAME CFG: vmm run, console to $work/NAME.out; sets rc.
run_guest() {
	local out="$work/$1.out" err="$work/$1.err" pid
	"$vmm" run "$2" >"$out" 2>"$err" </dev/null &
	pid=$!
	watch_guest $pid "$out" $((guest_secs + 10))
	wait $pid
	rc=$?
	cp "$out" "$err" "$2" "$logs/" 2>/dev/null
	[ -z "$watch_result" ] || fail "guest stopped by the watchdog: $watch_result"
	[ "$rc" -eq 0 ] || fail "vmm exited $rc, expected 0"
	grep -q VMM-L2-INIT-OK "$out" || fail "no VMM-L2-INIT-OK"
	grep -q 'reboot: Power down' "$out" || fail "no 'reboot: Power down'"
	check_klog "$out"
}

# case_net_pci NAME VCPUS [VHOST]
case_net_pci() {
	local c=$work/$1.cfg out=$work/$1.out v
	{
		cfg l2pci-net "l2pci=net" | sed "s/^vcpus = 1/vcpus = $2/"
		cat <<CFG
[device "net0"]
type = virtio-net
transport = pci
tap = vmmnet0
vhost = ${3:-off}
mac = 52:54:00:12:34:56
CFG
	} >"$c"
	ip link del vmmnet0 2>/dev/null
	tunctl -t vmmnet0 >/dev/null && ip addr add 10.0.2.2/24 dev vmmnet0 &&
		ip link set vmmnet0 up ||
		{ fail "cannot make the TAP vmmnet0"; return; }
	run_guest "$1" "$c"
	ip link del vmmnet0 2>/dev/null
	v=$(field insmod-failed "$out")
	[ -z "$v" ] || fail "a module did not load: $v"
	# virtio 1.x network device 1af4:1041, bound to virtio-pci, with
	# MSI-X vectors (config + rx + tx).
	v=$(tr -d '\r' <"$out" | sed -n 's/^pci: \(.* 0x1af4 0x1041 .*\)/\1/p' | head -n 1)
	case $v in
	*" 0x020000 driver=virtio-pci msi="[1-9]*) ;;
	*) fail "pci: '$v' (want 1af4:1041 class 0x020000, driver virtio-pci, MSI vectors)" ;;
	esac
	v=$(field net-dev "$out")
	case $v in
	"eth0 52:54:00:12:34:56 driver=virtio_net carrier=1 path="*/pci0000:00/0000:00:0[1-9a-f].0/virtio[0-9]*) ;;
	*) fail "net-dev: '$v' (want eth0 52:54:00:12:34:56, driver virtio_net, carrier 1, on PCI)" ;;
	esac
	check_addr_ping "$out" 5
	# /proc/interrupts: "N: COUNT... ITS-MSI HWIRQ Edge virtioK-input.0",
	# one count per CPU: NAME=CPU0/CPU1...
	local irqs
	irqs=$(tr -d '\r' <"$out" | sed -n 's/^irq: //p' | grep 'ITS-MSI' |
		grep virtio | awk '{ s = ""; for (i = 2; $i ~ /^[0-9]+$/; i++)
			s = s (i > 2 ? "/" : "") $i; print $NF "=" s }' | tr '\n' ' ')
	echo "  MSI-X interrupts (ITS-MSI), per CPU: $irqs"
	case $2 in
	1) case $irqs in
		*input*=[1-9]*) ;;
		*) fail "no ITS-MSI interrupt of virtio's rx queue counted: '$irqs'" ;;
		esac ;;
	*) v=$(field irq-error "$out")
		[ -z "$v" ] || fail "$v"
		# moved to CPU 1 before the pings: CPU 1's column counts
		case $irqs in
		*input*=*/[1-9]*) ;;
		*) fail "no rx ITS-MSI interrupt counted on CPU 1: '$irqs'" ;;
		esac ;;
	esac
	detail="$(field net-ping "$out" | cut -d, -f1-2); ITS-MSI: $irqs"
}

# ivshmem_dev OUT: the checks both ivshmem cases share.
ivshmem_dev() {
	local v
	v=$(field ivshmem-error "$1")
	[ -z "$v" ] || fail "guest: $v"
	v=$(field ivshmem-dev "$1")
	case $v in
	*" 0x1af4 0x1110 0x050000") ;;
	*) fail "no ivshmem device in sysfs: '$v'" ;;
	esac
	v=$(field ivshmem-bar2 "$1")
	case $v in
	*" 1048576") ;;
	*) fail "BAR2 in sysfs is not 1 MiB: '$v'" ;;
	esac
}

case_ivshmem_plain() {
	local c=$work/ivshmem-plain.cfg out=$work/ivshmem-plain.out
	local shm=/dev/shm/vmm-l2-ivshmem-$$ marker="L1-WROTE-THIS-$$"
	rm -f "$shm"
	dd if=/dev/zero of="$shm" bs=1024 count=1024 status=none
	printf '%s' "$marker" | dd of="$shm" conv=notrunc status=none
	{
		cfg l2pci-plain "l2pci=plain"
		cat <<CFG
[device "shm0"]
type = ivshmem
mode = plain
path = $shm
size = 1M
CFG
	} >"$c"
	run_guest ivshmem-plain "$c"
	ivshmem_dev "$out"
	local v wrote got
	v=$(field ivshmem-read "$out")
	[ "$v" = "$marker" ] ||
		fail "the guest read '$v' at BAR2 offset 0, L1 wrote '$marker'"
	wrote=$(field ivshmem-wrote "$out")
	got=$(dd if="$shm" bs=4096 skip=1 count=1 status=none | tr -d '\0')
	[ -n "$wrote" ] && [ "$got" = "$wrote" ] ||
		fail "the file has '$got' at 4096, the guest wrote '$wrote'"
	rm -f "$shm"
	detail="BAR2 $(field ivshmem-bar2 "$out" | cut -d' ' -f1); L1 read '$got'"
}

case_ivshmem_doorbell() {
	local c=$work/ivshmem-doorbell.cfg out=$work/ivshmem-doorbell.out
	local sock=$work/ivshmem.sock shm=vmm-l2-ivs-$$ i spid tpid rpid trc=0 v
	"$cross/tools/ivshmem-server" -F -v -S "$sock" -M "$shm" -l 1M -n 2 \
		2>"$work/server.log" &
	spid=$!
	i=0
	while ! [ -S "$sock" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -S "$sock" ] || { fail "ivshmem-server did not start: $(cat "$work/server.log")"; kill $spid; return; }
	# The tool joins first: peer ID 0.
	: >"$work/tool.out"
	"$cross/tools/ivshmem-tool" -s "$sock" -t $((guest_secs * 1000)) wait 0 \
		>"$work/tool.out" 2>&1 &
	tpid=$!
	wait_for "$work/tool.out" 'waiting on vector 0' 20 $tpid ||
		fail "ivshmem-tool did not start waiting: $(cat "$work/tool.out")"
	{
		cfg l2pci-doorbell "l2pci=doorbell l2ring=0"
		cat <<CFG
[device "chan0"]
type = ivshmem
mode = doorbell
server = $sock
vectors = 2
CFG
	} >"$c"
	# Once the guest has MSI-X on (masked), ring its vector 0.
	(
		wait_for "$out" '^ivshmem-msix: ' $((guest_secs - 20)) &&
			"$cross/tools/ivshmem-tool" -s "$sock" ring \
				$(($(field ivshmem-ivpos "$out"))) 0
	) >"$work/ring.out" 2>&1 &
	rpid=$!
	run_guest ivshmem-doorbell "$c"
	kill $rpid 2>/dev/null
	wait $rpid
	i=0
	while kill -0 $tpid 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill $tpid 2>/dev/null
	wait $tpid || trc=$?
	kill $spid 2>/dev/null
	wait $spid 2>/dev/null
	cp "$work/tool.out" "$work/ring.out" "$work/server.log" "$logs/" 2>/dev/null
	rm -f "/dev/shm/$shm"
	ivshmem_dev "$out"
	v=$(field ivshmem-ivpos "$out")
	[ "$v" = 0x00000001 ] || fail "IVPosition reads '$v', want 1 (the second peer)"
	v=$(field ivshmem-rang "$out")
	[ "$v" = 0:0 ] || fail "the guest did not ring 0:0: '$v'"
	grep -q '^doorbell: vector 0, count [1-9]' "$work/tool.out" && [ $trc = 0 ] ||
		fail "ivshmem-tool saw no doorbell (exit $trc): $(tr '\n' ' ' <"$work/tool.out")"
	v=$(field ivshmem-pba "$out")
	[ $((v & 1)) = 1 ] ||
		fail "L1 rang the guest's vector 0, its PBA reads '$v' (want bit 0; ring: $(tr '\n' ' ' <"$work/ring.out"))"
	detail="guest IVPosition $(field ivshmem-ivpos "$out"); tool: $(grep '^doorbell:' "$work/tool.out"); guest PBA after L1 rang: $v"
}

# has_line FILE RE: FILE (a console, CRs dropped) has a line matching the
# basic regexp RE.
has_line() {
	tr -d '\r' <"$1" | grep -q -- "$2"
}

# ivshmem_guest_ring VECTOR N: ivshmem-tool rings the bare-metal guest's
# (peer $gid) VECTOR, then the guest's console must show its N-th doorbell
# on it: an LPI its handler counted.
ivshmem_guest_ring() {
	local line="ivshmem0: doorbell on vector $1 \\(#$2\\)"
	if ! "$cross/tools/ivshmem-tool" -s "$sock" ring "$gid" "$1" \
		>>"$work/ivshmem-guest-ring.out" 2>&1; then
		fail "ivshmem-tool ring $gid $1: $(tail -n 1 "$work/ivshmem-guest-ring.out")"
		return 1
	fi
	wait_for "$out" "^$line" 60 "$vpid" ||
		{ fail "no '$line' in the guest's console after L1 rang vector $1"; return 1; }
}

# The bare-metal arm64 ivshmem guest (guest/arm64/ivshmem): doorbells
# both ways with interrupts through the ITS.
case_ivshmem_guest() {
	local c=$work/ivshmem-guest.cfg out=$work/ivshmem-guest.out
	local err=$work/ivshmem-guest.err tool_out=$work/ivshmem-guest-tool.out
	local sock=$work/ivshmem-guest.sock shm=vmm-l2-ivg-$$ i spid tpid vpid
	local trc=0 rc=0 gid v
	local img=$cross/guest/arm64/ivshmem.elf
	[ -e "$img" ] || { fail "no $img (build the guests)"; return; }
	"$cross/tools/ivshmem-server" -F -v -S "$sock" -M "$shm" -l 1M -n 2 \
		2>"$work/ivshmem-guest-server.log" &
	spid=$!
	i=0
	while ! [ -S "$sock" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -S "$sock" ] || { fail "ivshmem-server did not start: $(cat "$work/ivshmem-guest-server.log")"; kill $spid; return; }
	# The tool joins first: peer ID 0; the guest rings 0:0.
	: >"$tool_out"
	"$cross/tools/ivshmem-tool" -s "$sock" -t $((guest_secs * 1000)) wait 0 \
		>"$tool_out" 2>&1 &
	tpid=$!
	wait_for "$tool_out" 'waiting on vector 0' 20 $tpid ||
		fail "ivshmem-tool did not start waiting: $(cat "$tool_out")"
	# Guest time runs out (EXIT 50) before the VMM's timeout.
	cat >"$c" <<CFG
[vm]
name = l2pci-ivshmem-guest
vcpus = 1
timeout = ${guest_secs}s

[memory "ram"]
base = 0x40000000
size = 64M

[boot]
format = elf
image = $img
cmdline = ring=0:0 count=3 timeout=$(((guest_secs - 20) * 1000))

[device "uart0"]
type = pl011

[device "chan0"]
type = ivshmem
mode = doorbell
server = $sock
vectors = 2
CFG
	: >"$work/ivshmem-guest-ring.out"
	: >"$out"
	"$vmm" run "$c" >"$out" 2>"$err" </dev/null &
	vpid=$!
	if wait_for "$out" 'doorbell service running' 60 $vpid; then
		gid=$(tr -d '\r' <"$out" | sed -nE 's/^ivshmem0: pci [^,]*, id ([0-9]+),.*/\1/p' | head -n 1)
		[ "$gid" = 1 ] || fail "the guest's IVPosition is '$gid', want 1 (the second peer)"
		# Guest -> L1: the tool's wait ends with the guest's doorbell.
		wait_for "$tool_out" '^doorbell: vector 0, count [1-9]' 60 $tpid ||
			fail "ivshmem-tool saw no doorbell from the guest: $(tr '\n' ' ' <"$tool_out")"
		# L1 -> guest: vectors 0, 1, 0; the third doorbell ends it.
		ivshmem_guest_ring 0 1 && ivshmem_guest_ring 1 1 &&
			ivshmem_guest_ring 0 2
	else
		fail "the guest did not start its doorbell service"
	fi
	# It powers off by itself after the third doorbell; after a failure
	# above, stop it soon.
	i=5
	[ $case_ok = 0 ] || i=60
	watch_guest $vpid "$out" $i
	wait $vpid
	rc=$?
	i=0
	while kill -0 $tpid 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill $tpid 2>/dev/null
	wait $tpid || trc=$?
	kill $spid 2>/dev/null
	wait $spid 2>/dev/null
	cp "$out" "$err" "$c" "$tool_out" "$work/ivshmem-guest-ring.out" \
		"$work/ivshmem-guest-server.log" "$logs/" 2>/dev/null
	rm -f "/dev/shm/$shm"
	[ -z "$watch_result" ] || fail "vmm stopped by the watchdog: $watch_result"
	[ "$rc" -eq 0 ] || fail "vmm exited $rc, expected 0 (the guest powers off after 3 doorbells)"
	[ "$trc" = 0 ] || fail "ivshmem-tool wait exited $trc: $(tr '\n' ' ' <"$tool_out")"
	v=$(tr -d '\r' <"$out" | grep -E '^(EXCEPTION|PANIC|EXIT )' | head -n 1)
	[ -z "$v" ] || fail "guest: $v"
	v=$(tr -d '\r' <"$out" | grep -E '^ivshmem: (no ITS|ITS set-up failed|no ivshmem device|bad option)' | head -n 1)
	[ -z "$v" ] || fail "guest: $v"
	has_line "$out" '^its: GICv[34] ITS at 0x8080000: ' || fail "no 'its:' line (ITS set-up)"
	has_line "$out" '^ivshmem0: pci 00:0[1-9a-f].0 rev 1, id 1, shm 1024 KiB at .*, doorbell mode, msi-x 2 vectors -> ITS DeviceID 0x[0-9a-f]*, LPIs 8192-8193$' ||
		fail "no device line for a 1 MiB doorbell-mode ivshmem with 2 MSI-X vectors on LPIs 8192-8193"
	has_line "$out" '^ivshmem0: ringing peer 0 vector 0 every second' ||
		fail "the guest did not start ringing peer 0"
	has_line "$out" '^ivshmem: 3 doorbells arrived, done' || fail "no 'ivshmem: 3 doorbells arrived, done'"
	v=$(tr -d '\r' <"$out" | grep -m1 '^ivshmem0: doorbells in' | cut -d' ' -f2-)
	case $v in
	"doorbells in v0=2 v1=1, "[1-9]*" rung") ;;
	*) fail "summary '$v' (want doorbells in v0=2 v1=1, some rung)" ;;
	esac
	v=$(tr -d '\r' <"$out" | grep -m1 '^ivshmem: LPIs taken' | cut -d' ' -f2-)
	case $v in
	"LPIs taken 3 (no handler 0),"*) ;;
	*) fail "LPI count '$v' (want 3 LPIs, all handled)" ;;
	esac
	detail="guest id ${gid:-?}; tool: $(grep '^doorbell:' "$tool_out"); guest: $v"
}

t_all=$EPOCHREALTIME
for c in $cases; do
	echo "== $c"
	case_ok=1 detail=
	t0=$EPOCHREALTIME
	case $c in
	net-pci) case_net_pci net-pci 1 ;;
	net-pci-2cpu) case_net_pci net-pci-2cpu 2 ;;
	net-pci-vhost) case_net_pci net-pci-vhost 1 on ;;
	ivshmem-plain) case_ivshmem_plain ;;
	ivshmem-doorbell) case_ivshmem_doorbell ;;
	ivshmem-guest) case_ivshmem_guest ;;
	*) fail "unknown case" ;;
	esac
	secs=$(elapsed "$t0" "$EPOCHREALTIME")
	if [ $case_ok = 1 ]; then
		echo "  PASS ($secs s): $detail"
		summary="$summary
$c | pass | $secs | $detail"
	else
		failed=1
		echo "  --- last console lines ($logs/$c.out):"
		tr -d '\r' <"$work/$c.out" 2>/dev/null | tail -n 15 | sed 's/^/  | /'
		echo "  --- stderr:"
		tail -n 10 "$work/$c.err" 2>/dev/null | sed 's/^/  | /'
		summary="$summary
$c | FAIL | $secs |"
	fi
done
echo
echo "case | result | seconds | detail"
echo "${summary#?}"
echo "all cases: $(elapsed "$t_all" "$EPOCHREALTIME") s inside L1"
exit $failed
