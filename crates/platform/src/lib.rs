//! What a simulated Arm CCA machine supports: one description that every layer of realmkit reads.
//!
//! A [`Platform`] states the hardware the way its ID registers do — physical address size, LPA2, SVE and its
//! maximum vector length, breakpoints, watchpoints, PMU counters, the GICv3 CPU interface, the counter
//! frequency, MIDR and the other ID registers — plus the few software limits of the firmware and kernel
//! (hash algorithms, `MAX_RECS_ORDER`, vCPUs). Each layer derives what it reports from it, as the real
//! stack derives it from the hardware:
//! - the RMM: `RmiFeatureRegister0` ([`Platform::features_register0`], as TF-RMM `rmm-spec-v1.0-rel0`
//!   `runtime/rmi/feature.c` computes it) and REALM_CREATE's limits;
//! - the kernel layer: `KVM_CAP_ARM_VM_IPA_SIZE` ([`Platform::kvm_ipa_limit`]), SVE vector lengths, PMU
//!   counters, debug resources;
//! - the realm CPU: ID registers, MIDR/REVIDR, GIC priority/preemption bits, `CNTFRQ_EL0`.
//!
//! Named profiles ([`Platform::by_name`]: `max`, `qemu-max`, `fvp`) cite their sources in [`profiles`];
//! [`PlatformOverrides`] changes single fields (the CLI's `--platform-*` flags, a `[platform]` TOML table).
//! [`Platform::check_realm`] refuses a realm configuration the platform cannot host, naming the limit.
#![forbid(unsafe_code)]

mod check;
mod overrides;
pub mod profiles;

use realm_rmi::feature_register_0 as f0;
use serde::{Deserialize, Serialize};

pub use check::{RealmRequest, Unsupported};
pub use overrides::{BadOverride, PlatformError, PlatformOverrides};

/// One DRAM region of the host's physical address space (where the RMM's granules live).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DramRegion {
    /// First physical address (granule aligned).
    pub base: u64,
    /// Size in bytes (a multiple of the granule size).
    pub size: u64,
}

impl DramRegion {
    /// The region's end address, `None` if `base + size` overflows.
    pub fn end(&self) -> Option<u64> {
        self.base.checked_add(self.size)
    }
}

/// The GICv3 CPU interface of the platform's PEs (`ICH_VTR_EL2`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GicCpuInterface {
    /// List registers (`ICH_VTR_EL2.ListRegs` + 1), 1..=16.
    pub list_registers: u8,
    /// Virtual priority bits (`ICH_VTR_EL2.PRIbits` + 1), 5..=8.
    pub priority_bits: u8,
    /// Virtual preemption bits (`ICH_VTR_EL2.PREbits` + 1), 5..=7.
    pub preemption_bits: u8,
}

/// The ID registers and identification a realm's PE reports (before the RMM's and the CPU model's
/// sanitisation), as `MRS` reads them on the platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuIdentity {
    /// `MIDR_EL1`.
    pub midr: u64,
    /// `REVIDR_EL1`.
    pub revidr: u64,
    /// `ID_AA64PFR0_EL1`.
    pub id_aa64pfr0: u64,
    /// `ID_AA64PFR1_EL1`.
    pub id_aa64pfr1: u64,
    /// `ID_AA64ISAR0_EL1`.
    pub id_aa64isar0: u64,
    /// `ID_AA64ISAR1_EL1`.
    pub id_aa64isar1: u64,
    /// `ID_AA64ISAR2_EL1`.
    pub id_aa64isar2: u64,
    /// `ID_AA64MMFR0_EL1`.
    pub id_aa64mmfr0: u64,
    /// `ID_AA64MMFR1_EL1`.
    pub id_aa64mmfr1: u64,
    /// `ID_AA64MMFR2_EL1`.
    pub id_aa64mmfr2: u64,
    /// `ID_AA64DFR0_EL1`.
    pub id_aa64dfr0: u64,
    /// `CTR_EL0`.
    pub ctr: u64,
    /// `DCZID_EL0`.
    pub dczid: u64,
}

/// A simulated Arm CCA machine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    /// Profile name (`max`, `qemu-max`, `fvp`, or `custom` after overrides).
    pub name: String,
    /// DRAM regions, ascending, non-overlapping.
    pub dram: Vec<DramRegion>,
    /// Physical address size in bits (`ID_AA64MMFR0_EL1.PARange`): 32, 36, 40, 42, 44, 48 or 52.
    pub pa_bits: u8,
    /// FEAT_LPA2 with 4 KiB granules (`ID_AA64MMFR0_EL1.TGran4` = 1): 52-bit IPAs.
    pub lpa2: bool,
    /// Largest SVE vector length in bits (a multiple of 128, at most 2048); 0 without SVE.
    pub sve_max_vl: u16,
    /// Breakpoints (`ID_AA64DFR0_EL1.BRPs` + 1), 2..=16.
    pub breakpoints: u8,
    /// Watchpoints (`ID_AA64DFR0_EL1.WRPs` + 1), 2..=16.
    pub watchpoints: u8,
    /// A PMUv3 (`ID_AA64DFR0_EL1.PMUVer`).
    pub pmu: bool,
    /// PMU event counters (`PMCR_EL0.N`), 0..=31.
    pub pmu_counters: u8,
    /// FEAT_HPMN0: a realm may be given zero PMU counters.
    pub hpmn0: bool,
    /// The RMM measures with SHA-256.
    pub sha256: bool,
    /// The RMM measures with SHA-512.
    pub sha512: bool,
    /// The GICv3 CPU interface.
    pub gic: GicCpuInterface,
    /// `MAX_RECS_ORDER` of the RMM (TF-RMM: 10).
    pub max_recs_order: u8,
    /// `KVM_CAP_MAX_VCPUS` of the host kernel.
    pub max_vcpus: u32,
    /// `CNTFRQ_EL0`: the generic counter's frequency in Hz.
    pub cntfrq: u64,
    /// ID registers of the PE.
    pub cpu: CpuIdentity,
    /// Seed of the platform's attestation keys (realm-attest `keys`: the CPAK is derived from it alone, the
    /// RAK from it and the boot measurements), standing in for the hardware-unique key of a real platform.
    /// Every profile uses [`DEFAULT_ATTESTATION_SEED`]; two platforms with one seed have one identity.
    #[serde(default = "default_attestation_seed")]
    pub attestation_seed: [u8; 32],
}

/// The attestation seed of every built-in profile: SHA-256 of `"realmkit simulated CCA platform seed v1"`,
/// spelled out so that the default platform's endorsements never change.
pub const DEFAULT_ATTESTATION_SEED: [u8; 32] = [
    0x9c, 0x21, 0xa1, 0x6d, 0x91, 0xc6, 0x8f, 0x91, 0x63, 0xe6, 0xdf, 0x89, 0xcd, 0xcf, 0x88, 0x87,
    0x0e, 0xde, 0x26, 0x50, 0x31, 0x6a, 0x00, 0xac, 0xde, 0x83, 0x76, 0x11, 0x79, 0xd9, 0x31, 0x77,
];

const fn default_attestation_seed() -> [u8; 32] {
    DEFAULT_ATTESTATION_SEED
}

impl Platform {
    /// The profile names [`Platform::by_name`] accepts, the default first.
    pub const NAMES: &'static [&'static str] = &["max", "qemu-max", "fvp"];

    /// A named profile.
    pub fn by_name(name: &str) -> Option<Self> {
        match name {
            "max" => Some(profiles::max()),
            "qemu-max" => Some(profiles::qemu_max()),
            "fvp" => Some(profiles::fvp()),
            _ => None,
        }
    }

    /// `RmiFeatureRegister0.S2SZ`: the widest IPA a realm may have — the PA size, 52 bits only with LPA2
    /// (TF-RMM `arch_feat_get_pa_width`, limited to 48 without FEAT_LPA2).
    pub fn s2sz(&self) -> u8 {
        if self.pa_bits >= 52 && !self.lpa2 {
            48
        } else {
            self.pa_bits
        }
    }

    /// `get_kvm_ipa_limit()`: the stage-2 input size the host kernel offers (`KVM_CAP_ARM_VM_IPA_SIZE`),
    /// the PA size, limited to 48 bits without LPA2 (4 KiB pages).
    pub fn kvm_ipa_limit(&self) -> u32 {
        u32::from(self.s2sz())
    }

    /// The largest SVE vector length in quadwords (VQ), 0 without SVE.
    pub fn sve_max_vq(&self) -> u16 {
        self.sve_max_vl / 128
    }

    /// `RmiFeatureRegister0` as the RMM reports it on this platform (DEN0137 1.0-rel0 B4.4.2; TF-RMM
    /// `get_feature_register_0`): counts are encoded minus one, `SVE_VL` as VQ − 1.
    pub fn features_register0(&self) -> u64 {
        let sve = self.sve_max_vq() > 0;
        let fields = [
            (f0::S2SZ, u64::from(self.s2sz())),
            (f0::LPA2, u64::from(self.lpa2)),
            (f0::SVE_EN, u64::from(sve)),
            (f0::SVE_VL, u64::from(self.sve_max_vq().saturating_sub(1))),
            (f0::NUM_BPS, u64::from(self.breakpoints.saturating_sub(1))),
            (f0::NUM_WPS, u64::from(self.watchpoints.saturating_sub(1))),
            (f0::PMU_EN, u64::from(self.pmu)),
            (
                f0::PMU_NUM_CTRS,
                u64::from(if self.pmu { self.pmu_counters } else { 0 }),
            ),
            (f0::HASH_SHA_256, u64::from(self.sha256)),
            (f0::HASH_SHA_512, u64::from(self.sha512)),
            (
                f0::GICV3_NUM_LRS,
                u64::from(self.gic.list_registers.saturating_sub(1)),
            ),
            (f0::MAX_RECS_ORDER, u64::from(self.max_recs_order)),
        ];
        fields.iter().fold(0, |r, (field, v)| field.set(r, *v))
    }
}

impl Default for Platform {
    /// The `max` profile.
    fn default() -> Self {
        profiles::max()
    }
}

#[cfg(test)]
mod tests;
