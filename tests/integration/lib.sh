# Shared helpers for the integration tests (sourced). Each test is one bash
# function run by run.sh; it boots a real guest on /dev/kvm under `vmm run`
# and asserts on its console output, stderr and exit status.
#
# Environment (set by CMake through run.sh):
#   VMM       the vmm binary
#   GUESTS    directory holding the built guests (guest/x86 in the build tree)
#   WORK      a scratch directory for this test

fail() {
	echo "FAIL: $*" >&2
	if [ -n "${OUT:-}" ] && [ -f "$OUT" ]; then
		echo "---- guest console (stdout) ----" >&2
		tail -n 40 "$OUT" >&2
	fi
	if [ -n "${ERR:-}" ] && [ -f "$ERR" ]; then
		echo "---- vmm stderr ----" >&2
		tail -n 40 "$ERR" >&2
	fi
	exit 1
}

skip() {
	echo "SKIP: $*"
	exit 77
}

# Write a config to $WORK/NAME.cfg from stdin; print its path.
cfg() {
	local f="$WORK/$1.cfg"
	cat >"$f"
	echo "$f"
}

# pc_devices [rtc]: the usual platform's devices on stdout: COM1,
# debug-exit, ACPI PM and, with "rtc", the CMOS RTC.
pc_devices() {
	cat <<EOF2
[device "com1"]
type = uart8250

[device "exit"]
type = debug-exit

[device "pm"]
type = acpi-pm
EOF2
	if [ "${1:-}" = rtc ]; then
		printf '\n[device "rtc"]\ntype = cmos-rtc\n'
	fi
}

# pc_cfg NAME VM-KEYS BOOT-BODY [rtc]: the usual platform's config on
# stdout: [vm] NAME and VM-KEYS (multi-line), 32 MiB RAM at 0, [boot]
# BOOT-BODY (multi-line) and pc_devices.
pc_cfg() {
	cat <<EOF2
[vm]
name = $1
$2

[memory "ram"]
base = 0
size = 32M

[boot]
$3

EOF2
	pc_devices "${4:-}"
}

# The usual platform: 32 MiB RAM at 0, COM1, debug-exit, ACPI PM, RTC.
# $1 = name, $2 = [boot] body (multi-line), $3 = extra sections.
std_cfg() {
	{
		pc_cfg "$1" "timeout = 60s" "$2" rtc
		echo "${3:-}"
	} | cfg "$1"
}

# vmm ARGS... : run vmm with stdin from $IN (default /dev/null), console to
# $OUT, stderr to $ERR; sets STATUS. Never hangs: a hard timeout of 120 s.
vmm() {
	OUT="$WORK/out.$RANDOM"
	ERR="$WORK/err.$RANDOM"
	STATUS=0
	timeout -k 5 120 "$VMM" "$@" <"${IN:-/dev/null}" >"$OUT" 2>"$ERR" ||
		STATUS=$?
	[ "$STATUS" -ne 124 ] || fail "vmm did not finish within 120 s"
	return 0
}

expect_status() {
	[ "$STATUS" -eq "$1" ] || fail "exit status $STATUS, expected $1"
}

# expect_out REGEX: a line of the guest console matches (grep -E).
expect_out() {
	grep -qE -- "$1" "$OUT" || fail "console has no line matching /$1/"
}

expect_no_out() {
	! grep -qE -- "$1" "$OUT" || fail "console unexpectedly matches /$1/"
}

expect_err() {
	grep -qE -- "$1" "$ERR" || fail "stderr has no line matching /$1/"
}

expect_no_err() {
	! grep -qE -- "$1" "$ERR" || fail "stderr unexpectedly matches /$1/"
}

# The first console line must be exactly the hello banner.
expect_first_line() {
	local first
	first=$(head -n 1 "$OUT" | tr -d '\r')
	[ "$first" = "$1" ] || fail "first console line is '$first', expected '$1'"
}

need_guest() {
	[ -f "$GUESTS/$1" ] || fail "guest image $GUESTS/$1 was not built"
}
