//! The user ABI as the kernel decodes it: request numbers and argument layouts of the ioctls this crate
//! implements, with the kernel's own names (include/uapi/linux/kvm.h, arch/arm64/include/uapi/asm/kvm.h of
//! Linux v6.19-rc1 plus the CCA series: v10 06/43 and v12 06/46).
//!
//! The kernel has its own copy of the uAPI; so does this crate, decoding argument bytes at pinned offsets.
//! A test checks the numbers against `realm-uapi`, the VMM's copy.

/// `_IOC_NONE`.
const IOC_NONE: u32 = 0;
/// `_IOC_WRITE`.
const IOC_WRITE: u32 = 1;
/// `_IOC_READ`.
const IOC_READ: u32 = 2;

/// `_IOC(dir, type, nr, size)` (asm-generic/ioctl.h).
const fn ioc(dir: u32, nr: u32, size: usize) -> u32 {
    #[expect(
        clippy::cast_possible_truncation,
        reason = "argument sizes are < 16 KiB (14-bit size field)"
    )]
    let size = size as u32;
    (dir << 30) | (size << 16) | (KVMIO << 8) | nr
}
const fn io(nr: u32) -> u32 {
    ioc(IOC_NONE, nr, 0)
}
const fn iow(nr: u32, size: usize) -> u32 {
    ioc(IOC_WRITE, nr, size)
}
const fn ior(nr: u32, size: usize) -> u32 {
    ioc(IOC_READ, nr, size)
}
const fn iowr(nr: u32, size: usize) -> u32 {
    ioc(IOC_READ | IOC_WRITE, nr, size)
}

/// `KVMIO`.
pub const KVMIO: u32 = 0xAE;
/// `KVM_API_VERSION`.
pub const KVM_API_VERSION: i64 = 12;

/// Sizes of the argument structures.
pub mod size {
    /// `struct kvm_userspace_memory_region`.
    pub const USERSPACE_MEMORY_REGION: usize = 32;
    /// `struct kvm_userspace_memory_region2`.
    pub const USERSPACE_MEMORY_REGION2: usize = 160;
    /// `struct kvm_create_device`.
    pub const CREATE_DEVICE: usize = 12;
    /// `struct kvm_device_attr`.
    pub const DEVICE_ATTR: usize = 24;
    /// `struct kvm_one_reg`.
    pub const ONE_REG: usize = 16;
    /// `struct kvm_vcpu_init`.
    pub const VCPU_INIT: usize = 32;
    /// `struct kvm_enable_cap`.
    pub const ENABLE_CAP: usize = 104;
    /// `struct kvm_memory_attributes`.
    pub const MEMORY_ATTRIBUTES: usize = 32;
    /// `struct kvm_create_guest_memfd`.
    pub const CREATE_GUEST_MEMFD: usize = 64;
    /// `struct kvm_arm_rmi_psci_complete` (v12) = `struct kvm_arm_rmm_psci_complete` (v10).
    pub const PSCI_COMPLETE: usize = 24;
    /// `struct kvm_arm_rmi_populate` (v12).
    pub const RMI_POPULATE: usize = 32;
    /// `struct arm_rme_config` (v10).
    pub const ARM_RME_CONFIG: usize = 260;
    /// `struct arm_rme_populate_realm` (v10).
    pub const ARM_RME_POPULATE_REALM: usize = 32;
    /// `struct arm_rme_init_ripas` (v10).
    pub const ARM_RME_INIT_RIPAS: usize = 32;
    /// `int` (KVM_ARM_VCPU_FINALIZE's argument).
    pub const INT: usize = 4;
}

/// `KVM_GET_API_VERSION`.
pub const KVM_GET_API_VERSION: u32 = io(0x00);
/// `KVM_CREATE_VM`.
pub const KVM_CREATE_VM: u32 = io(0x01);
/// `KVM_CHECK_EXTENSION`.
pub const KVM_CHECK_EXTENSION: u32 = io(0x03);
/// `KVM_GET_VCPU_MMAP_SIZE`.
pub const KVM_GET_VCPU_MMAP_SIZE: u32 = io(0x04);
/// `KVM_CREATE_VCPU`.
pub const KVM_CREATE_VCPU: u32 = io(0x41);
/// `KVM_SET_USER_MEMORY_REGION`.
pub const KVM_SET_USER_MEMORY_REGION: u32 = iow(0x46, size::USERSPACE_MEMORY_REGION);
/// `KVM_SET_USER_MEMORY_REGION2`.
pub const KVM_SET_USER_MEMORY_REGION2: u32 = iow(0x49, size::USERSPACE_MEMORY_REGION2);
/// `KVM_CREATE_IRQCHIP`.
pub const KVM_CREATE_IRQCHIP: u32 = io(0x60);
/// `KVM_RUN`.
pub const KVM_RUN: u32 = io(0x80);
/// `KVM_ENABLE_CAP`.
pub const KVM_ENABLE_CAP: u32 = iow(0xa3, size::ENABLE_CAP);
/// `KVM_GET_ONE_REG`.
pub const KVM_GET_ONE_REG: u32 = iow(0xab, size::ONE_REG);
/// `KVM_SET_ONE_REG`.
pub const KVM_SET_ONE_REG: u32 = iow(0xac, size::ONE_REG);
/// `KVM_ARM_VCPU_INIT`.
pub const KVM_ARM_VCPU_INIT: u32 = iow(0xae, size::VCPU_INIT);
/// `KVM_ARM_PREFERRED_TARGET`.
pub const KVM_ARM_PREFERRED_TARGET: u32 = ior(0xaf, size::VCPU_INIT);
/// `KVM_ARM_VCPU_FINALIZE`.
pub const KVM_ARM_VCPU_FINALIZE: u32 = iow(0xc2, size::INT);
/// `KVM_SET_MEMORY_ATTRIBUTES`.
pub const KVM_SET_MEMORY_ATTRIBUTES: u32 = iow(0xd2, size::MEMORY_ATTRIBUTES);
/// `KVM_CREATE_GUEST_MEMFD`.
pub const KVM_CREATE_GUEST_MEMFD: u32 = iowr(0xd4, size::CREATE_GUEST_MEMFD);
/// `KVM_ARM_VCPU_RMI_PSCI_COMPLETE` (v12) = `KVM_ARM_VCPU_RMM_PSCI_COMPLETE` (v10): same number.
pub const KVM_ARM_VCPU_RMI_PSCI_COMPLETE: u32 = iow(0xd6, size::PSCI_COMPLETE);
/// `KVM_ARM_RMI_POPULATE` (v12: `_IOW`).
pub const KVM_ARM_RMI_POPULATE: u32 = iow(0xd7, size::RMI_POPULATE);
/// `KVM_CREATE_DEVICE`.
pub const KVM_CREATE_DEVICE: u32 = iowr(0xe0, size::CREATE_DEVICE);
/// `KVM_SET_DEVICE_ATTR`.
pub const KVM_SET_DEVICE_ATTR: u32 = iow(0xe1, size::DEVICE_ATTR);
/// `KVM_GET_DEVICE_ATTR`.
pub const KVM_GET_DEVICE_ATTR: u32 = iow(0xe2, size::DEVICE_ATTR);
/// `KVM_HAS_DEVICE_ATTR`.
pub const KVM_HAS_DEVICE_ATTR: u32 = iow(0xe3, size::DEVICE_ATTR);

/// Capability numbers (`KVM_CAP_*`).
pub mod cap {
    #![expect(missing_docs, reason = "kernel constant names are self-describing")]
    pub const KVM_CAP_IRQCHIP: u64 = 0;
    pub const KVM_CAP_USER_MEMORY: u64 = 3;
    pub const KVM_CAP_NR_VCPUS: u64 = 9;
    pub const KVM_CAP_NR_MEMSLOTS: u64 = 10;
    pub const KVM_CAP_ARM_PSCI: u64 = 87;
    pub const KVM_CAP_MAX_VCPUS: u64 = 66;
    pub const KVM_CAP_ARM_PSCI_0_2: u64 = 102;
    pub const KVM_CAP_DEVICE_CTRL: u64 = 89;
    pub const KVM_CAP_ONE_REG: u64 = 70;
    pub const KVM_CAP_ARM_PMU_V3: u64 = 126;
    pub const KVM_CAP_MAX_VCPU_ID: u64 = 128;
    pub const KVM_CAP_MSI_DEVID: u64 = 131;
    pub const KVM_CAP_IMMEDIATE_EXIT: u64 = 136;
    pub const KVM_CAP_ARM_VM_IPA_SIZE: u64 = 165;
    pub const KVM_CAP_ARM_SVE: u64 = 170;
    pub const KVM_CAP_ARM_PTRAUTH_ADDRESS: u64 = 171;
    pub const KVM_CAP_ARM_PTRAUTH_GENERIC: u64 = 172;
    pub const KVM_CAP_USER_MEMORY2: u64 = 231;
    pub const KVM_CAP_MEMORY_FAULT_INFO: u64 = 232;
    pub const KVM_CAP_MEMORY_ATTRIBUTES: u64 = 233;
    pub const KVM_CAP_GUEST_MEMFD: u64 = 234;
    /// v10 06/43.
    pub const KVM_CAP_ARM_RME: u64 = 244;
    /// v12 06/46.
    pub const KVM_CAP_ARM_RMI: u64 = 247;
}

/// `KVM_VM_TYPE_ARM_IPA_SIZE_MASK`.
pub const KVM_VM_TYPE_ARM_IPA_SIZE_MASK: u64 = 0xff;
/// `KVM_VM_TYPE_ARM_SHIFT` (v10 09/43, v12 09/46).
pub const KVM_VM_TYPE_ARM_SHIFT: u32 = 8;
/// `KVM_VM_TYPE_ARM_MASK`.
pub const KVM_VM_TYPE_ARM_MASK: u64 = 0xf << KVM_VM_TYPE_ARM_SHIFT;
/// `KVM_VM_TYPE_ARM_NORMAL` (machine type field value).
pub const KVM_VM_TYPE_ARM_NORMAL: u64 = 0;
/// `KVM_VM_TYPE_ARM_REALM` (machine type field value 1).
pub const KVM_VM_TYPE_ARM_REALM: u64 = 1;

/// `KVM_MEM_GUEST_MEMFD`.
pub const KVM_MEM_GUEST_MEMFD: u32 = 1 << 2;
/// `KVM_MEM_LOG_DIRTY_PAGES`.
pub const KVM_MEM_LOG_DIRTY_PAGES: u32 = 1 << 0;
/// `KVM_MEM_READONLY`.
pub const KVM_MEM_READONLY: u32 = 1 << 1;
/// `KVM_MEMORY_ATTRIBUTE_PRIVATE`.
pub const KVM_MEMORY_ATTRIBUTE_PRIVATE: u64 = 1 << 3;

/// vCPU feature bits (`KVM_ARM_VCPU_*`).
pub mod feature {
    #![expect(missing_docs, reason = "kernel constant names are self-describing")]
    pub const KVM_ARM_VCPU_POWER_OFF: u32 = 0;
    pub const KVM_ARM_VCPU_EL1_32BIT: u32 = 1;
    pub const KVM_ARM_VCPU_PSCI_0_2: u32 = 2;
    pub const KVM_ARM_VCPU_PMU_V3: u32 = 3;
    pub const KVM_ARM_VCPU_SVE: u32 = 4;
    pub const KVM_ARM_VCPU_PTRAUTH_ADDRESS: u32 = 5;
    pub const KVM_ARM_VCPU_PTRAUTH_GENERIC: u32 = 6;
    pub const KVM_ARM_VCPU_HAS_EL2: u32 = 7;
    pub const KVM_ARM_VCPU_HAS_EL2_E2H0: u32 = 8;
    /// v10 only (removed in v12).
    pub const KVM_ARM_VCPU_REC: u32 = 9;
}

/// `KVM_ARM_TARGET_GENERIC_V8`: the target `KVM_ARM_PREFERRED_TARGET` reports.
pub const KVM_ARM_TARGET_GENERIC_V8: u32 = 5;

/// `KVM_DEV_TYPE_ARM_VGIC_V2`.
pub const KVM_DEV_TYPE_ARM_VGIC_V2: u32 = 5;
/// `KVM_DEV_TYPE_ARM_VGIC_V3`.
pub const KVM_DEV_TYPE_ARM_VGIC_V3: u32 = 7;
/// `KVM_CREATE_DEVICE_TEST`.
pub const KVM_CREATE_DEVICE_TEST: u32 = 1;
/// `KVM_ARM_VM_SMCCC_CTRL` (VM device-attribute group).
pub const KVM_ARM_VM_SMCCC_CTRL: u32 = 0;
/// `KVM_ARM_VM_SMCCC_FILTER`.
pub const KVM_ARM_VM_SMCCC_FILTER: u64 = 0;
/// `KVM_SMCCC_FILTER_HANDLE`.
pub const KVM_SMCCC_FILTER_HANDLE: u8 = 0;
/// `KVM_SMCCC_FILTER_DENY`.
pub const KVM_SMCCC_FILTER_DENY: u8 = 1;
/// `KVM_SMCCC_FILTER_FWD_TO_USER`.
pub const KVM_SMCCC_FILTER_FWD_TO_USER: u8 = 2;

/// v10 06/43 `KVM_ENABLE_CAP(KVM_CAP_ARM_RME)` actions and config values.
pub mod rme {
    #![expect(missing_docs, reason = "kernel constant names are self-describing")]
    pub const KVM_CAP_ARM_RME_CONFIG_REALM: u64 = 0;
    pub const KVM_CAP_ARM_RME_CREATE_REALM: u64 = 1;
    pub const KVM_CAP_ARM_RME_INIT_RIPAS_REALM: u64 = 2;
    pub const KVM_CAP_ARM_RME_POPULATE_REALM: u64 = 3;
    pub const KVM_CAP_ARM_RME_ACTIVATE_REALM: u64 = 4;
    pub const ARM_RME_CONFIG_RPV: u32 = 0;
    pub const ARM_RME_CONFIG_HASH_ALGO: u32 = 1;
    pub const ARM_RME_CONFIG_HASH_ALGO_SHA256: u32 = 0;
    pub const ARM_RME_CONFIG_HASH_ALGO_SHA512: u32 = 1;
    pub const ARM_RME_CONFIG_RPV_SIZE: usize = 64;
    pub const KVM_ARM_RME_POPULATE_FLAGS_MEASURE: u32 = 1;
}

/// `KVM_ARM_RMI_POPULATE_FLAGS_MEASURE` (v12).
pub const KVM_ARM_RMI_POPULATE_FLAGS_MEASURE: u32 = 1;

/// `KVM_REG_*` one-reg id pieces.
pub mod reg {
    #![expect(missing_docs, reason = "kernel constant names are self-describing")]
    pub const KVM_REG_ARM64: u64 = 0x6000_0000_0000_0000;
    pub const KVM_REG_SIZE_U64: u64 = 0x0030_0000_0000_0000;
    pub const KVM_REG_SIZE_MASK: u64 = 0x00f0_0000_0000_0000;
    pub const KVM_REG_ARM_COPROC_MASK: u64 = 0x0000_0000_0fff_0000;
    pub const KVM_REG_ARM_CORE: u64 = 0x0010 << 16;
    pub const KVM_REG_ARM64_SYSREG: u64 = 0x0013 << 16;
    /// Core register id for the 32-bit word offset `off` into `struct kvm_regs`.
    pub const fn core(off: u64) -> u64 {
        KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | off
    }
    /// `x0` (`regs.regs[0]`), word offset 0; `x(n)` = 2n.
    pub const fn x(n: u64) -> u64 {
        core(2 * n)
    }
    pub const SP: u64 = core(62);
    pub const PC: u64 = core(64);
    pub const PSTATE: u64 = core(66);
    /// `ARM64_SYS_REG(op0, op1, crn, crm, op2)`.
    pub const fn sys(op0: u64, op1: u64, crn: u64, crm: u64, op2: u64) -> u64 {
        KVM_REG_ARM64
            | KVM_REG_SIZE_U64
            | KVM_REG_ARM64_SYSREG
            | (op0 << 14)
            | (op1 << 11)
            | (crn << 7)
            | (crm << 3)
            | op2
    }
    pub const ID_AA64DFR0_EL1: u64 = sys(3, 0, 0, 5, 0);
    pub const PMCR_EL0: u64 = sys(3, 3, 9, 12, 0);
    pub const MPIDR_EL1: u64 = sys(3, 0, 0, 0, 5);
}

/// `struct kvm_run` layout (arm64) and exit reasons.
pub mod run {
    #![expect(missing_docs, reason = "kernel constant names are self-describing")]
    /// Bytes of `struct kvm_run` we keep (the full struct is 2352 bytes; mmap gives a page).
    pub const KVM_RUN_SIZE: usize = 4096;
    pub const OFF_REQUEST_INTERRUPT_WINDOW: usize = 0;
    pub const OFF_IMMEDIATE_EXIT: usize = 1;
    pub const OFF_EXIT_REASON: usize = 8;
    pub const OFF_FLAGS: usize = 14;
    pub const OFF_EXIT: usize = 32;
    pub const KVM_EXIT_UNKNOWN: u32 = 0;
    pub const KVM_EXIT_HYPERCALL: u32 = 2;
    pub const KVM_EXIT_MMIO: u32 = 6;
    pub const KVM_EXIT_SHUTDOWN: u32 = 8;
    pub const KVM_EXIT_FAIL_ENTRY: u32 = 9;
    pub const KVM_EXIT_INTR: u32 = 10;
    pub const KVM_EXIT_INTERNAL_ERROR: u32 = 17;
    pub const KVM_EXIT_SYSTEM_EVENT: u32 = 24;
    pub const KVM_EXIT_MEMORY_FAULT: u32 = 39;
    pub const KVM_SYSTEM_EVENT_SHUTDOWN: u32 = 1;
    pub const KVM_SYSTEM_EVENT_RESET: u32 = 2;
    pub const KVM_MEMORY_EXIT_FLAG_PRIVATE: u64 = 1 << 3;
    pub const KVM_HYPERCALL_EXIT_SMC: u64 = 1 << 0;
}

/// Little-endian field readers over argument bytes (the caller has checked the length).
pub(crate) fn u32_at(b: &[u8], off: usize) -> u32 {
    let mut w = [0; 4];
    w.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(w)
}

/// See [`u32_at`].
pub(crate) fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut w = [0; 8];
    w.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(w)
}

/// Write a little-endian u32 at `off`.
pub(crate) fn put_u32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

/// Write a little-endian u64 at `off`.
pub(crate) fn put_u64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_numbers_match_the_c_headers() {
        // Values as a C compile of the v6.19 + v12 headers gives them.
        assert_eq!(KVM_CREATE_VM, 0xAE01);
        assert_eq!(KVM_RUN, 0xAE80);
        assert_eq!(KVM_SET_USER_MEMORY_REGION2, 0x40A0_AE49);
        assert_eq!(KVM_CREATE_GUEST_MEMFD, 0xC040_AED4);
        assert_eq!(KVM_ARM_VCPU_INIT, 0x4020_AEAE);
        assert_eq!(KVM_ENABLE_CAP, 0x4068_AEA3);
        assert_eq!(KVM_ARM_RMI_POPULATE, 0x4020_AED7);
        assert_eq!(KVM_ARM_VCPU_RMI_PSCI_COMPLETE, 0x4018_AED6);
        assert_eq!(KVM_SET_ONE_REG, 0x4010_AEAC);
        assert_eq!(reg::PC, 0x6030_0000_0010_0040);
    }

    #[test]
    fn request_numbers_match_realm_uapi() {
        use realm_uapi::{arm64, v10, v12};
        assert_eq!(
            u64::from(KVM_SET_USER_MEMORY_REGION2),
            arm64::KVM_SET_USER_MEMORY_REGION2
        );
        assert_eq!(
            u64::from(KVM_CREATE_GUEST_MEMFD),
            arm64::KVM_CREATE_GUEST_MEMFD
        );
        assert_eq!(u64::from(KVM_ARM_VCPU_INIT), arm64::KVM_ARM_VCPU_INIT);
        assert_eq!(u64::from(KVM_ARM_RMI_POPULATE), v12::KVM_ARM_RMI_POPULATE);
        assert_eq!(
            u64::from(KVM_ARM_VCPU_RMI_PSCI_COMPLETE),
            v10::KVM_ARM_VCPU_RMM_PSCI_COMPLETE
        );
        assert_eq!(cap::KVM_CAP_ARM_RME, u64::from(v10::KVM_CAP_ARM_RME));
    }
}
