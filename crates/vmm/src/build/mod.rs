//! Building a realm: every step of a [`Plan`](crate::plan::Plan) becomes the ioctls its ABI revision defines,
//! with realm-uapi's request numbers and argument structs. `measure` and `launch` both come through
//! [`realm`].
//!
//! By concern: [`memory`] (RAM slots, image loading, populate), [`vcpu`] (vCPUs, their registers and
//! features, the GIC), [`v10`] (ABI v10's `KVM_CAP_ARM_RME` realm actions).
#![forbid(unsafe_code)]

mod memory;
mod v10;
mod vcpu;

use std::time::{Duration, Instant};

use realm_uapi::arm64 as k;
use vm_memory::{Bytes, VolatileMemory};
use zerocopy::IntoBytes;

use crate::backend::{
    BackendError, Errno, Extension, Fd, Ioctl, IoctlArg, KvmBackend, Measured, UserMemory,
};
use crate::plan::Step;
use crate::prepare::Prepared;

pub use memory::POPULATE_CHUNK;

/// What the caller sees while a plan runs.
pub trait Progress {
    /// Step `index` starts.
    fn step(&mut self, _index: usize, _step: &Step) {}
    /// `done` of `total` populate bytes are in.
    fn populated(&mut self, _done: u64, _total: u64) {}
}

/// No progress reporting.
#[derive(Debug, Default)]
pub struct Quiet;
impl Progress for Quiet {}

/// Figures of one build.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct BuildStats {
    /// Bytes populated with MEASURE.
    pub measured_bytes: u64,
    /// Bytes populated without.
    pub unmeasured_bytes: u64,
    /// vCPUs.
    pub vcpus: u32,
    /// Wall time of the populate steps.
    #[serde(skip)]
    pub populate_time: Duration,
    /// Wall time spent loading images into the shared-alias memory.
    #[serde(skip)]
    pub load_time: Duration,
    /// Wall time of the whole build.
    #[serde(skip)]
    pub total_time: Duration,
}

/// A realm built on a backend, activated (the plan ends with the first `KVM_RUN`). Closes its fds and
/// unmaps its memory on drop.
#[derive(Debug)]
pub struct Built<'b> {
    backend: &'b dyn KvmBackend,
    kvm_fd: Fd,
    /// The VM fd.
    pub vm_fd: Fd,
    /// vCPU fds by id.
    pub vcpus: Vec<Fd>,
    /// RAM slots and their shared-alias memory.
    pub ram: Vec<(crate::layout::IpaRange, UserMemory)>,
    other_fds: Vec<Fd>,
    scratch: UserMemory,
    /// Figures.
    pub stats: BuildStats,
}

impl Drop for Built<'_> {
    fn drop(&mut self) {
        let fds = self.vcpus.iter().chain(&self.other_fds);
        for fd in fds.chain([&self.vm_fd, &self.kvm_fd]) {
            self.backend.close(*fd);
        }
        for (_, mem) in &self.ram {
            self.backend.unmap_memory(mem);
        }
        self.backend.unmap_memory(&self.scratch);
    }
}

impl Built<'_> {
    /// The realm's measurements, if the backend can read them.
    pub fn measurements(&self) -> Option<Measured> {
        self.backend.measuring()?.measurements(self.vm_fd)
    }

    /// The RIM extension log, if the backend can read it.
    pub fn measurement_log(&self) -> Option<Vec<Extension>> {
        self.backend.measuring()?.measurement_log(self.vm_fd)
    }

    /// The backend.
    pub fn backend(&self) -> &dyn KvmBackend {
        self.backend
    }

    /// `ioctl(fd, request, arg)`, its failure reported as `what`.
    fn ioctl(
        &self,
        fd: Fd,
        request: u64,
        arg: IoctlArg<'_>,
        what: impl FnOnce() -> Ioctl,
    ) -> Result<i64, BackendError> {
        self.backend
            .ioctl(fd, request, arg)
            .map_err(|e| BackendError::ioctl(what(), e))
    }

    /// An ioctl whose argument struct holds a pointer: the pointee goes in the scratch page at `off`, and its
    /// address is returned (HVAs must lie in mapped memory).
    fn scratch_write(&self, off: usize, bytes: &[u8]) -> Result<u64, BackendError> {
        self.scratch
            .region
            .as_volatile_slice()
            .write_slice(bytes, off)
            .map_err(|e| load_error("ioctl argument", e))?;
        Ok(self.scratch.hva + off as u64)
    }

    fn scratch_read_u64(&self, off: usize) -> Result<u64, BackendError> {
        let mut b = [0u8; 8];
        self.scratch
            .region
            .as_volatile_slice()
            .read_slice(&mut b, off)
            .map_err(|e| load_error("ioctl argument", e))?;
        Ok(u64::from_le_bytes(b))
    }

    fn vcpu(&self, id: u32) -> Fd {
        self.vcpus[id as usize]
    }
}

fn load_error(what: &str, e: impl std::fmt::Display) -> BackendError {
    BackendError::Load {
        what: what.to_owned(),
        source: std::io::Error::other(e.to_string()),
    }
}

/// An ioctl's return value as the fd it is.
fn fd_of(ret: i64) -> Result<Fd, BackendError> {
    i32::try_from(ret)
        .map(Fd)
        .map_err(|_| BackendError::ioctl(Ioctl::ReturnedFd, Errno::EBADF))
}

/// Run every step of `prepared.plan` on `backend`: the realm, built and activated.
pub fn realm<'b>(
    backend: &'b dyn KvmBackend,
    prepared: &Prepared,
    progress: &mut dyn Progress,
) -> Result<Built<'b>, BackendError> {
    let start = Instant::now();
    if backend.abi() != prepared.plan.abi {
        return Err(BackendError::AbiMismatch {
            wanted: prepared.plan.abi,
            host: backend.abi(),
        });
    }
    if let Some(platform) = backend.platform() {
        crate::limits::check(platform, prepared)?;
    }
    let kvm_fd = backend.open_kvm()?;
    let scratch = backend.map_memory(4096)?;
    let mut b = Built {
        backend,
        kvm_fd,
        vm_fd: kvm_fd,
        vcpus: Vec::new(),
        ram: Vec::new(),
        other_fds: Vec::new(),
        scratch,
        stats: BuildStats {
            vcpus: prepared.cfg.cpus,
            ..BuildStats::default()
        },
    };
    let (measured_total, unmeasured_total) = prepared.plan.populated_bytes();
    let mut populated = memory::PopulateProgress {
        done: 0,
        total: measured_total + unmeasured_total,
        progress,
    };
    for (i, step) in prepared.plan.steps.iter().enumerate() {
        populated.progress.step(i, step);
        let _span = tracing::info_span!(target: "realm_vmm", "step", %step).entered();
        run_step(&mut b, step, prepared, &mut populated)?;
    }
    b.stats.total_time = start.elapsed();
    Ok(b)
}

/// One plan step: the revision-neutral ones here, v10's realm actions in [`v10`].
fn run_step(
    b: &mut Built<'_>,
    step: &Step,
    prepared: &Prepared,
    populated: &mut memory::PopulateProgress<'_>,
) -> Result<(), BackendError> {
    match step {
        Step::CreateVm { ipa_bits } => {
            let ty = prepared.plan.abi.vm_type_realm() | u64::from(*ipa_bits);
            let fd = b.ioctl(b.kvm_fd, k::KVM_CREATE_VM, IoctlArg::Val(ty), || {
                Ioctl::CreateVm {
                    ipa_bits: *ipa_bits,
                }
            })?;
            b.vm_fd = fd_of(fd)?;
        }
        Step::AddRam { slot, range } => memory::add_ram(b, *slot, *range, prepared)?,
        Step::CreateVcpu { vcpu, features } => vcpu::create_vcpu(b, *vcpu, features)?,
        Step::ConfigureSve { vcpu, vl_bits } => vcpu::configure_sve(b, *vcpu, *vl_bits)?,
        Step::SetPmuCounters { vcpu, counters } => {
            let value = u64::from(*counters) << 11;
            vcpu::set_reg(b, *vcpu, k::REG_PMCR_EL0, value, "PMCR_EL0")?;
        }
        Step::SetDebugResources { bps, wps } => vcpu::set_debug_resources(b, *bps, *wps)?,
        Step::CreateGic { dist, redist } => vcpu::create_gic(b, *dist, *redist)?,
        Step::ConfigureHash { algo } => v10::configure_hash(b, *algo)?,
        Step::ConfigureRpv { rpv } => v10::configure_rpv(b, rpv)?,
        Step::CreateRealm => v10::create_realm(b)?,
        Step::InitRipas { range } => v10::init_ripas(b, *range)?,
        Step::Populate {
            range, measured, ..
        } => {
            let t = Instant::now();
            memory::populate(b, *range, *measured, populated)?;
            b.stats.populate_time += t.elapsed();
            if *measured {
                b.stats.measured_bytes += range.size;
            } else {
                b.stats.unmeasured_bytes += range.size;
            }
        }
        Step::SetBootRegisters { vcpu, pc, x0 } => {
            vcpu::set_reg(b, *vcpu, k::REG_PC, *pc, "PC")?;
            vcpu::set_reg(b, *vcpu, k::REG_X[0], *x0, "x0")?;
        }
        Step::FinalizeRec { vcpu } => v10::finalize_rec(b, *vcpu)?,
        Step::ActivateRealm => v10::activate_realm(b)?,
        Step::FirstRun { vcpu } => first_run(b, *vcpu)?,
    }
    Ok(())
}

/// The first `KVM_RUN` with `immediate_exit = 1`: Linux does the first-run setup (v12: RECs, INIT_RIPAS,
/// REALM_ACTIVATE) and returns -EINTR without entering the guest.
fn first_run(b: &Built<'_>, vcpu: u32) -> Result<(), BackendError> {
    let run = b.backend.run_area(b.vcpu(vcpu))?;
    run.with(&mut |bytes| bytes[1] = 1);
    let res = b.backend.ioctl(b.vcpu(vcpu), k::KVM_RUN, IoctlArg::Val(0));
    run.with(&mut |bytes| bytes[1] = 0);
    match res {
        Ok(_) | Err(Errno::EINTR) => Ok(()),
        Err(e) => Err(BackendError::ioctl(Ioctl::FirstRun { vcpu }, e)),
    }
}

/// `KVM_SET_ONE_REG` / `KVM_GET_ONE_REG` argument for `id` with its value at `addr`.
fn one_reg(id: u64, addr: u64) -> k::kvm_one_reg {
    k::kvm_one_reg { id, addr }
}

/// `KVM_SET_ONE_REG(id)` = the bytes at `addr`.
fn set_one_reg(
    b: &Built<'_>,
    vcpu: u32,
    id: u64,
    addr: u64,
    what: Ioctl,
) -> Result<(), BackendError> {
    let mut reg = one_reg(id, addr);
    b.ioctl(
        b.vcpu(vcpu),
        k::KVM_SET_ONE_REG,
        IoctlArg::Buf(reg.as_mut_bytes()),
        || what,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests;
