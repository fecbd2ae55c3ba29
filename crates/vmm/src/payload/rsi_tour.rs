//! **rsi-tour**: every RSI 1.0 call a realm makes about itself, with each result printed on the UART
//! (DEN0137 1.0-rel0 B5.3: RSI_REALM_CONFIG, RSI_VERSION, RSI_MEASUREMENT_READ/EXTEND, RSI_IPA_STATE_GET/SET,
//! RSI_HOST_CALL), then `PSCI SYSTEM_OFF`.
//!
//! Layout (4 granules, loaded as firmware, MMU off, so VA = IPA): code and strings at +0; the
//! `RsiRealmConfig` buffer at +0x1000; the granule whose RIPAS the tour changes at +0x2000; the `RsiHostCall`
//! structure at +0x3000.
//!
//! What it prints, in order:
//! 1. `RSI_REALM_CONFIG` status, `ipa_width` and `hash_algo` (the buffer's offsets 0 and 8);
//! 2. `RSI_VERSION` asked for 1.0: status and the lower/higher revisions the RMM implements;
//! 3. `RSI_MEASUREMENT_READ` of slot 0: the RIM, as hex bytes in order (32 for SHA-256, 64 for SHA-512) — the
//!    value `realm measure` computes on the host for the same configuration;
//! 4. `RSI_MEASUREMENT_EXTEND` of REM0 with the 8 bytes `rsi-tour`, then REM0 read back;
//! 5. `RSI_IPA_STATE_GET` of the scratch granule (RAM), `RSI_IPA_STATE_SET` of it to EMPTY (the RMM exits to
//!    the host with RMI_EXIT_RIPAS_CHANGE; the kernel and VMM accept: v12 through `KVM_EXIT_MEMORY_FAULT`),
//!    and `RSI_IPA_STATE_GET` again (EMPTY);
//! 6. `RSI_HOST_CALL` with immediate 0x1234 and X0 = 0xC600_0000 (a function id nobody implements): the host
//!    answers in `gprs[0]` (SMCCC NOT_SUPPORTED).

use super::Target;
use super::asm::{self as enc, Program};
use super::runtime::{
    RSI_HOST_CALL, RSI_IPA_STATE_SET, RSI_MEASUREMENT_EXTEND, RSI_MEASUREMENT_READ, RSI_VERSION,
    ipa_state_get, print, print_bytes, print_hex, prologue, smc, subroutines, system_off,
};

/// The payload's size.
pub const RSI_TOUR_SIZE: usize = 4 * 0x1000;
/// The first line it prints.
pub const RSI_TOUR_BANNER: &str = "rsi-tour: RSI 1.0 from inside the realm\n";
/// The line that introduces the RIM's hex bytes.
pub const RIM_PREFIX: &str = "  RIM ";
/// Offset (in granules) of the granule whose RIPAS the tour changes.
const SCRATCH: u32 = 2;
/// Offset (in granules) of the `RsiHostCall` structure.
const HOST_CALL: usize = 3;

/// Print the `count` registers from X`first` as consecutive bytes.
fn print_regs(p: &mut Program, first: u32, count: u32) {
    for r in first..first + count {
        print_bytes(p, r);
    }
}

/// MEASUREMENT_READ of `slot` into X21 (status) and X22..X29 (the value), printed after `label`: 32 bytes,
/// or 64 when `hash_algo` (saved in X18) is SHA-512.
fn measurement_read(p: &mut Program, slot: u32, label: &str, tag: &str) {
    p.emit(enc::movz_x(1, slot, 0));
    smc(p, RSI_MEASUREMENT_READ);
    p.emit(enc::mov_x(21, 0));
    for i in 0..8 {
        p.emit(enc::mov_x(22 + i, 1 + i));
    }
    print(p, &format!("RSI_MEASUREMENT_READ   slot {slot} status "));
    print_hex(p, 21);
    print(p, &format!("\n{label}"));
    print_regs(p, 22, 4);
    let short = format!("{tag}.short");
    p.cbz_x(18, &short);
    print_regs(p, 26, 4);
    p.label(&short);
    print(p, "\n");
}

/// The `rsi-tour` payload for `target`.
pub fn rsi_tour(target: &Target) -> Vec<u8> {
    let mut p = Program::new();
    p.label_at("config", 0x1000);
    p.label_at("hostcall", HOST_CALL * 0x1000);
    prologue(&mut p, target.uart_base);
    print(&mut p, RSI_TOUR_BANNER);

    print(&mut p, "RSI_REALM_CONFIG       status ");
    print_hex(&mut p, 21);
    p.adr(7, "config");
    p.emit_all(&[enc::ldr_x_off(8, 7, 0), enc::ldr_x_off(18, 7, 8)]);
    print(&mut p, " ipa_width ");
    print_hex(&mut p, 8);
    print(&mut p, " hash_algo ");
    print_hex(&mut p, 18);
    print(&mut p, "\n");

    p.mov_imm(1, 1 << 16);
    smc(&mut p, RSI_VERSION);
    p.emit_all(&[enc::mov_x(21, 0), enc::mov_x(22, 1), enc::mov_x(23, 2)]);
    print(&mut p, "RSI_VERSION            status ");
    print_hex(&mut p, 21);
    print(&mut p, " lower ");
    print_hex(&mut p, 22);
    print(&mut p, " higher ");
    print_hex(&mut p, 23);
    print(&mut p, "\n");

    measurement_read(&mut p, 0, RIM_PREFIX, "rim");

    p.emit_all(&[enc::movz_x(1, 1, 0), enc::movz_x(2, 8, 0)]);
    p.mov_imm(3, u64::from_le_bytes(*b"rsi-tour"));
    for r in 4..=10 {
        p.emit(enc::movz_x(r, 0, 0));
    }
    smc(&mut p, RSI_MEASUREMENT_EXTEND);
    p.emit(enc::mov_x(21, 0));
    print(
        &mut p,
        "RSI_MEASUREMENT_EXTEND slot 1 += \"rsi-tour\" status ",
    );
    print_hex(&mut p, 21);
    print(&mut p, "\n");
    measurement_read(&mut p, 1, "  REM0 ", "rem0");

    ipa_state_get(&mut p, SCRATCH, 24);
    p.emit_all(&[
        enc::add_x_lsl12(1, 19, SCRATCH),
        enc::add_x_lsl12(2, 1, 1),
        enc::movz_x(3, 0, 0), // RSI_RIPAS_EMPTY
        enc::movz_x(4, 0, 0), // flags: RSI_NO_CHANGE_DESTROYED
    ]);
    smc(&mut p, RSI_IPA_STATE_SET);
    p.emit_all(&[enc::mov_x(21, 0), enc::mov_x(22, 1), enc::mov_x(23, 2)]);
    print(&mut p, "RSI_IPA_STATE_SET      EMPTY status ");
    print_hex(&mut p, 21);
    print(&mut p, " next ");
    print_hex(&mut p, 22);
    print(&mut p, " response ");
    print_hex(&mut p, 23);
    print(&mut p, "\n");
    ipa_state_get(&mut p, SCRATCH, 24);

    p.adr(7, "hostcall");
    p.mov_imm(8, 0x1234);
    p.emit(enc::str_x_off(8, 7, 0));
    p.mov_imm(8, 0xC600_0000);
    p.emit(enc::str_x_off(8, 7, 8));
    p.emit(enc::mov_x(1, 7));
    smc(&mut p, RSI_HOST_CALL);
    p.emit(enc::mov_x(21, 0));
    p.adr(7, "hostcall");
    p.emit(enc::ldr_x_off(22, 7, 8));
    print(&mut p, "RSI_HOST_CALL          imm 0x1234 status ");
    print_hex(&mut p, 21);
    print(&mut p, " gprs[0] ");
    print_hex(&mut p, 22);
    print(&mut p, "\nrsi-tour: done\n");
    system_off(&mut p);
    subroutines(&mut p);
    p.finish(RSI_TOUR_SIZE)
}
