# ivshmem end to end: the ivshmem.elf guest (guest/x86/ivshmem) or the demo
# with ivshmem devices, tools/ivshmem-server, and tools/ivshmem-tool as the
# Linux application on the other side: messages both ways through the
# message queue (the guest echoes each with a sequence number), doorbells
# both ways, several devices in one guest, plain mode (a shared file, no
# server, polling), the VMM's error messages, a server restart under a
# running guest, and a host that corrupts the queue.
#
# The tools come from the build tree next to the vmm binary (tools/); a test
# skips if they or /dev/shm are missing. Each server gets its own socket in
# $WORK and its own /dev/shm object (removed at the end).

TOOLS=${IVSHMEM_TOOLS:-$(dirname "$VMM")/tools}
IV_SERVERS=
IV_SHMS=
VMM_PID=

iv_cleanup() {
	local p
	if [ -n "$VMM_PID" ]; then
		kill "$VMM_PID" 2>/dev/null || true
		wait "$VMM_PID" 2>/dev/null || true
	fi
	for p in $IV_SERVERS; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	for p in $IV_SHMS; do
		rm -f "/dev/shm/$p"
	done
	rm -rf "$WORK"
}

iv_setup() {
	local t
	for t in ivshmem-server ivshmem-tool; do
		[ -x "$TOOLS/$t" ] || skip "$TOOLS/$t is not built"
	done
	if ! [ -d /dev/shm ] || ! [ -w /dev/shm ]; then
		skip "no writable /dev/shm"
	fi
	need_guest ivshmem.elf
	trap iv_cleanup EXIT
}

# iv_server NAME [VECTORS] [SIZE]: start a server on $WORK/NAME.sock with
# shm object vmm-it-<pid>-NAME; sets SRV_PID and SOCK.
iv_server() {
	local name=$1 shm="vmm-it-$$-$1"
	SOCK="$WORK/$name.sock"
	"$TOOLS/ivshmem-server" -F -S "$SOCK" -M "$shm" -l "${3:-1M}" \
		-n "${2:-2}" 2>"$WORK/$name.server.log" &
	SRV_PID=$!
	IV_SERVERS="$IV_SERVERS $SRV_PID"
	IV_SHMS="$IV_SHMS $shm"
	local _
	for _ in $(seq 100); do
		[ -S "$SOCK" ] && return 0
		kill -0 "$SRV_PID" 2>/dev/null ||
			fail "ivshmem-server exited: $(cat "$WORK/$name.server.log")"
		sleep 0.05
	done
	fail "ivshmem-server did not create $SOCK"
}

# tool ARGS...: run ivshmem-tool (60 s at most); output in $TOUT/$TERR,
# status in TSTATUS.
tool() {
	TOUT="$WORK/tool.out.$RANDOM"
	TERR="$WORK/tool.err.$RANDOM"
	TSTATUS=0
	timeout -k 5 60 "$TOOLS/ivshmem-tool" "$@" >"$TOUT" 2>"$TERR" ||
		TSTATUS=$?
}

# tool_ok ARGS...: tool must succeed.
tool_ok() {
	tool "$@"
	[ "$TSTATUS" -eq 0 ] || {
		cat "$TOUT" "$TERR" >&2
		fail "ivshmem-tool $* failed (status $TSTATUS)"
	}
}

expect_tool() {
	grep -qE -- "$1" "$TOUT" ||
		{ cat "$TOUT" "$TERR" >&2; fail "tool output has no line /$1/"; }
}

expect_tool_err() {
	grep -qE -- "$1" "$TERR" ||
		{ cat "$TERR" >&2; fail "tool stderr has no line /$1/"; }
}

# iv_cfg NAME IMAGE CMDLINE DEVICE-SECTIONS: a config on the usual platform.
iv_cfg() {
	std_cfg "$1" "image = $GUESTS/$2
cmdline = $3" "$4"
}

# iv_db NAME SOCKET [VECTORS] [EXTRA]: a doorbell device section.
iv_db() {
	printf '\n[device "%s"]\ntype = ivshmem\nmode = doorbell\nserver = %s\nvectors = %s\n%s\n' \
		"$1" "$2" "${3:-2}" "${4:-}"
}

# iv_plain NAME PATH [EXTRA]: a plain device section.
iv_plain() {
	printf '\n[device "%s"]\ntype = ivshmem\nmode = plain\npath = %s\n%s\n' \
		"$1" "$2" "${3:-}"
}

# iv_start CONFIG [ARGS...]: `vmm run` in the background.
iv_start() {
	OUT="$WORK/vmm.out.$RANDOM"
	ERR="$WORK/vmm.err.$RANDOM"
	timeout -k 5 150 "$VMM" run "$@" --set vm.timeout=120s \
		</dev/null >"$OUT" 2>"$ERR" &
	VMM_PID=$!
}

iv_finish() {
	STATUS=0
	wait "$VMM_PID" || STATUS=$?
	VMM_PID=
	[ "$STATUS" -ne 124 ] || fail "vmm did not finish within 150 s"
}

# iv_wait_for REGEX [FILE]: until a line matches (60 s, or vmm exits).
iv_wait_for() {
	local _ f=${2:-$OUT}
	for _ in $(seq 600); do
		grep -qE -- "$1" "$f" 2>/dev/null && return 0
		if [ -n "$VMM_PID" ] && ! kill -0 "$VMM_PID" 2>/dev/null; then
			iv_finish
			fail "vmm exited (status $STATUS) before /$1/ appeared"
		fi
		sleep 0.1
	done
	fail "no line /$1/ in $f within 60 s"
}

# The guest's peer ID on device N (from its start-up line).
iv_guest_id() {
	sed -nE "s/^ivshmem$1: pci [^,]*, id ([0-9]+),.*/\1/p" "$OUT" | head -n 1
}

# Messages both ways: a fresh queue, echo round trips with sequence
# numbers 2..N+1 (the first is a warm-up), then two messages whose echoes
# carry sequence numbers 1 and 2 of a new queue.
iv_messages() {
	tool_ok "$@" echo-test 50
	expect_tool "^echo-test: 50 messages of 64 bytes echoed in order, sequence numbers 2\.\.51"
	expect_tool "^round trip: n 50 min [0-9.]+ us"
	tool_ok "$@" -q init --reset
	tool_ok "$@" -q send "hello guest" "second message"
	tool_ok "$@" recv 2
	expect_tool "^tag 1 len 11: hello guest$"
	expect_tool "^tag 2 len 14: second message$"
}

test_ivshmem_doorbell_messages() {
	iv_setup
	iv_server s0
	iv_start "$(iv_cfg ivdb ivshmem.elf "" "$(iv_db shm0 "$SOCK")")" \
		--set vm.unhandled-io=fault
	iv_wait_for "^ivshmem: 1 device, echo service running"
	iv_messages -s "$SOCK"
	# larger messages; one longer than the guest's 4 KiB buffer is dropped
	tool_ok -s "$SOCK" -m 4096 echo-test 5
	expect_tool "^echo-test: 5 messages of 4096 bytes echoed in order"
	tool_ok -s "$SOCK" -q init --reset
	tool_ok -s "$SOCK" -q send "$(head -c 5000 /dev/zero | tr '\0' x)"
	iv_wait_for "^ivshmem0: message of 5000 bytes dropped \(longer than 4096\)"
	tool_ok -s "$SOCK" -q send quit
	iv_finish
	expect_status 0
	expect_out "^ivshmem0: pci 00:[0-9a-f]{2}\.0 rev 1, id [0-9]+, shm 1024 KiB at 0x[0-9a-f]+ .*doorbell mode, msi-x vectors 0x34-0x35"
	expect_out "^ivshmem0: queue attached: generation [0-9]+"
	expect_out '^ivshmem0: message tag 0 len 11 "hello guest" -> echo seq 1'
	expect_out '^ivshmem0: message tag 1 len 14 "second message" -> echo seq 2'
	expect_out "^ivshmem0: quit after 1 echoes"
	expect_no_err "error|warning"
}

test_ivshmem_doorbells_both_ways() {
	local wpid id
	iv_setup
	iv_server s0
	# The waiting tool connects first (peer 0); the guest rings it.
	"$TOOLS/ivshmem-tool" -s "$SOCK" -t 60000 wait 0 >"$WORK/wait.out" \
		2>"$WORK/wait.err" &
	wpid=$!
	iv_wait_for "^peer 0 waiting on vector 0" "$WORK/wait.out"
	iv_start "$(iv_cfg ivbell ivshmem.elf "ring=0:0" "$(iv_db shm0 "$SOCK")")"
	iv_wait_for "^ivshmem0: ringing peer 0 vector 0 every second"
	wait "$wpid" || fail "ivshmem-tool wait: $(cat "$WORK/wait.err")"
	grep -q "^doorbell: vector 0, count [1-9]" "$WORK/wait.out" ||
		fail "no doorbell from the guest: $(cat "$WORK/wait.out")"
	# host -> guest, vector 0
	id=$(iv_guest_id 0)
	[ -n "$id" ] || fail "no guest peer ID on the console"
	tool_ok -s "$SOCK" ring "$id" 0
	expect_tool "^rang peer $id vector 0"
	iv_wait_for "^ivshmem0: doorbell on vector 0 \(#1\)"
	# round trips: the guest rings back on vector 1 from its handler
	tool_ok -s "$SOCK" ping "$id" 20
	expect_tool "^ping: 20 doorbell round trips to peer $id vector 1"
	expect_tool "^round trip: n 20 min [0-9.]+ us"
	tool_ok -s "$SOCK" -q send quit
	iv_finish
	expect_status 0
	expect_out "^ivshmem0: 1 messages echoed, 0 dropped, doorbells in v0=[1-9][0-9]* v1=2[1-9], [0-9]+ rung, 2[1-9] pongs"
}

test_ivshmem_plain_mode() {
	local f="/dev/shm/vmm-it-$$-plain"
	iv_setup
	IV_SHMS="$IV_SHMS vmm-it-$$-plain"
	iv_start "$(iv_cfg ivplain ivshmem.elf "" \
		"$(iv_plain shm0 "$f" "create = yes
size = 1M")")" --set vm.unhandled-io=fault
	iv_wait_for "^ivshmem: 1 device, echo service running"
	[ "$(stat -c %s "$f")" = 1048576 ] || fail "$f is not 1 MiB"
	iv_messages -f "$f"
	tool_ok -f "$f" info
	expect_tool "^mode: plain file $f \(no doorbells\)"
	expect_tool "^memory: 1048576 bytes"
	expect_tool "^  side B: peer none, vector 0"
	tool_ok -f "$f" -q send quit
	iv_finish
	expect_status 0
	expect_out "^ivshmem0: pci 00:[0-9a-f]{2}\.0 rev 1, id 0, shm 1024 KiB .*plain mode, polling"
	expect_out "^ivshmem0: quit after 3 echoes"
	expect_no_err "error|warning"
}

# The host side may create the file first; the VMM then takes its size.
test_ivshmem_plain_file_from_host() {
	local f="/dev/shm/vmm-it-$$-host"
	iv_setup
	IV_SHMS="$IV_SHMS vmm-it-$$-host"
	tool_ok -f "$f" -z 64K --create -q init
	iv_start "$(iv_cfg ivplainh ivshmem.elf "log=0" "$(iv_plain shm0 "$f")")"
	iv_wait_for "^ivshmem0: queue attached"
	tool_ok -f "$f" -m 1000 echo-test 20
	expect_tool "^echo-test: 20 messages of 1000 bytes echoed in order"
	tool_ok -f "$f" -q send quit
	iv_finish
	expect_status 0
	expect_out "^ivshmem0: .*shm 64 KiB"
}

# Three devices in one guest: two servers (one shared memory each) and a
# plain file; the queue of each answers on its own.
test_ivshmem_several_devices() {
	local s1 s2 f="/dev/shm/vmm-it-$$-multi"
	iv_setup
	IV_SHMS="$IV_SHMS vmm-it-$$-multi"
	iv_server s1 2 1M
	s1=$SOCK
	iv_server s2 1 2M
	s2=$SOCK
	iv_start "$(iv_cfg ivmulti ivshmem.elf "log=2" \
		"$(iv_db shm0 "$s1")$(iv_db shm1 "$s2" 1 "size = 2M")$(iv_plain shm2 "$f" "create = yes
size = 256K")")" --set vm.unhandled-io=fault
	iv_wait_for "^ivshmem: 3 devices, echo service running"
	tool_ok -s "$s1" echo-test 20
	expect_tool "sequence numbers 2\.\.21"
	tool_ok -s "$s2" -m 300 echo-test 30
	expect_tool "30 messages of 300 bytes echoed in order, sequence numbers 2\.\.31"
	tool_ok -f "$f" echo-test 10
	expect_tool "sequence numbers 2\.\.11"
	tool_ok -s "$s2" -q send quit
	iv_finish
	expect_status 0
	expect_out "^ivshmem0: .*shm 1024 KiB .*doorbell mode, msi-x vectors 0x34-0x35"
	expect_out "^ivshmem1: .*shm 2048 KiB .*\(2048 KiB write-back\), doorbell mode, msi-x vector 0x36$"
	expect_out "^ivshmem2: .*shm 256 KiB .*plain mode, polling"
	expect_out "^ivshmem1: quit after 32 echoes"
	expect_out "^ivshmem0: 21 messages echoed"
	expect_out "^ivshmem2: 11 messages echoed"
}

test_ivshmem_demo_guest() {
	iv_setup
	need_guest demo.elf
	iv_server s0
	iv_start "$(iv_cfg ivdemo demo.elf "ivshmem run=60000" \
		"$(iv_db shm0 "$SOCK")")" --set vm.unhandled-io=fault
	iv_wait_for "^shm: +ivshmem0 pci 00:[0-9a-f]{2}\.0, 1024 KiB shared memory, doorbell mode \(msi-x vectors 0x34-0x35\): queue echo"
	iv_messages -s "$SOCK"
	tool_ok -s "$SOCK" -q send quit
	iv_finish
	expect_status 0
	expect_out "^\[ *[0-9]+ ms\] shm +quit from ivshmem0: stopping"
	expect_out "^shm: ivshmem0: [0-9]+ messages echoed"
	expect_out "^system halted: powering off"
}

# Without the option the demo does not touch PCI, even with a device.
test_ivshmem_demo_without_option() {
	iv_setup
	need_guest demo.elf
	iv_server s0
	vmm run "$(iv_cfg ivdemo0 demo.elf "run=300" "$(iv_db shm0 "$SOCK")")" \
		--set vm.unhandled-io=fault
	expect_status 0
	expect_no_out "^shm:"
}

# ---- errors ----

test_ivshmem_error_missing_path() {
	iv_setup
	vmm run "$(iv_cfg iverr1 ivshmem.elf "" \
		"$(iv_plain shm0 "/dev/shm/vmm-it-$$-none")")"
	expect_status 2
	expect_err "\[device \"shm0\"\] path: \"/dev/shm/vmm-it-$$-none\": No such file or directory \(set create = yes to create it\)"
}

test_ivshmem_error_size_mismatch() {
	local f="/dev/shm/vmm-it-$$-small"
	iv_setup
	IV_SHMS="$IV_SHMS vmm-it-$$-small"
	head -c 8192 /dev/zero >"$f"
	vmm run "$(iv_cfg iverr2 ivshmem.elf "" "$(iv_plain shm0 "$f" \
		"size = 16K")")"
	expect_status 2
	expect_err "\[device \"shm0\"\] size: 16384 bytes, but \"$f\" has 8192 bytes"
	# the host library says the same kind of thing
	tool -f "$f" -z 16K info
	[ "$TSTATUS" -eq 1 ] || fail "ivshmem-tool: status $TSTATUS, expected 1"
	expect_tool_err "$f: not 16384 bytes \(size mismatch\)"
}

test_ivshmem_error_server_size_mismatch() {
	iv_setup
	iv_server s0 1 64K
	vmm run "$(iv_cfg iverr3 ivshmem.elf "" "$(iv_db shm0 "$SOCK" 1 \
		"size = 1M")")"
	expect_status 4
	expect_err "shm0: ivshmem server \"$SOCK\": the shared memory has 65536 bytes, size = 1048576"
}

test_ivshmem_error_no_server() {
	iv_setup
	vmm run "$(iv_cfg iverr4 ivshmem.elf "" \
		"$(iv_db shm0 "$WORK/nobody.sock")")"
	expect_status 4
	expect_err "shm0: ivshmem server \"$WORK/nobody.sock\": No such file or directory \(is ivshmem-server running\?\)"
	tool -s "$WORK/nobody.sock" info
	[ "$TSTATUS" -eq 1 ] || fail "ivshmem-tool: status $TSTATUS, expected 1"
	expect_tool_err "cannot connect to $WORK/nobody.sock \(is ivshmem-server running\?\): No such file or directory"
}

# No ivshmem device (and no PCI host at all): the guest says so.
test_ivshmem_error_guest_without_device() {
	iv_setup
	vmm run "$(iv_cfg ivnodev ivshmem.elf "" "")"
	expect_status 97
	expect_out "^ivshmem: no ivshmem device \(1af4:1110\) on PCI bus 0"
}

# ---- robustness ----

# The server goes away and comes back on the same socket and memory: the
# guest keeps running, the VMM reconnects (new peer ID), and the queue
# works again once the guest has put its new ID in the header.
test_ivshmem_server_restart() {
	local id0 wpid shm="vmm-it-$$-s0"
	iv_setup
	iv_server s0
	# A first client takes peer ID 0, so the guest gets another one; after
	# the restart the VMM is the first to come back: its ID changes.
	"$TOOLS/ivshmem-tool" -s "$SOCK" -t 60000 wait 0 >"$WORK/wait.out" \
		2>&1 &
	wpid=$!
	iv_wait_for "^peer 0 waiting" "$WORK/wait.out"
	iv_start "$(iv_cfg ivrst ivshmem.elf "log=1" "$(iv_db shm0 "$SOCK")")"
	iv_wait_for "^ivshmem: 1 device, echo service running"
	tool_ok -s "$SOCK" echo-test 10
	id0=$(iv_guest_id 0)
	kill "$SRV_PID" "$wpid"
	wait "$SRV_PID" 2>/dev/null || true
	wait "$wpid" 2>/dev/null || true
	iv_wait_for "closed the connection; the guest keeps running" "$ERR"
	"$TOOLS/ivshmem-server" -F -S "$SOCK" -M "$shm" -l 1M -n 2 \
		2>"$WORK/s0.restart.log" &
	IV_SERVERS="$IV_SERVERS $!"
	iv_wait_for "reconnected to ivshmem server" "$ERR"
	iv_wait_for "^ivshmem0: peer ID now [0-9]+ \(was $id0\)"
	tool_ok -s "$SOCK" echo-test 10
	expect_tool "sequence numbers 2\.\.11"
	tool_ok -s "$SOCK" -q send quit
	iv_finish
	expect_status 0
	expect_out "^ivshmem0: quit after"
}

# The host corrupts the queue (an impossible producer index): the guest
# reports it, keeps running, and works again with a new queue.
test_ivshmem_hostile_host() {
	local f="/dev/shm/vmm-it-$$-bad"
	iv_setup
	IV_SHMS="$IV_SHMS vmm-it-$$-bad"
	tool_ok -f "$f" -z 64K --create -q init --reset
	iv_start "$(iv_cfg ivbad ivshmem.elf "log=0" "$(iv_plain shm0 "$f")")"
	iv_wait_for "^ivshmem0: queue attached: generation 1"
	# ring 0's head (offset 64) = 0x10000: more than the ring holds
	printf '\000\000\001\000' | dd of="$f" bs=1 seek=64 conv=notrunc \
		status=none
	iv_wait_for "^ivshmem0: queue corrupted by the other side"
	tool_ok -f "$f" echo-test 5
	expect_tool "sequence numbers 2\.\.6"
	tool_ok -f "$f" -q send quit
	iv_finish
	expect_status 0
	expect_out "^ivshmem0: queue attached: generation 2"
}

test_ivshmem_guest_timeout() {
	iv_setup
	iv_server s0
	vmm run "$(iv_cfg ivto ivshmem.elf "timeout=300" "$(iv_db shm0 "$SOCK")")"
	expect_status 101
	expect_out "^ivshmem: timeout after 300 ms"
	expect_out "^ivshmem0: 0 messages echoed"
}
