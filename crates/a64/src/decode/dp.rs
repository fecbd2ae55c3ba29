//! Data processing — immediate (Arm ARM C4.1.86) and — register (C4.1.88).

use super::{Dp1, Dp2, Dp3, Insn, ShiftType, bits, f8, f16, reg, sign_extend};

/// `DecodeBitMasks(immN, imms, immr, immediate = TRUE)` (Arm ARM J1 `shared/functions/bitmasks`): the
/// `wmask` of a logical immediate, replicated to the operation's size; `None` for a reserved encoding.
pub(crate) fn decode_bit_masks(sf: bool, n: u32, imms: u32, immr: u32) -> Option<u64> {
    let combined = (n << 6) | (!imms & 0x3F);
    if combined == 0 {
        return None;
    }
    let len = 31 - combined.leading_zeros(); // HighestSetBit
    if len < 1 || (!sf && len > 5) {
        return None;
    }
    let esize = 1u32 << len;
    let levels = esize - 1;
    let s = imms & levels;
    let r = immr & levels;
    if s == levels {
        return None; // all ones is reserved for logical immediates
    }
    let welem: u64 = (1u64 << (s + 1)) - 1;
    let emask = if esize == 64 {
        u64::MAX
    } else {
        (1u64 << esize) - 1
    };
    let rotated = if r == 0 {
        welem
    } else {
        ((welem >> r) | (welem << (esize - r))) & emask
    };
    let mut value = 0u64;
    let mut pos = 0;
    while pos < 64 {
        value |= rotated << pos;
        pos += esize;
    }
    Some(if sf { value } else { value & 0xFFFF_FFFF })
}

fn shift_type(word: u32) -> ShiftType {
    match bits(word, 23, 22) {
        0 => ShiftType::Lsl,
        1 => ShiftType::Lsr,
        2 => ShiftType::Asr,
        _ => ShiftType::Ror,
    }
}

/// Data processing — immediate: bits \[25:23\].
pub(super) fn decode_dp_imm(word: u32) -> Insn {
    let sf = bits(word, 31, 31) == 1;
    let rd = reg(word, 0);
    let rn = reg(word, 5);
    match bits(word, 25, 23) {
        0b000 | 0b001 => {
            let immlo = bits(word, 30, 29);
            let immhi = bits(word, 23, 5);
            Insn::Adr {
                page: sf,
                rd,
                imm: sign_extend((immhi << 2) | immlo, 21),
            }
        }
        0b010 => {
            let shift = bits(word, 22, 22);
            let imm12 = bits(word, 21, 10);
            Insn::AddSubImm {
                sf,
                sub: bits(word, 30, 30) == 1,
                setflags: bits(word, 29, 29) == 1,
                rd,
                rn,
                imm: imm12 << (12 * shift),
            }
        }
        0b100 => {
            let n = bits(word, 22, 22);
            if !sf && n == 1 {
                return Insn::Undefined;
            }
            match decode_bit_masks(sf, n, bits(word, 15, 10), bits(word, 21, 16)) {
                Some(imm) => Insn::LogicalImm {
                    sf,
                    opc: f8(word, 30, 29),
                    rd,
                    rn,
                    imm,
                },
                None => Insn::Undefined,
            }
        }
        0b101 => {
            let opc = f8(word, 30, 29);
            let hw = f8(word, 22, 21);
            if opc == 1 || (!sf && hw > 1) {
                return Insn::Undefined;
            }
            Insn::MovWide {
                sf,
                opc,
                rd,
                imm: f16(word, 20, 5),
                shift: hw * 16,
            }
        }
        0b110 => {
            let opc = f8(word, 30, 29);
            let n = bits(word, 22, 22) == 1;
            let immr = f8(word, 21, 16);
            let imms = f8(word, 15, 10);
            if opc == 3 || n != sf || (!sf && (immr > 31 || imms > 31)) {
                return Insn::Undefined;
            }
            Insn::Bitfield {
                sf,
                opc,
                rd,
                rn,
                immr,
                imms,
            }
        }
        0b111 => {
            let op21 = bits(word, 30, 29);
            let n = bits(word, 22, 22) == 1;
            let o0 = bits(word, 21, 21);
            let imms = f8(word, 15, 10);
            if op21 != 0 || o0 != 0 || n != sf || (!sf && imms > 31) {
                return Insn::Undefined;
            }
            Insn::Extr {
                sf,
                rd,
                rn,
                rm: reg(word, 16),
                lsb: imms,
            }
        }
        // 011: add/subtract immediate with tags (MTE, not implemented).
        _ => Insn::Undefined,
    }
}

/// Data processing — register: op1 = bit 28, op2 = bits \[24:21\].
pub(super) fn decode_dp_reg(word: u32) -> Insn {
    let sf = bits(word, 31, 31) == 1;
    let rd = reg(word, 0);
    let rn = reg(word, 5);
    let rm = reg(word, 16);
    let op = bits(word, 30, 30) == 1;
    let s = bits(word, 29, 29) == 1;
    if bits(word, 28, 28) == 0 {
        let amount = f8(word, 15, 10);
        if bits(word, 24, 24) == 0 {
            // Logical (shifted register).
            if !sf && amount > 31 {
                return Insn::Undefined;
            }
            return Insn::LogicalReg {
                sf,
                opc: f8(word, 30, 29),
                invert: bits(word, 21, 21) == 1,
                rd,
                rn,
                rm,
                shift: shift_type(word),
                amount,
            };
        }
        if bits(word, 21, 21) == 0 {
            let shift = shift_type(word);
            if shift == ShiftType::Ror || (!sf && amount > 31) {
                return Insn::Undefined;
            }
            return Insn::AddSubShifted {
                sf,
                sub: op,
                setflags: s,
                rd,
                rn,
                rm,
                shift,
                amount,
            };
        }
        let imm3 = f8(word, 12, 10);
        if bits(word, 23, 22) != 0 || imm3 > 4 {
            return Insn::Undefined;
        }
        return Insn::AddSubExt {
            sf,
            sub: op,
            setflags: s,
            rd,
            rn,
            rm,
            option: f8(word, 15, 13),
            amount: imm3,
        };
    }
    match bits(word, 24, 21) {
        0b0000 => {
            if bits(word, 15, 10) != 0 {
                return Insn::Undefined; // RMIF, SETF (FEAT_FlagM)
            }
            Insn::AddSubCarry {
                sf,
                sub: op,
                setflags: s,
                rd,
                rn,
                rm,
            }
        }
        0b0010 => {
            if !s || bits(word, 10, 10) != 0 || bits(word, 4, 4) != 0 {
                return Insn::Undefined;
            }
            Insn::CondCompare {
                sf,
                sub: op,
                imm: bits(word, 11, 11) == 1,
                rn,
                rm,
                cond: f8(word, 15, 12),
                nzcv: f8(word, 3, 0),
            }
        }
        0b0100 => {
            let op2 = bits(word, 11, 10);
            if s || op2 > 1 {
                return Insn::Undefined;
            }
            Insn::CondSelect {
                sf,
                op: (u8::from(op) << 1) | u8::from(op2 == 1),
                rd,
                rn,
                rm,
                cond: f8(word, 15, 12),
            }
        }
        0b0110 => {
            if s {
                return Insn::Undefined;
            }
            if op {
                decode_dp1(word, sf, rd, rn)
            } else {
                let dp2 = match bits(word, 15, 10) {
                    0b000010 => Dp2::Udiv,
                    0b000011 => Dp2::Sdiv,
                    0b001000 => Dp2::Lslv,
                    0b001001 => Dp2::Lsrv,
                    0b001010 => Dp2::Asrv,
                    0b001011 => Dp2::Rorv,
                    _ => return Insn::Undefined, // CRC32 (not advertised), PACGA, SUBP, …
                };
                Insn::DataProc2 {
                    sf,
                    op: dp2,
                    rd,
                    rn,
                    rm,
                }
            }
        }
        0b1000..=0b1111 => {
            let op54 = bits(word, 30, 29);
            let op31 = bits(word, 23, 21);
            let o0 = bits(word, 15, 15) == 1;
            let dp3 = match (op54, op31, o0) {
                (0, 0b000, false) => Dp3::Madd,
                (0, 0b000, true) => Dp3::Msub,
                (0, 0b001, false) if sf => Dp3::Smaddl,
                (0, 0b001, true) if sf => Dp3::Smsubl,
                (0, 0b010, false) if sf => Dp3::Smulh,
                (0, 0b101, false) if sf => Dp3::Umaddl,
                (0, 0b101, true) if sf => Dp3::Umsubl,
                (0, 0b110, false) if sf => Dp3::Umulh,
                _ => return Insn::Undefined,
            };
            Insn::DataProc3 {
                sf,
                op: dp3,
                rd,
                rn,
                rm,
                ra: reg(word, 10),
            }
        }
        _ => Insn::Undefined,
    }
}

fn decode_dp1(word: u32, sf: bool, rd: u8, rn: u8) -> Insn {
    if bits(word, 20, 16) != 0 {
        return Insn::Undefined; // PAC/AUT/XPAC (not implemented)
    }
    let op = match (bits(word, 15, 10), sf) {
        (0b000000, _) => Dp1::Rbit,
        (0b000001, _) => Dp1::Rev16,
        (0b000010, false) => Dp1::Rev,
        (0b000010, true) => Dp1::Rev32,
        (0b000011, true) => Dp1::Rev,
        (0b000100, _) => Dp1::Clz,
        (0b000101, _) => Dp1::Cls,
        _ => return Insn::Undefined,
    };
    Insn::DataProc1 { sf, op, rd, rn }
}
