# virtio-net end to end: the net.elf guest (guest/x86/net) or the demo on a
# TAP inside a private network namespace; the host side of the TAP is
# 10.0.2.2/24, the guest 10.0.2.15. Real ICMP (ping) and UDP (bash's
# /dev/udp) from the namespace, then a UDP "quit" makes the guest power off.
# Console lines are checked after the guest has stopped (a reply can reach
# the host before the guest has printed its line about it).
#
# Needs root (network namespace, TAP), /dev/net/tun, ip (iproute2) and ping
# (iputils-ping); each test skips with the reason otherwise. UDP goes
# through bash's /dev/udp redirection (a connected socket), read with head.

GUEST_IP=10.0.2.15
HOST_IP=10.0.2.2
NET_NS=
VMM_PID=

net_cleanup() {
	if [ -n "$VMM_PID" ]; then
		kill "$VMM_PID" 2>/dev/null || true
		wait "$VMM_PID" 2>/dev/null || true
	fi
	if [ -n "$NET_NS" ]; then
		ip netns del "$NET_NS" 2>/dev/null || true
	fi
	rm -rf "$WORK"
}

net_need_tools() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (network namespace, TAP)"
	[ -c /dev/net/tun ] || skip "no /dev/net/tun"
	local t
	for t in ip ping timeout head; do
		command -v "$t" >/dev/null ||
			skip "needs $t (Debian: iproute2, iputils-ping, coreutils)"
	done
}

# A fresh network namespace with lo up; removed when the test ends.
net_setup() {
	net_need_tools
	NET_NS="vmm-it-$$-$RANDOM"
	ip netns add "$NET_NS" 2>"$WORK/netns.err" ||
		skip "cannot create a network namespace: $(cat "$WORK/netns.err")"
	trap net_cleanup EXIT
	ip -n "$NET_NS" link set lo up
}

# net_tap NAME: a persistent TAP in the namespace, 10.0.2.2/24, up.
net_tap() {
	ip -n "$NET_NS" tuntap add dev "$1" mode tap ||
		fail "cannot create TAP $1"
	net_addr "$1"
}

net_addr() {
	ip -n "$NET_NS" addr add "$HOST_IP/24" dev "$1" ||
		fail "cannot give $1 an address"
	ip -n "$NET_NS" link set "$1" up || fail "cannot bring $1 up"
}

# net_cfg NAME IMAGE CMDLINE DEVICE-KEYS: a config with [device "net0"].
net_cfg() {
	std_cfg "$1" "image = $GUESTS/$2
cmdline = $3" "
[device \"net0\"]
type = virtio-net
$4"
}

# net_start CONFIG [ARGS...]: `vmm run` in the namespace, in the background.
net_start() {
	OUT="$WORK/net.out.$RANDOM"
	ERR="$WORK/net.err.$RANDOM"
	# A new guest may have a new MAC: forget the old one.
	ip -n "$NET_NS" neigh flush all >/dev/null 2>&1 || true
	ip netns exec "$NET_NS" timeout -k 5 150 "$VMM" run "$@" \
		--set vm.timeout=120s </dev/null >"$OUT" 2>"$ERR" &
	VMM_PID=$!
}

# net_vmm ARGS...: `vmm run` in the namespace, in the foreground; sets STATUS.
net_vmm() {
	OUT="$WORK/out.$RANDOM"
	ERR="$WORK/err.$RANDOM"
	STATUS=0
	ip netns exec "$NET_NS" timeout -k 5 120 "$VMM" run "$@" \
		</dev/null >"$OUT" 2>"$ERR" || STATUS=$?
	[ "$STATUS" -ne 124 ] || fail "vmm did not finish within 120 s"
}

# net_finish: wait for vmm to exit; sets STATUS.
net_finish() {
	STATUS=0
	wait "$VMM_PID" || STATUS=$?
	VMM_PID=
	[ "$STATUS" -ne 124 ] || fail "vmm did not finish within 150 s"
}

# net_wait_for REGEX: until a console line matches (60 s, or vmm exits).
net_wait_for() {
	local _
	for _ in $(seq 600); do
		grep -qE -- "$1" "$OUT" 2>/dev/null && return 0
		if ! kill -0 "$VMM_PID" 2>/dev/null; then
			net_finish
			fail "vmm exited (status $STATUS) before /$1/ appeared"
		fi
		sleep 0.1
	done
	fail "no console line /$1/ within 60 s"
}

# net_ping COUNT [ping options...]: every echo must come back. -w: wait up
# to 60 s for all of them (iputils stops waiting for late replies after
# about twice the round trip otherwise, and a guest on a loaded, emulated
# host can take seconds to drain a burst).
net_ping() {
	local n=$1 log="$WORK/ping.$RANDOM"
	shift
	ip netns exec "$NET_NS" ping -n -q -c "$n" -w 60 "$@" "$GUEST_IP" \
		>"$log" 2>&1 || {
		cat "$log" >&2
		fail "ping $GUEST_IP failed"
	}
	local got
	got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$log")
	[ "${got:-0}" -ge "$n" ] || {
		cat "$log" >&2
		fail "ping: not all $n replies came back"
	}
}

# net_udp PORT TEXT [HEAD-ARGS]: TEXT as one datagram from the namespace to
# the guest; prints the first reply datagram (head -c LEN of TEXT by
# default, or e.g. -n 1), or fails after 20 s.
net_udp() {
	local n=${3:--c ${#2}}
	# shellcheck disable=SC2016 # expanded by the inner bash
	ip netns exec "$NET_NS" bash -c \
		'exec 3<>"/dev/udp/$0/$1" && printf "%s" "$2" >&3 &&
		 timeout 20 head $3 <&3' "$GUEST_IP" "$1" "$2" "$n" ||
		fail "no UDP reply from $GUEST_IP:$1 to '$2'"
}

# net_echo_check PORT TEXT: the guest echoes TEXT back unchanged.
net_echo_check() {
	local got
	got=$(net_udp "$1" "$2")
	[ "$got" = "$2" ] || fail "udp echo: sent '$2', got '$got'"
}

# The usual session: ARP + ping, small and large UDP echoes, a burst of
# pings (more frames than the rings hold), then "quit": exit status 0.
net_session() {
	local big
	net_wait_for "^net: up mac=[0-9a-f:]{17} ip=$GUEST_IP"
	net_ping 3 -i 0.2
	net_echo_check 7 "hello from the host"
	big=$(head -c 1050 /dev/zero | tr '\0' 'x')$(seq 1 80 | tr -d '\n')
	net_echo_check 7 "$big"
	net_ping 150 -i 0.01 -s 1400
	net_echo_check 7 quit
	net_finish
	expect_status 0
	expect_out "^net: arp reply to $HOST_IP"
	expect_out "^net: icmp echo from $HOST_IP id=[0-9]+ seq=3 len=56"
	expect_out "^net: udp 19 bytes from $HOST_IP:[0-9]+"
	expect_out "^net: quit from $HOST_IP:[0-9]+"
	# At least the 153 echoes sent (ping -w sends on while replies to a
	# burst are still on their way).
	expect_out "^net: stats frames in=[0-9]+ out=[0-9]+ arp=[1-9][0-9]* icmp=(15[3-9]|1[6-9][0-9]|[2-9][0-9][0-9]) "
	expect_out "^net: down"
	expect_no_err "error|warning"
}

test_net_mmio_ping_udp() {
	net_setup
	need_guest net.elf
	net_tap vmmtap0
	net_start "$(net_cfg netmmio net.elf "net=mmio ip=$GUEST_IP" \
		"transport = mmio
tap = vmmtap0")" --set vm.unhandled-io=fault
	net_session
	expect_out "^net: virtio-net mmio@0xd0000000, irq 5, queues rx [0-9]+ tx [0-9]+"
	expect_out "^net: features 0x[0-9a-f]+: VERSION_1 MAC"
}

test_net_mmio_polling_no_mrg() {
	net_setup
	need_guest net.elf
	net_tap vmmtap0
	# Slot 3 at an explicit address, IRQ 0 on the command line: no
	# interrupts, the guest polls at every timer tick; no mergeable
	# receive buffers.
	net_start "$(net_cfg netpoll net.elf \
		"net=mmio:0xd0003000:0 nomrg ip=$GUEST_IP" \
		"transport = mmio
slot = 3
tap = vmmtap0")" --set vm.unhandled-io=fault
	net_session
	expect_out "^net: virtio-net mmio@0xd0003000, polling"
	expect_no_out "MRG_RXBUF"
}

test_net_pci_ping_udp() {
	net_setup
	need_guest net.elf
	net_tap vmmtap0
	net_start "$(net_cfg netpci net.elf "net=pci ip=$GUEST_IP" \
		"transport = pci
tap = vmmtap0")" --set vm.unhandled-io=fault
	net_session
	expect_out "^net: virtio-net pci 00:[0-9a-f]{2}\.0, msi-x vector 0x31,"
}

# No transport key, no net= option: the guest finds the NIC by itself
# (PCI bus 0 first, then the virtio-mmio slots), whatever the default is.
test_net_auto_discovery() {
	net_setup
	need_guest net.elf
	net_tap vmmtap0
	net_start "$(net_cfg netauto net.elf "quiet" "tap = vmmtap0")"
	net_wait_for "^net: up "
	net_ping 3 -i 0.2
	net_echo_check 7 "found you"
	net_echo_check 7 quit
	net_finish
	expect_status 0
}

# Reset the device from the guest while the TAP stays busy, re-initialise
# it, and carry on: the device must drop its old rings and use the new ones.
net_reset_session() {
	net_wait_for "^net: up "
	net_ping 20 -i 0.02
	net_echo_check 7 reset
	net_wait_for "^net: reset done, up again"
	net_ping 20 -i 0.02
	net_echo_check 7 "after the reset"
	net_echo_check 7 quit
	net_finish
	expect_status 0
	expect_out "^net: down"
}

test_net_mmio_reset() {
	net_setup
	need_guest net.elf
	net_tap vmmtap0
	net_start "$(net_cfg netrst net.elf "net=mmio quiet" "transport = mmio
tap = vmmtap0")"
	net_reset_session
}

test_net_pci_reset() {
	net_setup
	need_guest net.elf
	net_tap vmmtap0
	net_start "$(net_cfg netprst net.elf "net=pci quiet" \
		"transport = pci
tap = vmmtap0")"
	net_reset_session
}

test_net_guest_timeout() {
	net_setup
	need_guest net.elf
	net_tap vmmtap0
	# Nobody says quit: the guest gives up after timeout= ms (debug-exit
	# 0x32, status 101) with its statistics.
	net_vmm "$(net_cfg nettmo net.elf "net=mmio timeout=300" \
		"transport = mmio
tap = vmmtap0")"
	expect_status 101
	expect_out "^net: up "
	expect_out "^net: timeout after 300 ms"
	expect_out "^net: stats "
}

# A driver that breaks the rules: the device must refuse the queue, set
# DEVICE_NEEDS_RESET (the guest sees it and exits with status 103), say why
# on stderr, and keep the VM running.
test_net_misbehaving_driver() {
	net_setup
	need_guest net.elf
	net_tap vmmtap0
	# vhost = off: this is about the VMM's own ring checks; with vhost
	# (e.g. inside the nested L1) the kernel walks the rings instead.
	net_start "$(net_cfg netloop net.elf "net=mmio misbehave=tx-loop" \
		"transport = mmio
tap = vmmtap0
vhost = off")"
	net_finish
	expect_status 103
	expect_out "^net: misbehaving: transmit chain [0-9]+ links to itself"
	expect_out "^net: mmio@0xd0000000: device needs reset"
	expect_err "net0: .*needs reset.*queue 1.*loop"

	net_start "$(net_cfg netoob net.elf "net=pci misbehave=rx-oob" \
		"transport = pci
tap = vmmtap0
vhost = off")"
	net_wait_for "^net: misbehaving: receive descriptor"
	# Frames for the guest make the device use the bad buffer.
	ip netns exec "$NET_NS" ping -n -q -c 3 -i 0.2 -W 1 "$GUEST_IP" \
		>/dev/null 2>&1 || true
	net_finish
	expect_status 103
	expect_out "^net: pci 00:[0-9a-f]{2}\.0: device needs reset"
	expect_err "net0: .*needs reset.*queue 0.*0x10000000000"
}

# The kernel data path (vhost-net), both transports.
test_net_vhost() {
	net_setup
	need_guest net.elf
	[ -c /dev/vhost-net ] || skip "no /dev/vhost-net (modprobe vhost_net)"
	net_tap vmmtap0
	net_start "$(net_cfg netvhm net.elf "net=mmio ip=$GUEST_IP" \
		"transport = mmio
tap = vmmtap0
vhost = on")"
	net_session
	net_start "$(net_cfg netvhp net.elf "net=pci ip=$GUEST_IP" \
		"transport = pci
tap = vmmtap0
vhost = on")"
	net_session
}

test_net_vmm_creates_tap() {
	net_setup
	need_guest net.elf
	local _
	# No TAP yet: the VMM creates vmmtap1 (not persistent), the test
	# gives it the host address once it exists.
	net_start "$(net_cfg nettap net.elf "net=mmio ip=$GUEST_IP quiet" \
		"transport = mmio
tap = vmmtap1")"
	for _ in $(seq 300); do
		ip -n "$NET_NS" link show vmmtap1 >/dev/null 2>&1 && break
		kill -0 "$VMM_PID" 2>/dev/null || break
		sleep 0.1
	done
	ip -n "$NET_NS" link show vmmtap1 >/dev/null 2>&1 ||
		fail "the VMM did not create TAP vmmtap1"
	net_addr vmmtap1
	net_wait_for "^net: up "
	net_ping 3 -i 0.2
	net_echo_check 7 "created by the vmm"
	net_echo_check 7 quit
	net_finish
	expect_status 0
	! ip -n "$NET_NS" link show vmmtap1 >/dev/null 2>&1 ||
		fail "vmmtap1 still exists after the VMM exited"
}

test_net_bridge() {
	net_setup
	need_guest net.elf
	# The host address is on a bridge; the VMM adds its TAP to it.
	ip -n "$NET_NS" link add vmmbr0 type bridge || fail "no bridge support"
	net_addr vmmbr0
	net_start "$(net_cfg netbr net.elf "net=mmio ip=$GUEST_IP quiet" \
		"transport = mmio
tap = vmmtap2
bridge = vmmbr0")"
	net_wait_for "^net: up "
	ip -n "$NET_NS" link show vmmtap2 | grep -q "master vmmbr0" ||
		fail "vmmtap2 is not a port of vmmbr0"
	net_ping 3 -i 0.2
	net_echo_check 7 "over a bridge"
	net_echo_check 7 quit
	net_finish
	expect_status 0
}

test_net_missing_bridge() {
	net_setup
	need_guest net.elf
	net_vmm "$(net_cfg nobr net.elf "net=mmio" "transport = mmio
tap = vmmtap3
bridge = nosuchbr0")"
	expect_status 2
	expect_err '\[device "net0"\] bridge: "nosuchbr0": no such interface'
	[ ! -s "$OUT" ] || fail "the guest ran"
	# An interface that is not a bridge.
	net_vmm "$(net_cfg notbr net.elf "net=mmio" "transport = mmio
tap = vmmtap3
bridge = lo")"
	expect_status 2
	expect_err '\[device "net0"\] bridge: "lo": the interface is not a Linux bridge'
	[ ! -s "$OUT" ] || fail "the guest ran"
}

test_net_bad_tap_name() {
	need_guest net.elf
	# Longer than IFNAMSIZ - 1: refused before anything is opened, so
	# this needs neither root nor /dev/net/tun.
	vmm run "$(net_cfg longtap net.elf "net=mmio" \
		"transport = mmio
tap = this-name-is-too-long0")"
	expect_status 2
	expect_err 'net0.*this-name-is-too-long0'
	[ ! -s "$OUT" ] || fail "the guest ran"
}

test_net_tap_in_use() {
	net_setup
	need_guest net.elf
	net_tap vmmtap0
	# The same TAP twice (one queue each): the second open fails with
	# a message naming the device and the TAP, and nothing runs. A busy
	# host resource is a host error (4), not a config error.
	net_vmm "$(std_cfg twice "image = $GUESTS/net.elf
cmdline = net=mmio" "
[device \"net0\"]
type = virtio-net
transport = mmio
tap = vmmtap0

[device \"net1\"]
type = virtio-net
transport = mmio
slot = 1
tap = vmmtap0")"
	expect_status 4
	expect_err 'net1: tap "vmmtap0": Device or resource busy'
	[ ! -s "$OUT" ] || fail "the guest ran"
}

test_net_demo() {
	net_setup
	need_guest demo.elf
	local got
	net_tap vmmtap0
	net_start "$(net_cfg netdemo demo.elf "run=60000 net=mmio" \
		"transport = mmio
tap = vmmtap0")" --set vm.unhandled-io=fault
	net_wait_for "^net: +virtio-net mmio@0xd0000000 \(irq 5\), mac [0-9a-f:]{17}, ip $GUEST_IP"
	net_wait_for "sensor +#1 "
	net_ping 3 -i 0.2
	got=$(net_udp 5000 status "-n 1")
	echo "$got" | grep -qE "^uptime [0-9]+ ms temperature [0-9.]+ C heater [0-9]+%$" ||
		fail "status port answered '$got'"
	# "quit" on the status port has no reply: don't wait for one.
	# shellcheck disable=SC2016 # expanded by the inner bash
	ip netns exec "$NET_NS" bash -c \
		'exec 3<>"/dev/udp/$0/5000" && printf quit >&3' "$GUEST_IP"
	net_finish
	expect_status 0
	expect_out "network +quit from $HOST_IP: stopping"
	expect_out "^network: [0-9]+ frames in, [0-9]+ out: [1-9][0-9]* arp replies, 3 pings, 2 datagrams"
	expect_out "deadlines missed"
}
