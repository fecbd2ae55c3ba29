//! A64 instruction encoders for the forms the generator draws (Arm ARM DDI 0487 C4, "A64 Instruction Set
//! Encoding"). Each function takes already-validated fields and packs them; the section it follows is named in
//! its doc. Fields wider than their slot are masked, so a caller's bug gives a wrong instruction, not a panic.

/// Condition codes (DDI 0487 C1.2.4): EQ NE CS CC MI PL VS VC HI LS GE LT GT LE AL NV.
pub const CONDITIONS: u32 = 16;

fn reg(r: u32) -> u32 {
    r & 31
}

/// C4.1.86 Add/subtract (immediate): ADD, ADDS, SUB, SUBS.
pub fn add_sub_imm(sf: u32, op: u32, s: u32, sh: u32, imm12: u32, rn: u32, rd: u32) -> u32 {
    (sf << 31)
        | (op << 30)
        | (s << 29)
        | (0b100010 << 23)
        | ((sh & 1) << 22)
        | ((imm12 & 0xfff) << 10)
        | (reg(rn) << 5)
        | reg(rd)
}

/// C4.1.86 Logical (immediate): AND, ORR, EOR, ANDS (`opc` 0..=3).
pub fn logical_imm(sf: u32, opc: u32, n: u32, immr: u32, imms: u32, rn: u32, rd: u32) -> u32 {
    (sf << 31)
        | ((opc & 3) << 29)
        | (0b100100 << 23)
        | ((n & 1) << 22)
        | ((immr & 63) << 16)
        | ((imms & 63) << 10)
        | (reg(rn) << 5)
        | reg(rd)
}

/// C4.1.86 Move wide (immediate): MOVN (`opc` 0), MOVZ (2), MOVK (3).
pub fn move_wide(sf: u32, opc: u32, hw: u32, imm16: u32, rd: u32) -> u32 {
    (sf << 31)
        | ((opc & 3) << 29)
        | (0b100101 << 23)
        | ((hw & 3) << 21)
        | ((imm16 & 0xffff) << 5)
        | reg(rd)
}

/// C4.1.86 PC-rel. addressing: ADR (`op` 0), ADRP (1); `imm21` is the signed offset in bytes or pages.
pub fn pc_rel(op: u32, imm21: u32, rd: u32) -> u32 {
    (op << 31) | ((imm21 & 3) << 29) | (0b10000 << 24) | (((imm21 >> 2) & 0x7ffff) << 5) | reg(rd)
}

/// C4.1.86 Bitfield: SBFM (`opc` 0), BFM (1), UBFM (2); N = sf.
pub fn bitfield(sf: u32, opc: u32, immr: u32, imms: u32, rn: u32, rd: u32) -> u32 {
    (sf << 31)
        | ((opc & 3) << 29)
        | (0b100110 << 23)
        | (sf << 22)
        | ((immr & 63) << 16)
        | ((imms & 63) << 10)
        | (reg(rn) << 5)
        | reg(rd)
}

/// C4.1.86 Extract: EXTR; N = sf.
pub fn extr(sf: u32, rm: u32, imms: u32, rn: u32, rd: u32) -> u32 {
    (sf << 31)
        | (0b100111 << 23)
        | (sf << 22)
        | (reg(rm) << 16)
        | ((imms & 63) << 10)
        | (reg(rn) << 5)
        | reg(rd)
}

/// C4.1.88 Logical (shifted register): `opc:N` = AND, BIC, ORR, ORN, EOR, EON, ANDS, BICS (0..=7).
pub fn logical_reg(sf: u32, opc_n: u32, shift: u32, rm: u32, imm6: u32, rn: u32, rd: u32) -> u32 {
    (sf << 31)
        | (((opc_n >> 1) & 3) << 29)
        | (0b01010 << 24)
        | ((shift & 3) << 22)
        | ((opc_n & 1) << 21)
        | (reg(rm) << 16)
        | ((imm6 & 63) << 10)
        | (reg(rn) << 5)
        | reg(rd)
}

/// C4.1.88 Add/subtract (shifted register); `shift` 0..=2 (LSL, LSR, ASR).
#[expect(
    clippy::too_many_arguments,
    reason = "one parameter per encoding field, in DDI 0487 order"
)]
pub fn add_sub_shifted(
    sf: u32,
    op: u32,
    s: u32,
    shift: u32,
    rm: u32,
    imm6: u32,
    rn: u32,
    rd: u32,
) -> u32 {
    (sf << 31)
        | (op << 30)
        | (s << 29)
        | (0b01011 << 24)
        | ((shift & 3) << 22)
        | (reg(rm) << 16)
        | ((imm6 & 63) << 10)
        | (reg(rn) << 5)
        | reg(rd)
}

/// C4.1.88 Add/subtract (extended register); `option` UXTB..SXTX, `imm3` 0..=4.
#[expect(
    clippy::too_many_arguments,
    reason = "one parameter per encoding field, in DDI 0487 order"
)]
pub fn add_sub_extended(
    sf: u32,
    op: u32,
    s: u32,
    rm: u32,
    option: u32,
    imm3: u32,
    rn: u32,
    rd: u32,
) -> u32 {
    (sf << 31)
        | (op << 30)
        | (s << 29)
        | (0b01011001 << 21)
        | (reg(rm) << 16)
        | ((option & 7) << 13)
        | ((imm3 & 7) << 10)
        | (reg(rn) << 5)
        | reg(rd)
}

/// C4.1.88 Add/subtract (with carry): ADC, ADCS, SBC, SBCS.
pub fn add_sub_carry(sf: u32, op: u32, s: u32, rm: u32, rn: u32, rd: u32) -> u32 {
    (sf << 31)
        | (op << 30)
        | (s << 29)
        | (0b11010000 << 21)
        | (reg(rm) << 16)
        | (reg(rn) << 5)
        | reg(rd)
}

/// C4.1.88 Conditional compare (register): CCMN (`op` 0), CCMP (1).
pub fn cond_compare_reg(sf: u32, op: u32, rm: u32, cond: u32, rn: u32, nzcv: u32) -> u32 {
    (sf << 31)
        | (op << 30)
        | (1 << 29)
        | (0b11010010 << 21)
        | (reg(rm) << 16)
        | ((cond & 15) << 12)
        | (reg(rn) << 5)
        | (nzcv & 15)
}

/// C4.1.88 Conditional compare (immediate): CCMN (`op` 0), CCMP (1).
pub fn cond_compare_imm(sf: u32, op: u32, imm5: u32, cond: u32, rn: u32, nzcv: u32) -> u32 {
    cond_compare_reg(sf, op, imm5, cond, rn, nzcv) | (1 << 11)
}

/// C4.1.88 Conditional select: `kind` CSEL, CSINC, CSINV, CSNEG (0..=3).
pub fn cond_select(sf: u32, kind: u32, rm: u32, cond: u32, rn: u32, rd: u32) -> u32 {
    (sf << 31)
        | (((kind >> 1) & 1) << 30)
        | (0b11010100 << 21)
        | (reg(rm) << 16)
        | ((cond & 15) << 12)
        | ((kind & 1) << 10)
        | (reg(rn) << 5)
        | reg(rd)
}

/// C4.1.88 Data-processing (2 source): `opcode` UDIV 2, SDIV 3, LSLV 8, LSRV 9, ASRV 10, RORV 11.
pub fn dp_2src(sf: u32, opcode: u32, rm: u32, rn: u32, rd: u32) -> u32 {
    (sf << 31)
        | (0b11010110 << 21)
        | (reg(rm) << 16)
        | ((opcode & 63) << 10)
        | (reg(rn) << 5)
        | reg(rd)
}

/// C4.1.88 Data-processing (1 source): `opcode` RBIT 0, REV16 1, REV/REV32 2, REV (64-bit) 3, CLZ 4, CLS 5.
pub fn dp_1src(sf: u32, opcode: u32, rn: u32, rd: u32) -> u32 {
    (sf << 31) | (1 << 30) | (0b11010110 << 21) | ((opcode & 63) << 10) | (reg(rn) << 5) | reg(rd)
}

/// C4.1.88 Data-processing (3 source): `op31:o0` MADD/MSUB (0, 1), SMADDL/SMSUBL (2, 3), SMULH (4),
/// UMADDL/UMSUBL (10, 11), UMULH (12).
pub fn dp_3src(sf: u32, op31_o0: u32, rm: u32, ra: u32, rn: u32, rd: u32) -> u32 {
    (sf << 31)
        | (0b11011 << 24)
        | (((op31_o0 >> 1) & 7) << 21)
        | (reg(rm) << 16)
        | ((op31_o0 & 1) << 15)
        | (reg(ra) << 10)
        | (reg(rn) << 5)
        | reg(rd)
}

/// C5.2.10 NZCV through MRS (`read`) or MSR (register): op0=3 op1=3 CRn=4 CRm=2 op2=0.
pub fn nzcv_access(read: bool, rt: u32) -> u32 {
    0xd51b_4200 | (u32::from(read) << 21) | reg(rt)
}

/// C4.1.85 Barriers: `op2` CLREX 0b010, DSB 0b100, DMB 0b101, ISB 0b110; `crm` the option.
pub fn barrier(crm: u32, op2: u32) -> u32 {
    0xd503_301f | ((crm & 15) << 8) | ((op2 & 7) << 5)
}

/// C6.2 NOP (hint #0).
pub const NOP: u32 = 0xd503_201f;

/// C4.1.84 Unconditional branch (immediate): B (`link` false), BL; `words` is the signed offset in words.
pub fn branch(link: bool, words: i32) -> u32 {
    (u32::from(link) << 31) | (0b00101 << 26) | (words.cast_unsigned() & 0x03ff_ffff)
}

/// C4.1.84 Conditional branch (immediate): B.cond.
pub fn branch_cond(cond: u32, words: i32) -> u32 {
    0x5400_0000 | ((words.cast_unsigned() & 0x7ffff) << 5) | (cond & 15)
}

/// C4.1.84 Compare and branch (immediate): CBZ (`nonzero` false), CBNZ.
pub fn compare_branch(sf: u32, nonzero: bool, words: i32, rt: u32) -> u32 {
    (sf << 31)
        | (0b011010 << 25)
        | (u32::from(nonzero) << 24)
        | ((words.cast_unsigned() & 0x7ffff) << 5)
        | reg(rt)
}

/// C4.1.84 Test and branch (immediate): TBZ (`nonzero` false), TBNZ; `bit` 0..=63.
pub fn test_branch(bit: u32, nonzero: bool, words: i32, rt: u32) -> u32 {
    (((bit >> 5) & 1) << 31)
        | (0b011011 << 25)
        | (u32::from(nonzero) << 24)
        | ((bit & 31) << 19)
        | ((words.cast_unsigned() & 0x3fff) << 5)
        | reg(rt)
}

/// C4.1.94 Load/store register (unsigned immediate).
pub fn ldst_uimm(size: u32, opc: u32, imm12: u32, rn: u32, rt: u32) -> u32 {
    (size << 30)
        | (0b111001 << 24)
        | ((opc & 3) << 22)
        | ((imm12 & 0xfff) << 10)
        | (reg(rn) << 5)
        | reg(rt)
}

/// C4.1.94 Load/store register with a 9-bit signed offset: `op2` 0 unscaled (LDUR…), 1 post-index,
/// 2 unprivileged (LDTR…), 3 pre-index.
pub fn ldst_imm9(size: u32, opc: u32, imm9: i32, op2: u32, rn: u32, rt: u32) -> u32 {
    (size << 30)
        | (0b111000 << 24)
        | ((opc & 3) << 22)
        | ((imm9.cast_unsigned() & 0x1ff) << 12)
        | ((op2 & 3) << 10)
        | (reg(rn) << 5)
        | reg(rt)
}

/// C4.1.94 Load/store register (register offset): `option` UXTW 2, LSL 3, SXTW 6, SXTX 7; `s` scales by size.
pub fn ldst_reg(size: u32, opc: u32, rm: u32, option: u32, s: u32, rn: u32, rt: u32) -> u32 {
    (size << 30)
        | (0b111000 << 24)
        | ((opc & 3) << 22)
        | (1 << 21)
        | (reg(rm) << 16)
        | ((option & 7) << 13)
        | ((s & 1) << 12)
        | (0b10 << 10)
        | (reg(rn) << 5)
        | reg(rt)
}

/// C4.1.94 Load register (literal): `opc` LDR W 0, LDR X 1, LDRSW 2, PRFM 3; `words` signed offset in words.
pub fn ld_literal(opc: u32, words: i32, rt: u32) -> u32 {
    ((opc & 3) << 30) | (0b011000 << 24) | ((words.cast_unsigned() & 0x7ffff) << 5) | reg(rt)
}

/// C4.1.94 Load/store register pair: `mode` 0 no-allocate (LDNP/STNP), 1 post-index, 2 signed offset,
/// 3 pre-index; `opc` 0 W, 1 LDPSW, 2 X; `imm7` scaled by the register size.
pub fn ldst_pair(opc: u32, mode: u32, load: bool, imm7: i32, rt2: u32, rn: u32, rt: u32) -> u32 {
    ((opc & 3) << 30)
        | (0b101 << 27)
        | ((mode & 7) << 23)
        | (u32::from(load) << 22)
        | ((imm7.cast_unsigned() & 0x7f) << 15)
        | (reg(rt2) << 10)
        | (reg(rn) << 5)
        | reg(rt)
}

/// C4.1.94 Load/store exclusive and ordered: fields `o2 L o1 o0` packed as `kind` bits 3..0
/// (STXR 0b0000, STLXR 0b0001, STXP 0b0010, STLXP 0b0011, LDXR 0b0100, LDAXR 0b0101, LDXP 0b0110,
/// LDAXP 0b0111, STLR 0b1001, LDAR 0b1101); unused register fields are 31.
pub fn ldst_exclusive(size: u32, kind: u32, rs: u32, rt2: u32, rn: u32, rt: u32) -> u32 {
    (size << 30)
        | (0b001000 << 24)
        | (((kind >> 3) & 1) << 23)
        | (((kind >> 2) & 1) << 22)
        | (((kind >> 1) & 1) << 21)
        | (reg(rs) << 16)
        | ((kind & 1) << 15)
        | (reg(rt2) << 10)
        | (reg(rn) << 5)
        | reg(rt)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected words from GNU as 2.40 (`aarch64-linux-gnu-as`, checked with objdump), one per encoder call.
    #[test]
    fn encoders_match_gnu_as() {
        let cases: &[(&str, u32, u32)] = &[
            (
                "add x1, x2, #0x123",
                add_sub_imm(1, 0, 0, 0, 0x123, 2, 1),
                0x9104_8c41,
            ),
            (
                "subs w3, w4, #1, lsl #12",
                add_sub_imm(0, 1, 1, 1, 1, 4, 3),
                0x7140_0483,
            ),
            (
                "and x5, x6, #0xff00ff00ff00ff00",
                logical_imm(1, 0, 0, 8, 0x27, 6, 5),
                0x9208_9cc5,
            ),
            (
                "orr w7, w8, #3",
                logical_imm(0, 1, 0, 0, 1, 8, 7),
                0x3200_0507,
            ),
            (
                "movz x9, #0x1234, lsl #32",
                move_wide(1, 2, 2, 0x1234, 9),
                0xd2c2_4689,
            ),
            (
                "movk w10, #0xffff, lsl #16",
                move_wide(0, 3, 1, 0xffff, 10),
                0x72bf_ffea,
            ),
            ("adr x11, .+0x100", pc_rel(0, 0x100, 11), 0x1000_080b),
            (
                "sbfm x13, x14, #3, #7",
                bitfield(1, 0, 3, 7, 14, 13),
                0x9343_1dcd,
            ),
            (
                "bfm w15, w16, #31, #2",
                bitfield(0, 1, 31, 2, 16, 15),
                0x331f_0a0f,
            ),
            (
                "extr x17, x18, x19, #63",
                extr(1, 19, 63, 18, 17),
                0x93d3_fe51,
            ),
            (
                "bics x20, x21, x22, ror #7",
                logical_reg(1, 7, 3, 22, 7, 21, 20),
                0xeaf6_1eb4,
            ),
            (
                "sub w23, w24, w25, asr #31",
                add_sub_shifted(0, 1, 0, 2, 25, 31, 24, 23),
                0x4b99_7f17,
            ),
            (
                "adds x26, sp, w27, sxtw #2",
                add_sub_extended(1, 0, 1, 27, 6, 2, 31, 26),
                0xab3b_cbfa,
            ),
            (
                "sbcs w28, w29, w30",
                add_sub_carry(0, 1, 1, 30, 29, 28),
                0x7a1e_03bc,
            ),
            (
                "ccmp x1, x2, #0xa, ne",
                cond_compare_reg(1, 1, 2, 1, 1, 0xa),
                0xfa42_102a,
            ),
            (
                "ccmn w3, #17, #5, hs",
                cond_compare_imm(0, 0, 17, 2, 3, 5),
                0x3a51_2865,
            ),
            (
                "csneg x4, x5, x6, lt",
                cond_select(1, 3, 6, 11, 5, 4),
                0xda86_b4a4,
            ),
            ("sdiv w7, w8, w9", dp_2src(0, 3, 9, 8, 7), 0x1ac9_0d07),
            (
                "rorv x10, x11, x12",
                dp_2src(1, 11, 12, 11, 10),
                0x9acc_2d6a,
            ),
            ("rev32 x13, x14", dp_1src(1, 2, 14, 13), 0xdac0_09cd),
            ("cls w15, w16", dp_1src(0, 5, 16, 15), 0x5ac0_160f),
            (
                "smsubl x17, w18, w19, x20",
                dp_3src(1, 3, 19, 20, 18, 17),
                0x9b33_d251,
            ),
            (
                "umulh x21, x22, x23",
                dp_3src(1, 12, 23, 31, 22, 21),
                0x9bd7_7ed5,
            ),
            ("mrs x24, nzcv", nzcv_access(true, 24), 0xd53b_4218),
            ("msr nzcv, x25", nzcv_access(false, 25), 0xd51b_4219),
            ("b .+0x10", branch(false, 4), 0x1400_0004),
            ("bl .+8", branch(true, 2), 0x9400_0002),
            ("b.ne .+12", branch_cond(1, 3), 0x5400_0061),
            ("cbnz w1, .+16", compare_branch(0, true, 4, 1), 0x3500_0081),
            (
                "tbnz x2, #40, .+20",
                test_branch(40, true, 5, 2),
                0xb740_00a2,
            ),
            ("ldrsb w3, [x4, #7]", ldst_uimm(0, 3, 7, 4, 3), 0x39c0_1c83),
            (
                "str x5, [sp, #0x18]",
                ldst_uimm(3, 0, 3, 31, 5),
                0xf900_0fe5,
            ),
            (
                "ldursh x6, [x7, #-3]",
                ldst_imm9(1, 2, -3, 0, 7, 6),
                0x789f_d0e6,
            ),
            (
                "strh w8, [x9, #-16]!",
                ldst_imm9(1, 0, -16, 3, 9, 8),
                0x781f_0d28,
            ),
            (
                "ldr x10, [x11], #255",
                ldst_imm9(3, 1, 255, 1, 11, 10),
                0xf84f_f56a,
            ),
            (
                "ldtrsw x12, [x13, #8]",
                ldst_imm9(2, 2, 8, 2, 13, 12),
                0xb880_89ac,
            ),
            (
                "ldr w14, [x15, w16, sxtw #2]",
                ldst_reg(2, 1, 16, 6, 1, 15, 14),
                0xb870_d9ee,
            ),
            (
                "strb w17, [x18, w19, uxtw]",
                ldst_reg(0, 0, 19, 2, 0, 18, 17),
                0x3833_4a51,
            ),
            ("ldrsw x20, .+0x20", ld_literal(2, 8, 20), 0x9800_0114),
            ("prfm pldl1keep, .-4", ld_literal(3, -1, 0), 0xd8ff_ffe0),
            (
                "stp w21, w22, [x23, #-8]!",
                ldst_pair(0, 3, false, -2, 22, 23, 21),
                0x29bf_5af5,
            ),
            (
                "ldpsw x24, x25, [x26], #16",
                ldst_pair(1, 1, true, 4, 25, 26, 24),
                0x68c2_6758,
            ),
            (
                "ldnp x27, x28, [x29, #32]",
                ldst_pair(2, 0, true, 4, 28, 29, 27),
                0xa842_73bb,
            ),
            (
                "stlxr w1, x2, [x3]",
                ldst_exclusive(3, 0b0001, 1, 31, 3, 2),
                0xc801_fc62,
            ),
            (
                "ldaxp w4, w5, [x6]",
                ldst_exclusive(2, 0b0111, 31, 5, 6, 4),
                0x887f_94c4,
            ),
            (
                "stxp w7, x8, x9, [x10]",
                ldst_exclusive(3, 0b0010, 7, 9, 10, 8),
                0xc827_2548,
            ),
            (
                "ldarb w11, [x12]",
                ldst_exclusive(0, 0b1101, 31, 31, 12, 11),
                0x08df_fd8b,
            ),
            (
                "stlrh w13, [x14]",
                ldst_exclusive(1, 0b1001, 31, 31, 14, 13),
                0x489f_fdcd,
            ),
            (
                "ldxr x15, [sp]",
                ldst_exclusive(3, 0b0100, 31, 31, 31, 15),
                0xc85f_7fef,
            ),
        ];
        for &(asm, got, want) in cases {
            assert_eq!(
                got, want,
                "{asm}: encoded {got:#010x}, GNU as gives {want:#010x}"
            );
        }
    }
}
