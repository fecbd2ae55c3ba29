//! The simulated platform: realm-kvm's kernel over realm-rmm's RMM, in this process. Every ioctl goes through
//! [`realm_kvm::Kernel::ioctl`] as bytes, exactly as the host backend sends them to `/dev/kvm`; user memory is
//! real process memory registered with the kernel's user-memory registry.
#![forbid(unsafe_code)]

use std::sync::Arc;

use realm_kvm::{Kernel, KernelConfig};
use realm_platform::Platform;
use realm_rmm::{PlatformConfig, Rmm};
use vm_memory::MmapRegion;

use super::{
    BackendError, Errno, Extension, ExtensionKind, Fd, Ioctl, IoctlArg, KvmBackend, Measured,
    MeasuringBackend, RunArea, UserMemory,
};
use crate::config::AbiRevision;

/// The `realm-a64` CPU model for `platform`: its identification, ID registers and counter frequency, cut down
/// to what the interpreter implements (`CpuConfig::restricted`).
pub fn a64_cpu(platform: &Platform) -> realm_rmm::cpu::CpuModel {
    a64_cpu_counted(platform, crate::run_stats::InstructionCounter::default())
}

/// [`a64_cpu`], its CPUs adding the instructions they retire to `counter`.
pub fn a64_cpu_counted(
    platform: &Platform,
    counter: crate::run_stats::InstructionCounter,
) -> realm_rmm::cpu::CpuModel {
    let ids = &platform.cpu;
    let config = realm_a64::CpuConfig {
        midr: ids.midr,
        revidr: ids.revidr,
        id_aa64pfr0: ids.id_aa64pfr0,
        id_aa64pfr1: ids.id_aa64pfr1,
        id_aa64dfr0: ids.id_aa64dfr0,
        id_aa64isar0: ids.id_aa64isar0,
        id_aa64isar1: ids.id_aa64isar1,
        id_aa64mmfr0: ids.id_aa64mmfr0,
        id_aa64mmfr1: ids.id_aa64mmfr1,
        id_aa64mmfr2: ids.id_aa64mmfr2,
        ctr: ids.ctr,
        dczid: ids.dczid,
        counter_hz: platform.cntfrq,
        gic: realm_rmm::cpu::gic::GicParams {
            list_registers: platform.gic.list_registers,
            priority_bits: platform.gic.priority_bits,
            preemption_bits: platform.gic.preemption_bits,
        },
        ..realm_a64::CpuConfig::default()
    }
    .restricted();
    // A run ends after a million instructions as a host timer tick would end it, so the host regains control
    // of a realm that loops without exiting.
    let factory = crate::run_stats::CountingA64Factory::new(config, 1_000_000, counter);
    realm_rmm::cpu::CpuModel::new(Arc::new(factory))
}

/// realm-kvm + realm-rmm.
#[derive(Debug)]
pub struct SimulatedBackend {
    abi: AbiRevision,
    platform: Platform,
    rmm: Arc<Rmm>,
    kernel: Kernel,
    instructions: Option<crate::run_stats::InstructionCounter>,
    /// Built by [`SimulatedBackend::measuring`]: realms are built to be measured, never run.
    measure_only: bool,
}

impl SimulatedBackend {
    /// A fresh `max` platform whose kernel speaks `abi`.
    pub fn new(abi: AbiRevision) -> Self {
        Self::for_platform(abi, &Platform::default())
    }

    /// A fresh machine described by `platform` (its RMM and kernel derive what they report from it); its
    /// default CPU model runs no code.
    pub fn for_platform(abi: AbiRevision, platform: &Platform) -> Self {
        Self::build(abi, platform, PlatformConfig::from_platform(platform))
    }

    /// A fresh machine described by `platform` that builds realms only to measure them (`measure`): its RMM
    /// keeps no DATA contents ([`realm_rmm::DataContents::NotKept`]: RMI_DATA_CREATE hashes the source page
    /// where it is), and images are mapped into guest memory rather than copied
    /// ([`KvmBackend::map_image`]), so no byte of a payload is copied. Statuses, RIMs and logs are those of
    /// [`SimulatedBackend::for_platform`]; a realm built here cannot run (RMI_REC_ENTER is refused).
    pub fn measuring(abi: AbiRevision, platform: &Platform) -> Self {
        let rmm_view = PlatformConfig {
            data_contents: realm_rmm::DataContents::NotKept,
            ..PlatformConfig::from_platform(platform)
        };
        Self {
            measure_only: true,
            ..Self::build(abi, platform, rmm_view)
        }
    }

    /// A fresh `platform` whose RECs run on `cpu` (e.g. realm-rmm's scripted CPUs): when the model executes
    /// code ([`realm_rmm::cpu::CpuModel::executes_code`]), `launch` enters the realm and handles its exits.
    pub fn with_cpu(abi: AbiRevision, platform: &Platform, cpu: realm_rmm::cpu::CpuModel) -> Self {
        let rmm_view = PlatformConfig {
            cpu,
            ..PlatformConfig::from_platform(platform)
        };
        Self::build(abi, platform, rmm_view)
    }

    /// A fresh `platform` whose RECs run on realm-a64 ([`a64_cpu`]), counting the instructions they retire
    /// ([`KvmBackend::instructions_retired`]).
    pub fn with_a64(abi: AbiRevision, platform: &Platform) -> Self {
        let counter = crate::run_stats::InstructionCounter::default();
        let cpu = a64_cpu_counted(platform, counter.clone());
        Self {
            instructions: Some(counter),
            ..Self::with_cpu(abi, platform, cpu)
        }
    }

    fn build(abi: AbiRevision, platform: &Platform, rmm_view: PlatformConfig) -> Self {
        let rmm = Arc::new(Rmm::new(rmm_view));
        let kernel = Kernel::new(
            rmm.clone(),
            rmm.clone(),
            KernelConfig::for_platform(abi, platform),
        );
        Self {
            abi,
            platform: platform.clone(),
            rmm,
            kernel,
            instructions: None,
            measure_only: false,
        }
    }

    /// The RMM (for invariant checks in tests).
    pub fn rmm(&self) -> &Rmm {
        &self.rmm
    }

    /// The kernel.
    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    /// Switch the machine off before dropping what was built on it, so its realms are freed without
    /// being torn down through RMI a page at a time ([`Kernel::power_off`]); nothing can run afterwards.
    pub fn power_off(&self) {
        self.kernel.power_off();
    }
}

#[derive(Debug)]
struct SimRun(realm_kvm::KvmRun);

impl RunArea for SimRun {
    fn with(&self, f: &mut dyn FnMut(&mut [u8])) {
        self.0.with(|b| f(b));
    }
}

impl KvmBackend for SimulatedBackend {
    fn name(&self) -> &'static str {
        "simulated"
    }

    fn abi(&self) -> AbiRevision {
        self.abi
    }

    fn open_kvm(&self) -> Result<Fd, BackendError> {
        self.kernel
            .open_kvm()
            .map_err(|e| BackendError::ioctl(Ioctl::OpenKvm, e))
    }

    fn ioctl(&self, fd: Fd, request: u64, arg: IoctlArg<'_>) -> Result<i64, Errno> {
        self.kernel.ioctl(fd, request, arg)
    }

    fn close(&self, fd: Fd) {
        let _ = self.kernel.close(fd);
    }

    fn map_memory(&self, size: u64) -> Result<UserMemory, BackendError> {
        let len = usize::try_from(size).map_err(|_| BackendError::Mmap {
            size,
            source: std::io::Error::from(std::io::ErrorKind::OutOfMemory),
        })?;
        let region = Arc::new(MmapRegion::new(len).map_err(|e| BackendError::Mmap {
            size,
            source: std::io::Error::other(e.to_string()),
        })?);
        // A hint: huge pages where images are loaded (fewer faults); untouched RAM stays unallocated.
        let _ = crate::os::advise_hugepages(&region);
        let hva = self.kernel.user_memory().register(Arc::clone(&region));
        Ok(UserMemory { region, hva })
    }

    fn unmap_memory(&self, mem: &UserMemory) {
        self.kernel.user_memory().unregister(mem.hva);
    }

    /// Through the kernel's user-memory registry, which reaches the physical page behind a page the realm
    /// maps unprotected (the region's own bytes there are stale).
    fn read_memory(&self, mem: &UserMemory, off: u64, buf: &mut [u8]) -> bool {
        mem.hva
            .checked_add(off)
            .is_some_and(|hva| self.kernel.user_memory().read(hva, buf).is_ok())
    }

    fn write_memory(&self, mem: &UserMemory, off: u64, data: &[u8]) -> bool {
        mem.hva
            .checked_add(off)
            .is_some_and(|hva| self.kernel.user_memory().write(hva, data).is_ok())
    }

    fn map_image(
        &self,
        mem: &UserMemory,
        off: usize,
        image: &crate::image::ImageData,
    ) -> Result<bool, BackendError> {
        if !self.measure_only || !off.is_multiple_of(4096) || image.is_empty() {
            return Ok(false);
        }
        let hva = mem.hva + off as u64;
        self.kernel
            .user_memory()
            .map_pages(hva, image.page_source())
            .map_err(|e| BackendError::Mmap {
                size: image.len() as u64,
                source: std::io::Error::from_raw_os_error(e.0),
            })?;
        Ok(true)
    }

    fn run_area(&self, vcpu_fd: Fd) -> Result<Box<dyn RunArea>, BackendError> {
        let run = self
            .kernel
            .kvm_run(vcpu_fd)
            .map_err(|e| BackendError::ioctl(Ioctl::MapRun, e))?;
        Ok(Box::new(SimRun(run)))
    }

    fn measuring(&self) -> Option<&dyn MeasuringBackend> {
        Some(self)
    }

    fn platform(&self) -> Option<&Platform> {
        Some(&self.platform)
    }

    fn runs_guest_code(&self) -> bool {
        self.rmm.platform().cpu.executes_code()
    }

    fn kick(&self, vcpu_fd: Fd) {
        let _ = self.kernel.kick(vcpu_fd);
    }

    fn instructions_retired(&self) -> Option<u64> {
        self.instructions
            .as_ref()
            .map(|c| c.load(std::sync::atomic::Ordering::Relaxed))
    }
}

impl MeasuringBackend for SimulatedBackend {
    fn measurements(&self, vm_fd: Fd) -> Option<Measured> {
        let rd = self.kernel.debug_realm_rd(vm_fd)?;
        let m = self.rmm.measurements(rd)?;
        Some(Measured {
            hash_algo: m.hash_algo,
            rim: m.rim.clone(),
            rems: m.rems.to_vec(),
        })
    }

    fn measurement_log(&self, vm_fd: Fd) -> Option<Vec<Extension>> {
        let rd = self.kernel.debug_realm_rd(vm_fd)?;
        let log = self.rmm.measurement_log(rd)?;
        Some(log.iter().map(extension_of).collect())
    }
}

fn extension_of(e: &realm_rmm::MeasurementEvent) -> Extension {
    use realm_rmm::MeasurementKind as K;
    let (kind, content_hash) = match &e.kind {
        K::RealmCreate => (ExtensionKind::RealmCreate, Vec::new()),
        K::Data {
            ipa,
            flags,
            content_hash,
        } => (
            ExtensionKind::Data {
                ipa: *ipa,
                flags: *flags,
            },
            content_hash.clone(),
        ),
        K::Rec { content_hash } => (ExtensionKind::Rec, content_hash.clone()),
        K::Ripas { base, top } => (
            ExtensionKind::Ripas {
                base: *base,
                top: *top,
            },
            Vec::new(),
        ),
    };
    Extension {
        kind,
        content_hash,
        rim_after: e.rim_after.clone(),
    }
}
