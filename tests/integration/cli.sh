# The command line and config errors, as a user meets them. No KVM needed:
# everything here fails or finishes before a VM is created.

test_version_and_help() {
	vmm --version
	expect_status 0
	expect_out "^vmm [0-9]+\.[0-9]+\.[0-9]+ \(x86_64|arm64\)"
	vmm --help
	expect_status 0
	expect_out "run CONFIG"
	expect_out "check CONFIG"
	vmm run --help
	expect_status 0
	expect_out "--set SECTION.KEY=VALUE"
	vmm help check
	expect_status 0
	expect_out "usage: vmm check"
	vmm help devices
	expect_status 0
	for t in uart8250 debug-exit cmos-rtc acpi-pm; do
		expect_out "^$t: "
	done
	expect_out "console +choice +\(stdio\|file\|none\) default stdio"
}

test_usage_errors() {
	vmm
	expect_status 2
	vmm frobnicate
	expect_status 2
	expect_err "unknown command 'frobnicate'"
	vmm run
	expect_status 2
	expect_err "missing CONFIG"
	vmm run --timeout soon x.cfg
	expect_status 2
	expect_err "bad duration"
}

test_missing_config_file() {
	vmm run "$WORK/nope.cfg"
	expect_status 2
	expect_err "nope.cfg"
}

test_config_error_names_file_line_key() {
	printf 'junk' >"$WORK/img"
	local c
	c=$(cfg bad <<EOF2
[vm]
name = bad

[memory "ram"]
base = 0
size = 12Q

[boot]
image = img
EOF2
)
	vmm run "$c"
	expect_status 2
	expect_err "bad.cfg:6: \[memory \"ram\"\] size"
	vmm check "$c"
	expect_status 2
	expect_err "bad.cfg:6:"
}

test_unknown_key_and_section() {
	printf 'junk' >"$WORK/img"
	local c
	c=$(cfg unk <<EOF2
[vm]
vcpu = 2
[boot]
image = img
[memory "ram"]
base = 0
size = 1M
EOF2
)
	vmm check "$c"
	expect_status 2
	expect_err "unk.cfg:2: \[vm\] vcpu"
	c=$(cfg unks <<EOF2
[vmm]
[boot]
image = img
[memory "ram"]
base = 0
size = 1M
EOF2
)
	vmm check "$c"
	expect_status 2
	expect_err "unks.cfg:1:"
}

test_set_override_error_names_set() {
	printf 'junk' >"$WORK/img"
	local c
	c=$(cfg ov <<EOF2
[boot]
format = raw
image = img
load-address = 0x100000
mode = long
[memory "ram"]
base = 0
size = 4M
EOF2
)
	vmm check "$c"
	expect_status 0
	vmm check "$c" --set vm.vcpus=0
	expect_status 2
	expect_err "--set"
	expect_err "vcpus"
}

test_check_prints_resolved_config() {
	need_guest hello-mb.elf
	vmm check "$(std_cfg chk "image = $GUESTS/hello-mb.elf")"
	expect_status 0
	expect_out "OK"
	expect_out "0x0*3f8"
	expect_out "com1"
	expect_out "uart8250"
	expect_out "ram"
	expect_out "IOAPIC"
}

test_overlapping_memory_rejected() {
	printf 'junk' >"$WORK/img"
	local c
	c=$(cfg ovl <<EOF2
[boot]
image = img
[memory "low"]
base = 0
size = 2M
[memory "high"]
base = 0x100000
size = 1M
EOF2
)
	vmm check "$c"
	expect_status 2
	expect_err "ovl.cfg"
	expect_err "overlap"
}

test_memory_over_lapic_rejected() {
	printf 'junk' >"$WORK/img"
	local c
	c=$(cfg lapic <<EOF2
[boot]
image = img
[memory "ram"]
base = 0
size = 4G
EOF2
)
	vmm check "$c"
	expect_status 2
	expect_err "lapic.cfg:3: \[memory \"ram\"\]"
	expect_err "IOAPIC|APIC"
}

test_stats_printed() {
	need_guest hello-mb.elf
	[ -e /dev/kvm ] || skip "/dev/kvm missing"
	vmm run --stats "$(std_cfg st "image = $GUESTS/hello-mb.elf")"
	expect_status 0
	expect_err "exit statistics"
	expect_err "vcpu0: [0-9]+ exits"
	expect_err "io +[0-9]+"
}

test_irq_and_ports_of_in_kernel_devices_rejected() {
	printf 'junk' >"$WORK/img"
	local c
	c=$(cfg kdev <<EOF2
[boot]
image = img
[memory "ram"]
base = 0
size = 32M
[device "com1"]
type = uart8250
irq = 30
EOF2
)
	# KVM_IRQ_LINE drops lines the IOAPIC does not have without an error.
	vmm check "$c"
	expect_status 2
	expect_err "kdev.cfg:8: \[device \"com1\"\] irq: IRQ 30 does not exist"
	vmm check "$c" --set device.com1.irq=23
	expect_status 0
	# The in-kernel PIT and PICs take these ports before the bus sees them.
	vmm check "$c" --set device.com1.irq=4 --set device.com1.port=0x40
	expect_status 2
	expect_err "\[device \"com1\"\] port: ports 0x40-0x47 overlap the i8254 PIT"
	vmm check "$c" --set device.com1.irq=4 --set device.com1.port=0x4cc
	expect_status 2
	expect_err "8259 ELCR"
	# IRQ 0 and 2 are wired to the PIT and the PIC cascade.
	vmm check "$c" --set device.com1.irq=0
	expect_status 2
	expect_err "irq: IRQ 0 belongs to the in-kernel PIT"
	vmm check "$c" --set device.com1.irq=2
	expect_status 2
	expect_err "PIC cascade"
}

test_check_shows_which_uart_keys_apply() {
	printf 'junk' >"$WORK/img"
	local c
	c=$(cfg mmiouart <<EOF2
[boot]
image = img
[memory "ram"]
base = 0
size = 32M
[device "com2"]
type = uart8250
address = 0xfe000000
irq = 5
EOF2
)
	# On MMIO the port default means nothing: check says so.
	vmm check "$c"
	expect_status 0
	expect_out "port +\(not used: address is set\)"
	expect_out "address +0xfe000000"
	expect_no_out "port +0x3f8"
	vmm check "$c" --set device.com2.address=
	expect_status 2
}

test_bad_image_leaves_console_log_alone() {
	printf 'not an image' >"$WORK/junk.img"
	echo "previous run" >"$WORK/console.log"
	vmm run "$(std_cfg badimg "image = junk.img")" \
		--set device.com1.console=file --set device.com1.path=console.log
	expect_status 2
	grep -q "previous run" "$WORK/console.log" ||
		fail "a bad image truncated the console log"
}
