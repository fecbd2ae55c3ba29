//! Branches (Arm ARM C6.2: B, BL, B.cond, CBZ, CBNZ, TBZ, TBNZ, BR, BLR, RET).

use super::Exec;
use crate::decode::{BranchReg, Insn};

impl Exec<'_> {
    /// Execute a branch: set `next_pc` (and X30 for the linking forms).
    #[inline(always)]
    pub(super) fn branch(&mut self, insn: Insn) {
        let target = |pc: u64, offset: i32| pc.wrapping_add_signed(i64::from(offset));
        match insn {
            Insn::Branch { link, offset } => {
                if link {
                    self.set_x(30, self.pc.wrapping_add(4));
                }
                self.next_pc = target(self.pc, offset);
            }
            Insn::BranchCond { cond, offset } if self.condition_holds(cond) => {
                self.next_pc = target(self.pc, offset);
            }
            Insn::CompareBranch {
                sf,
                nonzero,
                rt,
                offset,
            } => {
                let value = if sf {
                    self.x(rt)
                } else {
                    self.x(rt) & 0xFFFF_FFFF
                };
                if (value != 0) == nonzero {
                    self.next_pc = target(self.pc, offset);
                }
            }
            Insn::TestBranch {
                nonzero,
                rt,
                bit,
                offset,
            } if ((self.x(rt) >> bit) & 1 == 1) == nonzero => {
                self.next_pc = target(self.pc, offset);
            }
            Insn::BranchReg { kind, rn } => {
                let dest = self.x(rn);
                if kind == BranchReg::Blr {
                    self.set_x(30, self.pc.wrapping_add(4));
                }
                self.next_pc = dest;
            }
            _ => {}
        }
    }
}
