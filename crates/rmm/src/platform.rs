//! The simulated platform: DRAM regions and the feature profile RMI_FEATURES reports.

use crate::abi::feature_register_0 as f0;

/// One DRAM region of the platform's physical address space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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
}

impl FeatureProfile {
    /// The names `by_name` accepts.
    pub const NAMES: &'static [&'static str] = &["default", "qemu-max"];

    /// The default profile: 48-bit IPA without LPA2, SVE up to VQ 16, 6 breakpoints, 4 watchpoints, PMU with
    /// 6 counters, SHA-256 and SHA-512, 4 list registers.
    pub fn default_profile() -> Self {
        Self {
            name: "default",
            s2sz: 48,
            lpa2: false,
            ..Self::qemu_max()
        }
    }

    /// The profile TF-RMM `rmm-spec-v1.0-rel0` reports under QEMU `-cpu max` (observed RMI_FEATURES(0) =
    /// 0x28f34317f34, reference page §12).
    pub fn qemu_max() -> Self {
        Self {
            name: "qemu-max",
            s2sz: 52,
            lpa2: true,
            sve_en: true,
            sve_vl: 15,
            num_bps: 5,
            num_wps: 3,
            pmu_en: true,
            pmu_num_ctrs: 6,
            hash_sha_256: true,
            hash_sha_512: true,
            gicv3_num_lrs: 3,
            max_recs_order: 10,
            hpmn0: true,
        }
    }

    /// A named profile (`default`, `qemu-max`).
    pub fn by_name(name: &str) -> Option<Self> {
        match name {
            "default" => Some(Self::default_profile()),
            "qemu-max" => Some(Self::qemu_max()),
            _ => None,
        }
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
    fn default() -> Self {
        Self::default_profile()
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
}

impl PlatformConfig {
    /// Base of the default DRAM region (where QEMU `virt` puts RAM).
    pub const DEFAULT_DRAM_BASE: u64 = 0x4000_0000;
    /// Size of the default DRAM region: 1 TiB, so a host can back realms of hundreds of GiB (memory is
    /// sparse, untouched granules cost nothing).
    pub const DEFAULT_DRAM_SIZE: u64 = 1 << 40;
}

impl Default for PlatformConfig {
    fn default() -> Self {
        Self {
            dram: vec![DramRegion {
                base: Self::DEFAULT_DRAM_BASE,
                size: Self::DEFAULT_DRAM_SIZE,
            }],
            features: FeatureProfile::default(),
            cpu: crate::cpu::CpuModel::default(),
        }
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
