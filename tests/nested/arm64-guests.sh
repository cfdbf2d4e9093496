#!/bin/sh
# The arm64 test guests (guest/arm64) under the cross-built vmm, inside the
# arm64 nested machine (tools/nest arm64): real KVM, VHE (-cpu max) or
# non-VHE (--cpu cortex-a72).
#
#   arm64-guests.sh SRC CROSS CACHE [CPU [GIC]]
#
# SRC is the source tree (examples/arm64/*.cfg), CROSS the arm64 cross build
# (CROSS/vmm, CROSS/guest/arm64/*.elf), CACHE tools/nest's cache, CPU the L1
# CPU model (default or empty: tools/nest's, max), GIC L1's interrupt
# controller, 3 (default) or 2 (tools/nest --gic 2: L1's KVM offers only a
# vGICv2, so the guests get one; the cases then check the DTB says v2 and
# that a PCI device is refused). The host side starts one L1 that
# runs this same file with busybox sh (`--inner`): every case runs
# `vmm run` on an example config with the image from CROSS and checks the
# exit status and the console output. Environment: NEST_OPTIONS, extra
# tools/nest options (e.g. "-v"); NEST_TIMEOUT, seconds (default 900).
#
# POSIX sh only: inside L1 there is busybox, no bash.
set -u

if [ "${1:-}" != --inner ]; then
	if [ $# -lt 3 ]; then
		echo "usage: $0 SRC CROSS CACHE [CPU [GIC]]" >&2
		exit 2
	fi
	src=$(cd "$1" && pwd) cross=$(cd "$2" && pwd) cache=$3
	cpu_opt=
	[ -n "${4:-}" ] && cpu_opt="--cpu $4"
	gic=${5:-3}
	case $gic in
	2 | 3) ;;
	*)
		echo "arm64-guests: GIC must be 2 or 3, not '$gic'" >&2
		exit 2
		;;
	esac
	for f in "$cross/vmm" "$cross/guest/arm64/hello.elf"; do
		if [ ! -e "$f" ]; then
			echo "arm64-guests: $f missing (build $cross first)" >&2
			exit 1
		fi
	done
	self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
	# shellcheck disable=SC2086
	exec "$src/tools/nest" --cache "$cache" --rw "$cross" \
		--timeout "${NEST_TIMEOUT:-900}" $cpu_opt --gic "$gic" \
		${NEST_OPTIONS:-} arm64 -- sh "$self" --inner "$src" "$cross" "$gic"
fi

# ---- inside L1 ----
src=$2 cross=$3 gic=${4:-3}
vmm=$cross/vmm
img=$cross/guest/arm64
cfg=$src/examples/arm64
out=/tmp/arm64-guests
mkdir -p "$out"
pass=0 fail=0 failed=

# run NAME STATUS CFG IMAGE [--set ...]: vmm run on CFG (in examples/arm64
# unless an absolute path), expect STATUS; output in
# $out/NAME.out (console) and $out/NAME.err (the VMM's stderr).
run() {
	name=$1 want=$2 conf=$3 image=$4
	shift 4
	ok=1
	case $conf in
	/*) ;;
	*) conf=$cfg/$conf ;;
	esac
	"$vmm" run "$conf" --set "boot.image=$img/$image" "$@" \
		>"$out/$name.out" 2>"$out/$name.err"
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "FAIL $name: exit status $rc, expected $want"
		ok=0
	fi
}

# expect NAME FILE PATTERN: FILE (out|err) of NAME has a line matching the
# basic regular expression PATTERN.
expect() {
	if ! grep -q -- "$3" "$out/$1.$2"; then
		echo "FAIL $1: no line matching '$3' in its std$2"
		ok=0
	fi
}

done_case() {
	if [ "$ok" -eq 1 ]; then
		echo "PASS $1"
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		failed="$failed $1"
		echo "--- $1: console ---"
		cat "$out/$1.out"
		echo "--- $1: vmm stderr ---"
		cat "$out/$1.err"
		echo "---"
	fi
}

echo "arm64-guests: $(uname -m) L1, $(grep -m1 -i 'cpu part' /proc/cpuinfo), GICv$gic"

# hello: prints, timer ticks, PSCI SYSTEM_OFF -> 0
run hello 0 hello.cfg hello.elf
expect hello out '^Hello from the vmm arm64 test guest$'
expect hello out '^el: entered at EL1, running at EL1$'
expect hello out '^dtb: at 0x40000000, '
expect hello out '^cmdline: timer=10$'
expect hello out '^cpus: 1$'
expect hello out '^uart: pl011 at 0x9000000$'
expect hello out "^gic: v$gic (from the DTB)$"
expect hello out '^psci: version 1\.[0-9]* via hvc$'
expect hello out '^timer: 10 ticks$'
expect hello out '^bye$'
done_case hello

# hello exit=5: "EXIT 5", PSCI SYSTEM_RESET -> 8
run hello-reset 8 hello.cfg hello.elf --set boot.cmdline=exit=5
expect hello-reset out '^bye$'
expect hello-reset out '^EXIT 5$'
done_case hello-reset

# timer: 50 virtual-timer interrupts at 100 Hz through the GIC
run timer 0 timer.cfg timer.elf
expect timer out "^timer: gic v$gic, counter "
expect timer out '^timer: 50 interrupts, period 10000 us expected, [0-9]* us measured'
expect timer out '^timer: ok$'
done_case timer
grep '^timer: 50 interrupts' "$out/timer.out"

# smp with 1, 2 and 4 vCPUs (and 8, GICv2's limit, on a GICv2): PSCI
# CPU_ON for each DTB CPU
smp_counts="1 2 4"
[ "$gic" = 2 ] && smp_counts="1 2 4 8"
for n in $smp_counts; do
	run "smp-$n" 0 smp.cfg smp.elf --set "vm.vcpus=$n"
	expect "smp-$n" out "^smp: $n cpus in the DTB:"
	expect "smp-$n" out "^smp: $n of $n cpus online$"
	expect "smp-$n" out "^smp: spinlock counter $((n * 100)), atomic counter $((n * 100)), expected $((n * 100))$"
	expect "smp-$n" out '^smp: cpu_on mpidr 0xfe: INVALID_PARAMETERS$'
	expect "smp-$n" out '^smp: ok$'
	i=1
	while [ $i -lt "$n" ]; do
		expect "smp-$n" out "^cpu $i: mpidr 0x[0-9a-f]* online$"
		i=$((i + 1))
	done
	done_case "smp-$n"
done

# faults: the runtime's report, then SYSTEM_RESET -> 8
run fault-ud 8 fault.cfg fault-ud.elf
expect fault-ud out '^fault: ud$'
expect fault-ud out '^EXCEPTION sync on cpu 0: EC=0x00 (unknown reason (undefined instruction)) ESR=0x02000000 FAR=0x[0-9a-f]* ELR=0x402[0-9a-f]*$'
expect fault-ud out '^  x0 =[0-9a-f]\{16\} x1 =[0-9a-f]\{16\}$'
expect fault-ud out '^  x30=[0-9a-f]\{16\} sp=[0-9a-f]\{16\}$'
expect fault-ud out '^EXCEPTION: requesting system reset$'
done_case fault-ud

run fault-data 8 fault.cfg fault-data.elf
expect fault-data out '^EXCEPTION sync on cpu 0: EC=0x25 (data abort) ESR=0x96000004 FAR=0x100000000 ELR=0x402[0-9a-f]*$'
expect fault-data out '^  translation fault, read, level 0$'
expect fault-data out '^EXCEPTION: requesting system reset$'
done_case fault-data

run fault-brk 8 fault.cfg fault-brk.elf
expect fault-brk out '^EXCEPTION sync on cpu 0: EC=0x3c (BRK instruction) ESR=0xf2000042 '
done_case fault-brk

# unmapped MMIO: unhandled-io = fault stops the guest (6, registers on
# stderr); with log the store is dropped and the guest carries on
run mmio-fault 6 mmio-fault.cfg fault-mmio.elf
expect mmio-fault out '^fault: mmio$'
expect mmio-fault err 'b000000'
expect mmio-fault err 'pc='
done_case mmio-fault

run mmio-log 0 mmio-fault.cfg fault-mmio.elf --set vm.unhandled-io=log
expect mmio-log out '^mmio survived$'
done_case mmio-log

# demo: the RTOS, 3 s of guest time, summary, SYSTEM_OFF. L1 is TCG:
# ticks come late by up to a second, so jobs may miss deadlines or be
# skipped; only the shape of the run is checked, the summary is shown.
run demo 0 demo.cfg demo.elf
expect demo out '^vmm-rtos 1.0: a tiny rate-monotonic RTOS (vmm demo guest, arm64)$'
expect demo out '^timer:  generic timer, EL1 virtual timer (INTID 27), '
expect demo out '^\[ *[0-9]* ms\] sensor    #1   temperature '
expect demo out '^\[ *[0-9]* ms\] heartbeat #1   uptime '
expect demo out '^summary: [0-9]*/24 jobs ran, [0-9]* deadlines missed$'
expect demo out '^system halted: powering off$'
done_case demo
grep -e '^summary:' -e 'max tick lateness' "$out/demo.out"

# latency: the virtual timer every 1 ms, 500 samples; the report line
# (the x86 guest's format) must be there and consistent: min <= avg <=
# p99 <= p999 <= max, samples as asked, the histogram adds up. L1 is TCG:
# the values themselves are only shown.
run latency 0 latency.cfg latency.elf \
	--set "boot.cmdline=period_us=1000 samples=500"
expect latency out "^latency: start timer=cntv period_us=1000 samples=500 warmup=10 cntfrq_hz=[0-9]* gic=v$gic watchdog=on$"
expect latency out '^latency-info: timer=cntv period_us=1000 '
expect latency out '^latency: samples=500 min=[0-9]* avg=[0-9]* p99=[0-9]* p999=[0-9]* max=[0-9]* (ns)$'
# shellcheck disable=SC2046
set -- $(sed -n 's/^latency: samples=\([0-9]*\) min=\([0-9]*\) avg=\([0-9]*\) p99=\([0-9]*\) p999=\([0-9]*\) max=\([0-9]*\) (ns)$/\1 \2 \3 \4 \5 \6/p' "$out/latency.out")
if [ $# -ne 6 ] || [ "$1" -ne 500 ] || [ "$2" -gt "$3" ] ||
	[ "$3" -gt "$4" ] || [ "$4" -gt "$5" ] || [ "$5" -gt "$6" ]; then
	echo "FAIL latency: report not consistent: samples=500, min <= avg <= p99 <= p999 <= max expected"
	ok=0
fi
hist=$(sed -n 's/^latency-hist: .* count=\([0-9]*\)$/\1/p' "$out/latency.out" |
	awk '{ n += $1 } END { print n + 0 }')
if [ "$hist" -ne 500 ]; then
	echo "FAIL latency: the histogram counts $hist samples, not 500"
	ok=0
fi
done_case latency
grep -e '^latency: samples=' -e '^latency-info:' "$out/latency.out"

# latency lose=3: the 3rd period's timer is left unarmed; the watchdog
# (EL1 physical timer, 1 s) ends the wait and counts it lost
run latency-lose 0 latency.cfg latency.elf \
	--set "boot.cmdline=period_us=1000 samples=50 lose=3"
expect latency-lose out '^latency-info: .* lost=1$'
expect latency-lose out '^latency: samples=50 '
done_case latency-lose

if [ "$gic" = 2 ]; then
	# PCI needs MSIs through a GICv3 ITS: refused with the reason, exit
	# status 4 (this host's KVM cannot do it)
	{
		cat "$cfg/hello.cfg"
		printf '[device "rng0"]\ntype = virtio-rng\ntransport = pci\n'
	} >"$out/pci.cfg"
	run pci-gicv2 4 "$out/pci.cfg" hello.elf
	expect pci-gicv2 err '^vmm: error: PCI devices need a GICv3 ITS for their MSIs (PCI on arm64 has no INTx lines), and this host.s KVM offers none: use transport = mmio for virtio devices$'
	done_case pci-gicv2

	# a GICv2 has 8 CPU interfaces: 9 vCPUs are refused (status 4)
	run smp-9-gicv2 4 smp.cfg smp.elf --set vm.vcpus=9
	expect smp-9-gicv2 err '^vmm: error: this host.s KVM offers only a GICv2, which handles at most 8 vCPUs (\[vm\] vcpus = 9)$'
	done_case smp-9-gicv2
fi

echo "arm64-guests: $pass passed, $fail failed${failed:+:$failed}"
[ "$fail" -eq 0 ]
