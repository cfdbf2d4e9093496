#!/usr/bin/env bash
# arm64 steps of the nested tests (tests/nested/CMakeLists.txt).
#
#   arm64.sh build     SRC CROSS         configure (once) and build the arm64
#                                        cross build in CROSS
#   arm64.sh qemu-user CROSS             its unit tests under qemu-user
#   arm64.sh unit      SRC CROSS CACHE   its unit tests natively inside the
#                                        arm64 nested machine (tools/nest)
#
# Environment: NEST_OPTIONS, extra tools/nest options (e.g. "-v").
set -euo pipefail

step=${1:-}
case $step in
build)
	src=$2 cross=$3
	if [ ! -e "$cross/CMakeCache.txt" ]; then
		cmake -S "$src" -B "$cross" \
			-DCMAKE_TOOLCHAIN_FILE="$src/cmake/toolchain-aarch64.cmake"
	fi
	cmake --build "$cross" -j "$(nproc)"
	;;
qemu-user)
	cross=$2
	exec ctest --test-dir "$cross" -L unit --no-tests=error \
		--output-on-failure
	;;
unit)
	src=$2 cross=$3 cache=$4
	ctest --test-dir "$cross" -L unit --show-only=json-v1 \
		>"$cross/nest-unit.json"
	cmake -DJSON="$cross/nest-unit.json" -DOUT="$cross/nest-unit.sh" \
		-P "$src/tests/nested/ctest-to-sh.cmake"
	# Inside, sh is L1's busybox; the test binaries are the cross-built
	# ones, with the host's arm64 libc and the Criterion sysroot in CROSS.
	# shellcheck disable=SC2086
	exec "$src/tools/nest" --cache "$cache" --rw "$cross" --timeout 900 \
		${NEST_OPTIONS:-} arm64 -- sh "$cross/nest-unit.sh"
	;;
*)
	echo "usage: $0 build SRC CROSS | qemu-user CROSS | unit SRC CROSS CACHE" >&2
	exit 2
	;;
esac
