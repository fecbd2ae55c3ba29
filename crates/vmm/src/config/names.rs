//! The enumerated configuration values, spelled as the flags and the TOML file spell them. Each derives
//! `clap::ValueEnum` (the CLI parses it directly) and serde; `Display`/`FromStr` come from those names, once.
#![forbid(unsafe_code)]

use std::fmt;
use std::str::FromStr;

use clap::ValueEnum;
use serde::{Deserialize, Serialize};

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

/// The kernel user-ABI revision whose realm-construction order is followed (the RIM depends on it).
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Abi {
    /// Linux CCA series v10: `KVM_CAP_ARM_RME` actions (CONFIG, CREATE, INIT_RIPAS, POPULATE, ACTIVATE) and
    /// `KVM_ARM_VCPU_REC` + `KVM_ARM_VCPU_FINALIZE`.
    V10,
    /// Linux CCA series v12: `KVM_ARM_RMI_POPULATE`; realm creation, RECs, INIT_RIPAS and activation are implicit.
    #[default]
    V12,
}
by_name!(Abi, ignore_case = false, ConfigError::UnknownAbi);

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

/// The realm's measurement algorithm (RmiHashAlgorithm: SHA_256 = 0, SHA_512 = 1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum HashAlgo {
    /// SHA-256.
    #[default]
    #[value(alias = "sha-256")]
    Sha256,
    /// SHA-512.
    #[value(alias = "sha-512")]
    Sha512,
}
by_name!(HashAlgo, ignore_case = true, ConfigError::UnknownHash);

impl HashAlgo {
    /// The RMI encoding.
    pub fn rmi(self) -> u8 {
        match self {
            Self::Sha256 => 0,
            Self::Sha512 => 1,
        }
    }
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
        for (abi, name) in [(Abi::V10, "v10"), (Abi::V12, "v12")] {
            assert_eq!(abi.to_string(), name);
            assert_eq!(name.parse::<Abi>().unwrap(), abi);
        }
        assert_eq!(Layout::Qemu.to_string(), "qemu");
        assert_eq!(ImageKind::Dtb.to_string(), "dtb");
        assert_eq!(HashAlgo::Sha512.to_string(), "sha512");
        assert_eq!("SHA-512".parse::<HashAlgo>().unwrap(), HashAlgo::Sha512);
        assert_eq!("Sha256".parse::<HashAlgo>().unwrap(), HashAlgo::Sha256);
        assert!("V10".parse::<Abi>().is_err(), "ABI names are exact");
        assert_eq!(
            "md5".parse::<HashAlgo>().unwrap_err().to_string(),
            "unknown hash algorithm \"md5\" (expected sha256 or sha512)"
        );
        assert_eq!(
            "bios".parse::<ImageKind>().unwrap_err().to_string(),
            "unknown image \"bios\" (expected firmware, kernel, initrd or dtb)"
        );
    }
}
