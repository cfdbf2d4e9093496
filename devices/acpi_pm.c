/* SPDX-License-Identifier: MIT */
/*
 * ACPI PM1a fixed-hardware registers (ACPI 6.x, 4.8.3), 8 ports at `port`
 * (ABI_ACPI_PM_BASE by default), the blocks the generated FADT points at:
 *
 *   +0  PM1a_STS  (16 bits)  write 1 to clear
 *   +2  PM1a_EN   (16 bits)  read/write
 *   +4  PM1a_CNT  (16 bits)  SCI_EN (bit 0) reads 1: the machine is always
 *                            in ACPI mode. SLP_TYP (bits 10-12) is stored;
 *                            SLP_EN (bit 13) and GBL_RLS (bit 2) are
 *                            write-only and read 0.
 *   +6  padding              reads 0, writes ignored
 *
 * Writing PM1a_CNT with SLP_EN set and SLP_TYP == ABI_ACPI_SLP_TYP_S5
 * (the _S5 package the DSDT advertises) powers the VM off. Other sleep
 * types (S1-S4) are not supported: the write is ignored with a rate-limited
 * log, and the guest keeps running. No SCI is ever raised, no event status
 * bit is ever set by the device (no power button, no PM timer: the FADT
 * must not advertise one here).
 *
 * Byte accesses to either half of a register work: the access is applied
 * byte by byte and SLP_EN acts when the byte holding it (offset 5) is
 * written.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/abi/x86_pc.h"
#include "vmm/config.h"
#include "devices/devices.h"
#include "vmm/device.h"
#include "vmm/log.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#define XSTR(x) STR(x)
#define STR(x)	#x

#define ACPI_PM_SIZE 8
#define ACPI_PM1_STS 0
#define ACPI_PM1_EN  2
#define ACPI_PM1_CNT 4

#define CNT_SCI_EN	 0x0001u
#define CNT_GBL_RLS	 0x0004u
#define CNT_SLP_TYP_MASK (7u << ABI_ACPI_SLP_TYP_SHIFT)
#define CNT_WRITE_ONLY	 (ABI_ACPI_SLP_EN | CNT_GBL_RLS)

static const struct dev_param acpi_pm_params[] = {
	{ .key = "port",
	  .kind = PARAM_U64,
	  .def = XSTR(ABI_ACPI_PM_BASE),
	  .min = 0,
	  .max = 0x10000 - ACPI_PM_SIZE,
	  .help = "I/O port base of PM1a_EVT_BLK (PM1a_CNT_BLK at +4)" },
	{ .key = NULL },
};

struct acpi_pm {
	pthread_mutex_t lock;
	struct vm *vm;
	const char *name;
	uint16_t sts, en, cnt;
	struct log_ratelimit rl;
};

static uint8_t acpi_pm_read_byte(const struct acpi_pm *p, unsigned off)
{
	uint16_t cnt = (uint16_t)((p->cnt & ~CNT_WRITE_ONLY) | CNT_SCI_EN);
	unsigned shift = 8 * (off & 1);

	switch (off & ~1u) {
	case ACPI_PM1_STS:
		return (uint8_t)(p->sts >> shift);
	case ACPI_PM1_EN:
		return (uint8_t)(p->en >> shift);
	case ACPI_PM1_CNT:
		return (uint8_t)(cnt >> shift);
	default:
		return 0;
	}
}

static void acpi_pm_write_byte(struct acpi_pm *p, unsigned off, uint8_t v)
{
	unsigned shift = 8 * (off & 1);
	uint16_t mask = (uint16_t)(0xff << shift);
	uint16_t val = (uint16_t)(v << shift);

	switch (off & ~1u) {
	case ACPI_PM1_STS:
		p->sts &= (uint16_t)~val;
		break;
	case ACPI_PM1_EN:
		p->en = (uint16_t)((p->en & ~mask) | val);
		break;
	case ACPI_PM1_CNT:
		p->cnt = (uint16_t)((p->cnt & ~mask) | val);
		break;
	default:
		break;
	}
}

static void acpi_pm_sleep(struct acpi_pm *p)
{
	unsigned typ = (p->cnt & CNT_SLP_TYP_MASK) >> ABI_ACPI_SLP_TYP_SHIFT;

	if (typ == ABI_ACPI_SLP_TYP_S5) {
		log_info("%s: guest requested power-off (S5)", p->name);
		vm_request_stop(p->vm, VM_STOP_POWEROFF, 0);
		return;
	}
	log_ratelimited(&p->rl, LOG_WARN,
			"%s: sleep type %u requested; only S5 (%u) is "
			"supported, ignored",
			p->name, typ, ABI_ACPI_SLP_TYP_S5);
}

static enum bus_status acpi_pm_io(void *opaque, uint64_t offset, uint8_t *data,
				  unsigned size, bool is_write)
{
	struct acpi_pm *p = opaque;
	bool sleep = false;

	if (offset >= ACPI_PM_SIZE || size > ACPI_PM_SIZE - offset)
		return BUS_UNHANDLED;
	pthread_mutex_lock(&p->lock);
	for (unsigned i = 0; i < size; i++) {
		unsigned off = (unsigned)offset + i;

		if (!is_write) {
			data[i] = acpi_pm_read_byte(p, off);
			continue;
		}
		acpi_pm_write_byte(p, off, data[i]);
		if (off == ACPI_PM1_CNT + 1 &&
		    (data[i] & (ABI_ACPI_SLP_EN >> 8)))
			sleep = true;
	}
	/* Act once the whole access is applied: a 16-bit write sets SLP_TYP
	 * and SLP_EN together. */
	if (sleep)
		acpi_pm_sleep(p);
	p->cnt &= (uint16_t)~CNT_WRITE_ONLY;
	pthread_mutex_unlock(&p->lock);
	return BUS_OK;
}

static int acpi_pm_create(struct vm *vm, struct device *dev)
{
	uint64_t port = cfg_dev_num(dev->cfg, "port");
	struct acpi_pm *p;
	int ret;

	if (port > 0x10000 - ACPI_PM_SIZE)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->vm = vm;
	p->name = dev->name;
	p->rl = (struct log_ratelimit){ .burst = 5, .interval_ms = 1000 };
	pthread_mutex_init(&p->lock, NULL);
	ret = bus_register(vm_bus(vm, VM_BUS_PIO), port, ACPI_PM_SIZE,
			   acpi_pm_io, p, dev->name);
	if (ret) {
		log_err("%s: cannot register ports 0x%llx-0x%llx: %s",
			dev->name, (unsigned long long)port,
			(unsigned long long)port + ACPI_PM_SIZE - 1,
			strerror(-ret));
		pthread_mutex_destroy(&p->lock);
		free(p);
		return ret;
	}
	dev->priv = p;
	return 0;
}

static void acpi_pm_reset(struct device *dev)
{
	struct acpi_pm *p = dev->priv;

	pthread_mutex_lock(&p->lock);
	p->sts = 0;
	p->en = 0;
	p->cnt = 0;
	pthread_mutex_unlock(&p->lock);
}

static void acpi_pm_destroy(struct device *dev)
{
	struct acpi_pm *p = dev->priv;

	if (!p)
		return;
	pthread_mutex_destroy(&p->lock);
	free(p);
	dev->priv = NULL;
}

static unsigned acpi_pm_resources(const struct cfg_device *cfg,
				  struct dev_resource *res, unsigned max)
{
	return dev_port_resource(cfg, ACPI_PM_SIZE, res, max);
}

/* Listed in devices/registry.c. */

const struct device_type acpi_pm_type = {
	.name = "acpi-pm",
	.help = "ACPI PM1a event/control registers: S5 sleep powers off",
	.params = acpi_pm_params,
	.resources = acpi_pm_resources,
	.create = acpi_pm_create,
	.reset = acpi_pm_reset,
	.destroy = acpi_pm_destroy,
};
