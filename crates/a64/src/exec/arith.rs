//! The arithmetic of data-processing instructions as pure functions (Arm ARM J1 shared pseudocode:
//! `AddWithCarry`, `ShiftReg`, `ExtendReg`, `SignExtend`, and the bitfield, divide, bit-operation and
//! multiply semantics of C6.2 SBFM/BFM/UBFM, UDIV/SDIV, RBIT/REV/CLZ/CLS, MADD/SMULH/UMULH …).

use crate::decode::{Dp1, Dp2, Dp3, ShiftType};
use crate::exec::ldst::low64;

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
pub(crate) const fn flags(n: bool, z: bool, c: bool, v: bool) -> u8 {
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
            low64((p >> 64).cast_unsigned())
        }
        Dp3::Umulh => low64((u128::from(n) * u128::from(m)) >> 64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_with_carry_flags() {
        // (sf, x, y, carry) → (result, NZCV), worked by hand.
        let cases: &[(bool, u64, u64, bool, u64, u8)] = &[
            (true, 1, 2, false, 3, 0b0000),
            (true, u64::MAX, 1, false, 0, 0b0110),
            (true, i64::MAX as u64, 1, false, 1 << 63, 0b1001),
            (true, 1 << 63, 1 << 63, false, 0, 0b0111),
            (true, 5, !5, true, 0, 0b0110), // 5 - 5
            (true, 3, !5, true, (-2i64).cast_unsigned(), 0b1000), // 3 - 5: borrow, C clear
            (false, 0xFFFF_FFFF, 1, false, 0, 0b0110),
            (false, 0x7FFF_FFFF, 0, true, 0x8000_0000, 0b1001),
            (false, 0x1_0000_0000, 0, false, 0, 0b0100), // upper bits ignored
        ];
        for &(sf, x, y, c, want, nzcv) in cases {
            assert_eq!(
                add_with_carry(sf, x, y, c),
                (want, nzcv),
                "AddWithCarry(sf={sf}, {x:#x}, {y:#x}, {c})"
            );
        }
    }

    #[test]
    fn shifts_and_extends() {
        assert_eq!(
            shift_reg(false, 0x8000_0001, ShiftType::Ror, 1),
            0xC000_0000,
            "ROR W by 1"
        );
        assert_eq!(
            shift_reg(false, 0x8000_0000, ShiftType::Asr, 31),
            0xFFFF_FFFF,
            "ASR W by 31"
        );
        assert_eq!(shift_reg(true, 0xF0, ShiftType::Lsr, 4), 0xF, "LSR X by 4");
        assert_eq!(extend_reg(0x80, 4, 0), u64::MAX - 0x7F, "SXTB");
        assert_eq!(extend_reg(0xFFFF_FFFF, 2, 4), 0xF_FFFF_FFF0, "UXTW #4");
        assert_eq!(sext(0x8000, 16), 0xFFFF_FFFF_FFFF_8000, "SignExtend 16");
    }

    #[test]
    fn bitfield_aliases() {
        assert_eq!(bitfield(true, 2, 0, 0xABCD, 4, 11), 0xBC, "UBFX #4, #8");
        assert_eq!(
            bitfield(false, 2, 0, 0xFF, 24, 23),
            0xFF00,
            "LSL W #8 (UBFM #24, #23)"
        );
        assert_eq!(
            bitfield(true, 0, 0, 0x8, 0, 3),
            u64::MAX - 7,
            "SBFX #0, #4 of 0b1000"
        );
        assert_eq!(
            bitfield(true, 1, 0xFFFF, 0, 60, 3),
            0xFF0F,
            "BFI #4, #4 of zero"
        );
    }

    #[test]
    fn divide_bit_operations_and_high_multiplies() {
        assert_eq!(
            data_proc2(true, Dp2::Sdiv, 1 << 63, u64::MAX),
            1 << 63,
            "SDIV MIN / -1"
        );
        assert_eq!(data_proc2(false, Dp2::Udiv, 7, 0), 0, "UDIV by zero");
        assert_eq!(
            data_proc2(false, Dp2::Lslv, 1, 33),
            2,
            "LSLV W amount mod 32"
        );
        assert_eq!(data_proc1(false, Dp1::Cls, 0), 31, "CLS W of 0");
        assert_eq!(data_proc1(true, Dp1::Cls, 1 << 62), 0, "CLS X of 0x4000…");
        assert_eq!(data_proc1(false, Dp1::Rbit, 1), 0x8000_0000, "RBIT W");
        assert_eq!(
            data_proc3(Dp3::Smulh, (-3i64).cast_unsigned(), 1 << 62, 0),
            (-1i64).cast_unsigned(),
            "SMULH"
        );
        assert_eq!(
            data_proc3(Dp3::Umulh, u64::MAX, u64::MAX, 0),
            u64::MAX - 1,
            "UMULH"
        );
        assert_eq!(
            data_proc3(Dp3::Smsubl, 2, 0xFFFF_FFFF, 10),
            12,
            "SMSUBL 10 - 2 * -1"
        );
    }
}
