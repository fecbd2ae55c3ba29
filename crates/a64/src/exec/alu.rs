//! Data processing: immediate and register forms (Arm ARM C6.2, pseudocode of ADD, SUB, AND, MOVZ, SBFM,
//! EXTR, CCMP, CSEL, MADD, UDIV, CLZ …; `AddWithCarry`, `ShiftReg`, `ExtendReg` from J1).

use super::Exec;
use super::arith::{
    add_with_carry, bitfield, data_proc1, data_proc2, data_proc3, extend_reg, flags, shift_reg,
};
use crate::decode::Insn;

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
