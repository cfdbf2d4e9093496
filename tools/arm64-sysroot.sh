#!/usr/bin/env bash
# Build the arm64 "sysroot" the cross build (cmake/toolchain-aarch64.cmake)
# links its unit tests against, and the qemu-user exec helper they run with.
#
#   tools/arm64-sysroot.sh DIR
#
# Why: libcriterion-dev:arm64 cannot be co-installed with the amd64 one on
# Debian 12 (its dependency libnanomsg5 has a binNMU on amd64 only, so the
# two architectures' versions differ and Multi-Arch: same refuses them),
# and the native build needs the amd64 one. So the arm64 Criterion is not
# installed: its packages are fetched with `apt-get download` and unpacked
# with `dpkg-deb -x` into DIR/root. Runtime libraries Criterion needs that
# are not already installed for arm64 (libinih-dev:arm64 and libelf-dev:arm64
# from tools/install-deps.sh bring libc6:arm64 and a few more) are fetched
# the same way. libc6 itself is never taken into DIR: the binaries run with
# the system's arm64 libc (/lib/ld-linux-aarch64.so.1), under qemu-user on
# the host and natively inside the arm64 nested machine (tools/nest), which
# sees the host's root.
#
# Result:
#   DIR/root/usr/include/criterion/...            headers
#   DIR/root/usr/lib/aarch64-linux-gnu/*.so*      libraries
#   DIR/pkgconfig/criterion.pc                    points at DIR/root (no
#                                                 Requires.private: linked
#                                                 dynamically)
#   DIR/qemu-user-exec.so                         tools/qemu-user-exec.c
#   DIR/.complete                                 the packages in DIR
#
# Idempotent: once DIR/.complete exists no apt command runs again; the
# helper is rebuilt only when its source is newer. Needs the arm64 dpkg
# architecture and apt lists (tools/install-deps.sh does both).
set -euo pipefail

die() {
	echo "arm64-sysroot: $*" >&2
	exit 1
}

[ $# -eq 1 ] || die "usage: $0 DIR"
dir=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
triplet=aarch64-linux-gnu
cc=${CROSS_CC:-$triplet-gcc}

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# Packages whose files go into the sysroot, and where the runtime closure
# starts. The -dev package's own Depends (libgit2-dev, libnanomsg-dev, ...)
# only serve static linking and are not followed.
ROOTS=(libcriterion-dev libcriterion3)
# Never taken into the sysroot: the C runtime comes from the system.
BASE=(libc6 libgcc-s1 gcc-12-base)

installed_arm64() {
	dpkg-query -W -f='${Status}' "$1:arm64" 2>/dev/null |
		grep -q "install ok installed"
}

runtime_deps() {
	apt-cache depends --no-recommends --no-suggests --no-conflicts \
		--no-breaks --no-replaces --no-enhances "${@/%/:arm64}" |
		awk '$1 == "Depends:" || $1 == "PreDepends:" ||
		     $1 == "|Depends:" || $1 == "|PreDepends:" { print $2 }' |
		grep -v '^<' | sed 's/:arm64$//' | sort -u
}

fetch_packages() {
	local -A seen=()
	local queue=(libcriterion3) pkgs=("${ROOTS[@]}") p d
	for p in "${BASE[@]}"; do
		seen[$p]=1
	done
	for p in "${ROOTS[@]}"; do
		seen[$p]=1
	done
	# Breadth first, one apt-cache call per level.
	while [ ${#queue[@]} -gt 0 ]; do
		local next=()
		for d in $(runtime_deps "${queue[@]}"); do
			[ -z "${seen[$d]:-}" ] || continue
			seen[$d]=1
			if [ -z "${VMM_SYSROOT_IGNORE_INSTALLED:-}" ] &&
				installed_arm64 "$d"; then
				continue
			fi
			pkgs+=("$d")
			next+=("$d")
		done
		queue=("${next[@]}")
	done

	echo "arm64-sysroot: fetching ${pkgs[*]}" >&2
	rm -rf "$dir/debs" "$dir/root" "$dir/pkgconfig"
	mkdir -p "$dir/debs" "$dir/root" "$dir/pkgconfig"
	local apt_opts=(-q)
	# As root, apt drops to the _apt user for downloads and warns when
	# that user cannot write the target directory: keep root.
	[ "$(id -u)" -ne 0 ] || apt_opts+=(-o APT::Sandbox::User=root)
	(cd "$dir/debs" && apt-get "${apt_opts[@]}" download \
		"${pkgs[@]/%/:arm64}" >/dev/null) ||
		die "apt-get download failed (is the arm64 architecture added and apt-get update done? run tools/install-deps.sh)"
	local deb
	for deb in "$dir"/debs/*.deb; do
		dpkg-deb -x "$deb" "$dir/root"
	done

	local libdir=$dir/root/usr/lib/$triplet
	[ -e "$libdir/libcriterion.so" ] ||
		die "no libcriterion.so in the unpacked packages"
	local version
	version=$(sed -n 's/^Version: *//p' "$libdir/pkgconfig/criterion.pc")
	cat >"$dir/pkgconfig/criterion.pc" <<-EOF
		# Written by tools/arm64-sysroot.sh from libcriterion-dev:arm64.
		prefix=$dir/root/usr
		includedir=\${prefix}/include
		libdir=\${prefix}/lib/$triplet

		Name: criterion
		Description: Criterion unit testing framework (arm64 sysroot)
		Version: $version
		Libs: -L\${libdir} -lcriterion
		Cflags: -I\${includedir}
	EOF
	(cd "$dir/debs" && ls -- *.deb) >"$dir/.complete"
}

build_helper() {
	local src=$here/qemu-user-exec.c out=$dir/qemu-user-exec.so
	if [ -e "$out" ] && [ "$out" -nt "$src" ]; then
		return
	fi
	command -v "$cc" >/dev/null || die "$cc not found (gcc-aarch64-linux-gnu)"
	"$cc" -O2 -Wall -Wextra -Werror -shared -fPIC -o "$out.tmp" "$src"
	mv "$out.tmp" "$out"
}

exec 9>"$dir/.lock"
flock 9
[ -e "$dir/.complete" ] || fetch_packages
build_helper
