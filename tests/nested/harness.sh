#!/usr/bin/env bash
# Self-tests of tools/nest (tests/nested/CMakeLists.txt, label nest-harness).
#
#   harness.sh CASE CACHE
#
# CASE:
#   exit-status  an inner "exit 3" makes tools/nest exit 3, "exit 0" 0
#   output       stdout and stderr arrive apart, intact (1 MB checksum),
#                arguments keep their quoting, stage timings are printed
#   timeout      an inner "sleep 1000" under --timeout 20 is killed: exit
#                124 and "nest: timeout after 20 s", well before 1000 s
#   no-kvm       an L1 CPU without SVM: exit 125 and the /dev/kvm message
#   cached       with everything cached, no apt-get/apt-cache/dpkg-deb runs
#                (they are replaced by failing stubs on PATH)
#   tmp-cwd      a working directory under /tmp (L1 has its own /tmp; CI
#                may clone there) is shared automatically, read-write
# Environment: NEST_OPTIONS, extra tools/nest options (e.g. "-v").
set -euo pipefail

case_=${1:?usage: harness.sh CASE CACHE}
cache=${2:?usage: harness.sh CASE CACHE}
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
nest=$src/tools/nest
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
	echo "FAIL: $*" >&2
	for f in "$tmp"/out "$tmp"/err; do
		if [ -s "$f" ]; then
			echo "--- ${f##*/}:" >&2
			tail -n 40 "$f" >&2
		fi
	done
	exit 1
}

# run ARGS...: tools/nest with stdout/stderr captured; sets $rc.
run() {
	rc=0
	# shellcheck disable=SC2086
	"$nest" --cache "$cache" ${NEST_OPTIONS:-} "$@" >"$tmp/out" \
		2>"$tmp/err" || rc=$?
	cat "$tmp/err" >&2
}

case $case_ in
exit-status)
	run x86_64 -- sh -c 'exit 3'
	[ "$rc" -eq 3 ] || fail "inner exit 3 gave $rc"
	run x86_64 -- true
	[ "$rc" -eq 0 ] || fail "inner true gave $rc"
	;;
output)
	# shellcheck disable=SC2016
	run x86_64 -- sh -c '
		printf "[%s]" "$@"; echo
		echo "marker-stderr" >&2
		seq 1 150000 | tee /tmp/seq | md5sum >&2
		cat /tmp/seq
		pwd
		test -c /dev/kvm && echo "kvm-present"
		echo "home=$HOME"' \
		sh 'a b' "it's" '$HOME' '' '*'
	[ "$rc" -eq 0 ] || fail "exit status $rc"
	[ "$(head -n 1 "$tmp/out")" = "[a b][it's][\$HOME][][*]" ] ||
		fail "arguments changed: $(head -n 1 "$tmp/out")"
	grep -qx marker-stderr "$tmp/err" || fail "stderr line missing"
	! grep -q marker-stderr "$tmp/out" || fail "stderr went to stdout"
	want=$(seq 1 150000 | md5sum | cut -d' ' -f1)
	got=$(sed -n '2,150001p' "$tmp/out" | md5sum | cut -d' ' -f1)
	[ "$got" = "$want" ] || fail "stdout corrupted (md5 $got, want $want)"
	grep -q "^$want " "$tmp/err" || fail "inner md5 differs from host's"
	[ "$(sed -n 150002p "$tmp/out")" = "$(pwd -P)" ] ||
		fail "working directory not kept"
	grep -qx kvm-present "$tmp/out" || fail "/dev/kvm missing"
	grep -qx home=/tmp "$tmp/out" || fail "HOME is not /tmp"
	for stage in "L1 boot" command total; do
		grep -Eq "^nest: $stage [0-9]+\.[0-9] s$" "$tmp/err" ||
			fail "no '$stage' timing line"
	done
	;;
timeout)
	start=$SECONDS
	run --timeout 20 x86_64 -- sh -c 'echo started; sleep 1000'
	took=$((SECONDS - start))
	[ "$rc" -eq 124 ] || fail "exit status $rc, want 124"
	grep -qx "nest: timeout after 20 s" "$tmp/err" ||
		fail "no timeout message"
	grep -qx started "$tmp/out" || fail "output before the timeout lost"
	[ "$took" -lt 60 ] || fail "took $took s"
	;;
no-kvm)
	run --cpu qemu64,-svm x86_64 -- true
	[ "$rc" -eq 125 ] || fail "exit status $rc, want 125"
	grep -q "nest: error: L1: /dev/kvm is missing inside L1" "$tmp/err" ||
		fail "no /dev/kvm message"
	;;
cached)
	mkdir -p "$tmp/bin"
	for t in apt-get apt-cache dpkg-deb; do
		printf '#!/bin/sh\necho "%s called: $*" >>"%s"\nexit 99\n' \
			"$t" "$tmp/called" >"$tmp/bin/$t"
		chmod +x "$tmp/bin/$t"
	done
	PATH=$tmp/bin:$PATH run x86_64 -- true
	[ ! -e "$tmp/called" ] || fail "cached run called: $(cat "$tmp/called")"
	[ "$rc" -eq 0 ] || fail "exit status $rc"
	! grep -Eq "nest: (fetching|building)" "$tmp/err" ||
		fail "cached run fetched or built"
	;;
tmp-cwd)
	work=$(mktemp -d /tmp/vmm-nest-cwd.XXXXXX)
	trap 'rm -rf "$tmp" "$work"' EXIT
	echo "made on the host" >"$work/in"
	cd "$work"
	run x86_64 -- sh -c 'cat in; echo inside >out; pwd'
	cd - >/dev/null
	[ "$rc" -eq 0 ] || fail "exit status $rc"
	grep -qx "made on the host" "$tmp/out" || fail "host file not visible"
	grep -qx "$work" "$tmp/out" || fail "working directory not kept"
	[ "$(cat "$work/out" 2>/dev/null)" = inside ] ||
		fail "file written inside L1 did not reach the host"
	;;
*)
	echo "unknown case $case_" >&2
	exit 2
	;;
esac
echo "PASS: $case_"
