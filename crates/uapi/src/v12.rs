//! ABI v12: "arm64: Support for Arm CCA in KVM" v12, 17 Dec 2025 (46 patches, on v6.19-rc1, RMM v1.0).
//!
//! uAPI from patch 06/46 (`<20251217101125.91098-7-steven.price@arm.com>`, `include/uapi/linux/kvm.h`) and the
//! machine type from 09/46. `KVM_CAP_ARM_RMI` is detection only; the realm descriptor is created on the first
//! [`KVM_ARM_RMI_POPULATE`] or the first `KVM_RUN`, RIPAS of guest_memfd memslots is set and the realm
//! activated at the first `KVM_RUN`. There is no REC vCPU feature and no configuration of RPV or hash
//! algorithm (the params page stays zero: SHA-256, zero RPV).

use core::mem::size_of;

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

pub use crate::v10::{
    KVM_VM_TYPE_ARM, KVM_VM_TYPE_ARM_MASK, KVM_VM_TYPE_ARM_NORMAL, KVM_VM_TYPE_ARM_REALM,
    KVM_VM_TYPE_ARM_SHIFT,
};

use crate::arm64::KVMIO;
use crate::catalog::{Item, layout, num, num64};
use crate::ioctl::iow;

/// `KVM_CAP_ARM_RMI` (247 in v12, after `KVM_CAP_S390_USER_OPEREXEC` 246): the host can run CCA realms.
///
/// v12 number. The name lives on with a new number in each posting: 248 in v13, 249 in v14 (251 reported
/// for v15), because the series is rebased onto kernels that allocated the previous number upstream.
pub const KVM_CAP_ARM_RMI: u32 = 247;

/// `struct kvm_arm_rmi_psci_complete`: the argument of [`KVM_ARM_VCPU_RMI_PSCI_COMPLETE`].
///
/// v12 and v13 (removed in v14). Same layout as v10's `kvm_arm_rmm_psci_complete`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct kvm_arm_rmi_psci_complete {
    /// MPIDR of the vCPU the PSCI call (CPU_ON, AFFINITY_INFO) names.
    pub target_mpidr: u64,
    /// The PSCI status to return to the caller.
    pub psci_status: u32,
    /// Must be zero.
    pub padding: [u32; 3],
}

/// `KVM_ARM_VCPU_RMI_PSCI_COMPLETE = _IOW(KVMIO, 0xd6, struct kvm_arm_rmi_psci_complete)`: vCPU ioctl, issued
/// on the *calling* vCPU's fd, telling the RMM the target REC and status of a PSCI call userspace handled.
///
/// v12 and v13 (same number in both); removed in v14 (KVM completes PSCI itself before the next entry).
pub const KVM_ARM_VCPU_RMI_PSCI_COMPLETE: u64 =
    iow(KVMIO, 0xd6, size_of::<kvm_arm_rmi_psci_complete>());

/// `struct kvm_arm_rmi_populate`: the argument of `KVM_ARM_RMI_POPULATE`.
///
/// v12 and later, layout unchanged (v13 and v14 re-export this type). v12 reads it (`_IOW`) and returns the
/// number of bytes populated; from v13 the kernel writes progress back into `base`/`size`/`source_uaddr`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
pub struct kvm_arm_rmi_populate {
    /// First protected IPA (PAGE_SIZE aligned).
    pub base: u64,
    /// Bytes (PAGE_SIZE aligned).
    pub size: u64,
    /// Host virtual address of the source bytes (v14 also requires it PAGE_SIZE aligned).
    pub source_uaddr: u64,
    /// [`KVM_ARM_RMI_POPULATE_FLAGS_MEASURE`] or 0.
    pub flags: u32,
    /// Must be zero.
    pub reserved: u32,
}

/// [`kvm_arm_rmi_populate::flags`] bit 0: measure the contents into the RIM (RMI `RMI_MEASURE_CONTENT`).
/// v12 and later (documented from v13).
pub const KVM_ARM_RMI_POPULATE_FLAGS_MEASURE: u32 = 1 << 0;

/// `KVM_ARM_RMI_POPULATE = _IOW(KVMIO, 0xd7, struct kvm_arm_rmi_populate)`: VM ioctl; returns the number of
/// bytes populated (possibly fewer than asked: call again). v12 number; v13 and v14 use `_IOWR`.
pub const KVM_ARM_RMI_POPULATE: u64 = iow(KVMIO, 0xd7, size_of::<kvm_arm_rmi_populate>());

/// The layout items of the two v12 structs, shared with v13 (and v14 for populate).
pub(crate) const PSCI_COMPLETE_LAYOUT: Item = layout!(
    kvm_arm_rmi_psci_complete,
    "struct kvm_arm_rmi_psci_complete",
    size 24,
    { target_mpidr @ 0, psci_status @ 8, padding @ 12 }
);
pub(crate) const POPULATE_LAYOUT: Item = layout!(kvm_arm_rmi_populate, "struct kvm_arm_rmi_populate", size 32, {
    base @ 0, size @ 8, source_uaddr @ 16, flags @ 24, reserved @ 28,
});

/// Every v12 item (see [`crate::catalog`]).
pub(crate) const CATALOG: &[Item] = &[
    num!(Capability, KVM_CAP_ARM_RMI),
    crate::v10::VM_TYPE_BITS_11_8[0],
    crate::v10::VM_TYPE_BITS_11_8[1],
    crate::v10::VM_TYPE_BITS_11_8[2],
    crate::v10::VM_TYPE_BITS_11_8[3],
    crate::v10::VM_TYPE_BITS_11_8[4],
    num64!(Request, KVM_ARM_VCPU_RMI_PSCI_COMPLETE),
    num64!(Request, KVM_ARM_RMI_POPULATE),
    num!(Constant, KVM_ARM_RMI_POPULATE_FLAGS_MEASURE),
    PSCI_COMPLETE_LAYOUT,
    POPULATE_LAYOUT,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ioctl::{IOC_WRITE, Ioc};
    use zerocopy::FromZeros as _;

    #[test]
    fn populate_is_iow_0xd7_of_32_bytes() {
        assert_eq!(
            Ioc::decode(KVM_ARM_RMI_POPULATE),
            Ioc {
                dir: IOC_WRITE,
                ty: 0xae,
                nr: 0xd7,
                size: 32
            }
        );
        assert_eq!(
            Ioc::decode(KVM_ARM_VCPU_RMI_PSCI_COMPLETE),
            Ioc {
                dir: IOC_WRITE,
                ty: 0xae,
                nr: 0xd6,
                size: 24
            }
        );
    }

    #[test]
    fn zeroed_populate_is_all_zero_bytes() {
        let p = kvm_arm_rmi_populate::new_zeroed();
        assert_eq!(p.as_bytes(), &[0u8; 32]);
    }
}
