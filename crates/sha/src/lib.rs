//! `realm-sha`: SHA-256 (FIPS 180-4 §6.2) of two equal-length messages at once.
//!
//! Measuring a realm hashes every 4 KiB DATA granule it is given (DEN0137 1.0-rel0 B4.3.1.4
//! `RMI_DATA_CREATE` with `RMI_MEASURE_CONTENT`), so `realm measure` spends most of its time in SHA-256.
//! One SHA-256 stream on x86's SHA extensions is latency-bound: each `SHA256RNDS2` waits for the one before
//! it, and the core's SHA units sit idle most of the time. Two independent messages hashed in one
//! instruction stream, their rounds interleaved, fill those gaps: on the machines this project runs on the
//! pair costs about 1.2–1.3× one message, not 2× (`realm bench measure` prints the rate).
//!
//! [`sha256_pair`] returns exactly `[Sha256::digest(a), Sha256::digest(b)]` (property-tested against
//! `sha2`). Without SHA-NI (another architecture, an older x86) it is those two `sha2` calls, which use the
//! Armv8 SHA-2 instructions on aarch64 hosts where present.

#[cfg(target_arch = "x86_64")]
mod x86;

use sha2::{Digest as _, Sha256};

/// A SHA-256 digest.
pub type Digest256 = [u8; 32];

/// SHA-256 of `data` (one stream, `sha2`).
pub fn sha256(data: &[u8]) -> Digest256 {
    Sha256::digest(data).into()
}

/// SHA-256 of `a` and of `b`: `[sha256(a), sha256(b)]`, as two interleaved streams when both are the same
/// length and the host has SHA-NI ([`interleaved`]).
pub fn sha256_pair(a: &[u8], b: &[u8]) -> [Digest256; 2] {
    #[cfg(target_arch = "x86_64")]
    if let Some(pair) = x86::sha256_pair(a, b) {
        return pair;
    }
    [sha256(a), sha256(b)]
}

/// Whether [`sha256_pair`] hashes equal-length messages as two interleaved streams on this host.
pub fn interleaved() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        x86::available()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The FIPS 180-4 §5.1.1 padding of a `len`-byte message: the final one or two 64-byte blocks, given the
/// message's last `len % 64` bytes. Returns the blocks and how many of them (1 or 2) are used.
pub(crate) fn final_blocks(tail: &[u8], len: usize) -> ([[u8; 64]; 2], usize) {
    let mut blocks = [[0u8; 64]; 2];
    let rest = tail.len().min(63);
    let (first, second) = blocks.split_at_mut(1);
    first[0][..rest].copy_from_slice(&tail[..rest]);
    first[0][rest] = 0x80;
    let bits = u64::try_from(len)
        .unwrap_or(u64::MAX)
        .wrapping_mul(8)
        .to_be_bytes();
    if rest < 56 {
        first[0][56..].copy_from_slice(&bits);
        (blocks, 1)
    } else {
        second[0][56..].copy_from_slice(&bits);
        (blocks, 2)
    }
}

#[cfg(test)]
mod tests;
