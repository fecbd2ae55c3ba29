//! The backends a plan runs on, behind one ioctl-level trait: request numbers and argument structs from
//! realm-uapi go to the simulated kernel (realm-kvm + realm-rmm in process) or to `/dev/kvm`.
//!
//! The split follows cloud-hypervisor's `Hypervisor`/`Vm`/`Vcpu` layering reduced to what the realm ABI needs
//! (fds and ioctls), and OpenVMM's "optional abilities behind accessors that may say no": only the simulated
//! backend can read the realm's measurements back ([`KvmBackend::measuring`]).
//!
//! Unsafe code is denied here as in the whole crate and allowed only in `host_kvm::sys`.

mod error;
pub mod host_kvm;
pub mod simulated;

use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use vm_memory::{Bytes, MmapRegion, VolatileMemory};

pub use error::{BackendError, Ioctl};
pub use realm_kvm::{Errno, Fd, IoctlArg};

use crate::config::AbiRevision;

/// Which backend.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum BackendKind {
    /// realm-kvm + realm-rmm in this process.
    #[default]
    Simulated,
    /// The host's `/dev/kvm`.
    Kvm,
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Simulated => "simulated",
            Self::Kvm => "kvm",
        })
    }
}

impl std::str::FromStr for BackendKind {
    type Err = BackendError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "simulated" | "sim" => Ok(Self::Simulated),
            "kvm" => Ok(Self::Kvm),
            _ => Err(BackendError::UnknownBackend(s.to_owned())),
        }
    }
}

/// Memory the VMM maps for the guest (the shared alias of a RAM slot, a scratch page for ioctl arguments):
/// real process memory, reachable by the kernel at `hva`.
#[derive(Clone, Debug)]
pub struct UserMemory {
    /// The mapping.
    pub region: Arc<MmapRegion>,
    /// Its host virtual address.
    pub hva: u64,
}

/// A vCPU's `struct kvm_run`, as mapped from the vCPU fd.
pub trait RunArea: fmt::Debug {
    /// Access the bytes.
    fn with(&self, f: &mut dyn FnMut(&mut [u8]));
}

/// The realm's measurements as the RMM holds them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Measured {
    /// The realm's measurement algorithm (serialized `sha256` / `sha512`).
    #[serde(serialize_with = "crate::config::names::serialize_hash")]
    pub hash_algo: crate::config::HashAlgorithm,
    /// The RIM (digest-length bytes).
    pub rim: Vec<u8>,
    /// REM[0..4].
    pub rems: Vec<Vec<u8>>,
}

/// What a RIM extension measured (DEN0137 1.0-rel0 A7.1.1: the RIM is extended by RMI_REALM_CREATE,
/// RMI_DATA_CREATE, RMI_REC_CREATE and RMI_RTT_INIT_RIPAS).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtensionKind {
    /// RMI_REALM_CREATE: the RIM's initial value.
    RealmCreate,
    /// RMI_DATA_CREATE of the granule at `ipa` with `RmiDataMeasureContent` `flags`.
    Data {
        /// IPA.
        ipa: u64,
        /// `RmiDataMeasureContent`.
        flags: u64,
    },
    /// RMI_REC_CREATE of a runnable REC.
    Rec,
    /// RMI_RTT_INIT_RIPAS of one RTT entry `[base, top)`.
    Ripas {
        /// Base IPA.
        base: u64,
        /// Top IPA.
        top: u64,
    },
}

/// One extension of the RIM, for `measure --explain`. Serialized as strings (`kind`, `target`, `flags`,
/// hex `content_hash` and `rim_after`), the JSON `measure --explain --json` prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extension {
    /// What was measured.
    pub kind: ExtensionKind,
    /// The content hash (empty when not measured).
    pub content_hash: Vec<u8>,
    /// The RIM after this extension.
    pub rim_after: Vec<u8>,
}

impl Extension {
    /// `realm_create`, `data`, `rec` or `ripas`.
    pub fn name(&self) -> &'static str {
        match self.kind {
            ExtensionKind::RealmCreate => "realm_create",
            ExtensionKind::Data { .. } => "data",
            ExtensionKind::Rec => "rec",
            ExtensionKind::Ripas { .. } => "ripas",
        }
    }

    /// The IPA (`data`) or range (`ripas`), empty otherwise.
    pub fn target(&self) -> String {
        match self.kind {
            ExtensionKind::Data { ipa, .. } => format!("{ipa:#x}"),
            ExtensionKind::Ripas { base, top } => format!("{base:#x}..{top:#x}"),
            ExtensionKind::RealmCreate | ExtensionKind::Rec => String::new(),
        }
    }

    /// DATA flags, `runnable` for a REC, empty otherwise.
    pub fn flags(&self) -> String {
        match self.kind {
            ExtensionKind::Data { flags, .. } => flags.to_string(),
            ExtensionKind::Rec => "runnable".to_owned(),
            ExtensionKind::RealmCreate | ExtensionKind::Ripas { .. } => String::new(),
        }
    }
}

impl Serialize for Extension {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut st = s.serialize_struct("Extension", 5)?;
        st.serialize_field("kind", self.name())?;
        st.serialize_field("target", &self.target())?;
        st.serialize_field("flags", &self.flags())?;
        st.serialize_field("content_hash", &hex::encode(&self.content_hash))?;
        st.serialize_field("rim_after", &hex::encode(&self.rim_after))?;
        st.end()
    }
}

/// Backends that can read a realm's measurements (the simulated platform: as debugfs + the RMM's own state).
pub trait MeasuringBackend {
    /// The measurements of the realm of VM `vm_fd`, once its RD exists.
    fn measurements(&self, vm_fd: Fd) -> Option<Measured>;
    /// Every RIM extension so far.
    fn measurement_log(&self, vm_fd: Fd) -> Option<Vec<Extension>>;
}

/// A kernel reached through fds and ioctls.
pub trait KvmBackend: fmt::Debug + Send + Sync {
    /// A short name for messages (`simulated`, `kvm`).
    fn name(&self) -> &'static str;
    /// The ABI revision the kernel speaks.
    fn abi(&self) -> AbiRevision;
    /// `open("/dev/kvm")`.
    fn open_kvm(&self) -> Result<Fd, BackendError>;
    /// `ioctl(fd, request, arg)`.
    fn ioctl(&self, fd: Fd, request: u64, arg: IoctlArg<'_>) -> Result<i64, Errno>;
    /// `close(fd)`.
    fn close(&self, fd: Fd);
    /// Map `size` bytes of anonymous memory the kernel can reach by address.
    fn map_memory(&self, size: u64) -> Result<UserMemory, BackendError>;
    /// Unmap memory from [`KvmBackend::map_memory`] (simulated: unregister it).
    fn unmap_memory(&self, mem: &UserMemory);
    /// Place `image` in `mem` at `off` (page aligned) by mapping it there read-only
    /// (`mmap(MAP_FIXED | MAP_PRIVATE)` of its file) instead of copying it, so populate reads it in place.
    /// Only a backend building a realm to measure it, never to run it, does (`Ok(false)`: copy the image).
    fn map_image(
        &self,
        _mem: &UserMemory,
        _off: usize,
        _image: &crate::image::ImageData,
    ) -> Result<bool, BackendError> {
        Ok(false)
    }
    /// Read `buf.len()` bytes at `off` of memory from [`KvmBackend::map_memory`], as the VMM process sees them
    /// (a page the realm shares through the unprotected alias included). `false` if out of range.
    fn read_memory(&self, mem: &UserMemory, off: u64, buf: &mut [u8]) -> bool {
        usize::try_from(off).is_ok_and(|off| {
            mem.region
                .get_slice(off, buf.len())
                .and_then(|s| s.read_slice(buf, 0))
                .is_ok()
        })
    }
    /// Write `data` at `off` of memory from [`KvmBackend::map_memory`]; `false` if out of range.
    fn write_memory(&self, mem: &UserMemory, off: u64, data: &[u8]) -> bool {
        usize::try_from(off).is_ok_and(|off| {
            mem.region
                .get_slice(off, data.len())
                .and_then(|s| s.write_slice(data, 0))
                .is_ok()
        })
    }
    /// The vCPU's `struct kvm_run`.
    fn run_area(&self, vcpu_fd: Fd) -> Result<Box<dyn RunArea>, BackendError>;
    /// Measurement read-back, when the backend can.
    fn measuring(&self) -> Option<&dyn MeasuringBackend> {
        None
    }
    /// Make a vCPU blocked in `KVM_RUN` return (-EINTR), as a signal to its thread would. The host backend
    /// does not install a signal handler: there a vCPU returns at its next exit.
    fn kick(&self, _vcpu_fd: Fd) {}
    /// The platform, when the backend knows it before building (the simulated platform), so what it cannot
    /// host is refused up front; `None` when only the kernel can tell (the host, which refuses with an errno).
    fn platform(&self) -> Option<&realm_platform::Platform> {
        None
    }
    /// Whether entering a vCPU executes guest code (false for the simulated platform's default CPU model,
    /// which has no AArch64 execution).
    fn runs_guest_code(&self) -> bool {
        true
    }
    /// Instructions the realm's CPUs have retired so far, when the backend can count them (the simulated
    /// platform's realm-a64 CPUs).
    fn instructions_retired(&self) -> Option<u64> {
        None
    }
}

/// What executes a simulated realm's RECs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CpuChoice {
    /// No code runs: `launch` stops after activation.
    #[default]
    Idle,
    /// The `realm-a64` interpreter, with the platform's ID registers cut to what it implements.
    A64,
}

/// Open a backend of `kind` speaking `abi`; a simulated one is the machine `platform` describes, its RECs run
/// by `cpu`.
pub fn open(
    kind: BackendKind,
    abi: AbiRevision,
    platform: &realm_platform::Platform,
    cpu: CpuChoice,
) -> Result<Box<dyn KvmBackend>, BackendError> {
    match kind {
        BackendKind::Simulated => Ok(Box::new(match cpu {
            CpuChoice::Idle => simulated::SimulatedBackend::for_platform(abi, platform),
            CpuChoice::A64 => simulated::SimulatedBackend::with_a64(abi, platform),
        })),
        BackendKind::Kvm => Ok(Box::new(host_kvm::HostKvm::open(Some(abi))?)),
    }
}
