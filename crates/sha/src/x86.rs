//! Two or eight SHA-256 streams interleaved on the x86 SHA extensions (Intel SHA-NI: `SHA256RNDS2`,
//! `SHA256MSG1`, `SHA256MSG2`), one 64-byte block of each message per step.
//!
//! The state of a stream lives in two vectors, ABEF and CDGH (the operand order `SHA256RNDS2` takes); each
//! group of four rounds extends the message schedule (FIPS 180-4 §6.2.2 step 1: σ0 through `SHA256MSG1`,
//! the W[t−7] term by a byte shift, σ1 through `SHA256MSG2`) and runs two `SHA256RNDS2`. The streams'
//! groups take turns, so each stream's rounds fill the latency of the others'. Eight streams need more
//! vectors than x86-64 has for these instructions (16), so the compiler keeps some schedule words on the
//! stack; the SHA unit, not those loads and stores, stays the limit (on AMD Zen 5: one stream 1×, two
//! 1.5×, four 1.65×, eight 1.85× one stream's rate, measured by `realm bench measure`'s references).

#![expect(
    unsafe_code,
    reason = "SIMD loads from byte slices and the call into SHA-NI code"
)]

use std::arch::x86_64::{
    __m128i, _mm_add_epi32, _mm_alignr_epi8, _mm_extract_epi32, _mm_loadu_si128, _mm_set_epi32,
    _mm_set_epi64x, _mm_setzero_si128, _mm_sha256msg1_epu32, _mm_sha256msg2_epu32,
    _mm_sha256rnds2_epu32, _mm_shuffle_epi8, _mm_shuffle_epi32,
};

use crate::{Digest256, H0, K, final_blocks};

/// One stream's state: `[ABEF, CDGH]`.
type State = [__m128i; 2];

/// Whether this CPU has what [`pair`] is compiled for (`std` caches the CPUID answer).
pub(crate) fn available() -> bool {
    is_x86_feature_detected!("sha")
        && is_x86_feature_detected!("sse2")
        && is_x86_feature_detected!("ssse3")
        && is_x86_feature_detected!("sse4.1")
}

/// `[SHA-256(a), SHA-256(b)]` for messages of equal length, or `None` without SHA-NI.
pub(crate) fn sha256_pair(a: &[u8], b: &[u8]) -> Option<[Digest256; 2]> {
    if a.len() != b.len() || !available() {
        return None;
    }
    // SAFETY: `lanes2` needs SHA, SSE2, SSSE3 and SSE4.1, which `available` has just found on this CPU.
    Some(unsafe { lanes2([a, b]) })
}

/// The SHA-256 of eight messages of equal length, or `None` without SHA-NI.
pub(crate) fn sha256_x8(msgs: [&[u8]; 8]) -> Option<[Digest256; 8]> {
    if msgs.iter().any(|m| m.len() != msgs[0].len()) || !available() {
        return None;
    }
    // SAFETY: `lanes8` needs SHA, SSE2, SSSE3 and SSE4.1, which `available` has just found on this CPU.
    Some(unsafe { lanes8(msgs) })
}

/// H(0) as `[ABEF, CDGH]` (lane 0 holds the last letter: ABEF is F, E, B, A from lane 0 up).
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn initial() -> State {
    let w = |i: usize| i32::from_ne_bytes(H0[i].to_ne_bytes());
    [
        _mm_set_epi32(w(0), w(1), w(4), w(5)),
        _mm_set_epi32(w(2), w(3), w(6), w(7)),
    ]
}

/// The big-endian digest of a final state.
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn digest(state: State) -> Digest256 {
    let [abef, cdgh] = state;
    let words = [
        _mm_extract_epi32::<3>(abef),
        _mm_extract_epi32::<2>(abef),
        _mm_extract_epi32::<3>(cdgh),
        _mm_extract_epi32::<2>(cdgh),
        _mm_extract_epi32::<1>(abef),
        _mm_extract_epi32::<0>(abef),
        _mm_extract_epi32::<1>(cdgh),
        _mm_extract_epi32::<0>(cdgh),
    ];
    let mut out = [0u8; 32];
    for (bytes, word) in out.chunks_exact_mut(4).zip(words) {
        bytes.copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// A 64-byte block as four vectors of big-endian words (W[0..4] in the first, word 0 in lane 0).
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn load(block: &[u8]) -> [__m128i; 4] {
    let swap = _mm_set_epi64x(0x0c0d_0e0f_0809_0a0b, 0x0405_0607_0001_0203);
    let mut out = [swap; 4];
    for (v, bytes) in out.iter_mut().zip(block.chunks_exact(16)) {
        // SAFETY: `bytes` is 16 readable bytes (a whole chunk of `chunks_exact(16)`), what an unaligned
        // 128-bit load reads.
        let raw = unsafe { _mm_loadu_si128(bytes.as_ptr().cast()) };
        *v = _mm_shuffle_epi8(raw, swap);
    }
    out
}

/// Round constants K[4j..4j+4] as a vector.
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn k(j: usize) -> __m128i {
    let w = |i: usize| i32::from_ne_bytes(K[4 * j + i].to_ne_bytes());
    _mm_set_epi32(w(3), w(2), w(1), w(0))
}

/// Four rounds of one stream: extend the schedule to W[4j..4j+4] (j ≥ 4) into `w[j % 4]`, then run them.
macro_rules! quad {
    ($state:expr, $w:expr, $j:literal) => {{
        if $j >= 4 {
            let sigma0 = _mm_sha256msg1_epu32($w[$j % 4], $w[($j + 1) % 4]);
            let t7 = _mm_alignr_epi8::<4>($w[($j + 3) % 4], $w[($j + 2) % 4]);
            $w[$j % 4] = _mm_sha256msg2_epu32(_mm_add_epi32(sigma0, t7), $w[($j + 3) % 4]);
        }
        let wk = _mm_add_epi32($w[$j % 4], k($j));
        $state[1] = _mm_sha256rnds2_epu32($state[1], $state[0], wk);
        $state[0] = _mm_sha256rnds2_epu32($state[0], $state[1], _mm_shuffle_epi32::<0x0E>(wk));
    }};
}

/// Four rounds (group `$j`) of each stream in `[$i ...]`.
macro_rules! group {
    ($state:ident, $w:ident, $j:literal, [$($i:literal)*]) => {
        $(
            quad!($state[$i], $w[$i], $j);
        )*
    };
}

/// `$compress`: one block of each of `$n` streams (FIPS 180-4 §6.2.2 steps 1–4), and `$hash`: the
/// digests of `$n` equal-length messages (the caller checks the lengths and the CPU).
macro_rules! lanes {
    ($hash:ident, $compress:ident, $n:literal, [$($i:literal)*]) => {
        #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
        fn $compress(state: &mut [State; $n], w: &mut [[__m128i; 4]; $n]) {
            let before = *state;
            group!(state, w, 0, [$($i)*]);
            group!(state, w, 1, [$($i)*]);
            group!(state, w, 2, [$($i)*]);
            group!(state, w, 3, [$($i)*]);
            group!(state, w, 4, [$($i)*]);
            group!(state, w, 5, [$($i)*]);
            group!(state, w, 6, [$($i)*]);
            group!(state, w, 7, [$($i)*]);
            group!(state, w, 8, [$($i)*]);
            group!(state, w, 9, [$($i)*]);
            group!(state, w, 10, [$($i)*]);
            group!(state, w, 11, [$($i)*]);
            group!(state, w, 12, [$($i)*]);
            group!(state, w, 13, [$($i)*]);
            group!(state, w, 14, [$($i)*]);
            group!(state, w, 15, [$($i)*]);
            for (s, b) in state.iter_mut().zip(before) {
                s[0] = _mm_add_epi32(s[0], b[0]);
                s[1] = _mm_add_epi32(s[1], b[1]);
            }
        }

        #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
        fn $hash(msgs: [&[u8]; $n]) -> [Digest256; $n] {
            let len = msgs[0].len();
            let whole = len - len % 64;
            let mut state = [initial(); $n];
            let mut w = [[_mm_setzero_si128(); 4]; $n];
            for at in (0..whole).step_by(64) {
                $(w[$i] = load(&msgs[$i][at..at + 64]);)*
                $compress(&mut state, &mut w);
            }
            let tails = [$(final_blocks(&msgs[$i][whole..], len)),*];
            for b in 0..tails[0].1 {
                $(w[$i] = load(&tails[$i].0[b]);)*
                $compress(&mut state, &mut w);
            }
            [$(digest(state[$i])),*]
        }
    };
}

lanes!(lanes2, compress2, 2, [0 1]);
lanes!(lanes8, compress8, 8, [0 1 2 3 4 5 6 7]);
