//! Executing a plan on a backend: every step becomes the ioctls the ABI revision defines, with realm-uapi's
//! request numbers and argument structs. `measure` and `launch` both come through here.
#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

use realm_uapi::arm64 as k;
use realm_uapi::{v10, v12};
use vm_memory::{Bytes, VolatileMemory};
use zerocopy::{FromZeros, IntoBytes};

use crate::backend::{BackendError, Errno, Fd, IoctlArg, KvmBackend, Measured, UserMemory};
use crate::config::{Abi, HashAlgo};
use crate::layout::IpaRange;
use crate::plan::{Step, VcpuFeature};
use crate::prepare::Prepared;

/// Populate calls are issued in pieces of at most this size, so progress can be shown.
pub const POPULATE_CHUNK: u64 = 32 << 20;

/// `ID_AA64DFR0_EL1` as a `KVM_{GET,SET}_ONE_REG` id: `ARM64_SYS_REG(3, 0, 0, 5, 0)`.
pub const REG_ID_AA64DFR0_EL1: u64 = sys_reg(3, 0, 0, 5, 0);
/// `PMCR_EL0`: `ARM64_SYS_REG(3, 3, 9, 12, 0)`.
pub const REG_PMCR_EL0: u64 = sys_reg(3, 3, 9, 12, 0);
/// `KVM_REG_ARM64_SVE_VLS`: `KVM_REG_ARM64 | KVM_REG_ARM64_SVE | KVM_REG_SIZE_U512 | 0xffff`.
pub const REG_SVE_VLS: u64 = 0x6000_0000_0000_0000 | (0x15 << 16) | (6 << 52) | 0xffff;

/// `ARM64_SYS_REG(op0, op1, crn, crm, op2)` (arch/arm64/include/uapi/asm/kvm.h).
pub const fn sys_reg(op0: u64, op1: u64, crn: u64, crm: u64, op2: u64) -> u64 {
    0x6000_0000_0000_0000
        | (3 << 52)
        | (0x13 << 16)
        | (op0 << 14)
        | (op1 << 11)
        | (crn << 7)
        | (crm << 3)
        | op2
}

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

/// A realm built on a backend, activated (the plan ends with the first `KVM_RUN`). Closes its fds on drop.
#[derive(Debug)]
pub struct Built<'b> {
    backend: &'b dyn KvmBackend,
    kvm_fd: Fd,
    /// The VM fd.
    pub vm_fd: Fd,
    /// vCPU fds by id.
    pub vcpus: Vec<Fd>,
    /// RAM slots and their shared-alias memory.
    pub ram: Vec<(IpaRange, UserMemory)>,
    other_fds: Vec<Fd>,
    scratch: UserMemory,
    /// Figures.
    pub stats: BuildStats,
}

impl Drop for Built<'_> {
    fn drop(&mut self) {
        for fd in self
            .vcpus
            .iter()
            .chain(&self.other_fds)
            .chain([&self.vm_fd, &self.kvm_fd])
        {
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
    pub fn measurement_log(&self) -> Option<Vec<crate::backend::Extension>> {
        self.backend.measuring()?.measurement_log(self.vm_fd)
    }

    /// The backend.
    pub fn backend(&self) -> &dyn KvmBackend {
        self.backend
    }

    fn ioctl(
        &self,
        fd: Fd,
        request: u64,
        arg: IoctlArg<'_>,
        what: impl FnOnce() -> String,
    ) -> Result<i64, BackendError> {
        self.backend
            .ioctl(fd, request, arg)
            .map_err(|e| BackendError::ioctl(what(), e))
    }

    /// An ioctl whose argument struct holds a pointer: the struct goes in the scratch page at `off`, its address
    /// in `args[1]` / `addr` (HVAs must lie in mapped memory).
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

    fn set_reg(&self, vcpu: u32, id: u64, value: u64, name: &str) -> Result<(), BackendError> {
        let addr = self.scratch_write(0, &value.to_le_bytes())?;
        let mut reg = k::kvm_one_reg { id, addr };
        self.ioctl(
            self.vcpu(vcpu),
            k::KVM_SET_ONE_REG,
            IoctlArg::Buf(reg.as_mut_bytes()),
            || format!("KVM_SET_ONE_REG {name} = {value:#x} on vCPU {vcpu}"),
        )?;
        Ok(())
    }

    fn get_reg(&self, vcpu: u32, id: u64, name: &str) -> Result<u64, BackendError> {
        let addr = self.scratch_write(0, &[0; 8])?;
        let mut reg = k::kvm_one_reg { id, addr };
        self.ioctl(
            self.vcpu(vcpu),
            k::KVM_GET_ONE_REG,
            IoctlArg::Buf(reg.as_mut_bytes()),
            || format!("KVM_GET_ONE_REG {name} on vCPU {vcpu}"),
        )?;
        self.scratch_read_u64(0)
    }

    /// v10: `KVM_ENABLE_CAP(KVM_CAP_ARM_RME, action, &arg)`.
    fn rme_action(
        &self,
        action: u32,
        arg: Option<&[u8]>,
        what: String,
    ) -> Result<(), BackendError> {
        let ptr = match arg {
            Some(b) => self.scratch_write(64, b)?,
            None => 0,
        };
        let mut cap = k::kvm_enable_cap::new_zeroed();
        cap.cap = v10::KVM_CAP_ARM_RME;
        cap.args[0] = u64::from(action);
        cap.args[1] = ptr;
        self.ioctl(
            self.vm_fd,
            k::KVM_ENABLE_CAP,
            IoctlArg::Buf(cap.as_mut_bytes()),
            || what,
        )?;
        Ok(())
    }
}

fn load_error(what: &str, e: impl std::fmt::Display) -> BackendError {
    BackendError::Load {
        what: what.to_owned(),
        source: std::io::Error::other(e.to_string()),
    }
}

/// Run every step of `prepared.plan` on `backend`.
pub fn build<'b>(
    backend: &'b dyn KvmBackend,
    prepared: &Prepared,
    progress: &mut dyn Progress,
) -> Result<Built<'b>, BackendError> {
    let start = Instant::now();
    if backend.abi() != prepared.plan.abi {
        return Err(BackendError::AbiMismatch {
            wanted: prepared.plan.abi.to_string(),
            host: backend.abi().to_string(),
        });
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
    let total = measured_total + unmeasured_total;
    let mut done = 0;
    for (i, step) in prepared.plan.steps.iter().enumerate() {
        progress.step(i, step);
        let _span = tracing::info_span!(target: "realm_vmm", "step", %step).entered();
        match step {
            Step::CreateVm { ipa_bits } => {
                let ty = prepared.plan.abi_revision().vm_type_realm() | u64::from(*ipa_bits);
                let fd = b.ioctl(kvm_fd, k::KVM_CREATE_VM, IoctlArg::Val(ty), || {
                    format!("KVM_CREATE_VM(realm, {ipa_bits}-bit IPA)")
                })?;
                b.vm_fd = Fd(fd_of(fd)?);
            }
            Step::AddRam { slot, range } => add_ram(&mut b, *slot, *range, prepared)?,
            Step::CreateVcpu { vcpu, features } => create_vcpu(&mut b, *vcpu, features)?,
            Step::ConfigureSve { vcpu, vl_bits } => {
                // KVM_REG_ARM64_SVE_VLS is 512 bits: a bitmap of the vector lengths (VQ 1..=vl/128) to offer.
                let mut vls = [0u8; 64];
                for vq in 1..=usize::from(*vl_bits / 128) {
                    vls[(vq - 1) / 8] |= 1 << ((vq - 1) % 8);
                }
                let addr = b.scratch_write(0, &vls)?;
                let mut reg = k::kvm_one_reg {
                    id: REG_SVE_VLS,
                    addr,
                };
                b.ioctl(
                    b.vcpu(*vcpu),
                    k::KVM_SET_ONE_REG,
                    IoctlArg::Buf(reg.as_mut_bytes()),
                    || format!("KVM_SET_ONE_REG SVE_VLS (up to {vl_bits} bits) on vCPU {vcpu}"),
                )?;
                let mut what = k::KVM_ARM_VCPU_SVE.to_le_bytes();
                b.ioctl(
                    b.vcpu(*vcpu),
                    k::KVM_ARM_VCPU_FINALIZE,
                    IoctlArg::Buf(&mut what),
                    || format!("KVM_ARM_VCPU_FINALIZE(SVE) on vCPU {vcpu}"),
                )?;
            }
            Step::SetPmuCounters { vcpu, counters } => {
                b.set_reg(*vcpu, REG_PMCR_EL0, u64::from(*counters) << 11, "PMCR_EL0")?;
            }
            Step::SetDebugResources { bps, wps } => {
                let mut dfr0 = b.get_reg(0, REG_ID_AA64DFR0_EL1, "ID_AA64DFR0_EL1")?;
                // The kernel's initial value is the most it supports (v12 38/46: the RMM's NUM_BPS/NUM_WPS);
                // ask for no more, as KVM refuses an ID register write above the sanitised value.
                for (asked, shift, what) in [(bps, 12, "breakpoints"), (wps, 20, "watchpoints")] {
                    let max = ((dfr0 >> shift) & 0xf) + 1;
                    if let Some(n) = asked
                        && u64::from(*n) > max
                    {
                        return Err(BackendError::Unsupported(format!(
                            "{n} {what} asked for; the {} platform supports at most {max}",
                            b.backend.name()
                        )));
                    }
                }
                if let Some(n) = bps {
                    dfr0 = (dfr0 & !(0xf << 12)) | (u64::from(n - 1) << 12);
                }
                if let Some(n) = wps {
                    dfr0 = (dfr0 & !(0xf << 20)) | (u64::from(n - 1) << 20);
                }
                b.set_reg(0, REG_ID_AA64DFR0_EL1, dfr0, "ID_AA64DFR0_EL1")?;
            }
            Step::CreateGic { dist, redist } => create_gic(&mut b, *dist, *redist)?,
            Step::ConfigureHash { algo } => {
                let h = match algo {
                    HashAlgo::Sha256 => v10::ARM_RME_CONFIG_HASH_ALGO_SHA256,
                    HashAlgo::Sha512 => v10::ARM_RME_CONFIG_HASH_ALGO_SHA512,
                };
                let cfg = v10::arm_rme_config::with_hash_algo(h);
                b.rme_action(
                    v10::KVM_CAP_ARM_RME_CONFIG_REALM,
                    Some(cfg.as_bytes()),
                    format!("KVM_CAP_ARM_RME_CONFIG_REALM(HASH_ALGO {algo})"),
                )?;
            }
            Step::ConfigureRpv { rpv } => {
                let mut bytes = [0u8; 64];
                hex::decode_to_slice(rpv, &mut bytes)
                    .map_err(|e| load_error("personalization value", e))?;
                let cfg = v10::arm_rme_config::with_rpv(&bytes);
                b.rme_action(
                    v10::KVM_CAP_ARM_RME_CONFIG_REALM,
                    Some(cfg.as_bytes()),
                    "KVM_CAP_ARM_RME_CONFIG_REALM(RPV)".into(),
                )?;
            }
            Step::CreateRealm => {
                b.rme_action(
                    v10::KVM_CAP_ARM_RME_CREATE_REALM,
                    None,
                    "KVM_CAP_ARM_RME_CREATE_REALM".into(),
                )?;
            }
            Step::InitRipas { range } => {
                let arg = v10::arm_rme_init_ripas {
                    base: range.base,
                    size: range.size,
                    reserved: [0; 2],
                };
                b.rme_action(
                    v10::KVM_CAP_ARM_RME_INIT_RIPAS_REALM,
                    Some(arg.as_bytes()),
                    format!("KVM_CAP_ARM_RME_INIT_RIPAS_REALM {range}"),
                )?;
            }
            Step::Populate {
                range, measured, ..
            } => {
                let t = Instant::now();
                populate(&b, *range, *measured, |n| {
                    done += n;
                    progress.populated(done, total);
                })?;
                b.stats.populate_time += t.elapsed();
                if *measured {
                    b.stats.measured_bytes += range.size;
                } else {
                    b.stats.unmeasured_bytes += range.size;
                }
            }
            Step::SetBootRegisters { vcpu, pc, x0 } => {
                b.set_reg(*vcpu, k::REG_PC, *pc, "PC")?;
                b.set_reg(*vcpu, k::REG_X[0], *x0, "x0")?;
            }
            Step::FinalizeRec { vcpu } => {
                let mut what = v10::KVM_ARM_VCPU_REC.to_le_bytes();
                b.ioctl(
                    b.vcpu(*vcpu),
                    k::KVM_ARM_VCPU_FINALIZE,
                    IoctlArg::Buf(&mut what),
                    || format!("KVM_ARM_VCPU_FINALIZE(KVM_ARM_VCPU_REC) on vCPU {vcpu}"),
                )?;
            }
            Step::ActivateRealm => {
                b.rme_action(
                    v10::KVM_CAP_ARM_RME_ACTIVATE_REALM,
                    None,
                    "KVM_CAP_ARM_RME_ACTIVATE_REALM".into(),
                )?;
            }
            Step::FirstRun { vcpu } => first_run(&b, *vcpu)?,
        }
    }
    b.stats.total_time = start.elapsed();
    Ok(b)
}

fn fd_of(ret: i64) -> Result<i32, BackendError> {
    i32::try_from(ret).map_err(|_| BackendError::ioctl("a returned fd", Errno::EBADF))
}

fn add_ram(
    b: &mut Built<'_>,
    slot: u32,
    range: IpaRange,
    prepared: &Prepared,
) -> Result<(), BackendError> {
    let mem = b.backend.map_memory(range.size)?;
    let mut gmem = k::kvm_create_guest_memfd::new_zeroed();
    gmem.size = range.size;
    let gfd = b.ioctl(
        b.vm_fd,
        k::KVM_CREATE_GUEST_MEMFD,
        IoctlArg::Buf(gmem.as_mut_bytes()),
        || format!("KVM_CREATE_GUEST_MEMFD ({} bytes)", range.size),
    )?;
    let gfd = fd_of(gfd)?;
    b.other_fds.push(Fd(gfd));
    let mut region = k::kvm_userspace_memory_region2::new_zeroed();
    region.slot = slot;
    region.flags = k::KVM_MEM_GUEST_MEMFD;
    region.guest_phys_addr = range.base;
    region.memory_size = range.size;
    region.userspace_addr = mem.hva;
    region.guest_memfd = gfd.cast_unsigned();
    b.ioctl(
        b.vm_fd,
        k::KVM_SET_USER_MEMORY_REGION2,
        IoctlArg::Buf(region.as_mut_bytes()),
        || format!("KVM_SET_USER_MEMORY_REGION2 slot {slot} {range}"),
    )?;
    let mut attrs = k::kvm_memory_attributes {
        address: range.base,
        size: range.size,
        attributes: u64::from(k::KVM_MEMORY_ATTRIBUTE_PRIVATE),
        flags: 0,
    };
    b.ioctl(
        b.vm_fd,
        k::KVM_SET_MEMORY_ATTRIBUTES,
        IoctlArg::Buf(attrs.as_mut_bytes()),
        || format!("KVM_SET_MEMORY_ATTRIBUTES(PRIVATE) {range}"),
    )?;
    // Load the images this slot holds into its shared-alias memory (where kvmtool and QEMU load them before
    // populating from there).
    let t = Instant::now();
    for (img, (kind, bytes)) in prepared.map.images.iter().zip(&prepared.images) {
        if img.load.base >= range.base && img.load.end() <= range.end() {
            let off =
                usize::try_from(img.load.base - range.base).map_err(|e| load_error("image", e))?;
            load_image(&mem, off, bytes).map_err(|e| load_error(&kind.to_string(), e))?;
        }
    }
    b.stats.load_time += t.elapsed();
    b.ram.push((range, mem));
    Ok(())
}

/// Pieces an image is copied in, spread over the cores: 2 MiB, one huge page of the destination.
const LOAD_PIECE: usize = 2 << 20;

/// Copy `bytes` into `mem` at `off`, in [`LOAD_PIECE`] pieces on rayon's pool: the copy and the first-touch
/// faults of the destination run on every core. The bytes written are those of one `write_slice`.
fn load_image(
    mem: &UserMemory,
    off: usize,
    bytes: &[u8],
) -> Result<(), vm_memory::VolatileMemoryError> {
    use rayon::prelude::*;
    let region = &*mem.region;
    if off
        .checked_add(bytes.len())
        .is_none_or(|end| end > region.size())
    {
        // Does not fit (the layout never places such an image): one `write_slice`, for its exact error.
        return region.as_volatile_slice().write_slice(bytes, off);
    }
    bytes
        .par_chunks(LOAD_PIECE)
        .enumerate()
        .try_for_each(|(i, piece)| {
            region
                .as_volatile_slice()
                .write_slice(piece, off + i * LOAD_PIECE)
        })
}

fn create_vcpu(b: &mut Built<'_>, vcpu: u32, features: &[VcpuFeature]) -> Result<(), BackendError> {
    let fd = b.ioctl(
        b.vm_fd,
        k::KVM_CREATE_VCPU,
        IoctlArg::Val(u64::from(vcpu)),
        || format!("KVM_CREATE_VCPU {vcpu}"),
    )?;
    b.vcpus.push(Fd(fd_of(fd)?));
    let mut init = k::kvm_vcpu_init::new_zeroed();
    b.ioctl(
        b.vm_fd,
        k::KVM_ARM_PREFERRED_TARGET,
        IoctlArg::Buf(init.as_mut_bytes()),
        || "KVM_ARM_PREFERRED_TARGET".to_owned(),
    )?;
    for f in features {
        init.set_feature(match f {
            VcpuFeature::PowerOff => k::KVM_ARM_VCPU_POWER_OFF,
            VcpuFeature::Psci02 => k::KVM_ARM_VCPU_PSCI_0_2,
            VcpuFeature::Sve => k::KVM_ARM_VCPU_SVE,
            VcpuFeature::PmuV3 => k::KVM_ARM_VCPU_PMU_V3,
            VcpuFeature::Rec => v10::KVM_ARM_VCPU_REC,
        });
    }
    b.ioctl(
        b.vcpu(vcpu),
        k::KVM_ARM_VCPU_INIT,
        IoctlArg::Buf(init.as_mut_bytes()),
        || format!("KVM_ARM_VCPU_INIT of vCPU {vcpu} with {features:?}"),
    )?;
    Ok(())
}

fn create_gic(b: &mut Built<'_>, dist: IpaRange, redist: IpaRange) -> Result<(), BackendError> {
    let mut dev = k::kvm_create_device {
        r#type: k::KVM_DEV_TYPE_ARM_VGIC_V3,
        fd: 0,
        flags: 0,
    };
    b.ioctl(
        b.vm_fd,
        k::KVM_CREATE_DEVICE,
        IoctlArg::Buf(dev.as_mut_bytes()),
        || "KVM_CREATE_DEVICE(VGIC_V3)".into(),
    )?;
    let gic = Fd(dev.fd.cast_signed());
    b.other_fds.push(gic);
    for (ty, base, name) in [
        (k::KVM_VGIC_V3_ADDR_TYPE_DIST, dist.base, "distributor"),
        (
            k::KVM_VGIC_V3_ADDR_TYPE_REDIST,
            redist.base,
            "redistributors",
        ),
    ] {
        let addr = b.scratch_write(0, &base.to_le_bytes())?;
        let mut attr = k::kvm_device_attr {
            flags: 0,
            group: k::KVM_DEV_ARM_VGIC_GRP_ADDR,
            attr: u64::from(ty),
            addr,
        };
        b.ioctl(
            gic,
            k::KVM_SET_DEVICE_ATTR,
            IoctlArg::Buf(attr.as_mut_bytes()),
            || format!("KVM_SET_DEVICE_ATTR GICv3 {name} at {base:#x}"),
        )?;
    }
    let mut init = k::kvm_device_attr {
        flags: 0,
        group: k::KVM_DEV_ARM_VGIC_GRP_CTRL,
        attr: u64::from(k::KVM_DEV_ARM_VGIC_CTRL_INIT),
        addr: 0,
    };
    b.ioctl(
        gic,
        k::KVM_SET_DEVICE_ATTR,
        IoctlArg::Buf(init.as_mut_bytes()),
        || "KVM_DEV_ARM_VGIC_CTRL_INIT".into(),
    )?;
    Ok(())
}

/// Populate `range` from the shared-alias memory holding the images, in [`POPULATE_CHUNK`] pieces, looping on
/// partial progress (v12 returns the bytes done) and refusing a call that makes none.
fn populate(
    b: &Built<'_>,
    range: IpaRange,
    measured: bool,
    mut report: impl FnMut(u64),
) -> Result<(), BackendError> {
    let (slot, mem) = b
        .ram
        .iter()
        .find(|(r, _)| range.base >= r.base && range.end() <= r.end())
        .ok_or_else(|| {
            BackendError::ioctl(
                format!("populate {range}: not inside a RAM slot"),
                Errno::EFAULT,
            )
        })?;
    let mut base = range.base;
    while base < range.end() {
        let size = (range.end() - base).min(POPULATE_CHUNK);
        let what = || format!("populate {}", IpaRange { base, size });
        match b.backend.abi() {
            Abi::V12 => {
                let mut arg = v12::kvm_arm_rmi_populate {
                    base,
                    size,
                    source_uaddr: mem.hva + (base - slot.base),
                    flags: if measured {
                        v12::KVM_ARM_RMI_POPULATE_FLAGS_MEASURE
                    } else {
                        0
                    },
                    reserved: 0,
                };
                let n = b.ioctl(
                    b.vm_fd,
                    v12::KVM_ARM_RMI_POPULATE,
                    IoctlArg::Buf(arg.as_mut_bytes()),
                    || format!("KVM_ARM_RMI_POPULATE {}", IpaRange { base, size }),
                )?;
                let n = u64::try_from(n).unwrap_or(0).min(size);
                if n == 0 {
                    return Err(BackendError::NoProgress { what: what() });
                }
                base += n;
                report(n);
            }
            Abi::V10 => {
                let arg = v10::arm_rme_populate_realm {
                    base,
                    size,
                    flags: if measured {
                        v10::KVM_ARM_RME_POPULATE_FLAGS_MEASURE
                    } else {
                        0
                    },
                    reserved: [0; 3],
                };
                b.rme_action(
                    v10::KVM_CAP_ARM_RME_POPULATE_REALM,
                    Some(arg.as_bytes()),
                    format!("KVM_CAP_ARM_RME_POPULATE_REALM {}", IpaRange { base, size }),
                )?;
                base += size;
                report(size);
            }
        }
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
        Err(e) => Err(BackendError::ioctl(
            format!("first KVM_RUN of vCPU {vcpu} (realm activation)"),
            e,
        )),
    }
}

impl crate::plan::Plan {
    /// The realm-uapi revision of this plan.
    pub fn abi_revision(&self) -> realm_uapi::AbiRevision {
        match self.abi {
            Abi::V10 => realm_uapi::AbiRevision::V10,
            Abi::V12 => realm_uapi::AbiRevision::V12,
        }
    }
}

#[cfg(test)]
mod tests {
    //! The requests the executor sends, recorded by a fake kernel: request numbers (pinned to Linux's values)
    //! and argument bytes. The host backend sends exactly these to /dev/kvm.
    use std::sync::{Arc, Mutex};

    use vm_memory::MmapRegion;
    use zerocopy::FromBytes;

    use super::*;
    use crate::backend::{RunArea, UserMemory};
    use crate::config::ConfigFile;
    use crate::image::synthetic_image;
    use crate::prepare::prepare;

    #[derive(Debug, Default)]
    struct Recorder {
        abi: Option<Abi>,
        calls: Mutex<Vec<Call>>,
        next_fd: Mutex<i32>,
        memory: Mutex<Vec<UserMemory>>,
    }

    /// (fd, request, argument bytes, value, bytes at the pointer inside the argument when it has one).
    type Call = (i32, u64, Vec<u8>, Option<u64>, Vec<u8>);

    #[derive(Debug)]
    struct Run(Mutex<Vec<u8>>);
    impl RunArea for Run {
        fn with(&self, f: &mut dyn FnMut(&mut [u8])) {
            f(&mut self.0.lock().unwrap());
        }
    }

    impl Recorder {
        fn fd(&self) -> i64 {
            let mut n = self.next_fd.lock().unwrap();
            *n += 1;
            i64::from(*n)
        }
        /// Read `len` bytes at `hva` in memory this recorder mapped.
        fn read(&self, hva: u64, len: usize) -> Vec<u8> {
            let mems = self.memory.lock().unwrap();
            let m = mems
                .iter()
                .find(|m| hva >= m.hva && hva < m.hva + m.region.size() as u64)
                .unwrap();
            let mut buf = vec![0u8; len];
            m.region
                .as_volatile_slice()
                .read_slice(&mut buf, usize::try_from(hva - m.hva).unwrap())
                .unwrap();
            buf
        }
    }

    impl KvmBackend for Recorder {
        fn name(&self) -> &'static str {
            "recorder"
        }
        fn abi(&self) -> Abi {
            self.abi.unwrap()
        }
        fn open_kvm(&self) -> Result<Fd, BackendError> {
            Ok(Fd(3))
        }
        fn ioctl(&self, fd: Fd, request: u64, arg: IoctlArg<'_>) -> Result<i64, Errno> {
            let (bytes, val) = match &arg {
                IoctlArg::Val(v) => (Vec::new(), Some(*v)),
                IoctlArg::Buf(b) => (b.to_vec(), None),
            };
            let pointee = match request {
                k::KVM_ENABLE_CAP => {
                    let cap = k::kvm_enable_cap::read_from_bytes(&bytes).unwrap();
                    if cap.args[1] == 0 {
                        Vec::new()
                    } else {
                        self.read(cap.args[1], 260)
                    }
                }
                k::KVM_SET_ONE_REG => {
                    self.read(k::kvm_one_reg::read_from_bytes(&bytes).unwrap().addr, 8)
                }
                _ => Vec::new(),
            };
            self.calls
                .lock()
                .unwrap()
                .push((fd.0, request, bytes, val, pointee));
            match (request, arg) {
                (k::KVM_CREATE_VM | k::KVM_CREATE_VCPU | k::KVM_CREATE_GUEST_MEMFD, _) => {
                    Ok(self.fd())
                }
                (k::KVM_CREATE_DEVICE, IoctlArg::Buf(b)) => {
                    let fd = u32::try_from(self.fd()).unwrap();
                    b[4..8].copy_from_slice(&fd.to_le_bytes());
                    Ok(0)
                }
                (v12::KVM_ARM_RMI_POPULATE, IoctlArg::Buf(b)) => Ok(i64::try_from(
                    v12::kvm_arm_rmi_populate::read_from_bytes(b).unwrap().size,
                )
                .unwrap()),
                (k::KVM_GET_ONE_REG, IoctlArg::Buf(b)) => {
                    // ID_AA64DFR0_EL1 as a host with 6 breakpoints and 4 watchpoints reports it.
                    let reg = k::kvm_one_reg::read_from_bytes(b).unwrap();
                    let mems = self.memory.lock().unwrap();
                    let m = mems
                        .iter()
                        .find(|m| reg.addr >= m.hva && reg.addr < m.hva + m.region.size() as u64)
                        .unwrap();
                    let v: u64 = (5 << 12) | (3 << 20);
                    m.region
                        .as_volatile_slice()
                        .write_slice(&v.to_le_bytes(), usize::try_from(reg.addr - m.hva).unwrap())
                        .unwrap();
                    Ok(0)
                }
                (k::KVM_RUN, _) => Err(Errno::EINTR),
                _ => Ok(0),
            }
        }
        fn close(&self, _fd: Fd) {}
        fn map_memory(&self, size: u64) -> Result<UserMemory, BackendError> {
            let region = Arc::new(MmapRegion::new(usize::try_from(size).unwrap()).unwrap());
            let m = UserMemory {
                hva: region.as_ptr().addr() as u64,
                region,
            };
            self.memory.lock().unwrap().push(m.clone());
            Ok(m)
        }
        fn unmap_memory(&self, _mem: &UserMemory) {}
        fn run_area(&self, _vcpu_fd: Fd) -> Result<Box<dyn RunArea>, BackendError> {
            Ok(Box::new(Run(Mutex::new(vec![0; size_of::<k::kvm_run>()]))))
        }
    }

    fn record(abi: &str) -> (Recorder, Vec<Call>) {
        let mut cfg = ConfigFile {
            kernel: Some("k".into()),
            abi: Some(abi.into()),
            mem: Some("64M".into()),
            num_bps: Some(4),
            ..ConfigFile::default()
        }
        .validate()
        .unwrap();
        cfg.kernel = Some(crate::image::ImageSource::Bytes {
            name: "k".into(),
            data: Arc::from(synthetic_image(70_000, 1)),
        });
        let p = prepare(&cfg).unwrap();
        let rec = Recorder {
            abi: Some(cfg.abi),
            ..Recorder::default()
        };
        {
            let built = build(&rec, &p, &mut Quiet).unwrap();
            assert_eq!(built.stats.measured_bytes, 0x2_0000 + 0x1_0000);
        }
        let calls = rec.calls.lock().unwrap().clone();
        (rec, calls)
    }

    #[test]
    fn load_image_writes_what_one_write_slice_writes() {
        // Several pieces, a partial last one, at an unaligned offset; and an image that does not fit.
        let bytes = crate::image::filler(2 * LOAD_PIECE + 12_345, 5);
        let mem = |len: usize| UserMemory {
            region: Arc::new(MmapRegion::new(len).unwrap()),
            hva: 0,
        };
        let (a, b) = (mem(3 * LOAD_PIECE), mem(3 * LOAD_PIECE));
        load_image(&a, 4097, &bytes).unwrap();
        b.region
            .as_volatile_slice()
            .write_slice(&bytes, 4097)
            .unwrap();
        let read = |m: &UserMemory| {
            let mut v = vec![0u8; 3 * LOAD_PIECE];
            m.region.as_volatile_slice().read_slice(&mut v, 0).unwrap();
            v
        };
        assert_eq!(read(&a), read(&b));
        let small = mem(LOAD_PIECE);
        assert_eq!(
            load_image(&small, 1, &bytes).unwrap_err().to_string(),
            small
                .region
                .as_volatile_slice()
                .write_slice(&bytes, 1)
                .unwrap_err()
                .to_string()
        );
    }

    #[test]
    fn request_numbers_are_linuxs() {
        // Values of the Linux headers (include/uapi/linux/kvm.h, the v10/v12 realm patches).
        assert_eq!(k::KVM_CREATE_VM, 0xae01);
        assert_eq!(k::KVM_CREATE_VCPU, 0xae41);
        assert_eq!(k::KVM_RUN, 0xae80);
        assert_eq!(k::KVM_ENABLE_CAP, 0x4068_aea3);
        assert_eq!(k::KVM_SET_ONE_REG, 0x4010_aeac);
        assert_eq!(k::KVM_GET_ONE_REG, 0x4010_aeab);
        assert_eq!(k::KVM_ARM_VCPU_INIT, 0x4020_aeae);
        assert_eq!(k::KVM_ARM_PREFERRED_TARGET, 0x8020_aeaf);
        assert_eq!(k::KVM_ARM_VCPU_FINALIZE, 0x4004_aec2);
        assert_eq!(k::KVM_SET_USER_MEMORY_REGION2, 0x40a0_ae49);
        assert_eq!(k::KVM_CREATE_GUEST_MEMFD, 0xc040_aed4);
        assert_eq!(k::KVM_SET_MEMORY_ATTRIBUTES, 0x4020_aed2);
        assert_eq!(k::KVM_CREATE_DEVICE, 0xc00c_aee0);
        assert_eq!(k::KVM_SET_DEVICE_ATTR, 0x4018_aee1);
        assert_eq!(v12::KVM_ARM_RMI_POPULATE, 0x4020_aed7);
        assert_eq!(v12::KVM_ARM_VCPU_RMI_PSCI_COMPLETE, 0x4018_aed6);
        assert_eq!(REG_ID_AA64DFR0_EL1, 0x6030_0000_0013_c028);
        assert_eq!(REG_PMCR_EL0, 0x6030_0000_0013_dce0);
        assert_eq!(k::REG_PC, 0x6030_0000_0010_0040);
    }

    #[test]
    fn v12_sequence_and_argument_bytes() {
        let (rec, calls) = record("v12");
        let reqs: Vec<u64> = calls.iter().map(|c| c.1).collect();
        assert_eq!(reqs[0], k::KVM_CREATE_VM);
        assert_eq!(
            calls[0].3,
            Some(0x100 | 33),
            "KVM_VM_TYPE_ARM_REALM | 33-bit IPA"
        );
        assert_eq!(*reqs.last().unwrap(), k::KVM_RUN);
        assert!(!reqs.contains(&k::KVM_ENABLE_CAP), "v12 has no RME actions");
        // The memslot: guest_memfd-backed, at RAM base, 64 MiB.
        let slot = calls
            .iter()
            .find(|c| c.1 == k::KVM_SET_USER_MEMORY_REGION2)
            .unwrap();
        let r = k::kvm_userspace_memory_region2::read_from_bytes(&slot.2).unwrap();
        assert_eq!(
            (r.slot, r.flags, r.guest_phys_addr, r.memory_size),
            (0, k::KVM_MEM_GUEST_MEMFD, 0x8000_0000, 64 << 20)
        );
        // Populates: kernel then DTB, measured, with the source in the slot's memory.
        let pops: Vec<v12::kvm_arm_rmi_populate> = calls
            .iter()
            .filter(|c| c.1 == v12::KVM_ARM_RMI_POPULATE)
            .map(|c| v12::kvm_arm_rmi_populate::read_from_bytes(&c.2).unwrap())
            .collect();
        assert_eq!(pops.len(), 2);
        assert_eq!(
            (pops[0].base, pops[0].size, pops[0].flags, pops[0].reserved),
            (0x8000_0000, 0x2_0000, 1, 0)
        );
        assert_eq!(pops[0].source_uaddr, r.userspace_addr);
        assert_eq!(
            rec.read(pops[0].source_uaddr, 64),
            synthetic_image(70_000, 1)[..64].to_vec()
        );
        assert_eq!((pops[1].base, pops[1].size), (0x83e0_0000, 0x1_0000));
        assert_eq!(pops[1].source_uaddr, r.userspace_addr + 0x3e0_0000);
        // vCPU init asks for PSCI 0.2 only; PC then x0 by SET_ONE_REG.
        let init = calls.iter().find(|c| c.1 == k::KVM_ARM_VCPU_INIT).unwrap();
        assert_eq!(
            u32::from_le_bytes(init.2[4..8].try_into().unwrap()),
            1 << k::KVM_ARM_VCPU_PSCI_0_2
        );
        let sets: Vec<k::kvm_one_reg> = calls
            .iter()
            .filter(|c| c.1 == k::KVM_SET_ONE_REG)
            .map(|c| k::kvm_one_reg::read_from_bytes(&c.2).unwrap())
            .collect();
        assert_eq!(
            sets.iter().map(|s| s.id).collect::<Vec<_>>(),
            [REG_ID_AA64DFR0_EL1, k::REG_PC, k::REG_X[0]]
        );
        let values: Vec<u64> = calls
            .iter()
            .filter(|c| c.1 == k::KVM_SET_ONE_REG)
            .map(|c| u64::from_le_bytes(c.4[..8].try_into().unwrap()))
            .collect();
        // BRPs = 4 - 1 in bits [15:12], WRPs kept; PC = kernel; x0 = DTB.
        assert_eq!(values, [(3 << 12) | (3 << 20), 0x8000_0000, 0x83e0_0000]);
    }

    #[test]
    fn v10_sequence_and_argument_bytes() {
        let (_rec, calls) = record("v10");
        let caps: Vec<(u32, u64, u64, Vec<u8>)> = calls
            .iter()
            .filter(|c| c.1 == k::KVM_ENABLE_CAP)
            .map(|c| {
                let cap = k::kvm_enable_cap::read_from_bytes(&c.2).unwrap();
                (cap.cap, cap.args[0], cap.args[1], c.4.clone())
            })
            .collect();
        let actions: Vec<u64> = caps.iter().map(|c| c.1).collect();
        assert!(caps.iter().all(|c| c.0 == v10::KVM_CAP_ARM_RME));
        // CONFIG(hash), CREATE, INIT_RIPAS, POPULATE ×2, ACTIVATE.
        assert_eq!(actions, [0, 1, 2, 3, 3, 4]);
        let cfg = v10::arm_rme_config::read_from_prefix(&caps[0].3).unwrap().0;
        assert_eq!(
            (cfg.cfg, cfg.hash_algo()),
            (
                v10::ARM_RME_CONFIG_HASH_ALGO,
                v10::ARM_RME_CONFIG_HASH_ALGO_SHA256
            )
        );
        assert_eq!(caps[1].2, 0, "CREATE takes no argument");
        let ripas = v10::arm_rme_init_ripas::read_from_prefix(&caps[2].3)
            .unwrap()
            .0;
        assert_eq!((ripas.base, ripas.size), (0x8000_0000, 64 << 20));
        let pop = v10::arm_rme_populate_realm::read_from_prefix(&caps[3].3)
            .unwrap()
            .0;
        assert_eq!(
            (pop.base, pop.size, pop.flags),
            (
                0x8000_0000,
                0x2_0000,
                v10::KVM_ARM_RME_POPULATE_FLAGS_MEASURE
            )
        );
        assert_ne!(caps[3].2, 0);
        // The REC feature at init, FINALIZE(REC) after the registers, before ACTIVATE.
        let init = calls.iter().find(|c| c.1 == k::KVM_ARM_VCPU_INIT).unwrap();
        let features = u32::from_le_bytes(init.2[4..8].try_into().unwrap());
        assert_eq!(
            features,
            (1 << k::KVM_ARM_VCPU_PSCI_0_2) | (1 << v10::KVM_ARM_VCPU_REC)
        );
        let fin = calls
            .iter()
            .position(|c| c.1 == k::KVM_ARM_VCPU_FINALIZE)
            .unwrap();
        assert_eq!(calls[fin].2, v10::KVM_ARM_VCPU_REC.to_le_bytes());
        let last_set = calls
            .iter()
            .rposition(|c| c.1 == k::KVM_SET_ONE_REG)
            .unwrap();
        let activate = calls
            .iter()
            .rposition(|c| c.1 == k::KVM_ENABLE_CAP)
            .unwrap();
        assert!(last_set < fin && fin < activate);
    }
}
