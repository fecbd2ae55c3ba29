//! Exceptions the RMM injects into a realm: what taking a synchronous exception to EL1 does to the context
//! (Arm ARM `AArch64.TakeException`), with the syndromes TF-RMM `rmm-spec-v1.0-rel0`
//! `runtime/core/inject_exp.c` builds.

use crate::cpu::{
    PSTATE_INIT, PSTATE_MODE_EL0T, PSTATE_MODE_EL1T, PSTATE_MODE_MASK, RecContext, esr,
};

/// Vector offset of a synchronous exception taken from the current EL using `SP_EL0`.
const VECTOR_CURRENT_SP0: u64 = 0x000;
/// Vector offset of a synchronous exception taken from the current EL using `SP_ELx`.
const VECTOR_CURRENT_SPX: u64 = 0x200;
/// Vector offset of a synchronous exception taken from a lower EL in AArch64.
const VECTOR_LOWER_A64: u64 = 0x400;

/// Take a synchronous exception to EL1 with syndrome `esr_el1`, returning to `elr`.
fn take_to_el1(ctx: &mut RecContext, esr_el1: u64, far: Option<u64>, elr: u64) {
    let offset = match ctx.pstate & PSTATE_MODE_MASK {
        PSTATE_MODE_EL0T => VECTOR_LOWER_A64,
        PSTATE_MODE_EL1T => VECTOR_CURRENT_SP0,
        _ => VECTOR_CURRENT_SPX,
    };
    ctx.sysregs.elr_el1 = elr;
    ctx.sysregs.spsr_el1 = ctx.pstate;
    ctx.sysregs.esr_el1 = esr_el1;
    if let Some(far) = far {
        ctx.sysregs.far_el1 = far;
    }
    ctx.pc = ctx.sysregs.vbar_el1.wrapping_add(offset);
    ctx.pstate = PSTATE_INIT;
    ctx.injected = ctx.injected.wrapping_add(1);
}

/// Inject a synchronous external abort for the data or instruction abort whose `ESR_EL2` was `esr_el2` at
/// `far`.
///
/// `ESR_EL1` keeps the abort's class (data abort, "same EL" when the realm was at EL1), IL and WnR, with
/// DFSC = SEA; `ELR_EL1` is the faulting instruction (TF-RMM `inject_sync_idabort`).
pub(crate) fn inject_sync_external_abort(ctx: &mut RecContext, esr_el2: u64, far: u64) {
    let mut ec = esr::ec(esr_el2);
    if ctx.pstate & PSTATE_MODE_MASK != PSTATE_MODE_EL0T {
        if ec == esr::EC_DATA_ABORT {
            ec = esr::EC_DATA_ABORT_SAME_EL;
        } else if ec == esr::EC_INST_ABORT {
            ec = esr::EC_INST_ABORT_SAME_EL;
        }
    }
    let esr_el1 = ec | (esr_el2 & (esr::IL_BIT | esr::ABORT_WNR_BIT)) | esr::FSC_SEA;
    let elr = ctx.pc;
    take_to_el1(ctx, esr_el1, Some(far), elr);
}

/// Inject an undefined instruction exception for the instruction at `ctx.pc` (an HVC from the realm).
///
/// `ESR_EL1` = EC unknown with IL; `ELR_EL1` is the HVC's preferred return address, the next instruction,
/// as TF-RMM `realm_inject_undef_abort` takes it from `ELR_EL2`.
pub(crate) fn inject_undefined(ctx: &mut RecContext) {
    let elr = ctx.pc.wrapping_add(4);
    take_to_el1(ctx, esr::EC_UNKNOWN | esr::IL_BIT, None, elr);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sea_from_el1h_goes_to_current_spx_vector() {
        let mut ctx = RecContext::reset(0x1000, &[], 0);
        ctx.sysregs.vbar_el1 = 0x8000;
        let esr_el2 = esr::EC_DATA_ABORT | esr::IL_BIT | esr::ABORT_WNR_BIT | 0x07;
        inject_sync_external_abort(&mut ctx, esr_el2, 0xdead);
        assert_eq!(ctx.pc, 0x8200);
        assert_eq!(ctx.sysregs.elr_el1, 0x1000);
        assert_eq!(ctx.sysregs.far_el1, 0xdead);
        assert_eq!(
            ctx.sysregs.esr_el1,
            esr::EC_DATA_ABORT_SAME_EL | esr::IL_BIT | esr::ABORT_WNR_BIT | esr::FSC_SEA
        );
        assert_eq!(ctx.sysregs.spsr_el1, PSTATE_INIT);
    }

    #[test]
    fn undefined_from_el0_goes_to_lower_el_vector() {
        let mut ctx = RecContext::reset(0x1000, &[], 0);
        ctx.pstate = PSTATE_MODE_EL0T;
        ctx.sysregs.vbar_el1 = 0x8000;
        inject_undefined(&mut ctx);
        assert_eq!(ctx.pc, 0x8400);
        assert_eq!(ctx.sysregs.elr_el1, 0x1004);
        assert_eq!(ctx.sysregs.esr_el1, esr::IL_BIT);
        assert_eq!(ctx.pstate, PSTATE_INIT);
    }
}
