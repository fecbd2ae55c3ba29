//! ABI v13: "arm64: Support for Arm CCA in KVM" v13, 18 Mar 2026 (48 patches, on v7.0-rc1, RMM v2.0-bet0).
//!
//! uAPI from patch 11/48 "arm64: RMI: Define the user ABI" (`include/uapi/linux/kvm.h`; v13 thread digest).
//!
//! Changes from v12: `KVM_CAP_ARM_RMI` is 248; `KVM_ARM_RMI_POPULATE` becomes `_IOWR`, returns 0 and writes
//! its progress back into the struct (`base`/`size`/`source_uaddr` advanced; repeat until `size == 0`); a
//! non-realm VM gets `-ENXIO`; the MEASURE flag is documented. `KVM_ARM_VCPU_RMI_PSCI_COMPLETE` and the
//! bits-\[11:8\] machine type are unchanged from v12 (re-exported).

use core::mem::size_of;

pub use crate::v10::{
    KVM_VM_TYPE_ARM, KVM_VM_TYPE_ARM_MASK, KVM_VM_TYPE_ARM_NORMAL, KVM_VM_TYPE_ARM_REALM,
    KVM_VM_TYPE_ARM_SHIFT,
};
pub use crate::v12::{
    KVM_ARM_RMI_POPULATE_FLAGS_MEASURE, KVM_ARM_VCPU_RMI_PSCI_COMPLETE, kvm_arm_rmi_populate,
    kvm_arm_rmi_psci_complete,
};

use crate::arm64::KVMIO;
use crate::catalog::{Item, num, num64};
use crate::ioctl::iowr;

/// `KVM_CAP_ARM_RMI` (248 in v13): the host can run CCA realms. Detection only. v13 number (247 in v12, 249 in
/// v14).
pub const KVM_CAP_ARM_RMI: u32 = 248;

/// `KVM_ARM_RMI_POPULATE = _IOWR(KVMIO, 0xd7, struct kvm_arm_rmi_populate)`: VM ioctl; returns 0 and updates
/// the struct in place. v13 and v14 (v12 used `_IOW`).
pub const KVM_ARM_RMI_POPULATE: u64 = iowr(KVMIO, 0xd7, size_of::<kvm_arm_rmi_populate>());

/// Every v13 item (see [`crate::catalog`]).
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
    crate::v12::PSCI_COMPLETE_LAYOUT,
    crate::v12::POPULATE_LAYOUT,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ioctl::{IOC_READ, IOC_WRITE, Ioc};

    #[test]
    fn populate_is_iowr_and_differs_from_v12_only_in_direction() {
        let d = Ioc::decode(KVM_ARM_RMI_POPULATE);
        assert_eq!(
            d,
            Ioc {
                dir: IOC_READ | IOC_WRITE,
                ty: 0xae,
                nr: 0xd7,
                size: 32
            }
        );
        assert_eq!(
            KVM_ARM_RMI_POPULATE ^ crate::v12::KVM_ARM_RMI_POPULATE,
            u64::from(IOC_READ) << 30
        );
    }
}
