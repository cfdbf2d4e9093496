/* SPDX-License-Identifier: MIT */
/*
 * TAP interfaces for virtio-net (see virtio/tap.h).
 *
 * Errors are worded for the person who wrote the config: which device,
 * which interface, what the kernel said, and what usually fixes it
 * (capabilities, a persistent TAP owned by someone else, a TUN device
 * where a TAP is expected, a TAP created without multi_queue).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "virtio/tap.h"
#include "vmm/log.h"

#define TAP_DEV_PATH "/dev/net/tun"
#define TAP_HDR_LEN  12 /* struct virtio_net_hdr_v1 */

/* Read a small sysfs attribute of interface `ifname` as a number. */
static int tap_sysfs_num(const char *ifname, const char *attr, long *out)
{
	char path[128], buf[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", ifname, attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	*out = strtol(buf, NULL, 0);
	return 0;
}

static bool tap_sysfs_exists(const char *ifname, const char *attr)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "/sys/class/net/%s%s%s", ifname,
		 attr ? "/" : "", attr ? attr : "");
	return stat(path, &st) == 0;
}

/* Explain a failed TUNSETIFF on `name`. */
static void tap_explain(const char *dev, const char *name, int err, unsigned nq)
{
	bool exists = name && *name && if_nametoindex(name) != 0;
	long flags = 0, owner = -1, group = -1;
	char hint[256] = "";

	if (exists)
		tap_sysfs_num(name, "tun_flags", &flags);
	if (err == EPERM && exists) {
		char who[64] = "no owner";

		tap_sysfs_num(name, "owner", &owner);
		tap_sysfs_num(name, "group", &group);
		if (owner >= 0 && group >= 0)
			snprintf(who, sizeof(who), "owner uid %ld, group %ld",
				 owner, group);
		else if (owner >= 0)
			snprintf(who, sizeof(who), "owner uid %ld", owner);
		else if (group >= 0)
			snprintf(who, sizeof(who), "group %ld", group);
		snprintf(hint, sizeof(hint),
			 " (persistent TAP with %s; we are uid %u, gid %u: "
			 "create it for this user with `ip tuntap add %s mode "
			 "tap user %u`, or run with CAP_NET_ADMIN)",
			 who, (unsigned)geteuid(), (unsigned)getegid(), name,
			 (unsigned)geteuid());
	} else if (err == EPERM) {
		snprintf(hint, sizeof(hint), " (needs CAP_NET_ADMIN)");
	} else if (err == EINVAL && exists &&
		   !tap_sysfs_exists(name, "tun_flags")) {
		snprintf(hint, sizeof(hint),
			 " (an interface of that name exists and is not a "
			 "TAP)");
	} else if (err == EINVAL && exists && (flags & IFF_TUN)) {
		snprintf(hint, sizeof(hint),
			 " (it is a TUN device; a TAP is needed: ip tuntap add "
			 "%s mode tap)",
			 name);
	} else if (err == EINVAL && exists && nq > 1 &&
		   !(flags & IFF_MULTI_QUEUE)) {
		snprintf(hint, sizeof(hint),
			 " (it was created without multi_queue, needed for "
			 "queues = %u: ip tuntap add %s mode tap multi_queue)",
			 nq, name);
	} else if (err == EBUSY) {
		snprintf(hint, sizeof(hint), " (another process has it open%s)",
			 (flags & IFF_MULTI_QUEUE) ? " or all its queues are "
						     "in use"
						   : "");
	}
	log_err("%s: tap \"%s\": %s%s", dev, name && *name ? name : "tap%d",
		strerror(err), hint);
}

static int tap_open_queue(struct tap *t, const char *dev, const char *name,
			  short flags, unsigned nq)
{
	struct ifreq ifr;
	int fd, hdr = TAP_HDR_LEN, err;

	fd = open(TAP_DEV_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		log_err("%s: %s: %s%s", dev, TAP_DEV_PATH, strerror(err),
			err == ENOENT	? " (modprobe tun)"
			: err == EACCES ? " (needs read/write access to it)"
					: "");
		return -err;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = flags;
	if (name)
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		err = errno;
		tap_explain(dev, name, err, nq);
		close(fd);
		return -err;
	}
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		err = errno;
		log_err("%s: tap \"%s\": TUNSETVNETHDRSZ: %s", dev,
			ifr.ifr_name, strerror(err));
		close(fd);
		return -err;
	}
	snprintf(t->ifname, sizeof(t->ifname), "%s", ifr.ifr_name);
	t->fds[t->nr_fds++] = fd;
	return 0;
}

int tap_open(struct tap *t, const char *dev, const char *name, unsigned nq)
{
	unsigned features = 0;
	short flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	long cur = 0;
	int fd, ret;

	memset(t, 0, sizeof(*t));
	if (!nq || nq > TAP_MAX_QUEUES)
		return -EINVAL;
	if (name && !*name)
		name = NULL;
	if (name && strlen(name) >= IFNAMSIZ) {
		log_err("%s: tap \"%s\": name longer than %u characters", dev,
			name, IFNAMSIZ - 1);
		return -EINVAL;
	}
	fd = open(TAP_DEV_PATH, O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		if (ioctl(fd, TUNGETFEATURES, &features) < 0)
			features = 0;
		close(fd);
		if (!(features & IFF_VNET_HDR)) {
			log_err("%s: the kernel's TAP driver has no "
				"IFF_VNET_HDR support",
				dev);
			return -ENOTSUP;
		}
	}
	/* An existing multiqueue TAP only accepts multiqueue opens. */
	if (nq > 1 || (name && !tap_sysfs_num(name, "tun_flags", &cur) &&
		       (cur & IFF_MULTI_QUEUE)))
		flags |= IFF_MULTI_QUEUE;
	for (unsigned i = 0; i < nq; i++) {
		/* the queues after the first join the name the first got */
		ret = tap_open_queue(t, dev, i ? t->ifname : name, flags, nq);
		if (ret)
			goto err;
	}
	t->is_tap = true;
	t->vnet_hdr = true;
	log_info("%s: tap \"%s\" (%u queue%s)", dev, t->ifname, nq,
		 nq > 1 ? "s" : "");
	return 0;

err:
	tap_close(t);
	return ret;
}

int tap_from_fd(struct tap *t, const char *dev, int fd)
{
	struct ifreq ifr;
	int fl, type, hdr = TAP_HDR_LEN;
	socklen_t len = sizeof(type);

	memset(t, 0, sizeof(*t));
	fl = fcntl(fd, F_GETFL);
	if (fl < 0) {
		log_err("%s: fd %d: %s", dev, fd, strerror(errno));
		return -EBADF;
	}
	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr) == 0) {
		if (!(ifr.ifr_flags & IFF_TAP) ||
		    !(ifr.ifr_flags & IFF_NO_PI)) {
			log_err("%s: fd %d: \"%s\" is not a TAP opened with "
				"IFF_TAP | IFF_NO_PI",
				dev, fd, ifr.ifr_name);
			return -EINVAL;
		}
		t->is_tap = true;
		t->vnet_hdr = ifr.ifr_flags & IFF_VNET_HDR;
		if (t->vnet_hdr && ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
			log_err("%s: fd %d: TUNSETVNETHDRSZ: %s", dev, fd,
				strerror(errno));
			return -errno;
		}
		snprintf(t->ifname, sizeof(t->ifname), "%s", ifr.ifr_name);
	} else if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0) {
		if (type != SOCK_DGRAM && type != SOCK_SEQPACKET) {
			log_err("%s: fd %d: a socket must be SOCK_DGRAM or "
				"SOCK_SEQPACKET (one frame per message)",
				dev, fd);
			return -EINVAL;
		}
	} else {
		log_err("%s: fd %d is neither a TAP nor a datagram socket", dev,
			fd);
		return -EINVAL;
	}
	if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		log_err("%s: fd %d: fcntl: %s", dev, fd, strerror(errno));
		return -errno;
	}
	t->fds[0] = fd;
	t->nr_fds = 1;
	t->inherited = true;
	return 0;
}

int tap_set_offload(struct tap *t, const char *dev, unsigned flags)
{
	if (!t->is_tap || !t->vnet_hdr)
		return flags ? -ENOTSUP : 0;
	for (unsigned i = 0; i < t->nr_fds; i++) {
		if (ioctl(t->fds[i], TUNSETOFFLOAD, flags) < 0) {
			int err = errno;

			log_err("%s: tap \"%s\": TUNSETOFFLOAD 0x%x: %s", dev,
				t->ifname, flags, strerror(err));
			return -err;
		}
	}
	return 0;
}

int tap_queue_enable(struct tap *t, const char *dev, unsigned q, bool enable)
{
	struct ifreq ifr;

	if (!t->is_tap || q >= t->nr_fds || t->nr_fds == 1)
		return 0;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = enable ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE;
	if (ioctl(t->fds[q], TUNSETQUEUE, &ifr) < 0 &&
	    !(errno == EINVAL && enable)) { /* already attached */
		int err = errno;

		log_err("%s: tap \"%s\": %s queue %u: %s", dev, t->ifname,
			enable ? "attach" : "detach", q, strerror(err));
		return -err;
	}
	return 0;
}

/* An ioctl on the interface through a throw-away socket. */
static int tap_if_ioctl(const char *ifname, unsigned long req,
			struct ifreq *ifr)
{
	int s, ret = 0;

	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", ifname);
	if (ioctl(s, req, ifr) < 0)
		ret = -errno;
	close(s);
	return ret;
}

int tap_set_mtu(struct tap *t, const char *dev, unsigned mtu)
{
	struct ifreq ifr = { .ifr_mtu = (int)mtu };
	int ret;

	if (!t->is_tap)
		return 0;
	ret = tap_if_ioctl(t->ifname, SIOCSIFMTU, &ifr);
	if (ret)
		log_err("%s: tap \"%s\": cannot set MTU %u: %s%s", dev,
			t->ifname, mtu, strerror(-ret),
			ret == -EPERM ? " (needs CAP_NET_ADMIN)" : "");
	return ret;
}

int tap_get_mtu(struct tap *t, const char *dev, unsigned *mtu)
{
	struct ifreq ifr;
	int ret;

	memset(&ifr, 0, sizeof(ifr));
	if (!t->is_tap)
		return -ENOTSUP;
	ret = tap_if_ioctl(t->ifname, SIOCGIFMTU, &ifr);
	if (ret) {
		log_err("%s: tap \"%s\": SIOCGIFMTU: %s", dev, t->ifname,
			strerror(-ret));
		return ret;
	}
	*mtu = (unsigned)ifr.ifr_mtu;
	return 0;
}

int tap_up(struct tap *t, const char *dev)
{
	struct ifreq ifr;
	int ret;

	if (!t->is_tap)
		return 0;
	memset(&ifr, 0, sizeof(ifr));
	ret = tap_if_ioctl(t->ifname, SIOCGIFFLAGS, &ifr);
	if (!ret && (ifr.ifr_flags & IFF_UP))
		return 0;
	if (!ret) {
		ifr.ifr_flags |= IFF_UP;
		ret = tap_if_ioctl(t->ifname, SIOCSIFFLAGS, &ifr);
	}
	if (ret)
		log_err("%s: tap \"%s\": cannot bring it up: %s%s", dev,
			t->ifname, strerror(-ret),
			ret == -EPERM ? " (needs CAP_NET_ADMIN, or bring it up "
					"beforehand)"
				      : "");
	return ret;
}

int tap_add_to_bridge(struct tap *t, const char *dev, const char *bridge)
{
	struct ifreq ifr;
	char path[128], link[128];
	ssize_t n;
	int ret;

	char why[160];

	if (!t->is_tap) {
		log_err("%s: bridge = %s needs a TAP", dev, bridge);
		return -EINVAL;
	}
	if (tap_bridge_check(bridge, why, sizeof(why))) {
		log_err("%s: bridge \"%s\": %s", dev, bridge, why);
		return -ENODEV;
	}
	/* already a port of it (a persistent TAP set up beforehand)? */
	snprintf(path, sizeof(path), "/sys/class/net/%s/master", t->ifname);
	n = readlink(path, link, sizeof(link) - 1);
	if (n > 0) {
		const char *base;

		link[n] = '\0';
		base = strrchr(link, '/');
		base = base ? base + 1 : link;
		if (!strcmp(base, bridge))
			return 0;
		log_err("%s: tap \"%s\" is already a port of \"%s\", not of "
			"bridge \"%s\"",
			dev, t->ifname, base, bridge);
		return -EBUSY;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_ifindex = (int)if_nametoindex(t->ifname);
	ret = tap_if_ioctl(bridge, SIOCBRADDIF, &ifr);
	if (ret)
		log_err("%s: cannot add tap \"%s\" to bridge \"%s\": %s%s", dev,
			t->ifname, bridge, strerror(-ret),
			ret == -EPERM ? " (needs CAP_NET_ADMIN)" : "");
	return ret;
}

int tap_bridge_check(const char *bridge, char *why, size_t len)
{
	if (strlen(bridge) >= IFNAMSIZ || !if_nametoindex(bridge)) {
		snprintf(why, len,
			 "no such interface (create it: ip link add %s type "
			 "bridge)",
			 bridge);
		return -ENODEV;
	}
	if (!tap_sysfs_exists(bridge, "bridge")) {
		snprintf(why, len, "the interface is not a Linux bridge");
		return -ENODEV;
	}
	return 0;
}

void tap_close(struct tap *t)
{
	for (unsigned i = 0; i < t->nr_fds; i++)
		if (t->fds[i] >= 0)
			close(t->fds[i]);
	t->nr_fds = 0;
}
