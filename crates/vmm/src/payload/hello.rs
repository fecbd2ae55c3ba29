//! **hello**: loaded as firmware (PC at its first byte, EL1, MMU off), it asks the RMM for the realm's
//! configuration (`RSI_REALM_CONFIG`, DEN0137 1.0-rel0 B5.3.x: `ipa_width` at offset 0 of a 4 KiB buffer),
//! computes the unprotected alias of the UART (`UART base | 1 << (ipa_width − 1)`: devices in protected IPA space
//! would get a synchronous external abort), writes its message to the UART's transmit register, and powers
//! the realm off (`PSCI SYSTEM_OFF`). Every step crosses the stack: an RSI call handled by the RMM, emulatable
//! data aborts turned into `KVM_EXIT_MMIO`, a PSCI call turned into `KVM_EXIT_SYSTEM_EVENT`.

use realm_a64::asm as enc;

/// The message `hello` prints.
pub const HELLO_MESSAGE: &str = "Hello from a realm!\n";

/// `RSI_REALM_CONFIG`.
const RSI_REALM_CONFIG: u32 = 0xC400_0196;
/// `PSCI SYSTEM_OFF`.
const PSCI_SYSTEM_OFF: u32 = 0x8400_0008;
/// Where the RSI_REALM_CONFIG buffer lies, from the payload's start (granule aligned, inside the payload so
/// that it is populated RAM).
const BUFFER_OFFSET: usize = 0x1000;
/// The payload's size: the code page and the buffer page.
pub const HELLO_SIZE: usize = 2 * 0x1000;

/// Load the 32-bit function id `fid` into X0.
fn fid(fid: u32) -> [u32; 2] {
    [
        enc::movz_x(0, fid & 0xFFFF, 0),
        enc::movk_x(0, fid >> 16, 16),
    ]
}

/// The `hello` payload for a platform whose UART's transmit register is at IPA `uart_base` (below 4 GiB,
/// 64 KiB aligned, as the kvmtool and QEMU layouts place it).
pub fn hello(uart_base: u64) -> Vec<u8> {
    let uart_hi = u32::try_from(uart_base >> 16).unwrap_or(0) & 0xFFFF;
    let mut w = Vec::new();
    w.push(enc::adr(1, u32::try_from(BUFFER_OFFSET).unwrap_or(0))); // X1 = the buffer
    w.extend(fid(RSI_REALM_CONFIG));
    w.push(enc::SMC0); // X1..X3 come back zero (SMCCC): address the buffer again
    let here = u32::try_from(4 * w.len()).unwrap_or(0);
    w.push(enc::adr(
        1,
        u32::try_from(BUFFER_OFFSET).unwrap_or(0) - here,
    ));
    w.push(enc::ldr_x(2, 1)); // ipa_width
    w.push(enc::sub_x(2, 2, 1));
    w.push(enc::movz_x(3, 1, 0));
    w.push(enc::lslv_x(3, 3, 2)); // the unprotected-alias bit
    w.push(enc::movz_x(4, uart_hi, 16));
    w.push(enc::orr_x(1, 3, 4)); // the UART through the alias
    for b in HELLO_MESSAGE.bytes() {
        w.push(enc::movz_w(5, u32::from(b)));
        w.push(enc::strb(5, 1));
    }
    w.extend(fid(PSCI_SYSTEM_OFF));
    w.push(enc::SMC0);
    w.push(enc::B_SELF);
    let mut bytes: Vec<u8> = w.iter().flat_map(|i| i.to_le_bytes()).collect();
    bytes.resize(HELLO_SIZE, 0);
    bytes
}

/// The registry's builder.
pub(super) fn build(t: &super::Target) -> Vec<u8> {
    hello(t.uart_base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_match_the_assembler() {
        // Values as GNU as 2.40 (aarch64) encodes them.
        assert_eq!(enc::movz_x(0, 0x196, 0), 0xD280_32C0, "movz x0, #0x196");
        assert_eq!(
            enc::movk_x(0, 0xC400, 16),
            0xF2B8_8000,
            "movk x0, #0xc400, lsl #16"
        );
        assert_eq!(enc::movz_w(5, 0x48), 0x5280_0905, "mov w5, #0x48");
        assert_eq!(enc::adr(1, 0x1000), 0x1000_8001, "adr x1, .+0x1000");
        assert_eq!(enc::ldr_x(2, 1), 0xF940_0022, "ldr x2, [x1]");
        assert_eq!(enc::sub_x(2, 2, 1), 0xD100_0442, "sub x2, x2, #1");
        assert_eq!(enc::lslv_x(3, 3, 2), 0x9AC2_2063, "lsl x3, x3, x2");
        assert_eq!(enc::orr_x(1, 3, 4), 0xAA04_0061, "orr x1, x3, x4");
        assert_eq!(enc::strb(5, 1), 0x3900_0025, "strb w5, [x1]");
        assert_eq!(enc::movz_x(4, 0x100, 16), 0xD2A0_2004, "mov x4, #0x1000000");
    }

    #[test]
    fn hello_is_two_pages_with_the_buffer_free() {
        let p = hello(0x0100_0000);
        assert_eq!(p.len(), HELLO_SIZE);
        assert!(p[BUFFER_OFFSET..].iter().all(|b| *b == 0));
        assert_eq!(&p[..4], &enc::adr(1, 0x1000).to_le_bytes());
    }
}
