#!/usr/bin/env bash
# Install every Debian package vmm needs to build, test and benchmark.
# Idempotent: packages already present are not fetched again. Run as root
# (or with sudo available). README.md lists the same dependencies.
set -euo pipefail

# --- build: compiler, CMake, libraries (host architecture) ---
BUILD_PKGS=(
	build-essential cmake pkg-config
	libinih-dev   # guest.cfg parsing
	libelf-dev    # ELF images
	libfdt-dev zlib1g-dev # arm64: device tree, gzip-compressed Image
	libcriterion-dev # unit tests
	clang-format  # style check
)

# --- tests and benchmarks ---
TEST_PKGS=(
	qemu-system-x86 # benchmark peer; nested-QEMU L1 host
	qemu-system-arm # nested-QEMU arm64 L1 host (tools/nest arm64)
	cpio xz-utils   # tools/nest: L1 initramfs, uncompressed x86 kernel
	clang libclang-rt-14-dev # tools/fuzz-run: libFuzzer + ASan/UBSan
	acpica-tools    # iasl: unit tests disassemble the generated ACPI tables
	iproute2 iputils-ping # tests/integration/net.sh: netns, TAP, real ICMP
	iperf3          # tests/nested/x86_64-net.sh, bench/net: TCP throughput
	stress-ng       # bench/latency: host load next to the latency guest
	u-boot-qemu     # tests/nested/arm64-uboot.sh: U-Boot for QEMU virt (arm64)
)

# --- cross-building and running the core for arm64 ---
CROSS_PKGS=(
	gcc-aarch64-linux-gnu qemu-user-static
)
# libfdt-dev is not Multi-Arch: same (its :arm64 flavour would replace the
# host's): the cross build takes the headers from the host's libfdt-dev
# and links libfdt1:arm64's libfdt.so.1 (see the top CMakeLists.txt).
ARM64_PKGS=(
	libinih-dev:arm64 libelf-dev:arm64
	libfdt1:arm64 zlib1g-dev:arm64
)

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
check() {
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q "install ok installed" || missing+=("$p")
	done
}

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	as_root dpkg --add-architecture arm64
	need_update=1
fi
check "${BUILD_PKGS[@]}" "${TEST_PKGS[@]}" "${CROSS_PKGS[@]}" "${ARM64_PKGS[@]}"
if [ ${#missing[@]} -gt 0 ] || [ -n "${need_update:-}" ]; then
	as_root apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
	echo "install-deps: installing ${missing[*]}"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${missing[@]}"
fi
