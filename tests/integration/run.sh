#!/usr/bin/env bash
# run.sh SUITE TEST: run one integration test function from SUITE.sh.
# Exit 0 pass, 1 fail, 77 skip (ctest SKIP_RETURN_CODE).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
suite=$1
test=$2
: "${VMM:?VMM must point at the vmm binary}"
: "${GUESTS:?GUESTS must point at the built guests}"

if [ "$suite" = cli ]; then
	:
elif [ ! -e /dev/kvm ]; then
	echo "SKIP: /dev/kvm does not exist on this machine"
	exit 77
fi
if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	echo "SKIP: no read/write permission on /dev/kvm"
	exit 77
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vmm-it.XXXXXX")
export WORK
trap 'rm -rf "$WORK"' EXIT
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck disable=SC1090
. "$here/$suite.sh"
set -e
"$test"
echo "PASS: $suite/$test"
