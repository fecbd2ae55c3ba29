//! The host kernel's realm layer: KVM's realm user ABI (v10, v12) over the RMM, with Linux's semantics.
//!
//! A VMM talks to [`Kernel`] exactly as to `/dev/kvm`: file descriptors and ioctls, one byte-level entry
//! point ([`Kernel::ioctl`]) decoding request numbers and argument bytes as Linux does, with Linux's errno.
//! The kernel reaches the RMM only through SMC-shaped RMI calls ([`Rmi`]) and physical memory only through
//! [`HostMemory`], issuing the calls in the order and chunking of the Linux CCA series of the configured
//! revision, because the realm's measurement (RIM) depends on it:
//! - v10: `arch/arm64/kvm/rme.c` of the v10 posting (Aug 2025, `KVM_CAP_ARM_RME` actions, `KVM_ARM_VCPU_REC`);
//! - v12: `arch/arm64/kvm/rmi.c` of the v12 posting (`<20251217101125.91098-N-steven.price@arm.com>`,
//!   RMM v1.0, implicit realm creation and activation, `KVM_ARM_RMI_POPULATE`).
//!
//! Every behaviour's doc comment names the revision and the kernel file/patch it follows; docs/kvm-behaviour.md
//! lists them. Not modelled: the vGIC beyond its existence (`irqchip_in_kernel`), timers, dirty logging,
//! SVE vector lengths, stage-2 faults of the shared alias (no RMI effect before activation).
#![forbid(unsafe_code)]

mod abi;
mod device;
mod errno;
mod fd;
mod gmem;
mod memslot;
mod pages;
mod rmi;
mod rmi_cmds;
mod run;
mod system;
mod user_memory;
mod vcpu;
mod vgic;
mod vm;

use std::sync::{Arc, Mutex};

pub use errno::Errno;
pub use pages::{PAGE_SIZE, PageAllocator};
pub use rmi::KvmRealmState;
pub use run::KvmRun;
pub use user_memory::UserMemory;
pub use vgic::{GicExit, IrqStats};

use realm_rmi::host::{HostMemory, Rmi};

/// The user-ABI items this kernel decodes that `realm_uapi` does not define (kernel names); everything else
/// is `realm_uapi`'s.
pub mod uapi {
    pub use crate::abi::*;
}

/// The ABI revision the simulated kernel speaks (`realm_uapi::AbiRevision`). v10 and v12 are implemented;
/// a kernel configured for v13/v14 boots without realm support (no RMM is probed).
pub use realm_uapi::AbiRevision;

/// Configuration of the simulated host kernel.
#[derive(Clone, Debug)]
pub struct KernelConfig {
    /// The realm uAPI revision.
    pub abi: AbiRevision,
    /// `get_kvm_ipa_limit()`: the host's stage-2 IPA limit (from ID_AA64MMFR0_EL1.PARange); 48 by default.
    pub host_ipa_limit: u32,
    /// `KVM_CAP_MAX_VCPUS` / `KVM_CAP_MAX_VCPU_ID`.
    pub max_vcpus: u32,
    /// The host's largest SVE vector length in bits (`kvm_sve_max_vl`); 0: no SVE, `KVM_ARM_VCPU_SVE` is
    /// refused.
    pub sve_max_vl: u32,
    /// `kvm_lpa2_is_enabled()`: the host kernel runs with FEAT_LPA2 (52-bit stage-2 output), so every
    /// realm is created with `RMI_REALM_FLAGS_LPA2` (v10 `rme.c` / v12 `rmi.c` `realm_create_rd`).
    pub lpa2: bool,
    /// `CNTFRQ_EL0` of the host's generic counter in Hz: the vCPU timers' deadlines (a vCPU waiting in WFI
    /// sleeps until its timer's compare value).
    pub cntfrq: u64,
}

impl KernelConfig {
    /// Defaults for `abi`: 48-bit host IPA limit, 512 vCPUs, no SVE, no LPA2.
    pub fn new(abi: AbiRevision) -> Self {
        Self {
            abi,
            host_ipa_limit: 48,
            max_vcpus: 512,
            sve_max_vl: 0,
            lpa2: false,
            cntfrq: 62_500_000,
        }
    }

    /// The kernel of a host described by `platform`: its IPA limit (`get_kvm_ipa_limit()` from PARange and
    /// LPA2), vCPU limit, SVE vector lengths and LPA2 (a kernel built with LPA2 support uses it wherever the
    /// hardware has it). (PMU counters and debug resources of realm vCPUs come from
    /// the RMM's `RMI_FEATURES`, as in v10/v12.)
    pub fn for_platform(abi: AbiRevision, platform: &realm_platform::Platform) -> Self {
        Self {
            abi,
            host_ipa_limit: platform.kvm_ipa_limit(),
            max_vcpus: platform.max_vcpus,
            sve_max_vl: u32::from(platform.sve_max_vl),
            lpa2: platform.lpa2,
            cntfrq: platform.cntfrq,
        }
    }
}

/// A file descriptor of the simulated process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fd(pub i32);

/// An ioctl's third argument.
#[derive(Debug)]
pub enum IoctlArg<'a> {
    /// A plain value (`KVM_CREATE_VM`'s type, `KVM_CHECK_EXTENSION`'s cap), or for a struct ioctl the user
    /// address of the struct (read and written back through [`Kernel::user_memory`]).
    Val(u64),
    /// For a struct ioctl: the struct's bytes, in place (written back for `_IOR`/`_IOWR`). A buffer
    /// shorter than the struct fails with `EFAULT`, as `copy_from_user` of a short mapping would. For a
    /// value ioctl: the value, little-endian in the first up to 8 bytes.
    Buf(&'a mut [u8]),
}

/// A hasher for page addresses and page numbers (one multiply: the keys are distinct and regular, and a
/// populate inserts one per 4 KiB page, where SipHash cost more than the insert itself).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct PaHasher(u64);

impl std::hash::Hasher for PaHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u64(&mut self, v: u64) {
        // hashbrown takes its bucket from the low bits and its tag from the top 7: fold the product so
        // both depend on every bit of the key (page addresses have 12 zero low bits, page numbers none).
        let h = v.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = h ^ (h >> 29);
    }
}

/// A set of physical addresses of pages.
pub(crate) type PaSet = pages::PageSet;

/// State shared by every object of one simulated kernel.
pub(crate) struct Shared {
    pub(crate) rmi: Arc<dyn Rmi>,
    pub(crate) mem: Arc<dyn HostMemory>,
    pub(crate) cfg: KernelConfig,
    pub(crate) pages: PageAllocator,
    pub(crate) user: UserMemory,
    /// `rmm_feat_reg0`, or `None` when `kvm_init_rmi()` found no usable RMM (static key off).
    pub(crate) rmm_feat_reg0: Option<u64>,
    /// The realm VMID allocator (v12 23/46: first free bit).
    pub(crate) vmids: Mutex<std::collections::BTreeSet<u16>>,
    /// Granules this kernel delegated and has not undelegated (never returned to the page allocator).
    pub(crate) delegated: Mutex<PaSet>,
    /// [`Kernel::power_off`] was called: objects released from now on are not torn down through RMI.
    pub(crate) off: std::sync::atomic::AtomicBool,
    /// The interrupt paths of the VMs destroyed so far, in order (each by vCPU index).
    pub(crate) irq_history: Mutex<Vec<Vec<IrqStats>>>,
}

impl Shared {
    /// Whether the machine is being switched off ([`Kernel::power_off`]).
    pub(crate) fn powered_off(&self) -> bool {
        self.off.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("cfg", &self.cfg)
            .field("rmm_feat_reg0", &self.rmm_feat_reg0)
            .finish()
    }
}

/// The simulated host kernel: `/dev/kvm` and the fds it hands out.
#[derive(Debug)]
pub struct Kernel {
    shared: Arc<Shared>,
    fds: Mutex<fd::FdTable>,
}

impl Kernel {
    /// Boot the kernel: `kvm_init_rmi()` probes the RMM with `RMI_VERSION` (asking for 1.0) and
    /// `RMI_FEATURES(0)`; if either fails, realms are unavailable (as v10 `kvm_init_rme` / v12
    /// `kvm_init_rmi`), and `KVM_CHECK_EXTENSION(KVM_CAP_ARM_RME/RMI)` answers 0.
    pub fn new(rmi: Arc<dyn Rmi>, mem: Arc<dyn HostMemory>, cfg: KernelConfig) -> Self {
        let rmm_feat_reg0 = match cfg.abi {
            AbiRevision::V10 | AbiRevision::V12 => system::init_rmi(rmi.as_ref()),
            AbiRevision::V13 | AbiRevision::V14 => None,
        };
        let pages = PageAllocator::new(mem.dram());
        let shared = Arc::new(Shared {
            rmi,
            mem,
            cfg,
            pages,
            user: UserMemory::default(),
            rmm_feat_reg0,
            vmids: Mutex::default(),
            delegated: Mutex::default(),
            off: std::sync::atomic::AtomicBool::new(false),
            irq_history: Mutex::default(),
        });
        shared.user.attach(Arc::downgrade(&shared));
        Self {
            shared,
            fds: Mutex::new(fd::FdTable::default()),
        }
    }

    /// The machine is switched off, kernel and RMM together (the measuring platform, once it has read the
    /// measurements): VMs and guest_memfds released from now on skip the realm teardown (`kvm_destroy_vm`'s
    /// RTT, REC, DATA and RD destruction, a page at a time) and only free their memory, since neither the
    /// RMM nor its granules outlive them. Not something Linux does: a host that stays up must tear down.
    pub fn power_off(&self) {
        self.shared
            .off
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// The configured ABI revision.
    pub fn abi(&self) -> AbiRevision {
        self.shared.cfg.abi
    }

    /// The VMM's process memory: register `MmapRegion`s here; ioctl structs refer to them by address.
    pub fn user_memory(&self) -> &UserMemory {
        &self.shared.user
    }

    /// The kernel's page allocator (pages in use, leaked pages), for leak checks.
    pub fn page_allocator(&self) -> &PageAllocator {
        &self.shared.pages
    }

    /// `open("/dev/kvm")`.
    pub fn open_kvm(&self) -> Result<Fd, Errno> {
        self.fd_table().install(fd::File::Kvm)
    }

    /// `close(fd)`. Objects die when their last reference goes: a VM when its fd, all its vCPU fds and
    /// guest_memfds are closed (as in Linux, where those files pin the `struct kvm`).
    pub fn close(&self, fd: Fd) -> Result<(), Errno> {
        let file = self.fd_table().remove(fd)?;
        drop(file);
        Ok(())
    }

    /// `ioctl(fd, request, arg)`: the byte-level entry point. Returns the ioctl's non-negative result or
    /// the errno. `request` is truncated to 32 bits as the syscall's `unsigned int cmd` is.
    pub fn ioctl(&self, fd: Fd, request: u64, arg: IoctlArg<'_>) -> Result<i64, Errno> {
        let file = self.fd_table().get(fd)?;
        // The syscall takes `unsigned int cmd`: the upper half of `request` is dropped.
        let cmd = u64::from(realm_uapi::ioctl::cmd(request));
        let mut arg = fd::Arg::new(arg, &self.shared.user, &self.fds);
        let name = realm_uapi::catalog::request_name(cmd).unwrap_or("?");
        let _span =
            tracing::debug_span!(target: "realm_kvm", "ioctl", fd = fd.0, req = name).entered();
        let res = match &file {
            fd::File::Kvm => system::ioctl(&self.shared, cmd, &mut arg),
            fd::File::Vm(vm) => vm::ioctl(vm, cmd, &mut arg),
            fd::File::Vcpu(vcpu) => vcpu::ioctl(vcpu, cmd, &mut arg),
            fd::File::Gmem(_) => Err(Errno::ENOTTY),
            fd::File::Device(dev) => device::device_ioctl(dev, cmd, &mut arg),
        };
        let res = match res {
            Ok(fd::Outcome::Value(v)) => Ok(v),
            Ok(fd::Outcome::NewFile(f)) => self.fd_table().install(f).map(|fd| i64::from(fd.0)),
            Err(e) => Err(e),
        };
        match &res {
            Ok(v) => {
                tracing::debug!(target: "realm_kvm", req = name, cmd = format_args!("{cmd:#x}"), ret = v, "ioctl")
            }
            Err(e) => {
                tracing::debug!(target: "realm_kvm", req = name, cmd = format_args!("{cmd:#x}"), errno = %e, "ioctl failed")
            }
        }
        res
    }

    /// The vCPU's `struct kvm_run` (what mmap of the vCPU fd gives): a shared, byte-exact buffer.
    pub fn kvm_run(&self, vcpu_fd: Fd) -> Result<KvmRun, Errno> {
        match self.fd_table().get(vcpu_fd)? {
            fd::File::Vcpu(v) => Ok(v.vcpu.run.clone()),
            _ => Err(Errno::ENODEV),
        }
    }

    /// Debug accessor (as debugfs would give): the RD's physical address of the realm VM `vm_fd`, once
    /// created, so tools can read `Rmm::measurements(rd)`.
    pub fn debug_realm_rd(&self, vm_fd: Fd) -> Option<u64> {
        match self.fd_table().get(vm_fd).ok()? {
            fd::File::Vm(vm) => vm.realm_rd(),
            _ => None,
        }
    }

    /// Interrupt a vCPU blocked in `KVM_RUN` (as a signal would): its `KVM_RUN` returns -EINTR.
    pub fn kick(&self, vcpu_fd: Fd) -> Result<(), Errno> {
        match self.fd_table().get(vcpu_fd)? {
            fd::File::Vcpu(v) => {
                lock(&v.vcpu.arch).kicked = true;
                v.vcpu.wake.notify_all();
                Ok(())
            }
            _ => Err(Errno::ENOTTY),
        }
    }

    /// Debug accessor (as the kvm tracepoints would give): the interrupt path of every vCPU of `vm_fd` so
    /// far, by vCPU index (`None` for a bad fd).
    pub fn debug_irq_stats(&self, vm_fd: Fd) -> Option<Vec<IrqStats>> {
        match self.fd_table().get(vm_fd).ok()? {
            fd::File::Vm(vm) => Some(vcpu::irq::stats(&vm)),
            _ => None,
        }
    }

    /// Debug accessor: the interrupt paths of the VMs destroyed so far, oldest first, each by vCPU index.
    pub fn debug_irq_history(&self) -> Vec<Vec<IrqStats>> {
        lock(&self.shared.irq_history).clone()
    }

    /// Debug accessor: the realm state of `vm_fd` (`None` for a non-realm VM or a bad fd).
    pub fn debug_realm_state(&self, vm_fd: Fd) -> Option<KvmRealmState> {
        match self.fd_table().get(vm_fd).ok()? {
            fd::File::Vm(vm) => vm.realm_state(),
            _ => None,
        }
    }

    fn fd_table(&self) -> std::sync::MutexGuard<'_, fd::FdTable> {
        self.fds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Lock a mutex, ignoring poisoning (a panic elsewhere must not wedge the kernel).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
