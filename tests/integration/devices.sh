# Devices seen from a real guest: serial input and output backends,
# debug-exit codes, LAPIC timer interrupts, RTC.

test_debug_exit_codes() {
	need_guest hello-mb.elf
	for v in 0 5 100; do
		vmm run "$(std_cfg dx "image = $GUESTS/hello-mb.elf
cmdline = exit=$v")"
		expect_status $(((v << 1 | 1) & 255))
		expect_first_line "Hello from the vmm test guest"
	done
}

test_debug_exit_port_configurable() {
	need_guest hello-mb.elf
	# Move debug-exit away from 0xf4: the guest's write there is then
	# unhandled, and it falls back to its own halt -> timeout.
	vmm run "$(std_cfg dxp "image = $GUESTS/hello-mb.elf
cmdline = exit=3")" --set device.exit.port=0x501 --timeout 3s
	expect_status 10
	expect_err "unhandled PIO write at 0xf4"
}

test_serial_input_echo() {
	need_guest hello-mb.elf
	printf 'hello there\nsecond line\nquit\n' >"$WORK/in.txt"
	IN="$WORK/in.txt" vmm run "$(std_cfg echo "image = $GUESTS/hello-mb.elf
cmdline = echo")"
	expect_status 0
	expect_out "^echo: hello there"
	expect_out "^echo: second line"
}

test_serial_input_from_file_backend() {
	need_guest hello-mb.elf
	printf 'via input file\nquit\n' >"$WORK/input.txt"
	vmm run "$(std_cfg echof "image = $GUESTS/hello-mb.elf
cmdline = echo")" --set device.com1.input=input.txt
	expect_status 0
	expect_out "^echo: via input file"
}

test_console_file_backend() {
	need_guest hello-mb.elf
	vmm run "$(std_cfg cfile "image = $GUESTS/hello-mb.elf")" \
		--set device.com1.console=file --set device.com1.path=console.log
	expect_status 0
	[ ! -s "$OUT" ] || fail "stdout should be empty with console=file"
	grep -q "^Hello from the vmm test guest" "$WORK/console.log" ||
		fail "console.log lacks the banner"
	grep -q "^bye" "$WORK/console.log" || fail "console.log lacks 'bye'"
}

test_console_none() {
	need_guest hello-mb.elf
	vmm run "$(std_cfg cnone "image = $GUESTS/hello-mb.elf")" \
		--set device.com1.console=none
	expect_status 0
	[ ! -s "$OUT" ] || fail "stdout should be empty with console=none"
}

test_lapic_timer_interrupts() {
	need_guest hello-mb.elf
	# unhandled-io = fault: the PIT (0x40-0x43, 0x61) the guest calibrates
	# against must be handled in the kernel, not fall through to us.
	vmm run "$(std_cfg timer "image = $GUESTS/hello-mb.elf
cmdline = timer=20")" --set vm.unhandled-io=fault
	expect_status 0
	expect_out "^timer: 20 ticks"
	expect_no_out "calibration failed"
}

test_demo_guest() {
	need_guest demo.elf
	vmm run "$(std_cfg demo "image = $GUESTS/demo.elf
cmdline = run=1500")" --set vm.unhandled-io=fault
	expect_status 0
	expect_out "calibrated against the PIT"
	expect_out "0 deadlines missed"
	[ "$(grep -ciE 'sensor' "$OUT")" -ge 3 ] || fail "sensor task ran < 3 times"
	[ "$(grep -ciE 'control' "$OUT")" -ge 2 ] || fail "control task ran < 2 times"
}

test_console_reader_gone_is_survived() {
	need_guest hello-mb.elf
	local c
	c=$(std_cfg epipe "image = $GUESTS/hello-mb.elf
cmdline = exit=5")
	# stdout is a pipe whose only reader has gone: writes fail with EPIPE
	# (and SIGPIPE, which must not kill the VMM).
	mkfifo "$WORK/fifo"
	exec 3<>"$WORK/fifo"
	exec 4>"$WORK/fifo"
	exec 3<&-
	OUT=/dev/null
	ERR="$WORK/epipe.err"
	STATUS=0
	timeout -k 5 60 "$VMM" run "$c" </dev/null >&4 2>"$ERR" || STATUS=$?
	exec 4>&-
	expect_status 11
	expect_err "output failed: Broken pipe"
}

test_closed_stdio_fds() {
	need_guest hello-mb.elf
	local c
	c=$(std_cfg closed "image = $GUESTS/hello-mb.elf
cmdline = exit=5")
	# A closed stdin must mean "no console input", not an fd of the VMM's
	# own (the epoll fd) read as input.
	OUT="$WORK/closed.out"
	ERR="$WORK/closed.err"
	STATUS=0
	timeout -k 5 60 "$VMM" run "$c" <&- >"$OUT" 2>"$ERR" || STATUS=$?
	expect_status 11
	expect_no_err "error"
	expect_first_line "Hello from the vmm test guest"
	# A closed stdout: output is dropped, not written into a VMM fd.
	STATUS=0
	timeout -k 5 60 "$VMM" run "$c" </dev/null >&- 2>"$ERR" || STATUS=$?
	expect_status 11
	expect_no_err "error"
}
