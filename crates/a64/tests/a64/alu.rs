//! Data processing, one instruction per check, hand-computed results.

#![expect(
    clippy::cast_sign_loss,
    reason = "negative expected values written as `(-n as i64) as u64`"
)]

use crate::asm::*;
use crate::harness::exec;

/// Run one instruction with X0.. = `regs` and check X`rd` (and NZCV when given).
pub fn check(what: &str, regs: &[u64], insn: u32, rd: usize, want: u64, nzcv: Option<u64>) {
    let run = exec(what, regs, &[insn]);
    assert_eq!(
        run.x(rd),
        want,
        "{what}: X{rd} = {:#x}, want {want:#x}",
        run.x(rd)
    );
    if let Some(flags) = nzcv {
        assert_eq!(
            run.nzcv(),
            flags,
            "{what}: NZCV = {:04b}, want {flags:04b}",
            run.nzcv()
        );
    }
}

#[test]
fn add_sub_immediate_and_flags() {
    check("add x0, x1, #1", &[0, 41], add_imm(0, 1, 1), 0, 42, None);
    check(
        "add x0, x1, #1, lsl #12",
        &[0, 1],
        add_imm_lsl12(0, 1, 1),
        0,
        0x1001,
        None,
    );
    check(
        "sub x0, x1, #2",
        &[0, 1],
        sub_imm(0, 1, 2),
        0,
        u64::MAX,
        None,
    );
    // 0 - 0: Z and C (no borrow).
    check(
        "cmp x1, #0 (equal)",
        &[0, 0],
        subs_imm(31, 1, 0),
        1,
        0,
        Some(0b0110),
    );
    // 1 - 2 = -1: N, borrow so C clear.
    check(
        "subs x0, x1, #2",
        &[0, 1],
        subs_imm(0, 1, 2),
        0,
        u64::MAX,
        Some(0b1000),
    );
    // 0x7fff_ffff + 1 in W: N and V.
    check(
        "adds w0, w1, #1",
        &[0, 0x7FFF_FFFF],
        adds_imm_w(0, 1, 1),
        0,
        0x8000_0000,
        Some(0b1001),
    );
    // u64::MAX + 1: Z and C.
    check(
        "adds x0, x1, #1",
        &[0, u64::MAX],
        adds_imm(0, 1, 1),
        0,
        0,
        Some(0b0110),
    );
    // W result zero-extends.
    check(
        "subs w0, w1, #1",
        &[u64::MAX, 0xFFFF_FFFF_0000_0000],
        subs_imm_w(0, 1, 1),
        0,
        0xFFFF_FFFF,
        Some(0b1000),
    );
}

#[test]
fn add_immediate_uses_sp_for_register_31() {
    let run = exec(
        "add sp, sp, #16; add x0, sp, #0",
        &[],
        &[add_imm(31, 31, 16), add_imm(0, 31, 0)],
    );
    assert_eq!(run.x(0), 16, "add x0, sp, #0 after add sp, sp, #16");
    assert_eq!(run.ctx.sp_el1, 16, "EL1h uses SP_EL1");
}

#[test]
fn logical_immediate_and_register() {
    check(
        "and x0, x1, #0xff",
        &[0, 0x1234],
        logical_imm(0, 0, 1, 1, 0, 7),
        0,
        0x34,
        None,
    );
    // N=0, immr=0, imms=0b111100 → element size 2, one bit set: 0x5555_5555_5555_5555.
    check(
        "orr x0, xzr, #0x5555…",
        &[],
        logical_imm(1, 0, 31, 0, 0, 0b111100),
        0,
        0x5555_5555_5555_5555,
        None,
    );
    // N=1 immr=1 imms=0: one bit rotated right by 1 → bit 63.
    check(
        "eor x0, x1, #1<<63",
        &[0, 1],
        logical_imm(2, 0, 1, 1, 1, 0),
        0,
        0x8000_0000_0000_0001,
        None,
    );
    check(
        "ands x0, x1, #0xff (zero)",
        &[0, 0x100],
        logical_imm(3, 0, 1, 1, 0, 7),
        0,
        0,
        Some(0b0100),
    );
    check(
        "bic x0, x1, x2",
        &[0, 0xFF, 0x0F],
        logical_reg(0, true, 0, 1, 2, 0, 0),
        0,
        0xF0,
        None,
    );
    check(
        "orn x0, xzr, x1",
        &[0, 0],
        logical_reg(1, true, 0, 31, 1, 0, 0),
        0,
        u64::MAX,
        None,
    );
    check(
        "eor x0, x1, x2, lsl #4",
        &[0, 0xF0, 0xF],
        logical_reg(2, false, 0, 1, 2, 0, 4),
        0,
        0,
        None,
    );
    check(
        "orr x0, x1, x2, ror #4",
        &[0, 0, 0xF],
        logical_reg(1, false, 0, 1, 2, 3, 4),
        0,
        0xF000_0000_0000_0000,
        None,
    );
    check(
        "ands x0, x1, x2 (negative)",
        &[0, u64::MAX, 1 << 63],
        logical_reg(3, false, 0, 1, 2, 0, 0),
        0,
        1 << 63,
        Some(0b1000),
    );
}

#[test]
fn move_wide() {
    check(
        "movz x0, #0xbeef, lsl #16",
        &[],
        movz(0, 0xBEEF, 16),
        0,
        0xBEEF_0000,
        None,
    );
    check("movn x0, #0", &[], movn(0, 0, 0), 0, u64::MAX, None);
    check(
        "movk x0, #0x1234, lsl #48",
        &[0xFFFF],
        movk(0, 0x1234, 48),
        0,
        0x1234_0000_0000_FFFF,
        None,
    );
    check(
        "movz w0, #0xffff",
        &[u64::MAX],
        movz_w(0, 0xFFFF),
        0,
        0xFFFF,
        None,
    );
}

#[test]
fn pc_relative_addresses() {
    // The ADR/ADRP is the first instruction, at 0x8000_0000.
    check("adr x0, .+8", &[], adr(0, 8), 0, 0x8000_0008, None);
    check("adr x0, .-4", &[], adr(0, -4), 0, 0x7FFF_FFFC, None);
    check("adrp x0, .+2 pages", &[], adrp(0, 2), 0, 0x8000_2000, None);
}

#[test]
fn bitfield_and_extract() {
    check(
        "lsr x0, x1, #4 (ubfm)",
        &[0, 0xF0],
        ubfm(0, 1, 4, 63),
        0,
        0xF,
        None,
    );
    check(
        "lsl x0, x1, #8 (ubfm)",
        &[0, 0xFF],
        ubfm(0, 1, 56, 55),
        0,
        0xFF00,
        None,
    );
    check(
        "ubfx x0, x1, #8, #8",
        &[0, 0x12_3456],
        ubfm(0, 1, 8, 15),
        0,
        0x34,
        None,
    );
    check(
        "sbfx x0, x1, #4, #4",
        &[0, 0x80],
        sbfm(0, 1, 4, 7),
        0,
        (-8i64) as u64,
        None,
    );
    check(
        "asr x0, x1, #63",
        &[0, 1 << 63],
        sbfm(0, 1, 63, 63),
        0,
        u64::MAX,
        None,
    );
    check(
        "sxtw x0, w1",
        &[0, 0x8000_0000],
        sbfm(0, 1, 0, 31),
        0,
        0xFFFF_FFFF_8000_0000,
        None,
    );
    check(
        "sxtb w0, w1",
        &[0, 0x80],
        sbfm_w(0, 1, 0, 7),
        0,
        0xFFFF_FF80,
        None,
    );
    check(
        "sbfiz x0, x1, #4, #4",
        &[0, 0xF],
        sbfm(0, 1, 60, 3),
        0,
        0xFFFF_FFFF_FFFF_FFF0,
        None,
    );
    check(
        "bfi x0, x1, #8, #8",
        &[0xFFFF_FFFF, 0x12],
        bfm(0, 1, 56, 7),
        0,
        0xFFFF_12FF,
        None,
    );
    check(
        "bfxil x0, x1, #8, #8",
        &[0xFFFF_FFFF, 0x3400],
        bfm(0, 1, 8, 15),
        0,
        0xFFFF_FF34,
        None,
    );
    check(
        "extr x0, x1, x2, #8",
        &[0, 0xAB, 0x1122_3344_5566_7788],
        extr(0, 1, 2, 8),
        0,
        0xAB11_2233_4455_6677,
        None,
    );
    check(
        "ror x0, x1, #4 (extr)",
        &[0, 0xF1],
        extr(0, 1, 1, 4),
        0,
        0x1000_0000_0000_000F,
        None,
    );
}

#[test]
fn shifted_and_extended_register_add_sub() {
    check(
        "add x0, x1, x2, lsl #3",
        &[0, 1, 2],
        add_sreg(0, 1, 2, 0, 3),
        0,
        17,
        None,
    );
    check(
        "add x0, x1, x2, asr #1",
        &[0, 0, u64::MAX - 1],
        add_sreg(0, 1, 2, 2, 1),
        0,
        u64::MAX,
        None,
    );
    check(
        "sub x0, x1, x2, lsr #60",
        &[0, 100, u64::MAX],
        sub_sreg(0, 1, 2, 1, 60),
        0,
        85,
        None,
    );
    check(
        "add x0, x1, w2, sxtw",
        &[0, 10, 0xFFFF_FFFF],
        add_ext(0, 1, 2, 6, 0),
        0,
        9,
        None,
    );
    check(
        "add x0, x1, w2, uxtb #2",
        &[0, 1, 0x1FF],
        add_ext(0, 1, 2, 0, 2),
        0,
        1 + 0xFF * 4,
        None,
    );
    check(
        "sub sp-form x0, sp, x2, uxtx",
        &[0, 0, 1],
        sub_ext(0, 31, 2, 3, 0),
        0,
        u64::MAX,
        None,
    );
    // 5 - 5: Z, C.
    check(
        "subs x0, x1, x2",
        &[0, 5, 5],
        subs_reg(0, 1, 2),
        0,
        0,
        Some(0b0110),
    );
    // i64::MAX + 1: N, V.
    check(
        "adds x0, x1, x2 (overflow)",
        &[0, i64::MAX as u64, 1],
        adds_reg(0, 1, 2),
        0,
        1 << 63,
        Some(0b1001),
    );
}

#[test]
fn add_sub_with_carry() {
    // cmp x1, x1 sets C; then adc adds 1 more.
    let run = exec("cmp; adc", &[0, 7, 3], &[subs_reg(31, 1, 1), adc(0, 1, 2)]);
    assert_eq!(run.x(0), 11, "adc x0, x1, x2 with C set");
    let run = exec(
        "cmn; sbc",
        &[0, 7, 3],
        &[adds_reg(31, 31, 31), sbc(0, 1, 2)],
    );
    assert_eq!(run.x(0), 3, "sbc x0, x1, x2 with C clear (7 - 3 - 1)");
    let run = exec(
        "adcs overflow",
        &[0, u64::MAX, 0],
        &[subs_reg(31, 1, 1), adcs(0, 1, 2)],
    );
    assert_eq!(
        (run.x(0), run.nzcv()),
        (0, 0b0110),
        "adcs x0, x1(max), x2(0) with carry in"
    );
    let run = exec("sbcs", &[0, 0, 0], &[subs_reg(31, 1, 1), sbcs(0, 1, 2)]);
    assert_eq!(
        (run.x(0), run.nzcv()),
        (0, 0b0110),
        "sbcs 0 - 0 with carry (no borrow)"
    );
}

#[test]
fn conditional_compare_and_select() {
    // x1 == 5: ccmp x1, #5, #0, eq → compare → Z, C.
    let run = exec(
        "cmp; ccmp (taken)",
        &[0, 5],
        &[subs_imm(31, 1, 5), ccmp_imm(1, 5, 0, EQ)],
    );
    assert_eq!(run.nzcv(), 0b0110, "ccmp x1, #5, #0, eq when eq");
    let run = exec(
        "cmp; ccmp (not taken)",
        &[0, 4],
        &[subs_imm(31, 1, 5), ccmp_imm(1, 5, 0b0010, EQ)],
    );
    assert_eq!(run.nzcv(), 0b0010, "ccmp when ne takes the immediate flags");
    let run = exec(
        "ccmn",
        &[0, 1, u64::MAX],
        &[subs_imm(31, 1, 1), ccmn_reg(1, 2, 0, EQ)],
    );
    assert_eq!(
        run.nzcv(),
        0b0110,
        "ccmn x1(1), x2(-1) when eq: 1 + -1 = 0 with carry"
    );
    let regs = [0, 10, 20];
    let eq = subs_reg(31, 1, 1);
    let ne = subs_reg(31, 1, 2);
    assert_eq!(
        exec("csel eq", &regs, &[eq, csel(0, 1, 2, EQ)]).x(0),
        10,
        "csel taken"
    );
    assert_eq!(
        exec("csel ne", &regs, &[ne, csel(0, 1, 2, EQ)]).x(0),
        20,
        "csel not taken"
    );
    assert_eq!(
        exec("csinc", &regs, &[ne, csinc(0, 1, 2, EQ)]).x(0),
        21,
        "csinc not taken"
    );
    assert_eq!(
        exec("cset (csinc xzr)", &regs, &[eq, csinc(0, 31, 31, NE)]).x(0),
        1,
        "cset x0, eq"
    );
    assert_eq!(
        exec("csinv", &regs, &[ne, csinv(0, 1, 2, EQ)]).x(0),
        !20,
        "csinv not taken"
    );
    assert_eq!(
        exec("csneg", &regs, &[ne, csneg(0, 1, 2, EQ)]).x(0),
        (-20i64) as u64,
        "csneg not taken"
    );
    // Signed conditions: -1 < 1.
    let lt = exec(
        "cmp -1, 1; csel lt",
        &[0, u64::MAX, 1],
        &[subs_reg(31, 1, 2), csel(0, 1, 2, LT)],
    );
    assert_eq!(lt.x(0), u64::MAX, "lt after cmp -1, 1");
    let cc = exec(
        "cmp -1, 1; csel cc",
        &[0, u64::MAX, 1],
        &[subs_reg(31, 1, 2), csel(0, 1, 2, CC)],
    );
    assert_eq!(
        cc.x(0),
        1,
        "cc (unsigned lower) is false after cmp 0xff…, 1"
    );
}
