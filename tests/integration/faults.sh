# A misbehaving guest is stopped and reported (registers on stderr, exit 6),
# never crashes or hangs the VMM; the unhandled-I/O policy is honoured.

test_triple_fault() {
	need_guest hello-mb.elf
	vmm run "$(std_cfg tf "image = $GUESTS/hello-mb.elf
cmdline = fault=triple")"
	expect_status 6
	expect_err "guest fault on vcpu0: triple fault"
	expect_err "rip=[0-9a-f]{16}"
	expect_err "cr0="
}

test_guest_exception_handler() {
	need_guest hello-mb.elf
	# The runtime's own #UD handler reports and exits via debug-exit.
	vmm run "$(std_cfg ud "image = $GUESTS/hello-mb.elf
cmdline = fault=ud")"
	expect_out "EXCEPTION 6"
	[ $((STATUS & 1)) -eq 1 ] || fail "expected a debug-exit (odd) status, got $STATUS"
}

test_unhandled_pio_policies() {
	need_guest hello-mb.elf
	local c
	c=$(std_cfg pio "image = $GUESTS/hello-mb.elf
cmdline = fault=pio")
	vmm run "$c" --set vm.unhandled-io=fault
	expect_status 6
	expect_err "PIO write at 0x5e0"
	expect_err "rip="
	expect_no_out "pio survived"

	vmm run "$c" --set vm.unhandled-io=log
	expect_status 0
	expect_out "pio survived"
	expect_err "unhandled PIO write at 0x5e0"

	vmm run "$c" --set vm.unhandled-io=ignore
	expect_status 0
	expect_out "pio survived"
	expect_no_err "unhandled"
}

test_unhandled_mmio_policies() {
	need_guest hello-mb.elf
	local c
	c=$(std_cfg mmio "image = $GUESTS/hello-mb.elf
cmdline = fault=mmio")
	vmm run "$c" --set vm.unhandled-io=fault
	expect_status 6
	expect_err "MMIO write at 0xd0000000"
	vmm run "$c" --set vm.unhandled-io=log
	expect_status 0
	expect_out "mmio survived"
	expect_err "unhandled MMIO write at 0xd0000000"
}

test_hung_guest_times_out() {
	need_guest hello-mb.elf
	vmm run "$(std_cfg hang "image = $GUESTS/hello-mb.elf
cmdline = fault=hang")" --timeout 2s
	expect_status 10
	expect_err "timeout"
}

test_sigterm_stops_guest() {
	need_guest hello-mb.elf
	local c pid
	c=$(std_cfg sig "image = $GUESTS/hello-mb.elf
cmdline = fault=hang")
	OUT="$WORK/sig.out"
	ERR="$WORK/sig.err"
	"$VMM" run "$c" </dev/null >"$OUT" 2>"$ERR" &
	pid=$!
	for _ in $(seq 50); do
		grep -q "^bye\|^mode:" "$OUT" 2>/dev/null && break
		sleep 0.1
	done
	kill -TERM "$pid"
	STATUS=0
	wait "$pid" || STATUS=$?
	expect_status 12
	expect_err "signal"
}

test_timeout_with_stalled_console_reader() {
	need_guest hello-mb.elf
	local c
	c=$(std_cfg stall "image = $GUESTS/hello-mb.elf
cmdline = fault=hang")
	# stdout is a full pipe whose reader never reads: the vCPU blocks in
	# its first console write. The timeout must still stop the VMM.
	mkfifo "$WORK/fifo"
	exec 3<>"$WORK/fifo"
	dd if=/dev/zero of="$WORK/fifo" bs=4096 count=1024 oflag=nonblock \
		2>/dev/null || :
	OUT=/dev/null
	ERR="$WORK/stall.err"
	STATUS=0
	timeout -k 2 20 "$VMM" run "$c" --timeout 2s </dev/null \
		>"$WORK/fifo" 2>"$ERR" || STATUS=$?
	exec 3<&-
	if [ "$STATUS" -eq 124 ] || [ "$STATUS" -eq 137 ]; then
		fail "vmm hung on its blocked console output (status $STATUS)"
	fi
	expect_status 10
	expect_err "timeout"
}

test_unknown_msr_is_answered_and_counted() {
	need_guest hello-mb.elf
	vmm run --stats "$(std_cfg msr "image = $GUESTS/hello-mb.elf
cmdline = msr")"
	expect_status 0
	expect_out "^msr: read 0x0$"
	expect_err "unknown MSR 0x4b564d99 written \\(ignored\\)"
	expect_err "unknown MSR 0x4b564d99 read \\(returns 0\\)"
	expect_err "msr-read +1$"
	expect_err "msr-write +1$"
}
