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

/// FIPS 180-4 §4.2.2: the 64 round constants.
pub const K: [u32; 64] = [
    0x428a_2f98,
    0x7137_4491,
    0xb5c0_fbcf,
    0xe9b5_dba5,
    0x3956_c25b,
    0x59f1_11f1,
    0x923f_82a4,
    0xab1c_5ed5,
    0xd807_aa98,
    0x1283_5b01,
    0x2431_85be,
    0x550c_7dc3,
    0x72be_5d74,
    0x80de_b1fe,
    0x9bdc_06a7,
    0xc19b_f174,
    0xe49b_69c1,
    0xefbe_4786,
    0x0fc1_9dc6,
    0x240c_a1cc,
    0x2de9_2c6f,
    0x4a74_84aa,
    0x5cb0_a9dc,
    0x76f9_88da,
    0x983e_5152,
    0xa831_c66d,
    0xb003_27c8,
    0xbf59_7fc7,
    0xc6e0_0bf3,
    0xd5a7_9147,
    0x06ca_6351,
    0x1429_2967,
    0x27b7_0a85,
    0x2e1b_2138,
    0x4d2c_6dfc,
    0x5338_0d13,
    0x650a_7354,
    0x766a_0abb,
    0x81c2_c92e,
    0x9272_2c85,
    0xa2bf_e8a1,
    0xa81a_664b,
    0xc24b_8b70,
    0xc76c_51a3,
    0xd192_e819,
    0xd699_0624,
    0xf40e_3585,
    0x106a_a070,
    0x19a4_c116,
    0x1e37_6c08,
    0x2748_774c,
    0x34b0_bcb5,
    0x391c_0cb3,
    0x4ed8_aa4a,
    0x5b9c_ca4f,
    0x682e_6ff3,
    0x748f_82ee,
    0x78a5_636f,
    0x84c8_7814,
    0x8cc7_0208,
    0x90be_fffa,
    0xa450_6ceb,
    0xbef9_a3f7,
    0xc671_78f2,
];

/// FIPS 180-4 §5.3.3: the initial hash value H(0).
pub const H0: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

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
