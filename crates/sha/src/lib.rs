//! `realm-sha`: SHA-256 (FIPS 180-4 §6.2) of several equal-length messages at once.
//!
//! Measuring a realm hashes every 4 KiB DATA granule it is given (DEN0137 1.0-rel0 B4.3.1.4
//! `RMI_DATA_CREATE` with `RMI_MEASURE_CONTENT`), so `realm measure` spends most of its time in SHA-256.
//! One SHA-256 stream on x86's SHA extensions is latency-bound: each `SHA256RNDS2` waits for the one before
//! it, and the core's SHA unit sits idle most of the time. Independent messages hashed in one instruction
//! stream, their rounds interleaved, fill those gaps: on the machines this project runs on two streams run
//! at about 1.5× one stream's rate and eight at about 1.85× (`realm bench measure` prints both).
//!
//! [`sha256_pair`] returns exactly `[Sha256::digest(a), Sha256::digest(b)]` and [`sha256_each`] the digest
//! of each message (both property-tested against `sha2`). Without SHA-NI (another architecture, an older
//! x86) they are `sha2` calls, which use the Armv8 SHA-2 instructions on aarch64 hosts where present.

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

/// How many messages [`sha256_each`] hashes as interleaved streams at a time, when they have equal lengths.
pub const LANES: usize = 8;

/// `out[i] = sha256(msgs[i])` for each `i` below `msgs.len().min(out.len())`: runs of [`LANES`] messages
/// of equal length as that many interleaved streams, other runs two at a time ([`sha256_pair`]).
pub fn sha256_each(msgs: &[&[u8]], out: &mut [Digest256]) {
    let n = msgs.len().min(out.len());
    let (msgs, out) = (&msgs[..n], &mut out[..n]);
    let mut i = 0;
    while i < n {
        #[cfg(target_arch = "x86_64")]
        if let Some(group) = msgs
            .get(i..i + LANES)
            .and_then(|m| <[&[u8]; LANES]>::try_from(m).ok())
            && let Some(digests) = x86::sha256_x8(group)
        {
            out[i..i + LANES].copy_from_slice(&digests);
            i += LANES;
            continue;
        }
        match msgs.get(i..i + 2) {
            Some(&[a, b]) => {
                out[i..i + 2].copy_from_slice(&sha256_pair(a, b));
                i += 2;
            }
            _ => {
                out[i] = sha256(msgs[i]);
                i += 1;
            }
        }
    }
}

/// Whether [`sha256_pair`] and [`sha256_each`] hash equal-length messages as interleaved streams on this
/// host.
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
