//! The host backend: `/dev/kvm` on an arm64 CCA host, the realm ABI revision detected from the capabilities
//! with realm-uapi's detector. All system calls are in [`sys`]; this module is safe code.
//!
//! On any other machine (no `/dev/kvm`, an x86_64 host, a kernel without the realm capability) opening it fails
//! with [`BackendError::OpenKvm`] or [`BackendError::NoRealmSupport`], naming the reason.

mod sys;

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::{Arc, Mutex};

use vm_memory::MmapRegion;

use super::{BackendError, Errno, Fd, Ioctl, IoctlArg, KvmBackend, RunArea, UserMemory};
use crate::config::AbiRevision;
use crate::os::advise_hugepages;

/// The KVM device.
pub const DEV_KVM: &str = "/dev/kvm";

/// `/dev/kvm`.
#[derive(Debug)]
pub struct HostKvm {
    kvm_fd: OwnedFd,
    abi: AbiRevision,
}

/// The revision a detected capability means for this VMM.
pub fn abi_of(rev: AbiRevision) -> Result<AbiRevision, BackendError> {
    if crate::config::names::DRIVEN_REVISIONS.contains(&rev) {
        Ok(rev)
    } else {
        Err(BackendError::UnsupportedAbi(rev))
    }
}

impl HostKvm {
    /// Open `/dev/kvm`, check this is an arm64 host with a realm capability, detect the revision and check it
    /// is `wanted` (when given).
    pub fn open(wanted: Option<AbiRevision>) -> Result<Self, BackendError> {
        Self::open_path(DEV_KVM, wanted)
    }

    fn open_path(path: &'static str, wanted: Option<AbiRevision>) -> Result<Self, BackendError> {
        // Every early return below closes the fd by dropping it.
        let kvm_fd =
            sys::open_dev_kvm(path).map_err(|source| BackendError::OpenKvm { path, source })?;
        if std::env::consts::ARCH != "aarch64" {
            return Err(BackendError::NoRealmSupport(format!(
                "this is an {} host; realms need an arm64 host with FEAT_RME and an RMM",
                std::env::consts::ARCH
            )));
        }
        let raw = kvm_fd.as_raw_fd();
        let probe = |cap: u32| match sys::ioctl_val(
            raw,
            realm_uapi::arm64::KVM_CHECK_EXTENSION,
            u64::from(cap),
        ) {
            Ok(v) => i32::try_from(v).unwrap_or(i32::MAX),
            Err(e) => -e.0,
        };
        let detected =
            realm_uapi::detect(probe).map_err(|e| BackendError::NoRealmSupport(e.to_string()))?;
        let abi = abi_of(detected)?;
        if let Some(w) = wanted
            && w != abi
        {
            return Err(BackendError::AbiMismatch {
                wanted: w,
                host: abi,
            });
        }
        Ok(Self { kvm_fd, abi })
    }
}

#[derive(Debug)]
struct HostRun(Mutex<sys::MappedRun>);

impl RunArea for HostRun {
    fn with(&self, f: &mut dyn FnMut(&mut [u8])) {
        let mut m = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(m.bytes());
    }
}

impl KvmBackend for HostKvm {
    fn name(&self) -> &'static str {
        "kvm"
    }

    fn abi(&self) -> AbiRevision {
        self.abi
    }

    fn open_kvm(&self) -> Result<Fd, BackendError> {
        Ok(Fd(self.kvm_fd.as_raw_fd()))
    }

    fn ioctl(&self, fd: Fd, request: u64, arg: IoctlArg<'_>) -> Result<i64, Errno> {
        match arg {
            IoctlArg::Val(v) => sys::ioctl_val(fd.0, request, v),
            IoctlArg::Buf(b) => sys::ioctl_buf(fd.0, request, b),
        }
    }

    fn close(&self, fd: Fd) {
        if fd.0 != self.kvm_fd.as_raw_fd() {
            sys::close(fd.0);
        }
    }

    fn map_memory(&self, size: u64) -> Result<UserMemory, BackendError> {
        let len = usize::try_from(size).map_err(|_| BackendError::Mmap {
            size,
            source: std::io::Error::from(std::io::ErrorKind::OutOfMemory),
        })?;
        let region = MmapRegion::new(len).map_err(|e| BackendError::Mmap {
            size,
            source: std::io::Error::other(e.to_string()),
        })?;
        let _ = advise_hugepages(&region);
        let hva = region.as_ptr().addr() as u64;
        Ok(UserMemory {
            region: Arc::new(region),
            hva,
        })
    }

    fn unmap_memory(&self, _mem: &UserMemory) {}

    fn run_area(&self, vcpu_fd: Fd) -> Result<Box<dyn RunArea>, BackendError> {
        let raw = self.kvm_fd.as_raw_fd();
        let size = sys::ioctl_val(raw, realm_uapi::arm64::KVM_GET_VCPU_MMAP_SIZE, 0)
            .map_err(|e| BackendError::ioctl(Ioctl::GetVcpuMmapSize, e))?;
        let len = usize::try_from(size)
            .map_err(|_| BackendError::ioctl(Ioctl::GetVcpuMmapSize, Errno::EINVAL))?;
        let run = sys::MappedRun::map(vcpu_fd.0, len).map_err(|source| BackendError::Mmap {
            size: len as u64,
            source,
        })?;
        Ok(Box::new(HostRun(Mutex::new(run))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_no_realm_capable_kvm_here() {
        // This test machine is not an arm64 CCA host: whichever check trips first, the message says so.
        match HostKvm::open(None) {
            Ok(h) => {
                #[expect(clippy::print_stderr, reason = "a skipped test says why")]
                {
                    eprintln!("skipped: a realm-capable KVM is present (ABI {})", h.abi());
                }
            }
            Err(e) => {
                let msg = e.to_string();
                assert!(
                    msg.starts_with("no realm-capable KVM on this machine"),
                    "{msg}"
                );
            }
        }
        let e = HostKvm::open_path("/nonexistent/kvm", None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no realm-capable KVM on this machine: cannot open /nonexistent/kvm"
        );
    }

    #[test]
    fn only_rmm_1_0_revisions_are_driven() {
        assert_eq!(
            abi_of(realm_uapi::AbiRevision::V10).unwrap(),
            AbiRevision::V10
        );
        assert_eq!(
            abi_of(realm_uapi::AbiRevision::V12).unwrap(),
            AbiRevision::V12
        );
        let e = abi_of(realm_uapi::AbiRevision::V14).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the host KVM speaks realm ABI v14; this VMM drives v10 and v12 (RMM 1.0) only"
        );
    }
}
