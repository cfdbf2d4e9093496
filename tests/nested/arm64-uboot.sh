#!/usr/bin/env bash
# U-Boot (Debian's u-boot-qemu: qemu_arm64/u-boot.bin, built for QEMU's
# virt board) under `vmm run`, inside the nested arm64 L1 (tools/nest
# arm64, real KVM): it reaches its prompt, reads commands from our PL011,
# finds our virtio-mmio NIC with its own virtio-net driver (dm tree, net
# list), pings L1 through it (a TAP in L1) and powers off through PSCI
# (exit 0). tests/nested/l2/arm64-uboot-inner.sh does the work (busybox
# sh); the config is tests/nested/l2/arm64-uboot.cfg. ctest:
# nested/arm64/uboot.
#
#   arm64-uboot.sh CROSS CACHE [qemu]
#
# CROSS is the arm64 cross build with vmm, CACHE the tools/nest cache.
# With `qemu`, the same script drives U-Boot under Debian's arm64 QEMU
# first (reference; tests/nested/l2/arm64-qemu fetches it into
# CROSS/l2-arm64/qemu).
# Logs: CROSS/l2-arm64/uboot-logs/CPU/uboot.out (console) and uboot.err.
# Environment: NEST_CPUS (default "max cortex-a72"), NEST_OPTIONS,
# NEST_TIMEOUT (default 600), UBOOT (default
# /usr/lib/u-boot/qemu_arm64/u-boot.bin).
# Exit status: 0 passed, 1 failed, 77 skipped (u-boot-qemu is not
# installed), 125 harness trouble.
set -euo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
src=$(cd "$here/../.." && pwd)

cross=$(cd "${1:?usage: arm64-uboot.sh CROSS CACHE [qemu]}" && pwd)
mkdir -p "${2:?usage: arm64-uboot.sh CROSS CACHE [qemu]}"
cache=$(cd "$2" && pwd)
uboot=${UBOOT:-/usr/lib/u-boot/qemu_arm64/u-boot.bin}
if ! [ -f "$uboot" ]; then
	echo "arm64-uboot: SKIP: no $uboot (apt-get install u-boot-qemu; tools/install-deps.sh)"
	exit 77
fi
[ -x "$cross/vmm" ] || { echo "arm64-uboot: no $cross/vmm" >&2; exit 1; }
# shellcheck disable=SC2086
"$src/tools/nest" --cache "$cache" ${NEST_OPTIONS:-} --prepare arm64
runners=("$cross/vmm")
if [ "${3:-}" = qemu ]; then
	runners=("qemu:$("$here/l2/arm64-qemu" "$cross/l2-arm64/qemu")" "${runners[@]}")
fi
rc=0
for cpu in ${NEST_CPUS:-max cortex-a72}; do
	logs=$cross/l2-arm64/uboot-logs/$cpu
	rm -rf "$logs"
	mkdir -p "$logs"
	for r in "${runners[@]}"; do
		name=uboot
		[[ "$r" != qemu:* ]] || name='uboot-qemu'
		echo "=== L1 CPU $cpu: $name"
		start=$SECONDS
		s=0
		# shellcheck disable=SC2086
		"$src/tools/nest" --cache "$cache" --cpu "$cpu" --rw "$logs" \
			--timeout "${NEST_TIMEOUT:-600}" --env "NAME=$name" \
			${NEST_OPTIONS:-} arm64 -- \
			sh "$here/l2/arm64-uboot-inner.sh" "$r" "$uboot" "$logs" || s=$?
		echo "arm64-uboot: L1 CPU $cpu, $name: status $s, $((SECONDS - start)) s (L1 boot included); logs in $logs"
		[ $s -le $rc ] || rc=$s
	done
done
exit $rc
