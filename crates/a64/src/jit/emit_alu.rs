//! Cranelift IR for the data-processing instructions (Arm ARM C6.2 pseudocode of ADD, SUB, AND, MOVZ, ADR,
//! SBFM/BFM/UBFM, EXTR, CSEL, CCMP, ADC, RBIT/REV/CLZ/CLS, LSLV…, MADD…UMULH), each computing what the
//! interpreter's `exec::alu` computes, on the decoder's fields (`DecodeBitMasks` already applied).

use cranelift_codegen::ir::types::{I8, I64};
use cranelift_codegen::ir::{InstBuilder, Value};

use super::emit::Emitter;
use crate::decode::{Dp1, Dp2, Dp3, Insn};

impl Emitter<'_> {
    /// A data-processing instruction ([`super::block::Kind::Plain`] and not a memory access).
    pub(super) fn data_processing(&mut self, insn: Insn, pc: u64) {
        match insn {
            Insn::AddSubImm {
                sf,
                sub,
                setflags,
                rd,
                rn,
                imm,
            } => {
                let x = self.x(rn);
                let y = self.b.ins().iconst(I64, i64::from(imm));
                self.add_sub(sf, sub, setflags, rd, x, y);
            }
            Insn::AddSubShifted {
                sf,
                sub,
                setflags,
                rd,
                rn,
                rm,
                shift,
                amount,
            } => {
                let m = self.x(rm);
                let y = self.shift_reg(sf, m, shift, amount);
                let x = self.x(rn);
                self.add_sub(sf, sub, setflags, rd, x, y);
            }
            Insn::AddSubExt {
                sf,
                sub,
                setflags,
                rd,
                rn,
                rm,
                option,
                amount,
            } => {
                let m = self.x(rm);
                let y = self.extend_reg(m, option, amount);
                let x = self.x(rn);
                self.add_sub(sf, sub, setflags, rd, x, y);
            }
            Insn::AddSubCarry {
                sf,
                sub,
                setflags,
                rd,
                rn,
                rm,
            } => {
                let m = self.x(rm);
                let y = if sub { self.b.ins().bnot(m) } else { m };
                let carry = self.flag(2);
                let x = self.x(rn);
                let (r, f) = self.add_with_carry(sf, x, y, carry);
                if setflags {
                    self.set_flags(f);
                }
                self.set_reg(sf, rd, r);
            }
            Insn::LogicalImm {
                sf,
                opc,
                rd,
                rn,
                imm,
            } => {
                let x = self.x(rn);
                let y = self.b.ins().iconst(I64, imm.cast_signed());
                self.logical(sf, opc, rd, x, y);
            }
            Insn::LogicalReg {
                sf,
                opc,
                invert,
                rd,
                rn,
                rm,
                shift,
                amount,
            } => {
                let m = self.x(rm);
                let mut y = self.shift_reg(sf, m, shift, amount);
                if invert {
                    y = self.b.ins().bnot(y);
                }
                let x = self.x(rn);
                self.logical(sf, opc, rd, x, y);
            }
            Insn::MovWide {
                sf,
                opc,
                rd,
                imm,
                shift,
            } => {
                let value = u64::from(imm) << shift;
                let r = match opc {
                    0 => self.b.ins().iconst(I64, (!value).cast_signed()),
                    2 => self.b.ins().iconst(I64, value.cast_signed()),
                    _ => {
                        let old = self.x(rd);
                        let kept = self
                            .b
                            .ins()
                            .band_imm_s(old, (!(0xFFFFu64 << shift)).cast_signed());
                        self.b.ins().bor_imm_s(kept, value.cast_signed())
                    }
                };
                self.set_reg(sf, rd, r);
            }
            Insn::Adr { page, rd, imm } => {
                let value = if page {
                    (pc & !0xFFF).wrapping_add_signed(i64::from(imm) << 12)
                } else {
                    pc.wrapping_add_signed(i64::from(imm))
                };
                let v = self.b.ins().iconst(I64, value.cast_signed());
                self.set_x(rd, v);
            }
            Insn::Bitfield {
                sf,
                opc,
                rd,
                rn,
                immr,
                imms,
            } => self.bitfield(sf, opc, rd, rn, immr, imms),
            Insn::Extr {
                sf,
                rd,
                rn,
                rm,
                lsb,
            } => {
                let (hi, lo) = (self.x(rn), self.x(rm));
                let r = if sf {
                    if lsb == 0 {
                        lo
                    } else {
                        let l = self.b.ins().ushr_imm_s(lo, i64::from(lsb));
                        let h = self.b.ins().ishl_imm_s(hi, 64 - i64::from(lsb));
                        self.b.ins().bor(l, h)
                    }
                } else {
                    let h = self.b.ins().ishl_imm_s(hi, 32);
                    let l = self.b.ins().band_imm_s(lo, 0xFFFF_FFFF);
                    let both = self.b.ins().bor(h, l);
                    self.b.ins().ushr_imm_s(both, i64::from(lsb))
                };
                self.set_reg(sf, rd, r);
            }
            Insn::CondSelect {
                sf,
                op,
                rd,
                rn,
                rm,
                cond,
            } => {
                let c = self.condition(cond);
                let (x, y) = (self.x(rn), self.x(rm));
                let alt = match op {
                    0 => y,
                    1 => self.b.ins().iadd_imm_s(y, 1),
                    2 => self.b.ins().bnot(y),
                    _ => self.b.ins().ineg(y),
                };
                let r = self.b.ins().select(c, x, alt);
                self.set_reg(sf, rd, r);
            }
            Insn::CondCompare {
                sf,
                sub,
                imm,
                rn,
                rm,
                cond,
                nzcv,
            } => {
                let c = self.condition(cond);
                let y = if imm {
                    self.b.ins().iconst(I64, i64::from(rm))
                } else {
                    self.x(rm)
                };
                let (y, carry) = if sub {
                    (self.b.ins().bnot(y), self.b.ins().iconst(I8, 1))
                } else {
                    (y, self.b.ins().iconst(I8, 0))
                };
                let x = self.x(rn);
                let (_, f) = self.add_with_carry(sf, x, y, carry);
                let mut out = f;
                for (i, o) in out.iter_mut().enumerate() {
                    let k = self.b.ins().iconst(I8, i64::from((nzcv >> (3 - i)) & 1));
                    *o = self.b.ins().select(c, f[i], k);
                }
                self.set_flags(out);
            }
            Insn::DataProc1 { sf, op, rd, rn } => {
                let x = self.x(rn);
                let r = self.data_proc1(sf, op, x);
                self.set_reg(sf, rd, r);
            }
            Insn::DataProc2 { sf, op, rd, rn, rm } => {
                let (x, y) = (self.x(rn), self.x(rm));
                let v = if sf { x } else { self.w(x) };
                let r = match op {
                    Dp2::Lslv => self.b.ins().ishl(v, y),
                    Dp2::Lsrv => self.b.ins().ushr(v, y),
                    Dp2::Asrv => self.b.ins().sshr(v, y),
                    Dp2::Rorv => self.b.ins().rotr(v, y),
                    // Not translated (`block::kind`); never reached.
                    Dp2::Udiv | Dp2::Sdiv => v,
                };
                let r = if sf { r } else { self.b.ins().uextend(I64, r) };
                self.set_reg(sf, rd, r);
            }
            Insn::DataProc3 {
                sf,
                op,
                rd,
                rn,
                rm,
                ra,
            } => {
                let (n, m, a) = (self.x(rn), self.x(rm), self.x(ra));
                let r = self.data_proc3(op, n, m, a);
                self.set_reg(sf, rd, r);
            }
            _ => {}
        }
    }

    /// AND/ORR/EOR/ANDS of `x` and `y` into `rd`.
    pub(super) fn logical(&mut self, sf: bool, opc: u8, rd: u8, x: Value, y: Value) {
        let r = match opc {
            0 | 3 => self.b.ins().band(x, y),
            1 => self.b.ins().bor(x, y),
            _ => self.b.ins().bxor(x, y),
        };
        if opc == 3 {
            let (n, z) = self.nz(sf, r);
            let zero = self.b.ins().iconst(I8, 0);
            self.set_flags([n, z, zero, zero]);
        }
        self.set_reg(sf, rd, r);
    }

    /// SBFM/BFM/UBFM as `exec::arith::bitfield` computes them, with the field positions folded.
    pub(super) fn bitfield(&mut self, sf: bool, opc: u8, rd: u8, rn: u8, immr: u8, imms: u8) {
        use crate::exec::arith::ones;
        let datasize: u32 = if sf { 64 } else { 32 };
        let (immr, imms) = (u32::from(immr), u32::from(imms));
        let src = self.x(rn);
        let (field, width, lsb) = if imms >= immr {
            let width = imms - immr + 1;
            let s = self.b.ins().ushr_imm_s(src, i64::from(immr));
            (
                self.b.ins().band_imm_s(s, ones(width).cast_signed()),
                width,
                0,
            )
        } else {
            let width = imms + 1;
            let f = self.b.ins().band_imm_s(src, ones(width).cast_signed());
            (f, width, datasize - immr)
        };
        let placed = self.b.ins().ishl_imm_s(field, i64::from(lsb));
        let r = match opc {
            0 => {
                let shift = i64::from(64 - (lsb + width).min(64));
                let up = self.b.ins().ishl_imm_s(placed, shift);
                self.b.ins().sshr_imm_s(up, shift)
            }
            1 => {
                let dst = self.x(rd);
                let keep = !(ones(width).wrapping_shl(lsb));
                let kept = self.b.ins().band_imm_s(dst, keep.cast_signed());
                self.b.ins().bor(kept, placed)
            }
            _ => placed,
        };
        self.set_reg(sf, rd, r);
    }

    /// RBIT, REV16, REV32, REV, CLZ, CLS (zero-extended).
    pub(super) fn data_proc1(&mut self, sf: bool, op: Dp1, x: Value) -> Value {
        let v = if sf { x } else { self.w(x) };
        let (lo_bytes, hi_bytes) = if sf {
            (0x00FF_00FF_00FF_00FFi64, 0x00FF_00FF_00FF_00FFi64)
        } else {
            (0x00FF_00FF, 0x00FF_00FF)
        };
        let r = match op {
            Dp1::Rbit => self.b.ins().bitrev(v),
            Dp1::Rev16 => {
                let lo = self.b.ins().band_imm_s(v, lo_bytes);
                let lo = self.b.ins().ishl_imm_s(lo, 8);
                let hi = self.b.ins().ushr_imm_s(v, 8);
                let hi = self.b.ins().band_imm_s(hi, hi_bytes);
                self.b.ins().bor(lo, hi)
            }
            Dp1::Rev32 if sf => {
                let lo = self.w(v);
                let lo = self.b.ins().bswap(lo);
                let lo = self.b.ins().uextend(I64, lo);
                let hi = self.b.ins().ushr_imm_s(v, 32);
                let hi = self.w(hi);
                let hi = self.b.ins().bswap(hi);
                let hi = self.b.ins().uextend(I64, hi);
                let hi = self.b.ins().ishl_imm_s(hi, 32);
                self.b.ins().bor(hi, lo)
            }
            Dp1::Rev32 | Dp1::Rev => self.b.ins().bswap(v),
            Dp1::Clz => self.b.ins().clz(v),
            Dp1::Cls => self.b.ins().cls(v),
        };
        if sf { r } else { self.b.ins().uextend(I64, r) }
    }

    /// MADD … UMULH before the 32-bit truncation (`exec::arith::data_proc3`).
    pub(super) fn data_proc3(&mut self, op: Dp3, n: Value, m: Value, a: Value) -> Value {
        let s32 = |e: &mut Self, v: Value| {
            let t = e.w(v);
            e.b.ins().sextend(I64, t)
        };
        let u32_ = |e: &mut Self, v: Value| e.b.ins().band_imm_s(v, 0xFFFF_FFFF);
        match op {
            Dp3::Madd | Dp3::Msub => {
                let p = self.b.ins().imul(n, m);
                self.accumulate(op == Dp3::Msub, a, p)
            }
            Dp3::Smaddl | Dp3::Smsubl => {
                let (n, m) = (s32(self, n), s32(self, m));
                let p = self.b.ins().imul(n, m);
                self.accumulate(op == Dp3::Smsubl, a, p)
            }
            Dp3::Umaddl | Dp3::Umsubl => {
                let (n, m) = (u32_(self, n), u32_(self, m));
                let p = self.b.ins().imul(n, m);
                self.accumulate(op == Dp3::Umsubl, a, p)
            }
            Dp3::Smulh => self.b.ins().smulhi(n, m),
            Dp3::Umulh => self.b.ins().umulhi(n, m),
        }
    }

    pub(super) fn accumulate(&mut self, sub: bool, a: Value, p: Value) -> Value {
        if sub {
            self.b.ins().isub(a, p)
        } else {
            self.b.ins().iadd(a, p)
        }
    }
}
