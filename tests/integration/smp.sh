# SMP: the smp guest (guest/x86/smp/smp.c, output in guest/README.md) finds
# its CPUs in the firmware tables the VMM builds (ACPI MADT first, then the
# MP table, then the cpus=N option), starts every AP with INIT-SIPI-SIPI
# through its local APIC, and each CPU prints its APIC ID as CPUID leaf 1,
# CPUID leaf 0xB and the LAPIC ID register see it, then "online". The guest
# powers off (exit 0) when all are online and agree; 65 if some CPU did not
# come up within its wait, 67 on an APIC ID mismatch.
#
# SMP_SOURCE: the table source the VMM is expected to provide (default
# madt). SMP_SOURCE=cmdline runs the suite against a VMM that builds no
# tables yet: every run also passes cpus=N, which the guest uses then.

SMP_SOURCE=${SMP_SOURCE:-madt}

# smp_run NAME VCPUS CMDLINE: boot smp.elf on the usual platform.
smp_run() {
	need_guest smp.elf
	vmm run "$(std_cfg "$1" "image = $GUESTS/smp.elf
cmdline = $3")" --set vm.vcpus="$2"
}

# smp_all_online N: all N CPUs came online, with APIC IDs 0..N-1 once each;
# on every CPU CPUID leaf 1, leaf 0xB and the LAPIC agree; exit 0.
smp_all_online() {
	local n=$1 i ids want

	expect_status 0
	expect_out "^smp: $n of $n cpus online\$"
	expect_no_out "mismatch|timeout|did not start|warning|EXCEPTION|PANIC"
	ids=$(sed -n 's/^cpu [0-9]*: apic id \([0-9]*\) online$/\1/p' "$OUT" |
		sort -n | tr '\n' ' ')
	want=$(seq 0 $((n - 1)) | tr '\n' ' ')
	[ "$ids" = "$want" ] ||
		fail "APIC IDs online: '$ids', expected '$want'"
	for ((i = 0; i < n; i++)); do
		expect_out "^cpu $i: cpuid leaf 1 apic id ([0-9]+), leaf 0xb x2apic id \\1, lapic id \\1\$"
		expect_out "^cpu $i: apic id [0-9]+ online\$"
	done
	expect_out "^smp: spinlock counter $((n * 100)), expected $((n * 100))\$"
}

# smp_source_ok N SOURCE: the guest used SOURCE; tables also describe the
# LAPIC and the IOAPIC at their standard addresses.
smp_source_ok() {
	expect_out "^smp: $1 cpus from $2\$"
	case $2 in
	madt | mptable)
		expect_out "^smp: lapic at 0xfee00000\$"
		expect_out "^smp: ioapic id [0-9]+ at 0xfec00000 gsi base 0\$"
		;;
	esac
}

smp_cpus() {
	smp_run "smp$1" "$1" "cpus=$1"
	smp_source_ok "$1" "$SMP_SOURCE"
	smp_all_online "$1"
}

test_one_cpu() {
	smp_cpus 1
	expect_no_out "INIT-SIPI-SIPI"
}

test_two_cpus() {
	smp_cpus 2
	expect_out "^smp: INIT-SIPI-SIPI sent to 1 cpus, trampoline at 0x[0-9a-f]+000\$"
}

test_four_cpus() {
	smp_cpus 4
	expect_out "^smp: INIT-SIPI-SIPI sent to 3 cpus"
}

test_mptable() {
	[ "$SMP_SOURCE" != cmdline ] || skip "SMP_SOURCE=cmdline: no tables"
	# The MP table alone (source=mptable: the guest ignores the MADT)
	# must describe the same CPUs.
	smp_run mptable 2 "source=mptable"
	smp_source_ok 2 mptable
	smp_all_online 2
}

test_cmdline_fallback_without_tables() {
	need_guest smp.elf
	# No memory at 0xe0000-0xfffff (RSDP, MP floating pointer) nor any
	# EBDA: the VMM has nowhere to put tables, the guest finds none (and
	# reads only what the memory map lists) and falls back to cpus=N.
	vmm run "$(cfg notables <<EOF
[vm]
name = notables
timeout = 60s
vcpus = 2

[memory "low"]
base = 0
size = 640K

[memory "high"]
base = 0x100000
size = 31M

[boot]
image = $GUESTS/smp.elf
cmdline = cpus=2

$(pc_devices)
EOF
)"
	expect_out "^smp: no madt: no RSDP\$"
	expect_out "^smp: no mptable: no MP floating pointer\$"
	smp_source_ok 2 cmdline
	smp_all_online 2
}

test_cmdline_forced() {
	# source=cmdline: the tables are ignored, cpus=N is used as is.
	smp_run forced 2 "source=cmdline cpus=2"
	smp_source_ok 2 cmdline
	smp_all_online 2
}

test_missing_cpu_times_out() {
	# cpus=3 on a 2-vCPU VM: APIC ID 2 never answers; the guest gives up
	# after wait=300 ms of timer ticks and exits 65.
	smp_run missing 2 "source=cmdline cpus=3 wait=300"
	expect_status 65
	expect_out "^smp: timeout, 2 of 3 cpus online\$"
	expect_out "^smp: cpu 2 \\(apic id 2\\) did not start\$"
	expect_out "^smp: 2 of 3 cpus online\$"
}

test_init_before_lapic_enable() {
	# init-first: the BSP sends the INITs before it writes any register
	# of its own LAPIC (some older OSes do). The VMM must have KVM's APIC
	# routing ready for every vCPU from the start.
	smp_run initfirst 2 "cpus=2 init-first"
	smp_all_online 2
}
