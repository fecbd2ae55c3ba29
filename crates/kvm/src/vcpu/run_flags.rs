//! The WFx trap flags of `RMI_REC_ENTER` (the "sync WFx traps" step of the series' REC entry preparation,
//! v12 rmi.c / v10 rme.c): `rec_enter.flags` gets `REC_ENTER_FLAG_TRAP_WFI`/`_TRAP_WFE` from the vCPU's
//! `HCR_EL2.TWI`/`TWE`, which `kvm_arch_vcpu_load` sets as for any vCPU (`vcpu_clear_wfx_traps` /
//! `vcpu_set_wfx_traps`, arch/arm64/include/asm/kvm_emulate.h). With WFI trapped, a REC's WFI exits as
//! `RMI_EXIT_SYNC` with EC 0x01 and the vCPU thread sleeps in [`super::irq::wfi`] (`kvm_vcpu_wfi` →
//! `kvm_vcpu_halt`) instead of re-entering at once.

use std::mem::offset_of;

use realm_rmi::{REC_ENTRY_FLAG_TRAP_WFE, REC_ENTRY_FLAG_TRAP_WFI, RmiRecEnter, RmiRecRun};

use crate::vm::Vm;

/// `HCR_EL2.TWI` (bit 13, DDI 0487 "HCR_EL2, Hypervisor Configuration Register"): trap WFI to EL2.
pub(crate) const HCR_TWI: u64 = 1 << 13;
/// `HCR_EL2.TWE` (bit 14): trap WFE to EL2.
pub(crate) const HCR_TWE: u64 = 1 << 14;

const ENTER_FLAGS: u64 = (offset_of!(RmiRecRun, enter) + offset_of!(RmiRecEnter, flags)) as u64;

/// The WFx trap bits of the vCPU's `HCR_EL2` when it is loaded, under KVM's default trap policy
/// (`kvm-arm.wfi_trap_policy`/`wfe_trap_policy` = `notrap_single_task`) for a vCPU thread that is the only
/// task on its CPU: `vcpu_clear_wfx_traps` clears TWE (a WFE spins in the guest) and keeps TWI set, as it
/// does unless the vCPU has direct-injected vLPIs or the VM uses non-architected vSGIs (`nassgireq`) —
/// neither exists for a realm here (no ITS, no GICv4.1).
pub(crate) fn wfx_traps() -> u64 {
    HCR_TWI
}

/// The `rec_enter.flags` WFx bits for an `hcr_el2` (the rest of `flags` untouched): both cleared, then
/// TRAP_WFE if TWE, TRAP_WFI if TWI.
pub(crate) fn with_wfx_traps(flags: u64, hcr_el2: u64) -> u64 {
    let mut f = flags & !(REC_ENTRY_FLAG_TRAP_WFE | REC_ENTRY_FLAG_TRAP_WFI);
    if hcr_el2 & HCR_TWE != 0 {
        f |= REC_ENTRY_FLAG_TRAP_WFE;
    }
    if hcr_el2 & HCR_TWI != 0 {
        f |= REC_ENTRY_FLAG_TRAP_WFI;
    }
    f
}

/// Before `RMI_REC_ENTER`: sync the WFx traps into the entry flags in `rec_run` at `run_pa`.
pub(super) fn sync_wfx_traps(vm: &Vm, run_pa: u64) {
    let mut bytes = [0u8; 8];
    if vm
        .shared
        .mem
        .read(run_pa + ENTER_FLAGS, &mut bytes)
        .is_err()
    {
        return;
    }
    let flags = with_wfx_traps(u64::from_le_bytes(bytes), wfx_traps());
    let _ = vm
        .shared
        .mem
        .write(run_pa + ENTER_FLAGS, &flags.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wfx_bits_follow_hcr_and_leave_the_other_flags() {
        // EMULATED_MMIO (bit 0) and RIPAS_RESPONSE (bit 4) survive; TRAP_WFI is bit 2, TRAP_WFE bit 3.
        assert_eq!(
            with_wfx_traps(0b1_0001, HCR_TWI),
            0b1_0101,
            "TWI → TRAP_WFI"
        );
        assert_eq!(
            with_wfx_traps(0b1100, 0),
            0,
            "neither trap: both bits cleared"
        );
        assert_eq!(with_wfx_traps(0, HCR_TWI | HCR_TWE), 0b1100, "both traps");
        assert_eq!(with_wfx_traps(0b0100, HCR_TWE), 0b1000, "TWE only");
        assert_eq!(
            wfx_traps(),
            HCR_TWI,
            "default policy: WFI traps, WFE does not"
        );
    }
}
