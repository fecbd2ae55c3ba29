//! Execution of decoded instructions against a REC context (Arm ARM C6 pseudocode, per instruction).

mod alu;
pub(crate) mod arith;
mod branch;
mod fast;
pub(crate) mod ldst;
pub(crate) mod op;
mod system;

use realm_cpu::{RealmMemory, RecContext};

use crate::cpu::Core;
use crate::exception::{Exception, PSTATE_SP};

/// One instruction's execution environment: the CPU's own state, the REC context, realm memory, and where
/// the PC goes when the instruction completes.
pub(crate) struct Exec<'a> {
    pub(crate) core: &'a mut Core,
    pub(crate) ctx: &'a mut RecContext,
    pub(crate) mem: &'a mut dyn RealmMemory,
    /// The address of this instruction.
    pub(crate) pc: u64,
    /// The address of the next instruction when a handler returns [`op::Flow::End`] (branches set it).
    pub(crate) next_pc: u64,
    /// The exception of a handler that returned [`op::Flow::Fault`].
    pub(crate) fault: Option<Exception>,
    /// X0..X30 while running, and 31 reading as zero.
    pub(crate) regs: [u64; 32],
    /// What compiled blocks exchange with the run loop and their helpers ([`crate::jit`]).
    pub(crate) jit: JitIo,
}

/// The words a compiled block and its helpers share through [`Exec`] ([`crate::jit`]): `NZCV` in and out,
/// and the values a load helper returns.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct JitIo {
    /// `PSTATE.{N,Z,C,V}` as in `PSTATE` bits \[31:28\].
    pub(crate) nzcv: u64,
    /// The value(s) a load helper read.
    pub(crate) value: [u64; 2],
    /// Inline loads ([`crate::translate::MicroTlb::load_table`]): the address of the load table's keys,
    /// of its page words, and the low bits of this privilege's keys; set before every block runs.
    pub(crate) load_keys: u64,
    pub(crate) load_words: u64,
    pub(crate) key_low: u64,
}

impl Exec<'_> {
    /// The current exception level.
    pub(crate) fn el(&self) -> u8 {
        self.ctx.el()
    }

    /// X`r`, with 31 reading as zero (XZR). The registers live in [`Exec::regs`] while the CPU runs
    /// (entry 31 always zero).
    #[inline(always)]
    pub(crate) fn x(&self, r: u8) -> u64 {
        self.regs[usize::from(r & 31)]
    }

    /// Set X`r`; 31 (XZR) discards.
    #[inline(always)]
    pub(crate) fn set_x(&mut self, r: u8, value: u64) {
        if r < 31 {
            self.regs[usize::from(r & 31)] = value;
        }
    }

    /// Set X`r` (`sf`) or W`r` (zero-extended into X`r`).
    #[inline]
    pub(crate) fn set_reg(&mut self, sf: bool, r: u8, value: u64) {
        self.set_x(r, if sf { value } else { value & 0xFFFF_FFFF });
    }

    /// The stack pointer in use (`SP_EL0` at EL0 or with PSTATE.SP = 0, else `SP_EL1`).
    #[inline]
    pub(crate) fn sp(&self) -> u64 {
        if self.ctx.pstate & 0b1100 != 0 && self.ctx.pstate & PSTATE_SP != 0 {
            self.ctx.sp_el1
        } else {
            self.ctx.sp_el0
        }
    }

    /// Set the stack pointer in use.
    #[inline]
    pub(crate) fn set_sp(&mut self, value: u64) {
        if self.ctx.pstate & 0b1100 != 0 && self.ctx.pstate & PSTATE_SP != 0 {
            self.ctx.sp_el1 = value;
        } else {
            self.ctx.sp_el0 = value;
        }
    }

    /// X`r` with 31 meaning SP.
    #[inline]
    pub(crate) fn x_or_sp(&self, r: u8) -> u64 {
        if r == 31 { self.sp() } else { self.x(r) }
    }

    /// Set X`r` (or W`r`, zero-extended) with 31 meaning SP.
    #[inline]
    pub(crate) fn set_reg_or_sp(&mut self, sf: bool, r: u8, value: u64) {
        let value = if sf { value } else { value & 0xFFFF_FFFF };
        if r == 31 {
            self.set_sp(value);
        } else {
            self.set_x(r, value);
        }
    }

    /// `PSTATE.{N,Z,C,V}` as a 4-bit value (N in bit 3).
    #[inline]
    pub(crate) fn nzcv(&self) -> u8 {
        u8::try_from((self.ctx.pstate >> 28) & 0xF).unwrap_or(0)
    }

    /// Set `PSTATE.{N,Z,C,V}` from a 4-bit value.
    #[inline]
    pub(crate) fn set_nzcv(&mut self, nzcv: u8) {
        self.ctx.pstate = (self.ctx.pstate & !(0xF << 28)) | (u64::from(nzcv & 0xF) << 28);
    }

    /// `ConditionHolds(cond)` (Arm ARM J1 `shared/functions/system/ConditionHolds`).
    #[inline]
    pub(crate) fn condition_holds(&self, cond: u8) -> bool {
        let f = self.nzcv();
        let (n, z, c, v) = (f & 8 != 0, f & 4 != 0, f & 2 != 0, f & 1 != 0);
        let result = match cond >> 1 {
            0 => z,
            1 => c,
            2 => n,
            3 => v,
            4 => c && !z,
            5 => n == v,
            6 => n == v && !z,
            _ => true,
        };
        if cond & 1 == 1 && cond != 0b1111 {
            !result
        } else {
            result
        }
    }
}

/// Sign-extend the low 32 bits of `v`.
pub(crate) fn sext32(v: u64) -> u64 {
    arith::sext(v, 32)
}
