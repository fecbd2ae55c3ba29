//! A64 decoding: one 32-bit word to one [`Insn`], once per word (the executor works on `Insn`s cached per
//! page).
//!
//! Encoding groups and field names follow Arm ARM DDI 0487 C4.1 ("A64 instruction set encoding") and the
//! per-instruction encodings of chapter C6. Only the A64 base instruction set and the system instructions a
//! realm kernel uses are decoded; everything else — SIMD&FP (reported absent), SVE, SME, LSE atomics, PAuth
//! instructions outside the hint space, MTE — decodes to [`Insn::Undefined`] and takes an Undefined
//! Instruction exception, as on a CPU without those features. Decoding never panics.

mod branch;
mod dp;
mod ldst;
#[cfg(test)]
mod tests;

/// Shift type of a shifted-register operand (`shift` field).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ShiftType {
    /// LSL.
    Lsl,
    /// LSR.
    Lsr,
    /// ASR.
    Asr,
    /// ROR.
    Ror,
}

/// A data-processing (2 source) operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dp2 {
    Udiv,
    Sdiv,
    Lslv,
    Lsrv,
    Asrv,
    Rorv,
}

/// A data-processing (1 source) operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dp1 {
    Rbit,
    Rev16,
    /// REV32 (64-bit) — REV of each word.
    Rev32,
    /// REV: the whole register (W or X).
    Rev,
    Clz,
    Cls,
}

/// A data-processing (3 source) operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dp3 {
    Madd,
    Msub,
    Smaddl,
    Smsubl,
    Umaddl,
    Umsubl,
    Smulh,
    Umulh,
}

/// What a load/store does with its register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MemOp {
    /// Store Rt.
    Store,
    /// Load, zero-extending.
    Load,
    /// Load, sign-extending to 32 bits (W destination).
    LoadSigned32,
    /// Load, sign-extending to 64 bits (X destination).
    LoadSigned64,
    /// Prefetch: a NOP.
    Prefetch,
}

/// Writeback of an immediate-offset access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Index {
    /// Address = Rn + offset, no writeback.
    Offset,
    /// Address = Rn + offset, Rn updated (pre-index).
    Pre,
    /// Address = Rn, Rn updated to Rn + offset (post-index).
    Post,
}

/// Which register-branch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BranchReg {
    Br,
    Blr,
    Ret,
}

/// A PSTATE field written by MSR (immediate).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PstateField {
    DaifSet,
    DaifClr,
    SpSel,
}

/// Hints that do something in this model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hint {
    /// NOP, YIELD, the PAC/BTI hint space and every other unallocated hint.
    Nop,
    Wfe,
    Wfi,
    Sev,
    Sevl,
}

/// A decoded A64 instruction. Register numbers are 0..=31; whether 31 is SP or XZR is fixed by the variant.
/// `sf`: 64-bit operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Insn {
    /// An unallocated or unimplemented encoding.
    Undefined,
    /// ADD/ADDS/SUB/SUBS (immediate); `imm` already shifted. Rd is SP unless `setflags`; Rn is SP.
    AddSubImm {
        sf: bool,
        sub: bool,
        setflags: bool,
        rd: u8,
        rn: u8,
        imm: u32,
    },
    /// AND/ORR/EOR/ANDS (immediate): `opc` 0..=3; Rd is SP unless ANDS.
    LogicalImm {
        sf: bool,
        opc: u8,
        rd: u8,
        rn: u8,
        imm: u64,
    },
    /// MOVN (`opc` 0), MOVZ (2), MOVK (3); `shift` = hw * 16.
    MovWide {
        sf: bool,
        opc: u8,
        rd: u8,
        imm: u16,
        shift: u8,
    },
    /// ADR / ADRP (`page`): Rd = PC (or its page) + `imm` (ADRP: imm * 4096).
    Adr { page: bool, rd: u8, imm: i32 },
    /// SBFM (`opc` 0), BFM (1), UBFM (2).
    Bitfield {
        sf: bool,
        opc: u8,
        rd: u8,
        rn: u8,
        immr: u8,
        imms: u8,
    },
    /// EXTR.
    Extr {
        sf: bool,
        rd: u8,
        rn: u8,
        rm: u8,
        lsb: u8,
    },
    /// AND/BIC/ORR/ORN/EOR/EON/ANDS/BICS (shifted register).
    LogicalReg {
        sf: bool,
        opc: u8,
        invert: bool,
        rd: u8,
        rn: u8,
        rm: u8,
        shift: ShiftType,
        amount: u8,
    },
    /// ADD/ADDS/SUB/SUBS (shifted register).
    AddSubShifted {
        sf: bool,
        sub: bool,
        setflags: bool,
        rd: u8,
        rn: u8,
        rm: u8,
        shift: ShiftType,
        amount: u8,
    },
    /// ADD/ADDS/SUB/SUBS (extended register); Rd is SP unless `setflags`; Rn is SP.
    AddSubExt {
        sf: bool,
        sub: bool,
        setflags: bool,
        rd: u8,
        rn: u8,
        rm: u8,
        option: u8,
        amount: u8,
    },
    /// ADC/ADCS/SBC/SBCS.
    AddSubCarry {
        sf: bool,
        sub: bool,
        setflags: bool,
        rd: u8,
        rn: u8,
        rm: u8,
    },
    /// CCMN/CCMP (register or immediate `imm` ⇒ `rm` is the 5-bit immediate).
    CondCompare {
        sf: bool,
        sub: bool,
        imm: bool,
        rn: u8,
        rm: u8,
        cond: u8,
        nzcv: u8,
    },
    /// CSEL (`op` 0), CSINC (1), CSINV (2), CSNEG (3).
    CondSelect {
        sf: bool,
        op: u8,
        rd: u8,
        rn: u8,
        rm: u8,
        cond: u8,
    },
    /// Data processing, 2 source.
    DataProc2 {
        sf: bool,
        op: Dp2,
        rd: u8,
        rn: u8,
        rm: u8,
    },
    /// Data processing, 1 source.
    DataProc1 { sf: bool, op: Dp1, rd: u8, rn: u8 },
    /// Data processing, 3 source.
    DataProc3 {
        sf: bool,
        op: Dp3,
        rd: u8,
        rn: u8,
        rm: u8,
        ra: u8,
    },
    /// B / BL.
    Branch { link: bool, offset: i32 },
    /// B.cond.
    BranchCond { cond: u8, offset: i32 },
    /// CBZ / CBNZ.
    CompareBranch {
        sf: bool,
        nonzero: bool,
        rt: u8,
        offset: i32,
    },
    /// TBZ / TBNZ.
    TestBranch {
        nonzero: bool,
        rt: u8,
        bit: u8,
        offset: i32,
    },
    /// BR / BLR / RET.
    BranchReg { kind: BranchReg, rn: u8 },
    /// ERET.
    Eret,
    /// SVC #imm.
    Svc { imm: u16 },
    /// HVC #imm.
    Hvc { imm: u16 },
    /// SMC #imm.
    Smc { imm: u16 },
    /// BRK #imm.
    Brk { imm: u16 },
    /// A hint.
    Hint(Hint),
    /// CLREX.
    Clrex,
    /// DSB / DMB (ordering is trivially met by an in-order interpreter; a kick point).
    Barrier,
    /// ISB.
    Isb,
    /// MSR (immediate) to a PSTATE field.
    MsrImm { field: PstateField, imm: u8 },
    /// MRS Xt, <sysreg>: `reg` is op0:op1:CRn:CRm:op2 (16 bits).
    Mrs { reg: u16, rt: u8 },
    /// MSR <sysreg>, Xt.
    Msr { reg: u16, rt: u8 },
    /// SYS (DC, IC, TLBI, AT): `reg` as for MRS with op0 = 1.
    Sys { reg: u16, rt: u8 },
    /// Load/store single register, immediate offset (unsigned offset, unscaled, pre/post-index,
    /// unprivileged); `size` is log2 bytes.
    LdStImm {
        size: u8,
        op: MemOp,
        rt: u8,
        rn: u8,
        offset: i32,
        index: Index,
        unprivileged: bool,
    },
    /// Load/store single register, register offset: address = Rn + extend(Rm, option) << shift.
    LdStReg {
        size: u8,
        op: MemOp,
        rt: u8,
        rn: u8,
        rm: u8,
        option: u8,
        shift: u8,
    },
    /// LDR (literal) / LDRSW (literal) / PRFM (literal).
    LdLiteral {
        size: u8,
        op: MemOp,
        rt: u8,
        offset: i32,
    },
    /// LDP/STP/LDNP/STNP/LDPSW: `size` log2 bytes of each element; offset already scaled.
    LdStPair {
        size: u8,
        op: MemOp,
        rt: u8,
        rt2: u8,
        rn: u8,
        offset: i32,
        index: Index,
    },
    /// LDXR/LDAXR/STXR/STLXR and their pair forms: `rs` is the status register of a store.
    Exclusive {
        size: u8,
        load: bool,
        pair: bool,
        ordered: bool,
        rs: u8,
        rt: u8,
        rt2: u8,
        rn: u8,
    },
    /// LDAR/LDAPR (load) and STLR (store).
    AcquireRelease {
        size: u8,
        load: bool,
        rt: u8,
        rn: u8,
    },
}

/// Sign-extend the low `bits` bits of `value`.
pub(crate) const fn sign_extend(value: u32, bits: u32) -> i32 {
    let shift = 32 - bits;
    #[expect(
        clippy::cast_possible_wrap,
        reason = "reinterpreting the bits is the point"
    )]
    let v = (value << shift) as i32;
    v >> shift
}

/// Bits `[hi:lo]` of `word`.
pub(crate) const fn bits(word: u32, hi: u32, lo: u32) -> u32 {
    (word >> lo) & ((1 << (hi - lo + 1)) - 1)
}

/// Bits `[hi:lo]` of `word` (at most 8 bits wide) as a `u8`.
pub(crate) const fn f8(word: u32, hi: u32, lo: u32) -> u8 {
    #[expect(
        clippy::cast_possible_truncation,
        reason = "callers take at most 8 bits"
    )]
    let v = bits(word, hi, lo) as u8;
    v
}

/// Bits `[hi:lo]` of `word` (at most 16 bits wide) as a `u16`.
pub(crate) const fn f16(word: u32, hi: u32, lo: u32) -> u16 {
    #[expect(
        clippy::cast_possible_truncation,
        reason = "callers take at most 16 bits"
    )]
    let v = bits(word, hi, lo) as u16;
    v
}

/// A 5-bit register field at `lo`.
pub(crate) const fn reg(word: u32, lo: u32) -> u8 {
    f8(word, lo + 4, lo)
}

/// Decode one A64 instruction (Arm ARM C4.1, main encoding table on `op0` = bits \[28:25\]).
pub(crate) fn decode(word: u32) -> Insn {
    match bits(word, 28, 25) {
        0b1000 | 0b1001 => dp::decode_dp_imm(word),
        0b1010 | 0b1011 => branch::decode_branch_system(word),
        0b0100 | 0b0110 | 0b1100 | 0b1110 => ldst::decode_ldst(word),
        0b0101 | 0b1101 => dp::decode_dp_reg(word),
        // 0000 reserved (UDF), 0001/0011 unallocated, 0010 SVE, 0111/1111 SIMD&FP: all UNDEFINED here.
        _ => Insn::Undefined,
    }
}

// A decoded page is 1024 of these: keep them two words.
const _: () = assert!(size_of::<Insn>() == 16);
