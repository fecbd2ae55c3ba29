//! Handlers specialised on an instruction's constant fields, for the forms that dominate real code.
//!
//! Each specialised handler rebuilds its [`Insn`] with the fields fixed by its const parameters and runs
//! the group's ordinary handler on it ([`super::op`], inlined), so the compiler folds the decisions on
//! those fields away while the semantics stay those of the one executor (Arm ARM C6 pseudocode per
//! instruction, in `alu`, `branch` and `ldst`).

use super::Exec;
use super::op::{self, Flow, Handler};
use crate::decode::{Hint, Index, Insn, MemOp, ShiftType};

/// The specialised handler of `insn`, if it has one.
pub(super) fn select(insn: Insn) -> Option<Handler> {
    Some(match insn {
        Insn::AddSubImm {
            sf, sub, setflags, ..
        } => add_sub_imm_sel(sf, sub, setflags),
        Insn::LogicalReg {
            sf,
            opc,
            invert,
            shift,
            ..
        } => logical_reg_sel(sf, opc, invert, shift),
        Insn::AddSubShifted {
            sf,
            sub,
            setflags,
            shift,
            ..
        } => add_sub_shifted_sel(sf, sub, setflags, shift),
        Insn::Extr { sf: true, .. } => extr::<true>,
        Insn::Extr { sf: false, .. } => extr::<false>,
        Insn::MovWide { sf, opc, .. } => mov_wide_sel(sf, opc),
        Insn::Bitfield { sf, opc, .. } => bitfield_sel(sf, opc),
        Insn::LogicalImm { sf, opc, .. } => logical_imm_sel(sf, opc),
        Insn::CondSelect { sf, op, .. } => cond_select_sel(sf, op),
        Insn::BranchCond { cond, .. } => branch_cond_sel(cond),
        Insn::Branch { link: false, .. } => branch_imm::<false>,
        Insn::Branch { link: true, .. } => branch_imm::<true>,
        Insn::CompareBranch { sf, nonzero, .. } => match (sf, nonzero) {
            (false, false) => compare_branch::<false, false>,
            (false, true) => compare_branch::<false, true>,
            (true, false) => compare_branch::<true, false>,
            (true, true) => compare_branch::<true, true>,
        },
        Insn::TestBranch { nonzero: false, .. } => test_branch::<false>,
        Insn::TestBranch { nonzero: true, .. } => test_branch::<true>,
        Insn::LdStImm {
            size,
            op,
            index,
            unprivileged: false,
            ..
        } => ldst_imm_sel(size, op, index)?,
        Insn::LdStReg { size, op, .. } => ldst_reg_sel(size, op)?,
        Insn::LdStPair {
            size, op, index, ..
        } => ldst_pair_sel(size, op, index)?,
        // NOP (and the hint space it stands for: PAC/BTI hints, YIELD…) and DMB/DSB change nothing this
        // model keeps, so they need not end a block as other system instructions do.
        Insn::Hint(Hint::Nop) | Insn::Barrier => nothing,
        _ => return None,
    })
}

/// The [`ShiftType`] numbered `n` (its encoding).
const fn shift_type(n: u8) -> ShiftType {
    match n {
        0 => ShiftType::Lsl,
        1 => ShiftType::Lsr,
        2 => ShiftType::Asr,
        _ => ShiftType::Ror,
    }
}

/// The [`Index`] numbered `n`.
const fn index_of(n: u8) -> Index {
    match n {
        0 => Index::Offset,
        1 => Index::Pre,
        _ => Index::Post,
    }
}

/// The [`MemOp`] numbered `n` (only loads and stores are specialised).
const fn mem_op(n: u8) -> MemOp {
    match n {
        0 => MemOp::Load,
        _ => MemOp::Store,
    }
}

/// A handler was given an instruction of another kind than it was selected for: cannot happen (handlers
/// are chosen from the instruction); an UNDEFINED instruction rather than a panic if it ever did.
#[cold]
#[inline(never)]
fn mismatch(e: &mut Exec<'_>, insn: &Insn) -> Flow {
    debug_assert!(false, "specialised handler given {insn:?}");
    e.fault(crate::exception::Exception::undefined())
}

/// An instruction with no effect on this model's state (NOP, DMB, DSB: an in-order interpreter meets
/// every ordering requirement).
fn nothing(_: &mut Exec<'_>, _: &Insn) -> Flow {
    Flow::Next
}

/// `$b ? f::<.., true> : f::<.., false>`-style selection of one const parameter.
macro_rules! bool_sel {
    ($b:expr, $f:ident::<$($c:tt),*>) => {
        if $b { $f::<$($c,)* true> } else { $f::<$($c,)* false> }
    };
}

fn add_sub_imm<const SF: bool, const SUB: bool, const FLAGS: bool>(
    e: &mut Exec<'_>,
    insn: &Insn,
) -> Flow {
    let Insn::AddSubImm { rd, rn, imm, .. } = *insn else {
        return mismatch(e, insn);
    };
    op::add_sub_imm(
        e,
        &Insn::AddSubImm {
            sf: SF,
            sub: SUB,
            setflags: FLAGS,
            rd,
            rn,
            imm,
        },
    )
}

fn add_sub_imm_sel(sf: bool, sub: bool, setflags: bool) -> Handler {
    match (sf, sub) {
        (false, false) => bool_sel!(setflags, add_sub_imm::<false, false>),
        (false, true) => bool_sel!(setflags, add_sub_imm::<false, true>),
        (true, false) => bool_sel!(setflags, add_sub_imm::<true, false>),
        (true, true) => bool_sel!(setflags, add_sub_imm::<true, true>),
    }
}

fn logical_reg<const SF: bool, const OPC: u8, const INV: bool, const SHIFT: u8>(
    e: &mut Exec<'_>,
    insn: &Insn,
) -> Flow {
    let Insn::LogicalReg {
        rd, rn, rm, amount, ..
    } = *insn
    else {
        return mismatch(e, insn);
    };
    op::logical_reg(
        e,
        &Insn::LogicalReg {
            sf: SF,
            opc: OPC,
            invert: INV,
            rd,
            rn,
            rm,
            shift: shift_type(SHIFT),
            amount,
        },
    )
}

fn logical_reg_shift<const SF: bool, const OPC: u8, const INV: bool>(shift: ShiftType) -> Handler {
    match shift {
        ShiftType::Lsl => logical_reg::<SF, OPC, INV, 0>,
        ShiftType::Lsr => logical_reg::<SF, OPC, INV, 1>,
        ShiftType::Asr => logical_reg::<SF, OPC, INV, 2>,
        ShiftType::Ror => logical_reg::<SF, OPC, INV, 3>,
    }
}

fn logical_reg_inv<const SF: bool, const OPC: u8>(invert: bool, shift: ShiftType) -> Handler {
    if invert {
        logical_reg_shift::<SF, OPC, true>(shift)
    } else {
        logical_reg_shift::<SF, OPC, false>(shift)
    }
}

fn logical_reg_opc<const SF: bool>(opc: u8, invert: bool, shift: ShiftType) -> Handler {
    match opc {
        0 => logical_reg_inv::<SF, 0>(invert, shift),
        1 => logical_reg_inv::<SF, 1>(invert, shift),
        2 => logical_reg_inv::<SF, 2>(invert, shift),
        _ => logical_reg_inv::<SF, 3>(invert, shift),
    }
}

fn logical_reg_sel(sf: bool, opc: u8, invert: bool, shift: ShiftType) -> Handler {
    if sf {
        logical_reg_opc::<true>(opc, invert, shift)
    } else {
        logical_reg_opc::<false>(opc, invert, shift)
    }
}

fn add_sub_shifted<const SF: bool, const SUB: bool, const FLAGS: bool, const SHIFT: u8>(
    e: &mut Exec<'_>,
    insn: &Insn,
) -> Flow {
    let Insn::AddSubShifted {
        rd, rn, rm, amount, ..
    } = *insn
    else {
        return mismatch(e, insn);
    };
    op::add_sub_shifted(
        e,
        &Insn::AddSubShifted {
            sf: SF,
            sub: SUB,
            setflags: FLAGS,
            rd,
            rn,
            rm,
            shift: shift_type(SHIFT),
            amount,
        },
    )
}

fn add_sub_shifted_shift<const SF: bool, const SUB: bool, const FLAGS: bool>(
    shift: ShiftType,
) -> Handler {
    match shift {
        ShiftType::Lsl => add_sub_shifted::<SF, SUB, FLAGS, 0>,
        ShiftType::Lsr => add_sub_shifted::<SF, SUB, FLAGS, 1>,
        ShiftType::Asr => add_sub_shifted::<SF, SUB, FLAGS, 2>,
        // ROR is reserved for ADD/SUB (shifted register) and decodes as UNDEFINED; kept for completeness.
        ShiftType::Ror => add_sub_shifted::<SF, SUB, FLAGS, 3>,
    }
}

fn add_sub_shifted_sel(sf: bool, sub: bool, setflags: bool, shift: ShiftType) -> Handler {
    match (sf, sub, setflags) {
        (false, false, false) => add_sub_shifted_shift::<false, false, false>(shift),
        (false, false, true) => add_sub_shifted_shift::<false, false, true>(shift),
        (false, true, false) => add_sub_shifted_shift::<false, true, false>(shift),
        (false, true, true) => add_sub_shifted_shift::<false, true, true>(shift),
        (true, false, false) => add_sub_shifted_shift::<true, false, false>(shift),
        (true, false, true) => add_sub_shifted_shift::<true, false, true>(shift),
        (true, true, false) => add_sub_shifted_shift::<true, true, false>(shift),
        (true, true, true) => add_sub_shifted_shift::<true, true, true>(shift),
    }
}

fn extr<const SF: bool>(e: &mut Exec<'_>, insn: &Insn) -> Flow {
    let Insn::Extr {
        rd, rn, rm, lsb, ..
    } = *insn
    else {
        return mismatch(e, insn);
    };
    op::extr(
        e,
        &Insn::Extr {
            sf: SF,
            rd,
            rn,
            rm,
            lsb,
        },
    )
}

fn mov_wide<const SF: bool, const OPC: u8>(e: &mut Exec<'_>, insn: &Insn) -> Flow {
    let Insn::MovWide { rd, imm, shift, .. } = *insn else {
        return mismatch(e, insn);
    };
    op::mov_wide(
        e,
        &Insn::MovWide {
            sf: SF,
            opc: OPC,
            rd,
            imm,
            shift,
        },
    )
}

fn mov_wide_sel(sf: bool, opc: u8) -> Handler {
    match (sf, opc) {
        (false, 0) => mov_wide::<false, 0>,
        (false, 2) => mov_wide::<false, 2>,
        (false, _) => mov_wide::<false, 3>,
        (true, 0) => mov_wide::<true, 0>,
        (true, 2) => mov_wide::<true, 2>,
        (true, _) => mov_wide::<true, 3>,
    }
}

fn bitfield<const SF: bool, const OPC: u8>(e: &mut Exec<'_>, insn: &Insn) -> Flow {
    let Insn::Bitfield {
        rd, rn, immr, imms, ..
    } = *insn
    else {
        return mismatch(e, insn);
    };
    op::bitfield(
        e,
        &Insn::Bitfield {
            sf: SF,
            opc: OPC,
            rd,
            rn,
            immr,
            imms,
        },
    )
}

fn bitfield_sel(sf: bool, opc: u8) -> Handler {
    match (sf, opc) {
        (false, 0) => bitfield::<false, 0>,
        (false, 1) => bitfield::<false, 1>,
        (false, _) => bitfield::<false, 2>,
        (true, 0) => bitfield::<true, 0>,
        (true, 1) => bitfield::<true, 1>,
        (true, _) => bitfield::<true, 2>,
    }
}

fn logical_imm<const SF: bool, const OPC: u8>(e: &mut Exec<'_>, insn: &Insn) -> Flow {
    let Insn::LogicalImm { rd, rn, imm, .. } = *insn else {
        return mismatch(e, insn);
    };
    op::logical_imm(
        e,
        &Insn::LogicalImm {
            sf: SF,
            opc: OPC,
            rd,
            rn,
            imm,
        },
    )
}

fn logical_imm_sel(sf: bool, opc: u8) -> Handler {
    match (sf, opc) {
        (false, 0) => logical_imm::<false, 0>,
        (false, 1) => logical_imm::<false, 1>,
        (false, 2) => logical_imm::<false, 2>,
        (false, _) => logical_imm::<false, 3>,
        (true, 0) => logical_imm::<true, 0>,
        (true, 1) => logical_imm::<true, 1>,
        (true, 2) => logical_imm::<true, 2>,
        (true, _) => logical_imm::<true, 3>,
    }
}

fn cond_select<const SF: bool, const OP: u8>(e: &mut Exec<'_>, insn: &Insn) -> Flow {
    let Insn::CondSelect {
        rd, rn, rm, cond, ..
    } = *insn
    else {
        return mismatch(e, insn);
    };
    op::cond_select(
        e,
        &Insn::CondSelect {
            sf: SF,
            op: OP,
            rd,
            rn,
            rm,
            cond,
        },
    )
}

fn cond_select_sel(sf: bool, op: u8) -> Handler {
    match (sf, op) {
        (false, 0) => cond_select::<false, 0>,
        (false, 1) => cond_select::<false, 1>,
        (false, 2) => cond_select::<false, 2>,
        (false, _) => cond_select::<false, 3>,
        (true, 0) => cond_select::<true, 0>,
        (true, 1) => cond_select::<true, 1>,
        (true, 2) => cond_select::<true, 2>,
        (true, _) => cond_select::<true, 3>,
    }
}

fn branch_cond<const COND: u8>(e: &mut Exec<'_>, insn: &Insn) -> Flow {
    let Insn::BranchCond { offset, .. } = *insn else {
        return mismatch(e, insn);
    };
    op::branch(e, &Insn::BranchCond { cond: COND, offset })
}

fn branch_cond_sel(cond: u8) -> Handler {
    match cond & 15 {
        0 => branch_cond::<0>,
        1 => branch_cond::<1>,
        2 => branch_cond::<2>,
        3 => branch_cond::<3>,
        4 => branch_cond::<4>,
        5 => branch_cond::<5>,
        6 => branch_cond::<6>,
        7 => branch_cond::<7>,
        8 => branch_cond::<8>,
        9 => branch_cond::<9>,
        10 => branch_cond::<10>,
        11 => branch_cond::<11>,
        12 => branch_cond::<12>,
        13 => branch_cond::<13>,
        14 => branch_cond::<14>,
        _ => branch_cond::<15>,
    }
}

fn branch_imm<const LINK: bool>(e: &mut Exec<'_>, insn: &Insn) -> Flow {
    let Insn::Branch { offset, .. } = *insn else {
        return mismatch(e, insn);
    };
    op::branch(e, &Insn::Branch { link: LINK, offset })
}

fn compare_branch<const SF: bool, const NZ: bool>(e: &mut Exec<'_>, insn: &Insn) -> Flow {
    let Insn::CompareBranch { rt, offset, .. } = *insn else {
        return mismatch(e, insn);
    };
    op::branch(
        e,
        &Insn::CompareBranch {
            sf: SF,
            nonzero: NZ,
            rt,
            offset,
        },
    )
}

fn test_branch<const NZ: bool>(e: &mut Exec<'_>, insn: &Insn) -> Flow {
    let Insn::TestBranch {
        rt, bit, offset, ..
    } = *insn
    else {
        return mismatch(e, insn);
    };
    op::branch(
        e,
        &Insn::TestBranch {
            nonzero: NZ,
            rt,
            bit,
            offset,
        },
    )
}

fn ldst_imm<const SIZE: u8, const OP: u8, const INDEX: u8>(e: &mut Exec<'_>, insn: &Insn) -> Flow {
    let Insn::LdStImm { rt, rn, offset, .. } = *insn else {
        return mismatch(e, insn);
    };
    op::load_store(
        e,
        &Insn::LdStImm {
            size: SIZE,
            op: mem_op(OP),
            rt,
            rn,
            offset,
            index: index_of(INDEX),
            unprivileged: false,
        },
    )
}

fn ldst_imm_index<const SIZE: u8, const OP: u8>(index: Index) -> Handler {
    match index {
        Index::Offset => ldst_imm::<SIZE, OP, 0>,
        Index::Pre => ldst_imm::<SIZE, OP, 1>,
        Index::Post => ldst_imm::<SIZE, OP, 2>,
    }
}

fn ldst_imm_op<const SIZE: u8>(op: MemOp, index: Index) -> Option<Handler> {
    match op {
        MemOp::Load => Some(ldst_imm_index::<SIZE, 0>(index)),
        MemOp::Store => Some(ldst_imm_index::<SIZE, 1>(index)),
        _ => None,
    }
}

fn ldst_imm_sel(size: u8, op: MemOp, index: Index) -> Option<Handler> {
    match size {
        0 => ldst_imm_op::<0>(op, index),
        1 => ldst_imm_op::<1>(op, index),
        2 => ldst_imm_op::<2>(op, index),
        3 => ldst_imm_op::<3>(op, index),
        _ => None,
    }
}

fn ldst_reg<const SIZE: u8, const OP: u8>(e: &mut Exec<'_>, insn: &Insn) -> Flow {
    let Insn::LdStReg {
        rt,
        rn,
        rm,
        option,
        shift,
        ..
    } = *insn
    else {
        return mismatch(e, insn);
    };
    op::load_store(
        e,
        &Insn::LdStReg {
            size: SIZE,
            op: mem_op(OP),
            rt,
            rn,
            rm,
            option,
            shift,
        },
    )
}

fn ldst_reg_sel(size: u8, op: MemOp) -> Option<Handler> {
    let op = match op {
        MemOp::Load => 0,
        MemOp::Store => 1,
        _ => return None,
    };
    Some(match (size, op) {
        (0, 0) => ldst_reg::<0, 0>,
        (0, _) => ldst_reg::<0, 1>,
        (1, 0) => ldst_reg::<1, 0>,
        (1, _) => ldst_reg::<1, 1>,
        (2, 0) => ldst_reg::<2, 0>,
        (2, _) => ldst_reg::<2, 1>,
        (3, 0) => ldst_reg::<3, 0>,
        (3, _) => ldst_reg::<3, 1>,
        _ => return None,
    })
}

fn ldst_pair<const SIZE: u8, const OP: u8, const INDEX: u8>(e: &mut Exec<'_>, insn: &Insn) -> Flow {
    let Insn::LdStPair {
        rt,
        rt2,
        rn,
        offset,
        ..
    } = *insn
    else {
        return mismatch(e, insn);
    };
    op::load_store(
        e,
        &Insn::LdStPair {
            size: SIZE,
            op: mem_op(OP),
            rt,
            rt2,
            rn,
            offset,
            index: index_of(INDEX),
        },
    )
}

fn ldst_pair_index<const SIZE: u8, const OP: u8>(index: Index) -> Handler {
    match index {
        Index::Offset => ldst_pair::<SIZE, OP, 0>,
        Index::Pre => ldst_pair::<SIZE, OP, 1>,
        Index::Post => ldst_pair::<SIZE, OP, 2>,
    }
}

fn ldst_pair_sel(size: u8, op: MemOp, index: Index) -> Option<Handler> {
    Some(match (size, op) {
        (2, MemOp::Load) => ldst_pair_index::<2, 0>(index),
        (2, MemOp::Store) => ldst_pair_index::<2, 1>(index),
        (3, MemOp::Load) => ldst_pair_index::<3, 0>(index),
        (3, MemOp::Store) => ldst_pair_index::<3, 1>(index),
        _ => return None,
    })
}
