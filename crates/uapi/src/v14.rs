//! ABI v14: "arm64: Support for Arm CCA in KVM" v14, 13 May 2026 (44 patches, on v7.1-rc1, RMM v2.0-bet1).
//!
//! Changes from v13: `KVM_CAP_ARM_RMI` is 249; the machine type is reworked to coexist with pKVM's
//! `KVM_VM_TYPE_ARM_PROTECTED` (bit 31): a realm is bit 30 and setting both is `-EINVAL`; there is no
//! machine-type field in bits \[11:8\] any more. `KVM_ARM_VCPU_RMI_PSCI_COMPLETE` is removed (KVM issues
//! `RMI_PSCI_COMPLETE` itself before the next entry, from the PSCI result in x0). `KVM_ARM_RMI_POPULATE` is
//! unchanged from v13 (`_IOWR`, in/out; `source_uaddr` must now be PAGE_SIZE aligned too).

pub use crate::v12::{KVM_ARM_RMI_POPULATE_FLAGS_MEASURE, kvm_arm_rmi_populate};
pub use crate::v13::KVM_ARM_RMI_POPULATE;

use crate::arm64::KVM_VM_TYPE_ARM_IPA_SIZE_MASK;
use crate::catalog::{Item, num, num64};

/// `KVM_CAP_ARM_RMI` (249 in v14): the host can run CCA realms. Detection only. v14 number (248 in v13; 251
/// is reported for v15).
pub const KVM_CAP_ARM_RMI: u32 = 249;

/// `KVM_VM_TYPE_ARM_NORMAL` = 0: a normal VM. v14.
pub const KVM_VM_TYPE_ARM_NORMAL: u64 = 0;
/// `KVM_VM_TYPE_ARM_REALM` = `1UL << 30`: a realm VM. v14 (v10–v13: 0x100).
pub const KVM_VM_TYPE_ARM_REALM: u64 = 1 << 30;
/// `KVM_VM_TYPE_ARM_PROTECTED` = `1UL << 31`: a pKVM protected VM (upstream bit, named in v14's mask).
pub const KVM_VM_TYPE_ARM_PROTECTED: u64 = 1 << 31;
/// `KVM_VM_TYPE_ARM_MASK` = IPA-size mask | PROTECTED | REALM: every bit a v14 kernel accepts. v14.
pub const KVM_VM_TYPE_ARM_MASK: u64 =
    KVM_VM_TYPE_ARM_IPA_SIZE_MASK | KVM_VM_TYPE_ARM_PROTECTED | KVM_VM_TYPE_ARM_REALM;

/// Every v14 item (see [`crate::catalog`]).
pub(crate) const CATALOG: &[Item] = &[
    num!(Capability, KVM_CAP_ARM_RMI),
    num64!(VmType, KVM_VM_TYPE_ARM_NORMAL),
    num64!(VmType, KVM_VM_TYPE_ARM_REALM),
    num64!(VmType, KVM_VM_TYPE_ARM_PROTECTED),
    num64!(VmType, KVM_VM_TYPE_ARM_MASK),
    num64!(Request, KVM_ARM_RMI_POPULATE),
    num!(Constant, KVM_ARM_RMI_POPULATE_FLAGS_MEASURE),
    crate::v12::POPULATE_LAYOUT,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_type_bits() {
        assert_eq!(KVM_VM_TYPE_ARM_REALM, 0x4000_0000);
        assert_eq!(KVM_VM_TYPE_ARM_MASK, 0xc000_00ff);
        assert_eq!(KVM_VM_TYPE_ARM_REALM & crate::v12::KVM_VM_TYPE_ARM_MASK, 0);
    }
}
