//! System-register and indirect-branch forms: MSR/MRS pairs over EL1 registers a realm guest owns (DDI 0487
//! D23/D24 register descriptions), PSTATE.DAIF, CurrentEL, and ADR + BR/BLR/RET blocks. Registers are written only
//! with values in their defined fields, so a RES0 field (RAZ/WI or stored, IMPLEMENTATION DEFINED per bit)
//! cannot make the two sides legitimately differ; IMPLEMENTATION DEFINED registers (AFSR*, AMAIR) are left out.

use super::forms::one;
use super::{Generator, Insn, Item, OffsetField};
use crate::case::Form;

/// A system register for MSR/MRS: name, (op0, op1, CRn, CRm, op2), the bits compared, EL0-accessible.
type SysReg = (&'static str, [u32; 5], u64, bool);

/// The registers written then read back.
const SYSREGS: [SysReg; 13] = [
    ("tpidr_el0", [3, 3, 13, 0, 2], u64::MAX, true),
    ("tpidrro_el0", [3, 3, 13, 0, 3], u64::MAX, false),
    ("tpidr_el1", [3, 0, 13, 0, 4], u64::MAX, false),
    ("contextidr_el1", [3, 0, 13, 0, 1], 0xffff_ffff, false),
    ("elr_el1", [3, 0, 4, 0, 1], u64::MAX, false),
    // NZCV, DAIF, M[3:0]: the fields every implementation has.
    ("spsr_el1", [3, 0, 4, 0, 0], 0xf000_03cf, false),
    ("sp_el0", [3, 0, 4, 1, 0], u64::MAX, false),
    ("far_el1", [3, 0, 6, 0, 0], u64::MAX, false),
    // EC, IL, ISS (ISS2 needs FEAT_LS64).
    ("esr_el1", [3, 0, 5, 2, 0], 0xffff_ffff, false),
    ("mair_el1", [3, 0, 10, 2, 0], u64::MAX, false),
    // ASID and a 4 KiB-aligned 48-bit BADDR (CnP needs FEAT_TTCNP).
    ("ttbr0_el1", [3, 0, 2, 0, 0], 0xffff_ffff_ffff_f000, false),
    ("ttbr1_el1", [3, 0, 2, 0, 1], 0xffff_ffff_ffff_f000, false),
    // EL0PCTEN, EL0VCTEN, EVNTEN, EVNTDIR, EVNTI, EL0VTEN, EL0PTEN.
    ("cntkctl_el1", [3, 0, 14, 1, 0], 0x3ff, false),
];

/// DDI 0487 C5.2 MRS (`read`) / MSR (register) of the register `enc` (op0, op1, CRn, CRm, op2).
pub(super) fn sysreg_access(read: bool, enc: [u32; 5], rt: u32) -> u32 {
    let [op0, op1, crn, crm, op2] = enc;
    0xd510_0000
        | (u32::from(read) << 21)
        | ((op0 - 2) << 19)
        | (op1 << 16)
        | (crn << 12)
        | (crm << 8)
        | (op2 << 5)
        | (rt & 31)
}

impl Generator {
    /// MOVZ/MOVK building `value` in `rd`, one 16-bit chunk at a time (zero chunks after the first skipped).
    fn build_value(&mut self, rd: u32, value: u64, item: &mut Item) {
        for hw in 0..4u32 {
            let chunk = u32::try_from((value >> (16 * hw)) & 0xffff).unwrap_or(0);
            if hw == 0 || chunk != 0 {
                let opc = if hw == 0 { 2 } else { 3 };
                let form = Form(if hw == 0 { "movz" } else { "movk" }, ".x");
                item.push((
                    form,
                    Insn::Word(super::encode::move_wide(1, opc, hw, chunk, rd)),
                ));
            }
        }
    }

    /// MSR of a value in the register's defined fields, up to two ALU instructions, MRS back into a data
    /// register; in system mode also CurrentEL and DAIF (MSR DAIFSet/DAIFClr or MSR DAIF, then MRS DAIF).
    pub(super) fn sysreg_block(&mut self) -> Item {
        let el1 = self.cfg.exceptions && !self.cfg.el0;
        let mut item = Vec::new();
        if self.cfg.el0 && self.rng.below(4) == 0 {
            // At EL0: an EL1 register, CurrentEL or DAIF (SCTLR_EL1.UMA = 0) must take an exception to EL1:
            // UNDEFINED (EC 0x00) or trapped (EC 0x18), whichever the Arm ARM says for that access.
            let rt = self.dest();
            let (name, enc, _, _) = self.rng.pick(&SYSREGS[2..]);
            return match self.rng.below(4) {
                0 => one(Form("mrs_el0", name), sysreg_access(true, enc, rt)),
                1 => one(Form("msr_el0", name), sysreg_access(false, enc, rt)),
                2 => one(
                    Form("mrs_el0", "_currentel"),
                    sysreg_access(true, [3, 0, 4, 2, 2], rt),
                ),
                _ => one(
                    Form("msr_el0", "_daifset"),
                    0xd503_40df | (self.rng.below(16) << 8),
                ),
            };
        }
        if el1 && self.rng.below(4) == 0 {
            let rd = self.dest();
            return match self.rng.below(4) {
                0 => one(
                    Form("mrs", "_currentel"),
                    sysreg_access(true, [3, 0, 4, 2, 2], rd),
                ),
                1 | 2 => {
                    let (op2, name) = if self.rng.coin() {
                        (6, "msr_daifset")
                    } else {
                        (7, "msr_daifclr")
                    };
                    let imm = self.rng.below(16);
                    item.push((
                        Form(name, ""),
                        Insn::Word(0xd503_401f | (imm << 8) | (op2 << 5)),
                    ));
                    item.push((
                        Form("mrs", "_daif"),
                        Insn::Word(sysreg_access(true, [3, 3, 4, 2, 1], rd)),
                    ));
                    item
                }
                _ => {
                    let rs = self.dest();
                    let value = self.rng.next_u64() & 0x3c0;
                    self.build_value(rs, value, &mut item);
                    item.push((
                        Form("msr", "_daif"),
                        Insn::Word(sysreg_access(false, [3, 3, 4, 2, 1], rs)),
                    ));
                    item.push((
                        Form("mrs", "_daif"),
                        Insn::Word(sysreg_access(true, [3, 3, 4, 2, 1], rd)),
                    ));
                    item
                }
            };
        }
        let (name, enc, mask, _) = loop {
            let r = self.rng.pick(&SYSREGS);
            // With realm-a64's MMU on, the translation registers are not the sequence's to change.
            let translation = matches!(r.0, "mair_el1" | "ttbr0_el1" | "ttbr1_el1");
            if (el1 || r.3) && !(self.cfg.unaligned && translation) {
                break r;
            }
        };
        let rs = self.dest();
        let value = self.rng.next_u64() & mask;
        self.build_value(rs, value, &mut item);
        item.push((Form("msr", name), Insn::Word(sysreg_access(false, enc, rs))));
        for _ in 0..self.rng.below(3) {
            item.extend(self.alu_item());
        }
        item.push((
            Form("mrs", name),
            Insn::Word(sysreg_access(true, enc, self.dest())),
        ));
        item
    }

    /// Self-modifying code (DDI 0487 B2.4.4): ADR Xa to the block's last word (a NOP), build a MOVZ encoding in
    /// Wt, STR it there, then DC CVAU, DSB ISH, IC IVAU, DSB ISH, ISB, so the patched MOVZ executes.
    pub(super) fn self_modifying(&mut self) -> Item {
        let xa = self.dest();
        let wt = loop {
            let r = self.dest();
            if r != xa {
                break r;
            }
        };
        let (hw, imm, rd) = (self.rng.below(4), self.rng.below(0x1_0000), self.dest());
        let new_word = super::encode::move_wide(1, 2, hw, imm, rd);
        let mut body = Vec::new();
        self.build_value(wt, u64::from(new_word), &mut body);
        body.push((
            Form("str.w", "_uimm"),
            Insn::Word(super::encode::ldst_uimm(2, 0, 0, xa, wt)),
        ));
        body.push((Form("dc_cvau", ""), Insn::Word(0xd50b_7b20 | xa)));
        body.push((
            Form("dsb", ""),
            Insn::Word(super::encode::barrier(0b1011, 0b100)),
        ));
        body.push((Form("ic_ivau", ""), Insn::Word(0xd50b_7520 | xa)));
        body.push((
            Form("dsb", ""),
            Insn::Word(super::encode::barrier(0b1011, 0b100)),
        ));
        body.push((
            Form("isb", ""),
            Insn::Word(super::encode::barrier(0b1111, 0b110)),
        ));
        // ADR's offset: itself plus the body, in bytes, to the placeholder.
        let offset = u32::try_from(4 * (body.len() + 1)).unwrap_or(0);
        let mut item = vec![(
            Form("adr", ""),
            Insn::Word(super::encode::pc_rel(0, offset, xa)),
        )];
        item.extend(body);
        item.push((Form("patched", "_movz"), Insn::Word(super::encode::NOP)));
        item
    }

    /// ADR Xd to the start of a later item, then BR/BLR/RET Xd (DDI 0487 C6.2). In system mode, sometimes
    /// Xd += 1..=3 first: a misaligned target takes a PC alignment fault (D1.10.2).
    pub(super) fn indirect_branch(&mut self) -> Item {
        let rd = self.dest();
        let skip = self.rng.below(3);
        let mut item = vec![(
            Form("adr", ""),
            Insn::Branch {
                skip,
                base: super::encode::pc_rel(0, 0, rd),
                field: OffsetField::Imm19,
            },
        )];
        if self.cfg.exceptions && self.rng.below(8) == 0 {
            let add = super::encode::add_sub_imm(1, 0, 0, 0, 1 + self.rng.below(3), rd, rd);
            item.push((Form("add_imm", ".x"), Insn::Word(add)));
        }
        let (name, base) = self.rng.pick(&[
            ("br", 0xd61f_0000),
            ("blr", 0xd63f_0000),
            ("ret", 0xd65f_0000),
        ]);
        item.push((Form(name, ""), Insn::Word(base | (rd << 5))));
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected words from GNU as 2.40.
    #[test]
    fn sysreg_encodings_match_gnu_as() {
        assert_eq!(
            sysreg_access(true, [3, 3, 4, 2, 0], 24),
            0xd53b_4218,
            "mrs x24, nzcv"
        );
        assert_eq!(
            sysreg_access(false, [3, 0, 13, 0, 4], 3),
            0xd518_d083,
            "msr tpidr_el1, x3"
        );
        assert_eq!(
            sysreg_access(true, [3, 0, 4, 2, 2], 5),
            0xd538_4245,
            "mrs x5, currentel"
        );
    }
}
