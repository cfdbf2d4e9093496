#!/usr/bin/env bash
# PCI on arm64 inside the nested arm64 L1 (tools/nest arm64, real KVM):
# Debian's arm64 kernel under `vmm run` finds our generic ECAM host bridge
# (pcie@3f000000, msi-map to the GICv3 ITS) and drives
#   net-pci           virtio-net, transport = pci: Linux's virtio_pci with
#                     MSI-X through the ITS (ITS-MSI lines that count),
#                     pings to L1 over a TAP
#   net-pci-2cpu      the same with 2 vCPUs, the MSIs moved to CPU 1 (the
#                     ITS re-maps them to the second redistributor)
#   net-pci-vhost     net-pci with vhost = on (L1's vhost-net kernel
#                     thread fires the MSI routes' irqfds)
#   ivshmem-plain     ivshmem on a file in L1's /dev/shm, BAR2 mapped
#                     through sysfs resource2, markers both ways
#   ivshmem-doorbell  ivshmem through tools/ivshmem-server in L1: the guest
#                     reads IVPosition and rings ivshmem-tool's peer
#                     through BAR0; the tool sees the doorbell; then
#                     ivshmem-tool rings the guest, whose MSI-X is on
#                     with the function masked: the PBA shows it
#   ivshmem-guest     the bare-metal guest/arm64/ivshmem.elf with its own
#                     ITS set-up: it rings ivshmem-tool (which sees it),
#                     and ivshmem-tool's doorbells on its vectors 0 and 1
#                     arrive as LPIs (MSI-X -> ITS -> LPI) that it counts
# For each L1 CPU model in NEST_CPUS: -cpu max (VHE KVM) and cortex-a72
# (non-VHE KVM). ctest: nested/arm64/pci-max, pci-cortex-a72.
#
#   arm64-pci.sh CROSS CACHE [CASE...]
#
# CROSS is the arm64 cross build (cmake/toolchain-aarch64.cmake: vmm,
# tools/ivshmem-server, tools/ivshmem-tool, guest/arm64/ivshmem.elf; the
# cross-arm64 fixture); CACHE
# the tools/nest cache (the nest-arm64 fixture): the kernel is
# CACHE/arm64/vmlinuz, the initramfs tests/nested/l2/arm64-pci-mkinitrd's.
# The cases run in one tools/nest invocation per CPU model
# (tests/nested/l2/arm64-pci-inner.sh, busybox sh).
#
# Logs: CROSS/l2-arm64/pci-logs/CPU/. Environment: NEST_CPUS (default
# "max cortex-a72"), NEST_OPTIONS, NEST_TIMEOUT (seconds per L1 run,
# default 900), GUEST_SECS (per boot, default 240).
# Exit status: 0 all passed, 1 a case failed, 125 harness trouble.
set -euo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
src=$(cd "$here/../.." && pwd)
all_cases=(net-pci net-pci-2cpu net-pci-vhost ivshmem-plain ivshmem-doorbell
	ivshmem-guest)

cross=$(cd "${1:?usage: arm64-pci.sh CROSS CACHE [CASE...]}" && pwd)
mkdir -p "${2:?usage: arm64-pci.sh CROSS CACHE [CASE...]}"
cache=$(cd "$2" && pwd)
shift 2
# shellcheck source=arm64-l1-lib.sh
. "$here/arm64-l1-lib.sh"
arm64_prepare arm64-pci "${all_cases[*]}" \
	"vmm tools/ivshmem-server tools/ivshmem-tool guest/arm64/ivshmem.elf" "$@"
initrd=$("$here/l2/arm64-pci-mkinitrd" "$cache" "$cross/l2-arm64")
# run_l1 CPU LOGS [CASE...]: the cases in one L1.
run_l1() {
	local cpu=$1 logs=$2
	shift 2
	# shellcheck disable=SC2086
	"$src/tools/nest" --cache "$cache" --cpu "$cpu" --rw "$logs" \
		--timeout "${NEST_TIMEOUT:-900}" --env GUEST_SECS ${NEST_OPTIONS:-} \
		arm64 -- sh "$here/l2/arm64-pci-inner.sh" "$cross" \
		"$cache/arm64/vmlinuz" "$initrd" "$logs" "$@"
}
arm64_each_cpu arm64-pci "$cross/l2-arm64/pci-logs" "$@"
