# Power: reset through the reset control register (0xcf9) and the keyboard
# controller, triple fault as a reset, and what --on-reboot does with it.

reset_cfg() {
	std_cfg "$1" "image = $GUESTS/hello-mb.elf
cmdline = reset=$2" "
[device \"reset\"]
type = pc-reset"
}

test_reset_cf9_exits_8() {
	need_guest hello-mb.elf
	vmm run "$(reset_cfg cf9 cf9)"
	expect_status 8
	expect_out "^bye|^mode: long"
	expect_no_out "reset ignored"
}

test_reset_kbc_exits_8() {
	need_guest hello-mb.elf
	vmm run "$(reset_cfg kbc kbc)" -v
	expect_status 8
	expect_err "keyboard controller"
}

test_reset_restart_boots_again() {
	need_guest hello-mb.elf
	# The guest resets on every boot: with restart it boots again and
	# again until the timeout, which covers all boots.
	vmm run "$(reset_cfg rs cf9)" --on-reboot=restart --timeout 3s
	expect_status 10
	local boots
	boots=$(grep -c "^Hello from the vmm test guest" "$OUT")
	[ "$boots" -ge 3 ] || fail "booted $boots times, expected at least 3"
}

test_reset_restart_from_config() {
	need_guest hello-mb.elf
	vmm run "$(reset_cfg rsc cf9)" --set vm.on-reboot=restart --timeout 2s
	expect_status 10
	[ "$(grep -c "^Hello from" "$OUT")" -ge 2 ] || fail "did not boot again"
	vmm run "$(reset_cfg rsx cf9)" --set vm.on-reboot=restart \
		--on-reboot=exit
	expect_status 8
}

test_reset_without_device_is_ignored() {
	need_guest hello-mb.elf
	vmm run "$(std_cfg nores "image = $GUESTS/hello-mb.elf
cmdline = reset=cf9")"
	expect_status 0
	expect_out "reset ignored"
}

test_triple_fault_as_reset() {
	need_guest hello-mb.elf
	vmm run "$(std_cfg tfr "image = $GUESTS/hello-mb.elf
cmdline = fault=triple")" --set vm.triple-fault=reset
	expect_status 8
	expect_no_err "registers"
}
