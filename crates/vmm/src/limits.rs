//! What a simulated platform can host, read from where its layers define it, so a configuration beyond it
//! is refused before the first ioctl with a message naming the limit (instead of a bare errno later):
//!
//! - the IPA size: the smaller of the RMM's `RmiFeatureRegister0.S2SZ` and the kernel's
//!   `KVM_CAP_ARM_VM_IPA_SIZE` (realm-kvm's `KernelConfig::host_ipa_limit`);
//! - SVE: the kernel's `KernelConfig::sve_max_vl` (0: `KVM_ARM_VCPU_SVE` is not offered, so any `--sve-vl`
//!   would fail `KVM_ARM_VCPU_INIT` with EINVAL), bounded by the RMM's `SVE_VL`;
//! - breakpoints and watchpoints: `NUM_BPS + 1` and `NUM_WPS + 1` of the RMM's features (what the kernel's
//!   `ID_AA64DFR0_EL1` reports).
//!
//! [`PlatformLimits::simulated`] is the default simulated machine as `SimulatedBackend::new` composes it
//! (realm-rmm's default features, realm-kvm's default kernel); [`PlatformLimits::of`] a realm-platform
//! description whose RMM and kernel both derive from it.
#![forbid(unsafe_code)]

use crate::config::Layout;
use crate::prepare::Prepared;
use crate::size::ByteSize;

/// The limits of a platform a backend knows before building.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlatformLimits {
    /// Largest IPA size, bits.
    pub ipa_bits: u8,
    /// Largest SVE vector length in bits; `None` when the vCPUs have no SVE.
    pub sve_vl: Option<u16>,
    /// Most breakpoints.
    pub num_bps: u8,
    /// Most watchpoints.
    pub num_wps: u8,
}

/// A configuration the platform cannot host.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// `--ipa-bits` above the platform's IPA size.
    #[error(
        "--ipa-bits {given}: the simulated platform's realms have at most a {limit}-bit IPA space (RMI_FEATURES S2SZ)"
    )]
    IpaBits {
        /// Asked for.
        given: u8,
        /// The limit.
        limit: u8,
    },
    /// RAM whose layout needs more IPA bits than the platform has.
    #[error(
        "--mem {mem}: the {layout} memory map then needs a {needed}-bit IPA space; the simulated platform's realms have at most {limit} bits (RMI_FEATURES S2SZ)"
    )]
    Mem {
        /// RAM.
        mem: ByteSize,
        /// Layout.
        layout: Layout,
        /// IPA bits the map needs.
        needed: u8,
        /// The limit.
        limit: u8,
    },
    /// SVE on a platform without it, or above its maximum.
    #[error("--sve-vl {asked}: {}", match .limit {
        Some(l) => format!("the simulated platform's SVE vector length is at most {l} bits"),
        None => "the simulated platform's vCPUs have no SVE (its kernel does not offer KVM_ARM_VCPU_SVE)".into(),
    })]
    SveVl {
        /// Asked for, bits.
        asked: u16,
        /// The limit.
        limit: Option<u16>,
    },
    /// More breakpoints or watchpoints than the platform has.
    #[error("{asked} {what} asked for; the simulated platform supports at most {limit}")]
    DebugResources {
        /// `breakpoints` or `watchpoints`.
        what: &'static str,
        /// Asked for.
        asked: u8,
        /// The limit.
        limit: u8,
    },
}

impl PlatformLimits {
    /// The default simulated platform's limits: realm-rmm's default features (realm-platform's `max`) under
    /// realm-kvm's default kernel (`KernelConfig::new`: 48-bit IPA limit, no SVE).
    pub fn simulated() -> Self {
        let k = realm_kvm::KernelConfig::new(realm_uapi::AbiRevision::V12);
        Self::compose(&realm_rmm::FeatureProfile::default(), &k)
    }

    /// The limits of `platform` when its RMM and its kernel both derive from it.
    pub fn of(platform: &realm_platform::Platform) -> Self {
        let k = realm_kvm::KernelConfig::for_platform(realm_uapi::AbiRevision::V12, platform);
        Self::compose(&realm_rmm::FeatureProfile::from_platform(platform), &k)
    }

    fn compose(f: &realm_rmm::FeatureProfile, k: &realm_kvm::KernelConfig) -> Self {
        let host = u8::try_from(k.host_ipa_limit).unwrap_or(u8::MAX);
        let rmm_sve = if f.sve_en {
            (u16::from(f.sve_vl) + 1) * 128
        } else {
            0
        };
        let sve = u16::try_from(k.sve_max_vl).unwrap_or(u16::MAX).min(rmm_sve);
        Self {
            ipa_bits: f.s2sz.min(host),
            sve_vl: (sve > 0).then_some(sve),
            num_bps: f.num_bps.saturating_add(1),
            num_wps: f.num_wps.saturating_add(1),
        }
    }

    /// Whether `p` fits, in the order of the flags: the IPA size (given, else the one RAM needs), SVE,
    /// breakpoints, watchpoints.
    pub fn check(&self, p: &Prepared) -> Result<(), LimitError> {
        let limit = self.ipa_bits;
        match p.cfg.ipa_bits {
            Some(given) if given > limit => return Err(LimitError::IpaBits { given, limit }),
            Some(_) => {}
            None if p.map.ipa_bits > limit => {
                return Err(LimitError::Mem {
                    mem: ByteSize(p.cfg.mem),
                    layout: p.cfg.layout,
                    needed: p.map.ipa_bits,
                    limit,
                });
            }
            None => {}
        }
        let params = &p.cfg.params;
        if let Some(asked) = params.sve_vl
            && self.sve_vl.is_none_or(|l| asked > l)
        {
            return Err(LimitError::SveVl {
                asked,
                limit: self.sve_vl,
            });
        }
        for (asked, limit, what) in [
            (params.num_bps, self.num_bps, "breakpoints"),
            (params.num_wps, self.num_wps, "watchpoints"),
        ] {
            if let Some(asked) = asked
                && asked > limit
            {
                return Err(LimitError::DebugResources { what, asked, limit });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config::ConfigFile;
    use crate::image::{ImageSource, synthetic_image};

    fn prepared(edit: impl FnOnce(&mut ConfigFile)) -> Prepared {
        let mut f = ConfigFile {
            kernel: Some("k".into()),
            mem: Some("64M".into()),
            ..ConfigFile::default()
        };
        edit(&mut f);
        let mut cfg = f.validate().unwrap();
        cfg.kernel = Some(ImageSource::Bytes {
            name: "k".into(),
            data: Arc::from(synthetic_image(4096, 1)),
        });
        crate::prepare::prepare(&cfg).unwrap()
    }

    #[test]
    fn the_simulated_platform_is_max_under_the_default_kernel() {
        // realm-platform's max: S2SZ 52 with LPA2, SVE to 2048 bits, 16 breakpoints and watchpoints; under
        // realm-kvm's default kernel: 48-bit IPA limit, no SVE.
        assert_eq!(
            PlatformLimits::simulated(),
            PlatformLimits {
                ipa_bits: 48,
                sve_vl: None,
                num_bps: 16,
                num_wps: 16,
            }
        );
        // qemu-max (TF-RMM under QEMU -cpu max): 52-bit IPA with LPA2, SVE to 2048 bits, 6 bps, 4 wps.
        let qemu = realm_platform::Platform::by_name("qemu-max").unwrap();
        assert_eq!(
            PlatformLimits::of(&qemu),
            PlatformLimits {
                ipa_bits: 52,
                sve_vl: Some(2048),
                num_bps: 6,
                num_wps: 4,
            }
        );
    }

    #[test]
    fn refusals_name_the_flag_and_the_limit() {
        let l = PlatformLimits::simulated();
        let check = |edit: fn(&mut ConfigFile)| l.check(&prepared(edit)).map_err(|e| e.to_string());
        assert_eq!(check(|_| {}), Ok(()));
        assert_eq!(check(|f| f.ipa_bits = Some(48)), Ok(()));
        assert_eq!(
            check(|f| f.ipa_bits = Some(49)),
            Err("--ipa-bits 49: the simulated platform's realms have at most a 48-bit IPA space (RMI_FEATURES S2SZ)".into())
        );
        // 128 TiB at 0x80000000 ends above 2^47: kvmtool asks for 49 bits.
        assert_eq!(
            check(|f| f.mem = Some("128T".into())),
            Err("--mem 128 TiB: the kvmtool memory map then needs a 49-bit IPA space; the simulated platform's \
                 realms have at most 48 bits (RMI_FEATURES S2SZ)"
                .into())
        );
        assert_eq!(
            check(|f| f.sve_vl = Some(128)),
            Err("--sve-vl 128: the simulated platform's vCPUs have no SVE (its kernel does not offer KVM_ARM_VCPU_SVE)".into())
        );
        assert_eq!(check(|f| f.num_bps = Some(16)), Ok(()));
        let qemu = PlatformLimits::of(&realm_platform::Platform::by_name("qemu-max").unwrap());
        let on_qemu =
            |edit: fn(&mut ConfigFile)| qemu.check(&prepared(edit)).map_err(|e| e.to_string());
        assert_eq!(on_qemu(|f| f.num_bps = Some(6)), Ok(()));
        assert_eq!(
            on_qemu(|f| f.num_bps = Some(16)),
            Err("16 breakpoints asked for; the simulated platform supports at most 6".into())
        );
        assert_eq!(
            on_qemu(|f| f.num_wps = Some(5)),
            Err("5 watchpoints asked for; the simulated platform supports at most 4".into())
        );
        assert_eq!(on_qemu(|f| f.sve_vl = Some(2048)), Ok(()));
    }
}
