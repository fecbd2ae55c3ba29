//! **attest**: the realm asks the VMM for a challenge, gets a CCA attestation token over it from the RMM, and
//! hands the token to the VMM through memory it shares with it (DEN0137 1.0-rel0 B5.3.1
//! RSI_ATTESTATION_TOKEN_INIT, B5.3.2 RSI_ATTESTATION_TOKEN_CONTINUE; the sharing as the `shared-memory`
//! payload does it).
//!
//! 1. Two granules (+0x3000, +0x4000) become RIPAS EMPTY (`RSI_IPA_STATE_SET`); the realm reaches them
//!    through the unprotected alias.
//! 2. It writes a [`crate::exits::MESSAGE_CHALLENGE`] request there and rings the VMM's doorbell; the VMM
//!    writes back the 64-byte challenge it was given. The challenge comes at run time, not in the image or
//!    the REC's registers, so the realm's RIM does not depend on it: `realm measure` of the same
//!    configuration gives the reference RIM.
//! 3. `RSI_ATTESTATION_TOKEN_INIT` with the challenge in X1..X8, then `RSI_ATTESTATION_TOKEN_CONTINUE` into
//!    the private granule at +0x2000 (the RMM refuses an EMPTY buffer) until it answers SUCCESS: each
//!    `RSI_INCOMPLETE` (the signature interrupted by a host interrupt, or a piece of the token written) is
//!    answered by calling again at offset + X1, across REC exits.
//! 4. The token is copied to the shared granules after a [`crate::exits::MESSAGE_TOKEN`] header and the
//!    doorbell rung again; the VMM keeps it (`LaunchReport::messages`).
//!
//! Output (the byte count depends on the token):
//! ```text
//! attest: a CCA token over the VMM's challenge, handed over through shared memory
//! RSI_IPA_STATE_SET      0x… EMPTY status 0x0 next 0x… response 0x0
//! challenge from the VMM: 0x…
//! RSI_ATTESTATION_TOKEN_INIT status 0x0
//! RSI_ATTESTATION_TOKEN_CONTINUE status 0x0: 0x… bytes, 0x… INCOMPLETE
//! attest: token handed to the VMM
//! ```
//! Layout (5 granules, MMU off): code at +0, `RsiRealmConfig` at +0x1000, the token buffer at +0x2000, the
//! shared granules at +0x3000. X24 holds the shared buffer's alias, X25 the shared bit, X26 the token's
//! length, X27 the INCOMPLETE count.

use super::Target;
use super::asm::{self as enc, Program, cond};
use super::runtime::{print, print_hex, prologue, smc, subroutines, system_off};
use super::shared_memory::{make_empty, ring};
use crate::exits::{DOORBELL, MESSAGE_CHALLENGE, MESSAGE_TOKEN};

/// The payload's size.
pub const ATTEST_SIZE: usize = 5 * 0x1000;
/// The first line it prints.
pub const ATTEST_BANNER: &str =
    "attest: a CCA token over the VMM's challenge, handed over through shared memory\n";
/// The line it prints once the VMM has the token.
pub const ATTEST_DONE: &str = "attest: token handed to the VMM\n";
/// `RSI_ATTESTATION_TOKEN_INIT`.
const RSI_ATTESTATION_TOKEN_INIT: u32 = 0xC400_0194;
/// `RSI_ATTESTATION_TOKEN_CONTINUE`.
const RSI_ATTESTATION_TOKEN_CONTINUE: u32 = 0xC400_0195;
/// `RSI_INCOMPLETE`.
const RSI_INCOMPLETE: u32 = 3;
/// Granule offsets: the token buffer, the shared buffer (two granules).
const TOKEN: u32 = 2;
const SHARED: u32 = 3;

/// Write the header `kind`, length X`len` at X24.
fn header(p: &mut Program, kind: u32, len: u32) {
    p.emit_all(&[enc::movz_x(5, 32, 0), enc::lslv_x(6, len, 5)]);
    p.mov_imm(4, u64::from(kind));
    p.emit_all(&[enc::orr_x(6, 6, 4), enc::str_x_off(6, 24, 0)]);
}

/// The `attest` payload for `target`.
pub fn attest(target: &Target) -> Vec<u8> {
    let mut p = Program::new();
    p.label_at("config", 0x1000);
    prologue(&mut p, target.uart_base);
    p.emit(enc::mov_x(25, 3)); // the shared bit, from the prologue
    print(&mut p, ATTEST_BANNER);
    make_empty(&mut p, SHARED, 2);
    p.emit_all(&[enc::add_x_lsl12(24, 19, SHARED), enc::orr_x(24, 24, 25)]);

    // The challenge, asked of the VMM.
    p.emit(enc::movz_x(7, 0, 0));
    header(&mut p, MESSAGE_CHALLENGE, 7);
    ring(&mut p, DOORBELL);
    print(&mut p, "challenge from the VMM: 0x");
    for i in 0..8 {
        p.emit(enc::ldr_x_off(0, 24, 8 + 8 * i)).bl("hexbytes");
    }
    print(&mut p, "\n");
    for i in 0..8 {
        p.emit(enc::ldr_x_off(1 + i, 24, 8 + 8 * i));
    }
    smc(&mut p, RSI_ATTESTATION_TOKEN_INIT);
    p.emit(enc::mov_x(21, 0));
    print(&mut p, "RSI_ATTESTATION_TOKEN_INIT status ");
    print_hex(&mut p, 21);
    print(&mut p, "\n");
    p.cbnz_x(21, "end");

    // CONTINUE until SUCCESS: X26 = bytes so far, X27 = INCOMPLETE answers.
    p.emit_all(&[enc::movz_x(26, 0, 0), enc::movz_x(27, 0, 0)]);
    p.label("continue");
    p.emit_all(&[
        enc::add_x_lsl12(1, 19, TOKEN),
        enc::mov_x(2, 26),
        enc::movz_x(3, 0x1000, 0),
    ]);
    p.emit(enc::sub_x_reg(3, 3, 26));
    smc(&mut p, RSI_ATTESTATION_TOKEN_CONTINUE);
    p.emit_all(&[enc::mov_x(21, 0), enc::add_x_reg(26, 26, 1)]);
    p.emit(enc::cmp_x(21, RSI_INCOMPLETE))
        .b_cond(cond::NE, "continued");
    p.emit(enc::add_x(27, 27, 1)).b("continue");
    p.label("continued");
    print(&mut p, "RSI_ATTESTATION_TOKEN_CONTINUE status ");
    print_hex(&mut p, 21);
    print(&mut p, ": ");
    print_hex(&mut p, 26);
    print(&mut p, " bytes, ");
    print_hex(&mut p, 27);
    print(&mut p, " INCOMPLETE\n");
    p.cbnz_x(21, "end");

    // The token to the VMM: 8 bytes at a time (the buffer is a whole granule).
    p.emit_all(&[
        enc::add_x_lsl12(1, 19, TOKEN),
        enc::add_x(2, 24, 8),
        enc::movz_x(3, 0, 0),
    ]);
    p.label("copy");
    p.emit_all(&[
        enc::ldr_x_off(4, 1, 0),
        enc::str_x_off(4, 2, 0),
        enc::add_x(1, 1, 8),
        enc::add_x(2, 2, 8),
        enc::add_x(3, 3, 8),
        enc::cmp_x_reg(3, 26),
    ]);
    p.b_cond(cond::LO, "copy");
    header(&mut p, MESSAGE_TOKEN, 26);
    ring(&mut p, DOORBELL);
    print(&mut p, ATTEST_DONE);
    p.label("end");
    system_off(&mut p);
    subroutines(&mut p);
    p.finish(ATTEST_SIZE)
}
