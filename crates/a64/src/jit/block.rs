//! What a compiled block covers: a straight-line run of one decoded page's instructions that the code
//! generator translates, ended by a branch (included), by the first instruction it does not translate
//! (excluded: the interpreter runs it), by the end of the page, or at [`MAX_BLOCK`] instructions.

use crate::decode::{Index, Insn, MemOp};

/// Instructions in a block at most (bounds the compile time of one block).
pub(super) const MAX_BLOCK: usize = 200;

/// How an instruction takes part in a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// Translated; the block goes on with the next word.
    Plain,
    /// Translated, and it ends the block: a branch.
    Branch,
    /// Not translated: the block ends before it.
    Stop,
}

/// How `insn` takes part in a block. Register 31 as the stack pointer is not translated (SP depends on
/// PSTATE), nor are unprivileged, exclusive, acquire/release and system instructions, divides, or anything
/// that may raise an exception other than through a load or store.
pub(super) fn kind(insn: &Insn) -> Kind {
    use Insn as I;
    let plain = |ok: bool| if ok { Kind::Plain } else { Kind::Stop };
    match *insn {
        I::AddSubImm {
            setflags, rd, rn, ..
        }
        | I::AddSubExt {
            setflags, rd, rn, ..
        } => plain(rn != 31 && (setflags || rd != 31)),
        I::LogicalImm { opc, rd, .. } => plain(opc == 3 || rd != 31),
        I::MovWide { .. }
        | I::Adr { .. }
        | I::Bitfield { .. }
        | I::Extr { .. }
        | I::LogicalReg { .. }
        | I::AddSubShifted { .. }
        | I::AddSubCarry { .. }
        | I::CondCompare { .. }
        | I::CondSelect { .. }
        | I::DataProc1 { .. }
        | I::DataProc3 { .. } => Kind::Plain,
        I::DataProc2 { op, .. } => plain(!matches!(
            op,
            crate::decode::Dp2::Udiv | crate::decode::Dp2::Sdiv
        )),
        I::Branch { .. }
        | I::BranchCond { .. }
        | I::CompareBranch { .. }
        | I::TestBranch { .. }
        | I::BranchReg { .. } => Kind::Branch,
        I::LdStImm {
            size,
            op,
            rn,
            index,
            unprivileged,
            ..
        } => plain(
            rn != 31
                && !unprivileged
                && size <= 3
                && (op != MemOp::Prefetch || index == Index::Offset),
        ),
        I::LdStReg { size, rn, .. } => plain(rn != 31 && size <= 3),
        I::LdLiteral { size, .. } => plain(size <= 3),
        I::LdStPair { size, op, rn, .. } => plain(
            rn != 31
                && matches!(size, 2 | 3)
                && matches!(op, MemOp::Load | MemOp::Store | MemOp::LoadSigned64),
        ),
        I::Hint(crate::decode::Hint::Nop) | I::Barrier => Kind::Plain,
        _ => Kind::Stop,
    }
}

/// The instructions of the block starting at `ops[0]`: how many, and whether the last is a branch.
pub(super) fn extent(insns: impl Iterator<Item = Insn>) -> (usize, bool) {
    let mut n = 0;
    for insn in insns.take(MAX_BLOCK) {
        match kind(&insn) {
            Kind::Plain => n += 1,
            Kind::Branch => return (n + 1, true),
            Kind::Stop => return (n, false),
        }
    }
    (n, false)
}
