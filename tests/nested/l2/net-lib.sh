# shellcheck shell=bash
# The L1 side of the network of the L2 guest in tests/nested/l2/net-init,
# shared by tests/nested/x86_64-net.sh and bench/net. Source it from bash
# (after tests/nested/l2/lib.sh), inside L1 (root):
#
#   net_setup WORKDIR    make the TAP vmmnet0 (10.0.2.2/24, up) and start an
#                        iperf3 server (log in WORKDIR/iperf3-server.log);
#                        returns 1 with a message on failure
#   net_teardown         stop the server, delete the TAP
#   run_guest_hook=net_hook
#                        for run_guest: per boot, flush L1's neighbour
#                        cache (each VMM may bring another MAC), start a
#                        fresh iperf3 server, then in
#                        the background wait for the guest's VMM-NET-UP,
#                        ping it 3 times and send it "go" (TCP port 7777);
#                        what happened goes to the file $net_l1log
#                        ("l1-ping: ..." and "l1-go: ..." lines)
#
# The functions work under set -e as well as without it.
#
# The TAP is persistent: both VMMs attach to it (ours with tap = vmmnet0,
# QEMU with -netdev tap,ifname=vmmnet0,script=no,downscript=no), so its
# address outlives each VM.

net_tap=vmmnet0
net_host_ip=10.0.2.2
net_guest_ip=10.0.2.15
net_l1log=/dev/null
net_iperf_pid=

net_setup() {
	local work=$1
	[ -c /dev/net/tun ] || { echo "no /dev/net/tun in L1"; return 1; }
	[ -c /dev/vhost-net ] || modprobe vhost_net 2>/dev/null || true
	[ -c /dev/vhost-net ] || echo "warning: no /dev/vhost-net in L1"
	command -v iperf3 >/dev/null || { echo "no iperf3 in L1"; return 1; }
	ip link del "$net_tap" 2>/dev/null || true
	ip tuntap add dev "$net_tap" mode tap &&
		ip addr add "$net_host_ip/24" dev "$net_tap" &&
		ip link set "$net_tap" up ||
		{ echo "cannot set up the TAP $net_tap"; return 1; }
	ip link set lo up || true
	net_iperf_log=$work/iperf3-server.log
	: >"$net_iperf_log"
	net_iperf_start
}

# A fresh iperf3 server for every boot: a guest that froze or panicked
# in the middle of a test leaves the old one "busy running a test" for as
# long as TCP takes to give up on the vanished client.
net_iperf_start() {
	net_iperf_stop
	iperf3 -s -f m >>"$net_iperf_log" 2>&1 &
	net_iperf_pid=$!
}

net_iperf_stop() {
	if [ -n "$net_iperf_pid" ]; then
		kill "$net_iperf_pid" 2>/dev/null || true
		wait "$net_iperf_pid" 2>/dev/null || true
	fi
	net_iperf_pid=
}

net_teardown() {
	net_iperf_stop
	ip link del "$net_tap" 2>/dev/null || true
}

# net_l1_side PID OUT: see net_hook.
net_l1_side() {
	local pid=$1 out=$2 i
	for ((i = 0; i < 600; i++)); do
		grep -q VMM-NET-UP "$out" && break
		kill -0 "$pid" 2>/dev/null || return
		sleep 0.5
	done
	grep -q VMM-NET-UP "$out" || return
	echo "l1-ping: $(ping -n -c 3 -W 5 -w 20 "$net_guest_ip" 2>&1 |
		grep -E 'packets transmitted|rtt' | tr '\n' ' ')"
	# The guest starts listening just after it printed VMM-NET-UP.
	for ((i = 0; i < 30; i++)); do
		# shellcheck disable=SC2016
		if timeout 10 bash -c 'exec 3<>"/dev/tcp/$0/7777" && echo go >&3' \
			"$net_guest_ip" 2>/dev/null; then
			echo "l1-go: sent"
			return
		fi
		kill -0 "$pid" 2>/dev/null || return
		sleep 1
	done
	echo "l1-go: cannot connect to $net_guest_ip:7777"
}

net_hook() {
	case $1 in
	start)
		ip neigh flush dev "$net_tap" 2>/dev/null || true
		net_iperf_start
		net_l1_side "$2" "$3" >"$net_l1log" 2>&1 &
		net_l1_pid=$!
		;;
	end)
		kill "$net_l1_pid" 2>/dev/null || true
		wait "$net_l1_pid" 2>/dev/null || true
		;;
	esac
	return 0
}
