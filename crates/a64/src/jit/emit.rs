//! Cranelift IR for a block: its frame (X0..X30 in `Exec::regs`, NZCV in SSA variables written back at
//! every exit), the instruction budget and the loop back to the block's start, its exits, and
//! `ConditionHolds`. The instructions themselves: [`super::emit_alu`] (data processing, with
//! [`super::emit_arith`]) and [`super::emit_mem`] (loads, stores, branches).

use std::mem::offset_of;

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I8, I64};
use cranelift_codegen::ir::{Block, InstBuilder, MemFlagsData, SigRef, Value};
use cranelift_frontend::{FunctionBuilder, Variable};

use crate::exec::{Exec, JitIo};

/// Byte offsets in [`Exec`] that generated code uses (see `super::native`'s contract).
pub(super) const OFF_REGS: i32 = offset32(offset_of!(Exec<'_>, regs));
pub(super) const OFF_NEXT_PC: i32 = offset32(offset_of!(Exec<'_>, next_pc));
pub(super) const OFF_NZCV: i32 = offset32(offset_of!(Exec<'_>, jit) + offset_of!(JitIo, nzcv));
pub(super) const OFF_VALUE: i32 = offset32(offset_of!(Exec<'_>, jit) + offset_of!(JitIo, value));
pub(super) const OFF_LOAD_KEYS: i32 =
    offset32(offset_of!(Exec<'_>, jit) + offset_of!(JitIo, load_keys));
pub(super) const OFF_LOAD_WORDS: i32 =
    offset32(offset_of!(Exec<'_>, jit) + offset_of!(JitIo, load_words));
pub(super) const OFF_KEY_LOW: i32 =
    offset32(offset_of!(Exec<'_>, jit) + offset_of!(JitIo, key_low));

const fn offset32(v: usize) -> i32 {
    assert!(v < 1 << 20, "Exec is small");
    #[expect(clippy::cast_possible_truncation, reason = "checked just above")]
    #[expect(clippy::cast_possible_wrap, reason = "checked just above")]
    let v = v as i32;
    v
}

/// Where an exit of the block leaves the PC.
#[derive(Clone, Copy)]
pub(super) enum ExitPc {
    At(u64),
    Value(Value),
}

/// An exit: its block, the next PC, and the instructions of the current pass completed before it.
struct Exit {
    block: Block,
    pc: ExitPc,
    done: u64,
}

/// The helpers' signatures and addresses: load, store, load pair, store pair.
pub(super) struct Helpers {
    pub(super) sigs: [SigRef; 4],
    pub(super) addrs: [u64; 4],
}

/// The block being built. X0..X30 live in `Exec::regs`: every write is stored there at once and a read
/// loads it, unless the value is at hand from earlier in the same Cranelift block (`cache`, forgotten at
/// every block boundary and helper call), so that exits need not write registers back and no guest register
/// is kept live across a helper call (where the host's caller-saved registers would have to be spilled).
pub(super) struct Emitter<'a> {
    pub(super) b: FunctionBuilder<'a>,
    pub(super) exec: Value,
    limit: Value,
    cache: [Option<Value>; 31],
    /// N, Z, C, V as I8 0/1.
    flags: [Variable; 4],
    /// Steps of the passes before this one.
    acc: Variable,
    flags_written: bool,
    exits: Vec<Exit>,
    pub(super) helpers: Helpers,
    /// The PC of the block's first instruction, and its length in instructions.
    pub(super) start: u64,
    pub(super) len: u64,
    head: Block,
}

/// The memory flags of accesses to `Exec`: aligned, never trapping.
pub(super) fn trusted() -> MemFlagsData {
    MemFlagsData::trusted()
}

impl<'a> Emitter<'a> {
    /// Open the function in `b`: load the flags, zero the step count, and start the loop head with the
    /// budget check.
    pub(super) fn new(mut b: FunctionBuilder<'a>, helpers: Helpers, start: u64, len: u64) -> Self {
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let (exec, limit) = (b.block_params(entry)[0], b.block_params(entry)[1]);
        let flags = std::array::from_fn(|_| b.declare_var(I8));
        let acc = b.declare_var(I64);
        let nzcv = b.ins().load(I64, trusted(), exec, OFF_NZCV);
        for (i, var) in flags.iter().enumerate() {
            let bit = b.ins().ushr_imm_s(nzcv, 31 - i64::try_from(i).unwrap_or(0));
            let bit = b.ins().band_imm_s(bit, 1);
            let bit = b.ins().ireduce(I8, bit);
            b.def_var(*var, bit);
        }
        let zero = b.ins().iconst(I64, 0);
        b.def_var(acc, zero);
        let head = b.create_block();
        b.ins().jump(head, &[]);
        let mut e = Self {
            b,
            exec,
            limit,
            cache: [None; 31],
            flags,
            acc,
            flags_written: false,
            exits: Vec::new(),
            helpers,
            start,
            len,
            head,
        };
        e.switch(head);
        // A whole pass must fit in the budget left; otherwise the interpreter goes on from here.
        let acc = e.b.use_var(e.acc);
        let need =
            e.b.ins()
                .iadd_imm_s(acc, i64::try_from(len).unwrap_or(i64::MAX));
        let over = e.b.ins().icmp(IntCC::UnsignedGreaterThan, need, e.limit);
        let body = e.b.create_block();
        let out = e.exit(ExitPc::At(start), 0);
        e.b.ins().brif(over, out, &[], body, &[]);
        e.switch(body);
        e
    }

    /// Go on emitting into `block`: register values from before are not at hand there.
    pub(super) fn switch(&mut self, block: Block) {
        self.b.switch_to_block(block);
        self.cache = [None; 31];
    }

    /// A new exit block leaving the PC at `pc` after `done` instructions of this pass.
    pub(super) fn exit(&mut self, pc: ExitPc, done: u64) -> Block {
        let block = self.b.create_block();
        self.b.set_cold_block(block);
        self.exits.push(Exit { block, pc, done });
        block
    }

    /// End the current Cranelift block by going to `target` after the whole pass: round the loop when
    /// `target` is the block's start, else leave.
    pub(super) fn go_to(&mut self, target: u64) {
        if target == self.start {
            let acc = self.b.use_var(self.acc);
            let acc = self
                .b
                .ins()
                .iadd_imm_s(acc, i64::try_from(self.len).unwrap_or(0));
            self.b.def_var(self.acc, acc);
            self.b.ins().jump(self.head, &[]);
        } else {
            let out = self.exit(ExitPc::At(target), self.len);
            self.b.ins().jump(out, &[]);
        }
    }

    /// Emit every exit and close the function.
    pub(super) fn finish(mut self, config: cranelift_codegen::isa::TargetFrontendConfig) {
        let exits = std::mem::take(&mut self.exits);
        for exit in exits {
            self.switch(exit.block);
            if self.flags_written {
                let mut nzcv = self.b.ins().iconst(I64, 0);
                for (i, var) in self.flags.iter().enumerate() {
                    let f = self.b.use_var(*var);
                    let f = self.b.ins().uextend(I64, f);
                    let f = self
                        .b
                        .ins()
                        .ishl_imm_s(f, 31 - i64::try_from(i).unwrap_or(0));
                    nzcv = self.b.ins().bor(nzcv, f);
                }
                self.b.ins().store(trusted(), nzcv, self.exec, OFF_NZCV);
            }
            let pc = match exit.pc {
                ExitPc::At(pc) => self.b.ins().iconst(I64, pc.cast_signed()),
                ExitPc::Value(v) => v,
            };
            self.b.ins().store(trusted(), pc, self.exec, OFF_NEXT_PC);
            let acc = self.b.use_var(self.acc);
            let steps = self
                .b
                .ins()
                .iadd_imm_s(acc, i64::try_from(exit.done).unwrap_or(0));
            self.b.ins().return_(&[steps]);
        }
        self.b.seal_all_blocks();
        self.b.finalize(config);
    }

    /// X`r` (31: zero).
    pub(super) fn x(&mut self, r: u8) -> Value {
        let Some(slot) = self.cache.get(usize::from(r)).copied() else {
            return self.b.ins().iconst(I64, 0);
        };
        if let Some(v) = slot {
            return v;
        }
        let off = OFF_REGS + 8 * i32::from(r);
        let v = self.b.ins().load(I64, trusted(), self.exec, off);
        self.cache[usize::from(r)] = Some(v);
        v
    }

    /// Set X`r` (31: discarded), in `Exec::regs` at once.
    pub(super) fn set_x(&mut self, r: u8, v: Value) {
        if let Some(slot) = self.cache.get_mut(usize::from(r)) {
            *slot = Some(v);
            let off = OFF_REGS + 8 * i32::from(r);
            self.b.ins().store(trusted(), v, self.exec, off);
        }
    }

    /// Set X`r`, or W`r` zero-extended.
    pub(super) fn set_reg(&mut self, sf: bool, r: u8, v: Value) {
        let v = if sf {
            v
        } else {
            self.b.ins().band_imm_s(v, 0xFFFF_FFFF)
        };
        self.set_x(r, v);
    }

    pub(super) fn set_flags(&mut self, f: [Value; 4]) {
        for (var, v) in self.flags.into_iter().zip(f) {
            self.b.def_var(var, v);
        }
        self.flags_written = true;
    }

    pub(super) fn flag(&mut self, i: usize) -> Value {
        self.b.use_var(self.flags[i])
    }

    /// `ConditionHolds(cond)` as an I8 0/1 (Arm ARM J1 `shared/functions/system/ConditionHolds`).
    pub(super) fn condition(&mut self, cond: u8) -> Value {
        let [n, z, c, v] = [0, 1, 2, 3].map(|i| self.flag(i));
        let result = match (cond >> 1) & 7 {
            0 => z,
            1 => c,
            2 => n,
            3 => v,
            4 => {
                let nz = self.b.ins().bxor_imm_s(z, 1);
                self.b.ins().band(c, nz)
            }
            5 => self.b.ins().icmp(IntCC::Equal, n, v),
            6 => {
                let ge = self.b.ins().icmp(IntCC::Equal, n, v);
                let nz = self.b.ins().bxor_imm_s(z, 1);
                self.b.ins().band(ge, nz)
            }
            _ => return self.b.ins().iconst(I8, 1),
        };
        if cond & 1 == 1 {
            self.b.ins().bxor_imm_s(result, 1)
        } else {
            result
        }
    }
}
