#!/usr/bin/env bash
# Debian's arm64 Linux kernel under `vmm run`, inside the nested arm64 L1
# (tools/nest arm64, real KVM): boot to a busybox init with 1 and 2 vCPUs,
# check what the kernel found (PSCI, GICv3, timer, PL011, PL031), Linux's
# virtio_net driver on our virtio-mmio NIC (a TAP in L1: carrier, address,
# pings to L1), power-off (PSCI SYSTEM_OFF: exit 0) and reset (PSCI
# SYSTEM_RESET: exit 8). For each L1 CPU model in NEST_CPUS: -cpu max (VHE
# KVM) and cortex-a72 (non-VHE KVM). ctest: nested/arm64/linux.
#
#   arm64-linux.sh CROSS CACHE [CASE...]
#
# CROSS is the arm64 cross build with vmm (cmake/toolchain-aarch64.cmake,
# the cross-arm64 fixture); CACHE the tools/nest cache (the nest-arm64
# fixture). The kernel is CACHE/arm64/vmlinuz (linux-image-arm64's
# vmlinuz), the initramfs tests/nested/l2/arm64-mkinitrd's
# (CROSS/l2-arm64/initrd.cpio). The cases run inside one tools/nest
# invocation per CPU model (tests/nested/l2/arm64-linux-inner.sh, busybox
# sh): net-1cpu, net-2cpu, reboot, gzip (the kernel gzip-compressed, as
# CROSS/l2-arm64/Image.gz; default: these four), and qemu-net, the
# same guest under Debian's arm64 QEMU for reference (needs
# tests/nested/l2/arm64-qemu: fetched into CROSS/l2-arm64/qemu).
#
# Logs: CROSS/l2-arm64/logs/CPU/CASE.out (guest console) and CASE.err.
# Environment: NEST_CPUS (default "max cortex-a72"), NEST_OPTIONS (extra
# tools/nest options), NEST_TIMEOUT (seconds per L1 run, default 900),
# GUEST_SECS (per boot, default 240).
# Exit status: 0 all passed, 1 a case failed, 125 harness trouble.
set -euo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
src=$(cd "$here/../.." && pwd)
all_cases=(net-1cpu net-2cpu reboot gzip qemu-net)

cross=$(cd "${1:?usage: arm64-linux.sh CROSS CACHE [CASE...]}" && pwd)
mkdir -p "${2:?usage: arm64-linux.sh CROSS CACHE [CASE...]}"
cache=$(cd "$2" && pwd)
shift 2
# shellcheck source=arm64-l1-lib.sh
. "$here/arm64-l1-lib.sh"
arm64_prepare arm64-linux "${all_cases[*]}" vmm "$@"
initrd=$("$here/l2/arm64-mkinitrd" "$cache" "$cross/l2-arm64")
kernel=$cache/arm64/vmlinuz
envs=(--env GUEST_SECS)
if [ $# -eq 0 ] || [[ " $* " == *" gzip "* ]]; then
	# The VMM inflates gzip-compressed Images (arch/arm64/image.c).
	gz=$cross/l2-arm64/Image.gz
	if ! [ "$gz" -nt "$kernel" ]; then
		gzip -6 -c "$kernel" >"$gz.tmp.$$"
		mv "$gz.tmp.$$" "$gz"
	fi
	envs+=(--env "KERNEL_GZ=$gz")
fi
if [[ " $* " == *" qemu-net "* ]]; then
	envs+=(--env "QEMU=$("$here/l2/arm64-qemu" "$cross/l2-arm64/qemu")")
fi
# run_l1 CPU LOGS [CASE...]: the cases in one L1.
run_l1() {
	local cpu=$1 logs=$2
	shift 2
	# shellcheck disable=SC2086
	"$src/tools/nest" --cache "$cache" --cpu "$cpu" --rw "$logs" \
		--timeout "${NEST_TIMEOUT:-900}" "${envs[@]}" ${NEST_OPTIONS:-} \
		arm64 -- sh "$here/l2/arm64-linux-inner.sh" "$cross/vmm" \
		"$kernel" "$initrd" "$logs" "$@"
}
arm64_each_cpu arm64-linux "$cross/l2-arm64/logs" "$@"
