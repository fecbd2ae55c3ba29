//! A tiny two-pass assembler for the `/init` programs: code words from `realm_a64::asm` plus the few A64
//! encodings it lacks (below, each from the Arm ARM DDI 0487 C6.2 instruction page it names), labels for
//! branches, and a data section addressed with `ADR`.

use realm_a64::asm;

/// A label: a position in the code (`Code`) or an offset in the data section (`Data`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Label {
    /// Word index in the code.
    Code(usize),
    /// Byte offset in the data section (which follows the code).
    Data(usize),
    /// Byte offset in the zero-initialised memory after the data section.
    Bss(usize),
}

/// What a word waiting for a label needs.
#[derive(Clone, Copy, Debug)]
enum Fixup {
    /// `ADR Xd, label`.
    Adr(u32),
    /// `B`, `BL`: imm26 (word offset) in bits 25:0 over `base`.
    Imm26(u32),
    /// `B.cond`, `CBZ`, `CBNZ`: imm19 in bits 23:5 over `base`.
    Imm19(u32),
    /// `TBZ`, `TBNZ`: imm14 in bits 18:5 over `base`.
    Imm14(u32),
}

/// Code and data being assembled.
#[derive(Debug, Default)]
pub struct Program {
    code: Vec<u32>,
    data: Vec<u8>,
    fixups: Vec<(usize, Fixup, usize)>,
    labels: Vec<Option<Label>>,
    bss: usize,
}

/// A forward-declarable label's handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sym(usize);

/// Condition codes (Arm ARM C1.2.4, table C1-1).
pub mod cond {
    /// Not equal.
    pub const NE: u32 = 0x1;
}

impl Program {
    /// A new label, placed later with [`Program::here`] or [`Program::bytes`].
    pub fn label(&mut self) -> Sym {
        self.labels.push(None);
        Sym(self.labels.len() - 1)
    }

    /// Place `s` at the next code word.
    pub fn here(&mut self, s: Sym) {
        self.labels[s.0] = Some(Label::Code(self.code.len()));
    }

    /// Append `bytes` to the data section and return their label.
    pub fn bytes(&mut self, bytes: &[u8]) -> Sym {
        let s = self.label();
        self.labels[s.0] = Some(Label::Data(self.data.len()));
        self.data.extend_from_slice(bytes);
        s
    }

    /// Reserve `len` zeroed bytes after the data section, 16-byte aligned, and return their label.
    pub fn bss(&mut self, len: usize) -> Sym {
        let s = self.label();
        self.labels[s.0] = Some(Label::Bss(self.bss));
        self.bss += len.next_multiple_of(16);
        s
    }

    /// A NUL-terminated string in the data section.
    pub fn cstr(&mut self, s: &str) -> Sym {
        let mut b = s.as_bytes().to_vec();
        b.push(0);
        self.bytes(&b)
    }

    /// Append code words.
    pub fn emit(&mut self, words: &[u32]) {
        self.code.extend_from_slice(words);
    }

    fn fix(&mut self, f: Fixup, s: Sym) {
        self.fixups.push((self.code.len(), f, s.0));
        self.code.push(0);
    }

    /// `ADR Xd, s` (C6.2.11).
    pub fn adr(&mut self, rd: u32, s: Sym) {
        self.fix(Fixup::Adr(rd), s);
    }

    /// `B s` (C6.2.26).
    pub fn b(&mut self, s: Sym) {
        self.fix(Fixup::Imm26(0x1400_0000), s);
    }

    /// `BL s` (C6.2.34).
    pub fn bl(&mut self, s: Sym) {
        self.fix(Fixup::Imm26(0x9400_0000), s);
    }

    /// `B.cond s` (C6.2.27).
    pub fn b_cond(&mut self, c: u32, s: Sym) {
        self.fix(Fixup::Imm19(0x5400_0000 | c), s);
    }

    /// `CBZ Xt, s` (C6.2.47).
    pub fn cbz(&mut self, rt: u32, s: Sym) {
        self.fix(Fixup::Imm19(0xB400_0000 | rt), s);
    }

    /// `TBNZ Xt, #63, s` (C6.2.375): branch when `Xt` is negative (a syscall's `-errno`).
    pub fn tbnz_sign(&mut self, rt: u32, s: Sym) {
        self.fix(Fixup::Imm14(0xB7F8_0000 | rt), s);
    }

    /// Syscall `nr` (`X8 = nr; SVC #0`), arguments already in X0–X5.
    pub fn syscall(&mut self, nr: u32) {
        self.emit(&[asm::movz_x(8, nr, 0), asm::SVC0]);
    }

    /// The image: `header` zero bytes (for the ELF headers), the code, the data; and where the data starts.
    /// The image's size in memory is `data_at + data + BSS` ([`Program::memsz`]).
    ///
    /// # Errors
    /// A label used but never placed, or a branch out of its range.
    pub fn link(&self, header: usize) -> Result<(Vec<u8>, usize), String> {
        let data_at = header + 4 * self.code.len();
        let bss_at = (data_at + self.data.len()).next_multiple_of(16);
        let mut code = self.code.clone();
        for &(at, f, sym) in &self.fixups {
            let target = match self.labels[sym] {
                Some(Label::Code(w)) => header + 4 * w,
                Some(Label::Data(b)) => data_at + b,
                Some(Label::Bss(b)) => bss_at + b,
                None => return Err(format!("label {sym} used at word {at} is never placed")),
            };
            let here = header + 4 * at;
            let delta =
                i64::try_from(target).unwrap_or(i64::MAX) - i64::try_from(here).unwrap_or(0);
            let words = delta / 4;
            let field = |bits: u32| -> Result<u32, String> {
                let half = 1i64 << (bits - 1);
                if delta % 4 != 0 || !(-half..half).contains(&words) {
                    return Err(format!("branch at word {at} cannot reach {delta:+} bytes"));
                }
                let mask = (1u32 << bits) - 1;
                Ok(u32::try_from(words & i64::from(mask)).unwrap_or(0))
            };
            code[at] = match f {
                Fixup::Adr(rd) => {
                    let off = u32::try_from(delta)
                        .ok()
                        .filter(|d| *d < 1 << 20)
                        .ok_or_else(|| format!("ADR at word {at} cannot reach {delta:+} bytes"))?;
                    asm::adr(rd, off)
                }
                Fixup::Imm26(base) => base | field(26)?,
                Fixup::Imm19(base) => base | (field(19)? << 5),
                Fixup::Imm14(base) => base | (field(14)? << 5),
            };
        }
        let mut image = vec![0u8; header];
        image.extend(code.iter().flat_map(|w| w.to_le_bytes()));
        image.extend_from_slice(&self.data);
        Ok((image, data_at))
    }

    /// Bytes the linked image spans in memory, BSS included, after a `header` of that many bytes.
    pub fn memsz(&self, header: usize) -> usize {
        (header + 4 * self.code.len() + self.data.len()).next_multiple_of(16) + self.bss
    }
}

/// `LDRB Wt, [Xn], #imm` (C6.2.175, post-index; `imm` in −256..=255).
pub const fn ldrb_post(rt: u32, rn: u32, imm: i32) -> u32 {
    0x3840_0400 | ((imm.cast_unsigned() & 0x1FF) << 12) | (rn << 5) | rt
}

/// `STRB Wt, [Xn], #imm` (C6.2.347, post-index; `imm` in −256..=255).
pub const fn strb_post(rt: u32, rn: u32, imm: i32) -> u32 {
    0x3800_0400 | ((imm.cast_unsigned() & 0x1FF) << 12) | (rn << 5) | rt
}

/// `LDRB Wt, [Xn, Xm]` (C6.2.177, register offset, LSL #0).
pub const fn ldrb_reg(rt: u32, rn: u32, rm: u32) -> u32 {
    0x3860_6800 | (rm << 16) | (rn << 5) | rt
}

/// `LSR Wd, Wn, #shift` (C6.2.215, alias of `UBFM Wd, Wn, #shift, #31`).
pub const fn lsr_w(rd: u32, rn: u32, shift: u32) -> u32 {
    0x5300_7C00 | (shift << 16) | (rn << 5) | rd
}

/// `AND Wd, Wn, #0xf` (C6.2.12, bitmask immediate N=0 immr=0 imms=0b000011).
pub const fn and_w_0xf(rd: u32, rn: u32) -> u32 {
    0x1200_0C00 | (rn << 5) | rd
}

/// `TST Xn, #0x1f` (C6.2.394, alias of `ANDS XZR, Xn, #0x1f`: N=1 immr=0 imms=0b000100).
pub const fn tst_x_0x1f(rn: u32) -> u32 {
    0xF240_101F | (rn << 5)
}

/// `SUB Xd, Xn, Xm` (C6.2.362, shifted register, LSL #0).
pub const fn sub_x_reg(rd: u32, rn: u32, rm: u32) -> u32 {
    0xCB00_0000 | (rm << 16) | (rn << 5) | rd
}

/// `MOV Xd, Xm` (C6.2.225, alias of `ORR Xd, XZR, Xm`).
pub const fn mov_x(rd: u32, rm: u32) -> u32 {
    asm::orr_x(rd, 31, rm)
}

/// `STR Xt, [Xn, #off]` (C6.2.339, unsigned offset, `off` a multiple of 8).
pub const fn str_x(rt: u32, rn: u32, off: u32) -> u32 {
    0xF900_0000 | ((off / 8) << 10) | (rn << 5) | rt
}

/// `RET` (C6.2.254, X30).
pub const RET: u32 = 0xD65F_03C0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_match_the_arm_arm() {
        // Hand-assembled from the instruction pages cited above (and as GNU as encodes them).
        assert_eq!(ldrb_post(4, 0, 1), 0x3840_1404, "ldrb w4, [x0], #1");
        assert_eq!(strb_post(5, 2, 1), 0x3800_1445, "strb w5, [x2], #1");
        assert_eq!(ldrb_reg(5, 3, 5), 0x3865_6865, "ldrb w5, [x3, x5]");
        assert_eq!(lsr_w(5, 4, 4), 0x5304_7C85, "lsr w5, w4, #4");
        assert_eq!(and_w_0xf(4, 4), 0x1200_0C84, "and w4, w4, #0xf");
        assert_eq!(tst_x_0x1f(1), 0xF240_103F, "tst x1, #0x1f");
        assert_eq!(sub_x_reg(2, 2, 9), 0xCB09_0042, "sub x2, x2, x9");
        assert_eq!(mov_x(19, 0), 0xAA00_03F3, "mov x19, x0");
        assert_eq!(str_x(20, 9, 8), 0xF900_0534, "str x20, [x9, #8]");
    }

    #[test]
    fn branches_and_adr_are_linked_to_their_labels() {
        let mut p = Program::default();
        let top = p.label();
        let end = p.label();
        p.here(top);
        p.emit(&[asm::NOP]);
        p.b_cond(cond::NE, top); // word 1 → word 0: −1
        p.tbnz_sign(0, end); // word 2 → word 5: +3
        p.cbz(3, end); // word 3 → +2
        p.bl(top); // word 4 → −4
        p.here(end);
        let msg = p.cstr("hi");
        p.adr(1, msg); // word 5 → data at 0x80 + 24 = 0x98: +4
        let (image, data_at) = p.link(0x80).unwrap();
        let w =
            |i: usize| u32::from_le_bytes(image[0x80 + 4 * i..0x84 + 4 * i].try_into().unwrap());
        assert_eq!(w(1), 0x54FF_FFE1, "b.ne .-4");
        assert_eq!(w(2), 0xB7F8_0060, "tbnz x0, #63, .+12");
        assert_eq!(w(3), 0xB400_0043, "cbz x3, .+8");
        assert_eq!(w(4), 0x97FF_FFFC, "bl .-16");
        assert_eq!(w(5), asm::adr(1, 4), "adr x1, .+4");
        assert_eq!(data_at, 0x98);
        assert_eq!(&image[0x98..], b"hi\0");
    }

    #[test]
    fn an_unplaced_label_is_an_error() {
        let mut p = Program::default();
        let nowhere = p.label();
        p.b(nowhere);
        assert!(p.link(0x80).unwrap_err().contains("never placed"));
    }
}
