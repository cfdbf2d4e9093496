# Boot formats: every loader boots a real guest on /dev/kvm.
# The hello guest prints a fixed banner first, then what it learned from the
# boot protocol, then "bye", and powers off through ACPI PM1 (exit 0).

hello_ok() {
	expect_status 0
	expect_first_line "Hello from the vmm test guest"
	expect_out "^mode: long"
	expect_out "^bye"
}

test_multiboot_elf64() {
	need_guest hello-mb.elf
	vmm run "$(std_cfg mb64 "format = multiboot
image = $GUESTS/hello-mb.elf
cmdline = first second=2")"
	hello_ok
	expect_out "^boot: multiboot1"
	expect_out "^cmdline: .*first second=2"
	expect_out "^loader: vmm"
	expect_out "^mem: lower=639 upper=31744"
	expect_out "^mmap: base=0x0 len=0x9fc00 type=1"
	expect_out "^mmap: base=0x100000 len=0x1f00000 type=1"
}

test_multiboot_elf32() {
	need_guest hello-mb32.elf
	vmm run "$(std_cfg mb32 "format = multiboot
image = $GUESTS/hello-mb32.elf")"
	hello_ok
	expect_out "^boot: multiboot1"
}

test_multiboot_aout_kludge() {
	need_guest hello-mb.bin
	# format = auto must find the Multiboot header in a flat binary
	vmm run "$(std_cfg aout "image = $GUESTS/hello-mb.bin")"
	hello_ok
	expect_out "^boot: multiboot1"
}

test_multiboot_modules() {
	need_guest hello-mb.elf
	printf 'first module line\nsecond\n' >"$WORK/mod0.txt"
	head -c 100000 /dev/zero | tr '\0' 'x' >"$WORK/mod1.bin"
	vmm run "$(std_cfg mods "format = multiboot
image = $GUESTS/hello-mb.elf
module = mod0.txt arg1 arg2
module = mod1.bin")"
	hello_ok
	expect_out "^modules: 2"
	expect_out "^module 0: .*mod0.txt arg1 arg2 size=25 first=first module line"
	expect_out "^module 1: .*mod1.bin size=100000 first=x"
}

test_multiboot2() {
	need_guest hello-mb2.elf
	vmm run "$(std_cfg mb2 "image = $GUESTS/hello-mb2.elf
cmdline = mb2 args")"
	hello_ok
	expect_out "^boot: multiboot2"
	expect_out "^cmdline: .*mb2 args"
	expect_out "^loader: vmm"
	expect_out "^mmap: base=0x100000 len=0x1f00000 type=1"
}

test_elf64_long_mode() {
	need_guest hello64.elf
	vmm run "$(std_cfg elf64 "format = elf
image = $GUESTS/hello64.elf")"
	hello_ok
	expect_out "^boot: none"
}

test_elf32_protected_mode() {
	need_guest hello32.elf
	vmm run "$(std_cfg elf32 "format = elf
image = $GUESTS/hello32.elf")"
	hello_ok
	expect_out "^boot: none"
}

test_raw_protected() {
	need_guest hello.bin
	vmm run "$(std_cfg rawp "format = raw
image = $GUESTS/hello.bin
load-address = 0x100000
mode = protected")"
	hello_ok
}

test_raw_long() {
	need_guest hello.bin
	vmm run "$(std_cfg rawl "format = raw
image = $GUESTS/hello.bin
load-address = 0x100000
entry = 0x100008
mode = long")"
	hello_ok
}

test_raw_real_mode() {
	need_guest real16.bin
	vmm run "$(std_cfg real "format = raw
image = $GUESTS/real16.bin
load-address = 0x8000
mode = real")"
	expect_status 33
	expect_out "Hello from real mode"
}

test_smp_config_boots() {
	need_guest hello-mb.elf
	# APs wait for INIT/SIPI; the BSP alone runs the hello guest.
	vmm run "$(std_cfg smp "image = $GUESTS/hello-mb.elf")" --set vm.vcpus=2
	hello_ok
}

test_broken_image_is_reported() {
	printf 'not an image at all' >"$WORK/junk.img"
	vmm run "$(std_cfg junk "image = junk.img")"
	expect_status 2
	expect_err "junk.img"
	expect_err "unknown image format"
	head -c 300 "$GUESTS/hello64.elf" >"$WORK/trunc.elf"
	vmm run "$(std_cfg trunc "format = elf
image = trunc.elf")"
	expect_status 2
	expect_err "trunc.elf"
}

test_image_outside_ram() {
	need_guest hello64.elf
	# 1 MiB of RAM cannot hold an image linked at 1 MiB
	vmm run "$(std_cfg small "format = elf
image = $GUESTS/hello64.elf")" --set memory.ram.size=1M
	expect_status 2
	expect_err "hello64.elf"
}
