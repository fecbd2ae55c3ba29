//! The enumerated configuration values, spelled as the flags and the TOML file spell them. The VMM's own
//! ([`Layout`], [`ImageKind`]) derive `clap::ValueEnum` and serde, and `Display`/`FromStr` come from those
//! names, once; the ABI revision is realm-uapi's [`AbiRevision`] and the measurement algorithm realm-rmi's
//! [`HashAlgorithm`], parsed and named here ([`parse_abi`], [`parse_hash`], [`hash_name`]).
#![forbid(unsafe_code)]

use std::fmt;
use std::str::FromStr;

use clap::ValueEnum;
use serde::{Deserialize, Serialize};

pub use realm_rmi::HashAlgorithm;
pub use realm_uapi::AbiRevision;

use super::ConfigError;

/// `Display` as the value's name, `FromStr` from it (`ignore_case` as given), the error naming the input.
macro_rules! by_name {
    ($ty:ty, ignore_case = $ignore_case:expr, $error:path) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.to_possible_value() {
                    Some(v) => f.write_str(v.get_name()),
                    None => Ok(()),
                }
            }
        }

        impl FromStr for $ty {
            type Err = ConfigError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <Self as ValueEnum>::from_str(s, $ignore_case).map_err(|_| $error(s.to_owned()))
            }
        }
    };
}

/// The virtual platform whose memory map and image placement are reproduced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// kvmtool (`lkvm run --realm`): RAM at 0x8000_0000, DTB below 256 MiB, initrd below the DTB.
    #[default]
    Kvmtool,
    /// QEMU `virt`: RAM at 0x4000_0000, initrd at RAM + min(RAM/2, 128 MiB), DTB after it.
    Qemu,
}
by_name!(Layout, ignore_case = false, ConfigError::UnknownLayout);

/// The ABI revisions this VMM drives: the realm-construction orders of Linux CCA series v10
/// (`KVM_CAP_ARM_RME` actions) and v12 (`KVM_ARM_RMI_POPULATE`, implicit creation and activation). v13 and v14
/// are realm-uapi revisions it does not drive.
pub const DRIVEN_REVISIONS: [AbiRevision; 2] = [AbiRevision::V10, AbiRevision::V12];

/// The ABI revision named `s` (exactly `v10` or `v12`).
pub fn parse_abi(s: &str) -> Result<AbiRevision, ConfigError> {
    DRIVEN_REVISIONS
        .into_iter()
        .find(|r| r.name() == s)
        .ok_or_else(|| ConfigError::UnknownAbi(s.to_owned()))
}

/// The measurement algorithms by name (`sha256`, `sha512`; any case, `sha-256` too).
const HASH_NAMES: [(HashAlgorithm, &str); 2] = [
    (HashAlgorithm::Sha256, "sha256"),
    (HashAlgorithm::Sha512, "sha512"),
];

/// The name of a measurement algorithm as the flags spell it.
pub fn hash_name(h: HashAlgorithm) -> &'static str {
    match h {
        HashAlgorithm::Sha256 => "sha256",
        HashAlgorithm::Sha512 => "sha512",
    }
}

/// The measurement algorithm named `s` (case-insensitive; a `-` after `sha` is allowed).
pub fn parse_hash(s: &str) -> Result<HashAlgorithm, ConfigError> {
    let normal = s.to_ascii_lowercase().replace('-', "");
    HASH_NAMES
        .into_iter()
        .find(|(_, name)| *name == normal)
        .map(|(h, _)| h)
        .ok_or_else(|| ConfigError::UnknownHash(s.to_owned()))
}

/// Serialize a measurement algorithm by name (`#[serde(serialize_with)]`).
pub fn serialize_hash<S: serde::Serializer>(h: &HashAlgorithm, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(hash_name(*h))
}

/// Which boot image.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum ImageKind {
    /// Boot firmware.
    Firmware,
    /// The kernel.
    Kernel,
    /// The initial ramdisk.
    Initrd,
    /// The device tree.
    Dtb,
}
by_name!(ImageKind, ignore_case = false, ConfigError::UnknownImage);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_named() {
        for abi in DRIVEN_REVISIONS {
            assert_eq!(parse_abi(&abi.to_string()).unwrap(), abi);
        }
        assert_eq!(
            parse_abi("v13").unwrap_err().to_string(),
            "unknown ABI revision \"v13\" (expected v10 or v12)"
        );
        assert!(parse_abi("V10").is_err(), "ABI names are exact");
        assert_eq!(Layout::Qemu.to_string(), "qemu");
        assert_eq!(ImageKind::Dtb.to_string(), "dtb");
        assert_eq!(hash_name(HashAlgorithm::Sha512), "sha512");
        assert_eq!(parse_hash("SHA-512").unwrap(), HashAlgorithm::Sha512);
        assert_eq!(parse_hash("Sha256").unwrap(), HashAlgorithm::Sha256);
        assert_eq!(
            parse_hash("md5").unwrap_err().to_string(),
            "unknown hash algorithm \"md5\" (expected sha256 or sha512)"
        );
        assert_eq!(
            "bios".parse::<ImageKind>().unwrap_err().to_string(),
            "unknown image \"bios\" (expected firmware, kernel, initrd or dtb)"
        );
    }
}
