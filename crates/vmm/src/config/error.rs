//! Why a configuration cannot be loaded or validated: one variant per check, naming the value and the limit.
#![forbid(unsafe_code)]

use std::path::PathBuf;

use super::{AbiRevision, ImageKind, MAX_CONFIG_FILE, MAX_CPUS};
use crate::size::{ByteSize, SizeError};

/// A configuration that failed to load or validate.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The `[platform]` table or `--platform*` flags name no usable platform.
    #[error(transparent)]
    Platform(#[from] realm_platform::PlatformError),
    /// The TOML file could not be read.
    #[error("reading configuration file {path}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The TOML file is larger than [`MAX_CONFIG_FILE`].
    #[error(
        "configuration file {path} is larger than {} (the most a configuration file may be)",
        ByteSize(MAX_CONFIG_FILE)
    )]
    FileTooLarge {
        /// The file.
        path: PathBuf,
    },
    /// The TOML file is not UTF-8.
    #[error("configuration file {path} is not UTF-8 text")]
    NotUtf8 {
        /// The file.
        path: PathBuf,
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
        abi: AbiRevision,
    },
    /// A non-zero `--rpv` with an ABI that cannot configure it.
    #[error(
        "ABI {abi} cannot configure a personalization value: its realms always have a zero RPV (kvm-realm-abi §1.1); use --abi v10 or drop --rpv"
    )]
    RpvNotConfigurable {
        /// The revision.
        abi: AbiRevision,
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
