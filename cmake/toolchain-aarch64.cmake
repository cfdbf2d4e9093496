# Cross build for arm64 (aarch64) with Debian's gcc-aarch64-linux-gnu:
#
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake
#   cmake --build build-arm64
#   ctest --test-dir build-arm64 -L unit     # runs under qemu-user
#
# Libraries come from Debian's arm64 multiarch packages (libinih-dev:arm64,
# libelf-dev:arm64, installed by tools/install-deps.sh), except Criterion:
# libcriterion-dev:arm64 cannot be co-installed with the amd64 one on
# Debian 12, so tools/arm64-sysroot.sh downloads and unpacks it (and the
# runtime libraries it needs) into <build>/arm64-sysroot at configure time.
#
# Tests run under qemu-user (qemu-aarch64-static) through
# CMAKE_CROSSCOMPILING_EMULATOR; no binfmt_misc is needed. Criterion's
# workers re-exec the test binary, which qemu-user cannot follow by itself:
# the LD_PRELOAD helper tools/qemu-user-exec.c routes that exec through
# qemu-user again (see docs/nested.md). The same binaries run natively
# inside the arm64 nested machine (tools/nest arm64), where the helper is
# not used.

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(VMM_CROSS_TRIPLET aarch64-linux-gnu)

set(CMAKE_C_COMPILER ${VMM_CROSS_TRIPLET}-gcc)
set(CMAKE_ASM_COMPILER ${VMM_CROSS_TRIPLET}-gcc)
# Debian multiarch: arm64 libraries live in /usr/lib/aarch64-linux-gnu of
# the host root, not in a separate sysroot, so no find-root re-rooting.
set(CMAKE_LIBRARY_ARCHITECTURE ${VMM_CROSS_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)

# The Criterion sysroot. Its directory is forwarded to try_compile projects
# so that they see the same flags.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES VMM_ARM64_SYSROOT)
get_property(_vmm_in_try_compile GLOBAL PROPERTY IN_TRY_COMPILE)
if(NOT _vmm_in_try_compile)
	set(VMM_ARM64_SYSROOT "${CMAKE_BINARY_DIR}/arm64-sysroot" CACHE PATH
		"arm64 Criterion sysroot made by tools/arm64-sysroot.sh")
	execute_process(
		COMMAND ${CMAKE_CURRENT_LIST_DIR}/../tools/arm64-sysroot.sh
			${VMM_ARM64_SYSROOT}
		RESULT_VARIABLE _vmm_sysroot_rc)
	if(NOT _vmm_sysroot_rc EQUAL 0)
		message(WARNING "tools/arm64-sysroot.sh failed: the arm64 "
			"Criterion is missing and unit tests will not be built")
	endif()
endif()
set(_vmm_sysroot_lib ${VMM_ARM64_SYSROOT}/root/usr/lib/${VMM_CROSS_TRIPLET})

# pkg-config sees only arm64 .pc files: the sysroot's Criterion first,
# then the multiarch ones.
set(ENV{PKG_CONFIG_LIBDIR}
	"${VMM_ARM64_SYSROOT}/pkgconfig:/usr/lib/${VMM_CROSS_TRIPLET}/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# Criterion's own dependencies (libnanomsg, libgit2, ...) are in the
# sysroot too: -rpath-link lets the linker check them, and DT_RPATH (not
# DT_RUNPATH, which applies to direct dependencies only) lets the loader
# find them at run time through the build-tree RPATH CMake adds.
set(CMAKE_EXE_LINKER_FLAGS_INIT
	"-Wl,--disable-new-dtags -Wl,-rpath-link,${_vmm_sysroot_lib}")
set(CMAKE_SHARED_LINKER_FLAGS_INIT
	"-Wl,--disable-new-dtags -Wl,-rpath-link,${_vmm_sysroot_lib}")

# Run the tests under qemu-user. The arm64 C library is the system's
# libc6:arm64 (/lib/ld-linux-aarch64.so.1), so no -L prefix is needed.
find_program(VMM_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64)
if(VMM_QEMU_AARCH64)
	set(CMAKE_CROSSCOMPILING_EMULATOR ${VMM_QEMU_AARCH64}
		-E LD_PRELOAD=${VMM_ARM64_SYSROOT}/qemu-user-exec.so
		-E VMM_QEMU_USER=${VMM_QEMU_AARCH64})
else()
	message(WARNING "qemu-aarch64-static not found (package "
		"qemu-user-static): arm64 tests cannot run on this host")
endif()
