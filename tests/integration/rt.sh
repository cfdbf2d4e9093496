# Real-time partitioning (docs/realtime.md) on this host's /dev/kvm: the
# demo guest (guest/x86/demo, a few seconds of periodic tasks) runs with
# [vm] pin / sched / io-cpus / mlock, and while it runs the test reads
# back from /proc where every thread of the VMM may run (Cpus_allowed_list),
# its policy and real-time priority (stat fields 41 and 40) and the locked
# memory (VmLck). Then the configurations that must not start, each with
# its message and exit status 2, and `vmm check`'s host readiness report.
#
# Needs two CPUs this shell may use (the first runs the VMM's other
# threads, the second the vCPU). Privilege tests need root and setpriv
# (util-linux); the cgroup test root and a cpuset hierarchy (it makes and
# removes a cgroup); the I/O thread test root, ip (iproute2) and
# /dev/net/tun; hugepage tests reserve 2 MiB pages if the pool is short
# (and give them back). Each skips with the reason otherwise.
#
# Offline CPUs and isolation come from a fake sysfs tree
# ($VMM_SYSFS_ROOT, read only for the checks; see vmm/rt.h).

RT_PID=
RT_NS=
RT_HP_RESTORE=

rt_cleanup() {
	if [ -n "$RT_PID" ]; then
		kill "$RT_PID" 2>/dev/null || true
		wait "$RT_PID" 2>/dev/null || true
	fi
	if [ -n "$RT_NS" ]; then
		ip netns del "$RT_NS" 2>/dev/null || true
	fi
	if [ -n "$RT_HP_RESTORE" ]; then
		echo "$RT_HP_RESTORE" >"$RT_HP_DIR/nr_hugepages" 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap rt_cleanup EXIT

# cpulist_expand "0-2,5" -> "0 1 2 5"
cpulist_expand() {
	local item out=()
	IFS=, read -r -a items <<<"$1"
	for item in "${items[@]}"; do
		if [[ $item == *-* ]]; then
			out+=($(seq "${item%-*}" "${item#*-}"))
		else
			out+=("$item")
		fi
	done
	echo "${out[@]}"
}

# IO_CPU, VCPU_CPU: the first two CPUs this shell may use.
rt_need_cpus() {
	local list cpus
	list=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)
	read -r -a cpus <<<"$(cpulist_expand "$list")"
	[ "${#cpus[@]}" -ge 2 ] ||
		skip "needs 2 CPUs this process may use (has $list)"
	IO_CPU=${cpus[0]}
	VCPU_CPU=${cpus[1]}
}

# rt_cfg NAME CMDLINE [VM-KEYS] [EXTRA-SECTIONS]: the demo guest.
rt_cfg() {
	{
		rt_pc_cfg "$1" demo.elf "$2" "${3:-}" rtc
		echo "${4:-}"
	} | cfg "$1"
}

# rt_pc_cfg NAME GUEST CMDLINE VM-KEYS [rtc]: pc_cfg for multiboot GUEST
# with a 120 s timeout.
rt_pc_cfg() {
	pc_cfg "$1" "timeout = 120s
$4" "format = multiboot
image = $GUESTS/$2
cmdline = $3" "${5:-}"
}

# rt_start CONFIG [ARGS...]: `vmm run` in the background (RT_PID is vmm
# itself, so its threads are /proc/$RT_PID/task/*).
rt_start() {
	OUT="$WORK/rt.out.$RANDOM"
	ERR="$WORK/rt.err.$RANDOM"
	"$VMM" run "$@" </dev/null >"$OUT" 2>"$ERR" &
	RT_PID=$!
}

# rt_start_in_ns CONFIG [ARGS...]: the same in network namespace $RT_NS.
rt_start_in_ns() {
	OUT="$WORK/rt.out.$RANDOM"
	ERR="$WORK/rt.err.$RANDOM"
	ip netns exec "$RT_NS" "$VMM" run "$@" </dev/null >"$OUT" 2>"$ERR" &
	RT_PID=$!
}

# rt_stop: the guests here run for a minute, so that a slow machine (a
# nested one under emulation) still finds them running when it looks;
# once it has looked, SIGTERM stops vmm (exit status 12).
rt_stop() {
	kill -TERM "$RT_PID" 2>/dev/null || true
	rt_finish
	expect_status 12
	expect_err "stopped by signal"
}

# rt_finish: wait for vmm (at most 60 s); sets STATUS.
rt_finish() {
	local _
	for _ in $(seq 600); do
		kill -0 "$RT_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$RT_PID" 2>/dev/null && fail "vmm still running after 60 s"
	STATUS=0
	wait "$RT_PID" || STATUS=$?
	RT_PID=
}

# rt_wait_for REGEX: until a console line matches (30 s, or vmm exits).
rt_wait_for() {
	local _
	for _ in $(seq 300); do
		grep -qE -- "$1" "$OUT" 2>/dev/null && return 0
		if ! kill -0 "$RT_PID" 2>/dev/null; then
			rt_finish
			fail "vmm exited (status $STATUS) before /$1/ appeared"
		fi
		sleep 0.1
	done
	fail "no console line /$1/ within 30 s"
}

# rt_tasks: one line per thread of vmm: "TID CPUS POLICY RTPRIO COMM"
# (stat fields 41 policy and 40 rt_priority, counted after the comm).
rt_tasks() {
	local t stat rest cpus f
	for t in /proc/"$RT_PID"/task/*; do
		stat=$(cat "$t/stat" 2>/dev/null) || continue
		rest=${stat##*) }
		read -r -a f <<<"$rest"
		cpus=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "$t/status")
		echo "${t##*/} $cpus ${f[38]} ${f[37]} $(cat "$t/comm")"
	done
}

# rt_expect_thread COMM CPUS POLICY RTPRIO: that thread exists and has them.
rt_expect_thread() {
	local line
	line=$(rt_tasks | awk -v c="$1" '$5 == c')
	[ -n "$line" ] || fail "no thread $1 in: $(rt_tasks | tr '\n' ';')"
	read -r _ cpus pol prio _ <<<"$line"
	[ "$cpus" = "$2" ] || fail "$1 may run on CPUs $cpus, expected $2"
	[ "$pol" = "$3" ] || fail "$1 has policy $pol, expected $3"
	[ "$prio" = "$4" ] || fail "$1 has RT priority $prio, expected $4"
}

# rt_expect_others CPUS: every thread that is not a vCPU runs only on CPUS
# with SCHED_OTHER (policy 0).
rt_expect_others() {
	local tid cpus pol prio comm n=0
	while read -r tid cpus pol prio comm; do
		case $comm in vcpu[0-9]*) continue ;; esac
		n=$((n + 1))
		[ "$cpus" = "$1" ] ||
			fail "thread $tid ($comm) may run on CPUs $cpus, expected only $1"
		[ "$pol" = 0 ] ||
			fail "thread $tid ($comm) has policy $pol, expected 0 (SCHED_OTHER)"
	done <<<"$(rt_tasks)"
	[ "$n" -ge 1 ] || fail "no non-vCPU thread found"
}

# A sanitizer build refuses mlock (AddressSanitizer's shadow memory).
rt_need_mlock() {
	local out
	out=$("$VMM" check "$(rt_cfg mlockprobe "run=500" "mlock = yes")" 2>&1 || true)
	case $out in
	*"not available in this sanitizer build"*)
		skip "[vm] mlock is not available in a sanitizer build"
		;;
	esac
}

vmlck_kb() {
	sed -n 's/^VmLck:[[:space:]]*\([0-9]*\) kB/\1/p' /proc/"$RT_PID"/status
}

# rt_fake_sysfs [ISOLATED [ONLINE [PRESENT]]]: a sysfs tree for the checks
# with those CPU lists (isolated also nohz_full; default none; online and
# present default to the host's). Prints its root for VMM_SYSFS_ROOT.
rt_fake_sysfs() {
	local d="$WORK/sys.$RANDOM"
	mkdir -p "$d/devices/system/cpu"
	echo "${3:-$(cat /sys/devices/system/cpu/present)}" \
		>"$d/devices/system/cpu/present"
	echo "${2:-$(cat /sys/devices/system/cpu/online)}" \
		>"$d/devices/system/cpu/online"
	echo "${1:-}" >"$d/devices/system/cpu/isolated"
	echo "${1:-(null)}" >"$d/devices/system/cpu/nohz_full"
	echo "$d"
}

# ---- a pinned SCHED_FIFO vCPU, I/O threads elsewhere, memory locked ----

test_pinned_fifo_vcpu_and_locked_memory() {
	need_guest demo.elf
	rt_need_cpus
	rt_need_mlock
	rt_start "$(rt_cfg pinned "run=60000" "pin = $VCPU_CPU
sched = fifo:10
io-cpus = $IO_CPU
mlock = yes")"
	rt_wait_for "sensor +#2 "
	rt_expect_thread vcpu0 "$VCPU_CPU" 1 10
	rt_expect_others "$IO_CPU"
	local lck
	lck=$(vmlck_kb)
	[ "${lck:-0}" -ge 32768 ] ||
		fail "VmLck is ${lck:-?} kB, expected at least the 32 MiB of guest RAM"
	if command -v chrt >/dev/null; then
		local tid
		tid=$(rt_tasks | awk '$5 == "vcpu0" { print $1 }')
		chrt -p "$tid" | grep -q "policy: SCHED_FIFO" ||
			fail "chrt -p $tid: $(chrt -p "$tid")"
		chrt -p "$tid" | grep -q "priority: 10" ||
			fail "chrt -p $tid: $(chrt -p "$tid")"
	fi
	rt_stop
	expect_no_err "cannot|not ready"
}

# Two vCPUs on two CPUs in the order given; nothing left for the other
# threads (a warning), and no sched: everything SCHED_OTHER.
test_pin_order_and_default_io_cpus() {
	need_guest demo.elf
	rt_need_cpus
	rt_start "$(rt_cfg order "run=60000" "vcpus = 2
pin = $VCPU_CPU,$IO_CPU")"
	rt_wait_for "sensor +#2 "
	rt_expect_thread vcpu0 "$VCPU_CPU" 0 0
	rt_expect_thread vcpu1 "$IO_CPU" 0 0
	rt_stop
	if [ "$(nproc)" -eq 2 ]; then
		expect_err "\\[vm\\] pin: every CPU this process may use \\(.*\\) runs a vCPU: the VMM's other threads share them; set \\[vm\\] io-cpus"
	fi
}

# Device I/O threads are created by a vCPU thread (at the driver's
# DRIVER_OK): they must still land on io-cpus with SCHED_OTHER.
test_device_io_thread_on_io_cpus() {
	need_guest demo.elf
	rt_need_cpus
	[ "$(id -u)" -eq 0 ] || skip "needs root (network namespace, TAP)"
	[ -c /dev/net/tun ] || skip "no /dev/net/tun"
	command -v ip >/dev/null || skip "needs ip (iproute2)"
	RT_NS="vmm-rt-$$-$RANDOM"
	ip netns add "$RT_NS" 2>"$WORK/ns.err" ||
		skip "cannot create a network namespace: $(cat "$WORK/ns.err")"
	ip -n "$RT_NS" tuntap add dev vmmtap0 mode tap ||
		fail "cannot create a TAP"
	ip -n "$RT_NS" link set vmmtap0 up
	rt_start_in_ns "$(rt_cfg rtnet "run=60000 net=mmio" "pin = $VCPU_CPU
sched = rr:5
io-cpus = $IO_CPU" "
[device \"net0\"]
type = virtio-net
transport = mmio
tap = vmmtap0
vhost = off")"
	rt_wait_for "^net: +virtio-net mmio"
	rt_wait_for "sensor +#2 "
	rt_expect_thread vcpu0 "$VCPU_CPU" 2 5
	rt_expect_thread net0-q0 "$IO_CPU" 0 0
	rt_expect_others "$IO_CPU"
	rt_stop
}

test_halt_poll_ns() {
	need_guest demo.elf
	vmm check "$(rt_cfg hpcheck "run=500" "halt-poll-ns = 0")"
	expect_status 0
	expect_out "^  ok    KVM halt polling up to 0 ns for this VM"
	vmm run "$(rt_cfg hp "run=500" "halt-poll-ns = 0")"
	expect_status 0
	expect_out "0 deadlines missed"
}

# ---- hugepages ----

# RT_HP_DIR and HP_AVAIL: the 2 MiB pool and its free, unreserved pages.
rt_hp_pool() {
	RT_HP_DIR=/sys/kernel/mm/hugepages/hugepages-2048kB
	[ -d "$RT_HP_DIR" ] || skip "no 2 MiB hugepages on this host"
	HP_AVAIL=$(($(cat "$RT_HP_DIR/free_hugepages") - $(cat "$RT_HP_DIR/resv_hugepages")))
}

test_hugepages_guest_ram() {
	need_guest demo.elf
	rt_hp_pool
	if [ "$HP_AVAIL" -lt 16 ]; then
		[ "$(id -u)" -eq 0 ] || skip "16 free 2 MiB hugepages needed"
		local nr
		nr=$(cat "$RT_HP_DIR/nr_hugepages")
		RT_HP_RESTORE=$nr
		echo $((nr + 16 - HP_AVAIL)) >"$RT_HP_DIR/nr_hugepages" 2>/dev/null ||
			skip "cannot grow the 2 MiB hugepage pool"
		rt_hp_pool
		[ "$HP_AVAIL" -ge 16 ] ||
			skip "the kernel gave only $HP_AVAIL free 2 MiB hugepages"
	fi
	local before
	before=$(cat "$RT_HP_DIR/free_hugepages")
	rt_start "$(rt_cfg huge "run=60000")" --set memory.ram.hugepages=2M
	rt_wait_for "sensor +#2 "
	# prefaulted (hugepages always are): all 16 pages in use, not just
	# reserved
	local now
	now=$(cat "$RT_HP_DIR/free_hugepages")
	[ $((before - now)) -ge 16 ] ||
		fail "free 2 MiB hugepages went from $before to $now, expected 16 fewer"
	rt_stop
}

test_hugepages_short_pool() {
	need_guest demo.elf
	rt_hp_pool
	[ "$HP_AVAIL" -lt 1024 ] || skip "$HP_AVAIL free hugepages: too many to exhaust"
	local want=$((HP_AVAIL + 1))
	vmm run "$(rt_cfg hshort "run=500")" \
		--set memory.ram.size=$((want * 2))M --set memory.ram.hugepages=2M
	expect_status 2
	expect_err "^vmm: error: --set:2: \\[memory \"ram\"\\] hugepages: needs $want free 2 MiB hugepages \\($want for this region\\), the host has $HP_AVAIL "
	expect_err "echo [0-9]+ > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
	[ ! -s "$OUT" ] || fail "the guest ran"
}

# ---- configurations that must not start (exit 2) ----

test_bad_pin_nonexistent_cpu() {
	need_guest demo.elf
	vmm run "$(rt_cfg nocpu "run=500" "pin = 1000")"
	expect_status 2
	expect_err "^vmm: error: .*nocpu.cfg:4: \\[vm\\] pin: vCPU 0: host CPU 1000 does not exist \\(this host's CPUs: [0-9,-]+\\)$"
	expect_err "the host is not ready for this guest \\(1 error; \`vmm check .*\` prints the full report\\)"
	[ ! -s "$OUT" ] || fail "the guest ran"
}

test_bad_pin_offline_cpu() {
	need_guest demo.elf
	VMM_SYSFS_ROOT=$(rt_fake_sysfs "" 0-2 0-3) vmm run \
		"$(rt_cfg offline "run=500" "pin = 3")"
	expect_status 2
	expect_err "^vmm: error: .*offline.cfg:4: \\[vm\\] pin: vCPU 0: host CPU 3 is offline \\(online CPUs: 0-2\\)$"
	[ ! -s "$OUT" ] || fail "the guest ran"
}

# The affinity vmm starts with is no limit: pinned anyway, with a warning
# (an isolated CPU, outside everyone's default affinity, gets none).
test_pin_outside_start_affinity() {
	need_guest demo.elf
	rt_need_cpus
	command -v taskset >/dev/null || skip "needs taskset (util-linux)"
	OUT="$WORK/rt.out.aff"
	ERR="$WORK/rt.err.aff"
	taskset -c "$IO_CPU" "$VMM" run \
		"$(rt_cfg affinity "run=60000" "pin = $VCPU_CPU")" \
		</dev/null >"$OUT" 2>"$ERR" &
	RT_PID=$!
	rt_wait_for "sensor +#2 "
	rt_expect_thread vcpu0 "$VCPU_CPU" 0 0
	rt_stop
	if ! grep -qw "$VCPU_CPU" /sys/devices/system/cpu/isolated; then
		expect_err "affinity.cfg:4: \\[vm\\] pin: vCPU 0: host CPU $VCPU_CPU is not among the CPUs vmm was started on \\($IO_CPU; taskset or CPUAffinity= narrowed them\\): it is used anyway"
	fi
}

# A cgroup whose cpuset lacks the CPU: an error naming the cgroup's file.
# Made for the test in the cpuset hierarchy (cgroup v1) or under the v2
# root if it delegates cpuset already; removed afterwards.
test_bad_pin_outside_cgroup_cpuset() {
	need_guest demo.elf
	rt_need_cpus
	[ "$(id -u)" -eq 0 ] || skip "needs root to create a cgroup"
	local root cg file
	if [ -f /sys/fs/cgroup/cpuset/cgroup.procs ]; then
		root=/sys/fs/cgroup/cpuset file=cpuset.effective_cpus
	elif grep -qw cpuset /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null; then
		root=/sys/fs/cgroup file=cpuset.cpus.effective
	else
		skip "no cpuset cgroup hierarchy to make a test cgroup in"
	fi
	cg="$root/vmm-rt-test-$$"
	mkdir "$cg" || skip "cannot create $cg"
	# shellcheck disable=SC2064 # expand now
	trap "rmdir '$cg' 2>/dev/null; rt_cleanup" EXIT
	echo "$IO_CPU" >"$cg/cpuset.cpus" || skip "cannot set $cg/cpuset.cpus"
	[ ! -f "$cg/cpuset.mems" ] || [ -s "$cg/cpuset.mems" ] ||
		cat "$root/cpuset.mems" >"$cg/cpuset.mems" 2>/dev/null ||
		cat "$root/cpuset.effective_mems" >"$cg/cpuset.mems"
	OUT="$WORK/out.cg"
	ERR="$WORK/err.cg"
	STATUS=0
	sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$cg" \
		"$VMM" run "$(rt_cfg cgroup "run=500" "pin = $VCPU_CPU")" \
		</dev/null >"$OUT" 2>"$ERR" || STATUS=$?
	expect_status 2
	expect_err "^vmm: error: .*cgroup.cfg:4: \\[vm\\] pin: vCPU 0: host CPU $VCPU_CPU is not allowed by this process's cgroup \\(/sys/fs/cgroup/.*vmm-rt-test-$$/$file: $IO_CPU\\)$"
	[ ! -s "$OUT" ] || fail "the guest ran"
}

test_bad_pin_shared_cpu() {
	need_guest demo.elf
	vmm run "$(rt_cfg shared "run=500" "vcpus = 2
pin = 1,1")"
	expect_status 2
	expect_err "^vmm: .*shared.cfg:5: \\[vm\\] pin: host CPU 1 is given to vCPU 0 and vCPU 1; each vCPU needs a CPU of its own$"
	[ ! -s "$OUT" ] || fail "the guest ran"
}

test_bad_pin_count() {
	need_guest demo.elf
	vmm run "$(rt_cfg count "run=500" "vcpus = 2
pin = 1")"
	expect_status 2
	expect_err "\\[vm\\] pin: 1 host CPU for 2 vCPUs: give one CPU per vCPU, in vCPU order"
}

test_bad_sched_priority() {
	need_guest demo.elf
	vmm run "$(rt_cfg prio "run=500" "sched = fifo:100")"
	expect_status 2
	expect_err "^vmm: .*prio.cfg:4: \\[vm\\] sched: priority 100 is out of range \\(1 to 99\\)$"
	vmm run "$(rt_cfg prio0 "run=500")" --set vm.sched=deadline:5
	expect_status 2
	expect_err "^vmm: --set:1: \\[vm\\] sched: bad policy 'deadline:5' \\(expected fifo:PRIO, rr:PRIO or other\\)$"
	vmm run "$(rt_cfg prio1 "run=500")" --set vm.sched=rr
	expect_status 2
	expect_err "'rr' needs a priority, e.g. rr:80 \\(1 to 99\\)"
}

# Without CAP_SYS_NICE and CAP_IPC_LOCK (dropped from the bounding set, so
# root loses them at exec) and with low rlimits: both errors, named.
test_missing_privileges() {
	need_guest demo.elf
	[ "$(id -u)" -eq 0 ] || skip "needs root to drop capabilities"
	command -v setpriv >/dev/null || skip "needs setpriv (util-linux)"
	rt_need_mlock
	OUT="$WORK/out.priv"
	ERR="$WORK/err.priv"
	STATUS=0
	(
		ulimit -r 0
		ulimit -l 8192
		exec setpriv --inh-caps=-all \
			--bounding-set=-sys_nice,-ipc_lock -- "$VMM" run \
			"$(rt_cfg priv "run=500" "sched = fifo:50
mlock = yes")"
	) </dev/null >"$OUT" 2>"$ERR" || STATUS=$?
	expect_status 2
	expect_err "^vmm: error: .*priv.cfg:4: \\[vm\\] sched: SCHED_FIFO priority 50 needs CAP_SYS_NICE or an RLIMIT_RTPRIO of at least 50; this process has neither \\(RLIMIT_RTPRIO is 0\\)"
	expect_err "^vmm: error: .*priv.cfg:5: \\[vm\\] mlock: locking guest RAM \\(32 MiB\\) and the VMM's memory needs CAP_IPC_LOCK or an RLIMIT_MEMLOCK of about [0-9]+ MiB; this process has neither \\(RLIMIT_MEMLOCK is 8 MiB\\)"
	expect_err "\\(2 errors;"
	[ ! -s "$OUT" ] || fail "the guest ran"
}

# ---- vmm check: the host readiness report ----

test_check_report_isolated_cpu() {
	need_guest demo.elf
	rt_need_cpus
	VMM_SYSFS_ROOT=$(rt_fake_sysfs "$VCPU_CPU") vmm check \
		"$(rt_cfg chk "run=500" "pin = $VCPU_CPU
io-cpus = $IO_CPU")"
	expect_status 0
	expect_out "^host readiness$"
	expect_out "^  ok    vCPU 0 on host CPU $VCPU_CPU: online, allowed, isolated, nohz_full$"
	expect_out "^  ok    I/O threads \\(event loop, device I/O, vhost and KVM workers\\) on host CPUs $IO_CPU$"
	expect_no_out "^  (warn|error)"
}

test_check_report_warnings() {
	need_guest demo.elf
	rt_need_cpus
	VMM_SYSFS_ROOT=$(rt_fake_sysfs) vmm check \
		"$(rt_cfg chkw "run=500" "pin = $VCPU_CPU
io-cpus = $IO_CPU,$VCPU_CPU")"
	expect_status 0
	expect_out "^  warn  .*chkw.cfg:4: \\[vm\\] pin: vCPU 0: host CPU $VCPU_CPU is not isolated \\(isolated CPUs: none\\): other tasks may run on it; boot the host with isolcpus=$VCPU_CPU"
	expect_out "^  warn  .*chkw.cfg:4: \\[vm\\] pin: vCPU 0: host CPU $VCPU_CPU is not in nohz_full \\(nohz_full CPUs: none\\)"
	expect_out "^  warn  .*chkw.cfg:5: \\[vm\\] io-cpus: host CPU $VCPU_CPU also runs vCPU 0 \\(\\[vm\\] pin\\): the VMM's I/O threads will compete with it$"
}

test_check_report_errors_exit_2() {
	need_guest demo.elf
	VMM_SYSFS_ROOT=$(rt_fake_sysfs "" 0-2 0-3) vmm check \
		"$(rt_cfg chke "run=500" "pin = 3")"
	expect_status 2
	expect_out "^  error .*chke.cfg:4: \\[vm\\] pin: vCPU 0: host CPU 3 is offline \\(online CPUs: 0-2\\)$"
	expect_out "the host is not ready: 1 error$"
}

test_check_without_rt_settings() {
	need_guest demo.elf
	vmm check "$(rt_cfg plain "run=500")"
	expect_status 0
	expect_out "^  ok    no real-time settings"
}

# ---- the latency guest (guest/x86/latency, bench/latency) ----

# rt_latency_cfg NAME CMDLINE [VM-KEYS]
rt_latency_cfg() {
	rt_pc_cfg "$1" latency.elf "$2" "${3:-}" | cfg "$1"
}

# rt_latency_expect SAMPLES TIMER: the report line is there, counts SAMPLES
# samples, min <= avg <= max and min <= p99 <= p999 <= max (the average
# may exceed p99 when a few samples are huge, so it is not compared with
# the percentiles), and the histogram holds SAMPLES samples.
rt_latency_expect() {
	local line n min avg p99 p999 max hist
	expect_status 0
	expect_out "^latency: start timer=$2 period_us=[0-9]+ samples=$1 "
	expect_out "^latency-info: timer=$2 "
	line=$(grep -E '^latency: samples=' "$OUT" | tr -d '\r')
	[[ $line =~ ^latency:\ samples=([0-9]+)\ min=([0-9]+)\ avg=([0-9]+)\ p99=([0-9]+)\ p999=([0-9]+)\ max=([0-9]+)\ \(ns\)$ ]] ||
		fail "bad report line '$line'"
	n=${BASH_REMATCH[1]} min=${BASH_REMATCH[2]} avg=${BASH_REMATCH[3]}
	p99=${BASH_REMATCH[4]} p999=${BASH_REMATCH[5]} max=${BASH_REMATCH[6]}
	[ "$n" -eq "$1" ] || fail "$n samples reported, expected $1"
	[ "$min" -le "$avg" ] && [ "$avg" -le "$max" ] ||
		fail "inconsistent: min $min avg $avg max $max"
	[ "$min" -le "$p99" ] && [ "$p99" -le "$p999" ] &&
		[ "$p999" -le "$max" ] ||
		fail "inconsistent: min $min p99 $p99 p999 $p999 max $max"
	hist=$(sed -n 's/^latency-hist: .* count=\([0-9]*\).*/\1/p' "$OUT" |
		awk '{ s += $1 } END { print s + 0 }')
	[ "$hist" -eq "$1" ] || fail "histogram holds $hist samples, expected $1"
}

test_latency_report() {
	need_guest latency.elf
	# timer=auto: TSC-deadline where KVM offers it (KVM_CAP_TSC_DEADLINE_TIMER)
	vmm run "$(rt_latency_cfg lat "period_us=1000 samples=200")"
	rt_latency_expect 200 '(deadline|oneshot)'
	vmm run "$(rt_latency_cfg lat1 "period_us=500 samples=150 timer=oneshot")"
	rt_latency_expect 150 oneshot
}

test_latency_report_pinned() {
	need_guest latency.elf
	rt_need_cpus
	vmm run "$(rt_latency_cfg latpin "period_us=1000 samples=200" \
		"pin = $VCPU_CPU
io-cpus = $IO_CPU
sched = fifo:10")"
	rt_latency_expect 200 '(deadline|oneshot)'
	expect_no_err "cannot|not ready"
}

# A timer interrupt that never comes (lose=K leaves one period unarmed):
# the second vCPU's watchdog wakes the first, the period counts as lost.
test_latency_watchdog() {
	need_guest latency.elf
	vmm run "$(rt_latency_cfg latwd "period_us=1000 samples=100 lose=30" \
		"vcpus = 2")"
	rt_latency_expect 100 '(deadline|oneshot)'
	expect_out "^latency: start .* watchdog=on$"
	expect_out "^latency-info: .* lost=1$"
	vmm run "$(rt_latency_cfg latwd1 "period_us=1000 samples=100")"
	rt_latency_expect 100 '(deadline|oneshot)'
	expect_out "^latency: start .* watchdog=off$"
	expect_out "^latency-info: .* lost=0$"
}

test_latency_bad_options() {
	need_guest latency.elf
	vmm run "$(rt_latency_cfg latbad "timer=bogus")"
	expect_status 5
	expect_out "^latency: bad timer 'bogus' \\(auto, deadline or oneshot\\)$"
	vmm run "$(rt_latency_cfg latbad2 "period_us=5")"
	expect_status 5
	expect_out "^latency: period_us=5 is out of range \\(10 to 1000000\\)$"
}
