//! Loads and stores (Arm ARM C4.1.88, "Loads and Stores"): general-purpose registers only — every SIMD&FP
//! form (`V` = 1) is UNDEFINED because FP/AdvSIMD is reported absent.

use super::{Index, Insn, MemOp, bits, f8, reg, sign_extend};

/// Loads and stores: dispatch on bits \[29:24\] and the op3/op4 fields.
pub(super) fn decode_ldst(word: u32) -> Insn {
    if bits(word, 26, 26) == 1 {
        return Insn::Undefined; // SIMD&FP
    }
    let rt = reg(word, 0);
    let rn = reg(word, 5);
    match bits(word, 29, 27) {
        0b001 if bits(word, 24, 24) == 0 => decode_exclusive_ordered(word),
        0b011 if bits(word, 24, 24) == 0 => decode_literal(word, rt),
        0b101 => decode_pair(word, rt, rn),
        0b111 => {
            let size = f8(word, 31, 30);
            let Some(op) = mem_op(size, bits(word, 23, 22)) else {
                return Insn::Undefined;
            };
            if bits(word, 24, 24) == 1 {
                return Insn::LdStImm {
                    size,
                    op,
                    rt,
                    rn,
                    offset: i32::try_from(bits(word, 21, 10) << size).unwrap_or(0),
                    index: Index::Offset,
                    unprivileged: false,
                };
            }
            if bits(word, 21, 21) == 0 {
                let offset = sign_extend(bits(word, 20, 12), 9);
                let (index, unprivileged) = match bits(word, 11, 10) {
                    0b00 => (Index::Offset, false),
                    0b01 => (Index::Post, false),
                    0b10 => (Index::Offset, true),
                    _ => (Index::Pre, false),
                };
                if unprivileged && op == MemOp::Prefetch {
                    return Insn::Undefined;
                }
                if op == MemOp::Prefetch && index != Index::Offset {
                    return Insn::Undefined;
                }
                return Insn::LdStImm {
                    size,
                    op,
                    rt,
                    rn,
                    offset,
                    index,
                    unprivileged,
                };
            }
            match bits(word, 11, 10) {
                0b10 => {
                    let option = f8(word, 15, 13);
                    if option & 0b010 == 0 {
                        return Insn::Undefined;
                    }
                    let s = bits(word, 12, 12) == 1;
                    Insn::LdStReg {
                        size,
                        op,
                        rt,
                        rn,
                        rm: reg(word, 16),
                        option,
                        shift: if s { size } else { 0 },
                    }
                }
                0b00 => decode_ldapr(word, rt, rn),
                _ => Insn::Undefined, // LDRAA/LDRAB (PAuth)
            }
        }
        _ => Insn::Undefined,
    }
}

/// The operation of a single-register load/store from `size` and `opc` (bits \[23:22\]).
fn mem_op(size: u8, opc: u32) -> Option<MemOp> {
    match (size, opc) {
        (_, 0b00) => Some(MemOp::Store),
        (_, 0b01) => Some(MemOp::Load),
        (0..=2, 0b10) => Some(MemOp::LoadSigned64),
        (3, 0b10) => Some(MemOp::Prefetch),
        (0 | 1, 0b11) => Some(MemOp::LoadSigned32),
        _ => None,
    }
}

/// LDAPR (FEAT_LRCPC, in the atomic memory operations group: A = 1, R = 0, Rs = 31, o3 = 1, opc = 100).
/// The LSE atomics of that group are not implemented.
fn decode_ldapr(word: u32, rt: u8, rn: u8) -> Insn {
    if bits(word, 23, 22) == 0b10 && bits(word, 20, 16) == 0b11111 && bits(word, 15, 12) == 0b1100 {
        Insn::AcquireRelease {
            size: f8(word, 31, 30),
            load: true,
            rt,
            rn,
        }
    } else {
        Insn::Undefined
    }
}

/// Load register (literal): opc = bits \[31:30\].
fn decode_literal(word: u32, rt: u8) -> Insn {
    let offset = sign_extend(bits(word, 23, 5), 19) << 2;
    let (size, op) = match bits(word, 31, 30) {
        0b00 => (2, MemOp::Load),
        0b01 => (3, MemOp::Load),
        0b10 => (2, MemOp::LoadSigned64),
        _ => (3, MemOp::Prefetch),
    };
    Insn::LdLiteral {
        size,
        op,
        rt,
        offset,
    }
}

/// Load/store pair (no-allocate, post-index, offset, pre-index): opc = bits \[31:30\], bits \[24:23\]
/// the indexing, L = bit 22.
fn decode_pair(word: u32, rt: u8, rn: u8) -> Insn {
    let load = bits(word, 22, 22) == 1;
    let (size, op) = match (bits(word, 31, 30), load) {
        (0b00, false) => (2, MemOp::Store),
        (0b00, true) => (2, MemOp::Load),
        (0b01, true) if bits(word, 24, 23) != 0 => (2, MemOp::LoadSigned64),
        (0b10, false) => (3, MemOp::Store),
        (0b10, true) => (3, MemOp::Load),
        _ => return Insn::Undefined, // STGP (MTE), LDPSW no-allocate, opc 11
    };
    let index = match bits(word, 24, 23) {
        0b00 | 0b10 => Index::Offset,
        0b01 => Index::Post,
        _ => Index::Pre,
    };
    let rt2 = reg(word, 10);
    // CONSTRAINED UNPREDICTABLE cases (Arm ARM K1.2.x): a load pair with Rt == Rt2, or writeback with
    // Rn == Rt/Rt2 (Rn != 31), is UNDEFINED here, one of the permitted behaviours.
    if load && rt == rt2 {
        return Insn::Undefined;
    }
    if index != Index::Offset && rn != 31 && (rn == rt || rn == rt2) {
        return Insn::Undefined;
    }
    Insn::LdStPair {
        size,
        op,
        rt,
        rt2,
        rn,
        offset: sign_extend(bits(word, 21, 15), 7) << size,
        index,
    }
}

/// Load/store exclusive (register and pair) and load-acquire/store-release (ordered): size \[31:30\],
/// o2 = bit 23, L = bit 22, o1 = bit 21, Rs \[20:16\], o0 = bit 15, Rt2 \[14:10\].
fn decode_exclusive_ordered(word: u32) -> Insn {
    let size = f8(word, 31, 30);
    let o2 = bits(word, 23, 23) == 1;
    let load = bits(word, 22, 22) == 1;
    let o1 = bits(word, 21, 21) == 1;
    let o0 = bits(word, 15, 15) == 1;
    let rs = reg(word, 16);
    let rt2 = reg(word, 10);
    let rt = reg(word, 0);
    let rn = reg(word, 5);
    match (o2, o1) {
        (false, pair) => {
            if pair && size < 2 {
                return Insn::Undefined; // CASP (LSE)
            }
            Insn::Exclusive {
                size,
                load,
                pair,
                ordered: o0,
                rs,
                rt,
                rt2,
                rn,
            }
        }
        // LDAR / STLR; LDLAR/STLLR (o0 = 0, FEAT_LOR) are not implemented.
        (true, false) if o0 => Insn::AcquireRelease { size, load, rt, rn },
        _ => Insn::Undefined, // CAS (LSE)
    }
}
