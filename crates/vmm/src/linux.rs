//! What booting a Linux kernel as a realm needs from the VMM beyond the images: the default command line.
//!
//! A realm reaches its emulated devices only through the *unprotected* alias of their IPA — the address with the
//! top IPA bit set (DEN0137 1.0-rel0 A5.2.2 "Realm IPA space": an IPA is unprotected iff bit `IPA_WIDTH - 1`
//! is set; Linux's `arm64_rsi_init` reads that bit as `PROT_NS_SHARED` from RSI_REALM_CONFIG.ipa_width). An
//! access to the protected address of an emulated device is a synchronous external abort inside the realm, so
//! the early console must be given the alias explicitly: `earlycon=uart,mmio,<alias>` (the 8250 earlycon does
//! not apply `pgprot_decrypted` to its fixmap, the proper driver's `ioremap` does).

use crate::layout::MemoryMap;

/// The command line a kernel realm boots with when none is given, computed from the placed `map`:
///
/// - `console=ttyS0`: the 8250 driver's first port is the DT's `ns16550a` UART, the `stdout-path`;
/// - `earlycon=uart,mmio,<UART's unprotected alias>`: boot messages before the 8250 driver probes, through the
///   alias (see the module documentation) — for kvmtool's layout with 512 MiB, `0x101000000` (33-bit IPA);
/// - `cryptomgr.notests=1`: skip the crypto manager's boot-time self-tests of every registered algorithm
///   (`crypto/testmgr.c`). They test the generic C implementations against known answers — about half of the
///   ~0.5–0.9 billion instructions of a Debian kernel's boot to `/init` on the realm CPU — and change nothing
///   a realm relies on: the algorithms are still registered and usable, and a self-test failure would only
///   mark an algorithm unusable, not stop the boot. Give `--cmdline` without it to run them.
pub fn default_cmdline(map: &MemoryMap) -> String {
    let alias = unprotected_alias(map.uart.range.base, map.ipa_bits);
    format!("console=ttyS0 earlycon=uart,mmio,{alias:#x} cryptomgr.notests=1")
}

/// `ipa` with the unprotected (shared) bit of an `ipa_bits`-wide realm IPA space set.
pub fn unprotected_alias(ipa: u64, ipa_bits: u8) -> u64 {
    let bit = u32::from(ipa_bits.clamp(1, 64)) - 1;
    ipa | (1u64 << bit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alias_sets_the_top_ipa_bit() {
        assert_eq!(unprotected_alias(0x0100_0000, 33), 0x1_0100_0000);
        assert_eq!(unprotected_alias(0x0900_0000, 41), 0x100_0900_0000);
        assert_eq!(
            unprotected_alias(0x1_0100_0000, 33),
            0x1_0100_0000,
            "idempotent"
        );
    }
}
