//! The REC-side steps of `RMI_REC_ENTER` before the realm runs and after it stops: validating the host's GIC
//! state, injecting an SEA or completing an emulated MMIO access the host asked for, and reporting the GIC
//! state back. As TF-RMM `rmm-spec-v1.0-rel0` `runtime/rmi/run.c` and `lib/arch/src/gic.c`.

use super::inject::inject_sync_external_abort;
use crate::abi::{
    REC_ENTRY_FLAG_EMUL_MMIO, REC_ENTRY_FLAG_INJECT_SEA, REC_ENTRY_FLAG_TRAP_WFE,
    REC_ENTRY_FLAG_TRAP_WFI, RmiRecEnter, RmiRecExit,
};
use crate::cpu::esr;
use crate::rec::state::RecRun;

/// `ICH_HCR_EL2` bits the host controls: UIE, LRENPIE, NPIE, VGrp0EIE, VGrp0DIE, VGrp1EIE, VGrp1DIE, TDIR
/// (TF-RMM `ICH_HCR_EL2_NS_MASK`).
pub(crate) const ICH_HCR_EL2_NS_MASK: u64 = 0b1111_1110 | (1 << 14);
/// `ICH_HCR_EL2.EOIcount` (bits \[31:27\]), reported back to the host.
const ICH_HCR_EL2_EOI_COUNT_MASK: u64 = 0x1F << 27;
/// `ICH_LR<n>_EL2.State` (bits \[63:62\]).
const ICH_LR_STATE_MASK: u64 = 0b11 << 62;
/// `ICH_LR<n>_EL2.HW`.
const ICH_LR_HW_BIT: u64 = 1 << 61;
/// `ICH_LR<n>_EL2.Priority` shift (bits \[55:48\]).
const ICH_LR_PRIORITY_SHIFT: u32 = 48;
/// `ICH_LR<n>_EL2.pINTID` (bits \[44:32\]).
const ICH_LR_PINTID_MASK: u64 = 0x1FFF << 32;
/// `ICH_LR<n>_EL2` EOI bit (pINTID bit 9 when HW is 0).
const ICH_LR_EOI_BIT: u64 = 1 << 41;
/// Largest SPI INTID.
const MAX_SPI_ID: u64 = 1019;
/// Smallest LPI INTID.
const MIN_LPI_ID: u64 = 8192;

/// The virtual GIC this model presents: 5 priority bits (RES0 mask of the 8-bit priority field 0b111) and
/// 16-bit vINTIDs, no extended INTID range — the minimum GICv3 virtualisation, as QEMU's.
const PRI_RES0_MASK: u64 = 0b111;
const MAX_VINTID: u64 = (1 << 16) - 1;

/// TF-RMM `gic_validate_state`: the host's `gicv3_hcr` sets only host-controlled bits, and each of the first
/// `num_lrs` list registers that is not invalid has HW = 0, no RES0 priority bits, no pINTID bits but EOI, a
/// valid vINTID, and a vINTID no later valid LR repeats.
pub(crate) fn gic_validate_state(enter: &RmiRecEnter, num_lrs: usize) -> bool {
    if enter.gicv3_hcr & !ICH_HCR_EL2_NS_MASK != 0 {
        return false;
    }
    let lrs = &enter.gicv3_lrs[..num_lrs.min(enter.gicv3_lrs.len())];
    for (i, &lr) in lrs.iter().enumerate() {
        if lr & ICH_LR_STATE_MASK == 0 {
            continue;
        }
        let intid = lr & u64::from(u32::MAX);
        let priority = (lr >> ICH_LR_PRIORITY_SHIFT) & 0xFF;
        if lr & ICH_LR_HW_BIT != 0
            || priority & PRI_RES0_MASK != 0
            || lr & ICH_LR_PINTID_MASK & !ICH_LR_EOI_BIT != 0
            || !(intid <= MAX_SPI_ID || (MIN_LPI_ID..=MAX_VINTID).contains(&intid))
        {
            return false;
        }
        let repeated = lrs[i + 1..]
            .iter()
            .any(|&other| other & ICH_LR_STATE_MASK != 0 && other & u64::from(u32::MAX) == intid);
        if repeated {
            return false;
        }
    }
    true
}

/// TF-RMM `gic_copy_state_from_rec_entry`: take the list registers and the host-controlled HCR bits.
pub(crate) fn gic_copy_from_entry(rec: &mut RecRun, enter: &RmiRecEnter, num_lrs: usize) {
    let n = num_lrs.min(enter.gicv3_lrs.len());
    rec.gic.lrs[..n].copy_from_slice(&enter.gicv3_lrs[..n]);
    rec.gic.hcr = (rec.gic.hcr & !ICH_HCR_EL2_NS_MASK) | (enter.gicv3_hcr & ICH_HCR_EL2_NS_MASK);
}

/// TF-RMM `gic_copy_state_to_rec_exit`. This model has no virtual interrupt delivery, so the list registers
/// come back as the host left them, MISR and VMCR as the REC holds them.
pub(crate) fn gic_copy_to_exit(rec: &RecRun, exit: &mut RmiRecExit, num_lrs: usize) {
    let n = num_lrs.min(exit.gicv3_lrs.len());
    exit.gicv3_lrs[..n].copy_from_slice(&rec.gic.lrs[..n]);
    exit.gicv3_misr = rec.gic.misr;
    exit.gicv3_vmcr = rec.gic.vmcr;
    exit.gicv3_hcr = rec.gic.hcr & (ICH_HCR_EL2_EOI_COUNT_MASK | ICH_HCR_EL2_NS_MASK);
}

/// TF-RMM `complete_sea_insertion`: with `INJECT_SEA`, the last exit must have been a data abort outside PAR
/// (else `false`: RMI_ERROR_REC); the realm then takes a synchronous external abort.
pub(crate) fn complete_sea_insertion(
    rec: &mut RecRun,
    enter: &RmiRecEnter,
    in_par: impl Fn(u64) -> bool,
) -> bool {
    if enter.flags & REC_ENTRY_FLAG_INJECT_SEA == 0 {
        return true;
    }
    let last = rec.last_run;
    if esr::ec(last.esr) != esr::EC_DATA_ABORT || in_par(esr::ipa_of_hpfar(last.hpfar)) {
        return false;
    }
    inject_sync_external_abort(&mut rec.ctx, last.esr, last.far);
    true
}

/// TF-RMM `complete_mmio_emulation`: with `EMUL_MMIO` (and not `INJECT_SEA`), the last exit must have been a
/// data abort with a valid syndrome (else `false`: RMI_ERROR_REC); a load gets `enter.gprs[0]` (masked,
/// sign-extended as the syndrome says), and the access is skipped.
///
/// The syndrome checked is the one the abort raised, as TF-RMM keeps `read_esr_el2()` in `last_run_info`:
/// the host was shown ISV = 0 for an abort in PAR, yet an access there with a valid syndrome passes this
/// check too (TF-RMM `rmm-spec-v1.0-rel0` `runtime/core/exit.c` / `runtime/rmi/run.c` as read).
pub(crate) fn complete_mmio_emulation(rec: &mut RecRun, enter: &RmiRecEnter) -> bool {
    if enter.flags & REC_ENTRY_FLAG_EMUL_MMIO == 0 || enter.flags & REC_ENTRY_FLAG_INJECT_SEA != 0 {
        return true;
    }
    let last = rec.last_run.esr;
    if esr::ec(last) != esr::EC_DATA_ABORT || last & esr::ABORT_ISV_BIT == 0 {
        return false;
    }
    let rt = esr::srt(last);
    if !esr::is_write(last) && rt != 31 {
        let sign_extend = last & esr::ABORT_SSE_BIT != 0;
        let sixty_four = last & esr::ABORT_SF_BIT != 0;
        rec.ctx.gprs[rt] = esr::extend_load(
            enter.gprs[0],
            esr::access_len(last),
            sign_extend,
            sixty_four,
        );
    }
    rec.ctx.pc = rec.ctx.pc.wrapping_add(4);
    true
}

/// `HCR_EL2.TWI`/`TWE` for this run, from the entry flags.
pub(crate) fn set_wfx_traps(rec: &mut RecRun, enter: &RmiRecEnter) {
    rec.ctx.trap_wfi = enter.flags & REC_ENTRY_FLAG_TRAP_WFI != 0;
    rec.ctx.trap_wfe = enter.flags & REC_ENTRY_FLAG_TRAP_WFE != 0;
}
