//! vCPU fds (`kvm_vcpu_ioctl` then arm64's `kvm_arch_vcpu_ioctl`): `KVM_ARM_VCPU_INIT`, ONE_REG with the
//! realm restrictions, `KVM_ARM_VCPU_FINALIZE(REC)` (v10), `KVM_RUN` with first-run realm activation (v12)
//! and the REC exit handling, PSCI completion ioctls.

use std::sync::{Arc, Condvar, Mutex};

use realm_rmi::feature_register_0 as feat;
use realm_uapi::arm64::{
    CoreReg, KVM_ARM_TARGET_GENERIC_V8, KVM_ARM_VCPU_FINALIZE, KVM_ARM_VCPU_INIT,
    KVM_ARM_VCPU_PMU_V3, KVM_ARM_VCPU_POWER_OFF, KVM_ARM_VCPU_PSCI_0_2,
    KVM_ARM_VCPU_PTRAUTH_ADDRESS, KVM_ARM_VCPU_PTRAUTH_GENERIC, KVM_ARM_VCPU_SVE, KVM_GET_ONE_REG,
    KVM_REG_ARM64, KVM_REG_SIZE_MASK, KVM_RUN, KVM_SET_ONE_REG, kvm_one_reg, kvm_vcpu_init,
};
use realm_uapi::v10::KVM_ARM_VCPU_REC;
use realm_uapi::v12::{KVM_ARM_VCPU_RMI_PSCI_COMPLETE, kvm_arm_rmi_psci_complete};

use crate::fd::{Arg, Outcome};
use crate::rmi::{self, KvmRealmState};
use crate::run::KvmRun;
use crate::vm::Vm;
use crate::{AbiRevision, Errno, lock};
use realm_uapi::arm64::{REG_ID_AA64DFR0_EL1, REG_MPIDR_EL1, REG_PMCR_EL0, REG_SVE_VLS};

mod exit;
mod fault;
pub(crate) mod irq;
mod run_flags;
mod sve;

pub(crate) use sve::realm_sve_vl;

/// A REC the kernel created for a vCPU (`struct realm_rec`).
#[derive(Debug, Clone)]
pub(crate) struct Rec {
    pub(crate) rec: u64,
    pub(crate) run: u64,
    pub(crate) aux: Vec<u64>,
}

/// A pending MMIO access to complete on the next `KVM_RUN` (`kvm_handle_mmio_return`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PendingMmio {
    pub(crate) is_write: bool,
    pub(crate) len: u32,
}

/// The vCPU state (`struct kvm_vcpu_arch`, the parts modelled).
#[derive(Debug, Default)]
pub(crate) struct VcpuArch {
    /// `VCPU_INITIALIZED`.
    pub(crate) initialized: bool,
    pub(crate) features: u32,
    /// x0..x30, SP, PC, PSTATE.
    pub(crate) regs: [u64; 31],
    pub(crate) sp: u64,
    pub(crate) pc: u64,
    pub(crate) pstate: u64,
    /// MPIDR_EL1 affinity (`kvm_vcpu_get_mpidr_aff`).
    pub(crate) mpidr: u64,
    pub(crate) rec: Option<Rec>,
    /// `vcpu->pid` set: the first `KVM_RUN` setup is done.
    pub(crate) has_run: bool,
    /// Powered off (`KVM_ARM_VCPU_POWER_OFF` or PSCI CPU_OFF): `KVM_RUN` blocks until CPU_ON.
    pub(crate) power_off: bool,
    /// A pending "signal" (see [`crate::Kernel::kick`]).
    pub(crate) kicked: bool,
    pub(crate) pending_mmio: Option<PendingMmio>,
    /// ESR of the last REC exit (for the hypercall exit's SMC flag).
    pub(crate) last_esr: u64,
    /// The exit reason of the last REC exit, for `kvm_rec_pre_enter`.
    pub(crate) last_exit: Option<u64>,
    /// `vcpu->arch.sve_max_vl` (bits) of a vCPU with `KVM_ARM_VCPU_SVE`.
    pub(crate) sve_max_vl: u32,
    /// `KVM_ARM_VCPU_FINALIZE(KVM_ARM_VCPU_SVE)` done.
    pub(crate) sve_finalized: bool,
}

impl VcpuArch {
    pub(crate) fn has_feature(&self, bit: u32) -> bool {
        self.features & (1 << bit) != 0
    }
}

/// A vCPU (`struct kvm_vcpu`).
#[derive(Debug)]
pub(crate) struct Vcpu {
    pub(crate) id: u32,
    /// `vcpu->mutex`: one ioctl at a time.
    pub(crate) mutex: Mutex<()>,
    pub(crate) arch: Mutex<VcpuArch>,
    /// Wakes a vCPU blocked while powered off.
    pub(crate) wake: Condvar,
    pub(crate) run: KvmRun,
}

/// Default MPIDR affinity of vCPU `id` (`reset_mpidr`): Aff0 = id[3:0], Aff1 = id[11:4], Aff2 = id[19:12].
fn default_mpidr(id: u32) -> u64 {
    let id = u64::from(id);
    (id & 0xf) | (((id >> 4) & 0xff) << 8) | (((id >> 12) & 0xff) << 16)
}

impl Vcpu {
    pub(crate) fn new(id: u32) -> Self {
        let arch = VcpuArch {
            mpidr: default_mpidr(id),
            ..VcpuArch::default()
        };
        Self {
            id,
            mutex: Mutex::new(()),
            arch: Mutex::new(arch),
            wake: Condvar::new(),
            run: KvmRun::default(),
        }
    }
}

/// An open vCPU fd: pins the VM.
#[derive(Debug)]
pub(crate) struct VcpuFile {
    pub(crate) vm: Arc<Vm>,
    pub(crate) vcpu: Arc<Vcpu>,
}

/// `kvm_vcpu_ioctl()`; unknown requests → arm64 `kvm_arch_vcpu_ioctl()` → -EINVAL.
pub(crate) fn ioctl(f: &Arc<VcpuFile>, cmd: u64, arg: &mut Arg<'_, '_>) -> Result<Outcome, Errno> {
    let (vm, vcpu) = (&f.vm, &f.vcpu);
    let _guard = lock(&vcpu.mutex);
    let v = match cmd {
        KVM_RUN => {
            if arg.value() != 0 {
                return Err(Errno::EINVAL);
            }
            run(vm, vcpu)?
        }
        KVM_ARM_VCPU_INIT => {
            vcpu_init(vm, vcpu, &arg.read_struct()?)?;
            0
        }
        KVM_SET_ONE_REG | KVM_GET_ONE_REG => {
            if !lock(&vcpu.arch).initialized {
                return Err(Errno::ENOEXEC);
            }
            let kvm_one_reg { id, addr } = arg.read_struct()?;
            if cmd == KVM_SET_ONE_REG {
                set_one_reg(vm, vcpu, id, addr, arg)?;
            } else {
                get_one_reg(vm, vcpu, id, addr, arg)?;
            }
            0
        }
        KVM_ARM_VCPU_FINALIZE => {
            if !lock(&vcpu.arch).initialized {
                return Err(Errno::ENOEXEC);
            }
            finalize(vm, vcpu, arg.read_struct()?)?;
            0
        }
        KVM_ARM_VCPU_RMI_PSCI_COMPLETE => {
            psci_complete_ioctl(vm, vcpu, arg)?;
            0
        }
        _ => return Err(Errno::EINVAL),
    };
    Ok(Outcome::Value(v))
}

/// Features this host supports for `vm` (`system_supported_vcpu_features`): POWER_OFF, PSCI_0_2, the
/// pointer-auth pair, PMUv3 (for realms only if FEATURES.PMU_EN), SVE when the host has it (for realms only
/// if FEATURES.SVE_EN), and v10's REC bit for realms. AArch32 EL1 and nested virtualisation are not offered.
fn supported_features(vm: &Vm) -> u32 {
    let mut f = (1 << KVM_ARM_VCPU_POWER_OFF)
        | (1 << KVM_ARM_VCPU_PSCI_0_2)
        | (1 << KVM_ARM_VCPU_PTRAUTH_ADDRESS)
        | (1 << KVM_ARM_VCPU_PTRAUTH_GENERIC);
    if !vm.is_realm
        || vm
            .shared
            .rmm_feat_reg0
            .is_some_and(|r| feat::PMU_EN.get(r) != 0)
    {
        f |= 1 << KVM_ARM_VCPU_PMU_V3;
    }
    if sve::supported(vm) {
        f |= 1 << KVM_ARM_VCPU_SVE;
    }
    if vm.is_realm && vm.abi() == AbiRevision::V10 {
        f |= 1 << KVM_ARM_VCPU_REC;
    }
    f
}

/// `kvm_arch_vcpu_ioctl_vcpu_init()`: target must be GENERIC_V8 (-EINVAL); `kvm_vcpu_init_check_features`:
/// features[1..] non-zero or unknown bits → -ENOENT (`KVM_VCPU_MAX_FEATURES` is 9, v10 raises it to 10 for
/// REC), unsupported → -EINVAL, one pointer-auth bit without the other → -EINVAL, AArch32 → -EINVAL
/// (realms always, 12/46); then every vCPU of the VM must use the same features except POWER_OFF (-EINVAL);
/// (re)init resets the registers.
fn vcpu_init(vm: &Vm, vcpu: &Vcpu, init: &kvm_vcpu_init) -> Result<(), Errno> {
    if init.target != KVM_ARM_TARGET_GENERIC_V8 {
        return Err(Errno::EINVAL);
    }
    if init.features[1..].iter().any(|&w| w != 0) {
        return Err(Errno::ENOENT);
    }
    let features = init.features[0];
    let max_features = if vm.abi() == AbiRevision::V10 { 10 } else { 9 };
    if features >> max_features != 0 {
        return Err(Errno::ENOENT);
    }
    if features & !supported_features(vm) != 0 {
        return Err(Errno::EINVAL);
    }
    let pa = features & (1 << KVM_ARM_VCPU_PTRAUTH_ADDRESS) != 0;
    let pg = features & (1 << KVM_ARM_VCPU_PTRAUTH_GENERIC) != 0;
    if pa != pg {
        return Err(Errno::EINVAL);
    }
    let mut inner = vm.lock();
    // POWER_OFF is per vCPU (VMMs start secondaries powered off); every other bit is VM-wide.
    let vm_features = features & !(1 << KVM_ARM_VCPU_POWER_OFF);
    if inner.vcpu_features.is_some_and(|f| f != vm_features) {
        return Err(Errno::EINVAL);
    }
    inner.vcpu_features = Some(vm_features);
    if features & (1 << KVM_ARM_VCPU_PMU_V3) != 0 {
        inner.realm.pmu = true;
    }
    drop(inner);
    let mut arch = lock(&vcpu.arch);
    arch.features = features;
    arch.initialized = true;
    // kvm_reset_vcpu(): general registers zero, EL1h with DAIF masked.
    arch.regs = [0; 31];
    arch.sp = 0;
    arch.pc = 0;
    arch.pstate = 0x3c5;
    arch.power_off = features & (1 << KVM_ARM_VCPU_POWER_OFF) != 0;
    drop(arch);
    if features & (1 << KVM_ARM_VCPU_SVE) != 0 {
        sve::enable(vm, vcpu);
    }
    Ok(())
}

/// Core register index of a 64-bit `KVM_REG_ARM_CORE` id: `Some(n)` for x0..x30 (n), SP (31), PC (32),
/// PSTATE (33).
fn core_index(id: u64) -> Option<usize> {
    match CoreReg::from_id(id)? {
        CoreReg::X(n) => Some(usize::from(n)),
        CoreReg::Sp => Some(31),
        CoreReg::Pc => Some(32),
        CoreReg::Pstate => Some(33),
    }
}

/// Whether `id` lies in the arm64 one-reg id space (`KVM_REG_ARM64`, any size): else -EINVAL.
fn is_arm64_reg(id: u64) -> bool {
    (id & !KVM_REG_SIZE_MASK) >> 32 == KVM_REG_ARM64 >> 32
}

/// `kvm_arm_set_reg()`: an id outside the arm64 space → -EINVAL; then `validate_realm_set_reg()` (v10 and
/// v12, guest.c): a realm vCPU may only write x0..x30, PC (`kvm_realm_validate_core_reg`), PMCR_EL0 and
/// ID_AA64DFR0_EL1, anything else → -EINVAL. The value is read from `addr` in user memory (-EFAULT).
/// Unknown ids → -ENOENT.
fn set_one_reg(vm: &Vm, vcpu: &Vcpu, id: u64, addr: u64, arg: &Arg<'_, '_>) -> Result<(), Errno> {
    if !is_arm64_reg(id) {
        return Err(Errno::EINVAL);
    }
    let core = core_index(id);
    if vm.is_realm {
        let allowed = matches!(core, Some(0..=30 | 32))
            || [REG_ID_AA64DFR0_EL1, REG_PMCR_EL0, REG_SVE_VLS].contains(&id);
        if !allowed {
            return Err(Errno::EINVAL);
        }
    }
    let mut v = [0u8; 8];
    match core {
        Some(i) => {
            arg.user().read(addr, &mut v)?;
            let val = u64::from_le_bytes(v);
            let mut arch = lock(&vcpu.arch);
            match i {
                0..=30 => arch.regs[i] = val,
                31 => arch.sp = val,
                32 => arch.pc = val,
                _ => arch.pstate = val,
            }
            Ok(())
        }
        None if id == REG_ID_AA64DFR0_EL1 => {
            arg.user().read(addr, &mut v)?;
            let val = u64::from_le_bytes(v);
            let mut inner = vm.lock();
            if inner.has_ran_once || inner.realm.state != KvmRealmState::None {
                // The VM-wide ID register is immutable once the VM has run / the realm exists.
                return Err(Errno::EBUSY);
            }
            inner.realm.dfr0_bps_wps = Some(((val >> 12) & 0xf, (val >> 20) & 0xf));
            Ok(())
        }
        None if id == REG_SVE_VLS => {
            let mut vls = [0u8; sve::VLS_BYTES];
            arg.user().read(addr, &mut vls)?;
            sve::set_vls(vm, vcpu, &vls)
        }
        None if id == REG_PMCR_EL0 => {
            arg.user().read(addr, &mut v)?;
            set_pmcr(vm, u64::from_le_bytes(v));
            Ok(())
        }
        None => Err(Errno::ENOENT),
    }
}

/// `set_pmcr()` (v6.19 `sys_regs.c`): REG_PMCR_EL0.N (bits [15:11]) sets `kvm->arch.nr_pmu_counters` while the VM
/// has not run and N is within the maximum (for a realm, FEATURES PMU_NUM_CTRS); otherwise it is ignored
/// without an error, "to maintain compatibility with the existing KVM behavior".
fn set_pmcr(vm: &Vm, val: u64) {
    let max = feat::PMU_NUM_CTRS.get(vm.shared.rmm_feat_reg0.unwrap_or(0));
    let n = (val >> 11) & 0x1f;
    let mut inner = vm.lock();
    if !inner.has_ran_once && n <= max {
        inner.realm.nr_pmu_counters = Some(n);
    }
}

/// `kvm_arm_get_reg()`: core registers, REG_MPIDR_EL1 and REG_ID_AA64DFR0_EL1; the value is written to `addr`.
fn get_one_reg(vm: &Vm, vcpu: &Vcpu, id: u64, addr: u64, arg: &Arg<'_, '_>) -> Result<(), Errno> {
    if !is_arm64_reg(id) {
        return Err(Errno::EINVAL);
    }
    let val = match core_index(id) {
        Some(i) => {
            let arch = lock(&vcpu.arch);
            match i {
                0..=30 => arch.regs[i],
                31 => arch.sp,
                32 => arch.pc,
                _ => arch.pstate,
            }
        }
        None if id == REG_SVE_VLS => return arg.user().write(addr, &sve::get_vls(vcpu)?),
        None if id == REG_MPIDR_EL1 => lock(&vcpu.arch).mpidr | (1 << 31),
        None if id == REG_ID_AA64DFR0_EL1 => {
            let reg0 = vm.shared.rmm_feat_reg0.unwrap_or(0);
            let (b, w) = vm
                .lock()
                .realm
                .dfr0_bps_wps
                .unwrap_or((feat::NUM_BPS.get(reg0) & 0xf, feat::NUM_WPS.get(reg0) & 0xf));
            0x6 | (b << 12) | (w << 20)
        }
        None => return Err(Errno::ENOENT),
    };
    arg.user().write(addr, &val.to_le_bytes())
}

/// `kvm_arm_vcpu_finalize(vcpu, what)`: `KVM_ARM_VCPU_SVE` finalizes the vector lengths; v10
/// `KVM_ARM_VCPU_REC` creates the REC; anything else → -EINVAL.
fn finalize(vm: &Vm, vcpu: &Vcpu, what: i32) -> Result<(), Errno> {
    match (what, vm.abi()) {
        (w, _) if w == KVM_ARM_VCPU_SVE.cast_signed() => sve::finalize(vcpu),
        (w, AbiRevision::V10) if w == KVM_ARM_VCPU_REC.cast_signed() => {
            rmi::v10::finalize_rec(vm, vcpu)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// `KVM_ARM_VCPU_RMI_PSCI_COMPLETE` (v12 06/46) / `KVM_ARM_VCPU_RMM_PSCI_COMPLETE` (v10): non-REC vCPU →
/// -EPERM; `copy_from_user` (-EFAULT); no vCPU with `target_mpidr` → -EINVAL; `RMI_PSCI_COMPLETE(calling
/// REC, target REC, status)` failure → -EINVAL. Issued on the calling (source) vCPU's fd.
fn psci_complete_ioctl(vm: &Vm, vcpu: &Vcpu, arg: &Arg<'_, '_>) -> Result<(), Errno> {
    let is_rec = vm.is_realm
        && (vm.abi() == AbiRevision::V12 || lock(&vcpu.arch).has_feature(KVM_ARM_VCPU_REC));
    if !is_rec {
        return Err(Errno::EPERM);
    }
    let req: kvm_arm_rmi_psci_complete = arg.read_struct()?;
    let (target_mpidr, status) = (req.target_mpidr, req.psci_status);
    let target = exit::mpidr_to_vcpu(vm, target_mpidr).ok_or(Errno::EINVAL)?;
    exit::realm_psci_complete(vm, vcpu, &target, u64::from(status))
}

/// `KVM_RUN`. First run of this vCPU (`kvm_arch_vcpu_run_pid_change`): uninitialised → -ENOEXEC; v10 REC
/// not finalized → -EPERM; SVE not finalized → -EPERM; v12 → `kvm_activate_realm()`. Then (`kvm_arch_vcpu_ioctl_run`): complete a
/// pending MMIO, `immediate_exit` → -EINTR, then enter the REC until an exit needs userspace.
fn run(vm: &Arc<Vm>, vcpu: &Vcpu) -> Result<i64, Errno> {
    let first = {
        let arch = lock(&vcpu.arch);
        if !arch.initialized {
            return Err(Errno::ENOEXEC);
        }
        if vm.is_realm
            && vm.abi() == AbiRevision::V10
            && arch.has_feature(KVM_ARM_VCPU_REC)
            && arch.rec.is_none()
        {
            return Err(Errno::EPERM);
        }
        !arch.has_run
    };
    if !sve::is_finalized(vcpu) {
        return Err(Errno::EPERM);
    }
    if first {
        if vm.is_realm && vm.abi() == AbiRevision::V12 {
            rmi::activate_v12(vm)?;
        }
        vm.lock().has_ran_once = true;
        lock(&vcpu.arch).has_run = true;
    }
    exit::run_loop(vm, vcpu)
}
