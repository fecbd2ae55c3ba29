//! The vgic around `RMI_REC_ENTER` for a REC (v10/v12 `kvm_rec_enter` → `kvm_vgic_flush_hwstate` →
//! `vgic_rmm_restore_state`; after the exit `vgic_rmm_save_state`, `kvm_realm_timers_update`), the vgic's
//! MMIO on the io bus (`io_mem_abort` finds it before userspace), SGIs from trapped `ICC_SGI*R_EL1` writes
//! (`rec_exit_sys_reg` → `vgic_v3_dispatch_sgi`) and WFI (`kvm_handle_wfx` → `kvm_vcpu_halt`: sleep until an
//! interrupt is pending, a timer fires or a signal arrives).

use std::mem::offset_of;
use std::time::Duration;

use realm_rmi::{REC_GIC_NUM_LRS, RmiRecEnter, RmiRecExit, RmiRecRun};

use crate::lock;
use crate::vgic::{counter_now, until};
use crate::vm::Vm;

use super::Vcpu;

const ENTER: usize = offset_of!(RmiRecRun, enter);
const ENTER_HCR: u64 = (ENTER + offset_of!(RmiRecEnter, gicv3_hcr)) as u64;
/// The longest a WFI sleeps before looking again (a wake-up is also signalled; this bounds a lost one).
const WFI_SLICE: Duration = Duration::from_millis(20);

fn index(vcpu: &Vcpu) -> usize {
    usize::try_from(vcpu.id).unwrap_or(usize::MAX)
}

/// Before entering: the vCPU's list registers and `gicv3_hcr` into `rec_enter` (every one of the 16, the
/// unused ones zero).
pub(super) fn flush(vm: &Vm, vcpu: &Vcpu, run_pa: u64) {
    let mpidr = lock(&vcpu.arch).mpidr;
    let idx = index(vcpu);
    let (hcr, lrs) = {
        let mut vgic = lock(&vm.vgic);
        vgic.cpu(idx, mpidr);
        let out = vgic.flush(idx);
        let cpu = vgic.cpu(idx, mpidr);
        let ids = cpu.lrs.clone();
        cpu.stats.enter(&ids);
        out
    };
    let mut bytes = Vec::with_capacity(8 * (1 + REC_GIC_NUM_LRS));
    bytes.extend_from_slice(&hcr.to_le_bytes());
    for i in 0..REC_GIC_NUM_LRS {
        bytes.extend_from_slice(&lrs.get(i).copied().unwrap_or(0).to_le_bytes());
    }
    let _ = vm.shared.mem.write(run_pa + ENTER_HCR, &bytes);
}

/// After an exit: the list registers back into the vgic, the timers' PPI levels from the snapshot.
pub(super) fn sync(vm: &Vm, vcpu: &Vcpu, exit: &RmiRecExit) {
    let idx = index(vcpu);
    let mut vgic = lock(&vm.vgic);
    if let Some(c) = vgic.cpus.get_mut(idx) {
        c.stats.exit(exit);
    }
    vgic.fold(idx, &exit.gicv3_lrs);
    vgic.set_timers(
        idx,
        [exit.cntv_ctl, exit.cntv_cval, exit.cntp_ctl, exit.cntp_cval],
    );
    vgic.timers_from_exit(idx, exit.cntv_ctl, exit.cntp_ctl);
}

/// The interrupt path of every vCPU of `vm` so far, by vCPU index.
pub(crate) fn stats(vm: &Vm) -> Vec<crate::vgic::IrqStats> {
    lock(&vm.vgic)
        .cpus
        .iter()
        .map(|c| c.stats.clone())
        .collect()
}

/// At VM destruction: its vCPUs' interrupt paths into the kernel's history
/// ([`crate::Kernel::debug_irq_history`]).
pub(crate) fn retire(vm: &Vm) {
    let stats = stats(vm);
    if !stats.is_empty() {
        lock(&vm.shared.irq_history).push(stats);
    }
}

/// An MMIO access in the vgic's frames (shared bit removed): emulated in the kernel, the read data into
/// `rec_enter.gprs[0]`, `REC_ENTER_FLAG_EMUL_MMIO` set, and the other vCPUs woken if it made something
/// pending for them. `false` if the address is not the vgic's.
pub(super) fn mmio(
    vm: &Vm,
    vcpu: &Vcpu,
    run_pa: u64,
    gpa: u64,
    len: u32,
    write: Option<u64>,
) -> bool {
    let Some(value) = lock(&vm.vgic).mmio(index(vcpu), gpa, len, write) else {
        return false;
    };
    if write.is_some() {
        wake_all(vm);
    }
    super::exit::emulated_mmio_done(vm, run_pa, write.is_none().then_some(value));
    true
}

/// `ICC_SGI1R_EL1` (S3_0_C12_C11_5), `ICC_ASGI1R_EL1` (…_6) and `ICC_SGI0R_EL1` (…_7) writes, as the ISS of
/// an EC 0x18 exit names them (Op0 \[21:20\], Op2 \[19:17\], Op1 \[16:14\], CRn \[13:10\], CRm \[4:1\],
/// Direction \[0\] = 0 for a write); the written value is in `exit.gprs[0]`. `false` for anything else.
pub(super) fn sysreg(vm: &Vm, vcpu: &Vcpu, exit: &RmiRecExit, esr: u64) -> bool {
    let iss = esr & 0x1ff_ffff;
    let (op0, op2, op1, crn, crm, read) = (
        (iss >> 20) & 3,
        (iss >> 17) & 7,
        (iss >> 14) & 7,
        (iss >> 10) & 0xf,
        (iss >> 1) & 0xf,
        iss & 1 != 0,
    );
    if read || (op0, op1, crn, crm) != (3, 0, 12, 11) || !(5..=7).contains(&op2) {
        return false;
    }
    let kicked = lock(&vm.vgic).dispatch_sgi(index(vcpu), exit.gprs[0], op2 == 5);
    if !kicked.is_empty() {
        wake_all(vm);
    }
    true
}

/// WFI: sleep until the vgic has an interrupt for this vCPU (a timer reaching its compare value counts), or
/// a signal (kick) arrives; then enter again.
pub(super) fn wfi(vm: &Vm, vcpu: &Vcpu) {
    let idx = index(vcpu);
    let hz = vm.shared.cfg.cntfrq.max(1);
    let mut slept = false;
    loop {
        let now = counter_now(hz);
        let (next, pending) = {
            let mut vgic = lock(&vm.vgic);
            let (next, _) = vgic.timers_at(idx, now);
            (next, vgic.has_pending(idx))
        };
        let arch = lock(&vcpu.arch);
        if pending || arch.kicked || arch.power_off {
            drop(arch);
            if let Some(c) = lock(&vm.vgic).cpus.get_mut(idx) {
                c.stats.wfi_exits += 1;
                c.stats.wfi_sleeps += u64::from(slept);
            }
            return;
        }
        slept = true;
        let nap = next.map_or(WFI_SLICE, |cval| until(now, cval, hz).min(WFI_SLICE));
        let _ = vcpu
            .wake
            .wait_timeout(arch, nap.max(Duration::from_micros(10)));
    }
}

/// Wake every vCPU sleeping in WFI so it looks at the vgic again.
fn wake_all(vm: &Vm) {
    for v in vm.vcpu_list() {
        v.wake.notify_all();
    }
}

/// `KVM_IRQ_LINE` for an SPI or PPI (`kvm_vm_ioctl_irq_line`, type `KVM_ARM_IRQ_TYPE_SPI`/`_PPI`): the
/// line of `intid` (of vCPU `idx` for a PPI) set to `level`.
pub(crate) fn irq_line(vm: &Vm, idx: usize, intid: u32, level: bool) {
    let kick = lock(&vm.vgic).inject(idx, intid, level);
    if kick.is_some() {
        wake_all(vm);
    }
}
