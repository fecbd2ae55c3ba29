//! RSI_MEASUREMENT_READ and RSI_MEASUREMENT_EXTEND (DEN0137 1.0-rel0 B5.3), as TF-RMM `rmm-spec-v1.0-rel0`
//! `runtime/rsi/realm_attest.c`.

use sha2::{Digest, Sha256, Sha512};

use crate::abi::rsi::{
    MAX_EXTENDED_SIZE, MEASUREMENT_SLOT_NR, RSI_ERROR_INPUT, RSI_HASH_SHA_256, RSI_SUCCESS,
};
use crate::rec::access::RealmAccess;
use crate::rec::call::{RsiAction, RsiResult};
use crate::rec::state::RecRun;

/// Digest length in bytes of `RmiHashAlgorithm` `algo`.
pub(crate) const fn hash_len(algo: u8) -> usize {
    if algo == RSI_HASH_SHA_256 { 32 } else { 64 }
}

/// RSI_MEASUREMENT_READ(idx): X1..X8 = the 64-byte slot, little-endian words (zero past a SHA-256 digest).
/// ERROR_INPUT when `idx` ≥ 5.
pub(crate) fn read(rec: &mut RecRun, realm: &dyn RealmAccess) -> RsiResult {
    let idx = rec.ctx.gprs[1];
    let Some(slot) = slot_index(idx, 0) else {
        return RsiResult::ret(RSI_ERROR_INPUT, rec);
    };
    let value = realm.measurement(slot);
    let mut words = [0u64; 8];
    for (word, chunk) in words.iter_mut().zip(value.chunks_exact(8)) {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        *word = u64::from_le_bytes(bytes);
    }
    // X5..X8 are written directly; X0..X4 through the result, as TF-RMM does.
    rec.ctx.gprs[5..9].copy_from_slice(&words[4..]);
    RsiResult {
        action: RsiAction::UpdateReturn,
        x: [RSI_SUCCESS, words[0], words[1], words[2], words[3]],
    }
}

/// RSI_MEASUREMENT_EXTEND(idx, size, value in X3..X10): REM[idx] = H(REM[idx][..hash len] ‖ value[..size]).
/// ERROR_INPUT when `idx` is 0 or ≥ 5, or `size` > 64.
pub(crate) fn extend(rec: &RecRun, realm: &mut dyn RealmAccess) -> RsiResult {
    let Some(slot) = slot_index(rec.ctx.gprs[1], 1) else {
        return RsiResult::ret(RSI_ERROR_INPUT, rec);
    };
    let size = rec.ctx.gprs[2];
    if size > MAX_EXTENDED_SIZE {
        return RsiResult::ret(RSI_ERROR_INPUT, rec);
    }
    let mut value = [0u8; 64];
    for (chunk, word) in value.chunks_exact_mut(8).zip(&rec.ctx.gprs[3..11]) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    let size = usize::try_from(size).unwrap_or(64);
    let algo = realm.hash_algo();
    let old = realm.measurement(slot);
    let old = &old[..hash_len(algo)];
    let mut new = [0u8; 64];
    if algo == RSI_HASH_SHA_256 {
        new[..32].copy_from_slice(
            &Sha256::new()
                .chain_update(old)
                .chain_update(&value[..size])
                .finalize(),
        );
    } else {
        new.copy_from_slice(
            &Sha512::new()
                .chain_update(old)
                .chain_update(&value[..size])
                .finalize(),
        );
    }
    realm.set_measurement(slot, new);
    RsiResult::ret(RSI_SUCCESS, rec)
}

/// `idx` as a slot number when `min ≤ idx < MEASUREMENT_SLOT_NR`.
fn slot_index(idx: u64, min: u64) -> Option<usize> {
    if (min..MEASUREMENT_SLOT_NR).contains(&idx) {
        usize::try_from(idx).ok()
    } else {
        None
    }
}
