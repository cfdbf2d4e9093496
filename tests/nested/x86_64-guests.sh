#!/usr/bin/env bash
# Run the host-KVM integration tests (ctest label kvm) of BUILD inside the
# nested x86_64 machine, where /dev/kvm is real KVM (nested SVM) instead of
# the host's instruction-emulating one.
#
#   x86_64-guests.sh BUILD [CTEST_ARGS...]
#
# Fails when no test ran or all were skipped. Inside, BUILD is shared
# read-write (tests may write next to their binaries); BUILD/Testing, where
# ctest keeps its logs, gets an L1-local tmpfs so that the inner ctest does
# not overwrite the logs of the outer ctest that runs this script.
# Environment: NEST_OPTIONS, extra tools/nest options (e.g. "-v");
# NEST_TIMEOUT, seconds (default 600).
set -euo pipefail

build=$(cd "${1:?usage: x86_64-guests.sh BUILD [CTEST_ARGS...]}" && pwd)
shift
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
mkdir -p "$build/Testing"

# shellcheck disable=SC2016,SC2086
exec "$src/tools/nest" --cache "$build/nest-cache" --rw "$build" \
	--timeout "${NEST_TIMEOUT:-600}" ${NEST_OPTIONS:-} x86_64 -- \
	bash -c 'set -o pipefail
		mount -t tmpfs ctest "$1/Testing" || exit 125
		b=$1
		shift
		ctest --test-dir "$b" -L "^kvm\$" --no-tests=error \
			--output-on-failure "$@" | tee /tmp/ctest.log
		rc=$?
		total=$(sed -n "s/.* tests failed out of \([0-9]*\)$/\1/p" /tmp/ctest.log)
		skipped=$(grep -c "(Skipped)$" /tmp/ctest.log)
		if [ "$rc" -eq 0 ] && [ "${total:-0}" -eq "$skipped" ]; then
			echo "x86_64-guests: all ${total:-0} tests skipped inside L1" >&2
			exit 1
		fi
		exit $rc' \
	bash "$build" "$@"
