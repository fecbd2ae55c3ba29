//! Exceptions: the synchronous exceptions an instruction raises, taking them to EL1
//! (Arm ARM D1.10, pseudocode `AArch64.TakeException`), and returning from them (`AArch64.ExceptionReturn`,
//! C6.2.99 ERET).

use realm_cpu::{PSTATE_DAIF, RealmExit, RecContext};

/// `PSTATE.{N,Z,C,V}` in SPSR format.
pub(crate) const PSTATE_NZCV: u64 = 0xF << 28;
/// `PSTATE.IL` (illegal execution state) in SPSR format.
pub(crate) const PSTATE_IL: u64 = 1 << 20;
/// `PSTATE.SP` (SPSel) in SPSR format: bit 0 of M.
pub(crate) const PSTATE_SP: u64 = 1;
/// `ESR_ELx.IL`: a 32-bit instruction.
const ESR_IL: u64 = 1 << 25;

/// Exception classes (`ESR_ELx.EC`, Arm ARM D24.2.40, table D24-?) raised by this model.
pub(crate) mod ec {
    /// Unknown reason: UNDEFINED instructions.
    pub(crate) const UNKNOWN: u8 = 0x00;
    /// Illegal Execution state.
    pub(crate) const ILLEGAL_STATE: u8 = 0x0E;
    /// Trapped WFI or WFE.
    pub(crate) const WFX: u8 = 0x01;
    /// SVC from AArch64.
    pub(crate) const SVC: u8 = 0x15;
    /// Trapped MSR, MRS or System instruction.
    pub(crate) const SYSREG: u8 = 0x18;
    /// Instruction abort from a lower EL (+1: same EL).
    pub(crate) const INST_ABORT_LOWER: u8 = 0x20;
    /// PC alignment fault.
    pub(crate) const PC_ALIGNMENT: u8 = 0x22;
    /// Data abort from a lower EL (+1: same EL).
    pub(crate) const DATA_ABORT_LOWER: u8 = 0x24;
    /// SP alignment fault.
    pub(crate) const SP_ALIGNMENT: u8 = 0x26;
    /// BRK from AArch64.
    pub(crate) const BRK: u8 = 0x3C;
}

/// Fault status codes (`ESR_ELx.ISS.DFSC/IFSC`).
pub(crate) mod fsc {
    /// Address size fault, level 0.
    pub(crate) const ADDRESS_SIZE_L0: u32 = 0x00;
    /// Alignment fault.
    pub(crate) const ALIGNMENT: u32 = 0x21;
}

/// A synchronous exception to EL1: its class, syndrome, fault address, and whether its preferred return
/// address is the next instruction (SVC) rather than the one that raised it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Syndrome {
    pub(crate) ec: u8,
    pub(crate) iss: u32,
    pub(crate) far: Option<u64>,
    pub(crate) return_next: bool,
}

/// What stopped an instruction: an exception to EL1 or an exit to EL2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exception {
    /// Taken to EL1 through `VBAR_EL1`.
    El1(Syndrome),
    /// Taken to EL2: the run ends with this exit, PC at the instruction.
    El2(RealmExit),
    /// Not an exception: the instruction (an untrapped WFI/WFE) completed, and the run ends with an IRQ
    /// exit so the host gets its thread back.
    Yield,
    /// Not an exception: the instruction completed (the PC goes to the value) and may have made an
    /// interrupt deliverable (PSTATE.I cleared, a GIC register written, WFI woken), so the interrupt lines
    /// are checked before the next instruction ([`crate::gic`]).
    CheckInterrupts(u64),
}

impl Exception {
    /// An UNDEFINED instruction (EC 0x00, ISS 0).
    pub(crate) const fn undefined() -> Self {
        Self::sync(ec::UNKNOWN, 0)
    }

    /// A synchronous exception with no fault address, returning to the raising instruction.
    pub(crate) const fn sync(ec: u8, iss: u32) -> Self {
        Self::El1(Syndrome {
            ec,
            iss,
            far: None,
            return_next: false,
        })
    }

    /// A data abort taken to EL1 (`el` is the EL of the access): FAR = `va`, ISV = 0, WnR, DFSC `fsc`.
    pub(crate) const fn data_abort(el: u8, va: u64, write: bool, fsc: u32) -> Self {
        let class = if el == 0 {
            ec::DATA_ABORT_LOWER
        } else {
            ec::DATA_ABORT_LOWER + 1
        };
        let wnr = if write { 1 << 6 } else { 0 };
        Self::El1(Syndrome {
            ec: class,
            iss: wnr | fsc,
            far: Some(va),
            return_next: false,
        })
    }

    /// An instruction abort taken to EL1: FAR = `va`, IFSC `fsc`.
    pub(crate) const fn instruction_abort(el: u8, va: u64, fsc: u32) -> Self {
        let class = if el == 0 {
            ec::INST_ABORT_LOWER
        } else {
            ec::INST_ABORT_LOWER + 1
        };
        Self::El1(Syndrome {
            ec: class,
            iss: fsc,
            far: Some(va),
            return_next: false,
        })
    }
}

/// `AArch64.TakeException(EL1, …)` for a synchronous exception raised by the instruction at `pc`:
/// SPSR_EL1 ← PSTATE, ELR_EL1 ← the preferred return address, ESR_EL1 and FAR_EL1 from `syn`, PSTATE ←
/// EL1h with D, A, I, F set (NZCV kept; SS, IL cleared), PC ← VBAR_EL1 + the vector offset: 0x000 from EL1
/// with SP_EL0, 0x200 from EL1 with SP_EL1, 0x400 from EL0 (AArch64); + 0 for a synchronous exception.
pub(crate) fn take_exception(ctx: &mut RecContext, syn: &Syndrome, pc: u64) {
    let offset = vector_base_offset(ctx);
    ctx.sysregs.spsr_el1 = ctx.pstate;
    ctx.sysregs.elr_el1 = if syn.return_next {
        pc.wrapping_add(4)
    } else {
        pc
    };
    ctx.sysregs.esr_el1 = (u64::from(syn.ec) << 26) | ESR_IL | u64::from(syn.iss);
    if let Some(far) = syn.far {
        ctx.sysregs.far_el1 = far;
    }
    ctx.pstate = (ctx.pstate & PSTATE_NZCV) | PSTATE_DAIF | realm_cpu::PSTATE_MODE_EL1H;
    ctx.pc = (ctx.sysregs.vbar_el1 & !0x7FF).wrapping_add(offset);
}

/// The offset of the vector group an exception to EL1 from the current state uses: 0x000 from EL1 with
/// SP_EL0, 0x200 from EL1 with SP_EL1, 0x400 from EL0 (AArch64).
fn vector_base_offset(ctx: &RecContext) -> u64 {
    if ctx.el() == 0 {
        0x400
    } else if ctx.pstate & PSTATE_SP != 0 {
        0x200
    } else {
        0
    }
}

/// `AArch64.TakeVirtualIRQException` / `TakeVirtualFIQException` → `AArch64.TakeException(EL1, …)` for an
/// asynchronous exception before the instruction at `ctx.pc`: SPSR_EL1 ← PSTATE, ELR_EL1 ← that PC (the
/// preferred return address of an interrupt), ESR_EL1 and FAR_EL1 unchanged, PSTATE ← EL1h with D, A, I, F
/// set, PC ← VBAR_EL1 + the vector group + 0x080 (IRQ) or 0x100 (FIQ).
pub(crate) fn take_interrupt(ctx: &mut RecContext, fiq: bool) {
    let offset = vector_base_offset(ctx) + if fiq { 0x100 } else { 0x80 };
    ctx.sysregs.spsr_el1 = ctx.pstate;
    ctx.sysregs.elr_el1 = ctx.pc;
    ctx.pstate = (ctx.pstate & PSTATE_NZCV) | PSTATE_DAIF | realm_cpu::PSTATE_MODE_EL1H;
    ctx.pc = (ctx.sysregs.vbar_el1 & !0x7FF).wrapping_add(offset);
}

/// `AArch64.ExceptionReturn(ELR_EL1, SPSR_EL1)` from EL1. An illegal return (to AArch32, to EL2/EL3, to a
/// reserved mode) keeps the EL and SP selection and sets PSTATE.IL, so the next instruction takes an
/// Illegal Execution state exception (Arm ARM D1.11.5, `IllegalExceptionReturn`).
pub(crate) fn exception_return(ctx: &mut RecContext) {
    let spsr = ctx.sysregs.spsr_el1;
    let mode = spsr & 0x1F;
    let legal = matches!(mode, 0b00000 | 0b00100 | 0b00101);
    // Kept from SPSR: NZCV, DAIF, and IL; SS, PAN, BTYPE… belong to features this model lacks.
    let kept = spsr & (PSTATE_NZCV | PSTATE_DAIF | PSTATE_IL);
    ctx.pstate = if legal {
        kept | mode
    } else {
        kept | (ctx.pstate & 0xF) | PSTATE_IL
    };
    ctx.pc = ctx.sysregs.elr_el1;
}
