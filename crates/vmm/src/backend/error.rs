//! What a backend reports when a realm cannot be built or run: one [`BackendError`] variant per failing
//! operation, and for ioctls the [`Ioctl`] that failed with its identifying arguments plus the errno.
#![forbid(unsafe_code)]

use std::fmt;

use realm_kvm::Errno;

use crate::config::{AbiRevision, HashAlgorithm};
use crate::layout::IpaRange;
use crate::plan::VcpuFeature;

/// An ioctl (or the system call standing in for one) the VMM issued, with the arguments that identify it.
/// Its `Display` is the operation as a message names it (`KVM_ARM_RMI_POPULATE 0x80000000..0x80200000`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ioctl {
    /// `open("/dev/kvm")` on the simulated kernel.
    OpenKvm,
    /// `KVM_CREATE_VM(KVM_VM_TYPE_ARM_REALM | ipa_bits)`.
    CreateVm {
        /// IPA size asked for.
        ipa_bits: u8,
    },
    /// An ioctl that returns an fd returned a value that is not one.
    ReturnedFd,
    /// `KVM_CREATE_GUEST_MEMFD`.
    CreateGuestMemfd {
        /// Bytes.
        size: u64,
    },
    /// `KVM_SET_USER_MEMORY_REGION2`.
    SetUserMemoryRegion2 {
        /// Memslot.
        slot: u32,
        /// Its IPA range.
        range: IpaRange,
    },
    /// `KVM_SET_MEMORY_ATTRIBUTES(PRIVATE)` over a new RAM slot.
    SetMemoryPrivate {
        /// The range.
        range: IpaRange,
    },
    /// `KVM_SET_MEMORY_ATTRIBUTES` converting memory on the realm's request (a RIPAS change exit).
    ConvertMemory {
        /// Guest physical address.
        gpa: u64,
        /// Bytes.
        size: u64,
    },
    /// `KVM_CREATE_VCPU`.
    CreateVcpu {
        /// vCPU id.
        vcpu: u32,
    },
    /// `KVM_ARM_PREFERRED_TARGET`.
    PreferredTarget,
    /// `KVM_ARM_VCPU_INIT`.
    VcpuInit {
        /// vCPU id.
        vcpu: u32,
        /// Features asked for.
        features: Vec<VcpuFeature>,
    },
    /// `KVM_SET_ONE_REG` of a named register.
    SetOneReg {
        /// Register name.
        reg: &'static str,
        /// Value written.
        value: u64,
        /// vCPU id.
        vcpu: u32,
    },
    /// `KVM_GET_ONE_REG` of a named register.
    GetOneReg {
        /// Register name.
        reg: &'static str,
        /// vCPU id.
        vcpu: u32,
    },
    /// `KVM_SET_ONE_REG(KVM_REG_ARM64_SVE_VLS)`.
    SetSveVls {
        /// vCPU id.
        vcpu: u32,
        /// Maximum vector length in bits.
        vl_bits: u16,
    },
    /// `KVM_ARM_VCPU_FINALIZE(KVM_ARM_VCPU_SVE)`.
    FinalizeSve {
        /// vCPU id.
        vcpu: u32,
    },
    /// v10 `KVM_ARM_VCPU_FINALIZE(KVM_ARM_VCPU_REC)`.
    FinalizeRec {
        /// vCPU id.
        vcpu: u32,
    },
    /// `KVM_CREATE_DEVICE(KVM_DEV_TYPE_ARM_VGIC_V3)`.
    CreateGic,
    /// `KVM_SET_DEVICE_ATTR(KVM_DEV_ARM_VGIC_GRP_ADDR)`.
    SetGicAddress {
        /// `distributor` or `redistributors`.
        region: &'static str,
        /// Base IPA.
        base: u64,
    },
    /// `KVM_SET_DEVICE_ATTR(KVM_DEV_ARM_VGIC_CTRL_INIT)`.
    InitGic,
    /// `KVM_IRQ_LINE` (a device's interrupt level into the in-kernel GIC).
    IrqLine {
        /// `kvm_irq_level.irq`.
        irq: u32,
        /// The level.
        level: bool,
    },
    /// v10 `KVM_CAP_ARM_RME_CONFIG_REALM(ARM_RME_CONFIG_HASH_ALGO)`.
    RmeConfigHash {
        /// Algorithm.
        algo: HashAlgorithm,
    },
    /// v10 `KVM_CAP_ARM_RME_CONFIG_REALM(ARM_RME_CONFIG_RPV)`.
    RmeConfigRpv,
    /// v10 `KVM_CAP_ARM_RME_CREATE_REALM`.
    RmeCreateRealm,
    /// v10 `KVM_CAP_ARM_RME_INIT_RIPAS_REALM`.
    RmeInitRipas {
        /// The range.
        range: IpaRange,
    },
    /// v10 `KVM_CAP_ARM_RME_POPULATE_REALM`.
    RmePopulate {
        /// The range.
        range: IpaRange,
    },
    /// v10 `KVM_CAP_ARM_RME_ACTIVATE_REALM`.
    RmeActivate,
    /// v12 `KVM_ARM_RMI_POPULATE`.
    RmiPopulate {
        /// The range.
        range: IpaRange,
    },
    /// A populate of a range no RAM slot holds (refused by the VMM before any ioctl).
    PopulateOutsideRam {
        /// The range.
        range: IpaRange,
    },
    /// The first `KVM_RUN` (`immediate_exit = 1`), which activates a v12 realm.
    FirstRun {
        /// vCPU id.
        vcpu: u32,
    },
    /// `KVM_RUN`.
    Run,
    /// v10 `KVM_ARM_VCPU_RMM_PSCI_COMPLETE` / v12 `KVM_ARM_VCPU_RMI_PSCI_COMPLETE`.
    PsciComplete {
        /// Target MPIDR.
        target_mpidr: u64,
        /// PSCI status returned.
        status: i32,
    },
    /// `mmap` of a vCPU fd (its `struct kvm_run`).
    MapRun,
    /// `KVM_GET_VCPU_MMAP_SIZE`.
    GetVcpuMmapSize,
}

impl fmt::Display for Ioctl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OpenKvm => f.write_str("open /dev/kvm"),
            Self::CreateVm { ipa_bits } => write!(f, "KVM_CREATE_VM(realm, {ipa_bits}-bit IPA)"),
            Self::ReturnedFd => f.write_str("a returned fd"),
            Self::CreateGuestMemfd { size } => write!(f, "KVM_CREATE_GUEST_MEMFD ({size} bytes)"),
            Self::SetUserMemoryRegion2 { slot, range } => {
                write!(f, "KVM_SET_USER_MEMORY_REGION2 slot {slot} {range}")
            }
            Self::SetMemoryPrivate { range } => {
                write!(f, "KVM_SET_MEMORY_ATTRIBUTES(PRIVATE) {range}")
            }
            Self::ConvertMemory { gpa, size } => {
                write!(f, "KVM_SET_MEMORY_ATTRIBUTES {gpa:#x}+{size:#x}")
            }
            Self::CreateVcpu { vcpu } => write!(f, "KVM_CREATE_VCPU {vcpu}"),
            Self::PreferredTarget => f.write_str("KVM_ARM_PREFERRED_TARGET"),
            Self::VcpuInit { vcpu, features } => {
                write!(f, "KVM_ARM_VCPU_INIT of vCPU {vcpu} with {features:?}")
            }
            Self::SetOneReg { reg, value, vcpu } => {
                write!(f, "KVM_SET_ONE_REG {reg} = {value:#x} on vCPU {vcpu}")
            }
            Self::GetOneReg { reg, vcpu } => write!(f, "KVM_GET_ONE_REG {reg} on vCPU {vcpu}"),
            Self::SetSveVls { vcpu, vl_bits } => {
                write!(
                    f,
                    "KVM_SET_ONE_REG SVE_VLS (up to {vl_bits} bits) on vCPU {vcpu}"
                )
            }
            Self::FinalizeSve { vcpu } => write!(f, "KVM_ARM_VCPU_FINALIZE(SVE) on vCPU {vcpu}"),
            Self::FinalizeRec { vcpu } => {
                write!(f, "KVM_ARM_VCPU_FINALIZE(KVM_ARM_VCPU_REC) on vCPU {vcpu}")
            }
            Self::CreateGic => f.write_str("KVM_CREATE_DEVICE(VGIC_V3)"),
            Self::SetGicAddress { region, base } => {
                write!(f, "KVM_SET_DEVICE_ATTR GICv3 {region} at {base:#x}")
            }
            Self::InitGic => f.write_str("KVM_DEV_ARM_VGIC_CTRL_INIT"),
            Self::IrqLine { irq, level } => {
                write!(f, "KVM_IRQ_LINE irq {irq:#x} level {}", u8::from(*level))
            }
            Self::RmeConfigHash { algo } => {
                write!(
                    f,
                    "KVM_CAP_ARM_RME_CONFIG_REALM(HASH_ALGO {})",
                    crate::config::hash_name(*algo)
                )
            }
            Self::RmeConfigRpv => f.write_str("KVM_CAP_ARM_RME_CONFIG_REALM(RPV)"),
            Self::RmeCreateRealm => f.write_str("KVM_CAP_ARM_RME_CREATE_REALM"),
            Self::RmeInitRipas { range } => write!(f, "KVM_CAP_ARM_RME_INIT_RIPAS_REALM {range}"),
            Self::RmePopulate { range } => write!(f, "KVM_CAP_ARM_RME_POPULATE_REALM {range}"),
            Self::RmeActivate => f.write_str("KVM_CAP_ARM_RME_ACTIVATE_REALM"),
            Self::RmiPopulate { range } => write!(f, "KVM_ARM_RMI_POPULATE {range}"),
            Self::PopulateOutsideRam { range } => {
                write!(f, "populate {range}: not inside a RAM slot")
            }
            Self::FirstRun { vcpu } => {
                write!(f, "first KVM_RUN of vCPU {vcpu} (realm activation)")
            }
            Self::Run => f.write_str("KVM_RUN"),
            Self::PsciComplete {
                target_mpidr,
                status,
            } => write!(
                f,
                "PSCI_COMPLETE(target {target_mpidr:#x}, status {status})"
            ),
            Self::MapRun => f.write_str("mmap of the vCPU fd"),
            Self::GetVcpuMmapSize => f.write_str("KVM_GET_VCPU_MMAP_SIZE"),
        }
    }
}

/// A backend failure: one variant per failing operation.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// Unknown `--backend`.
    #[error("unknown backend {0:?} (expected simulated or kvm)")]
    UnknownBackend(String),
    /// `/dev/kvm` could not be opened.
    #[error("no realm-capable KVM on this machine: cannot open {path}")]
    OpenKvm {
        /// The device.
        path: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The host KVM has no realm capability.
    #[error("no realm-capable KVM on this machine: {0}")]
    NoRealmSupport(String),
    /// The host speaks another revision.
    #[error("the host KVM speaks realm ABI {host}, not {wanted} (use --abi {host})")]
    AbiMismatch {
        /// Asked for.
        wanted: AbiRevision,
        /// Spoken.
        host: AbiRevision,
    },
    /// A host ABI revision this VMM cannot drive.
    #[error("the host KVM speaks realm ABI {0}; this VMM drives v10 and v12 (RMM 1.0) only")]
    UnsupportedAbi(realm_uapi::AbiRevision),
    /// The configuration is beyond what the platform can host (checked before the first ioctl).
    #[error(transparent)]
    Limit(#[from] crate::limits::LimitError),
    /// More breakpoints or watchpoints than the kernel offers (its `ID_AA64DFR0_EL1` reset value).
    #[error("{asked} {what} asked for; the {backend} platform supports at most {max}")]
    DebugResources {
        /// `breakpoints` or `watchpoints`.
        what: &'static str,
        /// Asked for.
        asked: u8,
        /// The most the kernel offers.
        max: u64,
        /// Backend name.
        backend: &'static str,
    },
    /// Mapping memory failed.
    #[error("mapping {size} bytes of guest memory")]
    Mmap {
        /// Bytes.
        size: u64,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An ioctl failed.
    #[error("{ioctl}")]
    Ioctl {
        /// The operation and its arguments.
        ioctl: Ioctl,
        /// The errno.
        #[source]
        source: Errno,
    },
    /// A populate ioctl returned without progress.
    #[error("populate {range} made no progress")]
    NoProgress {
        /// The chunk asked for.
        range: IpaRange,
    },
    /// Writing to guest memory failed.
    #[error("loading the {what} into guest memory")]
    Load {
        /// Which image or argument.
        what: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl BackendError {
    /// `ioctl` failed with `source`.
    pub fn ioctl(ioctl: Ioctl, source: Errno) -> Self {
        Self::Ioctl { ioctl, source }
    }

    /// Whether the failure is the host or the kernel refusing what the configuration asks for (no realm-capable
    /// KVM, another ABI, an argument it rejects) rather than a failure of the VMM or the platform.
    pub fn is_refusal(&self) -> bool {
        match self {
            Self::OpenKvm { .. }
            | Self::NoRealmSupport(_)
            | Self::AbiMismatch { .. }
            | Self::UnsupportedAbi(_)
            | Self::DebugResources { .. }
            | Self::Limit(_) => true,
            Self::Ioctl { source, .. } => {
                matches!(*source, Errno::EINVAL | Errno::ENOENT | Errno::EOPNOTSUPP)
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_ioctl_and_its_arguments() {
        let range = IpaRange {
            base: 0x8000_0000,
            size: 0x20_0000,
        };
        for (ioctl, text) in [
            (
                Ioctl::RmiPopulate { range },
                "KVM_ARM_RMI_POPULATE 0x80000000..0x80200000",
            ),
            (
                Ioctl::CreateVm { ipa_bits: 49 },
                "KVM_CREATE_VM(realm, 49-bit IPA)",
            ),
            (
                Ioctl::SetOneReg {
                    reg: "PC",
                    value: 0x8000_0000,
                    vcpu: 1,
                },
                "KVM_SET_ONE_REG PC = 0x80000000 on vCPU 1",
            ),
            (
                Ioctl::ConvertMemory {
                    gpa: 0x8800_0000,
                    size: 0x1000,
                },
                "KVM_SET_MEMORY_ATTRIBUTES 0x88000000+0x1000",
            ),
        ] {
            let e = BackendError::ioctl(ioctl, Errno::EINVAL);
            assert_eq!(e.to_string(), text);
            assert!(e.is_refusal(), "{text}: EINVAL is a refusal");
        }
        let e = BackendError::ioctl(Ioctl::Run, Errno::EFAULT);
        assert!(!e.is_refusal(), "EFAULT is the platform failing");
        assert_eq!(
            BackendError::NoProgress { range }.to_string(),
            "populate 0x80000000..0x80200000 made no progress"
        );
    }
}
