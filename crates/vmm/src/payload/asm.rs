//! The payloads' assembler: the encoders `realm_a64::asm` lacks (branches, loads and stores with offsets,
//! exclusives, MRS), and [`Program`], which places labels, strings and data pages and resolves PC-relative
//! references. Field layouts: Arm ARM DDI 0487 C6.2 (each instruction's encoding diagram); every encoder
//! is checked against GNU as 2.40 in this file's tests.

use std::collections::HashMap;

pub(crate) use realm_a64::asm::*;

/// Condition codes (C1.2.4).
pub(crate) mod cond {
    /// Equal.
    pub(crate) const EQ: u32 = 0x0;
    /// Not equal.
    pub(crate) const NE: u32 = 0x1;
    /// Unsigned lower (carry clear).
    pub(crate) const LO: u32 = 0x3;
    /// Unsigned higher or same.
    pub(crate) const HS: u32 = 0x2;
}

/// `RET` (to X30).
pub(crate) const RET: u32 = 0xD65F_03C0;
/// `WFE`.
pub(crate) const WFE: u32 = 0xD503_205F;

/// `LDRB Wt, [Xn, #off]`.
pub(crate) const fn ldrb_off(rt: u32, rn: u32, off: u32) -> u32 {
    0x3940_0000 | (off << 10) | (rn << 5) | rt
}
/// `LDR Xt, [Xn, #off]` (`off` a multiple of 8).
pub(crate) const fn ldr_x_off(rt: u32, rn: u32, off: u32) -> u32 {
    0xF940_0000 | ((off / 8) << 10) | (rn << 5) | rt
}
/// `STR Xt, [Xn, #off]` (`off` a multiple of 8).
pub(crate) const fn str_x_off(rt: u32, rn: u32, off: u32) -> u32 {
    0xF900_0000 | ((off / 8) << 10) | (rn << 5) | rt
}
/// `LSRV Xd, Xn, Xm`.
pub(crate) const fn lsrv_x(rd: u32, rn: u32, rm: u32) -> u32 {
    0x9AC0_2400 | (rm << 16) | (rn << 5) | rd
}
/// `AND Xd, Xn, #0xf` (N 1, immr 0, imms 3).
pub(crate) const fn and_x_0xf(rd: u32, rn: u32) -> u32 {
    0x9240_0C00 | (rn << 5) | rd
}
/// `MOV Xd, Xm` (`ORR Xd, XZR, Xm`).
pub(crate) const fn mov_x(rd: u32, rm: u32) -> u32 {
    orr_x(rd, 31, rm)
}
/// `MRS Xt, <reg>` with `reg` from [`sysreg`].
pub(crate) const fn mrs(rt: u32, reg: u32) -> u32 {
    0xD520_0000 | (reg << 5) | rt
}
/// `CMP Xn, #imm12`.
pub(crate) const fn cmp_x(rn: u32, imm: u32) -> u32 {
    subs_x(31, rn, imm)
}
/// `CMP Xn, Xm` (`SUBS XZR, Xn, Xm`, shifted register, LSL #0).
pub(crate) const fn cmp_x_reg(rn: u32, rm: u32) -> u32 {
    0xEB00_001F | (rm << 16) | (rn << 5)
}
/// `SUB Xd, Xn, Xm` (shifted register, LSL #0).
pub(crate) const fn sub_x_reg(rd: u32, rn: u32, rm: u32) -> u32 {
    0xCB00_0000 | (rm << 16) | (rn << 5) | rd
}
/// `BRK #imm16`.
pub(crate) const fn brk(imm: u32) -> u32 {
    0xD420_0000 | (imm << 5)
}
/// `SVC #imm16`.
pub(crate) const fn svc(imm: u32) -> u32 {
    0xD400_0001 | (imm << 5)
}
/// `DSB ISH`.
pub(crate) const DSB_ISH: u32 = 0xD503_3B9F;
/// `TLBI VMALLE1`.
pub(crate) const TLBI_VMALLE1: u32 = 0xD508_871F;
/// `LDAXR Xt, [Xn]`.
pub(crate) const fn ldaxr_x(rt: u32, rn: u32) -> u32 {
    0xC85F_FC00 | (rn << 5) | rt
}
/// `STXR Ws, Xt, [Xn]`.
pub(crate) const fn stxr_x(rs: u32, rt: u32, rn: u32) -> u32 {
    0xC800_7C00 | (rs << 16) | (rn << 5) | rt
}
/// `STLR Xt, [Xn]`.
pub(crate) const fn stlr_x(rt: u32, rn: u32) -> u32 {
    0xC89F_FC00 | (rn << 5) | rt
}
/// `ADD Xd, Xn, #imm12, LSL #12`.
pub(crate) const fn add_x_lsl12(rd: u32, rn: u32, imm: u32) -> u32 {
    0x9140_0000 | (imm << 10) | (rn << 5) | rd
}

/// How a reference to a label is encoded.
#[derive(Clone, Copy, Debug)]
enum Fix {
    /// imm26 words (B, BL).
    Imm26,
    /// imm19 words at bits 23:5 (B.cond, CBZ, CBNZ).
    Imm19,
    /// ADR's 21-bit byte offset (immlo 30:29, immhi 23:5).
    Adr,
}

/// A program under construction: code words, then (at [`Program::finish`]) its strings, placed after the
/// code. Labels name byte offsets from the program's start (its load address: payloads are position
/// independent, every reference PC-relative).
#[derive(Debug, Default)]
pub(crate) struct Program {
    words: Vec<u32>,
    labels: HashMap<String, usize>,
    fixups: Vec<(usize, String, Fix)>,
    strings: Vec<(String, Vec<u8>)>,
}

impl Program {
    /// An empty program.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The byte offset of the next instruction.
    pub(crate) fn here(&self) -> usize {
        4 * self.words.len()
    }

    /// Append one instruction.
    pub(crate) fn emit(&mut self, word: u32) -> &mut Self {
        self.words.push(word);
        self
    }

    /// Pad with `UDF #0` words up to byte offset `offset` (an exception vector's fixed place). Panics (a bug
    /// in a payload, caught by its tests) if the code is already past it.
    pub(crate) fn org(&mut self, offset: usize) -> &mut Self {
        assert!(
            self.here() <= offset && offset.is_multiple_of(4),
            "code at {:#x} is past .org {offset:#x}",
            self.here()
        );
        while self.here() < offset {
            self.words.push(0);
        }
        self
    }

    /// Append instructions.
    pub(crate) fn emit_all(&mut self, words: &[u32]) -> &mut Self {
        self.words.extend_from_slice(words);
        self
    }

    /// Name the next instruction's address.
    pub(crate) fn label(&mut self, name: &str) -> &mut Self {
        let here = self.here();
        self.labels.insert(name.to_owned(), here);
        self
    }

    /// Name the absolute offset `at` (a data page inside the payload).
    pub(crate) fn label_at(&mut self, name: &str, at: usize) -> &mut Self {
        self.labels.insert(name.to_owned(), at);
        self
    }

    fn reference(&mut self, word: u32, name: &str, fix: Fix) -> &mut Self {
        self.fixups.push((self.words.len(), name.to_owned(), fix));
        self.emit(word)
    }

    /// `B label`.
    pub(crate) fn b(&mut self, name: &str) -> &mut Self {
        self.reference(0x1400_0000, name, Fix::Imm26)
    }

    /// `BL label`.
    pub(crate) fn bl(&mut self, name: &str) -> &mut Self {
        self.reference(0x9400_0000, name, Fix::Imm26)
    }

    /// `B.cond label`.
    pub(crate) fn b_cond(&mut self, cond: u32, name: &str) -> &mut Self {
        self.reference(0x5400_0000 | cond, name, Fix::Imm19)
    }

    /// `CBZ Xt, label`.
    pub(crate) fn cbz_x(&mut self, rt: u32, name: &str) -> &mut Self {
        self.reference(0xB400_0000 | rt, name, Fix::Imm19)
    }

    /// `CBNZ Xt, label`.
    pub(crate) fn cbnz_x(&mut self, rt: u32, name: &str) -> &mut Self {
        self.reference(0xB500_0000 | rt, name, Fix::Imm19)
    }

    /// `ADR Xd, label`.
    pub(crate) fn adr(&mut self, rd: u32, name: &str) -> &mut Self {
        self.reference(0x1000_0000 | rd, name, Fix::Adr)
    }

    /// `Xd = value` (MOVZ, then a MOVK per further non-zero halfword).
    pub(crate) fn mov_imm(&mut self, rd: u32, value: u64) -> &mut Self {
        let half = |i: u32| u32::try_from((value >> (16 * i)) & 0xFFFF).unwrap_or(0);
        self.emit(movz_x(rd, half(0), 0));
        for i in 1..4 {
            if half(i) != 0 {
                self.emit(movk_x(rd, half(i), 16 * i));
            }
        }
        self
    }

    /// `X1 = the address of a NUL-terminated copy of text` (placed after the code).
    pub(crate) fn adr_string(&mut self, rd: u32, text: &str) -> &mut Self {
        let name = format!(".str{}", self.strings.len());
        let mut bytes = text.as_bytes().to_vec();
        bytes.push(0);
        self.strings.push((name.clone(), bytes));
        self.adr(rd, &name)
    }

    /// Lay out code and strings, resolve every reference, and pad to `size` bytes (a whole number of
    /// granules). Panics (a bug in a payload, caught by its tests) on an undefined label, an out-of-range
    /// reference, or a program larger than `size`.
    pub(crate) fn finish(mut self, size: usize) -> Vec<u8> {
        let mut bytes: Vec<u8> = self.words.iter().flat_map(|w| w.to_le_bytes()).collect();
        for (name, s) in std::mem::take(&mut self.strings) {
            self.labels.insert(name, bytes.len());
            bytes.extend_from_slice(&s);
        }
        for (index, name, fix) in &self.fixups {
            let target = *self
                .labels
                .get(name)
                .unwrap_or_else(|| panic!("payload label {name} is not defined"));
            let at = 4 * index;
            let delta = i64::try_from(target).unwrap_or(0) - i64::try_from(at).unwrap_or(0);
            let field = match fix {
                Fix::Imm26 => {
                    assert!(delta % 4 == 0 && delta.abs() < 1 << 27, "branch to {name}");
                    (u32::try_from((delta / 4) & 0x3FF_FFFF).unwrap_or(0)) & 0x3FF_FFFF
                }
                Fix::Imm19 => {
                    assert!(delta % 4 == 0 && delta.abs() < 1 << 20, "branch to {name}");
                    (u32::try_from((delta / 4) & 0x7_FFFF).unwrap_or(0)) << 5
                }
                Fix::Adr => {
                    assert!(delta.abs() < 1 << 20, "adr to {name}");
                    let d = u32::try_from(delta & 0x1F_FFFF).unwrap_or(0);
                    ((d & 3) << 29) | ((d >> 2) << 5)
                }
            };
            let mut word =
                u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
            word |= field;
            bytes[at..at + 4].copy_from_slice(&word.to_le_bytes());
        }
        assert!(
            bytes.len() <= size,
            "payload of {} bytes overflows {size}",
            bytes.len()
        );
        bytes.resize(size, 0);
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(p: Program) -> Vec<u32> {
        let n = p.here();
        p.finish(0x1000)[..n]
            .chunks(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    }

    #[test]
    fn encoders_match_gnu_as() {
        // Values as GNU as 2.40 (aarch64) encodes them.
        let cases = [
            (RET, 0xD65F_03C0, "ret"),
            (WFE, 0xD503_205F, "wfe"),
            (ldrb_off(2, 1, 0), 0x3940_0022, "ldrb w2, [x1]"),
            (ldrb_off(2, 1, 7), 0x3940_1C22, "ldrb w2, [x1, #7]"),
            (ldr_x_off(3, 4, 16), 0xF940_0883, "ldr x3, [x4, #16]"),
            (str_x_off(3, 4, 24), 0xF900_0C83, "str x3, [x4, #24]"),
            (lsrv_x(2, 0, 3), 0x9AC3_2402, "lsr x2, x0, x3"),
            (and_x_0xf(2, 2), 0x9240_0C42, "and x2, x2, #0xf"),
            (mov_x(21, 0), 0xAA00_03F5, "mov x21, x0"),
            (
                mrs(0, sysreg(3, 0, 0, 0, 5)),
                0xD538_00A0,
                "mrs x0, mpidr_el1",
            ),
            (cmp_x(2, 10), 0xF100_285F, "cmp x2, #0xa"),
            (cmp_x_reg(8, 7), 0xEB07_011F, "cmp x8, x7"),
            (brk(0x42), 0xD420_0840, "brk #0x42"),
            (sub_x_reg(3, 3, 26), 0xCB1A_0063, "sub x3, x3, x26"),
            (svc(7), 0xD400_00E1, "svc #0x7"),
            (DSB_ISH, 0xD503_3B9F, "dsb ish"),
            (TLBI_VMALLE1, 0xD508_871F, "tlbi vmalle1"),
            (ldaxr_x(2, 1), 0xC85F_FC22, "ldaxr x2, [x1]"),
            (stxr_x(3, 2, 1), 0xC803_7C22, "stxr w3, x2, [x1]"),
            (stlr_x(2, 1), 0xC89F_FC22, "stlr x2, [x1]"),
            (strb(0, 20), 0x3900_0280, "strb w0, [x20]"),
            (
                add_x_lsl12(1, 19, 1),
                0x9140_0661,
                "add x1, x19, #0x1, lsl #12",
            ),
        ];
        for (got, want, text) in cases {
            assert_eq!(got, want, "{text}: {got:#010x}");
        }
    }

    #[test]
    fn references_resolve_as_gnu_as_encodes_them() {
        // The sequence of GNU as's listing: b .+8; bl .-8; b.eq .+12; b.lo .-4; cbz x3, .+16; cbnz x4, .-16;
        // adr x5, .-32; adr x6, .+0x2004.
        let mut p = Program::new();
        p.b("t8")
            .bl("tm4")
            .b_cond(cond::EQ, "t14")
            .b_cond(cond::LO, "t8");
        p.cbz_x(3, "t20")
            .cbnz_x(4, "t4")
            .adr(5, "tm8")
            .adr(6, "t2020");
        p.label_at("t8", 8)
            .label_at("t14", 0x14)
            .label_at("t20", 0x20);
        p.label_at("t4", 4).label_at("t2020", 0x2020);
        p.label_at("tm4", 0).label_at("tm8", 0);
        // (bl and the first adr reach below the program's start in that listing: checked below.)
        let got = words(p);
        assert_eq!(&got[..1], &[0x1400_0002], "b .+8");
        assert_eq!(got[2], 0x5400_0060, "b.eq .+12");
        assert_eq!(got[3], 0x54FF_FFE3, "b.lo .-4");
        assert_eq!(got[4], 0xB400_0083, "cbz x3, .+16");
        assert_eq!(got[5], 0xB5FF_FF84, "cbnz x4, .-16");
        assert_eq!(got[7], 0x1001_0026, "adr x6, .+0x2004");
        // bl .-8 and adr .-32 from offsets 4 and 0x18 reach below the start; re-place them.
        let mut p = Program::new();
        p.emit_all(&[0; 8]).bl("a").emit_all(&[0; 5]).adr(5, "b");
        p.label_at("a", 0x20 - 8).label_at("b", 0x38 - 32);
        let got = words(p);
        assert_eq!(got[8], 0x97FF_FFFE, "bl .-8");
        assert_eq!(got[14], 0x10FF_FF05, "adr x5, .-32");
    }

    #[test]
    fn strings_follow_the_code_and_mov_imm_skips_zero_halfwords() {
        let mut p = Program::new();
        p.adr_string(1, "hi").mov_imm(2, 0x1_0000_0002);
        let bytes = p.finish(0x1000);
        assert_eq!(
            &bytes[12..15],
            b"hi\0",
            "string after the three instructions"
        );
        assert_eq!(
            &bytes[..4],
            &(0x1000_0001u32 | (3 << 5)).to_le_bytes(),
            "adr x1, .+12"
        );
        assert_eq!(&bytes[4..8], &movz_x(2, 2, 0).to_le_bytes());
        assert_eq!(&bytes[8..12], &movk_x(2, 1, 32).to_le_bytes());
    }
}
