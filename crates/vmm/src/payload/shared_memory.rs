//! **shared-memory**: the realm gives a granule of its RAM back to the host and talks to the VMM through it.
//!
//! 1. `RSI_IPA_STATE_SET` of the buffer granule to RIPAS EMPTY (DEN0137 1.0-rel0 B5.3.9): the RMM exits with
//!    RMI_EXIT_RIPAS_CHANGE; v12 and v10 report it to the VMM as `KVM_EXIT_MEMORY_FAULT` (shared), the VMM
//!    converts the range with `KVM_SET_MEMORY_ATTRIBUTES`, and the next `KVM_RUN` completes the change
//!    (`RMI_RTT_SET_RIPAS`, the private page unmapped); `RSI_IPA_STATE_GET` then reads EMPTY.
//! 2. The realm writes a [`crate::exits::MESSAGE_ECHO`] message (`kind`, `len`, the text [`REQUEST`]) at the
//!    buffer's unprotected alias (`IPA | 1 << (ipa_width − 1)`). The first store faults at stage 2 on the
//!    alias of a memslot page: the kernel maps the slot's user page there with `RMI_RTT_MAP_UNPROTECTED`
//!    (`realm_map_non_secure`) and the store is retried.
//! 3. It rings the VMM's [`crate::exits::DOORBELL`] with the message's IPA (a `KVM_EXIT_MMIO` write); the VMM
//!    reads the message from its own memory and writes its answer (`pong: ` + the request) over it.
//! 4. The realm prints the answer it reads back through the alias, the buffer's RIPAS again, and powers off.
//!
//! Layout (3 granules, MMU off): code and strings at +0; the `RsiRealmConfig` buffer at +0x1000; the shared
//! buffer at +0x2000. X25 holds the shared bit, X24 the buffer's alias.
//!
//! Output (each line checked by the launch tests):
//! ```text
//! shared-memory: a granule shared with the VMM through the unprotected alias
//! RSI_IPA_STATE_SET      0x… EMPTY status 0x0 next 0x… response 0x0
//! RSI_IPA_STATE_GET      0x… status 0x0 top 0x… ripas 0x0
//! realm -> VMM: ping from the realm
//! VMM -> realm: pong: ping from the realm
//! shared-memory: done
//! ```

use super::Target;
use super::asm::{self as enc, Program};
use super::runtime::{
    RSI_IPA_STATE_SET, ipa_state_get, print, print_hex, prologue, smc, subroutines, system_off,
};

/// The payload's size.
pub const SHARED_MEMORY_SIZE: usize = 3 * 0x1000;
/// The first line it prints.
pub const SHARED_MEMORY_BANNER: &str =
    "shared-memory: a granule shared with the VMM through the unprotected alias\n";
/// The text of the realm's request.
pub const REQUEST: &str = "ping from the realm";
/// Offset (in granules) of the shared buffer.
const BUFFER: u32 = 2;

/// `RSI_IPA_STATE_SET` of `count` granules from granule `granule` (from the load address) to EMPTY,
/// printed; X26 keeps the base IPA.
pub(crate) fn make_empty(p: &mut Program, granule: u32, count: u32) {
    p.emit_all(&[
        enc::add_x_lsl12(1, 19, granule),
        enc::add_x_lsl12(2, 1, count),
        enc::mov_x(26, 1),
        enc::movz_x(3, 0, 0), // RSI_RIPAS_EMPTY
        enc::movz_x(4, 0, 0), // flags: RSI_NO_CHANGE_DESTROYED
    ]);
    smc(p, RSI_IPA_STATE_SET);
    p.emit_all(&[enc::mov_x(21, 0), enc::mov_x(22, 1), enc::mov_x(23, 2)]);
    print(p, "RSI_IPA_STATE_SET      ");
    print_hex(p, 26);
    print(p, " EMPTY status ");
    print_hex(p, 21);
    print(p, " next ");
    print_hex(p, 22);
    print(p, " response ");
    print_hex(p, 23);
    print(p, "\n");
}

/// Ring the doorbell at `doorbell` (through the alias in X25) with the message address in X24.
pub(crate) fn ring(p: &mut Program, doorbell: u64) {
    p.mov_imm(7, doorbell);
    p.emit_all(&[enc::orr_x(7, 7, 25), enc::str_x_off(24, 7, 0)]);
}

/// The `shared-memory` payload for `target`.
pub fn shared_memory(target: &Target) -> Vec<u8> {
    let mut p = Program::new();
    p.label_at("config", 0x1000);
    prologue(&mut p, target.uart_base);
    p.emit(enc::mov_x(25, 3)); // the shared bit, from the prologue
    print(&mut p, SHARED_MEMORY_BANNER);

    make_empty(&mut p, BUFFER, 1);
    ipa_state_get(&mut p, BUFFER, 26);

    // X24 = the buffer's alias; copy the request after the header, counting its bytes in X3.
    p.emit_all(&[enc::add_x_lsl12(24, 19, BUFFER), enc::orr_x(24, 24, 25)]);
    p.adr_string(1, REQUEST);
    p.emit_all(&[enc::add_x(2, 24, 8), enc::movz_x(3, 0, 0)]);
    p.label("copy");
    p.emit(enc::ldrb_off(4, 1, 0)).cbz_x(4, "copied");
    p.emit_all(&[
        enc::strb(4, 2),
        enc::add_x(1, 1, 1),
        enc::add_x(2, 2, 1),
        enc::add_x(3, 3, 1),
    ]);
    p.b("copy");
    p.label("copied");
    p.emit_all(&[
        enc::movz_x(5, 32, 0),
        enc::lslv_x(6, 3, 5),
        enc::movz_x(4, crate::exits::MESSAGE_ECHO, 0),
        enc::orr_x(6, 6, 4),
        enc::str_x_off(6, 24, 0), // kind | len << 32
    ]);
    print(&mut p, &format!("realm -> VMM: {REQUEST}\n"));
    ring(&mut p, crate::exits::DOORBELL);

    // The answer: kind 0x80000001, a NUL-terminated text after the header.
    p.emit(enc::ldr_x_off(6, 24, 0));
    p.mov_imm(7, u64::from(crate::exits::MESSAGE_REPLY));
    p.emit_all(&[
        enc::movz_x(5, 32, 0),
        enc::lslv_x(8, 6, 5),
        enc::lsrv_x(8, 8, 5),
    ]);
    p.emit(enc::cmp_x_reg(8, 7))
        .b_cond(super::asm::cond::EQ, "answered");
    print(&mut p, "VMM -> realm: no answer, kind ");
    print_hex(&mut p, 8);
    print(&mut p, "\n");
    p.b("end");
    p.label("answered");
    print(&mut p, "VMM -> realm: ");
    p.emit(enc::add_x(1, 24, 8)).bl("puts");
    print(&mut p, "\n");
    p.label("end");
    ipa_state_get(&mut p, BUFFER, 26);
    print(&mut p, "shared-memory: done\n");
    system_off(&mut p);
    subroutines(&mut p);
    p.finish(SHARED_MEMORY_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_fits_and_leaves_the_buffer_free() {
        let t = Target::kvmtool(1);
        let p = shared_memory(&t);
        assert_eq!(p.len(), SHARED_MEMORY_SIZE);
        assert!(
            p[0x1000..].iter().all(|b| *b == 0),
            "config and shared buffer granules must start zeroed"
        );
    }
}
