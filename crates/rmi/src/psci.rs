//! PSCI and SMCCC as realms and hosts call them: function ids, return codes, and the MPIDR ↔ REC index rule.
//!
//! Values from Arm DEN0022 (PSCI 1.1) and DEN0028 (SMCCC 1.2) as TF-RMM `rmm-spec-v1.0-rel0`
//! `runtime/include/psci.h` and `lib/smc/include/smc.h` spell them. One definition for the RMM, the kernel
//! layer and the VMM.

/// `SMCCC_VERSION`.
pub const SMCCC_VERSION: u32 = 0x8000_0000;
/// The SMCCC version the RMM reports to realms: 1.2.
pub const SMCCC_VERSION_NUMBER: u64 = 0x1_0002;
/// `SMCCC_RET_NOT_SUPPORTED` (-1): x0 of a call to a function the callee does not implement.
pub const SMCCC_RET_NOT_SUPPORTED: u64 = u64::MAX;

/// First SMC32 PSCI function id the RMM routes to its PSCI handler.
pub const SMC32_PSCI_FID_MIN: u32 = 0x8400_0000;
/// Last SMC32 PSCI function id routed to the PSCI handler.
pub const SMC32_PSCI_FID_MAX: u32 = 0x8400_001F;
/// First SMC64 PSCI function id routed to the PSCI handler.
pub const SMC64_PSCI_FID_MIN: u32 = 0xC400_0000;
/// Last SMC64 PSCI function id routed to the PSCI handler.
pub const SMC64_PSCI_FID_MAX: u32 = 0xC400_001F;

/// `PSCI_VERSION`.
pub const PSCI_VERSION: u32 = 0x8400_0000;
/// `CPU_SUSPEND` (SMC32).
pub const PSCI_CPU_SUSPEND_32: u32 = 0x8400_0001;
/// `CPU_SUSPEND` (SMC64).
pub const PSCI_CPU_SUSPEND_64: u32 = 0xC400_0001;
/// `CPU_OFF`.
pub const PSCI_CPU_OFF: u32 = 0x8400_0002;
/// `CPU_ON` (SMC32).
pub const PSCI_CPU_ON_32: u32 = 0x8400_0003;
/// `CPU_ON` (SMC64).
pub const PSCI_CPU_ON_64: u32 = 0xC400_0003;
/// `AFFINITY_INFO` (SMC32).
pub const PSCI_AFFINITY_INFO_32: u32 = 0x8400_0004;
/// `AFFINITY_INFO` (SMC64).
pub const PSCI_AFFINITY_INFO_64: u32 = 0xC400_0004;
/// `SYSTEM_OFF`.
pub const PSCI_SYSTEM_OFF: u32 = 0x8400_0008;
/// `SYSTEM_RESET`.
pub const PSCI_SYSTEM_RESET: u32 = 0x8400_0009;
/// `PSCI_FEATURES`.
pub const PSCI_FEATURES: u32 = 0x8400_000A;

/// The PSCI version the RMM reports: 1.1.
pub const PSCI_VERSION_1_1: u64 = 0x1_0001;

/// `SUCCESS`.
pub const PSCI_RETURN_SUCCESS: u64 = 0;
/// `NOT_SUPPORTED` (-1).
pub const PSCI_RETURN_NOT_SUPPORTED: u64 = (-1_i64).cast_unsigned();
/// `INVALID_PARAMETERS` (-2).
pub const PSCI_RETURN_INVALID_PARAMS: u64 = (-2_i64).cast_unsigned();
/// `DENIED` (-3).
pub const PSCI_RETURN_DENIED: u64 = (-3_i64).cast_unsigned();
/// `ALREADY_ON` (-4).
pub const PSCI_RETURN_ALREADY_ON: u64 = (-4_i64).cast_unsigned();
/// `ON_PENDING` (-5).
pub const PSCI_RETURN_ON_PENDING: u64 = (-5_i64).cast_unsigned();
/// `INTERNAL_FAILURE` (-6).
pub const PSCI_RETURN_INTERNAL_FAILURE: u64 = (-6_i64).cast_unsigned();
/// `NOT_PRESENT` (-7).
pub const PSCI_RETURN_NOT_PRESENT: u64 = (-7_i64).cast_unsigned();
/// `DISABLED` (-8).
pub const PSCI_RETURN_DISABLED: u64 = (-8_i64).cast_unsigned();
/// `INVALID_ADDRESS` (-9).
pub const PSCI_RETURN_INVALID_ADDRESS: u64 = (-9_i64).cast_unsigned();

/// `AFFINITY_INFO` result: ON.
pub const PSCI_AFFINITY_INFO_ON: u64 = 0;
/// `AFFINITY_INFO` result: OFF.
pub const PSCI_AFFINITY_INFO_OFF: u64 = 1;
/// `AFFINITY_INFO` result: ON_PENDING.
pub const PSCI_AFFINITY_INFO_ON_PENDING: u64 = 2;

/// Whether `fid` (already stripped of the SVE hint) is routed to the RMM's PSCI handler.
pub const fn is_psci_fid(fid: u32) -> bool {
    matches!(fid, SMC32_PSCI_FID_MIN..=SMC32_PSCI_FID_MAX | SMC64_PSCI_FID_MIN..=SMC64_PSCI_FID_MAX)
}

/// The REC index an `MPIDR_EL1`-format value names: `Aff3[39:32]:Aff2[23:16]:Aff1[15:8]:Aff0[3:0]`
/// concatenated, bits outside those fields ignored (TF-RMM `mpidr_to_rec_idx`).
pub const fn mpidr_to_rec_idx(mpidr: u64) -> u64 {
    let aff0 = mpidr & 0xF;
    let aff1 = (mpidr >> 8) & 0xFF;
    let aff2 = (mpidr >> 16) & 0xFF;
    let aff3 = (mpidr >> 32) & 0xFF;
    aff0 | (aff1 << 4) | (aff2 << 12) | (aff3 << 20)
}

/// The `MPIDR_EL1`-format value of REC index `idx` (inverse of [`mpidr_to_rec_idx`] for indices below 2^28).
pub const fn rec_idx_to_mpidr(idx: u64) -> u64 {
    let aff0 = idx & 0xF;
    let aff1 = (idx >> 4) & 0xFF;
    let aff2 = (idx >> 12) & 0xFF;
    let aff3 = (idx >> 20) & 0xFF;
    aff0 | (aff1 << 8) | (aff2 << 16) | (aff3 << 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mpidr_index_round_trips() {
        for idx in [0, 1, 15, 16, 17, 0xFFF, 0x1000, 0x12_3456, 0xFFF_FFFF] {
            assert_eq!(mpidr_to_rec_idx(rec_idx_to_mpidr(idx)), idx, "{idx:#x}");
        }
        assert_eq!(rec_idx_to_mpidr(16), 0x100);
        assert_eq!(mpidr_to_rec_idx(0x1_0000_0000), 1 << 20);
        // Aff0[7:4], bit 31 (RES1 in MPIDR_EL1) and MT are not part of the index.
        assert_eq!(mpidr_to_rec_idx(0x8000_00F1), 1);
    }

    #[test]
    fn psci_ranges() {
        assert!(is_psci_fid(PSCI_VERSION));
        assert!(is_psci_fid(PSCI_CPU_ON_64));
        assert!(is_psci_fid(0x8400_001F));
        assert!(!is_psci_fid(0x8400_0020));
        assert!(!is_psci_fid(SMCCC_VERSION));
        assert!(!is_psci_fid(0xC400_0190));
    }
}
