/* SPDX-License-Identifier: MIT */
/*
 * The in-kernel interrupt controller: a vGICv3 (distributor and one
 * redistributor region sized for the vCPUs) with an ITS for PCI MSIs, or,
 * on hosts whose GIC cannot virtualize v3, a vGICv2 (distributor and CPU
 * interface). Addresses from devices/abi/arm64_virt.h; KVM's device API
 * (Documentation/virt/kvm/devices/arm-vgic-v3.rst, arm-vgic.rst,
 * arm-vgic-its.rst).
 *
 * Order: the devices are created before the vCPUs (arch_vm_init()); the
 * number of IRQs and CTRL_INIT once every vCPU exists (arch_vm_ready()),
 * since the vGIC sizes its per-CPU state then.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "arch/arm64/internal.h"
#include "devices/abi/arm64_virt.h"
#include "vmm/log.h"

/* GICv2 handles at most 8 CPUs (ITARGETSR has 8 bits). */
#define GICV2_MAX_CPUS 8

static int dev_create(int vm_fd, uint32_t type, bool test)
{
	struct kvm_create_device cd = {
		.type = type,
		.flags = test ? KVM_CREATE_DEVICE_TEST : 0,
	};

	if (ioctl(vm_fd, KVM_CREATE_DEVICE, &cd) < 0)
		return -errno;
	return test ? 0 : (int)cd.fd;
}

static int dev_set(int fd, uint32_t group, uint64_t attr, const void *val)
{
	struct kvm_device_attr a = {
		.group = group,
		.attr = attr,
		.addr = (uint64_t)(uintptr_t)val,
	};

	if (ioctl(fd, KVM_SET_DEVICE_ATTR, &a) < 0)
		return -errno;
	return 0;
}

static int set_addr(int fd, uint64_t type, uint64_t addr, const char *what)
{
	int ret = dev_set(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, type, &addr);

	if (ret)
		log_err("vGIC: cannot place the %s at 0x%llx: %s", what,
			(unsigned long long)addr, strerror(-ret));
	return ret;
}

static int create_v3(int vm_fd, struct arm64_gic *gic)
{
	int fd = dev_create(vm_fd, KVM_DEV_TYPE_ARM_VGIC_V3, false), ret;

	if (fd < 0)
		return fd;
	gic->fd = fd;
	gic->version = 3;
	ret = set_addr(fd, KVM_VGIC_V3_ADDR_TYPE_DIST, ABI_GIC_DIST_BASE,
		       "distributor");
	if (!ret)
		ret = set_addr(fd, KVM_VGIC_V3_ADDR_TYPE_REDIST,
			       ABI_GIC_REDIST_BASE, "redistributors");
	if (ret)
		return ret;

	/* The ITS is optional: without it there are no MSIs (no PCI). */
	fd = dev_create(vm_fd, KVM_DEV_TYPE_ARM_VGIC_ITS, false);
	if (fd < 0) {
		log_debug("vGICv3: no ITS (%s): no PCI devices", strerror(-fd));
		return 0;
	}
	gic->its_fd = fd;
	ret = dev_set(fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_ITS_ADDR_TYPE,
		      &(uint64_t){ ABI_GIC_ITS_BASE });
	if (ret) {
		log_warn("vGICv3: cannot place the ITS at 0x%llx (%s): "
			 "running without it",
			 (unsigned long long)ABI_GIC_ITS_BASE, strerror(-ret));
		close(gic->its_fd);
		gic->its_fd = -1;
	}
	return 0;
}

static int create_v2(int vm_fd, unsigned nr_vcpus, struct arm64_gic *gic)
{
	int fd = dev_create(vm_fd, KVM_DEV_TYPE_ARM_VGIC_V2, false), ret;

	if (fd < 0)
		return fd;
	gic->fd = fd;
	gic->version = 2;
	if (nr_vcpus > GICV2_MAX_CPUS) {
		log_err("this host's KVM offers only a GICv2, which handles "
			"at most %u vCPUs ([vm] vcpus = %u)",
			GICV2_MAX_CPUS, nr_vcpus);
		return -EINVAL;
	}
	ret = set_addr(fd, KVM_VGIC_V2_ADDR_TYPE_DIST, ABI_GIC_DIST_BASE,
		       "distributor");
	if (!ret)
		ret = set_addr(fd, KVM_VGIC_V2_ADDR_TYPE_CPU, ABI_GIC_CPU_BASE,
			       "CPU interface");
	return ret;
}

int arm64_gic_create(int vm_fd, unsigned nr_vcpus, struct arm64_gic *gic)
{
	int ret3, ret2;

	gic->fd = gic->its_fd = -1;
	gic->version = 0;
	ret3 = create_v3(vm_fd, gic);
	if (!ret3 || gic->fd >= 0)
		return ret3;
	ret2 = create_v2(vm_fd, nr_vcpus, gic);
	if (!ret2 || gic->fd >= 0) {
		if (!ret2)
			log_debug("no vGICv3 (%s): using a vGICv2",
				  strerror(-ret3));
		return ret2;
	}
	log_err("KVM cannot create an in-kernel GIC (GICv3: %s; GICv2: %s): "
		"the host's interrupt controller cannot be virtualized",
		strerror(-ret3), strerror(-ret2));
	return ret2;
}

int arm64_gic_init(struct arm64_gic *gic)
{
	uint32_t nr_irqs = ABI_GIC_SPI_BASE + ABI_GIC_NR_SPIS;
	int ret;

	ret = dev_set(gic->fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nr_irqs);
	if (ret) {
		log_err("vGICv%u: cannot set %u interrupts: %s", gic->version,
			nr_irqs, strerror(-ret));
		return ret;
	}
	ret = dev_set(gic->fd, KVM_DEV_ARM_VGIC_GRP_CTRL,
		      KVM_DEV_ARM_VGIC_CTRL_INIT, NULL);
	if (ret) {
		log_err("vGICv%u: initialisation failed: %s", gic->version,
			strerror(-ret));
		return ret;
	}
	if (gic->its_fd < 0)
		return 0;
	ret = dev_set(gic->its_fd, KVM_DEV_ARM_VGIC_GRP_CTRL,
		      KVM_DEV_ARM_VGIC_CTRL_INIT, NULL);
	if (ret)
		log_err("vGICv3 ITS: initialisation failed: %s",
			strerror(-ret));
	return ret;
}

void arm64_gic_destroy(struct arm64_gic *gic)
{
	if (gic->its_fd >= 0)
		close(gic->its_fd);
	if (gic->fd >= 0)
		close(gic->fd);
	gic->fd = gic->its_fd = -1;
}

int arm64_gic_probe(unsigned *version, bool *its)
{
	int kvm, vm, ret = 0;

	*version = 3;
	*its = false;
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return -errno;
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		ret = -errno;
		close(kvm);
		return ret;
	}
	if (!dev_create(vm, KVM_DEV_TYPE_ARM_VGIC_V3, true))
		*its = !dev_create(vm, KVM_DEV_TYPE_ARM_VGIC_ITS, true);
	else if (!dev_create(vm, KVM_DEV_TYPE_ARM_VGIC_V2, true))
		*version = 2;
	close(vm);
	close(kvm);
	return ret;
}
