# shellcheck shell=sh
# The checks tests/nested/x86_64-rt.sh (bash) and tests/nested/arm64-rt.sh
# (busybox sh inside the arm64 L1) share: both run a 2-vCPU guest with
# `pin = 2,3`, `sched = fifo:80`, `io-cpus = 0,1`, `mlock = yes` in an L1
# booted with `isolcpus=2,3 nohz_full=2,3`, and read back from `vmm check`
# and /proc what the VMM did. POSIX sh only. Source it, then set:
#
#   work      a scratch directory (die prints its *.out and *.err)
#   pid       the running `vmm run` (rt_threads, rt_vmlck, rt_stop)
#   failures  count of failed checks (starts at 0)

ok() { echo "ok:   $*"; }
bad() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}
die() {
	echo "FAIL: $*"
	for f in "$work"/*.out "$work"/*.err; do
		[ -s "$f" ] || continue
		echo "---- $f"
		tail -n 20 "$f"
	done
	exit 1
}

# rt_l1_isolated: L1 was booted with CPUs 2-3 isolated, or die.
rt_l1_isolated() {
	_cpu=/sys/devices/system/cpu
	echo "L1: $(uname -m), CPUs $(cat $_cpu/online) online, isolated" \
		"$(cat $_cpu/isolated), nohz_full $(cat $_cpu/nohz_full 2>/dev/null)," \
		"kernel $(uname -r)"
	[ "$(cat $_cpu/isolated)" = 2-3 ] ||
		die "L1 has isolated CPUs '$(cat $_cpu/isolated)', expected 2-3"
}

# rt_check_report OUT MIB: the readiness report of `vmm check` (its
# output in OUT) says every real-time setting is ok, for MIB MiB of RAM.
rt_check_report() {
	sed -n '/^host readiness/,$p' "$1"
	for _want in \
		'^  ok    vCPU 0 on host CPU 2: online, allowed, isolated, nohz_full$' \
		'^  ok    vCPU 1 on host CPU 3: online, allowed, isolated, nohz_full$' \
		'^  ok    I/O threads .* on host CPUs 0-1$' \
		'^  ok    vCPU threads SCHED_FIFO priority 80' \
		"^  ok    guest RAM \\($2 MiB\\) and the VMM.s memory prefaulted and locked"; do
		if grep -qE -- "$_want" "$1"; then
			ok "vmm check: /$_want/"
		else
			bad "vmm check has no line /$_want/"
		fi
	done
	if grep -qE '^  error' "$1"; then
		bad "vmm check reports errors"
	fi
}

# rt_wait_for OUT REGEX WHAT: wait up to 120 s for REGEX in OUT (the
# console of $pid), or die.
rt_wait_for() {
	_i=0
	while [ $_i -lt 600 ]; do
		grep -qE -- "$2" "$1" && return 0
		kill -0 "$pid" 2>/dev/null || die "vmm exited before $3 printed"
		sleep 0.2
		_i=$((_i + 1))
	done
	grep -qE -- "$2" "$1" || die "$3 did not print within 120 s"
}

# One line per thread of $pid: TID CPUS LASTCPU POLICY RTPRIO COMM (stat
# fields 39, 41 and 40, counted after the parenthesised comm).
rt_tasks() {
	for _t in /proc/"$pid"/task/*; do
		_stat=$(cat "$_t/stat" 2>/dev/null) || continue
		_cpus=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' \
			"$_t/status" 2>/dev/null) || continue
		echo "${_t##*/} $_cpus $(echo "${_stat##*) }" |
			awk '{ print $37, $39, $38 }') $(cat "$_t/comm")"
	done
}

# rt_threads: vcpuN may run only on CPU N+2 and last ran there, with
# SCHED_FIFO priority 80 (looked at twice, a second apart); every other
# thread may run on CPUs 0-1 only, last ran there and is SCHED_OTHER.
rt_threads() {
	rt_tasks >"$work/tasks"
	echo "threads (tid cpus last-cpu policy rtprio comm):"
	sed 's/^/  /' "$work/tasks"
	# The vCPU threads once more, a moment later: still where they belong.
	sleep 1
	rt_tasks >"$work/tasks2"
	for _n in 0 1; do
		_want=$((_n + 2))
		_before=$failures
		for _f in "$work/tasks" "$work/tasks2"; do
			# shellcheck disable=SC2046
			set -- $(awk -v c="vcpu$_n" '$6 == c' "$_f")
			if [ $# -ne 6 ]; then
				bad "no thread vcpu$_n"
				continue
			fi
			_tid=$1 _cpus=$2 _last=$3 _pol=$4 _prio=$5
			[ "$_cpus" = "$_want" ] ||
				bad "vcpu$_n may run on CPUs $_cpus, expected $_want"
			[ "$_last" = "$_want" ] ||
				bad "vcpu$_n last ran on CPU $_last, expected $_want"
			[ "$_pol" = 1 ] ||
				bad "vcpu$_n has policy $_pol, expected 1 (SCHED_FIFO)"
			[ "$_prio" = 80 ] ||
				bad "vcpu$_n has rtprio $_prio, expected 80"
		done
		[ "$failures" != "$_before" ] ||
			ok "vcpu$_n (tid $_tid): CPUs $_cpus, last ran on $_last, policy $_pol, rtprio $_prio"
	done
	_others=0
	while read -r _tid _cpus _last _pol _prio _comm; do
		case $_comm in vcpu[0-9]*) continue ;; esac
		_others=$((_others + 1))
		case $_cpus in
		0-1 | 0 | 1) ;;
		*) bad "thread $_tid ($_comm) may run on CPUs $_cpus (isolated CPU or outside io-cpus 0,1)" ;;
		esac
		case $_last in
		0 | 1) ;;
		*) bad "thread $_tid ($_comm) last ran on CPU $_last, outside io-cpus 0,1" ;;
		esac
		[ "$_pol" = 0 ] ||
			bad "thread $_tid ($_comm) has policy $_pol, expected 0 (SCHED_OTHER)"
	done <"$work/tasks"
	[ "$_others" -ge 1 ] || bad "no thread besides the vCPUs"
	ok "$_others other thread(s) on CPUs 0-1 only, SCHED_OTHER"
}

# rt_vmlck MIB: $pid has at least MIB MiB locked (the guest RAM).
rt_vmlck() {
	_lck=$(sed -n 's/^VmLck:[[:space:]]*\([0-9]*\) kB/\1/p' /proc/"$pid"/status)
	if [ "${_lck:-0}" -ge $(($1 * 1024)) ]; then
		ok "VmLck ${_lck} kB >= $(($1 * 1024)) kB of guest RAM"
	else
		bad "VmLck is ${_lck:-?} kB, expected at least the $1 MiB of guest RAM"
	fi
}

# rt_stop ERR: SIGTERM to $pid, which must exit 12 and have said nothing
# about missing privileges or an unready host on stderr (ERR).
rt_stop() {
	kill -0 "$pid" 2>/dev/null || bad "vmm exited while the checks ran"
	kill -TERM "$pid"
	_st=0
	wait "$pid" || _st=$?
	pid=
	[ "$_st" = 12 ] || bad "vmm exited $_st after SIGTERM, expected 12"
	if grep -qE 'cannot|not ready' "$1"; then
		bad "vmm stderr: $(cat "$1")"
	fi
}
