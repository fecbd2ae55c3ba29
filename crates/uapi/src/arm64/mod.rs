//! The generic arm64 KVM user ABI a realm VMM needs besides the realm revision's own items.
//!
//! Sources: Linux `include/uapi/linux/kvm.h` and `arch/arm64/include/uapi/asm/kvm.h` (mainline; these items
//! are the same in every kernel the v10–v14 postings are based on, v6.17 to v7.1).
//!
//! Numbers that `kvm-bindings` defines on *every* architecture (its x86_64 build included) are re-exported
//! from it, so the VMM's host backend and this crate cannot disagree. Everything else is defined here:
//! arm64-only items (vCPU features, core-register ids, GICv3 device attributes) that an x86_64 build of
//! `kvm-bindings` lacks, request numbers (bindgen cannot translate `_IOW` & co.), and the argument structs,
//! because `kvm-bindings`' structs do not derive `zerocopy` traits (the kernel layer reads them from bytes).
//! Structs keep the kernel's names and layouts, pinned at compile time and by the C compile test.

mod regs;
mod run;

use core::mem::{offset_of, size_of};

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

pub use kvm_bindings::{
    KVM_API_VERSION, KVM_CAP_ARM_NISV_TO_USER, KVM_CAP_ARM_PMU_V3, KVM_CAP_ARM_PSCI,
    KVM_CAP_ARM_PSCI_0_2, KVM_CAP_ARM_PTRAUTH_ADDRESS, KVM_CAP_ARM_PTRAUTH_GENERIC,
    KVM_CAP_ARM_SVE, KVM_CAP_ARM_VM_IPA_SIZE, KVM_CAP_DEVICE_CTRL, KVM_CAP_EXIT_HYPERCALL,
    KVM_CAP_GUEST_MEMFD, KVM_CAP_IMMEDIATE_EXIT, KVM_CAP_IRQCHIP, KVM_CAP_MAX_VCPU_ID,
    KVM_CAP_MAX_VCPUS, KVM_CAP_MEMORY_ATTRIBUTES, KVM_CAP_MEMORY_FAULT_INFO, KVM_CAP_MSI_DEVID,
    KVM_CAP_NR_VCPUS, KVM_CAP_ONE_REG, KVM_CAP_USER_MEMORY, KVM_CAP_USER_MEMORY2, KVM_CAP_VM_TYPES,
    KVM_CREATE_DEVICE_TEST, KVM_EXIT_ARM_NISV, KVM_EXIT_DEBUG, KVM_EXIT_FAIL_ENTRY,
    KVM_EXIT_HYPERCALL, KVM_EXIT_INTERNAL_ERROR, KVM_EXIT_INTR, KVM_EXIT_MEMORY_FAULT,
    KVM_EXIT_MMIO, KVM_EXIT_SHUTDOWN, KVM_EXIT_SYSTEM_EVENT, KVM_EXIT_UNKNOWN, KVM_MEM_GUEST_MEMFD,
    KVM_MEM_LOG_DIRTY_PAGES, KVM_MEM_READONLY, KVM_MEMORY_ATTRIBUTE_PRIVATE,
    KVM_MEMORY_EXIT_FLAG_PRIVATE, KVM_REG_ARM64, KVM_REG_SIZE_MASK, KVM_REG_SIZE_SHIFT,
    KVM_REG_SIZE_U32, KVM_REG_SIZE_U64, KVM_SYSTEM_EVENT_CRASH, KVM_SYSTEM_EVENT_RESET,
    KVM_SYSTEM_EVENT_SHUTDOWN, KVM_SYSTEM_EVENT_SUSPEND, KVM_SYSTEM_EVENT_WAKEUP, KVMIO,
};
pub use regs::*;
pub use run::*;

use crate::catalog::{Field, Item, Kind, layout, num, num64};
use crate::ioctl::{io, ior, iow, iowr};

// ---- vCPU features and targets (arch/arm64/include/uapi/asm/kvm.h) ----

/// `kvm_vcpu_init.features` bit: start powered off (secondary vCPUs waiting for PSCI CPU_ON).
pub const KVM_ARM_VCPU_POWER_OFF: u32 = 0;
/// `kvm_vcpu_init.features` bit: AArch32 EL1 (rejected for realms).
pub const KVM_ARM_VCPU_EL1_32BIT: u32 = 1;
/// `kvm_vcpu_init.features` bit: PSCI v0.2+; required for every REC of a realm (v10 and later).
pub const KVM_ARM_VCPU_PSCI_0_2: u32 = 2;
/// `kvm_vcpu_init.features` bit: PMUv3.
pub const KVM_ARM_VCPU_PMU_V3: u32 = 3;
/// `kvm_vcpu_init.features` bit: SVE (then `KVM_ARM_VCPU_FINALIZE(KVM_ARM_VCPU_SVE)`).
pub const KVM_ARM_VCPU_SVE: u32 = 4;
/// `kvm_vcpu_init.features` bit: address pointer authentication.
pub const KVM_ARM_VCPU_PTRAUTH_ADDRESS: u32 = 5;
/// `kvm_vcpu_init.features` bit: generic pointer authentication.
pub const KVM_ARM_VCPU_PTRAUTH_GENERIC: u32 = 6;
/// `kvm_vcpu_init.features` bit: nested virtualisation (EL2).
pub const KVM_ARM_VCPU_HAS_EL2: u32 = 7;
/// `kvm_vcpu_init.features` bit: limit nested virtualisation to E2H RES0.
pub const KVM_ARM_VCPU_HAS_EL2_E2H0: u32 = 8;
/// `kvm_vcpu_init.target`: the generic ARMv8 target `KVM_ARM_PREFERRED_TARGET` returns on current kernels.
pub const KVM_ARM_TARGET_GENERIC_V8: u32 = 5;

/// `struct kvm_vcpu_init`: the argument of [`KVM_ARM_VCPU_INIT`] and [`KVM_ARM_PREFERRED_TARGET`].
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct kvm_vcpu_init {
    /// The target (`KVM_ARM_TARGET_*`).
    pub target: u32,
    /// Feature bitmap, bit `n` of word `n / 32` for `KVM_ARM_VCPU_*` feature `n`.
    pub features: [u32; 7],
}

impl kvm_vcpu_init {
    /// Whether feature bit `feature` (a `KVM_ARM_VCPU_*` number) is set; `false` beyond the bitmap.
    #[must_use]
    pub fn has_feature(&self, feature: u32) -> bool {
        let word = usize::try_from(feature / 32)
            .ok()
            .and_then(|w| self.features.get(w));
        word.is_some_and(|w| w & (1 << (feature % 32)) != 0)
    }

    /// Set feature bit `feature`; returns `false` (and changes nothing) if it lies beyond the bitmap.
    pub fn set_feature(&mut self, feature: u32) -> bool {
        let word = usize::try_from(feature / 32)
            .ok()
            .and_then(|w| self.features.get_mut(w));
        match word {
            Some(w) => {
                *w |= 1 << (feature % 32);
                true
            }
            None => false,
        }
    }
}

// ---- VM type ----

/// Bits \[7:0\] of `KVM_CREATE_VM`'s type: the IPA size in bits (0 = the default 40). `0xffULL` in C
/// (`kvm-bindings` types it `u32`, hence defined here as `u64`).
pub const KVM_VM_TYPE_ARM_IPA_SIZE_MASK: u64 = 0xff;

/// `KVM_VM_TYPE_ARM_IPA_SIZE(x)`: the IPA-size field of a VM type.
#[expect(non_snake_case, reason = "kernel macro name")]
#[must_use]
pub const fn KVM_VM_TYPE_ARM_IPA_SIZE(x: u64) -> u64 {
    x & KVM_VM_TYPE_ARM_IPA_SIZE_MASK
}

// ---- hypercall exit flags ----

/// `kvm_run.hypercall.flags` bit: the call was an SMC (else an HVC).
pub const KVM_HYPERCALL_EXIT_SMC: u32 = 1 << 0;
/// `kvm_run.hypercall.flags` bit: the immediate was 16-bit (AArch32 T32).
pub const KVM_HYPERCALL_EXIT_16BIT: u32 = 1 << 1;

// ---- argument structs (include/uapi/linux/kvm.h) ----

/// `struct kvm_one_reg`: the argument of [`KVM_GET_ONE_REG`] / [`KVM_SET_ONE_REG`].
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct kvm_one_reg {
    /// Register id (see [`reg_x`], [`REG_PC`]).
    pub id: u64,
    /// User address of the value (8 bytes for a 64-bit register).
    pub addr: u64,
}

/// `struct kvm_enable_cap`: the argument of [`KVM_ENABLE_CAP`] (v10 drives its realm actions through it).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct kvm_enable_cap {
    /// The capability.
    pub cap: u32,
    /// Must be zero unless the capability says otherwise.
    pub flags: u32,
    /// Capability-specific arguments.
    pub args: [u64; 4],
    /// Reserved.
    pub pad: [u8; 64],
}

/// `struct kvm_userspace_memory_region`: the argument of [`KVM_SET_USER_MEMORY_REGION`].
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct kvm_userspace_memory_region {
    /// Slot id (address space in bits 16+).
    pub slot: u32,
    /// `KVM_MEM_*` flags.
    pub flags: u32,
    /// First guest physical address.
    pub guest_phys_addr: u64,
    /// Bytes (0 deletes the slot).
    pub memory_size: u64,
    /// Host virtual address of the backing memory.
    pub userspace_addr: u64,
}

/// `struct kvm_userspace_memory_region2`: the argument of [`KVM_SET_USER_MEMORY_REGION2`] (Linux 6.8+); the
/// way to give a memslot a guest_memfd (private) backing with [`KVM_MEM_GUEST_MEMFD`].
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct kvm_userspace_memory_region2 {
    /// Slot id (address space in bits 16+).
    pub slot: u32,
    /// `KVM_MEM_*` flags.
    pub flags: u32,
    /// First guest physical address.
    pub guest_phys_addr: u64,
    /// Bytes (0 deletes the slot).
    pub memory_size: u64,
    /// Host virtual address of the shared backing (realms need it for the unprotected alias).
    pub userspace_addr: u64,
    /// Offset into the guest_memfd.
    pub guest_memfd_offset: u64,
    /// The guest_memfd (with [`KVM_MEM_GUEST_MEMFD`]).
    pub guest_memfd: u32,
    /// Must be zero.
    pub pad1: u32,
    /// Must be zero.
    pub pad2: [u64; 14],
}

/// `struct kvm_create_guest_memfd`: the argument of [`KVM_CREATE_GUEST_MEMFD`] (Linux 6.8+).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct kvm_create_guest_memfd {
    /// Bytes.
    pub size: u64,
    /// `GUEST_MEMFD_FLAG_*`.
    pub flags: u64,
    /// Must be zero.
    pub reserved: [u64; 6],
}

/// `struct kvm_memory_attributes`: the argument of [`KVM_SET_MEMORY_ATTRIBUTES`] (VM ioctl; documented for
/// arm64 realms from v14).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct kvm_memory_attributes {
    /// First guest physical address (page aligned).
    pub address: u64,
    /// Bytes (page aligned).
    pub size: u64,
    /// `KVM_MEMORY_ATTRIBUTE_*` bits ([`KVM_MEMORY_ATTRIBUTE_PRIVATE`]).
    pub attributes: u64,
    /// Must be zero.
    pub flags: u64,
}

/// `struct kvm_create_device`: the argument of [`KVM_CREATE_DEVICE`] (the in-kernel GICv3 a realm requires).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct kvm_create_device {
    /// `KVM_DEV_TYPE_*` ([`KVM_DEV_TYPE_ARM_VGIC_V3`]).
    pub r#type: u32,
    /// Out: the device fd.
    pub fd: u32,
    /// [`KVM_CREATE_DEVICE_TEST`] or 0.
    pub flags: u32,
}

const _: () = assert!(offset_of!(kvm_create_device, r#type) == 0);

/// `struct kvm_device_attr`: the argument of [`KVM_SET_DEVICE_ATTR`] / [`KVM_GET_DEVICE_ATTR`] /
/// [`KVM_HAS_DEVICE_ATTR`].
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct kvm_device_attr {
    /// Must be zero.
    pub flags: u32,
    /// Attribute group (`KVM_DEV_ARM_VGIC_GRP_*`).
    pub group: u32,
    /// Attribute within the group.
    pub attr: u64,
    /// User address of the value.
    pub addr: u64,
}

/// `struct kvm_irq_level`: the argument of [`KVM_IRQ_LINE`] (`irq` is a union with `status` in C).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct kvm_irq_level {
    /// `KVM_ARM_IRQ_*` encoded interrupt (type, vcpu, number).
    pub irq: u32,
    /// 1 = assert, 0 = deassert.
    pub level: u32,
}

// ---- GICv3 device (arch/arm64/include/uapi/asm/kvm.h; enum kvm_device_type in linux/kvm.h) ----

/// `KVM_DEV_TYPE_ARM_VGIC_V3` (value 7 of `enum kvm_device_type`).
pub const KVM_DEV_TYPE_ARM_VGIC_V3: u32 = 7;
/// VGIC attribute group: base addresses.
pub const KVM_DEV_ARM_VGIC_GRP_ADDR: u32 = 0;
/// VGIC attribute group: number of interrupts.
pub const KVM_DEV_ARM_VGIC_GRP_NR_IRQS: u32 = 3;
/// VGIC attribute group: control.
pub const KVM_DEV_ARM_VGIC_GRP_CTRL: u32 = 4;
/// `KVM_DEV_ARM_VGIC_GRP_CTRL` attribute: initialise the VGIC.
pub const KVM_DEV_ARM_VGIC_CTRL_INIT: u32 = 0;
/// `KVM_DEV_ARM_VGIC_GRP_ADDR` attribute: distributor base.
pub const KVM_VGIC_V3_ADDR_TYPE_DIST: u32 = 2;
/// `KVM_DEV_ARM_VGIC_GRP_ADDR` attribute: redistributor base.
pub const KVM_VGIC_V3_ADDR_TYPE_REDIST: u32 = 3;

// ---- request numbers ----

/// `KVM_GET_API_VERSION = _IO(KVMIO, 0x00)` (/dev/kvm; answers [`KVM_API_VERSION`] = 12).
pub const KVM_GET_API_VERSION: u64 = io(KVMIO, 0x00);
/// `KVM_CREATE_VM = _IO(KVMIO, 0x01)` (/dev/kvm; argument = VM type).
pub const KVM_CREATE_VM: u64 = io(KVMIO, 0x01);
/// `KVM_CHECK_EXTENSION = _IO(KVMIO, 0x03)` (/dev/kvm or VM; argument = `KVM_CAP_*`).
pub const KVM_CHECK_EXTENSION: u64 = io(KVMIO, 0x03);
/// `KVM_GET_VCPU_MMAP_SIZE = _IO(KVMIO, 0x04)` (/dev/kvm): bytes to mmap from a vCPU fd for `kvm_run`.
pub const KVM_GET_VCPU_MMAP_SIZE: u64 = io(KVMIO, 0x04);
/// `KVM_CREATE_VCPU = _IO(KVMIO, 0x41)` (VM; argument = vCPU id).
pub const KVM_CREATE_VCPU: u64 = io(KVMIO, 0x41);
/// `KVM_SET_USER_MEMORY_REGION = _IOW(KVMIO, 0x46, struct kvm_userspace_memory_region)` (VM).
pub const KVM_SET_USER_MEMORY_REGION: u64 =
    iow(KVMIO, 0x46, size_of::<kvm_userspace_memory_region>());
/// `KVM_SET_USER_MEMORY_REGION2 = _IOW(KVMIO, 0x49, struct kvm_userspace_memory_region2)` (VM).
pub const KVM_SET_USER_MEMORY_REGION2: u64 =
    iow(KVMIO, 0x49, size_of::<kvm_userspace_memory_region2>());
/// `KVM_IRQ_LINE = _IOW(KVMIO, 0x61, struct kvm_irq_level)` (VM).
pub const KVM_IRQ_LINE: u64 = iow(KVMIO, 0x61, size_of::<kvm_irq_level>());
/// `KVM_RUN = _IO(KVMIO, 0x80)` (vCPU).
pub const KVM_RUN: u64 = io(KVMIO, 0x80);
/// `KVM_ENABLE_CAP = _IOW(KVMIO, 0xa3, struct kvm_enable_cap)` (VM or vCPU).
pub const KVM_ENABLE_CAP: u64 = iow(KVMIO, 0xa3, size_of::<kvm_enable_cap>());
/// `KVM_GET_ONE_REG = _IOW(KVMIO, 0xab, struct kvm_one_reg)` (vCPU).
pub const KVM_GET_ONE_REG: u64 = iow(KVMIO, 0xab, size_of::<kvm_one_reg>());
/// `KVM_SET_ONE_REG = _IOW(KVMIO, 0xac, struct kvm_one_reg)` (vCPU).
pub const KVM_SET_ONE_REG: u64 = iow(KVMIO, 0xac, size_of::<kvm_one_reg>());
/// `KVM_ARM_VCPU_INIT = _IOW(KVMIO, 0xae, struct kvm_vcpu_init)` (vCPU).
pub const KVM_ARM_VCPU_INIT: u64 = iow(KVMIO, 0xae, size_of::<kvm_vcpu_init>());
/// `KVM_ARM_PREFERRED_TARGET = _IOR(KVMIO, 0xaf, struct kvm_vcpu_init)` (VM).
pub const KVM_ARM_PREFERRED_TARGET: u64 = ior(KVMIO, 0xaf, size_of::<kvm_vcpu_init>());
/// `KVM_ARM_VCPU_FINALIZE = _IOW(KVMIO, 0xc2, int)` (vCPU; the argument is a pointer to the feature number:
/// `KVM_ARM_VCPU_SVE`, or in v10 `KVM_ARM_VCPU_REC`).
pub const KVM_ARM_VCPU_FINALIZE: u64 = iow(KVMIO, 0xc2, size_of::<i32>());
/// `KVM_SET_MEMORY_ATTRIBUTES = _IOW(KVMIO, 0xd2, struct kvm_memory_attributes)` (VM).
pub const KVM_SET_MEMORY_ATTRIBUTES: u64 = iow(KVMIO, 0xd2, size_of::<kvm_memory_attributes>());
/// `KVM_CREATE_GUEST_MEMFD = _IOWR(KVMIO, 0xd4, struct kvm_create_guest_memfd)` (VM; returns the fd).
pub const KVM_CREATE_GUEST_MEMFD: u64 = iowr(KVMIO, 0xd4, size_of::<kvm_create_guest_memfd>());
/// `KVM_CREATE_DEVICE = _IOWR(KVMIO, 0xe0, struct kvm_create_device)` (VM).
pub const KVM_CREATE_DEVICE: u64 = iowr(KVMIO, 0xe0, size_of::<kvm_create_device>());
/// `KVM_SET_DEVICE_ATTR = _IOW(KVMIO, 0xe1, struct kvm_device_attr)` (device).
pub const KVM_SET_DEVICE_ATTR: u64 = iow(KVMIO, 0xe1, size_of::<kvm_device_attr>());
/// `KVM_GET_DEVICE_ATTR = _IOW(KVMIO, 0xe2, struct kvm_device_attr)` (device).
pub const KVM_GET_DEVICE_ATTR: u64 = iow(KVMIO, 0xe2, size_of::<kvm_device_attr>());
/// `KVM_HAS_DEVICE_ATTR = _IOW(KVMIO, 0xe3, struct kvm_device_attr)` (device).
pub const KVM_HAS_DEVICE_ATTR: u64 = iow(KVMIO, 0xe3, size_of::<kvm_device_attr>());

/// Every generic arm64 item (see [`crate::catalog`]).
pub(crate) static CATALOG: &[Item] = &catalog_items();

const fn catalog_items() -> [Item; CATALOG_LEN] {
    let head = HEAD;
    let regs = regs::CATALOG;
    let run = run::CATALOG;
    let mut out = [HEAD[0]; CATALOG_LEN];
    let mut i = 0;
    while i < head.len() {
        out[i] = head[i];
        i += 1;
    }
    let mut j = 0;
    while j < regs.len() {
        out[i + j] = regs[j];
        j += 1;
    }
    let mut k = 0;
    while k < run.len() {
        out[i + j + k] = run[k];
        k += 1;
    }
    out
}

const CATALOG_LEN: usize = HEAD.len() + regs::CATALOG.len() + run::CATALOG.len();

const HEAD: [Item; 104] = [
    num!(Constant, KVMIO),
    num!(Constant, KVM_API_VERSION),
    // capabilities a realm VMM probes
    num!(Constant, KVM_CAP_IRQCHIP),
    num!(Constant, KVM_CAP_USER_MEMORY),
    num!(Constant, KVM_CAP_NR_VCPUS),
    num!(Constant, KVM_CAP_ONE_REG),
    num!(Constant, KVM_CAP_MAX_VCPUS),
    num!(Constant, KVM_CAP_ARM_PSCI),
    num!(Constant, KVM_CAP_DEVICE_CTRL),
    num!(Constant, KVM_CAP_ARM_PSCI_0_2),
    num!(Constant, KVM_CAP_ARM_PMU_V3),
    num!(Constant, KVM_CAP_MAX_VCPU_ID),
    num!(Constant, KVM_CAP_MSI_DEVID),
    num!(Constant, KVM_CAP_IMMEDIATE_EXIT),
    num!(Constant, KVM_CAP_ARM_VM_IPA_SIZE),
    num!(Constant, KVM_CAP_ARM_SVE),
    num!(Constant, KVM_CAP_ARM_PTRAUTH_ADDRESS),
    num!(Constant, KVM_CAP_ARM_PTRAUTH_GENERIC),
    num!(Constant, KVM_CAP_ARM_NISV_TO_USER),
    num!(Constant, KVM_CAP_EXIT_HYPERCALL),
    num!(Constant, KVM_CAP_USER_MEMORY2),
    num!(Constant, KVM_CAP_MEMORY_FAULT_INFO),
    num!(Constant, KVM_CAP_MEMORY_ATTRIBUTES),
    num!(Constant, KVM_CAP_GUEST_MEMFD),
    num!(Constant, KVM_CAP_VM_TYPES),
    // exits a realm VMM sees
    num!(Constant, KVM_EXIT_UNKNOWN),
    num!(Constant, KVM_EXIT_HYPERCALL),
    num!(Constant, KVM_EXIT_DEBUG),
    num!(Constant, KVM_EXIT_MMIO),
    num!(Constant, KVM_EXIT_SHUTDOWN),
    num!(Constant, KVM_EXIT_FAIL_ENTRY),
    num!(Constant, KVM_EXIT_INTR),
    num!(Constant, KVM_EXIT_INTERNAL_ERROR),
    num!(Constant, KVM_EXIT_SYSTEM_EVENT),
    num!(Constant, KVM_EXIT_ARM_NISV),
    num!(Constant, KVM_EXIT_MEMORY_FAULT),
    num!(Constant, KVM_SYSTEM_EVENT_SHUTDOWN),
    num!(Constant, KVM_SYSTEM_EVENT_RESET),
    num!(Constant, KVM_SYSTEM_EVENT_CRASH),
    num!(Constant, KVM_SYSTEM_EVENT_WAKEUP),
    num!(Constant, KVM_SYSTEM_EVENT_SUSPEND),
    num!(Constant, KVM_MEMORY_EXIT_FLAG_PRIVATE),
    // one-reg id fields
    num64!(Constant, KVM_REG_SIZE_U32),
    num64!(Constant, KVM_REG_SIZE_U64),
    num!(Constant, KVM_REG_SIZE_SHIFT),
    num64!(Constant, KVM_REG_SIZE_MASK),
    // memslots, attributes
    num!(Constant, KVM_MEM_LOG_DIRTY_PAGES),
    num!(Constant, KVM_MEM_READONLY),
    num!(Constant, KVM_MEM_GUEST_MEMFD),
    num!(Constant, KVM_MEMORY_ATTRIBUTE_PRIVATE),
    // vCPU features
    num!(Constant, KVM_ARM_VCPU_POWER_OFF),
    num!(Constant, KVM_ARM_VCPU_EL1_32BIT),
    num!(Constant, KVM_ARM_VCPU_PSCI_0_2),
    num!(Constant, KVM_ARM_VCPU_PMU_V3),
    num!(Constant, KVM_ARM_VCPU_SVE),
    num!(Constant, KVM_ARM_VCPU_PTRAUTH_ADDRESS),
    num!(Constant, KVM_ARM_VCPU_PTRAUTH_GENERIC),
    num!(Constant, KVM_ARM_VCPU_HAS_EL2),
    num!(Constant, KVM_ARM_VCPU_HAS_EL2_E2H0),
    num!(Constant, KVM_ARM_TARGET_GENERIC_V8),
    // VM type
    num64!(VmType, KVM_VM_TYPE_ARM_IPA_SIZE_MASK),
    Item::expr(
        "KVM_VM_TYPE_ARM_IPA_SIZE(40)",
        "KVM_VM_TYPE_ARM_IPA_SIZE(40)",
        Kind::VmType,
        KVM_VM_TYPE_ARM_IPA_SIZE(40),
    ),
    Item::expr(
        "KVM_VM_TYPE_ARM_IPA_SIZE(0x1ff)",
        "KVM_VM_TYPE_ARM_IPA_SIZE(0x1ff)",
        Kind::VmType,
        KVM_VM_TYPE_ARM_IPA_SIZE(0x1ff),
    ),
    // GICv3
    num!(Constant, KVM_DEV_TYPE_ARM_VGIC_V3),
    num!(Constant, KVM_DEV_ARM_VGIC_GRP_ADDR),
    num!(Constant, KVM_DEV_ARM_VGIC_GRP_NR_IRQS),
    num!(Constant, KVM_DEV_ARM_VGIC_GRP_CTRL),
    num!(Constant, KVM_DEV_ARM_VGIC_CTRL_INIT),
    num!(Constant, KVM_VGIC_V3_ADDR_TYPE_DIST),
    num!(Constant, KVM_VGIC_V3_ADDR_TYPE_REDIST),
    num!(Constant, KVM_CREATE_DEVICE_TEST),
    num!(Constant, KVM_HYPERCALL_EXIT_SMC),
    num!(Constant, KVM_HYPERCALL_EXIT_16BIT),
    // requests
    num64!(Request, KVM_GET_API_VERSION),
    num64!(Request, KVM_CREATE_VM),
    num64!(Request, KVM_CHECK_EXTENSION),
    num64!(Request, KVM_GET_VCPU_MMAP_SIZE),
    num64!(Request, KVM_CREATE_VCPU),
    num64!(Request, KVM_SET_USER_MEMORY_REGION),
    num64!(Request, KVM_SET_USER_MEMORY_REGION2),
    num64!(Request, KVM_IRQ_LINE),
    num64!(Request, KVM_RUN),
    num64!(Request, KVM_ENABLE_CAP),
    num64!(Request, KVM_GET_ONE_REG),
    num64!(Request, KVM_SET_ONE_REG),
    num64!(Request, KVM_ARM_VCPU_INIT),
    num64!(Request, KVM_ARM_PREFERRED_TARGET),
    num64!(Request, KVM_ARM_VCPU_FINALIZE),
    num64!(Request, KVM_SET_MEMORY_ATTRIBUTES),
    num64!(Request, KVM_CREATE_GUEST_MEMFD),
    num64!(Request, KVM_CREATE_DEVICE),
    num64!(Request, KVM_SET_DEVICE_ATTR),
    num64!(Request, KVM_GET_DEVICE_ATTR),
    num64!(Request, KVM_HAS_DEVICE_ATTR),
    // structs
    layout!(kvm_vcpu_init, "struct kvm_vcpu_init", size 32, { target @ 0, features @ 4 }),
    layout!(kvm_one_reg, "struct kvm_one_reg", size 16, { id @ 0, addr @ 8 }),
    layout!(kvm_enable_cap, "struct kvm_enable_cap", size 104, { cap @ 0, flags @ 4, args @ 8, pad @ 40 }),
    layout!(kvm_userspace_memory_region, "struct kvm_userspace_memory_region", size 32, {
        slot @ 0, flags @ 4, guest_phys_addr @ 8, memory_size @ 16, userspace_addr @ 24,
    }),
    layout!(kvm_userspace_memory_region2, "struct kvm_userspace_memory_region2", size 160, {
        slot @ 0, flags @ 4, guest_phys_addr @ 8, memory_size @ 16, userspace_addr @ 24,
        guest_memfd_offset @ 32, guest_memfd @ 40, pad1 @ 44, pad2 @ 48,
    }),
    layout!(kvm_create_guest_memfd, "struct kvm_create_guest_memfd", size 64, { size @ 0, flags @ 8, reserved @ 16 }),
    layout!(kvm_memory_attributes, "struct kvm_memory_attributes", size 32, {
        address @ 0, size @ 8, attributes @ 16, flags @ 24,
    }),
    layout!(kvm_create_device, "struct kvm_create_device", size 12, { fd @ 4, flags @ 8 }, extra [
        Field { name: "type", offset: offset_of!(kvm_create_device, r#type) },
    ]),
    layout!(kvm_device_attr, "struct kvm_device_attr", size 24, { flags @ 0, group @ 4, attr @ 8, addr @ 16 }),
    layout!(kvm_irq_level, "struct kvm_irq_level", size 8, { irq @ 0, level @ 4 }),
];

#[cfg(test)]
mod tests {
    use super::*;
    use zerocopy::FromZeros as _;

    #[test]
    fn vcpu_init_features() {
        let mut init = kvm_vcpu_init::new_zeroed();
        assert!(init.set_feature(KVM_ARM_VCPU_PSCI_0_2));
        assert!(init.has_feature(KVM_ARM_VCPU_PSCI_0_2));
        assert!(!init.has_feature(KVM_ARM_VCPU_POWER_OFF));
        assert_eq!(init.features[0], 1 << 2);
        assert!(init.set_feature(40));
        assert_eq!(init.features[1], 1 << 8);
        assert!(!init.set_feature(7 * 32));
        assert!(!init.has_feature(u32::MAX));
    }

    #[test]
    fn well_known_requests() {
        assert_eq!(KVM_RUN, 0xae80);
        assert_eq!(KVM_CREATE_VM, 0xae01);
        assert_eq!(KVM_SET_ONE_REG, 0x4010_aeac);
        assert_eq!(KVM_ARM_VCPU_INIT, 0x4020_aeae);
    }
}
