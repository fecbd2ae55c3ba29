//! The uAPI names the tests use, in the shapes the tests were written with (32-bit command numbers as the
//! kernel sees them, capability and action numbers as the 64-bit ioctl argument). Every value comes from
//! `realm_uapi` (or, for the few items it does not carry, `realm_kvm::uapi`); nothing is restated here.
#![expect(dead_code, reason = "each test module uses a different subset")]

use realm_uapi::ioctl::cmd;
use realm_uapi::{arm64 as a, v10, v12};

pub use a::{KVM_ARM_TARGET_GENERIC_V8, KVM_DEV_TYPE_ARM_VGIC_V3, KVM_MEM_GUEST_MEMFD};
pub use realm_kvm::uapi::KVM_SMCCC_FILTER_FWD_TO_USER;

pub const KVM_GET_API_VERSION: u32 = cmd(a::KVM_GET_API_VERSION);
pub const KVM_CREATE_VM: u32 = cmd(a::KVM_CREATE_VM);
pub const KVM_CHECK_EXTENSION: u32 = cmd(a::KVM_CHECK_EXTENSION);
pub const KVM_GET_VCPU_MMAP_SIZE: u32 = cmd(a::KVM_GET_VCPU_MMAP_SIZE);
pub const KVM_CREATE_VCPU: u32 = cmd(a::KVM_CREATE_VCPU);
pub const KVM_SET_USER_MEMORY_REGION: u32 = cmd(a::KVM_SET_USER_MEMORY_REGION);
pub const KVM_SET_USER_MEMORY_REGION2: u32 = cmd(a::KVM_SET_USER_MEMORY_REGION2);
pub const KVM_CREATE_IRQCHIP: u32 = cmd(realm_kvm::uapi::KVM_CREATE_IRQCHIP);
pub const KVM_RUN: u32 = cmd(a::KVM_RUN);
pub const KVM_ENABLE_CAP: u32 = cmd(a::KVM_ENABLE_CAP);
pub const KVM_GET_ONE_REG: u32 = cmd(a::KVM_GET_ONE_REG);
pub const KVM_SET_ONE_REG: u32 = cmd(a::KVM_SET_ONE_REG);
pub const KVM_ARM_VCPU_INIT: u32 = cmd(a::KVM_ARM_VCPU_INIT);
pub const KVM_ARM_PREFERRED_TARGET: u32 = cmd(a::KVM_ARM_PREFERRED_TARGET);
pub const KVM_ARM_VCPU_FINALIZE: u32 = cmd(a::KVM_ARM_VCPU_FINALIZE);
pub const KVM_SET_MEMORY_ATTRIBUTES: u32 = cmd(a::KVM_SET_MEMORY_ATTRIBUTES);
pub const KVM_CREATE_GUEST_MEMFD: u32 = cmd(a::KVM_CREATE_GUEST_MEMFD);
pub const KVM_ARM_VCPU_RMI_PSCI_COMPLETE: u32 = cmd(v12::KVM_ARM_VCPU_RMI_PSCI_COMPLETE);
pub const KVM_ARM_RMI_POPULATE: u32 = cmd(v12::KVM_ARM_RMI_POPULATE);
pub const KVM_CREATE_DEVICE: u32 = cmd(a::KVM_CREATE_DEVICE);
pub const KVM_SET_DEVICE_ATTR: u32 = cmd(a::KVM_SET_DEVICE_ATTR);
pub const KVM_GET_DEVICE_ATTR: u32 = cmd(a::KVM_GET_DEVICE_ATTR);
pub const KVM_HAS_DEVICE_ATTR: u32 = cmd(a::KVM_HAS_DEVICE_ATTR);
pub const KVM_IRQ_LINE: u32 = cmd(a::KVM_IRQ_LINE);
pub use a::{
    KVM_DEV_ARM_VGIC_CTRL_INIT, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_DEV_ARM_VGIC_GRP_CTRL,
    KVM_DEV_ARM_VGIC_GRP_NR_IRQS, KVM_VGIC_V3_ADDR_TYPE_DIST, KVM_VGIC_V3_ADDR_TYPE_REDIST,
};

/// The machine-type field value of a realm (`KVM_VM_TYPE_ARM_REALM >> KVM_VM_TYPE_ARM_SHIFT`).
pub const KVM_VM_TYPE_ARM_REALM: u64 = v10::KVM_VM_TYPE_ARM_REALM >> v10::KVM_VM_TYPE_ARM_SHIFT;
pub const KVM_VM_TYPE_ARM_SHIFT: u32 = v10::KVM_VM_TYPE_ARM_SHIFT;
pub const KVM_MEMORY_ATTRIBUTE_PRIVATE: u64 = a::KVM_MEMORY_ATTRIBUTE_PRIVATE as u64;
pub const KVM_ARM_RMI_POPULATE_FLAGS_MEASURE: u32 = v12::KVM_ARM_RMI_POPULATE_FLAGS_MEASURE;

/// Capability numbers as `KVM_CHECK_EXTENSION`'s argument.
pub mod cap {
    use super::{a, v10, v12};
    pub const KVM_CAP_ARM_PSCI_0_2: u64 = a::KVM_CAP_ARM_PSCI_0_2 as u64;
    pub const KVM_CAP_ARM_VM_IPA_SIZE: u64 = a::KVM_CAP_ARM_VM_IPA_SIZE as u64;
    pub const KVM_CAP_GUEST_MEMFD: u64 = a::KVM_CAP_GUEST_MEMFD as u64;
    pub const KVM_CAP_IMMEDIATE_EXIT: u64 = a::KVM_CAP_IMMEDIATE_EXIT as u64;
    pub const KVM_CAP_MEMORY_ATTRIBUTES: u64 = a::KVM_CAP_MEMORY_ATTRIBUTES as u64;
    pub const KVM_CAP_ARM_RME: u64 = v10::KVM_CAP_ARM_RME as u64;
    pub const KVM_CAP_ARM_RMI: u64 = v12::KVM_CAP_ARM_RMI as u64;
}

/// vCPU feature bits.
pub mod feature {
    pub use realm_uapi::arm64::{
        KVM_ARM_VCPU_EL1_32BIT, KVM_ARM_VCPU_PMU_V3, KVM_ARM_VCPU_POWER_OFF, KVM_ARM_VCPU_PSCI_0_2,
        KVM_ARM_VCPU_PTRAUTH_ADDRESS,
    };
    pub use realm_uapi::v10::KVM_ARM_VCPU_REC;
}

/// One-reg ids.
pub mod reg {
    pub use realm_uapi::arm64::{
        REG_MPIDR_EL1 as MPIDR_EL1, REG_PMCR_EL0 as PMCR_EL0, arm64_sys_reg as sys,
    };
    pub use realm_uapi::arm64::{REG_PC as PC, REG_PSTATE as PSTATE, REG_SP as SP};

    /// `x<n>`.
    pub fn x(n: usize) -> u64 {
        realm_uapi::arm64::REG_X[n]
    }
}

/// v10 `KVM_CAP_ARM_RME` actions (as `args[0]`) and config values.
pub mod rme {
    use super::v10;
    pub use realm_uapi::v10::{
        ARM_RME_CONFIG_HASH_ALGO, ARM_RME_CONFIG_HASH_ALGO_SHA512, ARM_RME_CONFIG_RPV,
    };
    pub const KVM_CAP_ARM_RME_CONFIG_REALM: u64 = v10::KVM_CAP_ARM_RME_CONFIG_REALM as u64;
    pub const KVM_CAP_ARM_RME_CREATE_REALM: u64 = v10::KVM_CAP_ARM_RME_CREATE_REALM as u64;
    pub const KVM_CAP_ARM_RME_INIT_RIPAS_REALM: u64 = v10::KVM_CAP_ARM_RME_INIT_RIPAS_REALM as u64;
    pub const KVM_CAP_ARM_RME_POPULATE_REALM: u64 = v10::KVM_CAP_ARM_RME_POPULATE_REALM as u64;
    pub const KVM_CAP_ARM_RME_ACTIVATE_REALM: u64 = v10::KVM_CAP_ARM_RME_ACTIVATE_REALM as u64;
}

/// `kvm_run` exit reasons and flags.
pub mod run {
    pub use realm_uapi::arm64::{
        KVM_EXIT_HYPERCALL, KVM_EXIT_INTERNAL_ERROR, KVM_EXIT_MEMORY_FAULT, KVM_EXIT_MMIO,
        KVM_EXIT_SHUTDOWN, KVM_EXIT_SYSTEM_EVENT, KVM_SYSTEM_EVENT_SHUTDOWN,
    };
    pub const KVM_MEMORY_EXIT_FLAG_PRIVATE: u64 =
        realm_uapi::arm64::KVM_MEMORY_EXIT_FLAG_PRIVATE as u64;
    pub const KVM_HYPERCALL_EXIT_SMC: u64 = realm_uapi::arm64::KVM_HYPERCALL_EXIT_SMC as u64;
}
