//! The REC-side steps of `RMI_REC_ENTER` before the realm runs and after it stops: validating the host's GIC
//! state, injecting an SEA or completing an emulated MMIO access the host asked for, and reporting the GIC
//! state back. As TF-RMM `rmm-spec-v1.0-rel0` `runtime/rmi/run.c` and `lib/arch/src/gic.c`.

use super::inject::inject_sync_external_abort;
use crate::abi::{
    REC_ENTRY_FLAG_EMUL_MMIO, REC_ENTRY_FLAG_INJECT_SEA, REC_ENTRY_FLAG_TRAP_WFE,
    REC_ENTRY_FLAG_TRAP_WFI, RmiRecEnter,
};
use crate::cpu::esr;
use crate::rec::state::RecRun;

pub(crate) use super::gic::{gic_copy_from_entry, gic_copy_to_exit, gic_validate_state};

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
