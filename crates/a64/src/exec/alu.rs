//! Data processing: immediate and register forms (Arm ARM C6.2, pseudocode of ADD, SUB, AND, MOVZ, SBFM,
//! EXTR, CCMP, CSEL, MADD, UDIV, CLZ …; `AddWithCarry`, `ShiftReg`, `ExtendReg` from J1).

use super::Exec;
use crate::decode::{Dp1, Dp2, Dp3, Insn, ShiftType};

/// All ones in the low `bits` bits (`bits` 1..=64).
#[inline]
pub(crate) const fn ones(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

/// `AddWithCarry(x, y, carry_in)` at 32 or 64 bits: the result (zero-extended) and NZCV.
#[inline]
pub(crate) fn add_with_carry(sf: bool, x: u64, y: u64, carry: bool) -> (u64, u8) {
    if sf {
        let (r1, c1) = x.overflowing_add(y);
        let (result, c2) = r1.overflowing_add(u64::from(carry));
        let carry_out = c1 || c2;
        let overflow = ((x ^ result) & (y ^ result)) >> 63 == 1;
        (
            result,
            flags(result >> 63 == 1, result == 0, carry_out, overflow),
        )
    } else {
        let (x, y) = (x & 0xFFFF_FFFF, y & 0xFFFF_FFFF);
        let wide = x + y + u64::from(carry);
        let result = wide & 0xFFFF_FFFF;
        let overflow = ((x ^ result) & (y ^ result)) >> 31 & 1 == 1;
        (
            result,
            flags(result >> 31 == 1, result == 0, wide >> 32 != 0, overflow),
        )
    }
}

/// NZCV as a 4-bit value.
#[inline]
const fn flags(n: bool, z: bool, c: bool, v: bool) -> u8 {
    ((n as u8) << 3) | ((z as u8) << 2) | ((c as u8) << 1) | (v as u8)
}

/// `ShiftReg(reg, type, amount)` at 32 or 64 bits.
#[inline]
pub(crate) fn shift_reg(sf: bool, value: u64, shift: ShiftType, amount: u8) -> u64 {
    let amount = u32::from(amount);
    if sf {
        match shift {
            ShiftType::Lsl => value.wrapping_shl(amount),
            ShiftType::Lsr => value.wrapping_shr(amount),
            ShiftType::Asr => i64_bits(value).wrapping_shr(amount).cast_unsigned(),
            ShiftType::Ror => value.rotate_right(amount),
        }
    } else {
        let v = low32(value);
        u64::from(match shift {
            ShiftType::Lsl => v.wrapping_shl(amount),
            ShiftType::Lsr => v.wrapping_shr(amount),
            ShiftType::Asr => v.cast_signed().wrapping_shr(amount).cast_unsigned(),
            ShiftType::Ror => v.rotate_right(amount),
        })
    }
}

/// `ExtendReg(reg, extend_type, shift)`: UXTB, UXTH, UXTW, UXTX, SXTB, SXTH, SXTW, SXTX (`option` 0..=7).
#[inline]
pub(crate) fn extend_reg(value: u64, option: u8, shift: u8) -> u64 {
    let extended = match option & 7 {
        0 => value & 0xFF,
        1 => value & 0xFFFF,
        2 => value & 0xFFFF_FFFF,
        3 => value,
        4 => sext(value, 8),
        5 => sext(value, 16),
        6 => sext(value, 32),
        _ => value,
    };
    extended << shift
}

/// Sign-extend the low `bits` bits of `value` to 64 bits.
#[inline]
pub(crate) fn sext(value: u64, bits: u32) -> u64 {
    let shift = 64 - bits;
    i64_bits(value << shift).wrapping_shr(shift).cast_unsigned()
}

#[inline]
fn i64_bits(v: u64) -> i64 {
    v.cast_signed()
}

#[inline]
pub(crate) fn low32(v: u64) -> u32 {
    u32::try_from(v & 0xFFFF_FFFF).unwrap_or(0)
}

impl Exec<'_> {
    /// AddSubImm.
    #[inline(always)]
    pub(super) fn exec_add_sub_imm(&mut self, insn: Insn) {
        if let Insn::AddSubImm {
            sf,
            sub,
            setflags,
            rd,
            rn,
            imm,
        } = insn
        {
            let x = self.x_or_sp(rn);
            let y = u64::from(imm);
            self.add_sub(sf, sub, setflags, rd, x, y, true);
        }
    }

    /// LogicalImm.
    #[inline(always)]
    pub(super) fn exec_logical_imm(&mut self, insn: Insn) {
        if let Insn::LogicalImm {
            sf,
            opc,
            rd,
            rn,
            imm,
        } = insn
        {
            let x = self.x(rn);
            let result = match opc {
                0 | 3 => x & imm,
                1 => x | imm,
                _ => x ^ imm,
            };
            if opc == 3 {
                self.logical_flags(sf, result);
                self.set_reg(sf, rd, result);
            } else {
                self.set_reg_or_sp(sf, rd, result);
            }
        }
    }

    /// MovWide.
    #[inline(always)]
    pub(super) fn exec_mov_wide(&mut self, insn: Insn) {
        if let Insn::MovWide {
            sf,
            opc,
            rd,
            imm,
            shift,
        } = insn
        {
            let value = u64::from(imm) << shift;
            let result = match opc {
                0 => !value,
                2 => value,
                _ => (self.x(rd) & !(0xFFFFu64 << shift)) | value,
            };
            self.set_reg(sf, rd, result);
        }
    }

    /// Adr.
    #[inline(always)]
    pub(super) fn exec_adr(&mut self, insn: Insn) {
        if let Insn::Adr { page, rd, imm } = insn {
            let result = if page {
                (self.pc & !0xFFF).wrapping_add_signed(i64::from(imm) << 12)
            } else {
                self.pc.wrapping_add_signed(i64::from(imm))
            };
            self.set_x(rd, result);
        }
    }

    /// Bitfield.
    #[inline(always)]
    pub(super) fn exec_bitfield(&mut self, insn: Insn) {
        if let Insn::Bitfield {
            sf,
            opc,
            rd,
            rn,
            immr,
            imms,
        } = insn
        {
            let result = bitfield(sf, opc, self.x(rd), self.x(rn), immr, imms);
            self.set_reg(sf, rd, result);
        }
    }

    /// Extr.
    #[inline(always)]
    pub(super) fn exec_extr(&mut self, insn: Insn) {
        if let Insn::Extr {
            sf,
            rd,
            rn,
            rm,
            lsb,
        } = insn
        {
            let (hi, lo) = (self.x(rn), self.x(rm));
            let result = if sf {
                let both = (u128::from(hi) << 64) | u128::from(lo);
                crate::exec::ldst::low64(both >> lsb)
            } else {
                let both = ((hi & 0xFFFF_FFFF) << 32) | (lo & 0xFFFF_FFFF);
                both >> lsb
            };
            self.set_reg(sf, rd, result);
        }
    }

    /// LogicalReg.
    #[inline(always)]
    pub(super) fn exec_logical_reg(&mut self, insn: Insn) {
        if let Insn::LogicalReg {
            sf,
            opc,
            invert,
            rd,
            rn,
            rm,
            shift,
            amount,
        } = insn
        {
            let mut y = shift_reg(sf, self.x(rm), shift, amount);
            if invert {
                y = !y;
            }
            let x = self.x(rn);
            let result = match opc {
                0 | 3 => x & y,
                1 => x | y,
                _ => x ^ y,
            };
            if opc == 3 {
                self.logical_flags(sf, result);
            }
            self.set_reg(sf, rd, result);
        }
    }

    /// AddSubShifted.
    #[inline(always)]
    pub(super) fn exec_add_sub_shifted(&mut self, insn: Insn) {
        if let Insn::AddSubShifted {
            sf,
            sub,
            setflags,
            rd,
            rn,
            rm,
            shift,
            amount,
        } = insn
        {
            let y = shift_reg(sf, self.x(rm), shift, amount);
            let x = self.x(rn);
            self.add_sub(sf, sub, setflags, rd, x, y, false);
        }
    }

    /// AddSubExt.
    #[inline(always)]
    pub(super) fn exec_add_sub_ext(&mut self, insn: Insn) {
        if let Insn::AddSubExt {
            sf,
            sub,
            setflags,
            rd,
            rn,
            rm,
            option,
            amount,
        } = insn
        {
            let y = extend_reg(self.x(rm), option, amount);
            let x = self.x_or_sp(rn);
            self.add_sub(sf, sub, setflags, rd, x, y, true);
        }
    }

    /// AddSubCarry.
    #[inline(always)]
    pub(super) fn exec_add_sub_carry(&mut self, insn: Insn) {
        if let Insn::AddSubCarry {
            sf,
            sub,
            setflags,
            rd,
            rn,
            rm,
        } = insn
        {
            let y = if sub { !self.x(rm) } else { self.x(rm) };
            let carry = self.nzcv() & 2 != 0;
            let (result, nzcv) = add_with_carry(sf, self.x(rn), y, carry);
            if setflags {
                self.set_nzcv(nzcv);
            }
            self.set_reg(sf, rd, result);
        }
    }

    /// CondCompare.
    #[inline(always)]
    pub(super) fn exec_cond_compare(&mut self, insn: Insn) {
        if let Insn::CondCompare {
            sf,
            sub,
            imm,
            rn,
            rm,
            cond,
            nzcv,
        } = insn
        {
            if self.condition_holds(cond) {
                let y = if imm { u64::from(rm) } else { self.x(rm) };
                let (y, carry) = if sub { (!y, true) } else { (y, false) };
                let (_, flags) = add_with_carry(sf, self.x(rn), y, carry);
                self.set_nzcv(flags);
            } else {
                self.set_nzcv(nzcv);
            }
        }
    }

    /// CondSelect.
    #[inline(always)]
    pub(super) fn exec_cond_select(&mut self, insn: Insn) {
        if let Insn::CondSelect {
            sf,
            op,
            rd,
            rn,
            rm,
            cond,
        } = insn
        {
            let result = if self.condition_holds(cond) {
                self.x(rn)
            } else {
                let y = self.x(rm);
                match op {
                    0 => y,
                    1 => y.wrapping_add(1),
                    2 => !y,
                    _ => y.wrapping_neg(),
                }
            };
            self.set_reg(sf, rd, result);
        }
    }

    /// DataProc2.
    #[inline(always)]
    pub(super) fn exec_data_proc2(&mut self, insn: Insn) {
        if let Insn::DataProc2 { sf, op, rd, rn, rm } = insn {
            let result = data_proc2(sf, op, self.x(rn), self.x(rm));
            self.set_reg(sf, rd, result);
        }
    }

    /// DataProc1.
    #[inline(always)]
    pub(super) fn exec_data_proc1(&mut self, insn: Insn) {
        if let Insn::DataProc1 { sf, op, rd, rn } = insn {
            let result = data_proc1(sf, op, self.x(rn));
            self.set_reg(sf, rd, result);
        }
    }

    /// DataProc3.
    #[inline(always)]
    pub(super) fn exec_data_proc3(&mut self, insn: Insn) {
        if let Insn::DataProc3 {
            sf,
            op,
            rd,
            rn,
            rm,
            ra,
        } = insn
        {
            let result = data_proc3(op, self.x(rn), self.x(rm), self.x(ra));
            self.set_reg(sf, rd, result);
        }
    }

    /// ADD/SUB(S): `sp_forms` when Rd may be SP (immediate and extended forms without S).
    #[expect(clippy::too_many_arguments, reason = "the instruction's fields")]
    #[inline(always)]
    fn add_sub(
        &mut self,
        sf: bool,
        sub: bool,
        setflags: bool,
        rd: u8,
        x: u64,
        y: u64,
        sp_forms: bool,
    ) {
        if !setflags {
            let result = if sub {
                x.wrapping_sub(y)
            } else {
                x.wrapping_add(y)
            };
            if sp_forms {
                self.set_reg_or_sp(sf, rd, result);
            } else {
                self.set_reg(sf, rd, result);
            }
            return;
        }
        let (y, carry) = if sub { (!y, true) } else { (y, false) };
        let (result, nzcv) = add_with_carry(sf, x, y, carry);
        if setflags {
            self.set_nzcv(nzcv);
            self.set_reg(sf, rd, result);
        } else if sp_forms {
            self.set_reg_or_sp(sf, rd, result);
        } else {
            self.set_reg(sf, rd, result);
        }
    }

    /// NZCV of ANDS/BICS/TST: N and Z from the result, C = V = 0.
    fn logical_flags(&mut self, sf: bool, result: u64) {
        let (neg, zero) = if sf {
            (result >> 63 == 1, result == 0)
        } else {
            (result >> 31 & 1 == 1, result & 0xFFFF_FFFF == 0)
        };
        self.set_nzcv(flags(neg, zero, false, false));
    }
}

/// SBFM (`opc` 0), BFM (1), UBFM (2) as their aliases compute them: with `imms >= immr` the field
/// `src[imms:immr]` goes to the bottom (SBFX/BFXIL/UBFX), else `src[imms:0]` goes to bit
/// `datasize - immr` (SBFIZ/BFI/UBFIZ); SBFM sign-extends from the field's top bit, BFM keeps the other
/// bits of `dst`.
pub(crate) fn bitfield(sf: bool, opc: u8, dst: u64, src: u64, immr: u8, imms: u8) -> u64 {
    let datasize: u32 = if sf { 64 } else { 32 };
    let (immr, imms) = (u32::from(immr), u32::from(imms));
    let (field, width, lsb) = if imms >= immr {
        let width = imms - immr + 1;
        ((src >> immr) & ones(width), width, 0)
    } else {
        let width = imms + 1;
        (src & ones(width), width, datasize - immr)
    };
    let result = match opc {
        0 => {
            let top = lsb + width;
            sext(field << lsb, top)
        }
        1 => (dst & !(ones(width) << lsb)) | (field << lsb),
        _ => field << lsb,
    };
    result & ones(datasize)
}

/// UDIV, SDIV (x / 0 = 0, MIN / −1 = MIN) and the variable shifts (amount modulo the data size).
pub(crate) fn data_proc2(sf: bool, op: Dp2, x: u64, y: u64) -> u64 {
    let size: u32 = if sf { 64 } else { 32 };
    let shift_amount = u8::try_from(y % u64::from(size)).unwrap_or(0);
    match op {
        Dp2::Udiv => {
            if sf {
                x.checked_div(y).unwrap_or(0)
            } else {
                u64::from(low32(x).checked_div(low32(y)).unwrap_or(0))
            }
        }
        Dp2::Sdiv => {
            if sf {
                let (a, b) = (x.cast_signed(), y.cast_signed());
                if b == 0 {
                    0
                } else {
                    a.wrapping_div(b).cast_unsigned()
                }
            } else {
                let (a, b) = (low32(x).cast_signed(), low32(y).cast_signed());
                if b == 0 {
                    0
                } else {
                    u64::from(a.wrapping_div(b).cast_unsigned())
                }
            }
        }
        Dp2::Lslv => shift_reg(sf, x, ShiftType::Lsl, shift_amount),
        Dp2::Lsrv => shift_reg(sf, x, ShiftType::Lsr, shift_amount),
        Dp2::Asrv => shift_reg(sf, x, ShiftType::Asr, shift_amount),
        Dp2::Rorv => shift_reg(sf, x, ShiftType::Ror, shift_amount),
    }
}

/// RBIT, REV16, REV32, REV, CLZ, CLS.
pub(crate) fn data_proc1(sf: bool, op: Dp1, x: u64) -> u64 {
    if sf {
        match op {
            Dp1::Rbit => x.reverse_bits(),
            Dp1::Rev16 => ((x & 0x00FF_00FF_00FF_00FF) << 8) | ((x >> 8) & 0x00FF_00FF_00FF_00FF),
            Dp1::Rev32 => {
                let lo = u64::from(low32(x).swap_bytes());
                let hi = u64::from(low32(x >> 32).swap_bytes());
                (hi << 32) | lo
            }
            Dp1::Rev => x.swap_bytes(),
            Dp1::Clz => u64::from(x.leading_zeros()),
            Dp1::Cls => {
                let y = (x >> 1) ^ (x & !(1 << 63));
                u64::from(y.leading_zeros() - 1)
            }
        }
    } else {
        let w = low32(x);
        u64::from(match op {
            Dp1::Rbit => w.reverse_bits(),
            Dp1::Rev16 => ((w & 0x00FF_00FF) << 8) | ((w >> 8) & 0x00FF_00FF),
            Dp1::Rev32 | Dp1::Rev => w.swap_bytes(),
            Dp1::Clz => w.leading_zeros(),
            Dp1::Cls => {
                let y = (w >> 1) ^ (w & 0x7FFF_FFFF);
                y.leading_zeros() - 1
            }
        })
    }
}

/// MADD, MSUB, SMADDL, SMSUBL, UMADDL, UMSUBL, SMULH, UMULH (the result before 32-bit truncation).
pub(crate) fn data_proc3(op: Dp3, n: u64, m: u64, a: u64) -> u64 {
    let s32 = |v: u64| sext(v, 32);
    match op {
        Dp3::Madd => a.wrapping_add(n.wrapping_mul(m)),
        Dp3::Msub => a.wrapping_sub(n.wrapping_mul(m)),
        Dp3::Smaddl => a.wrapping_add(s32(n).wrapping_mul(s32(m))),
        Dp3::Smsubl => a.wrapping_sub(s32(n).wrapping_mul(s32(m))),
        Dp3::Umaddl => a.wrapping_add((n & 0xFFFF_FFFF).wrapping_mul(m & 0xFFFF_FFFF)),
        Dp3::Umsubl => a.wrapping_sub((n & 0xFFFF_FFFF).wrapping_mul(m & 0xFFFF_FFFF)),
        Dp3::Smulh => {
            let p = i128::from(n.cast_signed()) * i128::from(m.cast_signed());
            crate::exec::ldst::low64((p >> 64).cast_unsigned())
        }
        Dp3::Umulh => crate::exec::ldst::low64((u128::from(n) * u128::from(m)) >> 64),
    }
}
