# shellcheck shell=bash
# shellcheck disable=SC2154 # src, cross and cache are the caller's
# Host-side helpers for the scripts that run their cases inside the nested
# arm64 L1 (tools/nest arm64): tests/nested/arm64-linux.sh and
# arm64-pci.sh. Source it once src (the source tree), cross (the arm64
# cross build) and cache (the tools/nest cache) are set:
#
#   . "$here/arm64-l1-lib.sh"
#
# Functions:
#   arm64_prepare NAME ALL-CASES FILES [CASE...]
#                           every CASE is one of ALL-CASES (a word list;
#                           else exit 2), every FILE (a word list) is an
#                           executable under $cross (else exit 1), and the
#                           arm64 L1 is ready (tools/nest --prepare)
#   arm64_each_cpu NAME LOGROOT [CASE...]
#                           for each L1 CPU model in NEST_CPUS (default
#                           "max cortex-a72"): an empty LOGROOT/CPU, then
#                           the caller's run_l1 CPU LOGS [CASE...] and a
#                           line with its status and time; exits with the
#                           highest status

arm64_prepare() {
	local name=$1 all=$2 files=$3 c f
	shift 3
	for c in "$@"; do
		[[ " $all " == *" $c "* ]] ||
			{ echo "$name: unknown case $c ($all)" >&2; exit 2; }
	done
	for f in $files; do
		[ -x "$cross/$f" ] || { echo "$name: no $cross/$f" >&2; exit 1; }
	done
	# Cheap when the fixture has run: fetches and builds only what is
	# missing.
	# shellcheck disable=SC2086
	"$src/tools/nest" --cache "$cache" ${NEST_OPTIONS:-} --prepare arm64
}

arm64_each_cpu() {
	local name=$1 root=$2 cpu logs start r rc=0
	shift 2
	for cpu in ${NEST_CPUS:-max cortex-a72}; do
		logs=$root/$cpu
		rm -rf "$logs"
		mkdir -p "$logs"
		echo "=== L1 CPU $cpu"
		start=$SECONDS
		r=0
		run_l1 "$cpu" "$logs" "$@" || r=$?
		echo "$name: L1 CPU $cpu: status $r, $((SECONDS - start)) s (L1 boot included); logs in $logs"
		if [ $r -gt $rc ]; then
			rc=$r
		fi
	done
	exit $rc
}
