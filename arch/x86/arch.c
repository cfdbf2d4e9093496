/* SPDX-License-Identifier: MIT */
/*
 * arch/arch.h for x86-64: in-kernel irqchip (PIC, IOAPIC, LAPICs) and PIT,
 * CPUID from KVM_GET_SUPPORTED_CPUID with per-vCPU APIC IDs, boot images via
 * arch/x86/boot.c, entry state via arch/x86/cpu.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/arch.h"
#include "arch/x86/acpi.h"
#include "arch/x86/cpuid.h"
#include "arch/x86/mptable.h"
#include "arch/x86/x86.h"
#include "devices/abi/x86_pc.h"
#include "devices/pci.h"
#include "vmm/platform.h"
#include "vmm/util.h"
#include "vmm/vm_impl.h"

const char arch_name[] = "x86_64";

static const struct platform_region fixed_regions[] = {
	{ X86_IOAPIC_BASE, X86_IOAPIC_SIZE, "IOAPIC" },
	{ X86_LAPIC_BASE, X86_LAPIC_SIZE, "local APIC" },
	{ X86_KVM_IDENT_MAP, X86_KVM_PRIVATE_SIZE, "KVM TSS/identity map" },
};

/* Ports of the in-kernel PICs and PIT (arch_vm_init()): KVM handles them
 * itself, so a device placed there would never see an access. */
static const struct platform_region kernel_ports[] = {
	{ 0x20, 2, "master 8259 PIC", true },
	{ 0x40, 4, "i8254 PIT", true },
	{ 0x61, 1, "PIT speaker port", true },
	{ 0xa0, 2, "slave 8259 PIC", true },
	{ 0x4d0, 2, "8259 ELCR", true },
};

/* Interrupt lines of the in-kernel IOAPIC (KVM's default GSI routing);
 * KVM_IRQ_LINE silently drops a higher one. */
#define X86_IOAPIC_PINS 24

static int check_resource(const struct vm_config *cfg,
			  const struct cfg_device *d,
			  const struct dev_resource *rr, struct cfg_error *err)
{
	const struct platform_region *k;

	(void)cfg;
	if (rr->kind == DEV_RES_IRQ && (rr->base == 0 || rr->base == 2)) {
		cfg_dev_error(err, d, rr->key,
			      "IRQ %llu belongs to the in-kernel %s",
			      (unsigned long long)rr->base,
			      rr->base ? "PIC cascade" : "PIT");
		return -EINVAL;
	}
	if (rr->kind == DEV_RES_IRQ && rr->base >= X86_IOAPIC_PINS) {
		cfg_dev_error(err, d, rr->key,
			      "IRQ %llu does not exist: the IOAPIC has lines "
			      "0 to %u",
			      (unsigned long long)rr->base,
			      X86_IOAPIC_PINS - 1);
		return -EINVAL;
	}
	if (rr->kind != DEV_RES_PIO)
		return 0;
	k = platform_region_hit(kernel_ports, ARRAY_SIZE(kernel_ports), true,
				rr->base, rr->size);
	if (!k)
		return 0;
	cfg_dev_error(err, d, rr->key,
		      "ports 0x%llx-0x%llx overlap the %s (0x%llx-0x%llx), "
		      "which KVM emulates in the kernel",
		      (unsigned long long)rr->base,
		      (unsigned long long)(rr->base + rr->size - 1), k->what,
		      (unsigned long long)k->base,
		      (unsigned long long)(k->base + k->size - 1));
	return -EINVAL;
}

/* The PCI host bridge's fixed regions (devices/pci.c, arch_pci_layout()),
 * there when a PCI device is configured. */
static const struct platform_region pci_regions[] = {
	{ ABI_PCI_CONFIG_ADDRESS, 8, "PCI configuration ports", true },
	{ ABI_PCI_IO_BASE, ABI_PCI_IO_SIZE, "PCI I/O window", true },
	{ ABI_PCI_MMIO32_BASE, ABI_PCI_MMIO32_SIZE,
	  "PCI 32-bit memory window" },
	{ ABI_PCI_ECAM_BASE, ABI_PCI_ECAM_SIZE, "PCI ECAM" },
	{ ABI_PCI_MMIO64_BASE, ABI_PCI_MMIO64_SIZE,
	  "PCI 64-bit memory window" },
};

static int check_pci_resource(const struct vm_config *cfg,
			      const struct cfg_device *d,
			      const struct dev_resource *rr,
			      struct cfg_error *err)
{
	(void)cfg;
	/* pc-reset's 0xcf9: the host bridge forwards it. */
	if (rr->kind == DEV_RES_PIO && rr->base == ABI_PC_RESET_PORT &&
	    rr->size == 1 && !strcmp(d->type->name, "pc-reset"))
		return 0;
	return platform_check_res(d, rr, pci_regions, ARRAY_SIZE(pci_regions),
				  err);
}

static int check_pci(const struct vm_config *cfg, struct cfg_error *err)
{
	int ret = pci_cfg_check(cfg, err);

	if (ret || !pci_cfg_wanted(cfg))
		return ret;
	for (unsigned i = 0; !ret && i < cfg->nr_mem; i++)
		ret = platform_check_mem(&cfg->mem[i], pci_regions,
					 ARRAY_SIZE(pci_regions),
					 " (there is a PCI device)", err);
	return ret ? ret : platform_check_devices(cfg, check_pci_resource, err);
}

int arch_check_config(const struct vm_config *cfg, struct cfg_error *err)
{
	int ret;

	for (unsigned i = 0; i < cfg->nr_mem; i++) {
		ret = platform_check_mem(&cfg->mem[i], fixed_regions,
					 ARRAY_SIZE(fixed_regions), "", err);
		if (ret)
			return ret;
	}
	if (cfg->boot.dtb) {
		cfg_error_at(err, &cfg->boot.dtb_loc, "boot", "dtb",
			     "x86_64 guests get ACPI and MP tables, not a "
			     "device tree (dtb is for arm64)");
		return -EINVAL;
	}
	/* The entry mode of a flat binary cannot be guessed. */
	if (cfg->boot.format == BOOT_FORMAT_RAW &&
	    cfg->boot.mode == CPU_MODE_DEFAULT) {
		cfg_error_at(err, &cfg->boot.format_loc, "boot", "mode",
			     "required with format = raw (real, protected or "
			     "long)");
		return -EINVAL;
	}
	if (cfg->boot.format == BOOT_FORMAT_RAW &&
	    cfg->boot.mode == CPU_MODE_REAL) {
		uint64_t entry = cfg->boot.has_entry ? cfg->boot.entry
						     : cfg->boot.load_address;

		if (entry >= 0x100000) {
			cfg_error_at(err, &cfg->boot.loc, "boot", "entry",
				     "0x%llx is not reachable in real mode "
				     "(must be below 1 MiB)",
				     (unsigned long long)entry);
			return -EINVAL;
		}
	}
	ret = platform_check_devices(cfg, check_resource, err);
	return ret ? ret : check_pci(cfg, err);
}

void arch_print_layout(const struct vm_config *cfg, FILE *out)
{
	fprintf(out, "\nx86_64 platform (in-kernel):\n");
	platform_print_regions(out, fixed_regions, ARRAY_SIZE(fixed_regions));
	fprintf(out, "  8259 PICs, i8254 PIT (ports 0x40-0x43, 0x61)\n");
	if (!pci_cfg_wanted(cfg))
		return;
	fprintf(out, "\nPCI host bridge (00:00.0, bus 0):\n");
	platform_print_regions(out, pci_regions, ARRAY_SIZE(pci_regions));
}

static int get_supported_cpuid(struct vm *vm, struct x86_vm *xv)
{
	for (unsigned nent = 64; nent <= 1024; nent *= 2) {
		struct kvm_cpuid2 *c;

		c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
		if (!c) {
			log_err("out of memory for CPUID entries");
			return -ENOMEM;
		}
		c->nent = nent;
		if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			xv->cpuid = c;
			/* KVM emulates the LAPIC's TSC-deadline mode but never
			 * reports it in KVM_GET_SUPPORTED_CPUID (leaf 1 ECX
			 * bit 24; api.rst): userspace sets it. Without it
			 * Linux calibrates the LAPIC timer against the PIT,
			 * which is slow and, when vCPU time is irregular,
			 * fails ("APIC timer disabled due to verification
			 * failure") and leaves the guest on the PIT. */
			if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION,
				  KVM_CAP_TSC_DEADLINE_TIMER) > 0) {
				for (unsigned i = 0; i < c->nent; i++)
					if (c->entries[i].function == 1)
						c->entries[i].ecx |= 1u << 24;
			}
			if (!vm->cfg->pv_eoi)
				x86_cpuid_clear_pv_eoi(c);
			return 0;
		}
		free(c);
		if (errno != E2BIG) {
			int ret = -errno;

			log_err("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
			return ret;
		}
	}
	log_err("KVM_GET_SUPPORTED_CPUID: more than 1024 entries");
	return -E2BIG;
}

int arch_vm_init(struct vm *vm)
{
	/* SPEAKER_DUMMY: port 0x61 (PIT channel 2 gate, used to calibrate timers)
	 * is handled in the kernel too. */
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t ident = X86_KVM_IDENT_MAP;
	struct x86_vm *xv;
	int ret;

	xv = calloc(1, sizeof(*xv));
	if (!xv) {
		log_err("out of memory for the x86 VM state");
		return -ENOMEM;
	}
	vm->arch = xv;
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident) < 0)
		log_debug("KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)X86_KVM_TSS) <
	    0) {
		ret = -errno;
		log_err("KVM_SET_TSS_ADDR: %s", strerror(errno));
		return ret;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		ret = -errno;
		log_err("KVM_CREATE_IRQCHIP: %s", strerror(errno));
		return ret;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		ret = -errno;
		log_err("KVM_CREATE_PIT2: %s", strerror(errno));
		return ret;
	}
	/* Unknown MSRs come to us instead of a #GP the guest may not expect:
	 * answered (reads 0, writes ignored), counted and logged. Optional:
	 * without the capability KVM's own behaviour stays. */
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_X86_USER_SPACE_MSR,
		.args[0] = KVM_MSR_EXIT_REASON_UNKNOWN,
	};
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_X86_USER_SPACE_MSR) >
		    0 &&
	    ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) < 0)
		log_debug("KVM_CAP_X86_USER_SPACE_MSR: %s", strerror(errno));
	return get_supported_cpuid(vm, xv);
}

/* A virtio device on the MMIO transport (virtio/: type "virtio-*" with
 * `transport = mmio`), which the DSDT describes as LNRO0005. */
static bool is_virtio_mmio(const struct cfg_device *d)
{
	if (strncmp(d->type->name, "virtio-", 7))
		return false;
	for (const struct dev_param *p = d->type->params; p && p->key; p++)
		if (!strcmp(p->key, "transport"))
			return !strcmp(cfg_dev_str(d, "transport"), "mmio");
	return false;
}

/* Its registers (resource "address") and interrupt (resource "irq"). */
static void add_virtio_mmio(struct x86_tables_cfg *t,
			    const struct dev_resource *res, unsigned n)
{
	struct x86_tables_virtio_mmio v = { 0 };
	bool mmio = false, irq = false;

	for (unsigned r = 0; r < n; r++) {
		if (res[r].kind == DEV_RES_MMIO && !mmio) {
			v.base = res[r].base;
			v.size = (uint32_t)MIN(res[r].size, UINT32_MAX);
			mmio = true;
		} else if (res[r].kind == DEV_RES_IRQ && !irq) {
			v.irq = (uint8_t)MIN(res[r].base, 0xff);
			irq = true;
		}
	}
	if (mmio && irq)
		t->vmmio[t->nr_vmmio++] = v;
}

/* What the ACPI/MP tables describe, from the configured devices. */
static void tables_cfg(const struct vm *vm, const struct x86_vm *xv,
		       struct x86_tables_cfg *t)
{
	const struct vm_config *cfg = vm->cfg;

	memset(t, 0, sizeof(*t));
	t->nr_cpus = cfg->vcpus;
	t->irq0_pin = 0; /* KVM's default GSI routing: GSI n -> pin n */
	t->pci = pci_cfg_wanted(cfg);
	for (unsigned i = 0; i < cfg->nr_devices; i++) {
		const struct cfg_device *d = &cfg->devices[i];
		struct dev_resource res[DEV_MAX_RESOURCES];
		unsigned n =
			d->type->resources
				? d->type->resources(d, res, ARRAY_SIZE(res))
				: 0;

		for (unsigned r = 0; r < MIN(n, DEV_MAX_RESOURCES); r++)
			if (res[r].kind == DEV_RES_IRQ && res[r].base < 16)
				t->isa_irqs |= (uint16_t)(1u << res[r].base);
		if (!strcmp(d->type->name, "acpi-pm"))
			t->pm_port = (uint16_t)cfg_dev_num(d, "port");
		if (is_virtio_mmio(d) &&
		    t->nr_vmmio < X86_TABLES_MAX_VIRTIO_MMIO)
			add_virtio_mmio(t, res, MIN(n, DEV_MAX_RESOURCES));
		if (!strcmp(d->type->name, "uart8250") &&
		    t->nr_uarts < X86_TABLES_MAX_UARTS) {
			t->uarts[t->nr_uarts].port =
				(uint16_t)cfg_dev_num(d, "port");
			t->uarts[t->nr_uarts].irq =
				(uint8_t)cfg_dev_num(d, "irq");
			t->nr_uarts++;
		}
	}
	for (unsigned i = 0; i < xv->cpuid->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &xv->cpuid->entries[i];

		if (e->function == 1) {
			t->cpu_signature = e->eax;
			t->cpu_features = e->edx;
		}
	}
}

/*
 * The image first, then the ACPI and MP tables in the BIOS area. Linux and
 * PVH kernels need the tables (the zero page / start_info carry the RSDP
 * address, fixed at X86_ACPI_BASE), so for them a table that cannot be
 * placed is an error. Other guests get the tables where there is room: an
 * image that occupies the BIOS area itself (a ROM-style image) simply runs
 * without them.
 */
int arch_load_boot(struct vm *vm, char *err, size_t errlen)
{
	struct x86_vm *xv = vm->arch;
	struct x86_tables_cfg t;
	struct x86_boot_opts opts = { 0 };
	uint64_t rsdp = 0;
	struct boot_ctx *b;
	bool required;
	int ret;

	b = malloc(sizeof(*b));
	if (!b)
		return -ENOMEM;
	boot_ctx_init(b, &vm->mem);
	if (mem_ptr(&vm->mem, X86_ACPI_BASE, 36))
		opts.rsdp = X86_ACPI_BASE;
	ret = x86_boot_load_opts(b, vm->cfg, &opts, &xv->entry);
	if (ret)
		goto out;

	required =
		xv->entry.abi == X86_ABI_LINUX || xv->entry.abi == X86_ABI_PVH;
	tables_cfg(vm, xv, &t);
	t.required = required;
	ret = x86_acpi_build(b, &t, &rsdp);
	if (!ret)
		ret = x86_mptable_build(b, &t);
	if (!ret && required && rsdp != opts.rsdp)
		ret = boot_fail(b, -EINVAL,
				"ACPI RSDP at 0x%llx, expected 0x%llx",
				(unsigned long long)rsdp,
				(unsigned long long)opts.rsdp);
	if (ret && !required) {
		log_info("no ACPI/MP tables for this guest: %s", b->err);
		b->err[0] = '\0';
		ret = 0;
	}
	if (!ret)
		ret = x86_cpu_prepare(b, xv);
out:
	if (ret)
		snprintf(err, errlen, "%s",
			 b->err[0] ? b->err : strerror(-ret));
	free(b);
	return ret;
}

/* CPUID as KVM supports it, with this vCPU's identity patched in. */
int arch_vcpu_init(struct vm *vm, struct vcpu *vcpu)
{
	struct x86_vm *xv = vm->arch;
	struct kvm_cpuid2 *c;
	size_t size = sizeof(*c) + xv->cpuid->nent * sizeof(c->entries[0]);
	int ret = 0;

	c = malloc(size);
	if (!c) {
		log_err("vcpu%u: out of memory for CPUID", vcpu->id);
		return -ENOMEM;
	}
	memcpy(c, xv->cpuid, size);
	x86_cpuid_patch(c, vcpu->id, vm->cfg->vcpus);
	if (ioctl(vcpu->fd, KVM_SET_CPUID2, c) < 0) {
		ret = -errno;
		log_err("vcpu%u: KVM_SET_CPUID2: %s", vcpu->id,
			strerror(errno));
	}
	free(c);
	return ret;
}

int arch_vcpu_reset(struct vcpu *vcpu)
{
	struct x86_vm *xv = vcpu->vm->arch;
	int ret;

	/* APs keep KVM's reset state and wait for INIT/SIPI from the BSP
	 * through the in-kernel LAPIC. */
	if (vcpu->id != 0)
		return 0;
	ret = x86_cpu_set_entry(vcpu->fd, xv);
	if (ret)
		log_err("vcpu%u: cannot load the entry state: %s", vcpu->id,
			strerror(-ret));
	return ret;
}

/*
 * KVM builds its APIC-ID -> vCPU map from LAPIC state changes; a freshly
 * created AP is not in it until something writes its LAPIC, so an INIT IPI
 * addressed to it before that is dropped (a broadcast still works). Legacy
 * OSes send INIT before touching anything else: writing each vCPU's own
 * reset LAPIC state back puts every one in the map from the start.
 */
int arch_vm_ready(struct vm *vm)
{
	struct kvm_lapic_state lapic;

	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (ioctl(v->fd, KVM_GET_LAPIC, &lapic) < 0 ||
		    ioctl(v->fd, KVM_SET_LAPIC, &lapic) < 0) {
			int ret = -errno;

			log_err("vcpu%u: LAPIC state: %s", v->id,
				strerror(errno));
			return ret;
		}
	}
	return 0;
}

int arch_handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_SHUTDOWN:
		/* On a PC a triple fault resets the machine, and some guests
		 * reboot that way on purpose; [vm] triple-fault = reset
		 * honours that. By default it is reported as the fault it
		 * usually is, with registers. */
		if (vcpu->vm->cfg->triple_fault_resets) {
			vm_stop_with(vcpu->vm, VM_STOP_REBOOT, 0,
				     "vcpu%u: triple fault: resetting",
				     vcpu->id);
			return 1;
		}
		vcpu_guest_fault(vcpu, "triple fault (CPU shutdown): an "
				       "exception the guest could not handle");
		return 1;
	case KVM_EXIT_HLT:
		/* Only without an in-kernel LAPIC; we always have one. */
		vm_stop_with(vcpu->vm, VM_STOP_POWEROFF, 0, "vcpu%u halted",
			     vcpu->id);
		return 1;
	case KVM_EXIT_X86_RDMSR:
	case KVM_EXIT_X86_WRMSR: {
		bool wr = run->exit_reason == KVM_EXIT_X86_WRMSR;

		/* Counted as exits of their reason (--stats). */
		log_ratelimited(&vcpu->vm->unhandled_rl, LOG_WARN,
				"vcpu%u: unknown MSR 0x%x %s%s", vcpu->id,
				run->msr.index, wr ? "written" : "read",
				wr ? " (ignored)" : " (returns 0)");
		if (!wr)
			run->msr.data = 0;
		run->msr.error = 0;
		return 0;
	}
	case KVM_EXIT_EXCEPTION:
		vcpu_guest_fault(vcpu,
				 "unhandled exception %u (error code "
				 "0x%x)",
				 run->ex.exception, run->ex.error_code);
		return 1;
	default:
		vcpu_guest_fault(vcpu, "unexpected KVM exit %u (%s)",
				 run->exit_reason,
				 kvm_exit_name(run->exit_reason));
		return 1;
	}
}

static void dump_seg(FILE *out, const char *name, const struct kvm_segment *s)
{
	fprintf(out, "  %-3s sel=%04x base=%016llx limit=%08x type=%x%s%s\n",
		name, s->selector, (unsigned long long)s->base, s->limit,
		s->type, s->l ? " L" : "", s->db ? " D" : "");
}

void arch_dump_regs(struct vcpu *vcpu, FILE *out)
{
	struct kvm_sregs sr;
	struct kvm_regs r;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_SREGS, &sr) < 0) {
		fprintf(out, "vmm: vcpu%u: cannot read registers: %s\n",
			vcpu->id, strerror(errno));
		return;
	}
	fprintf(out,
		"vmm: vcpu%u registers:\n"
		"  rip=%016llx rsp=%016llx rflags=%016llx\n"
		"  rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx\n"
		"  rsi=%016llx rdi=%016llx rbp=%016llx\n"
		"  r8 =%016llx r9 =%016llx r10=%016llx r11=%016llx\n"
		"  r12=%016llx r13=%016llx r14=%016llx r15=%016llx\n"
		"  cr0=%016llx cr2=%016llx cr3=%016llx cr4=%016llx\n"
		"  efer=%016llx apic_base=%016llx\n"
		"  gdt=%016llx/%04x idt=%016llx/%04x\n",
		vcpu->id, (unsigned long long)r.rip, (unsigned long long)r.rsp,
		(unsigned long long)r.rflags, (unsigned long long)r.rax,
		(unsigned long long)r.rbx, (unsigned long long)r.rcx,
		(unsigned long long)r.rdx, (unsigned long long)r.rsi,
		(unsigned long long)r.rdi, (unsigned long long)r.rbp,
		(unsigned long long)r.r8, (unsigned long long)r.r9,
		(unsigned long long)r.r10, (unsigned long long)r.r11,
		(unsigned long long)r.r12, (unsigned long long)r.r13,
		(unsigned long long)r.r14, (unsigned long long)r.r15,
		(unsigned long long)sr.cr0, (unsigned long long)sr.cr2,
		(unsigned long long)sr.cr3, (unsigned long long)sr.cr4,
		(unsigned long long)sr.efer, (unsigned long long)sr.apic_base,
		(unsigned long long)sr.gdt.base, sr.gdt.limit,
		(unsigned long long)sr.idt.base, sr.idt.limit);
	dump_seg(out, "cs", &sr.cs);
	dump_seg(out, "ss", &sr.ss);
	dump_seg(out, "ds", &sr.ds);
}

/*
 * KVM's default x86 routing (what KVM_CREATE_IRQCHIP sets up and
 * vm_set_irq() and the in-kernel PIT rely on): GSI n drives IOAPIC pin n for
 * 0-23 and, for 0-15, PIC pin n % 8 of the master (n < 8) or slave.
 */
unsigned arch_irq_routes(struct vm *vm, struct kvm_irq_routing_entry *e,
			 unsigned max)
{
	unsigned n = 0;

	(void)vm;
	for (unsigned gsi = 0; gsi < X86_IOAPIC_PINS; gsi++) {
		if (gsi < 16 && n < max)
			e[n++] = (struct kvm_irq_routing_entry){
				.gsi = gsi,
				.type = KVM_IRQ_ROUTING_IRQCHIP,
				.u.irqchip.irqchip =
					gsi < 8 ? KVM_IRQCHIP_PIC_MASTER
						: KVM_IRQCHIP_PIC_SLAVE,
				.u.irqchip.pin = gsi % 8,
			};
		if (n < max)
			e[n++] = (struct kvm_irq_routing_entry){
				.gsi = gsi,
				.type = KVM_IRQ_ROUTING_IRQCHIP,
				.u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC,
				.u.irqchip.pin = gsi,
			};
	}
	return n;
}

int arch_set_irq(struct vm *vm, unsigned irq, int level)
{
	struct kvm_irq_level l = { .irq = irq, .level = level ? 1 : 0 };

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0)
		return -errno;
	return 0;
}

int arch_dump_dtb(const struct vm_config *cfg, const char *path, char *err,
		  size_t errlen)
{
	snprintf(err, errlen,
		 "%s guests get ACPI and MP tables, not a device tree "
		 "(vmm dumpdtb is for arm64)",
		 arch_name);
	return -ENOTSUP;
}

bool arch_pci_layout(struct pci_layout *l)
{
	*l = pci_layout_x86;
	return true;
}

void arch_vcpu_destroy(struct vcpu *vcpu)
{
	(void)vcpu;
}

void arch_vm_destroy(struct vm *vm)
{
	struct x86_vm *xv = vm->arch;

	if (!xv)
		return;
	free(xv->cpuid);
	free(xv);
	vm->arch = NULL;
}
