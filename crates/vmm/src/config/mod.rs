//! A realm configuration: the images, the virtual platform and the realm parameters, as a kvmtool or QEMU user
//! gives them (flags or a TOML file), validated into a typed [`RealmConfig`].
//!
//! Counts are as the user thinks of them (`num_bps = 6` breakpoints, `sve_vl = 512` bits); the RMM encodings
//! (count-1, VQ-1; DEN0137 1.0-rel0 RmiRealmParams) are derived by [`RealmParams::rmi_num_bps`] and friends.
//! By concern: [`names`] (the enumerated values and their spellings), `error`, `file` (TOML and flags).
#![forbid(unsafe_code)]

mod error;
mod file;
pub mod names;

use std::collections::BTreeSet;
use std::fmt;

pub use error::ConfigError;
pub use file::ConfigFile;
pub use names::{AbiRevision, HashAlgorithm, ImageKind, Layout, hash_name, parse_abi, parse_hash};

use crate::image::ImageSource;
use crate::size::MIB;

/// The Realm Personalization Value: 64 bytes, as given (most significant byte first), zero-padded on the right
/// (cca-realm-measurements `docs/realm-vm.md`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rpv(pub [u8; 64]);

impl Rpv {
    /// Parse hex (an optional `0x` prefix; at most 128 digits, an even number).
    pub fn from_hex(text: &str) -> Result<Self, ConfigError> {
        let t = text.trim();
        let t = t.strip_prefix("0x").unwrap_or(t);
        let bytes = hex::decode(t).map_err(|_| ConfigError::RpvHex(text.to_owned()))?;
        if bytes.len() > 64 {
            return Err(ConfigError::RpvTooLong { len: bytes.len() });
        }
        let mut v = [0u8; 64];
        v[..bytes.len()].copy_from_slice(&bytes);
        Ok(Self(v))
    }

    /// Whether all 64 bytes are zero (the value a realm gets when none is configured).
    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|b| *b == 0)
    }
}

impl fmt::Debug for Rpv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rpv({})", hex::encode(self.0))
    }
}

/// Realm parameters beyond the platform, as the user counts them. `None` = the platform's default (the RMM's
/// maximum for bps/wps/SVE as KVM advertises it; no PMU).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RealmParams {
    /// Measurement algorithm (ABI v10 only; v12 realms always use SHA-256).
    pub hash: Option<HashAlgorithm>,
    /// Personalization value (ABI v10 only; v12 realms always have a zero RPV).
    pub rpv: Option<Rpv>,
    /// SVE vector length in bits (128..=2048, a multiple of 128).
    pub sve_vl: Option<u16>,
    /// PMU counters (0..=31); enables the PMU.
    pub pmu_counters: Option<u8>,
    /// Breakpoints (2..=16).
    pub num_bps: Option<u8>,
    /// Watchpoints (2..=16).
    pub num_wps: Option<u8>,
}

impl RealmParams {
    /// The hash algorithm the realm will use.
    pub fn hash_algo(&self) -> HashAlgorithm {
        self.hash.unwrap_or(HashAlgorithm::Sha256)
    }
    /// `RmiRealmParams.sve_vl`: VQ-1 = bits/128 - 1.
    pub fn rmi_sve_vl(&self) -> Option<u8> {
        self.sve_vl
            .and_then(|bits| u8::try_from(bits / 128 - 1).ok())
    }
    /// `RmiRealmParams.num_bps` (= ID_AA64DFR0_EL1.BRPs): count-1.
    pub fn rmi_num_bps(&self) -> Option<u8> {
        self.num_bps.map(|n| n - 1)
    }
    /// `RmiRealmParams.num_wps` (= ID_AA64DFR0_EL1.WRPs): count-1.
    pub fn rmi_num_wps(&self) -> Option<u8> {
        self.num_wps.map(|n| n - 1)
    }
}

/// A validated realm configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RealmConfig {
    /// The kernel (arm64 Image), if booting one directly.
    pub kernel: Option<ImageSource>,
    /// The initrd (needs a kernel).
    pub initrd: Option<ImageSource>,
    /// A DTB to load instead of generating one.
    pub dtb: Option<ImageSource>,
    /// Boot firmware, instead of a kernel.
    pub firmware: Option<ImageSource>,
    /// Kernel command line (`bootargs`); empty for a kernel with a generated DTB means
    /// [`crate::linux::default_cmdline`] (filled in by [`crate::prepare::prepare`]).
    pub cmdline: String,
    /// Guest RAM in bytes (a multiple of 2 MiB).
    pub mem: u64,
    /// vCPUs.
    pub cpus: u32,
    /// Platform layout.
    pub layout: Layout,
    /// IPA size; `None` = computed as the layout's VMM computes it.
    pub ipa_bits: Option<u8>,
    /// Realm parameters.
    pub params: RealmParams,
    /// Kernel ABI revision.
    pub abi: AbiRevision,
    /// Images populated without measuring their content.
    pub unmeasured: BTreeSet<ImageKind>,
    /// The simulated platform the realm is built on (`measure`, and `launch` on the simulated backend).
    pub platform: realm_platform::Platform,
}

/// The ABI revision when none is given.
pub const DEFAULT_ABI: AbiRevision = AbiRevision::V12;
/// Default RAM when none is given.
pub const DEFAULT_MEM: u64 = 512 * MIB;
/// Most vCPUs (KVM_MAX_VCPUS on arm64).
pub const MAX_CPUS: u32 = 512;
/// The largest configuration file read: 16 MiB, far above any real one (a bound for `/dev/zero` and pipes).
pub const MAX_CONFIG_FILE: u64 = 16 * MIB;

#[cfg(test)]
mod tests;
