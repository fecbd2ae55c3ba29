//! The simulated platform as the RMM sees it: DRAM regions, the feature profile RMI_FEATURES reports and
//! REALM_CREATE checks, and the realm CPU model — all derived from one [`Platform`] description
//! (`realm-platform`).

pub use realm_platform::{DramRegion, Platform};

use crate::abi::feature_register_0 as f0;

/// What the platform supports, reported through `RmiFeatureRegister0` (DEN0137 1.0-rel0 B4.4) and used by
/// RMI_REALM_CREATE's parameter checks. Field values are in the register's encoding (e.g. `num_bps` is the
/// count minus one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeatureProfile {
    /// Profile name (`FeatureProfile::by_name`).
    pub name: &'static str,
    /// `S2SZ`: maximum IPA width.
    pub s2sz: u8,
    /// `LPA2`.
    pub lpa2: bool,
    /// `SVE_EN`.
    pub sve_en: bool,
    /// `SVE_VL` (VQ-1).
    pub sve_vl: u8,
    /// `NUM_BPS` (count-1).
    pub num_bps: u8,
    /// `NUM_WPS` (count-1).
    pub num_wps: u8,
    /// `PMU_EN`.
    pub pmu_en: bool,
    /// `PMU_NUM_CTRS`.
    pub pmu_num_ctrs: u8,
    /// `HASH_SHA_256`.
    pub hash_sha_256: bool,
    /// `HASH_SHA_512`.
    pub hash_sha_512: bool,
    /// `GICV3_NUM_LRS` (count-1).
    pub gicv3_num_lrs: u8,
    /// `MAX_RECS_ORDER` (TF-RMM: 10, the width of its granule refcount).
    pub max_recs_order: u8,
    /// FEAT_HPMN0: whether a realm may ask for zero PMU counters (not in the register; TF-RMM checks it
    /// in REALM_CREATE).
    pub hpmn0: bool,
    /// The GICv3 CPU interface (`ICH_VTR_EL2`: LRs, PRIbits, PREbits), which REC_ENTER's GIC checks and
    /// the interface's VMCR clamping follow; its LR count is `gicv3_num_lrs` + 1.
    pub gic: crate::cpu::gic::GicParams,
}

impl FeatureProfile {
    /// The names `by_name` accepts ([`Platform::NAMES`]).
    pub const NAMES: &'static [&'static str] = Platform::NAMES;

    /// The profile of `platform`: its `RmiFeatureRegister0` fields as TF-RMM derives them from the hardware.
    pub fn from_platform(platform: &Platform) -> Self {
        let r = platform.features_register0();
        let field = |f: crate::abi::FeatureField| u8::try_from(f.get(r)).unwrap_or(u8::MAX);
        Self {
            name: Platform::NAMES
                .iter()
                .copied()
                .find(|n| *n == platform.name)
                .unwrap_or("custom"),
            s2sz: field(f0::S2SZ),
            lpa2: f0::LPA2.get(r) != 0,
            sve_en: f0::SVE_EN.get(r) != 0,
            sve_vl: field(f0::SVE_VL),
            num_bps: field(f0::NUM_BPS),
            num_wps: field(f0::NUM_WPS),
            pmu_en: f0::PMU_EN.get(r) != 0,
            pmu_num_ctrs: field(f0::PMU_NUM_CTRS),
            hash_sha_256: f0::HASH_SHA_256.get(r) != 0,
            hash_sha_512: f0::HASH_SHA_512.get(r) != 0,
            gicv3_num_lrs: field(f0::GICV3_NUM_LRS),
            max_recs_order: field(f0::MAX_RECS_ORDER),
            hpmn0: platform.hpmn0,
            gic: crate::cpu::gic::GicParams {
                list_registers: platform.gic.list_registers,
                priority_bits: platform.gic.priority_bits,
                preemption_bits: platform.gic.preemption_bits,
            },
        }
    }

    /// The profile TF-RMM `rmm-spec-v1.0-rel0` reports under QEMU `-cpu max` (observed RMI_FEATURES(0) =
    /// 0x28f34317f34, reference page §12).
    pub fn qemu_max() -> Self {
        Self::from_platform(&realm_platform::profiles::qemu_max())
    }

    /// A named profile ([`Platform::NAMES`]).
    pub fn by_name(name: &str) -> Option<Self> {
        Platform::by_name(name).map(|p| Self::from_platform(&p))
    }

    /// The value of `RmiFeatureRegister0`.
    pub fn register0(&self) -> u64 {
        let mut r = 0;
        r = f0::S2SZ.set(r, u64::from(self.s2sz));
        r = f0::LPA2.set(r, u64::from(self.lpa2));
        r = f0::SVE_EN.set(r, u64::from(self.sve_en));
        r = f0::SVE_VL.set(r, u64::from(self.sve_vl));
        r = f0::NUM_BPS.set(r, u64::from(self.num_bps));
        r = f0::NUM_WPS.set(r, u64::from(self.num_wps));
        r = f0::PMU_EN.set(r, u64::from(self.pmu_en));
        r = f0::PMU_NUM_CTRS.set(r, u64::from(self.pmu_num_ctrs));
        r = f0::HASH_SHA_256.set(r, u64::from(self.hash_sha_256));
        r = f0::HASH_SHA_512.set(r, u64::from(self.hash_sha_512));
        r = f0::GICV3_NUM_LRS.set(r, u64::from(self.gicv3_num_lrs));
        f0::MAX_RECS_ORDER.set(r, u64::from(self.max_recs_order))
    }
}

impl Default for FeatureProfile {
    /// The `max` platform's profile.
    fn default() -> Self {
        Self::from_platform(&Platform::default())
    }
}

/// The simulated platform an [`crate::Rmm`] runs on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlatformConfig {
    /// DRAM regions: where the host's granules (RDs, RTTs, RECs, DATA, parameter pages) live. Distinct from
    /// any realm's IPA space.
    pub dram: Vec<DramRegion>,
    /// What RMI_FEATURES reports and REALM_CREATE allows.
    pub features: FeatureProfile,
    /// What runs each REC on RMI_REC_ENTER (default: [`crate::cpu::IdleCpu`], no code to run).
    pub cpu: crate::cpu::CpuModel,
    /// Whether DATA granules keep their contents (default) or the platform only measures.
    pub data_contents: DataContents,
    /// Seed of the platform's attestation keys ([`Platform::attestation_seed`]): the CPAK and the RAK the
    /// RMM signs realm tokens with derive from it (realm-attest `keys`).
    pub attestation_seed: [u8; 32],
}

/// Whether the platform keeps the contents of DATA granules: a model mode, not an RMM feature.
///
/// A platform that will never run its realms (the reference-value calculator, `realm measure`) need not
/// keep them: RMI_DATA_CREATE then hashes the Non-secure source granule where it is and copies nothing.
/// Every status, granule state, RIM and measurement log is the same in both modes; what differs is that
/// the realm's DATA granules have no contents to read, so RMI_REC_ENTER refuses to run a realm there
/// (RMI_ERROR_REC: a status this model chose; DEN0137 has no platform of this kind).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DataContents {
    /// DATA granules hold what RMI_DATA_CREATE copied into them (a platform that runs realms).
    #[default]
    Kept,
    /// DATA granules hold nothing: a measure-only platform.
    NotKept,
}

impl PlatformConfig {
    /// Base of the default DRAM region (where QEMU `virt` puts RAM).
    pub const DEFAULT_DRAM_BASE: u64 = realm_platform::profiles::DEFAULT_DRAM_BASE;
    /// Size of the default DRAM region: 1 TiB, so a host can back realms of hundreds of GiB (memory is
    /// sparse, untouched granules cost nothing).
    pub const DEFAULT_DRAM_SIZE: u64 = realm_platform::profiles::DEFAULT_DRAM_SIZE;

    /// The RMM's view of `platform`, with the idle CPU model.
    pub fn from_platform(platform: &Platform) -> Self {
        Self {
            dram: platform.dram.clone(),
            features: FeatureProfile::from_platform(platform),
            cpu: crate::cpu::CpuModel::default(),
            data_contents: DataContents::Kept,
            attestation_seed: platform.attestation_seed,
        }
    }
}

impl Default for PlatformConfig {
    /// The `max` platform.
    fn default() -> Self {
        Self::from_platform(&Platform::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_max_profile_reads_the_observed_register() {
        assert_eq!(FeatureProfile::qemu_max().register0(), 0x28f_3431_7f34);
    }

    #[test]
    fn every_name_resolves() {
        for name in FeatureProfile::NAMES {
            assert_eq!(FeatureProfile::by_name(name).map(|p| p.name), Some(*name));
        }
        assert!(FeatureProfile::by_name("nope").is_none());
    }
}
