//! The few user-ABI items this kernel decodes that `realm-uapi` does not carry (a realm VMM never sends
//! them, so the VMM's ABI crate has no use for them), with the kernel's names (include/uapi/linux/kvm.h,
//! arch/arm64/include/uapi/asm/kvm.h of Linux v6.19-rc1).
//!
//! Everything else — request numbers, capability numbers, flags, vCPU features, one-reg ids and the
//! argument structs — the kernel takes from `realm_uapi` directly, as Linux's kernel and userspace share
//! `include/uapi`: one definition, laid out once and checked against the C compiler there.

/// `KVM_CAP_NR_MEMSLOTS`.
pub const KVM_CAP_NR_MEMSLOTS: u32 = 10;

/// `KVM_CREATE_IRQCHIP = _IO(KVMIO, 0x60)` (VM; arm64 creates a GICv2).
pub const KVM_CREATE_IRQCHIP: u64 = realm_uapi::ioctl::io(realm_uapi::arm64::KVMIO, 0x60);

/// `KVM_DEV_TYPE_ARM_VGIC_V2` (value 5 of `enum kvm_device_type`).
pub const KVM_DEV_TYPE_ARM_VGIC_V2: u32 = 5;

/// `KVM_ARM_VM_SMCCC_CTRL`: the VM device-attribute group of the SMCCC filter.
pub const KVM_ARM_VM_SMCCC_CTRL: u32 = 0;
/// `KVM_ARM_VM_SMCCC_FILTER`: the attribute of `KVM_ARM_VM_SMCCC_CTRL` taking a `struct kvm_smccc_filter`.
pub const KVM_ARM_VM_SMCCC_FILTER: u64 = 0;
/// `KVM_SMCCC_FILTER_HANDLE` (`enum kvm_smccc_filter_action`).
pub const KVM_SMCCC_FILTER_HANDLE: u8 = 0;
/// `KVM_SMCCC_FILTER_DENY`.
pub const KVM_SMCCC_FILTER_DENY: u8 = 1;
/// `KVM_SMCCC_FILTER_FWD_TO_USER`.
pub const KVM_SMCCC_FILTER_FWD_TO_USER: u8 = 2;

/// `struct kvm_smccc_filter` (arch/arm64/include/uapi/asm/kvm.h): 24 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, zerocopy::FromBytes, zerocopy::IntoBytes, zerocopy::Immutable)]
pub struct kvm_smccc_filter {
    /// First function id.
    pub base: u32,
    /// Number of function ids.
    pub nr_functions: u32,
    /// `KVM_SMCCC_FILTER_*`.
    pub action: u8,
    /// Must be zero.
    pub pad: [u8; 15],
}

const _: () = assert!(size_of::<kvm_smccc_filter>() == 24);

/// Bytes of a vCPU's `kvm_run` mapping the kernel keeps: one page (`struct kvm_run` itself is 2352 bytes).
pub const KVM_RUN_SIZE: usize = 4096;
