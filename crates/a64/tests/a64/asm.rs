//! A64 encoders for test programs, one function per instruction form, written from the encoding tables of
//! Arm ARM DDI 0487 C6.2 (field positions in each function). `tests::known_encodings` pins them against
//! words a reference assembler produces.

#![expect(dead_code, reason = "a library of encoders; each test file uses some")]
#![expect(
    clippy::cast_sign_loss,
    clippy::cast_possible_truncation,
    reason = "encoders take signed offsets and keep their low bits, as the encodings do"
)]

/// Condition codes.
pub const EQ: u32 = 0;
pub const NE: u32 = 1;
pub const CS: u32 = 2;
pub const CC: u32 = 3;
pub const MI: u32 = 4;
pub const GE: u32 = 10;
pub const LT: u32 = 11;
pub const GT: u32 = 12;
pub const LE: u32 = 13;
pub const AL: u32 = 14;

pub const NOP: u32 = 0xD503_201F;
pub const ERET: u32 = 0xD69F_03E0;
pub const ISB: u32 = 0xD503_3FDF;
pub const DSB_SY: u32 = 0xD503_3F9F;
pub const WFI: u32 = 0xD503_207F;
pub const WFE: u32 = 0xD503_205F;
pub const SEVL: u32 = 0xD503_20BF;
pub const CLREX: u32 = 0xD503_3F5F;
pub const RET: u32 = 0xD65F_03C0;
pub const SMC0: u32 = 0xD400_0003;

const fn r(reg: u32) -> u32 {
    reg & 0x1F
}

/// Encode a PC-relative offset of `bits` bits in units of 4 bytes.
const fn off(offset: i64, bits: u32) -> u32 {
    ((offset >> 2) as u32) & ((1 << bits) - 1)
}

pub const fn movz(rd: u32, imm: u32, shift: u32) -> u32 {
    0xD280_0000 | ((shift / 16) << 21) | ((imm & 0xFFFF) << 5) | r(rd)
}
pub const fn movk(rd: u32, imm: u32, shift: u32) -> u32 {
    0xF280_0000 | ((shift / 16) << 21) | ((imm & 0xFFFF) << 5) | r(rd)
}
pub const fn movn(rd: u32, imm: u32, shift: u32) -> u32 {
    0x9280_0000 | ((shift / 16) << 21) | ((imm & 0xFFFF) << 5) | r(rd)
}
pub const fn movz_w(rd: u32, imm: u32) -> u32 {
    0x5280_0000 | ((imm & 0xFFFF) << 5) | r(rd)
}
/// MOVZ + 3 MOVK: Xd = `value`.
pub fn mov64(rd: u32, value: u64) -> Vec<u32> {
    let part = |i: u32| ((value >> (16 * i)) & 0xFFFF) as u32;
    vec![
        movz(rd, part(0), 0),
        movk(rd, part(1), 16),
        movk(rd, part(2), 32),
        movk(rd, part(3), 48),
    ]
}

pub const fn add_imm(rd: u32, rn: u32, imm12: u32) -> u32 {
    0x9100_0000 | (imm12 << 10) | (r(rn) << 5) | r(rd)
}
pub const fn add_imm_lsl12(rd: u32, rn: u32, imm12: u32) -> u32 {
    0x9140_0000 | (imm12 << 10) | (r(rn) << 5) | r(rd)
}
pub const fn sub_imm(rd: u32, rn: u32, imm12: u32) -> u32 {
    0xD100_0000 | (imm12 << 10) | (r(rn) << 5) | r(rd)
}
pub const fn adds_imm(rd: u32, rn: u32, imm12: u32) -> u32 {
    0xB100_0000 | (imm12 << 10) | (r(rn) << 5) | r(rd)
}
pub const fn subs_imm(rd: u32, rn: u32, imm12: u32) -> u32 {
    0xF100_0000 | (imm12 << 10) | (r(rn) << 5) | r(rd)
}
pub const fn subs_imm_w(rd: u32, rn: u32, imm12: u32) -> u32 {
    0x7100_0000 | (imm12 << 10) | (r(rn) << 5) | r(rd)
}
pub const fn adds_imm_w(rd: u32, rn: u32, imm12: u32) -> u32 {
    0x3100_0000 | (imm12 << 10) | (r(rn) << 5) | r(rd)
}
/// ADD (shifted register): `shift` 0 LSL, 1 LSR, 2 ASR.
pub const fn add_sreg(rd: u32, rn: u32, rm: u32, shift: u32, amount: u32) -> u32 {
    0x8B00_0000 | (shift << 22) | (r(rm) << 16) | (amount << 10) | (r(rn) << 5) | r(rd)
}
pub const fn sub_sreg(rd: u32, rn: u32, rm: u32, shift: u32, amount: u32) -> u32 {
    0xCB00_0000 | (shift << 22) | (r(rm) << 16) | (amount << 10) | (r(rn) << 5) | r(rd)
}
pub const fn subs_reg(rd: u32, rn: u32, rm: u32) -> u32 {
    0xEB00_0000 | (r(rm) << 16) | (r(rn) << 5) | r(rd)
}
pub const fn adds_reg(rd: u32, rn: u32, rm: u32) -> u32 {
    0xAB00_0000 | (r(rm) << 16) | (r(rn) << 5) | r(rd)
}
/// ADD (extended register): `option` 0 UXTB … 7 SXTX, `amount` 0..=4.
pub const fn add_ext(rd: u32, rn: u32, rm: u32, option: u32, amount: u32) -> u32 {
    0x8B20_0000 | (r(rm) << 16) | (option << 13) | (amount << 10) | (r(rn) << 5) | r(rd)
}
pub const fn sub_ext(rd: u32, rn: u32, rm: u32, option: u32, amount: u32) -> u32 {
    0xCB20_0000 | (r(rm) << 16) | (option << 13) | (amount << 10) | (r(rn) << 5) | r(rd)
}
pub const fn adc(rd: u32, rn: u32, rm: u32) -> u32 {
    0x9A00_0000 | (r(rm) << 16) | (r(rn) << 5) | r(rd)
}
pub const fn adcs(rd: u32, rn: u32, rm: u32) -> u32 {
    0xBA00_0000 | (r(rm) << 16) | (r(rn) << 5) | r(rd)
}
pub const fn sbc(rd: u32, rn: u32, rm: u32) -> u32 {
    0xDA00_0000 | (r(rm) << 16) | (r(rn) << 5) | r(rd)
}
pub const fn sbcs(rd: u32, rn: u32, rm: u32) -> u32 {
    0xFA00_0000 | (r(rm) << 16) | (r(rn) << 5) | r(rd)
}
/// Logical immediate, 64-bit: opc 0 AND, 1 ORR, 2 EOR, 3 ANDS, with N:immr:imms.
pub const fn logical_imm(opc: u32, rd: u32, rn: u32, n: u32, immr: u32, imms: u32) -> u32 {
    0x9200_0000 | (opc << 29) | (n << 22) | (immr << 16) | (imms << 10) | (r(rn) << 5) | r(rd)
}
/// Logical shifted register, 64-bit: opc 0 AND, 1 ORR, 2 EOR, 3 ANDS; `invert` gives BIC/ORN/EON/BICS.
pub const fn logical_reg(
    opc: u32,
    invert: bool,
    rd: u32,
    rn: u32,
    rm: u32,
    shift: u32,
    amount: u32,
) -> u32 {
    0x8A00_0000
        | (opc << 29)
        | (shift << 22)
        | ((invert as u32) << 21)
        | (r(rm) << 16)
        | (amount << 10)
        | (r(rn) << 5)
        | r(rd)
}
pub const fn mov_reg(rd: u32, rm: u32) -> u32 {
    logical_reg(1, false, rd, 31, rm, 0, 0)
}
pub const fn ubfm(rd: u32, rn: u32, immr: u32, imms: u32) -> u32 {
    0xD340_0000 | (immr << 16) | (imms << 10) | (r(rn) << 5) | r(rd)
}
pub const fn sbfm(rd: u32, rn: u32, immr: u32, imms: u32) -> u32 {
    0x9340_0000 | (immr << 16) | (imms << 10) | (r(rn) << 5) | r(rd)
}
pub const fn bfm(rd: u32, rn: u32, immr: u32, imms: u32) -> u32 {
    0xB340_0000 | (immr << 16) | (imms << 10) | (r(rn) << 5) | r(rd)
}
pub const fn sbfm_w(rd: u32, rn: u32, immr: u32, imms: u32) -> u32 {
    0x1300_0000 | (immr << 16) | (imms << 10) | (r(rn) << 5) | r(rd)
}
pub const fn extr(rd: u32, rn: u32, rm: u32, lsb: u32) -> u32 {
    0x93C0_0000 | (r(rm) << 16) | (lsb << 10) | (r(rn) << 5) | r(rd)
}
pub const fn ccmp_imm(rn: u32, imm5: u32, nzcv: u32, cond: u32) -> u32 {
    0xFA40_0800 | (imm5 << 16) | (cond << 12) | (r(rn) << 5) | nzcv
}
pub const fn ccmn_reg(rn: u32, rm: u32, nzcv: u32, cond: u32) -> u32 {
    0xBA40_0000 | (r(rm) << 16) | (cond << 12) | (r(rn) << 5) | nzcv
}
pub const fn csel(rd: u32, rn: u32, rm: u32, cond: u32) -> u32 {
    0x9A80_0000 | (r(rm) << 16) | (cond << 12) | (r(rn) << 5) | r(rd)
}
pub const fn csinc(rd: u32, rn: u32, rm: u32, cond: u32) -> u32 {
    0x9A80_0400 | (r(rm) << 16) | (cond << 12) | (r(rn) << 5) | r(rd)
}
pub const fn csinv(rd: u32, rn: u32, rm: u32, cond: u32) -> u32 {
    0xDA80_0000 | (r(rm) << 16) | (cond << 12) | (r(rn) << 5) | r(rd)
}
pub const fn csneg(rd: u32, rn: u32, rm: u32, cond: u32) -> u32 {
    0xDA80_0400 | (r(rm) << 16) | (cond << 12) | (r(rn) << 5) | r(rd)
}
pub const fn madd(rd: u32, rn: u32, rm: u32, ra: u32) -> u32 {
    0x9B00_0000 | (r(rm) << 16) | (r(ra) << 10) | (r(rn) << 5) | r(rd)
}
pub const fn msub(rd: u32, rn: u32, rm: u32, ra: u32) -> u32 {
    0x9B00_8000 | (r(rm) << 16) | (r(ra) << 10) | (r(rn) << 5) | r(rd)
}
pub const fn smaddl(rd: u32, rn: u32, rm: u32, ra: u32) -> u32 {
    0x9B20_0000 | (r(rm) << 16) | (r(ra) << 10) | (r(rn) << 5) | r(rd)
}
pub const fn umaddl(rd: u32, rn: u32, rm: u32, ra: u32) -> u32 {
    0x9BA0_0000 | (r(rm) << 16) | (r(ra) << 10) | (r(rn) << 5) | r(rd)
}
pub const fn smulh(rd: u32, rn: u32, rm: u32) -> u32 {
    0x9B40_7C00 | (r(rm) << 16) | (r(rn) << 5) | r(rd)
}
pub const fn umulh(rd: u32, rn: u32, rm: u32) -> u32 {
    0x9BC0_7C00 | (r(rm) << 16) | (r(rn) << 5) | r(rd)
}
pub const fn udiv(rd: u32, rn: u32, rm: u32) -> u32 {
    0x9AC0_0800 | (r(rm) << 16) | (r(rn) << 5) | r(rd)
}
pub const fn sdiv(rd: u32, rn: u32, rm: u32) -> u32 {
    0x9AC0_0C00 | (r(rm) << 16) | (r(rn) << 5) | r(rd)
}
pub const fn sdiv_w(rd: u32, rn: u32, rm: u32) -> u32 {
    0x1AC0_0C00 | (r(rm) << 16) | (r(rn) << 5) | r(rd)
}
pub const fn lslv(rd: u32, rn: u32, rm: u32) -> u32 {
    0x9AC0_2000 | (r(rm) << 16) | (r(rn) << 5) | r(rd)
}
pub const fn asrv(rd: u32, rn: u32, rm: u32) -> u32 {
    0x9AC0_2800 | (r(rm) << 16) | (r(rn) << 5) | r(rd)
}
pub const fn rorv_w(rd: u32, rn: u32, rm: u32) -> u32 {
    0x1AC0_2C00 | (r(rm) << 16) | (r(rn) << 5) | r(rd)
}
pub const fn rbit(rd: u32, rn: u32) -> u32 {
    0xDAC0_0000 | (r(rn) << 5) | r(rd)
}
pub const fn rev16(rd: u32, rn: u32) -> u32 {
    0xDAC0_0400 | (r(rn) << 5) | r(rd)
}
pub const fn rev32(rd: u32, rn: u32) -> u32 {
    0xDAC0_0800 | (r(rn) << 5) | r(rd)
}
pub const fn rev(rd: u32, rn: u32) -> u32 {
    0xDAC0_0C00 | (r(rn) << 5) | r(rd)
}
pub const fn rev_w(rd: u32, rn: u32) -> u32 {
    0x5AC0_0800 | (r(rn) << 5) | r(rd)
}
pub const fn clz(rd: u32, rn: u32) -> u32 {
    0xDAC0_1000 | (r(rn) << 5) | r(rd)
}
pub const fn cls(rd: u32, rn: u32) -> u32 {
    0xDAC0_1400 | (r(rn) << 5) | r(rd)
}
pub const fn clz_w(rd: u32, rn: u32) -> u32 {
    0x5AC0_1000 | (r(rn) << 5) | r(rd)
}
pub const fn adr(rd: u32, offset: i64) -> u32 {
    let imm = (offset as u32) & 0x1F_FFFF;
    0x1000_0000 | ((imm & 3) << 29) | ((imm >> 2) << 5) | r(rd)
}
pub const fn adrp(rd: u32, pages: i64) -> u32 {
    let imm = (pages as u32) & 0x1F_FFFF;
    0x9000_0000 | ((imm & 3) << 29) | ((imm >> 2) << 5) | r(rd)
}
pub const fn b(offset: i64) -> u32 {
    0x1400_0000 | off(offset, 26)
}
pub const fn bl(offset: i64) -> u32 {
    0x9400_0000 | off(offset, 26)
}
pub const fn bcond(cond: u32, offset: i64) -> u32 {
    0x5400_0000 | (off(offset, 19) << 5) | cond
}
pub const fn cbz(rt: u32, offset: i64) -> u32 {
    0xB400_0000 | (off(offset, 19) << 5) | r(rt)
}
pub const fn cbnz(rt: u32, offset: i64) -> u32 {
    0xB500_0000 | (off(offset, 19) << 5) | r(rt)
}
pub const fn tbz(rt: u32, bit: u32, offset: i64) -> u32 {
    0x3600_0000 | ((bit >> 5) << 31) | ((bit & 31) << 19) | (off(offset, 14) << 5) | r(rt)
}
pub const fn tbnz(rt: u32, bit: u32, offset: i64) -> u32 {
    0x3700_0000 | ((bit >> 5) << 31) | ((bit & 31) << 19) | (off(offset, 14) << 5) | r(rt)
}
pub const fn br(rn: u32) -> u32 {
    0xD61F_0000 | (r(rn) << 5)
}
pub const fn blr(rn: u32) -> u32 {
    0xD63F_0000 | (r(rn) << 5)
}
/// LDR/STR (unsigned offset) of 1 << `size` bytes; `opc` 0 store, 1 load, 2 load signed to X, 3 to W.
pub const fn ldst_uimm(size: u32, opc: u32, rt: u32, rn: u32, byte_offset: u32) -> u32 {
    0x3900_0000 | (size << 30) | (opc << 22) | ((byte_offset >> size) << 10) | (r(rn) << 5) | r(rt)
}
pub const fn ldr(rt: u32, rn: u32, byte_offset: u32) -> u32 {
    ldst_uimm(3, 1, rt, rn, byte_offset)
}
pub const fn str(rt: u32, rn: u32, byte_offset: u32) -> u32 {
    ldst_uimm(3, 0, rt, rn, byte_offset)
}
/// The 9-bit signed-offset forms: `mode` 0 unscaled (LDUR), 1 post-index, 2 unprivileged (LDTR), 3 pre-index.
pub const fn ldst_simm(size: u32, opc: u32, mode: u32, rt: u32, rn: u32, simm9: i32) -> u32 {
    0x3800_0000
        | (size << 30)
        | (opc << 22)
        | (((simm9 as u32) & 0x1FF) << 12)
        | (mode << 10)
        | (r(rn) << 5)
        | r(rt)
}
/// Register offset: Rn + ExtendReg(Rm, option) << (S ? size : 0).
pub const fn ldst_reg(size: u32, opc: u32, rt: u32, rn: u32, rm: u32, option: u32, s: u32) -> u32 {
    0x3820_0800
        | (size << 30)
        | (opc << 22)
        | (r(rm) << 16)
        | (option << 13)
        | (s << 12)
        | (r(rn) << 5)
        | r(rt)
}
/// LDR (literal): `opc` 0 W, 1 X, 2 LDRSW, 3 PRFM.
pub const fn ldr_lit(opc: u32, rt: u32, offset: i64) -> u32 {
    0x1800_0000 | (opc << 30) | (off(offset, 19) << 5) | r(rt)
}
/// LDP/STP of X registers: `mode` 1 post, 2 offset, 3 pre; `load`.
pub const fn ldstp_x(load: bool, mode: u32, rt: u32, rt2: u32, rn: u32, byte_offset: i32) -> u32 {
    0xA800_0000
        | (mode << 23)
        | ((load as u32) << 22)
        | ((((byte_offset / 8) as u32) & 0x7F) << 15)
        | (r(rt2) << 10)
        | (r(rn) << 5)
        | r(rt)
}
pub const fn ldpsw(rt: u32, rt2: u32, rn: u32, byte_offset: i32) -> u32 {
    0x6940_0000
        | ((((byte_offset / 4) as u32) & 0x7F) << 15)
        | (r(rt2) << 10)
        | (r(rn) << 5)
        | r(rt)
}
pub const fn stp_w(rt: u32, rt2: u32, rn: u32, byte_offset: i32) -> u32 {
    0x2900_0000
        | ((((byte_offset / 4) as u32) & 0x7F) << 15)
        | (r(rt2) << 10)
        | (r(rn) << 5)
        | r(rt)
}
pub const fn ldxr(rt: u32, rn: u32) -> u32 {
    0xC85F_7C00 | (r(rn) << 5) | r(rt)
}
pub const fn ldaxr(rt: u32, rn: u32) -> u32 {
    0xC85F_FC00 | (r(rn) << 5) | r(rt)
}
pub const fn stxr(rs: u32, rt: u32, rn: u32) -> u32 {
    0xC800_7C00 | (r(rs) << 16) | (r(rn) << 5) | r(rt)
}
pub const fn stlxr(rs: u32, rt: u32, rn: u32) -> u32 {
    0xC800_FC00 | (r(rs) << 16) | (r(rn) << 5) | r(rt)
}
pub const fn ldxp(rt: u32, rt2: u32, rn: u32) -> u32 {
    0xC87F_0000 | (r(rt2) << 10) | (r(rn) << 5) | r(rt)
}
pub const fn stxp(rs: u32, rt: u32, rt2: u32, rn: u32) -> u32 {
    0xC820_0000 | (r(rs) << 16) | (r(rt2) << 10) | (r(rn) << 5) | r(rt)
}
pub const fn ldar(rt: u32, rn: u32) -> u32 {
    0xC8DF_FC00 | (r(rn) << 5) | r(rt)
}
pub const fn stlr(rt: u32, rn: u32) -> u32 {
    0xC89F_FC00 | (r(rn) << 5) | r(rt)
}
pub const fn ldapr(rt: u32, rn: u32) -> u32 {
    0xF8BF_C000 | (r(rn) << 5) | r(rt)
}
pub const fn svc(imm: u32) -> u32 {
    0xD400_0001 | (imm << 5)
}
pub const fn hvc(imm: u32) -> u32 {
    0xD400_0002 | (imm << 5)
}
pub const fn smc(imm: u32) -> u32 {
    0xD400_0003 | (imm << 5)
}
pub const fn brk(imm: u32) -> u32 {
    0xD420_0000 | (imm << 5)
}
/// A system register as op0:op1:CRn:CRm:op2.
pub const fn sysreg(op0: u32, op1: u32, crn: u32, crm: u32, op2: u32) -> u32 {
    (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2
}
pub const fn msr(reg: u32, rt: u32) -> u32 {
    0xD500_0000 | (reg << 5) | r(rt)
}
pub const fn mrs(rt: u32, reg: u32) -> u32 {
    0xD520_0000 | (reg << 5) | r(rt)
}
pub const fn sys(op1: u32, crn: u32, crm: u32, op2: u32, rt: u32) -> u32 {
    msr(sysreg(1, op1, crn, crm, op2), rt)
}
pub const fn msr_daifset(imm: u32) -> u32 {
    0xD503_40DF | (imm << 8)
}
pub const fn msr_daifclr(imm: u32) -> u32 {
    0xD503_40FF | (imm << 8)
}
pub const fn msr_spsel(imm: u32) -> u32 {
    0xD500_40BF | (imm << 8)
}

pub const SCTLR_EL1: u32 = sysreg(3, 0, 1, 0, 0);
pub const VBAR_EL1: u32 = sysreg(3, 0, 12, 0, 0);
pub const ELR_EL1: u32 = sysreg(3, 0, 4, 0, 1);
pub const SPSR_EL1: u32 = sysreg(3, 0, 4, 0, 0);
pub const ESR_EL1: u32 = sysreg(3, 0, 5, 2, 0);
pub const FAR_EL1: u32 = sysreg(3, 0, 6, 0, 0);
pub const SP_EL0: u32 = sysreg(3, 0, 4, 1, 0);
pub const CURRENT_EL: u32 = sysreg(3, 0, 4, 2, 2);
pub const NZCV: u32 = sysreg(3, 3, 4, 2, 0);
pub const DAIF: u32 = sysreg(3, 3, 4, 2, 1);
pub const TPIDR_EL0: u32 = sysreg(3, 3, 13, 0, 2);
pub const TPIDR_EL1: u32 = sysreg(3, 0, 13, 0, 4);
pub const MIDR_EL1: u32 = sysreg(3, 0, 0, 0, 0);
pub const MPIDR_EL1: u32 = sysreg(3, 0, 0, 0, 5);
pub const ID_AA64PFR0_EL1: u32 = sysreg(3, 0, 0, 4, 0);
pub const ID_AA64ZFR0_EL1: u32 = sysreg(3, 0, 0, 4, 4);
pub const ID_AA64ISAR0_EL1: u32 = sysreg(3, 0, 0, 6, 0);
pub const CTR_EL0: u32 = sysreg(3, 3, 0, 0, 1);
pub const DCZID_EL0: u32 = sysreg(3, 3, 0, 0, 7);
pub const CNTFRQ_EL0: u32 = sysreg(3, 3, 14, 0, 0);
pub const CNTVCT_EL0: u32 = sysreg(3, 3, 14, 0, 2);
pub const CNTV_CVAL_EL0: u32 = sysreg(3, 3, 14, 3, 2);
pub const CNTV_CTL_EL0: u32 = sysreg(3, 3, 14, 3, 1);
pub const TCR_EL1: u32 = sysreg(3, 0, 2, 0, 2);
pub const TTBR0_EL1: u32 = sysreg(3, 0, 2, 0, 0);
pub const TTBR1_EL1: u32 = sysreg(3, 0, 2, 0, 1);
pub const MAIR_EL1: u32 = sysreg(3, 0, 10, 2, 0);
pub const PAR_EL1: u32 = sysreg(3, 0, 7, 4, 0);
pub const ICC_SGI1R_EL1: u32 = sysreg(3, 0, 12, 11, 5);
pub const DC_ZVA: (u32, u32, u32, u32) = (3, 7, 4, 1);
pub const IC_IALLU: (u32, u32, u32, u32) = (0, 7, 5, 0);
pub const IC_IVAU: (u32, u32, u32, u32) = (3, 7, 5, 1);
pub const TLBI_VMALLE1: (u32, u32, u32, u32) = (0, 8, 7, 0);
/// TLBI VAAE1IS, Xt (op1 0, CRn 8, CRm 3, op2 3).
pub const TLBI_VAAE1IS: (u32, u32, u32, u32) = (0, 8, 3, 3);
/// TLBI VALE1, Xt (op1 0, CRn 8, CRm 7, op2 5).
pub const TLBI_VALE1: (u32, u32, u32, u32) = (0, 8, 7, 5);
pub const AT_S1E1R: (u32, u32, u32, u32) = (0, 7, 8, 0);
pub const fn sys_op(op: (u32, u32, u32, u32), rt: u32) -> u32 {
    sys(op.0, op.1, op.2, op.3, rt)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Words from a reference assembler (GNU as 2.x for aarch64, `-march=armv8.3-a`, objdump -d), pinning
    /// the encoders.
    #[test]
    fn known_encodings() {
        let cases: &[(&str, u32, u32)] = &[
            ("add x0, x1, #1", add_imm(0, 1, 1), 0x9100_0420),
            ("movz x0, #1", movz(0, 1, 0), 0xD280_0020),
            ("cmp x0, #0", subs_imm(31, 0, 0), 0xF100_001F),
            ("ldr x0, [x1]", ldr(0, 1, 0), 0xF940_0020),
            ("str x0, [x1]", str(0, 1, 0), 0xF900_0020),
            (
                "stp x29, x30, [sp, #-16]!",
                ldstp_x(false, 3, 29, 30, 31, -16),
                0xA9BF_7BFD,
            ),
            (
                "ldp x0, x1, [sp, #16]",
                ldstp_x(true, 2, 0, 1, 31, 16),
                0xA941_07E0,
            ),
            ("ldxr x0, [x1]", ldxr(0, 1), 0xC85F_7C20),
            ("stxr w2, x0, [x1]", stxr(2, 0, 1), 0xC802_7C20),
            ("ldar x0, [x1]", ldar(0, 1), 0xC8DF_FC20),
            ("stlr x0, [x1]", stlr(0, 1), 0xC89F_FC20),
            ("ldapr x0, [x1]", ldapr(0, 1), 0xF8BF_C020),
            ("mrs x0, currentel", mrs(0, CURRENT_EL), 0xD538_4240),
            ("msr daifset, #3", msr_daifset(3), 0xD503_43DF),
            ("svc #0", svc(0), 0xD400_0001),
            ("smc #0", smc(0), SMC0),
            ("b .", b(0), 0x1400_0000),
            ("bl .", bl(0), 0x9400_0000),
            ("ret", RET, 0xD65F_03C0),
            ("eret", ERET, 0xD69F_03E0),
            (
                "and x0, x1, #0xff",
                logical_imm(0, 0, 1, 1, 0, 7),
                0x9240_1C20,
            ),
            ("mov x0, x1", mov_reg(0, 1), 0xAA01_03E0),
            ("lsr x0, x1, #4 (ubfm)", ubfm(0, 1, 4, 63), 0xD344_FC20),
            ("madd x0, x1, x2, x3", madd(0, 1, 2, 3), 0x9B02_0C20),
            ("udiv x0, x1, x2", udiv(0, 1, 2), 0x9AC2_0820),
            ("csel x0, x1, x2, eq", csel(0, 1, 2, EQ), 0x9A82_0020),
            ("dc zva, x0", sys_op(DC_ZVA, 0), 0xD50B_7420),
            ("tlbi vmalle1", sys_op(TLBI_VMALLE1, 31), 0xD508_871F),
            ("ic iallu", sys_op(IC_IALLU, 31), 0xD508_751F),
            ("ldxp x0, x1, [x2]", ldxp(0, 1, 2), 0xC87F_0440),
            ("stxp w3, x0, x1, [x2]", stxp(3, 0, 1, 2), 0xC823_0440),
            ("ldpsw x7, x8, [x5, #8]", ldpsw(7, 8, 5, 8), 0x6941_20A7),
            (
                "ldr x4, [x0, w2, sxtw]",
                ldst_reg(3, 1, 4, 0, 2, 6, 0),
                0xF862_C804,
            ),
            (
                "str x3, [x0, x1, lsl #3]",
                ldst_reg(3, 0, 3, 0, 1, 3, 1),
                0xF821_7803,
            ),
            ("ldtr x5, [x0]", ldst_simm(3, 1, 2, 5, 0, 0), 0xF840_0805),
            ("mrs x10, par_el1", mrs(10, PAR_EL1), 0xD538_740A),
            ("at s1e1r, x6", sys_op(AT_S1E1R, 6), 0xD508_7806),
            ("msr icc_sgi1r_el1, x3", msr(ICC_SGI1R_EL1, 3), 0xD518_CBA3),
            ("sbfiz x0, x1, #4, #4", sbfm(0, 1, 60, 3), 0x937C_0C20),
            ("bfi x0, x1, #8, #8", bfm(0, 1, 56, 7), 0xB378_1C20),
            ("ccmp x1, #5, #0, eq", ccmp_imm(1, 5, 0, EQ), 0xFA45_0820),
            ("ccmn x1, x2, #0, eq", ccmn_reg(1, 2, 0, EQ), 0xBA42_0020),
            ("smaddl x0, w1, w2, x3", smaddl(0, 1, 2, 3), 0x9B22_0C20),
            ("ror w0, w1, w2", rorv_w(0, 1, 2), 0x1AC2_2C20),
            ("rev w0, w1", rev_w(0, 1), 0x5AC0_0820),
            ("clz w0, w1", clz_w(0, 1), 0x5AC0_1020),
        ];
        for (text, got, want) in cases {
            assert_eq!(
                got, want,
                "encoder for `{text}`: {got:#010x}, assembler says {want:#010x}"
            );
        }
    }
}
