# shellcheck shell=bash
# Helpers for scripts that run an L2 Linux guest inside the nested x86_64
# L1 (tools/nest): watch a VMM process (ours or QEMU) for the failures the
# nested environment causes, and retry such a boot. Source it from bash:
#
#   . "$here/l2/lib.sh"
#
# Under nested emulation (QEMU TCG as L0 with SVM, KVM in L1) QEMU's TCG
# sometimes delivers an interrupt that L1's KVM injected a second time
# (docs/nested.md): the L2 kernel then deadlocks in its timer interrupt
# (a vCPU spins with interrupts off; the console goes silent) or
# double-faults and panics. Neither says anything about the VMM. The
# mitigations ([vm] pv-eoi = no for ours, -cpu host,-kvm-pv-eoi for QEMU)
# make it rarer, not impossible: run_guest detects it and boots again.
#
# The functions work under set -e as well as without it.
#
# Settings (globals, set them before calling):
#   stall_secs     a console silent this long makes watch_vmm look at what
#                  the guest does (default 15)
#   init_deadline  seconds from the start by which the console must show
#                  init_marker, else the boot counts as hung (default 0:
#                  no deadline)
#   init_marker    default VMM-L2-INIT-OK
#   max_attempts   boots per run_guest (default 4)
#   panic_reboots  a run of BOOTS > 1 boots (--on-reboot=restart) may
#                  hold this many boots that panicked (panic=-1 resets,
#                  and the VMM boots again: a restart like any other)
#                  before watch_vmm gives up on it (default 0: a panic
#                  ends the run like in a single boot)
#   logs           if set, run_guest copies the console of each failed
#                  attempt to $logs/NAME.hangN.out
#
# Functions:
#   elapsed A B            seconds (2 decimals) between two $EPOCHREALTIME
#   allowed_klog           filter: kernel messages (level 0-4) without the
#                          ones known to say nothing about the VMM
#   hang_signature         "RIP ..." if the guest spins (see below)
#   boot_states OUT        one line per kernel boot in OUT: clean,
#                          panic, stall or running
#   clean_boots OUT        OUT without the boots that panicked or stalled
#   watch_vmm PID OUT [BOOTS]
#                          wait for PID; sets hang (empty: not hung)
#   run_guest NAME OUT ERR [BOOTS] -- COMMAND...
#                          run COMMAND (the VMM) up to max_attempts times
#                          while it hangs or panics; sets rc, attempt,
#                          hang and appends to the array hangs
#   run_guest_hook         if a function of this name is set in the
#                          variable run_guest_hook, run_guest calls
#                          "$run_guest_hook start PID OUT" after starting
#                          each attempt and "$run_guest_hook end" after it
#                          ended (e.g. to drive the guest from L1)

: "${stall_secs:=15}"
: "${init_deadline:=0}"
: "${init_marker:=VMM-L2-INIT-OK}"
: "${max_attempts:=4}"
: "${panic_reboots:=0}"
run_guest_hook=${run_guest_hook:-}
hangs=()

# Seconds with two decimals between two $EPOCHREALTIME values.
elapsed() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'
}

# Kernel messages of level 0-4 (the inits' "klog:" lines, without the
# prefix) that say nothing about the VMM, each with the reason:
# - XSAVE consistency warning (arch/x86/kernel/fpu/xstate.c) and its
#   CPUID[0d, ..] dump: QEMU's TCG (L0) does not intercept XSETBV for the
#   nested guest, so L1's KVM never sees the guest's XCR0 and CPUID 0xd.0
#   EBX keeps the x87/SSE size (576). QEMU as L2 VMM gets the same.
# - "PCI: Fatal: No config space access function found", "PCI: System
#   does not support PCI": a configuration without PCI devices has no
#   PCI host bridge.
# - "hrtimer: interrupt took N ns": an interrupt handler ran for
#   milliseconds, as everything does under emulation.
# - "Unstable clock detected, switching default tracing clock" (4 lines):
#   kvm-clock without the stable bit, as the emulated L1 host has no
#   stable TSC.
# - "clocksource: timekeeping watchdog on CPUn: Marking clocksource 'tsc'
#   as unstable because the skew is too large" (and its 3 detail lines):
#   the same emulated TSC drifting against kvm-clock by a millisecond or
#   two per half second while the machine is loaded (seen once in a CI
#   run); the guest keeps kvm-clock, which L1's KVM provides.
allowed_klog() {
	awk '
	/------------\[ cut here \]------------/ { inblk = 1; blk = $0; n = 0; next }
	inblk {
		blk = blk "\n" $0
		if ($0 ~ /---\[ end trace/) {
			inblk = 0
			if (blk !~ /XSAVE consistency problem/)
				print blk
		}
		next
	}
	/CPUID\[0d, [0-9a-f]+\]:/ { next }
	/PCI: Fatal: No config space access function found/ { next }
	/PCI: System does not support PCI/ { next }
	/hrtimer: interrupt took [0-9]+ ns/ { next }
	/Unstable clock detected, switching default tracing clock/ { uc = 3; next }
	uc > 0 { uc--; next }
	/clocksource: timekeeping watchdog on CPU[0-9]+: Marking clocksource .tsc. as unstable because the skew is too large/ { cw = 3; next }
	cw > 0 && /clocksource: +.(kvm-clock|tsc)./ { cw--; next }
	{ print }
	END { if (inblk) print blk }'
}

# The nested environment sometimes freezes a guest (QEMU microvm as well
# as ours, see docs/linux-guest.md): a vCPU spins at one instruction with
# interrupts off, and the only exits are the L1 host's own interrupts.
# hang_signature: trace KVM exits for a second and print "RIP ..." if that
# is what the (silent) guest does; nothing if it does anything else
# (I/O, halts, page faults) or if tracing is unavailable.
hang_signature() {
	local t=/sys/kernel/tracing
	[ -e $t/events/kvm/kvm_exit/enable ] ||
		mount -t tracefs tracefs $t 2>/dev/null || return 0
	[ -e $t/events/kvm/kvm_exit/enable ] || return 0
	: >$t/trace
	echo 1 >$t/events/kvm/kvm_exit/enable
	sleep 1
	echo 0 >$t/events/kvm/kvm_exit/enable
	awk '/kvm_exit: vcpu/ {
		for (i = 1; i <= NF; i++) {
			if ($i == "vcpu") v = $(i + 1)
			if ($i == "reason") r = $(i + 1)
			if ($i == "rip") p = $(i + 1)
		}
		n++
		if (r != "interrupt" && r != "vintr") other[r]++
		if (!((v, p) in seen)) { seen[v, p] = 1; rips[v]++; list = list " vcpu" v ":" p }
	}
	END {
		if (!n) exit
		for (r in other) exit
		for (v in rips) if (rips[v] > 2) exit
		print "RIP" list " (" n " exits in 1 s, all host interrupts)"
	}' $t/trace
	: >$t/trace
}

# The guest's panic message, if OUT has one (a double fault ends in
# "Kernel panic - not syncing: Machine halted."), or its RCU stall report:
# under nested emulation a vCPU halted in the idle loop sometimes never
# gets its wake-up (timer or IPI, both delivered by L1's in-kernel LAPIC,
# not by the VMM), and the other vCPU reports the stall while the console
# stays busy, so the silent-console check never fires.
panic_re='Kernel panic - not syncing|double fault: 0000'
stall_re='rcu: INFO: rcu_(preempt|sched) detected stalls'
panic_line() {
	tr -d '\r' <"$1" | grep -a -m1 -E "$panic_re|$stall_re" || true
}

# The kernel boots in the console log OUT (each starts with "Linux
# version"), one line each: clean (reached "VMM-L2-ACTION:" and did not
# panic), panic (panicked: with panic=-1 it resets), stall (an RCU stall
# report: it does not reset) or running (none of these yet).
boot_states() {
	tr -d '\r' <"$1" | awk -v pre="$panic_re" -v sre="$stall_re" '
	/Linux version / { if (n) print st; n++; st = "running" }
	!n { next }
	/VMM-L2-ACTION:/ { if (st == "running") st = "clean" }
	$0 ~ pre { st = "panic" }
	$0 ~ sre { if (st != "panic") st = "stall" }
	END { if (n) print st }'
}

# OUT (a console log) without the kernel boots that panicked or stalled.
clean_boots() {
	tr -d '\r' <"$1" | awk -v re="$panic_re|$stall_re" '
	function flush() { if (seg != "" && !bad) printf "%s", seg; seg = ""; bad = 0 }
	/Linux version / { flush() }
	$0 ~ re { bad = 1 }
	{ seg = seg $0 "\n" }
	END { flush() }'
}

# watch_vmm PID OUT [BOOTS]: wait for the VMM PID, whose stdout (the
# guest console) goes to OUT. Stops it (SIGTERM) once BOOTS > 1 boots have
# reported "VMM-L2-ACTION:" without panicking (restarts go on forever);
# when the console has been silent for $stall_secs and the guest shows
# the hang signature, or for 4 times $stall_secs whatever it does; when
# the guest panicked (with BOOTS > 1: more than
# $panic_reboots times, or without resetting within 20 s) or stalled; or
# when $init_marker is not there after $init_deadline seconds. Sets hang
# to a description in all cases but the first, else empty (also checked
# after the VMM exited by itself: a panicking guest with panic=-1 resets,
# and the VMM exits on the reset).
watch_vmm() {
	local pid=$1 out=$2 boots=${3:-1} last=-1 size quiet=0 sig t=0 p
	local states panic_t=0 silent=0 n
	hang=
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		t=$((t + 1))
		if [ "$boots" -gt 1 ]; then
			states=$(boot_states "$out")
			if [ "$(grep -c '^clean$' <<<"$states")" -ge "$boots" ]; then
				kill -TERM "$pid" 2>/dev/null || true
				break
			fi
		fi
		if [ "$boots" -gt 1 ] && [ "$panic_reboots" -gt 0 ]; then
			# A panicked boot is fine while the VMM boots again.
			p=
			case $(tail -n 1 <<<"$states") in
			panic)
				[ $panic_t -gt 0 ] || panic_t=$t
				[ $((t - panic_t)) -lt 20 ] ||
					p="a boot panicked and did not reset within 20 s"
				;;
			stall) p=$(panic_line "$out") ;;
			*) panic_t=0 ;;
			esac
			[ "$(grep -c '^panic$' <<<"$states")" -le "$panic_reboots" ] ||
				p="more than $panic_reboots boots panicked, the first: $(panic_line "$out")"
		else
			p=$(panic_line "$out")
		fi
		if [ -n "$p" ]; then
			hang="guest panicked or stalled: '$(echo "$p" | cut -c1-130)'"
			sleep 1
			kill -TERM "$pid" 2>/dev/null || true
			break
		fi
		if [ "$init_deadline" -gt 0 ] && [ $t -ge "$init_deadline" ] &&
			! grep -q "$init_marker" "$out"; then
			hang="no $init_marker after $t s (last line: '$(tail -n 1 "$out" | tr -d '\r' | cut -c1-70)')"
			kill -TERM "$pid" 2>/dev/null || true
			break
		fi
		size=$(stat -c %s "$out")
		if [ "$size" != "$last" ]; then
			last=$size quiet=0 silent=0
			continue
		fi
		quiet=$((quiet + 1)) silent=$((silent + 1))
		if [ $silent -ge $((4 * stall_secs)) ]; then
			hang="console silent for $silent s after: '$(tail -n 1 "$out" | tr -d '\r' | cut -c1-70)'"
			kill -TERM "$pid" 2>/dev/null || true
			break
		fi
		[ $quiet -ge "$stall_secs" ] || continue
		quiet=0
		sig=$(hang_signature)
		if [ -n "$sig" ]; then
			hang="guest frozen after: '$(tail -n 1 "$out" | tr -d '\r' | cut -c1-70)': $sig"
			kill -TERM "$pid" 2>/dev/null || true
			break
		fi
	done
	if [ -z "$hang" ] && [ "$boots" -gt 1 ] && [ "$panic_reboots" -gt 0 ]; then
		n=$(boot_states "$out" | grep -c '^clean$')
		[ "$n" -ge "$boots" ] ||
			hang="the VMM stopped after $n clean boot(s) of $boots: $(panic_line "$out" | cut -c1-90)"
	elif [ -z "$hang" ]; then
		p=$(panic_line "$out")
		[ -z "$p" ] || hang="guest panicked or stalled: '$(echo "$p" | cut -c1-90)'"
	fi
}

# run_guest NAME OUT ERR [BOOTS] -- COMMAND...: run COMMAND with stdin
# /dev/null, stdout OUT and stderr ERR, watched by watch_vmm; boot again
# (at most $max_attempts times in all) while the guest hangs or panics.
# Sets rc (the last attempt's exit status), attempt (attempts made), hang
# (non-empty: the last attempt hung too) and t_start/t_end
# ($EPOCHREALTIME around the last attempt); every hang is appended to the
# array hangs as "NAME: DESCRIPTION" and printed.
# shellcheck disable=SC2034 # rc, attempt, t_start, t_end: for the caller
run_guest() {
	local name=$1 out=$2 err=$3 boots=1 pid
	shift 3
	if [ "$1" != -- ]; then
		boots=$1
		shift
	fi
	[ "$1" = -- ] && shift
	for ((attempt = 1; attempt <= max_attempts; attempt++)); do
		rc=0
		t_start=$EPOCHREALTIME
		"$@" >"$out" 2>"$err" </dev/null &
		pid=$!
		[ -z "$run_guest_hook" ] || "$run_guest_hook" start "$pid" "$out"
		watch_vmm "$pid" "$out" "$boots"
		wait "$pid" || rc=$?
		t_end=$EPOCHREALTIME
		[ -z "$run_guest_hook" ] || "$run_guest_hook" end
		[ -n "$hang" ] || break
		echo "  attempt $attempt: $hang"
		[ -z "${logs:-}" ] ||
			cp "$out" "$logs/$name.hang$attempt.out" 2>/dev/null || true
		hangs+=("$name: $hang")
	done
	[ "$attempt" -le "$max_attempts" ] || attempt=$max_attempts
}
