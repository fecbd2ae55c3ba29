//! Trapped MSR/MRS and System instructions (EC 0x18), as TF-RMM `rmm-spec-v1.0-rel0`
//! `runtime/core/sysregs.c` `handle_sysreg_access_trap` sorts them (its `sysreg_handlers` table), and the
//! SError syndrome the host is shown (`handle_exception_serror_lel`).
//!
//! - The ID register space (op0 3, op1 0, CRn 0: what `HCR_EL2.TID3` traps) is emulated: the register's value
//!   goes to X\[Rt\] and the realm resumes. This RMM has no hardware ID registers to read and mask: the realm
//!   CPU model presents the RMM's view of them itself (realm-a64's `CpuConfig`), so a trapped read here is in
//!   the space TF-RMM answers with zero ("all other encodings are in the RES0 space").
//! - The GIC CPU-interface registers `ICC_*_EL1` with CRn 12, CRm 8..15 (the SGI generation registers
//!   `ICC_SGI0R_EL1`/`ICC_SGI1R_EL1`/`ICC_ASGI1R_EL1` and `ICC_DIR_EL1`, trapped by `ICH_HCR_EL2`) and
//!   `ICC_PMR_EL1`: a write exits to the host with `RMI_EXIT_SYNC`, the whole `ESR_EL2` and the written value
//!   in `gprs[0]` (`emulate_sysreg_access_ns`); the host delivers the SGI and re-enters.
//! - Everything else is RAZ/WI.
//!
//! In every case the PC moves past the instruction before the exit or resume (`advance_pc` in
//! `handle_exception_sync`). TF-RMM asserts on an ID write or an ICC read (its trap configuration cannot
//! produce them); here they are UNDEFINED to the realm, which is what an untrapped access would be.

use super::inject::inject_undefined;
use crate::abi::{RMI_EXIT_SYNC, RmiRecExit};
use crate::cpu::{SysRegAccess, esr};
use crate::rec::state::RecRun;

/// `ESR_EL2` of an SError the host is shown (Arm ARM D24.2.40, ISS for an SError interrupt, masked by TF-RMM's
/// `ESR_SERROR_MASK`: IDS, AET, EA, DFSC — no EC): DFSC = asynchronous SError (0b010001), AET = UEO
/// (restartable), IDS = 0. The CPU model carries no RAS syndrome, so every SError is reported as the
/// restartable kind TF-RMM passes to the host without injecting it back.
pub(crate) const SERROR_EXIT_ESR: u64 = (0b010 << 10) | 0x11;

/// The register groups of TF-RMM's `sysreg_handlers`, plus the default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SysRegClass {
    /// op0 3, op1 0, CRn 0 (`ESR_EL2_SYSREG_ID_MASK`/`ESR_EL2_SYSREG_ID`).
    Id,
    /// op0 3, op1 0 or 4, CRn 12, CRm 8..15 (`ESR_EL2_SYSREG_ICC_EL1_MASK`/`_ICC_EL1`), or `ICC_PMR_EL1`.
    IccEl1,
    /// Anything else: RAZ/WI.
    Other,
}

/// Which of TF-RMM's handlers an access goes to. The masks compare op0, op1 bits \[1:0\] (the mask's op1 is
/// 3), CRn and CRm bit 3, as `ESR_EL2_SYSREG_ICC_EL1_MASK = SYSREG_ESR(3, 3, 15, 8, 0)` does.
pub(crate) fn classify(a: &SysRegAccess) -> SysRegClass {
    if a.op0 == 3 && a.op1 == 0 && a.crn == 0 {
        SysRegClass::Id
    } else if (a.op0 == 3 && a.op1 & 3 == 0 && a.crn == 12 && a.crm & 8 != 0)
        || (a.op0, a.op1, a.crn, a.crm, a.op2) == (3, 0, 4, 6, 0)
    {
        SysRegClass::IccEl1
    } else {
        SysRegClass::Other
    }
}

/// Handle a trapped system register access at `rec.ctx.pc`. Returns `true` to resume the realm, `false` to
/// return to the host with `exit` filled.
pub(crate) fn handle_sysreg_access_trap(
    rec: &mut RecRun,
    exit: &mut RmiRecExit,
    a: &SysRegAccess,
) -> bool {
    let rt = usize::from(a.rt & 0x1F);
    match classify(a) {
        SysRegClass::Id if !a.read => {
            inject_undefined_here(rec);
            true
        }
        SysRegClass::IccEl1 if a.read => {
            inject_undefined_here(rec);
            true
        }
        SysRegClass::IccEl1 => {
            exit.exit_reason = RMI_EXIT_SYNC;
            exit.esr = a.esr();
            exit.gprs[0] = rec.ctx.gprs.get(rt).copied().unwrap_or(0);
            advance_pc(rec);
            false
        }
        SysRegClass::Id | SysRegClass::Other => {
            if a.read
                && let Some(r) = rec.ctx.gprs.get_mut(rt)
            {
                *r = 0;
            }
            advance_pc(rec);
            true
        }
    }
}

/// Step over the trapped instruction.
fn advance_pc(rec: &mut RecRun) {
    rec.ctx.pc = rec.ctx.pc.wrapping_add(4);
}

/// An undefined instruction exception for the trapped instruction itself (`ELR_EL1` = its address).
fn inject_undefined_here(rec: &mut RecRun) {
    // `inject_undefined` returns to the next instruction (it models an HVC's preferred return address):
    // step back so the realm's handler sees the MSR/MRS.
    rec.ctx.pc = rec.ctx.pc.wrapping_sub(4);
    inject_undefined(&mut rec.ctx);
    debug_assert_eq!(esr::ec(rec.ctx.sysregs.esr_el1), esr::EC_UNKNOWN);
}
