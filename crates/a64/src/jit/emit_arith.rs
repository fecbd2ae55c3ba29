//! Cranelift IR for the shared arithmetic of the data-processing instructions (Arm ARM J1 shared pseudocode
//! `AddWithCarry`, `ShiftReg`, `ExtendReg`), as `exec::arith` computes them.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I8, I32, I64};
use cranelift_codegen::ir::{InstBuilder, Value};

use super::emit::Emitter;
use crate::decode::ShiftType;

impl Emitter<'_> {
    /// The low 32 bits as an I32.
    pub(super) fn w(&mut self, v: Value) -> Value {
        self.b.ins().ireduce(I32, v)
    }

    /// N and Z of `r` at the data size (`r` an I64 holding the result).
    pub(super) fn nz(&mut self, sf: bool, r: Value) -> (Value, Value) {
        let r = if sf { r } else { self.w(r) };
        let n = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, r, 0);
        let z = self.b.ins().icmp_imm_s(IntCC::Equal, r, 0);
        (n, z)
    }

    /// `AddWithCarry(x, y, carry)` at the data size: the result (zero-extended) and N, Z, C, V.
    pub(super) fn add_with_carry(
        &mut self,
        sf: bool,
        x: Value,
        y: Value,
        carry: Value,
    ) -> (Value, [Value; 4]) {
        let cin = self.b.ins().uextend(I64, carry);
        if sf {
            let t = self.b.ins().iadd(x, y);
            let c1 = self.b.ins().icmp(IntCC::UnsignedLessThan, t, x);
            let r = self.b.ins().iadd(t, cin);
            let c2 = self.b.ins().icmp(IntCC::UnsignedLessThan, r, t);
            let c = self.b.ins().bor(c1, c2);
            let v = self.overflow(x, y, r);
            let (n, z) = self.nz(true, r);
            return (r, [n, z, c, v]);
        }
        let x = self.b.ins().band_imm_s(x, 0xFFFF_FFFF);
        let y = self.b.ins().band_imm_s(y, 0xFFFF_FFFF);
        let wide = self.b.ins().iadd(x, y);
        let wide = self.b.ins().iadd(wide, cin);
        let r = self.b.ins().band_imm_s(wide, 0xFFFF_FFFF);
        let c = self
            .b
            .ins()
            .icmp_imm_s(IntCC::UnsignedGreaterThan, wide, 0xFFFF_FFFF);
        let (x32, y32, r32) = (self.w(x), self.w(y), self.w(r));
        let v = self.overflow(x32, y32, r32);
        let (n, z) = self.nz(false, r);
        (r, [n, z, c, v])
    }

    /// Signed overflow of `r = x + y`: the sign of `(x ^ r) & (y ^ r)`.
    pub(super) fn overflow(&mut self, x: Value, y: Value, r: Value) -> Value {
        let a = self.b.ins().bxor(x, r);
        let b = self.b.ins().bxor(y, r);
        let t = self.b.ins().band(a, b);
        self.b.ins().icmp_imm_s(IntCC::SignedLessThan, t, 0)
    }

    /// ADD/ADDS/SUB/SUBS of `x` and `y` into `rd` (31: XZR; the SP forms are not translated).
    pub(super) fn add_sub(
        &mut self,
        sf: bool,
        sub: bool,
        setflags: bool,
        rd: u8,
        x: Value,
        y: Value,
    ) {
        if !setflags {
            let r = if sub {
                self.b.ins().isub(x, y)
            } else {
                self.b.ins().iadd(x, y)
            };
            self.set_reg(sf, rd, r);
            return;
        }
        let (y, carry) = if sub {
            (self.b.ins().bnot(y), self.b.ins().iconst(I8, 1))
        } else {
            (y, self.b.ins().iconst(I8, 0))
        };
        let (r, f) = self.add_with_carry(sf, x, y, carry);
        self.set_flags(f);
        self.set_reg(sf, rd, r);
    }

    /// `ShiftReg(v, shift, amount)` at the data size (zero-extended).
    pub(super) fn shift_reg(&mut self, sf: bool, v: Value, shift: ShiftType, amount: u8) -> Value {
        let a = i64::from(amount);
        let v = if sf { v } else { self.w(v) };
        let r = match shift {
            ShiftType::Lsl => self.b.ins().ishl_imm_s(v, a),
            ShiftType::Lsr => self.b.ins().ushr_imm_s(v, a),
            ShiftType::Asr => self.b.ins().sshr_imm_s(v, a),
            ShiftType::Ror => self.b.ins().rotr_imm_s(v, a),
        };
        if sf { r } else { self.b.ins().uextend(I64, r) }
    }

    /// `ExtendReg(v, option, shift)`.
    pub(super) fn extend_reg(&mut self, v: Value, option: u8, shift: u8) -> Value {
        let sext = |e: &mut Self, ty| {
            let t = e.b.ins().ireduce(ty, v);
            e.b.ins().sextend(I64, t)
        };
        let x = match option & 7 {
            0 => self.b.ins().band_imm_s(v, 0xFF),
            1 => self.b.ins().band_imm_s(v, 0xFFFF),
            2 => self.b.ins().band_imm_s(v, 0xFFFF_FFFF),
            4 => sext(self, I8),
            5 => sext(self, cranelift_codegen::ir::types::I16),
            6 => sext(self, I32),
            _ => v,
        };
        if shift == 0 {
            x
        } else {
            self.b.ins().ishl_imm_s(x, i64::from(shift))
        }
    }
}
