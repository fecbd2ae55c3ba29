//! Entering a REC and mapping its exits to what the VMM sees (v12 `arch/arm64/kvm/rmi-exit.c`,
//! `kvm_rec_pre_enter`/`kvm_rec_enter` of rmi.c, the realm hooks in `mmio.c`/`psci.c`/`hypercalls.c`).

use std::mem::offset_of;
use std::sync::Arc;

use realm_rmi::{
    REC_ENTRY_FLAG_EMUL_MMIO, REC_ENTRY_FLAG_RIPAS_RESPONSE, RMI_EMPTY, RMI_ERROR_REALM,
    RMI_EXIT_FIQ, RMI_EXIT_HOST_CALL, RMI_EXIT_IRQ, RMI_EXIT_PSCI, RMI_EXIT_RIPAS_CHANGE,
    RMI_EXIT_SYNC, RMI_RAM, RmiRecEnter, RmiRecExit, RmiRecRun,
};
use zerocopy::{FromZeros, IntoBytes};

use realm_uapi::arm64::{
    KVM_EXIT_INTERNAL_ERROR, KVM_EXIT_INTR, KVM_EXIT_MMIO, KVM_EXIT_SHUTDOWN, KVM_EXIT_UNKNOWN,
    KVM_HYPERCALL_EXIT_SMC, KVM_SYSTEM_EVENT_RESET, KVM_SYSTEM_EVENT_SHUTDOWN,
};

use realm_rmi::psci::{
    PSCI_AFFINITY_INFO_32, PSCI_AFFINITY_INFO_64, PSCI_CPU_OFF, PSCI_CPU_ON_32, PSCI_CPU_ON_64,
    PSCI_RETURN_ALREADY_ON, PSCI_RETURN_DENIED, PSCI_RETURN_INVALID_PARAMS, PSCI_RETURN_SUCCESS,
    PSCI_SYSTEM_OFF, PSCI_SYSTEM_RESET, SMCCC_RET_NOT_SUPPORTED,
};

use crate::abi::{KVM_SMCCC_FILTER_DENY, KVM_SMCCC_FILTER_FWD_TO_USER, KVM_SMCCC_FILTER_HANDLE};
use crate::rmi::KvmRealmState;
use crate::vm::Vm;
use crate::{Errno, PAGE_SIZE, lock};

use super::{PendingMmio, Vcpu, fault, irq};

/// PSCI calls the kernel handles for a realm, SMC32 and SMC64 forms (v12 `kvm_psci_call`).
const PSCI_CPU_ON: [u32; 2] = [PSCI_CPU_ON_32, PSCI_CPU_ON_64];
const PSCI_AFFINITY_INFO: [u32; 2] = [PSCI_AFFINITY_INFO_32, PSCI_AFFINITY_INFO_64];
/// `MPIDR_HWID_BITMASK`.
const MPIDR_HWID_BITMASK: u64 = 0xff_00ff_ffff;

/// `kvm_mpidr_to_vcpu()`.
pub(crate) fn mpidr_to_vcpu(vm: &Vm, mpidr: u64) -> Option<Arc<Vcpu>> {
    let mpidr = mpidr & MPIDR_HWID_BITMASK;
    vm.vcpu_list()
        .into_iter()
        .find(|v| lock(&v.arch).mpidr == mpidr)
}

/// `realm_psci_complete(calling, target, status)`: `RMI_PSCI_COMPLETE` with both RECs; failure (or a vCPU
/// without a REC) → -EINVAL.
pub(crate) fn realm_psci_complete(
    vm: &Vm,
    calling: &Vcpu,
    target: &Vcpu,
    status: u64,
) -> Result<(), Errno> {
    let (c, t) = rec_pair(calling, target).ok_or(Errno::EINVAL)?;
    if vm.shared.cmds().psci_complete(c, t, status).ok() {
        Ok(())
    } else {
        Err(Errno::EINVAL)
    }
}

/// The REC addresses of `calling` and `target`, `None` if either has no REC.
fn rec_pair(calling: &Vcpu, target: &Vcpu) -> Option<(u64, u64)> {
    let rec = |v: &Vcpu| lock(&v.arch).rec.as_ref().map(|r| r.rec);
    let c = rec(calling)?;
    let t = if std::ptr::eq(calling, target) {
        c
    } else {
        rec(target)?
    };
    Some((c, t))
}

/// Offsets in `rec_run` of the fields the kernel writes back one at a time.
const ENTER_FLAGS: u64 = (offset_of!(RmiRecRun, enter) + offset_of!(RmiRecEnter, flags)) as u64;
const ENTER_GPRS: u64 = (offset_of!(RmiRecRun, enter) + offset_of!(RmiRecEnter, gprs)) as u64;
const EXIT_RIPAS_BASE: u64 =
    (offset_of!(RmiRecRun, exit) + offset_of!(RmiRecExit, ripas_base)) as u64;

/// The REC's `rec_run` page.
fn read_run(vm: &Vm, run_pa: u64) -> RmiRecRun {
    let mut run = RmiRecRun::new_zeroed();
    let r = vm.shared.mem.read(run_pa, run.as_mut_bytes());
    debug_assert!(r.is_ok(), "rec_run {run_pa:#x} unreadable: {r:?}");
    run
}

/// `exit.exit_reason` as the kernel reads it (a `u8` in `struct rec_exit`).
fn exit_reason(exit: &RmiRecExit) -> u64 {
    exit.exit_reason & 0xff
}

/// The run loop of `kvm_arch_vcpu_ioctl_run` for a REC.
pub(crate) fn run_loop(vm: &Arc<Vm>, vcpu: &Vcpu) -> Result<i64, Errno> {
    if !vm.is_realm {
        // Normal VMs are configurable but not runnable in this model.
        return Err(Errno::ENOSYS);
    }
    // kvm_handle_mmio_return(): complete the access the VMM emulated.
    if vcpu.run.exit_reason() == KVM_EXIT_MMIO {
        complete_mmio(vm, vcpu);
    }
    if vcpu.run.immediate_exit() != 0 {
        return Err(Errno::EINTR);
    }
    vcpu.run.set_exit_reason(KVM_EXIT_UNKNOWN);
    loop {
        // A powered-off vCPU sleeps until PSCI CPU_ON wakes it (or a kick, like a signal → -EINTR).
        {
            let mut arch = lock(&vcpu.arch);
            while arch.power_off && !arch.kicked {
                arch = vcpu
                    .wake
                    .wait(arch)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
            if arch.kicked {
                // A pending signal: KVM_EXIT_INTR, -EINTR (kvm_vcpu_exit_request / xfer_to_guest_mode).
                arch.kicked = false;
                vcpu.run.set_exit_reason(KVM_EXIT_INTR);
                return Err(Errno::EINTR);
            }
        }
        let (rec, run_pa) = pre_enter(vm, vcpu)?;
        irq::flush(vm, vcpu, run_pa);
        super::run_flags::sync_wfx_traps(vm, run_pa);
        let ret = vm.shared.cmds().rec_enter(rec, run_pa);
        match handle_exit(vm, vcpu, run_pa, ret.0.x[0])? {
            Continue::Enter => {}
            Continue::User => return Ok(0),
        }
    }
}

pub(crate) enum Continue {
    Enter,
    User,
}

/// `kvm_handle_mmio_return()` for a REC: a read's data goes to `rec_enter.gprs[0]`; either way the entry
/// flags carry `REC_ENTER_FLAG_EMULATED_MMIO`.
fn complete_mmio(vm: &Vm, vcpu: &Vcpu) {
    let mut arch = lock(&vcpu.arch);
    let Some(PendingMmio { is_write, len }) = arch.pending_mmio.take() else {
        return;
    };
    let Some(run_pa) = arch.rec.as_ref().map(|r| r.run) else {
        return;
    };
    drop(arch);
    let read = (!is_write).then(|| {
        let (_, data, _, _) = vcpu.run.mmio();
        let mut enter = [0u8; 8];
        let n = usize::try_from(len).unwrap_or(8).min(8);
        enter[..n].copy_from_slice(&data[..n]);
        u64::from_le_bytes(enter)
    });
    emulated_mmio_done(vm, run_pa, read);
}

/// Complete an emulated MMIO access for the next `RMI_REC_ENTER` (whether the VMM or the in-kernel vgic
/// emulated it): a read's value into `rec_enter.gprs[0]`, and `REC_ENTER_FLAG_EMULATED_MMIO` added to the
/// entry flags.
pub(super) fn emulated_mmio_done(vm: &Vm, run_pa: u64, read: Option<u64>) {
    if let Some(value) = read {
        let _ = vm
            .shared
            .mem
            .write(run_pa + ENTER_GPRS, &value.to_le_bytes());
    }
    let mut flags = [0u8; 8];
    let _ = vm.shared.mem.read(run_pa + ENTER_FLAGS, &mut flags);
    let f = u64::from_le_bytes(flags) | REC_ENTRY_FLAG_EMUL_MMIO;
    let _ = vm.shared.mem.write(run_pa + ENTER_FLAGS, &f.to_le_bytes());
}

/// `kvm_rec_pre_enter()`: the realm must be ACTIVE (-EINVAL); after a PSCI or host-call exit the vCPU's
/// x0..x30 go back into `rec_enter.gprs`; after a RIPAS change the change is committed
/// (`kvm_complete_ripas_change`).
fn pre_enter(vm: &Vm, vcpu: &Vcpu) -> Result<(u64, u64), Errno> {
    let state = vm.lock().realm.state;
    let mut arch = lock(&vcpu.arch);
    if state != KvmRealmState::Active {
        return Err(Errno::EINVAL);
    }
    let rec = arch.rec.clone().ok_or(Errno::EINVAL)?;
    match arch.last_exit.take() {
        Some(RMI_EXIT_PSCI | RMI_EXIT_HOST_CALL) => {
            let g: Vec<u8> = arch.regs.iter().flat_map(|r| r.to_le_bytes()).collect();
            let _ = vm.shared.mem.write(rec.run + ENTER_GPRS, &g);
        }
        Some(RMI_EXIT_RIPAS_CHANGE) => {
            drop(arch);
            complete_ripas_change(vm, rec.rec, rec.run);
            arch = lock(&vcpu.arch);
        }
        _ => {}
    }
    drop(arch);
    Ok((rec.rec, rec.run))
}

/// `kvm_complete_ripas_change()`: `RMI_RTT_SET_RIPAS` over `[ripas_base, ripas_top)` (with the v12 skip
/// hack), unmapping private pages made EMPTY; `exit.ripas_base` records the progress.
fn complete_ripas_change(vm: &Vm, rec: u64, run_pa: u64) {
    let exit = read_run(vm, run_pa).exit;
    let (mut base, top, ripas) = (exit.ripas_base, exit.ripas_top, u64::from(exit.ripas_value));
    let inner = vm.lock();
    let Some(ctx) = vm.ctx(&inner) else { return };
    let v12 = vm.abi() == crate::AbiRevision::V12;
    while base < top {
        let start = base;
        match ctx.ripas_set(rec, base, top, v12) {
            Ok(t) => base = t,
            Err(_) => break,
        }
        if ripas == RMI_EMPTY && base != start {
            ctx.unmap_private_range(start, base);
        }
        if base == start {
            break;
        }
    }
    drop(inner);
    let _ = vm
        .shared
        .mem
        .write(run_pa + EXIT_RIPAS_BASE, &base.to_le_bytes());
}

/// `handle_rec_exit()` (v12 rmi-exit.c).
fn handle_exit(vm: &Vm, vcpu: &Vcpu, run_pa: u64, x0: u64) -> Result<Continue, Errno> {
    let status = x0.to_le_bytes();
    if status[0] == RMI_ERROR_REALM && status[1] == 1 {
        // v12: the realm was shut down (PSCI SYSTEM_OFF raced with this entry).
        vcpu.run.set_exit_reason(KVM_EXIT_SHUTDOWN);
        return Ok(Continue::User);
    }
    if x0 != 0 {
        return Err(Errno::ENXIO);
    }
    let exit = read_run(vm, run_pa).exit;
    // The entry flags are reset for the next run of the REC.
    let _ = vm
        .shared
        .mem
        .write(run_pa + ENTER_FLAGS, &0u64.to_le_bytes());
    irq::sync(vm, vcpu, &exit);
    let reason = exit_reason(&exit);
    let esr = exit.esr;
    {
        let mut arch = lock(&vcpu.arch);
        arch.last_esr = esr;
        arch.last_exit = Some(reason);
    }
    match reason {
        RMI_EXIT_SYNC => sync_exit(vm, vcpu, run_pa, &exit, esr),
        RMI_EXIT_IRQ | RMI_EXIT_FIQ => {
            // The host took its interrupt; the run loop's cond_resched() lets other runnable threads (other
            // vCPUs among them) have the CPU before the REC is entered again. Without it a vCPU spinning in
            // WFE or on its instruction budget would starve the one it waits for.
            std::thread::yield_now();
            Ok(Continue::Enter)
        }
        RMI_EXIT_PSCI | RMI_EXIT_HOST_CALL => {
            lock(&vcpu.arch).regs = exit.gprs;
            smccc_call(vm, vcpu, esr)
        }
        RMI_EXIT_RIPAS_CHANGE => {
            let (base, top, ripas) = (exit.ripas_base, exit.ripas_top, u64::from(exit.ripas_value));
            let sb = vm.shared_bit();
            if base & sb != 0 || top.wrapping_sub(1) & sb != 0 || top <= base {
                let _ = vm.shared.mem.write(
                    run_pa + ENTER_FLAGS,
                    &REC_ENTRY_FLAG_RIPAS_RESPONSE.to_le_bytes(),
                );
                return Err(Errno::EINVAL);
            }
            vcpu.run
                .prepare_memory_fault(base, top - base, ripas == RMI_RAM);
            Err(Errno::EFAULT)
        }
        _ => {
            vcpu.run.set_exit_reason(KVM_EXIT_INTERNAL_ERROR);
            Ok(Continue::User)
        }
    }
}

/// A synchronous exit: aborts on memslot pages are stage-2 faults ([`fault::map_protected`] for the
/// protected half, [`fault::map_shared`] for the unprotected alias); data aborts in the shared half with a
/// valid syndrome and no memslot become `KVM_EXIT_MMIO` (write data from `exit.gprs[0]`); WFx re-enters;
/// anything else → internal error.
fn sync_exit(
    vm: &Vm,
    vcpu: &Vcpu,
    run_pa: u64,
    exit: &RmiRecExit,
    esr: u64,
) -> Result<Continue, Errno> {
    let ec = (esr >> 26) & 0x3f;
    match ec {
        // WFI (ISS.TI = 0) halts until an interrupt is pending; WFE just runs again.
        0x01 => {
            if esr & 1 == 0 {
                irq::wfi(vm, vcpu);
            }
            Ok(Continue::Enter)
        }
        0x18 if irq::sysreg(vm, vcpu, exit, esr) => Ok(Continue::Enter),
        0x20 | 0x24 => {
            let (far, hpfar) = (exit.far, exit.hpfar);
            let ipa = ((hpfar & 0xff_ffff_fff0) << 8) | (far & 0xfff);
            let isv = esr & (1 << 24) != 0;
            let gpa = ipa & !vm.shared_bit();
            let in_slot = vm
                .lock()
                .memslots
                .values()
                .any(|s| s.contains(gpa / PAGE_SIZE));
            if in_slot {
                let page = ipa & !(PAGE_SIZE - 1);
                return if ipa & vm.shared_bit() == 0 {
                    fault::map_protected(vm, vcpu, page)
                } else {
                    fault::map_shared(vm, vcpu, page)
                };
            }
            if ec != 0x24 || !isv {
                vcpu.run.set_exit_reason(KVM_EXIT_INTERNAL_ERROR);
                return Ok(Continue::User);
            }
            let len = 1u32 << ((esr >> 22) & 3);
            let is_write = esr & (1 << 6) != 0;
            let mut data = [0u8; 8];
            if is_write {
                let v = exit.gprs[0].to_le_bytes();
                let n = usize::try_from(len).unwrap_or(8);
                data[..n].copy_from_slice(&v[..n]);
            }
            let write = is_write.then(|| exit.gprs[0]);
            if irq::mmio(vm, vcpu, run_pa, gpa, len, write) {
                return Ok(Continue::Enter);
            }
            lock(&vcpu.arch).pending_mmio = Some(PendingMmio { is_write, len });
            vcpu.run.prepare_mmio(ipa, data, len, is_write);
            Ok(Continue::User)
        }
        _ => {
            vcpu.run.set_exit_reason(KVM_EXIT_INTERNAL_ERROR);
            Ok(Continue::User)
        }
    }
}

/// `kvm_smccc_call_handler()`: the SMCCC filter decides — FWD_TO_USER → `KVM_EXIT_HYPERCALL` (nr = function
/// id, SMC flag from the exit's ESR); DENY → x0 = NOT_SUPPORTED and re-enter; HANDLE → in-kernel PSCI.
fn smccc_call(vm: &Vm, vcpu: &Vcpu, esr: u64) -> Result<Continue, Errno> {
    #[expect(
        clippy::cast_possible_truncation,
        reason = "SMCCC function ids are 32-bit"
    )]
    let func = lock(&vcpu.arch).regs[0] as u32;
    let action = vm
        .lock()
        .smccc_filter
        .iter()
        .find(|r| r.start <= func && func <= r.end)
        .map_or(KVM_SMCCC_FILTER_HANDLE, |r| r.action);
    match action {
        KVM_SMCCC_FILTER_FWD_TO_USER => {
            let ec = (esr >> 26) & 0x3f;
            let flags = if ec == 0x17 || ec == 0x13 {
                u64::from(KVM_HYPERCALL_EXIT_SMC)
            } else {
                0
            };
            vcpu.run.prepare_hypercall(u64::from(func), flags);
            Ok(Continue::User)
        }
        KVM_SMCCC_FILTER_DENY => {
            lock(&vcpu.arch).regs[0] = SMCCC_RET_NOT_SUPPORTED;
            Ok(Continue::Enter)
        }
        _ => psci_call(vm, vcpu, func),
    }
}

/// In-kernel PSCI for a REC (v12): CPU_ON powers the target on and completes with SUCCESS (ALREADY_ON →
/// SUCCESS, other failures → DENIED); AFFINITY_INFO (lowest level 0 only) completes with SUCCESS;
/// CPU_OFF powers this vCPU off; SYSTEM_OFF/RESET → `KVM_EXIT_SYSTEM_EVENT`. Other calls → NOT_SUPPORTED.
fn psci_call(vm: &Vm, vcpu: &Vcpu, func: u32) -> Result<Continue, Errno> {
    let (x1, x3) = {
        let a = lock(&vcpu.arch);
        (a.regs[1], a.regs[3])
    };
    let set_x0 = |v: u64| lock(&vcpu.arch).regs[0] = v;
    if PSCI_CPU_ON.contains(&func) {
        let Some(target) = mpidr_to_vcpu(vm, x1) else {
            set_x0(PSCI_RETURN_INVALID_PARAMS);
            return Ok(Continue::Enter);
        };
        // v12 psci.c `kvm_psci_vcpu_on`: a powered-off target gets PSCI_COMPLETE(SUCCESS) under its
        // mp_state lock, *before* it is made runnable ("Make sure we issue PSCI_COMPLETE before the VCPU
        // can be scheduled"), so a woken vCPU never enters a REC whose CPU_ON the RMM still holds pending.
        // Otherwise PSCI_COMPLETE follows the unlock: ALREADY_ON → SUCCESS, other failures → DENIED.
        let recs = rec_pair(vcpu, &target);
        let ret = {
            let mut t = lock(&target.arch);
            if t.power_off {
                if let Some((c, tr)) = recs {
                    let _ = vm.shared.cmds().psci_complete(c, tr, PSCI_RETURN_SUCCESS);
                }
                t.power_off = false;
                target.wake.notify_all();
                PSCI_RETURN_SUCCESS
            } else {
                PSCI_RETURN_ALREADY_ON
            }
        };
        if ret != PSCI_RETURN_SUCCESS {
            let status = if ret == PSCI_RETURN_ALREADY_ON {
                PSCI_RETURN_SUCCESS
            } else {
                PSCI_RETURN_DENIED
            };
            let _ = realm_psci_complete(vm, vcpu, &target, status);
        }
        set_x0(ret);
        return Ok(Continue::Enter);
    }
    if PSCI_AFFINITY_INFO.contains(&func) {
        let lowest = lock(&vcpu.arch).regs[2];
        match mpidr_to_vcpu(vm, x1) {
            Some(target) if lowest == 0 => {
                let _ = realm_psci_complete(vm, vcpu, &target, PSCI_RETURN_SUCCESS);
                let off = lock(&target.arch).power_off;
                set_x0(u64::from(off));
            }
            _ => set_x0(PSCI_RETURN_INVALID_PARAMS),
        }
        let _ = x3;
        return Ok(Continue::Enter);
    }
    match func {
        PSCI_CPU_OFF => {
            lock(&vcpu.arch).power_off = true;
            Ok(Continue::Enter)
        }
        PSCI_SYSTEM_OFF => {
            vcpu.run.prepare_system_event(KVM_SYSTEM_EVENT_SHUTDOWN, 0);
            Ok(Continue::User)
        }
        PSCI_SYSTEM_RESET => {
            vcpu.run.prepare_system_event(KVM_SYSTEM_EVENT_RESET, 0);
            Ok(Continue::User)
        }
        _ => {
            set_x0(SMCCC_RET_NOT_SUPPORTED);
            Ok(Continue::Enter)
        }
    }
}
