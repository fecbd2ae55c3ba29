//! Decoded instructions ready to run: each [`Insn`] paired, once at decode time, with the handler that
//! executes it ([`Op`]), so the run loop dispatches through one indirect call with no second look at the
//! instruction's kind. The handlers of the hottest forms are specialised on their constant fields
//! ([`super::fast`]); every other instruction runs through the per-group executor the interpreter has
//! always used, so the two paths share the Arm ARM pseudocode helpers and cannot drift apart.
//!
//! A handler reports how control continues ([`Flow`]): on to the next word, to a branch target, to
//! `Exec::next_pc` ending the block (anything that may change the translation, the decoded code or PSTATE
//! — system instructions, exception returns, stores that hit a decoded page), or into an exception left
//! in `Exec::fault`.

use super::{Exec, fast};
use crate::decode::Insn;
use crate::exception::Exception;

/// How control continues after an instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Completed; the next instruction is the following word.
    Next,
    /// A taken branch to `Exec::next_pc` that changed nothing else: the run loop may go on in the same
    /// decoded page when the target is in it.
    Branch,
    /// Completed; the next instruction is at `Exec::next_pc`, and the run loop must look at the PC, the
    /// translation and the decoded code again before running it (the end of a block).
    End,
    /// The instruction raised the exception in `Exec::fault` (state as the pseudocode leaves it).
    Fault,
}

/// An instruction's handler.
pub(crate) type Handler = for<'a, 'b, 'c> fn(&'a mut Exec<'b>, &'c Insn) -> Flow;

/// A decoded instruction and its handler.
#[derive(Clone, Copy)]
pub(crate) struct Op {
    /// Runs `insn`.
    pub(crate) handler: Handler,
    /// The decoded instruction.
    pub(crate) insn: Insn,
}

impl std::fmt::Debug for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.insn.fmt(f)
    }
}

impl Op {
    /// `insn` with its handler.
    pub(crate) fn new(insn: Insn) -> Self {
        Self {
            handler: fast::select(insn).unwrap_or_else(|| generic(insn)),
            insn,
        }
    }

    /// An UNDEFINED instruction.
    pub(crate) fn undefined() -> Self {
        Self::new(Insn::Undefined)
    }
}

/// The handler of `insn`'s group (no specialisation).
fn generic(insn: Insn) -> Handler {
    match insn {
        Insn::Undefined => undefined,
        Insn::AddSubImm { .. } => add_sub_imm,
        Insn::LogicalImm { .. } => logical_imm,
        Insn::MovWide { .. } => mov_wide,
        Insn::Adr { .. } => adr,
        Insn::Bitfield { .. } => bitfield,
        Insn::Extr { .. } => extr,
        Insn::LogicalReg { .. } => logical_reg,
        Insn::AddSubShifted { .. } => add_sub_shifted,
        Insn::AddSubExt { .. } => add_sub_ext,
        Insn::AddSubCarry { .. } => add_sub_carry,
        Insn::CondCompare { .. } => cond_compare,
        Insn::CondSelect { .. } => cond_select,
        Insn::DataProc2 { .. } => data_proc2,
        Insn::DataProc1 { .. } => data_proc1,
        Insn::DataProc3 { .. } => data_proc3,
        Insn::Branch { .. }
        | Insn::BranchCond { .. }
        | Insn::CompareBranch { .. }
        | Insn::TestBranch { .. }
        | Insn::BranchReg { .. } => branch,
        Insn::LdStImm { .. }
        | Insn::LdStReg { .. }
        | Insn::LdLiteral { .. }
        | Insn::LdStPair { .. }
        | Insn::Exclusive { .. }
        | Insn::AcquireRelease { .. } => load_store,
        Insn::Eret
        | Insn::Svc { .. }
        | Insn::Hvc { .. }
        | Insn::Smc { .. }
        | Insn::Brk { .. }
        | Insn::Hint(_)
        | Insn::Clrex
        | Insn::Barrier
        | Insn::Isb
        | Insn::MsrImm { .. }
        | Insn::Mrs { .. }
        | Insn::Msr { .. }
        | Insn::Sys { .. } => system,
    }
}

impl Exec<'_> {
    /// Leave `e` for the run loop to take.
    #[cold]
    #[inline(never)]
    pub(crate) fn fault(&mut self, e: Exception) -> Flow {
        self.fault = Some(e);
        Flow::Fault
    }

    /// The flow after a store: the block ends if the store dropped decoded code (the current page's
    /// included), so the next fetch sees the new code.
    #[inline(always)]
    pub(crate) fn after_store(&mut self, epoch: u64) -> Flow {
        if self.core.cache.epoch == epoch {
            Flow::Next
        } else {
            self.next_pc = self.pc.wrapping_add(4);
            Flow::End
        }
    }
}

fn undefined(e: &mut Exec<'_>, _: &Insn) -> Flow {
    e.fault(Exception::undefined())
}

/// A handler of a data-processing group that cannot fault or branch.
macro_rules! data_processing {
    ($($name:ident => $method:ident),* $(,)?) => {
        $(
            #[inline(always)]
            pub(super) fn $name(e: &mut Exec<'_>, insn: &Insn) -> Flow {
                e.$method(*insn);
                Flow::Next
            }
        )*
    };
}

data_processing! {
    add_sub_imm => exec_add_sub_imm,
    logical_imm => exec_logical_imm,
    mov_wide => exec_mov_wide,
    adr => exec_adr,
    bitfield => exec_bitfield,
    extr => exec_extr,
    logical_reg => exec_logical_reg,
    add_sub_shifted => exec_add_sub_shifted,
    add_sub_ext => exec_add_sub_ext,
    add_sub_carry => exec_add_sub_carry,
    cond_compare => exec_cond_compare,
    cond_select => exec_cond_select,
    data_proc2 => exec_data_proc2,
    data_proc1 => exec_data_proc1,
    data_proc3 => exec_data_proc3,
}

#[inline(always)]
pub(super) fn branch(e: &mut Exec<'_>, insn: &Insn) -> Flow {
    let next = e.pc.wrapping_add(4);
    e.next_pc = next;
    e.branch(*insn);
    if e.next_pc == next {
        Flow::Next
    } else {
        Flow::Branch
    }
}

#[inline(always)]
pub(super) fn load_store(e: &mut Exec<'_>, insn: &Insn) -> Flow {
    let epoch = e.core.cache.epoch;
    match e.load_store(*insn) {
        Ok(()) => e.after_store(epoch),
        Err(x) => e.fault(x),
    }
}

fn system(e: &mut Exec<'_>, insn: &Insn) -> Flow {
    e.next_pc = e.pc.wrapping_add(4);
    match e.system(*insn) {
        Ok(()) => Flow::End,
        Err(x) => e.fault(x),
    }
}
