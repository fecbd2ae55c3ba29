//! The instruction forms the generator draws, one function per encoding group of DDI 0487 C4.1, each tagging
//! what it emits with a [`Form`] for coverage reports and regression-vector names.

use super::encode as e;
use super::{BASE_REGS, DATA_REGS, Generator, Insn, Item, OffsetField};
use crate::case::Form;

pub(super) const W_X: [&str; 2] = [".w", ".x"];

pub(super) fn one(form: Form, word: u32) -> Item {
    vec![(form, Insn::Word(word))]
}

impl Generator {
    /// One item drawn uniformly over the groups below (loads and stores weighted up: they have the most forms).
    pub(crate) fn item(&mut self) -> Item {
        if self.cfg.exceptions && self.rng.below(40) == 0 {
            return self.exception();
        }
        match self.rng.below(33) {
            0 => self.add_sub_imm(),
            1 => self.logical_imm(),
            2 => self.move_wide(),
            3 => self.pc_rel(),
            4 => self.bitfield(),
            5 => self.extr(),
            6 => self.logical_reg(),
            7 => self.add_sub_shifted(),
            8 => self.add_sub_extended(),
            9 => self.add_sub_carry(),
            10 => self.cond_compare(),
            11 => self.cond_select(),
            12 => self.dp_2src(),
            13 => self.dp_1src(),
            14 => self.dp_3src(),
            15 => self.nzcv_or_nop(),
            16 | 17 => self.branch(),
            18..=23 => self.single(),
            24 => self.literal(),
            25 | 26 => self.pair(),
            27 => self.acquire_release(),
            28 => self.exclusive_block(),
            29 => self.store_exclusive_alone(),
            30 => self.sysreg_block(),
            31 => self.self_modifying(),
            _ => self.indirect_branch(),
        }
    }

    /// An item that neither branches nor touches memory (the filler inside exclusive blocks).
    pub(super) fn alu_item(&mut self) -> Item {
        match self.rng.below(8) {
            0 => self.add_sub_imm(),
            1 => self.logical_imm(),
            2 => self.move_wide(),
            3 => self.bitfield(),
            4 => self.logical_reg(),
            5 => self.add_sub_shifted(),
            6 => self.cond_select(),
            _ => self.dp_3src(),
        }
    }

    pub(super) fn sf(&mut self) -> u32 {
        self.rng.below(2)
    }
    pub(super) fn dest(&mut self) -> u32 {
        self.rng.pick(&DATA_REGS)
    }
    /// A data register or 31 (XZR/WZR where the encoding reads 31 as the zero register).
    pub(super) fn dest_or_zr(&mut self) -> u32 {
        if self.rng.below(8) == 0 {
            31
        } else {
            self.dest()
        }
    }
    /// Any register as a source (31 is ZR or SP as the encoding says).
    pub(super) fn src(&mut self) -> u32 {
        self.rng.below(32)
    }
    pub(super) fn base(&mut self) -> u32 {
        self.rng.pick(&BASE_REGS)
    }
    pub(super) fn cond(&mut self) -> u32 {
        self.rng.below(e::CONDITIONS)
    }

    fn add_sub_imm(&mut self) -> Item {
        let (sf, op, s) = (self.sf(), self.rng.below(2), self.rng.below(2));
        let rd = if s == 1 {
            self.dest_or_zr()
        } else {
            self.dest()
        };
        let (sh, imm, rn) = (self.rng.below(2), self.rng.below(4096), self.src());
        let name = ["add_imm", "adds_imm", "sub_imm", "subs_imm"][(op * 2 + s) as usize];
        one(
            Form(name, W_X[sf as usize]),
            e::add_sub_imm(sf, op, s, sh, imm, rn, rd),
        )
    }

    /// A valid bitmask immediate (DDI 0487 J1 DecodeBitMasks): element size `esize`, `s + 1` ones, rotated.
    fn logical_imm(&mut self) -> Item {
        let sf = self.sf();
        let log_esize = 1 + self.rng.below(5 + sf);
        let esize = 1u32 << log_esize;
        let ones = self.rng.below(esize - 1);
        let imms = (!(2 * esize - 1) & 0x3f) | ones;
        let n = u32::from(esize == 64);
        let immr = self.rng.below(if sf == 1 { 64 } else { 32 });
        let opc = self.rng.below(4);
        let rd = if opc == 3 {
            self.dest_or_zr()
        } else {
            self.dest()
        };
        let name = ["and_imm", "orr_imm", "eor_imm", "ands_imm"][opc as usize];
        let rn = self.src();
        one(
            Form(name, W_X[sf as usize]),
            e::logical_imm(sf, opc, n, immr, imms & 0x3f, rn, rd),
        )
    }

    fn move_wide(&mut self) -> Item {
        let sf = self.sf();
        let opc = self.rng.pick(&[0, 2, 3]);
        let hw = self.rng.below(2 + 2 * sf);
        let name = ["movn", "", "movz", "movk"][opc as usize];
        let (imm, rd) = (self.rng.below(0x1_0000), self.dest());
        one(
            Form(name, W_X[sf as usize]),
            e::move_wide(sf, opc, hw, imm, rd),
        )
    }

    fn pc_rel(&mut self) -> Item {
        let op = self.rng.below(2);
        let (imm, rd) = (self.rng.below(1 << 21), self.dest());
        one(
            Form(["adr", "adrp"][op as usize], ""),
            e::pc_rel(op, imm, rd),
        )
    }

    fn bitfield(&mut self) -> Item {
        let sf = self.sf();
        let bits = 32 << sf;
        let (opc, immr, imms) = (
            self.rng.below(3),
            self.rng.below(bits),
            self.rng.below(bits),
        );
        let (rn, rd) = (self.src(), self.dest());
        one(
            Form(["sbfm", "bfm", "ubfm"][opc as usize], W_X[sf as usize]),
            e::bitfield(sf, opc, immr, imms, rn, rd),
        )
    }

    fn extr(&mut self) -> Item {
        let sf = self.sf();
        let (rm, imms, rn, rd) = (
            self.src(),
            self.rng.below(32 << sf),
            self.src(),
            self.dest(),
        );
        one(
            Form("extr", W_X[sf as usize]),
            e::extr(sf, rm, imms, rn, rd),
        )
    }

    fn logical_reg(&mut self) -> Item {
        let sf = self.sf();
        let opc_n = self.rng.below(8);
        let rd = if opc_n >= 6 {
            self.dest_or_zr()
        } else {
            self.dest()
        };
        let (shift, rm, imm6, rn) = (
            self.rng.below(4),
            self.src(),
            self.rng.below(32 << sf),
            self.src(),
        );
        let name = [
            "and_reg", "bic_reg", "orr_reg", "orn_reg", "eor_reg", "eon_reg", "ands_reg",
            "bics_reg",
        ];
        one(
            Form(name[opc_n as usize], W_X[sf as usize]),
            e::logical_reg(sf, opc_n, shift, rm, imm6, rn, rd),
        )
    }

    fn add_sub_shifted(&mut self) -> Item {
        let (sf, op, s) = (self.sf(), self.rng.below(2), self.rng.below(2));
        let rd = if s == 1 {
            self.dest_or_zr()
        } else {
            self.dest()
        };
        let (shift, rm, imm6, rn) = (
            self.rng.below(3),
            self.src(),
            self.rng.below(32 << sf),
            self.src(),
        );
        let name = ["add_shift", "adds_shift", "sub_shift", "subs_shift"][(op * 2 + s) as usize];
        one(
            Form(name, W_X[sf as usize]),
            e::add_sub_shifted(sf, op, s, shift, rm, imm6, rn, rd),
        )
    }

    fn add_sub_extended(&mut self) -> Item {
        let (sf, op, s) = (self.sf(), self.rng.below(2), self.rng.below(2));
        // Rd 31 is SP unless flags are set: only the flag-setting forms may discard into XZR.
        let rd = if s == 1 {
            self.dest_or_zr()
        } else {
            self.dest()
        };
        let (rm, option, imm3, rn) = (self.src(), self.rng.below(8), self.rng.below(5), self.src());
        let name = ["add_ext", "adds_ext", "sub_ext", "subs_ext"][(op * 2 + s) as usize];
        one(
            Form(name, W_X[sf as usize]),
            e::add_sub_extended(sf, op, s, rm, option, imm3, rn, rd),
        )
    }

    fn add_sub_carry(&mut self) -> Item {
        let (sf, op, s) = (self.sf(), self.rng.below(2), self.rng.below(2));
        let (rm, rn, rd) = (self.src(), self.src(), self.dest_or_zr());
        let name = ["adc", "adcs", "sbc", "sbcs"][(op * 2 + s) as usize];
        one(
            Form(name, W_X[sf as usize]),
            e::add_sub_carry(sf, op, s, rm, rn, rd),
        )
    }

    fn cond_compare(&mut self) -> Item {
        let (sf, op, imm) = (self.sf(), self.rng.below(2), self.rng.coin());
        let (m, cond, rn, nzcv) = (self.src(), self.cond(), self.src(), self.rng.below(16));
        let name =
            [["ccmn_reg", "ccmp_reg"], ["ccmn_imm", "ccmp_imm"]][usize::from(imm)][op as usize];
        let word = if imm {
            e::cond_compare_imm(sf, op, m, cond, rn, nzcv)
        } else {
            e::cond_compare_reg(sf, op, m, cond, rn, nzcv)
        };
        one(Form(name, W_X[sf as usize]), word)
    }

    fn cond_select(&mut self) -> Item {
        let (sf, kind) = (self.sf(), self.rng.below(4));
        let (rm, cond, rn, rd) = (self.src(), self.cond(), self.src(), self.dest());
        let name = ["csel", "csinc", "csinv", "csneg"][kind as usize];
        one(
            Form(name, W_X[sf as usize]),
            e::cond_select(sf, kind, rm, cond, rn, rd),
        )
    }

    fn dp_2src(&mut self) -> Item {
        let sf = self.sf();
        let (opcode, name) = self.rng.pick(&[
            (2, "udiv"),
            (3, "sdiv"),
            (8, "lslv"),
            (9, "lsrv"),
            (10, "asrv"),
            (11, "rorv"),
        ]);
        let (rm, rn, rd) = (self.src(), self.src(), self.dest());
        one(
            Form(name, W_X[sf as usize]),
            e::dp_2src(sf, opcode, rm, rn, rd),
        )
    }

    fn dp_1src(&mut self) -> Item {
        let sf = self.sf();
        let ops: &[(u32, &str)] = if sf == 1 {
            &[
                (0, "rbit"),
                (1, "rev16"),
                (2, "rev32"),
                (3, "rev"),
                (4, "clz"),
                (5, "cls"),
            ]
        } else {
            &[
                (0, "rbit"),
                (1, "rev16"),
                (2, "rev"),
                (4, "clz"),
                (5, "cls"),
            ]
        };
        let (opcode, name) = self.rng.pick(ops);
        let (rn, rd) = (self.src(), self.dest());
        one(Form(name, W_X[sf as usize]), e::dp_1src(sf, opcode, rn, rd))
    }

    fn dp_3src(&mut self) -> Item {
        let sf = self.sf();
        let ops: &[(u32, &str)] = if sf == 1 {
            &[
                (0, "madd"),
                (1, "msub"),
                (2, "smaddl"),
                (3, "smsubl"),
                (4, "smulh"),
                (10, "umaddl"),
                (11, "umsubl"),
                (12, "umulh"),
            ]
        } else {
            &[(0, "madd"), (1, "msub")]
        };
        let (op, name) = self.rng.pick(ops);
        // SMULH/UMULH: Ra is should-be-one (31); another value is CONSTRAINED UNPREDICTABLE.
        let ra = if op == 4 || op == 12 { 31 } else { self.src() };
        let (rm, rn, rd) = (self.src(), self.src(), self.dest());
        one(
            Form(name, W_X[sf as usize]),
            e::dp_3src(sf, op, rm, ra, rn, rd),
        )
    }

    /// MRS/MSR NZCV, NOP, barriers (DMB, DSB, ISB), CLREX, and SP arithmetic.
    fn nzcv_or_nop(&mut self) -> Item {
        match self.rng.below(7) {
            0 => one(Form("mrs_nzcv", ""), e::nzcv_access(true, self.dest())),
            1 => one(Form("msr_nzcv", ""), e::nzcv_access(false, self.src())),
            2 => one(Form("nop", ""), e::NOP),
            3 => {
                // DDI 0487 C6.2 DMB/DSB option values: OSH, NSH, ISHLD, ISHST, ISH, LD, ST, SY.
                let crm = self.rng.pick(&[
                    0b0011, 0b0111, 0b1001, 0b1010, 0b1011, 0b1101, 0b1110, 0b1111,
                ]);
                let (op2, name) = self
                    .rng
                    .pick(&[(0b100, "dsb"), (0b101, "dmb"), (0b110, "isb")]);
                let crm = if op2 == 0b110 { 0b1111 } else { crm };
                one(Form(name, ""), e::barrier(crm, op2))
            }
            4 => one(Form("clrex", ""), e::barrier(self.rng.below(16), 0b010)),
            _ => self.sp_arith(),
        }
    }

    /// UDF, SVC, BRK with a random immediate: each takes a synchronous exception to EL1 (DDI 0487 D1.10).
    fn exception(&mut self) -> Item {
        let imm16 = self.rng.below(0x1_0000);
        match self.rng.below(3) {
            0 => one(Form("udf", ""), imm16),
            // SVC #0xfffe ends an EL0 case in the system harness: never emitted.
            1 => one(Form("svc", ""), 0xd400_0001 | (imm16.min(0xfffd) << 5)),
            _ => one(Form("brk", ""), 0xd420_0000 | (imm16 << 5)),
        }
    }

    /// ADD/SUB (immediate) writing SP: `SP = SP or a base ± 16·k`, so SP stays 16-byte aligned in the window.
    fn sp_arith(&mut self) -> Item {
        let op = self.rng.below(2);
        let rn = self.base();
        let imm = 16 * self.rng.below(16);
        one(
            Form(["add_imm", "sub_imm"][op as usize], ".sp"),
            e::add_sub_imm(1, op, 0, 0, imm, rn, 31),
        )
    }

    /// A forward branch over 0..=3 items: B, BL, B.cond (any condition incl. AL/NV), CBZ/CBNZ, TBZ/TBNZ.
    /// The fields go in a base word with a zero offset field; layout fills the offset in.
    fn branch(&mut self) -> Item {
        let skip = self.rng.below(4);
        let (form, base, field) = match self.rng.below(5) {
            0 => (Form("b", ""), e::branch(false, 0), OffsetField::Imm26),
            1 => (Form("bl", ""), e::branch(true, 0), OffsetField::Imm26),
            2 => (
                Form("b.cond", ""),
                e::branch_cond(self.cond(), 0),
                OffsetField::Imm19,
            ),
            3 => {
                let (sf, nz, rt) = (self.sf(), self.rng.coin(), self.src());
                let form = Form(["cbz", "cbnz"][usize::from(nz)], W_X[sf as usize]);
                (form, e::compare_branch(sf, nz, 0, rt), OffsetField::Imm19)
            }
            _ => {
                let (bit, nz, rt) = (self.rng.below(64), self.rng.coin(), self.src());
                (
                    Form(["tbz", "tbnz"][usize::from(nz)], ""),
                    e::test_branch(bit, nz, 0, rt),
                    OffsetField::Imm14,
                )
            }
        };
        vec![(form, Insn::Branch { skip, base, field })]
    }
}
