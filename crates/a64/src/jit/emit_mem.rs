//! Cranelift IR for loads, stores (Arm ARM C6.2 LDR/STR immediate, register and literal, LDP/STP/LDPSW;
//! writeback as `exec::ldst` does it) through the helpers of [`super::native`], and for the branch that
//! ends a block (B, BL, B.cond, CBZ/CBNZ, TBZ/TBNZ, BR/BLR/RET).

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::I64;
use cranelift_codegen::ir::{InstBuilder, Value};

use super::emit::{
    Emitter, ExitPc, OFF_KEY_LOW, OFF_LOAD_KEYS, OFF_LOAD_WORDS, OFF_VALUE, trusted,
};
use crate::decode::{BranchReg, Index, Insn, MemOp};

/// Slots of the micro-TLB's load table (`FAST_ENTRIES` in `translate.rs`), which inline loads index.
const LOAD_TABLE_SLOTS: i64 = {
    assert!(
        crate::translate::FAST_ENTRIES.is_power_of_two()
            && crate::translate::FAST_ENTRIES < 1 << 16
    );
    #[expect(clippy::cast_possible_wrap, reason = "checked just above")]
    let slots = crate::translate::FAST_ENTRIES as i64;
    slots
};

/// Which helper: the index into [`super::emit::Helpers`].
#[derive(Clone, Copy)]
enum Helper {
    Load = 0,
    Store = 1,
    LoadPair = 2,
    StorePair = 3,
}

impl Emitter<'_> {
    /// Call `helper` with `exec` and `args`; go on if it did the access, else leave at the instruction at
    /// `pc`, `done` instructions into the pass.
    fn call(&mut self, helper: Helper, args: &[Value], pc: u64, done: u64) {
        let h = helper as usize;
        let addr = self
            .b
            .ins()
            .iconst(I64, self.helpers.addrs[h].cast_signed());
        let mut all = vec![self.exec];
        all.extend_from_slice(args);
        let call = self.b.ins().call_indirect(self.helpers.sigs[h], addr, &all);
        let status = self.b.inst_results(call)[0];
        let go_on = self.b.create_block();
        let out = self.exit(ExitPc::At(pc), done);
        self.b.ins().brif(status, go_on, &[], out, &[]);
        self.switch(go_on);
    }

    /// The value a load helper left in `Exec::jit.value[i]`.
    fn loaded(&mut self, i: i32) -> Value {
        self.b
            .ins()
            .load(I64, trusted(), self.exec, OFF_VALUE + 8 * i)
    }

    /// Sign-extend the low `bits` bits of `v`.
    fn sext(&mut self, v: Value, bits: i64) -> Value {
        let up = self.b.ins().ishl_imm_s(v, 64 - bits);
        self.b.ins().sshr_imm_s(up, 64 - bits)
    }

    /// The `1 << size` bytes at `addr`, zero-extended. Read inline from the page a load at that VA page with
    /// this privilege was allowed to before (the micro-TLB's load table, `MicroTlb::load_table`: what the
    /// load helper's first probe finds) when the access is aligned and the table knows the page; else
    /// through the load helper, leaving at the instruction when it declines.
    fn load_value(&mut self, size: u8, addr: Value, size_v: Value, pc: u64, done: u64) -> Value {
        let page = self.b.ins().ushr_imm_s(addr, 12);
        let slot = self.b.ins().band_imm_s(page, LOAD_TABLE_SLOTS - 1);
        let slot_off = self.b.ins().ishl_imm_s(slot, 3);
        let keys = self.b.ins().load(I64, trusted(), self.exec, OFF_LOAD_KEYS);
        let key_at = self.b.ins().iadd(keys, slot_off);
        let key = self.b.ins().load(I64, trusted(), key_at, 0);
        let low = self.b.ins().load(I64, trusted(), self.exec, OFF_KEY_LOW);
        let want = self.b.ins().ishl_imm_s(page, 2);
        let want = self.b.ins().bor(want, low);
        let known = self.b.ins().icmp(IntCC::Equal, key, want);
        let misaligned = self.b.ins().band_imm_s(addr, (1i64 << size) - 1);
        let aligned = self.b.ins().icmp_imm_s(IntCC::Equal, misaligned, 0);
        let hit = self.b.ins().band(known, aligned);
        let (fast, slow, join) = (
            self.b.create_block(),
            self.b.create_block(),
            self.b.create_block(),
        );
        let value = self.b.append_block_param(join, I64);
        self.b.ins().brif(hit, fast, &[], slow, &[]);
        // Both arms follow this block, so the register values at hand stay valid in them.
        self.b.switch_to_block(fast);
        let words = self.b.ins().load(I64, trusted(), self.exec, OFF_LOAD_WORDS);
        let words_at = self.b.ins().iadd(words, slot_off);
        let words = self.b.ins().load(I64, trusted(), words_at, 0);
        let in_page = self.b.ins().band_imm_s(addr, 0xFFF);
        let at = self.b.ins().iadd(words, in_page);
        let flags = trusted();
        let v = match size {
            0 => self.b.ins().uload8(I64, flags, at, 0),
            1 => self.b.ins().uload16(I64, flags, at, 0),
            2 => self.b.ins().uload32(flags, at, 0),
            _ => self.b.ins().load(I64, flags, at, 0),
        };
        self.b.ins().jump(join, &[v.into()]);
        self.b.switch_to_block(slow);
        self.call(Helper::Load, &[addr, size_v], pc, done);
        let v = self.loaded(0);
        self.b.ins().jump(join, &[v.into()]);
        self.switch(join);
        value
    }

    /// A single-register access of `1 << size` bytes at `addr` (`exec::ldst` `single`).
    fn single(&mut self, size: u8, op: MemOp, rt: u8, addr: Value, pc: u64, done: u64) {
        let size_v = self.b.ins().iconst(I64, i64::from(size));
        match op {
            MemOp::Prefetch => {}
            MemOp::Store => {
                let v = self.x(rt);
                self.call(Helper::Store, &[addr, size_v, v], pc, done);
            }
            MemOp::Load | MemOp::LoadSigned32 | MemOp::LoadSigned64 => {
                let v = self.load_value(size, addr, size_v, pc, done);
                let bits = 8i64 << size;
                let v = match op {
                    MemOp::LoadSigned64 if bits < 64 => self.sext(v, bits),
                    MemOp::LoadSigned32 if bits < 64 => {
                        let s = self.sext(v, bits);
                        self.b.ins().band_imm_s(s, 0xFFFF_FFFF)
                    }
                    _ => v,
                };
                self.set_x(rt, v);
            }
        }
    }

    /// A load or store, instruction `done` of the pass at `pc`.
    pub(super) fn memory(&mut self, insn: Insn, pc: u64, done: u64) {
        match insn {
            Insn::LdStImm {
                size,
                op,
                rt,
                rn,
                offset,
                index,
                ..
            } => {
                let base = self.x(rn);
                let moved = self.b.ins().iadd_imm_s(base, i64::from(offset));
                let addr = if index == Index::Post { base } else { moved };
                self.single(size, op, rt, addr, pc, done);
                let own_base = op != MemOp::Store && rt == rn;
                if index != Index::Offset && !own_base {
                    self.set_x(rn, moved);
                }
            }
            Insn::LdStReg {
                size,
                op,
                rt,
                rn,
                rm,
                option,
                shift,
            } => {
                let base = self.x(rn);
                let m = self.x(rm);
                let off = self.extend_reg(m, option, shift);
                let addr = self.b.ins().iadd(base, off);
                self.single(size, op, rt, addr, pc, done);
            }
            Insn::LdLiteral {
                size,
                op,
                rt,
                offset,
            } => {
                let at = pc.wrapping_add_signed(i64::from(offset));
                let addr = self.b.ins().iconst(I64, at.cast_signed());
                self.single(size, op, rt, addr, pc, done);
            }
            Insn::LdStPair {
                size,
                op,
                rt,
                rt2,
                rn,
                offset,
                index,
            } => {
                let base = self.x(rn);
                let moved = self.b.ins().iadd_imm_s(base, i64::from(offset));
                let addr = if index == Index::Post { base } else { moved };
                let size_v = self.b.ins().iconst(I64, i64::from(size));
                if op == MemOp::Store {
                    let (a, b) = (self.x(rt), self.x(rt2));
                    self.call(Helper::StorePair, &[addr, size_v, a, b], pc, done);
                } else {
                    self.call(Helper::LoadPair, &[addr, size_v], pc, done);
                    let (mut a, mut b) = (self.loaded(0), self.loaded(1));
                    if op == MemOp::LoadSigned64 {
                        a = self.sext(a, 32);
                        b = self.sext(b, 32);
                    }
                    self.set_x(rt, a);
                    self.set_x(rt2, b);
                }
                if index != Index::Offset {
                    self.set_x(rn, moved);
                }
            }
            _ => {}
        }
    }

    /// The branch at `pc` that ends the block (its last instruction).
    pub(super) fn branch(&mut self, insn: Insn, pc: u64) {
        let target = |offset: i32| pc.wrapping_add_signed(i64::from(offset));
        let len = self.len;
        let taken = match insn {
            Insn::Branch { link, offset } => {
                if link {
                    let ret = self.b.ins().iconst(I64, pc.wrapping_add(4).cast_signed());
                    self.set_x(30, ret);
                }
                self.go_to(target(offset));
                return;
            }
            Insn::BranchReg { kind, rn } => {
                let dest = self.x(rn);
                if kind == BranchReg::Blr {
                    let ret = self.b.ins().iconst(I64, pc.wrapping_add(4).cast_signed());
                    self.set_x(30, ret);
                }
                let out = self.exit(ExitPc::Value(dest), len);
                self.b.ins().jump(out, &[]);
                return;
            }
            Insn::BranchCond { cond, offset } => {
                let c = self.condition(cond);
                (c, target(offset))
            }
            Insn::CompareBranch {
                sf,
                nonzero,
                rt,
                offset,
            } => {
                let v = self.x(rt);
                let v = if sf {
                    v
                } else {
                    self.b.ins().band_imm_s(v, 0xFFFF_FFFF)
                };
                let cc = if nonzero {
                    IntCC::NotEqual
                } else {
                    IntCC::Equal
                };
                (self.b.ins().icmp_imm_s(cc, v, 0), target(offset))
            }
            Insn::TestBranch {
                nonzero,
                rt,
                bit,
                offset,
            } => {
                let v = self.x(rt);
                let v = self.b.ins().ushr_imm_s(v, i64::from(bit));
                let v = self.b.ins().band_imm_s(v, 1);
                let cc = if nonzero {
                    IntCC::NotEqual
                } else {
                    IntCC::Equal
                };
                (self.b.ins().icmp_imm_s(cc, v, 0), target(offset))
            }
            _ => return,
        };
        let (cond, to) = taken;
        let yes = self.b.create_block();
        let no = self.exit(ExitPc::At(pc.wrapping_add(4)), len);
        self.b.ins().brif(cond, yes, &[], no, &[]);
        self.switch(yes);
        self.go_to(to);
    }
}
