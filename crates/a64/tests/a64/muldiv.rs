//! Multiply, divide, variable shifts and bit operations, one instruction per check, hand-computed results.

#![expect(
    clippy::cast_sign_loss,
    reason = "negative expected values written as `(-n as i64) as u64`"
)]

use crate::alu::check;
use crate::asm::*;

#[test]
fn multiply_and_divide() {
    check(
        "madd x0, x1, x2, x3",
        &[0, 3, 4, 5],
        madd(0, 1, 2, 3),
        0,
        17,
        None,
    );
    check(
        "msub x0, x1, x2, x3",
        &[0, 3, 4, 5],
        msub(0, 1, 2, 3),
        0,
        (-7i64) as u64,
        None,
    );
    check(
        "smaddl x0, w1, w2, x3",
        &[0, 0xFFFF_FFFF, 2, 0],
        smaddl(0, 1, 2, 3),
        0,
        (-2i64) as u64,
        None,
    );
    check(
        "umaddl x0, w1, w2, x3",
        &[0, 0xFFFF_FFFF, 2, 0],
        umaddl(0, 1, 2, 3),
        0,
        0x1_FFFF_FFFE,
        None,
    );
    check(
        "smulh x0, x1, x2",
        &[0, u64::MAX, 2],
        smulh(0, 1, 2),
        0,
        u64::MAX,
        None,
    );
    check(
        "umulh x0, x1, x2",
        &[0, u64::MAX, 2],
        umulh(0, 1, 2),
        0,
        1,
        None,
    );
    check("udiv x0, x1, x2", &[0, 100, 7], udiv(0, 1, 2), 0, 14, None);
    check("udiv by zero", &[0, 100, 0], udiv(0, 1, 2), 0, 0, None);
    check(
        "sdiv x0, x1, x2",
        &[0, (-100i64) as u64, 7],
        sdiv(0, 1, 2),
        0,
        (-14i64) as u64,
        None,
    );
    check(
        "sdiv min / -1",
        &[0, 1 << 63, u64::MAX],
        sdiv(0, 1, 2),
        0,
        1 << 63,
        None,
    );
    check("sdiv w by zero", &[0, 5, 0], sdiv_w(0, 1, 2), 0, 0, None);
}

#[test]
fn variable_shifts_and_bit_operations() {
    check(
        "lslv x0, x1, x2 (mod 64)",
        &[0, 1, 65],
        lslv(0, 1, 2),
        0,
        2,
        None,
    );
    check(
        "asrv x0, x1, x2",
        &[0, 1 << 63, 62],
        asrv(0, 1, 2),
        0,
        (-2i64) as u64,
        None,
    );
    check(
        "rorv w0, w1, w2",
        &[0, 1, 1],
        rorv_w(0, 1, 2),
        0,
        0x8000_0000,
        None,
    );
    check("rbit x0, x1", &[0, 1], rbit(0, 1), 0, 1 << 63, None);
    check(
        "rev16 x0, x1",
        &[0, 0x1122_3344_5566_7788],
        rev16(0, 1),
        0,
        0x2211_4433_6655_8877,
        None,
    );
    check(
        "rev32 x0, x1",
        &[0, 0x1122_3344_5566_7788],
        rev32(0, 1),
        0,
        0x4433_2211_8877_6655,
        None,
    );
    check(
        "rev x0, x1",
        &[0, 0x1122_3344_5566_7788],
        rev(0, 1),
        0,
        0x8877_6655_4433_2211,
        None,
    );
    check(
        "rev w0, w1",
        &[0, 0x1122_3344_5566_7788],
        rev_w(0, 1),
        0,
        0x8877_6655,
        None,
    );
    check("clz x0, x1", &[0, 1 << 40], clz(0, 1), 0, 23, None);
    check("clz x0, xzr", &[0, 0], clz(0, 31), 0, 64, None);
    check("clz w0, w1", &[0, 1], clz_w(0, 1), 0, 31, None);
    check("cls x0, x1 (-1)", &[0, u64::MAX], cls(0, 1), 0, 63, None);
    check("cls x0, x1 (1)", &[0, 1], cls(0, 1), 0, 62, None);
}
