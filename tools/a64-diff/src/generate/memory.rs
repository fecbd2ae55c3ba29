//! Load/store forms (DDI 0487 C4.1.94 "Loads and Stores"), every addressing mode, addresses kept inside the data
//! window and (unless [`super::GenConfig::unaligned`]) aligned to the access size, base registers kept 16-byte
//! aligned across writeback.

use super::encode as e;
use super::forms::{W_X, one};
use super::{Generator, INDEX_NEG, INDEX_POS, INDEX_W, Insn, Item};
use crate::case::Form;

/// Single-register loads and stores: name, `size`, `opc` (C4.1.94).
const SINGLE: [(&str, u32, u32); 13] = [
    ("strb", 0, 0),
    ("ldrb", 0, 1),
    ("ldrsb.x", 0, 2),
    ("ldrsb.w", 0, 3),
    ("strh", 1, 0),
    ("ldrh", 1, 1),
    ("ldrsh.x", 1, 2),
    ("ldrsh.w", 1, 3),
    ("str.w", 2, 0),
    ("ldr.w", 2, 1),
    ("ldrsw", 2, 2),
    ("str.x", 3, 0),
    ("ldr.x", 3, 1),
];

/// Register pairs: name, `opc`, load, bytes per register (C4.1.94).
const PAIRS: [(&str, u32, bool, u32); 5] = [
    ("stp.w", 0, false, 4),
    ("ldp.w", 0, true, 4),
    ("ldpsw", 1, true, 4),
    ("stp.x", 2, false, 8),
    ("ldp.x", 2, true, 8),
];

/// Size suffixes of the exclusive and acquire/release forms, by `size`.
const SIZE_SUFFIX: [&str; 4] = ["b", "h", ".w", ".x"];

impl Generator {
    /// A register to store from: any (31 is ZR), but never the base register of a writeback form
    /// (CONSTRAINED UNPREDICTABLE, DDI 0487 K.1.2.5).
    fn store_src(&mut self, rn: u32) -> u32 {
        loop {
            let r = self.src();
            if r != rn || r == 31 {
                return r;
            }
        }
    }

    /// A signed 9-bit byte offset that keeps a `bytes`-sized access aligned (any offset when unaligned is on).
    fn imm9(&mut self, bytes: u32) -> i32 {
        if self.cfg.unaligned {
            self.rng.range(-256, 255)
        } else {
            let step = bytes.cast_signed();
            self.rng.range(-256 / step, 255 / step) * step
        }
    }

    /// A writeback amount: a multiple of 16 in -256..=240, so base registers stay 16-byte aligned.
    fn writeback_imm9(&mut self) -> i32 {
        self.rng.range(-16, 15) * 16
    }

    /// LDR/STR/LDRS* (and PRFM) in all six immediate and register addressing modes.
    pub(super) fn single(&mut self) -> Item {
        let rn = self.base();
        if self.rng.below(14) == 0 {
            let prfop = self.rng.below(32);
            return if self.rng.coin() {
                one(
                    Form("prfm", "_uimm"),
                    e::ldst_uimm(3, 2, self.rng.below(0x200), rn, prfop),
                )
            } else {
                let (rm, option) = self.index();
                one(
                    Form("prfm", "_reg"),
                    e::ldst_reg(3, 2, rm, option, self.rng.below(2), rn, prfop),
                )
            };
        }
        let (name, size, opc) = self.rng.pick(&SINGLE);
        let bytes = 1u32 << size;
        let mode = self.rng.below(6);
        let writeback = mode == 2 || mode == 3;
        let rt = if opc == 0 {
            self.store_src(if writeback { rn } else { 32 })
        } else {
            self.dest_or_zr()
        };
        let (variant, word) = match mode {
            0 => (
                "_uimm",
                e::ldst_uimm(size, opc, self.rng.below(0x1000 >> size), rn, rt),
            ),
            1 => (
                "_unscaled",
                e::ldst_imm9(size, opc, self.imm9(bytes), 0, rn, rt),
            ),
            2 => (
                "_pre",
                e::ldst_imm9(size, opc, self.writeback_imm9(), 3, rn, rt),
            ),
            3 => (
                "_post",
                e::ldst_imm9(size, opc, self.writeback_imm9(), 1, rn, rt),
            ),
            4 => {
                let (rm, option) = self.index();
                (
                    "_reg",
                    e::ldst_reg(size, opc, rm, option, self.rng.below(2), rn, rt),
                )
            }
            _ => (
                "_unpriv",
                e::ldst_imm9(size, opc, self.imm9(bytes), 2, rn, rt),
            ),
        };
        one(Form(name, variant), word)
    }

    /// An index register and an extend that keep its offset small (see the register roles in `super`).
    fn index(&mut self) -> (u32, u32) {
        let option = self.rng.pick(&[2, 3, 6, 7]);
        let rm = match option {
            2 => self.rng.pick(&[INDEX_POS, INDEX_W]),
            6 => self.rng.pick(&[INDEX_POS, INDEX_NEG, INDEX_W]),
            _ => self.rng.pick(&[INDEX_POS, INDEX_NEG]),
        };
        (rm, option)
    }

    /// LDR (literal) W/X, LDRSW (literal), PRFM (literal): reads one of the sequence's own words.
    pub(super) fn literal(&mut self) -> Item {
        let (name, opc, bytes) = self.rng.pick(&[
            ("ldr_lit", 0, 4),
            ("ldr_lit", 1, 8),
            ("ldrsw_lit", 2, 4),
            ("prfm_lit", 3, 0),
        ]);
        let rt = if opc == 3 {
            self.rng.below(32)
        } else {
            self.dest_or_zr()
        };
        let variant = if name == "ldr_lit" {
            W_X[opc as usize]
        } else {
            ""
        };
        vec![(
            Form(name, variant),
            Insn::Literal {
                bytes,
                base: e::ld_literal(opc, 0, rt),
            },
        )]
    }

    /// STP/LDP/LDPSW with signed offset, pre- and post-index, and STNP/LDNP.
    pub(super) fn pair(&mut self) -> Item {
        let (name, opc, load, bytes) = self.rng.pick(&PAIRS);
        // LDNP has no LDPSW form (opc 01 with mode 000 is unallocated).
        let mode = if opc == 1 {
            1 + self.rng.below(3)
        } else {
            self.rng.below(4)
        };
        let rn = self.base();
        let writeback = mode == 1 || mode == 3;
        let imm7 = if writeback {
            let step = (16 / bytes).cast_signed();
            self.rng.range(-64 / step, 63 / step) * step
        } else {
            self.rng.range(-64, 63)
        };
        let (rt, rt2) = if load {
            // LDP with Rt == Rt2 is CONSTRAINED UNPREDICTABLE.
            let rt = self.dest_or_zr();
            let mut rt2 = self.dest_or_zr();
            while rt2 == rt {
                rt2 = self.dest_or_zr();
            }
            (rt, rt2)
        } else {
            let avoid = if writeback { rn } else { 32 };
            (self.store_src(avoid), self.store_src(avoid))
        };
        let variant = ["_np", "_post", "_off", "_pre"][mode as usize];
        one(
            Form(name, variant),
            e::ldst_pair(opc, mode, load, imm7, rt2, rn, rt),
        )
    }

    /// LDAR/STLR of every size.
    pub(super) fn acquire_release(&mut self) -> Item {
        let size = self.rng.below(4);
        let rn = self.base();
        if self.rng.coin() {
            let rt = self.dest_or_zr();
            one(
                Form("ldar", SIZE_SUFFIX[size as usize]),
                e::ldst_exclusive(size, 0b1101, 31, 31, rn, rt),
            )
        } else {
            let rt = self.src();
            one(
                Form("stlr", SIZE_SUFFIX[size as usize]),
                e::ldst_exclusive(size, 0b1001, 31, 31, rn, rt),
            )
        }
    }

    /// LD(A)XR or LD(A)XP, up to two ALU instructions, then ST(L)XR/ST(L)XP to the same address and size: the
    /// store succeeds on both sides (no other store, one PE). Branches never enter or leave the block.
    pub(super) fn exclusive_block(&mut self) -> Item {
        let rn = self.base();
        let pair = self.rng.below(3) == 0;
        let (acquire, release) = (self.rng.coin(), self.rng.coin());
        let size = if pair {
            2 + self.rng.below(2)
        } else {
            self.rng.below(4)
        };
        let mut item = Vec::new();
        let rt = self.dest();
        let ld_kind = 0b0100 | u32::from(pair) << 1 | u32::from(acquire);
        let ld_name =
            [["ldxr", "ldaxr"], ["ldxp", "ldaxp"]][usize::from(pair)][usize::from(acquire)];
        let ld_suffix = if pair {
            W_X[(size - 2) as usize]
        } else {
            SIZE_SUFFIX[size as usize]
        };
        let rt2 = if pair {
            let mut r = self.dest();
            while r == rt {
                r = self.dest();
            }
            r
        } else {
            31
        };
        item.push((
            Form(ld_name, ld_suffix),
            Insn::Word(e::ldst_exclusive(size, ld_kind, 31, rt2, rn, rt)),
        ));
        for _ in 0..self.rng.below(3) {
            item.extend(self.alu_item());
        }
        if self.rng.below(8) == 0 {
            // CLREX inside the block: the store-exclusive must then fail on both sides.
            item.push((Form("clrex", ""), Insn::Word(e::barrier(15, 0b010))));
        }
        item.extend(self.store_exclusive(rn, pair, release, size));
        item
    }

    /// ST(L)XR/ST(L)XP with no open monitor: fails (status 1), stores nothing.
    pub(super) fn store_exclusive_alone(&mut self) -> Item {
        let rn = self.base();
        let pair = self.rng.below(3) == 0;
        let size = if pair {
            2 + self.rng.below(2)
        } else {
            self.rng.below(4)
        };
        let release = self.rng.coin();
        self.store_exclusive(rn, pair, release, size)
    }

    fn store_exclusive(&mut self, rn: u32, pair: bool, release: bool, size: u32) -> Item {
        // Ws must differ from Rt, Rt2 and Rn (CONSTRAINED UNPREDICTABLE otherwise).
        let ws = self.dest();
        let pick_src = |g: &mut Self| loop {
            let r = g.src();
            if r != ws && r != rn {
                return r;
            }
        };
        let rt = pick_src(self);
        let rt2 = if pair { pick_src(self) } else { 31 };
        let kind = u32::from(pair) << 1 | u32::from(release);
        let name = [["stxr", "stlxr"], ["stxp", "stlxp"]][usize::from(pair)][usize::from(release)];
        let suffix = if pair {
            W_X[(size - 2) as usize]
        } else {
            SIZE_SUFFIX[size as usize]
        };
        one(
            Form(name, suffix),
            e::ldst_exclusive(size, kind, ws, rt2, rn, rt),
        )
    }
}
