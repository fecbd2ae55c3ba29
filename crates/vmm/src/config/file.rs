//! The configuration as the user writes it — a TOML file, flags laid over it — and its validation into a
//! [`RealmConfig`], in the order a reader of the flags would check it.
#![forbid(unsafe_code)]

use std::collections::BTreeSet;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use realm_platform::PlatformOverrides;
use serde::Deserialize;

use super::{
    AbiRevision, ConfigError, DEFAULT_ABI, DEFAULT_MEM, HashAlgorithm, ImageKind, Layout,
    MAX_CONFIG_FILE, MAX_CPUS, RealmConfig, RealmParams, Rpv, parse_abi, parse_hash,
};
use crate::image::ImageSource;
use crate::size::{MIB, parse_size};

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
///
/// [platform]            # the simulated machine (default: max), see realm_platform::PlatformOverrides
/// name = "qemu-max"
/// wps = 8
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
    /// The simulated platform: a profile and overrides (`[platform]`).
    #[serde(default)]
    pub platform: PlatformOverrides,
}

impl ConfigFile {
    /// Load a TOML file of at most [`MAX_CONFIG_FILE`] bytes (a pipe or device is read up to that bound);
    /// relative image paths are taken relative to the file's directory.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = read_bounded(path)?;
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
            if p.is_relative() && p.as_os_str() != crate::initramfs::BUILTIN_HELLO {
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
        self.platform = self.platform.merge(over.platform);
        self
    }

    /// Check every value and combination, in the order a reader of the flags would.
    pub fn validate(self) -> Result<RealmConfig, ConfigError> {
        let abi = self
            .abi
            .as_deref()
            .map(parse_abi)
            .transpose()?
            .unwrap_or(DEFAULT_ABI);
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
        let platform = self.platform.resolve()?;
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
            initrd: self.initrd.map(crate::initramfs::initrd_source),
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
            platform,
        })
    }
}

fn validate_params(f: &ConfigFile, abi: AbiRevision) -> Result<RealmParams, ConfigError> {
    let hash = f.hash.as_deref().map(parse_hash).transpose()?;
    let rpv = f.rpv.as_deref().map(Rpv::from_hex).transpose()?;
    if abi == AbiRevision::V12 {
        if hash.is_some_and(|h| h != HashAlgorithm::Sha256) {
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

/// The text of `path`, refused when longer than [`MAX_CONFIG_FILE`] (a regular file by its length, anything
/// else after reading one byte more than the bound) or not UTF-8.
fn read_bounded(path: &Path) -> Result<String, ConfigError> {
    let io = |source| ConfigError::ReadFile {
        path: path.to_owned(),
        source,
    };
    let too_large = || ConfigError::FileTooLarge {
        path: path.to_owned(),
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if meta.is_file() && meta.len() > MAX_CONFIG_FILE {
        return Err(too_large());
    }
    // One allocation of the most that will be read (untouched capacity costs no memory): no doubling copies.
    let cap = if meta.is_file() {
        meta.len()
    } else {
        MAX_CONFIG_FILE + 1
    };
    let mut bytes = Vec::with_capacity(usize::try_from(cap).unwrap_or(0));
    file.take(MAX_CONFIG_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_CONFIG_FILE {
        return Err(too_large());
    }
    String::from_utf8(bytes).map_err(|_| ConfigError::NotUtf8 {
        path: path.to_owned(),
    })
}
