//! Branches, exception generating and system instructions (Arm ARM C4.1.87).

use super::{BranchReg, Hint, Insn, PstateField, bits, f8, f16, reg, sign_extend};

/// Branches, exception generating and system instructions: op0 = bits \[31:29\], op1 = bits \[25:12\].
pub(super) fn decode_branch_system(word: u32) -> Insn {
    let op0 = bits(word, 31, 29);
    match op0 {
        0b000 | 0b100 if bits(word, 28, 26) == 0b101 => Insn::Branch {
            link: op0 == 0b100,
            offset: sign_extend(bits(word, 25, 0), 26) << 2,
        },
        0b001 | 0b101 if bits(word, 28, 25) == 0b1010 => {
            let offset = sign_extend(bits(word, 23, 5), 19) << 2;
            Insn::CompareBranch {
                sf: op0 == 0b101,
                nonzero: bits(word, 24, 24) == 1,
                rt: reg(word, 0),
                offset,
            }
        }
        0b001 | 0b101 => Insn::TestBranch {
            nonzero: bits(word, 24, 24) == 1,
            rt: reg(word, 0),
            bit: (f8(word, 31, 31) << 5) | f8(word, 23, 19),
            offset: sign_extend(bits(word, 18, 5), 14) << 2,
        },
        0b010 => {
            if bits(word, 25, 24) == 0 && bits(word, 4, 4) == 0 {
                Insn::BranchCond {
                    cond: f8(word, 3, 0),
                    offset: sign_extend(bits(word, 23, 5), 19) << 2,
                }
            } else {
                Insn::Undefined // BC.cond (FEAT_HBC) and unallocated
            }
        }
        0b110 => match bits(word, 25, 24) {
            0b00 => decode_exception(word),
            0b01 if bits(word, 23, 22) == 0 => decode_system(word),
            0b10 | 0b11 => decode_branch_reg(word),
            _ => Insn::Undefined,
        },
        _ => Insn::Undefined,
    }
}

/// Exception generation: opc = bits \[23:21\], op2 = bits \[4:2\], LL = bits \[1:0\].
fn decode_exception(word: u32) -> Insn {
    let imm = f16(word, 20, 5);
    if bits(word, 4, 2) != 0 {
        return Insn::Undefined;
    }
    match (bits(word, 23, 21), bits(word, 1, 0)) {
        (0b000, 0b01) => Insn::Svc { imm },
        (0b000, 0b10) => Insn::Hvc { imm },
        (0b000, 0b11) => Insn::Smc { imm },
        (0b001, 0b00) => Insn::Brk { imm },
        // HLT is UNDEFINED while halting debug is disabled (Arm ARM C6.2.129); DCPSx, TCANCEL: not
        // implemented.
        _ => Insn::Undefined,
    }
}

/// System instructions: L = bit 21, op0 = bits \[20:19\], op1 \[18:16\], CRn \[15:12\], CRm \[11:8\],
/// op2 \[7:5\], Rt \[4:0\].
fn decode_system(word: u32) -> Insn {
    let l = bits(word, 21, 21) == 1;
    let op0 = bits(word, 20, 19);
    let op1 = bits(word, 18, 16);
    let crn = bits(word, 15, 12);
    let crm = bits(word, 11, 8);
    let op2 = bits(word, 7, 5);
    let rt = reg(word, 0);
    let sysreg = f16(word, 20, 5);
    match (l, op0) {
        (false, 0b00) => match crn {
            0b0010 if rt == 31 => Insn::Hint(match (crm, op2) {
                (0, 2) => Hint::Wfe,
                (0, 3) => Hint::Wfi,
                (0, 4) => Hint::Sev,
                (0, 5) => Hint::Sevl,
                _ => Hint::Nop,
            }),
            0b0011 if rt == 31 => match op2 {
                0b010 if op1 == 3 => Insn::Clrex,
                0b100 | 0b101 if op1 == 3 => Insn::Barrier,
                0b110 if op1 == 3 => Insn::Isb,
                _ => Insn::Undefined,
            },
            0b0100 if rt == 31 => match (op1, op2) {
                (0b011, 0b110) => Insn::MsrImm {
                    field: PstateField::DaifSet,
                    imm: f8(word, 11, 8),
                },
                (0b011, 0b111) => Insn::MsrImm {
                    field: PstateField::DaifClr,
                    imm: f8(word, 11, 8),
                },
                (0b000, 0b101) => Insn::MsrImm {
                    field: PstateField::SpSel,
                    imm: f8(word, 11, 8),
                },
                // PAN, UAO, SSBS, DIT, TCO, CFINV…: features not implemented.
                _ => Insn::Undefined,
            },
            _ => Insn::Undefined,
        },
        (false, 0b01) => Insn::Sys { reg: sysreg, rt },
        (false, _) => Insn::Msr { reg: sysreg, rt },
        (true, 0b00) | (true, 0b01) => Insn::Undefined, // SYSL: none implemented
        (true, _) => Insn::Mrs { reg: sysreg, rt },
    }
}

/// Unconditional branch (register): opc = bits \[24:21\], op2 \[20:16\], op3 \[15:10\], Rn, op4 \[4:0\].
fn decode_branch_reg(word: u32) -> Insn {
    if bits(word, 20, 16) != 0b11111 || bits(word, 15, 10) != 0 {
        return Insn::Undefined; // the PAuth forms (op3 != 0) are not implemented
    }
    let rn = reg(word, 5);
    let op4 = bits(word, 4, 0);
    match bits(word, 24, 21) {
        0b0000 if op4 == 0 => Insn::BranchReg {
            kind: BranchReg::Br,
            rn,
        },
        0b0001 if op4 == 0 => Insn::BranchReg {
            kind: BranchReg::Blr,
            rn,
        },
        0b0010 if op4 == 0 => Insn::BranchReg {
            kind: BranchReg::Ret,
            rn,
        },
        0b0100 if op4 == 0 && rn == 31 => Insn::Eret,
        _ => Insn::Undefined,
    }
}
