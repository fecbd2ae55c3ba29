//! A realm configuration: the images, the virtual platform and the realm parameters, as a kvmtool or QEMU user
//! gives them (flags or a TOML file), validated into a typed [`RealmConfig`].
//!
//! Counts are as the user thinks of them (`num_bps = 6` breakpoints, `sve_vl = 512` bits); the RMM encodings
//! (count-1, VQ-1; DEN0137 1.0-rel0 RmiRealmParams) are derived by [`RealmParams::rmi_num_bps`] and friends.
#![forbid(unsafe_code)]

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::image::ImageSource;
use crate::size::{MIB, SizeError, parse_size};

/// The kernel user-ABI revision whose realm-construction order is followed (the RIM depends on it).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
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

impl fmt::Display for Abi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::V10 => "v10",
            Self::V12 => "v12",
        })
    }
}

impl FromStr for Abi {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "v10" => Ok(Self::V10),
            "v12" => Ok(Self::V12),
            _ => Err(ConfigError::UnknownAbi(s.to_owned())),
        }
    }
}

/// The virtual platform whose memory map and image placement are reproduced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// kvmtool (`lkvm run --realm`): RAM at 0x8000_0000, DTB below 256 MiB, initrd below the DTB.
    #[default]
    Kvmtool,
    /// QEMU `virt`: RAM at 0x4000_0000, initrd at RAM + min(RAM/2, 128 MiB), DTB after it.
    Qemu,
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Kvmtool => "kvmtool",
            Self::Qemu => "qemu",
        })
    }
}

impl FromStr for Layout {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "kvmtool" => Ok(Self::Kvmtool),
            "qemu" => Ok(Self::Qemu),
            _ => Err(ConfigError::UnknownLayout(s.to_owned())),
        }
    }
}

/// The realm's measurement algorithm (RmiHashAlgorithm: SHA_256 = 0, SHA_512 = 1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HashAlgo {
    /// SHA-256.
    #[default]
    Sha256,
    /// SHA-512.
    Sha512,
}

impl HashAlgo {
    /// The RMI encoding.
    pub fn rmi(self) -> u8 {
        match self {
            Self::Sha256 => 0,
            Self::Sha512 => 1,
        }
    }
}

impl fmt::Display for HashAlgo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sha256 => "sha256",
            Self::Sha512 => "sha512",
        })
    }
}

impl FromStr for HashAlgo {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().replace('-', "").as_str() {
            "sha256" => Ok(Self::Sha256),
            "sha512" => Ok(Self::Sha512),
            _ => Err(ConfigError::UnknownHash(s.to_owned())),
        }
    }
}

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

/// Which boot image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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

impl fmt::Display for ImageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Firmware => "firmware",
            Self::Kernel => "kernel",
            Self::Initrd => "initrd",
            Self::Dtb => "dtb",
        })
    }
}

impl FromStr for ImageKind {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "firmware" => Ok(Self::Firmware),
            "kernel" => Ok(Self::Kernel),
            "initrd" => Ok(Self::Initrd),
            "dtb" => Ok(Self::Dtb),
            _ => Err(ConfigError::UnknownImage(s.to_owned())),
        }
    }
}

/// Realm parameters beyond the platform, as the user counts them. `None` = the platform's default (the RMM's
/// maximum for bps/wps/SVE as KVM advertises it; no PMU).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RealmParams {
    /// Measurement algorithm (ABI v10 only; v12 realms always use SHA-256).
    pub hash: Option<HashAlgo>,
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
    pub fn hash_algo(&self) -> HashAlgo {
        self.hash.unwrap_or_default()
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
    /// Kernel command line (`bootargs`).
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
    pub abi: Abi,
    /// Images populated without measuring their content.
    pub unmeasured: BTreeSet<ImageKind>,
}

/// Default RAM when none is given.
pub const DEFAULT_MEM: u64 = 512 * MIB;
/// Most vCPUs (KVM_MAX_VCPUS on arm64).
pub const MAX_CPUS: u32 = 512;

/// A configuration that failed to load or validate.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The TOML file could not be read.
    #[error("reading configuration file {path}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The TOML file does not parse.
    #[error("parsing configuration file {path}")]
    ParseFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<toml::de::Error>,
    },
    /// `--mem` does not parse.
    #[error("invalid memory size {text:?}")]
    MemSize {
        /// As given.
        text: String,
        /// Why.
        #[source]
        source: SizeError,
    },
    /// RAM is not a multiple of 2 MiB, or is zero.
    #[error("memory size {mem:#x} must be a non-zero multiple of 2 MiB")]
    MemAlignment {
        /// Bytes.
        mem: u64,
    },
    /// Unknown `--abi`.
    #[error("unknown ABI revision {0:?} (expected v10 or v12)")]
    UnknownAbi(String),
    /// Unknown `--layout`.
    #[error("unknown layout {0:?} (expected kvmtool or qemu)")]
    UnknownLayout(String),
    /// Unknown `--hash`.
    #[error("unknown hash algorithm {0:?} (expected sha256 or sha512)")]
    UnknownHash(String),
    /// Unknown image name in `--unmeasured`.
    #[error("unknown image {0:?} (expected firmware, kernel, initrd or dtb)")]
    UnknownImage(String),
    /// `--rpv` is not hex.
    #[error("personalization value {0:?} is not hex")]
    RpvHex(String),
    /// `--rpv` longer than 64 bytes.
    #[error("personalization value is {len} bytes; at most 64")]
    RpvTooLong {
        /// Bytes given.
        len: usize,
    },
    /// `--hash sha512` with an ABI that cannot configure it.
    #[error(
        "ABI {abi} cannot configure the measurement algorithm: its realms always use SHA-256 (kvm-realm-abi §1.1); use --abi v10 or drop --hash"
    )]
    HashNotConfigurable {
        /// The revision.
        abi: Abi,
    },
    /// A non-zero `--rpv` with an ABI that cannot configure it.
    #[error(
        "ABI {abi} cannot configure a personalization value: its realms always have a zero RPV (kvm-realm-abi §1.1); use --abi v10 or drop --rpv"
    )]
    RpvNotConfigurable {
        /// The revision.
        abi: Abi,
    },
    /// Bad `--sve-vl`.
    #[error("SVE vector length {0} bits: must be a multiple of 128 from 128 to 2048")]
    SveVl(u16),
    /// Bad `--pmu-counters`.
    #[error("{0} PMU counters: at most 31")]
    PmuCounters(u8),
    /// Bad `--num-bps`.
    #[error("{0} breakpoints: must be 2 to 16")]
    NumBps(u8),
    /// Bad `--num-wps`.
    #[error("{0} watchpoints: must be 2 to 16")]
    NumWps(u8),
    /// Bad `--cpus`.
    #[error("{0} vCPUs: must be 1 to {MAX_CPUS}")]
    Cpus(u32),
    /// Bad `--ipa-bits`.
    #[error("IPA size {0} bits: must be 32 to 52")]
    IpaBits(u8),
    /// Neither kernel nor firmware.
    #[error("nothing to boot: give --kernel or --firmware")]
    NothingToBoot,
    /// Both kernel and firmware.
    #[error(
        "--kernel and --firmware cannot be combined (the firmware would load the kernel itself)"
    )]
    KernelAndFirmware,
    /// An initrd without a kernel.
    #[error("--initrd needs --kernel")]
    InitrdWithoutKernel,
    /// `--unmeasured` names an image that is not loaded.
    #[error("--unmeasured {0}: no {0} image is loaded")]
    UnmeasuredAbsent(ImageKind),
}

/// A configuration as written in a TOML file or given as flags: everything optional, strings where the user
/// writes strings. [`ConfigFile::merge`] lays flags over a file; [`ConfigFile::validate`] makes a [`RealmConfig`].
///
/// ```toml
/// kernel = "Image"
/// initrd = "initrd.img"
/// cmdline = "console=ttyS0"
/// mem = "512M"
/// cpus = 2
/// layout = "kvmtool"
/// abi = "v10"
/// hash = "sha512"
/// rpv = "00112233"
/// unmeasured = ["dtb"]
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ConfigFile {
    /// Kernel path.
    pub kernel: Option<PathBuf>,
    /// Initrd path.
    pub initrd: Option<PathBuf>,
    /// DTB path.
    pub dtb: Option<PathBuf>,
    /// Firmware path.
    pub firmware: Option<PathBuf>,
    /// Kernel command line.
    #[serde(alias = "params")]
    pub cmdline: Option<String>,
    /// RAM size (`512M`).
    pub mem: Option<String>,
    /// vCPUs.
    pub cpus: Option<u32>,
    /// `kvmtool` or `qemu`.
    pub layout: Option<String>,
    /// IPA bits.
    pub ipa_bits: Option<u8>,
    /// `sha256` or `sha512`.
    pub hash: Option<String>,
    /// Hex RPV.
    pub rpv: Option<String>,
    /// SVE vector length in bits.
    pub sve_vl: Option<u16>,
    /// PMU counters.
    pub pmu_counters: Option<u8>,
    /// Breakpoints.
    pub num_bps: Option<u8>,
    /// Watchpoints.
    pub num_wps: Option<u8>,
    /// `v10` or `v12`.
    pub abi: Option<String>,
    /// Images to populate unmeasured.
    #[serde(default)]
    pub unmeasured: Vec<String>,
    /// Images to populate measured (overrides an `unmeasured` entry from a file).
    #[serde(default)]
    pub measured: Vec<String>,
}

impl ConfigFile {
    /// Load a TOML file; relative image paths are taken relative to the file's directory.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
            path: path.to_owned(),
            source,
        })?;
        let mut file: Self = toml::from_str(&text).map_err(|source| ConfigError::ParseFile {
            path: path.to_owned(),
            source: Box::new(source),
        })?;
        let dir = path.parent().unwrap_or(Path::new(""));
        for p in [
            &mut file.kernel,
            &mut file.initrd,
            &mut file.dtb,
            &mut file.firmware,
        ]
        .into_iter()
        .flatten()
        {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        }
        Ok(file)
    }

    /// `self` with every field `over` sets replaced (flags over a file).
    pub fn merge(mut self, over: Self) -> Self {
        macro_rules! take {
            ($($f:ident),*) => { $( if over.$f.is_some() { self.$f = over.$f; } )* };
        }
        take!(
            kernel,
            initrd,
            dtb,
            firmware,
            cmdline,
            mem,
            cpus,
            layout,
            ipa_bits,
            hash,
            rpv,
            sve_vl,
            pmu_counters,
            num_bps,
            num_wps,
            abi
        );
        self.unmeasured.extend(over.unmeasured);
        self.measured.extend(over.measured);
        self
    }

    /// Check every value and combination, in the order a reader of the flags would.
    pub fn validate(self) -> Result<RealmConfig, ConfigError> {
        let abi = self
            .abi
            .as_deref()
            .map(Abi::from_str)
            .transpose()?
            .unwrap_or_default();
        let layout = self
            .layout
            .as_deref()
            .map(Layout::from_str)
            .transpose()?
            .unwrap_or_default();
        let mem = match self.mem.clone() {
            Some(text) => {
                parse_size(&text).map_err(|source| ConfigError::MemSize { text, source })?
            }
            None => DEFAULT_MEM,
        };
        if mem == 0 || mem % (2 * MIB) != 0 {
            return Err(ConfigError::MemAlignment { mem });
        }
        let cpus = self.cpus.unwrap_or(1);
        if cpus == 0 || cpus > MAX_CPUS {
            return Err(ConfigError::Cpus(cpus));
        }
        if let Some(bits) = self.ipa_bits
            && !(32..=52).contains(&bits)
        {
            return Err(ConfigError::IpaBits(bits));
        }
        let params = validate_params(&self, abi)?;
        if self.kernel.is_some() && self.firmware.is_some() {
            return Err(ConfigError::KernelAndFirmware);
        }
        if self.kernel.is_none() && self.firmware.is_none() {
            return Err(ConfigError::NothingToBoot);
        }
        if self.initrd.is_some() && self.kernel.is_none() {
            return Err(ConfigError::InitrdWithoutKernel);
        }
        let mut unmeasured = BTreeSet::new();
        for name in &self.unmeasured {
            unmeasured.insert(ImageKind::from_str(name)?);
        }
        for name in &self.measured {
            unmeasured.remove(&ImageKind::from_str(name)?);
        }
        for kind in &unmeasured {
            let present = match kind {
                ImageKind::Firmware => self.firmware.is_some(),
                ImageKind::Kernel => self.kernel.is_some(),
                ImageKind::Initrd => self.initrd.is_some(),
                ImageKind::Dtb => true,
            };
            if !present {
                return Err(ConfigError::UnmeasuredAbsent(*kind));
            }
        }
        Ok(RealmConfig {
            kernel: self.kernel.map(ImageSource::File),
            initrd: self.initrd.map(ImageSource::File),
            dtb: self.dtb.map(ImageSource::File),
            firmware: self.firmware.map(ImageSource::File),
            cmdline: self.cmdline.unwrap_or_default(),
            mem,
            cpus,
            layout,
            ipa_bits: self.ipa_bits,
            params,
            abi,
            unmeasured,
        })
    }
}

fn validate_params(f: &ConfigFile, abi: Abi) -> Result<RealmParams, ConfigError> {
    let hash = f.hash.as_deref().map(HashAlgo::from_str).transpose()?;
    let rpv = f.rpv.as_deref().map(Rpv::from_hex).transpose()?;
    if abi == Abi::V12 {
        if hash.is_some_and(|h| h != HashAlgo::Sha256) {
            return Err(ConfigError::HashNotConfigurable { abi });
        }
        if rpv.is_some_and(|r| !r.is_zero()) {
            return Err(ConfigError::RpvNotConfigurable { abi });
        }
    }
    if let Some(bits) = f.sve_vl
        && (bits == 0 || bits > 2048 || bits % 128 != 0)
    {
        return Err(ConfigError::SveVl(bits));
    }
    if let Some(n) = f.pmu_counters
        && n > 31
    {
        return Err(ConfigError::PmuCounters(n));
    }
    if let Some(n) = f.num_bps
        && !(2..=16).contains(&n)
    {
        return Err(ConfigError::NumBps(n));
    }
    if let Some(n) = f.num_wps
        && !(2..=16).contains(&n)
    {
        return Err(ConfigError::NumWps(n));
    }
    Ok(RealmParams {
        hash,
        rpv,
        sve_vl: f.sve_vl,
        pmu_counters: f.pmu_counters,
        num_bps: f.num_bps,
        num_wps: f.num_wps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> ConfigFile {
        ConfigFile {
            kernel: Some("Image".into()),
            ..ConfigFile::default()
        }
    }

    #[test]
    fn defaults() {
        let c = base().validate().unwrap();
        assert_eq!(c.abi, Abi::V12);
        assert_eq!(c.layout, Layout::Kvmtool);
        assert_eq!(c.mem, DEFAULT_MEM);
        assert_eq!(c.cpus, 1);
        assert_eq!(c.params.hash_algo(), HashAlgo::Sha256);
    }

    #[test]
    fn encodings_are_the_rmms() {
        let p = RealmParams {
            sve_vl: Some(512),
            num_bps: Some(6),
            num_wps: Some(4),
            ..RealmParams::default()
        };
        assert_eq!(p.rmi_sve_vl(), Some(3));
        assert_eq!(p.rmi_num_bps(), Some(5));
        assert_eq!(p.rmi_num_wps(), Some(3));
        assert_eq!(HashAlgo::Sha512.rmi(), 1);
    }

    #[test]
    fn rpv_is_zero_padded_on_the_right() {
        let r = Rpv::from_hex("0x0102").unwrap();
        assert_eq!(&r.0[..3], &[1, 2, 0]);
        assert!(!r.is_zero());
        assert!(Rpv::from_hex("").unwrap().is_zero());
        assert!(matches!(Rpv::from_hex("abc"), Err(ConfigError::RpvHex(_))));
        let long = "00".repeat(65);
        assert_eq!(
            Rpv::from_hex(&long).unwrap_err().to_string(),
            "personalization value is 65 bytes; at most 64"
        );
    }

    #[test]
    fn v12_rejects_hash_and_rpv() {
        let mut f = base();
        f.hash = Some("sha512".into());
        let e = f.clone().validate().unwrap_err();
        assert!(matches!(
            e,
            ConfigError::HashNotConfigurable { abi: Abi::V12 }
        ));
        assert!(
            e.to_string()
                .starts_with("ABI v12 cannot configure the measurement algorithm")
        );
        f.abi = Some("v10".into());
        assert_eq!(f.validate().unwrap().params.hash, Some(HashAlgo::Sha512));

        let mut f = base();
        f.hash = Some("sha256".into());
        f.rpv = Some("00".into());
        assert!(
            f.clone().validate().is_ok(),
            "consistent with what v12 does"
        );
        f.rpv = Some("01".into());
        assert!(matches!(
            f.validate(),
            Err(ConfigError::RpvNotConfigurable { .. })
        ));
    }

    #[test]
    fn ranges() {
        let check = |edit: fn(&mut ConfigFile), msg: &str| {
            let mut f = base();
            edit(&mut f);
            assert_eq!(f.validate().unwrap_err().to_string(), msg);
        };
        check(
            |f| f.sve_vl = Some(100),
            "SVE vector length 100 bits: must be a multiple of 128 from 128 to 2048",
        );
        check(|f| f.pmu_counters = Some(32), "32 PMU counters: at most 31");
        check(|f| f.num_bps = Some(1), "1 breakpoints: must be 2 to 16");
        check(|f| f.num_wps = Some(17), "17 watchpoints: must be 2 to 16");
        check(|f| f.cpus = Some(0), "0 vCPUs: must be 1 to 512");
        check(
            |f| f.ipa_bits = Some(60),
            "IPA size 60 bits: must be 32 to 52",
        );
        check(
            |f| f.mem = Some("3M".into()),
            "memory size 0x300000 must be a non-zero multiple of 2 MiB",
        );
        check(
            |f| f.mem = Some("lots".into()),
            "invalid memory size \"lots\"",
        );
        check(
            |f| f.abi = Some("v11".into()),
            "unknown ABI revision \"v11\" (expected v10 or v12)",
        );
        check(
            |f| f.layout = Some("xen".into()),
            "unknown layout \"xen\" (expected kvmtool or qemu)",
        );
        check(
            |f| f.kernel = None,
            "nothing to boot: give --kernel or --firmware",
        );
        check(
            |f| f.firmware = Some("fw".into()),
            "--kernel and --firmware cannot be combined (the firmware would load the kernel itself)",
        );
        check(
            |f| f.unmeasured = vec!["initrd".into()],
            "--unmeasured initrd: no initrd image is loaded",
        );
        check(
            |f| f.unmeasured = vec!["bios".into()],
            "unknown image \"bios\" (expected firmware, kernel, initrd or dtb)",
        );
    }

    #[test]
    fn measured_overrides_unmeasured() {
        let mut f = base();
        f.unmeasured = vec!["dtb".into()];
        let file = f.clone();
        assert!(f.validate().unwrap().unmeasured.contains(&ImageKind::Dtb));
        let flags = ConfigFile {
            measured: vec!["dtb".into()],
            ..ConfigFile::default()
        };
        assert!(file.merge(flags).validate().unwrap().unmeasured.is_empty());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        /// Arbitrary TOML-ish text and flag values never panic: they parse and validate or give an error.
        #[test]
        fn parsing_never_panics(
            text in "[a-z_= \"0-9\n\\[\\]-]{0,80}",
            mem in "[0-9]{0,12}[KMGTkmgtXb]{0,3}",
            rpv in "(0x)?[0-9a-fA-FxZ]{0,140}",
            cpus in proptest::option::of(proptest::prelude::any::<u32>()),
            sve in proptest::option::of(proptest::prelude::any::<u16>()),
            bps in proptest::option::of(proptest::prelude::any::<u8>()),
            abi in "(v10|v12|v9|)",
        ) {
            let _ = toml::from_str::<ConfigFile>(&text);
            let f = ConfigFile {
                kernel: Some("k".into()),
                mem: Some(mem),
                rpv: Some(rpv),
                cpus,
                sve_vl: sve,
                num_bps: bps,
                abi: Some(abi),
                ..ConfigFile::default()
            };
            let _ = f.validate();
        }
    }

    #[test]
    fn toml_file_and_merge() {
        let dir = std::env::temp_dir().join(format!("realm-vmm-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("realm.toml");
        std::fs::write(
            &path,
            "kernel = \"Image\"\nmem = \"1G\"\ncpus = 2\nlayout = \"qemu\"\nabi = \"v10\"\nhash = \"sha512\"\nsve-vl = 256\n",
        )
        .unwrap();
        let file = ConfigFile::load(&path).unwrap();
        assert_eq!(file.kernel, Some(dir.join("Image")));
        let flags = ConfigFile {
            cpus: Some(4),
            ..ConfigFile::default()
        };
        let c = file.merge(flags).validate().unwrap();
        assert_eq!(
            (c.mem, c.cpus, c.layout, c.abi),
            (1024 * MIB, 4, Layout::Qemu, Abi::V10)
        );
        assert_eq!(c.params.sve_vl, Some(256));

        std::fs::write(&path, "kernal = \"Image\"\n").unwrap();
        let e = ConfigFile::load(&path).unwrap_err();
        assert!(e.to_string().starts_with("parsing configuration file"));
        let e = ConfigFile::load(&dir.join("missing.toml")).unwrap_err();
        assert!(e.to_string().starts_with("reading configuration file"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
