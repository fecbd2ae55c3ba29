//! What every payload shares: the prologue that finds the UART through the unprotected alias, console
//! subroutines, and SMC helpers.
//!
//! Register conventions: X19 holds the payload's load address, X20 the UART transmit register's address
//! through the unprotected alias; the subroutines are leaves (BL/RET through X30, no stack) that clobber
//! X0..X6 only, so X7..X29 keep a caller's values across a print.

use super::asm::{self as enc, Program, cond};

/// `RSI_VERSION` (DEN0137 1.0-rel0 B5.3.12).
pub(crate) const RSI_VERSION: u32 = 0xC400_0190;
/// `RSI_MEASUREMENT_READ`.
pub(crate) const RSI_MEASUREMENT_READ: u32 = 0xC400_0192;
/// `RSI_MEASUREMENT_EXTEND`.
pub(crate) const RSI_MEASUREMENT_EXTEND: u32 = 0xC400_0193;
/// `RSI_REALM_CONFIG`.
pub(crate) const RSI_REALM_CONFIG: u32 = 0xC400_0196;
/// `RSI_IPA_STATE_SET`.
pub(crate) const RSI_IPA_STATE_SET: u32 = 0xC400_0197;
/// `RSI_IPA_STATE_GET`.
pub(crate) const RSI_IPA_STATE_GET: u32 = 0xC400_0198;
/// `RSI_HOST_CALL`.
pub(crate) const RSI_HOST_CALL: u32 = 0xC400_0199;
/// `PSCI_CPU_OFF` (DEN0022).
pub(crate) const PSCI_CPU_OFF: u32 = 0x8400_0002;
/// `PSCI_CPU_ON` (SMC64).
pub(crate) const PSCI_CPU_ON_64: u32 = 0xC400_0003;
/// `PSCI_SYSTEM_OFF`.
pub(crate) const PSCI_SYSTEM_OFF: u32 = 0x8400_0008;

/// `RSI_IPA_STATE_GET` of the granule `granule` granules above the load address, printed as
/// `RSI_IPA_STATE_GET      <ipa> status <x0> top <x1> ripas <x2>`; X`scratch` keeps the IPA across the call,
/// X21..X23 receive the results.
pub(crate) fn ipa_state_get(p: &mut Program, granule: u32, scratch: u32) {
    p.emit_all(&[
        enc::add_x_lsl12(1, 19, granule),
        enc::add_x_lsl12(2, 1, 1),
        enc::mov_x(scratch, 1),
    ]);
    smc(p, RSI_IPA_STATE_GET);
    p.emit_all(&[enc::mov_x(21, 0), enc::mov_x(22, 1), enc::mov_x(23, 2)]);
    print(p, "RSI_IPA_STATE_GET      ");
    print_hex(p, scratch);
    print(p, " status ");
    print_hex(p, 21);
    print(p, " top ");
    print_hex(p, 22);
    print(p, " ripas ");
    print_hex(p, 23);
    print(p, "\n");
}

/// The prologue: X19 = load address; `RSI_REALM_CONFIG` into the granule at label `config`; X20 = the UART
/// at `uart_base` through the unprotected alias (`1 << (ipa_width − 1)`). Leaves the call's status in X21.
pub(crate) fn prologue(p: &mut Program, uart_base: u64) {
    p.label("start").adr(19, "start");
    p.adr(1, "config");
    smc(p, RSI_REALM_CONFIG);
    p.emit(enc::mov_x(21, 0));
    p.adr(1, "config");
    p.emit_all(&[
        enc::ldr_x(2, 1), // ipa_width
        enc::sub_x(2, 2, 1),
        enc::movz_x(3, 1, 0),
        enc::lslv_x(3, 3, 2),
    ]);
    p.mov_imm(4, uart_base);
    p.emit(enc::orr_x(20, 3, 4));
}

/// X0 = `fid`, then `SMC #0`.
pub(crate) fn smc(p: &mut Program, fid: u32) {
    p.mov_imm(0, u64::from(fid));
    p.emit(enc::SMC0);
}

/// Print `text`.
pub(crate) fn print(p: &mut Program, text: &str) {
    p.adr_string(1, text).bl("puts");
}

/// Print X`reg` as `0x` and its hexadecimal digits, without leading zeros.
pub(crate) fn print_hex(p: &mut Program, reg: u32) {
    p.emit(enc::mov_x(0, reg)).bl("hex");
}

/// Print the 8 bytes of X`reg` in memory (little-endian) order, two hex digits each.
pub(crate) fn print_bytes(p: &mut Program, reg: u32) {
    p.emit(enc::mov_x(0, reg)).bl("hexbytes");
}

/// `PSCI_SYSTEM_OFF`, then a branch to itself should the call return.
pub(crate) fn system_off(p: &mut Program) {
    smc(p, PSCI_SYSTEM_OFF);
    p.emit(enc::B_SELF);
}

/// Write the hex digit in X2 (0..15) to the UART.
fn put_digit(p: &mut Program, tag: &str) {
    let digit = format!("{tag}.digit");
    p.emit(enc::cmp_x(2, 10)).b_cond(cond::LO, &digit);
    p.emit(enc::add_x(2, 2, u32::from(b'a' - 10 - b'0')));
    p.label(&digit).emit(enc::add_x(2, 2, u32::from(b'0')));
    p.emit(enc::strb(2, 20));
}

/// The subroutines: `puts` (X1: NUL-terminated string), `hex` (X0), `hexbytes` (X0).
pub(crate) fn subroutines(p: &mut Program) {
    p.label("puts").label("puts.loop");
    p.emit(enc::ldrb_off(2, 1, 0)).cbz_x(2, "puts.done");
    p.emit_all(&[enc::strb(2, 20), enc::add_x(1, 1, 1)])
        .b("puts.loop");
    p.label("puts.done").emit(enc::RET);

    p.label("hex");
    p.emit_all(&[
        enc::movz_x(2, u32::from(b'0'), 0),
        enc::strb(2, 20),
        enc::movz_x(2, u32::from(b'x'), 0),
        enc::strb(2, 20),
        enc::movz_x(3, 60, 0), // shift of the next digit
        enc::movz_x(5, 0, 0),  // a digit was printed
    ]);
    p.label("hex.loop");
    p.emit_all(&[enc::lsrv_x(2, 0, 3), enc::and_x_0xf(2, 2)]);
    p.cbnz_x(2, "hex.print")
        .cbnz_x(5, "hex.print")
        .cbz_x(3, "hex.print")
        .b("hex.next");
    p.label("hex.print").emit(enc::movz_x(5, 1, 0));
    put_digit(p, "hex");
    p.label("hex.next").cbz_x(3, "hex.done");
    p.emit(enc::sub_x(3, 3, 4)).b("hex.loop");
    p.label("hex.done").emit(enc::RET);

    p.label("hexbytes").emit(enc::movz_x(3, 0, 0)); // bit offset of the byte
    p.label("hexbytes.loop");
    p.emit_all(&[
        enc::add_x(6, 3, 4),
        enc::lsrv_x(2, 0, 6),
        enc::and_x_0xf(2, 2),
    ]);
    put_digit(p, "hexbytes.hi");
    p.emit_all(&[enc::lsrv_x(2, 0, 3), enc::and_x_0xf(2, 2)]);
    put_digit(p, "hexbytes.lo");
    p.emit_all(&[enc::add_x(3, 3, 8), enc::cmp_x(3, 64)]);
    p.b_cond(cond::LO, "hexbytes.loop").emit(enc::RET);
}
