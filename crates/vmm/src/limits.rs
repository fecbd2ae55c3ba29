//! What the chosen platform can host, checked before the first ioctl so that a configuration beyond it is
//! refused with a message naming the flag, the platform's limit and the flag that changes the platform —
//! instead of a bare errno from the kernel layer or an RMI status from the RMM later.
//!
//! The limits are the [`Platform`]'s ([`Platform::check_realm`]: IPA size, vCPUs, SVE, PMU counters,
//! breakpoints, watchpoints, hash algorithm), plus one the layout adds: RAM whose memory map needs more IPA
//! bits than the platform has.
#![forbid(unsafe_code)]

use realm_platform::{Platform, RealmRequest, Unsupported};

use crate::config::{HashAlgorithm, Layout};
use crate::prepare::Prepared;
use crate::size::ByteSize;

/// A configuration the platform cannot host.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// A realm parameter above the platform's limit.
    #[error(transparent)]
    Platform(#[from] Box<Unsupported>),
    /// RAM whose layout needs more IPA bits than the platform has.
    #[error(
        "--mem {mem}: the {layout} memory map then needs a {needed}-bit IPA space; the {platform} platform's \
         realms have at most {limit} bits (choose another platform with --platform or raise the limit with \
         --platform-pa-bits)"
    )]
    Mem {
        /// RAM.
        mem: ByteSize,
        /// Layout.
        layout: Layout,
        /// IPA bits the map needs.
        needed: u8,
        /// The limit.
        limit: u32,
        /// The platform's name.
        platform: String,
    },
}

/// Whether `platform` can host `p`: the explicit IPA size, else the one its RAM needs, then the platform's
/// realm checks.
pub fn check(platform: &Platform, p: &Prepared) -> Result<(), LimitError> {
    let limit = platform.kvm_ipa_limit();
    if p.cfg.ipa_bits.is_none() && u32::from(p.map.ipa_bits) > limit {
        return Err(LimitError::Mem {
            mem: ByteSize(p.cfg.mem),
            layout: p.cfg.layout,
            needed: p.map.ipa_bits,
            limit,
            platform: platform.name.clone(),
        });
    }
    let params = &p.cfg.params;
    platform.check_realm(&RealmRequest {
        ipa_bits: p.cfg.ipa_bits.map(u32::from),
        sve_vl: params.sve_vl.map(u32::from),
        breakpoints: params.num_bps,
        watchpoints: params.num_wps,
        pmu_counters: params.pmu_counters,
        sha512: params.hash == Some(HashAlgorithm::Sha512),
        vcpus: Some(p.cfg.cpus),
    })?;
    Ok(())
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

    fn check_on(name: &str, edit: fn(&mut ConfigFile)) -> Result<(), String> {
        check(&Platform::by_name(name).unwrap(), &prepared(edit)).map_err(|e| e.to_string())
    }

    #[test]
    fn the_max_platform_hosts_every_valid_configuration() {
        assert_eq!(check_on("max", |_| {}), Ok(()));
        assert_eq!(check_on("max", |f| f.ipa_bits = Some(52)), Ok(()));
        assert_eq!(check_on("max", |f| f.sve_vl = Some(2048)), Ok(()));
        assert_eq!(check_on("max", |f| f.num_bps = Some(16)), Ok(()));
        assert_eq!(check_on("max", |f| f.num_wps = Some(16)), Ok(()));
        assert_eq!(check_on("max", |f| f.pmu_counters = Some(31)), Ok(()));
    }

    #[test]
    fn refusals_name_the_flag_the_limit_and_the_platform_flag() {
        assert_eq!(
            check_on("fvp", |f| f.ipa_bits = Some(49)),
            Err("--ipa-bits 49 is more than the fvp platform supports (48-bit IPAs without LPA2); choose another \
                 platform with --platform (max, qemu-max, fvp) or raise the limit with --platform-pa-bits"
                .into())
        );
        // 128 TiB at 0x80000000 ends above 2^47: kvmtool asks for 49 bits.
        assert_eq!(
            check_on("fvp", |f| f.mem = Some("128T".into())),
            Err("--mem 128 TiB: the kvmtool memory map then needs a 49-bit IPA space; the fvp platform's realms \
                 have at most 48 bits (choose another platform with --platform or raise the limit with \
                 --platform-pa-bits)"
                .into())
        );
        assert_eq!(
            check_on("fvp", |f| f.sve_vl = Some(128)),
            Err("--sve-vl 128 is more than the fvp platform supports (no SVE); choose another platform with \
                 --platform (max, qemu-max, fvp) or raise the limit with --platform-sve-vl"
                .into())
        );
        assert_eq!(check_on("qemu-max", |f| f.num_bps = Some(6)), Ok(()));
        assert_eq!(
            check_on("qemu-max", |f| f.num_bps = Some(16)),
            Err("--num-bps 16 is more than the qemu-max platform supports (6 breakpoints); choose another \
                 platform with --platform (max, qemu-max, fvp) or raise the limit with --platform-bps"
                .into())
        );
        assert_eq!(
            check_on("qemu-max", |f| f.num_wps = Some(7)),
            Err("--num-wps 7 is more than the qemu-max platform supports (4 watchpoints); choose another \
                 platform with --platform (max, qemu-max, fvp) or raise the limit with --platform-wps"
                .into())
        );
    }
}
