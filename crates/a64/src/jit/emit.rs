//! Cranelift IR for a block: the frame (registers and flags in SSA variables, loaded on entry and written
//! back at every exit), the instruction budget and the loop back to the block's start, and the
//! data-processing instructions (Arm ARM C6.2 pseudocode: `AddWithCarry`, `ShiftReg`, `ExtendReg`,
//! `DecodeBitMasks` as the decoder left it, `ConditionHolds`), each computing what the interpreter's
//! `exec::alu`/`exec::arith` compute. Loads, stores and branches are in [`super::emit_mem`].

use std::mem::offset_of;

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I8, I32, I64};
use cranelift_codegen::ir::{Block, InstBuilder, MemFlagsData, SigRef, Value};
use cranelift_frontend::{FunctionBuilder, Variable};

use crate::decode::{Dp1, Dp2, Dp3, Insn, ShiftType};
use crate::exec::{Exec, JitIo};

/// Byte offsets in [`Exec`] that generated code uses (see `super::native`'s contract).
pub(super) const OFF_REGS: i32 = offset32(offset_of!(Exec<'_>, regs));
pub(super) const OFF_NEXT_PC: i32 = offset32(offset_of!(Exec<'_>, next_pc));
pub(super) const OFF_NZCV: i32 = offset32(offset_of!(Exec<'_>, jit) + offset_of!(JitIo, nzcv));
pub(super) const OFF_VALUE: i32 = offset32(offset_of!(Exec<'_>, jit) + offset_of!(JitIo, value));

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

    fn set_flags(&mut self, f: [Value; 4]) {
        for (var, v) in self.flags.into_iter().zip(f) {
            self.b.def_var(var, v);
        }
        self.flags_written = true;
    }

    fn flag(&mut self, i: usize) -> Value {
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

    /// The low 32 bits as an I32.
    fn w(&mut self, v: Value) -> Value {
        self.b.ins().ireduce(I32, v)
    }

    /// N and Z of `r` at the data size (`r` an I64 holding the result).
    fn nz(&mut self, sf: bool, r: Value) -> (Value, Value) {
        let r = if sf { r } else { self.w(r) };
        let n = self.b.ins().icmp_imm_s(IntCC::SignedLessThan, r, 0);
        let z = self.b.ins().icmp_imm_s(IntCC::Equal, r, 0);
        (n, z)
    }

    /// `AddWithCarry(x, y, carry)` at the data size: the result (zero-extended) and N, Z, C, V.
    fn add_with_carry(
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
    fn overflow(&mut self, x: Value, y: Value, r: Value) -> Value {
        let a = self.b.ins().bxor(x, r);
        let b = self.b.ins().bxor(y, r);
        let t = self.b.ins().band(a, b);
        self.b.ins().icmp_imm_s(IntCC::SignedLessThan, t, 0)
    }

    /// ADD/ADDS/SUB/SUBS of `x` and `y` into `rd` (31: XZR; the SP forms are not translated).
    fn add_sub(&mut self, sf: bool, sub: bool, setflags: bool, rd: u8, x: Value, y: Value) {
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
    fn shift_reg(&mut self, sf: bool, v: Value, shift: ShiftType, amount: u8) -> Value {
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
    fn logical(&mut self, sf: bool, opc: u8, rd: u8, x: Value, y: Value) {
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
    fn bitfield(&mut self, sf: bool, opc: u8, rd: u8, rn: u8, immr: u8, imms: u8) {
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
    fn data_proc1(&mut self, sf: bool, op: Dp1, x: Value) -> Value {
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
    fn data_proc3(&mut self, op: Dp3, n: Value, m: Value, a: Value) -> Value {
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

    fn accumulate(&mut self, sub: bool, a: Value, p: Value) -> Value {
        if sub {
            self.b.ins().isub(a, p)
        } else {
            self.b.ins().iadd(a, p)
        }
    }
}
